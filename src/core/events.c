/*
 * events.c — event intake for journeys (see events.h).
 */
#include "core/events.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/phone.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/contact.h"
#include "core/org.h"
#include "base/banned.h"

__attribute__((format(printf, 4, 5))) static int eerr(struct events_error *e, const char *field,
						      const char *code, const char *fmt, ...)
{
	if (e) {
		snprintf(e->field, sizeof e->field, "%s", field ? field : "");
		snprintf(e->code, sizeof e->code, "%s", code);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof e->message, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static int type_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64 || !islower((unsigned char)s[0]) || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
		      s[i] == '.'))
			return 0;
	return 1;
}

int events_from_json(const json_t *body, struct event_in *in, struct events_error *err)
{
	memset(in, 0, sizeof *in);
	in->type = json_str(body, "type");
	if (!type_valid(in->type))
		return eerr(err, "type", "invalid_field",
			    "an event type: lower case words with dots (\"appointment.booked\")"),
		       CW_EINVAL;
	const json_t *id = json_object_get(body, "id");
	if (id && (!json_is_string(id) || json_string_length(id) == 0 ||
		   json_string_length(id) > EVENTS_EXTERNAL_ID_MAX))
		return eerr(err, "id", "invalid_field", "the sender's event id: 1 to %d bytes",
			    EVENTS_EXTERNAL_ID_MAX),
		       CW_EINVAL;
	in->external_id = json_string_value(id);
	in->contact_id = json_str(body, "contact_id");
	in->phone = json_str(body, "phone");
	in->contact = json_object_get(body, "contact");
	if (in->contact && !json_is_object(in->contact))
		return eerr(err, "contact", "invalid_field", "must be an object"), CW_EINVAL;
	if (!in->contact_id && !in->phone && !in->contact)
		return eerr(err, "contact_id", "invalid_field",
			    "name the contact: contact_id, phone, or contact {\"phone\",...}"),
		       CW_EINVAL;
	in->data = json_object_get(body, "data");
	if (in->data && !json_is_object(in->data))
		return eerr(err, "data", "invalid_field", "must be an object"), CW_EINVAL;
	const char *occ = json_str(body, "occurred_at");
	if (occ && time_parse_iso(occ, &in->occurred_at) != 0)
		return eerr(err, "occurred_at", "invalid_field", "must be an ISO-8601 time"),
		       CW_EINVAL;
	in->source = "api";
	return 0;
}

struct post_ctx {
	struct journey_engine *e;
	const struct event_in *in;
	struct events_error *err;
	char region[8];
	json_t *out;
	int result; /* a refusal that is not a store error */
};

struct idres {
	char id[ID_SIZE];
	char *result;
	int found;
};

static int idres_cb(void *ud, const struct store_row *row)
{
	struct idres *r = ud;
	snprintf(r->id, sizeof r->id, "%s", store_row_text(row, 0) ? store_row_text(row, 0) : "");
	const char *s = store_row_count(row) > 1 ? store_row_text(row, 1) : NULL;
	r->result = s ? xstrdup(s) : NULL;
	r->found = 1;
	return 1;
}

static int resolve_contact(struct post_ctx *c, struct store_tx *tx, char id[ID_SIZE])
{
	const struct event_in *in = c->in;
	int rc;
	if (in->contact_id) {
		int erased = -1;
		struct idres r = {.found = 0};
		struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT(in->contact_id)};
		rc = store_tx_query(tx, "journey.contact_live", a, 2, idres_cb, &r);
		free(r.result);
		if (rc < 0)
			return rc;
		erased = r.found ? strcmp(r.id, "0") != 0 : -1;
		if (erased != 0) {
			eerr(c->err, "contact_id", "not_found", "%s",
			     erased > 0 ? "the contact was erased" : "no such contact");
			c->result = CW_ENOTFOUND;
			return 0;
		}
		snprintf(id, ID_SIZE, "%s", in->contact_id);
		return 0;
	}
	if (in->contact) {
		struct contact_draft d;
		struct contact_error ce;
		contact_draft_init(&d);
		rc = contact_draft_from_json(&d, in->contact, c->region, 1, &ce);
		if (rc) {
			char f[112];
			snprintf(f, sizeof f, "contact.%s", ce.field);
			eerr(c->err, f, ce.code, "%s", ce.message);
			contact_draft_release(&d);
			c->result = rc;
			return 0;
		}
		struct contact_write w;
		rc = contact_upsert_tx(tx, in->org_id, &d, in->actor, "event", &w);
		contact_draft_release(&d);
		if (rc)
			return rc;
		snprintf(id, ID_SIZE, "%s", w.id);
		return 0;
	}
	struct phone_result p;
	if (phone_normalize(in->phone, c->region, &p) != 0) {
		eerr(c->err, "phone", "invalid_phone", "%s",
		     p.message ? p.message : "not a number");
		c->result = CW_EPHONE;
		return 0;
	}
	struct idres r = {.found = 0};
	struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT(p.e164)};
	rc = store_tx_query(tx, "contact.id_by_phone", a, 2, idres_cb, &r);
	free(r.result);
	if (rc < 0)
		return rc;
	if (!r.found) {
		eerr(c->err, "phone", "not_found",
		     "no contact has this phone; send \"contact\" to create one");
		c->result = CW_ENOTFOUND;
		return 0;
	}
	snprintf(id, ID_SIZE, "%s", r.id);
	return 0;
}

