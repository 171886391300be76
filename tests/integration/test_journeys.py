"""Journeys end to end: `carewire serve` and `carewire sim` on loopback.

Every journey of the library in journeys/ is defined through the API and
driven through the simulator, the patients answering on their simulated
phones; days of waiting pass in a moment through the sandbox clock
(POST /api/v1/sandbox/clock, on with CAREWIRE_SANDBOX_CLOCK=1). Also: the
amoCRM webhook, a signed outbound webhook step, campaigns (preview, the
everyone / tier confirmation, canary, live progress, the guard halting)
and the per-step analytics.

Patients get a time zone where it is early afternoon now, so that quiet
hours (which policy reads from the real clock) never hold a message back.
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, main  # noqa: E402

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "journeys")


def afternoon_zone():
    """An Etc/GMT zone where it is about 13:00 now."""
    hour = datetime.now(timezone.utc).hour
    off = (13 - hour) % 24
    if off > 14:
        off -= 24
    # Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3
    return "Etc/GMT%+d" % (-off) if off else "Etc/UTC"


ZONE = afternoon_zone()


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def start(h):
    h.start_sim()
    h.setup_org()
    h.start_serve({"CAREWIRE_SANDBOX_CLOCK": "1"})


def define(h, name):
    with open(os.path.join(LIBRARY, name + ".json"), encoding="utf-8") as f:
        d = json.load(f)
    st, r = h.api("POST", "/journeys", d)
    check(st == 201, "define %s: %s %r" % (name, st, r))
    return r


def patient(h, wa_id, lang="en", consents=("service", "reminders", "marketing", "surveys"),
            fields=None, write_first=True):
    """A contact on the phone wa_id who (by default) wrote first, so that the
    24-hour window is open."""
    st, _ = h.sim("PUT", "/sim/users/" + wa_id, {"read": 1.0, "on_whatsapp": True})
    check(st in (200, 201), "simulator user: %s" % st)
    body = {"phone": "+" + wa_id, "name": "Noa Levi", "language": lang, "time_zone": ZONE}
    if fields:
        body["fields"] = fields
    st, c = h.api("POST", "/contacts", body)
    check(st in (200, 201), "contact: %s %r" % (st, c))
    for p in consents:
        st, r = h.api("POST", "/contacts/%s/consents" % c["id"], {
            "purpose": p, "status": "granted", "source": "paper", "wording_version": "v1",
            "evidence": "form 7"})
        check(st == 201, "consent: %s %r" % (st, r))
    if write_first:
        h.sim_send(wa_id, {"type": "text", "text": "Hello"})
        h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE contact_id = ? AND "
                               "direction = 'in'", c["id"])[0][0] >= 1, "the first message")
    return c["id"]


def is_bot_welcome(m):
    """The bot's menu (the answer to the patients' first "Hello")."""
    if m["type"] != "interactive" or m["interactive"].get("type") != "button":
        return False
    ids = [b["reply"]["id"] for b in m["interactive"]["action"]["buttons"]]
    return all(i.startswith("menu.") for i in ids)


def biz(h, wa_id):
    """What the business sent to this phone, without the bot's welcome."""
    return [m for m in h.sim_messages(wa_id) if m["from"] == "business" and
            not is_bot_welcome(m)]


def body_of(m):
    if m["type"] == "text":
        return m["text"]["body"]
    if m["type"] == "interactive":
        return m["interactive"]["body"]["text"]
    if m["type"] == "location":
        return "location:%s" % m["location"].get("name", "")
    return json.dumps(m.get(m["type"]), ensure_ascii=False)


def wait_biz(h, wa_id, n, what, timeout=20):
    return h.wait(lambda: (lambda b: b if len(b) >= n else None)(biz(h, wa_id)), what,
                  timeout=timeout)


def advance(h, duration):
    st, r = h.api("POST", "/sandbox/clock", {"advance": duration})
    check(st == 200, "sandbox clock: %s %r" % (st, r))
    return r


def run_of(h, key, contact_id):
    st, r = h.api("GET", "/journeys/%s/runs?contact_id=%s" % (key, contact_id))
    check(st == 200, "runs: %s %r" % (st, r))
    return r["items"][0] if r["items"] else None


def wait_run(h, key, cid, pred, what, timeout=20):
    return h.wait(lambda: (lambda r: r if r and pred(r) else None)(run_of(h, key, cid)), what,
                  timeout=timeout)


# ---------------------------------------------------------------------------

