/*
 * test_journey.c — unit tests for the journey engine, the scheduler, events
 * and campaigns, end to end through the ingest and the send path: the
 * library's event RSVP (buttons, a day and two hours before, the window
 * closing and the fallback template), timeouts, idempotency across
 * retried webhooks and stale timers, conflict policies, versions, replies
 * in Russian, events with subjects and cancel_on, results by consent and
 * sensitivity, quiet hours, keywords and the first message of a new
 * contact, a webhook step that gets no answer, and campaigns (preview,
 * confirmation, canary, the guard halting, pause / resume / cancel), the
 * erasure of a contact ending its runs, and a hand-off opening the inbox's
 * conversation.
 *
 * The clock is pinned (SENDENV_NOW, a Sunday 12:00 in Jerusalem) and moved
 * with time_clock_set(); timers fire through sched_run_due().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/err.h"
#include "base/json.h"
#include "base/text.h"
#include "core/campaign.h"
#include "core/consent.h"
#include "core/contact.h"
#include "core/events.h"
#include "core/ingest.h"
#include "core/journey.h"
#include "core/optout.h"
#include "core/sched.h"
#include "core/send.h"
#include "base/banned.h"

struct fx {
	struct sendenv env;
	struct ingest *ing;
	struct sched *sched;
	struct journey_engine *je;
	struct campaigns *camp;
	int nmsg;
	int64_t now;
};

static struct fx *fx_open(void)
{
	struct fx *f = calloc(1, sizeof *f);
	sendenv_open(&f->env);
	f->now = SENDENV_NOW;
	f->sched = sched_new(f->env.db.st);
	f->je = journey_engine_new(f->env.db.st, f->sched);
	f->camp = campaigns_new(f->je);
	f->ing = ingest_new(f->env.db.st);
	ingest_add_inbound(f->ing, "optout", optout_on_inbound, NULL);
	ingest_add_inbound(f->ing, "journeys", journey_on_inbound, f->je);
	/* templates the library falls back on when the window is closed */
	static const char three[] = "[{\"type\":\"BODY\",\"text\":\"{{1}} on {{2}} at {{3}}\"}]";
	sendenv_template(&f->env, "event_reminder", "en", "UTILITY", "APPROVED", three);
	return f;
}

static void fx_close(struct fx *f)
{
	ingest_free(f->ing);
	sched_free(f->sched);
	campaigns_free(f->camp);
	journey_engine_free(f->je);
	sendenv_close(&f->env);
	free(f);
}

static void at(struct fx *f, int64_t ms)
{
	f->now = ms;
	time_clock_set(ms);
}

static int fire(struct fx *f)
{
	int total = 0, ran = 0;
	do {
		assert_int_equal(sched_run_due(f->sched, SCHED_TAKE, &ran), 0);
		total += ran;
	} while (ran == SCHED_TAKE);
	return total;
}

static long long q(struct fx *f, const char *fmt, const char *v)
{
	return sendenv_int(&f->env, fmt, v);
}

static char *qt(struct fx *f, const char *fmt, const char *v)
{
	return sendenv_text(&f->env, fmt, v);
}

static long long outbox_count(struct fx *f, const char *contact)
{
	return q(f, "SELECT count(*) FROM outbox WHERE contact_id = '%s'", contact);
}

/* The newest queued message's payload of a contact (new JSON). */
static json_t *last_payload(struct fx *f, const char *contact)
{
	char *s = qt(f,
		     "SELECT payload FROM outbox WHERE contact_id = '%s' "
		     "ORDER BY rowid DESC LIMIT 1",
		     contact);
	assert_non_null(s);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	return j;
}

static char *last_text(struct fx *f, const char *contact)
{
	json_t *p = last_payload(f, contact);
	const char *t = json_string_value(json_path(p, "text.body"));
	if (!t)
		t = json_string_value(json_path(p, "interactive.body.text"));
	char *out = strdup(t ? t : json_string_value(json_object_get(p, "type")));
	json_decref(p);
	return out;
}

/* A person's message through the ingest: msg is the Cloud API's message
 * object without from/id/timestamp (stolen). */
static void inbound(struct fx *f, const char *wa_id, json_t *msg)
{
	char wamid[64], ts[24];
	snprintf(wamid, sizeof wamid, "wamid.in.%d", ++f->nmsg);
	snprintf(ts, sizeof ts, "%lld", (long long)(f->now / 1000));
	json_object_set_new(msg, "from", json_string(wa_id));
	json_object_set_new(msg, "id", json_string(wamid));
	json_object_set_new(msg, "timestamp", json_string(ts));
	json_t *b =
	    json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:{s:s}, s:s}],"
		      " s:[o]}}]}]}",
		      "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes",
		      "field", "messages", "value", "messaging_product", "whatsapp", "metadata",
		      "display_phone_number", "97235550100", "phone_number_id", "PNID1", "contacts",
		      "profile", "name", "Noa", "wa_id", wa_id, "messages", msg);
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	assert_int_equal(ingest_accept(f->ing, s, strlen(s), NULL, NULL), 0);
	assert_true(ingest_drain(f->ing) >= 1);
	free(s);
}

static void say(struct fx *f, const char *wa_id, const char *text)
{
	inbound(f, wa_id, json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", text));
}

static void tap(struct fx *f, const char *wa_id, const char *id, const char *title)
{
	inbound(f, wa_id,
		json_pack("{s:s, s:{s:s, s:{s:s, s:s}}}", "type", "interactive", "interactive",
			  "type", "button_reply", "button_reply", "id", id, "title", title));
}

static void pick(struct fx *f, const char *wa_id, const char *id, const char *title)
{
	inbound(f, wa_id,
		json_pack("{s:s, s:{s:s, s:{s:s, s:s}}}", "type", "interactive", "interactive",
			  "type", "list_reply", "list_reply", "id", id, "title", title));
}

static json_t *load_def(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/journeys/%s.json", getenv("CW_SOURCE_ROOT"), name);
	json_t *j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	return j;
}

static void save(struct fx *f, json_t *def, int expect_version)
{
	struct journey_def_errors errs;
	struct journey_saved sv;
	int rc = journey_save(f->je, f->env.db.org, def, "test", 0, &errs, &sv);
	if (rc) {
		char line[600];
		fail_msg("%s", errs.n ? journey_def_error_format(&errs.e[0], line, sizeof line)
				      : cw_strerror(rc));
	}
	json_decref(def);
	if (expect_version)
		assert_int_equal(sv.version, expect_version);
}

static void save_text(struct fx *f, const char *text, int expect_version)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		fail_msg("bad JSON in the test: %s", text);
	save(f, j, expect_version);
}

