/*
 * segpreview.c — a segment's count, sample and policy exclusions (see
 * segpreview.h).
 *
 * The preview query wraps the compiled segment condition: only SQL
 * structure is written here (fixed column names, reason codes and
 * operators); the segment's values and ours are all bound. The segment's
 * placeholders come first in the text and are numbered 1..n by the
 * compiler; ours follow as n+1, n+2, ... in both dialects.
 */
#include "core/segpreview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "core/audit.h"
#include "core/orgconf.h"
#include "base/banned.h"

#define SQL_MAX (64u * 1024)

/* What the preview query returns per contact of the segment: its id and,
 * with a purpose, the contact-level facts policy looks at. */
enum {
	COL_ID,
	COL_NONUM,     /* 1 when the contact has neither a phone nor a wa_id */
	COL_CONSENT,   /* consent_current.status for the purpose, or NULL */
	COL_OPTED_OUT, /* 0 or 1 */
	COL_MKT_STOP,  /* 1 when marketing is asked about and stopped */
	COL_CAP_COUNT, /* allowed decisions in the cap period, or NULL */
};

struct preview_ctx {
	struct segpreview *p;
	int64_t cap; /* the frequency cap, or 0 for none */
};

/* Keeps the SEGPREVIEW_SAMPLE smallest ids seen, sorted. */
static void sample_offer(struct segpreview *p, const char *id)
{
	int n = p->nsample;
	if (n == SEGPREVIEW_SAMPLE && strcmp(id, p->sample[n - 1].id) >= 0)
		return;
	int at = n < SEGPREVIEW_SAMPLE ? n : n - 1;
	while (at > 0 && strcmp(id, p->sample[at - 1].id) < 0) {
		p->sample[at] = p->sample[at - 1];
		at--;
	}
	memset(&p->sample[at], 0, sizeof p->sample[at]);
	snprintf(p->sample[at].id, sizeof p->sample[at].id, "%s", id);
	if (n < SEGPREVIEW_SAMPLE)
		p->nsample++;
}

/* The first contact-level reason that refuses, in policy_decide()'s order,
 * or POLICY_R_NONE. */
static int row_reason(const struct store_row *row, int64_t cap)
{
	if (store_row_int(row, COL_NONUM))
		return POLICY_R_INVALID_NUMBER;
	const char *st = store_row_text(row, COL_CONSENT);
	if (!st)
		return POLICY_R_NO_CONSENT;
	if (strcmp(st, "refused") == 0)
		return POLICY_R_CONSENT_REFUSED;
	if (strcmp(st, "withdrawn") == 0)
		return POLICY_R_CONSENT_WITHDRAWN;
	if (strcmp(st, "granted") != 0)
		return POLICY_R_NO_CONSENT;
	if (store_row_int(row, COL_OPTED_OUT))
		return POLICY_R_OPTED_OUT;
	if (store_row_int(row, COL_MKT_STOP))
		return POLICY_R_MARKETING_STOPPED;
	if (cap > 0 && store_row_int(row, COL_CAP_COUNT) >= cap)
		return POLICY_R_FREQUENCY_CAP;
	return POLICY_R_NONE;
}

static int row_cb(void *ud, const struct store_row *row)
{
	struct preview_ctx *c = ud;
	struct segpreview *p = c->p;
	const char *id = store_row_text(row, COL_ID);
	p->count++;
	if (id)
		sample_offer(p, id);
	if (p->purpose < 0)
		return 0;
	int r = row_reason(row, c->cap);
	if (r == POLICY_R_NONE)
		p->eligible++;
	else
		p->excluded[r]++;
	return 0;
}

static int sample_row_cb(void *ud, const struct store_row *row)
{
	struct segpreview *p = ud;
	const char *id = store_row_text(row, 0);
	for (int i = 0; id && i < p->nsample; i++) {
		struct segpreview_contact *c = &p->sample[i];
		if (strcmp(c->id, id) != 0)
			continue;
		const char *v = store_row_text(row, 1);
		snprintf(c->name, sizeof c->name, "%s", v ? v : "");
		v = store_row_text(row, 2);
		snprintf(c->language, sizeof c->language, "%s", v ? v : "");
	}
	return 0;
}

/* "?N" for SQLite, "$N" for PostgreSQL. */
static int placeholder(struct buf *b, const char *dialect, size_t n)
{
	return buf_printf(b, "%c%zu", strcmp(dialect, "postgres") == 0 ? '$' : '?', n);
}

