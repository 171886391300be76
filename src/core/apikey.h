/*
 * apikey.h — API keys: "cw_<prefix>_<secret>", shown once when created and
 * stored only as an argon2id hash, found by its public prefix.
 *
 * argon2id is slow on purpose, so a key that verified is remembered for
 * APIKEY_CACHE_MS (by the SHA-256 of the whole key, in memory only): the
 * first request with a key pays the hash, the next thousands do not. A
 * revoked key stops working within that time.
 */
#ifndef CW_APIKEY_H
#define CW_APIKEY_H

#include "base/id.h"
#include "store/store.h"

#define APIKEY_MAX 96
#define APIKEY_CACHE_MS 60000

enum apikey_role { APIKEY_VIEWER = 0, APIKEY_INTEGRATION, APIKEY_AGENT, APIKEY_ADMIN };

/* Parses "admin", "agent", "integration", "viewer"; -1 when unknown. */
int apikey_role_parse(const char *s);
const char *apikey_role_name(enum apikey_role r);

/* Creates a key for org with role. Writes the key, shown once, into key
 * (APIKEY_MAX bytes) and its id into id. Returns 0, CW_ENOTFOUND or CW_EINVAL. */
int apikey_create(struct store *st, const char *org_id, enum apikey_role role, const char *name,
		  char key[APIKEY_MAX], char id[ID_SIZE]);

struct apikey_principal {
	char key_id[ID_SIZE];
	char org_id[ID_SIZE];
	enum apikey_role role;
	/* 1 when a person signed in to the dashboard made the request (key_id
	 * is then the agent's id), 0 for an API key. Set by the HTTP layer. */
	int agent;
};
/* Checks a presented key. Returns 0 and fills p, or CW_EAUTH. Thread-safe. */
int apikey_verify(struct store *st, const char *key, struct apikey_principal *p);

#endif
