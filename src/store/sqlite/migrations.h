/*
 * migrations.h — the SQLite schema, as numbered migrations.
 *
 * sqlite_migrations[] (migrations.c) lists every schema change in version
 * order; the backend applies the ones not yet recorded in schema_migrations,
 * each in its own transaction. A migration, once released, is never edited:
 * change the schema by appending a new one. Private to src/store.
 */
#ifndef CW_STORE_SQLITE_MIGRATIONS_H
#define CW_STORE_SQLITE_MIGRATIONS_H

#include <stddef.h>

struct sqlite_migration {
	int version;	  /* 1, 2, 3 ... strictly increasing */
	const char *name; /* short snake_case: "foundation" */
	const char *sql;  /* one or more statements */
};

extern const struct sqlite_migration sqlite_migrations[];
extern const size_t sqlite_migration_count;

/* The SQL the migration runner itself uses. */
extern const char sqlite_migrations_bootstrap[]; /* CREATE TABLE IF NOT EXISTS schema_migrations */
extern const char sqlite_migrations_version[];	 /* the highest applied version, or 0 */
extern const char sqlite_migrations_applied[];	 /* ?1 version -> a row when applied */
extern const char sqlite_migrations_record[];	 /* ?1 version, ?2 name, ?3 applied_at */

#endif
