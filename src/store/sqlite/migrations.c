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
/* 0002: the outbox (durable outbound queue, one row per message, same id as
 * messages), the template registry, and error details on message statuses.
 * See docs/internals/outbox.md. */
static const char m0002_outbox[] =
	"CREATE TABLE outbox ("
	" id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" number_id TEXT NOT NULL REFERENCES numbers(id),"
	" contact_id TEXT,"
	" idem_key TEXT NOT NULL,"
	" priority INTEGER NOT NULL CHECK (priority IN (0, 1)),"
	" purpose TEXT NOT NULL CHECK (purpose IN"
	"  ('service','reminders','results','surveys','marketing')),"
	" producer TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('queued','sending','sent','failed','deferred','cancelled','expired')),"
	" payload TEXT NOT NULL CHECK (json_valid(payload)),"
	" fallback TEXT CHECK (fallback IS NULL OR json_valid(fallback)),"
	" not_before INTEGER NOT NULL,"
	" expires_at INTEGER," /* NULL: never */
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" pair_hits INTEGER NOT NULL DEFAULT 0," /* 131056 answers so far */
	" claimed_at INTEGER,"
	" sent_at INTEGER,"
	" wamid TEXT,"
	" error_code INTEGER,"
	" error_title TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" UNIQUE (org_id, idem_key));\n"
	/* What the dispatcher claims: due rows per number and priority. */
	"CREATE INDEX outbox_due ON outbox (number_id, priority, not_before)"
	" WHERE state IN ('queued','deferred');\n"
	"CREATE INDEX outbox_sending ON outbox (claimed_at) WHERE state = 'sending';\n"
	"CREATE INDEX outbox_expiry ON outbox (expires_at)"
	" WHERE state IN ('queued','deferred') AND expires_at IS NOT NULL;\n"
	"CREATE INDEX outbox_wamid ON outbox (wamid) WHERE wamid IS NOT NULL;\n"
	"CREATE INDEX outbox_producer ON outbox (org_id, producer);\n"

	"CREATE TABLE templates ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" waba_id TEXT NOT NULL,"
	" meta_id TEXT," /* Meta's message_template_id */
	" name TEXT NOT NULL,"
	" language TEXT NOT NULL,"
	" category TEXT NOT NULL CHECK (category IN ('MARKETING','UTILITY','AUTHENTICATION')),"
	" status TEXT NOT NULL CHECK (status IN ('APPROVED','PENDING','REJECTED','PAUSED',"
	"  'DISABLED','IN_APPEAL','PENDING_DELETION','DELETED','LIMIT_EXCEEDED','ARCHIVED')),"
	" quality TEXT,"
	" reason TEXT,"
	" components TEXT NOT NULL CHECK (json_valid(components)),"
	" body_params INTEGER NOT NULL DEFAULT 0,"
	" header_params INTEGER NOT NULL DEFAULT 0,"
	" param_names TEXT CHECK (param_names IS NULL OR json_valid(param_names)),"
	" examples TEXT CHECK (examples IS NULL OR json_valid(examples)),"
	" synced_at INTEGER,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" UNIQUE (org_id, waba_id, name, language));\n"
	"CREATE INDEX templates_meta ON templates (waba_id, meta_id) WHERE meta_id IS NOT NULL;\n"
	"CREATE INDEX templates_name ON templates (waba_id, name, language);\n"

	"ALTER TABLE message_statuses ADD COLUMN error_code INTEGER;\n"
	"ALTER TABLE message_statuses ADD COLUMN error_title TEXT;\n";
/* 0005: dashboard sign-in — agent accounts (argon2id password hashes) and
 * their sessions, stored by the SHA-256 of the session id so that a copy of
 * the database cannot be used to take over a signed-in browser. Email is
 * unique across the instance: the sign-in form asks for nothing else. */
