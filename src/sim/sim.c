/*
 * sim.c — the simulator's state: users and their transcripts and windows,
 * business phone numbers and their counters, templates, and the status jobs
 * that the delivery thread runs (see sim.h; the HTTP sides are sim_graph.c
 * and sim_ctl.c, the delivery itself sim_hook.c).
 *
 * A message the Cloud API side accepted becomes a chain of jobs: "sent" at
 * once, then "delivered" after the status delay unless the user blocked the
 * business, then "read" with the user's read probability after the user's
 * delay. Each job runs on the delivery thread when due, so a behaviour
 * changed through the control API in between takes effect for what follows.
 */
#include "sim/sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "sim/sim_int.h"
#include "base/banned.h"

/* ---- small helpers ---- */

static const char *const status_names[] = {
    [SIM_ST_ACCEPTED] = "accepted", [SIM_ST_SENT] = "sent",	[SIM_ST_DELIVERED] = "delivered",
    [SIM_ST_READ] = "read",	    [SIM_ST_FAILED] = "failed",
};

const char *sim_status_name(enum sim_status st)
{
	return status_names[st];
}

static int status_rank(const char *name)
{
	for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
		if (strcmp(status_names[i], name) == 0)
			return (int)i;
	return -1;
}

int sim_roll(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	return sec_random_u32(1000000) < (uint32_t)(p * 1000000.0);
}

int sim_is_digits(const char *s, size_t min, size_t max)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int sim_sleep(struct sim *s, int ms)
{
	if (ms <= 0)
		return 0;
	int64_t until = time_mono_ms() + ms;
	struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
	pthread_mutex_lock(&s->mu);
	while (!s->stopping && time_mono_ms() < until)
		if (pthread_cond_timedwait(&s->wake, &s->mu, &ts) == ETIMEDOUT)
			break;
	int stopped = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return stopped;
}

json_t *sim_json_time(int64_t ms)
{
	char iso[TIME_ISO_MAX];
	return json_string(time_format_iso(ms, iso));
}

/* The wall clock, never the pinned one: rates are about real seconds. */
static int64_t real_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/*
 * wamids look like Meta's: "wamid." + base64 of a small protobuf-like record
 * that carries the user's number, then random hex. Carrying the number lets a
 * read receipt (which names only the message id) find its user.
 */
