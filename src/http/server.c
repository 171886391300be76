/*
 * server.c — the HTTP server (see server.h): libmicrohttpd underneath, route
 * tables on top.
 *
 * Place in the architecture: the bottom of http/. Every endpoint (API,
 * webhook receiver, simulator, static files, metrics) is a route table
 * mounted here; this file knows nothing of what the routes do.
 *
 * One request's life, all on the MHD worker thread that owns the connection:
 *  1. uri_log_cb: MHD hands us the raw request target before it decodes it.
 *     We allocate the per-request context here (MHD passes it back as
 *     *con_cls) and keep the raw path, so that path segments are split before
 *     percent-decoding ("%2F" inside an id stays inside the id).
 *  2. access_cb, first call: normalise and match the path; answer 400, 404,
 *     405 or 413 (by Content-Length) at once, before any body is read.
 *  3. access_cb, body calls: append to a buffer bounded by the route's
 *     body_max; past it the rest is counted and dropped (never buffered)
 *     and the answer is 413 without calling the handler.
 *  4. access_cb, last call: call the handler, queue its response.
 *     Or the handler suspends the request (http_suspend): MHD stops
 *     watching the connection, the thread goes on to other connections,
 *     and when http_resume() is called MHD calls access_cb once more,
 *     which runs the handler's continuation and queues its response.
 *  5. completed_cb: access log line, metrics, free the context.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/banned.h"

#define HTTP_MAX_SEGS 64            /* path and pattern segments */
#define HTTP_MAX_THREADS 64
#define HTTP_CONN_LIMIT 1024        /* concurrent connections */
#define HTTP_CONN_TIMEOUT_S 30      /* idle connection timeout */
#define HTTP_CONN_MEMORY (64 * 1024) /* MHD per-connection pool: headers */
#define HTTP_DISCARD_FACTOR 4       /* drop a connection sending > 4x the limit */
#define HTTP_UNMATCHED "(unmatched)"
#define HTTP_DRAIN_WARN_MS 5000     /* shutdown: warn while requests stay suspended */

enum seg_kind { SEG_LIT, SEG_PARAM, SEG_REST };

struct route_seg {
	enum seg_kind kind;
	const char *text; /* literal text or parameter name; points into segmem */
};

struct route_ent {
	const struct http_route *r;
	void *ud;
	char *pattern;  /* prefix + pattern, owned */
	char *segmem;   /* split copy of pattern, owned */
	struct route_seg segs[HTTP_MAX_SEGS];
	int nseg;
	int slot;       /* index into srv->stats */
};

/* Per-route-pattern counters; read by http_server_metrics while workers add. */
struct route_stats {
	char *route; /* owned */
	atomic_ullong by_class[5]; /* 1xx .. 5xx */
	atomic_ullong us_sum;
	atomic_ullong count;
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct sockaddr_storage addr;
	int nthreads;
	int port;
	atomic_int access_log;
	struct route_ent *routes;
	int nroutes, routes_cap;
	struct route_stats *stats;
	int nstats, stats_cap;
	atomic_int stopping;      /* http_server_free has begun: no new suspends */
	atomic_int nsuspended;    /* http_suspend calls not yet resumed */
};

/* A suspended request (http_suspend); lives inside its http_ctx. */
struct http_suspended {
	struct http_server *srv;
	struct MHD_Connection *conn;
	http_resume_fn fn;
	void *ud;
	int result; /* written by http_resume before MHD_resume_connection */
	int active; /* suspended and fn not yet run (connection thread only) */
};

/* Everything one request needs; allocated in uri_log_cb, freed in completed_cb. */
struct http_ctx {
	struct http_server *srv;
	int started;
	int path_too_long;
	int queued;
	int status;
	int too_big;          /* body over the limit: drop the rest, answer 413 */
	size_t body_max;
	unsigned long long bytes_in;
	size_t bytes_out;
	struct timespec t0;
	const struct route_ent *route;
	struct buf body;
	struct http_request req;
	char raw[HTTP_PATH_MAX + 1];      /* path as sent, still encoded */
	char path[HTTP_PATH_MAX + 1];     /* fully decoded path */
	char segdec[HTTP_PATH_MAX + HTTP_MAX_SEGS + 2]; /* decoded segments, NUL-separated */
	char rest[HTTP_PATH_MAX + 1];     /* decoded "{*}" value */
	char remote[INET6_ADDRSTRLEN + 1];
	char method[24];                  /* own copy: outlives MHD's pool in completed_cb */
	const char *segs[HTTP_MAX_SEGS];  /* decoded segments, into segdec */
	size_t segoff[HTTP_MAX_SEGS];     /* where each segment starts in raw */
	int nseg;
	struct http_suspended susp;
};

