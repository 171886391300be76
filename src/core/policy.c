/*
 * policy.c — the policy engine (see policy.h and docs/internals/policy.md).
 *
 * policy_decide() walks the check table below in order; each check either
 * passes or writes the decision, and the first decision stands. Checks read
 * only their inputs: the contact, the message, the organisation, the
 * counters and now. The only outside reads are the zone database (through
 * base/time.h, which caches ICU calendars per thread) for quiet hours, and
 * the formulary for pharma marketing.
 */
#include "core/policy.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "base/time.h"
#include "core/formulary.h"
#include "core/natid.h"
#include "base/banned.h"

#define MINUTE_MS      (60 * 1000LL)
#define DAY_MS	       (24 * 60 * MINUTE_MS)
#define TIER_RETRY_MS  MINUTE_MS /* tier budget spent, its expiry unknown */
#define QUIET_RETRY_MS DAY_MS	 /* a week with no sending time at all */
#define RX_WORD_MAX    64

/* ---- names ---- */

/* clang-format off */
static const char *const reason_codes[POLICY_R_COUNT] = {
	[POLICY_R_NONE] = "none",
	[POLICY_R_CONTACT_ERASED] = "contact_erased",
	[POLICY_R_INVALID_NUMBER] = "invalid_number",
	[POLICY_R_NO_CONSENT] = "no_consent",
	[POLICY_R_CONSENT_REFUSED] = "consent_refused",
	[POLICY_R_CONSENT_WITHDRAWN] = "consent_withdrawn",
	[POLICY_R_OPTED_OUT] = "opted_out",
	[POLICY_R_MARKETING_STOPPED] = "marketing_stopped",
	[POLICY_R_WINDOW_CLOSED] = "window_closed",
	[POLICY_R_TEMPLATE_NOT_APPROVED] = "template_not_approved",
	[POLICY_R_TEMPLATE_CATEGORY_MISMATCH] = "template_category_mismatch",
	[POLICY_R_RX_PROMOTION] = "rx_promotion",
	[POLICY_R_SENSITIVE_RESULT] = "sensitive_result",
	[POLICY_R_NATIONAL_ID_IN_TEXT] = "national_id_in_text",
	[POLICY_R_QUIET_HOURS] = "quiet_hours",
	[POLICY_R_FREQUENCY_CAP] = "frequency_cap",
	[POLICY_R_TIER_BUDGET] = "tier_budget",
	[POLICY_R_CAMPAIGN_HALTED] = "campaign_halted",
};
/* clang-format on */

static const char *const purpose_names[POLICY_PURPOSE_COUNT] = {
    "service", "reminders", "results", "surveys", "marketing",
};

/* For sentences: "Marketing consent was withdrawn ...". */
static const char *const purpose_titles[POLICY_PURPOSE_COUNT] = {
    "Service", "Reminders", "Results", "Surveys", "Marketing",
};

static const char *const org_kind_names[POLICY_ORG_KIND_COUNT] = {
    "hospital", "clinic", "diagnostic", "pharmacy", "pharma", "events",
};

/* clang-format off */
static const char *const tpl_status_names[] = {
	[POLICY_TPL_UNKNOWN] = "UNKNOWN",   [POLICY_TPL_APPROVED] = "APPROVED",
	[POLICY_TPL_PENDING] = "PENDING",   [POLICY_TPL_REJECTED] = "REJECTED",
	[POLICY_TPL_PAUSED] = "PAUSED",     [POLICY_TPL_DISABLED] = "DISABLED",
};

static const char *const tpl_category_names[] = {
	[POLICY_CAT_UNKNOWN] = "UNKNOWN",
	[POLICY_CAT_MARKETING] = "MARKETING",
	[POLICY_CAT_UTILITY] = "UTILITY",
	[POLICY_CAT_AUTHENTICATION] = "AUTHENTICATION",
};
/* clang-format on */

#define CAT(c) (1u << (c))

/* The template categories that fit each purpose. A reminder or a result in
 * a MARKETING template would be priced, capped and stopped (131050) as
 * marketing, and marketing in a UTILITY template breaks Meta's rules; an
 * AUTHENTICATION template carries one-time codes, which carewire does not
 * send. Surveys may be either: Meta files a post-visit feedback request as
 * utility and a general survey as marketing. */
