/*
 * conversation.c — the shared inbox (see conversation.h): the ingest
 * handler that lands messages in conversations and answers out of hours,
 * agents' replies through the send path with first-response samples,
 * assignment, closing, the thread, the figures.
 *
 * Every change runs in one store transaction together with its audit entry
 * (and, for a reply, the policy decision and the outbox row), so a reply is
 * either sent-and-counted or not at all.
 */
#include "core/conversation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "core/audit.h"
#include "core/bot.h"
#include "core/outbox.h"
#include "core/policy.h"
#include "base/banned.h"

#define AUTO_REPLY_PRODUCER "inbox:hours"
#define AGENT_PRODUCER	    "agent:"
#define CLIENT_KEY_MAX	    150 /* room in OUTBOX_IDEM_MAX for "inbox:<id>:" */
#define DECISIONS_MAX	    (CONV_THREAD_MAX * 4)

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static json_t *iso_or_null(int64_t ms)
{
	char b[TIME_ISO_MAX];
	return ms > 0 ? json_string(time_format_iso(ms, b)) : json_null();
}

/* ---- message text ---- */

static int put_member_text(struct buf *out, const json_t *obj, const char *key)
{
	const char *s = json_str(obj, key);
	if (!s || !*s)
		return 0;
	if (out->len)
		buf_putc(out, '\n');
	return buf_puts(out, s);
}

static int put_mark(struct buf *out, const char *type)
{
	if (out->len)
		buf_putc(out, '\n');
	return buf_printf(out, "[%s]", type);
}

/* An inbound message object as Meta sent it. */
static int inbound_text(const json_t *m, struct buf *out)
{
	const char *type = json_str_or(m, "type", "unknown");
	const json_t *o = json_object_get(m, type);
	if (strcmp(type, "text") == 0)
		return put_member_text(out, o, "body");
	if (strcmp(type, "button") == 0)
		return put_member_text(out, o, "text");
	if (strcmp(type, "interactive") == 0) {
		const char *it = json_str_or(o, "type", "");
		const json_t *r = json_object_get(o, it);
		if (json_str(r, "title")) {
			put_member_text(out, r, "title");
			return put_member_text(out, r, "description");
		}
		if (json_str(r, "body"))
			return put_member_text(out, r, "body");
		return put_mark(out, "form");
	}
	if (strcmp(type, "reaction") == 0)
		return put_member_text(out, o, "emoji");
	if (strcmp(type, "location") == 0) {
		put_mark(out, "location");
		put_member_text(out, o, "name");
		return put_member_text(out, o, "address");
	}
	static const char *const media[] = {"image", "video",	 "audio",
					    "voice", "document", "sticker"};
	for (size_t i = 0; i < sizeof media / sizeof media[0]; i++) {
		if (strcmp(type, media[i]) == 0) {
			put_mark(out, type);
			put_member_text(out, o, "filename");
			return put_member_text(out, o, "caption");
		}
	}
	return put_mark(out, type);
}

int conversation_message_text(const char *direction, const json_t *payload, struct buf *out)
{
	if (!json_is_object(payload))
		return 0;
	if (direction && strcmp(direction, "in") == 0)
		return inbound_text(payload, out);
	const char *type = json_str_or(payload, "type", "text");
	if (strcmp(type, "template") == 0) {
		const json_t *t = json_object_get(payload, "template");
		buf_printf(out, "[template %s]", json_str_or(t, "name", "?"));
	}
	size_t before = out->len;
	int rc = send_message_text(payload, NULL, out);
	if (rc == 0 && out->len == before && strcmp(type, "template") != 0)
		rc = put_mark(out, type);
	return rc;
}

/* The first CONV_PREVIEW_CHARS characters of text on one line, with "…"
 * when cut. */
