"""Contacts, consent, audit, erasure and export, through `carewire serve` and
the command line, against the contracts of DESIGN.md §6.

- POST /api/v1/contacts with "052-123-4567" -> 201 "+972521234567", again -> 200;
  a bad phone -> 422 invalid_phone naming phone; roles; list with a segment query.
- consents: 201 with the record; current and history; an erased contact -> 409.
- CSV: `carewire import contacts` with a BOM, CRLF, quoted commas and broken
  lines (exit 1, errors per line, the good lines imported, idempotent), a clean
  file (exit 0), bad usage (exit 2); POST /api/v1/contacts/import.
- FHIR: a Synthea-style bundle with a local-format phone, by CLI and API.
- erasure: personal data, message bodies and raw webhook bodies gone, a
  tombstone, and a new message from the same number makes a NEW contact.
- export as JSON and as a FHIR Bundle.
- audit: GET /api/v1/audit, `carewire audit verify` ok, then an edited and a
  deleted entry are both detected.
"""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(HERE, "..", "fixtures", "fhir_bundle.json")
PATIENT = "972521234567"

DESIGN_BODY = {"phone": "052-123-4567", "name": "Noa Levi", "language": "he",
               "time_zone": "Asia/Jerusalem", "sex": "female", "birth_date": "1970-05-01",
               "audience": "patient", "tags": ["breast-cancer"],
               "fields": {"radiation": "completed"}}

SHAPE = ["id", "phone", "wa_id", "raw_phone", "name", "language", "time_zone", "sex",
         "birth_date", "audience", "tags", "fields", "created_at"]


def serve_only(h):
    h.start_sim()
    h.setup_org()
    h.start_serve()


def key(h, role):
    return h.run("apikey", "create", "--org", h.org_id, "--role", role).stdout.strip()


def api_as(h, k, method, path, body=None):
    return h.request(method, h.url("/api/v1" + path), body, {"Authorization": "Bearer " + k})


def rw(h, sql, *args):
    con = sqlite3.connect(h.db, timeout=10)
    try:
        con.execute(sql, args)
        con.commit()
    finally:
        con.close()


