/*
 * bench_store.c — durable single-row inserts per second through the store's
 * group commit: T threads each append N rows of ~1 KB to webhook_log (the
 * webhook ingest write) on a file database, every call waiting until its row
 * is committed.
 *
 *	bench_store [-t threads] [-n rows_per_thread] [-s full|normal]
 *	            [-d folder] [-o results_file]
 *
 * Prints one line per run (and appends it to -o when given): rows/s, commits,
 * rows per commit, and the p50/p99/max latency of one store_exec call.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/store.h"
#include "base/banned.h"

#define BODY_LEN    1024
#define THREADS_MAX 256

struct worker {
	struct store *st;
	int n;
	int64_t *lat_us; /* [n] */
	int errors;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char body[BODY_LEN];
	/* a body shaped like a status webhook, padded to ~1 KB */
	int len = snprintf(body, sizeof body,
			   "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"WABA\","
			   "\"changes\":[{\"field\":\"messages\",\"value\":{\"statuses\":[{\"id\":"
			   "\"wamid.%p\",\"status\":\"delivered\"}]}}]}],\"pad\":\"",
			   (void *)w);
	memset(body + len, 'x', sizeof body - (size_t)len - 2);
	body[sizeof body - 2] = '"';
	body[sizeof body - 1] = '}';
	for (int i = 0; i < w->n; i++) {
		struct store_val a[] = {SV_NULL, SV_INT(now_us() / 1000),
					SV_TEXT("sha256=0123456789"), SV_BLOB(body, sizeof body)};
		int64_t t0 = now_us();
		if (store_exec(w->st, "webhook.append", a, 4, NULL) != 0)
			w->errors++;
		w->lat_us[i] = now_us() - t0;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_store [-t threads] [-n rows_per_thread] [-s full|normal] "
			"[-d folder] [-o results_file]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int threads = 8, n = 2000, opt;
	const char *sync = "full", *dir = NULL, *out = NULL;
	char tmpl[] = "/tmp/cw-bench-store-XXXXXX";

	while ((opt = getopt(argc, argv, "t:n:s:d:o:")) != -1) {
		switch (opt) {
		case 't':
			threads = (int)strtol(optarg, NULL, 10);
			break;
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			sync = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (threads < 1 || threads > THREADS_MAX || n < 1 ||
	    (strcmp(sync, "full") != 0 && strcmp(sync, "normal") != 0))
		usage();
	log_set_level(LOG_WARN);
	if (!dir) {
		dir = mkdtemp(tmpl);
		if (!dir) {
			perror("mkdtemp");
			return 1;
		}
	}

	char path[1024], url[1100];
	snprintf(path, sizeof path, "%s/bench.db", dir);
	snprintf(url, sizeof url, "sqlite:%s?sync=%s", path, sync);
	struct store *st = NULL;
	if (store_open(url, &st) || store_migrate(st, NULL)) {
		fprintf(stderr, "cannot open %s\n", url);
		return 1;
	}

	struct worker *w = xcalloc((size_t)threads, sizeof *w);
	pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);
	struct store_stats s0, s1;
	store_get_stats(st, &s0);
	int64_t t0 = now_us();
	for (int i = 0; i < threads; i++) {
		w[i].st = st;
		w[i].n = n;
		w[i].lat_us = xcalloc((size_t)n, sizeof(int64_t));
		pthread_create(&tid[i], NULL, worker_main, &w[i]);
	}
	int errors = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		errors += w[i].errors;
	}
	int64_t elapsed = now_us() - t0;
	store_get_stats(st, &s1);

	size_t total = (size_t)threads * (size_t)n;
	int64_t *all = xcalloc(total, sizeof(int64_t));
	for (int i = 0; i < threads; i++) {
		memcpy(all + (size_t)i * (size_t)n, w[i].lat_us, (size_t)n * sizeof(int64_t));
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(int64_t), cmp_i64);
	uint64_t commits = s1.commits - s0.commits;
	char line[512];
	snprintf(
	    line, sizeof line,
	    "webhook_log insert, %d B body, synchronous=%s, %d threads x %d: %.0f rows/s, "
	    "%llu commits (%.1f rows/commit, %.0f commits/s), latency p50 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms, errors %d\n",
	    BODY_LEN, strcmp(sync, "full") == 0 ? "FULL" : "NORMAL", threads, n,
	    (double)total * 1e6 / (double)elapsed, (unsigned long long)commits,
	    (double)total / (double)(commits ? commits : 1),
	    (double)commits * 1e6 / (double)elapsed, (double)all[total / 2] / 1000.0,
	    (double)all[total * 99 / 100] / 1000.0, (double)all[total - 1] / 1000.0, errors);
	fputs(line, stdout);
	if (out) {
		FILE *f = fopen(out, "a");
		if (f) {
			fputs(line, f);
			fclose(f);
		}
	}
	free(all);
	free(w);
	free(tid);
	store_free(st);

	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(url, sizeof url, "%s%s", path, suffix[i]);
		unlink(url);
	}
	if (dir == tmpl)
		rmdir(dir);
	return errors ? 1 : 0;
}
