/*
 * test_hours.c — unit tests for core/hours: reading and writing business
 * hours (and the fields named in errors), open or closed at an instant,
 * the next opening across weekends, holidays and Israel's DST nights, open
 * time added and measured, the out-of-hours text in Hebrew, Russian and
 * English, and storing the hours in kv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdb.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/time.h"
#include "core/hours.h"
#include "base/banned.h"

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define TLV  "Asia/Jerusalem"

static int64_t iso(const char *s)
{
	int64_t ms = 0;
	if (time_parse_iso(s, &ms) != 0)
		fail_msg("time_parse_iso(\"%s\") failed", s);
	return ms;
}

/* A wall-clock time in Jerusalem. */
static int64_t tlv(int y, int mo, int d, int h, int mi)
{
	int64_t ms = 0;
	assert_int_equal(time_from_local(TLV, y, mo, d, h, mi, &ms), 0);
	return ms;
}

static void parse(const char *json, struct hours *h)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);
	if (!o)
		fail_msg("bad test JSON: %s", je.text);
	struct json_error e;
	int rc = hours_from_json(o, "UTC", h, &e);
	json_decref(o);
	if (rc)
		fail_msg("hours_from_json: %s: %s", e.field, e.message);
}

/* The clinic of DESIGN.md: Sun–Thu 8:00–18:00, Friday mornings. */
static void clinic(struct hours *h)
{
	parse("{\"time_zone\":\"Asia/Jerusalem\",\"week\":{\"sun\":\"08:00-18:00\","
	      "\"mon\":\"08:00-18:00\",\"tue\":\"08:00-18:00\",\"wed\":\"08:00-18:00\","
	      "\"thu\":\"08:00-18:00\",\"fri\":\"08:00-13:00\",\"sat\":\"closed\"}}",
	      h);
}

static void expect_error(const char *json, const char *field)
{
	json_t *o = json_loads(json, 0, NULL);
	assert_non_null(o);
	struct hours h;
	struct json_error e;
	assert_int_equal(hours_from_json(o, "UTC", &h, &e), CW_EINVAL);
	json_decref(o);
	if (strcmp(e.field, field) != 0)
		fail_msg("%s: error on %s (%s), expected %s", json, e.field, e.message, field);
}

