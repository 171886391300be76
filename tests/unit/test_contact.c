/*
 * test_contact.c — unit tests for core/contact and core/contact_csv:
 * validation of every built-in (phones in Israel, Russia, Kazakhstan; never
 * guessed), typed custom fields kept in step with the fields JSON, the
 * upsert semantics, update by id, listing through segment queries, erasure
 * (tombstone, bodies, raw webhooks, a new contact afterwards), export, the
 * audit entries of all of it, and CSV import with BOM, CRLF, quoted commas,
 * broken lines, typed columns, consent columns and an idempotent re-run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdb.h"

#include "base/csv.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/consent.h"
#include "core/contact.h"
#include "core/contact_csv.h"
#include "base/banned.h"

#define ACTOR "apikey:TESTKEY"

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	if (!v)
		fail_msg("bad JSON in test: %s", je.text);
	return v;
}

/* Drafts text as JSON with region; returns the rc and fills err. */
static int draft(const char *text, const char *region, int require_phone, struct contact_draft *d,
		 struct contact_error *err)
{
	json_t *in = J(text);
	contact_draft_init(d);
	memset(err, 0, sizeof *err);
	int rc = contact_draft_from_json(d, in, region, require_phone, err);
	json_decref(in);
	return rc;
}

/* Creates or updates a contact from JSON; returns its id in id. */
static int upsert(struct testdb *t, const char *text, char id[ID_SIZE], int *created)
{
	struct contact_draft d;
	struct contact_error err;
	int rc = draft(text, "IL", 1, &d, &err);
	if (rc == 0) {
		struct contact_write w;
		rc = contact_upsert(t->st, t->org, &d, ACTOR, "api", &w);
		if (rc == 0) {
			snprintf(id, ID_SIZE, "%s", w.id);
			if (created)
				*created = w.created;
		}
	}
	contact_draft_release(&d);
	return rc;
}

static long long count(struct testdb *t, const char *fmt, const char *arg)
{
	char sql[512];
	snprintf(sql, sizeof sql, fmt, arg);
	return testdb_int(t, sql);
}

/* ---- validation ---- */

static void test_design_example(void **state)
{
	(void)state;
	struct contact_draft d;
	struct contact_error err;
	assert_int_equal(draft("{\"phone\":\"052-123-4567\",\"name\":\"Noa Levi\",\"language\":"
			       "\"he\",\"time_zone\":\"Asia/Jerusalem\",\"sex\":\"female\","
			       "\"birth_date\":\"1970-05-01\",\"audience\":\"patient\","
			       "\"tags\":[\"breast-cancer\"],\"fields\":{\"radiation\":"
			       "\"completed\"}}",
			       "IL", 1, &d, &err),
			 0);
	assert_true(d.has_phone);
	assert_string_equal(d.phone, "+972521234567");
	assert_string_equal(d.raw_phone, "052-123-4567");
	assert_string_equal(d.name, "Noa Levi");
	assert_string_equal(d.birth_date, "1970-05-01");
	assert_int_equal(d.ntags, 1);
	assert_string_equal(d.tags[0], "breast-cancer");
	assert_int_equal(d.nfields, 1);
	assert_int_equal(d.fields[0].type, CONTACT_F_TEXT);
	assert_string_equal(d.fields[0].text, "completed");
	contact_draft_release(&d);
}

static void test_phones(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *region, *e164, *reason;
	} cases[] = {
	    {"052-123-4567", "IL", "+972521234567", NULL},
	    {"+972 52 123 4567", "RU", "+972521234567", NULL},
	    {"8 (912) 345-67-89", "RU", "+79123456789", NULL},
	    {"+7 701 123 4567", "IL", "+77011234567", NULL}, /* Kazakhstan on +7 */
	    {"052-123", "IL", NULL, "too short"},
	    {"0521234567890123", "IL", NULL, "too long"},
	    {"555-123-4567", "IL", NULL, ""},
	    {"call me", "IL", NULL, "not a number"},
	    {"0521234567", NULL, NULL, "invalid country code"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct contact_draft d;
		struct contact_error err;
		char body[200];
		snprintf(body, sizeof body, "{\"phone\":\"%s\"}", cases[i].raw);
		int rc = draft(body, cases[i].region, 1, &d, &err);
		if (cases[i].e164) {
			assert_int_equal(rc, 0);
			assert_string_equal(d.phone, cases[i].e164);
			assert_string_equal(d.raw_phone, cases[i].raw);
		} else {
			assert_int_equal(rc, CW_EPHONE);
			assert_string_equal(err.field, "phone");
			assert_string_equal(err.code, "invalid_phone");
			assert_non_null(strstr(err.message, cases[i].reason));
			assert_false(d.has_phone);
		}
		contact_draft_release(&d);
	}
	/* missing, empty, or not a string */
	struct contact_draft d;
	struct contact_error err;
	assert_int_equal(draft("{\"name\":\"x\"}", "IL", 1, &d, &err), CW_EPHONE);
	assert_string_equal(err.field, "phone");
	contact_draft_release(&d);
	assert_int_equal(draft("{\"name\":\"x\"}", "IL", 0, &d, &err), 0); /* PATCH */
	contact_draft_release(&d);
	assert_int_equal(draft("{\"phone\":972521234567}", "IL", 1, &d, &err), CW_EPHONE);
	contact_draft_release(&d);
	assert_int_equal(draft("{\"phone\":\"  \"}", "IL", 1, &d, &err), CW_EPHONE);
	contact_draft_release(&d);
}

