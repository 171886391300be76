/*
 * test_webhook.c — unit tests for wa/webhook: every webhook payload in the
 * shared fixtures (CW_FIXTURES) parsed and its fields checked against the
 * values in the files; the limits; rejects of single bad items; duplicates;
 * and hostile bodies (truncated, malformed, wrong types everywhere, invalid
 * UTF-8) that must give an error code and never a crash.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "wa/webhook.h"
#include "base/banned.h"

#define assert_str(actual, expected)                                                               \
	do {                                                                                       \
		const char *a_ = (actual);                                                         \
		assert_non_null(a_);                                                               \
		assert_string_equal(a_, (expected));                                               \
	} while (0)

#define assert_prefix(actual, prefix)                                                              \
	do {                                                                                       \
		const char *a_ = (actual);                                                         \
		assert_non_null(a_);                                                               \
		assert_int_equal(strncmp(a_, (prefix), strlen(prefix)), 0);                        \
	} while (0)

#define assert_near(actual, expected) assert_true(fabs((actual) - (expected)) < 1e-9)

/* ---- helpers -------------------------------------------------------------- */

static void fixture_path(char *out, size_t n, const char *rel)
{
	const char *dir = getenv("CW_FIXTURES");
	assert_non_null(dir);
	int w = snprintf(out, n, "%s/%s", dir, rel);
	assert_true(w > 0 && (size_t)w < n);
}

static char *read_fixture(const char *rel, size_t *len)
{
	char path[1024];
	fixture_path(path, sizeof path, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	struct buf b;
	buf_init(&b, 0);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	return buf_detach(&b, len);
}

static json_t *load_json(const char *rel)
{
	char path[1024];
	fixture_path(path, sizeof path, rel);
	json_error_t je;
	json_t *v = json_load_file(path, 0, &je);
	if (!v)
		fail_msg("%s: %s", path, je.text);
	return v;
}

static int parse_str(const char *s, struct webhook_batch **b)
{
	return webhook_parse(s, strlen(s), b);
}

/* Parses a JSON value as a body; asserts webhook_parse returned 0. */
static struct webhook_batch *parse_json(const json_t *payload)
{
	char *s = json_dumps(payload, JSON_COMPACT);
	assert_non_null(s);
	struct webhook_batch *b = NULL;
	int rc = parse_str(s, &b);
	free(s);
	assert_int_equal(rc, 0);
	assert_non_null(b);
	return b;
}

/* One whole fixture file as a body. */
static struct webhook_batch *parse_file(const char *rel)
{
	size_t len;
	char *body = read_fixture(rel, &len);
	struct webhook_batch *b = NULL;
	int rc = webhook_parse(body, len, &b);
	free(body);
	assert_int_equal(rc, 0);
	return b;
}

/* One named example of a file that maps case names to payloads. */
static struct webhook_batch *parse_case(const char *rel, const char *name)
{
	json_t *all = load_json(rel);
	json_t *payload = json_object_get(all, name);
	if (!payload)
		fail_msg("%s has no case %s", rel, name);
	struct webhook_batch *b = parse_json(payload);
	json_decref(all);
	return b;
}

/* The batch's only event, which must be of this kind, with nothing rejected. */
static const struct webhook_event *only(const struct webhook_batch *b, enum webhook_kind kind)
{
	assert_int_equal(b->nrejected, 0);
	assert_int_equal(b->nduplicates, 0);
	assert_int_equal(b->nevents, 1);
	assert_int_equal(b->events[0].kind, kind);
	return &b->events[0];
}

/* ---- courier fixtures ------------------------------------------------------ */

static void check_courier_header(const struct webhook_event *ev)
{
	assert_str(ev->field, "messages");
	assert_str(ev->waba_id, "8856996819413533");
	assert_str(ev->phone_number_id, "1234567890");
	assert_str(ev->display_phone_number, "+250 788 123 200");
	assert_int_equal(ev->timestamp_ms, 1454119029000LL);
	assert_int_equal(ev->entry, 0);
	assert_int_equal(ev->change, 0);
	assert_int_equal(ev->index, 0);
	assert_non_null(ev->item);
}

static const struct webhook_message *courier_msg(struct webhook_batch *b,
						 enum webhook_msg_type type)
{
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	check_courier_header(ev);
	assert_str(ev->msg.wamid, "external_id");
	assert_int_equal(ev->msg.type, type);
	return &ev->msg;
}

static void test_courier_hello(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/hello.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_TEXT);
	assert_str(m->type_str, "text");
	assert_str(m->from, "5678");
	assert_null(m->from_user_id);
	assert_str(m->profile_name, "Kerry Fisher");
	assert_null(m->username);
	assert_str(m->text, "Hello World");
	assert_null(m->group_id);
	assert_null(m->context.id);
	assert_false(m->referral.present);
	assert_int_equal(m->nerrors, 0);
	assert_int_equal(m->interactive.type, WH_IA_NONE);
	webhook_batch_free(b);
}

static void test_courier_duplicate(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/duplicate.json");
	assert_int_equal(b->nevents, 1);
	assert_int_equal(b->nduplicates, 1);
	assert_int_equal(b->nrejected, 0);
	assert_str(b->events[0].msg.wamid, "external_id");
	assert_str(b->events[0].msg.text, "Hello World");
	assert_int_equal(b->events[0].index, 0); /* the first one is kept */
	webhook_batch_free(b);
}

static void test_courier_button(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/button.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_BUTTON);
	assert_str(m->button.payload, "No-Button-Payload");
	assert_str(m->button.text, "No");
	assert_str(m->context.from, "5678");
	assert_str(m->context.id, "gBGGFmkiWVVPAgkgQkwi7IORac0");
	assert_null(m->text);
	webhook_batch_free(b);
}

static void test_courier_button_reply(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/button_reply.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_INTERACTIVE);
	assert_int_equal(m->interactive.type, WH_IA_BUTTON_REPLY);
	assert_str(m->interactive.type_str, "button_reply");
	assert_str(m->interactive.reply_id, "id_button_reply");
	assert_str(m->interactive.reply_title, "Yes");
	assert_null(m->interactive.reply_description);
	webhook_batch_free(b);
}

static void test_courier_list_reply(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/list_reply.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_INTERACTIVE);
	assert_int_equal(m->interactive.type, WH_IA_LIST_REPLY);
	assert_str(m->interactive.reply_id, "id_list_reply");
	assert_str(m->interactive.reply_title, "Yes");
	assert_null(m->interactive.reply_description);
	webhook_batch_free(b);
}

static void test_courier_nfm_reply(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/nfm_reply.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_INTERACTIVE);
	assert_int_equal(m->interactive.type, WH_IA_NFM_REPLY);
	assert_str(m->interactive.nfm_name, "flow");
	assert_str(m->interactive.nfm_body, "Sent");
	assert_null(m->interactive.reply_id);
	json_t *resp = json_loads(m->interactive.nfm_response_json, 0, NULL);
	assert_non_null(resp);
	assert_str(json_string_value(json_object_get(resp, "flow_token")), "fl0w+t0k3n");
	assert_str(json_string_value(json_object_get(resp, "first_name")), "Bob");
	json_decref(resp);
	webhook_batch_free(b);
}

static void test_courier_location(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/location.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_LOCATION);
	assert_true(m->location.has_location);
	assert_near(m->location.latitude, 0.0);
	assert_near(m->location.longitude, 1.0);
	assert_str(m->location.name, "Main Street Beach");
	assert_str(m->location.address, "Main Street Beach, Santa Cruz, CA");
	assert_str(m->location.url, "https://foursquare.com/v/4d7031d35b5df7744");
	webhook_batch_free(b);
}

static void test_courier_image(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/image.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_IMAGE);
	assert_str(m->media.id, "id_image");
	assert_str(m->media.mime_type, "image/jpeg");
	assert_str(m->media.sha256, "29ed500fa64eb55fc19dc4124acb300e5dcc54a0f822a301ae99944db");
	assert_str(m->media.caption, "Check out my new phone!");
	assert_null(m->media.filename);
	assert_false(m->media.voice);
	webhook_batch_free(b);
}

static void test_courier_document(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/document.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_DOCUMENT);
	assert_str(m->media.id, "id_document");
	assert_str(m->media.mime_type, "application/pdf");
	assert_str(m->media.caption, "80skaraokesonglistartist");
	assert_str(m->media.sha256,
		   "3b11fa6ef2bde1dd14726e09d3edaf782120919d06f6484f32d5d5caa4b8e");
	webhook_batch_free(b);
}

static void test_courier_voice(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/voice.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_VOICE);
	assert_str(m->type_str, "voice");
	assert_true(m->media.voice);
	assert_str(m->media.id, "id_voice");
	assert_str(m->media.mime_type, "audio/ogg; codecs=opus");
	webhook_batch_free(b);
}

static void test_courier_error_msg(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/error_msg.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_UNSUPPORTED);
	assert_int_equal(m->nerrors, 1);
	assert_true(m->error.has_code);
	assert_int_equal(m->error.code, 131051);
	assert_str(m->error.title, "Unsupported message type");
	assert_str(m->error.details, "Message type is not currently supported");
	assert_str(m->text, "Hello World");
	webhook_batch_free(b);
}

static void test_courier_error_errors(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/error_errors.json");
	const struct webhook_event *ev = only(b, WH_ERROR);
	assert_str(ev->waba_id, "8856996819413533");
	assert_str(ev->phone_number_id, "1234567890");
	assert_true(ev->error.has_code);
	assert_int_equal(ev->error.code, 0);
	assert_str(ev->error.title, "We were unable to authenticate the app user");
	assert_int_equal(ev->timestamp_ms, 0); /* neither the error nor the entry has a time */
	webhook_batch_free(b);
}

