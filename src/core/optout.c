/*
 * optout.c — opt-out words and buttons, WhatsApp's marketing stop, opting
 * back in (see optout.h and docs/optout.md).
 */
#include "core/optout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/log.h"
#include "base/text.h"
#include "base/time.h"
#include "core/consent.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "core/send.h"
#include "base/banned.h"

#define MARKETING_STOPPED_CODE 131050
#define EVIDENCE_MAX	       160

/* ---- confirmations, by language ---- */

struct confirm_texts {
	const char *lang;
	const char *stop, *stop_marketing, *start;
};

static const struct confirm_texts confirmations[] = {
    {"en",
     "You have unsubscribed: we will not send you reminders, results, surveys or offers "
     "any more. You can still write to us here and we will answer. To get reminders and "
     "results again, send START.",
     "You will not receive offers and news from us any more. Reminders and answers to "
     "your questions continue.",
     "Welcome back: reminders and results will reach you here again. Offers and surveys "
     "stay off until you agree to them again."},
    {"he",
     "הוסרת מרשימת התפוצה: לא נשלח לך יותר תזכורות, תוצאות, סקרים או מבצעים. אפשר "
     "עדיין לכתוב לנו כאן ונענה. כדי לקבל שוב תזכורות ותוצאות, שלחו התחל.",
     "לא יישלחו אליך יותר מבצעים וחדשות. תזכורות ומענה לשאלות שלך ימשיכו.",
     "ברוכים השבים: תזכורות ותוצאות יגיעו אליך כאן שוב. מבצעים וסקרים יישארו כבויים "
     "עד שתסכימו להם מחדש."},
    {"ru",
     "Вы отписались: мы больше не будем присылать вам напоминания, результаты, опросы и "
     "предложения. Вы по-прежнему можете написать нам здесь, и мы ответим. Чтобы снова "
     "получать напоминания и результаты, отправьте СТАРТ.",
     "Вы больше не будете получать от нас предложения и новости. Напоминания и ответы на "
     "ваши вопросы сохранятся.",
     "С возвращением: напоминания и результаты снова будут приходить сюда. Предложения и "
     "опросы останутся отключены, пока вы снова не дадите на них согласие."},
};

/* ---- matching ---- */

enum optout_kind optout_match_text(const struct orgconf *conf, const char *text, const char **lang)
{
	char folded[ORGCONF_WORD_MAX];
	if (lang)
		*lang = NULL;
	if (!conf || !text || !*text)
		return OPTOUT_NONE;
	/* A phrase longer than the longest allowed one cannot be one: skip
	 * folding a long question. */
	if (strlen(text) > 4 * ORGCONF_WORD_MAX)
		return OPTOUT_NONE;
	if (orgconf_fold_phrase(text, folded, sizeof folded) <= 0)
		return OPTOUT_NONE;
	for (int i = 0; i < conf->nwords; i++) {
		if (strcmp(conf->words[i].phrase, folded) != 0)
			continue;
		if (lang)
			*lang = conf->words[i].lang;
		switch (conf->words[i].kind) {
		case ORGCONF_STOP:
			return OPTOUT_STOP;
		case ORGCONF_STOP_MARKETING:
			return OPTOUT_STOP_MARKETING;
		case ORGCONF_START:
			return OPTOUT_START;
		}
	}
	return OPTOUT_NONE;
}

static int is_payload(const struct orgconf *conf, const char *payload)
{
	if (!payload || !*payload || strlen(payload) > 256)
		return 0;
	char *f = text_casefold(payload);
	int hit = 0;
	for (int i = 0; f && i < conf->npayloads && !hit; i++)
		hit = strcmp(f, conf->payloads[i]) == 0;
	free(f);
	return hit;
}

