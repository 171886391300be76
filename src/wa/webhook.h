/*
 * webhook.h — the WhatsApp Cloud API webhook parser: one POST body → a batch
 * of normalised events.
 *
 * Place (DESIGN.md §2): http/ receives POST /webhooks/whatsapp, checks the
 * X-Hub-Signature-256 with sec_verify_hub_signature() (base/sec.h), stores the
 * raw body durably, acknowledges, and the ingest worker then calls
 * webhook_parse() on that body and walks the events. This module only parses;
 * it knows the Cloud API's shapes and nothing of clinics, contacts or storage.
 *
 * A body looks like
 *
 *	{"object":"whatsapp_business_account",
 *	 "entry":[{"id":"<WABA id>","time":1700000000,
 *	           "changes":[{"field":"messages","value":{...}}]}]}
 *
 * and each change yields zero or more items: value.messages[], value.statuses[],
 * value.errors[], value.user_preferences[], value.groups[], or the value itself
 * for the template / phone quality / account fields. Every item becomes one
 * struct webhook_event, or one struct webhook_reject when that item alone is
 * unusable (no id, a timestamp such as "asdf", wrong JSON types...): one bad
 * item never loses the rest of the batch. Meta's own duplicates inside one
 * body are dropped and counted.
 *
 *	struct webhook_batch *b;
 *	int rc = webhook_parse(body, len, &b);
 *	if (rc)
 *		return rc;                     (CW_EPARSE or CW_ETOOBIG)
 *	for (size_t i = 0; i < b->nevents; i++) {
 *		const struct webhook_event *ev = &b->events[i];
 *		if (ev->kind == WH_STATUS)
 *			... ev->status.wamid, ev->status.status ...
 *	}
 *	webhook_batch_free(b);
 *
 * Every const char * in the structs below is borrowed from the batch's parsed
 * JSON and is valid until webhook_batch_free(); NULL means "absent or not a
 * string". Strings are valid UTF-8 without NUL bytes (the JSON parser rejects
 * anything else).
 */
#ifndef CW_WA_WEBHOOK_H
#define CW_WA_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* At most this many entry[] objects in one body; Meta batches up to 1,000. */
#define WEBHOOK_MAX_ENTRIES 1000
/* At most this many items (events, rejects and duplicates together) in one
 * body; a malformed entry or change, or a change that carries no item at
 * all, counts as one. */
#define WEBHOOK_MAX_EVENTS 10000

enum webhook_kind {
	WH_MESSAGE = 0,       /* value.messages[]: something a user sent */
	WH_STATUS,            /* value.statuses[]: sent/delivered/read/failed... */
	WH_ERROR,             /* value.errors[]: an error not tied to one message */
	WH_TEMPLATE_STATUS,   /* field message_template_status_update */
	WH_TEMPLATE_CATEGORY, /* field template_category_update */
	WH_TEMPLATE_QUALITY,  /* field message_template_quality_update */
	WH_PHONE_QUALITY,     /* field phone_number_quality_update */
	WH_USER_PREFERENCE,   /* field user_preferences: value.user_preferences[] */
	WH_ACCOUNT_UPDATE,    /* field account_update */
	WH_GROUP_UPDATE,      /* fields group_*_update: value.groups[] */
	WH_OTHER,             /* any other field; only item and the header are set */
	WH_KIND_COUNT_
};

enum webhook_msg_type {
	WH_MSG_TEXT = 0, /* also a click-to-WhatsApp ad reply: see msg.referral */
	WH_MSG_IMAGE,
	WH_MSG_AUDIO,    /* msg.media.voice tells a voice note recorded in the app */
	WH_MSG_VOICE,    /* the older "type":"voice" form; media in msg.media */
	WH_MSG_VIDEO,
	WH_MSG_DOCUMENT,
	WH_MSG_STICKER,
	WH_MSG_LOCATION,
	WH_MSG_CONTACTS,
	WH_MSG_BUTTON,      /* a template quick-reply tap: msg.button */
	WH_MSG_INTERACTIVE, /* button_reply / list_reply / nfm_reply: msg.interactive */
	WH_MSG_REACTION,
	WH_MSG_ORDER,
	WH_MSG_SYSTEM, /* number or identity change: msg.system */
	WH_MSG_UNSUPPORTED,
	WH_MSG_REQUEST_WELCOME,
	WH_MSG_UNKNOWN, /* a type this parser does not know (msg.type_str has it) */
	WH_MSG_TYPE_COUNT_
};

enum webhook_interactive_type {
	WH_IA_NONE = 0, /* no "interactive" object */
	WH_IA_BUTTON_REPLY,
	WH_IA_LIST_REPLY,
	WH_IA_NFM_REPLY, /* a WhatsApp Flow's answer */
	WH_IA_OTHER,     /* some other interactive.type (interactive.type_str) */
};

/* Delivery status. The order here is not the order of a message's life:
 * the ingest worker decides what may follow what. */
