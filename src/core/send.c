/*
 * send.c — the send path: inputs from the store, one policy decision,
 * the decision log, the outbox (see send.h and docs/internals/send.md).
 *
 * Everything runs inside the caller's write transaction, so the decision,
 * the outbox row and the tier count of one message are stored together or
 * not at all.
 */
#include "core/send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/orgconf.h"
#include "core/outbox.h"
#include "wa/msg.h"
#include "base/banned.h"

#define TIER_WINDOW_MS (24LL * 3600 * 1000)
/* Recipients are counted in buckets of 15 minutes; the 24 hours are summed
 * from the bucket that holds now - 24 h, so a recipient counts up to one
 * bucket longer than 24 h: the budget is never overspent, at worst freed
 * 15 minutes late. */
#define TIER_BUCKET_MS	     (15LL * 60 * 1000)
#define SOURCE_MAX	     16
#define TPL_NAME_MAX	     512
#define TPL_LANG_MAX	     16
#define RECHECK_PRODUCER_MAX (SEND_PRODUCER_MAX + 1)

/* ---- what policy is told about the contact, the number and the counters ---- */

struct inputs {
	const struct orgconf *conf;
	struct policy_contact contact;
	int found;
	char zone[64];
	char to[64]; /* the recipient: wa_id, else the phone's digits */
	char sources[POLICY_PURPOSE_COUNT][SOURCE_MAX];
	char number_id[ID_SIZE];
	char waba_id[64];
	int have_number;
	struct policy_counters counters;
};

static int contact_cb(void *ud, const struct store_row *row)
{
	struct inputs *in = ud;
	const char *phone = store_row_text(row, 1);
	const char *wa_id = store_row_text(row, 2);
	const char *zone = store_row_text(row, 3);
	in->found = 1;
	in->contact.erased = store_row_int(row, 0) != 0;
	in->to[0] = '\0';
	if (wa_id && *wa_id)
		snprintf(in->to, sizeof in->to, "%s", wa_id);
	else if (phone && phone[0] == '+' && phone[1])
		snprintf(in->to, sizeof in->to, "%s", phone + 1);
	/* The number was normalised to E.164 (or came from Meta as a wa_id)
	 * when the contact was stored; erasure clears both. */
	in->contact.phone_valid = in->to[0] != '\0';
	snprintf(in->zone, sizeof in->zone, "%s", zone ? zone : "");
	in->contact.zone = in->zone;
	in->contact.opted_out = store_row_int(row, 5) != 0;
	in->contact.marketing_stopped = store_row_int(row, 6) != 0;
	return 1;
}

static int consent_cb(void *ud, const struct store_row *row)
{
	struct inputs *in = ud;
	int p = policy_purpose_parse(store_row_text(row, 0));
	const char *status = store_row_text(row, 1);
	const char *source = store_row_text(row, 3);
	if (p < 0 || !status)
		return 0;
	struct policy_consent *c = &in->contact.consents[p];
	if (strcmp(status, "granted") == 0)
		c->status = POLICY_CONSENT_GRANTED;
	else if (strcmp(status, "refused") == 0)
		c->status = POLICY_CONSENT_REFUSED;
	else if (strcmp(status, "withdrawn") == 0)
		c->status = POLICY_CONSENT_WITHDRAWN;
	else
		return 0;
	c->at = store_row_int(row, 2);
	snprintf(in->sources[p], SOURCE_MAX, "%s", source ? source : "");
	c->source = in->sources[p][0] ? in->sources[p] : NULL;
	return 0;
}

static int number_cb(void *ud, const struct store_row *row)
{
	struct inputs *in = ud;
	const char *id = store_row_text(row, 0);
	const char *waba = store_row_text(row, 1);
	snprintf(in->number_id, sizeof in->number_id, "%s", id ? id : "");
	snprintf(in->waba_id, sizeof in->waba_id, "%s", waba ? waba : "");
	in->have_number = in->number_id[0] != '\0';
	return 1;
}

static int window_cb(void *ud, const struct store_row *row)
{
	struct inputs *in = ud;
	in->counters.window_expires_at = store_row_int(row, 2);
	return 1;
}

static int int_cb(void *ud, const struct store_row *row)
{
	int64_t *v = ud;
	*v = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
	return 1;
}