enum optout_kind optout_match_message(const struct orgconf *conf, const struct webhook_message *m,
				      const char **lang)
{
	if (lang)
		*lang = NULL;
	if (!conf || !m)
		return OPTOUT_NONE;
	switch (m->type) {
	case WH_MSG_TEXT:
		return optout_match_text(conf, m->text, lang);
	case WH_MSG_BUTTON:
		if (is_payload(conf, m->button.payload))
			return OPTOUT_STOP;
		{
			enum optout_kind k = optout_match_text(conf, m->button.payload, lang);
			return k != OPTOUT_NONE ? k : optout_match_text(conf, m->button.text, lang);
		}
	case WH_MSG_INTERACTIVE:
		if (m->interactive.type != WH_IA_BUTTON_REPLY &&
		    m->interactive.type != WH_IA_LIST_REPLY)
			return OPTOUT_NONE;
		if (is_payload(conf, m->interactive.reply_id))
			return OPTOUT_STOP;
		return optout_match_text(conf, m->interactive.reply_title, lang);
	default:
		return OPTOUT_NONE;
	}
}

/* ---- state ---- */

struct consents {
	char status[POLICY_PURPOSE_COUNT][16];
};

static int consents_cb(void *ud, const struct store_row *row)
{
	struct consents *c = ud;
	int p = policy_purpose_parse(store_row_text(row, 0));
	const char *s = store_row_text(row, 1);
	if (p >= 0 && s)
		snprintf(c->status[p], sizeof c->status[p], "%s", s);
	return 0;
}

/* Records a withdrawal of purpose unless the current record already says
 * withdrawn or refused. *recorded is set when one was written. */
static int withdraw(struct store_tx *tx, const char *org_id, const char *contact_id,
		    const struct consents *cur, enum policy_purpose p, const char *evidence,
		    int64_t now, int *recorded)
{
	const char *s = cur->status[p];
	if (strcmp(s, "withdrawn") == 0 || strcmp(s, "refused") == 0)
		return 0;
	struct consent_input ci = {.purpose = policy_purpose_name(p),
				   .status = "withdrawn",
				   .source = "whatsapp",
				   .evidence = evidence,
				   .at = now};
	int rc = consent_record_tx(tx, org_id, contact_id, &ci, "system:optout", NULL);
	if (rc == 0)
		*recorded = 1;
	return rc;
}

static int load_consents(struct store_tx *tx, const char *contact_id, struct consents *cur)
{
	memset(cur, 0, sizeof *cur);
	struct store_val a[] = {SV_TEXT(contact_id)};
	int rc = store_tx_query(tx, "send.consents", a, 1, consents_cb, cur);
	return rc < 0 ? rc : 0;
}

int optout_stop_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
		   const char *evidence, int64_t now, int *changed)
{
	struct consents cur;
	int64_t n = 0;
	int recorded = 0;
	if (changed)
		*changed = 0;
	int rc = load_consents(tx, contact_id, &cur);
	if (rc)
		return rc;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id), SV_INT(now)};
	rc = store_tx_exec(tx, "optout.opt_out", a, 3, &n);
	if (rc)
		return rc;
	/* Marketing and surveys are withdrawn for good: only a new explicit
	 * consent brings them back, START does not. Reminders and results keep
	 * their records; the opt-out holds them back until START. */
	rc = withdraw(tx, org_id, contact_id, &cur, POLICY_MARKETING, evidence, now, &recorded);
	if (!rc)
		rc = withdraw(tx, org_id, contact_id, &cur, POLICY_SURVEYS, evidence, now,
			      &recorded);
	if (rc)
		return rc;
	if (changed)
		*changed = n > 0;
	return 0;
}

int optout_stop_marketing_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
			     const char *evidence, int64_t now, int *changed)
{
	struct consents cur;
	int recorded = 0;
	if (changed)
		*changed = 0;
	int rc = load_consents(tx, contact_id, &cur);
	if (!rc)
		rc = withdraw(tx, org_id, contact_id, &cur, POLICY_MARKETING, evidence, now,
			      &recorded);
	if (!rc && changed)
		*changed = recorded;
	return rc;
}

