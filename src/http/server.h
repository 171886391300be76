/*
 * server.h — carewire's HTTP server on libmicrohttpd, driven by route tables.
 *
 * A route is a row: method, path pattern ("/api/v1/contacts/{id}"), body
 * limit and handler. The server reads the whole body (up to the route's
 * limit; over it the client gets 413 with a JSON error and the handler is
 * never called), matches the route, calls the handler on one of a pool of
 * threads, and sends the response the handler filled in. Unknown paths get
 * 404 and wrong methods 405, both as JSON errors. Each request is written to
 * the JSON-lines access log with method, route pattern (not the raw path, so
 * no ids or phone numbers), status, bytes and microseconds.
 *
 * Several route tables can be mounted on one server (the API, the webhook
 * receiver, the simulator, static files), each with its own user data.
 */
#ifndef CW_HTTP_SERVER_H
#define CW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_RESP_HEADERS 12
#define HTTP_BODY_WEBHOOK_MAX (3u * 1024 * 1024)
#define HTTP_BODY_API_MAX (1u * 1024 * 1024)
/* Longer request paths (before the query string) get 400. */
#define HTTP_PATH_MAX 2048

struct http_server;

struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* decoded path without the query string */
	const char *body;   /* NUL-terminated copy; NULL when there is none */
	size_t body_len;
	const char *route;  /* the matched pattern */
	int nparams;
	const char *param_names[HTTP_MAX_PARAMS];
	const char *param_values[HTTP_MAX_PARAMS]; /* URL-decoded */
	void *conn;          /* private: the MHD connection */
	const char *remote;  /* client address as text */
};

struct http_response {
	int status;
	const char *content_type; /* static string; default application/json */
	struct buf body;
	int nheaders;
	char *header_names[HTTP_MAX_RESP_HEADERS];
	char *header_values[HTTP_MAX_RESP_HEADERS];
};

/* The handler gets resp with status 200, content_type NULL (sent as
 * application/json), an empty body and no headers. Returns 0 after filling
 * resp (any status); non-zero means 500 (resp is then discarded). */
typedef int (*http_handler_fn)(void *ud, const struct http_request *req,
			       struct http_response *resp);

struct http_route {
	const char *method;  /* NULL matches any method */
	const char *pattern; /* "/api/v1/contacts/{id}"; a trailing "*" matches any rest:
				"/static/{*}" gives param "*". {name} matches one
				non-empty segment; {*} may be empty. */
	http_handler_fn handler;
	size_t body_max;     /* 0: HTTP_BODY_API_MAX */
};

/* Creates a server that will listen on "host:port" ("127.0.0.1:8080", port 0
 * picks a free one) with nthreads worker threads. Returns a new server
 * (caller frees with http_server_free()) or NULL with a log line. */
struct http_server *http_server_new(const char *listen, int nthreads);
/* Adds a table of routes (terminated by a row with pattern NULL); earlier
 * tables win on overlap. The table and ud are borrowed for the server's life.
 * Mount every table before http_server_start(); later mounts are refused. */
void http_server_mount(struct http_server *srv, const struct http_route *routes, void *ud);
/* The same with every pattern of the table prefixed by prefix ("/graph"). */
void http_server_mount_at(struct http_server *srv, const char *prefix,
			  const struct http_route *routes, void *ud);
/* Starts listening and serving in the background. Returns 0 or CW_EIO
 * (CW_EINVAL when already started). */
int http_server_start(struct http_server *srv);
/* The port actually bound (after start). */
int http_server_port(const struct http_server *srv);
/* Stops and frees, after every suspended request was resumed (so whatever
 * resumes them, the store's writer say, must still be running). Accepts
 * NULL. */
void http_server_free(struct http_server *srv);
/* Turns the per-request access log line on (the default) or off. */
void http_server_set_access_log(struct http_server *srv, int on);
/* Appends the per-route counters to out as Prometheus text:
 * carewire_http_requests_total{route="<pattern>",code="2xx"} N and
 * carewire_http_request_duration_seconds_sum/_count{route="<pattern>"}.
 * Requests that matched no route are counted under route="(unmatched)".
 * Returns 0 or CW_ETOOBIG when out is full. */
int http_server_metrics(struct http_server *srv, struct buf *out);

/* Answering later. A handler that waits for something slow (a write to be
 * durable) need not hold its thread while it waits: it calls http_suspend(),
 * starts the work, and returns 0 at once (its resp and return value are then
 * ignored). When the work is done, any thread calls http_resume() exactly
 * once with a result; the server then calls fn(ud, result, req, resp) on the
 * connection's thread, which fills resp as a handler would (return 0, or
 * non-zero for a 500) and may even suspend again. req, its body and its
 * headers stay valid until fn returns. A suspended request holds no thread,
 * so thousands can wait for one group commit; it is not timed out meanwhile.
 *
 *	static void stored(void *ud, int rc) { http_resume(ud, rc); }
 *	static int answer(void *ud, int rc, const struct http_request *req,
 *			  struct http_response *resp) { ...200 or 503 from rc... }
 *	...in the handler:
 *	struct http_suspended *s = http_suspend(req, answer, app);
 *	if (s && start_write(..., stored, s) != 0)
 *		http_resume(s, CW_EIO);   (resumes at once; answer() says 503)
 *	if (!s) ...do it synchronously...
 *
 * http_suspend() returns NULL when req cannot be suspended: it is not the
 * request of the handler running on this thread (a handler called directly,
 * as tests do), or the server is stopping. The handler then answers the
 * usual way. http_server_free() waits until every suspended request has been
 * resumed. */
struct http_suspended;
typedef int (*http_resume_fn)(void *ud, int result, const struct http_request *req,
			      struct http_response *resp);
struct http_suspended *http_suspend(const struct http_request *req, http_resume_fn fn, void *ud);
/* Resumes s (from any thread, exactly once); result is handed to its fn.
 * s is gone when this returns. */
void http_resume(struct http_suspended *s, int result);

/* Request accessors. Borrowed, valid for the handler call. */
const char *http_header(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);
const char *http_param(const struct http_request *req, const char *name);

/* Response helpers. */
void http_set_header(struct http_response *resp, const char *name, const char *value);
/* Sets status and a JSON body (takes ownership of the json_t reference). */
struct json_t;
void http_reply_json(struct http_response *resp, int status, struct json_t *body);
/* {"error":{"code":code,"message":message,"field":field}}; field may be NULL. */
void http_reply_error(struct http_response *resp, int status, const char *code,
		      const char *message, const char *field);
/* The same from a cw_err (status and code from the error table). */
void http_reply_cw_err(struct http_response *resp, int err, const char *message,
		       const char *field);
void http_reply_text(struct http_response *resp, int status, const char *content_type,
		     const char *text);

#endif
