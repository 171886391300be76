/*
 * template.c — the template registry (see template.h): parsing and
 * validating components, the language choice, the compose-time checks,
 * creation through the Cloud API, synchronisation and the template
 * webhooks.
 */
#include "core/template.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "base/time.h"
#include "core/org.h"
#include "wa/client.h"
#include "wa/msg.h"
#include "base/banned.h"

#define PARAM_NAME_MAX 64

/* ---- small helpers ---- */

static void problem(struct template_problem *err, const char *reason, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void problem(struct template_problem *err, const char *reason, const char *field,
		    const char *fmt, ...)
{
	if (!err)
		return;
	err->reason = reason;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

static size_t chars(const char *s)
{
	return s ? text_utf8_chars(s, strlen(s)) : 0;
}

void template_info_release(struct template_info *t)
{
	if (!t)
		return;
	json_decref(t->components);
	json_decref(t->param_names);
	json_decref(t->examples);
	t->components = t->param_names = t->examples = NULL;
}

void template_shape_release(struct template_shape *s)
{
	if (!s)
		return;
	json_decref(s->param_names);
	json_decref(s->examples);
	s->param_names = s->examples = NULL;
}

/* The component of components whose "type" is type (any case), or NULL. */
static const json_t *component(const json_t *components, const char *type)
{
	size_t i;
	const json_t *c;
	json_array_foreach(components, i, c)
	{
		const char *t = json_str(c, "type");
		if (t && strcasecmp(t, type) == 0)
			return c;
	}
	return NULL;
}

/* ---- placeholders ---- */

struct scan {
	int max_index;
	uint64_t seen; /* positional indexes 1..63 */
	int named, positional;
	json_t *names; /* named: in order of first use */
	size_t ph_chars; /* characters taken by the placeholders themselves */
};

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Scans text for {{1}} / {{name}} placeholders. Returns 0 or CW_EINVAL. */
static int scan_text(const char *text, struct scan *sc, struct template_problem *err,
		     const char *field)
{
	const char *p = text;
	while ((p = strstr(p, "{{")) != NULL) {
		const char *q = strstr(p + 2, "}}");
		if (!q) {
			problem(err, "invalid_components", field, "an unclosed {{ placeholder");
			return CW_EINVAL;
		}
		size_t n = (size_t)(q - (p + 2));
		const char *v = p + 2;
		if (n == 0 || n > PARAM_NAME_MAX) {
			problem(err, "invalid_components", field, "an empty or too long placeholder");
			return CW_EINVAL;
		}
		if (isdigit((unsigned char)v[0])) {
			int idx = 0;
			for (size_t i = 0; i < n; i++) {
				if (!isdigit((unsigned char)v[i]) || idx > 100) {
					problem(err, "invalid_components", field,
						"a placeholder must be {{1}}, {{2}}... or {{name}}");
					return CW_EINVAL;
				}
				idx = idx * 10 + (v[i] - '0');
			}
			if (idx < 1 || idx > TEMPLATE_PARAMS_MAX) {
				problem(err, "invalid_components", field,
					"placeholders are numbered from {{1}} to {{%d}}",
					TEMPLATE_PARAMS_MAX);
				return CW_EINVAL;
			}
			sc->positional = 1;
			sc->seen |= 1ULL << idx;
			if (idx > sc->max_index)
				sc->max_index = idx;
		} else {
			for (size_t i = 0; i < n; i++) {
				if (!name_char(v[i], i == 0)) {
					problem(err, "invalid_components", field,
						"a named placeholder is lower-case letters, digits "
						"and underscores");
					return CW_EINVAL;
				}
			}
			sc->named = 1;
			if (!sc->names)
				sc->names = json_array();
			int dup = 0;
			size_t i;
			json_t *e;
			json_array_foreach(sc->names, i, e)
			{
				const char *s = json_string_value(e);
				if (strlen(s) == n && memcmp(s, v, n) == 0)
					dup = 1;
			}
			if (!dup) {
				if (json_array_size(sc->names) >= TEMPLATE_PARAMS_MAX) {
					problem(err, "invalid_components", field,
						"more than %d parameters", TEMPLATE_PARAMS_MAX);
					return CW_EINVAL;
				}
				json_array_append_new(sc->names, json_stringn(v, n));
			}
		}
		sc->ph_chars += n + 4;
		p = q + 2;
	}
	if (sc->named && sc->positional) {
		problem(err, "invalid_components", field,
			"named and numbered placeholders cannot be mixed");
		return CW_EINVAL;
	}
	for (int i = 1; i <= sc->max_index; i++) {
		if (!(sc->seen & (1ULL << i))) {
			problem(err, "invalid_components", field,
				"placeholder {{%d}} is missing: they must run from {{1}} without gaps",
				i);
			return CW_EINVAL;
		}
	}
	return 0;
}

static int scan_count(const struct scan *sc)
{
	return sc->named ? (int)json_array_size(sc->names) : sc->max_index;
}

/* ---- components ---- */

static int check_buttons(const json_t *c, struct template_problem *err)
{
	const json_t *b = json_object_get(c, "buttons");
	if (!json_is_array(b) || json_array_size(b) == 0 ||
	    json_array_size(b) > TEMPLATE_BUTTONS_MAX) {
		problem(err, "invalid_components", "components.buttons",
			"BUTTONS needs 1 to %d buttons", TEMPLATE_BUTTONS_MAX);
		return CW_EINVAL;
	}
	size_t i;
	const json_t *x;
	json_array_foreach(b, i, x)
	{
		const char *type = json_str(x, "type");
		const char *text = json_str(x, "text");
		if (!type) {
			problem(err, "invalid_components", "components.buttons",
				"button %zu has no type", i);
			return CW_EINVAL;
		}
		if (text && chars(text) > TEMPLATE_BUTTON_TEXT_MAX) {
			problem(err, "invalid_components", "components.buttons",
				"button %zu: the text is longer than %d characters", i,
				TEMPLATE_BUTTON_TEXT_MAX);
			return CW_EINVAL;
		}
	}
	return 0;
}

/* Example values of the body: positional example.body_text[0], or named
 * example.body_text_named_params in the order of names. */
static json_t *body_examples(const json_t *body, const json_t *names)
{
	const json_t *ex = json_object_get(body, "example");
	if (!json_is_object(ex))
		return NULL;
	const json_t *pos = json_object_get(ex, "body_text");
	if (json_is_array(pos) && json_is_array(json_array_get(pos, 0)))
		return json_deep_copy(json_array_get(pos, 0));
	const json_t *named = json_object_get(ex, "body_text_named_params");
	if (!json_is_array(named) || !names)
		return NULL;
	json_t *out = json_array();
	size_t i, k;
	json_t *n;
	const json_t *e;
	json_array_foreach(names, i, n)
	{
		json_t *v = NULL;
		json_array_foreach(named, k, e)
		{
			const char *pn = json_str(e, "param_name");
			if (pn && strcmp(pn, json_string_value(n)) == 0 && json_str(e, "example"))
				v = json_string(json_str(e, "example"));
		}
		if (!v) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, v);
	}
	return out;
}

int template_shape_parse(const json_t *components, struct template_shape *out,
			 struct template_problem *err)
{
	struct scan body = {0}, head = {0};
	int rc = CW_EINVAL;
	memset(out, 0, sizeof *out);
	if (!json_is_array(components) || json_array_size(components) == 0 ||
	    json_array_size(components) > TEMPLATE_COMPONENTS_MAX) {
		problem(err, "invalid_components", "components", "1 to %d components are needed",
			TEMPLATE_COMPONENTS_MAX);
		return CW_EINVAL;
	}
	size_t i;
	const json_t *c;
	int nbody = 0, nhead = 0, nfoot = 0, nbuttons = 0;
	json_array_foreach(components, i, c)
	{
		const char *type = json_str(c, "type");
		const char *text = json_str(c, "text");
		if (!type) {
			problem(err, "invalid_components", "components", "component %zu has no type",
				i);
			goto fail;
		}
		if (strcasecmp(type, "BODY") == 0) {
			nbody++;
			if (!text || !*text) {
				problem(err, "invalid_components", "components.body",
					"the BODY needs a text");
				goto fail;
			}
			if (chars(text) > TEMPLATE_BODY_MAX) {
				problem(err, "invalid_components", "components.body",
					"the BODY text is longer than %d characters",
					TEMPLATE_BODY_MAX);
				goto fail;
			}
			if (scan_text(text, &body, err, "components.body"))
				goto fail;
			out->body_chars = chars(text) - body.ph_chars;
		} else if (strcasecmp(type, "HEADER") == 0) {
			nhead++;
			const char *format = json_str_or(c, "format", "TEXT");
			if (strcasecmp(format, "TEXT") != 0)
				continue; /* image, video, document, location headers */
			if (!text || !*text || chars(text) > TEMPLATE_HEADER_MAX) {
				problem(err, "invalid_components", "components.header",
					"a text HEADER needs 1 to %d characters", TEMPLATE_HEADER_MAX);
				goto fail;
			}
			if (scan_text(text, &head, err, "components.header"))
				goto fail;
			if (scan_count(&head) > WA_MSG_MAX_HEADER_PARAMS) {
				problem(err, "invalid_components", "components.header",
					"a HEADER takes at most %d parameter",
					WA_MSG_MAX_HEADER_PARAMS);
				goto fail;
			}
			out->header_chars = chars(text) - head.ph_chars;
		} else if (strcasecmp(type, "FOOTER") == 0) {
			nfoot++;
			if (!text || chars(text) > TEMPLATE_FOOTER_MAX || strstr(text, "{{")) {
				problem(err, "invalid_components", "components.footer",
					"a FOOTER is 1 to %d characters without parameters",
					TEMPLATE_FOOTER_MAX);
				goto fail;
			}
		} else if (strcasecmp(type, "BUTTONS") == 0) {
			nbuttons++;
			if (check_buttons(c, err))
				goto fail;
		} else {
			problem(err, "invalid_components", "components",
				"component %zu: type must be HEADER, BODY, FOOTER or BUTTONS", i);
			goto fail;
		}
	}
	if (nbody != 1 || nhead > 1 || nfoot > 1 || nbuttons > 1) {
		problem(err, "invalid_components", "components",
			"exactly one BODY, and at most one HEADER, FOOTER and BUTTONS");
		goto fail;
	}
	out->body_params = scan_count(&body);
	out->header_params = scan_count(&head);
	out->named = body.named;
	if (body.named) {
		out->param_names = body.names;
		body.names = NULL;
	}
	/* example values, when given */
	const json_t *bc = component(components, "BODY");
	json_t *bex = body_examples(bc, out->param_names);
	json_t *hex = NULL;
	const json_t *hc = component(components, "HEADER");
	const json_t *hx = hc ? json_path(hc, "example.header_text") : NULL;
	if (json_is_array(hx))
		hex = json_deep_copy(hx);
	if (bex || hex) {
		out->examples = json_object();
		if (bex)
			json_object_set_new(out->examples, "body", bex);
		if (hex)
			json_object_set_new(out->examples, "header", hex);
	}
	rc = 0;
fail:
	json_decref(body.names);
	json_decref(head.names);
	if (rc)
		template_shape_release(out);
	return rc;
}

/* ---- promotional words ---- */

enum { PW_WORD, PW_STEM };

/* Compared with folded words of the text; PW_STEM matches a word that
 * starts with it ("скидк" → "скидка", "скидки"). Hebrew has no stems here:
 * final letters change ("קופון", "קופונים") and a short stem would catch
 * "קופות חולים" (health funds). Hebrew words may carry up
 * to two attached prefix letters (ו ה ב ל מ ש כ: "ובמבצע"), which are tried
 * off too. "מבצע" alone is not listed: it is also "performs" ("הרופא מבצע
 * בדיקה"); "במבצע" (on sale) is. */
static const struct {
	const char *w;
	int mode;
} promo_words[] = {
	{"sale", PW_WORD},	   {"sales", PW_WORD},	   {"discount", PW_STEM},
	{"promo", PW_STEM},	   {"coupon", PW_STEM},	   {"voucher", PW_STEM},
	{"deal", PW_WORD},	   {"deals", PW_WORD},	   {"bargain", PW_STEM},
	{"cashback", PW_WORD},	   {"clearance", PW_WORD}, {"bogo", PW_WORD},
	{"הנחה", PW_WORD},	   {"הנחות", PW_WORD},	   {"במבצע", PW_WORD},
	{"מבצעי", PW_WORD},	   {"קופון", PW_WORD},	   {"קופונים", PW_WORD},
	{"הטבה", PW_WORD},
	{"הטבות", PW_WORD},	   {"סייל", PW_WORD},	   {"скидк", PW_STEM},
	{"распродаж", PW_STEM},	   {"промокод", PW_STEM},  {"купон", PW_STEM},
	{"акция", PW_WORD},	   {"акции", PW_WORD},	   {"акцию", PW_WORD},
	{"кешбэк", PW_STEM},	   {"спецпредложени", PW_STEM},
};

static const char *const hebrew_prefixes[] = {"ו", "ה", "ב", "ל", "מ", "ש", "כ"};

struct promo_ctx {
	int hit;
};

static int promo_match(const char *w, size_t len)
{
	for (size_t i = 0; i < sizeof promo_words / sizeof promo_words[0]; i++) {
		size_t n = strlen(promo_words[i].w);
		if (promo_words[i].mode == PW_WORD ? len == n && memcmp(w, promo_words[i].w, n) == 0
						   : len >= n && memcmp(w, promo_words[i].w, n) == 0)
			return 1;
	}
	return 0;
}

static void promo_word(void *ud, const char *word, size_t len)
{
	struct promo_ctx *c = ud;
	if (c->hit)
		return;
	if (promo_match(word, len)) {
		c->hit = 1;
		return;
	}
	/* one prefix letter off, then a second */
	for (int round = 0; round < 2; round++) {
		int cut = 0;
		for (size_t i = 0; i < sizeof hebrew_prefixes / sizeof hebrew_prefixes[0]; i++) {
			size_t n = strlen(hebrew_prefixes[i]);
			if (len > n + 4 && memcmp(word, hebrew_prefixes[i], n) == 0) {
				word += n;
				len -= n;
				cut = 1;
				break;
			}
		}
		if (!cut)
			return;
		if (promo_match(word, len)) {
			c->hit = 1;
			return;
		}
	}
}

int template_promotional(const char *text)
{
	if (!text || !*text)
		return 0;
	/* "20%", "50 %": a discount in figures */
	for (const char *p = strchr(text, '%'); p; p = strchr(p + 1, '%')) {
		const char *q = p;
		while (q > text && q[-1] == ' ')
			q--;
		if (q > text && isdigit((unsigned char)q[-1]))
			return 1;
	}
	char *f = text_casefold(text);
	if (!f)
		return 0;
	struct promo_ctx c = {0};
	text_words(f, promo_word, &c);
	free(f);
	return c.hit;
}

/* Every text of components (header, body, footer, buttons) joined. */
static void components_text(const json_t *components, struct buf *out)
{
	size_t i;
	const json_t *c;
	json_array_foreach(components, i, c)
	{
		const char *t = json_str(c, "text");
		if (t) {
			buf_puts(out, t);
			buf_putc(out, '\n');
		}
		size_t k;
		const json_t *b;
		json_array_foreach(json_object_get(c, "buttons"), k, b)
		{
			const char *bt = json_str(b, "text");
			if (bt) {
				buf_puts(out, bt);
				buf_putc(out, '\n');
			}
		}
	}
}

/* ---- category and purpose ---- */

static const struct {
	const char *purpose;
	const char *categories[3];
} fits[] = {
	{"service", {"UTILITY", NULL, NULL}}, /* as policy.c: no purpose sends one-time codes */
	{"reminders", {"UTILITY", NULL, NULL}},
	{"results", {"UTILITY", NULL, NULL}},
	{"surveys", {"UTILITY", "MARKETING", NULL}},
	{"marketing", {"MARKETING", NULL, NULL}},
};

int template_category_fits(const char *category, const char *purpose)
{
	if (!category || !purpose)
		return 0;
	for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
		if (strcmp(fits[i].purpose, purpose) != 0)
			continue;
		for (int k = 0; k < 3 && fits[i].categories[k]; k++)
			if (strcasecmp(fits[i].categories[k], category) == 0)
				return 1;
		return 0;
	}
	return 0;
}

