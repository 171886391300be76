/*
 * ingest.c — durable webhook intake and the worker that applies it
 * (see ingest.h for the contract and the exactly-once argument).
 */
#include "core/ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "core/contact_guess.h"
#include "base/banned.h"

#define INGEST_BATCH 64 /* bodies read per round */
/* Bodies applied per write transaction (one group-commit job), each in its
 * own savepoint. One body per transaction gave the worker one body per
 * commit: under a webhook burst it fell behind without end while taking a
 * slot in every commit. Many more per transaction would hold the writer (and
 * the acknowledgements waiting for its commit) for longer: a status body
 * costs some tens of microseconds to apply. */
#define INGEST_TX_BODIES 16
#define INGEST_IDLE_MS	 1000 /* worker poll when nobody wakes it */
/* Under a burst of webhooks the worker stands aside: while this many writes
 * wait for the writer (acknowledgements waiting for their commit), it waits
 * before its next transaction, for at most INGEST_YIELD_MAX_MS each time so
 * that processing never stops. Acknowledging durably is what Meta waits
 * for; applying may lag a burst by seconds. */
#define INGEST_YIELD_PENDING 32
#define INGEST_YIELD_MAX_MS  20
#define WINDOW_MS	     (24LL * 3600 * 1000)

struct handler {
	const char *name;
	ingest_inbound_fn inbound;
	ingest_event_fn event;
	void *ud;
};

struct ingest {
	struct store *st;
	struct handler inbound[INGEST_MAX_HANDLERS];
	int ninbound;
	struct handler event[INGEST_MAX_HANDLERS];
	int nevent;

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake;
	int stop;
	atomic_int stopping;	  /* ingest_free: the worker's drain ends after its round */
	atomic_int wake_posted;	  /* a wake is on its way: accepts need not lock */
	pthread_mutex_t drain_mu; /* one drainer at a time */

	_Atomic uint64_t accepted, processed, failed_bodies, events, rejected_items, duplicates;
};

struct ingest *ingest_new(struct store *st)
{
	struct ingest *ing = xcalloc(1, sizeof *ing);
	ing->st = st;
	pthread_mutex_init(&ing->mu, NULL);
	pthread_cond_init(&ing->cv, NULL);
	pthread_mutex_init(&ing->drain_mu, NULL);
	return ing;
}

void ingest_add_inbound(struct ingest *ing, const char *name, ingest_inbound_fn fn, void *ud)
{
	if (ing->ninbound >= INGEST_MAX_HANDLERS)
		abort();
	ing->inbound[ing->ninbound++] = (struct handler){.name = name, .inbound = fn, .ud = ud};
}

void ingest_add_event(struct ingest *ing, const char *name, ingest_event_fn fn, void *ud)
{
	if (ing->nevent >= INGEST_MAX_HANDLERS)
		abort();
	ing->event[ing->nevent++] = (struct handler){.name = name, .event = fn, .ud = ud};
}

/* A body is durable: count it and make sure the worker will look. Runs on
 * the writer thread for asynchronous accepts, so the common case (a wake is
 * already on its way) takes no lock. */
static void accepted(struct ingest *ing)
{
	atomic_fetch_add(&ing->accepted, 1);
	if (atomic_exchange(&ing->wake_posted, 1))
		return;
	pthread_mutex_lock(&ing->mu);
	ing->wake = 1;
	pthread_cond_signal(&ing->cv);
	pthread_mutex_unlock(&ing->mu);
}

int ingest_accept(struct ingest *ing, const char *body, size_t len, const char *signature,
		  int64_t *id)
{
	struct store_val a[] = {SV_NULL, SV_INT(time_now_ms()), SV_TEXT(signature),
				SV_BLOB(body, len)};
	int rc = store_exec(ing->st, "webhook.append", a, 4, NULL);
	if (rc)
		return rc;
	(void)id;
	accepted(ing);
	return 0;
}

struct accept_wait {
	struct ingest *ing;
	ingest_done_fn done;
	void *ud;
};

