/*
 * fhir.c — FHIR R4 Patient import and one contact's export (see fhir.h).
 *
 * Import maps a Patient onto the text setters of core/contact.h, then
 * renames the field of any error to the Patient element it came from, so
 * a report says "telecom: too short", not "phone: ...".
 */
#include "core/fhir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/consent.h"
#include "base/banned.h"

#define FHIR_NAME_MAX 400

/* contact field -> Patient element, for error messages */
static const struct {
	const char *contact, *fhir;
} element_of[] = {
    {"phone", "telecom"},
    {"name", "name"},
    {"sex", "gender"},
    {"birth_date", "birthDate"},
    {"language", "communication"},
    {"fields.fhir_id", "id"},
    {"fields.mrn", "identifier"},
};

static void rename_field(struct contact_error *err)
{
	if (!err)
		return;
	for (size_t i = 0; i < sizeof element_of / sizeof element_of[0]; i++) {
		if (strcmp(err->field, element_of[i].contact) == 0) {
			snprintf(err->field, sizeof err->field, "%s", element_of[i].fhir);
			return;
		}
	}
}

static int ferr(struct contact_error *err, int rc, const char *field, const char *msg)
{
	if (err) {
		snprintf(err->field, sizeof err->field, "%s", field);
		snprintf(err->code, sizeof err->code, "%s",
			 rc == CW_EPHONE ? "invalid_phone" : "invalid_field");
		snprintf(err->message, sizeof err->message, "%s", msg);
	}
	return rc;
}

/* ---- Patient -> draft ---- */

static int use_is(const json_t *o, const char *use)
{
	const char *u = json_string_value(json_object_get(o, "use"));
	return u && strcmp(u, use) == 0;
}

/* The telecom entry to use: a mobile phone, else any phone not "old". */
static const char *pick_phone(const json_t *telecom)
{
	size_t i;
	const json_t *t;
	const char *other = NULL;
	json_array_foreach(telecom, i, t)
	{
		const char *sys = json_string_value(json_object_get(t, "system"));
		const char *v = json_string_value(json_object_get(t, "value"));
		if (!sys || strcmp(sys, "phone") != 0 || !v || use_is(t, "old"))
			continue;
		if (use_is(t, "mobile"))
			return v;
		if (!other)
			other = v;
	}
	return other;
}

static const json_t *pick_name(const json_t *names)
{
	static const char *const order[] = {"official", "usual"};
	size_t i;
	const json_t *n;
	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(names, i, n)
		{
			if (use_is(n, order[k]))
				return n;
		}
	}
	return json_array_get(names, 0);
}

/* "Given Given Family" (or the text) into out. */
static void name_text(const json_t *n, struct buf *out)
{
	const char *text = json_string_value(json_object_get(n, "text"));
	if (text && *text) {
		buf_puts(out, text);
		return;
	}
	size_t i;
	const json_t *g;
	json_array_foreach(json_object_get(n, "given"), i, g)
	{
		if (!json_is_string(g))
			continue;
		if (out->len)
			buf_putc(out, ' ');
		buf_puts(out, json_string_value(g));
	}
	const char *family = json_string_value(json_object_get(n, "family"));
	if (family && *family) {
		if (out->len)
			buf_putc(out, ' ');
		buf_puts(out, family);
	}
}

static const char *pick_language(const json_t *comms)
{
	size_t i;
	const json_t *c, *first = NULL;
	json_array_foreach(comms, i, c)
	{
		if (!first)
			first = c;
		if (json_is_true(json_object_get(c, "preferred"))) {
			first = c;
			break;
		}
	}
	const json_t *lang = json_object_get(first, "language");
	const json_t *coding = json_array_get(json_object_get(lang, "coding"), 0);
	const char *code = json_string_value(json_object_get(coding, "code"));
	return code;
}

/* The medical record number: an identifier whose type has the v2 code MR. */
static const char *pick_mrn(const json_t *ids)
{
	size_t i, k;
	const json_t *id, *coding;
	json_array_foreach(ids, i, id)
	{
		json_array_foreach(json_object_get(json_object_get(id, "type"), "coding"), k,
				   coding)
		{
			const char *code = json_string_value(json_object_get(coding, "code"));
			if (code && strcmp(code, "MR") == 0)
				return json_string_value(json_object_get(id, "value"));
		}
	}
	return NULL;
}

