/*
 * stmts_inbox.c — SQLite statements of the shared inbox: conversations,
 * first-response samples and the reads the inbox API needs (migrations 0007
 * and 0009; see stmts.h for how statements are found and cached,
 * core/conversation.c for how they are used). Business hours live in kv
 * under "inbox.hours" (kv.get / kv.set of stmts_core.c).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the columns of each
 * result row, numbered from 0. "(w)" marks a write.
 *
 * inbox.on_inbound    (w) id, org_id, number_id, contact_id, inbound_at, now,
 *                     handoff|NULL ('button'; NULL keeps it, 'unhandled' for a new one)
 *                     -> id, created (1: a new conversation with id ?1), auto_reply_until.
 *                     The live conversation of (number, contact) becomes open, its unread
 *                     count grows, and a waiting period starts at inbound_at unless one
 *                     is already running.
 * inbox.handoff      (w) id, org_id, number_id, contact_id, handoff ('journey:<key>'),
 *                     team|NULL, note|NULL, now -> id, created (1: a new conversation
 *                     with id ?1). The live conversation of (number, contact) becomes
 *                     open with that handoff, team and note, waiting since now unless
 *                     it waits already; unread stays (migration 0009).
 * inbox.set_auto_reply (w) id, until — the closed period the out-of-hours reply was for
 * inbox.responded     (w) org_id, id, now, responder — a person of the team answered:
 *                     pending, no one waits, unread 0, assigned to responder when no one
 *                     was (changes 0 when unknown or closed)
 * inbox.frt_insert    (w) org_id, conversation_id, responder, inbound_at, response_at,
 *                     waited_ms, business_ms, target_ms, within_target
 * inbox.assign        (w) org_id, id, assignee|NULL, now (changes 0 when unknown)
 * inbox.close         (w) org_id, id, now (changes 0 when unknown or closed already)
 * inbox.reopen        (w) org_id, id, now (changes 0 when unknown or not closed;
 *                     CW_ECONFLICT when the contact has another live conversation)
 * inbox.mark_read     (w) org_id, id (changes 0 when nothing was unread)
 *
 * inbox.get           org_id, id -> CONV
 * inbox.list          org_id, status|NULL (every live one)|'all', assignee|NULL (any)|''
 *                     (unassigned), cursor_at|NULL, cursor_id, limit -> CONV, newest
 *                     activity first (last_message_at DESC, id DESC), after the cursor
 *   CONV = 0 id, 1 org_id, 2 number_id, 3 contact_id, 4 status, 5 assignee, 6 handoff,
 *          7 opened_at, 8 first_inbound_at, 9 first_response_at, 10 closed_at,
 *          11 last_message_at, 12 last_inbound_at, 13 unread, 14 auto_reply_until,
 *          15 contact name, 16 contact language, 17 contact erased (0/1),
 *          18 window expires_at, 19 assignee name (agent name or email, key name),
 *          20 last message id, 21 its direction, 22 type, 23 status, 24 payload,
 *          25 created_at (20..25 NULL when the contact has no message), 26 team,
 *          27 note
 * inbox.counts        org_id -> open, pending, waiting, unassigned (live ones),
 *                     oldest first_inbound_at of those waiting (NULL when none)
 * inbox.frt_samples   org_id, since, until, limit -> business_ms, waited_ms,
 *                     within_target, target_ms of responses in [since, until)
 * inbox.metrics       -> status, conversations, waiting (live conversations of every
 *                     organisation, per status)
 * inbox.frt_totals    -> responses, within_target (every organisation, all time)
 *
 * inbox.thread        org_id, contact_id, before_at|NULL, before_id, limit ->
 *                     id, direction, type, status, payload, created_at, sent_at,
 *                     delivered_at, read_at, failed_at, error_code, error_title,
 *                     producer (outbox; NULL for inbound), number_id; newest first
 * inbox.thread_decisions org_id, contact_id, since, until -> id, message_id, producer,
 *                     purpose, outcome, reason, message, until, at; oldest first
 * inbox.principal     org_id, id -> kind ('agent' | 'apikey'), name: a live agent or
 *                     API key of the organisation
 * inbox.contact_lang  org_id, contact_id -> contact language, organisation language
 * inbox.org           org_id -> time_zone, default_language
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

/* clang-format off */
#define CONV_COLS                                                                                 \
	"c.id, c.org_id, c.number_id, c.contact_id, c.status, c.assignee, c.handoff, "            \
	"c.opened_at, c.first_inbound_at, c.first_response_at, c.closed_at, c.last_message_at, " \
	"c.last_inbound_at, c.unread, c.auto_reply_until, ct.name, ct.language, "                \
	"ct.erased_at IS NOT NULL, w.expires_at, coalesce(a.name, a.email, k.name), "            \
	"m.id, m.direction, m.type, m.status, m.payload, m.created_at, c.team, c.note"