static int tx_int(struct store_tx *tx, const char *stmt, const struct store_val *a, size_t n,
		  int64_t *out)
{
	*out = 0;
	int rc = store_tx_query(tx, stmt, a, n, int_cb, out);
	return rc < 0 ? rc : 0;
}

/* Loads everything about the contact, the number and the counters for
 * purpose at now. The message itself is read later (message_info). */
static int load_inputs(struct store_tx *tx, const char *org_id, const char *contact_id,
		       const char *number_id, enum policy_purpose purpose, int64_t now,
		       struct inputs *in, const char **field)
{
	int rc = orgconf_get_tx(tx, org_id, &in->conf);
	if (rc) {
		*field = "org_id";
		return rc;
	}
	struct store_val c[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	rc = store_tx_query(tx, "send.contact", c, 2, contact_cb, in);
	if (rc < 0)
		return rc;
	if (!in->found) {
		*field = "contact_id";
		return CW_ENOTFOUND;
	}
	struct store_val cs[] = {SV_TEXT(contact_id)};
	rc = store_tx_query(tx, "send.consents", cs, 1, consent_cb, in);
	if (rc < 0)
		return rc;
	struct store_val n[] = {SV_TEXT(org_id), SV_TEXT(contact_id), SV_TEXT(number_id)};
	rc = store_tx_query(tx, "send.number", n, 3, number_cb, in);
	if (rc < 0)
		return rc;
	if (!in->have_number) {
		*field = "number_id";
		return CW_ENOTFOUND;
	}
	struct store_val w[] = {SV_TEXT(in->number_id), SV_TEXT(contact_id)};
	rc = store_tx_query(tx, "window.get", w, 2, window_cb, in);
	if (rc < 0)
		return rc;

	/* Counters, read only when the check that uses them can run. */
	const struct policy_org *o = &in->conf->policy;
	const struct policy_cap *cap = purpose == POLICY_MARKETING ? &o->marketing_cap
				       : purpose == POLICY_SURVEYS ? &o->survey_cap
								   : NULL;
	if (cap && cap->max > 0) {
		int64_t sent = 0;
		struct store_val a[] = {SV_TEXT(contact_id), SV_TEXT(policy_purpose_name(purpose)),
					SV_INT(now - cap->period_ms)};
		rc = tx_int(tx, "send.cap_count", a, 3, &sent);
		if (rc)
			return rc;
		if (purpose == POLICY_MARKETING)
			in->counters.marketing_sent_in_period = (int)sent;
		else
			in->counters.surveys_sent_in_period = (int)sent;
	}
	if (o->tier_limit > 0 && now >= in->counters.window_expires_at) {
		int64_t since = now - TIER_WINDOW_MS, v = 0;
		struct store_val a[] = {SV_TEXT(in->number_id), SV_TEXT(contact_id), SV_INT(since)};
		rc = tx_int(tx, "send.tier_counted", a, 3, &v);
		if (rc)
			return rc;
		in->counters.contact_already_counted_in_24h = v != 0;
		if (!v) {
			struct store_val b[] = {SV_TEXT(in->number_id),
						SV_INT(since / TIER_BUCKET_MS)};
			rc = tx_int(tx, "send.tier_count", b, 2, &in->counters.tier_recipients_24h);
			if (rc)
				return rc;
		}
		if (in->counters.tier_recipients_24h >= o->tier_limit) {
			struct store_val b[] = {SV_TEXT(in->number_id), SV_INT(since)};
			rc = tx_int(tx, "send.tier_oldest", b, 2, &v);
			if (rc)
				return rc;
			/* when the oldest recipient's bucket leaves the sum */
			in->counters.tier_oldest_expiry =
			    v ? (v / TIER_BUCKET_MS + 1) * TIER_BUCKET_MS + TIER_WINDOW_MS : 0;
		}
	}
	return 0;
}

/* ---- the message ---- */

static int put_text(struct buf *out, const char *s)
{
	if (!s || !*s)
		return 0;
	if (out->len && buf_putc(out, '\n'))
		return CW_ETOOBIG;
	return buf_puts(out, s) ? CW_ETOOBIG : 0;
}

static int put_member(struct buf *out, const json_t *obj, const char *key)
{
	return put_text(out, json_string_value(json_object_get(obj, key)));
}

/* A template parameter's visible text. */
static int put_param(struct buf *out, const json_t *p)
{
	int rc = put_member(out, p, "text");
	if (!rc)
		rc = put_member(out, json_object_get(p, "currency"), "fallback_value");
	if (!rc)
		rc = put_member(out, json_object_get(p, "date_time"), "fallback_value");
	if (!rc)
		rc = put_member(out, json_object_get(p, "document"), "filename");
	return rc;
}

static int put_interactive(struct buf *out, const json_t *ia)
{
	int rc = 0;
	size_t i, j;
	const json_t *v, *row;
	rc |= put_member(out, json_object_get(ia, "header"), "text");
	rc |= put_member(out, json_object_get(ia, "body"), "text");
	rc |= put_member(out, json_object_get(ia, "footer"), "text");
	const json_t *action = json_object_get(ia, "action");
	rc |= put_member(out, action, "button");
	json_array_foreach(json_object_get(action, "buttons"), i, v)
	{
		rc |= put_member(out, json_object_get(v, "reply"), "title");
		rc |= put_member(out, v, "title");
	}
	json_array_foreach(json_object_get(action, "sections"), i, v)
	{
		rc |= put_member(out, v, "title");
		json_array_foreach(json_object_get(v, "rows"), j, row)
		{
			rc |= put_member(out, row, "title");
			rc |= put_member(out, row, "description");
		}
	}
	rc |= put_member(out, json_object_get(action, "parameters"), "display_text");
	return rc ? CW_ETOOBIG : 0;
}

/* The registered template's own texts: header, body, footer, buttons. */
static int put_components(struct buf *out, const json_t *comps)
{
	int rc = 0;
	size_t i, j;
	const json_t *c, *b;
	json_array_foreach(comps, i, c)
	{
		rc |= put_member(out, c, "text");
		json_array_foreach(json_object_get(c, "buttons"), j, b)
		{
			rc |= put_member(out, b, "text");
		}
	}
	return rc ? CW_ETOOBIG : 0;
}

int send_message_text(const json_t *payload, const json_t *template_components, struct buf *out)
{
	static const char *const media[] = {"image", "video", "document", "audio", "sticker"};
	int rc = 0;
	size_t i, j;
	const json_t *c, *p;
	rc |= put_member(out, json_object_get(payload, "text"), "body");
	rc |= put_interactive(out, json_object_get(payload, "interactive"));
	for (size_t m = 0; m < sizeof media / sizeof media[0]; m++) {
		const json_t *o = json_object_get(payload, media[m]);
		rc |= put_member(out, o, "caption");
		rc |= put_member(out, o, "filename");
	}
	const json_t *loc = json_object_get(payload, "location");
	rc |= put_member(out, loc, "name");
	rc |= put_member(out, loc, "address");
	const json_t *tpl = json_object_get(payload, "template");
	json_array_foreach(json_object_get(tpl, "components"), i, c)
	{
		json_array_foreach(json_object_get(c, "parameters"), j, p)
		{
			rc |= put_param(out, p);
		}
	}
	if (template_components)
		rc |= put_components(out, template_components);
	return rc ? CW_ETOOBIG : 0;
}

struct tpl_row {
	int found;
	enum policy_template_status status;
	enum policy_template_category category;
	json_t *components;
};

static int tpl_cb(void *ud, const struct store_row *row)
{
	struct tpl_row *t = ud;
	t->found = 1;
	t->category = policy_template_category_parse(store_row_text(row, 6));
	t->status = policy_template_status_parse(store_row_text(row, 7));
	const char *comps = store_row_text(row, 10);
	t->components = comps ? json_loads(comps, 0, NULL) : NULL;
	return 1;
}

/* The template's status and category from the registry, in exactly the
 * language the message names: Meta matches the code exactly, so "en" is
 * not "en_US". */
static int load_template(struct store_tx *tx, const char *org_id, const char *waba_id,
			 const char *name, const char *lang, struct tpl_row *t)
{
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(waba_id[0] ? waba_id : NULL),
				SV_TEXT(name), SV_TEXT(lang)};
	int rc = store_tx_query(tx, "template.get", a, 4, tpl_cb, t);
	return rc < 0 ? rc : 0;
}

