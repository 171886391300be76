/*
 * sim_ctl.c — the simulator's control API: it plays the patients and the
 * weather (DESIGN.md §6). Mounted at "/sim"; errors in carewire's own shape
 * ({"error":{"code","message","field"}}), not Graph's.
 *
 *	GET  /users                       users (limit, offset)
 *	GET  /users/{wa_id}               one user
 *	PUT  /users/{wa_id}               create or change behaviour
 *	POST /users/{wa_id}/messages      the user writes or taps: inbound webhook
 *	GET  /users/{wa_id}/messages      what that phone shows
 *	POST|GET|DELETE /faults           fault injection
 *	GET  /stats                       accepted per number and per second
 *	POST /reset                       clear messages and counters
 *	POST|GET /templates               add a template directly / list
 *	GET  /numbers, PUT /numbers/{id}  business phone numbers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "sim/sim_int.h"
#include "base/banned.h"

#define CTL_USERS_LIMIT_DEFAULT 1000
#define CTL_USERS_LIMIT_MAX	10000

static json_t *parse(const struct http_request *req, const struct json_field *schema,
		     struct http_response *resp)
{
	struct json_error je;
	json_t *body = json_parse_body(req->body, req->body_len, &je);
	if (!body) {
		http_reply_error(resp, 400, "invalid_json", je.message, je.field);
		return NULL;
	}
	if (json_validate(body, schema, &je) != 0) {
		http_reply_error(resp, 422, "invalid_field", je.message, je.field);
		json_decref(body);
		return NULL;
	}
	return body;
}

static int bad_wa_id(const char *wa_id, struct http_response *resp)
{
	if (sim_is_digits(wa_id, 5, 20))
		return 0;
	http_reply_error(resp, 422, "invalid_field", "wa_id must be 5 to 20 digits", "wa_id");
	return 1;
}

/* ---- users ---- */

static int ctl_users_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	long limit = CTL_USERS_LIMIT_DEFAULT, offset = 0;
	const char *l = http_query(req, "limit"), *o = http_query(req, "offset");
	char *end = NULL;
	if (l && ((limit = strtol(l, &end, 10)) < 1 || limit > CTL_USERS_LIMIT_MAX || *end)) {
		http_reply_error(resp, 422, "invalid_field", "limit must be 1 to 10000", "limit");
		return 0;
	}
	if (o && ((offset = strtol(o, &end, 10)) < 0 || *end)) {
		http_reply_error(resp, 422, "invalid_field", "offset must be 0 or more", "offset");
		return 0;
	}
	json_t *arr = json_array();
	pthread_mutex_lock(&s->mu);
	for (size_t i = (size_t)offset; i < s->nusers && (long)json_array_size(arr) < limit; i++)
		json_array_append_new(arr, sim_user_json(s, s->users[i]));
	size_t total = s->nusers;
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200,
			json_pack("{s:o, s:I}", "users", arr, "total", (json_int_t)total));
	return 0;
}

static int ctl_user_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *wa_id = http_param(req, "wa_id");
	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_find(s, wa_id);
	json_t *o = u ? sim_user_json(s, u) : NULL;
	pthread_mutex_unlock(&s->mu);
	if (!o)
		http_reply_error(resp, 404, "not_found", "no such simulated user", "wa_id");
	else
		http_reply_json(resp, 200, o);
	return 0;
}

static const struct json_field user_schema[] = {
    {"read", JF_NUMBER, 0, 0, 1},   {"reply_delay_ms", JF_INT, 0, 0, 86400000},
    {"blocked", JF_BOOL, 0},	    {"marketing_stopped", JF_BOOL, 0},
    {"on_whatsapp", JF_BOOL, 0},    {"profile_name", JF_STRING, 0, 1, 256},
    {"name", JF_STRING, 0, 1, 256}, {NULL},
};

