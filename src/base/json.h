/*
 * json.h — jansson helpers and table-driven validation of JSON requests.
 *
 * A request schema is a static array of struct json_field read by one loop:
 *
 *	static const struct json_field contact_schema[] = {
 *		{"phone", JF_STRING, JF_REQUIRED, 1, 64},
 *		{"name", JF_STRING, 0, 0, 200},
 *		{"tags", JF_ARRAY, 0, 0, 100},
 *		{NULL}
 *	};
 *	struct json_error e;
 *	if (json_validate(body, contact_schema, &e)) -> 4xx naming e.field
 *
 * With jansson: *_new setters steal the reference, getters borrow.
 */
#ifndef CW_JSON_H
#define CW_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum json_ftype {
	JF_ANY = 0,
	JF_STRING,
	JF_INT,
	JF_NUMBER,
	JF_BOOL,
	JF_OBJECT,
	JF_ARRAY,
	JF_STRING_OR_INT, /* e.g. Meta's timestamps, both forms seen */
};

#define JF_REQUIRED 1
#define JF_NULLABLE 2

struct json_field {
	const char *name;
	enum json_ftype type;
	int flags;
	/* strings: min/max length in bytes; arrays: min/max items;
	 * ints/numbers: min/max value (ignored when both are 0). */
	long long min, max;
	/* strings: NULL or a NULL-terminated list of allowed values. */
	const char *const *oneof;
};

struct json_error {
	char field[128];
	char message[256];
};

/* Checks obj (must be an object) against a NULL-name-terminated schema.
 * Unknown keys are allowed. Returns 0, or CW_EINVAL with e filled. */
int json_validate(const json_t *obj, const struct json_field *schema, struct json_error *e);

/* Parses a body of len bytes (need not be NUL-terminated) as JSON, rejecting
 * invalid UTF-8, depth over 64, and a top level that is not an object or array.
 * Returns a new reference or NULL with e filled (field is "body"). */
json_t *json_parse_body(const char *data, size_t len, struct json_error *e);

/* Borrowed string member or NULL when absent / not a string. */
const char *json_str(const json_t *obj, const char *key);
/* String member, or def. */
const char *json_str_or(const json_t *obj, const char *key, const char *def);
/* Integer member (a JSON integer or a decimal string); returns 0 on success. */
int json_int(const json_t *obj, const char *key, long long *out);
/* Dotted path get ("entry.0.changes"): borrowed or NULL. */
json_t *json_path(const json_t *obj, const char *path);

/* Serialises compactly; returns a new string (free()) or NULL. */
char *json_dump_compact(const json_t *v);

#endif
