/*
 * hours.c — business hours, the out-of-hours promise and open-time
 * arithmetic (see hours.h).
 *
 * Local dates are walked as day numbers (days since 1970-01-01, proleptic
 * Gregorian), and each span's opening and closing wall-clock time is turned
 * into UTC on its own date by time_from_local(), so spans follow the zone's
 * DST rules date by date. The texts are tables, one row per language.
 */
#include "core/hours.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "base/banned.h"

#define DAY_MS (24LL * 3600 * 1000)
#define MIN_MS (60LL * 1000)
/* Loop guard for open-time walks: spans in the look-ahead, and a margin. */
#define WALK_MAX (HOURS_LOOKAHEAD_DAYS * HOURS_SPANS_MAX + 16)

static const char *const day_keys[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* ---- calendar arithmetic on day numbers ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day)
{
	return (int)(((day % 7) + 7 + 4) % 7);
}

static int32_t yyyymmdd(int64_t day)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	return (int32_t)(y * 10000 + m * 100 + d);
}

/* The UTC instant of minute (0..1440) of local day `day` in zone. */
static int local_ms(const char *zone, int64_t day, int minute, int64_t *out)
{
	if (minute >= 1440) {
		day++;
		minute -= 1440;
	}
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	return time_from_local(zone, y, m, d, minute / 60, minute % 60, out);
}

/* The local day number of instant t in zone. */
static int local_day(const char *zone, int64_t t, int64_t *day)
{
	struct time_local lt;
	int rc = time_to_local(t, zone, &lt);
	if (rc)
		return rc;
	*day = days_from_civil(lt.year, lt.month, lt.day);
	return 0;
}

static int holiday_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int is_holiday(const struct hours *h, int32_t date)
{
	return h->nholidays > 0 && bsearch(&date, h->holidays, (size_t)h->nholidays,
					   sizeof h->holidays[0], holiday_cmp) != NULL;
}

/* ---- open-time arithmetic ---- */

void hours_default(struct hours *h, const char *zone)
{
	memset(h, 0, sizeof *h);
	snprintf(h->zone, sizeof h->zone, "%s", zone && *zone ? zone : "UTC");
	h->target_ms = HOURS_TARGET_DEFAULT_MS;
	h->promise_ms = HOURS_PROMISE_DEFAULT_MS;
	h->auto_reply = 1;
}

int hours_next_span(const struct hours *h, int64_t t, int64_t *start, int64_t *end)
{
	if (!h->enabled) {
		*start = INT64_MIN / 4;
		*end = INT64_MAX / 4;
		return 0;
	}
	int64_t day0;
	if (local_day(h->zone, t, &day0) != 0)
		return CW_ENOTFOUND;
	/* The day before too: its last span may close after t's local midnight
	 * only through "24:00", which is t's day at 00:00 <= t, so starting at
	 * t's own day is enough. */
	for (int i = 0; i <= HOURS_LOOKAHEAD_DAYS; i++) {
		int64_t day = day0 + i;
		if (is_holiday(h, yyyymmdd(day)))
			continue;
		int wd = weekday(day);
		for (int k = 0; k < h->nspans[wd]; k++) {
			int64_t s, e;
			if (local_ms(h->zone, day, h->spans[wd][k].open, &s) != 0 ||
			    local_ms(h->zone, day, h->spans[wd][k].close, &e) != 0)
				return CW_ENOTFOUND;
			if (e > t && e > s) {
				*start = s;
				*end = e;
				return 0;
			}
		}
	}
	return CW_ENOTFOUND;
}

int hours_is_open(const struct hours *h, int64_t t)
{
	int64_t s, e;
	if (!h->enabled)
		return 1;
	return hours_next_span(h, t, &s, &e) == 0 && s <= t;
}

int hours_next_open(const struct hours *h, int64_t t, int64_t *at)
{
	int64_t s, e;
	int rc = hours_next_span(h, t, &s, &e);
	if (rc)
		return rc;
	*at = s > t ? s : t;
	return 0;
}

int hours_add_open(const struct hours *h, int64_t from, int64_t dur_ms, int64_t *out)
{
	int64_t cur = from, rem = dur_ms > 0 ? dur_ms : 0;
	if (!h->enabled) {
		*out = from + rem;
		return 0;
	}
	for (int guard = 0; guard < WALK_MAX; guard++) {
		int64_t s, e;
		int rc = hours_next_span(h, cur, &s, &e);
		if (rc)
			return rc;
		if (s > cur)
			cur = s;
		if (rem <= e - cur) {
			*out = cur + rem;
			return 0;
		}
		rem -= e - cur;
		cur = e;
	}
	return CW_ENOTFOUND;
}

