/*
 * test_analytics.c — unit tests for core/analytics and core/settings: the
 * overview cut into the organisation's local days (a day that starts at
 * local midnight, a 25-hour day when the clocks go back), what counts as
 * sent, delivered, read, failed and answered (24 hours, or a tap on the
 * message's own button later), opt-outs from WhatsApp only and once per
 * person a day, failures named by code, another organisation's rows left
 * out; the funnel per producer; the texts that reached the inbox (recorded
 * by migration 0008's triggers on the inbox's own write), grouped by folded
 * form, erased ones left out; folding; the settings read as the send path
 * parses them, changed member by member where orgconf reads them, refused
 * with the member named, audited; phone numbers listed without tokens,
 * paused and resumed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/err.h"
#include "base/text.h"
#include "core/analytics.h"
#include "core/conversation.h"
#include "core/hours.h"
#include "core/ingest.h"
#include "core/settings.h"
#include "wa/errors.h"
#include "base/banned.h"

#define MIN   SENDENV_MIN
#define HOUR  SENDENV_HOUR
#define DAY   SENDENV_DAY
#define NOW   SENDENV_NOW /* Sunday 2026-11-22 12:00 in Jerusalem */
#define TLV   "Asia/Jerusalem"
#define ACTOR "apikey:TESTKEY"

static struct sendenv E;

static int setup(void **state)
{
	(void)state;
	sendenv_open(&E);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sendenv_close(&E);
	return 0;
}

/* A wall-clock time in Jerusalem. */
static int64_t tlv(int y, int mo, int d, int h, int mi)
{
	int64_t ms = 0;
	assert_int_equal(time_from_local(TLV, y, mo, d, h, mi, &ms), 0);
	return ms;
}

static int nmsg;

/* An inbound message row (what the ingest stores) from contact at `at`;
 * returns its id in id. type "text" carries text; "interactive" is a
 * button_reply whose context is the wamid ctx. */
static void inbound_row(const char *org, const char *contact, int64_t at, const char *type,
			const char *text, const char *ctx, char id[ID_SIZE])
{
	char wamid[64];
	id_new(id);
	snprintf(wamid, sizeof wamid, "wamid.in.%d", ++nmsg);
	json_t *item =
	    strcmp(type, "text") == 0
		? json_pack("{s:s, s:s, s:{s:s}}", "id", wamid, "type", "text", "text", "body",
			    text)
		: json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{s:s, s:s}}}", "id", wamid, "type", type,
			    "context", "id", ctx ? ctx : "", "interactive", "type", "button_reply",
			    "button_reply", "id", "b1", "title", "Yes");
	char *payload = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	struct store_val m[] = {SV_TEXT(id),	  SV_TEXT(org),	    SV_TEXT(E.number),
				SV_TEXT(contact), SV_TEXT("in"),    SV_TEXT(wamid),
				SV_TEXT(type),	  SV_TEXT(payload), SV_TEXT("received"),
				SV_INT(at),	  SV_NULL,	    SV_INT(at)};
	assert_int_equal(store_exec(E.db.st, "message.insert", m, 12, NULL), 0);
	free(payload);
}

/* An outbound message to contact with wamid; each time > 0 is applied as a
 * status webhook. fail_code: 0 none, -1 failed without a code. */
static void outbound(const char *org, const char *contact, const char *wamid, int64_t sent,
		     int64_t delivered, int64_t read, int64_t failed, int fail_code,
		     const char *title)
{
	char id[ID_SIZE];
	id_new(id);
	struct store_val m[] = {
	    SV_TEXT(id),	 SV_TEXT(org),		 SV_TEXT(E.number), SV_TEXT(contact),
	    SV_TEXT("out"),	 SV_TEXT(wamid),	 SV_TEXT("text"),   SV_TEXT("{}"),
	    SV_TEXT("accepted"), SV_INT(NOW - 30 * DAY), SV_NULL,	    SV_INT(NOW - 30 * DAY)};
	assert_int_equal(store_exec(E.db.st, "message.insert", m, 12, NULL), 0);
	static const char *const names[] = {"sent", "delivered", "read", "failed"};
	int64_t at[] = {sent, delivered, read, failed};
	for (int i = 0; i < 4; i++) {
		if (!at[i])
			continue;
		struct store_val u[] = {SV_TEXT(wamid),
					SV_TEXT(names[i]),
					SV_INT(at[i]),
					i == 3 && fail_code > 0 ? SV_INT(fail_code) : SV_NULL,
					SV_TEXT(i == 3 ? title : NULL),
					SV_INT(at[i])};
		assert_int_equal(store_exec(E.db.st, "message.update_status", u, 6, NULL), 0);
	}
}

