/*
 * api_conversations.c — /api/v1/conversations (the shared inbox) and
 * /api/v1/settings/hours (business hours). http/ only translates: the work
 * is core/conversation.c's and core/hours.c's. docs/inbox.md has the shapes.
 *
 *	GET  /api/v1/conversations?status=open|pending|closed|all&assignee=me|unassigned|ID
 *	                          &limit=&cursor=            → {"items":[…],"next_cursor"}
 *	GET  /api/v1/conversations/stats?since=&until=       → figures and first-response time
 *	GET  /api/v1/conversations/{id}?limit=&before=       → {"conversation","messages",
 *	                                                        "templates","next_before"}
 *	POST /api/v1/conversations/{id}/assign   {"agent_id": ID | null}
 *	POST /api/v1/conversations/{id}/messages {"text"} | {"template":{"name","language",
 *	                                          "params"}} (+ Idempotency-Key) → 202, or 422
 *	                                          window_closed with the templates to offer
 *	POST /api/v1/conversations/{id}/close, …/reopen
 *	GET  /api/v1/settings/hours, PUT /api/v1/settings/hours
 *
 * Roles: reading needs viewer, but message texts are shown only to agents
 * and admins; answering, assigning and closing need agent; changing hours
 * needs admin. Every read and change of a conversation is audited by core.
 * Texts are never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/conversation.h"
#include "core/hours.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "http/api.h"
#include "http/api_auth.h"
#include "http/routes.h"
#include "base/banned.h"

#define LIST_DEFAULT	 50
#define THREAD_DEFAULT	 50
#define STATS_DEFAULT_MS (7LL * 24 * 3600 * 1000)
#define CURSOR_MAX	 64

/* Who is asking: the principal and its audit actor ("agent:<id>" for a
 * dashboard session, "apikey:<id>" for a key). */
struct caller {
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	int person; /* a signed-in agent (a session), not a program */
};

static int authenticate(struct app *app, const struct http_request *req, struct http_response *resp,
			enum apikey_role role, struct caller *c)
{
	if (api_auth(app, req, resp, role, &c->who))
		return -1;
	c->person = c->who.agent;
	api_actor(&c->who, c->actor);
	return 0;
}

static int with_bodies(const struct caller *c)
{
	return c->who.role >= APIKEY_AGENT;
}

static int invalid(struct http_response *resp, const char *field, const char *message)
{
	http_reply_error(resp, 422, "invalid_field", message, field);
	return 0;
}

/* "<ms>.<id>" → its parts; 0 or -1. */
static int cursor_parse(const char *s, int64_t *at, char id[ID_SIZE])
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (!end || *end != '.' || v <= 0 || !id_valid(end + 1))
		return -1;
	*at = v;
	snprintf(id, ID_SIZE, "%s", end + 1);
	return 0;
}

static json_t *cursor_json(int64_t at, const char *id)
{
	char b[CURSOR_MAX];
	snprintf(b, sizeof b, "%lld.%s", (long long)at, id);
	return json_string(b);
}

/* ---- the list ---- */

struct list_ctx {
	json_t *items;
	const struct hours *h;
	int bodies;
	int64_t now;
	int64_t last_at;
	char last_id[ID_SIZE];
};

static int list_item(void *ud, const struct conversation *c)
{
	struct list_ctx *l = ud;
	json_array_append_new(l->items, conversation_json(c, l->h, l->bodies, l->now));
	l->last_at = c->last_message_at;
	snprintf(l->last_id, sizeof l->last_id, "%s", c->id);
	return 0;
}

