/*
 * sim_hook.c — the simulator's webhook delivery threads (see sim_hook.h).
 *
 * One min-heap ordered by (due, seq) holds two kinds of items: jobs (handed
 * to the simulator's job function when due) and payloads (POSTed when due,
 * and pushed back with a later due time when the receiver did not answer
 * 200). The timer thread takes every due item under the lock, runs the jobs
 * without it (they fill a batch that becomes payloads) and hands due
 * payloads to SIM_HOOK_SENDERS sender threads, each with one reused libcurl
 * handle (keep-alive to the receiver). Payloads are sharded by phone number,
 * so one number's webhooks keep their order (until a retry) while several
 * numbers are delivered in parallel.
 */
#include "sim/sim_hook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "base/banned.h"

#define HOOK_DRAIN_MAX	  4096 /* items taken per turn */
#define HOOK_BATCH_GROUPS 16   /* phone numbers in one batch; more flush early */
#define HOOK_DUP_DELAY_MS 50   /* a duplicate follows within this */

enum hook_kind { HOOK_JOB, HOOK_POST };

struct hook_item {
	struct hook_item *next; /* in a sender's queue */
	int64_t due;
	uint64_t seq;
	enum hook_kind kind;
	int clearable;
	void *arg;  /* HOOK_JOB */
	char *body; /* HOOK_POST: the exact bytes sent and signed */
	size_t len;
	int attempts;
	unsigned shard; /* the sender that posts it */
};

struct sim_batch {
	struct sim_hook *h;
	int reorder; /* read once per turn */
	int ngroups;
	struct {
		char waba[40];
		char pnid[40];
		char display[40];
		json_t *statuses;
	} g[HOOK_BATCH_GROUPS];
	json_t *payloads; /* array */
};

struct hook_sender {
	struct sim_hook *h;
	pthread_t thread;
	pthread_cond_t cond; /* with sim_hook.mu */
	struct hook_item *head, *tail;
	int started;
};

struct sim_hook {
	pthread_mutex_t mu;  /* the heap, the sender queues, the settings */
	pthread_cond_t cond; /* the timer thread's */
	pthread_t thread;
	int started;
	atomic_int stop;
	struct hook_sender senders[SIM_HOOK_SENDERS];
	size_t queued; /* items in sender queues */

	sim_hook_fn fn;
	void *ud;
	char *url;
	char *secret;
	int retry_ms;
	int attempts;
	double duplicates;
	int reorder;

	struct hook_item **heap;
	size_t n, cap;
	uint64_t seq;

	struct sim_hook_counts counts;
};

/* ---- heap ---- */

static int item_less(const struct hook_item *a, const struct hook_item *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_up(struct sim_hook *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!item_less(h->heap[i], h->heap[p]))
			break;
		struct hook_item *t = h->heap[i];
		h->heap[i] = h->heap[p];
		h->heap[p] = t;
		i = p;
	}
}

static void heap_down(struct sim_hook *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && item_less(h->heap[l], h->heap[m]))
			m = l;
		if (r < h->n && item_less(h->heap[r], h->heap[m]))
			m = r;
		if (m == i)
			return;
		struct hook_item *t = h->heap[i];
		h->heap[i] = h->heap[m];
		h->heap[m] = t;
		i = m;
	}
}

/* Called with the lock held. Takes ownership of it, also on failure. */
static int heap_push_locked(struct sim_hook *h, struct hook_item *it)
{
	if (h->n + h->queued >= SIM_HOOK_QUEUE_MAX || atomic_load(&h->stop)) {
		h->counts.dropped++;
		free(it->arg);
		free(it->body);
		free(it);
		return CW_ETOOBIG;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 256;
		h->heap = xrealloc(h->heap, h->cap * sizeof *h->heap);
	}
	it->seq = h->seq++;
	h->heap[h->n++] = it;
	heap_up(h, h->n - 1);
	if (h->heap[0] == it)
		pthread_cond_signal(&h->cond);
	return 0;
}

