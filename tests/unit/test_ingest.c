/*
 * test_ingest.c — unit tests for core/ingest's intake and worker batching:
 * ingest_accept_async (durable before done says so, done on the writer
 * thread, counted), several bodies applied per write transaction, and a
 * failing body that loses only itself and stops the round, oldest first;
 * a body stored and applied in one commit when nothing older waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"

#include "base/err.h"
#include "base/log.h"
#include "core/ingest.h"
#include "base/banned.h"

/* A signed-looking status webhook for wamid (one event per body). */
static void status_body(char *out, size_t n, const char *wamid)
{
	snprintf(out, n,
		 "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W1\",\"changes\":"
		 "[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
		 "\"metadata\":{\"display_phone_number\":\"97235550100\",\"phone_number_id\":"
		 "\"PNID-UNKNOWN\"},\"statuses\":[{\"id\":\"%s\",\"status\":\"delivered\","
		 "\"timestamp\":\"1763800000\",\"recipient_id\":\"972521234567\"}]}}]}]}",
		 wamid);
}

static long long count(const struct testdb *t, const char *sql)
{
	return testdb_int(t, sql);
}

/* ---- ingest_accept_async ---- */

struct done_rec {
	atomic_int calls;
	int rc;
	pthread_t thread;
	long long rows_seen; /* webhook_log rows visible from the callback */
	const struct testdb *t;
};

static void on_done(void *ud, int rc)
{
	struct done_rec *d = ud;
	d->rc = rc;
	d->thread = pthread_self();
	d->rows_seen = count(d->t, "SELECT count(*) FROM webhook_log");
	atomic_fetch_add(&d->calls, 1);
}

static void test_accept_async(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct ingest *ing = ingest_new(t.st);
	char body[1024];
	status_body(body, sizeof body, "wamid.async-1");
	struct done_rec d = {.t = &t};
	assert_int_equal(ingest_accept_async(ing, body, strlen(body), "sha256=00", on_done, &d), 0);
	memset(body, 'x', strlen(body)); /* the body was copied */
	for (int i = 0; i < 500 && atomic_load(&d.calls) < 1; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&d.calls), 1);
	assert_int_equal(d.rc, 0);
	assert_false(pthread_equal(d.thread, pthread_self()));
	assert_int_equal(d.rows_seen, 1); /* committed before done is told */
	struct ingest_stats s;
	ingest_get_stats(ing, &s);
	assert_int_equal(s.accepted, 1);
	assert_int_equal(ingest_drain(ing), 1);
	assert_int_equal(count(&t, "SELECT count(*) FROM message_statuses WHERE wamid = "
				   "'wamid.async-1'"),
			 1);
	assert_int_equal(count(&t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL"),
			 0);
	assert_int_equal(ingest_accept_async(ing, body, 4, NULL, NULL, NULL), CW_EINVAL);
	ingest_free(ing);
	testdb_close(&t);
}

/* ---- batching and a failing body ---- */

static atomic_int fail_bad; /* the event handler fails for "wamid.bad*" while set */
static atomic_int handler_calls;

static int failing_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
			 const char *org_id)
{
	(void)ud;
	(void)tx;
	(void)org_id;
	atomic_fetch_add(&handler_calls, 1);
	if (ev->kind == WH_STATUS && atomic_load(&fail_bad) && ev->status.wamid &&
	    strncmp(ev->status.wamid, "wamid.bad", 9) == 0)
		return CW_EIO;
	return 0;
}

static void accept_sync(struct ingest *ing, const char *wamid)
{
	char body[1024];
	status_body(body, sizeof body, wamid);
	assert_int_equal(ingest_accept(ing, body, strlen(body), NULL, NULL), 0);
}

