/*
 * test_dispatch.c — unit tests for core/dispatch: the token bucket, and the
 * dispatcher against the simulator in-process.
 *
 * The fixture is a whole small carewire without the API: a store on a
 * temporary SQLite file (one organisation, one phone number), the ingest
 * worker with the outbox's event handler, a webhook receiver that hands
 * signed bodies to the ingest, the simulator (auto users) on an
 * http_server, and the dispatcher pointed at the simulator's Cloud API side.
 * Messages are queued with outbox_enqueue_tx() as a producer would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "base/json.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/dispatch.h"
#include "core/ingest.h"
#include "core/org.h"
#include "core/orgconf.h"
#include "core/outbox.h"
#include "core/send.h"
#include "http/server.h"
#include "sim/sim.h"
#include "store/store.h"
#include "wa/client.h"
#include "base/banned.h"

#define SECRET "app-secret-for-tests"
#define TOKEN "EAAtesttoken"
#define PNID "106540352242922"
#define WABA "102290129340398"

/* ---- the rate limiter, alone ---- */

/* The most sends in any one-second window [t, t + 1 s), wherever it starts. */
static int busiest_second(const int64_t *sends, int n)
{
	int most = 0, j = 0;
	for (int i = 0; i < n; i++) {
		while (sends[i] - sends[j] >= 1000000000LL)
			j++;
		if (i - j + 1 > most)
			most = i - j + 1;
	}
	return most;
}

/* A greedy sender asks every step_ns for 20 s; every period_ns it stops
 * for stall_ns (the machine is busy). Returns the number of sends. */
static int drive(struct dispatch_bucket *b, int64_t step_ns, int64_t period_ns, int64_t stall_ns,
		 int64_t *sends, int max)
{
	int n = 0;
	for (int64_t t = 0; t < 20LL * 1000000000LL; t += step_ns) {
		if (period_ns && t % period_ns < stall_ns)
			continue;
		while (n < max && dispatch_bucket_take(b, t))
			sends[n++] = t;
	}
	return n;
}

static void test_bucket_window_bound(void **state)
{
	(void)state;
	static const double rates[] = {20, 80, 333, 1000};
	static struct dispatch_bucket b;
	enum { MAX = 30000 };
	int64_t *sends = calloc(MAX, sizeof *sends);
	for (int k = 0; k < 4; k++) {
		double rate = rates[k];
		/* polling every 0.3 ms */
		dispatch_bucket_init(&b, rate, 0);
		int n = drive(&b, 300000, 0, 0, sends, MAX);
		if (n < (int)(rate * 20 * 0.999) - 2 || n > (int)(rate * 20) + 2)
			fail_msg("rate %.0f: %d sends in 20 s", rate, n);
		/* no one-second window, wherever it starts, over the rate */
		assert_true(busiest_second(sends, n) <= (int)rate);
		/* a sender kept away 50 ms out of every 250 ms catches up: still
		 * the rate over the 20 s, still never over it in a second */
		dispatch_bucket_init(&b, rate, 0);
		n = drive(&b, 300000, 250000000, 50000000, sends, MAX);
		if (n < (int)(rate * 20 * 0.99) - 2)
			fail_msg("rate %.0f with stalls: %d sends in 20 s", rate, n);
		assert_true(busiest_second(sends, n) <= (int)rate);
		/* a coarse sender (one look every 7 ms) loses no fraction either */
		dispatch_bucket_init(&b, rate, 0);
		n = drive(&b, 7000000, 0, 0, sends, MAX);
		if (n < (int)(rate * 20 * 0.99) - 2)
			fail_msg("rate %.0f polled every 7 ms: %d sends", rate, n);
		assert_true(busiest_second(sends, n) <= (int)rate);
	}
	free(sends);
}

static void test_bucket_idle_and_slow(void **state)
{
	(void)state;
	static struct dispatch_bucket b;
	dispatch_bucket_init(&b, 1000, 0);
	/* an hour idle saves no more than a tenth of a second's tokens */
	int n = 0;
	int64_t t0 = 3600LL * 1000000000LL;
	while (dispatch_bucket_take(&b, t0))
		n++;
	assert_int_equal(n, 100);
	/* then the next one comes in a millisecond */
	int64_t w = dispatch_bucket_wait_ns(&b, t0);
	assert_true(w > 900000 && w <= 1000001);
	/* halved: 500 in a second, not 1000 */
	dispatch_bucket_set_rate(&b, 500, t0);
	int64_t t1 = t0 + 2000000000LL; /* the burst above has left the window */
	for (int64_t t = t0; t < t1; t += 100000)
		while (dispatch_bucket_take(&b, t))
			;
	n = 0;
	for (int64_t t = t1; t < t1 + 1000000000LL; t += 100000)
		while (dispatch_bucket_take(&b, t))
			n++;
	assert_true(n >= 495 && n <= 500);
	/* a full window makes the wait reach to when its first send is a
	 * second old */
	dispatch_bucket_init(&b, 10, 0);
	for (int64_t t = 0; t < 1000000000LL; t += 1000000)
		dispatch_bucket_take(&b, t);
	assert_int_equal(b.sends, 10);
	b.tokens = b.burst; /* tokens are there: only the window holds it back */
	b.at_ns = 999000000;
	assert_int_equal(dispatch_bucket_take(&b, 999000000), 0);
	assert_true(dispatch_bucket_wait_ns(&b, 999000000) > 0);
}

/* ---- the fixture ---- */

struct fx {
	char dir[256];
	struct store *st;
	struct ingest *ing;
	struct http_server *hook_srv, *sim_srv;
	struct sim *sim;
	struct dispatch *d;
	uint8_t key[SEC_KEY_BYTES];
	char org[ID_SIZE];
	char num[ID_SIZE];
	char contact[ID_SIZE];
	char base[64];
	char graph[96];
	struct outbox_retry retry;
	int seq;
};