static const struct webhook_status_update *courier_status(struct webhook_batch *b,
							  enum webhook_status st)
{
	const struct webhook_event *ev = only(b, WH_STATUS);
	check_courier_header(ev);
	assert_str(ev->status.wamid, "external_id");
	assert_int_equal(ev->status.status, st);
	assert_str(ev->status.recipient_id, "5678");
	assert_str(ev->status.conversation_id, "CONVERSATION_ID");
	assert_str(ev->status.conversation_origin, "referral_conversion");
	/* expiration_timestamp is a JSON integer here, a string in Meta's docs */
	assert_int_equal(ev->status.conversation_expiration_ms, 1454119029000LL);
	assert_int_equal(ev->status.billable, 0);
	assert_str(ev->status.pricing_model, "CBP");
	assert_str(ev->status.pricing_category, "referral_conversion");
	return &ev->status;
}

static void test_courier_error_status(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/error_status.json");
	const struct webhook_status_update *s = courier_status(b, WH_ST_FAILED);
	assert_int_equal(s->nerrors, 1);
	assert_int_equal(s->error.code, 131014);
	assert_str(s->error.title,
		   "Request for url https://URL.jpg failed with error: 404 (Not Found)");
	webhook_batch_free(b);
}

static void test_courier_valid_status(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/valid_status.json");
	const struct webhook_status_update *s = courier_status(b, WH_ST_SENT);
	assert_str(s->status_str, "sent");
	assert_int_equal(s->nerrors, 0);
	assert_false(s->error.has_code);
	assert_null(s->biz_opaque_callback_data);
	webhook_batch_free(b);
}

static void test_courier_ignore_status(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/ignore_status.json");
	const struct webhook_status_update *s = courier_status(b, WH_ST_DELETED);
	assert_str(s->status_str, "deleted");
	webhook_batch_free(b);
}

static void test_courier_invalid_status(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/invalid_status.json");
	const struct webhook_status_update *s = courier_status(b, WH_ST_UNKNOWN);
	assert_str(s->status_str, "in_orbit");
	webhook_batch_free(b);
}

static void test_courier_group_message(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/group_message.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_TEXT);
	assert_str(m->group_id, "555555555");
	assert_str(m->text, "Hello World, group message");
	assert_str(m->from, "5678");
	webhook_batch_free(b);
}

static void test_courier_hello_user_id(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/hello_user_id.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_TEXT);
	assert_str(m->from, "5678");
	assert_str(m->from_user_id, "US.1234");
	assert_str(m->username, "@kfisher");
	assert_str(m->profile_name, "Kerry Fisher");
	assert_null(m->parent_user_id);
	webhook_batch_free(b);
}

static void test_courier_hello_from_bsuid(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/hello_from_bsuid.json");
	const struct webhook_message *m = courier_msg(b, WH_MSG_TEXT);
	assert_null(m->from); /* no wa_id anywhere: the user is known by BSUID only */
	assert_str(m->from_user_id, "US.1234");
	assert_str(m->parent_user_id, "US.ENT.5678");
	assert_str(m->username, "kfisher");
	assert_str(m->profile_name, "Kerry Fisher");
	assert_str(m->text, "Hello World");
	webhook_batch_free(b);
}

static void test_courier_no_from(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/no_from.json");
	assert_int_equal(b->nevents, 0);
	assert_int_equal(b->nrejected, 1);
	assert_int_equal(b->rejected[0].entry, 0);
	assert_int_equal(b->rejected[0].change, 0);
	assert_int_equal(b->rejected[0].index, 0);
	assert_str(b->rejected[0].array, "messages");
	assert_non_null(strstr(b->rejected[0].reason, "sender"));
	webhook_batch_free(b);
}

static void test_courier_invalid_timestamp(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("courier/invalid_timestamp.json");
	assert_int_equal(b->nevents, 0);
	assert_int_equal(b->nrejected, 1);
	assert_str(b->rejected[0].reason, "invalid timestamp");
	assert_str(b->rejected[0].array, "messages");
	assert_int_equal(b->rejected[0].index, 0);
	webhook_batch_free(b);

	/* Put next to a good message in the same change, only the bad one goes. */
	json_t *bad = load_json("courier/invalid_timestamp.json");
	json_t *good = load_json("courier/hello.json");
	json_t *msgs = json_path(bad, "entry.0.changes.0.value.messages");
	json_array_append(msgs, json_path(good, "entry.0.changes.0.value.messages.0"));
	b = parse_json(bad);
	assert_int_equal(b->nevents, 1);
	assert_int_equal(b->nrejected, 1);
	assert_int_equal(b->rejected[0].index, 0);
	assert_int_equal(b->events[0].index, 1);
	assert_str(b->events[0].msg.text, "Hello World");
	assert_int_equal(b->events[0].timestamp_ms, 1454119029000LL);
	webhook_batch_free(b);
	json_decref(bad);
	json_decref(good);
}

/* ---- pywa fixtures --------------------------------------------------------- */

static const struct webhook_message *pywa_msg(struct webhook_batch *b, const char *wamid,
					      enum webhook_msg_type type, int64_t ts_ms)
{
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->waba_id, "1234567890987654321");
	assert_str(ev->phone_number_id, "1122334455667");
	assert_str(ev->display_phone_number, "972123456789");
	assert_str(ev->msg.wamid, wamid);
	assert_int_equal(ev->msg.type, type);
	assert_int_equal(ev->timestamp_ms, ts_ms);
	assert_str(ev->msg.from, "972987654321");
	assert_str(ev->msg.from_user_id, "US.13491208655302741918");
	assert_str(ev->msg.parent_user_id, "US.ENT.11815799212886844830");
	assert_str(ev->msg.profile_name, "Test Name");
	return &ev->msg;
}

#define PYWA_MSG "pywa/message.json"

static void test_pywa_message_text_and_media(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(PYWA_MSG, "text");
	const struct webhook_message *m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_TEXT, 1697043223000);
	assert_str(m->text, "Body Text");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "image");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_IMAGE, 1697043379000);
	assert_str(m->media.id, "65463453");
	assert_str(m->media.sha256, "4654+8g=");
	assert_null(m->media.url);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "media_with_url");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_IMAGE, 1697043379000);
	assert_str(m->media.url,
		   "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
		   "?mid=65463453&source=webhook&ext=487r9re&hash=heiwchueowbcew-dnedcw");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "video");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_VIDEO, 1697044362000);
	assert_str(m->media.id, "765756756");
	assert_str(m->media.mime_type, "video/mp4");
	assert_str(m->media.caption, "caption");
	assert_true(m->context.forwarded);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "document");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_DOCUMENT, 1697043666000);
	assert_str(m->media.filename, "filename.pdf");
	assert_str(m->media.id, "1234567890987654321");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "audio");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_AUDIO, 1697043509000);
	assert_false(m->media.voice);
	assert_str(m->media.mime_type, "audio/ogg; codecs=opus");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "voice");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_AUDIO, 1697043473000);
	assert_true(m->media.voice);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "static_sticker");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_STICKER, 1697043760000);
	assert_false(m->media.animated);
	assert_str(m->media.mime_type, "image/webp");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "animated_sticker");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_STICKER, 1697043785000);
	assert_true(m->media.animated);
	webhook_batch_free(b);
}

static void test_pywa_message_reaction_location(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(PYWA_MSG, "reaction");
	const struct webhook_message *m =
		pywa_msg(b, "wamid.xyzxyz", WH_MSG_REACTION, 1697044456000);
	assert_str(m->reaction.message_id, "wamid.yzxyzx=");
	assert_str(m->reaction.emoji, "\xF0\x9F\x98\xAE"); /* U+1F62E from "\ud83d\ude2e" */
	assert_false(m->reaction.is_unreaction);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "unreaction_empty");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_REACTION, 1697044456000);
	assert_str(m->reaction.emoji, "");
	assert_true(m->reaction.is_unreaction);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "unreaction_no_emoji");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_REACTION, 1697044456000);
	assert_null(m->reaction.emoji);
	assert_true(m->reaction.is_unreaction);
	assert_str(m->reaction.message_id, "wamid.yzxyzx=");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "current_location");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_LOCATION, 1697044557000);
	assert_true(m->location.has_location);
	assert_near(m->location.latitude, 12.25089);
	assert_near(m->location.longitude, 43.90539);
	assert_null(m->location.name);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "chosen_location");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_LOCATION, 1697044557000);
	assert_near(m->location.latitude, 37.4611978);
	assert_near(m->location.longitude, -122.2164385);
	assert_str(m->location.name, "Facebook HQ");
	assert_str(m->location.address, "1 Hacker Way, Menlo Park, CA 94025");
	assert_str(m->location.url, "https://maps.google.com/?cid=2000000000000000000");
	webhook_batch_free(b);
}

