/*
 * stmts_send.c — SQLite statements of the send path: the inputs the policy
 * engine is given (contact, opt-out state, consents, number, counters), the
 * decision log, the tier budget, opt-out state and the message timeline
 * (migration 0004; see stmts.h for how statements are found and cached,
 * docs/internals/send.md for how core/send.c uses them).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the columns of each
 * result row, numbered from 0. "(w)" marks a write.
 *
 * send.contact        org_id, contact_id -> erased (0/1), phone, wa_id, time_zone,
 *                     language, opted_out (0/1), marketing_stopped (0/1), name
 * send.consents       contact_id -> purpose, status, at, source (the current record
 *                     per purpose, with the source of the consent row it came from)
 * send.number         org_id, contact_id, number_id|NULL -> id, waba_id, status: the
 *                     number given, else the org's number with the contact's latest
 *                     open-or-closed window, else its first active number
 * send.cap_count      contact_id, purpose, since -> messages of that purpose allowed to
 *                     the contact after since
 * send.tier_counted   number_id, contact_id, since -> 1 when the contact counts against
 *                     the number's tier after since
 * send.tier_count     number_id, first bucket -> recipients counted in the buckets from
 *                     first on (at / 900000; see tier_buckets in migration 0004)
 * send.tier_oldest    number_id, since -> min(at) of those recipients (NULL if none)
 * send.tier_add       (w) org_id, number_id, contact_id, at — counts the contact from at,
 *                     unless it is already counted in the 24 h before at (changes 1 when
 *                     it starts to count)
 * send.tier_bump      (w) number_id, bucket — one more recipient in that bucket
 * send.tier_prune     (w) number_id, bucket — forgets the buckets before it
 *
 * decision.insert     (w) id, org_id, contact_id, number_id|NULL, message_id|NULL,
 *                     producer, purpose, outcome, reason, message, until|NULL,
 *                     idem_key|NULL, result_category|NULL, flags, at
 * decision.by_idem    org_id, idem_key -> DECISION
 * decision.list       org_id, contact_id, limit -> DECISION, newest first (by at, then
 *                     by insertion)
 * decision.by_message org_id, message_id, limit -> DECISION, newest first
 *   DECISION = id, org_id, contact_id, number_id, message_id, producer, purpose,
 *              outcome, reason, message, until, idem_key, result_category, flags, at
 *
 * optout.get          contact_id -> opted_out, opted_out_at, opted_in_at,
 *                     marketing_stopped, marketing_stopped_at
 * optout.opt_out      (w) org_id, contact_id, at (changes 0 when already opted out)
 * optout.opt_in       (w) contact_id, at (changes 0 when not opted out)
 * optout.marketing_stop (w) org_id, contact_id, at (changes 0 when already stopped)
 * optout.marketing_resume (w) contact_id, at (changes 0 when not stopped)
 *
 * orgconf.set         (w) org_id, settings JSON object — replaces orgs.settings
 *
 * message.timeline    org_id, contact_id, limit -> id, direction, type, status, payload,
 *                     wamid, created_at, status_at, error_code, error_title; newest first
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

#define DECISION_COLS                                                                              \
	"id, org_id, contact_id, number_id, message_id, producer, purpose, outcome, reason, "      \
	"message, until, idem_key, result_category, flags, at"

/* clang-format off */
const struct sqlite_stmt_def sqlite_stmts_send[] = {
	/* ---- policy inputs ---- */
	{"send.contact",
	 "SELECT c.erased_at IS NOT NULL, c.phone, c.wa_id, c.time_zone, c.language, "
	 "coalesce(o.opted_out, 0), coalesce(o.marketing_stopped, 0), c.name "
	 "FROM contacts c LEFT JOIN contact_optout o ON o.contact_id = c.id "
	 "WHERE c.org_id = ?1 AND c.id = ?2"},
	{"send.consents",
	 "SELECT cc.purpose, cc.status, cc.at, s.source FROM consent_current cc "
	 "LEFT JOIN consents s ON s.id = cc.consent_id WHERE cc.contact_id = ?1"},
	{"send.number",
	 "SELECT n.id, n.waba_id, n.status FROM numbers n "
	 "LEFT JOIN windows w ON w.number_id = n.id AND w.contact_id = ?2 "
	 "WHERE n.org_id = ?1 AND (?3 IS NULL OR n.id = ?3) "
	 "ORDER BY n.status = 'active' DESC, coalesce(w.expires_at, 0) DESC, n.created_at, n.id "
	 "LIMIT 1"},
	{"send.cap_count",
	 "SELECT count(*) FROM decisions WHERE contact_id = ?1 AND purpose = ?2 "
	 "AND outcome = 'allow' AND at > ?3"},
	{"send.tier_counted",
	 "SELECT 1 FROM tier_recipients WHERE number_id = ?1 AND contact_id = ?2 AND at > ?3"},
	{"send.tier_count",
	 "SELECT coalesce(sum(n), 0) FROM tier_buckets WHERE number_id = ?1 AND bucket >= ?2"},
	{"send.tier_oldest",
	 "SELECT min(at) FROM tier_recipients WHERE number_id = ?1 AND at > ?2"},
	{"send.tier_add",
	 "INSERT INTO tier_recipients (org_id, number_id, contact_id, at) VALUES (?1, ?2, ?3, ?4) "
	 "ON CONFLICT (number_id, contact_id) DO UPDATE SET at = excluded.at "
	 "WHERE tier_recipients.at <= excluded.at - 86400000"},
	{"send.tier_bump",
	 "INSERT INTO tier_buckets (number_id, bucket, n) VALUES (?1, ?2, 1) "
	 "ON CONFLICT (number_id, bucket) DO UPDATE SET n = n + 1"},
	{"send.tier_prune", "DELETE FROM tier_buckets WHERE number_id = ?1 AND bucket < ?2"},

	/* ---- the decision log ---- */
	{"decision.insert",
	 "INSERT INTO decisions (" DECISION_COLS ") "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"},
	{"decision.by_idem",
	 "SELECT " DECISION_COLS " FROM decisions WHERE org_id = ?1 AND idem_key = ?2"},
	{"decision.list",
	 "SELECT " DECISION_COLS " FROM decisions WHERE org_id = ?1 AND contact_id = ?2 "
	 "ORDER BY at DESC, seq DESC LIMIT ?3"},
	{"decision.by_message",
	 "SELECT " DECISION_COLS " FROM decisions WHERE message_id = ?2 AND org_id = ?1 "
	 "ORDER BY at DESC, seq DESC LIMIT ?3"},

	/* ---- opt-out state ---- */
	{"optout.get",
	 "SELECT opted_out, opted_out_at, opted_in_at, marketing_stopped, marketing_stopped_at "
	 "FROM contact_optout WHERE contact_id = ?1"},
	{"optout.opt_out",
	 "INSERT INTO contact_optout (org_id, contact_id, opted_out, opted_out_at, updated_at) "
	 "VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT (contact_id) DO UPDATE SET opted_out = 1, "
	 "opted_out_at = excluded.opted_out_at, updated_at = excluded.updated_at "
	 "WHERE contact_optout.opted_out = 0"},
	{"optout.opt_in",
	 "UPDATE contact_optout SET opted_out = 0, opted_in_at = ?2, updated_at = ?2 "
	 "WHERE contact_id = ?1 AND opted_out = 1"},
	{"optout.marketing_stop",
	 "INSERT INTO contact_optout (org_id, contact_id, marketing_stopped, marketing_stopped_at, "
	 "updated_at) VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT (contact_id) DO UPDATE SET "
	 "marketing_stopped = 1, marketing_stopped_at = excluded.marketing_stopped_at, "
	 "updated_at = excluded.updated_at WHERE contact_optout.marketing_stopped = 0"},
	{"optout.marketing_resume",
	 "UPDATE contact_optout SET marketing_stopped = 0, updated_at = ?2 "
	 "WHERE contact_id = ?1 AND marketing_stopped = 1"},

	/* ---- organisation settings ---- */
	{"orgconf.set",
	 "UPDATE orgs SET settings = ?2 WHERE id = ?1 AND json_type(?2) = 'object'"},

	/* ---- a contact's messages ---- */
	{"message.timeline",
	 "SELECT id, direction, type, status, payload, wamid, created_at, status_at, error_code, "
	 "error_title FROM messages WHERE org_id = ?1 AND contact_id = ?2 "
	 "ORDER BY created_at DESC, id DESC LIMIT ?3"},

	{NULL, NULL},
};
/* clang-format on */
