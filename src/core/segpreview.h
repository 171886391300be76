/*
 * segpreview.h — who a segment query reaches, before anything is sent:
 * how many contacts match, a few of them, and — for a purpose — how many
 * of those the policy engine would refuse, per reason.
 *
 * Place: core, between the segment language (core/segment.h) and its two
 * users, POST /api/v1/segments/preview and `carewire segment`. The counts
 * come from one pass over the segment: for each contact the query returns
 * what the contact-level reasons that policy checks first need
 * (invalid_number, no_consent, consent_refused, consent_withdrawn,
 * opted_out, marketing_stopped for marketing, and the frequency cap of
 * marketing and surveys), and segpreview.c applies them in the same order
 * as policy_decide() checks them, so each contact is counted once
 * under the first reason that refuses it — the reason its message would
 * get. Reasons that depend on the message (template, window, text) or the
 * hour (quiet hours, tier budget) are not known before there is a message
 * and a time to send it, and are not counted. Erased contacts never match
 * a segment.
 */
#ifndef CW_SEGPREVIEW_H
#define CW_SEGPREVIEW_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "core/policy.h"
#include "core/segment.h"
#include "store/store.h"

#define SEGPREVIEW_SAMPLE 10

struct segpreview_contact {
	char id[ID_SIZE];
	char name[200];
	char language[16];
};

struct segpreview {
	int64_t count;	  /* contacts matching the query */
	int purpose;	  /* the purpose asked about, or -1 */
	int64_t eligible; /* of count, those no contact-level reason refuses (purpose only) */
	int64_t excluded[POLICY_R_COUNT]; /* by reason (purpose only) */
	int nsample;
	struct segpreview_contact sample[SEGPREVIEW_SAMPLE]; /* the first by id */
};

/* Runs query over org_id's contacts at now_ms; purpose is an enum
 * policy_purpose or -1 for none (no exclusions). Returns 0 with out
 * filled, CW_EPARSE with err filled (a bad query: err->message is
 * "col N: ..."), CW_ENOTFOUND (no such organisation) or a store error. */
int segpreview_run(struct store *st, const char *org_id, const char *query, int purpose,
		   int64_t now_ms, struct segpreview *out, struct segment_error *err);

/* Returns a new JSON object {"count":N,"sample":[{"id","name","language"}],
 * "excluded":{"<reason>":N,...}} (excluded only with a purpose; reasons
 * with no contact are left out), plus "purpose" and "eligible" with a
 * purpose. Caller json_decref()s. */
json_t *segpreview_json(const struct segpreview *p);

/* Writes the preview to the audit log in one transaction: an entry
 * "segment.preview" per contact in the sample (their names were shown),
 * or one without a subject when the sample is empty. Returns 0 or a store
 * error. */
int segpreview_audit(struct store *st, const char *org_id, const char *actor,
		     const struct segpreview *p);

#endif
