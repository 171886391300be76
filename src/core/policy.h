/*
 * policy.h — the policy engine: one decision per outgoing message.
 *
 * Every message carewire would send passes through policy_decide() first
 * (DESIGN.md §2, §7); there is no send path around it. The decision is
 * allow, deny(reason) or defer(reason, until). policy_decide() is a pure
 * function over plain data: it reads no store and no clock of its own, so
 * the caller (the outbox producer) loads the contact, its consents, the
 * counters and the organisation's settings, asks, and records the decision
 * it gets back. The same inputs always give the same decision.
 *
 * The checks run in a fixed order and the first that fails decides
 * (docs/internals/policy.md has the reasoning behind each):
 *
 *   1  contact_erased               the contact was erased (right to be forgotten)
 *   2  invalid_number               the phone number is not a valid WhatsApp number
 *   3  no_consent / consent_refused / consent_withdrawn
 *                                   no granted consent for the message's purpose
 *                                   (a service reply needs none: see below)
 *   4  opted_out                    the person sent STOP (only service replies pass)
 *   5  marketing_stopped            the person stopped marketing in WhatsApp (131050)
 *   6  window_closed                free-form outside the 24-hour window
 *   7  template_not_approved        the template's status is not APPROVED
 *   8  template_category_mismatch   the template's category does not fit the purpose
 *   9  rx_promotion                 a pharma/pharmacy marketing text names a prescription drug
 *  10  sensitive_result             a result in a sensitive category (or none given)
 *  11  national_id_in_text          an ID number in the text (natid.h)
 *  12  quiet_hours        (defer)   quiet hours in the contact's zone
 *  13  frequency_cap                marketing or survey cap reached
 *  14  tier_budget        (defer)   the number's business-initiated recipient budget is spent
 *  15  campaign_halted              the campaign was stopped by its quality guard
 *
 * "A reply" below means a message with is_reply set while the 24-hour window
 * is open: it answers something the person just wrote. Replies are not
 * business-initiated: they are not held by quiet hours and spend no tier
 * budget. A reply with purpose service ("a service reply": answering the
 * person) needs no consent record and passes an opt-out: that is how the
 * one confirmation of STOP goes out, and how a person who opted out and
 * then asks a question still gets an answer.
 *
 * Layer: core. Uses base/time.h (IANA zones through ICU) for quiet hours,
 * core/natid.h and core/formulary.h.
 */
#ifndef CW_POLICY_H
#define CW_POLICY_H

#include <stdint.h>

struct formulary;

/* What a message is for. Each purpose has its own consent record. */
enum policy_purpose {
	POLICY_SERVICE = 0, /* answering the person; order status they asked for */
	POLICY_REMINDERS,   /* appointment, pickup and recall reminders */
	POLICY_RESULTS,	    /* test results themselves (not "your results are ready") */
	POLICY_SURVEYS,	    /* feedback and satisfaction surveys */
	POLICY_MARKETING,   /* promotions, invitations, newsletters */
	POLICY_PURPOSE_COUNT
};

enum policy_outcome { POLICY_ALLOW = 0, POLICY_DENY, POLICY_DEFER };

/* Stable reason codes (DESIGN.md §6); the names are a contract. */
enum policy_reason {
	POLICY_R_NONE = 0, /* allowed */
	POLICY_R_CONTACT_ERASED,
	POLICY_R_INVALID_NUMBER,
	POLICY_R_NO_CONSENT,
	POLICY_R_CONSENT_REFUSED,
	POLICY_R_CONSENT_WITHDRAWN,
	POLICY_R_OPTED_OUT,
	POLICY_R_MARKETING_STOPPED,
	POLICY_R_WINDOW_CLOSED,
	POLICY_R_TEMPLATE_NOT_APPROVED,
	POLICY_R_TEMPLATE_CATEGORY_MISMATCH,
	POLICY_R_RX_PROMOTION,
	POLICY_R_SENSITIVE_RESULT,
	POLICY_R_NATIONAL_ID_IN_TEXT,
	POLICY_R_QUIET_HOURS,
	POLICY_R_FREQUENCY_CAP,
	POLICY_R_TIER_BUDGET,
	POLICY_R_CAMPAIGN_HALTED,
	POLICY_R_COUNT
};

/* ---- The contact ---- */

enum policy_consent_status {
	POLICY_CONSENT_NONE = 0, /* never asked or no record */
	POLICY_CONSENT_GRANTED,
	POLICY_CONSENT_REFUSED,
	POLICY_CONSENT_WITHDRAWN,
};

/* The latest consent record for one purpose (a history folds to its last
 * entry: withdrawn then granted again is granted). */
