/*
 * audit.c — the hash-chained audit log (see audit.h).
 *
 * The canonical form of an entry, the input of its hash, is
 *
 *	prev_hash "\n" "cw-audit-1" "\n" F(seq) F(org_id) F(at) F(actor) F(action)
 *	F(subject) F(purpose) F(outcome) F(detail)
 *
 * where F(x) is "<byte length>:<bytes>;" for a value (numbers in decimal)
 * and "-;" for NULL. Length prefixes make the form unambiguous whatever the
 * values hold (a ';' or a newline inside a value cannot shift a boundary),
 * and NULL differs from "". The first entry's prev_hash is 64 zeros.
 *
 * Appending: audit.last (newest seq and hash) is read on the writer
 * connection inside the caller's transaction, the entry gets seq + 1, and
 * audit.insert and audit.head_set follow in that same transaction.
 */
#include "core/audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/sec.h"
#include "base/time.h"
#include "base/banned.h"

#define AUDIT_GENESIS	  "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_FORM	  "cw-audit-1"
#define AUDIT_VERIFY_PAGE 5000
#define AUDIT_CANON_MAX	  (16u * 1024)

/* ---- the canonical form and the hash ---- */

static void canon_text(struct buf *b, const char *s)
{
	if (!s)
		buf_puts(b, "-;");
	else
		buf_printf(b, "%zu:%s;", strlen(s), s);
}

static void canon_int(struct buf *b, int64_t v)
{
	char n[32];
	snprintf(n, sizeof n, "%" PRId64, v);
	canon_text(b, n);
}

void audit_hash(const char *prev_hash, const struct audit_row *r, char out[AUDIT_HASH_HEX])
{
	struct buf b;
	buf_init(&b, AUDIT_CANON_MAX);
	buf_printf(&b, "%s\n" AUDIT_FORM "\n", prev_hash ? prev_hash : "");
	canon_int(&b, r->seq);
	canon_text(&b, r->org_id);
	canon_int(&b, r->at);
	canon_text(&b, r->actor);
	canon_text(&b, r->action);
	canon_text(&b, r->subject);
	canon_text(&b, r->purpose);
	canon_text(&b, r->outcome);
	canon_text(&b, r->detail);
	sec_sha256_hex(b.data ? b.data : "", b.len, out);
	buf_release(&b);
}

/* ---- appending ---- */

char *audit_actor_apikey(const char *key_id, char out[AUDIT_ACTOR_MAX])
{
	snprintf(out, AUDIT_ACTOR_MAX, "apikey:%s", key_id ? key_id : "");
	return out;
}

static int field_ok(const char *s, int required, size_t max)
{
	if (!s)
		return !required;
	size_t n = strlen(s);
	return (!required || n > 0) && n <= max;
}

static int entry_ok(const struct audit_entry *e)
{
	return e && field_ok(e->actor, 1, AUDIT_NAME_MAX) &&
	       field_ok(e->action, 1, AUDIT_NAME_MAX) && field_ok(e->outcome, 1, AUDIT_NAME_MAX) &&
	       field_ok(e->org_id, 0, AUDIT_NAME_MAX) && field_ok(e->subject, 0, AUDIT_NAME_MAX) &&
	       field_ok(e->purpose, 0, AUDIT_NAME_MAX) && field_ok(e->detail, 0, AUDIT_DETAIL_MAX);
}

struct last_row {
	int found;
	int64_t seq;
	char hash[AUDIT_HASH_HEX];
};

static int last_cb(void *ud, const struct store_row *row)
{
	struct last_row *l = ud;
	const char *h = store_row_text(row, 1);
	l->found = 1;
	l->seq = store_row_int(row, 0);
	snprintf(l->hash, sizeof l->hash, "%s", h ? h : "");
	return 1;
}

