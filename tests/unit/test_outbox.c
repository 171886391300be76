/*
 * test_outbox.c — unit tests for core/outbox: queueing (idempotency keys,
 * validation, biz_opaque_callback_data), what each class of Cloud API error
 * does to a row, recording a send and replaying statuses that overtook it,
 * adopting a wamid from a status webhook (crash reconciliation), failures
 * Meta reports later, and the counts per producer.
 *
 * Each test has its own SQLite file under $TMPDIR with one organisation,
 * one phone number and one contact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/id.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/org.h"
#include "core/outbox.h"
#include "store/store.h"
#include "wa/errors.h"
#include "base/banned.h"

#define PNID "106540352242922"
#define WABA "102290129340398"
#define NOW 1790000000000LL /* pinned clock: 2026-09-21 */

struct fx {
	char dir[256];
	char url[320];
	struct store *st;
	uint8_t key[SEC_KEY_BYTES];
	char org[ID_SIZE];
	char num[ID_SIZE];
	char contact[ID_SIZE];
	struct outbox_retry retry;
};

static int64_t qint(struct fx *f, const char *sql, const char *arg);

static int int_cb(void *ud, const struct store_row *row)
{
	*(int64_t *)ud = store_row_is_null(row, 0) ? -999 : store_row_int(row, 0);
	return 1;
}

/* First column of the first row of a read-only SQL text with one optional
 * text argument; -1 when there is no row, -999 for NULL. */
static int64_t qint(struct fx *f, const char *sql, const char *arg)
{
	int64_t v = -1;
	struct store_val a[] = {SV_TEXT(arg)};
	int rc = store_query_sql(f->st, sql, a, arg ? 1 : 0, int_cb, &v);
	assert_true(rc >= 0);
	return v;
}

struct text_out {
	char s[512];
};

static int text_cb(void *ud, const struct store_row *row)
{
	const char *s = store_row_text(row, 0);
	snprintf(((struct text_out *)ud)->s, 512, "%s", s ? s : "(null)");
	return 1;
}

static const char *qtext(struct fx *f, const char *sql, const char *arg, struct text_out *o)
{
	snprintf(o->s, sizeof o->s, "(none)");
	struct store_val a[] = {SV_TEXT(arg)};
	assert_true(store_query_sql(f->st, sql, a, arg ? 1 : 0, text_cb, o) >= 0);
	return o->s;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *base = getenv("TMPDIR");
	snprintf(f->dir, sizeof f->dir, "%s/cw-outbox-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof f->url, "sqlite:%s/cw.db", f->dir);
	assert_int_equal(store_open(f->url, &f->st), 0);
	assert_int_equal(store_migrate(f->st, NULL), 0);
	assert_int_equal(store_check_statements(f->st), 0);
	sec_random(f->key, sizeof f->key);
	time_clock_set(NOW);
	assert_int_equal(org_create(f->st, "Clinic", "clinic", "IL", "en", "Asia/Jerusalem", f->org),
			 0);
	assert_int_equal(number_add(f->st, f->key, f->org, PNID, WABA, "+97235550100", "tok", 80,
				    f->num),
			 0);
	id_new(f->contact);
	struct store_val c[] = {SV_TEXT(f->contact), SV_TEXT(f->org),	 SV_TEXT("+972521234567"),
				SV_TEXT("972521234567"), SV_TEXT("052"), SV_TEXT("Noa"),
				SV_TEXT("he"),		 SV_NULL,	 SV_INT(NOW)};
	assert_int_equal(store_exec(f->st, "contact.insert_inbound", c, 9, NULL), 0);
	outbox_retry_defaults(&f->retry);
	f->retry.delay_scale = 1.0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_free(f->st);
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/cw.db%s", f->dir, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	time_clock_set(-1);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static json_t *text_body(const char *text)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "messaging_product", "whatsapp",
			 "recipient_type", "individual", "to", "972521234567", "type", "text",
			 "text", "body", text);
}

static json_t *template_body(void)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:s}}}", "messaging_product", "whatsapp", "to",
			 "972521234567", "type", "template", "template", "name", "appt_reminder",
			 "language", "code", "he");
}

