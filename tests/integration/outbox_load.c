/*
 * outbox_load.c — a producer for the dispatch integration tests and
 * benchmarks: queues COUNT template messages into a carewire database with
 * outbox_enqueue_tx(), as any producer would, 1,000 per transaction.
 *
 *	outbox_load [--clone] STORE_URL ORG_ID NUMBER_ID COUNT PRIORITY PURPOSE
 *	            TEMPLATE FIRST_USER USERS KEY_PREFIX
 *
 * Message i goes to the simulated user "97250" + 7 digits of
 * FIRST_USER + (i mod USERS), with the idempotency key KEY_PREFIX:i, so
 * running it twice queues nothing new. It may run while `carewire serve`
 * uses the same database (SQLite WAL). Prints the number of new messages
 * and, with one message, its id.
 *
 * --clone (sqlite: only) queues message 0 with outbox_enqueue_tx() and makes
 * messages 1.. as copies of its outbox and messages rows inside SQLite:
 * every column as the producer wrote it (read from the schema, so a new
 * column is copied too), except the id, the idempotency key, and "to" and
 * biz_opaque_callback_data in the body. The rows are the ones the producer
 * would have written; only the producer's per-row work (JSON, validation,
 * two prepared inserts) is skipped, which for 100,000 messages took most of
 * a minute in the AddressSanitizer build. Ids are message 0's first 16
 * characters followed by i in 10 decimal digits (valid ids, unique).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "core/outbox.h"
#include "store/store.h"
#include "base/banned.h"

#define CHUNK		1000
#define CLONE_CHUNK	20000
#define CLONE_ID_PREFIX 16 /* characters of message 0's id; 10 digits follow */

struct batch {
	const char *org, *number, *purpose, *tpl, *prefix;
	long from, to, first_user, users;
	int prio;
	long added;
	char last_id[ID_SIZE];
};

static int batch_fn(struct store_tx *tx, void *ud)
{
	struct batch *b = ud;
	for (long i = b->from; i < b->to; i++) {
		char to[24], key[OUTBOX_IDEM_MAX];
		snprintf(to, sizeof to, "97250%07ld", b->first_user + i % b->users);
		snprintf(key, sizeof key, "%s:%ld", b->prefix, i);
		json_t *body =
		    json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}", "messaging_product",
			      "whatsapp", "recipient_type", "individual", "to", to, "type",
			      "template", "template", "name", b->tpl, "language", "code", "he");
		struct outbox_item it = {.org_id = b->org,
					 .number_id = b->number,
					 .idem_key = key,
					 .purpose = b->purpose,
					 .producer = b->prio ? "campaign:load" : "sched:load",
					 .priority = b->prio,
					 .payload = body};
		int dup = 0;
		int rc = outbox_enqueue_tx(tx, &it, b->last_id, &dup);
		json_decref(body);
		if (rc)
			return rc;
		b->added += !dup;
	}
	return 0;
}

/* ---- --clone ---- */

/* The SQL expression a copy gets for column col of table, or NULL to copy
 * it from message 0 (t). ?1 first i, ?2 end, ?3 message 0's id, ?4 id
 * prefix, ?5 first user, ?6 users, ?7 key prefix. */
static const char *clone_expr(const char *table, const char *col)
{
#define CLONE_ID "(?4 || printf('%010d', n.i))"
#define CLONE_TO "printf('97250%07d', ?5 + n.i % ?6)"
	if (strcmp(col, "id") == 0 || strcmp(col, "biz_opaque") == 0)
		return CLONE_ID;
	if (strcmp(col, "payload") == 0)
		return "json_set(t.payload, '$.to', " CLONE_TO
		       ", '$.biz_opaque_callback_data', " CLONE_ID ")";
	if (strcmp(table, "outbox") == 0 && strcmp(col, "idem_key") == 0)
		return "(?7 || ':' || n.i)";
	return NULL;
#undef CLONE_ID
#undef CLONE_TO
}

/* Builds the INSERT ... SELECT that copies message 0's row of table for
 * every i in [?1, ?2). Returns 0 or -1 with a message on stderr. */
