/*
 * analytics.c — the managers' figures (see analytics.h and
 * docs/analytics.md). Every count is one named statement of
 * src/store/sqlite/stmts_analytics.c over an index of migration 0008; this
 * file cuts the period into the organisation's local days, names the
 * failure codes through the Cloud API error table (wa/errors.h) and groups
 * the unanswered texts by their folded form.
 *
 * The unanswered texts are patient data: they pass through here into the
 * caller's JSON and nowhere else (no log line carries them).
 */
#include "core/analytics.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/text.h"
#include "base/time.h"
#include "core/org.h"
#include "core/outbox.h"
#include "wa/errors.h"
#include "base/banned.h"

#define DAY_MS (24LL * 3600 * 1000)
/* The highest code point in UTF-8: "prefix" .. "prefix" PREFIX_HIGH spans
 * every producer that starts with prefix. */
#define PREFIX_HIGH "\xF4\x8F\xBF\xBF"
#define NO_CODE	    "No error code recorded"

/* ---- local days ---- */

/* The organisation's zone, "UTC" when it has none ICU knows. */
static int org_zone(struct store *st, const char *org_id, char *zone, size_t n)
{
	struct org_info org;
	int rc = org_get(st, org_id, &org);
	if (rc)
		return rc;
	snprintf(zone, n, "%s", time_zone_valid(org.zone) ? org.zone : "UTC");
	return 0;
}

/* The civil date k days before (y, m, d): timegm() normalises the day of
 * the month, so the calendar arithmetic is libc's. */
static void date_minus(int y, int m, int d, int k, int *oy, int *om, int *od)
{
	struct tm t = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d - k, .tm_hour = 12};
	time_t x = timegm(&t);
	struct tm u;
	gmtime_r(&x, &u);
	*oy = u.tm_year + 1900;
	*om = u.tm_mon + 1;
	*od = u.tm_mday;
}

/* Fills days[0..n) with the last n local days of zone up to the one that
 * holds now, oldest first. */