struct enq {
	struct outbox_item it;
	char id[ID_SIZE];
	int dup;
};

static int enq_fn(struct store_tx *tx, void *ud)
{
	struct enq *e = ud;
	return outbox_enqueue_tx(tx, &e->it, e->id, &e->dup);
}

/* Queues one message; returns the cw_err, the id in id. */
static int enqueue(struct fx *f, const char *key, const char *purpose, const char *producer,
		   json_t *payload, json_t *fallback, int64_t not_before, int64_t expires_at,
		   char id[ID_SIZE], int *dup)
{
	struct enq e = {.it = {.org_id = f->org,
			       .number_id = f->num,
			       .contact_id = f->contact,
			       .idem_key = key,
			       .purpose = purpose,
			       .producer = producer,
			       .priority = OUTBOX_PRIO_TRANSACTIONAL,
			       .payload = payload,
			       .fallback = fallback,
			       .not_before = not_before,
			       .expires_at = expires_at,
			       .deferred = not_before > NOW}};
	int rc = store_tx(f->st, enq_fn, &e);
	json_decref(payload);
	json_decref(fallback);
	if (id)
		snprintf(id, ID_SIZE, "%s", e.id);
	if (dup)
		*dup = e.dup;
	return rc;
}

struct claim_ctx {
	const char *num;
	int64_t now;
	int n;
	int attempts;
};

static int claim_row_cb(void *ud, const struct store_row *row)
{
	struct claim_ctx *c = ud;
	c->n++;
	c->attempts = (int)store_row_int(row, 6);
	return 0;
}

