/*
 * test_segment.c — unit tests for core/segment: the query language's
 * parser (shape through the canonical form, precedence), every error with
 * its column, the SQL text and bound values, and the compiled SQL run on a
 * real in-memory SQLite database of 30 contacts in he/ru/en — in both
 * dialects (the PostgreSQL text runs on SQLite too: "$n" are named
 * parameters there, and ILIKE becomes LIKE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/segment.h"
#include "store/store.h"
#include "base/banned.h"

/* 2026-03-15T12:00:00Z */
#define NOW INT64_C(1773576000000)
#define DAY INT64_C(86400000)

static sqlite3 *db;

/* ---- the database -------------------------------------------------------- */

static const char *schema =
    "CREATE TABLE contacts(id TEXT PRIMARY KEY, org_id TEXT NOT NULL, phone TEXT, wa_id TEXT,"
    " raw_phone TEXT, name TEXT, language TEXT, time_zone TEXT, sex TEXT, birth_date TEXT,"
    " audience TEXT, fields TEXT, created_at INTEGER NOT NULL, updated_at INTEGER,"
    " last_seen INTEGER, last_inbound INTEGER, erased_at INTEGER, UNIQUE (org_id, phone));"
    "CREATE INDEX contacts_wa_id ON contacts (org_id, wa_id);"
    "CREATE INDEX contacts_org_live ON contacts (org_id, id) WHERE erased_at IS NULL;"
    "CREATE INDEX contacts_org_language ON contacts (org_id, language);"
    "CREATE TABLE contact_tags(org_id TEXT NOT NULL, contact_id TEXT NOT NULL, tag TEXT NOT NULL,"
    " PRIMARY KEY(contact_id, tag)) WITHOUT ROWID;"
    "CREATE TABLE contact_fields(org_id TEXT NOT NULL, contact_id TEXT NOT NULL,"
    " key TEXT NOT NULL, type TEXT NOT NULL, value_text TEXT, value_num REAL,"
    " PRIMARY KEY(contact_id, key)) WITHOUT ROWID;"
    "CREATE TABLE consent_current(org_id TEXT NOT NULL, contact_id TEXT NOT NULL,"
    " purpose TEXT NOT NULL, status TEXT NOT NULL, at INTEGER, consent_id TEXT,"
    " PRIMARY KEY(contact_id, purpose)) WITHOUT ROWID;"
    /* the indexes docs/segments.md asks for (as in store/sqlite/migrations.c) */
    "CREATE INDEX contact_tags_tag ON contact_tags(org_id, tag);"
    "CREATE INDEX contact_fields_text ON contact_fields(org_id, key, value_text, type);"
    "CREATE INDEX contact_fields_num ON contact_fields(org_id, key, value_num, type);"
    "CREATE INDEX consent_current_org ON consent_current(org_id, purpose, status);";

struct contact {
	const char *id, *org, *phone, *name, *lang, *sex, *birth, *audience;
	const char *created; /* "YYYY-MM-DD HH:MM:SS" UTC; NULL: 2025-06-01 10:00:00 */
	int64_t inbound_ago; /* ms before NOW; 0: NULL */
	int64_t seen_ago;    /* ms before NOW; 0: NULL */
	int erased;
};

static const struct contact contacts[] = {
    {"c01", "o1", "+972521000001", "Sarah Cohen", "en", "female", "1986-03-15", "recovered patient",
     NULL, 10 * DAY, 2 * DAY, 0},
    {"c02", "o1", "+972521000002", "שרה כהן", "he", "female", "1986-03-16", "recovered patient",
     NULL, 29 * DAY, 0, 0},
    {"c03", "o1", "+79161000003", "Ольга Коэн", "ru", "female", "1986-03-14", "recovered patient",
     NULL, 31 * DAY, 0, 0},
    {"c04", "o1", "+12025550104", "David COHEN", "en", "male", "1985-03-16", "patient", NULL,
     100 * DAY, 0, 0},
    {"c05", "o1", NULL, "מחוק", "he", "female", "1970-01-01", "recovered patient", NULL, 0, 0, 1},
    {"c06", "o1", "+79161000006", "Иван Петров", "ru", "male", "1985-03-15", "recovered patient",
     NULL, 0, 0, 0},
    {"c07", "o1", "+12025550107", "Mary Smith", "en", "female", NULL, "recovered patient", NULL, 0,
     0, 0},
    {"c08", "o1", "+79161000008", "Мария КОЭН", "ru", "female", "1950-07-01", "recovered patient",
     NULL, 0, 0, 0},
    {"c09", "o2", "+972521000009", "Sarah Cohen", "en", "female", "1986-03-15", "recovered patient",
     NULL, 10 * DAY, 0, 0},
    {"c10", "o1", "+972521000010", "דוד לוי", "he", "male", "2000-02-29", "patient", NULL, 0, 0, 0},
    {"c11", "o1", "+972521000011", "x' OR 1=1 --", "en", NULL, NULL, "patient", NULL, 0, 0, 0},
    {"c12", "o1", "+12025550112", "100% Pure_Joy", "en", NULL, NULL, "patient", NULL, 0, 0, 0},
    {"c13", "o1", "+972521000013", "רחל אברהם", "he", "female", "1990-01-01", "staff", NULL, 0, 0,
     0},
    {"c14", "o1", "+79161000014", "Алексей Смирнов", "ru", "male", "1980-05-05", "staff", NULL, 0,
     0, 0},
    {"c15", "o1", "+12025550115", "Nina Brown", "en", "female", NULL, "researcher", NULL, 0, 0, 0},
    {"c16", "o1", "+972521000016", "יעל מזרחי", "he", "female", NULL, "doctor", NULL, 0, 0, 0},
    {"c17", "o1", "+972521000017", "No Language", NULL, NULL, NULL, "patient", NULL, 0, 0, 0},
    {"c18", "o1", "+972521000018", "Created A", "en", NULL, NULL, NULL, "2025-12-31 23:59:59", 0, 0,
     0},
    {"c19", "o1", "+972521000019", "Created B", "en", NULL, NULL, NULL, "2026-01-01 00:00:00", 0, 0,
     0},
    {"c20", "o1", "+972521000020", "Created C", "en", NULL, NULL, NULL, "2026-01-01 23:59:59", 0, 0,
     0},
    {"c21", "o1", "+972521000021", "Created D", "en", NULL, NULL, NULL, "2026-01-02 00:00:00", 0, 0,
     0},
    {"c22", "o1", "+79161000022", "Пётр Ёжиков", "ru", "male", NULL, NULL, NULL, 0, 0, 0},
    {"c23", "o1", "+30691000023", "Σοφία Παπαδοπούλου", "en", "female", NULL, NULL, NULL, 0, 0, 0},
    {"c24", "o1", "+79161000024", "Анна Белова", "ru", "female", NULL, NULL, NULL, 0, 0, 0},
    {"c25", "o1", "+12025550125", "Consent W", "en", NULL, NULL, NULL, NULL, 0, 0, 0},
    {"c26", "o1", "+12025550126", "Consent R", "en", NULL, NULL, NULL, NULL, 0, 0, 0},
    {"c27", "o1", "+12025550127", "Consent G", "en", NULL, NULL, NULL, NULL, 0, 0, 0},
    {"c28", "o1", "+12025550128", "Seen Recently", "en", NULL, NULL, NULL, NULL, 0, 3600 * 1000, 0},
    {"c29", "o1", "+972521000029", "Rina Cohen-Levi", "he", "female", NULL, NULL, NULL, 0, 0, 0},
    {"c30", "o1", "+79161000030", "Борис", "ru", "male", NULL, NULL, NULL, 0, 0, 0},
};
#define NCONTACTS (sizeof(contacts) / sizeof(contacts[0]))

