/*
 * test_audit.c — unit tests for core/audit: the canonical form and its
 * hash, appends and listing, the transaction variant, concurrency, and
 * verification against an edited, a deleted (middle and tail) and a
 * reordered log, done behind carewire's back with SQLite directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <cmocka.h>

#include "testdb.h"

#include "base/err.h"
#include "base/log.h"
#include "core/audit.h"
#include "base/banned.h"

static void add(struct testdb *t, const char *action, const char *subject, const char *outcome)
{
	struct audit_entry e = {.org_id = t->org,
				.actor = "apikey:K1",
				.action = action,
				.subject = subject,
				.outcome = outcome};
	assert_int_equal(audit_record(t->st, &e), 0);
}

/* The documented form, checked against a hash computed independently
 * (Python's hashlib over the form written out by hand). */
static void test_hash_vector(void **state)
{
	(void)state;
	struct audit_row r = {.seq = 1,
			      .org_id = "ORG1",
			      .at = 1700000000000,
			      .actor = "apikey:K1",
			      .action = "contact.read",
			      .subject = "C01",
			      .purpose = NULL,
			      .outcome = "ok",
			      .detail = NULL};
	char h[AUDIT_HASH_HEX];
	audit_hash("0000000000000000000000000000000000000000000000000000000000000000", &r, h);
	assert_string_equal(h, "ccf2cf947439a9abced4721bef7297518e71a38045ce0e698b93f420ee066822");
	/* NULL and "" differ; every field counts */
	char h2[AUDIT_HASH_HEX];
	r.purpose = "";
	audit_hash("0000000000000000000000000000000000000000000000000000000000000000", &r, h2);
	assert_string_not_equal(h, h2);
	r.purpose = NULL;
	r.at++;
	audit_hash("0000000000000000000000000000000000000000000000000000000000000000", &r, h2);
	assert_string_not_equal(h, h2);
}

struct collect {
	int n;
	int64_t seq[16];
	char action[16][32];
	char prev[16][AUDIT_HASH_HEX];
	char hash[16][AUDIT_HASH_HEX];
};

static int collect_cb(void *ud, const struct audit_row *r)
{
	struct collect *c = ud;
	if (c->n < 16) {
		c->seq[c->n] = r->seq;
		snprintf(c->action[c->n], 32, "%s", r->action);
		snprintf(c->prev[c->n], AUDIT_HASH_HEX, "%s", r->prev_hash);
		snprintf(c->hash[c->n], AUDIT_HASH_HEX, "%s", r->hash);
	}
	c->n++;
	return 0;
}

static void test_append_list_verify(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0); /* empty is fine */
	assert_int_equal(v.entries, 0);

	add(&t, "contact.create", "C1", "ok");
	add(&t, "contact.read", "C1", "ok");
	add(&t, "contact.read", "C2", "ok");
	add(&t, "contact.erase", "C1", "ok");

	struct collect c = {0};
	assert_int_equal(audit_list(t.st, t.org, "C1", 0, 100, collect_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], 1);
	assert_int_equal(c.seq[1], 2);
	assert_int_equal(c.seq[2], 4);
	assert_string_equal(c.action[2], "contact.erase");
	/* paging: after seq 2 */
	memset(&c, 0, sizeof c);
	assert_int_equal(audit_list(t.st, t.org, NULL, 2, 100, collect_cb, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seq[0], 3);
	/* the chain: each prev_hash is the previous hash */
	memset(&c, 0, sizeof c);
	assert_int_equal(audit_list(t.st, t.org, NULL, 0, 100, collect_cb, &c), 0);
	assert_int_equal(c.n, 4);
	for (int i = 1; i < 4; i++)
		assert_string_equal(c.prev[i], c.hash[i - 1]);
	/* another org sees nothing */
	struct collect o = {0};
	assert_int_equal(audit_list(t.st, "OTHER", NULL, 0, 100, collect_cb, &o), 0);
	assert_int_equal(o.n, 0);

	assert_int_equal(audit_verify(t.st, &v), 0);
	assert_int_equal(v.entries, 4);
	assert_int_equal(v.bad_seq, 0);
	assert_string_equal(v.head, c.hash[3]);
	testdb_close(&t);
}

