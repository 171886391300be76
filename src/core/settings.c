/*
 * settings.c — the settings people edit and the phone numbers (see
 * settings.h). One table of members, each with the function that checks a
 * new value and writes it where the send path reads it; reads go through
 * orgconf_parse(), the send path's own parser.
 */
#include "core/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "base/text.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/hours.h"
#include "core/org.h"
#include "core/orgconf.h"
#include "core/policy.h"
#include "base/banned.h"

#define DAY_MS	       (24LL * 3600 * 1000)
#define MIN_MS	       (60LL * 1000)
#define MARKETING_DAYS 7
#define SURVEY_DAYS    30

/* The settings JSON as an object: a new reference; {} when it is not one
 * (orgconf then uses the defaults too). */
static json_t *settings_root(const char *settings)
{
	json_t *root = settings ? json_loads(settings, 0, NULL) : NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		root = json_object();
	}
	return root;
}

/* The member key of root as an object, made (or replacing a malformed
 * value) when absent. Borrowed. */
static json_t *member_obj(json_t *root, const char *key)
{
	json_t *o = json_object_get(root, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(root, key, o);
	}
	return o;
}

/* ---- reading ---- */

static json_t *hhmm_json(int minutes)
{
	char b[8];
	snprintf(b, sizeof b, "%02u:%02u", (unsigned)(minutes / 60) % 100u,
		 (unsigned)(minutes % 60) % 100u);
	return json_string(b);
}

static json_t *cap_json(const struct policy_cap *cap, int days)
{
	if (cap->max <= 0)
		return json_null();
	if (cap->period_ms == days * DAY_MS)
		return json_integer(cap->max);
	return json_pack("{s:i, s:I}", "max", cap->max, "days",
			 (json_int_t)(cap->period_ms / DAY_MS));
}

/* The view of row: parsed by orgconf_parse() as the send path parses it. */
static int view(const struct org_settings *row, const struct hours *h, json_t **out)
{
	*out = NULL;
	json_t *root = settings_root(row->settings);
	/* Quiet hours as set, before the per-weekday sending_hours (which this
	 * API does not carry) replace some days. */
	json_t *base = json_deep_copy(root);
	json_t *pol = json_object_get(base, "policy");
	if (json_is_object(pol))
		json_object_del(pol, "sending_hours");
	char *base_s = json_dumps(base, JSON_COMPACT);
	json_decref(base);
	struct orgconf *conf = NULL;
	int rc = base_s ? orgconf_parse("", row->info.kind, row->info.zone, row->info.language,
					base_s, &conf)
			: CW_ENOMEM;
	free(base_s);
	if (rc) {
		json_decref(root);
		return rc;
	}
	const struct policy_org *p = &conf->policy;
	json_t *o = json_object();
	const struct policy_day q = p->quiet[0];
	if (q.quiet_end <= 0 && q.quiet_start >= 24 * 60)
		json_object_set_new(o, "quiet_hours", json_false());
	else
		json_object_set_new(o, "quiet_hours",
				    json_pack("{s:o, s:o}", "start", hhmm_json(q.quiet_start),
					      "end", hhmm_json(q.quiet_end)));
	json_object_set_new(o, "caps",
			    json_pack("{s:o, s:o}", "marketing_per_week",
				      cap_json(&p->marketing_cap, MARKETING_DAYS),
				      "surveys_per_month", cap_json(&p->survey_cap, SURVEY_DAYS)));
	json_object_set_new(o, "tier",
			    p->tier_limit == POLICY_TIER_UNLIMITED
				? json_string("unlimited")
				: json_integer((json_int_t)p->tier_limit));
	json_t *cats = json_array();
	for (int i = 0; i < p->n_sensitive; i++)
		json_array_append_new(cats, json_string(p->sensitive[i]));
	json_object_set_new(o, "sensitive_categories", cats);
	json_t *words = json_array();
	const json_t *stored = json_object_get(json_object_get(root, "optout"), "words");
	size_t i;
	const json_t *w;
	json_array_foreach(stored, i, w)
	{
		if (json_is_string(w))
			json_array_append(words, (json_t *)w);
	}
	json_object_set_new(o, "optout_words", words);
	json_object_set_new(o, "first_response_target_minutes",
			    json_integer((json_int_t)(h->target_ms / MIN_MS)));
	orgconf_put(conf);
	json_decref(root);
	*out = o;
	return 0;
}

