/*
 * client.c — the Cloud API client over libcurl multi (see client.h).
 *
 * Place: src/wa. A transfer (struct xfer) is born in wa_client_request(),
 * waits in a FIFO until fewer than max_inflight transfers run, then lives as
 * an easy handle in the multi handle; wa_client_poll() reaps finished ones,
 * turns the answer into a struct wa_send_result (parsing the success body or
 * the Graph error body and classifying it through errors.c) and calls back.
 * Connection reuse, keep-alive and HTTP/2 multiplexing are libcurl's: all
 * easy handles share the multi handle's connection pool.
 */
#include "wa/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/banned.h"

#define URL_MAX	   4096
#define ID_MAX	   64
#define USER_AGENT "carewire/0.1"

struct xfer {
	struct xfer *next; /* in the wait queue, or in the running list */
	struct xfer *prev; /* in the running list */
	struct wa_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body; /* the serialised request body, or NULL */
	struct buf resp;
	int is_send; /* a message send: success needs a wamid */
	wa_client_cb cb;
	void *ud;
	double start_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct wa_client {
	CURLM *multi;
	char *base; /* graph_url + "/" + version, no trailing '/' */
	long connect_ms, total_ms;
	int max_inflight;
	size_t max_queue;
	struct xfer *qhead, *qtail; /* waiting to start, FIFO */
	size_t nqueued;
	struct xfer *running; /* in the multi handle */
	int inflight;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- argument checks ---- */

/* Graph ids and versions: letters, digits, '_', '.', '-' only, so they can
 * never change the shape of the URL. */
static int id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

/* No control characters or spaces: a token or a path cannot inject a header
 * or a second request line. */
static int printable_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* ---- life cycle ---- */

struct wa_client *wa_client_new(const struct wa_client_config *cfg)
{
	static const struct wa_client_config defaults = {0};
	struct wa_client *c = NULL;
	struct buf b;

	buf_init(&b, URL_MAX);
	if (!cfg)
		cfg = &defaults;
	const char *url = cfg->graph_url ? cfg->graph_url : WA_CLIENT_DEFAULT_GRAPH_URL;
	const char *ver = cfg->api_version ? cfg->api_version : WA_CLIENT_DEFAULT_VERSION;
	if ((strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
	    !printable_ok(url, URL_MAX / 2) || !id_ok(ver))
		goto fail;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		goto fail;
	size_t ulen = strlen(url);
	while (ulen && url[ulen - 1] == '/')
		ulen--;
	if (buf_append(&b, url, ulen) || buf_printf(&b, "/%s", ver))
		goto fail;

	c = xcalloc(1, sizeof *c);
	c->multi = curl_multi_init();
	if (!c->multi)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	c->base = buf_detach(&b, NULL);
	c->connect_ms =
	    cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : WA_CLIENT_DEFAULT_CONNECT_MS;
	c->total_ms =
	    cfg->total_timeout_ms > 0 ? cfg->total_timeout_ms : WA_CLIENT_DEFAULT_TOTAL_MS;
	c->max_inflight = cfg->max_inflight > 0 ? cfg->max_inflight : WA_CLIENT_DEFAULT_INFLIGHT;
	c->max_queue = cfg->max_queue > 0 ? cfg->max_queue : WA_CLIENT_DEFAULT_QUEUE;
	return c;
fail:
	buf_release(&b);
	wa_client_free(c);
	return NULL;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->body);
	buf_release(&x->resp);
	free(x);
}

void wa_client_free(struct wa_client *c)
{
	if (!c)
		return;
	while (c->qhead) {
		struct xfer *x = c->qhead;
		c->qhead = x->next;
		xfer_free(x);
	}
	while (c->running) {
		struct xfer *x = c->running;
		c->running = x->next;
		curl_multi_remove_handle(c->multi, x->easy);
		xfer_free(x);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c->base);
	free(c);
}

size_t wa_client_pending(const struct wa_client *c)
{
	return c ? c->nqueued + (size_t)c->inflight : 0;
}

/* ---- queueing ---- */

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (buf_append(&x->resp, ptr, n))
		return 0; /* over WA_CLIENT_MAX_RESPONSE: libcurl ends with a write error */
	return n;
}

static int add_header(struct xfer *x, const char *h)
{
	struct curl_slist *l = curl_slist_append(x->hdrs, h);
	if (!l)
		return CW_ENOMEM;
	x->hdrs = l;
	return 0;
}

static int xfer_setup(struct wa_client *c, struct xfer *x, const char *method, const char *url,
		      const char *token)
{
	struct buf auth;
	int rc = CW_ENOMEM;

	buf_init(&auth, WA_CLIENT_MAX_TOKEN + 64);
	x->easy = curl_easy_init();
	if (!x->easy)
		goto fail;
	if (buf_printf(&auth, "Authorization: Bearer %s", token) || add_header(x, auth.data) ||
	    add_header(x, "Accept: application/json") || add_header(x, "Expect:"))
		goto fail;
	if (x->body && add_header(x, "Content-Type: application/json"))
		goto fail;
	CURL *e = x->easy;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) {
		rc = CW_EINVAL;
		goto fail;
	}
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->total_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(x->body ? strlen(x->body) : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
	} else if (strcmp(method, "DELETE") == 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		if (x->body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		}
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	rc = 0;
fail:
	buf_release(&auth);
	return rc;
}

static int enqueue(struct wa_client *c, const char *method, const char *path, const char *token,
		   const json_t *body, int is_send, wa_client_cb cb, void *ud)
{
	struct xfer *x = NULL;
	struct buf url;
	int rc = CW_EINVAL;

	buf_init(&url, URL_MAX);
	if (!c || !cb || !method || !printable_ok(token, WA_CLIENT_MAX_TOKEN) ||
	    !printable_ok(path, URL_MAX / 2) || path[0] != '/')
		goto fail;
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "DELETE") != 0)
		goto fail;
	if (wa_client_pending(c) >= c->max_queue) {
		rc = CW_ETOOBIG;
		goto fail;
	}
	if (buf_printf(&url, "%s%s", c->base, path))
		goto fail;
	x = xcalloc(1, sizeof *x);
	x->c = c;
	x->cb = cb;
	x->ud = ud;
	x->is_send = is_send;
	x->start_ms = mono_ms();
	buf_init(&x->resp, WA_CLIENT_MAX_RESPONSE);
	if (body) {
		x->body = json_dumps(body, JSON_COMPACT);
		if (!x->body)
			goto fail;
	}
	rc = xfer_setup(c, x, method, url.data, token);
	if (rc)
		goto fail;
	if (c->qtail)
		c->qtail->next = x;
	else
		c->qhead = x;
	c->qtail = x;
	c->nqueued++;
	buf_release(&url);
	return 0;
