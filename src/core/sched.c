/*
 * sched.c — the durable timer index and the one thread that fires it
 * (see sched.h).
 */
#include "core/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "base/banned.h"

struct handler {
	char kind[SCHED_KIND_MAX + 1];
	sched_tx_fn tx_fn;
	sched_call_fn call_fn;
	void *ud;
};

struct call_job; /* below */

struct sched {
	struct store *st;
	struct handler h[SCHED_MAX_KINDS];
	int nh;
	_Atomic int64_t offset;
	_Atomic int64_t hint; /* the earliest due_at set since the thread last looked */

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake, stop;
	pthread_mutex_t run_mu; /* one sched_run_due at a time */

	/* calls (sched_on_call kinds) run on their own threads once started */
	pthread_t callers[SCHED_CALL_THREADS];
	int ncallers;
	struct call_job *q[SCHED_CALL_QUEUE];
	int qhead, qlen;
	pthread_cond_t qcv;
	int qstop;

	_Atomic uint64_t fired, failed, batches;
};

struct sched *sched_new(struct store *st)
{
	struct sched *s = xcalloc(1, sizeof *s);
	s->st = st;
	atomic_store(&s->hint, INT64_MAX);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->run_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->qcv, NULL);
	return s;
}

static int add(struct sched *s, const char *kind, sched_tx_fn tf, sched_call_fn cf, void *ud)
{
	if (!kind || strlen(kind) > SCHED_KIND_MAX)
		return CW_EINVAL;
	if (s->nh >= SCHED_MAX_KINDS)
		return CW_ETOOBIG;
	struct handler *h = &s->h[s->nh++];
	snprintf(h->kind, sizeof h->kind, "%s", kind);
	h->tx_fn = tf;
	h->call_fn = cf;
	h->ud = ud;
	return 0;
}

int sched_on(struct sched *s, const char *kind, sched_tx_fn fn, void *ud)
{
	return add(s, kind, fn, NULL, ud);
}

int sched_on_call(struct sched *s, const char *kind, sched_call_fn fn, void *ud)
{
	return add(s, kind, NULL, fn, ud);
}

static const struct handler *find(const struct sched *s, const char *kind)
{
	for (int i = 0; i < s->nh; i++)
		if (strcmp(s->h[i].kind, kind) == 0)
			return &s->h[i];
	return NULL;
}

int64_t sched_now(const struct sched *s)
{
	return time_now_ms() + (s ? atomic_load(&((struct sched *)s)->offset) : 0);
}

int64_t sched_offset(const struct sched *s)
{
	return s ? atomic_load(&((struct sched *)s)->offset) : 0;
}

