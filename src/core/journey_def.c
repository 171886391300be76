/*
 * journey_def.c — parsing and checking journey definitions, and the pieces
 * of a definition that run: texts with variables, conditions, reply matching
 * and message building (see journey_def.h; docs/journeys.md is the format).
 *
 * The checker is a set of small tables (allowed keys per step type, branch
 * kinds per step type, message shapes) read by a few loops. Every problem
 * is collected with the step and the field it is about, so a clinic fixing
 * a definition sees all of them at once.
 */
#include "core/journey_def.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/udat.h>
#include <unicode/uregex.h>
#include <unicode/ustring.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/text.h"
#include "base/time.h"
#include "wa/msg.h"
#include "base/banned.h"

/* ---- error collection ---- */

struct pctx {
	struct journey_def *d;
	struct journey_def_errors *errs;
	int nerr;
	const char *step; /* the step being checked, or NULL */
	/* button ids and list row ids offered by send steps (borrowed) */
	const char *offered[JOURNEY_MAX_STEPS * 4];
	int noffered;
};

__attribute__((format(printf, 3, 4))) static void perr(struct pctx *p, const char *field,
						       const char *fmt, ...)
{
	p->nerr++;
	if (!p->errs)
		return;
	if (p->errs->n >= JOURNEY_MAX_ERRORS) {
		p->errs->truncated = 1;
		return;
	}
	struct journey_def_error *e = &p->errs->e[p->errs->n++];
	snprintf(e->step, sizeof e->step, "%s", p->step ? p->step : "");
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

char *journey_def_error_format(const struct journey_def_error *e, char *out, size_t outsz)
{
	if (e->step[0] && e->field[0])
		snprintf(out, outsz, "step \"%s\": %s: %s", e->step, e->field, e->message);
	else if (e->step[0])
		snprintf(out, outsz, "step \"%s\": %s", e->step, e->message);
	else if (e->field[0])
		snprintf(out, outsz, "%s: %s", e->field, e->message);
	else
		snprintf(out, outsz, "%s", e->message);
	return out;
}

/* Writes a field path ("buttons[1].title"); a path longer than out is cut,
 * which only shortens an error message. */
__attribute__((format(printf, 3, 4))) static void fpath(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

/* ---- names ---- */

static const char *const step_type_names[JS_TYPE_COUNT_] = {
    [JS_SEND] = "send",	      [JS_WAIT_REPLY] = "wait_reply", [JS_WAIT] = "wait",
    [JS_BRANCH] = "branch",   [JS_SET_FIELD] = "set_field",   [JS_TAG] = "tag",
    [JS_UNTAG] = "untag",     [JS_CONSENT] = "consent",	      [JS_SET_VAR] = "set_var",
    [JS_WEBHOOK] = "webhook", [JS_HANDOFF] = "handoff",	      [JS_START] = "start",
    [JS_END] = "end",
};

const char *journey_step_type_name(enum journey_step_type t)
{
	return (unsigned)t < JS_TYPE_COUNT_ ? step_type_names[t] : "unknown";
}

static const char *const conflict_names[] = {"interrupt", "skip", "queue"};

const char *journey_conflict_name(enum journey_conflict c)
{
	return (unsigned)c < 3 ? conflict_names[c] : "unknown";
}

/* Keys each step type accepts besides id, type, next and note. */
static const char *const step_keys[JS_TYPE_COUNT_][10] = {
    [JS_SEND] = {"message", "template", "purpose", "time_critical", "expires", "result_category"},
    [JS_WAIT_REPLY] = {"timeout", "branches", "save"},
    [JS_WAIT] = {"for", "until", "quiet_hours", "if_past"},
    [JS_BRANCH] = {"branches"},
    [JS_SET_FIELD] = {"field", "value"},
    [JS_TAG] = {"tag"},
    [JS_UNTAG] = {"tag"},
    [JS_CONSENT] = {"purpose", "status", "wording_version", "evidence"},
    [JS_SET_VAR] = {"name", "value"},
    [JS_WEBHOOK] = {"url", "body", "timeout", "branches", "save"},
    [JS_HANDOFF] = {"team", "note"},
    [JS_START] = {"journey", "vars"},
    [JS_END] = {"reason"},
};

/* Branch kinds: the key that names them, and which step types take them. */
struct match_kind {
	const char *key;
	enum journey_match kind;
	unsigned steps; /* bit per step type; bit 31 = "anytime" */
};
#define ON(t)	(1u << (t))
#define ANYTIME (1u << 31)
static const struct match_kind match_kinds[] = {
    {"button", JM_BUTTON, ON(JS_WAIT_REPLY) | ANYTIME},
    {"payload", JM_BUTTON, ON(JS_WAIT_REPLY) | ANYTIME},
    {"list_row", JM_LIST, ON(JS_WAIT_REPLY) | ANYTIME},
    {"words", JM_WORDS, ON(JS_WAIT_REPLY) | ANYTIME},
    {"pattern", JM_PATTERN, ON(JS_WAIT_REPLY) | ANYTIME},
    {"any", JM_ANY, ON(JS_WAIT_REPLY)},
    {"timeout", JM_TIMEOUT, ON(JS_WAIT_REPLY)},
    {"if", JM_IF, ON(JS_BRANCH) | ON(JS_WEBHOOK)},
    {"ok", JM_OK, ON(JS_WEBHOOK)},
    {"status", JM_STATUS, ON(JS_WEBHOOK)},
    {"failed", JM_FAILED, ON(JS_WEBHOOK)},
    {"else", JM_ELSE, ON(JS_BRANCH) | ON(JS_WEBHOOK) | ON(JS_WAIT_REPLY)},
};
#define NMATCH (sizeof match_kinds / sizeof match_kinds[0])

/* Roots a variable or condition path may start with. */
static const char *const ctx_roots[] = {"contact", "event",   "vars", "run",
					"org",	   "webhook", "reply"};

/* Message types of a send step's "message". */
enum msg_kind { MK_TEXT, MK_BUTTONS, MK_LIST, MK_LOCATION, MK_MEDIA };
struct msg_shape {
	const char *type;
	enum msg_kind kind;
	const char *keys[8];
};
static const struct msg_shape msg_shapes[] = {
    {"text", MK_TEXT, {"text", "preview_url"}},
    {"buttons", MK_BUTTONS, {"header", "body", "footer", "buttons"}},
    {"list", MK_LIST, {"header", "body", "footer", "button", "sections"}},
    {"location", MK_LOCATION, {"latitude", "longitude", "name", "address"}},
    {"image", MK_MEDIA, {"link", "caption"}},
    {"video", MK_MEDIA, {"link", "caption"}},
    {"document", MK_MEDIA, {"link", "caption", "filename"}},
    {"audio", MK_MEDIA, {"link"}},
};
#define NSHAPES (sizeof msg_shapes / sizeof msg_shapes[0])

/* ---- small checks ---- */

static int valid_ident(const char *s, size_t max, int upper_ok)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '_' || c == '-' || c == '.' ||
		      (upper_ok && isupper(c))))
			return 0;
	}
	return 1;
}

static int valid_lang(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 8)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || (i >= 2 && (c == '_' || c == '-' || isupper(c)))))
			return 0;
	}
	return 1;
}

static int valid_event_type(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64 || !islower((unsigned char)s[0]) || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int journey_duration(const char *s, int64_t *ms)
{
	if (!s || !ms)
		return CW_EINVAL;
	/* "P2W": weeks, which base/time.h does not take */
	size_t n = strlen(s);
	if (n >= 3 && n < 16 && s[0] == 'P' && s[n - 1] == 'W') {
		char *end = NULL;
		long w = strtol(s + 1, &end, 10);
		if (end == s + n - 1 && w >= 0 && w <= 520) {
			*ms = (int64_t)w * 7 * 86400000LL;
			return 0;
		}
		return CW_EINVAL;
	}
	return time_parse_duration(s, ms);
}

static int check_path(const char *path)
{
	if (!path || !*path || strlen(path) > 200)
		return 0;
	size_t root = strcspn(path, ".");
	for (size_t i = 0; i < sizeof ctx_roots / sizeof ctx_roots[0]; i++)
		if (strlen(ctx_roots[i]) == root && strncmp(path, ctx_roots[i], root) == 0) {
			for (const char *c = path; *c; c++)
				if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' ||
				      *c == '-'))
					return 0;
			return path[strlen(path) - 1] != '.' && !strstr(path, "..");
		}
	return 0;
}

static const char *const filters[] = {"date", "time", "datetime", "upper", "lower"};

/* Checks the {{...}} variables of a text; returns the length in characters
 * of the text without them. */
static size_t check_vars(struct pctx *p, const char *field, const char *s)
{
	size_t chars = 0;
	const char *c = s;
	while (*c) {
		const char *open = strstr(c, "{{");
		if (!open) {
			chars += text_utf8_chars(c, strlen(c));
			break;
		}
		chars += text_utf8_chars(c, (size_t)(open - c));
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			perr(p, field, "\"{{\" without \"}}\"");
			return chars;
		}
		char inner[256];
		size_t n = (size_t)(close - open - 2);
		if (n >= sizeof inner) {
			perr(p, field, "a variable is too long");
			return chars;
		}
		memcpy(inner, open + 2, n);
		inner[n] = '\0';
		char *bar = strchr(inner, '|');
		if (bar)
			*bar++ = '\0';
		char *path = inner;
		while (*path == ' ')
			path++;
		size_t pl = strlen(path);
		while (pl && path[pl - 1] == ' ')
			path[--pl] = '\0';
		if (!check_path(path))
			perr(p, field,
			     "unknown variable \"%s\" (use contact., event., vars., run. or org.)",
			     path);
		if (bar) {
			while (*bar == ' ')
				bar++;
			int ok = strncmp(bar, "default:", 8) == 0;
			for (size_t i = 0; !ok && i < sizeof filters / sizeof filters[0]; i++) {
				size_t fl = strlen(filters[i]);
				ok = strncmp(bar, filters[i], fl) == 0 &&
				     (bar[fl] == '\0' || bar[fl] == ' ');
			}
			if (!ok)
				perr(p, field,
				     "unknown filter \"%s\" (date, time, datetime, upper, lower, "
				     "default:TEXT)",
				     bar);
		}
		c = close + 2;
	}
	return chars;
}

/* Checks a localised text: a string, or an object with a string for every
 * language of the journey. max (characters, variables not counted) 0: none. */
