/*
 * bench_send.c — the full send path: send_submit decisions per second,
 * including loading the policy inputs from the store, storing the decision
 * and its audit entry, and queueing the allowed and deferred messages.
 *
 *	bench_send [-c contacts] [-n submissions] [-b batch] [-t threads] [-d dir] [-o file]
 *
 * Sets up one clinic in a temporary SQLite file with a number, two approved
 * templates and c contacts (default 20,000) with consents (reminders 80 %,
 * marketing granted, refused or withdrawn), 30 % with an open window and
 * 2 % opted out; the clock is pinned to a weekday noon in Israel. Then:
 *  1. n submissions (default 50,000) inside store transactions of b
 *     (default 500), as a campaign or the scheduler producing in bulk does:
 *     60 % reminder templates, 25 % marketing templates, 15 % service
 *     replies (text, is_reply);
 *  2. the same mix one send_submit() per message — its own durable commit —
 *     from 1 thread and from t threads (default 8), as the API does.
 * Prints decisions/s and the outcome mix, and writes them to -o.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/text.h"
#include "base/time.h"
#include "core/org.h"
#include "core/orgconf.h"
#include "core/send.h"
#include "store/store.h"
#include "base/banned.h"

#define MAX_CONTACTS 1000000
#define SETUP_BATCH  5000
/* Tuesday 2026-11-24 10:00 UTC: noon in Israel. */
#define BENCH_NOW 1795514400000LL
#define DAY_MS	  86400000LL

static char org[ID_SIZE], number[ID_SIZE];
static char (*contacts)[ID_SIZE];
static int ncontacts = 20000;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (every thread: the caller and the
 * store's writer). */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint32_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static void line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(FILE *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (out) {
		va_start(ap, fmt);
		vfprintf(out, fmt, ap);
		va_end(ap);
	}
}

/* ---- set-up ---- */

struct setup {
	int from, count;
	uint64_t seed;
};

static int setup_batch(struct store_tx *tx, void *ud)
{
	struct setup *s = ud;
	int rc = 0;
	for (int i = s->from; i < s->from + s->count && !rc; i++) {
		char wa[32], phone[40];
		snprintf(wa, sizeof wa, "9725%08d", i);
		snprintf(phone, sizeof phone, "+%s", wa);
		id_new(contacts[i]);
		uint32_t r = rnd_next(&s->seed);
		struct store_val c[] = {SV_TEXT(contacts[i]),
					SV_TEXT(org),
					SV_TEXT(phone),
					SV_TEXT(wa),
					SV_TEXT(phone),
					SV_TEXT("P"),
					SV_TEXT(r % 3 ? "he" : "ru"),
					SV_TEXT(r % 5 ? "Asia/Jerusalem" : "Europe/Moscow"),
					SV_NULL,
					SV_NULL,
					SV_TEXT("patient"),
					SV_NULL,
					SV_INT(BENCH_NOW - 100 * DAY_MS)};
		rc = store_tx_exec(tx, "contact.upsert", c, 13, NULL);
		static const char *const mkt[] = {"granted", "granted", "refused", "withdrawn"};
		struct {
			const char *purpose, *status;
			int pct;
		} cons[] = {{"reminders", "granted", 80},
			    {"marketing", mkt[r % 4], 70},
			    {"service", "granted", 60}};
		for (int k = 0; k < 3 && !rc; k++) {
			if ((int)(rnd_next(&s->seed) % 100) >= cons[k].pct)
				continue;
			struct store_val a[] = {SV_TEXT(org),
						SV_TEXT(contacts[i]),
						SV_TEXT(cons[k].purpose),
						SV_TEXT(cons[k].status),
						SV_TEXT("paper"),
						SV_TEXT("v1"),
						SV_NULL,
						SV_INT(BENCH_NOW - 50 * DAY_MS)};
			rc = store_tx_exec(tx, "consent.insert", a, 8, NULL);
		}
		if (!rc && r % 100 < 30) {
			int64_t at = BENCH_NOW - (int64_t)(r % 20) * 3600000LL;
			struct store_val w[] = {SV_TEXT(org), SV_TEXT(number), SV_TEXT(contacts[i]),
						SV_INT(at), SV_INT(at + DAY_MS)};
			rc = store_tx_exec(tx, "window.upsert", w, 5, NULL);
		}
		if (!rc && r % 50 == 7) {
			struct store_val a[] = {SV_TEXT(org), SV_TEXT(contacts[i]),
						SV_INT(BENCH_NOW)};
			rc = store_tx_exec(tx, "optout.opt_out", a, 3, NULL);
		}
	}
	return rc;
}