static int h_hook(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct fx *f = ud;
	const char *sig = http_header(req, "X-Hub-Signature-256");
	if (!sig || !req->body ||
	    sec_verify_hub_signature(sig, SECRET, req->body, req->body_len) != 0) {
		http_reply_text(resp, 401, "text/plain", "bad signature");
		return 0;
	}
	if (ingest_accept(f->ing, req->body, req->body_len, sig, NULL) != 0) {
		http_reply_text(resp, 500, "text/plain", "not stored");
		return 0;
	}
	http_reply_text(resp, 200, "text/plain", "EVENT_RECEIVED");
	return 0;
}

static const struct http_route hook_routes[] = {
	{"POST", "/hook", h_hook, 0},
	{NULL, NULL, NULL, 0},
};

static struct fx *fx_new(int rate, const char *token)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof f->dir, "%s/cw-dispatch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	char url[320];
	snprintf(url, sizeof url, "sqlite:%s/cw.db", f->dir);
	assert_int_equal(store_open(url, &f->st), 0);
	assert_int_equal(store_migrate(f->st, NULL), 0);
	sec_random(f->key, sizeof f->key);
	assert_int_equal(org_create(f->st, "Clinic", "clinic", "IL", "en", "Asia/Jerusalem", f->org),
			 0);
	assert_int_equal(number_add(f->st, f->key, f->org, PNID, WABA, "+97235550100", token, rate,
				    f->num),
			 0);
	id_new(f->contact);
	struct store_val c[] = {SV_TEXT(f->contact), SV_TEXT(f->org),	 SV_TEXT("+972521234567"),
				SV_TEXT("972521234567"), SV_TEXT("052"), SV_TEXT("Noa"),
				SV_TEXT("he"),		 SV_NULL,	 SV_INT(time_now_ms())};
	assert_int_equal(store_exec(f->st, "contact.insert_inbound", c, 9, NULL), 0);

	f->ing = ingest_new(f->st);
	ingest_add_event(f->ing, "outbox", outbox_on_event, NULL);
	assert_int_equal(ingest_start(f->ing), 0);
	f->hook_srv = http_server_new("127.0.0.1:0", 2);
	http_server_set_access_log(f->hook_srv, 0);
	http_server_mount(f->hook_srv, hook_routes, f);
	assert_int_equal(http_server_start(f->hook_srv), 0);
	char hook[96];
	snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hook", http_server_port(f->hook_srv));

	struct sim_config cfg = {.webhook_url = hook,
				 .app_secret = SECRET,
				 .access_token = TOKEN,
				 .auto_users = 1,
				 .status_delay_ms = 20,
				 .timeout_ms = 200,
				 .webhook_retry_ms = 50,
				 .phone_number_id = PNID,
				 .waba_id = WABA};
	f->sim = sim_new(&cfg);
	assert_non_null(f->sim);
	assert_int_equal(sim_add_template(f->sim, WABA, "promo", "he", "MARKETING", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Check-up week\"}]"),
			 0);
	assert_int_equal(sim_add_template(f->sim, WABA, "reminder", "he", "UTILITY", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"See you soon\"}]"),
			 0);
	f->sim_srv = http_server_new("127.0.0.1:0", 16);
	http_server_set_access_log(f->sim_srv, 0);
	sim_mount(f->sim, f->sim_srv, "/graph", "/sim");
	assert_int_equal(sim_start(f->sim), 0);
	assert_int_equal(http_server_start(f->sim_srv), 0);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", http_server_port(f->sim_srv));
	snprintf(f->graph, sizeof f->graph, "%s/graph", f->base);

	struct wa_client_config w = {.graph_url = f->graph, .total_timeout_ms = 5000};
	f->d = dispatch_new(f->st, f->key, &w);
	assert_non_null(f->d);
	dispatch_set_template_sync(f->d, 0);
	dispatch_set_grace(f->d, 1000);
	outbox_retry_defaults(&f->retry);
	f->retry.delay_scale = 0.01; /* a 30 s back-off is 0.3 s here */
	dispatch_set_retry(f->d, &f->retry);
	return f;
}

static void fx_free(struct fx *f)
{
	dispatch_free(f->d);
	sim_stop(f->sim);
	http_server_free(f->sim_srv);
	sim_free(f->sim);
	http_server_free(f->hook_srv);
	ingest_free(f->ing);
	store_free(f->st);
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/cw.db%s", f->dir, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
}

static int teardown(void **state)
{
	if (*state)
		fx_free(*state);
	time_clock_set(-1);
	orgconf_cache_clear();
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- the simulator's control API ---- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

static json_t *sim_call(struct fx *f, const char *method, const char *path, const char *body)
{
	CURL *c = curl_easy_init();
	struct buf b;
	buf_init(&b, 16 * 1024 * 1024);
	char url[512];
	snprintf(url, sizeof url, "%s%s", f->base, path);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	json_t *j = b.data ? json_loads(b.data, 0, NULL) : NULL;
	buf_release(&b);
	assert_non_null(j);
	return j;
}

static int64_t sim_accepted(struct fx *f)
{
	json_t *s = sim_call(f, "GET", "/sim/stats", NULL);
	int64_t n = json_integer_value(json_object_get(s, "accepted_total"));
	json_decref(s);
	return n;
}

/* The most messages the simulator accepted in one second from PNID. */
static int sim_max_per_second(struct fx *f)
{
	json_t *s = sim_call(f, "GET", "/sim/stats", NULL);
	int most = (int)json_integer_value(json_path(s, "by_number." PNID ".max_per_second"));
	json_decref(s);
	return most;
}

/* ---- queueing ---- */

struct enq {
	struct outbox_item it;
	int n;
	const char *const *keys;
	json_t **bodies;
	char (*ids)[ID_SIZE];
};

static int enq_fn(struct store_tx *tx, void *ud)
{
	struct enq *e = ud;
	for (int i = 0; i < e->n; i++) {
		struct outbox_item it = e->it;
		it.idem_key = e->keys[i];
		it.payload = e->bodies[i];
		int dup;
		int rc = outbox_enqueue_tx(tx, &it, e->ids[i], &dup);
		if (rc)
			return rc;
	}
	return 0;
}

/* A template message (the simulator refuses free text outside the 24-hour
 * window, as Meta does). */
static json_t *template_to(const char *to, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}", "messaging_product", "whatsapp",
			 "recipient_type", "individual", "to", to, "type", "template", "template",
			 "name", name, "language", "code", "he");
}