static void check_loc(struct pctx *p, const char *field, const json_t *v, long max, int required)
{
	if (!v) {
		if (required)
			perr(p, field, "is required");
		return;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = check_vars(p, field, s);
		if (required && n == 0 && !strstr(s, "{{"))
			perr(p, field, "is empty");
		if (max > 0 && (long)n > max)
			perr(p, field, "longer than %ld characters", max);
		return;
	}
	if (!json_is_object(v)) {
		perr(p, field, "must be a string or an object of texts by language");
		return;
	}
	for (int i = 0; i < p->d->nlangs; i++)
		if (!json_object_get(v, p->d->langs[i]))
			perr(p, field, "no \"%s\" text", p->d->langs[i]);
	const char *lang;
	const json_t *t;
	json_object_foreach((json_t *)v, lang, t)
	{
		if (!valid_lang(lang)) {
			perr(p, field, "\"%s\" is not a language code", lang);
			continue;
		}
		if (!json_is_string(t)) {
			perr(p, field, "the \"%s\" text must be a string", lang);
			continue;
		}
		size_t n = check_vars(p, field, json_string_value(t));
		if (required && json_string_length(t) == 0)
			perr(p, field, "the \"%s\" text is empty", lang);
		if (max > 0 && (long)n > max)
			perr(p, field, "longer than %ld characters in \"%s\"", max, lang);
	}
}

static long limit(const char *pattern, long fallback)
{
	long v = wa_msg_limit(pattern);
	return v > 0 ? v : fallback;
}

static void check_keys(struct pctx *p, const char *prefix, const json_t *obj,
		       const char *const *allowed, size_t nallowed)
{
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		int ok = 0;
		for (size_t i = 0; i < nallowed && allowed[i] && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (!ok) {
			char f[128];
			fpath(f, sizeof f, "%s%s", prefix, k);
			perr(p, f, "unknown field");
		}
	}
}

/* ---- conditions ---- */

static const char *const cond_ops[] = {"eq",  "ne", "in",  "not_in",	"exists",  "gt",
				       "gte", "lt", "lte", "sensitive", "contains"};
#define NOPS (sizeof cond_ops / sizeof cond_ops[0])

static void check_cond(struct pctx *p, const char *field, const json_t *c, int depth)
{
	char f[160];
	if (depth > JOURNEY_COND_MAX_DEPTH) {
		perr(p, field, "nested deeper than %d", JOURNEY_COND_MAX_DEPTH);
		return;
	}
	if (!json_is_object(c)) {
		perr(p, field, "a condition must be an object");
		return;
	}
	const json_t *all = json_object_get(c, "all"), *any = json_object_get(c, "any");
	const json_t *not = json_object_get(c, "not");
	if (all || any) {
		const json_t *arr = all ? all : any;
		fpath(f, sizeof f, "%s.%s", field, all ? "all" : "any");
		if (json_object_size(c) != 1 || !json_is_array(arr) || json_array_size(arr) == 0) {
			perr(p, f, "must be the only key, with a non-empty array of conditions");
			return;
		}
		for (size_t i = 0; i < json_array_size(arr); i++) {
			char g[176];
			fpath(g, sizeof g, "%s[%zu]", f, i);
			check_cond(p, g, json_array_get(arr, i), depth + 1);
		}
		return;
	}
	if (not ) {
		fpath(f, sizeof f, "%s.not", field);
		if (json_object_size(c) != 1) {
			perr(p, f, "must be the only key");
			return;
		}
		check_cond(p, f, not, depth + 1);
		return;
	}
	const json_t *var = json_object_get(c, "var");
	fpath(f, sizeof f, "%s.var", field);
	if (!json_is_string(var) || !check_path(json_string_value(var))) {
		perr(p, f, "must name a variable (contact., event., vars., run., org., webhook.)");
		return;
	}
	int nops = 0;
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)c, k, v)
	{
		if (strcmp(k, "var") == 0)
			continue;
		size_t i;
		for (i = 0; i < NOPS; i++)
			if (strcmp(k, cond_ops[i]) == 0)
				break;
		fpath(f, sizeof f, "%s.%s", field, k);
		if (i == NOPS) {
			perr(p, f,
			     "unknown operator (eq, ne, in, not_in, exists, gt, gte, lt, lte, "
			     "sensitive, contains)");
			continue;
		}
		nops++;
		if ((strcmp(k, "in") == 0 || strcmp(k, "not_in") == 0) && !json_is_array(v))
			perr(p, f, "must be an array");
		if ((strcmp(k, "exists") == 0 || strcmp(k, "sensitive") == 0) &&
		    !json_is_boolean(v))
			perr(p, f, "must be true or false");
		if (k[0] == 'g' || k[0] == 'l') {
			int64_t ms;
			if (!json_is_number(v) &&
			    !(json_is_string(v) && time_parse_iso(json_string_value(v), &ms) == 0))
				perr(p, f, "must be a number or an ISO-8601 time");
		}
	}
	if (nops != 1)
		perr(p, field, "needs exactly one operator besides \"var\"");
}

/* ---- words ---- */

struct fold_ctx {
	struct buf *b;
};

static void fold_word(void *ud, const char *w, size_t len)
{
	struct fold_ctx *f = ud;
	buf_append(f->b, w, len);
	buf_putc(f->b, ' ');
}

char *journey_fold_words(const char *text)
{
	if (!text)
		return NULL;
	char *folded = text_casefold(text);
	if (!folded)
		return NULL;
	struct buf b;
	buf_init(&b, TEXT_MAX * 2);
	buf_putc(&b, ' ');
	struct fold_ctx f = {&b};
	int n = text_words(folded, fold_word, &f);
	free(folded);
	if (n < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

int journey_words_match(char *const *words, int nwords, const char *folded)
{
	if (!folded)
		return 0;
	for (int i = 0; i < nwords; i++)
		if (strstr(folded, words[i]))
			return 1;
	/* Hebrew one-letter prefixes on the first word of a phrase: "ההרצאה"
	 * and "בהרצאה" are "הרצאה" (base/text.h; as the formulary reads them).
	 * Each word of folded follows a space, and a phrase ends with one, so a
	 * phrase met at a stem ends at a word boundary too. */
	for (const char *w = folded; *w; w++) {
		if (w[0] != ' ' || !w[1])
			continue;
		size_t stems[TEXT_HE_PREFIX_MAX];
		size_t ns = text_he_prefixes(w + 1, strcspn(w + 1, " "), stems);
		for (int i = 0; i < nwords; i++) {
			const char *rest = words[i] + 1; /* the phrase without its first space */
			for (size_t k = 0; k < ns; k++)
				if (strncmp(w + 1 + stems[k], rest, strlen(rest)) == 0)
					return 1;
		}
	}
	return 0;
}

/* Adds the folded form of phrase (" a b ") to *words. */
static int add_word(struct pctx *p, const char *field, const char *phrase, char ***words, int *n)
{
	if (*n >= JOURNEY_MAX_WORDS) {
		perr(p, field, "more than %d words", JOURNEY_MAX_WORDS);
		return -1;
	}
	char *f = journey_fold_words(phrase);
	if (!f || strcmp(f, " ") == 0) {
		perr(p, field, "\"%s\" has no word in it", phrase);
		free(f);
		return -1;
	}
	*words = xrealloc(*words, sizeof **words * (size_t)(*n + 1));
	(*words)[(*n)++] = f;
	return 0;
}

/* words: an array of strings, or an object of arrays by language. */
static void parse_words(struct pctx *p, const char *field, const json_t *v, char ***words, int *n)
{
	char f[160];
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			perr(p, field, "is empty");
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *w = json_array_get(v, i);
			fpath(f, sizeof f, "%s[%zu]", field, i);
			if (!json_is_string(w))
				perr(p, f, "must be a string");
			else
				add_word(p, f, json_string_value(w), words, n);
		}
		return;
	}
	if (!json_is_object(v) || json_object_size(v) == 0) {
		perr(p, field, "must be an array of words, or an object of arrays by language");
		return;
	}
	const char *lang;
	const json_t *arr;
	json_object_foreach((json_t *)v, lang, arr)
	{
		fpath(f, sizeof f, "%s.%s", field, lang);
		if (!valid_lang(lang)) {
			perr(p, f, "not a language code");
			continue;
		}
		parse_words(p, f, arr, words, n);
	}
}

