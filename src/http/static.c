/*
 * static.c — file serving for the dashboard (see static.h).
 *
 * Place in the architecture: an http/ route handler like any API handler; it
 * knows nothing of the server's internals. The server already refuses ".."
 * and NUL bytes in paths; this file does not rely on that: it refuses hidden
 * and dot segments itself and checks the resolved real path against the
 * root, so a symlink inside the root cannot lead outside it.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/banned.h"

struct http_static {
	char *root;     /* real path, no trailing slash (unless it is "/") */
	size_t rootlen;
};

struct ctype_row {
	const char *ext;
	const char *type;
};

static const struct ctype_row ctype_table[] = {
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"json", "application/json"},
	{"map", "application/json"},
	{"svg", "image/svg+xml"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},
	{"webp", "image/webp"},
	{"ico", "image/x-icon"},
	{"woff2", "font/woff2"},
	{"woff", "font/woff"},
	{"txt", "text/plain; charset=utf-8"},
	{NULL, NULL},
};

const char *http_static_content_type(const char *name)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	const char *base = slash ? slash + 1 : name;
	const char *dot = base ? strrchr(base, '.') : NULL;
	if (dot && dot != base)
		for (const struct ctype_row *r = ctype_table; r->ext; r++)
			if (strcasecmp(dot + 1, r->ext) == 0)
				return r->type;
	return "application/octet-stream";
}

struct http_static *http_static_new(const char *root_dir)
{
	char *real = root_dir ? realpath(root_dir, NULL) : NULL;
	struct stat sb;
	if (!real || stat(real, &sb) || !S_ISDIR(sb.st_mode)) {
		log_error("http", "static root %s is not a directory", root_dir ? root_dir : "(null)");
		free(real);
		return NULL;
	}
	struct http_static *st = xcalloc(1, sizeof(*st));
	st->root = real;
	st->rootlen = strlen(real);
	return st;
}

void http_static_free(struct http_static *st)
{
	if (!st)
		return;
	free(st->root);
	free(st);
}

/* Rejects "", ".", "..", ".git" and every other segment that starts with a
 * dot, and empty segments in the middle ("a//b"). */
static int rel_ok(const char *rel)
{
	const char *s = rel;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (s[0] == '.')
			return 0;
		if (n == 0 && slash)
			return 0;
		if (!slash)
			return 1;
		s = slash + 1;
	}
}

static int inside_root(const struct http_static *st, const char *real)
{
	if (st->rootlen == 1) /* root is "/" */
		return real[0] == '/';
	return strncmp(real, st->root, st->rootlen) == 0 && real[st->rootlen] == '/';
}

/* Opens the regular file at path if its real path is inside the root; a
 * directory gives its index.html. Returns an fd or -1; *realp gets the real
 * path (caller frees). */
static int open_inside(const struct http_static *st, const char *path, char **realp)
{
	char *real = realpath(path, NULL);
	int fd = -1;
	for (int tries = 0; real && tries < 2; tries++) {
		if (!inside_root(st, real))
			break;
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb))
			break;
		if (S_ISREG(sb.st_mode)) {
			*realp = real;
			return fd;
		}
		close(fd);
		fd = -1;
		if (!S_ISDIR(sb.st_mode))
			break;
		struct buf idx;
		buf_init(&idx, PATH_MAX);
		if (buf_printf(&idx, "%s/index.html", real)) {
			buf_release(&idx);
			break;
		}
		free(real);
		real = realpath(idx.data, NULL);
		buf_release(&idx);
	}
	if (fd >= 0)
		close(fd);
	free(real);
	return -1;
}

int http_static_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
	const struct http_static *st = ud;
	if (!st)
		return CW_EINVAL;
	const char *rel = http_param(req, "*");
	if (!rel)
		rel = req->path ? req->path : "";
	while (*rel == '/')
		rel++;

	struct buf path;
	buf_init(&path, PATH_MAX);
	char *real = NULL;
	int fd = -1, rc = 0;
	size_t rlen = strlen(rel);
	int want_index = rlen == 0 || rel[rlen - 1] == '/';
	char *clean = xstrndup(rel, want_index && rlen ? rlen - 1 : rlen);
	int ok = clean[0] == '\0' || rel_ok(clean);
	if (ok && buf_printf(&path, "%s/%s%s", st->root, clean, want_index ? "/index.html" : ""))
		ok = 0;
	free(clean);
	if (!ok)
		goto not_found;
	fd = open_inside(st, path.data, &real);
	if (fd < 0)
		goto not_found;

	struct stat sb;
	if (fstat(fd, &sb)) {
		rc = CW_EIO;
		goto out;
	}
	if ((unsigned long long)sb.st_size > HTTP_STATIC_FILE_MAX) {
		log_error("http", "static file over %u bytes refused", HTTP_STATIC_FILE_MAX);
		http_reply_error(resp, 500, "internal", "file too large to serve", NULL);
		goto out;
	}
	buf_reset(&resp->body);
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = CW_EIO;
			goto out;
		}
		if (n == 0)
			break;
		if (resp->body.len + (size_t)n > HTTP_STATIC_FILE_MAX ||
		    buf_append(&resp->body, chunk, (size_t)n)) {
			rc = CW_ETOOBIG; /* grew while we read it */
			goto out;
		}
	}
	resp->status = 200;
	resp->content_type = http_static_content_type(real);
	if (strncmp(resp->content_type, "text/html", 9) == 0)
		http_set_header(resp, "Cache-Control", "no-cache");
	goto out;

not_found:
	http_reply_error(resp, 404, "not_found", "no such file", NULL);
out:
	if (fd >= 0)
		close(fd);
	free(real);
	buf_release(&path);
	return rc;
}
