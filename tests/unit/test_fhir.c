/*
 * test_fhir.c — unit tests for core/fhir: a Synthea-style Bundle
 * (tests/fixtures/fhir_bundle.json: Patients with local-format, foreign,
 * missing and several phones, a deceased one, identifiers that must not be
 * kept, Encounters and other resources to skip) imported into an Israeli
 * organisation, re-imported, and one contact exported as a Bundle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdb.h"

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/consent.h"
#include "core/contact.h"
#include "core/fhir.h"
#include "base/banned.h"

#define ACTOR "apikey:TESTKEY"

static json_t *load_bundle(void)
{
	const char *root = getenv("CW_SOURCE_ROOT");
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/fixtures/fhir_bundle.json", root ? root : ".");
	json_error_t je;
	json_t *b = json_load_file(path, 0, &je);
	if (!b)
		fail_msg("%s: %s", path, je.text);
	return b;
}

static const json_t *error_for(const struct fhir_report *r, const char *resource)
{
	size_t i;
	const json_t *e;
	json_array_foreach(r->errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "resource")), resource) == 0)
			return e;
	}
	return NULL;
}

static void test_bundle_import(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	json_t *bundle = load_bundle();
	struct fhir_report r;
	assert_int_equal(fhir_import(t.st, t.org, "IL", bundle, ACTOR, &r), 0);
	assert_int_equal(r.patients, 6);
	assert_int_equal(r.created, 3);
	assert_int_equal(r.updated, 0);
	assert_int_equal(r.failed, 3);
	assert_int_equal(r.skipped, 5);
	assert_int_equal(json_integer_value(json_object_get(r.skipped_types, "Encounter")), 2);
	assert_int_equal(json_integer_value(json_object_get(r.skipped_types, "Appointment")), 1);

	/* the US number is invalid in Israel: reported against telecom */
	const json_t *e = error_for(&r, "Patient/6f1d6a3c-2222-4c1e-9a51-000000000002");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "telecom");
	assert_int_equal(json_integer_value(json_object_get(e, "entry")), 3);
	e = error_for(&r, "Patient/6f1d6a3c-4444-4c1e-9a51-000000000004");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "deceased");
	e = error_for(&r, "Patient/6f1d6a3c-5555-4c1e-9a51-000000000005");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "telecom");
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "no phone"));

	/* the local-format phone, the official name, the MRN, nothing national */
	assert_int_equal(
	    testdb_int(&t, "SELECT count(*) FROM contacts WHERE phone = "
			   "'+972521234567' AND raw_phone = '052-123-4567' AND name = "
			   "'Noa R. Levi' AND sex = 'female' AND birth_date = "
			   "'1968-04-12' AND language = 'he' AND json_extract(fields, "
			   "'$.mrn') = 'MRN-70412' AND json_extract(fields, '$.fhir_id') = "
			   "'6f1d6a3c-1111-4c1e-9a51-000000000001'"),
	    1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE fields LIKE "
					"'%999-%' OR fields LIKE '%S999%'"),
			 0);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contact_fields WHERE value_text "
					"LIKE '%999-%' OR value_text LIKE '%S999%'"),
			 0);
	/* the mobile one of several phones, the preferred language, a year-only
	 * birth date left out */
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE phone = "
					"'+79123456789' AND language = 'ru' AND birth_date IS NULL "
					"AND name = 'Ирина Петрова'"),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE phone = "
					"'+972541112233' AND sex = 'unknown'"),
			 1);
	/* the deceased patient is not a contact */
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE phone = "
					"'+972501234000'"),
			 0);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'contact.create' AND detail = 'fhir'"),
			 3);
	json_t *rj = fhir_report_json(&r);
	assert_int_equal(json_integer_value(json_object_get(rj, "failed")), 3);
	assert_int_equal(json_array_size(json_object_get(rj, "errors")), 3);
	json_decref(rj);
	fhir_report_release(&r);

	/* again: the same contacts, updated */
	assert_int_equal(fhir_import(t.st, t.org, "IL", bundle, ACTOR, &r), 0);
	assert_int_equal(r.created, 0);
	assert_int_equal(r.updated, 3);
	fhir_report_release(&r);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts"), 3);
	json_decref(bundle);

	/* a single Patient, and things that are neither */
	json_t *p = json_pack("{s:s, s:[{s:s, s:s}]}", "resourceType", "Patient", "telecom",
			      "system", "phone", "value", "052-999-8888");
	assert_int_equal(fhir_import(t.st, t.org, "IL", p, ACTOR, &r), 0);
	assert_int_equal(r.created, 1);
	fhir_report_release(&r);
	json_decref(p);
	json_t *o = json_pack("{s:s}", "resourceType", "Observation");
	assert_int_equal(fhir_import(t.st, t.org, "IL", o, ACTOR, &r), CW_EINVAL);
	fhir_report_release(&r);
	json_decref(o);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	testdb_close(&t);
}

