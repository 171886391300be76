/*
 * webhook.c — the Cloud API webhook parser (see webhook.h).
 *
 * Two passes over the parsed body. The first counts the items the body will
 * yield (and refuses an oversized body before any work is done); the second
 * fills one struct webhook_event per item into arrays allocated once with that
 * count, so the arrays never move and a pointer into them (a numeric template
 * id's digits) stays valid. Which "field" yields which items, and how each
 * kind of item is read, are tables at the top; each kind has one fill_*()
 * function that returns NULL or the reason the item is rejected.
 *
 * The parser trusts nothing: every getter checks the JSON type and treats a
 * wrong type as absent; only what an item cannot do without (an id, a sender,
 * a readable timestamp) rejects it.
 */
#include "wa/webhook.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/banned.h"

#define WABA_OBJECT "whatsapp_business_account"

/* ---- names ---------------------------------------------------------------- */

static const char *const kind_names[WH_KIND_COUNT_] = {
	[WH_MESSAGE] = "message",
	[WH_STATUS] = "status",
	[WH_ERROR] = "error",
	[WH_TEMPLATE_STATUS] = "template_status",
	[WH_TEMPLATE_CATEGORY] = "template_category",
	[WH_TEMPLATE_QUALITY] = "template_quality",
	[WH_PHONE_QUALITY] = "phone_quality",
	[WH_USER_PREFERENCE] = "user_preference",
	[WH_ACCOUNT_UPDATE] = "account_update",
	[WH_GROUP_UPDATE] = "group_update",
	[WH_OTHER] = "other",
};

static const char *const status_names[WH_ST_COUNT_] = {
	[WH_ST_SENT] = "sent",       [WH_ST_DELIVERED] = "delivered", [WH_ST_READ] = "read",
	[WH_ST_FAILED] = "failed",   [WH_ST_PLAYED] = "played",       [WH_ST_DELETED] = "deleted",
	[WH_ST_UNKNOWN] = "unknown",
};

/* Message types: the "type" value, and whether the item carries a media
 * object under a key of the same name. */
static const struct {
	const char *name;
	enum webhook_msg_type type;
	bool media;
} msg_types[] = {
	{"text", WH_MSG_TEXT, false},
	{"image", WH_MSG_IMAGE, true},
	{"audio", WH_MSG_AUDIO, true},
	{"voice", WH_MSG_VOICE, true},
	{"video", WH_MSG_VIDEO, true},
	{"document", WH_MSG_DOCUMENT, true},
	{"sticker", WH_MSG_STICKER, true},
	{"location", WH_MSG_LOCATION, false},
	{"contacts", WH_MSG_CONTACTS, false},
	{"button", WH_MSG_BUTTON, false},
	{"interactive", WH_MSG_INTERACTIVE, false},
	{"reaction", WH_MSG_REACTION, false},
	{"order", WH_MSG_ORDER, false},
	{"system", WH_MSG_SYSTEM, false},
	{"unsupported", WH_MSG_UNSUPPORTED, false},
	{"request_welcome", WH_MSG_REQUEST_WELCOME, false},
	{"unknown", WH_MSG_UNKNOWN, false},
};
#define N_MSG_TYPES (sizeof msg_types / sizeof msg_types[0])

static const struct {
	const char *name; /* interactive.type, and the key of its object */
	enum webhook_interactive_type type;
} ia_types[] = {
	{"button_reply", WH_IA_BUTTON_REPLY},
	{"list_reply", WH_IA_LIST_REPLY},
	{"nfm_reply", WH_IA_NFM_REPLY},
};
#define N_IA_TYPES (sizeof ia_types / sizeof ia_types[0])

const char *webhook_kind_name(enum webhook_kind kind)
{
	if ((unsigned)kind >= WH_KIND_COUNT_)
		return "?";
	return kind_names[kind];
}

const char *webhook_status_name(enum webhook_status status)
{
	if ((unsigned)status >= WH_ST_COUNT_)
		return "?";
	return status_names[status];
}

const char *webhook_msg_type_name(enum webhook_msg_type type)
{
	for (size_t i = 0; i < N_MSG_TYPES; i++)
		if (msg_types[i].type == type)
			return msg_types[i].name;
	return "?";
}

/* ---- fields: which change yields which items ------------------------------ */

#define MAX_ARRAYS 3

