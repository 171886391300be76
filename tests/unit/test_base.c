/*
 * test_base.c — unit tests for base/: buf, err, id, json, crypto, log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/sec.h"
#include "base/err.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/banned.h"

static void test_buf_bounded(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "abcd"), 0);
	assert_int_equal(buf_printf(&b, "%d", 123), 0);
	assert_string_equal(b.data, "abcd123");
	assert_int_equal(buf_puts(&b, "xy"), CW_ETOOBIG);
	assert_string_equal(b.data, "abcd123"); /* unchanged after a refused append */
	assert_int_equal(buf_putc(&b, 'z'), 0);
	assert_int_equal(b.len, 8);
	size_t n;
	char *s = buf_detach(&b, &n);
	assert_int_equal(n, 8);
	assert_string_equal(s, "abcd123z");
	free(s);
	buf_release(&b);
}

static void test_err_table(void **state)
{
	(void)state;
	assert_int_equal(cw_err_http_status(CW_EPHONE), 422);
	assert_string_equal(cw_err_code(CW_EPHONE), "invalid_phone");
	assert_int_equal(cw_err_http_status(CW_ENOTFOUND), 404);
	assert_int_equal(cw_err_http_status(CW_EAUTH), 401);
	assert_string_equal(cw_strerror(CW_ETOOBIG), "too big");
	assert_int_equal(cw_err_http_status(-999), 500);
}

static void test_id(void **state)
{
	(void)state;
	char a[ID_SIZE], b[ID_SIZE];
	id_new(a);
	id_new(b);
	assert_int_equal(strlen(a), ID_LEN);
	assert_true(id_valid(a));
	assert_string_not_equal(a, b);
	assert_false(id_valid("short"));
	assert_false(id_valid("IIIIIIIIIIIIIIIIIIIIIIIIII")); /* I is not in the alphabet */
}

static void test_json_validate(void **state)
{
	(void)state;
	static const char *const purposes[] = {"service", "marketing", NULL};
	static const struct json_field schema[] = {
		{"phone", JF_STRING, JF_REQUIRED, 1, 20, NULL},
		{"purpose", JF_STRING, 0, 0, 0, purposes},
		{"tags", JF_ARRAY, 0, 0, 2, NULL},
		{NULL, 0, 0, 0, 0, NULL},
	};
	struct json_error e;
	json_t *ok = json_pack("{s:s, s:s, s:[s]}", "phone", "+972521234567", "purpose",
			       "service", "tags", "a");
	assert_int_equal(json_validate(ok, schema, &e), 0);
	json_decref(ok);

	json_t *missing = json_pack("{s:s}", "purpose", "service");
	assert_int_equal(json_validate(missing, schema, &e), CW_EINVAL);
	assert_string_equal(e.field, "phone");
	json_decref(missing);

	json_t *badenum = json_pack("{s:s, s:s}", "phone", "1", "purpose", "spam");
	assert_int_equal(json_validate(badenum, schema, &e), CW_EINVAL);
	assert_string_equal(e.field, "purpose");
	assert_non_null(strstr(e.message, "marketing"));
	json_decref(badenum);

	json_t *badtype = json_pack("{s:i}", "phone", 5);
	assert_int_equal(json_validate(badtype, schema, &e), CW_EINVAL);
	assert_string_equal(e.field, "phone");
	json_decref(badtype);

	json_t *toomany = json_pack("{s:s, s:[s,s,s]}", "phone", "1", "tags", "a", "b", "c");
	assert_int_equal(json_validate(toomany, schema, &e), CW_EINVAL);
	assert_string_equal(e.field, "tags");
	json_decref(toomany);
}

