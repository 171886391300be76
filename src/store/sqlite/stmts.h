/*
 * stmts.h — the SQLite backend's named statements: every SQL text the
 * backend runs for the domain, looked up by name ("contact.get").
 *
 * Statements are split by area, one static table per file
 * (stmts_core.c: sqlite_stmts_core[]; later stmts_<area>.c), each ending with
 * a {NULL, NULL} row and registered once in the area list in stmts.c. At
 * start-up the names of all areas are sorted into one index (duplicates are
 * refused), so a look-up is a binary search; the backend caches one prepared
 * statement per connection by index.
 *
 * Private to src/store.
 */
#ifndef CW_STORE_SQLITE_STMTS_H
#define CW_STORE_SQLITE_STMTS_H

/* Upper bound on named statements across all areas. */
#define SQLITE_STMTS_MAX 2048

struct sqlite_stmt_def {
	const char *name; /* "<area>.<verb>" */
	const char *sql;  /* parameters as ?1, ?2 ... (every value bound) */
};

/* The area tables (NULL-name terminated). */
extern const struct sqlite_stmt_def sqlite_stmts_core[];
extern const struct sqlite_stmt_def sqlite_stmts_app[];
extern const struct sqlite_stmt_def sqlite_stmts_contacts[];
extern const struct sqlite_stmt_def sqlite_stmts_web[];
extern const struct sqlite_stmt_def sqlite_stmts_outbox[];
extern const struct sqlite_stmt_def sqlite_stmts_send[];
extern const struct sqlite_stmt_def sqlite_stmts_inbox[];
extern const struct sqlite_stmt_def sqlite_stmts_journey[];
extern const struct sqlite_stmt_def sqlite_stmts_analytics[];

/* Builds the name index once (thread-safe; later calls return the first
 * result). Returns 0, or CW_EINTERNAL (logged) for a duplicate name or more
 * than SQLITE_STMTS_MAX statements. */
int sqlite_stmt_init(void);
/* The number of named statements (valid after sqlite_stmt_init()). */
int sqlite_stmt_count(void);
/* The index of name in [0, count), or -1 when there is no such statement. */
int sqlite_stmt_find(const char *name);
/* The statement at index i; borrowed, static. */
const struct sqlite_stmt_def *sqlite_stmt_at(int i);

#endif
