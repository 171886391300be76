/*
 * api.c — shared /api/v1 plumbing (see api.h).
 */
#include "http/api.h"

#include "core/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "core/session.h"
#include "http/api_auth.h"
#include "base/banned.h"

/* Dashboard roles onto API-key roles: one permission check serves both. */
static const enum apikey_role agent_apikey_role[] = {
	[AGENT_ROLE_VIEWER] = APIKEY_VIEWER,
	[AGENT_ROLE_AGENT] = APIKEY_AGENT,
	[AGENT_ROLE_ADMIN] = APIKEY_ADMIN,
};

/* A signed-in dashboard session instead of an API key: the cw_session
 * cookie, and for a changing method the session's X-CSRF-Token. */
static int auth_by_session(struct app *app, const struct http_request *req,
			   struct http_response *resp, struct apikey_principal *who)
{
	struct session s;
	int rc = api_auth_session(app, req, &s);
	if (rc == CW_EAUTH) {
		http_reply_error(resp, 401, "unauthorized",
				 "the session has ended: sign in again", "Cookie");
		return CW_EAUTH;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return rc;
	}
	if (!api_auth_safe_method(req->method) &&
	    session_csrf_check(&s, http_header(req, API_CSRF_HEADER)) != 0) {
		http_reply_error(resp, 403, "forbidden",
				 "a change from the dashboard needs the session's CSRF token",
				 API_CSRF_HEADER);
		return CW_EFORBIDDEN;
	}
	memset(who, 0, sizeof *who);
	snprintf(who->key_id, sizeof who->key_id, "%s", s.agent_id);
	who->agent = 1;
	snprintf(who->org_id, sizeof who->org_id, "%s", s.org_id);
	who->role = (unsigned)s.role < sizeof agent_apikey_role / sizeof agent_apikey_role[0]
			    ? agent_apikey_role[s.role]
			    : APIKEY_VIEWER;
	return 0;
}

int api_auth(struct app *app, const struct http_request *req, struct http_response *resp,
	     enum apikey_role min_role, struct apikey_principal *who)
{
	const char *h = http_header(req, "Authorization");
	memset(who, 0, sizeof *who);
	if (!h && api_auth_has_cookie(req)) {
		int rc = auth_by_session(app, req, resp, who);
		if (rc)
			return rc;
		goto role;
	}
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		http_set_header(resp, "WWW-Authenticate", "Bearer");
		http_reply_error(resp, 401, "unauthorized",
				 "an API key is required: Authorization: Bearer <key>",
				 "Authorization");
		return CW_EAUTH;
	}
	const char *key = h + 7;
	while (*key == ' ')
		key++;
	if (apikey_verify(app->st, key, who) != 0) {
		http_set_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		http_reply_error(resp, 401, "unauthorized", "the API key is not valid",
				 "Authorization");
		return CW_EAUTH;
	}
role:
	if (who->role < min_role) {
		char m[120];
		snprintf(m, sizeof m, "this needs the %s role; the key has %s",
			 apikey_role_name(min_role), apikey_role_name(who->role));
		http_reply_error(resp, 403, "forbidden", m, NULL);
		return CW_EFORBIDDEN;
	}
	return 0;
}

char *api_actor(const struct apikey_principal *who, char *out)
{
	if (who->agent) {
		snprintf(out, AUDIT_ACTOR_MAX, "agent:%s", who->key_id);
		return out;
	}
	return audit_actor_apikey(who->key_id, out);
}

json_t *api_body(const struct http_request *req, struct http_response *resp,
		 const struct json_field *schema)
{
	const char *ct = http_header(req, "Content-Type");
	if (ct && strncasecmp(ct, "application/json", 16) != 0) {
		http_reply_error(resp, 415, "unsupported_media_type",
				 "the body must be application/json", "Content-Type");
		return NULL;
	}
	struct json_error e;
	json_t *body = json_parse_body(req->body, req->body_len, &e);
	if (!body) {
		http_reply_error(resp, 400, "invalid_json", e.message, "body");
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(resp, 400, "invalid_json", "the body must be a JSON object", "body");
		return NULL;
	}
	if (schema && json_validate(body, schema, &e) != 0) {
		json_decref(body);
		http_reply_error(resp, 422, "invalid_field", e.message, e.field);
		return NULL;
	}
	return body;
}

void api_error(struct http_response *resp, int err, const char *message, const char *field)
{
	http_reply_error(resp, cw_err_http_status(err), cw_err_code(err),
			 message ? message : cw_strerror(err), field);
}

void api_reply(struct http_response *resp, int rc, json_t *out, const char *not_found)
{
	if (rc == 0) {
		http_reply_json(resp, 200, out);
		return;
	}
	json_decref(out);
	api_error(resp, rc, rc == CW_ENOTFOUND ? not_found : NULL, NULL);
}

int api_limit(const struct http_request *req, int def, int max)
{
	const char *s = http_query(req, "limit");
	if (!s)
		return def;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!end || *end || v < 1)
		return def;
	return v > max ? max : (int)v;
}