/* What policy is told about the message. */
struct msg_info {
	struct policy_message m;
	char name[TPL_NAME_MAX];
	char lang[TPL_LANG_MAX];
	struct buf text;
};

static int message_info(struct store_tx *tx, const struct inputs *in, const char *org_id,
			const struct send_request *rq, const json_t *payload, struct msg_info *mi)
{
	memset(&mi->m, 0, sizeof mi->m);
	mi->m.purpose = rq->purpose;
	mi->m.is_reply = rq->is_reply;
	mi->m.result_category = rq->result_category;
	mi->m.campaign_halted = rq->campaign_halted;
	mi->m.time_critical = rq->time_critical;
	buf_reset(&mi->text);
	const json_t *comps = NULL;
	struct tpl_row t = {.found = 0};
	const char *type = json_string_value(json_object_get(payload, "type"));
	if (type && strcmp(type, "template") == 0) {
		const json_t *tpl = json_object_get(payload, "template");
		const char *name = json_string_value(json_object_get(tpl, "name"));
		const char *lang =
		    json_string_value(json_object_get(json_object_get(tpl, "language"), "code"));
		snprintf(mi->name, sizeof mi->name, "%s", name ? name : "");
		snprintf(mi->lang, sizeof mi->lang, "%s", lang ? lang : "");
		mi->m.kind = POLICY_TEMPLATE;
		mi->m.tpl.name = mi->name;
		mi->m.tpl.language = mi->lang;
		if (name && lang) {
			int rc = load_template(tx, org_id, in->waba_id, name, lang, &t);
			if (rc)
				return rc;
		}
		mi->m.tpl.status = t.found ? t.status : POLICY_TPL_UNKNOWN;
		mi->m.tpl.category = t.found ? t.category : POLICY_CAT_UNKNOWN;
		comps = json_is_array(t.components) ? t.components : NULL;
	}
	/* A text too long to check whole is checked as far as it goes; the
	 * API limits (4096 characters a body) keep real messages far below. */
	(void)send_message_text(payload, comps, &mi->text);
	json_decref(t.components);
	mi->m.text = mi->text.data ? mi->text.data : "";
	return 0;
}