static int ctl_user_put(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *wa_id = http_param(req, "wa_id");
	if (bad_wa_id(wa_id, resp))
		return 0;
	json_t *body = parse(req, user_schema, resp);
	if (!body)
		return 0;
	const char *name = json_str_or(body, "profile_name", json_str(body, "name"));
	int created = 0;
	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_get(s, wa_id, name, &created);
	if (!u) {
		pthread_mutex_unlock(&s->mu);
		json_decref(body);
		http_reply_error(resp, 507, "too_big", "the simulator holds no more users",
				 "wa_id");
		return 0;
	}
	json_t *v;
	if ((v = json_object_get(body, "read")))
		u->read = json_number_value(v);
	if ((v = json_object_get(body, "reply_delay_ms")))
		u->reply_delay_ms = (int)json_integer_value(v);
	if ((v = json_object_get(body, "blocked")))
		u->blocked = json_is_true(v);
	if ((v = json_object_get(body, "marketing_stopped")))
		u->marketing_stopped = json_is_true(v);
	if ((v = json_object_get(body, "on_whatsapp")))
		u->on_whatsapp = json_is_true(v);
	if (name && !created) {
		free(u->profile_name);
		u->profile_name = xstrdup(name);
	}
	json_t *out = sim_user_json(s, u);
	pthread_mutex_unlock(&s->mu);
	json_decref(body);
	http_reply_json(resp, created ? 201 : 200, out);
	return 0;
}

static int ctl_user_messages(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *wa_id = http_param(req, "wa_id");
	if (bad_wa_id(wa_id, resp))
		return 0;
	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_find(s, wa_id);
	/* A phone nobody wrote to yet shows nothing. */
	json_t *msgs = u ? json_deep_copy(u->transcript) : json_array();
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, json_pack("{s:o}", "messages", msgs));
	return 0;
}

/* ---- the user writes: inbound messages ---- */

static const char *const inbound_types[] = {"text",	  "button",   "button_reply",
					    "list_reply", "location", NULL};

static const struct json_field in_common[] = {
    {"type", JF_STRING, JF_REQUIRED, 0, 0, inbound_types},
    {"phone_number_id", JF_STRING, 0, 1, SIM_PNID_SIZE - 1},
    {"profile_name", JF_STRING, 0, 1, 256},
    {NULL},
};
static const struct json_field in_text[] = {
    {"text", JF_ANY, JF_REQUIRED},
    {NULL},
};
static const struct json_field in_button[] = {
    {"payload", JF_STRING, JF_REQUIRED, 0, 4096},
    {"text", JF_STRING, JF_REQUIRED, 1, 256},
    {NULL},
};
static const struct json_field in_reply[] = {
    {"id", JF_STRING, JF_REQUIRED, 1, 256},
    {"title", JF_STRING, JF_REQUIRED, 1, 256},
    {"description", JF_STRING, 0, 0, 256},
    {NULL},
};
static const struct json_field in_location[] = {
    {"latitude", JF_NUMBER, JF_REQUIRED, -90, 90},
    {"longitude", JF_NUMBER, JF_REQUIRED, -180, 180},
    {"name", JF_STRING, 0, 0, 1024},
    {"address", JF_STRING, 0, 0, 1024},
    {"url", JF_STRING, 0, 0, 2048},
    {NULL},
};

/* Per control type: its schema, the Cloud API message type, and which
 * business message a reply refers to when no context is given (NULL: none,
 * as a plain text or a shared location quotes nothing). */
static const struct {
	const char *type;
	const struct json_field *schema;
	const char *wa_type;
	const char *context_type;
} inbound_table[] = {
    {"text", in_text, "text", NULL},
    {"button", in_button, "button", "template"},
    {"button_reply", in_reply, "interactive", "interactive"},
    {"list_reply", in_reply, "interactive", "interactive"},
    {"location", in_location, "location", NULL},
};

static void copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(src, *keys);
		if (v)
			json_object_set(dst, *keys, v);
	}
}

