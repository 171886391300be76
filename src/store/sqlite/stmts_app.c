/*
 * stmts_app.c — SQLite statements of the ingest, the bot and the demo seed.
 *
 * health.ping          -> 1
 * contact.id_by_wa_id  org_id, wa_id -> id (the most recently updated)
 * contact.id_by_phone  org_id, phone -> id
 * contact.set_wa_id    (w) id, wa_id, now
 * contact.insert_inbound (w) id, org_id, phone|NULL, wa_id, raw_phone, name, language,
 *                      time_zone, now — a person who wrote in before anyone entered them
 * contact.inbound      (w) id, at, now — last_inbound and last_seen move forward only
 * consent.insert       (w) org_id, contact_id, purpose, status, source, wording_version,
 *                      evidence, at
 * org.by_name          name -> id (the first created)
 * demo.tag             (w) org_id, contact_id, tag
 * demo.field           (w) org_id, contact_id, key, type, value_text, value_num
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

const struct sqlite_stmt_def sqlite_stmts_app[] = {
	{"health.ping", "SELECT 1"},
	{"contact.id_by_wa_id",
	 "SELECT id FROM contacts WHERE org_id = ?1 AND wa_id = ?2 AND erased_at IS NULL "
	 "ORDER BY updated_at DESC LIMIT 1"},
	{"contact.id_by_phone",
	 "SELECT id FROM contacts WHERE org_id = ?1 AND phone = ?2 AND erased_at IS NULL"},
	{"contact.set_wa_id", "UPDATE contacts SET wa_id = ?2, updated_at = ?3 WHERE id = ?1"},
	{"contact.insert_inbound",
	 "INSERT INTO contacts (id, org_id, phone, wa_id, raw_phone, name, language, time_zone, "
	 "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"},
	{"contact.inbound",
	 "UPDATE contacts SET last_inbound = max(coalesce(last_inbound, ?2), ?2), "
	 "last_seen = max(coalesce(last_seen, ?2), ?2), updated_at = max(updated_at, ?3) "
	 "WHERE id = ?1"},
	{"consent.insert",
	 "INSERT INTO consents (org_id, contact_id, purpose, status, source, wording_version, "
	 "evidence, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
	{"org.by_name", "SELECT id FROM orgs WHERE name = ?1 ORDER BY created_at LIMIT 1"},
	{"demo.tag",
	 "INSERT INTO contact_tags (org_id, contact_id, tag) VALUES (?1, ?2, ?3) "
	 "ON CONFLICT DO NOTHING"},
	{"demo.field",
	 "INSERT INTO contact_fields (org_id, contact_id, key, type, value_text, value_num) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (contact_id, key) DO UPDATE SET "
	 "type = excluded.type, value_text = excluded.value_text, value_num = excluded.value_num"},
	{NULL, NULL},
};
