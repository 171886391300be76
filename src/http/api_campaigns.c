/*
 * api_campaigns.c — /api/v1/campaigns: HTTP in and out of core/campaign.h.
 *
 *	POST /api/v1/campaigns/preview      audience, exclusions by reason, cost (integration)
 *	POST /api/v1/campaigns              create and start (admin); an unconfirmed audience
 *	                                    of everyone or over the tier -> 409
 *	GET  /api/v1/campaigns              list (viewer)
 *	GET  /api/v1/campaigns/{id}         live progress, guard, per-step stats (viewer)
 *	GET  /api/v1/campaigns/{id}/stats   per-step stats only (viewer)
 *	POST /api/v1/campaigns/{id}/start|pause|resume|cancel   (admin)
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "core/campaign.h"
#include "core/audit.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

static void reply_err(struct http_response *resp, int rc, const struct campaign_error *e)
{
	if (!e->code[0]) {
		api_error(resp, rc, NULL, NULL);
		return;
	}
	int status = strcmp(e->code, "invalid_query") == 0 || strcmp(e->code, "invalid_json") == 0
			 ? 400
		     : rc == CW_ECONFLICT ? 409
		     : rc == CW_ENOTFOUND ? 404
					  : 422;
	http_reply_error(resp, status, e->code, e->message, e->field[0] ? e->field : NULL);
}

static int preview_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	json_t *out = NULL;
	struct campaign_error err = {{0}};
	int rc = campaign_preview(app->campaigns, who.org_id, body, &out, &err);
	if (rc)
		reply_err(resp, rc, &err);
	else
		http_reply_json(resp, 200, out);
	json_decref(body);
	return 0;
}

static int campaigns_post(void *ud, const struct http_request *req, struct http_response *resp)
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
	struct campaign_error err = {{0}};
	int rc = campaign_create(app->campaigns, who.org_id, body, actor, &out, &err);
	if (rc)
		reply_err(resp, rc, &err);
	else
		http_reply_json(resp, 201, out);
	json_decref(body);
	return 0;
}

static int campaigns_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = campaign_list_json(app->campaigns, who.org_id, api_limit(req, 50, 500), &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int campaign_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = campaign_get_json(app->campaigns, who.org_id, http_param(req, "id"), &out);
	api_reply(resp, rc, out, "no such campaign");
	return 0;
}

static int campaign_stats(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *c = NULL;
	int rc = campaign_get_json(app->campaigns, who.org_id, http_param(req, "id"), &c);
	if (rc)
		return api_error(resp, rc, rc == CW_ENOTFOUND ? "no such campaign" : NULL, NULL), 0;
	json_t *stats = json_incref(json_object_get(c, "stats"));
	json_decref(c);
	http_reply_json(resp, 200, stats ? stats : json_object());
	return 0;
}

static int campaign_act(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *out = NULL;
	struct campaign_error err = {{0}};
	int rc = campaign_action(app->campaigns, who.org_id, http_param(req, "id"),
				 http_param(req, "action"), &out, &err);
	if (rc == CW_ENOTFOUND && !err.code[0])
		return api_error(resp, rc, "no such campaign", "id"), 0;
	if (rc)
		return reply_err(resp, rc, &err), 0;
	http_reply_json(resp, 200, out);
	return 0;
}

const struct http_route api_campaigns_routes[] = {
    {"POST", "/api/v1/campaigns/preview", preview_post, 0},
    {"POST", "/api/v1/campaigns", campaigns_post, 0},
    {"GET", "/api/v1/campaigns", campaigns_list, 0},
    {"GET", "/api/v1/campaigns/{id}", campaign_get, 0},
    {"GET", "/api/v1/campaigns/{id}/stats", campaign_stats, 0},
    {"POST", "/api/v1/campaigns/{id}/{action}", campaign_act, 0},
    {NULL, NULL, NULL, 0},
};