static int list_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	if (authenticate(app, req, resp, APIKEY_VIEWER, &c))
		return 0;
	struct conversation_filter f = {.org_id = c.who.org_id,
					.status = http_query(req, "status"),
					.limit = api_limit(req, LIST_DEFAULT, CONV_LIST_MAX)};
	static const char *const statuses[] = {"open", "pending", "closed", "all"};
	int ok = !f.status;
	for (size_t i = 0; !ok && i < sizeof statuses / sizeof statuses[0]; i++)
		ok = strcmp(f.status, statuses[i]) == 0;
	if (!ok)
		return invalid(resp, "status", "status is open, pending, closed or all");
	const char *assignee = http_query(req, "assignee");
	if (assignee) {
		if (strcmp(assignee, "me") == 0)
			f.assignee = c.who.key_id;
		else if (strcmp(assignee, "unassigned") == 0)
			f.assignee = "";
		else if (id_valid(assignee))
			f.assignee = assignee;
		else
			return invalid(resp, "assignee",
				       "assignee is me, unassigned or an agent id");
	}
	char cursor_id[ID_SIZE] = "";
	const char *cursor = http_query(req, "cursor");
	if (cursor) {
		if (cursor_parse(cursor, &f.cursor_at, cursor_id) != 0)
			return invalid(resp, "cursor", "not a cursor this API gave");
		f.cursor_id = cursor_id;
	}
	struct hours h;
	int rc = hours_load(app->st, c.who.org_id, &h);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	struct list_ctx l = {
	    .items = json_array(), .h = &h, .bodies = with_bodies(&c), .now = time_now_ms()};
	rc = conversation_list(app->st, &f, c.actor, list_item, &l);
	if (rc) {
		json_decref(l.items);
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	int full = (int)json_array_size(l.items) == f.limit;
	http_reply_json(resp, 200,
			json_pack("{s:o, s:o}", "items", l.items, "next_cursor",
				  full ? cursor_json(l.last_at, l.last_id) : json_null()));
	return 0;
}

/* ---- figures ---- */

static int time_param(const struct http_request *req, struct http_response *resp, const char *name,
		      int64_t def, int64_t *out)
{
	const char *s = http_query(req, name);
	*out = def;
	if (s && time_parse_iso(s, out) != 0) {
		invalid(resp, name, "an ISO-8601 time: 2026-11-22T00:00:00Z or 2026-11-22");
		return -1;
	}
	return 0;
}

static int stats_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	if (authenticate(app, req, resp, APIKEY_VIEWER, &c))
		return 0;
	int64_t now = time_now_ms(), since, until;
	if (time_param(req, resp, "until", now, &until) ||
	    time_param(req, resp, "since", until - STATS_DEFAULT_MS, &since))
		return 0;
	if (since >= until)
		return invalid(resp, "since", "since must be before until");
	struct conversation_stats s;
	int rc = conversation_stats(app->st, c.who.org_id, since, until, c.actor, &s);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	char a[TIME_ISO_MAX], b[TIME_ISO_MAX], w[TIME_ISO_MAX];
	json_t *frt = json_object();
	json_object_set_new(frt, "count", json_integer(s.responses));
	json_object_set_new(frt, "target_seconds", json_real((double)s.target_ms / 1000.0));
	json_object_set_new(frt, "median_seconds",
			    s.responses ? json_real((double)s.median_ms / 1000.0) : json_null());
	json_object_set_new(frt, "p90_seconds",
			    s.responses ? json_real((double)s.p90_ms / 1000.0) : json_null());
	json_object_set_new(frt, "median_wall_seconds",
			    s.responses ? json_real((double)s.median_wall_ms / 1000.0)
					: json_null());
	json_object_set_new(frt, "within_target", json_integer(s.within_target));
	json_object_set_new(frt, "within_target_share",
			    s.responses ? json_real((double)s.within_target / (double)s.responses)
					: json_null());
	json_t *o = json_object();
	json_object_set_new(o, "since", json_string(time_format_iso(since, a)));
	json_object_set_new(o, "until", json_string(time_format_iso(until, b)));
	json_object_set_new(o, "open", json_integer(s.open));
	json_object_set_new(o, "pending", json_integer(s.pending));
	json_object_set_new(o, "waiting", json_integer(s.waiting));
	json_object_set_new(o, "unassigned", json_integer(s.unassigned));
	json_object_set_new(o, "oldest_waiting_since",
			    s.oldest_waiting_since > 0
				? json_string(time_format_iso(s.oldest_waiting_since, w))
				: json_null());
	json_object_set_new(o, "first_response", frt);
	http_reply_json(resp, 200, o);
	return 0;
}

/* ---- one conversation ---- */

/* Loads the conversation of the path's {id}; 0, or -1 after a 404. */
static int load(struct app *app, const struct caller *c, const struct http_request *req,
		struct http_response *resp, struct conversation *conv)
{
	const char *id = http_param(req, "id");
	int rc =
	    id && id_valid(id) ? conversation_get(app->st, c->who.org_id, id, conv) : CW_ENOTFOUND;
	if (rc == CW_ENOTFOUND) {
		http_reply_error(resp, 404, "not_found", "no such conversation", "id");
		return -1;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return -1;
	}
	return 0;
}

