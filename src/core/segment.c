/*
 * segment.c — the segment query language: lexer, parser to an AST, semantic
 * checks, and the compiler to SQL with bound parameters.
 *
 * Place: core (the domain). It knows the contacts schema (contacts,
 * contact_tags, contact_fields, consent_current) well enough to write a
 * WHERE condition over it, and nothing of HTTP or of how the store runs the
 * statement. The reference for the language is docs/segments.md.
 *
 * Pipeline:
 *   lex()      the whole query into a token array; strings are decoded,
 *              columns counted in code points; UTF-8 validated first.
 *   parse_*()  recursive descent, NOT > AND > OR, with each comparison
 *              checked as it is read (field known, operator fits the
 *              field's type, value parses as that type), so the first error
 *              reported is the leftmost one.
 *   emit_*()   the AST to SQL; every value, field key, tag and purpose is a
 *              bound parameter. Relative times and ages are resolved here,
 *              against the now_ms given, so one parsed segment can be
 *              compiled again tomorrow.
 *
 * Shape of the SQL (sqlite; postgres differs as noted in sub_open):
 *   +c.org_id = ? AND c.erased_at IS NULL AND (<condition>)
 * with tags, fields and consents as "c.id IN (SELECT contact_id FROM
 * <table> WHERE org_id = ? AND ...)", served by the (org_id, ...) indexes
 * of those tables.
 *
 * Semantics that the SQL must keep (see docs/segments.md):
 *   - every comparison is two-valued: a missing value (NULL column, no tag,
 *     no field, no consent record) makes it false, never unknown, so NOT is
 *     the exact complement and "a != v" is "NOT a = v". Under an odd number
 *     of NOTs, comparisons on nullable columns get "col IS NOT NULL AND".
 *   - "~" is a case-insensitive contains. SQLite's LIKE folds ASCII only, so
 *     for every non-ASCII cased letter of the (lower-cased) needle the
 *     column goes through replace(col, UPPER, lower) first; that is exact
 *     Unicode simple-case matching for whatever the needle contains.
 */
#include "core/segment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/banned.h"

#define SQL_MAX	       (512u * 1024) /* bytes of compiled SQL */
#define SHOW_MAX       40	     /* bytes of a token quoted in a message */
#define NUM_MAX_DIGITS 15	     /* digits of a number literal */
#define AGE_MAX	       150
#define DAY_MS	       INT64_C(86400000)

/* ---- vocabulary ---------------------------------------------------------- */

enum seg_op { OP_EQ, OP_NE, OP_CONTAINS, OP_LT, OP_LE, OP_GT, OP_GE };

static const char *const op_text[] = {"=", "!=", "~", "<", "<=", ">", ">="};
/* SQL for the ordering operators and "=" (NE and CONTAINS never reach it). */
static const char *const op_sql[] = {"=", "<>", "LIKE", "<", "<=", ">", ">="};

#define OPS_TEXT ((1u << OP_EQ) | (1u << OP_NE) | (1u << OP_CONTAINS))
#define OPS_ORDER                                                                                  \
	((1u << OP_EQ) | (1u << OP_NE) | (1u << OP_LT) | (1u << OP_LE) | (1u << OP_GT) |           \
	 (1u << OP_GE))
#define OPS_EQ ((1u << OP_EQ) | (1u << OP_NE))

enum attr_type {
	AT_TEXT,    /* contacts text column, compared as written */
	AT_CODE,    /* contacts text column holding a lower-case code (sex, language) */
	AT_PHONE,   /* contacts.phone, E.164 */
	AT_AGE,	    /* whole years from contacts.birth_date */
	AT_DATE,    /* contacts text column 'YYYY-MM-DD' */
	AT_TIME,    /* contacts integer column, UTC ms */
	AT_TAG,	    /* contact_tags */
	AT_CONSENT, /* consent_current, one purpose */
	AT_FIELD,   /* contact_fields, one key; type from the value */
};

static const struct attr_def {
	const char *name;
	enum attr_type type;
	const char *column;
} attr_table[] = {
    {"name", AT_TEXT, "c.name"},
    {"phone", AT_PHONE, "c.phone"},
    {"language", AT_CODE, "c.language"},
    {"sex", AT_CODE, "c.sex"},
    {"age", AT_AGE, "c.birth_date"},
    {"birth_date", AT_DATE, "c.birth_date"},
    {"audience", AT_TEXT, "c.audience"},
    {"created", AT_TIME, "c.created_at"},
    {"last_seen", AT_TIME, "c.last_seen"},
    {"last_inbound", AT_TIME, "c.last_inbound"},
    {"tag", AT_TAG, NULL},
};
#define NATTR (sizeof(attr_table) / sizeof(attr_table[0]))

static const struct type_def {
	unsigned ops;
	const char *what; /* for messages */
	const char *use;
} type_table[] = {
    [AT_TEXT] = {OPS_TEXT, "text", "= != ~"},
    [AT_CODE] = {OPS_TEXT, "text", "= != ~"},
    [AT_PHONE] = {OPS_TEXT, "a phone number", "= != ~"},
    [AT_AGE] = {OPS_ORDER, "a number", "= != < <= > >="},
    [AT_DATE] = {OPS_ORDER, "a date", "= != < <= > >="},
    [AT_TIME] = {OPS_ORDER, "a time", "= != < <= > >="},
    [AT_TAG] = {OPS_TEXT, "text", "= != ~"},
    [AT_CONSENT] = {OPS_EQ, "a consent status", "= !="},
    [AT_FIELD] = {OPS_TEXT | OPS_ORDER, "a custom field", "= != ~ < <= > >="},
};

static const char *const purpose_table[] = {"service", "reminders", "results", "surveys",
					    "marketing"};
#define NPURPOSE (sizeof(purpose_table) / sizeof(purpose_table[0]))

/* Consent statuses; STATUS_NONE means "no record for this purpose". */
static const char *const status_table[] = {"granted", "refused", "withdrawn", "none"};
#define NSTATUS	    (sizeof(status_table) / sizeof(status_table[0]))
#define STATUS_NONE 3

enum unit { U_MIN, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_YEAR };

/* Units of a relative time; max keeps the result within a few centuries. */
static const struct unit_def {
	const char *name; /* matched case-insensitively, except "M" */
	enum unit unit;
	int64_t max;
} unit_table[] = {
    {"min", U_MIN, INT64_C(500000000)}, {"h", U_HOUR, INT64_C(8000000)},
    {"d", U_DAY, INT64_C(350000)},	{"w", U_WEEK, INT64_C(50000)},
    {"mo", U_MONTH, INT64_C(12000)},	{"M", U_MONTH, INT64_C(12000)},
    {"y", U_YEAR, INT64_C(1000)},
};
#define NUNIT (sizeof(unit_table) / sizeof(unit_table[0]))
static const char *const unit_canon[] = {"min", "h", "d", "w", "mo", "y"};

/* ---- AST ----------------------------------------------------------------- */

enum vkind { VK_TEXT, VK_NUM, VK_DATE, VK_REL, VK_BOOL, VK_STATUS };

struct seg_cmp {
	enum attr_type type;
	const struct attr_def *attr; /* built-ins and tag */
	int purpose;		     /* AT_CONSENT: index in purpose_table */
	char *key;		     /* AT_FIELD */
	enum seg_op op;
	enum vkind vk;
	char *text;    /* VK_TEXT (normalised; lower-cased for ~); VK_NUM as written */
	double num;    /* VK_NUM */
	int64_t age;   /* AT_AGE */
	int y, m, d;   /* VK_DATE */
	int today;     /* VK_DATE: today's UTC date, resolved when compiled */
	int rel_sign;  /* VK_REL: -1 ago, +1 ahead */
	int64_t rel_n; /* VK_REL */
	enum unit rel_unit;
	int bval;   /* VK_BOOL */
	int status; /* VK_STATUS: index in status_table */
};