static void test_patient_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *field;
	} cases[] = {
	    {"{\"resourceType\":\"Patient\",\"telecom\":[{\"system\":\"phone\",\"value\":"
	     "\"052-123\"}]}",
	     "telecom"},
	    {"{\"resourceType\":\"Patient\",\"telecom\":[{\"system\":\"phone\",\"value\":"
	     "\"0521234567\"}],\"gender\":\"woman\"}",
	     "gender"},
	    {"{\"resourceType\":\"Patient\",\"telecom\":[{\"system\":\"phone\",\"value\":"
	     "\"0521234567\"}],\"birthDate\":\"2999-01-01\"}",
	     "birthDate"},
	    {"{\"resourceType\":\"Patient\",\"telecom\":[{\"system\":\"phone\",\"value\":"
	     "\"0521234567\"}],\"communication\":[{\"language\":{\"coding\":[{\"code\":"
	     "\"klingon\"}]}}]}",
	     "communication"},
	    {"{\"resourceType\":\"Patient\",\"deceasedBoolean\":true}", "deceased"},
	    {"{\"resourceType\":\"Person\"}", "resourceType"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *p = json_loads(cases[i].json, 0, NULL);
		assert_non_null(p);
		struct contact_draft d;
		struct contact_error err;
		contact_draft_init(&d);
		memset(&err, 0, sizeof err);
		assert_int_not_equal(fhir_patient_draft(p, "IL", &d, &err), 0);
		if (strcmp(err.field, cases[i].field) != 0)
			fail_msg("case %zu: field %s, want %s (%s)", i, err.field, cases[i].field,
				 err.message);
		contact_draft_release(&d);
		json_decref(p);
	}
}

static const json_t *find_resource(const json_t *bundle, const char *type, int nth)
{
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		const json_t *r = json_object_get(e, "resource");
		const char *t = json_string_value(json_object_get(r, "resourceType"));
		if (t && strcmp(t, type) == 0 && nth-- == 0)
			return r;
	}
	return NULL;
}