/* The request whose handler (or continuation) runs on this thread now: the
 * only one http_suspend() accepts. */
static _Thread_local struct http_ctx *tl_handling;

/* ------------------------------------------------------------------ */
/* Small helpers */

static unsigned long long elapsed_us(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long s = (long long)(now.tv_sec - t0->tv_sec);
	long long ns = (long long)(now.tv_nsec - t0->tv_nsec);
	long long us = s * 1000000LL + ns / 1000;
	return us > 0 ? (unsigned long long)us : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of s into out (room for n + 1). Returns the decoded
 * length, or -1 on a bad escape or a decoded NUL byte. */
static long pct_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == '\0')
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

static const char *class_names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

static int find_stats_slot(struct http_server *srv, const char *route)
{
	for (int i = 0; i < srv->nstats; i++)
		if (strcmp(srv->stats[i].route, route) == 0)
			return i;
	if (srv->nstats == srv->stats_cap) {
		int cap = srv->stats_cap ? srv->stats_cap * 2 : 16;
		srv->stats = xrealloc(srv->stats, (size_t)cap * sizeof(*srv->stats));
		srv->stats_cap = cap;
	}
	struct route_stats *st = &srv->stats[srv->nstats];
	memset(st, 0, sizeof(*st));
	st->route = xstrdup(route);
	for (int k = 0; k < 5; k++)
		atomic_init(&st->by_class[k], 0);
	atomic_init(&st->us_sum, 0);
	atomic_init(&st->count, 0);
	return srv->nstats++;
}

/* ------------------------------------------------------------------ */
/* Route tables */

/* Splits a full pattern into segments. Returns 0 or CW_EINVAL. */
static int route_parse(struct route_ent *e)
{
	const char *p = e->pattern;
	if (p[0] != '/')
		return CW_EINVAL;
	e->segmem = xstrdup(p + 1);
	int nparams = 0;
	char *s = e->segmem;
	e->nseg = 0;
	for (;;) {
		if (e->nseg == HTTP_MAX_SEGS)
			return CW_EINVAL;
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		struct route_seg *g = &e->segs[e->nseg++];
		size_t n = strlen(s);
		if (strcmp(s, "{*}") == 0) {
			if (slash) /* only last */
				return CW_EINVAL;
			g->kind = SEG_REST;
			g->text = "*";
			nparams++;
		} else if (n >= 3 && s[0] == '{' && s[n - 1] == '}') {
			s[n - 1] = '\0';
			g->kind = SEG_PARAM;
			g->text = s + 1;
			nparams++;
		} else {
			if (strchr(s, '{') || strchr(s, '}'))
				return CW_EINVAL;
			g->kind = SEG_LIT;
			g->text = s;
		}
		if (!slash)
			break;
		s = slash + 1;
	}
	return nparams > HTTP_MAX_PARAMS ? CW_EINVAL : 0;
}

void http_server_mount_at(struct http_server *srv, const char *prefix,
			  const struct http_route *routes, void *ud)
{
	if (!srv || !routes)
		return;
	if (srv->daemon) { /* the tables are read without locks while serving */
		log_error("http", "mount after start ignored");
		return;
	}
	if (!prefix)
		prefix = "";
	size_t plen = strlen(prefix);
	if (plen && prefix[plen - 1] == '/')
		plen--;
	for (const struct http_route *r = routes; r->pattern; r++) {
		if (!r->handler) {
			log_error("http", "route %s has no handler; skipped", r->pattern);
			continue;
		}
		struct buf full;
		buf_init(&full, HTTP_PATH_MAX);
		if (buf_append(&full, prefix, plen) || buf_puts(&full, r->pattern)) {
			buf_release(&full);
			log_error("http", "route pattern too long; skipped");
			continue;
		}
		struct route_ent e;
		memset(&e, 0, sizeof e);
		e.r = r;
		e.ud = ud;
		e.pattern = buf_detach(&full, NULL);
		if (route_parse(&e)) {
			log_error("http", "bad route pattern %s; skipped", e.pattern);
			free(e.pattern);
			free(e.segmem);
			continue;
		}
		e.slot = find_stats_slot(srv, e.pattern);
		if (srv->nroutes == srv->routes_cap) {
			int cap = srv->routes_cap ? srv->routes_cap * 2 : 32;
			srv->routes = xrealloc(srv->routes, (size_t)cap * sizeof(*srv->routes));
			srv->routes_cap = cap;
		}
		srv->routes[srv->nroutes++] = e;
	}
}

