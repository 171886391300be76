/*
 * stmts_outbox.c — SQLite statements of the outbound pipeline: the outbox
 * and its dispatcher, message statuses with their error details, the
 * template registry and the 24-hour windows (migration 0002; see stmts.h
 * for how statements are found and cached, docs/internals/outbox.md for the
 * state machine).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the columns of each
 * result row, numbered from 0. "(w)" marks a write.
 *
 * outbox.by_idem       org_id, idem_key -> id
 * outbox.insert        (w) id, org_id, number_id, contact_id, idem_key, priority, purpose,
 *                      producer, state, payload, fallback|NULL, not_before, expires_at|NULL, now
 * outbox.get           id -> OUTBOX
 *   OUTBOX = id, org_id, number_id, contact_id, purpose, priority, state, attempts,
 *            pair_hits, fallback, expires_at, wamid, producer, not_before
 * outbox.by_wamid      wamid -> id
 * outbox.due_any       number_id, now -> 1 when a row of that number is due
 * outbox.claim         (w) number_id, priority, now, limit, slack: moves up to limit due
 *                      rows (queued, or deferred with not_before <= now), oldest
 *                      not_before first, to "sending", attempts + 1, claimed_at = now
 *                      -> id, org_id, contact_id, purpose, payload, expires_at, attempts,
 *                         the contact's current consent status for the purpose (NULL when
 *                         none), contacts.erased_at, not_before, and for a row that waited
 *                         (not_before > created_at + slack ms) the outcome of the message's
 *                         latest decision (NULL for the others, for a NULL slack, and when
 *                         there is no decision), and the row's rowid (the order it was
 *                         queued in; RETURNING gives rows in no promised order)
 * outbox.mark_sent     (w) id, attempts, wamid, now — only while "sending" in that attempt
 * outbox.adopt         (w) id, wamid, now — "sent" with wamid (evidence from a webhook)
 * outbox.retry         (w) id, state (queued|deferred), not_before, error_code|NULL,
 *                      error_title|NULL, now, pair_hits delta, attempts delta,
 *                      attempts|NULL (when given: only while "sending" in that attempt)
 * outbox.finish        (w) id, state (failed|cancelled|expired), error_code|NULL,
 *                      error_title|NULL, now, attempts|NULL (as for outbox.retry)
 * outbox.use_fallback  (w) id, now — payload = fallback, fallback = NULL, queued, due now
 * outbox.expire_due    (w) now, limit: queued/deferred rows past expires_at -> "expired"
 *                      -> id
 * outbox.reclaim       (w) before, now, limit: rows "sending" claimed before `before`
 *                      (a previous process) back to "queued" -> id
 * outbox.count_sending before -> count of rows "sending" claimed before `before`
 * outbox.message_sent  (w) id, wamid, now — the messages row gets its wamid and, while
 *                      still "queued", the status "accepted" (Meta took the request; the
 *                      "sent" webhook moves it on)
 * outbox.message_status (w) id, status (failed|cancelled|expired), error_code|NULL,
 *                      error_title|NULL, now
 * outbox.message_reset (w) id, copy_payload (0|1), now — back to "queued" without a
 *                      wamid, times and error cleared (a retry after an async failure);
 *                      copy_payload 1 also takes payload and type from the outbox row
 *                      (after a fallback template replaced it)
 * outbox.numbers       -> id, org_id, phone_number_id, waba_id, rate_mps, shared_with_app,
 *                      status (every number)
 * outbox.pause_number  (w) number_id (changes 0 when already paused)
 * outbox.stats         org_id, producer_lo, producer_hi (inclusive range: equal for one
 *                      producer) -> total, pending, sent, delivered, read, played, failed,
 *                      cancelled, expired
 * outbox.failures      org_id, producer_lo, producer_hi -> error_code, error_title, count;
 *                      most frequent first
 *
 * message_status.add_full (w) org_id|NULL, wamid, status, at, error_code|NULL,
 *                      error_title|NULL (changes 0 for a duplicate (wamid, status))
 * message_status.list  wamid -> status, at, error_code, error_title; by at
 * message_status.failed wamid -> 1 when a "failed" status was recorded
 *
 * window.list_by_contact org_id, contact_id -> number_id, last_inbound_at, expires_at
 *
 * template.insert      (w) id, org_id, waba_id, meta_id|NULL, name, language, category,
 *                      status, components, body_params, header_params, param_names|NULL,
 *                      examples|NULL, now
 * template.upsert      (w) the same 14 values: inserts, or updates the row with the same
 *                      (org_id, waba_id, name, language) — id kept, synced_at = now
 * template.get         org_id, waba_id|NULL (any), name, language -> TEMPLATE
 * template.get_lang    org_id, waba_id|NULL, name, base language ("en") -> TEMPLATE whose
 *                      language is that base with a region ("en_US"); first by language
 * template.list        org_id, status|NULL, name|NULL, limit -> TEMPLATE; by name, language
 *   TEMPLATE = id, org_id, waba_id, meta_id, name, language, category, status, quality,
 *              reason, components, body_params, header_params, param_names, examples,
 *              created_at, updated_at
 * template.set_status  (w) waba_id, meta_id|NULL, name|NULL, language|NULL, status,
 *                      reason|NULL, now — by meta_id, else by name and language
 * template.set_category (w) waba_id, meta_id|NULL, name|NULL, language|NULL, category, now
 * template.set_quality (w) waba_id, meta_id|NULL, name|NULL, language|NULL, quality, now
 * template.mark_missing (w) org_id, waba_id, synced_before, now — rows Meta no longer
 *                      lists become DELETED
 * template.wabas       org_id|NULL -> org_id, waba_id, number id (one active number per
 *                      WABA)
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

#define OUTBOX_COLS                                                                               \
	"id, org_id, number_id, contact_id, purpose, priority, state, attempts, pair_hits, "     \
	"fallback, expires_at, wamid, producer, not_before"

#define TEMPLATE_COLS                                                                             \
	"id, org_id, waba_id, meta_id, name, language, category, status, quality, reason, "      \
	"components, body_params, header_params, param_names, examples, created_at, updated_at"

/* Matches a template by Meta's id when one is given, else by name and
 * language; always inside one WABA. */