struct policy_consent {
	enum policy_consent_status status;
	int64_t at;	    /* UTC ms of that record; 0 if none */
	const char *source; /* "paper", "web", "whatsapp", "api", "import"; borrowed, may be NULL */
};

struct policy_contact {
	int erased;	 /* erased on request: nothing is ever sent again */
	int phone_valid; /* the number is valid E.164 and on WhatsApp as far as we know */
	/* IANA zone of the contact ("Asia/Jerusalem"); NULL, "" or an unknown
	 * zone falls back to the organisation's zone. Borrowed. */
	const char *zone;
	/* The person sent an opt-out word (he/ru/en) or pressed the opt-out
	 * button: nothing business-initiated goes to them any more, whatever
	 * the purpose and whatever the consents say; only service replies (see
	 * above) pass, the first of which is the single confirmation. Cleared
	 * when the person opts back in. */
	int opted_out;
	/* The person stopped marketing messages from this business inside
	 * WhatsApp (the Cloud API answered 131050). Marketing purpose and any
	 * MARKETING-category template are refused; the rest is unaffected. */
	int marketing_stopped;
	struct policy_consent consents[POLICY_PURPOSE_COUNT]; /* by enum policy_purpose */
};

/* ---- The message ---- */

enum policy_kind {
	POLICY_FREEFORM = 0, /* text, interactive, media: needs an open window */
	POLICY_TEMPLATE,
};

enum policy_template_status {
	POLICY_TPL_UNKNOWN = 0,
	POLICY_TPL_APPROVED,
	POLICY_TPL_PENDING,
	POLICY_TPL_REJECTED,
	POLICY_TPL_PAUSED,
	POLICY_TPL_DISABLED,
};

enum policy_template_category {
	POLICY_CAT_UNKNOWN = 0,
	POLICY_CAT_MARKETING,
	POLICY_CAT_UTILITY,
	POLICY_CAT_AUTHENTICATION,
};

struct policy_template {
	const char *name;     /* borrowed; for the decision message */
	const char *language; /* borrowed */
	enum policy_template_status status;
	enum policy_template_category category;
};

struct policy_message {
	enum policy_purpose purpose;
	enum policy_kind kind;
	/* Answers an inbound message from this person; counts only while the
	 * window is open (window_expires_at). */
	int is_reply;
	struct policy_template tpl; /* read when kind is POLICY_TEMPLATE */
	/* All human-visible text, concatenated by the caller: body, header,
	 * footer, button titles, list rows, template parameters. UTF-8, borrowed;
	 * NULL is "". */
	const char *text;
	/* For POLICY_RESULTS: the result's category ("oncology", "lipids",
	 * "oncology/breast"). A results message without one is refused as
	 * sensitive; a category on any other purpose is checked too. */
	const char *result_category;
	int campaign_halted; /* its campaign was stopped by the quality guard */
	/* Time-critical: a day-of update that must not wait for morning (a
	 * reminder two hours before a 07:30 appointment, a road closure before
	 * an event). Skips quiet hours and nothing else: consent, caps and the
	 * tier budget still apply. */
	int time_critical;
};

/* ---- The organisation ---- */

enum policy_org_kind {
	POLICY_ORG_HOSPITAL = 0,
	POLICY_ORG_CLINIC,
	POLICY_ORG_DIAGNOSTIC,
	POLICY_ORG_PHARMACY,
	POLICY_ORG_PHARMA,
	POLICY_ORG_EVENTS,
	POLICY_ORG_KIND_COUNT
};

/* One local day's sending time: messages may go from quiet_end until
 * quiet_start (minutes after local midnight, 0..1440); before quiet_end and
 * from quiet_start on it is quiet. The default 21:00–08:00 every night is
 * {480, 1260} on every day. A day with quiet_end >= quiet_start is quiet
 * all day (for example a Saturday). The night "Friday 21:00 – Saturday
 * 08:00" is Friday's quiet_start and Saturday's quiet_end. */
struct policy_day {
	int16_t quiet_end;
	int16_t quiet_start;
};

/* A frequency cap: at most max messages of one purpose per contact in a
 * rolling period. max 0 means no cap. */
struct policy_cap {
	int max;
	int64_t period_ms;
};

#define POLICY_MAX_SENSITIVE 16

/* Messaging tiers: unique business-initiated recipients per rolling 24 h
 * per phone number. 0 is unlimited. */
#define POLICY_TIER_250	      250
#define POLICY_TIER_1K	      1000
#define POLICY_TIER_10K	      10000
#define POLICY_TIER_100K      100000
#define POLICY_TIER_UNLIMITED 0