static void free_words(char **w, int n)
{
	for (int i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* ---- regular expressions (ICU) ---- */

static URegularExpression *regex_open(const char *pattern, char *err, size_t errsz)
{
	UChar u[1024];
	int32_t n = 0;
	UErrorCode st = U_ZERO_ERROR;
	u_strFromUTF8(u, (int32_t)(sizeof u / sizeof u[0]), &n, pattern, -1, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING) {
		snprintf(err, errsz, "not valid UTF-8, or longer than 1000 characters");
		return NULL;
	}
	UParseError pe;
	URegularExpression *re = uregex_open(u, n, UREGEX_CASE_INSENSITIVE, &pe, &st);
	if (U_FAILURE(st)) {
		snprintf(err, errsz, "not a valid pattern (offset %d: %s)", pe.offset,
			 u_errorName(st));
		return NULL;
	}
	return re;
}

static int regex_find(const char *pattern, const char *text)
{
	char err[128];
	URegularExpression *re = regex_open(pattern, err, sizeof err);
	if (!re)
		return 0;
	UChar *u = NULL;
	int32_t n = 0;
	UErrorCode st = U_ZERO_ERROR;
	u_strFromUTF8(NULL, 0, &n, text, -1, &st);
	st = U_ZERO_ERROR;
	u = xmalloc(sizeof *u * (size_t)(n + 1));
	u_strFromUTF8(u, n + 1, &n, text, -1, &st);
	int hit = 0;
	if (U_SUCCESS(st)) {
		uregex_setText(re, u, n, &st);
		hit = U_SUCCESS(st) && uregex_find(re, 0, &st) && U_SUCCESS(st);
	}
	uregex_close(re);
	free(u);
	return hit;
}

/* ---- messages ---- */

static void offer(struct pctx *p, const char *id)
{
	if (id && p->noffered < (int)(sizeof p->offered / sizeof p->offered[0]))
		p->offered[p->noffered++] = id;
}

static int offered(const struct pctx *p, const char *id)
{
	for (int i = 0; i < p->noffered; i++)
		if (strcmp(p->offered[i], id) == 0)
			return 1;
	return 0;
}

static const struct msg_shape *shape_of(const char *type)
{
	for (size_t i = 0; type && i < NSHAPES; i++)
		if (strcmp(type, msg_shapes[i].type) == 0)
			return &msg_shapes[i];
	return NULL;
}

static void check_buttons(struct pctx *p, const json_t *btns)
{
	long maxn = limit("interactive.action.buttons", WA_MSG_MAX_BUTTONS);
	long maxt = limit("interactive.action.buttons[].reply.title", 20);
	long maxi = limit("interactive.action.buttons[].reply.id", 256);
	char f[96];
	if (!json_is_array(btns) || json_array_size(btns) == 0) {
		perr(p, "buttons", "must be an array of 1 to %ld buttons", maxn);
		return;
	}
	if ((long)json_array_size(btns) > maxn)
		perr(p, "buttons", "more than %ld buttons", maxn);
	for (size_t i = 0; i < json_array_size(btns); i++) {
		const json_t *b = json_array_get(btns, i);
		fpath(f, sizeof f, "buttons[%zu]", i);
		if (!json_is_object(b)) {
			perr(p, f, "must be an object {\"id\",\"title\"}");
			continue;
		}
		static const char *const keys[] = {"id", "title"};
		char pre[40];
		fpath(pre, sizeof pre, "%s.", f);
		check_keys(p, pre, b, keys, 2);
		const char *id = json_str(b, "id");
		fpath(f, sizeof f, "buttons[%zu].id", i);
		if (!id || !*id)
			perr(p, f, "is required");
		else if ((long)text_utf8_chars(id, strlen(id)) > maxi)
			perr(p, f, "longer than %ld characters", maxi);
		else
			offer(p, id);
		for (size_t j = 0; id && j < i; j++) {
			const char *o = json_str(json_array_get(btns, j), "id");
			if (o && strcmp(o, id) == 0)
				perr(p, f, "\"%s\" is used by buttons[%zu] too", id, j);
		}
		fpath(f, sizeof f, "buttons[%zu].title", i);
		check_loc(p, f, json_object_get(b, "title"), maxt, 1);
		/* titles must differ within each language */
		for (int l = 0; l < p->d->nlangs; l++) {
			const char *t =
			    journey_text(p->d, json_object_get(b, "title"), p->d->langs[l]);
			for (size_t j = 0; t && j < i; j++) {
				const char *o = journey_text(
				    p->d, json_object_get(json_array_get(btns, j), "title"),
				    p->d->langs[l]);
				if (o && strcmp(o, t) == 0) {
					perr(p, f, "the same as buttons[%zu].title in \"%s\"", j,
					     p->d->langs[l]);
					break;
				}
			}
		}
	}
}

static void check_list(struct pctx *p, const json_t *m)
{
	check_loc(p, "button", json_object_get(m, "button"), limit("interactive.action.button", 20),
		  1);
	const json_t *secs = json_object_get(m, "sections");
	long maxs = limit("interactive.action.sections", WA_MSG_MAX_SECTIONS);
	if (!json_is_array(secs) || json_array_size(secs) == 0) {
		perr(p, "sections", "must be an array of 1 to %ld sections", maxs);
		return;
	}
	if ((long)json_array_size(secs) > maxs)
		perr(p, "sections", "more than %ld sections", maxs);
	size_t total = 0;
	char f[96];
	for (size_t i = 0; i < json_array_size(secs); i++) {
		const json_t *s = json_array_get(secs, i);
		fpath(f, sizeof f, "sections[%zu]", i);
		if (!json_is_object(s)) {
			perr(p, f, "must be an object {\"title\",\"rows\"}");
			continue;
		}
		fpath(f, sizeof f, "sections[%zu].title", i);
		check_loc(p, f, json_object_get(s, "title"),
			  limit("interactive.action.sections[].title", 24),
			  json_array_size(secs) > 1);
		const json_t *rows = json_object_get(s, "rows");
		fpath(f, sizeof f, "sections[%zu].rows", i);
		if (!json_is_array(rows) || json_array_size(rows) == 0) {
			perr(p, f, "must be a non-empty array");
			continue;
		}
		for (size_t r = 0; r < json_array_size(rows); r++) {
			const json_t *row = json_array_get(rows, r);
			total++;
			fpath(f, sizeof f, "sections[%zu].rows[%zu].id", i, r);
			const char *id = json_str(row, "id");
			if (!id || !*id)
				perr(p, f, "is required");
			else if ((long)strlen(id) >
				 limit("interactive.action.sections[].rows[].id", 200))
				perr(p, f, "too long");
			else {
				if (offered(p, id))
					perr(p, f, "\"%s\" is used twice", id);
				offer(p, id);
			}
			fpath(f, sizeof f, "sections[%zu].rows[%zu].title", i, r);
			check_loc(p, f, json_object_get(row, "title"),
				  limit("interactive.action.sections[].rows[].title", 24), 1);
			fpath(f, sizeof f, "sections[%zu].rows[%zu].description", i, r);
			check_loc(p, f, json_object_get(row, "description"),
				  limit("interactive.action.sections[].rows[].description", 72), 0);
		}
	}
	if ((long)total > WA_MSG_MAX_ROWS)
		perr(p, "sections", "%zu rows; at most %d in all sections", total, WA_MSG_MAX_ROWS);
}

static void check_message(struct pctx *p, const json_t *m)
{
	if (!json_is_object(m)) {
		perr(p, "message", "must be an object with a \"type\"");
		return;
	}
	const char *type = json_str(m, "type");
	const struct msg_shape *sh = shape_of(type);
	if (!sh) {
		perr(p, "message.type",
		     "must be one of text, buttons, list, location, image, video, document, audio");
		return;
	}
	const char *keys[10] = {"type"};
	size_t nk = 1;
	for (size_t i = 0; i < 8 && sh->keys[i]; i++)
		keys[nk++] = sh->keys[i];
	check_keys(p, "message.", m, keys, nk);
	switch (sh->kind) {
	case MK_TEXT:
		check_loc(p, "text", json_object_get(m, "text"), limit("text.body", 4096), 1);
		break;
	case MK_BUTTONS:
	case MK_LIST:
		check_loc(p, "header", json_object_get(m, "header"),
			  limit("interactive.header.text", 60), 0);
		check_loc(p, "body", json_object_get(m, "body"),
			  limit("interactive.body.text", 1024), 1);
		check_loc(p, "footer", json_object_get(m, "footer"),
			  limit("interactive.footer.text", 60), 0);
		if (sh->kind == MK_BUTTONS)
			check_buttons(p, json_object_get(m, "buttons"));
		else
			check_list(p, m);
		break;
	case MK_LOCATION: {
		const json_t *la = json_object_get(m, "latitude"),
			     *lo = json_object_get(m, "longitude");
		if (json_is_string(la) && strstr(json_string_value(la), "{{"))
			check_vars(p, "latitude", json_string_value(la));
		else if (!json_is_number(la) || fabs(json_number_value(la)) > 90)
			perr(p, "latitude", "must be a number from -90 to 90, or a variable");
		if (json_is_string(lo) && strstr(json_string_value(lo), "{{"))
			check_vars(p, "longitude", json_string_value(lo));
		else if (!json_is_number(lo) || fabs(json_number_value(lo)) > 180)
			perr(p, "longitude", "must be a number from -180 to 180, or a variable");
		check_loc(p, "name", json_object_get(m, "name"), 0, 0);
		check_loc(p, "address", json_object_get(m, "address"), 0, 0);
		break;
	}
	case MK_MEDIA: {
		const json_t *link = json_object_get(m, "link");
		if (!json_is_string(link) ||
		    (strncmp(json_string_value(link), "https://", 8) != 0 &&
		     strncmp(json_string_value(link), "http://", 7) != 0 &&
		     strncmp(json_string_value(link), "{{", 2) != 0))
			perr(p, "link", "must be an http(s) URL");
		else
			check_vars(p, "link", json_string_value(link));
		check_loc(p, "caption", json_object_get(m, "caption"), 1024, 0);
		check_loc(p, "filename", json_object_get(m, "filename"), 240, 0);
		break;
	}
	}
}

static void check_template(struct pctx *p, const json_t *t)
{
	if (!json_is_object(t)) {
		perr(p, "template", "must be an object {\"name\",\"language\",\"params\"}");
		return;
	}
	static const char *const keys[] = {"name",	    "language", "params",
					   "header_params", "buttons",	"category"};
	check_keys(p, "template.", t, keys, 6);
	const char *name = json_str(t, "name");
	if (!name || !valid_ident(name, 512, 0))
		perr(p, "template.name", "must be a template name (lower case, digits, _)");
	const json_t *lang = json_object_get(t, "language");
	if (lang && !json_is_string(lang) && !json_is_object(lang))
		perr(p, "template.language",
		     "must be a language code or an object of codes by contact language");
	if (json_is_string(lang) && !valid_lang(json_string_value(lang)))
		perr(p, "template.language", "not a language code");
	const char *const arrs[] = {"params", "header_params"};
	for (int a = 0; a < 2; a++) {
		const json_t *ps = json_object_get(t, arrs[a]);
		char f[64];
		if (!ps)
			continue;
		if (!json_is_array(ps) || json_array_size(ps) > WA_MSG_MAX_BODY_PARAMS) {
			fpath(f, sizeof f, "template.%s", arrs[a]);
			perr(p, f, "must be an array of at most %d texts", WA_MSG_MAX_BODY_PARAMS);
			continue;
		}
		for (size_t i = 0; i < json_array_size(ps); i++) {
			fpath(f, sizeof f, "template.%s[%zu]", arrs[a], i);
			check_loc(p, f, json_array_get(ps, i), 0, 1);
		}
	}
	const json_t *bs = json_object_get(t, "buttons");
	if (bs && (!json_is_array(bs) || json_array_size(bs) > WA_MSG_MAX_TPL_BUTTONS))
		perr(p, "template.buttons", "must be an array of at most %d buttons",
		     WA_MSG_MAX_TPL_BUTTONS);
	for (size_t i = 0; json_is_array(bs) && i < json_array_size(bs); i++) {
		const json_t *b = json_array_get(bs, i);
		char f[64];
		fpath(f, sizeof f, "template.buttons[%zu]", i);
		json_int_t idx = json_integer_value(json_object_get(b, "index"));
		if (!json_is_integer(json_object_get(b, "index")) || idx < 0 ||
		    idx >= WA_MSG_MAX_TPL_BUTTONS)
			perr(p, f, "needs an \"index\" from 0 to %d", WA_MSG_MAX_TPL_BUTTONS - 1);
		const char *payload = json_str(b, "payload");
		const char *url = json_str(b, "url");
		if (!!payload == !!url)
			perr(p, f,
			     "needs one of \"payload\" (quick reply) or \"url\" (URL suffix)");
		offer(p, payload);
		if (url)
			check_vars(p, f, url);
	}
	const char *cat = json_str(t, "category");
	if (cat && strcmp(cat, "MARKETING") != 0 && strcmp(cat, "UTILITY") != 0 &&
	    strcmp(cat, "AUTHENTICATION") != 0)
		perr(p, "template.category", "must be MARKETING, UTILITY or AUTHENTICATION");
}

/* ---- steps and branches ---- */

/* Resolves a "next" value: a step id or "end". Returns the index,
 * JOURNEY_END, or -2 after an error. absent_default when v is NULL. */
static int resolve_next(struct pctx *p, const char *field, const json_t *v, int absent_default)
{
	if (!v)
		return absent_default;
	if (!json_is_string(v)) {
		perr(p, field, "must be a step id or \"end\"");
		return -2;
	}
	const char *id = json_string_value(v);
	if (strcmp(id, "end") == 0)
		return JOURNEY_END;
	int i = journey_def_step(p->d, id);
	if (i < 0) {
		perr(p, field, "no step \"%s\"", id);
		return -2;
	}
	return i;
}

static void parse_branches(struct pctx *p, const char *field, const json_t *arr, unsigned mask,
			   struct journey_branch **out, int *nout)
{
	char f[160];
	*out = NULL;
	*nout = 0;
	if (!json_is_array(arr)) {
		perr(p, field, "must be an array of branches");
		return;
	}
	size_t n = json_array_size(arr);
	if (n > JOURNEY_MAX_BRANCHES) {
		perr(p, field, "more than %d branches", JOURNEY_MAX_BRANCHES);
		return;
	}
	if (n == 0)
		return;
	struct journey_branch *bs = xcalloc(n, sizeof *bs);
	int nb = 0, has_else = 0, has_timeout = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(arr, i);
		fpath(f, sizeof f, "%s[%zu]", field, i);
		if (!json_is_object(b)) {
			perr(p, f, "must be an object");
			continue;
		}
		const struct match_kind *mk = NULL;
		const char *k;
		const json_t *v;
		int bad = 0;
		json_object_foreach((json_t *)b, k, v)
		{
			if (strcmp(k, "next") == 0 || strcmp(k, "negative") == 0 ||
			    strcmp(k, "label") == 0)
				continue;
			size_t m;
			for (m = 0; m < NMATCH; m++)
				if (strcmp(k, match_kinds[m].key) == 0)
					break;
			char g[176];
			fpath(g, sizeof g, "%s.%s", f, k);
			if (m == NMATCH) {
				perr(p, g, "unknown field");
				bad = 1;
			} else if (!(match_kinds[m].steps & mask)) {
				perr(p, g, "not a branch this step can take");
				bad = 1;
			} else if (mk) {
				perr(p, f, "matches both \"%s\" and \"%s\"; use two branches",
				     mk->key, k);
				bad = 1;
			} else {
				mk = &match_kinds[m];
			}
		}
		if (bad)
			continue;
		if (!mk) {
			perr(p, f, "says nothing to match");
			continue;
		}
		struct journey_branch *br = &bs[nb];
		br->kind = mk->kind;
		const json_t *val = json_object_get(b, mk->key);
		char g[176];
		fpath(g, sizeof g, "%s.%s", f, mk->key);
		switch (mk->kind) {
		case JM_BUTTON:
		case JM_LIST:
			if (!json_is_string(val) || json_string_length(val) == 0) {
				perr(p, g, "must be an id");
				continue;
			}
			br->value = json_string_value(val);
			if (!offered(p, br->value))
				perr(p, g, "no send step offers %s \"%s\"",
				     mk->kind == JM_LIST ? "a list row" : "a button", br->value);
			snprintf(br->label, sizeof br->label, "%s:%.60s",
				 mk->kind == JM_LIST ? "row" : "button", br->value);
			break;
		case JM_WORDS:
			parse_words(p, g, val, &br->words, &br->nwords);
			snprintf(br->label, sizeof br->label, "words");
			break;
		case JM_PATTERN: {
			char err[160];
			if (!json_is_string(val)) {
				perr(p, g, "must be a regular expression");
				continue;
			}
			URegularExpression *re =
			    regex_open(json_string_value(val), err, sizeof err);
			if (!re) {
				perr(p, g, "%s", err);
				continue;
			}
			uregex_close(re);
			br->value = json_string_value(val);
			snprintf(br->label, sizeof br->label, "pattern");
			break;
		}
		case JM_IF:
			check_cond(p, g, val, 0);
			br->cond = val;
			snprintf(br->label, sizeof br->label, "if");
			break;
		case JM_STATUS: {
			json_int_t s = json_integer_value(val);
			if (json_is_integer(val) && s >= 100 && s <= 599) {
				br->status_lo = br->status_hi = (int)s;
			} else if (json_is_string(val) && strlen(json_string_value(val)) == 3 &&
				   json_string_value(val)[0] >= '1' &&
				   json_string_value(val)[0] <= '5' &&
				   strcmp(json_string_value(val) + 1, "xx") == 0) {
				br->status_lo = (json_string_value(val)[0] - '0') * 100;
				br->status_hi = br->status_lo + 99;
			} else {
				perr(p, g, "must be an HTTP status (404) or a class (\"4xx\")");
				continue;
			}
			snprintf(br->label, sizeof br->label, "status:%s",
				 json_is_string(val) ? json_string_value(val) : "");
			if (json_is_integer(val))
				snprintf(br->label, sizeof br->label, "status:%d", (int)s);
			break;
		}
		default:
			if (!json_is_true(val)) {
				perr(p, g, "must be true");
				continue;
			}
			snprintf(br->label, sizeof br->label, "%s", mk->key);
			if (mk->kind == JM_ELSE) {
				if (has_else)
					perr(p, g, "a second else");
				has_else = 1;
			}
			if (mk->kind == JM_TIMEOUT) {
				if (has_timeout)
					perr(p, g, "a second timeout");
				has_timeout = 1;
			}
			break;
		}
		const char *label = json_str(b, "label");
		if (label)
			snprintf(br->label, sizeof br->label, "%.70s", label);
		const json_t *neg = json_object_get(b, "negative");
		if (neg && !json_is_boolean(neg))
			perr(p, f, "negative must be true or false");
		br->negative = json_is_true(neg);
		fpath(g, sizeof g, "%s.next", f);
		if (!json_object_get(b, "next")) {
			perr(p, g, "is required (a step id or \"end\")");
			continue;
		}
		int nx = resolve_next(p, g, json_object_get(b, "next"), JOURNEY_END);
		if (nx == -2)
			continue;
		br->next = nx;
		nb++;
	}
	*out = bs;
	*nout = nb;
}

static int parse_purpose(struct pctx *p, const char *field, const json_t *v, int def)
{
	if (!v)
		return def;
	int pu = json_is_string(v) ? policy_purpose_parse(json_string_value(v)) : -1;
	if (pu < 0) {
		perr(p, field, "must be one of service, reminders, results, surveys, marketing");
		return def;
	}
	return pu;
}

static void check_step(struct pctx *p, struct journey_step *s)
{
	const json_t *j = s->j;
	const char *base[] = {"id", "type", "next", "note"};
	const char *keys[16];
	size_t nk = 0;
	for (size_t i = 0; i < 4; i++)
		keys[nk++] = base[i];
	for (size_t i = 0; i < 10 && step_keys[s->type][i]; i++)
		keys[nk++] = step_keys[s->type][i];
	check_keys(p, "", j, keys, nk);
	int idx = (int)(s - p->d->steps);
	int fallthrough = idx + 1 < p->d->nsteps ? idx + 1 : JOURNEY_END;
	if (s->type == JS_END) {
		if (json_object_get(j, "next"))
			perr(p, "next", "an end step has no next");
		s->next = JOURNEY_END;
	} else {
		int nx = resolve_next(p, "next", json_object_get(j, "next"), fallthrough);
		s->next = nx == -2 ? JOURNEY_END : nx;
	}
	s->purpose = (int)p->d->purpose;
	s->if_past = -2;
	switch (s->type) {
	case JS_SEND: {
		const json_t *m = json_object_get(j, "message"),
			     *t = json_object_get(j, "template");
		if (!m && !t)
			perr(p, NULL, "a send step needs a \"message\", a \"template\", or both");
		if (m)
			check_message(p, m);
		if (t)
			check_template(p, t);
		s->purpose = parse_purpose(p, "purpose", json_object_get(j, "purpose"), s->purpose);
		const json_t *tc = json_object_get(j, "time_critical");
		if (tc && !json_is_boolean(tc))
			perr(p, "time_critical", "must be true or false");
		const json_t *ex = json_object_get(j, "expires");
		if (ex) {
			int64_t ms;
			if (json_is_string(ex)) {
				if (journey_duration(json_string_value(ex), &ms) || ms <= 0)
					perr(p, "expires",
					     "must be a positive ISO-8601 duration, or "
					     "{\"var\":..., \"offset\":...}");
			} else if (json_is_object(ex)) {
				const char *var = json_str(ex, "var");
				const char *off = json_str(ex, "offset");
				if (!var || !check_path(var))
					perr(p, "expires.var",
					     "must name a variable holding a time");
				if (off && journey_duration(off, &ms))
					perr(p, "expires.offset", "must be an ISO-8601 duration");
			} else {
				perr(p, "expires", "must be a duration or {\"var\",\"offset\"}");
			}
		}
		const json_t *rc = json_object_get(j, "result_category");
		if (rc && !json_is_string(rc))
			perr(p, "result_category", "must be a text (it may hold variables)");
		else if (rc)
			check_vars(p, "result_category", json_string_value(rc));
		break;
	}
	case JS_WAIT_REPLY:
	case JS_WEBHOOK: {
		const json_t *to = json_object_get(j, "timeout");
		if (to) {
			if (!json_is_string(to) ||
			    journey_duration(json_string_value(to), &s->timeout_ms) ||
			    s->timeout_ms <= 0)
				perr(p, "timeout",
				     "must be a positive ISO-8601 duration (\"P3D\")");
		} else if (s->type == JS_WEBHOOK) {
			s->timeout_ms = 10000;
		}
		if (s->type == JS_WEBHOOK && s->timeout_ms > 60000)
			perr(p, "timeout", "at most PT60S for a webhook");
		const json_t *br = json_object_get(j, "branches");
		if (br)
			parse_branches(p, "branches", br, ON(s->type), &s->branches, &s->nbranches);
		else if (s->type == JS_WAIT_REPLY)
			perr(p, "branches", "is required");
		const json_t *save = json_object_get(j, "save");
		if (save && (!json_is_string(save) || !valid_ident(json_string_value(save), 64, 0)))
			perr(p, "save", "must be a variable name (lower case, digits, _)");
		if (s->type == JS_WEBHOOK) {
			const char *url = json_str(j, "url");
			if (!url ||
			    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
				perr(p, "url", "must be an http(s) URL");
			else
				check_vars(p, "url", url);
			const json_t *body = json_object_get(j, "body");
			if (body && !json_is_object(body))
				perr(p, "body", "must be an object");
		}
		int has_timeout_branch = 0;
		for (int i = 0; i < s->nbranches; i++)
			has_timeout_branch |= s->branches[i].kind == JM_TIMEOUT;
		if (has_timeout_branch && !s->timeout_ms)
			perr(p, "timeout", "is required when a branch takes the timeout");
		break;
	}
	case JS_WAIT: {
		const json_t *fo = json_object_get(j, "for"), *un = json_object_get(j, "until");
		if (!!fo == !!un) {
			perr(p, NULL, "a wait step needs one of \"for\" or \"until\"");
			break;
		}
		if (fo && (!json_is_string(fo) ||
			   journey_duration(json_string_value(fo), &s->for_ms) || s->for_ms <= 0))
			perr(p, "for", "must be a positive ISO-8601 duration (\"P3M\")");
		if (un) {
			s->has_until = 1;
			const char *var = json_str(un, "var");
			const char *off = json_str(un, "offset");
			const char *at = json_str(un, "at");
			int64_t ms;
			if (!json_is_object(un))
				perr(p, "until", "must be {\"var\":..., \"offset\":...}");
			else if (!var || !check_path(var))
				perr(p, "until.var",
				     "must name a variable holding a time "
				     "(event.starts_at)");
			if (off && journey_duration(off, &ms))
				perr(p, "until.offset",
				     "must be an ISO-8601 duration (\"-PT24H\")");
			if (at &&
			    (strlen(at) != 5 || at[2] != ':' || !isdigit((unsigned char)at[0]) ||
			     !isdigit((unsigned char)at[1]) || !isdigit((unsigned char)at[3]) ||
			     !isdigit((unsigned char)at[4]) ||
			     (at[0] - '0') * 10 + at[1] - '0' > 23 || at[3] > '5'))
				perr(p, "until.at", "must be a local time \"HH:MM\"");
		}
		const char *qh = json_str(j, "quiet_hours");
		if (json_object_get(j, "quiet_hours") &&
		    (!qh || (strcmp(qh, "later") != 0 && strcmp(qh, "ignore") != 0)))
			perr(p, "quiet_hours", "must be \"later\" or \"ignore\"");
		if (json_object_get(j, "if_past")) {
			if (!un)
				perr(p, "if_past", "only a wait \"until\" can be past");
			int nx = resolve_next(p, "if_past", json_object_get(j, "if_past"), s->next);
			s->if_past = nx == -2 ? s->next : nx;
		}
		break;
	}
	case JS_BRANCH: {
		const json_t *br = json_object_get(j, "branches");
		if (!br)
			perr(p, "branches", "is required");
		else
			parse_branches(p, "branches", br, ON(JS_BRANCH), &s->branches,
				       &s->nbranches);
		break;
	}
	case JS_SET_FIELD: {
		const char *fl = json_str(j, "field");
		if (!fl || !valid_ident(fl, 64, 0))
			perr(p, "field", "must be a field key (lower case, digits, _)");
		const json_t *v = json_object_get(j, "value");
		if (!v || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v) ||
			    json_is_null(v)))
			perr(p, "value", "must be a text, a number, true/false or null");
		else if (json_is_string(v))
			check_vars(p, "value", json_string_value(v));
		break;
	}
	case JS_TAG:
	case JS_UNTAG: {
		const char *t = json_str(j, "tag");
		if (!t || !*t || strlen(t) > 64)
			perr(p, "tag", "must be a tag of 1 to 64 bytes");
		break;
	}
	case JS_CONSENT: {
		const char *pu = json_str(j, "purpose");
		if (!pu || policy_purpose_parse(pu) < 0)
			perr(p, "purpose",
			     "must be one of service, reminders, results, surveys, "
			     "marketing");
		const char *st = json_str(j, "status");
		if (!st || (strcmp(st, "granted") != 0 && strcmp(st, "refused") != 0 &&
			    strcmp(st, "withdrawn") != 0))
			perr(p, "status", "must be granted, refused or withdrawn");
		const json_t *wv = json_object_get(j, "wording_version");
		if (wv && !json_is_string(wv))
			perr(p, "wording_version", "must be a text");
		break;
	}
	case JS_SET_VAR: {
		const char *n = json_str(j, "name");
		if (!n || !valid_ident(n, 64, 0))
			perr(p, "name", "must be a variable name (lower case, digits, _)");
		if (!json_object_get(j, "value"))
			perr(p, "value", "is required");
		else if (json_is_string(json_object_get(j, "value")))
			check_vars(p, "value", json_string_value(json_object_get(j, "value")));
		break;
	}
	case JS_HANDOFF: {
		const char *t = json_str(j, "team");
		if (!t || !valid_ident(t, 64, 0))
			perr(p, "team", "must be a team name (lower case, digits, _)");
		check_loc(p, "note", json_object_get(j, "note"), 1024, 0);
		break;
	}
	case JS_START: {
		const char *k = json_str(j, "journey");
		if (!k || !valid_ident(k, JOURNEY_KEY_MAX, 0))
			perr(p, "journey", "must be a journey key");
		else if (p->d->key && strcmp(k, p->d->key) == 0)
			perr(p, "journey", "a journey cannot start itself");
		const json_t *v = json_object_get(j, "vars");
		if (v && !json_is_object(v))
			perr(p, "vars", "must be an object");
		break;
	}
	case JS_END: {
		const json_t *r = json_object_get(j, "reason");
		if (r && !json_is_string(r))
			perr(p, "reason", "must be a text");
		break;
	}
	default:
		break;
	}
}