static int one_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	struct conversation conv;
	if (authenticate(app, req, resp, APIKEY_VIEWER, &c) || load(app, &c, req, resp, &conv))
		return 0;
	int64_t before_at = 0;
	char before_id[ID_SIZE] = "";
	const char *before = http_query(req, "before");
	if (before && cursor_parse(before, &before_at, before_id) != 0)
		return invalid(resp, "before", "not a cursor this API gave");
	int limit = api_limit(req, THREAD_DEFAULT, CONV_THREAD_MAX);
	/* Unread counts what the people of the team have not seen: only a
	 * signed-in agent who can read the texts clears it. */
	const char *mr = http_query(req, "mark_read");
	int mark = c.person && with_bodies(&c) && !(mr && strcmp(mr, "0") == 0);
	json_t *messages = NULL, *templates = NULL;
	int rc = conversation_read(app->st, &conv, before_at, before_id, limit, with_bodies(&c),
				   mark, c.actor, &messages);
	if (!rc)
		rc = conversation_templates(app->st, c.who.org_id, conv.contact_language,
					    &templates);
	if (rc) {
		json_decref(messages);
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	struct hours h;
	if (hours_load(app->st, c.who.org_id, &h) != 0)
		hours_default(&h, NULL);
	if (mark)
		conv.unread = 0;
	json_t *next = json_null();
	size_t n = json_array_size(messages);
	if ((int)n >= limit) { /* the oldest message is the cursor */
		for (size_t i = n; i-- > 0;) {
			json_t *m = json_array_get(messages, i);
			int64_t at = 0;
			if (strcmp(json_str_or(m, "kind", ""), "message") == 0 &&
			    time_parse_iso(json_str_or(m, "at", ""), &at) == 0) {
				json_decref(next);
				next = cursor_json(at, json_str(m, "id"));
				break;
			}
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "conversation",
			    conversation_json(&conv, &h, with_bodies(&c), time_now_ms()));
	json_object_set_new(o, "messages", messages);
	json_object_set_new(o, "templates", templates);
	json_object_set_new(o, "next_before", next);
	http_reply_json(resp, 200, o);
	return 0;
}

static void reply_conversation(struct app *app, const struct caller *c, struct http_response *resp,
			       int status, const struct conversation *conv)
{
	struct hours h;
	if (hours_load(app->st, c->who.org_id, &h) != 0)
		hours_default(&h, NULL);
	http_reply_json(resp, status,
			json_pack("{s:o}", "conversation",
				  conversation_json(conv, &h, with_bodies(c), time_now_ms())));
}

static int change_error(struct http_response *resp, int rc, const char *conflict)
{
	if (rc == CW_ENOTFOUND)
		http_reply_error(resp, 404, "not_found", "no such conversation", "id");
	else if (rc == CW_ECONFLICT)
		http_reply_error(resp, 409, "conflict", conflict, NULL);
	else
		api_error(resp, rc, NULL, NULL);
	return 0;
}

static const struct json_field assign_schema[] = {
    {"agent_id", JF_STRING, JF_REQUIRED | JF_NULLABLE, 1, 64, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static int assign_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	struct conversation conv;
	if (authenticate(app, req, resp, APIKEY_AGENT, &c))
		return 0;
	json_t *body = api_body(req, resp, assign_schema);
	if (!body)
		return 0;
	const char *id = http_param(req, "id");
	const char *agent = json_str(body, "agent_id");
	int rc = id && id_valid(id)
		     ? conversation_assign(app->st, c.who.org_id, id, agent, c.actor, &conv)
		     : CW_ENOTFOUND;
	json_decref(body);
	if (rc == CW_EINVAL)
		return invalid(resp, "agent_id", "not an agent (or API key) of this organisation");
	if (rc)
		return change_error(resp, rc, "");
	reply_conversation(app, &c, resp, 200, &conv);
	return 0;
}

static int set_closed(void *ud, const struct http_request *req, struct http_response *resp,
		      int close)
{
	struct app *app = ud;
	struct caller c;
	struct conversation conv;
	if (authenticate(app, req, resp, APIKEY_AGENT, &c))
		return 0;
	const char *id = http_param(req, "id");
	int rc = id && id_valid(id)
		     ? conversation_set_closed(app->st, c.who.org_id, id, close, c.actor, &conv)
		     : CW_ENOTFOUND;
	if (rc)
		return change_error(resp, rc,
				    close ? "the conversation is closed already"
					  : "the conversation is not closed, or the contact has "
					    "another open conversation");
	reply_conversation(app, &c, resp, 200, &conv);
	return 0;
}

static int close_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	return set_closed(ud, req, resp, 1);
}

static int reopen_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	return set_closed(ud, req, resp, 0);
}

