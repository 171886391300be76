/*
 * stmts_contacts.c — SQLite statements of contacts (tags, typed fields,
 * listing, erasure, export), consent records and the audit log
 * (core/contact.c, core/consent.c, core/audit.c; migration 0003).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the result
 * columns. "(w)" statements write (store_exec / store_tx_exec).
 *
 * contact.update      (w) org_id, id, phone|NULL, raw_phone|NULL, name, language,
 *                         time_zone, sex, birth_date, audience, fields patch|NULL, now
 *                     A NULL keeps the stored value; fields is merged (json_patch: a key
 *                     set to null is removed). A new phone forgets the old wa_id.
 *                     Only a live contact changes (changes 0: none, or erased).
 * contact.list        org_id, after_id|NULL, limit -> CONTACT (live ones, in id order)
 * contact.tags        contact_id -> tag (sorted)
 * contact.tags_clear  (w) contact_id
 * contact.tag_add     (w) org_id, contact_id, tag (a repeated tag is a no-op)
 * contact.field_set   (w) org_id, contact_id, key, type, value_text|NULL, value_num|NULL
 * contact.field_del   (w) contact_id, key
 * contact.fields_clear (w) contact_id
 * contact.messages    org_id, contact_id, limit -> MESSAGE (oldest first)
 * contact.decisions   org_id, contact_id, limit -> id, message_id, producer, purpose,
 *                        outcome, reason, message, until, result_category, at (oldest first)
 *   CONTACT and MESSAGE as in stmts_core.c.
 *
 * Erasure (all inside one transaction, core/contact.c contact_erase):
 * contact.erase       (w) org_id, id, now — every personal column to NULL, fields to
 *                         {}, erased_at = now (changes 0 when already erased or unknown)
 * contact.erase_messages (w) org_id, contact_id, now — message payloads (bodies) to NULL
 * contact.erase_outbox (w) org_id, contact_id, now — queued/deferred rows cancelled,
 *                         every row's payload emptied
 * contact.erase_consent_evidence (w) org_id, contact_id — consent records stay (they
 *                         show what was allowed, and when) without their evidence text
 * contact.erase_windows (w) contact_id
 * contact.erase_webhooks (w) needle — processed raw webhook bodies that hold needle
 *                         ("\"<wa_id digits>\"", the quoted JSON string) are replaced
 *                         by {"erased":true}; unprocessed ones are left to the ingest
 * contact.erase_responses (w) org_id, contact_id — journey answers lose their values
 * contact.erase_events (w) org_id, contact_id — integration events about the contact
 *                         lose their data and result payloads
 * contact.erase_handoffs (w) org_id, contact_id — hand-off notes removed
 * contact.erase_conversation_notes (w) org_id, contact_id — the inbox's hand-off notes
 *                         removed (journey runs: journey_erase_contact_tx, stmts_journey.c)
 *
 * consent.list        org_id, contact_id -> CONSENT (oldest first; the full history)
 * consent.current     org_id, contact_id -> CONSENT (the current record per purpose)
 * consent.get         org_id, id -> CONSENT
 *   CONSENT = id, purpose, status, source, wording_version, evidence, at
 *
 * audit.last          -> seq, hash of the newest entry (read inside the appending tx)
 * audit.insert        (w) seq, org_id, at, actor, action, subject, purpose, outcome,
 *                         detail, prev_hash, hash
 * audit.head_get      -> seq, hash
 * audit.head_set      (w) seq, hash
 * audit.scan          after_seq, limit -> AUDIT (in seq order; for verification)
 * audit.by_org        org_id, after_seq, limit -> AUDIT
 * audit.by_subject    org_id, subject, after_seq, limit -> AUDIT
 *   AUDIT = seq, org_id, at, actor, action, subject, purpose, outcome, detail,
 *           prev_hash, hash
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

/* clang-format off */
#define CONTACT_COLS                                                                              \
	"id, org_id, phone, wa_id, raw_phone, name, language, time_zone, sex, birth_date, "      \
	"audience, fields, created_at, updated_at, last_seen, last_inbound, erased_at"

#define MESSAGE_COLS                                                                              \
	"id, org_id, number_id, contact_id, direction, wamid, type, payload, status, "           \
	"status_at, sent_at, delivered_at, read_at, played_at, failed_at, error_code, "          \
	"error_title, biz_opaque, created_at, updated_at"

#define CONSENT_COLS "id, purpose, status, source, wording_version, evidence, at"

#define AUDIT_COLS                                                                                \
	"seq, org_id, at, actor, action, subject, purpose, outcome, detail, prev_hash, hash"