int64_t hours_open_between(const struct hours *h, int64_t from, int64_t to)
{
	if (to <= from)
		return 0;
	if (!h->enabled)
		return to - from;
	int64_t cur = from, sum = 0;
	for (int guard = 0; guard < WALK_MAX && cur < to; guard++) {
		int64_t s, e;
		if (hours_next_span(h, cur, &s, &e) != 0 || s >= to)
			break;
		if (s < cur)
			s = cur;
		if (e > to)
			e = to;
		sum += e - s;
		cur = e;
	}
	return sum;
}

/* ---- JSON ---- */

static int fail(struct json_error *e, const char *field, const char *message)
{
	snprintf(e->field, sizeof e->field, "%s", field);
	snprintf(e->message, sizeof e->message, "%s", message);
	return CW_EINVAL;
}

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* "8:00", "08:00", "24:00" → minutes; NULL on a malformed time. */
static const char *parse_hm(const char *p, int *minutes)
{
	int hh = 0, mm = 0, nd = 0;
	while (*p >= '0' && *p <= '9' && nd < 2) {
		hh = hh * 10 + (*p++ - '0');
		nd++;
	}
	if (nd == 0 || *p != ':')
		return NULL;
	p++;
	for (nd = 0; nd < 2; nd++) {
		if (*p < '0' || *p > '9')
			return NULL;
		mm = mm * 10 + (*p++ - '0');
	}
	if (mm > 59 || hh > 24 || (hh == 24 && mm != 0))
		return NULL;
	*minutes = hh * 60 + mm;
	return p;
}

static int span_cmp(const void *a, const void *b)
{
	const struct hours_span *x = a, *y = b;
	return (x->open > y->open) - (x->open < y->open);
}

/* One day's value: "closed" or "08:00-13:00, 14:00-18:00". */
static int parse_day(const char *s, struct hours_span *spans, int *n, const char *field,
		     struct json_error *e)
{
	*n = 0;
	const char *p = skip_spaces(s);
	if (strcmp(p, "closed") == 0 || *p == '\0')
		return 0;
	while (*p) {
		int open, close;
		p = parse_hm(skip_spaces(p), &open);
		if (!p)
			return fail(e, field, "a day is \"closed\" or spans like \"08:00-18:00\"");
		p = skip_spaces(p);
		if (*p == '-')
			p++;
		else if (strncmp(p, "\xe2\x80\x93", 3) == 0) /* an en dash */
			p += 3;
		else
			return fail(e, field,
				    "a span is an opening and a closing time: 08:00-18:00");
		p = parse_hm(skip_spaces(p), &close);
		if (!p)
			return fail(e, field, "a day is \"closed\" or spans like \"08:00-18:00\"");
		if (open >= 1440 || close <= open)
			return fail(e, field, "a span must close after it opens, by 24:00");
		if (*n == HOURS_SPANS_MAX)
			return fail(e, field, "at most 4 spans a day");
		spans[*n].open = (int16_t)open;
		spans[*n].close = (int16_t)close;
		(*n)++;
		p = skip_spaces(p);
		if (*p == ',')
			p++;
		else if (*p)
			return fail(e, field, "separate spans with a comma");
	}
	qsort(spans, (size_t)*n, sizeof spans[0], span_cmp);
	for (int i = 1; i < *n; i++)
		if (spans[i].open < spans[i - 1].close)
			return fail(e, field, "spans of a day must not overlap");
	return 0;
}

static int parse_minutes(const json_t *obj, const char *key, int min, int max, int64_t *out,
			 struct json_error *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char m[120];
		snprintf(m, sizeof m, "%s must be a whole number from %d to %d", key, min, max);
		return fail(e, key, m);
	}
	*out = json_integer_value(v) * MIN_MS;
	return 0;
}