#define TEMPLATE_MATCH                                                                            \
	"waba_id = ?1 AND (CASE WHEN ?2 IS NOT NULL THEN meta_id = ?2 "                           \
	"ELSE name = ?3 AND language = ?4 END)"

/* clang-format off */
const struct sqlite_stmt_def sqlite_stmts_outbox[] = {
	/* ---- the outbox ---- */
	{"outbox.by_idem", "SELECT id FROM outbox WHERE org_id = ?1 AND idem_key = ?2"},
	{"outbox.insert",
	 "INSERT INTO outbox (id, org_id, number_id, contact_id, idem_key, priority, purpose, "
	 "producer, state, payload, fallback, not_before, expires_at, created_at, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)"},
	{"outbox.get", "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?1"},
	{"outbox.by_wamid", "SELECT id FROM outbox WHERE wamid = ?1"},
	{"outbox.due_any",
	 "SELECT 1 FROM outbox WHERE number_id = ?1 AND priority IN (0, 1) "
	 "AND state IN ('queued','deferred') AND not_before <= ?2 LIMIT 1"},
	{"outbox.claim",
	 "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?3, "
	 "updated_at = ?3 "
	 "WHERE id IN (SELECT id FROM outbox WHERE number_id = ?1 AND priority = ?2 "
	 "AND state IN ('queued','deferred') AND not_before <= ?3 ORDER BY not_before LIMIT ?4) "
	 "RETURNING id, org_id, contact_id, purpose, payload, expires_at, attempts, "
	 "(SELECT c.status FROM consent_current c WHERE c.contact_id = outbox.contact_id "
	 "AND c.purpose = outbox.purpose), "
	 "(SELECT k.erased_at FROM contacts k WHERE k.id = outbox.contact_id), not_before, "
	 /* only rows that waited pay for the look-up: the hot path stays one
	  * index range and two primary-key reads a row */
	 "CASE WHEN not_before > created_at + ?5 THEN (SELECT d.outcome FROM decisions d "
	 "WHERE d.message_id = outbox.id ORDER BY d.at DESC, d.seq DESC LIMIT 1) END, "
	 /* the order rows were queued in: RETURNING promises no order */
	 "outbox.rowid"},
	{"outbox.mark_sent",
	 "UPDATE outbox SET state = 'sent', wamid = ?3, sent_at = ?4, error_code = NULL, "
	 "error_title = NULL, updated_at = ?4 "
	 "WHERE id = ?1 AND state = 'sending' AND attempts = ?2"},
	{"outbox.adopt",
	 "UPDATE outbox SET state = 'sent', wamid = ?2, sent_at = coalesce(sent_at, ?3), "
	 "error_code = NULL, error_title = NULL, updated_at = ?3 WHERE id = ?1"},
	{"outbox.retry",
	 "UPDATE outbox SET state = ?2, not_before = ?3, error_code = ?4, error_title = ?5, "
	 "updated_at = ?6, pair_hits = pair_hits + ?7, attempts = max(0, attempts + ?8), "
	 "wamid = NULL, claimed_at = NULL WHERE id = ?1 "
	 "AND (?9 IS NULL OR (state = 'sending' AND attempts = ?9))"},
	{"outbox.finish",
	 "UPDATE outbox SET state = ?2, error_code = ?3, error_title = ?4, updated_at = ?5 "
	 "WHERE id = ?1 AND (?6 IS NULL OR (state = 'sending' AND attempts = ?6))"},
	{"outbox.use_fallback",
	 "UPDATE outbox SET payload = fallback, fallback = NULL, state = 'queued', "
	 "not_before = ?2, wamid = NULL, claimed_at = NULL, updated_at = ?2 "
	 "WHERE id = ?1 AND fallback IS NOT NULL"},
	{"outbox.expire_due",
	 "UPDATE outbox SET state = 'expired', error_code = NULL, "
	 "error_title = 'not sent before it expired', updated_at = ?1 "
	 "WHERE id IN (SELECT id FROM outbox WHERE state IN ('queued','deferred') "
	 "AND expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2) RETURNING id"},
	{"outbox.reclaim",
	 "UPDATE outbox SET state = 'queued', claimed_at = NULL, updated_at = ?2 "
	 "WHERE id IN (SELECT id FROM outbox WHERE state = 'sending' AND claimed_at < ?1 "
	 "LIMIT ?3) RETURNING id"},
	{"outbox.count_sending",
	 "SELECT count(*) FROM outbox WHERE state = 'sending' AND claimed_at < ?1"},
	{"outbox.message_sent",
	 "UPDATE messages SET wamid = ?2, "
	 "status = CASE WHEN status IS NULL OR status = 'queued' THEN 'accepted' ELSE status END, "
	 "status_at = CASE WHEN status IS NULL OR status = 'queued' THEN ?3 ELSE status_at END, "
	 "updated_at = ?3 WHERE id = ?1 AND wamid IS NULL"},
	{"outbox.message_status",
	 "UPDATE messages SET status = ?2, status_at = ?5, error_code = ?3, error_title = ?4, "
	 "failed_at = CASE WHEN ?2 = 'failed' THEN coalesce(failed_at, ?5) ELSE failed_at END, "
	 "updated_at = ?5 WHERE id = ?1"},
	{"outbox.message_reset",
	 "UPDATE messages SET wamid = NULL, status = 'queued', status_at = ?3, sent_at = NULL, "
	 "delivered_at = NULL, read_at = NULL, played_at = NULL, failed_at = NULL, "
	 "error_code = NULL, error_title = NULL, "
	 "payload = CASE WHEN ?2 THEN (SELECT o.payload FROM outbox o WHERE o.id = ?1) "
	 "ELSE payload END, "
	 "type = CASE WHEN ?2 THEN coalesce((SELECT json_extract(o.payload, '$.type') "
	 "FROM outbox o WHERE o.id = ?1), 'text') ELSE type END, "
	 "updated_at = ?3 WHERE id = ?1"},
	{"outbox.numbers",
	 "SELECT id, org_id, phone_number_id, waba_id, rate_mps, shared_with_app, status "
	 "FROM numbers ORDER BY created_at, id"},
	{"outbox.pause_number",
	 "UPDATE numbers SET status = 'paused' WHERE id = ?1 AND status <> 'paused'"},
	{"outbox.stats",
	 "SELECT count(*), "
	 "coalesce(sum(o.state IN ('queued','deferred','sending')), 0), "
	 "coalesce(sum(m.sent_at IS NOT NULL OR m.delivered_at IS NOT NULL "
	 "OR m.read_at IS NOT NULL OR m.played_at IS NOT NULL), 0), "
	 "coalesce(sum(m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL "
	 "OR m.played_at IS NOT NULL), 0), "
	 "coalesce(sum(m.read_at IS NOT NULL OR m.played_at IS NOT NULL), 0), "
	 "coalesce(sum(m.played_at IS NOT NULL), 0), "
	 "coalesce(sum(o.state = 'failed' OR m.status = 'failed'), 0), "
	 "coalesce(sum(o.state = 'cancelled'), 0), "
	 "coalesce(sum(o.state = 'expired'), 0) "
	 "FROM outbox o JOIN messages m ON m.id = o.id "
	 "WHERE o.org_id = ?1 AND o.producer BETWEEN ?2 AND ?3"},
	{"outbox.failures",
	 "SELECT coalesce(m.error_code, o.error_code) AS code, "
	 "max(coalesce(m.error_title, o.error_title)), count(*) AS n "
	 "FROM outbox o JOIN messages m ON m.id = o.id "
	 "WHERE o.org_id = ?1 AND o.producer BETWEEN ?2 AND ?3 "
	 "AND (o.state = 'failed' OR m.status = 'failed') "
	 "GROUP BY code ORDER BY n DESC, code"},

	/* ---- message statuses ---- */
	{"message_status.add_full",
	 "INSERT INTO message_statuses (org_id, wamid, status, at, error_code, error_title) "
	 "VALUES (coalesce(?1, ''), ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"},
	{"message_status.list",
	 "SELECT status, at, error_code, error_title FROM message_statuses WHERE wamid = ?1 "
	 "ORDER BY at, status"},
	{"message_status.failed",
	 "SELECT 1 FROM message_statuses WHERE wamid = ?1 AND status = 'failed'"},

	/* ---- windows ---- */
	{"window.list_by_contact",
	 "SELECT number_id, last_inbound_at, expires_at FROM windows "
	 "WHERE org_id = ?1 AND contact_id = ?2 ORDER BY number_id"},

	/* ---- templates ---- */
	{"template.insert",
	 "INSERT INTO templates (id, org_id, waba_id, meta_id, name, language, category, status, "
	 "components, body_params, header_params, param_names, examples, created_at, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)"},
	{"template.upsert",
	 "INSERT INTO templates (id, org_id, waba_id, meta_id, name, language, category, status, "
	 "components, body_params, header_params, param_names, examples, synced_at, created_at, "
	 "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, "
	 "?14) ON CONFLICT (org_id, waba_id, name, language) DO UPDATE SET "
	 "meta_id = coalesce(excluded.meta_id, templates.meta_id), "
	 "category = excluded.category, status = excluded.status, "
	 "components = excluded.components, body_params = excluded.body_params, "
	 "header_params = excluded.header_params, param_names = excluded.param_names, "
	 "examples = excluded.examples, synced_at = excluded.synced_at, "
	 "updated_at = excluded.updated_at"},
	{"template.get",
	 "SELECT " TEMPLATE_COLS " FROM templates WHERE org_id = ?1 "
	 "AND (?2 IS NULL OR waba_id = ?2) AND name = ?3 AND language = ?4 "
	 "ORDER BY status = 'APPROVED' DESC, updated_at DESC LIMIT 1"},
	{"template.get_lang",
	 "SELECT " TEMPLATE_COLS " FROM templates WHERE org_id = ?1 "
	 "AND (?2 IS NULL OR waba_id = ?2) AND name = ?3 "
	 "AND substr(language, 1, length(?4) + 1) = ?4 || '_' "
	 "ORDER BY status = 'APPROVED' DESC, language LIMIT 1"},
	{"template.list",
	 "SELECT " TEMPLATE_COLS " FROM templates WHERE org_id = ?1 "
	 "AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR name = ?3) "
	 "ORDER BY name, language LIMIT ?4"},
	{"template.set_status",
	 "UPDATE templates SET status = ?5, reason = ?6, updated_at = ?7 WHERE " TEMPLATE_MATCH},
	{"template.set_category",
	 "UPDATE templates SET category = ?5, updated_at = ?6 WHERE " TEMPLATE_MATCH},
	{"template.set_quality",
	 "UPDATE templates SET quality = ?5, updated_at = ?6 WHERE " TEMPLATE_MATCH},
	{"template.mark_missing",
	 "UPDATE templates SET status = 'DELETED', updated_at = ?4 WHERE org_id = ?1 "
	 "AND waba_id = ?2 AND coalesce(synced_at, created_at) < ?3 AND meta_id IS NOT NULL "
	 "AND status <> 'DELETED'"},
	{"template.wabas",
	 "SELECT org_id, waba_id, min(id) FROM numbers WHERE (?1 IS NULL OR org_id = ?1) "
	 "AND status <> 'paused' GROUP BY org_id, waba_id ORDER BY org_id, waba_id"},

	{NULL, NULL},
};
/* clang-format on */