static void test_pywa_message_other_types(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(PYWA_MSG, "contacts");
	const struct webhook_message *m =
		pywa_msg(b, "wamid.xyzxyz", WH_MSG_CONTACTS, 1697044621000);
	assert_int_equal(m->ncontacts, 3);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "order");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_ORDER, 1697044668000);
	assert_str(m->order.catalog_id, "354160437058781");
	assert_str(m->order.text, "");
	assert_int_equal(m->order.nitems, 3);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "unsupported");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_UNSUPPORTED, 1697044706000);
	assert_int_equal(m->nerrors, 1);
	assert_int_equal(m->error.code, 131051);
	assert_str(m->error.title, "Message type unknown");
	assert_str(m->error.message, "Message type unknown");
	assert_str(m->error.details, "Message type is currently not supported.");
	assert_null(m->unsupported_type);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "unsupported_with_type");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_UNSUPPORTED, 1697044706000);
	assert_str(m->unsupported_type, "pool");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "reply");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_TEXT, 1697044746000);
	assert_str(m->text, "replied text");
	assert_str(m->context.from, "972123456789");
	assert_str(m->context.id, "wamid.xyzxyz==");
	assert_false(m->context.forwarded);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "forwarded");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_TEXT, 1697044815000);
	assert_true(m->context.forwarded);
	assert_false(m->context.frequently_forwarded);
	assert_null(m->context.id);
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "forwarded_many_times");
	m = pywa_msg(b, "wamid.xyzxyz", WH_MSG_TEXT, 1697044968000);
	assert_true(m->context.frequently_forwarded);
	assert_str(m->text, "text forwarded many times");
	webhook_batch_free(b);

	b = parse_case(PYWA_MSG, "referral");
	m = pywa_msg(b, "wamid.ID", WH_MSG_TEXT, 1697045000000);
	assert_str(m->text, "BODY");
	assert_true(m->referral.present);
	assert_str(m->referral.source_url, "AD_OR_POST_FB_URL");
	assert_str(m->referral.source_id, "ADID");
	assert_str(m->referral.source_type, "ad or post");
	assert_str(m->referral.headline, "AD_TITLE");
	assert_str(m->referral.body, "AD_DESCRIPTION");
	assert_str(m->referral.media_type, "image or video");
	assert_str(m->referral.image_url, "RAW_IMAGE_URL");
	assert_str(m->referral.video_url, "RAW_VIDEO_URL");
	assert_str(m->referral.thumbnail_url, "RAW_THUMBNAIL_URL");
	assert_str(m->referral.ctwa_clid, "CTWA_CLID");
	webhook_batch_free(b);
}

static void test_pywa_message_with_value_errors(void **state)
{
	(void)state;
	/* An interactive message without its "interactive" object, and a
	 * value-level errors[] beside it: two events. */
	struct webhook_batch *b = parse_case(PYWA_MSG, "interactive_message_with_err");
	assert_int_equal(b->nevents, 2);
	assert_int_equal(b->nrejected, 0);
	const struct webhook_event *ev = &b->events[0];
	assert_int_equal(ev->kind, WH_MESSAGE);
	assert_str(ev->msg.wamid, "wamid.wegrchytvwcggt=");
	assert_int_equal(ev->msg.type, WH_MSG_INTERACTIVE);
	assert_int_equal(ev->msg.interactive.type, WH_IA_NONE);
	assert_str(ev->msg.context.id, "wamid.gvwegfretge==");
	assert_int_equal(ev->timestamp_ms, 1700505494000);
	ev = &b->events[1];
	assert_int_equal(ev->kind, WH_ERROR);
	assert_int_equal(ev->error.code, 131000);
	assert_str(ev->error.title, "Something went wrong");
	assert_str(ev->error.details, "Unsupported webhook payload");
	assert_str(ev->phone_number_id, "1122334455667");
	webhook_batch_free(b);
}

static void test_pywa_message_all_cases(void **state)
{
	(void)state;
	/* Every case of message.json parses to events with nothing rejected. */
	json_t *all = load_json(PYWA_MSG);
	const char *key;
	json_t *payload;
	size_t ncases = 0;
	json_object_foreach(all, key, payload)
	{
		struct webhook_batch *b = parse_json(payload);
		if (b->nrejected || b->nevents == 0)
			fail_msg("case %s: %zu events, %zu rejected", key, b->nevents,
				 b->nrejected);
		assert_int_equal(b->events[0].kind, WH_MESSAGE);
		assert_int_not_equal(b->events[0].msg.type, WH_MSG_UNKNOWN);
		webhook_batch_free(b);
		ncases++;
	}
	assert_int_equal(ncases, 23);
	json_decref(all);
}

#define PYWA_ST "pywa/message_status.json"

static const struct webhook_status_update *pywa_status(struct webhook_batch *b,
						       enum webhook_status st, int64_t ts)
{
	const struct webhook_event *ev = only(b, WH_STATUS);
	assert_str(ev->status.wamid, "wamid.xyzxyz");
	assert_str(ev->waba_id, "5467539754836534");
	assert_int_equal(ev->status.status, st);
	assert_str(ev->status.status_str, webhook_status_name(st));
	assert_str(ev->status.recipient_id, "972987654321");
	assert_int_equal(ev->timestamp_ms, ts);
	return &ev->status;
}

static void test_pywa_message_status(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(PYWA_ST, "sent");
	const struct webhook_status_update *s = pywa_status(b, WH_ST_SENT, 1698266945000);
	assert_str(s->conversation_id, "7270432eae37498234f4444b35ffc5");
	assert_int_equal(s->conversation_expiration_ms, 1698339900000);
	assert_str(s->conversation_origin, "service");
	assert_int_equal(s->billable, 1);
	assert_str(s->pricing_model, "CBP");
	assert_str(s->pricing_category, "service");
	assert_null(s->pricing_type);
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "delivered");
	s = pywa_status(b, WH_ST_DELIVERED, 1698266945000);
	assert_int_equal(s->conversation_expiration_ms, 0);
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "read");
	pywa_status(b, WH_ST_READ, 1689380458000);
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "played");
	pywa_status(b, WH_ST_PLAYED, 1689380458000);
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "failed");
	s = pywa_status(b, WH_ST_FAILED, 1689380458000);
	assert_int_equal(s->nerrors, 1);
	assert_int_equal(s->error.code, 130472);
	assert_str(s->error.title, "User's number is part of an experiment");
	assert_str(s->error.details, "Failed to send message because this user's phone number is "
				     "part of an experiment");
	assert_str(s->error.href,
		   "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/");
	assert_int_equal(s->billable, -1);
	assert_null(s->conversation_id);
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "with_tracker");
	s = pywa_status(b, WH_ST_SENT, 1698266945000);
	assert_str(s->biz_opaque_callback_data, "some data");
	webhook_batch_free(b);

	b = parse_case(PYWA_ST, "group");
	const struct webhook_event *ev = only(b, WH_STATUS);
	assert_str(ev->waba_id, "<WHATSAPP_BUSINESS_ACCOUNT_ID>");
	assert_str(ev->status.wamid, "<WHATSAPP_MESSAGE_ID>");
	assert_int_equal(ev->status.status, WH_ST_READ);
	assert_str(ev->status.recipient_id, "fowefinoewcnw");
	assert_str(ev->status.recipient_type, "group");
	assert_str(ev->status.recipient_participant_id, "<GROUP_PARTICIPANT_USER_PHONE_NUMBER>");
	assert_str(ev->status.recipient_participant_user_id, "US.123456");
	webhook_batch_free(b);
}

static void test_pywa_callback_button(void **state)
{
	(void)state;
	const char *f = "pywa/callback_button.json";
	struct webhook_batch *b = parse_case(f, "button");
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->waba_id, "5467539754836534");
	assert_int_equal(ev->timestamp_ms, 1698266730000);
	assert_int_equal(ev->msg.type, WH_MSG_INTERACTIVE);
	assert_int_equal(ev->msg.interactive.type, WH_IA_BUTTON_REPLY);
	assert_str(ev->msg.interactive.reply_id, "callback_data");
	assert_str(ev->msg.interactive.reply_title, "title");
	assert_str(ev->msg.context.from, "1122334455667");
	assert_str(ev->msg.context.id, "wamid.xyzxyz");
	webhook_batch_free(b);

	b = parse_case(f, "quick_reply");
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.wamid, "wamid.xsidjw");
	assert_int_equal(ev->msg.type, WH_MSG_BUTTON);
	assert_str(ev->msg.button.payload, "callback_data");
	assert_str(ev->msg.button.text, "title");
	assert_str(ev->msg.context.id, "wamid.xyzxyz==");
	assert_int_equal(ev->timestamp_ms, 1698269027000);
	webhook_batch_free(b);

	b = parse_case(f, "quick_reply_without_context");
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.wamid, "wamid.xsidjx");
	assert_int_equal(ev->msg.type, WH_MSG_BUTTON);
	assert_null(ev->msg.context.id);
	assert_str(ev->msg.from_user_id, "US.13491208655302741918");
	assert_str(ev->msg.button.payload, "callback_data");
	webhook_batch_free(b);
}

static void test_pywa_callback_selection(void **state)
{
	(void)state;
	const char *f = "pywa/callback_selection.json";
	struct webhook_batch *b = parse_case(f, "callback");
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.wamid, "wamid.zyzxyz");
	assert_int_equal(ev->msg.interactive.type, WH_IA_LIST_REPLY);
	assert_str(ev->msg.interactive.reply_id, "callback_data");
	assert_str(ev->msg.interactive.reply_title, "title");
	assert_null(ev->msg.interactive.reply_description);
	assert_int_equal(ev->timestamp_ms, 1698266905000);
	webhook_batch_free(b);

	b = parse_case(f, "description");
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.interactive.reply_description, "description");
	webhook_batch_free(b);
}