void http_server_mount(struct http_server *srv, const struct http_route *routes, void *ud)
{
	http_server_mount_at(srv, NULL, routes, ud);
}

/* Does the request path (already split in c) match e? Fills c->req params. */
static int route_match_path(const struct route_ent *e, struct http_ctx *c, int fill)
{
	int np = 0;
	for (int i = 0; i < e->nseg; i++) {
		const struct route_seg *g = &e->segs[i];
		if (g->kind == SEG_REST) {
			if (i >= c->nseg)
				return 0;
			if (fill) {
				size_t off = c->segoff[i];
				long n = pct_decode(c->raw + off, strlen(c->raw + off), c->rest);
				if (n < 0)
					return 0;
				c->req.param_names[np] = "*";
				c->req.param_values[np] = c->rest;
			}
			np++;
			if (fill)
				c->req.nparams = np;
			return 1;
		}
		if (i >= c->nseg)
			return 0;
		if (g->kind == SEG_LIT) {
			if (strcmp(g->text, c->segs[i]) != 0)
				return 0;
		} else {
			if (c->segs[i][0] == '\0')
				return 0;
			if (fill) {
				c->req.param_names[np] = g->text;
				c->req.param_values[np] = c->segs[i];
			}
			np++;
		}
	}
	if (e->nseg != c->nseg)
		return 0;
	if (fill)
		c->req.nparams = np;
	return 1;
}

static int method_match(const char *want, const char *got)
{
	if (!want)
		return 1;
	if (strcmp(want, got) == 0)
		return 1;
	/* HEAD is served by GET routes; MHD drops the body. */
	return strcmp(got, "HEAD") == 0 && strcmp(want, "GET") == 0;
}

/* Splits and decodes c->raw. Returns 0 or CW_EINVAL (400). */
static int path_prepare(struct http_ctx *c)
{
	size_t rawlen = strlen(c->raw);
	if (c->path_too_long || rawlen == 0 || c->raw[0] != '/')
		return CW_EINVAL;
	if (pct_decode(c->raw, rawlen, c->path) < 0)
		return CW_EINVAL;
	/* No ".." segment, in the raw or the decoded form ("%2e%2e", "..%2f"). */
	for (const char *p = c->path; p; p = strchr(p, '/')) {
		p++;
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return CW_EINVAL;
	}
	size_t o = 0, start = 1;
	c->nseg = 0;
	for (size_t i = 1; i <= rawlen; i++) {
		if (i < rawlen && c->raw[i] != '/')
			continue;
		if (c->nseg == HTTP_MAX_SEGS)
			return CW_EINVAL;
		long n = pct_decode(c->raw + start, i - start, c->segdec + o);
		if (n < 0)
			return CW_EINVAL;
		c->segs[c->nseg] = c->segdec + o;
		c->segoff[c->nseg] = start;
		c->nseg++;
		o += (size_t)n + 1;
		start = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Responses */

static void resp_init(struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	buf_init(&resp->body, 0);
}

static void resp_release(struct http_response *resp)
{
	buf_release(&resp->body);
	for (int i = 0; i < resp->nheaders; i++) {
		free(resp->header_names[i]);
		free(resp->header_values[i]);
	}
	resp->nheaders = 0;
}

static int resp_has_header(const struct http_response *resp, const char *name)
{
	for (int i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->header_names[i], name) == 0)
			return 1;
	return 0;
}

void http_set_header(struct http_response *resp, const char *name, const char *value)
{
	if (!resp || !name || !value)
		return;
	for (int i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->header_names[i], name) == 0) {
			free(resp->header_values[i]);
			resp->header_values[i] = xstrdup(value);
			return;
		}
	}
	if (resp->nheaders == HTTP_MAX_RESP_HEADERS) {
		log_warn("http", "too many response headers; %s dropped", name);
		return;
	}
	resp->header_names[resp->nheaders] = xstrdup(name);
	resp->header_values[resp->nheaders] = xstrdup(value);
	resp->nheaders++;
}