static int claim_fn(struct store_tx *tx, void *ud)
{
	struct claim_ctx *c = ud;
	for (int prio = 0; prio < 2; prio++) {
		struct store_val a[] = {SV_TEXT(c->num), SV_INT(prio), SV_INT(c->now), SV_INT(100),
					SV_INT(1000)};
		int rc = store_tx_query(tx, "outbox.claim", a, 5, claim_row_cb, c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Claims every due row as the dispatcher would: "sending", attempts + 1. */
static int claim_all(struct fx *f, int64_t now)
{
	struct claim_ctx c = {f->num, now, 0, 0};
	assert_int_equal(store_tx(f->st, claim_fn, &c), 0);
	return c.n;
}

struct fail_ctx {
	const char *id;
	int attempts;
	int code;
	int async;
	const struct outbox_retry *r;
	struct outbox_outcome out;
};

static int fail_fn(struct store_tx *tx, void *ud)
{
	struct fail_ctx *c = ud;
	return outbox_fail_tx(tx, c->id, c->attempts, c->code, NULL, c->async, c->r, NOW, &c->out);
}

static enum outbox_outcome_kind fail_row(struct fx *f, const char *id, int attempts, int code)
{
	struct fail_ctx c = {id, attempts, code, 0, &f->retry, {0}};
	assert_int_equal(store_tx(f->st, fail_fn, &c), 0);
	return c.out.kind;
}

static const char *state_of(struct fx *f, const char *id, struct text_out *o)
{
	return qtext(f, "SELECT state FROM outbox WHERE id = ?1", id, o);
}

/* ---- queueing ---- */

static void test_enqueue_basic(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	int dup = -1;
	struct text_out o;
	assert_int_equal(enqueue(f, "k1", "reminders", "journey:7:remind", text_body("hello"), NULL,
				 0, 0, id, &dup),
			 0);
	assert_int_equal(dup, 0);
	assert_true(id_valid(id));
	assert_string_equal(state_of(f, id, &o), "queued");
	assert_int_equal(qint(f, "SELECT not_before FROM outbox WHERE id = ?1", id), NOW);
	assert_int_equal(qint(f, "SELECT priority FROM outbox WHERE id = ?1", id), 0);
	assert_string_equal(
		qtext(f, "SELECT producer FROM outbox WHERE id = ?1", id, &o), "journey:7:remind");
	/* the messages twin: same id, out, queued, the type of the payload */
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
			    "queued");
	assert_string_equal(qtext(f, "SELECT type FROM messages WHERE id = ?1", id, &o), "text");
	assert_string_equal(qtext(f, "SELECT direction FROM messages WHERE id = ?1", id, &o),
			    "out");
	/* the body that will be sent names the row in biz_opaque_callback_data */
	assert_string_equal(qtext(f,
				  "SELECT json_extract(payload, '$.biz_opaque_callback_data') "
				  "FROM outbox WHERE id = ?1",
				  id, &o),
			    id);
	assert_string_equal(qtext(f, "SELECT biz_opaque FROM messages WHERE id = ?1", id, &o), id);
}

static void test_enqueue_idempotent(void **state)
{
	struct fx *f = *state;
	char a[ID_SIZE], b[ID_SIZE];
	int dup = -1;
	assert_int_equal(enqueue(f, "appt:42:v3:24h", "reminders", "sched", text_body("one"), NULL,
				 0, 0, a, &dup),
			 0);
	assert_int_equal(dup, 0);
	assert_int_equal(enqueue(f, "appt:42:v3:24h", "reminders", "sched", text_body("two"), NULL,
				 0, 0, b, &dup),
			 0);
	assert_int_equal(dup, 1);
	assert_string_equal(a, b);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages", NULL), 1);
	/* the first body stays */
	struct text_out o;
	assert_string_equal(qtext(f,
				  "SELECT json_extract(payload, '$.text.body') FROM outbox "
				  "WHERE id = ?1",
				  a, &o),
			    "one");
	/* another key is another message */
	assert_int_equal(enqueue(f, "appt:42:v3:2h", "reminders", "sched", text_body("three"),
				 NULL, 0, 0, b, &dup),
			 0);
	assert_int_equal(dup, 0);
	assert_string_not_equal(a, b);
}

static void test_enqueue_invalid(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	/* no key */
	assert_int_equal(enqueue(f, "", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 CW_EINVAL);
	/* unknown purpose */
	assert_int_equal(enqueue(f, "k", "gossip", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 CW_EINVAL);
	/* a body Meta would refuse: text without a body */
	assert_int_equal(enqueue(f, "k", "service", "api",
				 json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp", "to",
					   "972521234567", "type", "text"),
				 NULL, 0, 0, id, NULL),
			 CW_EINVAL);
	/* a key over the limit */
	char longkey[OUTBOX_IDEM_MAX + 2];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(enqueue(f, longkey, "service", "api", text_body("x"), NULL, 0, 0, id,
				 NULL),
			 CW_EINVAL);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages", NULL), 0);
}

static void test_enqueue_deferred(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "marketing", "campaign:1", text_body("later"), NULL,
				 NOW + 3600000, 0, id, NULL),
			 0);
	assert_string_equal(state_of(f, id, &o), "deferred");
	/* not due: nothing is claimed now, it is an hour later */
	assert_int_equal(claim_all(f, NOW), 0);
	assert_int_equal(claim_all(f, NOW + 3600000), 1);
	assert_string_equal(state_of(f, id, &o), "sending");
}

/* ---- failures ---- */

static void test_fail_retry_backoff(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	/* code 2, service unavailable: retried no sooner than the table's 30 s */
	assert_int_equal(fail_row(f, id, 1, 2), OUTBOX_OUT_RETRY);
	assert_string_equal(state_of(f, id, &o), "queued");
	int64_t nb = qint(f, "SELECT not_before FROM outbox WHERE id = ?1", id);
	assert_true(nb >= NOW + 30000);
	assert_int_equal(qint(f, "SELECT attempts FROM outbox WHERE id = ?1", id), 1);
	assert_int_equal(qint(f, "SELECT error_code FROM outbox WHERE id = ?1", id), 2);
	/* the messages row still waits */
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
			    "queued");
	/* a transport failure after the last attempt fails it for good */
	f->retry.max_attempts = 2;
	assert_int_equal(claim_all(f, nb), 1);
	assert_int_equal(fail_row(f, id, 2, WA_ERR_CODE_TRANSPORT), OUTBOX_OUT_FAILED);
	assert_string_equal(state_of(f, id, &o), "failed");
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
			    "failed");
	assert_int_equal(qint(f, "SELECT error_code FROM messages WHERE id = ?1", id),
			 WA_ERR_CODE_TRANSPORT);
}

