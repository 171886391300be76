/*
 * test_client.c — unit tests for wa/client against a small Cloud API
 * stand-in (libmicrohttpd, thread per connection) on 127.0.0.1, port 0.
 *
 * The responder answers by phone number id: OK (200 with Meta's example
 * body shape), BAD (400 with a 131009 error body), WINDOW (400, 131047),
 * RATE (429 with Meta's documented 130429 body), RATE0 (429, empty body),
 * HTML (502, not JSON), SLOW (sleeps past the client's total timeout), CONC
 * (sleeps 100 ms and counts how many requests it holds at once). A wrong
 * bearer token gets 401 with code 190. /WABA/message_templates pages its
 * answer in two with an "after" cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/json.h"
#include "wa/client.h"
#include "base/banned.h"

#define TOKEN	"EAAtesttoken123"
#define SLOW_MS 1000

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	char base[64];
	pthread_mutex_t mu;
	int requests;
	int template_gets;
	int connections;
	int active, max_active;
	int next_id;
	char last_auth[256];
	char last_ctype[64];
	char last_method[16];
	char last_body[4096];
	char *example_response; /* Meta's example 200 body, verbatim */
};

static struct server srv;

struct conn_data {
	char *body;
	size_t len;
};

static char *error_body(int code, const char *msg)
{
	char *s = NULL;
	json_t *j = json_pack("{s:{s:s,s:s,s:i,s:{s:s,s:s},s:s}}", "error", "message", msg, "type",
			      "OAuthException", "code", code, "error_data", "messaging_product",
			      "whatsapp", "details", msg, "fbtrace_id", "Atest");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
			     const char *ctype)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static enum MHD_Result templates(struct MHD_Connection *conn, const char *method)
{
	char *s;
	json_t *j;
	if (strcmp(method, "POST") == 0) {
		j = json_pack("{s:s,s:s,s:s}", "id", "tpl-new", "status", "PENDING", "category",
			      "UTILITY");
	} else {
		const char *after =
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
		pthread_mutex_lock(&srv.mu);
		srv.template_gets++;
		pthread_mutex_unlock(&srv.mu);
		if (!after) {
			char next[160];
			snprintf(next, sizeof next, "%s/v21.0/WABA/message_templates?after=c%%2F1",
				 srv.base);
			j = json_pack("{s:[{s:s},{s:s}],s:{s:{s:s,s:s},s:s}}", "data", "name", "t1",
				      "name", "t2", "paging", "cursors", "before", "c0", "after",
				      "c/1", "next", next);
		} else if (strcmp(after, "c/1") == 0) {
			j = json_pack("{s:[{s:s}],s:{s:{s:s}}}", "data", "name", "t3", "paging",
				      "cursors", "before", "c/1");
		} else {
			char *b = error_body(100, "bad cursor");
			enum MHD_Result rc = reply(conn, 400, b, "application/json");
			free(b);
			return rc;
		}
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	enum MHD_Result rc =
	    reply(conn, strcmp(method, "POST") == 0 ? 201 : 200, s, "application/json");
	free(s);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct conn_data *cd = *con_cls;
	if (!cd) {
		cd = calloc(1, sizeof *cd);
		*con_cls = cd;
		return MHD_YES;
	}
	if (*upload_data_size) {
		char *nb = realloc(cd->body, cd->len + *upload_data_size + 1);
		if (!nb)
			return MHD_NO;
		cd->body = nb;
		memcpy(cd->body + cd->len, upload_data, *upload_data_size);
		cd->len += *upload_data_size;
		cd->body[cd->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}

	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&srv.mu);
	srv.requests++;
	snprintf(srv.last_auth, sizeof srv.last_auth, "%s", auth ? auth : "");
	snprintf(srv.last_ctype, sizeof srv.last_ctype, "%s", ctype ? ctype : "");
	snprintf(srv.last_method, sizeof srv.last_method, "%s", method);
	snprintf(srv.last_body, sizeof srv.last_body, "%s", cd->body ? cd->body : "");
	int id = ++srv.next_id;
	pthread_mutex_unlock(&srv.mu);

	if (!auth || strcmp(auth, "Bearer " TOKEN) != 0) {
		char *b = error_body(190, "Invalid OAuth access token.");
		enum MHD_Result rc = reply(conn, 401, b, "application/json");
		free(b);
		return rc;
	}
	if (strncmp(url, "/v21.0/WABA/message_templates", 29) == 0)
		return templates(conn, method);

	char pnid[32] = "";
	int end = 0;
	if (sscanf(url, "/v21.0/%31[^/]/messages%n", pnid, &end) != 1 || end == 0 || url[end])
		return reply(conn, 404, "{\"error\":{\"code\":100,\"message\":\"no route\"}}",
			     "application/json");

	if (strcmp(pnid, "SLOW") == 0)
		sleep_ms(SLOW_MS);
	if (strcmp(pnid, "CONC") == 0) {
		pthread_mutex_lock(&srv.mu);
		srv.active++;
		if (srv.active > srv.max_active)
			srv.max_active = srv.active;
		pthread_mutex_unlock(&srv.mu);
		sleep_ms(100);
		pthread_mutex_lock(&srv.mu);
		srv.active--;
		pthread_mutex_unlock(&srv.mu);
	}
	if (strcmp(pnid, "OK") == 0 || strcmp(pnid, "SLOW") == 0 || strcmp(pnid, "CONC") == 0) {
		json_t *req = cd->body ? json_loads(cd->body, 0, NULL) : NULL;
		const char *to = json_string_value(json_object_get(req, "to"));
		char wamid[64];
		snprintf(wamid, sizeof wamid, "wamid.TEST%d", id);
		json_t *j =
		    json_pack("{s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}", "messaging_product", "whatsapp",
			      "contacts", "input", to ? to : "?", "wa_id", to ? to : "?",
			      "messages", "id", wamid, "message_status", "accepted");
		char *s = json_dumps(j, JSON_COMPACT);
		enum MHD_Result rc = reply(conn, 200, s, "application/json");
		free(s);
		json_decref(j);
		json_decref(req);
		return rc;
	}
	if (strcmp(pnid, "BAD") == 0 || strcmp(pnid, "WINDOW") == 0) {
		int code = strcmp(pnid, "BAD") == 0 ? 131009 : 131047;
		char *b = error_body(code, "(#131009) Parameter value is not valid");
		enum MHD_Result rc = reply(conn, 400, b, "application/json");
		free(b);
		return rc;
	}
	if (strcmp(pnid, "RATE") == 0)
		return reply(
		    conn, 429,
		    "{\"error\":{\"message\":\"(#130429) Rate limit hit\",\"type\":"
		    "\"OAuthException\",\"code\":130429,\"error_data\":{\"messaging_product\":"
		    "\"whatsapp\",\"details\":\"Cloud API message throughput has been "
		    "reached.\"},\"error_subcode\":2494055,\"fbtrace_id\":\"Az8or2\"}}",
		    "application/json");
	if (strcmp(pnid, "RATE0") == 0)
		return reply(conn, 429, "", "text/plain");
	if (strcmp(pnid, "HTML") == 0)
		return reply(conn, 502, "<html>Bad Gateway</html>", "text/html");
	if (strcmp(pnid, "META") == 0)
		return reply(conn, 200, srv.example_response, "application/json");
	if (strcmp(pnid, "NOID") == 0)
		return reply(conn, 200, "{\"messaging_product\":\"whatsapp\"}", "application/json");
	return reply(conn, 404, "{}", "application/json");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct conn_data *cd = *con_cls;
	if (cd) {
		free(cd->body);
		free(cd);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	(void)socket_ctx;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&srv.mu);
		srv.connections++;
		pthread_mutex_unlock(&srv.mu);
	}
}

