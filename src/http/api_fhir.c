/*
 * api_fhir.c — FHIR R4 import: POST /api/v1/fhir/Patient (one Patient,
 * answered like POST /api/v1/contacts) and POST /api/v1/fhir (a Bundle, or
 * a Patient; answered with a report). Bodies are application/fhir+json or
 * application/json. The mapping is core/fhir.h's.
 *
 *	POST /api/v1/fhir/Patient -> 201 new / 200 updated: the contact;
 *	     422 {"error":{"code":"invalid_phone","field":"telecom",...}}
 *	POST /api/v1/fhir         -> 200 {"patients","created","updated","failed",
 *	     "skipped","skipped_types":{...},"errors":[{"entry","resource",
 *	     "field","message"}]}
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/json.h"
#include "core/audit.h"
#include "core/contact.h"
#include "core/fhir.h"
#include "core/org.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

#define FHIR_BODY_MAX (16u * 1024 * 1024)

/* The body as a JSON object, or NULL after replying 400/415. */
static json_t *fhir_body(const struct http_request *req, struct http_response *resp)
{
	const char *ct = http_header(req, "Content-Type");
	if (ct && strncasecmp(ct, "application/json", 16) != 0 &&
	    strncasecmp(ct, "application/fhir+json", 21) != 0) {
		http_reply_error(resp, 415, "unsupported_media_type",
				 "the body must be application/fhir+json", "Content-Type");
		return NULL;
	}
	struct json_error e;
	json_t *body = json_parse_body(req->body, req->body ? req->body_len : 0, &e);
	if (!body) {
		http_reply_error(resp, 400, "invalid_json", e.message, "body");
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(resp, 400, "invalid_json", "the body must be a FHIR resource",
				 "body");
		return NULL;
	}
	return body;
}

static int start(struct app *app, const struct http_request *req, struct http_response *resp,
		 struct apikey_principal *who, char region[8], json_t **body)
{
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, who))
		return -1;
	struct org_info org;
	int rc = org_get(app->st, who->org_id, &org);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return -1;
	}
	snprintf(region, 8, "%s", org.region);
	*body = fhir_body(req, resp);
	return *body ? 0 : -1;
}

static int patient_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char region[8], actor[AUDIT_ACTOR_MAX];
	json_t *body = NULL;
	if (start(app, req, resp, &who, region, &body))
		return 0;
	struct contact_draft d;
	struct contact_error err;
	memset(&err, 0, sizeof err);
	contact_draft_init(&d);
	int rc = fhir_patient_draft(body, region, &d, &err);
	if (rc) {
		http_reply_error(resp, 422, err.code[0] ? err.code : "invalid_field", err.message,
				 err.field);
		goto done;
	}
	struct contact_write w;
	rc = contact_upsert(app->st, who.org_id, &d, api_actor(&who, actor), "fhir",
			    &w);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	struct contact c;
	rc = contact_get(app->st, who.org_id, w.id, &c);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	http_reply_json(resp, w.created ? 201 : 200, contact_json(&c));
	contact_release(&c);
done:
	contact_draft_release(&d);
	json_decref(body);
	return 0;
}

static int bundle_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char region[8], actor[AUDIT_ACTOR_MAX];
	json_t *body = NULL;
	if (start(app, req, resp, &who, region, &body))
		return 0;
	struct fhir_report r;
	int rc = fhir_import(app->st, who.org_id, region, body,
			     api_actor(&who, actor), &r);
	if (rc == CW_EINVAL)
		http_reply_error(resp, 422, "invalid_field",
				 "the body must be a Bundle or a Patient", "resourceType");
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(resp, 200, fhir_report_json(&r));
	fhir_report_release(&r);
	json_decref(body);
	return 0;
}

const struct http_route api_fhir_routes[] = {
    {"POST", "/api/v1/fhir/Patient", patient_post, FHIR_BODY_MAX},
    {"POST", "/api/v1/fhir", bundle_post, FHIR_BODY_MAX},
    {NULL, NULL, NULL, 0},
};