static void test_backoff_growth_and_jitter(void **state)
{
	struct fx *f = *state;
	struct outbox_retry r = f->retry;
	r.backoff_base_ms = 1000;
	r.backoff_max_ms = 60000;
	for (int n = 1; n <= 10; n++) {
		int64_t full = 1000LL << (n - 1);
		if (full > 60000)
			full = 60000;
		for (int k = 0; k < 50; k++) {
			int64_t d = outbox_backoff_ms(&r, n, 0);
			assert_true(d >= full / 2);
			assert_true(d <= full);
		}
	}
	/* never under the table's minimum */
	assert_true(outbox_backoff_ms(&r, 1, 30000) >= 30000);
	/* the scale shrinks everything (tests) */
	r.delay_scale = 0.01;
	assert_true(outbox_backoff_ms(&r, 1, 30000) <= 300);
	/* jitter: 200 draws of the 6th back-off are not all equal */
	r.delay_scale = 1;
	int64_t first = outbox_backoff_ms(&r, 6, 0), differ = 0;
	for (int k = 0; k < 200; k++)
		differ += outbox_backoff_ms(&r, 6, 0) != first;
	assert_true(differ > 0);
}

static void test_fail_pair_limit(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "marketing", "campaign:1", text_body("x"), NULL, 0, 0, id,
				 NULL),
			 0);
	int64_t expect[] = {6000, 24000, 96000};
	int64_t t = NOW;
	for (int n = 0; n < 3; n++) {
		assert_int_equal(claim_all(f, t), 1);
		assert_int_equal(fail_row(f, id, 1, 131056), OUTBOX_OUT_DEFER);
		assert_string_equal(state_of(f, id, &o), "deferred");
		/* not before now + 6 s * 4^n; the pair limit is no failed attempt */
		assert_int_equal(qint(f, "SELECT not_before FROM outbox WHERE id = ?1", id),
				 NOW + expect[n]);
		assert_int_equal(qint(f, "SELECT pair_hits FROM outbox WHERE id = ?1", id), n + 1);
		assert_int_equal(qint(f, "SELECT attempts FROM outbox WHERE id = ?1", id), 0);
		t = NOW + expect[n];
	}
}

static void test_fail_131049_24h(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "marketing", "campaign:1", template_body(), NULL, 0, 0, id,
				 NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id, 1, 131049), OUTBOX_OUT_DEFER);
	assert_string_equal(state_of(f, id, &o), "deferred");
	assert_int_equal(qint(f, "SELECT not_before FROM outbox WHERE id = ?1", id),
			 NOW + 24LL * 3600 * 1000);
	/* with a useful time before that, it expires instead */
	char id2[ID_SIZE];
	assert_int_equal(enqueue(f, "k2", "marketing", "campaign:1", template_body(), NULL, 0,
				 NOW + 3600000, id2, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id2, 1, 131049), OUTBOX_OUT_EXPIRED);
	assert_string_equal(state_of(f, id2, &o), "expired");
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id2, &o),
			    "expired");
}

static void test_fail_131050_withdraws_marketing(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "marketing", "campaign:1", template_body(), NULL, 0, 0, id,
				 NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id, 1, 131050), OUTBOX_OUT_FAILED);
	assert_string_equal(state_of(f, id, &o), "failed");
	assert_int_equal(qint(f, "SELECT error_code FROM messages WHERE id = ?1", id), 131050);
	/* a withdrawal, source whatsapp, is now the current marketing consent */
	assert_string_equal(qtext(f,
				  "SELECT status || ':' || (SELECT source FROM consents WHERE "
				  "id = consent_id) FROM consent_current WHERE contact_id = ?1 "
				  "AND purpose = 'marketing'",
				  f->contact, &o),
			    "withdrawn:whatsapp");
	/* never retried: nothing is due later */
	assert_int_equal(claim_all(f, NOW + 48LL * 3600 * 1000), 0);
}

