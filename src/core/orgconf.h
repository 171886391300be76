/*
 * orgconf.h — an organisation's sending configuration: the policy settings
 * (quiet hours, frequency caps, messaging tier, sensitive result categories,
 * formulary) and the opt-out words, read from orgs.settings with defaults
 * for everything that is not set.
 *
 * Place: core. The send path (core/send.c), the opt-out handler
 * (core/optout.c) and the segment preview read it on every call, so parsed
 * configurations are cached per organisation and shared: a look-up reads
 * the orgs row (one indexed read) and reuses the parsed form while the row
 * is unchanged. A configuration is immutable once built and may be used
 * from any thread until it is put back.
 *
 * The settings JSON (every member optional; docs/internals/send.md):
 *
 *	{"policy": {"quiet_hours": {"start": "21:00", "end": "08:00"},
 *	            "sending_hours": {"fri": "08:00-14:00", "sat": "closed"},
 *	            "marketing_cap": {"max": 2, "days": 7},
 *	            "survey_cap": {"max": 1, "days": 30},
 *	            "tier": 1000,
 *	            "sensitive_categories": ["oncology", "hiv", "genetics", "psychiatry"],
 *	            "formulary": ["extra drug name"]},
 *	 "optout": {"words": ["..."], "marketing_words": ["..."], "start_words": ["..."],
 *	            "payloads": ["optout"], "defaults": true,
 *	            "confirmation": {"en": "..."}, "marketing_confirmation": {...},
 *	            "start_confirmation": {...}}}
 *
 * A member that is malformed is logged and its default used: a typo in the
 * settings never stops messages, nor lets through what the default refuses.
 */
#ifndef CW_ORGCONF_H
#define CW_ORGCONF_H

#include <jansson.h>
#include <stddef.h>

#include "base/id.h"
#include "core/policy.h"
#include "store/store.h"

#define ORGCONF_MAX_WORDS    96 /* opt-out words, marketing words and start words together */
#define ORGCONF_MAX_PAYLOADS 16
#define ORGCONF_WORD_MAX     128 /* bytes of one folded phrase */
#define ORGCONF_CACHE	     128 /* organisations whose configuration is kept parsed */

/* What an opt-out phrase asks for. */
enum orgconf_word_kind {
	ORGCONF_STOP = 0,	/* stop everything business-initiated */
	ORGCONF_STOP_MARKETING, /* stop marketing only ("stop promotions") */
	ORGCONF_START,		/* opt back in */
};

struct orgconf_word {
	const char *phrase; /* case-folded words joined by one space (orgconf_fold_phrase) */
	const char *lang;   /* "en", "he", "ru" for a built-in word; NULL for a configured one */
	enum orgconf_word_kind kind;
};

struct orgconf {
	char org_id[ID_SIZE];
	char kind[16];
	char zone[64];	   /* the organisation's IANA zone */
	char language[16]; /* its default language */
	/* Ready for policy_decide(); its strings and formulary belong to this
	 * configuration. */
	struct policy_org policy;
	struct orgconf_word words[ORGCONF_MAX_WORDS];
	int nwords;
	/* Button payloads (template quick replies, reply-button ids) that opt
	 * out, case-folded. */
	const char *payloads[ORGCONF_MAX_PAYLOADS];
	int npayloads;
	/* The "optout" member of the settings, for configured confirmation
	 * texts; NULL when absent. Borrowed from the configuration. */
	const json_t *optout;

	/* private */
	char *settings_;
	int refs_;
	struct formulary *formulary_;
	char *owned_[ORGCONF_MAX_WORDS + ORGCONF_MAX_PAYLOADS + POLICY_MAX_SENSITIVE];
	int nowned_;
	json_t *root_;
};

/* Looks up org_id inside tx (or through st for orgconf_get) and returns its
 * configuration in *out: shared and read-only; give it back with
 * orgconf_put(). Returns 0, CW_ENOTFOUND (no such organisation) or a store
 * error. */
int orgconf_get_tx(struct store_tx *tx, const char *org_id, const struct orgconf **out);
int orgconf_get(struct store *st, const char *org_id, const struct orgconf **out);

/* Gives back a configuration from orgconf_get*(). Accepts NULL. */
void orgconf_put(const struct orgconf *conf);

/* Builds a configuration from the parts of an orgs row without the cache
 * (tests, and the cache itself). settings may be NULL ("{}"); kind must be an
 * organisation kind, zone and language may be NULL ("UTC", "en"). Returns 0
 * and a new configuration in *out (caller frees with orgconf_put()), or
 * CW_EINVAL for an unknown kind. */
int orgconf_parse(const char *org_id, const char *kind, const char *zone, const char *language,
		  const char *settings, struct orgconf **out);

/* Replaces an organisation's settings JSON (an object) through st. The
 * next look-up sees it. Returns 0, CW_ENOTFOUND or CW_EINVAL (not an
 * object). */
int orgconf_set_settings(struct store *st, const char *org_id, const char *settings);

/* Writes into out the comparable form of a phrase: case-folded
 * (text_casefold), its words (text_words) joined by single spaces, so that
 * "STOP!", " stop " and "Stop." all give "stop" and punctuation, emoji and
 * spacing do not matter. Returns the length, 0 for a phrase with no words,
 * or a negative cw_err (not UTF-8, CW_ETOOBIG when it does not fit in n). */
int orgconf_fold_phrase(const char *text, char *out, size_t n);

/* Frees every cached configuration that nobody holds (tests, shutdown). */
void orgconf_cache_clear(void);

#endif