static void test_export_bundle(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	json_t *in = json_loads("{\"phone\":\"052-123-4567\",\"name\":\"Noa Levi\",\"language\":"
				"\"he\",\"time_zone\":\"Asia/Jerusalem\",\"sex\":\"female\","
				"\"birth_date\":\"1968-04-12\",\"tags\":[\"oncology\"],"
				"\"fields\":{\"visits\":3,\"last\":\"2025-01-02\"}}",
				0, NULL);
	struct contact_draft d;
	struct contact_error err;
	contact_draft_init(&d);
	assert_int_equal(contact_draft_from_json(&d, in, "IL", 1, &err), 0);
	json_decref(in);
	struct contact_write w;
	assert_int_equal(contact_upsert(t.st, t.org, &d, ACTOR, "api", &w), 0);
	contact_draft_release(&d);
	struct consent_input ci = {.purpose = "marketing",
				   .status = "granted",
				   .source = "paper",
				   .wording_version = "v1",
				   .evidence = "scan 77",
				   .at = time_now_ms() - 10000};
	assert_int_equal(consent_record(t.st, t.org, w.id, &ci, ACTOR, NULL, NULL), 0);
	ci.status = "withdrawn";
	ci.source = "whatsapp";
	ci.at = time_now_ms() - 5000;
	assert_int_equal(consent_record(t.st, t.org, w.id, &ci, ACTOR, NULL, NULL), 0);
	ci.purpose = "reminders";
	ci.status = "granted";
	assert_int_equal(consent_record(t.st, t.org, w.id, &ci, ACTOR, NULL, NULL), 0);
	ci.purpose = "surveys";
	ci.status = "refused";
	assert_int_equal(consent_record(t.st, t.org, w.id, &ci, ACTOR, NULL, NULL), 0);
	char num[ID_SIZE], mid[ID_SIZE];
	id_new(num);
	id_new(mid);
	struct store_val n[] = {SV_TEXT(num),  SV_TEXT(t.org), SV_TEXT("P1"),
				SV_TEXT("W1"), SV_TEXT("+1"),  SV_NULL,
				SV_NULL,       SV_NULL,	       SV_INT(1)};
	assert_int_equal(store_exec(t.st, "number.insert", n, 9, NULL), 0);
	struct store_val m[] = {SV_TEXT(mid),
				SV_TEXT(t.org),
				SV_TEXT(num),
				SV_TEXT(w.id),
				SV_TEXT("in"),
				SV_TEXT("wamid.X1"),
				SV_TEXT("text"),
				SV_TEXT("{\"text\":{\"body\":\"when are my results?\"}}"),
				SV_TEXT("received"),
				SV_INT(1000),
				SV_NULL,
				SV_INT(1000)};
	assert_int_equal(store_exec(t.st, "message.insert", m, 12, NULL), 0);

	json_t *b = NULL;
	assert_int_equal(fhir_export_contact(t.st, t.org, w.id, ACTOR, &b), 0);
	assert_string_equal(json_string_value(json_object_get(b, "resourceType")), "Bundle");
	assert_string_equal(json_string_value(json_object_get(b, "type")), "collection");
	const json_t *p = find_resource(b, "Patient", 0);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "id")), w.id);
	assert_string_equal(json_string_value(json_path(p, "telecom.0.value")), "+972521234567");
	assert_string_equal(json_string_value(json_object_get(p, "gender")), "female");
	assert_string_equal(
	    json_string_value(json_path(p, "communication.0.language.coding.0.code")), "he");
	assert_true(json_is_true(json_object_get(p, "active")));
	/* four consent records: granted+withdrawn (both inactive now), an active
	 * grant and a refusal */
	assert_non_null(find_resource(b, "Consent", 3));
	assert_null(find_resource(b, "Consent", 4));
	int active = 0, inactive = 0, rejected = 0;
	for (int i = 0; i < 4; i++) {
		const char *s =
		    json_string_value(json_object_get(find_resource(b, "Consent", i), "status"));
		active += strcmp(s, "active") == 0;
		inactive += strcmp(s, "inactive") == 0;
		rejected += strcmp(s, "rejected") == 0;
	}
	assert_int_equal(active, 1);
	assert_int_equal(inactive, 2);
	assert_int_equal(rejected, 1);
	const json_t *c0 = find_resource(b, "Consent", 0);
	assert_string_equal(json_string_value(json_path(c0, "patient.reference")) + 8, w.id);
	assert_string_equal(json_string_value(json_path(c0, "provision.purpose.0.code")),
			    "marketing");
	const json_t *comm = find_resource(b, "Communication", 0);
	assert_non_null(comm);
	assert_string_equal(json_string_value(json_path(comm, "payload.0.contentString")),
			    "when are my results?");
	assert_non_null(json_object_get(comm, "sender"));
	json_decref(b);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'contact.export' AND detail = 'fhir'"),
			 1);

	/* after erasure the bundle is a tombstone: no name, no phone, no words */
	assert_int_equal(contact_erase(t.st, t.org, w.id, ACTOR, NULL), 0);
	assert_int_equal(fhir_export_contact(t.st, t.org, w.id, ACTOR, &b), 0);
	p = find_resource(b, "Patient", 0);
	assert_true(json_is_false(json_object_get(p, "active")));
	assert_null(json_object_get(p, "name"));
	assert_null(json_object_get(p, "telecom"));
	comm = find_resource(b, "Communication", 0);
	assert_null(json_object_get(comm, "payload"));
	char *dump = json_dumps(b, 0);
	assert_null(strstr(dump, "Noa"));
	assert_null(strstr(dump, "972521234567"));
	assert_null(strstr(dump, "scan 77"));
	free(dump);
	json_decref(b);
	assert_int_equal(fhir_export_contact(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", ACTOR, &b),
			 CW_ENOTFOUND);
	testdb_close(&t);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bundle_import),
	    cmocka_unit_test(test_patient_errors),
	    cmocka_unit_test(test_export_bundle),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
