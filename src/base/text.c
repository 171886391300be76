/*
 * text.c — case folding and word splitting on ICU (see text.h).
 *
 * Folding is ICU's NFKC_Casefold normaliser plus two steps it does not
 * take: Hebrew points and cantillation marks go (they are optional in
 * writing, so a word with and without them must match), and ё becomes е
 * (Russian writes ё as е most of the time). Words come from ICU's word
 * break iterator running over the UTF-8 text itself through UText, so its
 * boundaries are byte offsets into the caller's string. Opening a break
 * iterator costs more than using one, so each thread keeps one.
 */
#include "base/text.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/banned.h"

int text_valid_utf8(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	if (!s)
		return len == 0;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (len - i > INT32_MAX)
			return 0; /* ICU's macros index with int32_t */
		int32_t j = 0, n = (int32_t)(len - i > 4 ? 4 : len - i);
		UChar32 c;
		U8_NEXT(p + i, j, n, c);
		if (c < 0)
			return 0;
		i += (size_t)j;
	}
	return 1;
}

size_t text_utf8_chars(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, count = 0;
	if (!s)
		return 0;
	while (i < len) {
		count++;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		int32_t j = 0, n = (int32_t)(len - i > 4 ? 4 : len - i);
		UChar32 c;
		U8_NEXT(p + i, j, n, c); /* an ill-formed sequence is skipped as one */
		(void)c;
		i += (size_t)j;
	}
	return count;
}

/* The one-letter prefixes ו ה ב ל מ ש כ: U+05D5 U+05D4 U+05D1 U+05DC U+05DE
 * U+05E9 U+05DB, in UTF-8 0xD7 and one of these. */
static const unsigned char he_prefix[] = {0x95, 0x94, 0x91, 0x9C, 0x9E, 0xA9, 0x9B};

size_t text_he_prefixes(const char *word, size_t len, size_t stems[TEXT_HE_PREFIX_MAX])
{
	size_t n = 0, p = 0;
	if (!word)
		return 0;
	while (n < TEXT_HE_PREFIX_MAX && len - p >= 2 && (unsigned char)word[p] == 0xD7 &&
	       memchr(he_prefix, (unsigned char)word[p + 1], sizeof he_prefix)) {
		p += 2;
		if (text_utf8_chars(word + p, len - p) < TEXT_HE_STEM_MIN)
			break;
		stems[n++] = p;
	}
	return n;
}

/* A Hebrew point (niqqud), cantillation mark or other combining mark of
 * the Hebrew script; the punctuation among them (maqaf, paseq, sof pasuq)
 * is not a mark and stays. */
static int hebrew_mark(UChar32 c)
{
	if (!((c >= 0x0591 && c <= 0x05C7) || c == 0xFB1E))
		return 0;
	return u_charType(c) == U_NON_SPACING_MARK;
}

/* NFKC_Casefold of u[0..n) into a new buffer; *outlen set. NULL on error. */
static UChar *nfkc_casefold(const UChar *u, int32_t n, int32_t *outlen)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nf = unorm2_getNFKCCasefoldInstance(&st);
	if (U_FAILURE(st))
		return NULL;
	int32_t cap = n + n / 2 + 16;
	UChar *f = xmalloc((size_t)cap * sizeof *f);
	int32_t len = unorm2_normalize(nf, u, n, f, cap, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR) {
		st = U_ZERO_ERROR;
		cap = len + 1;
		f = xrealloc(f, (size_t)cap * sizeof *f);
		len = unorm2_normalize(nf, u, n, f, cap, &st);
	}
	if (U_FAILURE(st)) {
		free(f);
		return NULL;
	}
	*outlen = len;
	return f;
}