int settings_get(struct store *st, const char *org_id, json_t **out)
{
	*out = NULL;
	struct org_settings row;
	struct hours h;
	int rc = org_settings_get(st, NULL, org_id, &row);
	if (rc >= 0)
		rc = hours_load(st, org_id, &h);
	if (rc >= 0)
		rc = view(&row, &h, out);
	org_settings_release(&row);
	return rc < 0 ? rc : 0;
}

/* ---- changing ---- */

struct update {
	json_t *root;	/* orgs.settings being changed */
	int target_min; /* the new first-response target; 0: unchanged */
	char changed[AUDIT_DETAIL_MAX];
};

static int refuse(struct json_error *e, const char *field, const char *message)
{
	snprintf(e->field, sizeof e->field, "%s", field);
	snprintf(e->message, sizeof e->message, "%s", message);
	return CW_EINVAL;
}

/* "HH:MM" from 00:00 to 23:59 -> minutes; -1 otherwise. */
static int hhmm(const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int hh = (s[0] - '0') * 10 + (s[1] - '0'), mm = (s[3] - '0') * 10 + (s[4] - '0');
	return hh < 24 && mm < 60 ? hh * 60 + mm : -1;
}

/* 1 when obj has a member other than the NULL-terminated names. *bad gets
 * its name. */
static int unknown_member(const json_t *obj, const char *const *names, const char **bad)
{
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		int known = 0;
		for (int i = 0; names[i] && !known; i++)
			known = strcmp(k, names[i]) == 0;
		if (!known) {
			*bad = k;
			return 1;
		}
	}
	return 0;
}

static int set_quiet(struct update *u, const json_t *v, struct json_error *e)
{
	json_t *pol = member_obj(u->root, "policy");
	if (json_is_false(v)) {
		json_object_set_new(pol, "quiet_hours", json_false());
		return 0;
	}
	static const char *const names[] = {"start", "end", NULL};
	const char *bad = NULL;
	if (!json_is_object(v))
		return refuse(
		    e, "quiet_hours",
		    "quiet_hours must be {\"start\":\"HH:MM\",\"end\":\"HH:MM\"}, or false "
		    "for none");
	if (unknown_member(v, names, &bad))
		return refuse(e, "quiet_hours", "quiet_hours takes only start and end");
	int start = hhmm(json_object_get(v, "start"));
	int end = hhmm(json_object_get(v, "end"));
	if (start < 0)
		return refuse(e, "quiet_hours.start", "start must be a time from 00:00 to 23:59");
	if (end < 0)
		return refuse(e, "quiet_hours.end", "end must be a time from 00:00 to 23:59");
	/* One quiet time a night: from start until end the next morning
	 * (policy sends from end until start). */
	if (end >= start)
		return refuse(e, "quiet_hours.end",
			      "quiet hours run over midnight: end must be earlier than start "
			      "(\"start\":\"21:00\",\"end\":\"08:00\")");
	json_object_set_new(pol, "quiet_hours",
			    json_pack("{s:O, s:O}", "start", json_object_get(v, "start"), "end",
				      json_object_get(v, "end")));
	return 0;
}

