/*
 * store_sqlite.c — the SQLite backend of the store (struct store_backend,
 * see store_int.h). The default: one database file in WAL mode.
 *
 * Connections. One write connection, used only by store.c's writer thread
 * (group commit) and by migrations, which also run there. A pool of read-only
 * connections (SQ_READERS_DEFAULT) serves store_query concurrently with the
 * writer: in WAL mode a reader sees the last committed state and never waits
 * for the writer. Each connection caches one prepared statement per named
 * statement (by its index in the name table, stmts.c); a statement is reset
 * and its bindings cleared after every use.
 *
 * ":memory:" (tests) is single-connection mode: an in-memory database is
 * private to its connection, so reads use the write connection too, under a
 * mutex that the writer holds from BEGIN to COMMIT; a read therefore never
 * sees work that is not committed, exactly as with a file.
 *
 * Statements are atomic on their own: a failing one is undone by SQLite's
 * statement journal and the transaction stays open (or SQLite undoes the
 * whole transaction, which store.c detects), so store.c runs a one-statement
 * job without a savepoint (stmt_atomic). That holds only while no named
 * statement uses the OR FAIL conflict clause, which keeps the changes a
 * failing statement made before it failed; store_check_statements() refuses
 * one that does.
 *
 * Checkpoints. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses the threshold, on the writer thread: copying a thousand pages into
 * the database and syncing it stalls every caller waiting for that group
 * commit (tens of milliseconds on a busy disk: the p99 of webhook
 * acknowledgements). So the write connection's automatic checkpoint is
 * replaced by a WAL hook that wakes a checkpointer thread, which runs PASSIVE
 * checkpoints on a connection of its own while the writer goes on committing
 * (a passive checkpoint takes no lock a writer needs). The writer still
 * checkpoints by itself past SQ_CKPT_BACKSTOP pages.
 *
 * Durability: synchronous=FULL by default, so a COMMIT has reached the disk
 * (the WAL is fsynced) before any caller of the batch is woken. The URL
 * option ?sync=normal trades that for speed (a power cut may lose the last
 * commits; a process crash does not) and is for benchmarks only.
 *
 * A read connection maps the database file from its first scan of
 * generated SQL on (store_query_sql: segments over every contact; PRAGMA
 * mmap_size, up to ?mmap=MB, default 4096; 0 turns it off). A segment over a
 * million contacts probes hundreds of thousands of pages, and through
 * read(2) each was copied into the connection's 2 MB cache. The mapping
 * stays: mapped anew for every scan, each page faulted in again and a
 * preview took twice as long (page faults are dear in a VM). The mapped
 * pages are the kernel's page cache (they count in the resident set as
 * RssFile, not as memory carewire allocated), and a process that never
 * scans, like one running only journeys, maps nothing.
 *
 * URL: sqlite:PATH[?sync=full|normal&readers=N&mmap=MB]. The folder of PATH is
 * created (0700) and a new database file is made private (0600): it holds
 * health data.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "store/store_int.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/stmts.h"
#include "base/banned.h"

#define SQ_READERS_DEFAULT 4
#define SQ_READERS_MAX	   16
#define SQ_BUSY_TIMEOUT_MS 10000
/* Address space a scan of generated SQL may map (MB) unless ?mmap= says;
 * SQLite maps no more than the file holds. */
#define SQ_MMAP_MB_DEFAULT 4096
#define SQ_MMAP_MB_MAX	   (1 << 20)
#define SQ_WRITER_CACHE	   "-16384" /* KiB */
#define SQ_PATH_MAX	   4096
/* WAL size (pages) after a commit that wakes the checkpointer: SQLite's own
 * auto-checkpoint threshold. */
#define SQ_CKPT_PAGES 1000
/* Past this many WAL pages (about 400 MB) the writer checkpoints by itself,
 * as SQLite would: a backstop should the checkpointer fall behind. */
#define SQ_CKPT_BACKSTOP 100000

/* Transaction control on the write connection, prepared once. */
enum sq_ctl { CTL_BEGIN, CTL_COMMIT, CTL_ROLLBACK, CTL_SP, CTL_RELEASE, CTL_ROLLBACK_TO, CTL_N };

/* clang-format off */
static const char *const sq_ctl_sql[CTL_N] = {
	[CTL_BEGIN] = "BEGIN IMMEDIATE",
	[CTL_COMMIT] = "COMMIT",
	[CTL_ROLLBACK] = "ROLLBACK",
	[CTL_SP] = "SAVEPOINT cw_job",
	[CTL_RELEASE] = "RELEASE cw_job",
	[CTL_ROLLBACK_TO] = "ROLLBACK TO cw_job",
};
/* clang-format on */

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt **cache; /* [sqlite_stmt_count()], by statement index */
	struct sq_conn *next_free;
	int mapped; /* it maps the file (since its first scan) */
};