static struct hook_item *heap_pop_locked(struct sim_hook *h)
{
	struct hook_item *top = h->heap[0];
	h->heap[0] = h->heap[--h->n];
	if (h->n)
		heap_down(h, 0);
	return top;
}

static void item_free(struct hook_item *it)
{
	if (!it)
		return;
	free(it->arg);
	free(it->body);
	free(it);
}

static uint32_t rand_below(uint32_t n)
{
	return n ? sec_random_u32(n) : 0;
}

static int roll(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	return sec_random_u32(1000000) < (uint32_t)(p * 1000000.0);
}

/* ---- public: set-up ---- */

struct sim_hook *sim_hook_new(const struct sim_hook_config *cfg, sim_hook_fn fn, void *ud)
{
	struct sim_hook *h = xcalloc(1, sizeof *h);
	pthread_condattr_t ca;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&h->stop, 0);
	for (int i = 0; i < SIM_HOOK_SENDERS; i++) {
		h->senders[i].h = h;
		pthread_cond_init(&h->senders[i].cond, NULL);
	}
	h->fn = fn;
	h->ud = ud;
	h->url = cfg->url && *cfg->url ? xstrdup(cfg->url) : NULL;
	h->secret = cfg->secret && *cfg->secret ? xstrdup(cfg->secret) : NULL;
	h->retry_ms = cfg->retry_ms > 0 ? cfg->retry_ms : 500;
	h->attempts = cfg->attempts > 0 ? cfg->attempts : 1;
	return h;
}

void sim_hook_set_url(struct sim_hook *h, const char *url)
{
	pthread_mutex_lock(&h->mu);
	free(h->url);
	h->url = url && *url ? xstrdup(url) : NULL;
	pthread_mutex_unlock(&h->mu);
}

void sim_hook_set_faults(struct sim_hook *h, double duplicates, int reorder)
{
	pthread_mutex_lock(&h->mu);
	h->duplicates = duplicates;
	h->reorder = reorder;
	pthread_mutex_unlock(&h->mu);
}

