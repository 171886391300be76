/*
 * campaign.c — campaigns: preview, creation, the canary roll-out driven by
 * one timer per campaign, the quality guard, pause / resume / cancel, and
 * the live view (see campaign.h).
 */
#include "core/campaign.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/orgconf.h"
#include "core/outbox.h"
#include "core/segment.h"
#include "core/segpreview.h"
#include "base/banned.h"

#define EVERYONE_QUERY	   "created >= 1970-01-01"
#define DEFAULT_CANARY_PCT 5.0
#define DEFAULT_HOLD_MS	   (2 * 3600 * 1000LL)

struct campaigns {
	struct journey_engine *je;
	struct store *st;
	struct sched *sched;
};

static int on_timer(void *ud, struct store_tx *tx, const char *org_id, const char *ref,
		    int64_t due_at, int64_t now);

struct campaigns *campaigns_new(struct journey_engine *je)
{
	struct campaigns *c = xcalloc(1, sizeof *c);
	c->je = je;
	c->st = journey_engine_store(je);
	c->sched = journey_engine_sched(je);
	if (c->sched)
		sched_on(c->sched, CAMPAIGN_TIMER, on_timer, c);
	return c;
}

void campaigns_free(struct campaigns *c)
{
	free(c);
}

__attribute__((format(printf, 4, 5))) static int cerr(struct campaign_error *e, const char *field,
						      const char *code, const char *fmt, ...)
{
	if (!e)
		return 0;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	snprintf(e->code, sizeof e->code, "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return 0;
}

/* ---- the request ---- */

struct spec {
	const char *name;
	const char *journey; /* key, or NULL for a template campaign */
	const json_t *tpl;   /* "template" */
	int purpose;	     /* for a template campaign; the journey's otherwise */
	const char *segment; /* the query as given */
	const char *query;   /* what runs: segment, or EVERYONE_QUERY */
	int everyone;	     /* the segment says everyone */
	const json_t *vars;
	double canary_pct; /* 0..100; 100: no canary */
	int64_t hold_ms;
	double max_optout, max_failure, max_negative;
	int min_sample;
	int batch;
	int confirm_everyone, confirm_over_tier;
	int start;
};

static int num_field(const json_t *o, const char *k, double lo, double hi, double def, double *out,
		     struct campaign_error *err, const char *field)
{
	const json_t *v = json_object_get(o, k);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
		cerr(err, field, "invalid_field", "must be a number from %g to %g", lo, hi);
		return CW_EINVAL;
	}
	*out = json_number_value(v);
	return 0;
}

static int parse_spec(const json_t *req, struct spec *s, struct campaign_error *err)
{
	memset(s, 0, sizeof *s);
	if (!json_is_object(req))
		return cerr(err, "body", "invalid_json", "the body must be an object"), CW_EINVAL;
	s->name = json_str(req, "name");
	s->journey = json_str(req, "journey");
	s->tpl = json_object_get(req, "template");
	if (!!s->journey == !!s->tpl)
		return cerr(err, "journey", "invalid_field",
			    "give one of \"journey\" (a journey key) or \"template\""),
		       CW_EINVAL;
	if (s->tpl && (!json_is_object(s->tpl) || !json_str(s->tpl, "name")))
		return cerr(err, "template", "invalid_field",
			    "must be {\"name\",\"language\",\"params\"}"),
		       CW_EINVAL;
	s->purpose = -1;
	const char *pu = json_str(req, "purpose");
	if (pu) {
		s->purpose = policy_purpose_parse(pu);
		if (s->purpose < 0)
			return cerr(err, "purpose", "invalid_field",
				    "must be service, reminders, results, surveys or marketing"),
			       CW_EINVAL;
	}
	if (s->tpl && s->purpose < 0)
		return cerr(err, "purpose", "invalid_field", "a template campaign needs a purpose"),
		       CW_EINVAL;
	s->segment = json_str(req, "segment");
	if (!s->segment || !*s->segment)
		return cerr(err, "segment", "invalid_field",
			    "is required: a segment query, or \"*\" for everyone"),
		       CW_EINVAL;
	s->everyone = strcmp(s->segment, "*") == 0 || strcmp(s->segment, "everyone") == 0;
	s->query = s->everyone ? EVERYONE_QUERY : s->segment;
	s->vars = json_object_get(req, "vars");
	if (s->vars && !json_is_object(s->vars))
		return cerr(err, "vars", "invalid_field", "must be an object"), CW_EINVAL;
	if (!s->name)
		s->name = s->journey ? s->journey : json_str(s->tpl, "name");
	const json_t *canary = json_object_get(req, "canary");
	double hold_s = DEFAULT_HOLD_MS / 1000.0;
	s->canary_pct = DEFAULT_CANARY_PCT;
	if (json_is_false(canary)) {
		s->canary_pct = 100;
		hold_s = 0;
	} else if (canary) {
		if (!json_is_object(canary))
			return cerr(err, "canary", "invalid_field",
				    "must be {\"percent\",\"hold\"} or false"),
			       CW_EINVAL;
		if (num_field(canary, "percent", 0.01, 100, DEFAULT_CANARY_PCT, &s->canary_pct, err,
			      "canary.percent"))
			return CW_EINVAL;
		const char *hold = json_str(canary, "hold");
		if (hold) {
			int64_t ms;
			if (journey_duration(hold, &ms) || ms < 0)
				return cerr(err, "canary.hold", "invalid_field",
					    "must be an ISO-8601 duration (\"PT2H\")"),
				       CW_EINVAL;
			hold_s = (double)ms / 1000.0;
		}
	}
	s->hold_ms = (int64_t)(hold_s * 1000);
	const json_t *g = json_object_get(req, "guard");
	double ms = 20;
	if (num_field(g, "max_opt_out_rate", 0, 1, 0.02, &s->max_optout, err,
		      "guard.max_opt_out_rate") ||
	    num_field(g, "max_failure_rate", 0, 1, 0.05, &s->max_failure, err,
		      "guard.max_failure_rate") ||
	    num_field(g, "max_negative_rate", 0, 1, 0.05, &s->max_negative, err,
		      "guard.max_negative_rate") ||
	    num_field(g, "min_sample", 1, 1000000, 20, &ms, err, "guard.min_sample"))
		return CW_EINVAL;
	s->min_sample = (int)ms;
	double b;
	if (num_field(req, "batch", 1, CAMPAIGN_BATCH_MAX, CAMPAIGN_BATCH_DEFAULT, &b, err,
		      "batch"))
		return CW_EINVAL;
	s->batch = (int)b;
	const json_t *conf = json_object_get(req, "confirm");
	s->confirm_everyone = json_is_true(json_object_get(conf, "everyone")) || json_is_true(conf);
	s->confirm_over_tier =
	    json_is_true(json_object_get(conf, "over_tier")) || json_is_true(conf);
	const json_t *start = json_object_get(req, "start");
	s->start = start ? json_is_true(start) : 1;
	return 0;
}

