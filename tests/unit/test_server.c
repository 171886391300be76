/*
 * test_server.c — unit tests for http/server and http/static, driven over
 * loopback with libcurl easy handles as the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "http/server.h"
#include "http/static.h"
#include "base/banned.h"

/* ------------------------------------------------------------------ */
/* Handlers */

static atomic_int big_calls;   /* handler calls on the body routes */
static atomic_int echo_calls;

static int h_contact(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	const char *q = http_query(req, "x");
	const char *h = http_header(req, "x-test"); /* sent as X-Test */
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(http_param(req, "id")));
	json_object_set_new(o, "q", q ? json_string(q) : json_null());
	json_object_set_new(o, "h", h ? json_string(h) : json_null());
	json_object_set_new(o, "route", json_string(req->route));
	json_object_set_new(o, "path", json_string(req->path));
	json_object_set_new(o, "np", json_integer(req->nparams));
	http_reply_json(resp, 200, o);
	return 0;
}

static int h_two(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	json_t *o = json_object();
	json_object_set_new(o, "a", json_string(http_param(req, "a")));
	json_object_set_new(o, "b", json_string(http_param(req, "b")));
	json_object_set_new(o, "missing", http_param(req, "zz") ? json_true() : json_false());
	http_reply_json(resp, 201, o);
	return 0;
}

static int h_echo(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	atomic_fetch_add(&echo_calls, 1);
	json_t *o = json_object();
	json_object_set_new(o, "null", req->body ? json_false() : json_true());
	json_object_set_new(o, "len", json_integer((json_int_t)req->body_len));
	json_object_set_new(o, "nul", json_boolean(!req->body || req->body[req->body_len] == '\0'));
	if (req->body)
		json_object_set_new(o, "body", json_stringn(req->body, req->body_len));
	json_object_set_new(o, "method", json_string(req->method));
	http_reply_json(resp, 200, o);
	return 0;
}

static int h_big(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	atomic_fetch_add(&big_calls, 1);
	/* Every byte the client sends is 'a'; check nothing was lost or torn. */
	size_t good = 0;
	for (size_t i = 0; i < req->body_len; i++)
		good += req->body[i] == 'a';
	json_t *o = json_object();
	json_object_set_new(o, "len", json_integer((json_int_t)req->body_len));
	json_object_set_new(o, "good", json_integer((json_int_t)good));
	http_reply_json(resp, 200, o);
	return 0;
}

static int h_fail(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	(void)req;
	http_reply_text(resp, 200, NULL, "half-written, must not be sent");
	http_set_header(resp, "X-Leak", "1");
	return CW_EIO;
}

static int h_phone(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	(void)req;
	http_reply_cw_err(resp, CW_EPHONE, "not a phone number", "phone");
	return 0;
}

static int h_text(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	(void)req;
	http_reply_text(resp, 202, "text/csv", "a,b\n1,2\n");
	http_set_header(resp, "X-One", "1");
	http_set_header(resp, "x-one", "2"); /* replaces, case-insensitively */
	http_set_header(resp, "Cache-Control", "max-age=5");
	return 0;
}

static int h_which(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	http_reply_text(resp, 200, NULL, ud);
	return 0;
}

static int h_metrics(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct buf b;
	buf_init(&b, 0);
	int rc = http_server_metrics(ud, &b);
	if (!rc)
		http_reply_text(resp, 200, "text/plain; version=0.0.4", b.data ? b.data : "");
	buf_release(&b);
	return rc;
}

static const struct http_route api_routes[] = {
	{"GET", "/api/v1/contacts/{id}", h_contact, 0},
	{"POST", "/api/v1/contacts/{a}/consents/{b}", h_two, 0},
	{"PUT", "/api/v1/contacts/{a}/consents/{b}", h_two, 0},
	{"POST", "/echo", h_echo, 0},
	{"PUT", "/echo", h_echo, 0},
	{"POST", "/small", h_big, 0},
	{"POST", "/big", h_big, HTTP_BODY_WEBHOOK_MAX},
	{"GET", "/fail", h_fail, 0},
	{"GET", "/phone", h_phone, 0},
	{"GET", "/text", h_text, 0},
	{NULL},
};

static const struct http_route graph_routes[] = {
	{"GET", "/dup", h_which, 0},
	{"GET", "/v1/{id}", h_contact, 0},
	{"GET", "/files/{*}", h_contact, 0},
	{NULL},
};

static const struct http_route static_routes[] = {
	{"GET", "/static/{*}", http_static_handler, 0},
	{NULL},
};

/* ------------------------------------------------------------------ */
/* Fixture: one server for the whole group, a temporary web root. */

struct fixture {
	struct http_server *srv;
	struct http_static *st;
	char root[128];    /* temp dir; web root is root/web */
	char web[160];
	int port;
};