/* ---- storing ---- */

static int store_decision(struct store_tx *tx, const char *org_id, const char *contact_id,
			  const char *number_id, const char *message_id, const char *producer,
			  enum policy_purpose purpose, const char *idem_key,
			  const char *result_category, int flags, const struct policy_decision *d,
			  int64_t now, char id[ID_SIZE])
{
	id_new(id);
	struct store_val a[] = {
	    SV_TEXT(id),
	    SV_TEXT(org_id),
	    SV_TEXT(contact_id),
	    SV_TEXT(number_id),
	    SV_TEXT(message_id && *message_id ? message_id : NULL),
	    SV_TEXT(producer),
	    SV_TEXT(policy_purpose_name(purpose)),
	    SV_TEXT(policy_outcome_name(d->outcome)),
	    SV_TEXT(policy_reason_code(d->reason)),
	    SV_TEXT(d->message),
	    d->until > 0 ? SV_INT(d->until) : SV_NULL,
	    SV_TEXT(idem_key),
	    SV_TEXT(result_category && *result_category ? result_category : NULL),
	    SV_INT(flags),
	    SV_INT(now)};
	return store_tx_exec(tx, "decision.insert", a, 15, NULL);
}

/* An allowed business-initiated message spends the number's tier budget
 * for this contact for 24 hours. */
static int count_tier(struct store_tx *tx, const char *org_id, const struct inputs *in,
		      const char *contact_id, int flags, const struct policy_decision *d,
		      int64_t now)
{
	if (d->outcome != POLICY_ALLOW || !(flags & SEND_F_BUSINESS_INITIATED))
		return 0;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(in->number_id), SV_TEXT(contact_id),
				SV_INT(now)};
	int64_t counted = 0;
	int rc = store_tx_exec(tx, "send.tier_add", a, 4, &counted);
	if (rc || !counted)
		return rc;
	int64_t bucket = now / TIER_BUCKET_MS;
	struct store_val b[] = {SV_TEXT(in->number_id), SV_INT(bucket)};
	rc = store_tx_exec(tx, "send.tier_bump", b, 2, NULL);
	if (rc)
		return rc;
	/* Buckets older than two days are never summed again. */
	struct store_val c[] = {SV_TEXT(in->number_id), SV_INT(bucket - 2 * 96)};
	return store_tx_exec(tx, "send.tier_prune", c, 2, NULL);
}