/* Queues n text messages to distinct simulated users ("97250" + 7 digits
 * from first_user); ids (may be NULL) gets their ids. */
static void queue_many(struct fx *f, int n, int first_user, int prio, const char *purpose,
		       int64_t not_before, int64_t expires_at, char (*ids)[ID_SIZE])
{
	enum { CHUNK = 500 };
	char (*tmp)[ID_SIZE] = calloc(CHUNK, ID_SIZE);
	char (*keys)[48] = calloc(CHUNK, 48);
	const char **kp = calloc(CHUNK, sizeof *kp);
	json_t **bodies = calloc(CHUNK, sizeof *bodies);
	for (int done = 0; done < n; done += CHUNK) {
		int m = n - done < CHUNK ? n - done : CHUNK;
		for (int i = 0; i < m; i++) {
			char to[24];
			snprintf(to, sizeof to, "97250%07d", first_user + done + i);
			snprintf(keys[i], 48, "test:%d", f->seq++);
			kp[i] = keys[i];
			bodies[i] = template_to(to, strcmp(purpose, "marketing") == 0 ? "promo"
										   : "reminder");
		}
		struct enq e = {.it = {.org_id = f->org,
				       .number_id = f->num,
				       .contact_id = f->contact,
				       .purpose = purpose,
				       .producer = prio ? "campaign:1" : "sched",
				       .priority = prio,
				       .not_before = not_before,
				       .expires_at = expires_at,
				       .deferred = not_before > time_now_ms()},
				.n = m,
				.keys = kp,
				.bodies = bodies,
				.ids = ids ? ids + done : tmp};
		assert_int_equal(store_tx(f->st, enq_fn, &e), 0);
		for (int i = 0; i < m; i++)
			json_decref(bodies[i]);
	}
	free(tmp);
	free(keys);
	free(kp);
	free(bodies);
	dispatch_wake(f->d);
}

static int64_t q(struct fx *f, const char *sql, const char *arg);
static char *q_text(struct fx *f, const char *sql, const char *arg);

static int int_cb(void *ud, const struct store_row *row)
{
	*(int64_t *)ud = store_row_is_null(row, 0) ? -999 : store_row_int(row, 0);
	return 1;
}

static int64_t q(struct fx *f, const char *sql, const char *arg)
{
	int64_t v = -1;
	struct store_val a[] = {SV_TEXT(arg)};
	assert_true(store_query_sql(f->st, sql, a, arg ? 1 : 0, int_cb, &v) >= 0);
	return v;
}

static int dump_cb(void *ud, const struct store_row *row)
{
	(void)ud;
	fprintf(stderr, "#   %s: %lld (attempts %lld, error %s)\n", store_row_text(row, 0),
		(long long)store_row_int(row, 1), (long long)store_row_int(row, 2),
		store_row_text(row, 3) ? store_row_text(row, 3) : "-");
	return 0;
}

/* Waits up to ms for SQL (no argument) to give want; on a timeout prints
 * where the rows are, for the reader of a failed run. */
static int wait_for(struct fx *f, const char *sql, int64_t want, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (q(f, sql, NULL) == want)
			return 1;
		sleep_ms(20);
	}
	if (q(f, sql, NULL) == want)
		return 1;
	fprintf(stderr, "# waited for %lld from: %s; got %lld; the outbox:\n", (long long)want,
		sql, (long long)q(f, sql, NULL));
	store_query_sql(f->st,
			"SELECT state, count(*), max(attempts), max(error_title) FROM outbox "
			"GROUP BY state",
			NULL, 0, dump_cb, NULL);
	return 0;
}

/* ---- tests ---- */

static void test_sends_batch_once(void **state)
{
	struct fx *f = fx_new(400, TOKEN);
	*state = f;
	assert_int_equal(dispatch_start(f->d), 0);
	char(*ids)[ID_SIZE] = calloc(300, ID_SIZE);
	queue_many(f, 300, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, ids);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 300, 10000));
	assert_int_equal(sim_accepted(f), 300);
	assert_int_equal(q(f, "SELECT count(*) FROM messages WHERE wamid IS NULL", NULL), 0);
	/* the phone shows our id in biz_opaque_callback_data */
	json_t *t = sim_call(f, "GET", "/sim/users/972500000007/messages", NULL);
	json_t *m = json_array_get(json_object_get(t, "messages"), 0);
	assert_string_equal(json_str_or(m, "biz_opaque_callback_data", ""), ids[6]);
	json_decref(t);
	/* status webhooks come back through the ingest: everyone read it */
	assert_true(wait_for(f, "SELECT count(*) FROM messages WHERE status = 'read'", 300, 10000));
	/* every answer counted once, also one a webhook overtook (the row was
	 * sent already when the keeper recorded its answer) */
	struct dispatch_stats ds;
	for (int t = 0; t < 5000; t += 20) {
		dispatch_get_stats(f->d, &ds);
		if (ds.sent >= 300)
			break;
		sleep_ms(20);
	}
	assert_int_equal(ds.sent, 300);
	assert_int_equal(ds.requests, 300);
	assert_int_equal(ds.failed, 0);
	/* /metrics shows the same counts, and the number sending at its rate */
	struct buf mt;
	buf_init(&mt, 0);
	assert_int_equal(dispatch_metrics(f->d, &mt), 0);
	assert_non_null(strstr(mt.data, "# TYPE carewire_dispatch_sent_total counter\n"
				       "carewire_dispatch_sent_total 300\n"));
	assert_non_null(strstr(mt.data, "\ncarewire_dispatch_requests_total 300\n"));
	assert_non_null(strstr(mt.data, "\ncarewire_dispatch_failed_total 0\n"));
	assert_non_null(strstr(mt.data, "# TYPE carewire_dispatch_inflight gauge\n"));
	char line[128];
	snprintf(line, sizeof line, "\ncarewire_dispatch_number_paused{number=\"%s\"} 0\n", f->num);
	assert_non_null(strstr(mt.data, line));
	snprintf(line, sizeof line, "\ncarewire_dispatch_number_rate{number=\"%s\"} 400\n", f->num);
	assert_non_null(strstr(mt.data, line));
	buf_release(&mt);
	/* no dispatcher (carewire migrate): nothing */
	buf_init(&mt, 0);
	assert_int_equal(dispatch_metrics(NULL, &mt), 0);
	assert_int_equal(mt.len, 0);
	buf_release(&mt);
	free(ids);
}