int audit_record_tx(struct store_tx *tx, const struct audit_entry *e)
{
	if (!tx || !entry_ok(e))
		return CW_EINVAL;
	struct last_row last = {0, 0, AUDIT_GENESIS};
	int rc = store_tx_query(tx, "audit.last", NULL, 0, last_cb, &last);
	if (rc < 0)
		return rc;
	struct audit_row r = {
	    .seq = last.seq + 1,
	    .org_id = e->org_id ? e->org_id : "",
	    .at = e->at ? e->at : time_now_ms(),
	    .actor = e->actor,
	    .action = e->action,
	    .subject = e->subject,
	    .purpose = e->purpose,
	    .outcome = e->outcome,
	    .detail = e->detail,
	};
	char hash[AUDIT_HASH_HEX];
	audit_hash(last.hash, &r, hash);
	struct store_val a[] = {SV_INT(r.seq),	    SV_TEXT(r.org_id),	SV_INT(r.at),
				SV_TEXT(r.actor),   SV_TEXT(r.action),	SV_TEXT(r.subject),
				SV_TEXT(r.purpose), SV_TEXT(r.outcome), SV_TEXT(r.detail),
				SV_TEXT(last.hash), SV_TEXT(hash)};
	rc = store_tx_exec(tx, "audit.insert", a, sizeof a / sizeof a[0], NULL);
	if (rc)
		return rc;
	struct store_val h[] = {SV_INT(r.seq), SV_TEXT(hash)};
	return store_tx_exec(tx, "audit.head_set", h, 2, NULL);
}

static int record_fn(struct store_tx *tx, void *ud)
{
	return audit_record_tx(tx, ud);
}

int audit_record(struct store *st, const struct audit_entry *e)
{
	if (!st || !entry_ok(e))
		return CW_EINVAL;
	/* store_tx takes a non-const pointer; record_fn only reads it */
	return store_tx(st, record_fn, (void *)e);
}

/* ---- reading ---- */

static void row_read(const struct store_row *row, struct audit_row *r)
{
	r->seq = store_row_int(row, 0);
	r->org_id = store_row_text(row, 1);
	r->at = store_row_int(row, 2);
	r->actor = store_row_text(row, 3);
	r->action = store_row_text(row, 4);
	r->subject = store_row_text(row, 5);
	r->purpose = store_row_text(row, 6);
	r->outcome = store_row_text(row, 7);
	r->detail = store_row_text(row, 8);
	r->prev_hash = store_row_text(row, 9);
	r->hash = store_row_text(row, 10);
}

struct list_ctx {
	audit_row_fn fn;
	void *ud;
};

static int list_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *c = ud;
	struct audit_row r;
	row_read(row, &r);
	return c->fn(c->ud, &r);
}

int audit_list(struct store *st, const char *org_id, const char *subject, int64_t after_seq,
	       int limit, audit_row_fn fn, void *ud)
{
	if (!st || !org_id || !fn || limit < 1 || limit > AUDIT_LIST_MAX)
		return CW_EINVAL;
	struct list_ctx c = {fn, ud};
	if (subject) {
		struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(subject), SV_INT(after_seq),
					SV_INT(limit)};
		return store_query(st, "audit.by_subject", a, 4, list_cb, &c);
	}
	struct store_val a[] = {SV_TEXT(org_id), SV_INT(after_seq), SV_INT(limit)};
	return store_query(st, "audit.by_org", a, 3, list_cb, &c);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *audit_row_json(const struct audit_row *r)
{
	char at[TIME_ISO_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer(r->seq));
	json_object_set_new(o, "at", json_string(time_format_iso(r->at, at)));
	json_object_set_new(o, "actor", str_or_null(r->actor));
	json_object_set_new(o, "action", str_or_null(r->action));
	json_object_set_new(o, "subject", str_or_null(r->subject));
	json_object_set_new(o, "purpose", str_or_null(r->purpose));
	json_object_set_new(o, "outcome", str_or_null(r->outcome));
	json_object_set_new(o, "detail", str_or_null(r->detail));
	json_object_set_new(o, "hash", str_or_null(r->hash));
	return o;
}

/* ---- verification ---- */

struct verify_ctx {
	struct audit_verify *out;
	int64_t last_seq;
	char last_hash[AUDIT_HASH_HEX];
	int64_t page_rows;
	int bad;
};

