/*
 * time.c — the clock, ISO-8601 text, and IANA zones through ICU (see
 * time.h).
 *
 * UTC instants are int64 milliseconds; the ISO-8601 and duration parsers
 * here are strict hand-written scanners (a date either is valid or is
 * refused; "2026-02-30" is refused, not rolled over). Everything that
 * needs a time zone goes to ICU's ucal_* and udat_*: its zone data decides
 * when Israel or Kazakhstan change their clocks.
 *
 * ICU calendars and formatters are not safe to share between threads, and
 * opening one costs tens of microseconds, which the scheduler cannot pay
 * per reminder. So each thread keeps a few of each, most recently used
 * first, freed when the thread exits (or by time_thread_release()).
 */
#include "base/time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/banned.h"

#define MS_PER_DAY  86400000LL
#define ZONE_ID_MAX 64 /* longest IANA id is about 32 bytes */
#define LOCALE_MAX  32
#define CAL_SLOTS   8
#define FMT_SLOTS   8
#define FMT_UCHARS  256 /* a "full" date and time is well under this */

/* ---- the clock ---- */

static _Atomic int64_t pinned = -1;

int64_t time_now_ms(void)
{
	int64_t p = atomic_load(&pinned);
	if (p >= 0)
		return p;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_clock_set(int64_t ms)
{
	atomic_store(&pinned, ms < 0 ? -1 : ms);
}

/* ---- civil dates (proleptic Gregorian) ---- */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d, counting in 400-year eras of 146097
 * days that start on March 1st (so the leap day is last in its year). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

char *time_format_iso(int64_t ms, char out[TIME_ISO_MAX])
{
	int64_t days = floor_div(ms, MS_PER_DAY);
	int64_t rest = ms - days * MS_PER_DAY;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, TIME_ISO_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		 (int)(rest / 3600000), (int)(rest / 60000 % 60), (int)(rest / 1000 % 60),
		 (int)(rest % 1000));
	return out;
}

/* ---- ISO-8601 parsing ---- */

/* Reads exactly n digits at *p into *out and advances *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int time_parse_iso(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_s = 0;
	const char *p = s;

	if (!s || !ms)
		return CW_EINVAL;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return CW_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return CW_EINVAL;
	if (*p == '\0')
		goto done; /* a date alone: midnight UTC */

	if (*p != 'T' && *p != 't' && *p != ' ')
		return CW_EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
		return CW_EINVAL;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec))
			return CW_EINVAL;
		if (*p == '.' || *p == ',') {
			p++;
			int n = 0, scale = 100;
			while (*p >= '0' && *p <= '9') {
				if (n < 3)
					frac_ms += (*p - '0') * scale;
				scale /= 10;
				n++;
				p++;
			}
			if (n == 0 || n > 9)
				return CW_EINVAL;
		}
	}
	if (h > 23 || mi > 59 || sec > 59)
		return CW_EINVAL;

	/* A zone is required: a wall-clock time without one is local to
	 * someone, and which one is for time_from_local() to be told. */
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (digits(&p, 2, &oh))
			return CW_EINVAL;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &om))
				return CW_EINVAL;
		} else if (*p >= '0' && *p <= '9') {
			if (digits(&p, 2, &om))
				return CW_EINVAL;
		}
		if (oh > 23 || om > 59)
			return CW_EINVAL;
		off_s = sign * (oh * 3600 + om * 60);
	} else {
		return CW_EINVAL;
	}
	if (*p != '\0')
		return CW_EINVAL;
done:
	*ms = days_from_civil(y, mo, d) * MS_PER_DAY +
	      ((int64_t)h * 3600 + mi * 60 + sec - off_s) * 1000 + frac_ms;
	return 0;
}

