"""Integration tests of the outbound pipeline (issue 4): the real `carewire
serve` dispatching to the real `carewire sim`, with messages queued by
tests/integration/outbox_load (outbox_enqueue_tx, as a producer).

    python3 test_dispatch.py CAREWIRE_BINARY OUTBOX_LOAD_BINARY

CW_IT_DISPATCH_N sets the batch of the fault test (default 10000).

What each test costs, and why (the file runs in the gcc and the ASan build
in CI): the fault test is bound by the rate (10,000 messages plus ~15 %
retries at 1,000/s, halved while 130429s come: about 25 s); the crash test
sends 2,000 at 500/s with a 3 s grace period; the 100,000 marketing rows of
the reminder test are made by `outbox_load --clone` (the producer's row
copied inside SQLite: about 3 s, against 11 to 14 s through the producer,
36 s under ASan, on the loaded test machine).
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, check, main  # noqa: E402

LOADER = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
BATCH = int(os.environ.get("CW_IT_DISPATCH_N", "10000"))
MAX_UNRECORDED = 1024  # DISPATCH_UNRECORDED_MAX in src/core/dispatch.c
PNID = "106540352242922"

# The simulator holds a request for its latency fault on an HTTP thread:
# give both processes enough of them.
os.environ["CAREWIRE_SERVER_THREADS"] = "32"


def setup(h, rate):
    h.start_sim("--auto-users")
    h.setup_org()
    con = sqlite3.connect(h.db, timeout=10)
    con.execute("UPDATE numbers SET rate_mps = ?", (rate,))
    con.commit()
    h.number_id = con.execute("SELECT id FROM numbers").fetchone()[0]
    con.close()
    for name, cat in (("promo", "MARKETING"), ("reminder", "UTILITY")):
        st, body = h.sim("POST", "/sim/templates", {
            "name": name, "language": "he", "category": cat, "status": "APPROVED",
            "components": [{"type": "BODY", "text": "Hello from the clinic"}]})
        check(st in (200, 201), "template %s: %s %s" % (name, st, body))


def load(h, count, prio, purpose, template, first_user, users, prefix, clone=False):
    r = subprocess.run([LOADER] + (["--clone"] if clone else []) +
                       ["sqlite:" + h.db, h.org_id, h.number_id, str(count), str(prio),
                        purpose, template, str(first_user), str(users), prefix],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "outbox_load: %s" % r.stderr)
    return r.stdout.split()


def stats(h):
    st, body = h.sim("GET", "/sim/stats")
    check(st == 200, "sim stats: %s" % st)
    return body


def count(h, sql, *args):
    return h.query(sql, *args)[0][0]


def metrics(h):
    """GET /metrics as {name_with_labels: value}."""
    st, text = h.request("GET", h.url("/metrics"))
    check(st == 200 and isinstance(text, str), "metrics: %s" % st)
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_faults_every_message_once_within_rate(h):
    """10 % 429s, 5 % 500s and random latency: every message of the batch is
    accepted exactly once, and no second of the simulator's count goes over
    the configured rate by more than 2 %."""
    rate = 1000
    setup(h, rate)
    st, _ = h.sim("POST", "/sim/faults", {"http_429": 0.10, "http_5xx": 0.05,
                                         "latency_ms": 20})
    check(st == 200, "faults: %s" % st)
    load(h, BATCH, 1, "marketing", "promo", 1, BATCH, "it:faults")
    t0 = time.time()
    h.start_serve({"CAREWIRE_DISPATCH_DELAY_SCALE": "0.05", "CAREWIRE_LOG_LEVEL": "warn"})
    h.wait(lambda: count(h, "SELECT count(*) FROM outbox WHERE state = 'sent'") == BATCH,
           "all %d sent" % BATCH, timeout=120)
    took = time.time() - t0
    s = stats(h)
    check(s["accepted_total"] == BATCH,
          "the simulator accepted %d, not %d" % (s["accepted_total"], BATCH))
    per = s["by_number"][PNID]["per_second"]
    most = max(c for _, c in per)
    check(most <= rate * 1.02, "%d in one second at %d/s" % (most, rate))
    check(s["rejected"]["429"] > 0 and s["rejected"]["5xx"] > 0, "faults were injected")
    check(count(h, "SELECT count(DISTINCT wamid) FROM outbox") == BATCH, "one wamid each")
    check(count(h, "SELECT count(*) FROM messages WHERE direction = 'out' AND wamid IS NULL")
          == 0, "every messages row has its wamid")
    # /metrics tells the same story (read as the last rows turn "sent": a
    # row whose webhook overtook its answer may not be in sent_total yet)
    m = metrics(h)
    check(0 < m["carewire_dispatch_sent_total"] <= BATCH and
          m["carewire_dispatch_claimed_total"] >= BATCH and
          m["carewire_dispatch_retried_total"] > 0 and
          m["carewire_dispatch_requests_total"] >= BATCH + m["carewire_dispatch_retried_total"] and
          m["carewire_dispatch_failed_total"] == 0 and
          m['carewire_dispatch_number_paused{number="%s"}' % h.number_id] == 0,
          "metrics: %s" % {k: v for k, v in m.items() if "dispatch" in k})
    print("     %d messages in %.1f s; busiest second %d; 429s %d, 5xx %d" %
          (BATCH, took, most, s["rejected"]["429"], s["rejected"]["5xx"]))


def test_kill9_during_dispatch(h):
    """kill -9 of the server in the middle of a batch, restart: every message
    is sent, and no more go twice than were in flight.

    In flight at the kill, exactly: the messages the simulator had accepted
    whose "sent" was not on disk yet (requests running, and answers the
    keeper had not committed). Only those may go twice; a message recorded
    as sent, or one claimed but never requested, must go once."""
    n, rate = 2000, 500
    setup(h, rate)
    load(h, n, 1, "marketing", "promo", 1, n, "it:kill")
    # The grace period lets the status webhooks of the requests that were in
    # flight (retried by the simulator from 0.5 s on) name their rows.
    env = {"CAREWIRE_DISPATCH_GRACE_MS": "3000", "CAREWIRE_LOG_LEVEL": "warn"}
    h.start_serve(env)
    h.wait(lambda: stats(h)["accepted_total"] >= n // 4, "a quarter accepted", timeout=60)
    h.kill("serve")
    time.sleep(0.2)  # a request the simulator had read when we died still counts
    before = stats(h)["accepted_total"]
    recorded = count(h, "SELECT count(*) FROM outbox WHERE state = 'sent'")
    sending = count(h, "SELECT count(*) FROM outbox WHERE state = 'sending'")
    inflight = before - recorded
    check(0 <= inflight <= min(sending, MAX_UNRECORDED),
          "accepted %d, recorded %d, sending %d" % (before, recorded, sending))
    h.start_serve(env)
    h.wait(lambda: count(h, "SELECT count(*) FROM outbox WHERE state = 'sent'") == n,
           "all %d sent after the restart" % n, timeout=120)
    accepted = stats(h)["accepted_total"]
    dups = accepted - n
    check(dups >= 0, "fewer accepted (%d) than messages (%d)" % (accepted, n))
    check(dups <= inflight, "%d went twice; %d were in flight" % (dups, inflight))
    check(count(h, "SELECT count(*) FROM outbox WHERE state <> 'sent'") == 0, "nothing lost")
    print("     killed at %d accepted, %d recorded (%d in flight, %d rows sending); "
          "%d duplicates" % (before, recorded, inflight, sending, dups))


def test_reminder_behind_100k_marketing(h):
    """A reminder queued behind 100,000 marketing messages leaves within a
    second."""
    setup(h, 80)
    load(h, 100000, 1, "marketing", "promo", 1, 20000, "it:bulk", clone=True)
    check(count(h, "SELECT count(*) FROM outbox WHERE priority = 1 AND state = 'queued'")
          == 100000, "100,000 marketing messages queued")
    # the copies are the producer's row with their own id and recipient
    row = h.query("SELECT o.id, o.payload, m.payload, m.biz_opaque FROM outbox o "
                  "JOIN messages m ON m.id = o.id WHERE o.idem_key = 'it:bulk:54321'")
    body = json.loads(row[0][1])
    check(body["biz_opaque_callback_data"] == row[0][0] == row[0][3] and
          body["to"] == "972500014322" and json.loads(row[0][2]) == body and
          body["template"]["name"] == "promo", "a copied row: %s" % (row,))
    h.start_serve({"CAREWIRE_LOG_LEVEL": "warn"})
    h.wait(lambda: stats(h)["accepted_total"] >= 100, "the campaign is going", timeout=30)
    t0 = time.time()
    out = load(h, 1, 0, "reminders", "reminder", 9000001, 1, "it:reminder")
    rid = out[1]
    h.wait(lambda: count(h, "SELECT count(*) FROM outbox WHERE id = ? AND state = 'sent'",
                         rid) == 1, "the reminder sent", timeout=5)
    took = time.time() - t0
    created, sent = h.query("SELECT created_at, sent_at FROM outbox WHERE id = ?", rid)[0]
    check(sent - created < 1000, "the reminder waited %d ms" % (sent - created))
    msgs = h.sim_messages("972509000001")
    check(len(msgs) == 1 and msgs[0]["biz_opaque_callback_data"] == rid,
          "the phone shows the reminder")
    left = count(h, "SELECT count(*) FROM outbox WHERE priority = 1 AND state <> 'sent'")
    check(left > 90000, "the campaign was still queued (%d left)" % left)
    print("     reminder accepted %d ms after it was queued (%.2f s seen from here)" %
          (sent - created, took))


def test_templates_and_windows_api(h):
    """POST /api/v1/templates registers and submits a template; the status
    webhook makes it APPROVED; GET lists it. GET /api/v1/windows shows the
    24-hour window an inbound message opened, with its expiry."""
    setup(h, 80)
    h.start_serve()
    tpl = {"name": "appt_reminder", "language": "he", "category": "UTILITY",
           "components": [{"type": "BODY", "text": "תזכורת: {{1}} ב-{{2}}",
                           "example": {"body_text": [["ד\"ר כהן", "10:00"]]}}]}
    st, body = h.api("POST", "/templates", tpl)
    check(st == 201, "create: %s %s" % (st, body))
    check(body["status"] == "PENDING" and body["body_params"] == 2, "created: %s" % body)
    st, body = h.api("POST", "/templates", tpl)
    check(st == 409, "the same template twice: %s %s" % (st, body))
    promo = dict(tpl, name="order_ready",
                 components=[{"type": "BODY", "text": "Your order is ready. 20% off today!"}])
    st, body = h.api("POST", "/templates", promo)
    check(st == 422 and body["error"]["code"] == "promotional_in_utility",
          "promotion in a utility template: %s %s" % (st, body))

    def approved():
        st, body = h.api("GET", "/templates?status=APPROVED")
        return st == 200 and [t for t in body["items"] if t["name"] == "appt_reminder"]
    got = h.wait(approved, "the approval webhook", timeout=15)
    check(got[0]["language"] == "he" and got[0]["category"] == "UTILITY", "listed: %s" % got)
    st, body = h.api("GET", "/templates")
    check(st == 200 and {"promo", "reminder", "appt_reminder"} <=
          {t["name"] for t in body["items"]}, "synchronised at start and created: %s" % body)

    h.sim_send("972521234567", {"type": "text", "text": "hi"})
    cid = h.wait(lambda: h.query("SELECT id FROM contacts WHERE wa_id = '972521234567'"),
                 "the contact")[0][0]
    h.wait(lambda: h.query("SELECT 1 FROM windows WHERE contact_id = ?", cid), "the window")
    st, body = h.api("GET", "/windows?contact_id=" + cid)
    check(st == 200 and len(body["items"]) == 1, "windows: %s %s" % (st, body))
    w = body["items"][0]
    check(w["open"] is True and w["number_id"] == h.number_id, "open window: %s" % w)
    check(23 * 3600 < w["remaining_seconds"] <= 24 * 3600, "expires in 24 h: %s" % w)
    st, body = h.api("GET", "/windows?contact_id=nope")
    check(st == 422, "a bad contact id: %s" % st)


if __name__ == "__main__":
    main([test_faults_every_message_once_within_rate, test_kill9_during_dispatch,
          test_reminder_behind_100k_marketing, test_templates_and_windows_api])
