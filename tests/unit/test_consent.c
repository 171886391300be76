/*
 * test_consent.c — unit tests for core/consent: input checks, the record
 * and its JSON, the history and the current state per purpose (withdrawn
 * then granted again; a late paper record that must not override a newer
 * one; purposes independent), audit entries, unknown and erased contacts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdb.h"

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/consent.h"
#include "core/contact.h"
#include "base/banned.h"

#define ACTOR "apikey:TESTKEY"
#define NOW   INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static void test_check(void **state)
{
	(void)state;
	char big[CONSENT_EVIDENCE_MAX + 2];
	memset(big, 'e', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	static const struct consent_input good = {
	    .purpose = "marketing", .status = "granted", .source = "web", .at = NOW};
	struct {
		struct consent_input in;
		const char *field;
	} cases[] = {
	    {good, NULL},
	    {{.purpose = "ads", .status = "granted", .source = "web"}, "purpose"},
	    {{.purpose = "marketing", .status = "yes", .source = "web"}, "status"},
	    {{.purpose = "marketing", .status = "granted", .source = "fax"}, "source"},
	    {{.purpose = "marketing", .status = "granted", .source = "web", .wording_version = ""},
	     "wording_version"},
	    {{.purpose = "marketing", .status = "granted", .source = "web", .evidence = big},
	     "evidence"},
	    {{.purpose = "marketing",
	      .status = "granted",
	      .source = "web",
	      .at = NOW + CONSENT_FUTURE_SKEW_MS + 1},
	     "at"},
	    {{.purpose = "marketing",
	      .status = "granted",
	      .source = "web",
	      .at = NOW + CONSENT_FUTURE_SKEW_MS},
	     NULL},
	    {{.purpose = "Marketing", .status = "granted", .source = "web"}, "purpose"},
	    {{.purpose = NULL, .status = "granted", .source = "web"}, "purpose"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct contact_error err;
		memset(&err, 0, sizeof err);
		int rc = consent_check(&cases[i].in, NOW, &err);
		if (!cases[i].field) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, CW_EINVAL);
		if (strcmp(err.field, cases[i].field) != 0)
			fail_msg("case %zu: field %s, want %s", i, err.field, cases[i].field);
	}
	/* from JSON */
	struct consent_input in;
	struct contact_error err;
	json_t *j = json_loads("{\"purpose\":\"results\",\"status\":\"granted\",\"source\":"
			       "\"paper\",\"wording_version\":\"2024-03\",\"evidence\":\"form "
			       "#77\",\"at\":\"2025-06-01T10:00:00+03:00\"}",
			       0, NULL);
	assert_int_equal(consent_input_from_json(&in, j, &err), 0);
	assert_string_equal(in.purpose, "results");
	assert_true(in.at == INT64_C(1748761200000));
	json_decref(j);
	j = json_loads("{\"purpose\":\"results\",\"status\":\"granted\",\"source\":\"paper\","
		       "\"at\":\"yesterday\"}",
		       0, NULL);
	assert_int_equal(consent_input_from_json(&in, j, &err), CW_EINVAL);
	assert_string_equal(err.field, "at");
	json_decref(j);
	j = json_loads("{\"purpose\":5,\"status\":\"granted\",\"source\":\"paper\"}", 0, NULL);
	assert_int_equal(consent_input_from_json(&in, j, &err), CW_EINVAL);
	assert_string_equal(err.field, "purpose");
	json_decref(j);
}

static void make_contact(struct testdb *t, const char *phone, char id[ID_SIZE])
{
	struct contact_draft d;
	struct contact_error err;
	contact_draft_init(&d);
	assert_int_equal(contact_draft_set(&d, "phone", phone, "IL", &err), 0);
	struct contact_write w;
	assert_int_equal(contact_upsert(t->st, t->org, &d, ACTOR, "api", &w), 0);
	contact_draft_release(&d);
	snprintf(id, ID_SIZE, "%s", w.id);
}

static json_t *record(struct testdb *t, const char *id, const char *purpose, const char *status,
		      const char *source, int64_t at)
{
	struct consent_input in = {.purpose = purpose,
				   .status = status,
				   .source = source,
				   .wording_version = "v3",
				   .evidence = "web form 12",
				   .at = at};
	json_t *out = NULL;
	struct contact_error err;
	assert_int_equal(consent_record(t->st, t->org, id, &in, ACTOR, &out, &err), 0);
	assert_non_null(out);
	return out;
}

