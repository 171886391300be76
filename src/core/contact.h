/*
 * contact.h — contacts: the people an organisation talks to.
 *
 * A contact is keyed by its phone number in E.164, normalised with the
 * organisation's region (base/phone.h: "052-123-4567" in an Israeli
 * organisation is +972521234567); the number as typed is kept in
 * raw_phone, and the wa_id Meta reports is stored when a webhook brings
 * it. Besides the number: name, language (a BCP 47 tag: "he", "ru",
 * "en-GB"), IANA time zone, sex, birth date, audience, tags, and typed
 * custom fields (text, number, date, bool) kept in two forms in step: the
 * contacts.fields JSON object (what the API returns) and the contact_fields
 * rows (what segments query).
 *
 * Writing goes in two steps. First a draft is filled and checked, with no
 * store involved: from the API's JSON (contact_draft_from_json) or field
 * by field from text (contact_draft_set, contact_draft_set_field: the CSV
 * and FHIR importers). Every value is validated and normalised there and
 * a bad one is reported with the field it came from, never guessed at.
 * Then the draft is written in ONE store transaction together with its
 * audit entry (contact_upsert / contact_upsert_tx), so a contact is stored
 * whole or not at all.
 *
 * Upsert semantics (POST /api/v1/contacts, imports): the phone finds the
 * live contact of the organisation, or a new one is made. A value that is
 * given replaces the stored one; one that is absent keeps it; "tags", when
 * given, replaces the whole set; "fields" is merged key by key (a key set
 * to null is removed).
 *
 * Erasure (contact_erase) keeps the row as a tombstone: the id, created_at
 * and erased_at. Every personal value is gone (see contact_erase). An
 * erased contact is never found by phone or wa_id again, so a person who
 * writes in later from the same number becomes a NEW contact with no
 * consents: erasure severs the link between the number and the person,
 * and a fresh relationship starts from nothing (docs/contacts.md).
 *
 * Audit: every function here that reads or changes a contact for a person
 * (the API, the CLI) takes the actor and writes an audit entry (core/audit.h);
 * contact_get() is the unaudited loader for internal use (policy inputs).
 *
 * Layer: core. Uses base (phone, time, json) and the store; knows no HTTP.
 */
#ifndef CW_CORE_CONTACT_H
#define CW_CORE_CONTACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/id.h"
#include "base/phone.h"
#include "core/segment.h"
#include "store/store.h"

#define CONTACT_NAME_MAX       200  /* bytes */
#define CONTACT_TAGS_MAX       100  /* tags of one contact */
#define CONTACT_TAG_MAX	       64   /* bytes of one tag */
#define CONTACT_FIELDS_MAX     100  /* custom fields in one request */
#define CONTACT_FIELD_KEY_MAX  64   /* bytes of a key: [A-Za-z0-9_-] */
#define CONTACT_FIELD_TEXT_MAX 1000 /* bytes of a text value */
#define CONTACT_LANG_MAX       16
#define CONTACT_ZONE_MAX       64
#define CONTACT_LIST_MAX       200   /* contacts per page of a listing */
#define CONTACT_EXPORT_MAX     50000 /* messages and decisions in one export */

/* Why an input was refused: field names what was wrong in the caller's
 * terms ("phone", "birth_date", "fields.visits", "tags"), code is the API
 * error code ("invalid_phone", "invalid_field", "conflict",
 * "contact_erased", "not_found"), message a sentence that never repeats the
 * value (it may be logged and shown). */
struct contact_error {
	char field[96];
	char code[32];
	char message[200];
};

enum contact_ftype { CONTACT_F_TEXT = 0, CONTACT_F_NUMBER, CONTACT_F_DATE, CONTACT_F_BOOL };

/* Parses "text", "number", "date", "bool"; -1 when unknown. */
int contact_ftype_parse(const char *s);
const char *contact_ftype_name(enum contact_ftype t);

/* One custom field to set or remove. */
struct contact_fieldval {
	char *key;
	int remove; /* a null value: remove the key */
	enum contact_ftype type;
	char *text; /* TEXT, DATE ("YYYY-MM-DD"), BOOL ("true"/"false") */
	double num; /* NUMBER */
};