static void test_fail_131047_fallback(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE], id2[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "reminders", "sched", text_body("free text"),
				 template_body(), 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id, 1, 131047), OUTBOX_OUT_FALLBACK);
	assert_string_equal(state_of(f, id, &o), "queued");
	assert_string_equal(
		qtext(f, "SELECT json_extract(payload, '$.type') FROM outbox WHERE id = ?1", id, &o),
		"template");
	assert_string_equal(qtext(f,
				  "SELECT json_extract(payload, '$.biz_opaque_callback_data') "
				  "FROM outbox WHERE id = ?1",
				  id, &o),
			    id);
	assert_int_equal(qint(f, "SELECT fallback IS NULL FROM outbox WHERE id = ?1", id), 1);
	assert_string_equal(qtext(f, "SELECT type FROM messages WHERE id = ?1", id, &o),
			    "template");
	/* the fallback is used once: a second 131047 fails */
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id, 2, 131047), OUTBOX_OUT_FAILED);
	/* without a fallback: failed with that reason */
	assert_int_equal(enqueue(f, "k2", "reminders", "sched", text_body("free text"), NULL, 0, 0,
				 id2, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	assert_int_equal(fail_row(f, id2, 1, 131047), OUTBOX_OUT_FAILED);
	assert_int_equal(qint(f, "SELECT error_code FROM outbox WHERE id = ?1", id2), 131047);
	assert_string_equal(qtext(f, "SELECT error_title FROM messages WHERE id = ?1", id2, &o),
			    wa_err_lookup(131047)->title);
}

static void test_fail_pause_number(void **state)
{
	struct fx *f = *state;
	static const int codes[] = {190, 368, 131031};
	struct text_out o;
	for (int i = 0; i < 3; i++) {
		char id[ID_SIZE], key[16];
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(enqueue(f, key, "service", "api", text_body("x"), NULL, 0, 0, id,
					 NULL),
				 0);
		assert_int_equal(claim_all(f, NOW), 1);
		assert_int_equal(fail_row(f, id, 1, codes[i]), OUTBOX_OUT_PAUSE);
		assert_string_equal(
			qtext(f, "SELECT status FROM numbers WHERE id = ?1", f->num, &o), "paused");
		/* the message waits, its attempt not counted */
		assert_string_equal(state_of(f, id, &o), "queued");
		assert_int_equal(qint(f, "SELECT attempts FROM outbox WHERE id = ?1", id), 0);
		assert_int_equal(qint(f, "SELECT error_code FROM outbox WHERE id = ?1", id),
				 codes[i]);
		assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
				    "queued");
		/* out of the way for the next code */
		assert_int_equal(claim_all(f, NOW), 1);
		assert_int_equal(fail_row(f, id, 1, 131026), OUTBOX_OUT_FAILED);
	}
}

static void test_fail_guard(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	/* a result for another attempt changes nothing */
	assert_int_equal(fail_row(f, id, 7, 131026), OUTBOX_OUT_NONE);
	assert_string_equal(state_of(f, id, &o), "sending");
	/* a permanent error fails it */
	assert_int_equal(fail_row(f, id, 1, 131026), OUTBOX_OUT_FAILED);
	assert_string_equal(state_of(f, id, &o), "failed");
	/* and once failed, a late result of that attempt changes nothing */
	assert_int_equal(fail_row(f, id, 1, 2), OUTBOX_OUT_NONE);
	assert_string_equal(state_of(f, id, &o), "failed");
}

/* ---- sending and statuses ---- */

struct sent_ctx {
	const char *id;
	int attempts;
	const char *wamid;
	int applied;
};

static int sent_fn(struct store_tx *tx, void *ud)
{
	struct sent_ctx *c = ud;
	return outbox_sent_tx(tx, c->id, c->attempts, c->wamid, NOW, &c->applied);
}

