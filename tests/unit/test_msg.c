/*
 * test_msg.c — unit tests for wa/msg: request JSON from structs, and the
 * limits table checked on Meta's own example request bodies
 * (CW_FIXTURES/facebook-openapi/send_request_examples.json).
 *
 * Quirks of those examples, and what carewire does with them:
 * - "Send Text Message with Preview URL" has no "type": the API defaults a
 *   message without one to text, and so does wa_msg_validate_json() (the
 *   text rules then apply to it).
 * - "Send Sample Issue Resolution Template" has boolean "text" in its button
 *   parameters: Meta's YAML says `text: Yes` / `text: No`, which a YAML 1.1
 *   reader turns into booleans. A text parameter is a string, so the body as
 *   extracted is refused naming the field, and with "Yes"/"No" restored it
 *   passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/json.h"
#include "wa/msg.h"
#include "base/banned.h"

#define ISSUE_EXAMPLE "Send Sample Issue Resolution Template"

static json_t *examples;

static int load_examples(void **state)
{
	(void)state;
	const char *dir = getenv("CW_FIXTURES");
	char path[1024];
	snprintf(path, sizeof path, "%s/facebook-openapi/send_request_examples.json",
		 dir ? dir : "../shared/fixtures/whatsapp");
	examples = json_load_file(path, 0, NULL);
	return examples ? 0 : -1;
}

static int free_examples(void **state)
{
	(void)state;
	json_decref(examples);
	return 0;
}

static json_t *example(const char *name)
{
	json_t *e = json_object_get(examples, name);
	assert_non_null(e);
	return json_deep_copy(e);
}

/* n copies of a UTF-8 unit; caller frees. */
static char *rep(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static void expect_ok(const struct wa_msg *m)
{
	json_t *out = NULL;
	struct wa_msg_error err = {{0}};
	int rc = wa_msg_encode(m, &out, &err);
	if (rc)
		print_error("unexpected error: %s: %s\n", err.field, err.message);
	assert_int_equal(rc, 0);
	assert_non_null(out);
	json_decref(out);
}

static void expect_err(const struct wa_msg *m, const char *field)
{
	json_t *out = (json_t *)1;
	struct wa_msg_error err = {{0}};
	assert_int_equal(wa_msg_encode(m, &out, &err), CW_EINVAL);
	assert_null(out);
	assert_string_equal(err.field, field);
	assert_true(strlen(err.message) > 0);
}

static void expect_json_ok(const json_t *req)
{
	struct wa_msg_error err = {{0}};
	int rc = wa_msg_validate_json(req, &err);
	if (rc)
		print_error("unexpected error: %s: %s\n", err.field, err.message);
	assert_int_equal(rc, 0);
}

static void expect_json_err(const json_t *req, const char *field)
{
	struct wa_msg_error err = {{0}};
	assert_int_equal(wa_msg_validate_json(req, &err), CW_EINVAL);
	assert_string_equal(err.field, field);
}

/* ---- Meta's examples ---- */

static void test_examples_validate(void **state)
{
	(void)state;
	const char *name;
	json_t *v;
	size_t n = 0;
	assert_int_equal(json_object_size(examples), 20);
	json_object_foreach(examples, name, v)
	{
		if (strcmp(name, ISSUE_EXAMPLE) == 0)
			continue;
		struct wa_msg_error err = {{0}};
		int rc = wa_msg_validate_json(v, &err);
		if (rc)
			print_error("%s: %s: %s\n", name, err.field, err.message);
		assert_int_equal(rc, 0);
		n++;
	}
	assert_int_equal(n, 19);
}

static void test_example_quirks(void **state)
{
	(void)state;
	/* boolean text parameters: refused, naming the first one */
	json_t *t = example(ISSUE_EXAMPLE);
	expect_json_err(t, "template.components[1].parameters[0].text");
	/* the strings Meta meant */
	json_object_set_new(json_path(t, "template.components.1.parameters.0"), "text",
			    json_string("Yes"));
	json_object_set_new(json_path(t, "template.components.2.parameters.0"), "text",
			    json_string("No"));
	expect_json_ok(t);
	json_decref(t);

	/* no "type": validated as a text message */
	t = example("Send Text Message with Preview URL");
	expect_json_ok(t);
	char *big = rep("a", 4097);
	json_object_set_new(json_object_get(t, "text"), "body", json_string(big));
	expect_json_err(t, "text.body");
	json_object_del(t, "text");
	expect_json_err(t, "text");
	free(big);
	json_decref(t);
}

/* The encoder's output for a struct equivalent to example `name` equals it
 * (extra holds what carewire always adds: recipient_type). */
static void expect_encodes_to(const struct wa_msg *m, const char *name)
{
	json_t *want = example(name);
	json_t *got = NULL;
	struct wa_msg_error err = {{0}};
	int rc = wa_msg_encode(m, &got, &err);
	if (rc)
		print_error("%s: %s: %s\n", name, err.field, err.message);
	assert_int_equal(rc, 0);
	if (!json_object_get(want, "recipient_type"))
		json_object_set_new(want, "recipient_type", json_string("individual"));
	if (!json_object_get(want, "type"))
		json_object_set_new(want, "type", json_string("text"));
	/* Meta reads only fallback_value of a date_time since 2023; the
	 * examples still carry the old calendar fields. */
	json_t *comps = json_path(want, "template.components");
	size_t i, k;
	json_t *c, *p;
	json_array_foreach(comps, i, c)
	{
		json_array_foreach(json_object_get(c, "parameters"), k, p)
		{
			json_t *dt = json_object_get(p, "date_time");
			const char *keep = json_string_value(json_object_get(dt, "fallback_value"));
			if (dt) {
				json_t *only = json_pack("{s:s}", "fallback_value", keep);
				json_object_set_new(p, "date_time", only);
			}
		}
	}
	if (!json_equal(want, got)) {
		char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(got, JSON_SORT_KEYS);
		print_error("%s:\nwant %s\ngot  %s\n", name, a, b);
		free(a);
		free(b);
	}
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
}

#define TO "{{Recipient-Phone-Number}}"

static void test_encode_matches_examples(void **state)
{
	(void)state;
	struct wa_msg m = {.to = TO, .type = WA_MSG_TEXT};
	m.text.body = "text-message-content";
	expect_encodes_to(&m, "Send Text Message");

	m.text.body = "Please visit https://youtu.be/hpltvTEiRrY.";
	m.text.preview_url = 1;
	expect_encodes_to(&m, "Send Text Message with Preview URL");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_TEXT, .reply_to = "<MSGID_OF_PREV_MSG>"};
	m.text.body = "<TEXT_MSG_CONTENT>";
	expect_encodes_to(&m, "Send Reply to Text Message");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_INTERACTIVE};
	m.interactive.type = WA_INTERACTIVE_BUTTON;
	m.interactive.body = "<BUTTON_TEXT>";
	m.interactive.nbuttons = 2;
	m.interactive.buttons[0] =
	    (struct wa_msg_button){"<UNIQUE_BUTTON_ID_1>", "<BUTTON_TITLE_1>"};
	m.interactive.buttons[1] =
	    (struct wa_msg_button){"<UNIQUE_BUTTON_ID_2>", "<BUTTON_TITLE_2>"};
	expect_encodes_to(&m, "Send Reply Button");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_INTERACTIVE};
	struct wa_msg_interactive *in = &m.interactive;
	in->type = WA_INTERACTIVE_LIST;
	in->header_text = "<HEADER_TEXT>";
	in->body = "<BODY_TEXT>";
	in->footer = "<FOOTER_TEXT>";
	in->list_button = "<BUTTON_TEXT>";
	in->nsections = 2;
	static const char *const titles[2] = {"<LIST_SECTION_1_TITLE>", "<LIST_SECTION_2_TITLE>"};
	static const char *const rows[2][2][3] = {
	    {{"<LIST_SECTION_1_ROW_1_ID>", "<SECTION_1_ROW_1_TITLE>", "<SECTION_1_ROW_1_DESC>"},
	     {"<LIST_SECTION_1_ROW_2_ID>", "<SECTION_1_ROW_2_TITLE>", "<SECTION_1_ROW_2_DESC>"}},
	    {{"<LIST_SECTION_2_ROW_1_ID>", "<SECTION_2_ROW_1_TITLE>", "<SECTION_2_ROW_1_DESC>"},
	     {"<LIST_SECTION_2_ROW_2_ID>", "<SECTION_2_ROW_2_TITLE>", "<SECTION_2_ROW_2_DESC>"}},
	};
	for (size_t s = 0; s < 2; s++) {
		in->sections[s].title = titles[s];
		in->sections[s].nrows = 2;
		for (size_t r = 0; r < 2; r++)
			in->sections[s].rows[r] =
			    (struct wa_msg_row){rows[s][r][0], rows[s][r][1], rows[s][r][2]};
	}
	expect_encodes_to(&m, "Send List Message");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_LOCATION};
	m.location = (struct wa_msg_location){37.758056, -122.425332, "META HQ",
					      "1 Hacker Way, Menlo Park, CA 94025"};
	expect_encodes_to(&m, "Send Location Message");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_IMAGE};
	m.media.link = "http(s)://image-url";
	expect_encodes_to(&m, "Send Image Message by URL");
	m.media.link = NULL;
	m.media.id = "<IMAGE_OBJECT_ID>";
	expect_encodes_to(&m, "Send Image Message by ID");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_DOCUMENT};
	m.media = (struct wa_msg_media){.link = "<http(s)://document-url>",
					.caption = "<DOCUMENT-CAPTION-TEXT>"};
	expect_encodes_to(&m, "Send Document Message by URL");
	m.media = (struct wa_msg_media){.id = "<DOCUMENT_OBJECT_ID>",
					.caption = "<DOCUMENT_CAPTION_TO_SEND>",
					.filename = "<DOCUMENT_FILENAME>"};
	expect_encodes_to(&m, "Send Document Message by ID");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_VIDEO};
	m.media = (struct wa_msg_media){.link = "<http(s)://video-url>",
					.caption = "<VIDEO_CAPTION_TEXT>"};
	expect_encodes_to(&m, "Send Video Message by URL");
	m = (struct wa_msg){.to = TO, .type = WA_MSG_AUDIO};
	m.media.link = "<http(s)://audio-url>";
	expect_encodes_to(&m, "Send Audio Message by URL");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_REACTION};
	m.reaction = (struct wa_msg_reaction){"wamid.HBgLM...", "\xF0\x9F\x98\x80"};
	expect_encodes_to(&m, "Send Reply with Reaction Message");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_TEMPLATE};
	m.tpl.name = "hello_world";
	m.tpl.language = "en_US";
	expect_encodes_to(&m, "Send Test Message");

	m = (struct wa_msg){.to = TO, .type = WA_MSG_TEMPLATE};
	m.tpl.name = "template-name";
	m.tpl.language = "language-and-locale-code";
	m.tpl.nbody = 3;
	m.tpl.body[0] = (struct wa_tpl_param){.type = WA_PARAM_TEXT, .text = "text-string"};
	m.tpl.body[1] = (struct wa_tpl_param){.type = WA_PARAM_CURRENCY,
					      .text = "$100.99",
					      .currency_code = "USD",
					      .amount_1000 = 100990};
	m.tpl.body[2] =
	    (struct wa_tpl_param){.type = WA_PARAM_DATE_TIME, .text = "February 25, 1977"};
	expect_encodes_to(&m, "Send Message Template Text");
	m.tpl.nheader = 1;
	m.tpl.header[0] =
	    (struct wa_tpl_param){.type = WA_PARAM_IMAGE, .link = "http(s)://the-image-url"};
	expect_encodes_to(&m, "Send Message Template Media");
	m.tpl.nbuttons = 2;
	m.tpl.buttons[0] = (struct wa_tpl_button){
	    .index = 0, .param = {.type = WA_PARAM_PAYLOAD, .text = "aGlzIHRoaXMgaXMgY29v"}};
	m.tpl.buttons[1] = (struct wa_tpl_button){
	    .sub_type = "quick_reply",
	    .index = 1,
	    .param = {.type = WA_PARAM_PAYLOAD, .text = "9rwnB8RbYmPF5t2Mn09x4h"}};
	expect_encodes_to(&m, "Send Message Template Interactive");
}

