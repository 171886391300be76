/*
 * stmts_core.c — named SQLite statements for the foundation tables of
 * migration 0001 (see stmts.h for how statements are found and cached).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the columns of each
 * result row, numbered from 0. A "(w)" statement writes: run it with
 * store_exec / store_tx_exec, or with store_tx_query when it returns rows
 * (RETURNING). Read statements run with store_query.
 *
 * org.insert          (w) id, name, kind, region, default_language|NULL, time_zone|NULL,
 *                         settings JSON|NULL, created_at
 * org.get             id -> ORG
 * org.list            -> ORG, oldest first
 *   ORG = id, name, kind, region, default_language, time_zone, settings, created_at
 *
 * number.insert       (w) id, org_id, phone_number_id, waba_id, display, token_sealed,
 *                         rate_mps|NULL (80), shared_with_app|NULL (0), created_at
 * number.get          id -> NUMBER
 * number.get_by_pnid  phone_number_id -> NUMBER
 *   NUMBER = id, org_id, phone_number_id, waba_id, display, token_sealed, rate_mps,
 *            shared_with_app, status, created_at
 *
 * contact.upsert      (w) id, org_id, phone, wa_id, raw_phone, name, language, time_zone,
 *                         sex, birth_date, audience, fields JSON object|NULL, now
 *                     -> id, created (1 when the row was inserted with ?1, 0 when the
 *                        contact with this (org_id, phone) existed and was updated).
 *                     On update a NULL value keeps the stored one and fields is merged
 *                     into the stored object (json_patch: a key set to null is removed).
 * contact.get         org_id, id -> CONTACT
 * contact.get_by_phone org_id, phone -> CONTACT
 * contact.get_by_wa_id org_id, wa_id -> CONTACT (the most recently updated)
 * contact.touch       (w) id, now — last_seen = now (never moves back)
 *   CONTACT = id, org_id, phone, wa_id, raw_phone, name, language, time_zone, sex,
 *             birth_date, audience, fields, created_at, updated_at, last_seen,
 *             last_inbound, erased_at
 *
 * webhook.append      (w) org_id|NULL, received_at, signature, body BLOB -> id
 * webhook.mark_processed (w) id, processed_at, error|NULL (changes 0 if already marked)
 * webhook.unprocessed limit -> id, org_id, received_at, signature, body; oldest first
 * webhook.pending_before id -> a row when a body older than id is not processed yet
 *
 * message.insert      (w) id, org_id, number_id, contact_id, direction, wamid|NULL, type,
 *                         payload JSON|NULL, status|NULL, status_at|NULL, biz_opaque|NULL,
 *                         created_at (changes 0 when the id or wamid is already stored:
 *                         a repeated inbound webhook)
 * message.get         org_id, id -> MESSAGE
 * message.get_by_wamid wamid -> MESSAGE
 * message.set_wamid   (w) id, wamid, now (only while wamid is NULL)
 * message.update_status (w) wamid, status, at, error_code|NULL, error_title|NULL, now
 *                     Moves status forward only: sent < delivered < read < played, and
 *                     failed is terminal (it wins over every other status and nothing
 *                     moves a failed message). Each status's first time is recorded in
 *                     sent_at / delivered_at / read_at / played_at / failed_at even when
 *                     it arrives late, out of order. changes = 0 when the update told
 *                     nothing new (a duplicate or a stale status).
 *   MESSAGE = id, org_id, number_id, contact_id, direction, wamid, type, payload, status,
 *             status_at, sent_at, delivered_at, read_at, played_at, failed_at,
 *             error_code, error_title, biz_opaque, created_at, updated_at
 *
 * message_status.add  (w) org_id, wamid, status, at (changes 0 for a duplicate)
 *
 * apikey.insert       (w) id, org_id, role, prefix, hash, name, created_at
 * apikey.get_by_prefix prefix -> id, org_id, role, prefix, hash, name, created_at,
 *                        last_used_at, revoked_at
 * apikey.touch        (w) id, at — last_used_at
 * apikey.revoke       (w) org_id, id, at (changes 0 when unknown or already revoked)
 *
 * window.upsert       (w) org_id, number_id, contact_id, last_inbound_at, expires_at
 *                     (never moves a window back in time)
 * window.get          number_id, contact_id -> org_id, last_inbound_at, expires_at
 *
 * kv.get              org_id, key -> value
 * kv.set              (w) org_id, key, value
 * kv.delete           (w) org_id, key
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

/* clang-format off */
#define ORG_COLS "id, name, kind, region, default_language, time_zone, settings, created_at"