static const char m0005_agents_sessions[] =
	"CREATE TABLE agents ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" email TEXT NOT NULL UNIQUE," /* lower case */
	" name TEXT,"
	" role TEXT NOT NULL CHECK (role IN ('admin','agent','viewer')),"
	" pwhash TEXT NOT NULL," /* argon2id */
	" disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" last_login_at INTEGER);\n"
	"CREATE INDEX agents_org ON agents (org_id);\n"
	"CREATE TABLE sessions ("
	" id_hash TEXT PRIMARY KEY," /* hex SHA-256 of the cookie value */
	" org_id TEXT NOT NULL,"
	" agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
	" csrf TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" seen_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX sessions_agent ON sessions (agent_id);\n"
	"CREATE INDEX sessions_expiry ON sessions (expires_at);\n";
/* clang-format on */

/* 0004: the send path — every policy decision (why a message went, waits
 * or was refused), the recipients that spent a number's messaging-tier
 * budget, and each contact's opt-out state. See docs/internals/send.md. */
/* clang-format off */
static const char m0004_decisions[] =
	"CREATE TABLE decisions ("
	" seq INTEGER PRIMARY KEY," /* insertion order: ties of at stay in order */
	" id TEXT NOT NULL," /* a random id (base/id.h) for people and exports; not looked up */
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" contact_id TEXT REFERENCES contacts(id) ON DELETE CASCADE,"
	" number_id TEXT,"
	" message_id TEXT," /* the outbox/messages id; NULL when nothing was queued */
	" producer TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" outcome TEXT NOT NULL CHECK (outcome IN ('allow','deny','defer')),"
	" reason TEXT NOT NULL,"
	" message TEXT NOT NULL,"
	" until INTEGER,"
	" idem_key TEXT," /* the producer's key; NULL for a re-check of a deferred message */
	" result_category TEXT,"
	" flags INTEGER NOT NULL DEFAULT 0," /* 1 time-critical, 2 reply, 4 business-initiated */
	" at INTEGER NOT NULL);\n"
	/* One index per contact serves the listing (newest first) and the
	 * frequency caps (what was allowed in a period), both few rows a
	 * contact; every index is written on every send, so there are few. */
	"CREATE INDEX decisions_contact ON decisions (contact_id, at);\n"
	"CREATE UNIQUE INDEX decisions_idem ON decisions (org_id, idem_key)"
	" WHERE idem_key IS NOT NULL;\n"
	"CREATE INDEX decisions_message ON decisions (message_id) WHERE message_id IS NOT NULL;\n"

	/* One row per (number, contact): when that contact last started to
	 * count against the number's rolling 24-hour tier budget. */
	"CREATE TABLE tier_recipients ("
	" org_id TEXT NOT NULL,"
	" number_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (number_id, contact_id)) WITHOUT ROWID;\n"
	"CREATE INDEX tier_recipients_at ON tier_recipients (number_id, at);\n"
	/* How many recipients started to count in each 15-minute bucket: the
	 * count over the last 24 hours is a sum of at most 97 rows, however
	 * many recipients there are. */
	"CREATE TABLE tier_buckets ("
	" number_id TEXT NOT NULL,"
	" bucket INTEGER NOT NULL," /* at / 900000 */
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (number_id, bucket)) WITHOUT ROWID;\n"

	/* Opted out (an opt-out word or button: nothing business-initiated goes)
	 * and marketing stopped inside WhatsApp (user_preferences, 131050). */
	"CREATE TABLE contact_optout ("
	" org_id TEXT NOT NULL,"
	" contact_id TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,"
	" opted_out INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),"
	" opted_out_at INTEGER,"
	" opted_in_at INTEGER,"
	" marketing_stopped INTEGER NOT NULL DEFAULT 0 CHECK (marketing_stopped IN (0, 1)),"
	" marketing_stopped_at INTEGER,"
	" updated_at INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX contact_optout_org ON contact_optout (org_id, opted_out);\n";
/* clang-format on */

