/*
 * journey.h — the journey engine: versioned definitions in the store, runs
 * that walk them, and the hooks that move runs on (a reply, a timer, an
 * event, a webhook's answer).
 *
 * Place: core, above send.h (every message a step sends goes through
 * send_submit_tx(), so policy decides on each one), sched.h (waits are
 * timers), journey_def.h (what a definition says) and the ingest (a person's
 * reply reaches a waiting run through journey_on_inbound(), registered after
 * the opt-out handler and before the bot).
 *
 * A run is one contact going through one version of one journey. It lives in
 * journey_runs: its step, a step counter (seq), its variables, the event
 * that started it, and what it waits for — a reply (with a timeout timer),
 * a timer, or a webhook call. Everything a run does happens inside one
 * write transaction together with the run's new state: a message queued by
 * a step and the run moving past that step commit together or not at all,
 * and every send carries the idempotency key "journey:<run>:<step>:<seq>",
 * so no retry or restart sends a step twice.
 *
 * One conversation per contact and number: at most one run waits for the
 * person's reply at a time. Starting an interactive journey while another
 * run waits for a reply applies the new journey's on_conflict: interrupt
 * (the waiting run is cancelled), skip (the new run is recorded as skipped)
 * or queue (it starts when the waiting run stops waiting). A tap on a button
 * is routed by the message it was on (context), so a run waiting on a timer
 * still gets the taps on its own earlier messages ("anytime" branches).
 *
 * Editing a journey stores a new version; runs finish on the version they
 * started on. docs/journeys.md describes definitions, runs and the API.
 */
#ifndef CW_JOURNEY_H
#define CW_JOURNEY_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "core/ingest.h"
#include "core/journey_def.h"
#include "core/sched.h"
#include "store/store.h"

#define JOURNEY_TIMER		      "journey"	     /* sched kind: a run's wait or timeout */
#define JOURNEY_WEBHOOK_TIMER	      "journey.call" /* sched kind: a webhook step's call */
#define JOURNEY_MAX_STEPS_PER_ADVANCE 128	     /* a run doing more without waiting fails */
#define JOURNEY_CACHE		      256	     /* parsed versions kept in memory */
#define JOURNEY_VARS_MAX	      (64u * 1024)   /* bytes of a run's variables */
#define JOURNEY_WEBHOOK_BODY_MAX      (64u * 1024)
#define JOURNEY_SECRET_KEY	      "journeys.webhook_secret" /* kv key of the signing secret */

struct journey_engine;

/* Returns a new engine over st and sched (both borrowed for its life) and
 * registers its timer kinds with sched. Caller frees with
 * journey_engine_free() after the scheduler has stopped. */
struct journey_engine *journey_engine_new(struct store *st, struct sched *sched);
void journey_engine_free(struct journey_engine *e);
struct sched *journey_engine_sched(const struct journey_engine *e);
struct store *journey_engine_store(const struct journey_engine *e);

/* ---- definitions ---- */

struct journey_saved {
	char id[ID_SIZE]; /* journeys.id of the version */
	char key[JOURNEY_KEY_MAX + 1];
	int version;
	int created; /* 0 when the definition equals the current version (nothing stored) */
};

/* Checks def and stores it as the next version of its key (version 1 for a
 * new key), which becomes the current one, active unless the key was
 * paused. hidden marks journeys made by campaigns (not listed). Returns 0,
 * CW_EINVAL with errs filled (errs may be NULL), or a store error. */
int journey_save(struct journey_engine *e, const char *org_id, json_t *def, const char *actor,
		 int hidden, struct journey_def_errors *errs, struct journey_saved *out);

/* Defines every *.json file in dir for org_id (the built-in library in
 * journeys/, for `carewire demo` and set-up scripts): each file becomes a
 * new version of its key when it changed. A file that cannot be read or
 * does not pass the checks is logged (with its problems) and skipped.
 * *loaded (may be NULL) gets the number defined. Returns 0, or CW_EIO when
 * dir cannot be opened. */
int journey_load_dir(struct journey_engine *e, const char *org_id, const char *dir, int *loaded);

/* Sets a key's status: "active", "paused" (no new runs; running runs go on)
 * or "archived". Returns 0, CW_EINVAL or CW_ENOTFOUND. */
int journey_set_status(struct journey_engine *e, const char *org_id, const char *key,
		       const char *status);

/* A journey as GET /api/v1/journeys/{key} shows it: {"key","version","status",
 * "name","purpose","interactive","on_conflict","definition","graph",
 * "versions":[{"version","created_at","created_by"}],"runs":{"<state>":N}}.
 * version 0 is the current one. Returns 0 and a new object in *out, or
 * CW_ENOTFOUND. */
int journey_get_json(struct journey_engine *e, const char *org_id, const char *key, int version,
		     json_t **out);

/* {"items":[{"key","version","status","name","purpose","updated_at"}]}. */
int journey_list_json(struct journey_engine *e, const char *org_id, json_t **out);

