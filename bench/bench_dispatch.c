/*
 * bench_dispatch — the dispatcher against the simulator (DESIGN.md §8):
 *
 *   one   one phone number configured at 1,000 messages/s, held for -d
 *         seconds (default 30) with a backlog that never runs dry: every
 *         second's count at the simulator must stay within 2 % of 1,000;
 *   ten   ten numbers at 1,000/s each: total messages/s (bar: >= 5,000);
 *
 * and the CPU time per message of carewire's side (the dispatcher, the
 * store's writer, libcurl), measured apart from the simulator's.
 *
 * The simulator runs in a child process (fork() before any thread), on its
 * own loopback port, without status webhooks: this measures the send path.
 * The parent holds the store (a temporary SQLite file, synchronous=FULL
 * unless -s normal) and the dispatcher, and queues the backlog with
 * outbox_enqueue_tx() before the clock starts.
 *
 *	bench_dispatch [-m one|ten|both] [-d SECONDS] [-s full|normal] [-o FILE]
 */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/dispatch.h"
#include "core/org.h"
#include "core/outbox.h"
#include "http/server.h"
#include "sim/sim.h"
#include "store/store.h"
#include "wa/client.h"
#include "base/banned.h"

#define TOKEN "bench-token"
#define WABA "102290129340398"
#define MAX_NUMBERS 10
#define RATE 1000
#define CHUNK 2000

/* ---- the simulator, in a child ---- */

static volatile sig_atomic_t child_stop;

static void on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

static pid_t start_sim(int *port)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(fds[1]);
		if (pid < 0 || read(fds[0], port, sizeof *port) != (ssize_t)sizeof *port)
			pid = -1;
		close(fds[0]);
		return pid;
	}
	close(fds[0]);
	signal(SIGTERM, on_term);
	log_set_level(LOG_WARN);
	/* No simulated users: every send is accepted and counted (its failure,
	 * 131026, would come later as a webhook, which is off here), and the
	 * simulator keeps no transcripts. */
	struct sim_config cfg = {.access_token = TOKEN, .auto_users = 0, .waba_id = WABA};
	struct sim *s = sim_new(&cfg);
	struct http_server *srv = http_server_new("127.0.0.1:0", 32);
	if (!s || !srv)
		_exit(1);
	http_server_set_access_log(srv, 0);
	sim_add_template(s, NULL, "promo", "he", "MARKETING", "APPROVED",
			 "[{\"type\":\"BODY\",\"text\":\"Check-up week at the clinic\"}]");
	sim_mount(s, srv, "", "/sim");
	if (sim_start(s) || http_server_start(srv))
		_exit(1);
	int p = http_server_port(srv);
	if (write(fds[1], &p, sizeof p) != (ssize_t)sizeof p)
		_exit(1);
	close(fds[1]);
	while (!child_stop)
		pause();
	sim_stop(s);
	http_server_free(srv);
	sim_free(s);
	_exit(0);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

static json_t *sim_get(int port, const char *path)
{
	CURL *c = curl_easy_init();
	struct buf b;
	buf_init(&b, 16 * 1024 * 1024);
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	json_t *j = cc == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
	buf_release(&b);
	return j;
}

/* ---- the backlog ---- */

struct load {
	const char *org, *number;
	int number_index;
	long from, to;
};

static int load_fn(struct store_tx *tx, void *ud)
{
	struct load *l = ud;
	for (long i = l->from; i < l->to; i++) {
		char to[24], key[64], id[ID_SIZE];
		snprintf(to, sizeof to, "9725%d%07ld", l->number_index, i % 19000);
		snprintf(key, sizeof key, "bench:%d:%ld", l->number_index, i);
		json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}",
					 "messaging_product", "whatsapp", "recipient_type",
					 "individual", "to", to, "type", "template", "template",
					 "name", "promo", "language", "code", "he");
		struct outbox_item it = {.org_id = l->org,
					 .number_id = l->number,
					 .idem_key = key,
					 .purpose = "marketing",
					 .producer = "campaign:bench",
					 .priority = OUTBOX_PRIO_BULK,
					 .payload = body};
		int dup;
		int rc = outbox_enqueue_tx(tx, &it, id, &dup);
		json_decref(body);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- one run ---- */

struct result {
	int numbers;
	int seconds;
	long sent;
	double per_s;
	int min_s, max_s; /* per-second counts of one number, full seconds */
	char series[1024]; /* those counts */
	double cpu_ms_per_msg;
	double queue_s; /* time to queue the backlog */
};

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int64_t accepted_total(int port)
{
	json_t *s = sim_get(port, "/sim/stats");
	int64_t n = s ? json_integer_value(json_object_get(s, "accepted_total")) : -1;
	json_decref(s);
	return n;
}

