"""Shared-inbox integration tests: `carewire serve` and `carewire sim` on loopback.

A patient's question lands in a conversation; an agent's reply goes through the
send path to the phone and ends the waiting period (first-response time); the bot's
"Talk to us" button is a handoff; assignment, closing and reopening; free text
outside the 24-hour window is refused with 422 and the approved templates to use
instead, and a template goes; out of business hours the patient is told when the
team answers, once; a viewer sees no message texts; reads and changes are audited;
no message text reaches the log.
"""
import datetime
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PNID, WABA, check, main  # noqa: E402

PATIENT = "972521234567"
QUESTION = "Can I move my appointment to Tuesday afternoon?"
ANSWER = "Yes, Tuesday at 15:30 with Dr. Levi is free for you."


def start(h):
    h.start_sim()
    h.setup_org()
    h.start_serve()
    st, _ = h.sim("PUT", "/sim/users/" + PATIENT, {"read": 1.0, "on_whatsapp": True})
    check(st in (200, 201), "simulator user set-up: %s" % st)


def business_texts(h, wa_id):
    out = []
    for m in h.sim_messages(wa_id):
        if m["from"] != "business":
            continue
        body = m.get("text")
        if isinstance(body, dict):
            body = body.get("body")
        if body is None and m.get("rendered"):
            body = m["rendered"].get("body")
        if body is None and m.get("interactive"):
            body = m["interactive"].get("body", {}).get("text")
        out.append(body or "")
    return out


def conversations(h, query=""):
    st, body = h.api("GET", "/conversations" + query)
    check(st == 200, "list: %s %s" % (st, body))
    return body["items"]


def one_conversation(h, query=""):
    items = conversations(h, query)
    return items[0] if len(items) == 1 else None


def ask_question(h, wa_id=PATIENT, text=QUESTION):
    """A first "hi" (the bot welcomes), then a question the bot leaves to people."""
    h.sim_send(wa_id, {"type": "text", "text": "hi"})
    h.wait(lambda: len(business_texts(h, wa_id)) >= 1, "the welcome")
    h.sim_send(wa_id, {"type": "text", "text": text})
    return h.wait(lambda: one_conversation(h), "the question landed in the inbox")


def key_id(h, key):
    prefix = key.split("_")[1]
    return h.query("SELECT id FROM api_keys WHERE prefix = ?", prefix)[0][0]


