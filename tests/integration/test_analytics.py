"""Analytics, settings and numbers over HTTP: `carewire serve` and `carewire sim` on loopback.

The overview counts what the simulated phones did with the bot's messages per local day
(sent, delivered, read, answered), opt-outs sent in WhatsApp and failures by Cloud API code;
the funnel per producer; the questions nothing automatic answered, grouped by folded text,
for admins only, audited and never logged; the settings are read from and written to where
the send path reads them (a category added is refused by policy, an opt-out word added opts
out, a cap written is stored for policy), with 422 naming the wrong member; the phone
numbers list without tokens, and pausing a number holds its messages until it is resumed.
"""
import datetime
import json
import os
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PNID, WABA, check, main  # noqa: E402

ASKER = "972521234567"
PARKER = "972521234568"
STOPPER = "972521234569"
NOWHERE = "972521110000"
QUESTION = "Can I move my appointment to Tuesday?"


def start(h):
    h.start_sim()
    h.setup_org()
    h.start_serve()
    for wa_id in (ASKER, PARKER, STOPPER):
        st, _ = h.sim("PUT", "/sim/users/" + wa_id, {"read": 1.0, "on_whatsapp": True})
        check(st in (200, 201), "simulator user set-up: %s" % st)


def key(h, role):
    return h.run("apikey", "create", "--org", h.org_id, "--role", role).stdout.strip()


def as_key(h, k, method, path, body=None):
    return h.request(method, h.url("/api/v1" + path), body, {"Authorization": "Bearer " + k})


def add_template(h, name, category, lang="he"):
    st, body = h.sim("POST", "/sim/templates", {
        "name": name, "language": lang, "category": category, "status": "APPROVED",
        "waba_id": WABA,
        "components": [{"type": "BODY", "text": "Hello {{1}}",
                        "example": {"body_text": [["Noa"]]}}]})
    check(st == 201, "simulator template %s: %s %r" % (name, st, body))
    st, body = h.api("POST", "/templates/sync")
    check(st == 200, "template sync: %s %r" % (st, body))


def contact(h, phone):
    st, c = h.api("POST", "/contacts", {"phone": phone, "name": "Noa Levi", "language": "he",
                                        "time_zone": "Asia/Jerusalem"})
    check(st in (200, 201), "contact: %s %r" % (st, c))
    return c["id"]


def consent(h, cid, purpose):
    st, body = h.api("POST", "/contacts/%s/consents" % cid, {
        "purpose": purpose, "status": "granted", "source": "paper",
        "wording_version": "v1", "evidence": "form 7"})
    check(st == 201, "consent: %s %r" % (st, body))


def business(h, wa_id):
    return [m for m in h.sim_messages(wa_id) if m["from"] == "business"]


def processed(h):
    h.wait(lambda: h.query("SELECT count(*) FROM webhook_log WHERE processed_at IS NULL")
           [0][0] == 0, "every webhook processed")


def overview(h, days=14):
    st, o = h.api("GET", "/analytics/overview?days=%d" % days)
    check(st == 200, "overview: %s %r" % (st, o))
    return o


def total(o, k):
    return sum(d[k] for d in o["days"])