static int run(int nnumbers, int seconds, const char *sync, struct result *res)
{
	memset(res, 0, sizeof *res);
	res->numbers = nnumbers;
	res->seconds = seconds;
	int port = 0;
	pid_t sim = start_sim(&port);
	if (sim < 0) {
		fprintf(stderr, "the simulator did not start\n");
		return 1;
	}
	char dir[] = "/tmp/cw-bench-dispatch-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char url[256], graph[64];
	snprintf(url, sizeof url, "sqlite:%s/cw.db?sync=%s", dir, sync);
	snprintf(graph, sizeof graph, "http://127.0.0.1:%d", port);
	struct store *st = NULL;
	if (store_open(url, &st) || store_migrate(st, NULL))
		return 1;
	uint8_t key[SEC_KEY_BYTES];
	sec_random(key, sizeof key);
	char org[ID_SIZE], nums[MAX_NUMBERS][ID_SIZE];
	org_create(st, "Bench clinic", "clinic", "IL", "he", "Asia/Jerusalem", org);
	/* a backlog that outlasts the run: the rate, never the queue, limits */
	long per_number = (long)RATE * (seconds + 8);
	double q0 = time_mono_ms();
	for (int n = 0; n < nnumbers; n++) {
		char pnid[32];
		snprintf(pnid, sizeof pnid, "10654035224%04d", n);
		if (number_add(st, key, org, pnid, WABA, "+97235550100", TOKEN, RATE, nums[n]))
			return 1;
		for (long from = 0; from < per_number; from += CHUNK) {
			struct load l = {org, nums[n], n, from,
					 from + CHUNK < per_number ? from + CHUNK : per_number};
			if (store_tx(st, load_fn, &l))
				return 1;
		}
	}
	res->queue_s = (time_mono_ms() - q0) / 1000.0;

	struct wa_client_config w = {.graph_url = graph};
	struct dispatch *d = dispatch_new(st, key, &w);
	dispatch_set_template_sync(d, 0);
	double c0 = cpu_s();
	int64_t a0 = accepted_total(port);
	dispatch_start(d);
	/* one second to reach speed, then the measured seconds */
	sleep(1);
	int64_t a1 = accepted_total(port);
	double c1 = cpu_s(), t1 = time_mono_ms();
	sleep((unsigned)seconds);
	int64_t a2 = accepted_total(port);
	double c2 = cpu_s(), t2 = time_mono_ms();
	(void)a0;
	res->sent = (long)(a2 - a1);
	res->per_s = (double)(a2 - a1) / ((t2 - t1) / 1000.0);
	res->cpu_ms_per_msg = res->sent ? (c2 - c1) * 1000.0 / (double)res->sent : 0;
	(void)c0;

	/* per-second counts of the first number, over the measured window */
	json_t *s = sim_get(port, "/sim/stats");
	char path[96];
	snprintf(path, sizeof path, "by_number.10654035224%04d.per_second", 0);
	json_t *per = json_path(s, path);
	size_t n = json_array_size(per);
	res->min_s = 1 << 30;
	/* skip the first two and the last second (partial, or ramping up) */
	for (size_t i = 2; i + 1 < n; i++) {
		int c = (int)json_integer_value(json_array_get(json_array_get(per, i), 1));
		size_t used = strlen(res->series);
		snprintf(res->series + used, sizeof res->series - used, "%s%d", used ? " " : "", c);
		if (c < res->min_s)
			res->min_s = c;
		if (c > res->max_s)
			res->max_s = c;
	}
	json_decref(s);

	dispatch_free(d);
	store_free(st);
	kill(sim, SIGTERM);
	waitpid(sim, NULL, 0);
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/cw.db%s", dir, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void report(FILE *out, const char *sync, const struct result *r)
{
	fprintf(out,
		"dispatch, %d number%s at %d/s configured, %d s measured, sqlite synchronous=%s: "
		"%ld accepted, %.0f messages/s in total; per-second count of one number min %d "
		"max %d (%.2f%% / %+.2f%% of %d); carewire CPU %.3f ms per message "
		"(%.0f%% of one core); backlog queued in %.1f s\n",
		r->numbers, r->numbers > 1 ? "s" : "", RATE, r->seconds, sync, r->sent, r->per_s,
		r->min_s, r->max_s, 100.0 * (r->min_s - RATE) / RATE,
		100.0 * (r->max_s - RATE) / RATE, RATE, r->cpu_ms_per_msg,
		r->cpu_ms_per_msg * r->per_s / 10.0, r->queue_s);
	fprintf(out, "#   per second: %s\n", r->series);
	fflush(out);
}

int main(int argc, char **argv)
{
	const char *mode = "both", *sync = "full", *outpath = NULL;
	int seconds = 30;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-m") == 0)
			mode = argv[i + 1];
		else if (strcmp(argv[i], "-d") == 0)
			seconds = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-s") == 0)
			sync = argv[i + 1];
		else if (strcmp(argv[i], "-o") == 0)
			outpath = argv[i + 1];
	}
	if (seconds < 3)
		seconds = 3;
	sec_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_set_level(LOG_WARN);
	FILE *out = outpath ? fopen(outpath, "a") : stdout;
	if (!out)
		return 1;
	struct result r;
	int rc = 0;
	if (!rc && (strcmp(mode, "one") == 0 || strcmp(mode, "both") == 0)) {
		rc = run(1, seconds, sync, &r);
		if (!rc)
			report(out, sync, &r);
	}
	if (!rc && (strcmp(mode, "ten") == 0 || strcmp(mode, "both") == 0)) {
		rc = run(10, seconds < 10 ? seconds : 10, sync, &r);
		if (!rc)
			report(out, sync, &r);
	}
	if (out != stdout)
		fclose(out);
	curl_global_cleanup();
	return rc;
}
