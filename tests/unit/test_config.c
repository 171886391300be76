/*
 * test_config.c — unit tests for base/config: defaults, INI values,
 * CAREWIRE_* environment overrides, and the one-line errors that stop
 * start-up ("file:line: message", "CAREWIRE_X_Y: message").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "base/banned.h"

static char path[64];

/* Writes text to a fresh temporary file; its name is in path. */
static void write_ini(const char *text)
{
	snprintf(path, sizeof path, "/tmp/cw_test_config_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Loads text as a file; returns config_load()'s result, error in err. */
static int load_text(const char *text, struct config *cfg, char *err, size_t errsz)
{
	write_ini(text);
	int rc = config_load(cfg, path, err, errsz);
	unlink(path);
	return rc;
}

/* The error text expected for a file error at line. */
static void assert_file_error(const char *text, int want_rc, int line, const char *msg)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX + 64];
	int rc = load_text(text, &cfg, err, sizeof err);
	snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
	if (rc != want_rc || strcmp(err, want) != 0)
		fail_msg("rc %d \"%s\", want %d \"%s\"", rc, err, want_rc, want);
	assert_null(cfg.server.listen); /* left empty */
	config_release(&cfg);
}

/* Each test starts from an environment without CAREWIRE_* variables. */
static int clean_env(void **state)
{
	(void)state;
	for (;;) {
		char name[256];
		name[0] = '\0';
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, "CAREWIRE_", 9) == 0) {
				const char *eq = strchr(*e, '=');
				snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - *e : 255), *e);
				break;
			}
		}
		if (!name[0])
			return 0;
		unsetenv(name);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "x";
	assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.server.listen, "127.0.0.1:8080");
	assert_int_equal(cfg.server.threads, 8);
	assert_null(cfg.server.public_url);
	assert_string_equal(cfg.store.url, "sqlite:./carewire-data/carewire.db");
	assert_string_equal(cfg.whatsapp.graph_url, "https://graph.facebook.com");
	assert_string_equal(cfg.whatsapp.api_version, "v21.0");
	assert_null(cfg.whatsapp.app_secret);
	assert_null(cfg.whatsapp.verify_token);
	assert_int_equal(cfg.whatsapp.connect_timeout_ms, 5000);
	assert_int_equal(cfg.whatsapp.timeout_ms, 30000);
	assert_null(cfg.security.master_key_file);
	assert_false(cfg.security.session_secure);
	assert_string_equal(cfg.log.level, "info");
	assert_string_equal(cfg.demo.data_dir, "./carewire-data");
	assert_string_equal(cfg.sim.listen, "127.0.0.1:8081");
	assert_string_equal(cfg.sim.webhook, "http://127.0.0.1:8080/webhooks/whatsapp");
	assert_null(cfg.sim.app_secret);
	assert_null(cfg.sim.access_token);
	config_release(&cfg);
	assert_null(cfg.server.listen);
	config_release(&cfg); /* twice is harmless */
	config_release(NULL);
}

static const char full_ini[] = "; carewire test configuration\n"
			       "[server]\n"
			       "listen = 0.0.0.0:9090\n"
			       "threads = 32\n"
			       "public_url = https://carewire.example.org\n"
			       "\n"
			       "[store]\n"
			       "url = postgres://cw@db.internal/carewire\n"
			       "[whatsapp]\n"
			       "graph_url = http://127.0.0.1:8081/graph\n"
			       "api_version = v22.0\n"
			       "app_secret = \"s3cr;et\"\n"
			       "verify_token = tok-123\n"
			       "connect_timeout_ms = 2500\n"
			       "timeout_ms = PT1M\n"
			       "# hash comments too\n"
			       "[security]\n"
			       "master_key_file = /etc/carewire/master.key\n"
			       "session_secure = yes\n"
			       "[log]\n"
			       "level = debug ; an inline comment\n"
			       "[demo]\n"
			       "data_dir = /var/lib/carewire demo\n"
			       "[sim]\n"
			       "listen = [::1]:0\n"
			       "webhook = https://hooks.example.org/wa\n"
			       "app_secret = simsecret\n"
			       "access_token = EAAG-token\n";