/* 0003: the audit log and what contacts need beyond the foundation.
 *
 * audit_log is append-only and hash-chained (core/audit.c): seq runs 1, 2,
 * 3 ... without gaps, each row's hash is SHA-256 over the previous row's
 * hash and the row's canonical form, and audit_head holds the last seq and
 * hash, written in the same transaction as the row, so that a deleted tail
 * is seen too. The triggers refuse UPDATE and DELETE through SQL, so only a
 * person who drops them can edit the log, and `carewire audit verify` then
 * finds it. org_id is '' for entries about the instance itself. The log
 * holds ids, actions and outcomes, never personal data, so erasing a
 * contact never needs to touch it. audit_head is instance-wide (one row). */
static const char m0003_contacts_audit[] =
	"CREATE TABLE audit_log ("
	" seq INTEGER PRIMARY KEY,"
	" org_id TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" subject TEXT,"
	" purpose TEXT,"
	" outcome TEXT NOT NULL,"
	" detail TEXT,"
	" prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),"
	" hash TEXT NOT NULL CHECK (length(hash) = 64));\n"
	"CREATE INDEX audit_log_subject ON audit_log (org_id, subject, seq);\n"
	"CREATE INDEX audit_log_org ON audit_log (org_id, seq);\n"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" hash TEXT NOT NULL);\n"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN"
	" SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN"
	" SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n"

	/* contact listings page through live contacts in id order */
	"CREATE INDEX contacts_org_live ON contacts (org_id, id) WHERE erased_at IS NULL;\n";

/* 0007: the shared inbox — one live conversation per (number, contact) that
 * a person of the team answers, and one row per first response for the
 * first-response-time figures (core/conversation.c, docs/inbox.md).
 *
 * status: open (the person wrote and waits for the team), pending (the team
 * answered; waiting for the person), closed. At most one conversation per
 * (number, contact) is not closed (conversations_live). first_inbound_at is
 * the first unanswered inbound message of the current waiting period (NULL
 * when no one waits); auto_reply_until is the opening time of the closed
 * period the out-of-hours reply was sent for, so it goes once per period.
 * assignee is an agent id or an API key id of the organisation. */
/* clang-format off */
static const char m0007_inbox[] =
	"CREATE TABLE conversations ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" number_id TEXT NOT NULL REFERENCES numbers(id),"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" status TEXT NOT NULL CHECK (status IN ('open','pending','closed')),"
	" assignee TEXT,"
	" handoff TEXT NOT NULL CHECK (handoff IN ('button','unhandled')),"
	" opened_at INTEGER NOT NULL,"
	" first_inbound_at INTEGER,"
	" first_response_at INTEGER,"
	" closed_at INTEGER,"
	" last_message_at INTEGER NOT NULL,"
	" last_inbound_at INTEGER,"
	" unread INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),"
	" auto_reply_until INTEGER,"
	" updated_at INTEGER NOT NULL);\n"
	"CREATE UNIQUE INDEX conversations_live ON conversations (number_id, contact_id)"
	" WHERE status <> 'closed';\n"
	"CREATE INDEX conversations_org ON conversations (org_id, status, last_message_at);\n"
	"CREATE INDEX conversations_assignee ON conversations (org_id, assignee, status);\n"
	"CREATE INDEX conversations_contact ON conversations (contact_id);\n"
	"CREATE INDEX conversations_waiting ON conversations (org_id, first_inbound_at)"
	" WHERE first_inbound_at IS NOT NULL;\n"

	/* One sample per waiting period a person of the team answered:
	 * waited_ms is wall-clock time, business_ms only the time inside
	 * business hours (what the target is about). */
	"CREATE TABLE first_responses ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
	" responder TEXT NOT NULL,"
	" inbound_at INTEGER NOT NULL,"
	" response_at INTEGER NOT NULL,"
	" waited_ms INTEGER NOT NULL CHECK (waited_ms >= 0),"
	" business_ms INTEGER NOT NULL CHECK (business_ms >= 0),"
	" target_ms INTEGER NOT NULL CHECK (target_ms > 0),"
	" within_target INTEGER NOT NULL CHECK (within_target IN (0, 1)));\n"
	"CREATE INDEX first_responses_org ON first_responses (org_id, response_at);\n"
	"CREATE INDEX first_responses_conversation ON first_responses (conversation_id);\n";