void http_reply_json(struct http_response *resp, int status, struct json_t *body)
{
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	char *s = body ? json_dump_compact(body) : NULL;
	if (!s || buf_puts(&resp->body, s)) {
		/* Unserialisable or too big: a handler bug, answer 500 in JSON. */
		log_error("http", "response body could not be serialised");
		resp->status = 500;
		buf_reset(&resp->body);
		buf_puts(&resp->body, "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}");
	}
	free(s);
	json_decref(body);
}

void http_reply_error(struct http_response *resp, int status, const char *code,
		      const char *message, const char *field)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(code ? code : "internal"));
	json_object_set_new(err, "message", json_string(message ? message : ""));
	if (field)
		json_object_set_new(err, "field", json_string(field));
	json_t *root = json_object();
	json_object_set_new(root, "error", err);
	http_reply_json(resp, status, root);
}

void http_reply_cw_err(struct http_response *resp, int err, const char *message,
		       const char *field)
{
	http_reply_error(resp, cw_err_http_status(err), cw_err_code(err),
			 message ? message : cw_strerror(err), field);
}

void http_reply_text(struct http_response *resp, int status, const char *content_type,
		     const char *text)
{
	resp->status = status;
	resp->content_type = content_type ? content_type : "text/plain; charset=utf-8";
	buf_reset(&resp->body);
	if (text && buf_puts(&resp->body, text)) {
		log_error("http", "text response too big");
		http_reply_error(resp, 500, "internal", "internal error", NULL);
	}
}

/* Hands resp to MHD. Releases resp whatever happens. */
static enum MHD_Result queue_resp(struct http_ctx *c, struct MHD_Connection *conn,
				  struct http_response *resp)
{
	const char *ct = resp->content_type ? resp->content_type : "application/json";
	size_t len;
	char *data = buf_detach(&resp->body, &len);
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, free);
	if (!r) {
		free(data);
		resp_release(resp);
		return MHD_NO;
	}
	if (!resp_has_header(resp, "Content-Type"))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
	if (strncmp(ct, "application/json", 16) == 0 && !resp_has_header(resp, "Cache-Control"))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	for (int i = 0; i < resp->nheaders; i++)
		if (MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]) != MHD_YES)
			log_warn("http", "response header %s refused", resp->header_names[i]);
	int status = resp->status >= 100 && resp->status <= 599 ? resp->status : 500;
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES) {
		c->queued = 1;
		c->status = status;
		c->bytes_out = len;
	}
	resp_release(resp);
	return ret;
}

static enum MHD_Result queue_error(struct http_ctx *c, struct MHD_Connection *conn, int status,
				   const char *code, const char *message, const char *allow)
{
	struct http_response resp;
	resp_init(&resp);
	http_reply_error(&resp, status, code, message, NULL);
	if (allow)
		http_set_header(&resp, "Allow", allow);
	return queue_resp(c, conn, &resp);
}

/* ------------------------------------------------------------------ */
/* MHD callbacks */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_ctx *c = xcalloc(1, sizeof(*c));
	c->srv = cls;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	buf_init(&c->body, HTTP_BODY_API_MAX);
	size_t n = strcspn(uri ? uri : "", "?#");
	if (n > HTTP_PATH_MAX)
		c->path_too_long = 1;
	else
		memcpy(c->raw, uri, n);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  c->remote, sizeof c->remote);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  c->remote, sizeof c->remote);
	else
		snprintf(c->remote, sizeof c->remote, "-");
	return c;
}

/* First call: route the request. Returns MHD_YES to go on reading the body
 * (c->route set) or the result of queueing an error. */
