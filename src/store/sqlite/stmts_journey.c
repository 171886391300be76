/*
 * stmts_journey.c — SQLite statements of journeys, runs, timers, events,
 * campaigns and their analytics (migration 0006; core/journey.c,
 * core/sched.c, core/events.c, core/campaign.c).
 *
 * Parameters are listed in order (?1, ?2 ...); "->" gives the result
 * columns. "(w)" statements write.
 *
 * journey.insert      (w) id, org_id, key, version, name, purpose, definition, digest,
 *                         created_at, created_by
 * journey.definition  id -> definition
 * journey.digest      id -> digest
 * journey.max_version org_id, key -> max(version) (0 when none)
 * journey.version     org_id, key, version -> id, version, name, purpose, definition,
 *                         created_at
 * journey.versions    org_id, key -> version, created_at, created_by (newest first)
 * journey.head        org_id, key -> current_id, version, status, hidden
 * journey.head_set    (w) org_id, key, current_id, version, status, hidden, now
 * journey.head_status (w) org_id, key, status, now
 * journey.list        org_id -> key, version, status, name, purpose, updated_at, live runs
 * journey.triggers_clear (w) org_id, key
 * journey.trigger_add (w) org_id, kind, match, key
 * journey.triggers_by org_id, kind, match -> match, key (active journeys only)
 * journey.triggers_kind org_id, kind -> match, key (active journeys only)
 * journey.contact     org_id, id -> name, language, time_zone, phone, wa_id, audience, sex,
 *                         birth_date, erased (0/1), fields JSON, tags JSON array,
 *                         consents JSON {purpose: status}
 * journey.contact_live org_id, id -> erased (0/1)
 * journey.contact_field_json (w) org_id, id, JSON path, JSON value, now
 * journey.untag       (w) contact_id, tag
 *
 * jrun.insert         (w) id, org_id, journey_id, key, version, contact_id, number_id,
 *                         campaign_id, subject, state, trigger, vars, event, now, end_reason
 * jrun.get            id -> RUN
 * jrun.update         (w) id, state, wait_kind, step, seq, due_at, last_send, vars,
 *                         negative, end_reason, ended_at, now, pending
 * jrun.list           org_id, key|NULL, contact_id|NULL, state|NULL, limit -> RUN
 * jrun.count_state    org_id, key -> state, count
 * jrun.live_subject   org_id, key, contact_id, subject -> id
 * jrun.reply_holder   contact_id, number_id -> id (the run waiting for a reply)
 * jrun.next_queued    contact_id, number_id -> id (the oldest queued run)
 * jrun.by_wamid       wamid -> run_id, step (the run and step that sent that message)
 * jrun.live_for_contact org_id, contact_id -> id, journey_id, subject
 * jrun.live_for_campaign org_id, campaign_id -> id (at most 256)
 * jrun.pending        id -> state, wait_kind, org_id, pending
 * jrun.erase_contact  (w) org_id, contact_id — variables, event data and pending calls
 *                         of the contact's runs emptied
 *   RUN = id, org_id, journey_id, key, version, contact_id, number_id, campaign_id,
 *         subject, state, wait_kind, step, seq, due_at, last_send, vars, event, pending,
 *         trigger, negative, end_reason, created_at, updated_at, ended_at
 *
 * jsend.insert        (w) org_id, run_id, key, version, step, campaign_id, contact_id,
 *                         message_id, outcome, reason, at
 * jevent.insert       (w) org_id, run_id, key, version, step, campaign_id, kind, detail, at
 * jresp.insert        (w) org_id, key, run_id, contact_id, campaign_id, step, name, value,
 *                         value_num, at
 * jresp.distribution  org_id, key -> name, value, count, numeric (0/1)
 * jresp.average       org_id, key -> name, average of the numeric answers
 * jresp.recent        org_id, key -> name, value, at (newest first, at most 200)
 * jresp.erase_contact (w) org_id, contact_id — answers' texts removed (numbers stay)
 * jstat.events        org_id, key, campaign_id|NULL -> step, kind, detail, count, runs
 * jstat.sends         org_id, key, campaign_id|NULL -> step, sent, delivered, read, failed
 * jstat.decisions     org_id, key, campaign_id|NULL -> step, outcome, reason, count
 * jstat.failures      org_id, key, campaign_id|NULL -> step, error_code, count
 * jstat.optouts       org_id, key, campaign_id|NULL -> step, contacts who opted out (or
 *                         stopped marketing) after that step's message and before any
 *                         later message of the journey
 * jstat.runs          org_id, key, campaign_id|NULL -> state, count
 *
 * timer.set           (w) kind, ref, org_id, due_at (insert or move; releases a hold)
 * timer.cancel        (w) kind, ref
 * timer.due           now, limit -> kind, ref, org_id, due_at (oldest first)
 * timer.next          -> min(due_at) of the timers not held
 * timer.delete_if     (w) kind, ref, due_at (only while it is still that due_at)
 * timer.retry         (w) kind, ref, due_at, new due_at
 * timer.count         kind -> count
 * timer.hold_campaign (w) org_id, campaign_id — the waiting runs' timers held
 * timer.release_campaign (w) org_id, campaign_id
 *
 * handoff.insert      (w) id, org_id, contact_id, number_id, run_id, team, note, now
 * handoff.list        org_id, team|NULL, limit -> id, contact_id, number_id, run_id, team,
 *                         note, created_at (open ones, oldest first)
 *
 * evt.insert          (w) id, org_id, type, source, external_id, contact_id, data,
 *                         occurred_at, received_at (changes 0: that external id was seen)
 * evt.by_external     org_id, source, external_id -> id, result
 * evt.set_result      (w) id, result
 * evt.list            org_id, limit -> id, type, source, external_id, contact_id,
 *                         occurred_at, received_at, result (newest first)
 *
 * integration.insert  (w) hash, org_id, kind, config, now
 * integration.by_hash hash -> org_id, kind, config (not revoked)
 * integration.revoke  (w) org_id, kind, now
 * integration.lead_contact org_id, field key, value -> contact id whose text field has
 *                         that value (the CRM's lead id)
 *
 * campaign.insert     (w) id, org_id, name, journey_key, segment, purpose, vars, settings,
 *                         status, created_by, now
 * campaign.get        org_id, id -> CAMPAIGN
 * campaign.list       org_id, limit -> CAMPAIGN (newest first)
 * campaign.status     id -> status
 * campaign.update     (w) id, status, phase, audience, canary_target, enrolled, cursor,
 *                         halted_reason, hold_until, started_at, ended_at, now
 * campaign.guard      campaign_id -> contacts sent to, messages attempted (sent or
 *                         failed), failed with 131026 or 131049, opted out after their
 *                         run started, runs with a negative reply
 * campaign.prefixes   org_id, JSON array of contact ids -> first 3 digits of the phone
 *                         after '+', count (the audience's countries)
 * campaign.total_contacts org_id -> live contacts
 * campaign.org_settings org_id -> settings (the price table lives there)
 * campaign.queued_messages campaign_id -> outbox ids still queued or deferred
 * campaign.live_runs  campaign_id -> runs not yet ended
 *   CAMPAIGN = id, org_id, name, journey_key, segment, purpose, vars, settings, status,
 *              phase, audience, canary_target, enrolled, cursor, halted_reason,
 *              hold_until, created_by, created_at, updated_at, started_at, ended_at
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

/* clang-format off */
#define RUN_COLS                                                                                  \
	"id, org_id, journey_id, key, version, contact_id, number_id, campaign_id, subject, "    \
	"state, wait_kind, step, seq, due_at, last_send, vars, event, pending, trigger, "        \
	"negative, end_reason, created_at, updated_at, ended_at"