static int post_tx(struct store_tx *tx, void *ud)
{
	struct post_ctx *c = ud;
	const struct event_in *in = c->in;
	/* a retry of an event we have: its first answer */
	if (in->external_id) {
		struct idres r = {.found = 0};
		struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT(in->source),
					SV_TEXT(in->external_id)};
		int rc = store_tx_query(tx, "evt.by_external", a, 3, idres_cb, &r);
		if (rc < 0)
			return rc;
		if (r.found) {
			json_t *prev = r.result ? json_loads(r.result, 0, NULL) : NULL;
			free(r.result);
			c->out = prev ? prev : json_pack("{s:s}", "id", r.id);
			json_object_set_new(c->out, "duplicate", json_true());
			return 0;
		}
	}
	char contact_id[ID_SIZE] = "";
	int rc = resolve_contact(c, tx, contact_id);
	if (rc || c->result)
		return rc;
	json_t *event = in->data ? json_deep_copy(in->data) : json_object();
	json_object_set_new(event, "type", json_string(in->type));
	char eid[ID_SIZE];
	id_new(eid);
	if (!json_object_get(event, "event_id"))
		json_object_set_new(event, "event_id", json_string(eid));
	char *data = json_dumps(event, JSON_COMPACT);
	if (!data || strlen(data) > EVENTS_DATA_MAX) {
		free(data);
		json_decref(event);
		eerr(c->err, "data", "too_large", "the event's data is over %u bytes",
		     EVENTS_DATA_MAX);
		c->result = CW_ETOOBIG;
		return 0;
	}
	int64_t now = time_now_ms();
	struct store_val ins[] = {SV_TEXT(eid),
				  SV_TEXT(in->org_id),
				  SV_TEXT(in->type),
				  SV_TEXT(in->source),
				  SV_TEXT(in->external_id),
				  SV_TEXT(contact_id[0] ? contact_id : NULL),
				  SV_TEXT(data),
				  in->occurred_at ? SV_INT(in->occurred_at) : SV_NULL,
				  SV_INT(now)};
	rc = store_tx_exec(tx, "evt.insert", ins, 9, NULL);
	free(data);
	if (rc) {
		json_decref(event);
		return rc;
	}
	json_t *runs = json_array();
	if (contact_id[0])
		rc = journey_on_event_tx(c->e, tx, in->org_id, contact_id, in->type, event, runs);
	json_decref(event);
	if (rc) {
		json_decref(runs);
		return rc;
	}
	c->out = json_pack("{s:s, s:s, s:s*, s:b, s:o}", "id", eid, "type", in->type, "contact_id",
			   contact_id[0] ? contact_id : NULL, "duplicate", 0, "runs", runs);
	char *result = json_dumps(c->out, JSON_COMPACT);
	struct store_val sr[] = {SV_TEXT(eid), SV_TEXT(result)};
	rc = store_tx_exec(tx, "evt.set_result", sr, 2, NULL);
	free(result);
	return rc;
}

int events_post(struct journey_engine *e, const struct event_in *in, json_t **out,
		struct events_error *err)
{
	*out = NULL;
	struct post_ctx c = {.e = e, .in = in, .err = err};
	struct org_info org;
	if (org_get(journey_engine_store(e), in->org_id, &org) == 0)
		snprintf(c.region, sizeof c.region, "%s", org.region);
	int rc = store_tx(journey_engine_store(e), post_tx, &c);
	if (rc || c.result) {
		json_decref(c.out);
		return rc ? rc : c.result;
	}
	*out = c.out;
	return 0;
}

/* ---- amoCRM ---- */

struct secret_ctx {
	const char *org_id;
	const char *hash;
	const char *config;
};

static int secret_tx(struct store_tx *tx, void *ud)
{
	struct secret_ctx *c = ud;
	int64_t now = time_now_ms();
	struct store_val r[] = {SV_TEXT(c->org_id), SV_TEXT("amocrm"), SV_INT(now)};
	int rc = store_tx_exec(tx, "integration.revoke", r, 3, NULL);
	if (rc)
		return rc;
	struct store_val a[] = {SV_TEXT(c->hash), SV_TEXT(c->org_id), SV_TEXT("amocrm"),
				SV_TEXT(c->config), SV_INT(now)};
	return store_tx_exec(tx, "integration.insert", a, 5, NULL);
}

