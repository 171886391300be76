/*
 * consent.c — consent records per purpose (see consent.h).
 */
#include "core/consent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/text.h"
#include "base/time.h"
#include "core/audit.h"
#include "base/banned.h"

const char *const consent_purposes[CONSENT_PURPOSES] = {"service", "reminders", "results",
							"surveys", "marketing"};
static const char *const statuses[] = {"granted", "refused", "withdrawn"};
static const char *const sources[] = {"paper", "web", "whatsapp", "api", "import"};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}

int consent_purpose_index(const char *purpose)
{
	return in_list(purpose, consent_purposes, CONSENT_PURPOSES);
}

int consent_status_valid(const char *status)
{
	return in_list(status, statuses, 3) >= 0;
}

int consent_source_valid(const char *source)
{
	return in_list(source, sources, 5) >= 0;
}

__attribute__((format(printf, 4, 5))) static int kerr(struct contact_error *e, const char *field,
						      const char *code, const char *fmt, ...)
{
	if (!e)
		return CW_EINVAL;
	snprintf(e->field, sizeof e->field, "%s", field);
	snprintf(e->code, sizeof e->code, "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return CW_EINVAL;
}

static int text_ok(const char *s, size_t max)
{
	if (!s)
		return 1;
	size_t n = strlen(s);
	if (n > max || !text_valid_utf8(s, n))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

int consent_check(const struct consent_input *in, int64_t now_ms, struct contact_error *err)
{
	if (!in)
		return CW_EINVAL;
	if (consent_purpose_index(in->purpose) < 0)
		return kerr(err, "purpose", "invalid_field",
			    "purpose must be service, reminders, results, surveys or marketing");
	if (!consent_status_valid(in->status))
		return kerr(err, "status", "invalid_field",
			    "status must be granted, refused or withdrawn");
	if (!consent_source_valid(in->source))
		return kerr(err, "source", "invalid_field",
			    "source must be paper, web, whatsapp, api or import");
	if (!text_ok(in->wording_version, CONSENT_WORDING_MAX) ||
	    (in->wording_version && !*in->wording_version))
		return kerr(err, "wording_version", "invalid_field",
			    "wording_version must be 1 to %d bytes of text", CONSENT_WORDING_MAX);
	if (!text_ok(in->evidence, CONSENT_EVIDENCE_MAX))
		return kerr(err, "evidence", "invalid_field",
			    "evidence must be at most %d bytes of text", CONSENT_EVIDENCE_MAX);
	if (in->at < 0 || in->at > now_ms + CONSENT_FUTURE_SKEW_MS)
		return kerr(err, "at", "invalid_field",
			    "at must not be in the future nor before 1970");
	return 0;
}

int consent_input_from_json(struct consent_input *in, const json_t *body, struct contact_error *err)
{
	static const char *const names[] = {"purpose",	       "status",   "source",
					    "wording_version", "evidence", "at"};
	memset(in, 0, sizeof *in);
	if (!json_is_object(body))
		return kerr(err, "body", "invalid_field", "the body must be an object");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const json_t *v = json_object_get(body, names[i]);
		if (v && !json_is_null(v) && !json_is_string(v))
			return kerr(err, names[i], "invalid_field", "%s must be a string",
				    names[i]);
	}
	in->purpose = json_string_value(json_object_get(body, "purpose"));
	in->status = json_string_value(json_object_get(body, "status"));
	in->source = json_string_value(json_object_get(body, "source"));
	in->wording_version = json_string_value(json_object_get(body, "wording_version"));
	in->evidence = json_string_value(json_object_get(body, "evidence"));
	const char *at = json_string_value(json_object_get(body, "at"));
	if (at && time_parse_iso(at, &in->at) != 0)
		return kerr(err, "at", "invalid_field",
			    "at must be an ISO-8601 time such as 2026-01-31T09:00:00Z");
	if (at && in->at == 0)
		in->at = 1; /* the epoch itself, not "now" */
	return consent_check(in, time_now_ms(), err);
}

int consent_record_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
		      const struct consent_input *in, const char *actor, int64_t *id)
{
	if (!tx || !org_id || !contact_id || !in || !actor)
		return CW_EINVAL;
	int64_t now = time_now_ms();
	int64_t at = in->at ? in->at : now;
	struct store_val a[] = {SV_TEXT(org_id),       SV_TEXT(contact_id),
				SV_TEXT(in->purpose),  SV_TEXT(in->status),
				SV_TEXT(in->source),   SV_TEXT(in->wording_version),
				SV_TEXT(in->evidence), SV_INT(at)};
	int rc = store_tx_exec(tx, "consent.insert", a, 8, NULL);
	if (rc)
		return rc;
	int64_t rid = store_tx_last_id(tx);
	if (id)
		*id = rid;
	char detail[48];
	snprintf(detail, sizeof detail, "%s via %s", in->status, in->source);
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = "consent.record",
				.subject = contact_id,
				.purpose = in->purpose,
				.outcome = "ok",
				.detail = detail,
				.at = now};
	return audit_record_tx(tx, &e);
}

struct live_row {
	int found;
	int erased;
};

/* contact.get: column 16 is erased_at */
static int live_cb(void *ud, const struct store_row *row)
{
	struct live_row *l = ud;
	l->found = 1;
	l->erased = !store_row_is_null(row, 16);
	return 1;
}

struct record_ctx {
	const char *org_id, *contact_id, *actor;
	const struct consent_input *in;
	int64_t id;
	struct contact_error *err;
};