/* ---- creation requests ---- */

static const char *const categories[] = {"MARKETING", "UTILITY", "AUTHENTICATION", NULL};

static const struct json_field create_schema[] = {
	{"name", JF_STRING, JF_REQUIRED, 1, TEMPLATE_NAME_MAX, NULL},
	{"language", JF_STRING, JF_REQUIRED, 2, TEMPLATE_LANG_MAX - 1, NULL},
	{"category", JF_STRING, JF_REQUIRED, 1, 32, NULL},
	{"components", JF_ARRAY, JF_REQUIRED, 1, TEMPLATE_COMPONENTS_MAX, NULL},
	{"waba_id", JF_STRING, 0, 1, 63, NULL},
	{NULL, JF_ANY, 0, 0, 0, NULL},
};

static int language_valid(const char *l)
{
	size_t n = strlen(l), i = 0;
	while (i < n && l[i] >= 'a' && l[i] <= 'z')
		i++;
	if (i < 2 || i > 3)
		return 0;
	if (i == n)
		return 1;
	if (l[i] != '_')
		return 0;
	size_t r = ++i;
	while (i < n && isalnum((unsigned char)l[i]))
		i++;
	return i == n && i - r >= 2 && i - r <= 4;
}

static const char *category_norm(const char *c)
{
	for (int i = 0; c && categories[i]; i++)
		if (strcasecmp(c, categories[i]) == 0)
			return categories[i];
	return NULL;
}

