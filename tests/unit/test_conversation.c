/*
 * test_conversation.c — unit tests for core/conversation: inbound messages
 * landing in one live conversation per contact, the "Talk to us" handoff,
 * agents' replies through the send path with first-response samples (in
 * business hours), the closed window, the out-of-hours reply once per
 * closed period, assignment, closing and reopening, journeys' hand-offs,
 * the list and its filters and cursor, the thread with decisions and
 * refused attempts, the figures, the metrics, the audit entries, and
 * message texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/buf.h"
#include "base/err.h"
#include "core/agent.h"
#include "core/apikey.h"
#include "core/bot.h"
#include "core/contact.h"
#include "core/conversation.h"
#include "core/hours.h"
#include "core/ingest.h"
#include "base/banned.h"

#define MIN   SENDENV_MIN
#define HOUR  SENDENV_HOUR
#define DAY   SENDENV_DAY
#define NOW   SENDENV_NOW /* Sunday 2026-11-22 12:00 in Jerusalem */
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

struct in_ctx {
	struct inbound in;
	int rc;
};

static int run_handler(struct store_tx *tx, void *ud)
{
	struct in_ctx *c = ud;
	c->rc = conversation_on_inbound(NULL, tx, &c->in);
	return c->rc < 0 ? c->rc : 0;
}

/* What the ingest does for one message from contact at `at`: the messages
 * row, the window, then the handler (the clock pinned to at). button: a
 * reply-button id, or NULL for a text. */
static void inbound(const char *contact, const char *wa_id, int64_t at, const char *text,
		    const char *button)
{
	time_clock_set(at);
	char msg_id[ID_SIZE], wamid[64];
	id_new(msg_id);
	snprintf(wamid, sizeof wamid, "wamid.%s", msg_id);
	json_t *item = button
			   ? json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "from", wa_id,
				       "id", wamid, "type", "interactive", "interactive", "type",
				       "button_reply", "button_reply", "id", button, "title", text)
			   : json_pack("{s:s, s:s, s:s, s:{s:s}}", "from", wa_id, "id", wamid,
				       "type", "text", "text", "body", text);
	char *payload = json_dumps(item, JSON_COMPACT);
	struct store_val m[] = {SV_TEXT(msg_id),
				SV_TEXT(E.db.org),
				SV_TEXT(E.number),
				SV_TEXT(contact),
				SV_TEXT("in"),
				SV_TEXT(wamid),
				SV_TEXT(button ? "interactive" : "text"),
				SV_TEXT(payload),
				SV_TEXT("received"),
				SV_INT(at),
				SV_NULL,
				SV_INT(at)};
	assert_int_equal(store_exec(E.db.st, "message.insert", m, 12, NULL), 0);
	free(payload);
	sendenv_window(&E, contact, at);

	struct webhook_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WH_MESSAGE;
	ev.timestamp_ms = at;
	ev.item = item;
	ev.msg.wamid = wamid;
	ev.msg.from = wa_id;
	if (button) {
		ev.msg.type = WH_MSG_INTERACTIVE;
		ev.msg.interactive.type = WH_IA_BUTTON_REPLY;
		ev.msg.interactive.reply_id = button;
		ev.msg.interactive.reply_title = text;
	} else {
		ev.msg.type = WH_MSG_TEXT;
		ev.msg.text = text;
	}
	struct in_ctx c = {.in = {.ev = &ev,
				  .org_id = E.db.org,
				  .number_id = E.number,
				  .phone_number_id = "PNID1",
				  .contact_id = contact,
				  .message_id = msg_id,
				  .wa_id = wa_id,
				  .now_ms = at}};
	assert_int_equal(store_tx(E.db.st, run_handler, &c), 0);
	assert_int_equal(c.rc, INBOUND_HANDLED);
	json_decref(item);
}

/* The one live conversation of contact. */
static void live(const char *contact, struct conversation *out)
{
	char *id = NULL;
	char sql[300];
	snprintf(sql, sizeof sql,
		 "SELECT id FROM conversations WHERE contact_id = '%s' AND status <> 'closed'",
		 contact);
	id = testdb_text(&E.db, sql);
	assert_non_null(id);
	assert_int_equal(conversation_get(E.db.st, E.db.org, id, out), 0);
	free(id);
}

static long long count(const char *sql)
{
	return testdb_int(&E.db, sql);
}

static int reply_text(const char *conv, const char *responder, const char *text, int64_t at,
		      struct send_result *res)
{
	time_clock_set(at);
	json_t *p = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", text);
	struct conversation_reply rq = {.org_id = E.db.org,
					.id = conv,
					.responder = responder,
					.actor = "agent:test",
					.payload = p};
	int rc = conversation_reply(E.db.st, &rq, res, NULL);
	json_decref(p);
	return rc;
}

