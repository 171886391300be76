/*
 * test_policy.c — unit tests for core/policy (the decision table) and
 * core/formulary (prescription-drug matching).
 *
 * test_decisions runs one table: each row starts from a message that is
 * allowed (a clinic, a contact in Asia/Jerusalem with every consent
 * granted, an approved UTILITY template for a service message, at
 * 2026-06-10 12:00 local) and changes what the row names; it then checks the
 * outcome, the reason and, for a deferral, the exact instant. Israel's 2026
 * clock changes, as ICU reports them: summer time starts on Friday
 * 2026-03-27 at 02:00 (00:00Z, +02 -> +03) and ends on Sunday 2026-10-25 at
 * 02:00 (23:00Z on the 24th, +03 -> +02). Europe/Moscow stays at +03 all
 * year.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/text.h"
#include "base/time.h"
#include "core/formulary.h"
#include "core/policy.h"
#include "base/banned.h"

static struct formulary *starter_f;  /* the starter list */
static struct formulary *extended_f; /* the starter list plus an organisation's words */

/* ---- the table ---- */

enum { K_TPL = 0, K_FREE };
enum { CS_GRANTED = 0, CS_NONE, CS_REFUSED, CS_WITHDRAWN, CS_REGRANTED };
enum { TS_APPROVED = 0, TS_PENDING, TS_REJECTED, TS_PAUSED, TS_DISABLED, TS_UNKNOWN };
enum { TC_FIT = 0, TC_MARKETING, TC_UTILITY, TC_AUTH, TC_UNKNOWN };
enum { W_CLOSED = 0, W_OPEN, W_NEVER, W_ENDS_NOW, W_ENDS_NEXT_MS };
enum { O_CLINIC = 0, O_PHARMA, O_PHARMACY, O_HOSPITAL, O_EVENTS };

#define F_ERASED	   (1u << 0)
#define F_INVALID	   (1u << 1)
#define F_OPTED_OUT	   (1u << 2)
#define F_MKT_STOPPED	   (1u << 3)
#define F_REPLY		   (1u << 4)
#define F_HALTED	   (1u << 5)
#define F_CRITICAL	   (1u << 6)
#define F_COUNTED	   (1u << 7)
#define F_OTHERS_WITHDRAWN (1u << 8) /* every other purpose's consent withdrawn */

struct pcase {
	const char *name;
	const char *now; /* NULL: 2026-06-10T09:00:00Z, a Wednesday, 12:00 in Israel */
	enum policy_purpose purpose;
	int kind;
	unsigned flags;
	int consent; /* CS_*, for the message's purpose */
	int tstatus;
	int tcat;
	int window;
	int org;
	const char *zone; /* NULL: Asia/Jerusalem */
	const char *text; /* NULL: a plain sentence */
	const char *category;
	int mkt_sent, surveys_sent;
	int64_t tier_n;
	const char *tier_expiry;
	void (*setup)(struct policy_org *);

	enum policy_outcome outcome;
	enum policy_reason reason;
	const char *until; /* expected for DEFER */
	const char *msg;   /* a substring the message must contain */
};

#define ALLOW	    .outcome = POLICY_ALLOW, .reason = POLICY_R_NONE
#define DENY(r)	    .outcome = POLICY_DENY, .reason = POLICY_R_##r
#define DEFER(r, u) .outcome = POLICY_DEFER, .reason = POLICY_R_##r, .until = (u)

/* Organisation variants. */
static void org_moscow(struct policy_org *o)
{
	o->zone = "Europe/Moscow";
}
static void org_bad_zone(struct policy_org *o)
{
	o->zone = "Nowhere/Atlantis";
}
static void org_saturday_quiet(struct policy_org *o)
{
	o->quiet[6] = (struct policy_day){0, 0};
}
static void org_friday_short(struct policy_org *o)
{
	o->quiet[5].quiet_start = 14 * 60;		     /* Friday: quiet from 14:00 */
	o->quiet[6] = (struct policy_day){20 * 60, 23 * 60}; /* Saturday: 20:00-23:00 only */
}
static void org_all_quiet(struct policy_org *o)
{
	for (int d = 0; d < 7; d++)
		o->quiet[d] = (struct policy_day){8 * 60, 8 * 60};
}
static void org_end_in_gap(struct policy_org *o)
{
	o->quiet[5].quiet_end = 2 * 60 + 30; /* Friday: quiet until 02:30 */
}
static void org_late_evening(struct policy_org *o)
{
	for (int d = 0; d < 7; d++)
		o->quiet[d].quiet_start = 24 * 60; /* no evening quiet */
}
static void org_sensitive_derm(struct policy_org *o)
{
	o->sensitive[0] = "dermatology";
	o->n_sensitive = 1;
}
static void org_sensitive_he_ru(struct policy_org *o)
{
	o->sensitive[0] = "אונקולוגיה";
	o->sensitive[1] = "Онкология";
	o->n_sensitive = 2;
}
static void org_no_formulary(struct policy_org *o)
{
	o->formulary = NULL;
}
static void org_extended(struct policy_org *o)
{
	o->formulary = extended_f;
}
static void org_tier250(struct policy_org *o)
{
	o->tier_limit = POLICY_TIER_250;
}
static void org_tier_unlimited(struct policy_org *o)
{
	o->tier_limit = POLICY_TIER_UNLIMITED;
}
static void org_caps_off(struct policy_org *o)
{
	o->marketing_cap.max = 0;
	o->survey_cap.max = 0;
}
static void org_cap_36h(struct policy_org *o)
{
	o->marketing_cap = (struct policy_cap){1, 36 * 3600 * 1000LL};
}

#define ID_TEXT	   "Your file number is 123456782, see you soon"
#define SNILS_TEXT "Ваш СНИЛС 112-233-445 95 принят"