static void test_parse_and_normalise(void **state)
{
	(void)state;
	struct hours h;
	parse("{\"time_zone\":\"Asia/Jerusalem\",\"week\":{\"sun\":\" 14:00-18:00 , 8:00-13:00\","
	      "\"fri\":\"08:00\xe2\x80\x93"
	      "13:00\"},\"holidays\":[\"2026-09-22\",\"2026-09-21\","
	      "\"2026-09-22\"],\"first_response_target_minutes\":10,\"reply_promise_minutes\":0,"
	      "\"auto_reply\":false,\"auto_reply_text\":{\"en\":\"Back {by}\"}}",
	      &h);
	assert_true(h.enabled);
	assert_string_equal(h.zone, TLV);
	assert_int_equal(h.nspans[0], 2);
	assert_int_equal(h.spans[0][0].open, 8 * 60); /* sorted */
	assert_int_equal(h.spans[0][1].close, 18 * 60);
	assert_int_equal(h.nspans[1], 0); /* a day left out is closed */
	assert_int_equal(h.nholidays, 2); /* sorted, repeated date once */
	assert_int_equal(h.holidays[0], 20260921);
	assert_int_equal(h.target_ms, 10 * MIN);
	assert_int_equal(h.promise_ms, 0);
	assert_false(h.auto_reply);
	assert_string_equal(h.text[2], "Back {by}");

	json_t *o = hours_to_json(&h);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	assert_non_null(strstr(s, "\"sun\":\"08:00-13:00, 14:00-18:00\""));
	assert_non_null(strstr(s, "\"fri\":\"08:00-13:00\""));
	assert_non_null(strstr(s, "\"mon\":\"closed\""));
	assert_non_null(strstr(s, "\"holidays\":[\"2026-09-21\",\"2026-09-22\"]"));
	assert_non_null(strstr(s, "\"auto_reply_text\":{\"en\":\"Back {by}\"}"));
	/* and what it wrote reads back the same */
	struct hours h2;
	parse(s, &h2);
	free(s);
	assert_memory_equal(&h, &h2, sizeof h);

	/* nothing set: always open, defaults, the zone given */
	json_t *empty = json_object();
	struct json_error e;
	assert_int_equal(hours_from_json(empty, TLV, &h, &e), 0);
	json_decref(empty);
	assert_false(h.enabled);
	assert_string_equal(h.zone, TLV);
	assert_int_equal(h.target_ms, HOURS_TARGET_DEFAULT_MS);
	assert_int_equal(h.promise_ms, HOURS_PROMISE_DEFAULT_MS);
	assert_true(h.auto_reply);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("{\"week\":{\"fri\":\"8-13\"}}", "week.fri");
	expect_error("{\"week\":{\"fri\":\"13:00-08:00\"}}", "week.fri");
	expect_error("{\"week\":{\"fri\":\"08:00-25:00\"}}", "week.fri");
	expect_error("{\"week\":{\"fri\":\"08:00-12:00, 11:00-13:00\"}}", "week.fri");
	expect_error("{\"week\":{\"fri\":\"08:00-09:00,09:00-10:00,10:00-11:00,11:00-12:00,"
		     "12:00-13:00\"}}",
		     "week.fri");
	expect_error("{\"week\":{\"friday\":\"08:00-13:00\"}}", "week.friday");
	expect_error("{\"week\":{\"fri\":8}}", "week.fri");
	expect_error("{\"week\":{\"sat\":\"closed\"}}", "week"); /* enabled, never open */
	expect_error("{\"enabled\":true}", "week");
	expect_error("{\"time_zone\":\"Mars/Olympus\",\"week\":{\"sun\":\"08:00-18:00\"}}",
		     "time_zone");
	expect_error("{\"week\":{\"sun\":\"08:00-18:00\"},\"holidays\":[\"2026-02-30\"]}",
		     "holidays[0]");
	expect_error("{\"week\":{\"sun\":\"08:00-18:00\"},\"holidays\":[\"2026-09-21T00:00:00Z\"]}",
		     "holidays[0]");
	expect_error("{\"week\":{\"sun\":\"08:00-18:00\"},\"first_response_target_minutes\":0}",
		     "first_response_target_minutes");
	expect_error("{\"week\":{\"sun\":\"08:00-18:00\"},\"auto_reply_text\":{\"fr\":\"x\"}}",
		     "auto_reply_text.fr");
	expect_error("{\"enabled\":\"yes\"}", "enabled");
	/* a disabled week needs no open span */
	struct hours h;
	parse("{\"enabled\":false,\"week\":{\"sat\":\"closed\"}}", &h);
	assert_false(h.enabled);
}

static void test_open_and_next(void **state)
{
	(void)state;
	struct hours h;
	clinic(&h);
	int64_t at;
	/* Sunday 2026-11-22 12:00: open */
	assert_true(hours_is_open(&h, tlv(2026, 11, 22, 12, 0)));
	assert_int_equal(hours_next_open(&h, tlv(2026, 11, 22, 12, 0), &at), 0);
	assert_int_equal(at, tlv(2026, 11, 22, 12, 0));
	/* opening and closing instants: open at 8:00, closed at 18:00 */
	assert_true(hours_is_open(&h, tlv(2026, 11, 22, 8, 0)));
	assert_false(hours_is_open(&h, tlv(2026, 11, 22, 8, 0) - 1));
	assert_false(hours_is_open(&h, tlv(2026, 11, 22, 18, 0)));
	/* Sunday 20:00 → Monday 8:00 */
	assert_int_equal(hours_next_open(&h, tlv(2026, 11, 22, 20, 0), &at), 0);
	assert_int_equal(at, iso("2026-11-23T06:00:00Z"));
	/* Friday 14:00 → Sunday 8:00, past the closed Saturday */
	assert_false(hours_is_open(&h, tlv(2026, 11, 27, 14, 0)));
	assert_int_equal(hours_next_open(&h, tlv(2026, 11, 27, 14, 0), &at), 0);
	assert_int_equal(at, iso("2026-11-29T06:00:00Z"));
	int64_t s, e;
	assert_int_equal(hours_next_span(&h, tlv(2026, 11, 27, 9, 0), &s, &e), 0);
	assert_int_equal(s, tlv(2026, 11, 27, 8, 0));
	assert_int_equal(e, tlv(2026, 11, 27, 13, 0));
}