enum node_kind { N_AND, N_OR, N_NOT, N_CMP };

struct seg_node {
	enum node_kind kind;
	struct seg_node *a, *b; /* AND/OR: both; NOT: a */
	struct seg_cmp cmp;	/* N_CMP */
};

struct segment {
	struct seg_node *root;
};

/* ---- small helpers ------------------------------------------------------- */

static int is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alpha(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static char lower_ascii(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/* True when the n bytes at s equal the NUL-terminated word, ASCII case
 * ignored. */
static int eq_ci(const char *s, size_t n, const char *word)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (word[i] == '\0' || lower_ascii(s[i]) != lower_ascii(word[i]))
			return 0;
	return word[i] == '\0';
}

static int prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && eq_ci(s, k, prefix);
}

/* Code points in s[0..n). s is valid UTF-8. */
static int count_cp(const char *s, size_t n)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

/* Drops an incomplete UTF-8 sequence that truncation left at the end of s. */
static void utf8_trim_tail(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* The length of s[0..n) cut to at most max bytes on a code point boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar
 * arithmetic on 400-year eras). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Returns a new NFC-normalised copy of s (caller frees); s itself when ICU
 * cannot normalise it. Query strings are NFC so that a Hebrew or Russian
 * value typed with combining marks equals the stored (NFC) text. */
static char *text_nfc(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u && *u < 0x80)
		u++;
	if (*u == '\0')
		return xstrdup(s);

	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
	if (U_FAILURE(st))
		return xstrdup(s);
	int32_t n8 = (int32_t)strlen(s), n16 = 0;
	UChar *in = xmalloc(((size_t)n8 + 1) * sizeof(UChar));
	UChar *norm = NULL;
	char *out = NULL;
	u_strFromUTF8(in, n8 + 1, &n16, s, n8, &st);
	if (U_FAILURE(st))
		goto fail;
	int32_t cap = n16 * 3 + 1, nn = 0;
	norm = xmalloc((size_t)cap * sizeof(UChar));
	nn = unorm2_normalize(nfc, in, n16, norm, cap, &st);
	if (U_FAILURE(st))
		goto fail;
	int32_t outcap = nn * 3 + 1, nout = 0;
	out = xmalloc((size_t)outcap);
	u_strToUTF8(out, outcap, &nout, norm, nn, &st);
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

/* Returns a new copy of s with every code point lower-cased (ICU simple
 * case mapping). */
static char *text_lower(const char *s)
{
	int32_t n = (int32_t)strlen(s), i = 0, o = 0;
	char *out = xmalloc((size_t)n * 4 + 1);
	while (i < n) {
		UChar32 cp;
		U8_NEXT(s, i, n, cp);
		if (cp < 0)
			cp = 0xFFFD;
		U8_APPEND_UNSAFE(out, o, u_tolower(cp));
	}
	out[o] = '\0';
	return out;
}

/* The replace() pairs that make a column match the lower-cased needle
 * whatever the case of its non-ASCII letters: for each such letter of the
 * needle, its upper- and title-case forms. ASCII is left to LIKE. pairs has
 * room for 2 * max. Returns the number of pairs, or -1 when more than max
 * distinct letters need one. */
struct fold_pair {
	UChar32 from, to;
};

static int fold_pairs(const char *needle, struct fold_pair *pairs, int max)
{
	int32_t n = (int32_t)strlen(needle), i = 0;
	int np = 0, letters = 0;
	while (i < n) {
		UChar32 cp;
		U8_NEXT(needle, i, n, cp);
		if (cp < 0x80)
			continue;
		UChar32 forms[2] = {u_toupper(cp), u_totitle(cp)};
		int counted = 0;
		for (int f = 0; f < 2; f++) {
			UChar32 from = forms[f];
			if (from == cp || from < 0x80)
				continue;
			int dup = 0;
			for (int k = 0; k < np; k++)
				if (pairs[k].from == from)
					dup = 1;
			if (dup)
				continue;
			if (!counted) {
				counted = 1;
				if (++letters > max)
					return -1;
			}
			pairs[np].from = from;
			pairs[np].to = cp;
			np++;
		}
	}
	return np;
}

/* ---- lexer --------------------------------------------------------------- */

enum tok_kind { TK_END, TK_LPAREN, TK_RPAREN, TK_OP, TK_WORD, TK_STRING, TK_AND, TK_OR, TK_NOT };

struct tok {
	enum tok_kind kind;
	enum seg_op op;	 /* TK_OP */
	size_t off, len; /* the source text */
	int col;
	char *str; /* TK_STRING: the decoded value (owned) */
};

struct parser {
	const char *q;
	size_t n;
	struct tok *toks;
	size_t ntoks;
	size_t pos;
	int depth;
	int terms;
	size_t col_off; /* column tracking while lexing */
	int col;
	struct segment_error *err;
};

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, int col, const char *fmt,
						      ...)
{
	struct segment_error *e = p->err;
	if (!e)
		return CW_EPARSE;
	e->col = col;
	int k = snprintf(e->message, sizeof(e->message), "col %d: ", col);
	if (k < 0 || (size_t)k >= sizeof(e->message))
		k = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message + k, sizeof(e->message) - (size_t)k, fmt, ap);
	va_end(ap);
	utf8_trim_tail(e->message);
	return CW_EPARSE;
}

/* Column of byte offset off; offsets must be asked in increasing order. */
static int col_at(struct parser *p, size_t off)
{
	p->col += count_cp(p->q + p->col_off, off - p->col_off);
	p->col_off = off;
	return p->col;
}

static int is_word_byte(unsigned char ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '+' ||
	       ch == '@' || ch == ':' || ch == '/' || ch >= 0x80;
}

