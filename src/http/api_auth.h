/*
 * api_auth.h — the dashboard's sign-in over HTTP: the session cookie and the
 * CSRF header. The routes (api_auth_routes, listed in routes.h):
 *
 *	POST /api/v1/auth/login   {"email","password"} → 200 {"csrf_token","agent":{…},
 *	                          "expires_at"} and Set-Cookie: cw_session=…; HttpOnly;
 *	                          SameSite=Strict; Path=/ (Secure behind TLS);
 *	                          401 wrong email or password, 429 locked
 *	POST /api/v1/auth/logout  ends the session (X-CSRF-Token required), clears the cookie
 *	GET  /api/v1/auth/me      the signed-in agent and the CSRF token, or 401
 *
 * api_auth() in api.c uses api_auth_session() to accept the cookie wherever
 * an API key is accepted.
 */
#ifndef CW_HTTP_API_AUTH_H
#define CW_HTTP_API_AUTH_H

#include "core/apikey.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/session.h"
#include "http/server.h"

#define API_SESSION_COOKIE "cw_session"
#define API_CSRF_HEADER	   "X-CSRF-Token"

/* 1 when the request carries a cw_session cookie (valid or not). */
int api_auth_has_cookie(const struct http_request *req);

/* Finds the session of the request's cw_session cookie. Returns 0 and fills
 * s, CW_EAUTH (no cookie, or not a live session) or a store error. */
int api_auth_session(struct app *app, const struct http_request *req, struct session *s);

/* 1 for methods that change nothing (GET, HEAD, OPTIONS): those need no
 * CSRF token. */
int api_auth_safe_method(const char *method);

#endif
