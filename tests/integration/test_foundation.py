"""Foundation integration tests: `carewire serve` and `carewire sim` on loopback.

A patient's "hi" is stored, answered, and the reply reaches `read`; a tampered
signature gives 401 and stores nothing; a duplicated webhook leaves one row;
kill -9 of the server after a webhook was acknowledged but before it was
processed → after restart it is processed exactly once.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PNID, WABA, check, main  # noqa: E402

PATIENT = "972521234567"


def inbound_payload(wamid, text="hi", wa_id=PATIENT, ts=None):
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "97235550100",
                                 "phone_number_id": PNID},
                    "contacts": [{"profile": {"name": "Noa"}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": wamid,
                                  "timestamp": str(ts or int(time.time())),
                                  "type": "text", "text": {"body": text}}],
                },
            }],
        }],
    }


def start(h, serve_env=None):
    h.start_sim()
    h.setup_org()
    h.start_serve(serve_env)
    st, _ = h.sim("PUT", "/sim/users/" + PATIENT, {"read": 1.0, "on_whatsapp": True})
    check(st in (200, 201), "simulator user set-up: %s" % st)


def test_roundtrip_hi_answered_and_read(h):
    start(h)
    sent = h.sim_send(PATIENT, {"type": "text", "text": "hi"})
    wamid = sent["id"]
    rows = h.wait(lambda: h.query("SELECT contact_id, type FROM messages WHERE wamid = ? "
                                  "AND direction = 'in'", wamid), "inbound stored")
    check(rows[0][1] == "text", "inbound type %r" % rows[0][1])
    contact = h.query("SELECT phone, wa_id, name FROM contacts WHERE id = ?", rows[0][0])
    check(contact[0][0] == "+" + PATIENT and contact[0][1] == PATIENT,
          "contact phone/wa_id: %r" % (contact,))
    out = h.wait(lambda: h.query("SELECT id, wamid, status, type FROM messages WHERE "
                                 "direction = 'out' AND status = 'read'"),
                 "the reply reached read", timeout=20)
    check(out[0][1].startswith("wamid."), "reply wamid %r" % out[0][1])
    check(out[0][3] == "interactive", "the welcome has reply buttons: %r" % out[0][3])
    times = h.query("SELECT sent_at, delivered_at, read_at FROM messages WHERE id = ?",
                    out[0][0])[0]
    check(all(times), "every status has its time: %r" % (times,))
    # the phone shows the welcome with three buttons
    phone = h.sim_messages(PATIENT)
    biz = [m for m in phone if m["from"] == "business"]
    check(biz and biz[-1]["type"] == "interactive", "phone shows the welcome: %r" % biz)
    buttons = biz[-1]["interactive"]["action"]["buttons"]
    check(len(buttons) == 3, "three buttons: %r" % buttons)
    # tapping a button is answered too
    h.sim_send(PATIENT, {"type": "button_reply", "id": buttons[0]["reply"]["id"],
                         "title": buttons[0]["reply"]["title"]})
    h.wait(lambda: len([m for m in h.sim_messages(PATIENT) if m["from"] == "business"]) == 2,
           "the tap was answered")
    # the access log carries no phone number
    with open(os.path.join(h.dir, "serve.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check(PATIENT not in log, "the server log contains the patient's number")
    check("hi\"" not in log, "the server log contains message text")


def test_tampered_signature_401_nothing_stored(h):
    start(h)
    payload = inbound_payload("wamid.tampered1")
    raw = json.dumps(payload).encode()
    st, body = h.post_webhook(raw, signature="sha256=" + "0" * 64)
    check(st == 401, "tampered signature gave %s" % st)
    check(body["error"]["code"] == "invalid_signature", "error body %r" % body)
    st, body = h.post_webhook(raw, signature="")
    check(st == 401, "missing signature gave %s" % st)
    st, _ = h.post_webhook(raw, secret="not-the-secret")
    check(st == 401, "wrong secret gave %s" % st)
    # signed body, then changed by one byte
    tampered = raw.replace(b"hi", b"ho")
    import hashlib
    import hmac
    sig = "sha256=" + hmac.new(b"it-app-secret", raw, hashlib.sha256).hexdigest()
    st, _ = h.post_webhook(tampered, signature=sig)
    check(st == 401, "body changed after signing gave %s" % st)
    time.sleep(0.3)
    check(h.query("SELECT count(*) FROM webhook_log")[0][0] == 0, "something was stored")
    check(h.query("SELECT count(*) FROM messages")[0][0] == 0, "a message was stored")


def test_duplicate_webhook_one_row(h):
    start(h)
    wamid = h.sim_send(PATIENT, {"type": "text", "text": "hello"})["id"]
    out = h.wait(lambda: h.query("SELECT wamid FROM messages WHERE direction='out' AND "
                                 "status = 'read'"), "the reply was read", timeout=20)
    # Meta retries: the very same signed body, twice more
    raw = h.query("SELECT body FROM webhook_log WHERE CAST(body AS TEXT) LIKE ?",
                  "%" + wamid + "%")
    check(len(raw) == 1, "the inbound webhook body was logged once: %d" % len(raw))
    for _ in range(2):
        st, _ = h.post_webhook(bytes(raw[0][0]))
        check(st == 200, "webhook status %s" % st)
    h.wait(lambda: h.query("SELECT count(*) FROM webhook_log WHERE processed_at IS NULL")[0][0]
           == 0, "all bodies processed")
    n = h.query("SELECT count(*) FROM messages WHERE wamid = ?", wamid)[0][0]
    check(n == 1, "%d rows for one message" % n)
    replies = h.query("SELECT count(*) FROM messages WHERE direction = 'out'")[0][0]
    check(replies == 1, "%d replies to one message" % replies)
    # a status delivered twice, and older than what we have: nothing moves back
    status = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "97235550100", "phone_number_id": PNID},
            "statuses": [{"id": out[0][0], "status": "delivered",
                          "timestamp": str(int(time.time())), "recipient_id": PATIENT}]}}]}],
    }
    before = h.query("SELECT count(*) FROM message_statuses WHERE wamid = ?", out[0][0])[0][0]
    for _ in range(2):
        st, _ = h.post_webhook(status)
        check(st == 200, "status webhook %s" % st)
    h.wait(lambda: h.query("SELECT count(*) FROM webhook_log WHERE processed_at IS NULL")[0][0]
           == 0, "statuses processed")
    st = h.query("SELECT status FROM messages WHERE wamid = ?", out[0][0])[0][0]
    check(st == "read", "status moved backwards to %r" % st)
    after = h.query("SELECT count(*) FROM message_statuses WHERE wamid = ?", out[0][0])[0][0]
    check(after == before, "a duplicate status was recorded again (%d → %d)" % (before, after))


def test_kill9_after_ack_processed_once(h):
    h.start_sim()
    h.setup_org()
    h.start_serve({"CAREWIRE_INGEST_HOLD": "1"})
    payload = inbound_payload("wamid.crash-1", "hi")
    st, _ = h.post_webhook(payload)
    check(st == 200, "webhook status %s" % st)
    rows = h.query("SELECT count(*), sum(processed_at IS NULL) FROM webhook_log")[0]
    check(rows == (1, 1), "stored but unprocessed before the crash: %r" % (rows,))
    h.kill("serve")
    check(h.query("SELECT count(*) FROM messages")[0][0] == 0, "processed before the crash")
    h.start_serve()
    h.wait(lambda: h.query("SELECT processed_at FROM webhook_log")[0][0], "processed after "
           "restart")
    time.sleep(0.5)
    n = h.query("SELECT count(*) FROM messages WHERE wamid = 'wamid.crash-1'")[0][0]
    check(n == 1, "%d rows after restart" % n)
    replies = h.query("SELECT count(*) FROM messages WHERE direction = 'out'")[0][0]
    check(replies == 1, "%d replies after restart" % replies)


def test_verify_handshake_and_bad_bodies(h):
    start(h)
    st, body = h.request("GET", h.url("/webhooks/whatsapp?hub.mode=subscribe&"
                                      "hub.verify_token=it-verify-token&hub.challenge=12345"))
    check(st == 200 and str(body) == "12345", "handshake: %s %r" % (st, body))
    st, body = h.request("GET", h.url("/webhooks/whatsapp?hub.mode=subscribe&"
                                      "hub.verify_token=wrong&hub.challenge=1"))
    check(st == 403 and body["error"]["field"] == "hub.verify_token", "bad token: %s" % st)
    for raw in [b"{\"object\":", b"[1,2", b"\xff\xfe", b"null"]:
        st, body = h.post_webhook(raw)
        check(st == 400 and body["error"]["code"] == "invalid_json",
              "malformed signed body %r gave %s %r" % (raw, st, body))
    st, body = h.request("POST", h.url("/webhooks/whatsapp"), raw=b"")
    check(st in (400, 401), "empty body gave %s" % st)
    # an oversized body is refused from its Content-Length, before it is read
    import socket
    s = socket.create_connection(("127.0.0.1", h.port))
    s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n" % (4 * 1024 * 1024))
    s.settimeout(10)
    head = s.recv(4096).decode("latin-1")
    s.close()
    check(head.startswith("HTTP/1.1 413"), "oversized body gave %r" % head[:40])
    check(h.query("SELECT count(*) FROM webhook_log")[0][0] == 0, "bad bodies were stored")
    # an invalid item among valid ones loses only itself
    p = inbound_payload("wamid.good-1", "hello")
    bad = dict(p["entry"][0]["changes"][0]["value"]["messages"][0])
    bad.update({"id": "wamid.bad-ts", "timestamp": "asdf"})
    p["entry"][0]["changes"][0]["value"]["messages"].append(bad)
    st, _ = h.post_webhook(p)
    check(st == 200, "mixed batch %s" % st)
    h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE wamid = 'wamid.good-1'")[0][0]
           == 1, "the valid item was kept")
    check(h.query("SELECT count(*) FROM messages WHERE wamid = 'wamid.bad-ts'")[0][0] == 0,
          "the invalid item was stored")
    st, body = h.request("GET", h.url("/healthz"))
    check(st == 200 and body["status"] == "ok", "healthz %s %r" % (st, body))
    st, body = h.request("GET", h.url("/metrics"))
    check(st == 200 and "carewire_webhooks_accepted_total" in body, "metrics")


if __name__ == "__main__":
    main([test_roundtrip_hi_answered_and_read, test_tampered_signature_401_nothing_stored,
          test_duplicate_webhook_one_row, test_kill9_after_ack_processed_once,
          test_verify_handshake_and_bad_bodies])