static void accept_done(void *ud, int rc, int64_t changes)
{
	struct accept_wait *w = ud;
	(void)changes;
	if (rc == 0)
		accepted(w->ing);
	w->done(w->ud, rc);
	free(w);
}

/* The plain accept: only the raw body, applied later by the worker. */
static int accept_only(struct ingest *ing, const char *body, size_t len, const char *signature,
		       ingest_done_fn done, void *ud)
{
	struct store_val a[] = {SV_NULL, SV_INT(time_now_ms()), SV_TEXT(signature),
				SV_BLOB(body ? body : "", len)};
	struct accept_wait *w = xmalloc(sizeof *w);
	*w = (struct accept_wait){.ing = ing, .done = done, .ud = ud};
	int rc = store_exec_async(ing->st, "webhook.append", a, 4, accept_done, w);
	if (rc)
		free(w);
	return rc;
}

/* ---- applying one body ---- */

struct number_row {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	int found;
};

static int number_cb(void *ud, const struct store_row *row)
{
	struct number_row *n = ud;
	snprintf(n->id, sizeof n->id, "%s", store_row_text(row, 0));
	snprintf(n->org_id, sizeof n->org_id, "%s", store_row_text(row, 1));
	n->found = 1;
	return 1;
}

static int find_number(struct store_tx *tx, const char *pnid, struct number_row *n)
{
	n->found = 0;
	if (!pnid)
		return 0;
	struct store_val a[] = {SV_TEXT(pnid)};
	int rc = store_tx_query(tx, "number.get_by_pnid", a, 1, number_cb, n);
	return rc < 0 ? rc : 0;
}

struct id_row {
	char id[ID_SIZE];
	int found;
};

static int id_cb(void *ud, const struct store_row *row)
{
	struct id_row *r = ud;
	const char *s = store_row_text(row, 0);
	if (s) {
		snprintf(r->id, sizeof r->id, "%s", s);
		r->found = 1;
	}
	return 1;
}

/* Finds the contact who wrote from wa_id (or BSUID), creating it on first
 * contact. *created is set when it is new. */
static int resolve_contact(struct store_tx *tx, const char *org_id, const struct webhook_message *m,
			   int64_t now, char contact_id[ID_SIZE], int *created)
{
	const char *key = m->from ? m->from : m->from_user_id;
	struct id_row r = {.found = 0};
	int rc;
	*created = 0;
	if (!key)
		return CW_EINVAL;
	struct store_val q[] = {SV_TEXT(org_id), SV_TEXT(key)};
	rc = store_tx_query(tx, "contact.id_by_wa_id", q, 2, id_cb, &r);
	if (rc < 0)
		return rc;
	if (r.found) {
		snprintf(contact_id, ID_SIZE, "%s", r.id);
		return 0;
	}
	char phone[32] = "";
	if (m->from && strlen(m->from) < 20)
		snprintf(phone, sizeof phone, "+%s", m->from);
	if (phone[0]) {
		struct store_val p[] = {SV_TEXT(org_id), SV_TEXT(phone)};
		rc = store_tx_query(tx, "contact.id_by_phone", p, 2, id_cb, &r);
		if (rc < 0)
			return rc;
		if (r.found) {
			struct store_val s[] = {SV_TEXT(r.id), SV_TEXT(key), SV_INT(now)};
			rc = store_tx_exec(tx, "contact.set_wa_id", s, 3, NULL);
			if (rc)
				return rc;
			snprintf(contact_id, ID_SIZE, "%s", r.id);
			return 0;
		}
	}
	char id[ID_SIZE];
	id_new(id);
	const char *lang = contact_guess_language(m->text);
	const char *zone = phone[0] ? contact_guess_zone(phone) : NULL;
	struct store_val ins[] = {SV_TEXT(id),	 SV_TEXT(org_id),  SV_TEXT(phone[0] ? phone : NULL),
				  SV_TEXT(key),	 SV_TEXT(m->from), SV_TEXT(m->profile_name),
				  SV_TEXT(lang), SV_TEXT(zone),	   SV_INT(now)};
	rc = store_tx_exec(tx, "contact.insert_inbound", ins, 9, NULL);
	if (rc)
		return rc;
	snprintf(contact_id, ID_SIZE, "%s", id);
	*created = 1;
	return 0;
}

