/*
 * hours.h — an organisation's business hours: when a person of the team
 * answers, what the inbox promises a patient who writes outside them, and
 * the first-response target the inbox measures against.
 *
 * Place: core, beside the inbox (core/conversation.c). The week is a list of
 * open spans per local weekday in the organisation's IANA zone, plus
 * holidays (local dates closed all day). Every computation turns local
 * wall-clock times into UTC through base/time.h (ICU), date by date, so a
 * DST change never moves an opening by an hour. Without hours set
 * (enabled 0) the team counts as always open: no out-of-hours reply, and
 * first-response time is plain wall-clock time.
 *
 * Stored as JSON in kv under (org_id, "inbox.hours"); the same JSON is what
 * GET/PUT /api/v1/settings/hours carry:
 *
 *	{"enabled": true, "time_zone": "Asia/Jerusalem",
 *	 "week": {"sun": "08:00-18:00", "mon": "08:00-18:00", ..., "thu": "08:00-18:00",
 *	          "fri": "08:00-13:00", "sat": "closed"},
 *	 "holidays": ["2026-09-21", "2026-09-22"],
 *	 "first_response_target_minutes": 6,
 *	 "reply_promise_minutes": 60,
 *	 "auto_reply": true,
 *	 "auto_reply_text": {"en": "We answer {hours}. You will hear from us {by}."}}
 *
 * A day is "closed", or spans "08:00-13:00, 14:00-18:00" (sorted, not
 * overlapping; "24:00" closes at midnight). A day left out is closed.
 *
 * The out-of-hours reply (hours_auto_reply) says when the team answers and
 * by when the person will hear back: the promise is reply_promise_minutes
 * of open time after the next opening ("by 9:00 tomorrow" for a team that
 * opens at 8:00), in Hebrew, Russian or English.
 *
 *	struct hours h;
 *	hours_load(st, org_id, &h);
 *	if (!hours_is_open(&h, now)) ... hours_auto_reply(&h, "he", now, &text);
 *	int64_t due; hours_add_open(&h, waiting_since, h.target_ms, &due);
 */
#ifndef CW_HOURS_H
#define CW_HOURS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "store/store.h"

struct buf;

#define HOURS_SPANS_MAX	   4   /* open spans in one day */
#define HOURS_HOLIDAYS_MAX 200 /* closed dates */
#define HOURS_ZONE_MAX	   64
#define HOURS_TEXT_MAX	   1000 /* bytes of a configured out-of-hours text */
#define HOURS_LANGS	   3	/* he, ru, en */
/* How far ahead an opening is looked for; a longer closure has none. */
#define HOURS_LOOKAHEAD_DAYS	 400
#define HOURS_TARGET_DEFAULT_MS	 (6LL * 60 * 1000)
#define HOURS_PROMISE_DEFAULT_MS (60LL * 60 * 1000)
#define HOURS_TARGET_MAX_MIN	 (7 * 24 * 60)
#define HOURS_PROMISE_MAX_MIN	 (7 * 24 * 60)
#define HOURS_KV_KEY		 "inbox.hours"

/* One open span of a day, in minutes after local midnight:
 * 0 <= open < close <= 1440. */
struct hours_span {
	int16_t open, close;
};

struct hours {
	int enabled; /* 0: always open */
	char zone[HOURS_ZONE_MAX];
	struct hours_span spans[7][HOURS_SPANS_MAX]; /* by weekday, 0 = Sunday; sorted */
	int nspans[7];
	int32_t holidays[HOURS_HOLIDAYS_MAX]; /* local dates as yyyymmdd, sorted */
	int nholidays;
	int64_t target_ms;  /* first-response target, counted in open time */
	int64_t promise_ms; /* open time after the next opening the reply promises */
	int auto_reply;	    /* answer a message that arrives while closed */
	/* Configured texts by language (hours_lang_index); "" for the default.
	 * "{hours}" and "{by}" are replaced. */
	char text[HOURS_LANGS][HOURS_TEXT_MAX + 1];
};

/* Hours that are not set: always open, in zone (NULL or "" is "UTC"),
 * the default target (6 minutes) and promise (60 minutes), auto-reply on. */
void hours_default(struct hours *h, const char *zone);

/* Reads the JSON above into h. Members that are absent take the defaults
 * (time_zone: default_zone). Returns 0, or CW_EINVAL with e filled (field as
 * the JSON names it: "week.fri", "holidays[2]", "time_zone"...); h is then
 * unspecified. Enabled hours need at least one open span. */
int hours_from_json(const json_t *obj, const char *default_zone, struct hours *h,
		    struct json_error *e);

/* h as the JSON above (normalised: "08:00-18:00" spans, sorted dates).
 * Returns a new reference. */
json_t *hours_to_json(const struct hours *h);

/* Loads the hours of org_id (the defaults in the organisation's zone when
 * none are stored; stored JSON that no longer reads is logged and the
 * defaults are used). Returns 0, CW_ENOTFOUND (no such organisation) or a
 * store error. hours_load_tx() does the same inside a transaction. */
int hours_load(struct store *st, const char *org_id, struct hours *h);
int hours_load_tx(struct store_tx *tx, const char *org_id, struct hours *h);

/* Stores h as the hours of org_id. Returns 0 or a store error. */
int hours_save(struct store *st, const char *org_id, const struct hours *h);

/* 1 when the team is open at t (UTC ms). */
int hours_is_open(const struct hours *h, int64_t t);

/* The open span that contains t or comes first after it: *start (may be
 * before t) and *end (after t). Returns 0, or CW_ENOTFOUND when nothing opens
 * within HOURS_LOOKAHEAD_DAYS. Always open hours give one endless span. */
int hours_next_span(const struct hours *h, int64_t t, int64_t *start, int64_t *end);

/* When the team is next open at or after t (t itself when open). Returns 0
 * or CW_ENOTFOUND. */
int hours_next_open(const struct hours *h, int64_t t, int64_t *at);

/* The instant when dur_ms of open time have passed after from (counting only
 * open time; dur_ms 0 gives the next opening). Returns 0 or CW_ENOTFOUND. */
int hours_add_open(const struct hours *h, int64_t from, int64_t dur_ms, int64_t *out);

/* The open time between from and to, in ms (0 when to <= from). */
int64_t hours_open_between(const struct hours *h, int64_t from, int64_t to);

/* The index of a language in text[] — 0 "he", 1 "ru", 2 "en" — from a code
 * such as "he", "iw", "he-IL", "ru_RU"; -1 for any other. */
int hours_lang_index(const char *lang);

/* Appends to out the week as people read it in lang (he, ru or en; others
 * read English): "Sun–Thu 8:00–18:00, Fri 8:00–13:00". Returns 0 or
 * CW_ETOOBIG. */
int hours_week_text(const struct hours *h, const char *lang, struct buf *out);

/* Appends to out the text that answers a message arriving at now while the
 * team is closed, in lang: the week and the promise ("by 9:00 tomorrow",
 * reply_promise after the next opening, in the organisation's zone). The
 * configured text for lang is used when there is one. *promise (may be NULL)
 * gets the promised instant (0 when nothing opens within the look-ahead).
 * Returns 0 or CW_ETOOBIG. */
int hours_auto_reply(const struct hours *h, const char *lang, int64_t now, struct buf *out,
		     int64_t *promise);

#endif
