/*
 * test_agent.c — agent accounts, sign-in with its rate limit, and dashboard
 * sessions (core/agent.c, core/session.c) against a real SQLite store in a
 * temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/agent.h"
#include "core/org.h"
#include "core/session.h"
#include "store/store.h"

#define PW "correct horse battery"
#define T0 1795000000000LL /* a fixed "now" */

struct fx {
	char dir[64];
	struct store *st;
	char org[ID_SIZE];
	char agent[ID_SIZE];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/cw-agent-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char url[128];
	snprintf(url, sizeof url, "sqlite:%s/t.db", f->dir);
	if (sec_init() || store_open(url, &f->st) || store_migrate(f->st, NULL))
		return -1;
	if (store_check_statements(f->st))
		return -1;
	time_clock_set(T0);
	agent_login_reset();
	if (org_create(f->st, "Clinic", "clinic", "IL", NULL, NULL, f->org))
		return -1;
	if (agent_create(f->st, f->org, "Dana@Clinic.Example", "Dana", AGENT_ROLE_AGENT, PW,
			 f->agent))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_free(f->st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	time_clock_set(-1);
	return 0;
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(agent_role_parse("admin"), AGENT_ROLE_ADMIN);
	assert_int_equal(agent_role_parse("agent"), AGENT_ROLE_AGENT);
	assert_int_equal(agent_role_parse("viewer"), AGENT_ROLE_VIEWER);
	assert_int_equal(agent_role_parse("integration"), -1); /* an API-key role only */
	assert_int_equal(agent_role_parse("Admin"), -1);
	assert_int_equal(agent_role_parse(NULL), -1);
	assert_string_equal(agent_role_name(AGENT_ROLE_ADMIN), "admin");
	assert_string_equal(agent_role_name((enum agent_role)42), "viewer");
}

static void test_email_normalise(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} rows[] = {
	    {"Dana@Clinic.Example", "dana@clinic.example"},
	    {"  a.b+c@x.co  ", "a.b+c@x.co"},
	    {"a@b.c", "a@b.c"},
	    {"no-at.example", NULL},
	    {"@clinic.example", NULL},
	    {"a@", NULL},
	    {"a@b", NULL},  /* no dot in the domain */
	    {"a@b.", NULL}, /* nothing after the dot */
	    {"a@@b.c", NULL},
	    {"a b@c.d", NULL},
	    {"a@b\n.c", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	char out[AGENT_EMAIL_MAX + 1];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int rc = agent_email_normalise(rows[i].in, out);
		if (rows[i].out) {
			assert_int_equal(rc, 0);
			assert_string_equal(out, rows[i].out);
		} else {
			assert_int_equal(rc, CW_EINVAL);
		}
	}
	char longer[AGENT_EMAIL_MAX + 10];
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	memcpy(longer + 200, "@x.co", 5);
	assert_int_equal(agent_email_normalise(longer, out), CW_EINVAL);
}

static void test_create(void **state)
{
	struct fx *f = *state;
	char id[ID_SIZE];
	struct agent a;
	assert_int_equal(agent_get(f->st, f->agent, &a), 0);
	assert_string_equal(a.email, "dana@clinic.example");
	assert_string_equal(a.name, "Dana");
	assert_string_equal(a.org_id, f->org);
	assert_int_equal(a.role, AGENT_ROLE_AGENT);
	assert_int_equal(a.disabled, 0);
	assert_int_equal(a.last_login_at, 0);
	/* the same email in another case is the same account */
	assert_int_equal(
	    agent_create(f->st, f->org, "DANA@clinic.example", NULL, AGENT_ROLE_ADMIN, PW, id),
	    CW_ECONFLICT);
	assert_int_equal(agent_create(f->st, "01NOSUCHORG0000000000000000", "x@y.zz", NULL,
				      AGENT_ROLE_ADMIN, PW, id),
			 CW_ENOTFOUND);
	assert_int_equal(agent_create(f->st, f->org, "x@y.zz", NULL, AGENT_ROLE_ADMIN, "short", id),
			 CW_EINVAL);
	assert_int_equal(agent_create(f->st, f->org, "x@y.zz", NULL, (enum agent_role)7, PW, id),
			 CW_EINVAL);
	assert_int_equal(
	    agent_create(f->st, f->org, "not an email", NULL, AGENT_ROLE_ADMIN, PW, id), CW_EINVAL);
	assert_int_equal(agent_find_email(f->st, "nobody@clinic.example", &a), CW_ENOTFOUND);
	assert_int_equal(agent_find_email(f->st, " Dana@CLINIC.example", &a), 0);
	assert_string_equal(a.id, f->agent);
}

static int first_text(void *ud, const struct store_row *row)
{
	char **out = ud;
	const char *v = store_row_text(row, 0);
	*out = strdup(v ? v : "");
	return 1;
}

static void test_password_hashed(void **state)
{
	struct fx *f = *state;
	char *hash = NULL;
	struct store_val k[] = {SV_TEXT(f->agent)};
	assert_int_equal(store_query_sql(f->st, "SELECT pwhash FROM agents WHERE id = ?1", k, 1,
					 first_text, &hash),
			 1);
	assert_non_null(hash);
	assert_null(strstr(hash, PW));
	assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
	free(hash);
}

static void test_login(void **state)
{
	struct fx *f = *state;
	struct agent a;
	assert_int_equal(agent_login(f->st, "DANA@clinic.example", PW, &a), 0);
	assert_string_equal(a.id, f->agent);
	assert_int_equal(a.last_login_at, T0);
	struct agent again;
	assert_int_equal(agent_get(f->st, f->agent, &again), 0);
	assert_int_equal(again.last_login_at, T0);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW "x", &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "nobody@clinic.example", PW, &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "not an email", PW, &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", NULL, &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", "", &a), CW_EAUTH);
	/* disabled: the right password no longer signs in */
	assert_int_equal(agent_set_disabled(f->st, f->agent, 1), 0);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), CW_EAUTH);
	assert_int_equal(agent_set_disabled(f->st, f->agent, 0), 0);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), 0);
	assert_int_equal(agent_set_disabled(f->st, "01NOSUCHAGENT00000000000000", 1), CW_ENOTFOUND);
}