int sim_hook_job(struct sim_hook *h, int64_t delay_ms, void *arg, int clearable)
{
	struct hook_item *it = xcalloc(1, sizeof *it);
	it->kind = HOOK_JOB;
	it->arg = arg;
	it->clearable = clearable;
	it->due = time_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	pthread_mutex_lock(&h->mu);
	int rc = heap_push_locked(h, it);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

static unsigned shard_of(const char *key)
{
	uint32_t x = 2166136261u;
	for (const char *p = key ? key : ""; *p; p++)
		x = (x ^ (unsigned char)*p) * 16777619u;
	return x % SIM_HOOK_SENDERS;
}

/* Serialises payload into POST items: the original and, by chance, a
 * duplicate. key picks the sender (the phone number id). Takes ownership of
 * payload. Called without the lock. */
static int queue_payload(struct sim_hook *h, json_t *payload, const char *key)
{
	unsigned shard = shard_of(key);
	char *body = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!body)
		return CW_ENOMEM;
	int rc = 0;
	pthread_mutex_lock(&h->mu);
	if (!h->url) {
		pthread_mutex_unlock(&h->mu);
		free(body);
		return 0;
	}
	int64_t now = time_mono_ms();
	struct hook_item *it = xcalloc(1, sizeof *it);
	it->kind = HOOK_POST;
	it->len = strlen(body);
	it->body = body;
	it->shard = shard;
	it->due = now + (h->reorder ? rand_below(SIM_HOOK_REORDER_MS) : 0);
	int64_t first_due = it->due;
	rc = heap_push_locked(h, it);
	if (rc == 0 && roll(h->duplicates)) {
		struct hook_item *d = xcalloc(1, sizeof *d);
		d->kind = HOOK_POST;
		d->body = xstrdup(body);
		d->len = strlen(body);
		d->shard = shard;
		d->due = first_due + 1 +
			 rand_below(h->reorder ? SIM_HOOK_REORDER_MS : HOOK_DUP_DELAY_MS);
		if (heap_push_locked(h, d) == 0)
			h->counts.duplicates++;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int sim_hook_send(struct sim_hook *h, json_t *payload)
{
	const char *key = json_string_value(
	    json_path(payload, "entry.0.changes.0.value.metadata.phone_number_id"));
	if (!key)
		key = json_string_value(json_path(payload, "entry.0.id"));
	return queue_payload(h, payload, key);
}

/* Frees what waits in the sender queues. Called with the lock held. */
static void drop_queues_locked(struct sim_hook *h)
{
	for (int i = 0; i < SIM_HOOK_SENDERS; i++) {
		struct hook_sender *snd = &h->senders[i];
		while (snd->head) {
			struct hook_item *it = snd->head;
			snd->head = it->next;
			item_free(it);
		}
		snd->tail = NULL;
	}
	h->queued = 0;
}

void sim_hook_clear(struct sim_hook *h)
{
	pthread_mutex_lock(&h->mu);
	size_t keep = 0;
	for (size_t i = 0; i < h->n; i++) {
		struct hook_item *it = h->heap[i];
		if (it->kind == HOOK_JOB && !it->clearable)
			h->heap[keep++] = it;
		else
			item_free(it);
	}
	h->n = keep;
	/* Rebuild the heap property over what was kept. */
	for (size_t i = h->n / 2; i-- > 0;)
		heap_down(h, i);
	drop_queues_locked(h);
	pthread_mutex_unlock(&h->mu);
}

void sim_hook_get_counts(struct sim_hook *h, struct sim_hook_counts *out)
{
	pthread_mutex_lock(&h->mu);
	*out = h->counts;
	out->pending = h->n + h->queued;
	pthread_mutex_unlock(&h->mu);
}

void sim_hook_reset_counts(struct sim_hook *h)
{
	pthread_mutex_lock(&h->mu);
	memset(&h->counts, 0, sizeof h->counts);
	pthread_mutex_unlock(&h->mu);
}

/* ---- payload shapes ---- */

json_t *sim_hook_envelope(const char *waba, const char *field, json_t *value, int64_t time_s)
{
	json_t *entry = json_pack("{s:s, s:[{s:o, s:s}]}", "id", waba, "changes", "value", value,
				  "field", field);
	if (entry && time_s > 0)
		json_object_set_new(entry, "time", json_integer(time_s));
	return json_pack("{s:s, s:[o]}", "object", "whatsapp_business_account", "entry", entry);
}

json_t *sim_hook_value(const char *pnid, const char *display)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "messaging_product", "whatsapp", "metadata",
			 "display_phone_number", display, "phone_number_id", pnid);
}

/* ---- batches ---- */

void sim_batch_payload(struct sim_batch *b, json_t *payload)
{
	if (payload)
		json_array_append_new(b->payloads, payload);
}

static void batch_flush_group(struct sim_batch *b, int i, int reorder)
{
	size_t n = json_array_size(b->g[i].statuses);
	size_t per = reorder ? 1 : SIM_HOOK_BATCH_MAX;
	for (size_t at = 0; at < n; at += per) {
		json_t *chunk = json_array();
		for (size_t k = at; k < n && k < at + per; k++)
			json_array_append(chunk, json_array_get(b->g[i].statuses, k));
		json_t *value = sim_hook_value(b->g[i].pnid, b->g[i].display);
		json_object_set_new(value, "statuses", chunk);
		queue_payload(b->h, sim_hook_envelope(b->g[i].waba, "messages", value, 0),
			      b->g[i].pnid);
	}
	json_decref(b->g[i].statuses);
	b->g[i].statuses = NULL;
}