/* clang-format off */
static const unsigned purpose_categories[POLICY_PURPOSE_COUNT] = {
	[POLICY_SERVICE] = CAT(POLICY_CAT_UTILITY),
	[POLICY_REMINDERS] = CAT(POLICY_CAT_UTILITY),
	[POLICY_RESULTS] = CAT(POLICY_CAT_UTILITY),
	[POLICY_SURVEYS] = CAT(POLICY_CAT_UTILITY) | CAT(POLICY_CAT_MARKETING),
	[POLICY_MARKETING] = CAT(POLICY_CAT_MARKETING),
};

static const char *const purpose_needs[POLICY_PURPOSE_COUNT] = {
	[POLICY_SERVICE] = "a UTILITY template",
	[POLICY_REMINDERS] = "a UTILITY template",
	[POLICY_RESULTS] = "a UTILITY template",
	[POLICY_SURVEYS] = "a UTILITY or MARKETING template",
	[POLICY_MARKETING] = "a MARKETING template",
};
/* clang-format on */

static const char *const default_sensitive[] = {"oncology", "hiv", "genetics", "psychiatry"};

const char *policy_reason_code(enum policy_reason reason)
{
	if ((unsigned)reason >= POLICY_R_COUNT)
		return "unknown";
	return reason_codes[reason];
}

int policy_reason_parse(const char *code)
{
	for (int i = 0; code && i < POLICY_R_COUNT; i++)
		if (strcmp(code, reason_codes[i]) == 0)
			return i;
	return -1;
}

const char *policy_outcome_name(enum policy_outcome outcome)
{
	switch (outcome) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	case POLICY_DEFER:
		return "defer";
	}
	return "unknown";
}

const char *policy_purpose_name(enum policy_purpose purpose)
{
	if ((unsigned)purpose >= POLICY_PURPOSE_COUNT)
		return "unknown";
	return purpose_names[purpose];
}

int policy_purpose_parse(const char *name)
{
	for (int i = 0; name && i < POLICY_PURPOSE_COUNT; i++)
		if (strcmp(name, purpose_names[i]) == 0)
			return i;
	return -1;
}

int policy_org_kind_parse(const char *s)
{
	for (int i = 0; s && i < POLICY_ORG_KIND_COUNT; i++)
		if (strcmp(s, org_kind_names[i]) == 0)
			return i;
	return -1;
}

enum policy_template_status policy_template_status_parse(const char *s)
{
	for (size_t i = 1; s && i < sizeof tpl_status_names / sizeof tpl_status_names[0]; i++)
		if (strcasecmp(s, tpl_status_names[i]) == 0)
			return (enum policy_template_status)i;
	return POLICY_TPL_UNKNOWN;
}

enum policy_template_category policy_template_category_parse(const char *s)
{
	for (size_t i = 1; s && i < sizeof tpl_category_names / sizeof tpl_category_names[0]; i++)
		if (strcasecmp(s, tpl_category_names[i]) == 0)
			return (enum policy_template_category)i;
	return POLICY_CAT_UNKNOWN;
}

static const char *tpl_status_name(enum policy_template_status s)
{
	if ((unsigned)s >= sizeof tpl_status_names / sizeof tpl_status_names[0])
		return "UNKNOWN";
	return tpl_status_names[s];
}

static const char *tpl_category_name(enum policy_template_category c)
{
	if ((unsigned)c >= sizeof tpl_category_names / sizeof tpl_category_names[0])
		return "UNKNOWN";
	return tpl_category_names[c];
}

void policy_org_init(struct policy_org *org, enum policy_org_kind kind, const char *zone)
{
	memset(org, 0, sizeof *org);
	org->kind = kind;
	org->zone = zone;
	for (int d = 0; d < 7; d++)
		org->quiet[d] = (struct policy_day){8 * 60, 21 * 60};
	org->marketing_cap = (struct policy_cap){2, 7 * DAY_MS};
	org->survey_cap = (struct policy_cap){1, 30 * DAY_MS};
	org->tier_limit = POLICY_TIER_1K;
	for (size_t i = 0; i < sizeof default_sensitive / sizeof default_sensitive[0]; i++)
		org->sensitive[org->n_sensitive++] = default_sensitive[i];
}