static void push_tok(struct parser *p, enum tok_kind kind, size_t off, size_t len, int col)
{
	struct tok *t = &p->toks[p->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->off = off;
	t->len = len;
	t->col = col;
}

static int lex_string(struct parser *p, size_t *offp, int col)
{
	size_t off = *offp;
	char quote = p->q[off];
	struct buf b;
	buf_init(&b, SEGMENT_MAX_QUERY + 1);
	buf_puts(&b, ""); /* an empty string is "" and not NULL */
	size_t i = off + 1;
	for (;;) {
		if (i >= p->n) {
			buf_release(&b);
			return perr(p, col, "unterminated string: no closing %c", quote);
		}
		unsigned char ch = (unsigned char)p->q[i];
		if (ch == (unsigned char)quote) {
			i++;
			break;
		}
		if (ch == '\\') {
			unsigned char nx = i + 1 < p->n ? (unsigned char)p->q[i + 1] : '\0';
			if (nx == '\0') {
				buf_release(&b);
				return perr(p, col, "unterminated string: no closing %c", quote);
			}
			if (nx != '\\' && nx != '"' && nx != '\'') {
				int c = col + count_cp(p->q + off, i - off);
				buf_release(&b);
				return perr(p, c,
					    "unknown escape in string: only \\\" \\' and \\\\");
			}
			buf_putc(&b, (char)nx);
			i += 2;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f) {
			int c = col + count_cp(p->q + off, i - off);
			buf_release(&b);
			return perr(p, c, "control character in string");
		}
		buf_putc(&b, (char)ch);
		i++;
	}
	push_tok(p, TK_STRING, off, i - off, col);
	p->toks[p->ntoks - 1].str = buf_detach(&b, NULL);
	*offp = i;
	return 0;
}

static int lex(struct parser *p)
{
	size_t off = 0;
	p->col_off = 0;
	p->col = 1;
	for (;;) {
		while (off < p->n && (p->q[off] == ' ' || p->q[off] == '\t' || p->q[off] == '\n' ||
				      p->q[off] == '\r'))
			off++;
		int col = col_at(p, off);
		if (off >= p->n) {
			push_tok(p, TK_END, off, 0, col);
			return 0;
		}
		unsigned char ch = (unsigned char)p->q[off];
		unsigned char nx = off + 1 < p->n ? (unsigned char)p->q[off + 1] : '\0';
		if (ch == '(' || ch == ')') {
			push_tok(p, ch == '(' ? TK_LPAREN : TK_RPAREN, off, 1, col);
			off++;
		} else if (ch == '=' || ch == '~') {
			push_tok(p, TK_OP, off, 1, col);
			p->toks[p->ntoks - 1].op = ch == '=' ? OP_EQ : OP_CONTAINS;
			off++;
		} else if (ch == '<' || ch == '>' || (ch == '!' && nx == '=')) {
			size_t len = nx == '=' ? 2 : 1;
			enum seg_op op = ch == '!'   ? OP_NE
					 : ch == '<' ? (len == 2 ? OP_LE : OP_LT)
						     : (len == 2 ? OP_GE : OP_GT);
			push_tok(p, TK_OP, off, len, col);
			p->toks[p->ntoks - 1].op = op;
			off += len;
		} else if (ch == '"' || ch == '\'') {
			int rc = lex_string(p, &off, col);
			if (rc)
				return rc;
		} else if (is_word_byte(ch)) {
			size_t start = off;
			while (off < p->n && is_word_byte((unsigned char)p->q[off]))
				off++;
			const char *w = p->q + start;
			size_t len = off - start;
			enum tok_kind k = eq_ci(w, len, "and")	 ? TK_AND
					  : eq_ci(w, len, "or")	 ? TK_OR
					  : eq_ci(w, len, "not") ? TK_NOT
								 : TK_WORD;
			push_tok(p, k, start, len, col);
		} else {
			const char *hint = ch == '!'   ? ": use != or NOT"
					   : ch == '&' ? ": use AND"
					   : ch == '|' ? ": use OR"
						       : "";
			if (ch >= 0x20 && ch < 0x7f)
				return perr(p, col, "unexpected character '%c'%s", ch, hint);
			return perr(p, col, "unexpected character 0x%02x", ch);
		}
	}
}

/* ---- parser -------------------------------------------------------------- */

static const struct tok *cur(const struct parser *p)
{
	return &p->toks[p->pos];
}

/* Writes how tok is shown in a message: "the end of the query", or its
 * source text in quotes (a string token keeps its own quotes), cut to
 * SHOW_MAX bytes. */
static const char *show(const struct parser *p, const struct tok *t, char *out, size_t outsz)
{
	if (t->kind == TK_END) {
		snprintf(out, outsz, "the end of the query");
		return out;
	}
	size_t len = utf8_cut(p->q + t->off, t->len, SHOW_MAX);
	int cut = len < t->len;
	const char *qt = t->kind == TK_STRING ? "" : "\"";
	snprintf(out, outsz, "%s%.*s%s%s", qt, (int)len, p->q + t->off, cut ? "..." : "", qt);
	return out;
}

/* Optimal-string-alignment distance between a and b (lower-cased ASCII),
 * for "did you mean". Both are at most 64 bytes. */
static int edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
	int d[65][65];
	for (size_t i = 0; i <= na; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= nb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= na; i++) {
		for (size_t j = 1; j <= nb; j++) {
			int cost = lower_ascii(a[i - 1]) != lower_ascii(b[j - 1]);
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && lower_ascii(a[i - 1]) == lower_ascii(b[j - 2]) &&
			    lower_ascii(a[i - 2]) == lower_ascii(b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[na][nb];
}

/* Keeps cand in best when it is closer to word than what best holds. */
static void consider(const char *w, size_t n, const char *cand, char *best, size_t bestsz,
		     int *bestd)
{
	size_t nc = strlen(cand);
	if (n > 64 || nc > 64)
		return;
	int dist = edit_distance(w, n, cand, nc);
	if (dist < *bestd && dist <= 2 && (size_t)dist * 3 <= nc) {
		*bestd = dist;
		snprintf(best, bestsz, "%s", cand);
	}
}

static int unknown_field(struct parser *p, const struct tok *t)
{
	const char *w = p->q + t->off;
	char best[96] = "", cand[96], shown[64];
	int bestd = 3;
	for (size_t i = 0; i < NATTR; i++)
		consider(w, t->len, attr_table[i].name, best, sizeof(best), &bestd);
	for (size_t i = 0; i < NPURPOSE; i++) {
		snprintf(cand, sizeof(cand), "consent.%s", purpose_table[i]);
		consider(w, t->len, cand, best, sizeof(best), &bestd);
	}
	const char *dot = memchr(w, '.', t->len);
	if (dot && (size_t)(w + t->len - dot) < 64) {
		snprintf(cand, sizeof(cand), "fields%.*s", (int)(w + t->len - dot), dot);
		consider(w, t->len, cand, best, sizeof(best), &bestd);
	}
	show(p, t, shown, sizeof(shown));
	if (best[0])
		return perr(p, t->col, "unknown field %s (did you mean \"%s\"?)", shown, best);
	return perr(p, t->col,
		    "unknown field %s; fields are name phone language sex age birth_date "
		    "audience created last_seen last_inbound tag consent.<purpose> fields.<key>",
		    shown);
}

static int resolve_field(struct parser *p, const struct tok *t, struct seg_cmp *c)
{
	const char *w = p->q + t->off;
	size_t n = t->len;
	for (size_t i = 0; i < NATTR; i++) {
		if (eq_ci(w, n, attr_table[i].name)) {
			c->attr = &attr_table[i];
			c->type = attr_table[i].type;
			return 0;
		}
	}
	if (prefix_ci(w, n, "consent.")) {
		const char *pw = w + 8;
		size_t pn = n - 8;
		for (size_t i = 0; i < NPURPOSE; i++) {
			if (eq_ci(pw, pn, purpose_table[i])) {
				c->type = AT_CONSENT;
				c->purpose = (int)i;
				return 0;
			}
		}
		char best[32] = "", hint[64] = "";
		int bestd = 3;
		for (size_t i = 0; i < NPURPOSE; i++)
			consider(pw, pn, purpose_table[i], best, sizeof(best), &bestd);
		if (best[0])
			snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", best);
		return perr(p, t->col + 8,
			    "unknown consent purpose \"%.*s\"%s; purposes are service reminders "
			    "results surveys marketing",
			    (int)utf8_cut(pw, pn, SHOW_MAX), pw, hint);
	}
	if (prefix_ci(w, n, "fields.")) {
		const char *k = w + 7;
		size_t kn = n - 7;
		if (kn == 0)
			return perr(p, t->col + 7, "missing key after \"fields.\"");
		if (kn > SEGMENT_MAX_KEY)
			return perr(p, t->col + 7, "field key too long (max %d bytes)",
				    SEGMENT_MAX_KEY);
		for (size_t i = 0; i < kn; i++) {
			unsigned char ch = (unsigned char)k[i];
			if (!(is_alpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch >= 0x80))
				return perr(p, t->col + 7 + count_cp(k, i),
					    "bad character '%c' in field key: use letters, digits, "
					    "_ and -",
					    ch);
		}
		c->type = AT_FIELD;
		c->key = xstrndup(k, kn);
		return 0;
	}
	return unknown_field(p, t);
}

/* Word shapes, for typing a bare value. */
enum wshape { W_TEXT, W_NUM, W_DATE, W_REL, W_UREL, W_BOOL, W_TODAY };

/* The unit spelled by the n bytes at s, or NULL; *ambiguous is set when
 * they are a lone "m". */
static const struct unit_def *find_unit(const char *s, size_t n, int *ambiguous)
{
	*ambiguous = n == 1 && s[0] == 'm';
	for (size_t i = 0; i < NUNIT; i++) {
		const char *u = unit_table[i].name;
		if (strcmp(u, "M") == 0 ? (n == 1 && s[0] == 'M') : eq_ci(s, n, u))
			return &unit_table[i];
	}
	return NULL;
}

static enum wshape word_shape(const char *s)
{
	size_t n = strlen(s), i = 0;
	if (eq_ci(s, n, "true") || eq_ci(s, n, "false"))
		return W_BOOL;
	if (eq_ci(s, n, "today"))
		return W_TODAY;
	/* dddd-d+-d+ */
	if (n >= 8 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	    s[4] == '-') {
		i = 5;
		size_t a = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i > a && i < n && s[i] == '-') {
			size_t b = ++i;
			while (i < n && is_digit(s[i]))
				i++;
			if (i > b && i == n)
				return W_DATE;
		}
	}
	i = 0;
	int sign = s[0] == '-' || s[0] == '+';
	if (sign)
		i++;
	size_t d0 = i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i == d0)
		return W_TEXT;
	size_t digits_end = i;
	while (i < n && is_alpha(s[i]))
		i++;
	if (i == n && i > digits_end) {
		int amb;
		if (sign)
			return W_REL;
		return find_unit(s + digits_end, n - digits_end, &amb) || amb ? W_UREL : W_TEXT;
	}
	i = digits_end;
	if (i == n)
		return W_NUM;
	if (s[i] == '.') {
		size_t f0 = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i > f0 && i == n)
			return W_NUM;
	}
	return W_TEXT;
}

