/*
 * orgconf.c — organisations' sending configuration, parsed from
 * orgs.settings and cached (see orgconf.h).
 *
 * The built-in opt-out words are a table below; an organisation adds its
 * own ("optout.words") or replaces the table ("optout.defaults": false).
 */
#include "core/orgconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "core/formulary.h"
#include "core/org.h"
#include "base/banned.h"

#define DAY_MS (24LL * 3600 * 1000)

/* Built-in phrases, compared with the whole message after folding. Words
 * that are also everyday answers in a clinic's chat are left out on
 * purpose: "cancel" (an appointment), "end", "quit" (smoking), "די". */
static const struct {
	const char *phrase;
	const char *lang;
	enum orgconf_word_kind kind;
} builtin_words[] = {
    {"stop", "en", ORGCONF_STOP},
    {"stop all", "en", ORGCONF_STOP},
    {"stopall", "en", ORGCONF_STOP},
    {"unsubscribe", "en", ORGCONF_STOP},
    {"opt out", "en", ORGCONF_STOP},
    {"optout", "en", ORGCONF_STOP},
    {"עצור", "he", ORGCONF_STOP},
    {"הסר", "he", ORGCONF_STOP},
    {"הפסק", "he", ORGCONF_STOP},
    {"הפסיקו", "he", ORGCONF_STOP},
    {"להסרה", "he", ORGCONF_STOP},
    {"הסר אותי", "he", ORGCONF_STOP},
    {"הסירו אותי", "he", ORGCONF_STOP},
    {"стоп", "ru", ORGCONF_STOP},
    {"отписаться", "ru", ORGCONF_STOP},
    {"отписка", "ru", ORGCONF_STOP},
    {"отпишите меня", "ru", ORGCONF_STOP},
    {"stop promotions", "en", ORGCONF_STOP_MARKETING},
    {"stop marketing", "en", ORGCONF_STOP_MARKETING},
    {"start", "en", ORGCONF_START},
    {"unstop", "en", ORGCONF_START},
    {"subscribe", "en", ORGCONF_START},
    {"התחל", "he", ORGCONF_START},
    {"старт", "ru", ORGCONF_START},
    {"подписаться", "ru", ORGCONF_START},
};

/* Button payloads that opt out (a template's quick reply, a reply button). */
static const char *const builtin_payloads[] = {"optout", "opt_out", "stop", "unsubscribe"};

static const char *const weekdays[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* ---- phrases ---- */

struct join {
	char *out;
	size_t n, len;
	int overflow;
};

static void join_word(void *ud, const char *word, size_t len)
{
	struct join *j = ud;
	size_t need = len + (j->len ? 1 : 0);
	if (j->overflow || j->len + need >= j->n) {
		j->overflow = 1;
		return;
	}
	if (j->len)
		j->out[j->len++] = ' ';
	memcpy(j->out + j->len, word, len);
	j->len += len;
	j->out[j->len] = '\0';
}

int orgconf_fold_phrase(const char *text, char *out, size_t n)
{
	if (!text || !out || n == 0)
		return CW_EINVAL;
	out[0] = '\0';
	char *f = text_casefold(text);
	if (!f)
		return CW_EINVAL;
	struct join j = {.out = out, .n = n};
	int rc = text_words(f, join_word, &j);
	free(f);
	if (rc < 0)
		return rc;
	if (j.overflow) {
		out[0] = '\0';
		return CW_ETOOBIG;
	}
	return (int)j.len;
}

/* ---- parsing ---- */

static const char *own(struct orgconf *c, char *s)
{
	if (c->nowned_ >= (int)(sizeof c->owned_ / sizeof c->owned_[0])) {
		free(s);
		return NULL;
	}
	c->owned_[c->nowned_++] = s;
	return s;
}

static void add_word(struct orgconf *c, const char *text, const char *lang,
		     enum orgconf_word_kind kind)
{
	char folded[ORGCONF_WORD_MAX];
	if (c->nwords >= ORGCONF_MAX_WORDS) {
		log_warn("orgconf", "org %s: more than %d opt-out words; the rest are ignored",
			 c->org_id, ORGCONF_MAX_WORDS);
		return;
	}
	if (orgconf_fold_phrase(text, folded, sizeof folded) <= 0) {
		log_warn("orgconf", "org %s: an opt-out word is empty, not UTF-8 or too long",
			 c->org_id);
		return;
	}
	for (int i = 0; i < c->nwords; i++)
		if (strcmp(c->words[i].phrase, folded) == 0)
			return; /* the first meaning given wins */
	const char *p = own(c, xstrdup(folded));
	if (!p)
		return;
	c->words[c->nwords++] = (struct orgconf_word){.phrase = p, .lang = lang, .kind = kind};
}

static void add_payload(struct orgconf *c, const char *text)
{
	char *f = text_casefold(text);
	if (!f || !*f || c->npayloads >= ORGCONF_MAX_PAYLOADS) {
		free(f);
		return;
	}
	const char *p = own(c, f);
	if (p)
		c->payloads[c->npayloads++] = p;
}

static void words_from(struct orgconf *c, const json_t *optout, const char *key,
		       enum orgconf_word_kind kind)
{
	const json_t *arr = json_object_get(optout, key);
	if (!arr)
		return;
	if (!json_is_array(arr)) {
		log_warn("orgconf", "org %s: optout.%s must be an array of strings", c->org_id,
			 key);
		return;
	}
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			add_word(c, json_string_value(v), NULL, kind);
	}
}

