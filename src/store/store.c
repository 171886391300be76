/*
 * store.c — the storage front: URL dispatch to a backend, the group-commit
 * writer, statistics and the convenience queries (see store.h).
 *
 * Group commit. Every write (store_exec, store_tx) is a job on a bounded
 * queue. One writer thread per store takes every pending job (at most
 * STORE_BATCH_MAX), opens one database transaction, runs each job inside its
 * own savepoint (a failing job is rolled back to its savepoint and only its
 * caller sees the error), commits once, then wakes each caller with its own
 * result. Callers sleep on a semaphore of their own, so one commit
 * (one fsync) acknowledges a whole batch. Jobs that must run with no
 * transaction open (migrations, the statement check) run alone.
 *
 * An asynchronous job (store_exec_async, store_tx_async) has no caller
 * waiting: it lives on the heap (store_exec_async's with a copy of its
 * statement name and values), and after the commit the writer calls its
 * done callback and frees it. Thousands of such
 * jobs (suspended HTTP requests) can wait for one fsync with no thread each.
 *
 * A job of one statement runs without a savepoint when the backend's failing
 * statements undo only themselves (stmt_atomic): SAVEPOINT and RELEASE would
 * cost two more statements per job for nothing.
 *
 * Everything database-specific is behind struct store_backend (store_int.h).
 */
#include "store/store.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "store/store_int.h"
#include "base/banned.h"

#define STORE_BATCH_MAX 1024 /* jobs per database transaction */
#define STORE_QUEUE_MAX 4096 /* pending jobs before callers wait for room */
/* Longest the writer waits for the callers of the last batch to come back
 * (see writer_gather); the wait is also at most a quarter of the last batch's
 * run time, so it costs nothing measurable when commits are cheap. */
#define STORE_GATHER_MAX_US 1000

enum job_kind { JOB_EXEC, JOB_TX, JOB_ALONE };

struct job {
	enum job_kind kind;
	/* JOB_EXEC */
	const char *stmt;
	const struct store_val *args;
	size_t nargs;
	int64_t changes;
	/* JOB_TX */
	store_tx_fn fn;
	void *ud;
	/* JOB_ALONE: runs on the writer with no transaction open */
	int (*alone)(struct store *st, void *ud);
	/* asynchronous (store_exec_async): no caller waits on done; the
	 * writer calls on_done and frees the job */
	store_done_fn on_done;
	void *done_ud;

	int rc;
	sem_t done; /* posted by the writer once rc is final (synchronous jobs) */
	struct job *next;
};

struct store {
	const struct store_backend *be;
	void *h; /* the backend's handle */

	pthread_mutex_t mu;	/* guards everything below */
	pthread_cond_t cv_work; /* the writer waits for jobs */
	pthread_cond_t cv_room; /* callers wait for room in the queue */
	pthread_cond_t cv_idle; /* store_free waits for callers to leave */
	struct job *head, *tail;
	size_t pending;
	atomic_size_t inflight; /* callers inside job_submit */
	atomic_int stopping;
	pthread_t writer;
	struct store_stats stats;
};

struct store_tx {
	struct store *st;
};

/* Set on a writer thread to its store: a write call from inside a job would
 * wait for itself forever, so it is refused instead. */
static _Thread_local const struct store *tl_writer_of;

/* The URL schemes carewire knows; a NULL backend is known but not built. */
static const struct {
	const char *prefix;
	const struct store_backend *be;
} store_schemes[] = {
    {"sqlite:", &store_sqlite_backend},
    {"postgres://", NULL},
    {"postgresql://", NULL},
};

/* ---- the writer ---- */

static int job_run(struct store *st, struct job *j)
{
	if (j->kind == JOB_EXEC)
		return st->be->w_exec(st->h, j->stmt, j->args, j->nargs, &j->changes);
	struct store_tx tx = {st};
	return j->fn(&tx, j->ud);
}

/* Runs jobs[0..n) in as few transactions as possible: normally one. A new
 * transaction is started only when the database itself undid the open one
 * (then the jobs already done in it are reported failed: their work is gone). */
