/*
 * msg.h — outbound WhatsApp Cloud API messages: plain structs, the request
 * JSON they become, and the API's limits checked before anything is sent.
 *
 * Place: src/wa (knows the Cloud API, nothing of clinics). Producers in core/
 * fill a struct wa_msg; wa_msg_encode() turns it into the exact body of
 * POST /{version}/{phone-number-id}/messages and runs wa_msg_validate_json()
 * on it, so a message that Meta would refuse for a length, a count or a
 * missing field is refused here with the field named:
 *
 *	struct wa_msg m = {.to = "972521234567", .type = WA_MSG_INTERACTIVE};
 *	m.interactive.type = WA_INTERACTIVE_BUTTON;
 *	m.interactive.body = "Will you come?";
 *	m.interactive.buttons[0] = (struct wa_msg_button){"yes", "I'll come"};
 *	m.interactive.buttons[1] = (struct wa_msg_button){"no", "I won't"};
 *	m.interactive.nbuttons = 2;
 *	json_t *req;
 *	struct wa_msg_error err;
 *	if (wa_msg_encode(&m, &req, &err)) -> err.field "interactive.action.buttons[1].reply.title"
 *
 * Every limit lives once, in the table in msg.c; the simulator and the HTTP
 * API validate bodies that were built elsewhere with wa_msg_validate_json().
 * Lengths are counted in Unicode code points, not bytes: a 20-letter Hebrew
 * title is 20, as WhatsApp counts it.
 *
 * All strings in these structs are borrowed (the caller keeps them alive
 * during wa_msg_encode()); NULL means "absent". Strings must be UTF-8.
 */
#ifndef CW_WA_MSG_H
#define CW_WA_MSG_H

#include <jansson.h>
#include <stddef.h>

/* Capacities of the arrays below. The first three are also Meta's limits and
 * the validation table in msg.c uses these same constants. */
#define WA_MSG_MAX_BUTTONS	 3  /* reply buttons in an interactive message */
#define WA_MSG_MAX_SECTIONS	 10 /* sections in a list */
#define WA_MSG_MAX_ROWS		 10 /* rows in a list, all sections together */
#define WA_MSG_MAX_HEADER_PARAMS 1  /* a template header has one variable */
#define WA_MSG_MAX_TPL_BUTTONS	 10 /* template buttons (index 0..9) */
/* Capacity only (Meta fixes no number): body parameters of one template. */
#define WA_MSG_MAX_BODY_PARAMS 32

enum wa_msg_type {
	WA_MSG_TEXT = 0,
	WA_MSG_TEMPLATE,
	WA_MSG_INTERACTIVE,
	WA_MSG_LOCATION,
	WA_MSG_IMAGE,
	WA_MSG_DOCUMENT,
	WA_MSG_AUDIO,
	WA_MSG_VIDEO,
	WA_MSG_STICKER,
	WA_MSG_REACTION,
};

/* Template parameter types (the "type" of one entry of "parameters"). */
enum wa_tpl_param_type {
	WA_PARAM_TEXT = 0,
	WA_PARAM_CURRENCY,
	WA_PARAM_DATE_TIME,
	WA_PARAM_IMAGE,
	WA_PARAM_DOCUMENT,
	WA_PARAM_PAYLOAD,
};

/* One template parameter. Which members are read depends on type:
 *	TEXT       text
 *	CURRENCY   text (fallback_value), currency_code (ISO 4217), amount_1000
 *	DATE_TIME  text (fallback_value)
 *	IMAGE      link or id
 *	DOCUMENT   link or id, filename
 *	PAYLOAD    text (the quick-reply payload returned when tapped)
 * name, when set, is the "parameter_name" of a template with named
 * parameters ({{first_name}}); positional templates leave it NULL. */
struct wa_tpl_param {
	enum wa_tpl_param_type type;
	const char *name;
	const char *text;
	const char *currency_code;
	long long amount_1000;
	const char *link;
	const char *id;
	const char *filename;
};

/* A template button component. sub_type is "quick_reply" when NULL (then
 * param is a PAYLOAD), or "url" (param is the TEXT suffix of the URL). */
struct wa_tpl_button {
	const char *sub_type;
	int index; /* 0..9, the button's position in the approved template */
	struct wa_tpl_param param;
};

struct wa_msg_template {
	const char *name;
	const char *language; /* "he", "ru", "en_US" */
	size_t nheader;
	struct wa_tpl_param header[WA_MSG_MAX_HEADER_PARAMS];
	size_t nbody;
	struct wa_tpl_param body[WA_MSG_MAX_BODY_PARAMS];
	size_t nbuttons;
	struct wa_tpl_button buttons[WA_MSG_MAX_TPL_BUTTONS];
};

enum wa_interactive_type {
	WA_INTERACTIVE_BUTTON = 0, /* up to 3 reply buttons */
	WA_INTERACTIVE_LIST,	   /* a menu of rows in sections */
};