void sim_batch_status(struct sim_batch *b, const char *waba, const char *pnid, const char *display,
		      json_t *status)
{
	int i;
	for (i = 0; i < b->ngroups; i++)
		if (strcmp(b->g[i].pnid, pnid) == 0 && strcmp(b->g[i].waba, waba) == 0)
			break;
	if (i == b->ngroups) {
		if (b->ngroups == HOOK_BATCH_GROUPS) {
			/* Full: send the oldest group now and reuse its slot. */
			batch_flush_group(b, 0, b->reorder);
			i = 0;
		} else {
			b->ngroups++;
		}
		snprintf(b->g[i].waba, sizeof b->g[i].waba, "%s", waba);
		snprintf(b->g[i].pnid, sizeof b->g[i].pnid, "%s", pnid);
		snprintf(b->g[i].display, sizeof b->g[i].display, "%s", display);
		b->g[i].statuses = json_array();
	}
	json_array_append_new(b->g[i].statuses, status);
	if (json_array_size(b->g[i].statuses) >= SIM_HOOK_BATCH_MAX)
		batch_flush_group(b, i, b->reorder);
	if (!b->g[i].statuses)
		b->g[i].statuses = json_array();
}

static void batch_flush(struct sim_batch *b)
{
	int reorder = b->reorder;
	for (int i = 0; i < b->ngroups; i++)
		if (json_array_size(b->g[i].statuses))
			batch_flush_group(b, i, reorder);
		else {
			json_decref(b->g[i].statuses);
			b->g[i].statuses = NULL;
		}
	b->ngroups = 0;
	size_t n = json_array_size(b->payloads);
	size_t *order = xmalloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (reorder)
		for (size_t i = n; i > 1; i--) {
			size_t j = rand_below((uint32_t)i);
			size_t t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
	for (size_t i = 0; i < n; i++)
		sim_hook_send(b->h, json_incref(json_array_get(b->payloads, order[i])));
	free(order);
	json_array_clear(b->payloads);
}

/* ---- sending ---- */

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static int abort_on_stop(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	struct sim_hook *h = ud;
	return atomic_load(&h->stop) ? 1 : 0;
}

/* POSTs one payload. Returns the HTTP status, or 0 when there was none. */
static long post_one(struct sim_hook *h, CURL *curl, const char *url, const struct hook_item *it)
{
	struct curl_slist *hdrs = NULL;
	char sig[96];
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (h->secret) {
		char hex[65];
		sec_hmac_sha256_hex(h->secret, strlen(h->secret), it->body, it->len, hex);
		snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", hex);
		hdrs = curl_slist_append(hdrs, sig);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else if (!atomic_load(&h->stop))
		log_debug("sim", "webhook POST failed: %s", curl_easy_strerror(cc));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return status;
}

static void deliver(struct sim_hook *h, CURL *curl, struct hook_item *it)
{
	pthread_mutex_lock(&h->mu);
	char *url = h->url ? xstrdup(h->url) : NULL;
	pthread_mutex_unlock(&h->mu);
	if (!url) {
		item_free(it);
		return;
	}
	long status = post_one(h, curl, url, it);
	free(url);
	it->attempts++;
	pthread_mutex_lock(&h->mu);
	if (status == 200) {
		h->counts.sent++;
		item_free(it);
	} else if (atomic_load(&h->stop)) {
		item_free(it);
	} else if (it->attempts >= h->attempts) {
		h->counts.failed++;
		log_warn("sim", "webhook dropped after %d attempts (last status %ld)", it->attempts,
			 status);
		item_free(it);
	} else {
		int64_t delay = (int64_t)h->retry_ms
				<< (it->attempts - 1 < 16 ? it->attempts - 1 : 16);
		if (delay > SIM_HOOK_RETRY_CAP_MS)
			delay = SIM_HOOK_RETRY_CAP_MS;
		it->due = time_mono_ms() + delay;
		if (heap_push_locked(h, it) == 0)
			h->counts.retried++;
	}
	pthread_mutex_unlock(&h->mu);
}

static CURL *sender_curl(struct sim_hook *h)
{
	CURL *curl = curl_easy_init();
	if (!curl) {
		log_error("sim", "curl_easy_init failed; webhooks will not be delivered");
		return NULL;
	}
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SIM_HOOK_HTTP_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)SIM_HOOK_HTTP_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "facebookexternalua");
	return curl;
}