static void parse_optout(struct orgconf *c, const json_t *optout)
{
	int defaults = 1;
	if (optout && !json_is_object(optout)) {
		log_warn("orgconf", "org %s: settings.optout must be an object", c->org_id);
		optout = NULL;
	}
	if (optout && json_is_false(json_object_get(optout, "defaults")))
		defaults = 0;
	c->optout = optout;
	/* Configured words first: where one repeats a built-in with another
	 * meaning, the organisation's meaning wins. */
	if (optout) {
		words_from(c, optout, "words", ORGCONF_STOP);
		words_from(c, optout, "marketing_words", ORGCONF_STOP_MARKETING);
		words_from(c, optout, "start_words", ORGCONF_START);
		const json_t *arr = json_object_get(optout, "payloads");
		size_t i;
		const json_t *v;
		if (json_is_array(arr))
			json_array_foreach(arr, i, v)
			{
				if (json_is_string(v))
					add_payload(c, json_string_value(v));
			}
	}
	if (!defaults)
		return;
	for (size_t i = 0; i < sizeof builtin_words / sizeof builtin_words[0]; i++)
		add_word(c, builtin_words[i].phrase, builtin_words[i].lang, builtin_words[i].kind);
	for (size_t i = 0; i < sizeof builtin_payloads / sizeof builtin_payloads[0]; i++)
		add_payload(c, builtin_payloads[i]);
}

/* "08:30" -> 510; "24:00" allowed as the end of a day. -1 when malformed. */
static int parse_hhmm(const char *s, size_t len)
{
	if (len != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* A day's sending time: "08:00-21:00", or "closed" (quiet all day). */
static int parse_day(const json_t *v, struct policy_day *out)
{
	const char *s = json_string_value(v);
	if (!s)
		return CW_EINVAL;
	if (strcmp(s, "closed") == 0) {
		*out = (struct policy_day){0, 0};
		return 0;
	}
	const char *dash = strchr(s, '-');
	if (!dash)
		return CW_EINVAL;
	int open = parse_hhmm(s, (size_t)(dash - s));
	int close = parse_hhmm(dash + 1, strlen(dash + 1));
	if (open < 0 || close < 0 || open >= close)
		return CW_EINVAL;
	*out = (struct policy_day){(int16_t)open, (int16_t)close};
	return 0;
}

static void parse_quiet(struct orgconf *c, const json_t *pol)
{
	const json_t *q = json_object_get(pol, "quiet_hours");
	if (json_is_false(q)) {
		for (int d = 0; d < 7; d++)
			c->policy.quiet[d] = (struct policy_day){0, 24 * 60};
	} else if (q) {
		const char *st = json_string_value(json_object_get(q, "start"));
		const char *en = json_string_value(json_object_get(q, "end"));
		int start = st ? parse_hhmm(st, strlen(st)) : -1;
		int end = en ? parse_hhmm(en, strlen(en)) : -1;
		/* Quiet from start until end the next morning: the sending time is
		 * [end, start). A quiet time inside one day (start < end) cannot be
		 * said with one interval per day and is refused. */
		if (start < 0 || end < 0 || end >= start)
			log_warn("orgconf",
				 "org %s: policy.quiet_hours needs {\"start\":\"HH:MM\","
				 "\"end\":\"HH:MM\"} with end before start; default used",
				 c->org_id);
		else
			for (int d = 0; d < 7; d++)
				c->policy.quiet[d] =
				    (struct policy_day){(int16_t)end, (int16_t)start};
	}
	const json_t *days = json_object_get(pol, "sending_hours");
	if (!days)
		return;
	if (!json_is_object(days)) {
		log_warn("orgconf", "org %s: policy.sending_hours must be an object", c->org_id);
		return;
	}
	for (int d = 0; d < 7; d++) {
		const json_t *v = json_object_get(days, weekdays[d]);
		struct policy_day day;
		if (!v)
			continue;
		if (parse_day(v, &day) != 0) {
			log_warn("orgconf",
				 "org %s: policy.sending_hours.%s must be \"HH:MM-HH:MM\" "
				 "or \"closed\"",
				 c->org_id, weekdays[d]);
			continue;
		}
		c->policy.quiet[d] = day;
	}
}

static void parse_cap(struct orgconf *c, const json_t *pol, const char *key, struct policy_cap *cap)
{
	const json_t *v = json_object_get(pol, key);
	if (!v)
		return;
	const json_t *max = json_object_get(v, "max");
	const json_t *days = json_object_get(v, "days");
	if (!json_is_integer(max) || json_integer_value(max) < 0 ||
	    json_integer_value(max) > 1000 ||
	    (days && (!json_is_integer(days) || json_integer_value(days) < 1 ||
		      json_integer_value(days) > 366))) {
		log_warn("orgconf", "org %s: policy.%s needs {\"max\":0..1000,\"days\":1..366}",
			 c->org_id, key);
		return;
	}
	cap->max = (int)json_integer_value(max);
	if (days)
		cap->period_ms = json_integer_value(days) * DAY_MS;
}

static void parse_tier(struct orgconf *c, const json_t *pol)
{
	const json_t *v = json_object_get(pol, "tier");
	if (!v)
		return;
	if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
		c->policy.tier_limit = POLICY_TIER_UNLIMITED;
		return;
	}
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		c->policy.tier_limit = json_integer_value(v);
		return;
	}
	log_warn("orgconf", "org %s: policy.tier must be a positive number or \"unlimited\"",
		 c->org_id);
}

