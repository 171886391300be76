/*
 * phone.c — E.164 normalisation (see phone.h).
 *
 * This side screens what a person typed before libphonenumber sees it:
 * only digits, the usual separators and a leading '+' or "00" get through,
 * so that letters ("1-800-FLOWERS"), extensions ("ext 5") and numbers
 * buried in text are refused rather than read generously. The compact form
 * ("+972521234567" or "0521234567") goes to phone_adapter.cc, which asks
 * libphonenumber whether it is a valid number and for its E.164 form.
 */
#include "base/phone.h"

#include <string.h>

#include "base/err.h"
#include "base/phone_adapter.h"
#include "base/banned.h"

/* The fewest and most digits of an E.164 number that WhatsApp can carry
 * (the shortest real numbers, e.g. some Pacific islands, have 7 digits with
 * their country code; 8 is the least Meta issues wa_ids for). */
#define WA_ID_MIN_DIGITS 8
#define WA_ID_MAX_DIGITS 15

static const struct {
	const char *reason;
	const char *message;
} fail_text[PHONE_FAIL_COUNT_] = {
    [PHONE_FAIL_NONE] = {NULL, NULL},
    [PHONE_FAIL_NOT_A_NUMBER] = {"not_a_number",
				 "not a phone number: use digits, optionally with +, "
				 "spaces, dashes or parentheses"},
    [PHONE_FAIL_INVALID_COUNTRY_CODE] = {"invalid_country_code",
					 "unknown or missing country code: start an "
					 "international number with +"},
    [PHONE_FAIL_TOO_SHORT] = {"too_short", "the number has too few digits"},
    [PHONE_FAIL_TOO_LONG] = {"too_long", "the number has too many digits"},
    [PHONE_FAIL_INVALID_FOR_REGION] = {"invalid_for_region",
				       "not a valid number in its country's numbering plan"},
    [PHONE_FAIL_INTERNAL] = {"internal_error", "the number could not be checked"},
};

static const char *const type_names[] = {
    [PHONE_TYPE_UNKNOWN] = "unknown",
    [PHONE_TYPE_FIXED_LINE] = "fixed_line",
    [PHONE_TYPE_MOBILE] = "mobile",
    [PHONE_TYPE_FIXED_LINE_OR_MOBILE] = "fixed_line_or_mobile",
    [PHONE_TYPE_TOLL_FREE] = "toll_free",
    [PHONE_TYPE_PREMIUM_RATE] = "premium_rate",
    [PHONE_TYPE_SHARED_COST] = "shared_cost",
    [PHONE_TYPE_VOIP] = "voip",
    [PHONE_TYPE_PERSONAL] = "personal",
    [PHONE_TYPE_PAGER] = "pager",
    [PHONE_TYPE_UAN] = "uan",
    [PHONE_TYPE_VOICEMAIL] = "voicemail",
};

const char *phone_type_name(enum phone_type type)
{
	if ((int)type < 0 || (size_t)type >= sizeof type_names / sizeof type_names[0])
		return "unknown";
	return type_names[type];
}

static void result_clear(struct phone_result *out)
{
	memset(out, 0, sizeof *out);
}

