/*
 * conversation.h — the shared inbox: what people write that nothing
 * automatic answered becomes a conversation that the team's agents see,
 * take, answer and close, with first-response time measured against the
 * organisation's target.
 *
 * Place (DESIGN.md §1 "Service teams", §2): the last inbound handler of the
 * ingest (handlers.c: opt-out → journeys → bot → inbox). Whatever reaches it
 * lands in the live conversation of (phone number, contact), created when
 * there is none. The bot's "Talk to us" button (BOT_BTN_HUMAN) arrives here
 * too, as a handoff, and a journey's handoff step opens the conversation for
 * a team (conversation_handoff_tx). A conversation is
 *
 *	open     the person wrote and waits for the team
 *	pending  the team answered; waiting for the person
 *	closed   done; the next message opens a new conversation
 *
 * A waiting period starts with the first inbound message that nobody of the
 * team has answered yet and ends with the first reply an agent sends
 * through conversation_reply() (bot and journey messages do not count).
 * Each such reply stores a first-response sample: wall-clock time and the
 * time inside business hours (core/hours.h), which is what the target
 * (default 6 minutes) is about. A message arriving while the team is closed
 * gets one out-of-hours reply per conversation per closed period, in the
 * contact's language, through the send path.
 *
 * Agents' replies go through core/send.h like every other message (purpose
 * service, as a reply): a free-form text outside the 24-hour window is
 * refused by policy (window_closed) and the caller offers approved
 * templates. Every read and change through these functions is audited
 * (core/audit.h): conversations are patient data. Message bodies are never
 * logged.
 *
 * SQL: src/store/sqlite/stmts_inbox.c ("inbox.*"); docs/inbox.md.
 */
#ifndef CW_CONVERSATION_H
#define CW_CONVERSATION_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "core/hours.h"
#include "core/ingest.h"
#include "core/send.h"
#include "core/template.h"
#include "store/store.h"

#define CONV_LIST_MAX	       200
#define CONV_THREAD_MAX	       200
#define CONV_PREVIEW_CHARS     120 /* characters of the last message shown in a list */
#define CONV_PREVIEW_MAX       (CONV_PREVIEW_CHARS * 4 + 8)
#define CONV_NAME_MAX	       200
#define CONV_STATS_SAMPLES_MAX 100000 /* first responses read for one figure */
#define CONV_TEXT_MAX	       4096   /* Meta's limit on a text body */
#define CONV_HANDOFF_MAX       80     /* "journey:" and a journey key */
#define CONV_TEAM_MAX	       64
#define CONV_NOTE_MAX	       2048 /* bytes of a hand-off note kept; a longer one is cut */

/* One conversation as the inbox lists it. Strings are copies. */
struct conversation {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char number_id[ID_SIZE];
	char contact_id[ID_SIZE];
	char status[8];		/* open, pending, closed */
	/* button (asked for a person), unhandled (nothing else answered), or
	 * journey:<key> (a journey's handoff step, conversation_handoff_tx) */
	char handoff[CONV_HANDOFF_MAX];
	char team[CONV_TEAM_MAX + 1]; /* whom a journey handed it to; "" when no one */
	char note[CONV_NOTE_MAX];     /* the hand-off's note; "" when none */
	char assignee[ID_SIZE]; /* agent or API key id; "" when unassigned */
	char assignee_name[CONV_NAME_MAX + 1]; /* "" when unknown */
	int64_t opened_at;
	int64_t waiting_since;	   /* first unanswered inbound; 0 when no one waits */
	int64_t first_response_at; /* the first reply of the team; 0 before */
	int64_t closed_at;
	int64_t last_message_at;
	int64_t last_inbound_at;
	int64_t auto_reply_until; /* 0 when no out-of-hours reply was sent */
	int has_auto_reply;
	int unread; /* inbound messages since the team last answered or read */
	char contact_name[CONV_NAME_MAX + 1];
	char contact_language[16];
	int contact_erased;
	int64_t window_expires_at; /* 0 when the person never wrote */
	/* The contact's latest message, any direction; last_id "" when none. */
	char last_id[ID_SIZE];
	char last_direction[4];
	char last_type[24];
	char last_status[16];
	char last_preview[CONV_PREVIEW_MAX]; /* body, cut to CONV_PREVIEW_CHARS characters */
	int64_t last_at;
};