static int add_template(struct store *st, const char *name, const char *cat)
{
	char id[ID_SIZE];
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(org),
				SV_TEXT("WABA1"),
				SV_NULL,
				SV_TEXT(name),
				SV_TEXT("he"),
				SV_TEXT(cat),
				SV_TEXT("APPROVED"),
				SV_TEXT("[{\"type\":\"BODY\",\"text\":\"Hello {{1}}, see you at "
					"{{2}}\"}]"),
				SV_INT(2),
				SV_INT(0),
				SV_NULL,
				SV_NULL,
				SV_INT(BENCH_NOW)};
	return store_exec(st, "template.insert", a, 14, NULL);
}

/* ---- the mix ---- */

static json_t *body_reminder, *body_promo, *body_reply;

static void make_bodies(void)
{
	body_reminder = json_loads(
	    "{\"type\":\"template\",\"template\":{\"name\":\"appt_reminder\",\"language\":"
	    "{\"code\":\"he\"},\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":"
	    "\"text\",\"text\":\"דנה\"},{\"type\":\"text\",\"text\":\"10:30, רחוב הרצל 12\"}]}]}}",
	    0, NULL);
	body_promo = json_loads(
	    "{\"type\":\"template\",\"template\":{\"name\":\"promo\",\"language\":{\"code\":"
	    "\"he\"},\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
	    "\"text\":\"Dana\"},{\"type\":\"text\",\"text\":\"the open day on 30/04\"}]}]}}",
	    0, NULL);
	body_reply = json_loads("{\"type\":\"text\",\"text\":{\"body\":\"We answer Sun-Thu "
				"8:00-18:00; you will hear from us by 9:00 tomorrow.\"}}",
				0, NULL);
}

struct tally {
	long long n, outcome[3], errors;
};

static int submit_one(struct store_tx *tx, struct store *st, uint64_t *seed, long long seq,
		      const char *tag, struct tally *t)
{
	uint32_t r = rnd_next(seed);
	uint32_t kind = r % 100;
	struct send_request rq = {.org_id = org,
				  .contact_id = contacts[(r >> 8) % (uint32_t)ncontacts],
				  .producer = "bench",
				  .priority = -1};
	char key[64];
	snprintf(key, sizeof key, "bench:%s:%lld", tag, seq);
	rq.idem_key = key;
	if (kind < 60) {
		rq.purpose = POLICY_REMINDERS;
		rq.payload = body_reminder;
	} else if (kind < 85) {
		rq.purpose = POLICY_MARKETING;
		rq.payload = body_promo;
	} else {
		rq.purpose = POLICY_SERVICE;
		rq.payload = body_reply;
		rq.is_reply = 1;
	}
	struct send_result res;
	int rc = tx ? send_submit_tx(tx, &rq, BENCH_NOW, &res) : send_submit(st, &rq, &res);
	t->n++;
	if (rc) {
		t->errors++;
		return rc;
	}
	t->outcome[res.decision.outcome]++;
	return 0;
}

struct batch {
	uint64_t seed;
	long long from;
	int count;
	struct tally *t;
};

static int batch_fn(struct store_tx *tx, void *ud)
{
	struct batch *b = ud;
	for (int i = 0; i < b->count; i++) {
		int rc = submit_one(tx, NULL, &b->seed, b->from + i, "b", b->t);
		if (rc)
			return rc;
	}
	return 0;
}

struct worker {
	struct store *st;
	int id, count;
	struct tally t;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x1234567ull * (uint64_t)(w->id + 7);
	char tag[16];
	snprintf(tag, sizeof tag, "w%d", w->id);
	for (int i = 0; i < w->count; i++)
		submit_one(NULL, w->st, &seed, i, tag, &w->t);
	time_thread_release();
	text_thread_release();
	return NULL;
}

static void report(FILE *out, const char *what, const struct tally *t, double secs, double cpu)
{
	line(out,
	     "%s: %lld decisions in %.2f s = %.0f decisions/s (%.1f us each; CPU %.1f us "
	     "each); allow %.1f%%, deny %.1f%%, defer %.1f%%, errors %lld\n",
	     what, t->n, secs, (double)t->n / secs, secs * 1e6 / (double)t->n,
	     cpu * 1e6 / (double)t->n, 100.0 * (double)t->outcome[POLICY_ALLOW] / (double)t->n,
	     100.0 * (double)t->outcome[POLICY_DENY] / (double)t->n,
	     100.0 * (double)t->outcome[POLICY_DEFER] / (double)t->n, t->errors);
}