static void start(struct fx *f, const char *key, const char *contact, json_t *vars,
		  struct journey_started *out)
{
	struct journey_start s = {.org_id = f->env.db.org,
				  .key = key,
				  .contact_id = contact,
				  .vars = vars,
				  .trigger = "api"};
	assert_int_equal(journey_start(f->je, &s, out), 0);
	json_decref(vars);
}

static char *run_state(struct fx *f, const char *run)
{
	return qt(f,
		  "SELECT state || ':' || coalesce(wait_kind, '') || ':' || coalesce(step, '') "
		  "FROM journey_runs WHERE id = '%s'",
		  run);
}

static void expect_state(struct fx *f, const char *run, const char *want)
{
	char *s = run_state(f, run);
	if (!s || strcmp(s, want) != 0)
		fail_msg("run state %s, want %s", s ? s : "(none)", want);
	free(s);
}

static json_t *rsvp_vars(int64_t starts_at)
{
	char iso[TIME_ISO_MAX];
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event_id", "lecture-1",
			 "event_name", "Life after treatment", "starts_at",
			 time_format_iso(starts_at, iso), "venue", "Hall A", "parking",
			 "Parking is free.", "maps_url", "https://maps.example/hall-a", "latitude",
			 "32.08", "longitude", "34.78", "address", "1 Weizmann St");
}

static const char *patient(struct fx *f, const char *wa_id, const char *lang)
{
	const char *c = sendenv_contact(&f->env, wa_id, lang, "Asia/Jerusalem");
	sendenv_consent(&f->env, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&f->env, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&f->env, c, "surveys", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&f->env, c, "service", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_window(&f->env, c, SENDENV_NOW - SENDENV_HOUR);
	return c;
}

/* ---- the event RSVP from the library ---- */

static void test_rsvp_yes(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("event_rsvp"), 1);
	const char *c = patient(f, "972521234567", "en");
	int64_t starts = SENDENV_NOW + 3 * SENDENV_DAY; /* Wednesday 12:00 Jerusalem */
	struct journey_started r;
	start(f, "event_rsvp", c, rsvp_vars(starts), &r);
	assert_string_equal(r.state, "waiting");
	expect_state(f, r.run_id, "waiting:reply:wait_answer");
	/* the invitation with two buttons, in English */
	json_t *p = last_payload(f, c);
	assert_string_equal(json_string_value(json_path(p, "interactive.type")), "button");
	assert_non_null(strstr(json_string_value(json_path(p, "interactive.body.text")),
			       "Life after treatment"));
	assert_string_equal(
	    json_string_value(json_path(p, "interactive.action.buttons.0.reply.id")), "rsvp.yes");
	json_decref(p);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM decisions WHERE contact_id = '%s' AND "
			   "purpose = 'marketing' AND outcome = 'allow'",
			   c),
			 1);
	/* the timeout is a timer row, not a thread */
	assert_int_equal(
	    q(f, "SELECT due_at - 1795341600000 FROM timers WHERE ref = '%s'", r.run_id),
	    3 * SENDENV_DAY);

	/* "I'll come": confirmation with the navigation link, then the location */
	at(f, SENDENV_NOW + SENDENV_HOUR);
	tap(f, "972521234567", "rsvp.yes", "I'll come");
	assert_int_equal(outbox_count(f, c), 3);
	p = last_payload(f, c);
	assert_string_equal(json_string_value(json_object_get(p, "type")), "location");
	json_decref(p);
	char *conf = qt(f,
			"SELECT json_extract(payload, '$.text.body') FROM outbox WHERE "
			"contact_id = '%s' AND json_extract(payload, '$.type') = 'text'",
			c);
	assert_non_null(strstr(conf, "https://maps.example/hall-a"));
	assert_non_null(strstr(conf, "Parking is free."));
	free(conf);
	expect_state(f, r.run_id, "waiting:timer:wait_day_before");
	assert_int_equal(q(f,
			   "SELECT count(*) FROM contact_tags WHERE contact_id = '%s' AND "
			   "tag = 'event-attending'",
			   c),
			 1);
	/* the same webhook again (Meta retries): nothing more */
	f->nmsg--;
	tap(f, "972521234567", "rsvp.yes", "I'll come");
	assert_int_equal(outbox_count(f, c), 3);

	/* a day before: the window has closed, so the template goes */
	at(f, starts - SENDENV_DAY);
	assert_int_equal(fire(f), 1);
	assert_int_equal(outbox_count(f, c), 4);
	p = last_payload(f, c);
	assert_string_equal(json_string_value(json_object_get(p, "type")), "template");
	assert_string_equal(json_string_value(json_path(p, "template.name")), "event_reminder");
	json_decref(p);
	expect_state(f, r.run_id, "waiting:timer:wait_two_hours");
	/* two hours before, time-critical */
	at(f, starts - 2 * SENDENV_HOUR);
	assert_int_equal(fire(f), 1);
	assert_int_equal(outbox_count(f, c), 5);
	expect_state(f, r.run_id, "done::reminder_two_hours");
	/* reminders expire when the lecture starts */
	assert_int_equal(q(f,
			   "SELECT count(*) FROM outbox WHERE contact_id = '%s' AND "
			   "expires_at = 1795600800000",
			   c),
			 2);
	/* nothing is left to fire */
	at(f, starts + SENDENV_DAY);
	assert_int_equal(fire(f), 0);
	assert_int_equal(outbox_count(f, c), 5);

	/* per-step analytics: the tap is on the invitation */
	json_t *st = NULL;
	assert_int_equal(journey_stats_json(f->env.db.st, f->env.db.org, "event_rsvp", NULL, &st),
			 0);
	json_t *steps = json_object_get(st, "steps");
	int found = 0;
	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i);
		if (strcmp(json_string_value(json_object_get(s, "step")), "invite") == 0) {
			found = 1;
			assert_int_equal(json_integer_value(json_object_get(
					     json_object_get(s, "taps"), "rsvp.yes")),
					 1);
			assert_int_equal(json_integer_value(json_object_get(s, "replied")), 1);
			assert_int_equal(json_integer_value(json_path(s, "decisions.allowed")), 1);
			assert_int_equal(json_integer_value(json_object_get(s, "entered")), 1);
		}
	}
	assert_true(found);
	assert_int_equal(json_integer_value(json_path(st, "runs.done")), 1);
	json_decref(st);
	fx_close(f);
}

