/*
 * journey_def.h — journey definitions: the JSON a clinic writes, parsed and
 * checked into an immutable, indexed form the engine runs.
 *
 * Place: core. A definition is a JSON document (docs/journeys.md is the
 * reference; journeys/ holds the built-in library): a key, a purpose, a
 * conflict policy, triggers and a list of steps (send, wait_reply, wait,
 * branch, set_field, tag, untag, consent, set_var, webhook, handoff, start,
 * end). journey_def_parse() checks every field and collects every problem,
 * each naming the step and the field ("step \"invite\": buttons[1].title:
 * longer than 20 characters"), so `carewire journey check FILE.json` and
 * POST /api/v1/journeys answer with all of them at once.
 *
 * A parsed definition keeps the JSON it came from (texts, conditions and
 * message shapes are read from it when a step runs) and adds an index:
 * steps by position with their successors and branches resolved to step
 * indexes, word lists folded for matching, durations in milliseconds.
 * It is immutable after parsing, so one parsed version may be shared by any
 * number of threads.
 *
 * Variables ("{{contact.first_name}}", "{{event.starts_at|datetime}}") and
 * conditions ({"var":"contact.consent.results","eq":"granted"}) are
 * evaluated against one JSON object, the run's context:
 *	{"contact":{...},"event":{...},"vars":{...},"run":{...},"org":{...}}
 * journey_render() and journey_cond_eval() do that; the engine builds the
 * context.
 *
 *	struct journey_def *d;
 *	struct journey_def_errors errs;
 *	if (journey_def_parse(json, &d, &errs))
 *		for (i < errs.n) print journey_def_error_format(&errs.e[i])
 *	...
 *	journey_def_free(d);
 */
#ifndef CW_JOURNEY_DEF_H
#define CW_JOURNEY_DEF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/policy.h"

/* Limits: a bigger definition is refused with an error naming the field. */
#define JOURNEY_KEY_MAX	       64 /* bytes of the key: [a-z0-9_.-] */
#define JOURNEY_STEP_ID_MAX    64 /* bytes of a step id: [A-Za-z0-9_.-] */
#define JOURNEY_MAX_STEPS      200
#define JOURNEY_MAX_BRANCHES   16 /* per step, and "anytime" */
#define JOURNEY_MAX_TRIGGERS   16
#define JOURNEY_MAX_WORDS      64 /* words or phrases of one branch or trigger */
#define JOURNEY_MAX_LANGS      8
#define JOURNEY_DEF_MAX_BYTES  (512u * 1024)
#define JOURNEY_MAX_ERRORS     64 /* problems collected before giving up */
#define JOURNEY_COND_MAX_DEPTH 8
#define JOURNEY_RENDER_MAX     8192 /* bytes of one rendered text */

/* The end of a journey, as a step index. */
#define JOURNEY_END (-1)

enum journey_step_type {
	JS_SEND = 0,   /* send a message (text, buttons, list, location, media, template) */
	JS_WAIT_REPLY, /* wait for the person's reply, with a timeout; branches */
	JS_WAIT,       /* wait for a duration, or until a time from a date */
	JS_BRANCH,     /* choose the next step by conditions on the context */
	JS_SET_FIELD,  /* set a contact field */
	JS_TAG,	       /* add a tag to the contact */
	JS_UNTAG,      /* remove a tag */
	JS_CONSENT,    /* record a consent (purpose, status) */
	JS_SET_VAR,    /* set a run variable */
	JS_WEBHOOK,    /* call an outbound webhook (HMAC-SHA256 signed); branches */
	JS_HANDOFF,    /* hand the conversation to a human team */
	JS_START,      /* start another journey for the same contact */
	JS_END,	       /* end the run */
	JS_TYPE_COUNT_
};

enum journey_conflict {
	JC_INTERRUPT = 0, /* end the contact's current interactive run, start this one */
	JC_SKIP,	  /* do not start while another interactive run is going */
	JC_QUEUE,	  /* start when the current interactive run ends */
};