/* What to write. NULL or unset members keep what is stored. Owned by the
 * draft; contact_draft_release() frees. */
struct contact_draft {
	int has_phone;
	char phone[PHONE_E164_MAX];
	char *raw_phone;
	char *name, *language, *time_zone, *sex, *birth_date, *audience;
	int has_tags;
	char **tags;
	size_t ntags;
	struct contact_fieldval *fields;
	size_t nfields;
	/* consents recorded with the contact (source "import"), by purpose
	 * index as in consent.h; NULL for none */
	const char *consents[5];
};

void contact_draft_init(struct contact_draft *d);
void contact_draft_release(struct contact_draft *d);

/* Fills d from a JSON object shaped as the API's request:
 * {"phone","name","language","time_zone","sex","birth_date","audience",
 *  "tags":[...],"fields":{"key": value | null | {"type":T,"value":V}}}.
 * A field's type is its JSON type (number, bool) or, for a string, date
 * when it is exactly a valid "YYYY-MM-DD" and text otherwise; the object
 * form names it explicitly. region is the organisation's default region
 * for national numbers. require_phone: refuse a draft without one (create).
 * Unknown members are ignored. Returns 0, CW_EPHONE or CW_EINVAL with err
 * filled (err may be NULL). */
int contact_draft_from_json(struct contact_draft *d, const json_t *in, const char *region,
			    int require_phone, struct contact_error *err);

/* Sets one built-in from text, validated as above: "phone" (normalised
 * with region), "name", "language", "time_zone", "sex", "birth_date",
 * "audience", "tags" (separated by ';' or '|'). Surrounding spaces are
 * trimmed. Returns 0, CW_EPHONE, CW_EINVAL (bad value, or unknown name:
 * err->field is then the name). */
int contact_draft_set(struct contact_draft *d, const char *name, const char *value,
		      const char *region, struct contact_error *err);

/* Sets custom field key from text. type < 0 infers it as for a JSON string
 * (date or text); otherwise the text must read as that type: a decimal
 * number, a "YYYY-MM-DD" date, or true/false/yes/no/1/0 for bool. */
int contact_draft_set_field(struct contact_draft *d, const char *key, int type, const char *value,
			    struct contact_error *err);

/* Records, with the contact, a consent for purpose with status (both as
 * consent.h names them; source "import"). Returns 0 or CW_EINVAL. */
int contact_draft_set_consent(struct contact_draft *d, const char *purpose, const char *status,
			      struct contact_error *err);

/* The outcome of a write. */
struct contact_write {
	char id[ID_SIZE];
	int created; /* 1: a new contact; 0: an existing one was updated */
};

/* Writes d (which must have a phone) as one upsert inside tx, with its
 * audit entry (action "contact.create" or "contact.update", detail via,
 * e.g. "api", "csv", "fhir"). Returns 0 or a store error. */
int contact_upsert_tx(struct store_tx *tx, const char *org_id, const struct contact_draft *d,
		      const char *actor, const char *via, struct contact_write *out);
/* The same in its own transaction. */
int contact_upsert(struct store *st, const char *org_id, const struct contact_draft *d,
		   const char *actor, const char *via, struct contact_write *out);

/* Changes the live contact id (PATCH): d's phone is optional. Returns 0,
 * CW_ENOTFOUND, CW_ECONFLICT (the contact was erased: err->code
 * "contact_erased"; or the new phone belongs to another contact:
 * err->field "phone"), or a store error. */
int contact_update(struct store *st, const char *org_id, const char *id,
		   const struct contact_draft *d, const char *actor, struct contact_error *err);

/* A stored contact, plain data owned by the struct (contact_release()). */
struct contact {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char *phone, *wa_id, *raw_phone, *name, *language, *time_zone, *sex, *birth_date, *audience;
	char *fields; /* the JSON object text */
	int64_t created_at, updated_at, last_seen, last_inbound, erased_at; /* 0: none */
	char **tags;
	size_t ntags;
};