static struct fixture fx;

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(fx.root, sizeof fx.root, "/tmp/cw_test_server_XXXXXX");
	if (!mkdtemp(fx.root))
		return -1;
	snprintf(fx.web, sizeof fx.web, "%s/web", fx.root);
	mkdir(fx.web, 0700);
	char sub[256];
	snprintf(sub, sizeof sub, "%s/css", fx.web);
	mkdir(sub, 0700);
	write_file(fx.web, "index.html", "<!doctype html><title>cw</title>");
	write_file(fx.web, "app.js", "console.log(1)");
	write_file(fx.web, "mod.mjs", "export {}");
	write_file(fx.web, "data.json", "{\"a\":1}");
	write_file(fx.web, "logo.svg", "<svg/>");
	write_file(fx.web, "logo.png", "PNG");
	write_file(fx.web, "font.woff2", "wOF2");
	write_file(fx.web, "app.js.map", "{}");
	write_file(fx.web, "readme.txt", "hello");
	write_file(fx.web, "favicon.ico", "ico");
	write_file(fx.web, "blob.bin", "bin");
	write_file(fx.web, ".env", "SECRET=1");
	write_file(sub, "site.css", "body{}");
	write_file(fx.root, "secret.txt", "TOP SECRET");
	char link[256], target[256];
	snprintf(link, sizeof link, "%s/escape.txt", fx.web);
	snprintf(target, sizeof target, "%s/secret.txt", fx.root);
	if (symlink(target, link))
		return -1;

	fx.srv = http_server_new("127.0.0.1:0", 4);
	if (!fx.srv)
		return -1;
	http_server_set_access_log(fx.srv, 0);
	fx.st = http_static_new(fx.web);
	if (!fx.st)
		return -1;
	/* One ud per table: h_which answers with its ud as text, h_metrics
	 * reads the server from its ud. */
	static const struct http_route first[] = {
		{"GET", "/dup", h_which, 0},
		{"GET", "/count", h_which, 0},
		{NULL},
	};
	static const struct http_route metrics[] = {
		{"GET", "/metrics", h_metrics, 0},
		{NULL},
	};
	http_server_mount(fx.srv, first, "first");
	http_server_mount(fx.srv, metrics, fx.srv);
	http_server_mount(fx.srv, api_routes, NULL);
	http_server_mount_at(fx.srv, "/graph", graph_routes, "second");
	http_server_mount(fx.srv, graph_routes, "second"); /* its /dup loses to first */
	http_server_mount(fx.srv, static_routes, fx.st);
	if (http_server_start(fx.srv))
		return -1;
	fx.port = http_server_port(fx.srv);
	return fx.port > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	http_server_free(fx.srv);
	http_static_free(fx.st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Client */

struct reply {
	long status;
	struct buf body;
	struct buf headers;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	return buf_append(&r->body, p, size * n) ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	return buf_append(&r->headers, p, size * n) ? 0 : size * n;
}

/* Performs one request on curl (a new handle when NULL). body may be NULL;
 * body_len (size_t)-1 means strlen. Extra header line may be NULL. */
static void req_on(CURL *curl, struct reply *r, const char *method, const char *path,
		   const char *body, size_t body_len, const char *hdr)
{
	int own = curl == NULL;
	if (own)
		curl = curl_easy_init();
	assert_non_null(curl);
	buf_init(&r->body, 0);
	buf_init(&r->headers, 0);
	char url[4096];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx.port, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	struct curl_slist *hl = NULL;
	if (hdr)
		hl = curl_slist_append(hl, hdr);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	int is_head = strcmp(method, "HEAD") == 0;
	if (body || strcmp(method, "POST") == 0) {
		size_t n = !body ? 0 : body_len == (size_t)-1 ? strlen(body) : body_len;
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(curl, CURLOPT_NOBODY, is_head ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
			 is_head || strcmp(method, "GET") == 0 ? NULL : method);
	CURLcode cc = curl_easy_perform(curl);
	if (cc != CURLE_OK)
		fprintf(stderr, "curl: %s %s: %s\n", method, path, curl_easy_strerror(cc));
	assert_int_equal(cc, CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	if (own)
		curl_easy_cleanup(curl);
}

static void req(struct reply *r, const char *method, const char *path, const char *body)
{
	req_on(NULL, r, method, path, body, (size_t)-1, NULL);
}

static void reply_release(struct reply *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

/* The value of response header name (case-insensitive), or "" — copied into out. */
static const char *hdr_of(const struct reply *r, const char *name, char *out, size_t outsz)
{
	out[0] = '\0';
	const char *p = r->headers.data;
	size_t nl = strlen(name);
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = len - (size_t)(v - p);
			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return out;
		}
		p = eol ? eol + 2 : p + len;
	}
	return out;
}

static json_t *body_json(const struct reply *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);
	if (!j)
		fprintf(stderr, "not JSON: %.200s\n", r->body.data ? r->body.data : "");
	assert_non_null(j);
	return j;
}

/* Asserts an error body {"error":{"code":code,...}} and the JSON headers. */
static void assert_error(const struct reply *r, long status, const char *code)
{
	assert_int_equal(r->status, status);
	json_t *j = body_json(r);
	assert_string_equal(json_string_value(json_path(j, "error.code")), code);
	assert_non_null(json_string_value(json_path(j, "error.message")));
	assert_null(json_path(j, "error.field"));
	json_decref(j);
	char v[128];
	assert_string_equal(hdr_of(r, "Content-Type", v, sizeof v), "application/json");
	assert_string_equal(hdr_of(r, "Cache-Control", v, sizeof v), "no-store");
	assert_string_equal(hdr_of(r, "X-Content-Type-Options", v, sizeof v), "nosniff");
}

/* ------------------------------------------------------------------ */
/* Tests */

static void test_listen_parse(void **state)
{
	(void)state;
	log_set_level(LOG_OFF);
	assert_null(http_server_new("nonsense", 1));
	assert_null(http_server_new("127.0.0.1:99999", 1));
	assert_null(http_server_new("127.0.0.1:", 1));
	assert_null(http_server_new("::1:80", 1));
	assert_null(http_server_new(NULL, 1));
	log_set_level(LOG_INFO);
	struct http_server *s = http_server_new("[::1]:0", 2);
	assert_non_null(s);
	http_server_free(s);
	s = http_server_new(":0", 1); /* all IPv4 addresses; not started */
	assert_non_null(s);
	http_server_free(s);
	s = http_server_new("localhost:0", 0);
	assert_non_null(s);
	http_server_free(s);
	http_server_free(NULL);
}

static void test_ipv6(void **state)
{
	(void)state;
	/* Where the sandbox has no IPv6 loopback, starting must fail cleanly. */
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	static const struct http_route r[] = {{"GET", "/x", h_which, 0}, {NULL}};
	if (!ok) {
		struct http_server *none = http_server_new("[::1]:0", 1);
		if (none) {
			http_server_set_access_log(none, 0);
			assert_int_not_equal(http_server_start(none), 0);
		}
		http_server_free(none);
		return;
	}
	struct http_server *s = http_server_new("[::1]:0", 1);
	assert_non_null(s);
	http_server_set_access_log(s, 0);
	http_server_mount(s, r, "six");
	assert_int_equal(http_server_start(s), 0);
	assert_true(http_server_port(s) > 0);
	assert_int_equal(http_server_start(s), CW_EINVAL); /* twice */
	CURL *c = curl_easy_init();
	struct reply rep;
	buf_init(&rep.body, 0);
	buf_init(&rep.headers, 0);
	char url[64];
	snprintf(url, sizeof url, "http://[::1]:%d/x", http_server_port(s));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_string_equal(rep.body.data, "six");
	curl_easy_cleanup(c);
	reply_release(&rep);
	http_server_free(s);
}

static void test_params_query_header(void **state)
{
	(void)state;
	struct reply r;
	req_on(NULL, &r, "GET", "/api/v1/contacts/ab%20c%2Fd?x=1%2B2&y=2", NULL, 0, "X-Test: yes");
	assert_int_equal(r.status, 200);
	json_t *j = body_json(&r);
	assert_string_equal(json_str(j, "id"), "ab c/d"); /* %2F stays inside the segment */
	assert_string_equal(json_str(j, "q"), "1+2");
	assert_string_equal(json_str(j, "h"), "yes");
	assert_string_equal(json_str(j, "route"), "/api/v1/contacts/{id}");
	assert_string_equal(json_str(j, "path"), "/api/v1/contacts/ab c/d");
	json_decref(j);
	char v[64];
	assert_string_equal(hdr_of(&r, "Cache-Control", v, sizeof v), "no-store");
	assert_string_equal(hdr_of(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
	reply_release(&r);

	req(&r, "POST", "/api/v1/contacts/c1/consents/marketing", "{}");
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	assert_string_equal(json_str(j, "a"), "c1");
	assert_string_equal(json_str(j, "b"), "marketing");
	assert_true(json_is_false(json_object_get(j, "missing")));
	json_decref(j);
	reply_release(&r);

	/* An empty segment does not fill a {param}; extra segments do not match. */
	req(&r, "GET", "/api/v1/contacts/", NULL);
	assert_error(&r, 404, "not_found");
	reply_release(&r);
	req(&r, "GET", "/api/v1/contacts/a/b", NULL);
	assert_error(&r, 404, "not_found");
	reply_release(&r);
}

static void test_prefix_mount_and_order(void **state)
{
	(void)state;
	struct reply r;
	req(&r, "GET", "/graph/v1/xyz", NULL);
	assert_int_equal(r.status, 200);
	json_t *j = body_json(&r);
	assert_string_equal(json_str(j, "route"), "/graph/v1/{id}");
	json_decref(j);
	reply_release(&r);

	/* The same table mounted without the prefix also answers. */
	req(&r, "GET", "/v1/xyz", NULL);
	assert_int_equal(r.status, 200);
	reply_release(&r);

	/* Trailing {*} captures the decoded rest, slashes included. */
	req(&r, "GET", "/graph/files/a/b%20c/d.txt", NULL);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "np")), 1);
	assert_string_equal(json_str(j, "route"), "/graph/files/{*}");
	json_decref(j);
	reply_release(&r);

	/* The first mounted table wins on overlap. */
	req(&r, "GET", "/dup", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "first");
	reply_release(&r);
	req(&r, "GET", "/graph/dup", NULL);
	assert_string_equal(r.body.data, "second");
	reply_release(&r);
}