static void test_inbound_lands(void **state)
{
	(void)state;
	const char *c = sendenv_contact(&E, "972521111111", "he", "Asia/Jerusalem");
	inbound(c, "972521111111", NOW, "Can I move my appointment?", NULL);
	struct conversation conv;
	live(c, &conv);
	assert_string_equal(conv.status, "open");
	assert_string_equal(conv.handoff, "unhandled");
	assert_int_equal(conv.unread, 1);
	assert_int_equal(conv.waiting_since, NOW);
	assert_int_equal(conv.opened_at, NOW);
	assert_string_equal(conv.assignee, "");
	assert_string_equal(conv.last_direction, "in");
	assert_string_equal(conv.last_preview, "Can I move my appointment?");
	assert_int_equal(conv.window_expires_at, NOW + DAY);

	/* a second message: the same conversation, still waiting since the first */
	inbound(c, "972521111111", NOW + 2 * MIN, "Hello?", NULL);
	struct conversation again;
	live(c, &again);
	assert_string_equal(again.id, conv.id);
	assert_int_equal(again.unread, 2);
	assert_int_equal(again.waiting_since, NOW);
	assert_int_equal(again.last_message_at, NOW + 2 * MIN);
	assert_string_equal(again.last_preview, "Hello?");
	/* the "Talk to us" button marks the handoff */
	inbound(c, "972521111111", NOW + 3 * MIN, "Talk to us", BOT_BTN_HUMAN);
	live(c, &again);
	assert_string_equal(again.handoff, "button");
	assert_int_equal(count("SELECT count(*) FROM conversations"), 1);
	/* hours are not set: no out-of-hours reply, ever */
	assert_int_equal(count("SELECT count(*) FROM outbox"), 0);
}

static void test_reply_and_first_response(void **state)
{
	(void)state;
	const char *c = sendenv_contact(&E, "972521111112", "he", "Asia/Jerusalem");
	char agent[ID_SIZE];
	assert_int_equal(agent_create(E.db.st, E.db.org, "nurse@clinic.example", "Dana",
				      AGENT_ROLE_AGENT, "correct horse battery", agent),
			 0);
	inbound(c, "972521111112", NOW, "Question", NULL);
	struct conversation conv;
	live(c, &conv);

	struct send_result res;
	assert_int_equal(reply_text(conv.id, agent, "We can see you at noon", NOW + 3 * MIN, &res),
			 0);
	assert_int_equal(res.decision.outcome, POLICY_ALLOW);
	assert_true(res.message_id[0] != '\0');
	live(c, &conv);
	assert_string_equal(conv.status, "pending");
	assert_int_equal(conv.waiting_since, 0);
	assert_int_equal(conv.first_response_at, NOW + 3 * MIN);
	assert_int_equal(conv.unread, 0);
	assert_string_equal(conv.assignee, agent); /* the one who answered takes it */
	assert_string_equal(conv.assignee_name, "Dana");
	assert_string_equal(conv.last_direction, "out");
	/* the reply went the one way: a decision and an outbox row by the agent */
	char sql[300];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM outbox WHERE producer = 'agent:%s' AND purpose = 'service'",
		 agent);
	assert_int_equal(count(sql), 1);
	assert_int_equal(count("SELECT flags & 2 FROM decisions"), 2); /* a reply */
	assert_int_equal(count("SELECT waited_ms FROM first_responses"), 3 * MIN);
	assert_int_equal(count("SELECT business_ms FROM first_responses"), 3 * MIN);
	assert_int_equal(count("SELECT within_target FROM first_responses"), 1);

	/* a follow-up is no first response */
	assert_int_equal(reply_text(conv.id, agent, "See you", NOW + 4 * MIN, &res), 0);
	assert_int_equal(count("SELECT count(*) FROM first_responses"), 1);

	/* the person writes again: a new waiting period, answered late */
	inbound(c, "972521111112", NOW + 10 * MIN, "Thanks, and parking?", NULL);
	live(c, &conv);
	assert_string_equal(conv.status, "open");
	assert_int_equal(conv.waiting_since, NOW + 10 * MIN);
	assert_int_equal(reply_text(conv.id, "OTHERAGENT", "Free parking", NOW + 30 * MIN, &res),
			 0);
	live(c, &conv);
	assert_string_equal(conv.assignee, agent); /* stays with Dana */
	assert_int_equal(conv.first_response_at, NOW + 3 * MIN);
	assert_int_equal(count("SELECT count(*) FROM first_responses WHERE within_target = 0"), 1);

	/* a retried request with the same key is one message and one sample */
	inbound(c, "972521111112", NOW + 40 * MIN, "One more", NULL);
	json_t *p = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", "Sure");
	struct conversation_reply rq = {.org_id = E.db.org,
					.id = conv.id,
					.responder = agent,
					.actor = ACTOR,
					.payload = p,
					.client_key = "k-1"};
	time_clock_set(NOW + 41 * MIN);
	assert_int_equal(conversation_reply(E.db.st, &rq, &res, NULL), 0);
	assert_false(res.duplicate);
	assert_int_equal(conversation_reply(E.db.st, &rq, &res, NULL), 0);
	assert_true(res.duplicate);
	json_decref(p);
	assert_int_equal(count("SELECT count(*) FROM first_responses"), 3);

	struct conversation_stats s;
	assert_int_equal(conversation_stats(E.db.st, E.db.org, NOW - DAY, NOW + DAY, ACTOR, &s), 0);
	assert_int_equal(s.responses, 3);
	assert_int_equal(s.within_target, 2);
	assert_int_equal(s.median_ms, 3 * MIN);
	assert_int_equal(s.p90_ms, 20 * MIN);
	assert_int_equal(s.target_ms, 6 * MIN);
	assert_int_equal(s.pending, 1);
	assert_int_equal(s.waiting, 0);
	/* a period without responses */
	assert_int_equal(conversation_stats(E.db.st, E.db.org, NOW + DAY, NOW + 2 * DAY, ACTOR, &s),
			 0);
	assert_int_equal(s.responses, 0);
	assert_int_equal(s.median_ms, 0);

	/* errors */
	assert_int_equal(reply_text("NOSUCHCONVERSATION00000000", agent, "x", NOW, &res),
			 CW_ENOTFOUND);
	struct conversation_reply bad = {
	    .org_id = E.db.org, .id = conv.id, .responder = agent, .payload = NULL};
	assert_int_equal(conversation_reply(E.db.st, &bad, &res, NULL), CW_EINVAL);
	assert_string_equal(res.field, "payload");
}