static void preview_of(const char *text, char out[CONV_PREVIEW_MAX])
{
	const unsigned char *p = (const unsigned char *)text;
	size_t o = 0, chars = 0, i = 0;
	for (; p[i]; i++) {
		int lead = (p[i] & 0xC0) != 0x80;
		if (o + 4 >= CONV_PREVIEW_MAX ||
		    (lead && (chars == CONV_PREVIEW_CHARS || o + 8 > CONV_PREVIEW_MAX)))
			break;
		chars += lead;
		out[o++] = (char)(p[i] == '\n' || p[i] == '\r' || p[i] == '\t' ? ' ' : p[i]);
	}
	if (p[i]) {
		memcpy(out + o, "\xe2\x80\xa6", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void preview_from_payload(const char *direction, const char *payload,
				 char out[CONV_PREVIEW_MAX])
{
	out[0] = '\0';
	if (!payload)
		return;
	json_t *j = json_loads(payload, 0, NULL);
	struct buf b;
	buf_init(&b, CONV_TEXT_MAX * 4);
	conversation_message_text(direction, j, &b);
	preview_of(b.data ? b.data : "", out);
	buf_release(&b);
	json_decref(j);
}

/* ---- reading conversations ---- */

static int64_t col_int(const struct store_row *row, int col)
{
	return store_row_is_null(row, col) ? 0 : store_row_int(row, col);
}

static void conv_fill(struct conversation *c, const struct store_row *row)
{
	memset(c, 0, sizeof *c);
	copy(c->id, sizeof c->id, store_row_text(row, 0));
	copy(c->org_id, sizeof c->org_id, store_row_text(row, 1));
	copy(c->number_id, sizeof c->number_id, store_row_text(row, 2));
	copy(c->contact_id, sizeof c->contact_id, store_row_text(row, 3));
	copy(c->status, sizeof c->status, store_row_text(row, 4));
	copy(c->assignee, sizeof c->assignee, store_row_text(row, 5));
	copy(c->handoff, sizeof c->handoff, store_row_text(row, 6));
	c->opened_at = col_int(row, 7);
	c->waiting_since = col_int(row, 8);
	c->first_response_at = col_int(row, 9);
	c->closed_at = col_int(row, 10);
	c->last_message_at = col_int(row, 11);
	c->last_inbound_at = col_int(row, 12);
	c->unread = (int)col_int(row, 13);
	c->has_auto_reply = !store_row_is_null(row, 14);
	c->auto_reply_until = col_int(row, 14);
	copy(c->contact_name, sizeof c->contact_name, store_row_text(row, 15));
	copy(c->contact_language, sizeof c->contact_language, store_row_text(row, 16));
	c->contact_erased = (int)col_int(row, 17);
	c->window_expires_at = col_int(row, 18);
	copy(c->assignee_name, sizeof c->assignee_name, store_row_text(row, 19));
	copy(c->last_id, sizeof c->last_id, store_row_text(row, 20));
	copy(c->last_direction, sizeof c->last_direction, store_row_text(row, 21));
	copy(c->last_type, sizeof c->last_type, store_row_text(row, 22));
	copy(c->last_status, sizeof c->last_status, store_row_text(row, 23));
	if (!c->contact_erased)
		preview_from_payload(c->last_direction, store_row_text(row, 24), c->last_preview);
	c->last_at = col_int(row, 25);
	copy(c->team, sizeof c->team, store_row_text(row, 26));
	copy(c->note, sizeof c->note, store_row_text(row, 27));
}

struct get_ctx {
	struct conversation *c;
	int found;
};

static int get_cb(void *ud, const struct store_row *row)
{
	struct get_ctx *g = ud;
	conv_fill(g->c, row);
	g->found = 1;
	return 1;
}

int conversation_get(struct store *st, const char *org_id, const char *id, struct conversation *out)
{
	struct get_ctx g = {out, 0};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	int rc = store_query(st, "inbox.get", a, 2, get_cb, &g);
	if (rc < 0)
		return rc;
	return g.found ? 0 : CW_ENOTFOUND;
}

static int get_tx(struct store_tx *tx, const char *org_id, const char *id, struct conversation *out)
{
	struct get_ctx g = {out, 0};
	struct store_val a[] = {SV_TEXT(org_id), SV_TEXT(id)};
	int rc = store_tx_query(tx, "inbox.get", a, 2, get_cb, &g);
	if (rc < 0)
		return rc;
	return g.found ? 0 : CW_ENOTFOUND;
}

struct list_ctx {
	int (*fn)(void *ud, const struct conversation *c);
	void *ud;
	struct conversation c;
	int n;
};

static int list_cb(void *ud, const struct store_row *row)
{
	struct list_ctx *l = ud;
	conv_fill(&l->c, row);
	l->n++;
	return l->fn(l->ud, &l->c) ? 1 : 0;
}

static void audit_read(struct store *st, const char *org_id, const char *actor, const char *action,
		       const char *subject, const char *detail)
{
	struct audit_entry e = {.org_id = org_id,
				.actor = actor ? actor : "system:inbox",
				.action = action,
				.subject = subject,
				.outcome = "ok",
				.detail = detail};
	if (audit_record(st, &e) != 0)
		log_error("inbox", "the audit entry %s could not be written", action);
}

int conversation_list(struct store *st, const struct conversation_filter *f, const char *actor,
		      int (*fn)(void *ud, const struct conversation *c), void *ud)
{
	static const char *const statuses[] = {"all", "open", "pending", "closed"};
	int ok = f->status == NULL;
	for (size_t i = 0; !ok && i < sizeof statuses / sizeof statuses[0]; i++)
		ok = strcmp(f->status, statuses[i]) == 0;
	if (!ok || f->limit < 1 || f->limit > CONV_LIST_MAX)
		return CW_EINVAL;
	/* one list entry per page, without personal data: who looked, how many */
	struct list_ctx l = {.fn = fn, .ud = ud, .n = 0};
	struct store_val a[] = {SV_TEXT(f->org_id),
				SV_TEXT(f->status),
				SV_TEXT(f->assignee),
				f->cursor_at > 0 ? SV_INT(f->cursor_at) : SV_NULL,
				SV_TEXT(f->cursor_id ? f->cursor_id : ""),
				SV_INT(f->limit)};
	int rc = store_query(st, "inbox.list", a, 6, list_cb, &l);
	if (rc < 0)
		return rc;
	char detail[64];
	snprintf(detail, sizeof detail, "conversations=%d", l.n);
	audit_read(st, f->org_id, actor, "conversation.list", NULL, detail);
	return 0;
}

json_t *conversation_json(const struct conversation *c, const struct hours *h, int with_bodies,
			  int64_t now)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "status", json_string(c->status));
	json_t *contact = json_object();
	json_object_set_new(contact, "id", json_string(c->contact_id));
	json_object_set_new(contact, "name",
			    c->contact_name[0] ? json_string(c->contact_name) : json_null());
	json_object_set_new(contact, "language",
			    c->contact_language[0] ? json_string(c->contact_language)
						   : json_null());
	json_object_set_new(contact, "erased", json_boolean(c->contact_erased));
	json_object_set_new(o, "contact", contact);
	json_object_set_new(o, "number_id", json_string(c->number_id));
	json_object_set_new(
	    o, "assignee",
	    c->assignee[0]
		? json_pack("{s:s, s:o}", "id", c->assignee, "name",
			    c->assignee_name[0] ? json_string(c->assignee_name) : json_null())
		: json_null());
	json_object_set_new(o, "handoff", json_string(c->handoff));
	json_object_set_new(o, "team", c->team[0] ? json_string(c->team) : json_null());
	json_object_set_new(o, "note",
			    with_bodies && c->note[0] && !c->contact_erased ? json_string(c->note)
									    : json_null());
	json_object_set_new(o, "opened_at", iso_or_null(c->opened_at));
	json_object_set_new(o, "waiting_since", iso_or_null(c->waiting_since));
	int64_t due = 0;
	if (c->waiting_since > 0 && h && hours_add_open(h, c->waiting_since, h->target_ms, &due))
		due = 0;
	json_object_set_new(o, "first_response_due", iso_or_null(due));
	json_object_set_new(o, "overdue", json_boolean(due > 0 && now > due));
	json_object_set_new(o, "first_response_at", iso_or_null(c->first_response_at));
	json_object_set_new(o, "last_message_at", iso_or_null(c->last_message_at));
	if (c->last_id[0]) {
		json_t *m = json_object();
		json_object_set_new(m, "id", json_string(c->last_id));
		json_object_set_new(m, "direction", json_string(c->last_direction));
		json_object_set_new(m, "type", json_string(c->last_type));
		json_object_set_new(m, "status",
				    c->last_status[0] ? json_string(c->last_status) : json_null());
		json_object_set_new(m, "at", iso_or_null(c->last_at));
		json_object_set_new(m, "preview",
				    with_bodies && !c->contact_erased ? json_string(c->last_preview)
								      : json_null());
		json_object_set_new(o, "last_message", m);
	} else {
		json_object_set_new(o, "last_message", json_null());
	}
	json_object_set_new(o, "unread", json_integer(c->unread));
	json_object_set_new(o, "window",
			    json_pack("{s:b, s:o}", "open", now < c->window_expires_at,
				      "expires_at", iso_or_null(c->window_expires_at)));
	json_object_set_new(o, "closed_at", iso_or_null(c->closed_at));
	json_object_set_new(o, "auto_replied", json_boolean(c->has_auto_reply));
	return o;
}

/* ---- the thread ---- */

/* Who sent an outbound message, from its outbox producer. */
static json_t *by_json(const char *direction, const char *producer)
{
	if (direction && strcmp(direction, "in") == 0)
		return json_pack("{s:s, s:n}", "kind", "patient", "id");
	if (!producer)
		return json_pack("{s:s, s:n}", "kind", "system", "id");
	static const struct {
		const char *prefix, *kind;
	} kinds[] = {{AGENT_PRODUCER, "agent"},	      {"bot", "bot"},
		     {"journey:", "journey"},	      {"campaign:", "campaign"},
		     {AUTO_REPLY_PRODUCER, "system"}, {"api", "api"}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(producer, kinds[i].prefix, n) == 0) {
			const char *id = strcmp(kinds[i].kind, "agent") == 0 ? producer + n : NULL;
			return json_pack("{s:s, s:o}", "kind", kinds[i].kind, "id",
					 id ? json_string(id) : json_null());
		}
	}
	return json_pack("{s:s, s:n}", "kind", "system", "id");
}

