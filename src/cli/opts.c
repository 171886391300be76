/*
 * opts.c — option tables and small shared pieces of the commands.
 */
#include "cli/opts.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

int opts_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "carewire %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int opts_parse(const char *cmd, int argc, char **argv, const struct opt *opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t alen = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
		const struct opt *o = NULL;
		for (const struct opt *p = opts; p->flag; p++)
			if (strlen(p->flag) == alen && strncmp(p->flag, a, alen) == 0)
				o = p;
		if (!o) {
			if (a[0] == '-')
				return opts_usage_error(cmd, "unknown option '%s'", a);
			return opts_usage_error(cmd, "unexpected argument '%s'", a);
		}
		if (o->on) {
			*o->on = 1;
			continue;
		}
		if (eq && alen < strlen(a)) {
			*o->value = eq + 1;
			continue;
		}
		if (i + 1 >= argc)
			return opts_usage_error(cmd, "option %s needs a value", o->flag);
		*o->value = argv[++i];
	}
	return 0;
}

int opts_config(const char *cmd, const char *file, struct config *cfg)
{
	char err[CONFIG_ERR_MAX];
	if (config_load(cfg, file, err, sizeof err) != 0) {
		fprintf(stderr, "carewire %s: %s\n", cmd, err);
		return 2;
	}
	return 0;
}

void opts_block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void opts_wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
}
