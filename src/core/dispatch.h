/*
 * dispatch.h — the dispatcher: takes due outbox rows and sends them through
 * the Cloud API client, one token bucket per phone number.
 *
 * Contract (details in docs/internals/outbox.md): per-number rate (numbers.
 * rate_mps; 80/s default, up to 1,000; 20 when shared with the Business
 * app); transactional before bulk; the pair limit, 130429 slow-down, 5xx /
 * timeout back-off with jitter, 131049 not before 24 h, 131050 withdraws
 * marketing consent, 131047 falls back to the producer's template, 190 / 368
 * / 131031 pause the number; expiry; crash reconciliation through
 * biz_opaque_callback_data.
 */
#ifndef CW_DISPATCH_H
#define CW_DISPATCH_H

#include <stdint.h>

#include "base/sec.h"
#include "store/store.h"

struct dispatch;
struct wa_client_config;

/* Returns a new dispatcher (caller frees with dispatch_free()); key opens the
 * numbers' tokens. Does not start its thread. */
struct dispatch *dispatch_new(struct store *st, const uint8_t key[SEC_KEY_BYTES],
			      const struct wa_client_config *wcfg);
int dispatch_start(struct dispatch *d);
/* Tells the dispatcher new rows may be due (cheap; any thread). */
void dispatch_wake(struct dispatch *d);
/* Stops the thread (in-flight requests finish or time out) and frees. */
void dispatch_free(struct dispatch *d);

/* ---- settings (call before dispatch_start()) ---- */

/* How long rows left "sending" by a previous process wait for status
 * webhooks naming them (biz_opaque_callback_data) before they are sent
 * again. Default DISPATCH_GRACE_MS; the environment variable
 * CAREWIRE_DISPATCH_GRACE_MS overrides it (tests). */
#define DISPATCH_GRACE_MS 30000
void dispatch_set_grace(struct dispatch *d, int64_t ms);
/* Retry timing (outbox.h); default outbox_retry_defaults(). */
struct outbox_retry;
void dispatch_set_retry(struct dispatch *d, const struct outbox_retry *r);
/* Turns the template synchronisation at start off (tests that count
 * requests). On by default: every WABA's templates are listed at start and
 * every DISPATCH_TEMPLATE_SYNC_MS. */
#define DISPATCH_TEMPLATE_SYNC_MS (6LL * 3600 * 1000)
void dispatch_set_template_sync(struct dispatch *d, int on);

/* How many messages a number keeps in memory waiting for their person's
 * request before it defers more to the outbox (a second each, in order), so
 * that one person with many messages queued never holds up everyone else.
 * Default DISPATCH_HELD_MAX; tests set it low. */
#define DISPATCH_HELD_MAX 1024
void dispatch_set_held_max(struct dispatch *d, int n);

/* Counters for /metrics and tests. */
struct dispatch_stats {
	uint64_t claimed;   /* rows taken for sending */
	uint64_t requests;  /* requests made (retries included) */
	uint64_t sent;      /* requests the Cloud API accepted (answered with a wamid) */
	uint64_t retried;   /* failed and queued again (back-off, fallback, pause) */
	uint64_t deferred;  /* held for one recipient (pair limit, 131049), or deferred
			       again by policy when it came due */
	uint64_t failed;    /* failed for good */
	uint64_t cancelled; /* denied when it came due (consent withdrawn, contact
			       erased, ...) */
	uint64_t expired;   /* not sent before their useful time */
	uint64_t reclaimed; /* left "sending" by a crash and queued again */
	uint64_t rechecked; /* rows deferred by policy that policy decided on again */
	int inflight;       /* requests running now */
	int queued;         /* claimed rows waiting for a token */
};
void dispatch_get_stats(struct dispatch *d, struct dispatch_stats *out);

/* Appends the counters above to out as Prometheus text (counters
 * carewire_dispatch_<name>_total, gauges carewire_dispatch_inflight and
 * carewire_dispatch_queued), and per phone number (label number = numbers.id)
 * the gauges carewire_dispatch_number_paused (1 while paused or without a
 * usable token) and carewire_dispatch_number_rate (messages a second now:
 * halved while slowed down by 130429). d may be NULL (nothing is appended).
 * Returns 0 or CW_ETOOBIG. */
struct buf;
int dispatch_metrics(struct dispatch *d, struct buf *out);

/* ---- the rate limiter (plain data; one per phone number) ----
 *
 * A token bucket with a one-second window on top. Tokens come at `rate` per
 * second and up to a tenth of a second's worth (at least 1.5) are kept, so a
 * sender held up for a moment (a busy machine) catches up instead of losing
 * the time; and a send is allowed only when fewer than `rate` sends started
 * in the last second (a ring of the last DISPATCH_BUCKET_RING send times).
 * So the long-run rate is `rate`, and no one-second window, wherever it
 * starts, ever holds more than `rate` sends. */
#define DISPATCH_BUCKET_RING 1000 /* the highest rate: one slot per send */
struct dispatch_bucket {
	double rate;   /* tokens per second */
	double burst;  /* the most tokens kept */
	double tokens;
	int64_t at_ns; /* monotonic time of the last refill */
	uint64_t sends;
	int head;
	int64_t sent_ns[DISPATCH_BUCKET_RING];
};
void dispatch_bucket_init(struct dispatch_bucket *b, double rate, int64_t now_ns);
/* Changes the rate (a slowed-down number), keeping the saved tokens and the
 * window. */
void dispatch_bucket_set_rate(struct dispatch_bucket *b, double rate, int64_t now_ns);
/* Refills to now_ns; returns 1 and spends one token when one is there and
 * the last second has room. */
int dispatch_bucket_take(struct dispatch_bucket *b, int64_t now_ns);
/* Nanoseconds until a send may start (0: now). */
int64_t dispatch_bucket_wait_ns(const struct dispatch_bucket *b, int64_t now_ns);

#endif