static void test_encode_read(void **state)
{
	(void)state;
	json_t *got = NULL;
	const char *wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=";
	assert_int_equal(wa_msg_encode_read(wamid, 1, &got), 0);
	json_t *want = example("Send typing indicator and read receipt");
	assert_true(json_equal(want, got));
	expect_json_ok(got);
	json_decref(got);
	assert_int_equal(wa_msg_encode_read(wamid, 0, &got), 0);
	assert_null(json_object_get(got, "typing_indicator"));
	assert_string_equal(json_string_value(json_object_get(got, "status")), "read");
	expect_json_ok(got);
	json_decref(got);
	json_decref(want);
	assert_int_equal(wa_msg_encode_read("", 1, &got), CW_EINVAL);
	assert_null(got);
	assert_int_equal(wa_msg_encode_read(NULL, 0, &got), CW_EINVAL);

	/* a receipt with a wrong status or typing type is refused */
	json_t *r = json_pack("{s:s,s:s,s:s}", "messaging_product", "whatsapp", "status",
			      "delivered", "message_id", "wamid.X");
	expect_json_err(r, "status");
	json_object_set_new(r, "status", json_string("read"));
	json_object_set_new(r, "typing_indicator", json_pack("{s:s}", "type", "audio"));
	expect_json_err(r, "typing_indicator.type");
	json_decref(r);
}

