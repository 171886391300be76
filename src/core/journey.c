/*
 * journey.c — the journey engine (see journey.h): definitions and their
 * versions, runs and their steps, routing replies, timers and webhook calls,
 * and the per-step analytics.
 *
 * Every change to a run happens in one write transaction: a step's effects
 * (a message queued through send_submit_tx(), a tag, a consent, a timer)
 * and the run's new step, counter and variables are committed together.
 * exec_* functions below run inside that transaction on the store's writer
 * thread; the only work outside one is a webhook step's HTTP call.
 */
#include "core/journey.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/text.h"
#include "base/time.h"
#include "core/consent.h"
#include "core/conversation.h"
#include "core/orgconf.h"
#include "core/outbox.h"
#include "core/send.h"
#include "base/banned.h"

/* ---- the engine and its cache of parsed versions ---- */

struct cache_ent {
	char id[ID_SIZE];
	struct journey_def *def;
	int refs;
	uint64_t used;
};

struct journey_engine {
	struct store *st;
	struct sched *sched;
	pthread_mutex_t mu;
	struct cache_ent cache[JOURNEY_CACHE];
	uint64_t tick;
	_Atomic uint64_t started, steps, sends, routed, failed;
};

static int on_timer(void *ud, struct store_tx *tx, const char *org_id, const char *ref,
		    int64_t due_at, int64_t now);
static int on_call(void *ud, const char *org_id, const char *ref, int64_t due_at, int64_t now);

struct journey_engine *journey_engine_new(struct store *st, struct sched *sched)
{
	struct journey_engine *e = xcalloc(1, sizeof *e);
	e->st = st;
	e->sched = sched;
	pthread_mutex_init(&e->mu, NULL);
	if (sched) {
		sched_on(sched, JOURNEY_TIMER, on_timer, e);
		sched_on_call(sched, JOURNEY_WEBHOOK_TIMER, on_call, e);
	}
	return e;
}

void journey_engine_free(struct journey_engine *e)
{
	if (!e)
		return;
	for (int i = 0; i < JOURNEY_CACHE; i++)
		journey_def_free(e->cache[i].def);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

struct sched *journey_engine_sched(const struct journey_engine *e)
{
	return e->sched;
}

struct store *journey_engine_store(const struct journey_engine *e)
{
	return e->st;
}

void journey_get_stats(struct journey_engine *e, struct journey_stats *out)
{
	out->started = atomic_load(&e->started);
	out->steps = atomic_load(&e->steps);
	out->sends = atomic_load(&e->sends);
	out->replies_routed = atomic_load(&e->routed);
	out->failed = atomic_load(&e->failed);
}

static int text_cb(void *ud, const struct store_row *row)
{
	char **out = ud;
	const char *s = store_row_text(row, 0);
	free(*out);
	*out = s ? xstrdup(s) : NULL;
	return 1;
}

static const struct journey_def *cache_find(struct journey_engine *e, const char *id)
{
	for (int i = 0; i < JOURNEY_CACHE; i++)
		if (e->cache[i].def && strcmp(e->cache[i].id, id) == 0) {
			e->cache[i].refs++;
			e->cache[i].used = ++e->tick;
			return e->cache[i].def;
		}
	return NULL;
}

static int def_load(struct journey_engine *e, struct store_tx *tx, const char *id,
		    const struct journey_def **out)
{
	pthread_mutex_lock(&e->mu);
	*out = cache_find(e, id);
	pthread_mutex_unlock(&e->mu);
	if (*out)
		return 0;
	char *text = NULL;
	struct store_val a[] = {SV_TEXT(id)};
	int rc = tx ? store_tx_query(tx, "journey.definition", a, 1, text_cb, &text)
		    : store_query(e->st, "journey.definition", a, 1, text_cb, &text);
	if (rc < 0)
		return rc;
	if (!text)
		return CW_ENOTFOUND;
	struct journey_def *d = NULL;
	rc = journey_def_parse_text(text, strlen(text), &d, NULL);
	free(text);
	if (rc) {
		log_error("journey", "stored version %s no longer parses", id);
		return CW_EINTERNAL;
	}
	pthread_mutex_lock(&e->mu);
	const struct journey_def *again = cache_find(e, id);
	if (again) {
		pthread_mutex_unlock(&e->mu);
		journey_def_free(d);
		*out = again;
		return 0;
	}
	int slot = -1;
	for (int i = 0; i < JOURNEY_CACHE; i++) {
		if (!e->cache[i].def) {
			slot = i;
			break;
		}
		if (e->cache[i].refs == 0 && (slot < 0 || e->cache[i].used < e->cache[slot].used))
			slot = i;
	}
	if (slot >= 0) {
		journey_def_free(e->cache[slot].def);
		snprintf(e->cache[slot].id, ID_SIZE, "%s", id);
		e->cache[slot].def = d;
		e->cache[slot].refs = 1;
		e->cache[slot].used = ++e->tick;
	}
	pthread_mutex_unlock(&e->mu);
	*out = d; /* uncached when every slot is in use: journey_def_put frees it */
	return 0;
}

int journey_def_get_tx(struct journey_engine *e, struct store_tx *tx, const char *journey_id,
		       const struct journey_def **out)
{
	return def_load(e, tx, journey_id, out);
}

int journey_def_get(struct journey_engine *e, const char *journey_id,
		    const struct journey_def **out)
{
	return def_load(e, NULL, journey_id, out);
}

void journey_def_put(struct journey_engine *e, const struct journey_def *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < JOURNEY_CACHE; i++)
		if (e->cache[i].def == d) {
			e->cache[i].refs--;
			pthread_mutex_unlock(&e->mu);
			return;
		}
	pthread_mutex_unlock(&e->mu);
	journey_def_free((struct journey_def *)d);
}

/* ---- definitions ---- */

struct head {
	char current_id[ID_SIZE];
	int version;
	char status[16];
	int hidden;
	int found;
};

static int head_cb(void *ud, const struct store_row *row)
{
	struct head *h = ud;
	snprintf(h->current_id, sizeof h->current_id, "%s", store_row_text(row, 0));
	h->version = (int)store_row_int(row, 1);
	snprintf(h->status, sizeof h->status, "%s", store_row_text(row, 2));
	h->hidden = (int)store_row_int(row, 3);
	h->found = 1;
	return 1;
}

static int head_get_tx(struct store_tx *tx, const char *org_id, const char *key, struct head *h)
{
	memset(h, 0, sizeof *h);
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(key)};
	int rc = store_tx_query(tx, "journey.head", a, 2, head_cb, h);
	return rc < 0 ? rc : 0;
}

struct save_ctx {
	struct journey_engine *e;
	const char *org_id;
	const struct journey_def *d;
	const char *text;
	char digest[65];
	const char *actor;
	int hidden;
	struct journey_saved *out;
};

static int str_cb(void *ud, const struct store_row *row)
{
	char *out = ud;
	const char *s = store_row_text(row, 0);
	snprintf(out, 65, "%s", s ? s : "");
	return 1;
}

static int write_triggers(struct store_tx *tx, const char *org_id, const struct journey_def *d)
{
	struct store_val c[] = {SV_TEXT(org_id), SV_TEXT(d->key)};
	int rc = store_tx_exec(tx, "journey.triggers_clear", c, 2, NULL);
	for (int i = 0; rc == 0 && i < d->ntriggers; i++) {
		const struct journey_trigger *t = &d->triggers[i];
		const char *kind = t->kind == JT_EVENT	       ? "event"
				   : t->kind == JT_KEYWORD     ? "keyword"
				   : t->kind == JT_NEW_CONTACT ? "new_contact"
							       : NULL;
		if (!kind)
			continue;
		int nm = t->kind == JT_KEYWORD ? t->nwords : 1;
		for (int w = 0; rc == 0 && w < nm; w++) {
			const char *match = t->kind == JT_EVENT	    ? t->event
					    : t->kind == JT_KEYWORD ? t->words[w]
								    : "";
			struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(kind), SV_TEXT(match),
						SV_TEXT(d->key)};
			rc = store_tx_exec(tx, "journey.trigger_add", a, 4, NULL);
		}
	}
	return rc;
}

static int save_tx(struct store_tx *tx, void *ud)
{
	struct save_ctx *c = ud;
	struct head h;
	int rc = head_get_tx(tx, c->org_id, c->d->key, &h);
	if (rc)
		return rc;
	snprintf(c->out->key, sizeof c->out->key, "%s", c->d->key);
	if (h.found) {
		char digest[65] = "";
		struct store_val a[] = {SV_TEXT(h.current_id)};
		rc = store_tx_query(tx, "journey.digest", a, 1, str_cb, digest);
		if (rc < 0)
			return rc;
		if (strcmp(digest, c->digest) == 0) {
			snprintf(c->out->id, ID_SIZE, "%s", h.current_id);
			c->out->version = h.version;
			c->out->created = 0;
			return 0;
		}
	}
	char maxv[65] = "";
	struct store_val mv[] = {SV_TEXT(c->org_id), SV_TEXT(c->d->key)};
	rc = store_tx_query(tx, "journey.max_version", mv, 2, str_cb, maxv);
	if (rc < 0)
		return rc;
	int64_t max = strtoll(maxv, NULL, 10);
	int version = (int)max + 1;
	if (c->d->version > version)
		version = c->d->version; /* the author's numbering, when ahead */
	char id[ID_SIZE];
	id_new(id);
	int64_t now = time_now_ms();
	struct store_val ins[] = {SV_TEXT(id),	       SV_TEXT(c->org_id),
				  SV_TEXT(c->d->key),  SV_INT(version),
				  SV_TEXT(c->d->name), SV_TEXT(policy_purpose_name(c->d->purpose)),
				  SV_TEXT(c->text),    SV_TEXT(c->digest),
				  SV_INT(now),	       SV_TEXT(c->actor)};
	rc = store_tx_exec(tx, "journey.insert", ins, 10, NULL);
	if (rc)
		return rc;
	const char *status = h.found && strcmp(h.status, "paused") == 0 ? "paused" : "active";
	struct store_val hs[] = {SV_TEXT(c->org_id), SV_TEXT(c->d->key), SV_TEXT(id),
				 SV_INT(version),    SV_TEXT(status),	 SV_INT(c->hidden),
				 SV_INT(now)};
	rc = store_tx_exec(tx, "journey.head_set", hs, 7, NULL);
	if (rc)
		return rc;
	rc = write_triggers(tx, c->org_id, c->d);
	if (rc)
		return rc;
	snprintf(c->out->id, ID_SIZE, "%s", id);
	c->out->version = version;
	c->out->created = 1;
	return 0;
}

int journey_save(struct journey_engine *e, const char *org_id, json_t *def, const char *actor,
		 int hidden, struct journey_def_errors *errs, struct journey_saved *out)
{
	struct journey_def *d = NULL;
	memset(out, 0, sizeof *out);
	int rc = journey_def_parse(def, &d, errs);
	if (rc)
		return rc;
	char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		journey_def_free(d);
		return CW_ENOMEM;
	}
	struct save_ctx c = {.e = e,
			     .org_id = org_id,
			     .d = d,
			     .text = text,
			     .actor = actor,
			     .hidden = hidden,
			     .out = out};
	sec_sha256_hex(text, strlen(text), c.digest);
	rc = store_tx(e->st, save_tx, &c);
	free(text);
	journey_def_free(d);
	return rc;
}

int journey_load_dir(struct journey_engine *e, const char *org_id, const char *dir, int *loaded)
{
	if (loaded)
		*loaded = 0;
	DIR *d = opendir(dir);
	if (!d)
		return CW_EIO;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 || de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		json_error_t je;
		json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (!j) {
			log_warn("journey", "%s: line %d: %s", de->d_name, je.line, je.text);
			continue;
		}
		struct journey_def_errors *errs = xcalloc(1, sizeof *errs);
		struct journey_saved sv;
		int rc = journey_save(e, org_id, j, "library", 0, errs, &sv);
		if (rc) {
			char line[600];
			for (int i = 0; i < errs->n; i++)
				log_warn("journey", "%s: %s", de->d_name,
					 journey_def_error_format(&errs->e[i], line, sizeof line));
			if (!errs->n)
				log_warn("journey", "%s: %s", de->d_name, cw_strerror(rc));
		} else if (loaded) {
			(*loaded)++;
		}
		free(errs);
		json_decref(j);
	}
	closedir(d);
	return 0;
}

