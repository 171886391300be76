/*
 * run.c — the long-running commands: serve, demo and sim.
 *
 * demo: one process, one port — the dashboard and API, the webhook receiver,
 * and the embedded simulator under /graph (its Cloud API side) and /sim (its
 * control API, the "patient phone"). The simulator posts webhooks to our own
 * /webhooks/whatsapp, signed with the demo's app secret, and carewire sends
 * to http://127.0.0.1:PORT/graph: the whole loop runs offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/sec.h"
#include "cli.h"
#include "cli/opts.h"
#include "core/agent.h"
#include "core/apikey.h"
#include "core/app.h"
#include "core/demo.h"
#include "core/journey.h"
#include "core/template.h"
#include "http/routes.h"
#include "http/server.h"
#include "http/static.h"
#include "sim/sim.h"
#include "wa/client.h"
#include "base/banned.h"

/* The demo's dashboard login (src/core/agent.h agent_demo_login()). */
#define DEMO_AGENT_EMAIL "admin@demo.clinic"

#define SIM_MIN_THREADS 32

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

/* A secret for the demo that stays the same across runs: derived from the
 * demo's master key, so a restarted demo still opens the stored token. */
static void demo_secret(const struct app *app, const char *label, char out[65])
{
	sec_hmac_sha256_hex(app->master_key, SEC_KEY_BYTES, label, strlen(label), out);
}

/* Where `meson install` put web/ and journeys/ (meson.build). */
#ifndef CW_DATADIR
#define CW_DATADIR "/usr/local/share/carewire"
#endif

/* The folders carewire reads at start: the one the environment names, else
 * the first that exists (from the source tree, the build dir, this build's
 * installation, or a distribution package's). */
static const struct {
	const char *env;
	const char *candidates[4];
} data_dirs[] = {
	{"CAREWIRE_WEB_ROOT",
	 {"web", "../web", CW_DATADIR "/web", "/usr/share/carewire/web"}},
	{"CAREWIRE_JOURNEYS_DIR",
	 {"journeys", "../journeys", CW_DATADIR "/journeys", "/usr/share/carewire/journeys"}},
};
enum { DIR_WEB, DIR_JOURNEYS };

static const char *data_dir(int which)
{
	struct stat sb;
	const char *env = getenv(data_dirs[which].env);
	if (env && *env)
		return env;
	for (unsigned i = 0; i < sizeof data_dirs[which].candidates / sizeof(const char *); i++) {
		const char *c = data_dirs[which].candidates[i];
		if (stat(c, &sb) == 0 && S_ISDIR(sb.st_mode))
			return c;
	}
	return NULL;
}

static const char *web_root(void)
{
	return data_dir(DIR_WEB);
}

static const struct http_route static_routes[] = {
	{"GET", "/{*}", http_static_handler, 0},
	{NULL, NULL, NULL, 0},
};

int cli_serve(int argc, char **argv)
{
	const char *file = NULL;
	const struct opt opts[] = {{"-c", &file, NULL}, {"--config", &file, NULL}, {NULL, NULL, NULL}};
	if (opts_parse("serve", argc, argv, opts))
		return 2;
	struct config cfg;
	int rc = opts_config("serve", file, &cfg);
	if (rc)
		return rc;
	int lvl = log_level_parse(cfg.log.level);
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	opts_block_signals();
	struct app *app = NULL;
	struct http_server *srv = NULL;
	struct http_static *web = NULL;
	rc = app_open(&cfg, 0, &app);
	if (rc)
		goto fail;
	srv = http_server_new(cfg.server.listen, cfg.server.threads);
	if (!srv) {
		rc = CW_EIO;
		goto fail;
	}
	routes_mount(srv, app);
	const char *root = web_root();
	if (root && (web = http_static_new(root)) != NULL)
		http_server_mount(srv, static_routes, web);
	rc = app_start(app);
	if (rc)
		goto fail;
	rc = http_server_start(srv);
	if (rc)
		goto fail;
	log_info("serve", "carewire listening on %s (port %d)", cfg.server.listen,
		 http_server_port(srv));
	opts_wait_for_signal();
	log_info("serve", "stopping");
fail:
	http_server_free(srv);
	app_free(app);
	http_static_free(web);
	config_release(&cfg);
	if (rc)
		fprintf(stderr, "carewire serve: %s\n", cw_strerror(rc));
	return rc ? 1 : 0;
}

