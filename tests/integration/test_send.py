"""The send path over HTTP: `carewire serve` and `carewire sim` on loopback.

POST /api/v1/messages returns the policy decision (and every error names its
field); GET /api/v1/decisions lists the decisions newest first; STOP from the
simulated phone withdraws marketing, is confirmed once, and a later marketing
send is refused; POST /api/v1/segments/preview and `carewire segment` count
the seed's segment with its policy exclusions.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import WABA, check, main  # noqa: E402

PATIENT = "972521234567"


def start(h):
    h.start_sim()
    h.setup_org()
    h.start_serve()
    st, _ = h.sim("PUT", "/sim/users/" + PATIENT, {"read": 1.0, "on_whatsapp": True})
    check(st in (200, 201), "simulator user set-up: %s" % st)


def add_template(h, name, category, lang="he"):
    st, body = h.sim("POST", "/sim/templates", {
        "name": name, "language": lang, "category": category, "status": "APPROVED",
        "waba_id": WABA,
        "components": [{"type": "BODY", "text": "Hello {{1}}",
                        "example": {"body_text": [["Noa"]]}}]})
    check(st == 201, "simulator template %s: %s %r" % (name, st, body))


def sync_templates(h):
    st, body = h.api("POST", "/templates/sync")
    check(st == 200, "template sync: %s %r" % (st, body))


def contact(h, phone, **extra):
    body = {"phone": phone, "name": extra.pop("name", "Noa Levi"), "language": "he",
            "time_zone": "Asia/Jerusalem"}
    body.update(extra)
    st, c = h.api("POST", "/contacts", body)
    check(st in (200, 201), "contact: %s %r" % (st, c))
    return c["id"]


def consent(h, cid, purpose, status="granted"):
    st, body = h.api("POST", "/contacts/%s/consents" % cid, {
        "purpose": purpose, "status": status, "source": "paper",
        "wording_version": "v1", "evidence": "form 7"})
    check(st == 201, "consent: %s %r" % (st, body))


def send(h, body, key=None):
    headers = {"Authorization": "Bearer " + h.api_key}
    if key:
        headers["Idempotency-Key"] = key
    return h.request("POST", h.url("/api/v1/messages"), body, headers)


def expect_422(h, body, field, what):
    st, r = send(h, body)
    check(st == 422, "%s: status %s %r" % (what, st, r))
    check(r["error"]["field"] == field or r["error"]["field"].startswith(field),
          "%s: field %r, want %r" % (what, r["error"]["field"], field))


def test_messages_shapes_and_errors(h):
    start(h)
    h.no_quiet_hours()  # business-initiated sends must go now, at any hour
    add_template(h, "promo", "MARKETING")
    add_template(h, "appt_reminder", "UTILITY")
    sync_templates(h)
    cid = contact(h, "052-123-4567")
    consent(h, cid, "marketing")

    # authentication
    st, r = h.request("POST", h.url("/api/v1/messages"),
                      {"contact_id": cid, "purpose": "marketing", "text": "hi"})
    check(st == 401, "no key: %s" % st)

    # every validation error names its field
    expect_422(h, {"purpose": "marketing", "text": "x"}, "contact_id", "no contact_id")
    expect_422(h, {"contact_id": cid, "purpose": "sales", "text": "x"}, "purpose", "bad purpose")
    expect_422(h, {"contact_id": cid, "purpose": "marketing"}, "text", "no message")
    expect_422(h, {"contact_id": cid, "purpose": "marketing", "text": "x",
                   "template": {"name": "promo"}}, "template", "two messages")
    expect_422(h, {"contact_id": cid, "purpose": "marketing", "text": "x" * 5000}, "text",
               "text over 4096 characters")
    buttons = [{"type": "reply", "reply": {"id": "b%d" % i, "title": "B%d" % i}}
               for i in range(4)]
    expect_422(h, {"contact_id": cid, "purpose": "service", "interactive": {
        "type": "button", "body": {"text": "Pick"}, "action": {"buttons": buttons}}},
        "interactive.action.buttons", "four buttons")
    expect_422(h, {"contact_id": cid, "purpose": "marketing",
                   "template": {"name": "promo", "params": [["nested"]]}},
               "template.params[0]", "bad parameter")
    expect_422(h, {"contact_id": cid, "purpose": "marketing",
                   "template": {"language": "he"}}, "template.name", "template without name")
    expect_422(h, {"contact_id": cid, "purpose": "marketing", "text": "x",
                   "expires_at": "tomorrow"}, "expires_at", "bad expiry")
    st, r = send(h, {"contact_id": "01NOSUCHCONTACT00000000000", "purpose": "marketing",
                     "text": "x"})
    check(st == 404 and r["error"]["field"] == "contact_id", "unknown contact: %s %r" % (st, r))
    st, r = h.request("POST", h.url("/api/v1/messages"), raw=b"{\"contact_id\":",
                      headers={"Authorization": "Bearer " + h.api_key})
    check(st == 400 and r["error"]["code"] == "invalid_json", "malformed: %s %r" % (st, r))

    # free-form to someone who never wrote: refused, with a reason to read
    st, r = send(h, {"contact_id": cid, "purpose": "marketing", "text": "Our new clinic opens"})
    check(st == 202, "free-form: %s %r" % (st, r))
    check(r["id"] is None and r["decision"]["outcome"] == "deny" and
          r["decision"]["reason"] == "window_closed", "window closed: %r" % r)
    check(r["decision"]["message"] and r["decision"]["until"] is None, "message: %r" % r)

    # an approved MARKETING template with consent: allowed and queued, and it
    # reaches the phone
    st, r = send(h, {"contact_id": cid, "purpose": "marketing",
                     "template": {"name": "promo", "language": "he", "params": ["Noa"]}},
                 key="promo-1")
    check(st == 202 and r["decision"]["outcome"] == "allow" and r["id"], "allowed: %r" % r)
    check(r["decision"]["reason"] is None, "reason of an allow: %r" % r)
    first_id = r["id"]
    h.wait(lambda: [m for m in h.sim_messages(PATIENT)
                    if m["from"] == "business" and m["type"] == "template"],
           "the template reached the phone")
    # the same Idempotency-Key is the same message
    st, r = send(h, {"contact_id": cid, "purpose": "marketing",
                     "template": {"name": "promo", "language": "he", "params": ["Noa"]}},
                 key="promo-1")
    check(st == 202 and r["id"] == first_id, "idempotent: %r" % r)
    # a reminder without consent, and marketing in a UTILITY template
    st, r = send(h, {"contact_id": cid, "purpose": "reminders",
                     "template": {"name": "appt_reminder", "params": ["Noa"]}})
    check(r["decision"]["reason"] == "no_consent", "no consent: %r" % r)
    st, r = send(h, {"contact_id": cid, "purpose": "marketing",
                     "template": {"name": "appt_reminder", "language": "he",
                                  "params": ["Noa"]}})
    check(r["decision"]["reason"] == "template_category_mismatch", "category: %r" % r)
    # a sensitive result
    consent(h, cid, "results")
    st, r = send(h, {"contact_id": cid, "purpose": "results", "result_category": "oncology",
                     "template": {"name": "appt_reminder", "language": "he",
                                  "params": ["Noa"]}})
    check(r["decision"]["reason"] == "sensitive_result", "sensitive: %r" % r)

    # the decisions, newest first
    st, d = h.api("GET", "/decisions?contact_id=" + cid)
    check(st == 200, "decisions: %s %r" % (st, d))
    items = d["items"]
    check([i["reason"] for i in items] ==
          ["sensitive_result", "template_category_mismatch", "no_consent", None,
           "window_closed"], "decision reasons: %r" % [i["reason"] for i in items])
    allow = items[3]
    check(allow["outcome"] == "allow" and allow["message_id"] == first_id and
          allow["purpose"] == "marketing" and allow["producer"] == "api" and allow["at"],
          "allow item: %r" % allow)
    for k in ("outcome", "reason", "message", "at", "until", "purpose", "producer",
              "message_id"):
        check(k in items[0], "decision item lacks %s" % k)
    st, d = h.api("GET", "/decisions")
    check(st == 422 and d["error"]["field"] == "contact_id", "decisions without contact")
    st, d = h.api("GET", "/decisions?message_id=" + first_id)
    check(st == 200 and len(d["items"]) == 1, "by message: %r" % d)
    # the timeline
    st, t = h.api("GET", "/messages?contact_id=" + cid)
    check(st == 200 and t["items"][0]["id"] == first_id and
          t["items"][0]["direction"] == "out", "timeline: %r" % t)
    # reads and decisions are audited
    n = h.query("SELECT count(*) FROM audit_log WHERE action = 'message.decide'")[0][0]
    check(n == 5, "message.decide entries: %d" % n)
    n = h.query("SELECT count(*) FROM audit_log WHERE action = 'decision.read'")[0][0]
    check(n >= 2, "decision.read entries: %d" % n)


def test_stop_from_phone(h):
    start(h)
    h.no_quiet_hours()  # business-initiated sends must go now, at any hour
    add_template(h, "promo", "MARKETING")
    sync_templates(h)
    h.sim_send(PATIENT, {"type": "text", "text": "hi"})
    rows = h.wait(lambda: h.query("SELECT id FROM contacts WHERE wa_id = ?", PATIENT),
                  "the contact was created")
    cid = rows[0][0]
    h.wait(lambda: [m for m in h.sim_messages(PATIENT) if m["from"] == "business"],
           "the welcome")
    consent(h, cid, "marketing")
    st, r = send(h, {"contact_id": cid, "purpose": "marketing",
                     "template": {"name": "promo", "language": "he", "params": ["Noa"]}})
    check(r["decision"]["outcome"] == "allow", "before STOP: %r" % r)

    h.sim_send(PATIENT, {"type": "text", "text": "STOP"})

    # one text in the contact's language (guessed from "hi": English)
    def confirmations():
        return [m for m in h.sim_messages(PATIENT) if m["from"] == "business" and
                m["type"] == "text" and "unsubscribed" in m["text"]["body"]]
    h.wait(confirmations, "the opt-out confirmation reached the phone")
    cur = h.query("SELECT status FROM consent_current WHERE contact_id = ? AND "
                  "purpose = 'marketing'", cid)
    check(cur[0][0] == "withdrawn", "marketing after STOP: %r" % cur)
    src = h.query("SELECT source, evidence FROM consents WHERE contact_id = ? AND "
                  "status = 'withdrawn'", cid)
    check(src and src[0][0] == "whatsapp" and "STOP" in src[0][1], "evidence: %r" % src)

    st, r = send(h, {"contact_id": cid, "purpose": "marketing",
                     "template": {"name": "promo", "language": "he", "params": ["Noa"]}})
    check(st == 202 and r["id"] is None and
          r["decision"]["reason"] in ("opted_out", "consent_withdrawn"), "after STOP: %r" % r)
    # STOP again: no second confirmation
    h.sim_send(PATIENT, {"type": "text", "text": "stop"})
    h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE direction = 'in' AND "
                           "contact_id = ?", cid)[0][0] == 3, "the second STOP arrived")
    h.wait(lambda: h.query("SELECT count(*) FROM webhook_log WHERE processed_at IS NULL")
           [0][0] == 0, "processed")
    check(len(confirmations()) == 1, "confirmed more than once")
    st, d = h.api("GET", "/decisions?contact_id=" + cid)
    reasons = [(i["producer"], i["outcome"]) for i in d["items"]]
    check(("optout", "allow") in reasons, "the confirmation's decision: %r" % reasons)


def test_segments_preview(h):
    h.start_sim()
    h.setup_org()
    h.start_serve()
    people = [
        ("+972521000001", "recovered patient", "completed", "granted"),
        ("+972521000002", "recovered patient", "completed", "granted"),
        ("+972521000003", "recovered patient", "completed", "refused"),
        ("+972521000004", "recovered patient", "completed", None),
        ("+972521000005", "recovered patient", "ongoing", "granted"),
        ("+972521000006", "patient", "completed", "granted"),
    ]
    for i, (phone, aud, rad, cons) in enumerate(people):
        cid = contact(h, phone, name="P%d" % i, audience=aud, tags=["radiotherapy"],
                      fields={"radiation": rad})
        if cons:
            consent(h, cid, "marketing", cons)
    seed = ('audience = "recovered patient" AND fields.radiation = completed AND '
            'consent.marketing = granted')
    st, p = h.api("POST", "/segments/preview", {"query": seed, "purpose": "marketing"})
    check(st == 200, "preview: %s %r" % (st, p))
    check(p["count"] == 2 and len(p["sample"]) == 2 and p["excluded"] == {},
          "seed segment: %r" % p)
    check(set(s["name"] for s in p["sample"]) == {"P0", "P1"}, "sample %r" % p["sample"])
    check(all(set(s) >= {"id", "name", "language"} for s in p["sample"]), "sample shape")
    st, p = h.api("POST", "/segments/preview",
                  {"query": 'audience = "recovered patient" AND tag = radiotherapy',
                   "purpose": "marketing"})
    check(st == 200 and p["count"] == 5, "wider segment: %r" % p)
    check(p["excluded"] == {"consent_refused": 1, "no_consent": 1}, "excluded: %r" % p)
    st, p = h.api("POST", "/segments/preview", {"query": "tag = radiotherapy"})
    check(st == 200 and p["count"] == 6 and "excluded" not in p, "no purpose: %r" % p)
    st, p = h.api("POST", "/segments/preview", {"query": "fileds.status = x"})
    check(st == 400 and p["error"]["code"] == "invalid_query" and
          p["error"]["field"] == "query" and p["error"]["message"].startswith("col 1: "),
          "bad query: %s %r" % (st, p))
    st, p = h.api("POST", "/segments/preview", {"query": seed, "purpose": "sales"})
    check(st == 422 and p["error"]["field"] == "purpose", "bad purpose: %s %r" % (st, p))

    # the command line prints the same
    r = h.run("segment", seed, "--purpose", "marketing", "--org", h.org_id, "--json")
    import json
    out = json.loads(r.stdout)
    check(out["count"] == 2 and out["excluded"] == {}, "cli json: %r" % out)
    r = h.run("segment", 'tag = radiotherapy', "--purpose", "marketing")
    check("count: 6" in r.stdout and "consent_refused" in r.stdout and
          "eligible: 4" in r.stdout, "cli text: %r" % r.stdout)
    r = h.run("segment", "tag = vip AND fileds.status = x", check_rc=False)
    check(r.returncode == 2 and "col 15: unknown field" in r.stderr,
          "cli bad query: %d %r" % (r.returncode, r.stderr))


if __name__ == "__main__":
    main([test_messages_shapes_and_errors, test_stop_from_phone, test_segments_preview])