struct sq {
	char *path;
	int memory;    /* ":memory:": single-connection mode */
	int sync_full; /* synchronous=FULL (default) or NORMAL */
	int nreaders;
	long mmap_mb;

	struct sq_conn w;
	sqlite3_stmt *ctl[CTL_N];
	/* single-connection mode: held by the writer from BEGIN to the end of
	 * the transaction, and by each read */
	pthread_mutex_t wlock;

	struct sq_conn *readers;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct sq_conn *free_list;

	/* the checkpointer (file databases): its own connection and thread */
	sqlite3 *ck_db;
	pthread_t ck_thread;
	int ck_started;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;
	int ck_want, ck_stop; /* under ck_mu */
};

/* The connection this thread holds for a read in progress (or, in
 * single-connection mode, the writer's transaction): a read from inside a row
 * callback reuses it instead of waiting for a second one. */
static _Thread_local struct sq *tl_sq;
static _Thread_local struct sq_conn *tl_conn;

/* ---- errors ---- */

/* SQLite result codes to cw_err: extended codes first, then primary ones. */
static const struct {
	int code;
	int err;
} sq_err_table[] = {
    {SQLITE_CONSTRAINT_UNIQUE, CW_ECONFLICT},
    {SQLITE_CONSTRAINT_PRIMARYKEY, CW_ECONFLICT},
    {SQLITE_CONSTRAINT, CW_EINVAL},
    {SQLITE_MISMATCH, CW_EINVAL},
    {SQLITE_RANGE, CW_EINVAL},
    {SQLITE_BUSY, CW_EUNAVAIL},
    {SQLITE_LOCKED, CW_EUNAVAIL},
    {SQLITE_NOMEM, CW_ENOMEM},
    {SQLITE_TOOBIG, CW_ETOOBIG},
    {SQLITE_FULL, CW_EIO},
    {SQLITE_IOERR, CW_EIO},
    {SQLITE_CORRUPT, CW_EIO},
    {SQLITE_NOTADB, CW_EIO},
    {SQLITE_CANTOPEN, CW_EIO},
    {SQLITE_READONLY, CW_EIO},
    {SQLITE_PERM, CW_EIO},
    {SQLITE_PROTOCOL, CW_EIO},
};

/* Maps the connection's last error to a cw_err and logs it; a constraint
 * failure is an expected outcome (a duplicate) and logged at debug only.
 * SQLite's messages name tables and columns, never values. */