def test_overview_producers_and_unanswered(h):
    start(h)
    h.no_quiet_hours()  # business-initiated sends must go now, at any hour
    zone = h.query("SELECT time_zone FROM orgs WHERE id = ?", h.org_id)[0][0]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(zone)).date()

    # Three people write; the bot welcomes each (three outbound messages).
    for wa_id in (ASKER, PARKER, STOPPER):
        h.sim_send(wa_id, {"type": "text", "text": "hi"})
    for wa_id in (ASKER, PARKER, STOPPER):
        h.wait(lambda: business(h, wa_id), "the welcome to %s" % wa_id)
    # Two of them ask what the bot cannot answer, one twice in other words;
    # the third opts out.
    h.sim_send(ASKER, {"type": "text", "text": QUESTION})
    h.sim_send(PARKER, {"type": "text", "text": "Where do I park?"})
    h.sim_send(PARKER, {"type": "text", "text": "where   do i PARK"})
    h.sim_send(STOPPER, {"type": "text", "text": "STOP"})
    # A reminder to a number that is not on WhatsApp fails with 131026.
    add_template(h, "appt_reminder", "UTILITY")
    st, _ = h.sim("PUT", "/sim/users/" + NOWHERE, {"on_whatsapp": False})
    check(st in (200, 201), "user not on WhatsApp: %s" % st)
    nowhere = contact(h, "+" + NOWHERE)
    consent(h, nowhere, "reminders")
    st, r = h.api("POST", "/messages", {"contact_id": nowhere, "purpose": "reminders",
                                        "template": {"name": "appt_reminder",
                                                     "language": "he", "params": ["Noa"]}})
    check(st == 202 and r["decision"]["outcome"] == "allow", "the reminder: %s %r" % (st, r))
    h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE failed_at IS NOT NULL")[0][0],
           "the reminder failed")
    # Every welcome read (the simulated people read everything).
    h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE direction = 'out' AND "
                           "contact_id IN (SELECT id FROM contacts WHERE wa_id IN (?, ?, ?)) "
                           "AND read_at IS NOT NULL", ASKER, PARKER, STOPPER)[0][0] >= 3,
           "the welcomes were read")
    processed(h)

    # The figures against the database, counted here independently. Status
    # webhooks may still be arriving (the opt-out's confirmation is being
    # read): take the overview between two equal counts.
    def counts():
        return h.query("SELECT count(*), "
                       "sum(sent_at IS NOT NULL OR delivered_at IS NOT NULL OR "
                       "read_at IS NOT NULL), "
                       "sum(delivered_at IS NOT NULL OR read_at IS NOT NULL), "
                       "sum(read_at IS NOT NULL), sum(failed_at IS NOT NULL) "
                       "FROM messages WHERE direction = 'out' AND "
                       "coalesce(sent_at, delivered_at, read_at, played_at, failed_at) "
                       "IS NOT NULL")[0]

    def settled():
        before = counts()
        o = overview(h)
        return (o, before) if counts() == before else None
    o, out = h.wait(settled, "the counts settled")
    check(len(o["days"]) == 14, "14 days: %d" % len(o["days"]))
    dates = [d["date"] for d in o["days"]]
    check(dates == sorted(dates) and len(set(dates)) == 14, "days in order: %r" % dates)
    later = datetime.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    check(dates[-1] in (today.isoformat(), later.isoformat()),
          "the last day is today in %s: %r" % (zone, dates[-1]))
    check(o["time_zone"] == zone, "the zone: %r" % o["time_zone"])
    for d in o["days"]:
        for k in ("date", "sent", "delivered", "read", "failed", "replied", "opted_out"):
            check(k in d, "a day lacks %s: %r" % (k, d))

    check(total(o, "sent") == out[1] and total(o, "delivered") == out[2] and
          total(o, "read") == out[3] and total(o, "failed") == out[4] == 1,
          "per-day counts %r against the messages table %r" % (o["days"][-1], out))
    check(o["totals"]["sent"] == total(o, "sent"), "totals: %r" % o["totals"])
    check(total(o, "read") >= 3, "at least the welcomes were read: %r" % o["days"][-1])
    # The asker and the parker answered their welcome within 24 hours; so did
    # the stopper (STOP is an answer too, counted again as an opt-out).
    welcomes_answered = 3
    check(total(o, "replied") >= welcomes_answered, "replied: %r" % o["days"][-1])
    check(total(o, "replied") <= total(o, "delivered"), "replied <= delivered")
    check(total(o, "opted_out") == 1, "one opt-out: %r" % o["days"][-1])
    check(abs(o["open_rate"] - total(o, "read") / total(o, "delivered")) < 1e-9,
          "open rate: %r" % o["open_rate"])
    check(abs(o["engagement_rate"] - total(o, "replied") / total(o, "delivered")) < 1e-9,
          "engagement rate: %r" % o["engagement_rate"])
    check(abs(o["opt_out_rate"] - 1 / total(o, "delivered")) < 1e-9,
          "opt-out rate: %r" % o["opt_out_rate"])
    reasons = o["failures_by_reason"]
    check(len(reasons) == 1 and reasons[0]["reason"] == "131026" and reasons[0]["count"] == 1
          and reasons[0]["title"], "failures by reason: %r" % reasons)

    # Query errors name the parameter.
    st, e = h.api("GET", "/analytics/overview?days=0")
    check(st == 422 and e["error"]["field"] == "days", "days=0: %s %r" % (st, e))
    st, e = h.api("GET", "/analytics/overview?days=many")
    check(st == 422 and e["error"]["field"] == "days", "days=many: %s %r" % (st, e))
    st, o1 = h.api("GET", "/analytics/overview?days=1")
    check(st == 200 and len(o1["days"]) == 1, "one day: %s %r" % (st, o1))
    st, _ = h.request("GET", h.url("/api/v1/analytics/overview"))
    check(st == 401, "no key: %s" % st)

    # Per producer: the bot's welcomes, the opt-out confirmation, the API's reminder.
    st, p = h.api("GET", "/analytics/producers")
    check(st == 200, "producers: %s %r" % (st, p))
    names = [i["producer"] for i in p["items"]]
    check(names == sorted(names) and {"bot", "optout", "api"} <= set(names),
          "producers: %r" % names)
    bot = [i for i in p["items"] if i["producer"] == "bot"][0]
    check(bot["total"] == 3 and bot["read"] == 3 and bot["failed"] == 0, "bot: %r" % bot)
    st, p = h.api("GET", "/analytics/producers?prefix=ap")
    check(st == 200 and [i["producer"] for i in p["items"]] == ["api"], "prefix: %r" % p)
    api = p["items"][0]
    check(api["failed"] == 1 and api["failures_by_reason"][0]["reason"] == "131026",
          "the API's failure: %r" % api)
    st, p = h.api("GET", "/analytics/producers?prefix=campaign:")
    check(st == 200 and p["items"] == [], "no campaigns yet: %r" % p)

    # The questions nothing answered: admins only.
    viewer = key(h, "viewer")
    st, e = as_key(h, viewer, "GET", "/analytics/unanswered")
    check(st == 403, "a viewer reads no patient words: %s" % st)
    st, o = as_key(h, viewer, "GET", "/analytics/overview")
    check(st == 200, "a viewer reads the overview: %s" % st)
    st, u = h.api("GET", "/analytics/unanswered")
    check(st == 200, "unanswered: %s %r" % (st, u))
    items = {i["text"]: i["count"] for i in u["items"]}
    check(items.get("where do i park") == 2, "one question asked twice: %r" % items)
    check(items.get("can i move my appointment to tuesday") == 1, "the question: %r" % items)
    check(len(items) == 2, "no greeting, no STOP, nothing else: %r" % items)
    check(u["items"][0]["text"] == "where do i park", "most asked first: %r" % u["items"])
    check(u["texts"] == 3 and u["truncated"] is False, "texts: %r" % u)
    audits = h.query("SELECT actor, outcome, detail FROM audit_log "
                     "WHERE action = 'analytics.unanswered'")
    check(len(audits) == 1 and audits[0][1] == "ok" and audits[0][0].startswith("apikey:"),
          "the read is audited: %r" % audits)
    check("park" not in (audits[0][2] or ""), "no words in the audit entry")
    st, e = h.api("GET", "/analytics/unanswered?days=400")
    check(st == 422 and e["error"]["field"] == "days", "days=400: %s %r" % (st, e))

    # No patient's words in the log.
    h.stop("serve")
    with open(os.path.join(h.dir, "serve.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    for words in (QUESTION, "Where do I park", "where do i park"):
        check(words not in log, "the log holds a patient's words: %r" % words)


def test_settings(h):
    start(h)
    st, s = h.api("GET", "/settings")
    check(st == 200, "settings: %s %r" % (st, s))
    check(s == {"quiet_hours": {"start": "21:00", "end": "08:00"},
                "caps": {"marketing_per_week": 2, "surveys_per_month": 1},
                "tier": 1000,
                "sensitive_categories": ["oncology", "hiv", "genetics", "psychiatry"],
                "optout_words": [], "first_response_target_minutes": 6},
          "the defaults: %r" % s)

    # What the dashboard sends: two members; the rest stays.
    st, s = h.api("PUT", "/settings", {"quiet_hours": {"start": "22:30", "end": "07:00"},
                                        "caps": {"marketing_per_week": 3,
                                                 "surveys_per_month": 2}})
    check(st == 200 and s["quiet_hours"] == {"start": "22:30", "end": "07:00"} and
          s["caps"] == {"marketing_per_week": 3, "surveys_per_month": 2} and
          s["tier"] == 1000, "changed: %s %r" % (st, s))
    stored = json.loads(h.query("SELECT settings FROM orgs WHERE id = ?", h.org_id)[0][0])
    check(stored["policy"]["quiet_hours"] == {"start": "22:30", "end": "07:00"} and
          stored["policy"]["marketing_cap"] == {"max": 3, "days": 7} and
          stored["policy"]["survey_cap"] == {"max": 2, "days": 30},
          "stored where the send path reads it: %r" % stored)
    # Another member does not touch these.
    st, s = h.api("PUT", "/settings", {"tier": "unlimited", "caps": {"surveys_per_month": None}})
    check(st == 200 and s["tier"] == "unlimited" and
          s["caps"] == {"marketing_per_week": 3, "surveys_per_month": None} and
          s["quiet_hours"]["start"] == "22:30", "partial: %r" % s)

    # 422 names the member.
    bad = [
        ({"quiet_hours": {"start": "08:00", "end": "21:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": "night"}, "quiet_hours"),
        ({"caps": {"marketing_per_week": 0}}, "caps.marketing_per_week"),
        ({"caps": {"marketing_per_day": 1}}, "caps.marketing_per_day"),
        ({"tier": 0}, "tier"),
        ({"sensitive_categories": ["lipids"]}, "sensitive_categories"),
        ({"sensitive_categories": ["oncology", "a b"]}, "sensitive_categories[1]"),
        ({"optout_words": ["ok", "!!!"]}, "optout_words[1]"),
        ({"first_response_target_minutes": 0}, "first_response_target_minutes"),
        ({"quiet_hour": {"start": "21:00", "end": "08:00"}}, "quiet_hour"),
    ]
    for body, field in bad:
        st, e = h.api("PUT", "/settings", body)
        check(st == 422 and e["error"]["code"] == "invalid_field" and
              e["error"]["field"] == field and e["error"]["message"],
              "%r: %s %r" % (body, st, e))
    st, s2 = h.api("GET", "/settings")
    check(s2 == s, "nothing changed by refused requests: %r" % s2)

    # Roles: a viewer reads, only an admin writes.
    viewer = key(h, "viewer")
    agent = key(h, "agent")
    st, _ = as_key(h, viewer, "GET", "/settings")
    check(st == 200, "viewer reads: %s" % st)
    for k in (viewer, agent):
        st, _ = as_key(h, k, "PUT", "/settings", {"tier": 250})
        check(st == 403, "only an admin writes: %s" % st)

    # The send path reads what was written: a category added is refused...
    add_template(h, "results_ready", "UTILITY")
    cid = contact(h, "+" + ASKER)
    consent(h, cid, "results")
    st, s = h.api("PUT", "/settings", {"sensitive_categories": [
        "oncology", "hiv", "genetics", "psychiatry", "lipids"]})
    check(st == 200 and "lipids" in s["sensitive_categories"], "category added: %r" % s)
    st, r = h.api("POST", "/messages", {"contact_id": cid, "purpose": "results",
                                        "result_category": "lipids/ldl",
                                        "template": {"name": "results_ready",
                                                     "language": "he", "params": ["Noa"]}})
    check(st == 202 and r["decision"]["reason"] == "sensitive_result",
          "policy refuses the added category: %r" % r)
    # ... and an opt-out word added opts out.
    st, s = h.api("PUT", "/settings", {"optout_words": ["Bye bye", "bye  BYE!"]})
    check(st == 200 and s["optout_words"] == ["Bye bye"], "one word, once: %r" % s)
    h.sim_send(PARKER, {"type": "text", "text": "BYE BYE."})
    h.wait(lambda: h.query("SELECT opted_out FROM contact_optout WHERE contact_id = "
                           "(SELECT id FROM contacts WHERE wa_id = ?)", PARKER) == [(1,)],
           "the organisation's word opted the person out")

    # The first-response target is the business hours' one.
    st, s = h.api("PUT", "/settings", {"first_response_target_minutes": 9})
    check(st == 200 and s["first_response_target_minutes"] == 9, "target: %r" % s)
    st, hours = h.api("GET", "/settings/hours")
    check(st == 200 and hours["first_response_target_minutes"] == 9, "hours: %r" % hours)

    audits = h.query("SELECT detail FROM audit_log WHERE action = 'settings.update' "
                     "ORDER BY seq")
    check([a[0] for a in audits] == ["quiet_hours,caps", "caps,tier", "sensitive_categories",
                                     "optout_words", "first_response_target_minutes"],
          "every change audited: %r" % audits)


def test_numbers(h):
    start(h)
    h.no_quiet_hours()  # business-initiated sends must go now, at any hour
    st, n = h.api("GET", "/numbers")
    check(st == 200 and len(n["items"]) == 1, "numbers: %s %r" % (st, n))
    num = n["items"][0]
    check(num["phone_number_id"] == PNID and num["waba_id"] == WABA and
          num["display"] == "+97235550100" and num["rate_mps"] == 80 and
          num["status"] == "active" and num["shared_with_app"] is False and num["id"],
          "the number: %r" % num)
    raw = json.dumps(n)
    check("token" not in raw and "it-access-token" not in raw, "no token: %s" % raw)

    nid = num["id"]
    for body, field in [({"rate_mps": 0}, "rate_mps"), ({"rate_mps": 5000}, "rate_mps"),
                        ({"status": "stopped"}, "status"), ({"token": "x"}, "token"),
                        ({}, "body")]:
        st, e = h.api("PUT", "/numbers/" + nid, body)
        check(st == 422 and e["error"]["field"] == field, "%r: %s %r" % (body, st, e))
    st, e = h.api("PUT", "/numbers/01NOSUCHNUMBER000000000000", {"status": "paused"})
    check(st == 404, "unknown number: %s %r" % (st, e))
    viewer = key(h, "viewer")
    st, _ = as_key(h, viewer, "PUT", "/numbers/" + nid, {"status": "paused"})
    check(st == 403, "only an admin pauses: %s" % st)
    st, _ = as_key(h, viewer, "GET", "/numbers")
    check(st == 200, "a viewer lists: %s" % st)

    # Paused: nothing leaves the number; resumed: the held message goes.
    add_template(h, "appt_reminder", "UTILITY")  # synchronised through the number
    st, num = h.api("PUT", "/numbers/" + nid, {"status": "paused", "rate_mps": 40})
    check(st == 200 and num["status"] == "paused" and num["rate_mps"] == 40,
          "paused: %s %r" % (st, num))
    # the dispatcher reads the numbers every 5 s: wait until it says it paused
    gauge = 'carewire_dispatch_number_paused{number="%s"} 1' % nid
    h.wait(lambda: gauge in (h.request("GET", h.url("/metrics"))[1] or ""),
           "the dispatcher paused the number", timeout=30)
    cid = contact(h, "+" + ASKER)
    consent(h, cid, "reminders")
    st, r = h.api("POST", "/messages", {"contact_id": cid, "purpose": "reminders",
                                        "template": {"name": "appt_reminder",
                                                     "language": "he", "params": ["Noa"]}})
    check(st == 202 and r["decision"]["outcome"] == "allow", "queued: %s %r" % (st, r))
    time.sleep(2)
    check(business(h, ASKER) == [], "a paused number sent: %r" % business(h, ASKER))
    st, num = h.api("PUT", "/numbers/" + nid, {"status": "active"})
    check(st == 200 and num["status"] == "active" and num["rate_mps"] == 40,
          "resumed: %s %r" % (st, num))
    h.wait(lambda: business(h, ASKER), "the held message went after the resume", timeout=20)
    details = [a[0] for a in h.query("SELECT detail FROM audit_log WHERE action = "
                                     "'number.update' ORDER BY seq")]
    check(details == ["number=%s status=active->paused rate_mps=80->40" % nid,
                      "number=%s status=paused->active rate_mps=40->40" % nid],
          "audited: %r" % details)


if __name__ == "__main__":
    main([test_overview_producers_and_unanswered, test_settings, test_numbers])
