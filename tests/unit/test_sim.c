/*
 * test_sim.c — unit tests for sim/: the Cloud API simulator driven over
 * loopback. Each test starts a webhook receiver (an http_server that checks
 * X-Hub-Signature-256 and records every body) and a server with the
 * simulator mounted at "/graph" and "/sim", then talks to it with libcurl as
 * carewire's client and the dashboard would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "http/server.h"
#include "sim/sim.h"
#include "base/banned.h"

#define SECRET	  "app-secret-for-tests"
#define TOKEN	  "EAAtesttoken"
#define PNID	  "106540352242922"
#define WABA	  "102290129340398"
#define MAX_HOOKS 4096

/* ---- the webhook receiver ---- */

struct receiver {
	pthread_mutex_t mu;
	json_t *bodies[MAX_HOOKS];
	int n;
	int requests;
	int bad_signatures;
	int fail_first; /* answer 500 to this many requests first */
};

static int h_hook(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct receiver *r = ud;
	const char *sig = http_header(req, "X-Hub-Signature-256");
	int ok = sig && req->body &&
		 sec_verify_hub_signature(sig, SECRET, req->body, req->body_len) == 0;
	pthread_mutex_lock(&r->mu);
	r->requests++;
	if (!ok)
		r->bad_signatures++;
	int fail = r->fail_first > 0;
	if (fail)
		r->fail_first--;
	else if (r->n < MAX_HOOKS && req->body)
		r->bodies[r->n++] = json_loadb(req->body, req->body_len, 0, NULL);
	pthread_mutex_unlock(&r->mu);
	if (fail)
		http_reply_text(resp, 500, "text/plain", "try later");
	else
		http_reply_text(resp, 200, "text/plain", "ok");
	return 0;
}

static const struct http_route hook_routes[] = {
    {"POST", "/hook", h_hook, 0},
    {NULL, NULL, NULL, 0},
};

/* ---- the fixture ---- */

struct fx {
	struct receiver rx;
	struct http_server *hook_srv;
	struct http_server *srv;
	struct sim *sim;
	char base[64]; /* http://127.0.0.1:PORT */
};

static struct fx *fx_start(int auto_users, int fail_first)
{
	struct fx *f = calloc(1, sizeof *f);
	pthread_mutex_init(&f->rx.mu, NULL);
	f->rx.fail_first = fail_first;
	f->hook_srv = http_server_new("127.0.0.1:0", 2);
	assert_non_null(f->hook_srv);
	http_server_set_access_log(f->hook_srv, 0);
	http_server_mount(f->hook_srv, hook_routes, &f->rx);
	assert_int_equal(http_server_start(f->hook_srv), 0);
	char url[96];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", http_server_port(f->hook_srv));

	struct sim_config cfg = {
	    .webhook_url = url,
	    .app_secret = SECRET,
	    .access_token = TOKEN,
	    .auto_users = auto_users,
	    .status_delay_ms = 30,
	    .template_approve_ms = 100,
	    .timeout_ms = 100,
	    .webhook_retry_ms = 30,
	    .webhook_attempts = 5,
	};
	f->sim = sim_new(&cfg);
	assert_non_null(f->sim);
	f->srv = http_server_new("127.0.0.1:0", 4);
	assert_non_null(f->srv);
	http_server_set_access_log(f->srv, 0);
	sim_mount(f->sim, f->srv, "/graph", "/sim");
	assert_int_equal(sim_start(f->sim), 0);
	assert_int_equal(http_server_start(f->srv), 0);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", http_server_port(f->srv));
	return f;
}

static void fx_stop(struct fx *f)
{
	sim_stop(f->sim);
	http_server_free(f->srv);
	sim_free(f->sim);
	http_server_free(f->hook_srv);
	for (int i = 0; i < f->rx.n; i++)
		json_decref(f->rx.bodies[i]);
	pthread_mutex_destroy(&f->rx.mu);
	free(f);
}

static int setup(void **state)
{
	*state = fx_start(0, 0);
	return 0;
}

static int setup_auto(void **state)
{
	*state = fx_start(1, 0);
	return 0;
}

static int setup_flaky_hook(void **state)
{
	*state = fx_start(0, 2);
	return 0;
}

static int teardown(void **state)
{
	fx_stop(*state);
	return 0;
}

/* ---- the client ---- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* Sends method path (relative to the simulator) with an optional JSON body
 * and bearer token; returns the HTTP status and the parsed JSON answer in
 * *out (NULL allowed). */
