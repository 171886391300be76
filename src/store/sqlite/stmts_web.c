/*
 * stmts_web.c — SQLite statements of the dashboard's sign-in: agent
 * accounts (core/agent.c) and their sessions (core/session.c).
 *
 * agent.insert         (w) id, org_id, email, name, role, pwhash, now
 * agent.get            id -> AGENT_COLS
 * agent.get_by_email   email (lower case) -> AGENT_COLS
 * agent.set_password   (w) id, pwhash, now (changes 0 when unknown)
 * agent.logged_in      (w) id, now — last_login_at
 * agent.set_disabled   (w) id, disabled (0|1), now (changes 0 when unknown)
 * session.insert       (w) id_hash, org_id, agent_id, csrf, now, expires_at
 * session.get          id_hash -> agent_id, org_id, csrf, created_at, seen_at, expires_at,
 *                      role, email, name, disabled (the agent as it is now)
 * session.touch        (w) id_hash, now, expires_at — slides the idle expiry
 * session.delete       (w) id_hash
 * session.delete_agent (w) agent_id — every session of one agent
 * session.purge        (w) now — every expired session
 *
 * AGENT_COLS: id, org_id, email, name, role, pwhash, disabled, created_at, last_login_at
 */
#include "store/sqlite/stmts.h"

#include <stddef.h>

#include "base/banned.h"

#define AGENT_COLS "id, org_id, email, name, role, pwhash, disabled, created_at, last_login_at"

const struct sqlite_stmt_def sqlite_stmts_web[] = {
    {"agent.insert",
     "INSERT INTO agents (id, org_id, email, name, role, pwhash, created_at, updated_at) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"},
    {"agent.get", "SELECT " AGENT_COLS " FROM agents WHERE id = ?1"},
    {"agent.get_by_email", "SELECT " AGENT_COLS " FROM agents WHERE email = ?1"},
    {"agent.set_password", "UPDATE agents SET pwhash = ?2, updated_at = ?3 WHERE id = ?1"},
    {"agent.logged_in", "UPDATE agents SET last_login_at = ?2 WHERE id = ?1"},
    {"agent.set_disabled", "UPDATE agents SET disabled = ?2, updated_at = ?3 WHERE id = ?1"},
    {"session.insert",
     "INSERT INTO sessions (id_hash, org_id, agent_id, csrf, created_at, seen_at, expires_at) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)"},
    {"session.get",
     "SELECT s.agent_id, s.org_id, s.csrf, s.created_at, s.seen_at, s.expires_at, a.role, "
     "a.email, a.name, a.disabled FROM sessions s JOIN agents a ON a.id = s.agent_id "
     "WHERE s.id_hash = ?1"},
    {"session.touch",
     "UPDATE sessions SET seen_at = ?2, expires_at = max(expires_at, ?3) WHERE id_hash = ?1"},
    {"session.delete", "DELETE FROM sessions WHERE id_hash = ?1"},
    {"session.delete_agent", "DELETE FROM sessions WHERE agent_id = ?1"},
    {"session.purge", "DELETE FROM sessions WHERE expires_at <= ?1"},
    {NULL, NULL},
};