static void withdrawal(const char *contact, const char *purpose, const char *source, int64_t at)
{
	struct store_val a[] = {SV_TEXT(E.db.org),    SV_TEXT(contact), SV_TEXT(purpose),
				SV_TEXT("withdrawn"), SV_TEXT(source),	SV_TEXT("v1"),
				SV_TEXT("STOP"),      SV_INT(at)};
	assert_int_equal(store_exec(E.db.st, "consent.insert", a, 8, NULL), 0);
}

static const struct analytics_day *day(const struct analytics_overview *o, const char *date)
{
	for (int i = 0; i < o->ndays; i++)
		if (strcmp(o->days[i].date, date) == 0)
			return &o->days[i];
	fail_msg("no day %s", date);
	return NULL;
}

/* ---- local days ---- */

static void test_days(void **state)
{
	(void)state;
	static struct analytics_overview o;
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 14, NOW, &o), 0);
	assert_string_equal(o.zone, TLV);
	assert_int_equal(o.ndays, 14);
	assert_string_equal(o.days[13].date, "2026-11-22");
	assert_string_equal(o.days[0].date, "2026-11-09");
	/* Jerusalem midnight (UTC+2 in winter), not UTC midnight. */
	assert_int_equal(o.days[13].from, tlv(2026, 11, 22, 0, 0));
	assert_int_equal(o.days[13].to, tlv(2026, 11, 23, 0, 0));
	for (int i = 1; i < o.ndays; i++)
		assert_int_equal(o.days[i].from, o.days[i - 1].to);
	/* Across the month and the night the clocks went back (2026-10-25). */
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 40, NOW, &o), 0);
	assert_string_equal(o.days[0].date, "2026-10-14");
	const struct analytics_day *d = day(&o, "2026-10-25");
	assert_int_equal(d->to - d->from, 25 * HOUR);
	assert_int_equal(day(&o, "2026-10-31")->to, day(&o, "2026-11-01")->from);
	/* Clamped, and nothing counted in an empty store. */
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 1000, NOW, &o), 0);
	assert_int_equal(o.ndays, ANALYTICS_DAYS_MAX);
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 0, NOW, &o), 0);
	assert_int_equal(o.ndays, 1);
	assert_int_equal(o.sent + o.delivered + o.read + o.failed + o.replied + o.opted_out, 0);
	assert_true(analytics_open_rate(&o) < 0);
	json_t *j = analytics_overview_json(&o);
	assert_true(json_is_null(json_object_get(j, "open_rate")));
	assert_int_equal(json_array_size(json_object_get(j, "days")), 1);
	json_decref(j);
	assert_int_equal(analytics_overview(E.db.st, "01NOSUCHORG000000000000000", 14, NOW, &o),
			 CW_ENOTFOUND);
}

/* ---- the overview's counts ---- */