static void test_json_parse_body(void **state)
{
	(void)state;
	struct json_error e;
	assert_null(json_parse_body("", 0, &e));
	assert_string_equal(e.field, "body");
	assert_null(json_parse_body("{\"a\":", 5, &e));
	assert_null(json_parse_body("\"\xff\xfe\"", 4, &e)); /* invalid UTF-8 */
	assert_null(json_parse_body("42", 2, &e));           /* not an object */
	assert_null(json_parse_body("{\"a\":1,\"a\":2}", 13, &e));
	char deep[300];
	memset(deep, '[', 200);
	assert_null(json_parse_body(deep, 200, &e));
	json_t *v = json_parse_body("{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}", 25, &e);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_path(v, "a.b.1.c")), "x");
	long long n = 0;
	json_t *o = json_pack("{s:s, s:i}", "ts", "1700000000", "n", 7);
	assert_int_equal(json_int(o, "ts", &n), 0);
	assert_int_equal(n, 1700000000);
	assert_int_equal(json_int(o, "n", &n), 0);
	assert_int_equal(n, 7);
	json_decref(o);
	json_decref(v);
}

static void test_crypto_hmac_and_signature(void **state)
{
	(void)state;
	char hex[65];
	/* RFC 4231 test case 2. */
	sec_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	const char *body = "{\"object\":\"whatsapp_business_account\"}";
	char header[80];
	sec_hmac_sha256_hex("secret", 6, body, strlen(body), hex);
	snprintf(header, sizeof header, "sha256=%s", hex);
	assert_int_equal(sec_verify_hub_signature(header, "secret", body, strlen(body)), 0);
	assert_int_equal(sec_verify_hub_signature(header, "other", body, strlen(body)),
			 CW_EAUTH);
	header[10] = header[10] == 'a' ? 'b' : 'a';
	assert_int_equal(sec_verify_hub_signature(header, "secret", body, strlen(body)),
			 CW_EAUTH);
	assert_int_equal(sec_verify_hub_signature(NULL, "secret", body, 3), CW_EAUTH);
	assert_int_equal(sec_verify_hub_signature("sha1=abc", "secret", body, 3), CW_EAUTH);
	assert_int_equal(sec_streq("abc", "abc"), 0);
	assert_int_not_equal(sec_streq("abc", "abd"), 0);
}

static void test_crypto_seal_and_pwhash(void **state)
{
	(void)state;
	uint8_t key[SEC_KEY_BYTES], other[SEC_KEY_BYTES];
	sec_random(key, sizeof key);
	sec_random(other, sizeof other);
	char *sealed = sec_seal(key, "EAAG-token", 10);
	size_t n = 0;
	char *plain = sec_open(key, sealed, &n);
	assert_non_null(plain);
	assert_int_equal(n, 10);
	assert_string_equal(plain, "EAAG-token");
	free(plain);
	assert_null(sec_open(other, sealed, NULL));
	sealed[5] = sealed[5] == 'A' ? 'B' : 'A';
	assert_null(sec_open(key, sealed, NULL));
	free(sealed);

	char hash[SEC_PWHASH_MAX];
	assert_int_equal(sec_pwhash("correct horse", hash, 1), 0);
	assert_non_null(strstr(hash, "$argon2id$"));
	assert_int_equal(sec_pwhash_verify(hash, "correct horse"), 0);
	assert_int_equal(sec_pwhash_verify(hash, "wrong"), CW_EAUTH);

	uint8_t k2[SEC_KEY_BYTES];
	assert_int_equal(sec_key_from_hex("00112233445566778899aabbccddeeff"
					     "00112233445566778899aabbccddeeff\n", k2), 0);
	assert_int_equal(k2[1], 0x11);
	assert_int_equal(sec_key_from_hex("zz", k2), CW_EINVAL);
}

static void test_log_mask(void **state)
{
	(void)state;
	char out[32];
	assert_string_equal(log_mask_phone("+972521234567", out, sizeof out), "+9725******67");
	assert_string_equal(log_mask_phone("", out, sizeof out), "-");
	assert_string_equal(log_mask_phone("12345", out, sizeof out), "***");
}

int main(void)
{
	sec_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_err_table),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_json_validate),
		cmocka_unit_test(test_json_parse_body),
		cmocka_unit_test(test_crypto_hmac_and_signature),
		cmocka_unit_test(test_crypto_seal_and_pwhash),
		cmocka_unit_test(test_log_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