static void test_pywa_system(void **state)
{
	(void)state;
	const char *f = "pywa/system.json";
	struct webhook_batch *b = parse_case(f, "phone_number_change");
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_int_equal(ev->msg.type, WH_MSG_SYSTEM);
	assert_str(ev->msg.wamid, "wamid.xyzxyz==");
	assert_str(ev->msg.from, "972987654321");
	assert_null(ev->msg.profile_name); /* no contacts[] in this one */
	assert_str(ev->msg.system.type, "user_changed_number");
	assert_str(ev->msg.system.wa_id, "972912345678");
	assert_str(ev->msg.system.body, "User A changed from 972987654321 to 972912345678");
	assert_int_equal(ev->timestamp_ms, 1753851315000);
	webhook_batch_free(b);

	b = parse_case(f, "identity_change");
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.system.type, "customer_identity_changed");
	assert_str(ev->msg.system.body, "User identity changed");
	assert_str(ev->msg.system.identity_hash, "xyzxyz");
	assert_true(ev->msg.system.identity_acknowledged);
	assert_int_equal(ev->msg.system.identity_created_ms, 1697044706000);
	assert_str(ev->msg.profile_name, "User A");
	webhook_batch_free(b);
}

static void test_pywa_templates(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case("pywa/template_status_update.json", "approved");
	const struct webhook_event *ev = only(b, WH_TEMPLATE_STATUS);
	assert_str(ev->field, "message_template_status_update");
	assert_str(ev->waba_id, "102290129340398");
	assert_null(ev->phone_number_id);
	assert_int_equal(ev->timestamp_ms, 1751247548000); /* entry.time: no item timestamp */
	assert_str(ev->tmpl.event, "APPROVED");
	assert_str(ev->tmpl.message_template_id, "1689556908129832"); /* a JSON number */
	assert_str(ev->tmpl.name, "order_confirmation");
	assert_str(ev->tmpl.language, "en_US");
	assert_str(ev->tmpl.reason, "NONE");
	assert_str(ev->tmpl.category, "UTILITY");
	assert_null(ev->tmpl.rejection_reason);
	webhook_batch_free(b);

	b = parse_case("pywa/template_status_update.json", "rejected");
	ev = only(b, WH_TEMPLATE_STATUS);
	assert_str(ev->tmpl.event, "REJECTED");
	assert_str(ev->tmpl.message_template_id, "1689556908129835");
	assert_str(ev->tmpl.name, "abandoned_cart");
	assert_str(ev->tmpl.reason, "INVALID_FORMAT");
	assert_prefix(ev->tmpl.rejection_reason, "Your template has parameters placed next");
	webhook_batch_free(b);

	b = parse_case("pywa/template_quality_update.json", "yellow");
	ev = only(b, WH_TEMPLATE_QUALITY);
	assert_str(ev->tmpl.previous_quality_score, "GREEN");
	assert_str(ev->tmpl.new_quality_score, "YELLOW");
	assert_str(ev->tmpl.message_template_id, "806312974732579");
	assert_str(ev->tmpl.name, "welcome_template");
	assert_int_equal(ev->timestamp_ms, 1674864290000);
	webhook_batch_free(b);

	b = parse_case("pywa/template_category_update.json", "marketing");
	ev = only(b, WH_TEMPLATE_CATEGORY);
	assert_str(ev->waba_id, "57438975935");
	assert_str(ev->tmpl.message_template_id, "12345678");
	assert_str(ev->tmpl.name, "my_message_template");
	assert_str(ev->tmpl.language, "he");
	assert_str(ev->tmpl.new_category, "MARKETING");
	assert_null(ev->tmpl.previous_category);
	assert_int_equal(ev->timestamp_ms, 1750344882000);
	webhook_batch_free(b);
}

static void test_pywa_user_preferences(void **state)
{
	(void)state;
	const char *f = "pywa/user_marketing_preferences.json";
	struct webhook_batch *b = parse_case(f, "resume");
	const struct webhook_event *ev = only(b, WH_USER_PREFERENCE);
	assert_str(ev->field, "user_preferences");
	assert_str(ev->phone_number_id, "106540352242922");
	assert_str(ev->pref.wa_id, "16505551234");
	assert_str(ev->pref.value, "resume");
	assert_str(ev->pref.category, "marketing_messages");
	assert_str(ev->pref.detail, "User requested to resume marketing messages");
	assert_int_equal(ev->timestamp_ms, 1731705721000); /* an integer timestamp */
	webhook_batch_free(b);

	b = parse_case(f, "signup");
	ev = only(b, WH_USER_PREFERENCE);
	assert_str(ev->pref.value, "signup");
	assert_str(ev->pref.detail, "User signed up via signup link");
	webhook_batch_free(b);
}

static void test_pywa_account_update(void **state)
{
	(void)state;
	json_t *all = load_json("pywa/account_update.json");
	const char *key;
	json_t *payload;
	size_t n = 0;
	json_object_foreach(all, key, payload)
	{
		struct webhook_batch *b = parse_json(payload);
		const struct webhook_event *ev = only(b, WH_ACCOUNT_UPDATE);
		assert_str(ev->field, "account_update");
		assert_str(ev->account.event,
			   json_string_value(json_path(payload, "entry.0.changes.0.value.event")));
		long long t = (long long)json_integer_value(json_path(payload, "entry.0.time"));
		assert_true(t > 0);
		assert_int_equal(ev->timestamp_ms, t * 1000); /* from entry.time */
		webhook_batch_free(b);
		n++;
	}
	assert_int_equal(n, 17);
	json_decref(all);

	const char *f = "pywa/account_update.json";
	struct webhook_batch *b = parse_case(f, "account_restriction");
	const struct webhook_event *ev = only(b, WH_ACCOUNT_UPDATE);
	assert_str(ev->account.event, "ACCOUNT_RESTRICTION");
	assert_int_equal(ev->account.nrestrictions, 2);
	assert_str(ev->account.restriction_type, "RESTRICTED_BIZ_INITIATED_MESSAGING");
	assert_int_equal(ev->timestamp_ms, 1641330498000);
	webhook_batch_free(b);

	b = parse_case(f, "account_violation");
	assert_str(only(b, WH_ACCOUNT_UPDATE)->account.violation_type, "ADULT");
	webhook_batch_free(b);

	b = parse_case(f, "account_disabled");
	ev = only(b, WH_ACCOUNT_UPDATE);
	assert_str(ev->account.ban_state, "REINSTATE");
	assert_str(ev->account.ban_date, "April 17, 2025");
	webhook_batch_free(b);

	b = parse_case(f, "partner_app_installed");
	ev = only(b, WH_ACCOUNT_UPDATE);
	assert_str(ev->waba_id, "2949482758682047");
	assert_str(ev->account.waba_id, "1191624265890717");
	assert_str(ev->account.partner_app_id, "5731794616896507");
	assert_str(ev->account.owner_business_id, "2329417887457253");
	webhook_batch_free(b);

	b = parse_case(f, "partner_removed_wa_app_disconnection");
	assert_str(only(b, WH_ACCOUNT_UPDATE)->account.disconnection_reason, "PRIMARY_INACTIVITY");
	webhook_batch_free(b);

	b = parse_case(f, "primary_business_location_set");
	assert_str(only(b, WH_ACCOUNT_UPDATE)->account.country, "IN");
	webhook_batch_free(b);
}

/* ---- whatsapp-api-js fixtures ----------------------------------------------- */

static void test_wajs_incoming(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("whatsapp-api-js/incoming.json");
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->waba_id, "1");
	assert_str(ev->phone_number_id, "123456123");
	assert_str(ev->display_phone_number, "16505551111");
	assert_str(ev->msg.wamid, "ABGGFlA5Fpa");
	assert_str(ev->msg.from, "16315551181");
	assert_str(ev->msg.from_user_id, "US.13491208655302741918");
	assert_str(ev->msg.parent_user_id, "US.11815799212886844830");
	assert_str(ev->msg.username, "@testusername");
	assert_str(ev->msg.profile_name, "test user name");
	assert_str(ev->msg.text, "this is a text message");
	assert_int_equal(ev->timestamp_ms, 1504902988000);
	webhook_batch_free(b);
}

static void test_wajs_statuses(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("whatsapp-api-js/sent.json");
	const struct webhook_event *ev = only(b, WH_STATUS);
	assert_str(ev->status.wamid, "ABGGFlA5Fpa");
	assert_int_equal(ev->status.status, WH_ST_SENT);
	assert_int_equal(ev->timestamp_ms, 1504902988000);
	assert_str(ev->status.recipient_id, "16315551181");
	assert_str(ev->status.recipient_user_id, "US.13491208655302741918");
	assert_str(ev->status.parent_recipient_user_id, "US.11815799212886844830");
	assert_int_equal(ev->status.conversation_expiration_ms, 1504903988000);
	assert_str(ev->status.conversation_origin, "marketing");
	assert_int_equal(ev->status.billable, 1);
	assert_str(ev->status.pricing_model, "PMP");
	assert_str(ev->status.pricing_type, "regular");
	assert_str(ev->status.pricing_category, "marketing");
	webhook_batch_free(b);

	b = parse_file("whatsapp-api-js/delivered.json");
	ev = only(b, WH_STATUS);
	assert_int_equal(ev->status.status, WH_ST_DELIVERED);
	assert_str(ev->status.conversation_id, "CONVERSATION_ID");
	assert_int_equal(ev->status.billable, -1);
	assert_null(ev->status.pricing_model);
	webhook_batch_free(b);

	b = parse_file("whatsapp-api-js/read.json");
	ev = only(b, WH_STATUS);
	assert_int_equal(ev->status.status, WH_ST_READ);
	assert_null(ev->status.conversation_id);
	assert_int_equal(ev->status.conversation_expiration_ms, 0);
	webhook_batch_free(b);
}

/* ---- facebook-openapi examples --------------------------------------------- */

#define OPENAPI "facebook-openapi/webhook_examples.json"

