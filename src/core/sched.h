/*
 * sched.h — timers that cost a row, not a thread.
 *
 * Place: core, under the journey engine and campaigns (and anything else
 * that must happen at a time: "24 h before the appointment"). A timer is a
 * row (kind, ref) → due_at in the store's timers table, written inside the
 * caller's transaction, so it is exactly as durable as the state it belongs
 * to. One scheduler thread polls the due-time index (timers_due) and, for
 * each due timer, calls the handler registered for its kind:
 *
 *  - sched_on(): the handler runs inside a write transaction shared by a
 *    batch of due timers (group commit), and the timer row is deleted in that
 *    same transaction, so a crash either leaves the timer to fire again or
 *    commits its effects and its removal together. If the batch fails, each
 *    timer is retried alone; one that still fails is pushed back by
 *    SCHED_RETRY_MS.
 *  - sched_on_call(): the handler runs outside any transaction (it does
 *    network I/O, e.g. an outbound webhook) and writes through its own
 *    store_tx. The timer is first leased (moved SCHED_CALL_LEASE_MS ahead),
 *    then the call runs on one of SCHED_CALL_THREADS threads, so a slow
 *    server never holds up other timers; the timer is deleted after the call
 *    unless the handler moved it. A crash during a call lets the lease run
 *    out and the call is made again: calls are at least once. Before
 *    sched_start() (tests) calls run on the calling thread.
 *
 * A handler that sets its own timer again (sched_set_tx with a new due_at)
 * keeps it: removal is conditional on the due_at that fired.
 *
 * "Now" is time_now_ms() plus an offset that only the sandbox changes
 * (sched_advance(): a test or a demo fast-forwards days of waiting in a
 * second). Unit tests may also pin time_now_ms() with time_clock_set().
 *
 *	struct sched *s = sched_new(st);
 *	sched_on(s, "journey", journey_on_timer, engine);
 *	sched_start(s);
 *	... inside some tx: sched_set_tx(s, tx, "journey", run_id, org_id, due);
 *	sched_free(s);
 */
#ifndef CW_SCHED_H
#define CW_SCHED_H

#include <stdint.h>

#include "store/store.h"

#define SCHED_MAX_KINDS	    16
#define SCHED_KIND_MAX	    32	   /* bytes of a kind */
#define SCHED_REF_MAX	    64	   /* bytes of a ref */
#define SCHED_TAKE	    256	   /* due timers taken per round */
#define SCHED_IDLE_MS	    250	   /* longest sleep when nothing is due sooner */
#define SCHED_RETRY_MS	    60000  /* a timer whose handler failed fires again after this */
#define SCHED_CALL_THREADS  4	   /* threads making sched_on_call() calls */
#define SCHED_CALL_QUEUE    256	   /* calls waiting for one of them */
#define SCHED_CALL_LEASE_MS 300000 /* a call in progress holds its timer this long */

struct sched;

/* Runs inside tx for one due timer. now is sched_now(). Returns 0, or a
 * negative cw_err (the batch is undone and retried one by one). */
typedef int (*sched_tx_fn)(void *ud, struct store_tx *tx, const char *org_id, const char *ref,
			   int64_t due_at, int64_t now);
/* Runs outside any transaction for one due timer. Same return convention. */
typedef int (*sched_call_fn)(void *ud, const char *org_id, const char *ref, int64_t due_at,
			     int64_t now);

/* Returns a new scheduler over st (borrowed for its life); caller frees
 * with sched_free(). No thread runs until sched_start(). */
struct sched *sched_new(struct store *st);
/* Stops the thread (after the batch in hand) and frees. Accepts NULL. */
void sched_free(struct sched *s);

/* Registers the handler of a kind (before sched_start()). Returns 0,
 * CW_EINVAL (kind too long) or CW_ETOOBIG (SCHED_MAX_KINDS reached). */
int sched_on(struct sched *s, const char *kind, sched_tx_fn fn, void *ud);
int sched_on_call(struct sched *s, const char *kind, sched_call_fn fn, void *ud);

/* Starts the scheduler thread. Returns 0 or CW_EINTERNAL. */
int sched_start(struct sched *s);

/* Sets (or moves) timer (kind, ref) of org_id to due_at inside tx, and
 * tells the scheduler (s may be NULL) that something may be due sooner.
 * Returns 0 or a store error. */
int sched_set_tx(struct sched *s, struct store_tx *tx, const char *kind, const char *ref,
		 const char *org_id, int64_t due_at);
/* Removes timer (kind, ref), if any. */
int sched_cancel_tx(struct store_tx *tx, const char *kind, const char *ref);

/* Runs up to max due timers now, on the calling thread (tests, benches and
 * the scheduler thread itself). *ran (may be NULL) gets how many fired.
 * Must not be called on the store's writer thread. Returns 0 or a store
 * error. */
int sched_run_due(struct sched *s, int max, int *ran);

/* The scheduler's now: time_now_ms() plus the sandbox offset. s may be
 * NULL (then time_now_ms()). */
int64_t sched_now(const struct sched *s);
/* Sandbox only: moves the scheduler's clock forward by ms (>= 0) and wakes
 * the thread, so timers up to the new now fire. */
void sched_advance(struct sched *s, int64_t ms);
/* The offset sched_advance() has added so far. */
int64_t sched_offset(const struct sched *s);
/* Wakes the thread (something is due now). */
void sched_wake(struct sched *s);

struct sched_stats {
	uint64_t fired;	  /* handlers that returned 0 */
	uint64_t failed;  /* handler failures (each pushed back) */
	uint64_t batches; /* write transactions of batched timers */
};
void sched_get_stats(struct sched *s, struct sched_stats *out);

#endif