int fhir_patient_draft(const json_t *p, const char *region, struct contact_draft *d,
		       struct contact_error *err)
{
	const char *rt = json_string_value(json_object_get(p, "resourceType"));
	if (!rt || strcmp(rt, "Patient") != 0)
		return ferr(err, CW_EINVAL, "resourceType", "not a Patient resource");
	const json_t *dec = json_object_get(p, "deceasedBoolean");
	if (json_is_true(dec) || json_object_get(p, "deceasedDateTime"))
		return ferr(err, CW_ECONFLICT, "deceased",
			    "the patient is deceased: not imported (review any existing contact)");
	const char *phone = pick_phone(json_object_get(p, "telecom"));
	if (!phone)
		return ferr(err, CW_EPHONE, "telecom", "the patient has no phone number");
	int rc = contact_draft_set(d, "phone", phone, region, err);
	if (rc)
		goto fail;
	const json_t *n = pick_name(json_object_get(p, "name"));
	if (n) {
		struct buf b;
		buf_init(&b, FHIR_NAME_MAX);
		name_text(n, &b);
		if (b.len)
			rc = contact_draft_set(d, "name", b.data, region, err);
		buf_release(&b);
		if (rc)
			goto fail;
	}
	const char *gender = json_string_value(json_object_get(p, "gender"));
	if (gender) {
		rc = contact_draft_set(d, "sex", gender, region, err);
		if (rc)
			goto fail;
	}
	const char *bd = json_string_value(json_object_get(p, "birthDate"));
	if (bd && strlen(bd) == 10) { /* YYYY and YYYY-MM are left out */
		rc = contact_draft_set(d, "birth_date", bd, region, err);
		if (rc)
			goto fail;
	}
	const char *lang = pick_language(json_object_get(p, "communication"));
	if (lang) {
		rc = contact_draft_set(d, "language", lang, region, err);
		if (rc)
			goto fail;
	}
	const char *fid = json_string_value(json_object_get(p, "id"));
	if (fid && *fid) {
		rc = contact_draft_set_field(d, "fhir_id", CONTACT_F_TEXT, fid, err);
		if (rc)
			goto fail;
	}
	const char *mrn = pick_mrn(json_object_get(p, "identifier"));
	if (mrn && *mrn) {
		rc = contact_draft_set_field(d, "mrn", CONTACT_F_TEXT, mrn, err);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	rename_field(err);
	return rc;
}

/* ---- import ---- */

static void report_error(struct fhir_report *r, long entry, const json_t *res,
			 const struct contact_error *err)
{
	if (json_array_size(r->errors) >= FHIR_ERRORS_MAX)
		return;
	char ref[120];
	const char *id = json_string_value(json_object_get(res, "id"));
	const char *rt = json_string_value(json_object_get(res, "resourceType"));
	snprintf(ref, sizeof ref, "%.40s/%.64s", rt ? rt : "?", id ? id : "?");
	json_t *e = json_object();
	if (entry >= 0)
		json_object_set_new(e, "entry", json_integer(entry));
	json_object_set_new(e, "resource", json_string(ref));
	json_object_set_new(e, "field", json_string(err->field));
	json_object_set_new(e, "message", json_string(err->message));
	json_array_append_new(r->errors, e);
}

static int import_patient(struct store *st, const char *org_id, const char *region, const json_t *p,
			  long entry, const char *actor, struct fhir_report *r)
{
	struct contact_draft d;
	struct contact_error err;
	memset(&err, 0, sizeof err);
	contact_draft_init(&d);
	r->patients++;
	int rc = fhir_patient_draft(p, region, &d, &err);
	if (rc) {
		r->failed++;
		report_error(r, entry, p, &err);
		contact_draft_release(&d);
		return 0;
	}
	struct contact_write w;
	rc = contact_upsert(st, org_id, &d, actor, "fhir", &w);
	contact_draft_release(&d);
	if (rc == 0) {
		if (w.created)
			r->created++;
		else
			r->updated++;
		return 0;
	}
	if (rc == CW_EINVAL || rc == CW_ECONFLICT || rc == CW_ETOOBIG) {
		r->failed++;
		snprintf(err.field, sizeof err.field, "%s", "");
		snprintf(err.message, sizeof err.message, "could not be stored: %s",
			 cw_strerror(rc));
		report_error(r, entry, p, &err);
		return 0;
	}
	return rc;
}

int fhir_import(struct store *st, const char *org_id, const char *region, const json_t *res,
		const char *actor, struct fhir_report *r)
{
	memset(r, 0, sizeof *r);
	r->errors = json_array();
	r->skipped_types = json_object();
	if (!st || !org_id || !actor || !json_is_object(res))
		return CW_EINVAL;
	const char *rt = json_string_value(json_object_get(res, "resourceType"));
	if (rt && strcmp(rt, "Patient") == 0)
		return import_patient(st, org_id, region, res, -1, actor, r);
	if (!rt || strcmp(rt, "Bundle") != 0)
		return CW_EINVAL;
	const json_t *entries = json_object_get(res, "entry");
	if (entries && !json_is_array(entries))
		return CW_EINVAL;
	if (json_array_size(entries) > FHIR_ENTRIES_MAX)
		return CW_ETOOBIG;
	size_t i;
	const json_t *e;
	json_array_foreach(entries, i, e)
	{
		const json_t *resource = json_object_get(e, "resource");
		const char *t = json_string_value(json_object_get(resource, "resourceType"));
		if (t && strcmp(t, "Patient") == 0) {
			int rc = import_patient(st, org_id, region, resource, (long)i, actor, r);
			if (rc)
				return rc;
			continue;
		}
		r->skipped++;
		char key[64];
		snprintf(key, sizeof key, "%s", t ? t : "(none)");
		json_t *n = json_object_get(r->skipped_types, key);
		json_object_set_new(r->skipped_types, key,
				    json_integer((n ? json_integer_value(n) : 0) + 1));
	}
	log_info("fhir",
		 "bundle import: %ld patients, %ld created, %ld updated, %ld failed, "
		 "%ld other resources skipped",
		 r->patients, r->created, r->updated, r->failed, r->skipped);
	return 0;
}

void fhir_report_release(struct fhir_report *r)
{
	if (!r)
		return;
	json_decref(r->errors);
	json_decref(r->skipped_types);
	r->errors = r->skipped_types = NULL;
}

json_t *fhir_report_json(const struct fhir_report *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "patients", json_integer(r->patients));
	json_object_set_new(o, "created", json_integer(r->created));
	json_object_set_new(o, "updated", json_integer(r->updated));
	json_object_set_new(o, "failed", json_integer(r->failed));
	json_object_set_new(o, "skipped", json_integer(r->skipped));
	json_object_set_new(o, "skipped_types",
			    r->skipped_types ? json_incref(r->skipped_types) : json_object());
	json_object_set_new(o, "errors", r->errors ? json_incref(r->errors) : json_array());
	return o;
}