int time_parse_duration(const char *s, int64_t *ms)
{
	/* Designators in the order ISO-8601 requires them, with their length. */
	static const struct {
		char c;
		int time_part; /* after 'T' */
		int64_t ms;
	} parts[] = {
	    {'Y', 0, 365 * MS_PER_DAY},
	    {'M', 0, 30 * MS_PER_DAY},
	    {'W', 0, 7 * MS_PER_DAY},
	    {'D', 0, MS_PER_DAY},
	    {'H', 1, 3600000},
	    {'M', 1, 60000},
	    {'S', 1, 1000},
	};
	const size_t nparts = sizeof parts / sizeof parts[0];
	const char *p = s;
	int64_t total = 0;
	int sign = 1, in_time = 0, any = 0, any_time = 0;
	size_t next = 0; /* the first designator still allowed */

	if (!s || !ms)
		return CW_EINVAL;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (*p++ != 'P')
		return CW_EINVAL;
	while (*p) {
		if (*p == 'T') {
			if (in_time)
				return CW_EINVAL;
			in_time = 1;
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return CW_EINVAL;
		int64_t n = 0, frac = 0;
		int ndig = 0;
		while (*p >= '0' && *p <= '9') {
			if (n > (INT64_MAX - 9) / 10)
				return CW_EINVAL;
			n = n * 10 + (*p++ - '0');
			ndig++;
		}
		int fdig = 0;
		if (*p == '.' || *p == ',') {
			p++;
			int scale = 100;
			while (*p >= '0' && *p <= '9') {
				frac += (*p++ - '0') * scale;
				scale /= 10;
				fdig++;
			}
			if (fdig == 0 || fdig > 9)
				return CW_EINVAL;
		}
		size_t i = next;
		while (i < nparts && (parts[i].c != *p || parts[i].time_part != in_time))
			i++;
		if (i == nparts)
			return CW_EINVAL; /* unknown, repeated or out of order */
		if (fdig && parts[i].c != 'S')
			return CW_EINVAL; /* fractions only for seconds */
		if (n > INT64_MAX / parts[i].ms || total > INT64_MAX - n * parts[i].ms - frac)
			return CW_EINVAL;
		total += n * parts[i].ms + frac;
		next = i + 1;
		any = 1;
		any_time |= in_time;
		p++;
	}
	if (!any || (in_time && !any_time))
		return CW_EINVAL;
	*ms = sign * total;
	return 0;
}

/* ---- zones: a per-thread cache of ICU calendars and formatters ---- */

struct cal_slot {
	char zone[ZONE_ID_MAX];
	UCalendar *cal;
	uint64_t used;
};

struct fmt_slot {
	char key[ZONE_ID_MAX + LOCALE_MAX + 16]; /* "zone|locale|style" */
	UDateFormat *fmt;
	uint64_t used;
};

struct icu_cache {
	struct cal_slot cal[CAL_SLOTS];
	struct fmt_slot fmt[FMT_SLOTS];
	uint64_t tick;
};

static _Thread_local struct icu_cache *tcache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
	struct icu_cache *c = p;
	if (!c)
		return;
	for (int i = 0; i < CAL_SLOTS; i++) {
		if (c->cal[i].cal)
			ucal_close(c->cal[i].cal);
	}
	for (int i = 0; i < FMT_SLOTS; i++) {
		if (c->fmt[i].fmt)
			udat_close(c->fmt[i].fmt);
	}
	free(c);
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_free);
}

static struct icu_cache *cache_get(void)
{
	if (!tcache) {
		pthread_once(&cache_once, cache_key_init);
		tcache = xcalloc(1, sizeof *tcache);
		pthread_setspecific(cache_key, tcache); /* so the thread's exit frees it */
	}
	return tcache;
}

void time_thread_release(void)
{
	if (!tcache)
		return;
	pthread_setspecific(cache_key, NULL);
	cache_free(tcache);
	tcache = NULL;
}

/* Zones whose rules changed after the zone data ICU carries on some systems
 * (Debian 12's ICU 72 has 2022e): Kazakhstan moved to one zone, UTC+5, on
 * 2024-03-01 (tzdata 2024a). With older data these ids are read as a zone
 * that has had today's rules all along, so every time from now on is right;
 * only instants before the change come out an hour off, and carewire sends
 * nothing into the past. With 2024a or newer nothing is substituted. */
static const struct {
	const char *zone, *today;
} stale_zones[] = {
	{"Asia/Almaty", "Asia/Aqtobe"},
	{"Asia/Qostanay", "Asia/Aqtobe"},
};

static const char *zone_current(const char *zone)
{
	static int old = -1; /* racy but idempotent: every thread computes the same */
	if (old < 0) {
		UErrorCode st = U_ZERO_ERROR;
		const char *v = ucal_getTZDataVersion(&st);
		old = U_SUCCESS(st) && v && strcmp(v, "2024a") < 0;
	}
	if (!old || !zone)
		return zone;
	for (size_t i = 0; i < sizeof stale_zones / sizeof stale_zones[0]; i++)
		if (strcmp(zone, stale_zones[i].zone) == 0)
			return stale_zones[i].today;
	return zone;
}

