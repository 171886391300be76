/*
 * json.c — jansson helpers and the schema loop (see json.h).
 */
#include "base/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/banned.h"

#define JSON_MAX_DEPTH 64

static int seterr(struct json_error *e, const char *field, const char *fmt, const char *a)
{
	if (e) {
		snprintf(e->field, sizeof e->field, "%s", field ? field : "");
		snprintf(e->message, sizeof e->message, fmt, a ? a : "");
	}
	return CW_EINVAL;
}

static const char *type_name(enum json_ftype t)
{
	switch (t) {
	case JF_STRING: return "a string";
	case JF_INT: return "an integer";
	case JF_NUMBER: return "a number";
	case JF_BOOL: return "a boolean";
	case JF_OBJECT: return "an object";
	case JF_ARRAY: return "an array";
	case JF_STRING_OR_INT: return "a string or an integer";
	default: return "a value";
	}
}

static int type_ok(const json_t *v, enum json_ftype t)
{
	switch (t) {
	case JF_ANY: return 1;
	case JF_STRING: return json_is_string(v);
	case JF_INT: return json_is_integer(v);
	case JF_NUMBER: return json_is_number(v);
	case JF_BOOL: return json_is_boolean(v);
	case JF_OBJECT: return json_is_object(v);
	case JF_ARRAY: return json_is_array(v);
	case JF_STRING_OR_INT: return json_is_string(v) || json_is_integer(v);
	}
	return 0;
}

int json_validate(const json_t *obj, const struct json_field *schema, struct json_error *e)
{
	if (!json_is_object(obj))
		return seterr(e, "body", "the body must be a JSON object%s", "");
	for (const struct json_field *f = schema; f->name; f++) {
		json_t *v = json_object_get(obj, f->name);
		if (!v || (json_is_null(v) && (f->flags & JF_NULLABLE))) {
			if (!v && (f->flags & JF_REQUIRED))
				return seterr(e, f->name, "%s is required", f->name);
			continue;
		}
		if (!type_ok(v, f->type)) {
			char m[200];
			snprintf(m, sizeof m, "%s must be %s", f->name, type_name(f->type));
			return seterr(e, f->name, "%s", m);
		}
		char m[256];
		if (json_is_string(v)) {
			size_t n = json_string_length(v);
			if ((f->min || f->max) && ((long long)n < f->min || (long long)n > f->max)) {
				snprintf(m, sizeof m, "%s must be %lld to %lld bytes long", f->name,
					 f->min, f->max);
				return seterr(e, f->name, "%s", m);
			}
			if (f->oneof) {
				int ok = 0;
				for (const char *const *o = f->oneof; *o; o++)
					if (strcmp(*o, json_string_value(v)) == 0)
						ok = 1;
				if (!ok) {
					size_t o = (size_t)snprintf(m, sizeof m, "%s must be one of:",
								    f->name);
					for (const char *const *p = f->oneof; *p && o < sizeof m; p++)
						o += (size_t)snprintf(m + o, sizeof m - o, " %s", *p);
					return seterr(e, f->name, "%s", m);
				}
			}
		} else if (json_is_array(v)) {
			size_t n = json_array_size(v);
			if ((f->min || f->max) && ((long long)n < f->min || (long long)n > f->max)) {
				snprintf(m, sizeof m, "%s must have %lld to %lld items", f->name,
					 f->min, f->max);
				return seterr(e, f->name, "%s", m);
			}
		} else if (json_is_number(v) && (f->min || f->max)) {
			double d = json_number_value(v);
			if (d < (double)f->min || d > (double)f->max) {
				snprintf(m, sizeof m, "%s must be between %lld and %lld", f->name,
					 f->min, f->max);
				return seterr(e, f->name, "%s", m);
			}
		}
	}
	return 0;
}

static int depth_ok(const json_t *v, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) if (!depth_ok(c, depth + 1)) return 0;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) if (!depth_ok(c, depth + 1)) return 0;
	}
	return 1;
}

json_t *json_parse_body(const char *data, size_t len, struct json_error *e)
{
	if (!data || len == 0) {
		seterr(e, "body", "the body is empty%s", "");
		return NULL;
	}
	json_error_t je;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		char m[240];
		snprintf(m, sizeof m, "malformed JSON at line %d col %d: %s", je.line, je.column,
			 je.text);
		seterr(e, "body", "%s", m);
		return NULL;
	}
	if (!json_is_object(v) && !json_is_array(v)) {
		json_decref(v);
		seterr(e, "body", "the body must be a JSON object%s", "");
		return NULL;
	}
	if (!depth_ok(v, 0)) {
		json_decref(v);
		seterr(e, "body", "JSON nested too deeply%s", "");
		return NULL;
	}
	return v;
}

const char *json_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *json_str_or(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_str(obj, key);
	return s ? s : def;
}

int json_int(const json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return CW_EINVAL;
		*out = n;
		return 0;
	}
	return CW_EINVAL;
}

json_t *json_path(const json_t *obj, const char *path)
{
	const json_t *cur = obj;
	char seg[128];
	const char *p = path;
	while (cur && *p) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		p += n;
		if (*p == '.')
			p++;
		if (json_is_array(cur)) {
			char *end;
			long idx = strtol(seg, &end, 10);
			if (*end || idx < 0)
				return NULL;
			cur = json_array_get(cur, (size_t)idx);
		} else {
			cur = json_object_get(cur, seg);
		}
	}
	return (json_t *)cur;
}

char *json_dump_compact(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}
