/*
 * outbox.h — the durable outbound queue between every producer and the
 * Cloud API (DESIGN.md §2: "outbox (durable, idempotency key)").
 *
 * A producer (the bot, a journey step, a campaign, the API) that got an
 * "allow" (or "defer") from the policy engine puts one row here, inside its
 * own write transaction, with an idempotency key of its own making: the same
 * key twice is the same message, so retries and restarts never send twice.
 * The row carries the Cloud API request body; the dispatcher (dispatch.h)
 * takes due rows per phone number, at that number's rate, transactional
 * before bulk, and records what Meta answered.
 *
 * The messages row (what the inbox and analytics show) is created at the same
 * moment, with the same id, in status "queued".
 *
 * States: queued → sending → sent | failed | deferred | cancelled | expired.
 */
#ifndef CW_OUTBOX_H
#define CW_OUTBOX_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "store/store.h"
#include "wa/webhook.h"

#define OUTBOX_PRIO_TRANSACTIONAL 0 /* replies, reminders, results, day-of updates */
#define OUTBOX_PRIO_BULK 1          /* marketing and other campaign traffic */
#define OUTBOX_IDEM_MAX 200

struct outbox_item {
	const char *org_id;
	const char *number_id;  /* numbers.id */
	const char *contact_id;
	const char *idem_key;   /* required; unique per organisation */
	const char *purpose;    /* service, reminders, results, surveys, marketing */
	const char *producer;   /* "bot", "api", "journey:<id>:<step>", "campaign:<id>" */
	int priority;           /* OUTBOX_PRIO_* */
	const json_t *payload;  /* the Cloud API request body; borrowed */
	const json_t *fallback; /* a template body to use on 131047, or NULL */
	int64_t not_before;     /* UTC ms; 0 = now */
	int64_t expires_at;     /* UTC ms after which it must not go; 0 = never */
	int deferred;           /* the policy said defer: state "deferred" until not_before */
};

/* Queues it inside tx. Writes the message id into msg_id (the existing one
 * when the key was used before, and then sets *duplicate). Returns 0 or a
 * cw_err (CW_EINVAL for a missing key or payload). */
int outbox_enqueue_tx(struct store_tx *tx, const struct outbox_item *it, char msg_id[ID_SIZE],
		      int *duplicate);

/* ---- what happens after a send failed (shared by the dispatcher and the
 * status-webhook handler; docs/internals/outbox.md) ---- */

/* Retry timing. The defaults (outbox_retry_defaults()) may be changed for
 * tests through the environment: CAREWIRE_DISPATCH_DELAY_SCALE (a factor on
 * every delay, e.g. 0.01), CAREWIRE_DISPATCH_MAX_ATTEMPTS. */
struct outbox_retry {
	int64_t backoff_base_ms; /* first back-off of a transient failure (1 s) */
	int64_t backoff_max_ms;  /* the longest back-off (15 min) */
	int max_attempts;        /* sends of one message before it fails (10) */
	int max_pair_hits;       /* 131056 answers before it fails (8) */
	double delay_scale;      /* factor on every delay, the table's too (1.0) */
};
void outbox_retry_defaults(struct outbox_retry *r);

/* Back-off before attempt n + 1 after n failed ones: base * 2^(n-1), capped,
 * with equal jitter (half fixed, half random), and never under min_ms. */
int64_t outbox_backoff_ms(const struct outbox_retry *r, int attempts, int64_t min_ms);

/* What one failure did to its row. */
enum outbox_outcome_kind {
	OUTBOX_OUT_NONE = 0, /* the row was not in a state this failure applies to */
	OUTBOX_OUT_RETRY,    /* queued again after a back-off */
	OUTBOX_OUT_DEFER,    /* deferred for this recipient (pair limit, 131049) */
	OUTBOX_OUT_FALLBACK, /* the producer's fallback template replaces the payload */
	OUTBOX_OUT_PAUSE,    /* the number is paused; the row waits queued */
	OUTBOX_OUT_FAILED,   /* failed for good */
	OUTBOX_OUT_EXPIRED,  /* its retry would come after expires_at */
};

struct outbox_outcome {
	enum outbox_outcome_kind kind;
	int64_t not_before;  /* RETRY / DEFER */
	int slow_number;     /* the error asks to slow the whole number down */
	char number_id[ID_SIZE];
};

/* Applies a failed send of row id inside tx: code is Meta's error code (or a
 * WA_ERR_CODE_* pseudo code), title a short reason (NULL: the table's).
 * attempts >= 0 applies it only while the row is "sending" in that attempt
 * (out->kind stays OUTBOX_OUT_NONE otherwise); -1 applies it in any state.
 * async is set when the failure came in a status webhook after Meta had
 * accepted the request (the messages row is then reset for a retry).
 * Returns 0 or a cw_err; *out says what was done. */
int outbox_fail_tx(struct store_tx *tx, const char *id, int attempts, int code,
		   const char *title, int async, const struct outbox_retry *r, int64_t now,
		   struct outbox_outcome *out);

/* Marks row id sent with wamid (HTTP success or evidence from a webhook):
 * outbox "sent", the messages row gets the wamid, and statuses that arrived
 * before it are replayed. attempts >= 0 applies only while the row is still
 * "sending" in that attempt; -1 adopts the wamid whatever the state.
 * *applied (may be NULL) is set when the row changed. */
int outbox_sent_tx(struct store_tx *tx, const char *id, int attempts, const char *wamid,
		   int64_t now, int *applied);

/* Ends row id as "cancelled" or "expired" (state), with a reason, and its
 * messages row with it. attempts as for outbox_fail_tx(). *applied (may be
 * NULL) is set when the row changed. */
int outbox_finish_tx(struct store_tx *tx, const char *id, int attempts, const char *state,
		     const char *reason, int64_t now, int *applied);

/* The ingest event handler (ingest_event_fn; register it in handlers.c):
 * for a status webhook of an outbox message it
 *  - adopts a wamid the outbox did not know yet, found through
 *    biz_opaque_callback_data = the outbox id (the send answer was lost in a
 *    crash or a timeout, or the webhook overtook it): the row is sent, not
 *    sent again;
 *  - applies a failure Meta reported later (131047 fallback, 131049 in 24 h,
 *    131050 marketing withdrawal, ...) as the dispatcher would.
 * ud: a const struct outbox_retry * or NULL for the defaults. */
int outbox_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		    const char *org_id);

/* ---- status tracking per producer (analytics) ---- */

#define OUTBOX_STATS_CODES 16

struct outbox_stats {
	int64_t total, pending, sent, delivered, read, played, failed, cancelled, expired;
	int nfailures;
	struct {
		int64_t code; /* -1 when none was recorded */
		char title[128];
		int64_t count;
	} failures[OUTBOX_STATS_CODES]; /* most frequent first */
};

/* Counts the messages of producer ("campaign:42", "journey:7:remind") in org:
 * sent/delivered/read/played count every message that reached at least that
 * state, failed ones by error code. prefix != 0 counts every producer that
 * starts with producer ("journey:7:" for all steps). Returns 0 or a cw_err. */
int outbox_stats(struct store *st, const char *org_id, const char *producer, int prefix,
		 struct outbox_stats *out);

#endif
