/*
 * test_send.c — unit tests for core/send: every decision is stored, allow
 * queues, deny queues nothing, defer queues a deferred row with not_before;
 * consent withdrawn then granted again; an erased contact; marketing
 * stopped; the window for free-form against templates, and the fallback;
 * idempotency; frequency caps and the tier budget from the stored counters;
 * re-checking a deferred message; the human-visible text; organisation
 * settings; and the bot's replies going through policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "core/bot.h"
#include "core/contact.h"
#include "core/formulary.h"
#include "core/ingest.h"
#include "core/optout.h"
#include "core/send.h"
#include "base/banned.h"

static json_t *text_body(const char *t)
{
	return json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", t);
}

static json_t *tpl_body(const char *name, const char *param)
{
	return json_pack("{s:s, s:{s:s, s:{s:s}, s:[{s:s, s:[{s:s, s:s}]}]}}", "type", "template",
			 "template", "name", name, "language", "code", "he", "components", "type",
			 "body", "parameters", "type", "text", "text", param);
}

/* Submits payload (stolen) for contact with purpose under key. */
static int submit_full(struct sendenv *e, const char *contact, enum policy_purpose p,
		       json_t *payload, json_t *fallback, const char *key, struct send_result *res)
{
	struct send_request rq = {.org_id = e->db.org,
				  .contact_id = contact,
				  .purpose = p,
				  .payload = payload,
				  .fallback = fallback,
				  .producer = "test",
				  .idem_key = key,
				  .priority = -1};
	if (p == POLICY_RESULTS)
		rq.result_category = "lipids";
	int rc = send_submit(e->db.st, &rq, res);
	json_decref(payload);
	json_decref(fallback);
	return rc;
}

static int submit(struct sendenv *e, const char *contact, enum policy_purpose p, json_t *payload,
		  const char *key, struct send_result *res)
{
	return submit_full(e, contact, p, payload, NULL, key, res);
}

static long long count_decisions(struct sendenv *e, const char *contact)
{
	return sendenv_int(e, "SELECT count(*) FROM decisions WHERE contact_id = '%s'", contact);
}

static long long count_outbox(struct sendenv *e, const char *contact)
{
	return sendenv_int(e, "SELECT count(*) FROM outbox WHERE contact_id = '%s'", contact);
}

struct seen {
	int n;
	char outcome[3][8];
};

static int list_cb(void *ud, const struct send_decision_row *d)
{
	struct seen *s = ud;
	if (s->n < 3)
		snprintf(s->outcome[s->n], sizeof s->outcome[0], "%s", d->outcome);
	s->n++;
	return 0;
}

/* Runs optout calls inside a transaction: who[0] org, who[1] contact. */
static int set_stopped(struct store_tx *tx, void *ud)
{
	const char **who = ud;
	return optout_marketing_stopped_tx(tx, who[0], who[1], 1, NULL, SENDENV_NOW, NULL);
}

static int opt_out_fn(struct store_tx *tx, void *ud)
{
	const char **who = ud;
	return optout_stop_tx(tx, who[0], who[1], "test", SENDENV_NOW, NULL);
}

struct recheck_ctx {
	const char *org, *msg;
	json_t *payload;
	int64_t now;
	struct policy_decision d;
};

static int recheck_fn(struct store_tx *tx, void *ud)
{
	struct recheck_ctx *c = ud;
	return send_recheck_tx(tx, c->org, c->msg, c->payload, c->now, &c->d);
}

/* ---- every outcome is stored; only allow and defer queue ---- */