static void test_404_405(void **state)
{
	(void)state;
	struct reply r;
	req(&r, "GET", "/nope", NULL);
	assert_error(&r, 404, "not_found");
	reply_release(&r);

	req(&r, "DELETE", "/api/v1/contacts/c1/consents/x", NULL);
	assert_error(&r, 405, "method_not_allowed");
	char v[64];
	assert_string_equal(hdr_of(&r, "Allow", v, sizeof v), "POST, PUT");
	reply_release(&r);

	req(&r, "GET", "/echo", NULL);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(hdr_of(&r, "Allow", v, sizeof v), "POST, PUT");
	reply_release(&r);

	/* Two tables route GET /dup: Allow names it once. */
	req(&r, "POST", "/dup", NULL);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(hdr_of(&r, "Allow", v, sizeof v), "GET");
	reply_release(&r);

	/* HEAD is answered by GET routes, without a body. */
	req(&r, "HEAD", "/api/v1/contacts/c9", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	reply_release(&r);
}

static void test_bad_paths(void **state)
{
	(void)state;
	struct reply r;
	static const char *bad[] = {
		"/api/../etc/passwd",
		"/static/..",
		"/static/%2e%2e/secret.txt",
		"/static/a%2F..%2Fsecret.txt",
		"/api/v1/contacts/a%00b",
		"/api/v1/contacts/%zz",
		"/api/v1/contacts/%4",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		req(&r, "GET", bad[i], NULL);
		if (r.status != 400)
			fprintf(stderr, "path %s gave %ld\n", bad[i], r.status);
		assert_error(&r, 400, "invalid_path");
		reply_release(&r);
	}
	/* Over HTTP_PATH_MAX. */
	char longp[HTTP_PATH_MAX + 64];
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	req(&r, "GET", longp, NULL);
	assert_error(&r, 400, "invalid_path");
	reply_release(&r);
	/* A segment that merely starts with ".." is not a ".." segment. */
	req(&r, "GET", "/api/v1/contacts/..x", NULL);
	assert_int_equal(r.status, 200);
	reply_release(&r);
}

static void test_bodies(void **state)
{
	(void)state;
	struct reply r;
	int before = atomic_load(&echo_calls);
	req(&r, "POST", "/echo", NULL);
	assert_int_equal(r.status, 200);
	json_t *j = body_json(&r);
	assert_true(json_is_true(json_object_get(j, "null")));
	assert_int_equal(json_integer_value(json_object_get(j, "len")), 0);
	json_decref(j);
	reply_release(&r);

	req(&r, "PUT", "/echo", "{\"k\":\"v\"}");
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_true(json_is_false(json_object_get(j, "null")));
	assert_true(json_is_true(json_object_get(j, "nul")));
	assert_int_equal(json_integer_value(json_object_get(j, "len")), 9);
	assert_string_equal(json_str(j, "body"), "{\"k\":\"v\"}");
	assert_string_equal(json_str(j, "method"), "PUT");
	json_decref(j);
	reply_release(&r);
	assert_int_equal(atomic_load(&echo_calls), before + 2);
}

static void test_body_limits(void **state)
{
	(void)state;
	size_t n = HTTP_BODY_WEBHOOK_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	struct reply r;
	int before = atomic_load(&big_calls);

	/* 2 MB: over the default limit, under the webhook route's 3 MB. */
	size_t two = 2u * 1024 * 1024;
	req_on(NULL, &r, "POST", "/small", big, two, NULL);
	assert_error(&r, 413, "too_large");
	reply_release(&r);
	req_on(NULL, &r, "POST", "/big", big, two, NULL);
	assert_int_equal(r.status, 200);
	json_t *j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "len")), (json_int_t)two);
	assert_int_equal(json_integer_value(json_object_get(j, "good")), (json_int_t)two);
	json_decref(j);
	reply_release(&r);
	/* Exactly at the limit is accepted; one byte over is not. */
	req_on(NULL, &r, "POST", "/big", big, HTTP_BODY_WEBHOOK_MAX, NULL);
	assert_int_equal(r.status, 200);
	reply_release(&r);
	req_on(NULL, &r, "POST", "/big", big, n, NULL);
	assert_error(&r, 413, "too_large");
	reply_release(&r);
	req_on(NULL, &r, "POST", "/small", big, HTTP_BODY_API_MAX + 1, NULL);
	assert_error(&r, 413, "too_large");
	reply_release(&r);
	/* Chunked upload (no Content-Length): caught while streaming. */
	req_on(NULL, &r, "POST", "/small", big, HTTP_BODY_API_MAX + 10, "Transfer-Encoding: chunked");
	assert_error(&r, 413, "too_large");
	reply_release(&r);
	req_on(NULL, &r, "POST", "/small", big, 1000, "Transfer-Encoding: chunked");
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "good")), 1000);
	json_decref(j);
	reply_release(&r);
	/* The handler ran only for the three accepted bodies. */
	assert_int_equal(atomic_load(&big_calls), before + 3);
	free(big);
}

