/*
 * config.c — the settings table, and the one loop that fills struct config
 * from defaults, an INI file (libinih) and CAREWIRE_* variables (see
 * config.h).
 *
 * Adding a setting is adding a field to struct config and a row to
 * settings[]; parsing, bounds, error lines, the environment name, the dump
 * and the --help text all come from the row.
 */
#include "base/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/time.h"
#include "base/banned.h"

enum setting_type { ST_STRING, ST_INT, ST_BOOL, ST_DURATION, ST_LISTEN, ST_URL, ST_PATH };

static const char *const type_names[] = {
    [ST_STRING] = "string", [ST_INT] = "int", [ST_BOOL] = "bool", [ST_DURATION] = "duration",
    [ST_LISTEN] = "listen", [ST_URL] = "url", [ST_PATH] = "path",
};

#define SF_SECRET 1u /* masked in config_dump() */

/* A check beyond the type: returns NULL when value is fine, else what is
 * wrong with it. */
typedef const char *(*setting_check_fn)(const char *value);

struct setting {
	const char *section;
	const char *key;
	enum setting_type type;
	const char *def;  /* written as in the file; NULL: optional, unset */
	int64_t min, max; /* int: the value; duration: ms; string-like: length */
	unsigned flags;
	const char *const *choices; /* string: allowed values; url: schemes */
	setting_check_fn check;
	size_t offset; /* of the field in struct config */
	const char *help;
};

#define SEC 1000LL
#define MIN (60 * SEC)

static const char *const web_schemes[] = {"http", "https", NULL};
static const char *const store_schemes[] = {"sqlite", "postgres", "postgresql", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static const char *check_api_version(const char *v);

#define AT(field) offsetof(struct config, field)

static const struct setting settings[] = {
    {"server", "listen", ST_LISTEN, "127.0.0.1:8080", 1, 255, 0, NULL, NULL, AT(server.listen),
     "address and port the HTTP server listens on"},
    {"server", "threads", ST_INT, "8", 1, 1024, 0, NULL, NULL, AT(server.threads),
     "HTTP worker threads"},
    {"server", "public_url", ST_URL, NULL, 1, 1000, 0, web_schemes, NULL, AT(server.public_url),
     "the URL people and Meta reach this server at (https://...)"},
    {"store", "url", ST_URL, "sqlite:./carewire-data/carewire.db", 1, 1000, 0, store_schemes, NULL,
     AT(store.url), "database: sqlite:PATH or postgres://..."},
    {"whatsapp", "graph_url", ST_URL, "https://graph.facebook.com", 1, 1000, 0, web_schemes, NULL,
     AT(whatsapp.graph_url), "Cloud API base URL (or a simulator's)"},
    {"whatsapp", "api_version", ST_STRING, "v21.0", 2, 16, 0, NULL, check_api_version,
     AT(whatsapp.api_version), "Graph API version, vNN.N"},
    {"whatsapp", "app_secret", ST_STRING, NULL, 1, 512, SF_SECRET, NULL, NULL,
     AT(whatsapp.app_secret), "Meta app secret: verifies X-Hub-Signature-256 of webhooks"},
    {"whatsapp", "verify_token", ST_STRING, NULL, 1, 512, SF_SECRET, NULL, NULL,
     AT(whatsapp.verify_token), "token Meta echoes when subscribing the webhook"},
    {"whatsapp", "connect_timeout_ms", ST_DURATION, "5s", 100, 60 * SEC, 0, NULL, NULL,
     AT(whatsapp.connect_timeout_ms), "connect timeout for Cloud API calls"},
    {"whatsapp", "timeout_ms", ST_DURATION, "30s", 1 * SEC, 10 * MIN, 0, NULL, NULL,
     AT(whatsapp.timeout_ms), "total timeout for one Cloud API call"},
    {"security", "master_key_file", ST_PATH, NULL, 1, 1000, 0, NULL, NULL,
     AT(security.master_key_file), "file holding the key that encrypts stored access tokens"},
    {"security", "session_secure", ST_BOOL, "false", 0, 0, 0, NULL, NULL,
     AT(security.session_secure), "mark dashboard cookies Secure (true behind HTTPS)"},
    {"log", "level", ST_STRING, "info", 1, 16, 0, log_levels, NULL, AT(log.level),
     "lowest level logged: debug, info, warn or error"},
    {"demo", "data_dir", ST_PATH, "./carewire-data", 1, 1000, 0, NULL, NULL, AT(demo.data_dir),
     "directory of the demo's database and files"},
    {"sim", "listen", ST_LISTEN, "127.0.0.1:8081", 1, 255, 0, NULL, NULL, AT(sim.listen),
     "address and port of the stand-alone simulator"},
    {"sim", "webhook", ST_URL, "http://127.0.0.1:8080/webhooks/whatsapp", 1, 1000, 0, web_schemes,
     NULL, AT(sim.webhook), "where the simulator delivers webhooks"},
    {"sim", "app_secret", ST_STRING, NULL, 1, 512, SF_SECRET, NULL, NULL, AT(sim.app_secret),
     "secret the simulator signs webhooks with"},
    {"sim", "access_token", ST_STRING, NULL, 1, 512, SF_SECRET, NULL, NULL, AT(sim.access_token),
     "bearer token the simulator accepts"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

#define ENV_PREFIX   "CAREWIRE_"
#define ENV_NAME_MAX 96

static const char *check_api_version(const char *v)
{
	static const char msg[] = "must look like v21.0";
	const char *p = v;
	if (*p++ != 'v')
		return msg;
	if (*p < '0' || *p > '9')
		return msg;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '.')
		return msg;
	if (*p < '0' || *p > '9')
		return msg;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p ? msg : NULL;
}

/* Where the setting's value lives in cfg. */
static void *field(struct config *cfg, const struct setting *s)
{
	return (char *)cfg + s->offset;
}

static const void *cfield(const struct config *cfg, const struct setting *s)
{
	return (const char *)cfg + s->offset;
}

static int stores_string(const struct setting *s)
{
	return s->type != ST_INT && s->type != ST_BOOL && s->type != ST_DURATION;
}

static void env_name(const struct setting *s, char out[ENV_NAME_MAX])
{
	size_t n = (size_t)snprintf(out, ENV_NAME_MAX, ENV_PREFIX "%s_%s", s->section, s->key);
	for (size_t i = 0; i < n && i < ENV_NAME_MAX; i++) {
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 'a' + 'A');
	}
}

/* Writes "250ms", "5s", "2m" or "1h": the largest unit that is exact. */
static void format_duration(int64_t ms, char *out, size_t outsz)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400 * SEC, "d"}, {3600 * SEC, "h"}, {MIN, "m"}, {SEC, "s"}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, outsz, "%lld%s", (long long)(ms / units[i].ms),
				 units[i].unit);
			return;
		}
	}
	snprintf(out, outsz, "%lldms", (long long)ms);
}

