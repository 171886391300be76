/*
 * outbox.c — the durable outbound queue (see outbox.h): queueing inside the
 * producer's transaction, what a failure does to a row, adopting a wamid
 * from a status webhook after a crash, and counts per producer.
 *
 * Everything here runs inside a store transaction handed in by the caller
 * (the producer, the dispatcher's keeper thread or the ingest worker), so a
 * row and its messages twin always change together. The state machine is
 * described in docs/internals/outbox.md.
 */
#include "core/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/ingest.h"
#include "core/optout.h"
#include "wa/errors.h"
#include "wa/msg.h"
#include "base/banned.h"

#define SEC_MS 1000LL
#define PAIR_LIMIT_CODE 131056 /* one message per user per 6 s: back off 6 s * 4^n */
#define PAIR_LIMIT_FACTOR 4
#define STATS_MAX_PRODUCER 256
/* The highest code point: a prefix followed by it sorts after every string
 * that starts with the prefix. */
#define PREFIX_HIGH "\xF4\x8F\xBF\xBF"

/* ---- retry timing ---- */

void outbox_retry_defaults(struct outbox_retry *r)
{
	*r = (struct outbox_retry){.backoff_base_ms = 1 * SEC_MS,
				   .backoff_max_ms = 15 * 60 * SEC_MS,
				   .max_attempts = 10,
				   .max_pair_hits = 8,
				   .delay_scale = 1.0};
	const char *s = getenv("CAREWIRE_DISPATCH_DELAY_SCALE");
	if (s && *s) {
		char *end = NULL;
		double v = strtod(s, &end);
		if (end && !*end && v > 0 && v <= 100)
			r->delay_scale = v;
	}
	s = getenv("CAREWIRE_DISPATCH_MAX_ATTEMPTS");
	if (s && *s) {
		char *end = NULL;
		long v = strtol(s, &end, 10);
		if (end && !*end && v >= 1 && v <= 1000)
			r->max_attempts = (int)v;
	}
}

int64_t outbox_backoff_ms(const struct outbox_retry *r, int attempts, int64_t min_ms)
{
	int64_t d = r->backoff_base_ms;
	for (int i = 1; i < attempts && d < r->backoff_max_ms; i++)
		d *= 2;
	if (d > r->backoff_max_ms)
		d = r->backoff_max_ms;
	/* Equal jitter: half of it fixed, the other half random, so that many
	 * rows failing together do not come back together. */
	int64_t half = d / 2;
	uint32_t span = half > 0x7fffffff ? 0x7fffffff : (uint32_t)half;
	d = half + (int64_t)sec_random_u32(span + 1);
	d = (int64_t)((double)d * r->delay_scale);
	int64_t floor_ms = (int64_t)((double)min_ms * r->delay_scale);
	return d < floor_ms ? floor_ms : d;
}

/* ---- queueing ---- */

static int first_text_cb(void *ud, const struct store_row *row)
{
	char *out = ud;
	const char *s = store_row_text(row, 0);
	snprintf(out, ID_SIZE, "%s", s ? s : "");
	return 1;
}

static const char *const purposes[] = {"service", "reminders", "results", "surveys",
				       "marketing"};

static int purpose_valid(const char *p)
{
	for (size_t i = 0; p && i < sizeof purposes / sizeof purposes[0]; i++)
		if (strcmp(p, purposes[i]) == 0)
			return 1;
	return 0;
}

/* A copy of body carrying our id in biz_opaque_callback_data, so that every
 * status webhook names the outbox row it is about. */