static long call(struct fx *f, const char *method, const char *path, const char *token,
		 const char *body, json_t **out)
{
	CURL *c = curl_easy_init();
	struct buf b;
	buf_init(&b, 0);
	char url[512], auth[128];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	snprintf(url, sizeof url, "%s%s", f->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (out)
		*out = b.data ? json_loads(b.data, 0, NULL) : NULL;
	buf_release(&b);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static long send_msg(struct fx *f, const char *body, json_t **out)
{
	return call(f, "POST", "/graph/v21.0/" PNID "/messages", TOKEN, body, out);
}

static long user_says(struct fx *f, const char *wa_id, const char *body, json_t **out)
{
	char path[128];
	snprintf(path, sizeof path, "/sim/users/%s/messages", wa_id);
	return call(f, "POST", path, NULL, body, out);
}

/* The wamid of a 200 send answer (copied into out). */
static void sent_id(json_t *ans, char *out, size_t n)
{
	const char *id = json_string_value(json_path(ans, "messages.0.id"));
	assert_non_null(id);
	snprintf(out, n, "%s", id);
}

/* ---- reading what the receiver got ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Every status for wamid received so far, in arrival order, as a new array
 * of status objects. */
static json_t *statuses_for(struct fx *f, const char *wamid)
{
	json_t *out = json_array();
	pthread_mutex_lock(&f->rx.mu);
	for (int i = 0; i < f->rx.n; i++) {
		json_t *entries = json_object_get(f->rx.bodies[i], "entry");
		size_t ei, ci, si;
		json_t *e, *c, *st;
		json_array_foreach(entries, ei, e)
		{
			json_array_foreach(json_object_get(e, "changes"), ci, c)
			{
				json_array_foreach(json_path(c, "value.statuses"), si, st)
				{
					if (strcmp(json_str_or(st, "id", ""), wamid) == 0)
						json_array_append(out, st);
				}
			}
		}
	}
	pthread_mutex_unlock(&f->rx.mu);
	return out;
}

/* Waits until n statuses for wamid arrived (or 5 s). Returns them. */
static json_t *wait_statuses(struct fx *f, const char *wamid, size_t n)
{
	for (int i = 0; i < 500; i++) {
		json_t *s = statuses_for(f, wamid);
		if (json_array_size(s) >= n)
			return s;
		json_decref(s);
		sleep_ms(10);
	}
	return statuses_for(f, wamid);
}

/* Inbound messages (value.messages[]) with id wamid that arrived. */
static json_t *inbound(struct fx *f, const char *wamid)
{
	json_t *out = json_array();
	pthread_mutex_lock(&f->rx.mu);
	for (int i = 0; i < f->rx.n; i++) {
		json_t *v = json_path(f->rx.bodies[i], "entry.0.changes.0.value");
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(v, "messages"), k, m)
		{
			if (strcmp(json_str_or(m, "id", ""), wamid) == 0)
				json_array_append_new(
				    out, json_pack("{s:O, s:O, s:O}", "message", m, "contacts",
						   json_object_get(v, "contacts"), "metadata",
						   json_object_get(v, "metadata")));
		}
	}
	pthread_mutex_unlock(&f->rx.mu);
	return out;
}

static json_t *wait_inbound(struct fx *f, const char *wamid)
{
	for (int i = 0; i < 500; i++) {
		json_t *m = inbound(f, wamid);
		if (json_array_size(m))
			return m;
		json_decref(m);
		sleep_ms(10);
	}
	return inbound(f, wamid);
}

static int bad_signatures(struct fx *f)
{
	pthread_mutex_lock(&f->rx.mu);
	int n = f->rx.bad_signatures;
	pthread_mutex_unlock(&f->rx.mu);
	return n;
}

/* The user writes "hi" (opening the window); returns the inbound wamid. */
static void open_window(struct fx *f, const char *wa_id, char *wamid, size_t n)
{
	json_t *ans = NULL;
	assert_int_equal(user_says(f, wa_id, "{\"type\":\"text\",\"text\":\"hi\"}", &ans), 200);
	snprintf(wamid, n, "%s", json_str_or(ans, "id", ""));
	json_decref(ans);
	assert_true(strncmp(wamid, "wamid.", 6) == 0);
}

static const char *error_details(json_t *ans)
{
	return json_string_value(json_path(ans, "error.error_data.details"));
}

/* ---- tests ---- */

static void test_text_in_window_statuses(void **state)
{
	struct fx *f = *state;
	char in_id[128], out_id[128];
	open_window(f, "972521111111", in_id, sizeof in_id);

	/* The inbound message reached the webhook as Meta shapes it. */
	json_t *in = wait_inbound(f, in_id);
	assert_int_equal(json_array_size(in), 1);
	json_t *m = json_path(in, "0.message");
	assert_string_equal(json_str(m, "from"), "972521111111");
	assert_string_equal(json_str(m, "type"), "text");
	assert_string_equal(json_string_value(json_path(m, "text.body")), "hi");
	assert_non_null(json_str(m, "timestamp"));
	assert_string_equal(json_string_value(json_path(in, "0.contacts.0.wa_id")), "972521111111");
	assert_string_equal(json_string_value(json_path(in, "0.metadata.phone_number_id")), PNID);
	json_decref(in);

	json_t *ans = NULL;
	assert_int_equal(
	    send_msg(f,
		     "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
		     "\"individual\",\"to\":\"+972521111111\",\"type\":\"text\","
		     "\"text\":{\"body\":\"hello\"},\"biz_opaque_callback_data\":\"ob-1\"}",
		     &ans),
	    200);
	assert_string_equal(json_str(ans, "messaging_product"), "whatsapp");
	assert_string_equal(json_string_value(json_path(ans, "contacts.0.input")), "+972521111111");
	assert_string_equal(json_string_value(json_path(ans, "contacts.0.wa_id")), "972521111111");
	assert_string_equal(json_string_value(json_path(ans, "messages.0.message_status")),
			    "accepted");
	sent_id(ans, out_id, sizeof out_id);
	json_decref(ans);

	json_t *st = wait_statuses(f, out_id, 3);
	assert_int_equal(json_array_size(st), 3);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "sent");
	assert_string_equal(json_string_value(json_path(st, "1.status")), "delivered");
	assert_string_equal(json_string_value(json_path(st, "2.status")), "read");
	for (size_t i = 0; i < 3; i++) {
		json_t *s = json_array_get(st, i);
		assert_string_equal(json_str(s, "recipient_id"), "972521111111");
		assert_string_equal(json_str(s, "biz_opaque_callback_data"), "ob-1");
		assert_true(json_is_string(json_object_get(s, "timestamp")));
	}
	/* Inside the window a service message is free. */
	assert_string_equal(json_string_value(json_path(st, "0.pricing.category")), "service");
	assert_false(json_is_true(json_path(st, "0.pricing.billable")));
	json_decref(st);
	assert_int_equal(bad_signatures(f), 0);

	/* The phone shows both messages, the business one read. */
	assert_int_equal(call(f, "GET", "/sim/users/972521111111/messages", NULL, NULL, &ans), 200);
	json_t *msgs = json_object_get(ans, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(json_string_value(json_path(ans, "messages.0.from")), "user");
	assert_string_equal(json_string_value(json_path(ans, "messages.1.from")), "business");
	assert_string_equal(json_string_value(json_path(ans, "messages.1.id")), out_id);
	assert_string_equal(json_string_value(json_path(ans, "messages.1.status")), "read");
	assert_string_equal(json_string_value(json_path(ans, "messages.1.text.body")), "hello");
	assert_int_equal(json_array_size(json_path(ans, "messages.1.statuses")), 3);
	json_decref(ans);
}

static void test_outside_window_131047(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_add_user(f->sim, "972522222222", "Dana"), 0);
	json_t *ans = NULL;
	char id[128];
	/* Accepted synchronously, as Meta does ... */
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972522222222\","
				  "\"type\":\"text\",\"text\":{\"body\":\"free form\"}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	/* ... and failed in the status webhook with 131047. */
	json_t *st = wait_statuses(f, id, 1);
	assert_int_equal(json_array_size(st), 1);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "failed");
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131047);
	assert_non_null(json_string_value(json_path(st, "0.errors.0.title")));
	assert_non_null(json_string_value(json_path(st, "0.errors.0.error_data.details")));
	json_decref(st);
	sleep_ms(150); /* nothing follows a failure */
	st = statuses_for(f, id);
	assert_int_equal(json_array_size(st), 1);
	json_decref(st);

	assert_int_equal(call(f, "GET", "/sim/users/972522222222/messages", NULL, NULL, &ans), 200);
	assert_string_equal(json_string_value(json_path(ans, "messages.0.status")), "failed");
	assert_int_equal(json_integer_value(json_path(ans, "messages.0.errors.0.code")), 131047);
	json_decref(ans);
}

