/*
 * consent.h — consent per purpose: what a person allowed, refused or
 * withdrew, for which purpose, from which source, with which wording and
 * evidence, and when.
 *
 * Purposes are separate records: service, reminders, results, surveys,
 * marketing. Each record is appended to the consents table, never changed
 * (the full history stays); a trigger keeps consent_current, the latest
 * record per purpose (a record dated earlier than the current one, such as
 * a paper form imported late, joins the history without overriding it).
 * The policy engine (core/policy.h) reads the current status: a refusal or
 * a withdrawal stops every message of that purpose until a new explicit
 * "granted" record.
 *
 * Recording and reading are audited (consent.record, consent.read), the
 * recording in the same transaction as the record.
 *
 * Layer: core.
 */
#ifndef CW_CORE_CONSENT_H
#define CW_CORE_CONSENT_H

#include <jansson.h>
#include <stdint.h>

#include "core/contact.h"
#include "store/store.h"

#define CONSENT_PURPOSES     5
#define CONSENT_WORDING_MAX  64	  /* bytes of wording_version */
#define CONSENT_EVIDENCE_MAX 2000 /* bytes of evidence */
/* How far in the future a record's time may be (clock skew between the
 * system that took the consent and this one). */
#define CONSENT_FUTURE_SKEW_MS (5 * 60 * 1000)

/* "service", "reminders", "results", "surveys", "marketing", in the order
 * of enum policy_purpose. */
extern const char *const consent_purposes[CONSENT_PURPOSES];

/* The index of purpose in consent_purposes, or -1. */
int consent_purpose_index(const char *purpose);
/* 1 when status is granted, refused or withdrawn. */
int consent_status_valid(const char *status);
/* 1 when source is paper, web, whatsapp, api or import. */
int consent_source_valid(const char *source);

/* A record to add. Strings borrowed. */
struct consent_input {
	const char *purpose;
	const char *status;
	const char *source;
	const char *wording_version; /* may be NULL */
	const char *evidence;	     /* may be NULL: where the proof is (a scan id, a form id) */
	int64_t at;		     /* UTC ms of the consent; 0 means now */
};

/* Checks in against the rules above (at may not be more than
 * CONSENT_FUTURE_SKEW_MS after now_ms, nor before 1970). Returns 0 or
 * CW_EINVAL with err naming the field. */
int consent_check(const struct consent_input *in, int64_t now_ms, struct contact_error *err);

/* Fills in from a JSON body {"purpose","status","source","wording_version",
 * "evidence","at" (ISO-8601, optional)} and checks it. The strings point
 * into body (borrowed for its life). Returns 0 or CW_EINVAL. */
int consent_input_from_json(struct consent_input *in, const json_t *body,
			    struct contact_error *err);

/* Appends a record for contact_id inside tx, with its audit entry. The
 * caller has checked in and that the contact is live. *id (may be NULL)
 * gets the record's id. Returns 0 or a store error. */
int consent_record_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
		      const struct consent_input *in, const char *actor, int64_t *id);

/* Checks in, and appends it for the live contact contact_id in one
 * transaction with its audit entry. *out (may be NULL) gets a new JSON
 * object of the stored record: {"id","contact_id","purpose","status",
 * "source","wording_version","evidence","at"}. Returns 0, CW_EINVAL (bad
 * input), CW_ENOTFOUND (no such contact), CW_ECONFLICT (the contact was
 * erased; err->code "contact_erased") or a store error. */
int consent_record(struct store *st, const char *org_id, const char *contact_id,
		   const struct consent_input *in, const char *actor, json_t **out,
		   struct contact_error *err);

/* A stored record, borrowed: valid inside the callback. */
struct consent_rec {
	int64_t id;
	const char *purpose, *status, *source, *wording_version, *evidence;
	int64_t at;
};
typedef int (*consent_rec_fn)(void *ud, const struct consent_rec *r);

/* Calls fn for the contact's records: the full history oldest first, or
 * only the current record per purpose (current != 0). Returns 0, an error,
 * or fn's first non-zero return. */
int consent_list(struct store *st, const char *org_id, const char *contact_id, int current,
		 consent_rec_fn fn, void *ud);

/* Returns a new JSON object of a record (as consent_record() gives). */
json_t *consent_rec_json(const char *contact_id, const struct consent_rec *r);

/* Returns a new JSON object {"contact_id","current":{"<purpose>":record,
 * ...},"history":[record, ...]}, or NULL on a store error. Not audited
 * (exports audit themselves). */
json_t *consent_state_json(struct store *st, const char *org_id, const char *contact_id);

/* consent_state_json for contact_id, audited as "consent.read". Returns 0
 * or CW_ENOTFOUND (no such contact in org_id). */
int consent_read(struct store *st, const char *org_id, const char *contact_id, const char *actor,
		 json_t **out);

#endif