static void test_business_hours_response(void **state)
{
	(void)state;
	struct hours h;
	json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "time_zone", "Asia/Jerusalem",
			      "week", "sun", "08:00-18:00", "mon", "08:00-18:00", "tue",
			      "08:00-18:00", "wed", "08:00-18:00", "thu", "08:00-18:00");
	struct json_error je;
	assert_int_equal(hours_from_json(o, "UTC", &h, &je), 0);
	json_decref(o);
	h.auto_reply = 0;
	assert_int_equal(hours_save(E.db.st, E.db.org, &h), 0);
	const char *c = sendenv_contact(&E, "972521111113", "en", "Asia/Jerusalem");
	/* Thursday 2026-11-26 17:58 → answered Sunday 08:03 */
	int64_t thu, sun;
	assert_int_equal(time_from_local("Asia/Jerusalem", 2026, 11, 26, 17, 58, &thu), 0);
	assert_int_equal(time_from_local("Asia/Jerusalem", 2026, 11, 29, 8, 3, &sun), 0);
	inbound(c, "972521111113", thu, "Late question", NULL);
	struct conversation conv;
	live(c, &conv);
	json_t *j = conversation_json(&conv, &h, 1, thu + MIN);
	int64_t due = 0;
	assert_int_equal(time_parse_iso(json_str(j, "first_response_due"), &due), 0);
	int64_t want;
	assert_int_equal(time_from_local("Asia/Jerusalem", 2026, 11, 29, 8, 4, &want), 0);
	assert_int_equal(due, want);
	assert_false(json_is_true(json_object_get(j, "overdue")));
	json_decref(j);
	j = conversation_json(&conv, &h, 1, want + 1);
	assert_true(json_is_true(json_object_get(j, "overdue")));
	json_decref(j);

	/* Sunday 07:03 the person writes again (the window opens again); the
	 * waiting period still runs from Thursday */
	inbound(c, "972521111113", sun - HOUR, "Anyone?", NULL);
	live(c, &conv);
	assert_int_equal(conv.waiting_since, thu);
	struct send_result res;
	assert_int_equal(reply_text(conv.id, "AGENT1", "Good morning", sun, &res), 0);
	assert_int_equal(res.decision.outcome, POLICY_ALLOW);
	assert_int_equal(count("SELECT waited_ms FROM first_responses"), sun - thu);
	assert_int_equal(count("SELECT business_ms FROM first_responses"), 5 * MIN);
	assert_int_equal(count("SELECT within_target FROM first_responses"), 1);
}