/* The preview as one pass over the condition s->where: a row per matching
 * contact, counted and sampled as it streams by (no sort, no temporary
 * table). With a purpose each row carries what policy's contact-level
 * checks need, and row_reason() applies them in policy's order: number,
 * consent, opted out, marketing stopped, frequency cap. Our values follow
 * the segment's as placeholders n+1 (purpose), n+2 (is marketing), n+3
 * (organisation), n+4 (cap period start). Contacts without a number are
 * found through the small partial index contacts_nonum rather than by
 * reading every contact's row; consent and opt-out are probes by key; the
 * cap's count is only taken for a contact nothing else refuses. */
static int preview_sql(struct buf *b, const char *dialect, const struct segment_sql *s, int purpose,
		       int with_cap)
{
	size_t n = s->nargs;
	int rc = 0;
	if (purpose < 0)
		return buf_printf(b, "SELECT c.id FROM contacts c WHERE %s", s->where) ? CW_ETOOBIG
										       : 0;
	/* The segment's text comes first: its placeholders are numbered in
	 * order of appearance. The CTE is used once, so SQLite flattens it
	 * into the join: one scan, no temporary table. */
	rc |= buf_printf(b, "WITH seg AS (SELECT c.id AS id FROM contacts c WHERE %s) ", s->where);
	rc |=
	    buf_puts(b, "SELECT seg.id, seg.id IN (SELECT x.id FROM contacts x WHERE x.org_id = ");
	rc |= placeholder(b, dialect, n + 3);
	rc |= buf_puts(b, " AND x.erased_at IS NULL AND coalesce(x.phone, '') = '' AND "
			  "coalesce(x.wa_id, '') = ''), cc.status, coalesce(o.opted_out, 0), ");
	rc |= placeholder(b, dialect, n + 2);
	rc |= buf_puts(b, " = 1 AND coalesce(o.marketing_stopped, 0) = 1, ");
	if (with_cap) {
		rc |=
		    buf_puts(b, "CASE WHEN cc.status = 'granted' AND coalesce(o.opted_out, 0) = 0 "
				"THEN (SELECT count(*) FROM decisions d "
				"WHERE d.contact_id = seg.id AND d.at > ");
		rc |= placeholder(b, dialect, n + 4);
		rc |= buf_puts(b, " AND d.purpose = ");
		rc |= placeholder(b, dialect, n + 1);
		rc |= buf_puts(b, " AND d.outcome = 'allow') END ");
	} else {
		rc |= buf_puts(b, "NULL ");
	}
	rc |= buf_puts(b, "FROM seg LEFT JOIN consent_current cc ON cc.contact_id = seg.id "
			  "AND cc.purpose = ");
	rc |= placeholder(b, dialect, n + 1);
	rc |= buf_puts(b, " LEFT JOIN contact_optout o ON o.contact_id = seg.id");
	return rc ? CW_ETOOBIG : 0;
}

/* Names and languages of the sampled contacts. */
static int fetch_sample(struct store *st, const char *dialect, struct segpreview *p)
{
	if (p->nsample == 0)
		return 0;
	struct buf b;
	struct store_val args[SEGPREVIEW_SAMPLE];
	buf_init(&b, 1024);
	int rc = buf_puts(&b, "SELECT id, name, language FROM contacts WHERE id IN (");
	for (int i = 0; i < p->nsample; i++) {
		rc |= buf_puts(&b, i ? ", " : "");
		rc |= placeholder(&b, dialect, (size_t)i + 1);
		args[i] = SV_TEXT(p->sample[i].id);
	}
	rc |= buf_puts(&b, ")");
	if (rc == 0)
		rc = store_query_sql(st, b.data, args, (size_t)p->nsample, sample_row_cb, p);
	buf_release(&b);
	return rc > 0 ? 0 : rc;
}