static void test_overview_counts(void **state)
{
	(void)state;
	const char *a = sendenv_contact(&E, "972521000001", "he", TLV);
	const char *b = sendenv_contact(&E, "972521000002", "he", TLV);
	const char *c = sendenv_contact(&E, "972521000003", "he", TLV);
	char in[ID_SIZE];
	int64_t sat_late = tlv(2026, 11, 21, 23, 30); /* Saturday night */
	int64_t sun_early = tlv(2026, 11, 22, 0, 30); /* Sunday, Saturday in UTC */
	int64_t thu = tlv(2026, 11, 19, 10, 0);

	/* Sunday 00:30: sent, delivered, read, answered an hour later. */
	outbound(E.db.org, a, "wamid.1", sun_early, sun_early + MIN, sun_early + 2 * MIN, 0, 0,
		 NULL);
	inbound_row(E.db.org, a, sun_early + HOUR, "text", "thanks", NULL, in);
	/* Saturday 23:30: delivered only (the sent status never came); the
	 * person wrote 30 hours later: not an answer. */
	outbound(E.db.org, b, "wamid.2", 0, sat_late, 0, 0, 0, NULL);
	inbound_row(E.db.org, b, sat_late + 30 * HOUR, "text", "hello?", NULL, in);
	/* Thursday: a tap on its button two days later is an answer. */
	outbound(E.db.org, c, "wamid.3", thu, thu + MIN, thu + 2 * MIN, 0, 0, NULL);
	inbound_row(E.db.org, c, thu + 2 * DAY, "interactive", NULL, "wamid.3", in);
	/* ... but a tap on another message's button is not, after 24 hours. */
	outbound(E.db.org, c, "wamid.4", thu + 1, thu + MIN, 0, 0, 0, NULL);
	/* Failures on Sunday: 131026 twice, a code carewire does not know with
	 * Meta's title, one without a code; never sent. */
	outbound(E.db.org, a, "wamid.5", 0, 0, 0, sun_early, 131026, "Message undeliverable");
	outbound(E.db.org, b, "wamid.6", 0, 0, 0, sun_early + MIN, 131026, NULL);
	outbound(E.db.org, a, "wamid.7", 0, 0, 0, sun_early, 987654, "Something new at Meta");
	outbound(E.db.org, b, "wamid.8", 0, 0, 0, sun_early, -1, NULL);
	/* Queued, never reported: counts nowhere. */
	outbound(E.db.org, c, "wamid.9", 0, 0, 0, 0, 0, NULL);
	/* Opt-outs: a's STOP withdrew two purposes on Sunday (one person);
	 * b's paper withdrawal is not an opt-out in WhatsApp. */
	withdrawal(a, "marketing", "whatsapp", sun_early + HOUR);
	withdrawal(a, "surveys", "whatsapp", sun_early + HOUR);
	withdrawal(b, "marketing", "paper", sun_early + HOUR);
	withdrawal(c, "marketing", "whatsapp", thu);
	/* Another organisation's messages are not ours. */
	char other[ID_SIZE];
	id_new(other);
	testdb_add_org(E.db.st, other, "IL");
	outbound(other, a, "wamid.x", sun_early, sun_early, sun_early, 0, 0, NULL);

	static struct analytics_overview o;
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 14, NOW, &o), 0);
	const struct analytics_day *sun = day(&o, "2026-11-22"), *sat = day(&o, "2026-11-21");
	const struct analytics_day *th = day(&o, "2026-11-19");
	assert_int_equal(sun->sent, 1);
	assert_int_equal(sun->delivered, 1);
	assert_int_equal(sun->read, 1);
	assert_int_equal(sun->replied, 1);
	assert_int_equal(sun->failed, 4);
	assert_int_equal(sun->opted_out, 1);
	assert_int_equal(sat->sent, 1); /* delivered implies sent */
	assert_int_equal(sat->delivered, 1);
	assert_int_equal(sat->read, 0);
	assert_int_equal(sat->replied, 0);
	assert_int_equal(th->sent, 2);
	assert_int_equal(th->delivered, 2);
	assert_int_equal(th->read, 1);
	assert_int_equal(th->replied, 1);
	assert_int_equal(th->opted_out, 1);
	assert_int_equal(o.sent, 4);
	assert_int_equal(o.delivered, 4);
	assert_int_equal(o.read, 2);
	assert_int_equal(o.replied, 2);
	assert_int_equal(o.failed, 4);
	assert_int_equal(o.opted_out, 2);
	assert_true(analytics_open_rate(&o) == 0.5);
	assert_true(analytics_engagement_rate(&o) == 0.5);
	assert_true(analytics_opt_out_rate(&o) == 0.5);

	/* Failures by code, most frequent first; titles for people. */
	assert_int_equal(o.nreasons, 3);
	assert_int_equal(o.reasons[0].code, 131026);
	assert_int_equal(o.reasons[0].count, 2);
	assert_string_equal(o.reasons[0].title, wa_err_lookup(131026)->title);
	assert_string_equal(o.reasons[0].cls, "never");
	int unknown = -1, nocode = -1;
	for (int i = 1; i < 3; i++) {
		if (o.reasons[i].has_code && o.reasons[i].code == 987654)
			unknown = i;
		if (!o.reasons[i].has_code)
			nocode = i;
	}
	assert_true(unknown > 0 && nocode > 0);
	assert_string_equal(o.reasons[unknown].title, "Something new at Meta");

	json_t *j = analytics_overview_json(&o);
	json_t *last = json_array_get(json_object_get(j, "days"), 13);
	assert_string_equal(json_string_value(json_object_get(last, "date")), "2026-11-22");
	assert_int_equal(json_integer_value(json_object_get(last, "failed")), 4);
	assert_true(json_real_value(json_object_get(j, "open_rate")) == 0.5);
	json_t *r0 = json_array_get(json_object_get(j, "failures_by_reason"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "reason")), "131026");
	json_t *rn = json_array_get(json_object_get(j, "failures_by_reason"), (size_t)nocode);
	assert_string_equal(json_string_value(json_object_get(rn, "reason")), "unknown");
	assert_true(json_is_null(json_object_get(rn, "class")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "totals"), "sent")),
			 4);
	json_decref(j);

	/* One day: only Sunday. */
	assert_int_equal(analytics_overview(E.db.st, E.db.org, 1, NOW, &o), 0);
	assert_int_equal(o.sent, 1);
	assert_int_equal(o.failed, 4);
}

/* ---- per producer ---- */

static void producer_row(const char *contact, const char *producer, const char *state,
			 int64_t delivered, int64_t read)
{
	char id[ID_SIZE], wamid[64], sql[1024];
	id_new(id);
	snprintf(wamid, sizeof wamid, "wamid.p.%d", ++nmsg);
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO messages (id, org_id, number_id, contact_id, direction, wamid, type, "
	    "status, delivered_at, read_at, created_at, updated_at) VALUES ('%s', '%s', '%s', "
	    "'%s', 'out', '%s', 'text', 'accepted', %s, %s, 1, 1); "
	    "INSERT INTO outbox (id, org_id, number_id, contact_id, idem_key, priority, purpose, "
	    "producer, state, payload, not_before, created_at, updated_at) VALUES ('%s', '%s', "
	    "'%s', '%s', '%s', 0, 'service', '%s', '%s', '{}', 1, 1, 1);",
	    id, E.db.org, E.number, contact, wamid, delivered ? "5" : "NULL", read ? "6" : "NULL",
	    id, E.db.org, E.number, contact, wamid, producer, state);
	assert_int_equal(testdb_sql(&E.db, sql), 0);
}

