/*
 * api_windows.c — /api/v1/windows: the 24-hour customer-service windows of
 * a contact, with their expiry.
 *
 *	GET /api/v1/windows?contact_id=ID
 *	    → {"contact_id":ID,"items":[{"number_id","contact_id","last_inbound_at",
 *	       "expires_at","open","remaining_seconds"}]}
 *
 * When a person last wrote is patient data: every read is audited
 * (window.read).
 */
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/window.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

static int windows_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_AGENT, &who))
		return 0;
	const char *contact = http_query(req, "contact_id");
	if (!contact || !id_valid(contact)) {
		http_reply_error(resp, 422, "invalid_field", "contact_id must be a contact id",
				 "contact_id");
		return 0;
	}
	json_t *items = NULL;
	int rc = window_list(app->st, who.org_id, contact, time_now_ms(), &items);
	char actor[AUDIT_ACTOR_MAX];
	struct audit_entry e = {.org_id = who.org_id,
				.actor = api_actor(&who, actor),
				.action = "window.read",
				.subject = contact,
				.outcome = rc ? "error" : "ok"};
	int arc = audit_record(app->st, &e);
	if (rc || arc) {
		json_decref(items);
		api_error(resp, rc ? rc : arc, NULL, NULL);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:s, s:o}", "contact_id", contact, "items", items));
	return 0;
}

const struct http_route api_windows_routes[] = {
	{"GET", "/api/v1/windows", windows_get, 0},
	{NULL, NULL, NULL, 0},
};