/* The Cloud API's form of the inbound content: {"text":{"body"}} etc. */
static json_t *inbound_content(const char *type, const json_t *body)
{
	static const char *const button_keys[] = {"payload", "text", NULL};
	static const char *const reply_keys[] = {"id", "title", "description", NULL};
	static const char *const loc_keys[] = {"latitude", "longitude", "name",
					       "address",  "url",	NULL};
	if (strcmp(type, "text") == 0) {
		json_t *t = json_object_get(body, "text");
		const char *txt = json_is_string(t) ? json_string_value(t) : json_str(t, "body");
		return txt ? json_pack("{s:s}", "body", txt) : NULL;
	}
	json_t *c = json_object();
	if (strcmp(type, "button") == 0) {
		copy_keys(c, body, button_keys);
	} else if (strcmp(type, "location") == 0) {
		copy_keys(c, body, loc_keys);
	} else {
		copy_keys(c, body, reply_keys);
		return json_pack("{s:s, s:o}", "type", type, type, c);
	}
	return c;
}

/* The business message a reply refers to (borrowed) or NULL. */
static json_t *context_message(const struct sim_user *u, const char *want_type)
{
	json_t *last = NULL;
	for (size_t i = json_array_size(u->transcript); i-- > 0;) {
		json_t *m = json_array_get(u->transcript, i);
		if (strcmp(json_str_or(m, "from", ""), "business") != 0)
			continue;
		if (!last)
			last = m;
		if (!want_type || strcmp(json_str_or(m, "type", ""), want_type) == 0)
			return m;
	}
	return last;
}

static int ctl_user_send(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *wa_id = http_param(req, "wa_id");
	if (bad_wa_id(wa_id, resp))
		return 0;
	json_t *body = parse(req, in_common, resp);
	if (!body)
		return 0;
	const char *type = json_str(body, "type");
	size_t k = 0;
	while (strcmp(inbound_table[k].type, type) != 0)
		k++;
	struct json_error je;
	if (json_validate(body, inbound_table[k].schema, &je) != 0) {
		http_reply_error(resp, 422, "invalid_field", je.message, je.field);
		json_decref(body);
		return 0;
	}
	json_t *content = inbound_content(type, body);
	if (!content) {
		http_reply_error(resp, 422, "invalid_field", "text must be a string or {\"body\"}",
				 "text");
		json_decref(body);
		return 0;
	}
	json_t *ctx_in = json_object_get(body, "context");
	const char *ctx_id = json_is_string(ctx_in)
				 ? json_string_value(ctx_in)
				 : json_str_or(ctx_in, "id", json_str(ctx_in, "message_id"));
	int ctx_off = ctx_in && (json_is_false(ctx_in) || json_is_null(ctx_in));
	const char *wa_type = inbound_table[k].wa_type;
	int64_t now = time_now_ms();
	char wamid[SIM_WAMID_SIZE], pnid[SIM_PNID_SIZE], display[SIM_DISPLAY_SIZE];
	char waba[SIM_WABA_SIZE], name[260];
	json_t *context = NULL;

	pthread_mutex_lock(&s->mu);
	int created = 0;
	const char *pname = json_str(body, "profile_name");
	struct sim_user *u = sim_user_get(s, wa_id, pname, &created);
	if (u && pname && !created) {
		free(u->profile_name);
		u->profile_name = xstrdup(pname);
	}
	if (!u) {
		pthread_mutex_unlock(&s->mu);
		json_decref(content);
		json_decref(body);
		http_reply_error(resp, 507, "too_big", "the simulator holds no more users",
				 "wa_id");
		return 0;
	}
	json_t *ctx_msg = NULL;
	if (ctx_id)
		ctx_msg = sim_transcript_find(u, ctx_id);
	else if (!ctx_off && inbound_table[k].context_type)
		ctx_msg = context_message(u, inbound_table[k].context_type);
	const char *p = json_str(body, "phone_number_id");
	if (!p && ctx_msg)
		p = json_str(ctx_msg, "phone_number_id");
	if (!p)
		p = u->last_pnid[0] ? u->last_pnid : s->pnid;
	struct sim_number *num = sim_number_get(s, p, 1);
	if (!num) {
		pthread_mutex_unlock(&s->mu);
		json_decref(content);
		json_decref(body);
		http_reply_error(resp, 422, "invalid_field", "unknown or too many phone numbers",
				 "phone_number_id");
		return 0;
	}
	snprintf(pnid, sizeof pnid, "%s", num->pnid);
	snprintf(display, sizeof display, "%s", num->display);
	snprintf(waba, sizeof waba, "%s", num->waba[0] ? num->waba : s->waba);
	snprintf(name, sizeof name, "%s", u->profile_name);
	if (ctx_id || ctx_msg)
		context = json_pack("{s:s, s:s}", "from", display, "id",
				    ctx_id ? ctx_id : json_str(ctx_msg, "id"));
	sim_wamid_new(wa_id, 1, wamid);
	sim_window_touch(u, pnid, now);
	json_t *m = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "from", "user", "id", wamid, "type",
			      wa_type, "at", sim_json_time(now), "status", "received",
			      "phone_number_id", pnid);
	json_object_set_new(m, wa_type, json_deep_copy(content));
	if (context)
		json_object_set_new(m, "context", json_deep_copy(context));
	sim_transcript_add(u, m);
	pthread_mutex_unlock(&s->mu);

	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)(now / 1000));
	json_t *msg = json_pack("{s:s, s:s, s:s, s:s}", "from", wa_id, "id", wamid, "timestamp", ts,
				"type", wa_type);
	json_object_set_new(msg, wa_type, content);
	if (context)
		json_object_set_new(msg, "context", context);
	json_t *value = sim_hook_value(pnid, display);
	json_object_set_new(value, "contacts",
			    json_pack("[{s:{s:s}, s:s}]", "profile", "name", name, "wa_id", wa_id));
	json_object_set_new(value, "messages", json_pack("[o]", msg));
	sim_hook_send(s->hook, sim_hook_envelope(waba, "messages", value, 0));
	json_decref(body);
	http_reply_json(resp, 200, json_pack("{s:s}", "id", wamid));
	return 0;
}