def test_contact_upsert_shape_and_errors(h):
    serve_only(h)
    st, c = h.api("POST", "/contacts", DESIGN_BODY)
    check(st == 201, "create gave %s %r" % (st, c))
    for k in SHAPE:
        check(k in c, "the contact has no %r: %r" % (k, c))
    check(c["phone"] == "+972521234567", "phone %r" % c["phone"])
    check(c["raw_phone"] == "052-123-4567", "raw_phone %r" % c["raw_phone"])
    check(c["tags"] == ["breast-cancer"], "tags %r" % c["tags"])
    check(c["fields"] == {"radiation": "completed"}, "fields %r" % c["fields"])
    check(c["birth_date"] == "1970-05-01" and c["audience"] == "patient", "values %r" % c)
    # the same number written another way updates the same contact
    st, c2 = h.api("POST", "/contacts", {"phone": "+972 52 123 4567",
                                         "fields": {"visits": 3, "radiation": None}})
    check(st == 200, "update gave %s %r" % (st, c2))
    check(c2["id"] == c["id"], "a second contact was made")
    check(c2["name"] == "Noa Levi", "an absent name was not kept: %r" % c2["name"])
    check(c2["fields"] == {"visits": 3}, "fields not merged: %r" % c2["fields"])
    # a bad phone: 422 invalid_phone naming phone, with the reason
    for bad in ["052-123", "not a phone", "555-123-4567"]:
        st, e = h.api("POST", "/contacts", {"phone": bad, "name": "X"})
        check(st == 422, "bad phone %r gave %s" % (bad, st))
        check(e["error"]["code"] == "invalid_phone" and e["error"]["field"] == "phone",
              "error %r" % e)
        check(e["error"]["message"], "no reason given")
    st, e = h.api("POST", "/contacts", {"name": "no phone"})
    check(st == 422 and e["error"]["field"] == "phone", "missing phone: %s %r" % (st, e))
    cases = [("language", "klingon"), ("time_zone", "Mars/Base"), ("sex", "f"),
             ("birth_date", "2999-01-01"), ("birth_date", "1970-02-30"),
             ("audience", "visitor"), ("tags", "vip"), ("fields", [1])]
    for field, value in cases:
        st, e = h.api("POST", "/contacts", {"phone": "0541112233", field: value})
        check(st == 422, "%s=%r gave %s" % (field, value, st))
        check(e["error"]["code"] == "invalid_field", "%s: %r" % (field, e))
        check(e["error"]["field"].startswith(field), "%s: named %r" % (field, e))
    n = h.query("SELECT count(*) FROM contacts")[0][0]
    check(n == 1, "refused requests stored contacts: %d" % n)
    st, e = h.request("POST", h.url("/api/v1/contacts"), DESIGN_BODY)
    check(st == 401, "no key gave %s" % st)
    viewer = key(h, "viewer")
    st, e = api_as(h, viewer, "POST", "/contacts", DESIGN_BODY)
    check(st == 403, "a viewer created a contact: %s" % st)
    st, got = api_as(h, viewer, "GET", "/contacts/" + c["id"])
    check(st == 200 and got["id"] == c["id"], "viewer read: %s" % st)
    st, e = api_as(h, viewer, "DELETE", "/contacts/" + c["id"])
    check(st == 403, "a viewer erased a contact: %s" % st)
    st, e = h.api("GET", "/contacts/01HZZZZZZZZZZZZZZZZZZZZZZZ")
    check(st == 404 and e["error"]["code"] == "not_found", "unknown id: %s %r" % (st, e))
    st, e = h.api("GET", "/contacts/not-an-id")
    check(st == 404, "garbage id: %s" % st)
    # PATCH
    st, p = h.api("PATCH", "/contacts/" + c["id"], {"name": "Noa L.", "tags": ["a", "b"]})
    check(st == 200 and p["name"] == "Noa L." and p["tags"] == ["a", "b"], "patch %s %r" % (st, p))
    st, e = h.api("PATCH", "/contacts/" + c["id"], {"sex": "x"})
    check(st == 422 and e["error"]["field"] == "sex", "bad patch %s %r" % (st, e))
    # the server log holds no number and no name
    with open(os.path.join(h.dir, "serve.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check("521234567" not in log and "Noa" not in log, "the server log holds personal data")


def test_list_with_segment_query(h):
    serve_only(h)
    people = [
        {"phone": "0521000001", "audience": "recovered patient", "tags": ["radiotherapy"],
         "fields": {"radiation": "completed"}},
        {"phone": "0521000002", "audience": "recovered patient",
         "fields": {"radiation": "ongoing"}},
        {"phone": "0521000003", "audience": "patient", "fields": {"radiation": "completed"}},
        {"phone": "0521000004", "audience": "doctor"},
    ]
    ids = []
    for p in people:
        st, c = h.api("POST", "/contacts", p)
        check(st == 201, "create %s %r" % (st, c))
        ids.append(c["id"])
    st, _ = h.api("POST", "/contacts/%s/consents" % ids[0],
                  {"purpose": "marketing", "status": "granted", "source": "paper"})
    check(st == 201, "consent %s" % st)
    q = ('audience = "recovered patient" AND fields.radiation = completed '
         'AND consent.marketing = granted')
    st, r = h.request("GET", h.url("/api/v1/contacts?query=" +
                                   urlquote(q)), None,
                      {"Authorization": "Bearer " + h.api_key})
    check(st == 200, "list %s %r" % (st, r))
    check([c["id"] for c in r["items"]] == [ids[0]], "segment gave %r" % r["items"])
    st, r = h.api("GET", "/contacts?limit=3")
    check(st == 200 and len(r["items"]) == 3 and r["next"], "page 1 %r" % r)
    st, r2 = h.api("GET", "/contacts?limit=3&after=" + r["next"])
    check(st == 200 and len(r2["items"]) == 1 and r2["next"] is None, "page 2 %r" % r2)
    st, e = h.api("GET", "/contacts?query=" + urlquote("fileds.status = x"))
    check(st == 400 and e["error"]["code"] == "invalid_query", "bad query %s %r" % (st, e))
    check(e["error"]["message"].startswith("col 1:"), "no column: %r" % e)


def urlquote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


def test_consents(h):
    serve_only(h)
    st, c = h.api("POST", "/contacts", DESIGN_BODY)
    cid = c["id"]
    body = {"purpose": "marketing", "status": "granted", "source": "web",
            "wording_version": "2026-01", "evidence": "form 881"}
    st, r = h.api("POST", "/contacts/%s/consents" % cid, body)
    check(st == 201, "consent %s %r" % (st, r))
    for k in ["id", "purpose", "status", "source", "wording_version", "evidence", "at"]:
        check(k in r, "record lacks %s: %r" % (k, r))
    check(r["purpose"] == "marketing" and r["status"] == "granted" and
          r["wording_version"] == "2026-01", "record %r" % r)
    st, r = h.api("POST", "/contacts/%s/consents" % cid,
                  {"purpose": "marketing", "status": "withdrawn", "source": "whatsapp"})
    check(st == 201, "withdrawal %s" % st)
    st, r = h.api("POST", "/contacts/%s/consents" % cid,
                  {"purpose": "results", "status": "refused", "source": "paper"})
    st, s = h.api("GET", "/contacts/%s/consents" % cid)
    check(st == 200, "read %s" % st)
    check(s["current"]["marketing"]["status"] == "withdrawn", "current %r" % s["current"])
    check(s["current"]["results"]["status"] == "refused", "current %r" % s["current"])
    check(len(s["history"]) == 3, "history %r" % s["history"])
    for bad, field in [({"purpose": "ads", "status": "granted", "source": "web"}, "purpose"),
                       ({"purpose": "marketing", "status": "ok", "source": "web"}, "status"),
                       ({"purpose": "marketing", "status": "granted", "source": "fax"}, "source"),
                       ({"purpose": "marketing", "status": "granted", "source": "web",
                         "at": "2999-01-01T00:00:00Z"}, "at")]:
        st, e = h.api("POST", "/contacts/%s/consents" % cid, bad)
        check(st == 422 and e["error"]["field"] == field, "%r gave %s %r" % (bad, st, e))
    st, e = h.api("POST", "/contacts/01HZZZZZZZZZZZZZZZZZZZZZZZ/consents", body)
    check(st == 404, "unknown contact %s" % st)
    # the policy engine's input: consent_current follows the latest record
    rows = h.query("SELECT status FROM consent_current WHERE contact_id = ? AND "
                   "purpose = 'marketing'", cid)
    check(rows == [("withdrawn",)], "consent_current %r" % rows)


CSV = ("\ufeffphone,name,language,sex,birth_date,audience,tags,fields.visits:number,"
       "consent.marketing\r\n"
       "052-123-4567,\"Levi, Noa\",he,female,1970-05-01,patient,a;b,3,granted\r\n"
       "+7 912 345-67-89,\"Петрова, Ирина\",ru,female,1974-01-22,recovered patient,,1,\r\n"
       "052-123,Short,he,,,,,,\r\n"
       "0541112233,\"Cohen, \"\"Dan\"\"\",en,male,,doctor,,x,\r\n"
       "0501112222,Broken\"quote,he,,,,,,\r\n"
       "0509998877,Too,few\r\n"
       "0521000009,\"Multi\r\nline name\",he,,,,,,\r\n"
       "0521000010,Good,he,other,,staff,,,withdrawn\r\n")


def test_csv_import_cli(h):
    serve_only(h)
    path = os.path.join(h.dir, "contacts.csv")
    with open(path, "wb") as f:
        f.write(CSV.encode("utf-8"))
    r = h.run("import", "contacts", path, check_rc=False)
    check(r.returncode == 1, "exit %d (some lines failed): %s" % (r.returncode, r.stderr))
    for want in ["line 4: phone: too short", "line 5: fields.visits:",
                 "line 6: a quote inside an unquoted field", "line 7: has 3 fields",
                 "line 8: name:", "5 lines failed"]:
        check(want in r.stderr, "stderr lacks %r: %s" % (want, r.stderr))
    check("imported 3 of 8 lines: 3 new" in r.stdout, "stdout %r" % r.stdout)
    check("\x1b[" not in r.stderr, "a progress bar drawn on a pipe")
    rows = h.query("SELECT name, phone FROM contacts ORDER BY phone")
    names = sorted(x[0] for x in rows)
    check(names == ["Good", "Levi, Noa", "Петрова, Ирина"], "imported %r" % rows)
    # again: nothing new, no new consent record, same exit code
    n_consents = h.query("SELECT count(*) FROM consents")[0][0]
    r = h.run("import", "contacts", path, check_rc=False)
    check(r.returncode == 1 and "0 new, 3 updated" in r.stdout, "re-run %r" % r.stdout)
    check(h.query("SELECT count(*) FROM contacts")[0][0] == 3, "re-run made contacts")
    check(h.query("SELECT count(*) FROM consents")[0][0] == n_consents, "re-run added consents")
    # a clean file: exit 0
    clean = os.path.join(h.dir, "clean.csv")
    with open(clean, "w") as f:
        f.write("phone,name\n0547770001,A\n0547770002,B\n")
    r = h.run("import", "contacts", clean, "--org", h.org_id, check_rc=False)
    check(r.returncode == 0, "clean file exit %d: %s" % (r.returncode, r.stderr))
    # usage
    for args in [("import", "contacts"), ("import", "contacts", "/nonexistent.csv"),
                 ("import", "contacts", clean, "--bogus"),
                 ("import", "contacts", clean, "--org", "01HZZZZZZZZZZZZZZZZZZZZZZZ")]:
        r = h.run(*args, check_rc=False)
        check(r.returncode == 2, "%r exit %d" % (args, r.returncode))
    # a header the importer cannot use: nothing imported, exit 1
    bad = os.path.join(h.dir, "bad.csv")
    with open(bad, "w") as f:
        f.write("phone,emial\n0547770003,x\n")
    r = h.run("import", "contacts", bad, check_rc=False)
    check(r.returncode == 1 and "line 1: unknown column" in r.stderr, "bad header %r" % r.stderr)
    # the imports were audited as the command line
    n = h.query("SELECT count(*) FROM audit_log WHERE actor = 'cli:import' AND "
                "action = 'contact.create'")[0][0]
    check(n == 5, "%d audited creations" % n)


def test_csv_import_api(h):
    serve_only(h)
    st, r = h.request("POST", h.url("/api/v1/contacts/import"), raw=CSV.encode("utf-8"),
                      headers={"Authorization": "Bearer " + h.api_key,
                               "Content-Type": "text/csv; charset=utf-8"})
    check(st == 200, "import %s %r" % (st, r))
    check(r["lines"] == 8 and r["created"] == 3 and r["failed"] == 5, "report %r" % r)
    lines = [e["line"] for e in r["errors"]]
    check(lines == [4, 5, 6, 7, 8], "error lines %r" % lines)
    check(r["errors"][0]["field"] == "phone", "first error %r" % r["errors"][0])
    st, e = h.request("POST", h.url("/api/v1/contacts/import"), raw=b"phone,emial\n1,2\n",
                      headers={"Authorization": "Bearer " + h.api_key,
                               "Content-Type": "text/csv"})
    check(st == 400 and e["error"]["code"] == "invalid_csv", "bad header %s %r" % (st, e))
    st, e = h.api("POST", "/contacts/import", {"phone": "1"})
    check(st == 415, "JSON to the CSV import gave %s" % st)


def test_fhir_import(h):
    serve_only(h)
    r = h.run("import", "fhir", BUNDLE, check_rc=False)
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr))
    check("imported 3 of 6 patients: 3 new" in r.stdout, "stdout %r" % r.stdout)
    check("telecom" in r.stderr and "deceased" in r.stderr, "stderr %r" % r.stderr)
    rows = h.query("SELECT phone, raw_phone FROM contacts WHERE name = 'Noa R. Levi'")
    check(rows == [("+972521234567", "052-123-4567")], "local-format phone: %r" % rows)
    check(h.query("SELECT count(*) FROM contacts WHERE fields LIKE '%999-12-3456%'")[0][0] == 0,
          "a social security number was stored")
    with open(BUNDLE) as f:
        bundle = json.load(f)
    st, rep = h.request("POST", h.url("/api/v1/fhir"), raw=json.dumps(bundle).encode(),
                        headers={"Authorization": "Bearer " + h.api_key,
                                 "Content-Type": "application/fhir+json"})
    check(st == 200, "bundle %s %r" % (st, rep))
    check(rep["patients"] == 6 and rep["updated"] == 3 and rep["failed"] == 3, "report %r" % rep)
    check(rep["skipped_types"].get("Encounter") == 2, "skipped %r" % rep["skipped_types"])
    fields = sorted(e["field"] for e in rep["errors"])
    check(fields == ["deceased", "telecom", "telecom"], "errors %r" % rep["errors"])
    patient = {"resourceType": "Patient", "name": [{"given": ["Dana"], "family": "Katz"}],
               "telecom": [{"system": "phone", "value": "054-765-4321", "use": "mobile"}],
               "gender": "female", "birthDate": "1980-01-02"}
    st, c = h.api("POST", "/fhir/Patient", patient)
    check(st == 201 and c["phone"] == "+972547654321" and c["name"] == "Dana Katz",
          "Patient %s %r" % (st, c))
    patient["telecom"][0]["value"] = "555-0100"
    st, e = h.api("POST", "/fhir/Patient", patient)
    check(st == 422 and e["error"]["code"] == "invalid_phone" and
          e["error"]["field"] == "telecom", "bad Patient %s %r" % (st, e))
    st, e = h.api("POST", "/fhir", {"resourceType": "Observation"})
    check(st == 422, "an Observation gave %s" % st)