static void test_outcomes_stored(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	struct send_result r;

	/* allow: an approved UTILITY reminder at noon */
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "Dana"), "k1", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(r.decision.reason, POLICY_R_NONE);
	assert_int_equal(strlen(r.message_id), ID_LEN);
	char *state_s = sendenv_text(&e, "SELECT state FROM outbox WHERE id = '%s'", r.message_id);
	assert_string_equal(state_s, "queued");
	free(state_s);
	char *to = sendenv_text(
	    &e, "SELECT json_extract(payload, '$.to') FROM outbox WHERE id = '%s'", r.message_id);
	assert_string_equal(to, "972521234567"); /* addressed from the contact */
	free(to);
	char *mid =
	    sendenv_text(&e, "SELECT message_id FROM decisions WHERE id = '%s'", r.decision_id);
	assert_string_equal(mid, r.message_id);
	free(mid);

	/* deny: no marketing consent; nothing queued, no message id */
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "x"), "k2", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_DENY);
	assert_int_equal(r.decision.reason, POLICY_R_NO_CONSENT);
	assert_string_equal(r.message_id, "");
	assert_int_equal(sendenv_int(&e, "SELECT message_id IS NULL FROM decisions WHERE id = '%s'",
				     r.decision_id),
			 1);

	/* defer: 22:00 in Jerusalem is quiet; until 08:00 local (06:00Z) */
	time_clock_set(SENDENV_NOW + 10 * SENDENV_HOUR);
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "Dana"), "k3", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_DEFER);
	assert_int_equal(r.decision.reason, POLICY_R_QUIET_HOURS);
	assert_int_equal(r.decision.until, SENDENV_NOW + 20 * SENDENV_HOUR);
	state_s = sendenv_text(&e, "SELECT state FROM outbox WHERE id = '%s'", r.message_id);
	assert_string_equal(state_s, "deferred");
	free(state_s);
	assert_int_equal(
	    sendenv_int(&e, "SELECT not_before FROM outbox WHERE id = '%s'", r.message_id),
	    SENDENV_NOW + 20 * SENDENV_HOUR);
	assert_int_equal(
	    sendenv_int(&e, "SELECT until FROM decisions WHERE id = '%s'", r.decision_id),
	    SENDENV_NOW + 20 * SENDENV_HOUR);

	assert_int_equal(count_decisions(&e, c), 3);
	assert_int_equal(count_outbox(&e, c), 2);
	/* each decision is in the audit log too */
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM audit_log WHERE action = "
					   "'message.decide'"),
			 3);
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM audit_log WHERE action = "
					   "'message.decide' AND outcome = 'deny'"),
			 1);

	/* the listing, newest first, with the stored sentence */
	struct seen seen = {.n = 0};
	assert_int_equal(send_decisions_list(e.db.st, e.db.org, c, 10, list_cb, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.outcome[0], "defer");
	assert_string_equal(seen.outcome[1], "deny");
	assert_string_equal(seen.outcome[2], "allow");
	sendenv_close(&e);
}

/* ---- consent ---- */

static void test_consent_withdrawn_then_granted(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	struct send_result r;
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - 10 * SENDENV_DAY);
	sendenv_consent(&e, c, "marketing", "withdrawn", SENDENV_NOW - 5 * SENDENV_DAY);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "x"), "m1", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_CONSENT_WITHDRAWN);
	assert_non_null(strstr(r.decision.message, "withdrawn on 2026-11-17 (source: paper)"));
	assert_int_equal(count_outbox(&e, c), 0);

	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "x"), "m2", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(count_outbox(&e, c), 1);
	/* marketing is bulk traffic */
	assert_int_equal(
	    sendenv_int(&e, "SELECT priority FROM outbox WHERE id = '%s'", r.message_id), 1);

	/* refused is its own reason */
	const char *d = sendenv_contact(&e, "972521234568", "en", "Asia/Jerusalem");
	sendenv_consent(&e, d, "marketing", "refused", SENDENV_NOW - SENDENV_DAY);
	assert_int_equal(submit(&e, d, POLICY_MARKETING, tpl_body("promo", "x"), "m3", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_CONSENT_REFUSED);
	sendenv_close(&e);
}