/* clang-format on */

/* 0006: journeys and campaigns (core/journey.c, core/sched.c,
 * core/campaign.c, core/events.c; docs/journeys.md).
 *
 * journeys holds every version of every definition (a version is never
 * changed; editing makes the next one) and journey_heads which one is
 * current per key, with the key's status. journey_triggers indexes what
 * starts the current version (an event type, a folded keyword, the first
 * message of a new contact). journey_runs is one row per run: its step, its
 * variables, what it waits for. timers is the scheduler's durable due-time
 * index: one row per (kind, ref), so a run waiting on a timer costs a row,
 * not a thread. journey_sends links every send of a step to its decision
 * and message; journey_events logs entries, replies, taps and branches for
 * analytics; journey_responses keeps saved answers (ratings, comments).
 * events are what other systems reported (POST /api/v1/events, amoCRM),
 * campaigns a journey started for a segment, integration_secrets the URL
 * secrets of inbound integrations (stored as SHA-256), handoffs the
 * conversations handed to a team. */
/* clang-format off */
static const char m0006_journeys[] =
	"CREATE TABLE journeys ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" key TEXT NOT NULL,"
	" version INTEGER NOT NULL CHECK (version > 0),"
	" name TEXT NOT NULL,"
	" purpose TEXT NOT NULL CHECK (purpose IN"
	"  ('service','reminders','results','surveys','marketing')),"
	" definition TEXT NOT NULL CHECK (json_valid(definition)),"
	" digest TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT,"
	" UNIQUE (org_id, key, version));\n"
	"CREATE TABLE journey_heads ("
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" key TEXT NOT NULL,"
	" current_id TEXT NOT NULL REFERENCES journeys(id),"
	" version INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('active','paused','archived')),"
	" hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (org_id, key)) WITHOUT ROWID;\n"
	"CREATE TABLE journey_triggers ("
	" org_id TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('event','keyword','new_contact')),"
	" match TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" PRIMARY KEY (org_id, kind, match, key)) WITHOUT ROWID;\n"

	"CREATE TABLE journey_runs ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" journey_id TEXT NOT NULL REFERENCES journeys(id),"
	" key TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" number_id TEXT,"
	" campaign_id TEXT,"
	" subject TEXT,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('queued','running','waiting','done','cancelled','failed','skipped')),"
	" wait_kind TEXT CHECK (wait_kind IS NULL OR wait_kind IN ('reply','timer','webhook')),"
	" step TEXT,"
	" seq INTEGER NOT NULL DEFAULT 0,"
	" due_at INTEGER,"
	" last_send TEXT," /* the step of the last message sent: replies are about it */
	" vars TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(vars)),"
	" event TEXT CHECK (event IS NULL OR json_valid(event)),"
	" pending TEXT CHECK (pending IS NULL OR json_valid(pending)),"
	" trigger TEXT NOT NULL,"
	" negative INTEGER NOT NULL DEFAULT 0,"
	" end_reason TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" ended_at INTEGER);\n"
	"CREATE INDEX journey_runs_contact ON journey_runs (contact_id, state);\n"
	"CREATE INDEX journey_runs_key ON journey_runs (org_id, key, created_at);\n"
	"CREATE INDEX journey_runs_live ON journey_runs (org_id, key, contact_id, subject)"
	" WHERE state IN ('queued','running','waiting');\n"
	"CREATE INDEX journey_runs_reply ON journey_runs (contact_id, number_id, updated_at)"
	" WHERE state = 'waiting' AND wait_kind = 'reply';\n"
	"CREATE INDEX journey_runs_queued ON journey_runs (contact_id, number_id, created_at)"
	" WHERE state = 'queued';\n"
	"CREATE INDEX journey_runs_campaign ON journey_runs (campaign_id, state)"
	" WHERE campaign_id IS NOT NULL;\n"

	"CREATE TABLE timers ("
	" kind TEXT NOT NULL,"
	" ref TEXT NOT NULL,"
	" org_id TEXT NOT NULL,"
	" due_at INTEGER NOT NULL,"
	" held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),"
	" PRIMARY KEY (kind, ref)) WITHOUT ROWID;\n"
	"CREATE INDEX timers_due ON timers (due_at) WHERE held = 0;\n"

	"CREATE TABLE journey_sends ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT NOT NULL,"
	" run_id TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" step TEXT NOT NULL,"
	" campaign_id TEXT,"
	" contact_id TEXT NOT NULL,"
	" message_id TEXT,"
	" outcome TEXT NOT NULL CHECK (outcome IN ('allow','deny','defer','error')),"
	" reason TEXT NOT NULL,"
	" at INTEGER NOT NULL);\n"
	"CREATE INDEX journey_sends_key ON journey_sends (org_id, key, step);\n"
	"CREATE INDEX journey_sends_campaign ON journey_sends (campaign_id, step)"
	" WHERE campaign_id IS NOT NULL;\n"
	"CREATE INDEX journey_sends_message ON journey_sends (message_id)"
	" WHERE message_id IS NOT NULL;\n"
	"CREATE INDEX journey_sends_contact ON journey_sends (contact_id, at);\n"

	"CREATE TABLE journey_events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT NOT NULL,"
	" run_id TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" step TEXT NOT NULL,"
	" campaign_id TEXT,"
	" kind TEXT NOT NULL CHECK (kind IN"
	"  ('entered','branch','reply','tap','negative','timeout','error')),"
	" detail TEXT,"
	" at INTEGER NOT NULL);\n"
	"CREATE INDEX journey_events_key ON journey_events (org_id, key, kind, step);\n"
	"CREATE INDEX journey_events_campaign ON journey_events (campaign_id, kind, step)"
	" WHERE campaign_id IS NOT NULL;\n"

	"CREATE TABLE journey_responses ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org_id TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" run_id TEXT NOT NULL,"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" campaign_id TEXT,"
	" step TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" value TEXT,"
	" value_num REAL,"
	" at INTEGER NOT NULL);\n"
	"CREATE INDEX journey_responses_key ON journey_responses (org_id, key, name, at);\n"

	"CREATE TABLE events ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" type TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" external_id TEXT,"
	" contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,"
	" data TEXT NOT NULL CHECK (json_valid(data)),"
	" occurred_at INTEGER,"
	" received_at INTEGER NOT NULL,"
	" result TEXT CHECK (result IS NULL OR json_valid(result)));\n"
	"CREATE UNIQUE INDEX events_external ON events (org_id, source, external_id)"
	" WHERE external_id IS NOT NULL;\n"
	"CREATE INDEX events_org ON events (org_id, received_at);\n"

	"CREATE TABLE campaigns ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" name TEXT NOT NULL,"
	" journey_key TEXT NOT NULL,"
	" segment TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" vars TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(vars)),"
	" settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),"
	" status TEXT NOT NULL CHECK (status IN"
	"  ('draft','running','paused','halted','cancelled','completed')),"
	" phase TEXT NOT NULL DEFAULT 'canary' CHECK (phase IN ('canary','hold','rollout','done')),"
	" audience INTEGER NOT NULL DEFAULT 0,"
	" canary_target INTEGER NOT NULL DEFAULT 0,"
	" enrolled INTEGER NOT NULL DEFAULT 0,"
	" cursor TEXT,"
	" halted_reason TEXT,"
	" hold_until INTEGER,"
	" created_by TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" ended_at INTEGER);\n"
	"CREATE INDEX campaigns_org ON campaigns (org_id, created_at);\n"

	"CREATE TABLE integration_secrets ("
	" hash TEXT PRIMARY KEY," /* hex SHA-256 of the URL secret */
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" kind TEXT NOT NULL,"
	" config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),"
	" created_at INTEGER NOT NULL,"
	" revoked_at INTEGER) WITHOUT ROWID;\n"
	"CREATE INDEX integration_secrets_org ON integration_secrets (org_id, kind);\n"

	"CREATE TABLE handoffs ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs(id),"
	" contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	" number_id TEXT,"
	" run_id TEXT,"
	" team TEXT NOT NULL,"
	" note TEXT,"
	" created_at INTEGER NOT NULL,"
	" closed_at INTEGER);\n"
	"CREATE INDEX handoffs_open ON handoffs (org_id, team, created_at) WHERE closed_at IS NULL;\n";