void sim_wamid_new(const char *wa_id, int inbound, char out[SIM_WAMID_SIZE])
{
	unsigned char raw[64];
	size_t n = 0, len = strlen(wa_id);
	char hex[24];
	size_t nhex = inbound ? 20 : 18;
	if (len > 20)
		len = 20;
	raw[n++] = 0x1c;
	raw[n++] = 0x18;
	raw[n++] = (unsigned char)len;
	memcpy(raw + n, wa_id, len);
	n += len;
	raw[n++] = 0x15;
	raw[n++] = 0x02;
	raw[n++] = 0x00;
	raw[n++] = inbound ? 0x12 : 0x11;
	raw[n++] = 0x18;
	raw[n++] = (unsigned char)nhex;
	sec_random_hex(hex, nhex / 2);
	for (size_t i = 0; i < nhex; i++)
		raw[n++] = (unsigned char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	raw[n++] = 0x00;
	memcpy(out, "wamid.", 6);
	sodium_bin2base64(out + 6, SIM_WAMID_SIZE - 6, raw, n, sodium_base64_VARIANT_ORIGINAL);
}

int sim_wamid_user(const char *wamid, char out[SIM_WA_ID_SIZE])
{
	unsigned char raw[96];
	size_t n = 0;
	if (!wamid || strncmp(wamid, "wamid.", 6) != 0)
		return CW_EINVAL;
	if (sodium_base642bin(raw, sizeof raw, wamid + 6, strlen(wamid + 6), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return CW_EINVAL;
	if (n < 4 || raw[0] != 0x1c || raw[1] != 0x18 || raw[2] < 1 || raw[2] > 20 ||
	    (size_t)raw[2] + 3 > n)
		return CW_EINVAL;
	memcpy(out, raw + 3, raw[2]);
	out[raw[2]] = '\0';
	return sim_is_digits(out, 1, 20) ? 0 : CW_EINVAL;
}

/* ---- users ---- */

static size_t user_hash(const char *wa_id)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = wa_id; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % SIM_USER_BUCKETS);
}

struct sim_user *sim_user_find(struct sim *s, const char *wa_id)
{
	if (!wa_id)
		return NULL;
	for (struct sim_user *u = s->buckets[user_hash(wa_id)]; u; u = u->next)
		if (strcmp(u->wa_id, wa_id) == 0)
			return u;
	return NULL;
}

struct sim_user *sim_user_get(struct sim *s, const char *wa_id, const char *name, int *created)
{
	if (created)
		*created = 0;
	struct sim_user *u = sim_user_find(s, wa_id);
	if (u)
		return u;
	if (!sim_is_digits(wa_id, 5, 20) || s->nusers >= SIM_MAX_USERS)
		return NULL;
	u = xcalloc(1, sizeof *u);
	snprintf(u->wa_id, sizeof u->wa_id, "%s", wa_id);
	if (name && *name) {
		u->profile_name = xstrdup(name);
	} else {
		char def[40];
		snprintf(def, sizeof def, "User %s", wa_id + strlen(wa_id) - 4);
		u->profile_name = xstrdup(def);
	}
	u->read = 1.0;
	u->on_whatsapp = 1;
	u->created_ms = time_now_ms();
	u->transcript = json_array();
	size_t b = user_hash(wa_id);
	u->next = s->buckets[b];
	s->buckets[b] = u;
	s->users[s->nusers++] = u;
	if (created)
		*created = 1;
	return u;
}

static void user_free(struct sim_user *u)
{
	json_decref(u->transcript);
	free(u->profile_name);
	free(u);
}

int sim_window_open(const struct sim_user *u, const char *pnid, int64_t now_ms)
{
	for (int i = 0; i < u->nwin; i++)
		if (strcmp(u->win[i].pnid, pnid) == 0)
			return now_ms - u->win[i].last_in_ms < SIM_WINDOW_MS &&
			       now_ms >= u->win[i].last_in_ms - 60000;
	return 0;
}

void sim_window_touch(struct sim_user *u, const char *pnid, int64_t now_ms)
{
	int slot = -1;
	for (int i = 0; i < u->nwin; i++)
		if (strcmp(u->win[i].pnid, pnid) == 0)
			slot = i;
	if (slot < 0 && u->nwin < SIM_MAX_WINDOWS)
		slot = u->nwin++;
	if (slot < 0) { /* forget the window that closed first */
		slot = 0;
		for (int i = 1; i < u->nwin; i++)
			if (u->win[i].last_in_ms < u->win[slot].last_in_ms)
				slot = i;
	}
	snprintf(u->win[slot].pnid, sizeof u->win[slot].pnid, "%s", pnid);
	u->win[slot].last_in_ms = now_ms;
	snprintf(u->last_pnid, sizeof u->last_pnid, "%s", pnid);
}

json_t *sim_user_json(struct sim *s, const struct sim_user *u)
{
	int64_t now = time_now_ms();
	json_t *wins = json_array();
	for (int i = 0; i < u->nwin; i++) {
		json_t *w =
		    json_pack("{s:s, s:b, s:o, s:o}", "phone_number_id", u->win[i].pnid, "open",
			      sim_window_open(u, u->win[i].pnid, now), "last_user_message_at",
			      sim_json_time(u->win[i].last_in_ms), "expires_at",
			      sim_json_time(u->win[i].last_in_ms + SIM_WINDOW_MS));
		json_array_append_new(wins, w);
	}
	size_t n = json_array_size(u->transcript);
	json_t *last = n ? json_array_get(u->transcript, n - 1) : NULL;
	json_t *o = json_pack(
	    "{s:s, s:s, s:f, s:i, s:b, s:b, s:b, s:o, s:I, s:o}", "wa_id", u->wa_id, "profile_name",
	    u->profile_name, "read", u->read, "reply_delay_ms", u->reply_delay_ms, "blocked",
	    u->blocked, "marketing_stopped", u->marketing_stopped, "on_whatsapp", u->on_whatsapp,
	    "created_at", sim_json_time(u->created_ms), "messages", (json_int_t)n, "windows", wins);
	json_object_set_new(o, "last_phone_number_id",
			    json_string(u->last_pnid[0] ? u->last_pnid : s->pnid));
	if (last)
		json_object_set(o, "last_message_at", json_object_get(last, "at"));
	return o;
}

void sim_transcript_add(struct sim_user *u, json_t *msg)
{
	while (json_array_size(u->transcript) >= SIM_MAX_TRANSCRIPT)
		json_array_remove(u->transcript, 0);
	json_array_append_new(u->transcript, msg);
}

json_t *sim_transcript_find(const struct sim_user *u, const char *wamid)
{
	for (size_t i = json_array_size(u->transcript); i-- > 0;) {
		json_t *m = json_array_get(u->transcript, i);
		const char *id = json_str(m, "id");
		if (id && strcmp(id, wamid) == 0)
			return m;
	}
	return NULL;
}

void sim_transcript_status(json_t *msg, enum sim_status st, int64_t ms)
{
	const char *cur = json_str(msg, "status");
	int rank = cur ? status_rank(cur) : -1;
	/* Reordered webhooks do not move a message back: read stays read. */
	if (st == SIM_ST_FAILED || rank < 0 || (rank != SIM_ST_FAILED && (int)st > rank))
		json_object_set_new(msg, "status", json_string(sim_status_name(st)));
	json_t *hist = json_object_get(msg, "statuses");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(msg, "statuses", hist);
	}
	json_array_append_new(
	    hist, json_pack("{s:s, s:o}", "status", sim_status_name(st), "at", sim_json_time(ms)));
}