static json_t *settings_json(const struct spec *s)
{
	return json_pack("{s:f, s:I, s:{s:f, s:f, s:f, s:i}, s:i, s:b}", "canary_percent",
			 s->canary_pct, "hold_ms", (json_int_t)s->hold_ms, "guard",
			 "max_opt_out_rate", s->max_optout, "max_failure_rate", s->max_failure,
			 "max_negative_rate", s->max_negative, "min_sample", s->min_sample, "batch",
			 s->batch, "everyone", s->everyone);
}

/* ---- pricing ---- */

/* Illustrative per-message prices in USD by template category and
 * recipient country (Meta's rate card changes; an organisation sets its own
 * in settings "pricing": {"currency":"USD","MARKETING":{"IL":0.0353,"*":0.05},
 * "UTILITY":{...},"AUTHENTICATION":{...},"SERVICE":{"*":0}}). */
struct price {
	const char *category, *country;
	double usd;
};
static const struct price default_prices[] = {
    {"MARKETING", "IL", 0.0353}, {"MARKETING", "RU", 0.0802},	   {"MARKETING", "KZ", 0.0802},
    {"MARKETING", "US", 0.0250}, {"MARKETING", "*", 0.0500},	   {"UTILITY", "IL", 0.0053},
    {"UTILITY", "RU", 0.0400},	 {"UTILITY", "KZ", 0.0400},	   {"UTILITY", "US", 0.0040},
    {"UTILITY", "*", 0.0100},	 {"AUTHENTICATION", "IL", 0.0053}, {"AUTHENTICATION", "*", 0.0100},
    {"SERVICE", "*", 0.0},
};

/* Calling code prefixes to countries, longest first where they overlap. */
struct cc {
	const char *prefix, *country;
};
static const struct cc calling_codes[] = {
    {"972", "IL"}, {"970", "PS"}, {"380", "UA"}, {"375", "BY"}, {"998", "UZ"},
    {"995", "GE"}, {"374", "AM"}, {"994", "AZ"}, {"996", "KG"}, {"992", "TJ"},
    {"373", "MD"}, {"371", "LV"}, {"370", "LT"}, {"372", "EE"}, {"77", "KZ"},
    {"44", "GB"},  {"49", "DE"},  {"33", "FR"},	 {"7", "RU"},	{"1", "US"},
};

static const char *country_of(const char *digits)
{
	for (size_t i = 0; digits && i < sizeof calling_codes / sizeof calling_codes[0]; i++)
		if (strncmp(digits, calling_codes[i].prefix, strlen(calling_codes[i].prefix)) == 0)
			return calling_codes[i].country;
	return "*";
}

static double price_of(const json_t *table, const char *category, const char *country,
		       const char **currency)
{
	const json_t *cat = json_object_get(table, category);
	if (json_is_object(cat)) {
		const json_t *v = json_object_get(cat, country);
		if (!v)
			v = json_object_get(cat, "*");
		if (json_is_number(v)) {
			*currency = json_str_or(table, "currency", "USD");
			return json_number_value(v);
		}
	}
	*currency = "USD";
	double star = 0;
	for (size_t i = 0; i < sizeof default_prices / sizeof default_prices[0]; i++) {
		if (strcmp(default_prices[i].category, category) != 0)
			continue;
		if (strcmp(default_prices[i].country, country) == 0)
			return default_prices[i].usd;
		if (strcmp(default_prices[i].country, "*") == 0)
			star = default_prices[i].usd;
	}
	return star;
}

static int settings_cb(void *ud, const struct store_row *row)
{
	json_t **out = ud;
	const char *s = store_row_text(row, 0);
	*out = s ? json_loads(s, 0, NULL) : NULL;
	return 1;
}

struct prefix_ctx {
	json_t *counts; /* {"IL": n} */
};

static int prefix_cb(void *ud, const struct store_row *row)
{
	struct prefix_ctx *p = ud;
	const char *country = country_of(store_row_text(row, 0));
	json_int_t cur = json_integer_value(json_object_get(p->counts, country));
	json_object_set_new(p->counts, country, json_integer(cur + store_row_int(row, 1)));
	return 0;
}

struct ids_page {
	json_t *ids;
	char last[ID_SIZE];
};