/* Makes cfg's [server] listen name a fixed port and writes it to *port: a
 * port of 0 becomes a free one, found by binding it once. 0 or CW_EIO. */
static int demo_resolve_port(struct config *cfg, int *port)
{
	const char *listen = cfg->server.listen;
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon)
		return CW_EINVAL;
	char *end = NULL;
	long p = strtol(colon + 1, &end, 10);
	if (!end || *end || p < 0 || p > 65535)
		return CW_EINVAL;
	if (p > 0) {
		*port = (int)p;
		return 0;
	}
	char host[256];
	size_t hlen = (size_t)(colon - listen);
	if (hlen >= sizeof host)
		return CW_EINVAL;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	char bare[256];
	snprintf(bare, sizeof bare, "%s", host);
	if (bare[0] == '[') { /* "[::1]" */
		size_t n = strlen(bare);
		memmove(bare, bare + 1, n);
		if (n >= 2 && bare[n - 2] == ']')
			bare[n - 2] = '\0';
	}
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(bare[0] ? bare : NULL, "0", &hints, &ai) != 0 || !ai)
		return CW_EIO;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage sa;
	socklen_t salen = sizeof sa;
	int ok = fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		 getsockname(fd, (struct sockaddr *)&sa, &salen) == 0;
	freeaddrinfo(ai);
	if (fd >= 0)
		close(fd);
	if (!ok)
		return CW_EIO;
	*port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
					       : ((struct sockaddr_in *)&sa)->sin_port);
	char fixed[300];
	snprintf(fixed, sizeof fixed, "%s:%d", host, *port);
	set_str(&cfg->server.listen, fixed);
	return 0;
}