static void test_rate_held(void **state)
{
	struct fx *f = fx_new(40, TOKEN);
	*state = f;
	assert_int_equal(dispatch_start(f->d), 0);
	int64_t t0 = time_mono_ms();
	queue_many(f, 160, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, NULL);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 160, 15000));
	int64_t took = time_mono_ms() - t0;
	/* 160 at 40/s: four seconds, give or take the first token */
	assert_true(took >= 3800);
	assert_true(sim_max_per_second(f) <= 41);
	assert_int_equal(sim_accepted(f), 160);
}

static void test_faults_exactly_once(void **state)
{
	struct fx *f = fx_new(500, TOKEN);
	*state = f;
	json_decref(sim_call(f, "POST", "/sim/faults",
			     "{\"http_429\":0.1,\"http_5xx\":0.05,\"latency_ms\":20}"));
	assert_int_equal(dispatch_start(f->d), 0);
	queue_many(f, 1000, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, NULL);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 1000, 40000));
	/* every message accepted exactly once, never over the rate */
	assert_int_equal(sim_accepted(f), 1000);
	assert_true(sim_max_per_second(f) <= 510);
	json_t *s = sim_call(f, "GET", "/sim/stats", NULL);
	assert_true(json_integer_value(json_path(s, "rejected.429")) > 0);
	assert_true(json_integer_value(json_path(s, "rejected.5xx")) > 0);
	json_decref(s);
	assert_int_equal(q(f, "SELECT count(DISTINCT wamid) FROM outbox", NULL), 1000);
	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	assert_true(ds.retried > 0);
	assert_int_equal(ds.failed, 0);
}

/* A reminder queued behind a campaign overtakes every campaign message not
 * already in the sender's hands. How long that takes depends on the machine;
 * how many campaign messages can go first does not: the rows claimed ahead
 * (half a second's worth, 50 at 100/s) and those of a claim that was under
 * way when the reminder was queued, 50 more. The integration test holds the
 * wall-clock bar (within a second, behind 100,000). */
/* Several messages to one person, with random latency at the Cloud API:
 * they reach the phone in the order they were queued (a confirmation, then
 * the parking details, then the map pin), because a person's next message
 * waits for the request of the one before; two people interleaved do not
 * wait for each other's order. */
static void test_one_person_in_order(void **state)
{
	enum { N = 8 };
	struct fx *f = fx_new(100, TOKEN);
	*state = f;
	assert_int_equal(dispatch_start(f->d), 0);
	json_decref(sim_call(f, "POST", "/sim/faults", "{\"latency_ms\":120}"));
	char ids[2 * N][ID_SIZE], keys[2 * N][48];
	const char *kp[2 * N];
	json_t *bodies[2 * N];
	for (int i = 0; i < 2 * N; i++) {
		snprintf(keys[i], sizeof keys[i], "order:%d", i);
		kp[i] = keys[i];
		bodies[i] = template_to(i % 2 ? "972500000002" : "972500000001", "reminder");
	}
	struct enq e = {.it = {.org_id = f->org,
			       .number_id = f->num,
			       .contact_id = f->contact,
			       .purpose = "reminders",
			       .producer = "journey:rsvp",
			       .priority = OUTBOX_PRIO_TRANSACTIONAL},
			.n = 2 * N,
			.keys = kp,
			.bodies = bodies,
			.ids = ids};
	assert_int_equal(store_tx(f->st, enq_fn, &e), 0);
	for (int i = 0; i < 2 * N; i++)
		json_decref(bodies[i]);
	dispatch_wake(f->d);
	assert_true(
	    wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 2 * N, 20000));
	for (int u = 0; u < 2; u++) {
		json_t *t = sim_call(f, "GET",
				     u ? "/sim/users/972500000002/messages"
				       : "/sim/users/972500000001/messages",
				     NULL);
		json_t *ms = json_object_get(t, "messages");
		int seen = 0;
		for (size_t i = 0; i < json_array_size(ms); i++) {
			json_t *m = json_array_get(ms, i);
			if (strcmp(json_str_or(m, "from", ""), "business") != 0)
				continue;
			assert_true(seen < N);
			assert_string_equal(json_str_or(m, "biz_opaque_callback_data", ""),
					    ids[2 * seen + u]);
			seen++;
		}
		assert_int_equal(seen, N);
		json_decref(t);
	}
	json_decref(sim_call(f, "POST", "/sim/faults", "{}"));
}

/* One person with many messages queued does not hold up everyone else: at
 * 20/s the number claims 10 rows ahead, all of them this person's; the ones
 * waiting for the person's request do not count against that, and past the
 * held list (4 here) they are deferred to the outbox for a second, in order.
 * The other ten people's messages go long before the person's last. */
