/*
 * api_journeys.c — /api/v1/journeys, /api/v1/runs, /api/v1/handoffs and the
 * sandbox clock: HTTP in and out of core/journey.h (docs/journeys.md has
 * the shapes).
 *
 *	GET  /api/v1/journeys                      list (viewer)
 *	POST /api/v1/journeys                      define: a new version (admin) -> 201 / 200
 *	POST /api/v1/journeys/check                check without storing (viewer)
 *	POST /api/v1/journeys/webhook-secret       the outbound signing secret, shown once (admin)
 *	GET  /api/v1/journeys/{key}[?version=N]    definition, step graph, versions, runs
 *	POST /api/v1/journeys/{key}/start          for a contact or a segment (integration)
 *	POST /api/v1/journeys/{key}/pause|resume|archive   (admin)
 *	GET  /api/v1/journeys/{key}/stats[?campaign_id=]   per-step analytics (viewer)
 *	GET  /api/v1/journeys/{key}/responses      saved answers, aggregated (viewer)
 *	GET  /api/v1/journeys/{key}/runs[?contact_id=&state=&limit=]
 *	GET  /api/v1/runs/{id}, POST /api/v1/runs/{id}/cancel (agent)
 *	GET  /api/v1/handoffs[?team=]              conversations handed to a team (agent)
 *	GET|POST /api/v1/sandbox/clock             the scheduler's clock (sandbox only, admin)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/campaign.h"
#include "core/journey.h"
#include "core/sched.h"
#include "core/segment.h"
#include "core/audit.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

/* Writes every problem of a definition: the first as the error, all of them
 * as "errors" (one line each, naming the step and the field). */
static void reply_def_errors(struct http_response *resp, const struct journey_def_errors *errs)
{
	json_t *lines = json_array();
	char line[600];
	for (int i = 0; i < errs->n; i++)
		json_array_append_new(
		    lines, json_string(journey_def_error_format(&errs->e[i], line, sizeof line)));
	const struct journey_def_error *first = errs->n ? &errs->e[0] : NULL;
	char field[200] = "definition";
	if (first && first->step[0])
		snprintf(field, sizeof field, "steps.%s%s%s", first->step,
			 first->field[0] ? "." : "", first->field);
	else if (first && first->field[0])
		snprintf(field, sizeof field, "%s", first->field);
	json_t *body =
	    json_pack("{s:{s:s, s:s, s:s}, s:o}", "error", "code", "invalid_field", "message",
		      first ? journey_def_error_format(first, line, sizeof line)
			    : "the definition is not valid",
		      "field", field, "errors", lines);
	http_reply_json(resp, 422, body);
}

/* The definition: the body itself, or its "definition" member. */
static json_t *definition_of(json_t *body)
{
	json_t *d = json_object_get(body, "definition");
	return json_is_object(d) ? d : body;
}

static int journeys_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = journey_list_json(app->journeys, who.org_id, &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int journeys_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct journey_def_errors *errs = calloc(1, sizeof *errs);
	struct journey_saved saved;
	char actor[AUDIT_ACTOR_MAX];
	api_actor(&who, actor);
	int rc = errs ? journey_save(app->journeys, who.org_id, definition_of(body), actor, 0, errs,
				     &saved)
		      : CW_ENOMEM;
	if (rc == CW_EINVAL)
		reply_def_errors(resp, errs);
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(resp, saved.created ? 201 : 200,
				json_pack("{s:s, s:i, s:s, s:b}", "key", saved.key, "version",
					  saved.version, "id", saved.id, "created", saved.created));
	free(errs);
	json_decref(body);
	return 0;
}

