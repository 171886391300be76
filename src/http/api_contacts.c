/*
 * api_contacts.c — /api/v1/contacts: upsert by phone, read, list (with a
 * segment query), change, erase, export (JSON or FHIR), consents, and CSV
 * import (docs/contacts.md is the reference).
 *
 *	POST   /api/v1/contacts                 integration  201 new / 200 updated
 *	GET    /api/v1/contacts?query=&limit=&after=  viewer {"items":[...],"next"}
 *	POST   /api/v1/contacts/import          integration  text/csv -> report
 *	GET    /api/v1/contacts/{id}            viewer
 *	PATCH  /api/v1/contacts/{id}            integration
 *	DELETE /api/v1/contacts/{id}            admin        erasure; the tombstone
 *	GET    /api/v1/contacts/{id}/export[?format=fhir]  admin
 *	POST   /api/v1/contacts/{id}/consents   integration  201 the record
 *	GET    /api/v1/contacts/{id}/consents   viewer       current + history
 *
 * http/ only translates: validation, storage and the audit entries are
 * core/contact.c's and core/consent.c's. Nothing here logs a phone number
 * or a name.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/csv.h"
#include "base/err.h"
#include "base/id.h"
#include "core/audit.h"
#include "core/consent.h"
#include "core/contact.h"
#include "core/contact_csv.h"
#include "core/fhir.h"
#include "core/org.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

#define CSV_BODY_MAX	   (32u * 1024 * 1024)
#define CSV_REPORT_ERRORS  1000
#define LIST_LIMIT_DEFAULT 50

/* Writes a contact_error as the API error: 422 for bad input, 404, 409. */
static void reply_contact_error(struct http_response *resp, int rc, const struct contact_error *err)
{
	int status = rc == CW_ENOTFOUND			  ? 404
		     : rc == CW_ECONFLICT		  ? 409
		     : rc == CW_EPHONE || rc == CW_EINVAL ? 422
							  : 0;
	if (!status || !err->code[0]) {
		api_error(resp, rc, NULL, NULL);
		return;
	}
	http_reply_error(resp, status, err->code, err->message, err->field[0] ? err->field : NULL);
}

/* The organisation's default region, for national phone numbers. */
static int org_region(struct app *app, const char *org_id, char region[8])
{
	struct org_info org;
	int rc = org_get(app->st, org_id, &org);
	if (rc)
		return rc;
	snprintf(region, 8, "%s", org.region);
	return 0;
}

static void reply_not_found(struct http_response *resp)
{
	http_reply_error(resp, 404, "not_found", "no such contact", "id");
}

/* Authorises a request on /api/v1/contacts/{id} for role and returns the
 * contact id, or replies (401/403, or 404 for an id that cannot exist) and
 * returns NULL. */
static const char *contact_scope(struct app *app, const struct http_request *req,
				 struct http_response *resp, enum apikey_role role,
				 struct apikey_principal *who)
{
	if (api_auth(app, req, resp, role, who))
		return NULL;
	const char *id = http_param(req, "id");
	if (!id || !id_valid(id)) {
		reply_not_found(resp);
		return NULL;
	}
	return id;
}

/* Replies with what a read of one contact's data gave: o with 200, 404 for
 * CW_ENOTFOUND, else the error. Takes o. */
static void reply_read(struct http_response *resp, int rc, json_t *o)
{
	if (rc == CW_ENOTFOUND)
		reply_not_found(resp);
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(resp, 200, o);
	if (rc)
		json_decref(o);
}

/* Replies with the contact as stored now (the write was audited). */
static void reply_contact(struct app *app, const char *org_id, const char *id, int status,
			  struct http_response *resp)
{
	struct contact c;
	int rc = contact_get(app->st, org_id, id, &c);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return;
	}
	http_reply_json(resp, status, contact_json(&c));
	contact_release(&c);
}