/* One cap: a number of messages, null (no cap), or {"max","days"}. */
static int cap_value(const json_t *v, int days, const char *field, json_t **out,
		     struct json_error *e)
{
	char f[64];
	if (json_is_null(v)) {
		*out = json_pack("{s:i, s:i}", "max", 0, "days", days);
		return 0;
	}
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 1 || n > SETTINGS_CAP_MAX)
			return refuse(e, field,
				      "a cap is 1..1000 messages, or null for no cap (0 is not "
				      "\"none\": it would cap nothing)");
		*out = json_pack("{s:I, s:i}", "max", n, "days", days);
		return 0;
	}
	static const char *const names[] = {"max", "days", NULL};
	const char *bad = NULL;
	const json_t *max = json_object_get(v, "max"), *d = json_object_get(v, "days");
	if (!json_is_object(v) || unknown_member(v, names, &bad))
		return refuse(e, field,
			      "a cap is a number of messages, null for no cap, or "
			      "{\"max\":N,\"days\":D}");
	snprintf(f, sizeof f, "%s.max", field);
	if (!json_is_integer(max) || json_integer_value(max) < 0 ||
	    json_integer_value(max) > SETTINGS_CAP_MAX)
		return refuse(e, f, "max is 0 (no cap) to 1000 messages");
	snprintf(f, sizeof f, "%s.days", field);
	if (!json_is_integer(d) || json_integer_value(d) < 1 ||
	    json_integer_value(d) > SETTINGS_CAP_DAYS_MAX)
		return refuse(e, f, "days is 1 to 366");
	*out = json_pack("{s:O, s:O}", "max", max, "days", d);
	return 0;
}

static int set_caps(struct update *u, const json_t *v, struct json_error *e)
{
	static const struct {
		const char *name, *key, *field;
		int days;
	} caps[] = {
	    {"marketing_per_week", "marketing_cap", "caps.marketing_per_week", MARKETING_DAYS},
	    {"surveys_per_month", "survey_cap", "caps.surveys_per_month", SURVEY_DAYS},
	};
	static const char *const names[] = {"marketing_per_week", "surveys_per_month", NULL};
	const char *bad = NULL;
	char f[80];
	if (!json_is_object(v))
		return refuse(e, "caps",
			      "caps must be {\"marketing_per_week\":N,\"surveys_per_month\":N}");
	if (unknown_member(v, names, &bad)) {
		snprintf(f, sizeof f, "caps.%.64s", bad);
		return refuse(e, f, "caps takes marketing_per_week and surveys_per_month");
	}
	json_t *pol = member_obj(u->root, "policy");
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		const json_t *c = json_object_get(v, caps[i].name);
		json_t *stored = NULL;
		if (!c)
			continue;
		int rc = cap_value(c, caps[i].days, caps[i].field, &stored, e);
		if (rc)
			return rc;
		json_object_set_new(pol, caps[i].key, stored);
	}
	return 0;
}

static int set_tier(struct update *u, const json_t *v, struct json_error *e)
{
	json_t *pol = member_obj(u->root, "policy");
	if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
		json_object_set_new(pol, "tier", json_string("unlimited"));
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > SETTINGS_TIER_MAX)
		return refuse(e, "tier",
			      "tier is the number of people a number may start conversations "
			      "with in 24 hours (250, 1000, 10000, 100000 ...), or \"unlimited\"");
	json_object_set_new(pol, "tier", json_integer(json_integer_value(v)));
	return 0;
}

/* A category: letters, digits and _ . / - (result categories are codes such
 * as "oncology/breast"). */
static int category_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > SETTINGS_CATEGORY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '/' || c == '-'))
			return 0;
	}
	return 1;
}

