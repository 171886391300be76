/*
 * agent.c — agent accounts and sign-in (see agent.h).
 *
 * Place: core/, below http/api_auth.c (which turns a sign-in into a session
 * cookie) and src/cli (agent create, the demo's login). Passwords are hashed
 * with argon2id through base/sec.h at the interactive limits: a sign-in is
 * an online operation, and the lock after AGENT_LOGIN_FAILURES is what
 * bounds guessing.
 */
#include "core/agent.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/org.h"
#include "base/banned.h"

static const char *const role_names[] = {"viewer", "agent", "admin"};
#define NROLES (sizeof role_names / sizeof role_names[0])

int agent_role_parse(const char *s)
{
	for (unsigned i = 0; s && i < NROLES; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *agent_role_name(enum agent_role r)
{
	return (unsigned)r < NROLES ? role_names[r] : "viewer";
}

int agent_email_normalise(const char *email, char out[AGENT_EMAIL_MAX + 1])
{
	if (!email)
		return CW_EINVAL;
	while (*email == ' ' || *email == '\t')
		email++;
	size_t n = strlen(email);
	while (n && (email[n - 1] == ' ' || email[n - 1] == '\t'))
		n--;
	if (n < 3 || n > AGENT_EMAIL_MAX)
		return CW_EINVAL;
	int at = -1, dot_after_at = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)email[i];
		if (c <= ' ' || c == 0x7f)
			return CW_EINVAL;
		if (c == '@') {
			if (at >= 0)
				return CW_EINVAL;
			at = (int)i;
		} else if (c == '.' && at >= 0 && (size_t)at + 1 < i && i + 1 < n) {
			dot_after_at = 1;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	out[n] = '\0';
	if (at < 1 || (size_t)at + 1 >= n || !dot_after_at)
		return CW_EINVAL;
	return 0;
}

int agent_password_ok(const char *password)
{
	size_t n = password ? strlen(password) : 0;
	return n >= AGENT_PASSWORD_MIN && n <= AGENT_PASSWORD_MAX ? 0 : CW_EINVAL;
}

int agent_create(struct store *st, const char *org_id, const char *email, const char *name,
		 enum agent_role role, const char *password, char id[ID_SIZE])
{
	char norm[AGENT_EMAIL_MAX + 1];
	struct org_info org;
	if ((unsigned)role >= NROLES || agent_email_normalise(email, norm) ||
	    agent_password_ok(password) || (name && strlen(name) > AGENT_NAME_MAX))
		return CW_EINVAL;
	int rc = org_get(st, org_id, &org);
	if (rc)
		return rc;
	char hash[SEC_PWHASH_MAX];
	rc = sec_pwhash(password, hash, 1);
	if (rc)
		return rc;
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(org_id),
				SV_TEXT(norm),
				SV_TEXT(name && *name ? name : NULL),
				SV_TEXT(agent_role_name(role)),
				SV_TEXT(hash),
				SV_INT(time_now_ms())};
	rc = store_exec(st, "agent.insert", a, 7, NULL);
	memset(hash, 0, sizeof hash);
	return rc;
}

int agent_set_password(struct store *st, const char *id, const char *password)
{
	if (agent_password_ok(password))
		return CW_EINVAL;
	char hash[SEC_PWHASH_MAX];
	int rc = sec_pwhash(password, hash, 1);
	if (rc)
		return rc;
	int64_t changes = 0;
	struct store_val a[] = {SV_TEXT(id), SV_TEXT(hash), SV_INT(time_now_ms())};
	rc = store_exec(st, "agent.set_password", a, 3, &changes);
	memset(hash, 0, sizeof hash);
	if (rc)
		return rc;
	if (changes == 0)
		return CW_ENOTFOUND;
	struct store_val d[] = {SV_TEXT(id)};
	return store_exec(st, "session.delete_agent", d, 1, NULL);
}

int agent_set_disabled(struct store *st, const char *id, int disabled)
{
	int64_t changes = 0;
	struct store_val a[] = {SV_TEXT(id), SV_INT(disabled ? 1 : 0), SV_INT(time_now_ms())};
	int rc = store_exec(st, "agent.set_disabled", a, 3, &changes);
	if (rc)
		return rc;
	if (changes == 0)
		return CW_ENOTFOUND;
	if (!disabled)
		return 0;
	struct store_val d[] = {SV_TEXT(id)};
	return store_exec(st, "session.delete_agent", d, 1, NULL);
}

/* ---- reading ---- */

struct agent_row {
	struct agent *a;
	char hash[SEC_PWHASH_MAX];
	int found;
};

static void copy_text(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

/* AGENT_COLS: id, org_id, email, name, role, pwhash, disabled, created_at, last_login_at */
static int agent_cb(void *ud, const struct store_row *row)
{
	struct agent_row *r = ud;
	struct agent *a = r->a;
	copy_text(a->id, sizeof a->id, store_row_text(row, 0));
	copy_text(a->org_id, sizeof a->org_id, store_row_text(row, 1));
	copy_text(a->email, sizeof a->email, store_row_text(row, 2));
	copy_text(a->name, sizeof a->name, store_row_text(row, 3));
	int role = agent_role_parse(store_row_text(row, 4));
	a->role = role < 0 ? AGENT_ROLE_VIEWER : (enum agent_role)role;
	copy_text(r->hash, sizeof r->hash, store_row_text(row, 5));
	a->disabled = store_row_int(row, 6) != 0;
	a->created_at = store_row_int(row, 7);
	a->last_login_at = store_row_is_null(row, 8) ? 0 : store_row_int(row, 8);
	r->found = 1;
	return 1;
}

static int read_agent(struct store *st, const char *stmt, const char *key, struct agent_row *r)
{
	struct store_val a[] = {SV_TEXT(key)};
	int rc = store_query(st, stmt, a, 1, agent_cb, r);
	if (rc < 0)
		return rc;
	return r->found ? 0 : CW_ENOTFOUND;
}

int agent_get(struct store *st, const char *id, struct agent *out)
{
	struct agent_row r = {.a = out};
	int rc = read_agent(st, "agent.get", id, &r);
	memset(r.hash, 0, sizeof r.hash);
	return rc;
}

int agent_find_email(struct store *st, const char *email, struct agent *out)
{
	char norm[AGENT_EMAIL_MAX + 1];
	if (agent_email_normalise(email, norm))
		return CW_ENOTFOUND;
	struct agent_row r = {.a = out};
	int rc = read_agent(st, "agent.get_by_email", norm, &r);
	memset(r.hash, 0, sizeof r.hash);
	return rc;
}

/* ---- sign-in and its rate limit ---- */

struct login_slot {
	char digest[65]; /* SHA-256 of the normalised email; "" when free */
	int failures;
	int64_t locked_until;
	int64_t seen;
};

static struct login_slot slots[AGENT_LOGIN_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

/* The slot of digest, or a free or reusable one claimed for it. Never NULL:
 * when every slot is locked the oldest is reused (the table is a bound on
 * memory, not a promise to remember every guesser). Under slots_mu. */
static struct login_slot *slot_for(const char *digest, int64_t now)
{
	struct login_slot *free_slot = NULL, *old_unlocked = NULL, *oldest = NULL;
	for (int i = 0; i < AGENT_LOGIN_SLOTS; i++) {
		struct login_slot *s = &slots[i];
		if (strcmp(s->digest, digest) == 0)
			return s;
		if (!s->digest[0]) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->locked_until <= now && (!old_unlocked || s->seen < old_unlocked->seen))
			old_unlocked = s;
		if (!oldest || s->seen < oldest->seen)
			oldest = s;
	}
	struct login_slot *v = free_slot ? free_slot : old_unlocked ? old_unlocked : oldest;
	snprintf(v->digest, sizeof v->digest, "%s", digest);
	v->failures = 0;
	v->locked_until = 0;
	v->seen = now;
	return v;
}

void agent_login_reset(void)
{
	pthread_mutex_lock(&slots_mu);
	memset(slots, 0, sizeof slots);
	pthread_mutex_unlock(&slots_mu);
}

/* A hash to verify against when the email is unknown, so that the answer
 * takes as long as for a known one. Made once. */
static char dummy_hash[SEC_PWHASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
	char pw[33];
	sec_random_hex(pw, 16);
	if (sec_pwhash(pw, dummy_hash, 1) != 0)
		dummy_hash[0] = '\0';
}

int agent_login(struct store *st, const char *email, const char *password, struct agent *out)
{
	char norm[AGENT_EMAIL_MAX + 1], digest[65];
	if (!password || strlen(password) > AGENT_PASSWORD_MAX ||
	    agent_email_normalise(email, norm))
		return CW_EAUTH;
	sec_sha256_hex(norm, strlen(norm), digest);
	int64_t now = time_now_ms();

	pthread_mutex_lock(&slots_mu);
	struct login_slot *s = slot_for(digest, now);
	s->seen = now;
	int locked = s->locked_until > now;
	pthread_mutex_unlock(&slots_mu);
	if (locked)
		return CW_ERATE;

	struct agent a;
	struct agent_row r = {.a = &a};
	int rc = read_agent(st, "agent.get_by_email", norm, &r);
	if (rc && rc != CW_ENOTFOUND) {
		memset(r.hash, 0, sizeof r.hash);
		return rc;
	}
	int ok;
	if (rc == CW_ENOTFOUND) {
		pthread_once(&dummy_once, dummy_make);
		(void)sec_pwhash_verify(dummy_hash, password);
		ok = 0;
	} else {
		ok = sec_pwhash_verify(r.hash, password) == 0 && !a.disabled;
	}
	memset(r.hash, 0, sizeof r.hash);

	pthread_mutex_lock(&slots_mu);
	s = slot_for(digest, now);
	if (ok) {
		s->failures = 0;
	} else if (++s->failures >= AGENT_LOGIN_FAILURES) {
		s->failures = 0;
		s->locked_until = now + AGENT_LOGIN_LOCK_MS;
	}
	int now_locked = s->locked_until > now;
	pthread_mutex_unlock(&slots_mu);
	if (!ok) {
		if (now_locked)
			log_warn("auth", "sign-in locked for %d s after %d failures",
				 AGENT_LOGIN_LOCK_MS / 1000, AGENT_LOGIN_FAILURES);
		return CW_EAUTH;
	}
	struct store_val t[] = {SV_TEXT(a.id), SV_INT(now)};
	rc = store_exec(st, "agent.logged_in", t, 2, NULL);
	if (rc)
		return rc;
	a.last_login_at = now;
	*out = a;
	return 0;
}

/* ---- the demo's login ---- */

int agent_demo_login(struct store *st, const char *org_id, const char *email, char *password,
		     size_t password_size)
{
	/* No 0/O, 1/l/I: the password is read off a terminal and typed. */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	enum { LEN = 16 };
	if (!password || password_size < LEN + 1)
		return CW_EINVAL;
	for (int i = 0; i < LEN; i++)
		password[i] = alphabet[sec_random_u32(sizeof alphabet - 1)];
	password[LEN] = '\0';
	struct agent a;
	int rc = agent_find_email(st, email, &a);
	if (rc == CW_ENOTFOUND) {
		char id[ID_SIZE];
		return agent_create(st, org_id, email, "Demo admin", AGENT_ROLE_ADMIN, password,
				    id);
	}
	if (rc)
		return rc;
	return agent_set_password(st, a.id, password);
}