static int journeys_check(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *body = api_body(req, resp, NULL);
	if (!body)
		return 0;
	struct journey_def_errors *errs = calloc(1, sizeof *errs);
	struct journey_def *d = NULL;
	int rc = errs ? journey_def_parse(definition_of(body), &d, errs) : CW_ENOMEM;
	if (rc == CW_EINVAL)
		reply_def_errors(resp, errs);
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(
		    resp, 200,
		    json_pack("{s:b, s:s, s:O}", "ok", 1, "key", d->key, "graph", d->graph));
	journey_def_free(d);
	free(errs);
	json_decref(body);
	return 0;
}

struct kv_ctx {
	const char *org_id, *secret;
};

static int secret_tx(struct store_tx *tx, void *ud)
{
	struct kv_ctx *c = ud;
	struct store_val a[] = {SV_TEXT(c->org_id), SV_TEXT(JOURNEY_SECRET_KEY),
				SV_TEXT(c->secret)};
	return store_tx_exec(tx, "kv.set", a, 3, NULL);
}

static int webhook_secret(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	char hex[65];
	sec_random_hex(hex, 32);
	struct kv_ctx c = {who.org_id, hex};
	int rc = store_tx(app->st, secret_tx, &c);
	if (rc)
		return api_error(resp, rc, NULL, NULL), 0;
	http_reply_json(resp, 201,
			json_pack("{s:s, s:s, s:s}", "secret", hex, "header",
				  "X-Carewire-Signature: sha256=<hex HMAC-SHA256 of "
				  "\"<X-Carewire-Timestamp>.<body>\">",
				  "note", "shown once; a new one replaces it"));
	return 0;
}

static int journey_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	const char *v = http_query(req, "version");
	int version = v ? (int)strtol(v, NULL, 10) : 0;
	json_t *out = NULL;
	int rc = journey_get_json(app->journeys, who.org_id, http_param(req, "key"), version, &out);
	api_reply(resp, rc, out, "no such journey (or version)");
	return 0;
}

static const struct json_field start_schema[] = {
    {"contact_id", JF_STRING, 0, 1, 64, NULL},
    {"segment", JF_STRING, 0, 1, SEGMENT_MAX_QUERY, NULL},
    {"vars", JF_OBJECT, 0, 0, 0, NULL},
    {"number_id", JF_STRING, 0, 1, 64, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static int journey_start_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_INTEGRATION, &who))
		return 0;
	json_t *body = api_body(req, resp, start_schema);
	if (!body)
		return 0;
	const char *key = http_param(req, "key");
	const char *contact = json_str(body, "contact_id");
	const char *segment = json_str(body, "segment");
	if (!!contact == !!segment) {
		http_reply_error(resp, 422, "invalid_field", "give one of contact_id or segment",
				 "contact_id");
		goto done;
	}
	if (segment) {
		/* a segment is a campaign without a canary: the same audience
		 * checks, guard and progress */
		json_t *c = json_pack("{s:s, s:s, s:O*, s:b, s:O*, s:O*, s:O*}", "journey", key,
				      "segment", segment, "vars", json_object_get(body, "vars"),
				      "canary", 0, "confirm", json_object_get(body, "confirm"),
				      "guard", json_object_get(body, "guard"), "name",
				      json_object_get(body, "name"));
		char actor[AUDIT_ACTOR_MAX];
		api_actor(&who, actor);
		json_t *out = NULL;
		struct campaign_error err = {{0}};
		int rc = campaign_create(app->campaigns, who.org_id, c, actor, &out, &err);
		json_decref(c);
		if (rc == 0)
			http_reply_json(resp, 202, out);
		else if (err.code[0])
			http_reply_error(resp,
					 strcmp(err.code, "invalid_query") == 0 ? 400
					 : rc == CW_ECONFLICT			? 409
					 : rc == CW_ENOTFOUND			? 404
										: 422,
					 err.code, err.message, err.field);
		else
			api_error(resp, rc, NULL, NULL);
		goto done;
	}
	char trig[64];
	snprintf(trig, sizeof trig, "api");
	struct journey_start s = {.org_id = who.org_id,
				  .key = key,
				  .contact_id = contact,
				  .number_id = json_str(body, "number_id"),
				  .vars = json_object_get(body, "vars"),
				  .trigger = trig};
	struct journey_started out;
	int rc = journey_start(app->journeys, &s, &out);
	if (rc == CW_ENOTFOUND)
		http_reply_error(resp, 404, "not_found",
				 out.reason[0] ? out.reason : "no such journey or contact",
				 out.reason[0] ? "contact_id" : "key");
	else if (rc == CW_ECONFLICT)
		http_reply_error(resp, 409, "conflict", out.reason, "key");
	else if (rc)
		api_error(resp, rc, NULL, NULL);
	else
		http_reply_json(resp, 202,
				json_pack("{s:s*, s:s, s:s*}", "run_id",
					  out.run_id[0] ? out.run_id : NULL, "state", out.state,
					  "reason", out.reason[0] ? out.reason : NULL));