static const struct webhook_message *openapi_msg(struct webhook_batch *b,
						 enum webhook_msg_type type, int64_t ts)
{
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->phone_number_id, "106540352242922");
	assert_str(ev->display_phone_number, "15550783881");
	assert_str(ev->msg.from, "16505551234");
	assert_int_equal(ev->msg.type, type);
	assert_int_equal(ev->timestamp_ms, ts);
	return &ev->msg;
}

static void test_openapi_text_examples(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(OPENAPI, "Text Message");
	const struct webhook_message *m = openapi_msg(b, WH_MSG_TEXT, 1749416383000);
	assert_str(m->wamid, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
	assert_str(m->text, "Does it come in another color?");
	assert_str(m->profile_name, "Sheena Nelson");
	assert_str(b->events[0].waba_id, "419561257915477");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Text Message with Context (Product Inquiry)");
	m = openapi_msg(b, WH_MSG_TEXT, 1750016800000);
	assert_str(m->text, "Is this still available?");
	assert_str(m->context.from, "15550783881");
	assert_str(m->context.id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA");
	assert_str(m->context.referred_catalog_id, "194836987003835");
	assert_str(m->context.referred_product_retailer_id, "di9ozbzfi4");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Text Message from Click to WhatsApp Ad");
	m = openapi_msg(b, WH_MSG_TEXT, 1750275992000);
	assert_str(m->text, "Hello! Can I get more info on this?");
	assert_true(m->referral.present);
	assert_str(m->referral.source_url, "https://fb.me/3cr4Wqqkv");
	assert_str(m->referral.source_id, "120226305854810726");
	assert_str(m->referral.source_type, "ad");
	assert_str(m->referral.headline, "Chat with us");
	assert_str(m->referral.body, "Summer Succulents are here!");
	assert_str(m->referral.media_type, "image");
	assert_prefix(m->referral.ctwa_clid, "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Reaction Message");
	m = openapi_msg(b, WH_MSG_REACTION, 1749419544000);
	assert_str(m->reaction.emoji, "\xF0\x9F\x91\x8D"); /* thumbs up */
	assert_str(m->reaction.message_id,
		   "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA");
	assert_false(m->reaction.is_unreaction);
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Image Message");
	m = openapi_msg(b, WH_MSG_IMAGE, 1744344496000);
	assert_str(m->media.caption, "Taj Mahal");
	assert_str(m->media.id, "1003383421387256");
	assert_str(m->media.sha256, "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Location Message");
	m = openapi_msg(b, WH_MSG_LOCATION, 1744344496000);
	assert_near(m->location.latitude, 37.44221496582);
	assert_near(m->location.longitude, -122.16165924072);
	assert_str(m->location.name, "Philz Coffee");
	assert_str(m->location.address, "101 Forest Ave, Palo Alto, CA 94301");
	assert_str(m->location.url, "https://philzcoffee.com/");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Contact Sharing Message");
	m = openapi_msg(b, WH_MSG_CONTACTS, 1744344496000);
	assert_int_equal(m->ncontacts, 1);
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Unsupported Message");
	m = openapi_msg(b, WH_MSG_UNSUPPORTED, 1750090702000);
	assert_int_equal(m->error.code, 131051);
	assert_str(m->error.details, "Message type is currently not supported.");
	webhook_batch_free(b);
}

static void test_openapi_reply_examples(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(OPENAPI, "Button Message");
	const struct webhook_message *m = openapi_msg(b, WH_MSG_BUTTON, 1750091045000);
	assert_str(m->button.payload, "Unsubscribe");
	assert_str(m->button.text, "Unsubscribe");
	assert_str(m->context.id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Interactive List Reply Message");
	m = openapi_msg(b, WH_MSG_INTERACTIVE, 1749854575000);
	assert_int_equal(m->interactive.type, WH_IA_LIST_REPLY);
	assert_str(m->interactive.reply_id, "priority_express");
	assert_str(m->interactive.reply_title, "Priority Mail Express");
	assert_str(m->interactive.reply_description, "Next Day to 2 Days");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Interactive Button Reply Message");
	m = openapi_msg(b, WH_MSG_INTERACTIVE, 1750025136000);
	assert_int_equal(m->interactive.type, WH_IA_BUTTON_REPLY);
	assert_str(m->interactive.reply_id, "cancel-button");
	assert_str(m->interactive.reply_title, "Cancel");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Order Message");
	m = openapi_msg(b, WH_MSG_ORDER, 1750096325000);
	assert_str(m->order.catalog_id, "194836987003835");
	assert_int_equal(m->order.nitems, 2);
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "System Message");
	m = openapi_msg(b, WH_MSG_SYSTEM, 1750269342000);
	assert_str(m->system.type, "user_changed_number");
	assert_str(m->system.wa_id, "12195555358");
	webhook_batch_free(b);
}

static void test_openapi_groups(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_case(OPENAPI, "Group Create Message");
	const struct webhook_event *ev = only(b, WH_GROUP_UPDATE);
	assert_str(ev->field, "group_lifecycle_update");
	assert_str(ev->group.group_id, "Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD");
	assert_str(ev->group.type, "group_create");
	assert_str(ev->group.subject, "your-group-subject");
	assert_str(ev->group.request_id, "784D93D0C468593037EA0B1ECA245D9C");
	assert_int_equal(ev->group.nadded, 2);
	assert_int_equal(ev->timestamp_ms, 1750269342000);
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Group Settings Update");
	ev = only(b, WH_GROUP_UPDATE);
	assert_str(ev->field, "group_settings_update");
	assert_str(ev->group.type, "group_settings_update");
	webhook_batch_free(b);

	b = parse_case(OPENAPI, "Group Remove Participants");
	ev = only(b, WH_GROUP_UPDATE);
	assert_str(ev->field, "group_participants_update");
	assert_int_equal(ev->group.nremoved, 2);
	assert_int_equal(ev->group.nadded, 0);
	webhook_batch_free(b);
}

/* ---- meta-docs ------------------------------------------------------------- */

static void test_meta_docs_statuses(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("meta-docs/status_failed_131049.json");
	const struct webhook_event *ev = only(b, WH_STATUS);
	assert_str(ev->status.wamid, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA");
	assert_int_equal(ev->status.status, WH_ST_FAILED);
	assert_int_equal(ev->timestamp_ms, 1751142888000);
	assert_str(ev->status.recipient_id, "16505551234");
	assert_int_equal(ev->status.error.code, 131049);
	assert_str(ev->status.error.title,
		   "This message was not delivered to maintain healthy ecosystem engagement.");
	assert_prefix(ev->status.error.details, "In order to maintain a healthy ecosystem");
	assert_str(ev->status.error.href,
		   "/documentation/business-messaging/whatsapp/support/error-codes");
	webhook_batch_free(b);

	b = parse_file("meta-docs/status_sent_marketing_pmp.json");
	ev = only(b, WH_STATUS);
	assert_int_equal(ev->status.status, WH_ST_SENT);
	assert_int_equal(ev->timestamp_ms, 1750030073000);
	assert_str(ev->status.conversation_id, "72b14d6bd5407799e66f64d1b338e567");
	assert_int_equal(ev->status.conversation_expiration_ms, 1750116480000);
	assert_str(ev->status.pricing_model, "PMP");
	assert_str(ev->status.pricing_type, "regular");
	assert_str(ev->status.pricing_category, "marketing");
	webhook_batch_free(b);

	b = parse_file("meta-docs/status_v24_minimal.json");
	ev = only(b, WH_STATUS);
	assert_str(ev->status.wamid,
		   "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
	assert_int_equal(ev->status.status, WH_ST_SENT);
	assert_null(ev->status.conversation_id);
	assert_int_equal(ev->status.billable, -1);
	webhook_batch_free(b);
}

static void test_meta_docs_other(void **state)
{
	(void)state;
	struct webhook_batch *b = parse_file("meta-docs/template_status_approved.json");
	const struct webhook_event *ev = only(b, WH_TEMPLATE_STATUS);
	assert_str(ev->tmpl.event, "APPROVED");
	assert_str(ev->tmpl.language, "en-US");
	assert_str(ev->tmpl.message_template_id, "1689556908129832");
	assert_int_equal(ev->timestamp_ms, 1751247548000); /* entry.time */
	webhook_batch_free(b);

	b = parse_file("meta-docs/template_status_rejected.json");
	ev = only(b, WH_TEMPLATE_STATUS);
	assert_str(ev->tmpl.event, "REJECTED");
	assert_str(ev->tmpl.reason, "INVALID_FORMAT");
	assert_str(ev->tmpl.category, "MARKETING");
	assert_prefix(ev->tmpl.rejection_reason, "Your template has parameters");
	webhook_batch_free(b);

	b = parse_file("meta-docs/phone_number_quality_update_throughput.json");
	ev = only(b, WH_PHONE_QUALITY);
	assert_str(ev->field, "phone_number_quality_update");
	assert_str(ev->phone.event, "THROUGHPUT_UPGRADE");
	assert_str(ev->phone.current_limit, "TIER_UNLIMITED");
	assert_str(ev->phone.display_phone_number, "15550783881");
	assert_str(ev->display_phone_number, "15550783881");
	assert_int_equal(ev->timestamp_ms, 1748454394000);
	webhook_batch_free(b);

	b = parse_file("meta-docs/value_errors_130429.json");
	ev = only(b, WH_ERROR);
	assert_int_equal(ev->error.code, 130429);
	assert_str(ev->error.title, "Rate limit hit");
	assert_str(ev->error.message, "Rate limit hit");
	assert_prefix(ev->error.details, "Message failed to send because there were too many");
	assert_str(ev->error.href,
		   "/documentation/business-messaging/whatsapp/support/error-codes");
	webhook_batch_free(b);
}

/* ---- every webhook fixture ---------------------------------------------------- */

/* Files in the fixture folders that are not webhook bodies. */
static const char *const not_webhooks[] = {
	/* the synchronous Graph API error body of a send call ({"error":{...}}),
	 * not something Meta POSTs to a webhook: wa/client parses it */
	"meta-docs/send_error_130429.json",
	/* send request bodies and the send response: for wa/client's tests */
	"facebook-openapi/send_request_examples.json",
	"facebook-openapi/send_response_example.json",
	NULL,
};

/* Items the fixtures mean to be rejected. */
static const char *const reject_expected[] = {
	"courier/no_from.json",
	"courier/invalid_timestamp.json",
	NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static void check_payload(const char *rel, const char *name, const json_t *payload)
{
	struct webhook_batch *b = parse_json(payload);
	if (b->nevents + b->nrejected == 0)
		fail_msg("%s %s: no event", rel, name ? name : "");
	if (b->nrejected && !in_list(reject_expected, rel))
		fail_msg("%s %s: rejected: %s", rel, name ? name : "", b->rejected[0].reason);
	for (size_t i = 0; i < b->nevents; i++) {
		assert_true(b->events[i].kind != WH_OTHER);
		assert_non_null(b->events[i].waba_id);
	}
	webhook_batch_free(b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_every_fixture_parses(void **state)
{
	(void)state;
	static const char *const dirs[] = {"courier", "pywa", "whatsapp-api-js",
					   "facebook-openapi", "meta-docs"};
	size_t nfiles = 0, npayloads = 0;
	for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
		char path[1024];
		fixture_path(path, sizeof path, dirs[d]);
		DIR *dir = opendir(path);
		assert_non_null(dir);
		char *names[128];
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(dir)) != NULL) {
			size_t l = strlen(de->d_name);
			if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0 && n < 128)
				names[n++] = xstrdup(de->d_name);
		}
		closedir(dir);
		qsort(names, n, sizeof names[0], cmp_str);
		for (size_t i = 0; i < n; i++) {
			char rel[512];
			snprintf(rel, sizeof rel, "%s/%s", dirs[d], names[i]);
			free(names[i]);
			nfiles++;
			if (in_list(not_webhooks, rel))
				continue;
			json_t *v = load_json(rel);
			if (json_object_get(v, "object")) {
				check_payload(rel, NULL, v);
				npayloads++;
			} else { /* a file of named examples */
				const char *key;
				json_t *p;
				json_object_foreach(v, key, p)
				{
					check_payload(rel, key, p);
					npayloads++;
				}
			}
			json_decref(v);
		}
	}
	assert_int_equal(nfiles, 46);
	/* 21 courier + 60 pywa cases + 4 whatsapp-api-js + 16 OpenAPI examples
	 * + 7 meta-docs */
	assert_int_equal(npayloads, 108);
}

/* ---- limits ---------------------------------------------------------------- */

/* A body of n entries, each with one text message of its own wamid. */
static json_t *make_entries(size_t n)
{
	json_t *hello = load_json("courier/hello.json");
	json_t *entry0 = json_path(hello, "entry.0");
	json_t *entries = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_deep_copy(entry0);
		char id[32];
		snprintf(id, sizeof id, "wamid.%zu", i);
		json_object_set_new(json_path(e, "changes.0.value.messages.0"), "id",
				    json_string(id));
		json_array_append_new(entries, e);
	}
	json_object_set_new(hello, "entry", entries);
	return hello;
}

static void test_limit_entries(void **state)
{
	(void)state;
	json_t *body = make_entries(WEBHOOK_MAX_ENTRIES);
	struct webhook_batch *b = parse_json(body);
	assert_int_equal(b->nevents, 1000);
	assert_int_equal(b->nrejected, 0);
	assert_str(b->events[999].msg.wamid, "wamid.999");
	assert_int_equal(b->events[999].entry, 999);
	webhook_batch_free(b);
	json_decref(body);

	body = make_entries(WEBHOOK_MAX_ENTRIES + 1);
	char *s = json_dumps(body, JSON_COMPACT);
	b = (struct webhook_batch *)1;
	assert_int_equal(parse_str(s, &b), CW_ETOOBIG);
	assert_null(b);
	free(s);
	json_decref(body);
}

/* One change carrying n text messages with distinct wamids. */
static char *make_messages(size_t n)
{
	json_t *hello = load_json("courier/hello.json");
	json_t *msgs = json_path(hello, "entry.0.changes.0.value.messages");
	json_t *m0 = json_deep_copy(json_array_get(msgs, 0));
	json_array_clear(msgs);
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_deep_copy(m0);
		char id[32];
		snprintf(id, sizeof id, "wamid.%zu", i);
		json_object_set_new(m, "id", json_string(id));
		json_array_append_new(msgs, m);
	}
	char *s = json_dumps(hello, JSON_COMPACT);
	json_decref(m0);
	json_decref(hello);
	return s;
}

static void test_limit_events(void **state)
{
	(void)state;
	char *s = make_messages(WEBHOOK_MAX_EVENTS);
	struct webhook_batch *b = NULL;
	assert_int_equal(parse_str(s, &b), 0);
	assert_int_equal(b->nevents, WEBHOOK_MAX_EVENTS);
	assert_str(b->events[WEBHOOK_MAX_EVENTS - 1].msg.wamid, "wamid.9999");
	webhook_batch_free(b);
	free(s);

	s = make_messages(WEBHOOK_MAX_EVENTS + 1);
	assert_int_equal(parse_str(s, &b), CW_ETOOBIG);
	free(s);
}

/* ---- duplicates -------------------------------------------------------------- */

static void test_status_duplicates(void **state)
{
	(void)state;
	json_t *body = load_json("courier/valid_status.json");
	json_t *sts = json_path(body, "entry.0.changes.0.value.statuses");
	json_t *s0 = json_array_get(sts, 0);
	json_array_append_new(sts, json_deep_copy(s0)); /* the same "sent" again */
	json_t *delivered = json_deep_copy(s0);
	json_object_set_new(delivered, "status", json_string("delivered"));
	json_array_append_new(sts, delivered); /* same wamid, new status: kept */
	struct webhook_batch *b = parse_json(body);
	assert_int_equal(b->nevents, 2);
	assert_int_equal(b->nduplicates, 1);
	assert_int_equal(b->events[0].status.status, WH_ST_SENT);
	assert_int_equal(b->events[1].status.status, WH_ST_DELIVERED);
	assert_int_equal(b->events[1].index, 2);
	webhook_batch_free(b);
	json_decref(body);

	/* Group read receipts: one per participant, all kept. */
	json_t *all = load_json(PYWA_ST);
	body = json_object_get(all, "group");
	sts = json_path(body, "entry.0.changes.0.value.statuses");
	json_t *other = json_deep_copy(json_array_get(sts, 0));
	json_object_set_new(other, "recipient_participant_id", json_string("972500000000"));
	json_object_set_new(other, "recipient_participant_user_id", json_string("US.999"));
	json_array_append_new(sts, other);
	json_array_append_new(sts, json_deep_copy(json_array_get(sts, 0)));
	b = parse_json(body);
	assert_int_equal(b->nevents, 2);
	assert_int_equal(b->nduplicates, 1);
	webhook_batch_free(b);
	json_decref(all);

	/* Across entries, a message repeated is still one. */
	body = make_entries(3);
	json_array_append_new(json_object_get(body, "entry"),
			      json_deep_copy(json_path(body, "entry.1")));
	b = parse_json(body);
	assert_int_equal(b->nevents, 3);
	assert_int_equal(b->nduplicates, 1);
	webhook_batch_free(b);
	json_decref(body);
}

/* ---- hostile bodies ------------------------------------------------------------ */

static void test_bad_top_level(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"",
		" ",
		"{",
		"[]",
		"[{\"object\":\"whatsapp_business_account\",\"entry\":[]}]",
		"42",
		"\"whatsapp_business_account\"",
		"null",
		"true",
		"{}",
		"{\"entry\":[]}",
		"{\"object\":\"page\",\"entry\":[]}",
		"{\"object\":1,\"entry\":[]}",
		"{\"object\":\"whatsapp_business_account\"}",
		"{\"object\":\"whatsapp_business_account\",\"entry\":{}}",
		"{\"object\":\"whatsapp_business_account\",\"entry\":\"x\"}",
		"{\"object\":\"whatsapp_business_account\",\"entry\":null}",
		"{\"object\":\"whatsapp_business_account\",\"entry\":[],\"entry\":[]}",
		"{\"object\":\"whatsapp_business_account\",\"entry\":[]} trailing",
		"{\"object\":\"whatsapp_business_account\",\"entry\":[}",
		"{\"object\":\"whatsapp_business_\\u0000account\",\"entry\":[]}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct webhook_batch *b = (struct webhook_batch *)1;
		int rc = parse_str(bodies[i], &b);
		if (rc != CW_EPARSE)
			fail_msg("body %zu (%s): rc %d", i, bodies[i], rc);
		assert_null(b);
	}
	struct webhook_batch *b = NULL;
	assert_int_equal(webhook_parse(NULL, 0, &b), CW_EPARSE);
	assert_int_equal(webhook_parse(NULL, 5, &b), CW_EINVAL);
	assert_int_equal(webhook_parse("{}", 2, NULL), CW_EINVAL);
	/* An empty entry list is a valid, empty batch. */
	assert_int_equal(parse_str("{\"object\":\"whatsapp_business_account\",\"entry\":[]}", &b),
			 0);
	assert_int_equal(b->nevents + b->nrejected, 0);
	webhook_batch_free(b);
	webhook_batch_free(NULL);
}