static void test_rsvp_no_answer_one_nudge(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("event_rsvp"), 1);
	const char *c = patient(f, "972521234568", "he");
	struct journey_started r;
	start(f, "event_rsvp", c, rsvp_vars(SENDENV_NOW + 10 * SENDENV_DAY), &r);
	assert_int_equal(outbox_count(f, c), 1);
	char *t = last_text(f, c);
	assert_non_null(strstr(t, "שלום")); /* Hebrew */
	free(t);
	at(f, SENDENV_NOW + 3 * SENDENV_DAY);
	assert_int_equal(fire(f), 1);
	/* one gentle reminder (the window closed: the invite template is not
	 * registered here, so policy refused it — recorded, not sent) */
	assert_int_equal(q(f,
			   "SELECT count(*) FROM journey_sends WHERE run_id = '%s' AND "
			   "step = 'nudge'",
			   r.run_id),
			 1);
	expect_state(f, r.run_id, "waiting:reply:wait_answer_again");
	at(f, SENDENV_NOW + 6 * SENDENV_DAY);
	assert_int_equal(fire(f), 1);
	expect_state(f, r.run_id, "done::wait_answer_again");
	at(f, SENDENV_NOW + 9 * SENDENV_DAY);
	assert_int_equal(fire(f), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM journey_sends WHERE run_id = '%s'", r.run_id),
			 2);
	fx_close(f);
}

static void test_rsvp_no_then_silence(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("event_rsvp"), 1);
	const char *c = patient(f, "972521234569", "ru");
	struct journey_started r;
	start(f, "event_rsvp", c, rsvp_vars(SENDENV_NOW + 5 * SENDENV_DAY), &r);
	at(f, SENDENV_NOW + SENDENV_MIN);
	say(f, "972521234569", "Нет, не смогу, извините"); /* words, not a button */
	expect_state(f, r.run_id, "done::done");
	char *t = last_text(f, c);
	assert_non_null(strstr(t, "Спасибо")); /* the acknowledgement in Russian */
	free(t);
	assert_int_equal(outbox_count(f, c), 2);
	at(f, SENDENV_NOW + 20 * SENDENV_DAY);
	assert_int_equal(fire(f), 0);
	assert_int_equal(outbox_count(f, c), 2);
	fx_close(f);
}

/* ---- idempotency ---- */

static void test_stale_timer_and_retries(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(
	    f,
	    "{\"key\":\"w\",\"purpose\":\"reminders\",\"steps\":["
	    "{\"id\":\"pause\",\"type\":\"wait\",\"for\":\"PT1H\",\"quiet_hours\":\"ignore\"},"
	    "{\"id\":\"hello\",\"type\":\"send\",\"message\":{\"type\":\"text\",\"text\":\"Hi\"}},"
	    "{\"id\":\"again\",\"type\":\"wait\",\"for\":\"PT1H\",\"quiet_hours\":\"ignore\"},"
	    "{\"id\":\"bye\",\"type\":\"send\",\"message\":{\"type\":\"text\",\"text\":\"Bye\"}}]}",
	    1);
	const char *c = patient(f, "972521230001", "en");
	struct journey_started r;
	start(f, "w", c, NULL, &r);
	assert_int_equal(outbox_count(f, c), 0);
	long long due = q(f, "SELECT due_at FROM timers WHERE ref = '%s'", r.run_id);
	at(f, SENDENV_NOW + SENDENV_HOUR);
	assert_int_equal(fire(f), 1);
	assert_int_equal(outbox_count(f, c), 1);
	/* the first timer comes back (as if a crash had lost its removal): the
	 * run moved on, so it does nothing */
	long long next = q(f, "SELECT due_at FROM journey_runs WHERE id = '%s'", r.run_id);
	struct store_val a[] = {SV_TEXT("journey"), SV_TEXT(r.run_id), SV_TEXT(f->env.db.org),
				SV_INT(due)};
	assert_int_equal(store_exec(f->env.db.st, "timer.set", a, 4, NULL), 0);
	assert_int_equal(fire(f), 1);
	assert_int_equal(outbox_count(f, c), 1);
	expect_state(f, r.run_id, "waiting:timer:again");
	struct store_val b[] = {SV_TEXT("journey"), SV_TEXT(r.run_id), SV_TEXT(f->env.db.org),
				SV_INT(next)};
	assert_int_equal(store_exec(f->env.db.st, "timer.set", b, 4, NULL), 0);
	/* the step's idempotency key is run + step + counter */
	char *key = qt(f, "SELECT idem_key FROM outbox WHERE contact_id = '%s'", c);
	char want[128];
	snprintf(want, sizeof want, "journey:%s:hello:2", r.run_id);
	assert_string_equal(key, want);
	free(key);
	at(f, SENDENV_NOW + 2 * SENDENV_HOUR);
	assert_int_equal(fire(f), 1);
	assert_int_equal(outbox_count(f, c), 2);
	expect_state(f, r.run_id, "done::bye");
	fx_close(f);
}

/* ---- conflicts ---- */

static const char *ask_def(const char *key, const char *conflict, const char *text)
{
	static char buf[4][1024];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(
	    b, 1024,
	    "{\"key\":\"%s\",\"purpose\":\"service\",\"on_conflict\":\"%s\",\"steps\":["
	    "{\"id\":\"ask\",\"type\":\"send\",\"message\":{\"type\":\"buttons\",\"body\":\"%s\","
	    "\"buttons\":[{\"id\":\"%s.ok\",\"title\":\"OK\"}]}},"
	    "{\"id\":\"wait\",\"type\":\"wait_reply\",\"timeout\":\"P1D\",\"branches\":["
	    "{\"button\":\"%s.ok\",\"next\":\"thanks\"},{\"timeout\":true,\"next\":\"end\"}]},"
	    "{\"id\":\"thanks\",\"type\":\"send\",\"message\":{\"type\":\"text\","
	    "\"text\":\"%s done\"}}]}",
	    key, conflict, text, key, key, text);
	return b;
}

