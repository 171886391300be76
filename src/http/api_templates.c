/*
 * api_templates.c — /api/v1/templates: the template registry over HTTP.
 *
 *	GET  /api/v1/templates[?status=APPROVED&name=appt_reminder&limit=N]
 *	     → {"items":[{"id","name","language","category","status","quality",...}]}
 *	POST /api/v1/templates {"name","language","category","components"[,"waba_id"]}
 *	     → 201 the registered template (status as Meta answered: PENDING...)
 *	POST /api/v1/templates/sync → {"synced":N} (lists every WABA from Meta)
 *
 * http/ only translates: validation, submission and storage are
 * core/template.c's. Templates are not patient data: not audited.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "core/template.h"
#include "http/api.h"
#include "http/routes.h"
#include "wa/client.h"
#include "base/banned.h"

#define TEMPLATES_LIST_DEFAULT 200

static void client_config(const struct app *app, struct wa_client_config *w)
{
	*w = (struct wa_client_config){
		.graph_url = app->cfg->whatsapp.graph_url,
		.api_version = app->cfg->whatsapp.api_version,
		.connect_timeout_ms = (long)app->cfg->whatsapp.connect_timeout_ms,
		.total_timeout_ms = (long)app->cfg->whatsapp.timeout_ms,
	};
}

static int templates_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *items = NULL;
	int rc = template_list(app->st, who.org_id, http_query(req, "status"),
			       http_query(req, "name"),
			       api_limit(req, TEMPLATES_LIST_DEFAULT, TEMPLATE_LIST_MAX), &items);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
	return 0;
}

static int templates_create(void *ud, const struct http_request *req,
			    struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct wa_client_config w;
	client_config(app, &w);
	struct template_info t;
	struct template_problem pr = {0};
	int rc = template_create(app->st, app->master_key, &w, who.org_id, body, &t, &pr);
	json_decref(body);
	if (rc) {
		if (rc == CW_EINVAL && pr.reason && strcmp(pr.reason, "invalid_field") != 0) {
			char code[48];
			snprintf(code, sizeof code, "%s", pr.reason);
			http_reply_error(resp, 422, code, pr.message, pr.field[0] ? pr.field : NULL);
		} else {
			api_error(resp, rc, pr.message[0] ? pr.message : NULL,
				  pr.field[0] ? pr.field : NULL);
		}
		return 0;
	}
	http_reply_json(resp, 201, template_info_json(&t));
	template_info_release(&t);
	return 0;
}

static int templates_sync(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	struct wa_client_config w;
	client_config(app, &w);
	int n = 0;
	int rc = template_sync(app->st, app->master_key, &w, who.org_id, &n);
	if (rc && n == 0) {
		api_error(resp, rc, "listing the templates from the Cloud API failed", NULL);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:i, s:b}", "synced", n, "complete", rc == 0));
	return 0;
}

const struct http_route api_templates_routes[] = {
	{"GET", "/api/v1/templates", templates_list, 0},
	{"POST", "/api/v1/templates", templates_create, 0},
	{"POST", "/api/v1/templates/sync", templates_sync, 0},
	{NULL, NULL, NULL, 0},
};