int hours_lang_index(const char *lang)
{
	static const char *const codes[][2] = {{"he", "iw"}, {"ru", "ru"}, {"en", "en"}};
	if (!lang || strlen(lang) < 2 || (lang[2] && lang[2] != '-' && lang[2] != '_'))
		return -1;
	for (int i = 0; i < HOURS_LANGS; i++)
		if (strncmp(lang, codes[i][0], 2) == 0 || strncmp(lang, codes[i][1], 2) == 0)
			return i;
	return -1;
}

int hours_from_json(const json_t *obj, const char *default_zone, struct hours *h,
		    struct json_error *e)
{
	static const struct json_field schema[] = {
	    {"enabled", JF_BOOL, 0, 0, 0, NULL},
	    {"time_zone", JF_STRING, JF_NULLABLE, 1, HOURS_ZONE_MAX - 1, NULL},
	    {"week", JF_OBJECT, 0, 0, 0, NULL},
	    {"holidays", JF_ARRAY, 0, 0, HOURS_HOLIDAYS_MAX, NULL},
	    {"first_response_target_minutes", JF_INT, 0, 0, 0, NULL},
	    {"reply_promise_minutes", JF_INT, 0, 0, 0, NULL},
	    {"auto_reply", JF_BOOL, 0, 0, 0, NULL},
	    {"auto_reply_text", JF_OBJECT, JF_NULLABLE, 0, 0, NULL},
	    {NULL, 0, 0, 0, 0, NULL},
	};
	hours_default(h, default_zone);
	if (!json_is_object(obj))
		return fail(e, "body", "business hours are a JSON object");
	if (json_validate(obj, schema, e) != 0)
		return CW_EINVAL;

	const char *zone = json_str(obj, "time_zone");
	if (zone) {
		if (!time_zone_valid(zone))
			return fail(e, "time_zone", "not an IANA time zone (Asia/Jerusalem)");
		snprintf(h->zone, sizeof h->zone, "%s", zone);
	} else if (!time_zone_valid(h->zone)) {
		snprintf(h->zone, sizeof h->zone, "UTC");
	}

	const json_t *week = json_object_get(obj, "week");
	h->enabled = week != NULL;
	if (json_object_get(obj, "enabled"))
		h->enabled = json_is_true(json_object_get(obj, "enabled"));
	int total = 0;
	if (week) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)week, key, v)
		{
			char field[64];
			snprintf(field, sizeof field, "week.%.50s", key);
			int wd = -1;
			for (int i = 0; i < 7; i++)
				if (strcmp(key, day_keys[i]) == 0)
					wd = i;
			if (wd < 0)
				return fail(e, field, "days are sun, mon, tue, wed, thu, fri, sat");
			if (!json_is_string(v))
				return fail(e, field,
					    "a day is a string: \"closed\" or \"08:00-18:00\"");
			int rc =
			    parse_day(json_string_value(v), h->spans[wd], &h->nspans[wd], field, e);
			if (rc)
				return rc;
			total += h->nspans[wd];
		}
	}
	if (h->enabled && total == 0)
		return fail(e, "week", "business hours need at least one open span");

	const json_t *hol = json_object_get(obj, "holidays");
	size_t i;
	const json_t *v;
	json_array_foreach(hol, i, v)
	{
		char field[32];
		snprintf(field, sizeof field, "holidays[%zu]", i);
		const char *s = json_string_value(v);
		int64_t ms;
		if (!s || strlen(s) != 10 || time_parse_iso(s, &ms) != 0)
			return fail(e, field, "a holiday is a date: 2026-09-21");
		int64_t day = ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
		h->holidays[h->nholidays++] = yyyymmdd(day);
	}
	qsort(h->holidays, (size_t)h->nholidays, sizeof h->holidays[0], holiday_cmp);
	int n = 0; /* drop repeated dates */
	for (int k = 0; k < h->nholidays; k++)
		if (n == 0 || h->holidays[n - 1] != h->holidays[k])
			h->holidays[n++] = h->holidays[k];
	for (int k = n; k < h->nholidays; k++)
		h->holidays[k] = 0;
	h->nholidays = n;

	int rc = parse_minutes(obj, "first_response_target_minutes", 1, HOURS_TARGET_MAX_MIN,
			       &h->target_ms, e);
	if (!rc)
		rc = parse_minutes(obj, "reply_promise_minutes", 0, HOURS_PROMISE_MAX_MIN,
				   &h->promise_ms, e);
	if (rc)
		return rc;
	if (json_object_get(obj, "auto_reply"))
		h->auto_reply = json_is_true(json_object_get(obj, "auto_reply"));

	const json_t *texts = json_object_get(obj, "auto_reply_text");
	if (json_is_object(texts)) {
		const char *lang;
		json_t *t;
		json_object_foreach((json_t *)texts, lang, t)
		{
			char field[64];
			snprintf(field, sizeof field, "auto_reply_text.%.40s", lang);
			int li = hours_lang_index(lang);
			if (li < 0 || strlen(lang) != 2)
				return fail(e, field, "texts are given for he, ru or en");
			const char *s = json_string_value(t);
			if (!s || !*s || strlen(s) > HOURS_TEXT_MAX)
				return fail(e, field, "a text of 1 to 1000 bytes");
			snprintf(h->text[li], sizeof h->text[li], "%s", s);
		}
	}
	return 0;
}