/* ---- limits: one at the limit, one past it ---- */

static void set_buttons(struct wa_msg *m, size_t n)
{
	static const char *ids[] = {"b0", "b1", "b2", "b3"};
	static const char *titles[] = {"One", "Two", "Three", "Four"};
	*m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_INTERACTIVE};
	m->interactive.type = WA_INTERACTIVE_BUTTON;
	m->interactive.body = "Will you come?";
	m->interactive.nbuttons = n;
	for (size_t i = 0; i < n && i < WA_MSG_MAX_BUTTONS; i++)
		m->interactive.buttons[i] = (struct wa_msg_button){ids[i], titles[i]};
}

static void test_limit_text_and_interactive_parts(void **state)
{
	(void)state;
	struct wa_msg m = {.to = "972521234567", .type = WA_MSG_TEXT};
	char *s = rep("a", 4096);
	m.text.body = s;
	expect_ok(&m);
	free(s);
	s = rep("a", 4097);
	m.text.body = s;
	expect_err(&m, "text.body");
	free(s);
	m.text.body = "";
	expect_err(&m, "text.body");
	m.text.body = NULL;
	expect_err(&m, "text.body");

	set_buttons(&m, 2);
	s = rep("b", 1024);
	m.interactive.body = s;
	expect_ok(&m);
	free(s);
	s = rep("b", 1025);
	m.interactive.body = s;
	expect_err(&m, "interactive.body.text");
	free(s);

	set_buttons(&m, 2);
	s = rep("f", 60);
	m.interactive.footer = s;
	m.interactive.header_text = s;
	expect_ok(&m);
	free(s);
	s = rep("f", 61);
	m.interactive.footer = s;
	m.interactive.header_text = NULL;
	expect_err(&m, "interactive.footer.text");
	m.interactive.footer = NULL;
	m.interactive.header_text = s;
	expect_err(&m, "interactive.header.text");
	free(s);
}