static int page_cb(void *ud, const struct store_row *row)
{
	struct ids_page *p = ud;
	const char *id = store_row_text(row, 0);
	json_array_append_new(p->ids, json_string(id));
	snprintf(p->last, sizeof p->last, "%s", id);
	return 0;
}

/* Reads the next page of segment ids after `after` (NULL: the first). */
static int segment_page(struct store *st, const struct segment *seg, const char *org_id,
			const char *after, int limit, struct ids_page *p)
{
	struct segment_sql sql;
	p->last[0] = '\0';
	int rc = segment_select_ids_sql(seg, store_dialect(st), org_id, time_now_ms(), after, limit,
					&sql);
	if (rc == 0)
		rc = store_query_sql(st, sql.sql, sql.args, sql.nargs, page_cb, p);
	segment_sql_release(&sql);
	return rc < 0 ? rc : 0;
}

/* The country mix of the audience (by phone calling code). */
static int country_mix(struct store *st, const struct segment *seg, const char *org_id,
		       json_t *counts)
{
	char after[ID_SIZE] = "";
	struct prefix_ctx pc = {counts};
	for (;;) {
		struct ids_page p = {.ids = json_array()};
		int rc = segment_page(st, seg, org_id, after[0] ? after : NULL, 5000, &p);
		if (rc == 0 && json_array_size(p.ids)) {
			char *ids = json_dumps(p.ids, JSON_COMPACT);
			struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(ids)};
			rc = store_query(st, "campaign.prefixes", a, 2, prefix_cb, &pc);
			free(ids);
			rc = rc < 0 ? rc : 0;
		}
		size_t n = json_array_size(p.ids);
		json_decref(p.ids);
		if (rc)
			return rc;
		if (n < 5000)
			return 0;
		snprintf(after, sizeof after, "%s", p.last);
	}
}

/* The category of the first message a run sends: what starts the
 * conversation and what Meta prices. */
static const char *first_category(const struct journey_def *d, const json_t *tpl, int purpose)
{
	const char *cat = NULL;
	if (tpl)
		cat = json_str(tpl, "category");
	for (int i = 0; !cat && d && i < d->nsteps; i++)
		if (d->steps[i].type == JS_SEND) {
			cat = json_str(json_object_get(d->steps[i].j, "template"), "category");
			if (!cat)
				purpose = d->steps[i].purpose;
			break;
		}
	if (cat)
		return cat;
	return purpose == POLICY_MARKETING ? "MARKETING" : "UTILITY";
}

/* ---- preview ---- */

struct journey_info {
	int found;
	int purpose;
	const struct journey_def *def;
};

static int load_journey(struct campaigns *c, const char *org_id, const char *key,
			struct journey_info *ji)
{
	memset(ji, 0, sizeof *ji);
	json_t *j = NULL;
	int rc = journey_get_json(c->je, org_id, key, 0, &j);
	if (rc)
		return rc;
	ji->found = 1;
	ji->purpose = policy_purpose_parse(json_str(j, "purpose"));
	/* the parsed current version */
	char *text = json_dumps(json_object_get(j, "definition"), JSON_COMPACT);
	struct journey_def *d = NULL;
	if (text && journey_def_parse_text(text, strlen(text), &d, NULL) == 0)
		ji->def = d;
	free(text);
	json_decref(j);
	return ji->def ? 0 : CW_EINTERNAL;
}

static int preview(struct campaigns *c, const char *org_id, const struct spec *s, json_t **out,
		   struct campaign_error *err, int64_t *audience_out, int *over_tier_out,
		   int *everyone_out)
{
	struct journey_info ji = {0};
	int purpose = s->purpose;
	if (s->journey) {
		int rc = load_journey(c, org_id, s->journey, &ji);
		if (rc == CW_ENOTFOUND)
			return cerr(err, "journey", "not_found", "no journey \"%s\"", s->journey),
			       rc;
		if (rc)
			return rc;
		if (purpose < 0)
			purpose = ji.purpose;
	}
	struct segpreview p;
	struct segment_error se;
	int rc = segpreview_run(c->st, org_id, s->query, purpose, time_now_ms(), &p, &se);
	if (rc == CW_EPARSE) {
		journey_def_free((struct journey_def *)ji.def);
		return cerr(err, "segment", "invalid_query", "%s", se.message), rc;
	}
	if (rc) {
		journey_def_free((struct journey_def *)ji.def);
		return rc;
	}
	int64_t total = 0;
	struct store_val ta[] = {SV_TEXT(org_id)};
	store_query_int(c->st, "campaign.total_contacts", ta, 1, &total);
	const struct orgconf *conf = NULL;
	int64_t tier = 0;
	if (orgconf_get(c->st, org_id, &conf) == 0) {
		tier = conf->policy.tier_limit;
		orgconf_put(conf);
	}
	int everyone = s->everyone || (p.count > 0 && p.count >= total);
	int over_tier = tier > 0 && p.eligible > tier;
	/* cost: the first message of each eligible run, by the audience's
	 * country mix */
	json_t *settings = NULL;
	struct store_val oa[] = {SV_TEXT(org_id)};
	store_query(c->st, "campaign.org_settings", oa, 1, settings_cb, &settings);
	const json_t *table = json_object_get(settings, "pricing");
	const char *category = first_category(ji.def, s->tpl, purpose);
	json_t *mix = json_object();
	struct segment *seg = NULL;
	if (segment_parse(s->query, &seg, NULL) == 0)
		country_mix(c->st, seg, org_id, mix);
	segment_free(seg);
	double total_cost = 0;
	const char *currency = "USD";
	json_int_t mixed = 0;
	const char *k;
	json_t *v;
	json_object_foreach(mix, k, v) mixed += json_integer_value(v);
	json_t *countries = json_object();
	json_object_foreach(mix, k, v)
	{
		double price = price_of(table, category, k, &currency);
		/* the eligible share of this country's contacts */
		double n =
		    mixed ? (double)json_integer_value(v) * (double)p.eligible / (double)mixed : 0;
		total_cost += n * price;
		json_object_set_new(
		    countries, k,
		    json_pack("{s:I, s:f}", "contacts", json_integer_value(v), "price", price));
	}
	json_decref(mix);
	json_decref(settings);
	json_t *pv = segpreview_json(&p);
	json_t *needs = json_array();
	if (everyone)
		json_array_append_new(needs, json_string("everyone"));
	if (over_tier)
		json_array_append_new(needs, json_string("over_tier"));
	json_object_set_new(pv, "audience", json_integer(p.count));
	json_object_set_new(pv, "everyone", json_boolean(everyone));
	json_object_set_new(pv, "tier", json_integer(tier));
	json_object_set_new(pv, "over_tier", json_boolean(over_tier));
	json_object_set_new(pv, "needs_confirmation", needs);
	json_object_set_new(pv, "purpose",
			    json_string(policy_purpose_name(
				(enum policy_purpose)(purpose < 0 ? POLICY_SERVICE : purpose))));
	json_object_set_new(pv, "cost",
			    json_pack("{s:s, s:s, s:f, s:o, s:s}", "currency", currency, "category",
				      category, "total", round(total_cost * 100) / 100, "countries",
				      countries, "basis",
				      "the first message of each eligible contact's run"));
	journey_def_free((struct journey_def *)ji.def);
	*out = pv;
	if (audience_out)
		*audience_out = p.count;
	if (over_tier_out)
		*over_tier_out = over_tier;
	if (everyone_out)
		*everyone_out = everyone;
	return 0;
}