struct status_ctx {
	const char *org_id, *key, *status;
	int64_t changes;
};

static int status_tx(struct store_tx *tx, void *ud)
{
	struct status_ctx *c = ud;
	struct store_val a[] = {SV_TEXT(c->org_id), SV_TEXT(c->key), SV_TEXT(c->status),
				SV_INT(time_now_ms())};
	return store_tx_exec(tx, "journey.head_status", a, 4, &c->changes);
}

int journey_set_status(struct journey_engine *e, const char *org_id, const char *key,
		       const char *status)
{
	if (!status || (strcmp(status, "active") != 0 && strcmp(status, "paused") != 0 &&
			strcmp(status, "archived") != 0))
		return CW_EINVAL;
	struct status_ctx c = {org_id, key, status, 0};
	int rc = store_tx(e->st, status_tx, &c);
	if (rc)
		return rc;
	return c.changes ? 0 : CW_ENOTFOUND;
}

/* ---- JSON views ---- */

static json_t *iso_or_null(int64_t ms)
{
	char iso[TIME_ISO_MAX];
	return ms ? json_string(time_format_iso(ms, iso)) : json_null();
}

static int count_obj_cb(void *ud, const struct store_row *row)
{
	json_t *o = ud;
	const char *k = store_row_text(row, 0);
	json_object_set_new(o, k ? k : "null", json_integer(store_row_int(row, 1)));
	return 0;
}

struct version_row {
	char id[ID_SIZE];
	int version;
	char purpose[16];
	char *definition;
	int64_t created_at;
	int found;
};

static int version_cb(void *ud, const struct store_row *row)
{
	struct version_row *v = ud;
	snprintf(v->id, sizeof v->id, "%s", store_row_text(row, 0));
	v->version = (int)store_row_int(row, 1);
	snprintf(v->purpose, sizeof v->purpose, "%s", store_row_text(row, 3));
	free(v->definition);
	v->definition = xstrdup(store_row_text(row, 4));
	v->created_at = store_row_int(row, 5);
	v->found = 1;
	return 1;
}

static int versions_cb(void *ud, const struct store_row *row)
{
	json_t *arr = ud;
	json_array_append_new(arr, json_pack("{s:I, s:o, s:s*}", "version",
					     (json_int_t)store_row_int(row, 0), "created_at",
					     iso_or_null(store_row_int(row, 1)), "created_by",
					     store_row_text(row, 2)));
	return 0;
}

int journey_get_json(struct journey_engine *e, const char *org_id, const char *key, int version,
		     json_t **out)
{
	*out = NULL;
	struct head h = {{0}};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(key)};
	int rc = store_query(e->st, "journey.head", a, 2, head_cb, &h);
	if (rc < 0)
		return rc;
	if (!h.found)
		return CW_ENOTFOUND;
	struct version_row v = {.found = 0};
	struct store_val b[] = {SV_TEXT(org_id), SV_TEXT(key),
				SV_INT(version ? version : h.version)};
	rc = store_query(e->st, "journey.version", b, 3, version_cb, &v);
	if (rc < 0 || !v.found) {
		free(v.definition);
		return rc < 0 ? rc : CW_ENOTFOUND;
	}
	json_t *def = json_loads(v.definition, 0, NULL);
	free(v.definition);
	const struct journey_def *d = NULL;
	rc = journey_def_get(e, v.id, &d);
	if (rc || !def) {
		json_decref(def);
		return rc ? rc : CW_EINTERNAL;
	}
	json_t *o =
	    json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:b, s:s, s:o, s:O, s:o}", "key", key,
		      "version", v.version, "current_version", h.version, "status", h.status,
		      "name", d->name, "purpose", v.purpose, "interactive", d->interactive,
		      "on_conflict", journey_conflict_name(d->conflict), "created_at",
		      iso_or_null(v.created_at), "graph", d->graph, "definition", def);
	journey_def_put(e, d);
	json_t *vs = json_array();
	store_query(e->st, "journey.versions", a, 2, versions_cb, vs);
	json_object_set_new(o, "versions", vs);
	json_t *runs = json_object();
	store_query(e->st, "jrun.count_state", a, 2, count_obj_cb, runs);
	json_object_set_new(o, "runs", runs);
	*out = o;
	return 0;
}

static int list_cb(void *ud, const struct store_row *row)
{
	json_t *arr = ud;
	json_array_append_new(
	    arr, json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:I}", "key", store_row_text(row, 0),
			   "version", (json_int_t)store_row_int(row, 1), "status",
			   store_row_text(row, 2), "name", store_row_text(row, 3), "purpose",
			   store_row_text(row, 4), "updated_at", iso_or_null(store_row_int(row, 5)),
			   "live_runs", (json_int_t)store_row_int(row, 6)));
	return 0;
}

int journey_list_json(struct journey_engine *e, const char *org_id, json_t **out)
{
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(org_id)};
	int rc = store_query(e->st, "journey.list", a, 1, list_cb, items);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

/* ---- runs in the store ---- */

struct run {
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char journey_id[ID_SIZE];
	char key[JOURNEY_KEY_MAX + 1];
	int version;
	char contact_id[ID_SIZE];
	char number_id[ID_SIZE];
	char campaign_id[ID_SIZE];
	char subject[256];
	char state[16];
	char wait_kind[16];
	char step[JOURNEY_STEP_ID_MAX + 1];
	int64_t seq;
	int64_t due_at;
	char last_send[JOURNEY_STEP_ID_MAX + 1];
	json_t *vars;
	json_t *event;
	json_t *pending;
	char trigger[128];
	int negative;
	char end_reason[200];
	int64_t created_at, updated_at, ended_at;
	int found;
};

#define COPY(dst, col)                                                                             \
	snprintf((dst), sizeof(dst), "%s", store_row_text(row, col) ? store_row_text(row, col) : "")

static int run_cb(void *ud, const struct store_row *row)
{
	struct run *r = ud;
	COPY(r->id, 0);
	COPY(r->org_id, 1);
	COPY(r->journey_id, 2);
	COPY(r->key, 3);
	r->version = (int)store_row_int(row, 4);
	COPY(r->contact_id, 5);
	COPY(r->number_id, 6);
	COPY(r->campaign_id, 7);
	COPY(r->subject, 8);
	COPY(r->state, 9);
	COPY(r->wait_kind, 10);
	COPY(r->step, 11);
	r->seq = store_row_int(row, 12);
	r->due_at = store_row_is_null(row, 13) ? 0 : store_row_int(row, 13);
	COPY(r->last_send, 14);
	json_decref(r->vars);
	json_decref(r->event);
	json_decref(r->pending);
	const char *v = store_row_text(row, 15);
	r->vars = v ? json_loads(v, 0, NULL) : NULL;
	if (!json_is_object(r->vars)) {
		json_decref(r->vars);
		r->vars = json_object();
	}
	v = store_row_text(row, 16);
	r->event = v ? json_loads(v, 0, NULL) : NULL;
	v = store_row_text(row, 17);
	r->pending = v ? json_loads(v, 0, NULL) : NULL;
	COPY(r->trigger, 18);
	r->negative = (int)store_row_int(row, 19);
	COPY(r->end_reason, 20);
	r->created_at = store_row_int(row, 21);
	r->updated_at = store_row_int(row, 22);
	r->ended_at = store_row_is_null(row, 23) ? 0 : store_row_int(row, 23);
	r->found = 1;
	return 1;
}

static void run_release(struct run *r)
{
	json_decref(r->vars);
	json_decref(r->event);
	json_decref(r->pending);
	r->vars = r->event = r->pending = NULL;
}

static int run_load_tx(struct store_tx *tx, const char *id, struct run *r)
{
	memset(r, 0, sizeof *r);
	struct store_val a[] = {SV_TEXT(id)};
	int rc = store_tx_query(tx, "jrun.get", a, 1, run_cb, r);
	return rc < 0 ? rc : 0;
}

static int live(const struct run *r)
{
	return strcmp(r->state, "running") == 0 || strcmp(r->state, "waiting") == 0 ||
	       strcmp(r->state, "queued") == 0;
}

static int run_save(struct store_tx *tx, struct run *r, int64_t now)
{
	char *vars = json_dumps(r->vars, JSON_COMPACT);
	char *pending = r->pending ? json_dumps(r->pending, JSON_COMPACT) : NULL;
	if (vars && strlen(vars) > JOURNEY_VARS_MAX) {
		log_warn("journey", "run %s: variables over %u bytes; the last change is dropped",
			 r->id, JOURNEY_VARS_MAX);
		free(vars);
		vars = xstrdup("{}");
	}
	struct store_val a[] = {SV_TEXT(r->id),
				SV_TEXT(r->state),
				SV_TEXT(r->wait_kind[0] ? r->wait_kind : NULL),
				SV_TEXT(r->step[0] ? r->step : NULL),
				SV_INT(r->seq),
				r->due_at ? SV_INT(r->due_at) : SV_NULL,
				SV_TEXT(r->last_send[0] ? r->last_send : NULL),
				SV_TEXT(vars ? vars : "{}"),
				SV_INT(r->negative),
				SV_TEXT(r->end_reason[0] ? r->end_reason : NULL),
				r->ended_at ? SV_INT(r->ended_at) : SV_NULL,
				SV_INT(now),
				SV_TEXT(pending)};
	int rc = store_tx_exec(tx, "jrun.update", a, 13, NULL);
	free(vars);
	free(pending);
	return rc;
}

/* ---- executing steps ---- */

struct exec {
	struct journey_engine *e;
	struct store_tx *tx;
	struct run *r;
	const struct journey_def *d;
	const struct inbound *in; /* the person's message driving this, or NULL */
	const struct journey_reply *reply;
	json_t *ctx;
	const struct orgconf *conf;
	int64_t now;
	char lang[16];
	char to[32];
	int erased;
};

static void exec_release(struct exec *x)
{
	json_decref(x->ctx);
	x->ctx = NULL;
	orgconf_put(x->conf);
	x->conf = NULL;
}

static const struct orgconf *conf_of(struct exec *x)
{
	if (!x->conf && orgconf_get_tx(x->tx, x->r->org_id, &x->conf) != 0)
		x->conf = NULL;
	return x->conf;
}

static int contact_cb(void *ud, const struct store_row *row)
{
	json_t *c = ud;
	static const char *const cols[] = {"name",  "language", "time_zone", "phone",
					   "wa_id", "audience", "sex",	     "birth_date"};
	for (int i = 0; i < 8; i++) {
		const char *v = store_row_text(row, i);
		if (v)
			json_object_set_new(c, cols[i], json_string(v));
	}
	json_object_set_new(c, "erased", json_boolean(store_row_int(row, 8)));
	const char *k[] = {"fields", "tags", "consent"};
	for (int i = 0; i < 3; i++) {
		const char *v = store_row_text(row, 9 + i);
		json_t *j = v ? json_loads(v, 0, NULL) : NULL;
		json_object_set_new(c, k[i], j ? j : (i == 1 ? json_array() : json_object()));
	}
	return 1;
}