struct decision_item {
	char message_id[ID_SIZE]; /* "" when refused: nothing was queued */
	int64_t at;
	json_t *obj; /* the decision; owned */
	json_t *by;  /* who tried; owned */
};

struct thread_ctx {
	json_t *messages;	     /* newest first */
	int64_t at[CONV_THREAD_MAX]; /* their times */
	int with_bodies;
	int64_t oldest_at;
	int n;
	struct decision_item *dec;
	int ndec;
};

static int thread_cb(void *ud, const struct store_row *row)
{
	struct thread_ctx *t = ud;
	const char *direction = store_row_text(row, 1);
	json_t *m = json_object();
	json_object_set_new(m, "kind", json_string("message"));
	json_object_set_new(m, "id", json_string(store_row_text(row, 0)));
	json_object_set_new(m, "direction", json_string(direction ? direction : ""));
	json_object_set_new(m, "type",
			    json_string(store_row_text(row, 2) ? store_row_text(row, 2) : ""));
	const char *status = store_row_text(row, 3);
	json_object_set_new(m, "status", status ? json_string(status) : json_null());
	int64_t at = col_int(row, 5);
	json_object_set_new(m, "at", iso_or_null(at));
	json_object_set_new(m, "sent_at", iso_or_null(col_int(row, 6)));
	json_object_set_new(m, "delivered_at", iso_or_null(col_int(row, 7)));
	json_object_set_new(m, "read_at", iso_or_null(col_int(row, 8)));
	json_object_set_new(m, "failed_at", iso_or_null(col_int(row, 9)));
	json_object_set_new(
	    m, "error",
	    store_row_is_null(row, 10) && !store_row_text(row, 11)
		? json_null()
		: json_pack("{s:o, s:o}", "code",
			    store_row_is_null(row, 10) ? json_null()
						       : json_integer(store_row_int(row, 10)),
			    "title",
			    store_row_text(row, 11) ? json_string(store_row_text(row, 11))
						    : json_null()));
	json_object_set_new(m, "by", by_json(direction, store_row_text(row, 12)));
	json_object_set_new(m, "number_id",
			    store_row_text(row, 13) ? json_string(store_row_text(row, 13))
						    : json_null());
	json_t *payload = NULL;
	const char *ps = store_row_text(row, 4);
	if (ps)
		payload = json_loads(ps, 0, NULL);
	const json_t *tpl = json_object_get(payload, "template");
	json_object_set_new(
	    m, "template",
	    direction && strcmp(direction, "out") == 0 && json_str(tpl, "name")
		? json_pack("{s:s, s:o}", "name", json_str(tpl, "name"), "language",
			    json_str(json_object_get(tpl, "language"), "code")
				? json_string(json_str(json_object_get(tpl, "language"), "code"))
				: json_null())
		: json_null());
	if (t->with_bodies) {
		struct buf b;
		buf_init(&b, CONV_TEXT_MAX * 4);
		conversation_message_text(direction, payload, &b);
		json_object_set_new(m, "text",
				    payload ? json_string(b.data ? b.data : "") : json_null());
		buf_release(&b);
	}
	json_decref(payload);
	json_object_set_new(m, "decision", json_null());
	if (t->n < CONV_THREAD_MAX)
		t->at[t->n] = at;
	json_array_append_new(t->messages, m);
	t->oldest_at = at;
	t->n++;
	return 0;
}