static void test_busy_person_holds_up_nobody(void **state)
{
	enum { P = 30, O = 10 };
	struct fx *f = fx_new(20, TOKEN);
	*state = f;
	dispatch_set_held_max(f->d, 4);
	assert_int_equal(dispatch_start(f->d), 0);
	json_decref(sim_call(f, "POST", "/sim/faults", "{\"latency_ms\":100}"));
	char ids[P + O][ID_SIZE], keys[P + O][48];
	const char *kp[P + O];
	json_t *bodies[P + O];
	for (int i = 0; i < P + O; i++) {
		char to[24];
		snprintf(to, sizeof to, "97250%07d", i < P ? 1 : 100 + i);
		snprintf(keys[i], sizeof keys[i], "busy:%d", i);
		kp[i] = keys[i];
		bodies[i] = template_to(to, "reminder");
	}
	struct enq e = {.it = {.org_id = f->org,
			       .number_id = f->num,
			       .contact_id = f->contact,
			       .purpose = "reminders",
			       .producer = "api",
			       .priority = OUTBOX_PRIO_TRANSACTIONAL},
			.n = P + O,
			.keys = kp,
			.bodies = bodies,
			.ids = ids};
	assert_int_equal(store_tx(f->st, enq_fn, &e), 0);
	for (int i = 0; i < P + O; i++)
		json_decref(bodies[i]);
	dispatch_wake(f->d);
	assert_true(
	    wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", P + O, 30000));
	/* the others' last went before the person's 20th */
	int64_t others_last = 0, person_20th = 0;
	for (int i = 0; i < P + O; i++) {
		int64_t at = q(f, "SELECT sent_at FROM outbox WHERE id = ?1", ids[i]);
		if (i >= P && at > others_last)
			others_last = at;
		if (i == 19)
			person_20th = at;
	}
	if (others_last >= person_20th)
		fail_msg("the other people's messages waited for the busy one: last at %lld, the "
			 "person's 20th at %lld",
			 (long long)others_last, (long long)person_20th);
	/* and the person's arrived in queue order, deferrals and all */
	json_t *t = sim_call(f, "GET", "/sim/users/972500000001/messages", NULL);
	json_t *ms = json_object_get(t, "messages");
	int seen = 0;
	for (size_t i = 0; i < json_array_size(ms); i++) {
		json_t *m = json_array_get(ms, i);
		if (strcmp(json_str_or(m, "from", ""), "business") != 0)
			continue;
		assert_true(seen < P);
		assert_string_equal(json_str_or(m, "biz_opaque_callback_data", ""), ids[seen]);
		seen++;
	}
	assert_int_equal(seen, P);
	json_decref(t);
	/* some went past the held list and were deferred */
	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	assert_true(ds.deferred > 0);
	json_decref(sim_call(f, "POST", "/sim/faults", "{}"));
}

static void test_transactional_first(void **state)
{
	struct fx *f = fx_new(100, TOKEN);
	*state = f;
	assert_int_equal(dispatch_start(f->d), 0);
	queue_many(f, 3000, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, NULL);
	assert_true(wait_for(f, "SELECT count(*) > 50 FROM outbox WHERE state = 'sent'", 1, 10000));
	char id[1][ID_SIZE];
	queue_many(f, 1, 9000000, OUTBOX_PRIO_TRANSACTIONAL, "reminders", 0, 0, id);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE id = '%s' AND state = 'sent'",
		 id[0]);
	assert_true(wait_for(f, sql, 1, 10000));
	int64_t queued_at = q(f, "SELECT created_at FROM outbox WHERE id = ?1", id[0]);
	int64_t sent_at = q(f, "SELECT sent_at FROM outbox WHERE id = ?1", id[0]);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM outbox WHERE priority = 1 AND sent_at > %lld AND "
		 "sent_at < %lld",
		 (long long)queued_at, (long long)sent_at);
	int64_t before = q(f, sql, NULL);
	/* 2 x 50, and the few requests that were running when it was queued */
	if (before > 2 * 50 + 10)
		fail_msg("%lld campaign messages went between the reminder's queueing and its "
			 "sending (%lld ms)",
			 (long long)before, (long long)(sent_at - queued_at));
	/* the campaign is still going */
	assert_true(q(f, "SELECT count(*) FROM outbox WHERE state IN ('queued','sending')", NULL) >
		    2000);
}

static void test_pause_on_bad_token(void **state)
{
	struct fx *f = fx_new(50, "not-the-token");
	*state = f;
	int64_t t0 = time_mono_ms();
	assert_int_equal(dispatch_start(f->d), 0);
	queue_many(f, 20, 1, OUTBOX_PRIO_TRANSACTIONAL, "reminders", 0, 0, NULL);
	assert_true(wait_for(f, "SELECT count(*) FROM numbers WHERE status = 'paused'", 1, 5000));
	int64_t took = time_mono_ms() - t0;
	/* everything waits queued; no attempt was counted against a message */
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'queued'", 20, 3000));
	assert_int_equal(q(f, "SELECT max(attempts) FROM outbox", NULL), 0);
	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	uint64_t req = ds.requests;
	sleep_ms(600);
	dispatch_get_stats(f->d, &ds);
	/* paused: no more requests. Until the first 401 was recorded the number
	 * sent at its rate (a busy machine takes longer to get there): no more
	 * than the bucket allowed in that time. */
	assert_int_equal(ds.requests, req);
	assert_true(req >= 1);
	if ((int64_t)req > 2 + 50 * took / 1000 + 1)
		fail_msg("%llu requests in the %lld ms before the pause", (unsigned long long)req,
			 (long long)took);
	assert_int_equal(sim_accepted(f), 0);
	/* and /metrics says so */
	struct buf mt;
	buf_init(&mt, 0);
	assert_int_equal(dispatch_metrics(f->d, &mt), 0);
	char line[128];
	snprintf(line, sizeof line, "\ncarewire_dispatch_number_paused{number=\"%s\"} 1\n", f->num);
	assert_non_null(strstr(mt.data, line));
	buf_release(&mt);
}

static void test_expiry(void **state)
{
	struct fx *f = fx_new(50, TOKEN);
	*state = f;
	int64_t now = time_now_ms();
	char ids[2][ID_SIZE];
	/* deferred until after its useful time: expires where it waits */
	queue_many(f, 1, 1, OUTBOX_PRIO_TRANSACTIONAL, "reminders", now + 60000, now + 400, ids);
	/* already too late when the dispatcher sees it */
	queue_many(f, 1, 2, OUTBOX_PRIO_TRANSACTIONAL, "reminders", 0, now - 1, ids + 1);
	assert_int_equal(dispatch_start(f->d), 0);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'expired'", 2, 4000));
	assert_true(wait_for(f, "SELECT count(*) FROM messages WHERE status = 'expired'", 2, 1000));
	assert_int_equal(sim_accepted(f), 0);
}