/* What a branch matches. */
enum journey_match {
	JM_BUTTON = 0, /* a reply button id, or a template quick-reply payload */
	JM_LIST,       /* a list row id */
	JM_WORDS,      /* words or phrases in the reply text (he/ru/en, folded) */
	JM_PATTERN,    /* an ICU regular expression on the reply text (case-insensitive) */
	JM_ANY,	       /* any reply */
	JM_TIMEOUT,    /* the wait's timeout passed */
	JM_IF,	       /* a condition on the context (branch steps) */
	JM_ELSE,       /* nothing else matched */
	JM_OK,	       /* webhook: a 2xx answer */
	JM_STATUS,     /* webhook: an HTTP status in [status_lo, status_hi] */
	JM_FAILED,     /* webhook: no answer (network, timeout) or any non-2xx */
};

struct journey_branch {
	enum journey_match kind;
	const char *value; /* JM_BUTTON / JM_LIST: the id; JM_PATTERN: the pattern */
	char **words;	   /* JM_WORDS: folded phrases, words joined by one space */
	int nwords;
	const json_t *cond; /* JM_IF: the condition (borrowed from the root) */
	int status_lo, status_hi;
	int next;     /* step index or JOURNEY_END */
	int negative; /* counts as a negative reply for a campaign's guard */
	char label[JOURNEY_STEP_ID_MAX + 16]; /* for analytics: "button:rsvp.yes", "timeout" */
};

struct journey_step {
	const char *id;
	enum journey_step_type type;
	const json_t *j;    /* the step object (borrowed from the root) */
	int next;	    /* the default successor, or JOURNEY_END */
	int64_t timeout_ms; /* wait_reply, webhook (0: none) */
	int64_t for_ms;	    /* wait: "for" */
	int has_until;	    /* wait: "until" */
	int if_past;	    /* wait: where to go when the time has passed (default next) */
	int purpose;	    /* send: enum policy_purpose (the journey's unless overridden) */
	int nbranches;
	struct journey_branch *branches;
};

enum journey_trigger_kind {
	JT_API = 0,	/* started through the API (always allowed; listed for clarity) */
	JT_EVENT,	/* an event posted to /api/v1/events */
	JT_KEYWORD,	/* the person wrote a keyword */
	JT_NEW_CONTACT, /* the first message of a new contact */
};

struct journey_trigger {
	enum journey_trigger_kind kind;
	const char *event; /* JT_EVENT: "appointment.booked" */
	char **words;	   /* JT_KEYWORD: folded phrases */
	int nwords;
	const json_t *cond; /* optional condition on the context (NULL: none) */
};

struct journey_def {
	json_t *root; /* the definition as given (owned) */
	const char *key;
	const char *name;
	int version; /* "version" in the document, 0 when absent (the store numbers them) */
	enum policy_purpose purpose;
	int interactive; /* holds the contact's one interactive slot per number */
	enum journey_conflict conflict;
	const char *langs[JOURNEY_MAX_LANGS];
	int nlangs;
	const char *default_lang;
	/* A context path naming what the run is about ("event.appointment_id"):
	 * a later trigger for the same journey, contact and subject restarts the
	 * run (restart), and an event in cancel_on ends it. NULL: none. */
	const char *subject;
	const json_t *cancel_on; /* array of event types, or NULL */
	int nsteps;
	struct journey_step *steps;
	int start;
	int nanytime; /* branches that apply while the run waits at any step */
	struct journey_branch *anytime;
	int ntriggers;
	struct journey_trigger *triggers;
	/* The JSON of the step graph for the dashboard: every step with its
	 * resolved edges. */
	json_t *graph;
};

struct journey_def_error {
	char step[JOURNEY_STEP_ID_MAX + 1]; /* "" for the journey itself */
	char field[128];		    /* "buttons[1].title"; "" when whole */
	char message[256];
};

struct journey_def_errors {
	int n;
	int truncated; /* more than JOURNEY_MAX_ERRORS */
	struct journey_def_error e[JOURNEY_MAX_ERRORS];
};

/* Parses and checks a definition. Takes a new reference to root (the caller
 * keeps its own). Returns 0 and a new definition in *out (caller frees with
 * journey_def_free()), or CW_EINVAL with every problem found in *errs (errs
 * may be NULL) and *out NULL. */
int journey_def_parse(json_t *root, struct journey_def **out, struct journey_def_errors *errs);

/* As journey_def_parse() from text (a file, a request body). A JSON syntax
 * error is reported as one error with field "line N, column M". */
