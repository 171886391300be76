/*
 * dispatch.c — the dispatcher: due outbox rows to the Cloud API at each
 * phone number's rate (see dispatch.h; the whole design, with the reasons,
 * is in docs/internals/outbox.md).
 *
 * Two threads share the per-number state under one mutex:
 *
 *  - the sender owns the libcurl multi client (wa/client.h). Per phone
 *    number it keeps a token bucket and two FIFOs of claimed rows
 *    (transactional before bulk); when a token is there it starts a request,
 *    and every answer becomes a result. It never touches the store, so an
 *    fsync never stalls the network loop or the rate.
 *  - the keeper owns the store. One write transaction per round applies the
 *    results that came back (sent, failed → retry / defer / fallback /
 *    pause / failed), claims due rows for numbers that run low, expires
 *    rows past their useful time and, after a crash, reclaims rows left
 *    "sending" once their grace period is over. Claimed rows reach the
 *    sender only after COMMIT: a row is "sending" on disk before any request
 *    for it leaves, which is what bounds duplicates after kill -9 to the
 *    requests in flight.
 *
 * A third, mostly sleeping thread synchronises the template registry.
 */
#include "core/dispatch.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "core/org.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "core/send.h"
#include "core/template.h"
#include "wa/client.h"
#include "wa/errors.h"
#include "base/banned.h"

#define DISPATCH_MAX_NUMBERS 256
#define DISPATCH_MAX_RATE 1000   /* Meta's highest throughput per number */
#define DISPATCH_SHARED_RATE 20  /* a number shared with the WhatsApp Business app */
#define DISPATCH_INFLIGHT 128 /* HTTP requests running at once, all numbers */
/* Requests whose result is not on disk yet, all numbers: from the start of
 * the request until the keeper's commit of its result (answered ones
 * included). It bounds what a kill -9 can send twice however slow the
 * commits are; at 5,000 messages/s it leaves 200 ms for a commit. */
#define DISPATCH_UNRECORDED_MAX 1024
#define DISPATCH_AHEAD_MS 500    /* rows claimed ahead: this much sending per number */
#define DISPATCH_QUEUE_MIN 8
#define DISPATCH_QUEUE_MAX 512
#define DISPATCH_TICK_MS 20      /* the keeper's longest sleep */
#define DISPATCH_DUE_CHECK_MS 50 /* how often an idle number is looked at */
#define DISPATCH_RELOAD_MS 5000  /* numbers (rate, pause) read again */
#define DISPATCH_TOKEN_RETRY_MS 60000
#define DISPATCH_SWEEP_MS 1000   /* expiry sweep */
#define DISPATCH_SWEEP_BATCH 500
#define DISPATCH_SLOW_MS 10000   /* a 130429 halves the number's rate this long */
#define DISPATCH_SLOW_FACTOR 0.5
#define DISPATCH_PAIR_MS 6000    /* one bulk message per person per 6 s */
#define DISPATCH_PAIR_SLOTS 65536
#define DISPATCH_BUSY_DEFER_MS 1000 /* a message past the held list waits this long */
#define DISPATCH_RESULTS_KICK 64 /* results that wake the keeper early */
#define DISPATCH_SENDER_IDLE_MS 10
#define DISPATCH_ROUND_RETRIES 3
/* A row whose not_before is later than its created_at by more than this was
 * not queued for sending at once (policy deferred it): when its latest
 * decision is a deferral, policy decides again at claim time. */
#define DISPATCH_RECHECK_SLACK_MS 1000
/* The shortest wait of a row policy defers again (should policy name no
 * time, or one already past). */
#define DISPATCH_REDEFER_MIN_MS 60000
#define DISPATCH_TO_MAX 32

enum job_result { JR_NONE = 0, JR_SENT, JR_FAILED, JR_EXPIRED, JR_PAIR, JR_BUSY, JR_RELEASE };

struct dnum;

/* One claimed row, from the keeper's claim to the keeper's applying its
 * result. */
struct job {
	struct job *next;
	struct dispatch *d;
	struct dnum *num;
	char id[ID_SIZE];
	int attempts;
	int prio;
	int64_t expires_at; /* 0: never */
	int64_t due_at;     /* the row's not_before when claimed (kept on a release) */
	int64_t sent_ms;    /* when its request started (the pair table's time) */
	int requested;      /* its request was started: it counts in d->unrecorded */
	json_t *payload;
	char to[DISPATCH_TO_MAX];
	enum job_result res;
	int code;
	int64_t not_before;
	char wamid[128];
	char title[128];
};

struct fifo {
	struct job *head, *tail;
	int n;
};

struct dnum {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char pnid[64];
	char status[16];
	char *token;
	int rate;   /* messages per second, after the caps */
	int usable; /* active and its token opened */
	int paused;
	int64_t slow_until_ms;
	int64_t token_tried_ms;
	struct fifo q[2]; /* by priority */
	/* jobs taken from q whose person has a request running: they go, in
	 * order, when it ends (see "one request at a time per person") */
	struct fifo held;
	/* sender only */
	struct dispatch_bucket bucket;
	double bucket_rate;
	/* keeper only */
	int64_t due_checked_ms;
	int due;
};

struct dispatch {
	struct store *st;
	uint8_t key[SEC_KEY_BYTES];
	char *graph_url, *api_version;
	struct wa_client_config wcfg;
	struct wa_client *client; /* the sender's */
	struct outbox_retry retry;
	int64_t grace_ms;
	int template_sync;

	pthread_mutex_t mu;
	pthread_cond_t keeper_cv, sender_cv, sync_cv;
	int stop, sender_done, wake, kick;
	struct dnum *nums[DISPATCH_MAX_NUMBERS];
	int nnums;
	struct fifo results;
	int inflight;   /* HTTP requests running */
	int unrecorded; /* requests started whose result is not committed yet */

	pthread_t sender, keeper, syncer;
	int sender_on, keeper_on, syncer_on;

	/* keeper only */
	int64_t boot_ms;
	int reclaim_done;
	int64_t reloaded_ms, swept_ms;

	/* sender only */
	uint64_t *pair_key;
	int64_t *pair_at;
	uint16_t *busy; /* requests running per slot of pair_hash() */
	int64_t *busy_until; /* per slot: the person's messages are deferred until */
	int held_max;

	_Atomic uint64_t claimed, requests, sent, retried, deferred, failed, cancelled, expired,
		reclaimed, rechecked;
};

