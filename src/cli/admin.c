/*
 * admin.c — set-up commands: migrate, org create, number add, apikey create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli.h"
#include "cli/opts.h"
#include "core/apikey.h"
#include "core/app.h"
#include "core/org.h"
#include "store/store.h"
#include "base/banned.h"

/* Opens the store of the configuration file (migrated), for a short command. */
static int open_store(const char *cmd, const char *file, struct config *cfg, struct store **st)
{
	int rc = opts_config(cmd, file, cfg);
	if (rc)
		return rc;
	rc = store_open(cfg->store.url, st);
	if (rc) {
		fprintf(stderr, "carewire %s: cannot open the store %s: %s\n", cmd, cfg->store.url,
			cw_strerror(rc));
		config_release(cfg);
		return 1;
	}
	int applied = 0;
	rc = store_migrate(*st, &applied);
	if (rc) {
		fprintf(stderr, "carewire %s: migrations failed: %s\n", cmd, cw_strerror(rc));
		store_free(*st);
		config_release(cfg);
		return 1;
	}
	return 0;
}

int cli_migrate(int argc, char **argv)
{
	const char *file = NULL;
	const struct opt opts[] = {{"-c", &file, NULL}, {"--config", &file, NULL}, {NULL, NULL, NULL}};
	if (opts_parse("migrate", argc, argv, opts))
		return 2;
	struct config cfg;
	int rc = opts_config("migrate", file, &cfg);
	if (rc)
		return rc;
	struct store *st = NULL;
	rc = store_open(cfg.store.url, &st);
	if (rc) {
		fprintf(stderr, "carewire migrate: cannot open %s: %s\n", cfg.store.url,
			cw_strerror(rc));
		config_release(&cfg);
		return 1;
	}
	int applied = 0;
	rc = store_migrate(st, &applied);
	if (rc == 0)
		rc = store_check_statements(st);
	if (rc == 0)
		printf("schema version %d (%d migration%s applied now)\n", store_schema_version(st),
		       applied, applied == 1 ? "" : "s");
	else
		fprintf(stderr, "carewire migrate: %s\n", cw_strerror(rc));
	store_free(st);
	config_release(&cfg);
	return rc ? 1 : 0;
}

int cli_org_create(int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *kind = NULL, *region = NULL, *lang = NULL,
		   *zone = NULL;
	const struct opt opts[] = {{"-c", &file, NULL},	     {"--name", &name, NULL},
				   {"--kind", &kind, NULL},	     {"--region", &region, NULL},
				   {"--language", &lang, NULL},	     {"--time-zone", &zone, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse("org create", argc, argv, opts))
		return 2;
	if (!name || !kind || !region)
		return opts_usage_error("org create", "--name, --kind and --region are required");
	if (!org_kind_valid(kind))
		return opts_usage_error("org create", "--kind must be one of hospital, clinic, "
						      "diagnostic, pharmacy, pharma, events");
	struct config cfg;
	struct store *st = NULL;
	int rc = open_store("org create", file, &cfg, &st);
	if (rc)
		return rc;
	char id[ID_SIZE];
	rc = org_create(st, name, kind, region, lang, zone, id);
	if (rc == 0)
		printf("%s\n", id);
	else if (rc == CW_EINVAL)
		fprintf(stderr, "carewire org create: invalid --name, --region (two capital "
				"letters, e.g. IL) or --time-zone\n");
	else
		fprintf(stderr, "carewire org create: %s\n", cw_strerror(rc));
	store_free(st);
	config_release(&cfg);
	return rc == 0 ? 0 : rc == CW_EINVAL ? 2 : 1;
}

static char *read_token_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n ? strdup(buf) : NULL;
}

int cli_number_add(int argc, char **argv)
{
	const char *file = NULL, *org = NULL, *pnid = NULL, *waba = NULL, *display = NULL,
		   *token_file = NULL, *rate = NULL;
	const struct opt opts[] = {{"-c", &file, NULL},
				   {"--org", &org, NULL},
				   {"--phone-number-id", &pnid, NULL},
				   {"--waba-id", &waba, NULL},
				   {"--display", &display, NULL},
				   {"--token-file", &token_file, NULL},
				   {"--rate", &rate, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse("number add", argc, argv, opts))
		return 2;
	if (!org || !pnid || !waba || !display || !token_file)
		return opts_usage_error("number add", "--org, --phone-number-id, --waba-id, "
						      "--display and --token-file are required");
	int mps = 0;
	if (rate) {
		char *end = NULL;
		long v = strtol(rate, &end, 10);
		if (!end || *end || v < 1 || v > 1000)
			return opts_usage_error("number add", "--rate must be 1 to 1000 messages/s");
		mps = (int)v;
	}
	char *token = read_token_file(token_file);
	if (!token)
		return opts_usage_error("number add", "cannot read a token from %s", token_file);
	struct config cfg;
	struct store *st = NULL;
	int rc = open_store("number add", file, &cfg, &st);
	if (rc) {
		free(token);
		return rc;
	}
	struct app *app = NULL; /* only for the master key */
	uint8_t key[SEC_KEY_BYTES];
	int have_key = 0;
	const char *env = getenv("CAREWIRE_MASTER_KEY");
	if (env && *env)
		have_key = sec_key_from_hex(env, key) == 0;
	else if (cfg.security.master_key_file)
		have_key = sec_key_load(cfg.security.master_key_file, key) == 0;
	(void)app;
	if (!have_key) {
		fprintf(stderr, "carewire number add: a master key is needed to store the token "
				"([security] master_key_file or CAREWIRE_MASTER_KEY)\n");
		rc = 2;
		goto out;
	}
	char id[ID_SIZE];
	rc = number_add(st, key, org, pnid, waba, display, token, mps, id);
	if (rc == 0)
		printf("%s\n", id);
	else
		fprintf(stderr, "carewire number add: %s\n",
			rc == CW_ENOTFOUND   ? "no such organisation"
			: rc == CW_ECONFLICT ? "that phone number id is already added"
					     : cw_strerror(rc));
	rc = rc == 0 ? 0 : (rc == CW_EINVAL || rc == CW_ENOTFOUND) ? 2 : 1;
out:
	memset(token, 0, strlen(token));
	free(token);
	memset(key, 0, sizeof key);
	store_free(st);
	config_release(&cfg);
	return rc;
}

int cli_apikey_create(int argc, char **argv)
{
	const char *file = NULL, *org = NULL, *role = NULL, *name = NULL;
	const struct opt opts[] = {{"-c", &file, NULL},	 {"--org", &org, NULL},
				   {"--role", &role, NULL}, {"--name", &name, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse("apikey create", argc, argv, opts))
		return 2;
	if (!org || !role)
		return opts_usage_error("apikey create", "--org and --role are required");
	int r = apikey_role_parse(role);
	if (r < 0)
		return opts_usage_error("apikey create",
					"--role must be admin, agent, integration or viewer");
	struct config cfg;
	struct store *st = NULL;
	int rc = open_store("apikey create", file, &cfg, &st);
	if (rc)
		return rc;
	char key[APIKEY_MAX], id[ID_SIZE];
	rc = apikey_create(st, org, (enum apikey_role)r, name, key, id);
	if (rc == 0)
		printf("%s\n", key);
	else
		fprintf(stderr, "carewire apikey create: %s\n",
			rc == CW_ENOTFOUND ? "no such organisation" : cw_strerror(rc));
	store_free(st);
	config_release(&cfg);
	return rc == 0 ? 0 : rc == CW_ENOTFOUND ? 2 : 1;
}