static void test_builtins_table(void **state)
{
	(void)state;
	static const struct {
		const char *field, *value;
		int ok;
		const char *stored; /* the normalised value when ok */
	} cases[] = {
	    {"language", "he", 1, "he"},
	    {"language", "EN-gb", 1, "en-GB"},
	    {"language", "iw", 1, "he"},
	    {"language", "sr_latn_RS", 1, "sr-Latn-RS"},
	    {"language", "es-419", 1, "es-419"},
	    {"language", "xx", 0, NULL},
	    {"language", "english", 0, NULL},
	    {"language", "he-IL-IL", 0, NULL},
	    {"language", "h", 0, NULL},
	    {"time_zone", "Asia/Jerusalem", 1, "Asia/Jerusalem"},
	    {"time_zone", "Europe/Moscow", 1, "Europe/Moscow"},
	    {"time_zone", "Mars/Olympus", 0, NULL},
	    {"time_zone", "+02:00", 0, NULL},
	    {"sex", "Female", 1, "female"},
	    {"sex", "unknown", 1, "unknown"},
	    {"sex", "f", 0, NULL},
	    {"birth_date", "1970-05-01", 1, "1970-05-01"},
	    {"birth_date", "2000-02-29", 1, "2000-02-29"},
	    {"birth_date", "1999-02-29", 0, NULL},
	    {"birth_date", "1970-5-1", 0, NULL},
	    {"birth_date", "01.05.1970", 0, NULL},
	    {"birth_date", "1879-12-31", 0, NULL},
	    {"birth_date", "2999-01-01", 0, NULL},
	    {"audience", "recovered patient", 1, "recovered patient"},
	    {"audience", "Recovered_Patient", 1, "recovered patient"},
	    {"audience", "researcher", 1, "researcher"},
	    {"audience", "visitor", 0, NULL},
	    {"name", "  Ирина Петрова ", 1, "Ирина Петрова"},
	    {"name", "a\tb", 0, NULL},
	    {"nickname", "x", 0, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct contact_draft d;
		struct contact_error err;
		contact_draft_init(&d);
		memset(&err, 0, sizeof err);
		int rc = contact_draft_set(&d, cases[i].field, cases[i].value, "IL", &err);
		if (!cases[i].ok) {
			if (rc == 0)
				fail_msg("%s=%s accepted", cases[i].field, cases[i].value);
			assert_int_equal(rc, CW_EINVAL);
			assert_string_equal(err.field, cases[i].field);
			assert_string_equal(err.code, "invalid_field");
			contact_draft_release(&d);
			continue;
		}
		if (rc != 0)
			fail_msg("%s=%s refused: %s", cases[i].field, cases[i].value, err.message);
		const char *got = strcmp(cases[i].field, "language") == 0     ? d.language
				  : strcmp(cases[i].field, "time_zone") == 0  ? d.time_zone
				  : strcmp(cases[i].field, "sex") == 0	      ? d.sex
				  : strcmp(cases[i].field, "birth_date") == 0 ? d.birth_date
				  : strcmp(cases[i].field, "audience") == 0   ? d.audience
									      : d.name;
		assert_string_equal(got, cases[i].stored);
		contact_draft_release(&d);
	}
	/* invalid UTF-8 from a file */
	struct contact_draft d;
	struct contact_error err;
	contact_draft_init(&d);
	assert_int_equal(contact_draft_set(&d, "name",
					   "No\xC3"
					   "a",
					   "IL", &err),
			 CW_EINVAL);
	assert_non_null(strstr(err.message, "UTF-8"));
	contact_draft_release(&d);
}

static void test_tags_and_fields(void **state)
{
	(void)state;
	struct contact_draft d;
	struct contact_error err;
	assert_int_equal(draft("{\"phone\":\"0521234567\",\"tags\":[\" vip \",\"vip\",\"a\"],"
			       "\"fields\":{\"visits\":3,\"score\":2.5,\"smoker\":false,"
			       "\"last_visit\":\"2025-11-02\",\"note\":\"2025-11-02 morning\","
			       "\"gone\":null,\"typed\":{\"type\":\"number\",\"value\":\"12\"},"
			       "\"flag\":{\"type\":\"bool\",\"value\":\"yes\"}}}",
			       "IL", 1, &d, &err),
			 0);
	assert_int_equal(d.ntags, 2); /* trimmed and de-duplicated */
	assert_int_equal(d.nfields, 8);
	for (size_t i = 0; i < d.nfields; i++) {
		const struct contact_fieldval *f = &d.fields[i];
		if (strcmp(f->key, "visits") == 0) {
			assert_int_equal(f->type, CONTACT_F_NUMBER);
			assert_true(f->num == 3.0);
		} else if (strcmp(f->key, "last_visit") == 0) {
			assert_int_equal(f->type, CONTACT_F_DATE);
		} else if (strcmp(f->key, "note") == 0) {
			assert_int_equal(f->type, CONTACT_F_TEXT);
		} else if (strcmp(f->key, "smoker") == 0) {
			assert_int_equal(f->type, CONTACT_F_BOOL);
			assert_string_equal(f->text, "false");
		} else if (strcmp(f->key, "gone") == 0) {
			assert_true(f->remove);
		} else if (strcmp(f->key, "typed") == 0) {
			assert_int_equal(f->type, CONTACT_F_NUMBER);
			assert_true(f->num == 12.0);
		} else if (strcmp(f->key, "flag") == 0) {
			assert_string_equal(f->text, "true");
		}
	}
	contact_draft_release(&d);

	static const char *const bad[] = {
	    "{\"phone\":\"0521234567\",\"tags\":\"vip\"}",
	    "{\"phone\":\"0521234567\",\"tags\":[1]}",
	    "{\"phone\":\"0521234567\",\"tags\":[\"\"]}",
	    "{\"phone\":\"0521234567\",\"fields\":[]}",
	    "{\"phone\":\"0521234567\",\"fields\":{\"bad key\":1}}",
	    "{\"phone\":\"0521234567\",\"fields\":{\"x\":[1]}}",
	    "{\"phone\":\"0521234567\",\"fields\":{\"x\":{\"type\":\"date\",\"value\":\"soon\"}}}",
	    "{\"phone\":\"0521234567\",\"fields\":{\"x\":{\"type\":\"money\",\"value\":1}}}",
	    "{\"phone\":\"0521234567\",\"fields\":{\"x\":{\"type\":\"number\",\"value\":\"0x1\"}}}",
	    "{\"phone\":\"0521234567\",\"name\":5}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = draft(bad[i], "IL", 1, &d, &err);
		if (rc != CW_EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_string_equal(err.code, "invalid_field");
		assert_true(strncmp(err.field, "fields", 6) == 0 ||
			    strcmp(err.field, "tags") == 0 || strcmp(err.field, "name") == 0);
		contact_draft_release(&d);
	}
	/* text typed fields from CSV */
	contact_draft_init(&d);
	assert_int_equal(contact_draft_set_field(&d, "visits", CONTACT_F_NUMBER, "3", &err), 0);
	assert_int_equal(contact_draft_set_field(&d, "visits", CONTACT_F_NUMBER, "3,5", &err),
			 CW_EINVAL);
	assert_string_equal(err.field, "fields.visits");
	assert_int_equal(d.nfields, 0); /* the failed value replaced and dropped it */
	assert_int_equal(contact_draft_set_field(&d, "d", CONTACT_F_DATE, "2025-13-01", &err),
			 CW_EINVAL);
	assert_int_equal(contact_draft_set_field(&d, "b", CONTACT_F_BOOL, "maybe", &err),
			 CW_EINVAL);
	contact_draft_release(&d);
}

/* ---- writing and reading ---- */

static void test_upsert_by_phone(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char id[ID_SIZE], id2[ID_SIZE];
	int created = 0;
	assert_int_equal(upsert(&t,
				"{\"phone\":\"052-123-4567\",\"name\":\"Noa\",\"language\":\"he\","
				"\"tags\":[\"a\",\"b\"],\"fields\":{\"visits\":3,\"radiation\":"
				"\"completed\",\"gone\":null}}",
				id, &created),
			 0);
	assert_true(created);
	/* the same number typed another way is the same contact */
	assert_int_equal(
	    upsert(&t,
		   "{\"phone\":\"+972 52-123-4567\",\"sex\":\"female\",\"tags\":[\"c\"],"
		   "\"fields\":{\"visits\":4,\"radiation\":null,\"last\":"
		   "\"2025-01-02\"}}",
		   id2, &created),
	    0);
	assert_false(created);
	assert_string_equal(id, id2);
	struct contact c;
	assert_int_equal(contact_get(t.st, t.org, id, &c), 0);
	assert_string_equal(c.phone, "+972521234567");
	assert_string_equal(c.raw_phone, "+972 52-123-4567");
	assert_string_equal(c.name, "Noa"); /* absent: kept */
	assert_string_equal(c.sex, "female");
	assert_int_equal(c.ntags, 1); /* tags replaced */
	assert_string_equal(c.tags[0], "c");
	json_t *j = contact_json(&c);
	json_t *f = json_object_get(j, "fields");
	assert_int_equal(json_integer_value(json_object_get(f, "visits")), 4);
	assert_null(json_object_get(f, "radiation")); /* removed */
	assert_null(json_object_get(f, "gone"));      /* a removal on create stores nothing */
	assert_string_equal(json_string_value(json_object_get(f, "last")), "2025-01-02");
	assert_true(json_is_null(json_object_get(j, "wa_id")));
	assert_true(json_is_null(json_object_get(j, "erased_at")));
	assert_non_null(json_string_value(json_object_get(j, "created_at")));
	json_decref(j);
	contact_release(&c);
	/* contact_fields in step with the JSON */
	assert_int_equal(
	    count(&t, "SELECT count(*) FROM contact_fields WHERE contact_id = '%s'", id), 2);
	assert_int_equal(count(&t,
			       "SELECT value_num FROM contact_fields WHERE contact_id = '%s' AND "
			       "key = 'visits' AND type = 'number'",
			       id),
			 4);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM contact_fields WHERE contact_id = '%s' AND "
			       "key = 'last' AND type = 'date' AND value_text = '2025-01-02'",
			       id),
			 1);
	/* audited: a create and an update */
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM audit_log WHERE subject = '%s' AND action IN "
			       "('contact.create','contact.update') AND actor = '" ACTOR "'",
			       id),
			 2);
	/* another organisation has its own contact for the same number */
	char org2[ID_SIZE];
	id_new(org2);
	testdb_add_org(t.st, org2, "IL");
	struct contact_draft d;
	struct contact_error err;
	assert_int_equal(draft("{\"phone\":\"0521234567\"}", "IL", 1, &d, &err), 0);
	struct contact_write w;
	assert_int_equal(contact_upsert(t.st, org2, &d, ACTOR, "api", &w), 0);
	assert_true(w.created);
	assert_string_not_equal(w.id, id);
	assert_int_equal(contact_get(t.st, org2, id, &c), CW_ENOTFOUND);
	contact_draft_release(&d);
	testdb_close(&t);
}