/* ---- answering ---- */

static const struct json_field reply_schema[] = {
    {"text", JF_STRING, 0, 1, CONV_TEXT_MAX * 4, NULL},
    {"template", JF_OBJECT, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static json_t *decision_json(const struct policy_decision *d)
{
	char b[TIME_ISO_MAX];
	const char *reason = policy_reason_code(d->reason);
	return json_pack("{s:s, s:o, s:s, s:o}", "outcome", policy_outcome_name(d->outcome),
			 "reason",
			 d->outcome != POLICY_ALLOW && reason ? json_string(reason) : json_null(),
			 "message", d->message, "until",
			 d->until > 0 ? json_string(time_format_iso(d->until, b)) : json_null());
}

/* The 422 for a reply policy refused; for a closed window, with the
 * templates the reply box can offer instead. */
static void refused(struct app *app, const struct caller *c, const struct conversation *conv,
		    const struct send_result *res, int free_text, struct http_response *resp)
{
	json_t *err = json_object();
	/* Free text outside the window is refused whatever else policy found
	 * first (no consent on record comes before the window in its order):
	 * the reply box must offer templates. */
	int window = res->decision.reason == POLICY_R_WINDOW_CLOSED ||
		     (free_text && time_now_ms() >= conv->window_expires_at);
	json_object_set_new(err, "code",
			    json_string(window && free_text
					    ? "window_closed"
					    : policy_reason_code(res->decision.reason)));
	if (window && free_text) {
		char b[TIME_ISO_MAX], m[300];
		if (conv->window_expires_at > 0)
			snprintf(m, sizeof m,
				 "The 24-hour window closed at %s: free text cannot be sent. "
				 "Send one of the approved templates instead.",
				 time_format_iso(conv->window_expires_at, b));
		else
			snprintf(m, sizeof m,
				 "This person has not written to this number in the last 24 hours: "
				 "free text cannot be sent. Send one of the approved templates "
				 "instead.");
		json_object_set_new(err, "message", json_string(m));
		json_object_set_new(err, "field", json_string("text"));
	} else {
		json_object_set_new(err, "message", json_string(res->decision.message));
		json_object_set_new(err, "field", json_string(free_text ? "text" : "template"));
	}
	json_t *o = json_object();
	json_object_set_new(o, "error", err);
	json_object_set_new(o, "decision", decision_json(&res->decision));
	if (window) {
		json_t *templates = NULL;
		if (conversation_templates(app->st, c->who.org_id, conv->contact_language,
					   &templates) != 0)
			templates = json_array();
		json_object_set_new(o, "templates", templates);
	}
	http_reply_json(resp, 422, o);
}

static int messages_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	struct conversation conv;
	json_t *body = NULL, *payload = NULL;
	if (authenticate(app, req, resp, APIKEY_AGENT, &c) || load(app, &c, req, resp, &conv))
		return 0;
	body = api_body(req, resp, reply_schema);
	if (!body)
		return 0;
	const char *text = json_str(body, "text");
	const json_t *tpl = json_object_get(body, "template");
	if (!!text == !!tpl) {
		invalid(resp, text ? "template" : "text", "give either text or template");
		goto done;
	}
	const char *key = http_header(req, "Idempotency-Key");
	if (key) {
		size_t n = strlen(key);
		int ok = n > 0 && n <= 150;
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)key[i] > 0x20 && (unsigned char)key[i] < 0x7f;
		if (!ok) {
			invalid(resp, "Idempotency-Key",
				"the key must be 1 to 150 visible ASCII characters");
			goto done;
		}
	}
	if (text) {
		size_t chars = text_utf8_chars(text, strlen(text));
		if (chars > CONV_TEXT_MAX) {
			invalid(resp, "text", "a text message is at most 4096 characters");
			goto done;
		}
		payload = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", text);
	} else {
		struct template_problem pr;
		int rc = conversation_template_body(app->st, c.who.org_id, conv.contact_language,
						    tpl, &payload, &pr);
		if (rc == CW_ENOTFOUND || rc == CW_EINVAL) {
			invalid(resp, pr.field[0] ? pr.field : "template", pr.message);
			goto done;
		}
		if (rc) {
			api_error(resp, rc, NULL, NULL);
			goto done;
		}
	}
	struct conversation_reply rq = {.org_id = c.who.org_id,
					.id = conv.id,
					.responder = c.who.key_id,
					.actor = c.actor,
					.payload = payload,
					.client_key = key};
	struct send_result res;
	struct conversation after;
	int rc = conversation_reply(app->st, &rq, &res, &after);
	if (rc == CW_EINVAL) {
		invalid(resp,
			res.field && strcmp(res.field, "payload") != 0 ? res.field
			: text					       ? "text"
								       : "template",
			"the message does not meet WhatsApp's limits");
		goto done;
	}
	if (rc) {
		change_error(resp, rc, "the conversation is closed: reopen it to answer");
		goto done;
	}
	if (res.decision.outcome == POLICY_DENY) {
		refused(app, &c, &conv, &res, text != NULL, resp);
		goto done;
	}
	struct hours h;
	if (hours_load(app->st, c.who.org_id, &h) != 0)
		hours_default(&h, NULL);
	http_reply_json(resp, 202,
			json_pack("{s:o, s:o, s:b, s:o}", "id",
				  res.message_id[0] ? json_string(res.message_id) : json_null(),
				  "decision", decision_json(&res.decision), "duplicate",
				  res.duplicate, "conversation",
				  conversation_json(&after, &h, with_bodies(&c), time_now_ms())));
done:
	json_decref(payload);
	json_decref(body);
	return 0;
}

