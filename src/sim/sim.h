/*
 * sim.h — the WhatsApp Cloud API simulator (the sandbox).
 *
 * Place: src/sim, above http/ (it mounts route tables on an http_server) and
 * wa/ (it validates send requests with the same limits table the encoder
 * uses). Nothing in core/ knows it exists: to carewire it is the Cloud API at
 * another URL. `carewire sim` runs it alone (Cloud API side at "", control
 * API at "/sim"); `carewire demo` embeds it on the main server ("/graph" and
 * "/sim").
 *
 * It keeps everything in memory, bounded by the SIM_MAX_* constants: phone
 * numbers, simulated WhatsApp users with their behaviour and transcript, the
 * 24-hour window per (phone number, user), templates per WABA, fault settings
 * and counters. Status webhooks (sent → delivered → read, or failed) and
 * inbound messages are POSTed, signed with the app secret, to the webhook
 * URL by one delivery thread. docs/simulator.md describes every endpoint and
 * each choice made where Meta's behaviour had to be modelled.
 *
 *	struct sim_config cfg = {.webhook_url = "http://127.0.0.1:8080/webhooks/whatsapp",
 *				 .app_secret = "s3cret", .access_token = "tok"};
 *	struct sim *s = sim_new(&cfg);
 *	sim_mount(s, srv, "", "/sim");
 *	sim_start(s);            -- the delivery thread
 *	http_server_start(srv);
 *	...
 *	sim_stop(s);             -- wakes held requests, stops deliveries
 *	http_server_free(srv);
 *	sim_free(s);
 *
 * All functions are thread-safe.
 */
#ifndef CW_SIM_H
#define CW_SIM_H

struct http_server;
struct sim;

/* Bounds of the in-memory state. */
#define SIM_MAX_USERS	   20000
#define SIM_MAX_TRANSCRIPT 200 /* messages kept per user; the oldest go first */
#define SIM_MAX_TEMPLATES  2000
#define SIM_MAX_NUMBERS	   64  /* business phone numbers seen or configured */
#define SIM_MAX_WINDOWS	   8   /* 24-hour windows remembered per user */
#define SIM_STATS_WINDOW_S 120 /* seconds of per-second history in GET /sim/stats */

/* Defaults used when a sim_config member is 0. */
#define SIM_DEFAULT_STATUS_DELAY_MS	100
#define SIM_DEFAULT_TEMPLATE_APPROVE_MS 1000
#define SIM_DEFAULT_TIMEOUT_MS		15000
#define SIM_DEFAULT_WEBHOOK_RETRY_MS	500
#define SIM_DEFAULT_WEBHOOK_ATTEMPTS	6
#define SIM_DEFAULT_PHONE_NUMBER_ID	"106540352242922"
#define SIM_DEFAULT_WABA_ID		"102290129340398"

struct sim_config {
	/* Where webhooks go; NULL: nowhere until sim_set_webhook(). Copied. */
	const char *webhook_url;
	/* Signs webhooks (X-Hub-Signature-256); NULL or "": sent unsigned. */
	const char *app_secret;
	/* The bearer token the Cloud API side requires; NULL or "": any
	 * non-empty bearer token is accepted. */
	const char *access_token;
	/* Non-zero: a send to an unknown wa_id creates that user (who reads
	 * everything); zero: it fails with 131026 like a number without WhatsApp. */
	int auto_users;
	/* sent → delivered delay, and the default read delay (0: the default,
	 * negative: immediate). */
	int status_delay_ms;
	/* PENDING → APPROVED/REJECTED delay of a submitted template (0: default). */
	int template_approve_ms;
	/* How long a "timeout" fault holds a request (0: default). */
	int timeout_ms;
	/* First webhook retry delay, doubled per attempt up to 30 s (0: default),
	 * and attempts before a webhook is dropped (0: default). */
	int webhook_retry_ms;
	int webhook_attempts;
	/* The phone number inbound messages go to when the control API request
	 * names none and the user never heard from the business (NULL: default),
	 * its display number (NULL: derived), and the WABA used for templates
	 * added without one and for webhook entry ids (NULL: default). */
	const char *phone_number_id;
	const char *display_phone_number;
	const char *waba_id;
};

/* Returns a new simulator (caller frees with sim_free()), or NULL with a log
 * line when the configuration is unusable. cfg is copied. Calls sec_init()
 * and curl_global_init(). */
struct sim *sim_new(const struct sim_config *cfg);

/* Mounts the Cloud API side under graph_prefix ("" or "/graph") and the
 * control API under control_prefix ("/sim"). Call once, before the server
 * starts; s must outlive the server. */
void sim_mount(struct sim *s, struct http_server *srv, const char *graph_prefix,
	       const char *control_prefix);

/* Starts the webhook delivery thread. Returns 0 or CW_EIO. */
int sim_start(struct sim *s);

/* Stops the delivery thread (pending webhooks are dropped) and makes held
 * requests (timeout and latency faults) return at once. Call before freeing
 * the server so that shutdown does not wait for a held request. Idempotent. */
void sim_stop(struct sim *s);

/* Stops (see sim_stop()) and frees. Accepts NULL. */
void sim_free(struct sim *s);

/* Sets or changes the webhook URL (copied; NULL stops delivery). */
void sim_set_webhook(struct sim *s, const char *url);

/* Seeding. sim_add_user() creates or renames a user (wa_id: 5 to 20 digits)
 * who reads everything at once. Returns 0, CW_EINVAL, or CW_ETOOBIG when
 * SIM_MAX_USERS is reached. */
int sim_add_user(struct sim *s, const char *wa_id, const char *profile_name);

/* Adds a template (or replaces the one with the same waba, name and
 * language). waba NULL: the configured WABA. category: MARKETING, UTILITY or
 * AUTHENTICATION; status: APPROVED, PENDING, REJECTED, PAUSED or DISABLED;
 * components_json: the Cloud API "components" array as JSON text (NULL: no
 * components). Returns 0, CW_EINVAL or CW_ETOOBIG. */
int sim_add_template(struct sim *s, const char *waba, const char *name, const char *lang,
		     const char *category, const char *status, const char *components_json);

/* Binds a phone number id to a WABA and a display number (either may be
 * NULL: unchanged or default). Returns 0, CW_EINVAL or CW_ETOOBIG. */
int sim_add_number(struct sim *s, const char *phone_number_id, const char *waba,
		   const char *display_phone_number);

#endif
