/*
 * optout.h — a person saying "stop": opt-out words and buttons, WhatsApp's
 * own marketing stop (the user_preferences webhook and error 131050), and
 * opting back in. docs/optout.md says what each one stops and restores.
 *
 * Place: core. optout_on_inbound() is the FIRST inbound handler
 * (handlers.c), ahead of journeys and the bot, so "STOP" is never answered
 * as a question; optout_on_event() handles user_preferences and failed
 * statuses. Both run inside the webhook body's transaction on the writer
 * thread; the state they change is read by the send path (core/send.c)
 * for every later message.
 *
 * A message opts out only when the WHOLE message is an opt-out phrase
 * (after case folding, ignoring punctuation, emoji and spacing): "STOP",
 * "Stop!", "עצור", "СТОП" do; "Can I stop taking this pill?" does not. The
 * phrases are the organisation's (orgconf.h), by default in English,
 * Hebrew and Russian.
 */
#ifndef CW_OPTOUT_H
#define CW_OPTOUT_H

#include <stdint.h>

#include "core/ingest.h"
#include "core/orgconf.h"
#include "store/store.h"
#include "wa/webhook.h"

enum optout_kind {
	OPTOUT_NONE = 0,
	OPTOUT_STOP,	       /* stop everything business-initiated */
	OPTOUT_STOP_MARKETING, /* stop promotions only */
	OPTOUT_START,	       /* opt back in */
};

/* Classifies a whole message text against conf's phrases. *lang (may be
 * NULL) gets the language of a built-in phrase ("en", "he", "ru"), NULL for
 * a configured one. Returns OPTOUT_NONE for anything else, including NULL,
 * empty or invalid UTF-8 text. */
enum optout_kind optout_match_text(const struct orgconf *conf, const char *text, const char **lang);

/* Classifies an inbound message: a text; a template quick-reply button
 * (payload, then its text); an interactive reply (id, then title). A
 * payload or id listed in conf's opt-out payloads is OPTOUT_STOP. */
enum optout_kind optout_match_message(const struct orgconf *conf, const struct webhook_message *m,
				      const char **lang);

/* The inbound handler (ingest_inbound_fn). On an opt-out message: records
 * the opt-out and the consent withdrawals (source whatsapp, the words as
 * evidence), sends one confirmation in the contact's language through the
 * send path (purpose service, a reply) when the state changed, and stops
 * the chain. On an opt-in word from a person who opted out: clears the
 * opt-out and confirms. Anything else passes on. ud is unused. */
int optout_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in);

/* The event handler (ingest_event_fn): user_preferences "stop" / "resume"
 * for marketing_messages, and a failed status with error 131050, set or
 * clear the contact's marketing_stopped. ud is unused. */
int optout_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		    const char *org_id);

/* ---- the state, for other producers and the dispatcher ---- */

/* Opts contact_id out (opted_out, marketing and surveys consent withdrawn)
 * at now with evidence (short text, no personal data). *changed (may be
 * NULL) is set when the contact was not opted out before. */
int optout_stop_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
		   const char *evidence, int64_t now, int *changed);

/* Withdraws marketing consent only (a "stop promotions" word or button).
 * *changed is set when marketing was not already withdrawn or refused. */
int optout_stop_marketing_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
			     const char *evidence, int64_t now, int *changed);

/* Clears the opt-out. Consents are not touched: what was withdrawn stays
 * withdrawn until a new explicit consent. *changed is set when the contact
 * was opted out. */
int optout_start_tx(struct store_tx *tx, const char *contact_id, int64_t now, int *changed);

/* Sets (stopped 1) or clears (0) marketing_stopped: the person stopped or
 * resumed marketing messages inside WhatsApp. Stopping with evidence also
 * withdraws marketing consent (source whatsapp) unless it is already
 * withdrawn or refused; evidence NULL sets the flag only (the dispatcher's
 * 131050 path records its own withdrawal). Resuming never grants consent.
 * *changed (may be NULL) is set when the flag changed. */
int optout_marketing_stopped_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
				int stopped, const char *evidence, int64_t now, int *changed);

struct optout_state {
	int opted_out;
	int64_t opted_out_at; /* 0 when never */
	int64_t opted_in_at;
	int marketing_stopped;
	int64_t marketing_stopped_at;
};

/* Reads a contact's state (all zero when it never opted out). */
int optout_get(struct store *st, const char *contact_id, struct optout_state *out);

#endif