const struct sqlite_stmt_def sqlite_stmts_contacts[] = {
	/* ---- contacts ---- */
	{"contact.update",
	 "UPDATE contacts SET "
	 "wa_id = CASE WHEN ?3 IS NOT NULL AND ?3 IS NOT phone THEN NULL ELSE wa_id END, "
	 "phone = coalesce(?3, phone), "
	 "raw_phone = coalesce(?4, raw_phone), "
	 "name = coalesce(?5, name), "
	 "language = coalesce(?6, language), "
	 "time_zone = coalesce(?7, time_zone), "
	 "sex = coalesce(?8, sex), "
	 "birth_date = coalesce(?9, birth_date), "
	 "audience = coalesce(?10, audience), "
	 "fields = CASE WHEN ?11 IS NULL THEN fields ELSE json_patch(fields, ?11) END, "
	 "updated_at = ?12 "
	 "WHERE org_id = ?1 AND id = ?2 AND erased_at IS NULL"},
	{"contact.list",
	 "SELECT " CONTACT_COLS " FROM contacts WHERE org_id = ?1 AND erased_at IS NULL "
	 "AND id > coalesce(?2, '') ORDER BY id LIMIT ?3"},
	{"contact.tags", "SELECT tag FROM contact_tags WHERE contact_id = ?1 ORDER BY tag"},
	{"contact.tags_clear", "DELETE FROM contact_tags WHERE contact_id = ?1"},
	{"contact.tag_add",
	 "INSERT INTO contact_tags (org_id, contact_id, tag) VALUES (?1, ?2, ?3) "
	 "ON CONFLICT DO NOTHING"},
	{"contact.field_set",
	 "INSERT INTO contact_fields (org_id, contact_id, key, type, value_text, value_num) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (contact_id, key) DO UPDATE SET "
	 "type = excluded.type, value_text = excluded.value_text, value_num = excluded.value_num"},
	{"contact.field_del", "DELETE FROM contact_fields WHERE contact_id = ?1 AND key = ?2"},
	{"contact.fields_clear", "DELETE FROM contact_fields WHERE contact_id = ?1"},
	{"contact.messages",
	 "SELECT " MESSAGE_COLS " FROM messages WHERE org_id = ?1 AND contact_id = ?2 "
	 "ORDER BY created_at, id LIMIT ?3"},
	{"contact.decisions",
	 "SELECT id, message_id, producer, purpose, outcome, reason, message, until, "
	 "result_category, at FROM decisions WHERE org_id = ?1 AND contact_id = ?2 "
	 "ORDER BY at, id LIMIT ?3"},

	/* ---- erasure ---- */
	{"contact.erase",
	 "UPDATE contacts SET phone = NULL, wa_id = NULL, raw_phone = NULL, name = NULL, "
	 "language = NULL, time_zone = NULL, sex = NULL, birth_date = NULL, audience = NULL, "
	 "fields = '{}', last_seen = NULL, last_inbound = NULL, updated_at = ?3, erased_at = ?3 "
	 "WHERE org_id = ?1 AND id = ?2 AND erased_at IS NULL"},
	{"contact.erase_messages",
	 "UPDATE messages SET payload = NULL, updated_at = ?3 "
	 "WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_outbox",
	 "UPDATE outbox SET payload = '{}', fallback = NULL, "
	 "state = CASE WHEN state IN ('queued','deferred') THEN 'cancelled' ELSE state END, "
	 "error_title = CASE WHEN state IN ('queued','deferred') THEN 'contact erased' "
	 "ELSE error_title END, updated_at = ?3 "
	 "WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_consent_evidence",
	 "UPDATE consents SET evidence = NULL WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_windows", "DELETE FROM windows WHERE contact_id = ?1"},
	{"contact.erase_responses",
	 "UPDATE journey_responses SET value = NULL, value_num = NULL "
	 "WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_events",
	 "UPDATE events SET data = '{}', result = NULL WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_handoffs",
	 "UPDATE handoffs SET note = NULL WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_conversation_notes",
	 "UPDATE conversations SET note = NULL WHERE org_id = ?1 AND contact_id = ?2"},
	{"contact.erase_webhooks",
	 "UPDATE webhook_log SET body = CAST('{\"erased\":true}' AS BLOB) "
	 "WHERE processed_at IS NOT NULL AND instr(CAST(body AS TEXT), ?1) > 0"},

	/* ---- consent ---- */
	{"consent.list",
	 "SELECT " CONSENT_COLS " FROM consents WHERE org_id = ?1 AND contact_id = ?2 "
	 "ORDER BY at, id"},
	{"consent.current",
	 "SELECT c.id, c.purpose, c.status, c.source, c.wording_version, c.evidence, c.at "
	 "FROM consent_current k JOIN consents c ON c.id = k.consent_id "
	 "WHERE k.org_id = ?1 AND k.contact_id = ?2 ORDER BY c.purpose"},
	{"consent.get", "SELECT " CONSENT_COLS " FROM consents WHERE org_id = ?1 AND id = ?2"},

	/* ---- the audit log ---- */
	{"audit.last", "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"},
	{"audit.insert",
	 "INSERT INTO audit_log (seq, org_id, at, actor, action, subject, purpose, outcome, "
	 "detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
	{"audit.head_get", "SELECT seq, hash FROM audit_head WHERE id = 1"},
	{"audit.head_set",
	 "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) "
	 "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"},
	{"audit.scan",
	 "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
	{"audit.by_org",
	 "SELECT " AUDIT_COLS " FROM audit_log WHERE org_id = ?1 AND seq > ?2 "
	 "ORDER BY seq LIMIT ?3"},
	{"audit.by_subject",
	 "SELECT " AUDIT_COLS " FROM audit_log WHERE org_id = ?1 AND subject = ?2 AND seq > ?3 "
	 "ORDER BY seq LIMIT ?4"},

	{NULL, NULL},
};
/* clang-format on */
