/*
 * natid.h — finds national identification numbers in free text.
 *
 * Part of the policy engine's "minimum necessary" rule (DESIGN.md §7): a
 * message that carries a person's national ID number in its human-visible
 * text is refused with national_id_in_text. Two kinds are recognised, both
 * with their check digits, so that an arbitrary number of the same length
 * is not mistaken for one:
 *
 *   Israeli ID (teudat zehut): 9 digits, the last a check digit (digits
 *     weighted 1,2,1,2,... from the left, products above 9 reduced by 9, the
 *     sum a multiple of 10). Written "123456782" or "12345678-2". An 8-digit
 *     number with an implied leading zero is NOT recognised: yyyymmdd dates
 *     and 8-digit reference numbers would pass the check one time in ten.
 *   Russian SNILS: 11 digits, the last two a checksum (the first nine
 *     weighted 9..1; a sum below 100 is the checksum, 100 and 101 give 00,
 *     above 101 the sum modulo 101 with 100 again giving 00). Written
 *     "123-456-789 64", "123-456-789-64", "123 456 789 64", "123456789 64"
 *     or as 11 bare digits. Numbers up to 001-001-998, which carry no
 *     checksum, are not recognised; nor are 11 bare digits starting with 7
 *     or 8 (a Russian phone number, "89123456789").
 *
 * To keep phone numbers, dates, times and amounts out, a candidate must
 * stand alone: a digit run that is part of a longer run, of a number joined
 * by '.', ',', '/' or ':' (dates, decimals, amounts, times), of a word
 * ("A123456782", "id_123456782") or that follows '+' (an international
 * phone number) never counts. Digit groups joined by single spaces or
 * hyphens are read as one number only in the shapes listed above.
 *
 * Pure functions over bytes; no allocation. Lives in core/ and includes
 * only libc.
 */
#ifndef CW_NATID_H
#define CW_NATID_H

#include <stddef.h>

enum natid_kind {
	NATID_NONE = 0,
	NATID_IL_ID, /* Israeli teudat zehut */
	NATID_RU_SNILS,
};

/* Where one identifier sits in the text. */
struct natid_match {
	enum natid_kind kind;
	size_t offset; /* byte offset of the first digit */
	size_t len;    /* bytes, separators included */
};

/* Looks for the first national ID number in the NUL-terminated UTF-8 text
 * utf8 (NULL is treated as ""). Returns 1 and fills m (when m is not NULL)
 * if one is found, 0 if none is. */
int natid_find(const char *utf8, struct natid_match *m);

/* As natid_find(), over len bytes of text that need not be NUL-terminated,
 * starting the search at byte from. Returns 1 or 0. Call again with from =
 * m->offset + m->len to find the next one. */
int natid_find_n(const char *text, size_t len, size_t from, struct natid_match *m);

/* True (1) when the 9 ASCII digits at digits form a valid Israeli ID
 * number (check digit correct, not all zeros). */
int natid_il_valid(const char *digits);

/* True (1) when the 11 ASCII digits at digits form a valid SNILS (checksum
 * correct, number above 001-001-998). */
int natid_snils_valid(const char *digits);

/* Returns a static snake_case name: "israeli_id", "snils" or "none". */
const char *natid_kind_name(enum natid_kind kind);

/* Returns a static name for people: "an Israeli ID number", "a SNILS
 * number" or "no identifier". */
const char *natid_kind_label(enum natid_kind kind);

#endif
