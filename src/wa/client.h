/*
 * client.h — the Cloud API client: sends request bodies to Meta (or to the
 * simulator) over libcurl's multi interface.
 *
 * Place: src/wa, under core/'s dispatcher. The dispatcher builds a body with
 * wa_msg_encode(), hands it to wa_client_send() with the phone number's id
 * and token, and drives wa_client_poll() from its loop; each finished
 * transfer calls back with a struct wa_send_result: the wamid on success, or
 * the parsed Graph error and its row in the error table (errors.h) that says
 * what to do next.
 *
 *	struct wa_client_config cfg = {.api_version = "v21.0"};
 *	struct wa_client *c = wa_client_new(&cfg);
 *	wa_client_send(c, "1234567890", token, body, on_sent, job);
 *	while (wa_client_pending(c))
 *		wa_client_poll(c, 100);
 *	wa_client_free(c);
 *
 * Connections are kept alive and reused; HTTPS uses HTTP/2 when the server
 * offers it (many requests multiplexed on one connection), plain http:// (a
 * simulator on loopback) uses HTTP/1.1 keep-alive. Every transfer has a
 * connect timeout and a total timeout, so nothing waits forever.
 *
 * Threads: one struct wa_client is used by one thread at a time (every call,
 * callbacks included, happens in the thread that calls wa_client_poll());
 * use one client per dispatcher thread. Several clients may exist at once.
 * A callback may queue more transfers with wa_client_send() / _request(), but
 * must not call wa_client_poll(), the _sync functions or wa_client_free().
 */
#ifndef CW_WA_CLIENT_H
#define CW_WA_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "wa/errors.h"

#define WA_CLIENT_DEFAULT_GRAPH_URL  "https://graph.facebook.com"
#define WA_CLIENT_DEFAULT_VERSION    "v21.0"
#define WA_CLIENT_DEFAULT_CONNECT_MS 5000
#define WA_CLIENT_DEFAULT_TOTAL_MS   30000
#define WA_CLIENT_DEFAULT_INFLIGHT   64
#define WA_CLIENT_DEFAULT_QUEUE	     10000
#define WA_CLIENT_MAX_RESPONSE	     (1024 * 1024) /* a longer answer is an error */
#define WA_CLIENT_MAX_TOKEN	     4096
#define WA_CLIENT_MAX_TEMPLATE_PAGES 100 /* wa_client_list_templates() */

struct wa_client_config {
	const char *graph_url;	 /* NULL: WA_CLIENT_DEFAULT_GRAPH_URL; no trailing '/' needed */
	const char *api_version; /* NULL: WA_CLIENT_DEFAULT_VERSION */
	long connect_timeout_ms; /* 0: WA_CLIENT_DEFAULT_CONNECT_MS */
	long total_timeout_ms;	 /* 0: WA_CLIENT_DEFAULT_TOTAL_MS (includes the connect) */
	int max_inflight;	 /* transfers running at once; 0: WA_CLIENT_DEFAULT_INFLIGHT */
	size_t max_queue;	 /* queued and running together; 0: WA_CLIENT_DEFAULT_QUEUE */
};

/* The outcome of one transfer. Borrowed by a callback: valid until it returns.
 * From the _sync functions: valid until wa_send_result_release(). */
struct wa_send_result {
	int http_status;	    /* 0 when no HTTP answer came */
	int curl_code;		    /* CURLcode; 0 when the transfer itself worked */
	const char *wamid;	    /* messages[0].id, or NULL */
	const char *wa_id;	    /* contacts[0].wa_id, or NULL */
	const char *message_status; /* messages[0].message_status ("accepted"), or NULL */
	struct wa_api_error error;  /* the parsed Graph error body (code 0 when none) */
	/* NULL exactly when the message was accepted (2xx with a wamid; for
	 * wa_client_request(): any 2xx); otherwise the error table's row. */
	const struct wa_err_info *err_info;
	double elapsed_ms;	   /* from the send call to completion, queueing included */
	json_t *body;		   /* the parsed response body, or NULL when not JSON */
	char transport_error[256]; /* libcurl's message when curl_code != 0 */
};