static void test_dst(void **state)
{
	(void)state;
	struct hours h;
	clinic(&h);
	int64_t at;
	/* Thursday 2026-03-26 20:00 (UTC+2); clocks go forward on Friday
	 * night; Friday opens at 08:00 IDT = 05:00Z, Sunday too. */
	assert_int_equal(hours_next_open(&h, tlv(2026, 3, 26, 20, 0), &at), 0);
	assert_int_equal(at, iso("2026-03-27T05:00:00Z"));
	assert_int_equal(hours_next_open(&h, tlv(2026, 3, 27, 14, 0), &at), 0);
	assert_int_equal(at, iso("2026-03-29T05:00:00Z"));
	/* and back: Sunday 2026-10-25 opens at 08:00 IST = 06:00Z */
	assert_int_equal(hours_next_open(&h, tlv(2026, 10, 23, 14, 0), &at), 0);
	assert_int_equal(at, iso("2026-10-25T06:00:00Z"));

	/* a day open around the clock is 23 hours long on the spring night and
	 * 25 on the autumn one */
	struct hours all;
	parse("{\"time_zone\":\"Asia/Jerusalem\",\"week\":{\"fri\":\"00:00-24:00\","
	      "\"sun\":\"00:00-24:00\"}}",
	      &all);
	assert_int_equal(hours_open_between(&all, tlv(2026, 3, 26, 12, 0), tlv(2026, 3, 28, 12, 0)),
			 23 * HOUR);
	assert_int_equal(
	    hours_open_between(&all, tlv(2026, 10, 24, 12, 0), tlv(2026, 10, 26, 12, 0)),
	    25 * HOUR);
}

static void test_holidays(void **state)
{
	(void)state;
	struct hours h;
	parse("{\"time_zone\":\"Asia/Jerusalem\",\"week\":{\"sun\":\"08:00-18:00\","
	      "\"mon\":\"08:00-18:00\"},\"holidays\":[\"2026-11-22\"]}",
	      &h);
	int64_t at;
	assert_false(hours_is_open(&h, tlv(2026, 11, 22, 12, 0)));
	assert_int_equal(hours_next_open(&h, tlv(2026, 11, 22, 12, 0), &at), 0);
	assert_int_equal(at, tlv(2026, 11, 23, 8, 0));
	/* only Sundays, and every Sunday a holiday within the look-ahead: none */
	struct hours never;
	parse("{\"time_zone\":\"UTC\",\"week\":{\"sun\":\"08:00-18:00\"},\"holidays\":[]}", &never);
	never.nholidays = 0;
	int64_t day = iso("2026-11-22T00:00:00Z");
	for (int i = 0; i < 60; i++) {
		int64_t t = day + (int64_t)i * 7 * DAY;
		struct time_local lt;
		assert_int_equal(time_to_local(t, "UTC", &lt), 0);
		never.holidays[never.nholidays++] = lt.year * 10000 + lt.month * 100 + lt.day;
	}
	assert_int_equal(hours_next_open(&never, day, &at), CW_ENOTFOUND);
	assert_false(hours_is_open(&never, day + 10 * HOUR));
}

