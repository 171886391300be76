/*
 * template.h — the template registry: which message templates each
 * organisation has at Meta, per WABA and language, with their category,
 * status, quality, components, parameters and example values.
 *
 * Place (DESIGN.md §2, §7): the registry is filled three ways — listed from
 * the Cloud API (template_sync(), GET /{waba_id}/message_templates with
 * paging; the dispatcher runs it at start), created through the API
 * (template_create(): validated here, submitted to the Cloud API or the
 * simulator, stored with the status Meta gave) and kept current by the
 * status, category and quality webhooks (template_on_event(), an ingest
 * event handler). The send path asks it two things: which template to use
 * for a contact (template_lookup(): the contact's language, then the
 * organisation's default) and whether a composed template message fits
 * (template_check_compose()). A template that is not approved in the chosen
 * language is a policy reason (template_not_approved), not a failed send.
 *
 * SQL lives in src/store/sqlite/stmts_outbox.c ("template.*").
 */
#ifndef CW_TEMPLATE_H
#define CW_TEMPLATE_H

#include <jansson.h>
#include <stdint.h>

#include "base/id.h"
#include "base/sec.h"
#include "store/store.h"
#include "wa/webhook.h"

struct wa_client_config;

/* Meta's limits for a template (characters, not bytes). */
#define TEMPLATE_NAME_MAX 512
#define TEMPLATE_LANG_MAX 16
#define TEMPLATE_BODY_MAX 1024
#define TEMPLATE_HEADER_MAX 60
#define TEMPLATE_FOOTER_MAX 60
#define TEMPLATE_BUTTON_TEXT_MAX 25
#define TEMPLATE_BUTTONS_MAX 10
#define TEMPLATE_COMPONENTS_MAX 10
#define TEMPLATE_PARAMS_MAX 32 /* body parameters carewire accepts (wa/msg.h) */
#define TEMPLATE_LIST_MAX 1000

/* One registered template. Strings are copies; components, param_names and
 * examples are owned references (template_info_release() drops them). */
struct template_info {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char waba_id[64];
	char meta_id[64];
	char name[TEMPLATE_NAME_MAX + 1];
	char language[TEMPLATE_LANG_MAX];
	char category[16]; /* MARKETING, UTILITY, AUTHENTICATION */
	char status[20];   /* APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ... */
	char quality[16];  /* GREEN, YELLOW, RED, UNKNOWN or "" */
	char reason[128];  /* why rejected or paused, or "" */
	int body_params;
	int header_params;
	json_t *components;  /* the Cloud API "components" array */
	json_t *param_names; /* array of names for named parameters, or NULL */
	json_t *examples;    /* {"header":[...],"body":[...]}, or NULL */
	int64_t created_at, updated_at;
};
void template_info_release(struct template_info *t);

/* Why a template or a composed message was refused. reason is a stable
 * snake_case code: invalid_name, invalid_language, invalid_category,
 * invalid_components, missing_examples, promotional_in_utility,
 * rejected_by_meta, param_count, param_too_long, param_invalid, and the
 * policy reasons template_not_approved and template_category_mismatch. */
struct template_problem {
	const char *reason;
	char field[64];
	char message[200];
};

/* What a components array declares. param_names and examples are new
 * references (or NULL); template_shape_release() drops them. */
struct template_shape {
	int body_params, header_params;
	int named;           /* {{first_name}} rather than {{1}} */
	json_t *param_names; /* named: the body's names in order of first use */
	json_t *examples;
	size_t body_chars;   /* characters of the body text without its placeholders */
	size_t header_chars; /* the same for a text header (0 when none) */
};
void template_shape_release(struct template_shape *s);

/* Reads components (the Cloud API array): counts the body's and header's
 * parameters ({{1}}..{{n}} with none missing, or named {{like_this}}, not
 * mixed), checks lengths and the component types, and collects the example
 * values. Returns 0, or CW_EINVAL with err filled. */
int template_shape_parse(const json_t *components, struct template_shape *out,
			 struct template_problem *err);