def test_question_reply_and_first_response(h):
    start(h)
    conv = ask_question(h)
    check(conv["status"] == "open" and conv["handoff"] == "unhandled",
          "a new open conversation: %r" % conv)
    check(conv["assignee"] is None and conv["unread"] == 1, "unassigned, unread: %r" % conv)
    check(conv["waiting_since"] and conv["first_response_due"], "waiting: %r" % conv)
    check(conv["last_message"]["preview"] == QUESTION, "the preview: %r" % conv["last_message"])
    check(conv["window"]["open"] is True, "the window is open: %r" % conv["window"])
    check(conv["contact"]["language"] == "en", "contact: %r" % conv["contact"])
    cid = conv["id"]

    # the thread: the question, the bot's welcome, the person's hi
    st, t = h.api("GET", "/conversations/" + cid)
    check(st == 200, "thread: %s %s" % (st, t))
    kinds = [(m["direction"], m["by"]["kind"]) for m in t["messages"]]
    check(kinds[:3] == [("in", "patient"), ("out", "bot"), ("in", "patient")],
          "thread order and senders: %r" % kinds)
    check(t["messages"][0]["text"] == QUESTION, "the question's text: %r" % t["messages"][0])
    check(t["messages"][1]["decision"]["outcome"] == "allow", "the welcome's decision")
    check(isinstance(t["templates"], list), "templates offered: %r" % t.get("templates"))

    # the agent answers: it reaches the phone
    st, r = h.request("POST", h.url("/api/v1/conversations/%s/messages" % cid),
                      {"text": ANSWER}, {"Authorization": "Bearer " + h.api_key,
                                         "Idempotency-Key": "reply-1"})
    check(st == 202 and r["decision"]["outcome"] == "allow", "reply: %s %s" % (st, r))
    check(r["conversation"]["status"] == "pending", "pending after the reply: %r" % r)
    h.wait(lambda: ANSWER in business_texts(h, PATIENT), "the answer on the phone")
    # the same request again is the same message
    st, again = h.request("POST", h.url("/api/v1/conversations/%s/messages" % cid),
                          {"text": ANSWER}, {"Authorization": "Bearer " + h.api_key,
                                             "Idempotency-Key": "reply-1"})
    check(st == 202 and again["id"] == r["id"] and again["duplicate"] is True,
          "a retried reply: %s %r" % (st, again))
    time.sleep(0.5)
    check(business_texts(h, PATIENT).count(ANSWER) == 1, "the answer went twice")

    conv = one_conversation(h)
    me = key_id(h, h.api_key)
    check(conv["assignee"]["id"] == me, "the one who answered took it: %r" % conv["assignee"])
    check(conv["waiting_since"] is None and conv["first_response_at"], "answered: %r" % conv)
    check(conv["unread"] == 0, "nothing unread after the reply")
    check(conversations(h, "?assignee=me")[0]["id"] == cid, "assignee=me")
    check(conversations(h, "?assignee=unassigned") == [], "nobody unassigned")
    check(conversations(h, "?status=open") == [], "nothing open")

    st, s = h.api("GET", "/conversations/stats")
    check(st == 200, "stats: %s %s" % (st, s))
    frt = s["first_response"]
    check(frt["count"] == 1 and frt["within_target_share"] == 1.0 and frt["target_seconds"] == 360,
          "first response figures: %r" % frt)
    check(frt["median_seconds"] is not None and frt["median_seconds"] < 60, "median: %r" % frt)
    check(s["pending"] == 1 and s["open"] == 0 and s["waiting"] == 0, "counts: %r" % s)

    # "Talk to us": a handoff, open and waiting again
    h.sim_send(PATIENT, {"type": "button_reply", "id": "menu.human", "title": "Talk to us"})
    conv = h.wait(lambda: (lambda c: c if c and c["status"] == "open" else None)(
        one_conversation(h)), "the handoff reopened the wait")
    check(conv["handoff"] == "button" and conv["id"] == cid, "handoff: %r" % conv)
    check(conv["waiting_since"], "a new waiting period")

    # assignment, closing, reopening
    st, body = h.api("POST", "/conversations/%s/assign" % cid, {"agent_id": None})
    check(st == 200 and body["conversation"]["assignee"] is None, "unassign: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/assign" % cid, {"agent_id": "01" + "X" * 24})
    check(st == 422 and body["error"]["field"] == "agent_id", "bad assignee: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/assign" % cid, {})
    check(st == 422, "assign without agent_id: %s" % st)
    st, body = h.api("POST", "/conversations/%s/close" % cid)
    check(st == 200 and body["conversation"]["status"] == "closed", "close: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/close" % cid)
    check(st == 409, "close twice: %s" % st)
    st, body = h.api("POST", "/conversations/%s/messages" % cid, {"text": "hello?"})
    check(st == 409, "reply to a closed conversation: %s %s" % (st, body))
    check(conversations(h) == [] and len(conversations(h, "?status=closed")) == 1,
          "closed ones are listed only when asked")
    st, body = h.api("POST", "/conversations/%s/reopen" % cid)
    check(st == 200 and body["conversation"]["status"] == "open", "reopen: %s %s" % (st, body))
    st, _ = h.api("GET", "/conversations/01" + "Z" * 24)
    check(st == 404, "unknown conversation: %s" % st)
    st, _ = h.api("GET", "/conversations?status=maybe")
    check(st == 422, "bad status filter: %s" % st)

    # audited, with ids and never the text; and no text in the log
    acts = dict(h.query("SELECT action, count(*) FROM audit_log WHERE action LIKE "
                        "'conversation.%' GROUP BY action"))
    for a in ("conversation.list", "conversation.read", "conversation.reply",
              "conversation.assign", "conversation.close", "conversation.reopen"):
        check(acts.get(a), "no audit entry %s: %r" % (a, acts))
    check(h.query("SELECT count(*) FROM audit_log WHERE detail LIKE '%Tuesday%'")[0][0] == 0,
          "message text in the audit log")
    with open(os.path.join(h.dir, "serve.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check("Tuesday" not in log and PATIENT not in log, "the log carries a text or a number")


def old_message(wamid, text, ts, wa_id=PATIENT):
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "97235550100", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Noa"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text",
                          "text": {"body": text}}]}}]}],
    }