static void test_truncated_bodies(void **state)
{
	(void)state;
	static const char *const files[] = {"courier/hello.json", "courier/nfm_reply.json",
					    "meta-docs/template_status_rejected.json"};
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		size_t len;
		char *body = read_fixture(files[f], &len);
		size_t end = len;
		while (end > 0 && body[end - 1] != '}')
			end--;
		/* The whole object parses; every proper prefix of it is malformed.
		 * Each cut is copied to a buffer of exactly that size, without a
		 * NUL, so ASan catches any read past the end. */
		for (size_t n = 0; n <= end; n++) {
			char *cut = xmalloc(n ? n : 1);
			memcpy(cut, body, n);
			struct webhook_batch *b = NULL;
			int rc = webhook_parse(cut, n, &b);
			if (n == end) {
				assert_int_equal(rc, 0);
				assert_int_equal(b->nevents, 1);
			} else if (rc != CW_EPARSE) {
				fail_msg("%s cut at %zu: rc %d", files[f], n, rc);
			}
			webhook_batch_free(b);
			free(cut);
		}
		free(body);
	}
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	size_t len;
	char *body = read_fixture("courier/hello.json", &len);
	char *p = strstr(body, "Hello World");
	assert_non_null(p);
	static const char *const bad[] = {"\xff", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80",
					  "\xf8\x88\x80\x80\x80", "\xc0\xaf"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *copy = xstrdup(body);
		memcpy(copy + (p - body), bad[i], strlen(bad[i]));
		struct webhook_batch *b = NULL;
		assert_int_equal(webhook_parse(copy, len, &b), CW_EPARSE);
		assert_null(b);
		free(copy);
	}
	/* A lone surrogate escape is invalid too. */
	const char *esc =
	    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"\\ud800\"}]}";
	struct webhook_batch *b = NULL;
	assert_int_equal(parse_str(esc, &b), CW_EPARSE);
	free(body);
}