static void test_handler_errors(void **state)
{
	(void)state;
	struct reply r;
	req(&r, "GET", "/fail", NULL);
	assert_error(&r, 500, "internal");
	char v[32];
	assert_string_equal(hdr_of(&r, "X-Leak", v, sizeof v), "");
	reply_release(&r);

	req(&r, "GET", "/phone", NULL);
	assert_int_equal(r.status, 422);
	json_t *j = body_json(&r);
	assert_string_equal(json_string_value(json_path(j, "error.code")), "invalid_phone");
	assert_string_equal(json_string_value(json_path(j, "error.field")), "phone");
	assert_string_equal(json_string_value(json_path(j, "error.message")), "not a phone number");
	json_decref(j);
	reply_release(&r);

	req(&r, "GET", "/text", NULL);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.body.data, "a,b\n1,2\n");
	char ct[64];
	assert_string_equal(hdr_of(&r, "Content-Type", ct, sizeof ct), "text/csv");
	assert_string_equal(hdr_of(&r, "X-One", v, sizeof v), "2");
	assert_string_equal(hdr_of(&r, "Cache-Control", v, sizeof v), "max-age=5");
	assert_string_equal(hdr_of(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
	/* X-One was replaced, not added twice. */
	assert_null(strstr(strstr(r.headers.data, "X-One") + 5, "X-One"));
	reply_release(&r);
}

#define CONC_THREADS 8
#define CONC_REQS 200

static void *conc_worker(void *arg)
{
	long t = (long)(intptr_t)arg;
	long ok = 0;
	CURL *c = curl_easy_init(); /* one handle: keep-alive across requests */
	for (int i = 0; i < CONC_REQS; i++) {
		struct reply r;
		char path[64], want[32];
		snprintf(want, sizeof want, "t%ld-%d", t, i);
		snprintf(path, sizeof path, "/api/v1/contacts/%s", want);
		req_on(c, &r, "GET", path, NULL, 0, NULL);
		json_error_t e;
		json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &e);
		if (r.status == 200 && j && strcmp(json_str_or(j, "id", ""), want) == 0)
			ok++;
		json_decref(j);
		reply_release(&r);
	}
	curl_easy_cleanup(c);
	return (void *)(intptr_t)ok;
}

