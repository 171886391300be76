/*
 * sec.c — libsodium-backed primitives (see crypto.h).
 */
#include "base/sec.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/banned.h"

int sec_init(void)
{
	return sodium_init() < 0 ? CW_EINTERNAL : 0;
}

void sec_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			uint8_t out[SEC_HMAC_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, msglen);
	crypto_auth_hmacsha256_final(&st, out);
}

void sec_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
			    char hex[65])
{
	uint8_t mac[SEC_HMAC_BYTES];
	sec_hmac_sha256(key, keylen, msg, msglen, mac);
	sodium_bin2hex(hex, 65, mac, sizeof mac);
}

int sec_verify_hub_signature(const char *header, const char *secret, const void *body,
				size_t bodylen)
{
	static const char prefix[] = "sha256=";
	if (!header || !secret || strncmp(header, prefix, sizeof prefix - 1) != 0)
		return CW_EAUTH;
	const char *hex = header + sizeof prefix - 1;
	if (strlen(hex) != 64)
		return CW_EAUTH;
	uint8_t got[SEC_HMAC_BYTES];
	size_t gotlen = 0;
	if (sodium_hex2bin(got, sizeof got, hex, 64, NULL, &gotlen, NULL) != 0 ||
	    gotlen != sizeof got)
		return CW_EAUTH;
	uint8_t want[SEC_HMAC_BYTES];
	sec_hmac_sha256(secret, strlen(secret), body, bodylen, want);
	return sodium_memcmp(got, want, sizeof want) == 0 ? 0 : CW_EAUTH;
}

int sec_memeq(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0 ? 0 : -1;
}

int sec_streq(const char *a, const char *b)
{
	if (!a || !b)
		return -1;
	/* Compare digests so that the time does not depend on where they differ
	 * nor leak the length of the secret. */
	uint8_t da[32], db[32];
	crypto_hash_sha256(da, (const unsigned char *)a, strlen(a));
	crypto_hash_sha256(db, (const unsigned char *)b, strlen(b));
	return sodium_memcmp(da, db, 32) == 0 ? 0 : -1;
}

int sec_pwhash(const char *password, char out[SEC_PWHASH_MAX], int fast)
{
	unsigned long long ops = fast ? crypto_pwhash_OPSLIMIT_INTERACTIVE
				      : crypto_pwhash_OPSLIMIT_MODERATE;
	size_t mem = fast ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MODERATE;
	if (crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return CW_ENOMEM;
	return 0;
}

int sec_pwhash_verify(const char *hash, const char *password)
{
	if (!hash || !password)
		return CW_EAUTH;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : CW_EAUTH;
}

char *sec_seal(const uint8_t key[SEC_KEY_BYTES], const void *plain, size_t len)
{
	size_t boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	unsigned char *box = xmalloc(boxlen);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, len, box, key);
	size_t b64len = sodium_base64_ENCODED_LEN(boxlen, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(b64len);
	sodium_bin2base64(out, b64len, box, boxlen, sodium_base64_VARIANT_ORIGINAL);
	free(box);
	return out;
}

char *sec_open(const uint8_t key[SEC_KEY_BYTES], const char *sealed, size_t *len)
{
	if (!sealed)
		return NULL;
	size_t slen = strlen(sealed);
	unsigned char *box = xmalloc(slen + 1);
	size_t boxlen = 0;
	char *out = NULL;
	if (sodium_base642bin(box, slen + 1, sealed, slen, NULL, &boxlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		goto fail;
	if (boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto fail;
	size_t plen = boxlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	out = xmalloc(plen + 1);
	if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
				       boxlen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		free(out);
		out = NULL;
		goto fail;
	}
	out[plen] = '\0';
	if (len)
		*len = plen;
fail:
	free(box);
	return out;
}

int sec_key_from_hex(const char *hex, uint8_t key[SEC_KEY_BYTES])
{
	size_t n = 0;
	if (!hex)
		return CW_EINVAL;
	while (hex[n] && hex[n] != '\n' && hex[n] != '\r' && hex[n] != ' ')
		n++;
	size_t got = 0;
	if (n != 2 * SEC_KEY_BYTES ||
	    sodium_hex2bin(key, SEC_KEY_BYTES, hex, n, NULL, &got, NULL) != 0 ||
	    got != SEC_KEY_BYTES)
		return CW_EINVAL;
	return 0;
}

int sec_key_load(const char *path, uint8_t key[SEC_KEY_BYTES])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return CW_EIO;
	char data[130];
	size_t n = fread(data, 1, sizeof data - 1, f);
	fclose(f);
	data[n] = '\0';
	if (sec_key_from_hex(data, key) == 0)
		return 0;
	if (n == SEC_KEY_BYTES) {
		memcpy(key, data, SEC_KEY_BYTES);
		return 0;
	}
	return CW_EINVAL;
}

void sec_random(void *buf, size_t n)
{
	randombytes_buf(buf, n);
}

uint32_t sec_random_u32(uint32_t upper)
{
	return upper ? randombytes_uniform(upper) : 0;
}

void sec_random_hex(char *out, size_t n)
{
	unsigned char tmp[64];
	size_t o = 0;
	while (n > 0) {
		size_t k = n > sizeof tmp ? sizeof tmp : n;
		randombytes_buf(tmp, k);
		sodium_bin2hex(out + o, 2 * k + 1, tmp, k);
		o += 2 * k;
		n -= k;
	}
	out[o] = '\0';
}

void sec_sha256_hex(const void *data, size_t len, char hex[65])
{
	uint8_t d[32];
	crypto_hash_sha256(d, data, len);
	sodium_bin2hex(hex, 65, d, sizeof d);
}