static void test_update_by_id(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char a[ID_SIZE], b[ID_SIZE];
	assert_int_equal(upsert(&t, "{\"phone\":\"0521111111\",\"name\":\"A\"}", a, NULL), 0);
	assert_int_equal(upsert(&t, "{\"phone\":\"0522222222\",\"name\":\"B\"}", b, NULL), 0);
	struct contact_draft d;
	struct contact_error err;
	/* a phone that belongs to someone else */
	assert_int_equal(draft("{\"phone\":\"052-222-2222\"}", "IL", 0, &d, &err), 0);
	assert_int_equal(contact_update(t.st, t.org, a, &d, ACTOR, &err), CW_ECONFLICT);
	assert_string_equal(err.field, "phone");
	contact_draft_release(&d);
	/* a new phone and name: the old wa_id is forgotten */
	assert_int_equal(testdb_sql(&t, "UPDATE contacts SET wa_id = '972521111111'"), SQLITE_OK);
	assert_int_equal(draft("{\"phone\":\"0523333333\",\"name\":\"A2\"}", "IL", 0, &d, &err), 0);
	assert_int_equal(contact_update(t.st, t.org, a, &d, ACTOR, &err), 0);
	contact_draft_release(&d);
	struct contact c;
	assert_int_equal(contact_get(t.st, t.org, a, &c), 0);
	assert_string_equal(c.phone, "+972523333333");
	assert_string_equal(c.name, "A2");
	assert_null(c.wa_id);
	contact_release(&c);
	/* unknown and erased */
	assert_int_equal(draft("{\"name\":\"X\"}", "IL", 0, &d, &err), 0);
	assert_int_equal(contact_update(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", &d, ACTOR, &err),
			 CW_ENOTFOUND);
	assert_int_equal(contact_erase(t.st, t.org, b, ACTOR, NULL), 0);
	assert_int_equal(contact_update(t.st, t.org, b, &d, ACTOR, &err), CW_ECONFLICT);
	assert_string_equal(err.code, "contact_erased");
	contact_draft_release(&d);
	testdb_close(&t);
}

static void test_list_and_segments(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char ids[5][ID_SIZE];
	static const char *const bodies[] = {
	    "{\"phone\":\"0521000001\",\"audience\":\"recovered patient\",\"tags\":[\"vip\"],"
	    "\"fields\":{\"radiation\":\"completed\",\"visits\":5}}",
	    "{\"phone\":\"0521000002\",\"audience\":\"patient\",\"fields\":{\"visits\":1,"
	    "\"last_visit\":\"2024-06-01\"}}",
	    "{\"phone\":\"0521000003\",\"audience\":\"recovered patient\",\"fields\":"
	    "{\"radiation\":\"completed\",\"last_visit\":\"2025-06-01\",\"smoker\":true}}",
	    "{\"phone\":\"0521000004\",\"audience\":\"doctor\"}",
	    "{\"phone\":\"0521000005\",\"audience\":\"staff\",\"tags\":[\"vip\"]}",
	};
	for (int i = 0; i < 5; i++)
		assert_int_equal(upsert(&t, bodies[i], ids[i], NULL), 0);
	struct consent_input in = {.purpose = "marketing", .status = "granted", .source = "paper"};
	assert_int_equal(consent_record(t.st, t.org, ids[2], &in, ACTOR, NULL, NULL), 0);
	assert_int_equal(contact_erase(t.st, t.org, ids[4], ACTOR, NULL), 0);

	static const struct {
		const char *q;
		int n;
	} qs[] = {
	    {"", 4}, /* the erased one is not listed */
	    {"audience = \"recovered patient\" AND fields.radiation = completed", 2},
	    {"audience = \"recovered patient\" AND fields.radiation = completed AND "
	     "consent.marketing = granted",
	     1},
	    {"fields.visits >= 3", 1},
	    {"fields.last_visit < 2025-01-01", 1},
	    {"fields.smoker = true", 1},
	    {"tag = vip", 1},
	};
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		json_t *items = NULL;
		char next[ID_SIZE];
		assert_int_equal(
		    contact_list(t.st, t.org, qs[i].q, NULL, 50, ACTOR, &items, next, NULL), 0);
		if ((int)json_array_size(items) != qs[i].n)
			fail_msg("%s: %zu contacts, want %d", qs[i].q, json_array_size(items),
				 qs[i].n);
		assert_string_equal(next, "");
		json_decref(items);
	}
	/* paging */
	json_t *items = NULL;
	char next[ID_SIZE];
	assert_int_equal(contact_list(t.st, t.org, NULL, NULL, 3, ACTOR, &items, next, NULL), 0);
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(next,
			    json_string_value(json_object_get(json_array_get(items, 2), "id")));
	json_decref(items);
	assert_int_equal(contact_list(t.st, t.org, NULL, next, 3, ACTOR, &items, next, NULL), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(next, "");
	json_decref(items);
	/* a bad query names the column */
	struct segment_error qe;
	assert_int_equal(
	    contact_list(t.st, t.org, "fileds.status = x", NULL, 10, ACTOR, &items, next, &qe),
	    CW_EPARSE);
	assert_null(items);
	assert_true(strncmp(qe.message, "col 1:", 6) == 0);
	/* every listed contact was audited */
	assert_true(
	    testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = 'contact.list'") >=
	    4 + 2 + 1 + 1 + 1 + 1 + 1 + 4);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	testdb_close(&t);
}

static void add_message(struct testdb *t, const char *num, const char *contact, const char *dir,
			const char *wamid, const char *payload)
{
	char id[ID_SIZE];
	id_new(id);
	struct store_val m[] = {SV_TEXT(id),	       SV_TEXT(t->org),	 SV_TEXT(num),
				SV_TEXT(contact),      SV_TEXT(dir),	 SV_TEXT(wamid),
				SV_TEXT("text"),       SV_TEXT(payload), SV_TEXT("delivered"),
				SV_INT(time_now_ms()), SV_NULL,		 SV_INT(time_now_ms())};
	assert_int_equal(store_exec(t->st, "message.insert", m, 12, NULL), 0);
}

static void test_erase(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char id[ID_SIZE], other[ID_SIZE];
	assert_int_equal(upsert(&t,
				"{\"phone\":\"052-123-4567\",\"name\":\"Noa Levi\",\"sex\":"
				"\"female\",\"birth_date\":\"1970-05-01\",\"audience\":\"patient\","
				"\"tags\":[\"oncology\"],\"fields\":{\"radiation\":\"completed\"}}",
				id, NULL),
			 0);
	assert_int_equal(upsert(&t, "{\"phone\":\"0529999999\",\"name\":\"Other\"}", other, NULL),
			 0);
	assert_int_equal(testdb_sql(&t, "UPDATE contacts SET wa_id = '972521234567' WHERE phone = "
					"'+972521234567'"),
			 SQLITE_OK);
	struct consent_input in = {.purpose = "results",
				   .status = "granted",
				   .source = "paper",
				   .evidence = "form signed by Noa Levi"};
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, NULL), 0);
	char num[ID_SIZE];
	id_new(num);
	struct store_val n[] = {SV_TEXT(num),	 SV_TEXT(t.org),  SV_TEXT("PNID1"),
				SV_TEXT("WABA"), SV_TEXT("+972"), SV_NULL,
				SV_NULL,	 SV_NULL,	  SV_INT(1)};
	assert_int_equal(store_exec(t.st, "number.insert", n, 9, NULL), 0);
	add_message(&t, num, id, "in", "wamid.A",
		    "{\"from\":\"972521234567\",\"text\":{\"body\":"
		    "\"my results?\"}}");
	add_message(&t, num, other, "in", "wamid.B", "{\"text\":{\"body\":\"keep me\"}}");
	/* raw webhooks: one of hers (processed), one of the other contact */
	const char *hers = "{\"contacts\":[{\"wa_id\":\"972521234567\"}],\"text\":\"my results?\"}";
	const char *his = "{\"contacts\":[{\"wa_id\":\"972529999999\"}]}";
	struct store_val w1[] = {SV_TEXT(t.org), SV_INT(1), SV_NULL, SV_BLOB(hers, strlen(hers))};
	struct store_val w2[] = {SV_TEXT(t.org), SV_INT(1), SV_NULL, SV_BLOB(his, strlen(his))};
	assert_int_equal(store_exec(t.st, "webhook.append", w1, 4, NULL), 0);
	assert_int_equal(store_exec(t.st, "webhook.append", w2, 4, NULL), 0);
	assert_int_equal(testdb_sql(&t, "UPDATE webhook_log SET processed_at = 5"), SQLITE_OK);

	/* other modules' rows about her */
	char sql[600];
	snprintf(sql, sizeof sql,
		 "INSERT INTO handoffs (id, org_id, contact_id, team, note, created_at) VALUES "
		 "('H1', '%s', '%s', 'nurses', 'Noa asked about her biopsy', 1);"
		 "INSERT INTO events (id, org_id, type, source, contact_id, data, received_at) "
		 "VALUES ('E1', '%s', 'order', 'crm', '%s', '{\"name\":\"Noa Levi\"}', 1);",
		 t.org, id, t.org, id);
	assert_int_equal(testdb_sql(&t, sql), SQLITE_OK);

	int already = -1;
	assert_int_equal(contact_erase(t.st, t.org, id, ACTOR, &already), 0);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM handoffs WHERE note IS NULL"), 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM events WHERE data = '{}'"), 1);
	assert_int_equal(already, 0);
	struct contact c;
	assert_int_equal(contact_get(t.st, t.org, id, &c), 0);
	assert_true(c.erased_at > 0);
	assert_null(c.phone);
	assert_null(c.wa_id);
	assert_null(c.raw_phone);
	assert_null(c.name);
	assert_null(c.birth_date);
	assert_null(c.sex);
	assert_null(c.audience);
	assert_string_equal(c.fields, "{}");
	assert_int_equal(c.ntags, 0);
	assert_true(c.created_at > 0);
	contact_release(&c);
	assert_int_equal(
	    count(&t, "SELECT count(*) FROM contact_fields WHERE contact_id = '%s'", id), 0);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM messages WHERE contact_id = '%s' AND payload "
			       "IS NOT NULL",
			       id),
			 0);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM messages WHERE contact_id = '%s' AND payload "
			       "IS NOT NULL",
			       other),
			 1);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM consents WHERE contact_id = '%s' AND evidence "
			       "IS NULL AND status = 'granted'",
			       id),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM webhook_log WHERE "
					"instr(CAST(body AS TEXT), '972521234567') > 0"),
			 0);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM webhook_log WHERE "
					"instr(CAST(body AS TEXT), '972529999999') > 0"),
			 1);
	/* nothing of her is left in any text column of the database */
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE name = 'Noa Levi'"),
			 0);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM audit_log WHERE subject = '%s' AND action = "
			       "'contact.erase' AND outcome = 'ok'",
			       id),
			 1);
	/* again: nothing changes, and it says so */
	assert_int_equal(contact_erase(t.st, t.org, id, ACTOR, &already), 0);
	assert_int_equal(already, 1);
	assert_int_equal(contact_erase(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", ACTOR, NULL),
			 CW_ENOTFOUND);
	/* no consent can be recorded for the tombstone */
	struct contact_error err;
	in.evidence = NULL;
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, &err), CW_ECONFLICT);
	assert_string_equal(err.code, "contact_erased");
	/* the same number later is a new contact, with no consents */
	char again[ID_SIZE];
	int created = 0;
	assert_int_equal(upsert(&t, "{\"phone\":\"0521234567\"}", again, &created), 0);
	assert_true(created);
	assert_string_not_equal(again, id);
	assert_int_equal(count(&t, "SELECT count(*) FROM consents WHERE contact_id = '%s'", again),
			 0);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	testdb_close(&t);
}