/* Strict decimal integer: optional '-', digits, nothing else. */
static int parse_int(const char *v, long long *out)
{
	const char *p = v;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (errno || !end || *end)
		return -1;
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {{"true", true},   {"yes", true}, {"on", true},   {"1", true},
		     {"false", false}, {"no", false}, {"off", false}, {"0", false}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcasecmp(v, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -1;
}

static int parse_duration(const char *v, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", SEC}, {"m", MIN}, {"h", 60 * MIN}, {"d", 24 * 60 * MIN}};

	if (v[0] == 'P' || v[0] == 'p')
		return time_parse_duration(v, out) == 0 && *out >= 0 ? 0 : -1;
	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (errno || !end)
		return -1;
	if (!*end) {
		*out = n; /* a bare number is milliseconds */
		return 0;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (n > INT64_MAX / units[i].ms)
				return -1;
			*out = n * units[i].ms;
			return 0;
		}
	}
	return -1;
}

/* "host:port" or "[v6]:port"; host made of letters, digits, '.', '-', '_'
 * (or hex digits and ':' inside brackets). */
static const char *check_listen(const char *v)
{
	static const char msg[] = "must be host:port (e.g. 127.0.0.1:8080 or [::1]:8080), "
				  "port 0 to 65535";
	const char *colon;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close == v + 1 || close[1] != ':')
			return msg;
		for (const char *p = v + 1; p < close; p++) {
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return msg;
		}
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon || colon == v)
			return msg;
		for (const char *p = v; p < colon; p++) {
			char c = *p;
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
				return msg;
		}
	}
	const char *port = colon + 1;
	size_t plen = strlen(port);
	if (plen == 0 || plen > 5)
		return msg;
	long n = 0;
	for (const char *p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return msg;
		n = n * 10 + (*p - '0');
	}
	return n <= 65535 ? NULL : msg;
}

static int has_space_or_control(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= ' ' || *p == 0x7f)
			return 1;
	}
	return 0;
}

static int in_list(const char *const *list, const char *v, size_t n)
{
	for (; *list; list++) {
		if (strlen(*list) == n && strncmp(*list, v, n) == 0)
			return 1;
	}
	return 0;
}

