/*
 * session.c — dashboard sessions (see session.h).
 *
 * Place: core/, used by http/api_auth.c (sign-in, sign-out, who am I) and by
 * http/api.c (every /api/v1 request that carries the cookie instead of an
 * API key). Knows nothing of cookies or headers: it is given the values.
 */
#include "core/session.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/sec.h"
#include "base/time.h"
#include "base/banned.h"

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

static int64_t expiry(int64_t created, int64_t now)
{
	int64_t idle = now + SESSION_IDLE_MS, hard = created + SESSION_MAX_MS;
	return idle < hard ? idle : hard;
}

int session_purge(struct store *st)
{
	struct store_val a[] = {SV_INT(time_now_ms())};
	return store_exec(st, "session.purge", a, 1, NULL);
}

int session_create(struct store *st, const struct agent *a, char sid[SESSION_ID_HEX + 1],
		   struct session *out)
{
	int rc = session_purge(st);
	if (rc)
		return rc;
	char hash[65];
	struct session s;
	memset(&s, 0, sizeof s);
	sec_random_hex(sid, SESSION_ID_BYTES);
	sec_sha256_hex(sid, SESSION_ID_HEX, hash);
	sec_random_hex(s.csrf, SESSION_CSRF_BYTES);
	snprintf(s.agent_id, sizeof s.agent_id, "%s", a->id);
	snprintf(s.org_id, sizeof s.org_id, "%s", a->org_id);
	snprintf(s.email, sizeof s.email, "%s", a->email);
	snprintf(s.name, sizeof s.name, "%s", a->name);
	s.role = a->role;
	s.created_at = time_now_ms();
	s.expires_at = expiry(s.created_at, s.created_at);
	struct store_val v[] = {SV_TEXT(hash),	 SV_TEXT(s.org_id),    SV_TEXT(s.agent_id),
				SV_TEXT(s.csrf), SV_INT(s.created_at), SV_INT(s.expires_at)};
	rc = store_exec(st, "session.insert", v, 6, NULL);
	if (rc) {
		memset(sid, 0, SESSION_ID_HEX + 1);
		return rc;
	}
	*out = s;
	return 0;
}

struct session_row {
	struct session *s;
	int64_t seen_at;
	int disabled;
	int found;
};

/* agent_id, org_id, csrf, created_at, seen_at, expires_at, role, email, name, disabled */
static int session_cb(void *ud, const struct store_row *row)
{
	struct session_row *r = ud;
	struct session *s = r->s;
	const char *v;
	snprintf(s->agent_id, sizeof s->agent_id, "%s", (v = store_row_text(row, 0)) ? v : "");
	snprintf(s->org_id, sizeof s->org_id, "%s", (v = store_row_text(row, 1)) ? v : "");
	snprintf(s->csrf, sizeof s->csrf, "%s", (v = store_row_text(row, 2)) ? v : "");
	s->created_at = store_row_int(row, 3);
	r->seen_at = store_row_int(row, 4);
	s->expires_at = store_row_int(row, 5);
	int role = agent_role_parse(store_row_text(row, 6));
	s->role = role < 0 ? AGENT_ROLE_VIEWER : (enum agent_role)role;
	snprintf(s->email, sizeof s->email, "%s", (v = store_row_text(row, 7)) ? v : "");
	snprintf(s->name, sizeof s->name, "%s", (v = store_row_text(row, 8)) ? v : "");
	r->disabled = store_row_int(row, 9) != 0;
	r->found = 1;
	return 1;
}

int session_get(struct store *st, const char *sid, struct session *out)
{
	if (!sid || !is_lower_hex(sid, SESSION_ID_HEX))
		return CW_EAUTH;
	char hash[65];
	sec_sha256_hex(sid, SESSION_ID_HEX, hash);
	struct session s;
	memset(&s, 0, sizeof s);
	struct session_row r = {.s = &s};
	struct store_val k[] = {SV_TEXT(hash)};
	int rc = store_query(st, "session.get", k, 1, session_cb, &r);
	if (rc < 0)
		return rc;
	if (!r.found || r.disabled)
		return CW_EAUTH;
	int64_t now = time_now_ms();
	if (s.expires_at <= now) {
		(void)store_exec(st, "session.delete", k, 1, NULL);
		return CW_EAUTH;
	}
	if (now - r.seen_at >= SESSION_TOUCH_MS) {
		int64_t until = expiry(s.created_at, now);
		struct store_val t[] = {SV_TEXT(hash), SV_INT(now), SV_INT(until)};
		rc = store_exec(st, "session.touch", t, 3, NULL);
		if (rc)
			return rc;
		if (until > s.expires_at)
			s.expires_at = until;
	}
	*out = s;
	return 0;
}

int session_csrf_check(const struct session *s, const char *token)
{
	if (!s || !token || !s->csrf[0])
		return CW_EFORBIDDEN;
	return sec_streq(s->csrf, token) == 0 ? 0 : CW_EFORBIDDEN;
}

int session_end(struct store *st, const char *sid)
{
	if (!sid || !is_lower_hex(sid, SESSION_ID_HEX))
		return 0;
	char hash[65];
	sec_sha256_hex(sid, SESSION_ID_HEX, hash);
	struct store_val k[] = {SV_TEXT(hash)};
	return store_exec(st, "session.delete", k, 1, NULL);
}