static void test_failing_body_loses_only_itself(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct ingest *ing = ingest_new(t.st);
	ingest_add_event(ing, "failing", failing_event, NULL);
	atomic_store(&fail_bad, 1);
	accept_sync(ing, "wamid.ok1");
	accept_sync(ing, "wamid.ok2");
	accept_sync(ing, "wamid.bad");
	accept_sync(ing, "wamid.ok3");
	/* the two before it commit; it and what follows wait (order kept) */
	assert_int_equal(ingest_drain(ing), 2);
	assert_int_equal(count(&t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL"),
			 2);
	assert_int_equal(count(&t, "SELECT count(*) FROM message_statuses"), 2);
	/* the failing body's own status row was undone with it */
	assert_int_equal(count(&t, "SELECT count(*) FROM message_statuses WHERE wamid = "
				   "'wamid.bad'"),
			 0);
	struct ingest_stats s;
	ingest_get_stats(ing, &s);
	assert_int_equal(s.processed, 2);
	assert_int_equal(s.events, 2);

	atomic_store(&fail_bad, 0);
	assert_int_equal(ingest_drain(ing), 2);
	assert_int_equal(count(&t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL"),
			 0);
	assert_int_equal(count(&t, "SELECT count(*) FROM message_statuses"), 4);
	ingest_get_stats(ing, &s);
	assert_int_equal(s.processed, 4);
	ingest_free(ing);
	testdb_close(&t);
}

#define MANY 40

/* Many bodies share a transaction: 40 bodies take a handful of commits. */
static void test_bodies_share_commits(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct ingest *ing = ingest_new(t.st);
	char wamid[32];
	for (int i = 0; i < MANY; i++) {
		snprintf(wamid, sizeof wamid, "wamid.many-%d", i);
		accept_sync(ing, wamid);
	}
	struct store_stats s0, s1;
	store_get_stats(t.st, &s0);
	assert_int_equal(ingest_drain(ing), MANY);
	store_get_stats(t.st, &s1);
	assert_true(s1.commits - s0.commits <= 4);
	assert_int_equal(count(&t, "SELECT count(*) FROM message_statuses"), MANY);
	/* a retried webhook is a duplicate, applied once */
	accept_sync(ing, "wamid.many-0");
	assert_int_equal(ingest_drain(ing), 1);
	struct ingest_stats is;
	ingest_get_stats(ing, &is);
	assert_int_equal(is.processed, MANY + 1);
	assert_int_equal(is.events, MANY);
	assert_int_equal(is.duplicates, 1);
	ingest_free(ing);
	testdb_close(&t);
}

/* ---- stored and applied in one commit ---- */

struct applied_rec {
	atomic_int calls;
	int rc;
	long long unprocessed; /* bodies not applied, seen from the callback */
	long long statuses;    /* status rows, seen from the callback */
	const struct testdb *t;
};

/* Runs right after the commit, before any other transaction can commit
 * (the writer is busy calling it): what it sees is what that one commit
 * did. */
static void on_applied(void *ud, int rc)
{
	struct applied_rec *d = ud;
	d->rc = rc;
	d->unprocessed = count(d->t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL");
	d->statuses = count(d->t, "SELECT count(*) FROM message_statuses");
	atomic_fetch_add(&d->calls, 1);
}

static void accept_and_wait(struct ingest *ing, const char *wamid, struct applied_rec *d)
{
	char body[1024];
	status_body(body, sizeof body, wamid);
	atomic_store(&d->calls, 0);
	assert_int_equal(ingest_accept_async(ing, body, strlen(body), NULL, on_applied, d), 0);
	for (int i = 0; i < 500 && atomic_load(&d->calls) < 1; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&d->calls), 1);
	assert_int_equal(d->rc, 0);
}

static void wait_applied(const struct testdb *t, long long want)
{
	for (int i = 0; i < 500; i++) {
		if (count(t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL") == 0 &&
		    count(t, "SELECT count(*) FROM message_statuses") == want)
			return;
		usleep(10000);
	}
	fail_msg("bodies were not applied: %lld waiting, %lld statuses",
		 count(t, "SELECT count(*) FROM webhook_log WHERE processed_at IS NULL"),
		 count(t, "SELECT count(*) FROM message_statuses"));
}

/* With the worker running and nothing older waiting, a body is applied in
 * the commit that stores it; with an older body waiting, or when applying
 * it fails, it is only stored and the worker applies it, in order, once. */
static void test_applied_in_the_same_commit(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	atomic_store(&fail_bad, 1);
	/* a body left from before a restart, which fails to apply for now */
	struct ingest *ing = ingest_new(t.st);
	ingest_add_event(ing, "failing", failing_event, NULL);
	accept_sync(ing, "wamid.bad");
	ingest_free(ing);

	ing = ingest_new(t.st);
	ingest_add_event(ing, "failing", failing_event, NULL);
	assert_int_equal(ingest_start(ing), 0);
	struct applied_rec d = {.t = &t};
	/* it waits, so the next body is only stored (the order is kept) */
	accept_and_wait(ing, "wamid.one", &d);
	assert_int_equal(d.unprocessed, 2);
	assert_int_equal(d.statuses, 0);
	atomic_store(&fail_bad, 0);
	wait_applied(&t, 2);

	/* nothing older waits: applied by the commit that stores it */
	accept_and_wait(ing, "wamid.two", &d);
	assert_int_equal(d.unprocessed, 0);
	assert_int_equal(d.statuses, 3);

	/* applying fails: stored, acknowledged, left to the worker; a body
	 * after it waits for it */
	atomic_store(&fail_bad, 1);
	accept_and_wait(ing, "wamid.bad-2", &d);
	assert_int_equal(d.unprocessed, 1);
	assert_int_equal(d.statuses, 3);
	accept_and_wait(ing, "wamid.three", &d);
	assert_int_equal(d.unprocessed, 2);
	atomic_store(&fail_bad, 0);
	wait_applied(&t, 5);

	/* caught up: one commit again */
	accept_and_wait(ing, "wamid.four", &d);
	assert_int_equal(d.unprocessed, 0);
	assert_int_equal(d.statuses, 6);
	struct ingest_stats s;
	ingest_get_stats(ing, &s);
	assert_int_equal(s.accepted, 5);
	assert_int_equal(s.processed, 6); /* and the body from before */
	ingest_free(ing);
	testdb_close(&t);
}

int main(void)
{
	log_set_level(LOG_OFF);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_async),
	    cmocka_unit_test(test_failing_body_loses_only_itself),
	    cmocka_unit_test(test_bodies_share_commits),
	    cmocka_unit_test(test_applied_in_the_same_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