int optout_start_tx(struct store_tx *tx, const char *contact_id, int64_t now, int *changed)
{
	int64_t n = 0;
	struct store_val a[] = {SV_TEXT(contact_id), SV_INT(now)};
	int rc = store_tx_exec(tx, "optout.opt_in", a, 2, &n);
	if (changed)
		*changed = rc == 0 && n > 0;
	return rc;
}

int optout_marketing_stopped_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
				int stopped, const char *evidence, int64_t now, int *changed)
{
	int64_t n = 0;
	int rc;
	if (changed)
		*changed = 0;
	if (stopped) {
		struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(contact_id), SV_INT(now)};
		rc = store_tx_exec(tx, "optout.marketing_stop", a, 3, &n);
	} else {
		struct store_val a[] = {SV_TEXT(contact_id), SV_INT(now)};
		rc = store_tx_exec(tx, "optout.marketing_resume", a, 2, &n);
	}
	if (rc)
		return rc;
	if (stopped && evidence) {
		struct consents cur;
		int recorded = 0;
		rc = load_consents(tx, contact_id, &cur);
		if (!rc)
			rc = withdraw(tx, org_id, contact_id, &cur, POLICY_MARKETING, evidence, now,
				      &recorded);
		if (rc)
			return rc;
	}
	if (changed)
		*changed = n > 0;
	return 0;
}

static int state_cb(void *ud, const struct store_row *row)
{
	struct optout_state *s = ud;
	s->opted_out = store_row_int(row, 0) != 0;
	s->opted_out_at = store_row_is_null(row, 1) ? 0 : store_row_int(row, 1);
	s->opted_in_at = store_row_is_null(row, 2) ? 0 : store_row_int(row, 2);
	s->marketing_stopped = store_row_int(row, 3) != 0;
	s->marketing_stopped_at = store_row_is_null(row, 4) ? 0 : store_row_int(row, 4);
	return 1;
}

int optout_get(struct store *st, const char *contact_id, struct optout_state *out)
{
	memset(out, 0, sizeof *out);
	struct store_val a[] = {SV_TEXT(contact_id)};
	int rc = store_query(st, "optout.get", a, 1, state_cb, out);
	return rc < 0 ? rc : 0;
}

/* ---- the handlers ---- */

struct lang_row {
	char lang[16];
};

static int lang_cb(void *ud, const struct store_row *row)
{
	struct lang_row *l = ud;
	const char *v = store_row_text(row, 6);
	/* "he", "he-IL", "he_IL" all speak Hebrew */
	size_t n = v ? strcspn(v, "-_") : 0;
	if (n >= sizeof l->lang)
		n = 0;
	memcpy(l->lang, v ? v : "", n);
	l->lang[n] = '\0';
	return 1;
}

static const struct confirm_texts *builtin_texts(const char *lang)
{
	for (size_t i = 0; lang && i < sizeof confirmations / sizeof confirmations[0]; i++)
		if (strcasecmp(lang, confirmations[i].lang) == 0)
			return &confirmations[i];
	return NULL;
}

/* The confirmation for kind in the first language that has one: the
 * contact's, the word's, the organisation's, English. An organisation's
 * own text (settings optout.<key>.<lang>) wins over ours. */
static const char *confirmation(const struct orgconf *conf, enum optout_kind kind,
				const char *contact_lang, const char *word_lang)
{
	const char *key = kind == OPTOUT_STOP		  ? "confirmation"
			  : kind == OPTOUT_STOP_MARKETING ? "marketing_confirmation"
							  : "start_confirmation";
	const char *langs[4] = {contact_lang, word_lang, conf->language, "en"};
	const json_t *own = conf->optout ? json_object_get(conf->optout, key) : NULL;
	for (int i = 0; i < 4; i++) {
		if (!langs[i] || !*langs[i])
			continue;
		const char *s = json_string_value(json_object_get(own, langs[i]));
		if (s && *s)
			return s;
		const struct confirm_texts *t = builtin_texts(langs[i]);
		if (t)
			return kind == OPTOUT_STOP	       ? t->stop
			       : kind == OPTOUT_STOP_MARKETING ? t->stop_marketing
							       : t->start;
	}
	return confirmations[0].stop; /* not reached: "en" is built in */
}