static void add_status(struct fx *f, const char *wamid, const char *status, int64_t at,
		       const char *code)
{
	struct store_val a[] = {SV_TEXT(f->org), SV_TEXT(wamid), SV_TEXT(status), SV_INT(at),
				SV_TEXT(code),	 SV_NULL};
	int64_t changes = 0;
	assert_int_equal(store_exec(f->st, "message_status.add_full", a, 6, &changes), 0);
	assert_int_equal(changes, 1);
	/* a duplicate (wamid, status) is no new row */
	assert_int_equal(store_exec(f->st, "message_status.add_full", a, 6, &changes), 0);
	assert_int_equal(changes, 0);
}

static void test_sent_replays_early_statuses(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	/* the webhooks overtook the send answer */
	add_status(f, "wamid.A", "delivered", NOW + 20, NULL);
	add_status(f, "wamid.A", "sent", NOW + 10, NULL);
	struct sent_ctx c = {id, 1, "wamid.A", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c), 0);
	assert_int_equal(c.applied, 1);
	assert_string_equal(state_of(f, id, &o), "sent");
	assert_string_equal(qtext(f, "SELECT wamid FROM outbox WHERE id = ?1", id, &o), "wamid.A");
	assert_string_equal(qtext(f, "SELECT wamid FROM messages WHERE id = ?1", id, &o),
			    "wamid.A");
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
			    "delivered");
	assert_int_equal(qint(f, "SELECT sent_at FROM messages WHERE id = ?1", id), NOW + 10);
	/* a second answer for the same attempt is not applied again */
	c.applied = -1;
	assert_int_equal(store_tx(f->st, sent_fn, &c), 0);
	assert_int_equal(c.applied, 0);
	/* a message with no status yet reads "accepted" */
	char id2[ID_SIZE];
	assert_int_equal(enqueue(f, "k2", "service", "api", text_body("y"), NULL, 0, 0, id2, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	struct sent_ctx c2 = {id2, 1, "wamid.B", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c2), 0);
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id2, &o),
			    "accepted");
	/* error details are kept with a status */
	add_status(f, "wamid.B", "failed", NOW + 30, "131026");
	assert_int_equal(qint(f,
			      "SELECT error_code FROM message_statuses WHERE wamid = 'wamid.B' "
			      "AND status = 'failed'",
			      NULL),
			 131026);
}

/* A status event as the webhook parser would make it. */
static void status_event(struct webhook_event *ev, const char *wamid, enum webhook_status st,
			 const char *opaque, int code)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WH_STATUS;
	ev->field = "messages";
	ev->waba_id = WABA;
	ev->phone_number_id = PNID;
	ev->status.wamid = wamid;
	ev->status.status = st;
	ev->status.status_str = webhook_status_name(st);
	ev->status.biz_opaque_callback_data = opaque;
	if (code) {
		ev->status.error.has_code = true;
		ev->status.error.code = code;
		ev->status.error.title = "from the webhook";
	}
}

struct ev_ctx {
	struct fx *f;
	struct webhook_event ev;
	const char *org;
};

/* What the ingest does for a status, then the handler. */
static int ev_fn(struct store_tx *tx, void *ud)
{
	struct ev_ctx *c = ud;
	const struct webhook_status_update *s = &c->ev.status;
	char code[24] = "";
	if (s->error.has_code)
		snprintf(code, sizeof code, "%lld", s->error.code);
	struct store_val add[] = {SV_TEXT(c->org),	 SV_TEXT(s->wamid),
				  SV_TEXT(s->status_str), SV_INT(NOW),
				  SV_TEXT(code[0] ? code : NULL), SV_TEXT(s->error.title)};
	int rc = store_tx_exec(tx, "message_status.add_full", add, 6, NULL);
	if (rc)
		return rc;
	struct store_val up[] = {SV_TEXT(s->wamid),
				 SV_TEXT(s->status_str),
				 SV_INT(NOW),
				 s->error.has_code ? SV_INT(s->error.code) : SV_NULL,
				 SV_TEXT(s->error.title),
				 SV_INT(NOW)};
	rc = store_tx_exec(tx, "message.update_status", up, 6, NULL);
	if (rc)
		return rc;
	return outbox_on_event(&c->f->retry, tx, &c->ev, c->org);
}