static void test_window_closed(void **state)
{
	(void)state;
	const char *c = sendenv_contact(&E, "972521111114", "he", "Asia/Jerusalem");
	inbound(c, "972521111114", NOW - 25 * HOUR, "Old question", NULL);
	struct conversation conv;
	live(c, &conv);
	/* with consent for service messages, so that the window is what stops it */
	sendenv_consent(&E, c, "service", "granted", NOW - DAY);
	struct send_result res;
	assert_int_equal(reply_text(conv.id, "AGENT1", "Sorry for the wait", NOW, &res), 0);
	assert_int_equal(res.decision.outcome, POLICY_DENY);
	assert_int_equal(res.decision.reason, POLICY_R_WINDOW_CLOSED);
	assert_string_equal(res.message_id, "");
	/* nothing changed but the stored decision */
	live(c, &conv);
	assert_string_equal(conv.status, "open");
	assert_int_equal(conv.waiting_since, NOW - 25 * HOUR);
	assert_string_equal(conv.assignee, "");
	assert_int_equal(count("SELECT count(*) FROM first_responses"), 0);
	assert_int_equal(count("SELECT count(*) FROM decisions WHERE reason = 'window_closed'"), 1);

	/* the approved templates for a service message, the contact's language first */
	json_t *tpls = NULL;
	assert_int_equal(conversation_templates(E.db.st, E.db.org, "he", &tpls), 0);
	assert_int_equal(json_array_size(tpls), 1); /* appt_reminder; promo is MARKETING */
	assert_string_equal(json_str(json_array_get(tpls, 0), "name"), "appt_reminder");
	assert_true(json_is_true(json_object_get(json_array_get(tpls, 0), "matches_language")));
	json_decref(tpls);

	/* a template instead */
	json_t *req = json_pack("{s:s, s:[s]}", "name", "appt_reminder", "params", "Noa");
	json_t *body = NULL;
	struct template_problem pr;
	assert_int_equal(conversation_template_body(E.db.st, E.db.org, "he", req, &body, &pr), 0);
	json_decref(req);
	assert_string_equal(json_str(json_object_get(body, "template"), "name"), "appt_reminder");
	struct conversation_reply rq = {.org_id = E.db.org,
					.id = conv.id,
					.responder = "AGENT1",
					.actor = ACTOR,
					.payload = body};
	assert_int_equal(conversation_reply(E.db.st, &rq, &res, &conv), 0);
	json_decref(body);
	assert_int_equal(res.decision.outcome, POLICY_ALLOW);
	assert_string_equal(conv.status, "pending");

	/* template problems are the caller's */
	req = json_pack("{s:s, s:[s, s]}", "name", "appt_reminder", "params", "a", "b");
	assert_int_equal(conversation_template_body(E.db.st, E.db.org, "he", req, &body, &pr),
			 CW_EINVAL);
	assert_string_equal(pr.field, "template.params");
	json_decref(req);
	req = json_pack("{s:s}", "name", "no_such_template");
	assert_int_equal(conversation_template_body(E.db.st, E.db.org, "he", req, &body, &pr),
			 CW_ENOTFOUND);
	assert_string_equal(pr.field, "template.name");
	json_decref(req);
	req = json_pack("{s:s, s:s, s:[s]}", "name", "appt_reminder", "language", "ru", "params",
			"x");
	assert_int_equal(conversation_template_body(E.db.st, E.db.org, "he", req, &body, &pr),
			 CW_ENOTFOUND);
	json_decref(req);
}

static void set_clinic_hours(void)
{
	struct hours h;
	json_t *o =
	    json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "time_zone", "Asia/Jerusalem",
		      "week", "sun", "08:00-18:00", "mon", "08:00-18:00", "tue", "08:00-18:00",
		      "wed", "08:00-18:00", "thu", "08:00-18:00", "fri", "08:00-13:00");
	struct json_error je;
	assert_int_equal(hours_from_json(o, "UTC", &h, &je), 0);
	json_decref(o);
	assert_int_equal(hours_save(E.db.st, E.db.org, &h), 0);
}

static void test_auto_reply_once_per_period(void **state)
{
	(void)state;
	set_clinic_hours();
	const char *c = sendenv_contact(&E, "972521111115", "he", "Asia/Jerusalem");
	const char *r = sendenv_contact(&E, "972521111116", "ru", "Europe/Moscow");
	/* Sunday 20:00 in Jerusalem: closed */
	int64_t sun20 = NOW + 8 * HOUR;
	inbound(c, "972521111115", sun20, "Are you there?", NULL);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE producer = 'inbox:hours'"), 1);
	char *text = testdb_text(&E.db, "SELECT json_extract(payload, '$.text.body') FROM outbox "
					"WHERE producer = 'inbox:hours'");
	assert_non_null(text);
	assert_non_null(strstr(text, "עד מחר בשעה 9:00"));
	assert_non_null(strstr(text, "א׳–ה׳ 8:00–18:00"));
	free(text);
	struct conversation conv;
	live(c, &conv);
	assert_true(conv.has_auto_reply);
	assert_string_equal(conv.status, "open"); /* still waiting for a person */
	assert_int_equal(conv.waiting_since, sun20);
	/* more messages the same night: no second reply */
	inbound(c, "972521111115", sun20 + HOUR, "Hello??", NULL);
	inbound(c, "972521111115", sun20 + 9 * HOUR, "Morning, still nobody", NULL); /* 05:00 */
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE producer = 'inbox:hours'"), 1);
	/* while open: none */
	inbound(c, "972521111115", sun20 + 14 * HOUR, "10:00 now", NULL);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE producer = 'inbox:hours'"), 1);
	/* the next evening is another closed period */
	inbound(c, "972521111115", sun20 + DAY, "Monday evening", NULL);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE producer = 'inbox:hours'"), 2);
	/* another person: their own reply, in Russian */
	inbound(r, "972521111116", sun20 + DAY + MIN, "Здравствуйте", NULL);
	text = testdb_text(&E.db, "SELECT json_extract(o.payload, '$.text.body') FROM outbox o "
				  "JOIN messages m ON m.id = o.id WHERE o.producer = 'inbox:hours' "
				  "ORDER BY o.created_at DESC, o.id DESC LIMIT 1");
	assert_non_null(text);
	assert_non_null(strstr(text, "завтра до 9:00"));
	free(text);
	/* the out-of-hours reply is no first response */
	assert_int_equal(count("SELECT count(*) FROM first_responses"), 0);
}