int events_amocrm_secret(struct journey_engine *e, const char *org_id, const json_t *config,
			 char secret[64])
{
	uint8_t raw[32];
	sec_random(raw, sizeof raw);
	/* URL-safe base64 without padding */
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < sizeof raw; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		if (i + 1 < sizeof raw)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < sizeof raw)
			v |= raw[i + 2];
		int chars = i + 2 < sizeof raw ? 4 : i + 1 < sizeof raw ? 3 : 2;
		for (int k = 0; k < chars; k++)
			secret[o++] = b64[(v >> (18 - 6 * k)) & 63];
	}
	secret[o] = '\0';
	char hash[65];
	sec_sha256_hex(secret, strlen(secret), hash);
	char *cfg = config ? json_dumps(config, JSON_COMPACT) : xstrdup("{}");
	struct secret_ctx c = {org_id, hash, cfg};
	int rc = store_tx(journey_engine_store(e), secret_tx, &c);
	free(cfg);
	return rc;
}

struct integ {
	char org_id[ID_SIZE];
	json_t *config;
	int found;
};

static int integ_cb(void *ud, const struct store_row *row)
{
	struct integ *g = ud;
	snprintf(g->org_id, sizeof g->org_id, "%s", store_row_text(row, 0));
	const char *c = store_row_text(row, 2);
	g->config = json_loads(c ? c : "{}", 0, NULL);
	g->found = 1;
	return 1;
}

/* Reads "leads[status][N][name]" for one lead N. */
static const char *lead_field(const json_t *form, const char *group, int n, const char *name)
{
	char k[96];
	snprintf(k, sizeof k, "leads[%s][%d][%s]", group, n, name);
	return json_str(form, k);
}

int events_amocrm(struct journey_engine *e, const char *secret, const json_t *form, json_t **out)
{
	*out = NULL;
	if (!secret || strlen(secret) < 20 || strlen(secret) > 200)
		return CW_EAUTH;
	char hash[65];
	sec_sha256_hex(secret, strlen(secret), hash);
	struct integ g = {.found = 0};
	struct store_val a[] = {SV_TEXT(hash)};
	int rc = store_query(journey_engine_store(e), "integration.by_hash", a, 1, integ_cb, &g);
	if (rc < 0)
		return rc;
	if (!g.found) {
		json_decref(g.config);
		return CW_EAUTH;
	}
	rc = 0;
	const char *lead_key = json_str_or(g.config, "lead_field", "amocrm_lead_id");
	const json_t *map = json_object_get(g.config, "status_map");
	json_t *events = json_array();
	/* amoCRM sends leads[status][...] on a status change, leads[add] and
	 * leads[update] too; a status change is what journeys wait for */
	const char *groups[] = {"status", "update", "add"};
	for (int gi = 0; gi < 3 && rc == 0; gi++) {
		for (int n = 0; n < 100 && rc == 0; n++) {
			const char *lead = lead_field(form, groups[gi], n, "id");
			if (!lead)
				break;
			const char *status = lead_field(form, groups[gi], n, "status_id");
			if (gi > 0 && !lead_field(form, groups[gi], n, "old_status_id"))
				continue; /* not a status change */
			const char *mapped = status ? json_str(map, status) : NULL;
			json_t *data = json_pack(
			    "{s:s, s:s*, s:s*, s:s*, s:s*, s:s*}", "lead_id", lead, "status_id",
			    status, "old_status_id",
			    lead_field(form, groups[gi], n, "old_status_id"), "pipeline_id",
			    lead_field(form, groups[gi], n, "pipeline_id"), "status",
			    mapped ? mapped : status, "account_id", json_str(form, "account[id]"));
			/* the contact whose lead field holds this lead id */
			struct idres r = {.found = 0};
			struct store_val la[] = {SV_TEXT(g.org_id), SV_TEXT(lead_key),
						 SV_TEXT(lead)};
			rc = store_query(journey_engine_store(e), "integration.lead_contact", la, 3,
					 idres_cb, &r);
			free(r.result);
			if (rc < 0) {
				json_decref(data);
				break;
			}
			rc = 0;
			char ext[160];
			const char *mod = lead_field(form, groups[gi], n, "last_modified");
			if (!mod)
				mod = lead_field(form, groups[gi], n, "updated_at");
			snprintf(ext, sizeof ext, "lead:%s:status:%s:%s", lead,
				 status ? status : "", mod ? mod : "");
			if (!r.found) {
				json_array_append_new(
				    events, json_pack("{s:s, s:s, s:s}", "lead_id", lead, "type",
						      "crm.status_changed", "result",
						      "no contact has this lead"));
				json_decref(data);
				continue;
			}
			struct event_in in = {.org_id = g.org_id,
					      .type = "crm.status_changed",
					      .source = "amocrm",
					      .external_id = ext,
					      .contact_id = r.id,
					      .data = data,
					      .actor = "integration:amocrm"};
			json_t *res = NULL;
			struct events_error err;
			rc = events_post(e, &in, &res, &err);
			json_decref(data);
			if (rc == 0)
				json_array_append_new(events, res);
			else if (rc == CW_ENOTFOUND || rc == CW_EINVAL)
				rc = 0;
		}
	}
	json_decref(g.config);
	if (rc) {
		json_decref(events);
		return rc;
	}
	*out = json_pack("{s:o}", "events", events);
	return 0;
}