static json_t *ctx_of(struct exec *x)
{
	if (x->ctx)
		return x->ctx;
	json_t *contact = json_pack("{s:s}", "id", x->r->contact_id);
	struct store_val a[] = {SV_TEXT(x->r->org_id), SV_TEXT(x->r->contact_id)};
	store_tx_query(x->tx, "journey.contact", a, 2, contact_cb, contact);
	const char *name = json_string_value(json_object_get(contact, "name"));
	if (name) {
		size_t n = strcspn(name, " \t");
		char *first = xstrndup(name, n);
		json_object_set_new(contact, "first_name", json_string(first));
		free(first);
	}
	x->erased = json_is_true(json_object_get(contact, "erased"));
	const struct orgconf *conf = conf_of(x);
	const char *lang = json_string_value(json_object_get(contact, "language"));
	if (!lang && conf)
		lang = conf->language;
	snprintf(x->lang, sizeof x->lang, "%s", journey_def_lang(x->d, lang));
	const char *wa = json_string_value(json_object_get(contact, "wa_id"));
	const char *ph = json_string_value(json_object_get(contact, "phone"));
	snprintf(x->to, sizeof x->to, "%s", wa ? wa : ph && ph[0] == '+' ? ph + 1 : ph ? ph : "0");
	json_t *org =
	    json_pack("{s:s, s:s, s:s}", "id", x->r->org_id, "time_zone", conf ? conf->zone : "UTC",
		      "language", conf ? conf->language : "en");
	char started[TIME_ISO_MAX], now[TIME_ISO_MAX];
	json_t *run = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s*}", "id", x->r->id, "journey",
				x->r->key, "version", x->r->version, "started_at",
				time_format_iso(x->r->created_at, started), "now",
				time_format_iso(x->now, now), "trigger", x->r->trigger,
				"campaign_id", x->r->campaign_id[0] ? x->r->campaign_id : NULL);
	json_t *event = x->r->event ? json_incref(x->r->event) : json_object();
	json_t *webhook = json_object_get(x->r->vars, "_webhook");
	x->ctx = json_pack("{s:o, s:o, s:O, s:o, s:o, s:O}", "contact", contact, "event", event,
			   "vars", x->r->vars, "run", run, "org", org, "webhook",
			   webhook ? webhook : json_null());
	if (x->reply)
		json_object_set_new(x->ctx, "reply",
				    json_pack("{s:s*, s:s*, s:s*}", "text", x->reply->text, "id",
					      x->reply->button ? x->reply->button : x->reply->list,
					      "title", x->reply->text));
	return x->ctx;
}

static int log_event(struct exec *x, const char *step, const char *kind, const char *detail)
{
	struct store_val a[] = {
	    SV_TEXT(x->r->org_id), SV_TEXT(x->r->id),
	    SV_TEXT(x->r->key),	   SV_INT(x->r->version),
	    SV_TEXT(step),	   SV_TEXT(x->r->campaign_id[0] ? x->r->campaign_id : NULL),
	    SV_TEXT(kind),	   SV_TEXT(detail),
	    SV_INT(time_now_ms())};
	return store_tx_exec(x->tx, "jevent.insert", a, 9, NULL);
}

static int record_send(struct exec *x, const char *step, const char *message_id,
		       const char *outcome, const char *reason)
{
	struct store_val a[] = {SV_TEXT(x->r->org_id),
				SV_TEXT(x->r->id),
				SV_TEXT(x->r->key),
				SV_INT(x->r->version),
				SV_TEXT(step),
				SV_TEXT(x->r->campaign_id[0] ? x->r->campaign_id : NULL),
				SV_TEXT(x->r->contact_id),
				SV_TEXT(message_id && *message_id ? message_id : NULL),
				SV_TEXT(outcome),
				SV_TEXT(reason),
				SV_INT(time_now_ms())};
	return store_tx_exec(x->tx, "jsend.insert", a, 11, NULL);
}

static void set_timer(struct exec *x, int64_t due)
{
	x->r->due_at = due;
}

static int finish(struct exec *x, const char *state, const char *reason)
{
	snprintf(x->r->state, sizeof x->r->state, "%s", state);
	x->r->wait_kind[0] = '\0';
	x->r->due_at = 0;
	x->r->ended_at = x->now;
	json_decref(x->r->pending);
	x->r->pending = NULL;
	if (reason && !x->r->end_reason[0])
		snprintf(x->r->end_reason, sizeof x->r->end_reason, "%s", reason);
	if (strcmp(state, "failed") == 0)
		atomic_fetch_add(&x->e->failed, 1);
	return 0;
}

static int rendered_time(struct exec *x, const json_t *spec, int64_t *out)
{
	const char *var = json_str(spec, "var");
	const json_t *v = journey_ctx_get(ctx_of(x), var);
	int64_t t;
	if (json_is_integer(v))
		t = json_integer_value(v);
	else if (!json_is_string(v) || time_parse_iso(json_string_value(v), &t) != 0)
		return CW_EINVAL;
	const char *off = json_str(spec, "offset");
	int64_t o = 0;
	if (off && journey_duration(off, &o) != 0)
		return CW_EINVAL;
	*out = t + o;
	return 0;
}

static const char *zone_of(struct exec *x)
{
	const char *z = json_string_value(journey_ctx_get(ctx_of(x), "contact.time_zone"));
	if (z && time_zone_valid(z))
		return z;
	const struct orgconf *c = conf_of(x);
	return c ? c->zone : "UTC";
}

/* Moves t out of the organisation's quiet hours in the contact's zone, to
 * the next opening: the same rule policy applies, asked of policy itself
 * with a message that passes every other check. */
static int64_t quiet_shift(struct exec *x, int64_t t)
{
	const struct orgconf *conf = conf_of(x);
	struct policy_org org;
	if (conf)
		org = conf->policy;
	else
		policy_org_init(&org, POLICY_ORG_CLINIC, "UTC");
	org.marketing_cap.max = 0;
	org.survey_cap.max = 0;
	org.tier_limit = 0;
	struct policy_contact c = {.phone_valid = 1, .zone = zone_of(x)};
	for (int i = 0; i < POLICY_PURPOSE_COUNT; i++)
		c.consents[i].status = POLICY_CONSENT_GRANTED;
	struct policy_message m = {.purpose = POLICY_REMINDERS,
				   .kind = POLICY_TEMPLATE,
				   .tpl = {.name = "t",
					   .language = "en",
					   .status = POLICY_TPL_APPROVED,
					   .category = POLICY_CAT_UTILITY}};
	struct policy_counters k = {0};
	struct policy_input in = {.contact = &c, .msg = &m, .org = &org, .counters = &k};
	struct policy_decision dec;
	policy_decide(&in, t, &dec);
	if (dec.outcome == POLICY_DEFER && dec.reason == POLICY_R_QUIET_HOURS && dec.until > t)
		return dec.until;
	return t;
}

/* The next local hh:mm in the contact's zone at or after t. */
static int64_t at_local(struct exec *x, int64_t t, const char *hhmm)
{
	const char *zone = zone_of(x);
	int h = (hhmm[0] - '0') * 10 + hhmm[1] - '0', m = (hhmm[3] - '0') * 10 + hhmm[4] - '0';
	for (int day = 0; day < 3; day++) {
		struct time_local l;
		if (time_to_local(t + (int64_t)day * 86400000LL, zone, &l) != 0)
			return t;
		int64_t r;
		if (time_from_local(zone, l.year, l.month, l.day, h, m, &r) != 0)
			return t;
		if (r >= t)
			return r;
	}
	return t;
}

static int step_send(struct exec *x, const struct journey_step *s)
{
	json_t *ctx = ctx_of(x);
	const json_t *m = json_object_get(s->j, "message"), *t = json_object_get(s->j, "template");
	json_t *payload = NULL, *fallback = NULL;
	char err[300] = "";
	int rc = journey_build_message(x->d, s, m ? 0 : 1, x->lang, ctx, x->to, &payload, err,
				       sizeof err);
	if (rc == 0 && m && t &&
	    journey_build_message(x->d, s, 1, x->lang, ctx, x->to, &fallback, err, sizeof err))
		fallback = NULL;
	if (rc) {
		log_warn("journey", "run %s step %s: the message cannot be built: %s", x->r->id,
			 s->id, err);
		rc = log_event(x, s->id, "error", err);
		return rc ? rc : record_send(x, s->id, NULL, "error", "invalid_message");
	}
	char category[128] = "";
	const char *rcat = json_str(s->j, "result_category");
	if (rcat) {
		struct buf b;
		buf_init(&b, 1024);
		journey_render(rcat, ctx, &b);
		snprintf(category, sizeof category, "%s", b.data ? b.data : "");
		buf_release(&b);
	}
	int64_t expires = 0;
	const json_t *ex = json_object_get(s->j, "expires");
	if (json_is_string(ex)) {
		int64_t d;
		if (journey_duration(json_string_value(ex), &d) == 0)
			expires = time_now_ms() + d;
	} else if (ex) {
		int64_t when;
		/* the scheduler's clock may run ahead (sandbox): express it in real time */
		if (rendered_time(x, ex, &when) == 0)
			expires = when - sched_offset(x->e->sched);
	}
	int halted = 0;
	if (x->r->campaign_id[0]) {
		char st[65] = "";
		struct store_val a[] = {SV_TEXT(x->r->campaign_id)};
		if (store_tx_query(x->tx, "campaign.status", a, 1, str_cb, st) >= 0)
			halted = strcmp(st, "halted") == 0;
	}
	char idem[OUTBOX_IDEM_MAX];
	snprintf(idem, sizeof idem, "journey:%s:%s:%lld", x->r->id, s->id, (long long)x->r->seq);
	char producer[SEND_PRODUCER_MAX + 1];
	snprintf(producer, sizeof producer, "journey:%s:%s", x->r->key, s->id);
	struct send_request rq = {.org_id = x->r->org_id,
				  .number_id = x->r->number_id[0] ? x->r->number_id : NULL,
				  .contact_id = x->r->contact_id,
				  .purpose = (enum policy_purpose)s->purpose,
				  .payload = payload,
				  .fallback = fallback,
				  .result_category = category[0] ? category : NULL,
				  .producer = producer,
				  .idem_key = idem,
				  .priority = -1,
				  .expires_at = expires,
				  .time_critical =
				      json_is_true(json_object_get(s->j, "time_critical")),
				  .is_reply = x->in != NULL,
				  .campaign_halted = halted};
	struct send_result res;
	memset(&res, 0, sizeof res);
	rc = send_submit_tx(x->tx, &rq, time_now_ms(), &res);
	json_decref(payload);
	json_decref(fallback);
	if (rc == CW_ENOTFOUND || rc == CW_EINVAL) {
		log_warn("journey", "run %s step %s: not sent: %s (%s)", x->r->id, s->id,
			 cw_strerror(rc), res.field ? res.field : "");
		return record_send(x, s->id, NULL, "error",
				   rc == CW_ENOTFOUND ? "not_found" : "invalid");
	}
	if (rc)
		return rc;
	atomic_fetch_add(&x->e->sends, 1);
	if (res.message_id[0])
		snprintf(x->r->last_send, sizeof x->r->last_send, "%s", s->id);
	return record_send(x, s->id, res.message_id, policy_outcome_name(res.decision.outcome),
			   policy_reason_code(res.decision.reason));
}

/* Picks the branch of a branch or webhook step by its conditions. */
static int pick_if(struct exec *x, const struct journey_step *s, int status, int called)
{
	const struct orgconf *conf = conf_of(x);
	for (int i = 0; i < s->nbranches; i++) {
		const struct journey_branch *b = &s->branches[i];
		int hit = 0;
		switch (b->kind) {
		case JM_IF:
			hit = journey_cond_eval(b->cond, ctx_of(x), conf ? &conf->policy : NULL);
			break;
		case JM_OK:
			hit = called && status >= 200 && status < 300;
			break;
		case JM_STATUS:
			hit = called && status >= b->status_lo && status <= b->status_hi;
			break;
		case JM_FAILED:
			hit = called && (status < 200 || status >= 300);
			break;
		case JM_ELSE:
			hit = 1;
			break;
		default:
			break;
		}
		if (hit) {
			log_event(x, s->id, "branch", b->label);
			return b->next;
		}
	}
	return s->next;
}

