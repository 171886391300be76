/*
 * main.c — the carewire command line (see `carewire --help`).
 */
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		puts("carewire 0.1.0");
		return 0;
	}
	fprintf(stderr, "usage: carewire COMMAND\n");
	return 2;
}