static const char *tags[][2] = {
    {"c01", "breast-cancer"}, {"c02", "breast-cancer"},
    {"c05", "breast-cancer"}, {"c09", "breast-cancer"},
    {"c08", "vip"},	      {"c10", "vip"},
    {"c24", "Онкология"},     {"c29", "breast-cancer-survivor"},
};

static const struct field {
	const char *id, *key, *type, *text;
	double num;
} fields[] = {
    {"c01", "radiation", "text", "completed", 0},
    {"c02", "radiation", "text", "completed", 0},
    {"c03", "radiation", "text", "ongoing", 0},
    {"c04", "radiation", "text", "completed", 0},
    {"c05", "radiation", "text", "completed", 0},
    {"c06", "radiation", "text", "completed", 0},
    {"c07", "radiation", "text", "completed", 0},
    {"c08", "radiation", "text", "completed", 0},
    {"c09", "radiation", "text", "completed", 0},
    {"c10", "visits", "number", NULL, 3},
    {"c13", "visits", "number", NULL, 1},
    {"c14", "visits", "number", NULL, 5},
    {"c15", "visits", "number", NULL, 2.5},
    {"c10", "vip", "bool", "true", 0},
    {"c16", "vip", "bool", "false", 0},
    {"c14", "last_visit", "date", "2025-09-14", 0},
    {"c15", "last_visit", "date", "2025-09-15", 0},
    {"c16", "last_visit", "date", "2025-10-01", 0},
    {"c30", "note", "text", "Любит УТРО, не вечер", 0},
    {"c30", "code", "text", "3", 0},
};

static const char *consents[][3] = {
    {"c01", "marketing", "granted"}, {"c01", "service", "granted"},
    {"c02", "marketing", "refused"}, {"c02", "results", "granted"},
    {"c03", "marketing", "granted"}, {"c04", "marketing", "granted"},
    {"c05", "marketing", "granted"}, {"c07", "marketing", "withdrawn"},
    {"c08", "marketing", "granted"}, {"c09", "marketing", "granted"},
    {"c25", "results", "withdrawn"}, {"c26", "results", "refused"},
    {"c27", "results", "granted"},
};

static int64_t utc_ms(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6)
		abort();
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) * 1000;
}

static const char *org_of(const char *id)
{
	for (size_t i = 0; i < NCONTACTS; i++)
		if (strcmp(contacts[i].id, id) == 0)
			return contacts[i].org;
	abort();
}

static void exec_sql(const char *sql, const char **vals, int n, const int64_t *ints,
		     const int *isint)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++) {
		if (isint && isint[i])
			sqlite3_bind_int64(st, i + 1, ints[i]);
		else if (vals[i])
			sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static int db_setup(void **state)
{
	(void)state;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	for (size_t i = 0; i < NCONTACTS; i++) {
		const struct contact *c = &contacts[i];
		int64_t created = utc_ms(c->created ? c->created : "2025-06-01 10:00:00");
		const char *v[12] = {c->id,   c->org, c->phone, c->name,
				     c->lang, c->sex, c->birth, c->audience};
		int64_t iv[12] = {0};
		int isint[12] = {0};
		iv[8] = created;
		isint[8] = 1;
		iv[9] = NOW - c->inbound_ago;
		isint[9] = c->inbound_ago != 0;
		iv[10] = NOW - c->seen_ago;
		isint[10] = c->seen_ago != 0;
		iv[11] = NOW - DAY;
		isint[11] = c->erased;
		exec_sql("INSERT INTO contacts(id, org_id, phone, name, language, sex, birth_date,"
			 " audience, created_at, last_inbound, last_seen, erased_at)"
			 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
			 v, 12, iv, isint);
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		const char *v[3] = {org_of(tags[i][0]), tags[i][0], tags[i][1]};
		exec_sql("INSERT INTO contact_tags(org_id, contact_id, tag) VALUES(?,?,?)", v, 3,
			 NULL, NULL);
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		sqlite3_stmt *st = NULL;
		assert_int_equal(
		    sqlite3_prepare_v2(db,
				       "INSERT INTO contact_fields(org_id, contact_id, key,"
				       " type, value_text, value_num) VALUES(?,?,?,?,?,?)",
				       -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(st, 1, org_of(f->id), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, f->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, f->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, f->type, -1, SQLITE_STATIC);
		if (f->text)
			sqlite3_bind_text(st, 5, f->text, -1, SQLITE_STATIC);
		if (strcmp(f->type, "number") == 0)
			sqlite3_bind_double(st, 6, f->num);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	for (size_t i = 0; i < sizeof(consents) / sizeof(consents[0]); i++) {
		const char *v[4] = {org_of(consents[i][0]), consents[i][0], consents[i][1],
				    consents[i][2]};
		exec_sql("INSERT INTO consent_current(org_id, contact_id, purpose, status, at,"
			 " consent_id) VALUES(?,?,?,?,0,'x')",
			 v, 4, NULL, NULL);
	}
	return 0;
}

static int db_teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	return 0;
}

/* ---- running compiled SQL ------------------------------------------------ */

static void bind_args(sqlite3_stmt *st, const struct segment_sql *s, int named)
{
	assert_int_equal(sqlite3_bind_parameter_count(st), (int)s->nargs);
	for (size_t i = 0; i < s->nargs; i++) {
		int idx = (int)i + 1;
		if (named) {
			char name[16];
			snprintf(name, sizeof(name), "$%d", idx);
			assert_string_equal(sqlite3_bind_parameter_name(st, idx), name);
		}
		const struct store_val *v = &s->args[i];
		switch (v->type) {
		case SV_T_TEXT:
			sqlite3_bind_text(st, idx, v->s, v->n ? (int)v->n : -1, SQLITE_STATIC);
			break;
		case SV_T_INT:
			sqlite3_bind_int64(st, idx, v->i);
			break;
		case SV_T_REAL:
			sqlite3_bind_double(st, idx, v->r);
			break;
		default:
			fail_msg("unexpected bound type %d", v->type);
		}
	}
}

/* The PostgreSQL text made runnable on SQLite: only ILIKE differs. */
static char *pg_on_sqlite(const char *sql)
{
	struct buf b;
	buf_init(&b, 0);
	const char *p = sql, *hit;
	while ((hit = strstr(p, " ILIKE ")) != NULL) {
		buf_append(&b, p, (size_t)(hit - p));
		buf_puts(&b, " LIKE ");
		p = hit + 7;
	}
	buf_puts(&b, p);
	return buf_detach(&b, NULL);
}

/* Runs the ids statement and the count statement of query in one dialect;
 * returns the ids joined by spaces (caller frees). */
static char *run_dialect(const struct segment *seg, const char *dialect, const char *org,
			 int64_t now, const char *after, int limit)
{
	int pg = strcmp(dialect, "postgres") == 0;
	struct segment_sql s;
	assert_int_equal(segment_select_ids_sql(seg, dialect, org, now, after, limit, &s), 0);
	char *sql = pg ? pg_on_sqlite(s.sql) : strdup(s.sql);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
	bind_args(st, &s, pg);
	struct buf out;
	buf_init(&out, 0);
	buf_puts(&out, "");
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			buf_putc(&out, ' ');
		buf_puts(&out, (const char *)sqlite3_column_text(st, 0));
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	free(sql);
	segment_sql_release(&s);

	if (!after) {
		assert_int_equal(segment_count_sql(seg, dialect, org, now, &s), 0);
		sql = pg ? pg_on_sqlite(s.sql) : strdup(s.sql);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		bind_args(st, &s, pg);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), n);
		sqlite3_finalize(st);
		free(sql);
		segment_sql_release(&s);
	}
	return buf_detach(&out, NULL);
}

static char *run_at(const char *query, int64_t now)
{
	struct segment *seg = NULL;
	struct segment_error e;
	if (segment_parse(query, &seg, &e) != 0)
		fail_msg("parse '%s': %s", query, e.message);
	char *a = run_dialect(seg, "sqlite", "o1", now, NULL, 1000);
	char *b = run_dialect(seg, "postgres", "o1", now, NULL, 1000);
	if (strcmp(a, b) != 0)
		fail_msg("'%s': sqlite gives '%s', postgres text gives '%s'", query, a, b);
	free(b);
	segment_free(seg);
	return a;
}

static void expect_at(const char *query, int64_t now, const char *want)
{
	char *got = run_at(query, now);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", query, got, want);
	free(got);
}

static void expect(const char *query, const char *want)
{
	expect_at(query, NOW, want);
}

/* Every live contact of o1 (not c05, erased; not c09, other org) except
 * the ids in but. */
static void expect_all_but(const char *query, const char *but)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "");
	for (size_t i = 0; i < NCONTACTS; i++) {
		const struct contact *c = &contacts[i];
		if (c->erased || strcmp(c->org, "o1") != 0 || strstr(but, c->id))
			continue;
		if (b.len)
			buf_putc(&b, ' ');
		buf_puts(&b, c->id);
	}
	expect(query, b.data);
	buf_release(&b);
}