static int set_field(struct exec *x, const struct journey_step *s)
{
	const char *key = json_str(s->j, "field");
	const json_t *v = json_object_get(s->j, "value");
	const char *type = "text";
	char *text = NULL;
	double num = 0;
	int has_num = 0;
	json_t *jv = NULL;
	if (json_is_string(v)) {
		struct buf b;
		buf_init(&b, JOURNEY_RENDER_MAX * 2);
		journey_render(json_string_value(v), ctx_of(x), &b);
		text = buf_detach(&b, NULL);
		jv = json_string(text);
	} else if (json_is_number(v)) {
		type = "number";
		num = json_number_value(v);
		has_num = 1;
		jv = json_real(num);
	} else if (json_is_boolean(v)) {
		type = "bool"; /* stored as the text "true" / "false", as contacts do */
		text = xstrdup(json_is_true(v) ? "true" : "false");
		jv = json_boolean(json_is_true(v));
	}
	int rc;
	if (!jv) {
		struct store_val d[] = {SV_TEXT(x->r->contact_id), SV_TEXT(key)};
		rc = store_tx_exec(x->tx, "contact.field_del", d, 2, NULL);
		jv = json_null();
	} else {
		struct store_val a[] = {SV_TEXT(x->r->org_id), SV_TEXT(x->r->contact_id),
					SV_TEXT(key),	       SV_TEXT(type),
					SV_TEXT(text),	       has_num ? SV_REAL(num) : SV_NULL};
		rc = store_tx_exec(x->tx, "contact.field_set", a, 6, NULL);
	}
	if (rc == 0) {
		char *js = json_dumps(jv, JSON_ENCODE_ANY);
		char path[80];
		snprintf(path, sizeof path, "$.%s", key);
		struct store_val b[] = {SV_TEXT(x->r->org_id), SV_TEXT(x->r->contact_id),
					SV_TEXT(path), SV_TEXT(js), SV_INT(time_now_ms())};
		rc = store_tx_exec(x->tx, "journey.contact_field_json", b, 5, NULL);
		free(js);
	}
	if (rc == 0 && x->ctx) {
		json_t *fields = json_object_get(json_object_get(x->ctx, "contact"), "fields");
		json_object_set(fields, key, jv);
	}
	json_decref(jv);
	free(text);
	return rc;
}

static int tag(struct exec *x, const struct journey_step *s, int add)
{
	const char *t = json_str(s->j, "tag");
	int rc;
	if (add) {
		struct store_val a[] = {SV_TEXT(x->r->org_id), SV_TEXT(x->r->contact_id),
					SV_TEXT(t)};
		rc = store_tx_exec(x->tx, "contact.tag_add", a, 3, NULL);
	} else {
		struct store_val a[] = {SV_TEXT(x->r->contact_id), SV_TEXT(t)};
		rc = store_tx_exec(x->tx, "journey.untag", a, 2, NULL);
	}
	if (rc == 0 && x->ctx) {
		json_t *tags = json_object_get(json_object_get(x->ctx, "contact"), "tags");
		if (add) {
			json_array_append_new(tags, json_string(t));
		} else {
			for (size_t i = 0; i < json_array_size(tags); i++)
				if (json_is_string(json_array_get(tags, i)) &&
				    strcmp(json_string_value(json_array_get(tags, i)), t) == 0)
					json_array_remove(tags, i--);
		}
	}
	return rc;
}

static int consent(struct exec *x, const struct journey_step *s)
{
	char evidence[160];
	snprintf(evidence, sizeof evidence, "journey %s v%d run %s step %s", x->r->key,
		 x->r->version, x->r->id, s->id);
	char actor[JOURNEY_KEY_MAX + 16];
	snprintf(actor, sizeof actor, "journey:%s", x->r->key);
	struct consent_input in = {.purpose = json_str(s->j, "purpose"),
				   .status = json_str(s->j, "status"),
				   .source = x->in ? "whatsapp" : "api",
				   .wording_version = json_str(s->j, "wording_version"),
				   .evidence = evidence,
				   .at = time_now_ms()};
	int rc = consent_record_tx(x->tx, x->r->org_id, x->r->contact_id, &in, actor, NULL);
	if (rc == 0 && x->ctx)
		json_object_set_new(json_object_get(json_object_get(x->ctx, "contact"), "consent"),
				    in.purpose, json_string(in.status));
	return rc;
}

static void set_var(struct exec *x, const char *name, json_t *value)
{
	json_object_set_new(x->r->vars, name, value);
}

static int handoff(struct exec *x, const struct journey_step *s)
{
	char id[ID_SIZE];
	id_new(id);
	char *note = NULL;
	const char *nt = journey_text(x->d, json_object_get(s->j, "note"), x->lang);
	if (nt) {
		struct buf b;
		buf_init(&b, JOURNEY_RENDER_MAX * 2);
		journey_render(nt, ctx_of(x), &b);
		note = buf_detach(&b, NULL);
	}
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(x->r->org_id),
				SV_TEXT(x->r->contact_id),
				SV_TEXT(x->r->number_id[0] ? x->r->number_id : NULL),
				SV_TEXT(x->r->id),
				SV_TEXT(json_str(s->j, "team")),
				SV_TEXT(note),
				SV_INT(time_now_ms())};
	int rc = store_tx_exec(x->tx, "handoff.insert", a, 8, NULL);
	/* and in front of a person: the inbox's conversation, waiting from now */
	char reason[CONV_HANDOFF_MAX];
	snprintf(reason, sizeof reason, "journey:%s", x->r->key);
	if (rc == 0 && x->r->number_id[0])
		rc = conversation_handoff_tx(x->tx, x->r->org_id, x->r->number_id, x->r->contact_id,
					     reason, json_str(s->j, "team"), note, time_now_ms());
	free(note);
	if (rc == 0)
		set_var(x, "_handoff", json_string(json_str(s->j, "team")));
	return rc;
}

static json_t *render_json(const json_t *v, const json_t *ctx)
{
	if (json_is_string(v)) {
		struct buf b;
		buf_init(&b, JOURNEY_RENDER_MAX * 2);
		journey_render(json_string_value(v), ctx, &b);
		json_t *s = json_string(b.data ? b.data : "");
		buf_release(&b);
		return s ? s : json_string("");
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		    json_object_set_new(o, k, render_json(x, ctx));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) json_array_append_new(a, render_json(x, ctx));
		return a;
	}
	return json_deep_copy(v);
}

static int start_call(struct exec *x, const struct journey_step *s)
{
	json_t *ctx = ctx_of(x);
	struct buf u;
	buf_init(&u, 4096);
	journey_render(json_str(s->j, "url"), ctx, &u);
	const json_t *body = json_object_get(s->j, "body");
	json_t *contact = json_object_get(ctx, "contact");
	json_t *payload = json_pack(
	    "{s:s, s:i, s:s, s:s, s:{s:s, s:s*, s:s*}, s:o}", "journey", x->r->key, "version",
	    x->r->version, "run_id", x->r->id, "step", s->id, "contact", "id", x->r->contact_id,
	    "phone", json_string_value(json_object_get(contact, "phone")), "language",
	    json_string_value(json_object_get(contact, "language")), "data",
	    body ? render_json(body, ctx) : json_object());
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	char idem[160];
	snprintf(idem, sizeof idem, "journey:%s:%s:%lld", x->r->id, s->id, (long long)x->r->seq);
	json_decref(x->r->pending);
	x->r->pending = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "url", u.data ? u.data : "",
				  "body", text ? text : "{}", "idem", idem, "step", s->id, "seq",
				  (json_int_t)x->r->seq, "timeout_ms", (json_int_t)s->timeout_ms);
	free(text);
	buf_release(&u);
	snprintf(x->r->state, sizeof x->r->state, "waiting");
	snprintf(x->r->wait_kind, sizeof x->r->wait_kind, "webhook");
	x->r->due_at = 0;
	return sched_set_tx(x->e->sched, x->tx, JOURNEY_WEBHOOK_TIMER, x->r->id, x->r->org_id,
			    x->now);
}

static int start_other(struct exec *x, const struct journey_step *s)
{
	const json_t *v = json_object_get(s->j, "vars");
	json_t *vars = v ? render_json(v, ctx_of(x)) : NULL;
	char trig[64];
	snprintf(trig, sizeof trig, "journey:%s", x->r->id);
	struct journey_start st = {.org_id = x->r->org_id,
				   .key = json_str(s->j, "journey"),
				   .contact_id = x->r->contact_id,
				   .number_id = x->r->number_id[0] ? x->r->number_id : NULL,
				   .vars = vars,
				   .event = x->r->event,
				   .trigger = trig,
				   .in = x->in};
	struct journey_started out;
	int rc = journey_start_tx(x->e, x->tx, &st, &out);
	json_decref(vars);
	if (rc == CW_ENOTFOUND || rc == CW_ECONFLICT) {
		log_warn("journey", "run %s step %s: journey %s not started: %s", x->r->id, s->id,
			 st.key, cw_strerror(rc));
		return log_event(x, s->id, "error", "journey not started");
	}
	return rc;
}

/* Walks the steps from idx until the run waits or ends. */
static int run_steps(struct exec *x, int idx)
{
	struct run *r = x->r;
	snprintf(r->state, sizeof r->state, "running");
	r->wait_kind[0] = '\0';
	r->due_at = 0;
	for (int n = 0;; n++) {
		if (idx == JOURNEY_END)
			return finish(x, "done", "completed");
		if (n >= JOURNEY_MAX_STEPS_PER_ADVANCE)
			return finish(x, "failed", "too many steps without a wait");
		const struct journey_step *s = &x->d->steps[idx];
		r->seq++;
		snprintf(r->step, sizeof r->step, "%s", s->id);
		atomic_fetch_add(&x->e->steps, 1);
		int rc = log_event(x, s->id, "entered", NULL);
		if (rc)
			return rc;
		int next = s->next;
		switch (s->type) {
		case JS_SEND:
			rc = step_send(x, s);
			break;
		case JS_WAIT_REPLY:
			snprintf(r->state, sizeof r->state, "waiting");
			snprintf(r->wait_kind, sizeof r->wait_kind, "reply");
			set_timer(x, s->timeout_ms ? x->now + s->timeout_ms : 0);
			return 0;
		case JS_WAIT: {
			int64_t due;
			if (s->has_until) {
				const json_t *un = json_object_get(s->j, "until");
				if (rendered_time(x, un, &due) != 0) {
					log_event(x, s->id, "error", "no time in the variable");
					idx = s->if_past >= -1 ? s->if_past : next;
					continue;
				}
				const char *at = json_str(un, "at");
				if (at)
					due = at_local(x, due, at);
			} else {
				due = x->now + s->for_ms;
			}
			const char *qh = json_str(s->j, "quiet_hours");
			if (!qh || strcmp(qh, "ignore") != 0)
				due = quiet_shift(x, due);
			if (due <= x->now) {
				if (s->has_until)
					next = s->if_past >= -1 ? s->if_past : next;
				break;
			}
			snprintf(r->state, sizeof r->state, "waiting");
			snprintf(r->wait_kind, sizeof r->wait_kind, "timer");
			set_timer(x, due);
			return 0;
		}
		case JS_BRANCH:
			next = pick_if(x, s, 0, 0);
			break;
		case JS_SET_FIELD:
			rc = set_field(x, s);
			break;
		case JS_TAG:
		case JS_UNTAG:
			rc = tag(x, s, s->type == JS_TAG);
			break;
		case JS_CONSENT:
			rc = consent(x, s);
			break;
		case JS_SET_VAR: {
			const json_t *v = json_object_get(s->j, "value");
			set_var(x, json_str(s->j, "name"), render_json(v, ctx_of(x)));
			break;
		}
		case JS_WEBHOOK:
			return start_call(x, s);
		case JS_HANDOFF:
			rc = handoff(x, s);
			if (rc == 0 && next == JOURNEY_END)
				return finish(x, "done", "handed off");
			break;
		case JS_START:
			rc = start_other(x, s);
			break;
		case JS_END: {
			const char *why = json_str(s->j, "reason");
			return finish(x, "done", why ? why : "completed");
		}
		default:
			break;
		}
		if (rc)
			return rc;
		idx = next;
	}
}

/* Starts the oldest queued run of the contact and number, if nobody waits
 * for their reply any more. */
static int start_queued(struct journey_engine *e, struct store_tx *tx, const char *contact_id,
			const char *number_id, int64_t now);

/* Saves the run, moves its timer, and lets a queued run start when this one
 * stopped holding the conversation. was_reply: it waited for a reply before. */
