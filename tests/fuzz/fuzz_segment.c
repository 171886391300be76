/*
 * fuzz_segment.c — libFuzzer target for the segment query language: any input
 * either parses, compiles in both dialects and formats back to itself, or is
 * refused with a "col N:" message. Never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "core/segment.h"
#include "base/banned.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1);
	memcpy(q, data, size);
	q[size] = 0;
	struct segment *seg = NULL;
	struct segment_error e;
	if (segment_parse(q, &seg, &e) == 0) {
		struct segment_sql s;
		segment_select_ids_sql(seg, "sqlite", "o1", 1773576000000LL, "x", 10, &s);
		segment_sql_release(&s);
		segment_count_sql(seg, "postgres", "o1", 1773576000000LL, &s);
		segment_sql_release(&s);
		struct buf b; buf_init(&b, 0); segment_format(seg, &b);
		struct segment *again = NULL;
		if (segment_parse(b.data, &again, &e) != 0) { __builtin_trap(); }
		struct buf b2; buf_init(&b2, 0); segment_format(again, &b2);
		if (strcmp(b.data, b2.data) != 0) __builtin_trap();
		buf_release(&b); buf_release(&b2);
		segment_free(again);
		segment_free(seg);
	} else {
		if (strncmp(e.message, "col ", 4) != 0) __builtin_trap();
	}
	free(q);
	return 0;
}
