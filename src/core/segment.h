/*
 * segment.h — the segment query language: who, among an organisation's
 * contacts, a campaign, a journey or a preview is about.
 *
 *	audience = "recovered patient" AND fields.radiation = completed
 *	    AND consent.marketing = granted
 *
 * A query is parsed once (segment_parse: lexer, parser to an AST, semantic
 * checks) and compiled as often as needed (segment_compile), because
 * relative times ("-30d") and ages are resolved against the now_ms given at
 * compile time. The compiler writes SQL for the store's two backends with
 * every value bound — no text of the query ever reaches the SQL — and hands
 * out the statement text with its bound values (struct store_val from
 * store/store.h). It lives in core and runs no query itself: the caller
 * hands the statement to the store.
 *
 * The language is documented in docs/segments.md.
 *
 *	struct segment *seg;
 *	struct segment_error e;
 *	if (segment_parse(q, &seg, &e))
 *		reply 400, e.message ("col 14: unknown field ...");
 *	struct segment_sql s;
 *	if (segment_count_sql(seg, "sqlite", org, time_now_ms(), &s) == 0)
 *		run s.sql with s.args / s.nargs;
 *	segment_sql_release(&s);
 *	segment_free(seg);
 */
#ifndef CW_CORE_SEGMENT_H
#define CW_CORE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/store.h"

/* Limits: a longer or bigger query is refused with an error. */
#define SEGMENT_MAX_QUERY 4096 /* bytes */
#define SEGMENT_MAX_DEPTH 32   /* nesting of parentheses and NOT */
#define SEGMENT_MAX_TERMS 64   /* comparisons in one query */
#define SEGMENT_MAX_KEY	  64   /* bytes of a fields.<key> */
#define SEGMENT_MAX_FOLD  48   /* distinct non-ASCII cased letters in a ~ value */

/* A parse error. col is the 1-based column, in Unicode code points, of the
 * offending token (the length + 1 for "the end of the query"); message
 * always starts with "col N: ". */
struct segment_error {
	int col;
	char message[200];
};

/* A parsed, checked query (opaque). */
struct segment;

/* Parses and checks query. Returns 0 and a new segment in *out (caller frees
 * with segment_free()), or CW_EPARSE with *err filled in (err may be NULL)
 * and *out set to NULL. CW_EINVAL when query or out is NULL. */
int segment_parse(const char *query, struct segment **out, struct segment_error *err);

/* Frees a segment. Accepts NULL. */
void segment_free(struct segment *seg);

/* Appends the canonical form of seg to out: every AND, OR and NOT
 * parenthesised as parsed, values normalised ("age >= 40",
 * "(tag = \"vip\" OR NOT (language = \"he\"))"). Parsing the canonical form
 * gives the same segment. Returns 0 or CW_ETOOBIG. */
int segment_format(const struct segment *seg, struct buf *out);

/* Compiled SQL with its bound values. Everything is owned by the struct and
 * freed by segment_sql_release(). */
struct segment_sql {
	/* "+c.org_id = ? AND c.erased_at IS NULL AND (...)" ("c.org_id = $1
	 * ..." on postgres): a WHERE condition over "contacts c". */
	char *where;
	/* A whole statement (segment_count_sql, segment_select_ids_sql);
	 * NULL after segment_compile. */
	char *sql;
	/* The bound values, in placeholder order; text copies are owned. */
	struct store_val *args;
	size_t nargs;
	/* private */
	char **owned_;
	size_t nowned_;
	size_t argcap_;
};

/* Compiles seg for dialect "sqlite" (placeholders "?") or "postgres"
 * ("$1", "$2", ...), for the contacts of org_id, resolving relative times
 * and ages against now_ms (UTC ms). Fills out->where, out->args and
 * out->nargs; out needs no initialisation and must be released with
 * segment_sql_release() whatever this returns. Returns 0, CW_EINVAL (NULL
 * argument, unknown dialect) or CW_ETOOBIG. */
int segment_compile(const struct segment *seg, const char *dialect, const char *org_id,
		    int64_t now_ms, struct segment_sql *out);

/* As segment_compile, and out->sql is
 * "SELECT count(*) FROM contacts c WHERE <where>". */
int segment_count_sql(const struct segment *seg, const char *dialect, const char *org_id,
		      int64_t now_ms, struct segment_sql *out);

/* As segment_compile, and out->sql is "SELECT c.id FROM contacts c WHERE
 * <where> [AND c.id > after_id] ORDER BY c.id LIMIT limit": the first limit
 * ids in id order, after after_id when it is not NULL (keyset paging through
 * a large segment). limit must be 1..1,000,000 (CW_EINVAL otherwise). */
int segment_select_ids_sql(const struct segment *seg, const char *dialect, const char *org_id,
			   int64_t now_ms, const char *after_id, int limit,
			   struct segment_sql *out);

/* Frees everything out holds and leaves it empty. Accepts NULL. */
void segment_sql_release(struct segment_sql *out);

#endif
