/*
 * store.h — carewire's storage: one interface, a backend per database.
 *
 * A backend is a small table of operations (struct store_backend, private to
 * src/store): open, migrate, run a read, run a write transaction. All SQL
 * lives in the backend's folder as named statements ("contact.get",
 * "webhook.append"), one table per backend; domain code in src/core names a
 * statement and binds values, and never builds SQL from text. Values are
 * always bound parameters.
 *
 * Writes go through group commit: store_exec() and store_tx() hand their
 * work to one writer, which runs many callers' work inside one database
 * transaction (each caller's part in its own savepoint, so one caller's
 * failure undoes only its own part) and wakes every caller after COMMIT.
 * When a write call returns 0 its effect is durable. store_exec_async() is
 * the same write without the wait: a callback reports the result.
 *
 * Reads (store_query) run on a pool of read connections concurrently with
 * writes (SQLite WAL).
 *
 *	struct store *st;
 *	if (store_open("sqlite:./carewire-data/carewire.db", &st)) ...
 *	store_migrate(st, NULL);
 *	struct store_val a[] = { SV_TEXT(id), SV_INT(now) };
 *	store_exec(st, "contact.touch", a, 2, NULL);
 *	store_free(st);
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_tx;

enum store_type { SV_T_NULL = 0, SV_T_INT, SV_T_REAL, SV_T_TEXT, SV_T_BLOB };

/* A bound value. Text and blobs are borrowed for the duration of the call. */
struct store_val {
	enum store_type type;
	int64_t i;
	double r;
	const char *s; /* text (NUL-terminated unless n > 0) or blob */
	size_t n;      /* blob length; 0 for text means strlen(s) */
};

#define SV_NULL ((struct store_val){.type = SV_T_NULL})
#define SV_INT(x) ((struct store_val){.type = SV_T_INT, .i = (int64_t)(x)})
#define SV_REAL(x) ((struct store_val){.type = SV_T_REAL, .r = (double)(x)})
/* Text; a NULL pointer binds SQL NULL. (The test is a function so that a
 * char array argument, such as an id buffer, does not trip -Waddress.) */
static inline enum store_type store_text_type_(const char *s)
{
	return s ? SV_T_TEXT : SV_T_NULL;
}
#define SV_TEXT(x) ((struct store_val){.type = store_text_type_(x), .s = (x)})
#define SV_TEXTN(x, len) ((struct store_val){.type = SV_T_TEXT, .s = (x), .n = (len)})
#define SV_BLOB(x, len) ((struct store_val){.type = SV_T_BLOB, .s = (const char *)(x), .n = (len)})

/* One result row, borrowed: valid only inside the row callback. Columns are
 * numbered from 0 in the order of the statement's SELECT list. */
struct store_row;
int store_row_count(const struct store_row *row);
int store_row_is_null(const struct store_row *row, int col);
int64_t store_row_int(const struct store_row *row, int col);
double store_row_real(const struct store_row *row, int col);
/* Text of a column; NULL when the column is NULL. */
const char *store_row_text(const struct store_row *row, int col);
/* Column bytes and length (for blobs). */
const void *store_row_blob(const struct store_row *row, int col, size_t *len);

/* Called once per row; return 0 to go on, non-zero to stop (that value is
 * returned by store_query unless negative errors are meant). A row callback
 * may run further reads; a write from inside it is refused (CW_EINTERNAL):
 * collect what is needed, then write after the read returns. */
typedef int (*store_row_fn)(void *ud, const struct store_row *row);

/* Opens a store from a URL: "sqlite:PATH" (":memory:" allowed for tests) or
 * "postgres://...". Creates the SQLite file and its folder if needed.
 * Returns 0 and a new store in *out (caller frees with store_free()), or a
 * negative cw_err. */
int store_open(const char *url, struct store **out);
/* Waits for pending writes, closes every connection. Accepts NULL. */
void store_free(struct store *st);

/* Applies the migrations that are not yet applied, in order, each in its own
 * transaction. *applied (may be NULL) gets the number applied now. */
int store_migrate(struct store *st, int *applied);
/* Current schema version (the highest migration applied). */
int store_schema_version(struct store *st);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);
/* The SQL dialect the backend speaks ("sqlite" or "postgres"), for the one
 * place that generates SQL structure: the segment query compiler. */
const char *store_dialect(const struct store *st);

/* Runs a named write statement through group commit. *changes (may be NULL)
 * gets the number of rows it changed. Returns 0 once durable. */
int store_exec(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
	       int64_t *changes);