static int set_sensitive(struct update *u, const json_t *v, struct json_error *e)
{
	char f[64];
	if (!json_is_array(v) || json_array_size(v) > POLICY_MAX_SENSITIVE)
		return refuse(e, "sensitive_categories",
			      "sensitive_categories must be an array of at most 16 categories");
	json_t *list = json_array();
	size_t i;
	const json_t *c;
	json_array_foreach(v, i, c)
	{
		const char *s = json_string_value(c);
		if (!s || !category_ok(s)) {
			json_decref(list);
			snprintf(f, sizeof f, "sensitive_categories[%zu]", i);
			return refuse(e, f,
				      "a category is 1..64 letters, digits and _ . / - "
				      "(\"oncology\", \"oncology/breast\")");
		}
		int dup = 0;
		size_t j;
		const json_t *have;
		json_array_foreach(list, j, have)
		{
			dup |= strcasecmp(json_string_value(have), s) == 0;
		}
		if (!dup)
			json_array_append_new(list, json_string(s));
	}
	/* The categories DESIGN.md names are never sent over WhatsApp, whatever
	 * an organisation adds: they are told in person. */
	struct policy_org defaults;
	policy_org_init(&defaults, POLICY_ORG_CLINIC, "UTC");
	for (int d = 0; d < defaults.n_sensitive; d++) {
		int found = 0;
		json_array_foreach(list, i, c)
		{
			found |= strcasecmp(json_string_value(c), defaults.sensitive[d]) == 0;
		}
		if (!found) {
			json_decref(list);
			char msg[200];
			snprintf(msg, sizeof msg,
				 "sensitive_categories must keep \"%s\": oncology, hiv, genetics "
				 "and psychiatry results are told in person, never sent",
				 defaults.sensitive[d]);
			return refuse(e, "sensitive_categories", msg);
		}
	}
	json_object_set_new(member_obj(u->root, "policy"), "sensitive_categories", list);
	return 0;
}

static int set_words(struct update *u, const json_t *v, struct json_error *e)
{
	char f[64];
	if (!json_is_array(v) || json_array_size(v) > SETTINGS_OPTOUT_WORDS)
		return refuse(e, "optout_words",
			      "optout_words must be an array of at most 64 words or phrases");
	json_t *list = json_array();
	char **folded = xcalloc(json_array_size(v) + 1, sizeof(char *));
	int nfolded = 0, rc = 0;
	size_t i;
	const json_t *w;
	json_array_foreach(v, i, w)
	{
		const char *s = json_string_value(w);
		char buf[ORGCONF_WORD_MAX];
		if (!s || orgconf_fold_phrase(s, buf, sizeof buf) <= 0) {
			snprintf(f, sizeof f, "optout_words[%zu]", i);
			rc = refuse(e, f,
				    "an opt-out word is a word or a short phrase in UTF-8 (up to "
				    "127 bytes once folded); punctuation and emoji alone are not "
				    "words");
			goto done;
		}
		int dup = 0;
		for (int j = 0; j < nfolded && !dup; j++)
			dup = strcmp(folded[j], buf) == 0;
		if (dup)
			continue;
		folded[nfolded++] = xstrdup(buf);
		json_array_append_new(list, json_string(s));
	}
	json_object_set(member_obj(u->root, "optout"), "words", list);
done:
	json_decref(list);
	for (int j = 0; j < nfolded; j++)
		free(folded[j]);
	free(folded);
	return rc;
}

static int set_target(struct update *u, const json_t *v, struct json_error *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > HOURS_TARGET_MAX_MIN)
		return refuse(e, "first_response_target_minutes",
			      "first_response_target_minutes is 1 to 10080 (a week) minutes of "
			      "business time");
	u->target_min = (int)json_integer_value(v);
	return 0;
}

/* clang-format off */
static const struct member {
	const char *name;
	int (*set)(struct update *u, const json_t *v, struct json_error *e);
} members[] = {
    {"quiet_hours", set_quiet},
    {"caps", set_caps},
    {"tier", set_tier},
    {"sensitive_categories", set_sensitive},
    {"optout_words", set_words},
    {"first_response_target_minutes", set_target},
};
/* clang-format on */

#define NMEMBERS (sizeof members / sizeof members[0])

struct update_ctx {
	const char *org_id, *actor;
	const json_t *body;
	struct json_error *e;
};