/* A run must not loop without waiting: every cycle of the step graph must go
 * through a wait_reply, a wait or a webhook. Depth-first search over the
 * edges of non-waiting steps. */
static int waits(const struct journey_step *s)
{
	return s->type == JS_WAIT_REPLY || s->type == JS_WAIT || s->type == JS_WEBHOOK;
}

static int loop_from(const struct journey_def *d, int i, unsigned char *mark)
{
	if (i < 0 || waits(&d->steps[i]))
		return -1;
	if (mark[i] == 1)
		return i;
	if (mark[i] == 2)
		return -1;
	mark[i] = 1;
	const struct journey_step *s = &d->steps[i];
	int r = loop_from(d, s->next, mark);
	for (int b = 0; r < 0 && b < s->nbranches; b++)
		r = loop_from(d, s->branches[b].next, mark);
	if (s->if_past >= 0 && r < 0)
		r = loop_from(d, s->if_past, mark);
	mark[i] = 2;
	return r;
}

static void add_edge(json_t *edges, const struct journey_def *d, int to, const char *label)
{
	json_array_append_new(edges, json_pack("{s:s, s:s}", "to",
					       to >= 0 ? d->steps[to].id : "end", "label", label));
}

static json_t *build_graph(const struct journey_def *d)
{
	json_t *steps = json_array();
	for (int i = 0; i < d->nsteps; i++) {
		const struct journey_step *s = &d->steps[i];
		json_t *edges = json_array();
		for (int b = 0; b < s->nbranches; b++)
			add_edge(edges, d, s->branches[b].next, s->branches[b].label);
		if (s->if_past >= 0 || (s->if_past == JOURNEY_END && s->has_until))
			add_edge(edges, d, s->if_past, "past");
		if (s->type != JS_END)
			add_edge(edges, d, s->next, "next");
		json_array_append_new(steps,
				      json_pack("{s:s, s:s, s:o}", "id", s->id, "type",
						journey_step_type_name(s->type), "edges", edges));
	}
	json_t *any = json_array();
	for (int b = 0; b < d->nanytime; b++)
		add_edge(any, d, d->anytime[b].next, d->anytime[b].label);
	return json_pack("{s:s, s:o, s:o}", "start", d->nsteps ? d->steps[d->start].id : "end",
			 "steps", steps, "anytime", any);
}

