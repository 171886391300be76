/*
 * test_natid.c — unit tests for core/natid: Israeli ID and SNILS check
 * digits, the shapes each is written in, and the numbers that must not be
 * taken for one (phones, dates, amounts, longer runs, codes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/natid.h"
#include "base/banned.h"

static void test_il_check_digit(void **state)
{
	(void)state;
	assert_true(natid_il_valid("123456782"));
	assert_false(natid_il_valid("123456789"));
	assert_false(natid_il_valid("123456780"));
	assert_true(natid_il_valid("000000018"));
	assert_true(natid_il_valid("039337423"));
	assert_false(natid_il_valid("039337424"));
	/* A product above 9 is reduced: 9*2 = 18 -> 9. */
	assert_true(natid_il_valid("090000001"));
	assert_false(natid_il_valid("000000000")); /* passes the sum, not an ID */
	assert_false(natid_il_valid("12345678x"));
}

static void test_snils_checksum(void **state)
{
	(void)state;
	/* sum 95 < 100: the checksum is the sum */
	assert_true(natid_snils_valid("11223344595"));
	assert_false(natid_snils_valid("11223344594"));
	/* sum exactly 100 -> 00 */
	assert_true(natid_snils_valid("11223345800"));
	assert_false(natid_snils_valid("11223345801"));
	assert_false(natid_snils_valid("11223345810"));
	/* sum 101 -> 00 */
	assert_true(natid_snils_valid("11223345900"));
	assert_false(natid_snils_valid("11223345901"));
	/* sum 102 -> 102 mod 101 = 01 */
	assert_true(natid_snils_valid("11223346801"));
	assert_false(natid_snils_valid("11223346802"));
	/* sum 120 -> 19 */
	assert_true(natid_snils_valid("11223389819"));
	/* sum 165 -> 64 */
	assert_true(natid_snils_valid("12345678964"));
	/* sum 201 -> 201 mod 101 = 100 -> 00 */
	assert_true(natid_snils_valid("99610000000"));
	assert_false(natid_snils_valid("99610000099"));
	/* sum 202 -> 202 mod 101 = 0 -> 00 */
	assert_true(natid_snils_valid("99700000000"));
	/* At or below 001-001-998 no checksum applies: never an ID, even
	 * with the digits that would be right (sum 64). */
	assert_false(natid_snils_valid("00100199864"));
	assert_true(natid_snils_valid("00100199965")); /* first above the line, sum 65 */
	assert_false(natid_snils_valid("1122334459x"));
}

struct find_case {
	const char *text;
	enum natid_kind kind; /* NATID_NONE: must not be found */
	const char *found;    /* the exact bytes reported */
};