/* ---- faults ---- */

static const struct json_field faults_schema[] = {
    {"http_429", JF_NUMBER, 0, 0, 1},	  {"http_5xx", JF_NUMBER, 0, 0, 1},
    {"timeout", JF_NUMBER, 0, 0, 1},	  {"latency_ms", JF_INT, 0, 0, 60000},
    {"timeout_ms", JF_INT, 0, 0, 120000}, {"webhook_duplicates", JF_NUMBER, 0, 0, 1},
    {"webhook_reorder", JF_BOOL, 0},	  {NULL},
};

static json_t *faults_json(const struct sim_faults *f)
{
	return json_pack("{s:f, s:f, s:f, s:i, s:i, s:f, s:b}", "http_429", f->http_429, "http_5xx",
			 f->http_5xx, "timeout", f->timeout, "latency_ms", f->latency_ms,
			 "timeout_ms", f->timeout_ms, "webhook_duplicates", f->webhook_duplicates,
			 "webhook_reorder", f->webhook_reorder);
}

static double num_or0(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : 0;
}

static int ctl_faults_set(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	json_t *body = parse(req, faults_schema, resp);
	if (!body)
		return 0;
	struct sim_faults f = {
	    .http_429 = num_or0(body, "http_429"),
	    .http_5xx = num_or0(body, "http_5xx"),
	    .timeout = num_or0(body, "timeout"),
	    .latency_ms = (int)num_or0(body, "latency_ms"),
	    .timeout_ms = (int)num_or0(body, "timeout_ms"),
	    .webhook_duplicates = num_or0(body, "webhook_duplicates"),
	    .webhook_reorder = json_is_true(json_object_get(body, "webhook_reorder")),
	};
	json_decref(body);
	if (f.http_429 + f.http_5xx + f.timeout > 1.0 + 1e-9) {
		http_reply_error(resp, 422, "invalid_field",
				 "http_429 + http_5xx + timeout must not exceed 1", "http_429");
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	if (!f.timeout_ms)
		f.timeout_ms = s->timeout_ms;
	s->faults = f;
	sim_faults_apply(s);
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, faults_json(&f));
	return 0;
}