int template_validate_new(const json_t *req, struct template_problem *err)
{
	struct json_error je;
	if (!json_is_object(req)) {
		problem(err, "invalid_components", "body", "the body must be a JSON object");
		return CW_EINVAL;
	}
	if (json_validate(req, create_schema, &je) != 0) {
		problem(err, "invalid_field", je.field, "%s", je.message);
		return CW_EINVAL;
	}
	const char *name = json_str(req, "name");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
			problem(err, "invalid_name", "name",
				"a template name is lower-case letters, digits and underscores");
			return CW_EINVAL;
		}
	if (!language_valid(json_str(req, "language"))) {
		problem(err, "invalid_language", "language",
			"a language code such as \"he\", \"ru\" or \"en_US\"");
		return CW_EINVAL;
	}
	const char *cat = category_norm(json_str(req, "category"));
	if (!cat) {
		problem(err, "invalid_category", "category",
			"category must be UTILITY, MARKETING or AUTHENTICATION");
		return CW_EINVAL;
	}
	const json_t *components = json_object_get(req, "components");
	struct template_shape sh;
	if (template_shape_parse(components, &sh, err))
		return CW_EINVAL;
	int rc = 0;
	if (sh.body_params > 0) {
		const json_t *bex = json_object_get(sh.examples, "body");
		if ((int)json_array_size(bex) != sh.body_params) {
			problem(err, "missing_examples", "components.body.example",
				"the BODY has %d parameters: give as many example values (Meta "
				"reviews them)",
				sh.body_params);
			rc = CW_EINVAL;
		}
	}
	if (!rc && sh.header_params > 0 &&
	    (int)json_array_size(json_object_get(sh.examples, "header")) != sh.header_params) {
		problem(err, "missing_examples", "components.header.example",
			"the HEADER has a parameter: give its example value");
		rc = CW_EINVAL;
	}
	if (!rc && strcmp(cat, "UTILITY") == 0) {
		struct buf b;
		buf_init(&b, 64 * 1024);
		components_text(components, &b);
		if (b.data && template_promotional(b.data)) {
			problem(err, "promotional_in_utility", "components",
				"a UTILITY template must not promote anything (a sale, a discount): "
				"Meta would treat it as MARKETING; use the MARKETING category");
			rc = CW_EINVAL;
		}
		buf_release(&b);
	}
	template_shape_release(&sh);
	return rc;
}