/* Called on the writer thread once an asynchronous write is final: rc is 0
 * (durable) or a negative cw_err, changes as store_exec() gives it. It runs
 * between two group commits, so it must be quick: record the result and hand
 * it on (wake a thread, resume an HTTP request). It must not call any store
 * write function (store_exec, store_exec_async, store_tx); reads are allowed
 * but slow every other writer down. */
typedef void (*store_done_fn)(void *ud, int rc, int64_t changes);

/* Queues a named write statement like store_exec() but returns at once:
 * done(ud, rc, changes) is called on the writer thread after the group commit
 * that made it durable, or after it failed. The statement name and every
 * value (text and blobs included) are copied: args may be freed as soon as
 * this returns. Waits for room when the queue is full (as store_exec does).
 * Returns 0 when queued, and then done is called exactly once; or a negative
 * cw_err (the store is closing, or the call came from the writer thread or a
 * row callback), and then done is never called.
 *
 * This is how many requests wait for one fsync without a thread each: the
 * webhook receiver suspends its HTTP request and resumes it from done. */
int store_exec_async(struct store *st, const char *stmt, const struct store_val *args,
		     size_t nargs, store_done_fn done, void *ud);

/* Runs a named read statement; fn is called per row. Returns 0, a negative
 * cw_err, or fn's first non-zero positive return. */
int store_query(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
		store_row_fn fn, void *ud);

/* Runs a read-only SQL text that the caller generated, with every value in
 * args bound to its ?N parameters. This is the segment query compiler's entry
 * point: it builds SQL *structure* from a parsed query (column names from a
 * fixed table, operators from a fixed table) and binds every value. sql must
 * never contain user text: no literal, name or fragment that came from a
 * request. One statement only; a statement that could write is refused with
 * CW_EINVAL. Runs on a read connection like store_query(). */
int store_query_sql(struct store *st, const char *sql, const struct store_val *args,
		    size_t nargs, store_row_fn fn, void *ud);

/* Prepares every named statement against the current schema and logs each
 * one that does not compile. Call after store_migrate() (carewire migrate
 * and the tests do). Returns 0 or CW_EINTERNAL. */
int store_check_statements(struct store *st);

/* Runs fn inside one write transaction (a savepoint within a group commit).
 * fn uses store_tx_exec / store_tx_query; if fn returns non-zero everything
 * it did is undone and that value is returned. Returns 0 once durable.
 * fn runs on the writer thread: it must not call store_exec/store_tx. */
typedef int (*store_tx_fn)(struct store_tx *tx, void *ud);
int store_tx(struct store *st, store_tx_fn fn, void *ud);

/* store_tx() without the wait: fn runs on the writer in a savepoint of a
 * group commit as for store_tx, and done(done_ud, rc, 0) is called on the
 * writer thread once that commit is durable (rc 0) or failed, or fn's own
 * non-zero return was undone (rc that value). ud must live until done is
 * called. Returns 0 when queued, and then done is called exactly once; or a
 * negative cw_err as store_exec_async(), and then neither fn nor done is. */
int store_tx_async(struct store *st, store_tx_fn fn, void *ud, store_done_fn done,
		   void *done_ud);
int store_tx_exec(struct store_tx *tx, const char *stmt, const struct store_val *args,
		  size_t nargs, int64_t *changes);
int store_tx_query(struct store_tx *tx, const char *stmt, const struct store_val *args,
		   size_t nargs, store_row_fn fn, void *ud);
/* Runs fn inside a nested savepoint of tx (from inside a store_tx function):
 * when fn returns non-zero only what fn did is undone, that value is
 * returned, and the transaction goes on. Lets one store_tx apply several
 * independent units (the ingest worker's webhook bodies) in one commit while
 * a failing unit loses only itself. */
int store_tx_savepoint(struct store_tx *tx, store_tx_fn fn, void *ud);
/* The rowid / serial id of the last insert within tx. */
int64_t store_tx_last_id(struct store_tx *tx);

/* Convenience: first column of the first row as an integer (*out untouched
 * and CW_ENOTFOUND when there is no row). */
int store_query_int(struct store *st, const char *stmt, const struct store_val *args,
		    size_t nargs, int64_t *out);
/* Convenience: first column of the first row as a new string (free()); a
 * NULL column gives *out = NULL and 0, no row gives CW_ENOTFOUND. */
int store_query_text(struct store *st, const char *stmt, const struct store_val *args,
		     size_t nargs, char **out);

/* Group-commit statistics, for /metrics and benchmarks. */
struct store_stats {
	uint64_t commits;      /* database transactions committed */
	uint64_t writes;       /* store_exec + store_tx calls completed */
	uint64_t write_errors;
	uint64_t pending;      /* jobs queued now, not yet taken by the writer */
};
void store_get_stats(struct store *st, struct store_stats *out);

#endif