static void test_read_and_export(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	char id[ID_SIZE];
	assert_int_equal(upsert(&t, "{\"phone\":\"0521234567\",\"name\":\"Noa\"}", id, NULL), 0);
	struct consent_input in = {.purpose = "marketing", .status = "granted", .source = "web"};
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, NULL), 0);
	in.status = "withdrawn";
	in.source = "whatsapp";
	assert_int_equal(consent_record(t.st, t.org, id, &in, ACTOR, NULL, NULL), 0);
	json_t *o = NULL;
	assert_int_equal(contact_read(t.st, t.org, id, ACTOR, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "phone")), "+972521234567");
	json_decref(o);
	assert_int_equal(contact_read(t.st, t.org, "01HZZZZZZZZZZZZZZZZZZZZZZZ", ACTOR, &o),
			 CW_ENOTFOUND);
	assert_null(o);
	assert_int_equal(contact_export(t.st, t.org, id, ACTOR, &o), 0);
	json_t *hist = json_object_get(json_object_get(o, "consents"), "history");
	assert_int_equal(json_array_size(hist), 2);
	json_t *cur = json_object_get(json_object_get(o, "consents"), "current");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cur, "marketing"), "status")),
	    "withdrawn");
	assert_true(json_is_array(json_object_get(o, "messages")));
	assert_true(json_is_array(json_object_get(o, "decisions")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(o, "contact"), "name")), "Noa");
	json_decref(o);
	assert_int_equal(count(&t,
			       "SELECT count(*) FROM audit_log WHERE subject = '%s' AND action IN "
			       "('contact.read','contact.export')",
			       id),
			 2);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM audit_log WHERE action = "
					"'contact.read' AND outcome = 'not_found'"),
			 1);
	testdb_close(&t);
}