def test_window_closed_offers_templates(h):
    start(h)
    h.no_quiet_hours()  # business-initiated sends must go now, at any hour
    # a template the reply box can offer, approved by the simulator
    st, body = h.api("POST", "/templates", {
        "name": "we_are_here", "language": "en", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello, this is your clinic. Reply to this "
                        "message to continue the conversation with our team."}]})
    check(st in (200, 201), "template created: %s %s" % (st, body))
    h.wait(lambda: h.query("SELECT status FROM templates WHERE name = 'we_are_here'")[0][0]
           == "APPROVED", "the template was approved", timeout=20)

    # the person wrote 25 hours ago: the window has closed
    ts = int(time.time()) - 25 * 3600
    for i, text in enumerate(("hi", QUESTION)):
        st, _ = h.post_webhook(old_message("wamid.old-%d" % i, text, ts + i))
        check(st == 200, "webhook: %s" % st)
    conv = h.wait(lambda: one_conversation(h), "the old question landed")
    check(conv["window"]["open"] is False, "the window is closed: %r" % conv["window"])
    cid = conv["id"]

    st, body = h.api("POST", "/conversations/%s/messages" % cid, {"text": ANSWER})
    check(st == 422, "free text outside the window: %s %s" % (st, body))
    check(body["error"]["code"] == "window_closed" and body["error"]["field"] == "text",
          "the error: %r" % body["error"])
    check("template" in body["error"]["message"], "the message says what to do: %r" % body)
    check(body["decision"]["outcome"] == "deny", "the stored decision: %r" % body["decision"])
    names = [t["name"] for t in body["templates"]]
    check(names == ["we_are_here"], "the templates to offer: %r" % body["templates"])
    check(body["templates"][0]["matches_language"] is True, "in the contact's language")
    conv = one_conversation(h)
    check(conv["status"] == "open" and conv["waiting_since"], "a refusal changes nothing")

    # the thread shows the refused attempt
    st, t = h.api("GET", "/conversations/" + cid)
    check(t["messages"][0]["kind"] == "refused" and
          t["messages"][0]["by"]["kind"] == "agent", "the refused attempt: %r" % t["messages"][0])

    # a template needs consent for service messages outside the window
    contact = conv["contact"]["id"]
    st, body = h.api("POST", "/contacts/%s/consents" % contact,
                     {"purpose": "service", "status": "granted", "source": "whatsapp"})
    check(st == 201, "consent: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/messages" % cid,
                     {"template": {"name": "we_are_here", "params": ["x"]}})
    check(st == 422 and body["error"]["field"].startswith("template"),
          "a parameter the template has not: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/messages" % cid,
                     {"template": {"name": "no_such"}})
    check(st == 422 and body["error"]["field"] == "template.name", "unknown: %s %s" % (st, body))
    st, body = h.api("POST", "/conversations/%s/messages" % cid, {"text": "a", "template": {}})
    check(st == 422, "text and template: %s" % st)
    st, body = h.api("POST", "/conversations/%s/messages" % cid,
                     {"template": {"name": "we_are_here"}})
    check(st == 202 and body["decision"]["outcome"] == "allow", "template: %s %s" % (st, body))
    h.wait(lambda: any("continue the conversation" in (x or "") for x in
                       business_texts(h, PATIENT)), "the template on the phone")
    check(body["conversation"]["status"] == "pending", "answered by a template")