/* Parses a word that word_shape() called W_DATE (dddd-d+-d+). */
static int parse_date(const char *s, struct seg_cmp *c)
{
	if (strlen(s) != 10 || s[7] != '-')
		return -1;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	c->vk = VK_DATE;
	c->y = y;
	c->m = m;
	c->d = d;
	return 0;
}

/* Parses "-30d" into c; on failure writes the reason into why. */
static int parse_rel(const char *s, struct seg_cmp *c, char *why, size_t whysz)
{
	size_t n = strlen(s), i = 1;
	int64_t v = 0;
	while (i < n && is_digit(s[i])) {
		if (v > INT64_C(1000000000))
			break;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	int amb;
	const struct unit_def *u = find_unit(s + i, n - i, &amb);
	if (amb) {
		snprintf(why, whysz, "\"m\" is ambiguous, write min (minutes) or mo (months)");
		return -1;
	}
	if (!u || (i < n && is_digit(s[i]))) {
		snprintf(why, whysz, "use a sign, a number and a unit (min h d w mo y), like -30d");
		return -1;
	}
	if (v > u->max) {
		snprintf(why, whysz, "too far (at most %lld%s)", (long long)u->max, u->name);
		return -1;
	}
	c->vk = VK_REL;
	c->rel_sign = s[0] == '-' ? -1 : 1;
	c->rel_n = v;
	c->rel_unit = u->unit;
	return 0;
}

/* Parses a number that word_shape() called W_NUM: digits and at most one
 * fraction, NUM_MAX_DIGITS digits in all, so mantissa / 10^k is exact and
 * correctly rounded (and free of the C locale's decimal point). */
static int parse_number(const char *s, double *out)
{
	int neg = s[0] == '-';
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	int64_t mant = 0;
	int digits = 0, frac = -1;
	for (; s[i]; i++) {
		if (s[i] == '.') {
			frac = 0;
			continue;
		}
		if (++digits > NUM_MAX_DIGITS)
			return -1;
		mant = mant * 10 + (s[i] - '0');
		if (frac >= 0)
			frac++;
	}
	double p10 = 1;
	for (int k = 0; k < frac; k++)
		p10 *= 10;
	double v = (double)mant / p10;
	*out = neg ? -v : v;
	return 0;
}

/* Types a date-like value for birth_date, created, last_* and date fields. */
static int value_date(struct parser *p, const struct tok *vt, const char *s, struct seg_cmp *c,
		      const char *fname)
{
	char shown[64], why[96];
	show(p, vt, shown, sizeof(shown));
	switch (word_shape(s)) {
	case W_TODAY:
		c->vk = VK_DATE;
		c->today = 1;
		return 0;
	case W_DATE:
		if (parse_date(s, c))
			return perr(p, vt->col, "bad date %s: use a real date as YYYY-MM-DD",
				    shown);
		return 0;
	case W_REL:
		if (parse_rel(s, c, why, sizeof(why)))
			return perr(p, vt->col, "bad duration %s: %s", shown, why);
		return 0;
	case W_UREL:
		return perr(p, vt->col,
			    "bad duration %s: a relative time needs a sign, - (ago) or + (ahead), "
			    "like -30d",
			    shown);
	default:
		return perr(p, vt->col,
			    "%s needs a date (YYYY-MM-DD), a relative time (-30d) or today, got %s",
			    fname, shown);
	}
}

/* Sets c->text from s for a text comparison: NFC; codes lower-cased; phone
 * numbers stripped of spaces, dashes, dots and parentheses; ~ values
 * lower-cased and checked. */
static int value_text(struct parser *p, const struct tok *vt, const char *s, struct seg_cmp *c)
{
	char shown[64];
	show(p, vt, shown, sizeof(shown));
	c->vk = VK_TEXT;
	c->text = text_nfc(s);
	if (c->type == AT_CODE) {
		for (char *q = c->text; *q; q++)
			*q = lower_ascii(*q);
	}
	if (c->type == AT_PHONE) {
		size_t o = 0;
		for (const char *q = c->text; *q; q++)
			if (*q != ' ' && *q != '-' && *q != '.' && *q != '(' && *q != ')')
				c->text[o++] = *q;
		c->text[o] = '\0';
		size_t i = c->text[0] == '+' ? 1 : 0;
		int ok = c->text[i] != '\0';
		for (; c->text[i]; i++)
			if (!is_digit(c->text[i]))
				ok = 0;
		if (!ok)
			return perr(p, vt->col,
				    "phone needs digits, optionally after + (like +972521234567), "
				    "got %s",
				    shown);
	}
	if (c->op == OP_CONTAINS) {
		if (c->text[0] == '\0')
			return perr(p, vt->col, "~ needs some text to look for");
		char *low = text_lower(c->text);
		free(c->text);
		c->text = low;
		struct fold_pair pairs[SEGMENT_MAX_FOLD * 2];
		if (fold_pairs(c->text, pairs, SEGMENT_MAX_FOLD) < 0)
			return perr(p, vt->col,
				    "too many different non-Latin letters after ~ (max %d)",
				    SEGMENT_MAX_FOLD);
	}
	return 0;
}

static int value_field(struct parser *p, const struct tok *vt, const char *s, struct seg_cmp *c)
{
	char shown[64];
	show(p, vt, shown, sizeof(shown));
	enum wshape sh = vt->kind == TK_STRING || c->op == OP_CONTAINS ? W_TEXT : word_shape(s);
	int rc = 0;
	switch (sh) {
	case W_BOOL:
		c->vk = VK_BOOL;
		c->bval = eq_ci(s, strlen(s), "true");
		if (c->op != OP_EQ && c->op != OP_NE)
			return perr(p, vt->col, "true/false can only be compared with = or !=");
		return 0;
	case W_NUM:
		c->vk = VK_NUM;
		if (parse_number(s, &c->num))
			return perr(p, vt->col, "number %s has too many digits (max %d)", shown,
				    NUM_MAX_DIGITS);
		c->text = xstrdup(s[0] == '+' ? s + 1 : s);
		return 0;
	case W_DATE:
	case W_REL:
	case W_UREL:
	case W_TODAY:
		return value_date(p, vt, s, c, "a date field");
	case W_TEXT:
		if (c->op != OP_EQ && c->op != OP_NE && c->op != OP_CONTAINS)
			return perr(p, vt->col, "%s needs a number or a date, got %s",
				    op_text[c->op], shown);
		rc = value_text(p, vt, s, c);
		return rc;
	}
	return 0;
}

static int resolve_value(struct parser *p, const struct tok *vt, struct seg_cmp *c,
			 const char *fname)
{
	char shown[64];
	char *word = NULL;
	const char *s = vt->str;
	if (vt->kind == TK_WORD) {
		word = xstrndup(p->q + vt->off, vt->len);
		s = word;
	}
	show(p, vt, shown, sizeof(shown));
	int rc = 0;
	switch (c->type) {
	case AT_TEXT:
	case AT_CODE:
	case AT_PHONE:
	case AT_TAG:
		rc = value_text(p, vt, s, c);
		break;
	case AT_AGE: {
		double v = -1;
		if (word_shape(s) != W_NUM || strchr(s, '.') || s[0] == '-' ||
		    parse_number(s, &v) || v > AGE_MAX) {
			rc = perr(p, vt->col, "age needs a whole number from 0 to %d, got %s",
				  AGE_MAX, shown);
			break;
		}
		c->vk = VK_NUM;
		c->age = (int64_t)v;
		break;
	}
	case AT_DATE:
	case AT_TIME:
		rc = value_date(p, vt, s, c, fname);
		if (rc == 0 && c->type == AT_TIME && c->vk == VK_REL &&
		    (c->op == OP_EQ || c->op == OP_NE))
			rc = perr(p, vt->col,
				  "%s %s %s: a relative time is an instant; use < <= > >= or a "
				  "date",
				  fname, op_text[c->op], shown);
		break;
	case AT_CONSENT: {
		size_t n = strlen(s);
		c->vk = VK_STATUS;
		c->status = -1;
		for (size_t i = 0; i < NSTATUS; i++)
			if (eq_ci(s, n, status_table[i]))
				c->status = (int)i;
		if (c->status < 0)
			rc =
			    perr(p, vt->col, "%s needs granted, refused, withdrawn or none, got %s",
				 fname, shown);
		break;
	}
	case AT_FIELD:
		rc = value_field(p, vt, s, c);
		break;
	}
	free(word);
	return rc;
}

static void node_free(struct seg_node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->cmp.key);
	free(n->cmp.text);
	free(n);
}

