/*
 * test_errors.c — unit tests for wa/errors: every Cloud API code the sender
 * must handle is in the table with the right class and hints, unknown codes
 * get the default, and Graph error bodies parse (Meta's documented 130429
 * body from CW_FIXTURES/meta-docs/send_error_130429.json among them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "wa/errors.h"
#include "base/banned.h"

struct want {
	int code;
	enum wa_err_class cls;
};

/* The list of codes, each with the class the dispatcher relies on. */
static const struct want wants[] = {
    {0, WA_ERR_PAUSE_NUMBER},
    {1, WA_ERR_RETRY},
    {2, WA_ERR_RETRY},
    {4, WA_ERR_RETRY},
    {100, WA_ERR_FIX_REQUEST},
    {190, WA_ERR_PAUSE_NUMBER},
    {368, WA_ERR_PAUSE_NUMBER},
    {80007, WA_ERR_RETRY},
    {130429, WA_ERR_RETRY},
    {130472, WA_ERR_NEVER},
    {131000, WA_ERR_RETRY},
    {131008, WA_ERR_FIX_REQUEST},
    {131009, WA_ERR_FIX_REQUEST},
    {131016, WA_ERR_RETRY},
    {131026, WA_ERR_NEVER},
    {131031, WA_ERR_PAUSE_NUMBER},
    {131042, WA_ERR_PAUSE_NUMBER},
    {131047, WA_ERR_NEVER},
    {131048, WA_ERR_RETRY},
    {131049, WA_ERR_RETRY_RECIPIENT},
    {131050, WA_ERR_WITHDRAW_MARKETING},
    {131051, WA_ERR_FIX_REQUEST},
    {131053, WA_ERR_FIX_REQUEST},
    {131056, WA_ERR_RETRY_RECIPIENT},
    {131057, WA_ERR_RETRY},
    {132000, WA_ERR_FIX_REQUEST},
    {132001, WA_ERR_FIX_REQUEST},
    {132012, WA_ERR_FIX_REQUEST},
    {132015, WA_ERR_NEVER},
    {132016, WA_ERR_NEVER},
    {133004, WA_ERR_RETRY},
    {133010, WA_ERR_PAUSE_NUMBER},
};

static void test_every_listed_code(void **state)
{
	(void)state;
	const struct wa_err_info *unknown = wa_err_lookup(WA_ERR_CODE_UNKNOWN);
	for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		const struct wa_err_info *e = wa_err_lookup(wants[i].code);
		assert_non_null(e);
		if (e->code != wants[i].code || e->cls != wants[i].cls)
			print_error("code %d: got row %d class %s\n", wants[i].code, e->code,
				    wa_err_class_name(e->cls));
		assert_int_equal(e->code, wants[i].code); /* its own row, not a default */
		assert_int_equal(e->code_max, 0);
		assert_ptr_not_equal(e, unknown);
		assert_int_equal(e->cls, wants[i].cls);
		assert_true(e->title && strlen(e->title) > 5);
		/* only the pause class pauses; only 131050 withdraws marketing */
		assert_int_equal(e->pause_number, e->cls == WA_ERR_PAUSE_NUMBER);
		assert_int_equal(e->withdraw_marketing, e->code == 131050);
		assert_int_equal(e->fallback_template, e->code == 131047);
	}
}

static void test_hints(void **state)
{
	(void)state;
	const long long hour = 3600LL * 1000;
	/* 131049: not again for this person within 24 h */
	assert_true(wa_err_lookup(131049)->min_delay_ms >= 24 * hour);
	/* 131050: consent withdrawn, never retried */
	const struct wa_err_info *e = wa_err_lookup(131050);
	assert_true(e->withdraw_marketing);
	assert_int_equal(e->cls, WA_ERR_WITHDRAW_MARKETING);
	assert_int_equal(e->min_delay_ms, 0);
	/* 131047: fall back to a template */
	assert_true(wa_err_lookup(131047)->fallback_template);
	/* token and account trouble: pause and alert */
	int pausers[] = {190, 368, 131031};
	for (size_t i = 0; i < 3; i++) {
		e = wa_err_lookup(pausers[i]);
		assert_true(e->pause_number);
		assert_true(e->alert);
	}
	/* 130429 slows the number; 131056 backs off for the pair only */
	e = wa_err_lookup(130429);
	assert_true(e->slow_number);
	assert_true(e->min_delay_ms > 0);
	e = wa_err_lookup(131056);
	assert_false(e->slow_number);
	assert_int_equal(e->cls, WA_ERR_RETRY_RECIPIENT);
	assert_true(e->min_delay_ms > 0);
	/* every retry class row says how long to wait at least */
	for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		e = wa_err_lookup(wants[i].code);
		if (e->cls == WA_ERR_RETRY || e->cls == WA_ERR_RETRY_RECIPIENT)
			assert_true(e->min_delay_ms > 0);
	}
}