static int ctl_faults_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	pthread_mutex_lock(&s->mu);
	struct sim_faults f = s->faults;
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, faults_json(&f));
	return 0;
}

static int ctl_faults_delete(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	pthread_mutex_lock(&s->mu);
	memset(&s->faults, 0, sizeof s->faults);
	s->faults.timeout_ms = s->timeout_ms;
	struct sim_faults f = s->faults;
	sim_faults_apply(s);
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, faults_json(&f));
	return 0;
}

/* ---- stats and reset ---- */

static json_t *number_stats(const struct sim_number *n, int64_t now_s)
{
	json_t *per = json_array();
	/* Oldest first: walk the ring from the slot after now. */
	for (int64_t sec = now_s - SIM_STATS_WINDOW_S + 1; sec <= now_s; sec++) {
		const int slot = (int)(sec % SIM_STATS_WINDOW_S);
		if (n->per_sec[slot].sec == sec && n->per_sec[slot].count)
			json_array_append_new(
			    per, json_pack("[I, i]", (json_int_t)sec, (int)n->per_sec[slot].count));
	}
	return json_pack("{s:I, s:i, s:o}", "accepted", (json_int_t)n->accepted, "max_per_second",
			 (int)n->max_per_second, "per_second", per);
}

static int ctl_stats(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	struct sim_hook_counts hc;
	sim_hook_get_counts(s->hook, &hc);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *by = json_object();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nnumbers; i++)
		if (s->numbers[i].accepted)
			json_object_set_new(by, s->numbers[i].pnid,
					    number_stats(&s->numbers[i], (int64_t)ts.tv_sec));
	json_t *out =
	    json_pack("{s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "accepted_total",
		      (json_int_t)s->accepted_total, "by_number", by, "rejected", "429",
		      (json_int_t)s->rejected_429, "5xx", (json_int_t)s->rejected_5xx, "timeout",
		      (json_int_t)s->rejected_timeout, "401", (json_int_t)s->rejected_auth, "400",
		      (json_int_t)s->rejected_invalid);
	pthread_mutex_unlock(&s->mu);
	json_object_set_new(out, "webhooks",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)hc.sent,
				      "failed", (json_int_t)hc.failed, "retried",
				      (json_int_t)hc.retried, "duplicates",
				      (json_int_t)hc.duplicates, "dropped", (json_int_t)hc.dropped,
				      "pending", (json_int_t)hc.pending));
	http_reply_json(resp, 200, out);
	return 0;
}

static int ctl_reset(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nusers; i++) {
		json_array_clear(s->users[i]->transcript);
		s->users[i]->nwin = 0;
	}
	for (int i = 0; i < s->nnumbers; i++) {
		struct sim_number *n = &s->numbers[i];
		n->accepted = 0;
		n->max_per_second = 0;
		memset(n->per_sec, 0, sizeof n->per_sec);
	}
	s->accepted_total = 0;
	s->rejected_429 = s->rejected_5xx = s->rejected_timeout = 0;
	s->rejected_auth = s->rejected_invalid = 0;
	sim_hook_clear(s->hook);
	sim_hook_reset_counts(s->hook);
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, json_pack("{s:b}", "success", 1));
	return 0;
}

/* ---- templates and numbers ---- */

static const char *const ctl_categories[] = {"MARKETING", "UTILITY", "AUTHENTICATION", NULL};
static const char *const ctl_statuses[] = {"APPROVED", "PENDING",  "REJECTED",
					   "PAUSED",   "DISABLED", NULL};