struct stored {
	int found;
	struct send_decision_row row;
};

static void copy_col(char *dst, size_t n, const struct store_row *row, int col)
{
	const char *v = store_row_text(row, col);
	snprintf(dst, n, "%s", v ? v : "");
}

static void row_to_decision(const struct store_row *row, struct send_decision_row *d)
{
	copy_col(d->id, sizeof d->id, row, 0);
	copy_col(d->contact_id, sizeof d->contact_id, row, 2);
	copy_col(d->number_id, sizeof d->number_id, row, 3);
	copy_col(d->message_id, sizeof d->message_id, row, 4);
	copy_col(d->producer, sizeof d->producer, row, 5);
	copy_col(d->purpose, sizeof d->purpose, row, 6);
	copy_col(d->outcome, sizeof d->outcome, row, 7);
	copy_col(d->reason, sizeof d->reason, row, 8);
	copy_col(d->message, sizeof d->message, row, 9);
	d->until = store_row_is_null(row, 10) ? 0 : store_row_int(row, 10);
	copy_col(d->result_category, sizeof d->result_category, row, 12);
	d->flags = (int)store_row_int(row, 13);
	d->at = store_row_int(row, 14);
}

static int stored_cb(void *ud, const struct store_row *row)
{
	struct stored *s = ud;
	s->found = 1;
	row_to_decision(row, &s->row);
	return 1;
}

static void decision_from_row(const struct send_decision_row *r, struct policy_decision *d)
{
	memset(d, 0, sizeof *d);
	d->outcome = strcmp(r->outcome, "allow") == 0	? POLICY_ALLOW
		     : strcmp(r->outcome, "defer") == 0 ? POLICY_DEFER
							: POLICY_DENY;
	int reason = policy_reason_parse(r->reason);
	d->reason = reason < 0 ? POLICY_R_NONE : (enum policy_reason)reason;
	snprintf(d->message, sizeof d->message, "%s", r->message);
	d->until = r->until;
}

/* ---- submitting ---- */

/* The member of rq that is missing or wrong, or NULL when it is whole. */
static const char *request_problem(const struct send_request *rq)
{
	if (!rq->org_id || !*rq->org_id)
		return "org_id";
	if (!rq->contact_id || !*rq->contact_id)
		return "contact_id";
	if (!rq->producer || !*rq->producer || strlen(rq->producer) > SEND_PRODUCER_MAX)
		return "producer";
	if (!rq->idem_key || !*rq->idem_key || strlen(rq->idem_key) > OUTBOX_IDEM_MAX)
		return "idem_key";
	if ((unsigned)rq->purpose >= POLICY_PURPOSE_COUNT)
		return "purpose";
	if (!json_is_object(rq->payload))
		return "payload";
	if (rq->fallback && !json_is_object(rq->fallback))
		return "fallback";
	if (rq->result_category && strlen(rq->result_category) >= SEND_CATEGORY_MAX)
		return "result_category";
	return NULL;
}

/* Writes the decision to the audit log: ids, codes and names only. */
static int audit_decision(struct store_tx *tx, const char *org_id, const char *contact_id,
			  const char *actor, const char *producer, enum policy_purpose purpose,
			  const char *message_id, const struct policy_decision *d, int64_t now)
{
	char who[AUDIT_ACTOR_MAX], detail[AUDIT_DETAIL_MAX];
	if (!actor) {
		snprintf(who, sizeof who, "system:%.50s", producer);
		actor = who;
	}
	snprintf(detail, sizeof detail, "reason=%s producer=%.120s message=%s",
		 policy_reason_code(d->reason), producer,
		 message_id && *message_id ? message_id : "-");
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = "message.decide",
				.subject = contact_id,
				.purpose = policy_purpose_name(purpose),
				.outcome = policy_outcome_name(d->outcome),
				.detail = detail,
				.at = now};
	return audit_record_tx(tx, &e);
}