/* ---- tests: running queries ---------------------------------------------- */

static void test_seed_example(void **state)
{
	(void)state;
	/* recovered patients who completed radiotherapy, with marketing
	 * consent: c02 refused, c03 still in radiotherapy, c04 not recovered,
	 * c05 erased, c06 no consent record, c07 withdrew, c09 other org */
	expect("audience = \"recovered patient\" AND fields.radiation = completed AND "
	       "consent.marketing = granted",
	       "c01 c08");
	expect("audience = 'recovered patient' and fields.radiation = \"completed\" and "
	       "consent.marketing = GRANTED",
	       "c01 c08");
}

static void test_tags(void **state)
{
	(void)state;
	expect("tag = \"breast-cancer\"", "c01 c02");
	expect("tag = breast-cancer", "c01 c02");
	expect("tag ~ cancer", "c01 c02 c29");
	expect("tag ~ \"ОНКО\"", "c24");
	expect_all_but("NOT tag = vip", "c08 c10");
	expect_all_but("tag != vip", "c08 c10");
}

static void test_age(void **state)
{
	(void)state;
	/* now is 2026-03-15: c01 turns 40 today, c02 tomorrow; c03 is 40 since
	 * yesterday; c04 turns 41 tomorrow; c06 turned 41 today */
	expect("age >= 40", "c01 c03 c04 c06 c08 c14");
	expect("age >= 40 AND sex = female", "c01 c03 c08");
	expect("age = 40", "c01 c03 c04");
	expect("age > 40", "c06 c08 c14");
	expect("age < 40", "c02 c10 c13");
	expect("age <= 40", "c01 c02 c03 c04 c10 c13");
	expect_all_but("age != 40", "c01 c03 c04");
	expect_all_but("NOT age >= 40", "c01 c03 c04 c06 c08 c14");
	expect("age = 0", "");
}

static void test_age_feb29(void **state)
{
	(void)state;
	/* c10 was born on 2000-02-29 */
	expect_at("age = 26", utc_ms("2026-02-28 12:00:00"), "");
	expect_at("age = 25", utc_ms("2026-02-28 12:00:00"), "c10");
	expect_at("age = 26", utc_ms("2026-03-01 00:00:00"), "c10");
	expect_at("age = 28", utc_ms("2028-02-29 08:00:00"), "c10");
	expect_at("age = 27", utc_ms("2028-02-28 23:59:59"), "c10");
}

static void test_times(void **state)
{
	(void)state;
	expect("last_inbound > -30d", "c01 c02");
	expect("last_inbound < -30d", "c03 c04");
	expect_all_but("NOT last_inbound > -30d", "c01 c02");
	/* a month before 2026-03-15 12:00 is 2026-02-15 12:00: c02 (-29d) is
	 * earlier */
	expect("last_inbound >= -1mo", "c01");
	expect("last_inbound >= -1M", "c01");
	expect("last_inbound > -4w", "c01");
	expect("last_seen > -1d", "c28");
	expect("last_seen > -2h", "c28");
	expect("last_seen > -59min", "");
	expect("last_seen < +1y AND last_seen > -3d", "c01 c28");
	/* a date is the whole UTC day */
	expect("created >= 2026-01-01", "c19 c20 c21");
	expect("created = 2026-01-01", "c19 c20");
	expect("created > 2026-01-01", "c21");
	expect_all_but("created <= 2026-01-01", "c21");
	expect_all_but("created < 2026-01-01", "c19 c20 c21");
	expect_all_but("created != 2026-01-01", "c19 c20");
	expect("birth_date < 1960-01-01", "c08");
	expect("birth_date = 2000-02-29", "c10");
	expect("birth_date >= -30y", "c10");
}

static void test_text(void **state)
{
	(void)state;
	expect("name ~ \"cohen\"", "c01 c04 c29");
	expect("name ~ COHEN", "c01 c04 c29");
	expect("name ~ \"КОЭН\"", "c03 c08");
	expect("name ~ \"коэн\"", "c03 c08");
	expect("name ~ \"כהן\"", "c02");
	expect("name ~ \"ёж\"", "c22");
	expect("name ~ \"ΣΟΦ\"", "c23");
	expect("name = \"Sarah Cohen\"", "c01");
	expect("name = \"sarah cohen\"", ""); /* = is exact */
	expect("name = \"שרה כהן\"", "c02");
	/* LIKE's wildcards are plain characters */
	expect("name ~ \"%\"", "c12");
	expect("name ~ \"_\"", "c12");
	expect("name ~ \"0% p\"", "c12");
	expect("language = he", "c02 c10 c13 c16 c29");
	expect("language = HE", "c02 c10 c13 c16 c29");
	expect_all_but("language != he", "c02 c10 c13 c16 c29"); /* c17 has none */
	expect_all_but("NOT language = he", "c02 c10 c13 c16 c29");
	expect("audience = staff", "c13 c14");
	expect("sex = Male AND language = ru", "c06 c14 c22 c30");
}

