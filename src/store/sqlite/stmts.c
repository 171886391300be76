/*
 * stmts.c — the index over all named SQLite statements (see stmts.h).
 *
 * To add an area: write stmts_<area>.c with a sqlite_stmts_<area>[] table,
 * declare it in stmts.h, add it to stmt_areas[] below and to
 * src/store/meson.build.
 */
#include "store/sqlite/stmts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/banned.h"

static const struct sqlite_stmt_def *const stmt_areas[] = {
    sqlite_stmts_core,
    sqlite_stmts_app,
    sqlite_stmts_contacts,
    sqlite_stmts_web,
    sqlite_stmts_outbox,
    sqlite_stmts_send,
    sqlite_stmts_inbox,
    sqlite_stmts_journey,
    sqlite_stmts_analytics,
};

static const struct sqlite_stmt_def *stmt_index[SQLITE_STMTS_MAX];
static int stmt_n;
static int stmt_init_rc;
static pthread_once_t stmt_once = PTHREAD_ONCE_INIT;

static int def_cmp(const void *a, const void *b)
{
	const struct sqlite_stmt_def *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static void stmt_build(void)
{
	int n = 0;
	for (size_t a = 0; a < sizeof stmt_areas / sizeof stmt_areas[0]; a++) {
		for (const struct sqlite_stmt_def *d = stmt_areas[a]; d->name; d++) {
			if (n == SQLITE_STMTS_MAX) {
				log_error("store", "more than %d named statements",
					  SQLITE_STMTS_MAX);
				stmt_init_rc = CW_EINTERNAL;
				return;
			}
			stmt_index[n++] = d;
		}
	}
	qsort(stmt_index, (size_t)n, sizeof stmt_index[0], def_cmp);
	for (int i = 1; i < n; i++) {
		if (strcmp(stmt_index[i - 1]->name, stmt_index[i]->name) == 0) {
			log_error("store", "named statement \"%s\" is defined twice",
				  stmt_index[i]->name);
			stmt_init_rc = CW_EINTERNAL;
			return;
		}
	}
	stmt_n = n;
}

int sqlite_stmt_init(void)
{
	pthread_once(&stmt_once, stmt_build);
	return stmt_init_rc;
}

int sqlite_stmt_count(void)
{
	return stmt_n;
}

int sqlite_stmt_find(const char *name)
{
	int lo = 0, hi = stmt_n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(name, stmt_index[mid]->name);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

const struct sqlite_stmt_def *sqlite_stmt_at(int i)
{
	return stmt_index[i];
}