#define NUMBER_COLS                                                                               \
	"id, org_id, phone_number_id, waba_id, display, token_sealed, rate_mps, "                 \
	"shared_with_app, status, created_at"

#define CONTACT_COLS                                                                              \
	"id, org_id, phone, wa_id, raw_phone, name, language, time_zone, sex, birth_date, "      \
	"audience, fields, created_at, updated_at, last_seen, last_inbound, erased_at"

#define MESSAGE_COLS                                                                              \
	"id, org_id, number_id, contact_id, direction, wamid, type, payload, status, "           \
	"status_at, sent_at, delivered_at, read_at, played_at, failed_at, error_code, "          \
	"error_title, biz_opaque, created_at, updated_at"

#define APIKEY_COLS "id, org_id, role, prefix, hash, name, created_at, last_used_at, revoked_at"

/* The order of message statuses; failed is terminal. */
#define STATUS_RANK(x)                                                                            \
	"(CASE " x " WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 "               \
	"WHEN 'played' THEN 4 WHEN 'failed' THEN 9 ELSE 0 END)"

/* Records the first time of status ?2 in column col. */
#define STATUS_TIME(st, col) col " = CASE WHEN ?2 = '" st "' THEN coalesce(" col ", ?3) ELSE " col " END"

const struct sqlite_stmt_def sqlite_stmts_core[] = {
	/* ---- orgs ---- */
	{"org.insert",
	 "INSERT INTO orgs (id, name, kind, region, default_language, time_zone, settings, "
	 "created_at) VALUES (?1, ?2, ?3, ?4, coalesce(?5, 'en'), coalesce(?6, 'UTC'), "
	 "coalesce(?7, '{}'), ?8)"},
	{"org.get", "SELECT " ORG_COLS " FROM orgs WHERE id = ?1"},
	{"org.list", "SELECT " ORG_COLS " FROM orgs ORDER BY created_at, id"},

	/* ---- numbers ---- */
	{"number.insert",
	 "INSERT INTO numbers (id, org_id, phone_number_id, waba_id, display, token_sealed, "
	 "rate_mps, shared_with_app, created_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 80), coalesce(?8, 0), ?9)"},
	{"number.get", "SELECT " NUMBER_COLS " FROM numbers WHERE id = ?1"},
	{"number.get_by_pnid", "SELECT " NUMBER_COLS " FROM numbers WHERE phone_number_id = ?1"},

	/* ---- contacts ---- */
	{"contact.upsert",
	 "INSERT INTO contacts (id, org_id, phone, wa_id, raw_phone, name, language, time_zone, "
	 "sex, birth_date, audience, fields, created_at, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, coalesce(?12, '{}'), ?13, ?13) "
	 "ON CONFLICT (org_id, phone) DO UPDATE SET "
	 "wa_id = coalesce(excluded.wa_id, contacts.wa_id), "
	 "raw_phone = coalesce(excluded.raw_phone, contacts.raw_phone), "
	 "name = coalesce(excluded.name, contacts.name), "
	 "language = coalesce(excluded.language, contacts.language), "
	 "time_zone = coalesce(excluded.time_zone, contacts.time_zone), "
	 "sex = coalesce(excluded.sex, contacts.sex), "
	 "birth_date = coalesce(excluded.birth_date, contacts.birth_date), "
	 "audience = coalesce(excluded.audience, contacts.audience), "
	 "fields = CASE WHEN ?12 IS NULL THEN contacts.fields "
	 "WHEN json_valid(?12) THEN json_patch(contacts.fields, ?12) ELSE ?12 END, "
	 "updated_at = excluded.updated_at "
	 "RETURNING id, id = ?1"},
	{"contact.get", "SELECT " CONTACT_COLS " FROM contacts WHERE org_id = ?1 AND id = ?2"},
	{"contact.get_by_phone",
	 "SELECT " CONTACT_COLS " FROM contacts WHERE org_id = ?1 AND phone = ?2"},
	{"contact.get_by_wa_id",
	 "SELECT " CONTACT_COLS " FROM contacts WHERE org_id = ?1 AND wa_id = ?2 "
	 "ORDER BY updated_at DESC LIMIT 1"},
	{"contact.touch",
	 "UPDATE contacts SET last_seen = max(coalesce(last_seen, ?2), ?2), "
	 "updated_at = max(updated_at, ?2) WHERE id = ?1"},

	/* ---- the raw webhook log ---- */
	{"webhook.append",
	 "INSERT INTO webhook_log (org_id, received_at, signature, body) "
	 "VALUES (?1, ?2, ?3, ?4) RETURNING id"},
	{"webhook.mark_processed",
	 "UPDATE webhook_log SET processed_at = ?2, error = ?3 "
	 "WHERE id = ?1 AND processed_at IS NULL"},
	{"webhook.pending_before", "SELECT 1 FROM webhook_log WHERE processed_at IS NULL AND id < ?1 LIMIT 1"},
	{"webhook.unprocessed",
	 "SELECT id, org_id, received_at, signature, body FROM webhook_log "
	 "WHERE processed_at IS NULL ORDER BY id LIMIT ?1"},

	/* ---- messages ---- */
	{"message.insert",
	 "INSERT INTO messages (id, org_id, number_id, contact_id, direction, wamid, type, "
	 "payload, status, status_at, biz_opaque, created_at, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) "
	 "ON CONFLICT DO NOTHING"},
	{"message.get", "SELECT " MESSAGE_COLS " FROM messages WHERE org_id = ?1 AND id = ?2"},
	{"message.get_by_wamid", "SELECT " MESSAGE_COLS " FROM messages WHERE wamid = ?1"},
	{"message.set_wamid",
	 "UPDATE messages SET wamid = ?2, updated_at = ?3 WHERE id = ?1 AND wamid IS NULL"},
	{"message.update_status",
	 "UPDATE messages SET "
	 "status = CASE WHEN " STATUS_RANK("?2") " > " STATUS_RANK("status") " THEN ?2 "
	 "ELSE status END, "
	 "status_at = CASE WHEN " STATUS_RANK("?2") " > " STATUS_RANK("status") " THEN ?3 "
	 "ELSE status_at END, "
	 STATUS_TIME("sent", "sent_at") ", "
	 STATUS_TIME("delivered", "delivered_at") ", "
	 STATUS_TIME("read", "read_at") ", "
	 STATUS_TIME("played", "played_at") ", "
	 STATUS_TIME("failed", "failed_at") ", "
	 "error_code = CASE WHEN ?2 = 'failed' THEN coalesce(?4, error_code) ELSE error_code END, "
	 "error_title = CASE WHEN ?2 = 'failed' THEN coalesce(?5, error_title) "
	 "ELSE error_title END, "
	 "updated_at = ?6 "
	 "WHERE wamid = ?1 AND (" STATUS_RANK("?2") " > " STATUS_RANK("status") " OR "
	 "CASE ?2 WHEN 'sent' THEN sent_at IS NULL WHEN 'delivered' THEN delivered_at IS NULL "
	 "WHEN 'read' THEN read_at IS NULL WHEN 'played' THEN played_at IS NULL "
	 "WHEN 'failed' THEN failed_at IS NULL ELSE 0 END)"},
	{"message_status.add",
	 "INSERT INTO message_statuses (org_id, wamid, status, at) VALUES (?1, ?2, ?3, ?4) "
	 "ON CONFLICT DO NOTHING"},

	/* ---- API keys ---- */
	{"apikey.insert",
	 "INSERT INTO api_keys (id, org_id, role, prefix, hash, name, created_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
	{"apikey.get_by_prefix", "SELECT " APIKEY_COLS " FROM api_keys WHERE prefix = ?1"},
	{"apikey.touch", "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1"},
	{"apikey.revoke",
	 "UPDATE api_keys SET revoked_at = ?3 "
	 "WHERE org_id = ?1 AND id = ?2 AND revoked_at IS NULL"},

	/* ---- service windows ---- */
	{"window.upsert",
	 "INSERT INTO windows (org_id, number_id, contact_id, last_inbound_at, expires_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5) "
	 "ON CONFLICT (number_id, contact_id) DO UPDATE SET "
	 "last_inbound_at = excluded.last_inbound_at, expires_at = excluded.expires_at "
	 "WHERE excluded.last_inbound_at > windows.last_inbound_at"},
	{"window.get",
	 "SELECT org_id, last_inbound_at, expires_at FROM windows "
	 "WHERE number_id = ?1 AND contact_id = ?2"},

	/* ---- small settings ---- */
	{"kv.get", "SELECT value FROM kv WHERE org_id = ?1 AND key = ?2"},
	{"kv.set",
	 "INSERT INTO kv (org_id, key, value) VALUES (?1, ?2, ?3) "
	 "ON CONFLICT (org_id, key) DO UPDATE SET value = excluded.value"},
	{"kv.delete", "DELETE FROM kv WHERE org_id = ?1 AND key = ?2"},

	{NULL, NULL},
};
/* clang-format on */
