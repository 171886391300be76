/*
 * test_text.c — unit tests for base/text: folding and word splitting of
 * Hebrew, Russian and English as people write them (the opt-out words),
 * and UTF-8 checks.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/text.h"
#include "base/banned.h"

static void assert_fold(const char *in, const char *want)
{
	char *got = text_casefold(in);
	if (!got)
		fail_msg("text_casefold(\"%s\") returned NULL", in);
	if (strcmp(got, want) != 0)
		fail_msg("text_casefold(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_casefold(void **state)
{
	(void)state;
	/* the opt-out words, as they arrive */
	assert_fold("STOP", "stop");
	assert_fold("Stop", "stop");
	assert_fold("ＳＴＯＰ", "stop"); /* full-width, from some keyboards */
	assert_fold("Стоп", "стоп");
	assert_fold("СТОП", "стоп");
	assert_fold("ОТПИСАТЬСЯ", "отписаться");
	assert_fold("עצור", "עצור");
	assert_fold("הֲסֵר", "הסר"); /* niqqud removed */
	assert_fold("הָסֵר", "הסר");
	assert_fold("בְּרֵאשִׁ֖ית", "בראשית");   /* points and a cantillation mark */
	assert_fold("\xEF\xAC\xAA", "ש");  /* U+FB2A shin with shin dot */
	assert_fold("צה״ל", "צה״ל");	   /* gershayim stays */
	assert_fold("תל־אביב", "תל־אביב"); /* maqaf is punctuation: stays */
	assert_fold("Ёлка", "елка");
	assert_fold("ЁЖ ёж", "еж еж");
	assert_fold("йод", "йод"); /* й is a letter of its own */
	assert_fold("Straße", "strasse");
	assert_fold("ΣΊΣΥΦΟΣ", "σίσυφοσ");
	assert_fold("Mixed עברית и Русский 42", "mixed עברית и русский 42");
	/* invisible marks that phones insert: RLM, zero-width space, soft hyphen */
	assert_fold("\xE2\x80\x8F"
		    "עצור",
		    "עצור");
	assert_fold("st\xC2\xAD"
		    "op",
		    "stop");
	assert_fold("ﬁne", "fine"); /* ligature */
	assert_fold("①", "1");
	assert_fold("", "");
	assert_fold("stop 🛑", "stop 🛑");

	/* folding makes the variants of one word equal */
	char *a = text_casefold("הֲסֵר"), *b = text_casefold("הסר");
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = text_casefold("ОТМЕНИТЬ ЁЩЁ");
	b = text_casefold("отменить еще");
	assert_string_equal(a, b);
	free(a);
	free(b);

	assert_null(text_casefold(NULL));
	assert_null(text_casefold("\xFF"
				  "stop"));
	assert_null(text_casefold("st\xC3"));	    /* truncated sequence */
	assert_null(text_casefold("\xED\xA0\x80")); /* a surrogate */
	assert_null(text_casefold("\xC0\xAF"));	    /* overlong '/' */
}

