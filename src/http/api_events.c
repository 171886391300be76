/*
 * api_events.c — POST /api/v1/events: a booking system, lab, CRM or phone
 * system reports something; core/events.c stores it once and starts the
 * journeys it triggers. GET /api/v1/events lists the latest.
 *
 *	{"type":"appointment.booked","id":"<sender's id>","contact_id":"..." |
 *	 "phone":"052-123-4567" | "contact":{"phone",...},"data":{...},
 *	 "occurred_at":"2026-11-22T10:00:00Z"}
 *	-> 202 {"id","type","contact_id","duplicate":false,
 *	        "runs":[{"journey","run_id","state","reason"}]}
 *	a repeated "id" -> 200 with the first answer and "duplicate": true
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/time.h"
#include "core/events.h"
#include "core/audit.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

static int events_post_h(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct event_in in;
	struct events_error err = {{0}};
	char actor[AUDIT_ACTOR_MAX];
	api_actor(&who, actor);
	int rc = events_from_json(body, &in, &err);
	json_t *out = NULL;
	if (rc == 0) {
		in.org_id = who.org_id;
		in.actor = actor;
		rc = events_post(app->journeys, &in, &out, &err);
	}
	if (rc == 0) {
		int dup = json_is_true(json_object_get(out, "duplicate"));
		http_reply_json(resp, dup ? 200 : 202, out);
	} else if (err.code[0]) {
		http_reply_error(resp,
				 rc == CW_ENOTFOUND ? 404
				 : rc == CW_ETOOBIG ? 413
						    : 422,
				 err.code, err.message, err.field);
	} else {
		api_error(resp, rc, NULL, NULL);
	}
	json_decref(body);
	return 0;
}

static int event_cb(void *ud, const struct store_row *row)
{
	char a[TIME_ISO_MAX], b[TIME_ISO_MAX];
	const char *res = store_row_text(row, 7);
	json_t *r = res ? json_loads(res, 0, NULL) : NULL;
	json_array_append_new(
	    ud, json_pack(
		    "{s:s, s:s, s:s, s:s*, s:s*, s:s*, s:s, s:o}", "id", store_row_text(row, 0),
		    "type", store_row_text(row, 1), "source", store_row_text(row, 2), "external_id",
		    store_row_text(row, 3), "contact_id", store_row_text(row, 4), "occurred_at",
		    store_row_is_null(row, 5) ? NULL : time_format_iso(store_row_int(row, 5), a),
		    "received_at", time_format_iso(store_row_int(row, 6), b), "runs",
		    json_object_get(r, "runs") ? json_incref(json_object_get(r, "runs"))
					       : json_array()));
	json_decref(r);
	return 0;
}

static int events_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(who.org_id), SV_INT(api_limit(req, 50, 500))};
	int rc = store_query(app->st, "evt.list", a, 2, event_cb, items);
	if (rc < 0) {
		json_decref(items);
		return api_error(resp, rc, NULL, NULL), 0;
	}
	http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
	return 0;
}

const struct http_route api_events_routes[] = {
    {"POST", "/api/v1/events", events_post_h, 0},
    {"GET", "/api/v1/events", events_list, 0},
    {NULL, NULL, NULL, 0},
};
