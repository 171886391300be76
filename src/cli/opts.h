/*
 * opts.h — the command line's option tables: every command lists its flags
 * as rows {"--name", &dest, takes_value}; one loop parses them all.
 */
#ifndef CW_CLI_OPTS_H
#define CW_CLI_OPTS_H

#include "base/config.h"

struct opt {
	const char *flag;   /* "--org", "-c" */
	const char **value; /* where a value goes (NULL for a switch) */
	int *on;            /* set to 1 by a switch */
};

/* Parses argv[1..argc) against the NULL-flag-terminated table. Unknown flags,
 * a missing value or a stray argument print "carewire CMD: ..." and return 2.
 * Returns 0 on success. */
int opts_parse(const char *cmd, int argc, char **argv, const struct opt *opts);

/* Loads the configuration (file may be NULL). On error prints it and returns
 * 2 (the exit code for bad configuration). */
int opts_config(const char *cmd, const char *file, struct config *cfg);

/* Prints "carewire CMD: message" to stderr and returns 2. */
int opts_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Blocks SIGINT and SIGTERM in this thread and those it starts later, so
 * that opts_wait_for_signal() receives them. Call before starting threads. */
void opts_block_signals(void);
/* Blocks until SIGINT or SIGTERM. */
void opts_wait_for_signal(void);

#endif
