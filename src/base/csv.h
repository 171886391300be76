/*
 * csv.h — a reader of comma-separated values as RFC 4180 writes them, and
 * as spreadsheets export them: fields in double quotes may hold commas,
 * doubled quotes ("") and line breaks; lines end in CRLF, LF or CR; a UTF-8
 * byte order mark at the very start is skipped.
 *
 * The reader is a small state machine over bytes from memory or a FILE,
 * with every size bounded (CSV_FIELD_MAX, CSV_FIELDS_MAX, CSV_RECORD_MAX).
 * It reports a malformed record with the line it starts on and recovers at
 * the next line, so an importer can report "line 7: ..." and go on with
 * line 8. It knows nothing of what the columns mean, and does not check
 * UTF-8 (the caller does, per field, where it matters).
 *
 *	struct csv *c = csv_new_mem(text, len);
 *	struct csv_record r;
 *	struct csv_error e;
 *	for (;;) {
 *		int rc = csv_next(c, &r, &e);
 *		if (rc == 0 || rc == CW_EIO)
 *			break;
 *		if (rc < 0) {
 *			report e.line, e.message;
 *			continue;
 *		}
 *		use r.fields[0 .. r.nfields);
 *	}
 *	csv_free(c);
 *
 * Base layer: includes nothing above base.
 */
#ifndef CW_CSV_H
#define CW_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CSV_FIELD_MAX  (64u * 1024)   /* bytes of one field */
#define CSV_FIELDS_MAX 512	      /* fields of one record */
#define CSV_RECORD_MAX (1024u * 1024) /* bytes of one record (all its fields) */

struct csv;

/* One record, borrowed: valid until the next csv_next() or csv_free().
 * fields[i] is NUL-terminated and lens[i] bytes long (a field can hold a
 * NUL byte only if the input did; lens tells). A quoted field's CRLF line
 * breaks are given as LF. */
struct csv_record {
	size_t nfields;
	const char *const *fields;
	const size_t *lens;
	long line;     /* the physical line (1-based) the record starts on */
	long end_line; /* the line it ends on (> line when a quoted field spans lines) */
};

/* A malformed record: the line it starts on and a sentence without any of
 * the field's content (it may be logged). */
struct csv_error {
	long line;
	char message[160];
};

/* Returns a new reader over len bytes at data (borrowed; must outlive the
 * reader). Caller frees with csv_free(). */
struct csv *csv_new_mem(const char *data, size_t len);
/* Returns a new reader over f (borrowed; read sequentially, never closed
 * by the reader). Caller frees with csv_free(). */
struct csv *csv_new_file(FILE *f);
/* Frees the reader. Accepts NULL. */
void csv_free(struct csv *c);

/* Reads the next record. Returns 1 with *rec filled; 0 at the end of the
 * input; CW_EPARSE with *err filled (err may be NULL) for a malformed
 * record, after which the reader stands at the start of the next line so
 * that reading can go on (an unclosed quote runs to the end of the input,
 * so the next call returns 0); CW_ETOOBIG for a field, record or field
 * count over its limit (also recovered from at the next line); CW_EIO for
 * a read error (final). Lines with nothing on them are skipped: they are
 * not records. */
int csv_next(struct csv *c, struct csv_record *rec, struct csv_error *err);

/* Bytes consumed so far (for a progress bar). */
uint64_t csv_offset(const struct csv *c);

#endif
