/*
 * natid.c — national ID numbers in free text (see natid.h).
 *
 * The text is read as "tokens": runs of ASCII digit groups joined by single
 * separators (a space, a no-break space, a hyphen or dash, or one of
 * . , / :). Each token is cut into groups; a candidate is one or more
 * consecutive groups whose shape matches a row of the shape table and which
 * stands alone (the token ends on either side, or a space separates it from
 * the neighbouring group). Only then is the check digit computed. The scan
 * is one pass over the bytes and allocates nothing.
 */
#include "core/natid.h"

#include <stdint.h>
#include <string.h>

#include "base/banned.h"

/* Longest token kept; a longer one is cut, and the cut is treated as a
 * non-space join so nothing straddling it is reported. */
#define NATID_MAX_GROUPS 64
#define NATID_MAX_DIGITS 11

enum sep { SEP_END = 0, SEP_SPACE, SEP_DASH, SEP_OTHER };

struct group {
	size_t start, end; /* digits are text[start..end) */
	enum sep after;	   /* how it joins the next group; SEP_END for the last */
};

/* Separators that may join two digit groups, as bytes. */
/* clang-format off */
static const struct {
	const char *bytes;
	unsigned char len;
	enum sep kind;
} seps[] = {
	{" ", 1, SEP_SPACE},
	{"\xC2\xA0", 2, SEP_SPACE},     /* U+00A0 no-break space */
	{"\xE2\x80\xAF", 3, SEP_SPACE}, /* U+202F narrow no-break space */
	{"\xE2\x80\x89", 3, SEP_SPACE}, /* U+2009 thin space */
	{"-", 1, SEP_DASH},
	{"\xE2\x80\x90", 3, SEP_DASH}, /* U+2010 hyphen */
	{"\xE2\x80\x91", 3, SEP_DASH}, /* U+2011 non-breaking hyphen */
	{"\xE2\x80\x93", 3, SEP_DASH}, /* U+2013 en dash */
	{".", 1, SEP_OTHER},
	{",", 1, SEP_OTHER},
	{"/", 1, SEP_OTHER},
	{":", 1, SEP_OTHER},
};
/* clang-format on */

/* The shapes an identifier may be written in. lens are the digit counts of
 * consecutive groups; join[k] is the set of separators allowed between
 * group k and k+1 (bit 1 << enum sep). */
#define J_SPACE (1u << SEP_SPACE)
#define J_DASH	(1u << SEP_DASH)

/* clang-format off */
static const struct shape {
	enum natid_kind kind;
	unsigned char ngroups;
	unsigned char lens[4];
	unsigned char join[3];
	unsigned char same_12; /* the first two joins must be the same separator */
} shapes[] = {
	/* Longest first, so "123-456-789 64" is one SNILS, not pieces. */
	{NATID_RU_SNILS, 4, {3, 3, 3, 2}, {J_SPACE | J_DASH, J_SPACE | J_DASH, J_SPACE | J_DASH}, 1},
	{NATID_RU_SNILS, 2, {9, 2}, {J_SPACE | J_DASH}, 0},
	{NATID_RU_SNILS, 1, {11}, {0}, 0},
	{NATID_IL_ID, 2, {8, 1}, {J_DASH}, 0},
	{NATID_IL_ID, 1, {9}, {0}, 0},
};
/* clang-format on */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

int natid_il_valid(const char *d)
{
	int sum = 0, nonzero = 0;
	for (int i = 0; i < 9; i++) {
		if (!is_digit((unsigned char)d[i]))
			return 0;
		int v = (d[i] - '0') * (i % 2 ? 2 : 1);
		sum += v > 9 ? v - 9 : v;
		nonzero |= d[i] != '0';
	}
	return nonzero && sum % 10 == 0;
}

int natid_snils_valid(const char *d)
{
	int sum = 0;
	long number = 0;
	for (int i = 0; i < 11; i++)
		if (!is_digit((unsigned char)d[i]))
			return 0;
	for (int i = 0; i < 9; i++) {
		sum += (d[i] - '0') * (9 - i);
		number = number * 10 + (d[i] - '0');
	}
	/* Numbers up to 001-001-998 were issued without a checksum. */
	if (number <= 1001998)
		return 0;
	int check;
	if (sum < 100)
		check = sum;
	else if (sum == 100 || sum == 101)
		check = 0;
	else {
		check = sum % 101;
		if (check == 100)
			check = 0;
	}
	return check == (d[9] - '0') * 10 + (d[10] - '0');
}

/* Classifies the separator at text[p]; returns its length, 0 if none. */
static size_t sep_at(const char *text, size_t len, size_t p, enum sep *kind)
{
	for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++) {
		size_t n = seps[i].len;
		if (p + n <= len && memcmp(text + p, seps[i].bytes, n) == 0) {
			*kind = seps[i].kind;
			return n;
		}
	}
	return 0;
}