static void parse_sensitive(struct orgconf *c, const json_t *pol)
{
	const json_t *arr = json_object_get(pol, "sensitive_categories");
	if (!arr)
		return;
	if (!json_is_array(arr) || json_array_size(arr) > POLICY_MAX_SENSITIVE) {
		log_warn("orgconf",
			 "org %s: policy.sensitive_categories must be an array of at "
			 "most %d strings; default used",
			 c->org_id, POLICY_MAX_SENSITIVE);
		return;
	}
	/* The list replaces the default one; an organisation that wants the
	 * defaults too lists them. */
	c->policy.n_sensitive = 0;
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || !*s)
			continue;
		const char *p = own(c, xstrdup(s));
		if (p)
			c->policy.sensitive[c->policy.n_sensitive++] = p;
	}
}

static void parse_formulary(struct orgconf *c, const json_t *pol)
{
	if (c->policy.kind != POLICY_ORG_PHARMA && c->policy.kind != POLICY_ORG_PHARMACY)
		return; /* only their marketing is checked (policy.h) */
	c->formulary_ = formulary_new_starter();
	if (!c->formulary_)
		return; /* policy refuses their marketing: it cannot be checked */
	const json_t *arr = json_object_get(pol, "formulary");
	size_t i;
	const json_t *v;
	if (json_is_array(arr))
		json_array_foreach(arr, i, v)
		{
			const char *s = json_string_value(v);
			if (s && formulary_add(c->formulary_, s) != 0)
				log_warn("orgconf", "org %s: formulary entry %zu was refused",
					 c->org_id, i);
		}
	c->policy.formulary = c->formulary_;
}

int orgconf_parse(const char *org_id, const char *kind, const char *zone, const char *language,
		  const char *settings, struct orgconf **out)
{
	*out = NULL;
	int k = policy_org_kind_parse(kind);
	if (k < 0)
		return CW_EINVAL;
	struct orgconf *c = xcalloc(1, sizeof *c);
	c->refs_ = 1;
	snprintf(c->org_id, sizeof c->org_id, "%s", org_id ? org_id : "");
	snprintf(c->kind, sizeof c->kind, "%s", kind);
	snprintf(c->zone, sizeof c->zone, "%s", zone && *zone ? zone : "UTC");
	snprintf(c->language, sizeof c->language, "%s", language && *language ? language : "en");
	c->settings_ = xstrdup(settings ? settings : "{}");
	policy_org_init(&c->policy, (enum policy_org_kind)k, c->zone);

	json_error_t jerr;
	c->root_ = json_loads(c->settings_, 0, &jerr);
	if (!json_is_object(c->root_)) {
		log_warn("orgconf", "org %s: settings are not a JSON object; defaults used",
			 c->org_id);
		json_decref(c->root_);
		c->root_ = NULL;
	}
	const json_t *pol = c->root_ ? json_object_get(c->root_, "policy") : NULL;
	if (pol && !json_is_object(pol)) {
		log_warn("orgconf", "org %s: settings.policy must be an object", c->org_id);
		pol = NULL;
	}
	if (pol) {
		parse_quiet(c, pol);
		parse_cap(c, pol, "marketing_cap", &c->policy.marketing_cap);
		parse_cap(c, pol, "survey_cap", &c->policy.survey_cap);
		parse_tier(c, pol);
		parse_sensitive(c, pol);
	}
	parse_formulary(c, pol);
	parse_optout(c, c->root_ ? json_object_get(c->root_, "optout") : NULL);
	*out = c;
	return 0;
}

