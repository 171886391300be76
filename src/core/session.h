/*
 * session.h — dashboard sessions: what a signed-in browser holds.
 *
 * A session id is SESSION_ID_BYTES random bytes, carried as hex in the
 * cw_session cookie and stored only as its SHA-256, so a copy of the
 * database signs no one in. A session ends after SESSION_IDLE_MS without a
 * request, and in any case SESSION_MAX_MS after sign-in; the idle expiry is
 * moved forward at most once per SESSION_TOUCH_MS so that browsing does not
 * cost a write per request. Each session has its own CSRF token, which
 * every changing request must echo in a header; it is compared in constant
 * time. The agent's role and disabled flag are read at every check, so a
 * change takes effect at the next request.
 *
 *	char sid[SESSION_ID_HEX + 1];
 *	struct session s;
 *	session_create(st, &agent, sid, &s);        -- Set-Cookie: cw_session=<sid>
 *	...
 *	if (session_get(st, cookie_value, &s) == 0 &&
 *	    session_csrf_check(&s, header_value) == 0) ... allowed
 */
#ifndef CW_SESSION_H
#define CW_SESSION_H

#include <stdint.h>

#include "core/agent.h"
#include "store/store.h"

#define SESSION_ID_BYTES   32
#define SESSION_ID_HEX	   (2 * SESSION_ID_BYTES)
#define SESSION_CSRF_BYTES 32
#define SESSION_CSRF_HEX   (2 * SESSION_CSRF_BYTES)
#define SESSION_IDLE_MS	   (12LL * 3600 * 1000)
#define SESSION_MAX_MS	   (7LL * 24 * 3600 * 1000)
#define SESSION_TOUCH_MS   60000

struct session {
	char agent_id[ID_SIZE];
	char org_id[ID_SIZE];
	enum agent_role role;
	char email[AGENT_EMAIL_MAX + 1];
	char name[AGENT_NAME_MAX + 1];
	char csrf[SESSION_CSRF_HEX + 1];
	int64_t created_at;
	int64_t expires_at;
};

/* Starts a session for agent a. Writes the new session id (the cookie
 * value, SESSION_ID_HEX chars) into sid and the session into out. Expired
 * sessions of every agent are purged on the way. Returns 0 or a store error. */
int session_create(struct store *st, const struct agent *a, char sid[SESSION_ID_HEX + 1],
		   struct session *out);

/* Looks up the session of a cookie value and slides its idle expiry.
 * Returns 0 and fills out, or CW_EAUTH when sid is malformed, unknown,
 * expired (then it is deleted) or its agent is disabled; or a store error. */
int session_get(struct store *st, const char *sid, struct session *out);

/* Compares token with the session's CSRF token in constant time. Returns 0
 * when they match, CW_EFORBIDDEN when token is NULL or differs. */
int session_csrf_check(const struct session *s, const char *token);

/* Ends the session of sid (sign-out). Unknown ids are not an error.
 * Returns 0 or a store error. */
int session_end(struct store *st, const char *sid);

/* Deletes every expired session. Returns 0 or a store error. */
int session_purge(struct store *st);

#endif
