/*
 * api_amocrm.c — amoCRM's webhook and its set-up.
 *
 *	POST /api/v1/integrations/amocrm  (admin) {"status_map":{"142":"received"},
 *	      "lead_field":"amocrm_lead_id"} -> 201 {"url":"/integrations/amocrm/<secret>",
 *	      "secret"} (shown once; a new one revokes the old)
 *	POST /integrations/amocrm/{secret}  amoCRM's form-encoded webhook
 *	      (leads[status][0][id]=...&leads[status][0][status_id]=...): authenticated by
 *	      the secret in the URL, which amoCRM cannot sign; unknown secret -> 401.
 *
 * amoCRM posts application/x-www-form-urlencoded; this file only decodes
 * the form into a flat object and hands it to core/events.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "core/events.h"
#include "http/api.h"
#include "http/routes.h"
#include "base/banned.h"

#define AMOCRM_BODY_MAX	  (256u * 1024)
#define AMOCRM_FIELDS_MAX 2000

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of s ('+' is a space) into a new string. */
static char *form_decode(const char *s, size_t n)
{
	struct buf b;
	buf_init(&b, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			buf_putc(&b, ' ');
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			buf_putc(&b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			buf_putc(&b, s[i]);
		}
	}
	return buf_detach(&b, NULL);
}

/* a=1&b=2 -> {"a":"1","b":"2"}; NULL when over the limits or not UTF-8. */
static json_t *form_parse(const char *body, size_t len)
{
	json_t *o = json_object();
	size_t i = 0, n = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		size_t eq = i;
		while (eq < end && body[eq] != '=')
			eq++;
		if (end > i) {
			if (++n > AMOCRM_FIELDS_MAX)
				goto bad;
			char *k = form_decode(body + i, eq - i);
			char *v =
			    form_decode(eq < end ? body + eq + 1 : "", eq < end ? end - eq - 1 : 0);
			json_t *js = v ? json_string(v) : NULL;
			if (!k || !js || json_object_set_new(o, k, js) != 0) {
				free(k);
				free(v);
				goto bad;
			}
			free(k);
			free(v);
		}
		i = end + 1;
	}
	return o;
bad:
	json_decref(o);
	return NULL;
}

static int amocrm_hook(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	const char *ct = http_header(req, "Content-Type");
	json_t *form = NULL;
	if (ct && strncasecmp(ct, "application/json", 16) == 0)
		form = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
	else
		form = form_parse(req->body ? req->body : "", req->body_len);
	if (!json_is_object(form)) {
		json_decref(form);
		http_reply_error(resp, 400, "invalid_json", "the body must be amoCRM's form fields",
				 "body");
		return 0;
	}
	json_t *out = NULL;
	int rc = events_amocrm(app->journeys, http_param(req, "secret"), form, &out);
	json_decref(form);
	if (rc == CW_EAUTH)
		return http_reply_error(resp, 401, "unauthorized", "unknown integration secret",
					NULL),
		       0;
	api_reply(resp, rc, out, NULL);
	return 0;
}

static int amocrm_setup(void *ud, const struct http_request *req, struct http_response *resp)
{
	struct app *app = ud;
	struct apikey_principal who;
	if (api_auth(app, req, resp, APIKEY_ADMIN, &who))
		return 0;
	json_t *body = req->body_len ? api_body(req, resp, NULL) : json_object();
	if (!body)
		return 0;
	const json_t *map = json_object_get(body, "status_map");
	if (map && !json_is_object(map)) {
		json_decref(body);
		return http_reply_error(resp, 422, "invalid_field",
					"an object of amoCRM status ids to names", "status_map"),
		       0;
	}
	char secret[64];
	int rc = events_amocrm_secret(app->journeys, who.org_id, body, secret);
	json_decref(body);
	if (rc)
		return api_error(resp, rc, NULL, NULL), 0;
	char url[128];
	snprintf(url, sizeof url, "/integrations/amocrm/%s", secret);
	http_reply_json(resp, 201, json_pack("{s:s, s:s}", "url", url, "secret", secret));
	return 0;
}

const struct http_route api_amocrm_routes[] = {
    {"POST", "/api/v1/integrations/amocrm", amocrm_setup, 0},
    {"POST", "/integrations/amocrm/{secret}", amocrm_hook, AMOCRM_BODY_MAX},
    {NULL, NULL, NULL, 0},
};
