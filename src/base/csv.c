/*
 * csv.c — the RFC 4180 reader (see csv.h).
 *
 * One pass over the bytes, one byte at a time, through a state machine:
 *
 *   START      at the start of a field: '"' opens a quoted field, ',' ends
 *              an empty one, a line break ends the record
 *   UNQUOTED   inside a plain field; a '"' here is an error
 *   QUOTED     inside quotes: anything goes; "" is one quote
 *   AFTER      just after the closing quote: only ',' or a line break
 *   SKIP       after a structural error: drop bytes up to the line break
 *
 * A record's fields are appended, each followed by a NUL, to one bounded
 * buffer, with their offsets on the side; the pointers handed out are made
 * only when the record is complete (the buffer may move while it grows).
 * Limits are enforced as bytes arrive; a record over a limit is read to its
 * real end (quotes respected) without being kept, then reported.
 */
#include "base/csv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/banned.h"

#define CSV_FILE_CHUNK (64u * 1024)
#define CSV_EOF	       (-1)
#define CSV_PUSHBACK   4

enum csv_state { S_START, S_UNQUOTED, S_QUOTED, S_AFTER, S_SKIP };

struct csv {
	/* the source: memory or a FILE */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	FILE *f;
	unsigned char *chunk;
	size_t chunk_len, chunk_pos;
	int push[CSV_PUSHBACK];
	int npush;
	int at_eof;
	int io_error;

	uint64_t offset;
	long line; /* current physical line, 1-based */
	int bom_checked;

	/* the record being built */
	struct buf data;
	size_t offs[CSV_FIELDS_MAX];
	size_t lens[CSV_FIELDS_MAX];
	const char *ptrs[CSV_FIELDS_MAX];
	size_t nfields;
	size_t field_start;
	int discard; /* over a limit: read on, keep nothing */
	int pending; /* the error to report at the record's end (0: none) */
	char pending_msg[160];
};

/* ---- the byte source ---- */

static int src_get(struct csv *c)
{
	int ch;
	if (c->npush > 0) {
		ch = c->push[--c->npush];
	} else if (c->mem) {
		if (c->mem_pos >= c->mem_len)
			return CSV_EOF;
		ch = c->mem[c->mem_pos++];
	} else {
		if (c->chunk_pos >= c->chunk_len) {
			if (c->at_eof || !c->f)
				return CSV_EOF;
			c->chunk_len = fread(c->chunk, 1, CSV_FILE_CHUNK, c->f);
			c->chunk_pos = 0;
			if (c->chunk_len == 0) {
				c->at_eof = 1;
				if (ferror(c->f))
					c->io_error = 1;
				return CSV_EOF;
			}
		}
		ch = c->chunk[c->chunk_pos++];
	}
	c->offset++;
	return ch;
}

static void src_unget(struct csv *c, int ch)
{
	if (ch == CSV_EOF || c->npush == CSV_PUSHBACK)
		return;
	c->push[c->npush++] = ch;
	c->offset--;
}

/* After a '\r': swallows the '\n' of a CRLF. */
static void eat_lf(struct csv *c)
{
	int n = src_get(c);
	if (n != '\n')
		src_unget(c, n);
}

/* ---- building a record ---- */

static void fail_record(struct csv *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_record(struct csv *c, int code, const char *fmt, ...)
{
	if (c->pending)
		return; /* the first problem is the one reported */
	c->pending = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->pending_msg, sizeof c->pending_msg, fmt, ap);
	va_end(ap);
	c->discard = 1;
}

static void field_begin(struct csv *c)
{
	c->field_start = c->data.len;
}

static void field_byte(struct csv *c, int ch)
{
	if (c->discard)
		return;
	if (c->data.len - c->field_start >= CSV_FIELD_MAX) {
		fail_record(c, CW_ETOOBIG, "field %zu is longer than %u bytes", c->nfields + 1,
			    CSV_FIELD_MAX);
		return;
	}
	char b = (char)ch;
	if (buf_append(&c->data, &b, 1) != 0)
		fail_record(c, CW_ETOOBIG, "the record is longer than %u bytes", CSV_RECORD_MAX);
}

static void field_end(struct csv *c)
{
	if (c->discard)
		return;
	if (c->nfields == CSV_FIELDS_MAX) {
		fail_record(c, CW_ETOOBIG, "more than %d fields", CSV_FIELDS_MAX);
		return;
	}
	size_t n = c->data.len - c->field_start;
	char nul = '\0';
	if (buf_append(&c->data, &nul, 1) != 0) {
		fail_record(c, CW_ETOOBIG, "the record is longer than %u bytes", CSV_RECORD_MAX);
		return;
	}
	c->offs[c->nfields] = c->field_start;
	c->lens[c->nfields] = n;
	c->nfields++;
}

/* ---- the reader ---- */

static struct csv *csv_alloc(void)
{
	struct csv *c = xcalloc(1, sizeof *c);
	c->line = 1;
	/* every field byte plus one NUL per field */
	buf_init(&c->data, CSV_RECORD_MAX + CSV_FIELDS_MAX);
	return c;
}

