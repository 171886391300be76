/*
 * api_numbers.c — /api/v1/numbers: the organisation's WhatsApp phone
 * numbers, their sending rate and whether they send. http/ only translates:
 * the work is core/settings.c's. Tokens never leave the store.
 *
 *	GET /api/v1/numbers          {"items":[{"id","display","phone_number_id","waba_id",
 *	                              "rate_mps","status","shared_with_app","created_at"}]}
 *	                              (viewer)
 *	PUT /api/v1/numbers/{id}     {"rate_mps": 1..1000, "status": "active"|"paused"}
 *	                              (admin; audited) -> the number
 *
 * The dispatcher pauses a number on its own when Meta says its token or
 * account is in trouble (190, 368, 131031) and tells the admins; after
 * fixing the cause a person resumes it here with "status":"active". The
 * dispatcher reads the numbers again within seconds.
 */
#include <stdio.h>

#include "base/err.h"
#include "core/audit.h"
#include "core/settings.h"
#include "http/api.h"
#include "http/api_auth.h"
#include "http/routes.h"
#include "base/banned.h"

static int numbers_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = settings_numbers(app->st, who.org_id, &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int number_put(void *ud, const struct http_request *req, struct http_response *resp)
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
	int rc = settings_number_update(app->st, who.org_id, http_param(req, "id"), body, actor,
					&out, &e);
	json_decref(body);
	if (rc == CW_EINVAL)
		http_reply_error(resp, 422, "invalid_field", e.message, e.field);
	else
		api_reply(resp, rc, out, "no such phone number");
	return 0;
}

const struct http_route api_numbers_routes[] = {
    {"GET", "/api/v1/numbers", numbers_get, 0},
    {"PUT", "/api/v1/numbers/{id}", number_put, 0},
    {NULL, NULL, NULL, 0},
};