static void test_limit_buttons(void **state)
{
	(void)state;
	struct wa_msg m;
	set_buttons(&m, 3);
	expect_ok(&m);
	set_buttons(&m, 4); /* more than the struct holds: refused before reading it */
	expect_err(&m, "interactive.action.buttons");
	set_buttons(&m, 0);
	expect_err(&m, "interactive.action.buttons");

	/* the same limit on a body built elsewhere */
	set_buttons(&m, 3);
	json_t *req = NULL;
	assert_int_equal(wa_msg_encode(&m, &req, NULL), 0);
	json_t *btns = json_path(req, "interactive.action.buttons");
	json_array_append_new(btns, json_pack("{s:s,s:{s:s,s:s}}", "type", "reply", "reply", "id",
					      "b3", "title", "Four"));
	expect_json_err(req, "interactive.action.buttons");
	json_decref(req);

	/* title: 20 characters ok, 21 not, and unique */
	set_buttons(&m, 2);
	char *s = rep("t", 20);
	m.interactive.buttons[1].title = s;
	expect_ok(&m);
	free(s);
	s = rep("t", 21);
	m.interactive.buttons[1].title = s;
	expect_err(&m, "interactive.action.buttons[1].reply.title");
	free(s);
	set_buttons(&m, 3);
	m.interactive.buttons[2].title = "One";
	expect_err(&m, "interactive.action.buttons[2].reply.title");

	/* id: 256 ok, 257 not, unique, required */
	set_buttons(&m, 2);
	s = rep("i", 256);
	m.interactive.buttons[0].id = s;
	expect_ok(&m);
	free(s);
	s = rep("i", 257);
	m.interactive.buttons[0].id = s;
	expect_err(&m, "interactive.action.buttons[0].reply.id");
	free(s);
	m.interactive.buttons[0].id = "b1";
	expect_err(&m, "interactive.action.buttons[1].reply.id");
	m.interactive.buttons[0].id = NULL;
	expect_err(&m, "interactive.action.buttons[0].reply.id");
}