def test_check_and_define(h):
    start(h)
    # every file of the library passes `carewire journey check`
    files = sorted(os.path.join(LIBRARY, f) for f in os.listdir(LIBRARY) if f.endswith(".json"))
    r = h.run("journey", "check", *files, check_rc=False)
    check(r.returncode == 0 and r.stdout.strip() == "ok", "library check: %r" % (r,))
    # a broken one: exit 2, the step and the field named
    bad = os.path.join(h.dir, "bad.json")
    d = json.loads(open(os.path.join(LIBRARY, "event_rsvp.json"), encoding="utf-8").read())
    d["steps"][0]["message"]["buttons"][1]["title"]["en"] = "I am afraid I cannot come"
    with open(bad, "w", encoding="utf-8") as f:
        json.dump(d, f)
    r = h.run("journey", "check", bad, check_rc=False)
    check(r.returncode == 2, "bad definition exit %d" % r.returncode)
    check('step "invite": buttons[1].title: longer than 20 characters in "en"' in r.stderr,
          "the error names the step and the field: %r" % r.stderr)
    # the API says the same, with every problem listed
    st, body = h.api("POST", "/journeys", d)
    check(st == 422 and body["error"]["code"] == "invalid_field", "bad define: %s" % st)
    check(any("buttons[1].title" in e for e in body["errors"]), "errors: %r" % body)
    # defining: version 1, the same again is no new version, a change is version 2
    r1 = define(h, "event_rsvp")
    check(r1["version"] == 1, "first version %r" % r1)
    d = json.load(open(os.path.join(LIBRARY, "event_rsvp.json"), encoding="utf-8"))
    st, r = h.api("POST", "/journeys", d)
    check(st == 200 and r["version"] == 1 and not r["created"], "same again: %s %r" % (st, r))
    d["steps"][0]["message"]["footer"]["en"] = "Reply STOP to opt out"
    st, r = h.api("POST", "/journeys", d)
    check(st == 201 and r["version"] == 2, "changed: %s %r" % (st, r))
    st, j = h.api("GET", "/journeys/event_rsvp")
    check(st == 200 and j["version"] == 2 and len(j["versions"]) == 2, "get: %r" % j)
    check(j["graph"]["start"] == "invite" and j["purpose"] == "marketing", "graph: %r" % j)
    st, j1 = h.api("GET", "/journeys/event_rsvp?version=1")
    check(j1["definition"]["steps"][0]["message"]["footer"]["en"] == "Reply STOP to stop messages",
          "version 1 is kept as it was")
    st, lst = h.api("GET", "/journeys")
    check([i["key"] for i in lst["items"]] == ["event_rsvp"], "list: %r" % lst)


def rsvp_vars(starts):
    return {"event_id": "lecture-11", "event_name": "Life after radiotherapy",
            "starts_at": iso(starts), "venue": "Hall A", "parking": "Parking is free.",
            "maps_url": "https://maps.example/hall-a", "latitude": "32.08",
            "longitude": "34.78", "address": "6 Weizmann St"}


