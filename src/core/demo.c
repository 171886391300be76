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

/* clang-format off */
const struct demo_template demo_templates[] = {
	/* event_rsvp.json */
	{"event_invite", "he", "MARKETING",
	 "שלום {{1}}, אנו מזמינים אותך להרצאה \"{{2}}\" ב-{{3}}. האם תגיע/י?", "אגיע|לא אוכל"},
	{"event_invite", "ru", "MARKETING",
	 "Здравствуйте, {{1}}! Приглашаем вас на лекцию «{{2}}» {{3}}. Вы придёте?",
	 "Я приду|Не смогу"},
	{"event_invite", "en", "MARKETING",
	 "Hello {{1}}, you are invited to the lecture \"{{2}}\" on {{3}}. Will you come?",
	 "I'll come|I can't"},
	{"event_invite_reminder", "he", "MARKETING",
	 "רק מזכירים בעדינות: ההרצאה \"{{1}}\" תתקיים ב-{{2}}. נשמח לדעת אם תגיע/י.",
	 "אגיע|לא אוכל"},
	{"event_invite_reminder", "ru", "MARKETING",
	 "Мягко напоминаем: лекция «{{1}}» пройдёт {{2}}. Будем рады узнать, придёте ли вы.",
	 "Я приду|Не смогу"},
	{"event_invite_reminder", "en", "MARKETING",
	 "A gentle reminder: the lecture \"{{1}}\" is on {{2}}. We would love to know if you "
	 "can come.", "I'll come|I can't"},
	{"event_reminder", "he", "UTILITY", "תזכורת: ההרצאה \"{{1}}\" ב-{{2}} ב{{3}}.", NULL},
	{"event_reminder", "ru", "UTILITY", "Напоминание: лекция «{{1}}» {{2}}, {{3}}.", NULL},
	{"event_reminder", "en", "UTILITY", "Reminder: the lecture \"{{1}}\" on {{2}} at {{3}}.",
	 NULL},
	/* conference.json, conference_update.json */
	{"conference_confirmed", "he", "UTILITY",
	 "ההרשמה שלך ל{{1}} אושרה. נתראה ב-{{2}} ב{{3}}.", NULL},
	{"conference_confirmed", "ru", "UTILITY",
	 "Ваша регистрация на {{1}} подтверждена. Ждём вас {{2}}, {{3}}.", NULL},
	{"conference_confirmed", "en", "UTILITY",
	 "Your registration for {{1}} is confirmed. See you on {{2}} at {{3}}.", NULL},
	{"conference_reminder", "he", "UTILITY", "תזכורת: {{1}} ב-{{2}}, {{3}}.", NULL},
	{"conference_reminder", "ru", "UTILITY", "Напоминание: {{1}} {{2}}, {{3}}.", NULL},
	{"conference_reminder", "en", "UTILITY", "Reminder: {{1}} on {{2}}, {{3}}.", NULL},
	{"conference_thanks", "he", "UTILITY",
	 "תודה שהשתתפת ב{{1}}! איך היה? נשמח לדירוג מ-1 עד 5.", NULL},
	{"conference_thanks", "ru", "UTILITY",
	 "Спасибо за участие в {{1}}! Как вам? Оцените от 1 до 5.", NULL},
	{"conference_thanks", "en", "UTILITY",
	 "Thank you for attending {{1}}! How was it? Please rate it from 1 to 5.", NULL},
	{"conference_cancelled", "he", "UTILITY", "ההרשמה שלך ל{{1}} בוטלה.", NULL},
	{"conference_cancelled", "ru", "UTILITY", "Ваша регистрация на {{1}} отменена.", NULL},
	{"conference_cancelled", "en", "UTILITY", "Your registration for {{1}} is cancelled.", NULL},
	{"conference_update", "he", "UTILITY", "עדכון חשוב: {{1}}", NULL},
	{"conference_update", "ru", "UTILITY", "Важное сообщение: {{1}}", NULL},
	{"conference_update", "en", "UTILITY", "Important update: {{1}}", NULL},
	/* missed_call.json */
	{"missed_call", "he", "UTILITY",
	 "שלום {{1}}, ניסינו להשיג אותך בטלפון ולא הצלחנו. איך נמשיך?",
	 "התקשרו אליי|נדבר כאן|אשלח הודעה קולית"},
	{"missed_call", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! Мы пытались до вас дозвониться. Как продолжим?",
	 "Перезвоните мне|Напишите здесь|Голосовое"},
	{"missed_call", "en", "UTILITY",
	 "Hello {{1}}, we tried to reach you by phone. How would you like to continue?",
	 "Call me back|Chat now|Voice note"},
	/* periodic_recall.json */
	{"recall_invite", "he", "UTILITY",
	 "שלום {{1}}, עברו שלושה חודשים מהביקור האחרון ({{2}}). הגיע הזמן לקבוע את הבא.",
	 "לקביעת תור|מאוחר יותר"},
	{"recall_invite", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! Прошло три месяца после последнего визита ({{2}}). "
	 "Пора записаться снова.", "Записаться|Позже"},
	{"recall_invite", "en", "UTILITY",
	 "Hello {{1}}, it has been three months since your last visit ({{2}}). Time to book the "
	 "next one.", "Book|Later"},
	/* pharmacy_order.json */
	{"order_accepted", "he", "UTILITY",
	 "הזמנה {{1}} התקבלה ובטיפול. נעדכן כשתהיה מוכנה לאיסוף.", NULL},
	{"order_accepted", "ru", "UTILITY",
	 "Заказ {{1}} принят. Мы сообщим, когда его можно будет забрать.", NULL},
	{"order_accepted", "en", "UTILITY",
	 "Order {{1}} is accepted. We will let you know when it is ready for pickup.", NULL},
	{"order_ready", "he", "UTILITY",
	 "הזמנה {{1}} מוכנה לאיסוף ב{{2}}. לתשלום: {{3}}. שעות פתיחה: {{4}}.", NULL},
	{"order_ready", "ru", "UTILITY",
	 "Заказ {{1}} готов к выдаче: {{2}}. К оплате: {{3}}. Часы работы: {{4}}.", NULL},
	{"order_ready", "en", "UTILITY",
	 "Order {{1}} is ready for pickup at {{2}}. Amount due: {{3}}. Opening hours: {{4}}.",
	 NULL},
	{"order_pickup_reminder", "he", "UTILITY",
	 "תזכורת: הזמנה {{1}} עדיין מחכה לך ב{{2}} ({{3}}).", NULL},
	{"order_pickup_reminder", "ru", "UTILITY",
	 "Напоминаем: заказ {{1}} ждёт вас по адресу {{2}} ({{3}}).", NULL},
	{"order_pickup_reminder", "en", "UTILITY",
	 "A reminder: order {{1}} is still waiting for you at {{2}} ({{3}}).", NULL},
	{"order_cancelled", "he", "UTILITY", "הזמנה {{1}} בוטלה.", NULL},
	{"order_cancelled", "ru", "UTILITY", "Заказ {{1}} отменён.", NULL},
	{"order_cancelled", "en", "UTILITY", "Order {{1}} was cancelled.", NULL},
	/* results_ready.json */
	{"contact_your_doctor", "he", "UTILITY",
	 "שלום {{1}}, יש עדכון לגבי הבדיקה שלך. נא לפנות לרופא/ה המטפל/ת.", NULL},
	{"contact_your_doctor", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! По вашему обследованию есть новости. Пожалуйста, свяжитесь с "
	 "лечащим врачом.", NULL},
	{"contact_your_doctor", "en", "UTILITY",
	 "Hello {{1}}, there is news about your test. Please contact your doctor.", NULL},
	{"results_link", "he", "UTILITY",
	 "שלום {{1}}, תוצאות הבדיקה שלך זמינות בקישור המאובטח: {{2}}", NULL},
	{"results_link", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! Ваши результаты доступны по защищённой ссылке: {{2}}", NULL},
	{"results_link", "en", "UTILITY",
	 "Hello {{1}}, your results are available at this secure link: {{2}}", NULL},
	{"results_ready", "he", "UTILITY",
	 "שלום {{1}}, תוצאות הבדיקה שלך מוכנות. אפשר להגיע למרפאה או להתקשר אלינו.", NULL},
	{"results_ready", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! Ваши результаты готовы. Приходите в клинику или позвоните нам.",
	 NULL},
	{"results_ready", "en", "UTILITY",
	 "Hello {{1}}, your results are ready. Please come in or call us.", NULL},
	/* review_on_crm.json */
	{"order_review", "he", "MARKETING", "שלום {{1}}, ההזמנה שלך התקבלה. איך היה השירות?",
	 "⭐⭐⭐⭐⭐ מצוין|⭐⭐⭐ בסדר|⭐ לא טוב"},
	{"order_review", "ru", "MARKETING",
	 "Здравствуйте, {{1}}! Ваш заказ получен. Как вам наше обслуживание?",
	 "⭐⭐⭐⭐⭐ Отлично|⭐⭐⭐ Нормально|⭐ Плохо"},
	{"order_review", "en", "MARKETING",
	 "Hello {{1}}, your order has been received. How was our service?",
	 "⭐⭐⭐⭐⭐ Excellent|⭐⭐⭐ OK|⭐ Poor"},
	/* visit_feedback.json */
	{"visit_feedback", "he", "UTILITY",
	 "שלום {{1}}, איך היה הביקור שלך היום? נשמח לדירוג מ-1 עד 5.", NULL},
	{"visit_feedback", "ru", "UTILITY",
	 "Здравствуйте, {{1}}! Как прошёл ваш визит? Оцените, пожалуйста, от 1 до 5.", NULL},
	{"visit_feedback", "en", "UTILITY",
	 "Hello {{1}}, how was your visit today? Please rate it from 1 to 5.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

char *demo_template_components(const struct demo_template *t)
{
	/* one example value per {{n}} */
	json_t *examples = json_array();
	for (const char *p = strstr(t->body, "{{"); p; p = strstr(p + 2, "{{"))
		json_array_append_new(examples, json_string("example"));
	json_t *body = json_pack("{s:s, s:s}", "type", "BODY", "text", t->body);
	if (json_array_size(examples))
		json_object_set_new(body, "example", json_pack("{s:[O]}", "body_text", examples));
	json_decref(examples);
	json_t *comps = json_pack("[o]", body);
	if (t->buttons) {
		json_t *buttons = json_array();
		const char *p = t->buttons;
		for (;;) {
			size_t n = strcspn(p, "|");
			json_array_append_new(
			    buttons, json_pack("{s:s, s:s%}", "type", "QUICK_REPLY", "text", p, n));
			if (!p[n])
				break;
			p += n + 1;
		}
		json_array_append_new(
		    comps, json_pack("{s:s, s:o}", "type", "BUTTONS", "buttons", buttons));
	}
	char *out = json_dumps(comps, JSON_COMPACT);
	json_decref(comps);
	return out;
}

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
