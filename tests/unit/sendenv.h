/*
 * sendenv.h — a store with what the send path needs (an organisation, a
 * phone number, templates, contacts with consents and windows), for
 * test_send.c, test_optout.c and test_segpreview.c. Header-only; include
 * after cmocka.h.
 *
 *	struct sendenv e;
 *	sendenv_open(&e);                 -- clock pinned to SENDENV_NOW
 *	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
 *	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - DAY);
 *	...
 *	sendenv_close(&e);
 */
#ifndef CW_TESTS_SENDENV_H
#define CW_TESTS_SENDENV_H

#include "testdb.h"

#include "base/time.h"
#include "core/org.h"
#include "core/orgconf.h"

/* Sunday 2026-11-22 10:00 UTC: 12:00 in Jerusalem, 13:00 in Moscow. */
#define SENDENV_NOW	     1795341600000LL
#define SENDENV_MIN	     (60 * 1000LL)
#define SENDENV_HOUR	     (60 * SENDENV_MIN)
#define SENDENV_DAY	     (24 * SENDENV_HOUR)
#define SENDENV_MAX_CONTACTS 64

struct sendenv {
	struct testdb db;
	char number[ID_SIZE];
	char contacts[SENDENV_MAX_CONTACTS][ID_SIZE];
	int ncontacts;
};

static inline void sendenv_template(struct sendenv *e, const char *name, const char *lang,
				    const char *category, const char *status,
				    const char *components)
{
	char id[ID_SIZE];
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),	   SV_TEXT(e->db.org), SV_TEXT("WABA1"),
				SV_NULL,	   SV_TEXT(name),      SV_TEXT(lang),
				SV_TEXT(category), SV_TEXT(status),    SV_TEXT(components),
				SV_INT(1),	   SV_INT(0),	       SV_NULL,
				SV_NULL,	   SV_INT(SENDENV_NOW)};
	assert_int_equal(store_exec(e->db.st, "template.insert", a, 14, NULL), 0);
}

static inline void sendenv_open(struct sendenv *e)
{
	memset(e, 0, sizeof *e);
	time_clock_set(SENDENV_NOW);
	testdb_open(&e->db);
	uint8_t key[SEC_KEY_BYTES] = {0};
	assert_int_equal(number_add(e->db.st, key, e->db.org, "PNID1", "WABA1", "+97235550100",
				    "token", 80, e->number),
			 0);
	static const char comps[] = "[{\"type\":\"BODY\",\"text\":\"Hello {{1}}\"}]";
	sendenv_template(e, "appt_reminder", "he", "UTILITY", "APPROVED", comps);
	sendenv_template(e, "promo", "he", "MARKETING", "APPROVED", comps);
	sendenv_template(e, "promo_pending", "he", "MARKETING", "PENDING", comps);
	sendenv_template(e, "survey", "he", "MARKETING", "APPROVED", comps);
}

static inline void sendenv_close(struct sendenv *e)
{
	testdb_close(&e->db);
	orgconf_cache_clear();
	time_clock_set(-1);
}

/* A new contact with this wa_id (phone "+wa_id"); returns its id (owned by e). */
static inline const char *sendenv_contact(struct sendenv *e, const char *wa_id, const char *lang,
					  const char *zone)
{
	assert_true(e->ncontacts < SENDENV_MAX_CONTACTS);
	char *id = e->contacts[e->ncontacts++];
	char phone[32];
	snprintf(phone, sizeof phone, "+%s", wa_id);
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(e->db.org),
				SV_TEXT(phone),
				SV_TEXT(wa_id),
				SV_TEXT(phone),
				SV_TEXT("Test"),
				SV_TEXT(lang),
				SV_TEXT(zone),
				SV_NULL,
				SV_NULL,
				SV_TEXT("patient"),
				SV_NULL,
				SV_INT(SENDENV_NOW - 30 * SENDENV_DAY)};
	assert_int_equal(store_exec(e->db.st, "contact.upsert", a, 13, NULL), 0);
	return id;
}

static inline void sendenv_consent(struct sendenv *e, const char *contact, const char *purpose,
				   const char *status, int64_t at)
{
	struct store_val a[] = {SV_TEXT(e->db.org), SV_TEXT(contact), SV_TEXT(purpose),
				SV_TEXT(status),    SV_TEXT("paper"), SV_TEXT("v1"),
				SV_TEXT("form 7"),  SV_INT(at)};
	assert_int_equal(store_exec(e->db.st, "consent.insert", a, 8, NULL), 0);
}

/* The contact wrote to the number at `at`: the window is open until at + 24 h. */
static inline void sendenv_window(struct sendenv *e, const char *contact, int64_t at)
{
	struct store_val a[] = {SV_TEXT(e->db.org), SV_TEXT(e->number), SV_TEXT(contact),
				SV_INT(at), SV_INT(at + SENDENV_DAY)};
	assert_int_equal(store_exec(e->db.st, "window.upsert", a, 5, NULL), 0);
}

static inline void sendenv_settings(struct sendenv *e, const char *json)
{
	assert_int_equal(orgconf_set_settings(e->db.st, e->db.org, json), 0);
}

/* An integer from SQL with one %s replaced by a quoted value. */
static inline long long sendenv_int(struct sendenv *e, const char *fmt, const char *value)
{
	char sql[512];
	snprintf(sql, sizeof sql, fmt, value);
	return testdb_int(&e->db, sql);
}

static inline char *sendenv_text(struct sendenv *e, const char *fmt, const char *value)
{
	char sql[512];
	snprintf(sql, sizeof sql, fmt, value);
	return testdb_text(&e->db, sql);
}

#endif
