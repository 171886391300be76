/*
 * api_analytics.c — /api/v1/analytics: the managers' figures. http/ only
 * translates: the counting is core/analytics.c's; docs/analytics.md defines
 * every figure and docs/api.md the shapes.
 *
 *	GET /api/v1/analytics/overview?days=14            per local day and the period (viewer)
 *	GET /api/v1/analytics/producers?prefix=&limit=     the funnel per producer (viewer)
 *	GET /api/v1/analytics/unanswered?days=30&limit=50  questions nothing automatic
 *	                                                   answered (admin, audited)
 *
 * The overview and the producers are counts without personal data. The
 * unanswered questions are patients' own words: only admins read them,
 * every read is audited, and they are never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/analytics.h"
#include "core/audit.h"
#include "http/api.h"
#include "http/api_auth.h"
#include "http/routes.h"
#include "base/banned.h"

/* ?name= as an integer in [lo, hi], def when absent. Returns 0, or writes
 * 422 naming the parameter and returns -1. */
static int query_int(const struct http_request *req, struct http_response *resp, const char *name,
		     int def, int lo, int hi, int *out)
{
	const char *s = http_query(req, name);
	*out = def;
	if (!s)
		return 0;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!*s || !end || *end || v < lo || v > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be a whole number from %d to %d", name, lo, hi);
		http_reply_error(resp, 422, "invalid_field", msg, name);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int overview_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	int days;
	if (query_int(req, resp, "days", ANALYTICS_DAYS_DEFAULT, 1, ANALYTICS_DAYS_MAX, &days))
		return 0;
	struct analytics_overview *o = malloc(sizeof *o);
	if (!o) {
		api_error(resp, CW_ENOMEM, NULL, NULL);
		return 0;
	}
	int rc = analytics_overview(app->st, who.org_id, days, time_now_ms(), o);
	if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(resp, 200, analytics_overview_json(o));
	free(o);
	return 0;
}

static int producers_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	const char *prefix = http_query(req, "prefix");
	if (prefix && strlen(prefix) > ANALYTICS_PREFIX_MAX) {
		http_reply_error(resp, 422, "invalid_field", "prefix is at most 120 bytes",
				 "prefix");
		return 0;
	}
	int limit = api_limit(req, ANALYTICS_PRODUCERS_DEFAULT, ANALYTICS_PRODUCERS_MAX);
	json_t *out = NULL;
	int rc = analytics_producers(app->st, who.org_id, prefix ? prefix : "", limit, &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int unanswered_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	int days;
	if (query_int(req, resp, "days", ANALYTICS_UNANSWERED_DAYS, 1,
		      ANALYTICS_UNANSWERED_DAYS_MAX, &days))
		return 0;
	int limit = api_limit(req, ANALYTICS_QUESTIONS_DEFAULT, ANALYTICS_QUESTIONS_MAX);
	json_t *out = NULL;
	int rc = analytics_unanswered(app->st, who.org_id, days, limit, time_now_ms(), &out);

	/* The audit entry says who read patients' words, never the words. */
	char actor[AUDIT_ACTOR_MAX];
	api_actor(&who, actor);
	char detail[64];
	snprintf(detail, sizeof detail, "days=%d groups=%lld", days,
		 out ? (long long)json_integer_value(json_object_get(out, "groups")) : 0LL);
	struct audit_entry ae = {.org_id = who.org_id,
				 .actor = actor,
				 .action = "analytics.unanswered",
				 .outcome = rc ? "error" : "ok",
				 .detail = detail};
	int arc = audit_record(app->st, &ae);
	if (arc && !rc) {
		/* Patient data is not handed out without its audit entry. */
		log_error("analytics", "the audit entry analytics.unanswered could not be written");
		rc = arc;
	}
	api_reply(resp, rc, out, NULL);
	return 0;
}

const struct http_route api_analytics_routes[] = {
    {"GET", "/api/v1/analytics/overview", overview_get, 0},
    {"GET", "/api/v1/analytics/producers", producers_get, 0},
    {"GET", "/api/v1/analytics/unanswered", unanswered_get, 0},
    {NULL, NULL, NULL, 0},
};
