/*
 * config.h — carewire's configuration: an INI file (libinih) and the
 * environment, read once at start-up into a plain struct.
 *
 * Every setting is a row of one table in config.c (section, key, type,
 * default, bounds, help). A value comes from, in rising order: the table's
 * default, the INI file, and the environment variable
 * CAREWIRE_<SECTION>_<KEY> in upper case (CAREWIRE_SERVER_LISTEN), which
 * wins. Anything wrong — an unknown section or key, a value of the wrong
 * type or out of bounds, a line too long — stops start-up with one line
 * naming where it is ("carewire.ini:12: ..." or "CAREWIRE_SERVER_THREADS:
 * ..."), and the command line exits 2.
 *
 * Value types:
 *	string    any text within the row's length bounds
 *	int       a decimal integer within the row's bounds
 *	bool      true/false, yes/no, on/off, 1/0
 *	duration  milliseconds ("5000"), a number with a unit ("250ms", "5s",
 *	          "2m", "1h", "1d") or ISO-8601 ("PT5S"); stored in ms
 *	listen    "host:port" or "[ipv6]:port", port 0..65535 (0: any free one)
 *	url       scheme ":" rest, with the scheme from the row's list
 *	path      a file or directory path (not checked for existence here)
 * An empty value ("key =" or CAREWIRE_X_Y="") leaves an optional setting
 * unset (NULL) and is an error for one that has a default.
 *
 * Base layer: knows the names of the settings, not what uses them.
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* The longest value accepted for a string-like setting. */
#define CONFIG_VALUE_MAX 1024
/* Enough for any error config_load() writes. */
#define CONFIG_ERR_MAX 512

/* The settings. Strings are owned by the struct (config_release() frees
 * them); NULL means an optional setting is unset. */
struct config {
	struct {
		char *listen;	  /* "127.0.0.1:8080" */
		int threads;	  /* HTTP worker threads */
		char *public_url; /* how the outside world reaches us; NULL: unset */
	} server;
	struct {
		char *url; /* "sqlite:PATH" or "postgres://..." */
	} store;
	struct {
		char *graph_url;    /* "https://graph.facebook.com" or a simulator */
		char *api_version;  /* "v21.0" */
		char *app_secret;   /* signs webhooks (secret) */
		char *verify_token; /* webhook subscription handshake (secret) */
		int64_t connect_timeout_ms;
		int64_t timeout_ms;
	} whatsapp;
	struct {
		char *master_key_file; /* key that encrypts stored tokens */
		bool session_secure;   /* Secure flag on dashboard cookies */
	} security;
	struct {
		char *level; /* "debug", "info", "warn" or "error" */
	} log;
	struct {
		char *data_dir;
	} demo;
	struct {
		char *listen;
		char *webhook;	    /* where the simulator posts webhooks */
		char *app_secret;   /* signs them (secret) */
		char *access_token; /* the bearer token it accepts (secret) */
	} sim;
};

/* Fills cfg from the defaults, then the INI file at path (NULL: none), then
 * the environment. cfg need not be initialised. Returns 0, and the caller
 * releases cfg with config_release(); or CW_EIO (the file cannot be read),
 * CW_EPARSE (bad file content) or CW_EINVAL (a bad environment value), with
 * one line in errbuf ("carewire.ini:3: unknown key 'listn' in [server]")
 * and cfg left empty (config_release() is harmless). */
int config_load(struct config *cfg, const char *path, char *errbuf, size_t errsz);

/* Frees the strings of cfg and zeroes it. Accepts NULL. */
void config_release(struct config *cfg);

/* Appends cfg to out as an INI file with each setting's help as a comment;
 * secrets appear as "********" when set. Returns 0 or CW_ETOOBIG. */
int config_dump(const struct config *cfg, struct buf *out);

/* Appends one line per setting to out ("  [server] listen  (listen, default
 * 127.0.0.1:8080; env CAREWIRE_SERVER_LISTEN)  help"), for --help.
 * Returns 0 or CW_ETOOBIG. */
int config_describe(struct buf *out);

#endif
