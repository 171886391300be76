/*
 * main.c — the carewire command line.
 *
 * One table of commands; each command parses its own options with a table
 * of flags, and bad usage exits 2 with a message. The long-running commands
 * (serve, demo, sim) build their services and wait for SIGINT/SIGTERM.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "base/sec.h"
#include "cli.h"
#include "base/banned.h"

#define CW_VERSION "0.1.0"

struct command {
	const char *name;
	const char *sub; /* second word ("create" in "apikey create"), or NULL */
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("carewire %s\n", CW_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{"demo", NULL, cli_demo, "demo [-c FILE] [--listen HOST:PORT]",
	 "run the demo clinic on SQLite with the simulator, all on one port"},
	{"serve", NULL, cli_serve, "serve [-c FILE]", "run carewire against the Cloud API"},
	{"sim", NULL, cli_sim,
	 "sim [--listen HOST:PORT] [--webhook URL] [--app-secret S] [--access-token T]",
	 "run the Cloud API simulator alone"},
	{"migrate", NULL, cli_migrate, "migrate [-c FILE]", "apply database migrations"},
	{"org", "create", cli_org_create,
	 "org create --name NAME --kind hospital|clinic|diagnostic|pharmacy|pharma|events "
	 "--region CC [-c FILE]",
	 "create an organisation (prints its id)"},
	{"number", "add", cli_number_add,
	 "number add --org ID --phone-number-id P --waba-id W --display +972... --token-file F "
	 "[--rate N] [-c FILE]",
	 "add a WhatsApp phone number to an organisation"},
	{"apikey", "create", cli_apikey_create,
	 "apikey create --org ORG --role admin|agent|integration|viewer [--name N] [-c FILE]",
	 "create an API key (printed once)"},
	{"agent", "create", cli_agent_create,
	 "agent create --org ID --email E --role admin|agent|viewer [--name N] "
	 "[--password-file F] [-c FILE]",
	 "create a dashboard account (password from the file or standard input)"},
	{"journey", "check", cli_journey_check, "journey check FILE.json [FILE.json ...]",
	 "check journey definitions (errors name the step and the field)"},
	{"segment", NULL, cli_segment,
	 "segment 'QUERY' [--purpose P] [--org ID] [--json] [-c FILE]",
	 "count a segment's contacts, show a sample and, for a purpose, who policy excludes"},
	{"import", "contacts", cli_import_contacts,
	 "import contacts FILE.csv [--org ID] [-c FILE]",
	 "import or update contacts from CSV (errors per line; exit 1 if any line failed)"},
	{"import", "fhir", cli_import_fhir, "import fhir BUNDLE.json [--org ID] [-c FILE]",
	 "import the Patients of a FHIR R4 Bundle (or one Patient) as contacts"},
	{"audit", "verify", cli_audit_verify, "audit verify [-c FILE]",
	 "check the audit log's hash chain (exit 1 naming the first bad entry)"},
	{"version", NULL, cmd_version, "version", "print the version"},
	{"help", NULL, cmd_help, "help", "this list"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: carewire COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  carewire %s\n      %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\nConfiguration: an INI file (-c FILE); every key also as the environment\n"
		   "variable CAREWIRE_<SECTION>_<KEY>, which wins. Keys:\n");
	struct buf b;
	buf_init(&b, 0);
	config_describe(&b);
	if (b.data)
		fputs(b.data, f);
	buf_release(&b);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* glibc gives freed memory back to the kernel as soon as the top of the heap
 * is free (128 KB by default); the store's writer then spends a quarter of
 * its cycles in madvise under load. Keep up to 128 MB before trimming. */
#define MALLOC_TRIM_THRESHOLD (128 * 1024 * 1024)

int main(int argc, char **argv)
{
	mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD);
	log_init_from_env();
	if (sec_init() != 0) {
		fprintf(stderr, "carewire: libsodium failed to initialise\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(0, NULL);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		if (strcmp(argv[1], c->name) != 0)
			continue;
		if (!c->sub)
			return c->run(argc - 1, argv + 1);
		if (argc >= 3 && strcmp(argv[2], c->sub) == 0)
			return c->run(argc - 2, argv + 2);
	}
	fprintf(stderr, "carewire: unknown command '%s%s%s' (carewire --help lists them)\n",
		argv[1], argc >= 3 && argv[2][0] != '-' ? " " : "",
		argc >= 3 && argv[2][0] != '-' ? argv[2] : "");
	return 2;
}
