/*
 * bench_journey.c — the journey engine's two bars (DESIGN.md §8, issue 5):
 *
 *  A. a tap on a reply button to the journey's next message in the outbox:
 *     a signed-and-parsed webhook body with a button_reply goes through
 *     ingest_accept() (durable raw log) and the ingest worker's transaction
 *     (parse, contact, window, the journey handler, policy, decision,
 *     outbox); latency per tap, p50 / p99 / max, for the apply transaction
 *     alone and end to end; then the same taps through ingest_accept_async()
 *     with the worker running, as the HTTP receiver makes them: stored and
 *     applied in one commit;
 *  B. R runs waiting on timers: their memory (the process's resident set:
 *     a waiting run is a row, not a thread) and, when they all come due,
 *     how fast they go through the journey, policy and into the outbox.
 *
 *	bench_journey [-n taps] [-c contacts] [-r waiting_runs] [-s full|normal] [-t]
 *	              [-m mmap_mb] [-d folder] [-o results_file]
 *
 * -t raises glibc's malloc trim threshold (see run()).
 */
#include <malloc.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/text.h"
#include "base/time.h"
#include "core/ingest.h"
#include "core/journey.h"
#include "core/org.h"
#include "core/orgconf.h"
#include "core/sched.h"
#include "store/store.h"
#include "base/banned.h"

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0)
			v = strtol(line + n, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void pct(int64_t *v, int n, double *p50, double *p99, double *max)
{
	qsort(v, (size_t)n, sizeof *v, cmp64);
	*p50 = (double)v[n / 2] / 1000.0;
	*p99 = (double)v[(int)((double)n * 0.99)] / 1000.0;
	*max = (double)v[n - 1] / 1000.0;
}

static FILE *out_f;

__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (out_f) {
		va_start(ap, fmt);
		vfprintf(out_f, fmt, ap);
		va_end(ap);
		fflush(out_f);
	}
}

#define T0 1795341600000LL /* Sunday 2026-11-22 10:00 UTC: daytime in Jerusalem */

struct env {
	struct store *st;
	char org[ID_SIZE];
	char number[ID_SIZE];
	struct sched *sched;
	struct journey_engine *je;
	struct ingest *ing;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_journey: %s: %s\n", what, cw_strerror(rc));
	exit(1);
}

struct bulk {
	struct env *e;
	int from, to;
	int64_t window_at;
};

static void wa_of(int i, char out[32])
{
	snprintf(out, 32, "97250%07d", i);
}