/* ---- numbers and stats ---- */

struct sim_number *sim_number_get(struct sim *s, const char *pnid, int create)
{
	for (int i = 0; i < s->nnumbers; i++)
		if (strcmp(s->numbers[i].pnid, pnid) == 0)
			return &s->numbers[i];
	if (!create || !sim_is_digits(pnid, 1, SIM_PNID_SIZE - 1) || s->nnumbers >= SIM_MAX_NUMBERS)
		return NULL;
	struct sim_number *n = &s->numbers[s->nnumbers++];
	memset(n, 0, sizeof *n);
	snprintf(n->pnid, sizeof n->pnid, "%s", pnid);
	if (strcmp(pnid, s->pnid) == 0 && s->display) {
		snprintf(n->display, sizeof n->display, "%s", s->display);
	} else {
		/* A display number derived from the id: 1555 and its last 7 digits. */
		size_t len = strlen(pnid);
		const char *tail = len > 7 ? pnid + len - 7 : pnid;
		snprintf(n->display, sizeof n->display, "1555%07lld", strtoll(tail, NULL, 10));
	}
	return n;
}

void sim_stats_accept(struct sim *s, struct sim_number *n)
{
	int64_t sec = real_now_s();
	int slot = (int)(sec % SIM_STATS_WINDOW_S);
	if (n->per_sec[slot].sec != sec) {
		n->per_sec[slot].sec = sec;
		n->per_sec[slot].count = 0;
	}
	n->per_sec[slot].count++;
	if (n->per_sec[slot].count > n->max_per_second)
		n->max_per_second = n->per_sec[slot].count;
	n->accepted++;
	s->accepted_total++;
}

/* ---- templates ---- */

struct sim_template *sim_template_find(struct sim *s, const char *waba, const char *name,
				       const char *lang)
{
	struct sim_template *any = NULL;
	for (int i = 0; i < s->ntemplates; i++) {
		struct sim_template *t = s->templates[i];
		if (strcmp(t->name, name) != 0 || strcmp(t->lang, lang) != 0)
			continue;
		if (waba && *waba && strcmp(t->waba, waba) != 0)
			continue;
		/* Across WABAs an approved one wins. */
		if (strcmp(t->status, "APPROVED") == 0)
			return t;
		if (!any)
			any = t;
	}
	return any;
}

