/*
 * alloc.h — allocation that never returns NULL.
 *
 * carewire's own allocations go through these; they abort with a message on
 * out-of-memory, since a health messaging server that limps on after OOM is
 * worse than one that restarts. Library allocations are still checked.
 */
#ifndef CW_ALLOC_H
#define CW_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a new copy of s (NULL stays NULL); caller frees with free(). */
char *xstrdup(const char *s);
/* Returns a new NUL-terminated copy of the first n bytes of s. */
char *xstrndup(const char *s, size_t n);

#endif
