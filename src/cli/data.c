/*
 * data.c — the data commands: `carewire import contacts FILE.csv`,
 * `carewire import fhir BUNDLE.json` and `carewire audit verify`.
 *
 * Imports write through core/ like the API does, audited with the actor
 * "cli:import". A refused line is printed as "line 7: phone: too short
 * (...)" and the rest go on; the exit code is 0 when every line was
 * imported, 1 when some failed (or the file could not be imported at all),
 * 2 for bad usage. On a terminal a progress bar is drawn on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/err.h"
#include "base/id.h"
#include "base/time.h"
#include "cli.h"
#include "cli/opts.h"
#include "core/audit.h"
#include "core/contact_csv.h"
#include "core/fhir.h"
#include "core/org.h"
#include "store/store.h"
#include "base/banned.h"

#define DATA_MAX_ARGS  32
#define FHIR_FILE_MAX  (256L * 1024 * 1024)
#define PROGRESS_MS    100
#define PROGRESS_WIDTH 30
#define IMPORT_ACTOR   "cli:import"

/* ---- shared ---- */

static const char *const value_flags[] = {"-c", "--config", "--org"};

/* Splits argv into the one positional argument (*pos, NULL if none) and the
 * flags (into rest, rest[0] = argv[0]). Returns 0 or 2 (reported). */
static int split_args(const char *cmd, int argc, char **argv, const char **pos, char **rest,
		      int *nrest)
{
	*pos = NULL;
	*nrest = 0;
	if (argc > DATA_MAX_ARGS)
		return opts_usage_error(cmd, "too many arguments");
	rest[(*nrest)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		int value = 0;
		for (size_t k = 0; k < sizeof value_flags / sizeof value_flags[0]; k++)
			value |= strcmp(argv[i], value_flags[k]) == 0;
		if (value && i + 1 < argc) {
			rest[(*nrest)++] = argv[i++];
			rest[(*nrest)++] = argv[i];
		} else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (*pos)
				return opts_usage_error(cmd, "unexpected argument '%s'", argv[i]);
			*pos = argv[i];
		} else {
			rest[(*nrest)++] = argv[i];
		}
	}
	return 0;
}

/* Opens and migrates the configuration's store. Returns 0, 1 or 2. */
static int open_store(const char *cmd, const char *file, struct config *cfg, struct store **st)
{
	int rc = opts_config(cmd, file, cfg);
	if (rc)
		return rc;
	rc = store_open(cfg->store.url, st);
	if (rc == 0)
		rc = store_migrate(*st, NULL);
	if (rc) {
		fprintf(stderr, "carewire %s: cannot open the store: %s\n", cmd, cw_strerror(rc));
		store_free(*st);
		*st = NULL;
		config_release(cfg);
		return 1;
	}
	return 0;
}

struct org_pick {
	char id[ID_SIZE];
	int n;
};

static int org_cb(void *ud, const struct store_row *row)
{
	struct org_pick *o = ud;
	const char *id = store_row_text(row, 0);
	if (o->n++ == 0)
		snprintf(o->id, sizeof o->id, "%s", id ? id : "");
	return 0;
}

/* The organisation to import into: --org, or the only one there is.
 * Returns 0 with org filled, or 2 (reported). */
static int pick_org(const char *cmd, struct store *st, const char *want, struct org_info *org)
{
	if (want) {
		if (org_get(st, want, org) != 0)
			return opts_usage_error(cmd, "no organisation with id %s", want);
		return 0;
	}
	struct org_pick p = {"", 0};
	if (store_query(st, "org.list", NULL, 0, org_cb, &p) < 0 || p.n == 0)
		return opts_usage_error(cmd, "there is no organisation yet (carewire org create)");
	if (p.n > 1)
		return opts_usage_error(cmd, "there are %d organisations: name one with --org ID",
					p.n);
	return org_get(st, p.id, org) == 0 ? 0 : 2;
}

/* ---- import contacts ---- */

struct progress {
	int tty;
	uint64_t total; /* bytes; 0 when unknown (a pipe) */
	int64_t last_ms;
	int drawn; /* a bar is on the line now */
};

