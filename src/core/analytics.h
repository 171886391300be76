/*
 * analytics.h — the managers' figures (DESIGN.md §1): how messages did per
 * day (sent, delivered, read, failed, answered), opt-outs, failures by
 * reason, the delivery funnel per producer, and the questions nothing
 * automatic could answer.
 *
 * Place: core, read-only over the store: it counts what the send path, the
 * dispatcher, the ingest and the inbox stored (docs/analytics.md has every
 * definition). Journeys' and campaigns' per-step figures (taps, branches,
 * answers) are journey_stats_json()'s (core/journey.h); the funnel per
 * producer here covers every producer, journeys' steps among them.
 *
 *	struct analytics_overview o;
 *	analytics_overview(st, org_id, 14, time_now_ms(), &o);
 *	json_t *j = analytics_overview_json(&o);
 *
 * Days are the organisation's local days (orgs.time_zone, through ICU), so a
 * clinic in Jerusalem sees its Sunday from 00:00 to 24:00 Jerusalem time,
 * 23 or 25 hours long on the nights the clocks change.
 */
#ifndef CW_ANALYTICS_H
#define CW_ANALYTICS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define ANALYTICS_DAYS_DEFAULT	      14
#define ANALYTICS_DAYS_MAX	      92 /* days in one overview */
#define ANALYTICS_REASONS_MAX	      32 /* failure codes listed */
#define ANALYTICS_PRODUCERS_DEFAULT   100
#define ANALYTICS_PRODUCERS_MAX	      500
#define ANALYTICS_PREFIX_MAX	      120 /* bytes of a producer prefix */
#define ANALYTICS_UNANSWERED_DAYS     30
#define ANALYTICS_UNANSWERED_DAYS_MAX 366
#define ANALYTICS_QUESTIONS_DEFAULT   50
#define ANALYTICS_QUESTIONS_MAX	      500
/* The newest texts read for one listing of unanswered questions; older
 * ones in the period are not grouped (the answer says so). */
#define ANALYTICS_SCAN_MAX 20000
/* Bytes of a folded text that are compared: longer texts that agree on
 * their first ANALYTICS_FOLD_MAX bytes are one question. */
#define ANALYTICS_FOLD_MAX 512

/* One local day. */
struct analytics_day {
	char date[11];	  /* "2026-11-22" in the organisation's zone */
	int64_t from, to; /* its UTC ms bounds: [from, to) */
	int64_t sent, delivered, read, failed, replied, opted_out;
};

struct analytics_reason {
	int has_code;	 /* 0: the failure came without an error code */
	int64_t code;	 /* the Cloud API error code (or wa/errors.h's pseudo code) */
	char title[128]; /* for people: carewire's table, else Meta's title */
	const char *cls; /* what carewire does about it ("retry", "never"...); static;
			  * NULL without a code */
	int64_t count;
};

struct analytics_overview {
	char zone[64];
	int ndays;
	struct analytics_day days[ANALYTICS_DAYS_MAX]; /* oldest first; the last is today */
	/* The period's totals: sums of the days. */
	int64_t sent, delivered, read, failed, replied, opted_out;
	int nreasons;
	struct analytics_reason reasons[ANALYTICS_REASONS_MAX]; /* most frequent first */
};

/* Counts the last ndays local days of org_id up to and including the day
 * that holds now (UTC ms). ndays is clamped to 1..ANALYTICS_DAYS_MAX.
 * Returns 0, CW_ENOTFOUND (no such organisation) or a store error. */
int analytics_overview(struct store *st, const char *org_id, int ndays, int64_t now,
		       struct analytics_overview *out);

/* The overview as the API carries it:
 * {"time_zone","days":[{"date","sent","delivered","read","failed","replied","opted_out"}],
 *  "totals":{...the same six...},"open_rate","engagement_rate","opt_out_rate",
 *  "failures_by_reason":[{"reason","title","class","count"}]}, each rate null when
 * nothing was delivered. Returns a new reference. */
json_t *analytics_overview_json(const struct analytics_overview *o);

/* read / delivered, replied / delivered and opted_out / delivered of the
 * period; -1 when nothing was delivered. */
double analytics_open_rate(const struct analytics_overview *o);
double analytics_engagement_rate(const struct analytics_overview *o);
double analytics_opt_out_rate(const struct analytics_overview *o);

/* The delivery funnel of each producer of org_id that starts with prefix
 * ("" for all; "journey:recall:" for one journey's steps), at most limit
 * (clamped to 1..ANALYTICS_PRODUCERS_MAX) in producer order, each counted by
 * outbox_stats() (core/outbox.h):
 * {"prefix","items":[{"producer","total","pending","sent","delivered","read",
 *  "played","failed","cancelled","expired","open_rate","failures_by_reason":[...]}],
 *  "truncated":bool}. Returns 0 and a new object in *out, CW_EINVAL (prefix
 * too long) or a store error. */
int analytics_producers(struct store *st, const char *org_id, const char *prefix, int limit,
			json_t **out);

/* The texts that reached the inbox (nothing automatic answered them) in the
 * last ndays local days up to now, grouped by their folded form (Unicode
 * case folding, then the words joined by single spaces: "Parking?" and
 * "parking" are one question), most asked first:
 * {"days","from","until","items":[{"text","count","last_at"}],"texts",
 *  "truncated"}. "text" is the folded form. ndays is clamped to
 * 1..ANALYTICS_UNANSWERED_DAYS_MAX, limit to 1..ANALYTICS_QUESTIONS_MAX.
 * The result holds patient data: the caller checks the role, audits, and
 * never logs it. Returns 0 and a new object in *out, CW_ENOTFOUND or a
 * store error. */
int analytics_unanswered(struct store *st, const char *org_id, int ndays, int limit, int64_t now,
			 json_t **out);

/* Writes the comparable form of text into a new string (caller frees):
 * folded (text_casefold) and its words joined by single spaces, cut at
 * ANALYTICS_FOLD_MAX bytes on a character boundary. NULL for text that is
 * not UTF-8 or has no words. */
char *analytics_fold(const char *text);

#endif