static void deliver(struct fx *f, const char *wamid, enum webhook_status st, const char *opaque,
		    int code)
{
	struct ev_ctx c = {.f = f, .org = f->org};
	status_event(&c.ev, wamid, st, opaque, code);
	assert_int_equal(store_tx(f->st, ev_fn, &c), 0);
}

static void test_event_adopts_wamid(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	/* the process died after sending; Meta's "sent" webhook names our id */
	deliver(f, "wamid.C", WH_ST_SENT, id, 0);
	assert_string_equal(state_of(f, id, &o), "sent");
	assert_string_equal(qtext(f, "SELECT wamid FROM outbox WHERE id = ?1", id, &o), "wamid.C");
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o), "sent");
	/* later statuses find it by wamid as usual */
	deliver(f, "wamid.C", WH_ST_READ, id, 0);
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o), "read");
	/* the send answer that comes after the evidence changes nothing */
	struct sent_ctx c = {id, 1, "wamid.C", -1};
	assert_int_equal(store_tx(f->st, sent_fn, &c), 0);
	assert_int_equal(c.applied, 0);
	/* an unknown id in biz_opaque_callback_data is ignored */
	deliver(f, "wamid.D", WH_ST_SENT, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE wamid = 'wamid.D'",
			      NULL),
			 0);
}