/* ---- triggers ---- */

static void parse_triggers(struct pctx *p, const json_t *arr)
{
	char f[96];
	struct journey_def *d = p->d;
	if (!arr)
		return;
	if (!json_is_array(arr) || json_array_size(arr) > JOURNEY_MAX_TRIGGERS) {
		perr(p, "triggers", "must be an array of at most %d triggers",
		     JOURNEY_MAX_TRIGGERS);
		return;
	}
	size_t n = json_array_size(arr);
	d->triggers = xcalloc(n ? n : 1, sizeof *d->triggers);
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_array_get(arr, i);
		fpath(f, sizeof f, "triggers[%zu]", i);
		const char *type = json_str(t, "type");
		struct journey_trigger *tr = &d->triggers[d->ntriggers];
		char g[112];
		static const char *const keys[] = {"type", "event", "words", "if"};
		char pre[40];
		fpath(pre, sizeof pre, "%s.", f);
		if (json_is_object(t))
			check_keys(p, pre, t, keys, 4);
		if (!type) {
			perr(p, f, "needs a \"type\": api, event, keyword or new_contact");
			continue;
		}
		if (strcmp(type, "api") == 0) {
			tr->kind = JT_API;
		} else if (strcmp(type, "new_contact") == 0) {
			tr->kind = JT_NEW_CONTACT;
		} else if (strcmp(type, "event") == 0) {
			tr->kind = JT_EVENT;
			tr->event = json_str(t, "event");
			fpath(g, sizeof g, "%s.event", f);
			if (!valid_event_type(tr->event)) {
				perr(p, g, "must be an event type (\"appointment.booked\")");
				continue;
			}
		} else if (strcmp(type, "keyword") == 0) {
			tr->kind = JT_KEYWORD;
			fpath(g, sizeof g, "%s.words", f);
			const json_t *w = json_object_get(t, "words");
			if (!w) {
				perr(p, g, "is required");
				continue;
			}
			parse_words(p, g, w, &tr->words, &tr->nwords);
		} else {
			fpath(g, sizeof g, "%s.type", f);
			perr(p, g, "must be api, event, keyword or new_contact");
			continue;
		}
		const json_t *c = json_object_get(t, "if");
		if (c) {
			fpath(g, sizeof g, "%s.if", f);
			check_cond(p, g, c, 0);
			tr->cond = c;
		}
		d->ntriggers++;
	}
}

/* ---- the journey ---- */

