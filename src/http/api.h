/*
 * api.h — what every /api/v1 handler shares: authentication by API key,
 * reading the JSON body, validating it against a schema table, and the
 * error shape {"error":{"code","message","field"}}.
 *
 * A resource lives in http/api_<resource>.c and exports a route table whose
 * user data is the struct app; http/routes.c mounts every table. A handler:
 *
 *	static int contacts_post(void *ud, const struct http_request *req,
 *				 struct http_response *resp)
 *	{
 *		struct app *app = ud;
 *		struct apikey_principal who;
 *		if (api_auth(app, req, resp, APIKEY_AGENT, &who))
 *			return 0;              -- 401/403 already written
 *		json_t *body = api_body(req, resp, schema);
 *		if (!body)
 *			return 0;              -- 400/422 already written
 *		...
 *	}
 *
 * http/ only translates: the work is done by core/.
 */
#ifndef CW_HTTP_API_H
#define CW_HTTP_API_H

#include <jansson.h>

#include "base/json.h"
#include "core/apikey.h"
#include "core/app.h"
#include "http/server.h"

/* Checks "Authorization: Bearer <key>" and that the key's role is at least
 * min_role (viewer < integration < agent < admin). Returns 0 and fills who,
 * or writes 401 (missing/bad key) / 403 (role too low) into resp and returns
 * CW_EAUTH / CW_EFORBIDDEN. A request without an Authorization header may
 * instead carry the dashboard's cw_session cookie (http/api_auth.h): then a
 * method other than GET/HEAD/OPTIONS also needs the session's X-CSRF-Token
 * (403 without it), the agent's role counts as the API-key role of the same
 * name, and who->key_id holds the agent's id. */
int api_auth(struct app *app, const struct http_request *req, struct http_response *resp,
	     enum apikey_role min_role, struct apikey_principal *who);

/* The audit actor (core/audit.h) of a request api_auth() accepted:
 * "agent:<id>" for a person signed in to the dashboard, "apikey:<id>" for
 * an API key. Writes into out (AUDIT_ACTOR_MAX bytes) and returns out. */
char *api_actor(const struct apikey_principal *who, char *out);

/* Parses the body as a JSON object and, when schema is not NULL, validates
 * it. Returns a new reference (caller json_decref()s) or NULL after writing
 * 400 (malformed; field "body"), 415 (not application/json) or 422 (the
 * schema's field) into resp. */
json_t *api_body(const struct http_request *req, struct http_response *resp,
		 const struct json_field *schema);

/* Writes a cw_err as the API error (status and code from the error table). */
void api_error(struct http_response *resp, int err, const char *message, const char *field);

/* Replies with what a handler's core call gave: out with 200 when rc is 0,
 * else the error (not_found, when not NULL, is the message of a
 * CW_ENOTFOUND). Takes out in both cases. */
void api_reply(struct http_response *resp, int rc, json_t *out, const char *not_found);

/* Parses ?limit= (default def, clamped to 1..max). */
int api_limit(const struct http_request *req, int def, int max);

#endif