struct sim_template *sim_template_add(struct sim *s, const char *waba, const char *name,
				      const char *lang, const char *category, const char *status,
				      json_t *components)
{
	struct sim_template *t = sim_template_find(s, waba && *waba ? waba : s->waba, name, lang);
	if (t && strcmp(t->waba, waba && *waba ? waba : s->waba) == 0) {
		json_decref(t->components);
	} else {
		if (s->ntemplates >= SIM_MAX_TEMPLATES) {
			json_decref(components);
			return NULL;
		}
		t = xcalloc(1, sizeof *t);
		t->id = s->next_template_id++;
		t->name = xstrdup(name);
		snprintf(t->waba, sizeof t->waba, "%s", waba && *waba ? waba : s->waba);
		snprintf(t->lang, sizeof t->lang, "%s", lang);
		s->templates[s->ntemplates++] = t;
	}
	snprintf(t->category, sizeof t->category, "%s", category);
	snprintf(t->status, sizeof t->status, "%s", status);
	t->components = components ? components : json_array();
	return t;
}

json_t *sim_template_json(const struct sim_template *t)
{
	char id[24];
	snprintf(id, sizeof id, "%llu", (unsigned long long)t->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s}", "id", id, "name", t->name,
			 "language", t->lang, "status", t->status, "category", t->category,
			 "components", t->components, "waba_id", t->waba);
}

static void template_free(struct sim_template *t)
{
	if (!t)
		return;
	json_decref(t->components);
	free(t->name);
	free(t);
}

void sim_template_remove(struct sim *s, int index)
{
	template_free(s->templates[index]);
	memmove(&s->templates[index], &s->templates[index + 1],
		(size_t)(s->ntemplates - index - 1) * sizeof s->templates[0]);
	s->ntemplates--;
}

/* ---- jobs ---- */

void sim_schedule_status(struct sim *s, const char *wamid, const char *wa_id, const char *pnid,
			 enum sim_status st, int error_code, const char *category, int free_entry,
			 const char *biz_opaque, int64_t delay_ms)
{
	size_t olen = biz_opaque ? strlen(biz_opaque) : 0;
	struct sim_job *j = xcalloc(1, sizeof *j + olen + 1);
	j->kind = SIM_JOB_STATUS;
	j->status = st;
	j->error_code = error_code;
	snprintf(j->wamid, sizeof j->wamid, "%s", wamid);
	snprintf(j->wa_id, sizeof j->wa_id, "%s", wa_id);
	snprintf(j->pnid, sizeof j->pnid, "%s", pnid);
	snprintf(j->category, sizeof j->category, "%s", category ? category : "service");
	j->free_entry = free_entry;
	if (olen)
		memcpy(j->biz_opaque, biz_opaque, olen);
	sim_hook_job(s->hook, delay_ms, j, 1);
}

void sim_schedule_template(struct sim *s, uint64_t id)
{
	struct sim_job *j = xcalloc(1, sizeof *j + 1);
	j->kind = SIM_JOB_TEMPLATE;
	j->template_id = id;
	sim_hook_job(s->hook, s->template_approve_ms, j, 0);
}

/* Meta's title and details for the failures the simulator reports in status
 * webhooks. */
static const struct {
	int code;
	const char *title;
	const char *details;
} status_errors[] = {
    {131026, "Message undeliverable",
     "Message Undeliverable: the recipient is not a WhatsApp user or cannot receive "
     "this message."},
    {131047, "Re-engagement message",
     "Message failed to send because more than 24 hours have passed since the customer "
     "last replied to this number."},
    {131050,
     "Unable to deliver the message. This recipient has chosen to stop receiving "
     "marketing messages on WhatsApp from your business.",
     "The user has stopped marketing messages from this business."},
    {0, NULL, NULL},
};

static json_t *status_error_json(int code)
{
	const char *title = "Message failed to send", *details = title;
	for (int i = 0; status_errors[i].code; i++)
		if (status_errors[i].code == code) {
			title = status_errors[i].title;
			details = status_errors[i].details;
		}
	return json_pack("[{s:i, s:s, s:s, s:{s:s}, s:s}]", "code", code, "title", title, "message",
			 title, "error_data", "details", details, "href",
			 "/documentation/business-messaging/whatsapp/support/error-codes");
}

