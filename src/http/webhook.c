/*
 * webhook.c — the endpoints Meta calls: GET /webhooks/whatsapp (the
 * subscription handshake) and POST /webhooks/whatsapp (events), plus
 * /healthz and /metrics.
 *
 * POST: the X-Hub-Signature-256 header must be the HMAC-SHA256 of the raw
 * body under the app secret (constant-time compare); missing or wrong → 401
 * and nothing is stored. A good one is made durable (core/ingest) before the
 * 200: Meta retries anything else, and the ingest dedupes what it retries.
 *
 * The wait for durability holds no thread: the request is suspended
 * (http_suspend), the body queued for the next group commit
 * (ingest_accept_async), and the store's writer resumes the request after
 * the COMMIT; the 200 or 503 is then sent from the connection's thread. So
 * the webhooks waiting for one fsync are bounded by connections, not by
 * [server] threads. See docs/decisions.md, "Webhook ingest performance".
 */
#include "http/routes.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/sec.h"
#include "core/conversation.h"
#include "core/dispatch.h"
#include "core/ingest.h"
#include "store/store.h"
#include "base/banned.h"

static int verify_get(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	const char *mode = http_query(req, "hub.mode");
	const char *token = http_query(req, "hub.verify_token");
	const char *challenge = http_query(req, "hub.challenge");
	const char *want = app->cfg->whatsapp.verify_token;
	if (!mode || strcmp(mode, "subscribe") != 0 || !challenge) {
		http_reply_error(resp, 400, "invalid_field",
				 "hub.mode=subscribe and hub.challenge are required", "hub.mode");
		return 0;
	}
	if (!want || !token || sec_streq(token, want) != 0) {
		http_reply_error(resp, 403, "forbidden", "the verify token does not match",
				 "hub.verify_token");
		return 0;
	}
	http_reply_text(resp, 200, "text/plain", challenge);
	return 0;
}

/* The answer once the body is durable (rc 0) or could not be stored. */
static int post_stored(void *ud, int rc, const struct http_request *req,
		       struct http_response *resp)
{
	(void)ud;
	(void)req;
	if (rc) {
		log_error("webhook", "could not store a webhook body: %s", cw_strerror(rc));
		http_reply_error(resp, 503, "unavailable", "the event could not be stored; retry",
				 NULL);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain", "EVENT_RECEIVED");
	return 0;
}

/* On the store's writer thread, after the commit: hand the result over. */
static void body_durable(void *ud, int rc)
{
	http_resume(ud, rc);
}

static int receive_post(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	const char *secret = app->cfg->whatsapp.app_secret;
	const char *sig = http_header(req, "X-Hub-Signature-256");
	if (!req->body || req->body_len == 0) {
		http_reply_error(resp, 400, "invalid_json", "the body is empty", "body");
		return 0;
	}
	if (!secret || !*secret) {
		log_error("webhook", "[whatsapp] app_secret is not set: refusing webhooks");
		http_reply_error(resp, 503, "unavailable", "webhooks are not configured", NULL);
		return 0;
	}
	if (!sig || sec_verify_hub_signature(sig, secret, req->body, req->body_len) != 0) {
		http_reply_error(resp, 401, "invalid_signature",
				 "X-Hub-Signature-256 is missing or does not match the body",
				 "X-Hub-Signature-256");
		return 0;
	}
	/* Signed but not JSON: refuse it rather than keep what cannot be read. */
	json_error_t je;
	json_t *probe = json_loadb(req->body, req->body_len, 0, &je);
	int is_obj = json_is_object(probe);
	json_decref(probe);
	if (!is_obj) {
		http_reply_error(resp, 400, "invalid_json", "the body is not a JSON object", "body");
		return 0;
	}
	struct http_suspended *s = http_suspend(req, post_stored, app);
	if (s) {
		int rc = ingest_accept_async(app->ingest, req->body, req->body_len, sig, body_durable, s);
		if (rc)
			http_resume(s, rc); /* post_stored answers 503 */
		return 0;
	}
	return post_stored(app, ingest_accept(app->ingest, req->body, req->body_len, sig, NULL),
			   req, resp);
}

static int healthz(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	(void)req;
	int64_t v = 0;
	int rc = store_query_int(app->st, "health.ping", NULL, 0, &v);
	json_t *o = json_pack("{s:s, s:s, s:i}", "status", rc ? "degraded" : "ok", "store",
			      rc ? "unavailable" : store_backend_name(app->st), "schema",
			      store_schema_version(app->st));
	http_reply_json(resp, rc ? 503 : 200, o);
	return 0;
}

static int metrics(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	(void)req;
	struct ingest_stats is;
	struct store_stats ss;
	ingest_get_stats(app->ingest, &is);
	store_get_stats(app->st, &ss);
	struct buf *b = &resp->body;
	buf_printf(b, "# TYPE carewire_webhooks_accepted_total counter\n"
		      "carewire_webhooks_accepted_total %llu\n"
		      "# TYPE carewire_webhooks_processed_total counter\n"
		      "carewire_webhooks_processed_total %llu\n"
		      "carewire_webhooks_failed_bodies_total %llu\n"
		      "carewire_webhook_events_total %llu\n"
		      "carewire_webhook_rejected_items_total %llu\n"
		      "carewire_webhook_duplicates_total %llu\n"
		      "# TYPE carewire_store_commits_total counter\n"
		      "carewire_store_commits_total %llu\n"
		      "carewire_store_writes_total %llu\n"
		      "carewire_store_write_errors_total %llu\n",
		   (unsigned long long)is.accepted, (unsigned long long)is.processed,
		   (unsigned long long)is.failed_bodies, (unsigned long long)is.events,
		   (unsigned long long)is.rejected_items, (unsigned long long)is.duplicates,
		   (unsigned long long)ss.commits, (unsigned long long)ss.writes,
		   (unsigned long long)ss.write_errors);
	conversation_metrics(app->st, b);
	dispatch_metrics(app->dispatch, b);
	if (routes_server())
		http_server_metrics(routes_server(), b);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	return 0;
}

const struct http_route webhook_routes[] = {
	{"GET", "/webhooks/whatsapp", verify_get, 0},
	{"POST", "/webhooks/whatsapp", receive_post, HTTP_BODY_WEBHOOK_MAX},
	{"GET", "/healthz", healthz, 0},
	{"GET", "/metrics", metrics, 0},
	{NULL, NULL, NULL, 0},
};