static int local_days(const char *zone, int n, int64_t now, struct analytics_day *days)
{
	struct time_local lt;
	int rc = time_to_local(now, zone, &lt);
	if (rc)
		return rc;
	for (int i = 0; i <= n; i++) {
		int y, m, d;
		int64_t at;
		date_minus(lt.year, lt.month, lt.day, n - 1 - i, &y, &m, &d);
		rc = time_from_local(zone, y, m, d, 0, 0, &at);
		if (rc)
			return rc;
		if (i < n) {
			memset(&days[i], 0, sizeof days[i]);
			snprintf(days[i].date, sizeof days[i].date, "%04u-%02u-%02u",
				 (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
			days[i].from = at;
		}
		if (i > 0)
			days[i - 1].to = at;
	}
	return 0;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- the overview ---- */

static int day_cb(void *ud, const struct store_row *row)
{
	struct analytics_day *d = ud;
	d->sent = store_row_int(row, 0);
	d->delivered = store_row_int(row, 1);
	d->read = store_row_int(row, 2);
	d->failed = store_row_int(row, 3);
	d->replied = store_row_int(row, 4);
	return 1;
}

static int optout_cb(void *ud, const struct store_row *row)
{
	((struct analytics_day *)ud)->opted_out = store_row_int(row, 0);
	return 1;
}

/* Names a failure code for people: carewire's table (wa/errors.c) when it
 * knows the code, else the title Meta sent with it. */
static void name_reason(struct analytics_reason *r, const char *meta_title)
{
	int code = r->code > INT_MAX || r->code < INT_MIN ? WA_ERR_CODE_UNKNOWN : (int)r->code;
	const struct wa_err_info *info = wa_err_lookup(code);
	/* The table's catch-all row says less than Meta's own title. */
	int known = info->code != WA_ERR_CODE_UNKNOWN || code == WA_ERR_CODE_UNKNOWN;
	const char *title = !known && meta_title && *meta_title ? meta_title : info->title;
	snprintf(r->title, sizeof r->title, "%s", title ? title : "");
	r->cls = wa_err_class_name(info->cls);
}

static int failure_cb(void *ud, const struct store_row *row)
{
	struct analytics_overview *o = ud;
	if (o->nreasons >= ANALYTICS_REASONS_MAX)
		return 1;
	struct analytics_reason *r = &o->reasons[o->nreasons++];
	memset(r, 0, sizeof *r);
	r->count = store_row_int(row, 2);
	if (store_row_is_null(row, 0)) {
		snprintf(r->title, sizeof r->title, "%s", NO_CODE);
		return 0;
	}
	r->has_code = 1;
	r->code = store_row_int(row, 0);
	name_reason(r, store_row_text(row, 1));
	return 0;
}

int analytics_overview(struct store *st, const char *org_id, int ndays, int64_t now,
		       struct analytics_overview *out)
{
	memset(out, 0, sizeof *out);
	if (!org_id)
		return CW_EINVAL;
	int rc = org_zone(st, org_id, out->zone, sizeof out->zone);
	if (rc)
		return rc;
	out->ndays = clamp(ndays, 1, ANALYTICS_DAYS_MAX);
	rc = local_days(out->zone, out->ndays, now, out->days);
	if (rc)
		return rc;
	for (int i = 0; i < out->ndays; i++) {
		struct analytics_day *d = &out->days[i];
		struct store_val a[] = {SV_TEXT(org_id), SV_INT(d->from), SV_INT(d->to)};
		rc = store_query(st, "analytics.day", a, 3, day_cb, d);
		if (rc >= 0)
			rc = store_query(st, "analytics.optouts", a, 3, optout_cb, d);
		if (rc < 0)
			return rc;
		out->sent += d->sent;
		out->delivered += d->delivered;
		out->read += d->read;
		out->failed += d->failed;
		out->replied += d->replied;
		out->opted_out += d->opted_out;
	}
	struct store_val f[] = {SV_TEXT(org_id), SV_INT(out->days[0].from),
				SV_INT(out->days[out->ndays - 1].to),
				SV_INT(ANALYTICS_REASONS_MAX)};
	rc = store_query(st, "analytics.failures", f, 4, failure_cb, out);
	if (rc < 0) {
		out->nreasons = 0;
		return rc;
	}
	return 0;
}

static double ratio(int64_t a, int64_t b)
{
	return b > 0 ? (double)a / (double)b : -1;
}

double analytics_open_rate(const struct analytics_overview *o)
{
	return ratio(o->read, o->delivered);
}

double analytics_engagement_rate(const struct analytics_overview *o)
{
	return ratio(o->replied, o->delivered);
}

double analytics_opt_out_rate(const struct analytics_overview *o)
{
	return ratio(o->opted_out, o->delivered);
}

static json_t *rate_json(double r)
{
	return r < 0 ? json_null() : json_real(r);
}

static json_t *counts_json(int64_t sent, int64_t delivered, int64_t read, int64_t failed,
			   int64_t replied, int64_t opted_out)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)sent, "delivered",
			 (json_int_t)delivered, "read", (json_int_t)read, "failed",
			 (json_int_t)failed, "replied", (json_int_t)replied, "opted_out",
			 (json_int_t)opted_out);
}

/* {"reason","title","class","count"}: reason is the code as text ("131026"),
 * "unknown" when none was recorded. */
static json_t *reason_json(int has_code, int64_t code, const char *title, const char *cls,
			   int64_t count)
{
	char reason[24];
	if (has_code)
		snprintf(reason, sizeof reason, "%lld", (long long)code);
	else
		snprintf(reason, sizeof reason, "unknown");
	return json_pack("{s:s, s:s, s:o, s:I}", "reason", reason, "title", title ? title : "",
			 "class", cls ? json_string(cls) : json_null(), "count", (json_int_t)count);
}

json_t *analytics_overview_json(const struct analytics_overview *o)
{
	json_t *days = json_array();
	for (int i = 0; i < o->ndays; i++) {
		const struct analytics_day *d = &o->days[i];
		json_t *j = counts_json(d->sent, d->delivered, d->read, d->failed, d->replied,
					d->opted_out);
		json_object_set_new(j, "date", json_string(d->date));
		json_array_append_new(days, j);
	}
	json_t *reasons = json_array();
	for (int i = 0; i < o->nreasons; i++) {
		const struct analytics_reason *r = &o->reasons[i];
		json_array_append_new(
		    reasons, reason_json(r->has_code, r->code, r->title, r->cls, r->count));
	}
	return json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "time_zone", o->zone, "days", days, "totals",
	    counts_json(o->sent, o->delivered, o->read, o->failed, o->replied, o->opted_out),
	    "open_rate", rate_json(analytics_open_rate(o)), "engagement_rate",
	    rate_json(analytics_engagement_rate(o)), "opt_out_rate",
	    rate_json(analytics_opt_out_rate(o)), "failures_by_reason", reasons);
}