static int contacts_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char region[8], actor[AUDIT_ACTOR_MAX];
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct contact_draft d;
	struct contact_error err;
	memset(&err, 0, sizeof err);
	contact_draft_init(&d);
	int rc = org_region(app, who.org_id, region);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	rc = contact_draft_from_json(&d, body, region, 1, &err);
	if (rc) {
		reply_contact_error(resp, rc, &err);
		goto done;
	}
	struct contact_write w;
	rc = contact_upsert(app->st, who.org_id, &d, api_actor(&who, actor), "api", &w);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	reply_contact(app, who.org_id, w.id, w.created ? 201 : 200, resp);
done:
	contact_draft_release(&d);
	json_decref(body);
	return 0;
}

static int contacts_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX], next[ID_SIZE];
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	const char *query = http_query(req, "query");
	const char *after = http_query(req, "after");
	if (after && *after && !id_valid(after)) {
		http_reply_error(resp, 422, "invalid_field", "after must be a contact id", "after");
		return 0;
	}
	if (query && strlen(query) > SEGMENT_MAX_QUERY) {
		http_reply_error(resp, 400, "invalid_query", "the query is too long", "query");
		return 0;
	}
	int limit = api_limit(req, LIST_LIMIT_DEFAULT, CONTACT_LIST_MAX);
	json_t *items = NULL;
	struct segment_error qe;
	memset(&qe, 0, sizeof qe);
	int rc = contact_list(app->st, who.org_id, query, after && *after ? after : NULL, limit,
			      api_actor(&who, actor), &items, next, &qe);
	if (rc == CW_EPARSE) {
		http_reply_error(resp, 400, "invalid_query", qe.message, "query");
		return 0;
	}
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	json_t *o = json_object();
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "next", next[0] ? json_string(next) : json_null());
	http_reply_json(resp, 200, o);
	return 0;
}

static int contact_get_h(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_VIEWER, &who);
	if (!id)
		return 0;
	json_t *o = NULL;
	int rc = contact_read(app->st, who.org_id, id, api_actor(&who, actor), &o);
	reply_read(resp, rc, o);
	return 0;
}

static int contact_patch(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char region[8], actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_INTEGRATION, &who);
	if (!id)
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct contact_draft d;
	struct contact_error err;
	memset(&err, 0, sizeof err);
	contact_draft_init(&d);
	int rc = org_region(app, who.org_id, region);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		goto done;
	}
	rc = contact_draft_from_json(&d, body, region, 0, &err);
	if (rc == 0)
		rc = contact_update(app->st, who.org_id, id, &d, api_actor(&who, actor), &err);
	if (rc) {
		reply_contact_error(resp, rc, &err);
		goto done;
	}
	reply_contact(app, who.org_id, id, 200, resp);
done:
	contact_draft_release(&d);
	json_decref(body);
	return 0;
}

static int contact_delete(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_ADMIN, &who);
	if (!id)
		return 0;
	int already = 0;
	int rc = contact_erase(app->st, who.org_id, id, api_actor(&who, actor), &already);
	if (rc == CW_ENOTFOUND)
		reply_not_found(resp);
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		reply_contact(app, who.org_id, id, 200, resp);
	return 0;
}

static int contact_export_h(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_ADMIN, &who);
	if (!id)
		return 0;
	const char *format = http_query(req, "format");
	int fhir = 0;
	if (format && strcmp(format, "fhir") == 0)
		fhir = 1;
	else if (format && strcmp(format, "json") != 0) {
		http_reply_error(resp, 422, "invalid_field", "format must be json or fhir",
				 "format");
		return 0;
	}
	json_t *o = NULL;
	api_actor(&who, actor);
	int rc = fhir ? fhir_export_contact(app->st, who.org_id, id, actor, &o)
		      : contact_export(app->st, who.org_id, id, actor, &o);
	reply_read(resp, rc, o);
	if (rc == 0 && fhir)
		resp->content_type = "application/fhir+json";
	return 0;
}

static int consents_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_INTEGRATION, &who);
	if (!id)
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct consent_input in;
	struct contact_error err;
	memset(&err, 0, sizeof err);
	json_t *out = NULL;
	int rc = consent_input_from_json(&in, body, &err);
	if (rc == 0)
		rc = consent_record(app->st, who.org_id, id, &in, api_actor(&who, actor), &out,
				    &err);
	if (rc)
		reply_contact_error(resp, rc, &err);
	else
		http_reply_json(resp, 201, out);
	json_decref(body);
	return 0;
}