static void test_concurrent(void **state)
{
	(void)state;
	pthread_t th[CONC_THREADS];
	for (long t = 0; t < CONC_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, conc_worker, (void *)(intptr_t)t), 0);
	long total = 0;
	for (int t = 0; t < CONC_THREADS; t++) {
		void *ret;
		pthread_join(th[t], &ret);
		total += (long)(intptr_t)ret;
	}
	assert_int_equal(total, CONC_THREADS * CONC_REQS);
}

static void test_static(void **state)
{
	(void)state;
	static const struct {
		const char *path, *type;
	} ok[] = {
		{"/static/", "text/html; charset=utf-8"},
		{"/static/index.html", "text/html; charset=utf-8"},
		{"/static/app.js", "text/javascript; charset=utf-8"},
		{"/static/mod.mjs", "text/javascript; charset=utf-8"},
		{"/static/css/site.css", "text/css; charset=utf-8"},
		{"/static/data.json", "application/json"},
		{"/static/logo.svg", "image/svg+xml"},
		{"/static/logo.png", "image/png"},
		{"/static/favicon.ico", "image/x-icon"},
		{"/static/font.woff2", "font/woff2"},
		{"/static/app.js.map", "application/json"},
		{"/static/readme.txt", "text/plain; charset=utf-8"},
		{"/static/blob.bin", "application/octet-stream"},
	};
	struct reply r;
	char v[128];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		req(&r, "GET", ok[i].path, NULL);
		if (r.status != 200)
			fprintf(stderr, "%s gave %ld\n", ok[i].path, r.status);
		assert_int_equal(r.status, 200);
		assert_string_equal(hdr_of(&r, "Content-Type", v, sizeof v), ok[i].type);
		reply_release(&r);
	}
	req(&r, "GET", "/static/", NULL);
	assert_string_equal(r.body.data, "<!doctype html><title>cw</title>");
	assert_string_equal(hdr_of(&r, "Cache-Control", v, sizeof v), "no-cache");
	reply_release(&r);
	req(&r, "GET", "/static/css/site.css", NULL);
	assert_string_equal(r.body.data, "body{}");
	reply_release(&r);

	/* Missing, hidden, and a symlink that leads outside the root: 404. */
	static const char *nf[] = {"/static/missing.js", "/static/.env", "/static/escape.txt",
				   "/static/css/", "/static/css//site.css"};
	for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
		req(&r, "GET", nf[i], NULL);
		if (r.status != 404)
			fprintf(stderr, "%s gave %ld\n", nf[i], r.status);
		assert_error(&r, 404, "not_found");
		assert_null(strstr(r.body.data, "SECRET"));
		reply_release(&r);
	}
}