struct item_array {
	const char *key; /* an array in the change's value */
	enum webhook_kind kind;
};

struct field_spec {
	const char *field;
	/* The value's arrays whose elements are items; when the first key is
	 * NULL the value itself is the one item, of kind value_kind. */
	struct item_array arrays[MAX_ARRAYS];
	enum webhook_kind value_kind;
};

static const struct field_spec field_specs[] = {
	{"messages",
	 {{"messages", WH_MESSAGE}, {"statuses", WH_STATUS}, {"errors", WH_ERROR}},
	 WH_OTHER},
	{"user_preferences", {{"user_preferences", WH_USER_PREFERENCE}}, WH_OTHER},
	{"group_lifecycle_update", {{"groups", WH_GROUP_UPDATE}}, WH_OTHER},
	{"group_participants_update", {{"groups", WH_GROUP_UPDATE}}, WH_OTHER},
	{"group_settings_update", {{"groups", WH_GROUP_UPDATE}}, WH_OTHER},
	{"group_status_update", {{"groups", WH_GROUP_UPDATE}}, WH_OTHER},
	{"message_template_status_update", {{NULL}}, WH_TEMPLATE_STATUS},
	{"template_category_update", {{NULL}}, WH_TEMPLATE_CATEGORY},
	{"message_template_quality_update", {{NULL}}, WH_TEMPLATE_QUALITY},
	{"phone_number_quality_update", {{NULL}}, WH_PHONE_QUALITY},
	{"account_update", {{NULL}}, WH_ACCOUNT_UPDATE},
};

static const struct field_spec other_spec = {NULL, {{NULL}}, WH_OTHER};

static const struct field_spec *field_lookup(const char *field)
{
	for (size_t i = 0; i < sizeof field_specs / sizeof field_specs[0]; i++)
		if (strcmp(field_specs[i].field, field) == 0)
			return &field_specs[i];
	return &other_spec;
}

/* ---- small readers ------------------------------------------------------- */

/* A string member that is present and not empty, else NULL. */
static const char *str_nonempty(const json_t *obj, const char *key)
{
	const char *s = json_str(obj, key);
	return s && *s ? s : NULL;
}

