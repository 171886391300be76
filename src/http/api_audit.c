/*
 * api_audit.c — GET /api/v1/audit: the audit log of the key's
 * organisation, oldest first, optionally for one contact (admin only).
 *
 *	GET /api/v1/audit?contact_id=<id>&after=<seq>&limit=<n>
 *	-> 200 {"items":[{"seq","at","actor","action","subject","purpose",
 *	                  "outcome","detail","hash"}...],"next":<seq>|null}
 *
 * The entries hold ids and outcomes only (core/audit.h), so reading them
 * is not itself a read of contact data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "core/audit.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

#define AUDIT_PAGE_DEFAULT 100

struct page {
	json_t *items;
	int64_t last_seq;
	int n;
};

static int row_cb(void *ud, const struct audit_row *row)
{
	struct page *p = ud;
	json_array_append_new(p->items, audit_row_json(row));
	p->last_seq = row->seq;
	p->n++;
	return 0;
}

static int audit_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	const char *contact = http_query(req, "contact_id");
	const char *after_s = http_query(req, "after");
	if (contact && !id_valid(contact)) {
		http_reply_error(resp, 422, "invalid_field", "contact_id must be a contact id",
				 "contact_id");
		return 0;
	}
	long long after = 0;
	if (after_s) {
		char *end = NULL;
		after = strtoll(after_s, &end, 10);
		if (!*after_s || !end || *end || after < 0) {
			http_reply_error(resp, 422, "invalid_field",
					 "after must be a sequence number", "after");
			return 0;
		}
	}
	int limit = api_limit(req, AUDIT_PAGE_DEFAULT, AUDIT_LIST_MAX);
	struct page p = {json_array(), 0, 0};
	int rc = audit_list(app->st, who.org_id, contact, after, limit, row_cb, &p);
	if (rc < 0) {
		json_decref(p.items);
		api_error(resp, rc, NULL, NULL);
		return 0;
	}
	json_t *o = json_object();
	json_object_set_new(o, "items", p.items);
	json_object_set_new(o, "next", p.n == limit ? json_integer(p.last_seq) : json_null());
	http_reply_json(resp, 200, o);
	return 0;
}

const struct http_route api_audit_routes[] = {
    {"GET", "/api/v1/audit", audit_get, 0},
    {NULL, NULL, NULL, 0},
};