enum webhook_status {
	WH_ST_SENT = 0,
	WH_ST_DELIVERED,
	WH_ST_READ,
	WH_ST_FAILED,
	WH_ST_PLAYED,  /* a voice message was played */
	WH_ST_DELETED, /* the user deleted the message */
	WH_ST_UNKNOWN, /* any other value ("in_orbit"): status.status_str has it */
	WH_ST_COUNT_
};

/* One Cloud API error object ({code,title,message,error_data.details,href}). */
struct webhook_error {
	bool has_code;
	long long code; /* 0 is a real code ("unable to authenticate the app user") */
	const char *title;
	const char *message;
	const char *details; /* error_data.details, or a top-level "details" */
	const char *href;
};

/* An inbound media object (image, audio, voice, video, document, sticker). */
struct webhook_media {
	const char *id;
	const char *mime_type;
	const char *sha256;
	const char *caption;
	const char *filename;
	const char *url; /* present in newer payloads; still needs the access token */
	bool animated;   /* stickers */
	bool voice;      /* audio recorded as a voice note, or the older "voice" type */
};

struct webhook_message {
	const char *wamid;          /* messages[].id; never NULL */
	const char *from;           /* the sender's wa_id (phone digits); may be NULL */
	const char *from_user_id;   /* business-scoped user id (BSUID); may be NULL */
	const char *parent_user_id; /* from_parent_user_id or the contact's parent_user_id */
	const char *profile_name;   /* contacts[].profile.name of the sender */
	const char *username;       /* contacts[].profile.username */
	const char *group_id;       /* set when sent in a group */
	enum webhook_msg_type type;
	const char *type_str; /* the raw "type"; NULL when absent */

	const char *text; /* text.body */

	struct {
		enum webhook_interactive_type type;
		const char *type_str;
		const char *reply_id; /* button_reply.id / list_reply.id */
		const char *reply_title;
		const char *reply_description; /* list_reply.description */
		const char *nfm_name;
		const char *nfm_body;
		const char *nfm_response_json; /* a JSON document, as a string */
	} interactive;

	struct {
		const char *payload;
		const char *text;
	} button;

	struct webhook_media media;

	struct {
		bool has_location; /* latitude and longitude were both numbers */
		double latitude;
		double longitude;
		const char *name;
		const char *address;
		const char *url;
	} location;

	struct {
		const char *message_id; /* the message reacted to */
		const char *emoji;      /* NULL or "" when the reaction was removed */
		bool is_unreaction;
	} reaction;

	struct {
		const char *from; /* context.from: who sent the message replied to */
		const char *id;   /* context.id: the wamid replied to / tapped on */
		bool forwarded;
		bool frequently_forwarded;
		const char *referred_catalog_id; /* context.referred_product */
		const char *referred_product_retailer_id;
	} context;

	struct {
		const char *source_url; /* NULL when the message has no referral */
		const char *source_id;
		const char *source_type;
		const char *headline;
		const char *body;
		const char *media_type;
		const char *image_url;
		const char *video_url;
		const char *thumbnail_url;
		const char *ctwa_clid;
		bool present;
	} referral;

	struct {
		const char *type;  /* user_changed_number, customer_identity_changed... */
		const char *body;
		const char *wa_id; /* the new wa_id after user_changed_number */
		const char *identity_hash;
		bool identity_acknowledged;
		int64_t identity_created_ms; /* 0 when absent */
	} system;

	size_t ncontacts; /* shared contact cards (type contacts) */

	struct {
		const char *catalog_id;
		const char *text;
		size_t nitems; /* product_items[] */
	} order;

	const char *unsupported_type; /* unsupported.type, e.g. "poll" */

	struct webhook_error error; /* the first of messages[].errors[] */
	size_t nerrors;
};

struct webhook_status_update {
	const char *wamid; /* statuses[].id; never NULL */
	enum webhook_status status;
	const char *status_str; /* the raw value; never NULL */
	const char *recipient_id;
	const char *recipient_user_id;        /* BSUID */
	const char *parent_recipient_user_id;
	const char *recipient_type;           /* "group" for group messages */
	const char *recipient_participant_id; /* group member the status is about */
	const char *recipient_participant_user_id;
	const char *biz_opaque_callback_data; /* what we attached when sending */
	const char *conversation_id;
	const char *conversation_origin;     /* conversation.origin.type */
	int64_t conversation_expiration_ms;  /* 0 when absent or unreadable */
	int billable;                        /* pricing.billable: 1, 0, or -1 when absent */
	const char *pricing_model;           /* CBP, PMP */
	const char *pricing_category;
	const char *pricing_type;
	struct webhook_error error; /* the first of statuses[].errors[] */
	size_t nerrors;
};

/* message_template_status_update, template_category_update and
 * message_template_quality_update share this. */
