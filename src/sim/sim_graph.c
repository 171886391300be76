/*
 * sim_graph.c — the Cloud API side of the simulator: what carewire's
 * wa/client talks to instead of graph.facebook.com.
 *
 *	POST   /{version}/{phone_number_id}/messages      send, or mark as read
 *	GET    /{version}/{waba_id}/message_templates     list (limit, after)
 *	POST   /{version}/{waba_id}/message_templates     submit (PENDING, then approved)
 *	DELETE /{version}/{waba_id}/message_templates     delete by name
 *
 * Synchronous errors are Graph API error bodies with Meta's codes; errors Meta
 * reports only later (131026, 131047, 131050) are accepted here and reported
 * as a failed status webhook, as Meta does (docs/simulator.md).
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "sim/sim_int.h"
#include "wa/msg.h"
#include "base/banned.h"

#define GRAPH_TPL_LIMIT_DEFAULT 25
#define GRAPH_TPL_LIMIT_MAX	1000
#define GRAPH_MAX_PLACEHOLDERS	64
#define GRAPH_SENT_DELAY_MS	20 /* accepted → "sent" webhook */

/* ---- Graph API error bodies ---- */

/* The synchronous errors the simulator answers, with Meta's HTTP status,
 * error_subcode (0: none) and message. */
static const struct graph_err {
	int code;
	int http;
	int subcode;
	int transient;
	const char *message;
} graph_errors[] = {
    {190, 401, 0, 0, "Invalid OAuth access token - Cannot parse access token"},
    {130429, 429, 2494055, 1, "(#130429) Rate limit hit"},
    {1, 500, 0, 1, "An unknown error occurred"},
    {2, 503, 0, 1, "Service temporarily unavailable"},
    {100, 400, 0, 0, "(#100) Invalid parameter"},
    {131008, 400, 0, 0, "(#131008) Required parameter is missing"},
    {131009, 400, 0, 0, "(#131009) Parameter value is not valid"},
    {132000, 400, 0, 0,
     "(#132000) Number of parameters does not match the expected number of params"},
    {132001, 400, 0, 0, "(#132001) Template name does not exist in the translation"},
    {0, 0, 0, 0, NULL},
};