/* A copy of body addressed to the contact (a shallow copy: the members are
 * shared, "to" is our own). NULL when body is not an object. */
static json_t *addressed(const json_t *body, const char *to)
{
	json_t *c = json_copy((json_t *)body);
	if (!c)
		return NULL;
	json_object_set_new(c, "to", json_string(to));
	if (!json_object_get(c, "messaging_product"))
		json_object_set_new(c, "messaging_product", json_string("whatsapp"));
	if (!json_object_get(c, "recipient_type"))
		json_object_set_new(c, "recipient_type", json_string("individual"));
	return c;
}

static int decide(struct store_tx *tx, const struct inputs *in, const struct send_request *rq,
		  const json_t *payload, int64_t now, struct msg_info *mi,
		  struct policy_decision *d)
{
	int rc = message_info(tx, in, rq->org_id, rq, payload, mi);
	if (rc)
		return rc;
	struct policy_input pin = {.contact = &in->contact,
				   .msg = &mi->m,
				   .org = &in->conf->policy,
				   .counters = &in->counters};
	policy_decide(&pin, now, d);
	return 0;
}

int send_submit_tx(struct store_tx *tx, const struct send_request *rq, int64_t now_ms,
		   struct send_result *out)
{
	struct inputs in;
	struct msg_info mi;
	json_t *body = NULL, *fallback = NULL;
	int rc;
	memset(out, 0, sizeof *out);
	memset(&in, 0, sizeof in);
	buf_init(&mi.text, SEND_TEXT_MAX);
	const char *field = NULL;
	if (!tx || !rq) {
		rc = CW_EINVAL;
		goto fail;
	}
	field = request_problem(rq);
	if (field) {
		rc = CW_EINVAL;
		goto fail;
	}

	/* The same key again is the same message: answer as the first time. */
	struct stored prev = {.found = 0};
	struct store_val k[] = {SV_TEXT(rq->org_id), SV_TEXT(rq->idem_key)};
	rc = store_tx_query(tx, "decision.by_idem", k, 2, stored_cb, &prev);
	if (rc < 0)
		goto fail;
	if (prev.found) {
		decision_from_row(&prev.row, &out->decision);
		snprintf(out->decision_id, sizeof out->decision_id, "%s", prev.row.id);
		snprintf(out->message_id, sizeof out->message_id, "%s", prev.row.message_id);
		out->duplicate = 1;
		rc = 0;
		goto fail;
	}

	rc = load_inputs(tx, rq->org_id, rq->contact_id, rq->number_id, rq->purpose, now_ms, &in,
			 &field);
	if (rc)
		goto fail;
	/* An erased contact has no number to address: the body gets an empty
	 * "to" only to be validated, and is never queued. */
	body = addressed(rq->payload, in.to[0] ? in.to : "0");
	fallback = rq->fallback ? addressed(rq->fallback, in.to[0] ? in.to : "0") : NULL;
	struct wa_msg_error we;
	if (!body || wa_msg_validate_json(body, &we) != 0) {
		field = "payload";
		rc = CW_EINVAL;
		goto fail;
	}
	if ((rq->fallback && !fallback) || (fallback && wa_msg_validate_json(fallback, &we) != 0)) {
		field = "fallback";
		rc = CW_EINVAL;
		goto fail;
	}

	rc = decide(tx, &in, rq, body, now_ms, &mi, &out->decision);
	if (rc)
		goto fail;
	const json_t *queued = body, *queued_fallback = fallback;
	if (out->decision.outcome == POLICY_DENY &&
	    out->decision.reason == POLICY_R_WINDOW_CLOSED && fallback) {
		/* The producer said what to send when the window is closed. */
		struct policy_decision fd;
		rc = decide(tx, &in, rq, fallback, now_ms, &mi, &fd);
		if (rc)
			goto fail;
		out->decision = fd;
		out->used_fallback = 1;
		queued = fallback;
		queued_fallback = NULL;
	}