static void set_list(struct wa_msg *m, size_t nsections, size_t rows_each)
{
	static char ids[WA_MSG_MAX_SECTIONS][WA_MSG_MAX_ROWS][16];
	*m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_INTERACTIVE};
	struct wa_msg_interactive *in = &m->interactive;
	in->type = WA_INTERACTIVE_LIST;
	in->body = "Choose a time";
	in->list_button = "Times";
	in->nsections = nsections;
	for (size_t s = 0; s < nsections && s < WA_MSG_MAX_SECTIONS; s++) {
		in->sections[s].title = "Morning";
		in->sections[s].nrows = rows_each;
		for (size_t r = 0; r < rows_each && r < WA_MSG_MAX_ROWS; r++) {
			snprintf(ids[s][r], sizeof ids[s][r], "slot-%zu-%zu", s, r);
			in->sections[s].rows[r] = (struct wa_msg_row){ids[s][r], "09:00", NULL};
		}
	}
}

static void test_limit_list(void **state)
{
	(void)state;
	struct wa_msg m;
	set_list(&m, 1, 10);
	expect_ok(&m);
	set_list(&m, 2, 5);
	expect_ok(&m);
	/* rows in all: 5 + 6 = 11 */
	set_list(&m, 2, 5);
	m.interactive.sections[1].nrows = 6;
	m.interactive.sections[1].rows[5] = (struct wa_msg_row){"extra", "10:00", NULL};
	expect_err(&m, "interactive.action.sections[1].rows[5]");
	/* one section with 11 rows is past the struct's capacity */
	set_list(&m, 1, 10);
	m.interactive.sections[0].nrows = 11;
	expect_err(&m, "interactive.action.sections[0].rows");
	set_list(&m, 1, 0);
	expect_err(&m, "interactive.action.sections[0].rows");

	/* sections: 10 with one row each ok, 11 not */
	set_list(&m, 10, 1);
	expect_ok(&m);
	set_list(&m, 11, 1);
	expect_err(&m, "interactive.action.sections");
	set_list(&m, 10, 1);
	json_t *req = NULL;
	assert_int_equal(wa_msg_encode(&m, &req, NULL), 0);
	json_array_append_new(
	    json_path(req, "interactive.action.sections"),
	    json_pack("{s:s,s:[{s:s,s:s}]}", "title", "x", "rows", "id", "z", "title", "z"));
	expect_json_err(req, "interactive.action.sections");
	json_decref(req);

	/* section title: 24 / 25, required only when there are several */
	set_list(&m, 2, 1);
	char *s = rep("s", 24);
	m.interactive.sections[0].title = s;
	expect_ok(&m);
	free(s);
	s = rep("s", 25);
	m.interactive.sections[0].title = s;
	expect_err(&m, "interactive.action.sections[0].title");
	free(s);
	m.interactive.sections[1].title = NULL;
	m.interactive.sections[0].title = "Morning";
	expect_err(&m, "interactive.action.sections[1].title");
	set_list(&m, 1, 1);
	m.interactive.sections[0].title = NULL;
	expect_ok(&m);

	/* row title 24 / 25 */
	set_list(&m, 1, 2);
	s = rep("r", 24);
	m.interactive.sections[0].rows[1].title = s;
	expect_ok(&m);
	free(s);
	s = rep("r", 25);
	m.interactive.sections[0].rows[1].title = s;
	expect_err(&m, "interactive.action.sections[0].rows[1].title");
	free(s);

	/* description 72 / 73 */
	set_list(&m, 1, 2);
	s = rep("d", 72);
	m.interactive.sections[0].rows[0].description = s;
	expect_ok(&m);
	free(s);
	s = rep("d", 73);
	m.interactive.sections[0].rows[0].description = s;
	expect_err(&m, "interactive.action.sections[0].rows[0].description");
	free(s);

	/* row id 200 / 201, unique across sections */
	set_list(&m, 2, 1);
	s = rep("x", 200);
	m.interactive.sections[1].rows[0].id = s;
	expect_ok(&m);
	free(s);
	s = rep("x", 201);
	m.interactive.sections[1].rows[0].id = s;
	expect_err(&m, "interactive.action.sections[1].rows[0].id");
	free(s);
	m.interactive.sections[1].rows[0].id = m.interactive.sections[0].rows[0].id;
	expect_err(&m, "interactive.action.sections[1].rows[0].id");

	/* list button 20 / 21 */
	set_list(&m, 1, 1);
	s = rep("L", 20);
	m.interactive.list_button = s;
	expect_ok(&m);
	free(s);
	s = rep("L", 21);
	m.interactive.list_button = s;
	expect_err(&m, "interactive.action.button");
	free(s);
	m.interactive.list_button = NULL;
	expect_err(&m, "interactive.action.button");

	/* a list header is text only */
	set_list(&m, 1, 1);
	req = NULL;
	assert_int_equal(wa_msg_encode(&m, &req, NULL), 0);
	json_object_set_new(json_object_get(req, "interactive"), "header",
			    json_pack("{s:s,s:{s:s}}", "type", "image", "image", "id", "123"));
	expect_json_err(req, "interactive.header.type");
	json_decref(req);
}