static void test_invalid_entries(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct audit_entry e = {.org_id = t.org, .actor = "cli", .action = "x", .outcome = NULL};
	assert_int_equal(audit_record(t.st, &e), CW_EINVAL);
	e.outcome = "ok";
	e.actor = "";
	assert_int_equal(audit_record(t.st, &e), CW_EINVAL);
	e.actor = "cli";
	char big[AUDIT_DETAIL_MAX + 2];
	memset(big, 'd', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	e.detail = big;
	assert_int_equal(audit_record(t.st, &e), CW_EINVAL);
	big[AUDIT_DETAIL_MAX] = '\0'; /* exactly the maximum */
	assert_int_equal(audit_record(t.st, &e), 0);
	assert_int_equal(audit_record(t.st, NULL), CW_EINVAL);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log"), 1);
	testdb_close(&t);
}

/* The tx variant: the entry goes or stays with the caller's work. */
struct txctx {
	const char *org;
	int fail;
};

static int tx_work(struct store_tx *tx, void *ud)
{
	struct txctx *c = ud;
	struct audit_entry e = {.org_id = c->org,
				.actor = "system:test",
				.action = "contact.update",
				.subject = "C9",
				.outcome = "ok"};
	int rc = audit_record_tx(tx, &e);
	if (rc)
		return rc;
	/* a second entry in the same transaction chains onto the first */
	e.action = "consent.record";
	rc = audit_record_tx(tx, &e);
	if (rc)
		return rc;
	return c->fail ? CW_ECONFLICT : 0;
}

static void test_tx_variant(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	add(&t, "contact.read", "C1", "ok");
	struct txctx c = {t.org, 1};
	assert_int_equal(store_tx(t.st, tx_work, &c), CW_ECONFLICT);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log"), 1);
	c.fail = 0;
	assert_int_equal(store_tx(t.st, tx_work, &c), 0);
	assert_int_equal(testdb_int(&t, "SELECT max(seq) FROM audit_log"), 3);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	assert_int_equal(v.entries, 3);
	testdb_close(&t);
}

static void test_sql_cannot_edit(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	add(&t, "contact.read", "C1", "ok");
	assert_int_not_equal(testdb_sql(&t, "UPDATE audit_log SET outcome = 'denied'"), SQLITE_OK);
	assert_int_not_equal(testdb_sql(&t, "DELETE FROM audit_log"), SQLITE_OK);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE outcome = 'ok'"), 1);
	testdb_close(&t);
}

static struct testdb *five(struct testdb *t)
{
	testdb_open(t);
	for (int i = 0; i < 5; i++)
		add(t, "contact.read", "C1", "ok");
	return t;
}

#define UNGUARD "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; "

static void test_detects_edit(void **state)
{
	(void)state;
	struct testdb t;
	five(&t);
	assert_int_equal(testdb_sql(&t, UNGUARD "UPDATE audit_log SET outcome = 'denied' "
						"WHERE seq = 3"),
			 SQLITE_OK);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_int_equal(v.bad_seq, 3);
	assert_int_equal(v.entries, 2);
	assert_non_null(strstr(v.problem, "edited"));
	testdb_close(&t);
}

/* An edit that also recomputes the edited entry's own hash is caught by the
 * next entry. */
static void test_detects_rehashed_edit(void **state)
{
	(void)state;
	struct testdb t;
	five(&t);
	char *prev = testdb_text(&t, "SELECT prev_hash FROM audit_log WHERE seq = 3");
	char *org = testdb_text(&t, "SELECT org_id FROM audit_log WHERE seq = 3");
	long long at = testdb_int(&t, "SELECT at FROM audit_log WHERE seq = 3");
	assert_non_null(prev);
	struct audit_row r = {.seq = 3,
			      .org_id = org,
			      .at = at,
			      .actor = "apikey:K1",
			      .action = "contact.read",
			      .subject = "C1",
			      .outcome = "denied"};
	char h[AUDIT_HASH_HEX], sql[512];
	audit_hash(prev, &r, h);
	snprintf(sql, sizeof sql,
		 UNGUARD "UPDATE audit_log SET outcome = 'denied', hash = '%s' WHERE seq = 3", h);
	assert_int_equal(testdb_sql(&t, sql), SQLITE_OK);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_int_equal(v.bad_seq, 4);
	assert_non_null(strstr(v.problem, "prev_hash"));
	free(prev);
	free(org);
	testdb_close(&t);
}

static void test_detects_delete_middle(void **state)
{
	(void)state;
	struct testdb t;
	five(&t);
	assert_int_equal(testdb_sql(&t, UNGUARD "DELETE FROM audit_log WHERE seq = 2"), SQLITE_OK);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_int_equal(v.bad_seq, 2);
	assert_non_null(strstr(v.problem, "missing"));
	testdb_close(&t);
}

static void test_detects_delete_tail(void **state)
{
	(void)state;
	struct testdb t;
	five(&t);
	assert_int_equal(testdb_sql(&t, UNGUARD "DELETE FROM audit_log WHERE seq >= 4"), SQLITE_OK);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_int_equal(v.bad_seq, 4);
	assert_int_equal(v.entries, 3);
	/* and deleting the head too is still caught when entries remain */
	assert_int_equal(testdb_sql(&t, "DELETE FROM audit_head"), SQLITE_OK);
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_non_null(strstr(v.problem, "head"));
	testdb_close(&t);
}

static void test_detects_reorder(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	add(&t, "contact.read", "C1", "ok");
	add(&t, "contact.erase", "C1", "ok");
	add(&t, "contact.read", "C2", "ok");
	/* swap the contents of entries 1 and 2, keeping their seq */
	assert_int_equal(testdb_sql(&t, UNGUARD
				    "UPDATE audit_log SET action = CASE seq WHEN 1 THEN "
				    "'contact.erase' ELSE 'contact.read' END WHERE seq IN (1, 2)"),
			 SQLITE_OK);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), CW_EINVAL);
	assert_int_equal(v.bad_seq, 1);
	testdb_close(&t);
}