done:
	json_decref(body);
	return 0;
}

static int journey_status(void *ud, const struct http_request *req, struct http_response *resp,
			  const char *status)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	int rc = journey_set_status(app->journeys, who.org_id, http_param(req, "key"), status);
	if (rc)
		return api_error(resp, rc, NULL, NULL), 0;
	http_reply_json(resp, 200,
			json_pack("{s:s, s:s}", "key", http_param(req, "key"), "status", status));
	return 0;
}

static int journey_pause(void *ud, const struct http_request *req, struct http_response *resp)
{
	return journey_status(ud, req, resp, "paused");
}

static int journey_resume(void *ud, const struct http_request *req, struct http_response *resp)
{
	return journey_status(ud, req, resp, "active");
}

static int journey_archive(void *ud, const struct http_request *req, struct http_response *resp)
{
	return journey_status(ud, req, resp, "archived");
}

static int journey_stats(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = journey_stats_json(app->st, who.org_id, http_param(req, "key"),
				    http_query(req, "campaign_id"), &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int journey_responses(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = journey_responses_json(app->st, who.org_id, http_param(req, "key"), &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int runs_list(void *ud, const struct http_request *req, struct http_response *resp,
		     const char *key)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = journey_runs_json(app->journeys, who.org_id, key, http_query(req, "contact_id"),
				   http_query(req, "state"), api_limit(req, 50, 500), &out);
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int journey_runs(void *ud, const struct http_request *req, struct http_response *resp)
{
	return runs_list(ud, req, resp, http_param(req, "key"));
}

static int all_runs(void *ud, const struct http_request *req, struct http_response *resp)
{
	return runs_list(ud, req, resp, http_query(req, "journey"));
}

static int run_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_VIEWER, &who))
		return 0;
	json_t *out = NULL;
	int rc = journey_run_json(app->journeys, who.org_id, http_param(req, "id"), &out);
	api_reply(resp, rc, out, "no such run");
	return 0;
}

static int run_cancel(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_AGENT, &who))
		return 0;
	char actor[AUDIT_ACTOR_MAX], why[96];
	snprintf(why, sizeof why, "cancelled by %s", api_actor(&who, actor));
	int rc = journey_cancel(app->journeys, who.org_id, http_param(req, "id"), why);
	if (rc == CW_ECONFLICT)
		return http_reply_error(resp, 409, "conflict", "the run has already ended", "id"),
		       0;
	if (rc)
		return api_error(resp, rc, rc == CW_ENOTFOUND ? "no such run" : NULL, NULL), 0;
	json_t *out = NULL;
	if (journey_run_json(app->journeys, who.org_id, http_param(req, "id"), &out) == 0)
		http_reply_json(resp, 200, out);
	return 0;
}