/* ---- what every check sees ---- */

struct ctx {
	const struct policy_contact *c;
	const struct policy_message *m;
	const struct policy_org *o;
	const struct policy_counters *k;
	int64_t now;
	int window_open; /* now < window_expires_at */
	int replying;	 /* is_reply while the window is open */
};

static int decide(struct policy_decision *out, enum policy_outcome outcome,
		  enum policy_reason reason, int64_t until, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int decide(struct policy_decision *out, enum policy_outcome outcome,
		  enum policy_reason reason, int64_t until, const char *fmt, ...)
{
	va_list ap;
	out->outcome = outcome;
	out->reason = reason;
	out->until = until;
	va_start(ap, fmt);
	int n = vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
	/* A cut sentence must not end inside a UTF-8 character. */
	if (n >= (int)sizeof out->message) {
		size_t len = sizeof out->message - 1;
		while (len > 0 && ((unsigned char)out->message[len] & 0xC0) == 0x80)
			len--;
		out->message[len] = '\0';
	}
	return 1;
}

/* "2026-11-01" from UTC ms. */
static void date_of(int64_t ms, char out[11])
{
	char iso[TIME_ISO_MAX];
	time_format_iso(ms, iso);
	memcpy(out, iso, 10);
	out[10] = '\0';
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* How many bytes of s to print, at most max, without cutting a UTF-8
 * character: for "%.*s" with caller-supplied names. */
static int clip(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int)n;
}

/* ---- the checks, in order ---- */

static int check_erased(const struct ctx *x, struct policy_decision *out)
{
	if (!x->c->erased)
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_CONTACT_ERASED, 0,
		      "The contact was erased; nothing is sent to an erased contact.");
}

static int check_number(const struct ctx *x, struct policy_decision *out)
{
	if (x->c->phone_valid)
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_INVALID_NUMBER, 0,
		      "The contact's phone number is not a valid WhatsApp number.");
}

static int check_consent(const struct ctx *x, struct policy_decision *out)
{
	enum policy_purpose p = x->m->purpose;
	if ((unsigned)p >= POLICY_PURPOSE_COUNT)
		return decide(out, POLICY_DENY, POLICY_R_NO_CONSENT, 0,
			      "The message has no known purpose, so no consent can cover it.");
	/* Answering the person is what they asked for by writing. */
	if (p == POLICY_SERVICE && x->replying)
		return 0;
	const struct policy_consent *c = &x->c->consents[p];
	if (c->status == POLICY_CONSENT_GRANTED)
		return 0;
	char date[11] = "";
	char detail[96] = "";
	if (c->at > 0) {
		date_of(c->at, date);
		snprintf(detail, sizeof detail, " on %s", date);
	}
	if (c->source && *c->source) {
		size_t len = strlen(detail);
		snprintf(detail + len, sizeof detail - len, " (source: %.*s)", clip(c->source, 24),
			 c->source);
	}
	switch (c->status) {
	case POLICY_CONSENT_REFUSED:
		return decide(out, POLICY_DENY, POLICY_R_CONSENT_REFUSED, 0,
			      "%s consent was refused%s.", purpose_titles[p], detail);
	case POLICY_CONSENT_WITHDRAWN:
		return decide(out, POLICY_DENY, POLICY_R_CONSENT_WITHDRAWN, 0,
			      "%s consent was withdrawn%s.", purpose_titles[p], detail);
	case POLICY_CONSENT_GRANTED:
	case POLICY_CONSENT_NONE:
		break;
	}
	return decide(out, POLICY_DENY, POLICY_R_NO_CONSENT, 0,
		      "There is no %s consent on record for this contact.", purpose_names[p]);
}

static int check_opted_out(const struct ctx *x, struct policy_decision *out)
{
	if (!x->c->opted_out || (x->replying && x->m->purpose == POLICY_SERVICE))
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_OPTED_OUT, 0,
		      "The person opted out of messages from us; only replies to what they "
		      "write are sent until they opt back in.");
}