static json_t *decision_json(const struct store_row *row)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(store_row_text(row, 0)));
	json_object_set_new(o, "purpose", json_string(store_row_text(row, 3)));
	json_object_set_new(o, "outcome", json_string(store_row_text(row, 4)));
	const char *reason = store_row_text(row, 5);
	json_object_set_new(o, "reason",
			    reason && *reason && strcmp(reason, "none") != 0 ? json_string(reason)
									     : json_null());
	json_object_set_new(o, "message",
			    json_string(store_row_text(row, 6) ? store_row_text(row, 6) : ""));
	json_object_set_new(o, "until", iso_or_null(col_int(row, 7)));
	json_object_set_new(o, "at", iso_or_null(col_int(row, 8)));
	return o;
}

static int decision_cb(void *ud, const struct store_row *row)
{
	struct thread_ctx *t = ud;
	if (t->ndec == DECISIONS_MAX)
		return 1;
	struct decision_item *d = &t->dec[t->ndec++];
	copy(d->message_id, sizeof d->message_id, store_row_text(row, 1));
	d->at = col_int(row, 8);
	d->obj = decision_json(row);
	d->by = by_json("out", store_row_text(row, 2));
	return 0;
}

static json_t *refused_json(const struct decision_item *d)
{
	return json_pack("{s:s, s:O, s:o, s:O}", "kind", "refused", "decision", d->obj, "at",
			 iso_or_null(d->at), "by", d->by);
}

/* Merges messages (newest first) and refused attempts into items, newest
 * first, attaching each message's latest decision to it. */
static json_t *merge(struct thread_ctx *t)
{
	json_t *items = json_array();
	size_t i;
	json_t *m;
	int k = t->ndec - 1; /* decisions are oldest first */
	json_array_foreach(t->messages, i, m)
	{
		const char *id = json_str(m, "id");
		for (int j = 0; j < t->ndec; j++) /* the last match is the latest */
			if (strcmp(t->dec[j].message_id, id) == 0)
				json_object_set(m, "decision", t->dec[j].obj);
		int64_t at = t->at[i];
		for (; k >= 0 && t->dec[k].at >= at; k--)
			if (!t->dec[k].message_id[0])
				json_array_append_new(items, refused_json(&t->dec[k]));
		json_array_append(items, m);
	}
	for (; k >= 0; k--)
		if (!t->dec[k].message_id[0])
			json_array_append_new(items, refused_json(&t->dec[k]));
	return items;
}

int conversation_read(struct store *st, const struct conversation *c, int64_t before_at,
		      const char *before_id, int limit, int with_bodies, int mark_read,
		      const char *actor, json_t **items)
{
	struct thread_ctx t = {.messages = json_array(), .with_bodies = with_bodies};
	int rc;
	*items = NULL;
	if (limit < 1 || limit > CONV_THREAD_MAX)
		limit = CONV_THREAD_MAX;
	t.dec = xcalloc(DECISIONS_MAX, sizeof *t.dec);
	struct store_val a[] = {SV_TEXT(c->org_id), SV_TEXT(c->contact_id),
				before_at > 0 ? SV_INT(before_at) : SV_NULL,
				SV_TEXT(before_id ? before_id : ""), SV_INT(limit)};
	rc = store_query(st, "inbox.thread", a, 5, thread_cb, &t);
	if (rc < 0)
		goto done;
	/* The decisions of the same stretch of time: all of it when the
	 * thread is complete, else from its oldest message on. */
	int64_t since = t.n == limit ? t.oldest_at : 0;
	int64_t until = before_at > 0 ? before_at : INT64_MAX;
	struct store_val d[] = {SV_TEXT(c->org_id), SV_TEXT(c->contact_id), SV_INT(since),
				SV_INT(until)};
	rc = store_query(st, "inbox.thread_decisions", d, 4, decision_cb, &t);
	if (rc < 0)
		goto done;
	rc = 0;
	*items = merge(&t);
	if (mark_read && c->unread > 0) {
		struct store_val r[] = {SV_TEXT(c->org_id), SV_TEXT(c->id)};
		if (store_exec(st, "inbox.mark_read", r, 2, NULL) != 0)
			log_warn("inbox", "could not mark a conversation read");
	}
	char detail[64];
	snprintf(detail, sizeof detail, "conversation=%s", c->id);
	audit_read(st, c->org_id, actor, "conversation.read", c->contact_id, detail);
done:
	for (int k = 0; k < t.ndec; k++) {
		json_decref(t.dec[k].obj);
		json_decref(t.dec[k].by);
	}
	free(t.dec);
	json_decref(t.messages);
	return rc;
}

/* ---- the ingest handler ---- */

struct inbound_row {
	char id[ID_SIZE];
	int created;
	int has_auto;
	int64_t auto_until;
};

static int inbound_cb(void *ud, const struct store_row *row)
{
	struct inbound_row *r = ud;
	copy(r->id, sizeof r->id, store_row_text(row, 0));
	r->created = (int)store_row_int(row, 1);
	r->has_auto = !store_row_is_null(row, 2);
	r->auto_until = col_int(row, 2);
	return 1;
}

struct lang_row {
	char contact[16], org[16];
};

static int lang_cb(void *ud, const struct store_row *row)
{
	struct lang_row *l = ud;
	copy(l->contact, sizeof l->contact, store_row_text(row, 0));
	copy(l->org, sizeof l->org, store_row_text(row, 1));
	return 1;
}

/* The language a contact is answered in: theirs when it is one of ours,
 * else the organisation's, else English. */