int cli_demo(int argc, char **argv)
{
	const char *file = NULL, *listen = NULL, *data = NULL;
	int quiet = 0;
	const struct opt opts[] = {{"-c", &file, NULL},	     {"--config", &file, NULL},
				   {"--listen", &listen, NULL}, {"--data-dir", &data, NULL},
				   {"--quiet", NULL, &quiet},	     {NULL, NULL, NULL}};
	if (opts_parse("demo", argc, argv, opts))
		return 2;
	struct config cfg;
	int rc = opts_config("demo", file, &cfg);
	if (rc)
		return rc;
	int lvl = log_level_parse(cfg.log.level);
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	if (listen)
		set_str(&cfg.server.listen, listen);
	if (data)
		set_str(&cfg.demo.data_dir, data);
	/* The demo keeps everything under its data dir, on SQLite. */
	char url[1200];
	snprintf(url, sizeof url, "sqlite:%s/carewire.db", cfg.demo.data_dir);
	if (!getenv("CAREWIRE_STORE_URL") && !file)
		set_str(&cfg.store.url, url);

	opts_block_signals();
	struct app *app = NULL;
	struct http_server *srv = NULL;
	struct http_static *web = NULL;
	struct sim *sim = NULL;
	char secret[65], verify[65], token[65];

	/* The port must be known before the app's client is configured, and
	 * every route table mounted before the server starts (the server
	 * refuses later mounts): a listen port of 0 is resolved first. */
	int port = 0;
	rc = demo_resolve_port(&cfg, &port);
	if (rc)
		goto fail;
	srv = http_server_new(cfg.server.listen, cfg.server.threads);
	if (!srv) {
		rc = CW_EIO;
		goto fail;
	}
	char graph[128], hook[160];
	snprintf(graph, sizeof graph, "http://127.0.0.1:%d/graph", port);
	snprintf(hook, sizeof hook, "http://127.0.0.1:%d/webhooks/whatsapp", port);
	set_str(&cfg.whatsapp.graph_url, graph);

	rc = app_open(&cfg, 1, &app);
	if (rc)
		goto fail;
	demo_secret(app, "demo app secret", secret);
	demo_secret(app, "demo verify token", verify);
	demo_secret(app, "demo access token", token);
	if (!cfg.whatsapp.app_secret)
		set_str(&cfg.whatsapp.app_secret, secret);
	if (!cfg.whatsapp.verify_token)
		set_str(&cfg.whatsapp.verify_token, verify);

	char org_id[ID_SIZE], number_id[ID_SIZE];
	rc = demo_seed(app, token, org_id, number_id);
	if (rc)
		goto fail;
	snprintf(app->demo_org_id, sizeof app->demo_org_id, "%s", org_id);
	/* The journey library: a file that did not change since the last start
	 * stores no new version (journey_save() compares digests). */
	int journeys = 0;
	const char *jdir = data_dir(DIR_JOURNEYS);
	if (!jdir || journey_load_dir(app->journeys, org_id, jdir, &journeys) != 0)
		log_warn("demo", "no journey library (%s): set CAREWIRE_JOURNEYS_DIR",
			 jdir ? jdir : "journeys/ not found");

	struct sim_config scfg = {.webhook_url = hook,
				  .app_secret = cfg.whatsapp.app_secret,
				  .access_token = token,
				  .phone_number_id = DEMO_PHONE_NUMBER_ID,
				  .display_phone_number = DEMO_DISPLAY,
				  .waba_id = DEMO_WABA_ID};
	sim = sim_new(&scfg);
	if (!sim) {
		rc = CW_EINTERNAL;
		goto fail;
	}
	for (const struct demo_patient *p = demo_patients; p->wa_id; p++)
		sim_add_user(sim, p->wa_id, p->name);
	/* The templates the library falls back on, approved at "Meta" */
	int templates = 0;
	for (const struct demo_template *t = demo_templates; t->name; t++, templates++) {
		char *comps = demo_template_components(t);
		rc = sim_add_template(sim, NULL, t->name, t->language, t->category, "APPROVED",
				      comps);
		free(comps);
		if (rc)
			goto fail;
	}
	sim_mount(sim, srv, "/graph", "/sim");
	routes_mount(srv, app);
	const char *root = web_root();
	if (root && (web = http_static_new(root)) != NULL)
		http_server_mount(srv, static_routes, web);
	rc = http_server_start(srv);
	if (rc)
		goto fail;
	rc = sim_start(sim);
	if (rc)
		goto fail;
	/* carewire's registry lists them from the simulator now, so the first
	 * send after the banner finds them approved (the dispatcher lists them
	 * again when it starts, in its own time) */
	struct wa_client_config wcfg = {
		.graph_url = cfg.whatsapp.graph_url,
		.api_version = cfg.whatsapp.api_version,
		.connect_timeout_ms = (long)cfg.whatsapp.connect_timeout_ms,
		.total_timeout_ms = (long)cfg.whatsapp.timeout_ms,
	};
	int synced = 0;
	rc = template_sync(app->st, app->master_key, &wcfg, org_id, &synced);
	if (rc)
		goto fail;
	if (synced < templates)
		log_warn("demo", "the registry lists %d of the simulator's %d templates", synced,
			 templates);
	rc = app_start(app);
	if (rc)
		goto fail;

	char key[APIKEY_MAX], key_id[ID_SIZE];
	rc = apikey_create(app->st, org_id, APIKEY_ADMIN, "demo", key, key_id);
	if (rc)
		goto fail;
	/* The dashboard's login: the demo admin gets a new random password at
	 * every start (older sessions end), printed below and nowhere else. */
	char password[32];
	rc = agent_demo_login(app->st, org_id, DEMO_AGENT_EMAIL, password, sizeof password);
	if (rc)
		goto fail;
	printf("carewire demo is running.\n\n"
	       "  dashboard:  http://127.0.0.1:%d/\n"
	       "  login:      %s  password: %s   (admin; new at every start)\n"
	       "  API key:    %s   (admin; Authorization: Bearer ...)\n"
	       "  data:       %s\n"
	       "  journeys: %d loaded; templates: %d approved\n\n"
	       "Play a patient (the simulator's phone of %s, Noa):\n"
	       "  curl -s -X POST http://127.0.0.1:%d/sim/users/972521234567/messages \\\n"
	       "       -H 'Content-Type: application/json' -d '{\"type\":\"text\",\"text\":\"hi\"}'\n"
	       "  curl -s http://127.0.0.1:%d/sim/users/972521234567/messages\n"
	       "Tap the first reply button:\n"
	       "  curl -s -X POST http://127.0.0.1:%d/sim/users/972521234567/messages \\\n"
	       "       -H 'Content-Type: application/json' \\\n"
	       "       -d '{\"type\":\"button_reply\",\"id\":\"menu.book\",\"title\":\"Book a visit\"}'\n\n"
	       "Press Ctrl-C to stop.\n",
	       port, DEMO_AGENT_EMAIL, password, key, cfg.demo.data_dir, journeys, synced,
	       DEMO_DISPLAY, port, port, port);
	fflush(stdout);
	memset(password, 0, sizeof password);
	opts_wait_for_signal();
	log_info("demo", "stopping");
fail:
	if (sim)
		sim_stop(sim);
	http_server_free(srv);
	app_free(app);
	sim_free(sim);
	http_static_free(web);
	config_release(&cfg);
	if (rc)
		fprintf(stderr, "carewire demo: %s\n", cw_strerror(rc));
	return rc ? 1 : 0;
}