static void fbtrace_id(char out[32])
{
	unsigned char raw[17];
	sec_random(raw, sizeof raw);
	sodium_bin2base64(out, 32, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Replies with Meta's error body for code; details (may be NULL) goes in
 * error_data.details; message overrides the table's when not NULL. */
static void graph_error(struct http_response *resp, int code, const char *message,
			const char *details)
{
	const struct graph_err *e = &graph_errors[0];
	for (const struct graph_err *p = graph_errors; p->code; p++)
		if (p->code == code)
			e = p;
	char fb[32];
	fbtrace_id(fb);
	json_t *err = json_pack("{s:s, s:s, s:i}", "message", message ? message : e->message,
				"type", "OAuthException", "code", code);
	if (details)
		json_object_set_new(
		    err, "error_data",
		    json_pack("{s:s, s:s}", "messaging_product", "whatsapp", "details", details));
	if (e->subcode)
		json_object_set_new(err, "error_subcode", json_integer(e->subcode));
	if (e->transient)
		json_object_set_new(err, "is_transient", json_true());
	json_object_set_new(err, "fbtrace_id", json_string(fb));
	http_reply_json(resp, e->http, json_pack("{s:o}", "error", err));
}

static void graph_errorf(struct http_response *resp, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void graph_errorf(struct http_response *resp, int code, const char *fmt, ...)
{
	char details[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(details, sizeof details, fmt, ap);
	va_end(ap);
	graph_error(resp, code, NULL, details);
}

/* Meta's answer to a body the limits table refused: a missing parameter is
 * (#100) naming it, a bad value (#131009) with the field in the details. */
static void reply_invalid(struct http_response *resp, const struct wa_msg_error *e)
{
	if (strstr(e->message, "required") || strstr(e->message, "missing")) {
		char msg[160];
		snprintf(msg, sizeof msg, "(#100) The parameter %s is required.", e->field);
		char details[300];
		snprintf(details, sizeof details, "%s: %s", e->field, e->message);
		graph_error(resp, 100, msg, details);
		return;
	}
	if (strncmp(e->message, e->field, strlen(e->field)) == 0)
		graph_errorf(resp, 131009, "%s", e->message);
	else
		graph_errorf(resp, 131009, "%s: %s", e->field, e->message);
}

static int auth_ok(struct sim *s, const struct http_request *req)
{
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	if (!*tok)
		return 0;
	return s->access_token ? sec_streq(tok, s->access_token) == 0 : 1;
}

static void count(struct sim *s, uint64_t *counter)
{
	pthread_mutex_lock(&s->mu);
	(*counter)++;
	pthread_mutex_unlock(&s->mu);
}

/* ---- templates: placeholders and rendering ---- */

/* Counts the distinct {{...}} variables in text. */
static int count_placeholders(const char *text)
{
	char seen[GRAPH_MAX_PLACEHOLDERS][64];
	int n = 0;
	for (const char *p = text ? strstr(text, "{{") : NULL; p; p = strstr(p, "{{")) {
		const char *end = strstr(p + 2, "}}");
		if (!end)
			break;
		size_t len = (size_t)(end - p - 2);
		if (len > 0 && len < 64) {
			char tok[64];
			memcpy(tok, p + 2, len);
			tok[len] = '\0';
			int dup = 0;
			for (int i = 0; i < n; i++)
				if (strcmp(seen[i], tok) == 0)
					dup = 1;
			if (!dup && n < GRAPH_MAX_PLACEHOLDERS)
				memcpy(seen[n++], tok, len + 1);
		}
		p = end + 2;
	}
	return n;
}

static const json_t *component(const json_t *components, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(components, i, c)
	{
		const char *t = json_str(c, "type");
		if (t && strcasecmp(t, type) == 0)
			return c;
	}
	return NULL;
}

/* What a template definition expects: body and header variables. */
static void expected_params(const json_t *components, int *body, int *header)
{
	const json_t *b = component(components, "BODY");
	const json_t *h = component(components, "HEADER");
	*body = b ? count_placeholders(json_str(b, "text")) : 0;
	*header = 0;
	if (h) {
		const char *fmt = json_str(h, "format");
		if (!fmt || strcasecmp(fmt, "TEXT") == 0)
			*header = count_placeholders(json_str(h, "text"));
		else
			*header = 1; /* IMAGE, VIDEO, DOCUMENT, LOCATION: one media parameter */
	}
}

/* The text a request's parameter shows. */
static const char *param_text(const json_t *p)
{
	const char *t = json_str(p, "text");
	if (t)
		return t;
	const char *type = json_str(p, "type");
	if (type) {
		json_t *o = json_object_get(p, type);
		if (json_is_object(o))
			return json_str_or(o, "fallback_value", json_str(o, "link"));
	}
	return "";
}

/* The request's parameters of one component type (borrowed) or NULL. */
static json_t *request_params(const json_t *tpl, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(tpl, "components"), i, c)
	{
		const char *t = json_str(c, "type");
		if (t && strcasecmp(t, type) == 0)
			return json_object_get(c, "parameters");
	}
	return NULL;
}

/* Fills {{1}} or {{name}} in text from params. Returns a new string. */
static json_t *render(const char *text, const json_t *params)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	const char *p = text ? text : "";
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *end = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !end) {
			buf_puts(&b, p);
			break;
		}
		buf_append(&b, p, (size_t)(open - p));
		char tok[64] = "";
		size_t len = (size_t)(end - open - 2);
		if (len < sizeof tok) {
			memcpy(tok, open + 2, len);
			tok[len] = '\0';
		}
		const char *val = NULL;
		char *endp = NULL;
		long idx = strtol(tok, &endp, 10);
		if (tok[0] && endp && !*endp && idx >= 1)
			val = param_text(json_array_get(params, (size_t)idx - 1));
		else {
			size_t i;
			json_t *pp;
			json_array_foreach(params, i, pp)
			{
				const char *pn = json_str(pp, "parameter_name");
				if (pn && strcmp(pn, tok) == 0)
					val = param_text(pp);
			}
		}
		if (val && json_array_size(params))
			buf_puts(&b, val);
		else
			buf_append(&b, open, (size_t)(end + 2 - open));
		p = end + 2;
	}
	json_t *out = json_string(b.data ? b.data : "");
	buf_release(&b);
	return out;
}