/* clang-format on */

/* 0008: analytics (core/analytics.c, docs/analytics.md).
 *
 * messages_out_day finds an organisation's outbound messages by the time
 * Meta first reported them (the day a message counts on); the expression is
 * repeated word for word in stmts_analytics.c, which SQLite needs to use it.
 * consents_optout finds the opt-outs people sent in WhatsApp by time.
 *
 * analytics_unanswered is one row per inbound message that reached the
 * inbox: what nothing automatic (opt-out words, journeys, the bot) answered.
 * It holds ids only; the text stays in messages.payload, so erasing a
 * contact (payloads to NULL) erases it here too. The rows are written by the
 * triggers below, on the inbox's own write (inbox.on_inbound, the only
 * statement that adds one to a conversation's unread count, or inserts a
 * conversation): the inbound message it is about is the contact's newest
 * inbound row at that moment, because the ingest stores each message and
 * runs its handlers before it stores the next one, all in one
 * transaction. */
/* clang-format off */
#define M0008_NOTE_UNANSWERED                                                                     \
	" INSERT OR IGNORE INTO analytics_unanswered (message_id, org_id, conversation_id, at)"  \
	" SELECT id, NEW.org_id, NEW.id, NEW.updated_at FROM messages"                           \
	" WHERE org_id = NEW.org_id AND contact_id = NEW.contact_id AND direction = 'in'"        \
	" AND created_at <= NEW.updated_at ORDER BY created_at DESC, rowid DESC LIMIT 1;"