static void test_add_and_between(void **state)
{
	(void)state;
	struct hours h;
	clinic(&h);
	int64_t due;
	/* 6 minutes from 12:00 on an open Sunday */
	assert_int_equal(hours_add_open(&h, tlv(2026, 11, 22, 12, 0), 6 * MIN, &due), 0);
	assert_int_equal(due, tlv(2026, 11, 22, 12, 6));
	/* Thursday 17:58: two minutes today, four on Friday morning */
	assert_int_equal(hours_add_open(&h, tlv(2026, 11, 26, 17, 58), 6 * MIN, &due), 0);
	assert_int_equal(due, tlv(2026, 11, 27, 8, 4));
	/* Friday 23:00, 0 minutes: the next opening (Sunday) */
	assert_int_equal(hours_add_open(&h, tlv(2026, 11, 27, 23, 0), 0, &due), 0);
	assert_int_equal(due, tlv(2026, 11, 29, 8, 0));
	/* Friday 12:00 + 2 hours of open time: 1 h Friday, 1 h Sunday */
	assert_int_equal(hours_add_open(&h, tlv(2026, 11, 27, 12, 0), 2 * HOUR, &due), 0);
	assert_int_equal(due, tlv(2026, 11, 29, 9, 0));

	assert_int_equal(hours_open_between(&h, tlv(2026, 11, 26, 17, 58), tlv(2026, 11, 27, 8, 5)),
			 7 * MIN);
	assert_int_equal(hours_open_between(&h, tlv(2026, 11, 27, 12, 0), tlv(2026, 11, 29, 9, 0)),
			 2 * HOUR);
	assert_int_equal(hours_open_between(&h, tlv(2026, 11, 28, 1, 0), tlv(2026, 11, 28, 23, 0)),
			 0);
	assert_int_equal(hours_open_between(&h, 10, 5), 0);
	/* a whole week: 5 × 10 h + 5 h */
	assert_int_equal(hours_open_between(&h, tlv(2026, 11, 22, 0, 0), tlv(2026, 11, 29, 0, 0)),
			 55 * HOUR);

	/* not set: always open, plain wall-clock time */
	struct hours none;
	hours_default(&none, TLV);
	assert_true(hours_is_open(&none, tlv(2026, 11, 28, 3, 0)));
	assert_int_equal(hours_add_open(&none, 1000, 6 * MIN, &due), 0);
	assert_int_equal(due, 1000 + 6 * MIN);
	assert_int_equal(hours_open_between(&none, 1000, 1000 + 3 * HOUR), 3 * HOUR);
}

static char *reply(const struct hours *h, const char *lang, int64_t now, int64_t *promise)
{
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(hours_auto_reply(h, lang, now, &b, promise), 0);
	return buf_detach(&b, NULL);
}

