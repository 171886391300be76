/*
 * test_template.c — unit tests for core/template: reading components
 * (parameters, lengths, examples), validating a new template, promotional
 * words, category against purpose, compose-time checks, the language
 * choice, the template webhooks, and creation and synchronisation against
 * the simulator in-process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/id.h"
#include "base/sec.h"
#include "base/time.h"
#include "core/org.h"
#include "core/template.h"
#include "http/server.h"
#include "sim/sim.h"
#include "store/store.h"
#include "wa/client.h"
#include "base/banned.h"

#define TOKEN "EAAtesttoken"
#define PNID "106540352242922"
#define WABA "102290129340398"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
	assert_non_null(j);
	return j;
}

/* ---- components ---- */

static void test_shape_positional(void **state)
{
	(void)state;
	json_t *c = J("[{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"Visit {{1}}\","
		      "\"example\":{\"header_text\":[\"Monday\"]}},"
		      "{\"type\":\"BODY\",\"text\":\"Hello {{1}}, see Dr. {{2}} at {{3}}; {{1}}!\","
		      "\"example\":{\"body_text\":[[\"Noa\",\"Cohen\",\"10:00\"]]}},"
		      "{\"type\":\"FOOTER\",\"text\":\"Reply STOP to opt out\"},"
		      "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"OK\"}]}]");
	struct template_shape s;
	struct template_problem p;
	assert_int_equal(template_shape_parse(c, &s, &p), 0);
	assert_int_equal(s.body_params, 3);
	assert_int_equal(s.header_params, 1);
	assert_int_equal(s.named, 0);
	assert_null(s.param_names);
	/* "Hello , see Dr.  at ; !" */
	assert_int_equal(s.body_chars, strlen("Hello , see Dr.  at ; !"));
	assert_int_equal(s.header_chars, strlen("Visit "));
	assert_int_equal(json_array_size(json_object_get(s.examples, "body")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s.examples, "header"),
							      0)),
			    "Monday");
	template_shape_release(&s);
	json_decref(c);
}

