"""`carewire demo` end to end: one process on a free loopback port with a
temporary --data-dir, found by reading its banner (the API key, the journey
library loaded).

The demo clinic runs the journey library: the event RSVP is started for the
seeded recovered patient (Noa) through the API; her 24-hour window is closed,
so the invitation goes as the approved template, known to both the simulator
and carewire's registry; she taps "I'll come" on the simulated phone and gets
the confirmation with the parking and the directions, and the venue's
location. A second start on the same data dir defines no new journey
versions.

Noa gets a time zone where it is early afternoon now, so that quiet hours
(policy reads them from the real clock) never hold the invitation back.
"""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, check, main  # noqa: E402

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "journeys")
NOA = "972521234567"  # src/core/demo.c: a recovered patient, marketing consent granted
PARKING = "Parking is free in lot B."


def afternoon_zone():
    """An Etc/GMT zone where it is about 13:00 now."""
    hour = datetime.now(timezone.utc).hour
    off = (13 - hour) % 24
    if off > 14:
        off -= 24
    return "Etc/GMT%+d" % (-off) if off else "Etc/UTC"


def start_demo(h):
    """Starts `carewire demo` and returns what its banner says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWIRE_")}
    env["CAREWIRE_JOURNEYS_DIR"] = os.path.abspath(LIBRARY)
    env["CAREWIRE_LOG_LEVEL"] = os.environ.get("CAREWIRE_LOG_LEVEL", "info")
    out_path = os.path.join(h.dir, "banner.txt")
    out = open(out_path, "wb")
    log = open(os.path.join(h.dir, "demo.log"), "ab")
    p = subprocess.Popen([h.binary, "demo", "--listen", "127.0.0.1:%d" % h.port,
                          "--data-dir", os.path.join(h.dir, "data")],
                         env=env, stdout=out, stderr=log, stdin=subprocess.DEVNULL)
    out.close()
    h.procs["demo"] = p
    h.logs["demo"] = log
    end = time.time() + 30
    text = ""
    while "Press Ctrl-C" not in text:
        if p.poll() is not None:
            raise Failure("carewire demo exited %d" % p.returncode)
        if time.time() > end:
            raise Failure("no banner: %r" % text)
        time.sleep(0.05)
        with open(out_path, encoding="utf-8") as f:
            text = f.read()
    banner = {}
    for line in text.splitlines():
        if line.strip().startswith("API key:"):
            banner["key"] = line.split()[2]
        if "journeys:" in line:
            banner["journeys"] = int(line.split("journeys:")[1].split()[0])
    check("key" in banner and "journeys" in banner, "the banner: %r" % text)
    h.api_key = banner["key"]
    h.sim_port = h.port  # the simulator is under /sim on the same port
    h.db = os.path.join(h.dir, "data", "carewire.db")
    return banner


def stop_demo(h):
    p = h.procs.pop("demo")
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=20) == 0, "the demo did not stop cleanly")


def contact_id(h, wa_id):
    st, r = h.api("GET", "/contacts?limit=200")
    check(st == 200, "contacts: %s %r" % (st, r))
    ids = [c["id"] for c in r["items"] if c["wa_id"] == wa_id]
    check(len(ids) == 1, "the seeded patient %s: %r" % (wa_id, r))
    return ids[0]


def business(h, wa_id):
    return [m for m in h.sim_messages(wa_id) if m["from"] == "business"]


def test_rsvp_on_the_demo(h):
    banner = start_demo(h)
    library = len([f for f in os.listdir(LIBRARY) if f.endswith(".json")])
    check(banner["journeys"] == library, "journeys loaded: %r of %d" % (banner, library))
    st, js = h.api("GET", "/journeys")
    check(st == 200 and "event_rsvp" in [j["key"] for j in js["items"]], "journeys %r" % js)
    # the templates the library falls back on: approved in carewire's registry
    st, ts = h.api("GET", "/templates")
    items = ts["items"] if isinstance(ts, dict) else ts
    approved = {(t["name"], t["language"]) for t in items if t["status"] == "APPROVED"}
    check(("event_invite", "he") in approved and ("event_reminder", "ru") in approved,
          "approved templates: %s %r" % (st, sorted(approved)))

    noa = contact_id(h, NOA)
    st, c = h.api("PATCH", "/contacts/" + noa, {"time_zone": afternoon_zone()})
    check(st == 200, "time zone: %s %r" % (st, c))
    starts = datetime.now(timezone.utc) + timedelta(days=4)
    vars_ = {"event_id": "lecture-11", "event_name": "Life after treatment",
             "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"), "venue": "Hall A",
             "parking": PARKING, "maps_url": "https://maps.example/hall-a",
             "latitude": "32.08", "longitude": "34.78", "address": "1 Weizmann St"}
    st, r = h.api("POST", "/journeys/event_rsvp/start", {"contact_id": noa, "vars": vars_})
    check(st == 202 and r["state"] == "waiting", "start: %s %r" % (st, r))

    # she never wrote: the approved template goes, in Hebrew, with its buttons
    inv = h.wait(lambda: business(h, NOA), "the invitation")[0]
    check(inv["type"] == "template" and inv["template"]["name"] == "event_invite" and
          inv["template"]["language"]["code"] == "he", "invitation %r" % inv)
    shown = json.dumps(inv, ensure_ascii=False)
    check("Life after treatment" in shown and "אגיע" in shown, "as the phone shows it %r" % inv)

    h.sim_send(NOA, {"type": "button_reply", "id": "rsvp.yes", "title": "אגיע"})
    msgs = h.wait(lambda: (lambda b: b if len(b) >= 3 else None)(business(h, NOA)),
                  "the confirmation and the location")
    texts = [m["text"]["body"] for m in msgs if m["type"] == "text"]
    check(len(texts) == 1 and PARKING in texts[0] and "https://maps.example/hall-a" in texts[0],
          "the parking message %r" % msgs)
    locs = [m for m in msgs if m["type"] == "location"]
    check(len(locs) == 1 and locs[0]["location"]["name"] == "Hall A", "location %r" % msgs)
    run = h.query("SELECT state, step FROM journey_runs WHERE id = ?", r["run_id"])
    check(run == [("waiting", "wait_day_before")], "run %r" % run)
    tags = h.query("SELECT tag FROM contact_tags WHERE contact_id = ?", noa)
    check(("event-attending",) in tags, "tagged %r" % tags)

    # a restart loads the same library: no new versions
    versions = h.query("SELECT count(*), max(version) FROM journeys")
    stop_demo(h)
    banner = start_demo(h)
    check(banner["journeys"] == library, "journeys after a restart: %r" % banner)
    check(h.query("SELECT count(*), max(version) FROM journeys") == versions == [(library, 1)],
          "versions after a restart: %r" % h.query("SELECT key, version FROM journeys"))
    st, ts = h.api("GET", "/templates")
    check(st == 200, "templates after a restart: %s" % st)


if __name__ == "__main__":
    main([test_rsvp_on_the_demo])