static int check_marketing_stopped(const struct ctx *x, struct policy_decision *out)
{
	int marketing =
	    x->m->purpose == POLICY_MARKETING ||
	    (x->m->kind == POLICY_TEMPLATE && x->m->tpl.category == POLICY_CAT_MARKETING);
	if (!x->c->marketing_stopped || !marketing)
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_MARKETING_STOPPED, 0,
		      "The person stopped marketing messages from this business in WhatsApp.");
}

static int check_window(const struct ctx *x, struct policy_decision *out)
{
	if (x->m->kind == POLICY_TEMPLATE || x->window_open)
		return 0;
	if (x->k->window_expires_at <= 0)
		return decide(out, POLICY_DENY, POLICY_R_WINDOW_CLOSED, 0,
			      "The person has never written to us, so only an approved template "
			      "may be sent.");
	char iso[TIME_ISO_MAX];
	return decide(out, POLICY_DENY, POLICY_R_WINDOW_CLOSED, 0,
		      "The 24-hour window closed at %s; outside it only an approved template "
		      "may be sent.",
		      time_format_iso(x->k->window_expires_at, iso));
}

static int check_template_status(const struct ctx *x, struct policy_decision *out)
{
	if (x->m->kind != POLICY_TEMPLATE || x->m->tpl.status == POLICY_TPL_APPROVED)
		return 0;
	const char *name = or_dash(x->m->tpl.name), *lang = or_dash(x->m->tpl.language);
	return decide(out, POLICY_DENY, POLICY_R_TEMPLATE_NOT_APPROVED, 0,
		      "Template \"%.*s\" (%.*s) is %s, not APPROVED.", clip(name, 64), name,
		      clip(lang, 16), lang, tpl_status_name(x->m->tpl.status));
}

static int check_template_category(const struct ctx *x, struct policy_decision *out)
{
	if (x->m->kind != POLICY_TEMPLATE)
		return 0;
	enum policy_purpose p = x->m->purpose;
	enum policy_template_category cat = x->m->tpl.category;
	if ((unsigned)cat < 32 && (purpose_categories[p] & CAT(cat)))
		return 0;
	const char *name = or_dash(x->m->tpl.name);
	return decide(out, POLICY_DENY, POLICY_R_TEMPLATE_CATEGORY_MISMATCH, 0,
		      "Template \"%.*s\" is in the %s category; a %s message needs %s.",
		      clip(name, 64), name, tpl_category_name(cat), purpose_names[p],
		      purpose_needs[p]);
}