static int sq_err(sqlite3 *db, int rc, const char *what)
{
	int ext = db ? sqlite3_extended_errcode(db) : rc;
	int err = CW_EINTERNAL;
	if ((rc & 0xff) != (ext & 0xff))
		ext = rc;
	for (size_t i = 0; i < sizeof sq_err_table / sizeof sq_err_table[0]; i++) {
		if (sq_err_table[i].code == ext || sq_err_table[i].code == (ext & 0xff)) {
			err = sq_err_table[i].err;
			break;
		}
	}
	if ((ext & 0xff) == SQLITE_CONSTRAINT)
		log_debug("store", "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	else
		log_warn("store", "%s: %s (sqlite %d)", what,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext);
	return err;
}

/* ---- statements ---- */

static int sq_bind(sqlite3 *db, sqlite3_stmt *s, const char *what, const struct store_val *args,
		   size_t nargs)
{
	int np = sqlite3_bind_parameter_count(s);
	if ((size_t)np != nargs) {
		log_error("store", "%s: %zu values bound to %d parameters", what, nargs, np);
		return CW_EINVAL;
	}
	for (int i = 0; i < np; i++) {
		const struct store_val *v = &args[i];
		int rc;
		switch (v->type) {
		case SV_T_NULL:
			rc = sqlite3_bind_null(s, i + 1);
			break;
		case SV_T_INT:
			rc = sqlite3_bind_int64(s, i + 1, v->i);
			break;
		case SV_T_REAL:
			rc = sqlite3_bind_double(s, i + 1, v->r);
			break;
		case SV_T_TEXT:
			if (!v->s)
				rc = sqlite3_bind_null(s, i + 1);
			else
				rc = sqlite3_bind_text64(s, i + 1, v->s, v->n ? v->n : strlen(v->s),
							 SQLITE_STATIC, SQLITE_UTF8);
			break;
		case SV_T_BLOB:
			/* a non-NULL pointer with n == 0 is an empty blob, not NULL */
			if (!v->s)
				rc = sqlite3_bind_null(s, i + 1);
			else
				rc = sqlite3_bind_blob64(s, i + 1, v->s, v->n, SQLITE_STATIC);
			break;
		default:
			log_error("store", "%s: value %d has no valid type", what, i + 1);
			return CW_EINVAL;
		}
		if (rc != SQLITE_OK)
			return sq_err(db, rc, what);
	}
	return 0;
}

/* Finds the prepared statement for name on c: the cached one, or, when that
 * one is in use further up this thread's stack (a query from inside a row
 * callback), a temporary one that the caller finalizes (*temp = 1). */
static int sq_named(struct sq_conn *c, const char *name, sqlite3_stmt **out, int *temp)
{
	int idx = sqlite_stmt_find(name);
	sqlite3_stmt *s = NULL;

	*out = NULL;
	*temp = 0;
	if (idx < 0) {
		log_error("store", "unknown statement \"%s\"", name);
		return CW_EINTERNAL;
	}
	if (c->cache[idx] && !sqlite3_stmt_busy(c->cache[idx])) {
		*out = c->cache[idx];
		return 0;
	}
	int rc = sqlite3_prepare_v3(c->db, sqlite_stmt_at(idx)->sql, -1,
				    c->cache[idx] ? 0 : SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		log_error("store", "statement \"%s\" does not compile: %s", name,
			  sqlite3_errmsg(c->db));
		sqlite3_finalize(s);
		return CW_EINTERNAL;
	}
	if (c->cache[idx])
		*temp = 1;
	else
		c->cache[idx] = s;
	*out = s;
	return 0;
}

static void sq_done(sqlite3_stmt *s, int temp)
{
	if (!s)
		return;
	if (temp) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Steps s to the end, calling fn per row. Returns 0, a negative cw_err, or
 * fn's first non-zero return. */
static int sq_step_all(sqlite3 *db, sqlite3_stmt *s, const char *what, store_row_fn fn, void *ud)
{
	struct store_row row = {&store_sqlite_backend, s, 0};
	for (;;) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			if (fn) {
				int r = fn(ud, &row);
				if (r)
					return r;
			}
			row.row++;
			continue;
		}
		if (rc == SQLITE_DONE)
			return 0;
		return sq_err(db, rc, what);
	}
}

/* Runs a named statement on c (bind, step, reset). */
static int sq_run_named(struct sq_conn *c, const char *name, const struct store_val *args,
			size_t nargs, store_row_fn fn, void *ud, int read_only, int64_t *changes)
{
	sqlite3_stmt *s = NULL;
	int temp = 0;
	int rc = sq_named(c, name, &s, &temp);
	if (rc)
		return rc;
	if (read_only && !sqlite3_stmt_readonly(s)) {
		log_error("store", "statement \"%s\" writes: run it with store_exec or store_tx",
			  name);
		rc = CW_EINVAL;
		goto done;
	}
	rc = sq_bind(c->db, s, name, args, nargs);
	if (rc)
		goto done;
	rc = sq_step_all(c->db, s, name, fn, ud);
	if (rc == 0 && changes)
		*changes = sqlite3_stmt_readonly(s) ? 0 : sqlite3_changes64(c->db);
done:
	sq_done(s, temp);
	return rc;
}

/* Runs generated SQL (store_query_sql): one read-only statement. */
static int sq_run_sql(struct sq_conn *c, const char *sql, const struct store_val *args,
		      size_t nargs, store_row_fn fn, void *ud)
{
	sqlite3_stmt *s = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, 0, &s, &tail);
	if (rc != SQLITE_OK || !s) {
		/* the SQL carries no user text (store.h), so it may be logged */
		log_error("store", "store_query_sql: %s in: %s",
			  rc != SQLITE_OK ? sqlite3_errmsg(c->db) : "empty statement", sql);
		sqlite3_finalize(s);
		return CW_EINVAL;
	}
	while (tail &&
	       (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		log_error("store", "store_query_sql: more than one statement");
		rc = CW_EINVAL;
		goto done;
	}
	if (!sqlite3_stmt_readonly(s)) {
		log_error("store", "store_query_sql: statement would write; refused");
		rc = CW_EINVAL;
		goto done;
	}
	rc = sq_bind(c->db, s, "store_query_sql", args, nargs);
	if (rc)
		goto done;
	rc = sq_step_all(c->db, s, "store_query_sql", fn, ud);
done:
	sqlite3_finalize(s);
	return rc;
}

