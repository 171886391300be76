/*
 * sim_hook.h — the simulator's webhook delivery: a timer queue and threads
 * that POST signed webhooks the way Meta does.
 *
 * Place: src/sim, private to the simulator. sim.c schedules jobs (a status
 * that becomes due, a template that gets approved) with sim_hook_job(); when
 * a job is due the delivery thread calls the job function given to
 * sim_hook_new(), which applies it to the simulator's state and adds what
 * Meta would report (a status object, a whole payload) to a batch. Statuses
 * due together for one phone number travel in one payload, as Meta batches
 * them. Every payload is serialised once, signed (X-Hub-Signature-256 over
 * those exact bytes) and POSTed; anything but 200 is retried with doubling
 * back-off up to a number of attempts, then dropped with a log line. On
 * request some payloads are sent twice (duplicates) and payloads are jittered
 * and not batched so that they arrive out of order (reorder).
 *
 * Lock order: a caller may hold its own lock while calling sim_hook_job() or
 * sim_hook_send(); the delivery thread never holds the hook's lock while it
 * runs a job or sends.
 */
#ifndef CW_SIM_HOOK_H
#define CW_SIM_HOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_HOOK_QUEUE_MAX	 262144 /* jobs and payloads waiting */
#define SIM_HOOK_SENDERS	 4	/* parallel POSTs (payloads sharded by number) */
#define SIM_HOOK_BATCH_MAX	 50	/* statuses in one payload */
#define SIM_HOOK_REORDER_MS	 300	/* jitter window when reordering */
#define SIM_HOOK_HTTP_TIMEOUT_MS 5000
#define SIM_HOOK_RETRY_CAP_MS	 30000

struct sim_hook;
struct sim_batch;

/* Called on the delivery thread when a job is due. arg is the job's block;
 * the hook free()s it after the call. */
typedef void (*sim_hook_fn)(void *ud, void *arg, struct sim_batch *b);

struct sim_hook_config {
	const char *url;    /* NULL: no deliveries until sim_hook_set_url() */
	const char *secret; /* NULL or "": unsigned */
	int retry_ms;	    /* first retry delay, > 0 */
	int attempts;	    /* attempts before a payload is dropped, > 0 */
};

struct sim_hook_counts {
	uint64_t sent;	     /* POSTs answered 200 */
	uint64_t failed;     /* payloads dropped after the last attempt */
	uint64_t retried;    /* retries scheduled */
	uint64_t duplicates; /* extra copies sent on purpose */
	uint64_t dropped;    /* jobs or payloads refused because the queue was full */
	uint64_t pending;    /* jobs and payloads in the queue now */
};

/* Returns a new hook (caller frees with sim_hook_free()); cfg is copied. */
struct sim_hook *sim_hook_new(const struct sim_hook_config *cfg, sim_hook_fn fn, void *ud);
/* Starts the timer thread and the sender threads. Returns 0 or CW_EIO. */
int sim_hook_start(struct sim_hook *h);
/* Stops the threads (an in-flight POST is aborted) and drops what is queued.
 * Idempotent. */
void sim_hook_stop(struct sim_hook *h);
/* Stops and frees. Accepts NULL. */
void sim_hook_free(struct sim_hook *h);

/* Sets the URL (copied; NULL: payloads are no longer made or sent). */
void sim_hook_set_url(struct sim_hook *h, const char *url);
/* Duplicates: the fraction of payloads sent twice; reorder: jitter and do
 * not batch. */
void sim_hook_set_faults(struct sim_hook *h, double duplicates, int reorder);

/* Schedules a job delay_ms from now. Takes ownership of arg (one malloc'd
 * block). clearable jobs are dropped by sim_hook_clear(). Returns 0, or
 * CW_ETOOBIG when the queue is full (arg is freed). */
int sim_hook_job(struct sim_hook *h, int64_t delay_ms, void *arg, int clearable);
/* Queues a whole webhook payload for delivery now (or jittered). Takes
 * ownership of payload. Returns 0 or CW_ETOOBIG. */
int sim_hook_send(struct sim_hook *h, json_t *payload);
/* Drops clearable jobs and every queued payload. */
void sim_hook_clear(struct sim_hook *h);
void sim_hook_get_counts(struct sim_hook *h, struct sim_hook_counts *out);
void sim_hook_reset_counts(struct sim_hook *h);

/* From a job function: adds a status object (takes ownership) for the phone
 * number pnid of WABA waba, to be sent in a "statuses" payload. */
void sim_batch_status(struct sim_batch *b, const char *waba, const char *pnid, const char *display,
		      json_t *status);
/* From a job function: adds a whole payload (takes ownership). */
void sim_batch_payload(struct sim_batch *b, json_t *payload);

/* Meta's envelope: {"object":"whatsapp_business_account","entry":[{"id":waba,
 * "changes":[{"value":value,"field":field}]}]}. Takes ownership of value;
 * returns a new reference. time_s > 0 adds entry[0].time (template updates). */
json_t *sim_hook_envelope(const char *waba, const char *field, json_t *value, int64_t time_s);
/* {"messaging_product":"whatsapp","metadata":{"display_phone_number",
 * "phone_number_id"}}: the start of a "messages" value. New reference. */
json_t *sim_hook_value(const char *pnid, const char *display);

#endif