/* clang-format off */
static const struct pcase cases[] = {
	/* baseline and the first checks, with their order */
	{.name = "baseline service template", ALLOW},
	{.name = "reminder template", .purpose = POLICY_REMINDERS, ALLOW},
	{.name = "erased", .flags = F_ERASED, DENY(CONTACT_ERASED)},
	{.name = "erased beats invalid and no consent", .flags = F_ERASED | F_INVALID,
	 .consent = CS_NONE, DENY(CONTACT_ERASED)},
	{.name = "erased beats withdrawn", .purpose = POLICY_MARKETING, .flags = F_ERASED,
	 .consent = CS_WITHDRAWN, DENY(CONTACT_ERASED)},
	{.name = "invalid number", .flags = F_INVALID, DENY(INVALID_NUMBER)},
	{.name = "invalid beats no consent", .flags = F_INVALID, .consent = CS_NONE,
	 DENY(INVALID_NUMBER)},

	/* consent */
	{.name = "reminders without consent", .purpose = POLICY_REMINDERS, .consent = CS_NONE,
	 DENY(NO_CONSENT), .msg = "no reminders consent"},
	{.name = "reminders refused", .purpose = POLICY_REMINDERS, .consent = CS_REFUSED,
	 DENY(CONSENT_REFUSED), .msg = "Reminders consent was refused on 2026-05-01 (source: paper)."},
	{.name = "marketing withdrawn", .purpose = POLICY_MARKETING, .consent = CS_WITHDRAWN,
	 DENY(CONSENT_WITHDRAWN),
	 .msg = "Marketing consent was withdrawn on 2026-05-01 (source: whatsapp)."},
	{.name = "marketing withdrawn then granted again", .purpose = POLICY_MARKETING,
	 .consent = CS_REGRANTED, ALLOW},
	{.name = "others withdrawn, own purpose granted", .purpose = POLICY_REMINDERS,
	 .flags = F_OTHERS_WITHDRAWN, ALLOW},
	{.name = "results without consent", .purpose = POLICY_RESULTS, .consent = CS_NONE,
	 .category = "lipids", DENY(NO_CONSENT)},
	{.name = "surveys refused", .purpose = POLICY_SURVEYS, .consent = CS_REFUSED,
	 DENY(CONSENT_REFUSED)},
	{.name = "service not a reply needs consent", .consent = CS_NONE, DENY(NO_CONSENT)},
	{.name = "service reply needs no consent", .kind = K_FREE, .flags = F_REPLY,
	 .window = W_OPEN, .consent = CS_NONE, ALLOW},
	{.name = "service reply with withdrawn consent", .kind = K_FREE, .flags = F_REPLY,
	 .window = W_OPEN, .consent = CS_WITHDRAWN, ALLOW},
	{.name = "reply after the window is no reply", .kind = K_FREE, .flags = F_REPLY,
	 .consent = CS_NONE, DENY(NO_CONSENT)},
	{.name = "marketing reply still needs consent", .purpose = POLICY_MARKETING,
	 .kind = K_FREE, .flags = F_REPLY, .window = W_OPEN, .consent = CS_NONE,
	 DENY(NO_CONSENT)},
	{.name = "unknown purpose", .purpose = (enum policy_purpose)99, DENY(NO_CONSENT)},

	/* opted out */
	{.name = "opted out reminder", .purpose = POLICY_REMINDERS, .flags = F_OPTED_OUT,
	 DENY(OPTED_OUT)},
	{.name = "opted out: the one confirmation (a service reply)", .kind = K_FREE,
	 .flags = F_OPTED_OUT | F_REPLY, .window = W_OPEN, ALLOW},
	{.name = "opted out service not a reply", .flags = F_OPTED_OUT, DENY(OPTED_OUT)},
	{.name = "opted out reminder even as a reply", .purpose = POLICY_REMINDERS,
	 .kind = K_FREE, .flags = F_OPTED_OUT | F_REPLY, .window = W_OPEN, DENY(OPTED_OUT)},
	{.name = "no consent comes before opted out", .purpose = POLICY_MARKETING,
	 .flags = F_OPTED_OUT, .consent = CS_NONE, DENY(NO_CONSENT)},
	{.name = "opted out before marketing stopped", .purpose = POLICY_MARKETING,
	 .flags = F_OPTED_OUT | F_MKT_STOPPED, DENY(OPTED_OUT)},

	/* marketing stopped (131050) */
	{.name = "marketing stopped", .purpose = POLICY_MARKETING, .flags = F_MKT_STOPPED,
	 DENY(MARKETING_STOPPED)},
	{.name = "marketing stopped free-form marketing", .purpose = POLICY_MARKETING,
	 .kind = K_FREE, .window = W_OPEN, .flags = F_MKT_STOPPED, DENY(MARKETING_STOPPED)},
	{.name = "marketing stopped leaves reminders", .purpose = POLICY_REMINDERS,
	 .flags = F_MKT_STOPPED, ALLOW},
	{.name = "marketing stopped: survey in a MARKETING template", .purpose = POLICY_SURVEYS,
	 .tcat = TC_MARKETING, .flags = F_MKT_STOPPED, DENY(MARKETING_STOPPED)},
	{.name = "marketing stopped: survey in a UTILITY template", .purpose = POLICY_SURVEYS,
	 .tcat = TC_UTILITY, .flags = F_MKT_STOPPED, ALLOW},

	/* the 24-hour window */
	{.name = "free-form, window closed", .kind = K_FREE, DENY(WINDOW_CLOSED),
	 .msg = "closed at 2026-06-08T09:00:00.000Z"},
	{.name = "free-form, never wrote", .kind = K_FREE, .window = W_NEVER,
	 DENY(WINDOW_CLOSED), .msg = "never written"},
	{.name = "free-form, window open", .kind = K_FREE, .window = W_OPEN, ALLOW},
	{.name = "free-form, window ends exactly now", .kind = K_FREE, .window = W_ENDS_NOW,
	 DENY(WINDOW_CLOSED)},
	{.name = "free-form, window ends 1 ms from now", .kind = K_FREE,
	 .window = W_ENDS_NEXT_MS, ALLOW},
	{.name = "free-form reply, window closed", .kind = K_FREE, .flags = F_REPLY,
	 DENY(WINDOW_CLOSED)},
	{.name = "template, never wrote", .window = W_NEVER, ALLOW},

	/* template status */
	{.name = "template pending", .tstatus = TS_PENDING, DENY(TEMPLATE_NOT_APPROVED),
	 .msg = "is PENDING, not APPROVED"},
	{.name = "template rejected", .tstatus = TS_REJECTED, DENY(TEMPLATE_NOT_APPROVED)},
	{.name = "template paused", .tstatus = TS_PAUSED, DENY(TEMPLATE_NOT_APPROVED),
	 .msg = "Template \"appt_reminder\" (he) is PAUSED"},
	{.name = "template disabled", .tstatus = TS_DISABLED, DENY(TEMPLATE_NOT_APPROVED)},
	{.name = "template status unknown", .tstatus = TS_UNKNOWN, DENY(TEMPLATE_NOT_APPROVED)},
	{.name = "free-form ignores template fields", .kind = K_FREE, .window = W_OPEN,
	 .tstatus = TS_REJECTED, .tcat = TC_AUTH, ALLOW},
	{.name = "status checked before category", .purpose = POLICY_MARKETING,
	 .tstatus = TS_PENDING, .tcat = TC_UTILITY, DENY(TEMPLATE_NOT_APPROVED)},
	{.name = "window before template status", .kind = K_FREE, .tstatus = TS_PENDING,
	 DENY(WINDOW_CLOSED)},

	/* template category against purpose */
	{.name = "marketing through a UTILITY template", .purpose = POLICY_MARKETING,
	 .tcat = TC_UTILITY, DENY(TEMPLATE_CATEGORY_MISMATCH), .msg = "needs a MARKETING template"},
	{.name = "reminder through a MARKETING template", .purpose = POLICY_REMINDERS,
	 .tcat = TC_MARKETING, DENY(TEMPLATE_CATEGORY_MISMATCH)},
	{.name = "results through a MARKETING template", .purpose = POLICY_RESULTS,
	 .category = "lipids", .tcat = TC_MARKETING, DENY(TEMPLATE_CATEGORY_MISMATCH)},
	{.name = "service through AUTHENTICATION", .tcat = TC_AUTH,
	 DENY(TEMPLATE_CATEGORY_MISMATCH)},
	{.name = "marketing through AUTHENTICATION", .purpose = POLICY_MARKETING, .tcat = TC_AUTH,
	 DENY(TEMPLATE_CATEGORY_MISMATCH)},
	{.name = "category unknown", .purpose = POLICY_REMINDERS, .tcat = TC_UNKNOWN,
	 DENY(TEMPLATE_CATEGORY_MISMATCH)},
	{.name = "survey in MARKETING", .purpose = POLICY_SURVEYS, .tcat = TC_MARKETING, ALLOW},
	{.name = "survey in UTILITY", .purpose = POLICY_SURVEYS, .tcat = TC_UTILITY, ALLOW},
	{.name = "marketing in MARKETING", .purpose = POLICY_MARKETING, ALLOW},
	{.name = "marketing stopped before category", .purpose = POLICY_REMINDERS,
	 .tcat = TC_MARKETING, .flags = F_MKT_STOPPED, DENY(MARKETING_STOPPED)},

	/* prescription drugs in pharma and pharmacy marketing */
	{.name = "pharma: OZEMPIC in English", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Spring sale: OZEMPIC pens 20% off!", DENY(RX_PROMOTION), .msg = "\"ozempic\""},
	{.name = "pharma: Hebrew", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "מבצע אביב על אוזמפיק בכל הסניפים", DENY(RX_PROMOTION)},
	{.name = "pharma: Hebrew with a prefix", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "הנחה לאוזמפיק החודש", DENY(RX_PROMOTION)},
	{.name = "pharma: Russian", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Скидка на Оземпик до конца месяца", DENY(RX_PROMOTION), .msg = "оземпик"},
	{.name = "pharma: Russian inflected", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Большой запас Оземпика в аптеке", DENY(RX_PROMOTION)},
	{.name = "pharma: Russian stem of a feminine noun", .purpose = POLICY_MARKETING,
	 .org = O_PHARMA, .text = "Купите ВИАГРУ сегодня", DENY(RX_PROMOTION)},
	{.name = "pharma: over-the-counter goods", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Vitamin D and sunscreen, two for one", ALLOW},
	{.name = "pharma: a longer word is not the drug", .purpose = POLICY_MARKETING,
	 .org = O_PHARMA, .text = "Our ozempicky mascot says hi", ALLOW},
	{.name = "pharmacy: viagra", .purpose = POLICY_MARKETING, .org = O_PHARMACY,
	 .text = "Discreet Viagra delivery", DENY(RX_PROMOTION)},
	{.name = "clinic marketing is not checked for drugs", .purpose = POLICY_MARKETING,
	 .text = "Lecture: what ozempic does", ALLOW},
	{.name = "pharma pickup reminder may name the drug", .purpose = POLICY_REMINDERS,
	 .org = O_PHARMA, .text = "Your Ozempic is ready for pickup", ALLOW},
	{.name = "pharma: the organisation's own word", .purpose = POLICY_MARKETING,
	 .org = O_PHARMA, .setup = org_extended, .text = "New: Curaxol tablets", DENY(RX_PROMOTION),
	 .msg = "\"Curaxol\""},
	{.name = "pharma: own word not in the starter", .purpose = POLICY_MARKETING,
	 .org = O_PHARMA, .text = "New: Curaxol tablets", ALLOW},
	{.name = "pharma without a formulary", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .setup = org_no_formulary, .text = "Sunscreen", DENY(RX_PROMOTION)},
	{.name = "pharma: two-word entry", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Insulin Glargine starter kits", DENY(RX_PROMOTION)},
	{.name = "pharma: one word of a two-word entry", .purpose = POLICY_MARKETING,
	 .org = O_PHARMA, .text = "Insulin cooling bags on sale", ALLOW},
	{.name = "pharma: not UTF-8", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "sale \xff\xfe", DENY(RX_PROMOTION)},

	/* results and sensitive categories */
	{.name = "results: lipids", .purpose = POLICY_RESULTS, .category = "lipids", ALLOW},
	{.name = "results: oncology", .purpose = POLICY_RESULTS, .category = "oncology",
	 DENY(SENSITIVE_RESULT), .msg = "\"oncology\""},
	{.name = "results: ONCOLOGY", .purpose = POLICY_RESULTS, .category = "ONCOLOGY",
	 DENY(SENSITIVE_RESULT)},
	{.name = "results: Hiv", .purpose = POLICY_RESULTS, .category = "Hiv",
	 DENY(SENSITIVE_RESULT)},
	{.name = "results: genetics with consent", .purpose = POLICY_RESULTS,
	 .category = "genetics", DENY(SENSITIVE_RESULT)},
	{.name = "results: Psychiatry", .purpose = POLICY_RESULTS, .category = "Psychiatry",
	 DENY(SENSITIVE_RESULT)},
	{.name = "results: subcategory", .purpose = POLICY_RESULTS, .category = "oncology/breast",
	 DENY(SENSITIVE_RESULT)},
	{.name = "results: a longer word is not the category", .purpose = POLICY_RESULTS,
	 .category = "hivemind", ALLOW},
	{.name = "results: no category", .purpose = POLICY_RESULTS, DENY(SENSITIVE_RESULT)},
	{.name = "results: no consent before sensitive", .purpose = POLICY_RESULTS,
	 .category = "psychiatry", .consent = CS_NONE, DENY(NO_CONSENT)},
	{.name = "results: configured list, default gone", .purpose = POLICY_RESULTS,
	 .category = "oncology", .setup = org_sensitive_derm, ALLOW},
	{.name = "results: configured list", .purpose = POLICY_RESULTS,
	 .category = "Dermatology", .setup = org_sensitive_derm, DENY(SENSITIVE_RESULT)},
	{.name = "results: Hebrew category", .purpose = POLICY_RESULTS, .category = "אונקולוגיה",
	 .setup = org_sensitive_he_ru, DENY(SENSITIVE_RESULT)},
	{.name = "results: Russian category, other case", .purpose = POLICY_RESULTS,
	 .category = "ОНКОЛОГИЯ", .setup = org_sensitive_he_ru, DENY(SENSITIVE_RESULT)},
	{.name = "results: category not UTF-8", .purpose = POLICY_RESULTS,
	 .category = "lip\xc3ids", DENY(SENSITIVE_RESULT), .msg = "not valid UTF-8"},
	{.name = "reminder carrying a sensitive category", .purpose = POLICY_REMINDERS,
	 .category = "hiv", DENY(SENSITIVE_RESULT)},

	/* national ID numbers */
	{.name = "Israeli ID in text", .text = ID_TEXT, DENY(NATIONAL_ID_IN_TEXT),
	 .msg = "an Israeli ID number"},
	{.name = "SNILS in text", .purpose = POLICY_REMINDERS, .text = SNILS_TEXT,
	 DENY(NATIONAL_ID_IN_TEXT), .msg = "a SNILS number"},
	{.name = "phone number is not an ID", .text = "Call us at 03-9337423 or +972521234567",
	 ALLOW},
	{.name = "wrong check digit is not an ID", .text = "Reference 123456789", ALLOW},
	{.name = "ID in a free-form reply", .kind = K_FREE, .flags = F_REPLY, .window = W_OPEN,
	 .text = "ת.ז. 039337423 נקלטה", DENY(NATIONAL_ID_IN_TEXT)},
	{.name = "rx before national ID", .purpose = POLICY_MARKETING, .org = O_PHARMA,
	 .text = "Ozempic for 123456782", DENY(RX_PROMOTION)},
	{.name = "sensitive before national ID", .purpose = POLICY_RESULTS, .category = "hiv",
	 .text = ID_TEXT, DENY(SENSITIVE_RESULT)},

	/* quiet hours, Asia/Jerusalem in summer (+03) */
	{.name = "20:59 local", .now = "2026-06-10T17:59:59Z", ALLOW},
	{.name = "21:00 local", .now = "2026-06-10T18:00:00Z",
	 DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z"), .msg = "2026-06-11 08:00 local"},
	{.name = "23:30 local", .now = "2026-06-10T20:30:00Z",
	 DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "07:59 local", .now = "2026-06-11T04:59:00Z",
	 DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "08:00 local", .now = "2026-06-11T05:00:00Z", ALLOW},
	/* Israel's spring-forward night: +02 in the evening, +03 by morning. */
	{.name = "DST start: 23:00 Thursday", .now = "2026-03-26T21:00:00Z",
	 DEFER(QUIET_HOURS, "2026-03-27T05:00:00Z")},
	{.name = "DST start: 01:30 before the jump", .now = "2026-03-26T23:30:00Z",
	 DEFER(QUIET_HOURS, "2026-03-27T05:00:00Z")},
	{.name = "DST start: 03:30 after the jump", .now = "2026-03-27T00:30:00Z",
	 DEFER(QUIET_HOURS, "2026-03-27T05:00:00Z")},
	{.name = "DST start: 08:00 is 05:00Z", .now = "2026-03-27T05:00:00Z", ALLOW},
	{.name = "DST start: 07:30 (+03) waits", .now = "2026-03-27T04:30:00Z",
	 DEFER(QUIET_HOURS, "2026-03-27T05:00:00Z")},
	/* Israel's fall-back night: +03 in the evening, +02 by morning. */
	{.name = "DST end: 23:00 Saturday", .now = "2026-10-24T20:00:00Z",
	 DEFER(QUIET_HOURS, "2026-10-25T06:00:00Z")},
	{.name = "DST end: 01:30 the second time", .now = "2026-10-24T23:30:00Z",
	 DEFER(QUIET_HOURS, "2026-10-25T06:00:00Z")},
	{.name = "DST end: 07:00 (+02) is 05:00Z and waits", .now = "2026-10-25T05:00:00Z",
	 DEFER(QUIET_HOURS, "2026-10-25T06:00:00Z")},
	{.name = "DST end: 08:00 (+02)", .now = "2026-10-25T06:00:00Z", ALLOW},
	{.name = "quiet end inside the gap moves past it", .setup = org_end_in_gap,
	 .now = "2026-03-26T22:30:00Z", DEFER(QUIET_HOURS, "2026-03-27T00:30:00Z"),
	 .msg = "2026-03-27 03:30 local"},
	/* Moscow: +03 all year, no DST */
	{.name = "Moscow winter 22:00", .zone = "Europe/Moscow", .now = "2026-01-15T19:00:00Z",
	 DEFER(QUIET_HOURS, "2026-01-16T05:00:00Z"), .msg = "Europe/Moscow"},
	{.name = "Moscow summer 07:00", .zone = "Europe/Moscow", .now = "2026-07-15T04:00:00Z",
	 DEFER(QUIET_HOURS, "2026-07-15T05:00:00Z")},
	{.name = "Moscow on Israel's DST night", .zone = "Europe/Moscow",
	 .now = "2026-03-26T21:00:00Z", DEFER(QUIET_HOURS, "2026-03-27T05:00:00Z")},
	{.name = "Moscow 20:59", .zone = "Europe/Moscow", .now = "2026-10-24T17:59:00Z", ALLOW},
	{.name = "no contact zone: the organisation's", .zone = "", .setup = org_moscow,
	 .now = "2026-06-10T18:30:00Z", DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z"),
	 .msg = "Europe/Moscow"},
	{.name = "unknown contact zone: the organisation's", .zone = "Mars/Olympus_Mons",
	 .setup = org_moscow, .now = "2026-06-10T18:30:00Z",
	 DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "no zone at all: UTC", .zone = "", .setup = org_bad_zone,
	 .now = "2026-06-10T21:30:00Z", DEFER(QUIET_HOURS, "2026-06-11T08:00:00Z")},
	/* per weekday */
	{.name = "Saturday quiet all day: Friday night to Sunday", .setup = org_saturday_quiet,
	 .now = "2026-06-12T19:00:00Z", DEFER(QUIET_HOURS, "2026-06-14T05:00:00Z")},
	{.name = "Saturday quiet all day: Saturday noon", .setup = org_saturday_quiet,
	 .now = "2026-06-13T09:00:00Z", DEFER(QUIET_HOURS, "2026-06-14T05:00:00Z")},
	{.name = "Friday quiet from 14:00, to Saturday 20:00", .setup = org_friday_short,
	 .now = "2026-06-12T12:00:00Z", DEFER(QUIET_HOURS, "2026-06-13T17:00:00Z")},
	{.name = "Friday 13:59 still open", .setup = org_friday_short,
	 .now = "2026-06-12T10:59:00Z", ALLOW},
	{.name = "Saturday 20:30 in its short window", .setup = org_friday_short,
	 .now = "2026-06-13T17:30:00Z", ALLOW},
	{.name = "no evening quiet: 23:59 goes", .setup = org_late_evening,
	 .now = "2026-06-10T20:59:00Z", ALLOW},
	{.name = "a week without sending time", .setup = org_all_quiet,
	 .now = "2026-06-10T09:00:00Z", DEFER(QUIET_HOURS, "2026-06-11T09:00:00Z")},
	/* what skips quiet hours, and what it skips */
	{.name = "time-critical at 23:00", .flags = F_CRITICAL, .now = "2026-06-10T20:00:00Z",
	 ALLOW},
	{.name = "time-critical still needs consent", .purpose = POLICY_REMINDERS,
	 .flags = F_CRITICAL, .consent = CS_NONE, .now = "2026-06-10T20:00:00Z",
	 DENY(NO_CONSENT)},
	{.name = "time-critical still capped", .purpose = POLICY_MARKETING, .flags = F_CRITICAL,
	 .mkt_sent = 2, .now = "2026-06-10T20:00:00Z", DENY(FREQUENCY_CAP)},
	{.name = "time-critical still spends tier", .purpose = POLICY_REMINDERS,
	 .flags = F_CRITICAL, .tier_n = 1000, .tier_expiry = "2026-06-11T01:00:00Z",
	 .now = "2026-06-10T20:00:00Z", DEFER(TIER_BUDGET, "2026-06-11T01:00:00Z")},
	{.name = "reply at 23:00", .kind = K_FREE, .flags = F_REPLY, .window = W_OPEN,
	 .now = "2026-06-10T20:00:00Z", ALLOW},
	{.name = "in-window message that is no reply waits", .kind = K_FREE, .window = W_OPEN,
	 .now = "2026-06-10T20:00:00Z", DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "quiet hours come before the cap", .purpose = POLICY_MARKETING, .mkt_sent = 5,
	 .now = "2026-06-10T20:00:00Z", DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "national ID before quiet hours", .text = ID_TEXT,
	 .now = "2026-06-10T20:00:00Z", DENY(NATIONAL_ID_IN_TEXT)},

	/* frequency caps */
	{.name = "marketing 1 of 2", .purpose = POLICY_MARKETING, .mkt_sent = 1, ALLOW},
	{.name = "marketing at the cap", .purpose = POLICY_MARKETING, .mkt_sent = 2,
	 DENY(FREQUENCY_CAP), .msg = "already had 2 marketing messages in the last 7 days"},
	{.name = "marketing past the cap", .purpose = POLICY_MARKETING, .mkt_sent = 3,
	 DENY(FREQUENCY_CAP)},
	{.name = "survey 0 of 1", .purpose = POLICY_SURVEYS, ALLOW},
	{.name = "survey at the cap", .purpose = POLICY_SURVEYS, .surveys_sent = 1,
	 DENY(FREQUENCY_CAP), .msg = "in the last 30 days (the limit is 1)"},
	{.name = "caps off", .purpose = POLICY_MARKETING, .mkt_sent = 100, .surveys_sent = 100,
	 .setup = org_caps_off, ALLOW},
	{.name = "reminders ignore the marketing count", .purpose = POLICY_REMINDERS,
	 .mkt_sent = 100, .surveys_sent = 100, ALLOW},
	{.name = "marketing count does not cap surveys", .purpose = POLICY_SURVEYS,
	 .mkt_sent = 100, ALLOW},
	{.name = "cap over hours", .purpose = POLICY_MARKETING, .mkt_sent = 1,
	 .setup = org_cap_36h, DENY(FREQUENCY_CAP), .msg = "last 36 hours"},

	/* messaging-tier budget */
	{.name = "tier one below the limit", .tier_n = 999, ALLOW},
	{.name = "tier at the limit", .tier_n = 1000, .tier_expiry = "2026-06-10T09:42:00Z",
	 DEFER(TIER_BUDGET, "2026-06-10T09:42:00Z")},
	{.name = "tier past the limit", .tier_n = 1500, .tier_expiry = "2026-06-10T10:00:00Z",
	 DEFER(TIER_BUDGET, "2026-06-10T10:00:00Z")},
	{.name = "tier full, recipient already counted", .tier_n = 1000, .flags = F_COUNTED,
	 ALLOW},
	{.name = "tier full, window open", .tier_n = 1000, .window = W_OPEN, ALLOW},
	{.name = "tier 250 at its limit, expiry unknown", .tier_n = 250, .setup = org_tier250,
	 DEFER(TIER_BUDGET, "2026-06-10T09:01:00Z")},
	{.name = "tier expiry already past", .tier_n = 1000,
	 .tier_expiry = "2026-06-10T08:00:00Z", DEFER(TIER_BUDGET, "2026-06-10T09:01:00Z")},
	{.name = "tier unlimited", .tier_n = 5000000, .setup = org_tier_unlimited, ALLOW},
	{.name = "quiet hours before tier", .tier_n = 1000, .tier_expiry = "2026-06-10T21:00:00Z",
	 .now = "2026-06-10T20:00:00Z", DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "cap before tier", .purpose = POLICY_MARKETING, .mkt_sent = 2, .tier_n = 1000,
	 DENY(FREQUENCY_CAP)},

	/* campaign halted by its quality guard */
	{.name = "campaign halted", .purpose = POLICY_MARKETING, .flags = F_HALTED,
	 DENY(CAMPAIGN_HALTED)},
	{.name = "halted: quiet hours first", .purpose = POLICY_MARKETING, .flags = F_HALTED,
	 .now = "2026-06-10T20:00:00Z", DEFER(QUIET_HOURS, "2026-06-11T05:00:00Z")},
	{.name = "halted: tier first", .purpose = POLICY_MARKETING, .flags = F_HALTED,
	 .tier_n = 1000, .tier_expiry = "2026-06-10T10:00:00Z",
	 DEFER(TIER_BUDGET, "2026-06-10T10:00:00Z")},
	{.name = "halted: consent first", .purpose = POLICY_MARKETING, .flags = F_HALTED,
	 .consent = CS_WITHDRAWN, DENY(CONSENT_WITHDRAWN)},
};
/* clang-format on */

static int64_t iso(const char *s)
{
	int64_t ms = 0;
	if (time_parse_iso(s, &ms) != 0)
		fail_msg("bad time in table: %s", s);
	return ms;
}

/* clang-format off */
static const enum policy_template_status tpl_statuses[] = {
	[TS_APPROVED] = POLICY_TPL_APPROVED, [TS_PENDING] = POLICY_TPL_PENDING,
	[TS_REJECTED] = POLICY_TPL_REJECTED, [TS_PAUSED] = POLICY_TPL_PAUSED,
	[TS_DISABLED] = POLICY_TPL_DISABLED, [TS_UNKNOWN] = POLICY_TPL_UNKNOWN,
};

static const enum policy_template_category tpl_categories[] = {
	[TC_MARKETING] = POLICY_CAT_MARKETING,
	[TC_UTILITY] = POLICY_CAT_UTILITY,
	[TC_AUTH] = POLICY_CAT_AUTHENTICATION,
	[TC_UNKNOWN] = POLICY_CAT_UNKNOWN,
};

static const enum policy_org_kind org_kinds[] = {
	[O_CLINIC] = POLICY_ORG_CLINIC,   [O_PHARMA] = POLICY_ORG_PHARMA,
	[O_PHARMACY] = POLICY_ORG_PHARMACY, [O_HOSPITAL] = POLICY_ORG_HOSPITAL,
	[O_EVENTS] = POLICY_ORG_EVENTS,
};
/* clang-format on */

static void run_case(const struct pcase *t)
{
	int64_t now = iso(t->now ? t->now : "2026-06-10T09:00:00Z");
	int64_t consent_at = iso("2026-05-01T10:00:00Z");

	struct policy_contact c = {0};
	c.erased = !!(t->flags & F_ERASED);
	c.phone_valid = !(t->flags & F_INVALID);
	c.zone = t->zone ? t->zone : "Asia/Jerusalem";
	c.opted_out = !!(t->flags & F_OPTED_OUT);
	c.marketing_stopped = !!(t->flags & F_MKT_STOPPED);
	for (int p = 0; p < POLICY_PURPOSE_COUNT; p++) {
		c.consents[p] = (struct policy_consent){POLICY_CONSENT_GRANTED, consent_at, "web"};
		if (t->flags & F_OTHERS_WITHDRAWN && p != (int)t->purpose)
			c.consents[p].status = POLICY_CONSENT_WITHDRAWN;
	}
	if ((unsigned)t->purpose < POLICY_PURPOSE_COUNT) {
		struct policy_consent *pc = &c.consents[t->purpose];
		switch (t->consent) {
		case CS_NONE:
			*pc = (struct policy_consent){POLICY_CONSENT_NONE, 0, NULL};
			break;
		case CS_REFUSED:
			*pc = (struct policy_consent){POLICY_CONSENT_REFUSED, consent_at, "paper"};
			break;
		case CS_WITHDRAWN:
			*pc = (struct policy_consent){POLICY_CONSENT_WITHDRAWN, consent_at,
						      "whatsapp"};
			break;
		case CS_REGRANTED:
			/* withdrawn on 2026-05-01, granted again on 2026-06-01: the
			 * latest record is what the store hands over */
			*pc = (struct policy_consent){POLICY_CONSENT_GRANTED,
						      iso("2026-06-01T08:00:00Z"), "whatsapp"};
			break;
		default:
			break;
		}
	}

	struct policy_message m = {0};
	m.purpose = t->purpose;
	m.kind = t->kind == K_FREE ? POLICY_FREEFORM : POLICY_TEMPLATE;
	m.is_reply = !!(t->flags & F_REPLY);
	m.tpl.name = "appt_reminder";
	m.tpl.language = "he";
	m.tpl.status = tpl_statuses[t->tstatus];
	if (t->tcat == TC_FIT)
		m.tpl.category =
		    t->purpose == POLICY_MARKETING ? POLICY_CAT_MARKETING : POLICY_CAT_UTILITY;
	else
		m.tpl.category = tpl_categories[t->tcat];
	m.text = t->text ? t->text : "Hello, see you on Sunday at 10:00 with Dr Levi.";
	m.result_category = t->category;
	m.campaign_halted = !!(t->flags & F_HALTED);
	m.time_critical = !!(t->flags & F_CRITICAL);

	struct policy_org o;
	policy_org_init(&o, org_kinds[t->org], "Asia/Jerusalem");
	o.formulary = starter_f;
	if (t->setup)
		t->setup(&o);

	struct policy_counters k = {0};
	k.marketing_sent_in_period = t->mkt_sent;
	k.surveys_sent_in_period = t->surveys_sent;
	k.tier_recipients_24h = t->tier_n;
	k.contact_already_counted_in_24h = !!(t->flags & F_COUNTED);
	k.tier_oldest_expiry = t->tier_expiry ? iso(t->tier_expiry) : 0;
	switch (t->window) {
	case W_CLOSED:
		k.window_expires_at = now - 2 * 86400000LL; /* wrote three days ago */
		break;
	case W_OPEN:
		k.window_expires_at = now + 2 * 3600000LL;
		break;
	case W_NEVER:
		k.window_expires_at = 0;
		break;
	case W_ENDS_NOW:
		k.window_expires_at = now;
		break;
	case W_ENDS_NEXT_MS:
		k.window_expires_at = now + 1;
		break;
	}

	struct policy_input in = {&c, &m, &o, &k};
	struct policy_decision d;
	memset(&d, 0x5a, sizeof d); /* no field may be left over */
	policy_decide(&in, now, &d);

	if (d.outcome != t->outcome || d.reason != t->reason)
		fail_msg("\"%s\": got %s/%s (%s), want %s/%s", t->name,
			 policy_outcome_name(d.outcome), policy_reason_code(d.reason), d.message,
			 policy_outcome_name(t->outcome), policy_reason_code(t->reason));
	int64_t want_until = t->until ? iso(t->until) : 0;
	if (d.until != want_until) {
		char got[TIME_ISO_MAX];
		fail_msg("\"%s\": until %s, want %s", t->name, time_format_iso(d.until, got),
			 t->until ? t->until : "0");
	}
	if (!memchr(d.message, '\0', sizeof d.message) || d.message[0] == '\0')
		fail_msg("\"%s\": no message", t->name);
	if (t->msg && !strstr(d.message, t->msg))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", t->name, d.message, t->msg);
	/* A decision never repeats an identity number it found. */
	if (strstr(d.message, "123456782") || strstr(d.message, "039337423") ||
	    strstr(d.message, "445 95"))
		fail_msg("\"%s\": message leaks the number: %s", t->name, d.message);
}

static void test_decisions(void **state)
{
	(void)state;
	size_t n = sizeof cases / sizeof cases[0];
	assert_true(n >= 80);
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i]);
	/* every reason is reached by some row */
	for (int r = 1; r < POLICY_R_COUNT; r++) {
		int seen = 0;
		for (size_t i = 0; i < n && !seen; i++)
			seen = (int)cases[i].reason == r;
		if (!seen)
			fail_msg("no row for reason %s", policy_reason_code((enum policy_reason)r));
	}
}

/* The same input gives the same decision (no hidden state). */
static void test_decide_is_pure(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i += 7)
			run_case(&cases[i]);
}

static void test_names(void **state)
{
	(void)state;
	static const char *const contract[] = {
	    "contact_erased",
	    "invalid_number",
	    "no_consent",
	    "consent_refused",
	    "consent_withdrawn",
	    "opted_out",
	    "marketing_stopped",
	    "window_closed",
	    "template_not_approved",
	    "template_category_mismatch",
	    "rx_promotion",
	    "sensitive_result",
	    "national_id_in_text",
	    "quiet_hours",
	    "frequency_cap",
	    "tier_budget",
	    "campaign_halted",
	};
	assert_int_equal(sizeof contract / sizeof contract[0], POLICY_R_COUNT - 1);
	for (int i = 0; i < POLICY_R_COUNT - 1; i++) {
		assert_string_equal(policy_reason_code((enum policy_reason)(i + 1)), contract[i]);
		assert_int_equal(policy_reason_parse(contract[i]), i + 1);
	}
	assert_string_equal(policy_reason_code(POLICY_R_NONE), "none");
	assert_string_equal(policy_reason_code((enum policy_reason)99), "unknown");
	assert_int_equal(policy_reason_parse("nope"), -1);
	assert_int_equal(policy_reason_parse(NULL), -1);
	assert_string_equal(policy_outcome_name(POLICY_DEFER), "defer");
	assert_string_equal(policy_purpose_name(POLICY_SURVEYS), "surveys");
	assert_int_equal(policy_purpose_parse("marketing"), POLICY_MARKETING);
	assert_int_equal(policy_purpose_parse("spam"), -1);
	assert_int_equal(policy_org_kind_parse("pharma"), POLICY_ORG_PHARMA);
	assert_int_equal(policy_org_kind_parse("bakery"), -1);
	assert_int_equal(policy_template_status_parse("PAUSED"), POLICY_TPL_PAUSED);
	assert_int_equal(policy_template_status_parse("approved"), POLICY_TPL_APPROVED);
	assert_int_equal(policy_template_status_parse("LIMBO"), POLICY_TPL_UNKNOWN);
	assert_int_equal(policy_template_category_parse("Utility"), POLICY_CAT_UTILITY);
	assert_int_equal(policy_template_category_parse(NULL), POLICY_CAT_UNKNOWN);

	struct policy_org o;
	policy_org_init(&o, POLICY_ORG_HOSPITAL, "Asia/Jerusalem");
	assert_int_equal(o.quiet[3].quiet_end, 480);
	assert_int_equal(o.quiet[3].quiet_start, 1260);
	assert_int_equal(o.marketing_cap.max, 2);
	assert_int_equal(o.survey_cap.max, 1);
	assert_int_equal(o.n_sensitive, 4);
	assert_int_equal(o.tier_limit, POLICY_TIER_1K);
}

/* ---- formulary ---- */

static void test_formulary_scripts_and_case(void **state)
{
	(void)state;
	char w[64];
	assert_true(formulary_count(starter_f) >= 100);
	static const struct {
		const char *text;
		const char *entry; /* NULL: no match */
	} rows[] = {
	    {"OZEMPIC now", "ozempic"},
	    {"Оземпик в наличии", "оземпик"},
	    {"אוזמפיק במבצע", "אוזמפיק"},
	    {"amoxicillin 500", "amoxicillin"},
	    {"АМОКСИЦИЛЛИН", "амоксициллин"},
	    {"אמוקסיצילין לילדים", "אמוקסיצילין"},
	    {"Semaglutide!", "semaglutide"},
	    {"oxycodone.", "oxycodone"},
	    {"וּבְאוֹזֶמְפִּיק", "אוזמפיק"}, /* pointed, with two prefixes */
	    {"מונג'רו זמין", "מונג'רו"},
	    {"Ozempic's price", "ozempic"},
	    {"Ｏｚｅｍｐｉｃ", "ozempic"}, /* full-width letters fold too */
	    {"оземпиком", "оземпик"},
	    {"инсулином гларгином", "инсулин гларгин"},
	    {"saxenda", "saxenda"},
	    {"саксенду", "саксенда"},
	    /* not matches */
	    {"ozempicky", NULL},
	    {"pre-ozempic era", "ozempic"}, /* a hyphen separates words */
	    {"amoxicillinase", NULL},
	    {"oxy codone", NULL},
	    {"insulin", NULL},
	    {"glargine insulin", NULL},
	    {"ליריקה", NULL},	 /* Lyrica is left out in Hebrew: it is "lyric poetry" */
	    {"אוזמפיקים", NULL}, /* a Hebrew plural is another word */
	    {"оземпиковый", NULL},
	    {"", NULL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int r = formulary_match(starter_f, rows[i].text, w, sizeof w);
		if (r != (rows[i].entry != NULL))
			fail_msg("\"%s\": match=%d (%s)", rows[i].text, r, w);
		if (rows[i].entry && strcmp(w, rows[i].entry) != 0)
			fail_msg("\"%s\": matched \"%s\", want \"%s\"", rows[i].text, w,
				 rows[i].entry);
	}
}

static void test_formulary_extend(void **state)
{
	(void)state;
	struct formulary *f = formulary_new_empty();
	char w[8];
	assert_int_equal(formulary_count(f), 0);
	assert_int_equal(formulary_match(f, "ozempic", w, sizeof w), 0);
	assert_int_equal(formulary_add(f, "Super Pill Forte"), 0);
	assert_int_equal(formulary_add(f, "super  PILL forte"), 0); /* the same entry */
	assert_int_equal(formulary_count(f), 1);
	assert_int_equal(formulary_add(f, "super pill"), 0); /* a prefix of it: another */
	assert_int_equal(formulary_count(f), 2);
	assert_int_equal(formulary_match(f, "try SUPER PILL FORTE today", w, sizeof w), 1);
	assert_string_equal(w, "Super P"); /* truncated to the buffer */
	assert_int_equal(formulary_match(f, "super pillow", NULL, 0), 0);
	assert_int_equal(formulary_add(f, ""), CW_EINVAL);
	assert_int_equal(formulary_add(f, " , "), CW_EINVAL);
	assert_int_equal(formulary_add(f, "a b c d e f g"), CW_EINVAL);
	assert_int_equal(formulary_add(f, "bad \xc3"), CW_EINVAL);
	assert_int_equal(formulary_add(f, NULL), CW_EINVAL);
	char longname[FORMULARY_MAX_ENTRY_LEN + 8];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(formulary_add(f, longname), CW_EINVAL);
	assert_true(formulary_match(f, "bad \xc3", w, sizeof w) < 0);
	assert_int_equal(formulary_match(NULL, "x", w, sizeof w), 0);

	/* Many additions: the table grows and every entry is still found. */
	char name[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "drug%d", i);
		assert_int_equal(formulary_add(f, name), 0);
	}
	assert_int_equal(formulary_count(f), 3002);
	for (int i = 0; i < 3000; i += 97) {
		char text[64];
		snprintf(text, sizeof text, "buy DRUG%d now", i);
		assert_int_equal(formulary_match(f, text, NULL, 0), 1);
	}
	assert_int_equal(formulary_match(f, "buy drug3000 now", NULL, 0), 0);
	formulary_free(f);
	formulary_free(NULL);
}

static void test_formulary_long_text(void **state)
{
	(void)state;
	/* The drug sits past FORMULARY_MAX_TEXT: not read. Before it: found. */
	size_t n = FORMULARY_MAX_TEXT + 64;
	char *text = malloc(n + 1);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		text[i] = i % 8 == 7 ? ' ' : 'x';
	memcpy(text + FORMULARY_MAX_TEXT + 8, " viagra ", 8);
	text[n] = '\0';
	assert_int_equal(formulary_match(starter_f, text, NULL, 0), 0);
	memcpy(text + 100, " viagra ", 8);
	assert_int_equal(formulary_match(starter_f, text, NULL, 0), 1);
	free(text);
}

static int setup(void **state)
{
	(void)state;
	starter_f = formulary_new_starter();
	extended_f = formulary_new_starter();
	if (formulary_add(extended_f, "Curaxol") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	formulary_free(starter_f);
	formulary_free(extended_f);
	time_thread_release();
	text_thread_release();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decisions),
	    cmocka_unit_test(test_decide_is_pure),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_formulary_scripts_and_case),
	    cmocka_unit_test(test_formulary_extend),
	    cmocka_unit_test(test_formulary_long_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