static void test_limit_utf8(void **state)
{
	(void)state;
	struct wa_msg m;
	/* 20 Hebrew letters are 40 bytes: a title of 20 characters */
	char *he = rep("\xD7\xA9", 20); /* ש */
	char *ru = rep("\xD0\xB6", 20); /* ж */
	assert_int_equal(strlen(he), 40);
	assert_int_equal(wa_msg_utf8_chars(he, strlen(he)), 20);
	set_buttons(&m, 2);
	m.interactive.buttons[0].title = he;
	m.interactive.buttons[1].title = ru;
	expect_ok(&m);
	free(he);
	he = rep("\xD7\xA9", 21);
	m.interactive.buttons[0].title = he;
	expect_err(&m, "interactive.action.buttons[0].reply.title");
	free(he);
	free(ru);
	/* "מחר 09:00 ✓" row title and a 24-char Russian row */
	set_list(&m, 1, 1);
	char *r24 = rep("\xD1\x8F", 24);
	m.interactive.sections[0].rows[0].title = r24;
	expect_ok(&m);
	free(r24);
	/* an emoji is one character (four bytes) */
	char *emo = rep("\xF0\x9F\x98\x80", 20);
	set_buttons(&m, 1);
	m.interactive.buttons[0].title = emo;
	expect_ok(&m);
	free(emo);
	/* bytes that are not UTF-8 are refused, naming the field */
	set_buttons(&m, 1);
	m.interactive.buttons[0].title = "bad \xC3";
	expect_err(&m, "interactive.action.buttons[0].reply.title");
}

static void test_limit_media_and_misc(void **state)
{
	(void)state;
	struct wa_msg m = {.to = "972521234567", .type = WA_MSG_IMAGE};
	m.media.id = "1234";
	char *s = rep("c", 1024);
	m.media.caption = s;
	expect_ok(&m);
	free(s);
	s = rep("c", 1025);
	m.media.caption = s;
	expect_err(&m, "image.caption");
	free(s);
	m.media.caption = NULL;
	m.media.link = "https://example.org/a.png";
	expect_err(&m, "image"); /* both link and id */
	m.media.link = m.media.id = NULL;
	expect_err(&m, "image");
	m.media.id = "1234";
	m.media.filename = "a.png";
	expect_err(&m, "image.filename");

	m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_AUDIO};
	m.media.id = "1234";
	expect_ok(&m);
	m.media.caption = "listen";
	expect_err(&m, "audio.caption");
	m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_STICKER};
	m.media.id = "1234";
	expect_ok(&m);

	m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_LOCATION};
	m.location = (struct wa_msg_location){90, -180, "Clinic", NULL};
	expect_ok(&m);
	m.location.latitude = 90.5;
	expect_err(&m, "location.latitude");
	m.location.latitude = 32;
	m.location.longitude = 180.01;
	expect_err(&m, "location.longitude");

	m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_TEXT};
	m.text.body = "hi";
	s = rep("o", 512);
	m.biz_opaque_callback_data = s;
	expect_ok(&m);
	free(s);
	s = rep("o", 513);
	m.biz_opaque_callback_data = s;
	expect_err(&m, "biz_opaque_callback_data");
	free(s);
	m.biz_opaque_callback_data = NULL;
	m.to = NULL;
	expect_err(&m, "to");
	m.to = "";
	expect_err(&m, "to");

	m = (struct wa_msg){.to = "972521234567", .type = WA_MSG_REACTION};
	m.reaction.message_id = "wamid.X";
	m.reaction.emoji = ""; /* removes a reaction */
	expect_ok(&m);
	m.reaction.message_id = NULL;
	expect_err(&m, "reaction.message_id");

	m = (struct wa_msg){.to = "972521234567", .type = (enum wa_msg_type)99};
	expect_err(&m, "type");
}