static int confirm(struct store_tx *tx, const struct inbound *in, const struct orgconf *conf,
		   enum optout_kind kind, const char *word_lang)
{
	struct lang_row l = {{0}};
	struct store_val q[] = {SV_TEXT(in->org_id), SV_TEXT(in->contact_id)};
	int rc = store_tx_query(tx, "contact.get", q, 2, lang_cb, &l);
	if (rc < 0)
		return rc;
	const char *text = confirmation(conf, kind, l.lang, word_lang);
	json_t *body = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", text);
	if (!body)
		return CW_ENOMEM;
	char key[OUTBOX_IDEM_MAX];
	snprintf(key, sizeof key, "optout:%s", in->ev->msg.wamid);
	struct send_request rq = {.org_id = in->org_id,
				  .number_id = in->number_id,
				  .contact_id = in->contact_id,
				  .purpose = POLICY_SERVICE,
				  .payload = body,
				  .producer = "optout",
				  .idem_key = key,
				  .priority = OUTBOX_PRIO_TRANSACTIONAL,
				  .is_reply = 1};
	struct send_result res;
	rc = send_submit_tx(tx, &rq, in->now_ms, &res);
	json_decref(body);
	if (rc == 0 && res.decision.outcome != POLICY_ALLOW)
		log_warn("optout", "the opt-out confirmation was not sent: %s",
			 policy_reason_code(res.decision.reason));
	return rc;
}

static void evidence_of(const struct webhook_message *m, char out[EVIDENCE_MAX])
{
	const char *what = "message", *s = m->text;
	if (m->type == WH_MSG_BUTTON) {
		what = "button";
		s = m->button.payload ? m->button.payload : m->button.text;
	} else if (m->type == WH_MSG_INTERACTIVE) {
		what = "button";
		s = m->interactive.reply_id ? m->interactive.reply_id : m->interactive.reply_title;
	}
	/* The whole message is an opt-out phrase (or a button id), so quoting
	 * it keeps no personal data; it is cut at a character boundary. */
	size_t len = s ? strlen(s) : 0;
	if (len > 100) {
		len = 100;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	snprintf(out, EVIDENCE_MAX, "WhatsApp %s \"%.*s\"", what, (int)len, s ? s : "");
}

int optout_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in)
{
	(void)ud;
	const struct orgconf *conf = NULL;
	int rc = orgconf_get_tx(tx, in->org_id, &conf);
	if (rc)
		return rc == CW_ENOTFOUND ? INBOUND_CONTINUE : rc;
	const char *word_lang = NULL;
	enum optout_kind kind = optout_match_message(conf, &in->ev->msg, &word_lang);
	int changed = 0;
	char evidence[EVIDENCE_MAX];
	if (kind != OPTOUT_NONE)
		evidence_of(&in->ev->msg, evidence);
	switch (kind) {
	case OPTOUT_NONE:
		rc = INBOUND_CONTINUE;
		goto out;
	case OPTOUT_STOP:
		rc = optout_stop_tx(tx, in->org_id, in->contact_id, evidence, in->now_ms, &changed);
		break;
	case OPTOUT_STOP_MARKETING:
		rc = optout_stop_marketing_tx(tx, in->org_id, in->contact_id, evidence, in->now_ms,
					      &changed);
		break;
	case OPTOUT_START:
		rc = optout_start_tx(tx, in->contact_id, in->now_ms, &changed);
		if (rc == 0 && !changed) {
			/* Not opted out: "start" is a greeting for the bot. */
			rc = INBOUND_CONTINUE;
			goto out;
		}
		break;
	}
	if (rc)
		goto out;
	log_info("optout", "contact %s: %s%s", in->contact_id,
		 kind == OPTOUT_STOP	? "opted out"
		 : kind == OPTOUT_START ? "opted back in"
					: "stopped marketing",
		 changed ? "" : " (already)");
	/* One confirmation: only when this message changed something, so a
	 * second STOP (or a retried webhook) is not answered again. */
	if (changed)
		rc = confirm(tx, in, conf, kind, word_lang);
	if (rc == 0)
		rc = INBOUND_HANDLED;
out:
	orgconf_put(conf);
	return rc;
}