static enum MHD_Result route_request(struct http_ctx *c, struct MHD_Connection *conn,
				     const char *method)
{
	struct http_server *srv = c->srv;
	snprintf(c->method, sizeof c->method, "%s", method);
	c->req.method = c->method;
	if (path_prepare(c))
		return queue_error(c, conn, 400, "invalid_path", "bad request path", NULL);

	/* First route whose path and method match wins; on the way, collect
	 * the methods of routes whose path alone matched, for a 405's Allow. */
	const char *methods[16];
	int nm = 0;
	const struct route_ent *path_hit = NULL;
	for (int i = 0; i < srv->nroutes && !c->route; i++) {
		const struct route_ent *e = &srv->routes[i];
		if (!route_match_path(e, c, 0))
			continue;
		if (method_match(e->r->method, method)) {
			c->route = e;
			break;
		}
		if (!path_hit)
			path_hit = e;
		int seen = 0;
		for (int k = 0; k < nm; k++)
			seen |= strcmp(methods[k], e->r->method) == 0;
		if (!seen && nm < (int)(sizeof methods / sizeof methods[0]))
			methods[nm++] = e->r->method;
	}
	if (!c->route && path_hit) {
		struct buf allow;
		buf_init(&allow, 256);
		for (int k = 0; k < nm; k++)
			buf_printf(&allow, "%s%s", k ? ", " : "", methods[k]);
		c->route = path_hit; /* counted under its pattern, never called */
		enum MHD_Result r = queue_error(c, conn, 405, "method_not_allowed",
						"method not allowed", allow.data ? allow.data : "");
		buf_release(&allow);
		return r;
	}
	if (!c->route)
		return queue_error(c, conn, 404, "not_found", "no such path", NULL);
	route_match_path(c->route, c, 1);
	c->req.path = c->path;
	c->req.route = c->route->pattern;
	c->req.conn = conn;
	c->req.remote = c->remote;
	c->body_max = c->route->r->body_max ? c->route->r->body_max : HTTP_BODY_API_MAX;
	c->body.max = c->body_max;

	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end = NULL;
		unsigned long long n = strtoull(cl, &end, 10);
		if (end != cl && n > c->body_max)
			return queue_error(c, conn, 413, "too_large", "request body too large", NULL);
	}
	return MHD_YES;
}

static enum MHD_Result run_handler(struct http_ctx *c, struct MHD_Connection *conn)
{
	if (c->body.len) {
		c->req.body = c->body.data;
		c->req.body_len = c->body.len;
	}
	struct http_response resp;
	resp_init(&resp);
	const struct route_ent *e = c->route;
	tl_handling = c;
	int rc = e->r->handler(e->ud, &c->req, &resp);
	tl_handling = NULL;
	if (c->susp.active) { /* the answer comes from the continuation */
		resp_release(&resp);
		return MHD_YES;
	}
	if (rc) {
		resp_release(&resp);
		log_warn("http", "handler for %s failed: %s", e->pattern, cw_strerror(rc));
		return queue_error(c, conn, 500, "internal", "internal error", NULL);
	}
	return queue_resp(c, conn, &resp);
}

/* MHD calls access_cb again once a suspended request was resumed: run the
 * continuation and queue what it answers. */
static enum MHD_Result run_resumed(struct http_ctx *c, struct MHD_Connection *conn)
{
	struct http_suspended s = c->susp;
	c->susp.active = 0;
	struct http_response resp;
	resp_init(&resp);
	tl_handling = c;
	int rc = s.fn(s.ud, s.result, &c->req, &resp);
	tl_handling = NULL;
	if (c->susp.active) { /* suspended again */
		resp_release(&resp);
		return MHD_YES;
	}
	if (rc) {
		resp_release(&resp);
		log_warn("http", "continuation for %s failed: %s", c->route->pattern,
			 cw_strerror(rc));
		return queue_error(c, conn, 500, "internal", "internal error", NULL);
	}
	return queue_resp(c, conn, &resp);
}

struct http_suspended *http_suspend(const struct http_request *req, http_resume_fn fn, void *ud)
{
	struct http_ctx *c = tl_handling;
	if (!c || !req || &c->req != req || !fn || c->susp.active)
		return NULL;
	struct http_server *srv = c->srv;
	/* Counted before the stopping test, and http_server_free sets stopping
	 * before it reads the count (both sequentially consistent): either the
	 * server waits for this request or this request sees it stopping. */
	atomic_fetch_add(&srv->nsuspended, 1);
	if (atomic_load(&srv->stopping)) {
		atomic_fetch_sub(&srv->nsuspended, 1);
		return NULL;
	}
	c->susp = (struct http_suspended){
		.srv = srv, .conn = req->conn, .fn = fn, .ud = ud, .active = 1};
	MHD_suspend_connection(c->susp.conn);
	return &c->susp;
}