static int delay_or_default(struct sim *s, int ms)
{
	return ms > 0 ? ms : s->status_delay_ms;
}

static void run_status(struct sim *s, struct sim_job *j, struct sim_batch *b)
{
	int64_t now = time_now_ms();
	char waba[SIM_WABA_SIZE], display[SIM_DISPLAY_SIZE];
	enum sim_status next = SIM_ST_ACCEPTED;
	int next_delay = 0;

	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_find(s, j->wa_id);
	json_t *msg = u ? sim_transcript_find(u, j->wamid) : NULL;
	/* A message pushed out of a full transcript still gets its statuses:
	 * the phone forgets, Meta does not. */
	if (msg)
		sim_transcript_status(msg, j->status, now);
	if (msg && j->status == SIM_ST_FAILED)
		json_object_set_new(msg, "errors", status_error_json(j->error_code));
	if (j->status == SIM_ST_SENT && u && u->on_whatsapp && !u->blocked) {
		next = SIM_ST_DELIVERED;
		next_delay = s->status_delay_ms;
	} else if (j->status == SIM_ST_DELIVERED && u && sim_roll(u->read)) {
		next = SIM_ST_READ;
		next_delay = delay_or_default(s, u->reply_delay_ms);
	}
	struct sim_number *n = sim_number_get(s, j->pnid, 1);
	snprintf(waba, sizeof waba, "%s", n && n->waba[0] ? n->waba : s->waba);
	snprintf(display, sizeof display, "%s", n ? n->display : "15550000000");
	pthread_mutex_unlock(&s->mu);

	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)(now / 1000));
	json_t *st =
	    json_pack("{s:s, s:s, s:s, s:s}", "id", j->wamid, "status", sim_status_name(j->status),
		      "timestamp", ts, "recipient_id", j->wa_id);
	if (j->status == SIM_ST_SENT || j->status == SIM_ST_DELIVERED) {
		char conv[33], exp[24];
		/* One conversation id per message is enough for a sandbox: the
		 * first 32 hex digits of the wamid's hash keep it stable. */
		char h[65];
		sec_sha256_hex(j->wamid, strlen(j->wamid), h);
		memcpy(conv, h, 32);
		conv[32] = '\0';
		snprintf(exp, sizeof exp, "%lld", (long long)(now / 1000 + 24 * 3600));
		json_object_set_new(st, "conversation",
				    json_pack("{s:s, s:s, s:{s:s}}", "id", conv,
					      "expiration_timestamp", exp, "origin", "type",
					      j->category));
		json_object_set_new(st, "pricing",
				    json_pack("{s:b, s:s, s:s, s:s}", "billable", !j->free_entry,
					      "pricing_model", "PMP", "type",
					      j->free_entry ? "free_customer_service" : "regular",
					      "category", j->category));
	}
	if (j->biz_opaque[0])
		json_object_set_new(st, "biz_opaque_callback_data", json_string(j->biz_opaque));
	if (j->status == SIM_ST_FAILED)
		json_object_set_new(st, "errors", status_error_json(j->error_code));
	sim_batch_status(b, waba, j->pnid, display, st);

	if (next != SIM_ST_ACCEPTED)
		sim_schedule_status(s, j->wamid, j->wa_id, j->pnid, next, 0, j->category,
				    j->free_entry, j->biz_opaque, next_delay);
}