static void parse_langs(struct pctx *p, const json_t *root)
{
	struct journey_def *d = p->d;
	const json_t *ls = json_object_get(root, "languages");
	if (ls) {
		if (!json_is_array(ls) || json_array_size(ls) == 0 ||
		    json_array_size(ls) > JOURNEY_MAX_LANGS) {
			perr(p, "languages", "must be an array of 1 to %d language codes",
			     JOURNEY_MAX_LANGS);
		} else {
			for (size_t i = 0; i < json_array_size(ls); i++) {
				const char *l = json_string_value(json_array_get(ls, i));
				char f[32];
				fpath(f, sizeof f, "languages[%zu]", i);
				if (!valid_lang(l))
					perr(p, f, "not a language code (\"he\", \"ru\", \"en\")");
				else
					d->langs[d->nlangs++] = l;
			}
		}
	}
	if (d->nlangs == 0)
		d->langs[d->nlangs++] = "en";
	const char *def = json_str(root, "default_language");
	d->default_lang = d->langs[0];
	if (json_object_get(root, "default_language")) {
		int found = 0;
		for (int i = 0; def && i < d->nlangs; i++)
			if (strcmp(def, d->langs[i]) == 0) {
				d->default_lang = d->langs[i];
				found = 1;
			}
		if (!found)
			perr(p, "default_language", "must be one of \"languages\"");
	}
}

static const char *const journey_keys[] = {
    "key",	   "name",	"description",	    "version",
    "purpose",	   "languages", "default_language", "interactive",
    "on_conflict", "subject",	"cancel_on",	    "triggers",
    "start",	   "steps",	"anytime",	    "note",
    "tags",
};

int journey_def_parse(json_t *root, struct journey_def **out, struct journey_def_errors *errs)
{
	if (errs) {
		errs->n = 0;
		errs->truncated = 0;
	}
	if (!out)
		return CW_EINVAL;
	*out = NULL;
	struct journey_def *d = xcalloc(1, sizeof *d);
	struct pctx p = {.d = d, .errs = errs};
	if (!json_is_object(root)) {
		perr(&p, NULL, "a journey definition must be a JSON object");
		journey_def_free(d);
		return CW_EINVAL;
	}
	d->root = json_incref(root);
	check_keys(&p, "", root, journey_keys, sizeof journey_keys / sizeof journey_keys[0]);

	d->key = json_str(root, "key");
	if (!valid_ident(d->key, JOURNEY_KEY_MAX, 0)) {
		perr(&p, "key", "is required: 1 to %d of a-z, 0-9, _ . -", JOURNEY_KEY_MAX);
		d->key = NULL;
	}
	parse_langs(&p, root);
	const json_t *name = json_object_get(root, "name");
	check_loc(&p, "name", name, 200, 0);
	d->name = journey_text(d, name, d->default_lang);
	if (!d->name)
		d->name = d->key ? d->key : "";
	const json_t *ver = json_object_get(root, "version");
	if (ver && (!json_is_integer(ver) || json_integer_value(ver) < 1 ||
		    json_integer_value(ver) > 1000000))
		perr(&p, "version", "must be a positive integer");
	d->version = ver && json_is_integer(ver) ? (int)json_integer_value(ver) : 0;
	if (!json_object_get(root, "purpose"))
		perr(&p, "purpose",
		     "is required: service, reminders, results, surveys or "
		     "marketing (the policy checks it on every send)");
	d->purpose = (enum policy_purpose)parse_purpose(
	    &p, "purpose", json_object_get(root, "purpose"), POLICY_SERVICE);
	const char *oc = json_str(root, "on_conflict");
	d->conflict = JC_QUEUE;
	if (json_object_get(root, "on_conflict")) {
		int ok = 0;
		for (int i = 0; oc && i < 3; i++)
			if (strcmp(oc, conflict_names[i]) == 0) {
				d->conflict = (enum journey_conflict)i;
				ok = 1;
			}
		if (!ok)
			perr(&p, "on_conflict", "must be interrupt, skip or queue");
	}
	const json_t *subj = json_object_get(root, "subject");
	if (subj) {
		d->subject = json_string_value(subj);
		if (!d->subject || !check_path(d->subject)) {
			perr(&p, "subject", "must name a variable (\"event.appointment_id\")");
			d->subject = NULL;
		}
	}
	d->cancel_on = json_object_get(root, "cancel_on");
	if (d->cancel_on) {
		if (!json_is_array(d->cancel_on))
			perr(&p, "cancel_on", "must be an array of event types");
		for (size_t i = 0; json_is_array(d->cancel_on) && i < json_array_size(d->cancel_on);
		     i++)
			if (!valid_event_type(json_string_value(json_array_get(d->cancel_on, i)))) {
				char f[32];
				fpath(f, sizeof f, "cancel_on[%zu]", i);
				perr(&p, f, "must be an event type");
			}
		if (!d->subject)
			perr(&p, "cancel_on", "needs a \"subject\" to know which runs to end");
	}

	/* steps: first their ids and types, so that "next" can point forward */
	const json_t *steps = json_object_get(root, "steps");
	if (!json_is_array(steps) || json_array_size(steps) == 0 ||
	    json_array_size(steps) > JOURNEY_MAX_STEPS) {
		perr(&p, "steps", "must be an array of 1 to %d steps", JOURNEY_MAX_STEPS);
		goto done;
	}
	d->nsteps = (int)json_array_size(steps);
	d->steps = xcalloc((size_t)d->nsteps, sizeof *d->steps);
	int steps_ok = 1;
	for (int i = 0; i < d->nsteps; i++) {
		struct journey_step *s = &d->steps[i];
		const json_t *j = json_array_get(steps, (size_t)i);
		char f[32];
		fpath(f, sizeof f, "steps[%d]", i);
		s->j = j;
		s->next = JOURNEY_END;
		if (!json_is_object(j)) {
			perr(&p, f, "must be an object");
			steps_ok = 0;
			s->id = "";
			continue;
		}
		s->id = json_str(j, "id");
		if (!valid_ident(s->id, JOURNEY_STEP_ID_MAX, 1) || strcmp(s->id, "end") == 0) {
			char g[48];
			fpath(g, sizeof g, "%s.id", f);
			perr(&p, g, "is required: 1 to %d of letters, digits, _ . - (not \"end\")",
			     JOURNEY_STEP_ID_MAX);
			s->id = "";
			steps_ok = 0;
			continue;
		}
		for (int k = 0; k < i; k++)
			if (strcmp(d->steps[k].id, s->id) == 0) {
				p.step = s->id;
				perr(&p, "id", "used by steps[%d] too", k);
				p.step = NULL;
				steps_ok = 0;
			}
		const char *type = json_str(j, "type");
		int t;
		for (t = 0; t < JS_TYPE_COUNT_; t++)
			if (type && strcmp(type, step_type_names[t]) == 0)
				break;
		if (t == JS_TYPE_COUNT_) {
			p.step = s->id;
			perr(&p, "type",
			     "must be one of send, wait_reply, wait, branch, set_field, "
			     "tag, untag, consent, set_var, webhook, handoff, start, end");
			p.step = NULL;
			s->type = JS_TYPE_COUNT_; /* checked no further */
			continue;
		}
		s->type = (enum journey_step_type)t;
	}
	if (!steps_ok)
		goto done;
	/* send steps first, so that branches know every button offered */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < d->nsteps; i++) {
			struct journey_step *s = &d->steps[i];
			if ((s->type == JS_SEND) != (pass == 0) || s->type == JS_TYPE_COUNT_)
				continue;
			p.step = s->id;
			check_step(&p, s);
			p.step = NULL;
		}
	d->start = 0;
	if (json_object_get(root, "start")) {
		int st = resolve_next(&p, "start", json_object_get(root, "start"), 0);
		if (st >= 0)
			d->start = st;
		else if (st == JOURNEY_END)
			perr(&p, "start", "must be a step");
	}
	const json_t *any = json_object_get(root, "anytime");
	if (any)
		parse_branches(&p, "anytime", any, ANYTIME, &d->anytime, &d->nanytime);
	const json_t *inter = json_object_get(root, "interactive");
	int has_reply = d->nanytime > 0;
	for (int i = 0; i < d->nsteps; i++)
		has_reply |= d->steps[i].type == JS_WAIT_REPLY;
	d->interactive = has_reply;
	if (inter) {
		if (!json_is_boolean(inter))
			perr(&p, "interactive", "must be true or false");
		else if (!json_is_true(inter) && has_reply)
			perr(&p, "interactive", "a journey that waits for replies is interactive");
		else
			d->interactive = json_is_true(inter);
	}
	if (p.nerr == 0) {
		unsigned char *mark = xcalloc((size_t)d->nsteps, 1);
		for (int i = 0; i < d->nsteps; i++) {
			int l = loop_from(d, i, mark);
			if (l >= 0) {
				p.step = d->steps[l].id;
				perr(&p, NULL,
				     "loops back to itself without a wait step on the way");
				p.step = NULL;
				break;
			}
		}
		free(mark);
	}
	parse_triggers(&p, json_object_get(root, "triggers"));
done:
	if (p.nerr) {
		journey_def_free(d);
		return CW_EINVAL;
	}
	d->graph = build_graph(d);
	*out = d;
	return 0;
}

int journey_def_parse_text(const char *text, size_t len, struct journey_def **out,
			   struct journey_def_errors *errs)
{
	if (out)
		*out = NULL;
	if (errs) {
		errs->n = 0;
		errs->truncated = 0;
	}
	if (len > JOURNEY_DEF_MAX_BYTES) {
		if (errs) {
			errs->n = 1;
			memset(&errs->e[0], 0, sizeof errs->e[0]);
			snprintf(errs->e[0].message, sizeof errs->e[0].message,
				 "the definition is larger than %u bytes", JOURNEY_DEF_MAX_BYTES);
		}
		return CW_ETOOBIG;
	}
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (errs) {
			errs->n = 1;
			memset(&errs->e[0], 0, sizeof errs->e[0]);
			snprintf(errs->e[0].field, sizeof errs->e[0].field, "line %d, column %d",
				 je.line, je.column);
			snprintf(errs->e[0].message, sizeof errs->e[0].message, "%s", je.text);
		}
		return CW_EINVAL;
	}
	int rc = journey_def_parse(root, out, errs);
	json_decref(root);
	return rc;
}

static void free_branches(struct journey_branch *b, int n)
{
	for (int i = 0; i < n; i++)
		free_words(b[i].words, b[i].nwords);
	free(b);
}

void journey_def_free(struct journey_def *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nsteps; i++)
		free_branches(d->steps[i].branches, d->steps[i].nbranches);
	free(d->steps);
	free_branches(d->anytime, d->nanytime);
	for (int i = 0; i < d->ntriggers; i++)
		free_words(d->triggers[i].words, d->triggers[i].nwords);
	free(d->triggers);
	json_decref(d->graph);
	json_decref(d->root);
	free(d);
}

int journey_def_step(const struct journey_def *d, const char *id)
{
	for (int i = 0; id && i < d->nsteps; i++)
		if (d->steps[i].id && strcmp(d->steps[i].id, id) == 0)
			return i;
	return -1;
}

/* ---- texts, variables, conditions ---- */

