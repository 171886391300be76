/*
 * send.h — the one way to send a message: every producer (the bot, the
 * opt-out handler, journeys, campaigns, the API, agents) calls
 * send_submit_tx() and nothing else puts a row into the outbox.
 *
 * Place (DESIGN.md §2, §7): producer → send → policy → decision log →
 * outbox. Inside the caller's write transaction, send_submit_tx() loads what
 * the policy engine needs from the store (the contact, its consents and
 * opt-out state, the 24-hour window, the template's status and category,
 * the organisation's settings, the frequency-cap and tier counters), builds
 * the human-visible text of the message for the national-ID and
 * prescription-drug checks, asks policy_decide(), stores the decision
 * (every one: allow, deny or defer) and queues the message on allow (due
 * now) or defer (state "deferred", due at the decision's until). A denied
 * message queues nothing; its decision says why.
 *
 *	struct send_request rq = {.org_id = org, .contact_id = c,
 *		.purpose = POLICY_REMINDERS, .payload = body, .producer = "journey:7:remind",
 *		.idem_key = "appt:42:v3:24h"};
 *	struct send_result res;
 *	rc = send_submit_tx(tx, &rq, time_now_ms(), &res);
 *	-> res.decision.outcome, res.message_id ("" when denied)
 *
 * Every decision is also written to the audit log (core/audit.h) as
 * "message.decide" with its outcome and reason, in the same transaction.
 *
 * The idempotency key is the producer's promise that two calls with the
 * same key are one message: the second call returns the first call's
 * decision (and message id) without deciding again, so a retried webhook or
 * API request never sends twice nor is judged twice.
 *
 * docs/internals/send.md describes where each input comes from.
 */
#ifndef CW_SEND_H
#define CW_SEND_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "core/policy.h"
#include "store/store.h"

#define SEND_PRODUCER_MAX 120
#define SEND_TEXT_MAX	  (64u * 1024) /* bytes of human-visible text checked */
#define SEND_CATEGORY_MAX 64

/* Decision flags, stored with each decision. */
#define SEND_F_TIME_CRITICAL	  1
#define SEND_F_REPLY		  2
#define SEND_F_BUSINESS_INITIATED 4 /* sent while the window was closed: spends tier budget */

struct send_request {
	const char *org_id;
	/* numbers.id to send from; NULL picks the organisation's number with
	 * the contact's most recent window, else its first active number. */
	const char *number_id;
	const char *contact_id;
	enum policy_purpose purpose;
	/* The Cloud API request body (POST /{phone-number-id}/messages):
	 * "type" and its member ("text", "template", "interactive", "image",
	 * "location", ...). "to" is always set from the contact, whatever the
	 * body says: the person policy judged is the person who receives it.
	 * Borrowed. */
	const json_t *payload;
	/* A template body the dispatcher sends instead when Meta answers 131047
	 * (the window closed after the decision); also tried here at once when
	 * policy refuses payload for window_closed. NULL for none. Borrowed. */
	const json_t *fallback;
	const char *result_category; /* for POLICY_RESULTS ("lipids"); NULL otherwise */
	const char *producer;	     /* "bot", "api", "journey:<id>:<step>", "campaign:<id>" */
	const char *idem_key;	     /* required; unique per organisation */
	int priority;		     /* OUTBOX_PRIO_*, or -1: transactional unless marketing */
	int64_t expires_at;	     /* UTC ms after which it must not go; 0 = never */
	int time_critical;	     /* skips quiet hours only (policy.h) */
	int is_reply;		     /* answers what the person just wrote */
	int campaign_halted;	     /* its campaign was stopped by the quality guard */
	/* Who asks, for the audit log: "apikey:<id>", "agent:<id>"; NULL is
	 * "system:<producer>". */
	const char *actor;
};