/* Loads the parsed definition of a journeys.id (shared; give it back with
 * journey_def_put()). Returns 0, CW_ENOTFOUND or a store error. */
int journey_def_get_tx(struct journey_engine *e, struct store_tx *tx, const char *journey_id,
		       const struct journey_def **out);
int journey_def_get(struct journey_engine *e, const char *journey_id,
		    const struct journey_def **out);
void journey_def_put(struct journey_engine *e, const struct journey_def *d);

/* ---- runs ---- */

struct journey_start {
	const char *org_id;
	const char *key;
	const char *contact_id;
	const char *number_id;	  /* NULL: the contact's number (send.h's choice) */
	const json_t *vars;	  /* initial variables, or NULL */
	const json_t *event;	  /* the triggering event's data (ctx "event"), or NULL */
	const char *trigger;	  /* "api", "event:<type>", "keyword", "new_contact",
				     "campaign:<id>", "journey:<run>" */
	const char *campaign_id;  /* or NULL */
	const struct inbound *in; /* the message that started it (replies), or NULL */
};

struct journey_started {
	char run_id[ID_SIZE]; /* "" when no run was recorded */
	/* "running", "waiting", "done", "queued", "skipped", "failed" */
	char state[16];
	char reason[208]; /* why skipped or failed; "" otherwise */
};

/* Starts key's current version for a contact inside tx (see on_conflict
 * above). Returns 0 with out filled (a skip is not an error), CW_ENOTFOUND
 * (no such journey or contact, or no phone number), CW_ECONFLICT (the
 * journey is paused or archived), or a store error. */
int journey_start_tx(struct journey_engine *e, struct store_tx *tx, const struct journey_start *s,
		     struct journey_started *out);
int journey_start(struct journey_engine *e, const struct journey_start *s,
		  struct journey_started *out);

/* Cancels a live run (queued, running or waiting) with a reason. Returns 0,
 * CW_ENOTFOUND, or CW_ECONFLICT when the run already ended. */
int journey_cancel_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
		      const char *run_id, const char *reason);
int journey_cancel(struct journey_engine *e, const char *org_id, const char *run_id,
		   const char *reason);

/* A run as the API shows it. Returns 0 and a new object, or CW_ENOTFOUND. */
int journey_run_json(struct journey_engine *e, const char *org_id, const char *run_id,
		     json_t **out);
/* {"items":[run...]} newest first; key, contact_id and state may be NULL. */
int journey_runs_json(struct journey_engine *e, const char *org_id, const char *key,
		      const char *contact_id, const char *state, int limit, json_t **out);

/* The ingest inbound handler (ud: the engine): routes a reply to the run
 * waiting for it, else starts a journey whose keyword the person wrote, else
 * one that greets a new contact. */
int journey_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in);

/* Starts the journeys an event triggers for its contact and ends the runs
 * it cancels (cancel_on), inside tx. event is the event's data with "type"
 * set. Appends {"journey","run_id","state","reason"} per journey to runs
 * (an array). Returns 0 or a store error. */
int journey_on_event_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
			const char *contact_id, const char *type, const json_t *event,
			json_t *runs);

/* Erasure of a contact (core/contact.c contact_erase, inside its
 * transaction): cancels every live run of the contact ("contact erased",
 * ended at now) with its timers — a queued run too, so none starts in the
 * place of another — and removes what runs hold about the person
 * (variables, event data, pending calls, the texts of saved answers). Needs
 * no engine: it only runs statements. Returns 0 or a store error. */
int journey_erase_contact_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
			     int64_t now);

/* Cancels the live runs of a campaign (cancel), and holds or releases the
 * timers of its runs (pause / resume). */
int journey_campaign_runs_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
			     const char *campaign_id, const char *action);

/* ---- analytics ---- */

/* Per-step counts of key (all versions), of one campaign's runs when
 * campaign_id is not NULL: {"steps":[{"step","type","entered","sent",
 * "delivered","read","failed","replied","taps":{"<id>":N},"branches":{...},
 * "opt_outs","negative","failures":{"<code>":N},"decisions":{"<reason>":N},
 * "open_rate","engagement_rate","opt_out_rate"}],"totals":{...},
 * "runs":{"<state>":N}}. Returns 0 and a new object, or a store error. */
int journey_stats_json(struct store *st, const char *org_id, const char *key,
		       const char *campaign_id, json_t **out);

/* Saved answers of key aggregated per name: {"<name>":{"count","average"
 * (numeric answers),"distribution":{"<value>":N},"recent":[{"value","at"}]}}. */
int journey_responses_json(struct store *st, const char *org_id, const char *key, json_t **out);

/* Engine counters for /metrics. */
struct journey_stats {
	uint64_t started, steps, sends, replies_routed, failed;
};
void journey_get_stats(struct journey_engine *e, struct journey_stats *out);

#endif