static void test_template(void **state)
{
	(void)state;
	struct wa_msg m = {.to = "972521234567", .type = WA_MSG_TEMPLATE};
	m.tpl.name = "appt_reminder";
	m.tpl.language = "he";
	m.tpl.nbody = 2;
	m.tpl.body[0] =
	    (struct wa_tpl_param){.type = WA_PARAM_TEXT, .name = "doctor", .text = "Dr. Levi"};
	m.tpl.body[1] = (struct wa_tpl_param){
	    .type = WA_PARAM_DATE_TIME, .name = "when", .text = "Sunday 09:00"};
	m.tpl.nheader = 1;
	m.tpl.header[0] =
	    (struct wa_tpl_param){.type = WA_PARAM_DOCUMENT, .id = "77", .filename = "prep.pdf"};
	m.tpl.nbuttons = 1;
	m.tpl.buttons[0] = (struct wa_tpl_button){
	    .sub_type = "url", .index = 1, .param = {.type = WA_PARAM_TEXT, .text = "abc123"}};
	json_t *req = NULL;
	assert_int_equal(wa_msg_encode(&m, &req, NULL), 0);
	/* named parameters carry parameter_name */
	assert_string_equal(
	    json_string_value(json_path(req, "template.components.1.parameters.0.parameter_name")),
	    "doctor");
	assert_string_equal(json_string_value(json_path(req, "template.components.0.type")),
			    "header");
	assert_string_equal(json_string_value(json_path(
				req, "template.components.0.parameters.0.document.filename")),
			    "prep.pdf");
	assert_string_equal(json_string_value(json_path(req, "template.components.2.sub_type")),
			    "url");
	assert_string_equal(json_string_value(json_path(req, "template.components.2.index")), "1");
	assert_string_equal(json_string_value(json_path(req, "template.language.code")), "he");
	int body = -1, header = -1;
	assert_int_equal(
	    wa_msg_template_param_count(json_object_get(req, "template"), &body, &header), 0);
	assert_int_equal(body, 2);
	assert_int_equal(header, 1);
	json_decref(req);

	/* index 9 ok, 10 not */
	m.tpl.buttons[0].index = 9;
	expect_ok(&m);
	m.tpl.buttons[0].index = 10;
	expect_err(&m, "template.components[2].index");
	m.tpl.buttons[0].index = 0;

	/* name 512 / 513 */
	char *s = rep("n", 512);
	m.tpl.name = s;
	expect_ok(&m);
	free(s);
	s = rep("n", 513);
	m.tpl.name = s;
	expect_err(&m, "template.name");
	free(s);
	m.tpl.name = "appt_reminder";

	/* missing pieces are named */
	m.tpl.language = NULL;
	expect_err(&m, "template.language.code");
	m.tpl.language = "he";
	m.tpl.body[0].text = NULL;
	expect_err(&m, "template.components[1].parameters[0].text");
	m.tpl.body[0].text = "Dr. Levi";
	m.tpl.body[1] = (struct wa_tpl_param){.type = WA_PARAM_CURRENCY,
					      .text = "₪120",
					      .currency_code = "ILSX",
					      .amount_1000 = 120000};
	expect_err(&m, "template.components[1].parameters[1].currency.code");
	m.tpl.body[1].currency_code = "ILS";
	expect_ok(&m);
	m.tpl.header[0].filename = NULL;
	m.tpl.header[0].id = NULL;
	expect_err(&m, "template.components[0].parameters[0].document");
	m.tpl.nheader = 2; /* over the struct capacity (and Meta's one header variable) */
	expect_err(&m, "template.header");

	/* a header with two parameters, built elsewhere */
	json_t *t = example("Send Message Template Media");
	json_array_append_new(json_path(t, "template.components.0.parameters"),
			      json_pack("{s:s,s:s}", "type", "text", "text", "x"));
	expect_json_err(t, "template.components[0].parameters");
	json_decref(t);

	/* counting on Meta's example */
	t = example("Send Message Template Interactive");
	assert_int_equal(
	    wa_msg_template_param_count(json_object_get(t, "template"), &body, &header), 0);
	assert_int_equal(body, 3);
	assert_int_equal(header, 1);
	json_decref(t);
	t = example("Send Test Message");
	assert_int_equal(wa_msg_template_param_count(json_object_get(t, "template"), &body, NULL),
			 0);
	assert_int_equal(body, 0);
	json_decref(t);
	assert_int_equal(wa_msg_template_param_count(NULL, &body, &header), CW_EINVAL);
	t = json_pack("{s:s}", "components", "x");
	assert_int_equal(wa_msg_template_param_count(t, &body, &header), CW_EINVAL);
	json_decref(t);
}

