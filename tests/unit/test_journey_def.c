/*
 * test_journey_def.c — unit tests for core/journey_def: every journey in the
 * library parses; every kind of mistake is reported with its step and
 * field; texts render with variables and filters; conditions, reply
 * matching and message building behave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/time.h"
#include "core/journey_def.h"
#include "base/banned.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, len);
}

static void test_library_parses(void **state)
{
	(void)state;
	const char *root = getenv("CW_SOURCE_ROOT");
	assert_non_null(root);
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/journeys", root);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		char path[1400];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *text = slurp(path, &len);
		assert_non_null(text);
		struct journey_def *def = NULL;
		struct journey_def_errors errs;
		int rc = journey_def_parse_text(text, len, &def, &errs);
		if (rc) {
			char line[600];
			for (int i = 0; i < errs.n; i++)
				print_error(
				    "%s: %s\n", e->d_name,
				    journey_def_error_format(&errs.e[i], line, sizeof line));
		}
		assert_int_equal(rc, 0);
		/* the library is in Hebrew, Russian and English */
		assert_int_equal(def->nlangs, 3);
		assert_non_null(def->key);
		assert_true(def->nsteps > 0);
		/* the file name is the key */
		assert_int_equal(strncmp(e->d_name, def->key, strlen(def->key)), 0);
		journey_def_free(def);
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n >= 9);
}

/* A small valid journey that the error cases below break one way each. */
static const char *base_journey =
    "{\"key\":\"t\",\"purpose\":\"marketing\",\"languages\":[\"he\",\"en\"],"
    "\"steps\":["
    "{\"id\":\"invite\",\"type\":\"send\",\"message\":{\"type\":\"buttons\","
    "  \"body\":{\"he\":\"שלום\",\"en\":\"Hello {{contact.first_name}}\"},"
    "  \"buttons\":[{\"id\":\"yes\",\"title\":{\"he\":\"כן\",\"en\":\"Yes\"}},"
    "              {\"id\":\"no\",\"title\":{\"he\":\"לא\",\"en\":\"No\"}}]}},"
    "{\"id\":\"wait\",\"type\":\"wait_reply\",\"timeout\":\"P2D\",\"branches\":["
    "  {\"button\":\"yes\",\"next\":\"thanks\"},{\"timeout\":true,\"next\":\"end\"}]},"
    "{\"id\":\"thanks\",\"type\":\"send\",\"message\":{\"type\":\"text\",\"text\":\"Thanks\"}}"
    "]}";

static json_t *base(void)
{
	json_t *j = json_loads(base_journey, 0, NULL);
	assert_non_null(j);
	return j;
}

/* Parses j (stolen) and checks that one reported line contains want. */
static void expect_error(json_t *j, const char *want)
{
	struct journey_def *d = NULL;
	struct journey_def_errors errs;
	int rc = journey_def_parse(j, &d, &errs);
	json_decref(j);
	assert_int_equal(rc, CW_EINVAL);
	assert_null(d);
	int found = 0;
	char line[600];
	for (int i = 0; i < errs.n; i++) {
		journey_def_error_format(&errs.e[i], line, sizeof line);
		if (strstr(line, want))
			found = 1;
	}
	if (!found) {
		for (int i = 0; i < errs.n; i++)
			print_error("got: %s\n",
				    journey_def_error_format(&errs.e[i], line, sizeof line));
		fail_msg("no error containing: %s", want);
	}
}

static json_t *step(json_t *j, int i)
{
	return json_array_get(json_object_get(j, "steps"), (size_t)i);
}

static void test_base_is_valid(void **state)
{
	(void)state;
	json_t *j = base();
	struct journey_def *d = NULL;
	struct journey_def_errors errs;
	assert_int_equal(journey_def_parse(j, &d, &errs), 0);
	json_decref(j);
	assert_int_equal(d->nsteps, 3);
	assert_int_equal(d->purpose, POLICY_MARKETING);
	assert_true(d->interactive);
	assert_int_equal(d->conflict, JC_QUEUE);
	assert_string_equal(d->default_lang, "he");
	assert_int_equal(d->steps[0].next, 1);
	assert_int_equal(d->steps[1].timeout_ms, 2 * 86400000LL);
	assert_int_equal(d->steps[1].nbranches, 2);
	assert_int_equal(d->steps[1].branches[0].next, 2);
	assert_int_equal(d->steps[1].branches[1].next, JOURNEY_END);
	assert_string_equal(d->steps[1].branches[0].label, "button:yes");
	assert_int_equal(d->steps[2].next, JOURNEY_END);
	assert_int_equal(journey_def_step(d, "thanks"), 2);
	/* the graph for the dashboard */
	json_t *g = d->graph;
	assert_string_equal(json_string_value(json_object_get(g, "start")), "invite");
	json_t *edges = json_object_get(json_array_get(json_object_get(g, "steps"), 1), "edges");
	assert_int_equal(json_array_size(edges), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(edges, 0), "to")),
			    "thanks");
	journey_def_free(d);
}