def test_event_rsvp(h):
    start(h)
    define(h, "event_rsvp")
    yes, no, silent = "972521110001", "972521110002", "972521110003"
    cy, cn, cs = patient(h, yes), patient(h, no, "ru"), patient(h, silent, "he")
    starts = datetime.now(timezone.utc) + timedelta(days=5)
    for cid in (cy, cn, cs):
        st, r = h.api("POST", "/journeys/event_rsvp/start",
                      {"contact_id": cid, "vars": rsvp_vars(starts)})
        check(st == 202 and r["state"] == "waiting", "start: %s %r" % (st, r))
    inv = wait_biz(h, yes, 1, "the invitation")[-1]
    check(inv["type"] == "interactive", "invitation type %r" % inv)
    titles = [b["reply"]["title"] for b in inv["interactive"]["action"]["buttons"]]
    check(titles == ["I'll come", "I can't"], "buttons %r" % titles)
    check("Life after radiotherapy" in body_of(inv), "invitation text %r" % body_of(inv))
    ru = wait_biz(h, no, 1, "the Russian invitation")[-1]
    check("Приглашаем" in body_of(ru), "Russian: %r" % body_of(ru))
    he = wait_biz(h, silent, 1, "the Hebrew invitation")[-1]
    check("אנו מזמינים" in body_of(he), "Hebrew: %r" % body_of(he))

    # "I'll come": confirmation with parking and the navigation link, and the location
    h.sim_send(yes, {"type": "button_reply", "id": "rsvp.yes", "title": "I'll come"})
    msgs = wait_biz(h, yes, 3, "confirmation and location")
    check("https://maps.example/hall-a" in body_of(msgs[1]) and
          "Parking is free." in body_of(msgs[1]), "confirmation %r" % body_of(msgs[1]))
    check(msgs[2]["type"] == "location" and abs(msgs[2]["location"]["latitude"] - 32.08) < 1e-6,
          "location %r" % msgs[2])
    # "I can't" (a tap on the Russian button)
    h.sim_send(no, {"type": "button_reply", "id": "rsvp.no", "title": "Не смогу"})
    msgs = wait_biz(h, no, 2, "the acknowledgement")
    check("Спасибо" in body_of(msgs[1]), "ack %r" % body_of(msgs[1]))
    wait_run(h, "event_rsvp", cn, lambda r: r["state"] == "done", "declined run done")

    # three days without an answer: one gentle reminder
    advance(h, "P3DT1M")
    msgs = wait_biz(h, silent, 2, "the gentle reminder")
    check("מזכירים בעדינות" in body_of(msgs[1]), "nudge %r" % body_of(msgs[1]))
    # a day before: the reminder (only to the one who is coming)
    advance(h, "P1DT1M")  # now starts - 1 day + 2 minutes
    msgs = wait_biz(h, yes, 4, "the day-before reminder")
    check("tomorrow" in body_of(msgs[3]).lower(), "day before %r" % body_of(msgs[3]))
    advance(h, "PT22H")  # two hours before
    msgs = wait_biz(h, yes, 5, "the two-hours reminder")
    check("In two hours" in body_of(msgs[4]), "2h %r" % body_of(msgs[4]))
    advance(h, "P3D")
    # the silent one got nothing more after the nudge
    run = wait_run(h, "event_rsvp", cs, lambda r: r["state"] == "done", "silence")
    check(run["end_reason"] == "completed", "silent run %r" % run)
    time.sleep(1)
    check(len(biz(h, no)) == 2, "the one who declined got more: %r" % biz(h, no))
    check(len(biz(h, silent)) == 2, "silence was broken: %r" % biz(h, silent))
    check(len(biz(h, yes)) == 5, "the attendee got more than five")

    # analytics per step: the invitation was sent to three, tapped by two
    def stats():
        st, s = h.api("GET", "/journeys/event_rsvp/stats")
        check(st == 200, "stats %s" % st)
        inv = [x for x in s["steps"] if x["step"] == "invite"][0]
        return s if inv["read"] == 3 else None
    s = h.wait(stats, "read statuses counted")
    inv = [x for x in s["steps"] if x["step"] == "invite"][0]
    check(inv["sent"] == 3 and inv["delivered"] == 3 and inv["entered"] == 3, "invite %r" % inv)
    check(inv["taps"] == {"rsvp.yes": 1, "rsvp.no": 1}, "taps %r" % inv["taps"])
    check(inv["replied"] == 2 and abs(inv["engagement_rate"] - 2 / 3) < 1e-6,
          "engagement %r" % inv)
    check(inv["open_rate"] == 1.0, "open rate %r" % inv)
    check(s["runs"].get("done") == 3, "runs %r" % s["runs"])


def test_consent_first(h):
    start(h)
    define(h, "consent_first")
    yes, no = "972521120001", "972521120002"
    for wa in (yes, no):
        h.sim("PUT", "/sim/users/" + wa, {"read": 1.0, "on_whatsapp": True})
        h.sim_send(wa, {"type": "text", "text": "שלום"})
    ask = wait_biz(h, no, 1, "the consent question")[-1]
    ids = [b["reply"]["id"] for b in ask["interactive"]["action"]["buttons"]]
    check(ids == ["consent.yes", "consent.no"], "consent buttons %r" % ids)
    check("הסכמתך" in body_of(ask), "in Hebrew %r" % body_of(ask))
    time.sleep(0.5)
    check(len(biz(h, no)) == 1, "the bot welcomed as well: %r" % biz(h, no))
    h.sim_send(no, {"type": "button_reply", "id": "consent.no", "title": "לא, תודה"})
    wait_biz(h, no, 2, "the refusal acknowledged")
    h.sim_send(yes, {"type": "button_reply", "id": "consent.yes", "title": "אני מסכים/ה"})
    wait_biz(h, yes, 2, "thanks for consenting")
    cno = h.query("SELECT id FROM contacts WHERE wa_id = ?", no)[0][0]
    cyes = h.query("SELECT id FROM contacts WHERE wa_id = ?", yes)[0][0]
    refused = h.wait(lambda: h.query("SELECT count(*) FROM consent_current WHERE contact_id = ? "
                                     "AND status = 'refused'", cno)[0][0] == 5, "refusals")
    check(refused, "refusals recorded")
    granted = h.query("SELECT purpose FROM consent_current WHERE contact_id = ? AND "
                      "status = 'granted' ORDER BY purpose", cyes)
    check([g[0] for g in granted] == ["reminders", "results", "surveys"], "granted %r" % granted)
    # after a refusal nothing more is ever sent
    for purpose in ("marketing", "reminders", "surveys"):
        st, r = h.api("POST", "/messages", {"contact_id": cno, "purpose": purpose,
                                            "text": "Anything new?"})
        check(st == 202 and r["decision"]["outcome"] == "deny" and
              r["decision"]["reason"] == "consent_refused", "%s after refusal: %r" % (purpose, r))
    time.sleep(0.5)
    check(len(biz(h, no)) == 2, "something was sent after the refusal")


