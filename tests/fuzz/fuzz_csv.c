/*
 * fuzz_csv.c — libFuzzer target for base/csv: any bytes as a CSV file.
 *
 * Besides "never crash, never leak", it checks the reader's promises and
 * aborts when one breaks: only the documented return codes; the limits
 * hold; every field is NUL-terminated at its length; record lines move
 * forward; it ends within one call per input byte (plus the end); and the
 * memory and FILE sources read the same records (the FILE one through
 * fmemopen, across its own read chunks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/err.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_csv: invariant broken: %s\n", what);
		abort();
	}
}

/* Reads everything from c into a transcript of records and errors. */
static void transcript(struct csv *c, size_t size, struct buf *out)
{
	struct csv_record r;
	struct csv_error e;
	long last_line = 0;
	for (size_t calls = 0;; calls++) {
		check(calls <= size + 1, "more calls than input bytes");
		int rc = csv_next(c, &r, &e);
		check(rc == 1 || rc == 0 || rc == CW_EPARSE || rc == CW_ETOOBIG,
		      "an undocumented return code");
		check(csv_offset(c) <= size, "offset past the end");
		if (rc == 0)
			break;
		if (rc < 0) {
			check(e.line > last_line, "an error line did not move forward");
			check(memchr(e.message, '\0', sizeof e.message) != NULL && e.message[0],
			      "an empty or unterminated message");
			last_line = e.line;
			buf_printf(out, "E%ld:%d\n", e.line, rc);
			continue;
		}
		check(r.line > last_line && r.end_line >= r.line, "record lines out of order");
		check(r.nfields >= 1 && r.nfields <= CSV_FIELDS_MAX, "field count out of bounds");
		last_line = r.end_line;
		buf_printf(out, "R%ld-%ld:%zu", r.line, r.end_line, r.nfields);
		for (size_t i = 0; i < r.nfields; i++) {
			check(r.lens[i] <= CSV_FIELD_MAX, "a field over its limit");
			check(r.fields[i][r.lens[i]] == '\0', "a field not NUL-terminated");
			buf_putc(out, '|');
			buf_append(out, r.fields[i], r.lens[i]);
		}
		buf_putc(out, '\n');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	struct csv *c = csv_new_mem((const char *)data, size);
	transcript(c, size, &a);
	csv_free(c);
	if (size > 0) {
		FILE *f = fmemopen((void *)data, size, "rb");
		if (f) {
			c = csv_new_file(f);
			transcript(c, size, &b);
			csv_free(c);
			fclose(f);
			check(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0),
			      "the memory and FILE readers differ");
		}
	}
	buf_release(&a);
	buf_release(&b);
	return 0;
}