static void test_event_other_org_ignored(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct text_out o;
	assert_int_equal(enqueue(f, "k", "service", "api", text_body("x"), NULL, 0, 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	struct ev_ctx c = {.f = f, .org = "01HZZZZZZZZZZZZZZZZZZZORG2"};
	status_event(&c.ev, "wamid.E", WH_ST_SENT, id, 0);
	assert_int_equal(store_tx(f->st, ev_fn, &c), 0);
	assert_string_equal(state_of(f, id, &o), "sending");
}

static void test_event_async_failures(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE], id2[ID_SIZE], id3[ID_SIZE];
	struct text_out o;
	/* 131047 later, with a fallback template: sent again as the template */
	assert_int_equal(enqueue(f, "k", "reminders", "sched", text_body("free"), template_body(), 0,
				 0, id, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	struct sent_ctx c = {id, 1, "wamid.F", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c), 0);
	deliver(f, "wamid.F", WH_ST_FAILED, id, 131047);
	assert_string_equal(state_of(f, id, &o), "queued");
	assert_string_equal(
		qtext(f, "SELECT json_extract(payload, '$.type') FROM outbox WHERE id = ?1", id, &o),
		"template");
	/* the messages row waits again, without the failed wamid */
	assert_string_equal(qtext(f, "SELECT status FROM messages WHERE id = ?1", id, &o),
			    "queued");
	assert_int_equal(qint(f, "SELECT wamid IS NULL FROM messages WHERE id = ?1", id), 1);
	/* Meta repeats the webhook: nothing more happens */
	deliver(f, "wamid.F", WH_ST_FAILED, id, 131047);
	assert_string_equal(state_of(f, id, &o), "queued");
	assert_int_equal(qint(f, "SELECT fallback IS NULL FROM outbox WHERE id = ?1", id), 1);
	/* a late "delivered" of the failed attempt is not evidence of a send */
	deliver(f, "wamid.F", WH_ST_DELIVERED, id, 0);
	assert_string_equal(state_of(f, id, &o), "queued");

	/* 131050 later: failed, marketing consent withdrawn */
	assert_int_equal(enqueue(f, "k2", "marketing", "campaign:1", template_body(), NULL, 0, 0,
				 id2, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 2); /* the fallback of id too */
	struct sent_ctx c2 = {id2, 1, "wamid.G", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c2), 0);
	deliver(f, "wamid.G", WH_ST_FAILED, id2, 131050);
	assert_string_equal(state_of(f, id2, &o), "failed");
	assert_string_equal(qtext(f,
				  "SELECT status FROM consent_current WHERE contact_id = ?1 AND "
				  "purpose = 'marketing'",
				  f->contact, &o),
			    "withdrawn");

	/* 131049 later: deferred a day, the messages row reset */
	assert_int_equal(enqueue(f, "k3", "marketing", "campaign:1", template_body(), NULL, 0, 0,
				 id3, NULL),
			 0);
	assert_int_equal(claim_all(f, NOW), 1);
	struct sent_ctx c3 = {id3, 1, "wamid.H", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c3), 0);
	deliver(f, "wamid.H", WH_ST_FAILED, id3, 131049);
	assert_string_equal(state_of(f, id3, &o), "deferred");
	assert_int_equal(qint(f, "SELECT not_before FROM outbox WHERE id = ?1", id3),
			 NOW + 24LL * 3600 * 1000);
	/* 131026 later: failed */
	char id4[ID_SIZE];
	assert_int_equal(enqueue(f, "k4", "service", "api", text_body("x"), NULL, 0, 0, id4, NULL),
			 0);
	assert_true(claim_all(f, NOW) >= 1);
	struct sent_ctx c4 = {id4, 1, "wamid.I", 0};
	assert_int_equal(store_tx(f->st, sent_fn, &c4), 0);
	deliver(f, "wamid.I", WH_ST_FAILED, id4, 131026);
	assert_string_equal(state_of(f, id4, &o), "failed");
	assert_int_equal(qint(f, "SELECT error_code FROM outbox WHERE id = ?1", id4), 131026);
}

/* ---- counts per producer ---- */

static void test_stats_per_producer(void **state)
{
	struct fx *f = *state;
	char ids[6][ID_SIZE];
	const char *prod[] = {"journey:7:invite", "journey:7:invite", "journey:7:invite",
			      "journey:7:remind", "journey:7:remind", "campaign:3"};
	for (int i = 0; i < 6; i++) {
		char key[16];
		snprintf(key, sizeof key, "s%d", i);
		assert_int_equal(enqueue(f, key, "service", prod[i], text_body("x"), NULL, 0, 0,
					 ids[i], NULL),
				 0);
	}
	assert_int_equal(claim_all(f, NOW), 6);
	const char *wamids[] = {"w0", "w1", "w2", "w3", "w4", "w5"};
	for (int i = 0; i < 5; i++) {
		struct sent_ctx c = {ids[i], 1, wamids[i], 0};
		assert_int_equal(store_tx(f->st, sent_fn, &c), 0);
	}
	assert_int_equal(fail_row(f, ids[5], 1, 131026), OUTBOX_OUT_FAILED);
	deliver(f, "w0", WH_ST_SENT, ids[0], 0);
	deliver(f, "w0", WH_ST_READ, ids[0], 0); /* read implies delivered */
	deliver(f, "w1", WH_ST_DELIVERED, ids[1], 0);
	deliver(f, "w2", WH_ST_FAILED, ids[2], 131026);
	deliver(f, "w3", WH_ST_SENT, ids[3], 0);
	struct outbox_stats s;
	assert_int_equal(outbox_stats(f->st, f->org, "journey:7:invite", 0, &s), 0);
	assert_int_equal(s.total, 3);
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.delivered, 2);
	assert_int_equal(s.read, 1);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.nfailures, 1);
	assert_int_equal(s.failures[0].code, 131026);
	assert_int_equal(s.failures[0].count, 1);
	/* every step of the journey */
	assert_int_equal(outbox_stats(f->st, f->org, "journey:7:", 1, &s), 0);
	assert_int_equal(s.total, 5);
	assert_int_equal(s.sent, 3);
	/* the campaign */
	assert_int_equal(outbox_stats(f->st, f->org, "campaign:3", 0, &s), 0);
	assert_int_equal(s.total, 1);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.sent, 0);
	/* "journey:7" exactly is no producer */
	assert_int_equal(outbox_stats(f->st, f->org, "journey:7", 0, &s), 0);
	assert_int_equal(s.total, 0);
}

int main(void)
{
	sec_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enqueue_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_retry_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_growth_and_jitter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_pair_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_131049_24h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_131050_withdraws_marketing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_131047_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_pause_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_replays_early_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_adopts_wamid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_other_org_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_async_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_per_producer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