struct wa_msg_button {
	const char *id;	   /* returned in the button_reply webhook; <= 256 */
	const char *title; /* <= 20 characters, unique in the message */
};

struct wa_msg_row {
	const char *id;		 /* <= 200 characters, unique in the message */
	const char *title;	 /* <= 24 characters */
	const char *description; /* optional, <= 72 characters */
};

struct wa_msg_section {
	const char *title; /* <= 24; required when there is more than one section */
	size_t nrows;
	struct wa_msg_row rows[WA_MSG_MAX_ROWS];
};

struct wa_msg_interactive {
	enum wa_interactive_type type;
	const char *header_text; /* optional text header, <= 60 */
	const char *body;	 /* required, <= 1024 */
	const char *footer;	 /* optional, <= 60 */
	/* WA_INTERACTIVE_BUTTON */
	size_t nbuttons;
	struct wa_msg_button buttons[WA_MSG_MAX_BUTTONS];
	/* WA_INTERACTIVE_LIST */
	const char *list_button; /* the text of the button that opens the list, <= 20 */
	size_t nsections;
	struct wa_msg_section sections[WA_MSG_MAX_SECTIONS];
};

/* Media by link (an https URL Meta downloads) or by id (an uploaded media
 * object): exactly one of the two. caption: image, video, document only;
 * filename: document only. */
struct wa_msg_media {
	const char *link;
	const char *id;
	const char *caption;
	const char *filename;
};

struct wa_msg_location {
	double latitude;
	double longitude;
	const char *name;
	const char *address;
};

struct wa_msg_reaction {
	const char *message_id; /* the wamid reacted to */
	const char *emoji;	/* "" removes an earlier reaction */
};

/* One outbound message. Only the member for type is read (media for the five
 * media types). Zero-initialise, then fill. */
struct wa_msg {
	const char *to; /* the recipient's wa_id or phone number */
	enum wa_msg_type type;
	const char *reply_to; /* optional: context.message_id (a wamid) */
	/* optional: echoed in status webhooks; carewire puts its outbox id here
	 * to reconcile after a crash. <= 512 characters. */
	const char *biz_opaque_callback_data;

	struct {
		const char *body; /* <= 4096 characters */
		int preview_url;
	} text;
	struct wa_msg_template tpl; /* the request's "template" */
	struct wa_msg_interactive interactive;
	struct wa_msg_location location;
	struct wa_msg_media media;
	struct wa_msg_reaction reaction;
};

/* Where and why a message was refused. field is a path into the request JSON,
 * e.g. "interactive.action.buttons[1].reply.title" or "to". */
struct wa_msg_error {
	char field[64];
	char message[200];
};

/* Encodes m as the Cloud API request body ({"messaging_product":"whatsapp",
 * "recipient_type":"individual","to",...,"type",...}) and validates it with
 * wa_msg_validate_json(). On success returns 0 and *out is a new reference
 * (caller json_decref()s it). On failure returns CW_EINVAL with err filled
 * (err may be NULL) and *out set to NULL. */
int wa_msg_encode(const struct wa_msg *m, json_t **out, struct wa_msg_error *err);

/* Checks an already-built request body for POST .../messages against Meta's
 * limits: required fields per type, lengths in characters, counts, unique
 * button titles and ids, number ranges. Accepts message bodies and read
 * receipts ({"status":"read","message_id",...}). A message without "type" is
 * a text message, as the API defaults it. Returns 0 or CW_EINVAL with err
 * filled (err may be NULL); the first problem found is reported. */
int wa_msg_validate_json(const json_t *req, struct wa_msg_error *err);

/* Builds a read receipt for the inbound message wamid, with the typing
 * indicator ({"typing_indicator":{"type":"text"}}) when typing is non-zero.
 * Returns 0 and a new reference in *out, or CW_EINVAL (wamid NULL or empty,
 * or not UTF-8). */
int wa_msg_encode_read(const char *wamid, int typing, json_t **out);

/* Counts the parameters a template object (the request's "template" member)
 * carries in its body and header components; either pointer may be NULL.
 * Absent components count 0. Returns 0, or CW_EINVAL when template_obj is not
 * an object or its components are malformed. */
int wa_msg_template_param_count(const json_t *template_obj, int *body, int *header);

/* The maximum of a limit in the validation table, by its path pattern
 * ("interactive.action.buttons[].reply.title" -> 20,
 *  "interactive.action.buttons" -> 3), so that callers shortening text to fit
 * read the same number. Returns -1 when the table has no such limit. */
long wa_msg_limit(const char *pattern);

/* Number of Unicode code points in the first len bytes of UTF-8 s (continuation
 * bytes are not counted). */
size_t wa_msg_utf8_chars(const char *s, size_t len);

#endif