static void test_conflicts(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(f, ask_def("a", "queue", "A?"), 1);
	save_text(f, ask_def("skipper", "skip", "S?"), 1);
	save_text(f, ask_def("queuer", "queue", "Q?"), 1);
	save_text(f, ask_def("boss", "interrupt", "B?"), 1);
	const char *c = patient(f, "972521230002", "en");
	struct journey_started ra, rs, rq, rb;
	start(f, "a", c, NULL, &ra);
	assert_string_equal(ra.state, "waiting");
	start(f, "skipper", c, NULL, &rs);
	assert_string_equal(rs.state, "skipped");
	assert_non_null(strstr(rs.reason, "waits for this contact's reply"));
	start(f, "queuer", c, NULL, &rq);
	assert_string_equal(rq.state, "queued");
	assert_int_equal(outbox_count(f, c), 1); /* only A asked */
	/* the answer to A ends A, and the queued journey starts */
	tap(f, "972521230002", "a.ok", "OK");
	expect_state(f, ra.run_id, "done::thanks");
	expect_state(f, rq.run_id, "waiting:reply:wait");
	assert_int_equal(outbox_count(f, c), 3);
	char *t = last_text(f, c);
	assert_string_equal(t, "Q?");
	free(t);
	/* an interrupting journey cancels the one waiting */
	start(f, "boss", c, NULL, &rb);
	assert_string_equal(rb.state, "waiting");
	expect_state(f, rq.run_id, "cancelled::wait");
	char *why = qt(f, "SELECT end_reason FROM journey_runs WHERE id = '%s'", rq.run_id);
	assert_string_equal(why, "interrupted by boss");
	free(why);
	/* a tap on Q's old button no longer moves anything */
	tap(f, "972521230002", "queuer.ok", "OK");
	expect_state(f, rq.run_id, "cancelled::wait");
	fx_close(f);
}

/* ---- versions ---- */

static void test_versions(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(f, ask_def("v", "queue", "one"), 1);
	const char *c1 = patient(f, "972521230003", "en");
	const char *c2 = patient(f, "972521230004", "en");
	struct journey_started r1, r2;
	start(f, "v", c1, NULL, &r1);
	/* the same definition again is not a new version */
	save_text(f, ask_def("v", "queue", "one"), 1);
	save_text(f, ask_def("v", "queue", "two"), 2);
	start(f, "v", c2, NULL, &r2);
	char *t = last_text(f, c2);
	assert_string_equal(t, "two");
	free(t);
	/* the first run finishes on its own version */
	tap(f, "972521230003", "v.ok", "OK");
	t = last_text(f, c1);
	assert_string_equal(t, "one done");
	free(t);
	assert_int_equal(q(f, "SELECT version FROM journey_runs WHERE id = '%s'", r1.run_id), 1);
	assert_int_equal(q(f, "SELECT version FROM journey_runs WHERE id = '%s'", r2.run_id), 2);
	json_t *j = NULL;
	assert_int_equal(journey_get_json(f->je, f->env.db.org, "v", 0, &j), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "versions")), 2);
	assert_string_equal(json_string_value(json_path(j, "graph.start")), "ask");
	json_decref(j);
	/* a paused journey starts nothing */
	assert_int_equal(journey_set_status(f->je, f->env.db.org, "v", "paused"), 0);
	struct journey_start s = {.org_id = f->env.db.org, .key = "v", .contact_id = c1};
	struct journey_started out;
	assert_int_equal(journey_start(f->je, &s, &out), CW_ECONFLICT);
	fx_close(f);
}

/* ---- events ---- */

static void post(struct fx *f, const char *type, const char *ext, const char *contact, json_t *data,
		 json_t **out)
{
	struct event_in in = {.org_id = f->env.db.org,
			      .type = type,
			      .source = "api",
			      .external_id = ext,
			      .contact_id = contact,
			      .data = data};
	struct events_error err;
	assert_int_equal(events_post(f->je, &in, out, &err), 0);
	json_decref(data);
}

static void test_events_subject_and_cancel(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(f,
		  "{\"key\":\"appt\",\"purpose\":\"reminders\",\"interactive\":false,"
		  "\"subject\":\"event.appointment_id\",\"cancel_on\":[\"appointment.cancelled\"],"
		  "\"triggers\":[{\"type\":\"event\",\"event\":\"appointment.booked\"},"
		  "{\"type\":\"event\",\"event\":\"appointment.changed\"}],"
		  "\"steps\":["
		  "{\"id\":\"booked\",\"type\":\"send\",\"message\":{\"type\":\"text\","
		  "\"text\":\"Booked for {{event.starts_at|datetime}} with {{event.doctor}}\"}},"
		  "{\"id\":\"day\",\"type\":\"wait\",\"until\":{\"var\":\"event.starts_at\","
		  "\"offset\":\"-P1D\"},\"if_past\":\"end\"},"
		  "{\"id\":\"remind\",\"type\":\"send\",\"message\":{\"type\":\"text\","
		  "\"text\":\"Tomorrow: {{event.doctor}}. Nothing to eat 3 hours before.\"}}]}",
		  1);
	const char *c = patient(f, "972521230005", "en");
	json_t *res = NULL;
	post(f, "appointment.booked", "ext-1", c,
	     json_pack("{s:s, s:s, s:s}", "appointment_id", "A1", "starts_at",
		       "2026-11-26T09:00:00Z", "doctor", "Dr. Cohen"),
	     &res);
	json_t *run = json_array_get(json_object_get(res, "runs"), 0);
	assert_string_equal(json_string_value(json_object_get(run, "state")), "waiting");
	char r1[ID_SIZE];
	snprintf(r1, sizeof r1, "%s", json_string_value(json_object_get(run, "run_id")));
	json_decref(res);
	char *t = last_text(f, c);
	assert_non_null(strstr(t, "Dr. Cohen"));
	free(t);
	/* the same event again: stored once, nothing more */
	post(f, "appointment.booked", "ext-1", c, json_pack("{s:s}", "appointment_id", "A1"), &res);
	assert_true(json_is_true(json_object_get(res, "duplicate")));
	json_decref(res);
	assert_int_equal(outbox_count(f, c), 1);
	/* rescheduled: the run about A1 starts again with the new time */
	post(f, "appointment.changed", "ext-2", c,
	     json_pack("{s:s, s:s, s:s}", "appointment_id", "A1", "starts_at",
		       "2026-11-27T09:00:00Z", "doctor", "Dr. Cohen"),
	     &res);
	char r2[ID_SIZE];
	snprintf(r2, sizeof r2, "%s", json_string_value(json_path(res, "runs.0.run_id")));
	json_decref(res);
	expect_state(f, r1, "cancelled::day");
	expect_state(f, r2, "waiting:timer:day");
	assert_int_equal(q(f, "SELECT due_at FROM timers WHERE ref = '%s'", r2),
			 1795683600000LL); /* 2026-11-26T09:00Z */
	/* another appointment of the same contact runs alongside */
	post(f, "appointment.booked", "ext-3", c,
	     json_pack("{s:s, s:s, s:s}", "appointment_id", "A2", "starts_at",
		       "2026-12-01T09:00:00Z", "doctor", "Dr. Levi"),
	     &res);
	json_decref(res);
	/* A1 cancelled: only its run ends */
	post(f, "appointment.cancelled", "ext-4", c, json_pack("{s:s}", "appointment_id", "A1"),
	     &res);
	assert_string_equal(json_string_value(json_path(res, "runs.0.state")), "cancelled");
	json_decref(res);
	expect_state(f, r2, "cancelled::day");
	assert_int_equal(q(f,
			   "SELECT count(*) FROM journey_runs WHERE contact_id = '%s' AND "
			   "state = 'waiting'",
			   c),
			 1);
	at(f, 1795597200000LL + SENDENV_MIN);
	assert_int_equal(fire(f), 0); /* A1's reminder is gone */
	fx_close(f);
}