void http_resume(struct http_suspended *s, int result)
{
	if (!s)
		return;
	struct http_server *srv = s->srv;
	s->result = result;
	/* From here on the connection's thread may run the continuation and
	 * free s; srv lives until nsuspended is back to 0. */
	MHD_resume_connection(s->conn);
	atomic_fetch_sub(&srv->nsuspended, 1);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	(void)url;
	(void)version;
	struct http_ctx *c = *con_cls;
	if (!c) /* cannot happen with uri_log_cb, but MHD owes us nothing */
		c = *con_cls = uri_log_cb(cls, "", conn);
	if (c->queued) { /* an early answer is on its way; drop whatever comes */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->susp.active)
		return run_resumed(c, conn);
	if (!c->started) {
		c->started = 1;
		return route_request(c, conn, method);
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		c->bytes_in += n;
		if (!c->too_big && buf_append(&c->body, upload_data, n)) {
			c->too_big = 1;
			buf_release(&c->body);
		}
		/* A client that keeps streaming far past the limit is cut off. */
		if (c->too_big && c->bytes_in > (unsigned long long)c->body_max * HTTP_DISCARD_FACTOR)
			return MHD_NO;
		return MHD_YES;
	}
	if (c->too_big)
		return queue_error(c, conn, 413, "too_large", "request body too large", NULL);
	return run_handler(c, conn);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct http_ctx *c = *con_cls;
	*con_cls = NULL;
	if (!c)
		return;
	struct http_server *srv = c->srv;
	if (c->queued) {
		unsigned long long us = elapsed_us(&c->t0);
		int slot = c->route ? c->route->slot : 0;
		struct route_stats *st = &srv->stats[slot];
		int k = c->status / 100 - 1;
		if (k >= 0 && k < 5)
			atomic_fetch_add(&st->by_class[k], 1);
		atomic_fetch_add(&st->us_sum, us);
		atomic_fetch_add(&st->count, 1);
		if (atomic_load(&srv->access_log))
			log_info("http", "access method=%s route=%s status=%d in=%llu out=%zu us=%llu remote=%s",
				 c->req.method ? c->req.method : "-",
				 c->route ? c->route->pattern : "-", c->status, c->bytes_in,
				 c->bytes_out, us, c->remote);
	}
	buf_release(&c->body);
	free(c);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("mhd", "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

/* Parses "host:port", "[v6]:port", ":port". Returns 0 or CW_EINVAL. */
static int parse_listen(const char *listen, struct sockaddr_storage *out)
{
	char host[256];
	const char *port_s;
	if (!listen)
		return CW_EINVAL;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
			return CW_EINVAL;
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof host)
			return CW_EINVAL;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		if (strchr(host, ':'))
			return CW_EINVAL; /* bare IPv6 needs brackets */
		port_s = colon + 1;
	}
	char *end = NULL;
	long port = strtol(port_s, &end, 10);
	if (!*port_s || *end || port < 0 || port > 65535)
		return CW_EINVAL;

	memset(out, 0, sizeof(*out));
	if (host[0] == '\0' || strcmp(host, "*") == 0) { /* every IPv4 address */
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)out;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = htons((uint16_t)port);
		return 0;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return CW_EINVAL;
	/* Prefer the first IPv4 answer for names like "localhost". */
	const struct addrinfo *pick = res;
	for (const struct addrinfo *a = res; a; a = a->ai_next)
		if (a->ai_family == AF_INET) {
			pick = a;
			break;
		}
	if (pick->ai_addrlen <= sizeof(*out))
		memcpy(out, pick->ai_addr, pick->ai_addrlen);
	freeaddrinfo(res);
	if (out->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)out)->sin_port = htons((uint16_t)port);
	else if (out->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)out)->sin6_port = htons((uint16_t)port);
	else
		return CW_EINVAL;
	return 0;
}

struct http_server *http_server_new(const char *listen, int nthreads)
{
	struct sockaddr_storage addr;
	if (parse_listen(listen, &addr)) {
		log_error("http", "bad listen address \"%s\" (want host:port)", listen ? listen : "");
		return NULL;
	}
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	srv->addr = addr;
	srv->nthreads = nthreads < 1 ? 1 : nthreads > HTTP_MAX_THREADS ? HTTP_MAX_THREADS : nthreads;
	atomic_init(&srv->access_log, 1);
	atomic_init(&srv->stopping, 0);
	atomic_init(&srv->nsuspended, 0);
	find_stats_slot(srv, HTTP_UNMATCHED); /* slot 0 */
	return srv;
}