static void list_join(const char *const *list, char *out, size_t outsz)
{
	struct buf b;
	buf_init(&b, outsz > 1 ? outsz - 1 : 1);
	for (const char *const *p = list; *p; p++)
		buf_printf(&b, "%s%s", p == list ? "" : ", ", *p);
	snprintf(out, outsz, "%s", b.data ? b.data : "");
	buf_release(&b);
}

static const char *check_url(const struct setting *s, const char *v, char *msg, size_t msgsz)
{
	char schemes[128];
	list_join(s->choices, schemes, sizeof schemes);
	const char *colon = strchr(v, ':');
	if (!colon || !in_list(s->choices, v, (size_t)(colon - v)) || !colon[1] ||
	    has_space_or_control(v)) {
		snprintf(msg, msgsz, "must be a URL starting with %s:", schemes);
		return msg;
	}
	size_t slen = (size_t)(colon - v);
	int web =
	    (slen == 4 && strncmp(v, "http", 4) == 0) || (slen == 5 && strncmp(v, "https", 5) == 0);
	int pg = slen >= 8 && strncmp(v, "postgres", 8) == 0;
	if ((web || pg) && (strncmp(colon, "://", 3) != 0 || !colon[3] || colon[3] == '/')) {
		snprintf(msg, msgsz, "must be %.*s://HOST...", (int)slen, v);
		return msg;
	}
	return NULL;
}

/* Sets s in cfg from the text v. Returns 0, or -1 with msg set. */
static int setting_set(struct config *cfg, const struct setting *s, const char *v, char *msg,
		       size_t msgsz)
{
	size_t len = strlen(v);
	const char *bad = NULL;

	if (len == 0) {
		if (s->def) {
			snprintf(msg, msgsz, "[%s] %s must not be empty", s->section, s->key);
			return -1;
		}
		char **slot = field(cfg, s);
		free(*slot);
		*slot = NULL;
		return 0;
	}
	if (len > CONFIG_VALUE_MAX) {
		snprintf(msg, msgsz, "[%s] %s is too long (over %d bytes)", s->section, s->key,
			 CONFIG_VALUE_MAX);
		return -1;
	}

	switch (s->type) {
	case ST_INT: {
		long long n;
		if (parse_int(v, &n) != 0 || n < s->min || n > s->max) {
			snprintf(msg, msgsz, "[%s] %s must be an integer from %lld to %lld",
				 s->section, s->key, (long long)s->min, (long long)s->max);
			return -1;
		}
		*(int *)field(cfg, s) = (int)n;
		return 0;
	}
	case ST_BOOL:
		if (parse_bool(v, field(cfg, s)) != 0) {
			snprintf(msg, msgsz, "[%s] %s must be true or false", s->section, s->key);
			return -1;
		}
		return 0;
	case ST_DURATION: {
		int64_t ms = 0;
		if (parse_duration(v, &ms) != 0 || ms < s->min || ms > s->max) {
			char lo[24], hi[24];
			format_duration(s->min, lo, sizeof lo);
			format_duration(s->max, hi, sizeof hi);
			snprintf(msg, msgsz,
				 "[%s] %s must be a duration from %s to %s (e.g. 5000, 5s, PT5S)",
				 s->section, s->key, lo, hi);
			return -1;
		}
		*(int64_t *)field(cfg, s) = ms;
		return 0;
	}
	case ST_LISTEN:
		bad = check_listen(v);
		break;
	case ST_URL: {
		char why[192];
		bad = check_url(s, v, why, sizeof why);
		if (bad) {
			snprintf(msg, msgsz, "[%s] %s %s", s->section, s->key, why);
			return -1;
		}
		break;
	}
	case ST_PATH:
		for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
			if (*p < ' ' || *p == 0x7f)
				bad = "must be a path without control characters";
		}
		break;
	case ST_STRING:
		if (s->choices && !in_list(s->choices, v, len)) {
			char list[128];
			list_join(s->choices, list, sizeof list);
			snprintf(msg, msgsz, "[%s] %s must be one of: %s", s->section, s->key,
				 list);
			return -1;
		}
		break;
	}
	if (!bad && ((int64_t)len < s->min || (int64_t)len > s->max)) {
		snprintf(msg, msgsz, "[%s] %s must be %lld to %lld bytes long", s->section, s->key,
			 (long long)s->min, (long long)s->max);
		return -1;
	}
	if (!bad && s->check)
		bad = s->check(v);
	if (bad) {
		snprintf(msg, msgsz, "[%s] %s %s", s->section, s->key, bad);
		return -1;
	}
	char **slot = field(cfg, s);
	free(*slot);
	*slot = xstrdup(v);
	return 0;
}