/* ---- erasure ---- */

static void test_erasure_ends_runs(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(f, ask_def("a", "queue", "A?"), 1);
	save_text(f, ask_def("queuer", "queue", "Q?"), 1);
	save_text(f,
		  "{\"key\":\"later\",\"purpose\":\"reminders\","
		  "\"triggers\":[{\"type\":\"event\",\"event\":\"visit.completed\"}],\"steps\":["
		  "{\"id\":\"pause\",\"type\":\"wait\",\"for\":\"P7D\"},"
		  "{\"id\":\"remind\",\"type\":\"send\",\"message\":{\"type\":\"text\","
		  "\"text\":\"About {{event.visit_id}}\"}}]}",
		  1);
	const char *c = patient(f, "972521230020", "en");
	const char *other = patient(f, "972521230021", "en");
	struct journey_started ra, rq, ro;
	start(f, "a", c, json_pack("{s:s}", "note", "Noa's question"), &ra);
	start(f, "queuer", c, NULL, &rq);
	assert_string_equal(rq.state, "queued");
	start(f, "a", other, NULL, &ro);
	json_t *res = NULL;
	post(f, "visit.completed", "v-erase", c, json_pack("{s:s}", "visit_id", "V9"), &res);
	json_decref(res);
	char *recall = qt(f,
			  "SELECT id FROM journey_runs WHERE contact_id = '%s' AND "
			  "key = 'later'",
			  c);
	assert_non_null(recall);
	expect_state(f, recall, "waiting:timer:pause");
	assert_int_equal(outbox_count(f, c), 1);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM timers WHERE ref IN (SELECT id FROM "
			   "journey_runs WHERE contact_id = '%s')",
			   c),
			 2);

	int already = -1;
	assert_int_equal(contact_erase(f->env.db.st, f->env.db.org, c, "test", &already), 0);
	assert_int_equal(already, 0);
	/* every live run ended, the queued one too (it did not start instead) */
	expect_state(f, ra.run_id, "cancelled::wait");
	expect_state(f, rq.run_id, "cancelled::");
	expect_state(f, recall, "cancelled::pause");
	free(recall);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM journey_runs WHERE contact_id = '%s' AND "
			   "(end_reason <> 'contact erased' OR ended_at IS NULL)",
			   c),
			 0);
	assert_int_equal(outbox_count(f, c), 1);
	/* no timer is left, and the runs forgot the person */
	assert_int_equal(q(f,
			   "SELECT count(*) FROM timers WHERE ref IN (SELECT id FROM "
			   "journey_runs WHERE contact_id = '%s')",
			   c),
			 0);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM journey_runs WHERE contact_id = '%s' AND "
			   "(vars <> '{}' OR event IS NOT NULL)",
			   c),
			 0);
	at(f, SENDENV_NOW + 200 * SENDENV_DAY);
	assert_int_equal(fire(f), 1); /* the other person's timeout only */
	assert_int_equal(outbox_count(f, c), 1);
	expect_state(f, ro.run_id, "done::wait");
	/* nothing starts for the tombstone */
	struct journey_started rx;
	struct journey_start st = {
	    .org_id = f->env.db.org, .key = "a", .contact_id = c, .trigger = "api"};
	assert_int_equal(journey_start(f->je, &st, &rx), CW_ENOTFOUND);
	fx_close(f);
}

/* ---- hand-offs reach the inbox ---- */

static void test_handoff_opens_conversation(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(f,
		  "{\"key\":\"callback\",\"purpose\":\"service\",\"steps\":["
		  "{\"id\":\"ack\",\"type\":\"send\",\"message\":{\"type\":\"text\","
		  "\"text\":\"We will call you\"}},"
		  "{\"id\":\"to_desk\",\"type\":\"handoff\",\"team\":\"reception\","
		  "\"note\":\"{{contact.first_name}} wants a call: {{vars.when}}\"}]}",
		  1);
	const char *c = patient(f, "972521230022", "en");
	at(f, SENDENV_NOW + SENDENV_MIN);
	struct journey_started r;
	start(f, "callback", c, json_pack("{s:s}", "when", "evening"), &r);
	expect_state(f, r.run_id, "done::to_desk");
	assert_int_equal(q(f, "SELECT count(*) FROM handoffs WHERE contact_id = '%s'", c), 1);
	char *row = qt(f,
		       "SELECT status || '|' || handoff || '|' || team || '|' || note || '|' || "
		       "(first_inbound_at - 1795341600000) || '|' || unread FROM conversations "
		       "WHERE contact_id = '%s'",
		       c);
	assert_non_null(row);
	assert_string_equal(row, "open|journey:callback|reception|Test wants a call: evening|"
				 "60000|0");
	free(row);
	fx_close(f);
}

static void test_results_by_consent_and_category(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("results_ready"), 1);
	const char *with = patient(f, "972521230006", "en");
	sendenv_consent(&f->env, with, "results", "granted", SENDENV_NOW - SENDENV_DAY);
	const char *without = patient(f, "972521230007", "en");
	json_t *res = NULL;
	post(f, "result.ready", "r1", with,
	     json_pack("{s:s, s:s, s:s}", "result_id", "L1", "category", "lipids", "link",
		       "https://results.example/s/abc"),
	     &res);
	json_decref(res);
	char *t = last_text(f, with);
	assert_non_null(strstr(t, "https://results.example/s/abc"));
	free(t);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM decisions WHERE contact_id = '%s' AND "
			   "purpose = 'results' AND outcome = 'allow' AND "
			   "result_category = 'lipids'",
			   with),
			 1);
	post(f, "result.ready", "r2", without,
	     json_pack("{s:s, s:s, s:s}", "result_id", "L2", "category", "lipids", "link",
		       "https://results.example/s/def"),
	     &res);
	json_decref(res);
	t = last_text(f, without);
	assert_null(strstr(t, "https://"));
	assert_non_null(strstr(t, "come in or call"));
	free(t);
	/* sensitive: never the result, even with consent */
	post(f, "result.ready", "r3", with,
	     json_pack("{s:s, s:s, s:s}", "result_id", "O1", "category", "oncology/breast", "link",
		       "https://results.example/s/onc"),
	     &res);
	json_decref(res);
	t = last_text(f, with);
	assert_non_null(strstr(t, "contact your doctor"));
	assert_null(strstr(t, "https://"));
	free(t);
	fx_close(f);
}

