/*
 * test_csv.c — unit tests for base/csv: RFC 4180 quoting, BOM, CRLF/LF/CR,
 * blank lines, line numbers, every error and the recovery after it, limits,
 * and the FILE source across its read chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/err.h"
#include "base/banned.h"

/* Reads all of text; writes each record as "L<line>-<end>:f1|f2|..." and
 * each error as "E<line>:<code>" into out, one per line. */
static void dump_all(const char *text, size_t len, struct buf *out)
{
	struct csv *c = csv_new_mem(text, len);
	struct csv_record r;
	struct csv_error e;
	for (int guard = 0; guard < 10000; guard++) {
		int rc = csv_next(c, &r, &e);
		if (rc == 0)
			break;
		if (rc < 0) {
			buf_printf(out, "E%ld:%s\n", e.line, rc == CW_ETOOBIG ? "big" : "parse");
			if (rc == CW_EIO)
				break;
			continue;
		}
		buf_printf(out, "L%ld-%ld:", r.line, r.end_line);
		for (size_t i = 0; i < r.nfields; i++)
			buf_printf(out, "%s%s", i ? "|" : "", r.fields[i]);
		buf_putc(out, '\n');
	}
	csv_free(c);
}

static void expect(const char *text, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	dump_all(text, strlen(text), &b);
	assert_string_equal(b.data ? b.data : "", want);
	buf_release(&b);
}

static void test_plain(void **state)
{
	(void)state;
	expect("phone,name\n0521234567,Noa\n", "L1-1:phone|name\nL2-2:0521234567|Noa\n");
	/* no line break at the end */
	expect("a,b\n1,2", "L1-1:a|b\nL2-2:1|2\n");
	/* empty fields, at the start, middle and end */
	expect(",,\n,x,\n", "L1-1:||\nL2-2:|x|\n");
	/* spaces are data: the reader trims nothing */
	expect(" a , b \n", "L1-1: a | b \n");
	expect("", "");
	expect("\n\n", "");
}

static void test_quoting(void **state)
{
	(void)state;
	/* a quoted comma, a doubled quote, an empty quoted field */
	expect("\"Levi, Noa\",\"say \"\"hi\"\"\",\"\"\n", "L1-1:Levi, Noa|say \"hi\"|\n");
	/* a line break inside quotes: the record spans lines 2-3 and the next
	 * record is on line 4 */
	expect("h1,h2\n\"line one\nline two\",x\ny,z\n",
	       "L1-1:h1|h2\nL2-3:line one\nline two|x\nL4-4:y|z\n");
	/* CRLF inside quotes is given as LF */
	expect("\"a\r\nb\",c\r\n", "L1-2:a\nb|c\n");
	/* a quoted field at the end of input with no line break */
	expect("x,\"y\"", "L1-1:x|y\n");
	/* quotes only open a field at its start */
	expect("\"a\",b\n", "L1-1:a|b\n");
}

static void test_bom_and_line_ends(void **state)
{
	(void)state;
	expect("\xEF\xBB\xBFphone,name\r\n+972521234567,Noa\r\n",
	       "L1-1:phone|name\nL2-2:+972521234567|Noa\n");
	/* CR only (old Mac exports) */
	expect("a,b\r1,2\r", "L1-1:a|b\nL2-2:1|2\n");
	/* a BOM-like start that is not a BOM is data */
	expect("\xEF\xBB,x\n", "L1-1:\xEF\xBB|x\n");
	/* a BOM anywhere but the start is data */
	expect("a\n\xEF\xBB\xBF"
	       "b\n",
	       "L1-1:a\nL2-2:\xEF\xBB\xBF"
	       "b\n");
	/* blank lines are skipped, and counted */
	expect("a\r\n\r\n\nb\n\n", "L1-1:a\nL4-4:b\n");
}

static void test_errors_recover(void **state)
{
	(void)state;
	/* a stray quote in an unquoted field: that line is an error, the next
	 * is read */
	expect("h\nab\"c,d\nx,y\n", "L1-1:h\nE2:parse\nL3-3:x|y\n");
	/* text after the closing quote */
	expect("\"ab\"c,d\r\nx\r\n", "E1:parse\nL2-2:x\n");
	/* an unclosed quote runs to the end: one error, then the end */
	expect("ok\n\"never closed,\nmore\n", "L1-1:ok\nE2:parse\n");
}

