/*
 * api_settings.c — /api/v1/settings: quiet hours, frequency caps, the
 * messaging tier, sensitive result categories, the organisation's opt-out
 * words and the first-response target. http/ only translates: the rules
 * and where each value is stored are core/settings.c's (settings.h has the
 * shape; docs/api.md the rules of each member).
 *
 *	GET /api/v1/settings     the settings, defaults applied (viewer)
 *	PUT /api/v1/settings     change the members given, keep the rest (admin);
 *	                         422 naming the member that is wrong; audited
 *
 * Business hours have their own endpoint (/api/v1/settings/hours,
 * http/api_conversations.c); first_response_target_minutes is the same
 * value in both.
 */
#include <stdio.h>

#include "base/err.h"
#include "core/audit.h"
#include "core/settings.h"
#include "http/api.h"
#include "http/api_auth.h"
#include "http/routes.h"
#include "base/banned.h"

static int settings_read(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = settings_get(app->st, who.org_id, &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int settings_write(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	char actor[AUDIT_ACTOR_MAX];
	api_actor(&who, actor);
	json_t *out = NULL;
	struct json_error e;
	int rc = settings_update(app->st, who.org_id, body, actor, &out, &e);
	json_decref(body);
	if (rc == CW_EINVAL)
		http_reply_error(resp, 422, "invalid_field", e.message, e.field);
	else
		api_reply(resp, rc, out, NULL);
	return 0;
}

const struct http_route api_settings_routes[] = {
    {"GET", "/api/v1/settings", settings_read, 0},
    {"PUT", "/api/v1/settings", settings_write, 0},
    {NULL, NULL, NULL, 0},
};