static bool bool_member(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static size_t array_len(const json_t *obj, const char *key)
{
	json_t *a = json_object_get(obj, key);
	return json_is_array(a) ? json_array_size(a) : 0;
}

static json_t *object_member(const json_t *obj, const char *key)
{
	json_t *o = json_object_get(obj, key);
	return json_is_object(o) ? o : NULL;
}

/* Seconds since the epoch, as a JSON integer or a string of decimal digits
 * (Meta sends both), into milliseconds. Returns 0, or -1 when v is anything
 * else, negative, or too large for milliseconds in an int64_t. */
static int seconds_to_ms(const json_t *v, int64_t *ms)
{
	long long s = 0;
	if (json_is_integer(v)) {
		s = (long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *p = json_string_value(v);
		size_t n = json_string_length(v);
		if (n == 0 || n > 18) /* 18 digits cannot overflow a long long */
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			s = s * 10 + (p[i] - '0');
		}
	} else {
		return -1;
	}
	if (s < 0 || s > INT64_MAX / 1000)
		return -1;
	*ms = (int64_t)s * 1000;
	return 0;
}

/* ---- one change's context ------------------------------------------------- */

struct chg {
	const char *field;
	const char *waba_id;
	int64_t entry_time_ms; /* entry.time, 0 when absent */
	json_t *value;
	const char *phone_number_id;
	const char *display_phone_number;
	json_t *contacts; /* value.contacts, or NULL */
	int entry, change;
};

/* The item's "timestamp": required for messages and statuses; otherwise the
 * entry's time stands in when absent. Present but unreadable always rejects. */
static const char *item_time(const struct chg *c, const json_t *item, bool required, int64_t *ms)
{
	json_t *t = json_object_get(item, "timestamp");
	if (!t) {
		if (required)
			return "missing timestamp";
		*ms = c->entry_time_ms;
		return NULL;
	}
	if (seconds_to_ms(t, ms))
		return "invalid timestamp";
	return NULL;
}

static void read_error(const json_t *o, struct webhook_error *e)
{
	long long code;
	if (json_int(o, "code", &code) == 0) {
		e->has_code = true;
		e->code = code;
	}
	e->title = json_str(o, "title");
	e->message = json_str(o, "message");
	e->href = json_str(o, "href");
	e->details = json_str(object_member(o, "error_data"), "details");
	if (!e->details)
		e->details = json_str(o, "details");
}

/* Reads the first object of obj.errors[] into e; returns the array's length. */
static size_t read_errors(const json_t *obj, struct webhook_error *e)
{
	json_t *a = json_object_get(obj, "errors");
	if (!json_is_array(a) || json_array_size(a) == 0)
		return 0;
	read_error(json_array_get(a, 0), e);
	return json_array_size(a);
}

/* ---- messages ------------------------------------------------------------- */

static bool eq_nullable(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Whether contact ct could describe the sender: none of its ids disagrees. */
static bool contact_fits(const json_t *ct, const char *from, const char *user_id)
{
	const char *wa_id = json_str(ct, "wa_id");
	const char *uid = json_str(ct, "user_id");
	if (!json_is_object(ct))
		return false;
	return !(from && wa_id && strcmp(from, wa_id) != 0) &&
	       !(user_id && uid && strcmp(user_id, uid) != 0);
}

/* The value.contacts[] element describing the sender: one whose wa_id or
 * user_id matches, else the only one (Meta sends one per message) as long as
 * none of its ids contradicts the message's. */
static json_t *match_contact(const json_t *contacts, const char *from, const char *user_id)
{
	if (!json_is_array(contacts))
		return NULL;
	size_t i;
	json_t *ct;
	json_array_foreach(contacts, i, ct)
	{
		if (contact_fits(ct, from, user_id) &&
		    (eq_nullable(json_str(ct, "wa_id"), from) ||
		     eq_nullable(json_str(ct, "user_id"), user_id)))
			return ct;
	}
	ct = json_array_get(contacts, 0);
	return json_array_size(contacts) == 1 && contact_fits(ct, from, user_id) ? ct : NULL;
}

static void read_interactive(const json_t *m, struct webhook_message *msg)
{
	json_t *ia = object_member(m, "interactive");
	if (!ia)
		return;
	const char *type = json_str(ia, "type");
	msg->interactive.type_str = type;
	msg->interactive.type = WH_IA_OTHER;
	json_t *sub = NULL;
	for (size_t i = 0; i < N_IA_TYPES; i++) {
		/* Without a "type", the reply object's own key tells. */
		if (type ? strcmp(type, ia_types[i].name) == 0
			 : object_member(ia, ia_types[i].name) != NULL) {
			msg->interactive.type = ia_types[i].type;
			sub = object_member(ia, ia_types[i].name);
			break;
		}
	}
	if (!sub)
		return;
	if (msg->interactive.type == WH_IA_NFM_REPLY) {
		msg->interactive.nfm_name = json_str(sub, "name");
		msg->interactive.nfm_body = json_str(sub, "body");
		msg->interactive.nfm_response_json = json_str(sub, "response_json");
	} else {
		msg->interactive.reply_id = json_str(sub, "id");
		msg->interactive.reply_title = json_str(sub, "title");
		msg->interactive.reply_description = json_str(sub, "description");
	}
}

static void read_media(const json_t *o, struct webhook_media *md, bool legacy_voice)
{
	md->id = json_str(o, "id");
	md->mime_type = json_str(o, "mime_type");
	md->sha256 = json_str(o, "sha256");
	md->caption = json_str(o, "caption");
	md->filename = json_str(o, "filename");
	md->url = json_str(o, "url");
	md->animated = bool_member(o, "animated");
	md->voice = legacy_voice || bool_member(o, "voice");
}

static void read_location(const json_t *m, struct webhook_message *msg)
{
	json_t *loc = object_member(m, "location");
	if (!loc)
		return;
	json_t *lat = json_object_get(loc, "latitude");
	json_t *lon = json_object_get(loc, "longitude");
	if (json_is_number(lat) && json_is_number(lon)) {
		msg->location.has_location = true;
		msg->location.latitude = json_number_value(lat);
		msg->location.longitude = json_number_value(lon);
	}
	msg->location.name = json_str(loc, "name");
	msg->location.address = json_str(loc, "address");
	msg->location.url = json_str(loc, "url");
}

static void read_context(const json_t *m, struct webhook_message *msg)
{
	json_t *cx = object_member(m, "context");
	if (!cx)
		return;
	msg->context.from = json_str(cx, "from");
	msg->context.id = json_str(cx, "id");
	msg->context.forwarded = bool_member(cx, "forwarded");
	msg->context.frequently_forwarded = bool_member(cx, "frequently_forwarded");
	json_t *rp = object_member(cx, "referred_product");
	msg->context.referred_catalog_id = json_str(rp, "catalog_id");
	msg->context.referred_product_retailer_id = json_str(rp, "product_retailer_id");
}

static void read_referral(const json_t *m, struct webhook_message *msg)
{
	json_t *rf = object_member(m, "referral");
	if (!rf)
		return;
	msg->referral.present = true;
	msg->referral.source_url = json_str(rf, "source_url");
	msg->referral.source_id = json_str(rf, "source_id");
	msg->referral.source_type = json_str(rf, "source_type");
	msg->referral.headline = json_str(rf, "headline");
	msg->referral.body = json_str(rf, "body");
	msg->referral.media_type = json_str(rf, "media_type");
	msg->referral.image_url = json_str(rf, "image_url");
	msg->referral.video_url = json_str(rf, "video_url");
	msg->referral.thumbnail_url = json_str(rf, "thumbnail_url");
	msg->referral.ctwa_clid = json_str(rf, "ctwa_clid");
}

static void read_system(const json_t *m, struct webhook_message *msg)
{
	json_t *sys = object_member(m, "system");
	msg->system.type = json_str(sys, "type");
	msg->system.body = json_str(sys, "body");
	msg->system.wa_id = json_str(sys, "wa_id");
	if (!msg->system.wa_id)
		msg->system.wa_id = json_str(sys, "new_wa_id");
	json_t *id = object_member(m, "identity");
	msg->system.identity_hash = json_str(id, "hash");
	msg->system.identity_acknowledged = bool_member(id, "acknowledged");
	int64_t ms;
	if (seconds_to_ms(json_object_get(id, "created_timestamp"), &ms) == 0)
		msg->system.identity_created_ms = ms;
}

static const char *fill_message(const struct chg *c, struct webhook_event *ev, json_t *m)
{
	struct webhook_message *msg = &ev->msg;
	msg->wamid = str_nonempty(m, "id");
	if (!msg->wamid)
		return "missing id";
	const char *why = item_time(c, m, true, &ev->timestamp_ms);
	if (why)
		return why;

	msg->from = str_nonempty(m, "from");
	msg->from_user_id = str_nonempty(m, "from_user_id");
	msg->parent_user_id = str_nonempty(m, "from_parent_user_id");
	json_t *ct = match_contact(c->contacts, msg->from, msg->from_user_id);
	if (ct) {
		if (!msg->from)
			msg->from = str_nonempty(ct, "wa_id");
		if (!msg->from_user_id)
			msg->from_user_id = str_nonempty(ct, "user_id");
		if (!msg->parent_user_id)
			msg->parent_user_id = str_nonempty(ct, "parent_user_id");
		json_t *profile = object_member(ct, "profile");
		msg->profile_name = json_str(profile, "name");
		msg->username = json_str(profile, "username");
	}
	if (!msg->from && !msg->from_user_id)
		return "message has no sender (from or from_user_id)";
	msg->group_id = json_str(m, "group_id");

	msg->type_str = json_str(m, "type");
	msg->type = WH_MSG_UNKNOWN;
	for (size_t i = 0; msg->type_str && i < N_MSG_TYPES; i++) {
		if (strcmp(msg->type_str, msg_types[i].name) == 0) {
			msg->type = msg_types[i].type;
			if (msg_types[i].media)
				read_media(object_member(m, msg_types[i].name), &msg->media,
					   msg->type == WH_MSG_VOICE);
			break;
		}
	}

	msg->text = json_str(object_member(m, "text"), "body");
	read_interactive(m, msg);
	json_t *btn = object_member(m, "button");
	msg->button.payload = json_str(btn, "payload");
	msg->button.text = json_str(btn, "text");
	read_location(m, msg);
	json_t *rx = object_member(m, "reaction");
	if (rx) {
		msg->reaction.message_id = json_str(rx, "message_id");
		msg->reaction.emoji = json_str(rx, "emoji");
		msg->reaction.is_unreaction = !msg->reaction.emoji || !*msg->reaction.emoji;
	}
	read_context(m, msg);
	read_referral(m, msg);
	read_system(m, msg);
	msg->ncontacts = array_len(m, "contacts");
	json_t *order = object_member(m, "order");
	msg->order.catalog_id = json_str(order, "catalog_id");
	msg->order.text = json_str(order, "text");
	msg->order.nitems = array_len(order, "product_items");
	msg->unsupported_type = json_str(object_member(m, "unsupported"), "type");
	msg->nerrors = read_errors(m, &msg->error);
	return NULL;
}

/* ---- other kinds ---------------------------------------------------------- */

static const char *fill_status(const struct chg *c, struct webhook_event *ev, json_t *s)
{
	struct webhook_status_update *st = &ev->status;
	st->wamid = str_nonempty(s, "id");
	if (!st->wamid)
		return "missing id";
	st->status_str = str_nonempty(s, "status");
	if (!st->status_str)
		return "missing status";
	const char *why = item_time(c, s, true, &ev->timestamp_ms);
	if (why)
		return why;
	st->status = WH_ST_UNKNOWN;
	for (int i = 0; i < WH_ST_UNKNOWN; i++)
		if (strcmp(st->status_str, status_names[i]) == 0)
			st->status = (enum webhook_status)i;
	st->recipient_id = json_str(s, "recipient_id");
	st->recipient_user_id = json_str(s, "recipient_user_id");
	st->parent_recipient_user_id = json_str(s, "parent_recipient_user_id");
	st->recipient_type = json_str(s, "recipient_type");
	st->recipient_participant_id = json_str(s, "recipient_participant_id");
	st->recipient_participant_user_id = json_str(s, "recipient_participant_user_id");
	st->biz_opaque_callback_data = json_str(s, "biz_opaque_callback_data");
	json_t *conv = object_member(s, "conversation");
	st->conversation_id = json_str(conv, "id");
	st->conversation_origin = json_str(object_member(conv, "origin"), "type");
	int64_t ms;
	if (seconds_to_ms(json_object_get(conv, "expiration_timestamp"), &ms) == 0)
		st->conversation_expiration_ms = ms;
	json_t *pricing = object_member(s, "pricing");
	json_t *billable = json_object_get(pricing, "billable");
	st->billable = json_is_boolean(billable) ? json_is_true(billable) : -1;
	st->pricing_model = json_str(pricing, "pricing_model");
	st->pricing_category = json_str(pricing, "category");
	st->pricing_type = json_str(pricing, "type");
	st->nerrors = read_errors(s, &st->error);
	return NULL;
}

static const char *fill_error(const struct chg *c, struct webhook_event *ev, json_t *e)
{
	read_error(e, &ev->error);
	return item_time(c, e, false, &ev->timestamp_ms);
}

static const char *fill_template(const struct chg *c, struct webhook_event *ev, json_t *v)
{
	struct webhook_template *t = &ev->tmpl;
	json_t *id = json_object_get(v, "message_template_id");
	if (json_is_string(id)) {
		t->message_template_id = json_string_value(id);
	} else if (json_is_integer(id)) {
		/* The event array never moves (see the file comment), so this
		 * pointer into the event itself stays valid. */
		snprintf(t->id_buf_, sizeof t->id_buf_, "%lld", (long long)json_integer_value(id));
		t->message_template_id = t->id_buf_;
	}
	t->event = json_str(v, "event");
	t->name = json_str(v, "message_template_name");
	t->language = json_str(v, "message_template_language");
	t->reason = json_str(v, "reason");
	t->category = json_str(v, "message_template_category");
	t->previous_category = json_str(v, "previous_category");
	t->new_category = json_str(v, "new_category");
	t->correct_category = json_str(v, "correct_category");
	t->previous_quality_score = json_str(v, "previous_quality_score");
	t->new_quality_score = json_str(v, "new_quality_score");
	t->rejection_reason = json_str(object_member(v, "rejection_info"), "reason");
	return item_time(c, v, false, &ev->timestamp_ms);
}

static const char *fill_phone_quality(const struct chg *c, struct webhook_event *ev, json_t *v)
{
	struct webhook_phone_quality *p = &ev->phone;
	p->display_phone_number = json_str(v, "display_phone_number");
	if (!ev->display_phone_number)
		ev->display_phone_number = p->display_phone_number;
	p->event = json_str(v, "event");
	p->current_limit = json_str(v, "current_limit");
	p->old_limit = json_str(v, "old_limit");
	p->throughput_level = json_str(object_member(v, "throughput"), "level");
	return item_time(c, v, false, &ev->timestamp_ms);
}

static const char *fill_user_pref(const struct chg *c, struct webhook_event *ev, json_t *u)
{
	struct webhook_user_pref *p = &ev->pref;
	p->wa_id = str_nonempty(u, "wa_id");
	p->user_id = str_nonempty(u, "user_id");
	if (!p->wa_id && !p->user_id)
		return "preference has no user (wa_id or user_id)";
	p->detail = json_str(u, "detail");
	p->category = json_str(u, "category");
	p->value = json_str(u, "value");
	return item_time(c, u, false, &ev->timestamp_ms);
}

static const char *fill_account(const struct chg *c, struct webhook_event *ev, json_t *v)
{
	struct webhook_account *a = &ev->account;
	a->event = json_str(v, "event");
	a->violation_type = json_str(object_member(v, "violation_info"), "violation_type");
	json_t *ban = object_member(v, "ban_info");
	a->ban_state = json_str(ban, "waba_ban_state");
	a->ban_date = json_str(ban, "waba_ban_date");
	a->nrestrictions = array_len(v, "restriction_info");
	a->restriction_type =
	    json_str(json_array_get(json_object_get(v, "restriction_info"), 0), "restriction_type");
	a->country = json_str(v, "country");
	json_t *waba = object_member(v, "waba_info");
	a->waba_id = json_str(waba, "waba_id");
	a->owner_business_id = json_str(waba, "owner_business_id");
	a->partner_app_id = json_str(waba, "partner_app_id");
	a->disconnection_reason = json_str(object_member(v, "disconnection_info"), "reason");
	return item_time(c, v, false, &ev->timestamp_ms);
}

static const char *fill_group(const struct chg *c, struct webhook_event *ev, json_t *g)
{
	struct webhook_group *gr = &ev->group;
	gr->group_id = str_nonempty(g, "group_id");
	if (!gr->group_id)
		return "missing group_id";
	gr->type = json_str(g, "type");
	gr->request_id = json_str(g, "request_id");
	gr->subject = json_str(g, "subject");
	gr->nadded = array_len(g, "added_participants");
	gr->nremoved = array_len(g, "removed_participants");
	return item_time(c, g, false, &ev->timestamp_ms);
}

static const char *fill_other(const struct chg *c, struct webhook_event *ev, json_t *v)
{
	return item_time(c, v, false, &ev->timestamp_ms);
}

static const char *(*const fillers[WH_KIND_COUNT_])(const struct chg *c, struct webhook_event *ev,
						   json_t *item) = {
	[WH_MESSAGE] = fill_message,
	[WH_STATUS] = fill_status,
	[WH_ERROR] = fill_error,
	[WH_TEMPLATE_STATUS] = fill_template,
	[WH_TEMPLATE_CATEGORY] = fill_template,
	[WH_TEMPLATE_QUALITY] = fill_template,
	[WH_PHONE_QUALITY] = fill_phone_quality,
	[WH_USER_PREFERENCE] = fill_user_pref,
	[WH_ACCOUNT_UPDATE] = fill_account,
	[WH_GROUP_UPDATE] = fill_group,
	[WH_OTHER] = fill_other,
};

/* ---- duplicates ----------------------------------------------------------- */

/* An open-addressing set of event indices (stored +1, 0 = empty), keyed by
 * kind, wamid and, for statuses, the status and group participant. */
struct dedupe {
	uint32_t *slots;
	size_t mask;
};

static bool dedupe_applies(const struct webhook_event *ev)
{
	return ev->kind == WH_MESSAGE || ev->kind == WH_STATUS;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= 0xff; /* separator, so ("ab","c") and ("a","bc") differ */
	h *= 1099511628211ull;
	return h;
}

static uint64_t dedupe_hash(const struct webhook_event *ev)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)ev->kind;
	if (ev->kind == WH_MESSAGE)
		return fnv_str(h, ev->msg.wamid);
	h = fnv_str(h, ev->status.wamid);
	h = fnv_str(h, ev->status.status_str);
	h = fnv_str(h, ev->status.recipient_participant_id);
	return fnv_str(h, ev->status.recipient_participant_user_id);
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool dedupe_equal(const struct webhook_event *a, const struct webhook_event *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == WH_MESSAGE)
		return str_same(a->msg.wamid, b->msg.wamid);
	return str_same(a->status.wamid, b->status.wamid) &&
	       str_same(a->status.status_str, b->status.status_str) &&
	       str_same(a->status.recipient_participant_id, b->status.recipient_participant_id) &&
	       str_same(a->status.recipient_participant_user_id,
			b->status.recipient_participant_user_id);
}

