/*
 * api_messages.c — /api/v1/messages and /api/v1/decisions: send one
 * message (the reply carries the policy decision), a contact's message
 * timeline, and the stored decisions that say why something was or was not
 * sent (DESIGN.md §6). http/ only translates: the work is core/send.c's.
 *
 *	POST /api/v1/messages   {"contact_id","purpose", one of "text" | "template":
 *	                         {"name","language","params":[...]} | "interactive":{...}
 *	                         | "location" | "image" | "document" | "video" | "audio",
 *	                         "result_category", "fallback_template", "time_critical",
 *	                         "expires_at", "number_id"} + optional Idempotency-Key
 *	                        -> 202 {"id","decision":{"outcome","reason","message","until"}}
 *	GET  /api/v1/messages?contact_id=...&limit=    -> {"items":[...]} newest first
 *	GET  /api/v1/decisions?contact_id=...&limit=   (or message_id=...)
 *	                        -> {"items":[{"outcome","reason","message","at","until",
 *	                                      "purpose","producer","message_id"}]} newest first
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/contact.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "core/send.h"
#include "core/template.h"
#include "http/api.h"
#include "http/routes.h"
#include "wa/msg.h"
#include "base/banned.h"

#define LIST_DEFAULT	50
#define LIST_MAX	500
#define IDEM_HEADER_MAX (OUTBOX_IDEM_MAX - 8) /* room for our "api:" prefix */

static const char *const purposes[] = {"service", "reminders", "results",
				       "surveys", "marketing", NULL};

/* The members that carry the message; exactly one must be given. */
static const char *const kinds[] = {"text",  "template", "interactive", "location",
				    "image", "document", "video",	"audio"};