static int update_fn(struct store_tx *tx, void *ud)
{
	struct update_ctx *x = ud;
	struct org_settings row;
	struct update u = {.root = NULL};
	char *settings = NULL;
	int rc = org_settings_get(NULL, tx, x->org_id, &row);
	if (rc)
		goto fail;
	u.root = settings_root(row.settings);
	int policy_changed = 0;
	size_t used = 0;
	for (size_t i = 0; i < NMEMBERS; i++) {
		const json_t *v = json_object_get(x->body, members[i].name);
		if (!v)
			continue;
		rc = members[i].set(&u, v, x->e);
		if (rc)
			goto fail;
		used += (size_t)snprintf(u.changed + used, sizeof u.changed - used, "%s%s",
					 used ? "," : "", members[i].name);
		if (used >= sizeof u.changed)
			used = sizeof u.changed - 1;
		policy_changed |= members[i].set != set_target;
	}
	if (policy_changed) {
		settings = json_dumps(u.root, JSON_COMPACT | JSON_SORT_KEYS);
		if (!settings) {
			rc = CW_ENOMEM;
			goto fail;
		}
		struct store_val w[] = {SV_TEXT(x->org_id), SV_TEXT(settings)};
		rc = store_tx_exec(tx, "orgconf.set", w, 2, NULL);
		if (rc)
			goto fail;
	}
	if (u.target_min) {
		struct hours h;
		rc = hours_load_tx(tx, x->org_id, &h);
		if (rc)
			goto fail;
		h.target_ms = u.target_min * MIN_MS;
		json_t *hj = hours_to_json(&h);
		char *hs = json_dumps(hj, JSON_COMPACT);
		json_decref(hj);
		if (!hs) {
			rc = CW_ENOMEM;
			goto fail;
		}
		struct store_val k[] = {SV_TEXT(x->org_id), SV_TEXT(HOURS_KV_KEY), SV_TEXT(hs)};
		rc = store_tx_exec(tx, "kv.set", k, 3, NULL);
		free(hs);
		if (rc)
			goto fail;
	}
	struct audit_entry ae = {.org_id = x->org_id,
				 .actor = x->actor,
				 .action = "settings.update",
				 .outcome = "ok",
				 .detail = u.changed[0] ? u.changed : "nothing"};
	rc = audit_record_tx(tx, &ae);
fail:
	free(settings);
	json_decref(u.root);
	org_settings_release(&row);
	return rc;
}

int settings_update(struct store *st, const char *org_id, const json_t *body, const char *actor,
		    json_t **out, struct json_error *e)
{
	*out = NULL;
	memset(e, 0, sizeof *e);
	if (!json_is_object(body))
		return refuse(e, "body", "the settings must be a JSON object");
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)body, k, v)
	{
		int known = 0;
		for (size_t i = 0; i < NMEMBERS && !known; i++)
			known = strcmp(k, members[i].name) == 0;
		if (!known) {
			char msg[200];
			snprintf(msg, sizeof msg, "\"%.64s\" is not a setting", k);
			return refuse(e, k, msg);
		}
	}
	struct update_ctx x = {.org_id = org_id, .actor = actor, .body = body, .e = e};
	int rc = store_tx(st, update_fn, &x);
	if (rc)
		return rc;
	log_info("settings", "org %s: settings changed by %s", org_id, actor ? actor : "?");
	return settings_get(st, org_id, out);
}

/* ---- phone numbers ---- */

static int number_cb(void *ud, const struct store_row *row)
{
	json_t *items = ud;
	char iso[TIME_ISO_MAX];
	const char *status = store_row_text(row, 5);
	json_array_append_new(
	    items,
	    json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:s, s:b, s:s}", "id", store_row_text(row, 0),
		      "display", store_row_text(row, 1), "phone_number_id", store_row_text(row, 2),
		      "waba_id", store_row_text(row, 3), "rate_mps",
		      (json_int_t)store_row_int(row, 4), "status", status ? status : "active",
		      "shared_with_app", store_row_int(row, 6) != 0, "created_at",
		      time_format_iso(store_row_int(row, 7), iso)));
	return 0;
}