static void run_template(struct sim *s, struct sim_job *j, struct sim_batch *b)
{
	json_t *value = NULL;
	char waba[SIM_WABA_SIZE];
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->ntemplates; i++) {
		struct sim_template *t = s->templates[i];
		if (t->id != j->template_id || strcmp(t->status, "PENDING") != 0)
			continue;
		int reject = strstr(t->name, "reject") != NULL;
		snprintf(t->status, sizeof t->status, "%s", reject ? "REJECTED" : "APPROVED");
		value = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "event", t->status,
				  "message_template_id", (json_int_t)t->id, "message_template_name",
				  t->name, "message_template_language", t->lang, "reason",
				  reject ? "INVALID_FORMAT" : "NONE", "message_template_category",
				  t->category);
		if (reject)
			json_object_set_new(
			    value, "rejection_info",
			    json_pack("{s:s, s:s}", "reason",
				      "The simulator rejects templates whose name contains "
				      "\"reject\".",
				      "recommendation", "Rename the template."));
		snprintf(waba, sizeof waba, "%s", t->waba);
		break;
	}
	pthread_mutex_unlock(&s->mu);
	if (value)
		sim_batch_payload(b, sim_hook_envelope(waba, "message_template_status_update",
						       value, time_now_ms() / 1000));
}

static void run_job(void *ud, void *arg, struct sim_batch *b)
{
	struct sim *s = ud;
	struct sim_job *j = arg;
	if (j->kind == SIM_JOB_STATUS)
		run_status(s, j, b);
	else
		run_template(s, j, b);
}

void sim_faults_apply(struct sim *s)
{
	sim_hook_set_faults(s->hook, s->faults.webhook_duplicates, s->faults.webhook_reorder);
}

/* ---- public API ---- */

static int cfg_ms(int v, int def)
{
	return v > 0 ? v : v < 0 ? 0 : def;
}

struct sim *sim_new(const struct sim_config *cfg)
{
	if (!cfg)
		return NULL;
	if (sec_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("sim", "cannot initialise libsodium or libcurl");
		return NULL;
	}
	const char *pnid =
	    cfg->phone_number_id ? cfg->phone_number_id : SIM_DEFAULT_PHONE_NUMBER_ID;
	const char *waba = cfg->waba_id ? cfg->waba_id : SIM_DEFAULT_WABA_ID;
	if (!sim_is_digits(pnid, 1, SIM_PNID_SIZE - 1) ||
	    !sim_is_digits(waba, 1, SIM_WABA_SIZE - 1) ||
	    (cfg->display_phone_number && strlen(cfg->display_phone_number) >= SIM_DISPLAY_SIZE)) {
		log_error("sim", "phone_number_id and waba_id must be digits");
		curl_global_cleanup();
		return NULL;
	}
	struct sim *s = xcalloc(1, sizeof *s);
	pthread_condattr_t ca;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);

	s->access_token =
	    cfg->access_token && *cfg->access_token ? xstrdup(cfg->access_token) : NULL;
	s->pnid = xstrdup(pnid);
	s->waba = xstrdup(waba);
	s->display = cfg->display_phone_number ? xstrdup(cfg->display_phone_number) : NULL;
	s->auto_users = cfg->auto_users;
	s->status_delay_ms = cfg_ms(cfg->status_delay_ms, SIM_DEFAULT_STATUS_DELAY_MS);
	s->template_approve_ms = cfg_ms(cfg->template_approve_ms, SIM_DEFAULT_TEMPLATE_APPROVE_MS);
	s->timeout_ms = cfg_ms(cfg->timeout_ms, SIM_DEFAULT_TIMEOUT_MS);
	s->graph_prefix = xstrdup("");
	s->buckets = xcalloc(SIM_USER_BUCKETS, sizeof *s->buckets);
	s->users = xcalloc(SIM_MAX_USERS, sizeof *s->users);
	s->next_template_id = 1000000000000001ULL;
	s->faults.timeout_ms = s->timeout_ms;

	struct sim_hook_config hc = {
	    .url = cfg->webhook_url,
	    .secret = cfg->app_secret,
	    .retry_ms =
		cfg->webhook_retry_ms > 0 ? cfg->webhook_retry_ms : SIM_DEFAULT_WEBHOOK_RETRY_MS,
	    .attempts =
		cfg->webhook_attempts > 0 ? cfg->webhook_attempts : SIM_DEFAULT_WEBHOOK_ATTEMPTS,
	};
	s->hook = sim_hook_new(&hc, run_job, s);
	pthread_mutex_lock(&s->mu);
	sim_number_get(s, s->pnid, 1);
	pthread_mutex_unlock(&s->mu);
	return s;
}