static const char *current_status(json_t *state, const char *purpose)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(state, "current"), purpose), "status"));
}

static void test_history_and_current(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char id[ID_SIZE];
	make_contact(&t, "0521234567", id);
	int64_t now = time_now_ms();

	json_t *r = record(&t, id, "marketing", "granted", "web", now - 3000);
	assert_string_equal(json_string_value(json_object_get(r, "contact_id")), id);
	assert_string_equal(json_string_value(json_object_get(r, "purpose")), "marketing");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "granted");
	assert_string_equal(json_string_value(json_object_get(r, "source")), "web");
	assert_string_equal(json_string_value(json_object_get(r, "wording_version")), "v3");
	assert_string_equal(json_string_value(json_object_get(r, "evidence")), "web form 12");
	assert_true(json_integer_value(json_object_get(r, "id")) > 0);
	assert_non_null(json_string_value(json_object_get(r, "at")));
	json_decref(r);
	json_decref(record(&t, id, "marketing", "withdrawn", "whatsapp", now - 2000));
	json_t *st = consent_state_json(t.st, t.org, id);
	assert_string_equal(current_status(st, "marketing"), "withdrawn");
	json_decref(st);
	/* a new explicit consent, and other purposes on their own */
	json_decref(record(&t, id, "marketing", "granted", "paper", now - 1000));
	json_decref(record(&t, id, "reminders", "refused", "api", now - 1000));
	/* a paper form dated a year ago, entered today: history, not current */
	json_decref(record(&t, id, "marketing", "refused", "paper", now - INT64_C(365) * 86400000));

	json_t *out = NULL;
	assert_int_equal(consent_read(t.st, t.org, id, ACTOR, &out), 0);
	assert_string_equal(current_status(out, "marketing"), "granted");
	assert_string_equal(current_status(out, "reminders"), "refused");
	assert_null(json_object_get(json_object_get(out, "current"), "results"));
	json_t *h = json_object_get(out, "history");
	assert_int_equal(json_array_size(h), 5);
	/* oldest first: the late paper record leads */
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "status")),
			    "refused");
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "status")),
			    "granted");
	json_decref(out);

	/* audited: five records with their purpose, one read */
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'consent.record' AND purpose IS NOT NULL"),
			 5);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'consent.record' AND purpose = 'reminders' AND detail = "
					"'refused via api'"),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'consent.read'"),
			 1);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	testdb_close(&t);
}

static void test_unknown_and_erased(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct consent_input in = {.purpose = "service", .status = "granted", .source = "api"};
	struct contact_error err;
	json_t *out = NULL;
	assert_int_equal(
	    consent_record(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", &in, ACTOR, &out, &err),
	    CW_ENOTFOUND);
	assert_null(out);
	assert_int_equal(consent_read(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", ACTOR, &out),
			 CW_ENOTFOUND);
	char id[ID_SIZE];
	make_contact(&t, "0521234567", id);
	/* another organisation cannot record for this contact */
	char org2[ID_SIZE];
	id_new(org2);
	testdb_add_org(t.st, org2, "IL");
	assert_int_equal(consent_record(t.st, org2, id, &in, ACTOR, NULL, &err), CW_ENOTFOUND);
	/* an invalid record stores nothing, audit included */
	in.status = "maybe";
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, &err), CW_EINVAL);
	assert_string_equal(err.field, "status");
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM consents"), 0);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'consent.record'"),
			 0);
	in.status = "granted";
	assert_int_equal(contact_erase(t.st, t.org, id, ACTOR, NULL), 0);
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, &err), CW_ECONFLICT);
	assert_string_equal(err.code, "contact_erased");
	testdb_close(&t);
}

static void test_purpose_table(void **state)
{
	(void)state;
	/* the order is policy.h's enum policy_purpose */
	assert_int_equal(consent_purpose_index("service"), 0);
	assert_int_equal(consent_purpose_index("reminders"), 1);
	assert_int_equal(consent_purpose_index("results"), 2);
	assert_int_equal(consent_purpose_index("surveys"), 3);
	assert_int_equal(consent_purpose_index("marketing"), 4);
	assert_int_equal(consent_purpose_index("ads"), -1);
	assert_true(consent_source_valid("import"));
	assert_false(consent_source_valid("email"));
	assert_true(consent_status_valid("withdrawn"));
	assert_false(consent_status_valid("revoked"));
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_history_and_current),
	    cmocka_unit_test(test_unknown_and_erased),
	    cmocka_unit_test(test_purpose_table),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
