/*
 * contact_csv.c — CSV import of contacts (see contact_csv.h).
 *
 * The header becomes a table of columns (what each one sets); each record
 * is turned into a draft through that table with core/contact.h's setters,
 * and valid drafts wait in a batch that is written in one transaction.
 */
#include "core/contact_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "core/consent.h"
#include "core/contact.h"
#include "base/banned.h"

enum col_kind { COL_BUILTIN, COL_FIELD, COL_CONSENT };

struct column {
	enum col_kind kind;
	const char *builtin;		     /* COL_BUILTIN: the setter's name (static) */
	char key[CONTACT_FIELD_KEY_MAX + 1]; /* COL_FIELD: the key; COL_CONSENT: the purpose */
	int type;			     /* COL_FIELD: enum contact_ftype or -1 */
};

static const struct {
	const char *header;
	const char *builtin;
} header_names[] = {
    {"phone", "phone"},
    {"name", "name"},
    {"language", "language"},
    {"time_zone", "time_zone"},
    {"timezone", "time_zone"},
    {"sex", "sex"},
    {"gender", "sex"},
    {"birth_date", "birth_date"},
    {"birthdate", "birth_date"},
    {"audience", "audience"},
    {"tags", "tags"},
};

struct pending {
	long line;
	struct contact_draft d;
};

struct import {
	struct store *st;
	const struct contact_csv_opts *o;
	struct contact_csv_report *r;
	struct column cols[CONTACT_CSV_COLUMNS];
	size_t ncols;
	struct pending batch[CONTACT_CSV_BATCH];
	size_t nbatch;
	/* the batch's own counts, added to r only once it is stored */
	long created, updated;
};

static void report(struct import *im, long line, const char *field, const char *msg)
{
	if (im->o->on_error)
		im->o->on_error(im->o->ud, line, field ? field : "", msg);
}

/* ---- the header ---- */

