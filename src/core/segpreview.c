/*
 * segpreview.c — a segment's count, sample and policy exclusions (see
 * segpreview.h).
 *
 * The exclusion query wraps the compiled segment condition: only SQL
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

/* One row of the preview query: part 0 is a count per reason, part 1 a
 * sample contact. */
static int row_cb(void *ud, const struct store_row *row)
{
	struct segpreview *p = ud;
	const char *v = store_row_text(row, 1);
	if (store_row_int(row, 0) == 0) {
		int64_t n = store_row_int(row, 2);
		int r = v ? policy_reason_parse(v) : -1;
		p->count += n;
		if (r <= 0)
			p->eligible += n;
		else
			p->excluded[r] += n;
		return 0;
	}
	if (p->nsample >= SEGPREVIEW_SAMPLE)
		return 0;
	struct segpreview_contact *c = &p->sample[p->nsample++];
	snprintf(c->id, sizeof c->id, "%s", v ? v : "");
	v = store_row_text(row, 3);
	snprintf(c->name, sizeof c->name, "%s", v ? v : "");
	v = store_row_text(row, 4);
	snprintf(c->language, sizeof c->language, "%s", v ? v : "");
	return 0;
}

static int sample_cmp(const void *a, const void *b)
{
	const struct segpreview_contact *x = a, *y = b;
	return strcmp(x->id, y->id);
}

/* "?N" for SQLite, "$N" for PostgreSQL. */
static int placeholder(struct buf *b, const char *dialect, size_t n)
{
	return buf_printf(b, "%c%zu", strcmp(dialect, "postgres") == 0 ? '$' : '?', n);
}

/* The preview as one statement over the condition s->where, so the segment
 * is evaluated once: it is materialised (ids, and whether a number is
 * left), then counted per reason and sampled (the first ids, with their
 * names from contacts). With a purpose the reasons are policy's
 * contact-level checks in policy's order: number, consent, opted out,
 * marketing stopped, frequency cap. Our values follow the segment's as
 * placeholders n+1 (purpose), n+2 (is marketing), n+3 (cap period start),
 * n+4 (cap). */
static int preview_sql(struct buf *b, const char *dialect, const struct segment_sql *s, int purpose,
		       int with_cap)
{
	size_t n = s->nargs;
	int rc = 0;
	rc |= buf_printf(b,
			 "WITH seg AS MATERIALIZED (SELECT c.id AS id, "
			 "(coalesce(c.phone, '') = '' AND coalesce(c.wa_id, '') = '') AS nonum "
			 "FROM contacts c WHERE %s) ",
			 s->where);
	if (purpose < 0) {
		rc |= buf_puts(b, "SELECT 0, 'none', count(*), NULL, NULL FROM seg ");
	} else {
		rc |= buf_puts(b, "SELECT 0, CASE WHEN seg.nonum THEN 'invalid_number' "
				  "WHEN cc.status IS NULL THEN 'no_consent' "
				  "WHEN cc.status = 'refused' THEN 'consent_refused' "
				  "WHEN cc.status = 'withdrawn' THEN 'consent_withdrawn' "
				  "WHEN cc.status <> 'granted' THEN 'no_consent' "
				  "WHEN coalesce(o.opted_out, 0) = 1 THEN 'opted_out' WHEN ");
		rc |= placeholder(b, dialect, n + 2);
		rc |= buf_puts(b, " = 1 AND coalesce(o.marketing_stopped, 0) = 1 "
				  "THEN 'marketing_stopped' ");
		if (with_cap) {
			rc |= buf_puts(b, "WHEN (SELECT count(*) FROM decisions d "
					  "WHERE d.contact_id = seg.id AND d.at > ");
			rc |= placeholder(b, dialect, n + 3);
			rc |= buf_puts(b, " AND d.purpose = ");
			rc |= placeholder(b, dialect, n + 1);
			rc |= buf_puts(b, " AND d.outcome = 'allow') >= ");
			rc |= placeholder(b, dialect, n + 4);
			rc |= buf_puts(b, " THEN 'frequency_cap' ");
		}
		rc |= buf_puts(b, "ELSE 'none' END, count(*), NULL, NULL FROM seg "
				  "LEFT JOIN consent_current cc ON cc.contact_id = seg.id "
				  "AND cc.purpose = ");
		rc |= placeholder(b, dialect, n + 1);
		rc |=
		    buf_puts(b, " LEFT JOIN contact_optout o ON o.contact_id = seg.id GROUP BY 2 ");
	}
	rc |= buf_printf(b,
			 "UNION ALL SELECT 1, s.id, 0, c.name, c.language FROM "
			 "(SELECT id FROM seg ORDER BY id LIMIT %d) s "
			 "JOIN contacts c ON c.id = s.id",
			 SEGPREVIEW_SAMPLE);
	return rc ? CW_ETOOBIG : 0;
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
	size_t nargs = s.nargs + (purpose < 0 ? 0 : with_cap ? 4 : 2);
	args = xcalloc(nargs ? nargs : 1, sizeof *args);
	if (s.nargs)
		memcpy(args, s.args, s.nargs * sizeof *args);
	if (purpose >= 0) {
		args[s.nargs] = SV_TEXT(policy_purpose_name((enum policy_purpose)purpose));
		args[s.nargs + 1] = SV_INT(purpose == POLICY_MARKETING);
	}
	if (purpose >= 0 && with_cap) {
		args[s.nargs + 2] = SV_INT(now - cap->period_ms);
		args[s.nargs + 3] = SV_INT(cap->max);
	}
	rc = store_query_sql(st, b.data, args, nargs, row_cb, out);
	if (rc > 0)
		rc = 0;
	qsort(out->sample, (size_t)out->nsample, sizeof out->sample[0], sample_cmp);
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