static const char *answer_lang(const struct lang_row *l)
{
	static const char *const codes[HOURS_LANGS] = {"he", "ru", "en"};
	int i = hours_lang_index(l->contact);
	if (i < 0)
		i = hours_lang_index(l->org);
	return codes[i < 0 ? 2 : i];
}

/* Answers a message that arrived while the team is closed, once per
 * conversation per closed period (the period is named by its end, the
 * next opening). */
static int auto_reply(struct store_tx *tx, const struct inbound *in, const struct inbound_row *r)
{
	struct hours h;
	int rc = hours_load_tx(tx, in->org_id, &h);
	if (rc)
		return rc;
	if (!h.enabled || !h.auto_reply || hours_is_open(&h, in->now_ms))
		return 0;
	int64_t period = 0; /* 0: nothing opens within the look-ahead */
	if (hours_next_open(&h, in->now_ms, &period) != 0)
		period = 0;
	if (r->has_auto && r->auto_until == period)
		return 0;

	struct lang_row l = {{0}};
	struct store_val a[] = {SV_TEXT(in->org_id), SV_TEXT(in->contact_id)};
	rc = store_tx_query(tx, "inbox.contact_lang", a, 2, lang_cb, &l);
	if (rc < 0)
		return rc;
	struct buf text;
	buf_init(&text, CONV_TEXT_MAX);
	rc = hours_auto_reply(&h, answer_lang(&l), in->now_ms, &text, NULL);
	if (rc) {
		buf_release(&text);
		log_warn("inbox", "the out-of-hours text does not fit a message");
		return 0;
	}
	json_t *body = json_pack("{s:s, s:{s:s}}", "type", "text", "text", "body", text.data);
	buf_release(&text);
	char key[OUTBOX_IDEM_MAX];
	snprintf(key, sizeof key, "inbox:hours:%s:%lld", r->id, (long long)period);
	struct send_request rq = {.org_id = in->org_id,
				  .number_id = in->number_id,
				  .contact_id = in->contact_id,
				  .purpose = POLICY_SERVICE,
				  .payload = body,
				  .producer = AUTO_REPLY_PRODUCER,
				  .idem_key = key,
				  .priority = OUTBOX_PRIO_TRANSACTIONAL,
				  .is_reply = 1};
	struct send_result res;
	rc = send_submit_tx(tx, &rq, in->now_ms, &res);
	json_decref(body);
	if (rc == CW_EINVAL || rc == CW_ENOTFOUND) {
		/* e.g. a person known only by a business-scoped id: no number to
		 * answer; the conversation still lands. */
		log_warn("inbox", "no out-of-hours reply: %s (%s)", cw_strerror(rc),
			 res.field ? res.field : "-");
		return 0;
	}
	if (rc)
		return rc;
	if (res.decision.outcome == POLICY_DENY)
		log_info("inbox", "the out-of-hours reply was refused: %s",
			 policy_reason_code(res.decision.reason));
	struct store_val u[] = {SV_TEXT(r->id), SV_INT(period)};
	return store_tx_exec(tx, "inbox.set_auto_reply", u, 2, NULL);
}

int conversation_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in)
{
	(void)ud;
	const struct webhook_message *m = &in->ev->msg;
	/* A reaction, a number change or a request for the welcome asks nothing
	 * of the team. */
	if (m->type == WH_MSG_REACTION || m->type == WH_MSG_SYSTEM ||
	    m->type == WH_MSG_REQUEST_WELCOME)
		return INBOUND_CONTINUE;
	const char *handoff = NULL;
	if (m->type == WH_MSG_INTERACTIVE && m->interactive.reply_id &&
	    strcmp(m->interactive.reply_id, BOT_BTN_HUMAN) == 0)
		handoff = "button";
	/* The person has waited since they wrote (Meta's timestamp), unless
	 * that clock is ahead of ours. */
	int64_t at = in->ev->timestamp_ms;
	if (at <= 0 || at > in->now_ms)
		at = in->now_ms;
	char id[ID_SIZE];
	id_new(id);
	struct inbound_row r = {.created = 0};
	struct store_val a[] = {
	    SV_TEXT(id), SV_TEXT(in->org_id), SV_TEXT(in->number_id), SV_TEXT(in->contact_id),
	    SV_INT(at),	 SV_INT(in->now_ms),  SV_TEXT(handoff)};
	int rc = store_tx_query(tx, "inbox.on_inbound", a, 7, inbound_cb, &r);
	if (rc < 0)
		return rc;
	if (!r.id[0])
		return CW_EINTERNAL;
	rc = auto_reply(tx, in, &r);
	return rc ? rc : INBOUND_HANDLED;
}

/* ---- hand-offs ---- */

static int handoff_cb(void *ud, const struct store_row *row)
{
	copy(ud, ID_SIZE, store_row_text(row, 0));
	return 1;
}

/* A hand-off reason the conversations table takes. */
static int handoff_reason_ok(const char *r)
{
	return r && strlen(r) < CONV_HANDOFF_MAX &&
	       (strcmp(r, "button") == 0 || strcmp(r, "unhandled") == 0 ||
		(strncmp(r, "journey:", 8) == 0 && r[8]));
}

