/*
 * test_segpreview.c — unit tests for core/segpreview: the seed's query
 * ("patients who finished radiotherapy and recovered, with marketing
 * consent"), counts and samples, the policy exclusions per reason checked
 * against what the send path decides for each contact, a bad query, and
 * the JSON shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "core/optout.h"
#include "core/segpreview.h"
#include "core/send.h"
#include "base/banned.h"

static void field(struct sendenv *e, const char *contact, const char *key, const char *value)
{
	struct store_val a[] = {SV_TEXT(e->db.org), SV_TEXT(contact), SV_TEXT(key),
				SV_TEXT("text"),    SV_TEXT(value),   SV_NULL};
	assert_int_equal(store_exec(e->db.st, "demo.field", a, 6, NULL), 0);
}

static void audience(struct sendenv *e, const char *contact, const char *aud)
{
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE contacts SET audience = '%s' WHERE id = '%s'", aud,
		 contact);
	assert_int_equal(testdb_sql(&e->db, sql), 0);
}

static int stop_marketing(struct store_tx *tx, void *ud)
{
	const char **who = ud;
	return optout_marketing_stopped_tx(tx, who[0], who[1], 1, NULL, SENDENV_NOW, NULL);
}

static int opt_out(struct store_tx *tx, void *ud)
{
	const char **who = ud;
	return optout_stop_tx(tx, who[0], who[1], "test", SENDENV_NOW, NULL);
}

/* Twelve recovered patients who finished radiotherapy, each refused for a
 * different reason or not at all, and a few who do not match. */
static void seed(struct sendenv *e, const char *ids[16])
{
	for (int i = 0; i < 16; i++) {
		char wa[16];
		snprintf(wa, sizeof wa, "9725212340%02d", i);
		ids[i] = sendenv_contact(e, wa, i % 2 ? "ru" : "he", "Asia/Jerusalem");
		audience(e, ids[i], i < 12 ? "recovered patient" : "patient");
		field(e, ids[i], "radiation", i == 11 ? "ongoing" : "completed");
	}
	/* 0-4 granted; 5 refused; 6 withdrawn; 7 none; 8 granted, opted out;
	 * 9 granted, marketing stopped; 10 granted, capped; 11 ongoing */
	for (int i = 0; i <= 4; i++)
		sendenv_consent(e, ids[i], "marketing", "granted", SENDENV_NOW - 20 * SENDENV_DAY);
	sendenv_consent(e, ids[5], "marketing", "refused", SENDENV_NOW - 20 * SENDENV_DAY);
	sendenv_consent(e, ids[6], "marketing", "granted", SENDENV_NOW - 20 * SENDENV_DAY);
	sendenv_consent(e, ids[6], "marketing", "withdrawn", SENDENV_NOW - 10 * SENDENV_DAY);
	for (int i = 8; i <= 12; i++)
		sendenv_consent(e, ids[i], "marketing", "granted", SENDENV_NOW - 20 * SENDENV_DAY);
	sendenv_consent(e, ids[0], "reminders", "granted", SENDENV_NOW - 20 * SENDENV_DAY);
	sendenv_consent(e, ids[8], "reminders", "granted", SENDENV_NOW - 20 * SENDENV_DAY);
	const char *who[2] = {e->db.org, ids[8]};
	assert_int_equal(store_tx(e->db.st, opt_out, who), 0);
	who[1] = ids[9];
	assert_int_equal(store_tx(e->db.st, stop_marketing, who), 0);
	/* 4 has no number left (as after a failed import) */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE contacts SET phone = NULL, wa_id = NULL WHERE id = '%s'",
		 ids[4]);
	assert_int_equal(testdb_sql(&e->db, sql), 0);
}

static enum policy_reason decide_for(struct sendenv *e, const char *contact, const char *key)
{
	json_t *b = json_pack("{s:s, s:{s:s, s:{s:s}}}", "type", "template", "template", "name",
			      "promo", "language", "code", "he");
	struct send_request rq = {.org_id = e->db.org,
				  .contact_id = contact,
				  .purpose = POLICY_MARKETING,
				  .payload = b,
				  .producer = "test",
				  .idem_key = key,
				  .priority = -1};
	struct send_result r;
	assert_int_equal(send_submit(e->db.st, &rq, &r), 0);
	json_decref(b);
	return r.decision.reason;
}

