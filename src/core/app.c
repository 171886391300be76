/*
 * app.c — building and tearing down one running carewire (see app.h).
 */
#include "core/app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/campaign.h"
#include "core/dispatch.h"
#include "core/journey.h"
#include "core/sched.h"
#include "core/ingest.h"
#include "core/handlers.h"
#include "store/store.h"
#include "wa/client.h"
#include "base/banned.h"

/* Creates dir/master.key with a new random key when it does not exist. */
static int demo_key(const char *dir, uint8_t key[SEC_KEY_BYTES])
{
	char path[1024];
	snprintf(path, sizeof path, "%s/master.key", dir);
	if (sec_key_load(path, key) == 0)
		return 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return CW_EIO;
	sec_random(key, SEC_KEY_BYTES);
	char hex[2 * SEC_KEY_BYTES + 2];
	for (int i = 0; i < SEC_KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[2 * SEC_KEY_BYTES] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return CW_EIO;
	ssize_t n = write(fd, hex, 2 * SEC_KEY_BYTES + 1);
	close(fd);
	return n == 2 * SEC_KEY_BYTES + 1 ? 0 : CW_EIO;
}

static int load_key(struct app *app, int demo)
{
	const char *env = getenv("CAREWIRE_MASTER_KEY");
	if (env && *env) {
		if (sec_key_from_hex(env, app->master_key) != 0) {
			log_error("app", "CAREWIRE_MASTER_KEY must be 64 hex characters");
			return CW_EINVAL;
		}
		app->have_master_key = 1;
		return 0;
	}
	const char *file = app->cfg->security.master_key_file;
	if (file) {
		int rc = sec_key_load(file, app->master_key);
		if (rc) {
			log_error("app", "cannot read the master key file %s: %s", file,
				  cw_strerror(rc));
			return rc;
		}
		app->have_master_key = 1;
		return 0;
	}
	if (demo) {
		int rc = demo_key(app->cfg->demo.data_dir, app->master_key);
		if (rc)
			return rc;
		app->have_master_key = 1;
		return 0;
	}
	log_warn("app", "no master key ([security] master_key_file or CAREWIRE_MASTER_KEY): "
			"stored access tokens cannot be used");
	return 0;
}

int app_open(const struct config *cfg, int demo, struct app **out)
{
	struct app *app = xcalloc(1, sizeof *app);
	int rc;
	app->cfg = cfg;
	app->demo = demo;
	app->started_ms = time_now_ms();
	rc = store_open(cfg->store.url, &app->st);
	if (rc) {
		log_error("app", "cannot open the store: %s", cw_strerror(rc));
		goto fail;
	}
	rc = store_migrate(app->st, NULL);
	if (rc) {
		log_error("app", "migrations failed: %s", cw_strerror(rc));
		goto fail;
	}
	rc = load_key(app, demo);
	if (rc)
		goto fail;
	app->ingest = ingest_new(app->st);
	app->sched = sched_new(app->st);
	app->journeys = journey_engine_new(app->st, app->sched);
	app->campaigns = campaigns_new(app->journeys);
	struct wa_client_config wcfg = {
		.graph_url = cfg->whatsapp.graph_url,
		.api_version = cfg->whatsapp.api_version,
		.connect_timeout_ms = (long)cfg->whatsapp.connect_timeout_ms,
		.total_timeout_ms = (long)cfg->whatsapp.timeout_ms,
	};
	app->dispatch = dispatch_new(app->st, app->master_key, &wcfg);
	if (!app->dispatch) {
		rc = CW_EINVAL;
		goto fail;
	}
	handlers_register(app);
	*out = app;
	return 0;
fail:
	app_free(app);
	return rc;
}

int app_start(struct app *app)
{
	int rc = ingest_start(app->ingest);
	if (rc)
		return rc;
	rc = dispatch_start(app->dispatch);
	if (rc)
		return rc;
	return sched_start(app->sched);
}

void app_free(struct app *app)
{
	if (!app)
		return;
	sched_free(app->sched); /* first: its thread runs journeys and campaigns */
	ingest_free(app->ingest);
	dispatch_free(app->dispatch);
	campaigns_free(app->campaigns);
	journey_engine_free(app->journeys);
	store_free(app->st);
	memset(app->master_key, 0, sizeof app->master_key);
	free(app);
}