static const struct json_field ctl_tpl_schema[] = {
    {"name", JF_STRING, JF_REQUIRED, 1, 512},
    {"language", JF_STRING, JF_REQUIRED, 2, 15},
    {"category", JF_STRING, JF_REQUIRED, 0, 0, ctl_categories},
    {"status", JF_STRING, 0, 0, 0, ctl_statuses},
    {"components", JF_ARRAY, 0, 0, 10},
    {"waba_id", JF_STRING, 0, 1, SIM_WABA_SIZE - 1},
    {NULL},
};

static int ctl_tpl_add(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	json_t *body = parse(req, ctl_tpl_schema, resp);
	if (!body)
		return 0;
	const char *waba = json_str(body, "waba_id");
	if (waba && !sim_is_digits(waba, 1, SIM_WABA_SIZE - 1)) {
		json_decref(body);
		http_reply_error(resp, 422, "invalid_field", "waba_id must be digits", "waba_id");
		return 0;
	}
	json_t *comps = json_object_get(body, "components");
	pthread_mutex_lock(&s->mu);
	struct sim_template *t = sim_template_add(
	    s, waba, json_str(body, "name"), json_str(body, "language"), json_str(body, "category"),
	    json_str_or(body, "status", "APPROVED"), comps ? json_deep_copy(comps) : NULL);
	json_t *out = t ? sim_template_json(t) : NULL;
	pthread_mutex_unlock(&s->mu);
	json_decref(body);
	if (!out)
		http_reply_error(resp, 507, "too_big", "the simulator holds no more templates",
				 NULL);
	else
		http_reply_json(resp, 201, out);
	return 0;
}

static int ctl_tpl_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	json_t *arr = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->ntemplates; i++)
		json_array_append_new(arr, sim_template_json(s->templates[i]));
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, json_pack("{s:o}", "templates", arr));
	return 0;
}

static int ctl_numbers_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct sim *s = ud;
	json_t *arr = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nnumbers; i++) {
		const struct sim_number *n = &s->numbers[i];
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:I}", "phone_number_id", n->pnid, "waba_id",
				   n->waba[0] ? n->waba : s->waba, "display_phone_number",
				   n->display, "accepted", (json_int_t)n->accepted));
	}
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, json_pack("{s:o}", "numbers", arr));
	return 0;
}

static const struct json_field number_schema[] = {
    {"waba_id", JF_STRING, 0, 1, SIM_WABA_SIZE - 1},
    {"display_phone_number", JF_STRING, 0, 1, SIM_DISPLAY_SIZE - 1},
    {NULL},
};

static int ctl_number_put(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	json_t *body = parse(req, number_schema, resp);
	if (!body)
		return 0;
	int rc = sim_add_number(s, http_param(req, "phone_number_id"), json_str(body, "waba_id"),
				json_str(body, "display_phone_number"));
	json_decref(body);
	if (rc == CW_EINVAL)
		http_reply_error(resp, 422, "invalid_field", "ids must be digits",
				 "phone_number_id");
	else if (rc)
		http_reply_error(resp, 507, "too_big", "the simulator holds no more numbers", NULL);
	else
		return ctl_numbers_list(ud, req, resp);
	return 0;
}

const struct http_route sim_ctl_routes[] = {
    {"GET", "/users", ctl_users_list, 0},
    {"GET", "/users/{wa_id}", ctl_user_get, 0},
    {"PUT", "/users/{wa_id}", ctl_user_put, 0},
    {"POST", "/users/{wa_id}/messages", ctl_user_send, 0},
    {"GET", "/users/{wa_id}/messages", ctl_user_messages, 0},
    {"POST", "/faults", ctl_faults_set, 0},
    {"GET", "/faults", ctl_faults_get, 0},
    {"DELETE", "/faults", ctl_faults_delete, 0},
    {"GET", "/stats", ctl_stats, 0},
    {"POST", "/reset", ctl_reset, 0},
    {"POST", "/templates", ctl_tpl_add, 0},
    {"GET", "/templates", ctl_tpl_list, 0},
    {"GET", "/numbers", ctl_numbers_list, 0},
    {"PUT", "/numbers/{phone_number_id}", ctl_number_put, 0},
    {NULL, NULL, NULL, 0},
};