static void test_erased_contact(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	int already = 0;
	assert_int_equal(contact_erase(e.db.st, e.db.org, c, "test", &already), 0);
	struct send_result r;
	assert_int_equal(submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "e1", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_DENY);
	assert_int_equal(r.decision.reason, POLICY_R_CONTACT_ERASED);
	assert_string_equal(r.message_id, "");
	assert_int_equal(count_outbox(&e, c), 0);
	assert_int_equal(count_decisions(&e, c), 1);

	/* an unknown contact is an error, not a decision */
	assert_int_equal(submit(&e, "01NOSUCHCONTACT00000000000", POLICY_REMINDERS,
				tpl_body("appt_reminder", "x"), "e2", &r),
			 CW_ENOTFOUND);
	assert_string_equal(r.field, "contact_id");
	sendenv_close(&e);
}

static void test_marketing_stopped(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "surveys", "granted", SENDENV_NOW - SENDENV_DAY);
	const char *who[2] = {e.db.org, c};
	assert_int_equal(store_tx(e.db.st, set_stopped, who), 0);
	struct optout_state os;
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.marketing_stopped, 1);

	struct send_result r;
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "x"), "s1", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_MARKETING_STOPPED);
	/* a survey in a MARKETING template is refused too */
	assert_int_equal(submit(&e, c, POLICY_SURVEYS, tpl_body("survey", "x"), "s2", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_MARKETING_STOPPED);
	/* a reminder in a UTILITY template still goes */
	assert_int_equal(submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "s3", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	sendenv_close(&e);
}

/* ---- the window, templates and the fallback ---- */

static void test_window_freeform_template(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	struct send_result r;

	/* never wrote: free-form is refused, a template goes */
	assert_int_equal(submit(&e, c, POLICY_REMINDERS, text_body("see you"), "w1", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_WINDOW_CLOSED);
	assert_int_equal(submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "w2", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);

	/* with the free-form and a fallback template: the template is decided
	 * on and queued, with no fallback of its own */
	assert_int_equal(submit_full(&e, c, POLICY_REMINDERS, text_body("see you"),
				     tpl_body("appt_reminder", "x"), "w3", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(r.used_fallback, 1);
	char *type = sendenv_text(&e,
				  "SELECT json_extract(payload, '$.type') FROM outbox WHERE "
				  "id = '%s'",
				  r.message_id);
	assert_string_equal(type, "template");
	free(type);
	assert_int_equal(
	    sendenv_int(&e, "SELECT fallback IS NULL FROM outbox WHERE id = '%s'", r.message_id),
	    1);

	/* the template must be approved, of the right category and known */
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo_pending", "x"), "w4", &r),
			 0);
	assert_int_equal(r.decision.reason, POLICY_R_TEMPLATE_NOT_APPROVED);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("appt_reminder", "x"), "w5", &r),
			 0);
	assert_int_equal(r.decision.reason, POLICY_R_TEMPLATE_CATEGORY_MISMATCH);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("no_such", "x"), "w6", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_TEMPLATE_NOT_APPROVED);

	/* the person wrote an hour ago: free-form goes, with the fallback kept
	 * for the dispatcher (131047) */
	sendenv_window(&e, c, SENDENV_NOW - SENDENV_HOUR);
	assert_int_equal(submit_full(&e, c, POLICY_REMINDERS, text_body("see you"),
				     tpl_body("appt_reminder", "x"), "w7", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(r.used_fallback, 0);
	assert_int_equal(sendenv_int(&e, "SELECT fallback IS NOT NULL FROM outbox WHERE id = '%s'",
				     r.message_id),
			 1);
	sendenv_close(&e);
}

/* ---- idempotency ---- */

static void test_idempotent(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	struct send_result r1, r2;
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "same", &r1), 0);
	assert_int_equal(r1.duplicate, 0);
	/* the consent is withdrawn meanwhile: the retry still answers as the
	 * first call did, and stores nothing new */
	sendenv_consent(&e, c, "reminders", "withdrawn", SENDENV_NOW);
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "same", &r2), 0);
	assert_int_equal(r2.duplicate, 1);
	assert_int_equal(r2.decision.outcome, POLICY_ALLOW);
	assert_string_equal(r2.message_id, r1.message_id);
	assert_string_equal(r2.decision_id, r1.decision_id);
	assert_int_equal(count_decisions(&e, c), 1);
	assert_int_equal(count_outbox(&e, c), 1);
	/* a bad request stores nothing */
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, json_pack("{s:s}", "type", "text"), "bad", &r2),
	    CW_EINVAL);
	assert_string_equal(r2.field, "payload");
	assert_int_equal(count_decisions(&e, c), 1);
	sendenv_close(&e);
}