def test_erase_export_and_new_contact(h):
    serve_only(h)
    st, _ = h.sim("PUT", "/sim/users/" + PATIENT, {"read": 1.0, "on_whatsapp": True})
    st, c = h.api("POST", "/contacts", DESIGN_BODY)
    cid = c["id"]
    h.api("POST", "/contacts/%s/consents" % cid,
          {"purpose": "reminders", "status": "granted", "source": "paper",
           "evidence": "signed by Noa Levi"})
    h.sim_send(PATIENT, {"type": "text", "text": "when are my results ready?"})
    h.wait(lambda: h.query("SELECT count(*) FROM messages WHERE contact_id = ? AND "
                           "direction = 'in'", cid)[0][0] == 1, "the inbound message")
    h.wait(lambda: h.query("SELECT count(*) FROM webhook_log WHERE processed_at IS NULL")[0][0]
           == 0, "webhooks processed")
    check(h.query("SELECT wa_id FROM contacts WHERE id = ?", cid) == [(PATIENT,)],
          "the inbound message found the contact by phone")
    st, ex = h.api("GET", "/contacts/%s/export" % cid)
    check(st == 200, "export %s" % st)
    check(ex["contact"]["id"] == cid and ex["contact"]["name"] == "Noa Levi", "export %r" % ex)
    check(len(ex["consents"]["history"]) == 1, "consents %r" % ex["consents"])
    texts = [m["payload"] for m in ex["messages"] if m["direction"] == "in"]
    check(texts and "when are my results" in json.dumps(texts, ensure_ascii=False),
          "messages %r" % ex["messages"])
    check("decisions" in ex, "no decisions in %r" % list(ex))
    st, fb = h.api("GET", "/contacts/%s/export?format=fhir" % cid)
    check(st == 200 and fb["resourceType"] == "Bundle", "fhir export %s" % st)
    types = sorted({e["resource"]["resourceType"] for e in fb["entry"]})
    check(types == ["Communication", "Consent", "Patient"], "resource types %r" % types)
    st, e = h.api("GET", "/contacts/%s/export?format=xml" % cid)
    check(st == 422, "format=xml gave %s" % st)

    # erase
    st, t = h.api("DELETE", "/contacts/" + cid)
    check(st == 200 and t["id"] == cid and t["erased_at"], "erase %s %r" % (st, t))
    for k in ["phone", "wa_id", "raw_phone", "name", "birth_date", "sex", "audience"]:
        check(t[k] is None, "%s survived erasure: %r" % (k, t[k]))
    check(t["tags"] == [] and t["fields"] == {}, "tags/fields survived %r" % t)
    st, g = h.api("GET", "/contacts/" + cid)
    check(st == 200 and g["erased_at"], "the tombstone %s %r" % (st, g))
    check(h.query("SELECT count(*) FROM messages WHERE contact_id = ? AND payload IS NOT NULL",
                  cid)[0][0] == 0, "message bodies survived")
    check(h.query("SELECT count(*) FROM webhook_log WHERE instr(CAST(body AS TEXT), ?) > 0",
                  PATIENT)[0][0] == 0, "raw webhook bodies still hold the number")
    check(h.query("SELECT count(*) FROM consents WHERE contact_id = ? AND evidence IS NOT NULL",
                  cid)[0][0] == 0, "consent evidence survived")
    check(h.query("SELECT count(*) FROM contact_tags WHERE contact_id = ?", cid)[0][0] == 0,
          "tags survived")
    st, e = h.api("POST", "/contacts/%s/consents" % cid,
                  {"purpose": "marketing", "status": "granted", "source": "api"})
    check(st == 409 and e["error"]["code"] == "contact_erased", "consent after erasure %s %r"
          % (st, e))
    st, e = h.api("PATCH", "/contacts/" + cid, {"name": "again"})
    check(st == 409, "patch after erasure %s" % st)
    st, t2 = h.api("DELETE", "/contacts/" + cid)
    check(st == 200, "erasing twice %s" % st)
    st, fb = h.api("GET", "/contacts/%s/export?format=fhir" % cid)
    check("Noa" not in json.dumps(fb, ensure_ascii=False) and PATIENT not in json.dumps(fb),
          "the export after erasure holds personal data")
    # the same person writes again: a new contact, with no consents
    h.sim_send(PATIENT, {"type": "text", "text": "hello again"})
    rows = h.wait(lambda: h.query("SELECT id FROM contacts WHERE phone = ? AND erased_at IS NULL",
                                  "+" + PATIENT), "a new contact")
    check(rows[0][0] != cid, "the erased contact came back")
    check(h.query("SELECT count(*) FROM consents WHERE contact_id = ?", rows[0][0])[0][0] == 0,
          "the new contact inherited consents")
    n = h.query("SELECT count(*) FROM audit_log WHERE subject = ? AND action = 'contact.erase'",
                cid)[0][0]
    check(n == 2, "%d erase entries" % n)