static void test_file_values(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	int rc = load_text(full_ini, &cfg, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(cfg.server.listen, "0.0.0.0:9090");
	assert_int_equal(cfg.server.threads, 32);
	assert_string_equal(cfg.server.public_url, "https://carewire.example.org");
	assert_string_equal(cfg.store.url, "postgres://cw@db.internal/carewire");
	assert_string_equal(cfg.whatsapp.graph_url, "http://127.0.0.1:8081/graph");
	assert_string_equal(cfg.whatsapp.api_version, "v22.0");
	assert_string_equal(cfg.whatsapp.app_secret, "s3cr;et"); /* quotes dropped */
	assert_string_equal(cfg.whatsapp.verify_token, "tok-123");
	assert_int_equal(cfg.whatsapp.connect_timeout_ms, 2500);
	assert_int_equal(cfg.whatsapp.timeout_ms, 60000);
	assert_string_equal(cfg.security.master_key_file, "/etc/carewire/master.key");
	assert_true(cfg.security.session_secure);
	assert_string_equal(cfg.log.level, "debug");
	assert_string_equal(cfg.demo.data_dir, "/var/lib/carewire demo");
	assert_string_equal(cfg.sim.listen, "[::1]:0");
	assert_string_equal(cfg.sim.webhook, "https://hooks.example.org/wa");
	assert_string_equal(cfg.sim.app_secret, "simsecret");
	assert_string_equal(cfg.sim.access_token, "EAAG-token");
	config_release(&cfg);

	/* durations in every accepted spelling; section and key case */
	static const struct {
		const char *v;
		int64_t ms;
	} durations[] = {{"750", 750},	{"750ms", 750},	  {"3s", 3000},
			 {"1m", 60000}, {"PT45S", 45000}, {"PT0.5S", 500}};
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "[WhatsApp]\nConnect_Timeout_MS = %s\n",
			 durations[i].v);
		assert_int_equal(load_text(text, &cfg, err, sizeof err), 0);
		assert_int_equal(cfg.whatsapp.connect_timeout_ms, durations[i].ms);
		config_release(&cfg);
	}

	/* an empty value unsets an optional key */
	assert_int_equal(load_text("[whatsapp]\napp_secret =\n", &cfg, err, sizeof err), 0);
	assert_null(cfg.whatsapp.app_secret);
	config_release(&cfg);
	/* an empty file is all defaults */
	assert_int_equal(load_text("", &cfg, err, sizeof err), 0);
	assert_int_equal(cfg.server.threads, 8);
	config_release(&cfg);
}