/* ---- business hours ---- */

static json_t *hours_view(const struct hours *h)
{
	json_t *o = hours_to_json(h);
	int64_t now = time_now_ms(), next = 0;
	char b[TIME_ISO_MAX];
	int open = hours_is_open(h, now);
	json_object_set_new(o, "open_now", json_boolean(open));
	json_object_set_new(o, "next_open",
			    !open && hours_next_open(h, now, &next) == 0
				? json_string(time_format_iso(next, b))
				: json_null());
	return o;
}

static int hours_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	if (authenticate(app, req, resp, APIKEY_VIEWER, &c))
		return 0;
	struct hours h;
	int rc = hours_load(app->st, c.who.org_id, &h);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	http_reply_json(resp, 200, hours_view(&h));
	return 0;
}

static int hours_put(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct caller c;
	if (authenticate(app, req, resp, APIKEY_ADMIN, &c))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct hours cur, h;
	struct json_error e;
	int rc = hours_load(app->st, c.who.org_id, &cur);
	if (rc) {
		json_decref(body);
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	rc = hours_from_json(body, cur.zone, &h, &e);
	json_decref(body);
	if (rc)
		return invalid(resp, e.field, e.message);
	rc = hours_save(app->st, c.who.org_id, &h);
	struct audit_entry ae = {.org_id = c.who.org_id,
				 .actor = c.actor,
				 .action = "settings.hours.update",
				 .outcome = rc ? "error" : "ok"};
	if (audit_record(app->st, &ae) != 0)
		log_error("inbox", "the audit entry settings.hours.update could not be written");
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	http_reply_json(resp, 200, hours_view(&h));
	return 0;
}

const struct http_route api_conversations_routes[] = {
    {"GET", "/api/v1/conversations", list_get, 0},
    {"GET", "/api/v1/conversations/stats", stats_get, 0},
    {"GET", "/api/v1/conversations/{id}", one_get, 0},
    {"POST", "/api/v1/conversations/{id}/assign", assign_post, 0},
    {"POST", "/api/v1/conversations/{id}/messages", messages_post, 0},
    {"POST", "/api/v1/conversations/{id}/close", close_post, 0},
    {"POST", "/api/v1/conversations/{id}/reopen", reopen_post, 0},
    {"GET", "/api/v1/settings/hours", hours_get, 0},
    {"PUT", "/api/v1/settings/hours", hours_put, 0},
    {NULL, NULL, NULL, 0},
};