#define THREADS	   8
#define PER_THREAD 40

static void *writer(void *arg)
{
	struct testdb *t = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct audit_entry e = {.org_id = t->org,
					.actor = "system:test",
					.action = "contact.read",
					.outcome = "ok"};
		if (audit_record(t->st, &e) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, &t), 0);
	for (int i = 0; i < THREADS; i++) {
		void *ret = NULL;
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	assert_int_equal(v.entries, THREADS * PER_THREAD);
	assert_int_equal(testdb_int(&t, "SELECT count(DISTINCT prev_hash) FROM audit_log"),
			 THREADS * PER_THREAD);
	testdb_close(&t);
}

static void test_row_json(void **state)
{
	(void)state;
	struct audit_row r = {.seq = 7,
			      .at = 0,
			      .actor = "cli:import",
			      .action = "contact.create",
			      .subject = "C1",
			      .outcome = "ok",
			      .hash = "ab"};
	json_t *o = audit_row_json(&r);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 7);
	assert_string_equal(json_string_value(json_object_get(o, "at")),
			    "1970-01-01T00:00:00.000Z");
	assert_true(json_is_null(json_object_get(o, "purpose")));
	assert_string_equal(json_string_value(json_object_get(o, "actor")), "cli:import");
	json_decref(o);
	char a[AUDIT_ACTOR_MAX];
	assert_string_equal(audit_actor_apikey("01ABC", a), "apikey:01ABC");
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_vector),
	    cmocka_unit_test(test_append_list_verify),
	    cmocka_unit_test(test_invalid_entries),
	    cmocka_unit_test(test_tx_variant),
	    cmocka_unit_test(test_sql_cannot_edit),
	    cmocka_unit_test(test_detects_edit),
	    cmocka_unit_test(test_detects_rehashed_edit),
	    cmocka_unit_test(test_detects_delete_middle),
	    cmocka_unit_test(test_detects_delete_tail),
	    cmocka_unit_test(test_detects_reorder),
	    cmocka_unit_test(test_concurrent_appends),
	    cmocka_unit_test(test_row_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