char *text_casefold(const char *utf8)
{
	UChar *u = NULL, *f = NULL;
	char *out = NULL;
	UErrorCode st = U_ZERO_ERROR;
	int32_t ulen = 0, flen = 0, n8 = 0;

	if (!utf8)
		return NULL;
	size_t n = strnlen(utf8, TEXT_MAX + 1);
	if (n > TEXT_MAX || !text_valid_utf8(utf8, n))
		return NULL;

	/* UTF-16 never needs more units than UTF-8 has bytes. */
	u = xmalloc((n + 1) * sizeof *u);
	u_strFromUTF8(u, (int32_t)n + 1, &ulen, utf8, (int32_t)n, &st);
	if (U_FAILURE(st))
		goto fail;
	f = nfkc_casefold(u, ulen, &flen);
	if (!f)
		goto fail;

	/* Drop Hebrew marks and fold ё in place: the output never outruns the
	 * input, as both steps only remove or keep a code unit's length. */
	int32_t i = 0, j = 0;
	while (i < flen) {
		UChar32 c;
		U16_NEXT(f, i, flen, c);
		if (hebrew_mark(c))
			continue;
		if (c == 0x0451)    /* ё */
			c = 0x0435; /* е */
		U16_APPEND_UNSAFE(f, j, c);
	}
	flen = j;

	st = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &n8, f, flen, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		goto fail;
	out = xmalloc((size_t)n8 + 1);
	st = U_ZERO_ERROR;
	u_strToUTF8(out, n8 + 1, NULL, f, flen, &st);
	if (U_FAILURE(st)) {
		free(out);
		out = NULL;
	}
fail:
	free(u);
	free(f);
	return out;
}

/* ---- words ---- */

static pthread_key_t brk_key;
static pthread_once_t brk_once = PTHREAD_ONCE_INIT;
static _Thread_local UBreakIterator *tbrk;
static const UChar no_text[1] = {0};

static void brk_free(void *p)
{
	if (p)
		ubrk_close(p);
}

static void brk_key_init(void)
{
	pthread_key_create(&brk_key, brk_free);
}

/* This thread's word iterator, or NULL if ICU cannot open one. */
static UBreakIterator *word_iterator(void)
{
	if (!tbrk) {
		UErrorCode st = U_ZERO_ERROR;
		pthread_once(&brk_once, brk_key_init);
		UBreakIterator *b = ubrk_open(UBRK_WORD, "", NULL, 0, &st);
		if (U_FAILURE(st))
			return NULL;
		tbrk = b;
		pthread_setspecific(brk_key, b); /* closed when the thread exits */
	}
	return tbrk;
}

void text_thread_release(void)
{
	if (!tbrk)
		return;
	pthread_setspecific(brk_key, NULL);
	ubrk_close(tbrk);
	tbrk = NULL;
}

int text_words(const char *utf8, void (*fn)(void *ud, const char *word, size_t len), void *ud)
{
	UErrorCode st = U_ZERO_ERROR;
	UText *ut = NULL;
	int count = 0;

	if (!utf8)
		return CW_EINVAL;
	size_t n = strnlen(utf8, TEXT_MAX + 1);
	if (n > TEXT_MAX || !text_valid_utf8(utf8, n))
		return CW_EINVAL;
	UBreakIterator *b = word_iterator();
	if (!b)
		return CW_EINTERNAL;
	ut = utext_openUTF8(NULL, utf8, (int64_t)n, &st);
	if (U_FAILURE(st))
		return CW_EINTERNAL;
	ubrk_setUText(b, ut, &st);
	if (U_FAILURE(st)) {
		count = CW_EINTERNAL;
		goto out;
	}
	/* With UText over UTF-8, boundaries are byte offsets into utf8. */
	int32_t start = ubrk_first(b);
	for (int32_t end = ubrk_next(b); end != UBRK_DONE; start = end, end = ubrk_next(b)) {
		if (ubrk_getRuleStatus(b) < UBRK_WORD_NONE_LIMIT)
			continue; /* spaces, punctuation, symbols, emoji */
		if (fn)
			fn(ud, utf8 + start, (size_t)(end - start));
		count++;
	}
out:
	/* Leave the iterator pointing at nothing of the caller's. */
	st = U_ZERO_ERROR;
	ubrk_setText(b, no_text, 0, &st);
	utext_close(ut);
	return count;
}