static void test_env_wins(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	setenv("CAREWIRE_SERVER_THREADS", "16", 1);
	setenv("CAREWIRE_WHATSAPP_APP_SECRET", "from-env", 1);
	setenv("CAREWIRE_WHATSAPP_GRAPH_URL", "http://localhost:9999", 1);
	setenv("CAREWIRE_SECURITY_SESSION_SECURE", "off", 1);
	setenv("CAREWIRE_SIM_ACCESS_TOKEN", "", 1); /* empty: unset */
	setenv("CAREWIRE_TEST_SOMETHING", "x", 1);  /* not a config section: not ours */
	int rc = load_text(full_ini, &cfg, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(cfg.server.threads, 16);
	assert_string_equal(cfg.whatsapp.app_secret, "from-env");
	assert_string_equal(cfg.whatsapp.graph_url, "http://localhost:9999");
	assert_false(cfg.security.session_secure);
	assert_null(cfg.sim.access_token);
	assert_string_equal(cfg.server.listen, "0.0.0.0:9090"); /* from the file */
	config_release(&cfg);

	/* without a file: defaults and environment */
	setenv("CAREWIRE_SERVER_LISTEN", "127.0.0.1:0", 1);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
	assert_string_equal(cfg.server.listen, "127.0.0.1:0");
	assert_int_equal(cfg.server.threads, 16);
	assert_string_equal(cfg.store.url, "sqlite:./carewire-data/carewire.db");
	config_release(&cfg);
	clean_env(NULL);
}

static void test_file_errors(void **state)
{
	(void)state;
	assert_file_error("[server]\nlisten = 127.0.0.1:80\nlistn = x\n", CW_EPARSE, 3,
			  "unknown key 'listn' in [server]");
	assert_file_error("[server]\nthreads = 2\n\n[serverx]\nlisten = 1.2.3.4:80\n", CW_EPARSE, 5,
			  "unknown section [serverx]");
	assert_file_error("threads = 2\n", CW_EPARSE, 1, "key 'threads' outside a [section]");
	assert_file_error("[server]\nthreads = 2\nthreads = 3\n", CW_EPARSE, 3,
			  "[server] threads given twice (or an indented line continues it)");
	assert_file_error("[server]\nlisten 8080\n", CW_EPARSE, 2,
			  "syntax error: expected [section] or key = value");
	/* inih also reads "key: value", so a missing '=' may show as a key */
	assert_file_error("[server]\nlisten 127.0.0.1:8080\n", CW_EPARSE, 2,
			  "unknown key 'listen 127.0.0.1' in [server]");
	assert_file_error("[server\nlisten = 127.0.0.1:8080\n", CW_EPARSE, 1,
			  "syntax error: expected [section] or key = value");
	/* the first error is the one reported, syntax or not */
	assert_file_error("[server]\nbogus line\nthreads = many\n", CW_EPARSE, 2,
			  "syntax error: expected [section] or key = value");
	assert_file_error("[server]\nthreads = many\nbogus line\n", CW_EPARSE, 2,
			  "[server] threads must be an integer from 1 to 1024");

	char text[400];
	snprintf(text, sizeof text, "[server]\npublic_url = https://%0250d\n", 0);
	assert_file_error(text, CW_EPARSE, 2, "line too long (at most 197 bytes)");

	struct config cfg;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(config_load(&cfg, "/nonexistent/carewire.ini", err, sizeof err), CW_EIO);
	assert_string_equal(err,
			    "/nonexistent/carewire.ini: cannot open: No such file or directory");
	/* errbuf may be absent */
	assert_int_equal(config_load(&cfg, "/nonexistent/carewire.ini", NULL, 0), CW_EIO);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"[server]\nthreads = abc\n", "[server] threads must be an integer from 1 to 1024"},
	    {"[server]\nthreads = 0\n", "[server] threads must be an integer from 1 to 1024"},
	    {"[server]\nthreads = 99999999999999999999\n",
	     "[server] threads must be an integer from 1 to 1024"},
	    {"[server]\nthreads = 8x\n", "[server] threads must be an integer from 1 to 1024"},
	    {"[server]\nthreads = 0x10\n", "[server] threads must be an integer from 1 to 1024"},
	    {"[server]\nthreads =\n", "[server] threads must not be empty"},
	    {"[security]\nsession_secure = maybe\n",
	     "[security] session_secure must be true or false"},
	    {"[log]\nlevel = verbose\n", "[log] level must be one of: debug, info, warn, error"},
	    {"[whatsapp]\napi_version = 21\n", "[whatsapp] api_version must look like v21.0"},
	    {"[whatsapp]\napi_version = v21.0b\n", "[whatsapp] api_version must look like v21.0"},
	    {"[whatsapp]\ngraph_url = ftp://graph.facebook.com\n",
	     "[whatsapp] graph_url must be a URL starting with http, https:"},
	    {"[whatsapp]\ngraph_url = https:/graph.facebook.com\n",
	     "[whatsapp] graph_url must be https://HOST..."},
	    {"[whatsapp]\ngraph_url = https://graph.facebook.com/a b\n",
	     "[whatsapp] graph_url must be a URL starting with http, https:"},
	    {"[store]\nurl = mysql://db/x\n",
	     "[store] url must be a URL starting with sqlite, postgres, postgresql:"},
	    {"[store]\nurl = sqlite:\n",
	     "[store] url must be a URL starting with sqlite, postgres, postgresql:"},
	    {"[whatsapp]\ntimeout_ms = 5 s\n",
	     "[whatsapp] timeout_ms must be a duration from 1s to 10m (e.g. 5000, 5s, PT5S)"},
	    {"[whatsapp]\ntimeout_ms = -5s\n",
	     "[whatsapp] timeout_ms must be a duration from 1s to 10m (e.g. 5000, 5s, PT5S)"},
	    {"[whatsapp]\ntimeout_ms = 999\n",
	     "[whatsapp] timeout_ms must be a duration from 1s to 10m (e.g. 5000, 5s, PT5S)"},
	    {"[whatsapp]\ntimeout_ms = PT1H\n",
	     "[whatsapp] timeout_ms must be a duration from 1s to 10m (e.g. 5000, 5s, PT5S)"},
	    {"[whatsapp]\nconnect_timeout_ms = 5 minutes\n",
	     "[whatsapp] connect_timeout_ms must be a duration from 100ms to 1m (e.g. 5000, 5s, "
	     "PT5S)"},
	};
	static const char listen_msg[] =
	    "[server] listen must be host:port (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), port 0 to 65535";
	static const char *const bad_listen[] = {
	    "localhost", "127.0.0.1:", ":8080",	  "127.0.0.1:65536", "127.0.0.1:80a",
	    "[::1]8080", "[]:80",      "[::1:80", "host name:80",    "127.0.0.1:123456",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_file_error(cases[i].text, CW_EPARSE, 2, cases[i].msg);
	for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "[server]\nlisten = %s\n", bad_listen[i]);
		assert_file_error(text, CW_EPARSE, 2, listen_msg);
	}
	static const char *const good_listen[] = {
	    "127.0.0.1:8080", "0.0.0.0:0",	"localhost:65535",
	    "[::]:443",	      "[fe80::1]:8080", "carewire-1.internal:80",
	};
	for (size_t i = 0; i < sizeof good_listen / sizeof good_listen[0]; i++) {
		struct config cfg;
		char text[128], err[CONFIG_ERR_MAX];
		snprintf(text, sizeof text, "[server]\nlisten = %s\n", good_listen[i]);
		if (load_text(text, &cfg, err, sizeof err) != 0)
			fail_msg("%s: %s", good_listen[i], err);
		assert_string_equal(cfg.server.listen, good_listen[i]);
		config_release(&cfg);
	}
}