const char *journey_def_lang(const struct journey_def *d, const char *lang)
{
	for (int i = 0; lang && i < d->nlangs; i++)
		if (strcmp(lang, d->langs[i]) == 0)
			return d->langs[i];
	/* "en_US" or "he-IL": try the language part */
	if (lang && strlen(lang) > 2 && (lang[2] == '_' || lang[2] == '-'))
		for (int i = 0; i < d->nlangs; i++)
			if (strncmp(lang, d->langs[i], 2) == 0 && strlen(d->langs[i]) == 2)
				return d->langs[i];
	return d->default_lang;
}

const char *journey_text(const struct journey_def *d, const json_t *v, const char *lang)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (!json_is_object(v))
		return NULL;
	const char *s = lang ? json_str(v, lang) : NULL;
	if (!s && d && d->default_lang)
		s = json_str(v, d->default_lang);
	if (!s) {
		const char *k;
		const json_t *t;
		json_object_foreach((json_t *)v, k, t)
		{
			if (json_is_string(t))
				return json_string_value(t);
		}
	}
	return s;
}

const json_t *journey_ctx_get(const json_t *ctx, const char *path)
{
	const json_t *cur = ctx;
	const char *p = path;
	while (cur && p && *p) {
		size_t n = strcspn(p, ".");
		char seg[128];
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, seg);
		} else if (json_is_array(cur)) {
			char *end = NULL;
			long i = strtol(seg, &end, 10);
			cur = end && *end == '\0' && i >= 0 ? json_array_get(cur, (size_t)i) : NULL;
		} else {
			return NULL;
		}
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

/* A JSON value as a time: an ISO string, or a number of UTC ms. */
static int value_time(const json_t *v, int64_t *ms)
{
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return time_parse_iso(json_string_value(v), ms);
	return CW_EINVAL;
}

/* Formats ms as a date, a time or both in zone and locale through ICU. */
static int format_time(int64_t ms, const char *zone, const char *locale, int date, int time,
		       char *out, size_t outsz)
{
	UChar uz[64], u[256];
	int32_t nz = 0, n8 = 0;
	UErrorCode st = U_ZERO_ERROR;
	u_strFromUTF8(uz, 64, &nz, zone && *zone ? zone : "UTC", -1, &st);
	if (U_FAILURE(st))
		return CW_EINVAL;
	UDateFormat *f = udat_open(time ? UDAT_SHORT : UDAT_NONE, date ? UDAT_MEDIUM : UDAT_NONE,
				   locale && *locale ? locale : "en", uz, nz, NULL, 0, &st);
	if (U_FAILURE(st))
		return CW_EINVAL;
	int32_t n = udat_format(f, (UDate)ms, u, 256, NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || n >= 256)
		return CW_EINVAL;
	u_strToUTF8(out, (int32_t)outsz, &n8, u, n, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
		return CW_EINVAL;
	return 0;
}

static void ascii_case(char *s, int upper)
{
	for (; *s; s++)
		*s = (char)(upper ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
}

/* The contact's language's member of an object of texts by language (then
 * English, then any). */
static const json_t *localised(const json_t *v, const json_t *ctx)
{
	const char *lang = json_string_value(journey_ctx_get(ctx, "contact.language"));
	const json_t *t = lang ? json_object_get(v, lang) : NULL;
	if (!t)
		t = json_object_get(v, "en");
	if (!t) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			if (json_is_string(x))
				return x;
		}
	}
	return t;
}

int journey_render(const char *text, const json_t *ctx, struct buf *out)
{
	const char *c = text ? text : "";
	size_t start = out->len;
	while (*c) {
		const char *open = strstr(c, "{{");
		const char *close = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !close) {
			buf_puts(out, c);
			break;
		}
		buf_append(out, c, (size_t)(open - c));
		char inner[256];
		size_t n = (size_t)(close - open - 2);
		if (n >= sizeof inner)
			n = sizeof inner - 1;
		memcpy(inner, open + 2, n);
		inner[n] = '\0';
		char *filter = strchr(inner, '|');
		if (filter)
			*filter++ = '\0';
		char *path = inner;
		while (*path == ' ')
			path++;
		size_t pl = strlen(path);
		while (pl && path[pl - 1] == ' ')
			path[--pl] = '\0';
		while (filter && *filter == ' ')
			filter++;
		const json_t *v = journey_ctx_get(ctx, path);
		if (json_is_object(v)) /* a value given in several languages */
			v = localised(v, ctx);
		char val[512] = "";
		if (json_is_string(v))
			snprintf(val, sizeof val, "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(val, sizeof val, "%g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(val, sizeof val, "%s", json_is_true(v) ? "true" : "false");
		if (filter) {
			int64_t ms;
			const char *zone =
			    json_string_value(journey_ctx_get(ctx, "contact.time_zone"));
			if (!zone || !*zone)
				zone = json_string_value(journey_ctx_get(ctx, "org.time_zone"));
			const char *lang =
			    json_string_value(journey_ctx_get(ctx, "contact.language"));
			int d =
			    strncmp(filter, "date", 4) == 0 || strncmp(filter, "datetime", 8) == 0;
			int t =
			    strncmp(filter, "time", 4) == 0 || strncmp(filter, "datetime", 8) == 0;
			if ((d || t) && v && value_time(v, &ms) == 0) {
				char f[256];
				if (format_time(ms, zone, lang, d, t, f, sizeof f) == 0)
					snprintf(val, sizeof val, "%s", f);
			} else if (strncmp(filter, "upper", 5) == 0) {
				ascii_case(val, 1);
			} else if (strncmp(filter, "lower", 5) == 0) {
				ascii_case(val, 0);
			} else if (strncmp(filter, "default:", 8) == 0 && !val[0]) {
				snprintf(val, sizeof val, "%s", filter + 8);
			}
		}
		buf_puts(out, val);
		c = close + 2;
		if (out->len - start > JOURNEY_RENDER_MAX)
			return CW_ETOOBIG;
	}
	return out->len - start > JOURNEY_RENDER_MAX ? CW_ETOOBIG : 0;
}

static int json_scalar_eq(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return 0;
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	/* "142" and 142: CRMs are loose about ids */
	if (json_is_string(a) && json_is_integer(b)) {
		char t[32];
		snprintf(t, sizeof t, "%lld", (long long)json_integer_value(b));
		return strcmp(json_string_value(a), t) == 0;
	}
	if (json_is_integer(a) && json_is_string(b))
		return json_scalar_eq(b, a);
	return json_equal((json_t *)a, (json_t *)b);
}

static int compare(const json_t *a, const json_t *b, int *cmp)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		*cmp = x < y ? -1 : x > y;
		return 0;
	}
	int64_t x, y;
	if (value_time(a, &x) == 0 && value_time(b, &y) == 0) {
		*cmp = x < y ? -1 : x > y;
		return 0;
	}
	if (json_is_string(a) && json_is_number(b)) {
		char *end = NULL;
		double v = strtod(json_string_value(a), &end);
		if (end && *end == '\0' && end != json_string_value(a)) {
			double y2 = json_number_value(b);
			*cmp = v < y2 ? -1 : v > y2;
			return 0;
		}
	}
	return -1;
}

static int is_sensitive(const char *cat, const struct policy_org *org)
{
	if (!cat || !*cat)
		return 0;
	struct policy_org def;
	if (!org) {
		policy_org_init(&def, POLICY_ORG_HOSPITAL, "UTC");
		org = &def;
	}
	for (int i = 0; i < org->n_sensitive; i++) {
		const char *s = org->sensitive[i];
		size_t n = strlen(s);
		if (strncasecmp(cat, s, n) == 0 &&
		    (cat[n] == '\0' || cat[n] == '/' || cat[n] == '.' || cat[n] == '-'))
			return 1;
	}
	return 0;
}

int journey_cond_eval(const json_t *c, const json_t *ctx, const struct policy_org *org)
{
	if (!json_is_object(c))
		return 0;
	const json_t *arr;
	if ((arr = json_object_get(c, "all")) != NULL) {
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (!journey_cond_eval(json_array_get(arr, i), ctx, org))
				return 0;
		return 1;
	}
	if ((arr = json_object_get(c, "any")) != NULL) {
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (journey_cond_eval(json_array_get(arr, i), ctx, org))
				return 1;
		return 0;
	}
	if ((arr = json_object_get(c, "not")) != NULL)
		return !journey_cond_eval(arr, ctx, org);
	const json_t *v = journey_ctx_get(ctx, json_str(c, "var"));
	if (json_is_null(v))
		v = NULL;
	const char *k;
	const json_t *x;
	json_object_foreach((json_t *)c, k, x)
	{
		int cmp = 0;
		if (strcmp(k, "var") == 0)
			continue;
		if (strcmp(k, "eq") == 0)
			return json_scalar_eq(v, x);
		if (strcmp(k, "ne") == 0)
			return !json_scalar_eq(v, x);
		if (strcmp(k, "in") == 0 || strcmp(k, "not_in") == 0) {
			int hit = 0;
			for (size_t i = 0; i < json_array_size(x) && !hit; i++)
				hit = json_scalar_eq(v, json_array_get(x, i));
			return k[0] == 'i' ? hit : !hit;
		}
		if (strcmp(k, "exists") == 0) {
			int has = v && !(json_is_string(v) && json_string_length(v) == 0);
			return json_is_true(x) ? has : !has;
		}
		if (strcmp(k, "sensitive") == 0) {
			int s = is_sensitive(json_string_value(v), org);
			return json_is_true(x) ? s : !s;
		}
		if (strcmp(k, "contains") == 0) {
			if (json_is_array(v)) {
				for (size_t i = 0; i < json_array_size(v); i++)
					if (json_scalar_eq(json_array_get(v, i), x))
						return 1;
				return 0;
			}
			return json_is_string(v) && json_is_string(x) &&
			       strstr(json_string_value(v), json_string_value(x)) != NULL;
		}
		if (compare(v, x, &cmp) != 0)
			return 0;
		if (strcmp(k, "gt") == 0)
			return cmp > 0;
		if (strcmp(k, "gte") == 0)
			return cmp >= 0;
		if (strcmp(k, "lt") == 0)
			return cmp < 0;
		if (strcmp(k, "lte") == 0)
			return cmp <= 0;
	}
	return 0;
}

int journey_branch_matches(const struct journey_branch *b, const struct journey_reply *r,
			   const char *folded)
{
	switch (b->kind) {
	case JM_BUTTON:
		return r->button && strcmp(r->button, b->value) == 0;
	case JM_LIST:
		return r->list && strcmp(r->list, b->value) == 0;
	case JM_WORDS:
		return journey_words_match(b->words, b->nwords, folded);
	case JM_PATTERN:
		return r->text && regex_find(b->value, r->text);
	case JM_ANY:
		return 1;
	default:
		return 0;
	}
}