/* Called once per transfer that was queued successfully. */
typedef void (*wa_client_cb)(const struct wa_send_result *r, void *ud);

/* Returns a new client; caller frees with wa_client_free(). NULL when the
 * configuration is invalid (graph_url not http(s), version with a '/') or
 * libcurl fails to initialise. cfg may be NULL (all defaults). */
struct wa_client *wa_client_new(const struct wa_client_config *cfg);

/* Frees c; transfers still queued or running are dropped and their callbacks
 * are never called. Accepts NULL. */
void wa_client_free(struct wa_client *c);

/* Queues POST {graph_url}/{version}/{phone_number_id}/messages with body
 * (serialised now; the caller keeps ownership of body) and
 * "Authorization: Bearer token". cb(ud) is called from a later
 * wa_client_poll(). Returns 0; or CW_EINVAL (bad id, token or body), or
 * CW_ETOOBIG when max_queue transfers are already pending — and then cb is
 * never called. */
int wa_client_send(struct wa_client *c, const char *phone_number_id, const char *token,
		   const json_t *body, wa_client_cb cb, void *ud);

/* Queues a Graph request: method "GET", "POST" or "DELETE"; path starting
 * with '/' after the version ("/123/message_templates?limit=50"); body may be
 * NULL. Same return and callback rules as wa_client_send(); here err_info is
 * NULL for any 2xx answer. */
int wa_client_request(struct wa_client *c, const char *method, const char *path, const char *token,
		      const json_t *body, wa_client_cb cb, void *ud);

/* Drives transfers: starts queued ones up to max_inflight, waits up to
 * timeout_ms for network activity, and calls the callbacks of the transfers
 * that finished. Returns the number of callbacks called (0 at once when
 * nothing is pending), or CW_EIO when libcurl's multi interface fails. */
int wa_client_poll(struct wa_client *c, int timeout_ms);

/* Transfers queued or running. */
size_t wa_client_pending(const struct wa_client *c);

/* wa_client_send() and poll until that transfer finishes (other pending
 * transfers progress and call back meanwhile). Fills *out; caller releases it
 * with wa_send_result_release(). Returns 0 when a result was produced (look at
 * out->err_info), or the error wa_client_send() returned. */
int wa_client_send_sync(struct wa_client *c, const char *phone_number_id, const char *token,
			const json_t *body, struct wa_send_result *out);

/* Releases what a _sync call left in r (its body); r may be used again. */
void wa_send_result_release(struct wa_send_result *r);

/* Synchronous Graph request for template management and the like (see
 * wa_client_request()). On an HTTP answer returns 0 with *status set and *resp
 * a new reference to the parsed body (NULL when it was not JSON; caller
 * json_decref()s it). Returns CW_ETIMEOUT or CW_EUNAVAIL when no answer came,
 * CW_EINVAL for bad arguments. status and resp may be NULL. */
int wa_client_request_sync(struct wa_client *c, const char *method, const char *path,
			   const char *token, const json_t *body, int *status, json_t **resp);

/* Lists a WhatsApp Business Account's message templates:
 * GET /{waba_id}/message_templates, following the paging "after" cursor while
 * the answer has paging.next, for at most WA_CLIENT_MAX_TEMPLATE_PAGES pages.
 * On success returns 0 and *out is a new array of every "data" item (caller
 * json_decref()s it). A non-2xx answer returns CW_EUNAVAIL (5xx, 429),
 * CW_EAUTH (401, 403, or a token error code) or CW_EINVAL, with *api_err
 * filled when not NULL. */
int wa_client_list_templates(struct wa_client *c, const char *waba_id, const char *token,
			     json_t **out, struct wa_api_error *api_err);

#endif
