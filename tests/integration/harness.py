"""Integration-test harness: starts the real carewire binary on loopback ports
with a temporary database and drives it over HTTP. Standard library only.

    h = Harness(sys.argv[1])          # path to the carewire binary
    h.start_sim(); h.setup_org(); h.start_serve()
    h.sim_send("972521234567", {"type": "text", "text": "hi"})
    h.wait(lambda: ..., "the reply arrived")
    h.close()
"""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

APP_SECRET = "it-app-secret"
VERIFY_TOKEN = "it-verify-token"
ACCESS_TOKEN = "it-access-token"
MASTER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
PNID = "106540352242922"
WABA = "102290129340398"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Harness:
    def __init__(self, binary):
        self.binary = os.path.abspath(binary)
        self.dir = tempfile.mkdtemp(prefix="cw-it-")
        self.db = os.path.join(self.dir, "carewire.db")
        self.port = free_port()
        self.sim_port = free_port()
        self.procs = {}
        self.logs = {}
        self.api_key = None
        self.org_id = None

    # -- processes -------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        e.update({
            "CAREWIRE_SERVER_LISTEN": "127.0.0.1:%d" % self.port,
            "CAREWIRE_STORE_URL": "sqlite:" + self.db,
            "CAREWIRE_WHATSAPP_GRAPH_URL": "http://127.0.0.1:%d" % self.sim_port,
            "CAREWIRE_WHATSAPP_APP_SECRET": APP_SECRET,
            "CAREWIRE_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "CAREWIRE_MASTER_KEY": MASTER_KEY,
            "CAREWIRE_LOG_LEVEL": os.environ.get("CAREWIRE_LOG_LEVEL", "info"),
        })
        return e

    def run(self, *args, check_rc=True):
        r = subprocess.run([self.binary] + list(args), env=self.env(), capture_output=True,
                           text=True, timeout=60)
        if check_rc and r.returncode != 0:
            raise Failure("carewire %s exited %d: %s" % (" ".join(args), r.returncode,
                                                         r.stderr))
        return r

    def spawn(self, name, args, extra_env=None):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        env = self.env()
        if extra_env:
            env.update(extra_env)
        p = subprocess.Popen([self.binary] + args, env=env, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        self.procs[name] = p
        self.logs[name] = log
        return p

    def wait_http(self, url, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except urllib.error.HTTPError:
                return
            except Exception:
                time.sleep(0.05)
        raise Failure("nothing answered at " + url)

    def start_sim(self, *extra):
        self.spawn("sim", ["sim", "--listen", "127.0.0.1:%d" % self.sim_port,
                           "--webhook", "http://127.0.0.1:%d/webhooks/whatsapp" % self.port,
                           "--app-secret", APP_SECRET, "--access-token", ACCESS_TOKEN] +
                   list(extra))
        self.wait_http(self.sim_url("/sim/stats"))

    def start_serve(self, extra_env=None):
        self.spawn("serve", ["serve"], extra_env)
        self.wait_http(self.url("/healthz"))

    def no_quiet_hours(self):
        """Turns the organisation's quiet hours off, for tests whose
        business-initiated messages must go now whatever the hour in Israel
        (quiet hours themselves are tested with a pinned clock in test_policy)."""
        st, body = self.api("PUT", "/settings", {"quiet_hours": False})
        check(st == 200, "turning quiet hours off: %s %r" % (st, body))

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p:
            p.send_signal(sig)
            p.wait(timeout=20)

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p:
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                raise Failure(name + " did not stop on SIGTERM")
            return rc
        return None

    def close(self):
        for name in list(self.procs):
            self.kill(name)
        for f in self.logs.values():
            f.close()
        if os.environ.get("CW_KEEP_TMP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self):
        for name in self.logs:
            path = os.path.join(self.dir, name + ".log")
            try:
                with open(path, "rb") as f:
                    data = f.read()[-6000:].decode("utf-8", "replace")
                print("---- %s log (tail) ----\n%s" % (name, data))
            except OSError:
                pass

    # -- set-up ----------------------------------------------------------
    def setup_org(self, kind="clinic"):
        self.org_id = self.run("org", "create", "--name", "Test Clinic", "--kind", kind,
                               "--region", "IL").stdout.strip()
        tok = os.path.join(self.dir, "token")
        with open(tok, "w") as f:
            f.write(ACCESS_TOKEN + "\n")
        self.run("number", "add", "--org", self.org_id, "--phone-number-id", PNID,
                 "--waba-id", WABA, "--display", "+97235550100", "--token-file", tok)
        self.api_key = self.run("apikey", "create", "--org", self.org_id, "--role",
                                "admin").stdout.strip()

    # -- HTTP ------------------------------------------------------------
    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def sim_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.sim_port, path)

    def request(self, method, url, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode("utf-8")
                status = r.status
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8")
            status = e.code
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def api(self, method, path, body=None):
        return self.request(method, self.url("/api/v1" + path), body,
                            {"Authorization": "Bearer " + self.api_key})

    def sim(self, method, path, body=None):
        return self.request(method, self.sim_url(path), body)

    def sim_send(self, wa_id, msg):
        st, body = self.sim("POST", "/sim/users/%s/messages" % wa_id, msg)
        check(st == 200, "simulator refused the user's message: %s %s" % (st, body))
        return body

    def sim_messages(self, wa_id):
        st, body = self.sim("GET", "/sim/users/%s/messages" % wa_id)
        check(st == 200, "simulator transcript: %s %s" % (st, body))
        return body["messages"]

    def post_webhook(self, payload, secret=APP_SECRET, signature=None):
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sig = signature
        if sig is None:
            sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": sig} if sig else {}
        return self.request("POST", self.url("/webhooks/whatsapp"), raw=raw, headers=headers)

    # -- the database ------------------------------------------------------
    def query(self, sql, *args):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def wait(self, fn, what, timeout=15):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = fn()
                if last:
                    return last
            except (Failure, sqlite3.OperationalError):
                pass
            time.sleep(0.05)
        raise Failure("timed out waiting for: %s (last: %r)" % (what, last))


def main(tests):
    """Runs each test function with a fresh harness; prints one line each and
    exits non-zero on any failure."""
    binary = sys.argv[1]
    failed = 0
    for t in tests:
        h = Harness(binary)
        start = time.time()
        try:
            t(h)
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - start))
        except Exception as e:  # noqa: BLE001 - report any failure with logs
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e))
            h.dump_logs()
        finally:
            h.close()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