static void put_hm(struct buf *b, int minutes, int pad)
{
	buf_printf(b, pad ? "%02d:%02d" : "%d:%02d", minutes / 60, minutes % 60);
}

/* "08:00-13:00, 14:00-18:00" or "closed". */
static json_t *day_json(const struct hours *h, int wd)
{
	struct buf b;
	buf_init(&b, 256);
	if (h->nspans[wd] == 0)
		buf_puts(&b, "closed");
	for (int k = 0; k < h->nspans[wd]; k++) {
		if (k)
			buf_puts(&b, ", ");
		put_hm(&b, h->spans[wd][k].open, 1);
		buf_putc(&b, '-');
		put_hm(&b, h->spans[wd][k].close, 1);
	}
	json_t *s = json_string(b.data ? b.data : "");
	buf_release(&b);
	return s;
}

json_t *hours_to_json(const struct hours *h)
{
	static const char *const langs[HOURS_LANGS] = {"he", "ru", "en"};
	json_t *o = json_object();
	json_object_set_new(o, "enabled", json_boolean(h->enabled));
	json_object_set_new(o, "time_zone", json_string(h->zone));
	json_t *week = json_object();
	for (int wd = 0; wd < 7; wd++)
		json_object_set_new(week, day_keys[wd], day_json(h, wd));
	json_object_set_new(o, "week", week);
	json_t *hol = json_array();
	for (int k = 0; k < h->nholidays; k++) {
		char d[16];
		int32_t v = h->holidays[k];
		snprintf(d, sizeof d, "%04d-%02d-%02d", (int)(v / 10000), (int)(v / 100 % 100),
			 (int)(v % 100));
		json_array_append_new(hol, json_string(d));
	}
	json_object_set_new(o, "holidays", hol);
	json_object_set_new(o, "first_response_target_minutes",
			    json_integer(h->target_ms / MIN_MS));
	json_object_set_new(o, "reply_promise_minutes", json_integer(h->promise_ms / MIN_MS));
	json_object_set_new(o, "auto_reply", json_boolean(h->auto_reply));
	json_t *texts = json_object();
	for (int i = 0; i < HOURS_LANGS; i++)
		if (h->text[i][0])
			json_object_set_new(texts, langs[i], json_string(h->text[i]));
	json_object_set_new(o, "auto_reply_text", texts);
	return o;
}

/* ---- load and save ---- */

struct loaded {
	char zone[HOURS_ZONE_MAX];
	int found;
	char *json;
};

static int org_cb(void *ud, const struct store_row *row)
{
	struct loaded *l = ud;
	const char *z = store_row_text(row, 0);
	snprintf(l->zone, sizeof l->zone, "%s", z ? z : "UTC");
	l->found = 1;
	return 1;
}

static int kv_cb(void *ud, const struct store_row *row)
{
	struct loaded *l = ud;
	const char *v = store_row_text(row, 0);
	free(l->json);
	l->json = xstrdup(v);
	return 1;
}

static int finish_load(const char *org_id, struct loaded *l, struct hours *h)
{
	hours_default(h, l->zone);
	if (!l->json)
		return 0;
	json_error_t je;
	json_t *o = json_loads(l->json, 0, &je);
	struct json_error e;
	if (!o || hours_from_json(o, l->zone, h, &e) != 0) {
		log_warn("hours", "the stored business hours of %s do not read; using none",
			 org_id);
		hours_default(h, l->zone);
	}
	json_decref(o);
	free(l->json);
	l->json = NULL;
	return 0;
}