int conversation_handoff_tx(struct store_tx *tx, const char *org_id, const char *number_id,
			    const char *contact_id, const char *reason, const char *team,
			    const char *note, int64_t now)
{
	if (!org_id || !number_id || !contact_id || !handoff_reason_ok(reason) ||
	    (team && strlen(team) > CONV_TEAM_MAX))
		return CW_EINVAL;
	char cut[CONV_NOTE_MAX];
	if (note && strlen(note) >= CONV_NOTE_MAX) {
		size_t n = CONV_NOTE_MAX - 1;
		while (n > 0 && ((unsigned char)note[n] & 0xC0) == 0x80)
			n--; /* at a character's first byte */
		memcpy(cut, note, n);
		cut[n] = '\0';
		note = cut;
	}
	char id[ID_SIZE], got[ID_SIZE] = "";
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(org_id),
				SV_TEXT(number_id),
				SV_TEXT(contact_id),
				SV_TEXT(reason),
				SV_TEXT(team),
				SV_TEXT(note && *note ? note : NULL),
				SV_INT(now)};
	int rc = store_tx_query(tx, "inbox.handoff", a, 8, handoff_cb, got);
	if (rc < 0)
		return rc;
	if (!got[0])
		return CW_EINTERNAL;
	char detail[AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "conversation=%s handoff=%s team=%s", got, reason,
		 team ? team : "none");
	struct audit_entry e = {.org_id = org_id,
				.actor = "system:inbox",
				.action = "conversation.handoff",
				.subject = contact_id,
				.outcome = "ok",
				.detail = detail,
				.at = now};
	return audit_record_tx(tx, &e);
}

/* ---- changes ---- */

static int audit_change(struct store_tx *tx, const struct conversation *c, const char *actor,
			const char *action, const char *outcome, const char *extra)
{
	char detail[AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "conversation=%s%s%s", c->id, extra ? " " : "",
		 extra ? extra : "");
	struct audit_entry e = {.org_id = c->org_id,
				.actor = actor ? actor : "system:inbox",
				.action = action,
				.subject = c->contact_id,
				.outcome = outcome,
				.detail = detail};
	return audit_record_tx(tx, &e);
}

struct assign_ctx {
	const char *org_id, *id, *assignee, *actor;
};

static int principal_cb(void *ud, const struct store_row *row)
{
	(void)row;
	*(int *)ud = 1;
	return 1;
}

static int assign_fn(struct store_tx *tx, void *ud)
{
	struct assign_ctx *a = ud;
	struct conversation c;
	int rc = get_tx(tx, a->org_id, a->id, &c);
	if (rc)
		return rc;
	if (a->assignee) {
		int found = 0;
		struct store_val p[] = {SV_TEXT(a->org_id), SV_TEXT(a->assignee)};
		rc = store_tx_query(tx, "inbox.principal", p, 2, principal_cb, &found);
		if (rc < 0)
			return rc;
		if (!found)
			return CW_EINVAL;
	}
	struct store_val u[] = {SV_TEXT(a->org_id), SV_TEXT(a->id), SV_TEXT(a->assignee),
				SV_INT(time_now_ms())};
	rc = store_tx_exec(tx, "inbox.assign", u, 4, NULL);
	if (rc)
		return rc;
	char extra[64];
	snprintf(extra, sizeof extra, "assignee=%s", a->assignee ? a->assignee : "none");
	return audit_change(tx, &c, a->actor, "conversation.assign", "ok", extra);
}

int conversation_assign(struct store *st, const char *org_id, const char *id, const char *assignee,
			const char *actor, struct conversation *out)
{
	struct assign_ctx a = {org_id, id, assignee, actor};
	int rc = store_tx(st, assign_fn, &a);
	if (rc == 0 && out)
		rc = conversation_get(st, org_id, id, out);
	return rc;
}

struct close_ctx {
	const char *org_id, *id, *actor;
	int close;
};

static int close_fn(struct store_tx *tx, void *ud)
{
	struct close_ctx *x = ud;
	struct conversation c;
	int rc = get_tx(tx, x->org_id, x->id, &c);
	if (rc)
		return rc;
	int64_t changes = 0;
	struct store_val u[] = {SV_TEXT(x->org_id), SV_TEXT(x->id), SV_INT(time_now_ms())};
	rc = store_tx_exec(tx, x->close ? "inbox.close" : "inbox.reopen", u, 3, &changes);
	if (rc)
		return rc;
	if (changes == 0)
		return CW_ECONFLICT;
	return audit_change(tx, &c, x->actor,
			    x->close ? "conversation.close" : "conversation.reopen", "ok", NULL);
}

int conversation_set_closed(struct store *st, const char *org_id, const char *id, int close,
			    const char *actor, struct conversation *out)
{
	struct close_ctx x = {org_id, id, actor, close};
	int rc = store_tx(st, close_fn, &x);
	if (rc == 0 && out)
		rc = conversation_get(st, org_id, id, out);
	return rc;
}

struct reply_ctx {
	const struct conversation_reply *rq;
	struct send_result *res;
	int64_t now;
};

/* Ends the waiting period of c with a reply at now: the sample, then the
 * conversation's state. */
static int responded(struct store_tx *tx, const struct conversation *c, const char *responder,
		     int64_t now)
{
	int rc;
	if (c->waiting_since > 0) {
		struct hours h;
		rc = hours_load_tx(tx, c->org_id, &h);
		if (rc)
			return rc;
		int64_t waited = now > c->waiting_since ? now - c->waiting_since : 0;
		int64_t business = hours_open_between(&h, c->waiting_since, now);
		struct store_val s[] = {
		    SV_TEXT(c->org_id),	      SV_TEXT(c->id),	   SV_TEXT(responder),
		    SV_INT(c->waiting_since), SV_INT(now),	   SV_INT(waited),
		    SV_INT(business),	      SV_INT(h.target_ms), SV_INT(business <= h.target_ms)};
		rc = store_tx_exec(tx, "inbox.frt_insert", s, 9, NULL);
		if (rc)
			return rc;
	}
	struct store_val u[] = {SV_TEXT(c->org_id), SV_TEXT(c->id), SV_INT(now),
				SV_TEXT(responder)};
	return store_tx_exec(tx, "inbox.responded", u, 4, NULL);
}