	int window_open = now_ms < in.counters.window_expires_at;
	int flags = (rq->time_critical ? SEND_F_TIME_CRITICAL : 0) |
		    (rq->is_reply ? SEND_F_REPLY : 0) |
		    (window_open ? 0 : SEND_F_BUSINESS_INITIATED);
	if (out->decision.outcome != POLICY_DENY) {
		int prio = rq->priority;
		if (prio != OUTBOX_PRIO_TRANSACTIONAL && prio != OUTBOX_PRIO_BULK)
			prio = rq->purpose == POLICY_MARKETING || rq->purpose == POLICY_SURVEYS
				   ? OUTBOX_PRIO_BULK
				   : OUTBOX_PRIO_TRANSACTIONAL;
		struct outbox_item it = {
		    .org_id = rq->org_id,
		    .number_id = in.number_id,
		    .contact_id = rq->contact_id,
		    .idem_key = rq->idem_key,
		    .purpose = policy_purpose_name(rq->purpose),
		    .producer = rq->producer,
		    .priority = prio,
		    .payload = queued,
		    .fallback = queued_fallback,
		    .not_before = out->decision.outcome == POLICY_DEFER ? out->decision.until : 0,
		    .expires_at = rq->expires_at,
		    .deferred = out->decision.outcome == POLICY_DEFER,
		};
		int dup = 0;
		rc = outbox_enqueue_tx(tx, &it, out->message_id, &dup);
		if (rc)
			goto fail;
		if (dup)
			log_warn("send",
				 "idempotency key of %s was already queued without a decision",
				 rq->producer);
	}
	rc = count_tier(tx, rq->org_id, &in, rq->contact_id, flags, &out->decision, now_ms);
	if (rc)
		goto fail;
	rc = store_decision(tx, rq->org_id, rq->contact_id, in.number_id, out->message_id,
			    rq->producer, rq->purpose, rq->idem_key, rq->result_category, flags,
			    &out->decision, now_ms, out->decision_id);
	if (rc)
		goto fail;
	rc = audit_decision(tx, rq->org_id, rq->contact_id, rq->actor, rq->producer, rq->purpose,
			    out->message_id, &out->decision, now_ms);
fail:
	orgconf_put(in.conf);
	json_decref(body);
	json_decref(fallback);
	buf_release(&mi.text);
	if (rc) {
		struct send_result empty = {.duplicate = 0};
		*out = empty;
		out->field = field;
	}
	return rc;
}

struct submit_ctx {
	const struct send_request *rq;
	struct send_result *out;
	int64_t now;
};

static int submit_fn(struct store_tx *tx, void *ud)
{
	struct submit_ctx *c = ud;
	return send_submit_tx(tx, c->rq, c->now, c->out);
}

int send_submit(struct store *st, const struct send_request *rq, struct send_result *out)
{
	struct submit_ctx c = {.rq = rq, .out = out, .now = time_now_ms()};
	memset(out, 0, sizeof *out);
	return store_tx(st, submit_fn, &c);
}

/* ---- re-checking a deferred message ---- */

int send_recheck_tx(struct store_tx *tx, const char *org_id, const char *message_id,
		    const json_t *payload, int64_t now_ms, struct policy_decision *out)
{
	struct stored prev = {.found = 0};
	struct inputs in;
	struct msg_info mi;
	int rc;
	memset(&in, 0, sizeof in);
	buf_init(&mi.text, SEND_TEXT_MAX);
	memset(out, 0, sizeof *out);
	if (!org_id || !message_id || !json_is_object(payload)) {
		rc = CW_EINVAL;
		goto fail;
	}
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(message_id), SV_INT(1)};
	rc = store_tx_query(tx, "decision.by_message", a, 3, stored_cb, &prev);
	if (rc < 0)
		goto fail;
	if (!prev.found) {
		rc = CW_ENOTFOUND;
		goto fail;
	}
	int purpose = policy_purpose_parse(prev.row.purpose);
	if (purpose < 0) {
		rc = CW_EINTERNAL;
		goto fail;
	}
	struct send_request rq = {
	    .org_id = org_id,
	    .number_id = prev.row.number_id[0] ? prev.row.number_id : NULL,
	    .contact_id = prev.row.contact_id,
	    .purpose = (enum policy_purpose)purpose,
	    .payload = payload,
	    .result_category = prev.row.result_category[0] ? prev.row.result_category : NULL,
	    .producer = prev.row.producer,
	    .time_critical = (prev.row.flags & SEND_F_TIME_CRITICAL) != 0,
	    .is_reply = (prev.row.flags & SEND_F_REPLY) != 0,
	};
	const char *field = NULL;
	rc = load_inputs(tx, org_id, rq.contact_id, rq.number_id, rq.purpose, now_ms, &in, &field);
	if (rc)
		goto fail;
	rc = decide(tx, &in, &rq, payload, now_ms, &mi, out);
	if (rc)
		goto fail;
	int window_open = now_ms < in.counters.window_expires_at;
	int flags = (prev.row.flags & (SEND_F_TIME_CRITICAL | SEND_F_REPLY)) |
		    (window_open ? 0 : SEND_F_BUSINESS_INITIATED);
	rc = count_tier(tx, org_id, &in, rq.contact_id, flags, out, now_ms);
	if (rc)
		goto fail;
	char id[ID_SIZE];
	rc = store_decision(tx, org_id, rq.contact_id, in.number_id, message_id, rq.producer,
			    rq.purpose, NULL, rq.result_category, flags, out, now_ms, id);
	if (!rc)
		rc = audit_decision(tx, org_id, rq.contact_id, "system:dispatch", rq.producer,
				    rq.purpose, message_id, out, now_ms);
