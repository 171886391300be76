/*
 * test_phone.c — unit tests for base/phone: E.164 normalisation of numbers
 * as people in Israel, Russia and Kazakhstan type them, wa_id forms, and
 * the refusals (with their stable reasons).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/phone.h"
#include "base/banned.h"

struct good {
	const char *raw;
	const char *region; /* default region */
	const char *e164;
	const char *got_region;
	enum phone_type type;
};

static const struct good goods[] = {
    /* Israel: trunk 0, every common way of writing a mobile number */
    {"052-123-4567", "IL", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"0521234567", "IL", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"(052) 123 4567", "IL", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"052.123.4567", "il", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"+972 52-123-4567", NULL, "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"+972521234567", "RU", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"  +972 (52) 123-45-67  ", "", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"00972521234567", "IL", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"00 972 52 123 4567", NULL, "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"00972521234567", "RU", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    /* no-break space and a Unicode dash, as pasted from a document */
    {"052\xC2\xA0"
     "123\xE2\x80\x93"
     "4567",
     "IL", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    {"03-123-4567", "IL", "+97231234567", "IL", PHONE_TYPE_FIXED_LINE},
    {"+972 2 123 4567", "IL", "+97221234567", "IL", PHONE_TYPE_FIXED_LINE},
    /* Russia: trunk 8 */
    {"8 (912) 345-67-89", "RU", "+79123456789", "RU", PHONE_TYPE_MOBILE},
    {"89123456789", "RU", "+79123456789", "RU", PHONE_TYPE_MOBILE},
    {"+7 912 345-67-89", NULL, "+79123456789", "RU", PHONE_TYPE_MOBILE},
    {"+7 (495) 123-45-67", "IL", "+74951234567", "RU", PHONE_TYPE_FIXED_LINE},
    {"8-495-123-45-67", "RU", "+74951234567", "RU", PHONE_TYPE_FIXED_LINE},
    {"8 (800) 555-35-35", "RU", "+78005553535", "RU", PHONE_TYPE_TOLL_FREE},
    /* Russia's international prefix 8-10 */
    {"8 10 972 52 123 4567", "RU", "+972521234567", "IL", PHONE_TYPE_MOBILE},
    /* Kazakhstan shares +7: the number decides, not the default region */
    {"+7 701 123 4567", NULL, "+77011234567", "KZ", PHONE_TYPE_MOBILE},
    {"+7 701 123 4567", "RU", "+77011234567", "KZ", PHONE_TYPE_MOBILE},
    {"8 701 123 4567", "KZ", "+77011234567", "KZ", PHONE_TYPE_MOBILE},
    {"8 (701) 123-45-67", "RU", "+77011234567", "KZ", PHONE_TYPE_MOBILE},
    /* elsewhere */
    {"+1 (650) 253-0000", "IL", "+16502530000", "US", PHONE_TYPE_FIXED_LINE_OR_MOBILE},
    {"+800 1234 5678", NULL, "+80012345678", "001", PHONE_TYPE_TOLL_FREE},
};

struct bad {
	const char *raw;
	const char *region;
	const char *reason;
};

static const struct bad bads[] = {
    {"", "IL", "not_a_number"},
    {"   ", "IL", "not_a_number"},
    {"+", "IL", "not_a_number"},
    {"abc", "IL", "not_a_number"},
    {"1-800-FLOWERS", "US", "not_a_number"},
    {"052-123-4567 ext 5", "IL", "not_a_number"},
    {"052-123-4567 x5", "IL", "not_a_number"},
    {"call 0521234567", "IL", "not_a_number"},
    {"+972+521234567", "IL", "not_a_number"},
    {"972+521234567", "IL", "not_a_number"},
    {"++972521234567", "IL", "not_a_number"},
    {"052#1234567", "IL", "not_a_number"},
    {"0521234567", NULL, "invalid_country_code"},
    {"0521234567", "", "invalid_country_code"},
    {"+999 123 4567", NULL, "invalid_country_code"},
    {"+0521234567", "IL", "invalid_country_code"},
    {"0000000000", "IL", "invalid_country_code"},
    {"+972 52 123", NULL, "too_short"},
    {"+972 52 123 4567 8901", NULL, "too_long"},
    {"0521234567890123456789012345678901234567890123456789012345678901234", "IL", "too_long"},
    /* the right length, but no such number */
    {"052-123-456", "IL", "invalid_for_region"},
    {"+7 000 000 00 00", NULL, "invalid_for_region"},
    {"+972 1 234 5678", NULL, "invalid_for_region"},
    /* a Russian number read in Israel: never guessed into something */
    {"89123456789", "IL", "invalid_for_region"},
};

static void test_normalize_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
		const struct good *g = &goods[i];
		struct phone_result r;
		memset(&r, 0x55, sizeof r);
		int rc = phone_normalize(g->raw, g->region, &r);
		if (rc != 0)
			fail_msg("\"%s\" (%s): %d %s", g->raw, g->region ? g->region : "-", rc,
				 r.reason ? r.reason : "?");
		assert_string_equal(r.e164, g->e164);
		assert_string_equal(r.region, g->got_region);
		if (r.type != g->type)
			fail_msg("\"%s\": type %s, want %s", g->raw, phone_type_name(r.type),
				 phone_type_name(g->type));
		assert_null(r.reason);
		assert_null(r.message);
	}
}