/* Validates a creation request {"name","language","category","components"}
 * as Meta would, plus carewire's rule that a UTILITY template carries no
 * promotional words (Meta would re-categorise it as MARKETING). Example
 * values are required when there are parameters. Returns 0 or CW_EINVAL
 * with err filled. */
int template_validate_new(const json_t *req, struct template_problem *err);

/* 1 when text (UTF-8) holds a promotional word in Hebrew, Russian or
 * English ("sale", "הנחה", "скидка", "20%"...), compared after case
 * folding. */
int template_promotional(const char *text);

/* 1 when a template of category may carry a message of purpose:
 *	service    UTILITY, AUTHENTICATION
 *	reminders  UTILITY
 *	results    UTILITY
 *	surveys    UTILITY, MARKETING
 *	marketing  MARKETING */
int template_category_fits(const char *category, const char *purpose);

/* Checks a composed template message against its registered template t:
 * tpl is the request's "template" object ({"name","language","components":
 * [{"type":"body","parameters":[...]}]}). Returns 0; CW_EPOLICY with reason
 * template_not_approved (status not APPROVED) or template_category_mismatch
 * (category does not fit purpose, or promotional words in a UTILITY
 * template's text or parameters); CW_EINVAL with reason param_count,
 * param_too_long (the body over 1024 or the header over 60 characters once
 * filled) or param_invalid (a parameter with a newline or a tab, or empty). */
int template_check_compose(const struct template_info *t, const json_t *tpl,
			   const char *purpose, struct template_problem *err);

/* Chooses the template name for a contact: the contact's language
 * (contact_lang, may be NULL), then the organisation's default language; in
 * each, the exact code, then its base ("en_GB" → "en"), then a regional
 * variant of the base ("en" → "en_US"). The first APPROVED one wins; when
 * none is approved the best match of any status is returned (so the caller
 * can say template_not_approved). waba_id NULL: any of the organisation's
 * WABAs. Returns 0 with out filled (release it), CW_ENOTFOUND, or a store
 * error. template_lookup_tx() does the same inside a transaction. */
int template_lookup(struct store *st, const char *org_id, const char *waba_id, const char *name,
		    const char *contact_lang, struct template_info *out);
int template_lookup_tx(struct store_tx *tx, const char *org_id, const char *waba_id,
		       const char *name, const char *contact_lang, struct template_info *out);

/* Validates req (template_validate_new()), submits it to the Cloud API
 * (POST /{waba_id}/message_templates) with the token of one of the
 * organisation's numbers, and registers it with the status and id Meta
 * answered. req may name "waba_id" (one of the organisation's); otherwise
 * the organisation's first WABA is used. Returns 0 with out filled;
 * CW_EINVAL (err filled; reason rejected_by_meta when the Cloud API refused
 * it), CW_ECONFLICT (registered already), CW_ENOTFOUND (the organisation has
 * no phone number), CW_EUNAVAIL (no answer, or no usable token). */
int template_create(struct store *st, const uint8_t key[SEC_KEY_BYTES],
		    const struct wa_client_config *wcfg, const char *org_id, const json_t *req,
		    struct template_info *out, struct template_problem *err);

/* Lists the templates of every WABA of org_id (NULL: of every
 * organisation) from the Cloud API and stores them; a template Meta no
 * longer lists is marked DELETED. *count (may be NULL) gets the number
 * stored. A WABA that fails is logged and skipped; returns the first error
 * after trying them all, or 0. */
int template_sync(struct store *st, const uint8_t key[SEC_KEY_BYTES],
		  const struct wa_client_config *wcfg, const char *org_id, int *count);

/* The registry of org_id as a new JSON array (caller json_decref()s), by
 * name and language; status and name (may be NULL) filter. */
int template_list(struct store *st, const char *org_id, const char *status, const char *name,
		  int limit, json_t **out);

/* t as the API shows it (a new object). */
json_t *template_info_json(const struct template_info *t);

/* The ingest event handler (ingest_event_fn) for the template status,
 * category and quality webhooks. ud is unused. */
int template_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		      const char *org_id);

#endif