/* ---- per producer ---- */

struct names {
	char **v;
	int n, max;
	int more; /* there were more than max */
};

static int name_cb(void *ud, const struct store_row *row)
{
	struct names *l = ud;
	const char *p = store_row_text(row, 0);
	if (!p)
		return 0;
	if (l->n >= l->max) {
		l->more = 1;
		return 1;
	}
	l->v[l->n++] = xstrdup(p);
	return 0;
}

static json_t *producer_json(const char *producer, const struct outbox_stats *s)
{
	json_t *fails = json_array();
	for (int i = 0; i < s->nfailures; i++) {
		/* outbox_stats() gives -1 for a failure without a code. */
		struct analytics_reason r = {.has_code = s->failures[i].code != -1,
					     .code = s->failures[i].code};
		if (r.has_code)
			name_reason(&r, s->failures[i].title);
		else
			snprintf(r.title, sizeof r.title, "%s", NO_CODE);
		json_array_append_new(
		    fails, reason_json(r.has_code, r.code, r.title, r.cls, s->failures[i].count));
	}
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "producer",
			      producer, "total", (json_int_t)s->total, "pending",
			      (json_int_t)s->pending, "sent", (json_int_t)s->sent, "delivered",
			      (json_int_t)s->delivered, "read", (json_int_t)s->read, "played",
			      (json_int_t)s->played, "failed", (json_int_t)s->failed, "cancelled",
			      (json_int_t)s->cancelled, "expired", (json_int_t)s->expired);
	json_object_set_new(o, "open_rate", rate_json(ratio(s->read, s->delivered)));
	json_object_set_new(o, "failures_by_reason", fails);
	return o;
}

int analytics_producers(struct store *st, const char *org_id, const char *prefix, int limit,
			json_t **out)
{
	*out = NULL;
	if (!org_id)
		return CW_EINVAL;
	if (!prefix)
		prefix = "";
	if (strlen(prefix) > ANALYTICS_PREFIX_MAX)
		return CW_EINVAL;
	limit = clamp(limit, 1, ANALYTICS_PRODUCERS_MAX);
	char hi[ANALYTICS_PREFIX_MAX + sizeof PREFIX_HIGH];
	snprintf(hi, sizeof hi, "%s%s", prefix, PREFIX_HIGH);
	struct names l = {.v = xcalloc((size_t)limit, sizeof(char *)), .max = limit};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(prefix), SV_TEXT(hi), SV_INT(limit + 1)};
	json_t *items = json_array();
	int rc = store_query(st, "analytics.producers", a, 4, name_cb, &l);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < l.n; i++) {
		struct outbox_stats s;
		rc = outbox_stats(st, org_id, l.v[i], 0, &s);
		if (rc < 0)
			goto fail;
		json_array_append_new(items, producer_json(l.v[i], &s));
	}
	*out = json_pack("{s:s, s:o, s:b}", "prefix", prefix, "items", items, "truncated", l.more);
	items = NULL;
	rc = 0;
fail:
	json_decref(items);
	for (int i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}

/* ---- unanswered questions ---- */

struct fold {
	char out[ANALYTICS_FOLD_MAX + 1];
	size_t len;
	int full;
};

static void fold_word(void *ud, const char *word, size_t len)
{
	struct fold *f = ud;
	if (f->full)
		return;
	size_t sep = f->len ? 1 : 0;
	size_t room = ANALYTICS_FOLD_MAX - f->len;
	if (sep + len > room) {
		/* Cut the word where a character starts. */
		size_t n = room > sep ? room - sep : 0;
		while (n > 0 && ((unsigned char)word[n] & 0xC0) == 0x80)
			n--;
		len = n;
		f->full = 1;
		if (len == 0)
			return;
	}
	if (sep)
		f->out[f->len++] = ' ';
	memcpy(f->out + f->len, word, len);
	f->len += len;
	f->out[f->len] = '\0';
}