static void test_unknown_and_ranges(void **state)
{
	(void)state;
	const struct wa_err_info *u = wa_err_lookup(987654);
	assert_int_equal(u->code, WA_ERR_CODE_UNKNOWN);
	assert_int_equal(u->cls, WA_ERR_RETRY);
	assert_false(u->pause_number);
	assert_ptr_equal(wa_err_lookup(-42), u);
	/* an unlisted template error is still a template (request) error */
	const struct wa_err_info *t = wa_err_lookup(132999);
	assert_int_equal(t->cls, WA_ERR_FIX_REQUEST);
	assert_int_equal(t->code_max, 132999);
	/* permissions 200..299 */
	assert_int_equal(wa_err_lookup(200)->cls, WA_ERR_PAUSE_NUMBER);
	assert_int_equal(wa_err_lookup(299)->cls, WA_ERR_PAUSE_NUMBER);
	assert_ptr_equal(wa_err_lookup(300), u);
	/* exact rows win over ranges */
	assert_int_equal(wa_err_lookup(132015)->cls, WA_ERR_NEVER);
}

static void test_class_names(void **state)
{
	(void)state;
	assert_string_equal(wa_err_class_name(WA_ERR_RETRY), "retry");
	assert_string_equal(wa_err_class_name(WA_ERR_RETRY_RECIPIENT), "retry_recipient");
	assert_string_equal(wa_err_class_name(WA_ERR_FIX_REQUEST), "fix_request");
	assert_string_equal(wa_err_class_name(WA_ERR_NEVER), "never");
	assert_string_equal(wa_err_class_name(WA_ERR_WITHDRAW_MARKETING), "withdraw_marketing");
	assert_string_equal(wa_err_class_name(WA_ERR_PAUSE_NUMBER), "pause_number");
	assert_string_equal(wa_err_class_name((enum wa_err_class)42), "unknown");
}

static char *slurp(const char *rel, size_t *len)
{
	const char *dir = getenv("CW_FIXTURES");
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/fixtures/whatsapp", rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *s = calloc(1, 65536);
	assert_non_null(s);
	*len = fread(s, 1, 65535, f);
	fclose(f);
	return s;
}

static void test_parse_fixture(void **state)
{
	(void)state;
	size_t len;
	char *body = slurp("meta-docs/send_error_130429.json", &len);
	struct wa_api_error e;
	assert_int_equal(wa_api_error_parse(body, len, &e), 0);
	assert_int_equal(e.code, 130429);
	assert_int_equal(e.subcode, 2494055);
	assert_string_equal(e.type, "OAuthException");
	assert_string_equal(e.message, "(#130429) Rate limit hit");
	assert_string_equal(e.details, "Cloud API message throughput has been reached.");
	assert_string_equal(e.messaging_product, "whatsapp");
	assert_string_equal(e.fbtrace_id, "Az8or2yhqkZfEZ-_4Qn_Bam");
	const struct wa_err_info *info = wa_err_classify(400, 0, &e);
	assert_int_equal(info->code, 130429);
	assert_true(info->slow_number);
	free(body);
}