/* The template as the phone shows it: {"header","body","footer","buttons"}. */
static json_t *render_template(const json_t *components, const json_t *tpl)
{
	json_t *o = json_object();
	const json_t *h = component(components, "HEADER");
	const json_t *b = component(components, "BODY");
	const json_t *f = component(components, "FOOTER");
	const json_t *bt = component(components, "BUTTONS");
	if (h && json_str(h, "text"))
		json_object_set_new(o, "header",
				    render(json_str(h, "text"), request_params(tpl, "header")));
	if (b)
		json_object_set_new(o, "body",
				    render(json_str(b, "text"), request_params(tpl, "body")));
	if (f && json_str(f, "text"))
		json_object_set_new(o, "footer", json_string(json_str(f, "text")));
	if (bt) {
		json_t *arr = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(bt, "buttons"), i, x)
		{
			json_array_append_new(arr, json_string(json_str_or(x, "text", "")));
		}
		json_object_set_new(o, "buttons", arr);
	}
	return o;
}

/* ---- POST /{version}/{phone_number_id}/messages ---- */

/* "to" as WhatsApp reads it: the digits of the number. 0 or CW_EINVAL. */
static int normalise_to(const char *to, char out[SIM_WA_ID_SIZE])
{
	size_t n = 0;
	for (const char *p = to; p && *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n >= SIM_WA_ID_SIZE - 1)
				return CW_EINVAL;
			out[n++] = *p;
		} else if (!strchr("+ -().", *p)) {
			return CW_EINVAL;
		}
	}
	out[n] = '\0';
	return n >= 5 && n <= 20 ? 0 : CW_EINVAL;
}

static int mark_read(struct sim *s, const json_t *body, struct http_response *resp)
{
	const char *id = json_str(body, "message_id");
	char wa_id[SIM_WA_ID_SIZE];
	if (sim_wamid_user(id, wa_id) != 0) {
		graph_errorf(resp, 100, "message_id: %s is not a message id", id ? id : "(none)");
		return 0;
	}
	int64_t now = time_now_ms();
	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_find(s, wa_id);
	json_t *msg = u ? sim_transcript_find(u, id) : NULL;
	if (!msg || strcmp(json_str_or(msg, "from", ""), "user") != 0) {
		pthread_mutex_unlock(&s->mu);
		graph_errorf(resp, 100, "message_id: no inbound message %s", id);
		return 0;
	}
	json_object_set_new(msg, "status", json_string("read"));
	json_object_set_new(msg, "read_at", sim_json_time(now));
	if (json_is_object(json_object_get(body, "typing_indicator"))) {
		json_object_set_new(msg, "typing_indicator", json_true());
		json_object_set_new(msg, "typing_until", sim_json_time(now + SIM_TYPING_MS));
	}
	pthread_mutex_unlock(&s->mu);
	http_reply_json(resp, 200, json_pack("{s:b}", "success", 1));
	return 0;
}

/* The fault settings decide first whether a request is refused (and not
 * accepted). Returns 1 when resp was filled. */