/* What the list shows. */
struct conversation_filter {
	const char *org_id;
	const char *status;   /* NULL: open and pending; "all"; "open", "pending", "closed" */
	const char *assignee; /* NULL: anyone's; "": unassigned; an agent or key id */
	int64_t cursor_at;    /* 0: from the newest; else after (cursor_at, cursor_id) */
	const char *cursor_id;
	int limit; /* 1..CONV_LIST_MAX */
};

/* The ingest handler (ingest_inbound_fn; registered last in handlers.c).
 * ud is unused. Always INBOUND_HANDLED for a message that lands, or a store
 * error. */
int conversation_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in);

/* Puts the conversation of (number_id, contact_id) in front of the team,
 * inside tx (a journey's handoff step calls it in the run's transaction):
 * the live conversation, or a new one when there is none (a closed one
 * stays closed, as when the person writes), becomes open with handoff set
 * to reason ("journey:<key>"), team and note (either may be NULL; a note
 * longer than CONV_NOTE_MAX bytes is cut), and waits for a first response
 * since now, unless it was waiting already (the earlier time stays). The
 * unread count is left alone: no message of the person came with it.
 * Audited "conversation.handoff" by "system:inbox" with the reason and the
 * team, never the note. Returns 0, CW_EINVAL (an id missing, or reason not
 * "button", "unhandled" or "journey:<key>" shorter than CONV_HANDOFF_MAX)
 * or a store error. */
int conversation_handoff_tx(struct store_tx *tx, const char *org_id, const char *number_id,
			    const char *contact_id, const char *reason, const char *team,
			    const char *note, int64_t now);

/* Lists conversations of f->org_id, newest activity first, calling fn per
 * conversation (fn returns 0 to go on). Audited as "conversation.list" by
 * actor. Returns 0, CW_EINVAL (a bad status filter) or a store error. */
int conversation_list(struct store *st, const struct conversation_filter *f, const char *actor,
		      int (*fn)(void *ud, const struct conversation *c), void *ud);

/* Reads one conversation (not audited: the caller's read is — see
 * conversation_read). Returns 0 or CW_ENOTFOUND. */
int conversation_get(struct store *st, const char *org_id, const char *id,
		     struct conversation *out);

/* The thread of conversation c: the contact's messages (newest first, at
 * most limit, before (before_at, before_id) when before_at > 0), with their
 * statuses, who sent them ("patient", "bot", "agent", "journey", "system",
 * "api") and the policy decisions about them, plus the attempts policy
 * refused. with_bodies 0 leaves the texts out. *items gets a new array.
 * Audited as "conversation.read"; when mark_read, the unread count goes to
 * 0. Returns 0 or a store error. */
int conversation_read(struct store *st, const struct conversation *c, int64_t before_at,
		      const char *before_id, int limit, int with_bodies, int mark_read,
		      const char *actor, json_t **items);

/* c as the API shows it: {"id","status","contact":{"id","name","language"},
 * "number_id","assignee":{"id","name"}|null,"handoff","team","note","opened_at",
 * "waiting_since","first_response_due","overdue","first_response_at",
 * "last_message_at","last_message":{"id","direction","type","status","at",
 * "preview"}|null,"unread","window":{"open","expires_at"},"closed_at",
 * "auto_replied"} — the preview and the note only with_bodies; team and
 * note null when none; times ISO-8601 or null.
 * h gives the first-response due time. Returns a new reference. */
json_t *conversation_json(const struct conversation *c, const struct hours *h, int with_bodies,
			  int64_t now);

/* Assigns conversation id to assignee (an agent or API key id of the
 * organisation; NULL unassigns). Audited "conversation.assign". *out (may be
 * NULL) gets the conversation after. Returns 0, CW_ENOTFOUND (no such
 * conversation) or CW_EINVAL (assignee is not a live agent or key of the
 * organisation). */
int conversation_assign(struct store *st, const char *org_id, const char *id, const char *assignee,
			const char *actor, struct conversation *out);