int campaign_preview(struct campaigns *c, const char *org_id, const json_t *req, json_t **out,
		     struct campaign_error *err)
{
	struct spec s;
	int rc = parse_spec(req, &s, err);
	if (rc)
		return rc;
	return preview(c, org_id, &s, out, err, NULL, NULL, NULL);
}

/* ---- the campaigns row ---- */

struct crow {
	char id[ID_SIZE], org_id[ID_SIZE];
	char name[200], journey_key[JOURNEY_KEY_MAX + 1];
	char *segment;
	char purpose[16];
	json_t *vars, *settings;
	char status[16], phase[16];
	int64_t audience, canary_target, enrolled;
	char cursor[ID_SIZE];
	char halted_reason[256];
	int64_t hold_until;
	char created_by[128];
	int64_t created_at, updated_at, started_at, ended_at;
	int found;
};

#define CP(dst, col)                                                                               \
	snprintf((dst), sizeof(dst), "%s", store_row_text(row, col) ? store_row_text(row, col) : "")

static int crow_cb(void *ud, const struct store_row *row)
{
	struct crow *r = ud;
	CP(r->id, 0);
	CP(r->org_id, 1);
	CP(r->name, 2);
	CP(r->journey_key, 3);
	free(r->segment);
	r->segment = xstrdup(store_row_text(row, 4) ? store_row_text(row, 4) : "");
	CP(r->purpose, 5);
	json_decref(r->vars);
	json_decref(r->settings);
	r->vars = json_loads(store_row_text(row, 6) ? store_row_text(row, 6) : "{}", 0, NULL);
	r->settings = json_loads(store_row_text(row, 7) ? store_row_text(row, 7) : "{}", 0, NULL);
	CP(r->status, 8);
	CP(r->phase, 9);
	r->audience = store_row_int(row, 10);
	r->canary_target = store_row_int(row, 11);
	r->enrolled = store_row_int(row, 12);
	CP(r->cursor, 13);
	CP(r->halted_reason, 14);
	r->hold_until = store_row_is_null(row, 15) ? 0 : store_row_int(row, 15);
	CP(r->created_by, 16);
	r->created_at = store_row_int(row, 17);
	r->updated_at = store_row_int(row, 18);
	r->started_at = store_row_is_null(row, 19) ? 0 : store_row_int(row, 19);
	r->ended_at = store_row_is_null(row, 20) ? 0 : store_row_int(row, 20);
	r->found = 1;
	return 1;
}

static void crow_release(struct crow *r)
{
	free(r->segment);
	json_decref(r->vars);
	json_decref(r->settings);
	r->segment = NULL;
	r->vars = r->settings = NULL;
}

static int crow_save(struct store_tx *tx, const struct crow *r, int64_t now)
{
	struct store_val a[] = {SV_TEXT(r->id),
				SV_TEXT(r->status),
				SV_TEXT(r->phase),
				SV_INT(r->audience),
				SV_INT(r->canary_target),
				SV_INT(r->enrolled),
				SV_TEXT(r->cursor[0] ? r->cursor : NULL),
				SV_TEXT(r->halted_reason[0] ? r->halted_reason : NULL),
				r->hold_until ? SV_INT(r->hold_until) : SV_NULL,
				r->started_at ? SV_INT(r->started_at) : SV_NULL,
				r->ended_at ? SV_INT(r->ended_at) : SV_NULL,
				SV_INT(now)};
	return store_tx_exec(tx, "campaign.update", a, 12, NULL);
}

static json_t *iso(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return ms ? json_string(time_format_iso(ms, b)) : json_null();
}