static const struct setting *find_setting(const char *section, const char *key, int *section_known)
{
	*section_known = 0;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strcasecmp(settings[i].section, section) != 0)
			continue;
		*section_known = 1;
		if (strcasecmp(settings[i].key, key) == 0)
			return &settings[i];
	}
	return NULL;
}

/* ---- the INI file ---- */

struct ini_ctx {
	struct config *cfg;
	FILE *fp;
	int lineno;   /* of the line inih is handling */
	int err_line; /* first error found by the handler or reader; 0: none */
	char err[CONFIG_ERR_MAX];
	unsigned char seen[NSETTINGS];
};

static void ctx_error(struct ini_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctx_error(struct ini_ctx *c, const char *fmt, ...)
{
	if (c->err_line)
		return; /* the first error is the one reported */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	c->err_line = c->lineno;
}

/* An fgets() for inih that counts lines (inih 55 does not pass line
 * numbers to handlers) and stops at a line too long for inih's buffer,
 * which it would otherwise silently split in two. */
static char *ini_read(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	if (c->err_line)
		return NULL; /* the first error ends the file: nothing after it is reported */
	if (!fgets(str, num, c->fp))
		return NULL;
	c->lineno++;
	size_t n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(c->fp)) {
		ctx_error(c, "line too long (at most %d bytes)", num - 3);
		return NULL;
	}
	return str;
}

/* Drops one pair of surrounding double quotes, which INI writers often add. */
static const char *unquote(const char *v, char *tmp, size_t tmpsz)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"' && n - 2 < tmpsz) {
		memcpy(tmp, v + 1, n - 2);
		tmp[n - 2] = '\0';
		return tmp;
	}
	return v;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;
	char msg[CONFIG_ERR_MAX];
	char tmp[CONFIG_VALUE_MAX + 1];
	int known = 0;

	if (!section[0]) {
		ctx_error(c, "key '%s' outside a [section]", name);
		return 0;
	}
	const struct setting *s = find_setting(section, name, &known);
	if (!known) {
		ctx_error(c, "unknown section [%s]", section);
		return 0;
	}
	if (!s) {
		ctx_error(c, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	size_t idx = (size_t)(s - settings);
	if (c->seen[idx]) {
		ctx_error(c, "[%s] %s given twice (or an indented line continues it)", s->section,
			  s->key);
		return 0;
	}
	c->seen[idx] = 1;
	if (setting_set(c->cfg, s, unquote(value, tmp, sizeof tmp), msg, sizeof msg) != 0) {
		ctx_error(c, "%s", msg);
		return 0;
	}
	return 1;
}

static void put_err(char *errbuf, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put_err(char *errbuf, size_t errsz, const char *fmt, ...)
{
	if (!errbuf || !errsz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errsz, fmt, ap);
	va_end(ap);
}

static int load_file(struct config *cfg, const char *path, char *errbuf, size_t errsz)
{
	struct ini_ctx *c = xcalloc(1, sizeof *c);
	int rc = 0;

	c->cfg = cfg;
	c->fp = fopen(path, "r");
	if (!c->fp) {
		put_err(errbuf, errsz, "%s: cannot open: %s", path, strerror(errno));
		rc = CW_EIO;
		goto out;
	}
	int line = ini_parse_stream(ini_read, c, ini_handler_fn, c);
	if (ferror(c->fp)) {
		put_err(errbuf, errsz, "%s: read error", path);
		rc = CW_EIO;
	} else if (c->err_line && (line <= 0 || c->err_line <= line)) {
		put_err(errbuf, errsz, "%s:%d: %s", path, c->err_line, c->err);
		rc = CW_EPARSE;
	} else if (line > 0) {
		put_err(errbuf, errsz, "%s:%d: syntax error: expected [section] or key = value",
			path, line);
		rc = CW_EPARSE;
	} else if (line < 0) {
		put_err(errbuf, errsz, "%s: cannot parse (out of memory)", path);
		rc = CW_ENOMEM;
	}
out:
	if (c->fp)
		fclose(c->fp);
	free(c);
	return rc;
}

/* ---- the environment ---- */

static int load_env(struct config *cfg, char *errbuf, size_t errsz)
{
	char name[ENV_NAME_MAX], msg[CONFIG_ERR_MAX];

	for (size_t i = 0; i < NSETTINGS; i++) {
		env_name(&settings[i], name);
		const char *v = getenv(name);
		if (!v)
			continue;
		if (setting_set(cfg, &settings[i], v, msg, sizeof msg) != 0) {
			put_err(errbuf, errsz, "%s: %s", name, msg);
			return CW_EINVAL;
		}
	}

	/* A misspelt variable in a known section would otherwise be ignored
	 * silently; other CAREWIRE_* variables are not ours to judge. */
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, ENV_PREFIX, sizeof ENV_PREFIX - 1) != 0)
			continue;
		const char *eq = strchr(*e, '=');
		size_t nlen = eq ? (size_t)(eq - *e) : strlen(*e);
		for (size_t i = 0; i < NSETTINGS; i++) {
			size_t slen = strlen(settings[i].section);
			const char *sec = *e + sizeof ENV_PREFIX - 1;
			if (nlen <= sizeof ENV_PREFIX - 1 + slen + 1 ||
			    strncasecmp(sec, settings[i].section, slen) != 0 || sec[slen] != '_' ||
			    (i > 0 && strcmp(settings[i - 1].section, settings[i].section) == 0))
				continue;
			/* The first row of a section this variable names: is any key it? */
			int found = 0;
			for (size_t j = i;
			     j < NSETTINGS && strcmp(settings[j].section, settings[i].section) == 0;
			     j++) {
				env_name(&settings[j], name);
				if (strlen(name) == nlen && strncmp(name, *e, nlen) == 0)
					found = 1;
			}
			if (!found) {
				put_err(errbuf, errsz, "%.*s: unknown setting in [%s]", (int)nlen,
					*e, settings[i].section);
				return CW_EINVAL;
			}
		}
	}
	return 0;
}