/* Returns true when events[idx] repeats an earlier event; otherwise records it. */
static bool dedupe_seen(struct dedupe *d, const struct webhook_event *events, size_t idx)
{
	const struct webhook_event *ev = &events[idx];
	if (!dedupe_applies(ev))
		return false;
	for (size_t i = (size_t)dedupe_hash(ev) & d->mask;; i = (i + 1) & d->mask) {
		if (d->slots[i] == 0) {
			d->slots[i] = (uint32_t)idx + 1;
			return false;
		}
		if (dedupe_equal(&events[d->slots[i] - 1], ev))
			return true;
	}
}

/* ---- the two passes ------------------------------------------------------- */

struct parse {
	struct webhook_batch *b;
	size_t cap; /* both arrays hold this many */
	struct dedupe dd;
};

/* Entry-level shape, shared by both passes. Returns NULL or a reason. */
static const char *entry_check(const json_t *entry, const char **waba, json_t **changes)
{
	if (!json_is_object(entry))
		return "entry is not an object";
	*waba = str_nonempty(entry, "id");
	if (!*waba)
		return "entry has no id";
	*changes = json_object_get(entry, "changes");
	if (!json_is_array(*changes))
		return "entry has no changes array";
	return NULL;
}

/* Change-level shape, shared by both passes. */
static const char *change_check(const json_t *change, const char **field, json_t **value)
{
	if (!json_is_object(change))
		return "change is not an object";
	*field = str_nonempty(change, "field");
	if (!*field)
		return "change has no field";
	*value = json_object_get(change, "value");
	if (!json_is_object(*value))
		return "change value is not an object";
	return NULL;
}