static const char m0008_analytics[] =
	"CREATE INDEX messages_out_day ON messages"
	" (org_id, coalesce(sent_at, delivered_at, read_at, played_at, failed_at))"
	" WHERE direction = 'out';\n"
	"CREATE INDEX consents_optout ON consents (org_id, at)"
	" WHERE status = 'withdrawn' AND source = 'whatsapp';\n"

	"CREATE TABLE analytics_unanswered ("
	" message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	" org_id TEXT NOT NULL,"
	" conversation_id TEXT NOT NULL,"
	" at INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX analytics_unanswered_org ON analytics_unanswered (org_id, at);\n"
	"CREATE TRIGGER analytics_inbox_new AFTER INSERT ON conversations BEGIN"
	M0008_NOTE_UNANSWERED
	" END;\n"
	"CREATE TRIGGER analytics_inbox_more AFTER UPDATE OF unread ON conversations"
	" WHEN NEW.unread = OLD.unread + 1 BEGIN"
	M0008_NOTE_UNANSWERED
	" END;\n";
/* clang-format on */

/* 0009: journey hand-offs in the inbox (core/conversation.c
 * conversation_handoff_tx, docs/inbox.md). A journey's handoff step opens
 * the contact's conversation for a team, so handoff may also be
 * "journey:<key>", and team and note say whom it is for and why (the note
 * is rendered from the journey's text and may name the person: erasure
 * clears it). SQLite cannot change a CHECK constraint in place: the column
 * is added again with the wider one, filled, and the old one dropped (no
 * index, trigger or foreign key names it). The analytics trigger on new
 * conversations now skips journey hand-offs: no message of the person went
 * unanswered there (the journey answered it, or started without one). */