static const struct json_field message_schema[] = {
    {"contact_id", JF_STRING, JF_REQUIRED, 1, 64, NULL},
    {"purpose", JF_STRING, JF_REQUIRED, 1, 16, purposes},
    {"text", JF_STRING, 0, 1, 65536, NULL},
    {"template", JF_OBJECT, 0, 0, 0, NULL},
    {"interactive", JF_OBJECT, 0, 0, 0, NULL},
    {"location", JF_OBJECT, 0, 0, 0, NULL},
    {"image", JF_OBJECT, 0, 0, 0, NULL},
    {"document", JF_OBJECT, 0, 0, 0, NULL},
    {"video", JF_OBJECT, 0, 0, 0, NULL},
    {"audio", JF_OBJECT, 0, 0, 0, NULL},
    {"result_category", JF_STRING, JF_NULLABLE, 1, SEND_CATEGORY_MAX - 1, NULL},
    {"fallback_template", JF_OBJECT, JF_NULLABLE, 0, 0, NULL},
    {"time_critical", JF_BOOL, 0, 0, 0, NULL},
    {"expires_at", JF_STRING, JF_NULLABLE, 1, 40, NULL},
    {"number_id", JF_STRING, JF_NULLABLE, 1, 64, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct json_field template_schema[] = {
    {"name", JF_STRING, JF_REQUIRED, 1, TEMPLATE_NAME_MAX, NULL},
    {"language", JF_STRING, JF_NULLABLE, 1, TEMPLATE_LANG_MAX - 1, NULL},
    {"params", JF_ARRAY, 0, 0, WA_MSG_MAX_BODY_PARAMS, NULL},
    {"components", JF_ARRAY, 0, 0, TEMPLATE_COMPONENTS_MAX, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Reports a 422 for field with message. */
static int invalid(struct http_response *resp, const char *field, const char *message)
{
	http_reply_error(resp, 422, "invalid_field", message, field);
	return 0;
}

/* ---- building the Cloud API body from the request ---- */

/* {"type":"template","template":{...}} from {"name","language","params"}
 * or with "components" given as the Cloud API has them. prefix names the
 * member in errors ("template", "fallback_template"). Returns a new body,
 * or NULL after writing the 422 into resp. */
static json_t *template_body(struct app *app, const char *org_id, const char *contact_lang,
			     const json_t *t, const char *prefix, const char *purpose,
			     struct http_response *resp)
{
	struct json_error je;
	char field[160];
	if (json_validate(t, template_schema, &je) != 0) {
		snprintf(field, sizeof field, "%s.%s", prefix, je.field);
		invalid(resp, field, je.message);
		return NULL;
	}
	const char *name = json_str(t, "name");
	const char *lang = json_str(t, "language");
	const json_t *params = json_object_get(t, "params");
	const json_t *comps = json_object_get(t, "components");
	if (params && comps) {
		snprintf(field, sizeof field, "%s.components", prefix);
		invalid(resp, field, "give either params or components, not both");
		return NULL;
	}
	/* No language: the registry's choice for the contact (their language,
	 * then the organisation's). */
	struct template_info info;
	int have_info = 0;
	int rc =
	    lang ? CW_ENOTFOUND : template_lookup(app->st, org_id, NULL, name, contact_lang, &info);
	if (rc == 0) {
		have_info = 1;
		lang = info.language;
	}
	char lang_buf[TEMPLATE_LANG_MAX];
	snprintf(lang_buf, sizeof lang_buf, "%s", lang ? lang : contact_lang ? contact_lang : "en");
	if (have_info)
		template_info_release(&info);

	json_t *components = NULL;
	if (comps) {
		components = json_deep_copy(comps);
	} else if (params && json_array_size(params) > 0) {
		json_t *ps = json_array();
		size_t i;
		const json_t *p;
		json_array_foreach(params, i, p)
		{
			if (json_is_string(p)) {
				json_array_append_new(ps, json_pack("{s:s, s:s}", "type", "text",
								    "text", json_string_value(p)));
			} else if (json_is_object(p) &&
				   json_is_string(json_object_get(p, "type"))) {
				json_array_append_new(ps, json_deep_copy(p));
			} else {
				json_decref(ps);
				snprintf(field, sizeof field, "%s.params[%zu]", prefix, i);
				invalid(resp, field,
					"a parameter is a string or a Cloud API parameter object");
				return NULL;
			}
		}
		components = json_pack("[{s:s, s:o}]", "type", "body", "parameters", ps);
	}
	json_t *tpl = json_pack("{s:s, s:{s:s}}", "name", name, "language", "code", lang_buf);
	if (components)
		json_object_set_new(tpl, "components", components);

	/* Parameters against the registered template: count and lengths are
	 * the caller's mistake (422); approval and category are policy's. */
	if (template_lookup(app->st, org_id, NULL, name, lang_buf, &info) == 0) {
		struct template_problem pr;
		if (strcmp(info.language, lang_buf) == 0 &&
		    template_check_compose(&info, tpl, purpose, &pr) == CW_EINVAL) {
			template_info_release(&info);
			json_decref(tpl);
			snprintf(field, sizeof field, "%s.%s", prefix,
				 comps ? "components" : "params");
			invalid(resp, field, pr.message);
			return NULL;
		}
		template_info_release(&info);
	}
	return json_pack("{s:s, s:o}", "type", "template", "template", tpl);
}

/* The Cloud API body for the one message member of req, or NULL after
 * writing the 4xx. */
static json_t *message_body(struct app *app, const char *org_id, const char *contact_lang,
			    const json_t *req, const char *purpose, struct http_response *resp)
{
	const char *kind = NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (!json_object_get(req, kinds[i]))
			continue;
		if (kind) {
			char m[160];
			snprintf(m, sizeof m,
				 "give only one of text, template, interactive, "
				 "location or media; both %s and %s were given",
				 kind, kinds[i]);
			invalid(resp, kinds[i], m);
			return NULL;
		}
		kind = kinds[i];
	}
	if (!kind) {
		invalid(resp, "text",
			"one of text, template, interactive, location, image, "
			"document, video or audio is required");
		return NULL;
	}
	json_t *body;
	if (strcmp(kind, "text") == 0)
		body = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body",
				 json_str(req, "text"));
	else if (strcmp(kind, "template") == 0)
		return template_body(app, org_id, contact_lang, json_object_get(req, "template"),
				     "template", purpose, resp);
	else
		body = json_pack("{s:s, s:O}", "type", kind, kind, json_object_get(req, kind));
	return body;
}

/* Checks body against Meta's limits; 422 names the member as the request
 * has it ("text" for the text body, "interactive.action.buttons" ...). */
static int check_body(const json_t *body, const char *prefix, struct http_response *resp)
{
	json_t *probe = json_copy((json_t *)body);
	json_object_set_new(probe, "to", json_string("0"));
	json_object_set_new(probe, "messaging_product", json_string("whatsapp"));
	struct wa_msg_error we;
	int rc = wa_msg_validate_json(probe, &we);
	json_decref(probe);
	if (rc == 0)
		return 0;
	char field[sizeof we.field + 32];
	if (strcmp(we.field, "text.body") == 0)
		snprintf(field, sizeof field, "%.24s", prefix ? prefix : "text");
	else if (prefix && strncmp(we.field, "template", 8) == 0)
		snprintf(field, sizeof field, "%.24s%.63s", prefix, we.field + 8);
	else
		snprintf(field, sizeof field, "%.63s", we.field);
	invalid(resp, field, we.message);
	return CW_EINVAL;
}

static json_t *iso_or_null(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return ms > 0 ? json_string(time_format_iso(ms, b)) : json_null();
}

static json_t *reason_json(const char *code)
{
	return code && *code && strcmp(code, "none") != 0 ? json_string(code) : json_null();
}

static json_t *decision_json(const struct policy_decision *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "outcome", json_string(policy_outcome_name(d->outcome)));
	json_object_set_new(o, "reason", reason_json(policy_reason_code(d->reason)));
	json_object_set_new(o, "message", json_string(d->message));
	json_object_set_new(o, "until", iso_or_null(d->until));
	return o;
}

static int messages_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	struct contact c;
	json_t *body = NULL, *payload = NULL, *fallback = NULL;
	int have_contact = 0;
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	body = api_body(req, resp, message_schema);
	if (!body)
		return 0;

	const char *key_hdr = http_header(req, "Idempotency-Key");
	char key[OUTBOX_IDEM_MAX + 1];
	if (key_hdr) {
		size_t n = strlen(key_hdr);
		int ok = n > 0 && n <= IDEM_HEADER_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)key_hdr[i] > 0x20 && (unsigned char)key_hdr[i] < 0x7f;
		if (!ok) {
			invalid(resp, "Idempotency-Key",
				"the key must be 1 to 190 visible ASCII characters");
			goto done;
		}
		snprintf(key, sizeof key, "api:%s", key_hdr);
	} else {
		char id[ID_SIZE];
		snprintf(key, sizeof key, "api:%s", id_new(id));
	}

	const char *contact_id = json_str(body, "contact_id");
	const char *purpose = json_str(body, "purpose");
	int rc = contact_get(app->st, who.org_id, contact_id, &c);
	if (rc == CW_ENOTFOUND) {
		http_reply_error(resp, 404, "not_found", "no such contact", "contact_id");
		goto done;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	have_contact = 1;

	int64_t expires_at = 0;
	const char *exp = json_str(body, "expires_at");
	if (exp && time_parse_iso(exp, &expires_at) != 0) {
		invalid(resp, "expires_at", "expires_at must be an ISO-8601 time with a zone");
		goto done;
	}
	payload = message_body(app, who.org_id, c.language, body, purpose, resp);
	if (!payload)
		goto done;
	const char *kind = json_str(payload, "type");
	if (check_body(payload, strcmp(kind, "template") == 0 ? "template" : NULL, resp))
		goto done;
	const json_t *fb = json_object_get(body, "fallback_template");
	if (fb && !json_is_null(fb)) {
		fallback = template_body(app, who.org_id, c.language, fb, "fallback_template",
					 purpose, resp);
		if (!fallback || check_body(fallback, "fallback_template", resp))
			goto done;
	}

	char actor[AUDIT_ACTOR_MAX];
	int p = policy_purpose_parse(purpose);
	struct send_request rq = {
	    .org_id = who.org_id,
	    .number_id = json_str(body, "number_id"),
	    .contact_id = contact_id,
	    .purpose = (enum policy_purpose)p,
	    .payload = payload,
	    .fallback = fallback,
	    .result_category = json_str(body, "result_category"),
	    .producer = "api",
	    .idem_key = key,
	    .priority = -1,
	    .expires_at = expires_at,
	    .time_critical = json_is_true(json_object_get(body, "time_critical")),
	    .actor = api_actor(&who, actor),
	};
	struct send_result res;
	rc = send_submit(app->st, &rq, &res);
	if (rc == CW_ENOTFOUND && res.field && strcmp(res.field, "number_id") == 0) {
		http_reply_error(resp, rq.number_id ? 404 : 409,
				 rq.number_id ? "not_found" : "conflict",
				 rq.number_id ? "no such phone number in this organisation"
					      : "the organisation has no phone number to send from",
				 "number_id");
		goto done;
	}
	if (rc) {
		api_error(resp, rc, NULL, res.field);
		goto done;
	}
	json_t *out = json_object();
	json_object_set_new(out, "id",
			    res.message_id[0] ? json_string(res.message_id) : json_null());
	json_object_set_new(out, "decision", decision_json(&res.decision));
	http_reply_json(resp, 202, out);
done:
	if (have_contact)
		contact_release(&c);
	json_decref(payload);
	json_decref(fallback);
	json_decref(body);
	return 0;
}