static void batch_run(struct store *st, struct job **jobs, size_t n, uint64_t *commits)
{
	const struct store_backend *be = st->be;
	size_t i = 0;

	if (n == 1 && jobs[0]->kind == JOB_ALONE) {
		jobs[0]->rc = jobs[0]->alone(st, jobs[0]->ud);
		return;
	}
	while (i < n) {
		size_t first = i;
		int rc = be->tx_begin(st->h);
		if (rc) {
			for (; i < n; i++)
				jobs[i]->rc = rc;
			return;
		}
		int undone = 0;
		for (; i < n && !undone; i++) {
			if (jobs[i]->kind == JOB_EXEC && be->stmt_atomic) {
				rc = job_run(st, jobs[i]); /* undoes only itself on failure */
			} else {
				rc = be->sp_begin(st->h);
				if (rc == 0) {
					rc = job_run(st, jobs[i]);
					if (rc == 0)
						rc = be->sp_release(st->h);
					if (rc && be->tx_open(st->h))
						be->sp_rollback(st->h); /* undo this job only */
				}
			}
			jobs[i]->rc = rc;
			if (rc && !be->tx_open(st->h)) {
				undone = 1;
				for (size_t k = first; k < i; k++)
					if (jobs[k]->rc == 0)
						jobs[k]->rc = CW_EIO;
			}
		}
		if (undone) {
			be->tx_rollback(st->h);
			continue;
		}
		rc = be->tx_commit(st->h);
		if (rc) {
			be->tx_rollback(st->h);
			for (size_t k = first; k < i; k++)
				if (jobs[k]->rc == 0)
					jobs[k]->rc = rc;
		} else {
			(*commits)++;
		}
	}
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Callers that write in a loop (an HTTP worker acknowledging webhook after
 * webhook) are woken together after a commit and come back a few
 * microseconds apart; starting the next transaction with the first of them
 * would make every other batch small. So, with the lock held, wait briefly
 * until as many jobs are queued as the last batch had. */
static void writer_gather(struct store *st, size_t last_n, int64_t last_run_us)
{
	int64_t wait_us = last_run_us / 4;
	if (wait_us > STORE_GATHER_MAX_US)
		wait_us = STORE_GATHER_MAX_US;
	if (last_n < 2 || wait_us < 1 || st->pending >= last_n)
		return;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += (long)(wait_us * 1000);
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (st->pending < last_n && !st->stopping)
		if (pthread_cond_timedwait(&st->cv_work, &st->mu, &dl) != 0)
			break;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	struct job *batch[STORE_BATCH_MAX];
	size_t last_n = 0;
	int64_t last_run_us = 0;

	tl_writer_of = st;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		writer_gather(st, last_n, last_run_us);
		while (!st->head && !st->stopping)
			pthread_cond_wait(&st->cv_work, &st->mu);
		if (!st->head)
			break; /* stopping, and everything pending is done */

		size_t n = 0;
		if (st->head->kind == JOB_ALONE) {
			batch[n++] = st->head;
			st->head = st->head->next;
		} else {
			while (st->head && st->head->kind != JOB_ALONE && n < STORE_BATCH_MAX) {
				batch[n++] = st->head;
				st->head = st->head->next;
			}
		}
		if (!st->head)
			st->tail = NULL;
		if (st->pending >= STORE_QUEUE_MAX)
			pthread_cond_broadcast(&st->cv_room);
		st->pending -= n;
		pthread_mutex_unlock(&st->mu);

		uint64_t commits = 0;
		int64_t t0 = mono_us();
		batch_run(st, batch, n, &commits);
		last_run_us = mono_us() - t0;
		last_n = batch[0]->kind == JOB_ALONE ? 0 : n;

		pthread_mutex_lock(&st->mu);
		st->stats.commits += commits;
		for (size_t i = 0; i < n; i++) {
			if (batch[i]->kind != JOB_ALONE) {
				st->stats.writes++;
				if (batch[i]->rc)
					st->stats.write_errors++;
			}
		}
		pthread_mutex_unlock(&st->mu);
		/* Wake the callers without holding the queue lock, each on its
		 * own semaphore, so they neither wait for one another nor for
		 * the lock on their way out. After sem_post the caller may
		 * return: its job (on its stack) is gone. An asynchronous job
		 * is reported through its callback and freed here. */
		for (size_t i = 0; i < n; i++) {
			struct job *j = batch[i];
			if (j->on_done) {
				j->on_done(j->done_ud, j->rc, j->rc ? 0 : j->changes);
				free(j);
			} else {
				sem_post(&j->done);
			}
		}
		pthread_mutex_lock(&st->mu);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* A write call is refused where it could wait for itself. */
static int write_allowed(struct store *st)
{
	if (tl_writer_of == st) {
		log_error("store", "write call from inside a store_tx function or a done callback "
				   "(use store_tx_exec)");
		return CW_EINTERNAL;
	}
	if (st->be->reading(st->h)) {
		log_error("store", "write call from inside a row callback (write after the read)");
		return CW_EINTERNAL;
	}
	return 0;
}

/* A caller leaves the store's code; the last one out tells a waiting
 * store_free (see there). */
static void inflight_leave(struct store *st)
{
	if (atomic_fetch_sub(&st->inflight, 1) == 1 && atomic_load(&st->stopping)) {
		pthread_mutex_lock(&st->mu);
		pthread_cond_signal(&st->cv_idle);
		pthread_mutex_unlock(&st->mu);
	}
}

/* Appends j to the queue, waiting for room. Returns 0, or CW_EUNAVAIL once
 * store_free has begun (the writer may be gone: j would never run). The
 * caller is counted in st->inflight around the call. */
static int job_enqueue(struct store *st, struct job *j)
{
	j->rc = 0;
	j->next = NULL;
	pthread_mutex_lock(&st->mu);
	while (st->pending >= STORE_QUEUE_MAX && !atomic_load(&st->stopping))
		pthread_cond_wait(&st->cv_room, &st->mu);
	if (atomic_load(&st->stopping)) {
		pthread_mutex_unlock(&st->mu);
		log_error("store", "write refused: the store is closing");
		return CW_EUNAVAIL;
	}
	if (st->tail)
		st->tail->next = j;
	else
		st->head = j;
	st->tail = j;
	st->pending++;
	pthread_cond_signal(&st->cv_work);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

/* Queues j and waits for its result. */
static int job_submit(struct store *st, struct job *j)
{
	int rc = write_allowed(st);
	if (rc)
		return rc;
	sem_init(&j->done, 0, 0);
	atomic_fetch_add(&st->inflight, 1);
	rc = job_enqueue(st, j);
	if (rc == 0) {
		while (sem_wait(&j->done) != 0)
			; /* EINTR */
		rc = j->rc;
	}
	sem_destroy(&j->done);
	inflight_leave(st);
	return rc;
}

/* ---- open / free ---- */

int store_open(const char *url, struct store **out)
{
	const struct store_backend *be = NULL;
	const char *target = NULL;
	struct store *st = NULL;
	int rc;

	*out = NULL;
	if (!url)
		return CW_EINVAL;
	for (size_t i = 0; i < sizeof store_schemes / sizeof store_schemes[0]; i++) {
		size_t n = strlen(store_schemes[i].prefix);
		if (strncmp(url, store_schemes[i].prefix, n) != 0)
			continue;
		if (!store_schemes[i].be) {
			/* the URL may hold a password: name the scheme only */
			log_error(
			    "store",
			    "store url scheme \"%s\" is not supported yet (PostgreSQL backend not "
			    "built); use sqlite:PATH",
			    store_schemes[i].prefix);
			return CW_EUNSUPPORTED;
		}
		be = store_schemes[i].be;
		target = url + n;
		break;
	}
	if (!be) {
		log_error("store", "store url must start with sqlite: or postgres://");
		return CW_EINVAL;
	}

	st = xcalloc(1, sizeof *st);
	st->be = be;
	rc = be->open(target, &st->h);
	if (rc)
		goto fail;
	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* writer_gather's deadline */
	pthread_cond_init(&st->cv_work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->cv_room, NULL);
	pthread_cond_init(&st->cv_idle, NULL);
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		log_error("store", "cannot start the writer thread");
		pthread_cond_destroy(&st->cv_idle);
		pthread_cond_destroy(&st->cv_room);
		pthread_cond_destroy(&st->cv_work);
		pthread_mutex_destroy(&st->mu);
		be->close(st->h);
		rc = CW_EIO;
		goto fail;
	}
	*out = st;
	return 0;
fail:
	free(st);
	return rc;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	atomic_store(&st->stopping, 1);
	pthread_cond_signal(&st->cv_work);
	pthread_cond_broadcast(&st->cv_room); /* callers waiting for room give up */
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->writer, NULL); /* the writer drains the queue first */
	/* callers woken by the last batch may still be on their way out */
	pthread_mutex_lock(&st->mu);
	while (atomic_load(&st->inflight))
		pthread_cond_wait(&st->cv_idle, &st->mu);
	pthread_mutex_unlock(&st->mu);

	st->be->close(st->h);
	pthread_cond_destroy(&st->cv_idle);
	pthread_cond_destroy(&st->cv_room);
	pthread_cond_destroy(&st->cv_work);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* ---- jobs that run alone ---- */

static int alone_migrate(struct store *st, void *ud)
{
	return st->be->migrate(st->h, ud);
}

static int alone_check(struct store *st, void *ud)
{
	(void)ud;
	return st->be->check(st->h);
}

int store_migrate(struct store *st, int *applied)
{
	int n = 0;
	struct job j = {.kind = JOB_ALONE, .alone = alone_migrate, .ud = &n};
	int rc = job_submit(st, &j);
	if (applied)
		*applied = n;
	return rc;
}

int store_check_statements(struct store *st)
{
	struct job j = {.kind = JOB_ALONE, .alone = alone_check};
	return job_submit(st, &j);
}

int store_schema_version(struct store *st)
{
	return st->be->schema_version(st->h);
}

const char *store_backend_name(const struct store *st)
{
	return st->be->name;
}

const char *store_dialect(const struct store *st)
{
	return st->be->dialect;
}

/* ---- writes ---- */

int store_exec(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
	       int64_t *changes)
{
	if (!stmt || (nargs && !args))
		return CW_EINVAL;
	struct job j = {.kind = JOB_EXEC, .stmt = stmt, .args = args, .nargs = nargs};
	int rc = job_submit(st, &j);
	if (changes)
		*changes = rc ? 0 : j.changes;
	return rc;
}

/* Total size of a copy of nargs values with their text and blobs. */
static size_t vals_copy_size(const struct store_val *args, size_t nargs)
{
	size_t n = nargs * sizeof *args;
	for (size_t i = 0; i < nargs; i++) {
		const struct store_val *v = &args[i];
		if (v->type == SV_T_TEXT && v->s)
			n += (v->n ? v->n : strlen(v->s)) + 1;
		else if (v->type == SV_T_BLOB && v->s)
			n += v->n;
	}
	return n;
}

/* Queues j (on the heap) without waiting: the writer reports through done
 * and frees j. On an error j is freed here and done is never called. */
static int job_submit_async(struct store *st, struct job *j, store_done_fn done, void *ud)
{
	j->on_done = done;
	j->done_ud = ud;
	atomic_fetch_add(&st->inflight, 1);
	int rc = job_enqueue(st, j);
	inflight_leave(st);
	if (rc)
		free(j);
	return rc;
}

int store_exec_async(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
		     store_done_fn done, void *ud)
{
	if (!stmt || (nargs && !args) || !done)
		return CW_EINVAL;
	int rc = write_allowed(st);
	if (rc)
		return rc;
	/* One allocation: the job, then the values, then their bytes and the
	 * statement name. struct job's size is a multiple of its alignment,
	 * which is at least a store_val's. */
	size_t namelen = strlen(stmt) + 1;
	struct job *j = xmalloc(sizeof *j + vals_copy_size(args, nargs) + namelen);
	memset(j, 0, sizeof *j);
	struct store_val *v = (struct store_val *)(void *)(j + 1);
	char *p = (char *)(v + nargs);
	for (size_t i = 0; i < nargs; i++) {
		v[i] = args[i];
		size_t len = 0;
		if (v[i].type == SV_T_TEXT && v[i].s) {
			len = v[i].n ? v[i].n : strlen(v[i].s);
			memcpy(p, v[i].s, len);
			p[len] = '\0';
			v[i].s = p;
			p += len + 1;
		} else if (v[i].type == SV_T_BLOB && v[i].s) {
			len = v[i].n;
			if (len)
				memcpy(p, v[i].s, len);
			v[i].s = p; /* never NULL: an empty blob stays a blob */
			p += len;
		}
	}
	memcpy(p, stmt, namelen);
	j->kind = JOB_EXEC;
	j->stmt = p;
	j->args = v;
	j->nargs = nargs;
	return job_submit_async(st, j, done, ud);
}

int store_tx(struct store *st, store_tx_fn fn, void *ud)
{
	if (!fn)
		return CW_EINVAL;
	struct job j = {.kind = JOB_TX, .fn = fn, .ud = ud};
	return job_submit(st, &j);
}

int store_tx_async(struct store *st, store_tx_fn fn, void *ud, store_done_fn done, void *done_ud)
{
	if (!fn || !done)
		return CW_EINVAL;
	int rc = write_allowed(st);
	if (rc)
		return rc;
	struct job *j = xcalloc(1, sizeof *j);
	j->kind = JOB_TX;
	j->fn = fn;
	j->ud = ud;
	return job_submit_async(st, j, done, done_ud);
}

int store_tx_exec(struct store_tx *tx, const char *stmt, const struct store_val *args, size_t nargs,
		  int64_t *changes)
{
	int64_t n = 0;
	if (!stmt || (nargs && !args))
		return CW_EINVAL;
	int rc = tx->st->be->w_exec(tx->st->h, stmt, args, nargs, &n);
	if (changes)
		*changes = rc ? 0 : n;
	return rc;
}

int store_tx_query(struct store_tx *tx, const char *stmt, const struct store_val *args,
		   size_t nargs, store_row_fn fn, void *ud)
{
	if (!stmt || (nargs && !args))
		return CW_EINVAL;
	return tx->st->be->w_query(tx->st->h, stmt, args, nargs, fn, ud);
}

int store_tx_savepoint(struct store_tx *tx, store_tx_fn fn, void *ud)
{
	if (!tx || !fn)
		return CW_EINVAL;
	const struct store_backend *be = tx->st->be;
	void *h = tx->st->h;
	int rc = be->sp_begin(h);
	if (rc)
		return rc;
	rc = fn(tx, ud);
	if (rc == 0)
		rc = be->sp_release(h);
	if (rc && be->tx_open(h))
		be->sp_rollback(h); /* undo fn's part only */
	return rc;
}

int64_t store_tx_last_id(struct store_tx *tx)
{
	return tx->st->be->w_last_id(tx->st->h);
}

void store_get_stats(struct store *st, struct store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	out->pending = st->pending;
	pthread_mutex_unlock(&st->mu);
}

/* ---- reads ---- */

int store_query(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
		store_row_fn fn, void *ud)
{
	if (!stmt || (nargs && !args))
		return CW_EINVAL;
	return st->be->query(st->h, stmt, NULL, args, nargs, fn, ud);
}

int store_query_sql(struct store *st, const char *sql, const struct store_val *args, size_t nargs,
		    store_row_fn fn, void *ud)
{
	if (!sql || (nargs && !args))
		return CW_EINVAL;
	return st->be->query(st->h, NULL, sql, args, nargs, fn, ud);
}

struct first_int {
	int found;
	int64_t v;
};

static int first_int_row(void *ud, const struct store_row *row)
{
	struct first_int *f = ud;
	f->found = 1;
	f->v = store_row_int(row, 0);
	return 1; /* one row is enough */
}

int store_query_int(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
		    int64_t *out)
{
	struct first_int f = {0, 0};
	int rc = store_query(st, stmt, args, nargs, first_int_row, &f);
	if (rc < 0)
		return rc;
	if (!f.found)
		return CW_ENOTFOUND;
	*out = f.v;
	return 0;
}

struct first_text {
	int found;
	char *s;
};

static int first_text_row(void *ud, const struct store_row *row)
{
	struct first_text *f = ud;
	const char *s = store_row_text(row, 0);
	f->found = 1;
	f->s = s ? xstrdup(s) : NULL;
	return 1;
}

int store_query_text(struct store *st, const char *stmt, const struct store_val *args, size_t nargs,
		     char **out)
{
	struct first_text f = {0, NULL};
	int rc = store_query(st, stmt, args, nargs, first_text_row, &f);
	if (rc < 0) {
		free(f.s);
		return rc;
	}
	if (!f.found)
		return CW_ENOTFOUND;
	*out = f.s;
	return 0;
}

/* ---- rows ---- */

int store_row_count(const struct store_row *row)
{
	return row->be->row_count(row);
}

int store_row_is_null(const struct store_row *row, int col)
{
	return row->be->row_is_null(row, col);
}

int64_t store_row_int(const struct store_row *row, int col)
{
	return row->be->row_int(row, col);
}

double store_row_real(const struct store_row *row, int col)
{
	return row->be->row_real(row, col);
}

const char *store_row_text(const struct store_row *row, int col)
{
	return row->be->row_text(row, col);
}

const void *store_row_blob(const struct store_row *row, int col, size_t *len)
{
	return row->be->row_blob(row, col, len);
}