static int record_fn(struct store_tx *tx, void *ud)
{
	struct record_ctx *c = ud;
	struct live_row l = {0, 0};
	struct store_val g[] = {SV_TEXT(c->org_id), SV_TEXT(c->contact_id)};
	int rc = store_tx_query(tx, "contact.get", g, 2, live_cb, &l);
	if (rc < 0)
		return rc;
	if (!l.found) {
		kerr(c->err, "id", "not_found", "no such contact");
		return CW_ENOTFOUND;
	}
	if (l.erased) {
		kerr(c->err, "id", "contact_erased",
		     "the contact was erased: no consent can be recorded for it");
		return CW_ECONFLICT;
	}
	return consent_record_tx(tx, c->org_id, c->contact_id, c->in, c->actor, &c->id);
}

struct one_rec {
	const char *contact_id;
	json_t *out;
};

static void rec_read(const struct store_row *row, struct consent_rec *r)
{
	r->id = store_row_int(row, 0);
	r->purpose = store_row_text(row, 1);
	r->status = store_row_text(row, 2);
	r->source = store_row_text(row, 3);
	r->wording_version = store_row_text(row, 4);
	r->evidence = store_row_text(row, 5);
	r->at = store_row_int(row, 6);
}

static int one_cb(void *ud, const struct store_row *row)
{
	struct one_rec *o = ud;
	struct consent_rec r;
	rec_read(row, &r);
	o->out = consent_rec_json(o->contact_id, &r);
	return 1;
}

int consent_record(struct store *st, const char *org_id, const char *contact_id,
		   const struct consent_input *in, const char *actor, json_t **out,
		   struct contact_error *err)
{
	if (out)
		*out = NULL;
	if (!st || !org_id || !contact_id || !actor)
		return CW_EINVAL;
	int rc = consent_check(in, time_now_ms(), err);
	if (rc)
		return rc;
	struct record_ctx c = {org_id, contact_id, actor, in, 0, err};
	rc = store_tx(st, record_fn, &c);
	if (rc || !out)
		return rc;
	struct one_rec o = {contact_id, NULL};
	struct store_val a[] = {SV_TEXT(org_id), SV_INT(c.id)};
	rc = store_query(st, "consent.get", a, 2, one_cb, &o);
	if (rc < 0)
		return rc;
	if (!o.out)
		return CW_EINTERNAL;
	*out = o.out;
	return 0;
}

struct list_ctx {
	consent_rec_fn fn;
	void *ud;
};

static int list_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *c = ud;
	struct consent_rec r;
	rec_read(row, &r);
	return c->fn(c->ud, &r);
}

int consent_list(struct store *st, const char *org_id, const char *contact_id, int current,
		 consent_rec_fn fn, void *ud)
{
	if (!st || !org_id || !contact_id || !fn)
		return CW_EINVAL;
	struct list_ctx c = {fn, ud};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	return store_query(st, current ? "consent.current" : "consent.list", a, 2, list_cb, &c);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *consent_rec_json(const char *contact_id, const struct consent_rec *r)
{
	char at[TIME_ISO_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "contact_id", jstr(contact_id));
	json_object_set_new(o, "purpose", jstr(r->purpose));
	json_object_set_new(o, "status", jstr(r->status));
	json_object_set_new(o, "source", jstr(r->source));
	json_object_set_new(o, "wording_version", jstr(r->wording_version));
	json_object_set_new(o, "evidence", jstr(r->evidence));
	json_object_set_new(o, "at", json_string(time_format_iso(r->at, at)));
	return o;
}

struct state_ctx {
	const char *contact_id;
	json_t *current, *history;
};

static int current_cb(void *ud, const struct consent_rec *r)
{
	struct state_ctx *s = ud;
	if (r->purpose)
		json_object_set_new(s->current, r->purpose, consent_rec_json(s->contact_id, r));
	return 0;
}

static int history_cb(void *ud, const struct consent_rec *r)
{
	struct state_ctx *s = ud;
	json_array_append_new(s->history, consent_rec_json(s->contact_id, r));
	return 0;
}

json_t *consent_state_json(struct store *st, const char *org_id, const char *contact_id)
{
	struct state_ctx s = {contact_id, json_object(), json_array()};
	if (consent_list(st, org_id, contact_id, 1, current_cb, &s) < 0 ||
	    consent_list(st, org_id, contact_id, 0, history_cb, &s) < 0) {
		json_decref(s.current);
		json_decref(s.history);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new(o, "contact_id", json_string(contact_id));
	json_object_set_new(o, "current", s.current);
	json_object_set_new(o, "history", s.history);
	return o;
}

static int exists_cb(void *ud, const struct store_row *row)
{
	(void)row;
	*(int *)ud = 1;
	return 1;
}

int consent_read(struct store *st, const char *org_id, const char *contact_id, const char *actor,
		 json_t **out)
{
	*out = NULL;
	if (!st || !org_id || !contact_id || !actor)
		return CW_EINVAL;
	int found = 0;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	int rc = store_query(st, "contact.get", a, 2, exists_cb, &found);
	if (rc < 0)
		return rc;
	if (!found)
		return CW_ENOTFOUND;
	json_t *o = consent_state_json(st, org_id, contact_id);
	if (!o)
		return CW_EIO;
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = "consent.read",
				.subject = contact_id,
				.outcome = "ok"};
	rc = audit_record(st, &e);
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}