/* How many items a change counts for (see WEBHOOK_MAX_EVENTS). */
static size_t change_count(const json_t *change)
{
	const char *field;
	json_t *value;
	if (change_check(change, &field, &value))
		return 1;
	const struct field_spec *spec = field_lookup(field);
	size_t n = 0;
	for (size_t k = 0; k < MAX_ARRAYS && spec->arrays[k].key; k++) {
		json_t *a = json_object_get(value, spec->arrays[k].key);
		if (json_is_array(a))
			n += json_array_size(a);
		else if (a)
			n += 1;
	}
	return n ? n : 1;
}

/* Counts the body's items; returns CW_ETOOBIG past WEBHOOK_MAX_EVENTS. */
static int count_items(const json_t *entries, size_t *total)
{
	size_t n = 0, i, j;
	json_t *entry, *change;
	json_array_foreach(entries, i, entry)
	{
		const char *waba;
		json_t *changes;
		if (entry_check(entry, &waba, &changes)) {
			n += 1;
		} else {
			json_array_foreach(changes, j, change)
			{
				n += change_count(change);
				if (n > WEBHOOK_MAX_EVENTS)
					return CW_ETOOBIG;
			}
		}
		if (n > WEBHOOK_MAX_EVENTS)
			return CW_ETOOBIG;
	}
	*total = n;
	return 0;
}