static void *sender_main(void *arg)
{
	struct hook_sender *snd = arg;
	struct sim_hook *h = snd->h;
	CURL *curl = sender_curl(h);
	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stop)) {
		struct hook_item *it = snd->head;
		if (!it) {
			pthread_cond_wait(&snd->cond, &h->mu);
			continue;
		}
		snd->head = it->next;
		if (!snd->head)
			snd->tail = NULL;
		h->queued--;
		pthread_mutex_unlock(&h->mu);
		if (curl)
			deliver(h, curl, it);
		else
			item_free(it);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

static void *timer_main(void *arg)
{
	struct sim_hook *h = arg;
	struct hook_item **items = xmalloc(HOOK_DRAIN_MAX * sizeof *items);
	struct sim_batch *b = xcalloc(1, sizeof *b);
	b->h = h;
	b->payloads = json_array();

	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stop)) {
		if (h->n == 0) {
			pthread_cond_wait(&h->cond, &h->mu);
			continue;
		}
		int64_t now = time_mono_ms();
		if (h->heap[0]->due > now) {
			int64_t due = h->heap[0]->due;
			struct timespec ts = {.tv_sec = due / 1000,
					      .tv_nsec = (due % 1000) * 1000000};
			pthread_cond_timedwait(&h->cond, &h->mu, &ts);
			continue;
		}
		size_t n = 0;
		while (n < HOOK_DRAIN_MAX && h->n && h->heap[0]->due <= now) {
			struct hook_item *it = heap_pop_locked(h);
			if (it->kind == HOOK_JOB) {
				items[n++] = it;
				continue;
			}
			struct hook_sender *snd = &h->senders[it->shard];
			it->next = NULL;
			if (snd->tail)
				snd->tail->next = it;
			else
				snd->head = it;
			snd->tail = it;
			h->queued++;
			pthread_cond_signal(&snd->cond);
		}
		b->reorder = h->reorder;
		pthread_mutex_unlock(&h->mu);

		for (size_t i = 0; i < n; i++) {
			if (!atomic_load(&h->stop))
				h->fn(h->ud, items[i]->arg, b);
			item_free(items[i]);
		}
		batch_flush(b);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);

	for (int i = 0; i < b->ngroups; i++)
		json_decref(b->g[i].statuses);
	json_decref(b->payloads);
	free(b);
	free(items);
	return NULL;
}

int sim_hook_start(struct sim_hook *h)
{
	if (h->started)
		return 0;
	for (int i = 0; i < SIM_HOOK_SENDERS; i++) {
		struct hook_sender *snd = &h->senders[i];
		if (pthread_create(&snd->thread, NULL, sender_main, snd) != 0)
			goto fail;
		snd->started = 1;
	}
	if (pthread_create(&h->thread, NULL, timer_main, h) != 0)
		goto fail;
	h->started = 1;
	return 0;
fail:
	log_error("sim", "cannot start the webhook threads");
	sim_hook_stop(h);
	return CW_EIO;
}

void sim_hook_stop(struct sim_hook *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->stop, 1);
	pthread_cond_broadcast(&h->cond);
	for (int i = 0; i < SIM_HOOK_SENDERS; i++)
		pthread_cond_broadcast(&h->senders[i].cond);
	pthread_mutex_unlock(&h->mu);
	if (h->started) {
		pthread_join(h->thread, NULL);
		h->started = 0;
	}
	for (int i = 0; i < SIM_HOOK_SENDERS; i++)
		if (h->senders[i].started) {
			pthread_join(h->senders[i].thread, NULL);
			h->senders[i].started = 0;
		}
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++)
		item_free(h->heap[i]);
	h->n = 0;
	drop_queues_locked(h);
	pthread_mutex_unlock(&h->mu);
}

void sim_hook_free(struct sim_hook *h)
{
	if (!h)
		return;
	sim_hook_stop(h);
	free(h->heap);
	free(h->url);
	free(h->secret);
	for (int i = 0; i < SIM_HOOK_SENDERS; i++)
		pthread_cond_destroy(&h->senders[i].cond);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