static int fail(struct phone_result *out, enum phone_adapter_fail why)
{
	result_clear(out);
	out->type = PHONE_TYPE_UNKNOWN;
	out->reason = fail_text[why].reason;
	out->message = fail_text[why].message;
	return CW_EPHONE;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a separator at s (0 when s does not start with one): ASCII
 * space, tab, '-', '.', '/', '(' and ')', and the no-break space and dashes
 * that copying from documents and phones' contact cards brings along. */
static size_t separator_len(const unsigned char *s)
{
	switch (s[0]) {
	case ' ':
	case '\t':
	case '-':
	case '.':
	case '/':
	case '(':
	case ')':
		return 1;
	case 0xC2:
		return s[1] == 0xA0 ? 2 : 0; /* U+00A0 no-break space */
	case 0xE2:
		/* U+2010..U+2015 dashes, U+2212 minus, U+202F narrow no-break space */
		if (s[1] == 0x80 && ((s[2] >= 0x90 && s[2] <= 0x95) || s[2] == 0xAF))
			return 3;
		if (s[1] == 0x88 && s[2] == 0x92)
			return 3;
		return 0;
	default:
		return 0;
	}
}

/* Reduces raw to "+digits" or "digits" in out, with a leading "00" read as
 * '+'. Returns PHONE_FAIL_NONE or why it refused. */
static enum phone_adapter_fail screen(const char *raw, char out[PHONE_RAW_MAX + 1])
{
	const unsigned char *s = (const unsigned char *)raw;
	size_t n = 0;
	int plus = 0, digits = 0;

	if (strnlen(raw, PHONE_RAW_MAX + 1) > PHONE_RAW_MAX)
		return PHONE_FAIL_TOO_LONG;
	while (*s) {
		size_t sep = separator_len(s);
		if (sep) {
			s += sep;
			continue;
		}
		if (*s == '+') {
			if (plus || digits)
				return PHONE_FAIL_NOT_A_NUMBER; /* '+' only at the start */
			plus = 1;
			out[n++] = '+';
		} else if (is_digit(*s)) {
			out[n++] = (char)*s;
			digits++;
		} else {
			return PHONE_FAIL_NOT_A_NUMBER;
		}
		s++;
	}
	out[n] = '\0';
	if (!digits)
		return PHONE_FAIL_NOT_A_NUMBER;
	if (!plus && out[0] == '0' && out[1] == '0') {
		/* "00" is the international prefix almost everywhere; no national
		 * number starts with it. */
		out[0] = '+';
		memmove(out + 1, out + 2, n - 1); /* includes the NUL */
	}
	return PHONE_FAIL_NONE;
}

static int region_ok(const char *region, char upper[3])
{
	if (!region || !region[0]) {
		upper[0] = 'Z'; /* libphonenumber's "unknown region" */
		upper[1] = 'Z';
		upper[2] = '\0';
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		char c = region[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return 0;
		upper[i] = c;
	}
	upper[2] = '\0';
	return region[2] == '\0';
}

static int normalize(const char *compact, const char *region, struct phone_result *out)
{
	struct phone_result r;
	result_clear(&r);
	enum phone_adapter_fail why = phone_adapter_parse(compact, region, &r);
	if (why != PHONE_FAIL_NONE)
		return fail(out, why);
	*out = r;
	return 0;
}

int phone_normalize(const char *raw, const char *default_region, struct phone_result *out)
{
	char compact[PHONE_RAW_MAX + 1];
	char region[3];

	if (!raw || !out)
		return CW_EINVAL;
	if (!region_ok(default_region, region)) {
		result_clear(out);
		return CW_EINVAL;
	}
	enum phone_adapter_fail why = screen(raw, compact);
	if (why != PHONE_FAIL_NONE)
		return fail(out, why);
	return normalize(compact, region, out);
}

int phone_from_wa_id(const char *wa_id, struct phone_result *out)
{
	char plus[1 + WA_ID_MAX_DIGITS + 1];
	size_t n;

	if (!wa_id || !out)
		return CW_EINVAL;
	for (n = 0; wa_id[n]; n++) {
		if (!is_digit((unsigned char)wa_id[n]))
			return fail(out, PHONE_FAIL_NOT_A_NUMBER);
		if (n >= WA_ID_MAX_DIGITS)
			return fail(out, PHONE_FAIL_TOO_LONG);
	}
	if (n == 0)
		return fail(out, PHONE_FAIL_NOT_A_NUMBER);
	if (n < WA_ID_MIN_DIGITS)
		return fail(out, PHONE_FAIL_TOO_SHORT);
	plus[0] = '+';
	memcpy(plus + 1, wa_id, n + 1);
	return normalize(plus, "ZZ", out);
}

int phone_to_wa_id(const char *e164, char *out, size_t outsz)
{
	size_t n = 0;

	if (!e164 || !out)
		return CW_EINVAL;
	if (e164[0] != '+')
		return CW_EPHONE;
	for (const char *p = e164 + 1; *p; p++, n++) {
		if (!is_digit((unsigned char)*p) || n >= WA_ID_MAX_DIGITS)
			return CW_EPHONE;
	}
	if (n < WA_ID_MIN_DIGITS)
		return CW_EPHONE;
	if (outsz < n + 1)
		return CW_ETOOBIG;
	memcpy(out, e164 + 1, n + 1);
	return 0;
}
