/*
 * replay.c — a plain main() for any fuzz target: feeds each file named on
 * the command line (directories are walked) to LLVMFuzzerTestOneInput().
 *
 * Linked with fuzz_<name>.c into replay_<name>, it runs as a normal test over
 * the fixture files in every build (no clang, no libFuzzer needed), and it
 * replays a crash file the fuzzer wrote. With --split, a file whose top level
 * is a JSON object of named examples ({"case": {...payload...}, ...}, as in
 * the pywa and OpenAPI fixtures) also has each example fed on its own.
 * Exit status: 0 when every file was read, 1 otherwise; a broken invariant in
 * the target aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/banned.h"

#define REPLAY_MAX_FILE (16u * 1024 * 1024)
#define REPLAY_MAX_DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int split_examples;
static size_t ninputs;

static void feed(const char *data, size_t len)
{
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	ninputs++;
}

/* Feeds each member of a named-examples object on its own. */
static void feed_split(const char *data, size_t len)
{
	json_t *root = json_loadb(data, len, 0, NULL);
	if (!json_is_object(root) || json_object_get(root, "object")) {
		json_decref(root);
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		if (!json_is_object(v))
			continue;
		char *s = json_dumps(v, JSON_COMPACT);
		if (s) {
			feed(s, strlen(s));
			free(s);
		}
	}
	json_decref(root);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	char *data = malloc(REPLAY_MAX_FILE);
	size_t len = data ? fread(data, 1, REPLAY_MAX_FILE, f) : 0;
	int bad = !data || ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: cannot read %s (or over %u bytes)\n", path,
			REPLAY_MAX_FILE);
		free(data);
		return -1;
	}
	feed(data, len);
	if (split_examples)
		feed_split(data, len);
	free(data);
	return 0;
}

static int replay_path(const char *path, int depth)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no such file %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if (depth >= REPLAY_MAX_DEPTH)
		return -1;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char sub[4096];
		int n = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof sub || replay_path(sub, depth + 1))
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0, npaths = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--split") == 0) {
			split_examples = 1;
			continue;
		}
		npaths++;
		if (replay_path(argv[i], 0))
			rc = 1;
	}
	if (npaths == 0) {
		fprintf(stderr, "usage: %s [--split] FILE|DIR...\n", argv[0]);
		return 2;
	}
	printf("replay: %zu inputs run\n", ninputs);
	return rc;
}