static void test_producers(void **state)
{
	(void)state;
	const char *a = sendenv_contact(&E, "972521000001", "he", TLV);
	producer_row(a, "journey:recall:remind", "sent", 1, 1);
	producer_row(a, "journey:recall:remind", "sent", 1, 0);
	producer_row(a, "journey:recall:ask", "queued", 0, 0);
	producer_row(a, "journey:recallx:remind", "sent", 1, 0);
	producer_row(a, "bot", "sent", 1, 1);

	json_t *out = NULL;
	assert_int_equal(analytics_producers(E.db.st, E.db.org, "journey:recall:", 10, &out), 0);
	json_t *items = json_object_get(out, "items");
	assert_int_equal(json_array_size(items), 2);
	json_t *ask = json_array_get(items, 0), *remind = json_array_get(items, 1);
	assert_string_equal(json_string_value(json_object_get(ask, "producer")),
			    "journey:recall:ask");
	assert_int_equal(json_integer_value(json_object_get(ask, "pending")), 1);
	assert_true(json_is_null(json_object_get(ask, "open_rate")));
	assert_string_equal(json_string_value(json_object_get(remind, "producer")),
			    "journey:recall:remind");
	assert_int_equal(json_integer_value(json_object_get(remind, "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(remind, "delivered")), 2);
	assert_int_equal(json_integer_value(json_object_get(remind, "read")), 1);
	assert_true(json_real_value(json_object_get(remind, "open_rate")) == 0.5);
	assert_true(json_is_false(json_object_get(out, "truncated")));
	json_decref(out);

	/* Every producer, cut at the limit. */
	assert_int_equal(analytics_producers(E.db.st, E.db.org, "", 2, &out), 0);
	items = json_object_get(out, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(items, 0), "producer")), "bot");
	assert_true(json_is_true(json_object_get(out, "truncated")));
	json_decref(out);
	assert_int_equal(analytics_producers(E.db.st, E.db.org, "campaign:", 10, &out), 0);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
	json_decref(out);
	char longp[ANALYTICS_PREFIX_MAX + 2];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	assert_int_equal(analytics_producers(E.db.st, E.db.org, longp, 10, &out), CW_EINVAL);
	assert_null(out);
}

/* ---- folding ---- */

static void test_fold(void **state)
{
	(void)state;
	char *f = analytics_fold("  Where do I PARK?? ");
	assert_string_equal(f, "where do i park");
	free(f);
	f = analytics_fold("Где   ПАРКОВКА?!");
	assert_string_equal(f, "где парковка");
	free(f);
	f = analytics_fold("אֵיפֹה חוֹנִים?");
	assert_string_equal(f, "איפה חונים");
	free(f);
	assert_null(analytics_fold("🙏🙏 !!"));
	assert_null(analytics_fold("\xff\xfe"));
	assert_null(analytics_fold(NULL));
	/* A long text is cut where a character starts. */
	char big[2 * 400 + 1];
	for (int i = 0; i < 400; i++)
		memcpy(big + 2 * i, "\xd0\xb6", 2); /* ж */
	big[800] = '\0';
	f = analytics_fold(big);
	assert_non_null(f);
	assert_true(strlen(f) <= ANALYTICS_FOLD_MAX && strlen(f) >= ANALYTICS_FOLD_MAX - 1);
	assert_int_equal(strlen(f) % 2, 0);
	assert_true(text_valid_utf8(f, strlen(f)));
	free(f);
}

/* ---- unanswered questions ---- */

struct in_ctx {
	struct inbound in;
	int rc;
};

static int run_inbox(struct store_tx *tx, void *ud)
{
	struct in_ctx *c = ud;
	c->rc = conversation_on_inbound(NULL, tx, &c->in);
	return c->rc < 0 ? c->rc : 0;
}

/* Hands the text id of contact (sent at `at`) to the inbox, as the ingest
 * does when no other handler took it. */
static void to_inbox(const char *contact, const char *wa_id, int64_t at, const char *text,
		     const char *id)
{
	time_clock_set(at);
	struct webhook_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WH_MESSAGE;
	ev.timestamp_ms = at;
	ev.msg.type = WH_MSG_TEXT;
	ev.msg.text = text;
	ev.msg.from = wa_id;
	struct in_ctx c = {.in = {.ev = &ev,
				  .org_id = E.db.org,
				  .number_id = E.number,
				  .phone_number_id = "PNID1",
				  .contact_id = contact,
				  .message_id = id,
				  .wa_id = wa_id,
				  .now_ms = at}};
	assert_int_equal(store_tx(E.db.st, run_inbox, &c), 0);
	assert_int_equal(c.rc, INBOUND_HANDLED);
}

/* A text from contact at `at`: stored, then (when inbox) handed to the
 * inbox. Returns the message id in id. */
static void text_in(const char *contact, const char *wa_id, int64_t at, const char *text, int inbox,
		    char id[ID_SIZE])
{
	inbound_row(E.db.org, contact, at, "text", text, NULL, id);
	if (inbox)
		to_inbox(contact, wa_id, at, text, id);
}

struct handoff_ctx {
	const char *contact;
	int64_t at;
};

static int run_handoff(struct store_tx *tx, void *ud)
{
	struct handoff_ctx *h = ud;
	return conversation_handoff_tx(tx, E.db.org, E.number, h->contact, "journey:vaccine",
				       "nurses", NULL, h->at);
}

static json_t *item(json_t *out, size_t i)
{
	return json_array_get(json_object_get(out, "items"), i);
}

static void test_unanswered(void **state)
{
	(void)state;
	const char *a = sendenv_contact(&E, "972521000001", "he", TLV);
	const char *b = sendenv_contact(&E, "972521000002", "he", TLV);
	char id[ID_SIZE], erased[ID_SIZE];
	int64_t t = NOW - 3 * HOUR;
	text_in(a, "972521000001", t, "hi", 0, id); /* the bot answered it */
	text_in(a, "972521000001", t + MIN, "Where do I park?", 1, id);
	text_in(a, "972521000001", t + 2 * MIN, "Is the pharmacy open?", 1, id);
	text_in(b, "972521000002", t + 3 * MIN, "where do i park", 1, id);
	text_in(b, "972521000002", t + 4 * MIN, "WHERE DO I PARK!!!", 1, erased);
	text_in(b, "972521000002", t + 5 * MIN, "STOP", 0, id); /* the opt-out handler's */
	/* Long ago: outside the period. */
	text_in(b, "972521000002", NOW - 40 * DAY, "Old question", 1, id);
	time_clock_set(NOW);
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM analytics_unanswered"), 5);

	json_t *out = NULL;
	assert_int_equal(analytics_unanswered(E.db.st, E.db.org, 30, 50, NOW, &out), 0);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 2);
	assert_string_equal(json_string_value(json_object_get(item(out, 0), "text")),
			    "where do i park");
	assert_int_equal(json_integer_value(json_object_get(item(out, 0), "count")), 3);
	char iso[TIME_ISO_MAX];
	assert_string_equal(json_string_value(json_object_get(item(out, 0), "last_at")),
			    time_format_iso(t + 4 * MIN, iso));
	assert_string_equal(json_string_value(json_object_get(item(out, 1), "text")),
			    "is the pharmacy open");
	assert_int_equal(json_integer_value(json_object_get(out, "texts")), 4);
	assert_true(json_is_false(json_object_get(out, "truncated")));
	assert_string_equal(json_string_value(json_object_get(out, "time_zone")), TLV);
	json_decref(out);

	/* A longer period reaches the old question; the limit cuts the list. */
	assert_int_equal(analytics_unanswered(E.db.st, E.db.org, 60, 1, NOW, &out), 0);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
	assert_int_equal(json_integer_value(json_object_get(out, "groups")), 3);
	json_decref(out);

	/* Erasure empties the payload: that text is gone from the figures. */
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE messages SET payload = NULL WHERE id = '%s'", erased);
	assert_int_equal(testdb_sql(&E.db, sql), 0);
	assert_int_equal(analytics_unanswered(E.db.st, E.db.org, 30, 50, NOW, &out), 0);
	assert_int_equal(json_integer_value(json_object_get(item(out, 0), "count")), 2);
	json_decref(out);

	/* A journey's handoff opens a conversation without a message of the
	 * person: nothing is recorded (the journey took the text); what the
	 * person writes next into it is. */
	const char *c = sendenv_contact(&E, "972521000003", "he", TLV);
	char taken[ID_SIZE], next[ID_SIZE];
	text_in(c, "972521000003", t + 10 * MIN, "2", 0, taken);
	struct handoff_ctx hc = {c, t + 10 * MIN};
	assert_int_equal(store_tx(E.db.st, run_handoff, &hc), 0);
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM analytics_unanswered"), 5);
	text_in(c, "972521000003", t + 11 * MIN, "Can my son come instead?", 1, next);
	time_clock_set(NOW);
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM analytics_unanswered"), 6);
	assert_int_equal(sendenv_int(&E,
				     "SELECT count(*) FROM analytics_unanswered WHERE "
				     "message_id = '%s'",
				     next),
			 1);
	assert_int_equal(
	    analytics_unanswered(E.db.st, "01NOSUCHORG000000000000000", 30, 50, NOW, &out),
	    CW_ENOTFOUND);
}