static char *stamped(const json_t *body, const char *id)
{
	json_t *c = json_deep_copy(body);
	if (!c)
		return NULL;
	json_object_set_new(c, "biz_opaque_callback_data", json_string(id));
	char *s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

int outbox_enqueue_tx(struct store_tx *tx, const struct outbox_item *it, char msg_id[ID_SIZE],
		      int *duplicate)
{
	char *payload = NULL, *fallback = NULL;
	int rc;
	*duplicate = 0;
	msg_id[0] = '\0';
	if (!it->org_id || !it->number_id || !it->idem_key || !*it->idem_key ||
	    strlen(it->idem_key) > OUTBOX_IDEM_MAX || !json_is_object(it->payload) ||
	    !purpose_valid(it->purpose) ||
	    (it->priority != OUTBOX_PRIO_TRANSACTIONAL && it->priority != OUTBOX_PRIO_BULK))
		return CW_EINVAL;
	if (it->fallback && !json_is_object(it->fallback))
		return CW_EINVAL;
	struct wa_msg_error we;
	if (wa_msg_validate_json(it->payload, &we) != 0 ||
	    (it->fallback && wa_msg_validate_json(it->fallback, &we) != 0)) {
		log_warn("outbox", "refused an invalid request body: %s: %s", we.field, we.message);
		return CW_EINVAL;
	}

	char existing[ID_SIZE] = "";
	struct store_val q[] = {SV_TEXT(it->org_id), SV_TEXT(it->idem_key)};
	rc = store_tx_query(tx, "outbox.by_idem", q, 2, first_text_cb, existing);
	if (rc < 0)
		return rc;
	if (existing[0]) {
		snprintf(msg_id, ID_SIZE, "%s", existing);
		*duplicate = 1;
		return 0;
	}

	char id[ID_SIZE];
	id_new(id);
	int64_t now = time_now_ms();
	payload = stamped(it->payload, id);
	fallback = it->fallback ? stamped(it->fallback, id) : NULL;
	if (!payload || (it->fallback && !fallback)) {
		rc = CW_ENOMEM;
		goto fail;
	}
	const char *type = json_str_or(it->payload, "type", "text");
	struct store_val m[] = {SV_TEXT(id),	  SV_TEXT(it->org_id), SV_TEXT(it->number_id),
				SV_TEXT(it->contact_id), SV_TEXT("out"),     SV_NULL,
				SV_TEXT(type),		  SV_TEXT(payload),    SV_TEXT("queued"),
				SV_INT(now),		  SV_TEXT(id),	       SV_INT(now)};
	rc = store_tx_exec(tx, "message.insert", m, 12, NULL);
	if (rc)
		goto fail;
	int64_t nb = it->not_before > 0 ? it->not_before : now;
	const char *state = it->deferred && nb > now ? "deferred" : "queued";
	struct store_val o[] = {SV_TEXT(id),
				SV_TEXT(it->org_id),
				SV_TEXT(it->number_id),
				SV_TEXT(it->contact_id),
				SV_TEXT(it->idem_key),
				SV_INT(it->priority),
				SV_TEXT(it->purpose),
				SV_TEXT(it->producer ? it->producer : "api"),
				SV_TEXT(state),
				SV_TEXT(payload),
				SV_TEXT(fallback),
				SV_INT(nb),
				it->expires_at > 0 ? SV_INT(it->expires_at) : SV_NULL,
				SV_INT(now)};
	rc = store_tx_exec(tx, "outbox.insert", o, 14, NULL);
	if (rc)
		goto fail;
	snprintf(msg_id, ID_SIZE, "%s", id);
fail:
	free(payload);
	free(fallback);
	return rc;
}

/* ---- one row ---- */

struct row {
	int found;
	char id[ID_SIZE];
	char org_id[ID_SIZE];
	char number_id[ID_SIZE];
	char contact_id[ID_SIZE];
	char purpose[16];
	int priority;
	char state[16];
	int attempts;
	int pair_hits;
	int has_fallback;
	int64_t expires_at; /* 0: never */
	char wamid[128];
};

static void copy_col(char *dst, size_t n, const struct store_row *r, int col)
{
	const char *s = store_row_text(r, col);
	snprintf(dst, n, "%s", s ? s : "");
}

static int row_cb(void *ud, const struct store_row *r)
{
	struct row *x = ud;
	x->found = 1;
	copy_col(x->id, sizeof x->id, r, 0);
	copy_col(x->org_id, sizeof x->org_id, r, 1);
	copy_col(x->number_id, sizeof x->number_id, r, 2);
	copy_col(x->contact_id, sizeof x->contact_id, r, 3);
	copy_col(x->purpose, sizeof x->purpose, r, 4);
	x->priority = (int)store_row_int(r, 5);
	copy_col(x->state, sizeof x->state, r, 6);
	x->attempts = (int)store_row_int(r, 7);
	x->pair_hits = (int)store_row_int(r, 8);
	x->has_fallback = !store_row_is_null(r, 9);
	x->expires_at = store_row_is_null(r, 10) ? 0 : store_row_int(r, 10);
	copy_col(x->wamid, sizeof x->wamid, r, 11);
	return 1;
}

static int row_get(struct store_tx *tx, const char *id, struct row *x)
{
	memset(x, 0, sizeof *x);
	struct store_val a[] = {SV_TEXT(id)};
	int rc = store_tx_query(tx, "outbox.get", a, 1, row_cb, x);
	return rc < 0 ? rc : 0;
}

static int message_status(struct store_tx *tx, const char *id, const char *status,
			  const int64_t *code, const char *title, int64_t now)
{
	struct store_val a[] = {SV_TEXT(id), SV_TEXT(status), code ? SV_INT(*code) : SV_NULL,
				SV_TEXT(title), SV_INT(now)};
	return store_tx_exec(tx, "outbox.message_status", a, 5, NULL);
}

int outbox_finish_tx(struct store_tx *tx, const char *id, int attempts, const char *state,
		     const char *reason, int64_t now, int *applied)
{
	int64_t changes = 0;
	struct store_val a[] = {SV_TEXT(id),	SV_TEXT(state),
				SV_NULL,	SV_TEXT(reason),
				SV_INT(now), attempts >= 0 ? SV_INT(attempts) : SV_NULL};
	int rc = store_tx_exec(tx, "outbox.finish", a, 6, &changes);
	if (applied)
		*applied = changes > 0;
	if (rc || changes == 0)
		return rc;
	return message_status(tx, id, state, NULL, reason, now);
}

static int finish_failed(struct store_tx *tx, const struct row *x, int64_t code,
			 const char *title, int64_t now)
{
	/* Negative codes are wa/errors.h pseudo codes (no answer, ...). */
	struct store_val a[] = {SV_TEXT(x->id), SV_TEXT("failed"), SV_INT(code),
				SV_TEXT(title),	SV_INT(now),	  SV_NULL};
	int rc = store_tx_exec(tx, "outbox.finish", a, 6, NULL);
	if (rc)
		return rc;
	return message_status(tx, x->id, "failed", &code, title, now);
}

int outbox_sent_tx(struct store_tx *tx, const char *id, int attempts, const char *wamid,
		   int64_t now, int *applied)
{
	int64_t changes = 0;
	int rc;
	if (applied)
		*applied = 0;
	if (attempts >= 0) {
		struct store_val a[] = {SV_TEXT(id), SV_INT(attempts), SV_TEXT(wamid),
					SV_INT(now)};
		rc = store_tx_exec(tx, "outbox.mark_sent", a, 4, &changes);
	} else {
		struct store_val a[] = {SV_TEXT(id), SV_TEXT(wamid), SV_INT(now)};
		rc = store_tx_exec(tx, "outbox.adopt", a, 3, &changes);
	}
	if (rc || changes == 0)
		return rc;
	struct store_val m[] = {SV_TEXT(id), SV_TEXT(wamid), SV_INT(now)};
	rc = store_tx_exec(tx, "outbox.message_sent", m, 3, NULL);
	if (rc)
		return rc;
	if (applied)
		*applied = 1;
	/* A status webhook may have come before we knew this wamid. */
	return ingest_replay_statuses(tx, wamid);
}

/* Requeues x (state queued or deferred) at not_before, unless that is past
 * its useful time. */
static int requeue(struct store_tx *tx, const struct row *x, const char *state,
		   int64_t not_before, int64_t code, const char *title, int pair_delta,
		   int attempts_delta, int async, int64_t now, struct outbox_outcome *out)
{
	int rc;
	if (x->expires_at && not_before >= x->expires_at) {
		out->kind = OUTBOX_OUT_EXPIRED;
		return outbox_finish_tx(tx, x->id, -1, "expired", "its retry would come too late",
					now, NULL);
	}
	struct store_val a[] = {SV_TEXT(x->id),
				SV_TEXT(state),
				SV_INT(not_before),
				SV_INT(code),
				SV_TEXT(title),
				SV_INT(now),
				SV_INT(pair_delta),
				SV_INT(attempts_delta),
				SV_NULL};
	rc = store_tx_exec(tx, "outbox.retry", a, 9, NULL);
	if (rc)
		return rc;
	if (async) {
		/* Meta had taken it and failed it later: the messages row says
		 * failed with the old wamid; it is queued again without one. */
		struct store_val m[] = {SV_TEXT(x->id), SV_INT(0), SV_INT(now)};
		rc = store_tx_exec(tx, "outbox.message_reset", m, 3, NULL);
		if (rc)
			return rc;
	}
	out->not_before = not_before;
	return 0;
}

static int withdraw_marketing(struct store_tx *tx, const struct row *x, int64_t now)
{
	if (!x->contact_id[0])
		return 0;
	char evidence[96];
	snprintf(evidence, sizeof evidence, "Cloud API error 131050 on message %s", x->id);
	struct store_val a[] = {SV_TEXT(x->org_id),   SV_TEXT(x->contact_id), SV_TEXT("marketing"),
				SV_TEXT("withdrawn"), SV_TEXT("whatsapp"),    SV_NULL,
				SV_TEXT(evidence),    SV_INT(now)};
	int rc = store_tx_exec(tx, "consent.insert", a, 8, NULL);
	if (rc)
		return rc;
	/* The flag policy reads (marketing_stopped); the withdrawal is ours. */
	return optout_marketing_stopped_tx(tx, x->org_id, x->contact_id, 1, NULL, now, NULL);
}

static int use_fallback(struct store_tx *tx, const struct row *x, int64_t now)
{
	struct store_val a[] = {SV_TEXT(x->id), SV_INT(now)};
	int64_t changes = 0;
	int rc = store_tx_exec(tx, "outbox.use_fallback", a, 2, &changes);
	if (rc || changes == 0)
		return rc ? rc : CW_ENOTFOUND;
	/* The messages row shows what is sent now: the template. */
	struct store_val m[] = {SV_TEXT(x->id), SV_INT(1), SV_INT(now)};
	return store_tx_exec(tx, "outbox.message_reset", m, 3, NULL);
}

int outbox_fail_tx(struct store_tx *tx, const char *id, int attempts, int code,
		   const char *title, int async, const struct outbox_retry *r, int64_t now,
		   struct outbox_outcome *out)
{
	struct row x;
	memset(out, 0, sizeof *out);
	int rc = row_get(tx, id, &x);
	if (rc || !x.found)
		return rc;
	if (attempts >= 0 && (strcmp(x.state, "sending") != 0 || x.attempts != attempts))
		return 0; /* a webhook settled this row meanwhile */
	snprintf(out->number_id, sizeof out->number_id, "%s", x.number_id);
	const struct wa_err_info *info = wa_err_lookup(code);
	if (!title || !*title)
		title = info->title;
	int64_t min_ms = info->min_delay_ms;

	switch (info->cls) {
	case WA_ERR_PAUSE_NUMBER: {
		struct store_val a[] = {SV_TEXT(x.number_id)};
		int64_t changes = 0;
		rc = store_tx_exec(tx, "outbox.pause_number", a, 1, &changes);
		if (rc)
			return rc;
		if (changes)
			log_error("dispatch",
				  "ALERT: phone number %s paused after Cloud API error %d (%s); "
				  "its messages wait queued until a person resumes it",
				  x.number_id, code, info->title);
		out->kind = OUTBOX_OUT_PAUSE;
		/* Not the message's fault: the attempt does not count. */
		return requeue(tx, &x, "queued", now, code, title, 0, -1, async, now, out);
	}
	case WA_ERR_WITHDRAW_MARKETING:
		rc = withdraw_marketing(tx, &x, now);
		if (rc)
			return rc;
		out->kind = OUTBOX_OUT_FAILED;
		return finish_failed(tx, &x, code, title, now);
	case WA_ERR_FIX_REQUEST:
	case WA_ERR_NEVER:
		if (info->fallback_template && x.has_fallback) {
			out->kind = OUTBOX_OUT_FALLBACK;
			return use_fallback(tx, &x, now);
		}
		if (info->alert)
			log_error("dispatch", "ALERT: message %s failed: Cloud API error %d (%s)",
				  x.id, code, info->title);
		out->kind = OUTBOX_OUT_FAILED;
		return finish_failed(tx, &x, code, title, now);
	case WA_ERR_RETRY_RECIPIENT:
		if (code == PAIR_LIMIT_CODE) {
			if (x.pair_hits >= r->max_pair_hits) {
				out->kind = OUTBOX_OUT_FAILED;
				return finish_failed(tx, &x, code, title, now);
			}
			int64_t d = min_ms;
			for (int i = 0; i < x.pair_hits; i++)
				d *= PAIR_LIMIT_FACTOR;
			d = (int64_t)((double)d * r->delay_scale);
			out->kind = OUTBOX_OUT_DEFER;
			/* Meta's limit, not a failed attempt. */
			return requeue(tx, &x, "deferred", now + d, code, title, 1, -1, async, now,
				       out);
		}
		if (x.attempts >= r->max_attempts) {
			out->kind = OUTBOX_OUT_FAILED;
			return finish_failed(tx, &x, code, title, now);
		}
		out->kind = OUTBOX_OUT_DEFER;
		return requeue(tx, &x, "deferred",
			       now + (int64_t)((double)min_ms * r->delay_scale), code, title, 0, 0,
			       async, now, out);
	case WA_ERR_RETRY:
	default:
		out->slow_number = info->slow_number;
		if (x.attempts >= r->max_attempts) {
			out->kind = OUTBOX_OUT_FAILED;
			return finish_failed(tx, &x, code, title, now);
		}
		out->kind = OUTBOX_OUT_RETRY;
		return requeue(tx, &x, "queued", now + outbox_backoff_ms(r, x.attempts, min_ms),
			       code, title, 0, 0, async, now, out);
	}
}

/* ---- status webhooks about outbox messages ---- */

static int exists_cb(void *ud, const struct store_row *row)
{
	(void)row;
	*(int *)ud = 1;
	return 1;
}

/* Finds the outbox row a status is about: the id we put in
 * biz_opaque_callback_data, else the wamid. */
static int find_row(struct store_tx *tx, const struct webhook_status_update *s, struct row *x)
{
	int rc;
	memset(x, 0, sizeof *x);
	if (s->biz_opaque_callback_data && id_valid(s->biz_opaque_callback_data)) {
		rc = row_get(tx, s->biz_opaque_callback_data, x);
		if (rc || x->found)
			return rc;
	}
	char id[ID_SIZE] = "";
	struct store_val a[] = {SV_TEXT(s->wamid)};
	rc = store_tx_query(tx, "outbox.by_wamid", a, 1, first_text_cb, id);
	if (rc < 0)
		return rc;
	return id[0] ? row_get(tx, id, x) : 0;
}

int outbox_on_event(void *ud, struct store_tx *tx, const struct webhook_event *ev,
		    const char *org_id)
{
	struct outbox_retry defaults;
	const struct outbox_retry *r = ud;
	if (ev->kind != WH_STATUS || !ev->status.wamid)
		return 0;
	if (!r) {
		outbox_retry_defaults(&defaults);
		r = &defaults;
	}
	const struct webhook_status_update *s = &ev->status;
	struct row x;
	int rc = find_row(tx, s, &x);
	if (rc || !x.found)
		return rc;
	if (org_id && strcmp(org_id, x.org_id) != 0)
		return 0; /* another tenant's number cannot speak for this row */
	int64_t now = time_now_ms();
	int failed = s->status == WH_ST_FAILED;

	if (!x.wamid[0]) {
		/* We never recorded a wamid for this row's current attempt. */
		if (failed && strcmp(x.state, "sending") != 0)
			return 0; /* a failure of an attempt already dealt with */
		if (!failed) {
			int was_failed = 0;
			struct store_val a[] = {SV_TEXT(s->wamid)};
			rc = store_tx_query(tx, "message_status.failed", a, 1, exists_cb,
					    &was_failed);
			if (rc < 0)
				return rc;
			if (was_failed)
				return 0; /* a late status of an attempt that failed */
			if (strcmp(x.state, "sending") != 0 && strcmp(x.state, "queued") != 0 &&
			    strcmp(x.state, "deferred") != 0)
				return 0;
		}
		rc = outbox_sent_tx(tx, x.id, -1, s->wamid, now, NULL);
		if (rc)
			return rc;
		log_info("outbox", "message %s: wamid adopted from a %s webhook", x.id,
			 s->status_str);
		if (!failed)
			return 0;
		snprintf(x.wamid, sizeof x.wamid, "%s", s->wamid);
		snprintf(x.state, sizeof x.state, "sent");
	}
	if (!failed || strcmp(x.wamid, s->wamid) != 0 ||
	    (strcmp(x.state, "sent") != 0 && strcmp(x.state, "sending") != 0))
		return 0;
	int code = s->error.has_code ? (int)s->error.code : WA_ERR_CODE_UNKNOWN;
	struct outbox_outcome out;
	rc = outbox_fail_tx(tx, x.id, -1, code, s->error.title, 1, r, now, &out);
	if (rc == 0 && out.kind != OUTBOX_OUT_FAILED)
		log_info("outbox", "message %s: failed later with %d; %s", x.id, code,
			 out.kind == OUTBOX_OUT_FALLBACK ? "sending the fallback template"
							 : "queued again");
	return rc;
}

/* ---- counts per producer ---- */

static int stats_cb(void *ud, const struct store_row *row)
{
	struct outbox_stats *o = ud;
	int64_t *f[] = {&o->total, &o->pending,	&o->sent,      &o->delivered, &o->read,
			&o->played, &o->failed, &o->cancelled, &o->expired};
	for (int i = 0; i < 9; i++)
		*f[i] = store_row_int(row, i);
	return 1;
}

static int failures_cb(void *ud, const struct store_row *row)
{
	struct outbox_stats *o = ud;
	if (o->nfailures >= OUTBOX_STATS_CODES)
		return 1;
	int i = o->nfailures++;
	o->failures[i].code = store_row_is_null(row, 0) ? -1 : store_row_int(row, 0);
	copy_col(o->failures[i].title, sizeof o->failures[i].title, row, 1);
	o->failures[i].count = store_row_int(row, 2);
	return 0;
}

int outbox_stats(struct store *st, const char *org_id, const char *producer, int prefix,
		 struct outbox_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!org_id || !producer || strlen(producer) > STATS_MAX_PRODUCER)
		return CW_EINVAL;
	char hi[STATS_MAX_PRODUCER + 8];
	snprintf(hi, sizeof hi, "%s%s", producer, prefix ? PREFIX_HIGH : "");
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(producer), SV_TEXT(hi)};
	int rc = store_query(st, "outbox.stats", a, 3, stats_cb, out);
	if (rc < 0)
		return rc;
	rc = store_query(st, "outbox.failures", a, 3, failures_cb, out);
	return rc < 0 ? rc : 0;
}