static int run_preview(struct store *st, const char *dialect, const struct segment *seg,
		       const char *org_id, int64_t now, const struct orgconf *conf, int purpose,
		       struct segpreview *out)
{
	struct segment_sql s;
	struct buf b;
	struct store_val *args = NULL;
	buf_init(&b, SQL_MAX);
	int rc = segment_compile(seg, dialect, org_id, now, &s);
	if (rc)
		goto fail;
	const struct policy_cap *cap = purpose == POLICY_MARKETING ? &conf->policy.marketing_cap
				       : purpose == POLICY_SURVEYS ? &conf->policy.survey_cap
								   : NULL;
	int with_cap = cap && cap->max > 0;
	rc = preview_sql(&b, dialect, &s, purpose, with_cap);
	if (rc)
		goto fail;
	size_t nargs = s.nargs + (purpose < 0 ? 0 : with_cap ? 4 : 3);
	args = xcalloc(nargs ? nargs : 1, sizeof *args);
	if (s.nargs)
		memcpy(args, s.args, s.nargs * sizeof *args);
	if (purpose >= 0) {
		args[s.nargs] = SV_TEXT(policy_purpose_name((enum policy_purpose)purpose));
		args[s.nargs + 1] = SV_INT(purpose == POLICY_MARKETING);
		args[s.nargs + 2] = SV_TEXT(org_id);
	}
	if (purpose >= 0 && with_cap)
		args[s.nargs + 3] = SV_INT(now - cap->period_ms);
	struct preview_ctx ctx = {.p = out, .cap = with_cap ? cap->max : 0};
	rc = store_query_sql(st, b.data, args, nargs, row_cb, &ctx);
	if (rc > 0)
		rc = 0;
	if (rc == 0)
		rc = fetch_sample(st, dialect, out);
fail:
	free(args);
	buf_release(&b);
	segment_sql_release(&s);
	return rc;
}

int segpreview_run(struct store *st, const char *org_id, const char *query, int purpose,
		   int64_t now_ms, struct segpreview *out, struct segment_error *err)
{
	struct segment *seg = NULL;
	const struct orgconf *conf = NULL;
	memset(out, 0, sizeof *out);
	out->purpose = -1;
	if (!st || !org_id || !query || purpose >= POLICY_PURPOSE_COUNT)
		return CW_EINVAL;
	int rc = segment_parse(query, &seg, err);
	if (rc)
		return rc;
	rc = orgconf_get(st, org_id, &conf);
	if (rc)
		goto fail;
	out->purpose = purpose;
	rc = run_preview(st, store_dialect(st), seg, org_id, now_ms, conf, purpose, out);
fail:
	orgconf_put(conf);
	segment_free(seg);
	return rc;
}

json_t *segpreview_json(const struct segpreview *p)
{
	json_t *sample = json_array();
	for (int i = 0; i < p->nsample; i++) {
		const struct segpreview_contact *c = &p->sample[i];
		json_array_append_new(sample, json_pack("{s:s, s:s?, s:s?}", "id", c->id, "name",
							c->name[0] ? c->name : NULL, "language",
							c->language[0] ? c->language : NULL));
	}
	json_t *o = json_pack("{s:I, s:o}", "count", (json_int_t)p->count, "sample", sample);
	if (p->purpose >= 0) {
		json_t *ex = json_object();
		for (int r = 1; r < POLICY_R_COUNT; r++)
			if (p->excluded[r])
				json_object_set_new(ex, policy_reason_code((enum policy_reason)r),
						    json_integer(p->excluded[r]));
		json_object_set_new(o, "excluded", ex);
		json_object_set_new(
		    o, "purpose",
		    json_string(policy_purpose_name((enum policy_purpose)p->purpose)));
		json_object_set_new(o, "eligible", json_integer(p->eligible));
	}
	return o;
}

struct audit_ctx {
	const struct segpreview *p;
	const char *org_id;
	const char *actor;
};

static int audit_fn(struct store_tx *tx, void *ud)
{
	const struct audit_ctx *c = ud;
	const char *purpose =
	    c->p->purpose >= 0 ? policy_purpose_name((enum policy_purpose)c->p->purpose) : NULL;
	char detail[64];
	snprintf(detail, sizeof detail, "count=%lld", (long long)c->p->count);
	for (int i = 0; i < c->p->nsample || i == 0; i++) {
		struct audit_entry e = {.org_id = c->org_id,
					.actor = c->actor,
					.action = "segment.preview",
					.subject = c->p->nsample ? c->p->sample[i].id : NULL,
					.purpose = purpose,
					.outcome = "ok",
					.detail = detail};
		int rc = audit_record_tx(tx, &e);
		if (rc)
			return rc;
	}
	return 0;
}

int segpreview_audit(struct store *st, const char *org_id, const char *actor,
		     const struct segpreview *p)
{
	struct audit_ctx c = {.p = p, .org_id = org_id, .actor = actor};
	return store_tx(st, audit_fn, &c);
}