/* ---- CSV import ---- */

struct errs {
	char text[4096];
	int n;
	uint64_t last_bytes;
};

static void on_error(void *ud, long line, const char *field, const char *msg)
{
	struct errs *e = ud;
	size_t k = strlen(e->text);
	snprintf(e->text + k, sizeof e->text - k, "line %ld: %s%s%s\n", line, field,
		 *field ? ": " : "", msg);
	e->n++;
}

static void on_progress(void *ud, uint64_t bytes, const struct contact_csv_report *r)
{
	struct errs *e = ud;
	(void)r;
	assert_true(bytes >= e->last_bytes);
	e->last_bytes = bytes;
}

static int import_text(struct testdb *t, const char *text, struct contact_csv_report *r,
		       struct errs *e)
{
	memset(e, 0, sizeof *e);
	struct csv *c = csv_new_mem(text, strlen(text));
	struct contact_csv_opts o = {.org_id = t->org,
				     .region = "IL",
				     .actor = "cli:import",
				     .via = "csv",
				     .on_error = on_error,
				     .on_progress = on_progress,
				     .ud = e};
	int rc = contact_csv_import(t->st, c, &o, r);
	csv_free(c);
	return rc;
}

static const char csv_file[] =
    "\xEF\xBB\xBF"
    "Phone,Name,language,time_zone,sex,birth_date,audience,tags,fields.visits:number,"
    "field:last_visit:date,fields.note,consent.marketing\r\n"
    "052-123-4567,\"Levi, Noa\",he,Asia/Jerusalem,female,1970-05-01,recovered patient,"
    "breast-cancer;radiotherapy,3,2025-01-02,\"said \"\"hi\"\"\",granted\r\n"
    "+7 (912) 345-67-89,Ирина,ru,Europe/Moscow,F,1974-01-22,patient,,1,,,\r\n" /* bad sex */
    "054-111-2233,Daniel,en,Asia/Jerusalem,male,1985-09-30,patient,cardiology,x,,,\r\n"
    "052-123,Short,he,,,,,,,,,\r\n" /* bad phone */
    "0541234567,\"Two, Lines\",he,,,,patient,a|b,,,\"multi\r\nline\",refused\r\n"
    "0549876543,Broken\"Quote,he,,,,,,,,,\r\n" /* stray quote */
    "0547654321,Too,few\r\n"		       /* wrong count */
    "\r\n"
    ",,,,,,,,,,,\r\n"				/* blank record */
    "0501112222,Last,ru,,,2999-01-01,,,,,,\r\n" /* future date */
    "0501112223,Good,ru,,other,,staff,,,,,withdrawn\r\n";