int settings_numbers(struct store *st, const char *org_id, json_t **out)
{
	*out = NULL;
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = store_query(st, "settings.numbers", a, 1, number_cb, items);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

struct number_ctx {
	const char *org_id, *id, *actor, *status;
	int rate;
	json_t *before; /* [number] */
};

static int number_fn(struct store_tx *tx, void *ud)
{
	struct number_ctx *x = ud;
	struct store_val a[] = {SV_TEXT(x->org_id), SV_TEXT(x->id)};
	json_array_clear(x->before);
	int rc = store_tx_query(tx, "settings.number", a, 2, number_cb, x->before);
	if (rc < 0)
		return rc;
	const json_t *n = json_array_get(x->before, 0);
	if (!n)
		return CW_ENOTFOUND;
	struct store_val u[] = {SV_TEXT(x->org_id), SV_TEXT(x->id),
				x->rate ? SV_INT(x->rate) : SV_NULL, SV_TEXT(x->status)};
	rc = store_tx_exec(tx, "settings.number_update", u, 4, NULL);
	if (rc)
		return rc;
	char detail[AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "number=%s status=%s->%s rate_mps=%lld->%d", x->id,
		 json_string_value(json_object_get(n, "status")),
		 x->status ? x->status : json_string_value(json_object_get(n, "status")),
		 (long long)json_integer_value(json_object_get(n, "rate_mps")),
		 x->rate ? x->rate : (int)json_integer_value(json_object_get(n, "rate_mps")));
	struct audit_entry ae = {.org_id = x->org_id,
				 .actor = x->actor,
				 .action = "number.update",
				 .outcome = "ok",
				 .detail = detail};
	return audit_record_tx(tx, &ae);
}

int settings_number_update(struct store *st, const char *org_id, const char *id, const json_t *body,
			   const char *actor, json_t **out, struct json_error *e)
{
	static const char *const names[] = {"rate_mps", "status", NULL};
	static const char *const statuses[] = {"active", "paused", NULL};
	*out = NULL;
	memset(e, 0, sizeof *e);
	if (!id || !id_valid(id))
		return CW_ENOTFOUND;
	const char *bad = NULL;
	if (!json_is_object(body))
		return refuse(e, "body", "the change must be a JSON object");
	if (unknown_member(body, names, &bad)) {
		char msg[200];
		snprintf(msg, sizeof msg, "\"%.64s\" cannot be changed here (rate_mps, status)",
			 bad);
		return refuse(e, bad, msg);
	}
	const json_t *rate = json_object_get(body, "rate_mps");
	const json_t *status = json_object_get(body, "status");
	if (!rate && !status)
		return refuse(e, "body", "give rate_mps, status or both");
	if (rate && (!json_is_integer(rate) || json_integer_value(rate) < 1 ||
		     json_integer_value(rate) > SETTINGS_RATE_MAX))
		return refuse(e, "rate_mps", "rate_mps is 1 to 1000 messages per second");
	const char *s = status ? json_string_value(status) : NULL;
	int ok = !status;
	for (int i = 0; s && statuses[i] && !ok; i++)
		ok = strcmp(s, statuses[i]) == 0;
	if (!ok)
		return refuse(e, "status", "status is \"active\" or \"paused\"");
	struct number_ctx x = {.org_id = org_id,
			       .id = id,
			       .actor = actor,
			       .status = s,
			       .rate = rate ? (int)json_integer_value(rate) : 0,
			       .before = json_array()};
	int rc = store_tx(st, number_fn, &x);
	if (rc == 0 && s) {
		const char *was =
		    json_string_value(json_object_get(json_array_get(x.before, 0), "status"));
		if (was && strcmp(was, s) != 0)
			log_info("settings", "phone number %s %s by %s", id,
				 strcmp(s, "active") == 0 ? "resumed" : "paused",
				 actor ? actor : "?");
	}
	json_decref(x.before);
	if (rc)
		return rc;
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	rc = store_query(st, "settings.number", a, 2, number_cb, items);
	if (rc >= 0 && json_array_size(items) == 1)
		*out = json_incref(json_array_get(items, 0));
	json_decref(items);
	if (rc < 0)
		return rc;
	return *out ? 0 : CW_ENOTFOUND;
}