/* ---- compose-time checks ---- */

/* The visible text of one request parameter. */
static const char *param_text(const json_t *p)
{
	const char *t = json_str(p, "text");
	if (t)
		return t;
	t = json_str(json_object_get(p, "currency"), "fallback_value");
	if (t)
		return t;
	t = json_str(json_object_get(p, "date_time"), "fallback_value");
	if (t)
		return t;
	return json_str(p, "payload");
}

static const json_t *request_component(const json_t *tpl, const char *type)
{
	return component(json_object_get(tpl, "components"), type);
}

int template_check_compose(const struct template_info *t, const json_t *tpl,
			   const char *purpose, struct template_problem *err)
{
	if (strcmp(t->status, "APPROVED") != 0) {
		problem(err, "template_not_approved", "template",
			"template %s (%s) is %s, not APPROVED", t->name, t->language,
			t->status[0] ? t->status : "unknown");
		return CW_EPOLICY;
	}
	if (!template_category_fits(t->category, purpose)) {
		problem(err, "template_category_mismatch", "template",
			"a %s template cannot carry a %s message", t->category,
			purpose ? purpose : "(no purpose)");
		return CW_EPOLICY;
	}
	int body = 0, header = 0;
	if (wa_msg_template_param_count(tpl, &body, &header) != 0) {
		problem(err, "param_invalid", "template.components",
			"the template's components are malformed");
		return CW_EINVAL;
	}
	if (body != t->body_params || header != t->header_params) {
		problem(err, "param_count", "template.components",
			"template %s takes %d body and %d header parameters; %d and %d were given",
			t->name, t->body_params, t->header_params, body, header);
		return CW_EINVAL;
	}
	struct template_shape sh;
	if (template_shape_parse(t->components, &sh, err))
		return CW_EINVAL;
	int rc = 0;
	struct buf all;
	buf_init(&all, 64 * 1024);
	const char *types[] = {"body", "header"};
	size_t fixed[] = {sh.body_chars, sh.header_chars};
	size_t limit[] = {TEMPLATE_BODY_MAX, TEMPLATE_HEADER_MAX};
	for (int k = 0; k < 2 && !rc; k++) {
		const json_t *c = request_component(tpl, types[k]);
		size_t total = fixed[k];
		size_t i;
		const json_t *p;
		json_array_foreach(json_object_get(c, "parameters"), i, p)
		{
			const char *s = param_text(p);
			if (!s)
				continue; /* media parameters */
			if (!*s || strchr(s, '\n') || strchr(s, '\t') || strstr(s, "    ")) {
				problem(err, "param_invalid", "template.components",
					"%s parameter %zu is empty or has a newline, a tab or more "
					"than 4 spaces in a row",
					types[k], i + 1);
				rc = CW_EINVAL;
				break;
			}
			total += chars(s);
			buf_puts(&all, s);
			buf_putc(&all, '\n');
		}
		if (!rc && total > limit[k]) {
			problem(err, "param_too_long", "template.components",
				"the %s would be %zu characters once filled; at most %zu", types[k],
				total, limit[k]);
			rc = CW_EINVAL;
		}
	}
	if (!rc && strcasecmp(t->category, "UTILITY") == 0) {
		components_text(t->components, &all);
		if (all.data && template_promotional(all.data)) {
			problem(err, "template_category_mismatch", "template",
				"promotional words in a UTILITY template message");
			rc = CW_EPOLICY;
		}
	}
	buf_release(&all);
	template_shape_release(&sh);
	return rc;
}

/* ---- rows ---- */

struct info_ctx {
	struct template_info *t;
	int found;
};

static void copy_text(char *dst, size_t n, const struct store_row *row, int col)
{
	const char *s = store_row_text(row, col);
	snprintf(dst, n, "%s", s ? s : "");
}