static int apply_faults(struct sim *s, struct http_response *resp)
{
	pthread_mutex_lock(&s->mu);
	struct sim_faults f = s->faults;
	int stopping = s->stopping;
	pthread_mutex_unlock(&s->mu);
	if (stopping) {
		graph_error(resp, 2, NULL, "The simulator is shutting down.");
		return 1;
	}
	if (f.latency_ms > 0 && sim_sleep(s, (int)sec_random_u32((uint32_t)f.latency_ms + 1))) {
		graph_error(resp, 2, NULL, "The simulator is shutting down.");
		return 1;
	}
	double r = (double)sec_random_u32(1000000) / 1000000.0;
	if (r < f.http_429) {
		count(s, &s->rejected_429);
		graph_error(resp, 130429, NULL, "Cloud API message throughput has been reached.");
		return 1;
	}
	r -= f.http_429;
	if (r < f.http_5xx) {
		count(s, &s->rejected_5xx);
		if (sec_random_u32(2))
			graph_error(resp, 1, NULL, NULL);
		else
			graph_error(resp, 2, NULL, NULL);
		return 1;
	}
	r -= f.http_5xx;
	if (r < f.timeout) {
		count(s, &s->rejected_timeout);
		sim_sleep(s, f.timeout_ms);
		graph_error(resp, 2, NULL, "The request timed out and was not processed.");
		return 1;
	}
	return 0;
}

