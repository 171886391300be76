/*
 * id.c — ULID-like ids (see id.h): 48 bits of milliseconds, 80 random bits.
 */
#include "base/id.h"

#include <stdint.h>
#include <string.h>

#include "base/sec.h"
#include "base/time.h"
#include "base/banned.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

char *id_new(char out[ID_SIZE])
{
	uint64_t ms = (uint64_t)time_now_ms();
	uint8_t rnd[10];
	sec_random(rnd, sizeof rnd);
	for (int i = 9; i >= 0; i--) {
		out[i] = alphabet[ms & 31];
		ms >>= 5;
	}
	/* 80 random bits as 16 base32 chars. */
	uint64_t hi = 0, lo = 0;
	for (int i = 0; i < 5; i++)
		hi = (hi << 8) | rnd[i];
	for (int i = 5; i < 10; i++)
		lo = (lo << 8) | rnd[i];
	for (int i = 17; i >= 10; i--) {
		out[i] = alphabet[hi & 31];
		hi >>= 5;
	}
	for (int i = 25; i >= 18; i--) {
		out[i] = alphabet[lo & 31];
		lo >>= 5;
	}
	out[ID_LEN] = '\0';
	return out;
}

int id_valid(const char *s)
{
	if (!s || strlen(s) != ID_LEN)
		return 0;
	for (int i = 0; i < ID_LEN; i++)
		if (!strchr(alphabet, s[i]) || s[i] == '\0')
			return 0;
	return 1;
}
