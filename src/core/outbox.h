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

#endif
