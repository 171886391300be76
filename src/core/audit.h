/*
 * audit.h — the audit log: who read or changed whose data, when, for what
 * purpose, and with what outcome. Append-only and hash-chained.
 *
 * Every entry gets the next sequence number (1, 2, 3 ... no gaps) and a
 * hash: SHA-256 over the previous entry's hash and this entry's canonical
 * form (audit.c documents the form). A head record (last seq and hash) is
 * written in the same transaction. audit_verify() recomputes the chain, so
 * an edited entry, a deleted one (in the middle or at the end) or a
 * reordered one is found, and names the first bad entry.
 *
 * Appending reads the last hash and writes the new entry inside one store
 * transaction on the store's single writer thread (and SQLite's BEGIN
 * IMMEDIATE across processes), so appends are serialised and the chain
 * never forks.
 *
 * What to audit: EVERY read or change of a contact's data through the API
 * or by a person (contact.read, contact.list, contact.create,
 * contact.update, contact.erase, contact.export, contact.import,
 * consent.record, consent.read, ...), and every policy decision about a
 * message (message.decide, outcome allow/deny/defer). Entries hold ids,
 * names of actions and outcomes, never personal data: no phone numbers,
 * names or message text in detail. So erasing a contact never touches the
 * log, and the log may be kept as long as the law asks.
 *
 * Use (the one call):
 *
 *	struct audit_entry e = {.org_id = org, .actor = actor, .action = "contact.read",
 *				.subject = contact_id, .outcome = "ok"};
 *	audit_record(st, &e);             -- its own transaction
 *
 * or, to make the entry part of a change (both or neither are stored):
 *
 *	static int work(struct store_tx *tx, void *ud)
 *	{
 *		... store_tx_exec(tx, ...) ...
 *		return audit_record_tx(tx, &e);
 *	}
 *	store_tx(st, work, &ctx);
 *
 * Actor strings: "apikey:<api key id>" (audit_actor_apikey()),
 * "agent:<agent id>", "system:<component>" ("system:ingest",
 * "system:journey"), "cli:<command>" ("cli:import").
 *
 * Layer: core. Uses base/sec.h (SHA-256) and the store.
 */
#ifndef CW_CORE_AUDIT_H
#define CW_CORE_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define AUDIT_NAME_MAX	 128 /* bytes of actor, action, outcome, purpose, subject, org_id */
#define AUDIT_DETAIL_MAX 512 /* bytes of detail */
#define AUDIT_ACTOR_MAX	 64  /* what audit_actor_apikey() writes */
#define AUDIT_HASH_HEX	 65  /* 64 hex digits and NUL */
#define AUDIT_LIST_MAX	 1000

/* One entry to append. Strings are borrowed for the call. */
struct audit_entry {
	const char *org_id;  /* the tenant; NULL or "" for the instance itself */
	const char *actor;   /* required: who (see above) */
	const char *action;  /* required: "contact.read", "consent.record", ... */
	const char *subject; /* the contact id, or NULL */
	const char *purpose; /* a consent purpose, or NULL */
	const char *outcome; /* required: "ok", "denied", "not_found", "invalid", "allow" ... */
	const char *detail;  /* a short note WITHOUT personal data, or NULL */
	int64_t at;	     /* UTC ms; 0 means now */
};

/* Appends e in its own write transaction. Returns 0 once durable,
 * CW_EINVAL for a missing or over-long field, or a store error. */
int audit_record(struct store *st, const struct audit_entry *e);
/* Appends e inside the caller's transaction tx: the entry is stored if and
 * only if the caller's work is. Same returns as audit_record(). */
int audit_record_tx(struct store_tx *tx, const struct audit_entry *e);

/* Writes "apikey:<key_id>" into out and returns out. */
char *audit_actor_apikey(const char *key_id, char out[AUDIT_ACTOR_MAX]);

/* A stored entry, borrowed: valid only inside the callback. */
struct audit_row {
	int64_t seq;
	const char *org_id;
	int64_t at;
	const char *actor, *action, *subject, *purpose, *outcome, *detail;
	const char *prev_hash, *hash;
};
typedef int (*audit_row_fn)(void *ud, const struct audit_row *row);

/* Calls fn for the entries of org_id (and of subject when it is not NULL)
 * with seq > after_seq, oldest first, at most limit (1..AUDIT_LIST_MAX).
 * Returns 0, a negative cw_err, or fn's first non-zero return. */
int audit_list(struct store *st, const char *org_id, const char *subject, int64_t after_seq,
	       int limit, audit_row_fn fn, void *ud);

/* Returns a new JSON object for a row: {"seq","at" (ISO-8601),"actor",
 * "action","subject","purpose","outcome","detail","hash"}; caller
 * json_decref()s. */
json_t *audit_row_json(const struct audit_row *row);

/* The hash of an entry after prev_hash (64 hex digits): lower-case hex into
 * out. Exposed for tests and for anyone re-checking an exported log. */
void audit_hash(const char *prev_hash, const struct audit_row *row, char out[AUDIT_HASH_HEX]);

/* The result of a verification. */
struct audit_verify {
	int64_t entries;	   /* entries that were checked and found good */
	int64_t bad_seq;	   /* the first bad entry's seq; 0 when all is well */
	char head[AUDIT_HASH_HEX]; /* the last good hash ("" when the log is empty) */
	char problem[200];	   /* what is wrong with bad_seq, for people */
};

/* Recomputes the whole chain and checks it against the head record.
 * Returns 0 when every entry is intact (out->entries, out->head), CW_EINVAL
 * when an entry was edited, deleted or reordered or the head does not match
 * (out->bad_seq and out->problem say which and how), or a store error. */
int audit_verify(struct store *st, struct audit_verify *out);

#endif