static void test_error_message(void **state)
{
	(void)state;
	const char *t = "a\n\"x\"y\n";
	struct csv *c = csv_new_mem(t, strlen(t));
	struct csv_record r;
	struct csv_error e;
	assert_int_equal(csv_next(c, &r, &e), 1);
	assert_int_equal(csv_next(c, &r, &e), CW_EPARSE);
	assert_int_equal(e.line, 2);
	assert_non_null(strstr(e.message, "after the closing quote"));
	assert_int_equal(csv_next(c, &r, &e), 0);
	assert_int_equal(csv_next(c, &r, &e), 0); /* stays at the end */
	csv_free(c);
	assert_int_equal(csv_next(NULL, &r, &e), CW_EINVAL);
	csv_free(NULL);
}

static void test_limits(void **state)
{
	(void)state;
	struct buf b, out;
	buf_init(&b, 0);
	buf_init(&out, 0);
	/* a field one byte over the limit, in quotes with a comma and a line
	 * break inside, then a good record */
	buf_puts(&b, "h\n\"");
	for (unsigned i = 0; i < CSV_FIELD_MAX + 1; i++)
		buf_putc(&b, i == 10 ? ',' : i == 20 ? '\n' : 'x');
	buf_puts(&b, "\"\nok\n");
	dump_all(b.data, b.len, &out);
	assert_string_equal(out.data, "L1-1:h\nE2:big\nL4-4:ok\n");

	/* exactly the limit is fine */
	buf_reset(&b);
	buf_reset(&out);
	for (unsigned i = 0; i < CSV_FIELD_MAX; i++)
		buf_putc(&b, 'y');
	buf_puts(&b, "\n");
	struct csv *c = csv_new_mem(b.data, b.len);
	struct csv_record r;
	assert_int_equal(csv_next(c, &r, NULL), 1);
	assert_int_equal(r.nfields, 1);
	assert_int_equal(r.lens[0], CSV_FIELD_MAX);
	csv_free(c);

	/* too many fields */
	buf_reset(&b);
	for (int i = 0; i < CSV_FIELDS_MAX; i++)
		buf_putc(&b, ',');
	buf_puts(&b, "\nnext\n");
	dump_all(b.data, b.len, &out);
	assert_string_equal(out.data, "E1:big\nL2-2:next\n");

	/* exactly the maximum number of fields */
	buf_reset(&b);
	for (int i = 0; i < CSV_FIELDS_MAX - 1; i++)
		buf_putc(&b, ',');
	c = csv_new_mem(b.data, b.len);
	assert_int_equal(csv_next(c, &r, NULL), 1);
	assert_int_equal(r.nfields, CSV_FIELDS_MAX);
	csv_free(c);
	buf_release(&b);
	buf_release(&out);
}

static void test_nul_byte_and_lengths(void **state)
{
	(void)state;
	static const char t[] = "a\0b,c\n";
	struct csv *c = csv_new_mem(t, sizeof t - 1);
	struct csv_record r;
	assert_int_equal(csv_next(c, &r, NULL), 1);
	assert_int_equal(r.nfields, 2);
	assert_int_equal(r.lens[0], 3); /* the caller can see the NUL */
	assert_int_equal(r.lens[1], 1);
	csv_free(c);
}

/* The FILE source: a file larger than the reader's chunk, with a CRLF and a
 * quoted field falling across chunk boundaries. */
static void test_file_source(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	fputs("\xEF\xBB\xBFphone,note\r\n", f);
	long rows = 0;
	while (ftell(f) < 300 * 1024) {
		fprintf(f, "+9725212%05ld,\"n, %ld\r\nsecond \"\"line\"\"\"\r\n", rows % 100000,
			rows);
		rows++;
	}
	long size = ftell(f);
	rewind(f);
	struct csv *c = csv_new_file(f);
	struct csv_record r;
	struct csv_error e;
	assert_int_equal(csv_next(c, &r, &e), 1);
	assert_string_equal(r.fields[0], "phone");
	for (long i = 0; i < rows; i++) {
		assert_int_equal(csv_next(c, &r, &e), 1);
		assert_int_equal(r.nfields, 2);
		char want[64];
		snprintf(want, sizeof want, "n, %ld\nsecond \"line\"", i);
		assert_string_equal(r.fields[1], want);
		assert_int_equal(r.line, 2 + 2 * i);
		assert_int_equal(r.end_line, 3 + 2 * i);
	}
	assert_int_equal(csv_next(c, &r, &e), 0);
	assert_int_equal((long)csv_offset(c), size);
	csv_free(c);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_bom_and_line_ends),
	    cmocka_unit_test(test_errors_recover),
	    cmocka_unit_test(test_error_message),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_nul_byte_and_lengths),
	    cmocka_unit_test(test_file_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
