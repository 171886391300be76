/*
 * static.h — serves the files of one directory (the dashboard) over a route.
 *
 * Mount it as a route row whose user data is the struct http_static:
 *
 *	static const struct http_route web_routes[] = {
 *		{"GET", "/{*}", http_static_handler, 0},
 *		{NULL},
 *	};
 *	struct http_static *st = http_static_new("web");
 *	http_server_mount(srv, web_routes, st);
 *
 * The file is the route's "{*}" parameter (or the whole request path when the
 * route has none); "" or a name ending in "/" means its index.html. A file is
 * served only when its real path (symlinks resolved) stays inside the root;
 * anything else, hidden names (".env") and missing files are 404 JSON errors.
 */
#ifndef CW_HTTP_STATIC_H
#define CW_HTTP_STATIC_H

#include "http/server.h"

/* Larger files are refused with a 500 JSON error and a log line. */
#define HTTP_STATIC_FILE_MAX (8u * 1024 * 1024)

struct http_static;

/* Returns a new file server for root_dir (which must exist and be a
 * directory), or NULL with a log line. Caller frees with http_static_free(). */
struct http_static *http_static_new(const char *root_dir);
/* Accepts NULL. */
void http_static_free(struct http_static *st);
/* The route handler; ud is the struct http_static. */
int http_static_handler(void *ud, const struct http_request *req, struct http_response *resp);
/* The Content-Type for a file name, by extension (static string;
 * "application/octet-stream" when unknown). */
const char *http_static_content_type(const char *name);

#endif
