/*
 * segment.c — `carewire segment 'QUERY' [--purpose P] [--org ID] [--json] [-c FILE]`:
 * the same preview as POST /api/v1/segments/preview, on the terminal: how
 * many contacts match, the first ten, and for a purpose how many policy
 * would exclude, per reason. A bad query exits 2 with its column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/id.h"
#include "base/time.h"
#include "cli.h"
#include "cli/opts.h"
#include "core/policy.h"
#include "core/segpreview.h"
#include "store/store.h"
#include "base/banned.h"

#define CMD	 "segment"
#define MAX_ARGS 32

/* Flags that take a value: their value is not the query. */
static const char *const value_flags[] = {"-c", "--config", "--purpose", "--org"};

static int takes_value(const char *a)
{
	for (size_t i = 0; i < sizeof value_flags / sizeof value_flags[0]; i++)
		if (strcmp(a, value_flags[i]) == 0)
			return 1;
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

static void print_text(const struct segpreview *p)
{
	printf("count: %lld\n", (long long)p->count);
	printf("sample:%s\n", p->nsample ? "" : " (none)");
	for (int i = 0; i < p->nsample; i++)
		printf("  %s  %s  %s\n", p->sample[i].id,
		       p->sample[i].name[0] ? p->sample[i].name : "-",
		       p->sample[i].language[0] ? p->sample[i].language : "-");
	if (p->purpose < 0)
		return;
	printf("excluded for %s:", policy_purpose_name((enum policy_purpose)p->purpose));
	int any = 0;
	for (int r = 1; r < POLICY_R_COUNT; r++) {
		if (!p->excluded[r])
			continue;
		printf("\n  %-20s %lld", policy_reason_code((enum policy_reason)r),
		       (long long)p->excluded[r]);
		any = 1;
	}
	printf("%s\neligible: %lld\n", any ? "" : " none", (long long)p->eligible);
}

int cli_segment(int argc, char **argv)
{
	const char *file = NULL, *purpose = NULL, *org = NULL, *query = NULL;
	int as_json = 0;
	char *rest[MAX_ARGS];
	int nrest = 0;
	if (argc > MAX_ARGS)
		return opts_usage_error(CMD, "too many arguments");
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (takes_value(argv[i]) && i + 1 < argc) {
			rest[nrest++] = argv[i];
			rest[nrest++] = argv[++i];
		} else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (query)
				return opts_usage_error(CMD, "one query only (quote it: "
							     "carewire segment 'tag = vip')");
			query = argv[i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	const struct opt opts[] = {{"-c", &file, NULL},		  {"--config", &file, NULL},
				   {"--purpose", &purpose, NULL}, {"--org", &org, NULL},
				   {"--json", NULL, &as_json},	  {NULL, NULL, NULL}};
	if (opts_parse(CMD, nrest, rest, opts))
		return 2;
	if (!query)
		return opts_usage_error(CMD, "a query is required: carewire segment 'QUERY' "
					     "[--purpose P] [--org ID]");
	int p = -1;
	if (purpose && (p = policy_purpose_parse(purpose)) < 0)
		return opts_usage_error(CMD, "--purpose must be service, reminders, results, "
					     "surveys or marketing");

	struct config cfg;
	int rc = opts_config(CMD, file, &cfg);
	if (rc)
		return rc;
	struct store *st = NULL;
	int exit_code = 1;
	rc = store_open(cfg.store.url, &st);
	if (rc) {
		fprintf(stderr, "carewire %s: cannot open the store %s: %s\n", CMD, cfg.store.url,
			cw_strerror(rc));
		goto done;
	}
	rc = store_migrate(st, NULL);
	if (rc) {
		fprintf(stderr, "carewire %s: migrations failed: %s\n", CMD, cw_strerror(rc));
		goto done;
	}
	struct org_pick pick = {.n = 0};
	if (!org) {
		rc = store_query(st, "org.list", NULL, 0, org_cb, &pick);
		if (rc < 0) {
			fprintf(stderr, "carewire %s: %s\n", CMD, cw_strerror(rc));
			goto done;
		}
		if (pick.n != 1) {
			exit_code = opts_usage_error(CMD, pick.n ? "--org is required: there are "
								   "several organisations"
								 : "there is no organisation yet");
			goto done;
		}
		org = pick.id;
	}
	struct segpreview pv;
	struct segment_error qe = {.col = 0};
	rc = segpreview_run(st, org, query, p, time_now_ms(), &pv, &qe);
	if (rc == CW_EPARSE) {
		exit_code = opts_usage_error(CMD, "%s", qe.message);
		goto done;
	}
	if (rc == CW_ENOTFOUND) {
		exit_code = opts_usage_error(CMD, "no organisation %s", org);
		goto done;
	}
	if (rc) {
		fprintf(stderr, "carewire %s: %s\n", CMD, cw_strerror(rc));
		goto done;
	}
	rc = segpreview_audit(st, org, "cli:segment", &pv);
	if (rc) {
		fprintf(stderr, "carewire %s: the audit entry could not be written: %s\n", CMD,
			cw_strerror(rc));
		goto done;
	}
	if (as_json) {
		json_t *j = segpreview_json(&pv);
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		print_text(&pv);
	}
	exit_code = 0;
done:
	store_free(st);
	config_release(&cfg);
	return exit_code;
}