struct send_result {
	struct policy_decision decision;
	char decision_id[ID_SIZE];
	char message_id[ID_SIZE]; /* the queued message; "" when nothing was queued */
	/* The idempotency key was seen before: decision and message_id are
	 * those of the first call, and nothing was done now. */
	int duplicate;
	/* The free-form payload met a closed window and the fallback template
	 * was decided on (and queued, when allowed) instead. */
	int used_fallback;
	/* When send_submit_tx() fails with CW_ENOTFOUND or CW_EINVAL: the
	 * request member at fault ("contact_id", "number_id", "org_id",
	 * "payload", "fallback", "idem_key", ...). Static; NULL otherwise. */
	const char *field;
};

/* Decides on rq at now_ms inside tx, stores the decision and queues the
 * message when it is allowed or deferred (see above). Returns 0 with out
 * filled whatever the outcome (a denial is not an error), or CW_EINVAL (a
 * required member missing, a payload that is not a message object),
 * CW_ENOTFOUND (no such contact or organisation, or the organisation has no
 * phone number), or a store error — then nothing was stored. */
int send_submit_tx(struct store_tx *tx, const struct send_request *rq, int64_t now_ms,
		   struct send_result *out);

/* The same in a write transaction of its own, at time_now_ms(). */
int send_submit(struct store *st, const struct send_request *rq, struct send_result *out);

/* Asks again about a message that was deferred, at now_ms (the dispatcher,
 * when its not_before has come): the request is rebuilt from the message's
 * last decision and payload (its current body, borrowed). The new decision
 * is stored against message_id and returned in *out; the caller sends on
 * allow, moves not_before to out->until on defer, and cancels on deny.
 * Returns 0, CW_ENOTFOUND (no decision for that message) or a store error. */
int send_recheck_tx(struct store_tx *tx, const char *org_id, const char *message_id,
		    const json_t *payload, int64_t now_ms, struct policy_decision *out);

/* Appends to out the human-visible text of a Cloud API message body — text
 * body, caption, header, footer, button titles, list rows, location name
 * and address, template parameters — separated by newlines, and, when
 * template_components is not NULL (a template's registered components), the
 * template's own header, body, footer and button texts. Returns 0 or
 * CW_ETOOBIG (out is then cut at SEND_TEXT_MAX). */
struct buf;
int send_message_text(const json_t *payload, const json_t *template_components, struct buf *out);

/* One stored decision, as GET /api/v1/decisions lists it. Strings are
 * copies owned by the struct. */
struct send_decision_row {
	char id[ID_SIZE];
	char contact_id[ID_SIZE];
	char number_id[ID_SIZE];
	char message_id[ID_SIZE]; /* "" when none */
	char producer[SEND_PRODUCER_MAX + 1];
	char purpose[16];
	char outcome[8];
	char reason[40];
	char message[POLICY_MESSAGE_MAX];
	char result_category[SEND_CATEGORY_MAX];
	int64_t until; /* 0 when none */
	int64_t at;
	int flags;
};

/* Calls fn for each stored decision about contact_id (newest first, at most
 * limit). fn returns 0 to go on. Returns 0 or a store error. */
int send_decisions_list(struct store *st, const char *org_id, const char *contact_id, int limit,
			int (*fn)(void *ud, const struct send_decision_row *d), void *ud);

/* The same for the decisions about one message (its first and re-checks). */
int send_decisions_for_message(struct store *st, const char *org_id, const char *message_id,
			       int limit, int (*fn)(void *ud, const struct send_decision_row *d),
			       void *ud);

/* The contact's messages, both directions, newest first, at most limit:
 * *items gets a new JSON array of {"id","direction","type","status","at",
 * "status_at","wamid","payload","error"} (payload: the Cloud API body as
 * stored, null once erased; error: {"code","title"} or null; times
 * ISO-8601). Not audited: the caller audits the read. Returns 0 or a
 * store error. */
int send_timeline(struct store *st, const char *org_id, const char *contact_id, int limit,
		  json_t **items);

#endif