static int server_start(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&srv.mu, NULL);
	const char *dir = getenv("CW_FIXTURES");
	char path[1024];
	snprintf(path, sizeof path, "%s/facebook-openapi/send_response_example.json",
		 dir ? dir : "../shared/fixtures/whatsapp");
	json_t *ex = json_load_file(path, 0, NULL);
	srv.example_response = json_dumps(json_object_get(ex, "Example response"), JSON_COMPACT);
	json_decref(ex);
	if (!srv.example_response)
		return -1;
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!srv.d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = di ? di->port : 0;
	snprintf(srv.base, sizeof srv.base, "http://127.0.0.1:%u", (unsigned)srv.port);
	return srv.port ? 0 : -1;
}

static int server_stop(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	pthread_mutex_destroy(&srv.mu);
	free(srv.example_response);
	return 0;
}

static struct wa_client *client(long total_ms, int inflight)
{
	struct wa_client_config cfg = {.graph_url = srv.base,
				       .api_version = "v21.0",
				       .connect_timeout_ms = 2000,
				       .total_timeout_ms = total_ms,
				       .max_inflight = inflight};
	struct wa_client *c = wa_client_new(&cfg);
	assert_non_null(c);
	return c;
}

static json_t *text_body(const char *to)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "messaging_product", "whatsapp",
			 "recipient_type", "individual", "to", to, "type", "text", "text", "body",
			 "hello");
}