int journey_def_parse_text(const char *text, size_t len, struct journey_def **out,
			   struct journey_def_errors *errs);

/* Frees a definition. Accepts NULL. */
void journey_def_free(struct journey_def *d);

/* Writes e as one line: `step "invite": buttons[1].title: longer than 20
 * characters`, or `purpose: ...` for the journey itself. Returns out. */
char *journey_def_error_format(const struct journey_def_error *e, char *out, size_t outsz);

/* The index of step id, or -1. */
int journey_def_step(const struct journey_def *d, const char *id);

/* Names: "send", "wait_reply"...; "interrupt", "skip", "queue". Static. */
const char *journey_step_type_name(enum journey_step_type t);
const char *journey_conflict_name(enum journey_conflict c);

/* ---- running a definition's texts and conditions ---- */

/* The language a contact gets: lang when the journey has it, else the
 * journey's default. Borrowed from d. */
const char *journey_def_lang(const struct journey_def *d, const char *lang);

/* A localised string: v is a string, or an object keyed by language. Returns
 * the text for lang, else for d's default language, else any; NULL when v is
 * neither. Borrowed from v. */
const char *journey_text(const struct journey_def *d, const json_t *v, const char *lang);

/* Renders a text with {{path}} and {{path|filter}} variables from ctx into
 * out (appended). Filters: date, time, datetime (in the contact's zone and
 * language: ctx.contact.time_zone / ctx.contact.language), upper, lower,
 * default:TEXT. A missing value renders as "" (or the default). Returns 0,
 * or CW_ETOOBIG past JOURNEY_RENDER_MAX. */
int journey_render(const char *text, const json_t *ctx, struct buf *out);

/* Looks up a dotted path ("contact.fields.radiation") in ctx. Borrowed;
 * NULL when absent. */
const json_t *journey_ctx_get(const json_t *ctx, const char *path);

/* Evaluates a condition against ctx. sensitive is the organisation's list of
 * sensitive result categories (for the "sensitive" operator). Returns 1 or
 * 0 (a malformed condition was refused by the parser). */
int journey_cond_eval(const json_t *cond, const json_t *ctx, const struct policy_org *org);

/* Reply matching. What the person sent, as the engine sees it. */
struct journey_reply {
	const char *button; /* button_reply id or template quick-reply payload */
	const char *list;   /* list_reply id */
	const char *text;   /* text body, or the tapped title */
};

/* 1 when branch b (JM_BUTTON, JM_LIST, JM_WORDS, JM_PATTERN, JM_ANY) matches
 * the reply. JM_WORDS needs folded: the reply text folded with
 * journey_fold_words() (NULL when there is no text). */
int journey_branch_matches(const struct journey_branch *b, const struct journey_reply *r,
			   const char *folded);

/* Folds text for word matching: case folded (text_casefold) and split into
 * words joined by single spaces, with a space at both ends (" i can't come ").
 * Returns a new string (free()) or NULL (no text, not UTF-8). */
char *journey_fold_words(const char *text);

/* 1 when a folded phrase (as in branch words) occurs in folded text at word
 * boundaries; its first word also with up to three Hebrew one-letter
 * prefixes attached (text_he_prefixes(): "ההרצאה" and "בהרצאה" match
 * "הרצאה"). */
int journey_words_match(char *const *words, int nwords, const char *folded);

/* Parses an ISO-8601 duration ("P3D", "-PT24H") as base/time.h does;
 * also accepts "P2W". Returns 0 or CW_EINVAL. */
int journey_duration(const char *s, int64_t *ms);

/* Builds the Cloud API request body for a send step's "message" (or
 * "template" when use_template) in lang with variables from ctx, to "to".
 * Returns 0 and a new reference in *out, or CW_EINVAL with a reason in err
 * (the rendered message broke a Cloud API limit, e.g. a too-long title). */
int journey_build_message(const struct journey_def *d, const struct journey_step *s,
			  int use_template, const char *lang, const json_t *ctx, const char *to,
			  json_t **out, char *err, size_t errsz);

/* Appends every human-visible text of a built request body (body, header,
 * footer, titles, rows, template parameters) to out, separated by newlines,
 * for the policy engine's checks. */
void journey_message_text(const json_t *payload, struct buf *out);

#endif