/* Audits a read of contact_id's data by who. */
static void audit_read(struct app *app, const struct apikey_principal *who, const char *action,
		       const char *subject, const char *outcome)
{
	char actor[AUDIT_ACTOR_MAX];
	struct audit_entry e = {.org_id = who->org_id,
				.actor = api_actor(who, actor),
				.action = action,
				.subject = subject,
				.outcome = outcome};
	if (audit_record(app->st, &e) != 0)
		log_error("api", "audit entry %s could not be written", action);
}

/* The contact named by ?contact_id=, checked to exist; 0 or a 4xx written. */
static int contact_param(struct app *app, const struct apikey_principal *who,
			 const struct http_request *req, struct http_response *resp,
			 const char *action, const char **out)
{
	const char *id = http_query(req, "contact_id");
	if (!id || !*id || strlen(id) > 64) {
		invalid(resp, "contact_id", "contact_id is required");
		return CW_EINVAL;
	}
	struct contact c;
	int rc = contact_get(app->st, who->org_id, id, &c);
	if (rc == CW_ENOTFOUND) {
		audit_read(app, who, action, id, "not_found");
		http_reply_error(resp, 404, "not_found", "no such contact", "contact_id");
		return rc;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return rc;
	}
	contact_release(&c);
	*out = id;
	return 0;
}