static json_t *crow_json(const struct crow *r)
{
	double pct = r->audience ? 100.0 * (double)r->enrolled / (double)r->audience : 0;
	if (pct > 100)
		pct = 100;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s, s:s, s:s*, s:{s:I, s:I, s:I, "
			 "s:f, s:o}, s:o, s:o, s:o, s:o, s:s*}",
			 "id", r->id, "name", r->name, "journey", r->journey_key, "segment",
			 r->segment ? r->segment : "", "purpose", r->purpose, "vars",
			 r->vars ? r->vars : json_null(), "settings",
			 r->settings ? r->settings : json_null(), "status", r->status, "phase",
			 r->phase, "halted_reason", r->halted_reason[0] ? r->halted_reason : NULL,
			 "progress", "audience", (json_int_t)r->audience, "canary_target",
			 (json_int_t)r->canary_target, "enrolled", (json_int_t)r->enrolled,
			 "percent", round(pct * 10) / 10, "hold_until", iso(r->hold_until),
			 "created_at", iso(r->created_at), "started_at", iso(r->started_at),
			 "updated_at", iso(r->updated_at), "ended_at", iso(r->ended_at),
			 "created_by", r->created_by[0] ? r->created_by : NULL);
}

/* ---- the guard ---- */

struct guard {
	int64_t reached, attempts, failures, optouts, negative;
	double optout_rate, failure_rate, negative_rate;
};

static int guard_cb(void *ud, const struct store_row *row)
{
	struct guard *g = ud;
	g->reached = store_row_int(row, 0);
	g->attempts = store_row_int(row, 1);
	g->failures = store_row_int(row, 2);
	g->optouts = store_row_int(row, 3);
	g->negative = store_row_int(row, 4);
	return 1;
}

static int guard_read(struct campaigns *c, struct store_tx *tx, const char *id, struct guard *g)
{
	memset(g, 0, sizeof *g);
	struct store_val a[] = {SV_TEXT(id), SV_INT(sched_offset(c->sched))};
	int rc = tx ? store_tx_query(tx, "campaign.guard", a, 2, guard_cb, g)
		    : store_query(c->st, "campaign.guard", a, 2, guard_cb, g);
	if (rc < 0)
		return rc;
	g->optout_rate = g->reached ? (double)g->optouts / (double)g->reached : 0;
	g->failure_rate = g->attempts ? (double)g->failures / (double)g->attempts : 0;
	g->negative_rate = g->reached ? (double)g->negative / (double)g->reached : 0;
	return 0;
}

static double setting(const json_t *settings, const char *path, double def)
{
	const json_t *v = json_path(settings, path);
	return json_is_number(v) ? json_number_value(v) : def;
}

/* Fills why (when the guard trips) and returns 1, else 0. */
static int guard_trips(const struct guard *g, const json_t *settings, char *why, size_t whysz)
{
	if (g->reached < (int64_t)setting(settings, "guard.min_sample", 20))
		return 0;
	double mo = setting(settings, "guard.max_opt_out_rate", 0.02);
	double mf = setting(settings, "guard.max_failure_rate", 0.05);
	double mn = setting(settings, "guard.max_negative_rate", 0.05);
	if (g->optout_rate > mo) {
		snprintf(why, whysz, "opt-out rate %.1f%% over %.1f%% (%lld of %lld)",
			 g->optout_rate * 100, mo * 100, (long long)g->optouts,
			 (long long)g->reached);
		return 1;
	}
	if (g->failure_rate > mf) {
		snprintf(why, whysz,
			 "131026/131049 failure rate %.1f%% over %.1f%% (%lld of %lld messages)",
			 g->failure_rate * 100, mf * 100, (long long)g->failures,
			 (long long)g->attempts);
		return 1;
	}
	if (g->negative_rate > mn) {
		snprintf(why, whysz, "negative reply rate %.1f%% over %.1f%% (%lld of %lld)",
			 g->negative_rate * 100, mn * 100, (long long)g->negative,
			 (long long)g->reached);
		return 1;
	}
	return 0;
}

static json_t *guard_json(const struct guard *g, const json_t *settings)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:O}", "reached", (json_int_t)g->reached,
	    "messages", (json_int_t)g->attempts, "failures_131026_131049", (json_int_t)g->failures,
	    "opt_outs", (json_int_t)g->optouts, "negative_replies", (json_int_t)g->negative,
	    "opt_out_rate", g->optout_rate, "failure_rate", g->failure_rate, "negative_rate",
	    g->negative_rate, "thresholds",
	    json_object_get(settings, "guard") ? json_object_get(settings, "guard") : json_null());
}

struct msg_ids {
	json_t *ids;
};

static int msg_cb(void *ud, const struct store_row *row)
{
	json_array_append_new(ud, json_string(store_row_text(row, 0)));
	return 0;
}

/* Cancels the campaign's messages still waiting in the outbox. */
static int cancel_queued(struct store_tx *tx, const char *campaign_id, const char *why, int64_t now)
{
	json_t *ids = json_array();
	struct store_val a[] = {SV_TEXT(campaign_id)};
	int rc = store_tx_query(tx, "campaign.queued_messages", a, 1, msg_cb, ids);
	for (size_t i = 0; rc >= 0 && i < json_array_size(ids); i++)
		rc = outbox_finish_tx(tx, json_string_value(json_array_get(ids, i)), -1,
				      "cancelled", why, now, NULL);
	json_decref(ids);
	return rc < 0 ? rc : 0;
}