static void test_casefold_limit(void **state)
{
	(void)state;
	char *big = malloc(TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', TEXT_MAX);
	big[TEXT_MAX] = '\0';
	char *f = text_casefold(big);
	assert_non_null(f);
	assert_int_equal(strlen(f), TEXT_MAX);
	assert_int_equal(f[0], 'a');
	free(f);
	big[TEXT_MAX] = 'A';
	big[TEXT_MAX + 1] = '\0';
	assert_null(text_casefold(big));
	assert_int_equal(text_words(big, NULL, NULL), CW_EINVAL);
	free(big);
}

/* Collects words as "w1|w2|...". */
static void collect(void *ud, const char *word, size_t len)
{
	struct buf *b = ud;
	if (b->len)
		buf_putc(b, '|');
	buf_append(b, word, len);
}

static void assert_words(const char *in, int n, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	int got = text_words(in, collect, &b);
	if (got != n || strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("text_words(\"%s\") = %d \"%s\", want %d \"%s\"", in, got,
			 b.data ? b.data : "", n, want);
	buf_release(&b);
}

static void test_words(void **state)
{
	(void)state;
	assert_words("STOP", 1, "STOP");
	assert_words("  stop!!  ", 1, "stop");
	assert_words("Please stop, thanks.", 3, "Please|stop|thanks");
	assert_words("Стоп. Больше не пишите", 4, "Стоп|Больше|не|пишите");
	assert_words("עצור בבקשה", 2, "עצור|בבקשה");
	assert_words("הֲסֵר אותי", 2, "הֲסֵר|אותי"); /* marks stay inside the word */
	assert_words("צה״ל", 1, "צה״ל");
	assert_words("don't stop", 2, "don't|stop");
	assert_words("stop🛑now", 2, "stop|now");
	assert_words("🛑🛑 👍", 0, "");
	assert_words("STOP-СТОП-עצור", 3, "STOP|СТОП|עצור");
	assert_words("appointment 14:30 on 22.11", 5, "appointment|14|30|on|22.11");
	assert_words("room 3B", 2, "room|3B");
	assert_words("ёлка", 1, "ёлка");
	assert_words("", 0, "");
	assert_words("   ...,,, ", 0, "");

	/* a count without a callback */
	assert_int_equal(text_words("one two three", NULL, NULL), 3);
	assert_int_equal(text_words(NULL, collect, NULL), CW_EINVAL);
	assert_int_equal(text_words("stop \xFF", NULL, NULL), CW_EINVAL);
}

/* What a policy check does: fold the message, then match words. */
struct find {
	const char *word;
	int found;
};

static void find_word(void *ud, const char *word, size_t len)
{
	struct find *f = ud;
	if (strlen(f->word) == len && memcmp(f->word, word, len) == 0)
		f->found = 1;
}

static int says(const char *message, const char *stopword)
{
	char *m = text_casefold(message), *w = text_casefold(stopword);
	struct find f = {w, 0};
	assert_non_null(m);
	assert_non_null(w);
	assert_true(text_words(m, find_word, &f) >= 0);
	free(m);
	free(w);
	return f.found;
}

static void test_optout_match(void **state)
{
	(void)state;
	assert_true(says("STOP", "stop"));
	assert_true(says("Stop please", "STOP"));
	assert_true(says("СТОП!", "стоп"));
	assert_true(says("Стоп", "СТОП"));
	assert_true(says("בבקשה הֲסֵר אותי", "הסר"));
	assert_true(says("\xE2\x80\x8F"
			 "עצור",
			 "עצור"));
	assert_true(says("отписаться от рассылки", "ОТПИСАТЬСЯ"));
	assert_false(says("stopwatch", "stop"));
	assert_false(says("non-stopping", "stop"));
	assert_false(says("Стопка", "стоп"));
	assert_false(says("הסרה", "הסר"));
}

/* The forms of word without its Hebrew prefixes, joined by '|'. */
static void assert_stems(const char *word, const char *want)
{
	size_t stems[TEXT_HE_PREFIX_MAX];
	size_t n = text_he_prefixes(word, strlen(word), stems);
	char got[256] = "";
	size_t at = 0;
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", i ? "|" : "",
				       word + stems[i]);
	if (strcmp(got, want) != 0)
		fail_msg("text_he_prefixes(\"%s\") = \"%s\", want \"%s\"", word, got, want);
}

static void test_he_prefixes(void **state)
{
	(void)state;
	assert_stems("ההרצאה", "הרצאה|רצאה");
	assert_stems("בהרצאה", "הרצאה|רצאה");
	assert_stems("ובהרצאה", "בהרצאה|הרצאה|רצאה"); /* three at most */
	assert_stems("וכשהרופא", "כשהרופא|שהרופא|הרופא");
	assert_stems("למוזמנים", "מוזמנים|וזמנים|זמנים");
	assert_stems("הרצאה", "רצאה");
	assert_stems("ולא", ""); /* a stem keeps three letters: not ו + לא */
	assert_stems("הלא", "");
	assert_stems("וכן", "");
	assert_stems("בבית", "בית"); /* not ב + ב + ית */
	assert_stems("רופא", "");    /* ר is no prefix */
	assert_stems("lecture", "");
	assert_stems("лекция", "");
	assert_stems("", "");
	/* only len bytes are read */
	size_t stems[TEXT_HE_PREFIX_MAX];
	assert_int_equal(text_he_prefixes("ההרצאה", 2, stems), 0);
	assert_int_equal(text_he_prefixes("ההרצאה", 8, stems), 1); /* ה + הרצ */
	assert_int_equal(stems[0], 2);
	assert_int_equal(text_he_prefixes("\xD7", 1, stems), 0);
	assert_int_equal(text_he_prefixes(NULL, 0, stems), 0);
}

static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int valid;
		size_t chars;
	} cases[] = {
	    {"", 1, 0},
	    {"stop", 1, 4},
	    {"Стоп", 1, 4},
	    {"עצור", 1, 4},
	    {"הֲסֵר", 1, 5}, /* 3 letters, 2 points */
	    {"🛑", 1, 1},
	    {"a🛑b", 1, 3},
	    {"\xF4\x8F\xBF\xBF", 1, 1}, /* U+10FFFF */
	    {"\xFF", 0, 1},
	    {"\xC3", 0, 1}, /* truncated */
	    {"\xC3(", 0, 2},
	    {"\xE2\x82", 0, 1},		/* truncated 3-byte */
	    {"\xC0\x80", 0, 2},		/* overlong NUL */
	    {"\xED\xA0\x80", 0, 3},	/* surrogate D800 */
	    {"\xF4\x90\x80\x80", 0, 4}, /* past U+10FFFF */
	    {"\xF0\x9F\x9B", 0, 1},	/* emoji cut short */
	    {"ok\x80", 0, 3},		/* stray continuation byte */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].s);
		if (text_valid_utf8(cases[i].s, len) != cases[i].valid)
			fail_msg("case %zu: valid %d, want %d", i, !cases[i].valid, cases[i].valid);
		if (text_utf8_chars(cases[i].s, len) != cases[i].chars)
			fail_msg("case %zu: %zu chars, want %zu", i,
				 text_utf8_chars(cases[i].s, len), cases[i].chars);
	}
	/* a NUL inside the length is a character like any other */
	assert_true(text_valid_utf8("a\0b", 3));
	assert_int_equal(text_utf8_chars("a\0b", 3), 3);
	/* the length bounds the check */
	assert_true(text_valid_utf8("ok\xFF", 2));
	assert_int_equal(text_utf8_chars("Стоп", 4), 2);
	assert_true(text_valid_utf8(NULL, 0));
	assert_false(text_valid_utf8(NULL, 1));
}

#define THREADS 4

static void *worker(void *arg)
{
	intptr_t bad = 0;
	(void)arg;
	for (int i = 0; i < 500; i++) {
		char *f = text_casefold(i % 2 ? "הֲסֵר אותי" : "СТОП Ёлка");
		if (!f || strcmp(f, i % 2 ? "הסר אותי" : "стоп елка") != 0)
			bad++;
		if (text_words(f, NULL, NULL) != 2)
			bad++;
		free(f);
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad = NULL;
		pthread_join(t[i], &bad);
		assert_int_equal((intptr_t)bad, 0);
	}
}

static int teardown(void **state)
{
	(void)state;
	text_thread_release();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_casefold),	cmocka_unit_test(test_casefold_limit),
	    cmocka_unit_test(test_words),	cmocka_unit_test(test_optout_match),
	    cmocka_unit_test(test_utf8),	cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_he_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
