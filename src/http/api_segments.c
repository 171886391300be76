/*
 * api_segments.c — POST /api/v1/segments/preview: how many contacts a
 * segment query matches, a sample of them, and for a purpose how many the
 * policy engine would refuse, per reason (DESIGN.md §6). The work is
 * core/segpreview.c's.
 *
 *	{"query":"audience = \"recovered patient\" AND ...","purpose":"marketing"}
 *	-> 200 {"count":N,"sample":[{"id","name","language"}...],
 *	        "excluded":{"<reason>":N,...},"purpose":"marketing","eligible":N}
 *	a bad query -> 400 {"error":{"code":"invalid_query","field":"query",
 *	                             "message":"col 14: unknown field \"fileds.status\""}}
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/policy.h"
#include "core/segpreview.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

static const char *const purposes[] = {"service", "reminders", "results",
				       "surveys", "marketing", NULL};

static const struct json_field preview_schema[] = {
    {"query", JF_STRING, JF_REQUIRED, 1, SEGMENT_MAX_QUERY, NULL},
    {"purpose", JF_STRING, JF_NULLABLE, 1, 16, purposes},
    {NULL, 0, 0, 0, 0, NULL},
};

static int preview_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	json_t *body = api_body(req, resp, preview_schema);
	if (!body)
		return 0;
	const char *purpose = json_str(body, "purpose");
	int p = purpose ? policy_purpose_parse(purpose) : -1;
	struct segpreview pv;
	struct segment_error qe = {.col = 0};
	int rc = segpreview_run(app->st, who.org_id, json_str(body, "query"), p, time_now_ms(), &pv,
				&qe);
	if (rc == CW_EPARSE) {
		http_reply_error(resp, 400, "invalid_query", qe.message, "query");
		goto done;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	char actor[AUDIT_ACTOR_MAX];
	if (segpreview_audit(app->st, who.org_id, api_actor(&who, actor), &pv) !=
	    0) {
		api_error(resp, CW_EUNAVAIL, "the preview could not be audited", NULL);
		goto done;
	}
	http_reply_json(resp, 200, segpreview_json(&pv));
done:
	json_decref(body);
	return 0;
}

const struct http_route api_segments_routes[] = {
    {"POST", "/api/v1/segments/preview", preview_post, 0},
    {NULL, NULL, NULL, 0},
};