/* Tries shape s on groups g[i..]; returns 1 and fills m when it matches,
 * stands alone and passes its check. */
static int try_shape(const char *text, const struct group *g, size_t ng, size_t i, int left_ok,
		     int right_ok, const struct shape *s, struct natid_match *m)
{
	size_t j = i + s->ngroups - 1;
	if (j >= ng)
		return 0;
	/* Standing alone: a space or the token's (clean) edge on both sides. */
	if (i == 0 ? !left_ok : g[i - 1].after != SEP_SPACE)
		return 0;
	if (j == ng - 1 ? !right_ok : g[j].after != SEP_SPACE)
		return 0;
	char digits[NATID_MAX_DIGITS + 1];
	size_t nd = 0;
	for (size_t k = 0; k < s->ngroups; k++) {
		const struct group *x = &g[i + k];
		if (x->end - x->start != s->lens[k])
			return 0;
		if (k + 1 < s->ngroups && !((1u << x->after) & s->join[k]))
			return 0;
		if (nd + s->lens[k] > NATID_MAX_DIGITS)
			return 0;
		memcpy(digits + nd, text + x->start, s->lens[k]);
		nd += s->lens[k];
	}
	digits[nd] = '\0';
	if (s->same_12 && g[i].after != g[i + 1].after)
		return 0;
	int ok;
	if (s->kind == NATID_IL_ID) {
		ok = natid_il_valid(digits);
	} else {
		/* Eleven bare digits starting 7 or 8 are a Russian phone number. */
		if (s->ngroups == 1 && (digits[0] == '7' || digits[0] == '8'))
			return 0;
		ok = natid_snils_valid(digits);
	}
	if (!ok)
		return 0;
	if (m) {
		m->kind = s->kind;
		m->offset = g[i].start;
		m->len = g[j].end - g[i].start;
	}
	return 1;
}

int natid_find_n(const char *text, size_t len, size_t from, struct natid_match *m)
{
	struct group g[NATID_MAX_GROUPS];
	size_t p = from;

	if (!text)
		return 0;
	/* Starting inside a digit run: that run is not ours to judge. */
	while (p > 0 && p < len && is_digit((unsigned char)text[p - 1]) &&
	       is_digit((unsigned char)text[p]))
		p++;
	while (p < len) {
		if (!is_digit((unsigned char)text[p])) {
			p++;
			continue;
		}
		/* A token starts here. Judge what precedes it. */
		int left_ok = 1;
		if (p > 0) {
			unsigned char b = (unsigned char)text[p - 1];
			enum sep k;
			if (is_word_byte(b) || b == '+')
				left_ok = 0;
			else if (p >= 2 && is_digit((unsigned char)text[p - 2]) &&
				 sep_at(text, len, p - 1, &k) == 1 && k != SEP_SPACE)
				left_ok = 0; /* continues a token cut at NATID_MAX_GROUPS */
		}
		size_t ng = 0;
		int right_ok = 1;
		for (;;) {
			struct group *x = &g[ng++];
			x->start = p;
			while (p < len && is_digit((unsigned char)text[p]))
				p++;
			x->end = p;
			x->after = SEP_END;
			enum sep kind;
			size_t n = sep_at(text, len, p, &kind);
			if (n && p + n < len && is_digit((unsigned char)text[p + n])) {
				if (ng == NATID_MAX_GROUPS) {
					right_ok = kind == SEP_SPACE;
					break;
				}
				x->after = kind;
				p += n;
				continue;
			}
			if (p < len && is_word_byte((unsigned char)text[p]))
				right_ok = 0;
			break;
		}
		for (size_t i = 0; i < ng; i++)
			for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
				if (try_shape(text, g, ng, i, left_ok, right_ok, &shapes[s], m))
					return 1;
	}
	return 0;
}

int natid_find(const char *utf8, struct natid_match *m)
{
	if (!utf8)
		return 0;
	return natid_find_n(utf8, strlen(utf8), 0, m);
}

const char *natid_kind_name(enum natid_kind kind)
{
	switch (kind) {
	case NATID_IL_ID:
		return "israeli_id";
	case NATID_RU_SNILS:
		return "snils";
	case NATID_NONE:
		break;
	}
	return "none";
}

const char *natid_kind_label(enum natid_kind kind)
{
	switch (kind) {
	case NATID_IL_ID:
		return "an Israeli ID number";
	case NATID_RU_SNILS:
		return "a SNILS number";
	case NATID_NONE:
		break;
	}
	return "no identifier";
}