static void assert_env_error(const char *name, const char *value, const char *want)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	clean_env(NULL);
	setenv(name, value, 1);
	int rc = config_load(&cfg, NULL, err, sizeof err);
	if (rc != CW_EINVAL || strcmp(err, want) != 0)
		fail_msg("%s=%s: rc %d \"%s\", want \"%s\"", name, value, rc, err, want);
	assert_null(cfg.server.listen);
	config_release(&cfg);
	clean_env(NULL);
}

static void test_env_errors(void **state)
{
	(void)state;
	assert_env_error(
	    "CAREWIRE_SERVER_THREADS", "lots",
	    "CAREWIRE_SERVER_THREADS: [server] threads must be an integer from 1 to 1024");
	assert_env_error("CAREWIRE_SERVER_LISTEN", "8080",
			 "CAREWIRE_SERVER_LISTEN: [server] listen must be host:port (e.g. "
			 "127.0.0.1:8080 or [::1]:8080), port 0 to 65535");
	assert_env_error("CAREWIRE_SECURITY_SESSION_SECURE", "sure",
			 "CAREWIRE_SECURITY_SESSION_SECURE: [security] session_secure must be true "
			 "or false");
	assert_env_error("CAREWIRE_LOG_LEVEL", "",
			 "CAREWIRE_LOG_LEVEL: [log] level must not be empty");
	assert_env_error("CAREWIRE_SERVER_LISTN", "127.0.0.1:80",
			 "CAREWIRE_SERVER_LISTN: unknown setting in [server]");
	assert_env_error("CAREWIRE_WHATSAPP_SECRET", "x",
			 "CAREWIRE_WHATSAPP_SECRET: unknown setting in [whatsapp]");

	/* the environment is checked after the file, and wins over it */
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	setenv("CAREWIRE_SERVER_THREADS", "0", 1);
	assert_int_equal(load_text("[server]\nthreads = 4\n", &cfg, err, sizeof err), CW_EINVAL);
	assert_string_equal(
	    err, "CAREWIRE_SERVER_THREADS: [server] threads must be an integer from 1 to 1024");
	clean_env(NULL);
}