fail:
	xfer_free(x);
	buf_release(&url);
	return rc;
}

int wa_client_request(struct wa_client *c, const char *method, const char *path, const char *token,
		      const json_t *body, wa_client_cb cb, void *ud)
{
	return enqueue(c, method, path, token, body, 0, cb, ud);
}

int wa_client_send(struct wa_client *c, const char *phone_number_id, const char *token,
		   const json_t *body, wa_client_cb cb, void *ud)
{
	char path[ID_MAX + 32];
	if (!id_ok(phone_number_id) || !json_is_object(body))
		return CW_EINVAL;
	snprintf(path, sizeof path, "/%s/messages", phone_number_id);
	return enqueue(c, "POST", path, token, body, 1, cb, ud);
}

/* ---- completion ---- */

static void fill_result(struct xfer *x, CURLcode cc, struct wa_send_result *r)
{
	long status = 0;
	memset(r, 0, sizeof *r);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	r->http_status = (int)status;
	r->curl_code = (int)cc;
	r->elapsed_ms = mono_ms() - x->start_ms;
	if (cc != CURLE_OK) {
		snprintf(r->transport_error, sizeof r->transport_error, "%s",
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		r->http_status = 0;
		r->err_info = wa_err_classify(0, 1, NULL);
		return;
	}
	if (x->resp.len)
		r->body = json_loadb(x->resp.data, x->resp.len, 0, NULL);
	if (status >= 200 && status < 300) {
		r->wamid = json_string_value(json_path(r->body, "messages.0.id"));
		r->wa_id = json_string_value(json_path(r->body, "contacts.0.wa_id"));
		r->message_status =
		    json_string_value(json_path(r->body, "messages.0.message_status"));
		if (x->is_send && !r->wamid)
			r->err_info = wa_err_classify((int)status, 0, NULL);
		return;
	}
	int parsed = x->resp.len && wa_api_error_parse(x->resp.data, x->resp.len, &r->error) == 0;
	r->err_info = wa_err_classify((int)status, 0, parsed ? &r->error : NULL);
}

static void run_link(struct wa_client *c, struct xfer *x)
{
	x->prev = NULL;
	x->next = c->running;
	if (c->running)
		c->running->prev = x;
	c->running = x;
	c->inflight++;
}

static void run_unlink(struct wa_client *c, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		c->running = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
	c->inflight--;
}

static void finish(struct xfer *x, CURLcode cc)
{
	struct wa_send_result r;
	fill_result(x, cc, &r);
	x->cb(&r, x->ud);
	json_decref(r.body);
	xfer_free(x);
}

/* Moves queued transfers into the multi handle while there is room. Returns
 * the number of callbacks called (for transfers libcurl refused to start). */
static int start_queued(struct wa_client *c)
{
	int done = 0;
	while (c->qhead && c->inflight < c->max_inflight) {
		struct xfer *x = c->qhead;
		c->qhead = x->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->nqueued--;
		x->next = NULL;
		if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
			finish(x, CURLE_FAILED_INIT);
			done++;
			continue;
		}
		run_link(c, x);
	}
	return done;
}

