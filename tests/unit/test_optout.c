/*
 * test_optout.c — unit tests for core/optout: opt-out words in English,
 * Hebrew and Russian, sentences that must not opt out, configured words,
 * buttons; the inbound handler end to end through the ingest (consent
 * withdrawn with evidence, one confirmation in the contact's language even
 * when the webhook is retried or STOP is sent twice, what is refused
 * afterwards, START); user_preferences stop / resume / signup and 131050.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sendenv.h"

#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "core/bot.h"
#include "core/ingest.h"
#include "core/optout.h"
#include "core/send.h"
#include "base/banned.h"

/* ---- matching ---- */

static void test_words(void **state)
{
	(void)state;
	struct orgconf *c = NULL;
	assert_int_equal(orgconf_parse("o", "clinic", "Asia/Jerusalem", "he", NULL, &c), 0);
	static const struct {
		const char *text;
		enum optout_kind kind;
		const char *lang;
	} yes[] = {
	    {"STOP", OPTOUT_STOP, "en"},      {"stop", OPTOUT_STOP, "en"},
	    {" Stop! ", OPTOUT_STOP, "en"},   {"STOP.", OPTOUT_STOP, "en"},
	    {"ＳＴＯＰ", OPTOUT_STOP, "en"},  {"Unsubscribe", OPTOUT_STOP, "en"},
	    {"stop  all", OPTOUT_STOP, "en"}, {"STOP 🛑", OPTOUT_STOP, "en"},
	    {"עצור", OPTOUT_STOP, "he"},      {"הסר", OPTOUT_STOP, "he"},
	    {"הֲסֵר", OPTOUT_STOP, "he"},	      {"הפסק!", OPTOUT_STOP, "he"},
	    {"הסר אותי", OPTOUT_STOP, "he"},  {"СТОП", OPTOUT_STOP, "ru"},
	    {"Стоп", OPTOUT_STOP, "ru"},      {"отписаться", OPTOUT_STOP, "ru"},
	    {"ОТПИСКА", OPTOUT_STOP, "ru"},   {"Stop promotions", OPTOUT_STOP_MARKETING, "en"},
	    {"START", OPTOUT_START, "en"},    {"התחל", OPTOUT_START, "he"},
	    {"Старт", OPTOUT_START, "ru"},
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		const char *lang = NULL;
		enum optout_kind k = optout_match_text(c, yes[i].text, &lang);
		if (k != yes[i].kind)
			fail_msg("'%s' gave %d, want %d", yes[i].text, k, yes[i].kind);
		assert_string_equal(lang, yes[i].lang);
	}
	static const char *const no[] = {
	    "Can I stop taking this pill?",
	    "stop by tomorrow?",
	    "please don't stop my reminders",
	    "stopping",
	    "stops",
	    "I want to unsubscribe from the newsletter but keep reminders",
	    "אפשר להפסיק את הכדור?",
	    "עצור את התור שלי",
	    "Можно прекратить приём таблеток? стоп",
	    "стоп-кран",
	    "cancel",
	    "",
	    "   ",
	    "!!!",
	    "\xff\xfe",
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (optout_match_text(c, no[i], NULL) != OPTOUT_NONE)
			fail_msg("'%s' opted out", no[i]);
	assert_int_equal(optout_match_text(c, NULL, NULL), OPTOUT_NONE);
	orgconf_put(c);

	/* an organisation's own words, with or without the built-in ones */
	assert_int_equal(orgconf_parse("o", "clinic", NULL, NULL,
				       "{\"optout\":{\"words\":[\"Leave me alone\"],"
				       "\"start_words\":[\"Back\"],\"payloads\":[\"BYE_BTN\"]}}",
				       &c),
			 0);
	assert_int_equal(optout_match_text(c, "leave me ALONE!", NULL), OPTOUT_STOP);
	assert_int_equal(optout_match_text(c, "back", NULL), OPTOUT_START);
	assert_int_equal(optout_match_text(c, "STOP", NULL), OPTOUT_STOP);
	struct webhook_message m = {.type = WH_MSG_BUTTON};
	m.button.payload = "bye_btn";
	m.button.text = "Not now";
	assert_int_equal(optout_match_message(c, &m, NULL), OPTOUT_STOP);
	m.button.payload = "optout"; /* the built-in payloads stay */
	assert_int_equal(optout_match_message(c, &m, NULL), OPTOUT_STOP);
	orgconf_put(c);
	assert_int_equal(orgconf_parse("o", "clinic", NULL, NULL,
				       "{\"optout\":{\"defaults\":false,\"words\":[\"בטל הכל\"]}}",
				       &c),
			 0);
	assert_int_equal(optout_match_text(c, "STOP", NULL), OPTOUT_NONE);
	assert_int_equal(optout_match_text(c, "בטל הכל", NULL), OPTOUT_STOP);
	orgconf_put(c);

	/* buttons: a template quick reply and a reply button */
	assert_int_equal(orgconf_parse("o", "clinic", NULL, NULL, NULL, &c), 0);
	struct webhook_message b = {.type = WH_MSG_BUTTON};
	b.button.payload = "promo-42";
	b.button.text = "Stop promotions";
	assert_int_equal(optout_match_message(c, &b, NULL), OPTOUT_STOP_MARKETING);
	b.button.text = "I'll come";
	assert_int_equal(optout_match_message(c, &b, NULL), OPTOUT_NONE);
	struct webhook_message ia = {.type = WH_MSG_INTERACTIVE};
	ia.interactive.type = WH_IA_BUTTON_REPLY;
	ia.interactive.reply_id = "OPTOUT";
	ia.interactive.reply_title = "No more";
	assert_int_equal(optout_match_message(c, &ia, NULL), OPTOUT_STOP);
	ia.interactive.reply_id = "menu.book";
	ia.interactive.reply_title = "Book a visit";
	assert_int_equal(optout_match_message(c, &ia, NULL), OPTOUT_NONE);
	struct webhook_message img = {.type = WH_MSG_IMAGE};
	assert_int_equal(optout_match_message(c, &img, NULL), OPTOUT_NONE);
	orgconf_put(c);
}

/* ---- end to end through the ingest ---- */

static char *webhook(const char *wa_id, const char *wamid, const char *text, int64_t at_ms)
{
	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)(at_ms / 1000));
	json_t *b =
	    json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:{s:s}, s:s}],"
		      "s:[{s:s, s:s, s:s, s:s, s:{s:s}}]}}]}]}",
		      "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes",
		      "field", "messages", "value", "messaging_product", "whatsapp", "metadata",
		      "display_phone_number", "97235550100", "phone_number_id", "PNID1", "contacts",
		      "profile", "name", "Noa", "wa_id", wa_id, "messages", "from", wa_id, "id",
		      wamid, "timestamp", ts, "type", "text", "text", "body", text);
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static char *preference(const char *wa_id, const char *value)
{
	json_t *b =
	    json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s, "
		      "s:s, s:i}]}}]}]}",
		      "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes",
		      "field", "user_preferences", "value", "messaging_product", "whatsapp",
		      "metadata", "display_phone_number", "97235550100", "phone_number_id", "PNID1",
		      "user_preferences", "wa_id", wa_id, "detail", "d", "category",
		      "marketing_messages", "value", value, "timestamp", (int)(SENDENV_NOW / 1000));
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static char *failed_status(const char *wamid, int code)
{
	json_t *b = json_pack(
	    "{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s, "
	    "s:[{s:i, s:s}]}]}}]}]}",
	    "object", "whatsapp_business_account", "entry", "id", "WABA1", "changes", "field",
	    "messages", "value", "messaging_product", "whatsapp", "metadata",
	    "display_phone_number", "97235550100", "phone_number_id", "PNID1", "statuses", "id",
	    wamid, "status", "failed", "timestamp", "1795341600", "recipient_id", "972521234567",
	    "errors", "code", code, "title", "Marketing messages stopped");
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void deliver(struct ingest *ing, char *body)
{
	assert_int_equal(ingest_accept(ing, body, strlen(body), NULL, NULL), 0);
	assert_true(ingest_drain(ing) >= 1);
	free(body);
}

static struct ingest *new_ingest(struct sendenv *e)
{
	struct ingest *ing = ingest_new(e->db.st);
	ingest_add_inbound(ing, "optout", optout_on_inbound, NULL);
	ingest_add_inbound(ing, "bot", bot_on_inbound, NULL);
	ingest_add_event(ing, "optout", optout_on_event, NULL);
	return ing;
}

static json_t *tpl(const char *name)
{
	return json_pack("{s:s, s:{s:s, s:{s:s}, s:[{s:s, s:[{s:s, s:s}]}]}}", "type", "template",
			 "template", "name", name, "language", "code", "he", "components", "type",
			 "body", "parameters", "type", "text", "text", "x");
}

static enum policy_reason try_send(struct sendenv *e, const char *contact, enum policy_purpose p,
				   const char *name, const char *key)
{
	json_t *body = tpl(name);
	struct send_request rq = {.org_id = e->db.org,
				  .contact_id = contact,
				  .purpose = p,
				  .payload = body,
				  .producer = "test",
				  .idem_key = key,
				  .priority = -1};
	struct send_result r;
	assert_int_equal(send_submit(e->db.st, &rq, &r), 0);
	json_decref(body);
	return r.decision.reason;
}

static long long confirmations(struct sendenv *e, const char *contact)
{
	return sendenv_int(e,
			   "SELECT count(*) FROM outbox WHERE producer = 'optout' AND "
			   "contact_id = '%s'",
			   contact);
}

static void test_stop_end_to_end(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "ru", "Asia/Jerusalem");
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "surveys", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "before"), POLICY_R_NONE);

	struct ingest *ing = new_ingest(&e);
	char *body = webhook("972521234567", "wamid.stop1", "СТОП", SENDENV_NOW);
	/* Meta retries the same webhook: applied once, answered once */
	assert_int_equal(ingest_accept(ing, body, strlen(body), NULL, NULL), 0);
	deliver(ing, body);

	struct optout_state os;
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.opted_out, 1);
	assert_int_equal(os.opted_out_at, SENDENV_NOW);
	assert_int_equal(confirmations(&e, c), 1);
	/* in the contact's language (Russian), as a service reply */
	char *text = sendenv_text(&e,
				  "SELECT json_extract(payload, '$.text.body') FROM outbox "
				  "WHERE producer = 'optout' AND contact_id = '%s'",
				  c);
	assert_non_null(strstr(text, "Вы отписались"));
	free(text);
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM decisions WHERE producer = 'optout' "
				     "AND outcome = 'allow' AND purpose = 'service' AND "
				     "contact_id = '%s'",
				     c),
			 1);
	/* the bot did not answer "СТОП" */
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM outbox WHERE producer = 'bot' AND "
				     "contact_id = '%s'",
				     c),
			 0);
	/* marketing and surveys withdrawn with source whatsapp and the words */
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM consents WHERE contact_id = '%s' "
				     "AND status = 'withdrawn' AND source = 'whatsapp' AND "
				     "evidence = 'WhatsApp message \"СТОП\"' AND purpose IN "
				     "('marketing','surveys')",
				     c),
			 2);
	/* reminders keep their record */
	char *rem = sendenv_text(&e,
				 "SELECT status FROM consent_current WHERE contact_id = '%s' "
				 "AND purpose = 'reminders'",
				 c);
	assert_string_equal(rem, "granted");
	free(rem);

	/* a second STOP changes nothing and is not confirmed again */
	deliver(ing, webhook("972521234567", "wamid.stop2", "stop", SENDENV_NOW + SENDENV_MIN));
	assert_int_equal(confirmations(&e, c), 1);
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM consents WHERE contact_id = '%s' "
				     "AND status = 'withdrawn'",
				     c),
			 2);

	/* afterwards: no marketing, nothing business-initiated */
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "after1"),
			 POLICY_R_CONSENT_WITHDRAWN);
	assert_int_equal(try_send(&e, c, POLICY_REMINDERS, "appt_reminder", "after2"),
			 POLICY_R_OPTED_OUT);
	/* a question is still answered (the bot's service reply) */
	deliver(ing, webhook("972521234567", "wamid.q1", "hi", SENDENV_NOW + 2 * SENDENV_MIN));
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM decisions WHERE producer = 'bot' AND "
				     "outcome = 'allow' AND contact_id = '%s'",
				     c),
			 1);

	/* START: reminders again; marketing only with a new explicit consent */
	deliver(ing,
		webhook("972521234567", "wamid.start1", "Старт!", SENDENV_NOW + 3 * SENDENV_MIN));
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.opted_out, 0);
	assert_int_equal(os.opted_in_at, SENDENV_NOW);
	assert_int_equal(confirmations(&e, c), 2);
	assert_int_equal(try_send(&e, c, POLICY_REMINDERS, "appt_reminder", "after3"),
			 POLICY_R_NONE);
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "after4"),
			 POLICY_R_CONSENT_WITHDRAWN);
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW + SENDENV_HOUR);
	time_clock_set(SENDENV_NOW + 2 * SENDENV_HOUR);
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "after5"), POLICY_R_NONE);

	/* "start" from someone who never opted out is a greeting for the bot */
	const char *d = sendenv_contact(&e, "972529999999", "en", "Asia/Jerusalem");
	deliver(ing,
		webhook("972529999999", "wamid.start2", "start", SENDENV_NOW + 2 * SENDENV_HOUR));
	assert_int_equal(confirmations(&e, d), 0);
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM outbox WHERE producer = 'bot' AND "
				     "contact_id = '%s'",
				     d),
			 1);
	/* a question with "stop" in it goes on to the bot / inbox */
	deliver(ing, webhook("972529999999", "wamid.q2", "Can I stop taking this pill?",
			     SENDENV_NOW + 2 * SENDENV_HOUR + SENDENV_MIN));
	assert_int_equal(optout_get(e.db.st, d, &os), 0);
	assert_int_equal(os.opted_out, 0);
	assert_int_equal(confirmations(&e, d), 0);
	ingest_free(ing);
	sendenv_close(&e);
}