static void reject(struct parse *p, int entry, int change, int index, const char *array,
		   const char *reason)
{
	struct webhook_batch *b = p->b;
	if (b->nrejected >= p->cap) /* cannot happen: the count pass sized it */
		return;
	struct webhook_reject *r = &b->rejected[b->nrejected++];
	r->entry = entry;
	r->change = change;
	r->index = index;
	r->array = array;
	r->reason = reason;
}

static void add_item(struct parse *p, const struct chg *c, enum webhook_kind kind,
		     const char *array, int index, json_t *item)
{
	struct webhook_batch *b = p->b;
	if (!json_is_object(item)) {
		reject(p, c->entry, c->change, index, array, "item is not an object");
		return;
	}
	if (b->nevents >= p->cap) { /* cannot happen: the count pass sized it */
		reject(p, c->entry, c->change, index, array, "internal: over capacity");
		return;
	}
	struct webhook_event *ev = &b->events[b->nevents];
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->field = c->field;
	ev->waba_id = c->waba_id;
	ev->phone_number_id = c->phone_number_id;
	ev->display_phone_number = c->display_phone_number;
	ev->item = item;
	ev->entry = c->entry;
	ev->change = c->change;
	ev->index = index;
	const char *why = fillers[kind](c, ev, item);
	if (why) {
		reject(p, c->entry, c->change, index, array, why);
		return;
	}
	if (dedupe_seen(&p->dd, b->events, b->nevents)) {
		b->nduplicates++;
		return;
	}
	b->nevents++;
}