/* ---- settings ---- */

static json_t *settings(void)
{
	json_t *s = NULL;
	assert_int_equal(settings_get(E.db.st, E.db.org, &s), 0);
	return s;
}

static int update(const char *json, json_t **out, struct json_error *e)
{
	json_t *body = json_loads(json, 0, NULL);
	assert_non_null(body);
	int rc = settings_update(E.db.st, E.db.org, body, ACTOR, out, e);
	json_decref(body);
	return rc;
}

static void expect_refused(const char *json, const char *field)
{
	json_t *out = NULL;
	struct json_error e;
	int rc = update(json, &out, &e);
	if (rc != CW_EINVAL || strcmp(e.field, field) != 0)
		fail_msg("%s: rc %d field \"%s\" (wanted %s)", json, rc, e.field, field);
	assert_null(out);
	assert_true(e.message[0] != '\0');
}

static void test_settings_read_write(void **state)
{
	(void)state;
	json_t *s = settings();
	char *dump = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"caps\":{\"marketing_per_week\":2,\"surveys_per_month\":1},"
				  "\"first_response_target_minutes\":6,\"optout_words\":[],"
				  "\"quiet_hours\":{\"end\":\"08:00\",\"start\":\"21:00\"},"
				  "\"sensitive_categories\":[\"oncology\",\"hiv\",\"genetics\","
				  "\"psychiatry\"],\"tier\":1000}");
	free(dump);
	json_decref(s);

	/* Members the API does not carry survive a change. */
	sendenv_settings(&E, "{\"policy\":{\"sending_hours\":{\"sat\":\"closed\"},"
			     "\"formulary\":[\"x\"]},\"optout\":{\"payloads\":[\"BYE\"]},"
			     "\"prices\":{\"marketing\":0.05}}");
	json_t *out = NULL;
	struct json_error e;
	assert_int_equal(update("{\"quiet_hours\":{\"start\":\"22:00\",\"end\":\"07:30\"},"
				"\"caps\":{\"marketing_per_week\":4,\"surveys_per_month\":null},"
				"\"tier\":\"unlimited\",\"optout_words\":[\"Bye bye\",\"BYE-BYE\","
				"\"להתראות\"],\"sensitive_categories\":[\"Oncology\",\"hiv\","
				"\"genetics\",\"psychiatry\",\"lipids\",\"hiv\"]}",
				&out, &e),
			 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "quiet_hours"), "start")),
	    "22:00");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(out, "caps"), "marketing_per_week")),
	    4);
	assert_true(
	    json_is_null(json_object_get(json_object_get(out, "caps"), "surveys_per_month")));
	assert_string_equal(json_string_value(json_object_get(out, "tier")), "unlimited");
	assert_int_equal(json_array_size(json_object_get(out, "optout_words")), 2);
	assert_int_equal(json_array_size(json_object_get(out, "sensitive_categories")), 5);
	json_decref(out);

	/* What orgconf (the send path) reads now. */
	const struct orgconf *conf = NULL;
	assert_int_equal(orgconf_get(E.db.st, E.db.org, &conf), 0);
	assert_int_equal(conf->policy.quiet[1].quiet_end, 7 * 60 + 30);
	assert_int_equal(conf->policy.quiet[1].quiet_start, 22 * 60);
	assert_int_equal(conf->policy.quiet[6].quiet_end, 0); /* Saturday stays closed */
	assert_int_equal(conf->policy.quiet[6].quiet_start, 0);
	assert_int_equal(conf->policy.marketing_cap.max, 4);
	assert_int_equal(conf->policy.marketing_cap.period_ms, 7 * DAY);
	assert_int_equal(conf->policy.survey_cap.max, 0);
	assert_int_equal(conf->policy.tier_limit, POLICY_TIER_UNLIMITED);
	assert_int_equal(conf->policy.n_sensitive, 5);
	assert_string_equal(conf->policy.sensitive[4], "lipids");
	int bye = 0, hebrew = 0, stop = 0;
	for (int i = 0; i < conf->nwords; i++) {
		bye += strcmp(conf->words[i].phrase, "bye bye") == 0;
		hebrew += strcmp(conf->words[i].phrase, "להתראות") == 0;
		stop += strcmp(conf->words[i].phrase, "stop") == 0; /* built-ins stay */
	}
	assert_int_equal(bye + hebrew + stop, 3);
	orgconf_put(conf);
	char *stored = testdb_text(&E.db, "SELECT settings FROM orgs");
	json_t *root = json_loads(stored, 0, NULL);
	free(stored);
	assert_non_null(json_object_get(json_object_get(root, "policy"), "sending_hours"));
	assert_non_null(json_object_get(json_object_get(root, "policy"), "formulary"));
	assert_non_null(json_object_get(json_object_get(root, "optout"), "payloads"));
	assert_non_null(json_object_get(root, "prices"));
	json_decref(root);

	/* The target lives in the business hours; quiet hours can be off. */
	assert_int_equal(
	    update("{\"first_response_target_minutes\":15,\"quiet_hours\":false}", &out, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "first_response_target_minutes")),
			 15);
	assert_true(json_is_false(json_object_get(out, "quiet_hours")));
	json_decref(out);
	struct hours h;
	assert_int_equal(hours_load(E.db.st, E.db.org, &h), 0);
	assert_int_equal(h.target_ms, 15 * MIN);

	/* A cap stored with another period reads as {max, days} and is taken
	 * back in that form. */
	sendenv_settings(&E, "{\"policy\":{\"marketing_cap\":{\"max\":3,\"days\":14}}}");
	s = settings();
	json_t *m = json_object_get(json_object_get(s, "caps"), "marketing_per_week");
	assert_int_equal(json_integer_value(json_object_get(m, "max")), 3);
	assert_int_equal(json_integer_value(json_object_get(m, "days")), 14);
	json_decref(s);
	assert_int_equal(
	    update("{\"caps\":{\"marketing_per_week\":{\"max\":5,\"days\":10}}}", &out, &e), 0);
	json_decref(out);
	assert_int_equal(orgconf_get(E.db.st, E.db.org, &conf), 0);
	assert_int_equal(conf->policy.marketing_cap.max, 5);
	assert_int_equal(conf->policy.marketing_cap.period_ms, 10 * DAY);
	orgconf_put(conf);

	/* Malformed stored settings read as the defaults, as policy reads them. */
	assert_int_equal(testdb_sql(&E.db, "UPDATE orgs SET settings = '{\"policy\":[1]}'"), 0);
	s = settings();
	assert_int_equal(json_integer_value(json_object_get(s, "tier")), 1000);
	json_decref(s);

	/* Every change is audited, naming the members. */
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM audit_log WHERE action = "
					   "'settings.update' AND actor = 'apikey:TESTKEY'"),
			 3);
	char *detail = testdb_text(&E.db, "SELECT detail FROM audit_log WHERE action = "
					  "'settings.update' ORDER BY seq LIMIT 1");
	assert_string_equal(detail, "quiet_hours,caps,tier,sensitive_categories,optout_words");
	free(detail);
}