static int parse_or(struct parser *p, struct seg_node **out);

static int parse_cmp(struct parser *p, struct seg_node **out)
{
	const struct tok *ft = cur(p);
	char shown[64], fname[96];
	if (++p->terms > SEGMENT_MAX_TERMS)
		return perr(p, ft->col, "too many conditions (max %d)", SEGMENT_MAX_TERMS);
	struct seg_node *n = xcalloc(1, sizeof(*n));
	n->kind = N_CMP;
	struct seg_cmp *c = &n->cmp;
	int rc = resolve_field(p, ft, c);
	if (rc)
		goto fail;
	if (c->type == AT_CONSENT)
		snprintf(fname, sizeof(fname), "consent.%s", purpose_table[c->purpose]);
	else if (c->type == AT_FIELD)
		snprintf(fname, sizeof(fname), "fields.%s", c->key);
	else
		snprintf(fname, sizeof(fname), "%s", c->attr->name);
	p->pos++;

	const struct tok *ot = cur(p);
	if (ot->kind != TK_OP) {
		rc = perr(p, ot->col, "expected an operator (= != ~ < <= > >=) after %s, got %s",
			  fname, show(p, ot, shown, sizeof(shown)));
		goto fail;
	}
	c->op = ot->op;
	const struct type_def *td = &type_table[c->type];
	if (!(td->ops & (1u << c->op))) {
		rc = perr(p, ot->col, "operator %s does not apply to %s (%s): use %s",
			  op_text[c->op], fname, td->what, td->use);
		goto fail;
	}
	p->pos++;

	const struct tok *vt = cur(p);
	if (vt->kind != TK_WORD && vt->kind != TK_STRING) {
		rc = perr(p, vt->col, "expected a value after %s, got %s", op_text[c->op],
			  show(p, vt, shown, sizeof(shown)));
		goto fail;
	}
	rc = resolve_value(p, vt, c, fname);
	if (rc)
		goto fail;
	p->pos++;
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

static struct seg_node *node_new(enum node_kind kind, struct seg_node *a, struct seg_node *b)
{
	struct seg_node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->a = a;
	n->b = b;
	return n;
}

static int parse_primary(struct parser *p, struct seg_node **out)
{
	const struct tok *t = cur(p);
	char shown[64];
	if (t->kind == TK_LPAREN) {
		if (++p->depth > SEGMENT_MAX_DEPTH)
			return perr(p, t->col, "too deeply nested (max %d levels)",
				    SEGMENT_MAX_DEPTH);
		p->pos++;
		int rc = parse_or(p, out);
		if (rc)
			return rc;
		const struct tok *r = cur(p);
		if (r->kind != TK_RPAREN) {
			node_free(*out);
			*out = NULL;
			if (r->kind == TK_END)
				return perr(p, r->col, "missing ')' to close '(' at col %d",
					    t->col);
			return perr(p, r->col,
				    "expected AND, OR or ')' to close '(' at col %d, got %s",
				    t->col, show(p, r, shown, sizeof(shown)));
		}
		p->pos++;
		p->depth--;
		return 0;
	}
	if (t->kind == TK_WORD)
		return parse_cmp(p, out);
	return perr(p, t->col, "expected a field name, NOT or '(', got %s",
		    show(p, t, shown, sizeof(shown)));
}

static int parse_not(struct parser *p, struct seg_node **out)
{
	const struct tok *t = cur(p);
	if (t->kind != TK_NOT)
		return parse_primary(p, out);
	if (++p->depth > SEGMENT_MAX_DEPTH)
		return perr(p, t->col, "too deeply nested (max %d levels)", SEGMENT_MAX_DEPTH);
	p->pos++;
	struct seg_node *a = NULL;
	int rc = parse_not(p, &a);
	if (rc)
		return rc;
	p->depth--;
	*out = node_new(N_NOT, a, NULL);
	return 0;
}

static int parse_and(struct parser *p, struct seg_node **out)
{
	struct seg_node *left = NULL, *right = NULL;
	int rc = parse_not(p, &left);
	if (rc)
		return rc;
	while (cur(p)->kind == TK_AND) {
		p->pos++;
		rc = parse_not(p, &right);
		if (rc) {
			node_free(left);
			return rc;
		}
		left = node_new(N_AND, left, right);
	}
	*out = left;
	return 0;
}

static int parse_or(struct parser *p, struct seg_node **out)
{
	struct seg_node *left = NULL, *right = NULL;
	int rc = parse_and(p, &left);
	if (rc)
		return rc;
	while (cur(p)->kind == TK_OR) {
		p->pos++;
		rc = parse_and(p, &right);
		if (rc) {
			node_free(left);
			return rc;
		}
		left = node_new(N_OR, left, right);
	}
	*out = left;
	return 0;
}

int segment_parse(const char *query, struct segment **out, struct segment_error *err)
{
	if (out)
		*out = NULL;
	if (err) {
		err->col = 0;
		err->message[0] = '\0';
	}
	if (!query || !out)
		return CW_EINVAL;

	struct parser p = {.q = query, .err = err};
	struct seg_node *root = NULL;
	char shown[64];
	int rc;
	size_t n = strnlen(query, SEGMENT_MAX_QUERY + 1);
	if (n > SEGMENT_MAX_QUERY) {
		/* the column of the first byte past the limit, counted on the
		 * valid prefix only */
		int32_t i = 0, cps = 0;
		while (i < SEGMENT_MAX_QUERY) {
			UChar32 cp;
			U8_NEXT(query, i, SEGMENT_MAX_QUERY, cp);
			(void)cp;
			cps++;
		}
		return perr(&p, cps + 1, "query too long (max %d bytes)", SEGMENT_MAX_QUERY);
	}
	p.n = n;
	{
		int32_t i = 0, cps = 0;
		while (i < (int32_t)n) {
			UChar32 cp;
			U8_NEXT(query, i, (int32_t)n, cp);
			cps++;
			if (cp < 0)
				return perr(&p, cps, "invalid UTF-8");
		}
	}
	p.toks = xcalloc(n + 2, sizeof(*p.toks));
	rc = lex(&p);
	if (rc)
		goto fail;
	if (p.toks[0].kind == TK_END) {
		rc = perr(&p, 1, "empty query");
		goto fail;
	}
	rc = parse_or(&p, &root);
	if (rc)
		goto fail;
	const struct tok *t = cur(&p);
	if (t->kind == TK_RPAREN) {
		rc = perr(&p, t->col, "unexpected ')' with no '(' to close");
		goto fail;
	}
	if (t->kind != TK_END) {
		rc = perr(&p, t->col,
			  "unexpected %s after a complete condition: join with AND or OR",
			  show(&p, t, shown, sizeof(shown)));
		goto fail;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->root = root;
	root = NULL;
	rc = 0;
fail:
	node_free(root);
	if (p.toks)
		for (size_t i = 0; i < p.ntoks; i++)
			free(p.toks[i].str);
	free(p.toks);
	return rc;
}

void segment_free(struct segment *seg)
{
	if (!seg)
		return;
	node_free(seg->root);
	free(seg);
}

/* ---- canonical form ------------------------------------------------------ */

static void format_cmp(const struct seg_cmp *c, struct buf *b)
{
	if (c->type == AT_CONSENT)
		buf_printf(b, "consent.%s", purpose_table[c->purpose]);
	else if (c->type == AT_FIELD)
		buf_printf(b, "fields.%s", c->key);
	else
		buf_puts(b, c->attr->name);
	buf_printf(b, " %s ", op_text[c->op]);
	switch (c->vk) {
	case VK_TEXT:
		buf_putc(b, '"');
		for (const char *s = c->text; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *s);
		}
		buf_putc(b, '"');
		break;
	case VK_NUM:
		if (c->type == AT_AGE)
			buf_printf(b, "%lld", (long long)c->age);
		else
			buf_puts(b, c->text);
		break;
	case VK_DATE:
		if (c->today)
			buf_puts(b, "today");
		else
			buf_printf(b, "%04d-%02d-%02d", c->y, c->m, c->d);
		break;
	case VK_REL:
		buf_printf(b, "%c%lld%s", c->rel_sign < 0 ? '-' : '+', (long long)c->rel_n,
			   unit_canon[c->rel_unit]);
		break;
	case VK_BOOL:
		buf_puts(b, c->bval ? "true" : "false");
		break;
	case VK_STATUS:
		buf_puts(b, status_table[c->status]);
		break;
	}
}

static void format_node(const struct seg_node *n, struct buf *b)
{
	switch (n->kind) {
	case N_AND:
	case N_OR:
		buf_putc(b, '(');
		format_node(n->a, b);
		buf_puts(b, n->kind == N_AND ? " AND " : " OR ");
		format_node(n->b, b);
		buf_putc(b, ')');
		break;
	case N_NOT:
		buf_puts(b, "NOT ");
		if (n->a->kind == N_CMP)
			buf_putc(b, '(');
		format_node(n->a, b);
		if (n->a->kind == N_CMP)
			buf_putc(b, ')');
		break;
	case N_CMP:
		format_cmp(&n->cmp, b);
		break;
	}
}

int segment_format(const struct segment *seg, struct buf *out)
{
	if (!seg || !out)
		return CW_EINVAL;
	struct buf tmp;
	buf_init(&tmp, SQL_MAX);
	format_node(seg->root, &tmp);
	int rc = tmp.len < SQL_MAX ? buf_append(out, tmp.data, tmp.len) : CW_ETOOBIG;
	buf_release(&tmp);
	return rc;
}

/* ---- compiler ------------------------------------------------------------ */

struct emit {
	struct buf b;
	struct segment_sql *out;
	int pg;
	const char *org;
	int64_t now_ms;
	int64_t today; /* days since the epoch, UTC */
	int drive;     /* the top-level AND has a term SQLite can drive from */
	int probe;     /* inside an OR under such an AND: EXISTS probes */
	int rc;
};

static void put(struct emit *e, const char *s)
{
	if (e->rc == 0)
		e->rc = buf_puts(&e->b, s);
}

static void push_arg(struct emit *e, struct store_val v)
{
	struct segment_sql *o = e->out;
	if (o->nargs == o->argcap_) {
		o->argcap_ = o->argcap_ ? o->argcap_ * 2 : 16;
		o->args = xrealloc(o->args, o->argcap_ * sizeof(*o->args));
		o->owned_ = xrealloc(o->owned_, o->argcap_ * sizeof(*o->owned_));
	}
	o->args[o->nargs++] = v;
	if (e->rc == 0) {
		if (e->pg)
			e->rc = buf_printf(&e->b, "$%zu", o->nargs);
		else
			e->rc = buf_putc(&e->b, '?');
	}
}

/* Binds a copy of s and writes its placeholder. */
static void bind_text(struct emit *e, const char *s)
{
	char *copy = xstrdup(s);
	push_arg(e, SV_TEXT(copy)); /* grows owned_ with args */
	e->out->owned_[e->out->nowned_++] = copy;
}

static void bind_int(struct emit *e, int64_t v)
{
	push_arg(e, SV_INT(v));
}

static void bind_real(struct emit *e, double v)
{
	push_arg(e, SV_REAL(v));
}

static void bind_date(struct emit *e, int64_t days)
{
	int y, m, d;
	char s[48];
	civil_from_days(days, &y, &m, &d);
	if (y < 1)
		snprintf(s, sizeof(s), "0001-01-01");
	else if (y > 9999)
		snprintf(s, sizeof(s), "9999-12-31");
	else
		snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
	bind_text(e, s);
}

/* now shifted by the relative time in c, in UTC ms; months and years move
 * the calendar date (clamped to the month's last day), keeping the time of
 * day. */
static int64_t rel_instant(const struct emit *e, const struct seg_cmp *c)
{
	int64_t n = c->rel_sign * c->rel_n;
	switch (c->rel_unit) {
	case U_MIN:
		return e->now_ms + n * 60000;
	case U_HOUR:
		return e->now_ms + n * 3600000;
	case U_DAY:
		return e->now_ms + n * DAY_MS;
	case U_WEEK:
		return e->now_ms + n * 7 * DAY_MS;
	case U_MONTH:
	case U_YEAR:
		break;
	}
	int64_t days = floor_div(e->now_ms, DAY_MS);
	int64_t msod = e->now_ms - days * DAY_MS;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	int64_t months = (int64_t)y * 12 + (m - 1) + n * (c->rel_unit == U_YEAR ? 12 : 1);
	int64_t ny = floor_div(months, 12);
	int nm = (int)(months - ny * 12) + 1;
	if (ny < 1)
		ny = 1;
	if (ny > 9999)
		ny = 9999;
	if (d > days_in_month((int)ny, nm))
		d = days_in_month((int)ny, nm);
	return days_from_civil(ny, nm, d) * DAY_MS + msod;
}

/* The day (since the epoch) a date value stands for. */
static int64_t value_day(const struct emit *e, const struct seg_cmp *c)
{
	if (c->vk == VK_REL)
		return floor_div(rel_instant(e, c), DAY_MS);
	if (c->today)
		return e->today;
	return days_from_civil(c->y, c->m, c->d);
}

/* Writes "col LIKE ? ESCAPE '\'" for a case-insensitive contains of the
 * lower-cased needle, with the column first folded for the needle's
 * non-ASCII letters. */
static void emit_contains(struct emit *e, const char *col, const char *needle)
{
	struct fold_pair pairs[SEGMENT_MAX_FOLD * 2];
	int np = fold_pairs(needle, pairs, SEGMENT_MAX_FOLD);
	if (np < 0)
		np = 0; /* refused by the parser; never here */
	for (int i = 0; i < np; i++)
		put(e, "replace(");
	put(e, col);
	for (int i = 0; i < np; i++) {
		char from[5], to[5];
		int32_t o = 0;
		U8_APPEND_UNSAFE(from, o, pairs[i].from);
		from[o] = '\0';
		o = 0;
		U8_APPEND_UNSAFE(to, o, pairs[i].to);
		to[o] = '\0';
		put(e, ", ");
		bind_text(e, from);
		put(e, ", ");
		bind_text(e, to);
		put(e, ")");
	}
	struct buf pat;
	buf_init(&pat, SEGMENT_MAX_QUERY * 2 + 8);
	buf_putc(&pat, '%');
	for (const char *s = needle; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf_putc(&pat, '\\');
		buf_putc(&pat, *s);
	}
	buf_putc(&pat, '%');
	put(e, e->pg ? " ILIKE " : " LIKE ");
	bind_text(e, pat.data);
	put(e, " ESCAPE '\\'");
	buf_release(&pat);
}

/* Opens a membership test on a per-contact table: on SQLite an IN list
 * driven by the table's (org_id, ...) index, on PostgreSQL an EXISTS that
 * the planner turns into a semi-join. */
static void sub_open(struct emit *e, const char *table, const char *alias)
{
	if (e->pg || e->probe) {
		put(e, "EXISTS (SELECT 1 FROM ");
		put(e, table);
		put(e, " ");
		put(e, alias);
		put(e, " WHERE ");
		put(e, alias);
		put(e, ".contact_id = c.id AND ");
	} else {
		put(e, "c.id IN (SELECT ");
		put(e, alias);
		put(e, ".contact_id FROM ");
		put(e, table);
		put(e, " ");
		put(e, alias);
		put(e, " WHERE ");
		put(e, alias);
		put(e, ".org_id = ");
		bind_text(e, e->org);
		put(e, " AND ");
	}
}

/* "col IS NOT NULL AND " when the comparison sits under an odd number of
 * NOTs, so that a missing value stays false once negated. */
static void guard(struct emit *e, const char *col, int neg)
{
	if (neg) {
		put(e, col);
		put(e, " IS NOT NULL AND ");
	}
}

static void emit_colcmp(struct emit *e, const char *col, const char *op)
{
	put(e, col);
	put(e, " ");
	put(e, op);
	put(e, " ");
}

static void age_bound(struct emit *e, int64_t years)
{
	/* the date years ago, as text; Feb 29 stays Feb 29 (a string that is
	 * not a date but compares right), so that a person born on Feb 29 is a
	 * year older on Mar 1 of a common year */
	int y, m, d;
	char s[48];
	civil_from_days(e->today, &y, &m, &d);
	int64_t by = (int64_t)y - years;
	if (by < 0)
		by = 0;
	snprintf(s, sizeof(s), "%04lld-%02d-%02d", (long long)by, m, d);
	bind_text(e, s);
}

/* A comparison with op never OP_NE (that is handled by the caller). */
static void emit_pos(struct emit *e, const struct seg_cmp *c, enum seg_op op, int neg)
{
	const char *col = c->attr ? c->attr->column : NULL;
	switch (c->type) {
	case AT_TEXT:
	case AT_CODE:
	case AT_PHONE:
		put(e, "(");
		guard(e, col, neg);
		if (op == OP_CONTAINS) {
			emit_contains(e, col, c->text);
		} else {
			emit_colcmp(e, col, "=");
			bind_text(e, c->text);
		}
		put(e, ")");
		break;
	case AT_AGE:
		/* age >= N  <=>  birth_date <= (today - N years) */
		put(e, "(");
		guard(e, col, neg);
		switch (op) {
		case OP_GE:
			emit_colcmp(e, col, "<=");
			age_bound(e, c->age);
			break;
		case OP_GT:
			emit_colcmp(e, col, "<=");
			age_bound(e, c->age + 1);
			break;
		case OP_LT:
			emit_colcmp(e, col, ">");
			age_bound(e, c->age);
			break;
		case OP_LE:
			emit_colcmp(e, col, ">");
			age_bound(e, c->age + 1);
			break;
		default: /* OP_EQ */
			emit_colcmp(e, col, ">");
			age_bound(e, c->age + 1);
			put(e, " AND ");
			emit_colcmp(e, col, "<=");
			age_bound(e, c->age);
			break;
		}
		put(e, ")");
		break;
	case AT_DATE:
		put(e, "(");
		guard(e, col, neg);
		emit_colcmp(e, col, op_sql[op]);
		bind_date(e, value_day(e, c));
		put(e, ")");
		break;
	case AT_TIME:
		put(e, "(");
		guard(e, col, neg);
		if (c->vk == VK_REL) {
			emit_colcmp(e, col, op_sql[op]);
			bind_int(e, rel_instant(e, c));
		} else {
			/* a date is the whole UTC day [d0, d1) */
			int64_t d0 = value_day(e, c) * DAY_MS, d1 = d0 + DAY_MS;
			if (op == OP_EQ) {
				emit_colcmp(e, col, ">=");
				bind_int(e, d0);
				put(e, " AND ");
				emit_colcmp(e, col, "<");
				bind_int(e, d1);
			} else {
				int upper = op == OP_LE || op == OP_GT;
				emit_colcmp(e, col, op == OP_LT || op == OP_LE ? "<" : ">=");
				bind_int(e, upper ? d1 : d0);
			}
		}
		put(e, ")");
		break;
	case AT_TAG:
		sub_open(e, "contact_tags", "t");
		if (op == OP_CONTAINS) {
			emit_contains(e, "t.tag", c->text);
		} else {
			put(e, "t.tag = ");
			bind_text(e, c->text);
		}
		put(e, ")");
		break;
	case AT_CONSENT:
		if (c->status == STATUS_NONE)
			put(e, "NOT ");
		sub_open(e, "consent_current", "k");
		put(e, "k.purpose = ");
		bind_text(e, purpose_table[c->purpose]);
		if (c->status != STATUS_NONE) {
			put(e, " AND k.status = ");
			bind_text(e, status_table[c->status]);
		}
		put(e, ")");
		break;
	case AT_FIELD:
		sub_open(e, "contact_fields", "f");
		put(e, "f.key = ");
		bind_text(e, c->key);
		switch (c->vk) {
		case VK_TEXT:
			put(e, " AND f.type = 'text' AND ");
			if (op == OP_CONTAINS) {
				emit_contains(e, "f.value_text", c->text);
			} else {
				put(e, "f.value_text = ");
				bind_text(e, c->text);
			}
			break;
		case VK_NUM:
			put(e, " AND f.type = 'number' AND ");
			emit_colcmp(e, "f.value_num", op_sql[op]);
			bind_real(e, c->num);
			break;
		case VK_BOOL:
			put(e, " AND f.type = 'bool' AND f.value_text = ");
			bind_text(e, c->bval ? "true" : "false");
			break;
		default: /* VK_DATE, VK_REL */
			put(e, " AND f.type = 'date' AND ");
			emit_colcmp(e, "f.value_text", op_sql[op]);
			bind_date(e, value_day(e, c));
			break;
		}
		put(e, ")");
		break;
	}
}

static void emit_node(struct emit *e, const struct seg_node *n, int neg)
{
	switch (n->kind) {
	case N_AND:
	case N_OR: {
		int was = e->probe;
		if (n->kind == N_OR && e->drive)
			e->probe = 1;
		put(e, "(");
		emit_node(e, n->a, neg);
		put(e, n->kind == N_AND ? " AND " : " OR ");
		emit_node(e, n->b, neg);
		put(e, ")");
		e->probe = was;
		break;
	}
	case N_NOT:
		put(e, "NOT ");
		emit_node(e, n->a, !neg);
		break;
	case N_CMP:
		if (n->cmp.op == OP_NE) {
			put(e, "NOT ");
			emit_pos(e, &n->cmp, OP_EQ, !neg);
		} else {
			emit_pos(e, &n->cmp, n->cmp.op, neg);
		}
		break;
	}
}

/* Whether n, as a conjunct of the top-level AND, gives SQLite a way in
 * that is narrower than the organisation's contacts: a tag, field or
 * consent IN list, or language = v (index contacts_org_language). Then an
 * OR of memberships is better probed per candidate contact (EXISTS on the
 * tables' primary keys) than turned into a MULTI-INDEX OR, which looks up
 * every member of every branch (800,000 look-ups for "fields.visits >= 3").
 * Without such a conjunct the MULTI-INDEX OR is the narrowest way in and
 * stays. */
static int drives(const struct seg_node *n)
{
	if (n->kind == N_AND)
		return drives(n->a) || drives(n->b);
	if (n->kind != N_CMP || n->cmp.op == OP_NE)
		return 0;
	switch (n->cmp.type) {
	case AT_TAG:
	case AT_FIELD:
		return 1;
	case AT_CONSENT:
		return n->cmp.status != STATUS_NONE;
	case AT_CODE:
		return n->cmp.op == OP_EQ && n->cmp.attr &&
		       strcmp(n->cmp.attr->column, "c.language") == 0;
	default:
		return 0;
	}
}

/* Compiles seg into out: out->where always; out->sql as head + where +
 * (after_id) + (limit) when head is not NULL. */
static int compile(const struct segment *seg, const char *dialect, const char *org_id,
		   int64_t now_ms, struct segment_sql *out, const char *head, const char *after_id,
		   int limit)
{
	if (!out)
		return CW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!seg || !dialect || !org_id)
		return CW_EINVAL;
	struct emit e = {.out = out, .org = org_id, .now_ms = now_ms};
	if (strcmp(dialect, "postgres") == 0)
		e.pg = 1;
	else if (strcmp(dialect, "sqlite") != 0)
		return CW_EINVAL;
	e.today = floor_div(now_ms, DAY_MS);
	e.drive = !e.pg && drives(seg->root);
	buf_init(&e.b, SQL_MAX);
	/* reserve owned_ alongside args from the start */
	out->argcap_ = 16;
	out->args = xcalloc(out->argcap_, sizeof(*out->args));
	out->owned_ = xcalloc(out->argcap_, sizeof(*out->owned_));

	/* On SQLite the unary + keeps the planner off the (org_id, ...)
	 * indexes of contacts: without ANALYZE statistics it would walk every
	 * contact of the organisation through one of them (random table
	 * reads) even when a tag or field picks a few; with it, SQLite drives
	 * from the IN lists through the primary key, or scans the table
	 * sequentially. docs/segments.md has the numbers. When the top-level
	 * AND has a narrower way in (drives()), the + goes: SQLite then picks
	 * that IN list or contacts_org_language (org_id, language). */
	put(&e, e.pg || e.drive ? "c.org_id = " : "+c.org_id = ");
	bind_text(&e, org_id);
	put(&e, " AND c.erased_at IS NULL AND ");
	emit_node(&e, seg->root, 0);
	if (e.rc)
		goto fail;
	out->where = xstrdup(e.b.data);
	if (head) {
		buf_reset(&e.b);
		put(&e, head);
		put(&e, out->where);
		if (after_id) {
			put(&e, " AND c.id > ");
			bind_text(&e, after_id);
		}
		if (limit > 0) {
			put(&e, " ORDER BY c.id LIMIT ");
			bind_int(&e, limit);
		}
		if (e.rc)
			goto fail;
		out->sql = xstrdup(e.b.data);
	}
	buf_release(&e.b);
	return 0;
fail:
	buf_release(&e.b);
	segment_sql_release(out);
	return e.rc;
}

int segment_compile(const struct segment *seg, const char *dialect, const char *org_id,
		    int64_t now_ms, struct segment_sql *out)
{
	return compile(seg, dialect, org_id, now_ms, out, NULL, NULL, 0);
}

int segment_count_sql(const struct segment *seg, const char *dialect, const char *org_id,
		      int64_t now_ms, struct segment_sql *out)
{
	return compile(seg, dialect, org_id, now_ms, out, "SELECT count(*) FROM contacts c WHERE ",
		       NULL, 0);
}

int segment_select_ids_sql(const struct segment *seg, const char *dialect, const char *org_id,
			   int64_t now_ms, const char *after_id, int limit, struct segment_sql *out)
{
	if (limit < 1 || limit > 1000000) {
		if (out)
			memset(out, 0, sizeof(*out));
		return CW_EINVAL;
	}
	return compile(seg, dialect, org_id, now_ms, out, "SELECT c.id FROM contacts c WHERE ",
		       after_id, limit);
}

void segment_sql_release(struct segment_sql *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->nowned_; i++)
		free(out->owned_[i]);
	free(out->owned_);
	free(out->args);
	free(out->where);
	free(out->sql);
	memset(out, 0, sizeof(*out));
}