struct apply_ctx {
	struct ingest *ing;
	int64_t log_id;
	struct webhook_batch *batch;
	const char *error; /* stored with the body when not NULL */
	int parse_failed;
	uint64_t nevents, nduplicates;
};

static int apply_message(struct apply_ctx *c, struct store_tx *tx, const struct webhook_event *ev)
{
	const struct webhook_message *m = &ev->msg;
	struct number_row num;
	int rc = find_number(tx, ev->phone_number_id, &num);
	if (rc)
		return rc;
	if (!num.found) {
		log_warn("ingest", "message for an unknown phone number id; skipped");
		return 0;
	}
	int64_t now = time_now_ms();
	int64_t at = ev->timestamp_ms ? ev->timestamp_ms : now;
	char contact_id[ID_SIZE];
	int created = 0;
	rc = resolve_contact(tx, num.org_id, m, now, contact_id, &created);
	if (rc == CW_EINVAL) {
		log_warn("ingest", "message without a sender id; skipped");
		return 0;
	}
	if (rc)
		return rc;

	char msg_id[ID_SIZE];
	id_new(msg_id);
	char *payload = json_dumps(ev->item, JSON_COMPACT);
	const char *type = m->type_str ? m->type_str : "unknown";
	struct store_val ins[] = {
	    SV_TEXT(msg_id),	 SV_TEXT(num.org_id), SV_TEXT(num.id), SV_TEXT(contact_id),
	    SV_TEXT("in"),	 SV_TEXT(m->wamid),   SV_TEXT(type),   SV_TEXT(payload),
	    SV_TEXT("received"), SV_INT(at),	      SV_NULL,	       SV_INT(now)};
	int64_t changes = 0;
	rc = store_tx_exec(tx, "message.insert", ins, 12, &changes);
	free(payload);
	if (rc)
		return rc;
	if (changes == 0) { /* Meta retried a message we already have */
		c->nduplicates++;
		return 0;
	}
	c->nevents++;
	struct store_val w[] = {SV_TEXT(num.org_id), SV_TEXT(num.id), SV_TEXT(contact_id),
				SV_INT(at), SV_INT(at + WINDOW_MS)};
	rc = store_tx_exec(tx, "window.upsert", w, 5, NULL);
	if (rc)
		return rc;
	struct store_val t[] = {SV_TEXT(contact_id), SV_INT(at), SV_INT(now)};
	rc = store_tx_exec(tx, "contact.inbound", t, 3, NULL);
	if (rc)
		return rc;

	struct inbound in = {.ev = ev,
			     .org_id = num.org_id,
			     .number_id = num.id,
			     .phone_number_id = ev->phone_number_id,
			     .contact_id = contact_id,
			     .message_id = msg_id,
			     .wa_id = m->from,
			     .new_contact = created,
			     .now_ms = now};
	for (int i = 0; i < c->ing->ninbound; i++) {
		struct handler *h = &c->ing->inbound[i];
		rc = h->inbound(h->ud, tx, &in);
		if (rc < 0) {
			log_error("ingest", "inbound handler %s failed: %s", h->name,
				  cw_strerror(rc));
			return rc;
		}
		if (rc == INBOUND_HANDLED)
			break;
	}
	return 0;
}