static void test_unknown_template_132001(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_add_user(f->sim, "972523333333", NULL), 0);
	json_t *ans = NULL;
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972523333333\","
				  "\"type\":\"template\",\"template\":{\"name\":\"no_such\","
				  "\"language\":{\"code\":\"he\"}}}",
				  &ans),
			 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 132001);
	assert_string_equal(json_string_value(json_path(ans, "error.type")), "OAuthException");
	assert_string_equal(json_string_value(json_path(ans, "error.error_data.messaging_product")),
			    "whatsapp");
	assert_non_null(json_string_value(json_path(ans, "error.fbtrace_id")));
	assert_non_null(strstr(error_details(ans), "no_such"));
	json_decref(ans);

	/* Approved in English only: Hebrew is still unknown; pending is refused too. */
	assert_int_equal(sim_add_template(f->sim, NULL, "visit", "en", "UTILITY", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"See you\"}]"),
			 0);
	assert_int_equal(sim_add_template(f->sim, NULL, "later", "he", "UTILITY", "PENDING",
					  "[{\"type\":\"BODY\",\"text\":\"Soon\"}]"),
			 0);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972523333333\","
				  "\"type\":\"template\",\"template\":{\"name\":\"visit\","
				  "\"language\":{\"code\":\"he\"}}}",
				  &ans),
			 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 132001);
	json_decref(ans);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972523333333\","
				  "\"type\":\"template\",\"template\":{\"name\":\"later\","
				  "\"language\":{\"code\":\"he\"}}}",
				  &ans),
			 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 132001);
	json_decref(ans);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972523333333\","
				  "\"type\":\"template\",\"template\":{\"name\":\"visit\","
				  "\"language\":{\"code\":\"en\"}}}",
				  &ans),
			 200);
	json_decref(ans);
}

static void test_param_count_132000(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_add_user(f->sim, "972524444444", "Noa"), 0);
	assert_int_equal(sim_add_template(f->sim, NULL, "appt_reminder", "en", "UTILITY",
					  "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Hi {{1}}, see you at "
					  "{{2}}. {{1}}, bring your card.\"}]"),
			 0);
	json_t *ans = NULL;
	assert_int_equal(
	    send_msg(f,
		     "{\"messaging_product\":\"whatsapp\",\"to\":\"972524444444\","
		     "\"type\":\"template\",\"template\":{\"name\":\"appt_reminder\","
		     "\"language\":{\"code\":\"en\"},\"components\":[{\"type\":"
		     "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Noa\"}]}]}}",
		     &ans),
	    400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 132000);
	assert_non_null(strstr(error_details(ans), "(1)"));
	assert_non_null(strstr(error_details(ans), "(2)"));
	json_decref(ans);

	char id[128];
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972524444444\","
				  "\"type\":\"template\",\"template\":{\"name\":\"appt_reminder\","
				  "\"language\":{\"code\":\"en\"},\"components\":[{\"type\":"
				  "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Noa\"},"
				  "{\"type\":\"text\",\"text\":\"10:00\"}]}]}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	/* A template outside the window is delivered and billed as its category. */
	json_t *st = wait_statuses(f, id, 2);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "sent");
	assert_string_equal(json_string_value(json_path(st, "0.pricing.category")), "utility");
	assert_true(json_is_true(json_path(st, "0.pricing.billable")));
	assert_string_equal(json_string_value(json_path(st, "1.status")), "delivered");
	json_decref(st);
	assert_int_equal(call(f, "GET", "/sim/users/972524444444/messages", NULL, NULL, &ans), 200);
	assert_string_equal(json_string_value(json_path(ans, "messages.0.rendered.body")),
			    "Hi Noa, see you at 10:00. Noa, bring your card.");
	assert_string_equal(json_string_value(json_path(ans, "messages.0.template.name")),
			    "appt_reminder");
	json_decref(ans);
}

