/*
 * apikey.c — API keys (see apikey.h).
 */
#include "core/apikey.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/org.h"
#include "base/banned.h"

#define PREFIX_HEX 6 /* bytes → 12 hex chars */
#define SECRET_HEX 16
#define CACHE_SLOTS 64

static const char *const role_names[] = {"viewer", "integration", "agent", "admin"};

int apikey_role_parse(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}

const char *apikey_role_name(enum apikey_role r)
{
	return (unsigned)r < 4 ? role_names[r] : "viewer";
}

int apikey_create(struct store *st, const char *org_id, enum apikey_role role, const char *name,
		  char key[APIKEY_MAX], char id[ID_SIZE])
{
	struct org_info org;
	if ((unsigned)role > APIKEY_ADMIN)
		return CW_EINVAL;
	int rc = org_get(st, org_id, &org);
	if (rc)
		return rc;
	char prefix[2 * PREFIX_HEX + 1], secret[2 * SECRET_HEX + 1];
	sec_random_hex(prefix, PREFIX_HEX);
	sec_random_hex(secret, SECRET_HEX);
	snprintf(key, APIKEY_MAX, "cw_%s_%s", prefix, secret);
	char hash[SEC_PWHASH_MAX];
	rc = sec_pwhash(key, hash, 1);
	if (rc)
		return rc;
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),   SV_TEXT(org_id), SV_TEXT(apikey_role_name(role)),
				SV_TEXT(prefix), SV_TEXT(hash), SV_TEXT(name),
				SV_INT(time_now_ms())};
	return store_exec(st, "apikey.insert", a, 7, NULL);
}

struct cache_slot {
	char digest[65];
	struct apikey_principal p;
	int64_t until;
};

static struct cache_slot cache[CACHE_SLOTS];
static unsigned cache_next;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

struct key_row {
	struct apikey_principal p;
	char hash[SEC_PWHASH_MAX];
	int revoked;
	int found;
};

static int key_cb(void *ud, const struct store_row *row)
{
	struct key_row *k = ud;
	snprintf(k->p.key_id, sizeof k->p.key_id, "%s", store_row_text(row, 0));
	snprintf(k->p.org_id, sizeof k->p.org_id, "%s", store_row_text(row, 1));
	int role = apikey_role_parse(store_row_text(row, 2));
	k->p.role = role < 0 ? APIKEY_VIEWER : (enum apikey_role)role;
	snprintf(k->hash, sizeof k->hash, "%s", store_row_text(row, 4));
	k->revoked = !store_row_is_null(row, 8);
	k->found = 1;
	return 1;
}

int apikey_verify(struct store *st, const char *key, struct apikey_principal *p)
{
	if (!key || strncmp(key, "cw_", 3) != 0 || strlen(key) >= APIKEY_MAX)
		return CW_EAUTH;
	char digest[65];
	sec_sha256_hex(key, strlen(key), digest);
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (cache[i].until > now && strcmp(cache[i].digest, digest) == 0) {
			*p = cache[i].p;
			pthread_mutex_unlock(&cache_mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&cache_mu);

	char prefix[2 * PREFIX_HEX + 1];
	const char *us = strchr(key + 3, '_');
	if (!us || us - (key + 3) != 2 * PREFIX_HEX)
		return CW_EAUTH;
	memcpy(prefix, key + 3, 2 * PREFIX_HEX);
	prefix[2 * PREFIX_HEX] = '\0';
	struct key_row k = {.found = 0};
	struct store_val a[] = {SV_TEXT(prefix)};
	if (store_query(st, "apikey.get_by_prefix", a, 1, key_cb, &k) < 0 || !k.found || k.revoked)
		return CW_EAUTH;
	if (sec_pwhash_verify(k.hash, key) != 0)
		return CW_EAUTH;
	*p = k.p;
	pthread_mutex_lock(&cache_mu);
	struct cache_slot *s = &cache[cache_next++ % CACHE_SLOTS];
	snprintf(s->digest, sizeof s->digest, "%s", digest);
	s->p = k.p;
	s->until = now + APIKEY_CACHE_MS;
	pthread_mutex_unlock(&cache_mu);
	return 0;
}