struct webhook_template {
	const char *event;               /* APPROVED, REJECTED, PAUSED... */
	const char *message_template_id; /* as a string even when the JSON has a number */
	const char *name;
	const char *language;
	const char *reason;
	const char *category; /* message_template_category */
	const char *previous_category;
	const char *new_category;
	const char *correct_category;
	const char *previous_quality_score;
	const char *new_quality_score;
	const char *rejection_reason; /* rejection_info.reason */
	char id_buf_[24];             /* private: holds a numeric id's digits */
};

struct webhook_phone_quality {
	const char *display_phone_number;
	const char *event;         /* FLAGGED, UNFLAGGED, UPGRADE, THROUGHPUT_UPGRADE... */
	const char *current_limit; /* TIER_1K... TIER_UNLIMITED */
	const char *old_limit;
	const char *throughput_level; /* throughput.level when present */
};

struct webhook_user_pref {
	const char *wa_id;
	const char *user_id;
	const char *detail;
	const char *category; /* marketing_messages */
	const char *value;    /* stop, resume, signup... */
};

struct webhook_account {
	const char *event; /* ACCOUNT_RESTRICTION, DISABLED_UPDATE, PARTNER_ADDED... */
	const char *violation_type;   /* violation_info.violation_type */
	const char *ban_state;        /* ban_info.waba_ban_state */
	const char *ban_date;         /* ban_info.waba_ban_date */
	size_t nrestrictions;         /* restriction_info[] */
	const char *restriction_type; /* the first restriction_info[].restriction_type */
	const char *country;          /* BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE */
	const char *waba_id;          /* waba_info.waba_id */
	const char *owner_business_id;
	const char *partner_app_id;
	const char *disconnection_reason; /* disconnection_info.reason */
};

struct webhook_group {
	const char *group_id;
	const char *type; /* group_create, group_settings_update... */
	const char *request_id;
	const char *subject;
	size_t nadded;   /* added_participants[] */
	size_t nremoved; /* removed_participants[] */
};

struct webhook_event {
	enum webhook_kind kind;
	const char *field;                /* the change's "field"; never NULL */
	const char *waba_id;              /* entry.id; never NULL */
	const char *phone_number_id;      /* value.metadata; may be NULL */
	const char *display_phone_number; /* value.metadata (or value for phone quality) */
	/* The item's own timestamp (Meta sends seconds, as a string or a number),
	 * else entry.time, else 0; in milliseconds since the epoch. */
	int64_t timestamp_ms;
	json_t *item; /* borrowed: the raw item (or the change's value) */
	/* Where it was: entry[], changes[], and the item's place in its array
	 * (-1 when the item is the change's value itself). */
	int entry, change, index;
	/* Only the member named by kind is meaningful (none for WH_OTHER). */
	union {
		struct webhook_message msg;
		struct webhook_status_update status;
		struct webhook_error error;
		struct webhook_template tmpl; /* the three template kinds */
		struct webhook_phone_quality phone;
		struct webhook_user_pref pref;
		struct webhook_account account;
		struct webhook_group group;
	};
};

/* One part of the body that was skipped. Indices are -1 when the reject is
 * about a whole entry (change and index -1) or a whole change (index -1). */
struct webhook_reject {
	int entry;
	int change;
	int index;
	const char *array;  /* "messages", "statuses"...; NULL for a whole entry/change/value */
	const char *reason; /* static English text, e.g. "invalid timestamp" */
};

struct webhook_batch {
	json_t *root; /* the parsed body; owns every borrowed string */
	size_t nevents;
	struct webhook_event *events;
	size_t nrejected;
	struct webhook_reject *rejected;
	size_t nduplicates; /* items dropped as duplicates of an earlier one */
};

/* Parses a webhook body of len bytes (need not be NUL-terminated). On success
 * returns 0 and *out is a new batch (possibly with no events); caller frees
 * with webhook_batch_free(). Returns CW_EPARSE when the body is not JSON, not
 * valid UTF-8, not an object, or lacks "object":"whatsapp_business_account"
 * and an "entry" array; CW_ETOOBIG over WEBHOOK_MAX_ENTRIES entries or
 * WEBHOOK_MAX_EVENTS items; CW_EINVAL when out is NULL, or body is NULL with
 * len > 0 (a NULL or empty body is CW_EPARSE). On error *out
 * is NULL. Items in the same body with the same kind and wamid (and, for
 * statuses, the same status and group participant) are kept once. */
int webhook_parse(const char *body, size_t len, struct webhook_batch **out);

/* Frees a batch from webhook_parse(); every borrowed pointer dies with it.
 * Accepts NULL. */
void webhook_batch_free(struct webhook_batch *b);

/* Static snake_case names: "message", "template_status"...; "?" if unknown. */
const char *webhook_kind_name(enum webhook_kind kind);
/* "sent", "delivered", "read", "failed", "played", "deleted", "unknown". */
const char *webhook_status_name(enum webhook_status status);
/* "text", "image"..., "unknown". */
const char *webhook_msg_type_name(enum webhook_msg_type type);

#endif
