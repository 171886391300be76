/*
 * store_int.h — private to src/store: the table of operations a database
 * backend provides, and the row handle shared by store.c and the backends.
 *
 * store.c owns what every backend shares: URL dispatch, the group-commit
 * writer thread and its queue, statistics, the convenience queries. A
 * backend (store_sqlite.c; later store_pg.c over libpq) owns its connections,
 * its named-statement table and its migrations. Everything a backend does is
 * reached through struct store_backend, so adding one is one new file and one
 * row in store.c's backend table.
 *
 * Threads: the w_* and tx_* operations, migrate and check run only on the
 * writer thread (one at a time, in the order begin, { sp_begin, w_exec |
 * w_query ..., sp_release | sp_rollback }..., commit | rollback). query runs
 * on any thread, concurrently, and must not see uncommitted work.
 *
 * A PostgreSQL backend fits the same table: tx_begin is BEGIN, savepoints are
 * SAVEPOINT / ROLLBACK TO / RELEASE, w_query serves the claim statements
 * (FOR UPDATE SKIP LOCKED ... RETURNING), and advisory locks are ordinary
 * named statements (SELECT pg_try_advisory_lock(?)) run through query or
 * w_query.
 */
#ifndef CW_STORE_INT_H
#define CW_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A result row: the backend's row accessors and its cursor. Lives on the
 * stack of the backend's step loop; borrowed by the row callback. */
struct store_row {
	const struct store_backend *be;
	void *cur; /* the backend's cursor (sqlite3_stmt *, PGresult row ...) */
	int row;   /* row number within cur, for backends that need one */
};

struct store_backend {
	const char *name;    /* "sqlite" — store_backend_name() */
	const char *dialect; /* "sqlite" — store_dialect() */
	/* Non-zero when a failing statement undoes only its own changes and
	 * leaves the transaction open (SQLite's statement journal, given no
	 * statement uses OR FAIL): store.c then runs a one-statement job
	 * (store_exec) with no savepoint of its own, two statements fewer per
	 * job in a group commit. PostgreSQL aborts the whole transaction on any
	 * error, so its backend leaves this 0. */
	int stmt_atomic;

	/* Opens the backend on target (the URL without its scheme). Returns 0
	 * and the backend's handle in *out, or a negative cw_err. */
	int (*open)(const char *target, void **out);
	/* Closes every connection; the writer thread has already stopped. */
	void (*close)(void *h);

	/* Writer thread, no transaction open. */
	int (*migrate)(void *h, int *applied);
	int (*check)(void *h);
	/* Any thread. */
	int (*schema_version)(void *h);

	/* Reads, any thread. Exactly one of stmt (a statement name) and sql
	 * (generated SQL, store_query_sql) is non-NULL. */
	int (*query)(void *h, const char *stmt, const char *sql, const struct store_val *args,
		     size_t nargs, store_row_fn fn, void *ud);

	/* True when the calling thread is inside a read (a row callback): a
	 * write from there is refused, since in single-connection mode the
	 * writer would wait for that read to end. */
	int (*reading)(void *h);

	/* The group-commit transaction, writer thread only. After a
	 * successful tx_begin exactly one of tx_commit (when it succeeds) or
	 * tx_rollback ends it. tx_open returns 0 when the database undid the
	 * whole transaction on its own (SQLite does so on I/O errors, a full
	 * disk, out of memory), which store.c checks after a failed job. */
	int (*tx_begin)(void *h);
	int (*tx_commit)(void *h);
	void (*tx_rollback)(void *h);
	int (*tx_open)(void *h);
	int (*sp_begin)(void *h);
	int (*sp_release)(void *h);
	int (*sp_rollback)(void *h);
	int (*w_exec)(void *h, const char *stmt, const struct store_val *args, size_t nargs,
		      int64_t *changes);
	int (*w_query)(void *h, const char *stmt, const struct store_val *args, size_t nargs,
		       store_row_fn fn, void *ud);
	int64_t (*w_last_id)(void *h);

	/* Row accessors (store_row_*). */
	int (*row_count)(const struct store_row *row);
	int (*row_is_null)(const struct store_row *row, int col);
	int64_t (*row_int)(const struct store_row *row, int col);
	double (*row_real)(const struct store_row *row, int col);
	const char *(*row_text)(const struct store_row *row, int col);
	const void *(*row_blob)(const struct store_row *row, int col, size_t *len);
};

extern const struct store_backend store_sqlite_backend;

#endif