fail:
	orgconf_put(in.conf);
	buf_release(&mi.text);
	return rc;
}

/* ---- listing ---- */

struct list_ctx {
	int (*fn)(void *ud, const struct send_decision_row *d);
	void *ud;
};

static int list_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *c = ud;
	struct send_decision_row d;
	row_to_decision(row, &d);
	return c->fn(c->ud, &d);
}

int send_decisions_list(struct store *st, const char *org_id, const char *contact_id, int limit,
			int (*fn)(void *ud, const struct send_decision_row *d), void *ud)
{
	struct list_ctx c = {.fn = fn, .ud = ud};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id), SV_INT(limit)};
	int rc = store_query(st, "decision.list", a, 3, list_cb, &c);
	return rc < 0 ? rc : 0;
}

int send_decisions_for_message(struct store *st, const char *org_id, const char *message_id,
			       int limit, int (*fn)(void *ud, const struct send_decision_row *d),
			       void *ud)
{
	struct list_ctx c = {.fn = fn, .ud = ud};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(message_id), SV_INT(limit)};
	int rc = store_query(st, "decision.by_message", a, 3, list_cb, &c);
	return rc < 0 ? rc : 0;
}

/* ---- the timeline ---- */

static json_t *iso_or_null(const struct store_row *row, int col)
{
	char b[TIME_ISO_MAX];
	if (store_row_is_null(row, col))
		return json_null();
	return json_string(time_format_iso(store_row_int(row, col), b));
}

static json_t *text_or_null(const struct store_row *row, int col)
{
	const char *v = store_row_text(row, col);
	return v ? json_string(v) : json_null();
}

static int timeline_cb(void *ud, const struct store_row *row)
{
	json_t *items = ud;
	const char *payload = store_row_text(row, 4);
	json_t *body = payload ? json_loads(payload, 0, NULL) : NULL;
	json_t *err = json_null();
	if (!store_row_is_null(row, 8))
		err = json_pack("{s:I, s:o}", "code", (json_int_t)store_row_int(row, 8), "title",
				text_or_null(row, 9));
	json_t *m = json_object();
	json_object_set_new(m, "id", text_or_null(row, 0));
	json_object_set_new(m, "direction", text_or_null(row, 1));
	json_object_set_new(m, "type", text_or_null(row, 2));
	json_object_set_new(m, "status", text_or_null(row, 3));
	json_object_set_new(m, "at", iso_or_null(row, 6));
	json_object_set_new(m, "status_at", iso_or_null(row, 7));
	json_object_set_new(m, "wamid", text_or_null(row, 5));
	json_object_set_new(m, "payload", body ? body : json_null());
	json_object_set_new(m, "error", err ? err : json_null());
	json_array_append_new(items, m);
	return 0;
}

int send_timeline(struct store *st, const char *org_id, const char *contact_id, int limit,
		  json_t **items)
{
	*items = json_array();
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id), SV_INT(limit)};
	int rc = store_query(st, "message.timeline", a, 3, timeline_cb, *items);
	if (rc < 0) {
		json_decref(*items);
		*items = NULL;
		return rc;
	}
	return 0;
}
