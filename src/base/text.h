/*
 * text.h — Unicode text helpers on ICU, for matching what people write in
 * Hebrew, Russian and English: opt-out words ("STOP", "Стоп", "עצור"),
 * bot keywords, formulary names.
 *
 * text_casefold() brings a string to one comparable form and text_words()
 * splits it into words; a matcher folds both the message and its word
 * list, then compares words byte for byte. All input is UTF-8 and is
 * checked: invalid UTF-8 is refused, never guessed at.
 *
 * Base layer. Every function is thread-safe.
 */
#ifndef CW_TEXT_H
#define CW_TEXT_H

#include <stddef.h>

/* The longest text (in bytes) text_casefold() and text_words() accept;
 * a WhatsApp message is at most 4096 characters. */
#define TEXT_MAX (256u * 1024)

/* Returns a new string (caller frees with free()) holding utf8 folded for
 * comparison: Unicode NFKC with full case folding and default-ignorable
 * characters removed (ICU's NFKC_Casefold: "STOP", "Stop" and "ＳＴＯＰ" all
 * give "stop", "Straße" gives "strasse"), then Hebrew points and
 * cantillation marks removed ("הֲסֵר" gives "הסר") and Cyrillic ё folded to е
 * ("Ёлка" gives "елка"). Returns NULL when utf8 is NULL, not valid UTF-8 or
 * longer than TEXT_MAX. */
char *text_casefold(const char *utf8);

/* Calls fn once per word of utf8, in order: a run of letters or digits by
 * the Unicode word-break rules (so "don't" and the Hebrew abbreviation
 * "צה״ל" are one word each); spaces, punctuation and emoji are not words.
 * word points into utf8 (borrowed for the call) and is len bytes long, not
 * NUL-terminated. Returns the number of words, or CW_EINVAL when utf8 is
 * NULL, not valid UTF-8 or longer than TEXT_MAX (fn is then never called). */
int text_words(const char *utf8, void (*fn)(void *ud, const char *word, size_t len), void *ud);

/* True when the len bytes at s are well-formed UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF). */
int text_valid_utf8(const char *s, size_t len);

/* The number of code points in the len bytes at s; each ill-formed
 * sequence counts as one (as it would show as one U+FFFD). */
size_t text_utf8_chars(const char *s, size_t len);

/* Hebrew writes some one-letter words joined to the next one: ו "and",
 * ה "the", ב "in", ל "to", מ "from", ש "that", כ "as" — up to three of them
 * ("ובהרצאה" is ו + ב + הרצאה). A stem keeps at least TEXT_HE_STEM_MIN
 * characters: shorter ones are mostly other words ("הלא" is not ה + לא). */
#define TEXT_HE_PREFIX_MAX 3
#define TEXT_HE_STEM_MIN   3

/* The forms a folded word (len bytes at word, e.g. from text_words()) could
 * have without its Hebrew one-letter prefixes: stems[i] gets the byte
 * offset in word where the form with i + 1 letters taken off starts, for as
 * long as each letter taken off is one of ו ה ב ל מ ש כ and at least
 * TEXT_HE_STEM_MIN characters remain. Returns how many offsets it wrote (0
 * to TEXT_HE_PREFIX_MAX): 0 for a word that starts with no prefix letter.
 *
 *	size_t stems[TEXT_HE_PREFIX_MAX];
 *	size_t n = text_he_prefixes(w, strlen(w), stems);
 *	-- w "ובהרצאה": n 3, the forms "בהרצאה", "הרצאה" and "רצאה" (ה too may
 *	   be a prefix); a matcher tries each of them against its word list.
 */
size_t text_he_prefixes(const char *word, size_t len, size_t stems[TEXT_HE_PREFIX_MAX]);

/* Frees the calling thread's cached ICU word iterator (threads' caches are
 * freed when they exit; this is for the main thread under a leak
 * checker). */
void text_thread_release(void);

#endif
