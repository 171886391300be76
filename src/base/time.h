/*
 * time.h — time in carewire: UTC milliseconds since the epoch everywhere,
 * converted to a person's local time only through IANA zones (ICU).
 *
 * The clock is overridable so tests can pin "now" (time_clock_set()).
 */
#ifndef CW_TIME_H
#define CW_TIME_H

#include <stddef.h>
#include <stdint.h>

#define TIME_ISO_MAX 40

/* Now, in UTC milliseconds (the pinned clock if one is set). */
int64_t time_now_ms(void);
/* Monotonic milliseconds, for timeouts and rates; never pinned. */
int64_t time_mono_ms(void);
/* Pins now to ms (tests); ms < 0 returns to the real clock. */
void time_clock_set(int64_t ms);

/* Formats ms as "2026-11-22T16:00:00.000Z" into out. Returns out. */
char *time_format_iso(int64_t ms, char out[TIME_ISO_MAX]);
/* Parses RFC 3339 / ISO-8601: "2026-11-22", "2026-11-22T16:00:00Z",
 * "2026-11-22T18:00:00+02:00", fractional seconds allowed. A date alone is
 * midnight UTC. A date-time needs "Z" or an offset (a wall-clock time alone
 * belongs to some zone: use time_from_local()). Impossible dates
 * ("2026-02-30") and trailing text are refused. Returns 0 or CW_EINVAL. */
int time_parse_iso(const char *s, int64_t *ms);
/* Parses an ISO-8601 duration ("P3M", "P1DT2H", "PT30M", "-PT24H") into
 * milliseconds, months as 30 days and years as 365 days.
 * Returns 0 or CW_EINVAL. */
int time_parse_duration(const char *s, int64_t *ms);

/* Broken-down local time in an IANA zone. */
struct time_local {
	int year, month, day; /* month 1..12 */
	int hour, minute, second;
	int wday;        /* 0 = Sunday .. 6 = Saturday */
	int utc_offset_s; /* including DST at that instant */
};

/* True when zone is a valid IANA zone id known to ICU. */
int time_zone_valid(const char *zone);
/* Converts ms to local time in zone. Returns 0 or CW_EINVAL (unknown zone). */
int time_to_local(int64_t ms, const char *zone, struct time_local *out);
/* Converts a local wall-clock time in zone to UTC ms. For a time that does
 * not exist (spring-forward gap) the result is moved forward past the gap;
 * for an ambiguous one (fall-back) the earlier instant is used.
 * (Concretely, as java.time: on a night when 02:00 jumps to 03:00, 02:30
 * gives 03:30, read with the offset before the gap.)
 * Returns 0 or CW_EINVAL (unknown zone, or a date or time out of range). */
int time_from_local(const char *zone, int year, int month, int day, int hour, int minute,
		    int64_t *ms);
/* Formats ms for a person: locale ("he", "ru", "en"), zone, ICU pattern style
 * ("short", "medium", "long", "full" for date and time). Writes UTF-8 into out.
 * Returns 0 or CW_EINVAL (also for a locale ICU has no data for), or
 * CW_ETOOBIG when out is too small (TIME_LOCAL_MAX always suffices). */
int time_format_local(int64_t ms, const char *zone, const char *locale, const char *style,
		      char *out, size_t outsz);

/* Enough for any time_format_local() output. */
#define TIME_LOCAL_MAX 768

/* The version of the IANA zone data ICU uses ("2022e"). ICU carries its own
 * copy, which can be older than the system's; it is replaced by pointing
 * the ICU_TIMEZONE_FILES_DIR environment variable at a directory holding a
 * newer zoneinfo64.res. Static string. */
const char *time_tzdata_version(void);

/* ICU calendars and formatters are cached per thread (they are not safe to
 * share); a thread's cache is freed when it exits. This frees the calling
 * thread's cache now (e.g. the main thread before exit under a leak
 * checker); later calls build a new one. */
void time_thread_release(void);

#endif