static int commit_run(struct exec *x, int was_reply)
{
	struct run *r = x->r;
	int rc = run_save(x->tx, r, x->now);
	if (rc)
		return rc;
	if (r->due_at && strcmp(r->wait_kind, "webhook") != 0)
		rc = sched_set_tx(x->e->sched, x->tx, JOURNEY_TIMER, r->id, r->org_id, r->due_at);
	else
		rc = sched_cancel_tx(x->tx, JOURNEY_TIMER, r->id);
	if (rc)
		return rc;
	if (!live(r))
		rc = sched_cancel_tx(x->tx, JOURNEY_WEBHOOK_TIMER, r->id);
	int holds = strcmp(r->state, "waiting") == 0 && strcmp(r->wait_kind, "reply") == 0;
	if (rc == 0 && was_reply && !holds)
		rc = start_queued(x->e, x->tx, r->contact_id, r->number_id, x->now);
	return rc;
}

/* Runs the steps of a loaded run from idx and commits. */
static int advance(struct journey_engine *e, struct store_tx *tx, struct run *r, int idx,
		   const struct inbound *in, const struct journey_reply *reply, int64_t now,
		   int was_reply)
{
	const struct journey_def *d = NULL;
	int rc = def_load(e, tx, r->journey_id, &d);
	if (rc)
		return rc;
	struct exec x = {.e = e, .tx = tx, .r = r, .d = d, .in = in, .reply = reply, .now = now};
	rc = run_steps(&x, idx);
	if (rc == 0)
		rc = commit_run(&x, was_reply);
	exec_release(&x);
	journey_def_put(e, d);
	return rc;
}

/* ---- starting ---- */

struct id_ctx {
	char id[ID_SIZE];
	char step[JOURNEY_STEP_ID_MAX + 1]; /* a second column, when the query has one */
	int found;
};

static int id_cb(void *ud, const struct store_row *row)
{
	struct id_ctx *c = ud;
	const char *s = store_row_text(row, 0);
	if (s) {
		snprintf(c->id, sizeof c->id, "%s", s);
		c->found = 1;
	}
	if (store_row_count(row) > 1 && store_row_text(row, 1))
		snprintf(c->step, sizeof c->step, "%s", store_row_text(row, 1));
	return 1;
}

static int ids_cb(void *ud, const struct store_row *row)
{
	json_t *arr = ud;
	json_array_append_new(arr, json_string(store_row_text(row, 0)));
	return json_array_size(arr) >= 256;
}

static int cancel_run(struct journey_engine *e, struct store_tx *tx, const char *run_id,
		      const char *reason, int64_t now)
{
	struct run r;
	int rc = run_load_tx(tx, run_id, &r);
	if (rc || !r.found || !live(&r)) {
		run_release(&r);
		return rc;
	}
	int was_reply = strcmp(r.state, "waiting") == 0 && strcmp(r.wait_kind, "reply") == 0;
	struct exec x = {.e = e, .tx = tx, .r = &r, .now = now};
	finish(&x, "cancelled", reason);
	rc = commit_run(&x, was_reply);
	run_release(&r);
	return rc;
}

/* The subject of a new run: the value at def->subject in a context made of
 * what is known before it starts. */
static void subject_of(const struct journey_def *d, const struct journey_start *s, char out[256])
{
	out[0] = '\0';
	if (!d->subject)
		return;
	json_t *ctx =
	    json_pack("{s:{s:s}, s:O, s:O}", "contact", "id", s->contact_id, "event",
		      s->event ? s->event : json_null(), "vars", s->vars ? s->vars : json_null());
	const json_t *v = journey_ctx_get(ctx, d->subject);
	if (json_is_string(v))
		snprintf(out, 256, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, 256, "%lld", (long long)json_integer_value(v));
	json_decref(ctx);
}

static int number_cb(void *ud, const struct store_row *row)
{
	char *out = ud;
	snprintf(out, ID_SIZE, "%s", store_row_text(row, 0));
	return 1;
}

static int contact_live_cb(void *ud, const struct store_row *row)
{
	int *state = ud;
	*state = store_row_int(row, 0) ? 2 : 1; /* 2: erased */
	return 1;
}

static int insert_run(struct store_tx *tx, const struct run *r, int64_t now)
{
	char *vars = json_dumps(r->vars, JSON_COMPACT);
	char *event = r->event ? json_dumps(r->event, JSON_COMPACT) : NULL;
	struct store_val a[] = {SV_TEXT(r->id),
				SV_TEXT(r->org_id),
				SV_TEXT(r->journey_id),
				SV_TEXT(r->key),
				SV_INT(r->version),
				SV_TEXT(r->contact_id),
				SV_TEXT(r->number_id[0] ? r->number_id : NULL),
				SV_TEXT(r->campaign_id[0] ? r->campaign_id : NULL),
				SV_TEXT(r->subject[0] ? r->subject : NULL),
				SV_TEXT(r->state),
				SV_TEXT(r->trigger),
				SV_TEXT(vars ? vars : "{}"),
				SV_TEXT(event),
				SV_INT(now),
				SV_TEXT(r->end_reason[0] ? r->end_reason : NULL)};
	int rc = store_tx_exec(tx, "jrun.insert", a, 15, NULL);
	free(vars);
	free(event);
	return rc;
}

int journey_start_tx(struct journey_engine *e, struct store_tx *tx, const struct journey_start *s,
		     struct journey_started *out)
{
	memset(out, 0, sizeof *out);
	int64_t now = sched_now(e->sched);
	struct head h;
	int rc = head_get_tx(tx, s->org_id, s->key, &h);
	if (rc)
		return rc;
	if (!h.found)
		return CW_ENOTFOUND;
	if (strcmp(h.status, "active") != 0) {
		snprintf(out->reason, sizeof out->reason, "the journey is %s", h.status);
		return CW_ECONFLICT;
	}
	int cstate = 0;
	struct store_val ca[] = {SV_TEXT(s->org_id), SV_TEXT(s->contact_id)};
	rc = store_tx_query(tx, "journey.contact_live", ca, 2, contact_live_cb, &cstate);
	if (rc < 0)
		return rc;
	if (cstate != 1) {
		snprintf(out->reason, sizeof out->reason, "%s",
			 cstate == 2 ? "the contact was erased" : "no such contact");
		return CW_ENOTFOUND;
	}
	const struct journey_def *d = NULL;
	rc = def_load(e, tx, h.current_id, &d);
	if (rc)
		return rc;
	struct run r;
	memset(&r, 0, sizeof r);
	id_new(r.id);
	snprintf(r.org_id, sizeof r.org_id, "%s", s->org_id);
	snprintf(r.journey_id, sizeof r.journey_id, "%s", h.current_id);
	snprintf(r.key, sizeof r.key, "%s", s->key);
	r.version = h.version;
	snprintf(r.contact_id, sizeof r.contact_id, "%s", s->contact_id);
	snprintf(r.campaign_id, sizeof r.campaign_id, "%s", s->campaign_id ? s->campaign_id : "");
	snprintf(r.trigger, sizeof r.trigger, "%s", s->trigger ? s->trigger : "api");
	r.vars = json_is_object(s->vars) ? json_deep_copy(s->vars) : json_object();
	r.event = s->event ? json_deep_copy(s->event) : NULL;
	r.created_at = now;
	if (s->number_id) {
		snprintf(r.number_id, sizeof r.number_id, "%s", s->number_id);
	} else {
		struct store_val na[] = {SV_TEXT(s->org_id), SV_TEXT(s->contact_id), SV_NULL};
		rc = store_tx_query(tx, "send.number", na, 3, number_cb, r.number_id);
		if (rc < 0)
			goto done;
		rc = 0;
	}
	if (!r.number_id[0]) {
		snprintf(out->reason, sizeof out->reason, "the organisation has no phone number");
		rc = CW_ENOTFOUND;
		goto done;
	}
	subject_of(d, s, r.subject);
	/* the same journey about the same subject again: the new run replaces it */
	if (r.subject[0]) {
		json_t *olds = json_array();
		struct store_val sa[] = {SV_TEXT(s->org_id), SV_TEXT(s->key),
					 SV_TEXT(s->contact_id), SV_TEXT(r.subject)};
		rc = store_tx_query(tx, "jrun.live_subject", sa, 4, ids_cb, olds);
		for (size_t i = 0; rc >= 0 && i < json_array_size(olds); i++)
			rc = cancel_run(e, tx, json_string_value(json_array_get(olds, i)),
					"restarted", now);
		json_decref(olds);
		if (rc < 0)
			goto done;
		rc = 0;
	}
	/* one conversation at a time */
	const char *state = "running";
	if (d->interactive) {
		struct id_ctx holder = {.found = 0};
		struct store_val ha[] = {SV_TEXT(s->contact_id), SV_TEXT(r.number_id)};
		rc = store_tx_query(tx, "jrun.reply_holder", ha, 2, id_cb, &holder);
		if (rc < 0)
			goto done;
		rc = 0;
		if (holder.found) {
			if (d->conflict == JC_INTERRUPT) {
				char why[96];
				snprintf(why, sizeof why, "interrupted by %s", s->key);
				rc = cancel_run(e, tx, holder.id, why, now);
				if (rc)
					goto done;
			} else if (d->conflict == JC_SKIP) {
				state = "skipped";
				snprintf(r.end_reason, sizeof r.end_reason,
					 "another run waits for this contact's reply");
			} else {
				state = "queued";
			}
		}
	}
	snprintf(r.state, sizeof r.state, "%s", state);
	rc = insert_run(tx, &r, now);
	if (rc)
		goto done;
	atomic_fetch_add(&e->started, 1);
	snprintf(out->run_id, sizeof out->run_id, "%s", r.id);
	if (strcmp(state, "running") == 0) {
		struct exec x = {.e = e, .tx = tx, .r = &r, .d = d, .in = s->in, .now = now};
		rc = run_steps(&x, d->start);
		if (rc == 0)
			rc = commit_run(&x, 0);
		exec_release(&x);
		if (rc)
			goto done;
	} else if (strcmp(state, "skipped") == 0) {
		struct exec x = {.e = e, .tx = tx, .r = &r, .now = now};
		finish(&x, "skipped", NULL);
		rc = run_save(tx, &r, now);
		if (rc)
			goto done;
	}
	snprintf(out->state, sizeof out->state, "%s", r.state);
	if (strcmp(r.state, "skipped") == 0 || strcmp(r.state, "failed") == 0)
		snprintf(out->reason, sizeof out->reason, "%s", r.end_reason);
done:
	run_release(&r);
	journey_def_put(e, d);
	return rc;
}

struct start_ctx {
	struct journey_engine *e;
	const struct journey_start *s;
	struct journey_started *out;
};

static int start_fn(struct store_tx *tx, void *ud)
{
	struct start_ctx *c = ud;
	return journey_start_tx(c->e, tx, c->s, c->out);
}

int journey_start(struct journey_engine *e, const struct journey_start *s,
		  struct journey_started *out)
{
	struct start_ctx c = {e, s, out};
	return store_tx(e->st, start_fn, &c);
}

static int start_queued(struct journey_engine *e, struct store_tx *tx, const char *contact_id,
			const char *number_id, int64_t now)
{
	/* still someone waiting for the person? then the queue waits too */
	struct id_ctx holder = {.found = 0};
	struct store_val ha[] = {SV_TEXT(contact_id), SV_TEXT(number_id)};
	int rc = store_tx_query(tx, "jrun.reply_holder", ha, 2, id_cb, &holder);
	if (rc < 0 || holder.found)
		return rc < 0 ? rc : 0;
	struct id_ctx next = {.found = 0};
	rc = store_tx_query(tx, "jrun.next_queued", ha, 2, id_cb, &next);
	if (rc < 0 || !next.found)
		return rc < 0 ? rc : 0;
	struct run r;
	rc = run_load_tx(tx, next.id, &r);
	if (rc == 0 && r.found) {
		const struct journey_def *d = NULL;
		rc = def_load(e, tx, r.journey_id, &d);
		if (rc == 0) {
			/* commit_run() inside advance starts the next one when this one
			 * does not wait for a reply */
			rc = advance(e, tx, &r, d->start, NULL, NULL, now, 1);
			journey_def_put(e, d);
		}
	}
	run_release(&r);
	return rc;
}

/* ---- cancelling ---- */

