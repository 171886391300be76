/*
 * bot.c — welcome and menu answers (see bot.h).
 */
#include "core/bot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "core/send.h"
#include "wa/msg.h"
#include "base/banned.h"

struct lang_texts {
	const char *lang;
	const char *welcome; /* %s: the person's name or "" */
	const char *book, *results, *human;
	const char *ans_book, *ans_results, *ans_human;
};

static const struct lang_texts texts[] = {
	{"en", "Hello%s! This is your clinic on WhatsApp. How can we help?", "Book a visit",
	 "My results", "Talk to us",
	 "We will offer you the next free times here shortly.",
	 "We will let you know here as soon as your results are ready.",
	 "A member of our team will answer you here."},
	{"he", "שלום%s! כאן המרפאה שלך בוואטסאפ. איך נוכל לעזור?", "קביעת תור", "התוצאות שלי",
	 "לדבר איתנו", "נציע לך כאן בקרוב את המועדים הפנויים הקרובים.",
	 "נעדכן אותך כאן ברגע שהתוצאות יהיו מוכנות.", "נציג מהצוות שלנו יענה לך כאן."},
	{"ru", "Здравствуйте%s! Это ваша клиника в WhatsApp. Чем мы можем помочь?",
	 "Записаться", "Мои анализы", "Связаться с нами",
	 "Скоро мы предложим вам ближайшее свободное время.",
	 "Мы сообщим вам здесь, как только результаты будут готовы.",
	 "Сотрудник клиники ответит вам здесь."},
};

static const struct lang_texts *texts_for(const char *lang)
{
	for (unsigned i = 0; lang && i < sizeof texts / sizeof texts[0]; i++)
		if (strcmp(lang, texts[i].lang) == 0)
			return &texts[i];
	return &texts[0];
}

struct contact_row {
	char lang[16];
	char name[128];
	char wa_id[32];
};

static int contact_cb(void *ud, const struct store_row *row)
{
	struct contact_row *c = ud;
	const char *v = store_row_text(row, 6);
	snprintf(c->lang, sizeof c->lang, "%s", v ? v : "");
	v = store_row_text(row, 5);
	snprintf(c->name, sizeof c->name, "%s", v ? v : "");
	v = store_row_text(row, 3);
	snprintf(c->wa_id, sizeof c->wa_id, "%s", v ? v : "");
	return 1;
}

/* Every reply goes through the send path: a service reply to what the
 * person just wrote, decided on and logged like any other message. */
static int queue(struct store_tx *tx, const struct inbound *in, json_t *payload, const char *kind)
{
	struct wa_msg_error err;
	if (wa_msg_validate_json(payload, &err) != 0) {
		log_error("bot", "built an invalid %s message: %s: %s", kind, err.field, err.message);
		json_decref(payload);
		return CW_EINTERNAL;
	}
	char key[OUTBOX_IDEM_MAX];
	snprintf(key, sizeof key, "bot:%s:%s", kind, in->ev->msg.wamid);
	struct send_request rq = {.org_id = in->org_id,
				  .number_id = in->number_id,
				  .contact_id = in->contact_id,
				  .purpose = POLICY_SERVICE,
				  .payload = payload,
				  .producer = "bot",
				  .idem_key = key,
				  .priority = OUTBOX_PRIO_TRANSACTIONAL,
				  .is_reply = 1};
	struct send_result res;
	int rc = send_submit_tx(tx, &rq, in->now_ms, &res);
	json_decref(payload);
	if (rc == 0 && res.decision.outcome != POLICY_ALLOW)
		log_info("bot", "the %s reply was not sent: %s", kind,
			 policy_reason_code(res.decision.reason));
	return rc;
}

static json_t *text_body(const char *to, const char *text)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "messaging_product", "whatsapp",
			 "recipient_type", "individual", "to", to, "type", "text", "text", "body",
			 text);
}

static json_t *welcome_body(const char *to, const struct lang_texts *t, const char *name)
{
	char body[512], who[140] = "";
	if (name && *name)
		snprintf(who, sizeof who, ", %s", name);
	snprintf(body, sizeof body, t->welcome, who);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}, s:{s:[{s:s, s:{s:s, s:s}},"
			 "{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}}}",
			 "messaging_product", "whatsapp", "recipient_type", "individual", "to", to,
			 "type", "interactive", "interactive", "type", "button", "body", "text",
			 body, "action", "buttons", "type", "reply", "reply", "id", BOT_BTN_BOOK,
			 "title", t->book, "type", "reply", "reply", "id", BOT_BTN_RESULTS, "title",
			 t->results, "type", "reply", "reply", "id", BOT_BTN_HUMAN, "title",
			 t->human);
}

/* Words that ask for the menu, compared after case folding. */
static const char *const greetings[] = {
	"hi",     "hello", "hey",    "menu",   "start",  "שלום", "היי",   "תפריט",
	"הי",     "привет", "здравствуйте", "меню", "начать", "добрый день",
};

int bot_is_greeting(const char *text)
{
	if (!text)
		return 0;
	char *f = text_casefold(text);
	if (!f)
		return 0;
	/* trim spaces and trailing punctuation */
	size_t n = strlen(f);
	while (n && (f[n - 1] == ' ' || f[n - 1] == '!' || f[n - 1] == '.' || f[n - 1] == '?' ||
		     f[n - 1] == '\n'))
		f[--n] = '\0';
	const char *p = f;
	while (*p == ' ')
		p++;
	int hit = 0;
	for (unsigned i = 0; i < sizeof greetings / sizeof greetings[0] && !hit; i++)
		hit = strcmp(p, greetings[i]) == 0;
	free(f);
	return hit;
}

int bot_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in)
{
	(void)ud;
	const struct webhook_message *m = &in->ev->msg;
	struct contact_row c = {{0}};
	struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT(in->contact_id)};
	int rc = store_tx_query(tx, "contact.get", a, 2, contact_cb, &c);
	if (rc < 0)
		return rc;
	const char *to = m->from ? m->from : c.wa_id;
	if (!to || !*to)
		return INBOUND_CONTINUE;
	const struct lang_texts *t = texts_for(c.lang);

	const char *tapped = NULL;
	if (m->type == WH_MSG_INTERACTIVE && m->interactive.type == WH_IA_BUTTON_REPLY)
		tapped = m->interactive.reply_id;
	if (tapped) {
		const char *answer = NULL;
		if (strcmp(tapped, BOT_BTN_BOOK) == 0)
			answer = t->ans_book;
		else if (strcmp(tapped, BOT_BTN_RESULTS) == 0)
			answer = t->ans_results;
		else if (strcmp(tapped, BOT_BTN_HUMAN) == 0)
			answer = t->ans_human;
		if (!answer)
			return INBOUND_CONTINUE;
		rc = queue(tx, in, text_body(to, answer), "menu");
		if (rc)
			return rc;
		/* "Talk to us" goes on to the inbox, where a person picks it up. */
		return strcmp(tapped, BOT_BTN_HUMAN) == 0 ? INBOUND_CONTINUE : INBOUND_HANDLED;
	}
	if (m->type != WH_MSG_TEXT || !(in->new_contact || bot_is_greeting(m->text)))
		return INBOUND_CONTINUE; /* a question for a person: the inbox takes it */
	rc = queue(tx, in, welcome_body(to, t, c.name), "welcome");
	if (rc)
		return rc;
	/* A first message that asks something ("Can I move my appointment?")
	 * gets the welcome and still reaches a person in the inbox. */
	return bot_is_greeting(m->text) ? INBOUND_HANDLED : INBOUND_CONTINUE;
}