/* ---- quiet hours ---- */

static void test_wait_shifted_out_of_quiet_hours(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(
	    f,
	    "{\"key\":\"early\",\"purpose\":\"reminders\",\"steps\":["
	    "{\"id\":\"w\",\"type\":\"wait\",\"until\":{\"var\":\"vars.at\"}},"
	    "{\"id\":\"w2\",\"type\":\"wait\",\"until\":{\"var\":\"vars.at\",\"offset\":\"P1D\","
	    "\"at\":\"10:00\"}},"
	    "{\"id\":\"s\",\"type\":\"send\",\"message\":{\"type\":\"text\",\"text\":\"x\"}}]}",
	    1);
	const char *c = patient(f, "972521230008", "en");
	struct journey_started r;
	/* 04:00Z is 06:00 in Jerusalem: moved to 08:00 there, 06:00Z */
	start(f, "early", c, json_pack("{s:s}", "at", "2026-11-23T04:00:00Z"), &r);
	assert_int_equal(q(f, "SELECT due_at FROM timers WHERE ref = '%s'", r.run_id),
			 1795413600000LL); /* 2026-11-23T06:00:00Z */
	at(f, 1795413600000LL);
	assert_int_equal(fire(f), 1);
	/* the next day at 10:00 local: 08:00Z */
	assert_int_equal(q(f, "SELECT due_at FROM timers WHERE ref = '%s'", r.run_id),
			 1795507200000LL); /* 2026-11-24T08:00:00Z */
	fx_close(f);
}

/* ---- triggers from what people write ---- */

static void test_keyword_and_new_contact(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("consent_first"), 1);
	save_text(
	    f,
	    "{\"key\":\"lecture_info\",\"purpose\":\"service\",\"languages\":[\"en\",\"he\"],"
	    "\"triggers\":[{\"type\":\"keyword\",\"words\":{\"en\":[\"lecture\"],"
	    "\"he\":[\"הרצאה\"]}}],"
	    "\"steps\":[{\"id\":\"info\",\"type\":\"send\",\"message\":{\"type\":\"text\","
	    "\"text\":{\"en\":\"The lecture is on Wednesday.\",\"he\":\"ההרצאה ביום רביעי.\"}}}]}",
	    1);
	/* a new person's first message: consent first */
	say(f, "972521230009", "hello");
	char *cid = qt(f, "SELECT id FROM contacts WHERE wa_id = '%s'", "972521230009");
	assert_non_null(cid);
	assert_int_equal(outbox_count(f, cid), 1);
	json_t *p = last_payload(f, cid);
	assert_string_equal(
	    json_string_value(json_path(p, "interactive.action.buttons.1.reply.id")), "consent.no");
	json_decref(p);
	/* refusing records a refusal for every purpose */
	tap(f, "972521230009", "consent.no", "No, thanks");
	assert_int_equal(q(f,
			   "SELECT count(*) FROM consent_current WHERE contact_id = '%s' AND "
			   "status = 'refused'",
			   cid),
			 5);
	assert_int_equal(outbox_count(f, cid), 2); /* the one acknowledgement */
	/* and nothing business-initiated goes any more */
	json_t *body = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", "Promo!");
	struct send_request rq = {.org_id = f->env.db.org,
				  .contact_id = cid,
				  .purpose = POLICY_MARKETING,
				  .payload = body,
				  .producer = "t",
				  .idem_key = "after-refusal",
				  .priority = -1};
	struct send_result sr;
	assert_int_equal(send_submit(f->env.db.st, &rq, &sr), 0);
	assert_int_equal(sr.decision.reason, POLICY_R_CONSENT_REFUSED);
	json_decref(body);
	/* a keyword in Hebrew starts its journey */
	say(f, "972521230009", "פרטים על הרצאה בבקשה");
	char *t = last_text(f, cid);
	assert_true(strstr(t, "ההרצאה ביום רביעי") || strstr(t, "Wednesday"));
	free(t);
	/* with the article or a preposition attached, as Hebrew writes it */
	long long sent = outbox_count(f, cid);
	say(f, "972521230009", "מתי ההרצאה?");
	assert_int_equal(outbox_count(f, cid), sent + 1);
	say(f, "972521230009", "אפשר לבוא עם בן זוג לַהַרְצָאָה?");
	assert_int_equal(outbox_count(f, cid), sent + 2);
	/* "the lectures" is another word */
	say(f, "972521230009", "מתי ההרצאות?");
	assert_int_equal(outbox_count(f, cid), sent + 2);
	free(cid);
	fx_close(f);
}

/* ---- a feedback survey: saved answers ---- */

static void test_feedback_responses(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save(f, load_def("visit_feedback"), 1);
	const char *a = patient(f, "972521230010", "en");
	const char *b = patient(f, "972521230011", "en");
	json_t *res = NULL;
	post(f, "visit.completed", "v1", a, json_pack("{s:s}", "visit_id", "V1"), &res);
	json_decref(res);
	post(f, "visit.completed", "v2", b, json_pack("{s:s}", "visit_id", "V2"), &res);
	json_decref(res);
	assert_int_equal(outbox_count(f, a), 0); /* two hours later */
	at(f, SENDENV_NOW + 2 * SENDENV_HOUR);
	assert_int_equal(fire(f), 2);
	/* the people wrote in the meantime, so the window is open */
	pick(f, "972521230010", "5", "5 – excellent");
	say(f, "972521230010", "Very kind nurse");
	pick(f, "972521230011", "2", "2 – poor");
	json_t *agg = NULL;
	assert_int_equal(
	    journey_responses_json(f->env.db.st, f->env.db.org, "visit_feedback", &agg), 0);
	assert_int_equal(json_integer_value(json_path(agg, "rating.count")), 2);
	assert_true(fabs(json_real_value(json_path(agg, "rating.average")) - 3.5) < 1e-9);
	assert_int_equal(json_integer_value(json_path(agg, "rating.distribution.5")), 1);
	assert_int_equal(json_integer_value(json_path(agg, "comment.count")), 1);
	assert_string_equal(json_string_value(json_path(agg, "comment.recent.0.value")),
			    "Very kind nurse");
	json_decref(agg);
	/* the poor rating counts as negative */
	assert_int_equal(q(f, "SELECT negative FROM journey_runs WHERE contact_id = '%s'", b), 1);
	fx_close(f);
}