/* Closes (close != 0) or reopens conversation id. Closing ends any waiting
 * period without a sample. Audited "conversation.close" / ".reopen".
 * Returns 0, CW_ENOTFOUND, or CW_ECONFLICT (already closed / not closed, or
 * on reopen the contact has another live conversation). */
int conversation_set_closed(struct store *st, const char *org_id, const char *id, int close,
			    const char *actor, struct conversation *out);

/* An agent's reply. */
struct conversation_reply {
	const char *org_id;
	const char *id;		/* the conversation */
	const char *responder;	/* the agent (or API key) id: assignee and sample */
	const char *actor;	/* for the audit log: "agent:<id>", "apikey:<id>" */
	const json_t *payload;	/* a Cloud API body: {"type":"text","text":{"body":…}} or a
				   template (conversation_template_body); borrowed */
	const char *client_key; /* the client's idempotency key, or NULL for a new one */
};

/* Sends an agent's reply through send_submit_tx() (purpose service, as a
 * reply, producer "agent:<responder>") in one transaction with its effect
 * on the conversation: when policy allows or defers it, the waiting period
 * ends (a first-response sample is stored), the conversation becomes
 * pending, unread goes to 0, and an unassigned conversation is assigned to
 * the responder. A denial changes nothing but the stored decision.
 * Audited "conversation.reply". Returns 0 with *res filled whatever the
 * decision, CW_ENOTFOUND (no such conversation), CW_ECONFLICT (it is
 * closed), CW_EINVAL (res->field names the bad member) or a store error. */
int conversation_reply(struct store *st, const struct conversation_reply *rq,
		       struct send_result *res, struct conversation *out);

/* Builds the Cloud API body of a template message from {"name",
 * "language" (optional: the contact's language, then the organisation's),
 * "params": ["…"] or {"name": "…"} (named parameters)} against the
 * registry, checking the parameters (template_check_compose for purpose
 * service). Returns 0 and a new body in *out, CW_ENOTFOUND (no such
 * template in that language: err->field "template.name") or CW_EINVAL
 * (err filled). Approval and category are left to policy, which stores
 * the decision. */
int conversation_template_body(struct store *st, const char *org_id, const char *contact_lang,
			       const json_t *tpl, json_t **out, struct template_problem *err);

/* The approved templates that may answer as a service message (UTILITY or
 * AUTHENTICATION) as a new array of {"name","language","category",
 * "body_params","param_names","matches_language"}, those in lang first.
 * Returns 0 or a store error. */
int conversation_templates(struct store *st, const char *org_id, const char *lang, json_t **out);

/* The inbox figures of an organisation over [since, until). */
struct conversation_stats {
	int64_t open, pending, waiting, unassigned;
	int64_t oldest_waiting_since; /* 0 when no one waits */
	int64_t responses;	      /* first responses in the period */
	int64_t within_target;
	int64_t median_ms, p90_ms; /* business-hours time to first response */
	int64_t median_wall_ms;	   /* wall-clock time, for comparison */
	int64_t target_ms;	   /* the current target */
};
/* Computes them (percentiles by nearest rank over at most
 * CONV_STATS_SAMPLES_MAX samples, the most recent). Audited
 * "conversation.stats". Returns 0 or a store error. */
int conversation_stats(struct store *st, const char *org_id, int64_t since, int64_t until,
		       const char *actor, struct conversation_stats *out);

/* Appends the inbox gauges and counters of every organisation to out as
 * Prometheus text (carewire_inbox_conversations{status=…},
 * carewire_inbox_waiting, carewire_inbox_first_responses_total,
 * carewire_inbox_first_responses_within_target_total). Returns 0, a store
 * error or CW_ETOOBIG. */
struct buf;
int conversation_metrics(struct store *st, struct buf *out);

/* Appends the human-visible text of a stored message to out: for an inbound
 * message (the Cloud API's message object) its text, caption, button or
 * list title, location, reaction, or "[image]"-like marks; for an outbound
 * one (a Cloud API request body) what send_message_text() shows. Returns 0
 * or CW_ETOOBIG. */
int conversation_message_text(const char *direction, const json_t *payload, struct buf *out);

#endif