static void test_login_rate_limit(void **state)
{
	struct fx *f = *state;
	struct agent a;
	/* four failures, then a success: the count starts again */
	for (int i = 0; i < AGENT_LOGIN_FAILURES - 1; i++)
		assert_int_equal(agent_login(f->st, "dana@clinic.example", "wrong password", &a),
				 CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), 0);
	for (int i = 0; i < AGENT_LOGIN_FAILURES - 1; i++)
		assert_int_equal(agent_login(f->st, "dana@clinic.example", "wrong password", &a),
				 CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), 0);
	/* five in a row lock the email, whatever the case it is typed in */
	for (int i = 0; i < AGENT_LOGIN_FAILURES; i++)
		assert_int_equal(agent_login(f->st, "Dana@clinic.example", "wrong password", &a),
				 CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), CW_ERATE);
	/* another email is not locked */
	assert_int_equal(agent_login(f->st, "other@clinic.example", PW, &a), CW_EAUTH);
	/* nor is an unknown email spared: it locks the same way */
	for (int i = 0; i < AGENT_LOGIN_FAILURES - 1; i++)
		assert_int_equal(agent_login(f->st, "other@clinic.example", PW, &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "other@clinic.example", PW, &a), CW_ERATE);
	/* still locked just before the minute is over, free after it */
	time_clock_set(T0 + AGENT_LOGIN_LOCK_MS - 1);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), CW_ERATE);
	time_clock_set(T0 + AGENT_LOGIN_LOCK_MS);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), 0);
}

static int count_rows(void *ud, const struct store_row *row)
{
	(*(int64_t *)ud) = store_row_int(row, 0);
	return 1;
}

static int64_t sessions_count(struct store *st)
{
	int64_t n = -1;
	assert_true(store_query_sql(st, "SELECT count(*) FROM sessions", NULL, 0, count_rows, &n) >=
		    0);
	return n;
}