static int handoff_cb(void *ud, const struct store_row *row)
{
	char at[TIME_ISO_MAX];
	json_array_append_new(
	    ud, json_pack("{s:s, s:s, s:s*, s:s*, s:s, s:s*, s:s}", "id", store_row_text(row, 0),
			  "contact_id", store_row_text(row, 1), "number_id", store_row_text(row, 2),
			  "run_id", store_row_text(row, 3), "team", store_row_text(row, 4), "note",
			  store_row_text(row, 5), "created_at",
			  time_format_iso(store_row_int(row, 6), at)));
	return 0;
}

static int handoffs_list(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_AGENT, &who))
		return 0;
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(who.org_id), SV_TEXT(http_query(req, "team")),
				SV_INT(api_limit(req, 50, 500))};
	int rc = store_query(app->st, "handoff.list", a, 3, handoff_cb, items);
	if (rc < 0) {
		json_decref(items);
		return api_error(resp, rc, NULL, NULL), 0;
	}
	http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
	return 0;
}

/* ---- the sandbox clock ---- */

/* Only in the demo, or when CAREWIRE_SANDBOX_CLOCK=1: a production server
 * has no way to move its scheduler's time. */
static int sandbox_on(const struct app *app)
{
	const char *e = getenv("CAREWIRE_SANDBOX_CLOCK");
	return app->demo || (e && strcmp(e, "1") == 0);
}

static json_t *clock_json(const struct app *app)
{
	char iso[TIME_ISO_MAX];
	return json_pack("{s:s, s:I}", "now", time_format_iso(sched_now(app->sched), iso),
			 "offset_ms", (json_int_t)sched_offset(app->sched));
}

static int clock_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (!sandbox_on(app))
		return http_reply_error(resp, 404, "not_found", "the sandbox clock is off", NULL),
		       0;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	http_reply_json(resp, 200, clock_json(app));
	return 0;
}

static const struct json_field clock_schema[] = {
    {"advance", JF_STRING, JF_REQUIRED, 2, 32, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static int clock_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (!sandbox_on(app))
		return http_reply_error(resp, 404, "not_found", "the sandbox clock is off", NULL),
		       0;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *body = api_body(req, resp, clock_schema);
	if (!body)
		return 0;
	int64_t ms = 0;
	if (journey_duration(json_str(body, "advance"), &ms) || ms < 0) {
		http_reply_error(resp, 422, "invalid_field",
				 "a positive ISO-8601 duration (\"P1D\", \"PT2H\")", "advance");
	} else {
		sched_advance(app->sched, ms);
		http_reply_json(resp, 200, clock_json(app));
	}
	json_decref(body);
	return 0;
}

const struct http_route api_journeys_routes[] = {
    {"GET", "/api/v1/journeys", journeys_list, 0},
    {"POST", "/api/v1/journeys", journeys_post, 0},
    {"POST", "/api/v1/journeys/check", journeys_check, 0},
    {"POST", "/api/v1/journeys/webhook-secret", webhook_secret, 0},
    {"GET", "/api/v1/journeys/{key}", journey_get, 0},
    {"POST", "/api/v1/journeys/{key}/start", journey_start_post, 0},
    {"POST", "/api/v1/journeys/{key}/pause", journey_pause, 0},
    {"POST", "/api/v1/journeys/{key}/resume", journey_resume, 0},
    {"POST", "/api/v1/journeys/{key}/archive", journey_archive, 0},
    {"GET", "/api/v1/journeys/{key}/stats", journey_stats, 0},
    {"GET", "/api/v1/journeys/{key}/responses", journey_responses, 0},
    {"GET", "/api/v1/journeys/{key}/runs", journey_runs, 0},
    {"GET", "/api/v1/runs", all_runs, 0},
    {"GET", "/api/v1/runs/{id}", run_get, 0},
    {"POST", "/api/v1/runs/{id}/cancel", run_cancel, 0},
    {"GET", "/api/v1/handoffs", handoffs_list, 0},
    {"GET", "/api/v1/sandbox/clock", clock_get, 0},
    {"POST", "/api/v1/sandbox/clock", clock_post, 0},
    {NULL, NULL, NULL, 0},
};