def test_audit_api_and_verify(h):
    serve_only(h)
    st, c = h.api("POST", "/contacts", DESIGN_BODY)
    cid = c["id"]
    h.api("GET", "/contacts/" + cid)
    h.api("POST", "/contacts/%s/consents" % cid,
          {"purpose": "marketing", "status": "granted", "source": "web"})
    h.api("GET", "/contacts/%s/consents" % cid)
    h.api("GET", "/contacts/%s/export" % cid)
    st, a = h.api("GET", "/audit?contact_id=" + cid)
    check(st == 200, "audit %s %r" % (st, a))
    actions = [e["action"] for e in a["items"]]
    check(actions == ["contact.create", "contact.read", "consent.record", "consent.read",
                      "contact.export"], "actions %r" % actions)
    for e in a["items"]:
        check(e["actor"].startswith("apikey:") and e["outcome"] == "ok" and e["subject"] == cid,
              "entry %r" % e)
        check(len(e["hash"]) == 64, "hash %r" % e["hash"])
    check(a["items"][2]["purpose"] == "marketing", "purpose %r" % a["items"][2])
    st, page = h.api("GET", "/audit?limit=2")
    check(st == 200 and len(page["items"]) == 2 and page["next"], "page %r" % page)
    st, page2 = h.api("GET", "/audit?limit=2&after=%d" % page["next"])
    check(page2["items"][0]["seq"] == page["next"] + 1, "paging %r" % page2)
    agent = key(h, "agent")
    st, _ = api_as(h, agent, "GET", "/audit")
    check(st == 403, "an agent read the audit log: %s" % st)
    # the log holds no personal data
    dump = json.dumps(h.query("SELECT * FROM audit_log"), ensure_ascii=False)
    check("Noa" not in dump and "521234567" not in dump, "personal data in the audit log")

    r = h.run("audit", "verify")
    n = h.query("SELECT count(*) FROM audit_log")[0][0]
    check(r.stdout.startswith("ok %d entries" % n), "verify %r" % r.stdout)
    # the table refuses edits through SQL...
    try:
        rw(h, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 2")
        check(False, "the audit log accepted an UPDATE")
    except sqlite3.DatabaseError:
        pass
    # ...and someone who drops the guards is found out
    rw(h, "DROP TRIGGER audit_log_no_update")
    rw(h, "DROP TRIGGER audit_log_no_delete")
    rw(h, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 2")
    r = h.run("audit", "verify", check_rc=False)
    check(r.returncode == 1 and "entry 2" in r.stdout and "edited" in r.stdout,
          "edit not detected: %d %r" % (r.returncode, r.stdout))
    rw(h, "UPDATE audit_log SET outcome = 'ok' WHERE seq = 2")
    r = h.run("audit", "verify", check_rc=False)
    check(r.returncode == 0, "restored log: %r" % r.stdout)
    rw(h, "DELETE FROM audit_log WHERE seq = 3")
    r = h.run("audit", "verify", check_rc=False)
    check(r.returncode == 1 and "entry 3" in r.stdout and "deleted" in r.stdout,
          "delete not detected: %d %r" % (r.returncode, r.stdout))


if __name__ == "__main__":
    main([test_contact_upsert_shape_and_errors, test_list_with_segment_query, test_consents,
          test_csv_import_cli, test_csv_import_api, test_fhir_import,
          test_erase_export_and_new_contact, test_audit_api_and_verify])