static int apply_status(struct apply_ctx *c, struct store_tx *tx, const struct webhook_event *ev,
			const char *org_id)
{
	const struct webhook_status_update *s = &ev->status;
	int64_t at = ev->timestamp_ms ? ev->timestamp_ms : time_now_ms();
	int64_t changes = 0;
	char code[24] = "";
	if (s->error.has_code)
		snprintf(code, sizeof code, "%lld", s->error.code);
	struct store_val add[] = {SV_TEXT(org_id),
				  SV_TEXT(s->wamid),
				  SV_TEXT(s->status_str),
				  SV_INT(at),
				  SV_TEXT(code[0] ? code : NULL),
				  SV_TEXT(s->error.title)};
	int rc = store_tx_exec(tx, "message_status.add_full", add, 6, &changes);
	if (rc)
		return rc;
	if (changes == 0) { /* the same status again: a retried webhook */
		c->nduplicates++;
		return 0;
	}
	c->nevents++;
	if (s->status == WH_ST_UNKNOWN || s->status == WH_ST_DELETED)
		return 0; /* recorded, but it moves nothing */
	struct store_val up[] = {SV_TEXT(s->wamid),
				 SV_TEXT(s->status_str),
				 SV_INT(at),
				 s->error.has_code ? SV_INT(s->error.code) : SV_NULL,
				 SV_TEXT(s->error.title),
				 SV_INT(time_now_ms())};
	return store_tx_exec(tx, "message.update_status", up, 6, NULL);
}

struct replay_row {
	char status[16];
	int64_t at;
	int has_code;
	int64_t code;
	char title[128];
};

struct replay_ctx {
	struct replay_row rows[8];
	int n;
};

static int replay_cb(void *ud, const struct store_row *row)
{
	struct replay_ctx *r = ud;
	if (r->n >= (int)(sizeof r->rows / sizeof r->rows[0]))
		return 1;
	struct replay_row *x = &r->rows[r->n++];
	snprintf(x->status, sizeof x->status, "%s", store_row_text(row, 0));
	x->at = store_row_int(row, 1);
	x->has_code = !store_row_is_null(row, 2);
	x->code = x->has_code ? store_row_int(row, 2) : 0;
	const char *t = store_row_text(row, 3);
	snprintf(x->title, sizeof x->title, "%s", t ? t : "");
	return 0;
}