static void parse_change(struct parse *p, struct chg *c, const json_t *change)
{
	json_t *value;
	const char *why = change_check(change, &c->field, &value);
	if (why) {
		reject(p, c->entry, c->change, -1, NULL, why);
		return;
	}
	c->value = value;
	json_t *meta = object_member(value, "metadata");
	c->phone_number_id = json_str(meta, "phone_number_id");
	c->display_phone_number = json_str(meta, "display_phone_number");
	c->contacts = json_object_get(value, "contacts");

	const struct field_spec *spec = field_lookup(c->field);
	if (!spec->arrays[0].key) {
		add_item(p, c, spec->value_kind, NULL, -1, value);
		return;
	}
	for (size_t k = 0; k < MAX_ARRAYS && spec->arrays[k].key; k++) {
		const struct item_array *ia = &spec->arrays[k];
		json_t *a = json_object_get(value, ia->key);
		if (!a)
			continue;
		if (!json_is_array(a)) {
			reject(p, c->entry, c->change, -1, ia->key, "not an array");
			continue;
		}
		size_t i;
		json_t *item;
		json_array_foreach(a, i, item) add_item(p, c, ia->kind, ia->key, (int)i, item);
	}
}

static void parse_entries(struct parse *p, const json_t *entries)
{
	size_t i, j;
	json_t *entry, *change;
	json_array_foreach(entries, i, entry)
	{
		const char *waba;
		json_t *changes;
		const char *why = entry_check(entry, &waba, &changes);
		if (why) {
			reject(p, (int)i, -1, -1, NULL, why);
			continue;
		}
		struct chg c = {0};
		c.waba_id = waba;
		c.entry = (int)i;
		int64_t ms;
		if (seconds_to_ms(json_object_get(entry, "time"), &ms) == 0)
			c.entry_time_ms = ms;
		json_array_foreach(changes, j, change)
		{
			struct chg cc = c;
			cc.change = (int)j;
			parse_change(p, &cc, change);
		}
	}
}