static int messages_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	const char *contact_id = NULL;
	if (api_auth(app, req, resp, APIKEY_AGENT, &who))
		return 0;
	if (contact_param(app, &who, req, resp, "message.read", &contact_id))
		return 0;
	json_t *items = NULL;
	int rc = send_timeline(app->st, who.org_id, contact_id,
			       api_limit(req, LIST_DEFAULT, LIST_MAX), &items);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	audit_read(app, &who, "message.read", contact_id, "ok");
	http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
	return 0;
}

static int decision_item(void *ud, const struct send_decision_row *d)
{
	json_t *items = ud;
	json_t *o = json_object();
	json_object_set_new(o, "outcome", json_string(d->outcome));
	json_object_set_new(o, "reason", reason_json(d->reason));
	json_object_set_new(o, "message", json_string(d->message));
	json_object_set_new(o, "at", iso_or_null(d->at));
	json_object_set_new(o, "until", iso_or_null(d->until));
	json_object_set_new(o, "purpose", json_string(d->purpose));
	json_object_set_new(o, "producer", json_string(d->producer));
	json_object_set_new(o, "message_id",
			    d->message_id[0] ? json_string(d->message_id) : json_null());
	json_object_set_new(o, "contact_id", json_string(d->contact_id));
	json_array_append_new(items, o);
	return 0;
}

static int decisions_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	int limit = api_limit(req, LIST_DEFAULT, LIST_MAX);
	json_t *items = json_array();
	int rc;
	const char *message_id = http_query(req, "message_id");
	const char *subject = NULL;
	if (message_id && !http_query(req, "contact_id")) {
		if (!*message_id || strlen(message_id) > 64) {
			json_decref(items);
			invalid(resp, "message_id", "message_id must be a message id");
			return 0;
		}
		rc = send_decisions_for_message(app->st, who.org_id, message_id, limit,
						decision_item, items);
		if (rc == 0 && json_array_size(items) > 0)
			subject = json_string_value(
			    json_object_get(json_array_get(items, 0), "contact_id"));
	} else {
		if (contact_param(app, &who, req, resp, "decision.read", &subject)) {
			json_decref(items);
			return 0;
		}
		rc = send_decisions_list(app->st, who.org_id, subject, limit, decision_item, items);
	}
	if (rc) {
		json_decref(items);
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	audit_read(app, &who, "decision.read", subject, "ok");
	http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
	return 0;
}

const struct http_route api_messages_routes[] = {
    {"POST", "/api/v1/messages", messages_post, 0},
    {"GET", "/api/v1/messages", messages_get, 0},
    {"GET", "/api/v1/decisions", decisions_get, 0},
    {NULL, NULL, NULL, 0},
};