struct cancel_ctx {
	struct journey_engine *e;
	const char *org_id, *run_id, *reason;
	int result;
};

int journey_cancel_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
		      const char *run_id, const char *reason)
{
	struct run r;
	int rc = run_load_tx(tx, run_id, &r);
	int found = r.found && strcmp(r.org_id, org_id) == 0;
	int is_live = found && live(&r);
	run_release(&r);
	if (rc)
		return rc;
	if (!found)
		return CW_ENOTFOUND;
	if (!is_live)
		return CW_ECONFLICT;
	return cancel_run(e, tx, run_id, reason ? reason : "cancelled", sched_now(e->sched));
}

static int cancel_fn(struct store_tx *tx, void *ud)
{
	struct cancel_ctx *c = ud;
	c->result = journey_cancel_tx(c->e, tx, c->org_id, c->run_id, c->reason);
	return c->result == CW_ENOTFOUND || c->result == CW_ECONFLICT ? 0 : c->result;
}

int journey_cancel(struct journey_engine *e, const char *org_id, const char *run_id,
		   const char *reason)
{
	struct cancel_ctx c = {e, org_id, run_id, reason, 0};
	int rc = store_tx(e->st, cancel_fn, &c);
	return rc ? rc : c.result;
}

/* ---- timers ---- */

static int on_timer(void *ud, struct store_tx *tx, const char *org_id, const char *ref,
		    int64_t due_at, int64_t now)
{
	struct journey_engine *e = ud;
	(void)org_id;
	struct run r;
	int rc = run_load_tx(tx, ref, &r);
	if (rc || !r.found || strcmp(r.state, "waiting") != 0 || r.due_at != due_at) {
		run_release(&r);
		return rc; /* a stale timer: the run moved on */
	}
	const struct journey_def *d = NULL;
	rc = def_load(e, tx, r.journey_id, &d);
	if (rc) {
		run_release(&r);
		return rc;
	}
	int idx = journey_def_step(d, r.step);
	int next = JOURNEY_END, was_reply = 0;
	if (idx < 0) {
		next = JOURNEY_END;
	} else if (strcmp(r.wait_kind, "reply") == 0) {
		was_reply = 1;
		const struct journey_step *s = &d->steps[idx];
		next = JOURNEY_END;
		for (int i = 0; i < s->nbranches; i++)
			if (s->branches[i].kind == JM_TIMEOUT)
				next = s->branches[i].next;
		struct exec x = {.e = e, .tx = tx, .r = &r, .d = d, .now = now};
		rc = log_event(&x, s->id, "timeout", NULL);
	} else {
		next = d->steps[idx].next;
	}
	if (rc == 0)
		rc = advance(e, tx, &r, next, NULL, NULL, now, was_reply);
	journey_def_put(e, d);
	run_release(&r);
	return rc;
}

/* ---- webhook calls ---- */

struct call_row {
	char state[16], wait_kind[16], org_id[ID_SIZE];
	char *pending;
	int found;
};

static int call_row_cb(void *ud, const struct store_row *row)
{
	struct call_row *c = ud;
	COPY(c->state, 0);
	COPY(c->wait_kind, 1);
	COPY(c->org_id, 2);
	const char *p = store_row_text(row, 3);
	c->pending = p ? xstrdup(p) : NULL;
	c->found = 1;
	return 1;
}

struct resp_buf {
	struct buf b;
};

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	struct resp_buf *r = ud;
	if (buf_append(&r->b, p, size * n) != 0)
		return 0;
	return size * n;
}

struct call_done {
	struct journey_engine *e;
	const char *run_id;
	const char *step;
	int64_t seq;
	int status;
	json_t *body;
	int64_t now;
};

static int call_done_tx(struct store_tx *tx, void *ud)
{
	struct call_done *c = ud;
	struct run r;
	int rc = run_load_tx(tx, c->run_id, &r);
	if (rc || !r.found || strcmp(r.state, "waiting") != 0 ||
	    strcmp(r.wait_kind, "webhook") != 0 || r.seq != c->seq) {
		run_release(&r);
		return rc; /* cancelled or moved on meanwhile */
	}
	const struct journey_def *d = NULL;
	rc = def_load(c->e, tx, r.journey_id, &d);
	if (rc) {
		run_release(&r);
		return rc;
	}
	int idx = journey_def_step(d, c->step);
	json_t *result =
	    json_pack("{s:i, s:b, s:O}", "status", c->status, "ok",
		      c->status >= 200 && c->status < 300, "body", c->body ? c->body : json_null());
	json_object_set(r.vars, "_webhook", result);
	const char *save = idx >= 0 ? json_str(d->steps[idx].j, "save") : NULL;
	if (save)
		json_object_set(r.vars, save, result);
	json_decref(result);
	json_decref(r.pending);
	r.pending = NULL;
	int next = JOURNEY_END;
	struct exec x = {.e = c->e, .tx = tx, .r = &r, .d = d, .now = c->now};
	if (idx >= 0) {
		char st[16];
		snprintf(st, sizeof st, "%d", c->status);
		log_event(&x, c->step, c->status >= 200 && c->status < 300 ? "branch" : "error",
			  st);
		next = pick_if(&x, &d->steps[idx], c->status, 1);
	}
	exec_release(&x);
	rc = advance(c->e, tx, &r, next, NULL, NULL, c->now, 0);
	journey_def_put(c->e, d);
	run_release(&r);
	return rc;
}

static int on_call(void *ud, const char *org_id, const char *ref, int64_t due_at, int64_t now)
{
	struct journey_engine *e = ud;
	(void)due_at;
	struct call_row cr = {.found = 0};
	struct store_val a[] = {SV_TEXT(ref)};
	int rc = store_query(e->st, "jrun.pending", a, 1, call_row_cb, &cr);
	if (rc < 0)
		return rc;
	json_t *p = cr.pending ? json_loads(cr.pending, 0, NULL) : NULL;
	free(cr.pending);
	if (!cr.found || !p || strcmp(cr.state, "waiting") != 0 ||
	    strcmp(cr.wait_kind, "webhook") != 0) {
		json_decref(p);
		return 0;
	}
	char *secret = NULL;
	struct store_val k[] = {SV_TEXT(org_id), SV_TEXT(JOURNEY_SECRET_KEY)};
	store_query(e->st, "kv.get", k, 2, text_cb, &secret);
	const char *body = json_str_or(p, "body", "{}");
	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)(time_now_ms() / 1000));
	/* the signature covers "<timestamp>.<body>", so a captured call cannot be
	 * replayed later with a fresh timestamp */
	struct buf signed_text;
	buf_init(&signed_text, JOURNEY_WEBHOOK_BODY_MAX * 2);
	buf_printf(&signed_text, "%s.%s", ts, body);
	char hex[65] = "";
	if (secret)
		sec_hmac_sha256_hex(secret, strlen(secret), signed_text.data, signed_text.len, hex);
	buf_release(&signed_text);
	free(secret);

	int status = 0;
	struct resp_buf resp;
	buf_init(&resp.b, JOURNEY_WEBHOOK_BODY_MAX);
	CURL *c = curl_easy_init();
	if (c) {
		char h1[120], h2[140], h3[200];
		snprintf(h1, sizeof h1, "X-Carewire-Signature: sha256=%s", hex);
		snprintf(h2, sizeof h2, "X-Carewire-Timestamp: %s", ts);
		snprintf(h3, sizeof h3, "Idempotency-Key: %s", json_str_or(p, "idem", ""));
		struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
		hs = curl_slist_append(hs, h1);
		hs = curl_slist_append(hs, h2);
		hs = curl_slist_append(hs, h3);
		long timeout = (long)json_integer_value(json_object_get(p, "timeout_ms"));
		curl_easy_setopt(c, CURLOPT_URL, json_str_or(p, "url", ""));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 10000L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		if (curl_easy_perform(c) == CURLE_OK) {
			long code = 0;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			status = (int)code;
		}
		curl_slist_free_all(hs);
		curl_easy_cleanup(c);
	}
	json_t *rbody = resp.b.len ? json_loadb(resp.b.data, resp.b.len, 0, NULL) : NULL;
	if (!rbody && resp.b.len)
		rbody = json_stringn(resp.b.data, resp.b.len < 1024 ? resp.b.len : 1024);
	buf_release(&resp.b);
	struct call_done d = {.e = e,
			      .run_id = ref,
			      .step = json_str_or(p, "step", ""),
			      .seq = json_integer_value(json_object_get(p, "seq")),
			      .status = status,
			      .body = rbody,
			      .now = now};
	rc = store_tx(e->st, call_done_tx, &d);
	json_decref(rbody);
	json_decref(p);
	return rc;
}

/* ---- replies ---- */

static void reply_of(const struct webhook_message *m, struct journey_reply *r)
{
	memset(r, 0, sizeof *r);
	if (m->type == WH_MSG_INTERACTIVE && m->interactive.type == WH_IA_BUTTON_REPLY) {
		r->button = m->interactive.reply_id;
		r->text = m->interactive.reply_title;
	} else if (m->type == WH_MSG_INTERACTIVE && m->interactive.type == WH_IA_LIST_REPLY) {
		r->list = m->interactive.reply_id;
		r->text = m->interactive.reply_title;
	} else if (m->type == WH_MSG_BUTTON) {
		r->button = m->button.payload;
		r->text = m->button.text;
	} else if (m->type == WH_MSG_TEXT) {
		r->text = m->text;
	} else if (m->type == WH_MSG_IMAGE || m->type == WH_MSG_DOCUMENT ||
		   m->type == WH_MSG_VIDEO) {
		r->text = m->media.caption;
	}
}

/* Finds the branch a reply takes at the run's current step: the step's
 * own branches (while it waits for a reply), then the journey's anytime
 * branches. Returns the branch or NULL; *els gets the step's else branch. */
static const struct journey_branch *match_reply(const struct journey_def *d, const struct run *r,
						const struct journey_reply *rep, const char *folded,
						const struct journey_branch **els)
{
	*els = NULL;
	int idx = journey_def_step(d, r->step);
	if (idx >= 0 && strcmp(r->wait_kind, "reply") == 0) {
		const struct journey_step *s = &d->steps[idx];
		for (int i = 0; i < s->nbranches; i++) {
			const struct journey_branch *b = &s->branches[i];
			if (b->kind == JM_ELSE)
				*els = b;
			else if (b->kind != JM_TIMEOUT && journey_branch_matches(b, rep, folded))
				return b;
		}
	}
	for (int i = 0; i < d->nanytime; i++)
		if (journey_branch_matches(&d->anytime[i], rep, folded))
			return &d->anytime[i];
	return NULL;
}

/* Tries to hand the reply to run_id. Returns INBOUND_HANDLED, INBOUND_CONTINUE
 * or a cw_err. use_else: take the step's else branch when nothing matches. */