static void test_error_long_button_title(void **state)
{
	(void)state;
	json_t *j = base();
	json_t *b =
	    json_array_get(json_object_get(json_object_get(step(j, 0), "message"), "buttons"), 1);
	json_object_set_new(json_object_get(b, "title"), "en",
			    json_string("Twenty-one characters"));
	expect_error(j, "step \"invite\": buttons[1].title: longer than 20 characters in \"en\"");
}

static void test_error_hebrew_title_counts_letters(void **state)
{
	(void)state;
	/* 20 Hebrew letters are 40 bytes but only 20 characters: fine */
	json_t *j = base();
	json_t *b =
	    json_array_get(json_object_get(json_object_get(step(j, 0), "message"), "buttons"), 0);
	json_object_set_new(json_object_get(b, "title"), "he", json_string("אבגדהוזחטיכלמנסעפצקר"));
	struct journey_def *d = NULL;
	assert_int_equal(journey_def_parse(j, &d, NULL), 0);
	journey_def_free(d);
	json_object_set_new(json_object_get(b, "title"), "he",
			    json_string("אבגדהוזחטיכלמנסעפצקרש"));
	expect_error(j, "step \"invite\": buttons[0].title: longer than 20 characters in \"he\"");
}

static void test_error_missing_language(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_del(json_object_get(json_object_get(step(j, 0), "message"), "body"), "he");
	expect_error(j, "step \"invite\": body: no \"he\" text");
}

static void test_error_purpose(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_del(j, "purpose");
	expect_error(j, "purpose: is required");
	j = base();
	json_object_set_new(j, "purpose", json_string("promo"));
	expect_error(j, "purpose: must be one of service, reminders, results, surveys, marketing");
}

static void test_error_next_unknown(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(step(j, 0), "next", json_string("nowhere"));
	expect_error(j, "step \"invite\": next: no step \"nowhere\"");
	j = base();
	json_t *br = json_array_get(json_object_get(step(j, 1), "branches"), 0);
	json_object_set_new(br, "next", json_string("gone"));
	expect_error(j, "step \"wait\": branches[0].next: no step \"gone\"");
}

static void test_error_button_not_offered(void **state)
{
	(void)state;
	json_t *j = base();
	json_t *br = json_array_get(json_object_get(step(j, 1), "branches"), 0);
	json_object_set_new(br, "button", json_string("yse"));
	expect_error(j, "step \"wait\": branches[0].button: no send step offers a button \"yse\"");
}

static void test_error_duration(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(step(j, 1), "timeout", json_string("2 days"));
	expect_error(j, "step \"wait\": timeout: must be a positive ISO-8601 duration");
	j = base();
	json_object_del(step(j, 1), "timeout");
	expect_error(j, "step \"wait\": timeout: is required when a branch takes the timeout");
}

static void test_error_unknown_field_and_type(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(step(j, 2), "nxt", json_string("end"));
	expect_error(j, "step \"thanks\": nxt: unknown field");
	j = base();
	json_object_set_new(step(j, 2), "type", json_string("sned"));
	expect_error(j, "step \"thanks\": type: must be one of send, wait_reply");
	/* a bad type does not hide the other steps' problems */
	j = base();
	json_object_set_new(step(j, 2), "type", json_string("sned"));
	json_object_set_new(step(j, 1), "timeout", json_string("soon"));
	expect_error(j, "step \"wait\": timeout:");
}

static void test_error_duplicate_step(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(step(j, 2), "id", json_string("invite"));
	expect_error(j, "step \"invite\": id: used by steps[0] too");
}

