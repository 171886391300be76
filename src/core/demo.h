/*
 * demo.h — the demo clinic that `carewire demo` runs: one organisation, one
 * WhatsApp number (served by the embedded simulator), patients in Hebrew,
 * Russian and English with varied consent. Seeded once; running the demo
 * again finds it.
 */
#ifndef CW_DEMO_H
#define CW_DEMO_H

#include "base/id.h"
#include "core/app.h"

#define DEMO_ORG_NAME "Demo Clinic"
#define DEMO_PHONE_NUMBER_ID "106540352242922"
#define DEMO_WABA_ID "102290129340398"
#define DEMO_DISPLAY "+972 3 555 0100"

struct demo_patient {
	const char *wa_id; /* also the E.164 number without '+' */
	const char *name;
	const char *language;
	const char *zone;
	const char *sex;
	const char *birth_date;
	const char *audience;
	const char *tags;   /* comma-separated */
	const char *fields; /* JSON object */
	const char *consents; /* "purpose=status,..." */
};

/* The seeded patients (NULL-terminated by a row with wa_id NULL). */
extern const struct demo_patient demo_patients[];

/* A message template of the demo clinic: the ones the journey library
 * (journeys/) falls back on when the 24-hour window has closed, each in
 * he, ru and en. `carewire demo` adds them to the simulator as APPROVED,
 * and carewire's registry lists them from there (template_sync()). */
struct demo_template {
	const char *name;
	const char *language;
	const char *category; /* MARKETING or UTILITY */
	const char *body;     /* with {{1}}..{{n}}: as many as the journeys send */
	const char *buttons;  /* quick-reply titles separated by '|', or NULL */
};

/* The demo's templates (NULL-terminated by a row with name NULL). */
extern const struct demo_template demo_templates[];

/* The Cloud API "components" array of t as JSON text: a BODY (with example
 * values, as Meta wants them) and its QUICK_REPLY buttons. Returns a new
 * string; caller frees with free(). */
char *demo_template_components(const struct demo_template *t);

/* Seeds the demo organisation when missing (token: the simulator's access
 * token, sealed with the app's master key). Writes the org id and the
 * number id. Returns 0 or a cw_err. */
int demo_seed(struct app *app, const char *access_token, char org_id[ID_SIZE],
	      char number_id[ID_SIZE]);

#endif