static void conf_free(struct orgconf *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nowned_; i++)
		free(c->owned_[i]);
	formulary_free(c->formulary_);
	json_decref(c->root_);
	free(c->settings_);
	free(c);
}

/* ---- the cache ---- */

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct orgconf *cache[ORGCONF_CACHE];
static unsigned cache_next; /* the slot replaced next when all are taken */

static int same(const struct orgconf *c, const char *org_id, const struct org_settings *r)
{
	return strcmp(c->org_id, org_id) == 0 && strcmp(c->kind, r->info.kind) == 0 &&
	       strcmp(c->zone, r->info.zone[0] ? r->info.zone : "UTC") == 0 &&
	       strcmp(c->language, r->info.language[0] ? r->info.language : "en") == 0 &&
	       strcmp(c->settings_, r->settings) == 0;
}

static void unref_locked(struct orgconf *c)
{
	if (c && --c->refs_ == 0)
		conf_free(c);
}

/* The configuration of the organisation in r: the cached one while the row
 * is unchanged, else parsed anew and cached. Releases r. */
static int from_row(const char *org_id, struct org_settings *r, const struct orgconf **out)
{
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < ORGCONF_CACHE; i++) {
		if (cache[i] && same(cache[i], org_id, r)) {
			cache[i]->refs_++;
			*out = cache[i];
			pthread_mutex_unlock(&cache_mu);
			org_settings_release(r);
			return 0;
		}
	}
	pthread_mutex_unlock(&cache_mu);

	struct orgconf *c = NULL;
	int rc =
	    orgconf_parse(org_id, r->info.kind, r->info.zone, r->info.language, r->settings, &c);
	org_settings_release(r);
	if (rc)
		return rc;
	pthread_mutex_lock(&cache_mu);
	int slot = -1;
	for (int i = 0; i < ORGCONF_CACHE && slot < 0; i++)
		if (cache[i] && strcmp(cache[i]->org_id, org_id) == 0)
			slot = i; /* an older configuration of the same organisation */
	for (int i = 0; i < ORGCONF_CACHE && slot < 0; i++)
		if (!cache[i])
			slot = i;
	if (slot < 0)
		slot = (int)(cache_next++ % ORGCONF_CACHE);
	unref_locked(cache[slot]);
	cache[slot] = c;
	c->refs_ = 2; /* the cache's and the caller's */
	pthread_mutex_unlock(&cache_mu);
	*out = c;
	return 0;
}

static int load(struct store *st, struct store_tx *tx, const char *org_id,
		const struct orgconf **out)
{
	struct org_settings r;
	*out = NULL;
	if (!org_id)
		return CW_EINVAL;
	int rc = org_settings_get(st, tx, org_id, &r);
	if (rc) {
		org_settings_release(&r);
		return rc;
	}
	return from_row(org_id, &r, out);
}

int orgconf_get_tx(struct store_tx *tx, const char *org_id, const struct orgconf **out)
{
	return load(NULL, tx, org_id, out);
}

int orgconf_get(struct store *st, const char *org_id, const struct orgconf **out)
{
	return load(st, NULL, org_id, out);
}

void orgconf_put(const struct orgconf *conf)
{
	if (!conf)
		return;
	pthread_mutex_lock(&cache_mu);
	unref_locked((struct orgconf *)conf);
	pthread_mutex_unlock(&cache_mu);
}

int orgconf_set_settings(struct store *st, const char *org_id, const char *settings)
{
	json_t *v = settings ? json_loads(settings, 0, NULL) : NULL;
	int ok = json_is_object(v);
	json_decref(v);
	if (!ok)
		return CW_EINVAL;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(settings)};
	int64_t changes = 0;
	int rc = store_exec(st, "orgconf.set", a, 2, &changes);
	if (rc)
		return rc;
	return changes ? 0 : CW_ENOTFOUND;
}

void orgconf_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < ORGCONF_CACHE; i++) {
		unref_locked(cache[i]);
		cache[i] = NULL;
	}
	pthread_mutex_unlock(&cache_mu);
}