static void test_settings_refused(void **state)
{
	(void)state;
	char *before = testdb_text(&E.db, "SELECT settings FROM orgs");
	expect_refused("{\"quiet_hours\":{\"start\":\"08:00\",\"end\":\"21:00\"}}",
		       "quiet_hours.end");
	expect_refused("{\"quiet_hours\":{\"start\":\"9:00\",\"end\":\"07:00\"}}",
		       "quiet_hours.start");
	expect_refused("{\"quiet_hours\":{\"start\":\"21:00\"}}", "quiet_hours.end");
	expect_refused("{\"quiet_hours\":{\"start\":\"21:00\",\"end\":\"07:00\",\"x\":1}}",
		       "quiet_hours");
	expect_refused("{\"quiet_hours\":true}", "quiet_hours");
	expect_refused("{\"caps\":{\"marketing_per_week\":0}}", "caps.marketing_per_week");
	expect_refused("{\"caps\":{\"surveys_per_month\":1001}}", "caps.surveys_per_month");
	expect_refused("{\"caps\":{\"surveys_per_month\":\"2\"}}", "caps.surveys_per_month");
	expect_refused("{\"caps\":{\"marketing_per_week\":{\"max\":2,\"days\":0}}}",
		       "caps.marketing_per_week.days");
	expect_refused("{\"caps\":{\"marketing_per_week\":{\"max\":-1,\"days\":7}}}",
		       "caps.marketing_per_week.max");
	expect_refused("{\"caps\":{\"per_day\":1}}", "caps.per_day");
	expect_refused("{\"caps\":[]}", "caps");
	expect_refused("{\"tier\":-5}", "tier");
	expect_refused("{\"tier\":\"lots\"}", "tier");
	expect_refused("{\"sensitive_categories\":[\"oncology\",\"hiv\",\"genetics\"]}",
		       "sensitive_categories");
	expect_refused("{\"sensitive_categories\":[\"oncology\",\"hiv\",\"genetics\","
		       "\"psychiatry\",\"a b\"]}",
		       "sensitive_categories[4]");
	expect_refused("{\"sensitive_categories\":\"oncology\"}", "sensitive_categories");
	expect_refused("{\"optout_words\":[\"ok\",\"...\"]}", "optout_words[1]");
	expect_refused("{\"optout_words\":[\"ok\",7]}", "optout_words[1]");
	expect_refused("{\"first_response_target_minutes\":0}", "first_response_target_minutes");
	expect_refused("{\"first_response_target_minutes\":99999}",
		       "first_response_target_minutes");
	/* A good member with a bad one: nothing is changed. */
	expect_refused("{\"tier\":250,\"quiet\":{}}", "quiet");
	expect_refused("{\"tier\":250,\"caps\":{\"marketing_per_week\":0}}",
		       "caps.marketing_per_week");
	char *after = testdb_text(&E.db, "SELECT settings FROM orgs");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM audit_log WHERE action = "
					   "'settings.update'"),
			 0);
	json_t *out = NULL;
	struct json_error e;
	json_t *body = json_object();
	assert_int_equal(
	    settings_update(E.db.st, "01NOSUCHORG000000000000000", body, ACTOR, &out, &e),
	    CW_ENOTFOUND);
	json_decref(body);
}

