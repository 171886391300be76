/*
 * ingest.h — from a received webhook to carewire's state.
 *
 * Place (DESIGN.md §2): http/webhook.c verifies the signature and calls
 * ingest_accept_async() (or ingest_accept()), which makes the raw body
 * durable in webhook_log and only then lets the caller answer 200. When no
 * older body waits, ingest_accept_async() also applies the body in the same
 * transaction (one commit from a tap to the reply in the outbox); otherwise,
 * and always for ingest_accept(), one worker thread takes the bodies oldest
 * first, parses them (wa/webhook.c) and
 * applies every event inside a savepoint that also marks the body processed —
 * so a crash at any moment leaves a body either untouched (processed again
 * after restart) or fully applied, never half: exactly once. Several bodies
 * share one write transaction (INGEST_TX_BODIES in ingest.c), each in its own
 * savepoint: a body that fails loses only itself, and the worker takes one
 * group-commit slot for many bodies instead of one per body, which leaves the
 * writer to the webhooks being acknowledged.
 *
 * Applying an event:
 *   status  → message_statuses (dedupe by wamid + status) and the message's
 *             state, which only moves forward (message.update_status); a
 *             status for a wamid not yet known is kept and applied when the
 *             dispatcher records that wamid.
 *   message → the contact (found by wa_id, created on first contact), the
 *             inbound message row (dedupe by wamid), the 24-hour window, and
 *             then the inbound handlers in order (opt-out words, journeys,
 *             the bot, the inbox) until one handles it.
 *   others  → the handlers for that kind (templates, quality, preferences).
 */
#ifndef CW_INGEST_H
#define CW_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "wa/webhook.h"

struct ingest;

/* What an inbound handler is told about a message that was just stored. */
struct inbound {
	const struct webhook_event *ev; /* ev->msg has the parsed message */
	const char *org_id;
	const char *number_id;       /* numbers.id */
	const char *phone_number_id; /* Meta's id of the number */
	const char *contact_id;
	const char *message_id; /* messages.id of the inbound row */
	const char *wa_id;      /* the sender's wa_id (may be NULL: BSUID only) */
	int new_contact;        /* this is the contact's first message */
	int64_t now_ms;
};

#define INBOUND_CONTINUE 0
#define INBOUND_HANDLED 1

/* Called on the writer thread inside the body's transaction; may read and
 * write through tx (e.g. queue a reply). Returns INBOUND_HANDLED to stop the
 * chain, INBOUND_CONTINUE to pass on, or a negative cw_err, which undoes the
 * whole body's work (it is retried later). */
typedef int (*ingest_inbound_fn)(void *ud, struct store_tx *tx, const struct inbound *in);

/* Called for every event that is not an inbound message (statuses after
 * they were applied, template and account events...). org_id may be NULL
 * when the phone number is unknown. Same return convention. */
typedef int (*ingest_event_fn)(void *ud, struct store_tx *tx, const struct webhook_event *ev,
			       const char *org_id);

#define INGEST_MAX_HANDLERS 16

/* Returns a new ingest over st (borrowed for the ingest's life); caller
 * frees with ingest_free(). */
struct ingest *ingest_new(struct store *st);
/* Adds an inbound handler; handlers run in the order added. */
void ingest_add_inbound(struct ingest *ing, const char *name, ingest_inbound_fn fn, void *ud);
/* Adds an event handler. */
void ingest_add_event(struct ingest *ing, const char *name, ingest_event_fn fn, void *ud);
/* Starts the worker thread. Returns 0 or CW_EINTERNAL. */
int ingest_start(struct ingest *ing);
/* Stops the worker (after the body in hand) and frees. Accepts NULL. */
void ingest_free(struct ingest *ing);

/* Makes a received body durable (group commit) and wakes the worker.
 * signature may be NULL. *id (may be NULL) gets the log row id.
 * Returns 0 once durable: only then may the webhook be acknowledged. */
int ingest_accept(struct ingest *ing, const char *body, size_t len, const char *signature,
		  int64_t *id);

/* Called once a body handed to ingest_accept_async() is durable (rc 0) or
 * could not be stored (a negative cw_err). It runs on the store's writer
 * thread between two group commits: it must be quick and must not write to
 * the store (see store_done_fn). */
typedef void (*ingest_done_fn)(void *ud, int rc);

/* ingest_accept() without the wait: the body is copied and queued for the
 * next group commit, and done(ud, rc) reports the result; only after done
 * says 0 may the webhook be acknowledged. With the worker running and no
 * older body waiting, the body is parsed here and applied in that same
 * commit (a failure to apply leaves it stored for the worker). Returns 0 when queued (done is then
 * called exactly once) or a negative cw_err (done is never called). The HTTP
 * receiver uses this to keep no thread waiting per webhook. */
int ingest_accept_async(struct ingest *ing, const char *body, size_t len, const char *signature,
			ingest_done_fn done, void *ud);

/* Processes every pending body now, on the calling thread (tests and the
 * worker use it). Returns the number of bodies processed, or a cw_err. */
int ingest_drain(struct ingest *ing);

/* Counters for /metrics. */
struct ingest_stats {
	uint64_t accepted, processed, failed_bodies, events, rejected_items, duplicates;
};
void ingest_get_stats(struct ingest *ing, struct ingest_stats *out);

/* Applies the statuses recorded for wamid before its message knew the wamid
 * (a status webhook can overtake the send response). Used by the dispatcher
 * inside the transaction that records a wamid. */
int ingest_replay_statuses(struct store_tx *tx, const char *wamid);

#endif