/* ---- connections ---- */

static int sq_pragma(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_error("store", "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return CW_EIO;
	}
	return 0;
}

static int sq_conn_open(struct sq *q, struct sq_conn *c, int writer)
{
	int flags = SQLITE_OPEN_NOMUTEX |
		    (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
	int rc = sqlite3_open_v2(q->path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		log_error("store", "cannot open %s: %s", q->path,
			  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close_v2(c->db);
		c->db = NULL;
		return CW_EIO;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
	c->cache = xcalloc((size_t)sqlite_stmt_count() + 1, sizeof *c->cache);
	if (writer) {
		if (sq_pragma(c->db, "PRAGMA foreign_keys = ON"))
			return CW_EIO;
		/* 16 MB of page cache for the one writer instead of SQLite's
		 * 2 MB: a reminder touches pages of ten indexed tables, and
		 * with 2 MB they were read back through pread() over and over
		 * (due runs 1,450 -> 2,000/s at 100,000; 64 MB was no better) */
		if (sq_pragma(c->db, "PRAGMA cache_size = " SQ_WRITER_CACHE))
			return CW_EIO;
		if (!q->memory) {
			sqlite3_stmt *s = NULL;
			const char *mode = NULL;
			rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
			if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
				mode = (const char *)sqlite3_column_text(s, 0);
			if (!mode || strcmp(mode, "wal") != 0) {
				log_error("store", "%s: cannot switch to WAL mode (%s)", q->path,
					  mode ? mode : sqlite3_errmsg(c->db));
				sqlite3_finalize(s);
				return CW_EIO;
			}
			sqlite3_finalize(s);
		}
		if (sq_pragma(c->db, q->sync_full ? "PRAGMA synchronous = FULL"
						  : "PRAGMA synchronous = NORMAL"))
			return CW_EIO;
		for (int i = 0; i < CTL_N; i++) {
			rc = sqlite3_prepare_v3(c->db, sq_ctl_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						&q->ctl[i], NULL);
			if (rc != SQLITE_OK)
				return sq_err(c->db, rc, sq_ctl_sql[i]);
		}
	} else {
		if (sq_pragma(c->db, "PRAGMA query_only = ON"))
			return CW_EIO;
	}
	return 0;
}

static void sq_conn_close(struct sq_conn *c)
{
	if (!c->cache)
		return;
	for (int i = 0; i < sqlite_stmt_count(); i++)
		sqlite3_finalize(c->cache[i]);
	free(c->cache);
	c->cache = NULL;
	sqlite3_close_v2(c->db);
	c->db = NULL;
}

/* Takes a connection for one read: this thread's current one when it holds
 * one already, else the shared one (single-connection mode) or a free reader. */
static struct sq_conn *sq_read_begin(struct sq *q, int *nested)
{
	struct sq_conn *c;
	if (tl_sq == q && tl_conn) {
		*nested = 1;
		return tl_conn;
	}
	*nested = 0;
	if (q->memory) {
		pthread_mutex_lock(&q->wlock);
		c = &q->w;
	} else {
		pthread_mutex_lock(&q->pool_mu);
		while (!q->free_list)
			pthread_cond_wait(&q->pool_cv, &q->pool_mu);
		c = q->free_list;
		q->free_list = c->next_free;
		pthread_mutex_unlock(&q->pool_mu);
	}
	tl_sq = q;
	tl_conn = c;
	return c;
}

static void sq_read_end(struct sq *q, struct sq_conn *c, int nested)
{
	if (nested)
		return;
	tl_sq = NULL;
	tl_conn = NULL;
	if (q->memory) {
		pthread_mutex_unlock(&q->wlock);
		return;
	}
	pthread_mutex_lock(&q->pool_mu);
	c->next_free = q->free_list;
	q->free_list = c;
	pthread_cond_signal(&q->pool_cv);
	pthread_mutex_unlock(&q->pool_mu);
}

/* ---- the checkpointer ---- */

/* Runs on the writer thread after each commit with the WAL's size. */
static int sq_wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct sq *q = ud;
	if (pages >= SQ_CKPT_PAGES) {
		pthread_mutex_lock(&q->ck_mu);
		if (!q->ck_want) {
			q->ck_want = 1;
			pthread_cond_signal(&q->ck_cv);
		}
		pthread_mutex_unlock(&q->ck_mu);
	}
	if (pages >= SQ_CKPT_BACKSTOP)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void *sq_ckpt_main(void *arg)
{
	struct sq *q = arg;
	pthread_mutex_lock(&q->ck_mu);
	for (;;) {
		while (!q->ck_want && !q->ck_stop)
			pthread_cond_wait(&q->ck_cv, &q->ck_mu);
		if (q->ck_stop)
			break;
		q->ck_want = 0;
		pthread_mutex_unlock(&q->ck_mu);
		int rc = sqlite3_wal_checkpoint_v2(q->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
						   NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			log_warn("store", "checkpoint: %s (sqlite %d)", sqlite3_errmsg(q->ck_db), rc);
		pthread_mutex_lock(&q->ck_mu);
	}
	pthread_mutex_unlock(&q->ck_mu);
	return NULL;
}

/* Opens the checkpointer's connection, starts its thread and hands the
 * write connection's checkpoints to it. Without it (an error, logged) SQLite
 * checkpoints on the writer as usual: slower, never wrong. */
static void sq_ckpt_start(struct sq *q)
{
	int rc = sqlite3_open_v2(q->path, &q->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(q->ck_db,
				  q->sync_full ? "PRAGMA synchronous = FULL"
					       : "PRAGMA synchronous = NORMAL",
				  NULL, NULL, NULL);
	if (rc != SQLITE_OK || pthread_create(&q->ck_thread, NULL, sq_ckpt_main, q) != 0) {
		log_warn("store", "no checkpointer thread (%s): checkpoints run on the writer",
			 q->ck_db ? sqlite3_errmsg(q->ck_db) : sqlite3_errstr(rc));
		sqlite3_close_v2(q->ck_db);
		q->ck_db = NULL;
		return;
	}
	q->ck_started = 1;
	sqlite3_wal_hook(q->w.db, sq_wal_hook, q); /* replaces the automatic checkpoint */
}

static void sq_ckpt_stop(struct sq *q)
{
	if (!q->ck_started)
		return;
	pthread_mutex_lock(&q->ck_mu);
	q->ck_stop = 1;
	pthread_cond_signal(&q->ck_cv);
	pthread_mutex_unlock(&q->ck_mu);
	pthread_join(q->ck_thread, NULL);
	q->ck_started = 0;
	sqlite3_wal_hook(q->w.db, NULL, NULL);
	sqlite3_close_v2(q->ck_db);
	q->ck_db = NULL;
}

/* ---- open / close ---- */

/* mkdir -p of the folder that will hold path. */
static int sq_make_dirs(const char *path)
{
	char dir[SQ_PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof dir)
		return CW_ETOOBIG;
	memcpy(dir, path, n + 1);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			log_error("store", "cannot create folder %s: %s", dir, strerror(errno));
			return CW_EIO;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("store", "cannot create folder %s: %s", dir, strerror(errno));
		return CW_EIO;
	}
	return 0;
}

/* Parses "k=v&k=v" options after the path. */
static int sq_options(struct sq *q, char *opts)
{
	char *save = NULL;
	for (char *kv = strtok_r(opts, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		const char *k = kv, *v = eq + 1;
		if (strcmp(k, "sync") == 0 && strcmp(v, "full") == 0) {
			q->sync_full = 1;
		} else if (strcmp(k, "sync") == 0 && strcmp(v, "normal") == 0) {
			q->sync_full = 0;
		} else if (strcmp(k, "readers") == 0) {
			char *end = NULL;
			long r = strtol(v, &end, 10);
			if (!*v || *end || r < 1 || r > SQ_READERS_MAX)
				goto bad;
			q->nreaders = (int)r;
		} else if (strcmp(k, "mmap") == 0) {
			char *end = NULL;
			long mb = strtol(v, &end, 10);
			if (!*v || *end || mb < 0 || mb > SQ_MMAP_MB_MAX)
				goto bad;
			q->mmap_mb = mb;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	log_error("store",
		  "bad sqlite url option \"%s\" (known: sync=full|normal, readers=1..%d, "
		  "mmap=0..%d MB)",
		  opts, SQ_READERS_MAX, SQ_MMAP_MB_MAX);
	return CW_EINVAL;
}

static void sq_close(void *h)
{
	struct sq *q = h;
	if (!q)
		return;
	sq_ckpt_stop(q);
	for (int i = 0; q->readers && i < q->nreaders; i++)
		sq_conn_close(&q->readers[i]);
	free(q->readers);
	for (int i = 0; i < CTL_N; i++)
		sqlite3_finalize(q->ctl[i]);
	sq_conn_close(&q->w);
	pthread_cond_destroy(&q->pool_cv);
	pthread_mutex_destroy(&q->pool_mu);
	pthread_cond_destroy(&q->ck_cv);
	pthread_mutex_destroy(&q->ck_mu);
	pthread_mutex_destroy(&q->wlock);
	free(q->path);
	free(q);
}

static int sq_open(const char *target, void **out)
{
	struct sq *q = NULL;
	char *opts = NULL;
	int rc = sqlite_stmt_init();

	*out = NULL;
	if (rc)
		return rc;
	if (!target || !*target) {
		log_error("store", "sqlite url without a path (sqlite:PATH or sqlite::memory:)");
		return CW_EINVAL;
	}
	if (!sqlite3_threadsafe()) {
		log_error("store", "this SQLite library was built without thread support");
		return CW_EUNSUPPORTED;
	}
	q = xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->wlock, NULL);
	pthread_mutex_init(&q->pool_mu, NULL);
	pthread_cond_init(&q->pool_cv, NULL);
	pthread_mutex_init(&q->ck_mu, NULL);
	pthread_cond_init(&q->ck_cv, NULL);
	q->path = xstrdup(target);
	q->sync_full = 1;
	q->nreaders = SQ_READERS_DEFAULT;
	q->mmap_mb = SQ_MMAP_MB_DEFAULT;
	opts = strchr(q->path, '?');
	if (opts) {
		*opts++ = '\0';
		rc = sq_options(q, opts);
		if (rc)
			goto fail;
	}
	q->memory = strcmp(q->path, ":memory:") == 0;

	int created = 0;
	if (!q->memory) {
		rc = sq_make_dirs(q->path);
		if (rc)
			goto fail;
		created = access(q->path, F_OK) != 0;
	}
	rc = sq_conn_open(q, &q->w, 1);
	if (rc)
		goto fail;
	if (created && chmod(q->path, 0600) != 0)
		log_warn("store", "cannot make %s private: %s", q->path, strerror(errno));

	if (q->memory) {
		q->nreaders = 0;
	} else {
		q->readers = xcalloc((size_t)q->nreaders, sizeof *q->readers);
		for (int i = 0; i < q->nreaders; i++) {
			rc = sq_conn_open(q, &q->readers[i], 0);
			if (rc)
				goto fail;
			q->readers[i].next_free = q->free_list;
			q->free_list = &q->readers[i];
		}
		sq_ckpt_start(q);
	}
	log_info("store", "sqlite %s: %s, synchronous=%s, %d read connections", q->path,
		 q->memory ? "in memory, single connection" : "WAL",
		 q->sync_full ? "FULL" : "NORMAL", q->nreaders);
	*out = q;
	return 0;
fail:
	sq_close(q);
	return rc;
}

/* ---- migrations and checks (writer thread, no transaction open) ---- */

static int sq_ctl(struct sq *q, enum sq_ctl which)
{
	sqlite3_stmt *s = q->ctl[which];
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sq_err(q->w.db, rc, sq_ctl_sql[which]);
	return 0;
}

/* Runs sql (no parameters) on db and returns 1 when it yields a row, 0 when
 * not, or a negative cw_err. Binds an int ?1 when bind_v >= 0. */
static int sq_one(sqlite3 *db, const char *sql, int64_t bind_v, int64_t *col0)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sq_err(db, rc, "schema_migrations");
	if (bind_v >= 0)
		sqlite3_bind_int64(s, 1, bind_v);
	rc = sqlite3_step(s);
	int ret;
	if (rc == SQLITE_ROW) {
		if (col0)
			*col0 = sqlite3_column_int64(s, 0);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		ret = sq_err(db, rc, "schema_migrations");
	}
	sqlite3_finalize(s);
	return ret;
}

static int sq_apply(struct sq *q, const struct sqlite_migration *m, int *applied)
{
	sqlite3 *db = q->w.db;
	sqlite3_stmt *s = NULL;
	char *msg = NULL;
	int rc = sq_ctl(q, CTL_BEGIN);
	if (rc)
		return rc;
	/* another process may have applied it since we looked */
	rc = sq_one(db, sqlite_migrations_applied, m->version, NULL);
	if (rc < 0)
		goto fail;
	if (rc == 1)
		return sq_ctl(q, CTL_COMMIT);
	rc = sqlite3_exec(db, m->sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_error("store", "migration %04d %s failed: %s", m->version, m->name,
			  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		rc = CW_EINTERNAL;
		goto fail;
	}
	rc = sqlite3_prepare_v2(db, sqlite_migrations_record, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(s, 1, m->version);
		sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, time_now_ms());
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		rc = sq_err(db, rc, "schema_migrations");
		goto fail;
	}
	rc = sq_ctl(q, CTL_COMMIT);
	if (rc)
		goto fail;
	log_info("store", "migration %04d %s applied", m->version, m->name);
	(*applied)++;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sq_ctl(q, CTL_ROLLBACK);
	return rc;
}

static int sq_migrate_locked(struct sq *q, int *applied)
{
	int64_t have = 0;
	int rc = sq_pragma(q->w.db, sqlite_migrations_bootstrap);
	if (rc)
		return rc;
	rc = sq_one(q->w.db, sqlite_migrations_version, -1, &have);
	if (rc < 0)
		return rc;
	int prev = 0;
	for (size_t i = 0; i < sqlite_migration_count; i++) {
		const struct sqlite_migration *m = &sqlite_migrations[i];
		if (m->version <= prev) {
			log_error("store", "migration %04d %s is out of order", m->version,
				  m->name);
			return CW_EINTERNAL;
		}
		prev = m->version;
		if (m->version <= have)
			continue;
		rc = sq_apply(q, m, applied);
		if (rc)
			return rc;
	}
	if (have > prev)
		log_warn("store", "database schema version %lld is newer than this carewire (%d)",
			 (long long)have, prev);
	return 0;
}

static int sq_migrate(void *h, int *applied)
{
	struct sq *q = h;
	int rc;
	if (q->memory)
		pthread_mutex_lock(&q->wlock);
	rc = sq_migrate_locked(q, applied);
	if (q->memory)
		pthread_mutex_unlock(&q->wlock);
	return rc;
}

/* Does sql use the OR FAIL conflict clause (any case, any spacing)? */
static int sq_has_or_fail(const char *sql)
{
	for (const char *p = sql; *p; p++) {
		if ((p[0] | 0x20) != 'o' || (p[1] | 0x20) != 'r')
			continue;
		if (p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *q = p + 2;
		if (!isspace((unsigned char)*q))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (strncasecmp(q, "fail", 4) == 0 && !isalnum((unsigned char)q[4]) && q[4] != '_')
			return 1;
	}
	return 0;
}

static int sq_check(void *h)
{
	struct sq *q = h;
	int bad = 0;
	if (q->memory)
		pthread_mutex_lock(&q->wlock);
	for (int i = 0; i < sqlite_stmt_count(); i++) {
		const struct sqlite_stmt_def *d = sqlite_stmt_at(i);
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(q->w.db, d->sql, -1, &s, NULL) != SQLITE_OK) {
			log_error("store", "statement \"%s\" does not compile: %s", d->name,
				  sqlite3_errmsg(q->w.db));
			bad++;
		}
		if (sq_has_or_fail(d->sql)) {
			log_error("store",
				  "statement \"%s\" uses OR FAIL: a failing statement must undo "
				  "itself (see stmt_atomic)",
				  d->name);
			bad++;
		}
		sqlite3_finalize(s);
	}
	if (q->memory)
		pthread_mutex_unlock(&q->wlock);
	return bad ? CW_EINTERNAL : 0;
}

static int sq_schema_version(void *h)
{
	struct sq *q = h;
	int nested;
	int64_t v = 0;
	struct sq_conn *c = sq_read_begin(q, &nested);
	int rc = sq_one(c->db,
			"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
			"name = 'schema_migrations'",
			-1, &v);
	if (rc == 1 && v == 1)
		rc = sq_one(c->db, sqlite_migrations_version, -1, &v);
	sq_read_end(q, c, nested);
	if (rc < 0)
		return rc;
	return (int)v;
}

/* ---- reads ---- */

/* Lets connection c map up to mb MB of the file. Returns 0, or -1 after
 * logging (a failure only costs speed). */
static int sq_map(struct sq_conn *c, long mb)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA mmap_size = %lld", (long long)mb << 20);
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	log_warn("store", "mmap_size: %s", sqlite3_errmsg(c->db));
	return -1;
}

static int sq_query(void *h, const char *stmt, const char *sql, const struct store_val *args,
		    size_t nargs, store_row_fn fn, void *ud)
{
	struct sq *q = h;
	int nested;
	struct sq_conn *c = sq_read_begin(q, &nested);
	int rc;
	/* a scan maps the file (see the top of this file) */
	if (!stmt && !nested && !c->mapped && !q->memory && q->mmap_mb > 0)
		c->mapped = sq_map(c, q->mmap_mb) == 0;
	if (stmt)
		rc = sq_run_named(c, stmt, args, nargs, fn, ud, 1, NULL);
	else
		rc = sq_run_sql(c, sql, args, nargs, fn, ud);
	sq_read_end(q, c, nested);
	return rc;
}

static int sq_reading(void *h)
{
	return tl_sq == h && tl_conn != NULL;
}

/* ---- the group-commit transaction (writer thread) ---- */

static int sq_tx_begin(void *h)
{
	struct sq *q = h;
	if (q->memory) {
		pthread_mutex_lock(&q->wlock);
		tl_sq = q;
		tl_conn = &q->w;
	}
	int rc = sq_ctl(q, CTL_BEGIN);
	if (rc && q->memory) {
		tl_sq = NULL;
		tl_conn = NULL;
		pthread_mutex_unlock(&q->wlock);
	}
	return rc;
}

static void sq_tx_end(struct sq *q)
{
	if (q->memory) {
		tl_sq = NULL;
		tl_conn = NULL;
		pthread_mutex_unlock(&q->wlock);
	}
}

static int sq_tx_commit(void *h)
{
	struct sq *q = h;
	int rc = sq_ctl(q, CTL_COMMIT);
	if (rc == 0)
		sq_tx_end(q);
	return rc; /* on failure the caller ends it with tx_rollback */
}

static void sq_tx_rollback(void *h)
{
	struct sq *q = h;
	if (!sqlite3_get_autocommit(q->w.db))
		sq_ctl(q, CTL_ROLLBACK);
	sq_tx_end(q);
}

static int sq_tx_open(void *h)
{
	struct sq *q = h;
	return !sqlite3_get_autocommit(q->w.db);
}

static int sq_sp_begin(void *h)
{
	return sq_ctl(h, CTL_SP);
}

static int sq_sp_release(void *h)
{
	return sq_ctl(h, CTL_RELEASE);
}

static int sq_sp_rollback(void *h)
{
	int rc = sq_ctl(h, CTL_ROLLBACK_TO);
	if (rc == 0)
		rc = sq_ctl(h, CTL_RELEASE);
	return rc;
}

static int sq_w_exec(void *h, const char *stmt, const struct store_val *args, size_t nargs,
		     int64_t *changes)
{
	struct sq *q = h;
	return sq_run_named(&q->w, stmt, args, nargs, NULL, NULL, 0, changes);
}

static int sq_w_query(void *h, const char *stmt, const struct store_val *args, size_t nargs,
		      store_row_fn fn, void *ud)
{
	struct sq *q = h;
	return sq_run_named(&q->w, stmt, args, nargs, fn, ud, 0, NULL);
}

static int64_t sq_w_last_id(void *h)
{
	struct sq *q = h;
	return sqlite3_last_insert_rowid(q->w.db);
}

/* ---- rows ---- */

static int sq_row_count(const struct store_row *row)
{
	return sqlite3_column_count(row->cur);
}

static int sq_col_ok(const struct store_row *row, int col)
{
	return col >= 0 && col < sqlite3_column_count(row->cur);
}

static int sq_row_is_null(const struct store_row *row, int col)
{
	return !sq_col_ok(row, col) || sqlite3_column_type(row->cur, col) == SQLITE_NULL;
}

static int64_t sq_row_int(const struct store_row *row, int col)
{
	return sq_col_ok(row, col) ? sqlite3_column_int64(row->cur, col) : 0;
}

static double sq_row_real(const struct store_row *row, int col)
{
	return sq_col_ok(row, col) ? sqlite3_column_double(row->cur, col) : 0.0;
}

static const char *sq_row_text(const struct store_row *row, int col)
{
	if (!sq_col_ok(row, col))
		return NULL;
	return (const char *)sqlite3_column_text(row->cur, col);
}

static const void *sq_row_blob(const struct store_row *row, int col, size_t *len)
{
	*len = 0;
	if (sq_row_is_null(row, col))
		return NULL;
	const void *p = sqlite3_column_blob(row->cur, col);
	*len = (size_t)sqlite3_column_bytes(row->cur, col);
	return p ? p : ""; /* an empty blob is not NULL */
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .dialect = "sqlite",
    .stmt_atomic = 1,
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .check = sq_check,
    .schema_version = sq_schema_version,
    .query = sq_query,
    .reading = sq_reading,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .tx_open = sq_tx_open,
    .sp_begin = sq_sp_begin,
    .sp_release = sq_sp_release,
    .sp_rollback = sq_sp_rollback,
    .w_exec = sq_w_exec,
    .w_query = sq_w_query,
    .w_last_id = sq_w_last_id,
    .row_count = sq_row_count,
    .row_is_null = sq_row_is_null,
    .row_int = sq_row_int,
    .row_real = sq_row_real,
    .row_text = sq_row_text,
    .row_blob = sq_row_blob,
};