int hours_load(struct store *st, const char *org_id, struct hours *h)
{
	struct loaded l = {.found = 0};
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = store_query(st, "inbox.org", a, 1, org_cb, &l);
	if (rc < 0)
		return rc;
	if (!l.found)
		return CW_ENOTFOUND;
	struct store_val k[] = {SV_TEXT(org_id), SV_TEXT(HOURS_KV_KEY)};
	rc = store_query(st, "kv.get", k, 2, kv_cb, &l);
	if (rc < 0) {
		free(l.json);
		return rc;
	}
	return finish_load(org_id, &l, h);
}

int hours_load_tx(struct store_tx *tx, const char *org_id, struct hours *h)
{
	struct loaded l = {.found = 0};
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = store_tx_query(tx, "inbox.org", a, 1, org_cb, &l);
	if (rc < 0)
		return rc;
	if (!l.found)
		return CW_ENOTFOUND;
	struct store_val k[] = {SV_TEXT(org_id), SV_TEXT(HOURS_KV_KEY)};
	rc = store_tx_query(tx, "kv.get", k, 2, kv_cb, &l);
	if (rc < 0) {
		free(l.json);
		return rc;
	}
	return finish_load(org_id, &l, h);
}

int hours_save(struct store *st, const char *org_id, const struct hours *h)
{
	json_t *o = hours_to_json(h);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return CW_ENOMEM;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(HOURS_KV_KEY), SV_TEXT(s)};
	int rc = store_exec(st, "kv.set", a, 3, NULL);
	free(s);
	return rc;
}

/* ---- texts ---- */

struct lang_text {
	const char *reply;	/* {hours}, {by} */
	const char *reply_none; /* nothing opens within the look-ahead: {hours} */
	const char *today, *tomorrow, *on_day, *on_date; /* {time}, {day}, {date} */
	const char *every_day;
	const char *and;
	const char *abbr[7];
	const char *day[7];
};

