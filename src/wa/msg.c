/*
 * msg.c — outbound Cloud API messages: struct → request JSON, and the one
 * table of Meta's limits that every request body is checked against.
 *
 * Place: src/wa, below core/ (producers) and sim/ (which validates what it
 * receives with the same table). See msg.h for the API.
 *
 * The table (limits[]) is read by one loop. Each row names a path pattern into
 * the request ("interactive.action.sections[].rows[].title": "[]" walks every
 * element of an array), the message types it applies to, an optional
 * condition, the JSON type expected and what to check. A walker follows the
 * pattern through the body and checks every value it reaches, naming the
 * concrete path ("interactive.action.sections[1].rows[0].title") when one
 * fails. Rows for a parent come before rows for its children and counts come
 * before the elements they count, so the first error reported is the most
 * useful one and no walk ever visits an array longer than its limit.
 */
#include "wa/msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/banned.h"

/* ---- The limits table ------------------------------------------------- */

enum lim_kind {
	LK_TYPE = 0, /* only the JSON type (and presence) */
	LK_CHARS,    /* string length in code points within [min, max] */
	LK_ITEMS,    /* array length within [min, max] */
	LK_COUNT,    /* matches of the pattern in the whole body <= max */
	LK_RANGE,    /* number (or integer in a string) within [min, max] */
	LK_ONEOF,    /* string is one of oneof[] */
	LK_MEDIA,    /* object with exactly one of "link" and "id" */
	LK_ABSENT,   /* must not be present */
};

#define LF_REQ	    1u /* required whenever its parent object exists */
#define LF_UNIQUE   2u /* no two matches of the pattern may be equal */
#define LF_REQ_MANY 4u /* required when the enclosing array has > 1 element */

#define NOMAX (-1.0)

struct wa_limit {
	/* Which bodies: NULL every body, "*" every message (not a read receipt),
	 * "read" a read receipt, otherwise the message "type". */
	const char *type;
	/* NULL, "path=value" (path from the root, no "[]"), or ".key=value"
	 * (key of the object that holds the checked value). */
	const char *when;
	const char *path;
	enum json_ftype jt;
	enum lim_kind kind;
	unsigned flags;
	double min, max; /* max NOMAX: no upper bound */
	const char *const *oneof;
};

/* clang-format off */
static const char *const one_whatsapp[] = {"whatsapp", NULL};
static const char *const one_read[] = {"read", NULL};
static const char *const one_text[] = {"text", NULL};
static const char *const one_reply[] = {"reply", NULL};
static const char *const one_deterministic[] = {"deterministic", NULL};
static const char *const recipient_types[] = {"individual", "group", NULL};
static const char *const msg_types[] = {"text",     "image",       "audio",    "video",
					"document", "sticker",     "location", "contacts",
					"interactive", "template", "reaction", NULL};
static const char *const interactive_types[] = {"button", "list", NULL};
static const char *const header_types[] = {"text", "image", "video", "document", NULL};
static const char *const component_types[] = {"header", "body", "button", NULL};
static const char *const button_sub_types[] = {"quick_reply", "url", "copy_code", "flow", NULL};
static const char *const param_types[] = {"text",     "currency", "date_time", "image",
					  "document", "video",    "payload",   NULL};

#define IBTN "interactive.type=button"
#define ILST "interactive.type=list"
#define TP "template.components[].parameters[]"