static void test_phone(void **state)
{
	(void)state;
	expect("phone ~ \"+7916\"", "c03 c06 c08 c14 c22 c24 c30");
	expect("phone ~ \"202-555-01\"", "c04 c07 c12 c15 c25 c26 c27 c28");
	expect("phone = \"+972 52-100-0001\"", "c01");
	expect("phone = +972521000001", "c01");
}

static void test_consent(void **state)
{
	(void)state;
	expect("consent.marketing = granted", "c01 c03 c04 c08");
	expect_all_but("consent.results != granted", "c02 c27");
	expect_all_but("consent.results = none", "c02 c25 c26 c27");
	expect("consent.results != none", "c02 c25 c26 c27");
	expect("consent.results = refused", "c26");
	expect("consent.results = withdrawn", "c25");
	expect("consent.Marketing = Withdrawn", "c07");
	expect("consent.service = granted AND consent.marketing = granted", "c01");
}

static void test_fields(void **state)
{
	(void)state;
	expect("fields.visits >= 3", "c10 c14");
	expect("fields.visits < 3", "c13 c15");
	expect("fields.visits = 2.5", "c15");
	expect("fields.visits > -1", "c10 c13 c14 c15");
	expect_all_but("NOT fields.visits >= 3", "c10 c14");
	/* 6 months before 2026-03-15 is 2025-09-15 */
	expect("fields.last_visit < -6mo", "c14");
	expect("fields.last_visit <= -6M", "c14 c15");
	expect("fields.last_visit >= 2025-09-15", "c15 c16");
	expect("fields.last_visit = 2025-10-01", "c16");
	expect("fields.vip = true", "c10");
	expect("fields.vip = FALSE", "c16");
	expect_all_but("fields.vip != true", "c10");
	expect("fields.note ~ \"утро\"", "c30");
	expect("fields.note ~ \"Утро, НЕ\"", "c30");
	expect("fields.code = 3", "");	      /* a number; the field is text */
	expect("fields.code = \"3\"", "c30"); /* quoted: text */
	expect("fields.radiation != completed AND audience = \"recovered patient\"", "c03");
	expect("fields.nosuchkey = x", "");
}

static void test_logic(void **state)
{
	(void)state;
	expect("tag = vip OR audience = staff AND language = ru", "c08 c10 c14");
	expect("(tag = vip OR audience = staff) AND language = ru", "c08 c14");
	expect("tag = vip or tag = breast-cancer and not language = he", "c01 c08 c10");
	expect("NOT (tag = vip OR audience = staff) AND language = ru", "c03 c06 c22 c24 c30");
	expect("NOT NOT tag = vip", "c08 c10");
	expect("((((tag = vip))))", "c08 c10");
	expect("tag = vip AND NOT tag = vip", "");
	expect_all_but("tag = vip OR NOT tag = vip", "");
}

static void test_injection(void **state)
{
	(void)state;
	const char *q = "name = \"x' OR 1=1 --\"";
	/* the name is data: it finds the one contact called that */
	expect(q, "c11");
	expect("name = \"x' OR '1'='1\"", "");
	expect("name ~ \"'; DROP TABLE contacts; --\"", "");
}

static void test_paging(void **state)
{
	(void)state;
	struct segment *seg = NULL;
	struct segment_error e;
	assert_int_equal(segment_parse("audience = patient", &seg, &e), 0);
	char *all = run_dialect(seg, "sqlite", "o1", NOW, NULL, 1000);
	assert_string_equal(all, "c04 c10 c11 c12 c17");
	char *page = run_dialect(seg, "sqlite", "o1", NOW, "c05", 3);
	assert_string_equal(page, "c10 c11 c12");
	char *pg = run_dialect(seg, "postgres", "o1", NOW, "c11", 3);
	assert_string_equal(pg, "c12 c17");
	char *other = run_dialect(seg, "sqlite", "o2", NOW, NULL, 1000);
	assert_string_equal(other, "");
	free(all);
	free(page);
	free(pg);
	free(other);
	struct segment_sql s;
	assert_int_equal(segment_select_ids_sql(seg, "sqlite", "o1", NOW, NULL, 0, &s), CW_EINVAL);
	segment_sql_release(&s);
	segment_free(seg);
}

/* The compiled SQL asks SQLite, in database d, for the index it was
 * written for: the per-contact tables are searched through their
 * (org_id, ...) index and contacts by primary key. */
static void check_index_use(sqlite3 *d)
{
	static const struct {
		const char *query, *index;
	} cases[] = {
	    {"tag = vip", "contact_tags_tag"},
	    {"fields.radiation = completed", "contact_fields_text"},
	    {"fields.visits >= 3", "contact_fields_num"},
	    {"fields.last_visit < -6mo", "contact_fields_text"},
	    {"consent.marketing = granted", "consent_current_org"},
	    {"tag = a OR tag = b", "contact_tags_tag"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct segment *seg = NULL;
		struct segment_error e;
		struct segment_sql s;
		assert_int_equal(segment_parse(cases[i].query, &seg, &e), 0);
		assert_int_equal(segment_count_sql(seg, "sqlite", "o1", NOW, &s), 0);
		struct buf q;
		buf_init(&q, 0);
		buf_printf(&q, "EXPLAIN QUERY PLAN %s", s.sql);
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(d, q.data, -1, &st, NULL) != SQLITE_OK)
			fail_msg("prepare %s: %s", s.sql, sqlite3_errmsg(d));
		bind_args(st, &s, 0);
		int found = 0, by_id = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			if (strstr(detail, cases[i].index))
				found = 1;
			/* the primary key, or contacts_org_live (org_id, id) */
			if (strncmp(detail, "SEARCH c USING INDEX ", 21) == 0 &&
			    (strstr(detail, "(id=?)") || strstr(detail, "AND id=?)")))
				by_id = 1;
		}
		if (!found || !by_id)
			fail_msg("'%s' does not use %s and the contacts primary key",
				 cases[i].query, cases[i].index);
		sqlite3_finalize(st);
		buf_release(&q);
		segment_sql_release(&s);
		segment_free(seg);
	}
}

static void test_index_use(void **state)
{
	(void)state;
	check_index_use(db);
}

/* The compiled SQL against the schema the store really creates
 * (store/sqlite/migrations.c): it prepares, runs, uses the indexes there,
 * and the seed example finds its contact. */
