/*
 * migrations.c — the SQLite schema of carewire, one migration per row
 * (see migrations.h). Applied by store_migrate() through store_sqlite.c.
 *
 * Conventions for every table: org_id (the tenant) on every row — except
 * schema_migrations, and webhook_log where it is NULL until the raw body has
 * been routed to an organisation; ids are TEXT (26-character ids from
 * base/id.h) unless the table says otherwise; times are INTEGER UTC
 * milliseconds; JSON columns are TEXT checked with json_valid(); enumerations
 * are CHECK constraints so a bad value fails as a constraint (CW_EINVAL).
 * Small link tables are WITHOUT ROWID (their key is the row).
 *
 * To add a migration: append a row with the next version number. Never edit
 * or reorder a released one.
 */
#include "store/sqlite/migrations.h"

#include "base/banned.h"

/* clang-format off */
const char sqlite_migrations_bootstrap[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
					   " version INTEGER PRIMARY KEY,"
					   " name TEXT NOT NULL,"
					   " applied_at INTEGER NOT NULL)";
const char sqlite_migrations_version[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
const char sqlite_migrations_applied[] = "SELECT 1 FROM schema_migrations WHERE version = ?1";
const char sqlite_migrations_record[] =
	"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

/* 0001: the foundation — tenants, numbers, contacts, consent, the raw
 * webhook log, messages and their statuses, API keys, service windows, kv. */
static const char m0001_foundation[] =
	"CREATE TABLE orgs ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN"
	"  ('hospital','clinic','diagnostic','pharmacy','pharma','events')),"
	" region TEXT NOT NULL,"
	" default_language TEXT NOT NULL DEFAULT 'en',"
	" time_zone TEXT NOT NULL DEFAULT 'UTC',"
	" settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),"
	" created_at INTEGER NOT NULL);\n"

	"CREATE TABLE numbers ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" phone_number_id TEXT NOT NULL UNIQUE,"
	" waba_id TEXT NOT NULL,"
	" display TEXT NOT NULL,"
	" token_sealed TEXT,"
	" rate_mps INTEGER NOT NULL DEFAULT 80 CHECK (rate_mps > 0),"
	" shared_with_app INTEGER NOT NULL DEFAULT 0 CHECK (shared_with_app IN (0, 1)),"
	" status TEXT NOT NULL DEFAULT 'active',"
	" created_at INTEGER NOT NULL);\n"
	"CREATE INDEX numbers_org ON numbers (org_id);\n"

	"CREATE TABLE contacts ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" phone TEXT," /* E.164; NULL once erased */
	" wa_id TEXT,"
	" raw_phone TEXT,"
	" name TEXT,"
	" language TEXT,"
	" time_zone TEXT,"
	" sex TEXT,"
	" birth_date TEXT CHECK (birth_date IS NULL OR"
	"  birth_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),"
	" audience TEXT,"
	" fields TEXT NOT NULL DEFAULT '{}' CHECK (CASE WHEN json_valid(fields)"
	"  THEN json_type(fields) = 'object' ELSE 0 END),"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" last_seen INTEGER,"
	" last_inbound INTEGER,"
	" erased_at INTEGER,"
	" UNIQUE (org_id, phone));\n"
	"CREATE INDEX contacts_wa_id ON contacts (org_id, wa_id);\n"

	"CREATE TABLE contact_tags ("
	" org_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" tag TEXT NOT NULL,"
	" PRIMARY KEY (contact_id, tag)) WITHOUT ROWID;\n"
	"CREATE INDEX contact_tags_tag ON contact_tags (org_id, tag);\n"

	"CREATE TABLE contact_fields ("
	" org_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" type TEXT NOT NULL CHECK (type IN ('text','number','date','bool')),"
	" value_text TEXT,"
	" value_num REAL,"
	" PRIMARY KEY (contact_id, key)) WITHOUT ROWID;\n"
	"CREATE INDEX contact_fields_text ON contact_fields (org_id, key, value_text);\n"
	"CREATE INDEX contact_fields_num ON contact_fields (org_id, key, value_num);\n"

	/* consents is the full history; consent_current is its latest row per
	 * (contact, purpose), kept in step by the trigger below, so the write
	 * that records a consent also updates the current state. An older
	 * record arriving late (an import of paper forms) never overrides a
	 * newer one. */
	"CREATE TABLE consents ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" purpose TEXT NOT NULL CHECK (purpose IN"
	"  ('service','reminders','results','surveys','marketing')),"
	" status TEXT NOT NULL CHECK (status IN ('granted','refused','withdrawn')),"
	" source TEXT NOT NULL CHECK (source IN ('paper','web','whatsapp','api','import')),"
	" wording_version TEXT,"
	" evidence TEXT,"
	" at INTEGER NOT NULL);\n"
	"CREATE INDEX consents_contact ON consents (contact_id, purpose, at);\n"
	"CREATE TABLE consent_current ("
	" org_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" purpose TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" consent_id INTEGER NOT NULL,"
	" PRIMARY KEY (contact_id, purpose)) WITHOUT ROWID;\n"
	"CREATE INDEX consent_current_org ON consent_current (org_id, purpose, status);\n"
	"CREATE TRIGGER consents_current AFTER INSERT ON consents BEGIN"
	" INSERT INTO consent_current (org_id, contact_id, purpose, status, at, consent_id)"
	" VALUES (NEW.org_id, NEW.contact_id, NEW.purpose, NEW.status, NEW.at, NEW.id)"
	" ON CONFLICT (contact_id, purpose) DO UPDATE SET"
	"  org_id = excluded.org_id, status = excluded.status, at = excluded.at,"
	"  consent_id = excluded.consent_id"
	"  WHERE excluded.at >= consent_current.at;"
	" END;\n"

	/* The raw webhook log: a body is here, durable, before Meta gets 200. */
	"CREATE TABLE webhook_log ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT,"
	" received_at INTEGER NOT NULL,"
	" signature TEXT,"
	" body BLOB NOT NULL,"
	" processed_at INTEGER,"
	" error TEXT);\n"
	"CREATE INDEX webhook_log_pending ON webhook_log (id) WHERE processed_at IS NULL;\n"

	"CREATE TABLE messages ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" number_id TEXT REFERENCES numbers(id),"
	" contact_id TEXT REFERENCES contacts(id),"
	" direction TEXT NOT NULL CHECK (direction IN ('in','out')),"
	" wamid TEXT,"
	" type TEXT NOT NULL,"
	" payload TEXT CHECK (payload IS NULL OR json_valid(payload)),"
	" status TEXT,"
	" status_at INTEGER,"
	" sent_at INTEGER,"
	" delivered_at INTEGER,"
	" read_at INTEGER,"
	" played_at INTEGER,"
	" failed_at INTEGER,"
	" error_code INTEGER,"
	" error_title TEXT,"
	" biz_opaque TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);\n"
	"CREATE UNIQUE INDEX messages_wamid ON messages (wamid) WHERE wamid IS NOT NULL;\n"
	"CREATE INDEX messages_contact ON messages (org_id, contact_id, created_at);\n"

	/* One row per (wamid, status) seen: a repeated status webhook is a no-op. */
	"CREATE TABLE message_statuses ("
	" org_id TEXT NOT NULL,"
	" wamid TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (wamid, status)) WITHOUT ROWID;\n"

	"CREATE TABLE api_keys ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" role TEXT NOT NULL CHECK (role IN ('admin','agent','integration','viewer')),"
	" prefix TEXT NOT NULL UNIQUE,"
	" hash TEXT NOT NULL," /* argon2id */
	" name TEXT,"
	" created_at INTEGER NOT NULL,"
	" last_used_at INTEGER,"
	" revoked_at INTEGER);\n"
	"CREATE INDEX api_keys_org ON api_keys (org_id);\n"

	/* The 24-hour customer service window per (number, contact). */
	"CREATE TABLE windows ("
	" org_id TEXT NOT NULL,"
	" number_id TEXT NOT NULL REFERENCES numbers(id),"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" last_inbound_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" PRIMARY KEY (number_id, contact_id)) WITHOUT ROWID;\n"

	/* Small settings per organisation. Deliberately no foreign key, so that
	 * instance-wide settings can live under org_id ''. */
	"CREATE TABLE kv ("
	" org_id TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" value TEXT,"
	" PRIMARY KEY (org_id, key)) WITHOUT ROWID;\n";
/* clang-format on */

const struct sqlite_migration sqlite_migrations[] = {
    {1, "foundation", m0001_foundation},
};

const size_t sqlite_migration_count = sizeof sqlite_migrations / sizeof sqlite_migrations[0];