static void test_unknown_user_131026(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_add_template(f->sim, NULL, "hello", "en", "UTILITY", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Hello\"}]"),
			 0);
	json_t *ans = NULL;
	char id[128];
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"15550009999\","
				  "\"type\":\"template\",\"template\":{\"name\":\"hello\","
				  "\"language\":{\"code\":\"en\"}}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	json_t *st = wait_statuses(f, id, 1);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "failed");
	assert_string_equal(json_string_value(json_path(st, "0.recipient_id")), "15550009999");
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131026);
	json_decref(st);
	/* Unknown users are not created without auto_users; their phone shows nothing. */
	assert_int_equal(call(f, "GET", "/sim/users/15550009999", NULL, NULL, &ans), 404);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/users/15550009999/messages", NULL, NULL, &ans), 200);
	assert_int_equal(json_array_size(json_object_get(ans, "messages")), 0);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/users/abc/messages", NULL, NULL, &ans), 422);
	json_decref(ans);

	/* A known user who is not on WhatsApp fails the same way. */
	assert_int_equal(
	    call(f, "PUT", "/sim/users/15550008888", NULL, "{\"on_whatsapp\":false}", &ans), 201);
	json_decref(ans);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"15550008888\","
				  "\"type\":\"template\",\"template\":{\"name\":\"hello\","
				  "\"language\":{\"code\":\"en\"}}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	st = wait_statuses(f, id, 1);
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131026);
	json_decref(st);
}

static void test_auto_users(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_add_template(f->sim, NULL, "hello", "en", "UTILITY", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Hello\"}]"),
			 0);
	json_t *ans = NULL;
	char id[128];
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"15550007777\","
				  "\"type\":\"template\",\"template\":{\"name\":\"hello\","
				  "\"language\":{\"code\":\"en\"}}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	json_t *st = wait_statuses(f, id, 3);
	assert_int_equal(json_array_size(st), 3);
	assert_string_equal(json_string_value(json_path(st, "2.status")), "read");
	json_decref(st);
	assert_int_equal(call(f, "GET", "/sim/users", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "total")), 1);
	assert_string_equal(json_string_value(json_path(ans, "users.0.wa_id")), "15550007777");
	json_decref(ans);
}

static void test_bad_token_190(void **state)
{
	struct fx *f = *state;
	const char *body = "{\"messaging_product\":\"whatsapp\",\"to\":\"972521111111\","
			   "\"type\":\"text\",\"text\":{\"body\":\"x\"}}";
	json_t *ans = NULL;
	assert_int_equal(call(f, "POST", "/graph/v21.0/" PNID "/messages", "wrong", body, &ans),
			 401);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 190);
	assert_string_equal(json_string_value(json_path(ans, "error.type")), "OAuthException");
	json_decref(ans);
	assert_int_equal(call(f, "POST", "/graph/v21.0/" PNID "/messages", NULL, body, &ans), 401);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 190);
	json_decref(ans);
	assert_int_equal(
	    call(f, "GET", "/graph/v21.0/" WABA "/message_templates", "nope", NULL, &ans), 401);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 0);
	assert_int_equal(json_integer_value(json_path(ans, "rejected.401")), 2);
	json_decref(ans);
}

static void test_invalid_payload_400(void **state)
{
	struct fx *f = *state;
	json_t *ans = NULL;
	assert_int_equal(
	    send_msg(f,
		     "{\"messaging_product\":\"whatsapp\",\"to\":\"972521111111\",\"type\":"
		     "\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":"
		     "\"Pick\"},\"action\":{\"buttons\":["
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"a\",\"title\":\"A\"}},"
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"b\",\"title\":\"B\"}},"
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"c\",\"title\":\"C\"}},"
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"d\",\"title\":\"D\"}}]}}}",
		     &ans),
	    400);
	int code = (int)json_integer_value(json_path(ans, "error.code"));
	assert_true(code == 131009 || code == 100);
	assert_non_null(strstr(error_details(ans), "interactive.action.buttons"));
	json_decref(ans);

	/* Malformed JSON: (#100). */
	assert_int_equal(send_msg(f, "{\"messaging_product\":", &ans), 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 100);
	json_decref(ans);
}