#define CAMPAIGN_COLS                                                                             \
	"id, org_id, name, journey_key, segment, purpose, vars, settings, status, phase, "       \
	"audience, canary_target, enrolled, cursor, halted_reason, hold_until, created_by, "     \
	"created_at, updated_at, started_at, ended_at"

#define LIVE "('queued','running','waiting')"
#define BY_CAMPAIGN "(?3 IS NULL OR campaign_id = ?3)"

const struct sqlite_stmt_def sqlite_stmts_journey[] = {
	/* ---- definitions ---- */
	{"journey.insert",
	 "INSERT INTO journeys (id, org_id, key, version, name, purpose, definition, digest, "
	 "created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
	{"journey.definition", "SELECT definition FROM journeys WHERE id = ?1"},
	{"journey.digest", "SELECT digest FROM journeys WHERE id = ?1"},
	{"journey.max_version",
	 "SELECT coalesce(max(version), 0) FROM journeys WHERE org_id = ?1 AND key = ?2"},
	{"journey.version",
	 "SELECT id, version, name, purpose, definition, created_at FROM journeys "
	 "WHERE org_id = ?1 AND key = ?2 AND version = ?3"},
	{"journey.versions",
	 "SELECT version, created_at, created_by FROM journeys WHERE org_id = ?1 AND key = ?2 "
	 "ORDER BY version DESC"},
	{"journey.head",
	 "SELECT current_id, version, status, hidden FROM journey_heads "
	 "WHERE org_id = ?1 AND key = ?2"},
	{"journey.head_set",
	 "INSERT INTO journey_heads (org_id, key, current_id, version, status, hidden, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (org_id, key) DO UPDATE SET "
	 "current_id = excluded.current_id, version = excluded.version, status = excluded.status, "
	 "hidden = excluded.hidden, updated_at = excluded.updated_at"},
	{"journey.head_status",
	 "UPDATE journey_heads SET status = ?3, updated_at = ?4 WHERE org_id = ?1 AND key = ?2"},
	{"journey.list",
	 "SELECT h.key, h.version, h.status, j.name, j.purpose, h.updated_at, "
	 "(SELECT count(*) FROM journey_runs r WHERE r.org_id = h.org_id AND r.key = h.key "
	 "AND r.state IN " LIVE ") "
	 "FROM journey_heads h JOIN journeys j ON j.id = h.current_id "
	 "WHERE h.org_id = ?1 AND h.hidden = 0 ORDER BY h.key"},
	{"journey.triggers_clear", "DELETE FROM journey_triggers WHERE org_id = ?1 AND key = ?2"},
	{"journey.trigger_add",
	 "INSERT INTO journey_triggers (org_id, kind, match, key) VALUES (?1, ?2, ?3, ?4) "
	 "ON CONFLICT DO NOTHING"},
	{"journey.triggers_by",
	 "SELECT t.match, t.key FROM journey_triggers t JOIN journey_heads h "
	 "ON h.org_id = t.org_id AND h.key = t.key AND h.status = 'active' "
	 "WHERE t.org_id = ?1 AND t.kind = ?2 AND t.match = ?3 ORDER BY t.key"},
	{"journey.triggers_kind",
	 "SELECT t.match, t.key FROM journey_triggers t JOIN journey_heads h "
	 "ON h.org_id = t.org_id AND h.key = t.key AND h.status = 'active' "
	 "WHERE t.org_id = ?1 AND t.kind = ?2 ORDER BY t.key LIMIT 64"},
	{"journey.contact",
	 "SELECT c.name, c.language, c.time_zone, c.phone, c.wa_id, c.audience, c.sex, "
	 "c.birth_date, c.erased_at IS NOT NULL, c.fields, "
	 "(SELECT json_group_array(tag) FROM contact_tags WHERE contact_id = c.id), "
	 "(SELECT json_group_object(purpose, status) FROM consent_current "
	 " WHERE contact_id = c.id) "
	 "FROM contacts c WHERE c.org_id = ?1 AND c.id = ?2"},
	{"journey.contact_live",
	 "SELECT erased_at IS NOT NULL FROM contacts WHERE org_id = ?1 AND id = ?2"},
	{"journey.contact_field_json",
	 "UPDATE contacts SET fields = json_set(fields, ?3, json(?4)), updated_at = ?5 "
	 "WHERE org_id = ?1 AND id = ?2 AND erased_at IS NULL"},
	{"journey.untag", "DELETE FROM contact_tags WHERE contact_id = ?1 AND tag = ?2"},

	/* ---- runs ---- */
	{"jrun.insert",
	 "INSERT INTO journey_runs (id, org_id, journey_id, key, version, contact_id, number_id, "
	 "campaign_id, subject, state, trigger, vars, event, created_at, updated_at, end_reason) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15)"},
	{"jrun.get", "SELECT " RUN_COLS " FROM journey_runs WHERE id = ?1"},
	{"jrun.update",
	 "UPDATE journey_runs SET state = ?2, wait_kind = ?3, step = ?4, seq = ?5, due_at = ?6, "
	 "last_send = ?7, vars = ?8, negative = ?9, end_reason = ?10, ended_at = ?11, "
	 "updated_at = ?12, pending = ?13 WHERE id = ?1"},
	{"jrun.list",
	 "SELECT " RUN_COLS " FROM journey_runs WHERE org_id = ?1 AND (?2 IS NULL OR key = ?2) "
	 "AND (?3 IS NULL OR contact_id = ?3) AND (?4 IS NULL OR state = ?4) "
	 "ORDER BY created_at DESC, id DESC LIMIT ?5"},
	{"jrun.count_state",
	 "SELECT state, count(*) FROM journey_runs WHERE org_id = ?1 AND key = ?2 GROUP BY state"},
	{"jrun.live_subject",
	 "SELECT id FROM journey_runs WHERE org_id = ?1 AND key = ?2 AND contact_id = ?3 "
	 "AND subject = ?4 AND state IN " LIVE},
	{"jrun.reply_holder",
	 "SELECT id FROM journey_runs WHERE contact_id = ?1 AND number_id = ?2 "
	 "AND state = 'waiting' AND wait_kind = 'reply' ORDER BY updated_at DESC LIMIT 1"},
	{"jrun.next_queued",
	 "SELECT id FROM journey_runs WHERE contact_id = ?1 AND number_id = ?2 "
	 "AND state = 'queued' ORDER BY created_at, id LIMIT 1"},
	{"jrun.by_wamid",
	 "SELECT s.run_id, s.step FROM messages m JOIN journey_sends s ON s.message_id = m.id "
	 "WHERE m.wamid = ?1 LIMIT 1"},
	{"jrun.live_for_contact",
	 "SELECT id, journey_id, subject FROM journey_runs WHERE contact_id = ?2 AND org_id = ?1 "
	 "AND state IN " LIVE " ORDER BY created_at LIMIT 128"},
	{"jrun.live_for_campaign",
	 "SELECT id FROM journey_runs WHERE campaign_id = ?2 AND org_id = ?1 "
	 "AND state IN " LIVE " LIMIT 256"},
	{"jrun.pending",
	 "SELECT state, wait_kind, org_id, pending FROM journey_runs WHERE id = ?1"},
	{"jrun.erase_contact",
	 "UPDATE journey_runs SET vars = '{}', event = NULL, pending = NULL "
	 "WHERE org_id = ?1 AND contact_id = ?2"},

	/* ---- what runs did ---- */
	{"jsend.insert",
	 "INSERT INTO journey_sends (org_id, run_id, key, version, step, campaign_id, contact_id, "
	 "message_id, outcome, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
	{"jevent.insert",
	 "INSERT INTO journey_events (org_id, run_id, key, version, step, campaign_id, kind, "
	 "detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
	{"jresp.insert",
	 "INSERT INTO journey_responses (org_id, key, run_id, contact_id, campaign_id, step, name, "
	 "value, value_num, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
	{"jresp.distribution",
	 "SELECT name, CASE WHEN value_num IS NOT NULL THEN printf('%g', value_num) ELSE value END, "
	 "count(*), value_num IS NOT NULL FROM journey_responses WHERE org_id = ?1 AND key = ?2 "
	 "GROUP BY 1, 2, 4 ORDER BY 1, 2"},
	{"jresp.average",
	 "SELECT name, avg(value_num) FROM journey_responses WHERE org_id = ?1 AND key = ?2 "
	 "GROUP BY name"},
	{"jresp.recent",
	 "SELECT name, value, at FROM journey_responses WHERE org_id = ?1 AND key = ?2 "
	 "AND value IS NOT NULL ORDER BY at DESC, id DESC LIMIT 200"},
	{"jresp.erase_contact",
	 "UPDATE journey_responses SET value = NULL WHERE org_id = ?1 AND contact_id = ?2 "
	 "AND value_num IS NULL"},

	/* ---- analytics ---- */
	{"jstat.events",
	 "SELECT step, kind, detail, count(*), count(DISTINCT run_id) FROM journey_events "
	 "WHERE org_id = ?1 AND key = ?2 AND " BY_CAMPAIGN " GROUP BY step, kind, detail"},
	{"jstat.sends",
	 "SELECT s.step, "
	 "sum(m.sent_at IS NOT NULL OR m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL), "
	 "sum(m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL), sum(m.read_at IS NOT NULL), "
	 "sum(m.status = 'failed') "
	 "FROM journey_sends s JOIN messages m ON m.id = s.message_id "
	 "WHERE s.org_id = ?1 AND s.key = ?2 AND (?3 IS NULL OR s.campaign_id = ?3) "
	 "GROUP BY s.step"},
	{"jstat.decisions",
	 "SELECT step, outcome, reason, count(*) FROM journey_sends "
	 "WHERE org_id = ?1 AND key = ?2 AND " BY_CAMPAIGN " GROUP BY step, outcome, reason"},
	{"jstat.failures",
	 "SELECT s.step, m.error_code, count(*) "
	 "FROM journey_sends s JOIN messages m ON m.id = s.message_id "
	 "WHERE s.org_id = ?1 AND s.key = ?2 AND (?3 IS NULL OR s.campaign_id = ?3) "
	 "AND m.status = 'failed' GROUP BY s.step, m.error_code"},
	{"jstat.optouts",
	 "SELECT s.step, count(DISTINCT s.contact_id) FROM journey_sends s "
	 "JOIN contact_optout o ON o.contact_id = s.contact_id "
	 "WHERE s.org_id = ?1 AND s.key = ?2 AND (?3 IS NULL OR s.campaign_id = ?3) "
	 "AND s.message_id IS NOT NULL "
	 "AND ((o.opted_out = 1 AND o.opted_out_at >= s.at) "
	 "  OR (o.marketing_stopped = 1 AND o.marketing_stopped_at >= s.at)) "
	 "AND NOT EXISTS (SELECT 1 FROM journey_sends s2 WHERE s2.contact_id = s.contact_id "
	 "  AND s2.key = s.key AND s2.message_id IS NOT NULL AND s2.at > s.at "
	 "  AND s2.at <= max(coalesce(o.opted_out_at, 0), coalesce(o.marketing_stopped_at, 0))) "
	 "GROUP BY s.step"},
	{"jstat.runs",
	 "SELECT state, count(*) FROM journey_runs WHERE org_id = ?1 AND key = ?2 AND "
	 BY_CAMPAIGN " GROUP BY state"},

	/* ---- timers ---- */
	{"timer.set",
	 "INSERT INTO timers (kind, ref, org_id, due_at, held) VALUES (?1, ?2, ?3, ?4, 0) "
	 "ON CONFLICT (kind, ref) DO UPDATE SET org_id = excluded.org_id, "
	 "due_at = excluded.due_at, held = 0"},
	{"timer.cancel", "DELETE FROM timers WHERE kind = ?1 AND ref = ?2"},
	{"timer.due",
	 "SELECT kind, ref, org_id, due_at FROM timers WHERE held = 0 AND due_at <= ?1 "
	 "ORDER BY due_at LIMIT ?2"},
	{"timer.next", "SELECT min(due_at) FROM timers WHERE held = 0"},
	{"timer.delete_if", "DELETE FROM timers WHERE kind = ?1 AND ref = ?2 AND due_at = ?3"},
	{"timer.retry",
	 "UPDATE timers SET due_at = ?4 WHERE kind = ?1 AND ref = ?2 AND due_at = ?3"},
	{"timer.count", "SELECT count(*) FROM timers WHERE kind = ?1"},
	{"timer.hold_campaign",
	 "UPDATE timers SET held = 1 WHERE kind = 'journey' AND org_id = ?1 AND ref IN "
	 "(SELECT id FROM journey_runs WHERE campaign_id = ?2 AND state = 'waiting')"},
	{"timer.release_campaign",
	 "UPDATE timers SET held = 0 WHERE kind = 'journey' AND org_id = ?1 AND ref IN "
	 "(SELECT id FROM journey_runs WHERE campaign_id = ?2 AND state = 'waiting')"},

	/* ---- hand-offs ---- */
	{"handoff.insert",
	 "INSERT INTO handoffs (id, org_id, contact_id, number_id, run_id, team, note, created_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
	{"handoff.list",
	 "SELECT id, contact_id, number_id, run_id, team, note, created_at FROM handoffs "
	 "WHERE org_id = ?1 AND (?2 IS NULL OR team = ?2) AND closed_at IS NULL "
	 "ORDER BY created_at LIMIT ?3"},

	/* ---- events ---- */
	{"evt.insert",
	 "INSERT INTO events (id, org_id, type, source, external_id, contact_id, data, "
	 "occurred_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
	 "ON CONFLICT DO NOTHING"},
	{"evt.by_external",
	 "SELECT id, result FROM events WHERE org_id = ?1 AND source = ?2 AND external_id = ?3"},
	{"evt.set_result", "UPDATE events SET result = ?2 WHERE id = ?1"},
	{"evt.list",
	 "SELECT id, type, source, external_id, contact_id, occurred_at, received_at, result "
	 "FROM events WHERE org_id = ?1 ORDER BY received_at DESC, id DESC LIMIT ?2"},

	/* ---- integrations ---- */
	{"integration.insert",
	 "INSERT INTO integration_secrets (hash, org_id, kind, config, created_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5)"},
	{"integration.by_hash",
	 "SELECT org_id, kind, config FROM integration_secrets WHERE hash = ?1 "
	 "AND revoked_at IS NULL"},
	{"integration.revoke",
	 "UPDATE integration_secrets SET revoked_at = ?3 WHERE org_id = ?1 AND kind = ?2 "
	 "AND revoked_at IS NULL"},
	{"integration.lead_contact",
	 "SELECT f.contact_id FROM contact_fields f JOIN contacts c ON c.id = f.contact_id "
	 "WHERE f.org_id = ?1 AND f.key = ?2 AND f.value_text = ?3 AND c.erased_at IS NULL "
	 "LIMIT 1"},

	/* ---- campaigns ---- */
	{"campaign.insert",
	 "INSERT INTO campaigns (id, org_id, name, journey_key, segment, purpose, vars, settings, "
	 "status, created_by, created_at, updated_at) "
	 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"},
	{"campaign.get", "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE org_id = ?1 AND id = ?2"},
	{"campaign.list",
	 "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE org_id = ?1 "
	 "ORDER BY created_at DESC, id DESC LIMIT ?2"},
	{"campaign.status", "SELECT status FROM campaigns WHERE id = ?1"},
	{"campaign.update",
	 "UPDATE campaigns SET status = ?2, phase = ?3, audience = ?4, canary_target = ?5, "
	 "enrolled = ?6, cursor = ?7, halted_reason = ?8, hold_until = ?9, started_at = ?10, "
	 "ended_at = ?11, updated_at = ?12 WHERE id = ?1"},
	{"campaign.guard",
	 "SELECT "
	 "(SELECT count(DISTINCT contact_id) FROM journey_sends WHERE campaign_id = ?1 "
	 " AND message_id IS NOT NULL), "
	 "(SELECT count(*) FROM journey_sends s JOIN messages m ON m.id = s.message_id "
	 " WHERE s.campaign_id = ?1 AND (m.status = 'failed' OR m.sent_at IS NOT NULL "
	 " OR m.delivered_at IS NOT NULL)), "
	 "(SELECT count(*) FROM journey_sends s JOIN messages m ON m.id = s.message_id "
	 " WHERE s.campaign_id = ?1 AND m.status = 'failed' AND m.error_code IN (131026, 131049)), "
	 "(SELECT count(*) FROM journey_runs r JOIN contact_optout o ON o.contact_id = r.contact_id "
	 " WHERE r.campaign_id = ?1 AND ((o.opted_out = 1 AND o.opted_out_at >= r.created_at - ?2) "
	 " OR (o.marketing_stopped = 1 AND o.marketing_stopped_at >= r.created_at - ?2))), "
	 "(SELECT count(*) FROM journey_runs WHERE campaign_id = ?1 AND negative = 1)"},

	{"campaign.prefixes",
	 "SELECT substr(phone, 2, 3), count(*) FROM contacts WHERE org_id = ?1 "
	 "AND id IN (SELECT value FROM json_each(?2)) GROUP BY 1"},
	{"campaign.total_contacts",
	 "SELECT count(*) FROM contacts WHERE org_id = ?1 AND erased_at IS NULL"},
	{"campaign.org_settings", "SELECT settings FROM orgs WHERE id = ?1"},
	{"campaign.queued_messages",
	 "SELECT o.id FROM journey_sends s JOIN outbox o ON o.id = s.message_id "
	 "WHERE s.campaign_id = ?1 AND o.state IN ('queued','deferred')"},
	{"campaign.live_runs",
	 "SELECT count(*) FROM journey_runs WHERE campaign_id = ?1 AND state IN " LIVE},

	{NULL, NULL},
};
/* clang-format on */