static void test_confirmation_language(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	sendenv_settings(&e, "{\"optout\":{\"confirmation\":{\"en\":\"Done. Bye.\"}}}");
	const char *he = sendenv_contact(&e, "972521000001", "he", "Asia/Jerusalem");
	const char *en = sendenv_contact(&e, "972521000002", "en-GB", "Asia/Jerusalem");
	const char *none = sendenv_contact(&e, "972521000003", NULL, "Asia/Jerusalem");
	struct ingest *ing = new_ingest(&e);
	deliver(ing, webhook("972521000001", "wamid.l1", "STOP", SENDENV_NOW));
	deliver(ing, webhook("972521000002", "wamid.l2", "stop", SENDENV_NOW));
	deliver(ing, webhook("972521000003", "wamid.l3", "Отписаться", SENDENV_NOW));
	char *t = sendenv_text(&e,
			       "SELECT json_extract(payload, '$.text.body') FROM outbox WHERE "
			       "producer = 'optout' AND contact_id = '%s'",
			       he);
	assert_non_null(strstr(t, "הוסרת"));
	free(t);
	t = sendenv_text(&e,
			 "SELECT json_extract(payload, '$.text.body') FROM outbox WHERE "
			 "producer = 'optout' AND contact_id = '%s'",
			 en);
	assert_string_equal(t, "Done. Bye."); /* the organisation's own text */
	free(t);
	/* no language on record: the word's (the contact row was made before
	 * the message, so the ingest did not guess one) */
	t = sendenv_text(&e,
			 "SELECT json_extract(payload, '$.text.body') FROM outbox WHERE "
			 "producer = 'optout' AND contact_id = '%s'",
			 none);
	assert_non_null(strstr(t, "Вы отписались"));
	free(t);
	ingest_free(ing);
	sendenv_close(&e);
}