int main(int argc, char **argv)
{
	int n = 50000, batch = 500, threads = 8;
	const char *dir = "/tmp", *outpath = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			ncontacts = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			batch = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			threads = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outpath = argv[++i];
		else {
			fprintf(stderr,
				"usage: bench_send [-c contacts] [-n submissions] [-b batch] "
				"[-t threads] [-d dir] [-o file]\n");
			return 2;
		}
	}
	if (ncontacts < 1 || ncontacts > MAX_CONTACTS || n < 1 || batch < 1 || threads < 1 ||
	    threads > 64)
		return 2;
	log_set_level(LOG_ERROR);
	if (sec_init() != 0)
		return 1;
	time_clock_set(BENCH_NOW);
	contacts = calloc((size_t)ncontacts, ID_SIZE);
	char tmp[512], url[600];
	snprintf(tmp, sizeof tmp, "%s/cw-bench-send-XXXXXX", dir);
	if (!contacts || !mkdtemp(tmp))
		return 1;
	snprintf(url, sizeof url, "sqlite:%s/bench.db", tmp);
	struct store *st = NULL;
	if (store_open(url, &st) || store_migrate(st, NULL))
		return 1;
	uint8_t key[SEC_KEY_BYTES] = {0};
	if (org_create(st, "Bench Clinic", "clinic", "IL", "he", "Asia/Jerusalem", org) ||
	    number_add(st, key, org, "PNID1", "WABA1", "+97235550100", "t", 80, number) ||
	    orgconf_set_settings(st, org, "{\"policy\":{\"tier\":100000}}") ||
	    add_template(st, "appt_reminder", "UTILITY") || add_template(st, "promo", "MARKETING"))
		return 1;
	uint64_t seed = 42;
	for (int from = 0; from < ncontacts; from += SETUP_BATCH) {
		struct setup s = {.from = from,
				  .count = ncontacts - from < SETUP_BATCH ? ncontacts - from
									  : SETUP_BATCH,
				  .seed = seed};
		if (store_tx(st, setup_batch, &s))
			return 1;
		seed = s.seed;
	}
	make_bodies();

	FILE *out = outpath ? fopen(outpath, "w") : NULL;
	line(out,
	     "# bench_send — send_submit: load the policy inputs from the store, decide, store "
	     "the decision and its audit entry, queue allowed and deferred messages\n");
	double load[3] = {0, 0, 0};
	getloadavg(load, 3);
	line(out,
	     "# SQLite %s (WAL, synchronous=FULL) in %s, %ld cores, load average %.1f %.1f %.1f; "
	     "%d contacts, clock pinned to a weekday noon in Israel\n",
	     sqlite3_libversion(), dir, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2],
	     ncontacts);
	line(out,
	     "# mix: 60%% reminder templates, 25%% marketing templates, 15%% service replies; "
	     "consents reminders 80%%, marketing granted/refused/withdrawn, 30%% open windows, 2%% "
	     "opted out\n");

	/* 1. in bulk: batches inside one transaction each */
	struct tally t = {0};
	uint64_t s1 = 7;
	double t0 = now_s(), c0 = cpu_s();
	for (long long from = 0; from < n; from += batch) {
		struct batch b = {.seed = s1,
				  .from = from,
				  .count = n - from < batch ? (int)(n - from) : batch,
				  .t = &t};
		if (store_tx(st, batch_fn, &b)) {
			fprintf(stderr, "bench_send: a batch failed\n");
			return 1;
		}
		s1 = b.seed;
	}
	char what[160];
	snprintf(what, sizeof what, "send_submit_tx, %d per transaction, 1 producer thread", batch);
	report(out, what, &t, now_s() - t0, cpu_s() - c0);

	/* 2. one durable commit per message: 1 thread, then several */
	int single = n / 10 < 2000 ? n / 10 : 2000;
	int counts[2] = {1, threads};
	for (int k = 0; k < 2; k++) {
		struct worker w[64];
		pthread_t th[64];
		t0 = now_s();
		c0 = cpu_s();
		for (int i = 0; i < counts[k]; i++) {
			w[i] = (struct worker){.st = st, .id = k * 100 + i, .count = single};
			pthread_create(&th[i], NULL, worker_main, &w[i]);
		}
		struct tally sum = {0};
		for (int i = 0; i < counts[k]; i++) {
			pthread_join(th[i], NULL);
			sum.n += w[i].t.n;
			sum.errors += w[i].t.errors;
			for (int o = 0; o < 3; o++)
				sum.outcome[o] += w[i].t.outcome[o];
		}
		snprintf(what, sizeof what, "send_submit, one durable commit each, %d thread%s",
			 counts[k], counts[k] == 1 ? "" : "s");
		report(out, what, &sum, now_s() - t0, cpu_s() - c0);
	}
	if (out)
		fclose(out);
	json_decref(body_reminder);
	json_decref(body_promo);
	json_decref(body_reply);
	store_free(st);
	orgconf_cache_clear();
	char p[600];
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/bench.db%s", tmp, sfx[i]);
		unlink(p);
	}
	rmdir(tmp);
	free(contacts);
	time_thread_release();
	text_thread_release();
	return 0;
}