static json_t *col_json(const struct store_row *row, int col)
{
	const char *s = store_row_text(row, col);
	return s ? json_loads(s, 0, NULL) : NULL;
}

static void info_fill(struct template_info *t, const struct store_row *row)
{
	memset(t, 0, sizeof *t);
	copy_text(t->id, sizeof t->id, row, 0);
	copy_text(t->org_id, sizeof t->org_id, row, 1);
	copy_text(t->waba_id, sizeof t->waba_id, row, 2);
	copy_text(t->meta_id, sizeof t->meta_id, row, 3);
	copy_text(t->name, sizeof t->name, row, 4);
	copy_text(t->language, sizeof t->language, row, 5);
	copy_text(t->category, sizeof t->category, row, 6);
	copy_text(t->status, sizeof t->status, row, 7);
	copy_text(t->quality, sizeof t->quality, row, 8);
	copy_text(t->reason, sizeof t->reason, row, 9);
	t->components = col_json(row, 10);
	t->body_params = (int)store_row_int(row, 11);
	t->header_params = (int)store_row_int(row, 12);
	t->param_names = col_json(row, 13);
	t->examples = col_json(row, 14);
	t->created_at = store_row_int(row, 15);
	t->updated_at = store_row_int(row, 16);
}

static int info_cb(void *ud, const struct store_row *row)
{
	struct info_ctx *c = ud;
	info_fill(c->t, row);
	c->found = 1;
	return 1;
}

/* A read through either the store or a transaction. */
struct reader {
	struct store *st;
	struct store_tx *tx;
};

static int rd_query(const struct reader *r, const char *stmt, const struct store_val *a,
		    size_t n, store_row_fn fn, void *ud)
{
	int rc = r->tx ? store_tx_query(r->tx, stmt, a, n, fn, ud)
		       : store_query(r->st, stmt, a, n, fn, ud);
	return rc < 0 ? rc : 0;
}

static int org_lang_cb(void *ud, const struct store_row *row)
{
	copy_text(ud, TEMPLATE_LANG_MAX, row, 4);
	return 1;
}

/* One candidate: exact (stmt template.get) or a regional variant of a base
 * language (template.get_lang). */
static int lookup_one(const struct reader *r, const char *stmt, const char *org_id,
		      const char *waba_id, const char *name, const char *lang,
		      struct template_info *out, int *found)
{
	struct info_ctx c = {out, 0};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(waba_id), SV_TEXT(name), SV_TEXT(lang)};
	int rc = rd_query(r, stmt, a, 4, info_cb, &c);
	*found = c.found;
	return rc;
}

static int lookup(const struct reader *r, const char *org_id, const char *waba_id,
		  const char *name, const char *contact_lang, struct template_info *out)
{
	char org_lang[TEMPLATE_LANG_MAX] = "";
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = rd_query(r, "org.get", a, 1, org_lang_cb, org_lang);
	if (rc)
		return rc;
	const char *langs[2] = {contact_lang, org_lang};
	struct template_info best, cur;
	int have_best = 0;
	memset(&best, 0, sizeof best);
	for (int k = 0; k < 2; k++) {
		if (!langs[k] || !*langs[k] || strlen(langs[k]) >= TEMPLATE_LANG_MAX)
			continue;
		char exact[TEMPLATE_LANG_MAX], base[TEMPLATE_LANG_MAX];
		snprintf(exact, sizeof exact, "%s", langs[k]);
		for (char *p = exact; *p; p++)
			if (*p == '-')
				*p = '_';
		snprintf(base, sizeof base, "%s", exact);
		char *us = strchr(base, '_');
		if (us)
			*us = '\0';
		struct {
			const char *stmt, *lang;
		} tries[] = {{"template.get", exact},
			     {"template.get", us ? base : NULL},
			     {"template.get_lang", base}};
		for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
			if (!tries[i].lang)
				continue;
			int found = 0;
			rc = lookup_one(r, tries[i].stmt, org_id, waba_id, name, tries[i].lang, &cur,
					&found);
			if (rc)
				goto fail;
			if (!found)
				continue;
			if (strcmp(cur.status, "APPROVED") == 0) {
				template_info_release(&best);
				*out = cur;
				return 0;
			}
			if (!have_best) {
				best = cur;
				have_best = 1;
			} else {
				template_info_release(&cur);
			}
		}
	}
	if (have_best) {
		*out = best;
		return 0;
	}
	return CW_ENOTFOUND;
fail:
	template_info_release(&best);
	return rc;
}

int template_lookup(struct store *st, const char *org_id, const char *waba_id, const char *name,
		    const char *contact_lang, struct template_info *out)
{
	struct reader r = {st, NULL};
	memset(out, 0, sizeof *out);
	return lookup(&r, org_id, waba_id, name, contact_lang, out);
}

int template_lookup_tx(struct store_tx *tx, const char *org_id, const char *waba_id,
		       const char *name, const char *contact_lang, struct template_info *out)
{
	struct reader r = {NULL, tx};
	memset(out, 0, sizeof *out);
	return lookup(&r, org_id, waba_id, name, contact_lang, out);
}

/* ---- JSON ---- */

static json_t *iso(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return ms ? json_string(time_format_iso(ms, b)) : json_null();
}

static json_t *opt_str(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *template_info_json(const struct template_info *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(t->id));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "language", json_string(t->language));
	json_object_set_new(o, "category", json_string(t->category));
	json_object_set_new(o, "status", json_string(t->status));
	json_object_set_new(o, "quality", opt_str(t->quality));
	json_object_set_new(o, "reason", opt_str(t->reason));
	json_object_set_new(o, "waba_id", json_string(t->waba_id));
	json_object_set_new(o, "meta_id", opt_str(t->meta_id));
	json_object_set_new(o, "components", t->components ? json_incref(t->components)
							   : json_array());
	json_object_set_new(o, "body_params", json_integer(t->body_params));
	json_object_set_new(o, "header_params", json_integer(t->header_params));
	json_object_set_new(o, "param_names",
			    t->param_names ? json_incref(t->param_names) : json_null());
	json_object_set_new(o, "examples", t->examples ? json_incref(t->examples) : json_null());
	json_object_set_new(o, "created_at", iso(t->created_at));
	json_object_set_new(o, "updated_at", iso(t->updated_at));
	return o;
}