/* ---- a webhook step without an answer ---- */

static void test_webhook_failed_branch(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	save_text(
	    f,
	    "{\"key\":\"hook\",\"purpose\":\"service\",\"steps\":["
	    "{\"id\":\"call\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:1/crm\","
	    "\"timeout\":\"PT2S\",\"save\":\"crm\",\"body\":{\"who\":\"{{contact.phone}}\"},"
	    "\"branches\":[{\"ok\":true,\"next\":\"good\"},{\"failed\":true,\"next\":\"bad\"}]},"
	    "{\"id\":\"good\",\"type\":\"send\",\"message\":{\"type\":\"text\",\"text\":\"ok\"},"
	    "\"next\":\"end\"},"
	    "{\"id\":\"bad\",\"type\":\"send\",\"message\":{\"type\":\"text\","
	    "\"text\":\"CRM said {{vars.crm.status}}\"}}]}",
	    1);
	const char *c = patient(f, "972521230012", "en");
	struct journey_started r;
	start(f, "hook", c, NULL, &r);
	expect_state(f, r.run_id, "waiting:webhook:call");
	assert_int_equal(fire(f), 1);
	expect_state(f, r.run_id, "done::bad");
	char *t = last_text(f, c);
	assert_string_equal(t, "CRM said 0");
	free(t);
	fx_close(f);
}

/* ---- campaigns ---- */

static void campaign_journey(struct fx *f)
{
	save_text(
	    f,
	    "{\"key\":\"promo\",\"purpose\":\"marketing\",\"steps\":["
	    "{\"id\":\"offer\",\"type\":\"send\",\"message\":{\"type\":\"buttons\",\"body\":\"Flu "
	    "shots are here\",\"buttons\":[{\"id\":\"p.yes\",\"title\":\"Book\"},"
	    "{\"id\":\"p.no\",\"title\":\"Never again\"}]}},"
	    "{\"id\":\"w\",\"type\":\"wait_reply\",\"timeout\":\"P2D\",\"branches\":["
	    "{\"button\":\"p.yes\",\"next\":\"end\"},"
	    "{\"button\":\"p.no\",\"next\":\"end\",\"negative\":true},"
	    "{\"timeout\":true,\"next\":\"end\"}]}]}",
	    1);
}

static void make_audience(struct fx *f, int n, const char *prefix, char ids[][ID_SIZE])
{
	/* people outside the segment, so that it is not everyone */
	sendenv_contact(&f->env, "972529990001", "en", "Asia/Jerusalem");
	sendenv_contact(&f->env, "972529990002", "he", "Asia/Jerusalem");
	for (int i = 0; i < n; i++) {
		char wa[32];
		snprintf(wa, sizeof wa, "%s%03d", prefix, i);
		const char *c = patient(f, wa, "en");
		snprintf(ids[i], ID_SIZE, "%s", c);
		struct store_val a[] = {SV_TEXT(f->env.db.org), SV_TEXT(c), SV_TEXT("flu")};
		assert_int_equal(store_exec(f->env.db.st, "contact.tag_add", a, 3, NULL), 0);
	}
}

static json_t *campaign(struct fx *f, const char *json, int expect_rc, struct campaign_error *err)
{
	json_t *req = json_loads(json, 0, NULL);
	assert_non_null(req);
	json_t *out = NULL;
	int rc = campaign_create(f->camp, f->env.db.org, req, "test", &out, err);
	json_decref(req);
	if (rc != expect_rc)
		fail_msg("campaign_create: %s (%s: %s)", cw_strerror(rc), err->field, err->message);
	return out;
}

static void test_campaign_canary_and_guard(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	campaign_journey(f);
	static char ids[40][ID_SIZE];
	make_audience(f, 40, "97252300", ids);
	/* one tagged contact without marketing consent is excluded */
	const char *x = sendenv_contact(&f->env, "972523009999", "en", "Asia/Jerusalem");
	struct store_val ta[] = {SV_TEXT(f->env.db.org), SV_TEXT(x), SV_TEXT("flu")};
	assert_int_equal(store_exec(f->env.db.st, "contact.tag_add", ta, 3, NULL), 0);

	struct campaign_error err;
	json_t *req = json_pack("{s:s, s:s}", "journey", "promo", "segment", "tag = flu");
	json_t *pv = NULL;
	assert_int_equal(campaign_preview(f->camp, f->env.db.org, req, &pv, &err), 0);
	json_decref(req);
	assert_int_equal(json_integer_value(json_object_get(pv, "audience")), 41);
	assert_int_equal(json_integer_value(json_path(pv, "excluded.no_consent")), 1);
	assert_int_equal(json_integer_value(json_object_get(pv, "eligible")), 40);
	assert_string_equal(json_string_value(json_path(pv, "cost.category")), "MARKETING");
	/* 40 Israeli contacts at the default marketing price */
	assert_true(fabs(json_real_value(json_path(pv, "cost.total")) - 40 * 0.0353) < 0.011);
	json_decref(pv);

	/* everyone is refused unless confirmed */
	json_decref(campaign(f, "{\"journey\":\"promo\",\"segment\":\"*\"}", CW_ECONFLICT, &err));
	assert_string_equal(err.field, "confirm.everyone");
	/* a bad query names its column */
	json_decref(
	    campaign(f, "{\"journey\":\"promo\",\"segment\":\"tga = flu\"}", CW_EPARSE, &err));
	assert_string_equal(err.code, "invalid_query");

	json_t *c = campaign(f,
			     "{\"journey\":\"promo\",\"segment\":\"tag = flu\","
			     "\"canary\":{\"percent\":10,\"hold\":\"PT1H\"},"
			     "\"guard\":{\"max_negative_rate\":0.2,\"min_sample\":3}}",
			     0, &err);
	char id[ID_SIZE];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
	assert_int_equal(json_integer_value(json_path(c, "progress.canary_target")), 5);
	json_decref(c);
	assert_int_equal(fire(f), 1);
	assert_int_equal(q(f, "SELECT enrolled FROM campaigns WHERE id = '%s'", id), 5);
	assert_int_equal(q(f, "SELECT count(*) FROM journey_sends WHERE campaign_id = '%s'", id),
			 5);
	char *phase = qt(f, "SELECT phase FROM campaigns WHERE id = '%s'", id);
	assert_string_equal(phase, "hold");
	free(phase);
	/* two of those who got the offer say "never again" */
	for (int i = 0; i < 2; i++) {
		char sql[512];
		snprintf(
		    sql, sizeof sql,
		    "SELECT c.wa_id FROM journey_sends s JOIN contacts c ON c.id = s.contact_id "
		    "WHERE s.campaign_id = '%s' AND s.message_id IS NOT NULL "
		    "ORDER BY c.wa_id LIMIT 1 OFFSET %d",
		    id, i);
		char *wa = testdb_text(&f->env.db, sql);
		assert_non_null(wa);
		tap(f, wa, "p.no", "Never again");
		free(wa);
	}
	/* nothing more during the hold */
	at(f, SENDENV_NOW + 30 * SENDENV_MIN);
	fire(f);
	assert_int_equal(q(f, "SELECT enrolled FROM campaigns WHERE id = '%s'", id), 5);
	/* after the hold the guard halts it: 40 % negative over 20 % */
	at(f, SENDENV_NOW + SENDENV_HOUR);
	fire(f);
	json_t *v = NULL;
	assert_int_equal(campaign_get_json(f->camp, f->env.db.org, id, &v), 0);
	assert_string_equal(json_string_value(json_object_get(v, "status")), "halted");
	assert_non_null(strstr(json_string_value(json_object_get(v, "halted_reason")), "negative"));
	assert_int_equal(json_integer_value(json_path(v, "progress.enrolled")), 5);
	assert_int_equal(json_integer_value(json_path(v, "guard.negative_replies")), 2);
	assert_int_equal(json_integer_value(json_path(v, "stats.totals.negative")), 2);
	json_decref(v);
	/* resume (a person decided), then cancel */
	json_t *o = NULL;
	assert_int_equal(campaign_action(f->camp, f->env.db.org, id, "resume", &o, &err), 0);
	json_decref(o);
	assert_int_equal(campaign_action(f->camp, f->env.db.org, id, "cancel", &o, &err), 0);
	json_decref(o);
	assert_int_equal(campaign_action(f->camp, f->env.db.org, id, "pause", &o, &err),
			 CW_ECONFLICT);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM journey_runs WHERE campaign_id = '%s' AND "
			   "state IN ('queued','running','waiting')",
			   id),
			 0);
	fx_close(f);
}

