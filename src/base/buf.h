/*
 * buf.h — a growable byte buffer with a hard maximum.
 *
 * Always NUL-terminated so it can be used as a C string. Every buffer has a
 * maximum (BUF_MAX_DEFAULT unless set): appends past it fail with CW_ETOOBIG
 * and leave the buffer as it was, so untrusted input can never grow one
 * without bound.
 *
 *	struct buf b;
 *	buf_init(&b, 4096);
 *	buf_printf(&b, "%d rows", n);
 *	... use b.data, b.len ...
 *	buf_release(&b);
 */
#ifndef CW_BUF_H
#define CW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_MAX_DEFAULT (64u * 1024 * 1024)

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* appends beyond this fail with CW_ETOOBIG */
};

/* Initialises an empty buffer that may grow to max bytes (0: the default). */
void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer may be used again after buf_init(). */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hands the contents to the caller (caller frees with free()); the buffer is
 * left empty. Never returns NULL: an empty buffer gives "". */
char *buf_detach(struct buf *b, size_t *len);

#endif