def test_out_of_hours_reply_once(h):
    start(h)
    # open one hour a week, three days from today (UTC): closed now
    today = datetime.datetime.now(datetime.timezone.utc)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(today.weekday() + 3) % 7]
    st, body = h.api("PUT", "/settings/hours", {"time_zone": "UTC",
                                                "week": {day: "08:00-09:00"}})
    check(st == 200, "hours: %s %s" % (st, body))
    check(body["enabled"] is True and body["open_now"] is False and body["next_open"],
          "closed now: %r" % body)
    check(body["week"][day] == "08:00-09:00" and body["first_response_target_minutes"] == 6,
          "the stored week: %r" % body)
    st, got = h.api("GET", "/settings/hours")
    check(st == 200 and got["week"] == body["week"], "read back: %s %r" % (st, got))
    st, bad = h.api("PUT", "/settings/hours", {"week": {"fri": "8 to 1"}})
    check(st == 422 and bad["error"]["field"] == "week.fri", "a bad day: %s %s" % (st, bad))
    st, bad = h.api("PUT", "/settings/hours", {"time_zone": "Nowhere/City",
                                               "week": {"fri": "08:00-13:00"}})
    check(st == 422 and bad["error"]["field"] == "time_zone", "a bad zone: %s %s" % (st, bad))
    viewer = h.run("apikey", "create", "--org", h.org_id, "--role", "viewer").stdout.strip()
    st, _ = h.request("PUT", h.url("/api/v1/settings/hours"), {"week": {day: "08:00-09:00"}},
                      {"Authorization": "Bearer " + viewer})
    check(st == 403, "a viewer changes no hours: %s" % st)

    ask_question(h)
    h.wait(lambda: any("We answer" in x for x in business_texts(h, PATIENT)),
           "the out-of-hours reply")
    texts = [x for x in business_texts(h, PATIENT) if "We answer" in x]
    check(len(texts) == 1, "one reply: %r" % texts)
    full = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat",
            "sun": "Sun"}[day]
    check("%s 8:00" % full in texts[0] and "by 9:00" in texts[0],
          "when the team answers: %r" % texts[0])
    conv = one_conversation(h)
    check(conv["auto_replied"] is True and conv["status"] == "open", "still waiting: %r" % conv)
    # another message the same night: no second reply
    h.sim_send(PATIENT, {"type": "text", "text": "Anyone there?"})
    h.wait(lambda: one_conversation(h)["unread"] == 2, "the second message landed")
    time.sleep(0.5)
    texts = [x for x in business_texts(h, PATIENT) if "We answer" in x]
    check(len(texts) == 1, "a second out-of-hours reply: %r" % texts)
    # the out-of-hours reply is no first response
    st, s = h.api("GET", "/conversations/stats")
    check(s["first_response"]["count"] == 0 and s["waiting"] == 1, "figures: %r" % s)


def test_viewer_sees_no_texts(h):
    start(h)
    ask_question(h)
    viewer = h.run("apikey", "create", "--org", h.org_id, "--role", "viewer").stdout.strip()
    auth = {"Authorization": "Bearer " + viewer}
    st, body = h.request("GET", h.url("/api/v1/conversations"), headers=auth)
    check(st == 200 and body["items"][0]["last_message"]["preview"] is None,
          "a viewer's list: %s %r" % (st, body))
    cid = body["items"][0]["id"]
    st, t = h.request("GET", h.url("/api/v1/conversations/" + cid), headers=auth)
    check(st == 200 and all("text" not in m for m in t["messages"]), "a viewer's thread")
    check(QUESTION not in json.dumps(t), "the question reached a viewer")
    st, _ = h.request("POST", h.url("/api/v1/conversations/%s/messages" % cid),
                      {"text": "x"}, auth)
    check(st == 403, "a viewer cannot answer: %s" % st)
    st, _ = h.request("POST", h.url("/api/v1/conversations/%s/close" % cid), headers=auth)
    check(st == 403, "a viewer cannot close: %s" % st)
    st, _ = h.request("GET", h.url("/api/v1/conversations"))
    check(st == 401, "no key: %s" % st)
    # the unread count stays for the people of the team (an API key read it)
    check(one_conversation(h)["unread"] == 1, "a program's read cleared unread")