struct msg_row {
	char org_id[ID_SIZE];
	char contact_id[ID_SIZE];
};

static int msg_cb(void *ud, const struct store_row *row)
{
	struct msg_row *m = ud;
	const char *o = store_row_text(row, 1), *c = store_row_text(row, 3);
	snprintf(m->org_id, sizeof m->org_id, "%s", o ? o : "");
	snprintf(m->contact_id, sizeof m->contact_id, "%s", c ? c : "");
	return 1;
}

static int id_cb(void *ud, const struct store_row *row)
{
	char *id = ud;
	const char *v = store_row_text(row, 0);
	snprintf(id, ID_SIZE, "%s", v ? v : "");
	return 1;
}

static int on_preference(struct store_tx *tx, const struct webhook_event *ev, const char *org_id)
{
	const struct webhook_user_pref *p = &ev->pref;
	if (!org_id || !p->category || strcasecmp(p->category, "marketing_messages") != 0 ||
	    !p->value)
		return 0;
	int stop = strcasecmp(p->value, "stop") == 0;
	int signup = strcasecmp(p->value, "signup") == 0;
	if (!stop && !signup && strcasecmp(p->value, "resume") != 0)
		return 0;
	char contact_id[ID_SIZE] = "";
	const char *keys[2] = {p->wa_id, p->user_id};
	for (int i = 0; i < 2 && !contact_id[0]; i++) {
		if (!keys[i])
			continue;
		struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(keys[i])};
		int rc = store_tx_query(tx, "contact.id_by_wa_id", a, 2, id_cb, contact_id);
		if (rc < 0)
			return rc;
	}
	if (!contact_id[0])
		return 0; /* nobody we know: nothing to stop */
	int64_t at = ev->timestamp_ms ? ev->timestamp_ms : 0;
	int64_t now = time_now_ms();
	if (at < now)
		at = now; /* later than any consent recorded before it arrived */
	int rc = optout_marketing_stopped_tx(
	    tx, org_id, contact_id, stop, stop ? "WhatsApp user preference: stop marketing" : NULL,
	    at, NULL);
	if (rc || !signup)
		return rc;
	/* Signing up through the organisation's marketing sign-up link is the
	 * person asking for marketing: a new explicit consent. "resume" only
	 * lifts WhatsApp's own block. */
	struct consent_input ci = {.purpose = "marketing",
				   .status = "granted",
				   .source = "whatsapp",
				   .evidence = "WhatsApp marketing sign-up",
				   .at = at};
	return consent_record_tx(tx, org_id, contact_id, &ci, "system:optout", NULL);
}

int optout_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		    const char *org_id)
{
	(void)ud;
	if (ev->kind == WH_USER_PREFERENCE)
		return on_preference(tx, ev, org_id);
	if (ev->kind != WH_STATUS || ev->status.status != WH_ST_FAILED ||
	    !ev->status.error.has_code || ev->status.error.code != MARKETING_STOPPED_CODE)
		return 0;
	struct msg_row m = {{0}};
	struct store_val a[] = {SV_TEXT(ev->status.wamid)};
	int rc = store_tx_query(tx, "message.get_by_wamid", a, 1, msg_cb, &m);
	if (rc < 0)
		return rc;
	if (!m.contact_id[0])
		return 0;
	/* The outbox records the consent withdrawal for 131050 (outbox.c);
	 * here only the flag that policy reads. */
	return optout_marketing_stopped_tx(tx, m.org_id, m.contact_id, 1, NULL, time_now_ms(),
					   NULL);
}