static void test_consent_recheck(void **state)
{
	struct fx *f = fx_new(50, TOKEN);
	*state = f;
	int64_t now = time_now_ms();
	char ids[2][ID_SIZE];
	queue_many(f, 1, 1, OUTBOX_PRIO_BULK, "marketing", now + 500, 0, ids);
	queue_many(f, 1, 2, OUTBOX_PRIO_TRANSACTIONAL, "service", now + 500, 0, ids + 1);
	/* the person withdraws every consent while the messages wait */
	static const char *const purposes[] = {"marketing", "service"};
	for (int i = 0; i < 2; i++) {
		struct store_val a[] = {SV_TEXT(f->org),	 SV_TEXT(f->contact), SV_TEXT(purposes[i]),
					SV_TEXT("withdrawn"), SV_TEXT("whatsapp"), SV_NULL,
					SV_NULL,	 SV_INT(now)};
		assert_int_equal(store_exec(f->st, "consent.insert", a, 8, NULL), 0);
	}
	assert_int_equal(dispatch_start(f->d), 0);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'cancelled'", 1, 4000));
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'cancelled' AND id = ?1",
			   ids[0]),
			 1);
	assert_int_equal(q(f, "SELECT count(*) FROM messages WHERE status = 'cancelled'", NULL), 1);
	/* a service message (answering the person) still goes */
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 1, 4000));
	assert_int_equal(sim_accepted(f), 1);
}

/* An integer from SQL with one %lld replaced by v. */
static int64_t qf(struct fx *f, const char *fmt, long long v)
{
	char sql[512];
	snprintf(sql, sizeof sql, fmt, v);
	return q(f, sql, NULL);
}

/* The pair limit is a schedule: the dispatcher holds a bulk message to a
 * person who got one less than 6 s before until exactly 6 s after that
 * request started. The wall clock is pinned, so the test reads the times
 * the dispatcher computed instead of racing them: nothing becomes due until
 * the test moves the clock, however slow the machine is. */
static void test_pair_limit_for_bulk(void **state)
{
	const int64_t t0 = time_now_ms() / 1000 * 1000;
	time_clock_set(t0);
	struct fx *f = fx_new(100, TOKEN);
	*state = f;
	assert_int_equal(dispatch_start(f->d), 0);
	/* three bulk messages to one person */
	char ids[5][ID_SIZE];
	for (int i = 0; i < 3; i++)
		queue_many(f, 1, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, ids + i);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 1, 5000));
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'deferred'", 2, 5000));
	/* one went at t0; the other two wait until t0 + 6 s, to the millisecond,
	 * held rather than attempted */
	assert_int_equal(q(f, "SELECT sent_at FROM outbox WHERE state = 'sent'", NULL), t0);
	assert_int_equal(q(f, "SELECT min(not_before) FROM outbox WHERE state = 'deferred'", NULL),
			 t0 + 6000);
	assert_int_equal(q(f, "SELECT max(not_before) FROM outbox WHERE state = 'deferred'", NULL),
			 t0 + 6000);
	assert_int_equal(q(f, "SELECT max(attempts) FROM outbox WHERE state = 'deferred'", NULL), 0);
	assert_int_equal(q(f,
			   "SELECT count(*) FROM outbox WHERE state = 'deferred' AND "
			   "error_title = 'held: one message per person per 6 s'",
			   NULL),
			 2);

	/* transactional messages are not held: reminders to users 1 and 2 go
	 * at once */
	queue_many(f, 2, 1, OUTBOX_PRIO_TRANSACTIONAL, "reminders", 0, 0, ids + 3);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 3, 5000));
	assert_int_equal(qf(f,
			    "SELECT count(*) FROM outbox WHERE priority = 0 AND state = 'sent' "
			    "AND sent_at = %lld",
			    (long long)t0),
			 2);
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'deferred'", NULL), 2);

	/* a millisecond early: still held */
	time_clock_set(t0 + 5999);
	dispatch_wake(f->d);
	sleep_ms(200);
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'deferred'", NULL), 2);
	assert_int_equal(sim_accepted(f), 3);

	/* at t0 + 6 s one of the two goes; the other is held for 6 s from that
	 * request */
	time_clock_set(t0 + 6000);
	dispatch_wake(f->d);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 4, 5000));
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'deferred'", 1, 5000));
	assert_int_equal(q(f, "SELECT not_before FROM outbox WHERE state = 'deferred'", NULL),
			 t0 + 12000);
	time_clock_set(t0 + 12000);
	dispatch_wake(f->d);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 5, 5000));
	assert_int_equal(sim_accepted(f), 5);
	/* so the person got the three bulk messages exactly 6 s apart */
	for (int k = 0; k < 3; k++)
		assert_int_equal(qf(f,
				    "SELECT count(*) FROM outbox WHERE priority = 1 AND "
				    "sent_at = %lld",
				    (long long)(t0 + 6000 * k)),
				 1);
	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	assert_int_equal(ds.requests, 5);
	assert_int_equal(ds.deferred, 3);
}

/* ---- deferred by policy: decided again when due ---- */

#define HOUR_MS (3600LL * 1000)
/* Sunday 2026-11-22 20:00 UTC: 22:00 in Jerusalem, quiet hours (21:00 to
 * 08:00 by default). */
#define NIGHT1 1795377600000LL
#define MORNING2 (NIGHT1 + 10 * HOUR_MS) /* Monday 08:00 in Jerusalem */

/* A contact in Jerusalem who granted marketing consent a day before NIGHT1. */
static void add_contact(struct fx *f, const char *wa_id, char id[ID_SIZE])
{
	char phone[32];
	snprintf(phone, sizeof phone, "+%s", wa_id);
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),	   SV_TEXT(f->org),	    SV_TEXT(phone),
				SV_TEXT(wa_id),	   SV_TEXT(phone),	    SV_TEXT("Test"),
				SV_TEXT("he"),	   SV_TEXT("Asia/Jerusalem"), SV_NULL,
				SV_NULL,	   SV_TEXT("patient"),	    SV_NULL,
				SV_INT(NIGHT1 - 30 * 24 * HOUR_MS)};
	assert_int_equal(store_exec(f->st, "contact.upsert", a, 13, NULL), 0);
	struct store_val c[] = {SV_TEXT(f->org),   SV_TEXT(id),	   SV_TEXT("marketing"),
				SV_TEXT("granted"), SV_TEXT("paper"), SV_TEXT("v1"),
				SV_TEXT("form 7"),  SV_INT(NIGHT1 - 24 * HOUR_MS)};
	assert_int_equal(store_exec(f->st, "consent.insert", c, 8, NULL), 0);
}