static int check_rx(const struct ctx *x, struct policy_decision *out)
{
	if (x->m->purpose != POLICY_MARKETING ||
	    (x->o->kind != POLICY_ORG_PHARMA && x->o->kind != POLICY_ORG_PHARMACY))
		return 0;
	if (!x->o->formulary)
		return decide(out, POLICY_DENY, POLICY_R_RX_PROMOTION, 0,
			      "No formulary is configured for this organisation, so its marketing "
			      "cannot be checked for prescription drugs.");
	char word[RX_WORD_MAX];
	int r = formulary_match(x->o->formulary, x->m->text ? x->m->text : "", word, sizeof word);
	if (r == 0)
		return 0;
	if (r < 0)
		return decide(out, POLICY_DENY, POLICY_R_RX_PROMOTION, 0,
			      "The text is not valid UTF-8, so it could not be checked for "
			      "prescription drugs.");
	return decide(out, POLICY_DENY, POLICY_R_RX_PROMOTION, 0,
		      "Marketing names the prescription drug \"%s\"; prescription drugs are "
		      "never promoted over WhatsApp.",
		      word);
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* True when the sensitive entry covers cat: equal, or cat is a
 * subcategory ("oncology/breast", "oncology.lung", "oncology:x"). Both are
 * already folded, or both ASCII and compared without case. */
static int covers(const char *entry, const char *cat, int ascii)
{
	size_t n = strlen(entry);
	if (n == 0)
		return 0;
	if (ascii ? strncasecmp(entry, cat, n) != 0 : strncmp(entry, cat, n) != 0)
		return 0;
	return cat[n] == '\0' || cat[n] == '/' || cat[n] == '.' || cat[n] == ':';
}

static int sensitive_category(const struct policy_org *o, const char *cat)
{
	int found = 0;
	char *fcat = NULL;
	int ascii = is_ascii(cat);
	for (int i = 0; i < o->n_sensitive && i < POLICY_MAX_SENSITIVE && !found; i++) {
		const char *e = o->sensitive[i];
		if (!e)
			continue;
		if (ascii && is_ascii(e)) {
			found = covers(e, cat, 1);
			continue;
		}
		/* Hebrew or Russian category names: compare Unicode-folded. */
		if (!fcat)
			fcat = text_casefold(cat);
		char *fe = text_casefold(e);
		if (!fcat)
			found = 1; /* cannot be read, cannot be shown harmless */
		else if (fe)
			found = covers(fe, fcat, 0);
		free(fe);
	}
	free(fcat);
	return found;
}

static int check_sensitive(const struct ctx *x, struct policy_decision *out)
{
	const char *cat = x->m->result_category;
	int has = cat && *cat;
	if (x->m->purpose != POLICY_RESULTS && !has)
		return 0;
	if (!has)
		return decide(out, POLICY_DENY, POLICY_R_SENSITIVE_RESULT, 0,
			      "A result without a category is treated as sensitive: it cannot be "
			      "shown not to be.");
	if (!text_valid_utf8(cat, strlen(cat)))
		return decide(
		    out, POLICY_DENY, POLICY_R_SENSITIVE_RESULT, 0,
		    "The result category is not valid UTF-8; it is treated as sensitive.");
	if (!sensitive_category(x->o, cat))
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_SENSITIVE_RESULT, 0,
		      "Results in the category \"%.*s\" are never sent over WhatsApp; they are "
		      "given in person.",
		      clip(cat, 48), cat);
}

static int check_natid(const struct ctx *x, struct policy_decision *out)
{
	struct natid_match nm;
	if (!x->m->text || !natid_find(x->m->text, &nm))
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_NATIONAL_ID_IN_TEXT, 0,
		      "The text contains %s; identity numbers are not sent over WhatsApp "
		      "(minimum necessary).",
		      natid_kind_label(nm.kind));
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's algorithms); only to step a local date to the next day. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int day_open(const struct policy_day *d)
{
	return d->quiet_end >= 0 && d->quiet_end < d->quiet_start && d->quiet_start <= 24 * 60;
}

static int check_quiet(const struct ctx *x, struct policy_decision *out)
{
	if (x->m->time_critical || x->replying)
		return 0;
	const char *zones[3] = {x->c->zone, x->o->zone, "UTC"};
	const char *zone = NULL;
	struct time_local l;
	for (int i = 0; i < 3 && !zone; i++)
		if (zones[i] && *zones[i] && time_to_local(x->now, zones[i], &l) == 0)
			zone = zones[i];
	if (!zone)
		return 0; /* cannot happen: ICU always knows UTC */

	int minute = l.hour * 60 + l.minute;
	const struct policy_day *today = &x->o->quiet[l.wday];
	if (day_open(today) && minute >= today->quiet_end && minute < today->quiet_start)
		return 0;

	/* Quiet: find the next opening, today (before it) or on a later day. */
	int ahead = -1;
	if (day_open(today) && minute < today->quiet_end)
		ahead = 0;
	for (int d = 1; d <= 7 && ahead < 0; d++)
		if (day_open(&x->o->quiet[(l.wday + d) % 7]))
			ahead = d;
	if (ahead < 0)
		return decide(out, POLICY_DEFER, POLICY_R_QUIET_HOURS, x->now + QUIET_RETRY_MS,
			      "Quiet hours cover the whole week in %s; check the organisation's "
			      "quiet hours.",
			      zone);
	int y, mo, d;
	civil_from_days(days_from_civil(l.year, l.month, l.day) + ahead, &y, &mo, &d);
	int open = x->o->quiet[(l.wday + ahead) % 7].quiet_end;
	int64_t until;
	if (time_from_local(zone, y, mo, d, open / 60, open % 60, &until) != 0 || until <= x->now)
		until = x->now + MINUTE_MS; /* out of ICU's range: look again soon */
	/* Say the wall time it really is: an opening inside a spring-forward
	 * gap (02:30) lands after it (03:30). */
	struct time_local u = {
	    .year = y, .month = mo, .day = d, .hour = open / 60, .minute = open % 60};
	time_to_local(until, zone, &u);
	return decide(out, POLICY_DEFER, POLICY_R_QUIET_HOURS, until,
		      "Quiet hours in %s; deferred to %04d-%02d-%02d %02d:%02d local time.", zone,
		      u.year, u.month, u.day, u.hour, u.minute);
}