static void test_seed_query(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *ids[16];
	seed(&e, ids);
	/* the canonical query of docs/segments.md */
	static const char q[] = "audience = \"recovered patient\" AND fields.radiation = completed "
				"AND consent.marketing = granted";
	struct segpreview p;
	struct segment_error err;
	assert_int_equal(segpreview_run(e.db.st, e.db.org, q, -1, SENDENV_NOW, &p, &err), 0);
	/* 0-4, 9, 10 granted and matching; 8 withdrew marketing by opting
	 * out, 11 is still in radiotherapy, 12 is not recovered */
	assert_int_equal(p.count, 7);
	assert_int_equal(p.nsample, 7);
	assert_int_equal(p.purpose, -1);
	for (int i = 1; i < p.nsample; i++)
		assert_true(strcmp(p.sample[i - 1].id, p.sample[i].id) < 0);
	assert_string_equal(p.sample[0].name, "Test");
	json_t *j = segpreview_json(&p);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 7);
	assert_null(json_object_get(j, "excluded"));
	assert_int_equal(json_array_size(json_object_get(j, "sample")), 7);
	json_decref(j);
	sendenv_close(&e);
}

static void test_exclusions_match_policy(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *ids[16];
	seed(&e, ids);
	/* 10 already had two promotions this week: the cap (2 per 7 days) */
	for (int k = 0; k < 2; k++) {
		char key[16];
		snprintf(key, sizeof key, "cap%d", k);
		time_clock_set(SENDENV_NOW - (k + 1) * SENDENV_DAY);
		assert_int_equal(decide_for(&e, ids[10], key), POLICY_R_NONE);
	}
	time_clock_set(SENDENV_NOW);

	static const char q[] = "audience = \"recovered patient\" AND fields.radiation = completed";
	struct segpreview p;
	struct segment_error err;
	assert_int_equal(
	    segpreview_run(e.db.st, e.db.org, q, POLICY_MARKETING, SENDENV_NOW, &p, &err), 0);
	assert_int_equal(p.count, 11);
	assert_int_equal(p.eligible, 4);
	assert_int_equal(p.excluded[POLICY_R_INVALID_NUMBER], 1);
	assert_int_equal(p.excluded[POLICY_R_CONSENT_REFUSED], 1);
	/* 6 withdrew on paper, 8 by opting out (which withdraws marketing) */
	assert_int_equal(p.excluded[POLICY_R_CONSENT_WITHDRAWN], 2);
	assert_int_equal(p.excluded[POLICY_R_NO_CONSENT], 1);
	assert_int_equal(p.excluded[POLICY_R_OPTED_OUT], 0);
	assert_int_equal(p.excluded[POLICY_R_MARKETING_STOPPED], 1);
	assert_int_equal(p.excluded[POLICY_R_FREQUENCY_CAP], 1);
	assert_int_equal(p.nsample, 10);

	/* the send path, asked about each matching contact, agrees */
	int64_t tally[POLICY_R_COUNT] = {0};
	for (int i = 0; i < 11; i++) {
		char key[16];
		snprintf(key, sizeof key, "x%d", i);
		tally[decide_for(&e, ids[i], key)]++;
	}
	assert_int_equal(tally[POLICY_R_NONE], p.eligible);
	for (int r = 1; r < POLICY_R_COUNT; r++)
		if (tally[r] != p.excluded[r])
			fail_msg("%s: policy %lld, preview %lld",
				 policy_reason_code((enum policy_reason)r), (long long)tally[r],
				 (long long)p.excluded[r]);

	/* the JSON names each reason with its count */
	json_t *j = segpreview_json(&p);
	json_t *ex = json_object_get(j, "excluded");
	assert_int_equal(json_object_size(ex), 6);
	assert_int_equal(json_integer_value(json_object_get(ex, "consent_withdrawn")), 2);
	assert_null(json_object_get(ex, "opted_out"));
	assert_string_equal(json_string_value(json_object_get(j, "purpose")), "marketing");
	assert_int_equal(json_integer_value(json_object_get(j, "eligible")), 4);
	json_decref(j);

	/* reminders: 0 and 8 have that consent, and 8 opted out (which keeps
	 * the reminders record but stops them); the number is checked first */
	assert_int_equal(
	    segpreview_run(e.db.st, e.db.org, q, POLICY_REMINDERS, SENDENV_NOW, &p, &err), 0);
	assert_int_equal(p.count, 11);
	assert_int_equal(p.excluded[POLICY_R_INVALID_NUMBER], 1);
	assert_int_equal(p.excluded[POLICY_R_NO_CONSENT], 8);
	assert_int_equal(p.excluded[POLICY_R_OPTED_OUT], 1);
	assert_int_equal(p.excluded[POLICY_R_MARKETING_STOPPED], 0);
	assert_int_equal(p.eligible, 1);
	sendenv_close(&e);
}