static int clone_sql(sqlite3 *db, const char *table, struct buf *sql)
{
	struct buf cols, exprs;
	char q[64];
	sqlite3_stmt *st = NULL;
	int rc = -1;
	buf_init(&cols, 0);
	buf_init(&exprs, 0);
	snprintf(q, sizeof q, "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 1);
		const char *e = clone_expr(table, col);
		buf_printf(&cols, "%s%s", cols.len ? ", " : "", col);
		if (e)
			buf_printf(&exprs, "%s%s", exprs.len ? ", " : "", e);
		else
			buf_printf(&exprs, "%st.%s", exprs.len ? ", " : "", col);
	}
	if (!cols.len)
		goto fail;
	buf_reset(sql);
	rc = buf_printf(sql,
			"WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE "
			"i + 1 < ?2) INSERT OR IGNORE INTO %s (%s) SELECT %s FROM n, %s t "
			"WHERE t.id = ?3",
			table, cols.data, exprs.data, table);
fail:
	if (rc)
		fprintf(stderr, "outbox_load: cannot copy rows of %s: %s\n", table,
			sqlite3_errmsg(db));
	sqlite3_finalize(st);
	buf_release(&cols);
	buf_release(&exprs);
	return rc;
}

/* Copies message 0 (b->last_id) as messages 1 .. count - 1. */
static int clone_rows(const char *path, struct batch *b, long count)
{
	static const char *const tables[] = {"messages", "outbox"}; /* outbox references messages */
	sqlite3 *db = NULL;
	sqlite3_stmt *st[2] = {NULL, NULL};
	struct buf sql;
	char prefix[CLONE_ID_PREFIX + 1];
	int rc = -1;
	buf_init(&sql, 0);
	memcpy(prefix, b->last_id, CLONE_ID_PREFIX);
	prefix[CLONE_ID_PREFIX] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 30000);
	for (int t = 0; t < 2; t++) {
		if (clone_sql(db, tables[t], &sql) ||
		    sqlite3_prepare_v2(db, sql.data, -1, &st[t], NULL) != SQLITE_OK)
			goto fail;
	}
	for (long from = 1; from < count; from += CLONE_CHUNK) {
		long to = from + CLONE_CHUNK < count ? from + CLONE_CHUNK : count;
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		for (int t = 0; t < 2; t++) {
			sqlite3_reset(st[t]);
			sqlite3_bind_int64(st[t], 1, from);
			sqlite3_bind_int64(st[t], 2, to);
			sqlite3_bind_text(st[t], 3, b->last_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[t], 4, prefix, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st[t], 5, b->first_user);
			sqlite3_bind_int64(st[t], 6, b->users);
			sqlite3_bind_text(st[t], 7, b->prefix, -1, SQLITE_STATIC);
			if (sqlite3_step(st[t]) != SQLITE_DONE) {
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
				goto fail;
			}
			if (t == 1)
				b->added += sqlite3_changes(db);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
	}
	rc = 0;
fail:
	if (rc)
		fprintf(stderr, "outbox_load: copying failed: %s\n",
			db ? sqlite3_errmsg(db) : "cannot open the database");
	for (int t = 0; t < 2; t++)
		sqlite3_finalize(st[t]);
	sqlite3_close(db);
	buf_release(&sql);
	return rc;
}

static long num(const char *s)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!end || *end || v < 0) {
		fprintf(stderr, "outbox_load: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int clone = argc > 1 && strcmp(argv[1], "--clone") == 0;
	if (clone) {
		argc--;
		argv++;
	}
	if (argc != 11) {
		fprintf(stderr, "usage: outbox_load [--clone] STORE_URL ORG_ID NUMBER_ID COUNT "
				"PRIORITY PURPOSE TEMPLATE FIRST_USER USERS KEY_PREFIX\n");
		return 2;
	}
	if (clone && strncmp(argv[1], "sqlite:", 7) != 0) {
		fprintf(stderr, "outbox_load: --clone needs a sqlite: store\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	struct store *st = NULL;
	int rc = store_open(argv[1], &st);
	if (rc) {
		fprintf(stderr, "outbox_load: cannot open %s: %s\n", argv[1], cw_strerror(rc));
		return 1;
	}
	struct batch b = {.org = argv[2],
			  .number = argv[3],
			  .prio = (int)num(argv[5]),
			  .purpose = argv[6],
			  .tpl = argv[7],
			  .first_user = num(argv[8]),
			  .users = num(argv[9]),
			  .prefix = argv[10]};
	long count = num(argv[4]);
	if (b.users < 1)
		b.users = 1;
	long produced = clone && count > 1 ? 1 : count;
	for (long from = 0; from < produced && !rc; from += CHUNK) {
		b.from = from;
		b.to = from + CHUNK < produced ? from + CHUNK : produced;
		rc = store_tx(st, batch_fn, &b);
	}
	store_free(st);
	if (rc) {
		fprintf(stderr, "outbox_load: %s\n", cw_strerror(rc));
		return 1;
	}
	if (produced < count && clone_rows(argv[1] + 7, &b, count) != 0)
		return 1;
	if (count == 1)
		printf("%ld %s\n", b.added, b.last_id);
	else
		printf("%ld\n", b.added);
	return 0;
}