static void test_error_variable(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(json_object_get(step(j, 2), "message"), "text",
			    json_string("Hi {{patient.name}}"));
	expect_error(j, "step \"thanks\": text: unknown variable \"patient.name\"");
	j = base();
	json_object_set_new(json_object_get(step(j, 2), "message"), "text",
			    json_string("Hi {{contact.name|shout}}"));
	expect_error(j, "step \"thanks\": text: unknown filter \"shout\"");
	j = base();
	json_object_set_new(json_object_get(step(j, 2), "message"), "text",
			    json_string("Hi {{contact.name"));
	expect_error(j, "step \"thanks\": text: \"{{\" without \"}}\"");
}

static void test_error_pattern_and_condition(void **state)
{
	(void)state;
	json_t *j = base();
	json_array_insert_new(json_object_get(step(j, 1), "branches"), 0,
			      json_pack("{s:s, s:s}", "pattern", "(unclosed", "next", "thanks"));
	expect_error(j, "step \"wait\": branches[0].pattern: not a valid pattern");
	j = base();
	json_t *s =
	    json_pack("{s:s, s:s, s:[{s:{s:s, s:s}, s:s}]}", "id", "check", "type", "branch",
		      "branches", "if", "var", "contact.language", "like", "he", "next", "end");
	json_array_append_new(json_object_get(j, "steps"), s);
	expect_error(j, "step \"check\": branches[0].if.like: unknown operator");
}

static void test_error_loop_without_wait(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(step(j, 2), "next", json_string("thanks"));
	expect_error(j, "step \"thanks\": loops back to itself without a wait step");
}

static void test_error_branch_kind_for_step(void **state)
{
	(void)state;
	json_t *j = base();
	json_array_append_new(json_object_get(step(j, 1), "branches"),
			      json_pack("{s:b, s:s}", "ok", 1, "next", "end"));
	expect_error(j, "step \"wait\": branches[2].ok: not a branch this step can take");
}

static void test_error_triggers(void **state)
{
	(void)state;
	json_t *j = base();
	json_object_set_new(j, "triggers",
			    json_pack("[{s:s, s:s}, {s:s}]", "type", "event", "event", "Booked!",
				      "type", "keyword"));
	expect_error(j, "triggers[0].event: must be an event type");
	j = base();
	json_object_set_new(j, "triggers", json_pack("[{s:s}]", "type", "keyword"));
	expect_error(j, "triggers[0].words: is required");
}

static void test_error_json_syntax(void **state)
{
	(void)state;
	struct journey_def *d = NULL;
	struct journey_def_errors errs;
	assert_int_equal(journey_def_parse_text("{\"key\": }", 9, &d, &errs), CW_EINVAL);
	assert_int_equal(errs.n, 1);
	char line[600];
	journey_def_error_format(&errs.e[0], line, sizeof line);
	assert_non_null(strstr(line, "line 1, column"));
}

static json_t *ctx(void)
{
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}, s:[s]},"
			 " s:{s:s, s:s, s:i, s:s},"
			 " s:{s:{s:s, s:s, s:s}},"
			 " s:{s:s}}",
			 "contact", "first_name", "Noa", "name", "Noa Levi", "language", "ru",
			 "time_zone", "Asia/Jerusalem", "fields", "radiation", "completed",
			 "consent", "results", "granted", "tags", "vip", "event", "starts_at",
			 "2026-11-24T16:00:00Z", "category", "oncology/breast", "amount", 120,
			 "type", "appointment.booked", "vars", "event_name", "he", "הרצאה", "ru",
			 "Лекция", "en", "Lecture", "org", "time_zone", "UTC");
}

static char *render(const char *text, const json_t *c)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(journey_render(text, c, &b), 0);
	return buf_detach(&b, NULL);
}

static void test_render(void **state)
{
	(void)state;
	json_t *c = ctx();
	char *s = render(
	    "Hi {{ contact.first_name }}, {{event.amount}} ₪ {{contact.fields.radiation|upper}}",
	    c);
	assert_string_equal(s, "Hi Noa, 120 ₪ COMPLETED");
	free(s);
	s = render("[{{contact.fields.none|default:friend}}][{{vars.missing}}]", c);
	assert_string_equal(s, "[friend][]");
	free(s);
	/* a value given in several languages renders in the contact's */
	s = render("{{vars.event_name}}", c);
	assert_string_equal(s, "Лекция");
	free(s);
	/* 16:00Z is 18:00 in Jerusalem in November, formatted in Russian */
	s = render("{{event.starts_at|time}}", c);
	assert_string_equal(s, "18:00");
	free(s);
	s = render("{{event.starts_at|date}}", c);
	assert_non_null(strstr(s, "2026"));
	assert_non_null(strstr(s, "нояб"));
	free(s);
	json_decref(c);
}