/* ---- counters: caps and the tier budget ---- */

static void test_frequency_cap(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	sendenv_settings(&e, "{\"policy\":{\"marketing_cap\":{\"max\":2,\"days\":7}}}");
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - 30 * SENDENV_DAY);
	struct send_result r;
	/* one 8 days ago (outside the period), one 3 days ago, one now */
	time_clock_set(SENDENV_NOW - 8 * SENDENV_DAY);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "a"), "f1", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	time_clock_set(SENDENV_NOW - 3 * SENDENV_DAY);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "b"), "f2", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	time_clock_set(SENDENV_NOW);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "c"), "f3", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	/* the cap counts what was allowed in the last 7 days: 2 */
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "d"), "f4", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_FREQUENCY_CAP);
	/* a refused one does not count: after f2 leaves the period, one goes */
	time_clock_set(SENDENV_NOW + 4 * SENDENV_DAY + SENDENV_HOUR);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "e"), "f5", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(submit(&e, c, POLICY_MARKETING, tpl_body("promo", "f"), "f6", &r), 0);
	assert_int_equal(r.decision.reason, POLICY_R_FREQUENCY_CAP);
	sendenv_close(&e);
}

static void test_tier_budget(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	sendenv_settings(&e, "{\"policy\":{\"tier\":2}}");
	const char *c[4];
	for (int i = 0; i < 4; i++) {
		char wa[16];
		snprintf(wa, sizeof wa, "97252123450%d", i);
		c[i] = sendenv_contact(&e, wa, "he", "Asia/Jerusalem");
		sendenv_consent(&e, c[i], "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	}
	struct send_result r;
	time_clock_set(SENDENV_NOW - SENDENV_HOUR);
	assert_int_equal(
	    submit(&e, c[0], POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "t0", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	time_clock_set(SENDENV_NOW);
	assert_int_equal(
	    submit(&e, c[1], POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "t1", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	/* a third recipient waits until the first leaves the 24 hours (counted
	 * in 15-minute buckets: the first's bucket, 09:00-09:15, leaves at
	 * 09:15 the next day) */
	assert_int_equal(
	    submit(&e, c[2], POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "t2", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_DEFER);
	assert_int_equal(r.decision.reason, POLICY_R_TIER_BUDGET);
	assert_int_equal(r.decision.until,
			 SENDENV_NOW - SENDENV_HOUR + 15 * SENDENV_MIN + SENDENV_DAY);
	/* a recipient already counted spends nothing more */
	assert_int_equal(
	    submit(&e, c[0], POLICY_REMINDERS, tpl_body("appt_reminder", "y"), "t3", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	/* nor does a reply inside the person's window */
	sendenv_window(&e, c[3], SENDENV_NOW - SENDENV_MIN);
	assert_int_equal(
	    submit(&e, c[3], POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "t4", &r), 0);
	assert_int_equal(r.decision.outcome, POLICY_ALLOW);
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM tier_recipients"), 2);
	assert_int_equal(testdb_int(&e.db, "SELECT sum(n) FROM tier_buckets"), 2);

	/* the deferred one, asked again when budget frees, goes */
	assert_int_equal(
	    submit(&e, c[2], POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "t2", &r), 0);
	assert_int_equal(r.duplicate, 1);
	struct recheck_ctx rc = {.org = e.db.org,
				 .msg = r.message_id,
				 .payload = tpl_body("appt_reminder", "x"),
				 .now = r.decision.until};
	rc.now = r.decision.until - 1; /* not a moment before */
	assert_int_equal(store_tx(e.db.st, recheck_fn, &rc), 0);
	assert_int_equal(rc.d.reason, POLICY_R_TIER_BUDGET);
	rc.now = r.decision.until;
	assert_int_equal(store_tx(e.db.st, recheck_fn, &rc), 0);
	assert_int_equal(rc.d.outcome, POLICY_ALLOW);
	/* it counts now, in its own bucket; the first one is still counted by
	 * its row but no longer in the sum of the last 24 hours */
	assert_int_equal(testdb_int(&e.db, "SELECT sum(n) FROM tier_buckets"), 3);
	json_decref(rc.payload);
	sendenv_close(&e);
}

/* ---- re-checking a deferred message ---- */

static void test_recheck(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	struct send_result r;
	time_clock_set(SENDENV_NOW + 10 * SENDENV_HOUR); /* 22:00 local */
	assert_int_equal(submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "x"), "q1", &r),
			 0);
	assert_int_equal(r.decision.outcome, POLICY_DEFER);
	struct recheck_ctx rc = {.org = e.db.org,
				 .msg = r.message_id,
				 .payload = tpl_body("appt_reminder", "x"),
				 .now = r.decision.until};
	/* at until it goes */
	assert_int_equal(store_tx(e.db.st, recheck_fn, &rc), 0);
	assert_int_equal(rc.d.outcome, POLICY_ALLOW);
	/* withdrawn meanwhile: asked again, it is refused (not sent on the old
	 * decision) */
	sendenv_consent(&e, c, "reminders", "withdrawn", r.decision.until + 1);
	rc.now = r.decision.until + 2;
	assert_int_equal(store_tx(e.db.st, recheck_fn, &rc), 0);
	assert_int_equal(rc.d.reason, POLICY_R_CONSENT_WITHDRAWN);
	assert_int_equal(
	    sendenv_int(&e, "SELECT count(*) FROM decisions WHERE message_id = '%s'", r.message_id),
	    3);
	rc.msg = "01NOSUCHMESSAGE00000000000";
	assert_int_equal(store_tx(e.db.st, recheck_fn, &rc), CW_ENOTFOUND);
	json_decref(rc.payload);
	sendenv_close(&e);
}

/* ---- the text policy reads ---- */

static void test_message_text(void **state)
{
	(void)state;
	json_t *ia =
	    json_loads("{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\","
		       "\"header\":{\"type\":\"text\",\"text\":\"H\"},\"body\":{\"text\":\"B\"},"
		       "\"footer\":{\"text\":\"F\"},\"action\":{\"buttons\":[{\"type\":\"reply\","
		       "\"reply\":{\"id\":\"x\",\"title\":\"T1\"}},{\"type\":\"reply\",\"reply\":"
		       "{\"id\":\"y\",\"title\":\"T2\"}}]}}}",
		       0, NULL);
	json_t *comps = json_loads("[{\"type\":\"BODY\",\"text\":\"Hello {{1}}\"},"
				   "{\"type\":\"BUTTONS\",\"buttons\":[{\"text\":\"Go\"}]}]",
				   0, NULL);
	json_t *tpl = tpl_body("promo", "P1");
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(send_message_text(ia, NULL, &b), 0);
	assert_string_equal(b.data, "H\nB\nF\nT1\nT2");
	buf_reset(&b);
	assert_int_equal(send_message_text(tpl, comps, &b), 0);
	assert_string_equal(b.data, "P1\nHello {{1}}\nGo");
	buf_release(&b);
	json_decref(ia);
	json_decref(comps);
	json_decref(tpl);

	/* a national ID in a template parameter is refused */
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	struct send_result r;
	assert_int_equal(
	    submit(&e, c, POLICY_REMINDERS, tpl_body("appt_reminder", "ID 123456782"), "n1", &r),
	    0);
	assert_int_equal(r.decision.reason, POLICY_R_NATIONAL_ID_IN_TEXT);
	assert_null(strstr(r.decision.message, "123456782"));
	sendenv_close(&e);
}

/* ---- organisation settings ---- */

static void test_orgconf(void **state)
{
	(void)state;
	struct orgconf *c = NULL;
	assert_int_equal(orgconf_parse("o", "pharma", "Europe/Moscow", "ru",
				       "{\"policy\":{\"quiet_hours\":{\"start\":\"22:00\","
				       "\"end\":\"09:30\"},\"sending_hours\":{\"sat\":\"closed\","
				       "\"fri\":\"09:00-14:00\"},\"marketing_cap\":{\"max\":5,"
				       "\"days\":14},\"tier\":\"unlimited\","
				       "\"sensitive_categories\":[\"cardiology\"],"
				       "\"formulary\":[\"Wondermab\"]}}",
				       &c),
			 0);
	assert_int_equal(c->policy.kind, POLICY_ORG_PHARMA);
	assert_string_equal(c->policy.zone, "Europe/Moscow");
	assert_int_equal(c->policy.quiet[0].quiet_end, 9 * 60 + 30);
	assert_int_equal(c->policy.quiet[0].quiet_start, 22 * 60);
	assert_int_equal(c->policy.quiet[6].quiet_end, 0);
	assert_int_equal(c->policy.quiet[6].quiet_start, 0);
	assert_int_equal(c->policy.quiet[5].quiet_end, 9 * 60);
	assert_int_equal(c->policy.quiet[5].quiet_start, 14 * 60);
	assert_int_equal(c->policy.marketing_cap.max, 5);
	assert_int_equal(c->policy.marketing_cap.period_ms, 14 * SENDENV_DAY);
	assert_int_equal(c->policy.survey_cap.max, 1); /* default kept */
	assert_int_equal(c->policy.tier_limit, POLICY_TIER_UNLIMITED);
	assert_int_equal(c->policy.n_sensitive, 1);
	assert_string_equal(c->policy.sensitive[0], "cardiology");
	assert_non_null(c->policy.formulary);
	char w[64];
	assert_int_equal(formulary_match(c->policy.formulary, "Try WONDERMAB today", w, sizeof w),
			 1);
	orgconf_put(c);

	/* malformed members fall back to the defaults, never loosen them */
	assert_int_equal(orgconf_parse("o", "clinic", NULL, NULL,
				       "{\"policy\":{\"quiet_hours\":{\"start\":\"25:00\"},"
				       "\"marketing_cap\":{\"max\":-1},\"tier\":0,"
				       "\"sensitive_categories\":\"oncology\"}}",
				       &c),
			 0);
	assert_int_equal(c->policy.quiet[3].quiet_end, 8 * 60);
	assert_int_equal(c->policy.quiet[3].quiet_start, 21 * 60);
	assert_int_equal(c->policy.marketing_cap.max, 2);
	assert_int_equal(c->policy.tier_limit, POLICY_TIER_1K);
	assert_int_equal(c->policy.n_sensitive, 4);
	assert_null(c->policy.formulary); /* a clinic's marketing is not checked */
	assert_string_equal(c->zone, "UTC");
	orgconf_put(c);
	assert_int_equal(orgconf_parse("o", "bakery", NULL, NULL, NULL, &c), CW_EINVAL);
	assert_int_equal(orgconf_parse("o", "clinic", NULL, NULL, "not json", &c), 0);
	assert_int_equal(c->policy.marketing_cap.max, 2);
	orgconf_put(c);

	/* the cache sees a change of settings */
	struct sendenv e;
	sendenv_open(&e);
	const struct orgconf *a = NULL, *b = NULL;
	assert_int_equal(orgconf_get(e.db.st, e.db.org, &a), 0);
	assert_int_equal(orgconf_get(e.db.st, e.db.org, &b), 0);
	assert_ptr_equal(a, b);
	orgconf_put(b);
	sendenv_settings(&e, "{\"policy\":{\"tier\":250}}");
	assert_int_equal(orgconf_get(e.db.st, e.db.org, &b), 0);
	assert_ptr_not_equal(a, b);
	assert_int_equal(b->policy.tier_limit, 250);
	assert_int_equal(a->policy.tier_limit, POLICY_TIER_1K); /* still valid for its holder */
	orgconf_put(a);
	orgconf_put(b);
	assert_int_equal(orgconf_get(e.db.st, "01NOSUCHORG000000000000000", &a), CW_ENOTFOUND);
	assert_int_equal(orgconf_set_settings(e.db.st, e.db.org, "[1]"), CW_EINVAL);
	sendenv_close(&e);
}

/* ---- the bot replies through policy ---- */

static char *inbound(const char *wa_id, const char *wamid, const char *text, int64_t at_ms)
{
	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)(at_ms / 1000));
	json_t *b =
	    json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:{s:s}, s:s}],"
		      "s:[{s:s, s:s, s:s, s:s, s:{s:s}}]}}]}]}",
		      "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes",
		      "field", "messages", "value", "messaging_product", "whatsapp", "metadata",
		      "display_phone_number", "97235550100", "phone_number_id", "PNID1", "contacts",
		      "profile", "name", "Noa", "wa_id", wa_id, "messages", "from", wa_id, "id",
		      wamid, "timestamp", ts, "type", "text", "text", "body", text);
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void deliver(struct ingest *ing, const char *body)
{
	assert_int_equal(ingest_accept(ing, body, strlen(body), NULL, NULL), 0);
	assert_true(ingest_drain(ing) >= 1);
}

static void test_bot_through_policy(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	struct ingest *ing = ingest_new(e.db.st);
	ingest_add_inbound(ing, "optout", optout_on_inbound, NULL);
	ingest_add_inbound(ing, "bot", bot_on_inbound, NULL);
	char *b = inbound("972521112222", "wamid.hi1", "hi", SENDENV_NOW);
	deliver(ing, b);
	free(b);
	/* the welcome was decided on (a service reply: no consent needed) */
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM decisions WHERE producer = 'bot' "
					   "AND outcome = 'allow' AND purpose = 'service' "
					   "AND message_id IS NOT NULL"),
			 1);
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM outbox WHERE producer = 'bot'"),
			 1);
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM outbox o JOIN decisions d ON "
					   "d.message_id = o.id"),
			 1);
	/* a contact who opted out still gets answers to what it asks */
	char *cid = testdb_text(&e.db, "SELECT id FROM contacts WHERE wa_id = '972521112222'");
	assert_non_null(cid);
	const char *who[2] = {e.db.org, cid};
	assert_int_equal(store_tx(e.db.st, opt_out_fn, who), 0);
	b = inbound("972521112222", "wamid.hi2", "hello", SENDENV_NOW + SENDENV_MIN);
	deliver(ing, b);
	free(b);
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM decisions WHERE producer = 'bot' "
					   "AND outcome = 'allow'"),
			 2);
	free(cid);
	ingest_free(ing);
	sendenv_close(&e);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outcomes_stored),
	    cmocka_unit_test(test_consent_withdrawn_then_granted),
	    cmocka_unit_test(test_erased_contact),
	    cmocka_unit_test(test_marketing_stopped),
	    cmocka_unit_test(test_window_freeform_template),
	    cmocka_unit_test(test_idempotent),
	    cmocka_unit_test(test_frequency_cap),
	    cmocka_unit_test(test_tier_budget),
	    cmocka_unit_test(test_recheck),
	    cmocka_unit_test(test_message_text),
	    cmocka_unit_test(test_orgconf),
	    cmocka_unit_test(test_bot_through_policy),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	text_thread_release();
	return rc;
}