static void test_shape_named_and_errors(void **state)
{
	(void)state;
	struct template_shape s;
	struct template_problem p;
	json_t *c = J("[{\"type\":\"BODY\",\"text\":\"Hi {{first_name}}, {{time}} ({{first_name}})\","
		      "\"example\":{\"body_text_named_params\":[{\"param_name\":\"time\","
		      "\"example\":\"9:00\"},{\"param_name\":\"first_name\",\"example\":\"Noa\"}]}}]");
	assert_int_equal(template_shape_parse(c, &s, &p), 0);
	assert_int_equal(s.body_params, 2);
	assert_int_equal(s.named, 1);
	assert_string_equal(json_string_value(json_array_get(s.param_names, 0)), "first_name");
	assert_string_equal(json_string_value(json_array_get(s.param_names, 1)), "time");
	/* examples in the order of the names */
	assert_string_equal(json_string_value(json_array_get(json_object_get(s.examples, "body"),
							      0)),
			    "Noa");
	template_shape_release(&s);
	json_decref(c);

	static const char *const bad[] = {
		/* a gap */
		"[{\"type\":\"BODY\",\"text\":\"{{1}} and {{3}}\"}]",
		/* mixed */
		"[{\"type\":\"BODY\",\"text\":\"{{1}} and {{name}}\"}]",
		/* unclosed */
		"[{\"type\":\"BODY\",\"text\":\"Hello {{1\"}]",
		/* no body */
		"[{\"type\":\"FOOTER\",\"text\":\"x\"}]",
		/* two bodies */
		"[{\"type\":\"BODY\",\"text\":\"a\"},{\"type\":\"BODY\",\"text\":\"b\"}]",
		/* two header parameters */
		"[{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"{{1}} {{2}}\"},"
		"{\"type\":\"BODY\",\"text\":\"b\"}]",
		/* a parameter in the footer */
		"[{\"type\":\"BODY\",\"text\":\"b\"},{\"type\":\"FOOTER\",\"text\":\"{{1}}\"}]",
		/* an unknown type */
		"[{\"type\":\"BODY\",\"text\":\"b\"},{\"type\":\"CAROUSEL\"}]",
		/* a button text over 25 characters */
		"[{\"type\":\"BODY\",\"text\":\"b\"},{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":"
		"\"QUICK_REPLY\",\"text\":\"abcdefghijklmnopqrstuvwxyz\"}]}]",
		/* a bad name */
		"[{\"type\":\"BODY\",\"text\":\"{{First Name}}\"}]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = J(bad[i]);
		memset(&p, 0, sizeof p);
		if (template_shape_parse(c, &s, &p) != CW_EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_string_equal(p.reason, "invalid_components");
		assert_true(p.message[0] != '\0');
		json_decref(c);
	}
	/* a body of 1,024 Hebrew letters is fine, 1,025 is not */
	char *body = malloc(1025 * 2 + 64);
	for (int n = 1024; n <= 1025; n++) {
		static const char head[] = "[{\"type\":\"BODY\",\"text\":\"";
		char *w = body;
		memcpy(w, head, sizeof head - 1);
		w += sizeof head - 1;
		for (int i = 0; i < n; i++) {
			memcpy(w, "\xd7\x90", 2); /* alef */
			w += 2;
		}
		memcpy(w, "\"}]", 4);
		c = J(body);
		int rc = template_shape_parse(c, &s, &p);
		assert_int_equal(rc, n == 1024 ? 0 : CW_EINVAL);
		if (!rc)
			template_shape_release(&s);
		json_decref(c);
	}
	free(body);
}

static void test_validate_new(void **state)
{
	(void)state;
	struct template_problem p;
	json_t *ok = J("{\"name\":\"appt_reminder\",\"language\":\"he\",\"category\":\"UTILITY\","
		       "\"components\":[{\"type\":\"BODY\",\"text\":\"Reminder: {{1}} at {{2}}\","
		       "\"example\":{\"body_text\":[[\"Dr. Cohen\",\"10:00\"]]}}]}");
	assert_int_equal(template_validate_new(ok, &p), 0);
	json_decref(ok);
	static const struct {
		const char *req;
		const char *reason;
	} bad[] = {
		{"{\"name\":\"Appt\",\"language\":\"he\",\"category\":\"UTILITY\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"x\"}]}",
		 "invalid_name"},
		{"{\"name\":\"a\",\"language\":\"hebrew\",\"category\":\"UTILITY\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"x\"}]}",
		 "invalid_language"},
		{"{\"name\":\"a\",\"language\":\"he\",\"category\":\"PROMO\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"x\"}]}",
		 "invalid_category"},
		{"{\"name\":\"a\",\"language\":\"he\",\"category\":\"UTILITY\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"Hi {{1}}\"}]}",
		 "missing_examples"},
		{"{\"name\":\"a\",\"language\":\"en_US\",\"category\":\"UTILITY\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"Your order is ready. Summer sale: 20% off!\"}]}",
		 "promotional_in_utility"},
		{"{\"name\":\"a\",\"language\":\"ru\",\"category\":\"utility\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"Ваш заказ готов. Скидка на витамины!\"}]}",
		 "promotional_in_utility"},
		{"{\"name\":\"a\",\"language\":\"he\",\"category\":\"UTILITY\",\"components\":"
		 "[{\"type\":\"BODY\",\"text\":\"ההזמנה מוכנה, ובמבצע השבוע\"}]}",
		 "promotional_in_utility"},
		{"{\"name\":\"a\",\"language\":\"he\",\"category\":\"UTILITY\"}", "invalid_field"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *r = J(bad[i].req);
		memset(&p, 0, sizeof p);
		assert_int_equal(template_validate_new(r, &p), CW_EINVAL);
		if (strcmp(p.reason, bad[i].reason) != 0)
			fail_msg("%s: reason %s, wanted %s", bad[i].req, p.reason, bad[i].reason);
		json_decref(r);
	}
	/* the same promotion is fine as MARKETING */
	json_t *m = J("{\"name\":\"summer\",\"language\":\"en_US\",\"category\":\"MARKETING\","
		      "\"components\":[{\"type\":\"BODY\",\"text\":\"Summer sale: 20% off!\"}]}");
	assert_int_equal(template_validate_new(m, &p), 0);
	json_decref(m);
}

static void test_promotional_words(void **state)
{
	(void)state;
	static const char *const promo[] = {
		"Big SALE this week",	   "Use coupon SPRING",	   "Discounts on vitamins",
		"50 % off sunscreen",	   "הנחה של 10 אחוז",	   "קופונים לחברי מועדון",
		"Скидки на витамины",	   "Промокод ВЕСНА",	   "Большая распродажа",
	};
	static const char *const plain[] = {
		"Your appointment with Dr. Cohen is on Monday at 10:00",
		"We can offer you a new time tomorrow",
		"Your results are ready; nothing to eat 3 hours before",
		"The doctor performs the test: מבצעת הבדיקה ד\"ר כהן",
		"Ваш приём завтра в 9:00",
		"Take the whole dose (a % sign without a figure)",
		"Wholesale orders are handled by phone",
		"התור שלך בקופת חולים מחר, בקופות הראשיות",
	};
	for (size_t i = 0; i < sizeof promo / sizeof promo[0]; i++)
		if (!template_promotional(promo[i]))
			fail_msg("not found promotional: %s", promo[i]);
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (template_promotional(plain[i]))
			fail_msg("found promotional: %s", plain[i]);
}

static void test_category_fits(void **state)
{
	(void)state;
	assert_true(template_category_fits("UTILITY", "reminders"));
	assert_true(template_category_fits("UTILITY", "results"));
	assert_true(template_category_fits("UTILITY", "service"));
	assert_false(template_category_fits("AUTHENTICATION", "service")); /* as policy.c */
	assert_true(template_category_fits("MARKETING", "marketing"));
	assert_true(template_category_fits("MARKETING", "surveys"));
	assert_false(template_category_fits("MARKETING", "reminders"));
	assert_false(template_category_fits("UTILITY", "marketing"));
	assert_false(template_category_fits("AUTHENTICATION", "reminders"));
	assert_false(template_category_fits("UTILITY", "gossip"));
	assert_false(template_category_fits(NULL, "service"));
}

static void fill_info(struct template_info *t, const char *status, const char *category,
		      const char *components)
{
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "appt_reminder");
	snprintf(t->language, sizeof t->language, "he");
	snprintf(t->status, sizeof t->status, "%s", status);
	snprintf(t->category, sizeof t->category, "%s", category);
	t->components = J(components);
	struct template_shape s;
	assert_int_equal(template_shape_parse(t->components, &s, NULL), 0);
	t->body_params = s.body_params;
	t->header_params = s.header_params;
	template_shape_release(&s);
}

static void test_check_compose(void **state)
{
	(void)state;
	struct template_info t;
	struct template_problem p;
	const char *comps = "[{\"type\":\"BODY\",\"text\":\"Reminder: Dr. {{1}} on {{2}}\"}]";
	json_t *good = J("{\"name\":\"appt_reminder\",\"language\":{\"code\":\"he\"},"
			 "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
			 "\"text\":\"Cohen\"},{\"type\":\"text\",\"text\":\"Monday\"}]}]}");
	fill_info(&t, "APPROVED", "UTILITY", comps);
	assert_int_equal(template_check_compose(&t, good, "reminders", &p), 0);
	/* a UTILITY template cannot carry marketing */
	assert_int_equal(template_check_compose(&t, good, "marketing", &p), CW_EPOLICY);
	assert_string_equal(p.reason, "template_category_mismatch");
	template_info_release(&t);
	/* not approved in that language: a policy reason */
	fill_info(&t, "PENDING", "UTILITY", comps);
	assert_int_equal(template_check_compose(&t, good, "reminders", &p), CW_EPOLICY);
	assert_string_equal(p.reason, "template_not_approved");
	template_info_release(&t);

	fill_info(&t, "APPROVED", "UTILITY", comps);
	json_t *one = J("{\"name\":\"appt_reminder\",\"language\":{\"code\":\"he\"},"
			"\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
			"\"text\":\"Cohen\"}]}]}");
	assert_int_equal(template_check_compose(&t, one, "reminders", &p), CW_EINVAL);
	assert_string_equal(p.reason, "param_count");
	json_t *nl = J("{\"name\":\"appt_reminder\",\"language\":{\"code\":\"he\"},"
		       "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
		       "\"text\":\"Cohen\\nline\"},{\"type\":\"text\",\"text\":\"Monday\"}]}]}");
	assert_int_equal(template_check_compose(&t, nl, "reminders", &p), CW_EINVAL);
	assert_string_equal(p.reason, "param_invalid");
	json_t *promo = J("{\"name\":\"appt_reminder\",\"language\":{\"code\":\"he\"},"
			  "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
			  "\"text\":\"Cohen\"},{\"type\":\"text\",\"text\":\"Monday, and a 30% "
			  "discount\"}]}]}");
	assert_int_equal(template_check_compose(&t, promo, "reminders", &p), CW_EPOLICY);
	assert_string_equal(p.reason, "template_category_mismatch");
	/* filled beyond 1,024 characters */
	char *big = malloc(1100);
	memset(big, 'x', 1010);
	big[1010] = '\0';
	json_t *lng = json_pack("{s:s, s:{s:s}, s:[{s:s, s:[{s:s, s:s}, {s:s, s:s}]}]}", "name",
				"appt_reminder", "language", "code", "he", "components", "type",
				"body", "parameters", "type", "text", "text", big, "type", "text",
				"text", "Monday");
	free(big);
	assert_int_equal(template_check_compose(&t, lng, "reminders", &p), CW_EINVAL);
	assert_string_equal(p.reason, "param_too_long");
	template_info_release(&t);
	json_decref(good);
	json_decref(one);
	json_decref(nl);
	json_decref(promo);
	json_decref(lng);
}

/* ---- the registry in a store ---- */

struct fx {
	char dir[256];
	struct store *st;
	uint8_t key[SEC_KEY_BYTES];
	char org[ID_SIZE];
	char num[ID_SIZE];
	struct sim *sim;
	struct http_server *srv;
	char graph[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof f->dir, "%s/cw-template-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	char url[320];
	snprintf(url, sizeof url, "sqlite:%s/cw.db", f->dir);
	assert_int_equal(store_open(url, &f->st), 0);
	assert_int_equal(store_migrate(f->st, NULL), 0);
	sec_random(f->key, sizeof f->key);
	assert_int_equal(org_create(f->st, "Clinic", "clinic", "IL", "en", "Asia/Jerusalem", f->org),
			 0);
	assert_int_equal(number_add(f->st, f->key, f->org, PNID, WABA, "+97235550100", TOKEN, 80,
				    f->num),
			 0);
	struct sim_config cfg = {.access_token = TOKEN,
				 .template_approve_ms = 50,
				 .phone_number_id = PNID,
				 .waba_id = WABA};
	f->sim = sim_new(&cfg);
	f->srv = http_server_new("127.0.0.1:0", 4);
	http_server_set_access_log(f->srv, 0);
	sim_mount(f->sim, f->srv, "/graph", "/sim");
	assert_int_equal(sim_start(f->sim), 0);
	assert_int_equal(http_server_start(f->srv), 0);
	snprintf(f->graph, sizeof f->graph, "http://127.0.0.1:%d/graph",
		 http_server_port(f->srv));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sim_stop(f->sim);
	http_server_free(f->srv);
	sim_free(f->sim);
	store_free(f->st);
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/cw.db%s", f->dir, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void insert(struct fx *f, const char *name, const char *lang, const char *category,
		   const char *status, const char *meta_id)
{
	char id[ID_SIZE];
	id_new(id);
	struct store_val a[] = {SV_TEXT(id),
				SV_TEXT(f->org),
				SV_TEXT(WABA),
				SV_TEXT(meta_id),
				SV_TEXT(name),
				SV_TEXT(lang),
				SV_TEXT(category),
				SV_TEXT(status),
				SV_TEXT("[{\"type\":\"BODY\",\"text\":\"Hi {{1}}\"}]"),
				SV_INT(1),
				SV_INT(0),
				SV_NULL,
				SV_NULL,
				SV_INT(time_now_ms())};
	assert_int_equal(store_exec(f->st, "template.insert", a, 14, NULL), 0);
}

static void expect_lookup(struct fx *f, const char *contact_lang, const char *want_lang,
			  const char *want_status)
{
	struct template_info t;
	int rc = template_lookup(f->st, f->org, NULL, "appt", contact_lang, &t);
	if (!want_lang) {
		assert_int_equal(rc, CW_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	if (strcmp(t.language, want_lang) != 0 || strcmp(t.status, want_status) != 0)
		fail_msg("contact %s: got %s %s, wanted %s %s", contact_lang ? contact_lang : "-",
			 t.language, t.status, want_lang, want_status);
	assert_int_equal(t.body_params, 1);
	assert_non_null(t.components);
	template_info_release(&t);
}

static void test_lookup_language(void **state)
{
	struct fx *f = *state;
	/* the organisation's default language is "en" */
	expect_lookup(f, "he", NULL, NULL);
	insert(f, "appt", "ru", "UTILITY", "PENDING", NULL);
	/* only a pending Russian one: returned, so policy can say not approved */
	expect_lookup(f, "ru", "ru", "PENDING");
	expect_lookup(f, "he", NULL, NULL);
	insert(f, "appt", "en_US", "UTILITY", "APPROVED", NULL);
	insert(f, "appt", "he", "UTILITY", "APPROVED", NULL);
	expect_lookup(f, "he", "he", "APPROVED");
	expect_lookup(f, "he-IL", "he", "APPROVED");
	/* Russian is not approved: the organisation's default, a regional en */
	expect_lookup(f, "ru", "en_US", "APPROVED");
	expect_lookup(f, NULL, "en_US", "APPROVED");
	expect_lookup(f, "fr", "en_US", "APPROVED");
	expect_lookup(f, "en_GB", "en_US", "APPROVED");
}

static const char *status_of(struct fx *f, const char *name, const char *lang)
{
	static char out[4][64];
	static int k;
	struct template_info t;
	char *o = out[k++ % 4];
	snprintf(o, 64, "(none)");
	if (template_lookup(f->st, f->org, WABA, name, lang, &t) == 0) {
		snprintf(o, 64, "%s/%s/%s", t.status, t.category, t.quality[0] ? t.quality : "-");
		template_info_release(&t);
	}
	return o;
}

struct ev_ctx {
	struct webhook_event ev;
};

static int ev_fn(struct store_tx *tx, void *ud)
{
	struct ev_ctx *c = ud;
	return template_on_event(NULL, tx, &c->ev, NULL);
}

static void send_event(struct fx *f, enum webhook_kind kind, const char *event,
		       const char *meta_id, const char *name, const char *lang, const char *value)
{
	struct ev_ctx c;
	memset(&c, 0, sizeof c);
	c.ev.kind = kind;
	c.ev.field = "message_template_status_update";
	c.ev.waba_id = WABA;
	c.ev.tmpl.event = event;
	c.ev.tmpl.message_template_id = meta_id;
	c.ev.tmpl.name = name;
	c.ev.tmpl.language = lang;
	if (kind == WH_TEMPLATE_CATEGORY)
		c.ev.tmpl.new_category = value;
	else if (kind == WH_TEMPLATE_QUALITY)
		c.ev.tmpl.new_quality_score = value;
	else
		c.ev.tmpl.reason = value;
	assert_int_equal(store_tx(f->st, ev_fn, &c), 0);
}

static void test_webhooks_keep_it_current(void **state)
{
	struct fx *f = *state;
	insert(f, "order_ready", "en_US", "UTILITY", "PENDING", "1689556908129832");
	insert(f, "promo", "he", "MARKETING", "APPROVED", NULL);
	/* by Meta's id */
	send_event(f, WH_TEMPLATE_STATUS, "APPROVED", "1689556908129832", "order_ready", "en-US",
		   "NONE");
	assert_string_equal(status_of(f, "order_ready", "en_US"), "APPROVED/UTILITY/-");
	/* by name and language (with Meta's "en-US" spelling) when the id is unknown */
	send_event(f, WH_TEMPLATE_CATEGORY, NULL, "999", "order_ready", "en-US", "MARKETING");
	assert_string_equal(status_of(f, "order_ready", "en_US"), "APPROVED/MARKETING/-");
	send_event(f, WH_TEMPLATE_QUALITY, NULL, NULL, "promo", "he", "YELLOW");
	assert_string_equal(status_of(f, "promo", "he"), "APPROVED/MARKETING/YELLOW");
	send_event(f, WH_TEMPLATE_STATUS, "PAUSED", NULL, "promo", "he", "LOW_QUALITY");
	assert_string_equal(status_of(f, "promo", "he"), "PAUSED/MARKETING/YELLOW");
	send_event(f, WH_TEMPLATE_STATUS, "REINSTATED", NULL, "promo", "he", NULL);
	assert_string_equal(status_of(f, "promo", "he"), "APPROVED/MARKETING/YELLOW");
	send_event(f, WH_TEMPLATE_STATUS, "FLAGGED", NULL, "promo", "he", NULL);
	assert_string_equal(status_of(f, "promo", "he"), "APPROVED/MARKETING/RED");
	/* an event nobody knows changes nothing */
	send_event(f, WH_TEMPLATE_STATUS, "IN_ORBIT", NULL, "promo", "he", NULL);
	assert_string_equal(status_of(f, "promo", "he"), "APPROVED/MARKETING/RED");
	send_event(f, WH_TEMPLATE_STATUS, "REJECTED", NULL, "nope", "he", "INVALID_FORMAT");
	assert_string_equal(status_of(f, "nope", "he"), "(none)");
}

static void test_create_and_sync(void **state)
{
	struct fx *f = *state;
	struct wa_client_config w = {.graph_url = f->graph};
	json_t *req = J("{\"name\":\"appt_reminder\",\"language\":\"he\",\"category\":\"UTILITY\","
			"\"components\":[{\"type\":\"BODY\",\"text\":\"תזכורת: {{1}} ב-{{2}}\","
			"\"example\":{\"body_text\":[[\"ד\\\"ר כהן\",\"10:00\"]]}}]}");
	struct template_info t;
	struct template_problem p = {0};
	assert_int_equal(template_create(f->st, f->key, &w, f->org, req, &t, &p), 0);
	assert_string_equal(t.status, "PENDING");
	assert_true(t.meta_id[0] != '\0');
	assert_int_equal(t.body_params, 2);
	template_info_release(&t);
	/* twice is a conflict */
	assert_int_equal(template_create(f->st, f->key, &w, f->org, req, &t, &p), CW_ECONFLICT);
	json_decref(req);
	/* refused by the Cloud API: a 4xx is an invalid request */
	json_t *bad = J("{\"name\":\"x\",\"language\":\"he\",\"category\":\"MARKETING\","
			"\"components\":[{\"type\":\"BODY\",\"text\":\"a\"}]}");
	assert_int_equal(sim_add_template(f->sim, WABA, "x", "he", "MARKETING", "APPROVED", NULL),
			 0);
	assert_int_equal(template_create(f->st, f->key, &w, f->org, bad, &t, &p), CW_EINVAL);
	assert_string_equal(p.reason, "rejected_by_meta");
	json_decref(bad);

	/* the simulator approves it; a sync brings the status and the others */
	usleep(300 * 1000);
	assert_int_equal(sim_add_template(f->sim, WABA, "promo", "ru", "MARKETING", "APPROVED",
					  "[{\"type\":\"BODY\",\"text\":\"Привет {{1}}\"}]"),
			 0);
	int n = 0;
	assert_int_equal(template_sync(f->st, f->key, &w, NULL, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(status_of(f, "appt_reminder", "he"), "APPROVED/UTILITY/-");
	assert_string_equal(status_of(f, "promo", "ru"), "APPROVED/MARKETING/-");
	json_t *list = NULL;
	assert_int_equal(template_list(f->st, f->org, "APPROVED", NULL, 100, &list), 0);
	assert_int_equal(json_array_size(list), 3);
	json_t *first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "name")), "appt_reminder");
	assert_int_equal(json_integer_value(json_object_get(first, "body_params")), 2);
	json_decref(list);
	/* a template Meta no longer lists is marked deleted */
	struct wa_client *c = wa_client_new(&w);
	int status = 0;
	assert_int_equal(wa_client_request_sync(c, "DELETE", "/" WABA "/message_templates?name=promo",
						TOKEN, NULL, &status, NULL),
			 0);
	assert_int_equal(status, 200);
	wa_client_free(c);
	usleep(5 * 1000);
	assert_int_equal(template_sync(f->st, f->key, &w, f->org, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(status_of(f, "promo", "ru"), "DELETED/MARKETING/-");
}

int main(void)
{
	sec_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_positional),
		cmocka_unit_test(test_shape_named_and_errors),
		cmocka_unit_test(test_validate_new),
		cmocka_unit_test(test_promotional_words),
		cmocka_unit_test(test_category_fits),
		cmocka_unit_test(test_check_compose),
		cmocka_unit_test_setup_teardown(test_lookup_language, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_keep_it_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_and_sync, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
