/*
 * contact_guess.h — first guesses about a contact who writes in before
 * anyone entered them: the language from the script of their first message
 * and the time zone from their number's country. A guess only fills an empty
 * field; staff or an import always win.
 */
#ifndef CW_CONTACT_GUESS_H
#define CW_CONTACT_GUESS_H

/* "he" for Hebrew script, "ru" for Cyrillic, "en" for Latin letters, NULL
 * when the text tells nothing (digits, emoji, NULL). Static strings. */
const char *contact_guess_language(const char *utf8);
/* An IANA zone for an E.164 number's country ("+972…" → "Asia/Jerusalem"),
 * or NULL when the country spans zones or is not in the table. */
const char *contact_guess_zone(const char *e164);

#endif