void sched_wake(struct sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->wake = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void sched_advance(struct sched *s, int64_t ms)
{
	if (!s || ms <= 0)
		return;
	atomic_fetch_add(&s->offset, ms);
	sched_wake(s);
}

int sched_set_tx(struct sched *s, struct store_tx *tx, const char *kind, const char *ref,
		 const char *org_id, int64_t due_at)
{
	struct store_val a[] = {SV_TEXT(kind), SV_TEXT(ref), SV_TEXT(org_id), SV_INT(due_at)};
	int rc = store_tx_exec(tx, "timer.set", a, 4, NULL);
	if (rc || !s)
		return rc;
	int64_t h = atomic_load(&s->hint);
	while (due_at < h && !atomic_compare_exchange_weak(&s->hint, &h, due_at))
		;
	if (due_at <= sched_now(s) + SCHED_IDLE_MS)
		sched_wake(s);
	return 0;
}

int sched_cancel_tx(struct store_tx *tx, const char *kind, const char *ref)
{
	struct store_val a[] = {SV_TEXT(kind), SV_TEXT(ref)};
	return store_tx_exec(tx, "timer.cancel", a, 2, NULL);
}

/* ---- firing ---- */

struct due {
	char kind[SCHED_KIND_MAX + 1];
	char ref[SCHED_REF_MAX + 1];
	char org_id[ID_SIZE];
	int64_t due_at;
};

struct due_list {
	struct due *v;
	int n, cap;
};

static int due_cb(void *ud, const struct store_row *row)
{
	struct due_list *l = ud;
	if (l->n == l->cap)
		return 1;
	struct due *d = &l->v[l->n++];
	snprintf(d->kind, sizeof d->kind, "%s", store_row_text(row, 0));
	snprintf(d->ref, sizeof d->ref, "%s", store_row_text(row, 1));
	snprintf(d->org_id, sizeof d->org_id, "%s", store_row_text(row, 2));
	d->due_at = store_row_int(row, 3);
	return 0;
}

struct batch {
	struct sched *s;
	struct due *v;
	int n;
	int64_t now;
};

static int delete_if(struct store_tx *tx, const struct due *d)
{
	struct store_val a[] = {SV_TEXT(d->kind), SV_TEXT(d->ref), SV_INT(d->due_at)};
	return store_tx_exec(tx, "timer.delete_if", a, 3, NULL);
}

static int batch_tx(struct store_tx *tx, void *ud)
{
	struct batch *b = ud;
	for (int i = 0; i < b->n; i++) {
		const struct due *d = &b->v[i];
		const struct handler *h = find(b->s, d->kind);
		/* removed first, so that a handler that sets its timer again (even
		 * to the same due_at) keeps it; undone with the rest on failure */
		int rc = delete_if(tx, d);
		if (rc)
			return rc;
		if (h && h->tx_fn) {
			rc = h->tx_fn(h->ud, tx, d->org_id, d->ref, d->due_at, b->now);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int retry_later(struct sched *s, const struct due *d, int64_t now)
{
	struct store_val a[] = {SV_TEXT(d->kind), SV_TEXT(d->ref), SV_INT(d->due_at),
				SV_INT(now + SCHED_RETRY_MS)};
	atomic_fetch_add(&s->failed, 1);
	log_warn("sched", "timer %s %s failed; it fires again in %d s", d->kind, d->ref,
		 SCHED_RETRY_MS / 1000);
	return store_exec(s->st, "timer.retry", a, 4, NULL);
}

static int delete_cb(struct store_tx *tx, void *ud)
{
	return delete_if(tx, ud);
}

/* A call handed to the call threads, with the lease it holds: the timer
 * was moved to lease_until, so that no other round takes it while the call
 * runs; if carewire dies meanwhile, the lease runs out and the call is made
 * again (calls are at least once). */
struct call_job {
	struct due d; /* d.due_at is the lease */
	const struct handler *h;
	int64_t now;
};

static void call_run(struct sched *s, struct call_job *j)
{
	int rc = j->h->call_fn(j->h->ud, j->d.org_id, j->d.ref, j->d.due_at, j->now);
	if (rc < 0) {
		retry_later(s, &j->d, sched_now(s));
		return;
	}
	atomic_fetch_add(&s->fired, 1);
	store_tx(s->st, delete_cb, &j->d);
}

static void *caller_main(void *arg)
{
	struct sched *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->qlen && !s->qstop)
			pthread_cond_wait(&s->qcv, &s->mu);
		if (!s->qlen) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		struct call_job *j = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % SCHED_CALL_QUEUE;
		s->qlen--;
		pthread_mutex_unlock(&s->mu);
		call_run(s, j);
		free(j);
	}
	time_thread_release();
	return NULL;
}

/* Leases a due call timer and runs it: on a call thread when they run
 * (after sched_start()), else here. */
static void call_dispatch(struct sched *s, const struct handler *h, const struct due *d,
			  int64_t now)
{
	int64_t lease = now + SCHED_CALL_LEASE_MS;
	struct store_val a[] = {SV_TEXT(d->kind), SV_TEXT(d->ref), SV_INT(d->due_at),
				SV_INT(lease)};
	int64_t changes = 0;
	pthread_mutex_lock(&s->mu);
	int room = s->qlen < SCHED_CALL_QUEUE;
	pthread_mutex_unlock(&s->mu);
	if (!room || store_exec(s->st, "timer.retry", a, 4, &changes) != 0 || changes != 1)
		return; /* taken meanwhile, or no room: a later round */
	struct call_job *j = xcalloc(1, sizeof *j);
	j->d = *d;
	j->d.due_at = lease;
	j->h = h;
	j->now = now;
	if (!s->ncallers) {
		call_run(s, j);
		free(j);
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->q[(s->qhead + s->qlen) % SCHED_CALL_QUEUE] = j;
	s->qlen++;
	pthread_cond_signal(&s->qcv);
	pthread_mutex_unlock(&s->mu);
}

int sched_run_due(struct sched *s, int max, int *ran)
{
	if (ran)
		*ran = 0;
	if (max <= 0 || max > SCHED_TAKE)
		max = SCHED_TAKE;
	pthread_mutex_lock(&s->run_mu);
	struct due_list l = {.v = xcalloc((size_t)max, sizeof(struct due)), .cap = max};
	int64_t now = sched_now(s);
	atomic_store(&s->hint, INT64_MAX);
	struct store_val a[] = {SV_INT(now), SV_INT(max)};
	int rc = store_query(s->st, "timer.due", a, 2, due_cb, &l);
	if (rc < 0)
		goto done;
	rc = 0;
	/* the handlers that need a transaction, all in one */
	struct due *txs = xcalloc((size_t)(l.n ? l.n : 1), sizeof *txs);
	int ntx = 0;
	for (int i = 0; i < l.n; i++) {
		const struct handler *h = find(s, l.v[i].kind);
		if (!h || h->tx_fn)
			txs[ntx++] = l.v[i];
	}
	if (ntx) {
		struct batch b = {.s = s, .v = txs, .n = ntx, .now = now};
		int brc = store_tx(s->st, batch_tx, &b);
		atomic_fetch_add(&s->batches, 1);
		if (brc == 0) {
			atomic_fetch_add(&s->fired, (uint64_t)ntx);
		} else {
			/* find the one that fails: each alone */
			for (int i = 0; i < ntx; i++) {
				struct batch one = {.s = s, .v = &txs[i], .n = 1, .now = now};
				if (store_tx(s->st, batch_tx, &one) == 0)
					atomic_fetch_add(&s->fired, 1);
				else
					retry_later(s, &txs[i], now);
			}
		}
	}
	free(txs);
	/* the handlers that run outside a transaction (network calls): leased,
	 * then run by the call threads, so a slow one holds up no timer */
	for (int i = 0; i < l.n; i++) {
		const struct handler *h = find(s, l.v[i].kind);
		if (h && h->call_fn)
			call_dispatch(s, h, &l.v[i], now);
	}
	if (ran)
		*ran = l.n;
done:
	free(l.v);
	pthread_mutex_unlock(&s->run_mu);
	return rc;
}

static void *sched_main(void *arg)
{
	struct sched *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		int stop = s->stop;
		s->wake = 0;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		int ran = 0;
		if (sched_run_due(s, SCHED_TAKE, &ran) == 0 && ran == SCHED_TAKE)
			continue; /* more is due */
		int64_t next = 0, now = sched_now(s);
		int64_t wait = SCHED_IDLE_MS;
		if (store_query_int(s->st, "timer.next", NULL, 0, &next) == 0 && next > 0)
			wait = next - now < wait ? next - now : wait;
		int64_t hint = atomic_load(&s->hint);
		if (hint != INT64_MAX && hint - now < wait)
			wait = hint - now;
		if (wait < 1)
			wait = 1;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		while (!s->wake && !s->stop) {
			if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&s->mu);
	}
	time_thread_release();
	return NULL;
}

int sched_start(struct sched *s)
{
	if (s->started)
		return 0;
	for (int i = 0; i < SCHED_CALL_THREADS; i++) {
		if (pthread_create(&s->callers[i], NULL, caller_main, s) != 0)
			break;
		s->ncallers++;
	}
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0)
		return CW_EINTERNAL;
	s->started = 1;
	return 0;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_mutex_lock(&s->mu);
	s->qstop = 1;
	pthread_cond_broadcast(&s->qcv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->ncallers; i++)
		pthread_join(s->callers[i], NULL);
	while (s->qlen) { /* calls never made: their leases run out and they are made later */
		free(s->q[s->qhead]);
		s->qhead = (s->qhead + 1) % SCHED_CALL_QUEUE;
		s->qlen--;
	}
	pthread_cond_destroy(&s->qcv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->run_mu);
	free(s);
}

void sched_get_stats(struct sched *s, struct sched_stats *out)
{
	out->fired = atomic_load(&s->fired);
	out->failed = atomic_load(&s->failed);
	out->batches = atomic_load(&s->batches);
}