/* A zone id as ICU takes it; refuses what cannot be an IANA id. */
static int zone_uchars(const char *zone, UChar out[ZONE_ID_MAX], int32_t *len)
{
	zone = zone_current(zone);
	size_t n = zone ? strnlen(zone, ZONE_ID_MAX) : 0;
	if (n == 0 || n >= ZONE_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = zone[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return -1;
	}
	u_charsToUChars(zone, out, (int32_t)n);
	*len = (int32_t)n;
	return 0;
}

static int zone_known(const UChar *uz, int32_t len)
{
	UChar canon[ZONE_ID_MAX];
	UBool system = 0;
	UErrorCode st = U_ZERO_ERROR;
	ucal_getCanonicalTimeZoneID(uz, len, canon, ZONE_ID_MAX, &system, &st);
	return U_SUCCESS(st) && system;
}

int time_zone_valid(const char *zone)
{
	UChar uz[ZONE_ID_MAX];
	int32_t len;
	if (zone_uchars(zone, uz, &len) != 0)
		return 0;
	return zone_known(uz, len);
}

const char *time_tzdata_version(void)
{
	UErrorCode st = U_ZERO_ERROR;
	const char *v = ucal_getTZDataVersion(&st);
	return U_SUCCESS(st) && v ? v : "unknown";
}

/* This thread's calendar for zone (borrowed, valid until the next call on
 * this thread), or NULL for an unknown zone. */
static UCalendar *calendar(const char *zone)
{
	if (!zone)
		return NULL;
	struct icu_cache *c = cache_get();
	struct cal_slot *victim = &c->cal[0];

	c->tick++;
	for (int i = 0; i < CAL_SLOTS; i++) {
		struct cal_slot *s = &c->cal[i];
		if (s->cal && strcmp(s->zone, zone) == 0) {
			s->used = c->tick;
			return s->cal;
		}
		if (!s->cal || (victim->cal && s->used < victim->used))
			victim = s;
	}

	UChar uz[ZONE_ID_MAX];
	int32_t len;
	if (zone_uchars(zone, uz, &len) != 0 || !zone_known(uz, len))
		return NULL;
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal = ucal_open(uz, len, "en_US@calendar=gregorian", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st) || !cal)
		return NULL;
	/* Proleptic Gregorian, as the ISO functions above. */
	ucal_setGregorianChange(cal, -8.64e15, &st);
	/* Fall-back overlap: the earlier instant. Spring-forward gap: read the
	 * wall time with the offset before the gap, which lands as far past the
	 * gap as it was into it (02:30 → 03:30), as java.time does. */
	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_LAST);
	if (U_FAILURE(st)) {
		ucal_close(cal);
		return NULL;
	}
	if (victim->cal)
		ucal_close(victim->cal);
	snprintf(victim->zone, sizeof victim->zone, "%s", zone);
	victim->cal = cal;
	victim->used = c->tick;
	return cal;
}

int time_to_local(int64_t ms, const char *zone, struct time_local *out)
{
	UCalendar *cal = calendar(zone);
	UErrorCode st = U_ZERO_ERROR;
	if (!cal || !out)
		return CW_EINVAL;
	ucal_setMillis(cal, (UDate)ms, &st);
	out->year = ucal_get(cal, UCAL_EXTENDED_YEAR, &st);
	out->month = ucal_get(cal, UCAL_MONTH, &st) + 1;
	out->day = ucal_get(cal, UCAL_DATE, &st);
	out->hour = ucal_get(cal, UCAL_HOUR_OF_DAY, &st);
	out->minute = ucal_get(cal, UCAL_MINUTE, &st);
	out->second = ucal_get(cal, UCAL_SECOND, &st);
	out->wday = ucal_get(cal, UCAL_DAY_OF_WEEK, &st) - UCAL_SUNDAY;
	out->utc_offset_s =
	    (ucal_get(cal, UCAL_ZONE_OFFSET, &st) + ucal_get(cal, UCAL_DST_OFFSET, &st)) / 1000;
	return U_SUCCESS(st) ? 0 : CW_EINVAL;
}

int time_from_local(const char *zone, int year, int month, int day, int hour, int minute,
		    int64_t *ms)
{
	if (!ms || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59)
		return CW_EINVAL;
	UCalendar *cal = calendar(zone);
	if (!cal)
		return CW_EINVAL;
	UErrorCode st = U_ZERO_ERROR;
	ucal_clear(cal);
	ucal_setDateTime(cal, year, month - 1, day, hour, minute, 0, &st);
	ucal_set(cal, UCAL_MILLISECOND, 0);
	UDate t = ucal_getMillis(cal, &st);
	if (U_FAILURE(st))
		return CW_EINVAL;
	*ms = (int64_t)t;
	return 0;
}