/* clang-format off */
static const char m0009_handoff_team[] =
	"ALTER TABLE conversations ADD COLUMN handoff_new TEXT NOT NULL DEFAULT 'unhandled'"
	" CHECK (handoff_new IN ('button','unhandled') OR handoff_new GLOB 'journey:?*');\n"
	"UPDATE conversations SET handoff_new = handoff;\n"
	"ALTER TABLE conversations DROP COLUMN handoff;\n"
	"ALTER TABLE conversations RENAME COLUMN handoff_new TO handoff;\n"
	"ALTER TABLE conversations ADD COLUMN team TEXT;\n"
	"ALTER TABLE conversations ADD COLUMN note TEXT;\n"
	"DROP TRIGGER analytics_inbox_new;\n"
	"CREATE TRIGGER analytics_inbox_new AFTER INSERT ON conversations"
	" WHEN NEW.handoff NOT GLOB 'journey:*' BEGIN"
	M0008_NOTE_UNANSWERED
	" END;\n";
/* clang-format on */

/* 0010: segment performance (docs/segments.md "Performance"). An index on
 * contacts (org_id, language) lets a segment that names a language walk
 * only those contacts; the two contact_fields indexes get the type as a
 * last column, so a typed comparison ("f.type = 'number' AND f.value_num
 * >= ?") is answered from the index alone instead of one table look-up per
 * entry (0.5 s of the 0.55 s of "fields.visits >= 3" over 700,000 fields).
 * The names stay; the leading columns are the same, so every query that
 * used the old indexes can use the new ones. */
/* clang-format off */
static const char m0010_segment_indexes[] =
	"CREATE INDEX contacts_org_language ON contacts (org_id, language);\n"
	"DROP INDEX contact_fields_text;\n"
	"CREATE INDEX contact_fields_text ON contact_fields (org_id, key, value_text, type);\n"
	"DROP INDEX contact_fields_num;\n"
	"CREATE INDEX contact_fields_num ON contact_fields (org_id, key, value_num, type);\n";
/* clang-format on */

/* 0011: the language index holds only live contacts and carries the id.
 * Every segment asks for "c.erased_at IS NULL", so SQLite can take it; a
 * segment that names a language then reads the ids it probes tags, fields
 * and consents with from the index alone, without fetching each contact's
 * row (ru diabetes/visits over 1,000,000 contacts: 0.72 -> 0.40 s).
 * contacts_nonum holds the few live contacts without a number, so a
 * preview learns which of its contacts those are from a short list instead
 * of reading every contact's phone and wa_id. */
/* clang-format off */
static const char m0011_segment_live[] =
	"DROP INDEX contacts_org_language;\n"
	"CREATE INDEX contacts_org_language ON contacts (org_id, language, id)"
	" WHERE erased_at IS NULL;\n"
	"CREATE INDEX contacts_nonum ON contacts (org_id, id) WHERE erased_at IS NULL"
	" AND coalesce(phone, '') = '' AND coalesce(wa_id, '') = '';\n";
/* clang-format on */

const struct sqlite_migration sqlite_migrations[] = {
    {1, "foundation", m0001_foundation},
    {2, "outbox", m0002_outbox},
    {3, "contacts_audit", m0003_contacts_audit},
    {4, "decisions", m0004_decisions},
    {5, "agents_sessions", m0005_agents_sessions},
    {6, "journeys", m0006_journeys},
    {7, "inbox", m0007_inbox},
    {8, "analytics", m0008_analytics},
    {9, "handoff_team", m0009_handoff_team},
    {10, "segment_indexes", m0010_segment_indexes},
    {11, "segment_live_indexes", m0011_segment_live},
};

const size_t sqlite_migration_count = sizeof sqlite_migrations / sizeof sqlite_migrations[0];