int cli_sim(int argc, char **argv)
{
	const char *file = NULL, *listen = NULL, *webhook = NULL, *secret = NULL, *token = NULL,
		   *pnid = NULL;
	int auto_users = 0;
	const struct opt opts[] = {{"-c", &file, NULL},
				   {"--listen", &listen, NULL},
				   {"--webhook", &webhook, NULL},
				   {"--app-secret", &secret, NULL},
				   {"--access-token", &token, NULL},
				   {"--phone-number-id", &pnid, NULL},
				   {"--auto-users", NULL, &auto_users},
				   {NULL, NULL, NULL}};
	if (opts_parse("sim", argc, argv, opts))
		return 2;
	struct config cfg;
	int rc = opts_config("sim", file, &cfg);
	if (rc)
		return rc;
	opts_block_signals();
	struct sim_config scfg = {
		.webhook_url = webhook ? webhook : cfg.sim.webhook,
		.app_secret = secret ? secret : cfg.sim.app_secret,
		.access_token = token ? token : cfg.sim.access_token,
		.auto_users = auto_users,
		.phone_number_id = pnid,
	};
	const char *addr = listen ? listen : cfg.sim.listen ? cfg.sim.listen : "127.0.0.1:8081";
	/* Latency and timeout faults sleep inside a request: give the pool room. */
	int threads = cfg.server.threads < SIM_MIN_THREADS ? SIM_MIN_THREADS : cfg.server.threads;
	struct http_server *srv = http_server_new(addr, threads);
	struct sim *sim = srv ? sim_new(&scfg) : NULL;
	if (!srv || !sim) {
		rc = 1;
		fprintf(stderr, "carewire sim: cannot start on %s\n", addr);
		goto out;
	}
	sim_mount(sim, srv, "", "/sim");
	if (sim_start(sim) || http_server_start(srv)) {
		rc = 1;
		fprintf(stderr, "carewire sim: cannot listen on %s\n", addr);
		goto out;
	}
	printf("carewire sim listening on http://%s (port %d)\n", addr, http_server_port(srv));
	fflush(stdout);
	opts_wait_for_signal();
out:
	if (sim)
		sim_stop(sim);
	http_server_free(srv);
	sim_free(sim);
	config_release(&cfg);
	return rc;
}