int ingest_replay_statuses(struct store_tx *tx, const char *wamid)
{
	struct replay_ctx r = {.n = 0};
	struct store_val a[] = {SV_TEXT(wamid)};
	int rc = store_tx_query(tx, "message_status.list", a, 1, replay_cb, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < r.n; i++) {
		struct store_val up[] = {SV_TEXT(wamid),
					 SV_TEXT(r.rows[i].status),
					 SV_INT(r.rows[i].at),
					 r.rows[i].has_code ? SV_INT(r.rows[i].code) : SV_NULL,
					 SV_TEXT(r.rows[i].title[0] ? r.rows[i].title : NULL),
					 SV_INT(time_now_ms())};
		rc = store_tx_exec(tx, "message.update_status", up, 6, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static int apply_body(struct store_tx *tx, void *ud)
{
	struct apply_ctx *c = ud;
	struct webhook_batch *b = c->batch;
	int rc = 0;
	for (size_t i = 0; b && i < b->nevents; i++) {
		const struct webhook_event *ev = &b->events[i];
		struct number_row num = {.found = 0};
		switch (ev->kind) {
		case WH_MESSAGE:
			rc = apply_message(c, tx, ev);
			break;
		case WH_STATUS:
			rc = find_number(tx, ev->phone_number_id, &num);
			if (!rc)
				rc = apply_status(c, tx, ev, num.found ? num.org_id : NULL);
			break;
		default:
			rc = find_number(tx, ev->phone_number_id, &num);
			c->nevents++;
			break;
		}
		if (rc)
			return rc;
		if (ev->kind != WH_MESSAGE) {
			for (int h = 0; h < c->ing->nevent; h++) {
				struct handler *hd = &c->ing->event[h];
				rc = hd->event(hd->ud, tx, ev, num.found ? num.org_id : NULL);
				if (rc < 0) {
					log_error("ingest", "event handler %s failed: %s", hd->name,
						  cw_strerror(rc));
					return rc;
				}
			}
		}
	}
	struct store_val m[] = {SV_INT(c->log_id), SV_INT(time_now_ms()), SV_TEXT(c->error)};
	return store_tx_exec(tx, "webhook.mark_processed", m, 3, NULL);
}

/* ---- the worker ---- */

struct pending {
	int64_t id;
	char *body;
	size_t len;
};

struct pending_list {
	struct pending items[INGEST_BATCH];
	int n;
};

static int pending_cb(void *ud, const struct store_row *row)
{
	struct pending_list *l = ud;
	if (l->n >= INGEST_BATCH)
		return 1;
	size_t len = 0;
	const void *body = store_row_blob(row, 4, &len);
	struct pending *p = &l->items[l->n++];
	p->id = store_row_int(row, 0);
	p->body = xmalloc(len + 1);
	if (len)
		memcpy(p->body, body, len);
	p->body[len] = '\0';
	p->len = len;
	return 0;
}

/* Parses one stored body (on the worker, before any transaction). A body
 * that cannot be parsed is marked processed with its error (kept for a
 * person to look at), never retried forever. */
static void body_prepare(struct ingest *ing, const struct pending *p, struct apply_ctx *c)
{
	*c = (struct apply_ctx){.ing = ing, .log_id = p->id};
	int prc = webhook_parse(p->body, p->len, &c->batch);
	if (prc) {
		c->error = prc == CW_ETOOBIG ? "too many entries" : "malformed webhook body";
		c->parse_failed = 1;
		c->batch = NULL;
	} else if (c->batch->nrejected) {
		c->error = "some items rejected";
	}
}

/* A body's work is committed: count it. */
static void body_count(struct ingest *ing, const struct apply_ctx *c)
{
	atomic_fetch_add(&ing->processed, 1);
	atomic_fetch_add(&ing->events, c->nevents);
	atomic_fetch_add(&ing->duplicates, c->nduplicates + (c->batch ? c->batch->nduplicates : 0));
	if (c->batch)
		atomic_fetch_add(&ing->rejected_items, c->batch->nrejected);
	if (c->parse_failed)
		atomic_fetch_add(&ing->failed_bodies, 1);
}

/* ---- accepting and applying in one commit ---- */

/* A body that arrives while nothing older waits is stored and applied in
 * the same transaction: one commit (one fsync) from the tap to the reply in
 * the outbox, where the worker would take a second. The webhook is still
 * acknowledged only once the commit is durable, and then the raw body is
 * durable too. When older bodies wait (a burst the worker has not caught up
 * with), or when applying fails, the body is only stored and the worker
 * takes it in order, exactly as before. */
struct accept_apply {
	struct ingest *ing;
	ingest_done_fn done;
	void *ud;
	int64_t received;
	char *signature;
	struct pending body;
	struct apply_ctx c;
	int applied;
};

static int log_id_cb(void *ud, const struct store_row *row)
{
	*(int64_t *)ud = store_row_int(row, 0);
	return 0;
}

static int found_cb(void *ud, const struct store_row *row)
{
	(void)row;
	*(int *)ud = 1;
	return 1;
}

static int accept_apply_fn(struct store_tx *tx, void *ud)
{
	struct accept_apply *a = ud;
	struct store_val v[] = {SV_NULL, SV_INT(a->received), SV_TEXT(a->signature),
				SV_BLOB(a->body.body, a->body.len)};
	int64_t id = 0;
	int rc = store_tx_query(tx, "webhook.append", v, 4, log_id_cb, &id);
	if (rc < 0)
		return rc;
	int older = 0;
	struct store_val o[] = {SV_INT(id)};
	rc = store_tx_query(tx, "webhook.pending_before", o, 1, found_cb, &older);
	if (rc < 0)
		return rc;
	if (older)
		return 0; /* the worker keeps the order */
	a->c.log_id = id;
	if (store_tx_savepoint(tx, apply_body, &a->c) == 0)
		a->applied = 1;
	return 0;
}

static void accept_apply_done(void *ud, int rc, int64_t changes)
{
	struct accept_apply *a = ud;
	(void)changes;
	if (rc == 0 && a->applied) {
		atomic_fetch_add(&a->ing->accepted, 1);
		body_count(a->ing, &a->c);
	} else if (rc == 0) {
		accepted(a->ing); /* stored: the worker applies it */
	}
	a->done(a->ud, rc);
	webhook_batch_free(a->c.batch);
	free(a->body.body);
	free(a->signature);
	free(a);
}

int ingest_accept_async(struct ingest *ing, const char *body, size_t len, const char *signature,
			ingest_done_fn done, void *ud)
{
	if (!done || (!body && len))
		return CW_EINVAL;
	/* Without a running worker (CAREWIRE_INGEST_HOLD, tests that drain by
	 * hand) bodies are only stored. Behind already (bodies stored and not
	 * yet applied): parsing here would be wasted, the worker parses them
	 * in order. The writer's check in accept_apply_fn is the exact one;
	 * this is a hint (bodies left from before a restart count as
	 * processed, not accepted). */
	if (!ing->started || atomic_load(&ing->stopping) ||
	    atomic_load(&ing->accepted) > atomic_load(&ing->processed))
		return accept_only(ing, body, len, signature, done, ud);
	struct accept_apply *a = xcalloc(1, sizeof *a);
	a->ing = ing;
	a->done = done;
	a->ud = ud;
	a->received = time_now_ms();
	a->signature = signature ? xstrdup(signature) : NULL;
	a->body.body = xmalloc(len + 1);
	if (len)
		memcpy(a->body.body, body, len);
	a->body.body[len] = '\0';
	a->body.len = len;
	body_prepare(ing, &a->body, &a->c);
	int rc = store_tx_async(ing->st, accept_apply_fn, a, accept_apply_done, a);
	if (rc) {
		webhook_batch_free(a->c.batch);
		free(a->body.body);
		free(a->signature);
		free(a);
	}
	return rc;
}

/* Several bodies in one transaction, oldest first, each in its own
 * savepoint. Stops at the first body that fails (its part is undone; the
 * ones before it commit): the order is kept, and it is retried next round. */
struct apply_run {
	struct apply_ctx *bodies;
	int n;
	int applied; /* bodies whose savepoint was released */
	int rc;	     /* the failing body's error */
};

static int apply_bodies(struct store_tx *tx, void *ud)
{
	struct apply_run *r = ud;
	r->applied = 0;
	r->rc = 0;
	for (int i = 0; i < r->n; i++) {
		struct apply_ctx *c = &r->bodies[i];
		int rc = store_tx_savepoint(tx, apply_body, c);
		if (rc) {
			r->rc = rc;
			break;
		}
		r->applied++;
	}
	return 0;
}

/* Waits while the store's queue says webhooks are arriving faster than the
 * writer takes them (see INGEST_YIELD_PENDING). */
static void yield_to_appends(struct ingest *ing)
{
	for (int ms = 0; ms < INGEST_YIELD_MAX_MS && !atomic_load(&ing->stopping); ms++) {
		struct store_stats ss;
		store_get_stats(ing->st, &ss);
		if (ss.pending < INGEST_YIELD_PENDING)
			return;
		struct timespec d = {0, 1000000};
		nanosleep(&d, NULL);
	}
}

int ingest_drain(struct ingest *ing)
{
	int total = 0;
	struct apply_ctx ctx[INGEST_BATCH];
	pthread_mutex_lock(&ing->drain_mu);
	for (;;) {
		struct pending_list l = {.n = 0};
		struct store_val a[] = {SV_INT(INGEST_BATCH)};
		int rc = store_query(ing->st, "webhook.unprocessed", a, 1, pending_cb, &l);
		if (rc < 0) {
			for (int i = 0; i < l.n; i++)
				free(l.items[i].body);
			pthread_mutex_unlock(&ing->drain_mu);
			return rc;
		}
		for (int i = 0; i < l.n; i++)
			body_prepare(ing, &l.items[i], &ctx[i]);
		yield_to_appends(ing);
		int failed = 0;
		for (int first = 0; first < l.n && !failed; first += INGEST_TX_BODIES) {
			if (first)
				yield_to_appends(ing);
			struct apply_run r = {.bodies = &ctx[first], .n = l.n - first};
			if (r.n > INGEST_TX_BODIES)
				r.n = INGEST_TX_BODIES;
			rc = store_tx(ing->st, apply_bodies, &r);
			if (rc) { /* nothing of this transaction is kept */
				log_error(
				    "ingest",
				    "applying webhook bodies %lld..%lld failed: %s (will retry)",
				    (long long)r.bodies[0].log_id,
				    (long long)r.bodies[r.n - 1].log_id, cw_strerror(rc));
				failed = 1;
				break;
			}
			for (int i = 0; i < r.applied; i++)
				body_count(ing, &r.bodies[i]);
			total += r.applied;
			if (r.applied < r.n) { /* keep the order: stop at the first failure */
				log_error("ingest",
					  "applying webhook body %lld failed: %s (will retry)",
					  (long long)r.bodies[r.applied].log_id, cw_strerror(r.rc));
				failed = 1;
			}
		}
		for (int i = 0; i < l.n; i++) {
			webhook_batch_free(ctx[i].batch);
			free(l.items[i].body);
		}
		/* a backlog of many thousand bodies must not hold up a shutdown:
		 * what is left is applied after the restart */
		if (l.n < INGEST_BATCH || failed || atomic_load(&ing->stopping))
			break;
	}
	pthread_mutex_unlock(&ing->drain_mu);
	return total;
}

static void *worker(void *arg)
{
	struct ingest *ing = arg;
	for (;;) {
		pthread_mutex_lock(&ing->mu);
		if (!ing->wake && !ing->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += INGEST_IDLE_MS / 1000;
			pthread_cond_timedwait(&ing->cv, &ing->mu, &ts);
		}
		int stop = ing->stop;
		ing->wake = 0;
		/* before the drain reads: an accept committed after this point
		 * wakes the worker again */
		atomic_store(&ing->wake_posted, 0);
		pthread_mutex_unlock(&ing->mu);
		if (stop)
			break;
		ingest_drain(ing);
	}
	return NULL;
}

int ingest_start(struct ingest *ing)
{
	/* An operator's switch (and the crash test's): accept and keep webhooks
	 * durably, but do not process them until restarted without it. */
	const char *hold = getenv("CAREWIRE_INGEST_HOLD");
	if (hold && strcmp(hold, "1") == 0) {
		log_warn("ingest", "CAREWIRE_INGEST_HOLD=1: webhooks are stored, not processed");
		return 0;
	}
	if (pthread_create(&ing->thread, NULL, worker, ing) != 0)
		return CW_EINTERNAL;
	ing->started = 1;
	return 0;
}

void ingest_free(struct ingest *ing)
{
	if (!ing)
		return;
	if (ing->started) {
		atomic_store(&ing->stopping, 1);
		pthread_mutex_lock(&ing->mu);
		ing->stop = 1;
		pthread_cond_signal(&ing->cv);
		pthread_mutex_unlock(&ing->mu);
		pthread_join(ing->thread, NULL);
	}
	pthread_mutex_destroy(&ing->mu);
	pthread_cond_destroy(&ing->cv);
	pthread_mutex_destroy(&ing->drain_mu);
	free(ing);
}

void ingest_get_stats(struct ingest *ing, struct ingest_stats *out)
{
	out->accepted = atomic_load(&ing->accepted);
	out->processed = atomic_load(&ing->processed);
	out->failed_bodies = atomic_load(&ing->failed_bodies);
	out->events = atomic_load(&ing->events);
	out->rejected_items = atomic_load(&ing->rejected_items);
	out->duplicates = atomic_load(&ing->duplicates);
}