static void expect_in(const char *text, const char *part)
{
	if (!text)
		fail_msg("no text");
	else if (!strstr(text, part))
		fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_auto_reply_text(void **state)
{
	(void)state;
	struct hours h;
	clinic(&h);
	int64_t p;
	/* Sunday 20:00: by 9:00 tomorrow */
	char *s = reply(&h, "en", tlv(2026, 11, 22, 20, 0), &p);
	assert_string_equal(s, "Thank you for your message. We answer Sun\xe2\x80\x93Thu "
			       "8:00\xe2\x80\x93"
			       "18:00, Fri 8:00\xe2\x80\x93"
			       "13:00; you will "
			       "hear from us by 9:00 tomorrow.");
	assert_int_equal(p, tlv(2026, 11, 23, 9, 0));
	free(s);
	s = reply(&h, "he", tlv(2026, 11, 22, 20, 0), NULL);
	expect_in(s, "א׳–ה׳ 8:00–18:00, ו׳ 8:00–13:00");
	expect_in(s, "עד מחר בשעה 9:00");
	free(s);
	s = reply(&h, "ru-RU", tlv(2026, 11, 22, 20, 0), NULL);
	expect_in(s, "Вс–Чт 8:00–18:00, Пт 8:00–13:00");
	expect_in(s, "завтра до 9:00");
	free(s);
	/* early morning: today */
	s = reply(&h, "en", tlv(2026, 11, 23, 6, 30), NULL);
	expect_in(s, "by 9:00 today");
	free(s);
	/* Friday afternoon: Sunday, named */
	s = reply(&h, "en", tlv(2026, 11, 27, 14, 0), &p);
	expect_in(s, "by 9:00 on Sunday");
	assert_int_equal(p, tlv(2026, 11, 29, 9, 0));
	free(s);
	s = reply(&h, "ru", tlv(2026, 11, 27, 14, 0), NULL);
	expect_in(s, "в воскресенье до 9:00");
	free(s);
	s = reply(&h, "he", tlv(2026, 11, 27, 14, 0), NULL);
	expect_in(s, "עד יום ראשון בשעה 9:00");
	free(s);
	/* an unknown language reads English */
	s = reply(&h, "fr", tlv(2026, 11, 27, 14, 0), NULL);
	expect_in(s, "by 9:00 on Sunday");
	free(s);

	/* a long closure: a date */
	struct hours hol = h;
	int32_t days[] = {20261129, 20261130, 20261201, 20261202, 20261203, 20261204};
	for (size_t i = 0; i < sizeof days / sizeof days[0]; i++)
		hol.holidays[hol.nholidays++] = days[i];
	s = reply(&hol, "en", tlv(2026, 11, 27, 14, 0), NULL);
	expect_in(s, "by 9:00 on 6.12");
	free(s);

	/* the same every day */
	struct hours daily;
	parse("{\"time_zone\":\"Asia/Jerusalem\",\"week\":{\"sun\":\"09:00-17:00\","
	      "\"mon\":\"09:00-17:00\",\"tue\":\"09:00-17:00\",\"wed\":\"09:00-17:00\","
	      "\"thu\":\"09:00-17:00\",\"fri\":\"09:00-17:00\",\"sat\":\"09:00-17:00\"},"
	      "\"reply_promise_minutes\":30}",
	      &daily);
	s = reply(&daily, "en", tlv(2026, 11, 22, 20, 0), NULL);
	expect_in(s, "We answer every day 9:00\xe2\x80\x93"
		     "17:00; you will hear from us by 9:30 "
		     "tomorrow.");
	free(s);

	/* a configured text */
	snprintf(h.text[1], sizeof h.text[1], "Работаем {hours}. Ответим {by}!");
	s = reply(&h, "ru", tlv(2026, 11, 22, 20, 0), NULL);
	assert_string_equal(s, "Работаем Вс–Чт 8:00–18:00, Пт 8:00–13:00. Ответим завтра до "
			       "9:00!");
	free(s);
}

static void test_lang_index(void **state)
{
	(void)state;
	assert_int_equal(hours_lang_index("he"), 0);
	assert_int_equal(hours_lang_index("iw"), 0);
	assert_int_equal(hours_lang_index("he-IL"), 0);
	assert_int_equal(hours_lang_index("ru_RU"), 1);
	assert_int_equal(hours_lang_index("en"), 2);
	assert_int_equal(hours_lang_index("eng"), -1);
	assert_int_equal(hours_lang_index("fr"), -1);
	assert_int_equal(hours_lang_index(NULL), -1);
	assert_int_equal(hours_lang_index(""), -1);
}

static void test_load_save(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct hours h, got;
	/* nothing stored: always open, in the organisation's zone */
	assert_int_equal(hours_load(t.st, t.org, &got), 0);
	assert_false(got.enabled);
	assert_string_equal(got.zone, TLV);
	assert_int_equal(hours_load(t.st, "NOSUCHORG", &got), CW_ENOTFOUND);

	clinic(&h);
	h.holidays[h.nholidays++] = 20261225;
	h.target_ms = 15 * MIN;
	assert_int_equal(hours_save(t.st, t.org, &h), 0);
	assert_int_equal(hours_load(t.st, t.org, &got), 0);
	assert_memory_equal(&h, &got, sizeof h);

	/* stored hours that no longer read: the defaults, not an error */
	assert_int_equal(testdb_sql(&t, "UPDATE kv SET value = '{\"week\":{\"sun\":\"late\"}}' "
					"WHERE key = 'inbox.hours'"),
			 0);
	assert_int_equal(hours_load(t.st, t.org, &got), 0);
	assert_false(got.enabled);
	assert_string_equal(got.zone, TLV);
	testdb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_normalise),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_open_and_next),
	    cmocka_unit_test(test_dst),
	    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_add_and_between),
	    cmocka_unit_test(test_auto_reply_text),
	    cmocka_unit_test(test_lang_index),
	    cmocka_unit_test(test_load_save),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