int webhook_parse(const char *body, size_t len, struct webhook_batch **out)
{
	struct webhook_batch *b = NULL;
	struct parse p = {0};
	json_t *root = NULL;
	json_t *entries;
	const char *object;
	struct json_error je;
	size_t total;
	int rc;

	if (!out || (!body && len))
		return CW_EINVAL;
	*out = NULL;
	root = json_parse_body(body, len, &je);
	if (!root || !json_is_object(root)) {
		rc = CW_EPARSE;
		goto fail;
	}
	object = json_str(root, "object");
	entries = json_object_get(root, "entry");
	if (!object || strcmp(object, WABA_OBJECT) != 0 || !json_is_array(entries)) {
		rc = CW_EPARSE;
		goto fail;
	}
	if (json_array_size(entries) > WEBHOOK_MAX_ENTRIES) {
		rc = CW_ETOOBIG;
		goto fail;
	}
	rc = count_items(entries, &total);
	if (rc)
		goto fail;

	b = xcalloc(1, sizeof *b);
	p.b = b;
	p.cap = total;
	if (total) {
		b->events = xcalloc(total, sizeof *b->events);
		b->rejected = xcalloc(total, sizeof *b->rejected);
		size_t slots = 16;
		while (slots < 2 * total)
			slots *= 2;
		p.dd.slots = xcalloc(slots, sizeof *p.dd.slots);
		p.dd.mask = slots - 1;
	}
	parse_entries(&p, entries);
	free(p.dd.slots);
	b->root = root;
	*out = b;
	return 0;

fail:
	json_decref(root);
	webhook_batch_free(b);
	return rc;
}

void webhook_batch_free(struct webhook_batch *b)
{
	if (!b)
		return;
	json_decref(b->root);
	free(b->events);
	free(b->rejected);
	free(b);
}