def test_signed_in_agent(h):
    start(h)
    pw = os.path.join(h.dir, "pw")
    with open(pw, "w") as f:
        f.write("password of the nurse\n")
    agent_id = h.run("agent", "create", "--org", h.org_id, "--email", "nurse@clinic.example",
                     "--role", "agent", "--password-file", pw).stdout.strip()
    import urllib.request
    req = urllib.request.Request(h.url("/api/v1/auth/login"), method="POST", data=json.dumps(
        {"email": "nurse@clinic.example", "password": "password of the nurse"}).encode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        login = json.loads(r.read())
        cookie = re.match(r"(cw_session=[0-9a-f]+);", r.headers.get("Set-Cookie")).group(1)
    csrf = login["csrf_token"]
    conv = ask_question(h)
    cid = conv["id"]
    # reading the thread as a person clears the unread count
    st, t = h.request("GET", h.url("/api/v1/conversations/" + cid), headers={"Cookie": cookie})
    check(st == 200 and t["conversation"]["unread"] == 0, "read: %s %r" % (st, t))
    check(one_conversation(h)["unread"] == 0, "unread cleared")
    # taking it and answering as the agent
    st, body = h.request("POST", h.url("/api/v1/conversations/%s/assign" % cid),
                         {"agent_id": agent_id}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    check(st == 200 and body["conversation"]["assignee"]["id"] == agent_id,
          "assign: %s %s" % (st, body))
    st, body = h.request("POST", h.url("/api/v1/conversations/%s/messages" % cid),
                         {"text": ANSWER}, {"Cookie": cookie})
    check(st == 403, "a change without the CSRF token: %s" % st)
    st, body = h.request("POST", h.url("/api/v1/conversations/%s/messages" % cid),
                         {"text": ANSWER}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    check(st == 202, "answer: %s %s" % (st, body))
    st, t = h.request("GET", h.url("/api/v1/conversations/" + cid), headers={"Cookie": cookie})
    by = t["messages"][0]["by"]
    check(by == {"kind": "agent", "id": agent_id}, "the answer is the agent's: %r" % by)
    check(conversations(h, "?assignee=" + agent_id)[0]["id"] == cid, "assignee=ID")
    actors = [r[0] for r in h.query("SELECT DISTINCT actor FROM audit_log WHERE action = "
                                    "'conversation.reply'")]
    check(actors == ["agent:" + agent_id], "the reply is audited as the agent's: %r" % actors)
    # every resource names the person, not a key: a contact read, and a
    # contact changed by an event the agent posted
    contact_id = conv["contact"]["id"]
    st, _ = h.request("GET", h.url("/api/v1/contacts/" + contact_id), headers={"Cookie": cookie})
    check(st == 200, "contact read: %s" % st)
    st, body = h.request("POST", h.url("/api/v1/events"),
                         {"type": "visit.completed", "contact": {"phone": "+" + PATIENT}},
                         {"Cookie": cookie, "X-CSRF-Token": csrf})
    check(st in (200, 201, 202), "event: %s %s" % (st, body))
    for action in ("contact.read", "contact.update"):
        actors = [r[0] for r in h.query("SELECT DISTINCT actor FROM audit_log WHERE action = ?",
                                        action)]
        check(actors == ["agent:" + agent_id], "%s audited as the agent's: %r" % (action, actors))


if __name__ == "__main__":
    main([test_question_reply_and_first_response, test_window_closed_offers_templates,
          test_out_of_hours_reply_once, test_viewer_sees_no_texts, test_signed_in_agent])