static const struct wa_limit limits[] = {
	/* every body */
	{NULL, NULL, "messaging_product", JF_STRING, LK_ONEOF, LF_REQ, 0, 0, one_whatsapp},
	/* read receipt (+ typing indicator) */
	{"read", NULL, "status", JF_STRING, LK_ONEOF, LF_REQ, 0, 0, one_read},
	{"read", NULL, "message_id", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"read", NULL, "typing_indicator", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"read", NULL, "typing_indicator.type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0, one_text},
	/* every message */
	{"*", NULL, "recipient_type", JF_STRING, LK_ONEOF, 0, 0, 0, recipient_types},
	{"*", NULL, "to", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"*", NULL, "type", JF_STRING, LK_ONEOF, 0, 0, 0, msg_types},
	{"*", NULL, "context", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"*", NULL, "context.message_id", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"*", NULL, "biz_opaque_callback_data", JF_STRING, LK_CHARS, 0, 0, 512, NULL},
	/* text */
	{"text", NULL, "text", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"text", NULL, "text.body", JF_STRING, LK_CHARS, LF_REQ, 1, 4096, NULL},
	{"text", NULL, "text.preview_url", JF_BOOL, LK_TYPE, 0, 0, 0, NULL},
	/* media */
	{"image", NULL, "image", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"image", NULL, "image.caption", JF_STRING, LK_CHARS, 0, 0, 1024, NULL},
	{"image", NULL, "image.filename", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	{"video", NULL, "video", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"video", NULL, "video.caption", JF_STRING, LK_CHARS, 0, 0, 1024, NULL},
	{"video", NULL, "video.filename", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	{"document", NULL, "document", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"document", NULL, "document.caption", JF_STRING, LK_CHARS, 0, 0, 1024, NULL},
	{"document", NULL, "document.filename", JF_STRING, LK_CHARS, 0, 1, NOMAX, NULL},
	{"audio", NULL, "audio", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"audio", NULL, "audio.caption", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	{"audio", NULL, "audio.filename", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	{"sticker", NULL, "sticker", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"sticker", NULL, "sticker.caption", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	{"sticker", NULL, "sticker.filename", JF_ANY, LK_ABSENT, 0, 0, 0, NULL},
	/* location */
	{"location", NULL, "location", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"location", NULL, "location.latitude", JF_NUMBER, LK_RANGE, LF_REQ, -90, 90, NULL},
	{"location", NULL, "location.longitude", JF_NUMBER, LK_RANGE, LF_REQ, -180, 180, NULL},
	{"location", NULL, "location.name", JF_STRING, LK_TYPE, 0, 0, 0, NULL},
	{"location", NULL, "location.address", JF_STRING, LK_TYPE, 0, 0, 0, NULL},
	/* reaction ("" removes one) */
	{"reaction", NULL, "reaction", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"reaction", NULL, "reaction.message_id", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"reaction", NULL, "reaction.emoji", JF_STRING, LK_TYPE, LF_REQ, 0, 0, NULL},
	/* contacts (accepted as Meta's examples send them; carewire does not build them) */
	{"contacts", NULL, "contacts", JF_ARRAY, LK_ITEMS, LF_REQ, 1, NOMAX, NULL},
	{"contacts", NULL, "contacts[]", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"contacts", NULL, "contacts[].name", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"contacts", NULL, "contacts[].name.formatted_name", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX,
	 NULL},
	/* interactive: common parts */
	{"interactive", NULL, "interactive", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"interactive", NULL, "interactive.type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0,
	 interactive_types},
	{"interactive", NULL, "interactive.header", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"interactive", NULL, "interactive.header.type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0,
	 header_types},
	{"interactive", ILST, "interactive.header.type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0, one_text},
	{"interactive", ".type=text", "interactive.header.text", JF_STRING, LK_CHARS, LF_REQ, 1, 60,
	 NULL},
	{"interactive", ".type=image", "interactive.header.image", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0,
	 NULL},
	{"interactive", ".type=video", "interactive.header.video", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0,
	 NULL},
	{"interactive", ".type=document", "interactive.header.document", JF_OBJECT, LK_MEDIA, LF_REQ,
	 0, 0, NULL},
	{"interactive", NULL, "interactive.body", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"interactive", NULL, "interactive.body.text", JF_STRING, LK_CHARS, LF_REQ, 1, 1024, NULL},
	{"interactive", NULL, "interactive.footer", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"interactive", NULL, "interactive.footer.text", JF_STRING, LK_CHARS, LF_REQ, 1, 60, NULL},
	{"interactive", NULL, "interactive.action", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	/* interactive reply buttons */
	{"interactive", IBTN, "interactive.action.buttons", JF_ARRAY, LK_ITEMS, LF_REQ, 1,
	 WA_MSG_MAX_BUTTONS, NULL},
	{"interactive", IBTN, "interactive.action.buttons[]", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"interactive", IBTN, "interactive.action.buttons[].type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0,
	 one_reply},
	{"interactive", IBTN, "interactive.action.buttons[].reply", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0,
	 NULL},
	{"interactive", IBTN, "interactive.action.buttons[].reply.id", JF_STRING, LK_CHARS,
	 LF_REQ | LF_UNIQUE, 1, 256, NULL},
	{"interactive", IBTN, "interactive.action.buttons[].reply.title", JF_STRING, LK_CHARS,
	 LF_REQ | LF_UNIQUE, 1, 20, NULL},
	/* interactive list */
	{"interactive", ILST, "interactive.action.button", JF_STRING, LK_CHARS, LF_REQ, 1, 20, NULL},
	{"interactive", ILST, "interactive.action.sections", JF_ARRAY, LK_ITEMS, LF_REQ, 1,
	 WA_MSG_MAX_SECTIONS, NULL},
	{"interactive", ILST, "interactive.action.sections[]", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"interactive", ILST, "interactive.action.sections[].title", JF_STRING, LK_CHARS,
	 LF_REQ_MANY, 1, 24, NULL},
	{"interactive", ILST, "interactive.action.sections[].rows", JF_ARRAY, LK_ITEMS, LF_REQ, 1,
	 WA_MSG_MAX_ROWS, NULL},
	{"interactive", ILST, "interactive.action.sections[].rows[]", JF_OBJECT, LK_COUNT, 0, 0,
	 WA_MSG_MAX_ROWS, NULL},
	{"interactive", ILST, "interactive.action.sections[].rows[].id", JF_STRING, LK_CHARS,
	 LF_REQ | LF_UNIQUE, 1, 200, NULL},
	{"interactive", ILST, "interactive.action.sections[].rows[].title", JF_STRING, LK_CHARS,
	 LF_REQ, 1, 24, NULL},
	{"interactive", ILST, "interactive.action.sections[].rows[].description", JF_STRING,
	 LK_CHARS, 0, 0, 72, NULL},
	/* template */
	{"template", NULL, "template", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"template", NULL, "template.name", JF_STRING, LK_CHARS, LF_REQ, 1, 512, NULL},
	{"template", NULL, "template.language", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"template", NULL, "template.language.code", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"template", NULL, "template.language.policy", JF_STRING, LK_ONEOF, 0, 0, 0,
	 one_deterministic},
	{"template", NULL, "template.components", JF_ARRAY, LK_TYPE, 0, 0, 0, NULL},
	{"template", NULL, "template.components[]", JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"template", NULL, "template.components[].type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0,
	 component_types},
	{"template", ".type=button", "template.components[].sub_type", JF_STRING, LK_ONEOF, LF_REQ, 0,
	 0, button_sub_types},
	{"template", ".type=button", "template.components[].index", JF_STRING_OR_INT, LK_RANGE,
	 LF_REQ, 0, WA_MSG_MAX_TPL_BUTTONS - 1, NULL},
	{"template", ".type=header", "template.components[].parameters", JF_ARRAY, LK_ITEMS, 0, 0,
	 WA_MSG_MAX_HEADER_PARAMS, NULL},
	{"template", NULL, "template.components[].parameters", JF_ARRAY, LK_TYPE, 0, 0, 0, NULL},
	{"template", NULL, TP, JF_OBJECT, LK_TYPE, 0, 0, 0, NULL},
	{"template", NULL, TP ".type", JF_STRING, LK_ONEOF, LF_REQ, 0, 0, param_types},
	{"template", NULL, TP ".parameter_name", JF_STRING, LK_CHARS, 0, 1, NOMAX, NULL},
	{"template", ".type=text", TP ".text", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"template", ".type=payload", TP ".payload", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX, NULL},
	{"template", ".type=currency", TP ".currency", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"template", NULL, TP ".currency.fallback_value", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX,
	 NULL},
	{"template", NULL, TP ".currency.code", JF_STRING, LK_CHARS, LF_REQ, 3, 3, NULL},
	{"template", NULL, TP ".currency.amount_1000", JF_INT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"template", ".type=date_time", TP ".date_time", JF_OBJECT, LK_TYPE, LF_REQ, 0, 0, NULL},
	{"template", NULL, TP ".date_time.fallback_value", JF_STRING, LK_CHARS, LF_REQ, 1, NOMAX,
	 NULL},
	{"template", ".type=image", TP ".image", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"template", ".type=video", TP ".video", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"template", ".type=document", TP ".document", JF_OBJECT, LK_MEDIA, LF_REQ, 0, 0, NULL},
	{"template", NULL, TP ".document.filename", JF_STRING, LK_CHARS, 0, 1, NOMAX, NULL},
};

/* clang-format on */

#define NLIMITS	     (sizeof limits / sizeof limits[0])
#define UNIQUE_MAX   16
#define PATH_MAX_LEN 160

/* ---- UTF-8 ------------------------------------------------------------ */

size_t wa_msg_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* ---- The walker -------------------------------------------------------- */

struct vctx {
	const json_t *root;
	const char *kind; /* the message type, or "read" */
	struct wa_msg_error *err;
	const struct wa_limit *r; /* the rule being walked */
	size_t count;		  /* LK_COUNT matches so far */
	size_t nseen;		  /* LF_UNIQUE values so far */
	const json_t *seen[UNIQUE_MAX];
	char seen_path[UNIQUE_MAX][PATH_MAX_LEN];
};

static int verr(struct wa_msg_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int verr(struct wa_msg_error *err, const char *field, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		snprintf(err->field, sizeof err->field, "%s", field);
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return CW_EINVAL;
}

static const char *jt_name(enum json_ftype t)
{
	switch (t) {
	case JF_STRING:
		return "a string";
	case JF_INT:
		return "an integer";
	case JF_NUMBER:
		return "a number";
	case JF_BOOL:
		return "true or false";
	case JF_OBJECT:
		return "an object";
	case JF_ARRAY:
		return "an array";
	case JF_STRING_OR_INT:
		return "a string or an integer";
	case JF_ANY:
		break;
	}
	return "a value";
}

static int jt_ok(const json_t *v, enum json_ftype t)
{
	switch (t) {
	case JF_ANY:
		return 1;
	case JF_STRING:
		return json_is_string(v);
	case JF_INT:
		return json_is_integer(v);
	case JF_NUMBER:
		return json_is_number(v);
	case JF_BOOL:
		return json_is_boolean(v);
	case JF_OBJECT:
		return json_is_object(v);
	case JF_ARRAY:
		return json_is_array(v);
	case JF_STRING_OR_INT:
		return json_is_string(v) || json_is_integer(v);
	}
	return 0;
}

/* Is the rule's condition true? parent is the object holding the value. */
static int cond_ok(const struct vctx *v, const json_t *parent)
{
	const char *w = v->r->when;
	if (!w)
		return 1;
	const char *eq = strchr(w, '=');
	char path[64];
	if (!eq || (size_t)(eq - w) >= sizeof path)
		return 0;
	const json_t *from = v->root;
	if (*w == '.') {
		from = parent;
		w++;
	}
	memcpy(path, w, (size_t)(eq - w));
	path[eq - w] = '\0';
	const char *s = json_string_value(json_path(from, path));
	return s && strcmp(s, eq + 1) == 0;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static int check_missing(struct vctx *v, const json_t *parent, const char *path, size_t arrn)
{
	const struct wa_limit *r = v->r;
	if (!cond_ok(v, parent))
		return 0;
	if (r->flags & LF_REQ)
		return verr(v->err, path, "%s is required", path);
	if ((r->flags & LF_REQ_MANY) && arrn > 1)
		return verr(v->err, path, "%s is required when there is more than one", path);
	return 0;
}

static int check_unique(struct vctx *v, const json_t *val, const char *path)
{
	for (size_t i = 0; i < v->nseen; i++)
		if (json_equal((json_t *)v->seen[i], (json_t *)val))
			return verr(v->err, path, "%s must be unique: \"%s\" is also %s", path,
				    json_string_value(val), v->seen_path[i]);
	if (v->nseen < UNIQUE_MAX) {
		v->seen[v->nseen] = val;
		snprintf(v->seen_path[v->nseen], PATH_MAX_LEN, "%s", path);
		v->nseen++;
	}
	return 0;
}

static int check_value(struct vctx *v, const json_t *parent, const json_t *val, const char *path)
{
	const struct wa_limit *r = v->r;
	if (!cond_ok(v, parent))
		return 0;
	if (r->kind == LK_ABSENT)
		return verr(v->err, path, "%s is not allowed in a %s message", path, v->kind);
	if (!jt_ok(val, r->jt))
		return verr(v->err, path, "%s must be %s", path, jt_name(r->jt));
	switch (r->kind) {
	case LK_TYPE:
	case LK_ABSENT:
		break;
	case LK_CHARS: {
		size_t n = wa_msg_utf8_chars(json_string_value(val), json_string_length(val));
		if ((double)n < r->min) {
			if (r->min <= 1)
				return verr(v->err, path, "%s must not be empty", path);
			return verr(v->err, path, "%s is %zu characters long; at least %.0f needed",
				    path, n, r->min);
		}
		if (r->max != NOMAX && (double)n > r->max)
			return verr(v->err, path, "%s is %zu characters long; at most %.0f allowed",
				    path, n, r->max);
		break;
	}
	case LK_ITEMS: {
		size_t n = json_array_size(val);
		if ((double)n < r->min)
			return verr(v->err, path, "%s has %zu items; at least %.0f needed", path, n,
				    r->min);
		if (r->max != NOMAX && (double)n > r->max)
			return verr(v->err, path, "%s has %zu items; at most %.0f allowed", path, n,
				    r->max);
		break;
	}
	case LK_COUNT:
		v->count++;
		if ((double)v->count > r->max)
			return verr(v->err, path,
				    "%s is item %zu of its kind; at most %.0f allowed in all", path,
				    v->count, r->max);
		break;
	case LK_RANGE: {
		double d;
		if (json_is_string(val)) {
			char *end;
			const char *s = json_string_value(val);
			long l = strtol(s, &end, 10);
			if (!*s || *end)
				return verr(v->err, path, "%s must be a whole number", path);
			d = (double)l;
		} else {
			d = json_number_value(val);
		}
		if (d < r->min || d > r->max)
			return verr(v->err, path, "%s must be between %g and %g", path, r->min,
				    r->max);
		break;
	}
	case LK_ONEOF: {
		if (in_list(r->oneof, json_string_value(val)))
			break;
		char m[120];
		size_t off = 0;
		m[0] = '\0';
		for (const char *const *o = r->oneof; *o && off < sizeof m; o++)
			off += (size_t)snprintf(m + off, sizeof m - off, "%s%s",
						o == r->oneof ? "" : ", ", *o);
		return verr(v->err, path, "%s must be one of: %s", path, m);
	}
	case LK_MEDIA: {
		int link = json_object_get(val, "link") != NULL;
		int id = json_object_get(val, "id") != NULL;
		if (link == id)
			return verr(v->err, path, "%s needs exactly one of \"link\" and \"id\"",
				    path);
		const char *s = json_string_value(json_object_get(val, link ? "link" : "id"));
		if (!s || !*s)
			return verr(v->err, path, "%s.%s must be a non-empty string", path,
				    link ? "link" : "id");
		break;
	}
	}
	if ((r->flags & LF_UNIQUE) && json_is_string(val))
		return check_unique(v, val, path);
	return 0;
}

/* Follows pattern pat from node (an object, at concrete path `path` of length
 * plen), checking each value it leads to. arrn is the size of the innermost
 * array walked so far (for LF_REQ_MANY). */
static int walk(struct vctx *v, const json_t *node, const char *pat, char *path, size_t plen,
		size_t arrn)
{
	const char *dot = strchr(pat, '.');
	size_t seglen = dot ? (size_t)(dot - pat) : strlen(pat);
	int is_arr = seglen >= 2 && pat[seglen - 2] == '[' && pat[seglen - 1] == ']';
	size_t keylen = is_arr ? seglen - 2 : seglen;
	char key[64];

	if (!json_is_object(node))
		return verr(v->err, plen ? path : "body", "%s must be an object",
			    plen ? path : "the body");
	if (keylen >= sizeof key)
		return CW_EINTERNAL;
	memcpy(key, pat, keylen);
	key[keylen] = '\0';
	int w = snprintf(path + plen, PATH_MAX_LEN - plen, "%s%s", plen ? "." : "", key);
	size_t len = plen + (w > 0 ? (size_t)w : 0);
	if (len >= PATH_MAX_LEN)
		len = PATH_MAX_LEN - 1;

	const json_t *child = json_object_get(node, key);
	if (!child) {
		if (!dot && !is_arr)
			return check_missing(v, node, path, arrn);
		return 0; /* a missing parent is its own rule's business */
	}
	if (!is_arr) {
		if (!dot)
			return check_value(v, node, child, path);
		return walk(v, child, dot + 1, path, len, arrn);
	}
	if (!json_is_array(child))
		return verr(v->err, path, "%s must be an array", path);
	size_t n = json_array_size(child);
	for (size_t i = 0; i < n; i++) {
		int w2 = snprintf(path + len, PATH_MAX_LEN - len, "[%zu]", i);
		size_t len2 = len + (w2 > 0 ? (size_t)w2 : 0);
		if (len2 >= PATH_MAX_LEN)
			len2 = PATH_MAX_LEN - 1;
		const json_t *el = json_array_get(child, i);
		int rc = dot ? walk(v, el, dot + 1, path, len2, n) : check_value(v, node, el, path);
		if (rc)
			return rc;
		path[len] = '\0';
	}
	return 0;
}

static int rule_applies(const struct wa_limit *r, const char *kind)
{
	if (!r->type)
		return 1;
	if (strcmp(r->type, "*") == 0)
		return strcmp(kind, "read") != 0;
	return strcmp(r->type, kind) == 0;
}

int wa_msg_validate_json(const json_t *req, struct wa_msg_error *err)
{
	if (!json_is_object(req))
		return verr(err, "body", "the request body must be a JSON object");
	const char *kind = "text"; /* the API's default when "type" is absent */
	const json_t *t = json_object_get(req, "type");
	if (json_object_get(req, "status")) {
		kind = "read";
	} else if (t) {
		if (!json_is_string(t))
			return verr(err, "type", "type must be a string");
		kind = json_string_value(t);
	}
	for (size_t i = 0; i < NLIMITS; i++) {
		const struct wa_limit *r = &limits[i];
		if (!rule_applies(r, kind))
			continue;
		struct vctx v = {.root = req, .kind = kind, .err = err, .r = r};
		/* root conditions are the same for every match: test them once */
		if (r->when && r->when[0] != '.' && !cond_ok(&v, req))
			continue;
		char path[PATH_MAX_LEN] = "";
		int rc = walk(&v, req, r->path, path, 0, 0);
		if (rc)
			return rc;
	}
	return 0;
}

long wa_msg_limit(const char *pattern)
{
	for (size_t i = 0; pattern && i < NLIMITS; i++) {
		const struct wa_limit *r = &limits[i];
		if ((r->kind == LK_CHARS || r->kind == LK_ITEMS || r->kind == LK_COUNT) &&
		    r->max != NOMAX && strcmp(r->path, pattern) == 0)
			return (long)r->max;
	}
	return -1;
}

int wa_msg_template_param_count(const json_t *template_obj, int *body, int *header)
{
	int b = 0, h = 0;
	if (!json_is_object(template_obj))
		return CW_EINVAL;
	const json_t *comps = json_object_get(template_obj, "components");
	if (comps && !json_is_array(comps))
		return CW_EINVAL;
	size_t i;
	const json_t *c;
	json_array_foreach(comps, i, c)
	{
		if (!json_is_object(c))
			return CW_EINVAL;
		const char *type = json_string_value(json_object_get(c, "type"));
		const json_t *params = json_object_get(c, "parameters");
		if (params && !json_is_array(params))
			return CW_EINVAL;
		if (!type)
			return CW_EINVAL;
		if (strcmp(type, "body") == 0)
			b += (int)json_array_size(params);
		else if (strcmp(type, "header") == 0)
			h += (int)json_array_size(params);
	}
	if (body)
		*body = b;
	if (header)
		*header = h;
	return 0;
}

/* ---- The encoder -------------------------------------------------------- */

struct enc {
	struct wa_msg_error *err;
	int failed;
	char where[PATH_MAX_LEN]; /* path of the object being filled, for errors */
};

static void enc_at(struct enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void enc_at(struct enc *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->where, sizeof e->where, fmt, ap);
	va_end(ap);
}

static void enc_fail(struct enc *e, const char *key, const char *what)
{
	char field[PATH_MAX_LEN + 64];
	if (e->failed)
		return;
	e->failed = 1;
	snprintf(field, sizeof field, "%s%s%s", e->where, *e->where && *key ? "." : "", key);
	verr(e->err, field, "%s %s", field, what);
}

/* Sets o[key] = s when s is not NULL (absent stays absent, so the validator
 * names a missing required field). */
static void put_str(struct enc *e, json_t *o, const char *key, const char *s)
{
	if (!s)
		return;
	json_t *j = json_string(s);
	if (!j) {
		enc_fail(e, key, "is not valid UTF-8");
		return;
	}
	json_object_set_new(o, key, j);
}

static json_t *put_obj(json_t *o, const char *key)
{
	json_t *c = json_object();
	json_object_set_new(o, key, c);
	return c;
}

static json_t *put_arr(json_t *o, const char *key)
{
	json_t *a = json_array();
	json_object_set_new(o, key, a);
	return a;
}

/* A struct array's count over its capacity: refuse before reading past it. */
static int over(struct enc *e, const char *field, size_t n, size_t cap)
{
	if (n <= cap)
		return 0;
	if (!e->failed) {
		e->failed = 1;
		verr(e->err, field, "%s has %zu items; at most %zu allowed", field, n, cap);
	}
	return 1;
}

static const char *const msg_type_names[] = {
    [WA_MSG_TEXT] = "text",
    [WA_MSG_TEMPLATE] = "template",
    [WA_MSG_INTERACTIVE] = "interactive",
    [WA_MSG_LOCATION] = "location",
    [WA_MSG_IMAGE] = "image",
    [WA_MSG_DOCUMENT] = "document",
    [WA_MSG_AUDIO] = "audio",
    [WA_MSG_VIDEO] = "video",
    [WA_MSG_STICKER] = "sticker",
    [WA_MSG_REACTION] = "reaction",
};

static void enc_media_ref(struct enc *e, json_t *o, const char *link, const char *id)
{
	put_str(e, o, "link", link);
	put_str(e, o, "id", id);
}

static void enc_param(struct enc *e, json_t *arr, const struct wa_tpl_param *p)
{
	static const char *const names[] = {
	    [WA_PARAM_TEXT] = "text",		[WA_PARAM_CURRENCY] = "currency",
	    [WA_PARAM_DATE_TIME] = "date_time", [WA_PARAM_IMAGE] = "image",
	    [WA_PARAM_DOCUMENT] = "document",	[WA_PARAM_PAYLOAD] = "payload",
	};
	json_t *o = json_object();
	json_array_append_new(arr, o);
	if ((unsigned)p->type >= sizeof names / sizeof names[0]) {
		enc_fail(e, "type", "is not a known parameter type");
		return;
	}
	const char *tn = names[p->type];
	put_str(e, o, "type", tn);
	put_str(e, o, "parameter_name", p->name);
	json_t *c;
	switch (p->type) {
	case WA_PARAM_TEXT:
	case WA_PARAM_PAYLOAD:
		put_str(e, o, tn, p->text);
		break;
	case WA_PARAM_CURRENCY:
		c = put_obj(o, tn);
		put_str(e, c, "fallback_value", p->text);
		put_str(e, c, "code", p->currency_code);
		json_object_set_new(c, "amount_1000", json_integer(p->amount_1000));
		break;
	case WA_PARAM_DATE_TIME:
		c = put_obj(o, tn);
		put_str(e, c, "fallback_value", p->text);
		break;
	case WA_PARAM_IMAGE:
	case WA_PARAM_DOCUMENT:
		c = put_obj(o, tn);
		enc_media_ref(e, c, p->link, p->id);
		if (p->type == WA_PARAM_DOCUMENT)
			put_str(e, c, "filename", p->filename);
		break;
	}
}

static void enc_params(struct enc *e, json_t *comps, const char *type, size_t ci,
		       const struct wa_tpl_param *ps, size_t n)
{
	json_t *c = json_object();
	json_array_append_new(comps, c);
	put_str(e, c, "type", type);
	json_t *arr = put_arr(c, "parameters");
	for (size_t i = 0; i < n; i++) {
		enc_at(e, "template.components[%zu].parameters[%zu]", ci, i);
		enc_param(e, arr, &ps[i]);
	}
}

static void enc_template(struct enc *e, json_t *o, const struct wa_msg_template *t)
{
	json_t *tj = put_obj(o, "template");
	enc_at(e, "template");
	put_str(e, tj, "name", t->name);
	json_t *lang = put_obj(tj, "language");
	enc_at(e, "template.language");
	put_str(e, lang, "code", t->language);
	if (over(e, "template.header", t->nheader, WA_MSG_MAX_HEADER_PARAMS) ||
	    over(e, "template.body", t->nbody, WA_MSG_MAX_BODY_PARAMS) ||
	    over(e, "template.buttons", t->nbuttons, WA_MSG_MAX_TPL_BUTTONS))
		return;
	if (!t->nheader && !t->nbody && !t->nbuttons)
		return;
	json_t *comps = put_arr(tj, "components");
	size_t ci = 0;
	if (t->nheader)
		enc_params(e, comps, "header", ci++, t->header, t->nheader);
	if (t->nbody)
		enc_params(e, comps, "body", ci++, t->body, t->nbody);
	for (size_t i = 0; i < t->nbuttons; i++, ci++) {
		const struct wa_tpl_button *b = &t->buttons[i];
		json_t *c = json_object();
		json_array_append_new(comps, c);
		enc_at(e, "template.components[%zu]", ci);
		put_str(e, c, "type", "button");
		put_str(e, c, "sub_type", b->sub_type ? b->sub_type : "quick_reply");
		char idx[24];
		snprintf(idx, sizeof idx, "%d", b->index);
		put_str(e, c, "index", idx);
		json_t *arr = put_arr(c, "parameters");
		enc_at(e, "template.components[%zu].parameters[0]", ci);
		enc_param(e, arr, &b->param);
	}
}

static void enc_interactive(struct enc *e, json_t *o, const struct wa_msg_interactive *in)
{
	json_t *ij = put_obj(o, "interactive");
	int list = in->type == WA_INTERACTIVE_LIST;
	if (in->type != WA_INTERACTIVE_BUTTON && !list) {
		enc_at(e, "interactive");
		enc_fail(e, "type", "is not a known interactive type");
		return;
	}
	put_str(e, ij, "type", list ? "list" : "button");
	if (in->header_text) {
		json_t *h = put_obj(ij, "header");
		enc_at(e, "interactive.header");
		put_str(e, h, "type", "text");
		put_str(e, h, "text", in->header_text);
	}
	json_t *body = put_obj(ij, "body");
	enc_at(e, "interactive.body");
	put_str(e, body, "text", in->body);
	if (in->footer) {
		json_t *f = put_obj(ij, "footer");
		enc_at(e, "interactive.footer");
		put_str(e, f, "text", in->footer);
	}
	json_t *act = put_obj(ij, "action");
	if (!list) {
		if (over(e, "interactive.action.buttons", in->nbuttons, WA_MSG_MAX_BUTTONS))
			return;
		json_t *arr = put_arr(act, "buttons");
		for (size_t i = 0; i < in->nbuttons; i++) {
			json_t *b = json_object();
			json_array_append_new(arr, b);
			put_str(e, b, "type", "reply");
			json_t *r = put_obj(b, "reply");
			enc_at(e, "interactive.action.buttons[%zu].reply", i);
			put_str(e, r, "id", in->buttons[i].id);
			put_str(e, r, "title", in->buttons[i].title);
		}
		return;
	}
	enc_at(e, "interactive.action");
	put_str(e, act, "button", in->list_button);
	if (over(e, "interactive.action.sections", in->nsections, WA_MSG_MAX_SECTIONS))
		return;
	json_t *secs = put_arr(act, "sections");
	for (size_t i = 0; i < in->nsections; i++) {
		const struct wa_msg_section *s = &in->sections[i];
		char field[64];
		snprintf(field, sizeof field, "interactive.action.sections[%zu].rows", i);
		if (over(e, field, s->nrows, WA_MSG_MAX_ROWS))
			return;
		json_t *sj = json_object();
		json_array_append_new(secs, sj);
		enc_at(e, "interactive.action.sections[%zu]", i);
		put_str(e, sj, "title", s->title);
		json_t *rows = put_arr(sj, "rows");
		for (size_t k = 0; k < s->nrows; k++) {
			json_t *rj = json_object();
			json_array_append_new(rows, rj);
			enc_at(e, "interactive.action.sections[%zu].rows[%zu]", i, k);
			put_str(e, rj, "id", s->rows[k].id);
			put_str(e, rj, "title", s->rows[k].title);
			put_str(e, rj, "description", s->rows[k].description);
		}
	}
}

int wa_msg_encode(const struct wa_msg *m, json_t **out, struct wa_msg_error *err)
{
	struct enc e = {.err = err};
	json_t *o = NULL;

	*out = NULL;
	if (!m || (unsigned)m->type >= sizeof msg_type_names / sizeof msg_type_names[0])
		return verr(err, "type", "type is not a known message type");
	const char *tn = msg_type_names[m->type];
	o = json_object();
	if (!o)
		return CW_ENOMEM;
	put_str(&e, o, "messaging_product", "whatsapp");
	put_str(&e, o, "recipient_type", "individual");
	put_str(&e, o, "to", m->to);
	if (m->reply_to) {
		json_t *ctx = put_obj(o, "context");
		enc_at(&e, "context");
		put_str(&e, ctx, "message_id", m->reply_to);
		enc_at(&e, "%s", "");
	}
	put_str(&e, o, "biz_opaque_callback_data", m->biz_opaque_callback_data);
	put_str(&e, o, "type", tn);

	json_t *c;
	switch (m->type) {
	case WA_MSG_TEXT:
		c = put_obj(o, "text");
		enc_at(&e, "text");
		json_object_set_new(c, "preview_url", json_boolean(m->text.preview_url));
		put_str(&e, c, "body", m->text.body);
		break;
	case WA_MSG_TEMPLATE:
		enc_template(&e, o, &m->tpl);
		break;
	case WA_MSG_INTERACTIVE:
		enc_interactive(&e, o, &m->interactive);
		break;
	case WA_MSG_LOCATION:
		c = put_obj(o, "location");
		enc_at(&e, "location");
		json_object_set_new(c, "latitude", json_real(m->location.latitude));
		json_object_set_new(c, "longitude", json_real(m->location.longitude));
		put_str(&e, c, "name", m->location.name);
		put_str(&e, c, "address", m->location.address);
		break;
	case WA_MSG_IMAGE:
	case WA_MSG_DOCUMENT:
	case WA_MSG_AUDIO:
	case WA_MSG_VIDEO:
	case WA_MSG_STICKER:
		c = put_obj(o, tn);
		enc_at(&e, "%s", tn);
		enc_media_ref(&e, c, m->media.link, m->media.id);
		put_str(&e, c, "caption", m->media.caption);
		put_str(&e, c, "filename", m->media.filename);
		break;
	case WA_MSG_REACTION:
		c = put_obj(o, "reaction");
		enc_at(&e, "reaction");
		put_str(&e, c, "message_id", m->reaction.message_id);
		put_str(&e, c, "emoji", m->reaction.emoji);
		break;
	}
	if (e.failed)
		goto fail;
	if (wa_msg_validate_json(o, err))
		goto fail;
	*out = o;
	return 0;
fail:
	json_decref(o);
	return CW_EINVAL;
}

int wa_msg_encode_read(const char *wamid, int typing, json_t **out)
{
	*out = NULL;
	if (!wamid || !*wamid)
		return CW_EINVAL;
	json_t *id = json_string(wamid);
	if (!id)
		return CW_EINVAL;
	json_t *o = json_object();
	json_object_set_new(o, "messaging_product", json_string("whatsapp"));
	json_object_set_new(o, "status", json_string("read"));
	json_object_set_new(o, "message_id", id);
	if (typing) {
		json_t *t = put_obj(o, "typing_indicator");
		json_object_set_new(t, "type", json_string("text"));
	}
	*out = o;
	return 0;
}