static int check_caps(const struct ctx *x, struct policy_decision *out)
{
	const struct policy_cap *cap;
	int sent;
	const char *what;
	if (x->m->purpose == POLICY_MARKETING) {
		cap = &x->o->marketing_cap;
		sent = x->k->marketing_sent_in_period;
		what = "marketing messages";
	} else if (x->m->purpose == POLICY_SURVEYS) {
		cap = &x->o->survey_cap;
		sent = x->k->surveys_sent_in_period;
		what = "surveys";
	} else {
		return 0;
	}
	if (cap->max <= 0 || sent < cap->max)
		return 0;
	int64_t days = cap->period_ms / DAY_MS;
	if (days * DAY_MS == cap->period_ms)
		return decide(out, POLICY_DENY, POLICY_R_FREQUENCY_CAP, 0,
			      "This contact already had %d %s in the last %lld days (the limit is "
			      "%d).",
			      sent, what, (long long)days, cap->max);
	return decide(out, POLICY_DENY, POLICY_R_FREQUENCY_CAP, 0,
		      "This contact already had %d %s in the last %lld hours (the limit is %d).",
		      sent, what, (long long)(cap->period_ms / (60 * MINUTE_MS)), cap->max);
}

static int check_tier(const struct ctx *x, struct policy_decision *out)
{
	/* Only a message sent while the person's window is closed starts a
	 * business-initiated conversation and counts against the tier. */
	if (x->o->tier_limit <= 0 || x->window_open || x->k->contact_already_counted_in_24h ||
	    x->k->tier_recipients_24h < x->o->tier_limit)
		return 0;
	int64_t until = x->k->tier_oldest_expiry;
	if (until <= x->now)
		until = x->now + TIER_RETRY_MS;
	char iso[TIME_ISO_MAX];
	return decide(out, POLICY_DEFER, POLICY_R_TIER_BUDGET, until,
		      "The number's messaging tier of %lld business-initiated recipients in 24 "
		      "hours is used up; deferred to %s, when budget frees.",
		      (long long)x->o->tier_limit, time_format_iso(until, iso));
}

static int check_campaign(const struct ctx *x, struct policy_decision *out)
{
	if (!x->m->campaign_halted)
		return 0;
	return decide(out, POLICY_DENY, POLICY_R_CAMPAIGN_HALTED, 0,
		      "The campaign was halted by its quality guard.");
}

/* The order is the contract (DESIGN.md §7, policy.h). */
/* clang-format off */
static int (*const checks[])(const struct ctx *, struct policy_decision *) = {
	check_erased,           check_number,
	check_consent,          check_opted_out,
	check_marketing_stopped, check_window,
	check_template_status,  check_template_category,
	check_rx,               check_sensitive,
	check_natid,            check_quiet,
	check_caps,             check_tier,
	check_campaign,
};
/* clang-format on */

void policy_decide(const struct policy_input *in, int64_t now_ms, struct policy_decision *out)
{
	assert(in && in->contact && in->msg && in->org && in->counters && out);
	struct ctx x = {
	    .c = in->contact,
	    .m = in->msg,
	    .o = in->org,
	    .k = in->counters,
	    .now = now_ms,
	};
	x.window_open = now_ms < x.k->window_expires_at;
	x.replying = x.m->is_reply && x.window_open;

	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		if (checks[i](&x, out))
			return;
	out->outcome = POLICY_ALLOW;
	out->reason = POLICY_R_NONE;
	out->until = 0;
	memcpy(out->message, "Allowed.", sizeof "Allowed.");
}