static int reply_fn(struct store_tx *tx, void *ud)
{
	struct reply_ctx *x = ud;
	const struct conversation_reply *rq = x->rq;
	struct conversation c;
	int rc = get_tx(tx, rq->org_id, rq->id, &c);
	if (rc)
		return rc;
	if (strcmp(c.status, "closed") == 0)
		return CW_ECONFLICT;
	char key[OUTBOX_IDEM_MAX + 1], gen[ID_SIZE], producer[SEND_PRODUCER_MAX + 1];
	snprintf(key, sizeof key, "inbox:%s:%s", c.id,
		 rq->client_key ? rq->client_key : id_new(gen));
	snprintf(producer, sizeof producer, AGENT_PRODUCER "%s", rq->responder);
	struct send_request sr = {.org_id = c.org_id,
				  .number_id = c.number_id,
				  .contact_id = c.contact_id,
				  .purpose = POLICY_SERVICE,
				  .payload = rq->payload,
				  .producer = producer,
				  .idem_key = key,
				  .priority = OUTBOX_PRIO_TRANSACTIONAL,
				  .is_reply = 1,
				  .actor = rq->actor};
	rc = send_submit_tx(tx, &sr, x->now, x->res);
	if (rc)
		return rc;
	if (x->res->decision.outcome != POLICY_DENY && !x->res->duplicate) {
		rc = responded(tx, &c, rq->responder, x->now);
		if (rc)
			return rc;
	}
	char extra[80];
	snprintf(extra, sizeof extra, "message=%s",
		 x->res->message_id[0] ? x->res->message_id : "none");
	return audit_change(tx, &c, rq->actor, "conversation.reply",
			    policy_outcome_name(x->res->decision.outcome), extra);
}

int conversation_reply(struct store *st, const struct conversation_reply *rq,
		       struct send_result *res, struct conversation *out)
{
	memset(res, 0, sizeof *res);
	if (!rq->org_id || !rq->id || !rq->responder || !*rq->responder ||
	    !json_is_object(rq->payload) ||
	    (rq->client_key && (!*rq->client_key || strlen(rq->client_key) > CLIENT_KEY_MAX))) {
		res->field = !json_is_object(rq->payload) ? "payload" : "client_key";
		return CW_EINVAL;
	}
	struct reply_ctx x = {rq, res, time_now_ms()};
	int rc = store_tx(st, reply_fn, &x);
	if (rc) {
		const char *field = res->field;
		memset(res, 0, sizeof *res);
		res->field = field;
		return rc;
	}
	if (out)
		rc = conversation_get(st, rq->org_id, rq->id, out);
	return rc;
}

/* ---- templates ---- */

int conversation_template_body(struct store *st, const char *org_id, const char *contact_lang,
			       const json_t *tpl, json_t **out, struct template_problem *err)
{
	struct template_info t;
	*out = NULL;
	memset(err, 0, sizeof *err);
	const char *name = json_str(tpl, "name");
	const char *lang = json_str(tpl, "language");
	const json_t *params = json_object_get(tpl, "params");
	if (!name || !*name || strlen(name) > TEMPLATE_NAME_MAX) {
		err->reason = "invalid_name";
		copy(err->field, sizeof err->field, "template.name");
		copy(err->message, sizeof err->message, "the template's name is required");
		return CW_EINVAL;
	}
	if (params && !json_is_array(params) && !json_is_object(params)) {
		err->reason = "param_invalid";
		copy(err->field, sizeof err->field, "template.params");
		copy(err->message, sizeof err->message,
		     "params is a list of values, or an object of named values");
		return CW_EINVAL;
	}
	int rc = template_lookup(st, org_id, NULL, name, lang ? lang : contact_lang, &t);
	if (rc == 0 && lang && strcmp(t.language, lang) != 0) {
		template_info_release(&t);
		rc = CW_ENOTFOUND;
	}
	if (rc == CW_ENOTFOUND) {
		err->reason = "invalid_name";
		copy(err->field, sizeof err->field, "template.name");
		snprintf(err->message, sizeof err->message,
			 "no template of that name is registered%s",
			 lang ? " in that language" : "");
		return CW_ENOTFOUND;
	}
	if (rc)
		return rc;

	json_t *ps = json_array();
	size_t i;
	const char *k;
	json_t *v;
	if (json_is_array(params)) {
		json_array_foreach(params, i, v)
		{
			if (!json_is_string(v)) {
				json_decref(ps);
				template_info_release(&t);
				err->reason = "param_invalid";
				snprintf(err->field, sizeof err->field, "template.params[%zu]", i);
				copy(err->message, sizeof err->message, "a parameter is a string");
				return CW_EINVAL;
			}
			json_array_append_new(ps,
					      json_pack("{s:s, s:O}", "type", "text", "text", v));
		}
	} else if (json_is_object(params)) {
		json_object_foreach((json_t *)params, k, v)
		{
			if (!json_is_string(v)) {
				json_decref(ps);
				template_info_release(&t);
				err->reason = "param_invalid";
				snprintf(err->field, sizeof err->field, "template.params.%.40s", k);
				copy(err->message, sizeof err->message, "a parameter is a string");
				return CW_EINVAL;
			}
			json_array_append_new(ps, json_pack("{s:s, s:s, s:O}", "type", "text",
							    "parameter_name", k, "text", v));
		}
	}
	json_t *tj = json_pack("{s:s, s:{s:s}}", "name", t.name, "language", "code", t.language);
	if (json_array_size(ps) > 0)
		json_object_set_new(tj, "components",
				    json_pack("[{s:s, s:o}]", "type", "body", "parameters", ps));
	else
		json_decref(ps);
	rc = template_check_compose(&t, tj, "service", err);
	template_info_release(&t);
	if (rc == CW_EINVAL) {
		/* the request names parameters, not components */
		copy(err->field, sizeof err->field, "template.params");
		json_decref(tj);
		return CW_EINVAL;
	}
	/* CW_EPOLICY (not approved, wrong category) is for policy to decide
	 * and record. */
	memset(err, 0, sizeof *err);
	*out = json_pack("{s:s, s:o}", "type", "template", "template", tj);
	return 0;
}

