/*
 * agent.h — the people who sign in to the dashboard: agent accounts with an
 * email, a role and an argon2id password hash.
 *
 * Roles, from least to most: viewer (reads), agent (answers the inbox,
 * plays the sandbox), admin (everything). The HTTP layer maps them onto the
 * API-key roles of the same names, so one permission check serves both.
 *
 * Sign-in (agent_login) is rate-limited per email in memory: after
 * AGENT_LOGIN_FAILURES wrong passwords in a row the email is locked for
 * AGENT_LOGIN_LOCK_MS, wrong or right password alike, so a guesser gets a
 * handful of tries a minute. An unknown email costs the same argon2id
 * verification as a known one, so timing does not tell which emails exist.
 *
 *	char id[ID_SIZE];
 *	agent_create(st, org_id, "nurse@clinic.example", "Dana", AGENT_ROLE_AGENT, pw, id);
 *	struct agent a;
 *	if (agent_login(st, "Nurse@Clinic.example", pw, &a) == 0) ... signed in
 */
#ifndef CW_AGENT_H
#define CW_AGENT_H

#include <stdint.h>

#include "base/id.h"
#include "store/store.h"

#define AGENT_EMAIL_MAX	     254
#define AGENT_NAME_MAX	     200
#define AGENT_PASSWORD_MIN   10
#define AGENT_PASSWORD_MAX   1024
#define AGENT_LOGIN_FAILURES 5
#define AGENT_LOGIN_LOCK_MS  60000
/* Emails whose failures are remembered at once; the least recently seen
 * unlocked one makes room. */
#define AGENT_LOGIN_SLOTS 1024

enum agent_role { AGENT_ROLE_VIEWER = 0, AGENT_ROLE_AGENT, AGENT_ROLE_ADMIN };

struct agent {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char email[AGENT_EMAIL_MAX + 1]; /* lower case */
	char name[AGENT_NAME_MAX + 1];	 /* "" when none */
	enum agent_role role;
	int disabled;
	int64_t created_at;
	int64_t last_login_at; /* 0: never */
};

/* "admin", "agent", "viewer" → the role; -1 when unknown. */
int agent_role_parse(const char *s);
/* The role's name ("viewer" for an out-of-range value). Static string. */
const char *agent_role_name(enum agent_role r);

/* Normalises an email into out (AGENT_EMAIL_MAX + 1 bytes): trimmed of
 * surrounding spaces, ASCII lower case. Returns 0, or CW_EINVAL when it is
 * not of the shape local@domain (one '@', a dot in the domain, no spaces or
 * control characters) or is too long. */
int agent_email_normalise(const char *email, char out[AGENT_EMAIL_MAX + 1]);

/* Checks a new password: AGENT_PASSWORD_MIN to AGENT_PASSWORD_MAX bytes.
 * Returns 0 or CW_EINVAL. */
int agent_password_ok(const char *password);

/* Creates an agent of org_id (which must exist). name may be NULL. Writes
 * the new id into id. Returns 0, CW_EINVAL (bad email, role or password),
 * CW_ENOTFOUND (no such organisation) or CW_ECONFLICT (the email is taken). */
int agent_create(struct store *st, const char *org_id, const char *email, const char *name,
		 enum agent_role role, const char *password, char id[ID_SIZE]);

/* Replaces the password of agent id and ends every session of that agent.
 * Returns 0, CW_EINVAL (password) or CW_ENOTFOUND. */
int agent_set_password(struct store *st, const char *id, const char *password);

/* Disables (disabled != 0, and ends every session of the agent) or enables
 * agent id. A disabled agent cannot sign in. Returns 0 or CW_ENOTFOUND. */
int agent_set_disabled(struct store *st, const char *id, int disabled);

/* Reads an agent by id or by email (any case). Returns 0, CW_ENOTFOUND or a
 * store error. */
int agent_get(struct store *st, const char *id, struct agent *out);
int agent_find_email(struct store *st, const char *email, struct agent *out);

/* Checks email and password. Returns 0 and fills out (and records the
 * sign-in time); CW_EAUTH for an unknown email, a wrong password or a
 * disabled agent (one answer for all three); CW_ERATE while the email is
 * locked after too many failures. Thread-safe. */
int agent_login(struct store *st, const char *email, const char *password, struct agent *out);

/* Forgets every remembered failure (tests). */
void agent_login_reset(void);

/* For `carewire demo`: makes sure org_id has an admin with email, and gives
 * it a new random password written into password (at least 17 bytes; 16
 * characters are written). An existing agent with that email keeps its id
 * and gets the new password (its sessions end). Returns 0 or a cw_err. */
int agent_demo_login(struct store *st, const char *org_id, const char *email, char *password,
		     size_t password_size);

#endif