def test_missed_call(h):
    start(h)
    define(h, "missed_call")
    wa = "972521130001"
    cid = patient(h, wa)
    st, r = h.api("POST", "/events", {"type": "missed_call", "id": "pbx-1", "phone": "+" + wa,
                                      "data": {"line": "reception"}})
    check(st == 202 and r["runs"][0]["journey"] == "missed_call", "event %s %r" % (st, r))
    st, again = h.api("POST", "/events", {"type": "missed_call", "id": "pbx-1",
                                          "phone": "+" + wa})
    check(st == 200 and again["duplicate"], "repeated event: %s %r" % (st, again))
    offer = wait_biz(h, wa, 1, "we tried to reach you")[-1]
    check([b["reply"]["id"] for b in offer["interactive"]["action"]["buttons"]] ==
          ["mc.call", "mc.chat", "mc.voice"], "choices %r" % offer)
    h.sim_send(wa, {"type": "button_reply", "id": "mc.call", "title": "Call me back"})
    lst = wait_biz(h, wa, 2, "the time list")[-1]
    check(lst["interactive"]["type"] == "list", "a list: %r" % lst)
    h.sim_send(wa, {"type": "list_reply", "id": "slot.evening", "title": "Evening 16:00–19:00"})
    wait_biz(h, wa, 3, "the acknowledgement")
    st, hs = h.api("GET", "/handoffs?team=reception")
    check(st == 200 and len(hs["items"]) == 1 and hs["items"][0]["contact_id"] == cid,
          "hand-off %r" % hs)
    check("slot.evening" in hs["items"][0]["note"], "note %r" % hs["items"][0])
    # ...and in front of a person: the inbox lists the conversation, waiting
    st, convs = h.api("GET", "/conversations")
    mine = [c for c in convs["items"] if c["contact"]["id"] == cid] if st == 200 else []
    check(len(mine) == 1 and mine[0]["handoff"] == "journey:missed_call" and
          mine[0]["status"] == "open" and mine[0]["team"] == "reception" and
          "slot.evening" in (mine[0]["note"] or "") and mine[0]["waiting_since"] and
          mine[0]["first_response_due"], "the inbox: %s %r" % (st, convs))
    f = h.query("SELECT value_text FROM contact_fields WHERE contact_id = ? AND "
                "key = 'callback_time'", cid)
    check(f and f[0][0] == "slot.evening", "the chosen time is on the contact: %r" % f)


def test_results_ready(h):
    start(h)
    define(h, "results_ready")
    a, b, c = "972521140001", "972521140002", "972521140003"
    ca = patient(h, a, consents=("service", "results"))
    cb = patient(h, b, consents=("service",))
    cc = patient(h, c, consents=("service", "results"))
    for cid, cat, ext in ((ca, "lipids", "r1"), (cb, "lipids", "r2"), (cc, "oncology", "r3")):
        st, r = h.api("POST", "/events", {"type": "result.ready", "id": ext, "contact_id": cid,
                                          "data": {"result_id": ext, "category": cat,
                                                   "link": "https://results.example/" + ext}})
        check(st == 202, "event %s %r" % (st, r))
    m = wait_biz(h, a, 1, "the secure link")[-1]
    check("https://results.example/r1" in body_of(m), "with consent %r" % body_of(m))
    m = wait_biz(h, b, 1, "ready, come in")[-1]
    check("come in or call" in body_of(m) and "https" not in body_of(m), "no consent %r" %
          body_of(m))
    m = wait_biz(h, c, 1, "contact your doctor")[-1]
    check("contact your doctor" in body_of(m) and "https" not in body_of(m),
          "sensitive %r" % body_of(m))
    d = h.query("SELECT purpose, result_category FROM decisions WHERE contact_id = ? AND "
                "producer LIKE 'journey:results_ready:%'", ca)
    check(("results", "lipids") in d, "the link was decided as a result: %r" % d)


AMO_STATUS = "142"


