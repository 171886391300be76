/*
 * contact_csv.h — importing contacts from a CSV file (`carewire import
 * contacts`, POST /api/v1/contacts/import).
 *
 * The first record is the header; it names the columns, in any order and
 * case, surrounding spaces ignored:
 *
 *	phone (required), name, language, time_zone, sex, birth_date, audience,
 *	tags ("a;b" or "a|b"),
 *	field:<key> or fields.<key>, optionally typed: fields.visits:number,
 *	    field:last_visit:date, fields.smoker:bool (untyped: a YYYY-MM-DD
 *	    value is a date, anything else text),
 *	consent.<purpose> (granted, refused or withdrawn; recorded with source
 *	    "import" when it differs from the current status).
 *
 * Aliases: timezone = time_zone, birthdate = birth_date, gender = sex.
 * An unknown or repeated column refuses the whole file (a typo would
 * otherwise drop a column silently).
 *
 * Each later record is one contact, validated exactly as the API validates
 * (core/contact.h): an empty cell leaves that value as it is. A record that
 * fails is reported with its line ("line 7: phone: too short (...)") and
 * skipped; the valid ones are imported, each contact whole or not at all.
 * Contacts are upserted by phone, so running the same file again changes
 * nothing (and records no new consent). Valid records are written in
 * batches of CONTACT_CSV_BATCH per transaction for speed; if a batch fails
 * as a whole, its records are retried one transaction each, so one bad
 * record never costs its neighbours.
 *
 * Layer: core; reads through base/csv.h.
 */
#ifndef CW_CORE_CONTACT_CSV_H
#define CW_CORE_CONTACT_CSV_H

#include <stdint.h>

#include "base/csv.h"
#include "store/store.h"

#define CONTACT_CSV_BATCH   200
#define CONTACT_CSV_COLUMNS 128

/* What an import did. */
struct contact_csv_report {
	long lines;   /* records after the header (blank ones are not counted) */
	long created; /* new contacts */
	long updated; /* existing contacts changed (or confirmed unchanged) */
	long failed;  /* records refused */
};

/* A refused record: its first line, the field ("phone", "fields.visits";
 * "" for the record as a whole) and a sentence without the value. */
typedef void (*contact_csv_error_fn)(void *ud, long line, const char *field, const char *message);
/* Progress after each batch: bytes of the input consumed so far. */
typedef void (*contact_csv_progress_fn)(void *ud, uint64_t bytes,
					const struct contact_csv_report *r);

struct contact_csv_opts {
	const char *org_id;
	const char *region;		     /* the organisation's default region ("IL") */
	const char *actor;		     /* for the audit log: "cli:import", "apikey:<id>" */
	const char *via;		     /* audit detail: "csv" */
	contact_csv_error_fn on_error;	     /* may be NULL */
	contact_csv_progress_fn on_progress; /* may be NULL */
	void *ud;
};

/* Imports every record of c. Returns 0 when the input was read to its end
 * (records may still have failed: r->failed); CW_EPARSE when the header is
 * unusable (reported through on_error with its line; nothing imported);
 * CW_EIO for a read error; or a store error that stopped the import (the
 * batches before it are stored). r is always filled. */
int contact_csv_import(struct store *st, struct csv *c, const struct contact_csv_opts *o,
		       struct contact_csv_report *r);

#endif
