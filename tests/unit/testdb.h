/*
 * testdb.h — a migrated SQLite store in a fresh temporary folder, with an
 * organisation, for the unit tests of contacts, consent, audit and FHIR.
 * Header-only (static functions); include after cmocka.h.
 *
 *	struct testdb t;
 *	testdb_open(&t);          -- t.st is migrated, t.org exists (region IL)
 *	...
 *	testdb_close(&t);         -- frees the store, removes the files
 */
#ifndef CW_TESTS_TESTDB_H
#define CW_TESTS_TESTDB_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "store/store.h"

struct testdb {
	char dir[256];
	char path[300];
	char url[320];
	char org[ID_SIZE];
	struct store *st;
};

static inline void testdb_add_org(struct store *st, const char *id, const char *region)
{
	struct store_val a[] = {
	    SV_TEXT(id),   SV_TEXT("Test Clinic"),    SV_TEXT("clinic"), SV_TEXT(region),
	    SV_TEXT("he"), SV_TEXT("Asia/Jerusalem"), SV_NULL,		 SV_INT(1000)};
	assert_int_equal(store_exec(st, "org.insert", a, 8, NULL), 0);
}

static inline void testdb_open(struct testdb *t)
{
	const char *base = getenv("TMPDIR");
	if (!t)
		abort(); /* (also tells the compiler t is not NULL below) */
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "%s/cw-unit-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/carewire.db", t->dir);
	snprintf(t->url, sizeof t->url, "sqlite:%s", t->path);
	assert_int_equal(store_open(t->url, &t->st), 0);
	assert_int_equal(store_migrate(t->st, NULL), 0);
	assert_int_equal(store_check_statements(t->st), 0);
	id_new(t->org);
	testdb_add_org(t->st, t->org, "IL");
}

static inline void testdb_close(struct testdb *t)
{
	char p[340];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	store_free(t->st);
	t->st = NULL;
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

/* Runs sql on the database file directly (as a person with sqlite3 would);
 * returns SQLite's result code. */
static inline int testdb_sql(const struct testdb *t, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(t->path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* The first column of the first row of sql, as an integer (-1: no row). */
static inline long long testdb_int(const struct testdb *t, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;
	if (sqlite3_open(t->path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The first column of the first row of sql as a new string (free()), or
 * NULL. */
static inline char *testdb_text(const struct testdb *t, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *v = NULL;
	if (sqlite3_open(t->path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

#endif
