"""Writes a wrk Lua script that posts signed status webhooks (one status per
body, each for a different wamid) to /webhooks/whatsapp.

usage: gen.py SECRET COUNT OUT.lua [RATE THREADS]
Without RATE every connection sends its next request as soon as the last one
is answered (the most the server takes). With RATE, each of wrk's THREADS
sends on a fixed schedule of RATE/THREADS requests per second, whichever of
its connections is free: the load is offered at about RATE requests/s however
fast or slow the answers come (open loop), as long as enough connections are
idle. wrk's own delay() is relative to the previous answer, so a plain delay
offers less than RATE as soon as answers take time; the schedule here uses
CLOCK_MONOTONIC through LuaJIT's FFI (wrk embeds LuaJIT)."""
import hashlib
import hmac
import json
import sys

secret, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1

lines = ["local bodies = {}", "local sigs = {}"]
for i in range(count):
    body = json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "97235550100",
                         "phone_number_id": "106540352242922"},
            "statuses": [{"id": "wamid.bench%08d" % i, "status": "delivered",
                          "timestamp": "1763800000", "recipient_id": "972521234567",
                          "conversation": {"id": "c%d" % i, "origin": {"type": "utility"}},
                          "pricing": {"billable": True, "pricing_model": "PMP",
                                      "category": "utility"}}]}}]}]},
        separators=(",", ":"))
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    lines.append("bodies[%d] = %s" % (i + 1, json.dumps(body)))
    lines.append("sigs[%d] = \"sha256=%s\"" % (i + 1, sig))
lines.append("local n = %d" % count)
lines.append("local i = 0")
lines.append("""request = function()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format("POST", "/webhooks/whatsapp",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end""")
if rate > 0:
    lines.append("""local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } cw_timespec;
           int clock_gettime(int clk, cw_timespec *ts); ]]
local ts = ffi.new("cw_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = %f -- ms between this thread's requests
local next_at = nil
delay = function()
  local t = now_ms()
  if not next_at then next_at = t end
  next_at = next_at + interval
  if next_at < t then return 0 end
  return next_at - t
end""" % (1000.0 * threads / rate))
lines.append("""done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors_status=%d errors_other=%d "
    .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end""")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
