/*
 * org.h — organisations (tenants) and their WhatsApp phone numbers.
 *
 * Every row in carewire belongs to an organisation. A phone number is what
 * Meta calls a phone_number_id under a WABA; its access token is stored
 * encrypted (secretbox under the master key) and opened only to send.
 */
#ifndef CW_ORG_H
#define CW_ORG_H

#include <stddef.h>
#include <stdint.h>

#include "base/id.h"
#include "base/sec.h"
#include "store/store.h"

/* Kinds, as DESIGN.md §6 names them. Returns 1 when kind is one of them. */
int org_kind_valid(const char *kind);

/* Creates an organisation. region is an ISO 3166 code ("IL", "RU").
 * Writes the new id into id. Returns 0, CW_EINVAL (bad kind/region/name). */
int org_create(struct store *st, const char *name, const char *kind, const char *region,
	       const char *language, const char *zone, char id[ID_SIZE]);

struct org_info {
	char id[ID_SIZE];
	char name[200];
	char kind[16];
	char region[8];
	char language[16];
	char zone[64];
};
/* Loads an organisation. Returns 0 or CW_ENOTFOUND. */
int org_get(struct store *st, const char *id, struct org_info *out);

/* An organisation with its settings: the text of a JSON object, "{}" when
 * it has none (malloc'ed). */
struct org_settings {
	struct org_info info;
	char *settings;
};
/* Loads it through tx when tx is non-NULL (inside a write transaction), else
 * through st. Returns 0, CW_ENOTFOUND or a store error; out is to be
 * released with org_settings_release() on every return. */
int org_settings_get(struct store *st, struct store_tx *tx, const char *id,
		     struct org_settings *out);
void org_settings_release(struct org_settings *o);

/* Adds a phone number to an organisation, sealing token with key. Returns 0,
 * CW_ENOTFOUND (no such org), CW_ECONFLICT (phone_number_id already added) or
 * CW_EINVAL. */
int number_add(struct store *st, const uint8_t key[SEC_KEY_BYTES], const char *org_id,
	       const char *phone_number_id, const char *waba_id, const char *display,
	       const char *token, int rate_mps, char id[ID_SIZE]);

struct number_info {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char phone_number_id[64];
	char waba_id[64];
	char display[32];
	int rate_mps;
	int shared_with_app;
	char status[16];
	char *token; /* opened token, or NULL; freed by number_info_release() */
};
/* Loads a number by Meta's phone_number_id (or carewire's id when by_id),
 * opening its token when key is not NULL. Returns 0 or CW_ENOTFOUND. */
int number_get(struct store *st, const uint8_t *key, const char *ident, int by_id,
	       struct number_info *out);
void number_info_release(struct number_info *n);

#endif