/* Loads contact id of org_id with its tags, erased or not, WITHOUT an
 * audit entry (for internal use: policy inputs, exports that audit
 * themselves). Returns 0 or CW_ENOTFOUND. */
int contact_get(struct store *st, const char *org_id, const char *id, struct contact *out);
void contact_release(struct contact *c);

/* Returns a new JSON object in the API's shape: {"id","phone","wa_id",
 * "raw_phone","name","language","time_zone","sex","birth_date","audience",
 * "tags":[...],"fields":{...},"created_at","updated_at","last_seen",
 * "last_inbound","erased_at"}, times as ISO-8601 strings or null. */
json_t *contact_json(const struct contact *c);

/* contact_get + contact_json + an audit entry "contact.read". *out gets a
 * new reference. Returns 0 or CW_ENOTFOUND (audited as not_found too). */
int contact_read(struct store *st, const char *org_id, const char *id, const char *actor,
		 json_t **out);

/* Lists the live contacts of org_id that match query (a segment query,
 * core/segment.h; NULL or "" for all), in id order after after_id (NULL:
 * from the start), at most limit (1..CONTACT_LIST_MAX). *items gets a new
 * array of contact objects; next (ID_SIZE) the id to pass as after_id for
 * the next page, or "" when this was the last. Each contact returned is
 * audited ("contact.list"). Returns 0, CW_EPARSE with *qerr filled (a bad
 * query: "col N: ..."; qerr may be NULL), or another error. */
int contact_list(struct store *st, const char *org_id, const char *query, const char *after_id,
		 int limit, const char *actor, json_t **items, char next[ID_SIZE],
		 struct segment_error *qerr);

/* Erases contact id: name, phone, wa_id, raw phone, language, zone, sex,
 * birth date, audience, fields and tags are removed; its messages lose
 * their bodies (payloads), its queued outbox messages are cancelled and
 * emptied, its consent records lose their evidence text (their purpose,
 * status, source and time stay, as the record of what was permitted), its
 * 24-hour windows go, and the raw webhook bodies already processed that
 * carry its wa_id are replaced. The row stays as a tombstone (id,
 * created_at, erased_at) and an audit entry "contact.erase" is written, all
 * in one transaction. *already is set when it had been erased before (no
 * change then). Returns 0 or CW_ENOTFOUND. */
int contact_erase(struct store *st, const char *org_id, const char *id, const char *actor,
		  int *already);

/* One of a contact's messages, borrowed: valid inside the callback. */
struct contact_message {
	const char *id, *direction, *wamid, *type, *payload, *status, *error_title;
	int64_t created_at, sent_at, delivered_at, read_at, failed_at, error_code;
};
typedef int (*contact_message_fn)(void *ud, const struct contact_message *m);
/* Calls fn for each message of the contact, oldest first (at most
 * CONTACT_EXPORT_MAX). Returns 0, an error, or fn's first non-zero. */
int contact_messages(struct store *st, const char *org_id, const char *id, contact_message_fn fn,
		     void *ud);

/* Exports everything stored about one contact as a new JSON object:
 * {"contact":{...},"consents":{"current":{...},"history":[...]},
 *  "messages":[...],"decisions":[...],"exported_at":"..."}; audited as
 * "contact.export" (detail "json"). Returns 0 or CW_ENOTFOUND. */
int contact_export(struct store *st, const char *org_id, const char *id, const char *actor,
		   json_t **out);

/* Validators, exposed for the importers and tests. Each returns 1 when the
 * value is acceptable. contact_language_norm() writes the normalised tag
 * ("pt-br" -> "pt-BR", "iw" -> "he") into out (CONTACT_LANG_MAX). */
int contact_language_norm(const char *in, char out[CONTACT_LANG_MAX]);
int contact_birth_date_valid(const char *s, int64_t now_ms);
/* The canonical value for sex and audience (case-insensitive input;
 * "recovered_patient" is "recovered patient"), or NULL. Static strings. */
const char *contact_sex_canon(const char *s);
const char *contact_audience_canon(const char *s);

#endif
