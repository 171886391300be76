/*
 * app.h — the composition root: one running carewire.
 *
 * struct app holds the services that make up a node (the store, webhook
 * ingest, the outbox and its dispatcher, ...) and the settings they share.
 * main.c builds one for `carewire serve` and `carewire demo`; the HTTP layer
 * reads it to reach the domain. It is a plain struct on purpose: it owns
 * nothing but pointers to services, each of which is opaque.
 */
#ifndef CW_APP_H
#define CW_APP_H

#include <stdint.h>

#include "base/config.h"
#include "base/sec.h"

struct store;
struct ingest;
struct outbox;
struct dispatch;
struct sched;
struct journey_engine;
struct campaigns;

struct app {
	const struct config *cfg; /* borrowed */
	struct store *st;
	struct ingest *ingest;
	struct outbox *outbox;     /* may be NULL until the outbox is wired */
	struct dispatch *dispatch; /* may be NULL (e.g. `carewire migrate`) */
	struct sched *sched;              /* timers (core/sched.h) */
	struct journey_engine *journeys;  /* core/journey.h */
	struct campaigns *campaigns;      /* core/campaign.h */
	uint8_t master_key[SEC_KEY_BYTES];
	int have_master_key;
	int demo; /* running `carewire demo`: seeded org, embedded simulator */
	char demo_org_id[32];
	int64_t started_ms;
};

/* Opens the store named in cfg, applies migrations and loads the master key
 * (from [security] master_key_file; in demo mode one is created under the
 * data dir when missing). Does not start threads. Returns 0 and a new app in
 * *out (caller frees with app_free()), or a negative cw_err with a log line. */
int app_open(const struct config *cfg, int demo, struct app **out);
/* Starts the ingest worker and the dispatcher. */
int app_start(struct app *app);
/* Stops threads and frees everything. Accepts NULL. */
void app_free(struct app *app);

#endif