int config_load(struct config *cfg, const char *path, char *errbuf, size_t errsz)
{
	char msg[CONFIG_ERR_MAX];
	int rc = 0;

	memset(cfg, 0, sizeof *cfg);
	put_err(errbuf, errsz, "%s", "");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		if (s->def && setting_set(cfg, s, s->def, msg, sizeof msg) != 0) {
			put_err(errbuf, errsz, "default of %s", msg); /* a bug in settings[] */
			rc = CW_EINTERNAL;
			goto fail;
		}
	}
	if (path) {
		rc = load_file(cfg, path, errbuf, errsz);
		if (rc)
			goto fail;
	}
	rc = load_env(cfg, errbuf, errsz);
	if (rc)
		goto fail;
	return 0;
fail:
	config_release(cfg);
	return rc;
}

void config_release(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (stores_string(&settings[i]))
			free(*(char **)field(cfg, &settings[i]));
	}
	memset(cfg, 0, sizeof *cfg);
}

/* The value of s in cfg as it would be written in the file. */
static void value_text(const struct config *cfg, const struct setting *s, char *out, size_t outsz,
		       int mask)
{
	switch (s->type) {
	case ST_INT:
		snprintf(out, outsz, "%d", *(const int *)cfield(cfg, s));
		return;
	case ST_BOOL:
		snprintf(out, outsz, "%s", *(const bool *)cfield(cfg, s) ? "true" : "false");
		return;
	case ST_DURATION:
		snprintf(out, outsz, "%lld", (long long)*(const int64_t *)cfield(cfg, s));
		return;
	default: {
		const char *v = *(char *const *)cfield(cfg, s);
		snprintf(out, outsz, "%s",
			 !v				    ? ""
			 : (mask && (s->flags & SF_SECRET)) ? "********"
							    : v);
		return;
	}
	}
}

int config_dump(const struct config *cfg, struct buf *out)
{
	char v[CONFIG_VALUE_MAX + 1];
	int rc = 0;

	for (size_t i = 0; i < NSETTINGS && rc == 0; i++) {
		const struct setting *s = &settings[i];
		if (i == 0 || strcmp(settings[i - 1].section, s->section) != 0)
			rc = buf_printf(out, "%s[%s]\n", i ? "\n" : "", s->section);
		value_text(cfg, s, v, sizeof v, 1);
		if (rc == 0)
			rc = buf_printf(out, "; %s\n%s = %s\n", s->help, s->key, v);
	}
	return rc;
}

int config_describe(struct buf *out)
{
	char name[ENV_NAME_MAX], def[128];
	int rc = 0;

	for (size_t i = 0; i < NSETTINGS && rc == 0; i++) {
		const struct setting *s = &settings[i];
		env_name(s, name);
		if (s->def)
			snprintf(def, sizeof def, "default %s", s->def);
		else
			snprintf(def, sizeof def, "%s",
				 (s->flags & SF_SECRET) ? "secret" : "optional");
		rc = buf_printf(out, "  [%s] %-20s %s (%s, %s)\n      %s\n", s->section, s->key,
				type_names[s->type], def, name, s->help);
	}
	return rc;
}