static int reap(struct wa_client *c)
{
	int done = 0, left;
	for (;;) {
		CURLMsg *m = curl_multi_info_read(c->multi, &left);
		if (!m)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *e = m->easy_handle;
		CURLcode cc = m->data.result;
		struct xfer *x = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(c->multi, e);
		run_unlink(c, x);
		finish(x, cc);
		done++;
	}
	return done;
}

/* Drops the transfer that would call cb(ud), without calling it. */
static void cancel(struct wa_client *c, wa_client_cb cb, void *ud)
{
	for (struct xfer **p = &c->qhead, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
		struct xfer *x = *p;
		if (x->cb == cb && x->ud == ud) {
			*p = x->next;
			if (c->qtail == x)
				c->qtail = prev;
			c->nqueued--;
			xfer_free(x);
			return;
		}
	}
	for (struct xfer *x = c->running; x; x = x->next) {
		if (x->cb == cb && x->ud == ud) {
			curl_multi_remove_handle(c->multi, x->easy);
			run_unlink(c, x);
			xfer_free(x);
			return;
		}
	}
}

int wa_client_poll(struct wa_client *c, int timeout_ms)
{
	int running = 0, done = 0;
	if (!c)
		return CW_EINVAL;
	done += start_queued(c);
	if (c->inflight == 0)
		return done;
	if (curl_multi_perform(c->multi, &running) != CURLM_OK)
		return CW_EIO;
	done += reap(c);
	if (done == 0 && running > 0) {
		if (curl_multi_poll(c->multi, NULL, 0, timeout_ms < 0 ? 0 : timeout_ms, NULL) !=
		    CURLM_OK)
			return CW_EIO;
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			return CW_EIO;
		done += reap(c);
	}
	done += start_queued(c);
	return done;
}

/* ---- synchronous wrappers ---- */

struct sync_state {
	int done;
	struct wa_send_result *out;
};

static void sync_cb(const struct wa_send_result *r, void *ud)
{
	struct sync_state *s = ud;
	*s->out = *r;
	json_incref(s->out->body); /* kept past the callback; see wa_send_result_release() */
	s->done = 1;
}

static int sync_wait(struct wa_client *c, struct sync_state *s)
{
	while (!s->done) {
		int rc = wa_client_poll(c, 1000);
		if (rc < 0 && !s->done) {
			cancel(c, sync_cb, s); /* s lives on the caller's stack */
			return rc;
		}
	}
	return 0;
}

void wa_send_result_release(struct wa_send_result *r)
{
	if (!r)
		return;
	json_decref(r->body);
	memset(r, 0, sizeof *r);
}