static int consents_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char actor[AUDIT_ACTOR_MAX];
	const char *id = contact_scope(app, req, resp, APIKEY_VIEWER, &who);
	if (!id)
		return 0;
	json_t *o = NULL;
	int rc = consent_read(app->st, who.org_id, id, api_actor(&who, actor), &o);
	reply_read(resp, rc, o);
	return 0;
}

/* ---- CSV import ---- */

struct import_errors {
	json_t *errors;
	long dropped;
	char first_header_error[240];
};

static void import_error(void *ud, long line, const char *field, const char *message)
{
	struct import_errors *ie = ud;
	if (!ie->first_header_error[0])
		snprintf(ie->first_header_error, sizeof ie->first_header_error, "line %ld: %s",
			 line, message);
	if (json_array_size(ie->errors) >= CSV_REPORT_ERRORS) {
		ie->dropped++;
		return;
	}
	json_t *e = json_object();
	json_object_set_new(e, "line", json_integer(line));
	json_object_set_new(e, "field", *field ? json_string(field) : json_null());
	json_object_set_new(e, "message", json_string(message));
	json_array_append_new(ie->errors, e);
}

static int csv_media_type(const char *ct)
{
	return ct &&
	       (strncasecmp(ct, "text/csv", 8) == 0 || strncasecmp(ct, "application/csv", 15) == 0);
}

static int contacts_import(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	char region[8], actor[AUDIT_ACTOR_MAX];
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	if (!csv_media_type(http_header(req, "Content-Type"))) {
		http_reply_error(resp, 415, "unsupported_media_type", "the body must be text/csv",
				 "Content-Type");
		return 0;
	}
	int rc = org_region(app, who.org_id, region);
	if (rc) {
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	struct import_errors ie = {json_array(), 0, ""};
	struct contact_csv_opts o = {.org_id = who.org_id,
				     .region = region,
				     .actor = api_actor(&who, actor),
				     .via = "csv",
				     .on_error = import_error,
				     .ud = &ie};
	struct contact_csv_report r;
	struct csv *c = csv_new_mem(req->body, req->body ? req->body_len : 0);
	rc = contact_csv_import(app->st, c, &o, &r);
	csv_free(c);
	if (rc == CW_EPARSE) {
		http_reply_error(resp, 400, "invalid_csv", ie.first_header_error, "body");
	} else if (rc) {
		api_error(resp, rc, NULL, NULL);
	} else {
		json_t *out = json_object();
		json_object_set_new(out, "lines", json_integer(r.lines));
		json_object_set_new(out, "created", json_integer(r.created));
		json_object_set_new(out, "updated", json_integer(r.updated));
		json_object_set_new(out, "failed", json_integer(r.failed));
		json_object_set_new(out, "errors", ie.errors);
		json_object_set_new(out, "errors_not_shown", json_integer(ie.dropped));
		ie.errors = NULL;
		http_reply_json(resp, 200, out);
	}
	json_decref(ie.errors);
	return 0;
}

const struct http_route api_contacts_routes[] = {
    {"POST", "/api/v1/contacts", contacts_post, 0},
    {"GET", "/api/v1/contacts", contacts_list, 0},
    {"POST", "/api/v1/contacts/import", contacts_import, CSV_BODY_MAX},
    {"GET", "/api/v1/contacts/{id}", contact_get_h, 0},
    {"PATCH", "/api/v1/contacts/{id}", contact_patch, 0},
    {"DELETE", "/api/v1/contacts/{id}", contact_delete, 0},
    {"GET", "/api/v1/contacts/{id}/export", contact_export_h, 0},
    {"POST", "/api/v1/contacts/{id}/consents", consents_post, 0},
    {"GET", "/api/v1/contacts/{id}/consents", consents_get, 0},
    {NULL, NULL, NULL, 0},
};
