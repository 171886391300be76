/*
 * api_auth.c — sign-in, sign-out and "who am I" for the dashboard (see
 * api_auth.h). http/ only translates: passwords and their rate limit are
 * core/agent.c's, sessions core/session.c's.
 */
#include "http/api_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/agent.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

int api_auth_safe_method(const char *method)
{
	return method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
			  strcmp(method, "OPTIONS") == 0);
}

/* Copies the value of cookie name from a Cookie header into out (size
 * bytes). Returns 0, CW_ENOTFOUND, or CW_ETOOBIG when it does not fit. */
static int cookie_value(const char *header, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= size)
				return CW_ETOOBIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return CW_ENOTFOUND;
}

int api_auth_has_cookie(const struct http_request *req)
{
	char v[SESSION_ID_HEX + 1];
	int rc = cookie_value(http_header(req, "Cookie"), API_SESSION_COOKIE, v, sizeof v);
	return rc == 0 || rc == CW_ETOOBIG;
}

int api_auth_session(struct app *app, const struct http_request *req, struct session *s)
{
	char sid[SESSION_ID_HEX + 1];
	if (cookie_value(http_header(req, "Cookie"), API_SESSION_COOKIE, sid, sizeof sid))
		return CW_EAUTH;
	return session_get(app->st, sid, s);
}

/* Secure when the configuration says so or a TLS proxy in front says the
 * browser came over HTTPS. */
static int cookie_secure(const struct app *app, const struct http_request *req)
{
	const char *proto = http_header(req, "X-Forwarded-Proto");
	if (proto && strncasecmp(proto, "https", 5) == 0)
		return 1;
	return app->cfg && app->cfg->security.session_secure;
}

static void set_cookie(struct app *app, const struct http_request *req, struct http_response *resp,
		       const char *value, long long max_age_s)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
		 API_SESSION_COOKIE, value, max_age_s, cookie_secure(app, req) ? "; Secure" : "");
	http_set_header(resp, "Set-Cookie", c);
}

static json_t *session_json(const struct session *s)
{
	char until[TIME_ISO_MAX];
	json_t *agent = json_pack("{s:s, s:s, s:s, s:s}", "id", s->agent_id, "org_id", s->org_id,
				  "email", s->email, "role", agent_role_name(s->role));
	json_object_set_new(agent, "name", s->name[0] ? json_string(s->name) : json_null());
	return json_pack("{s:s, s:o, s:s}", "csrf_token", s->csrf, "agent", agent, "expires_at",
			 time_format_iso(s->expires_at, until));
}

static const struct json_field login_schema[] = {
    {"email", JF_STRING, JF_REQUIRED, 1, AGENT_EMAIL_MAX + 64},
    {"password", JF_STRING, JF_REQUIRED, 1, AGENT_PASSWORD_MAX},
    {NULL},
};

static int auth_login(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	json_t *body = api_body(req, resp, login_schema);
	if (!body)
		return 0;
	struct agent a;
	int rc = agent_login(app->st, json_str(body, "email"), json_str(body, "password"), &a);
	json_decref(body);
	if (rc == CW_ERATE) {
		char after[16];
		snprintf(after, sizeof after, "%d", AGENT_LOGIN_LOCK_MS / 1000);
		http_set_header(resp, "Retry-After", after);
		http_reply_error(resp, 429, "rate_limited",
				 "too many failed sign-ins for this email; wait a minute", "email");
		return 0;
	}
	if (rc == CW_EAUTH) {
		http_reply_error(resp, 401, "unauthorized", "wrong email or password", "password");
		return 0;
	}
	if (rc) {
		api_error(resp, rc, "sign-in failed", NULL);
		return 0;
	}
	char sid[SESSION_ID_HEX + 1];
	struct session s;
	rc = session_create(app->st, &a, sid, &s);
	if (rc) {
		api_error(resp, rc, "cannot start a session", NULL);
		return 0;
	}
	set_cookie(app, req, resp, sid, SESSION_MAX_MS / 1000);
	memset(sid, 0, sizeof sid);
	log_info("auth", "agent %s signed in", a.id);
	http_reply_json(resp, 200, session_json(&s));
	return 0;
}

static int auth_logout(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	char sid[SESSION_ID_HEX + 1];
	struct session s;
	if (cookie_value(http_header(req, "Cookie"), API_SESSION_COOKIE, sid, sizeof sid) == 0 &&
	    session_get(app->st, sid, &s) == 0) {
		if (session_csrf_check(&s, http_header(req, API_CSRF_HEADER)) != 0) {
			http_reply_error(resp, 403, "forbidden",
					 "signing out needs the session's CSRF token",
					 API_CSRF_HEADER);
			return 0;
		}
		int rc = session_end(app->st, sid);
		if (rc) {
			api_error(resp, rc, "cannot end the session", NULL);
			return 0;
		}
		log_info("auth", "agent %s signed out", s.agent_id);
	}
	memset(sid, 0, sizeof sid);
	set_cookie(app, req, resp, "", 0);
	http_reply_json(resp, 200, json_pack("{s:b}", "signed_out", 1));
	return 0;
}

static int auth_me(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct session s;
	int rc = api_auth_session(app, req, &s);
	if (rc == CW_EAUTH) {
		http_reply_error(resp, 401, "unauthorized", "not signed in", NULL);
		return 0;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	json_t *o = session_json(&s);
	json_object_set_new(o, "demo", json_boolean(app->demo));
	http_reply_json(resp, 200, o);
	return 0;
}

const struct http_route api_auth_routes[] = {
    {"POST", "/api/v1/auth/login", auth_login, 8192},
    {"POST", "/api/v1/auth/logout", auth_logout, 8192},
    {"GET", "/api/v1/auth/me", auth_me, 0},
    {NULL, NULL, NULL, 0},
};