static int route_to(struct journey_engine *e, struct store_tx *tx, const char *run_id,
		    const struct inbound *in, const struct journey_reply *rep, const char *folded,
		    int use_else, int64_t now, const char *about_step)
{
	struct run r;
	int rc = run_load_tx(tx, run_id, &r);
	if (rc || !r.found || strcmp(r.state, "waiting") != 0 ||
	    strcmp(r.contact_id, in->contact_id) != 0) {
		run_release(&r);
		return rc ? rc : INBOUND_CONTINUE;
	}
	const struct journey_def *d = NULL;
	rc = def_load(e, tx, r.journey_id, &d);
	if (rc) {
		run_release(&r);
		return rc;
	}
	const struct journey_branch *els = NULL;
	const struct journey_branch *b = match_reply(d, &r, rep, folded, &els);
	if (!b && use_else)
		b = els;
	if (!b) {
		journey_def_put(e, d);
		run_release(&r);
		return INBOUND_CONTINUE;
	}
	int was_reply = strcmp(r.wait_kind, "reply") == 0;
	struct exec x = {.e = e, .tx = tx, .r = &r, .d = d, .in = in, .reply = rep, .now = now};
	/* a reply is about the message it answers: the one it was on, else the
	 * run's last one */
	const char *about = about_step ? about_step : r.last_send[0] ? r.last_send : r.step;
	rc = log_event(&x, r.step, "branch", b->label);
	if (rc == 0)
		rc = log_event(&x, about, "reply", NULL);
	if (rc == 0 && (rep->button || rep->list))
		rc = log_event(&x, about, "tap", rep->button ? rep->button : rep->list);
	if (rc == 0 && b->negative) {
		r.negative = 1;
		rc = log_event(&x, about, "negative", b->label);
	}
	/* save the answer */
	int idx = journey_def_step(d, r.step);
	const char *save = idx >= 0 && was_reply ? json_str(d->steps[idx].j, "save") : NULL;
	if (rc == 0 && save) {
		const char *val = rep->button ? rep->button : rep->list ? rep->list : rep->text;
		/* a rating button "rate.5" or row "5": keep the number too */
		const char *digits = val ? val + strcspn(val, "0123456789") : NULL;
		char *end = NULL;
		double num = digits && *digits ? strtod(digits, &end) : 0;
		int has_num = digits && *digits && end && *end == '\0';
		json_object_set_new(r.vars, save, json_string(val ? val : ""));
		struct store_val a[] = {SV_TEXT(r.org_id),
					SV_TEXT(r.key),
					SV_TEXT(r.id),
					SV_TEXT(r.contact_id),
					SV_TEXT(r.campaign_id[0] ? r.campaign_id : NULL),
					SV_TEXT(r.step),
					SV_TEXT(save),
					SV_TEXT(val),
					has_num ? SV_REAL(num) : SV_NULL,
					SV_INT(time_now_ms())};
		rc = store_tx_exec(tx, "jresp.insert", a, 10, NULL);
	}
	exec_release(&x);
	if (rc == 0)
		rc = advance(e, tx, &r, b->next, in, rep, now, was_reply);
	journey_def_put(e, d);
	run_release(&r);
	if (rc == 0)
		atomic_fetch_add(&e->routed, 1);
	return rc ? rc : INBOUND_HANDLED;
}

struct trig_row {
	char match[256];
	char key[JOURNEY_KEY_MAX + 1];
};

struct trig_list {
	struct trig_row v[64];
	int n;
};

static int trig_cb(void *ud, const struct store_row *row)
{
	struct trig_list *l = ud;
	if (l->n >= 64)
		return 1;
	COPY(l->v[l->n].match, 0);
	COPY(l->v[l->n].key, 1);
	l->n++;
	return 0;
}

static int trigger_start(struct journey_engine *e, struct store_tx *tx, const struct inbound *in,
			 const char *key, const char *trigger, int *started)
{
	struct journey_start s = {.org_id = in->org_id,
				  .key = key,
				  .contact_id = in->contact_id,
				  .number_id = in->number_id,
				  .trigger = trigger,
				  .in = in};
	struct journey_started out;
	int rc = journey_start_tx(e, tx, &s, &out);
	if (rc == CW_ENOTFOUND || rc == CW_ECONFLICT)
		return 0;
	if (rc == 0 && out.run_id[0] && strcmp(out.state, "skipped") != 0)
		*started = 1;
	return rc;
}

int journey_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in)
{
	struct journey_engine *e = ud;
	const struct webhook_message *m = &in->ev->msg;
	struct journey_reply rep;
	reply_of(m, &rep);
	int64_t now = sched_now(e->sched);
	char *folded = rep.text ? journey_fold_words(rep.text) : NULL;
	int rc = INBOUND_CONTINUE;

	/* 1. the run whose message this answers (a tap carries it) */
	char by_context[ID_SIZE] = "";
	if (m->context.id) {
		struct id_ctx c = {.found = 0};
		struct store_val a[] = {SV_TEXT(m->context.id)};
		rc = store_tx_query(tx, "jrun.by_wamid", a, 1, id_cb, &c);
		if (rc < 0)
			goto done;
		rc = INBOUND_CONTINUE;
		if (c.found) {
			snprintf(by_context, sizeof by_context, "%s", c.id);
			rc = route_to(e, tx, c.id, in, &rep, folded, 0, now,
				      c.step[0] ? c.step : NULL);
			if (rc != INBOUND_CONTINUE)
				goto done;
		}
	}
	/* 2. the run waiting for this person's reply on this number */
	struct id_ctx holder = {.found = 0};
	struct store_val ha[] = {SV_TEXT(in->contact_id), SV_TEXT(in->number_id)};
	rc = store_tx_query(tx, "jrun.reply_holder", ha, 2, id_cb, &holder);
	if (rc < 0)
		goto done;
	rc = INBOUND_CONTINUE;
	if (holder.found) {
		/* the run found by context was offered the reply already, without
		 * its else branch: now with it */
		rc = route_to(e, tx, holder.id, in, &rep, folded, 1, now, NULL);
		if (rc != INBOUND_CONTINUE)
			goto done;
	}
	if (holder.found)
		goto done; /* waiting, but this was not an answer: the inbox sees it */

	/* 3. a keyword */
	if (folded) {
		struct trig_list l = {.n = 0};
		struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT("keyword")};
		rc = store_tx_query(tx, "journey.triggers_kind", a, 2, trig_cb, &l);
		if (rc < 0)
			goto done;
		rc = INBOUND_CONTINUE;
		int started = 0;
		for (int i = 0; i < l.n && !started; i++) {
			char *match = l.v[i].match;
			if (journey_words_match(&match, 1, folded)) {
				rc = trigger_start(e, tx, in, l.v[i].key, "keyword", &started);
				if (rc < 0)
					goto done;
			}
		}
		if (started) {
			rc = INBOUND_HANDLED;
			goto done;
		}
		rc = INBOUND_CONTINUE;
	}
	/* 4. the first message of a new contact */
	if (in->new_contact) {
		struct trig_list l = {.n = 0};
		struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT("new_contact")};
		rc = store_tx_query(tx, "journey.triggers_kind", a, 2, trig_cb, &l);
		if (rc < 0)
			goto done;
		int started = 0;
		for (int i = 0; i < l.n; i++) {
			rc = trigger_start(e, tx, in, l.v[i].key, "new_contact", &started);
			if (rc < 0)
				goto done;
		}
		rc = started ? INBOUND_HANDLED : INBOUND_CONTINUE;
	}
done:
	free(folded);
	return rc;
}

/* ---- events ---- */

struct live_row {
	char id[ID_SIZE];
	char journey_id[ID_SIZE];
	char subject[256];
};

struct live_list {
	struct live_row v[128];
	int n;
};

static int live_cb(void *ud, const struct store_row *row)
{
	struct live_list *l = ud;
	if (l->n >= 128)
		return 1;
	COPY(l->v[l->n].id, 0);
	COPY(l->v[l->n].journey_id, 1);
	COPY(l->v[l->n].subject, 2);
	l->n++;
	return 0;
}

int journey_on_event_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
			const char *contact_id, const char *type, const json_t *event, json_t *runs)
{
	int64_t now = sched_now(e->sched);
	/* runs this event ends (cancel_on, same subject) */
	struct live_list l = {.n = 0};
	struct store_val la[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	int rc = store_tx_query(tx, "jrun.live_for_contact", la, 2, live_cb, &l);
	if (rc < 0)
		return rc;
	for (int i = 0; i < l.n; i++) {
		const struct journey_def *d = NULL;
		rc = def_load(e, tx, l.v[i].journey_id, &d);
		if (rc)
			return rc;
		int hit = 0;
		for (size_t k = 0; d->cancel_on && k < json_array_size(d->cancel_on); k++)
			hit |=
			    strcmp(json_string_value(json_array_get(d->cancel_on, k)), type) == 0;
		if (hit && d->subject) {
			/* the subject the event is about: the same path, read in the event */
			json_t *ctx = json_pack("{s:O, s:{s:s}}", "event", event, "contact", "id",
						contact_id);
			const json_t *v = journey_ctx_get(ctx, d->subject);
			char subj[256] = "";
			if (json_is_string(v))
				snprintf(subj, sizeof subj, "%s", json_string_value(v));
			else if (json_is_integer(v))
				snprintf(subj, sizeof subj, "%lld",
					 (long long)json_integer_value(v));
			json_decref(ctx);
			if (subj[0] && strcmp(subj, l.v[i].subject) == 0) {
				char why[96];
				snprintf(why, sizeof why, "event %s", type);
				rc = cancel_run(e, tx, l.v[i].id, why, now);
				if (rc == 0)
					json_array_append_new(
					    runs,
					    json_pack("{s:s, s:s, s:s}", "journey", d->key,
						      "run_id", l.v[i].id, "state", "cancelled"));
			}
		}
		journey_def_put(e, d);
		if (rc)
			return rc;
	}
	/* journeys this event starts */
	struct trig_list t = {.n = 0};
	struct store_val ta[] = {SV_TEXT(org_id), SV_TEXT("event"), SV_TEXT(type)};
	rc = store_tx_query(tx, "journey.triggers_by", ta, 3, trig_cb, &t);
	if (rc < 0)
		return rc;
	char trig[96];
	snprintf(trig, sizeof trig, "event:%s", type);
	for (int i = 0; i < t.n; i++) {
		/* the trigger's condition, against the contact and the event */
		struct head h;
		rc = head_get_tx(tx, org_id, t.v[i].key, &h);
		if (rc)
			return rc;
		if (!h.found)
			continue;
		const struct journey_def *d = NULL;
		rc = def_load(e, tx, h.current_id, &d);
		if (rc)
			return rc;
		int ok = 0;
		for (int k = 0; k < d->ntriggers && !ok; k++) {
			const struct journey_trigger *tr = &d->triggers[k];
			if (tr->kind != JT_EVENT || strcmp(tr->event, type) != 0)
				continue;
			if (!tr->cond) {
				ok = 1;
				continue;
			}
			struct run tmp;
			memset(&tmp, 0, sizeof tmp);
			snprintf(tmp.org_id, sizeof tmp.org_id, "%s", org_id);
			snprintf(tmp.contact_id, sizeof tmp.contact_id, "%s", contact_id);
			snprintf(tmp.key, sizeof tmp.key, "%s", d->key);
			tmp.vars = json_object();
			tmp.event = json_deep_copy(event);
			struct exec x = {.e = e, .tx = tx, .r = &tmp, .d = d, .now = now};
			const struct orgconf *conf = conf_of(&x);
			ok = journey_cond_eval(tr->cond, ctx_of(&x), conf ? &conf->policy : NULL);
			exec_release(&x);
			run_release(&tmp);
		}
		journey_def_put(e, d);
		if (!ok)
			continue;
		struct journey_start s = {.org_id = org_id,
					  .key = t.v[i].key,
					  .contact_id = contact_id,
					  .event = event,
					  .trigger = trig};
		struct journey_started out;
		rc = journey_start_tx(e, tx, &s, &out);
		if (rc && rc != CW_ENOTFOUND && rc != CW_ECONFLICT)
			return rc;
		json_array_append_new(runs,
				      json_pack("{s:s, s:s*, s:s, s:s*}", "journey", t.v[i].key,
						"run_id", out.run_id[0] ? out.run_id : NULL,
						"state", rc ? "not_started" : out.state, "reason",
						out.reason[0] ? out.reason : NULL));
	}
	return 0;
}

int journey_erase_contact_tx(struct store_tx *tx, const char *org_id, const char *contact_id,
			     int64_t now)
{
	struct store_val la[] = {SV_TEXT(org_id), SV_TEXT(contact_id)};
	int rc, n;
	do {
		struct live_list l = {.n = 0};
		rc = store_tx_query(tx, "jrun.live_for_contact", la, 2, live_cb, &l);
		if (rc < 0)
			return rc;
		rc = 0;
		for (int i = 0; i < l.n && rc == 0; i++) {
			/* cancel_run() without its engine: with was_reply 0 the
			 * commit starts no queued run, and a cancelled run has no
			 * timer to set, so nothing reads x.e */
			struct run r;
			rc = run_load_tx(tx, l.v[i].id, &r);
			if (rc == 0 && r.found && live(&r)) {
				struct exec x = {.e = NULL, .tx = tx, .r = &r, .now = now};
				finish(&x, "cancelled", "contact erased");
				rc = commit_run(&x, 0);
			}
			run_release(&r);
		}
		n = l.n;
	} while (rc == 0 && n == 128); /* live_for_contact reads 128 at a time */
	if (rc)
		return rc;
	rc = store_tx_exec(tx, "jrun.erase_contact", la, 2, NULL);
	return rc ? rc : store_tx_exec(tx, "jresp.erase_contact", la, 2, NULL);
}

int journey_campaign_runs_tx(struct journey_engine *e, struct store_tx *tx, const char *org_id,
			     const char *campaign_id, const char *action)
{
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(campaign_id)};
	if (strcmp(action, "pause") == 0)
		return store_tx_exec(tx, "timer.hold_campaign", a, 2, NULL);
	if (strcmp(action, "resume") == 0)
		return store_tx_exec(tx, "timer.release_campaign", a, 2, NULL);
	if (strcmp(action, "cancel") != 0)
		return CW_EINVAL;
	int64_t now = sched_now(e->sched);
	for (;;) {
		json_t *ids = json_array();
		int rc = store_tx_query(tx, "jrun.live_for_campaign", a, 2, ids_cb, ids);
		size_t n = json_array_size(ids);
		for (size_t i = 0; rc >= 0 && i < n; i++)
			rc = cancel_run(e, tx, json_string_value(json_array_get(ids, i)),
					"campaign cancelled", now);
		json_decref(ids);
		if (rc < 0)
			return rc;
		if (n < 256)
			return 0;
	}
}

