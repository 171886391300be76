/*
 * id.h — identifiers for carewire rows: 26-character, time-sortable,
 * random (ULID-like, Crockford base32). Sortable so that indexes stay
 * append-mostly and listings come out in creation order.
 */
#ifndef CW_ID_H
#define CW_ID_H

#define ID_LEN 26
#define ID_SIZE 27 /* with NUL */

/* Writes a new id into out. Returns out. */
char *id_new(char out[ID_SIZE]);
/* True (1) when s looks like an id made by id_new(). */
int id_valid(const char *s);

#endif