/* ---- small pieces ---- */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void deadline_in(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ns += ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void fifo_push(struct fifo *f, struct job *j)
{
	j->next = NULL;
	if (f->tail)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
	f->n++;
}

static struct job *fifo_pop(struct fifo *f)
{
	struct job *j = f->head;
	if (!j)
		return NULL;
	f->head = j->next;
	if (!f->head)
		f->tail = NULL;
	f->n--;
	j->next = NULL;
	return j;
}

/* Moves every job of src to the end of dst. */
static void fifo_splice(struct fifo *dst, struct fifo *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->n += src->n;
	*src = (struct fifo){NULL, NULL, 0};
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	json_decref(j->payload);
	free(j);
}

/* Takes j, which follows prev (NULL: j is the head), out of f. */
static void fifo_remove(struct fifo *f, struct job *prev, struct job *j)
{
	if (prev)
		prev->next = j->next;
	else
		f->head = j->next;
	if (f->tail == j)
		f->tail = prev;
	f->n--;
	j->next = NULL;
}

static void fifo_free(struct fifo *f)
{
	struct job *j;
	while ((j = fifo_pop(f)) != NULL)
		job_free(j);
}

/* locked: hands every row n holds back to the keeper, to be queued again. */
static void release_queued(struct dispatch *d, struct dnum *n)
{
	struct fifo *fs[] = {&n->held, &n->q[0], &n->q[1]};
	for (int p = 0; p < 3; p++) {
		for (struct job *j = fs[p]->head; j; j = j->next)
			j->res = JR_RELEASE;
		fifo_splice(&d->results, fs[p]);
	}
}

/* Jobs a number holds, waiting to be sent. */
static int jobs_held(const struct dnum *n)
{
	return n->q[0].n + n->q[1].n + n->held.n;
}

static int queue_target(int rate)
{
	int t = rate * DISPATCH_AHEAD_MS / 1000;
	return t < DISPATCH_QUEUE_MIN ? DISPATCH_QUEUE_MIN
				      : t > DISPATCH_QUEUE_MAX ? DISPATCH_QUEUE_MAX : t;
}

/* ---- the token bucket ---- */

/* A tenth of a second's tokens, at least 1.5: a sender that was kept from
 * running for up to 100 ms (a busy machine) catches up instead of losing
 * the time; the one-second window below keeps the catching up within the
 * rate. */
static double bucket_burst(double rate)
{
	double b = rate / 10.0;
	return b < 1.5 ? 1.5 : b;
}

static int bucket_window(double rate)
{
	int w = (int)rate;
	return w < 1 ? 1 : w > DISPATCH_BUCKET_RING ? DISPATCH_BUCKET_RING : w;
}

void dispatch_bucket_init(struct dispatch_bucket *b, double rate, int64_t now_ns)
{
	memset(b, 0, sizeof *b);
	b->rate = rate;
	b->burst = bucket_burst(rate);
	b->tokens = 1.0;
	b->at_ns = now_ns;
}

static void bucket_refill(struct dispatch_bucket *b, int64_t now_ns)
{
	if (now_ns <= b->at_ns)
		return;
	b->tokens += (double)(now_ns - b->at_ns) * b->rate / 1e9;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_ns = now_ns;
}

void dispatch_bucket_set_rate(struct dispatch_bucket *b, double rate, int64_t now_ns)
{
	bucket_refill(b, now_ns);
	b->rate = rate;
	b->burst = bucket_burst(rate);
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

/* When the send `window` sends ago started (0: there were fewer). */
static int64_t bucket_window_start(const struct dispatch_bucket *b)
{
	int w = bucket_window(b->rate);
	if (b->sends < (uint64_t)w)
		return 0;
	return b->sent_ns[(b->head + DISPATCH_BUCKET_RING - w) % DISPATCH_BUCKET_RING];
}

int dispatch_bucket_take(struct dispatch_bucket *b, int64_t now_ns)
{
	bucket_refill(b, now_ns);
	if (b->tokens < 1.0)
		return 0;
	int64_t first = bucket_window_start(b);
	if (b->sends >= (uint64_t)bucket_window(b->rate) && now_ns - first < 1000000000LL)
		return 0; /* the last second already had `rate` sends */
	b->tokens -= 1.0;
	b->sent_ns[b->head] = now_ns;
	b->head = (b->head + 1) % DISPATCH_BUCKET_RING;
	b->sends++;
	return 1;
}

int64_t dispatch_bucket_wait_ns(const struct dispatch_bucket *b, int64_t now_ns)
{
	double t = b->tokens;
	if (now_ns > b->at_ns)
		t += (double)(now_ns - b->at_ns) * b->rate / 1e9;
	int64_t wait = 0;
	if (t < 1.0 && b->rate > 0)
		wait = (int64_t)((1.0 - t) * 1e9 / b->rate) + 1;
	if (b->sends >= (uint64_t)bucket_window(b->rate)) {
		int64_t open_at = bucket_window_start(b) + 1000000000LL;
		if (open_at - now_ns > wait)
			wait = open_at - now_ns;
	}
	return wait;
}

/* ---- the pair limit (sender only) ----
 *
 * A small direct-mapped table of (number, recipient) → last send. A bulk
 * message to someone who got one from the same number less than 6 s ago is
 * deferred rather than sent into a 131056. A collision forgets a recipient,
 * which can only let a message through early: Meta's 131056 stays the
 * backstop. */

static uint64_t pair_hash(const struct dnum *n, const char *to)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = n->id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = to; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ? h : 1;
}

static int64_t pair_free_at(struct dispatch *d, const struct dnum *n, const char *to)
{
	if (!to[0])
		return 0;
	uint64_t h = pair_hash(n, to);
	size_t slot = (size_t)(h & (DISPATCH_PAIR_SLOTS - 1));
	return d->pair_key[slot] == h ? d->pair_at[slot] + DISPATCH_PAIR_MS : 0;
}

static void pair_note(struct dispatch *d, const struct dnum *n, const char *to, int64_t now_ms)
{
	if (!to[0])
		return;
	uint64_t h = pair_hash(n, to);
	size_t slot = (size_t)(h & (DISPATCH_PAIR_SLOTS - 1));
	d->pair_key[slot] = h;
	d->pair_at[slot] = now_ms;
}

/* A request that failed reached nobody: the person's 6 s do not start. */
static void pair_forget(struct dispatch *d, const struct dnum *n, const char *to, int64_t at_ms)
{
	if (!to[0])
		return;
	uint64_t h = pair_hash(n, to);
	size_t slot = (size_t)(h & (DISPATCH_PAIR_SLOTS - 1));
	if (d->pair_key[slot] == h && d->pair_at[slot] == at_ms)
		d->pair_key[slot] = 0;
}

/* ---- one request at a time per person ----
 *
 * Messages to one person leave in the order they were queued: a
 * confirmation, then the parking details, then the map pin. Sent
 * concurrently, the faster request would reach Meta first and the phone
 * would show them out of order. So a job whose person has a request
 * running waits in the number's held list and goes when that request ends;
 * everyone else's messages pass it. A count per slot of the pair table's
 * hash: two people in one slot only wait for each other. */

static size_t person_slot(const struct dnum *n, const char *to)
{
	return (size_t)(pair_hash(n, to) & (DISPATCH_PAIR_SLOTS - 1));
}

/* A request to the person is running. */
static int busy(const struct dispatch *d, const struct dnum *n, const char *to)
{
	return to[0] && d->busy[person_slot(n, to)] > 0;
}

/* The person's messages are being deferred (see busy_defer()). */
static int deferring(const struct dispatch *d, const struct dnum *n, const char *to,
		     int64_t now_ms)
{
	return to[0] && d->busy_until[person_slot(n, to)] > now_ms;
}

static void busy_add(struct dispatch *d, const struct dnum *n, const char *to, int delta)
{
	if (to[0])
		d->busy[person_slot(n, to)] += (uint16_t)delta;
}

/* Defers j, whose person is busy, to the outbox when the held list is full
 * or the person's messages are being deferred already: it and every later
 * message to that person get the same time, so they come back in order. */
static int busy_defer(struct dispatch *d, struct dnum *n, struct job *j, int64_t now_ms)
{
	if (!j->to[0] || (!deferring(d, n, j->to, now_ms) && n->held.n < d->held_max))
		return 0;
	size_t slot = person_slot(n, j->to);
	if (d->busy_until[slot] <= now_ms)
		d->busy_until[slot] = now_ms + DISPATCH_BUSY_DEFER_MS;
	j->res = JR_BUSY;
	j->not_before = d->busy_until[slot];
	fifo_push(&d->results, j);
	return 1;
}

/* The first held job whose person is free, or NULL; *prev is the job
 * before it. Only transactional jobs while transactional ones queue, so
 * a held campaign message does not pass a reminder. */
static struct job *held_ready(struct dispatch *d, struct dnum *n, struct job **prev)
{
	int transactional_only = n->q[0].n > 0;
	*prev = NULL;
	for (struct job *j = n->held.head; j; *prev = j, j = j->next)
		if (!busy(d, n, j->to) && (!transactional_only || j->prio != OUTBOX_PRIO_BULK))
			return j;
	return NULL;
}

/* ---- the sender ---- */

/* Called by wa_client_poll() on the sender thread when a request ends. */
static void on_sent(const struct wa_send_result *r, void *ud)
{
	struct job *j = ud;
	struct dispatch *d = j->d;
	if (!r->err_info && r->wamid) {
		j->res = JR_SENT;
		snprintf(j->wamid, sizeof j->wamid, "%s", r->wamid);
	} else {
		const struct wa_err_info *e = r->err_info ? r->err_info
							  : wa_err_lookup(WA_ERR_CODE_BAD_RESPONSE);
		j->res = JR_FAILED;
		j->code = r->error.code ? r->error.code : e->code;
		snprintf(j->title, sizeof j->title, "%.127s",
			 r->error.message[0] ? r->error.message : e->title);
		pair_forget(d, j->num, j->to, j->sent_ms);
	}
	pthread_mutex_lock(&d->mu);
	busy_add(d, j->num, j->to, -1);
	d->inflight--;
	fifo_push(&d->results, j);
	if (d->results.n >= DISPATCH_RESULTS_KICK)
		pthread_cond_signal(&d->keeper_cv);
	pthread_mutex_unlock(&d->mu);
}

/* locked: starts what the buckets allow; returns how long until the next
 * token of a number that has rows waiting. */
static int64_t sender_round(struct dispatch *d, int64_t now_ns, int64_t now_ms)
{
	int64_t wait_ns = (int64_t)DISPATCH_SENDER_IDLE_MS * 1000000LL;
	for (int i = 0; i < d->nnums; i++) {
		struct dnum *n = d->nums[i];
		if (!jobs_held(n))
			continue;
		if (!n->usable || n->paused || !n->token) {
			release_queued(d, n);
			continue;
		}
		double rate = (double)n->rate * (n->slow_until_ms > now_ms ? DISPATCH_SLOW_FACTOR : 1.0);
		if (rate != n->bucket_rate) {
			if (n->bucket_rate == 0)
				dispatch_bucket_init(&n->bucket, rate, now_ns);
			else
				dispatch_bucket_set_rate(&n->bucket, rate, now_ns);
			n->bucket_rate = rate;
		}
		while (d->inflight < DISPATCH_INFLIGHT && d->unrecorded < DISPATCH_UNRECORDED_MAX) {
			struct job *prev;
			struct fifo *f = &n->held;
			struct job *j = held_ready(d, n, &prev);
			if (!j) {
				f = n->q[0].n ? &n->q[0] : &n->q[1];
				j = f->head;
				prev = NULL;
				if (!j)
					break;
				if (busy(d, n, j->to) || deferring(d, n, j->to, now_ms)) {
					fifo_pop(f);
					if (!busy_defer(d, n, j, now_ms))
						fifo_push(&n->held, j);
					continue;
				}
			}
			if (j->expires_at && j->expires_at <= now_ms) {
				fifo_remove(f, prev, j);
				j->res = JR_EXPIRED;
				fifo_push(&d->results, j);
				continue;
			}
			int64_t free_at =
				j->prio == OUTBOX_PRIO_BULK ? pair_free_at(d, n, j->to) : 0;
			if (free_at > now_ms) {
				fifo_remove(f, prev, j);
				j->res = JR_PAIR;
				j->not_before = free_at;
				fifo_push(&d->results, j);
				continue;
			}
			if (!dispatch_bucket_take(&n->bucket, now_ns))
				break;
			fifo_remove(f, prev, j);
			pair_note(d, n, j->to, now_ms);
			j->sent_ms = now_ms;
			int rc = wa_client_send(d->client, n->pnid, n->token, j->payload, on_sent, j);
			if (rc) {
				pair_forget(d, n, j->to, now_ms);
				if (rc == CW_ETOOBIG) {
					j->res = JR_RELEASE;
				} else {
					j->res = JR_FAILED;
					j->code = 100;
					snprintf(j->title, sizeof j->title,
						 "the request body could not be sent");
				}
				fifo_push(&d->results, j);
				continue;
			}
			busy_add(d, n, j->to, 1);
			d->inflight++;
			d->unrecorded++;
			j->requested = 1;
			atomic_fetch_add(&d->requests, 1);
		}
		if (jobs_held(n) > n->held.n && d->inflight < DISPATCH_INFLIGHT &&
		    d->unrecorded < DISPATCH_UNRECORDED_MAX) {
			int64_t w = dispatch_bucket_wait_ns(&n->bucket, now_ns);
			if (w < wait_ns)
				wait_ns = w;
		}
	}
	return wait_ns;
}

static void *sender_main(void *arg)
{
	struct dispatch *d = arg;
	for (;;) {
		int64_t now_ns = mono_ns();
		int64_t now_ms = time_now_ms();
		int64_t wait_ns;
		pthread_mutex_lock(&d->mu);
		int stop = d->stop;
		if (stop) {
			for (int i = 0; i < d->nnums; i++)
				release_queued(d, d->nums[i]);
			wait_ns = (int64_t)DISPATCH_SENDER_IDLE_MS * 1000000LL;
		} else {
			wait_ns = sender_round(d, now_ns, now_ms);
		}
		if (d->results.n)
			pthread_cond_signal(&d->keeper_cv);
		pthread_mutex_unlock(&d->mu);

		if (wa_client_pending(d->client) > 0) {
			int ms = (int)((wait_ns + 999999) / 1000000);
			wa_client_poll(d->client, ms < 1 ? 1 : ms);
			continue;
		}
		if (stop)
			break;
		pthread_mutex_lock(&d->mu);
		if (!d->stop && !d->kick) {
			struct timespec ts;
			deadline_in(&ts, wait_ns < 1000000 ? 1000000 : wait_ns);
			pthread_cond_timedwait(&d->sender_cv, &d->mu, &ts);
		}
		d->kick = 0;
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_lock(&d->mu);
	d->sender_done = 1;
	pthread_cond_signal(&d->keeper_cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- the keeper: numbers ---- */

struct num_row {
	char id[ID_SIZE];
	char status[16];
};

struct num_list {
	struct num_row rows[DISPATCH_MAX_NUMBERS];
	int n;
};

static int num_list_cb(void *ud, const struct store_row *row)
{
	struct num_list *l = ud;
	if (l->n >= DISPATCH_MAX_NUMBERS)
		return 1;
	struct num_row *r = &l->rows[l->n++];
	const char *s = store_row_text(row, 0);
	snprintf(r->id, sizeof r->id, "%s", s ? s : "");
	s = store_row_text(row, 6);
	snprintf(r->status, sizeof r->status, "%s", s ? s : "");
	return 0;
}

/* locked */
static struct dnum *num_find(struct dispatch *d, const char *id)
{
	for (int i = 0; i < d->nnums; i++)
		if (strcmp(d->nums[i]->id, id) == 0)
			return d->nums[i];
	return NULL;
}

/* Reads the numbers again: new ones, rate changes, paused and resumed ones;
 * opens a token when a number is new, comes back from a pause, or had none. */
static void reload_numbers(struct dispatch *d, int64_t now)
{
	struct num_list l = {.n = 0};
	if (store_query(d->st, "outbox.numbers", NULL, 0, num_list_cb, &l) < 0)
		return;
	for (int i = 0; i < l.n; i++) {
		struct num_row *r = &l.rows[i];
		pthread_mutex_lock(&d->mu);
		struct dnum *n = num_find(d, r->id);
		int need_token = !n || !n->token || strcmp(n->status, r->status) != 0;
		int64_t tried = n ? n->token_tried_ms : 0;
		pthread_mutex_unlock(&d->mu);
		if (n && !n->token && now - tried < DISPATCH_TOKEN_RETRY_MS &&
		    strcmp(n->status, r->status) == 0)
			need_token = 0;

		struct number_info info;
		int active = strcmp(r->status, "active") == 0;
		int rc = number_get(d->st, need_token && active ? d->key : NULL, r->id, 1, &info);
		if (rc)
			continue;
		int rate = info.rate_mps > DISPATCH_MAX_RATE ? DISPATCH_MAX_RATE : info.rate_mps;
		if (info.shared_with_app && rate > DISPATCH_SHARED_RATE)
			rate = DISPATCH_SHARED_RATE;
		if (rate < 1)
			rate = 1;

		pthread_mutex_lock(&d->mu);
		n = num_find(d, r->id);
		if (!n) {
			if (d->nnums >= DISPATCH_MAX_NUMBERS) {
				pthread_mutex_unlock(&d->mu);
				number_info_release(&info);
				log_error("dispatch", "more than %d phone numbers; %s is not served",
					  DISPATCH_MAX_NUMBERS, r->id);
				continue;
			}
			n = xcalloc(1, sizeof *n);
			snprintf(n->id, sizeof n->id, "%s", info.id);
			snprintf(n->org_id, sizeof n->org_id, "%s", info.org_id);
			d->nums[d->nnums++] = n;
		}
		snprintf(n->pnid, sizeof n->pnid, "%s", info.phone_number_id);
		if (n->paused && active)
			log_info("dispatch", "phone number %s resumed", n->id);
		snprintf(n->status, sizeof n->status, "%s", r->status);
		n->rate = rate;
		n->paused = strcmp(r->status, "paused") == 0;
		if (need_token && active) {
			n->token_tried_ms = now;
			if (info.token) {
				if (n->token) {
					memset(n->token, 0, strlen(n->token));
					free(n->token);
				}
				n->token = info.token;
				info.token = NULL;
			}
		}
		n->usable = active && n->token != NULL;
		if (!n->usable || n->paused)
			release_queued(d, n);
		pthread_mutex_unlock(&d->mu);
		number_info_release(&info);
	}
}

/* ---- the keeper: one round ---- */

struct claimed_row {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char purpose[16];
	char *payload;
	int64_t expires_at;
	int64_t not_before;
	int attempts;
	char consent[16];
	int erased;
	int recheck; /* deferred by policy and come due: policy decides again */
	int64_t seq; /* the order it was queued in */
};

#define CLAIM_ROWS_MAX DISPATCH_QUEUE_MAX

struct claim_buf {
	struct claimed_row rows[CLAIM_ROWS_MAX];
	int n;
};

static int claim_cb(void *ud, const struct store_row *row)
{
	struct claim_buf *b = ud;
	if (b->n >= CLAIM_ROWS_MAX)
		return 0; /* cannot happen: the claim's LIMIT is smaller */
	struct claimed_row *c = &b->rows[b->n++];
	const char *s = store_row_text(row, 0);
	snprintf(c->id, sizeof c->id, "%s", s ? s : "");
	s = store_row_text(row, 1);
	snprintf(c->org_id, sizeof c->org_id, "%s", s ? s : "");
	s = store_row_text(row, 3);
	snprintf(c->purpose, sizeof c->purpose, "%s", s ? s : "");
	s = store_row_text(row, 4);
	c->payload = xstrdup(s ? s : "{}");
	c->expires_at = store_row_is_null(row, 5) ? 0 : store_row_int(row, 5);
	c->attempts = (int)store_row_int(row, 6);
	s = store_row_text(row, 7);
	snprintf(c->consent, sizeof c->consent, "%s", s ? s : "");
	c->erased = !store_row_is_null(row, 8);
	c->not_before = store_row_int(row, 9);
	s = store_row_text(row, 10);
	c->recheck = s && strcmp(s, "defer") == 0;
	c->seq = store_row_int(row, 11);
	return 0;
}

/* Claimed rows go to the sender in the order they are due, and those due
 * at once in the order they were queued (a confirmation before its map
 * pin). */
static int claimed_cmp(const void *a, const void *b)
{
	const struct claimed_row *x = a, *y = b;
	if (x->not_before != y->not_before)
		return x->not_before < y->not_before ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct need {
	struct dnum *num;
	int want;    /* rows to claim */
	int got;     /* rows claimed */
	int drained; /* fewer were due than wanted */
	int slow;    /* a 130429 (or alike) came back */
	int pause;   /* a 190 / 368 / 131031 (or alike) came back */
	struct fifo jobs[2];
};

struct round {
	struct dispatch *d;
	struct fifo results;
	struct need needs[DISPATCH_MAX_NUMBERS];
	int nneeds;
	int sweep;
	int reclaim;
	int reclaim_more;
	int failures; /* rounds failed in a row */
	/* scratch, kept from round to round (no large malloc per round) */
	struct claim_buf *claim;
	struct id_list *ids;
	int64_t now;
	/* counted on success only */
	uint64_t sent, retried, deferred, failed, cancelled, expired, claimed, reclaimed,
		rechecked;
	int forgotten; /* requested jobs whose result was dropped */
};

static struct need *need_of(struct round *r, const struct dnum *n)
{
	for (int i = 0; i < r->nneeds; i++)
		if (r->needs[i].num == n)
			return &r->needs[i];
	return NULL;
}

static int apply_result(struct round *r, struct store_tx *tx, struct job *j)
{
	struct dispatch *d = r->d;
	int rc = 0, applied = 0;
	switch (j->res) {
	case JR_SENT:
		/* Counted whether or not the row changed: a status webhook may
		 * have overtaken this answer and adopted the wamid already. */
		rc = outbox_sent_tx(tx, j->id, j->attempts, j->wamid, r->now, &applied);
		r->sent++;
		break;
	case JR_FAILED: {
		struct outbox_outcome out;
		rc = outbox_fail_tx(tx, j->id, j->attempts, j->code, j->title, 0, &d->retry, r->now,
				    &out);
		if (rc)
			break;
		struct need *nd = need_of(r, j->num);
		if (out.slow_number && nd)
			nd->slow = 1;
		if (out.kind == OUTBOX_OUT_PAUSE && nd)
			nd->pause = 1;
		if (out.kind == OUTBOX_OUT_FAILED)
			r->failed++;
		else if (out.kind == OUTBOX_OUT_DEFER)
			r->deferred++;
		else if (out.kind == OUTBOX_OUT_EXPIRED)
			r->expired++;
		else if (out.kind != OUTBOX_OUT_NONE)
			r->retried++;
		break;
	}
	case JR_EXPIRED:
		rc = outbox_finish_tx(tx, j->id, j->attempts, "expired",
				      "not sent before it expired", r->now, &applied);
		r->expired += applied;
		break;
	case JR_PAIR:
	case JR_BUSY:
	case JR_RELEASE: {
		int pair = j->res != JR_RELEASE;
		struct store_val a[] = {SV_TEXT(j->id),
					SV_TEXT(pair ? "deferred" : "queued"),
					/* a released row keeps its place */
					SV_INT(pair ? j->not_before : j->due_at),
					SV_NULL,
					SV_TEXT(j->res == JR_PAIR ? "held: one message per person per 6 s"
						: j->res == JR_BUSY
						    ? "held: the person's previous message is still being sent"
						    : NULL),
					SV_INT(r->now),
					SV_INT(0),
					SV_INT(-1),
					SV_INT(j->attempts)};
		rc = store_tx_exec(tx, "outbox.retry", a, 9, NULL);
		r->deferred += pair;
		break;
	}
	case JR_NONE:
		break;
	}
	return rc;
}

/* Asks policy again about row c, deferred by policy and now due
 * (send_recheck_tx(), which stores the new decision): allow sets *go; defer
 * puts the row back to "deferred" until the decision's time (or expires it
 * when that is too late); deny cancels it with the reason, which the
 * messages row shows. */
static int recheck_row(struct round *r, struct store_tx *tx, const struct claimed_row *c, int *go)
{
	char title[POLICY_MESSAGE_MAX + 64];
	struct policy_decision dec;
	json_t *body = json_loads(c->payload, 0, NULL);
	*go = 0;
	if (!body) {
		*go = 1; /* the job path fails it: the column is CHECKed json_valid */
		return 0;
	}
	int rc = send_recheck_tx(tx, c->org_id, c->id, body, r->now, &dec);
	json_decref(body);
	if (rc == CW_ENOTFOUND || rc == CW_EINVAL || rc == CW_EINTERNAL) {
		/* Nothing was written: the contact or the organisation is gone.
		 * Nothing goes without a decision. */
		snprintf(title, sizeof title, "policy could not decide again: %s",
			 cw_strerror(rc));
		r->cancelled++;
		return outbox_finish_tx(tx, c->id, c->attempts, "cancelled", title, r->now, NULL);
	}
	if (rc)
		return rc;
	r->rechecked++;
	switch (dec.outcome) {
	case POLICY_ALLOW:
		*go = 1;
		return 0;
	case POLICY_DEFER: {
		int64_t until = dec.until > r->now ? dec.until : r->now + DISPATCH_REDEFER_MIN_MS;
		if (c->expires_at && until >= c->expires_at) {
			r->expired++;
			return outbox_finish_tx(tx, c->id, c->attempts, "expired",
						"deferred by policy past its useful time", r->now,
						NULL);
		}
		snprintf(title, sizeof title, "deferred again by policy: %s",
			 policy_reason_code(dec.reason));
		/* Not an attempt: the claim's count is taken back. */
		struct store_val a[] = {SV_TEXT(c->id), SV_TEXT("deferred"), SV_INT(until),
					SV_NULL,	SV_TEXT(title),	     SV_INT(r->now),
					SV_INT(0),	SV_INT(-1),	     SV_INT(c->attempts)};
		r->deferred++;
		return store_tx_exec(tx, "outbox.retry", a, 9, NULL);
	}
	case POLICY_DENY:
	default:
		snprintf(title, sizeof title, "%s: %s", policy_reason_code(dec.reason),
			 dec.message);
		r->cancelled++;
		return outbox_finish_tx(tx, c->id, c->attempts, "cancelled", title, r->now, NULL);
	}
}

/* Claims up to nd->want due rows of one number: transactional first.
 *
 * What was decided when a row was queued is checked again here, in the
 * claim's transaction. A row policy deferred (quiet hours, tier budget) gets
 * a whole new decision (recheck_row()). Every other row — queued to go at
 * once, or waiting for a retry after it was allowed — gets the cheap check:
 * a row whose contact withdrew or refused consent for its purpose since, or
 * was erased, is cancelled. A row past its useful time expires. */
static int claim_number(struct round *r, struct store_tx *tx, struct need *nd)
{
	struct claim_buf *b = r->claim;
	int rc = 0;
	for (int prio = 0; prio < 2 && nd->got < nd->want; prio++) {
		b->n = 0;
		struct store_val a[] = {SV_TEXT(nd->num->id), SV_INT(prio), SV_INT(r->now),
					SV_INT(nd->want - nd->got),
					SV_INT(DISPATCH_RECHECK_SLACK_MS)};
		rc = store_tx_query(tx, "outbox.claim", a, 5, claim_cb, b);
		if (rc < 0)
			goto fail;
		rc = 0;
		qsort(b->rows, (size_t)b->n, sizeof b->rows[0], claimed_cmp);
		nd->got += b->n;
		for (int i = 0; i < b->n; i++) {
			struct claimed_row *c = &b->rows[i];
			int refused = strcmp(c->consent, "withdrawn") == 0 ||
				      strcmp(c->consent, "refused") == 0;
			int expired = c->expires_at && c->expires_at <= r->now;
			int go = 0;
			if (c->recheck && !expired) {
				rc = recheck_row(r, tx, c, &go);
			} else if (c->erased || (refused && strcmp(c->purpose, "service") != 0)) {
				char why[96];
				snprintf(why, sizeof why, "%s",
					 c->erased ? "the contact was erased"
						   : "consent for the purpose was withdrawn or "
						     "refused before sending");
				rc = outbox_finish_tx(tx, c->id, c->attempts, "cancelled", why,
						      r->now, NULL);
				r->cancelled++;
			} else if (expired) {
				rc = outbox_finish_tx(tx, c->id, c->attempts, "expired",
						      "not sent before it expired", r->now, NULL);
				r->expired++;
			} else {
				go = 1;
			}
			if (go && !rc) {
				struct job *j = xcalloc(1, sizeof *j);
				j->d = r->d;
				j->num = nd->num;
				snprintf(j->id, sizeof j->id, "%s", c->id);
				j->attempts = c->attempts;
				j->prio = prio;
				j->expires_at = c->expires_at;
				j->due_at = c->not_before;
				j->payload = json_loads(c->payload, 0, NULL);
				const char *to = json_str(j->payload, "to");
				snprintf(j->to, sizeof j->to, "%s", to ? to : "");
				fifo_push(&nd->jobs[prio], j);
				r->claimed++;
				if (!j->payload) {
					/* cannot happen: the column is CHECKed json_valid */
					j->res = JR_FAILED;
					j->code = 100;
					snprintf(j->title, sizeof j->title, "stored payload unreadable");
				}
			}
			free(c->payload);
			c->payload = NULL;
			if (rc)
				break;
		}
		for (int i = 0; i < b->n; i++)
			free(b->rows[i].payload);
		if (rc)
			goto fail;
	}
	nd->drained = nd->got < nd->want;
fail:
	return rc;
}

struct id_list {
	char ids[DISPATCH_SWEEP_BATCH][ID_SIZE];
	int n;
};

static int id_list_cb(void *ud, const struct store_row *row)
{
	struct id_list *l = ud;
	if (l->n >= DISPATCH_SWEEP_BATCH)
		return 0;
	const char *s = store_row_text(row, 0);
	snprintf(l->ids[l->n++], ID_SIZE, "%s", s ? s : "");
	return 0;
}

static int sweep_expired(struct round *r, struct store_tx *tx)
{
	struct id_list *l = r->ids;
	l->n = 0;
	struct store_val a[] = {SV_INT(r->now), SV_INT(DISPATCH_SWEEP_BATCH)};
	int rc = store_tx_query(tx, "outbox.expire_due", a, 2, id_list_cb, l);
	if (rc >= 0) {
		rc = 0;
		for (int i = 0; i < l->n && !rc; i++) {
			struct store_val m[] = {SV_TEXT(l->ids[i]), SV_TEXT("expired"), SV_NULL,
						SV_TEXT("not sent before it expired"),
						SV_INT(r->now)};
			rc = store_tx_exec(tx, "outbox.message_status", m, 5, NULL);
		}
		r->expired += (uint64_t)l->n;
	}
	return rc;
}

static int reclaim(struct round *r, struct store_tx *tx)
{
	struct id_list *l = r->ids;
	l->n = 0;
	struct store_val a[] = {SV_INT(r->d->boot_ms), SV_INT(r->now), SV_INT(DISPATCH_SWEEP_BATCH)};
	int rc = store_tx_query(tx, "outbox.reclaim", a, 3, id_list_cb, l);
	if (rc >= 0) {
		rc = 0;
		r->reclaimed += (uint64_t)l->n;
		r->reclaim_more = l->n == DISPATCH_SWEEP_BATCH;
	}
	return rc;
}

static int round_fn(struct store_tx *tx, void *ud)
{
	struct round *r = ud;
	int rc;
	for (struct job *j = r->results.head; j; j = j->next) {
		rc = apply_result(r, tx, j);
		if (rc) {
			log_error("dispatch", "recording the result of message %s failed: %s", j->id,
				  cw_strerror(rc));
			return rc;
		}
	}
	for (int i = 0; i < r->nneeds; i++) {
		if (r->needs[i].want <= 0)
			continue;
		rc = claim_number(r, tx, &r->needs[i]);
		if (rc)
			return rc;
	}
	if (r->reclaim) {
		rc = reclaim(r, tx);
		if (rc)
			return rc;
	}
	if (r->sweep) {
		rc = sweep_expired(r, tx);
		if (rc)
			return rc;
	}
	return 0;
}

static void round_reset_counts(struct round *r)
{
	r->sent = r->retried = r->deferred = r->failed = r->cancelled = r->expired = 0;
	r->claimed = r->reclaimed = r->rechecked = 0;
	r->forgotten = 0;
	r->reclaim_more = 0;
	for (int i = 0; i < r->nneeds; i++) {
		struct need *nd = &r->needs[i];
		nd->got = nd->drained = nd->slow = nd->pause = 0;
		fifo_free(&nd->jobs[0]);
		fifo_free(&nd->jobs[1]);
	}
}

/* Runs one round; on failure the results go back for the next one. After
 * DISPATCH_ROUND_RETRIES failures in a row the results are applied one by
 * one so that a single bad one cannot hold the rest (it is dropped and its
 * row is reclaimed at the next start). */
static int run_round(struct dispatch *d, struct round *r)
{
	int rc = store_tx(d->st, round_fn, r);
	if (rc == 0) {
		r->failures = 0;
		return 0;
	}
	round_reset_counts(r);
	if (++r->failures < DISPATCH_ROUND_RETRIES)
		return rc;
	r->failures = 0;
	/* This round claims, sweeps and reclaims nothing; the next one will. */
	struct fifo all = r->results;
	r->results = (struct fifo){NULL, NULL, 0};
	int nneeds = r->nneeds;
	r->nneeds = 0;
	r->sweep = r->reclaim = 0;
	struct job *j;
	struct fifo kept = {NULL, NULL, 0};
	while ((j = fifo_pop(&all)) != NULL) {
		fifo_push(&r->results, j);
		if (store_tx(d->st, round_fn, r) != 0) {
			log_error("dispatch", "dropping the result of message %s", j->id);
			fifo_pop(&r->results);
			r->forgotten += j->requested;
			job_free(j);
		} else {
			fifo_pop(&r->results);
			fifo_push(&kept, j);
		}
	}
	r->results = kept;
	r->nneeds = nneeds;
	for (int i = 0; i < r->nneeds; i++)
		r->needs[i].want = 0;
	return 0;
}

static void *keeper_main(void *arg)
{
	struct dispatch *d = arg;
	struct round *r = xcalloc(1, sizeof *r);
	r->d = d;
	r->claim = xmalloc(sizeof *r->claim);
	r->ids = xmalloc(sizeof *r->ids);
	reload_numbers(d, time_now_ms());
	d->reloaded_ms = time_now_ms();
	for (;;) {
		pthread_mutex_lock(&d->mu);
		if (!d->wake && d->results.n < DISPATCH_RESULTS_KICK && !(d->stop && d->sender_done)) {
			struct timespec ts;
			deadline_in(&ts, (int64_t)DISPATCH_TICK_MS * 1000000LL);
			pthread_cond_timedwait(&d->keeper_cv, &d->mu, &ts);
		}
		int wake = d->wake;
		d->wake = 0;
		int stop = d->stop, sender_done = d->sender_done;
		r->results = d->results;
		d->results = (struct fifo){NULL, NULL, 0};
		r->nneeds = 0;
		for (int i = 0; i < d->nnums; i++) {
			struct dnum *n = d->nums[i];
			struct need *nd = &r->needs[r->nneeds++];
			memset(nd, 0, sizeof *nd);
			nd->num = n;
			/* the held list does not count: the keeper goes on claiming
			 * other people's messages while one person's wait */
			int have = n->q[0].n + n->q[1].n;
			int target = queue_target(n->rate);
			if (!stop && n->usable && !n->paused && have <= target / 2)
				nd->want = target - have;
		}
		pthread_mutex_unlock(&d->mu);

		int64_t now = time_now_ms();
		r->now = now;
		int any = r->results.n > 0;
		for (int i = 0; i < r->nneeds; i++) {
			struct need *nd = &r->needs[i];
			struct dnum *n = nd->num;
			if (nd->want <= 0)
				continue;
			if (wake || !n->due || now - n->due_checked_ms >= DISPATCH_DUE_CHECK_MS) {
				int64_t one = 0;
				struct store_val a[] = {SV_TEXT(n->id), SV_INT(now)};
				int rc = store_query_int(d->st, "outbox.due_any", a, 2, &one);
				n->due = rc == 0 && one == 1;
				n->due_checked_ms = now;
			}
			if (!n->due)
				nd->want = 0;
			else
				any = 1;
		}
		r->sweep = !stop && now - d->swept_ms >= DISPATCH_SWEEP_MS;
		r->reclaim = !stop && !d->reclaim_done && now >= d->boot_ms + d->grace_ms;
		if (r->sweep || r->reclaim)
			any = 1;

		if (any) {
			int rc = run_round(d, r);
			if (rc) {
				pthread_mutex_lock(&d->mu);
				fifo_splice(&r->results, &d->results);
				d->results = r->results;
				r->results = (struct fifo){NULL, NULL, 0};
				pthread_mutex_unlock(&d->mu);
			} else {
				if (r->sweep)
					d->swept_ms = now;
				if (r->reclaim && !r->reclaim_more) {
					d->reclaim_done = 1;
					if (r->reclaimed)
						log_info("dispatch",
							 "%llu messages left sending by the previous "
							 "run had no evidence of being sent: queued "
							 "again",
							 (unsigned long long)r->reclaimed);
				}
				atomic_fetch_add(&d->sent, r->sent);
				atomic_fetch_add(&d->retried, r->retried);
				atomic_fetch_add(&d->deferred, r->deferred);
				atomic_fetch_add(&d->failed, r->failed);
				atomic_fetch_add(&d->cancelled, r->cancelled);
				atomic_fetch_add(&d->expired, r->expired);
				atomic_fetch_add(&d->claimed, r->claimed);
				atomic_fetch_add(&d->reclaimed, r->reclaimed);
				atomic_fetch_add(&d->rechecked, r->rechecked);
				int recorded = r->forgotten;
				for (struct job *j = r->results.head; j; j = j->next)
					recorded += j->requested;
				fifo_free(&r->results);
				pthread_mutex_lock(&d->mu);
				/* on disk now: room for as many new requests */
				d->unrecorded -= recorded;
				for (int i = 0; i < r->nneeds; i++) {
					struct need *nd = &r->needs[i];
					struct dnum *n = nd->num;
					if (nd->want > 0 && nd->drained)
						n->due = 0;
					if (nd->slow)
						n->slow_until_ms = now + DISPATCH_SLOW_MS;
					if (nd->pause)
						n->paused = 1;
					for (int p = 0; p < 2; p++) {
						if (d->stop || n->paused) {
							for (struct job *j = nd->jobs[p].head; j;
							     j = j->next)
								j->res = JR_RELEASE;
							fifo_splice(&d->results, &nd->jobs[p]);
						} else {
							fifo_splice(&n->q[p], &nd->jobs[p]);
						}
					}
					if (n->paused)
						release_queued(d, n);
				}
				d->kick = 1;
				pthread_cond_signal(&d->sender_cv);
				pthread_mutex_unlock(&d->mu);
			}
			round_reset_counts(r);
		}
		if (stop) {
			pthread_mutex_lock(&d->mu);
			int left = d->results.n;
			sender_done = d->sender_done;
			pthread_mutex_unlock(&d->mu);
			if (sender_done && left == 0 && r->results.n == 0)
				break;
		}
		if (!stop && now - d->reloaded_ms >= DISPATCH_RELOAD_MS) {
			reload_numbers(d, now);
			d->reloaded_ms = now;
		}
	}
	free(r->claim);
	free(r->ids);
	free(r);
	return NULL;
}

/* ---- template synchronisation ---- */

static void *syncer_main(void *arg)
{
	struct dispatch *d = arg;
	for (;;) {
		int n = 0;
		int rc = template_sync(d->st, d->key, &d->wcfg, NULL, &n);
		if (rc)
			log_warn("dispatch", "template synchronisation failed: %s", cw_strerror(rc));
		else
			log_info("dispatch", "template registry synchronised: %d templates", n);
		pthread_mutex_lock(&d->mu);
		if (!d->stop) {
			struct timespec ts;
			deadline_in(&ts, DISPATCH_TEMPLATE_SYNC_MS * 1000000LL);
			pthread_cond_timedwait(&d->sync_cv, &d->mu, &ts);
		}
		int stop = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
	}
	return NULL;
}

/* ---- life cycle ---- */

struct dispatch *dispatch_new(struct store *st, const uint8_t key[SEC_KEY_BYTES],
			      const struct wa_client_config *wcfg)
{
	struct dispatch *d = xcalloc(1, sizeof *d);
	d->st = st;
	memcpy(d->key, key, SEC_KEY_BYTES);
	if (wcfg)
		d->wcfg = *wcfg;
	d->graph_url = xstrdup(d->wcfg.graph_url);
	d->api_version = xstrdup(d->wcfg.api_version);
	d->wcfg.graph_url = d->graph_url;
	d->wcfg.api_version = d->api_version;
	if (d->wcfg.max_inflight < DISPATCH_INFLIGHT)
		d->wcfg.max_inflight = DISPATCH_INFLIGHT;
	d->client = wa_client_new(&d->wcfg);
	if (!d->client) {
		log_error("dispatch", "the Cloud API client cannot be configured (graph_url %s)",
			  d->graph_url ? d->graph_url : WA_CLIENT_DEFAULT_GRAPH_URL);
		free(d->graph_url);
		free(d->api_version);
		free(d);
		return NULL;
	}
	outbox_retry_defaults(&d->retry);
	d->grace_ms = DISPATCH_GRACE_MS;
	const char *g = getenv("CAREWIRE_DISPATCH_GRACE_MS");
	if (g && *g) {
		char *end = NULL;
		long long v = strtoll(g, &end, 10);
		if (end && !*end && v >= 0)
			d->grace_ms = v;
	}
	d->template_sync = 1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->keeper_cv, NULL);
	pthread_cond_init(&d->sender_cv, NULL);
	pthread_cond_init(&d->sync_cv, NULL);
	d->pair_key = xcalloc(DISPATCH_PAIR_SLOTS, sizeof *d->pair_key);
	d->pair_at = xcalloc(DISPATCH_PAIR_SLOTS, sizeof *d->pair_at);
	d->busy = xcalloc(DISPATCH_PAIR_SLOTS, sizeof *d->busy);
	d->busy_until = xcalloc(DISPATCH_PAIR_SLOTS, sizeof *d->busy_until);
	d->held_max = DISPATCH_HELD_MAX;
	return d;
}

void dispatch_set_grace(struct dispatch *d, int64_t ms)
{
	d->grace_ms = ms < 0 ? 0 : ms;
}

void dispatch_set_held_max(struct dispatch *d, int n)
{
	d->held_max = n < 1 ? 1 : n;
}

void dispatch_set_retry(struct dispatch *d, const struct outbox_retry *r)
{
	d->retry = *r;
}

void dispatch_set_template_sync(struct dispatch *d, int on)
{
	d->template_sync = on;
}

int dispatch_start(struct dispatch *d)
{
	if (!d)
		return CW_EINVAL;
	d->boot_ms = time_now_ms();
	int64_t orphans = 0;
	struct store_val a[] = {SV_INT(d->boot_ms)};
	if (store_query_int(d->st, "outbox.count_sending", a, 1, &orphans) == 0 && orphans > 0)
		log_info("dispatch",
			 "%lld messages were being sent when carewire stopped: waiting up to %lld ms "
			 "for their status webhooks before sending them again",
			 (long long)orphans, (long long)d->grace_ms);
	else
		d->reclaim_done = 1;
	if (pthread_create(&d->keeper, NULL, keeper_main, d) != 0)
		return CW_EINTERNAL;
	d->keeper_on = 1;
	if (pthread_create(&d->sender, NULL, sender_main, d) != 0)
		return CW_EINTERNAL;
	d->sender_on = 1;
	if (d->template_sync) {
		if (pthread_create(&d->syncer, NULL, syncer_main, d) != 0)
			return CW_EINTERNAL;
		d->syncer_on = 1;
	}
	return 0;
}

void dispatch_wake(struct dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->wake = 1;
	pthread_cond_signal(&d->keeper_cv);
	pthread_mutex_unlock(&d->mu);
}

void dispatch_get_stats(struct dispatch *d, struct dispatch_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!d)
		return;
	out->claimed = atomic_load(&d->claimed);
	out->requests = atomic_load(&d->requests);
	out->sent = atomic_load(&d->sent);
	out->retried = atomic_load(&d->retried);
	out->deferred = atomic_load(&d->deferred);
	out->failed = atomic_load(&d->failed);
	out->cancelled = atomic_load(&d->cancelled);
	out->expired = atomic_load(&d->expired);
	out->reclaimed = atomic_load(&d->reclaimed);
	out->rechecked = atomic_load(&d->rechecked);
	pthread_mutex_lock(&d->mu);
	out->inflight = d->inflight;
	for (int i = 0; i < d->nnums; i++)
		out->queued += jobs_held(d->nums[i]);
	pthread_mutex_unlock(&d->mu);
}

/* ---- /metrics ---- */

/* The counters of struct dispatch_stats, as Prometheus exports them. */
static const struct {
	const char *name;
	const char *help;
	size_t off;
} metric_counters[] = {
	{"claimed", "Outbox rows taken for sending.", offsetof(struct dispatch_stats, claimed)},
	{"requests", "Requests made to the Cloud API, retries included.",
	 offsetof(struct dispatch_stats, requests)},
	{"sent", "Requests the Cloud API accepted.", offsetof(struct dispatch_stats, sent)},
	{"retried", "Failed sends queued again (back-off, fallback template, pause).",
	 offsetof(struct dispatch_stats, retried)},
	{"deferred", "Messages held for a recipient or deferred again by policy.",
	 offsetof(struct dispatch_stats, deferred)},
	{"failed", "Messages failed for good.", offsetof(struct dispatch_stats, failed)},
	{"cancelled", "Messages denied when they came due (consent, erasure, policy).",
	 offsetof(struct dispatch_stats, cancelled)},
	{"expired", "Messages not sent before their useful time.",
	 offsetof(struct dispatch_stats, expired)},
	{"reclaimed", "Rows left sending by a crash and queued again.",
	 offsetof(struct dispatch_stats, reclaimed)},
	{"rechecked", "Deferred messages policy decided on again when they came due.",
	 offsetof(struct dispatch_stats, rechecked)},
};

struct num_gauge {
	char id[ID_SIZE];
	int paused;
	double rate;
};

int dispatch_metrics(struct dispatch *d, struct buf *out)
{
	if (!d)
		return 0;
	struct dispatch_stats st;
	dispatch_get_stats(d, &st);
	int rc = 0;
	for (size_t i = 0; i < sizeof metric_counters / sizeof metric_counters[0] && !rc; i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + metric_counters[i].off, sizeof v);
		rc = buf_printf(out,
				"# HELP carewire_dispatch_%s_total %s\n"
				"# TYPE carewire_dispatch_%s_total counter\n"
				"carewire_dispatch_%s_total %llu\n",
				metric_counters[i].name, metric_counters[i].help,
				metric_counters[i].name, metric_counters[i].name,
				(unsigned long long)v);
	}
	if (!rc)
		rc = buf_printf(out,
				"# HELP carewire_dispatch_inflight Requests running now.\n"
				"# TYPE carewire_dispatch_inflight gauge\n"
				"carewire_dispatch_inflight %d\n"
				"# HELP carewire_dispatch_queued Claimed rows waiting for a token.\n"
				"# TYPE carewire_dispatch_queued gauge\n"
				"carewire_dispatch_queued %d\n",
				st.inflight, st.queued);
	if (rc)
		return rc;

	/* A copy under the lock; printed after it. */
	struct num_gauge *g = NULL;
	int n = 0;
	int64_t now = time_now_ms();
	pthread_mutex_lock(&d->mu);
	if (d->nnums > 0) {
		g = xcalloc((size_t)d->nnums, sizeof *g);
		for (n = 0; n < d->nnums; n++) {
			const struct dnum *x = d->nums[n];
			snprintf(g[n].id, sizeof g[n].id, "%s", x->id);
			g[n].paused = x->paused || !x->usable;
			g[n].rate = (double)x->rate *
				    (x->slow_until_ms > now ? DISPATCH_SLOW_FACTOR : 1.0);
		}
	}
	pthread_mutex_unlock(&d->mu);
	rc = buf_puts(out, "# HELP carewire_dispatch_number_paused 1 while nothing is sent from "
			   "the number (paused, or no usable token).\n"
			   "# TYPE carewire_dispatch_number_paused gauge\n");
	for (int i = 0; i < n && !rc; i++)
		rc = buf_printf(out, "carewire_dispatch_number_paused{number=\"%s\"} %d\n", g[i].id,
				g[i].paused);
	if (!rc)
		rc = buf_puts(out, "# HELP carewire_dispatch_number_rate Messages a second the "
				   "number may send now.\n"
				   "# TYPE carewire_dispatch_number_rate gauge\n");
	for (int i = 0; i < n && !rc; i++)
		rc = buf_printf(out, "carewire_dispatch_number_rate{number=\"%s\"} %g\n", g[i].id,
				g[i].rate);
	free(g);
	return rc;
}

void dispatch_free(struct dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->keeper_cv);
	pthread_cond_broadcast(&d->sender_cv);
	pthread_cond_broadcast(&d->sync_cv);
	if (!d->sender_on)
		d->sender_done = 1;
	pthread_mutex_unlock(&d->mu);
	if (d->sender_on)
		pthread_join(d->sender, NULL);
	if (d->keeper_on)
		pthread_join(d->keeper, NULL);
	if (d->syncer_on)
		pthread_join(d->syncer, NULL);
	wa_client_free(d->client);
	fifo_free(&d->results);
	for (int i = 0; i < d->nnums; i++) {
		struct dnum *n = d->nums[i];
		fifo_free(&n->q[0]);
		fifo_free(&n->q[1]);
		fifo_free(&n->held);
		if (n->token) {
			memset(n->token, 0, strlen(n->token));
			free(n->token);
		}
		free(n);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->keeper_cv);
	pthread_cond_destroy(&d->sender_cv);
	pthread_cond_destroy(&d->sync_cv);
	free(d->pair_key);
	free(d->pair_at);
	free(d->busy);
	free(d->busy_until);
	free(d->graph_url);
	free(d->api_version);
	memset(d->key, 0, sizeof d->key);
	free(d);
}