/* A marketing template message through the one send path, at the pinned
 * time: policy decides, the decision is stored, the row queued. */
static void submit_marketing(struct fx *f, const char *contact, const char *key,
			     struct send_result *res)
{
	json_t *body = template_to("0", "promo");
	struct send_request rq = {.org_id = f->org,
				  .contact_id = contact,
				  .purpose = POLICY_MARKETING,
				  .payload = body,
				  .producer = "campaign:7",
				  .idem_key = key,
				  .priority = -1};
	assert_int_equal(send_submit(f->st, &rq, res), 0);
	json_decref(body);
}

static char *latest_decision(struct fx *f, const char *msg)
{
	return q_text(f,
		      "SELECT outcome || ' ' || reason FROM decisions WHERE message_id = ?1 "
		      "ORDER BY at DESC, seq DESC LIMIT 1",
		      msg);
}

static void assert_latest_decision(struct fx *f, const char *msg, const char *want)
{
	char *got = latest_decision(f, msg);
	assert_string_equal(got, want);
	free(got);
}

/* A marketing message deferred by quiet hours gets a whole new decision
 * when it comes due: a contact who withdrew consent overnight gets nothing;
 * one still allowed gets it; one who is in quiet hours again waits again. */
static void test_policy_decides_again_when_due(void **state)
{
	time_clock_set(NIGHT1);
	struct fx *f = fx_new(50, TOKEN);
	*state = f;
	char id[ID_SIZE];
	id_new(id);
	struct store_val t[] = {SV_TEXT(id),	      SV_TEXT(f->org),	   SV_TEXT(WABA),
				SV_NULL,	      SV_TEXT("promo"),	   SV_TEXT("he"),
				SV_TEXT("MARKETING"), SV_TEXT("APPROVED"),
				SV_TEXT("[{\"type\":\"BODY\",\"text\":\"Check-up week\"}]"),
				SV_INT(0),	      SV_INT(0),	   SV_NULL,
				SV_NULL,	      SV_INT(NIGHT1)};
	assert_int_equal(store_exec(f->st, "template.insert", t, 14, NULL), 0);
	char withdraws[ID_SIZE], stays[ID_SIZE], night_owl[ID_SIZE];
	add_contact(f, "972521000001", withdraws);
	add_contact(f, "972521000002", stays);
	add_contact(f, "972521000003", night_owl);

	/* 22:00: both deferred to 08:00 */
	struct send_result a, b;
	submit_marketing(f, withdraws, "camp7:1", &a);
	submit_marketing(f, stays, "camp7:2", &b);
	assert_int_equal(a.decision.outcome, POLICY_DEFER);
	assert_int_equal(a.decision.reason, POLICY_R_QUIET_HOURS);
	assert_int_equal(a.decision.until, MORNING2);
	assert_int_equal(b.decision.outcome, POLICY_DEFER);
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'deferred'", NULL), 2);
	assert_int_equal(dispatch_start(f->d), 0);

	/* 22:30: the first person withdraws marketing consent */
	struct store_val w[] = {SV_TEXT(f->org),	SV_TEXT(withdraws), SV_TEXT("marketing"),
				SV_TEXT("withdrawn"), SV_TEXT("web"),	  SV_NULL,
				SV_NULL,	      SV_INT(NIGHT1 + HOUR_MS / 2)};
	assert_int_equal(store_exec(f->st, "consent.insert", w, 8, NULL), 0);
	time_clock_set(NIGHT1 + HOUR_MS / 2);
	dispatch_wake(f->d);
	sleep_ms(100);
	assert_int_equal(sim_accepted(f), 0);

	/* 08:00: policy decides again */
	time_clock_set(MORNING2);
	dispatch_wake(f->d);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 1, 5000));
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'cancelled'", 1, 5000));
	/* the withdrawn one is cancelled with the reason, never sent */
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'cancelled' AND id = ?1",
			   a.message_id),
			 1);
	char *why = q_text(f, "SELECT status || ' ' || error_title FROM messages WHERE id = ?1",
			   a.message_id);
	assert_non_null(strstr(why, "cancelled consent_withdrawn: "));
	free(why);
	assert_latest_decision(f, a.message_id, "deny consent_withdrawn");
	json_t *tr = sim_call(f, "GET", "/sim/users/972521000001/messages", NULL);
	assert_int_equal(json_array_size(json_object_get(tr, "messages")), 0);
	json_decref(tr);
	/* the other goes, on a decision of 08:00 */
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'sent' AND id = ?1",
			   b.message_id),
			 1);
	assert_latest_decision(f, b.message_id, "allow none");
	assert_int_equal(q(f, "SELECT at FROM decisions WHERE message_id = ?1 AND outcome = 'allow'",
			   b.message_id),
			 MORNING2);
	assert_int_equal(sim_accepted(f), 1);
	tr = sim_call(f, "GET", "/sim/users/972521000002/messages", NULL);
	assert_int_equal(json_array_size(json_object_get(tr, "messages")), 1);
	json_decref(tr);

	/* Monday 22:00: a third is deferred to Tuesday 08:00 ... */
	const int64_t night2 = MORNING2 + 14 * HOUR_MS;
	time_clock_set(night2);
	struct send_result c;
	submit_marketing(f, night_owl, "camp7:3", &c);
	assert_int_equal(c.decision.outcome, POLICY_DEFER);
	assert_int_equal(c.decision.until, night2 + 10 * HOUR_MS);
	/* ... and the dispatcher first looks at it on Tuesday at 21:30, in quiet
	 * hours again: deferred again, to Wednesday 08:00, not sent, not an
	 * attempt */
	time_clock_set(night2 + 23 * HOUR_MS + HOUR_MS / 2);
	dispatch_wake(f->d);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM decisions WHERE message_id = '%s'",
		 c.message_id);
	assert_true(wait_for(f, sql, 2, 5000));
	assert_latest_decision(f, c.message_id, "defer quiet_hours");
	assert_int_equal(q(f, "SELECT not_before FROM outbox WHERE id = ?1 AND state = 'deferred' "
			      "AND attempts = 0",
			   c.message_id),
			 night2 + 34 * HOUR_MS);
	assert_int_equal(q(f, "SELECT count(*) FROM messages WHERE id = ?1 AND status = 'queued'",
			   c.message_id),
			 1);
	sleep_ms(100);
	assert_int_equal(sim_accepted(f), 1);
	/* Wednesday 08:00: it goes */
	time_clock_set(night2 + 34 * HOUR_MS);
	dispatch_wake(f->d);
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 2, 5000));
	assert_latest_decision(f, c.message_id, "allow none");
	assert_int_equal(sim_accepted(f), 2);

	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	assert_int_equal(ds.rechecked, 4);
	assert_int_equal(ds.cancelled, 1);
	assert_int_equal(ds.deferred, 1);
	assert_int_equal(ds.requests, 2);
}