int conversation_templates(struct store *st, const char *org_id, const char *lang, json_t **out)
{
	json_t *all = NULL;
	*out = NULL;
	int rc = template_list(st, org_id, "APPROVED", NULL, TEMPLATE_LIST_MAX, &all);
	if (rc)
		return rc;
	json_t *mine = json_array(), *others = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(all, i, t)
	{
		const char *cat = json_str_or(t, "category", "");
		if (!template_category_fits(cat, "service"))
			continue;
		const char *tl = json_str_or(t, "language", "");
		int match = lang && hours_lang_index(lang) >= 0 &&
			    hours_lang_index(tl) == hours_lang_index(lang);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(json_str_or(t, "name", "")));
		json_object_set_new(o, "language", json_string(tl));
		json_object_set_new(o, "category", json_string(cat));
		json_object_set(o, "body_params", json_object_get(t, "body_params"));
		json_object_set(o, "param_names", json_object_get(t, "param_names"));
		json_object_set_new(o, "matches_language", json_boolean(match));
		json_array_append_new(match ? mine : others, o);
	}
	json_array_extend(mine, others);
	json_decref(others);
	json_decref(all);
	*out = mine;
	return 0;
}

/* ---- figures ---- */

struct samples {
	int64_t *business, *wall;
	size_t n, cap;
	int64_t within;
};

static int sample_cb(void *ud, const struct store_row *row)
{
	struct samples *s = ud;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->business = xrealloc(s->business, s->cap * sizeof *s->business);
		s->wall = xrealloc(s->wall, s->cap * sizeof *s->wall);
	}
	s->business[s->n] = store_row_int(row, 0);
	s->wall[s->n] = store_row_int(row, 1);
	s->within += store_row_int(row, 2) != 0;
	s->n++;
	return 0;
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p percent at or below. */
static int64_t percentile(const int64_t *sorted, size_t n, int p)
{
	if (n == 0)
		return 0;
	size_t rank = (n * (size_t)p + 99) / 100;
	return sorted[rank ? rank - 1 : 0];
}

static int counts_cb(void *ud, const struct store_row *row)
{
	struct conversation_stats *s = ud;
	s->open = store_row_int(row, 0);
	s->pending = store_row_int(row, 1);
	s->waiting = store_row_int(row, 2);
	s->unassigned = store_row_int(row, 3);
	s->oldest_waiting_since = col_int(row, 4);
	return 1;
}

int conversation_stats(struct store *st, const char *org_id, int64_t since, int64_t until,
		       const char *actor, struct conversation_stats *out)
{
	struct samples s = {NULL, NULL, 0, 0, 0};
	struct hours h;
	memset(out, 0, sizeof *out);
	int rc = hours_load(st, org_id, &h);
	if (rc)
		return rc;
	out->target_ms = h.target_ms;
	struct store_val a[] = {SV_TEXT(org_id)};
	rc = store_query(st, "inbox.counts", a, 1, counts_cb, out);
	if (rc < 0)
		return rc;
	struct store_val q[] = {SV_TEXT(org_id), SV_INT(since), SV_INT(until),
				SV_INT(CONV_STATS_SAMPLES_MAX)};
	rc = store_query(st, "inbox.frt_samples", q, 4, sample_cb, &s);
	if (rc < 0)
		goto done;
	rc = 0;
	if (s.n > 0) {
		qsort(s.business, s.n, sizeof *s.business, i64_cmp);
		qsort(s.wall, s.n, sizeof *s.wall, i64_cmp);
	}
	out->responses = (int64_t)s.n;
	out->within_target = s.within;
	out->median_ms = percentile(s.business, s.n, 50);
	out->p90_ms = percentile(s.business, s.n, 90);
	out->median_wall_ms = percentile(s.wall, s.n, 50);
	audit_read(st, org_id, actor, "conversation.stats", NULL, NULL);
done:
	free(s.business);
	free(s.wall);
	return rc;
}

struct metrics_ctx {
	struct buf *out;
	int64_t waiting;
	int rc;
};

static int metrics_cb(void *ud, const struct store_row *row)
{
	struct metrics_ctx *m = ud;
	const char *status = store_row_text(row, 0);
	if (buf_printf(m->out, "carewire_inbox_conversations{status=\"%s\"} %lld\n",
		       status ? status : "", (long long)store_row_int(row, 1)))
		m->rc = CW_ETOOBIG;
	m->waiting += store_row_int(row, 2);
	return 0;
}

static int totals_cb(void *ud, const struct store_row *row)
{
	int64_t *t = ud;
	t[0] = store_row_int(row, 0);
	t[1] = store_row_int(row, 1);
	return 1;
}

int conversation_metrics(struct store *st, struct buf *out)
{
	struct metrics_ctx m = {out, 0, 0};
	buf_puts(out, "# TYPE carewire_inbox_conversations gauge\n");
	int rc = store_query(st, "inbox.metrics", NULL, 0, metrics_cb, &m);
	if (rc < 0)
		return rc;
	int64_t t[2] = {0, 0};
	rc = store_query(st, "inbox.frt_totals", NULL, 0, totals_cb, t);
	if (rc < 0)
		return rc;
	rc = buf_printf(out,
			"# TYPE carewire_inbox_waiting gauge\n"
			"carewire_inbox_waiting %lld\n"
			"# TYPE carewire_inbox_first_responses_total counter\n"
			"carewire_inbox_first_responses_total %lld\n"
			"# TYPE carewire_inbox_first_responses_within_target_total counter\n"
			"carewire_inbox_first_responses_within_target_total %lld\n",
			(long long)m.waiting, (long long)t[0], (long long)t[1]);
	return rc ? rc : m.rc;
}