static void test_session(void **state)
{
	struct fx *f = *state;
	struct agent a;
	assert_int_equal(agent_get(f->st, f->agent, &a), 0);
	char sid[SESSION_ID_HEX + 1], sid2[SESSION_ID_HEX + 1];
	struct session s, got;
	assert_int_equal(session_create(f->st, &a, sid, &s), 0);
	assert_int_equal(strlen(sid), SESSION_ID_HEX);
	assert_int_equal(strlen(s.csrf), SESSION_CSRF_HEX);
	assert_int_equal(s.expires_at, T0 + SESSION_IDLE_MS);
	assert_int_equal(session_create(f->st, &a, sid2, &got), 0);
	assert_string_not_equal(sid, sid2);
	assert_string_not_equal(s.csrf, got.csrf);

	assert_int_equal(session_get(f->st, sid, &got), 0);
	assert_string_equal(got.agent_id, f->agent);
	assert_string_equal(got.org_id, f->org);
	assert_string_equal(got.email, "dana@clinic.example");
	assert_int_equal(got.role, AGENT_ROLE_AGENT);
	assert_string_equal(got.csrf, s.csrf);

	/* stored as its SHA-256 only */
	char hash[65], *stored = NULL;
	sec_sha256_hex(sid, SESSION_ID_HEX, hash);
	struct store_val k[] = {SV_TEXT(sid)};
	assert_int_equal(store_query_sql(f->st,
					 "SELECT id_hash FROM sessions WHERE id_hash = ?1 "
					 "OR csrf = ?1",
					 k, 1, first_text, &stored),
			 0);
	assert_null(stored);
	struct store_val h[] = {SV_TEXT(hash)};
	assert_int_equal(store_query_sql(f->st, "SELECT id_hash FROM sessions WHERE id_hash = ?1",
					 h, 1, first_text, &stored),
			 1);
	free(stored);

	/* malformed or unknown ids */
	assert_int_equal(session_get(f->st, NULL, &got), CW_EAUTH);
	assert_int_equal(session_get(f->st, "", &got), CW_EAUTH);
	assert_int_equal(session_get(f->st, hash, &got), CW_EAUTH); /* the stored form */
	char upper[SESSION_ID_HEX + 1];
	for (int i = 0; i <= SESSION_ID_HEX; i++)
		upper[i] = (char)(sid[i] >= 'a' && sid[i] <= 'f' ? sid[i] - 32 : sid[i]);
	if (strcmp(upper, sid) != 0)
		assert_int_equal(session_get(f->st, upper, &got), CW_EAUTH);
	char shorter[SESSION_ID_HEX];
	memcpy(shorter, sid, SESSION_ID_HEX - 1);
	shorter[SESSION_ID_HEX - 1] = '\0';
	assert_int_equal(session_get(f->st, shorter, &got), CW_EAUTH);

	/* CSRF */
	assert_int_equal(session_csrf_check(&s, s.csrf), 0);
	assert_int_equal(session_csrf_check(&s, NULL), CW_EFORBIDDEN);
	assert_int_equal(session_csrf_check(&s, ""), CW_EFORBIDDEN);
	char wrong[SESSION_CSRF_HEX + 1];
	snprintf(wrong, sizeof wrong, "%s", s.csrf);
	wrong[5] = wrong[5] == 'a' ? 'b' : 'a';
	assert_int_equal(session_csrf_check(&s, wrong), CW_EFORBIDDEN);
	assert_int_equal(session_csrf_check(&got, s.csrf), 0);

	/* sign-out ends only that session */
	assert_int_equal(session_end(f->st, sid2), 0);
	assert_int_equal(session_get(f->st, sid2, &got), CW_EAUTH);
	assert_int_equal(session_get(f->st, sid, &got), 0);
	assert_int_equal(session_end(f->st, "not-a-session"), 0);

	/* a disabled agent's sessions end; a new password ends them too */
	assert_int_equal(agent_set_disabled(f->st, f->agent, 1), 0);
	assert_int_equal(session_get(f->st, sid, &got), CW_EAUTH);
	assert_int_equal(agent_set_disabled(f->st, f->agent, 0), 0);
	assert_int_equal(session_create(f->st, &a, sid, &s), 0);
	assert_int_equal(agent_set_password(f->st, f->agent, "a brand new password"), 0);
	assert_int_equal(session_get(f->st, sid, &got), CW_EAUTH);
	assert_int_equal(agent_set_password(f->st, f->agent, "short"), CW_EINVAL);
	assert_int_equal(agent_set_password(f->st, "01NOSUCHAGENT00000000000000", PW),
			 CW_ENOTFOUND);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", PW, &a), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "dana@clinic.example", "a brand new password", &a), 0);
}