struct list_ctx {
	json_t *arr;
};

static int list_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *c = ud;
	struct template_info t;
	info_fill(&t, row);
	json_array_append_new(c->arr, template_info_json(&t));
	template_info_release(&t);
	return 0;
}

int template_list(struct store *st, const char *org_id, const char *status, const char *name,
		  int limit, json_t **out)
{
	struct list_ctx c = {json_array()};
	if (limit <= 0 || limit > TEMPLATE_LIST_MAX)
		limit = TEMPLATE_LIST_MAX;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(status), SV_TEXT(name), SV_INT(limit)};
	int rc = store_query(st, "template.list", a, 4, list_cb, &c);
	if (rc < 0) {
		json_decref(c.arr);
		*out = NULL;
		return rc;
	}
	*out = c.arr;
	return 0;
}

/* ---- WABAs and tokens ---- */

struct waba_row {
	char org_id[ID_SIZE];
	char waba_id[64];
	char number_id[ID_SIZE];
};

#define WABAS_MAX 256

struct waba_list {
	struct waba_row rows[WABAS_MAX];
	int n;
};

static int waba_cb(void *ud, const struct store_row *row)
{
	struct waba_list *l = ud;
	if (l->n >= WABAS_MAX)
		return 1;
	struct waba_row *w = &l->rows[l->n++];
	copy_text(w->org_id, sizeof w->org_id, row, 0);
	copy_text(w->waba_id, sizeof w->waba_id, row, 1);
	copy_text(w->number_id, sizeof w->number_id, row, 2);
	return 0;
}

static int wabas(struct store *st, const char *org_id, struct waba_list *l)
{
	l->n = 0;
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = store_query(st, "template.wabas", a, 1, waba_cb, l);
	return rc < 0 ? rc : 0;
}

/* ---- creation ---- */

struct insert_ctx {
	const struct template_info *t;
	const char *components;
	const char *names;
	const char *examples;
	int64_t now;
};

static int insert_fn(struct store_tx *tx, void *ud)
{
	struct insert_ctx *c = ud;
	const struct template_info *t = c->t;
	struct store_val a[] = {SV_TEXT(t->id),
				SV_TEXT(t->org_id),
				SV_TEXT(t->waba_id),
				SV_TEXT(t->meta_id[0] ? t->meta_id : NULL),
				SV_TEXT(t->name),
				SV_TEXT(t->language),
				SV_TEXT(t->category),
				SV_TEXT(t->status),
				SV_TEXT(c->components),
				SV_INT(t->body_params),
				SV_INT(t->header_params),
				SV_TEXT(c->names),
				SV_TEXT(c->examples),
				SV_INT(c->now)};
	return store_tx_exec(tx, "template.insert", a, 14, NULL);
}

static const char *const statuses[] = {"APPROVED", "PENDING",	       "REJECTED",
				       "PAUSED",   "DISABLED",	       "IN_APPEAL",
				       "PENDING_DELETION", "DELETED", "LIMIT_EXCEEDED",
				       "ARCHIVED", NULL};

static const char *status_norm(const char *s)
{
	for (int i = 0; s && statuses[i]; i++)
		if (strcasecmp(s, statuses[i]) == 0)
			return statuses[i];
	return NULL;
}

int template_create(struct store *st, const uint8_t key[SEC_KEY_BYTES],
		    const struct wa_client_config *wcfg, const char *org_id, const json_t *req,
		    struct template_info *out, struct template_problem *err)
{
	struct template_shape sh = {0};
	struct waba_list *l = NULL;
	struct wa_client *c = NULL;
	struct number_info num;
	json_t *body = NULL, *resp = NULL;
	char *comp_s = NULL, *names_s = NULL, *ex_s = NULL;
	int rc, have_num = 0;

	memset(out, 0, sizeof *out);
	rc = template_validate_new(req, err);
	if (rc)
		return rc;
	const json_t *components = json_object_get(req, "components");
	rc = template_shape_parse(components, &sh, err);
	if (rc)
		return rc;
	l = xmalloc(sizeof *l);
	rc = wabas(st, org_id, l);
	if (rc)
		goto fail;
	const char *want = json_str(req, "waba_id");
	const struct waba_row *w = NULL;
	for (int i = 0; i < l->n && !w; i++)
		if (!want || strcmp(l->rows[i].waba_id, want) == 0)
			w = &l->rows[i];
	if (!w) {
		problem(err, "invalid_field", want ? "waba_id" : "org",
			want ? "the organisation has no active number in that WABA"
			     : "the organisation has no active phone number");
		rc = want ? CW_EINVAL : CW_ENOTFOUND;
		goto fail;
	}
	struct template_info t = {0};
	id_new(t.id);
	snprintf(t.org_id, sizeof t.org_id, "%s", org_id);
	snprintf(t.waba_id, sizeof t.waba_id, "%s", w->waba_id);
	snprintf(t.name, sizeof t.name, "%s", json_str(req, "name"));
	snprintf(t.language, sizeof t.language, "%s", json_str(req, "language"));
	snprintf(t.category, sizeof t.category, "%s", category_norm(json_str(req, "category")));
	t.body_params = sh.body_params;
	t.header_params = sh.header_params;

	struct template_info existing;
	int found = 0;
	struct reader r = {st, NULL};
	rc = lookup_one(&r, "template.get", org_id, t.waba_id, t.name, t.language, &existing,
			&found);
	if (rc)
		goto fail;
	if (found) {
		template_info_release(&existing);
		problem(err, "conflict", "name", "template %s is registered in %s already", t.name,
			t.language);
		rc = CW_ECONFLICT;
		goto fail;
	}