static void test_normalize_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		const struct bad *b = &bads[i];
		struct phone_result r;
		memset(&r, 0x55, sizeof r);
		int rc = phone_normalize(b->raw, b->region, &r);
		if (rc != CW_EPHONE || !r.reason || strcmp(r.reason, b->reason) != 0)
			fail_msg("\"%s\" (%s): rc %d reason %s, want %s", b->raw,
				 b->region ? b->region : "-", rc, rc == 0 ? r.e164 : r.reason,
				 b->reason);
		assert_string_equal(r.e164, "");
		assert_string_equal(r.region, "");
		assert_int_equal(r.type, PHONE_TYPE_UNKNOWN);
		assert_non_null(r.message);
		/* reasons go to logs and API errors: no digits of the number */
		assert_null(strpbrk(r.message, "0123456789"));
	}
}

static void test_normalize_args(void **state)
{
	(void)state;
	struct phone_result r;
	assert_int_equal(phone_normalize(NULL, "IL", &r), CW_EINVAL);
	assert_int_equal(phone_normalize("0521234567", "IL", NULL), CW_EINVAL);
	assert_int_equal(phone_normalize("0521234567", "ISR", &r), CW_EINVAL);
	assert_int_equal(phone_normalize("0521234567", "I1", &r), CW_EINVAL);
	assert_int_equal(phone_normalize("0521234567", "I", &r), CW_EINVAL);
	/* a well-formed but unknown region is simply no help */
	assert_int_equal(phone_normalize("0521234567", "XX", &r), CW_EPHONE);
	assert_string_equal(r.reason, "invalid_country_code");
	assert_int_equal(phone_normalize("+972521234567", "XX", &r), 0);
	assert_string_equal(r.e164, "+972521234567");
}