static void test_bad_query_and_other_org(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *ids[16];
	seed(&e, ids);
	struct segpreview p;
	struct segment_error err;
	assert_int_equal(segpreview_run(e.db.st, e.db.org, "tag = vip AND fileds.status = x", -1,
					SENDENV_NOW, &p, &err),
			 CW_EPARSE);
	assert_int_equal(err.col, 15);
	assert_true(strncmp(err.message, "col 15: unknown field \"fileds.status\"", 37) == 0);
	assert_int_equal(segpreview_run(e.db.st, "01NOSUCHORG000000000000000", "tag = vip", -1,
					SENDENV_NOW, &p, &err),
			 CW_ENOTFOUND);
	/* another organisation sees none of these contacts */
	char other[ID_SIZE];
	id_new(other);
	testdb_add_org(e.db.st, other, "IL");
	assert_int_equal(segpreview_run(e.db.st, other, "fields.radiation = completed",
					POLICY_MARKETING, SENDENV_NOW, &p, &err),
			 0);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.nsample, 0);
	/* the preview is audited: one entry per contact shown */
	assert_int_equal(segpreview_run(e.db.st, e.db.org, "fields.radiation = ongoing", -1,
					SENDENV_NOW, &p, &err),
			 0);
	assert_int_equal(p.count, 1);
	assert_int_equal(segpreview_audit(e.db.st, e.db.org, "cli:segment", &p), 0);
	char sql[200];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit_log WHERE action = 'segment.preview' "
		 "AND subject = '%s'",
		 ids[11]);
	assert_int_equal(testdb_int(&e.db, sql), 1);
	sendenv_close(&e);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* With more contacts than the sample holds, the sample is the first ids in
 * order, whatever order the query walks the contacts in: here the language
 * index gives all he (created last, the larger ids), then all ru. */
static void test_sample_is_first_ids(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *ids[25];
	for (int i = 0; i < 25; i++) {
		char wa[16];
		snprintf(wa, sizeof wa, "9725212350%02d", i);
		ids[i] = sendenv_contact(&e, wa, i < 12 ? "ru" : "he", "Asia/Jerusalem");
	}
	qsort(ids, 25, sizeof ids[0], id_cmp);
	struct segpreview p;
	struct segment_error err;
	static const int purposes[] = {-1, POLICY_MARKETING};
	for (size_t k = 0; k < sizeof purposes / sizeof purposes[0]; k++) {
		assert_int_equal(segpreview_run(e.db.st, e.db.org, "language = he OR language = ru",
						purposes[k], SENDENV_NOW, &p, &err),
				 0);
		assert_int_equal(p.count, 25);
		assert_int_equal(p.nsample, SEGPREVIEW_SAMPLE);
		for (int i = 0; i < SEGPREVIEW_SAMPLE; i++) {
			assert_string_equal(p.sample[i].id, ids[i]);
			assert_string_equal(p.sample[i].name, "Test");
			assert_true(strcmp(p.sample[i].language, "he") == 0 ||
				    strcmp(p.sample[i].language, "ru") == 0);
		}
	}
	/* nobody consented to marketing */
	assert_int_equal(p.purpose, POLICY_MARKETING);
	assert_int_equal(p.eligible, 0);
	assert_int_equal(p.excluded[POLICY_R_NO_CONSENT], 25);
	sendenv_close(&e);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed_query),
	    cmocka_unit_test(test_exclusions_match_policy),
	    cmocka_unit_test(test_bad_query_and_other_org),
	    cmocka_unit_test(test_sample_is_first_ids),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	text_thread_release();
	return rc;
}