void sim_mount(struct sim *s, struct http_server *srv, const char *graph_prefix,
	       const char *control_prefix)
{
	pthread_mutex_lock(&s->mu);
	free(s->graph_prefix);
	s->graph_prefix = xstrdup(graph_prefix ? graph_prefix : "");
	pthread_mutex_unlock(&s->mu);
	http_server_mount_at(srv, graph_prefix ? graph_prefix : "", sim_graph_routes, s);
	http_server_mount_at(srv, control_prefix ? control_prefix : "/sim", sim_ctl_routes, s);
}

int sim_start(struct sim *s)
{
	return sim_hook_start(s->hook);
}

void sim_stop(struct sim *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
	sim_hook_stop(s->hook);
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	sim_stop(s);
	sim_hook_free(s->hook);
	for (size_t i = 0; i < s->nusers; i++)
		user_free(s->users[i]);
	for (int i = 0; i < s->ntemplates; i++)
		template_free(s->templates[i]);
	free(s->users);
	free(s->buckets);
	free(s->access_token);
	free(s->pnid);
	free(s->waba);
	free(s->display);
	free(s->graph_prefix);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s);
	curl_global_cleanup();
}

void sim_set_webhook(struct sim *s, const char *url)
{
	sim_hook_set_url(s->hook, url);
}

int sim_add_user(struct sim *s, const char *wa_id, const char *profile_name)
{
	if (!sim_is_digits(wa_id, 5, 20))
		return CW_EINVAL;
	pthread_mutex_lock(&s->mu);
	struct sim_user *u = sim_user_get(s, wa_id, profile_name, NULL);
	if (u && profile_name && *profile_name) {
		free(u->profile_name);
		u->profile_name = xstrdup(profile_name);
	}
	pthread_mutex_unlock(&s->mu);
	return u ? 0 : CW_ETOOBIG;
}

static const char *const template_categories[] = {"MARKETING", "UTILITY", "AUTHENTICATION", NULL};
static const char *const template_statuses[] = {"APPROVED", "PENDING",	"REJECTED",
						"PAUSED",   "DISABLED", NULL};

static int in_list(const char *v, const char *const *list)
{
	for (; v && *list; list++)
		if (strcmp(v, *list) == 0)
			return 1;
	return 0;
}

int sim_add_template(struct sim *s, const char *waba, const char *name, const char *lang,
		     const char *category, const char *status, const char *components_json)
{
	if (!name || !*name || strlen(name) > 512 || !lang || !*lang || strlen(lang) >= 16 ||
	    !in_list(category, template_categories) || !in_list(status, template_statuses) ||
	    (waba && !sim_is_digits(waba, 1, SIM_WABA_SIZE - 1)))
		return CW_EINVAL;
	json_t *comps = NULL;
	if (components_json) {
		comps = json_loads(components_json, 0, NULL);
		if (!json_is_array(comps)) {
			json_decref(comps);
			return CW_EINVAL;
		}
	}
	pthread_mutex_lock(&s->mu);
	struct sim_template *t = sim_template_add(s, waba, name, lang, category, status, comps);
	pthread_mutex_unlock(&s->mu);
	return t ? 0 : CW_ETOOBIG;
}

int sim_add_number(struct sim *s, const char *phone_number_id, const char *waba,
		   const char *display_phone_number)
{
	if (!sim_is_digits(phone_number_id, 1, SIM_PNID_SIZE - 1) ||
	    (waba && !sim_is_digits(waba, 1, SIM_WABA_SIZE - 1)) ||
	    (display_phone_number &&
	     (!*display_phone_number || strlen(display_phone_number) >= SIM_DISPLAY_SIZE)))
		return CW_EINVAL;
	pthread_mutex_lock(&s->mu);
	struct sim_number *n = sim_number_get(s, phone_number_id, 1);
	if (n && waba)
		snprintf(n->waba, sizeof n->waba, "%s", waba);
	if (n && display_phone_number)
		snprintf(n->display, sizeof n->display, "%s", display_phone_number);
	pthread_mutex_unlock(&s->mu);
	return n ? 0 : CW_ETOOBIG;
}
