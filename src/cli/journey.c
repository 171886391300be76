/*
 * journey.c — `carewire journey check FILE.json [FILE.json ...]`: checks
 * journey definitions offline, without a database, as POST /api/v1/journeys
 * would (core/journey_def.h). Prints "ok" and exits 0 when every file is a
 * valid definition; otherwise prints each problem, naming the step and the
 * field (`step "invite": buttons[1].title: longer than 20 characters`), and
 * exits 2. With several files each line starts with the file's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "cli.h"
#include "core/journey_def.h"
#include "base/banned.h"

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return CW_EIO;
	char chunk[8192];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && rc == 0)
		rc = buf_append(b, chunk, n);
	if (ferror(f))
		rc = CW_EIO;
	fclose(f);
	return rc;
}

static int check_one(const char *path, int prefix)
{
	struct buf b;
	buf_init(&b, JOURNEY_DEF_MAX_BYTES + 1);
	const char *pre = prefix ? path : "";
	const char *sep = prefix ? ": " : "";
	int rc = read_file(path, &b);
	if (rc) {
		fprintf(stderr, "carewire journey check: cannot read %s: %s\n", path,
			rc == CW_ETOOBIG ? "larger than a definition may be"
					 : strerror(errno ? errno : EIO));
		buf_release(&b);
		return 1;
	}
	struct journey_def *d = NULL;
	struct journey_def_errors *errs = calloc(1, sizeof *errs);
	if (!errs) {
		buf_release(&b);
		return 1;
	}
	rc = journey_def_parse_text(b.data ? b.data : "", b.len, &d, errs);
	buf_release(&b);
	if (rc == 0) {
		journey_def_free(d);
		free(errs);
		return 0;
	}
	for (int i = 0; i < errs->n; i++) {
		char line[600];
		fprintf(stderr, "%s%s%s\n", pre, sep,
			journey_def_error_format(&errs->e[i], line, sizeof line));
	}
	if (errs->truncated)
		fprintf(stderr, "%s%s(more problems not shown)\n", pre, sep);
	free(errs);
	return 1;
}

int cli_journey_check(int argc, char **argv)
{
	int nfiles = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "carewire journey check: unknown option %s\n", argv[i]);
			return 2;
		}
		nfiles++;
	}
	if (nfiles == 0) {
		fprintf(stderr, "usage: carewire journey check FILE.json [FILE.json ...]\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		bad += check_one(argv[i], nfiles > 1);
	if (bad)
		return 2;
	printf("ok\n");
	return 0;
}