static int graph_messages(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *pnid = http_param(req, "phone_number_id");
	json_t *body = NULL;
	struct json_error je;
	struct wa_msg_error we;

	if (!auth_ok(s, req)) {
		count(s, &s->rejected_auth);
		graph_error(resp, 190, NULL, NULL);
		return 0;
	}
	if (apply_faults(s, resp))
		return 0;
	body = json_parse_body(req->body, req->body_len, &je);
	if (!body || !json_is_object(body)) {
		count(s, &s->rejected_invalid);
		graph_errorf(resp, 100, "%s: %s", je.field[0] ? je.field : "body",
			     body ? "the body must be a JSON object" : je.message);
		goto done;
	}
	if (wa_msg_validate_json(body, &we) != 0) {
		count(s, &s->rejected_invalid);
		reply_invalid(resp, &we);
		goto done;
	}
	if (!sim_is_digits(pnid, 1, SIM_PNID_SIZE - 1)) {
		count(s, &s->rejected_invalid);
		char msg[256];
		snprintf(
		    msg, sizeof msg,
		    "Unsupported post request. Object with ID '%.60s' does not exist, cannot be "
		    "loaded due to missing permissions, or does not support this operation.",
		    pnid ? pnid : "");
		graph_error(resp, 100, msg, NULL);
		goto done;
	}
	if (strcmp(json_str_or(body, "status", ""), "read") == 0) {
		mark_read(s, body, resp);
		goto done;
	}

	const char *to = json_str(body, "to");
	char wa_id[SIM_WA_ID_SIZE];
	if (normalise_to(to, wa_id) != 0) {
		count(s, &s->rejected_invalid);
		graph_errorf(resp, 100, "to: %s is not a valid phone number", to ? to : "(none)");
		goto done;
	}
	const char *type = json_str_or(body, "type", "text");
	const json_t *tpl =
	    strcmp(type, "template") == 0 ? json_object_get(body, "template") : NULL;
	const char *opaque = json_str(body, "biz_opaque_callback_data");
	int64_t now = time_now_ms();

	pthread_mutex_lock(&s->mu);
	struct sim_number *num = sim_number_get(s, pnid, 1);
	if (!num) {
		s->rejected_invalid++;
		pthread_mutex_unlock(&s->mu);
		graph_errorf(resp, 100, "phone_number_id: more than %d phone numbers in use",
			     SIM_MAX_NUMBERS);
		goto done;
	}
	char category[16] = "service";
	json_t *rendered = NULL;
	if (tpl) {
		const char *name = json_str(tpl, "name");
		const char *lang = json_str(json_object_get(tpl, "language"), "code");
		struct sim_template *t =
		    name && lang ? sim_template_find(s, num->waba, name, lang) : NULL;
		if (!t || strcmp(t->status, "APPROVED") != 0) {
			s->rejected_invalid++;
			pthread_mutex_unlock(&s->mu);
			if (t)
				graph_errorf(resp, 132001,
					     "template name (%s) in %s is %s, not APPROVED", name,
					     lang, t->status);
			else
				graph_errorf(resp, 132001,
					     "template name (%s) does not exist in %s",
					     name ? name : "", lang ? lang : "");
			goto done;
		}
		int want_body, want_header, got_body = 0, got_header = 0;
		expected_params(t->components, &want_body, &want_header);
		if (wa_msg_template_param_count(tpl, &got_body, &got_header) != 0 ||
		    got_body != want_body || got_header != want_header) {
			s->rejected_invalid++;
			pthread_mutex_unlock(&s->mu);
			if (got_header != want_header)
				graph_errorf(resp, 132000,
					     "header: number of localizable_params (%d) does not "
					     "match the expected number of params (%d)",
					     got_header, want_header);
			else
				graph_errorf(
				    resp, 132000,
				    "body: number of localizable_params (%d) does not match "
				    "the expected number of params (%d)",
				    got_body, want_body);
			goto done;
		}
		snprintf(category, sizeof category, "%s", t->category);
		for (char *p = category; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		rendered = render_template(t->components, tpl);
	}

	int created = 0;
	struct sim_user *u = sim_user_find(s, wa_id);
	if (!u && s->auto_users)
		u = sim_user_get(s, wa_id, NULL, &created);
	int window = u ? sim_window_open(u, pnid, now) : 0;
	int fail = 0;
	if (!u || !u->on_whatsapp)
		fail = 131026;
	else if (tpl && strcmp(category, "marketing") == 0 && u->marketing_stopped)
		fail = 131050;
	else if (!tpl && !window)
		fail = 131047;

	char wamid[SIM_WAMID_SIZE];
	sim_wamid_new(wa_id, 0, wamid);
	sim_stats_accept(s, num);
	if (u) {
		json_t *m = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:[]}", "from", "business",
				      "id", wamid, "type", type, "at", sim_json_time(now), "status",
				      "accepted", "phone_number_id", pnid, "statuses");
		/* Copies: the transcript outlives the request and is read by other
		 * threads. */
		json_t *content = json_object_get(body, type);
		if (content)
			json_object_set_new(m, type, json_deep_copy(content));
		if (rendered)
			json_object_set_new(m, "rendered", json_deep_copy(rendered));
		if (json_object_get(body, "context"))
			json_object_set_new(m, "context",
					    json_deep_copy(json_object_get(body, "context")));
		if (opaque)
			json_object_set_new(m, "biz_opaque_callback_data", json_string(opaque));
		sim_transcript_add(u, m);
		snprintf(u->last_pnid, sizeof u->last_pnid, "%s", pnid);
		/* Inside the window a service or utility message is free. */
		int free_entry = window && strcmp(category, "marketing") != 0 &&
				 strcmp(category, "authentication") != 0;
		if (fail)
			sim_schedule_status(s, wamid, wa_id, pnid, SIM_ST_FAILED, fail, category, 0,
					    opaque, GRAPH_SENT_DELAY_MS);
		else
			sim_schedule_status(s, wamid, wa_id, pnid, SIM_ST_SENT, 0, category,
					    free_entry, opaque,
					    s->status_delay_ms ? GRAPH_SENT_DELAY_MS : 0);
	} else {
		sim_schedule_status(s, wamid, wa_id, pnid, SIM_ST_FAILED, fail, category, 0, opaque,
				    GRAPH_SENT_DELAY_MS);
	}
	pthread_mutex_unlock(&s->mu);
	json_decref(rendered);

	http_reply_json(resp, 200,
			json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "messaging_product",
				  "whatsapp", "contacts", "input", to, "wa_id", wa_id, "messages",
				  "id", wamid, "message_status", "accepted"));
done:
	json_decref(body);
	return 0;
}

/* ---- templates ---- */