/* ---- building messages ---- */

/* Renders a localised text; NULL when v is absent. */
static char *render_loc(const struct journey_def *d, const json_t *v, const char *lang,
			const json_t *ctx)
{
	const char *t = journey_text(d, v, lang);
	if (!t)
		return NULL;
	struct buf b;
	buf_init(&b, JOURNEY_RENDER_MAX * 2);
	journey_render(t, ctx, &b);
	return buf_detach(&b, NULL);
}

/* Sets key to a rendered text in obj, when v is present. */
static void set_text(json_t *obj, const char *key, const struct journey_def *d, const json_t *v,
		     const char *lang, const json_t *ctx)
{
	char *s = render_loc(d, v, lang, ctx);
	if (s)
		json_object_set_new(obj, key, json_string(s));
	free(s);
}

static json_t *wrap_text(const struct journey_def *d, const json_t *v, const char *lang,
			 const json_t *ctx)
{
	char *s = render_loc(d, v, lang, ctx);
	if (!s)
		return NULL;
	json_t *o = json_pack("{s:s}", "text", s);
	free(s);
	return o;
}

static json_t *build_interactive(const struct journey_def *d, const json_t *m, int list,
				 const char *lang, const json_t *ctx)
{
	json_t *ia = json_object();
	json_object_set_new(ia, "type", json_string(list ? "list" : "button"));
	json_t *h = wrap_text(d, json_object_get(m, "header"), lang, ctx);
	if (h) {
		json_object_set_new(h, "type", json_string("text"));
		json_object_set_new(ia, "header", h);
	}
	json_t *b = wrap_text(d, json_object_get(m, "body"), lang, ctx);
	json_object_set_new(ia, "body", b ? b : json_pack("{s:s}", "text", ""));
	json_t *f = wrap_text(d, json_object_get(m, "footer"), lang, ctx);
	if (f)
		json_object_set_new(ia, "footer", f);
	json_t *action = json_object();
	if (!list) {
		json_t *btns = json_array();
		const json_t *bs = json_object_get(m, "buttons");
		for (size_t i = 0; i < json_array_size(bs); i++) {
			const json_t *x = json_array_get(bs, i);
			json_t *reply = json_pack("{s:s}", "id", json_str_or(x, "id", ""));
			set_text(reply, "title", d, json_object_get(x, "title"), lang, ctx);
			json_array_append_new(
			    btns, json_pack("{s:s, s:o}", "type", "reply", "reply", reply));
		}
		json_object_set_new(action, "buttons", btns);
	} else {
		set_text(action, "button", d, json_object_get(m, "button"), lang, ctx);
		json_t *secs = json_array();
		const json_t *ss = json_object_get(m, "sections");
		for (size_t i = 0; i < json_array_size(ss); i++) {
			const json_t *s = json_array_get(ss, i);
			json_t *sec = json_object();
			set_text(sec, "title", d, json_object_get(s, "title"), lang, ctx);
			json_t *rows = json_array();
			const json_t *rs = json_object_get(s, "rows");
			for (size_t r = 0; r < json_array_size(rs); r++) {
				const json_t *x = json_array_get(rs, r);
				json_t *row = json_pack("{s:s}", "id", json_str_or(x, "id", ""));
				set_text(row, "title", d, json_object_get(x, "title"), lang, ctx);
				set_text(row, "description", d, json_object_get(x, "description"),
					 lang, ctx);
				json_array_append_new(rows, row);
			}
			json_object_set_new(sec, "rows", rows);
			json_array_append_new(secs, sec);
		}
		json_object_set_new(action, "sections", secs);
	}
	json_object_set_new(ia, "action", action);
	return ia;
}

static json_t *build_params(const struct journey_def *d, const json_t *ps, const char *lang,
			    const json_t *ctx)
{
	json_t *out = json_array();
	for (size_t i = 0; i < json_array_size(ps); i++) {
		char *s = render_loc(d, json_array_get(ps, i), lang, ctx);
		json_array_append_new(
		    out, json_pack("{s:s, s:s}", "type", "text", "text", s && *s ? s : "-"));
		free(s);
	}
	return out;
}

static json_t *build_template(const struct journey_def *d, const json_t *t, const char *lang,
			      const json_t *ctx)
{
	const json_t *lv = json_object_get(t, "language");
	const char *code = lv ? journey_text(d, lv, lang) : lang;
	json_t *comps = json_array();
	const json_t *hp = json_object_get(t, "header_params");
	if (json_array_size(hp))
		json_array_append_new(comps, json_pack("{s:s, s:o}", "type", "header", "parameters",
						       build_params(d, hp, lang, ctx)));
	const json_t *bp = json_object_get(t, "params");
	if (json_array_size(bp))
		json_array_append_new(comps, json_pack("{s:s, s:o}", "type", "body", "parameters",
						       build_params(d, bp, lang, ctx)));
	const json_t *bs = json_object_get(t, "buttons");
	for (size_t i = 0; i < json_array_size(bs); i++) {
		const json_t *b = json_array_get(bs, i);
		char idx[8];
		snprintf(idx, sizeof idx, "%lld",
			 (long long)json_integer_value(json_object_get(b, "index")));
		const char *payload = json_str(b, "payload");
		json_t *param;
		if (payload) {
			param = json_pack("{s:s, s:s}", "type", "payload", "payload", payload);
		} else {
			struct buf u;
			buf_init(&u, JOURNEY_RENDER_MAX * 2);
			journey_render(json_str_or(b, "url", ""), ctx, &u);
			param =
			    json_pack("{s:s, s:s}", "type", "text", "text", u.data ? u.data : "");
			buf_release(&u);
		}
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:[o]}", "type", "button",
						       "sub_type", payload ? "quick_reply" : "url",
						       "index", idx, "parameters", param));
	}
	json_t *tpl = json_pack("{s:s, s:{s:s}}", "name", json_str_or(t, "name", ""), "language",
				"code", code ? code : "en");
	if (json_array_size(comps))
		json_object_set_new(tpl, "components", comps);
	else
		json_decref(comps);
	return tpl;
}

/* A coordinate: a number, or a variable holding one. */
static double coordinate(const json_t *v, const json_t *ctx)
{
	if (json_is_number(v))
		return json_number_value(v);
	struct buf b;
	buf_init(&b, 256);
	journey_render(json_string_value(v), ctx, &b);
	char *end = NULL;
	double x = b.data ? strtod(b.data, &end) : 0;
	if (!end || *end)
		x = 1000; /* refused by the Cloud API limits check below */
	buf_release(&b);
	return x;
}

int journey_build_message(const struct journey_def *d, const struct journey_step *s,
			  int use_template, const char *lang, const json_t *ctx, const char *to,
			  json_t **out, char *err, size_t errsz)
{
	*out = NULL;
	const json_t *m = json_object_get(s->j, "message");
	const json_t *t = json_object_get(s->j, "template");
	if (use_template && !t) {
		snprintf(err, errsz, "the step has no template");
		return CW_EINVAL;
	}
	if (!use_template && !m) {
		snprintf(err, errsz, "the step has no message");
		return CW_EINVAL;
	}
	json_t *req = json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp",
				"recipient_type", "individual", "to", to ? to : "");
	if (use_template) {
		json_object_set_new(req, "type", json_string("template"));
		json_object_set_new(req, "template", build_template(d, t, lang, ctx));
	} else {
		const struct msg_shape *sh = shape_of(json_str(m, "type"));
		if (!sh) {
			json_decref(req);
			snprintf(err, errsz, "unknown message type");
			return CW_EINVAL;
		}
		switch (sh->kind) {
		case MK_TEXT: {
			json_object_set_new(req, "type", json_string("text"));
			json_t *tx = wrap_text(d, json_object_get(m, "text"), lang, ctx);
			if (!tx)
				tx = json_pack("{s:s}", "text", "");
			json_object_set_new(tx, "body", json_incref(json_object_get(tx, "text")));
			json_object_del(tx, "text");
			if (json_is_true(json_object_get(m, "preview_url")))
				json_object_set_new(tx, "preview_url", json_true());
			json_object_set_new(req, "text", tx);
			break;
		}
		case MK_BUTTONS:
		case MK_LIST:
			json_object_set_new(req, "type", json_string("interactive"));
			json_object_set_new(
			    req, "interactive",
			    build_interactive(d, m, sh->kind == MK_LIST, lang, ctx));
			break;
		case MK_LOCATION: {
			json_t *loc =
			    json_pack("{s:f, s:f}", "latitude",
				      coordinate(json_object_get(m, "latitude"), ctx), "longitude",
				      coordinate(json_object_get(m, "longitude"), ctx));
			set_text(loc, "name", d, json_object_get(m, "name"), lang, ctx);
			set_text(loc, "address", d, json_object_get(m, "address"), lang, ctx);
			json_object_set_new(req, "type", json_string("location"));
			json_object_set_new(req, "location", loc);
			break;
		}
		case MK_MEDIA: {
			json_t *media = json_object();
			struct buf u;
			buf_init(&u, JOURNEY_RENDER_MAX * 2);
			journey_render(json_str_or(m, "link", ""), ctx, &u);
			json_object_set_new(media, "link", json_string(u.data ? u.data : ""));
			buf_release(&u);
			set_text(media, "caption", d, json_object_get(m, "caption"), lang, ctx);
			set_text(media, "filename", d, json_object_get(m, "filename"), lang, ctx);
			json_object_set_new(req, "type", json_string(sh->type));
			json_object_set_new(req, sh->type, media);
			break;
		}
		}
	}
	struct wa_msg_error we;
	if (wa_msg_validate_json(req, &we) != 0) {
		snprintf(err, errsz, "%s: %s", we.field, we.message);
		json_decref(req);
		return CW_EINVAL;
	}
	*out = req;
	return 0;
}

static void collect_text(const json_t *v, const char *key, struct buf *out)
{
	if (json_is_string(v)) {
		if (key && (strcmp(key, "body") == 0 || strcmp(key, "text") == 0 ||
			    strcmp(key, "title") == 0 || strcmp(key, "description") == 0 ||
			    strcmp(key, "caption") == 0 || strcmp(key, "button") == 0 ||
			    strcmp(key, "name") == 0 || strcmp(key, "address") == 0)) {
			buf_puts(out, json_string_value(v));
			buf_putc(out, '\n');
		}
		return;
	}
	const char *k;
	const json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
		{
			if (strcmp(k, "to") == 0 || strcmp(k, "id") == 0 || strcmp(k, "link") == 0)
				continue;
			collect_text(x, k, out);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) collect_text(x, key, out);
	}
}

void journey_message_text(const json_t *payload, struct buf *out)
{
	collect_text(payload, NULL, out);
}