__attribute__((format(printf, 3, 4))) static int verify_fail(struct verify_ctx *v, int64_t seq,
							     const char *fmt, ...)
{
	va_list ap;
	v->bad = 1;
	v->out->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->out->problem, sizeof v->out->problem, fmt, ap);
	va_end(ap);
	return 1; /* stop the scan */
}

static int verify_cb(void *ud, const struct store_row *row)
{
	struct verify_ctx *v = ud;
	struct audit_row r;
	row_read(row, &r);
	v->page_rows++;
	int64_t want = v->last_seq + 1;
	if (r.seq != want)
		return verify_fail(v, want,
				   "entry %" PRId64 " is missing (deleted): the next stored entry "
				   "is %" PRId64,
				   want, r.seq);
	if (!r.prev_hash || strcmp(r.prev_hash, v->last_hash) != 0)
		return verify_fail(v, r.seq,
				   "entry %" PRId64 " does not follow entry %" PRId64
				   " (its prev_hash differs: an earlier entry was changed)",
				   r.seq, v->last_seq);
	char h[AUDIT_HASH_HEX];
	audit_hash(v->last_hash, &r, h);
	if (!r.hash || strcmp(h, r.hash) != 0)
		return verify_fail(
		    v, r.seq, "entry %" PRId64 " does not match its hash (it was edited)", r.seq);
	v->last_seq = r.seq;
	snprintf(v->last_hash, sizeof v->last_hash, "%s", r.hash);
	v->out->entries++;
	return 0;
}

static int verify_scan(struct store *st, struct verify_ctx *v)
{
	for (;;) {
		v->page_rows = 0;
		struct store_val a[] = {SV_INT(v->last_seq), SV_INT(AUDIT_VERIFY_PAGE)};
		int rc = store_query(st, "audit.scan", a, 2, verify_cb, v);
		if (rc < 0)
			return rc;
		if (v->bad || v->page_rows < AUDIT_VERIFY_PAGE)
			return 0;
	}
}

int audit_verify(struct store *st, struct audit_verify *out)
{
	if (!st || !out)
		return CW_EINVAL;
	memset(out, 0, sizeof *out);
	struct verify_ctx v = {.out = out, .last_seq = 0, .last_hash = AUDIT_GENESIS};
	int rc = verify_scan(st, &v);
	if (rc < 0)
		return rc;
	/* The head is read after the scan; entries appended meanwhile are
	 * scanned too before the head is judged. */
	for (int round = 0; !v.bad; round++) {
		struct last_row head = {0, 0, ""};
		rc = store_query(st, "audit.head_get", NULL, 0, last_cb, &head);
		if (rc < 0)
			return rc;
		if (!head.found) {
			if (v.last_seq > 0)
				verify_fail(&v, v.last_seq,
					    "the head record is missing (%" PRId64
					    " entries stored)",
					    v.last_seq);
			break;
		}
		if (head.seq == v.last_seq) {
			if (strcmp(head.hash, v.last_hash) != 0)
				verify_fail(&v, v.last_seq,
					    "entry %" PRId64 " is not the entry the head record "
					    "names (the end of the log was rewritten)",
					    v.last_seq);
			break;
		}
		if (head.seq < v.last_seq) {
			verify_fail(&v, head.seq + 1,
				    "entries after %" PRId64 " were added without the head record",
				    head.seq);
			break;
		}
		int64_t before = v.last_seq;
		rc = verify_scan(st, &v);
		if (rc < 0)
			return rc;
		if (!v.bad && v.last_seq == before) {
			verify_fail(&v, v.last_seq + 1,
				    "entries %" PRId64 " to %" PRId64
				    " are missing (deleted from the "
				    "end of the log)",
				    v.last_seq + 1, head.seq);
			break;
		}
		if (round > 1000)
			break; /* appends outpace the check: report what was checked */
	}
	snprintf(out->head, sizeof out->head, "%s", v.last_seq ? v.last_hash : "");
	return v.bad ? CW_EINVAL : 0;
}