static void test_slowdown_on_429(void **state)
{
	struct fx *f = fx_new(200, TOKEN);
	*state = f;
	json_decref(sim_call(f, "POST", "/sim/faults", "{\"http_429\":1.0}"));
	f->retry.delay_scale = 0.05; /* 130429: 2 s → 0.1 s */
	dispatch_set_retry(f->d, &f->retry);
	assert_int_equal(dispatch_start(f->d), 0);
	queue_many(f, 2000, 1, OUTBOX_PRIO_BULK, "marketing", 0, 0, NULL);
	sleep_ms(500);
	struct dispatch_stats a, b;
	dispatch_get_stats(f->d, &a);
	sleep_ms(1000);
	dispatch_get_stats(f->d, &b);
	/* halved: about 100 requests a second, not 200 */
	uint64_t per_s = b.requests - a.requests;
	assert_true(per_s >= 80 && per_s <= 120);
	json_decref(sim_call(f, "POST", "/sim/faults", "{}"));
}

struct text_row {
	char *s;
};

static int text_row_cb(void *ud, const struct store_row *row)
{
	struct text_row *t = ud;
	const char *s = store_row_text(row, 0);
	t->s = s ? strdup(s) : NULL;
	return 1;
}

static char *q_text(struct fx *f, const char *sql, const char *arg)
{
	struct text_row t = {NULL};
	struct store_val a[] = {SV_TEXT(arg)};
	assert_true(store_query_sql(f->st, sql, a, 1, text_row_cb, &t) >= 0);
	assert_non_null(t.s);
	return t.s;
}

/* What a dispatcher does before sending: the rows are "sending" on disk. */
static int claim_fn(struct store_tx *tx, void *ud)
{
	struct store_val *a = ud;
	int rc = store_tx_query(tx, "outbox.claim", a, 5, NULL, NULL);
	return rc < 0 ? rc : 0;
}

static void test_crash_reconciliation(void **state)
{
	struct fx *f = fx_new(50, TOKEN);
	*state = f;
	char ids[3][ID_SIZE];
	queue_many(f, 3, 1, OUTBOX_PRIO_TRANSACTIONAL, "reminders", 0, 0, ids);
	/* a previous process claimed all three ... */
	struct store_val a[] = {SV_TEXT(f->num), SV_INT(0), SV_INT(time_now_ms()), SV_INT(10),
				SV_INT(1000)};
	assert_int_equal(store_tx(f->st, claim_fn, a), 0);
	assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'sending'", NULL), 3);
	/* ... sent the first, exactly as stored, and died before recording it */
	char *payload = q_text(f, "SELECT payload FROM outbox WHERE id = ?1", ids[0]);
	json_t *body = json_loads(payload, 0, NULL);
	free(payload);
	struct wa_client_config w = {.graph_url = f->graph};
	struct wa_client *cl = wa_client_new(&w);
	struct wa_send_result r;
	assert_int_equal(wa_client_send_sync(cl, PNID, TOKEN, body, &r), 0);
	assert_null(r.err_info);
	char wamid[128];
	snprintf(wamid, sizeof wamid, "%s", r.wamid);
	wa_send_result_release(&r);
	wa_client_free(cl);
	json_decref(body);

	/* the new process starts while the status webhooks are on their way */
	sleep_ms(5);
	int64_t boot = time_now_ms();
	assert_int_equal(dispatch_start(f->d), 0);
	/* the first is recognised by its webhook (biz_opaque_callback_data)
	 * and never sent again */
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 1, 3000));
	char *got = q_text(f, "SELECT coalesce(wamid, '') FROM outbox WHERE id = ?1", ids[0]);
	assert_string_equal(got, wamid);
	free(got);
	/* the other two wait out the grace period, then go once */
	assert_true(wait_for(f, "SELECT count(*) FROM outbox WHERE state = 'sent'", 3, 5000));
	assert_true(q(f, "SELECT min(sent_at) FROM outbox WHERE id <> ?1", ids[0]) >= boot + 1000);
	assert_int_equal(sim_accepted(f), 3);
	struct dispatch_stats ds;
	dispatch_get_stats(f->d, &ds);
	assert_int_equal(ds.reclaimed, 2);
	assert_int_equal(ds.requests, 2);
}

int main(void)
{
	sec_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_window_bound),
		cmocka_unit_test(test_bucket_idle_and_slow),
		cmocka_unit_test_teardown(test_sends_batch_once, teardown),
		cmocka_unit_test_teardown(test_rate_held, teardown),
		cmocka_unit_test_teardown(test_faults_exactly_once, teardown),
		cmocka_unit_test_teardown(test_transactional_first, teardown),
		cmocka_unit_test_teardown(test_pause_on_bad_token, teardown),
		cmocka_unit_test_teardown(test_expiry, teardown),
		cmocka_unit_test_teardown(test_consent_recheck, teardown),
		cmocka_unit_test_teardown(test_pair_limit_for_bulk, teardown),
		cmocka_unit_test_teardown(test_one_person_in_order, teardown),
		cmocka_unit_test_teardown(test_busy_person_holds_up_nobody, teardown),
		cmocka_unit_test_teardown(test_policy_decides_again_when_due, teardown),
		cmocka_unit_test_teardown(test_slowdown_on_429, teardown),
		cmocka_unit_test_teardown(test_crash_reconciliation, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
