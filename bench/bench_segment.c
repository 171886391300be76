/*
 * bench_segment.c — a segment over 1,000,000 contacts (DESIGN.md §8: ≤ 1 s).
 *
 *	bench_segment [-n contacts] [-r runs] [-d dir] [-o results_file] [-k] [-f db]
 *
 * Generates n contacts (default 1,000,000) of one organisation into a
 * temporary SQLite file through the store (store_tx batches, the same
 * statements the importers and the ingest use): audience, language, birth
 * date, tags, typed fields, consents per purpose (granted, refused,
 * withdrawn) and a few opt-outs, plus 100,000 contacts of a second
 * organisation. Then times, for three queries — the seed's "recovered
 * patients who finished radiotherapy, with marketing consent" and two
 * others — the preview (core/segpreview.c): count + sample, and count +
 * sample + the policy exclusions for marketing; and prints which indexes
 * SQLite chose (EXPLAIN QUERY PLAN of the count). -k keeps the database;
 * -f runs the queries on a database kept before, without generating. Each
 * line gives the wall time and the process's CPU time: on a shared machine
 * the first depends on the others' load, the second much less.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "base/text.h"
#include "base/time.h"
#include "core/orgconf.h"
#include "core/segment.h"
#include "core/segpreview.h"
#include "store/store.h"
#include "base/banned.h"

#define BATCH		   20000
#define OTHER_ORG_CONTACTS 100000
#define YEAR_MS		   (365LL * 24 * 3600 * 1000)

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct gen {
	const char *org;
	int from, count;
	int64_t now;
	int rc;
};

static const char *pick_audience(void)
{
	uint32_t r = rnd(100);
	return r < 20	? "recovered patient"
	       : r < 80 ? "patient"
	       : r < 85 ? "doctor"
	       : r < 90 ? "staff"
			: "attendee";
}

static const char *const langs[] = {"he", "he", "he", "ru", "ru", "en"};
static const char *const consent_status[] = {"granted", "granted", "granted",
					     "granted", "refused", "withdrawn"};

static int exec(struct store_tx *tx, const char *stmt, const struct store_val *a, size_t n)
{
	int rc = store_tx_exec(tx, stmt, a, n, NULL);
	if (rc)
		fprintf(stderr, "bench_segment: %s: %s\n", stmt, cw_strerror(rc));
	return rc;
}

static int gen_batch(struct store_tx *tx, void *ud)
{
	struct gen *g = ud;
	int rc = 0;
	for (int i = g->from; i < g->from + g->count && !rc; i++) {
		char id[ID_SIZE], phone[40], wa[32], birth[40], fields[96];
		id_new(id);
		snprintf(wa, sizeof wa, "97250%07d%d", i, g->org[25] & 1);
		snprintf(phone, sizeof phone, "+%s", wa);
		snprintf(birth, sizeof birth, "%04u-%02u-%02u", 1940 + rnd(65), 1 + rnd(12),
			 1 + rnd(28));
		uint32_t rad = rnd(100);
		const char *radiation = rad < 12 ? "completed" : rad < 15 ? "ongoing" : NULL;
		int visits = (int)rnd(10);
		if (radiation)
			snprintf(fields, sizeof fields, "{\"radiation\":\"%s\",\"visits\":%d}",
				 radiation, visits);
		else
			snprintf(fields, sizeof fields, "{\"visits\":%d}", visits);
		struct store_val c[] = {SV_TEXT(id),
					SV_TEXT(g->org),
					SV_TEXT(phone),
					SV_TEXT(wa),
					SV_TEXT(phone),
					SV_TEXT("Patient"),
					SV_TEXT(langs[rnd(6)]),
					SV_TEXT("Asia/Jerusalem"),
					SV_TEXT(rnd(2) ? "female" : "male"),
					SV_TEXT(birth),
					SV_TEXT(pick_audience()),
					SV_TEXT(fields),
					SV_INT(g->now - rnd(1000) * 86400000LL)};
		rc = exec(tx, "contact.upsert", c, 13);
		if (!rc && radiation) {
			struct store_val f[] = {SV_TEXT(g->org),      SV_TEXT(id),
						SV_TEXT("radiation"), SV_TEXT("text"),
						SV_TEXT(radiation),   SV_NULL};
			rc = exec(tx, "demo.field", f, 6);
		}
		if (!rc) {
			struct store_val f[] = {SV_TEXT(g->org),   SV_TEXT(id), SV_TEXT("visits"),
						SV_TEXT("number"), SV_NULL,	SV_REAL(visits)};
			rc = exec(tx, "demo.field", f, 6);
		}
		static const char *const tags[] = {"radiotherapy", "cardiology", "diabetes",
						   "breast-cancer", "vip"};
		static const int tag_pct[] = {15, 10, 10, 5, 1};
		for (int t = 0; t < 5 && !rc; t++) {
			if ((int)rnd(100) >= tag_pct[t] && !(t == 0 && radiation))
				continue;
			struct store_val a[] = {SV_TEXT(g->org), SV_TEXT(id), SV_TEXT(tags[t])};
			rc = exec(tx, "demo.tag", a, 3);
		}
		static const char *const purposes[] = {"service", "reminders", "marketing",
						       "surveys"};
		static const int consent_pct[] = {90, 70, 55, 30};
		for (int p = 0; p < 4 && !rc; p++) {
			if ((int)rnd(100) >= consent_pct[p])
				continue;
			const char *st = p < 2 ? "granted" : consent_status[rnd(6)];
			struct store_val a[] = {SV_TEXT(g->org),
						SV_TEXT(id),
						SV_TEXT(purposes[p]),
						SV_TEXT(st),
						SV_TEXT("import"),
						SV_TEXT("v1"),
						SV_NULL,
						SV_INT(g->now - rnd(400) * 86400000LL)};
			rc = exec(tx, "consent.insert", a, 8);
		}
		if (!rc && rnd(100) < 2) {
			struct store_val a[] = {SV_TEXT(g->org), SV_TEXT(id), SV_INT(g->now)};
			rc = exec(tx, "optout.opt_out", a, 3);
		}
		if (!rc && rnd(200) == 0) {
			struct store_val a[] = {SV_TEXT(g->org), SV_TEXT(id), SV_INT(g->now)};
			rc = exec(tx, "optout.marketing_stop", a, 3);
		}
	}
	return rc;
}

static int generate(struct store *st, const char *org, int n, int64_t now)
{
	double t0 = now_s();
	for (int from = 0; from < n; from += BATCH) {
		struct gen g = {.org = org,
				.from = from,
				.count = n - from < BATCH ? n - from : BATCH,
				.now = now};
		int rc = store_tx(st, gen_batch, &g);
		if (rc)
			return rc;
		if (isatty(2))
			fprintf(stderr, "\rgenerating: %d / %d contacts", from + g.count, n);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	fprintf(stderr, "generated %d contacts in %.1f s\n", n, now_s() - t0);
	return 0;
}

static int int_cb(void *ud, const struct store_row *row)
{
	*(int64_t *)ud = store_row_int(row, 0);
	return 1;
}

static int64_t count_contacts(struct store *st, const char *org)
{
	int64_t n = 0;
	struct store_val a[] = {SV_TEXT(org)};
	store_query_sql(st, "SELECT count(*) FROM contacts WHERE org_id = ?1", a, 1, int_cb, &n);
	return n;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int plan_cb(void *ud, const struct store_row *row)
{
	struct buf *b = ud;
	const char *d = store_row_text(row, 3);
	if (d)
		buf_printf(b, "%s%s", b->len ? "; " : "", d);
	return 0;
}

/* The plan SQLite chose for the count of q. */
static void plan(struct store *st, const char *org, const char *q, int64_t now, struct buf *out)
{
	struct segment *seg = NULL;
	struct segment_sql s;
	struct segment_error e;
	if (segment_parse(q, &seg, &e))
		return;
	if (segment_count_sql(seg, store_dialect(st), org, now, &s) == 0) {
		struct buf sql;
		buf_init(&sql, 0);
		buf_printf(&sql, "EXPLAIN QUERY PLAN %s", s.sql);
		int rc = store_query_sql(st, sql.data, s.args, s.nargs, plan_cb, out);
		if (rc < 0)
			buf_printf(out, "(no plan: %s)", cw_strerror(rc));
		buf_release(&sql);
	}
	segment_sql_release(&s);
	segment_free(seg);
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

int main(int argc, char **argv)
{
	int n = 1000000, runs = 3, keep = 0;
	const char *dir = NULL, *outpath = NULL, *reuse = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outpath = argv[++i];
		else if (strcmp(argv[i], "-k") == 0)
			keep = 1;
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			reuse = argv[++i];
		else {
			fprintf(stderr, "usage: bench_segment [-n contacts] [-r runs] [-d dir] "
					"[-o results_file] [-k] [-f db]\n");
			return 2;
		}
	}
	if (n < 1 || runs < 1)
		return 2;
	log_set_level(LOG_WARN);
	char tmp[512] = "", url[600];
	if (reuse) {
		snprintf(url, sizeof url, "sqlite:%s", reuse);
		keep = 1;
	} else {
		snprintf(tmp, sizeof tmp, "%s/cw-bench-segment-XXXXXX", dir ? dir : "/tmp");
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(url, sizeof url, "sqlite:%s/bench.db", tmp);
	}
	struct store *st = NULL;
	if (store_open(url, &st) || store_migrate(st, NULL)) {
		fprintf(stderr, "bench_segment: cannot open %s\n", url);
		return 1;
	}
	int64_t now = time_now_ms();
	char org[ID_SIZE], other[ID_SIZE];
	id_new(org);
	id_new(other);
	const char *orgs[2] = {org, other};
	if (reuse) {
		char *found = NULL;
		struct store_val a[] = {SV_TEXT("Bench Clinic")};
		if (store_query_text(st, "org.by_name", a, 1, &found) != 0 || !found) {
			fprintf(stderr, "bench_segment: %s has no Bench Clinic\n", reuse);
			return 1;
		}
		snprintf(org, sizeof org, "%s", found);
		free(found);
		n = (int)count_contacts(st, org);
	}
	for (int i = 0; i < 2 && !reuse; i++) {
		struct store_val a[] = {SV_TEXT(orgs[i]),
					SV_TEXT(i ? "Other" : "Bench Clinic"),
					SV_TEXT("hospital"),
					SV_TEXT("IL"),
					SV_TEXT("he"),
					SV_TEXT("Asia/Jerusalem"),
					SV_NULL,
					SV_INT(now)};
		if (store_exec(st, "org.insert", a, 8, NULL))
			return 1;
	}
	if (!reuse && (generate(st, org, n, now) || generate(st, other, OTHER_ORG_CONTACTS, now)))
		return 1;

	FILE *out = outpath ? fopen(outpath, "w") : NULL;
	char stamp[TIME_ISO_MAX];
	line(out,
	     "# bench_segment — segment preview over %d contacts of one organisation "
	     "(+%d of another); target <= 1 s\n",
	     n, OTHER_ORG_CONTACTS);
	double load[3] = {0, 0, 0};
	getloadavg(load, 3);
	line(out,
	     "# %s, SQLite %s on a file (WAL), %ld cores, load average %.1f %.1f %.1f; best "
	     "and worst of %d runs after one warm-up; cpu = the process's CPU time of the best "
	     "run\n",
	     time_format_iso(now, stamp), sqlite3_libversion(), sysconf(_SC_NPROCESSORS_ONLN),
	     load[0], load[1], load[2], runs);
	static const struct {
		const char *name, *q;
	} queries[] = {
	    {"seed", "audience = \"recovered patient\" AND fields.radiation = completed AND "
		     "consent.marketing = granted"},
	    {"cardiology 40+", "tag = cardiology AND age >= 40"},
	    {"ru diabetes/visits", "language = ru AND (tag = diabetes OR fields.visits >= 3) "
				   "AND NOT consent.marketing = refused"},
	};
	int worst_over = 0;
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		for (int with_purpose = 0; with_purpose < 2; with_purpose++) {
			double best = 1e9, worst = 0, best_cpu = 0;
			struct segpreview p;
			struct segment_error e;
			for (int r = 0; r <= runs; r++) {
				double t0 = now_s(), c0 = cpu_s();
				int rc = segpreview_run(st, org, queries[qi].q,
							with_purpose ? 4 /* marketing */ : -1, now,
							&p, &e);
				double dt = now_s() - t0, dc = cpu_s() - c0;
				if (rc) {
					fprintf(stderr, "bench_segment: %s: %s %s\n",
						queries[qi].name, cw_strerror(rc), e.message);
					return 1;
				}
				if (r == 0)
					continue; /* warm-up */
				if (dt < best)
					best_cpu = dc;
				best = dt < best ? dt : best;
				worst = dt > worst ? dt : worst;
			}
			if (worst > 1.0)
				worst_over = 1;
			line(
			    out,
			    "%-20s %-28s count %7lld  best %7.1f ms (cpu %6.1f ms)  worst %7.1f ms",
			    queries[qi].name,
			    with_purpose ? "count+sample+exclusions(mkt)" : "count+sample",
			    (long long)p.count, best * 1e3, best_cpu * 1e3, worst * 1e3);
			if (with_purpose) {
				line(out, "  eligible %lld;", (long long)p.eligible);
				for (int r = 1; r < POLICY_R_COUNT; r++)
					if (p.excluded[r])
						line(out, " %s %lld", policy_reason_code(r),
						     (long long)p.excluded[r]);
			}
			line(out, "\n");
		}
		struct buf pl;
		buf_init(&pl, 0);
		plan(st, org, queries[qi].q, now, &pl);
		line(out, "  plan: %s\n", pl.data ? pl.data : "");
		buf_release(&pl);
	}
	line(out, "# %s\n", worst_over ? "SOME RUN WAS OVER 1 s" : "every run under 1 s");
	if (out)
		fclose(out);
	store_free(st);
	orgconf_cache_clear();
	if (!keep && tmp[0]) {
		char p[600];
		static const char *const sfx[] = {"", "-wal", "-shm"};
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof p, "%s/bench.db%s", tmp, sfx[i]);
			unlink(p);
		}
		rmdir(tmp);
	} else if (tmp[0]) {
		printf("kept %s/bench.db\n", tmp);
	}
	time_thread_release();
	text_thread_release();
	return 0;
}