static void test_deep_nesting(void **state)
{
	(void)state;
	/* Complete but nested past the parser's depth limit (64), and past
	 * jansson's own: both refused, neither overflows the stack. */
	static const int depths[] = {100, 5000};
	for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
		struct buf s;
		buf_init(&s, 0);
		assert_int_equal(
		    buf_puts(&s, "{\"object\":\"whatsapp_business_account\",\"entry\":"), 0);
		for (int i = 0; i < depths[d]; i++)
			assert_int_equal(buf_putc(&s, '['), 0);
		for (int i = 0; i < depths[d]; i++)
			assert_int_equal(buf_putc(&s, ']'), 0);
		assert_int_equal(buf_putc(&s, '}'), 0);
		struct webhook_batch *b = NULL;
		assert_int_equal(webhook_parse(s.data, s.len, &b), CW_EPARSE);
		assert_null(b);
		buf_release(&s);
	}
}

static void test_sender_from_contacts(void **state)
{
	(void)state;
	/* Several contacts: the one whose wa_id is the sender's gives the name. */
	json_t *body = load_json("courier/hello.json");
	json_t *contacts = json_path(body, "entry.0.changes.0.value.contacts");
	json_array_insert_new(contacts, 0,
			      json_pack("{s:{s:s},s:s,s:s}", "profile", "name", "Someone Else",
					"wa_id", "9999", "user_id", "US.9999"));
	struct webhook_batch *b = parse_json(body);
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.profile_name, "Kerry Fisher");
	assert_str(ev->msg.from, "5678");
	assert_null(ev->msg.from_user_id);
	webhook_batch_free(b);

	/* A single contact that contradicts the sender lends it nothing. */
	json_array_remove(contacts, 1);
	b = parse_json(body);
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.from, "5678");
	assert_null(ev->msg.profile_name);
	assert_null(ev->msg.from_user_id);
	webhook_batch_free(b);

	/* No from in the message: a lone contact's wa_id is the sender. */
	json_object_del(json_path(body, "entry.0.changes.0.value.messages.0"), "from");
	b = parse_json(body);
	ev = only(b, WH_MESSAGE);
	assert_str(ev->msg.from, "9999");
	assert_str(ev->msg.from_user_id, "US.9999");
	assert_str(ev->msg.profile_name, "Someone Else");
	webhook_batch_free(b);
	json_decref(body);
}

static void test_batch_positions(void **state)
{
	(void)state;
	/* Two entries: a template update and a message change with a status,
	 * an error and a bad status; positions and kinds in body order. */
	json_t *body = load_json("meta-docs/template_status_approved.json");
	json_t *msgs = load_json("courier/error_status.json");
	json_t *value = json_path(msgs, "entry.0.changes.0.value");
	json_t *sts = json_object_get(value, "statuses");
	json_array_append_new(sts, json_pack("{s:s,s:s}", "id", "wamid.2", "status", "read"));
	json_object_set_new(value, "errors", json_pack("[{s:i}]", "code", 131000));
	json_array_append(json_object_get(body, "entry"), json_path(msgs, "entry.0"));
	struct webhook_batch *b = parse_json(body);
	assert_int_equal(b->nevents, 3);
	assert_int_equal(b->events[0].kind, WH_TEMPLATE_STATUS);
	assert_int_equal(b->events[0].entry, 0);
	assert_int_equal(b->events[0].index, -1);
	assert_int_equal(b->events[1].kind, WH_STATUS);
	assert_int_equal(b->events[1].entry, 1);
	assert_int_equal(b->events[1].index, 0);
	assert_int_equal(b->events[2].kind, WH_ERROR);
	assert_int_equal(b->events[2].error.code, 131000);
	assert_int_equal(b->nrejected, 1);
	assert_int_equal(b->rejected[0].entry, 1);
	assert_int_equal(b->rejected[0].index, 1);
	assert_str(b->rejected[0].array, "statuses");
	assert_str(b->rejected[0].reason, "missing timestamp");
	webhook_batch_free(b);
	json_decref(msgs);
	json_decref(body);
}

/* Parses body after replacing the value at path with v; returns the batch. */
static struct webhook_batch *with(const char *rel, const char *path, json_t *v)
{
	json_t *body = load_json(rel);
	const char *dot = strrchr(path, '.');
	char parent[256];
	snprintf(parent, sizeof parent, "%.*s", (int)(dot - path), path);
	json_t *obj = json_path(body, parent);
	assert_non_null(obj);
	if (json_is_array(obj))
		assert_int_equal(json_array_set_new(obj, (size_t)strtol(dot + 1, NULL, 10), v), 0);
	else
		assert_int_equal(json_object_set_new(obj, dot + 1, v), 0);
	struct webhook_batch *b = parse_json(body);
	json_decref(body);
	return b;
}

static void expect_reject(struct webhook_batch *b, int entry, int change, int index,
			  const char *reason)
{
	assert_int_equal(b->nevents, 0);
	assert_int_equal(b->nrejected, 1);
	assert_int_equal(b->rejected[0].entry, entry);
	assert_int_equal(b->rejected[0].change, change);
	assert_int_equal(b->rejected[0].index, index);
	assert_str(b->rejected[0].reason, reason);
	webhook_batch_free(b);
}

static void test_wrong_types_named(void **state)
{
	(void)state;
	const char *h = "courier/hello.json";
	expect_reject(with(h, "entry.0", json_integer(1)), 0, -1, -1, "entry is not an object");
	expect_reject(with(h, "entry.0.id", json_integer(5)), 0, -1, -1, "entry has no id");
	expect_reject(with(h, "entry.0.changes", json_string("x")), 0, -1, -1,
		      "entry has no changes array");
	expect_reject(with(h, "entry.0.changes.0", json_null()), 0, 0, -1,
		      "change is not an object");
	expect_reject(with(h, "entry.0.changes.0.field", json_true()), 0, 0, -1,
		      "change has no field");
	expect_reject(with(h, "entry.0.changes.0.value", json_array()), 0, 0, -1,
		      "change value is not an object");
	expect_reject(with(h, "entry.0.changes.0.value.messages", json_object()), 0, 0, -1,
		      "not an array");
	expect_reject(with(h, "entry.0.changes.0.value.messages.0", json_string("hi")), 0, 0, 0,
		      "item is not an object");
	expect_reject(with(h, "entry.0.changes.0.value.messages.0.id", json_integer(7)), 0, 0, 0,
		      "missing id");
	expect_reject(with(h, "entry.0.changes.0.value.messages.0.id", json_string("")), 0, 0, 0,
		      "missing id");
	expect_reject(with(h, "entry.0.changes.0.value.messages.0.timestamp", json_object()), 0, 0,
		      0, "invalid timestamp");
	expect_reject(with("courier/valid_status.json",
			   "entry.0.changes.0.value.statuses.0.status", json_integer(1)),
		      0, 0, 0, "missing status");

	/* Wrong types in optional places read as absent. */
	struct webhook_batch *b =
	    with(h, "entry.0.changes.0.value.messages.0.text", json_integer(3));
	const struct webhook_event *ev = only(b, WH_MESSAGE);
	assert_null(ev->msg.text);
	assert_str(ev->msg.wamid, "external_id");
	webhook_batch_free(b);
	b = with(h, "entry.0.changes.0.value.metadata", json_string("x"));
	ev = only(b, WH_MESSAGE);
	assert_null(ev->phone_number_id);
	webhook_batch_free(b);
	b = with(h, "entry.0.changes.0.value.messages.0.type", json_integer(1));
	ev = only(b, WH_MESSAGE);
	assert_int_equal(ev->msg.type, WH_MSG_UNKNOWN);
	assert_null(ev->msg.type_str);
	webhook_batch_free(b);
	b = with(h, "entry.0.changes.0.value.messages.0.type", json_string("hologram"));
	ev = only(b, WH_MESSAGE);
	assert_int_equal(ev->msg.type, WH_MSG_UNKNOWN);
	assert_str(ev->msg.type_str, "hologram");
	webhook_batch_free(b);
	/* A field this parser does not know is kept as WH_OTHER. */
	b = with(h, "entry.0.changes.0.field", json_string("smb_app_state_sync"));
	ev = only(b, WH_OTHER);
	assert_str(ev->field, "smb_app_state_sync");
	assert_str(webhook_kind_name(ev->kind), "other");
	webhook_batch_free(b);
}

