/*
 * outbox_load.c — a producer for the dispatch integration tests and
 * benchmarks: queues COUNT template messages into a carewire database with
 * outbox_enqueue_tx(), as any producer would, 1,000 per transaction.
 *
 *	outbox_load STORE_URL ORG_ID NUMBER_ID COUNT PRIORITY PURPOSE TEMPLATE
 *	            FIRST_USER USERS KEY_PREFIX
 *
 * Message i goes to the simulated user "97250" + 7 digits of
 * FIRST_USER + (i mod USERS), with the idempotency key KEY_PREFIX:i, so
 * running it twice queues nothing new. It may run while `carewire serve`
 * uses the same database (SQLite WAL). Prints the number of new messages
 * and, with one message, its id.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "core/outbox.h"
#include "store/store.h"
#include "base/banned.h"

#define CHUNK 1000

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
		json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}",
					 "messaging_product", "whatsapp", "recipient_type",
					 "individual", "to", to, "type", "template", "template",
					 "name", b->tpl, "language", "code", "he");
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
	if (argc != 11) {
		fprintf(stderr, "usage: outbox_load STORE_URL ORG_ID NUMBER_ID COUNT PRIORITY "
				"PURPOSE TEMPLATE FIRST_USER USERS KEY_PREFIX\n");
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
	for (long from = 0; from < count && !rc; from += CHUNK) {
		b.from = from;
		b.to = from + CHUNK < count ? from + CHUNK : count;
		rc = store_tx(st, batch_fn, &b);
	}
	store_free(st);
	if (rc) {
		fprintf(stderr, "outbox_load: %s\n", cw_strerror(rc));
		return 1;
	}
	if (count == 1)
		printf("%ld %s\n", b.added, b.last_id);
	else
		printf("%ld\n", b.added);
	return 0;
}