static void test_dump(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	struct buf b;

	assert_int_equal(load_text(full_ini, &cfg, err, sizeof err), 0);
	buf_init(&b, 0);
	assert_int_equal(config_dump(&cfg, &b), 0);
	assert_non_null(strstr(b.data, "[server]\n"));
	assert_non_null(strstr(b.data, "\nlisten = 0.0.0.0:9090\n"));
	assert_non_null(strstr(b.data, "\nthreads = 32\n"));
	assert_non_null(strstr(b.data, "\ntimeout_ms = 60000\n"));
	assert_non_null(strstr(b.data, "\nsession_secure = true\n"));
	assert_non_null(strstr(b.data, "\napp_secret = ********\n"));
	assert_non_null(strstr(b.data, "\naccess_token = ********\n"));
	assert_null(strstr(b.data, "s3cr;et"));
	assert_null(strstr(b.data, "tok-123"));
	assert_null(strstr(b.data, "simsecret"));
	assert_null(strstr(b.data, "EAAG-token"));
	config_release(&cfg);
	buf_release(&b);

	/* without secrets, the dump reads back as the same configuration */
	struct config a, c;
	assert_int_equal(
	    load_text("[server]\nthreads = 3\n[log]\nlevel = warn\n", &a, err, sizeof err), 0);
	buf_init(&b, 0);
	assert_int_equal(config_dump(&a, &b), 0);
	assert_non_null(strstr(b.data, "\npublic_url = \n")); /* unset */
	if (load_text(b.data, &c, err, sizeof err) != 0)
		fail_msg("dump does not load: %s", err);
	assert_int_equal(c.server.threads, 3);
	assert_string_equal(c.log.level, "warn");
	assert_null(c.server.public_url);
	assert_int_equal(c.whatsapp.timeout_ms, a.whatsapp.timeout_ms);
	assert_string_equal(c.store.url, a.store.url);
	config_release(&a);
	config_release(&c);
	buf_release(&b);

	buf_init(&b, 0);
	assert_int_equal(config_describe(&b), 0);
	assert_non_null(strstr(b.data, "CAREWIRE_WHATSAPP_GRAPH_URL"));
	assert_non_null(strstr(b.data, "default 127.0.0.1:8080"));
	buf_release(&b);
	buf_init(&b, 16); /* too small: refused, not truncated */
	assert_int_equal(config_describe(&b), CW_ETOOBIG);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults, clean_env),
	    cmocka_unit_test_setup(test_file_values, clean_env),
	    cmocka_unit_test_setup(test_env_wins, clean_env),
	    cmocka_unit_test_setup(test_file_errors, clean_env),
	    cmocka_unit_test_setup(test_bad_values, clean_env),
	    cmocka_unit_test_setup(test_env_errors, clean_env),
	    cmocka_unit_test_setup(test_dump, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