	rc = number_get(st, key, w->number_id, 1, &num);
	if (rc)
		goto fail;
	have_num = 1;
	if (!num.token) {
		problem(err, "unavailable", NULL, "the phone number's access token cannot be opened");
		rc = CW_EUNAVAIL;
		goto fail;
	}
	c = wa_client_new(wcfg);
	if (!c) {
		rc = CW_EINTERNAL;
		goto fail;
	}
	body = json_pack("{s:s, s:s, s:s, s:O}", "name", t.name, "language", t.language,
			 "category", t.category, "components", components);
	if (sh.named)
		json_object_set_new(body, "parameter_format", json_string("NAMED"));
	char path[160];
	snprintf(path, sizeof path, "/%s/message_templates", t.waba_id);
	int status = 0;
	rc = wa_client_request_sync(c, "POST", path, num.token, body, &status, &resp);
	if (rc) {
		problem(err, "unavailable", NULL, "the Cloud API did not answer");
		rc = CW_EUNAVAIL;
		goto fail;
	}
	if (status < 200 || status > 299) {
		struct wa_api_error ae;
		char *raw = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
		int parsed = raw && wa_api_error_parse(raw, strlen(raw), &ae) == 0;
		free(raw);
		if (status >= 500 || status == 429) {
			problem(err, "unavailable", NULL, "the Cloud API answered %d", status);
			rc = CW_EUNAVAIL;
		} else {
			problem(err, "rejected_by_meta", "components", "the Cloud API refused it: %s",
				parsed ? (ae.details[0] ? ae.details : ae.message) : "no reason given");
			rc = CW_EINVAL;
		}
		goto fail;
	}
	const char *mid = json_str(resp, "id");
	snprintf(t.meta_id, sizeof t.meta_id, "%s", mid ? mid : "");
	const char *ms = status_norm(json_str(resp, "status"));
	snprintf(t.status, sizeof t.status, "%s", ms ? ms : "PENDING");
	const char *mc = category_norm(json_str(resp, "category"));
	if (mc)
		snprintf(t.category, sizeof t.category, "%s", mc);

	comp_s = json_dumps(components, JSON_COMPACT);
	names_s = sh.param_names ? json_dumps(sh.param_names, JSON_COMPACT) : NULL;
	ex_s = sh.examples ? json_dumps(sh.examples, JSON_COMPACT) : NULL;
	int64_t now = time_now_ms();
	struct insert_ctx ic = {&t, comp_s, names_s, ex_s, now};
	rc = store_tx(st, insert_fn, &ic);
	if (rc) {
		if (rc == CW_ECONFLICT)
			problem(err, "conflict", "name", "template %s is registered in %s already",
				t.name, t.language);
		goto fail;
	}
	*out = t;
	out->components = json_deep_copy(components);
	out->param_names = sh.param_names;
	out->examples = sh.examples;
	sh.param_names = sh.examples = NULL;
	out->created_at = out->updated_at = now;
	log_info("template", "template %s (%s) submitted: %s", t.name, t.language, t.status);
fail:
	free(comp_s);
	free(names_s);
	free(ex_s);
	json_decref(body);
	json_decref(resp);
	wa_client_free(c);
	if (have_num)
		number_info_release(&num);
	free(l);
	template_shape_release(&sh);
	return rc;
}

/* ---- synchronisation ---- */

struct sync_ctx {
	const struct waba_row *w;
	const json_t *items;
	int64_t started, now;
	int stored;
};

static int sync_fn(struct store_tx *tx, void *ud)
{
	struct sync_ctx *c = ud;
	size_t i;
	const json_t *it;
	c->stored = 0;
	json_array_foreach(c->items, i, it)
	{
		const char *name = json_str(it, "name");
		const char *lang = json_str(it, "language");
		const char *cat = category_norm(json_str(it, "category"));
		const char *status = status_norm(json_str(it, "status"));
		const json_t *comps = json_object_get(it, "components");
		if (!name || !lang || !cat || !status || !json_is_array(comps)) {
			log_warn("template", "skipped a listed template without a usable name, "
					     "language, category or status");
			continue;
		}
		struct template_shape sh;
		struct template_problem pr;
		if (template_shape_parse(comps, &sh, &pr) != 0) {
			log_warn("template", "template %s (%s): %s; its parameters are not known",
				 name, lang, pr.message);
			memset(&sh, 0, sizeof sh);
		}
		char *cs = json_dumps(comps, JSON_COMPACT);
		char *ns = sh.param_names ? json_dumps(sh.param_names, JSON_COMPACT) : NULL;
		char *es = sh.examples ? json_dumps(sh.examples, JSON_COMPACT) : NULL;
		char id[ID_SIZE];
		id_new(id);
		const char *mid = json_str(it, "id");
		struct store_val a[] = {SV_TEXT(id),
					SV_TEXT(c->w->org_id),
					SV_TEXT(c->w->waba_id),
					SV_TEXT(mid),
					SV_TEXT(name),
					SV_TEXT(lang),
					SV_TEXT(cat),
					SV_TEXT(status),
					SV_TEXT(cs),
					SV_INT(sh.body_params),
					SV_INT(sh.header_params),
					SV_TEXT(ns),
					SV_TEXT(es),
					SV_INT(c->now)};
		int rc = store_tx_exec(tx, "template.upsert", a, 14, NULL);
		free(cs);
		free(ns);
		free(es);
		template_shape_release(&sh);
		if (rc)
			return rc;
		const char *q = json_str(json_object_get(it, "quality_score"), "score");
		const char *why = json_str(it, "rejected_reason");
		if (q || why) {
			struct store_val u[] = {SV_TEXT(c->w->waba_id), SV_NULL,	SV_TEXT(name),
						SV_TEXT(lang),		SV_TEXT(q),	SV_INT(c->now)};
			if (q && (rc = store_tx_exec(tx, "template.set_quality", u, 6, NULL)) != 0)
				return rc;
			struct store_val s[] = {SV_TEXT(c->w->waba_id), SV_NULL, SV_TEXT(name),
						SV_TEXT(lang),	      SV_TEXT(status),
						SV_TEXT(why && strcmp(why, "NONE") ? why : NULL),
						SV_INT(c->now)};
			if (why && (rc = store_tx_exec(tx, "template.set_status", s, 7, NULL)) != 0)
				return rc;
		}
		c->stored++;
	}
	struct store_val m[] = {SV_TEXT(c->w->org_id), SV_TEXT(c->w->waba_id), SV_INT(c->started),
				SV_INT(c->now)};
	return store_tx_exec(tx, "template.mark_missing", m, 4, NULL);
}