struct csv *csv_new_mem(const char *data, size_t len)
{
	struct csv *c = csv_alloc();
	c->mem = (const unsigned char *)(data ? data : "");
	c->mem_len = data ? len : 0;
	return c;
}

struct csv *csv_new_file(FILE *f)
{
	struct csv *c = csv_alloc();
	c->f = f;
	c->chunk = xmalloc(CSV_FILE_CHUNK);
	return c;
}

void csv_free(struct csv *c)
{
	if (!c)
		return;
	buf_release(&c->data);
	free(c->chunk);
	free(c);
}

uint64_t csv_offset(const struct csv *c)
{
	return c->offset;
}

/* Skips a UTF-8 byte order mark at the very start of the input. */
static void skip_bom(struct csv *c)
{
	static const int bom[3] = {0xEF, 0xBB, 0xBF};
	int got[3];
	int n = 0;
	c->bom_checked = 1;
	while (n < 3) {
		got[n] = src_get(c);
		if (got[n] != bom[n]) {
			n++;
			break;
		}
		n++;
	}
	if (n == 3 && got[2] == bom[2])
		return;
	while (n > 0)
		src_unget(c, got[--n]);
}

/* Skips empty lines before a record. Returns 0, or 1 at the end of input. */
static int skip_blank_lines(struct csv *c)
{
	for (;;) {
		int ch = src_get(c);
		if (ch == CSV_EOF)
			return 1;
		if (ch == '\r') {
			eat_lf(c);
			c->line++;
		} else if (ch == '\n') {
			c->line++;
		} else {
			src_unget(c, ch);
			return 0;
		}
	}
}

int csv_next(struct csv *c, struct csv_record *rec, struct csv_error *err)
{
	if (!c || !rec)
		return CW_EINVAL;
	if (c->io_error)
		return CW_EIO;
	if (!c->bom_checked)
		skip_bom(c);
	buf_reset(&c->data);
	c->nfields = 0;
	c->discard = 0;
	c->pending = 0;
	c->pending_msg[0] = '\0';

	if (skip_blank_lines(c))
		return c->io_error ? CW_EIO : 0;
	long start_line = c->line;
	long end_line = start_line;
	enum csv_state s = S_START;
	int done = 0;

	field_begin(c);
	while (!done) {
		int ch = src_get(c);
		switch (s) {
		case S_START:
		case S_UNQUOTED:
			if (ch == ',') {
				field_end(c);
				field_begin(c);
				s = S_START;
			} else if (ch == '\r' || ch == '\n' || ch == CSV_EOF) {
				field_end(c);
				done = 1;
			} else if (ch == '"' && s == S_START) {
				s = S_QUOTED;
			} else if (ch == '"') {
				fail_record(
				    c, CW_EPARSE,
				    "a quote inside an unquoted field (quote the whole field "
				    "and double the quotes in it)");
				s = S_SKIP;
			} else {
				field_byte(c, ch);
				s = S_UNQUOTED;
			}
			break;
		case S_QUOTED:
			if (ch == '"') {
				int n = src_get(c);
				if (n == '"') {
					field_byte(c, '"');
				} else {
					src_unget(c, n);
					s = S_AFTER;
				}
			} else if (ch == CSV_EOF) {
				fail_record(c, CW_EPARSE, "a quoted field is never closed");
				done = 1;
			} else if (ch == '\r' || ch == '\n') {
				if (ch == '\r')
					eat_lf(c);
				c->line++;
				field_byte(c, '\n');
			} else {
				field_byte(c, ch);
			}
			break;
		case S_AFTER:
			if (ch == ',') {
				field_end(c);
				field_begin(c);
				s = S_START;
			} else if (ch == '\r' || ch == '\n' || ch == CSV_EOF) {
				field_end(c);
				done = 1;
			} else {
				fail_record(c, CW_EPARSE,
					    "text after the closing quote of field %zu",
					    c->nfields + 1);
				s = S_SKIP;
			}
			break;
		case S_SKIP:
			if (ch == '\r' || ch == '\n' || ch == CSV_EOF)
				done = 1;
			break;
		}
		if (done) {
			end_line = c->line;
			if (ch == '\r')
				eat_lf(c);
			if (ch != CSV_EOF)
				c->line++;
		}
	}
	if (c->io_error)
		return CW_EIO;
	if (c->pending) {
		if (err) {
			err->line = start_line;
			snprintf(err->message, sizeof err->message, "%s", c->pending_msg);
		}
		return c->pending;
	}
	for (size_t i = 0; i < c->nfields; i++)
		c->ptrs[i] = c->data.data ? c->data.data + c->offs[i] : "";
	rec->nfields = c->nfields;
	rec->fields = c->ptrs;
	rec->lens = c->lens;
	rec->line = start_line;
	rec->end_line = end_line;
	return 1;
}