static void test_real_schema(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_segment_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64], url[80];
	snprintf(path, sizeof(path), "%s/cw.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	struct store *st = NULL;
	assert_int_equal(store_open(url, &st), 0);
	assert_int_equal(store_migrate(st, NULL), 0);
	store_free(st);

	sqlite3 *d = NULL;
	assert_int_equal(sqlite3_open(path, &d), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(d,
			 "INSERT INTO orgs(id, name, kind, region, created_at)"
			 " VALUES('o1', 'Clinic', 'clinic', 'IL', 0);"
			 "INSERT INTO contacts(id, org_id, phone, name, language, birth_date,"
			 " audience, created_at, updated_at) VALUES"
			 " ('k1', 'o1', '+972521234567', 'Sarah Cohen', 'en', '1970-05-01',"
			 "  'recovered patient', 0, 0),"
			 " ('k2', 'o1', '+972521234568', 'Ольга Коэн', 'ru', NULL,"
			 "  'recovered patient', 0, 0);"
			 "INSERT INTO contact_tags(org_id, contact_id, tag) VALUES"
			 " ('o1', 'k1', 'breast-cancer');"
			 "INSERT INTO contact_fields(org_id, contact_id, key, type, value_text)"
			 " VALUES ('o1', 'k1', 'radiation', 'text', 'completed'),"
			 " ('o1', 'k2', 'radiation', 'text', 'completed');"
			 "INSERT INTO consents(org_id, contact_id, purpose, status, source, at)"
			 " VALUES ('o1', 'k1', 'marketing', 'granted', 'paper', 1),"
			 " ('o1', 'k2', 'marketing', 'granted', 'paper', 1),"
			 " ('o1', 'k2', 'marketing', 'withdrawn', 'whatsapp', 2);",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3 *saved = db;
	db = d;
	expect("audience = \"recovered patient\" AND fields.radiation = completed AND "
	       "consent.marketing = granted",
	       "k1");
	expect("tag = breast-cancer AND age >= 55 AND name ~ cohen", "k1");
	expect("name ~ \"КОЭН\" AND consent.marketing = withdrawn", "k2");
	check_index_use(d);
	db = saved;
	sqlite3_close(d);
	unlink(path);
	char wal[80];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	rmdir(dir);
}

/* ---- tests: the parser and the SQL text ---------------------------------- */

static void expect_form(const char *query, const char *want)
{
	struct segment *seg = NULL, *again = NULL;
	struct segment_error e;
	if (segment_parse(query, &seg, &e) != 0)
		fail_msg("parse '%s': %s", query, e.message);
	struct buf b, b2;
	buf_init(&b, 0);
	buf_init(&b2, 0);
	assert_int_equal(segment_format(seg, &b), 0);
	if (strcmp(b.data, want) != 0)
		fail_msg("'%s' formats as '%s', want '%s'", query, b.data, want);
	/* the canonical form parses back to itself */
	if (segment_parse(b.data, &again, &e) != 0)
		fail_msg("reparse '%s': %s", b.data, e.message);
	assert_int_equal(segment_format(again, &b2), 0);
	assert_string_equal(b2.data, b.data);
	buf_release(&b);
	buf_release(&b2);
	segment_free(seg);
	segment_free(again);
}

static void test_parse_shapes(void **state)
{
	(void)state;
	expect_form("tag = a OR tag = b AND tag = c",
		    "(tag = \"a\" OR (tag = \"b\" AND tag = \"c\"))");
	expect_form("tag = a AND tag = b OR tag = c",
		    "((tag = \"a\" AND tag = \"b\") OR tag = \"c\")");
	expect_form("NOT tag = a AND tag = b", "(NOT (tag = \"a\") AND tag = \"b\")");
	expect_form("NOT (tag = a OR tag = b)", "NOT (tag = \"a\" OR tag = \"b\")");
	expect_form("tag = a AND (tag = b OR tag = c)",
		    "(tag = \"a\" AND (tag = \"b\" OR tag = \"c\"))");
	expect_form("tag = a and tag = b and tag = c",
		    "((tag = \"a\" AND tag = \"b\") AND tag = \"c\")");
	expect_form("not not tag = a", "NOT NOT (tag = \"a\")");
	expect_form("AGE>=40", "age >= 40");
	expect_form("age>=+40", "age >= 40");
	expect_form("name~\"Co\\\"h\\\\en\"", "name ~ \"co\\\"h\\\\en\"");
	expect_form("name = 'it\\'s'", "name = \"it's\"");
	expect_form("name = \"\"", "name = \"\"");
	expect_form("Sex = Female", "sex = \"female\"");
	expect_form("audience = \"Recovered Patient\"", "audience = \"Recovered Patient\"");
	expect_form("phone = \"+972 (52) 123-4567\"", "phone = \"+972521234567\"");
	expect_form("last_inbound > -30D", "last_inbound > -30d");
	expect_form("fields.last_visit < -6M", "fields.last_visit < -6mo");
	expect_form("birth_date <= +2y", "birth_date <= +2y");
	expect_form("created >= TODAY", "created >= today");
	expect_form("consent.RESULTS != Granted", "consent.results != granted");
	expect_form("consent.survEYs = NONE", "consent.surveys = none");
	expect_form("fields.visits >= 3", "fields.visits >= 3");
	expect_form("fields.Visits >= +3.50", "fields.Visits >= 3.50");
	expect_form("fields.vip = TRUE", "fields.vip = true");
	expect_form("fields.x = yes", "fields.x = \"yes\"");
	expect_form("fields.x = 2026-01-31", "fields.x = 2026-01-31");
	expect_form("fields.x = \"2026-01-31\"", "fields.x = \"2026-01-31\"");
	expect_form("fields.x ~ 12", "fields.x ~ \"12\"");
	expect_form("fields.רדיוס = כן", "fields.רדיוס = \"כן\"");
	expect_form("tag = онкология", "tag = \"онкология\"");
	expect_form("\tname\n~\r\"Ж\" ", "name ~ \"ж\"");
	/* NFC: e + combining acute equals é */
	expect_form("name = \"Rene\xcc\x81\"", "name = \"Ren\xc3\xa9\"");
}

static void expect_where(const char *query, const char *dialect, const char *want_where,
			 const char *want_args)
{
	struct segment *seg = NULL;
	struct segment_error e;
	struct segment_sql s;
	if (segment_parse(query, &seg, &e) != 0)
		fail_msg("parse '%s': %s", query, e.message);
	assert_int_equal(segment_compile(seg, dialect, "o1", NOW, &s), 0);
	assert_null(s.sql);
	if (strcmp(s.where, want_where) != 0)
		fail_msg("'%s' (%s) compiles to\n  %s\nwant\n  %s", query, dialect, s.where,
			 want_where);
	struct buf a;
	buf_init(&a, 0);
	buf_puts(&a, "");
	for (size_t i = 0; i < s.nargs; i++) {
		if (i)
			buf_putc(&a, '|');
		if (s.args[i].type == SV_T_TEXT)
			buf_puts(&a, s.args[i].s);
		else if (s.args[i].type == SV_T_INT)
			buf_printf(&a, "%lld", (long long)s.args[i].i);
		else if (s.args[i].type == SV_T_REAL)
			buf_printf(&a, "%g", s.args[i].r);
	}
	if (strcmp(a.data, want_args) != 0)
		fail_msg("'%s' binds '%s', want '%s'", query, a.data, want_args);
	buf_release(&a);
	segment_sql_release(&s);
	segment_free(seg);
}

#define HEAD   "+c.org_id = ? AND c.erased_at IS NULL AND "
/* with a conjunct SQLite can drive from (segment.c drives()) */
#define DHEAD  "c.org_id = ? AND c.erased_at IS NULL AND "
#define PGHEAD "c.org_id = $1 AND c.erased_at IS NULL AND "

static void test_sql_text(void **state)
{
	(void)state;
	expect_where("tag = vip", "sqlite",
		     DHEAD "c.id IN (SELECT t.contact_id FROM contact_tags t WHERE t.org_id = ? AND "
			  "t.tag = ?)",
		     "o1|o1|vip");
	expect_where("tag = vip", "postgres",
		     PGHEAD "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND "
			    "t.tag = $2)",
		     "o1|vip");
	expect_where("age >= 40", "sqlite", HEAD "(c.birth_date <= ?)", "o1|1986-03-15");
	expect_where("age > 40", "sqlite", HEAD "(c.birth_date <= ?)", "o1|1985-03-15");
	expect_where("age < 40", "sqlite", HEAD "(c.birth_date > ?)", "o1|1986-03-15");
	expect_where("age <= 40", "sqlite", HEAD "(c.birth_date > ?)", "o1|1985-03-15");
	expect_where("age = 40", "sqlite", HEAD "(c.birth_date > ? AND c.birth_date <= ?)",
		     "o1|1985-03-15|1986-03-15");
	expect_where("age != 40", "postgres",
		     PGHEAD "NOT (c.birth_date IS NOT NULL AND c.birth_date > $2 AND "
			    "c.birth_date <= $3)",
		     "o1|1985-03-15|1986-03-15");
	expect_where("NOT name = x", "sqlite", HEAD "NOT (c.name IS NOT NULL AND c.name = ?)",
		     "o1|x");
	expect_where("NOT NOT name = x", "sqlite", HEAD "NOT NOT (c.name = ?)", "o1|x");
	expect_where("last_inbound > -30d", "sqlite", HEAD "(c.last_inbound > ?)",
		     "o1|1770984000000");
	expect_where("created = 2026-01-01", "sqlite",
		     HEAD "(c.created_at >= ? AND c.created_at < ?)",
		     "o1|1767225600000|1767312000000");
	expect_where("name ~ \"Коэн\"", "sqlite",
		     HEAD "(replace(replace(replace(replace(c.name, ?, ?), ?, ?), ?, ?), ?, ?) "
			  "LIKE ? ESCAPE '\\')",
		     "o1|К|к|О|о|Э|э|Н|н|%коэн%");
	expect_where("name ~ \"50%_a\\\\\"", "postgres", PGHEAD "(c.name ILIKE $2 ESCAPE '\\')",
		     "o1|%50\\%\\_a\\\\%");
	expect_where("consent.results != granted", "sqlite",
		     HEAD "NOT c.id IN (SELECT k.contact_id FROM consent_current k WHERE "
			  "k.org_id = ? AND k.purpose = ? AND k.status = ?)",
		     "o1|o1|results|granted");
	expect_where("consent.results = none", "postgres",
		     PGHEAD "NOT EXISTS (SELECT 1 FROM consent_current k WHERE k.contact_id = c.id "
			    "AND k.purpose = $2)",
		     "o1|results");
	expect_where("fields.visits >= 3", "sqlite",
		     DHEAD "c.id IN (SELECT f.contact_id FROM contact_fields f WHERE f.org_id = ? "
			  "AND f.key = ? AND f.type = 'number' AND f.value_num >= ?)",
		     "o1|o1|visits|3");
	expect_where("fields.last_visit < -6mo", "postgres",
		     PGHEAD "EXISTS (SELECT 1 FROM contact_fields f WHERE f.contact_id = c.id AND "
			    "f.key = $2 AND f.type = 'date' AND f.value_text < $3)",
		     "o1|last_visit|2025-09-15");
	expect_where("fields.vip = true", "sqlite",
		     DHEAD "c.id IN (SELECT f.contact_id FROM contact_fields f WHERE f.org_id = ? "
			  "AND f.key = ? AND f.type = 'bool' AND f.value_text = ?)",
		     "o1|o1|vip|true");
	/* an OR of memberships alone stays IN lists (a MULTI-INDEX OR) */
	expect_where("tag = a OR tag = b", "sqlite",
		     HEAD "(c.id IN (SELECT t.contact_id FROM contact_tags t WHERE t.org_id = ? AND "
			  "t.tag = ?) OR c.id IN (SELECT t.contact_id FROM contact_tags t WHERE "
			  "t.org_id = ? AND t.tag = ?))",
		     "o1|o1|a|o1|b");
	/* under an AND with language = v, the OR's memberships are probes */
	expect_where("language = ru AND (tag = a OR fields.v >= 3)", "sqlite",
		     DHEAD "((c.language = ?) AND (EXISTS (SELECT 1 FROM contact_tags t WHERE "
			   "t.contact_id = c.id AND t.tag = ?) OR EXISTS (SELECT 1 FROM "
			   "contact_fields f WHERE f.contact_id = c.id AND f.key = ? AND "
			   "f.type = 'number' AND f.value_num >= ?)))",
		     "o1|ru|a|v|3");
	expect_where("tag = a OR tag = b AND NOT tag = c", "postgres",
		     PGHEAD "(EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND "
			    "t.tag = $2) OR (EXISTS (SELECT 1 FROM contact_tags t WHERE "
			    "t.contact_id = c.id AND t.tag = $3) AND NOT EXISTS (SELECT 1 FROM "
			    "contact_tags t WHERE t.contact_id = c.id AND t.tag = $4)))",
		     "o1|a|b|c");
}

/* No text of the query reaches the SQL: values, keys, tags are bound. */
static void test_no_user_text_in_sql(void **state)
{
	(void)state;
	static const struct {
		const char *query, *secret;
	} cases[] = {
	    {"name = \"x' OR 1=1 --\"", "1=1"},
	    {"name ~ \"zzq'--\"", "zzq"},
	    {"tag = \"zzq\"", "zzq"},
	    {"fields.zzq = 1", "zzq"},
	    {"fields.k = \"zzq\"", "zzq"},
	    {"fields.k ~ zzq", "zzq"},
	    {"audience = zzq", "zzq"},
	    {"phone = +972599999999", "99999"},
	    {"consent.marketing = granted", "marketing"},
	    {"consent.marketing = granted", "granted"},
	    {"tag ~ \"Ж\"", "Ж"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int d = 0; d < 2; d++) {
			struct segment *seg = NULL;
			struct segment_error e;
			struct segment_sql s;
			assert_int_equal(segment_parse(cases[i].query, &seg, &e), 0);
			assert_int_equal(segment_select_ids_sql(seg, d ? "postgres" : "sqlite",
								"zzq-org", NOW, "zzq-after", 5, &s),
					 0);
			if (strstr(s.sql, cases[i].secret) || strstr(s.where, cases[i].secret))
				fail_msg("'%s' leaks into %s", cases[i].query, s.sql);
			if (strstr(s.sql, "zzq-org") || strstr(s.sql, "zzq-after"))
				fail_msg("org or after id in %s", s.sql);
			segment_sql_release(&s);
			segment_free(seg);
		}
	}
}

static void test_compile_args(void **state)
{
	(void)state;
	struct segment *seg = NULL;
	struct segment_error e;
	struct segment_sql s;
	assert_int_equal(segment_parse("tag = x", &seg, &e), 0);
	assert_int_equal(segment_compile(seg, "mysql", "o1", NOW, &s), CW_EINVAL);
	segment_sql_release(&s);
	assert_int_equal(segment_compile(seg, "sqlite", NULL, NOW, &s), CW_EINVAL);
	segment_sql_release(&s);
	assert_int_equal(segment_compile(NULL, "sqlite", "o1", NOW, &s), CW_EINVAL);
	segment_sql_release(&s);
	segment_free(seg);
	assert_int_equal(segment_parse(NULL, &seg, &e), CW_EINVAL);
	assert_null(seg);
	segment_free(NULL);
	segment_sql_release(NULL);
	/* compiled twice at different times, a relative query moves */
	assert_int_equal(segment_parse("last_inbound > -1d", &seg, &e), 0);
	assert_int_equal(segment_compile(seg, "sqlite", "o1", NOW, &s), 0);
	assert_int_equal(s.nargs, 2);
	assert_int_equal(s.args[1].i, NOW - DAY);
	segment_sql_release(&s);
	assert_int_equal(segment_compile(seg, "sqlite", "o1", NOW + DAY, &s), 0);
	assert_int_equal(s.args[1].i, NOW);
	segment_sql_release(&s);
	segment_free(seg);
	/* months clamp to the month's end: 2026-03-31 minus 1 month */
	assert_int_equal(segment_parse("fields.d > -1mo", &seg, &e), 0);
	assert_int_equal(segment_compile(seg, "sqlite", "o1", utc_ms("2026-03-31 10:00:00"), &s),
			 0);
	assert_string_equal(s.args[3].s, "2026-02-28");
	segment_sql_release(&s);
	segment_free(seg);
}

/* ---- tests: errors ------------------------------------------------------- */

struct err_case {
	const char *query;
	int col;
	const char *message; /* the whole message, or its start when it ends in '*' */
};

static void check_error(const struct err_case *c)
{
	struct segment *seg = (struct segment *)&seg; /* must be reset to NULL */
	struct segment_error e;
	int rc = segment_parse(c->query, &seg, &e);
	if (rc != CW_EPARSE)
		fail_msg("'%s' parses (rc %d)", c->query, rc);
	assert_null(seg);
	if (e.col != c->col)
		fail_msg("'%s': col %d, want %d (%s)", c->query, e.col, c->col, e.message);
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "col %d: ", c->col);
	if (strncmp(e.message, prefix, strlen(prefix)) != 0)
		fail_msg("'%s': message '%s' does not start with '%s'", c->query, e.message,
			 prefix);
	size_t n = strlen(c->message);
	int ok = c->message[n - 1] == '*' ? strncmp(e.message, c->message, n - 1) == 0
					  : strcmp(e.message, c->message) == 0;
	if (!ok)
		fail_msg("'%s': message\n  %s\nwant\n  %s", c->query, e.message, c->message);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
	    {"age > 40 AND fileds.status = \"x\"", 14,
	     "col 14: unknown field \"fileds.status\" (did you mean \"fields.status\"?)"},
	    {"nmae = x", 1, "col 1: unknown field \"nmae\" (did you mean \"name\"?)"},
	    {"consnet.marketing = granted", 1,
	     "col 1: unknown field \"consnet.marketing\" (did you mean \"consent.marketing\"?)"},
	    {"colour = red", 1, "col 1: unknown field \"colour\"; fields are name phone*"},
	    {"consent.marketting = granted", 9,
	     "col 9: unknown consent purpose \"marketting\" (did you mean \"marketing\"?); "
	     "purposes are service reminders results surveys marketing"},
	    {"consent. = granted", 9, "col 9: unknown consent purpose \"\"*"},
	    {"fields. = 1", 8, "col 8: missing key after \"fields.\""},
	    {"fields.a/b = 1", 9, "col 9: bad character '/' in field key*"},
	    {"age ~ 40", 5,
	     "col 5: operator ~ does not apply to age (a number): use = != < <= > >="},
	    {"name < x", 6, "col 6: operator < does not apply to name (text): use = != ~"},
	    {"consent.results > granted", 17,
	     "col 17: operator > does not apply to consent.results (a consent status): use = !="},
	    {"birth_date < 1960-02-30", 14,
	     "col 14: bad date \"1960-02-30\": use a real date as YYYY-MM-DD"},
	    {"created > 2026-1-1", 11, "col 11: bad date \"2026-1-1\"*"},
	    {"fields.x = 2025-13-01", 12, "col 12: bad date*"},
	    {"last_inbound > -30x", 16,
	     "col 16: bad duration \"-30x\": use a sign, a number and a unit (min h d w mo y), "
	     "like -30d"},
	    {"last_inbound > -6m", 16,
	     "col 16: bad duration \"-6m\": \"m\" is ambiguous, write min (minutes) or mo "
	     "(months)"},
	    {"last_inbound > 30d", 16,
	     "col 16: bad duration \"30d\": a relative time needs a sign*"},
	    {"last_inbound > -99999y", 16, "col 16: bad duration \"-99999y\": too far*"},
	    {"fields.x < -3q", 12, "col 12: bad duration*"},
	    {"created = -1d", 11,
	     "col 11: created = \"-1d\": a relative time is an instant; use < <= > >= or a date"},
	    {"birth_date > soon", 14,
	     "col 14: birth_date needs a date (YYYY-MM-DD), a relative time (-30d) or today, got "
	     "\"soon\""},
	    {"name = \"cohen", 8, "col 8: unterminated string: no closing \""},
	    {"name = 'cohen", 8, "col 8: unterminated string: no closing '"},
	    {"name = \"cohen\\", 8, "col 8: unterminated string*"},
	    {"fields.x' OR 1=1 --", 9, "col 9: unterminated string: no closing '"},
	    {"name = \"a\\nb\"", 10, "col 10: unknown escape in string*"},
	    {"name = \"a\tb\"", 10, "col 10: control character in string"},
	    {"age 40", 5, "col 5: expected an operator (= != ~ < <= > >=) after age, got \"40\""},
	    {"age >=", 7, "col 7: expected a value after >=, got the end of the query"},
	    {"age >= (", 8, "col 8: expected a value after >=, got \"(\""},
	    {"tag = and", 7, "col 7: expected a value after =, got \"and\""},
	    {"AND age > 3", 1, "col 1: expected a field name, NOT or '(', got \"AND\""},
	    {"age > 40 AND", 13,
	     "col 13: expected a field name, NOT or '(', got the end of the query"},
	    {"()", 2, "col 2: expected a field name, NOT or '(', got \")\""},
	    {"\"name\" = x", 1, "col 1: expected a field name*"},
	    {"(age > 40 AND tag = vip", 24, "col 24: missing ')' to close '(' at col 1"},
	    {"(age > 40 tag = vip)", 11,
	     "col 11: expected AND, OR or ')' to close '(' at col 1, got \"tag\""},
	    {"", 1, "col 1: empty query"},
	    {"  \t\n ", 1, "col 1: empty query"},
	    {"age > 40 tag = vip", 10,
	     "col 10: unexpected \"tag\" after a complete condition: join with AND or OR"},
	    {"age > 40)", 9, "col 9: unexpected ')' with no '(' to close"},
	    {"age = \"abc\"", 7, "col 7: age needs a whole number from 0 to 150, got \"abc\""},
	    {"age = 40.5", 7, "col 7: age needs a whole number*"},
	    {"age = -1", 7, "col 7: age needs a whole number*"},
	    {"age = 151", 7, "col 7: age needs a whole number*"},
	    {"phone = abc", 9, "col 9: phone needs digits*"},
	    {"phone ~ \"+\"", 9, "col 9: phone needs digits*"},
	    {"consent.marketing = yes", 21,
	     "col 21: consent.marketing needs granted, refused, withdrawn or none, got \"yes\""},
	    {"fields.visits < abc", 17, "col 17: < needs a number or a date, got \"abc\""},
	    {"fields.vip > true", 14, "col 14: true/false can only be compared with = or !="},
	    {"fields.n = 1234567890123456", 12,
	     "col 12: number \"1234567890123456\" has too many*"},
	    {"tag ~ \"\"", 7, "col 7: ~ needs some text to look for"},
	    {"! tag = x", 1, "col 1: unexpected character '!': use != or NOT"},
	    {"tag = x && tag = y", 9, "col 9: unexpected character '&': use AND"},
	    {"tag = x, tag = y", 8, "col 8: unexpected character ','"},
	    {"tag = x\x01", 8, "col 8: unexpected character 0x01"},
	    /* columns count code points: Hebrew letters are one column each */
	    {"name = \"שרה\" AND fileds.x = 1", 18, "col 18: unknown field \"fileds.x\"*"},
	    {"tag = ונוס AND nmae = x", 16, "col 16: unknown field \"nmae\"*"},
	    {"name = \"\xff\"", 9, "col 9: invalid UTF-8"},
	    {"name = \"\xd7\"", 9, "col 9: invalid UTF-8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(&cases[i]);
}

static void test_error_limits(void **state)
{
	(void)state;
	struct buf q;
	struct err_case c;

	/* too long: 4097 bytes */
	buf_init(&q, 0);
	buf_puts(&q, "name = \"");
	while (q.len < SEGMENT_MAX_QUERY - 1)
		buf_putc(&q, 'a');
	buf_putc(&q, '"');
	assert_int_equal(q.len, SEGMENT_MAX_QUERY);
	struct segment *seg = NULL;
	struct segment_error e;
	assert_int_equal(segment_parse(q.data, &seg, &e), 0); /* exactly the limit is fine */
	segment_free(seg);
	buf_putc(&q, ' ');
	c = (struct err_case){q.data, SEGMENT_MAX_QUERY + 1,
			      "col 4097: query too long (max 4096 bytes)"};
	check_error(&c);
	buf_release(&q);

	/* the same in Hebrew letters (2 bytes each): the column counts letters */
	buf_init(&q, 0);
	buf_puts(&q, "name = \"");
	while (q.len < SEGMENT_MAX_QUERY)
		buf_puts(&q, "ש");
	buf_puts(&q, "\"");
	c = (struct err_case){q.data, 8 + (SEGMENT_MAX_QUERY - 8) / 2 + 1, "col *"};
	check_error(&c);
	buf_release(&q);

	/* nesting: 32 parentheses are fine, 33 are not */
	buf_init(&q, 0);
	for (int i = 0; i < SEGMENT_MAX_DEPTH; i++)
		buf_putc(&q, '(');
	buf_puts(&q, "tag = x");
	for (int i = 0; i < SEGMENT_MAX_DEPTH; i++)
		buf_putc(&q, ')');
	assert_int_equal(segment_parse(q.data, &seg, &e), 0);
	segment_free(seg);
	buf_reset(&q);
	for (int i = 0; i < SEGMENT_MAX_DEPTH + 1; i++)
		buf_putc(&q, '(');
	buf_puts(&q, "tag = x");
	c = (struct err_case){q.data, SEGMENT_MAX_DEPTH + 1,
			      "col 33: too deeply nested (max 32 levels)"};
	check_error(&c);
	buf_reset(&q);
	for (int i = 0; i < SEGMENT_MAX_DEPTH + 1; i++)
		buf_puts(&q, "NOT ");
	buf_puts(&q, "tag = x");
	c = (struct err_case){q.data, SEGMENT_MAX_DEPTH * 4 + 1, "col 129: too deeply nested*"};
	check_error(&c);
	buf_release(&q);

	/* conditions: 64 are fine, the 65th is refused */
	buf_init(&q, 0);
	for (int i = 0; i < SEGMENT_MAX_TERMS; i++)
		buf_printf(&q, "%stag = t%02d", i ? " OR " : "", i);
	assert_int_equal(segment_parse(q.data, &seg, &e), 0);
	segment_free(seg);
	size_t col = q.len + 5;
	buf_puts(&q, " OR tag = t64");
	c = (struct err_case){q.data, (int)col, "col *: too many conditions (max 64)"};
	char want[64];
	snprintf(want, sizeof(want), "col %zu: too many conditions (max 64)", col);
	c.message = want;
	check_error(&c);
	buf_release(&q);

	/* ~ with too many different non-Latin letters */
	buf_init(&q, 0);
	buf_puts(&q, "name ~ \"");
	for (int i = 0; i < SEGMENT_MAX_FOLD + 1; i++) {
		char ch[8];
		/* 32 Cyrillic small letters, then Greek ones */
		int cp = i < 32 ? 0x0430 + i : 0x03B1 + (i - 32);
		snprintf(ch, sizeof(ch), "%c%c", 0xC0 | (cp >> 6), 0x80 | (cp & 0x3F));
		buf_puts(&q, ch);
	}
	buf_puts(&q, "\"");
	c = (struct err_case){q.data, 8, "col 8: too many different non-Latin letters*"};
	check_error(&c);
	buf_release(&q);

	/* a long unknown field name is cut in the message, on a letter */
	buf_init(&q, 0);
	for (int i = 0; i < 100; i++)
		buf_puts(&q, "ж");
	buf_puts(&q, " = 1");
	assert_int_equal(segment_parse(q.data, &seg, &e), CW_EPARSE);
	assert_true(strlen(e.message) < sizeof(e.message));
	assert_non_null(strstr(e.message, "...\""));
	buf_release(&q);

	/* a NULL err is allowed */
	assert_int_equal(segment_parse("nope", &seg, NULL), CW_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_shapes),
	    cmocka_unit_test(test_sql_text),
	    cmocka_unit_test(test_no_user_text_in_sql),
	    cmocka_unit_test(test_compile_args),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_limits),
	    cmocka_unit_test(test_seed_example),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_age),
	    cmocka_unit_test(test_age_feb29),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_phone),
	    cmocka_unit_test(test_consent),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_logic),
	    cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_paging),
	    cmocka_unit_test(test_index_use),
	    cmocka_unit_test(test_real_schema),
	};
	return cmocka_run_group_tests(tests, db_setup, db_teardown);
}