static void test_session_expiry(void **state)
{
	struct fx *f = *state;
	struct agent a;
	assert_int_equal(agent_get(f->st, f->agent, &a), 0);
	char sid[SESSION_ID_HEX + 1], idle[SESSION_ID_HEX + 1];
	struct session s, got;
	assert_int_equal(session_create(f->st, &a, sid, &s), 0);
	assert_int_equal(session_create(f->st, &a, idle, &s), 0);
	/* a request within the touch interval does not move the expiry */
	time_clock_set(T0 + SESSION_TOUCH_MS - 1);
	assert_int_equal(session_get(f->st, sid, &got), 0);
	assert_int_equal(got.expires_at, T0 + SESSION_IDLE_MS);
	/* used every 11 hours, a session lives on ... */
	int64_t now = T0;
	for (int i = 0; i < 4; i++) {
		now += 11LL * 3600 * 1000;
		time_clock_set(now);
		assert_int_equal(session_get(f->st, sid, &got), 0);
		assert_int_equal(got.expires_at, now + SESSION_IDLE_MS);
	}
	/* ... while one left alone for 12 hours ended, and is deleted */
	assert_int_equal(session_get(f->st, idle, &got), CW_EAUTH);
	assert_int_equal(sessions_count(f->st), 1);
	/* but never beyond SESSION_MAX_MS after sign-in */
	while (now + 11LL * 3600 * 1000 < T0 + SESSION_MAX_MS) {
		now += 11LL * 3600 * 1000;
		time_clock_set(now);
		assert_int_equal(session_get(f->st, sid, &got), 0);
		assert_true(got.expires_at <= T0 + SESSION_MAX_MS);
	}
	time_clock_set(T0 + SESSION_MAX_MS);
	assert_int_equal(session_get(f->st, sid, &got), CW_EAUTH);
	/* a new sign-in purges what expired */
	assert_int_equal(session_create(f->st, &a, idle, &s), 0);
	assert_int_equal(sessions_count(f->st), 1);
	assert_int_equal(session_purge(f->st), 0);
	time_clock_set(T0 + SESSION_MAX_MS + SESSION_IDLE_MS);
	assert_int_equal(session_purge(f->st), 0);
	assert_int_equal(sessions_count(f->st), 0);
}

static void test_demo_login(void **state)
{
	struct fx *f = *state;
	char pw1[32], pw2[32];
	struct agent a, b;
	assert_int_equal(agent_demo_login(f->st, f->org, "admin@demo.clinic", pw1, 8), CW_EINVAL);
	assert_int_equal(agent_demo_login(f->st, f->org, "admin@demo.clinic", pw1, sizeof pw1), 0);
	assert_int_equal(strlen(pw1), 16);
	assert_int_equal(agent_login(f->st, "admin@demo.clinic", pw1, &a), 0);
	assert_int_equal(a.role, AGENT_ROLE_ADMIN);
	char sid[SESSION_ID_HEX + 1];
	struct session s;
	assert_int_equal(session_create(f->st, &a, sid, &s), 0);
	/* the next start: the same account, a new password, old sessions end */
	assert_int_equal(agent_demo_login(f->st, f->org, "admin@demo.clinic", pw2, sizeof pw2), 0);
	assert_string_not_equal(pw1, pw2);
	assert_int_equal(session_get(f->st, sid, &s), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "admin@demo.clinic", pw1, &b), CW_EAUTH);
	assert_int_equal(agent_login(f->st, "admin@demo.clinic", pw2, &b), 0);
	assert_string_equal(a.id, b.id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_email_normalise),
	    cmocka_unit_test_setup_teardown(test_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password_hashed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_rate_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_demo_login, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