static void cursor_encode(uint64_t id, char out[48])
{
	char dec[24];
	snprintf(dec, sizeof dec, "%llu", (unsigned long long)id);
	sodium_bin2base64(out, 48, (const unsigned char *)dec, strlen(dec),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int cursor_decode(const char *c, uint64_t *id)
{
	char dec[24];
	size_t n = 0;
	if (sodium_base642bin((unsigned char *)dec, sizeof dec - 1, c, strlen(c), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return CW_EINVAL;
	dec[n] = '\0';
	if (!sim_is_digits(dec, 1, 20))
		return CW_EINVAL;
	*id = strtoull(dec, NULL, 10);
	return 0;
}

static int graph_tpl_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *waba = http_param(req, "waba_id");
	const char *limit_s = http_query(req, "limit");
	const char *after = http_query(req, "after");
	const char *f_name = http_query(req, "name");
	const char *f_status = http_query(req, "status");
	const char *f_lang = http_query(req, "language");
	const char *f_cat = http_query(req, "category");
	long limit = GRAPH_TPL_LIMIT_DEFAULT;
	uint64_t after_id = 0;

	if (!auth_ok(s, req)) {
		graph_error(resp, 190, NULL, NULL);
		return 0;
	}
	if (limit_s) {
		char *end = NULL;
		limit = strtol(limit_s, &end, 10);
		if (!end || *end || limit < 1 || limit > GRAPH_TPL_LIMIT_MAX) {
			graph_errorf(resp, 100, "limit: must be 1 to %d", GRAPH_TPL_LIMIT_MAX);
			return 0;
		}
	}
	if (after && cursor_decode(after, &after_id) != 0) {
		graph_errorf(resp, 100, "after: not a cursor");
		return 0;
	}
	json_t *data = json_array();
	uint64_t first = 0, last = 0;
	int more = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->ntemplates; i++) {
		struct sim_template *t = s->templates[i];
		if (strcmp(t->waba, waba) != 0 || t->id <= after_id)
			continue;
		if ((f_name && !strstr(t->name, f_name)) ||
		    (f_status && strcmp(t->status, f_status)) ||
		    (f_lang && strcmp(t->lang, f_lang)) || (f_cat && strcmp(t->category, f_cat)))
			continue;
		if ((long)json_array_size(data) == limit) {
			more = 1;
			break;
		}
		json_t *o = sim_template_json(t);
		json_object_del(o, "waba_id");
		json_array_append_new(data, o);
		if (!first)
			first = t->id;
		last = t->id;
	}
	char prefix[128];
	snprintf(prefix, sizeof prefix, "%s", s->graph_prefix);
	pthread_mutex_unlock(&s->mu);

	json_t *out = json_pack("{s:o}", "data", data);
	if (first) {
		char b[48], a[48];
		cursor_encode(first, b);
		cursor_encode(last, a);
		json_t *paging = json_pack("{s:{s:s, s:s}}", "cursors", "before", b, "after", a);
		if (more) {
			const char *host = http_header(req, "Host");
			char next[512];
			snprintf(next, sizeof next,
				 "%s%s%s/%s/%s/message_templates?limit=%ld&after=%s",
				 host ? "http://" : "", host ? host : "", prefix,
				 http_param(req, "version"), waba, limit, a);
			json_object_set_new(paging, "next", json_string(next));
		}
		json_object_set_new(out, "paging", paging);
	}
	http_reply_json(resp, 200, out);
	return 0;
}

static const char *const tpl_categories[] = {"MARKETING", "UTILITY", "AUTHENTICATION", NULL};

static const struct json_field tpl_schema[] = {
    {"name", JF_STRING, JF_REQUIRED, 1, 512},
    {"language", JF_STRING, JF_REQUIRED, 2, 15},
    {"category", JF_STRING, JF_REQUIRED, 0, 0, tpl_categories},
    {"components", JF_ARRAY, JF_REQUIRED, 1, 10},
    {NULL},
};

static int graph_tpl_create(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *waba = http_param(req, "waba_id");
	struct json_error je;
	json_t *body = NULL;

	if (!auth_ok(s, req)) {
		graph_error(resp, 190, NULL, NULL);
		return 0;
	}
	if (!sim_is_digits(waba, 1, SIM_WABA_SIZE - 1)) {
		graph_errorf(resp, 100, "waba_id: not a WhatsApp Business Account id");
		return 0;
	}
	body = json_parse_body(req->body, req->body_len, &je);
	if (!body || json_validate(body, tpl_schema, &je) != 0) {
		graph_errorf(resp, 100, "%s: %s", je.field, je.message);
		goto done;
	}
	const char *name = json_str(body, "name");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
			graph_errorf(resp, 100,
				     "name: only lower-case letters, digits and underscores");
			goto done;
		}
	size_t i;
	json_t *c;
	json_t *comps = json_object_get(body, "components");
	json_array_foreach(comps, i, c)
	{
		const char *t = json_str(c, "type");
		if (!t || (strcasecmp(t, "HEADER") && strcasecmp(t, "BODY") &&
			   strcasecmp(t, "FOOTER") && strcasecmp(t, "BUTTONS"))) {
			graph_errorf(
			    resp, 100,
			    "components[%zu].type: must be HEADER, BODY, FOOTER or BUTTONS", i);
			goto done;
		}
	}
	if (!component(comps, "BODY") || !json_str(component(comps, "BODY"), "text")) {
		graph_errorf(resp, 100, "components: a BODY component with text is required");
		goto done;
	}
	const char *lang = json_str(body, "language");
	const char *cat = json_str(body, "category");
	pthread_mutex_lock(&s->mu);
	struct sim_template *t = sim_template_find(s, waba, name, lang);
	if (t) {
		pthread_mutex_unlock(&s->mu);
		graph_errorf(resp, 100,
			     "Message template already exists: there is already %s content for %s",
			     lang, name);
		goto done;
	}
	t = sim_template_add(s, waba, name, lang, cat, "PENDING", json_incref(comps));
	if (!t) {
		pthread_mutex_unlock(&s->mu);
		graph_errorf(resp, 100, "too many templates (at most %d)", SIM_MAX_TEMPLATES);
		goto done;
	}
	uint64_t id = t->id;
	sim_schedule_template(s, id);
	pthread_mutex_unlock(&s->mu);
	char ids[24];
	snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
	http_reply_json(
	    resp, 200,
	    json_pack("{s:s, s:s, s:s}", "id", ids, "status", "PENDING", "category", cat));
done:
	json_decref(body);
	return 0;
}

static int graph_tpl_delete(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct sim *s = ud;
	const char *waba = http_param(req, "waba_id");
	const char *name = http_query(req, "name");
	const char *hsm_id = http_query(req, "hsm_id");
	if (!auth_ok(s, req)) {
		graph_error(resp, 190, NULL, NULL);
		return 0;
	}
	if (!name || !*name) {
		graph_error(resp, 100, "(#100) The parameter name is required.", "name: required");
		return 0;
	}
	int removed = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = s->ntemplates - 1; i >= 0; i--) {
		struct sim_template *t = s->templates[i];
		char ids[24];
		snprintf(ids, sizeof ids, "%llu", (unsigned long long)t->id);
		if (strcmp(t->waba, waba) == 0 && strcmp(t->name, name) == 0 &&
		    (!hsm_id || strcmp(hsm_id, ids) == 0)) {
			sim_template_remove(s, i);
			removed++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!removed) {
		graph_errorf(resp, 100, "Message template not found: %s", name);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:b}", "success", 1));
	return 0;
}

const struct http_route sim_graph_routes[] = {
    {"POST", "/{version}/{phone_number_id}/messages", graph_messages, 0},
    {"GET", "/{version}/{waba_id}/message_templates", graph_tpl_list, 0},
    {"POST", "/{version}/{waba_id}/message_templates", graph_tpl_create, 0},
    {"DELETE", "/{version}/{waba_id}/message_templates", graph_tpl_delete, 0},
    {NULL, NULL, NULL, 0},
};