static void test_csv_import(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct contact_csv_report r;
	struct errs e;
	assert_int_equal(import_text(&t, csv_file, &r, &e), 0);
	if (r.created != 3)
		fail_msg("%s", e.text);
	assert_int_equal(r.lines, 9);
	assert_int_equal(r.created, 3);
	assert_int_equal(r.updated, 0);
	assert_int_equal(r.failed, 6);
	assert_string_equal(e.text,
			    "line 3: sex: sex must be female, male, other or unknown\n"
			    "line 4: fields.visits: a number field needs a decimal number "
			    "such as 3 or 2.5\n"
			    "line 5: phone: too short (the number has too few digits)\n"
			    "line 8: a quote inside an unquoted field (quote the whole field "
			    "and double the quotes in it)\n"
			    "line 9: has 3 fields, the header has 12\n"
			    "line 12: birth_date: birth_date must not be in the future nor "
			    "before 1880\n");
	/* the good lines, with quoted commas, doubled quotes and line breaks */
	assert_int_equal(testdb_int(&t,
				    "SELECT count(*) FROM contacts WHERE name = 'Levi, Noa' "
				    "AND phone = '+972521234567' AND raw_phone = '052-123-4567' "
				    "AND audience = 'recovered patient'"),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE name = 'Two, Lines' "
					"AND json_extract(fields, '$.note') = 'multi\nline'"),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts WHERE "
					"json_extract(fields, '$.note') = 'said \"hi\"' AND "
					"json_extract(fields, '$.visits') = 3"),
			 1);
	assert_int_equal(testdb_int(&t,
				    "SELECT count(*) FROM contact_fields WHERE key = "
				    "'last_visit' AND type = 'date' AND value_text = '2025-01-02'"),
			 1);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contact_tags"), 4);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM consents WHERE source = 'import'"),
			 3);
	assert_int_equal(
	    testdb_int(&t, "SELECT count(*) FROM audit_log WHERE actor = "
			   "'cli:import' AND action = 'contact.create' AND detail = 'csv'"),
	    3);

	/* idempotent: the same file again creates nothing and records no consent */
	assert_int_equal(import_text(&t, csv_file, &r, &e), 0);
	assert_int_equal(r.created, 0);
	assert_int_equal(r.updated, 3);
	assert_int_equal(r.failed, 6);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts"), 3);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM consents"), 3);
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contact_tags"), 4);
	struct audit_verify v;
	assert_int_equal(audit_verify(t.st, &v), 0);
	testdb_close(&t);
}