static void bar_clear(struct progress *p)
{
	if (p->drawn)
		fputs("\r\033[K", stderr);
	p->drawn = 0;
}

static void bar_draw(struct progress *p, uint64_t bytes, const struct contact_csv_report *r,
		     int force)
{
	if (!p->tty)
		return;
	int64_t now = time_mono_ms();
	if (!force && now - p->last_ms < PROGRESS_MS)
		return;
	p->last_ms = now;
	char bar[PROGRESS_WIDTH + 1];
	int pct = p->total ? (int)(bytes * 100 / p->total) : 0;
	if (pct > 100)
		pct = 100;
	int fill = p->total ? pct * PROGRESS_WIDTH / 100 : 0;
	for (int i = 0; i < PROGRESS_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[PROGRESS_WIDTH] = '\0';
	if (p->total)
		fprintf(stderr, "\r\033[K[%s] %3d%%  %ld lines, %ld failed", bar, pct, r->lines,
			r->failed);
	else
		fprintf(stderr, "\r\033[K%ld lines, %ld failed", r->lines, r->failed);
	fflush(stderr);
	p->drawn = 1;
}

static void on_progress(void *ud, uint64_t bytes, const struct contact_csv_report *r)
{
	bar_draw(ud, bytes, r, 0);
}

static void on_error(void *ud, long line, const char *field, const char *message)
{
	bar_clear(ud);
	fprintf(stderr, "line %ld: %s%s%s\n", line, field, *field ? ": " : "", message);
}

int cli_import_contacts(int argc, char **argv)
{
	const char *cmd = "import contacts";
	const char *path = NULL, *file = NULL, *org_id = NULL;
	char *rest[DATA_MAX_ARGS];
	int nrest = 0;
	if (split_args(cmd, argc, argv, &path, rest, &nrest))
		return 2;
	const struct opt opts[] = {{"-c", &file, NULL},
				   {"--config", &file, NULL},
				   {"--org", &org_id, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse(cmd, nrest, rest, opts))
		return 2;
	if (!path)
		return opts_usage_error(cmd, "which file? carewire import contacts FILE.csv");
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return opts_usage_error(cmd, "cannot open %s", path);
	struct progress pg = {.tty = isatty(STDERR_FILENO)};
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
		pg.total = (uint64_t)sb.st_size;

	struct config cfg;
	struct store *st = NULL;
	struct org_info org;
	int rc = open_store(cmd, file, &cfg, &st);
	if (rc)
		goto close_file;
	rc = pick_org(cmd, st, org_id, &org);
	if (rc)
		goto out;
	struct contact_csv_opts o = {.org_id = org.id,
				     .region = org.region,
				     .actor = IMPORT_ACTOR,
				     .via = "csv",
				     .on_error = on_error,
				     .on_progress = on_progress,
				     .ud = &pg};
	struct contact_csv_report r;
	struct csv *c = csv_new_file(f);
	rc = contact_csv_import(st, c, &o, &r);
	if (rc == 0 || rc == CW_EIO)
		bar_draw(&pg, csv_offset(c), &r, 1);
	csv_free(c);
	bar_clear(&pg);
	if (rc == CW_EPARSE) {
		fprintf(stderr, "carewire %s: %s was not imported\n", cmd, path);
		rc = 1;
		goto out;
	}
	if (rc) {
		fprintf(stderr, "carewire %s: stopped: %s (%ld contacts were stored)\n", cmd,
			cw_strerror(rc), r.created + r.updated);
		rc = 1;
		goto out;
	}
	printf("imported %ld of %ld lines: %ld new, %ld updated\n", r.created + r.updated, r.lines,
	       r.created, r.updated);
	if (r.failed) {
		fprintf(stderr, "carewire %s: %ld line%s failed (listed above)\n", cmd, r.failed,
			r.failed == 1 ? "" : "s");
		rc = 1;
	}
out:
	store_free(st);
	config_release(&cfg);
close_file:
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ---- import fhir ---- */

int cli_import_fhir(int argc, char **argv)
{
	const char *cmd = "import fhir";
	const char *path = NULL, *file = NULL, *org_id = NULL;
	char *rest[DATA_MAX_ARGS];
	int nrest = 0;
	if (split_args(cmd, argc, argv, &path, rest, &nrest))
		return 2;
	const struct opt opts[] = {{"-c", &file, NULL},
				   {"--config", &file, NULL},
				   {"--org", &org_id, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse(cmd, nrest, rest, opts))
		return 2;
	if (!path)
		return opts_usage_error(cmd, "which file? carewire import fhir BUNDLE.json");
	struct stat sb;
	if (strcmp(path, "-") != 0 && stat(path, &sb) != 0)
		return opts_usage_error(cmd, "cannot open %s", path);
	if (strcmp(path, "-") != 0 && sb.st_size > FHIR_FILE_MAX)
		return opts_usage_error(cmd, "%s is larger than %ld MB", path,
					FHIR_FILE_MAX / (1024 * 1024));
	json_error_t je;
	json_t *res = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
					     : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!res) {
		fprintf(stderr, "carewire %s: %s: line %d: %s\n", cmd, path, je.line, je.text);
		return 1;
	}
	struct config cfg;
	struct store *st = NULL;
	struct org_info org;
	int rc = open_store(cmd, file, &cfg, &st);
	if (rc) {
		json_decref(res);
		return rc;
	}
	rc = pick_org(cmd, st, org_id, &org);
	if (rc)
		goto out;
	struct fhir_report r;
	rc = fhir_import(st, org.id, org.region, res, IMPORT_ACTOR, &r);
	size_t i;
	const json_t *e;
	json_array_foreach(r.errors, i, e)
	{
		const json_t *entry = json_object_get(e, "entry");
		const char *field = json_string_value(json_object_get(e, "field"));
		if (entry)
			fprintf(stderr, "entry %lld ", (long long)json_integer_value(entry));
		fprintf(stderr, "(%s): %s%s%s\n", json_string_value(json_object_get(e, "resource")),
			field ? field : "", field && *field ? ": " : "",
			json_string_value(json_object_get(e, "message")));
	}
	if (rc == CW_EINVAL) {
		fprintf(stderr, "carewire %s: %s is neither a FHIR Bundle nor a Patient\n", cmd,
			path);
		rc = 1;
	} else if (rc) {
		fprintf(stderr, "carewire %s: stopped: %s\n", cmd, cw_strerror(rc));
		rc = 1;
	} else {
		printf("imported %ld of %ld patients: %ld new, %ld updated; %ld other resources "
		       "skipped\n",
		       r.created + r.updated, r.patients, r.created, r.updated, r.skipped);
		if (r.failed) {
			fprintf(stderr, "carewire %s: %ld patient%s not imported (listed above)\n",
				cmd, r.failed, r.failed == 1 ? "" : "s");
			rc = 1;
		}
	}
	fhir_report_release(&r);
out:
	json_decref(res);
	store_free(st);
	config_release(&cfg);
	return rc;
}

/* ---- audit verify ---- */

int cli_audit_verify(int argc, char **argv)
{
	const char *cmd = "audit verify";
	const char *file = NULL;
	const struct opt opts[] = {
	    {"-c", &file, NULL}, {"--config", &file, NULL}, {NULL, NULL, NULL}};
	if (opts_parse(cmd, argc, argv, opts))
		return 2;
	struct config cfg;
	struct store *st = NULL;
	int rc = open_store(cmd, file, &cfg, &st);
	if (rc)
		return rc;
	struct audit_verify v;
	rc = audit_verify(st, &v);
	if (rc == 0) {
		printf("ok %lld entries\n", (long long)v.entries);
		if (v.entries)
			printf("head %s\n", v.head);
	} else if (rc == CW_EINVAL) {
		printf("audit log broken at entry %lld: %s\n", (long long)v.bad_seq, v.problem);
		printf("%lld entries before it are intact\n", (long long)v.entries);
		rc = 1;
	} else {
		fprintf(stderr, "carewire %s: %s\n", cmd, cw_strerror(rc));
		rc = 1;
	}
	store_free(st);
	config_release(&cfg);
	return rc;
}