static void test_assign_close_reopen(void **state)
{
	(void)state;
	const char *c = sendenv_contact(&E, "972521111117", "en", "Asia/Jerusalem");
	char agent[ID_SIZE], key[APIKEY_MAX], key_id[ID_SIZE];
	assert_int_equal(agent_create(E.db.st, E.db.org, "desk@clinic.example", "Desk",
				      AGENT_ROLE_AGENT, "correct horse battery", agent),
			 0);
	assert_int_equal(apikey_create(E.db.st, E.db.org, APIKEY_AGENT, "crm", key, key_id), 0);
	inbound(c, "972521111117", NOW, "Hi there, a question", NULL);
	struct conversation conv, after;
	live(c, &conv);

	assert_int_equal(conversation_assign(E.db.st, E.db.org, conv.id, agent, ACTOR, &after), 0);
	assert_string_equal(after.assignee, agent);
	assert_string_equal(after.assignee_name, "Desk");
	assert_int_equal(conversation_assign(E.db.st, E.db.org, conv.id, key_id, ACTOR, &after), 0);
	assert_string_equal(after.assignee_name, "crm");
	assert_int_equal(conversation_assign(E.db.st, E.db.org, conv.id,
					     "01NOSUCHAGENT00000000000000", ACTOR, &after),
			 CW_EINVAL);
	assert_int_equal(conversation_assign(E.db.st, E.db.org, conv.id, NULL, ACTOR, &after), 0);
	assert_string_equal(after.assignee, "");
	assert_int_equal(conversation_assign(E.db.st, E.db.org, "NOPE", NULL, ACTOR, &after),
			 CW_ENOTFOUND);
	/* an agent of another organisation is no assignee here */
	char org2[ID_SIZE], other[ID_SIZE];
	id_new(org2);
	testdb_add_org(E.db.st, org2, "IL");
	assert_int_equal(agent_create(E.db.st, org2, "x@other.example", "X", AGENT_ROLE_AGENT,
				      "correct horse battery", other),
			 0);
	assert_int_equal(conversation_assign(E.db.st, E.db.org, conv.id, other, ACTOR, &after),
			 CW_EINVAL);
	/* nor does another organisation see the conversation */
	assert_int_equal(conversation_get(E.db.st, org2, conv.id, &after), CW_ENOTFOUND);

	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 1, ACTOR, &after), 0);
	assert_string_equal(after.status, "closed");
	assert_int_equal(after.waiting_since, 0);
	assert_true(after.closed_at > 0);
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 1, ACTOR, &after),
			 CW_ECONFLICT);
	/* replying to a closed conversation is refused */
	struct send_result res;
	assert_int_equal(reply_text(conv.id, agent, "x", NOW + MIN, &res), CW_ECONFLICT);

	/* the person writes again: a new conversation */
	inbound(c, "972521111117", NOW + HOUR, "Another thing", NULL);
	struct conversation fresh;
	live(c, &fresh);
	assert_string_not_equal(fresh.id, conv.id);
	assert_int_equal(fresh.unread, 1);
	/* the old one cannot come back while the new one is live */
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 0, ACTOR, &after),
			 CW_ECONFLICT);
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, fresh.id, 1, ACTOR, &after), 0);
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 0, ACTOR, &after), 0);
	assert_string_equal(after.status, "open");
	assert_int_equal(after.closed_at, 0);
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 0, ACTOR, &after),
			 CW_ECONFLICT);

	/* every change was audited, with ids only */
	assert_int_equal(
	    count("SELECT count(*) FROM audit_log WHERE action = 'conversation.assign' "
		  "AND outcome = 'ok'"),
	    3);
	assert_int_equal(
	    count("SELECT count(*) FROM audit_log WHERE action = 'conversation.close'"), 2);
	assert_int_equal(
	    count("SELECT count(*) FROM audit_log WHERE action = 'conversation.reopen'"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE detail LIKE '%question%'"), 0);
}

struct handoff_ctx {
	const char *contact, *reason, *team, *note;
	int64_t at;
	int rc;
};

static int handoff_fn(struct store_tx *tx, void *ud)
{
	struct handoff_ctx *h = ud;
	h->rc = conversation_handoff_tx(tx, E.db.org, E.number, h->contact, h->reason, h->team,
					h->note, h->at);
	return h->rc;
}

/* What a journey's handoff step does, in its own transaction. */
static int handoff(const char *contact, const char *reason, const char *team, const char *note,
		   int64_t at)
{
	struct handoff_ctx h = {contact, reason, team, note, at, 0};
	time_clock_set(at);
	int rc = store_tx(E.db.st, handoff_fn, &h);
	return rc ? rc : h.rc;
}

static void test_journey_handoff(void **state)
{
	(void)state;
	/* nobody wrote: a new conversation, open and waiting from the hand-off */
	const char *a = sendenv_contact(&E, "972521111121", "he", "Asia/Jerusalem");
	assert_int_equal(handoff(a, "journey:missed_call", "reception", "Call back: evening", NOW),
			 0);
	struct conversation conv;
	live(a, &conv);
	assert_string_equal(conv.status, "open");
	assert_string_equal(conv.handoff, "journey:missed_call");
	assert_string_equal(conv.team, "reception");
	assert_string_equal(conv.note, "Call back: evening");
	assert_int_equal(conv.waiting_since, NOW);
	assert_int_equal(conv.opened_at, NOW);
	assert_int_equal(conv.last_message_at, NOW);
	assert_int_equal(conv.unread, 0);
	json_t *j = conversation_json(&conv, NULL, 1, NOW);
	assert_string_equal(json_string_value(json_object_get(j, "handoff")),
			    "journey:missed_call");
	assert_string_equal(json_string_value(json_object_get(j, "team")), "reception");
	assert_string_equal(json_string_value(json_object_get(j, "note")), "Call back: evening");
	json_decref(j);
	j = conversation_json(&conv, NULL, 0, NOW); /* a viewer sees no note */
	assert_true(json_is_null(json_object_get(j, "note")));
	json_decref(j);
	/* audited with the reason and the team, never the note */
	char *detail = testdb_text(&E.db, "SELECT detail FROM audit_log WHERE action = "
					  "'conversation.handoff' AND actor = 'system:inbox'");
	assert_non_null(detail);
	assert_non_null(strstr(detail, conv.id));
	assert_non_null(strstr(detail, "handoff=journey:missed_call team=reception"));
	assert_null(strstr(detail, "evening"));
	free(detail);
	/* it is no unanswered question of the person's (analytics) */
	assert_int_equal(count("SELECT count(*) FROM analytics_unanswered"), 0);

	/* a conversation the team answered: open again, waiting from now */
	const char *b = sendenv_contact(&E, "972521111122", "en", "Asia/Jerusalem");
	inbound(b, "972521111122", NOW, "Can I bring my husband?", NULL);
	assert_int_equal(count("SELECT count(*) FROM analytics_unanswered"), 1);
	live(b, &conv);
	struct send_result res;
	assert_int_equal(reply_text(conv.id, "AGENT1", "Yes, of course", NOW + 3 * MIN, &res), 0);
	assert_int_equal(handoff(b, "journey:review_on_crm", "quality", NULL, NOW + 10 * MIN), 0);
	struct conversation again;
	live(b, &again);
	assert_string_equal(again.id, conv.id);
	assert_string_equal(again.status, "open");
	assert_string_equal(again.handoff, "journey:review_on_crm");
	assert_string_equal(again.note, "");
	assert_int_equal(again.waiting_since, NOW + 10 * MIN);
	assert_int_equal(again.first_response_at, NOW + 3 * MIN);
	assert_int_equal(again.unread, 0);
	assert_int_equal(again.last_message_at, NOW + 10 * MIN);
	/* the team's next answer is a first response to the hand-off */
	assert_int_equal(reply_text(conv.id, "AGENT1", "How can we help?", NOW + 12 * MIN, &res),
			 0);
	assert_int_equal(count("SELECT count(*) FROM first_responses"), 2);
	assert_int_equal(count("SELECT max(waited_ms) FROM first_responses"), 3 * MIN);
	assert_int_equal(count("SELECT min(waited_ms) FROM first_responses"), 2 * MIN);
	assert_int_equal(count("SELECT count(*) FROM analytics_unanswered"), 1);

	/* someone already waits: the wait goes on from its start */
	const char *c = sendenv_contact(&E, "972521111123", "ru", "Europe/Moscow");
	inbound(c, "972521111123", NOW, "Алло?", NULL);
	assert_int_equal(handoff(c, "journey:results_ready", "nurses", "Results", NOW + 5 * MIN),
			 0);
	live(c, &conv);
	assert_string_equal(conv.handoff, "journey:results_ready");
	assert_int_equal(conv.waiting_since, NOW);
	assert_int_equal(conv.unread, 1);

	/* a closed conversation stays closed: the hand-off opens a new one */
	assert_int_equal(conversation_set_closed(E.db.st, E.db.org, conv.id, 1, ACTOR, NULL), 0);
	assert_int_equal(handoff(c, "journey:results_ready", "nurses", NULL, NOW + HOUR), 0);
	live(c, &again);
	assert_string_not_equal(again.id, conv.id);
	assert_int_equal(again.waiting_since, NOW + HOUR);
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM conversations WHERE contact_id = '%s'", c);
	assert_int_equal(count(sql), 2);

	/* a long note is cut, at a character */
	char note[CONV_NOTE_MAX * 2];
	size_t n = 0;
	while (n + 2 < sizeof note) {
		memcpy(note + n, "ש", 2);
		n += 2;
	}
	note[n] = '\0';
	assert_int_equal(handoff(a, "journey:missed_call", "reception", note, NOW + HOUR), 0);
	live(a, &conv);
	assert_true(strlen(conv.note) < CONV_NOTE_MAX);
	assert_true(strlen(conv.note) > CONV_NOTE_MAX - 4);
	assert_int_equal(strlen(conv.note) % 2, 0);

	/* refused: nothing stored */
	assert_int_equal(handoff(a, "bogus", "reception", NULL, NOW), CW_EINVAL);
	assert_int_equal(handoff(a, "journey:", "reception", NULL, NOW), CW_EINVAL);
	assert_int_equal(handoff(NULL, "journey:x", NULL, NULL, NOW), CW_EINVAL);
	live(a, &conv);
	assert_string_equal(conv.handoff, "journey:missed_call");
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
			       "'conversation.handoff'"),
			 5);
	/* erasing the person removes the note, which may name them */
	assert_int_equal(contact_erase(E.db.st, E.db.org, a, "test", NULL), 0);
	assert_int_equal(count("SELECT count(*) FROM conversations WHERE note IS NOT NULL AND "
			       "team = 'reception'"),
			 0);
	assert_int_equal(count("SELECT count(*) FROM conversations WHERE note = 'Results'"), 1);
}