static void test_validate_shapes(void **state)
{
	(void)state;
	expect_json_err(NULL, "body");
	json_t *r = json_pack("[]");
	expect_json_err(r, "body");
	json_decref(r);
	r = json_pack("{s:s,s:s,s:s,s:{s:s}}", "messaging_product", "sms", "to", "1", "type",
		      "text", "text", "body", "x");
	expect_json_err(r, "messaging_product");
	json_object_set_new(r, "messaging_product", json_string("whatsapp"));
	expect_json_ok(r);
	json_object_set_new(r, "type", json_string("poll"));
	expect_json_err(r, "type");
	json_object_set_new(r, "type", json_integer(1));
	expect_json_err(r, "type");
	json_object_set_new(r, "type", json_string("interactive"));
	expect_json_err(r, "interactive");
	json_object_set_new(r, "interactive", json_string("x"));
	expect_json_err(r, "interactive");
	json_object_set_new(r, "interactive", json_pack("{s:s}", "type", "carousel"));
	expect_json_err(r, "interactive.type");
	json_object_set_new(r, "interactive",
			    json_pack("{s:s,s:{s:s},s:{s:s}}", "type", "button", "body", "text",
				      "x", "action", "buttons", "no"));
	expect_json_err(r, "interactive.action.buttons");
	json_object_set_new(json_path(r, "interactive.action"), "buttons",
			    json_pack("[s]", "not an object"));
	expect_json_err(r, "interactive.action.buttons[0]");
	json_decref(r);
}

static void test_limit_lookup(void **state)
{
	(void)state;
	assert_int_equal(wa_msg_limit("interactive.action.buttons[].reply.title"), 20);
	assert_int_equal(wa_msg_limit("interactive.action.buttons"), WA_MSG_MAX_BUTTONS);
	assert_int_equal(wa_msg_limit("interactive.action.sections[].rows[]"), WA_MSG_MAX_ROWS);
	assert_int_equal(wa_msg_limit("interactive.body.text"), 1024);
	assert_int_equal(wa_msg_limit("text.body"), 4096);
	assert_int_equal(wa_msg_limit("interactive.action.sections[].rows[].description"), 72);
	assert_int_equal(wa_msg_limit("no.such.path"), -1);
	assert_int_equal(wa_msg_limit(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_validate),
	    cmocka_unit_test(test_example_quirks),
	    cmocka_unit_test(test_encode_matches_examples),
	    cmocka_unit_test(test_encode_read),
	    cmocka_unit_test(test_limit_text_and_interactive_parts),
	    cmocka_unit_test(test_limit_buttons),
	    cmocka_unit_test(test_limit_list),
	    cmocka_unit_test(test_limit_utf8),
	    cmocka_unit_test(test_limit_media_and_misc),
	    cmocka_unit_test(test_template),
	    cmocka_unit_test(test_validate_shapes),
	    cmocka_unit_test(test_limit_lookup),
	};
	return cmocka_run_group_tests(tests, load_examples, free_examples);
}
