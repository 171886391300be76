/*
 * stmts_analytics.c — SQLite statements of the managers' figures
 * (core/analytics.c) and of the settings and phone numbers people edit
 * (core/settings.c); migration 0008 "analytics" adds what they need (see
 * stmts.h for how statements are found and cached).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the columns of each
 * result row, numbered from 0. "(w)" marks a write.
 *
 * An outbound message counts on the day Meta first reported it: OUT_AT, the
 * first of its sent, delivered, read, played and failed times (the index
 * messages_out_day is over the same expression).
 *
 * analytics.day       org_id, from, until -> sent, delivered, read, failed, replied of the
 *                     outbound messages whose OUT_AT is in [from, until): sent counts
 *                     every message that reached "sent" or later, delivered "delivered"
 *                     or later, read "read" or "played"; replied counts delivered ones
 *                     the person answered (docs/analytics.md: within 24 hours, or a tap
 *                     on one of its buttons at any time)
 * analytics.optouts   org_id, from, until -> contacts who withdrew a consent in WhatsApp
 *                     (source whatsapp) in [from, until)
 * analytics.failures  org_id, from, until, limit -> error_code|NULL, a title Meta gave,
 *                     count: failed outbound messages by code, most frequent first
 * analytics.unanswered org_id, from, until, limit -> text, at: texts that reached the
 *                     inbox in [from, until), newest first; erased ones (payload NULL)
 *                     are left out
 * analytics.producers org_id, low, high, limit -> producer: the distinct producers of
 *                     outbox rows in [low, high], in order
 *
 * settings.numbers    org_id -> NUMBER, oldest first
 * settings.number     org_id, id -> NUMBER
 *   NUMBER = id, display, phone_number_id, waba_id, rate_mps, status, shared_with_app,
 *            created_at (never the token)
 * settings.number_update (w) org_id, id, rate_mps|NULL (keep), status|NULL (keep)
 *                     (changes 0 when the organisation has no such number)
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

/* clang-format off */
#define OUT_AT "coalesce(m.sent_at, m.delivered_at, m.read_at, m.played_at, m.failed_at)"
#define OUT_IN_PERIOD                                                                             \
	"m.org_id = ?1 AND m.direction = 'out' AND " OUT_AT " >= ?2 AND " OUT_AT " < ?3"
#define DELIVERED "(m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL OR m.played_at IS NOT NULL)"
/* The person answered m: any message from them (but a system notice, a
 * request for the welcome or what WhatsApp could not show) within 24 hours
 * after it, or a tap whose context is m, whenever it came. */
#define REPLIED                                                                                   \
	"EXISTS (SELECT 1 FROM messages i WHERE i.org_id = m.org_id "                            \
	"AND i.contact_id = m.contact_id AND i.created_at > " OUT_AT " "                          \
	"AND i.direction = 'in' "                                                                 \
	"AND i.type NOT IN ('system', 'request_welcome', 'unsupported', 'unknown') "             \
	"AND (i.created_at <= " OUT_AT " + 86400000 OR (i.type IN ('button', 'interactive') "    \
	"AND json_extract(i.payload, '$.context.id') = m.wamid)))"
#define NUMBER_COLS                                                                               \
	"id, display, phone_number_id, waba_id, rate_mps, status, shared_with_app, created_at"

const struct sqlite_stmt_def sqlite_stmts_analytics[] = {
	{"analytics.day",
	 "SELECT coalesce(sum(sent), 0), coalesce(sum(delivered), 0), coalesce(sum(seen), 0), "
	 "coalesce(sum(failed), 0), coalesce(sum(replied), 0) FROM (SELECT "
	 "(m.sent_at IS NOT NULL OR " DELIVERED ") AS sent, "
	 DELIVERED " AS delivered, "
	 "(m.read_at IS NOT NULL OR m.played_at IS NOT NULL) AS seen, "
	 "(m.failed_at IS NOT NULL) AS failed, "
	 "(CASE WHEN " DELIVERED " THEN " REPLIED " ELSE 0 END) AS replied "
	 "FROM messages m WHERE " OUT_IN_PERIOD ")"},
	{"analytics.optouts",
	 "SELECT count(DISTINCT contact_id) FROM consents WHERE org_id = ?1 "
	 "AND status = 'withdrawn' AND source = 'whatsapp' AND at >= ?2 AND at < ?3"},
	{"analytics.failures",
	 "SELECT m.error_code, max(m.error_title), count(*) AS n FROM messages m "
	 "WHERE " OUT_IN_PERIOD " AND m.failed_at IS NOT NULL "
	 "GROUP BY m.error_code ORDER BY n DESC, m.error_code LIMIT ?4"},
	{"analytics.unanswered",
	 "SELECT json_extract(m.payload, '$.text.body'), u.at FROM analytics_unanswered u "
	 "JOIN messages m ON m.id = u.message_id "
	 "WHERE u.org_id = ?1 AND u.at >= ?2 AND u.at < ?3 AND m.type = 'text' "
	 "AND m.payload IS NOT NULL ORDER BY u.at DESC LIMIT ?4"},
	{"analytics.producers",
	 "SELECT DISTINCT producer FROM outbox WHERE org_id = ?1 AND producer BETWEEN ?2 AND ?3 "
	 "ORDER BY producer LIMIT ?4"},

	{"settings.numbers",
	 "SELECT " NUMBER_COLS " FROM numbers WHERE org_id = ?1 ORDER BY created_at, id"},
	{"settings.number", "SELECT " NUMBER_COLS " FROM numbers WHERE org_id = ?1 AND id = ?2"},
	{"settings.number_update",
	 "UPDATE numbers SET rate_mps = coalesce(?3, rate_mps), status = coalesce(?4, status) "
	 "WHERE org_id = ?1 AND id = ?2"},
	{NULL, NULL},
};
/* clang-format on */