static char *lower_trim(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char *out = xstrndup(s, n);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* Reads one header cell into col. Returns 0 or -1 with why filled. */
static int column_parse(const char *raw, struct column *col, char *why, size_t whysz)
{
	char *h = lower_trim(raw);
	int rc = -1;
	memset(col, 0, sizeof *col);
	col->type = -1;
	for (size_t i = 0; i < sizeof header_names / sizeof header_names[0]; i++) {
		if (strcmp(h, header_names[i].header) == 0) {
			col->kind = COL_BUILTIN;
			col->builtin = header_names[i].builtin;
			rc = 0;
			goto out;
		}
	}
	const char *key = NULL;
	if (strncmp(h, "fields.", 7) == 0)
		key = strchr(raw, '.') + 1; /* raw keeps the key's case */
	else if (strncmp(h, "field:", 6) == 0)
		key = strchr(raw, ':') + 1;
	if (key) {
		/* keys keep their case; the type suffix does not matter */
		char k[CONTACT_FIELD_KEY_MAX + 16];
		snprintf(k, sizeof k, "%s", key);
		size_t n = strlen(k);
		while (n && (k[n - 1] == ' ' || k[n - 1] == '\t'))
			k[--n] = '\0';
		char *colon = strchr(k, ':');
		if (colon) {
			*colon = '\0';
			col->type = contact_ftype_parse(colon + 1);
			if (col->type < 0) {
				snprintf(why, whysz,
					 "column \"%.60s\": the type must be text, number, date "
					 "or bool",
					 h);
				goto out;
			}
		}
		n = strlen(k);
		int ok = n > 0 && n <= CONTACT_FIELD_KEY_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
			     (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-';
		if (!ok) {
			snprintf(why, whysz,
				 "column \"%.60s\": a field key is 1 to %d letters, digits, _ or -",
				 h, CONTACT_FIELD_KEY_MAX);
			goto out;
		}
		col->kind = COL_FIELD;
		memcpy(col->key, k, n); /* n <= CONTACT_FIELD_KEY_MAX, checked above */
		col->key[n] = '\0';
		rc = 0;
		goto out;
	}
	if (strncmp(h, "consent.", 8) == 0) {
		int p = consent_purpose_index(h + 8);
		if (p < 0) {
			snprintf(why, whysz,
				 "column \"%.60s\": consent purposes are service, reminders, "
				 "results, surveys, marketing",
				 h);
			goto out;
		}
		col->kind = COL_CONSENT;
		snprintf(col->key, sizeof col->key, "%s", consent_purposes[p]);
		rc = 0;
		goto out;
	}
	snprintf(why, whysz,
		 "unknown column \"%.60s\" (known: phone, name, language, time_zone, sex, "
		 "birth_date, audience, tags, fields.<key>[:type], consent.<purpose>)",
		 h);
out:
	free(h);
	return rc;
}

static int same_column(const struct column *a, const struct column *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == COL_BUILTIN)
		return strcmp(a->builtin, b->builtin) == 0;
	return strcmp(a->key, b->key) == 0;
}

static int header_read(struct import *im, const struct csv_record *rec)
{
	char why[200];
	int have_phone = 0;
	if (rec->nfields > CONTACT_CSV_COLUMNS) {
		snprintf(why, sizeof why, "more than %d columns", CONTACT_CSV_COLUMNS);
		report(im, rec->line, "", why);
		return CW_EPARSE;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		struct column *col = &im->cols[i];
		if (column_parse(rec->fields[i], col, why, sizeof why) != 0) {
			report(im, rec->line, "", why);
			return CW_EPARSE;
		}
		for (size_t j = 0; j < i; j++) {
			if (same_column(&im->cols[j], col)) {
				snprintf(why, sizeof why, "column %zu repeats column %zu", i + 1,
					 j + 1);
				report(im, rec->line, "", why);
				return CW_EPARSE;
			}
		}
		if (col->kind == COL_BUILTIN && strcmp(col->builtin, "phone") == 0)
			have_phone = 1;
	}
	im->ncols = rec->nfields;
	if (!have_phone) {
		report(im, rec->line, "", "the header has no phone column");
		return CW_EPARSE;
	}
	return 0;
}

/* ---- records ---- */

static int blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t')
			return 0;
	return 1;
}

/* Fills d from rec. Returns 0, or -1 after reporting. */
static int record_read(struct import *im, const struct csv_record *rec, struct contact_draft *d)
{
	char msg[200];
	struct contact_error err;
	if (rec->nfields != im->ncols) {
		snprintf(msg, sizeof msg, "has %zu fields, the header has %zu", rec->nfields,
			 im->ncols);
		report(im, rec->line, "", msg);
		return -1;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		const struct column *col = &im->cols[i];
		const char *v = rec->fields[i];
		if (strlen(v) != rec->lens[i]) {
			report(im, rec->line, col->kind == COL_BUILTIN ? col->builtin : col->key,
			       "the value holds a NUL byte");
			return -1;
		}
		if (blank(v))
			continue;
		memset(&err, 0, sizeof err);
		int rc;
		switch (col->kind) {
		case COL_BUILTIN:
			rc = contact_draft_set(d, col->builtin, v, im->o->region, &err);
			break;
		case COL_FIELD:
			rc = contact_draft_set_field(d, col->key, col->type, v, &err);
			break;
		default:
			rc = contact_draft_set_consent(d, col->key, v, &err);
			break;
		}
		if (rc) {
			report(im, rec->line, err.field, err.message);
			return -1;
		}
	}
	if (!d->has_phone) {
		report(im, rec->line, "phone", "the phone number is empty");
		return -1;
	}
	return 0;
}

/* ---- writing ---- */

struct batch_ctx {
	struct import *im;
	size_t from, to;
};