static int halt(struct campaigns *c, struct store_tx *tx, struct crow *r, const char *why,
		int64_t now)
{
	(void)c;
	snprintf(r->status, sizeof r->status, "halted");
	snprintf(r->halted_reason, sizeof r->halted_reason, "%s", why);
	log_warn("campaign", "campaign %s halted: %s", r->id, why);
	int rc = cancel_queued(tx, r->id, "campaign halted", time_now_ms());
	return rc ? rc : crow_save(tx, r, now);
}

/* ---- the roll-out ---- */

static int count_cb(void *ud, const struct store_row *row)
{
	snprintf(ud, 32, "%lld", (long long)store_row_int(row, 0));
	return 1;
}

static int load_tx(struct store_tx *tx, const char *org_id, const char *id, struct crow *r)
{
	memset(r, 0, sizeof *r);
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	int rc = store_tx_query(tx, "campaign.get", a, 2, crow_cb, r);
	return rc < 0 ? rc : 0;
}

/* Enrols up to n more contacts after the cursor. Returns the number
 * enrolled (0: the segment is exhausted) or a cw_err. */
static int enrol(struct campaigns *c, struct store_tx *tx, struct crow *r, int n)
{
	struct segment *seg = NULL;
	if (segment_parse(strcmp(r->segment, "*") == 0 || strcmp(r->segment, "everyone") == 0
			      ? EVERYONE_QUERY
			      : r->segment,
			  &seg, NULL) != 0)
		return CW_EINVAL;
	struct ids_page p = {.ids = json_array()};
	int rc = segment_page(c->st, seg, r->org_id, r->cursor[0] ? r->cursor : NULL, n, &p);
	segment_free(seg);
	char trig[64];
	snprintf(trig, sizeof trig, "campaign:%s", r->id);
	int done = 0;
	for (size_t i = 0; rc == 0 && i < json_array_size(p.ids); i++) {
		const char *cid = json_string_value(json_array_get(p.ids, i));
		struct journey_start s = {.org_id = r->org_id,
					  .key = r->journey_key,
					  .contact_id = cid,
					  .vars = r->vars,
					  .trigger = trig,
					  .campaign_id = r->id};
		struct journey_started out;
		rc = journey_start_tx(c->je, tx, &s, &out);
		if (rc == CW_ENOTFOUND || rc == CW_ECONFLICT) {
			log_warn("campaign", "campaign %s: a contact was not enrolled: %s", r->id,
				 cw_strerror(rc));
			rc = 0;
		}
		snprintf(r->cursor, sizeof r->cursor, "%s", cid);
		r->enrolled++;
		done++;
	}
	json_decref(p.ids);
	return rc ? rc : done;
}

static int on_timer(void *ud, struct store_tx *tx, const char *org_id, const char *ref,
		    int64_t due_at, int64_t now)
{
	struct campaigns *c = ud;
	(void)due_at;
	struct crow r;
	int rc = load_tx(tx, org_id, ref, &r);
	if (rc || !r.found || strcmp(r.status, "running") != 0) {
		crow_release(&r);
		return rc;
	}
	int batch = (int)setting(r.settings, "batch", CAMPAIGN_BATCH_DEFAULT);
	int64_t next = now;
	struct guard g;
	char why[256];
	if (strcmp(r.phase, "canary") == 0) {
		int64_t want = r.canary_target - r.enrolled;
		int got = want > 0 ? enrol(c, tx, &r, want < batch ? (int)want : batch) : 0;
		if (got < 0) {
			rc = got;
			goto out;
		}
		if (r.enrolled >= r.canary_target || got == 0) {
			snprintf(r.phase, sizeof r.phase, "hold");
			r.hold_until = now + (int64_t)setting(r.settings, "hold_ms", 0);
			next = r.hold_until;
		}
	} else if (strcmp(r.phase, "hold") == 0) {
		if (now < r.hold_until) {
			next = r.hold_until;
		} else {
			rc = guard_read(c, tx, r.id, &g);
			if (rc)
				goto out;
			if (guard_trips(&g, r.settings, why, sizeof why)) {
				rc = halt(c, tx, &r, why, now);
				goto out_nosave;
			}
			snprintf(r.phase, sizeof r.phase, "rollout");
		}
	} else if (strcmp(r.phase, "rollout") == 0) {
		rc = guard_read(c, tx, r.id, &g);
		if (rc)
			goto out;
		if (guard_trips(&g, r.settings, why, sizeof why)) {
			rc = halt(c, tx, &r, why, now);
			goto out_nosave;
		}
		int got = enrol(c, tx, &r, batch);
		if (got < 0) {
			rc = got;
			goto out;
		}
		if (got < batch) {
			snprintf(r.phase, sizeof r.phase, "done");
			next = now + CAMPAIGN_GUARD_EVERY_MS;
		}
	} else { /* done: keep guarding while its runs go on */
		rc = guard_read(c, tx, r.id, &g);
		if (rc)
			goto out;
		if (guard_trips(&g, r.settings, why, sizeof why)) {
			rc = halt(c, tx, &r, why, now);
			goto out_nosave;
		}
		int64_t live = 0;
		struct store_val a[] = {SV_TEXT(r.id)};
		char buf[32] = "";
		rc = store_tx_query(tx, "campaign.live_runs", a, 1, count_cb, buf);
		if (rc < 0)
			goto out;
		rc = 0;
		live = strtoll(buf, NULL, 10);
		if (live == 0) {
			snprintf(r.status, sizeof r.status, "completed");
			r.ended_at = now;
			rc = crow_save(tx, &r, now);
			goto out_nosave;
		}
		next = now + CAMPAIGN_GUARD_EVERY_MS;
	}
out:
	if (rc == 0) {
		rc = crow_save(tx, &r, now);
		if (rc == 0)
			rc = sched_set_tx(c->sched, tx, CAMPAIGN_TIMER, r.id, r.org_id, next);
	}
out_nosave:
	crow_release(&r);
	return rc;
}

