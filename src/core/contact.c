/*
 * contact.c — contacts: validation into drafts, the one-transaction
 * upsert, reading, listing, erasure and export (see contact.h).
 *
 * Validation is table-driven: builtins[] names each built-in field and its
 * setter; the JSON, CSV and FHIR paths all end in the same setters, so a
 * value is judged the same way whatever door it came in by. Text that is
 * kept (names, tags, text fields) is stored in Unicode NFC, the form the
 * segment compiler normalises query values to, so "= \"Ирина\"" matches
 * however the name was typed.
 */
#include "core/contact.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/uloc.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/text.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/consent.h"
#include "core/journey.h"
#include "base/banned.h"

#define DAY_MS INT64_C(86400000)
/* The earliest zone is UTC+14: a birth "today" there may be tomorrow in UTC. */
#define BIRTH_SKEW_MS  (INT64_C(14) * 3600 * 1000)
#define BIRTH_MIN_YEAR 1880
#define VALUE_MAX      (64u * 1024) /* any single text value before its own limit */

static const char *const sexes[] = {"female", "male", "other", "unknown"};
static const char *const audiences[] = {"patient", "recovered patient", "doctor",
					"staff",   "researcher",	"attendee"};
static const char *const ftype_names[] = {"text", "number", "date", "bool"};

/* ---- errors ---- */