/* ---- export ---- */

static json_t *coding(const char *system, const char *code, const char *display)
{
	json_t *c = json_pack("{s:s, s:s}", "system", system, "code", code);
	if (display)
		json_object_set_new(c, "display", json_string(display));
	return c;
}

static json_t *iso(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return json_string(time_format_iso(ms, b));
}

static int is_date(const char *s)
{
	if (strlen(s) != 10)
		return 0;
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

static json_t *patient_resource(const struct contact *c)
{
	json_t *p = json_object();
	json_object_set_new(p, "resourceType", json_string("Patient"));
	json_object_set_new(p, "id", json_string(c->id));
	json_object_set_new(p, "meta", json_pack("{s:o}", "lastUpdated", iso(c->updated_at)));
	json_object_set_new(p, "active", json_boolean(!c->erased_at));
	if (c->erased_at)
		return p; /* a tombstone: nothing personal is left to export */
	json_t *ext = json_array();
	if (c->time_zone)
		json_array_append_new(ext,
				      json_pack("{s:s, s:s}", "url",
						"http://hl7.org/fhir/StructureDefinition/timezone",
						"valueCode", c->time_zone));
	if (c->audience)
		json_array_append_new(ext, json_pack("{s:s, s:s}", "url", "urn:carewire:audience",
						     "valueString", c->audience));
	json_t *fields = c->fields ? json_loads(c->fields, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	json_object_foreach(fields, k, v)
	{
		char url[128];
		snprintf(url, sizeof url, "urn:carewire:field:%s", k);
		json_t *x = json_pack("{s:s}", "url", url);
		if (json_is_boolean(v))
			json_object_set(x, "valueBoolean", v);
		else if (json_is_number(v))
			json_object_set(x, "valueDecimal", v);
		else if (json_is_string(v))
			json_object_set(
			    x, is_date(json_string_value(v)) ? "valueDate" : "valueString", v);
		json_array_append_new(ext, x);
	}
	json_decref(fields);
	if (json_array_size(ext))
		json_object_set_new(p, "extension", ext);
	else
		json_decref(ext);
	if (c->ntags) {
		json_t *tags = json_array();
		for (size_t i = 0; i < c->ntags; i++)
			json_array_append_new(tags, coding("urn:carewire:tag", c->tags[i], NULL));
		json_object_set_new(json_object_get(p, "meta"), "tag", tags);
	}
	if (c->name)
		json_object_set_new(p, "name", json_pack("[{s:s}]", "text", c->name));
	if (c->phone)
		json_object_set_new(p, "telecom",
				    json_pack("[{s:s, s:s, s:s}]", "system", "phone", "value",
					      c->phone, "use", "mobile"));
	if (c->sex)
		json_object_set_new(p, "gender", json_string(c->sex));
	if (c->birth_date)
		json_object_set_new(p, "birthDate", json_string(c->birth_date));
	if (c->language)
		json_object_set_new(p, "communication",
				    json_pack("[{s:{s:[o]}, s:b}]", "language", "coding",
					      coding("urn:ietf:bcp:47", c->language, NULL),
					      "preferred", 1));
	return p;
}

struct bundle_ctx {
	const char *contact_id;
	json_t *entries;
	json_t *current; /* purpose -> current record id */
};

static void add_entry(struct bundle_ctx *b, json_t *resource)
{
	json_array_append_new(b->entries, json_pack("{s:o}", "resource", resource));
}

static int current_cb(void *ud, const struct consent_rec *r)
{
	struct bundle_ctx *b = ud;
	if (r->purpose)
		json_object_set_new(b->current, r->purpose, json_integer(r->id));
	return 0;
}

static int consent_cb(void *ud, const struct consent_rec *r)
{
	struct bundle_ctx *b = ud;
	const json_t *cur = json_object_get(b->current, r->purpose ? r->purpose : "");
	int is_current = cur && json_integer_value(cur) == r->id;
	int granted = r->status && strcmp(r->status, "granted") == 0;
	int refused = r->status && strcmp(r->status, "refused") == 0;
	const char *status = refused ? "rejected" : (granted && is_current) ? "active" : "inactive";
	char id[40], ref[64];
	snprintf(id, sizeof id, "consent-%lld", (long long)r->id);
	snprintf(ref, sizeof ref, "Patient/%s", b->contact_id);
	json_t *c = json_object();
	json_object_set_new(c, "resourceType", json_string("Consent"));
	json_object_set_new(c, "id", json_string(id));
	json_object_set_new(c, "status", json_string(status));
	json_object_set_new(c, "scope",
			    json_pack("{s:[o]}", "coding",
				      coding("http://terminology.hl7.org/CodeSystem/consentscope",
					     "patient-privacy", NULL)));
	json_object_set_new(c, "category",
			    json_pack("[{s:[o]}]", "coding",
				      coding("http://loinc.org", "59284-0", "Patient Consent")));
	json_object_set_new(c, "patient", json_pack("{s:s}", "reference", ref));
	json_object_set_new(c, "dateTime", iso(r->at));
	json_object_set_new(c, "policyRule",
			    json_pack("{s:[o]}", "coding",
				      coding("http://terminology.hl7.org/CodeSystem/v3-ActCode",
					     granted ? "OPTIN" : "OPTOUT", NULL)));
	json_object_set_new(
	    c, "provision",
	    json_pack("{s:s, s:[o]}", "type", granted ? "permit" : "deny", "purpose",
		      coding("urn:carewire:purpose", r->purpose ? r->purpose : "service", NULL)));
	json_t *ext = json_array();
	if (r->source)
		json_array_append_new(ext,
				      json_pack("{s:s, s:s}", "url", "urn:carewire:consent-source",
						"valueCode", r->source));
	if (r->wording_version)
		json_array_append_new(ext,
				      json_pack("{s:s, s:s}", "url", "urn:carewire:wording-version",
						"valueString", r->wording_version));
	json_object_set_new(c, "extension", ext);
	if (r->evidence)
		json_object_set_new(c, "sourceAttachment",
				    json_pack("{s:s}", "title", r->evidence));
	add_entry(b, c);
	return 0;
}

/* The words of a message for a person reading the export. */
static json_t *message_text(const char *payload, const char *type)
{
	json_t *p = payload ? json_loads(payload, 0, NULL) : NULL;
	const char *s = NULL;
	static const char *const paths[] = {
	    "text.body", "button.text", "interactive.button_reply.title",
	    "interactive.list_reply.title", "interactive.body.text"};
	for (size_t i = 0; p && !s && i < sizeof paths / sizeof paths[0]; i++)
		s = json_string_value(json_path(p, paths[i]));
	json_t *out;
	if (s) {
		out = json_string(s);
	} else {
		char b[160];
		const char *tpl = p ? json_string_value(json_path(p, "template.name")) : NULL;
		if (tpl)
			snprintf(b, sizeof b, "[template %.100s]", tpl);
		else
			snprintf(b, sizeof b, "[%.100s]", type ? type : "message");
		out = json_string(b);
	}
	json_decref(p);
	return out;
}

static int message_cb(void *ud, const struct contact_message *m)
{
	struct bundle_ctx *b = ud;
	char ref[64];
	snprintf(ref, sizeof ref, "Patient/%s", b->contact_id);
	int in = m->direction && strcmp(m->direction, "in") == 0;
	const char *status = "completed";
	if (m->failed_at || (m->status && strcmp(m->status, "failed") == 0))
		status = "not-done";
	else if (!in && !m->sent_at && !m->delivered_at && !m->read_at)
		status = "in-progress";
	json_t *c = json_object();
	json_object_set_new(c, "resourceType", json_string("Communication"));
	json_object_set_new(c, "id", json_string(m->id ? m->id : "unknown"));
	json_object_set_new(c, "status", json_string(status));
	if (m->wamid)
		json_object_set_new(
		    c, "identifier",
		    json_pack("[{s:s, s:s}]", "system", "urn:whatsapp:wamid", "value", m->wamid));
	json_object_set_new(
	    c, "medium",
	    json_pack("[{s:[o], s:s}]", "coding",
		      coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
			     "WRITTEN", "written"),
		      "text", "WhatsApp"));
	json_object_set_new(c, "subject", json_pack("{s:s}", "reference", ref));
	if (in)
		json_object_set_new(c, "sender", json_pack("{s:s}", "reference", ref));
	else
		json_object_set_new(c, "recipient", json_pack("[{s:s}]", "reference", ref));
	json_object_set_new(c, "sent", iso(m->sent_at ? m->sent_at : m->created_at));
	if (m->delivered_at)
		json_object_set_new(c, "received", iso(m->delivered_at));
	if (strcmp(status, "not-done") == 0 && m->error_title)
		json_object_set_new(c, "statusReason", json_pack("{s:s}", "text", m->error_title));
	if (m->payload) /* erased bodies stay erased */
		json_object_set_new(
		    c, "payload",
		    json_pack("[{s:o}]", "contentString", message_text(m->payload, m->type)));
	add_entry(b, c);
	return 0;
}

int fhir_export_contact(struct store *st, const char *org_id, const char *id, const char *actor,
			json_t **out)
{
	struct contact c;
	*out = NULL;
	if (!st || !org_id || !id || !actor)
		return CW_EINVAL;
	int rc = contact_get(st, org_id, id, &c);
	if (rc)
		return rc;
	struct bundle_ctx b = {id, json_array(), json_object()};
	add_entry(&b, patient_resource(&c));
	contact_release(&c);
	rc = consent_list(st, org_id, id, 1, current_cb, &b);
	if (rc >= 0)
		rc = consent_list(st, org_id, id, 0, consent_cb, &b);
	if (rc >= 0)
		rc = contact_messages(st, org_id, id, message_cb, &b);
	json_decref(b.current);
	if (rc < 0) {
		json_decref(b.entries);
		return rc;
	}
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = "contact.export",
				.subject = id,
				.outcome = "ok",
				.detail = "fhir"};
	rc = audit_record(st, &e);
	if (rc) {
		json_decref(b.entries);
		return rc;
	}
	json_t *bundle = json_object();
	json_object_set_new(bundle, "resourceType", json_string("Bundle"));
	json_object_set_new(bundle, "type", json_string("collection"));
	json_object_set_new(bundle, "timestamp", iso(time_now_ms()));
	json_object_set_new(bundle, "entry", b.entries);
	*out = bundle;
	return 0;
}