struct policy_org {
	enum policy_org_kind kind;
	const char *zone;		 /* IANA zone, the fallback for contacts; borrowed */
	struct policy_day quiet[7];	 /* by local weekday, 0 = Sunday */
	struct policy_cap marketing_cap; /* default 2 per 7 days */
	struct policy_cap survey_cap;	 /* default 1 per 30 days */
	int64_t tier_limit;		 /* default POLICY_TIER_1K */
	/* Result categories never sent over WhatsApp, compared without regard
	 * to case; an entry also covers its subcategories ("oncology" covers
	 * "oncology/breast" and "oncology.lung"). Default: oncology, hiv,
	 * genetics, psychiatry. Borrowed strings. */
	const char *sensitive[POLICY_MAX_SENSITIVE];
	int n_sensitive;
	/* Prescription drugs never promoted (pharma and pharmacy
	 * organisations): the starter list plus the organisation's own words.
	 * Borrowed. NULL for such an organisation refuses its marketing, since
	 * it cannot be checked. */
	const struct formulary *formulary;
};

/* ---- Counters the caller reads from the store ---- */

struct policy_counters {
	int marketing_sent_in_period; /* to this contact, in marketing_cap.period_ms up to now */
	int surveys_sent_in_period;   /* to this contact, in survey_cap.period_ms up to now */
	/* Distinct contacts this phone number sent a business-initiated
	 * message (one sent while that contact's window was closed) in the
	 * last 24 hours. */
	int64_t tier_recipients_24h;
	/* This contact is already among them: another message to them spends
	 * no more budget. */
	int contact_already_counted_in_24h;
	/* When the oldest of those recipients leaves the rolling 24 h (UTC ms):
	 * when budget frees. 0 if unknown. */
	int64_t tier_oldest_expiry;
	/* The 24-hour customer-service window: last inbound message + 24 h
	 * (UTC ms), 0 if the person never wrote. Open while now < this. */
	int64_t window_expires_at;
};

struct policy_input {
	const struct policy_contact *contact;
	const struct policy_message *msg;
	const struct policy_org *org;
	const struct policy_counters *counters;
};

#define POLICY_MESSAGE_MAX 256

struct policy_decision {
	enum policy_outcome outcome;
	enum policy_reason reason;
	/* A sentence a person can read, in English ("Marketing consent was
	 * withdrawn on 2026-11-01 (source: whatsapp)."). Never contains the
	 * phone number, the message text or an ID number found in it. */
	char message[POLICY_MESSAGE_MAX];
	/* POLICY_DEFER: the UTC ms at which the message may go (the end of
	 * quiet hours in the contact's zone, or when tier budget frees);
	 * 0 otherwise. */
	int64_t until;
};

/* Fills org with the defaults: kind as given, zone as given (borrowed),
 * quiet hours 21:00–08:00 every day, marketing 2 per 7 days, surveys 1 per
 * 30 days, tier POLICY_TIER_1K, sensitive categories oncology, hiv,
 * genetics, psychiatry, no formulary. */
void policy_org_init(struct policy_org *org, enum policy_org_kind kind, const char *zone);

/* Decides whether in->msg may go to in->contact at now_ms (UTC ms) and
 * writes the decision into out. All of in's pointers must be non-NULL.
 * Pure: no I/O, no shared state; safe from any thread. Quiet hours read the
 * zone database through base/time.h. */
void policy_decide(const struct policy_input *in, int64_t now_ms, struct policy_decision *out);

/* Returns the stable snake_case code of reason ("consent_withdrawn"); "none"
 * for POLICY_R_NONE and "unknown" outside the enum. Static. */
const char *policy_reason_code(enum policy_reason reason);

/* Parses a code written by policy_reason_code(). Returns the reason, or -1
 * for an unknown code. */
int policy_reason_parse(const char *code);

/* Returns "allow", "deny" or "defer". Static. */
const char *policy_outcome_name(enum policy_outcome outcome);

/* Returns "service", "reminders", "results", "surveys" or "marketing";
 * policy_purpose_parse() maps back (-1 if unknown). */
const char *policy_purpose_name(enum policy_purpose purpose);
int policy_purpose_parse(const char *name);

/* Parse the Cloud API's template status ("APPROVED", "PAUSED", ...) and
 * category ("MARKETING", "UTILITY", "AUTHENTICATION"), without regard to
 * case. Unknown strings give POLICY_TPL_UNKNOWN / POLICY_CAT_UNKNOWN. */
enum policy_template_status policy_template_status_parse(const char *s);
enum policy_template_category policy_template_category_parse(const char *s);

/* Parses an organisation kind ("hospital", "clinic", "diagnostic",
 * "pharmacy", "pharma", "events"). Returns the kind or -1. */
int policy_org_kind_parse(const char *s);

#endif