/* ---- creating and acting ---- */

struct create_ctx {
	struct campaigns *c;
	const char *org_id;
	const struct spec *s;
	const char *journey_key;
	const char *purpose;
	int64_t audience;
	const char *actor;
	char id[ID_SIZE];
};

static int begin(struct campaigns *c, struct store_tx *tx, struct crow *r, int64_t now)
{
	double pct = setting(r->settings, "canary_percent", DEFAULT_CANARY_PCT);
	snprintf(r->status, sizeof r->status, "running");
	if (pct >= 100) {
		snprintf(r->phase, sizeof r->phase, "rollout");
		r->canary_target = 0;
	} else {
		snprintf(r->phase, sizeof r->phase, "canary");
		r->canary_target = (int64_t)ceil((double)r->audience * pct / 100.0);
		if (r->canary_target < 1 && r->audience > 0)
			r->canary_target = 1;
	}
	r->started_at = now;
	int rc = crow_save(tx, r, now);
	return rc ? rc : sched_set_tx(c->sched, tx, CAMPAIGN_TIMER, r->id, r->org_id, now);
}

static int create_tx(struct store_tx *tx, void *ud)
{
	struct create_ctx *x = ud;
	const struct spec *s = x->s;
	int64_t now = sched_now(x->c->sched);
	char *vars = s->vars ? json_dumps(s->vars, JSON_COMPACT) : xstrdup("{}");
	json_t *settings = settings_json(s);
	char *set = json_dumps(settings, JSON_COMPACT);
	json_decref(settings);
	struct store_val a[] = {SV_TEXT(x->id),		 SV_TEXT(x->org_id),  SV_TEXT(s->name),
				SV_TEXT(x->journey_key), SV_TEXT(s->segment), SV_TEXT(x->purpose),
				SV_TEXT(vars),		 SV_TEXT(set),	      SV_TEXT("draft"),
				SV_TEXT(x->actor),	 SV_INT(now)};
	int rc = store_tx_exec(tx, "campaign.insert", a, 11, NULL);
	free(vars);
	free(set);
	if (rc || !s->start)
		return rc;
	struct crow r;
	rc = load_tx(tx, x->org_id, x->id, &r);
	if (rc == 0 && r.found) {
		r.audience = x->audience;
		rc = begin(x->c, tx, &r, now);
	}
	crow_release(&r);
	return rc;
}

