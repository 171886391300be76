/*
 * campaign.h — a journey (or one template) started for a segment, rolled
 * out with care.
 *
 * Place: core, above journey.h (each contact enrolled is a run with the
 * campaign's id, so every message goes through send_submit_tx() and policy)
 * and segment.h / segpreview.h (who is in the audience, who policy would
 * exclude). A campaign's progress is driven by one timer of kind
 * CAMPAIGN_TIMER (core/sched.h): each firing enrols one batch, in contact id
 * order from a cursor kept in the campaigns row, in the same transaction as
 * the runs it starts, so a crash neither loses nor doubles an enrolment.
 *
 * Roll-out: a canary share of the audience first (percent), then a hold
 * (the canary's messages get delivered, read, answered), then a check of the
 * quality guard, then the rest in batches with the guard checked before
 * each. The guard halts the campaign by itself when, over at least
 * min_sample contacts reached, the opt-out rate, the rate of 131026 / 131049
 * failures, or the rate of negative replies (branches marked "negative")
 * crosses its threshold. A halted campaign enrols nobody more, its queued
 * messages are cancelled, and its runs' later messages are refused with
 * the policy reason campaign_halted. A person may resume it.
 *
 * A segment of everyone, or one larger than the number's messaging tier,
 * is refused unless the request confirms it ("confirm": {"everyone": true,
 * "over_tier": true}).
 *
 * The request (POST /api/v1/campaigns and /campaigns/preview):
 *	{"name": "...", "journey": "event_rsvp" | "template": {"name","language",
 *	 "params":[...], "category"}, "purpose": "marketing" (template campaigns),
 *	 "segment": "audience = \"recovered patient\" AND ...",
 *	 "vars": {...}, "canary": {"percent": 5, "hold": "PT2H"},
 *	 "guard": {"max_opt_out_rate": 0.02, "max_failure_rate": 0.05,
 *	           "max_negative_rate": 0.05, "min_sample": 20},
 *	 "batch": 200, "confirm": {"everyone": false, "over_tier": false},
 *	 "start": true}
 */
#ifndef CW_CAMPAIGN_H
#define CW_CAMPAIGN_H

#include <jansson.h>

#include "core/journey.h"

#define CAMPAIGN_TIMER		"campaign"
#define CAMPAIGN_BATCH_DEFAULT	200
#define CAMPAIGN_BATCH_MAX	1000
#define CAMPAIGN_GUARD_EVERY_MS 60000 /* guard checks after the enrolment ended */

struct campaigns;

/* An error naming the request field at fault; code is an API error code
 * ("invalid_field", "invalid_query", "conflict", "not_found"). */
struct campaign_error {
	char field[64];
	char code[32];
	char message[256];
};

/* Returns a new campaign service over the journey engine (borrowed) and
 * registers CAMPAIGN_TIMER with its scheduler. Caller frees with
 * campaigns_free() after the scheduler stopped. */
struct campaigns *campaigns_new(struct journey_engine *je);
void campaigns_free(struct campaigns *c);

/* What would happen: {"audience","eligible","excluded":{"<reason>":N},
 * "sample":[...],"everyone","tier","over_tier","needs_confirmation":[...],
 * "cost":{"currency","per_message","total","category","countries":{...}}}.
 * Returns 0 and a new object, or CW_EINVAL / CW_EPARSE / CW_ENOTFOUND with
 * err filled. */
int campaign_preview(struct campaigns *c, const char *org_id, const json_t *req, json_t **out,
		     struct campaign_error *err);

/* Creates a campaign and (unless "start": false) starts it. Refuses an
 * unconfirmed everyone / over-tier audience with CW_ECONFLICT. Returns 0 and
 * the campaign's JSON (as campaign_get_json) in *out, or an error with err
 * filled. */
int campaign_create(struct campaigns *c, const char *org_id, const json_t *req, const char *actor,
		    json_t **out, struct campaign_error *err);

/* "start" (a draft), "pause", "resume" (a paused or halted one), "cancel".
 * Returns 0 and the campaign's JSON, CW_ENOTFOUND, CW_EINVAL (unknown
 * action) or CW_ECONFLICT (not in a state that allows it). */
int campaign_action(struct campaigns *c, const char *org_id, const char *id, const char *action,
		    json_t **out, struct campaign_error *err);

/* The campaign with its live progress, guard and per-step stats. */
int campaign_get_json(struct campaigns *c, const char *org_id, const char *id, json_t **out);
/* {"items":[campaign without stats]} newest first. */
int campaign_list_json(struct campaigns *c, const char *org_id, int limit, json_t **out);

#endif