#define CONV_FROM                                                                                 \
	" FROM conversations c JOIN contacts ct ON ct.id = c.contact_id "                        \
	"LEFT JOIN windows w ON w.number_id = c.number_id AND w.contact_id = c.contact_id "      \
	"LEFT JOIN agents a ON a.id = c.assignee "                                                \
	"LEFT JOIN api_keys k ON k.id = c.assignee "                                              \
	"LEFT JOIN messages m ON m.id = (SELECT id FROM messages WHERE org_id = c.org_id "       \
	"AND contact_id = c.contact_id ORDER BY created_at DESC, id DESC LIMIT 1) "

const struct sqlite_stmt_def sqlite_stmts_inbox[] = {
	/* ---- changes ---- */
	{"inbox.on_inbound",
	 "INSERT INTO conversations (id, org_id, number_id, contact_id, status, handoff, "
	 "opened_at, first_inbound_at, last_message_at, last_inbound_at, unread, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, 'open', coalesce(?7, 'unhandled'), ?6, ?5, ?6, ?5, 1, ?6) "
	 "ON CONFLICT (number_id, contact_id) WHERE status <> 'closed' DO UPDATE SET "
	 "status = 'open', "
	 "handoff = coalesce(?7, conversations.handoff), "
	 "first_inbound_at = coalesce(conversations.first_inbound_at, excluded.first_inbound_at), "
	 "last_message_at = max(conversations.last_message_at, excluded.last_message_at), "
	 "last_inbound_at = max(coalesce(conversations.last_inbound_at, 0), "
	 "excluded.last_inbound_at), "
	 "unread = conversations.unread + 1, "
	 "updated_at = excluded.updated_at "
	 "RETURNING id, id = ?1, auto_reply_until"},
	{"inbox.handoff",
	 "INSERT INTO conversations (id, org_id, number_id, contact_id, status, handoff, team, "
	 "note, opened_at, first_inbound_at, last_message_at, unread, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?8, ?8, 0, ?8) "
	 "ON CONFLICT (number_id, contact_id) WHERE status <> 'closed' DO UPDATE SET "
	 "status = 'open', handoff = excluded.handoff, team = excluded.team, "
	 "note = excluded.note, "
	 "first_inbound_at = coalesce(conversations.first_inbound_at, excluded.first_inbound_at), "
	 "last_message_at = max(conversations.last_message_at, excluded.last_message_at), "
	 "updated_at = excluded.updated_at "
	 "RETURNING id, id = ?1"},
	{"inbox.set_auto_reply", "UPDATE conversations SET auto_reply_until = ?2 WHERE id = ?1"},
	{"inbox.responded",
	 "UPDATE conversations SET status = 'pending', first_inbound_at = NULL, "
	 "first_response_at = coalesce(first_response_at, ?3), unread = 0, "
	 "last_message_at = max(last_message_at, ?3), assignee = coalesce(assignee, ?4), "
	 "updated_at = ?3 WHERE org_id = ?1 AND id = ?2 AND status <> 'closed'"},
	{"inbox.frt_insert",
	 "INSERT INTO first_responses (org_id, conversation_id, responder, inbound_at, "
	 "response_at, waited_ms, business_ms, target_ms, within_target) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
	{"inbox.assign",
	 "UPDATE conversations SET assignee = ?3, updated_at = ?4 WHERE org_id = ?1 AND id = ?2"},
	{"inbox.close",
	 "UPDATE conversations SET status = 'closed', closed_at = ?3, first_inbound_at = NULL, "
	 "unread = 0, updated_at = ?3 WHERE org_id = ?1 AND id = ?2 AND status <> 'closed'"},
	{"inbox.reopen",
	 "UPDATE conversations SET status = 'open', closed_at = NULL, updated_at = ?3 "
	 "WHERE org_id = ?1 AND id = ?2 AND status = 'closed'"},
	{"inbox.mark_read",
	 "UPDATE conversations SET unread = 0 WHERE org_id = ?1 AND id = ?2 AND unread > 0"},

	/* ---- reads ---- */
	{"inbox.get", "SELECT " CONV_COLS CONV_FROM "WHERE c.org_id = ?1 AND c.id = ?2"},
	{"inbox.list",
	 "SELECT " CONV_COLS CONV_FROM "WHERE c.org_id = ?1 "
	 "AND (CASE WHEN ?2 IS NULL THEN c.status <> 'closed' WHEN ?2 = 'all' THEN 1 "
	 "ELSE c.status = ?2 END) "
	 "AND (?3 IS NULL OR (?3 = '' AND c.assignee IS NULL) OR c.assignee = ?3) "
	 "AND (?4 IS NULL OR c.last_message_at < ?4 OR (c.last_message_at = ?4 AND c.id < ?5)) "
	 "ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?6"},
	{"inbox.counts",
	 "SELECT coalesce(sum(status = 'open'), 0), coalesce(sum(status = 'pending'), 0), "
	 "coalesce(sum(first_inbound_at IS NOT NULL), 0), coalesce(sum(assignee IS NULL), 0), "
	 "min(first_inbound_at) FROM conversations WHERE org_id = ?1 AND status <> 'closed'"},
	{"inbox.frt_samples",
	 "SELECT business_ms, waited_ms, within_target, target_ms FROM first_responses "
	 "WHERE org_id = ?1 AND response_at >= ?2 AND response_at < ?3 "
	 "ORDER BY response_at DESC LIMIT ?4"},
	{"inbox.metrics",
	 "SELECT status, count(*), coalesce(sum(first_inbound_at IS NOT NULL), 0) "
	 "FROM conversations WHERE status <> 'closed' GROUP BY status"},
	{"inbox.frt_totals",
	 "SELECT count(*), coalesce(sum(within_target), 0) FROM first_responses"},

	{"inbox.thread",
	 "SELECT m.id, m.direction, m.type, m.status, m.payload, m.created_at, m.sent_at, "
	 "m.delivered_at, m.read_at, m.failed_at, m.error_code, m.error_title, o.producer, "
	 "m.number_id FROM messages m LEFT JOIN outbox o ON o.id = m.id "
	 "WHERE m.org_id = ?1 AND m.contact_id = ?2 "
	 "AND (?3 IS NULL OR m.created_at < ?3 OR (m.created_at = ?3 AND m.id < ?4)) "
	 "ORDER BY m.created_at DESC, m.id DESC LIMIT ?5"},
	{"inbox.thread_decisions",
	 "SELECT id, message_id, producer, purpose, outcome, reason, message, until, at "
	 "FROM decisions WHERE org_id = ?1 AND contact_id = ?2 AND at >= ?3 AND at <= ?4 "
	 "ORDER BY at, id"},
	{"inbox.principal",
	 "SELECT 'agent', coalesce(name, email) FROM agents "
	 "WHERE id = ?2 AND org_id = ?1 AND disabled = 0 "
	 "UNION ALL SELECT 'apikey', name FROM api_keys "
	 "WHERE id = ?2 AND org_id = ?1 AND revoked_at IS NULL"},
	{"inbox.contact_lang",
	 "SELECT ct.language, o.default_language FROM contacts ct JOIN orgs o ON o.id = ct.org_id "
	 "WHERE ct.org_id = ?1 AND ct.id = ?2"},
	{"inbox.org", "SELECT time_zone, default_language FROM orgs WHERE id = ?1"},

	{NULL, NULL},
};
/* clang-format on */