static void test_static_direct(void **state)
{
	(void)state;
	/* The handler defends itself even if a router let ".." through. */
	struct http_request rq;
	memset(&rq, 0, sizeof rq);
	rq.method = "GET";
	rq.path = "/x";
	rq.nparams = 1;
	rq.param_names[0] = "*";
	static const char *bad[] = {"../secret.txt", "css/../../secret.txt", "/../secret.txt",
				    "./index.html"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_response resp;
		memset(&resp, 0, sizeof resp);
		buf_init(&resp.body, 0);
		rq.param_values[0] = bad[i];
		assert_int_equal(http_static_handler(fx.st, &rq, &resp), 0);
		assert_int_equal(resp.status, 404);
		assert_null(strstr(resp.body.data, "SECRET"));
		buf_release(&resp.body);
	}
	/* Without a "{*}" parameter the request path names the file. */
	struct http_response resp;
	memset(&resp, 0, sizeof resp);
	buf_init(&resp.body, 0);
	rq.nparams = 0;
	rq.path = "/readme.txt";
	assert_int_equal(http_static_handler(fx.st, &rq, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.data, "hello");
	buf_release(&resp.body);

	assert_null(http_static_new("/nonexistent/dir/for/sure"));
	http_static_free(NULL);
	assert_string_equal(http_static_content_type("a/b.WOFF2"), "font/woff2");
	assert_string_equal(http_static_content_type(".js"), "application/octet-stream");
	assert_string_equal(http_static_content_type("noext"), "application/octet-stream");
}

/* The count line for route and class in metrics text, or -1. */
static long metric_count(const char *text, const char *route, const char *cls)
{
	char key[256];
	snprintf(key, sizeof key, "carewire_http_requests_total{route=\"%s\",code=\"%s\"} ", route, cls);
	const char *p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void test_metrics(void **state)
{
	(void)state;
	struct reply r;
	for (int i = 0; i < 3; i++) {
		req(&r, "GET", "/count", NULL);
		assert_int_equal(r.status, 200);
		reply_release(&r);
	}
	req(&r, "GET", "/count/none", NULL); /* unmatched */
	reply_release(&r);
	req(&r, "POST", "/count", NULL); /* 405 counted under the pattern */
	reply_release(&r);
	/* Completion (and counting) may trail the reply by a moment. */
	long n2 = -1, n4 = -1, un = -1;
	for (int tries = 0; tries < 100; tries++) {
		req(&r, "GET", "/metrics", NULL);
		assert_int_equal(r.status, 200);
		n2 = metric_count(r.body.data, "/count", "2xx");
		n4 = metric_count(r.body.data, "/count", "4xx");
		un = metric_count(r.body.data, "(unmatched)", "4xx");
		int has_sum = strstr(r.body.data, "carewire_http_request_duration_seconds_count{route=\"/count\"} 4") != NULL;
		reply_release(&r);
		if (n2 == 3 && n4 == 1 && un >= 1 && has_sum)
			break;
		usleep(10000);
	}
	assert_int_equal(n2, 3);
	assert_int_equal(n4, 1);
	assert_true(un >= 1);
	assert_int_equal(metric_count("", "/count", "2xx"), -1);
}

static void test_access_log(void **state)
{
	(void)state;
	char logpath[200];
	snprintf(logpath, sizeof logpath, "%s/access.log", fx.root);
	int fd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	close(fd);
	http_server_set_access_log(fx.srv, 1);

	struct reply r;
	req(&r, "GET", "/api/v1/contacts/+972521234567?phone=+972529999999", NULL);
	assert_int_equal(r.status, 200);
	reply_release(&r);

	char text[4096] = "";
	for (int tries = 0; tries < 200 && !strstr(text, "access"); tries++) {
		usleep(10000);
		FILE *f = fopen(logpath, "r");
		size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
		text[n] = '\0';
		if (f)
			fclose(f);
	}
	http_server_set_access_log(fx.srv, 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	assert_non_null(strstr(text, "\"level\":\"info\""));
	assert_non_null(strstr(text, "method=GET"));
	assert_non_null(strstr(text, "route=/api/v1/contacts/{id}"));
	assert_non_null(strstr(text, "status=200"));
	assert_non_null(strstr(text, "us="));
	assert_non_null(strstr(text, "remote=127.0.0.1"));
	assert_null(strstr(text, "97252")); /* neither the path id nor the query */
	assert_null(strstr(text, "phone="));
}

/* ------------------------------------------------------------------ */
/* Suspended requests (http_suspend / http_resume), on servers of their own
 * with one worker thread: a suspended request must not hold it. */

#define SUSP_N 16

struct susp_shared {
	pthread_mutex_t mu;
	struct http_suspended *waiting[SUSP_N];
	int nwaiting;
	atomic_int handled;      /* handler calls */
	atomic_int answered;     /* continuation calls */
	atomic_int resumed_late; /* shutdown test: http_resume was called */
	atomic_int twice;        /* a second http_suspend of one request worked */
};

static struct susp_shared sx = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The continuation: answers with the result and the body, which must still
 * be there after the wait. */
static int c_answer(void *ud, int result, const struct http_request *req,
		    struct http_response *resp)
{
	(void)ud;
	atomic_fetch_add(&sx.answered, 1);
	if (result == -999)
		return CW_EIO; /* a failing continuation: 500 */
	json_t *o = json_object();
	json_object_set_new(o, "result", json_integer(result));
	json_object_set_new(o, "body", req->body ? json_stringn(req->body, req->body_len)
						 : json_null());
	json_object_set_new(o, "route", json_string(req->route));
	http_reply_json(resp, 200, o);
	return 0;
}

/* Parks the request until a test resumes it. */
static int h_park(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	http_reply_text(resp, 200, NULL, "must not be sent");
	struct http_suspended *s = http_suspend(req, c_answer, NULL);
	if (!s)
		return CW_EINTERNAL;
	if (http_suspend(req, c_answer, NULL)) /* once per request */
		atomic_store(&sx.twice, 1);
	pthread_mutex_lock(&sx.mu);
	sx.waiting[sx.nwaiting++] = s;
	pthread_mutex_unlock(&sx.mu);
	atomic_fetch_add(&sx.handled, 1);
	return 0;
}

/* Suspends and resumes at once, from inside the handler. */
static int h_now(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	(void)resp;
	struct http_suspended *s = http_suspend(req, c_answer, NULL);
	if (!s)
		return CW_EINTERNAL;
	const char *r = http_query(req, "r");
	http_resume(s, r ? (int)strtol(r, NULL, 10) : 7);
	return CW_EIO; /* ignored once suspended */
}

/* A continuation that suspends again and is resumed at once. */
static int c_again(void *ud, int result, const struct http_request *req,
		   struct http_response *resp)
{
	(void)ud;
	(void)resp;
	struct http_suspended *s = http_suspend(req, c_answer, NULL);
	if (!s)
		return CW_EINTERNAL;
	http_resume(s, result + 1);
	return 0;
}

static int h_again(void *ud, const struct http_request *req, struct http_response *resp)
{
	(void)ud;
	(void)resp;
	struct http_suspended *s = http_suspend(req, c_again, NULL);
	if (!s)
		return CW_EINTERNAL;
	http_resume(s, 40);
	return 0;
}

static const struct http_route susp_routes[] = {
	{"POST", "/park", h_park, 0},
	{"GET", "/now", h_now, 0},
	{"GET", "/again", h_again, 0},
	{NULL},
};

struct plain_reply {
	int port;
	const char *method, *path, *body;
	long status;
	char text[512];
	CURLcode cc;
};

/* One request that tolerates failure (for the shutdown test). */
static void *plain_request(void *arg)
{
	struct plain_reply *p = arg;
	struct reply r;
	CURL *curl = curl_easy_init();
	char url[256];
	buf_init(&r.body, 0);
	buf_init(&r.headers, 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, p->path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	if (p->body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p->body);
	p->cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &p->status);
	snprintf(p->text, sizeof p->text, "%.*s", (int)r.body.len, r.body.data ? r.body.data : "");
	curl_easy_cleanup(curl);
	reply_release(&r);
	return NULL;
}

static long long result_of(const struct plain_reply *p)
{
	json_error_t e;
	long long v = -1;
	json_t *j = json_loads(p->text, 0, &e);
	assert_non_null(j);
	assert_int_equal(json_int(j, "result", &v), 0);
	json_decref(j);
	return v;
}

static struct http_server *susp_server(int *port)
{
	log_set_level(LOG_OFF);
	struct http_server *srv = http_server_new("127.0.0.1:0", 1);
	assert_non_null(srv);
	http_server_set_access_log(srv, 0);
	http_server_mount(srv, susp_routes, NULL);
	assert_int_equal(http_server_start(srv), 0);
	*port = http_server_port(srv);
	return srv;
}

static void susp_reset(void)
{
	sx.nwaiting = 0;
	atomic_store(&sx.handled, 0);
	atomic_store(&sx.answered, 0);
	atomic_store(&sx.resumed_late, 0);
	atomic_store(&sx.twice, 0);
}

/* SUSP_N requests are all suspended at once on a server with one worker
 * thread (so none holds it), then resumed from another thread; each gets its
 * own result and body back. */
static void test_suspend_many_one_thread(void **state)
{
	(void)state;
	int port;
	susp_reset();
	struct http_server *srv = susp_server(&port);
	struct plain_reply rep[SUSP_N];
	char bodies[SUSP_N][16];
	pthread_t th[SUSP_N];
	for (int i = 0; i < SUSP_N; i++) {
		snprintf(bodies[i], sizeof bodies[i], "body-%d", i);
		rep[i] = (struct plain_reply){.port = port, .path = "/park", .body = bodies[i]};
		assert_int_equal(pthread_create(&th[i], NULL, plain_request, &rep[i]), 0);
	}
	for (int i = 0; i < 1000 && atomic_load(&sx.handled) < SUSP_N; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&sx.handled), SUSP_N);
	assert_int_equal(atomic_load(&sx.answered), 0);
	pthread_mutex_lock(&sx.mu);
	for (int i = 0; i < sx.nwaiting; i++)
		http_resume(sx.waiting[i], 100 + i); /* the order of arrival, not of i */
	pthread_mutex_unlock(&sx.mu);
	int seen[SUSP_N] = {0};
	for (int i = 0; i < SUSP_N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rep[i].cc, CURLE_OK);
		assert_int_equal(rep[i].status, 200);
		json_error_t e;
		json_t *j = json_loads(rep[i].text, 0, &e);
		assert_non_null(j);
		assert_string_equal(json_str_or(j, "body", ""), bodies[i]);
		assert_string_equal(json_str_or(j, "route", ""), "/park");
		long long res = -1;
		assert_int_equal(json_int(j, "result", &res), 0);
		assert_true(res >= 100 && res < 100 + SUSP_N);
		seen[res - 100]++;
		json_decref(j);
	}
	for (int i = 0; i < SUSP_N; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(atomic_load(&sx.answered), SUSP_N);
	assert_int_equal(atomic_load(&sx.twice), 0);
	http_server_free(srv);
}

/* Resumed from inside the handler; suspended again by the continuation; a
 * failing continuation is a 500; outside a handler nothing suspends. */
static void test_suspend_inline_and_errors(void **state)
{
	(void)state;
	int port;
	susp_reset();
	struct http_server *srv = susp_server(&port);
	struct plain_reply p = {.port = port, .path = "/now?r=7"};
	plain_request(&p);
	assert_int_equal(p.status, 200);
	assert_int_equal(result_of(&p), 7);
	p = (struct plain_reply){.port = port, .path = "/again"};
	plain_request(&p);
	assert_int_equal(p.status, 200);
	assert_int_equal(result_of(&p), 41);
	p = (struct plain_reply){.port = port, .path = "/now?r=-999"};
	plain_request(&p);
	assert_int_equal(p.status, 500);
	assert_non_null(strstr(p.text, "\"internal\""));

	struct http_request fake;
	memset(&fake, 0, sizeof fake);
	assert_null(http_suspend(&fake, c_answer, NULL));
	assert_null(http_suspend(NULL, c_answer, NULL));
	http_resume(NULL, 0); /* accepted, does nothing */
	http_server_free(srv);
}

static void *late_resumer(void *arg)
{
	(void)arg;
	usleep(300000);
	pthread_mutex_lock(&sx.mu);
	atomic_store(&sx.resumed_late, 1);
	http_resume(sx.waiting[0], 1);
	pthread_mutex_unlock(&sx.mu);
	return NULL;
}

/* http_server_free waits for a suspended request to be resumed (MHD must
 * not be stopped with one suspended) and then stops cleanly. */
static void test_free_waits_for_suspended(void **state)
{
	(void)state;
	int port;
	susp_reset();
	struct http_server *srv = susp_server(&port);
	struct plain_reply p = {.port = port, .path = "/park", .body = "late"};
	pthread_t client, resumer;
	assert_int_equal(pthread_create(&client, NULL, plain_request, &p), 0);
	for (int i = 0; i < 1000 && atomic_load(&sx.handled) < 1; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&sx.handled), 1);
	assert_int_equal(pthread_create(&resumer, NULL, late_resumer, NULL), 0);
	http_server_free(srv);
	assert_int_equal(atomic_load(&sx.resumed_late), 1);
	pthread_join(resumer, NULL);
	pthread_join(client, NULL); /* answered, or cut off by the stop */
	assert_true(p.cc != CURLE_OK || p.status == 200);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_params_query_header),
		cmocka_unit_test(test_prefix_mount_and_order),
		cmocka_unit_test(test_404_405),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_handler_errors),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_static_direct),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_suspend_many_one_thread),
		cmocka_unit_test(test_suspend_inline_and_errors),
		cmocka_unit_test(test_free_waits_for_suspended),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	curl_global_cleanup();
	return rc;
}