/* ---- phone numbers ---- */

static void test_numbers(void **state)
{
	(void)state;
	json_t *out = NULL;
	assert_int_equal(settings_numbers(E.db.st, E.db.org, &out), 0);
	json_t *items = json_object_get(out, "items");
	assert_int_equal(json_array_size(items), 1);
	json_t *n = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(n, "id")), E.number);
	assert_string_equal(json_string_value(json_object_get(n, "phone_number_id")), "PNID1");
	assert_string_equal(json_string_value(json_object_get(n, "waba_id")), "WABA1");
	assert_string_equal(json_string_value(json_object_get(n, "status")), "active");
	assert_int_equal(json_integer_value(json_object_get(n, "rate_mps")), 80);
	assert_true(json_is_false(json_object_get(n, "shared_with_app")));
	char *dump = json_dumps(out, JSON_COMPACT);
	assert_null(strstr(dump, "token"));
	free(dump);
	json_decref(out);

	struct json_error e;
	json_t *body = json_pack("{s:s, s:i}", "status", "paused", "rate_mps", 20);
	assert_int_equal(settings_number_update(E.db.st, E.db.org, E.number, body, ACTOR, &out, &e),
			 0);
	json_decref(body);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "paused");
	assert_int_equal(json_integer_value(json_object_get(out, "rate_mps")), 20);
	json_decref(out);
	body = json_pack("{s:s}", "status", "active");
	assert_int_equal(settings_number_update(E.db.st, E.db.org, E.number, body, ACTOR, &out, &e),
			 0);
	json_decref(body);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "active");
	assert_int_equal(json_integer_value(json_object_get(out, "rate_mps")), 20);
	json_decref(out);
	char *d = testdb_text(&E.db, "SELECT group_concat(detail, '|') FROM (SELECT detail FROM "
				     "audit_log WHERE action = 'number.update' ORDER BY seq)");
	char want[256];
	snprintf(want, sizeof want,
		 "number=%s status=active->paused rate_mps=80->20|"
		 "number=%s status=paused->active rate_mps=20->20",
		 E.number, E.number);
	assert_string_equal(d, want);
	free(d);

	/* Refused: the member is named; another organisation's number is not found. */
	static const struct {
		const char *json, *field;
	} bad[] = {
	    {"{\"rate_mps\":0}", "rate_mps"},
	    {"{\"rate_mps\":1001}", "rate_mps"},
	    {"{\"rate_mps\":\"80\"}", "rate_mps"},
	    {"{\"status\":\"off\"}", "status"},
	    {"{\"status\":null}", "status"},
	    {"{\"display\":\"+1\"}", "display"},
	    {"{}", "body"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		body = json_loads(bad[i].json, 0, NULL);
		out = NULL;
		int rc = settings_number_update(E.db.st, E.db.org, E.number, body, ACTOR, &out, &e);
		json_decref(body);
		if (rc != CW_EINVAL || strcmp(e.field, bad[i].field) != 0)
			fail_msg("%s: rc %d field %s", bad[i].json, rc, e.field);
		assert_null(out);
	}
	char other[ID_SIZE];
	id_new(other);
	testdb_add_org(E.db.st, other, "IL");
	body = json_pack("{s:s}", "status", "paused");
	assert_int_equal(settings_number_update(E.db.st, other, E.number, body, ACTOR, &out, &e),
			 CW_ENOTFOUND);
	assert_int_equal(settings_number_update(E.db.st, E.db.org, "nope", body, ACTOR, &out, &e),
			 CW_ENOTFOUND);
	json_decref(body);
	assert_int_equal(settings_numbers(E.db.st, other, &out), 0);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
	json_decref(out);
	assert_int_equal(testdb_int(&E.db, "SELECT count(*) FROM audit_log WHERE action = "
					   "'number.update'"),
			 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_days, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overview_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producers, setup, teardown),
	    cmocka_unit_test(test_fold),
	    cmocka_unit_test_setup_teardown(test_unanswered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settings_read_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settings_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	text_thread_release();
	return rc;
}