static void test_faults_429(void **state)
{
	struct fx *f = *state;
	char in_id[128];
	open_window(f, "972525555555", in_id, sizeof in_id);
	json_t *ans = NULL;
	assert_int_equal(call(f, "POST", "/sim/faults", NULL, "{\"http_429\":1.0}", &ans), 200);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/faults", NULL, NULL, &ans), 200);
	assert_true(json_number_value(json_object_get(ans, "http_429")) > 0.99);
	json_decref(ans);
	const char *body = "{\"messaging_product\":\"whatsapp\",\"to\":\"972525555555\","
			   "\"type\":\"text\",\"text\":{\"body\":\"x\"}}";
	for (int i = 0; i < 10; i++) {
		assert_int_equal(send_msg(f, body, &ans), 429);
		assert_int_equal(json_integer_value(json_path(ans, "error.code")), 130429);
		assert_int_equal(json_integer_value(json_path(ans, "error.error_subcode")),
				 2494055);
		assert_string_equal(json_string_value(json_path(ans, "error.message")),
				    "(#130429) Rate limit hit");
		json_decref(ans);
	}
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 0);
	assert_int_equal(json_integer_value(json_path(ans, "rejected.429")), 10);
	json_decref(ans);
	/* Nothing refused reached the phone. */
	assert_int_equal(call(f, "GET", "/sim/users/972525555555/messages", NULL, NULL, &ans), 200);
	assert_int_equal(json_array_size(json_object_get(ans, "messages")), 1);
	json_decref(ans);

	/* 5xx and timeouts are refused too, and not accepted. */
	assert_int_equal(call(f, "POST", "/sim/faults", NULL, "{\"http_5xx\":1}", &ans), 200);
	json_decref(ans);
	long st = send_msg(f, body, &ans);
	assert_true(st == 500 || st == 503);
	int code = (int)json_integer_value(json_path(ans, "error.code"));
	assert_true(code == 1 || code == 2);
	json_decref(ans);
	assert_int_equal(
	    call(f, "POST", "/sim/faults", NULL, "{\"timeout\":1,\"timeout_ms\":50}", &ans), 200);
	json_decref(ans);
	assert_int_equal(send_msg(f, body, &ans), 503);
	json_decref(ans);
	assert_int_equal(
	    call(f, "POST", "/sim/faults", NULL, "{\"http_429\":0.7,\"http_5xx\":0.7}", &ans), 422);
	json_decref(ans);

	assert_int_equal(call(f, "DELETE", "/sim/faults", NULL, NULL, &ans), 200);
	assert_true(json_number_value(json_object_get(ans, "http_429")) == 0);
	json_decref(ans);
	assert_int_equal(send_msg(f, body, &ans), 200);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 1);
	assert_int_equal(json_integer_value(json_path(ans, "rejected.5xx")), 1);
	assert_int_equal(json_integer_value(json_path(ans, "rejected.timeout")), 1);
	json_decref(ans);
}

static void test_button_reply_context(void **state)
{
	struct fx *f = *state;
	char in_id[128], ask_id[128];
	open_window(f, "972526666666", in_id, sizeof in_id);
	json_t *ans = NULL;
	assert_int_equal(
	    send_msg(f,
		     "{\"messaging_product\":\"whatsapp\",\"to\":\"972526666666\",\"type\":"
		     "\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":"
		     "\"Will you come?\"},\"action\":{\"buttons\":["
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"yes\",\"title\":\"I'll come\"}},"
		     "{\"type\":\"reply\",\"reply\":{\"id\":\"no\",\"title\":\"I won't\"}}]}}}",
		     &ans),
	    200);
	sent_id(ans, ask_id, sizeof ask_id);
	json_decref(ans);
	/* A later plain text does not change which message the tap replies to. */
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972526666666\","
				  "\"type\":\"text\",\"text\":{\"body\":\"(reminder)\"}}",
				  &ans),
			 200);
	json_decref(ans);

	assert_int_equal(
	    user_says(f, "972526666666",
		      "{\"type\":\"button_reply\",\"id\":\"yes\",\"title\":\"I'll come\"}", &ans),
	    200);
	char tap[128];
	snprintf(tap, sizeof tap, "%s", json_str_or(ans, "id", ""));
	json_decref(ans);
	json_t *in = wait_inbound(f, tap);
	assert_int_equal(json_array_size(in), 1);
	json_t *m = json_path(in, "0.message");
	assert_string_equal(json_str(m, "type"), "interactive");
	assert_string_equal(json_string_value(json_path(m, "interactive.type")), "button_reply");
	assert_string_equal(json_string_value(json_path(m, "interactive.button_reply.id")), "yes");
	assert_string_equal(json_string_value(json_path(m, "interactive.button_reply.title")),
			    "I'll come");
	assert_string_equal(json_string_value(json_path(m, "context.id")), ask_id);
	assert_string_equal(json_string_value(json_path(m, "context.from")),
			    json_string_value(json_path(in, "0.metadata.display_phone_number")));
	json_decref(in);

	/* A list reply, a template quick reply and a location arrive in Meta's shapes. */
	assert_int_equal(
	    user_says(f, "972526666666",
		      "{\"type\":\"list_reply\",\"id\":\"slot-3\",\"title\":\"Mon 10:00\"}", &ans),
	    200);
	snprintf(tap, sizeof tap, "%s", json_str_or(ans, "id", ""));
	json_decref(ans);
	in = wait_inbound(f, tap);
	assert_string_equal(json_string_value(json_path(in, "0.message.interactive.list_reply.id")),
			    "slot-3");
	json_decref(in);
	assert_int_equal(user_says(f, "972526666666",
				   "{\"type\":\"button\",\"payload\":\"STOP\",\"text\":\"Stop\"}",
				   &ans),
			 200);
	snprintf(tap, sizeof tap, "%s", json_str_or(ans, "id", ""));
	json_decref(ans);
	in = wait_inbound(f, tap);
	assert_string_equal(json_string_value(json_path(in, "0.message.type")), "button");
	assert_string_equal(json_string_value(json_path(in, "0.message.button.payload")), "STOP");
	json_decref(in);
	assert_int_equal(user_says(f, "972526666666",
				   "{\"type\":\"location\",\"latitude\":32.08,\"longitude\":34.78,"
				   "\"name\":\"Clinic\"}",
				   &ans),
			 200);
	snprintf(tap, sizeof tap, "%s", json_str_or(ans, "id", ""));
	json_decref(ans);
	in = wait_inbound(f, tap);
	assert_true(json_number_value(json_path(in, "0.message.location.latitude")) > 32.0);
	assert_null(json_path(in, "0.message.context"));
	json_decref(in);

	assert_int_equal(user_says(f, "972526666666", "{\"type\":\"sticker\"}", &ans), 422);
	json_decref(ans);
	assert_int_equal(
	    user_says(f, "972526666666", "{\"type\":\"button_reply\",\"id\":\"x\"}", &ans), 422);
	assert_string_equal(json_string_value(json_path(ans, "error.field")), "title");
	json_decref(ans);
	assert_int_equal(bad_signatures(f), 0);
}