int campaign_create(struct campaigns *c, const char *org_id, const json_t *req, const char *actor,
		    json_t **out, struct campaign_error *err)
{
	struct spec s;
	*out = NULL;
	int rc = parse_spec(req, &s, err);
	if (rc)
		return rc;
	json_t *pv = NULL;
	int64_t audience = 0;
	int over_tier = 0, everyone = 0;
	rc = preview(c, org_id, &s, &pv, err, &audience, &over_tier, &everyone);
	if (rc)
		return rc;
	json_decref(pv);
	if (everyone && !s.confirm_everyone) {
		cerr(err, "confirm.everyone", "conflict",
		     "the segment reaches everyone (%lld contacts); send \"confirm\": "
		     "{\"everyone\": true} to go ahead",
		     (long long)audience);
		return CW_ECONFLICT;
	}
	if (over_tier && !s.confirm_over_tier) {
		cerr(err, "confirm.over_tier", "conflict",
		     "the segment (%lld contacts) is larger than the messaging tier; send "
		     "\"confirm\": {\"over_tier\": true} to go ahead (the tier budget spreads it "
		     "over days)",
		     (long long)audience);
		return CW_ECONFLICT;
	}
	struct create_ctx x = {
	    .c = c, .org_id = org_id, .s = &s, .audience = audience, .actor = actor};
	id_new(x.id);
	char key[JOURNEY_KEY_MAX + 1];
	int purpose = s.purpose;
	if (s.tpl) {
		/* a one-step journey of its own, hidden from the list */
		snprintf(key, sizeof key, "campaign-%s", x.id);
		for (char *p = key; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		json_t *tpl = json_deep_copy(s.tpl);
		json_t *def = json_pack("{s:s, s:s, s:s, s:b, s:[{s:s}], s:[{s:s, s:s, s:o}]}",
					"key", key, "name", s.name, "purpose",
					policy_purpose_name((enum policy_purpose)purpose),
					"interactive", 0, "triggers", "type", "api", "steps", "id",
					"send", "type", "send", "template", tpl);
		struct journey_def_errors *errs = xcalloc(1, sizeof *errs);
		struct journey_saved saved;
		rc = journey_save(c->je, org_id, def, actor, 1, errs, &saved);
		if (rc == CW_EINVAL && errs->n) {
			char line[600];
			cerr(err, "template", "invalid_field", "%s",
			     journey_def_error_format(&errs->e[0], line, sizeof line));
		}
		free(errs);
		json_decref(def);
		if (rc)
			return rc;
		x.journey_key = key;
	} else {
		x.journey_key = s.journey;
		json_t *j = NULL;
		rc = journey_get_json(c->je, org_id, s.journey, 0, &j);
		if (rc)
			return cerr(err, "journey", "not_found", "no journey \"%s\"", s.journey),
			       rc;
		if (strcmp(json_str_or(j, "status", ""), "active") != 0) {
			json_decref(j);
			cerr(err, "journey", "conflict", "the journey is not active");
			return CW_ECONFLICT;
		}
		if (purpose < 0)
			purpose = policy_purpose_parse(json_str(j, "purpose"));
		json_decref(j);
	}
	x.purpose = policy_purpose_name((enum policy_purpose)(purpose < 0 ? 0 : purpose));
	rc = store_tx(c->st, create_tx, &x);
	if (rc)
		return rc;
	return campaign_get_json(c, org_id, x.id, out);
}

struct action_ctx {
	struct campaigns *c;
	const char *org_id, *id, *action;
	int result;
};

static int action_tx(struct store_tx *tx, void *ud)
{
	struct action_ctx *a = ud;
	struct crow r;
	int64_t now = sched_now(a->c->sched);
	int rc = load_tx(tx, a->org_id, a->id, &r);
	if (rc || !r.found) {
		a->result = rc ? rc : CW_ENOTFOUND;
		crow_release(&r);
		return rc;
	}
	const char *st = r.status;
	a->result = 0;
	if (strcmp(a->action, "start") == 0) {
		if (strcmp(st, "draft") != 0) {
			a->result = CW_ECONFLICT;
		} else {
			/* the audience as it is now */
			struct segpreview p;
			int pu = policy_purpose_parse(r.purpose);
			if (segpreview_run(a->c->st, r.org_id,
					   strcmp(r.segment, "*") == 0 ? EVERYONE_QUERY : r.segment,
					   pu, time_now_ms(), &p, NULL) == 0)
				r.audience = p.count;
			rc = begin(a->c, tx, &r, now);
		}
	} else if (strcmp(a->action, "pause") == 0) {
		if (strcmp(st, "running") != 0) {
			a->result = CW_ECONFLICT;
		} else {
			snprintf(r.status, sizeof r.status, "paused");
			rc = crow_save(tx, &r, now);
			if (rc == 0)
				rc =
				    journey_campaign_runs_tx(a->c->je, tx, r.org_id, r.id, "pause");
			if (rc == 0)
				rc = sched_cancel_tx(tx, CAMPAIGN_TIMER, r.id);
		}
	} else if (strcmp(a->action, "resume") == 0) {
		if (strcmp(st, "paused") != 0 && strcmp(st, "halted") != 0) {
			a->result = CW_ECONFLICT;
		} else {
			snprintf(r.status, sizeof r.status, "running");
			r.halted_reason[0] = '\0';
			if (strcmp(r.phase, "hold") == 0)
				snprintf(r.phase, sizeof r.phase, "rollout"); /* a person looked */
			rc = crow_save(tx, &r, now);
			if (rc == 0)
				rc = journey_campaign_runs_tx(a->c->je, tx, r.org_id, r.id,
							      "resume");
			if (rc == 0)
				rc = sched_set_tx(a->c->sched, tx, CAMPAIGN_TIMER, r.id, r.org_id,
						  now);
		}
	} else if (strcmp(a->action, "cancel") == 0) {
		if (strcmp(st, "cancelled") == 0 || strcmp(st, "completed") == 0) {
			a->result = CW_ECONFLICT;
		} else {
			snprintf(r.status, sizeof r.status, "cancelled");
			r.ended_at = now;
			rc = crow_save(tx, &r, now);
			if (rc == 0)
				rc = sched_cancel_tx(tx, CAMPAIGN_TIMER, r.id);
			if (rc == 0)
				rc = journey_campaign_runs_tx(a->c->je, tx, r.org_id, r.id,
							      "cancel");
			if (rc == 0)
				rc = cancel_queued(tx, r.id, "campaign cancelled", time_now_ms());
		}
	} else {
		a->result = CW_EINVAL;
	}
	crow_release(&r);
	return rc;
}

int campaign_action(struct campaigns *c, const char *org_id, const char *id, const char *action,
		    json_t **out, struct campaign_error *err)
{
	*out = NULL;
	struct action_ctx a = {c, org_id, id, action, 0};
	int rc = store_tx(c->st, action_tx, &a);
	if (rc)
		return rc;
	if (a.result == CW_ECONFLICT)
		cerr(err, "status", "conflict", "the campaign cannot %s in its present state",
		     action);
	else if (a.result == CW_EINVAL)
		cerr(err, "action", "invalid_field",
		     "the action is start, pause, resume or cancel");
	if (a.result)
		return a.result;
	return campaign_get_json(c, org_id, id, out);
}

int campaign_get_json(struct campaigns *c, const char *org_id, const char *id, json_t **out)
{
	struct crow r;
	memset(&r, 0, sizeof r);
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	int rc = store_query(c->st, "campaign.get", a, 2, crow_cb, &r);
	if (rc < 0 || !r.found) {
		crow_release(&r);
		return rc < 0 ? rc : CW_ENOTFOUND;
	}
	json_t *o = crow_json(&r);
	struct guard g;
	if (guard_read(c, NULL, r.id, &g) == 0)
		json_object_set_new(o, "guard", guard_json(&g, r.settings));
	json_t *stats = NULL;
	if (journey_stats_json(c->st, org_id, r.journey_key, r.id, &stats) == 0)
		json_object_set_new(o, "stats", stats);
	crow_release(&r);
	*out = o;
	return 0;
}

static int list_cb(void *ud, const struct store_row *row)
{
	struct crow r;
	memset(&r, 0, sizeof r);
	crow_cb(&r, row);
	json_array_append_new(ud, crow_json(&r));
	crow_release(&r);
	return 0;
}

int campaign_list_json(struct campaigns *c, const char *org_id, int limit, json_t **out)
{
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(org_id), SV_INT(limit)};
	int rc = store_query(c->st, "campaign.list", a, 2, list_cb, items);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}