def test_review_on_crm_amocrm(h):
    start(h)
    define(h, "review_on_crm")
    st, integ = h.api("POST", "/integrations/amocrm", {"status_map": {AMO_STATUS: "received"}})
    check(st == 201 and integ["url"].startswith("/integrations/amocrm/"), "setup %r" % integ)
    wa = "972521150001"
    cid = patient(h, wa, lang="ru", fields={"amocrm_lead_id": "777"})

    def post_form(path, form):
        raw = urllib.parse.urlencode(form).encode()
        return h.request("POST", h.url(path), raw=raw,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    form = {"leads[status][0][id]": "777", "leads[status][0][status_id]": AMO_STATUS,
            "leads[status][0][old_status_id]": "141", "leads[status][0][pipeline_id]": "9",
            "account[id]": "555"}
    st, r = post_form("/integrations/amocrm/not-the-secret-at-all-xyz", form)
    check(st == 401, "a wrong secret: %s" % st)
    st, r = post_form(integ["url"], form)
    check(st == 200 and r["events"][0]["runs"][0]["journey"] == "review_on_crm",
          "amoCRM webhook: %s %r" % (st, r))
    ask = wait_biz(h, wa, 1, "the review request")[-1]
    btns = ask["interactive"]["action"]["buttons"]
    check([b["reply"]["id"] for b in btns] == ["rate.5", "rate.3", "rate.1"], "rating %r" % btns)
    check("Отлично" in btns[0]["reply"]["title"], "in Russian %r" % btns)
    # amoCRM retries the same webhook: no second request
    st, r = post_form(integ["url"], form)
    check(st == 200, "retry %s" % st)
    h.sim_send(wa, {"type": "button_reply", "id": "rate.5", "title": btns[0]["reply"]["title"]})
    m = wait_biz(h, wa, 2, "thanks for the rating")[-1]
    check("Спасибо" in body_of(m), "thanks %r" % body_of(m))
    time.sleep(0.5)
    check(len(biz(h, wa)) == 2, "more than one review request")
    st, agg = h.api("GET", "/journeys/review_on_crm/responses")
    check(agg["rating"]["count"] == 1 and agg["rating"]["average"] == 5.0, "responses %r" % agg)
    # another status does not ask
    form2 = dict(form)
    form2["leads[status][0][status_id]"] = "143"
    st, r = post_form(integ["url"], form2)
    check(st == 200 and r["events"][0]["runs"] == [], "other status %r" % r)
    check(cid, "contact")


def test_pharmacy_order(h):
    start(h)
    define(h, "pharmacy_order")
    a, b = "972521160001", "972521160002"
    ca, cb = patient(h, a), patient(h, b)
    ready = {"status": "ready", "address": "12 Herzl St", "amount": "84.90", "currency": "ILS",
             "hours": "Sun–Thu 8:00–20:00", "latitude": 32.07, "longitude": 34.79,
             "pharmacy": "Herzl Pharmacy"}
    for cid, order in ((ca, "A-1"), (cb, "B-1")):
        h.api("POST", "/events", {"type": "order.status_changed", "id": order + ":accepted",
                                  "contact_id": cid, "data": {"order_id": order,
                                                              "status": "accepted"}})
    wait_biz(h, a, 1, "order accepted")
    for cid, order in ((ca, "A-1"), (cb, "B-1")):
        d = dict(ready)
        d["order_id"] = order
        st, r = h.api("POST", "/events", {"type": "order.status_changed", "id": order + ":ready",
                                          "contact_id": cid, "data": d})
        check(st == 202, "ready %s %r" % (st, r))
    msgs = wait_biz(h, a, 3, "ready for pickup and the location")
    # the pickup text and the location are queued together and reach the
    # phone in that order (one request at a time per person)
    pickup = [msgs[1]]
    check(msgs[1]["type"] != "location" and msgs[2]["type"] == "location",
          "pickup text, then the location: %r" % msgs[1:3])
    check("12 Herzl St" in body_of(pickup[0]) and "84.90 ILS" in body_of(pickup[0]) and
          "Sun–Thu" in body_of(pickup[0]), "pickup details %r" % body_of(pickup[0]))
    # B collects; A does not
    h.api("POST", "/events", {"type": "order.status_changed", "id": "B-1:collected",
                              "contact_id": cb, "data": {"order_id": "B-1",
                                                         "status": "collected"}})
    wait_biz(h, b, 4, "thanks for collecting")
    advance(h, "P3DT2H")
    msgs = wait_biz(h, a, 4, "the pickup reminder")
    check("still waiting" in body_of(msgs[3]), "reminder %r" % body_of(msgs[3]))
    time.sleep(1)
    check(len(biz(h, b)) == 4, "a reminder for a collected order: %r" % biz(h, b))


def test_visit_feedback(h):
    start(h)
    define(h, "visit_feedback")
    a, b = "972521170001", "972521170002"
    ca, cb = patient(h, a), patient(h, b)
    for cid, v in ((ca, "V1"), (cb, "V2")):
        st, r = h.api("POST", "/events", {"type": "visit.completed", "id": v, "contact_id": cid,
                                          "data": {"visit_id": v, "doctor": "Dr. Cohen"}})
        check(st == 202 and r["runs"][0]["state"] == "waiting", "visit %r" % r)
    time.sleep(0.5)
    check(len(biz(h, a)) == 0, "asked before two hours passed")
    advance(h, "PT2H1M")
    ask = wait_biz(h, a, 1, "the rating question")[-1]
    rows = ask["interactive"]["action"]["sections"][0]["rows"]
    check([r["id"] for r in rows] == ["5", "4", "3", "2", "1"], "rows %r" % rows)
    wait_biz(h, b, 1, "b's rating question")
    h.sim_send(a, {"type": "list_reply", "id": "4", "title": "4 – good"})
    wait_biz(h, a, 2, "the comment prompt")
    h.sim_send(a, {"type": "text", "text": "The nurse was very kind"})
    wait_biz(h, a, 3, "thanks")
    h.sim_send(b, {"type": "text", "text": "2"})  # a digit typed, not tapped
    wait_biz(h, b, 2, "b's comment prompt")
    st, agg = h.api("GET", "/journeys/visit_feedback/responses")
    check(st == 200 and agg["rating"]["count"] == 2 and agg["rating"]["average"] == 3.0,
          "ratings %r" % agg)
    check(agg["comment"]["recent"][0]["value"] == "The nurse was very kind", "comment %r" % agg)


def test_periodic_recall(h):
    start(h)
    define(h, "periodic_recall")
    wa = "972521180001"
    cid = patient(h, wa)
    st, r = h.api("POST", "/events", {"type": "visit.completed", "id": "d1", "contact_id": cid,
                                      "data": {"visit_id": "d1", "service": "dental check"}})
    check(st == 202 and r["runs"][0]["state"] == "waiting", "visit %r" % r)
    advance(h, "P89D")
    time.sleep(0.5)
    check(len(biz(h, wa)) == 0, "recalled too early")
    advance(h, "P1DT1H")  # three months (90 days) passed: wait for 10:00 in their zone
    wait_run(h, "periodic_recall", cid, lambda r: r["step"] == "recall_time", "at 10:00 next")
    advance(h, "P1D")
    m = wait_biz(h, wa, 1, "the recall")[-1]
    check("dental check" in body_of(m), "recall %r" % body_of(m))
    h.sim_send(wa, {"type": "button_reply", "id": "recall.book", "title": "Book"})
    wait_biz(h, wa, 2, "booking acknowledged")
    st, hs = h.api("GET", "/handoffs?team=booking")
    check(len(hs["items"]) == 1, "hand-off to booking %r" % hs)


def test_conference(h):
    start(h)
    define(h, "conference")
    define(h, "conference_update")
    a, b = "972521190001", "972521190002"
    ca, cb = patient(h, a), patient(h, b)
    starts = datetime.now(timezone.utc) + timedelta(days=3)
    ends = starts + timedelta(hours=4)
    data = {"conference": "Oncology Nursing 2026", "starts_at": iso(starts),
            "ends_at": iso(ends), "venue": "Convention Centre", "maps_url": "https://maps.example/cc"}
    for cid, reg in ((ca, "R1"), (cb, "R2")):
        d = dict(data)
        d["registration_id"] = reg
        st, r = h.api("POST", "/events", {"type": "registration.confirmed", "id": reg,
                                          "contact_id": cid, "data": d})
        check(st == 202, "registration %r" % r)
    wait_biz(h, a, 1, "a confirmed")
    wait_biz(h, b, 1, "b confirmed")
    d = dict(data)
    d["registration_id"] = "R2"
    h.api("POST", "/events", {"type": "registration.cancelled", "id": "R2-x", "contact_id": cb,
                              "data": d})
    m = wait_biz(h, b, 2, "b's cancellation")[-1]
    check("cancelled" in body_of(m), "cancel %r" % body_of(m))
    advance(h, "P2DT1M")
    m = wait_biz(h, a, 2, "a day-before reminder")[-1]
    check("tomorrow" in body_of(m), "day before %r" % body_of(m))
    # the urgent day-of update goes to everyone coming, and only to them
    st, pv = h.api("POST", "/campaigns/preview", {"journey": "conference_update",
                                                  "segment": 'tag = "conference-attending"'})
    check(st == 200 and pv["audience"] == 1, "preview %r" % pv)
    st, c = h.api("POST", "/campaigns", {
        "journey": "conference_update", "segment": 'tag = "conference-attending"',
        "canary": False, "vars": {"message": {
            "en": "Road 1 is closed; please use the north entrance.",
            "he": "כביש 1 סגור; נא להיכנס מהכניסה הצפונית.",
            "ru": "Шоссе 1 закрыто; пожалуйста, въезжайте с северного входа."}}})
    check(st == 201, "update campaign %s %r" % (st, c))
    m = wait_biz(h, a, 3, "the urgent update")[-1]
    check("north entrance" in body_of(m), "update %r" % body_of(m))
    advance(h, "PT22H")  # two hours before
    wait_biz(h, a, 4, "two hours before")
    advance(h, "PT7H")  # an hour after the end
    ask = wait_biz(h, a, 5, "thanks and the survey")[-1]
    check(ask["type"] == "interactive" and ask["interactive"]["type"] == "list", "survey %r" % ask)
    h.sim_send(a, {"type": "list_reply", "id": "conf.5", "title": "5 – excellent"})
    wait_biz(h, a, 6, "thanks for the feedback")
    time.sleep(0.5)
    check(len(biz(h, b)) == 2, "the cancelled attendee got more: %r" %
          [body_of(x) for x in biz(h, b)])


class Receiver(http.server.BaseHTTPRequestHandler):
    calls = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.calls.append((dict(self.headers), body))
        out = json.dumps({"slot": "Tuesday 10:00"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def test_webhook_step_signed(h):
    start(h)
    srv = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        st, sec = h.api("POST", "/journeys/webhook-secret", {})
        check(st == 201 and len(sec["secret"]) == 64, "secret %r" % sec)
        d = {"key": "crm_slot", "purpose": "service", "triggers": [{"type": "api"}],
             "steps": [
                 {"id": "ask_crm", "type": "webhook",
                  "url": "http://127.0.0.1:%d/slots" % srv.server_address[1],
                  "body": {"want": "{{vars.want}}"}, "save": "crm",
                  "branches": [{"ok": True, "next": "offer"}, {"failed": True, "next": "sorry"}]},
                 {"id": "offer", "type": "send", "next": "end",
                  "message": {"type": "text", "text": "Free: {{vars.crm.body.slot}}"}},
                 {"id": "sorry", "type": "send",
                  "message": {"type": "text", "text": "Please call us."}}]}
        st, r = h.api("POST", "/journeys", d)
        check(st == 201, "define %r" % r)
        wa = "972521200001"
        cid = patient(h, wa)
        st, r = h.api("POST", "/journeys/crm_slot/start", {"contact_id": cid,
                                                           "vars": {"want": "cardiology"}})
        check(st == 202, "start %r" % r)
        m = wait_biz(h, wa, 1, "the slot from the CRM")[-1]
        check(body_of(m) == "Free: Tuesday 10:00", "offer %r" % body_of(m))
        headers, body = Receiver.calls[0]
        sig = headers.get("X-Carewire-Signature")
        ts = headers.get("X-Carewire-Timestamp")
        want = "sha256=" + hmac.new(sec["secret"].encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        check(sig == want, "signature %r != %r" % (sig, want))
        payload = json.loads(body)
        check(payload["data"] == {"want": "cardiology"} and payload["contact"]["id"] == cid,
              "payload %r" % payload)
        check(headers.get("Idempotency-Key", "").startswith("journey:"), "idempotency key")
    finally:
        srv.shutdown()


def test_campaign_canary_guard_and_progress(h):
    start(h)
    d = {"key": "flu", "purpose": "marketing", "triggers": [{"type": "api"}],
         "steps": [
             {"id": "offer", "type": "send",
              "message": {"type": "buttons", "body": "Flu shots are here.",
                          "buttons": [{"id": "flu.book", "title": "Book"},
                                      {"id": "flu.never", "title": "Never again"}]}},
             {"id": "wait", "type": "wait_reply", "timeout": "P2D",
              "branches": [{"button": "flu.book", "next": "end"},
                           {"button": "flu.never", "next": "end", "negative": True},
                           {"timeout": True, "next": "end"}]}]}
    st, r = h.api("POST", "/journeys", d)
    check(st == 201, "define %r" % r)
    phones = ["9725212100%02d" % i for i in range(20)]
    for i, wa in enumerate(phones):
        patient(h, wa, consents=("marketing",) if i < 19 else ())
        h.api("POST", "/contacts", {"phone": "+" + wa, "tags": ["flu-2026"]})
    patient(h, "972521219999", consents=())  # not in the segment
    st, pv = h.api("POST", "/campaigns/preview", {"journey": "flu", "segment": "tag = flu-2026"})
    check(st == 200 and pv["audience"] == 20 and pv["eligible"] == 19 and
          pv["excluded"] == {"no_consent": 1}, "preview %r" % pv)
    check(pv["cost"]["category"] == "MARKETING" and pv["cost"]["total"] > 0, "cost %r" % pv)
    st, r = h.api("POST", "/campaigns", {"journey": "flu", "segment": "*"})
    check(st == 409 and r["error"]["field"] == "confirm.everyone", "everyone %s %r" % (st, r))
    st, r = h.api("POST", "/campaigns", {"journey": "flu", "segment": "tga = x"})
    check(st == 400 and r["error"]["code"] == "invalid_query", "bad query %s %r" % (st, r))
    st, c = h.api("POST", "/campaigns", {
        "journey": "flu", "segment": "tag = flu-2026", "name": "Flu 2026",
        "canary": {"percent": 25, "hold": "PT1H"},
        "guard": {"max_negative_rate": 0.3, "min_sample": 4}})
    check(st == 201 and c["progress"]["canary_target"] == 5, "create %s %r" % (st, c))

    def progress():
        st, v = h.api("GET", "/campaigns/" + c["id"])
        return v if v["progress"]["enrolled"] == 5 and v["phase"] == "hold" else None
    h.wait(progress, "the canary enrolled")
    # the canary answers: 3 of the 4 reached say "never again"
    # (the dispatcher keeps 6 s between two messages to one person: the
    # bot's welcome went just before)
    def reached():
        g = [wa for wa in phones if biz(h, wa) and biz(h, wa)[-1]["type"] == "interactive"]
        n = h.query("SELECT count(*) FROM journey_sends WHERE campaign_id = ? AND "
                    "message_id IS NOT NULL", c["id"])[0][0]
        return g if len(g) == n else None
    got = h.wait(reached, "the canary's messages reached the phones", timeout=30)
    check(len(got) >= 4, "canary messages reached %d phones" % len(got))
    for wa in got[:3]:
        h.sim_send(wa, {"type": "button_reply", "id": "flu.never", "title": "Never again"})
    h.wait(lambda: h.query("SELECT count(*) FROM journey_runs WHERE campaign_id = ? AND "
                           "negative = 1", c["id"])[0][0] == 3, "negative replies recorded")
    advance(h, "PT1H1M")

    def halted():
        st, v = h.api("GET", "/campaigns/" + c["id"])
        return v if v["status"] == "halted" else None
    v = h.wait(halted, "the guard halted the campaign")
    check("negative" in v["halted_reason"], "reason %r" % v["halted_reason"])
    check(v["progress"]["enrolled"] == 5 and v["guard"]["negative_replies"] == 3, "view %r" % v)
    check(v["stats"]["totals"]["negative"] == 3, "stats %r" % v["stats"]["totals"])
    time.sleep(0.5)
    reached = sum(1 for wa in phones if biz(h, wa) and biz(h, wa)[-1]["type"] == "interactive")
    check(reached == len(got), "messages after the halt: %d" % reached)
    # a person resumes; then cancels
    st, v = h.api("POST", "/campaigns/%s/resume" % c["id"])
    check(st == 200 and v["status"] == "running", "resume %r" % v)
    st, v = h.api("POST", "/campaigns/%s/cancel" % c["id"])
    check(st == 200 and v["status"] == "cancelled", "cancel %r" % v)
    st, v = h.api("POST", "/campaigns/%s/pause" % c["id"])
    check(st == 409, "pause after cancel %s" % st)
    st, lst = h.api("GET", "/campaigns")
    check(lst["items"][0]["id"] == c["id"], "list %r" % lst)


def test_keyword_and_conflicts(h):
    start(h)
    kw = {"key": "lecture_info", "purpose": "service", "languages": ["en", "he", "ru"],
          "triggers": [{"type": "keyword", "words": {"en": ["lecture"], "he": ["הרצאה"],
                                                     "ru": ["лекция"]}}],
          "steps": [{"id": "info", "type": "send", "message": {
              "type": "text", "text": {"en": "The lecture is on Wednesday at 18:00.",
                                       "he": "ההרצאה ביום רביעי ב-18:00.",
                                       "ru": "Лекция в среду в 18:00."}}}]}
    st, r = h.api("POST", "/journeys", kw)
    check(st == 201, "define %r" % r)
    wa = "972521220001"
    patient(h, wa, lang="ru")
    h.sim_send(wa, {"type": "text", "text": "Когда ЛЕКЦИЯ?"})
    m = wait_biz(h, wa, 1, "the keyword answer")[-1]
    check("среду" in body_of(m), "answer %r" % body_of(m))
    # Hebrew attaches "the" to the word: ההרצאה is the keyword הרצאה
    he = "972521220002"
    patient(h, he, lang="he")
    h.sim_send(he, {"type": "text", "text": "מתי ההרצאה?"})
    m = wait_biz(h, he, 1, "the keyword answer in Hebrew")[-1]
    check("ביום רביעי" in body_of(m), "answer %r" % body_of(m))
    # pausing a journey stops its triggers
    st, _ = h.api("POST", "/journeys/lecture_info/pause")
    check(st == 200, "pause %s" % st)
    h.sim_send(wa, {"type": "text", "text": "лекция"})
    time.sleep(1)
    check(len(biz(h, wa)) == 1, "a paused journey answered")


if __name__ == "__main__":
    main([test_check_and_define, test_event_rsvp, test_consent_first, test_missed_call,
          test_results_ready, test_review_on_crm_amocrm, test_pharmacy_order,
          test_visit_feedback, test_periodic_recall, test_conference, test_webhook_step_signed,
          test_campaign_canary_guard_and_progress, test_keyword_and_conflicts])