static void test_webhook_retried(void **state)
{
	struct fx *f = *state; /* the receiver answers 500 twice first */
	char in_id[128];
	open_window(f, "972527777777", in_id, sizeof in_id);
	json_t *in = wait_inbound(f, in_id);
	assert_int_equal(json_array_size(in), 1);
	json_decref(in);
	pthread_mutex_lock(&f->rx.mu);
	int requests = f->rx.requests;
	pthread_mutex_unlock(&f->rx.mu);
	assert_true(requests >= 3);
	json_t *ans = NULL;
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_path(ans, "webhooks.retried")), 2);
	assert_true(json_integer_value(json_path(ans, "webhooks.sent")) >= 1);
	assert_int_equal(json_integer_value(json_path(ans, "webhooks.failed")), 0);
	json_decref(ans);
}

static void test_stats_per_second(void **state)
{
	struct fx *f = *state;
	char in_id[128];
	open_window(f, "972528888888", in_id, sizeof in_id);
	json_t *ans = NULL;
	time_t before = time(NULL);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(send_msg(f,
					  "{\"messaging_product\":\"whatsapp\",\"to\":"
					  "\"972528888888\",\"type\":\"text\",\"text\":{\"body\":"
					  "\"n\"}}",
					  &ans),
				 200);
		json_decref(ans);
	}
	/* Another number's sends are counted apart. */
	assert_int_equal(call(f, "POST", "/graph/v21.0/200000000000001/messages", TOKEN,
			      "{\"messaging_product\":\"whatsapp\",\"to\":\"972528888888\","
			      "\"type\":\"text\",\"text\":{\"body\":\"n\"}}",
			      &ans),
			 200);
	json_decref(ans);
	time_t after = time(NULL);
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 7);
	json_t *n = json_path(ans, "by_number." PNID);
	assert_non_null(n);
	assert_int_equal(json_integer_value(json_object_get(n, "accepted")), 6);
	json_t *per = json_object_get(n, "per_second");
	long long sum = 0, max = 0;
	size_t i;
	json_t *row;
	json_array_foreach(per, i, row)
	{
		long long sec = json_integer_value(json_array_get(row, 0));
		long long cnt = json_integer_value(json_array_get(row, 1));
		assert_true(sec >= (long long)before && sec <= (long long)after);
		sum += cnt;
		if (cnt > max)
			max = cnt;
	}
	assert_int_equal(sum, 6);
	assert_int_equal(json_integer_value(json_object_get(n, "max_per_second")), max);
	assert_int_equal(json_integer_value(json_path(ans, "by_number.200000000000001.accepted")),
			 1);
	json_decref(ans);

	/* Reset clears messages and counters, keeps users. */
	assert_int_equal(call(f, "POST", "/sim/reset", NULL, "{}", &ans), 200);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 0);
	assert_int_equal(json_object_size(json_object_get(ans, "by_number")), 0);
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/users/972528888888/messages", NULL, NULL, &ans), 200);
	assert_int_equal(json_array_size(json_object_get(ans, "messages")), 0);
	json_decref(ans);
}

static void test_mark_read_typing(void **state)
{
	struct fx *f = *state;
	char in_id[128];
	open_window(f, "972529999999", in_id, sizeof in_id);
	char body[512];
	snprintf(body, sizeof body,
		 "{\"messaging_product\":\"whatsapp\",\"status\":\"read\",\"message_id\":\"%s\","
		 "\"typing_indicator\":{\"type\":\"text\"}}",
		 in_id);
	json_t *ans = NULL;
	assert_int_equal(send_msg(f, body, &ans), 200);
	assert_true(json_is_true(json_object_get(ans, "success")));
	json_decref(ans);
	assert_int_equal(call(f, "GET", "/sim/users/972529999999/messages", NULL, NULL, &ans), 200);
	assert_string_equal(json_string_value(json_path(ans, "messages.0.status")), "read");
	assert_true(json_is_true(json_path(ans, "messages.0.typing_indicator")));
	json_decref(ans);
	/* A read receipt is not a message: nothing accepted. */
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "accepted_total")), 0);
	json_decref(ans);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"status\":\"read\","
				  "\"message_id\":\"wamid.bogus\"}",
				  &ans),
			 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 100);
	json_decref(ans);
}

/* Waits for a message_template_status_update for name; returns its value. */
static json_t *wait_template_event(struct fx *f, const char *name)
{
	for (int t = 0; t < 500; t++) {
		pthread_mutex_lock(&f->rx.mu);
		for (int i = 0; i < f->rx.n; i++) {
			json_t *c = json_path(f->rx.bodies[i], "entry.0.changes.0");
			if (strcmp(json_str_or(c, "field", ""), "message_template_status_update") ==
				0 &&
			    strcmp(json_string_value(json_path(c, "value.message_template_name")),
				   name) == 0) {
				json_t *v = json_incref(json_object_get(c, "value"));
				pthread_mutex_unlock(&f->rx.mu);
				return v;
			}
		}
		pthread_mutex_unlock(&f->rx.mu);
		sleep_ms(10);
	}
	return NULL;
}

