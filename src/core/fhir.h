/*
 * fhir.h — FHIR R4 in and out, for what clinics already run.
 *
 * In: Patient resources, alone or in a Bundle (a Synthea export, an EHR's
 * $everything), become contacts through the same drafts and upsert as the
 * API (core/contact.h):
 *
 *	Patient.telecom     system "phone": the "mobile" one first, else the
 *	                    first other that is not "old" -> phone (normalised
 *	                    with the organisation's region; an invalid one is
 *	                    reported, never guessed)
 *	Patient.name        "official", else "usual", else the first: its text,
 *	                    or given names and family -> name
 *	Patient.gender      -> sex
 *	Patient.birthDate   a full date -> birth_date (a year or a month alone
 *	                    is not a birth date we can use, and is left out)
 *	Patient.communication  the preferred language, else the first -> language
 *	Patient.id          -> fields.fhir_id (text)
 *	Patient.identifier  only a medical record number (type code MR) ->
 *	                    fields.mrn; social security, passport, driver's
 *	                    licence and national identifiers are never stored
 *	Patient.deceased[x] true or a date: the patient is NOT imported (and the
 *	                    report says so): nobody messages the dead
 *
 * Other resource types in a Bundle are counted and skipped (Appointment
 * included, for now: appointments come with their own module).
 *
 * Out: one contact as a Bundle (type "collection") of its Patient, a
 * Consent per consent record (history included), and a Communication per
 * message.
 *
 * Layer: core.
 */
#ifndef CW_CORE_FHIR_H
#define CW_CORE_FHIR_H

#include <jansson.h>

#include "core/contact.h"
#include "store/store.h"

#define FHIR_ENTRIES_MAX 100000 /* entries of one Bundle */
#define FHIR_ERRORS_MAX	 1000	/* errors kept in a report (the rest counted) */

/* Fills d from a Patient resource (see above). region: the organisation's.
 * Returns 0; CW_EPHONE or CW_EINVAL with err->field in FHIR's terms
 * ("telecom", "birthDate", "gender", "name", "communication"); or
 * CW_ECONFLICT for a deceased patient (err->field "deceased"). */
int fhir_patient_draft(const json_t *patient, const char *region, struct contact_draft *d,
		       struct contact_error *err);

struct fhir_report {
	long patients; /* Patient resources seen */
	long created, updated, failed;
	long skipped;	       /* resources of other types */
	json_t *errors;	       /* [{"entry":N,"resource":"Patient/<id>","field","message"}] */
	json_t *skipped_types; /* {"Encounter":3,...} */
};

/* Imports a Patient or a Bundle's Patients for org_id, each in its own
 * transaction with its audit entry (actor; detail "fhir"). r is filled and
 * must be released with fhir_report_release() whatever this returns.
 * Returns 0 (patients may have failed: r->failed, r->errors), CW_EINVAL
 * when res is neither a Patient nor a Bundle, CW_ETOOBIG for a Bundle of
 * more than FHIR_ENTRIES_MAX entries, or a store error that stopped it. */
int fhir_import(struct store *st, const char *org_id, const char *region, const json_t *res,
		const char *actor, struct fhir_report *r);
void fhir_report_release(struct fhir_report *r);
/* Returns a new JSON object of the report: {"patients","created","updated",
 * "failed","skipped","skipped_types":{...},"errors":[...]}. */
json_t *fhir_report_json(const struct fhir_report *r);

/* Returns in *out a new Bundle with contact id's Patient, Consent and
 * Communication resources; audited as "contact.export" (detail "fhir").
 * Returns 0 or CW_ENOTFOUND. */
int fhir_export_contact(struct store *st, const char *org_id, const char *id, const char *actor,
			json_t **out);

#endif