char *analytics_fold(const char *text)
{
	char *folded = text_casefold(text);
	if (!folded)
		return NULL;
	struct fold *f = xcalloc(1, sizeof *f);
	int rc = text_words(folded, fold_word, f);
	free(folded);
	char *res = rc > 0 && f->len > 0 ? xstrdup(f->out) : NULL;
	free(f);
	return res;
}

struct question {
	char *text; /* folded */
	int64_t at;
};

struct group {
	const char *text; /* borrowed from a question */
	int64_t count, last_at;
};

struct scan {
	struct question *v;
	int n;
	int texts;     /* rows read (texts without words included) */
	int truncated; /* more rows than ANALYTICS_SCAN_MAX in the period */
};

static int question_cb(void *ud, const struct store_row *row)
{
	struct scan *s = ud;
	if (s->texts >= ANALYTICS_SCAN_MAX) {
		s->truncated = 1;
		return 1;
	}
	s->texts++;
	const char *body = store_row_text(row, 0);
	char *f = body ? analytics_fold(body) : NULL;
	if (!f)
		return 0; /* emoji only, or not text */
	s->v[s->n++] = (struct question){f, store_row_int(row, 1)};
	return 0;
}

static int by_text(const void *a, const void *b)
{
	const struct question *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	if (c)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->last_at != y->last_at)
		return x->last_at > y->last_at ? -1 : 1;
	return strcmp(x->text, y->text);
}

int analytics_unanswered(struct store *st, const char *org_id, int ndays, int limit, int64_t now,
			 json_t **out)
{
	*out = NULL;
	if (!org_id)
		return CW_EINVAL;
	char zone[64];
	int rc = org_zone(st, org_id, zone, sizeof zone);
	if (rc)
		return rc;
	ndays = clamp(ndays, 1, ANALYTICS_UNANSWERED_DAYS_MAX);
	limit = clamp(limit, 1, ANALYTICS_QUESTIONS_MAX);
	/* Only the first day's start matters: the period runs until now. */
	struct analytics_day *days = xcalloc((size_t)ndays, sizeof *days);
	rc = local_days(zone, ndays, now, days);
	int64_t from = days[0].from;
	free(days);
	if (rc)
		return rc;

	struct scan s = {.v = xcalloc(ANALYTICS_SCAN_MAX, sizeof(struct question))};
	struct group *g = NULL;
	struct store_val a[] = {SV_TEXT(org_id), SV_INT(from), SV_INT(now + 1),
				SV_INT(ANALYTICS_SCAN_MAX + 1)};
	rc = store_query(st, "analytics.unanswered", a, 4, question_cb, &s);
	if (rc < 0)
		goto fail;
	rc = 0;
	qsort(s.v, (size_t)s.n, sizeof s.v[0], by_text);
	g = xcalloc((size_t)s.n + 1, sizeof *g);
	int ng = 0;
	for (int i = 0; i < s.n; i++) {
		if (ng == 0 || strcmp(g[ng - 1].text, s.v[i].text) != 0)
			g[ng++] = (struct group){s.v[i].text, 0, 0};
		g[ng - 1].count++;
		if (s.v[i].at > g[ng - 1].last_at)
			g[ng - 1].last_at = s.v[i].at;
	}
	qsort(g, (size_t)ng, sizeof g[0], by_count);
	json_t *items = json_array();
	for (int i = 0; i < ng && i < limit; i++) {
		char iso[TIME_ISO_MAX];
		json_array_append_new(items, json_pack("{s:s, s:I, s:s}", "text", g[i].text,
						       "count", (json_int_t)g[i].count, "last_at",
						       time_format_iso(g[i].last_at, iso)));
	}
	char f_iso[TIME_ISO_MAX], u_iso[TIME_ISO_MAX];
	*out =
	    json_pack("{s:i, s:s, s:s, s:s, s:o, s:i, s:i, s:b}", "days", ndays, "time_zone", zone,
		      "from", time_format_iso(from, f_iso), "until", time_format_iso(now, u_iso),
		      "items", items, "groups", ng, "texts", s.texts, "truncated", s.truncated);
fail:
	for (int i = 0; i < s.n; i++)
		free(s.v[i].text);
	free(s.v);
	free(g);
	return rc;
}