static int eval(const char *cond, const json_t *c)
{
	json_t *j = json_loads(cond, 0, NULL);
	assert_non_null(j);
	int r = journey_cond_eval(j, c, NULL);
	json_decref(j);
	return r;
}

static void test_conditions(void **state)
{
	(void)state;
	json_t *c = ctx();
	assert_true(eval("{\"var\":\"contact.consent.results\",\"eq\":\"granted\"}", c));
	assert_false(eval("{\"var\":\"contact.consent.marketing\",\"eq\":\"granted\"}", c));
	assert_true(eval("{\"var\":\"contact.consent.marketing\",\"exists\":false}", c));
	assert_true(eval("{\"var\":\"event.amount\",\"gt\":100}", c));
	assert_false(eval("{\"var\":\"event.amount\",\"lt\":100}", c));
	assert_true(
	    eval("{\"var\":\"event.amount\",\"eq\":\"120\"}", c)); /* CRMs send ids both ways */
	assert_true(eval("{\"var\":\"event.starts_at\",\"gte\":\"2026-11-24T00:00:00Z\"}", c));
	assert_true(eval("{\"var\":\"contact.language\",\"in\":[\"he\",\"ru\"]}", c));
	assert_true(eval("{\"var\":\"contact.tags\",\"contains\":\"vip\"}", c));
	/* "oncology" (a default sensitive category) covers "oncology/breast" */
	assert_true(eval("{\"var\":\"event.category\",\"sensitive\":true}", c));
	assert_true(eval("{\"all\":[{\"var\":\"contact.language\",\"eq\":\"ru\"},"
			 "{\"not\":{\"var\":\"event.type\",\"eq\":\"visit.completed\"}}]}",
			 c));
	assert_false(eval("{\"any\":[{\"var\":\"contact.language\",\"eq\":\"he\"},"
			  "{\"var\":\"event.amount\",\"lt\":1}]}",
			  c));
	json_decref(c);
}

static void test_reply_matching(void **state)
{
	(void)state;
	const char *def =
	    "{\"key\":\"m\",\"purpose\":\"service\",\"steps\":["
	    "{\"id\":\"ask\",\"type\":\"send\",\"message\":{\"type\":\"list\",\"body\":\"Pick\","
	    "  "
	    "\"button\":\"Times\",\"sections\":[{\"rows\":[{\"id\":\"am\",\"title\":\"Morning\"}]}]"
	    "}},"
	    "{\"id\":\"w\",\"type\":\"wait_reply\",\"branches\":["
	    "  {\"list_row\":\"am\",\"next\":\"end\"},"
	    "  {\"words\":{\"ru\":[\"не смогу\"],\"he\":[\"לא "
	    "אוכל\"],\"en\":[\"can't\"]},\"next\":\"end\"},"
	    "  {\"pattern\":\"^\\\\s*[1-5]\\\\s*$\",\"next\":\"end\"},"
	    "  {\"any\":true,\"next\":\"end\"}]}]}";
	struct journey_def *d = NULL;
	struct journey_def_errors errs;
	int rc = journey_def_parse_text(def, strlen(def), &d, &errs);
	if (rc) {
		char line[600];
		fail_msg("%s", journey_def_error_format(&errs.e[0], line, sizeof line));
	}
	const struct journey_step *w = &d->steps[1];
	struct journey_reply list = {.list = "am"};
	assert_true(journey_branch_matches(&w->branches[0], &list, NULL));
	struct journey_reply ru = {.text = "Извините, я НЕ СМОГУ прийти!"};
	char *f = journey_fold_words(ru.text);
	assert_true(journey_branch_matches(&w->branches[1], &ru, f));
	free(f);
	struct journey_reply he = {.text = "לֹא אוּכַל, סליחה"}; /* with vowel points */
	f = journey_fold_words(he.text);
	assert_true(journey_branch_matches(&w->branches[1], &he, f));
	free(f);
	struct journey_reply en = {.text = "I cannot"};
	f = journey_fold_words(en.text);
	assert_false(journey_branch_matches(&w->branches[1], &en, f));
	free(f);
	/* "can't" is one word; "scan't" is not it */
	struct journey_reply en2 = {.text = "sorry, CAN'T make it"};
	f = journey_fold_words(en2.text);
	assert_true(journey_branch_matches(&w->branches[1], &en2, f));
	free(f);
	struct journey_reply digit = {.text = " 4 "};
	assert_true(journey_branch_matches(&w->branches[2], &digit, NULL));
	struct journey_reply digit6 = {.text = "6"};
	assert_false(journey_branch_matches(&w->branches[2], &digit6, NULL));
	assert_true(journey_branch_matches(&w->branches[3], &digit6, NULL));
	journey_def_free(d);
}