/* clang-format off */
static const struct find_case find_cases[] = {
	/* Israeli ID shapes */
	{"ID 123456782 please", NATID_IL_ID, "123456782"},
	{"ת.ז. 123456782", NATID_IL_ID, "123456782"},
	{"ת.ז.123456782", NATID_IL_ID, "123456782"},
	{"12345678-2", NATID_IL_ID, "12345678-2"},
	{"מספר זהות: 039337423.", NATID_IL_ID, "039337423"},
	{"(123456782)", NATID_IL_ID, "123456782"},
	{"room 12 123456782 now", NATID_IL_ID, "123456782"},
	{"\xD7\x96\xD7\x94\xD7\x95\xD7\xAA 123456782", NATID_IL_ID, "123456782"},
	/* wrong check digit */
	{"ID 123456789 please", NATID_NONE, NULL},
	{"12345678-9", NATID_NONE, NULL},
	/* 8 digits: not recognised (dates, references) */
	{"20261101", NATID_NONE, NULL},
	{"12345674", NATID_NONE, NULL},
	/* SNILS shapes */
	{"СНИЛС 112-233-445 95", NATID_RU_SNILS, "112-233-445 95"},
	{"СНИЛС: 112-233-445-95", NATID_RU_SNILS, "112-233-445-95"},
	{"112 233 445 95", NATID_RU_SNILS, "112 233 445 95"},
	{"112233445 95", NATID_RU_SNILS, "112233445 95"},
	{"snils 11223344595.", NATID_RU_SNILS, "11223344595"},
	{"112\xC2\xA0" "233\xC2\xA0" "445\xC2\xA0" "95", NATID_RU_SNILS,
	 "112\xC2\xA0" "233\xC2\xA0" "445\xC2\xA0" "95"},
	{"112-233-445 96", NATID_NONE, NULL},
	{"112-233 445-95", NATID_NONE, NULL}, /* mixed joins inside the first three */
	{"001-001-998 64", NATID_NONE, NULL},
	/* phone numbers */
	{"call 03-1234567", NATID_NONE, NULL},
	{"call 03-9337423", NATID_NONE, NULL}, /* valid digits, a landline's shape */
	{"call 03-933-7423", NATID_NONE, NULL},
	{"call 039337423 or", NATID_IL_ID, "039337423"}, /* 9 bare digits: no way to tell */
	{"call +972 123456782", NATID_IL_ID, "123456782"},
	{"call +123456782", NATID_NONE, NULL},
	{"call 0521234567", NATID_NONE, NULL},
	{"call 052-123-4567", NATID_NONE, NULL},
	{"+972-52-1234567", NATID_NONE, NULL},
	{"звоните 8 (912) 345-67-89", NATID_NONE, NULL},
	{"звоните 89123456789", NATID_NONE, NULL},
	{"звоните 79123456789", NATID_NONE, NULL},
	{"звоните +7 912 345-67-89", NATID_NONE, NULL},
	/* longer digit runs and joined numbers */
	{"order 1123456782", NATID_NONE, NULL},
	{"order 1234567820", NATID_NONE, NULL},
	{"1123456782 95", NATID_NONE, NULL},
	{"amount 123,456,782", NATID_NONE, NULL},
	{"amount 123.456.782", NATID_NONE, NULL},
	{"total 0.123456782", NATID_NONE, NULL},
	{"total 123456782.50", NATID_NONE, NULL},
	{"at 12:30 on 01/11/2026", NATID_NONE, NULL},
	{"2026-11-01 12345678-2x", NATID_NONE, NULL},
	{"1-12345678-2", NATID_NONE, NULL},
	{"ref A123456782", NATID_NONE, NULL},
	{"ref 123456782B", NATID_NONE, NULL},
	{"id_123456782", NATID_NONE, NULL},
	{"000000000", NATID_NONE, NULL},
	/* end of a sentence is not a join */
	{"Your ID is 123456782.", NATID_IL_ID, "123456782"},
	{"", NATID_NONE, NULL},
	{"no digits at all", NATID_NONE, NULL},
};
/* clang-format on */

static void test_find_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof find_cases / sizeof find_cases[0]; i++) {
		const struct find_case *c = &find_cases[i];
		struct natid_match m;
		memset(&m, 0, sizeof m);
		int r = natid_find(c->text, &m);
		if (r != (c->kind != NATID_NONE))
			fail_msg("case %zu \"%s\": found=%d, want %d", i, c->text, r,
				 c->kind != NATID_NONE);
		if (c->kind == NATID_NONE)
			continue;
		assert_int_equal(m.kind, c->kind);
		if (m.len != strlen(c->found) || memcmp(c->text + m.offset, c->found, m.len) != 0)
			fail_msg("case %zu \"%s\": reported \"%.*s\"", i, c->text, (int)m.len,
				 c->text + m.offset);
	}
}

static void test_find_next_and_null(void **state)
{
	(void)state;
	const char *t = "a 123456782 b 112-233-445 95 c";
	struct natid_match m;
	assert_int_equal(natid_find_n(t, strlen(t), 0, &m), 1);
	assert_int_equal(m.kind, NATID_IL_ID);
	assert_int_equal(m.offset, 2);
	assert_int_equal(natid_find_n(t, strlen(t), m.offset + m.len, &m), 1);
	assert_int_equal(m.kind, NATID_RU_SNILS);
	assert_int_equal(m.offset, 14);
	assert_int_equal(natid_find_n(t, strlen(t), m.offset + m.len, &m), 0);
	/* Starting inside a run does not report its tail. */
	assert_int_equal(natid_find_n("9123456782", 10, 1, &m), 0);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(natid_find_n("1234567829", 9, 0, &m), 1);
	assert_int_equal(natid_find(NULL, &m), 0);
	assert_int_equal(natid_find("123456782", NULL), 1);
	assert_string_equal(natid_kind_name(NATID_RU_SNILS), "snils");
	assert_string_equal(natid_kind_name(NATID_IL_ID), "israeli_id");
	assert_string_equal(natid_kind_label(NATID_IL_ID), "an Israeli ID number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_il_check_digit),
	    cmocka_unit_test(test_snils_checksum),
	    cmocka_unit_test(test_find_table),
	    cmocka_unit_test(test_find_next_and_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
