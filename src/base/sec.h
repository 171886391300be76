/*
 * sec.h — the few cryptographic operations carewire needs, on libsodium.
 *
 * HMAC-SHA256 (webhook signatures in and out), constant-time comparison,
 * argon2id password and API-key hashing, secretbox encryption of stored
 * secrets (access tokens) under a master key, and random bytes/ids.
 * sec_init() must be called once before any other function.
 */
#ifndef CW_SEC_H
#define CW_SEC_H

#include <stddef.h>
#include <stdint.h>

#define SEC_KEY_BYTES 32
#define SEC_HMAC_BYTES 32
#define SEC_PWHASH_MAX 128 /* an argon2id string, NUL included */

int sec_init(void);

/* out = HMAC-SHA256(key, msg). */
void sec_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			uint8_t out[SEC_HMAC_BYTES]);
/* Writes the lower-case hex HMAC-SHA256 (64 chars + NUL) into hex. */
void sec_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
			    char hex[65]);
/* Checks a "sha256=<hex>" header (X-Hub-Signature-256) against the body.
 * Constant-time in the digest. Returns 0 when it matches, CW_EAUTH when not. */
int sec_verify_hub_signature(const char *header, const char *secret, const void *body,
				size_t bodylen);
/* Constant-time equality of two byte strings of the same length (0 if equal). */
int sec_memeq(const void *a, const void *b, size_t n);
/* Constant-time equality of two strings; lengths may differ (0 if equal). */
int sec_streq(const char *a, const char *b);

/* argon2id: hash into out (SEC_PWHASH_MAX bytes). fast != 0 uses the
 * interactive limits, otherwise moderate. Returns 0 or CW_ENOMEM. */
int sec_pwhash(const char *password, char out[SEC_PWHASH_MAX], int fast);
/* Returns 0 when password matches the stored argon2id hash, CW_EAUTH otherwise. */
int sec_pwhash_verify(const char *hash, const char *password);

/* Encrypts plaintext with key; returns a new base64 string (nonce || box) that
 * the caller frees with free(). */
char *sec_seal(const uint8_t key[SEC_KEY_BYTES], const void *plain, size_t len);
/* Decrypts what sec_seal() made. Returns a new NUL-terminated plaintext
 * (caller frees) or NULL if the text was tampered with or the key is wrong. */
char *sec_open(const uint8_t key[SEC_KEY_BYTES], const char *sealed, size_t *len);
/* Reads a master key: 64 hex chars, or 32 raw bytes, from a file. 0 or CW_EINVAL/CW_EIO. */
int sec_key_load(const char *path, uint8_t key[SEC_KEY_BYTES]);
/* Parses 64 hex chars into key. 0 or CW_EINVAL. */
int sec_key_from_hex(const char *hex, uint8_t key[SEC_KEY_BYTES]);

void sec_random(void *buf, size_t n);
/* Uniform random number in [0, upper). */
uint32_t sec_random_u32(uint32_t upper);
/* Writes n random bytes as lower-case hex (2n chars + NUL) into out. */
void sec_random_hex(char *out, size_t n);
/* SHA-256 of data as lower-case hex (64 chars + NUL). */
void sec_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