/* ---- run views ---- */

static json_t *run_json(const struct run *r)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s*, s:s*, s:s, s:s*, s:s*, s:I, s:o,"
	    " s:O, s:s, s:b, s:s*, s:o, s:o, s:o, s:s*}",
	    "id", r->id, "journey", r->key, "version", r->version, "contact_id", r->contact_id,
	    "number_id", r->number_id[0] ? r->number_id : NULL, "campaign_id",
	    r->campaign_id[0] ? r->campaign_id : NULL, "state", r->state, "waiting_for",
	    r->wait_kind[0] ? r->wait_kind : NULL, "step", r->step[0] ? r->step : NULL, "seq",
	    (json_int_t)r->seq, "due_at", iso_or_null(r->due_at), "vars", r->vars, "trigger",
	    r->trigger, "negative", r->negative, "end_reason",
	    r->end_reason[0] ? r->end_reason : NULL, "created_at", iso_or_null(r->created_at),
	    "updated_at", iso_or_null(r->updated_at), "ended_at", iso_or_null(r->ended_at),
	    "subject", r->subject[0] ? r->subject : NULL);
	if (r->event)
		json_object_set(o, "event", r->event);
	return o;
}

int journey_run_json(struct journey_engine *e, const char *org_id, const char *run_id, json_t **out)
{
	struct run r;
	memset(&r, 0, sizeof r);
	struct store_val a[] = {SV_TEXT(run_id)};
	int rc = store_query(e->st, "jrun.get", a, 1, run_cb, &r);
	if (rc < 0 || !r.found || strcmp(r.org_id, org_id) != 0) {
		run_release(&r);
		return rc < 0 ? rc : CW_ENOTFOUND;
	}
	*out = run_json(&r);
	run_release(&r);
	return 0;
}

static int runs_cb(void *ud, const struct store_row *row)
{
	json_t *arr = ud;
	struct run r;
	memset(&r, 0, sizeof r);
	run_cb(&r, row);
	json_array_append_new(arr, run_json(&r));
	run_release(&r);
	return 0;
}

int journey_runs_json(struct journey_engine *e, const char *org_id, const char *key,
		      const char *contact_id, const char *state, int limit, json_t **out)
{
	json_t *items = json_array();
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(key), SV_TEXT(contact_id), SV_TEXT(state),
				SV_INT(limit)};
	int rc = store_query(e->st, "jrun.list", a, 5, runs_cb, items);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

/* ---- analytics ---- */

static json_t *step_obj(json_t *steps, const char *step)
{
	json_t *o = json_object_get(steps, step);
	if (!o) {
		o = json_pack(
		    "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{}, s:{}, s:{}, s:{}}", "step",
		    step, "entered", 0, "sent", 0, "delivered", 0, "read", 0, "failed", 0,
		    "replied", 0, "opt_outs", 0, "negative", 0, "taps", "branches", "failures",
		    "decisions");
		json_object_set_new(steps, step, o);
	}
	return o;
}

static void add_int(json_t *o, const char *k, int64_t v)
{
	json_int_t cur = json_integer_value(json_object_get(o, k));
	json_object_set_new(o, k, json_integer(cur + v));
}

static int ev_cb(void *ud, const struct store_row *row)
{
	json_t *steps = ud;
	const char *step = store_row_text(row, 0), *kind = store_row_text(row, 1);
	const char *detail = store_row_text(row, 2);
	int64_t n = store_row_int(row, 3), runs = store_row_int(row, 4);
	json_t *o = step_obj(steps, step ? step : "?");
	if (strcmp(kind, "entered") == 0)
		add_int(o, "entered", n);
	else if (strcmp(kind, "reply") == 0)
		add_int(o, "replied", runs);
	else if (strcmp(kind, "negative") == 0)
		add_int(o, "negative", runs);
	else if (strcmp(kind, "tap") == 0)
		add_int(json_object_get(o, "taps"), detail ? detail : "?", n);
	else if (strcmp(kind, "branch") == 0)
		add_int(json_object_get(o, "branches"), detail ? detail : "?", n);
	else if (strcmp(kind, "timeout") == 0)
		add_int(json_object_get(o, "branches"), "timeout", n);
	return 0;
}

static int send_cb(void *ud, const struct store_row *row)
{
	json_t *o = step_obj(ud, store_row_text(row, 0));
	add_int(o, "sent", store_row_int(row, 1));
	add_int(o, "delivered", store_row_int(row, 2));
	add_int(o, "read", store_row_int(row, 3));
	add_int(o, "failed", store_row_int(row, 4));
	return 0;
}

static int decision_cb(void *ud, const struct store_row *row)
{
	json_t *o = step_obj(ud, store_row_text(row, 0));
	char k[80];
	snprintf(k, sizeof k, "%s", store_row_text(row, 2));
	if (strcmp(store_row_text(row, 1), "allow") == 0)
		snprintf(k, sizeof k, "allowed");
	add_int(json_object_get(o, "decisions"), k, store_row_int(row, 3));
	return 0;
}

static int failure_cb(void *ud, const struct store_row *row)
{
	json_t *o = step_obj(ud, store_row_text(row, 0));
	char k[32];
	if (store_row_is_null(row, 1))
		snprintf(k, sizeof k, "unknown");
	else
		snprintf(k, sizeof k, "%lld", (long long)store_row_int(row, 1));
	add_int(json_object_get(o, "failures"), k, store_row_int(row, 2));
	return 0;
}

static int optout_cb(void *ud, const struct store_row *row)
{
	add_int(step_obj(ud, store_row_text(row, 0)), "opt_outs", store_row_int(row, 1));
	return 0;
}

static double ratio(json_int_t a, json_int_t b)
{
	return b > 0 ? (double)a / (double)b : 0.0;
}

int journey_stats_json(struct store *st, const char *org_id, const char *key,
		       const char *campaign_id, json_t **out)
{
	json_t *steps = json_object();
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(key), SV_TEXT(campaign_id)};
	int rc = store_query(st, "jstat.events", a, 3, ev_cb, steps);
	if (rc >= 0)
		rc = store_query(st, "jstat.sends", a, 3, send_cb, steps);
	if (rc >= 0)
		rc = store_query(st, "jstat.decisions", a, 3, decision_cb, steps);
	if (rc >= 0)
		rc = store_query(st, "jstat.failures", a, 3, failure_cb, steps);
	if (rc >= 0)
		rc = store_query(st, "jstat.optouts", a, 3, optout_cb, steps);
	json_t *runs = json_object();
	if (rc >= 0)
		rc = store_query(st, "jstat.runs", a, 3, count_obj_cb, runs);
	if (rc < 0) {
		json_decref(steps);
		json_decref(runs);
		return rc;
	}
	/* in the order of the current definition when it is known */
	json_t *arr = json_array();
	json_t *totals = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "entered", 0, "sent",
				   0, "delivered", 0, "read", 0, "failed", 0, "replied", 0,
				   "opt_outs", 0, "negative", 0);
	const char *k;
	json_t *o;
	json_object_foreach(steps, k, o)
	{
		json_int_t sent = json_integer_value(json_object_get(o, "sent"));
		json_int_t del = json_integer_value(json_object_get(o, "delivered"));
		json_int_t rd = json_integer_value(json_object_get(o, "read"));
		json_int_t rep = json_integer_value(json_object_get(o, "replied"));
		json_int_t oo = json_integer_value(json_object_get(o, "opt_outs"));
		json_object_set_new(o, "open_rate", json_real(ratio(rd, del)));
		json_object_set_new(o, "engagement_rate", json_real(ratio(rep, del ? del : sent)));
		json_object_set_new(o, "opt_out_rate", json_real(ratio(oo, sent)));
		static const char *const sum[] = {"entered", "sent",	"delivered", "read",
						  "failed",  "replied", "opt_outs",  "negative"};
		for (int i = 0; i < 8; i++)
			add_int(totals, sum[i], json_integer_value(json_object_get(o, sum[i])));
		json_array_append(arr, o);
	}
	json_int_t ts = json_integer_value(json_object_get(totals, "sent"));
	json_int_t td = json_integer_value(json_object_get(totals, "delivered"));
	json_object_set_new(
	    totals, "open_rate",
	    json_real(ratio(json_integer_value(json_object_get(totals, "read")), td)));
	json_object_set_new(
	    totals, "engagement_rate",
	    json_real(ratio(json_integer_value(json_object_get(totals, "replied")), td ? td : ts)));
	json_object_set_new(
	    totals, "opt_out_rate",
	    json_real(ratio(json_integer_value(json_object_get(totals, "opt_outs")), ts)));
	json_decref(steps);
	*out = json_pack("{s:s, s:o, s:o, s:o}", "journey", key, "steps", arr, "totals", totals,
			 "runs", runs);
	if (campaign_id)
		json_object_set_new(*out, "campaign_id", json_string(campaign_id));
	return 0;
}

struct resp_ctx {
	json_t *out;
};

static int resp_agg_cb(void *ud, const struct store_row *row)
{
	json_t *out = ud;
	const char *name = store_row_text(row, 0);
	json_t *o = json_object_get(out, name);
	if (!o) {
		o = json_pack("{s:i, s:n, s:{}, s:[]}", "count", 0, "average", "distribution",
			      "recent");
		json_object_set_new(out, name, o);
	}
	add_int(o, "count", store_row_int(row, 2));
	const char *v = store_row_text(row, 1);
	if (store_row_int(row, 3))
		add_int(json_object_get(o, "distribution"), v ? v : "", store_row_int(row, 2));
	return 0;
}

static int resp_avg_cb(void *ud, const struct store_row *row)
{
	json_t *o = json_object_get(ud, store_row_text(row, 0));
	if (o && !store_row_is_null(row, 1))
		json_object_set_new(o, "average", json_real(store_row_real(row, 1)));
	return 0;
}

static int resp_recent_cb(void *ud, const struct store_row *row)
{
	json_t *o = json_object_get(ud, store_row_text(row, 0));
	if (o && json_array_size(json_object_get(o, "recent")) < 20)
		json_array_append_new(json_object_get(o, "recent"),
				      json_pack("{s:s*, s:o}", "value", store_row_text(row, 1),
						"at", iso_or_null(store_row_int(row, 2))));
	return 0;
}

int journey_responses_json(struct store *st, const char *org_id, const char *key, json_t **out)
{
	json_t *o = json_object();
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(key)};
	int rc = store_query(st, "jresp.distribution", a, 2, resp_agg_cb, o);
	if (rc >= 0)
		rc = store_query(st, "jresp.average", a, 2, resp_avg_cb, o);
	if (rc >= 0)
		rc = store_query(st, "jresp.recent", a, 2, resp_recent_cb, o);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}