/* Replaces every value in the tree, one at a time, with each of a set of
 * values of other types, and parses each result: it must give a documented
 * code and, on success, a consistent batch. */
static size_t mutate_all(json_t *root, json_t *node, size_t *nparsed)
{
	static const char *const repl[] = {"null", "0", "-1", "1.5", "\"\"", "\"x\"",
					   "[]", "{}", "true", "[1]", "{\"a\":1}"};
	size_t n = 0;
	if (!json_is_object(node) && !json_is_array(node))
		return 0;
	if (json_is_object(node)) {
		const char *key;
		json_t *child;
		void *tmp;
		json_object_foreach_safe(node, tmp, key, child)
		{
			n += mutate_all(root, child, nparsed);
			json_incref(child);
			for (size_t r = 0; r < sizeof repl / sizeof repl[0]; r++) {
				json_object_set_new(node, key,
						    json_loads(repl[r], JSON_DECODE_ANY, NULL));
				char *s = json_dumps(root, JSON_COMPACT);
				struct webhook_batch *b = NULL;
				int rc = parse_str(s, &b);
				assert_true(rc == 0 || rc == CW_EPARSE);
				if (rc == 0) {
					assert_true(b->nevents + b->nrejected <= 2);
					for (size_t i = 0; i < b->nevents; i++)
						assert_non_null(b->events[i].waba_id);
					for (size_t i = 0; i < b->nrejected; i++)
						assert_non_null(b->rejected[i].reason);
				}
				webhook_batch_free(b);
				free(s);
				(*nparsed)++;
			}
			json_object_set_new(node, key, child);
		}
	} else {
		size_t i;
		json_t *child;
		json_array_foreach(node, i, child)
		{
			n += mutate_all(root, child, nparsed);
			json_incref(child);
			for (size_t r = 0; r < sizeof repl / sizeof repl[0]; r++) {
				json_array_set_new(node, i,
						   json_loads(repl[r], JSON_DECODE_ANY, NULL));
				char *s = json_dumps(root, JSON_COMPACT);
				struct webhook_batch *b = NULL;
				int rc = parse_str(s, &b);
				assert_true(rc == 0 || rc == CW_EPARSE);
				webhook_batch_free(b);
				free(s);
				(*nparsed)++;
			}
			json_array_set_new(node, i, child);
		}
	}
	return n + 1;
}

static void test_wrong_types_everywhere(void **state)
{
	(void)state;
	static const char *const files[] = {
		"courier/hello.json",        "courier/error_status.json",
		"courier/nfm_reply.json",    "courier/location.json",
		"meta-docs/template_status_rejected.json",
		"meta-docs/phone_number_quality_update_throughput.json",
		"whatsapp-api-js/sent.json",
	};
	size_t nparsed = 0;
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		json_t *root = load_json(files[f]);
		mutate_all(root, root, &nparsed);
		/* the tree is back as it was: it still parses to one event */
		struct webhook_batch *b = parse_json(root);
		assert_int_equal(b->nevents, 1);
		webhook_batch_free(b);
		json_decref(root);
	}
	assert_true(nparsed > 1000);
}

static void test_timestamp_forms(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		long long ms; /* -1: rejected */
	} cases[] = {
		{"1454119029", 1454119029000LL},    {"\"1454119029\"", 1454119029000LL},
		{"0", 0},                           {"\"0001\"", 1000},
		{"\"asdf\"", -1},                   {"\"\"", -1},
		{"\"-5\"", -1},                     {"-5", -1},
		{"\" 12\"", -1},                    {"\"12a\"", -1},
		{"\"1e3\"", -1},                    {"1.5", -1},
		{"\"99999999999999999999\"", -1},   {"9223372036854775807", -1},
		{"9223372036854775", 9223372036854775000LL},
		{"null", -1},                       {"[]", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		struct webhook_batch *b =
		    with("courier/hello.json", "entry.0.changes.0.value.messages.0.timestamp", v);
		if (cases[i].ms < 0) {
			if (b->nevents != 0)
				fail_msg("timestamp %s accepted", cases[i].json);
			assert_str(b->rejected[0].reason, "invalid timestamp");
		} else {
			if (b->nevents != 1)
				fail_msg("timestamp %s refused", cases[i].json);
			assert_int_equal(b->events[0].timestamp_ms, cases[i].ms);
		}
		webhook_batch_free(b);
	}
	/* Missing on a message: rejected. */
	json_t *body = load_json("courier/hello.json");
	json_object_del(json_path(body, "entry.0.changes.0.value.messages.0"), "timestamp");
	struct webhook_batch *b = parse_json(body);
	assert_int_equal(b->nevents, 0);
	assert_str(b->rejected[0].reason, "missing timestamp");
	webhook_batch_free(b);
	json_decref(body);
}

static void test_names(void **state)
{
	(void)state;
	assert_str(webhook_kind_name(WH_MESSAGE), "message");
	assert_str(webhook_kind_name(WH_TEMPLATE_QUALITY), "template_quality");
	assert_str(webhook_kind_name(WH_GROUP_UPDATE), "group_update");
	assert_str(webhook_kind_name((enum webhook_kind)99), "?");
	assert_str(webhook_status_name(WH_ST_DELIVERED), "delivered");
	assert_str(webhook_status_name(WH_ST_UNKNOWN), "unknown");
	assert_str(webhook_status_name((enum webhook_status)-1), "?");
	assert_str(webhook_msg_type_name(WH_MSG_REQUEST_WELCOME), "request_welcome");
	assert_str(webhook_msg_type_name(WH_MSG_BUTTON), "button");
	for (int k = 0; k < WH_KIND_COUNT_; k++)
		assert_string_not_equal(webhook_kind_name((enum webhook_kind)k), "?");
	for (int t = 0; t < WH_MSG_TYPE_COUNT_; t++)
		assert_string_not_equal(webhook_msg_type_name((enum webhook_msg_type)t), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_courier_hello),
		cmocka_unit_test(test_courier_duplicate),
		cmocka_unit_test(test_courier_button),
		cmocka_unit_test(test_courier_button_reply),
		cmocka_unit_test(test_courier_list_reply),
		cmocka_unit_test(test_courier_nfm_reply),
		cmocka_unit_test(test_courier_location),
		cmocka_unit_test(test_courier_image),
		cmocka_unit_test(test_courier_document),
		cmocka_unit_test(test_courier_voice),
		cmocka_unit_test(test_courier_error_msg),
		cmocka_unit_test(test_courier_error_errors),
		cmocka_unit_test(test_courier_error_status),
		cmocka_unit_test(test_courier_valid_status),
		cmocka_unit_test(test_courier_ignore_status),
		cmocka_unit_test(test_courier_invalid_status),
		cmocka_unit_test(test_courier_group_message),
		cmocka_unit_test(test_courier_hello_user_id),
		cmocka_unit_test(test_courier_hello_from_bsuid),
		cmocka_unit_test(test_courier_no_from),
		cmocka_unit_test(test_courier_invalid_timestamp),
		cmocka_unit_test(test_pywa_message_text_and_media),
		cmocka_unit_test(test_pywa_message_reaction_location),
		cmocka_unit_test(test_pywa_message_other_types),
		cmocka_unit_test(test_pywa_message_with_value_errors),
		cmocka_unit_test(test_pywa_message_all_cases),
		cmocka_unit_test(test_pywa_message_status),
		cmocka_unit_test(test_pywa_callback_button),
		cmocka_unit_test(test_pywa_callback_selection),
		cmocka_unit_test(test_pywa_system),
		cmocka_unit_test(test_pywa_templates),
		cmocka_unit_test(test_pywa_user_preferences),
		cmocka_unit_test(test_pywa_account_update),
		cmocka_unit_test(test_wajs_incoming),
		cmocka_unit_test(test_wajs_statuses),
		cmocka_unit_test(test_openapi_text_examples),
		cmocka_unit_test(test_openapi_reply_examples),
		cmocka_unit_test(test_openapi_groups),
		cmocka_unit_test(test_meta_docs_statuses),
		cmocka_unit_test(test_meta_docs_other),
		cmocka_unit_test(test_every_fixture_parses),
		cmocka_unit_test(test_limit_entries),
		cmocka_unit_test(test_limit_events),
		cmocka_unit_test(test_status_duplicates),
		cmocka_unit_test(test_bad_top_level),
		cmocka_unit_test(test_truncated_bodies),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_sender_from_contacts),
		cmocka_unit_test(test_batch_positions),
		cmocka_unit_test(test_wrong_types_named),
		cmocka_unit_test(test_wrong_types_everywhere),
		cmocka_unit_test(test_timestamp_forms),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
