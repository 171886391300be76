/*
 * formulary.h — prescription-drug names, and finding them in a message.
 *
 * DESIGN.md §1: prescription drugs are never promoted over WhatsApp. The
 * policy engine refuses a pharma or pharmacy organisation's marketing
 * message whose text names one (reason rx_promotion). This module holds the
 * list and does the matching.
 *
 * The list starts from a starter set shipped with carewire — about forty
 * prescription-only medicines across common classes (antibiotics, opioids,
 * benzodiazepines, GLP-1 agonists, statins, anticoagulants, PDE5
 * inhibitors, antidepressants, stimulants, ...), by generic and well-known
 * brand name, in Latin, Hebrew and Cyrillic script. It is a starting point
 * for a compliance check, not medical or legal advice and not a complete
 * formulary: each organisation extends it with formulary_add().
 *
 * Matching is on whole words, after Unicode case folding (base/text.h:
 * text_casefold, text_words), so "OZEMPIC" and "Оземпик" match "ozempic" /
 * "оземпик", and "penicillinase" does not match "penicillin". Entries may be
 * several words ("insulin glargine"), matched as consecutive words. Two
 * language rules keep real sentences matching:
 *   - Hebrew attaches one-letter prefixes (ו ה ב ל מ ש כ, up to three) to a
 *     word: "לאוזמפיק" matches "אוזמפיק" (first word of an entry only).
 *   - Russian inflects nouns: a Cyrillic word matches an entry followed by
 *     a case ending ("оземпика", "оземпиком"), and an entry ending in а/я
 *     matches with that vowel replaced ("виагру", "виагрой").
 *
 * A formulary is built once and then only read: formulary_match() may be
 * called from many threads at once; formulary_add() may not run alongside.
 */
#ifndef CW_FORMULARY_H
#define CW_FORMULARY_H

#include <stddef.h>

#define FORMULARY_MAX_ENTRIES	20000 /* entries per formulary */
#define FORMULARY_MAX_WORDS	6     /* words per entry */
#define FORMULARY_MAX_ENTRY_LEN 128   /* bytes per entry */
#define FORMULARY_MAX_TEXT	65536 /* bytes of text formulary_match() reads */

struct formulary;

/* Returns a new formulary holding the starter list; caller frees with
 * formulary_free(). */
struct formulary *formulary_new_starter(void);

/* Returns a new, empty formulary; caller frees with formulary_free(). */
struct formulary *formulary_new_empty(void);

/* Frees f; NULL is fine. */
void formulary_free(struct formulary *f);

/* Adds a drug name (UTF-8, one or more words) to f. Adding a name already
 * present changes nothing and returns 0. Returns 0, CW_EINVAL (no words,
 * more than FORMULARY_MAX_WORDS, longer than FORMULARY_MAX_ENTRY_LEN, not
 * UTF-8) or CW_ETOOBIG (f is full). */
int formulary_add(struct formulary *f, const char *name);

/* Number of entries in f. */
size_t formulary_count(const struct formulary *f);

/* Looks for any entry of f in the UTF-8 text (only its first
 * FORMULARY_MAX_TEXT bytes are read). Returns 1 when one is found and
 * writes that entry, as it was added, into matched (n bytes, truncated,
 * NUL-terminated; matched may be NULL when n is 0); 0 when none is; a
 * negative cw_err when the text cannot be read (not UTF-8). */
int formulary_match(const struct formulary *f, const char *text, char *matched, size_t n);

#endif