/* A reply's text against one phrase, as branches and keyword triggers
 * compare them. */
static int words_match(const char *phrase, const char *text)
{
	char *w = journey_fold_words(phrase), *f = journey_fold_words(text);
	assert_non_null(w);
	assert_non_null(f);
	int r = journey_words_match(&w, 1, f);
	free(w);
	free(f);
	return r;
}

static void test_words_hebrew_prefixes(void **state)
{
	(void)state;
	assert_true(words_match("הרצאה", "פרטים על ההרצאה בבקשה"));
	assert_true(words_match("הרצאה", "מתי ההרצאה?"));
	assert_true(words_match("הרצאה", "אגיע בהרצאה"));
	assert_true(words_match("הרצאה", "ושבהרצאה"));		  /* three prefixes */
	assert_true(words_match("הַרְצָאָה", "לַהַרְצָאָה"));		  /* with points */
	assert_true(words_match("לא אוכל", "אני לא אוכל להגיע")); /* as before */
	assert_true(words_match("אגיע", "ואגיע"));
	assert_false(words_match("הרצאה", "וכשההרצאה מתחילה")); /* four prefixes */
	assert_false(words_match("הרצאה", "ההרצאות"));		/* a plural is another word */
	assert_false(words_match("הרצאה", "ההרצאהה"));
	/* a stem keeps three letters: "לכן" (therefore) is not "כן" (yes), "מלא"
	 * (full) not "לא" (no); so "ולא אגיע" is not "לא אגיע" either */
	assert_false(words_match("כן", "לכן אגיע"));
	assert_false(words_match("לא", "הכוס מלא"));
	assert_false(words_match("לא אגיע", "ולא אגיע"));
	assert_false(words_match("לא אוכל", "לא ואוכל")); /* only a phrase's first word */
	assert_false(words_match("lecture", "thelecture"));
	assert_false(journey_words_match(NULL, 0, NULL));
}

static void test_build_message(void **state)
{
	(void)state;
	json_t *j = base();
	struct journey_def *d = NULL;
	assert_int_equal(journey_def_parse(j, &d, NULL), 0);
	json_decref(j);
	json_t *c = ctx();
	json_t *req = NULL;
	char err[200];
	assert_int_equal(journey_build_message(d, &d->steps[0], 0, "en", c, "972521234567", &req,
					       err, sizeof err),
			 0);
	assert_string_equal(json_string_value(json_path(req, "interactive.body.text")),
			    "Hello Noa");
	json_t *btns = json_path(req, "interactive.action.buttons");
	assert_int_equal(json_array_size(btns), 2);
	assert_string_equal(json_string_value(json_path(json_array_get(btns, 1), "reply.id")),
			    "no");
	json_decref(req);
	/* a language the journey lacks falls back to its default (he) */
	assert_string_equal(journey_def_lang(d, "ru"), "he");
	assert_string_equal(journey_def_lang(d, "en_US"), "en");
	assert_int_equal(journey_build_message(d, &d->steps[0], 0, journey_def_lang(d, "ru"), c,
					       "972521234567", &req, err, sizeof err),
			 0);
	assert_string_equal(json_string_value(json_path(req, "interactive.body.text")), "שלום");
	struct buf t;
	buf_init(&t, 0);
	journey_message_text(req, &t);
	assert_non_null(strstr(t.data, "שלום"));
	assert_non_null(strstr(t.data, "כן"));
	assert_null(strstr(t.data, "972521234567"));
	buf_release(&t);
	json_decref(req);
	/* no template on this step */
	assert_int_equal(
	    journey_build_message(d, &d->steps[0], 1, "en", c, "1", &req, err, sizeof err),
	    CW_EINVAL);
	journey_def_free(d);
	json_decref(c);
}