struct collected {
	int n;
	char ids[8][ID_SIZE];
	char previews[8][CONV_PREVIEW_MAX];
	int64_t last_at;
};

static int collect(void *ud, const struct conversation *c)
{
	struct collected *x = ud;
	if (x->n < 8) {
		snprintf(x->ids[x->n], ID_SIZE, "%s", c->id);
		snprintf(x->previews[x->n], CONV_PREVIEW_MAX, "%s", c->last_preview);
	}
	x->last_at = c->last_message_at;
	x->n++;
	return 0;
}

static void test_list_and_thread(void **state)
{
	(void)state;
	const char *a = sendenv_contact(&E, "972521111118", "he", "Asia/Jerusalem");
	const char *b = sendenv_contact(&E, "972521111119", "ru", "Asia/Jerusalem");
	char longtext[600];
	memset(longtext, 0, sizeof longtext);
	for (int i = 0; i < 130; i++)
		memcpy(longtext + i * 2, "ש", 2); /* 130 Hebrew letters, 2 bytes each */
	inbound(a, "972521111118", NOW, "First", NULL);
	inbound(b, "972521111119", NOW + MIN, longtext, NULL);
	struct conversation ca, cb;
	live(a, &ca);
	live(b, &cb);
	struct send_result res;
	assert_int_equal(reply_text(ca.id, "AGENT1", "Answer to A", NOW + 2 * MIN, &res), 0);
	/* a refused attempt: a national id in free text */
	assert_int_equal(
	    reply_text(ca.id, "AGENT1", "Your ID 123456782 is on file", NOW + 3 * MIN, &res), 0);
	assert_int_equal(res.decision.outcome, POLICY_DENY);

	struct collected x = {0};
	struct conversation_filter f = {.org_id = E.db.org, .limit = 10};
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &x), 0);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.ids[0], ca.id); /* latest activity first: the reply */
	assert_string_equal(x.ids[1], cb.id);
	/* the long preview: 120 letters and an ellipsis */
	assert_int_equal(strlen(x.previews[1]), 120 * 2 + 3);
	assert_non_null(strstr(x.previews[1], "\xe2\x80\xa6"));

	struct collected y = {0};
	f.status = "open";
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &y), 0);
	assert_int_equal(y.n, 1);
	assert_string_equal(y.ids[0], cb.id);
	struct collected z = {0};
	f.status = NULL;
	f.assignee = "AGENT1";
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &z), 0);
	assert_int_equal(z.n, 1);
	assert_string_equal(z.ids[0], ca.id);
	struct collected u = {0};
	f.assignee = "";
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &u), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.ids[0], cb.id);
	/* pages of one */
	struct collected p1 = {0}, p2 = {0}, p3 = {0};
	f.assignee = NULL;
	f.limit = 1;
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &p1), 0);
	f.cursor_at = p1.last_at;
	f.cursor_id = p1.ids[0];
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &p2), 0);
	f.cursor_at = p2.last_at;
	f.cursor_id = p2.ids[0];
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &p3), 0);
	assert_int_equal(p1.n + p2.n + p3.n, 2);
	assert_string_equal(p2.ids[0], cb.id);
	f.status = "nonsense";
	assert_int_equal(conversation_list(E.db.st, &f, ACTOR, collect, &p3), CW_EINVAL);

	/* the thread of A: newest first — refused attempt, reply, inbound */
	json_t *items = NULL;
	live(a, &ca);
	assert_int_equal(conversation_read(E.db.st, &ca, 0, NULL, 50, 1, 1, ACTOR, &items), 0);
	assert_int_equal(json_array_size(items), 3);
	json_t *r0 = json_array_get(items, 0), *r1 = json_array_get(items, 1),
	       *r2 = json_array_get(items, 2);
	assert_string_equal(json_str(r0, "kind"), "refused");
	assert_string_equal(json_str(json_object_get(r0, "decision"), "reason"),
			    "national_id_in_text");
	assert_string_equal(json_str(json_object_get(r0, "by"), "kind"), "agent");
	assert_string_equal(json_str(r1, "kind"), "message");
	assert_string_equal(json_str(r1, "direction"), "out");
	assert_string_equal(json_str(r1, "text"), "Answer to A");
	assert_string_equal(json_str(json_object_get(r1, "by"), "kind"), "agent");
	assert_string_equal(json_str(json_object_get(r1, "by"), "id"), "AGENT1");
	assert_string_equal(json_str(json_object_get(r1, "decision"), "outcome"), "allow");
	assert_string_equal(json_str(r1, "status"), "queued");
	assert_string_equal(json_str(r2, "direction"), "in");
	assert_string_equal(json_str(r2, "text"), "First");
	assert_string_equal(json_str(json_object_get(r2, "by"), "kind"), "patient");
	json_decref(items);
	/* without bodies: no text; and a page of one from a cursor */
	assert_int_equal(conversation_read(E.db.st, &ca, NOW + 2 * MIN,
					   "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", 1, 0, 0, ACTOR, &items),
			 0);
	assert_int_equal(json_array_size(items), 1);
	assert_null(json_object_get(json_array_get(items, 0), "text"));
	assert_string_equal(json_str(json_array_get(items, 0), "direction"), "out");
	json_decref(items);

	/* reading B as an agent clears its unread count */
	assert_int_equal(cb.unread, 1);
	assert_int_equal(conversation_read(E.db.st, &cb, 0, NULL, 50, 1, 1, ACTOR, &items), 0);
	json_decref(items);
	live(b, &cb);
	assert_int_equal(cb.unread, 0);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = 'conversation.read'"),
			 3);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = 'conversation.list'"),
			 7);

	/* the list item as JSON */
	json_t *j = conversation_json(&cb, NULL, 0, NOW + 5 * MIN);
	assert_true(json_is_null(json_object_get(json_object_get(j, "last_message"), "preview")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "window"), "open")));
	assert_string_equal(json_str(json_object_get(j, "contact"), "language"), "ru");
	assert_true(json_is_null(json_object_get(j, "assignee")));
	json_decref(j);
}