static void test_template_management(void **state)
{
	struct fx *f = *state;
	const char *path = "/graph/v21.0/" WABA "/message_templates";
	json_t *ans = NULL;
	assert_int_equal(call(f, "POST", path, TOKEN,
			      "{\"name\":\"appt_confirm\",\"language\":\"he\",\"category\":"
			      "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":"
			      "\"Your visit {{1}}\"}]}",
			      &ans),
			 200);
	assert_string_equal(json_str(ans, "status"), "PENDING");
	assert_string_equal(json_str(ans, "category"), "UTILITY");
	assert_non_null(json_str(ans, "id"));
	json_decref(ans);
	/* The same name and language again is refused. */
	assert_int_equal(call(f, "POST", path, TOKEN,
			      "{\"name\":\"appt_confirm\",\"language\":\"he\",\"category\":"
			      "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}",
			      &ans),
			 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 100);
	json_decref(ans);
	assert_int_equal(call(f, "POST", path, TOKEN,
			      "{\"name\":\"please_reject\",\"language\":\"en\",\"category\":"
			      "\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}",
			      &ans),
			 200);
	json_decref(ans);
	assert_int_equal(call(f, "POST", path, TOKEN,
			      "{\"name\":\"Bad Name\",\"language\":\"en\",\"category\":"
			      "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}",
			      &ans),
			 400);
	assert_non_null(strstr(error_details(ans), "name"));
	json_decref(ans);

	json_t *v = wait_template_event(f, "appt_confirm");
	assert_non_null(v);
	assert_string_equal(json_str(v, "event"), "APPROVED");
	assert_string_equal(json_str(v, "message_template_language"), "he");
	assert_string_equal(json_str(v, "message_template_category"), "UTILITY");
	assert_true(json_is_integer(json_object_get(v, "message_template_id")));
	json_decref(v);
	v = wait_template_event(f, "please_reject");
	assert_non_null(v);
	assert_string_equal(json_str(v, "event"), "REJECTED");
	json_decref(v);
	assert_int_equal(bad_signatures(f), 0);

	/* Paging: limit 1 walks the list with the after cursor. */
	assert_int_equal(
	    call(f, "GET", "/graph/v21.0/" WABA "/message_templates?limit=1", TOKEN, NULL, &ans),
	    200);
	assert_int_equal(json_array_size(json_object_get(ans, "data")), 1);
	assert_string_equal(json_string_value(json_path(ans, "data.0.name")), "appt_confirm");
	assert_string_equal(json_string_value(json_path(ans, "data.0.status")), "APPROVED");
	assert_non_null(json_string_value(json_path(ans, "paging.next")));
	char after[128], url[256];
	snprintf(after, sizeof after, "%s",
		 json_string_value(json_path(ans, "paging.cursors.after")));
	json_decref(ans);
	snprintf(url, sizeof url, "/graph/v21.0/%s/message_templates?limit=1&after=%s", WABA,
		 after);
	assert_int_equal(call(f, "GET", url, TOKEN, NULL, &ans), 200);
	assert_int_equal(json_array_size(json_object_get(ans, "data")), 1);
	assert_string_equal(json_string_value(json_path(ans, "data.0.name")), "please_reject");
	assert_string_equal(json_string_value(json_path(ans, "data.0.status")), "REJECTED");
	assert_null(json_path(ans, "paging.next"));
	json_decref(ans);

	/* The approved template can be sent; after deletion it cannot. */
	char in_id[128];
	open_window(f, "972531010101", in_id, sizeof in_id);
	const char *send = "{\"messaging_product\":\"whatsapp\",\"to\":\"972531010101\",\"type\":"
			   "\"template\",\"template\":{\"name\":\"appt_confirm\",\"language\":{"
			   "\"code\":\"he\"},\"components\":[{\"type\":\"body\",\"parameters\":[{"
			   "\"type\":\"text\",\"text\":\"Sunday\"}]}]}}";
	assert_int_equal(send_msg(f, send, &ans), 200);
	json_decref(ans);
	assert_int_equal(call(f, "DELETE",
			      "/graph/v21.0/" WABA "/message_templates?name=appt_confirm", TOKEN,
			      NULL, &ans),
			 200);
	assert_true(json_is_true(json_object_get(ans, "success")));
	json_decref(ans);
	assert_int_equal(send_msg(f, send, &ans), 400);
	assert_int_equal(json_integer_value(json_path(ans, "error.code")), 132001);
	json_decref(ans);
}

static void test_behaviour_blocked_marketing(void **state)
{
	struct fx *f = *state;
	json_t *ans = NULL;
	assert_int_equal(sim_add_template(f->sim, NULL, "promo", "en", "MARKETING", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Sale\"}]"),
			 0);
	assert_int_equal(call(f, "PUT", "/sim/users/972532020202", NULL,
			      "{\"marketing_stopped\":true,\"read\":0}", &ans),
			 201);
	assert_true(json_is_true(json_object_get(ans, "marketing_stopped")));
	json_decref(ans);
	assert_int_equal(call(f, "PUT", "/sim/users/972533030303", NULL,
			      "{\"blocked\":true,\"profile_name\":\"Blocker\"}", &ans),
			 201);
	json_decref(ans);
	assert_int_equal(call(f, "PUT", "/sim/users/972533030303", NULL, "{\"read\":2}", &ans),
			 422);
	json_decref(ans);

	char id[128];
	const char *promo1 = "{\"messaging_product\":\"whatsapp\",\"to\":\"972532020202\",\"type\":"
			     "\"template\",\"template\":{\"name\":\"promo\",\"language\":{"
			     "\"code\":\"en\"}}}";
	assert_int_equal(send_msg(f, promo1, &ans), 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	json_t *st = wait_statuses(f, id, 1);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "failed");
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131050);
	json_decref(st);

	const char *promo2 = "{\"messaging_product\":\"whatsapp\",\"to\":\"972533030303\",\"type\":"
			     "\"template\",\"template\":{\"name\":\"promo\",\"language\":{"
			     "\"code\":\"en\"}}}";
	assert_int_equal(send_msg(f, promo2, &ans), 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	st = wait_statuses(f, id, 1);
	assert_string_equal(json_string_value(json_path(st, "0.status")), "sent");
	json_decref(st);
	sleep_ms(200); /* well past the 30 ms delivery delay: a blocker never gets it */
	st = statuses_for(f, id);
	assert_int_equal(json_array_size(st), 1);
	json_decref(st);

	assert_int_equal(call(f, "GET", "/sim/users", NULL, NULL, &ans), 200);
	assert_int_equal(json_integer_value(json_object_get(ans, "total")), 2);
	assert_string_equal(json_string_value(json_path(ans, "users.1.profile_name")), "Blocker");
	assert_true(json_is_true(json_path(ans, "users.1.blocked")));
	json_decref(ans);
}

