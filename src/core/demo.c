/*
 * demo.c — seeding the demo clinic (see demo.h).
 */
#include "core/demo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/org.h"
#include "store/store.h"
#include "base/banned.h"

const struct demo_patient demo_patients[] = {
	{"972521234567", "Noa Levi", "he", "Asia/Jerusalem", "female", "1968-04-12",
	 "recovered patient", "breast-cancer,radiotherapy", "{\"radiation\":\"completed\"}",
	 "service=granted,reminders=granted,marketing=granted,surveys=granted"},
	{"972541112233", "Daniel Cohen", "en", "Asia/Jerusalem", "male", "1985-09-30", "patient",
	 "cardiology", "{\"visits\":3}", "service=granted,reminders=granted,results=granted"},
	{"79123456789", "Ирина Петрова", "ru", "Europe/Moscow", "female", "1974-01-22",
	 "recovered patient", "radiotherapy", "{\"radiation\":\"completed\"}",
	 "service=granted,reminders=granted,marketing=refused"},
	{"972501234000", "Yossi Mizrahi", "he", "Asia/Jerusalem", "male", "1959-11-03", "patient",
	 "diabetes", "{\"radiation\":\"ongoing\"}", "service=granted,marketing=withdrawn"},
	{"972529876543", "Dr. Maya Katz", "he", "Asia/Jerusalem", "female", "1979-06-15", "doctor",
	 "staff", "{}", "service=granted"},
	{"79031234567", "Алексей Смирнов", "ru", "Europe/Moscow", "male", "1990-03-08", "attendee",
	 "conference", "{}", "service=granted,marketing=granted"},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

struct id_out {
	char id[ID_SIZE];
};

static int id_cb(void *ud, const struct store_row *row)
{
	struct id_out *o = ud;
	snprintf(o->id, sizeof o->id, "%s", store_row_text(row, 0));
	return 1;
}

static int seed_patient(struct store *st, const char *org_id, const struct demo_patient *p,
			int64_t now)
{
	char phone[32], id[ID_SIZE];
	snprintf(phone, sizeof phone, "+%s", p->wa_id);
	id_new(id);
	struct store_val c[] = {SV_TEXT(id),	     SV_TEXT(org_id),	 SV_TEXT(phone),
				SV_TEXT(p->wa_id),   SV_TEXT(phone),	 SV_TEXT(p->name),
				SV_TEXT(p->language), SV_TEXT(p->zone),	 SV_TEXT(p->sex),
				SV_TEXT(p->birth_date), SV_TEXT(p->audience), SV_TEXT(p->fields),
				SV_INT(now)};
	struct id_out got = {{0}};
	int rc = store_exec(st, "contact.upsert", c, 13, NULL);
	if (rc)
		return rc;
	struct store_val q[] = {SV_TEXT(org_id), SV_TEXT(phone)};
	rc = store_query(st, "contact.id_by_phone", q, 2, id_cb, &got);
	if (rc < 0 || !got.id[0])
		return rc < 0 ? rc : CW_EINTERNAL;
	/* tags and typed fields */
	char tags[200];
	snprintf(tags, sizeof tags, "%s", p->tags);
	for (char *save = NULL, *t = strtok_r(tags, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(got.id), SV_TEXT(t)};
		rc = store_exec(st, "demo.tag", a, 3, NULL);
		if (rc)
			return rc;
	}
	json_t *fields = json_loads(p->fields, 0, NULL);
	const char *k;
	json_t *v;
	json_object_foreach(fields, k, v)
	{
		int num = json_is_number(v);
		struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(got.id), SV_TEXT(k),
					SV_TEXT(num ? "number" : "text"),
					SV_TEXT(num ? NULL : json_string_value(v)),
					num ? SV_REAL(json_number_value(v)) : SV_NULL};
		rc = store_exec(st, "demo.field", a, 6, NULL);
		if (rc)
			break;
	}
	json_decref(fields);
	if (rc)
		return rc;
	char cons[200];
	snprintf(cons, sizeof cons, "%s", p->consents);
	for (char *save = NULL, *t = strtok_r(cons, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			continue;
		*eq = '\0';
		struct store_val a[] = {SV_TEXT(org_id),  SV_TEXT(got.id), SV_TEXT(t),
					SV_TEXT(eq + 1),  SV_TEXT("paper"), SV_TEXT("demo-1"),
					SV_TEXT("signed form at reception"), SV_INT(now)};
		rc = store_exec(st, "consent.insert", a, 8, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int demo_seed(struct app *app, const char *access_token, char org_id[ID_SIZE],
	      char number_id[ID_SIZE])
{
	struct store *st = app->st;
	struct id_out o = {{0}};
	struct store_val a[] = {SV_TEXT(DEMO_ORG_NAME)};
	int rc = store_query(st, "org.by_name", a, 1, id_cb, &o);
	if (rc < 0)
		return rc;
	if (o.id[0]) {
		struct number_info n;
		snprintf(org_id, ID_SIZE, "%s", o.id);
		rc = number_get(st, NULL, DEMO_PHONE_NUMBER_ID, 0, &n);
		if (rc)
			return rc;
		snprintf(number_id, ID_SIZE, "%s", n.id);
		number_info_release(&n);
		return 0;
	}
	rc = org_create(st, DEMO_ORG_NAME, "clinic", "IL", "he", "Asia/Jerusalem", org_id);
	if (rc)
		return rc;
	rc = number_add(st, app->master_key, org_id, DEMO_PHONE_NUMBER_ID, DEMO_WABA_ID,
			DEMO_DISPLAY, access_token, 80, number_id);
	if (rc)
		return rc;
	int64_t now = time_now_ms();
	for (const struct demo_patient *p = demo_patients; p->wa_id; p++) {
		rc = seed_patient(st, org_id, p, now);
		if (rc) {
			log_error("demo", "seeding a patient failed: %s", cw_strerror(rc));
			return rc;
		}
	}
	log_info("demo", "seeded the demo clinic");
	return 0;
}