static void test_success(void **state)
{
	(void)state;
	struct wa_client *c = client(5000, 4);
	json_t *body = text_body("972521234567");
	struct wa_send_result r;
	assert_int_equal(wa_client_send_sync(c, "OK", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.curl_code, 0);
	assert_null(r.err_info);
	assert_non_null(r.wamid);
	assert_true(strncmp(r.wamid, "wamid.TEST", 10) == 0);
	assert_string_equal(r.wa_id, "972521234567");
	assert_string_equal(r.message_status, "accepted");
	assert_true(r.elapsed_ms >= 0);
	wa_send_result_release(&r);
	/* what the server saw */
	assert_string_equal(srv.last_auth, "Bearer " TOKEN);
	assert_string_equal(srv.last_ctype, "application/json");
	assert_string_equal(srv.last_method, "POST");
	json_t *seen = json_loads(srv.last_body, 0, NULL);
	assert_true(json_equal(seen, body));
	json_decref(seen);

	/* Meta's own example answer */
	assert_int_equal(wa_client_send_sync(c, "META", TOKEN, body, &r), 0);
	assert_null(r.err_info);
	assert_string_equal(r.wamid, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA");
	assert_string_equal(r.wa_id, "16505551234");
	assert_null(r.message_status); /* not in that example */
	assert_non_null(r.body);
	wa_send_result_release(&r);
	assert_null(r.body);
	json_decref(body);
	wa_client_free(c);
}

static void test_errors_classified(void **state)
{
	(void)state;
	struct wa_client *c = client(5000, 4);
	json_t *body = text_body("972521234567");
	struct wa_send_result r;

	assert_int_equal(wa_client_send_sync(c, "BAD", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 400);
	assert_int_equal(r.error.code, 131009);
	assert_string_equal(r.error.type, "OAuthException");
	assert_string_equal(r.error.fbtrace_id, "Atest");
	assert_non_null(r.err_info);
	assert_int_equal(r.err_info->code, 131009);
	assert_int_equal(r.err_info->cls, WA_ERR_FIX_REQUEST);
	assert_null(r.wamid);
	wa_send_result_release(&r);

	assert_int_equal(wa_client_send_sync(c, "WINDOW", TOKEN, body, &r), 0);
	assert_true(r.err_info->fallback_template);
	wa_send_result_release(&r);

	assert_int_equal(wa_client_send_sync(c, "RATE", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 429);
	assert_int_equal(r.error.code, 130429);
	assert_int_equal(r.error.subcode, 2494055);
	assert_string_equal(r.error.details, "Cloud API message throughput has been reached.");
	assert_int_equal(r.err_info->code, 130429);
	assert_int_equal(r.err_info->cls, WA_ERR_RETRY);
	assert_true(r.err_info->slow_number);
	wa_send_result_release(&r);

	/* a bare 429 is still the throughput limit */
	assert_int_equal(wa_client_send_sync(c, "RATE0", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 429);
	assert_int_equal(r.error.code, 0);
	assert_int_equal(r.err_info->code, 130429);
	wa_send_result_release(&r);

	/* a proxy's HTML 502: retry */
	assert_int_equal(wa_client_send_sync(c, "HTML", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 502);
	assert_null(r.body);
	assert_int_equal(r.err_info->cls, WA_ERR_RETRY);
	wa_send_result_release(&r);

	/* 200 without a message id is not a success */
	assert_int_equal(wa_client_send_sync(c, "NOID", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 200);
	assert_non_null(r.err_info);
	assert_int_equal(r.err_info->code, WA_ERR_CODE_BAD_RESPONSE);
	wa_send_result_release(&r);

	/* a wrong token: 190, pause the number */
	assert_int_equal(wa_client_send_sync(c, "OK", "EAAwrong", body, &r), 0);
	assert_int_equal(r.http_status, 401);
	assert_int_equal(r.error.code, 190);
	assert_true(r.err_info->pause_number);
	wa_send_result_release(&r);

	json_decref(body);
	wa_client_free(c);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void test_timeout(void **state)
{
	(void)state;
	struct wa_client *c = client(300, 4);
	json_t *body = text_body("972521234567");
	struct wa_send_result r;
	double t0 = now_ms();
	assert_int_equal(wa_client_send_sync(c, "SLOW", TOKEN, body, &r), 0);
	double took = now_ms() - t0;
	assert_int_equal(r.http_status, 0);
	assert_int_equal(r.curl_code, 28); /* CURLE_OPERATION_TIMEDOUT */
	assert_true(strlen(r.transport_error) > 0);
	assert_non_null(r.err_info);
	assert_int_equal(r.err_info->code, WA_ERR_CODE_TRANSPORT);
	assert_int_equal(r.err_info->cls, WA_ERR_RETRY);
	assert_null(r.wamid);
	assert_true(took < SLOW_MS - 100); /* ended by the timeout, not by the answer */
	assert_true(r.elapsed_ms >= 250);
	wa_send_result_release(&r);

	int status = -1;
	json_t *resp = (json_t *)1;
	assert_int_equal(
	    wa_client_request_sync(c, "POST", "/SLOW/messages", TOKEN, body, &status, &resp),
	    CW_ETIMEOUT);
	assert_int_equal(status, 0);
	assert_null(resp);
	json_decref(body);
	wa_client_free(c);
}

static void test_connect_refused(void **state)
{
	(void)state;
	/* a port nobody listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
	struct wa_client_config cfg = {
	    .graph_url = url, .connect_timeout_ms = 1000, .total_timeout_ms = 2000};
	struct wa_client *c = wa_client_new(&cfg);
	assert_non_null(c);
	json_t *body = text_body("972521234567");
	struct wa_send_result r;
	assert_int_equal(wa_client_send_sync(c, "OK", TOKEN, body, &r), 0);
	assert_int_equal(r.http_status, 0);
	assert_int_equal(r.curl_code, 7); /* CURLE_COULDNT_CONNECT */
	assert_int_equal(r.err_info->code, WA_ERR_CODE_TRANSPORT);
	wa_send_result_release(&r);
	assert_int_equal(wa_client_request_sync(c, "GET", "/x", TOKEN, NULL, NULL, NULL),
			 CW_EUNAVAIL);
	json_decref(body);
	wa_client_free(c);
}

struct tally {
	int done, ok;
	char wamids[32][64];
};

static void count_cb(const struct wa_send_result *r, void *ud)
{
	struct tally *t = ud;
	if (!r->err_info && r->wamid && t->ok < 32) {
		snprintf(t->wamids[t->ok], sizeof t->wamids[0], "%s", r->wamid);
		t->ok++;
	}
	t->done++;
}

static void run_concurrent(int n, int inflight, struct tally *t)
{
	struct wa_client *c = client(10000, inflight);
	json_t *body = text_body("972521234567");
	pthread_mutex_lock(&srv.mu);
	srv.max_active = 0;
	pthread_mutex_unlock(&srv.mu);
	memset(t, 0, sizeof *t);
	for (int i = 0; i < n; i++)
		assert_int_equal(wa_client_send(c, "CONC", TOKEN, body, count_cb, t), 0);
	json_decref(body); /* serialised at send time */
	assert_int_equal(wa_client_pending(c), (size_t)n);
	double t0 = now_ms();
	while (wa_client_pending(c) && now_ms() - t0 < 20000)
		assert_true(wa_client_poll(c, 200) >= 0);
	assert_int_equal(wa_client_pending(c), 0);
	assert_int_equal(wa_client_poll(c, 200), 0); /* nothing left: returns at once */
	wa_client_free(c);
}

static void test_concurrent(void **state)
{
	(void)state;
	struct tally t;
	run_concurrent(20, 20, &t);
	assert_int_equal(t.done, 20);
	assert_int_equal(t.ok, 20);
	for (int i = 0; i < 20; i++)
		for (int k = i + 1; k < 20; k++)
			assert_string_not_equal(t.wamids[i], t.wamids[k]);
	assert_true(srv.max_active > 1); /* they really ran side by side */
	assert_true(srv.max_active <= 20);

	/* max_inflight bounds what runs at once; the rest wait their turn */
	run_concurrent(12, 3, &t);
	assert_int_equal(t.ok, 12);
	assert_true(srv.max_active <= 3);
	assert_true(srv.max_active >= 2);
}

static void test_keepalive(void **state)
{
	(void)state;
	struct wa_client *c = client(5000, 4);
	json_t *body = text_body("972521234567");
	pthread_mutex_lock(&srv.mu);
	int before = srv.connections;
	pthread_mutex_unlock(&srv.mu);
	for (int i = 0; i < 5; i++) {
		struct wa_send_result r;
		assert_int_equal(wa_client_send_sync(c, "OK", TOKEN, body, &r), 0);
		assert_null(r.err_info);
		wa_send_result_release(&r);
	}
	pthread_mutex_lock(&srv.mu);
	int opened = srv.connections - before;
	pthread_mutex_unlock(&srv.mu);
	assert_int_equal(opened, 1); /* five requests, one connection */
	json_decref(body);
	wa_client_free(c);
}

static int never_called;
static void never_cb(const struct wa_send_result *r, void *ud)
{
	(void)r;
	(void)ud;
	never_called++;
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct wa_client_config bad_url = {.graph_url = "ftp://example.org"};
	assert_null(wa_client_new(&bad_url));
	struct wa_client_config bad_ver = {.graph_url = srv.base, .api_version = "v1/../x"};
	assert_null(wa_client_new(&bad_ver));
	struct wa_client *d = wa_client_new(NULL); /* defaults: Meta's URL, no transfer made */
	assert_non_null(d);
	wa_client_free(d);
	wa_client_free(NULL);

	struct wa_client_config cfg = {.graph_url = srv.base, .max_queue = 2};
	struct wa_client *c = wa_client_new(&cfg);
	json_t *body = text_body("972521234567");
	assert_int_equal(wa_client_send(c, "../x", TOKEN, body, never_cb, NULL), CW_EINVAL);
	assert_int_equal(wa_client_send(c, "OK", "tok\r\nX-Evil: 1", body, never_cb, NULL),
			 CW_EINVAL);
	assert_int_equal(wa_client_send(c, "OK", "", body, never_cb, NULL), CW_EINVAL);
	assert_int_equal(wa_client_send(c, "OK", TOKEN, NULL, never_cb, NULL), CW_EINVAL);
	assert_int_equal(wa_client_send(c, "OK", TOKEN, body, NULL, NULL), CW_EINVAL);
	assert_int_equal(wa_client_request(c, "PATCH", "/x", TOKEN, NULL, never_cb, NULL),
			 CW_EINVAL);
	assert_int_equal(wa_client_request(c, "GET", "x", TOKEN, NULL, never_cb, NULL), CW_EINVAL);
	assert_int_equal(wa_client_request(c, "GET", "/a b", TOKEN, NULL, never_cb, NULL),
			 CW_EINVAL);
	/* the queue is bounded */
	assert_int_equal(wa_client_send(c, "OK", TOKEN, body, never_cb, NULL), 0);
	assert_int_equal(wa_client_send(c, "OK", TOKEN, body, never_cb, NULL), 0);
	assert_int_equal(wa_client_send(c, "OK", TOKEN, body, never_cb, NULL), CW_ETOOBIG);
	assert_int_equal(wa_client_pending(c), 2);
	/* freed while queued: dropped without callbacks, no leak */
	wa_client_free(c);
	/* freed while running: the same */
	c = client(5000, 4);
	assert_int_equal(wa_client_send(c, "SLOW", TOKEN, body, never_cb, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wa_client_poll(c, 20), 0);
	assert_int_equal(wa_client_pending(c), 1);
	wa_client_free(c);
	assert_int_equal(never_called, 0);
	json_decref(body);
}

static void test_templates(void **state)
{
	(void)state;
	struct wa_client *c = client(5000, 4);
	json_t *all = NULL;
	struct wa_api_error ae;
	int before = srv.template_gets;
	assert_int_equal(wa_client_list_templates(c, "WABA", TOKEN, &all, &ae), 0);
	assert_int_equal(srv.template_gets - before, 2); /* two pages */
	assert_int_equal(json_array_size(all), 3);
	assert_string_equal(json_string_value(json_path(all, "2.name")), "t3");
	json_decref(all);

	/* a token error is reported as such */
	assert_int_equal(wa_client_list_templates(c, "WABA", "EAAwrong", &all, &ae), CW_EAUTH);
	assert_null(all);
	assert_int_equal(ae.code, 190);
	assert_int_equal(wa_client_list_templates(c, "WA/BA", TOKEN, &all, NULL), CW_EINVAL);

	/* create through the generic request */
	json_t *tpl =
	    json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "name", "appt_reminder", "language", "he",
		      "category", "UTILITY", "components", "type", "BODY", "text", "See you {{1}}");
	int status = 0;
	json_t *resp = NULL;
	assert_int_equal(wa_client_request_sync(c, "POST", "/WABA/message_templates", TOKEN, tpl,
						&status, &resp),
			 0);
	assert_int_equal(status, 201);
	assert_string_equal(json_string_value(json_object_get(resp, "status")), "PENDING");
	json_t *seen = json_loads(srv.last_body, 0, NULL);
	assert_true(json_equal(seen, tpl));
	json_decref(seen);
	json_decref(resp);
	json_decref(tpl);

	/* a GET answers with the status even when it is an error */
	assert_int_equal(
	    wa_client_request_sync(c, "GET", "/nothing/here", TOKEN, NULL, &status, &resp), 0);
	assert_int_equal(status, 404);
	assert_int_equal(json_integer_value(json_path(resp, "error.code")), 100);
	assert_string_equal(srv.last_method, "GET");
	json_decref(resp);
	wa_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success),	  cmocka_unit_test(test_errors_classified),
	    cmocka_unit_test(test_timeout),	  cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_concurrent),	  cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_templates),
	};
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