static int batch_fn(struct store_tx *tx, void *ud)
{
	struct batch_ctx *b = ud;
	struct import *im = b->im;
	for (size_t i = b->from; i < b->to; i++) {
		struct contact_write w;
		int rc = contact_upsert_tx(tx, im->o->org_id, &im->batch[i].d, im->o->actor,
					   im->o->via ? im->o->via : "csv", &w);
		if (rc)
			return rc;
		if (w.created)
			im->created++;
		else
			im->updated++;
	}
	return 0;
}

static int flush(struct import *im, struct csv *c)
{
	int rc = 0;
	if (im->nbatch == 0)
		goto progress;
	im->created = im->updated = 0;
	struct batch_ctx b = {im, 0, im->nbatch};
	rc = store_tx(im->st, batch_fn, &b);
	if (rc == 0) {
		im->r->created += im->created;
		im->r->updated += im->updated;
	} else if (rc == CW_EINVAL || rc == CW_ECONFLICT || rc == CW_ETOOBIG) {
		/* one record's problem: find it, keep the rest */
		rc = 0;
		for (size_t i = 0; i < im->nbatch; i++) {
			im->created = im->updated = 0;
			struct batch_ctx one = {im, i, i + 1};
			int r1 = store_tx(im->st, batch_fn, &one);
			if (r1 == 0) {
				im->r->created += im->created;
				im->r->updated += im->updated;
				continue;
			}
			char msg[120];
			snprintf(msg, sizeof msg, "could not be stored: %s", cw_strerror(r1));
			report(im, im->batch[i].line, "", msg);
			im->r->failed++;
		}
	}
	for (size_t i = 0; i < im->nbatch; i++)
		contact_draft_release(&im->batch[i].d);
	im->nbatch = 0;
progress:
	if (im->o->on_progress)
		im->o->on_progress(im->o->ud, csv_offset(c), im->r);
	return rc;
}

int contact_csv_import(struct store *st, struct csv *c, const struct contact_csv_opts *o,
		       struct contact_csv_report *r)
{
	if (!r)
		return CW_EINVAL;
	memset(r, 0, sizeof *r);
	if (!st || !c || !o || !o->org_id || !o->actor)
		return CW_EINVAL;
	struct import *im = xcalloc(1, sizeof *im);
	im->st = st;
	im->o = o;
	im->r = r;
	struct csv_record rec;
	struct csv_error e;
	int rc, have_header = 0;
	for (;;) {
		rc = csv_next(c, &rec, &e);
		if (rc == 0 || rc == CW_EIO)
			break;
		if (rc < 0) {
			report(im, e.line, "", e.message);
			if (!have_header) {
				rc = CW_EPARSE;
				break;
			}
			r->lines++;
			r->failed++;
			continue;
		}
		if (!have_header) {
			rc = header_read(im, &rec);
			if (rc)
				break;
			have_header = 1;
			continue;
		}
		int all_blank = 1;
		for (size_t i = 0; i < rec.nfields && all_blank; i++)
			all_blank = blank(rec.fields[i]);
		if (all_blank)
			continue;
		r->lines++;
		struct pending *p = &im->batch[im->nbatch];
		contact_draft_init(&p->d);
		p->line = rec.line;
		if (record_read(im, &rec, &p->d) != 0) {
			contact_draft_release(&p->d);
			r->failed++;
			continue;
		}
		im->nbatch++;
		if (im->nbatch == CONTACT_CSV_BATCH) {
			rc = flush(im, c);
			if (rc)
				break;
		}
	}
	if (rc == 0 || rc == CW_EIO) {
		int frc = flush(im, c);
		if (rc == 0)
			rc = frc;
	} else {
		for (size_t i = 0; i < im->nbatch; i++)
			contact_draft_release(&im->batch[i].d);
	}
	if (rc == 0 && !have_header)
		report(im, 1, "", "the file is empty: a header row naming the columns is needed");
	if (rc == 0 && !have_header)
		rc = CW_EPARSE;
	log_info("import", "csv import: %ld records, %ld created, %ld updated, %ld failed",
		 r->lines, r->created, r->updated, r->failed);
	free(im);
	return rc;
}