static const struct {
	const char *name;
	UDateFormatStyle style;
} styles[] = {
    {"short", UDAT_SHORT},
    {"medium", UDAT_MEDIUM},
    {"long", UDAT_LONG},
    {"full", UDAT_FULL},
};

static int locale_ok(const char *locale)
{
	size_t n = locale ? strnlen(locale, LOCALE_MAX) : 0;
	if (n < 2 || n >= LOCALE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = locale[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* ICU quietly falls back to the process's default locale for a language
 * it has no data for ("xx" formats as en_US); to us that is an unknown
 * locale. The language of the locale ICU took its data from must be the
 * one asked for. */
static int locale_has_data(const UDateFormat *f, const char *locale)
{
	char canon[LOCALE_MAX * 2], want[16], got[16];
	UErrorCode st = U_ZERO_ERROR;
	uloc_canonicalize(locale, canon, sizeof canon, &st);
	uloc_getLanguage(canon, want, sizeof want, &st);
	const char *valid = udat_getLocaleByType(f, ULOC_VALID_LOCALE, &st);
	if (U_FAILURE(st) || !valid)
		return 0;
	uloc_getLanguage(valid, got, sizeof got, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || !want[0] ||
	    strcmp(want, "und") == 0 || strcmp(want, "root") == 0)
		return 0;
	return strcmp(want, got) == 0;
}

/* This thread's formatter for zone, locale and style (borrowed, valid until
 * the next call on this thread), or NULL when one of them is unknown. */
static UDateFormat *formatter(const char *zone, const char *locale, const char *style)
{
	struct icu_cache *c = cache_get();
	struct fmt_slot *victim = &c->fmt[0];
	char key[sizeof victim->key];
	size_t si;

	for (si = 0; si < sizeof styles / sizeof styles[0]; si++) {
		if (style && strcmp(style, styles[si].name) == 0)
			break;
	}
	if (si == sizeof styles / sizeof styles[0] || !locale_ok(locale))
		return NULL;
	UChar uz[ZONE_ID_MAX];
	int32_t len;
	if (zone_uchars(zone, uz, &len) != 0)
		return NULL;
	snprintf(key, sizeof key, "%s|%s|%s", zone, locale, style);

	c->tick++;
	for (int i = 0; i < FMT_SLOTS; i++) {
		struct fmt_slot *s = &c->fmt[i];
		if (s->fmt && strcmp(s->key, key) == 0) {
			s->used = c->tick;
			return s->fmt;
		}
		if (!s->fmt || (victim->fmt && s->used < victim->used))
			victim = s;
	}

	if (!zone_known(uz, len))
		return NULL;
	UErrorCode st = U_ZERO_ERROR;
	UDateFormat *f =
	    udat_open(styles[si].style, styles[si].style, locale, uz, len, NULL, 0, &st);
	if (U_FAILURE(st) || !f || !locale_has_data(f, locale)) {
		if (f)
			udat_close(f);
		return NULL;
	}
	if (victim->fmt)
		udat_close(victim->fmt);
	snprintf(victim->key, sizeof victim->key, "%s", key);
	victim->fmt = f;
	victim->used = c->tick;
	return f;
}

int time_format_local(int64_t ms, const char *zone, const char *locale, const char *style,
		      char *out, size_t outsz)
{
	UChar u[FMT_UCHARS];
	UErrorCode st = U_ZERO_ERROR;
	int32_t n8 = 0;

	if (!out || outsz == 0)
		return CW_EINVAL;
	out[0] = '\0';
	UDateFormat *f = formatter(zone, locale, style);
	if (!f)
		return CW_EINVAL;
	int32_t n = udat_format(f, (UDate)ms, u, FMT_UCHARS, NULL, &st);
	if (U_FAILURE(st) || n >= FMT_UCHARS)
		return CW_EINVAL;
	u_strToUTF8(out, (int32_t)(outsz > INT32_MAX ? INT32_MAX : outsz), &n8, u, n, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING) {
		out[0] = '\0';
		return CW_ETOOBIG;
	}
	if (U_FAILURE(st)) {
		out[0] = '\0';
		return CW_EINVAL;
	}
	return 0;
}