static void test_campaign_rolls_out(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	campaign_journey(f);
	static char ids[30][ID_SIZE];
	make_audience(f, 30, "97252400", ids);
	struct campaign_error err;
	json_t *c = campaign(f,
			     "{\"journey\":\"promo\",\"segment\":\"tag = flu\",\"batch\":7,"
			     "\"canary\":{\"percent\":10,\"hold\":\"PT1H\"}}",
			     0, &err);
	char id[ID_SIZE];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(c, "id")));
	json_decref(c);
	fire(f);
	assert_int_equal(q(f, "SELECT enrolled FROM campaigns WHERE id = '%s'", id), 3);
	/* pause holds it through the end of the hold */
	json_t *o = NULL;
	assert_int_equal(campaign_action(f->camp, f->env.db.org, id, "pause", &o, &err), 0);
	json_decref(o);
	at(f, SENDENV_NOW + 2 * SENDENV_HOUR);
	fire(f);
	assert_int_equal(q(f, "SELECT enrolled FROM campaigns WHERE id = '%s'", id), 3);
	assert_int_equal(campaign_action(f->camp, f->env.db.org, id, "resume", &o, &err), 0);
	json_decref(o);
	for (int i = 0; i < 10; i++)
		fire(f);
	assert_int_equal(q(f, "SELECT enrolled FROM campaigns WHERE id = '%s'", id), 30);
	char *phase = qt(f, "SELECT phase FROM campaigns WHERE id = '%s'", id);
	assert_string_equal(phase, "done");
	free(phase);
	/* every contact once */
	assert_int_equal(q(f,
			   "SELECT count(DISTINCT contact_id) FROM journey_runs WHERE "
			   "campaign_id = '%s'",
			   id),
			 30);
	assert_int_equal(q(f, "SELECT count(*) FROM journey_runs WHERE campaign_id = '%s'", id),
			 30);
	/* the runs time out; the campaign completes */
	at(f, SENDENV_NOW + 3 * SENDENV_DAY);
	fire(f);
	at(f, SENDENV_NOW + 3 * SENDENV_DAY + 2 * SENDENV_MIN);
	fire(f);
	char *status = qt(f, "SELECT status FROM campaigns WHERE id = '%s'", id);
	assert_string_equal(status, "completed");
	free(status);
	fx_close(f);
}

static void test_load_library(void **state)
{
	(void)state;
	struct fx *f = fx_open();
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/journeys", getenv("CW_SOURCE_ROOT"));
	int n = 0;
	assert_int_equal(journey_load_dir(f->je, f->env.db.org, dir, &n), 0);
	assert_int_equal(n, 10);
	/* loading again changes nothing: the same versions */
	assert_int_equal(journey_load_dir(f->je, f->env.db.org, dir, &n), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM journeys WHERE org_id = '%s'", f->env.db.org),
			 10);
	json_t *l = NULL;
	assert_int_equal(journey_list_json(f->je, f->env.db.org, &l), 0);
	assert_int_equal(json_array_size(json_object_get(l, "items")), 10);
	json_decref(l);
	assert_int_equal(journey_load_dir(f->je, f->env.db.org, "/nonexistent", &n), CW_EIO);
	fx_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsvp_yes),
	    cmocka_unit_test(test_rsvp_no_answer_one_nudge),
	    cmocka_unit_test(test_rsvp_no_then_silence),
	    cmocka_unit_test(test_stale_timer_and_retries),
	    cmocka_unit_test(test_conflicts),
	    cmocka_unit_test(test_erasure_ends_runs),
	    cmocka_unit_test(test_handoff_opens_conversation),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_events_subject_and_cancel),
	    cmocka_unit_test(test_results_by_consent_and_category),
	    cmocka_unit_test(test_wait_shifted_out_of_quiet_hours),
	    cmocka_unit_test(test_keyword_and_new_contact),
	    cmocka_unit_test(test_feedback_responses),
	    cmocka_unit_test(test_webhook_failed_branch),
	    cmocka_unit_test(test_campaign_canary_and_guard),
	    cmocka_unit_test(test_campaign_rolls_out),
	    cmocka_unit_test(test_load_library),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	text_thread_release();
	return rc;
}