static void test_from_wa_id(void **state)
{
	(void)state;
	static const struct {
		const char *wa_id, *e164, *region, *reason;
	} cases[] = {
	    {"972521234567", "+972521234567", "IL", NULL},
	    {"79123456789", "+79123456789", "RU", NULL},
	    {"77011234567", "+77011234567", "KZ", NULL},
	    {"16502530000", "+16502530000", "US", NULL},
	    {"+972521234567", NULL, NULL, "not_a_number"},
	    {"972 52 123 4567", NULL, NULL, "not_a_number"},
	    {"", NULL, NULL, "not_a_number"},
	    {"0521234567", NULL, NULL, "invalid_country_code"},
	    {"9725", NULL, NULL, "too_short"},
	    {"9725212345678901", NULL, NULL, "too_long"},
	    {"70000000000", NULL, NULL, "invalid_for_region"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct phone_result r;
		int rc = phone_from_wa_id(cases[i].wa_id, &r);
		if (cases[i].e164) {
			if (rc != 0)
				fail_msg("wa_id %s: %s", cases[i].wa_id, r.reason);
			assert_string_equal(r.e164, cases[i].e164);
			assert_string_equal(r.region, cases[i].region);
		} else {
			if (rc != CW_EPHONE || strcmp(r.reason, cases[i].reason) != 0)
				fail_msg("wa_id %s: rc %d %s, want %s", cases[i].wa_id, rc,
					 rc ? r.reason : r.e164, cases[i].reason);
		}
	}
	struct phone_result r;
	assert_int_equal(phone_from_wa_id(NULL, &r), CW_EINVAL);
}

static void test_to_wa_id(void **state)
{
	(void)state;
	char out[PHONE_E164_MAX];
	assert_int_equal(phone_to_wa_id("+972521234567", out, sizeof out), 0);
	assert_string_equal(out, "972521234567");
	assert_int_equal(phone_to_wa_id("+998901234567", out, sizeof out), 0);
	assert_string_equal(out, "998901234567");
	assert_int_equal(phone_to_wa_id("972521234567", out, sizeof out), CW_EPHONE);
	assert_int_equal(phone_to_wa_id("+97252123456x", out, sizeof out), CW_EPHONE);
	assert_int_equal(phone_to_wa_id("+972 52 123 4567", out, sizeof out), CW_EPHONE);
	assert_int_equal(phone_to_wa_id("+9725", out, sizeof out), CW_EPHONE);
	assert_int_equal(phone_to_wa_id("+9725212345678901", out, sizeof out), CW_EPHONE);
	assert_int_equal(phone_to_wa_id("+", out, sizeof out), CW_EPHONE);
	char small[12]; /* needs 13 */
	assert_int_equal(phone_to_wa_id("+972521234567", small, sizeof small), CW_ETOOBIG);
	assert_int_equal(phone_to_wa_id(NULL, out, sizeof out), CW_EINVAL);

	/* round trip: typed number -> E.164 -> wa_id -> E.164 */
	struct phone_result a, b;
	assert_int_equal(phone_normalize("8 (912) 345-67-89", "RU", &a), 0);
	assert_int_equal(phone_to_wa_id(a.e164, out, sizeof out), 0);
	assert_string_equal(out, "79123456789");
	assert_int_equal(phone_from_wa_id(out, &b), 0);
	assert_string_equal(a.e164, b.e164);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(phone_type_name(PHONE_TYPE_MOBILE), "mobile");
	assert_string_equal(phone_type_name(PHONE_TYPE_FIXED_LINE), "fixed_line");
	assert_string_equal(phone_type_name(PHONE_TYPE_FIXED_LINE_OR_MOBILE),
			    "fixed_line_or_mobile");
	assert_string_equal(phone_type_name(PHONE_TYPE_VOICEMAIL), "voicemail");
	assert_string_equal(phone_type_name((enum phone_type)99), "unknown");
	assert_string_equal(phone_type_name((enum phone_type) - 1), "unknown");
}

#define THREADS 4
#define ROUNDS	300

static void *worker(void *arg)
{
	intptr_t bad = 0;
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		const struct good *g = &goods[(size_t)i % (sizeof goods / sizeof goods[0])];
		struct phone_result r;
		if (phone_normalize(g->raw, g->region, &r) != 0 || strcmp(r.e164, g->e164) != 0)
			bad++;
		if (phone_normalize("052-123-456", "IL", &r) != CW_EPHONE)
			bad++;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_good), cmocka_unit_test(test_normalize_bad),
	    cmocka_unit_test(test_normalize_args), cmocka_unit_test(test_from_wa_id),
	    cmocka_unit_test(test_to_wa_id),	   cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