int template_sync(struct store *st, const uint8_t key[SEC_KEY_BYTES],
		  const struct wa_client_config *wcfg, const char *org_id, int *count)
{
	struct waba_list *l = xmalloc(sizeof *l);
	struct wa_client *c = NULL;
	int first_rc = 0, total = 0;
	if (count)
		*count = 0;
	int rc = wabas(st, org_id, l);
	if (rc)
		goto out;
	for (int i = 0; i < l->n; i++) {
		const struct waba_row *w = &l->rows[i];
		struct number_info num;
		if (number_get(st, key, w->number_id, 1, &num) != 0)
			continue;
		if (!num.token) {
			number_info_release(&num);
			if (!first_rc)
				first_rc = CW_EUNAVAIL;
			continue;
		}
		if (!c && !(c = wa_client_new(wcfg))) {
			number_info_release(&num);
			rc = CW_EINTERNAL;
			goto out;
		}
		int64_t started = time_now_ms();
		json_t *items = NULL;
		struct wa_api_error ae;
		rc = wa_client_list_templates(c, w->waba_id, num.token, &items, &ae);
		number_info_release(&num);
		if (rc) {
			log_warn("template", "listing the templates of WABA %s failed: %s (%s)",
				 w->waba_id, cw_strerror(rc), ae.message);
			if (!first_rc)
				first_rc = rc;
			continue;
		}
		struct sync_ctx sc = {w, items, started, time_now_ms(), 0};
		rc = store_tx(st, sync_fn, &sc);
		json_decref(items);
		if (rc) {
			if (!first_rc)
				first_rc = rc;
			continue;
		}
		total += sc.stored;
	}
	rc = first_rc;
out:
	if (count)
		*count = total;
	wa_client_free(c);
	free(l);
	return rc;
}

/* ---- webhooks ---- */

/* Meta's template events and the status each one means ("" when it is not
 * a status: FLAGGED lowers the quality instead). */
static const struct {
	const char *event;
	const char *status;
} events[] = {
	{"APPROVED", "APPROVED"},	  {"REJECTED", "REJECTED"},
	{"PENDING", "PENDING"},		  {"PAUSED", "PAUSED"},
	{"DISABLED", "DISABLED"},	  {"IN_APPEAL", "IN_APPEAL"},
	{"PENDING_DELETION", "PENDING_DELETION"}, {"DELETED", "DELETED"},
	{"LIMIT_EXCEEDED", "LIMIT_EXCEEDED"}, {"ARCHIVED", "ARCHIVED"},
	{"REINSTATED", "APPROVED"},	  {"UNPAUSED", "APPROVED"},
	{"LOCKED", "PAUSED"},		  {"FLAGGED", ""},
};

/* Runs stmt (template.set_status with a reason, or set_category /
 * set_quality) on the template the event names: by Meta's id first, then by
 * name and language (a template registered before its id was known). */
static int update(struct store_tx *tx, const char *stmt, const struct webhook_event *ev,
		  const char *lang, const char *value, int with_reason, const char *reason,
		  int64_t now)
{
	const struct webhook_template *t = &ev->tmpl;
	int64_t changes = 0;
	for (int by_name = 0; by_name < 2 && changes == 0; by_name++) {
		const char *mid = by_name ? NULL : t->message_template_id;
		if (!by_name && !mid)
			continue;
		if (by_name && (!t->name || !lang))
			break;
		struct store_val a[7] = {SV_TEXT(ev->waba_id), SV_TEXT(mid), SV_TEXT(t->name),
					 SV_TEXT(lang), SV_TEXT(value)};
		size_t n = 6;
		if (with_reason) {
			a[5] = SV_TEXT(reason);
			a[6] = SV_INT(now);
			n = 7;
		} else {
			a[5] = SV_INT(now);
		}
		int rc = store_tx_exec(tx, stmt, a, n, &changes);
		if (rc)
			return rc;
	}
	return 0;
}

int template_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		      const char *org_id)
{
	(void)ud;
	(void)org_id; /* template events carry no phone number: the WABA finds them */
	if (ev->kind != WH_TEMPLATE_STATUS && ev->kind != WH_TEMPLATE_CATEGORY &&
	    ev->kind != WH_TEMPLATE_QUALITY)
		return 0;
	const struct webhook_template *t = &ev->tmpl;
	char lang[TEMPLATE_LANG_MAX] = "";
	if (t->language) {
		snprintf(lang, sizeof lang, "%s", t->language);
		for (char *p = lang; *p; p++)
			if (*p == '-')
				*p = '_';
	}
	const char *l = lang[0] ? lang : NULL;
	int64_t now = time_now_ms();
	if (ev->kind == WH_TEMPLATE_STATUS) {
		for (size_t i = 0; t->event && i < sizeof events / sizeof events[0]; i++) {
			if (strcasecmp(t->event, events[i].event) != 0)
				continue;
			if (!events[i].status[0])
				return update(tx, "template.set_quality", ev, l, "RED", 0, NULL, now);
			const char *why = t->rejection_reason ? t->rejection_reason : t->reason;
			if (why && strcmp(why, "NONE") == 0)
				why = NULL;
			return update(tx, "template.set_status", ev, l, events[i].status, 1, why,
				      now);
		}
		return 0;
	}
	if (ev->kind == WH_TEMPLATE_CATEGORY) {
		const char *cat = category_norm(t->new_category ? t->new_category
							 : t->correct_category);
		return cat ? update(tx, "template.set_category", ev, l, cat, 0, NULL, now) : 0;
	}
	return t->new_quality_score
		       ? update(tx, "template.set_quality", ev, l, t->new_quality_score, 0, NULL,
				now)
		       : 0;
}