static void test_metrics(void **state)
{
	(void)state;
	const char *c = sendenv_contact(&E, "972521111120", "en", "Asia/Jerusalem");
	inbound(c, "972521111120", NOW, "Hi, a question", NULL);
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(conversation_metrics(E.db.st, &b), 0);
	assert_non_null(strstr(b.data, "carewire_inbox_conversations{status=\"open\"} 1\n"));
	assert_non_null(strstr(b.data, "carewire_inbox_waiting 1\n"));
	assert_non_null(strstr(b.data, "carewire_inbox_first_responses_total 0\n"));
	buf_release(&b);
}

static void expect_text(const char *direction, const char *json, const char *want)
{
	json_t *p = json_loads(json, 0, NULL);
	assert_non_null(p);
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(conversation_message_text(direction, p, &b), 0);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", json, b.data ? b.data : "", want);
	buf_release(&b);
	json_decref(p);
}

static void test_message_text(void **state)
{
	(void)state;
	expect_text("in", "{\"type\":\"text\",\"text\":{\"body\":\"hi\"}}", "hi");
	expect_text("in", "{\"type\":\"button\",\"button\":{\"payload\":\"P\",\"text\":\"Yes\"}}",
		    "Yes");
	expect_text(
	    "in",
	    "{\"type\":\"interactive\",\"interactive\":{\"type\":\"list_reply\","
	    "\"list_reply\":{\"id\":\"a\",\"title\":\"Tue 10:00\",\"description\":\"Dr. Levi\"}}}",
	    "Tue 10:00\nDr. Levi");
	expect_text("in", "{\"type\":\"image\",\"image\":{\"id\":\"1\",\"caption\":\"my rash\"}}",
		    "[image]\nmy rash");
	expect_text("in",
		    "{\"type\":\"location\",\"location\":{\"latitude\":1,\"longitude\":2,"
		    "\"name\":\"Home\"}}",
		    "[location]\nHome");
	expect_text("in", "{\"type\":\"sticker\",\"sticker\":{\"id\":\"1\"}}", "[sticker]");
	expect_text("in", "{\"type\":\"order\",\"order\":{}}", "[order]");
	expect_text("out", "{\"type\":\"text\",\"text\":{\"body\":\"Hello\"}}", "Hello");
	expect_text("out",
		    "{\"type\":\"template\",\"template\":{\"name\":\"appt\",\"language\":{\"code\":"
		    "\"he\"}}}",
		    "[template appt]");
	expect_text("out",
		    "{\"type\":\"template\",\"template\":{\"name\":\"appt\",\"language\":{\"code\":"
		    "\"he\"},\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
		    "\"text\":\"Noa\"}]}]}}",
		    "[template appt]\nNoa");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_inbound_lands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_and_first_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_business_hours_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auto_reply_once_per_period, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assign_close_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journey_handoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	    cmocka_unit_test(test_message_text),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