static void test_csv_header_errors(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"phone,emial\n0521234567,x\n", "unknown column \"emial\""},
	    {"name\nNoa\n", "no phone column"},
	    {"phone,Phone\n1,2\n", "repeats column 1"},
	    {"phone,fields.x:money\n1,2\n", "the type must be"},
	    {"phone,fields.bad key\n1,2\n", "a field key"},
	    {"phone,consent.ads\n1,2\n", "consent purposes"},
	    {"", "the file is empty"},
	    {"\"phone\n", "never closed"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct contact_csv_report r;
		struct errs e;
		assert_int_equal(import_text(&t, cases[i].text, &r, &e), CW_EPARSE);
		if (!strstr(e.text, cases[i].msg))
			fail_msg("case %zu: %s", i, e.text);
		assert_true(strncmp(e.text, "line 1: ", 8) == 0);
	}
	assert_int_equal(testdb_int(&t, "SELECT count(*) FROM contacts"), 0);
	testdb_close(&t);
}

/* More records than a batch, one of them twice: every record counted once. */
static void test_csv_batches(void **state)
{
	(void)state;
	struct testdb t;
	testdb_open(&t);
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "phone,fields.n:number\n");
	int n = CONTACT_CSV_BATCH * 2 + 17;
	for (int i = 0; i < n; i++)
		buf_printf(&b, "05212%05d,%d\n", i, i);
	buf_printf(&b, "05212%05d,%d\n", 3, 999); /* the same contact again */
	struct contact_csv_report r;
	struct errs e;
	assert_int_equal(import_text(&t, b.data, &r, &e), 0);
	assert_int_equal(r.lines, n + 1);
	assert_int_equal(r.created, n);
	assert_int_equal(r.updated, 1);
	assert_int_equal(r.failed, 0);
	assert_int_equal(e.last_bytes, b.len);
	assert_int_equal(testdb_int(&t, "SELECT value_num FROM contact_fields f JOIN contacts c ON "
					"c.id = f.contact_id WHERE c.phone = '+972521200003'"),
			 999);
	buf_release(&b);
	testdb_close(&t);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_design_example),    cmocka_unit_test(test_phones),
	    cmocka_unit_test(test_builtins_table),    cmocka_unit_test(test_tags_and_fields),
	    cmocka_unit_test(test_upsert_by_phone),   cmocka_unit_test(test_update_by_id),
	    cmocka_unit_test(test_list_and_segments), cmocka_unit_test(test_erase),
	    cmocka_unit_test(test_read_and_export),   cmocka_unit_test(test_csv_import),
	    cmocka_unit_test(test_csv_header_errors), cmocka_unit_test(test_csv_batches),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