/* By hours_lang_index(): he, ru, en. */
static const struct lang_text texts[HOURS_LANGS] = {
    {"תודה על פנייתך. אנחנו עונים {hours}; נחזור אליך {by}.",
     "תודה על פנייתך. אנחנו עונים {hours}; נציג מהצוות יענה לך כשנחזור.",
     "עד השעה {time} היום",
     "עד מחר בשעה {time}",
     "עד {day} בשעה {time}",
     "עד {date} בשעה {time}",
     "בכל יום",
     " ו-",
     {"א׳", "ב׳", "ג׳", "ד׳", "ה׳", "ו׳", "ש׳"},
     {"יום ראשון", "יום שני", "יום שלישי", "יום רביעי", "יום חמישי", "יום שישי", "שבת"}},
    {"Спасибо за сообщение. Мы отвечаем {hours}; вы получите ответ {by}.",
     "Спасибо за сообщение. Мы отвечаем {hours}; сотрудник клиники ответит вам, как только "
     "мы вернёмся.",
     "сегодня до {time}",
     "завтра до {time}",
     "{day} до {time}",
     "{date} до {time}",
     "ежедневно",
     " и ",
     {"Вс", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб"},
     {"в воскресенье", "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу",
      "в субботу"}},
    {"Thank you for your message. We answer {hours}; you will hear from us {by}.",
     "Thank you for your message. We answer {hours}; a member of our team will answer you "
     "as soon as we are back.",
     "by {time} today",
     "by {time} tomorrow",
     "by {time} on {day}",
     "by {time} on {date}",
     "every day",
     " and ",
     {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
     {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}},
};

static const struct lang_text *text_for(const char *lang)
{
	int i = hours_lang_index(lang);
	return &texts[i < 0 ? 2 : i];
}

struct subst {
	const char *name; /* "{hours}" */
	const char *value;
};

/* Appends pattern to out with each {name} of vars replaced. */
static int put_subst(struct buf *out, const char *pattern, const struct subst *vars, int n)
{
	const char *p = pattern;
	while (*p) {
		int hit = -1;
		if (*p == '{')
			for (int i = 0; i < n && hit < 0; i++)
				if (strncmp(p, vars[i].name, strlen(vars[i].name)) == 0)
					hit = i;
		int rc;
		if (hit >= 0) {
			rc = buf_puts(out, vars[hit].value);
			p += strlen(vars[hit].name);
		} else {
			rc = buf_putc(out, *p++);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int same_day(const struct hours *h, int a, int b)
{
	if (h->nspans[a] != h->nspans[b])
		return 0;
	for (int k = 0; k < h->nspans[a]; k++)
		if (h->spans[a][k].open != h->spans[b][k].open ||
		    h->spans[a][k].close != h->spans[b][k].close)
			return 0;
	return 1;
}

static void put_spans(struct buf *out, const struct hours *h, const struct lang_text *t, int wd)
{
	for (int k = 0; k < h->nspans[wd]; k++) {
		if (k)
			buf_puts(out, t->and);
		put_hm(out, h->spans[wd][k].open, 0);
		buf_puts(out, "\xe2\x80\x93");
		put_hm(out, h->spans[wd][k].close, 0);
	}
}

int hours_week_text(const struct hours *h, const char *lang, struct buf *out)
{
	const struct lang_text *t = text_for(lang);
	if (!h->enabled) {
		buf_puts(out, t->every_day);
		return buf_puts(out, " 0:00\xe2\x80\x93"
				     "24:00");
	}
	int all = h->nspans[0] > 0;
	for (int wd = 1; wd < 7 && all; wd++)
		all = same_day(h, 0, wd);
	if (all) {
		buf_puts(out, t->every_day);
		buf_putc(out, ' ');
		put_spans(out, h, t, 0);
		return out->len >= out->max ? CW_ETOOBIG : 0;
	}
	int first = 1;
	for (int wd = 0; wd < 7;) {
		if (h->nspans[wd] == 0) {
			wd++;
			continue;
		}
		int last = wd;
		while (last + 1 < 7 && same_day(h, wd, last + 1))
			last++;
		if (!first)
			buf_puts(out, ", ");
		first = 0;
		buf_puts(out, t->abbr[wd]);
		if (last > wd) {
			buf_puts(out, "\xe2\x80\x93");
			buf_puts(out, t->abbr[last]);
		}
		buf_putc(out, ' ');
		put_spans(out, h, t, wd);
		wd = last + 1;
	}
	return out->len >= out->max ? CW_ETOOBIG : 0;
}

/* "by 9:00 tomorrow" for the promised instant p, seen at now. */
static int put_by(struct buf *out, const struct hours *h, const struct lang_text *t, int64_t now,
		  int64_t p)
{
	struct time_local lp;
	int64_t dnow, dp;
	if (local_day(h->zone, now, &dnow) != 0 || time_to_local(p, h->zone, &lp) != 0)
		return CW_EINVAL;
	dp = days_from_civil(lp.year, lp.month, lp.day);
	char tm[16], date[16];
	snprintf(tm, sizeof tm, "%d:%02d", lp.hour, lp.minute);
	snprintf(date, sizeof date, "%d.%d", lp.day, lp.month);
	struct subst vars[] = {{"{time}", tm}, {"{day}", t->day[lp.wday]}, {"{date}", date}};
	const char *pattern = dp <= dnow       ? t->today
			      : dp == dnow + 1 ? t->tomorrow
			      : dp < dnow + 7  ? t->on_day
					       : t->on_date;
	return put_subst(out, pattern, vars, 3);
}

int hours_auto_reply(const struct hours *h, const char *lang, int64_t now, struct buf *out,
		     int64_t *promise)
{
	const struct lang_text *t = text_for(lang);
	struct buf week, by;
	int64_t p = 0;
	int rc;
	buf_init(&week, 1024);
	buf_init(&by, 256);
	rc = hours_week_text(h, lang, &week);
	if (rc)
		goto done;
	int known = hours_add_open(h, now, h->promise_ms, &p) == 0;
	if (known) {
		rc = put_by(&by, h, t, now, p);
		if (rc)
			goto done;
	} else {
		p = 0;
	}
	struct subst vars[] = {{"{hours}", week.data ? week.data : ""},
			       {"{by}", by.data ? by.data : ""}};
	int li = hours_lang_index(lang);
	const char *custom = h->text[li < 0 ? 2 : li][0] ? h->text[li < 0 ? 2 : li] : NULL;
	const char *pattern = custom && (known || !strstr(custom, "{by}")) ? custom
			      : known					   ? t->reply
									   : t->reply_none;
	rc = put_subst(out, pattern, vars, 2);
done:
	buf_release(&week);
	buf_release(&by);
	if (promise)
		*promise = rc ? 0 : p;
	return rc;
}
