/*
 * phone.h — phone numbers in carewire: everything stored and sent is E.164
 * ("+972521234567"), normalised here and nowhere else.
 *
 * The work is done by libphonenumber (Google's metadata for every country's
 * numbering plan) through a small C++ adapter, phone_adapter.cc; this header
 * is plain C. The rule is "never guess": a number that libphonenumber does
 * not call valid for its country is rejected with a stable reason, not
 * patched up. A person typing "052-123-4567" in Israel, "8 (912) 345-67-89"
 * in Russia or "+7 701 123 4567" (Kazakhstan, sharing +7 with Russia) gets
 * the same E.164 form a WhatsApp webhook carries as wa_id ("972521234567").
 *
 * Base layer: knows nothing of contacts or WhatsApp accounts. Every function
 * is thread-safe.
 */
#ifndef CW_PHONE_H
#define CW_PHONE_H

#include <stddef.h>

/* E.164 is '+' and at most 15 digits; with the NUL that is 17 bytes. */
#define PHONE_E164_MAX 17
/* The longest raw input accepted (formatting included). */
#define PHONE_RAW_MAX 64
/* A region code is two letters, or "001" for non-geographic numbers. */
#define PHONE_REGION_MAX 4

/* What kind of line a number is, as libphonenumber's metadata says. */
enum phone_type {
	PHONE_TYPE_UNKNOWN = 0,
	PHONE_TYPE_FIXED_LINE,
	PHONE_TYPE_MOBILE,
	PHONE_TYPE_FIXED_LINE_OR_MOBILE, /* regions that cannot tell (US, ...) */
	PHONE_TYPE_TOLL_FREE,
	PHONE_TYPE_PREMIUM_RATE,
	PHONE_TYPE_SHARED_COST,
	PHONE_TYPE_VOIP,
	PHONE_TYPE_PERSONAL,
	PHONE_TYPE_PAGER,
	PHONE_TYPE_UAN,
	PHONE_TYPE_VOICEMAIL,
};

/* The outcome of a normalisation. On success e164, region and type are set
 * and reason/message are NULL; on failure e164 and region are "" and reason
 * is one of the stable snake_case codes below, with message a short English
 * sentence for people. Both are static strings and never contain the number
 * (they may be logged and returned in API errors).
 *
 *	not_a_number          empty, letters or stray symbols, '+' in the middle
 *	invalid_country_code  no '+'/'00' and no default region, or an unknown
 *	                      country calling code
 *	too_short             fewer digits than any number of that country
 *	too_long              more digits than any number of that country
 *	invalid_for_region    a plausible length, but not a number that exists
 *	                      in that country's numbering plan
 */
struct phone_result {
	char e164[PHONE_E164_MAX];     /* "+972521234567" */
	char region[PHONE_REGION_MAX]; /* "IL", "RU", "KZ"; "001" non-geographic */
	enum phone_type type;
	const char *reason;  /* NULL on success */
	const char *message; /* NULL on success */
};

/* Normalises a number as a person typed it: digits with any of spaces,
 * dashes, dots, slashes and parentheses; an international number starts
 * with '+' or "00", otherwise it is read as a national number of
 * default_region ("IL", "RU", "KZ"; ISO 3166 alpha-2, case-insensitive;
 * NULL or "" when there is no default). National trunk prefixes are
 * understood (Israel's 0, Russia's 8). Letters (vanity numbers), extensions
 * and anything else are rejected.
 * Returns 0 with out filled in, or CW_EPHONE with out->reason set (also
 * CW_EINVAL for NULL arguments). */
int phone_normalize(const char *raw, const char *default_region, struct phone_result *out);

/* Reads a WhatsApp wa_id (the E.164 digits without '+', "972521234567", as
 * webhooks carry it). Only digits are accepted. Returns 0 or CW_EPHONE with
 * out->reason set, as phone_normalize(). */
int phone_from_wa_id(const char *wa_id, struct phone_result *out);

/* Writes the wa_id form of an E.164 number ("+972521234567" gives
 * "972521234567") into out. e164 must be '+' and 8 to 15 digits (the form
 * phone_normalize() produces). Returns 0, CW_EPHONE when e164 is not in
 * that form, or CW_ETOOBIG when outsz is too small (PHONE_E164_MAX is
 * always enough). */
int phone_to_wa_id(const char *e164, char *out, size_t outsz);

/* Returns the stable snake_case name of a type ("mobile", "fixed_line",
 * "fixed_line_or_mobile", ..., "unknown"). */
const char *phone_type_name(enum phone_type type);

#endif