int wa_client_send_sync(struct wa_client *c, const char *phone_number_id, const char *token,
			const json_t *body, struct wa_send_result *out)
{
	struct sync_state s = {.out = out};
	memset(out, 0, sizeof *out);
	int rc = wa_client_send(c, phone_number_id, token, body, sync_cb, &s);
	if (rc)
		return rc;
	return sync_wait(c, &s);
}

int wa_client_request_sync(struct wa_client *c, const char *method, const char *path,
			   const char *token, const json_t *body, int *status, json_t **resp)
{
	struct wa_send_result r;
	struct sync_state s = {.out = &r};
	if (status)
		*status = 0;
	if (resp)
		*resp = NULL;
	memset(&r, 0, sizeof r);
	int rc = wa_client_request(c, method, path, token, body, sync_cb, &s);
	if (rc)
		return rc;
	rc = sync_wait(c, &s);
	if (rc)
		return rc;
	if (r.curl_code) {
		rc = r.curl_code == CURLE_OPERATION_TIMEDOUT ? CW_ETIMEOUT : CW_EUNAVAIL;
		wa_send_result_release(&r);
		return rc;
	}
	if (status)
		*status = r.http_status;
	if (resp) {
		*resp = r.body;
		r.body = NULL;
	}
	wa_send_result_release(&r);
	return 0;
}

/* Maps a failed Graph answer to carewire's vocabulary. */
static int graph_failure(int status, const json_t *resp, struct wa_api_error *api_err)
{
	struct wa_api_error e;
	char *s = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	int parsed = s && wa_api_error_parse(s, strlen(s), &e) == 0;
	free(s);
	if (!parsed)
		memset(&e, 0, sizeof e);
	if (api_err)
		*api_err = e;
	const struct wa_err_info *info = wa_err_classify(status, 0, parsed ? &e : NULL);
	if (status == 401 || status == 403 || info->cls == WA_ERR_PAUSE_NUMBER)
		return CW_EAUTH;
	if (status == 429 || status >= 500 || info->cls == WA_ERR_RETRY)
		return CW_EUNAVAIL;
	return CW_EINVAL;
}

int wa_client_list_templates(struct wa_client *c, const char *waba_id, const char *token,
			     json_t **out, struct wa_api_error *api_err)
{
	json_t *all = NULL, *resp = NULL;
	char *after = NULL;
	struct buf path;
	int rc = CW_EINVAL;

	*out = NULL;
	if (api_err)
		memset(api_err, 0, sizeof *api_err);
	buf_init(&path, URL_MAX / 2);
	if (!id_ok(waba_id))
		goto fail;
	all = json_array();
	for (int page = 0; page < WA_CLIENT_MAX_TEMPLATE_PAGES; page++) {
		int status = 0;
		buf_reset(&path);
		if (buf_printf(&path, "/%s/message_templates?limit=100", waba_id) ||
		    (after && buf_printf(&path, "&after=%s", after))) {
			rc = CW_ETOOBIG;
			goto fail;
		}
		curl_free(after);
		after = NULL;
		rc = wa_client_request_sync(c, "GET", path.data, token, NULL, &status, &resp);
		if (rc)
			goto fail;
		if (status < 200 || status >= 300) {
			rc = graph_failure(status, resp, api_err);
			goto fail;
		}
		const json_t *data = json_object_get(resp, "data");
		if (!json_is_array(data)) {
			rc = CW_EPARSE;
			goto fail;
		}
		json_array_extend(all, (json_t *)data);
		const char *cur = json_string_value(json_path(resp, "paging.cursors.after"));
		int more = json_path(resp, "paging.next") != NULL && cur && *cur;
		if (more) {
			after = curl_easy_escape(NULL, cur, 0);
			if (!after) {
				rc = CW_ENOMEM;
				goto fail;
			}
		}
		json_decref(resp);
		resp = NULL;
		if (!more) {
			*out = all;
			all = NULL;
			rc = 0;
			break;
		}
	}
	if (all) /* still more pages after the maximum */
		rc = CW_ETOOBIG;
fail:
	curl_free(after);
	json_decref(resp);
	json_decref(all);
	buf_release(&path);
	return rc;
}