static int contacts_tx(struct store_tx *tx, void *ud)
{
	struct bulk *b = ud;
	for (int i = b->from; i < b->to; i++) {
		char id[ID_SIZE], wa[32], phone[40];
		id_new(id);
		wa_of(i, wa);
		snprintf(phone, sizeof phone, "+%s", wa);
		struct store_val c[] = {
		    SV_TEXT(id),    SV_TEXT(b->e->org), SV_TEXT(phone), SV_TEXT(wa),
		    SV_TEXT(phone), SV_TEXT("Noa"),	SV_TEXT("he"),	SV_TEXT("Asia/Jerusalem"),
		    SV_INT(T0)};
		int rc = store_tx_exec(tx, "contact.insert_inbound", c, 9, NULL);
		static const char *const purposes[] = {"service", "reminders"};
		for (int p = 0; rc == 0 && p < 2; p++) {
			struct store_val a[] = {SV_TEXT(b->e->org),
						SV_TEXT(id),
						SV_TEXT(purposes[p]),
						SV_TEXT("granted"),
						SV_TEXT("paper"),
						SV_TEXT("v1"),
						SV_NULL,
						SV_INT(T0 - 86400000LL)};
			rc = store_tx_exec(tx, "consent.insert", a, 8, NULL);
		}
		if (rc == 0 && b->window_at) {
			struct store_val w[] = {SV_TEXT(b->e->org), SV_TEXT(b->e->number),
						SV_TEXT(id), SV_INT(b->window_at),
						SV_INT(b->window_at + 86400000LL)};
			rc = store_tx_exec(tx, "window.upsert", w, 5, NULL);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void add_contacts(struct env *e, int from, int to, int64_t window_at)
{
	for (int i = from; i < to; i += 1000) {
		struct bulk b = {e, i, i + 1000 < to ? i + 1000 : to, window_at};
		int rc = store_tx(e->st, contacts_tx, &b);
		if (rc)
			die("contacts", rc);
	}
}

static void define(struct env *e, const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	struct journey_def_errors errs;
	struct journey_saved sv;
	int rc = journey_save(e->je, e->org, j, "bench", 0, &errs, &sv);
	json_decref(j);
	if (rc) {
		char line[600];
		fprintf(stderr, "%s\n",
			errs.n ? journey_def_error_format(&errs.e[0], line, sizeof line)
			       : cw_strerror(rc));
		exit(1);
	}
}

struct id_list {
	char (*ids)[ID_SIZE];
	int n, cap;
};

static int ids_cb(void *ud, const struct store_row *row)
{
	struct id_list *l = ud;
	if (l->n < l->cap)
		snprintf(l->ids[l->n++], ID_SIZE, "%s", store_row_text(row, 0));
	return 0;
}

struct starts {
	struct env *e;
	const char *key;
	struct id_list *l;
	int from, to;
};

static int starts_tx(struct store_tx *tx, void *ud)
{
	struct starts *s = ud;
	for (int i = s->from; i < s->to; i++) {
		struct journey_start st = {.org_id = s->e->org,
					   .key = s->key,
					   .contact_id = s->l->ids[i],
					   .number_id = s->e->number,
					   .trigger = "bench"};
		struct journey_started out;
		int rc = journey_start_tx(s->e->je, tx, &st, &out);
		if (rc)
			return rc;
	}
	return 0;
}

static void start_all(struct env *e, const char *key, struct id_list *l, int from, int to)
{
	for (int i = from; i < to; i += 500) {
		struct starts s = {e, key, l, i, i + 500 < to ? i + 500 : to};
		int rc = store_tx(e->st, starts_tx, &s);
		if (rc)
			die("start", rc);
	}
}

static char *tap_body(const char *wa, int seq, int64_t at_ms)
{
	char wamid[64], ts[24];
	snprintf(wamid, sizeof wamid, "wamid.bench.%d", seq);
	snprintf(ts, sizeof ts, "%lld", (long long)(at_ms / 1000));
	json_t *b =
	    json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:{s:s}, s:s}],"
		      " s:[{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s, s:s}}}]}}]}]}",
		      "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes",
		      "field", "messages", "value", "messaging_product", "whatsapp", "metadata",
		      "display_phone_number", "97235550100", "phone_number_id", "PNID1", "contacts",
		      "profile", "name", "Noa", "wa_id", wa, "messages", "from", wa, "id", wamid,
		      "timestamp", ts, "type", "interactive", "interactive", "type", "button_reply",
		      "button_reply", "id", "b.next", "title", "Next");
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* The benchmark's own counts go through a connection of their own, not the
 * store's: a count over 100,000 rows through the store would be a scan of
 * generated SQL, which maps the database into the store's read connection
 * (store_sqlite.c) and shows up in the resident set being measured. */
static sqlite3 *count_db;

static int64_t query_int(struct store *st, const char *sql)
{
	(void)st;
	int64_t v = -1;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(count_db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The journey handler, timed: what the engine itself costs inside the
 * worker's transaction (wall and CPU), apart from the commit and the
 * threads' hand-offs. */
static int64_t *h_wall, *h_cpu;
static int h_n, h_cap;

static int64_t cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int timed_handler(void *ud, struct store_tx *tx, const struct inbound *in)
{
	int64_t w0 = now_us(), c0 = cpu_us();
	int rc = journey_on_inbound(ud, tx, in);
	if (h_n < h_cap) {
		h_wall[h_n] = now_us() - w0;
		h_cpu[h_n] = cpu_us() - c0;
		h_n++;
	}
	return rc;
}

static int num(const char *s)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return end && *end == '\0' && v > 0 && v < 100000000 ? (int)v : -1;
}

/* A button tap, answered by the next message, over and over. */
static const char tap_journey[] =
    "{\"key\":\"tap\",\"purpose\":\"service\",\"steps\":["
    "{\"id\":\"ask\",\"type\":\"send\",\"message\":{\"type\":\"buttons\","
    "\"body\":\"Step {{run.id}}: shall we go on, {{contact.first_name}}?\","
    "\"buttons\":[{\"id\":\"b.next\",\"title\":\"Next\"},{\"id\":\"b.stop\",\"title\":\"Stop\"}]}},"
    "{\"id\":\"wait\",\"type\":\"wait_reply\",\"timeout\":\"P1D\",\"branches\":["
    "{\"button\":\"b.next\",\"next\":\"ask\"},{\"button\":\"b.stop\",\"next\":\"end\"},"
    "{\"timeout\":true,\"next\":\"end\"}]}]}";

/* A reminder a day later, as a template (the window will have closed). */
static const char remind_journey[] =
    "{\"key\":\"remind\",\"purpose\":\"reminders\",\"interactive\":false,\"steps\":["
    "{\"id\":\"day\",\"type\":\"wait\",\"for\":\"P1D\",\"quiet_hours\":\"ignore\"},"
    "{\"id\":\"send\",\"type\":\"send\",\"template\":{\"name\":\"appt_reminder\","
    "\"language\":\"he\",\"params\":[\"{{contact.first_name}}\"]}}]}";

static void template_add(struct env *e)
{
	char id[ID_SIZE];
	id_new(id);
	static const char comps[] = "[{\"type\":\"BODY\",\"text\":\"Hello {{1}}\"}]";
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(e->org),
				SV_TEXT("WABA1"),
				SV_NULL,
				SV_TEXT("appt_reminder"),
				SV_TEXT("he"),
				SV_TEXT("UTILITY"),
				SV_TEXT("APPROVED"),
				SV_TEXT(comps),
				SV_INT(1),
				SV_INT(0),
				SV_NULL,
				SV_NULL,
				SV_INT(T0)};
	int rc = store_exec(e->st, "template.insert", a, 14, NULL);
	if (rc)
		die("template", rc);
}

struct tap_wait {
	sem_t sem;
	int rc;
	uint64_t processed; /* the ingest's count when done was called */
	struct ingest *ing;
};

/* Called on the writer once the tap's commit is durable. */
static void tap_done(void *ud, int rc)
{
	struct tap_wait *w = ud;
	struct ingest_stats s;
	ingest_get_stats(w->ing, &s);
	w->processed = s.processed;
	w->rc = rc;
	sem_post(&w->sem);
}

/* -m: the store's ?mmap= (MB of the database the read connections map) */
static const char *mmap_mb;

static int run(int taps, int ncontacts, int nwait, const char *sync, const char *dir,
	       const char *out, int trim)
{
	/* glibc gives freed memory of a thread's arena back with madvise(), and
	 * in a VM every such call is a TLB shoot-down across cores: SQLite's
	 * statement savepoints free on the writer thread all the time. -t keeps
	 * up to 128 MB before trimming (see bench/results/journey.txt). */
	if (trim)
		mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	char folder[512], url[600];
	if (dir)
		snprintf(folder, sizeof folder, "%s", dir);
	else
		snprintf(folder, sizeof folder, "/tmp/cw-bench-journey-XXXXXX");
	if (!dir && !mkdtemp(folder))
		return 1;
	snprintf(url, sizeof url, "sqlite:%s/bench.db?sync=%s%s%s", folder, sync,
		 mmap_mb ? "&mmap=" : "", mmap_mb ? mmap_mb : "");
	if (out)
		out_f = fopen(out, "a");
	log_set_level(LOG_WARN);
	sec_init();
	time_clock_set(T0);
	struct env e = {0};
	int rc = store_open(url, &e.st);
	if (rc || (rc = store_migrate(e.st, NULL)))
		die("store", rc);
	char count_path[600];
	snprintf(count_path, sizeof count_path, "%s/bench.db", folder);
	if (sqlite3_open_v2(count_path, &count_db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("count connection", CW_EIO);
	rc = org_create(e.st, "Bench Clinic", "clinic", "IL", "he", "Asia/Jerusalem", e.org);
	if (rc)
		die("org", rc);
	uint8_t key[SEC_KEY_BYTES] = {0};
	rc = number_add(e.st, key, e.org, "PNID1", "WABA1", "+97235550100", "t", 80, e.number);
	if (rc)
		die("number", rc);
	template_add(&e);
	/* an unlimited messaging tier, so that the due reminders are not
	 * deferred by the tier budget (measured: policy and the outbox) */
	rc = orgconf_set_settings(e.st, e.org, "{\"policy\":{\"tier\":\"unlimited\"}}");
	if (rc)
		die("settings", rc);
	e.sched = sched_new(e.st);
	e.je = journey_engine_new(e.st, e.sched);
	e.ing = ingest_new(e.st);
	ingest_add_inbound(e.ing, "journeys", timed_handler, e.je);
	h_cap = taps;
	h_wall = xcalloc((size_t)taps, sizeof *h_wall);
	h_cpu = xcalloc((size_t)taps, sizeof *h_cpu);
	define(&e, tap_journey);
	define(&e, remind_journey);
	long rss0 = status_kb("VmRSS:");

	/* ---- A: taps ---- */
	add_contacts(&e, 0, ncontacts, T0);
	struct id_list l = {.ids = xcalloc((size_t)ncontacts + (size_t)nwait, ID_SIZE),
			    .cap = ncontacts + nwait};
	struct store_val oa[] = {SV_TEXT(e.org), SV_NULL, SV_INT(ncontacts)};
	store_query(e.st, "contact.list", oa, 3, ids_cb, &l);
	start_all(&e, "tap", &l, 0, l.n);
	/* the contacts are listed by id, not by phone: tap by phone in order */
	int64_t *acc = xcalloc((size_t)taps, sizeof *acc),
		*app = xcalloc((size_t)taps, sizeof *app),
		*all = xcalloc((size_t)taps, sizeof *all);
	int64_t before = query_int(e.st, "SELECT count(*) FROM outbox");
	int64_t t_start = now_us();
	for (int i = 0; i < taps; i++) {
		char wa[32];
		wa_of(i % ncontacts, wa);
		char *body = tap_body(wa, i, T0 + i);
		int64_t t0 = now_us();
		rc = ingest_accept(e.ing, body, strlen(body), "sha256=x", NULL);
		int64_t t1 = now_us();
		int n = ingest_drain(e.ing);
		int64_t t2 = now_us();
		free(body);
		if (rc || n != 1)
			die("tap", rc ? rc : CW_EINTERNAL);
		acc[i] = t1 - t0;
		app[i] = t2 - t1;
		all[i] = t2 - t0;
	}
	double secs = (double)(now_us() - t_start) / 1e6;
	int64_t after = query_int(e.st, "SELECT count(*) FROM outbox");
	double a50, a99, amax, p50, p99, pmax, e50, e99, emax;
	pct(acc, taps, &a50, &a99, &amax);
	pct(app, taps, &p50, &p99, &pmax);
	pct(all, taps, &e50, &e99, &emax);
	double w50, w99, wmax, c50, c99, cmax;
	pct(h_wall, h_n, &w50, &w99, &wmax);
	pct(h_cpu, h_n, &c50, &c99, &cmax);
	report(
	    "tap -> next message in the outbox, synchronous=%s%s, %d contacts, %d taps "
	    "(%.0f taps/s, one at a time): %lld messages queued\n"
	    "  journey handler inside the transaction (route the tap, match, build, policy, "
	    "decision, outbox row, run state): wall p50 %.3f ms, p99 %.3f ms, max %.3f ms; "
	    "CPU p50 %.3f ms, p99 %.3f ms\n"
	    "  apply (worker transaction: parse, contact, window, journey, policy, decision, "
	    "outbox; one commit): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n"
	    "  accept (raw body durable, before the 200): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n"
	    "  end to end (accept + apply, two commits): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	    sync, trim ? ", malloc trim threshold 128 MB" : "", ncontacts, taps, taps / secs,
	    (long long)(after - before), w50, w99, wmax, c50, c99, p50, p99, pmax, a50, a99, amax,
	    e50, e99, emax);

	/* ---- A2: the same taps as the HTTP receiver makes them ---- */
	/* ingest_accept_async() with the worker running: the body is stored
	 * and, nothing older waiting, applied in the same commit; done is
	 * called once that commit is durable, when the webhook may be
	 * acknowledged and the next message is in the outbox. */
	if ((rc = ingest_start(e.ing)))
		die("ingest_start", rc);
	h_n = 0;
	struct tap_wait tw = {.ing = e.ing};
	sem_init(&tw.sem, 0, 0);
	int inline_n = 0;
	before = query_int(e.st, "SELECT count(*) FROM outbox");
	t_start = now_us();
	for (int i = 0; i < taps; i++) {
		char wa[32];
		wa_of(i % ncontacts, wa);
		char *body = tap_body(wa, taps + i, T0 + taps + i);
		struct ingest_stats s0;
		ingest_get_stats(e.ing, &s0);
		int64_t t0 = now_us();
		rc = ingest_accept_async(e.ing, body, strlen(body), "sha256=x", tap_done, &tw);
		if (rc == 0)
			while (sem_wait(&tw.sem) != 0)
				;
		int64_t t1 = now_us();
		free(body);
		if (rc || tw.rc)
			die("tap (one commit)", rc ? rc : tw.rc);
		inline_n += tw.processed == s0.processed + 1;
		all[i] = t1 - t0;
	}
	secs = (double)(now_us() - t_start) / 1e6;
	after = query_int(e.st, "SELECT count(*) FROM outbox");
	sem_destroy(&tw.sem);
	pct(all, taps, &e50, &e99, &emax);
	pct(h_wall, h_n, &w50, &w99, &wmax);
	report("tap -> next message in the outbox, one commit (ingest_accept_async, worker "
	       "running), synchronous=%s, %d taps (%.0f taps/s, one at a time): %lld messages "
	       "queued, %d of %d taps applied in the commit that stored them\n"
	       "  journey handler: wall p50 %.3f ms, p99 %.3f ms\n"
	       "  end to end (body stored, tap applied, next message in the outbox, durable): "
	       "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       sync, taps, taps / secs, (long long)(after - before), inline_n, taps, w50, w99,
	       e50, e99, emax);
	free(acc);
	free(app);
	free(all);
	free(h_wall);
	free(h_cpu);

	/* ---- B: runs waiting on timers ---- */
	if (nwait > 0) {
		int64_t t0 = now_us();
		add_contacts(&e, ncontacts, ncontacts + nwait, 0);
		double add_s = (double)(now_us() - t0) / 1e6;
		l.n = 0;
		struct store_val la[] = {SV_TEXT(e.org), SV_NULL, SV_INT(ncontacts + nwait)};
		store_query(e.st, "contact.list", la, 3, ids_cb, &l);
		long rss_before = status_kb("VmRSS:");
		t0 = now_us();
		/* every contact but the tap ones gets the reminder journey */
		struct id_list w = {.ids = xcalloc((size_t)nwait, ID_SIZE), .cap = nwait};
		for (int i = 0; i < l.n; i++) {
			char sql[200];
			(void)sql;
			if (w.n < w.cap)
				memcpy(w.ids[w.n++], l.ids[i], ID_SIZE);
		}
		/* the first ncontacts ids may be tap contacts: start on all listed;
		 * a contact with two runs changes nothing measured here */
		start_all(&e, "remind", &w, 0, w.n);
		double start_s = (double)(now_us() - t0) / 1e6;
		int64_t waiting = query_int(e.st, "SELECT count(*) FROM journey_runs WHERE "
						  "key = 'remind' AND state = 'waiting'");
		int64_t timers = query_int(e.st, "SELECT count(*) FROM timers");
		long rss_after = status_kb("VmRSS:"), hwm = status_kb("VmHWM:");
		long anon_after = status_kb("RssAnon:"), file_after = status_kb("RssFile:");
		struct stat sb;
		char path[600];
		snprintf(path, sizeof path, "%s/bench.db", folder);
		long db_mb = stat(path, &sb) == 0 ? (long)(sb.st_size / (1024 * 1024)) : -1;
		report(
		    "%lld runs waiting on timers (%lld timer rows; contacts added in %.1f s, runs "
		    "started in %.1f s = %.0f/s): resident set %ld MB (%ld MB before the runs, "
		    "%ld MB at the start; peak %ld MB) = %ld MB allocated (RssAnon) + %ld MB of "
		    "mapped files (RssFile: the database's pages, read-only, the page cache), "
		    "database %ld MB, threads: 0 per run\n",
		    (long long)waiting, (long long)timers, add_s, start_s, w.n / start_s,
		    rss_after / 1024, rss_before / 1024, rss0 / 1024, hwm / 1024, anon_after / 1024,
		    file_after / 1024, db_mb);
		/* a day later they are all due: through the journey, policy and
		 * into the outbox */
		time_clock_set(T0 + 86400000LL + 60000);
		int64_t before_q = query_int(e.st, "SELECT count(*) FROM outbox");
		t0 = now_us();
		int ran = 0, total = 0;
		do {
			rc = sched_run_due(e.sched, SCHED_TAKE, &ran);
			if (rc)
				die("fire", rc);
			total += ran;
		} while (ran > 0);
		double fire_s = (double)(now_us() - t0) / 1e6;
		int64_t queued = query_int(e.st, "SELECT count(*) FROM outbox") - before_q;
		int64_t allowed = query_int(e.st, "SELECT count(*) FROM decisions WHERE producer = "
						  "'journey:remind:send' AND outcome = 'allow'");
		int64_t deferred =
		    query_int(e.st, "SELECT count(*) FROM decisions WHERE producer = "
				    "'journey:remind:send' AND outcome = 'defer'");
		report("  all due at once: %d timers fired in %.1f s (%.0f/s), each through the "
		       "journey and policy: %lld allowed, %lld deferred, %lld messages queued; "
		       "resident set then %ld MB (peak %ld MB) = %ld MB allocated + %ld MB mapped\n",
		       total, fire_s, total / fire_s, (long long)allowed, (long long)deferred,
		       (long long)queued, status_kb("VmRSS:") / 1024, status_kb("VmHWM:") / 1024,
		       status_kb("RssAnon:") / 1024, status_kb("RssFile:") / 1024);
		free(w.ids);
	}
	free(l.ids);
	ingest_free(e.ing);
	sched_free(e.sched);
	journey_engine_free(e.je);
	sqlite3_close(count_db);
	store_free(e.st);
	orgconf_cache_clear();
	if (!dir) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", folder);
		if (system(cmd) != 0)
			return 1;
	}
	if (out_f)
		fclose(out_f);
	time_thread_release();
	text_thread_release();
	return 0;
}

int main(int argc, char **argv)
{
	int taps = 2000, ncontacts = 200, nwait = 100000, trim = 0;
	const char *sync = "full", *dir = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0) {
			trim = 1;
			continue;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int *target = strcmp(argv[i], "-n") == 0   ? &taps
			      : strcmp(argv[i], "-c") == 0 ? &ncontacts
			      : strcmp(argv[i], "-r") == 0 ? &nwait
							   : NULL;
		if (target && v) {
			*target = strcmp(argv[i], "-r") == 0 && strcmp(v, "0") == 0 ? 0 : num(v);
			if (*target < 0) {
				fprintf(stderr, "bench_journey: %s needs a positive number\n",
					argv[i]);
				return 2;
			}
			i++;
		} else if (strcmp(argv[i], "-s") == 0 && v) {
			sync = v;
			i++;
		} else if (strcmp(argv[i], "-m") == 0 && v) {
			mmap_mb = v;
			i++;
		} else if (strcmp(argv[i], "-d") == 0 && v) {
			dir = v;
			i++;
		} else if (strcmp(argv[i], "-o") == 0 && v) {
			out = v;
			i++;
		} else {
			fprintf(stderr,
				"usage: bench_journey [-n taps] [-c contacts] [-r waiting_runs] "
				"[-s full|normal] [-m mmap_mb] [-t] [-d folder] [-o results_file]\n");
			return 2;
		}
	}
	if (strcmp(sync, "full") != 0 && strcmp(sync, "normal") != 0) {
		fprintf(stderr, "bench_journey: -s full or -s normal\n");
		return 2;
	}
	return run(taps, ncontacts, nwait, sync, dir, out, trim);
}