__attribute__((format(printf, 5, 6))) static int
cerr(struct contact_error *e, int rc, const char *field, const char *code, const char *fmt, ...)
{
	if (!e)
		return rc;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	snprintf(e->code, sizeof e->code, "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- small text helpers ---- */

/* A new copy of s without leading and trailing ASCII white space. */
static char *trim_dup(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

/* 1 when s holds a C0 control character or DEL (tab and newline allowed
 * when allow_nl). */
static int has_control(const char *s, int allow_nl)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (allow_nl && (*p == '\n' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	}
	return 0;
}

/* A new NFC-normalised copy of s (valid UTF-8); a plain copy when s is
 * ASCII or ICU fails. */
static char *nfc_dup(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u && *u < 0x80)
		u++;
	if (!*u)
		return xstrdup(s);
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
	int32_t n8 = (int32_t)strlen(s), n16 = 0, nn = 0, nout = 0;
	UChar *in = NULL, *norm = NULL;
	char *out = NULL;
	if (U_FAILURE(st))
		return xstrdup(s);
	in = xmalloc(((size_t)n8 + 1) * sizeof(UChar));
	u_strFromUTF8(in, n8 + 1, &n16, s, n8, &st);
	if (U_FAILURE(st))
		goto fail;
	norm = xmalloc(((size_t)n16 * 3 + 1) * sizeof(UChar));
	nn = unorm2_normalize(nfc, in, n16, norm, n16 * 3 + 1, &st);
	if (U_FAILURE(st))
		goto fail;
	out = xmalloc((size_t)nn * 3 + 1);
	u_strToUTF8(out, nn * 3 + 1, &nout, norm, nn, &st);
	if (U_FAILURE(st))
		goto fail;
	free(in);
	free(norm);
	return out;
fail:
	free(in);
	free(norm);
	free(out);
	return xstrdup(s);
}

static void set_str(char **slot, char *v)
{
	free(*slot);
	*slot = v;
}

/* "YYYY-MM-DD", a real date; *ms gets its midnight UTC. */
static int date_parse(const char *s, int64_t *ms)
{
	if (strlen(s) != 10)
		return 0;
	for (int i = 0; i < 10; i++) {
		int digit = s[i] >= '0' && s[i] <= '9';
		if ((i == 4 || i == 7) ? s[i] != '-' : !digit)
			return 0;
	}
	return time_parse_iso(s, ms) == 0;
}

static int key_valid(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > CONTACT_FIELD_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A decimal number, nothing else (no hex, inf, nan, thousands separators). */
static int number_parse(const char *s, double *out)
{
	if (!*s || strlen(s) > 40)
		return 0;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return 0;
	char *end = NULL;
	double v = strtod(s, &end);
	if (!end || *end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

/* ---- validators ---- */

int contact_ftype_parse(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (strcasecmp(s, ftype_names[i]) == 0)
			return i;
	return -1;
}

const char *contact_ftype_name(enum contact_ftype t)
{
	return (unsigned)t < 4 ? ftype_names[t] : "text";
}

const char *contact_sex_canon(const char *s)
{
	for (size_t i = 0; s && i < sizeof sexes / sizeof sexes[0]; i++)
		if (strcasecmp(s, sexes[i]) == 0)
			return sexes[i];
	return NULL;
}

const char *contact_audience_canon(const char *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof audiences / sizeof audiences[0]; i++) {
		const char *a = audiences[i];
		size_t k = 0;
		for (; s[k] && a[k]; k++) {
			char c = s[k];
			if (c == '_' || c == '-')
				c = ' ';
			if ((c | 0x20) != (a[k] | 0x20))
				break;
		}
		if (!s[k] && !a[k])
			return a;
	}
	return NULL;
}

int contact_birth_date_valid(const char *s, int64_t now_ms)
{
	int64_t ms = 0;
	if (!s || !date_parse(s, &ms))
		return 0;
	if ((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') <
	    BIRTH_MIN_YEAR)
		return 0;
	return ms <= now_ms + BIRTH_SKEW_MS;
}

static int all_alpha(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

static int all_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int contact_language_norm(const char *in, char out[CONTACT_LANG_MAX])
{
	char parts[3][9];
	size_t lens[3];
	int np = 0;
	size_t n = in ? strlen(in) : 0;
	if (n < 2 || n >= CONTACT_LANG_MAX)
		return 0;
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && in[i] != '-' && in[i] != '_')
			continue;
		size_t len = i - start;
		if (np == 3 || len == 0 || len > 8)
			return 0;
		memcpy(parts[np], in + start, len);
		parts[np][len] = '\0';
		lens[np++] = len;
		start = i + 1;
	}
	/* language: 2 or 3 letters */
	if ((lens[0] != 2 && lens[0] != 3) || !all_alpha(parts[0], lens[0]))
		return 0;
	for (size_t i = 0; i < lens[0]; i++)
		parts[0][i] = (char)(parts[0][i] | 0x20);
	if (strcmp(parts[0], "iw") == 0) /* the withdrawn code for Hebrew */
		memcpy(parts[0], "he", 3);
	if (lens[0] == 2 && uloc_getISO3Language(parts[0])[0] == '\0')
		return 0; /* not an ISO 639-1 code ICU knows */
	int have_script = 0, have_region = 0;
	for (int p = 1; p < np; p++) {
		char *t = parts[p];
		if (lens[p] == 4 && all_alpha(t, 4) && !have_script && !have_region) {
			t[0] = (char)(t[0] & ~0x20);
			for (int i = 1; i < 4; i++)
				t[i] = (char)(t[i] | 0x20);
			have_script = 1;
		} else if (lens[p] == 2 && all_alpha(t, 2) && !have_region) {
			t[0] = (char)(t[0] & ~0x20);
			t[1] = (char)(t[1] & ~0x20);
			have_region = 1;
		} else if (lens[p] == 3 && all_digit(t, 3) && !have_region) {
			have_region = 1;
		} else {
			return 0;
		}
	}
	int k = snprintf(out, CONTACT_LANG_MAX, "%s", parts[0]);
	for (int p = 1; p < np; p++)
		k += snprintf(out + k, CONTACT_LANG_MAX - (size_t)k, "-%s", parts[p]);
	return k < CONTACT_LANG_MAX;
}

/* ---- drafts ---- */

void contact_draft_init(struct contact_draft *d)
{
	memset(d, 0, sizeof *d);
}

static void fieldval_release(struct contact_fieldval *f)
{
	free(f->key);
	free(f->text);
}

void contact_draft_release(struct contact_draft *d)
{
	if (!d)
		return;
	free(d->raw_phone);
	free(d->name);
	free(d->language);
	free(d->time_zone);
	free(d->sex);
	free(d->birth_date);
	free(d->audience);
	for (size_t i = 0; i < d->ntags; i++)
		free(d->tags[i]);
	free(d->tags);
	for (size_t i = 0; i < d->nfields; i++)
		fieldval_release(&d->fields[i]);
	free(d->fields);
	memset(d, 0, sizeof *d);
}

static int set_phone(struct contact_draft *d, const char *v, const char *region,
		     struct contact_error *err)
{
	if (!*v)
		return cerr(err, CW_EPHONE, "phone", "invalid_phone", "the phone number is empty");
	if (strlen(v) > PHONE_RAW_MAX)
		return cerr(err, CW_EPHONE, "phone", "invalid_phone",
			    "too long: a phone number has at most %d characters", PHONE_RAW_MAX);
	struct phone_result r;
	if (phone_normalize(v, region && *region ? region : NULL, &r) != 0) {
		char words[40];
		snprintf(words, sizeof words, "%s", r.reason ? r.reason : "invalid");
		for (char *p = words; *p; p++)
			if (*p == '_')
				*p = ' ';
		return cerr(err, CW_EPHONE, "phone", "invalid_phone", "%s (%s)", words,
			    r.message ? r.message : "not a valid phone number");
	}
	d->has_phone = 1;
	snprintf(d->phone, sizeof d->phone, "%s", r.e164);
	set_str(&d->raw_phone, xstrdup(v));
	return 0;
}

static int set_name(struct contact_draft *d, const char *v, const char *region,
		    struct contact_error *err)
{
	(void)region;
	if (!*v)
		return cerr(err, CW_EINVAL, "name", "invalid_field", "the name is empty");
	if (strlen(v) > CONTACT_NAME_MAX)
		return cerr(err, CW_EINVAL, "name", "invalid_field",
			    "the name is longer than %d bytes", CONTACT_NAME_MAX);
	if (has_control(v, 0))
		return cerr(err, CW_EINVAL, "name", "invalid_field",
			    "the name holds control characters");
	set_str(&d->name, nfc_dup(v));
	return 0;
}

static int set_language(struct contact_draft *d, const char *v, const char *region,
			struct contact_error *err)
{
	(void)region;
	char lang[CONTACT_LANG_MAX];
	if (!contact_language_norm(v, lang))
		return cerr(err, CW_EINVAL, "language", "invalid_field",
			    "language must be a language code such as he, ru, en or en-GB");
	set_str(&d->language, xstrdup(lang));
	return 0;
}

static int set_zone(struct contact_draft *d, const char *v, const char *region,
		    struct contact_error *err)
{
	(void)region;
	if (!*v || strlen(v) >= CONTACT_ZONE_MAX || !time_zone_valid(v))
		return cerr(err, CW_EINVAL, "time_zone", "invalid_field",
			    "time_zone must be an IANA time zone such as Asia/Jerusalem");
	set_str(&d->time_zone, xstrdup(v));
	return 0;
}

static int set_sex(struct contact_draft *d, const char *v, const char *region,
		   struct contact_error *err)
{
	(void)region;
	const char *c = contact_sex_canon(v);
	if (!c)
		return cerr(err, CW_EINVAL, "sex", "invalid_field",
			    "sex must be female, male, other or unknown");
	set_str(&d->sex, xstrdup(c));
	return 0;
}

static int set_birth_date(struct contact_draft *d, const char *v, const char *region,
			  struct contact_error *err)
{
	(void)region;
	int64_t ms = 0;
	if (!date_parse(v, &ms))
		return cerr(err, CW_EINVAL, "birth_date", "invalid_field",
			    "birth_date must be a date as YYYY-MM-DD");
	if (!contact_birth_date_valid(v, time_now_ms()))
		return cerr(err, CW_EINVAL, "birth_date", "invalid_field",
			    "birth_date must not be in the future nor before %d", BIRTH_MIN_YEAR);
	set_str(&d->birth_date, xstrdup(v));
	return 0;
}

static int set_audience(struct contact_draft *d, const char *v, const char *region,
			struct contact_error *err)
{
	(void)region;
	const char *c = contact_audience_canon(v);
	if (!c)
		return cerr(err, CW_EINVAL, "audience", "invalid_field",
			    "audience must be patient, recovered patient, doctor, staff, "
			    "researcher or attendee");
	set_str(&d->audience, xstrdup(c));
	return 0;
}

static void tags_clear(struct contact_draft *d)
{
	for (size_t i = 0; i < d->ntags; i++)
		free(d->tags[i]);
	free(d->tags);
	d->tags = NULL;
	d->ntags = 0;
}

/* Adds one tag (already trimmed) to d; duplicates are dropped. */
static int tag_add(struct contact_draft *d, const char *t, struct contact_error *err)
{
	if (!*t)
		return cerr(err, CW_EINVAL, "tags", "invalid_field", "a tag is empty");
	if (strlen(t) > CONTACT_TAG_MAX)
		return cerr(err, CW_EINVAL, "tags", "invalid_field",
			    "a tag is longer than %d bytes", CONTACT_TAG_MAX);
	if (has_control(t, 0))
		return cerr(err, CW_EINVAL, "tags", "invalid_field",
			    "a tag holds control characters");
	char *n = nfc_dup(t);
	for (size_t i = 0; i < d->ntags; i++) {
		if (strcmp(d->tags[i], n) == 0) {
			free(n);
			return 0;
		}
	}
	if (d->ntags == CONTACT_TAGS_MAX) {
		free(n);
		return cerr(err, CW_EINVAL, "tags", "invalid_field", "more than %d tags",
			    CONTACT_TAGS_MAX);
	}
	d->tags = xrealloc(d->tags, (d->ntags + 1) * sizeof *d->tags);
	d->tags[d->ntags++] = n;
	return 0;
}

/* "a; b|c" */
static int set_tags(struct contact_draft *d, const char *v, const char *region,
		    struct contact_error *err)
{
	(void)region;
	tags_clear(d);
	d->has_tags = 1;
	const char *p = v;
	while (*p) {
		size_t n = strcspn(p, ";|");
		char *raw = xstrndup(p, n);
		char *t = trim_dup(raw);
		free(raw);
		int rc = *t ? tag_add(d, t, err) : 0;
		free(t);
		if (rc)
			return rc;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

typedef int (*builtin_set_fn)(struct contact_draft *d, const char *v, const char *region,
			      struct contact_error *err);

static const struct builtin {
	const char *name;
	builtin_set_fn set;
} builtins[] = {
    {"phone", set_phone},	{"name", set_name}, {"language", set_language},
    {"time_zone", set_zone},	{"sex", set_sex},   {"birth_date", set_birth_date},
    {"audience", set_audience}, {"tags", set_tags},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

int contact_draft_set(struct contact_draft *d, const char *name, const char *value,
		      const char *region, struct contact_error *err)
{
	if (!d || !name || !value)
		return CW_EINVAL;
	for (size_t i = 0; i < NBUILTINS; i++) {
		if (strcmp(builtins[i].name, name) != 0)
			continue;
		size_t n = strlen(value);
		if (n > VALUE_MAX)
			return cerr(err, CW_EINVAL, name, "invalid_field", "the value is too long");
		if (!text_valid_utf8(value, n))
			return cerr(err, CW_EINVAL, name, "invalid_field",
				    "the value is not valid UTF-8");
		char *v = trim_dup(value);
		int rc = builtins[i].set(d, v, region, err);
		free(v);
		return rc;
	}
	return cerr(err, CW_EINVAL, name, "invalid_field", "unknown contact field");
}

static struct contact_fieldval *field_slot(struct contact_draft *d, const char *key,
					   struct contact_error *err, char *fname, size_t fsz)
{
	snprintf(fname, fsz, "fields.%s", key);
	for (size_t i = 0; i < d->nfields; i++) {
		if (strcmp(d->fields[i].key, key) == 0) {
			fieldval_release(&d->fields[i]);
			memset(&d->fields[i], 0, sizeof d->fields[i]);
			d->fields[i].key = xstrdup(key);
			return &d->fields[i];
		}
	}
	if (d->nfields == CONTACT_FIELDS_MAX) {
		cerr(err, CW_EINVAL, "fields", "invalid_field", "more than %d custom fields",
		     CONTACT_FIELDS_MAX);
		return NULL;
	}
	d->fields = xrealloc(d->fields, (d->nfields + 1) * sizeof *d->fields);
	struct contact_fieldval *f = &d->fields[d->nfields++];
	memset(f, 0, sizeof *f);
	f->key = xstrdup(key);
	return f;
}

/* Drops the last slot again after a failed value (it was the new one, or a
 * replaced one that is now empty: either way the draft must not keep it). */
static void field_drop(struct contact_draft *d, struct contact_fieldval *f)
{
	size_t i = (size_t)(f - d->fields);
	fieldval_release(f);
	memmove(&d->fields[i], &d->fields[i + 1], (d->nfields - i - 1) * sizeof *d->fields);
	d->nfields--;
}

/* Fills f from text as type (type < 0: infer date or text). */
static int field_from_text(struct contact_fieldval *f, int type, const char *v, const char *fname,
			   struct contact_error *err)
{
	int64_t ms;
	if (type < 0)
		type = date_parse(v, &ms) ? CONTACT_F_DATE : CONTACT_F_TEXT;
	f->type = (enum contact_ftype)type;
	switch (f->type) {
	case CONTACT_F_TEXT:
		if (strlen(v) > CONTACT_FIELD_TEXT_MAX)
			return cerr(err, CW_EINVAL, fname, "invalid_field",
				    "the text is longer than %d bytes", CONTACT_FIELD_TEXT_MAX);
		if (has_control(v, 1))
			return cerr(err, CW_EINVAL, fname, "invalid_field",
				    "the text holds control characters");
		f->text = nfc_dup(v);
		return 0;
	case CONTACT_F_NUMBER:
		if (!number_parse(v, &f->num))
			return cerr(err, CW_EINVAL, fname, "invalid_field",
				    "a number field needs a decimal number such as 3 or 2.5");
		return 0;
	case CONTACT_F_DATE:
		if (!date_parse(v, &ms))
			return cerr(err, CW_EINVAL, fname, "invalid_field",
				    "a date field needs a date as YYYY-MM-DD");
		f->text = xstrdup(v);
		return 0;
	case CONTACT_F_BOOL: {
		static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no",
										      "0"};
		for (int i = 0; i < 3; i++) {
			if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
				f->text = xstrdup(strcasecmp(v, yes[i]) == 0 ? "true" : "false");
				return 0;
			}
		}
		return cerr(err, CW_EINVAL, fname, "invalid_field",
			    "a bool field needs true or false");
	}
	}
	return CW_EINVAL;
}

int contact_draft_set_field(struct contact_draft *d, const char *key, int type, const char *value,
			    struct contact_error *err)
{
	char fname[96];
	if (!d || !key || !value || type > CONTACT_F_BOOL)
		return CW_EINVAL;
	if (!key_valid(key))
		return cerr(err, CW_EINVAL, "fields", "invalid_field",
			    "a field key must be 1 to %d letters, digits, _ or -",
			    CONTACT_FIELD_KEY_MAX);
	if (!text_valid_utf8(value, strlen(value)))
		return cerr(err, CW_EINVAL, "fields", "invalid_field",
			    "the value is not valid UTF-8");
	struct contact_fieldval *f = field_slot(d, key, err, fname, sizeof fname);
	if (!f)
		return CW_EINVAL;
	char *v = trim_dup(value);
	int rc = field_from_text(f, type, v, fname, err);
	free(v);
	if (rc)
		field_drop(d, f);
	return rc;
}

int contact_draft_set_consent(struct contact_draft *d, const char *purpose, const char *status,
			      struct contact_error *err)
{
	int p = consent_purpose_index(purpose);
	if (p < 0)
		return cerr(err, CW_EINVAL, "consent", "invalid_field",
			    "consent purposes are service, reminders, results, surveys, marketing");
	char fname[40];
	snprintf(fname, sizeof fname, "consent.%s", consent_purposes[p]);
	static const char *const statuses[] = {"granted", "refused", "withdrawn"};
	for (int i = 0; status && i < 3; i++) {
		if (strcasecmp(status, statuses[i]) == 0) {
			d->consents[p] = statuses[i];
			return 0;
		}
	}
	return cerr(err, CW_EINVAL, fname, "invalid_field",
		    "a consent status is granted, refused or withdrawn");
}

/* ---- from the API's JSON ---- */

static int field_from_json(struct contact_draft *d, const char *key, const json_t *v,
			   struct contact_error *err)
{
	char fname[96];
	if (!key_valid(key)) {
		snprintf(fname, sizeof fname, "fields");
		return cerr(err, CW_EINVAL, fname, "invalid_field",
			    "a field key must be 1 to %d letters, digits, _ or -",
			    CONTACT_FIELD_KEY_MAX);
	}
	struct contact_fieldval *f = field_slot(d, key, err, fname, sizeof fname);
	if (!f)
		return CW_EINVAL;
	int rc = 0;
	char num[64];
	if (json_is_null(v)) {
		f->remove = 1;
	} else if (json_is_boolean(v)) {
		f->type = CONTACT_F_BOOL;
		f->text = xstrdup(json_is_true(v) ? "true" : "false");
	} else if (json_is_number(v)) {
		f->type = CONTACT_F_NUMBER;
		f->num = json_number_value(v);
	} else if (json_is_string(v)) {
		rc = field_from_text(f, -1, json_string_value(v), fname, err);
	} else if (json_is_object(v)) {
		const json_t *tv = json_object_get(v, "type"), *vv = json_object_get(v, "value");
		int type = contact_ftype_parse(json_string_value(tv));
		if (type < 0) {
			rc = cerr(err, CW_EINVAL, fname, "invalid_field",
				  "type must be text, number, date or bool");
		} else if (json_is_null(vv) || !vv) {
			f->remove = 1;
		} else if (json_is_string(vv)) {
			rc = field_from_text(f, type, json_string_value(vv), fname, err);
		} else if (json_is_number(vv) && type == CONTACT_F_NUMBER) {
			f->type = CONTACT_F_NUMBER;
			f->num = json_number_value(vv);
		} else if (json_is_boolean(vv) && type == CONTACT_F_BOOL) {
			f->type = CONTACT_F_BOOL;
			f->text = xstrdup(json_is_true(vv) ? "true" : "false");
		} else if (json_is_number(vv)) {
			snprintf(num, sizeof num, "%.17g", json_number_value(vv));
			rc = field_from_text(f, type, num, fname, err);
		} else {
			rc = cerr(err, CW_EINVAL, fname, "invalid_field",
				  "value does not fit type %s", ftype_names[type]);
		}
	} else {
		rc = cerr(err, CW_EINVAL, fname, "invalid_field",
			  "a field value is a string, number, bool, null or {\"type\",\"value\"}");
	}
	if (rc)
		field_drop(d, f);
	return rc;
}

int contact_draft_from_json(struct contact_draft *d, const json_t *in, const char *region,
			    int require_phone, struct contact_error *err)
{
	if (!d || !json_is_object(in))
		return cerr(err, CW_EINVAL, "body", "invalid_field", "the body must be an object");
	for (size_t i = 0; i < NBUILTINS; i++) {
		const char *name = builtins[i].name;
		const json_t *v = json_object_get(in, name);
		if (!v || json_is_null(v))
			continue;
		if (strcmp(name, "tags") == 0) {
			if (!json_is_array(v))
				return cerr(err, CW_EINVAL, "tags", "invalid_field",
					    "tags must be an array of strings");
			size_t k;
			const json_t *t;
			tags_clear(d);
			d->has_tags = 1;
			json_array_foreach(v, k, t)
			{
				if (!json_is_string(t))
					return cerr(err, CW_EINVAL, "tags", "invalid_field",
						    "tags must be an array of strings");
				char *tt = trim_dup(json_string_value(t));
				int rc = tag_add(d, tt, err);
				free(tt);
				if (rc)
					return rc;
			}
			continue;
		}
		if (!json_is_string(v)) {
			if (strcmp(name, "phone") == 0)
				return cerr(err, CW_EPHONE, "phone", "invalid_phone",
					    "phone must be a string");
			return cerr(err, CW_EINVAL, name, "invalid_field", "%s must be a string",
				    name);
		}
		int rc = contact_draft_set(d, name, json_string_value(v), region, err);
		if (rc)
			return rc;
	}
	const json_t *fields = json_object_get(in, "fields");
	if (fields && !json_is_null(fields)) {
		if (!json_is_object(fields))
			return cerr(err, CW_EINVAL, "fields", "invalid_field",
				    "fields must be an object");
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)fields, k, v)
		{
			int rc = field_from_json(d, k, v, err);
			if (rc)
				return rc;
		}
	}
	if (require_phone && !d->has_phone)
		return cerr(err, CW_EPHONE, "phone", "invalid_phone", "phone is required");
	return 0;
}

/* ---- writing ---- */

static json_t *fieldval_json(const struct contact_fieldval *f)
{
	if (f->remove)
		return json_null();
	switch (f->type) {
	case CONTACT_F_NUMBER:
		if (f->num == floor(f->num) && fabs(f->num) < 9007199254740992.0)
			return json_integer((json_int_t)f->num);
		return json_real(f->num);
	case CONTACT_F_BOOL:
		return json_boolean(strcmp(f->text, "true") == 0);
	default:
		return json_string(f->text);
	}
}

/* The fields merge patch as JSON text (new; free()), or NULL when the draft
 * has no fields. without_removals drops the null members (a new contact has
 * nothing to remove). */
static char *fields_patch(const struct contact_draft *d, int without_removals)
{
	if (d->nfields == 0)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; i < d->nfields; i++) {
		if (without_removals && d->fields[i].remove)
			continue;
		json_object_set_new(o, d->fields[i].key, fieldval_json(&d->fields[i]));
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

struct id_row {
	int found;
	char id[ID_SIZE];
	int flag;
};

static int id_row_cb(void *ud, const struct store_row *row)
{
	struct id_row *r = ud;
	const char *id = store_row_text(row, 0);
	r->found = 1;
	snprintf(r->id, sizeof r->id, "%s", id ? id : "");
	r->flag = store_row_count(row) > 1 ? (int)store_row_int(row, 1) : 0;
	return 1;
}

struct status_list {
	char status[CONSENT_PURPOSES][16];
};

static int current_cb(void *ud, const struct store_row *row)
{
	struct status_list *s = ud;
	int p = consent_purpose_index(store_row_text(row, 1));
	const char *st = store_row_text(row, 2);
	if (p >= 0 && st)
		snprintf(s->status[p], sizeof s->status[p], "%s", st);
	return 0;
}

/* Tags, fields and consents of d for contact id, inside tx. */
static int write_children(struct store_tx *tx, const char *org_id, const char *id,
			  const struct contact_draft *d, const char *actor, int64_t now)
{
	int rc;
	for (size_t i = 0; i < d->nfields; i++) {
		const struct contact_fieldval *f = &d->fields[i];
		if (f->remove) {
			struct store_val a[] = {SV_TEXT(id), SV_TEXT(f->key)};
			rc = store_tx_exec(tx, "contact.field_del", a, 2, NULL);
		} else {
			int num = f->type == CONTACT_F_NUMBER;
			struct store_val a[] = {SV_TEXT(org_id),
						SV_TEXT(id),
						SV_TEXT(f->key),
						SV_TEXT(ftype_names[f->type]),
						num ? SV_NULL : SV_TEXT(f->text),
						num ? SV_REAL(f->num) : SV_NULL};
			rc = store_tx_exec(tx, "contact.field_set", a, 6, NULL);
		}
		if (rc)
			return rc;
	}
	if (d->has_tags) {
		struct store_val a[] = {SV_TEXT(id)};
		rc = store_tx_exec(tx, "contact.tags_clear", a, 1, NULL);
		if (rc)
			return rc;
		for (size_t i = 0; i < d->ntags; i++) {
			struct store_val t[] = {SV_TEXT(org_id), SV_TEXT(id), SV_TEXT(d->tags[i])};
			rc = store_tx_exec(tx, "contact.tag_add", t, 3, NULL);
			if (rc)
				return rc;
		}
	}
	int any = 0;
	for (int p = 0; p < CONSENT_PURPOSES; p++)
		any |= d->consents[p] != NULL;
	if (!any)
		return 0;
	/* Only a change of status is a new record: re-running an import does
	 * not grow the history. */
	struct status_list cur;
	memset(&cur, 0, sizeof cur);
	struct store_val q[] = {SV_TEXT(org_id), SV_TEXT(id)};
	rc = store_tx_query(tx, "consent.current", q, 2, current_cb, &cur);
	if (rc < 0)
		return rc;
	for (int p = 0; p < CONSENT_PURPOSES; p++) {
		if (!d->consents[p] || strcmp(cur.status[p], d->consents[p]) == 0)
			continue;
		struct consent_input in = {.purpose = consent_purposes[p],
					   .status = d->consents[p],
					   .source = "import",
					   .at = now};
		rc = consent_record_tx(tx, org_id, id, &in, actor, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int contact_upsert_tx(struct store_tx *tx, const char *org_id, const struct contact_draft *d,
		      const char *actor, const char *via, struct contact_write *out)
{
	if (!tx || !org_id || !d || !d->has_phone || !actor || !out)
		return CW_EINVAL;
	int64_t now = time_now_ms();
	struct id_row found = {0};
	struct store_val q[] = {SV_TEXT(org_id), SV_TEXT(d->phone)};
	int rc = store_tx_query(tx, "contact.id_by_phone", q, 2, id_row_cb, &found);
	if (rc < 0)
		return rc;
	char *patch = fields_patch(d, !found.found);
	if (found.found) {
		struct store_val a[] = {
		    SV_TEXT(org_id),	   SV_TEXT(found.id), SV_NULL,
		    SV_TEXT(d->raw_phone), SV_TEXT(d->name),  SV_TEXT(d->language),
		    SV_TEXT(d->time_zone), SV_TEXT(d->sex),   SV_TEXT(d->birth_date),
		    SV_TEXT(d->audience),  SV_TEXT(patch),    SV_INT(now)};
		rc = store_tx_exec(tx, "contact.update", a, 12, NULL);
		snprintf(out->id, sizeof out->id, "%s", found.id);
		out->created = 0;
	} else {
		char id[ID_SIZE];
		struct id_row ins = {0};
		id_new(id);
		struct store_val a[] = {SV_TEXT(id),
					SV_TEXT(org_id),
					SV_TEXT(d->phone),
					SV_NULL,
					SV_TEXT(d->raw_phone),
					SV_TEXT(d->name),
					SV_TEXT(d->language),
					SV_TEXT(d->time_zone),
					SV_TEXT(d->sex),
					SV_TEXT(d->birth_date),
					SV_TEXT(d->audience),
					SV_TEXT(patch),
					SV_INT(now)};
		rc = store_tx_query(tx, "contact.upsert", a, 13, id_row_cb, &ins);
		if (rc > 0)
			rc = 0;
		if (rc == 0 && !ins.found)
			rc = CW_EINTERNAL;
		snprintf(out->id, sizeof out->id, "%s", ins.id);
		out->created = ins.flag;
	}
	free(patch);
	if (rc)
		return rc;
	rc = write_children(tx, org_id, out->id, d, actor, now);
	if (rc)
		return rc;
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = out->created ? "contact.create" : "contact.update",
				.subject = out->id,
				.outcome = "ok",
				.detail = via,
				.at = now};
	return audit_record_tx(tx, &e);
}

struct upsert_ctx {
	const char *org_id;
	const struct contact_draft *d;
	const char *actor, *via;
	struct contact_write *out;
};

static int upsert_fn(struct store_tx *tx, void *ud)
{
	struct upsert_ctx *c = ud;
	return contact_upsert_tx(tx, c->org_id, c->d, c->actor, c->via, c->out);
}

int contact_upsert(struct store *st, const char *org_id, const struct contact_draft *d,
		   const char *actor, const char *via, struct contact_write *out)
{
	struct upsert_ctx c = {org_id, d, actor, via, out};
	if (!st)
		return CW_EINVAL;
	return store_tx(st, upsert_fn, &c);
}

/* ---- reading ---- */

static char *dup_col(const struct store_row *row, int col)
{
	const char *s = store_row_text(row, col);
	return s ? xstrdup(s) : NULL;
}

static int64_t int_col(const struct store_row *row, int col)
{
	return store_row_is_null(row, col) ? 0 : store_row_int(row, col);
}

/* CONTACT = id, org_id, phone, wa_id, raw_phone, name, language, time_zone, sex,
 * birth_date, audience, fields, created_at, updated_at, last_seen, last_inbound, erased_at */
static int contact_row_cb(void *ud, const struct store_row *row)
{
	struct contact *c = ud;
	const char *id = store_row_text(row, 0), *org = store_row_text(row, 1);
	snprintf(c->id, sizeof c->id, "%s", id ? id : "");
	snprintf(c->org_id, sizeof c->org_id, "%s", org ? org : "");
	c->phone = dup_col(row, 2);
	c->wa_id = dup_col(row, 3);
	c->raw_phone = dup_col(row, 4);
	c->name = dup_col(row, 5);
	c->language = dup_col(row, 6);
	c->time_zone = dup_col(row, 7);
	c->sex = dup_col(row, 8);
	c->birth_date = dup_col(row, 9);
	c->audience = dup_col(row, 10);
	c->fields = dup_col(row, 11);
	c->created_at = int_col(row, 12);
	c->updated_at = int_col(row, 13);
	c->last_seen = int_col(row, 14);
	c->last_inbound = int_col(row, 15);
	c->erased_at = int_col(row, 16);
	return 1;
}

static int tag_cb(void *ud, const struct store_row *row)
{
	struct contact *c = ud;
	const char *t = store_row_text(row, 0);
	if (!t || c->ntags >= CONTACT_TAGS_MAX * 2)
		return 0;
	c->tags = xrealloc(c->tags, (c->ntags + 1) * sizeof *c->tags);
	c->tags[c->ntags++] = xstrdup(t);
	return 0;
}

void contact_release(struct contact *c)
{
	if (!c)
		return;
	free(c->phone);
	free(c->wa_id);
	free(c->raw_phone);
	free(c->name);
	free(c->language);
	free(c->time_zone);
	free(c->sex);
	free(c->birth_date);
	free(c->audience);
	free(c->fields);
	for (size_t i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	memset(c, 0, sizeof *c);
}

int contact_get(struct store *st, const char *org_id, const char *id, struct contact *out)
{
	memset(out, 0, sizeof *out);
	if (!st || !org_id || !id)
		return CW_EINVAL;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	int rc = store_query(st, "contact.get", a, 2, contact_row_cb, out);
	if (rc < 0)
		return rc;
	if (!out->id[0])
		return CW_ENOTFOUND;
	struct store_val t[] = {SV_TEXT(out->id)};
	rc = store_query(st, "contact.tags", t, 1, tag_cb, out);
	if (rc < 0) {
		contact_release(out);
		return rc;
	}
	return 0;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtime(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return ms ? json_string(time_format_iso(ms, b)) : json_null();
}

json_t *contact_json(const struct contact *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "phone", jstr(c->phone));
	json_object_set_new(o, "wa_id", jstr(c->wa_id));
	json_object_set_new(o, "raw_phone", jstr(c->raw_phone));
	json_object_set_new(o, "name", jstr(c->name));
	json_object_set_new(o, "language", jstr(c->language));
	json_object_set_new(o, "time_zone", jstr(c->time_zone));
	json_object_set_new(o, "sex", jstr(c->sex));
	json_object_set_new(o, "birth_date", jstr(c->birth_date));
	json_object_set_new(o, "audience", jstr(c->audience));
	json_t *tags = json_array();
	for (size_t i = 0; i < c->ntags; i++)
		json_array_append_new(tags, json_string(c->tags[i]));
	json_object_set_new(o, "tags", tags);
	json_t *fields = c->fields ? json_loads(c->fields, 0, NULL) : NULL;
	if (!json_is_object(fields)) {
		json_decref(fields);
		fields = json_object();
	}
	json_object_set_new(o, "fields", fields);
	json_object_set_new(o, "created_at", jtime(c->created_at));
	json_object_set_new(o, "updated_at", jtime(c->updated_at));
	json_object_set_new(o, "last_seen", jtime(c->last_seen));
	json_object_set_new(o, "last_inbound", jtime(c->last_inbound));
	json_object_set_new(o, "erased_at", jtime(c->erased_at));
	return o;
}

/* Audits a read of id; an id that is not an id at all (garbage in a URL)
 * is not worth an entry. Returns 0 or the audit's error: a read whose
 * entry cannot be written is refused. */
static int audit_read(struct store *st, const char *org_id, const char *id, const char *actor,
		      const char *action, const char *outcome, const char *detail)
{
	if (!actor || !id_valid(id))
		return 0;
	struct audit_entry e = {.org_id = org_id,
				.actor = actor,
				.action = action,
				.subject = id,
				.outcome = outcome,
				.detail = detail};
	return audit_record(st, &e);
}

int contact_read(struct store *st, const char *org_id, const char *id, const char *actor,
		 json_t **out)
{
	struct contact c;
	*out = NULL;
	int rc = contact_get(st, org_id, id, &c);
	if (rc == CW_ENOTFOUND)
		audit_read(st, org_id, id, actor, "contact.read", "not_found", NULL);
	if (rc)
		return rc;
	rc = audit_read(st, org_id, id, actor, "contact.read", "ok", NULL);
	if (rc == 0)
		*out = contact_json(&c);
	contact_release(&c);
	return rc;
}

/* ---- listing ---- */

struct id_list {
	char (*ids)[ID_SIZE];
	int n, cap;
};

static int id_list_cb(void *ud, const struct store_row *row)
{
	struct id_list *l = ud;
	const char *id = store_row_text(row, 0);
	if (l->n < l->cap && id)
		snprintf(l->ids[l->n++], ID_SIZE, "%s", id);
	return 0;
}

struct audit_many {
	const char *org_id, *actor, *action;
	char (*ids)[ID_SIZE];
	int n;
};

static int audit_many_fn(struct store_tx *tx, void *ud)
{
	struct audit_many *a = ud;
	int64_t now = time_now_ms();
	for (int i = 0; i < a->n; i++) {
		struct audit_entry e = {.org_id = a->org_id,
					.actor = a->actor,
					.action = a->action,
					.subject = a->ids[i],
					.outcome = "ok",
					.at = now};
		int rc = audit_record_tx(tx, &e);
		if (rc)
			return rc;
	}
	return 0;
}

int contact_list(struct store *st, const char *org_id, const char *query, const char *after_id,
		 int limit, const char *actor, json_t **items, char next[ID_SIZE],
		 struct segment_error *qerr)
{
	if (!st || !org_id || !items || !next || !actor || limit < 1 || limit > CONTACT_LIST_MAX)
		return CW_EINVAL;
	*items = NULL;
	char after[ID_SIZE] = "";
	if (after_id) /* copied first: next may be the same buffer */
		snprintf(after, sizeof after, "%s", after_id);
	next[0] = '\0';
	struct id_list l = {xcalloc((size_t)limit + 1, ID_SIZE), 0, limit + 1};
	int rc;
	if (!query || !*query) {
		struct store_val q[] = {SV_TEXT(org_id), SV_TEXT(after_id ? after : NULL),
					SV_INT(limit + 1)};
		rc = store_query(st, "contact.list", q, 3, id_list_cb, &l);
	} else {
		struct segment *seg = NULL;
		rc = segment_parse(query, &seg, qerr);
		if (rc == 0) {
			struct segment_sql sql;
			rc = segment_select_ids_sql(seg, store_dialect(st), org_id, time_now_ms(),
						    after_id ? after : NULL, limit + 1, &sql);
			if (rc == 0)
				rc = store_query_sql(st, sql.sql, sql.args, sql.nargs, id_list_cb,
						     &l);
			segment_sql_release(&sql);
		}
		segment_free(seg);
	}
	if (rc < 0)
		goto out;
	rc = 0;
	json_t *arr = json_array();
	int shown = l.n > limit ? limit : l.n;
	for (int i = 0; i < shown; i++) {
		struct contact c;
		if (contact_get(st, org_id, l.ids[i], &c) != 0)
			continue; /* erased between the two reads */
		json_array_append_new(arr, contact_json(&c));
		contact_release(&c);
	}
	if (l.n > limit)
		snprintf(next, ID_SIZE, "%s", l.ids[limit - 1]);
	struct audit_many am = {org_id, actor, "contact.list", l.ids, shown};
	if (shown > 0)
		rc = store_tx(st, audit_many_fn, &am);
	if (rc) {
		json_decref(arr);
		goto out;
	}
	*items = arr;
out:
	free(l.ids);
	return rc;
}

/* ---- update by id ---- */

struct update_ctx {
	const char *org_id, *id, *actor;
	const struct contact_draft *d;
	struct contact_error *err;
};

static int update_fn(struct store_tx *tx, void *ud)
{
	struct update_ctx *c = ud;
	struct contact cur;
	memset(&cur, 0, sizeof cur);
	struct store_val g[] = {SV_TEXT(c->org_id), SV_TEXT(c->id)};
	int rc = store_tx_query(tx, "contact.get", g, 2, contact_row_cb, &cur);
	if (rc < 0)
		goto out;
	if (!cur.id[0]) {
		rc = cerr(c->err, CW_ENOTFOUND, "id", "not_found", "no such contact");
		goto out;
	}
	if (cur.erased_at) {
		rc = cerr(c->err, CW_ECONFLICT, "id", "contact_erased",
			  "the contact was erased and cannot be changed");
		goto out;
	}
	const struct contact_draft *d = c->d;
	int new_phone = d->has_phone && (!cur.phone || strcmp(cur.phone, d->phone) != 0);
	if (new_phone) {
		struct id_row other = {0};
		struct store_val q[] = {SV_TEXT(c->org_id), SV_TEXT(d->phone)};
		rc = store_tx_query(tx, "contact.id_by_phone", q, 2, id_row_cb, &other);
		if (rc < 0)
			goto out;
		if (other.found && strcmp(other.id, c->id) != 0) {
			rc = cerr(c->err, CW_ECONFLICT, "phone", "conflict",
				  "another contact has this phone number");
			goto out;
		}
	}
	int64_t now = time_now_ms();
	char *patch = fields_patch(d, 0);
	struct store_val a[] = {
	    SV_TEXT(c->org_id),	   SV_TEXT(c->id),   new_phone ? SV_TEXT(d->phone) : SV_NULL,
	    SV_TEXT(d->raw_phone), SV_TEXT(d->name), SV_TEXT(d->language),
	    SV_TEXT(d->time_zone), SV_TEXT(d->sex),  SV_TEXT(d->birth_date),
	    SV_TEXT(d->audience),  SV_TEXT(patch),   SV_INT(now)};
	rc = store_tx_exec(tx, "contact.update", a, 12, NULL);
	free(patch);
	if (rc)
		goto out;
	rc = write_children(tx, c->org_id, c->id, d, c->actor, now);
	if (rc)
		goto out;
	struct audit_entry e = {.org_id = c->org_id,
				.actor = c->actor,
				.action = "contact.update",
				.subject = c->id,
				.outcome = "ok",
				.detail = "api",
				.at = now};
	rc = audit_record_tx(tx, &e);
out:
	contact_release(&cur);
	return rc;
}

int contact_update(struct store *st, const char *org_id, const char *id,
		   const struct contact_draft *d, const char *actor, struct contact_error *err)
{
	if (!st || !org_id || !id || !d || !actor)
		return CW_EINVAL;
	struct update_ctx c = {org_id, id, actor, d, err};
	return store_tx(st, update_fn, &c);
}

/* ---- erasure ---- */

struct erase_ctx {
	const char *org_id, *id, *actor;
	int *already;
};

static int erase_webhooks(struct store_tx *tx, const char *digits)
{
	if (!digits || !*digits)
		return 0;
	char needle[48];
	snprintf(needle, sizeof needle, "\"%s\"", digits);
	struct store_val a[] = {SV_TEXT(needle)};
	return store_tx_exec(tx, "contact.erase_webhooks", a, 1, NULL);
}

static int erase_fn(struct store_tx *tx, void *ud)
{
	/* statements over (org_id, contact_id[, now]) */
	static const struct {
		const char *stmt;
		size_t nargs;
	} per_contact[] = {
	    {"contact.erase", 3},
	    {"contact.erase_messages", 3},
	    {"contact.erase_outbox", 3},
	    {"contact.erase_consent_evidence", 2},
	    /* other modules' tables that hold personal data: a module that adds
	     * one adds its statement here (docs/contacts.md, "Erasure"); journey
	     * runs are journey_erase_contact_tx()'s, below */
	    {"contact.erase_responses", 2},
	    {"contact.erase_events", 2},
	    {"contact.erase_handoffs", 2},
	    {"contact.erase_conversation_notes", 2},
	};
	struct erase_ctx *c = ud;
	struct contact cur;
	memset(&cur, 0, sizeof cur);
	struct store_val g[] = {SV_TEXT(c->org_id), SV_TEXT(c->id)};
	int rc = store_tx_query(tx, "contact.get", g, 2, contact_row_cb, &cur);
	if (rc < 0)
		goto out;
	rc = 0;
	if (!cur.id[0]) {
		rc = CW_ENOTFOUND;
		goto out;
	}
	int64_t now = time_now_ms();
	struct audit_entry e = {.org_id = c->org_id,
				.actor = c->actor,
				.action = "contact.erase",
				.subject = c->id,
				.outcome = "ok",
				.at = now};
	if (cur.erased_at) {
		*c->already = 1;
		e.outcome = "already_erased";
		rc = audit_record_tx(tx, &e);
		goto out;
	}
	/* the raw webhook bodies carry the number as wa_id digits */
	rc = erase_webhooks(tx, cur.wa_id);
	if (rc == 0 && cur.phone && cur.phone[0] == '+' &&
	    (!cur.wa_id || strcmp(cur.wa_id, cur.phone + 1) != 0))
		rc = erase_webhooks(tx, cur.phone + 1);
	if (rc)
		goto out;
	/* its journey runs end (cancelled, timers and all) and forget it */
	rc = journey_erase_contact_tx(tx, c->org_id, c->id, now);
	if (rc)
		goto out;
	struct store_val a[] = {SV_TEXT(c->org_id), SV_TEXT(c->id), SV_INT(now)};
	for (size_t i = 0; rc == 0 && i < sizeof per_contact / sizeof per_contact[0]; i++)
		rc = store_tx_exec(tx, per_contact[i].stmt, a, per_contact[i].nargs, NULL);
	struct store_val one[] = {SV_TEXT(c->id)};
	if (rc == 0)
		rc = store_tx_exec(tx, "contact.tags_clear", one, 1, NULL);
	if (rc == 0)
		rc = store_tx_exec(tx, "contact.fields_clear", one, 1, NULL);
	if (rc == 0)
		rc = store_tx_exec(tx, "contact.erase_windows", one, 1, NULL);
	if (rc == 0)
		rc = audit_record_tx(tx, &e);
out:
	contact_release(&cur);
	return rc;
}

int contact_erase(struct store *st, const char *org_id, const char *id, const char *actor,
		  int *already)
{
	int dummy = 0;
	if (!st || !org_id || !id || !actor)
		return CW_EINVAL;
	struct erase_ctx c = {org_id, id, actor, already ? already : &dummy};
	*c.already = 0;
	return store_tx(st, erase_fn, &c);
}

/* ---- messages and export ---- */

struct msg_ctx {
	contact_message_fn fn;
	void *ud;
};

/* MESSAGE = id, org_id, number_id, contact_id, direction, wamid, type, payload, status,
 * status_at, sent_at, delivered_at, read_at, played_at, failed_at, error_code, error_title,
 * biz_opaque, created_at, updated_at */
static int msg_cb(void *ud, const struct store_row *row)
{
	struct msg_ctx *c = ud;
	struct contact_message m = {
	    .id = store_row_text(row, 0),
	    .direction = store_row_text(row, 4),
	    .wamid = store_row_text(row, 5),
	    .type = store_row_text(row, 6),
	    .payload = store_row_text(row, 7),
	    .status = store_row_text(row, 8),
	    .sent_at = int_col(row, 10),
	    .delivered_at = int_col(row, 11),
	    .read_at = int_col(row, 12),
	    .failed_at = int_col(row, 14),
	    .error_code = int_col(row, 15),
	    .error_title = store_row_text(row, 16),
	    .created_at = int_col(row, 18),
	};
	return c->fn(c->ud, &m);
}

int contact_messages(struct store *st, const char *org_id, const char *id, contact_message_fn fn,
		     void *ud)
{
	if (!st || !org_id || !id || !fn)
		return CW_EINVAL;
	struct msg_ctx c = {fn, ud};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id), SV_INT(CONTACT_EXPORT_MAX)};
	return store_query(st, "contact.messages", a, 3, msg_cb, &c);
}

static int msg_json_cb(void *ud, const struct contact_message *m)
{
	json_t *arr = ud;
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(m->id));
	json_object_set_new(o, "direction", jstr(m->direction));
	json_object_set_new(o, "type", jstr(m->type));
	json_object_set_new(o, "wamid", jstr(m->wamid));
	json_object_set_new(o, "status", jstr(m->status));
	json_t *p = m->payload ? json_loads(m->payload, 0, NULL) : NULL;
	json_object_set_new(o, "payload", p ? p : json_null());
	json_object_set_new(o, "created_at", jtime(m->created_at));
	json_object_set_new(o, "sent_at", jtime(m->sent_at));
	json_object_set_new(o, "delivered_at", jtime(m->delivered_at));
	json_object_set_new(o, "read_at", jtime(m->read_at));
	json_object_set_new(o, "failed_at", jtime(m->failed_at));
	json_object_set_new(o, "error_code",
			    m->error_code ? json_integer(m->error_code) : json_null());
	json_object_set_new(o, "error_title", jstr(m->error_title));
	json_array_append_new(arr, o);
	return 0;
}

/* id, message_id, producer, purpose, outcome, reason, message, until, result_category, at */
static int decision_json_cb(void *ud, const struct store_row *row)
{
	json_t *arr = ud;
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(store_row_text(row, 0)));
	json_object_set_new(o, "message_id", jstr(store_row_text(row, 1)));
	json_object_set_new(o, "producer", jstr(store_row_text(row, 2)));
	json_object_set_new(o, "purpose", jstr(store_row_text(row, 3)));
	json_object_set_new(o, "outcome", jstr(store_row_text(row, 4)));
	json_object_set_new(o, "reason", jstr(store_row_text(row, 5)));
	json_object_set_new(o, "message", jstr(store_row_text(row, 6)));
	json_object_set_new(o, "until", jtime(int_col(row, 7)));
	json_object_set_new(o, "result_category", jstr(store_row_text(row, 8)));
	json_object_set_new(o, "at", jtime(int_col(row, 9)));
	json_array_append_new(arr, o);
	return 0;
}

int contact_export(struct store *st, const char *org_id, const char *id, const char *actor,
		   json_t **out)
{
	struct contact c;
	*out = NULL;
	int rc = contact_get(st, org_id, id, &c);
	if (rc == CW_ENOTFOUND)
		audit_read(st, org_id, id, actor, "contact.export", "not_found", "json");
	if (rc)
		return rc;
	json_t *o = json_object();
	json_object_set_new(o, "contact", contact_json(&c));
	contact_release(&c);
	json_t *consents = consent_state_json(st, org_id, id);
	json_t *msgs = json_array(), *decisions = json_array();
	if (!consents) {
		rc = CW_EIO;
		goto fail;
	}
	json_object_set_new(o, "consents", consents);
	rc = contact_messages(st, org_id, id, msg_json_cb, msgs);
	if (rc < 0)
		goto fail;
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id), SV_INT(CONTACT_EXPORT_MAX)};
	rc = store_query(st, "contact.decisions", a, 3, decision_json_cb, decisions);
	if (rc < 0)
		goto fail;
	json_object_set_new(o, "messages", msgs);
	json_object_set_new(o, "decisions", decisions);
	json_object_set_new(o, "exported_at", jtime(time_now_ms()));
	rc = audit_read(st, org_id, id, actor, "contact.export", "ok", "json");
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
fail:
	json_decref(msgs);
	json_decref(decisions);
	json_decref(o);
	return rc;
}