static void test_webhook_duplicates(void **state)
{
	struct fx *f = *state;
	json_t *ans = NULL;
	assert_int_equal(call(f, "POST", "/sim/faults", NULL, "{\"webhook_duplicates\":1}", &ans),
			 200);
	json_decref(ans);
	char in_id[128];
	open_window(f, "972534040404", in_id, sizeof in_id);
	for (int i = 0; i < 300; i++) {
		json_t *in = inbound(f, in_id);
		size_t n = json_array_size(in);
		json_decref(in);
		if (n >= 2)
			break;
		sleep_ms(10);
	}
	json_t *in = inbound(f, in_id);
	assert_int_equal(json_array_size(in), 2);
	json_decref(in);
	assert_int_equal(call(f, "GET", "/sim/stats", NULL, NULL, &ans), 200);
	assert_true(json_integer_value(json_path(ans, "webhooks.duplicates")) >= 1);
	json_decref(ans);
}

static void test_webhook_reorder(void **state)
{
	struct fx *f = *state;
	json_t *ans = NULL;
	char in_id[128], ids[10][128];
	open_window(f, "972536060606", in_id, sizeof in_id);
	json_decref(wait_inbound(f, in_id));
	assert_int_equal(call(f, "POST", "/sim/faults", NULL, "{\"webhook_reorder\":true}", &ans),
			 200);
	assert_true(json_is_true(json_object_get(ans, "webhook_reorder")));
	json_decref(ans);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(send_msg(f,
					  "{\"messaging_product\":\"whatsapp\",\"to\":"
					  "\"972536060606\",\"type\":\"text\",\"text\":{\"body\":"
					  "\"n\"}}",
					  &ans),
				 200);
		sent_id(ans, ids[i], sizeof ids[i]);
		json_decref(ans);
	}
	/* Every status arrives, one per payload, but not in the order sent. */
	for (int i = 0; i < 10; i++) {
		json_t *st = wait_statuses(f, ids[i], 3);
		assert_int_equal(json_array_size(st), 3);
		json_decref(st);
	}
	int in_order = 1, last = -1;
	pthread_mutex_lock(&f->rx.mu);
	for (int b = 0; b < f->rx.n; b++) {
		json_t *sts = json_path(f->rx.bodies[b], "entry.0.changes.0.value.statuses");
		if (!sts)
			continue;
		assert_int_equal(json_array_size(sts), 1);
		if (strcmp(json_string_value(json_path(sts, "0.status")), "sent") != 0)
			continue;
		for (int i = 0; i < 10; i++)
			if (strcmp(json_string_value(json_path(sts, "0.id")), ids[i]) == 0) {
				if (i < last)
					in_order = 0;
				last = i;
			}
	}
	pthread_mutex_unlock(&f->rx.mu);
	assert_false(in_order);
}

static void test_wrong_window_number(void **state)
{
	struct fx *f = *state;
	char in_id[128];
	/* The user wrote to PNID; another number has no window with them. */
	open_window(f, "972535050505", in_id, sizeof in_id);
	json_t *ans = NULL;
	char id[128];
	assert_int_equal(call(f, "POST", "/graph/v21.0/300000000000003/messages", TOKEN,
			      "{\"messaging_product\":\"whatsapp\",\"to\":\"972535050505\","
			      "\"type\":\"text\",\"text\":{\"body\":\"n\"}}",
			      &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	json_t *st = wait_statuses(f, id, 1);
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131047);
	json_decref(st);
	/* The window closes 24 hours after the user's message. */
	time_clock_set(time_now_ms() + 25LL * 3600 * 1000);
	assert_int_equal(send_msg(f,
				  "{\"messaging_product\":\"whatsapp\",\"to\":\"972535050505\","
				  "\"type\":\"text\",\"text\":{\"body\":\"late\"}}",
				  &ans),
			 200);
	sent_id(ans, id, sizeof id);
	json_decref(ans);
	st = wait_statuses(f, id, 1);
	time_clock_set(-1);
	assert_int_equal(json_integer_value(json_path(st, "0.errors.0.code")), 131047);
	json_decref(st);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sec_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_in_window_statuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outside_window_131047, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_template_132001, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_param_count_132000, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_user_131026, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auto_users, setup_auto, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_token_190, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_payload_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults_429, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_button_reply_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_retried, setup_flaky_hook, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_per_second, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_read_typing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_management, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_behaviour_blocked_marketing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_reorder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_window_number, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