static void test_build_template_and_location(void **state)
{
	(void)state;
	const char *def =
	    "{\"key\":\"tl\",\"purpose\":\"reminders\",\"steps\":["
	    "{\"id\":\"t\",\"type\":\"send\",\"template\":{\"name\":\"appt_reminder\","
	    "  "
	    "\"language\":{\"en\":\"en_US\"},\"params\":[\"{{contact.first_name}}\",\"{{event."
	    "starts_at|time}}\"],"
	    "  \"buttons\":[{\"index\":0,\"payload\":\"confirm\"}]}},"
	    "{\"id\":\"loc\",\"type\":\"send\",\"message\":{\"type\":\"location\","
	    "  \"latitude\":\"{{vars.lat}}\",\"longitude\":34.78,\"name\":\"Clinic\"}}]}";
	struct journey_def *d = NULL;
	assert_int_equal(journey_def_parse_text(def, strlen(def), &d, NULL), 0);
	json_t *c = ctx();
	json_object_set_new(json_object_get(c, "vars"), "lat", json_string("32.08"));
	json_t *req = NULL;
	char err[200];
	assert_int_equal(
	    journey_build_message(d, &d->steps[0], 1, "en", c, "1", &req, err, sizeof err), 0);
	assert_string_equal(json_string_value(json_path(req, "template.language.code")), "en_US");
	json_t *comps = json_path(req, "template.components");
	assert_int_equal(json_array_size(comps), 2);
	assert_string_equal(
	    json_string_value(json_path(json_array_get(comps, 0), "parameters.1.text")), "18:00");
	assert_string_equal(
	    json_string_value(json_path(json_array_get(comps, 1), "parameters.0.payload")),
	    "confirm");
	json_decref(req);
	assert_int_equal(
	    journey_build_message(d, &d->steps[1], 0, "en", c, "1", &req, err, sizeof err), 0);
	assert_true(json_number_value(json_path(req, "location.latitude")) > 32.0);
	json_decref(req);
	/* a variable that is not a number breaks the Cloud API's limits */
	json_object_set_new(json_object_get(c, "vars"), "lat", json_string("north"));
	assert_int_equal(
	    journey_build_message(d, &d->steps[1], 0, "en", c, "1", &req, err, sizeof err),
	    CW_EINVAL);
	assert_non_null(strstr(err, "latitude"));
	journey_def_free(d);
	json_decref(c);
}

static void test_durations(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(journey_duration("P2W", &ms), 0);
	assert_int_equal(ms, 14 * 86400000LL);
	assert_int_equal(journey_duration("-PT24H", &ms), 0);
	assert_int_equal(ms, -86400000LL);
	assert_int_equal(journey_duration("P3M", &ms), 0);
	assert_int_equal(ms, 90 * 86400000LL);
	assert_int_equal(journey_duration("3 days", &ms), CW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library_parses),
	    cmocka_unit_test(test_base_is_valid),
	    cmocka_unit_test(test_error_long_button_title),
	    cmocka_unit_test(test_error_hebrew_title_counts_letters),
	    cmocka_unit_test(test_error_missing_language),
	    cmocka_unit_test(test_error_purpose),
	    cmocka_unit_test(test_error_next_unknown),
	    cmocka_unit_test(test_error_button_not_offered),
	    cmocka_unit_test(test_error_duration),
	    cmocka_unit_test(test_error_unknown_field_and_type),
	    cmocka_unit_test(test_error_duplicate_step),
	    cmocka_unit_test(test_error_variable),
	    cmocka_unit_test(test_error_pattern_and_condition),
	    cmocka_unit_test(test_error_loop_without_wait),
	    cmocka_unit_test(test_error_branch_kind_for_step),
	    cmocka_unit_test(test_error_triggers),
	    cmocka_unit_test(test_error_json_syntax),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_conditions),
	    cmocka_unit_test(test_reply_matching),
	    cmocka_unit_test(test_words_hebrew_prefixes),
	    cmocka_unit_test(test_build_message),
	    cmocka_unit_test(test_build_template_and_location),
	    cmocka_unit_test(test_durations),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	time_thread_release();
	return rc;
}
