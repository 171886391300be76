/*
 * agent.c — `carewire agent create`: a dashboard account.
 *
 *	carewire agent create --org ID --email E --role admin|agent|viewer
 *	                      [--name N] [--password-file F] [-c FILE]
 *
 * The password is read from --password-file or else from standard input
 * (one line; not echoed on a terminal), never from the command line, where
 * other users of the machine could read it in the process list. Prints the
 * new agent's id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/err.h"
#include "cli.h"
#include "cli/opts.h"
#include "core/agent.h"
#include "store/store.h"
#include "base/banned.h"

/* Reads the first line of f into out (size bytes), without its line end.
 * Returns 0, or CW_EINVAL when there is nothing or it is too long. */
static int read_line(FILE *f, char *out, size_t size)
{
	if (!fgets(out, (int)size, f))
		return CW_EINVAL;
	size_t n = strlen(out);
	int whole = n && out[n - 1] == '\n';
	if (!whole && !feof(f))
		return CW_EINVAL; /* longer than the buffer */
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return n ? 0 : CW_EINVAL;
}

static int read_password(const char *file, char *out, size_t size)
{
	if (file) {
		FILE *f = fopen(file, "r");
		if (!f)
			return CW_EIO;
		int rc = read_line(f, out, size);
		fclose(f);
		return rc;
	}
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	int rc = read_line(stdin, out, size);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return rc;
}

int cli_agent_create(int argc, char **argv)
{
	const char *file = NULL, *org = NULL, *email = NULL, *role = NULL, *name = NULL,
		   *pwfile = NULL;
	const struct opt opts[] = {{"-c", &file, NULL},
				   {"--config", &file, NULL},
				   {"--org", &org, NULL},
				   {"--email", &email, NULL},
				   {"--role", &role, NULL},
				   {"--name", &name, NULL},
				   {"--password-file", &pwfile, NULL},
				   {NULL, NULL, NULL}};
	if (opts_parse("agent create", argc, argv, opts))
		return 2;
	if (!org || !email || !role)
		return opts_usage_error("agent create", "--org, --email and --role are required");
	int r = agent_role_parse(role);
	if (r < 0)
		return opts_usage_error("agent create", "--role must be admin, agent or viewer");
	char norm[AGENT_EMAIL_MAX + 1];
	if (agent_email_normalise(email, norm))
		return opts_usage_error("agent create", "--email is not an email address");
	char pw[AGENT_PASSWORD_MAX + 2];
	int rc = read_password(pwfile, pw, sizeof pw);
	if (rc || agent_password_ok(pw)) {
		memset(pw, 0, sizeof pw);
		if (rc == CW_EIO)
			return opts_usage_error("agent create", "cannot read --password-file");
		return opts_usage_error("agent create",
					"the password must be one line of %d to %d bytes",
					AGENT_PASSWORD_MIN, AGENT_PASSWORD_MAX);
	}
	struct config cfg;
	rc = opts_config("agent create", file, &cfg);
	if (rc) {
		memset(pw, 0, sizeof pw);
		return rc;
	}
	struct store *st = NULL;
	int applied = 0;
	rc = store_open(cfg.store.url, &st);
	if (rc == 0)
		rc = store_migrate(st, &applied);
	char id[ID_SIZE];
	if (rc == 0)
		rc = agent_create(st, org, norm, name, (enum agent_role)r, pw, id);
	memset(pw, 0, sizeof pw);
	if (rc == 0)
		printf("%s\n", id);
	else
		fprintf(stderr, "carewire agent create: %s\n",
			rc == CW_ENOTFOUND   ? "no such organisation"
			: rc == CW_ECONFLICT ? "that email already has an account"
			: rc == CW_EINVAL    ? "invalid --name (at most 200 bytes)"
					     : cw_strerror(rc));
	store_free(st);
	config_release(&cfg);
	return rc == 0 ? 0 : (rc == CW_ENOTFOUND || rc == CW_EINVAL) ? 2 : 1;
}