int http_server_start(struct http_server *srv)
{
	if (!srv || srv->daemon)
		return CW_EINVAL;
	unsigned int flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
#ifdef __linux__
	flags |= MHD_USE_EPOLL;
#else
	flags |= MHD_USE_AUTO;
#endif
	uint16_t port;
	if (srv->addr.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)(void *)&srv->addr)->sin6_port);
	} else {
		port = ntohs(((struct sockaddr_in *)(void *)&srv->addr)->sin_port);
	}
	/* One thread is the internal polling thread alone: MHD warns about a
	 * pool of one (or zero), so the pool option is left out then. */
	struct MHD_OptionItem pool[] = {
		{MHD_OPTION_THREAD_POOL_SIZE, srv->nthreads, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	srv->daemon = MHD_start_daemon(
		flags, port, NULL, NULL, access_cb, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, /* first, to catch all */
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr,
		MHD_OPTION_ARRAY, srv->nthreads > 1 ? pool : pool + 1,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
		MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
		MHD_OPTION_END);
	if (!srv->daemon) {
		log_error("http", "cannot listen (address in use or not available)");
		return CW_EIO;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? (int)di->port : (int)port;
	log_info("http", "listening on port %d with %d threads", srv->port, srv->nthreads);
	return 0;
}

int http_server_port(const struct http_server *srv)
{
	return srv ? srv->port : 0;
}

void http_server_set_access_log(struct http_server *srv, int on)
{
	if (srv)
		atomic_store(&srv->access_log, on ? 1 : 0);
}

/* Waits until no request is suspended: MHD must not be stopped with one
 * (microhttpd.h, MHD_suspend_connection). Whatever resumes them (the store's
 * writer) is still running; no new one is suspended once stopping is set. */
static void wait_resumed(struct http_server *srv)
{
	atomic_store(&srv->stopping, 1);
	long waited_ms = 0;
	while (atomic_load(&srv->nsuspended) > 0) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
		if (++waited_ms % HTTP_DRAIN_WARN_MS == 0)
			log_warn("http", "stopping: %d requests still wait for their answer",
				 atomic_load(&srv->nsuspended));
	}
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->daemon) {
		wait_resumed(srv);
		MHD_stop_daemon(srv->daemon);
	}
	for (int i = 0; i < srv->nroutes; i++) {
		free(srv->routes[i].pattern);
		free(srv->routes[i].segmem);
	}
	free(srv->routes);
	for (int i = 0; i < srv->nstats; i++)
		free(srv->stats[i].route);
	free(srv->stats);
	free(srv);
}

/* ------------------------------------------------------------------ */
/* Accessors and metrics */

const char *http_header(const struct http_request *req, const char *name)
{
	if (!req || !req->conn || !name)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
	if (!req || !req->conn || !name)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_param(const struct http_request *req, const char *name)
{
	if (!req || !name)
		return NULL;
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->param_names[i], name) == 0)
			return req->param_values[i];
	return NULL;
}

static void label_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

int http_server_metrics(struct http_server *srv, struct buf *out)
{
	if (!srv || !out)
		return CW_EINVAL;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "# HELP carewire_http_requests_total HTTP requests by route pattern and status class.\n"
		     "# TYPE carewire_http_requests_total counter\n");
	for (int i = 0; i < srv->nstats; i++) {
		struct route_stats *st = &srv->stats[i];
		if (!atomic_load(&st->count))
			continue;
		for (int k = 0; k < 5; k++) {
			unsigned long long n = atomic_load(&st->by_class[k]);
			if (!n)
				continue;
			buf_puts(&b, "carewire_http_requests_total{route=\"");
			label_escape(&b, st->route);
			buf_printf(&b, "\",code=\"%s\"} %llu\n", class_names[k], n);
		}
	}
	buf_puts(&b, "# HELP carewire_http_request_duration_seconds Time from request line to response sent.\n"
		     "# TYPE carewire_http_request_duration_seconds summary\n");
	for (int i = 0; i < srv->nstats; i++) {
		struct route_stats *st = &srv->stats[i];
		unsigned long long n = atomic_load(&st->count);
		if (!n)
			continue;
		unsigned long long us = atomic_load(&st->us_sum);
		buf_puts(&b, "carewire_http_request_duration_seconds_sum{route=\"");
		label_escape(&b, st->route);
		buf_printf(&b, "\"} %llu.%06llu\n", us / 1000000, us % 1000000);
		buf_puts(&b, "carewire_http_request_duration_seconds_count{route=\"");
		label_escape(&b, st->route);
		buf_printf(&b, "\"} %llu\n", n);
	}
	int rc = buf_append(out, b.data, b.len);
	buf_release(&b);
	return rc;
}