static void test_marketing_word(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "en", "Asia/Jerusalem");
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "reminders", "granted", SENDENV_NOW - SENDENV_DAY);
	struct ingest *ing = new_ingest(&e);
	deliver(ing, webhook("972521234567", "wamid.m1", "Stop promotions", SENDENV_NOW));
	assert_int_equal(confirmations(&e, c), 1);
	struct optout_state os;
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.opted_out, 0);
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "m1"),
			 POLICY_R_CONSENT_WITHDRAWN);
	assert_int_equal(try_send(&e, c, POLICY_REMINDERS, "appt_reminder", "m2"), POLICY_R_NONE);
	/* again: nothing more to withdraw, no second confirmation */
	deliver(ing, webhook("972521234567", "wamid.m2", "stop promotions", SENDENV_NOW + 1000));
	assert_int_equal(confirmations(&e, c), 1);
	ingest_free(ing);
	sendenv_close(&e);
}

static void test_preferences_and_131050(void **state)
{
	(void)state;
	struct sendenv e;
	sendenv_open(&e);
	const char *c = sendenv_contact(&e, "972521234567", "he", "Asia/Jerusalem");
	sendenv_consent(&e, c, "marketing", "granted", SENDENV_NOW - SENDENV_DAY);
	sendenv_consent(&e, c, "surveys", "granted", SENDENV_NOW - SENDENV_DAY);
	struct ingest *ing = new_ingest(&e);
	struct optout_state os;

	deliver(ing, preference("972521234567", "stop"));
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.marketing_stopped, 1);
	assert_int_equal(os.opted_out, 0);
	assert_int_equal(sendenv_int(&e,
				     "SELECT count(*) FROM consents WHERE contact_id = '%s' "
				     "AND purpose = 'marketing' AND status = 'withdrawn' AND "
				     "source = 'whatsapp'",
				     c),
			 1);
	assert_int_equal(try_send(&e, c, POLICY_SURVEYS, "survey", "p1"),
			 POLICY_R_MARKETING_STOPPED);
	/* no confirmation: WhatsApp itself told the person */
	assert_int_equal(confirmations(&e, c), 0);

	/* resume clears the flag but grants nothing */
	deliver(ing, preference("972521234567", "resume"));
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.marketing_stopped, 0);
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "p2"),
			 POLICY_R_CONSENT_WITHDRAWN);
	assert_int_equal(try_send(&e, c, POLICY_SURVEYS, "survey", "p3"), POLICY_R_NONE);

	/* signing up through WhatsApp's marketing sign-up is a new consent */
	time_clock_set(SENDENV_NOW + SENDENV_HOUR);
	deliver(ing, preference("972521234567", "signup"));
	assert_int_equal(try_send(&e, c, POLICY_MARKETING, "promo", "p4"), POLICY_R_NONE);

	/* an unknown person's preference is ignored */
	deliver(ing, preference("15550000000", "stop"));
	assert_int_equal(testdb_int(&e.db, "SELECT count(*) FROM contact_optout"), 1);

	/* a marketing message failed with 131050: the flag is set */
	char *mid =
	    sendenv_text(&e, "SELECT message_id FROM decisions WHERE idem_key = '%s'", "p4");
	assert_non_null(mid);
	struct store_val a[] = {SV_TEXT(mid), SV_TEXT("wamid.m131050"),
				SV_INT(SENDENV_NOW + SENDENV_HOUR)};
	assert_int_equal(store_exec(e.db.st, "message.set_wamid", a, 3, NULL), 0);
	free(mid);
	deliver(ing, failed_status("wamid.m131050", 131050));
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.marketing_stopped, 1);
	/* another failure code does nothing */
	deliver(ing, preference("972521234567", "resume"));
	deliver(ing, failed_status("wamid.m131050", 131026));
	assert_int_equal(optout_get(e.db.st, c, &os), 0);
	assert_int_equal(os.marketing_stopped, 0);
	ingest_free(ing);
	sendenv_close(&e);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_stop_end_to_end),
	    cmocka_unit_test(test_confirmation_language),
	    cmocka_unit_test(test_marketing_word),
	    cmocka_unit_test(test_preferences_and_131050),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	text_thread_release();
	return rc;
}