static void test_parse_variants(void **state)
{
	(void)state;
	struct wa_api_error e;
	const char *b = "{\"error\":{\"message\":\"Invalid OAuth access token.\",\"type\":"
			"\"OAuthException\",\"code\":190,\"error_subcode\":463,"
			"\"error_user_title\":\"Session expired\",\"fbtrace_id\":\"A1\"}}";
	assert_int_equal(wa_api_error_parse(b, strlen(b), &e), 0);
	assert_int_equal(e.code, 190);
	assert_int_equal(e.subcode, 463);
	assert_string_equal(e.user_title, "Session expired");
	assert_string_equal(e.details, "");
	assert_int_equal(wa_err_classify(401, 0, &e)->cls, WA_ERR_PAUSE_NUMBER);

	/* code as a string, error_data as a string */
	b = "{\"error\":{\"code\":\"131047\",\"error_data\":\"window closed\"}}";
	assert_int_equal(wa_api_error_parse(b, strlen(b), &e), 0);
	assert_int_equal(e.code, 131047);
	assert_string_equal(e.details, "window closed");
	assert_true(wa_err_classify(400, 0, &e)->fallback_template);

	/* code 0 is a real code (AuthException), not "none" */
	b = "{\"error\":{\"code\":0,\"message\":\"(#0) unable to authenticate\"}}";
	assert_int_equal(wa_api_error_parse(b, strlen(b), &e), 0);
	assert_int_equal(e.code, 0);
	assert_int_equal(wa_err_classify(401, 0, &e)->cls, WA_ERR_PAUSE_NUMBER);

	/* long strings are cut, not overflowed */
	char big[2048];
	int n = snprintf(big, sizeof big, "{\"error\":{\"code\":100,\"message\":\"");
	memset(big + n, 'm', 1000);
	snprintf(big + n + 1000, sizeof big - (size_t)n - 1000, "\"}}");
	assert_int_equal(wa_api_error_parse(big, strlen(big), &e), 0);
	assert_int_equal(strlen(e.message), sizeof e.message - 1);

	/* not error bodies: not JSON, no "error", no code, body not NUL-terminated */
	const char *bad[] = {"",
			     "<html>502 Bad Gateway</html>",
			     "{\"messages\":[]}",
			     "{\"error\":\"x\"}",
			     "{\"error\":{\"message\":\"no code\"}}",
			     "{\"error\":{\"code\":1.5}}",
			     "[1,2]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(wa_api_error_parse(bad[i], strlen(bad[i]), &e), CW_EPARSE);
	const char *cut = "{\"error\":{\"code\":2}}trailing";
	assert_int_equal(wa_api_error_parse(cut, 20, &e), 0);
	assert_int_equal(e.code, 2);
	assert_int_equal(wa_api_error_parse(NULL, 0, &e), CW_EPARSE);
}

static void test_classify_without_body(void **state)
{
	(void)state;
	assert_int_equal(wa_err_classify(0, 1, NULL)->code, WA_ERR_CODE_TRANSPORT);
	assert_int_equal(wa_err_classify(0, 1, NULL)->cls, WA_ERR_RETRY);
	assert_int_equal(wa_err_classify(429, 0, NULL)->code, 130429);
	assert_int_equal(wa_err_classify(401, 0, NULL)->cls, WA_ERR_PAUSE_NUMBER);
	assert_int_equal(wa_err_classify(403, 0, NULL)->cls, WA_ERR_PAUSE_NUMBER);
	assert_int_equal(wa_err_classify(502, 0, NULL)->cls, WA_ERR_RETRY);
	assert_int_equal(wa_err_classify(404, 0, NULL)->cls, WA_ERR_FIX_REQUEST);
	assert_int_equal(wa_err_classify(200, 0, NULL)->code, WA_ERR_CODE_BAD_RESPONSE);
	assert_int_equal(wa_err_classify(200, 0, NULL)->cls, WA_ERR_NEVER);
	/* a parsed code wins over the status */
	struct wa_api_error e = {.code = 131050};
	assert_int_equal(wa_err_classify(400, 0, &e)->cls, WA_ERR_WITHDRAW_MARKETING);
	/* but a transport failure wins over everything */
	assert_int_equal(wa_err_classify(400, 1, &e)->code, WA_ERR_CODE_TRANSPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_listed_code),	  cmocka_unit_test(test_hints),
	    cmocka_unit_test(test_unknown_and_ranges),	  cmocka_unit_test(test_class_names),
	    cmocka_unit_test(test_parse_fixture),	  cmocka_unit_test(test_parse_variants),
	    cmocka_unit_test(test_classify_without_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
