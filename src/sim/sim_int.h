/*
 * sim_int.h — the simulator's private state, shared by sim.c (state and
 * status jobs), sim_graph.c (the Cloud API side) and sim_ctl.c (the control
 * API). Nothing outside src/sim includes it.
 *
 * Locking: one mutex (struct sim.mu) guards everything below except the
 * configuration, which is fixed after sim_new(). Functions documented
 * "locked" expect the caller to hold it. The webhook queue has its own lock
 * and may be called with sim.mu held, never the other way round.
 */
#ifndef CW_SIM_INT_H
#define CW_SIM_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "http/server.h"
#include "sim/sim.h"
#include "sim/sim_hook.h"

#define SIM_WA_ID_SIZE	 24 /* 5..20 digits + NUL */
#define SIM_PNID_SIZE	 32 /* phone number ids: digits */
#define SIM_WABA_SIZE	 32
#define SIM_DISPLAY_SIZE 24
#define SIM_WAMID_SIZE	 96
#define SIM_USER_BUCKETS 16384
#define SIM_WINDOW_MS	 (24LL * 3600 * 1000)
#define SIM_TYPING_MS	 25000 /* a typing indicator shows this long, as WhatsApp's */

enum sim_status { SIM_ST_ACCEPTED = 0, SIM_ST_SENT, SIM_ST_DELIVERED, SIM_ST_READ, SIM_ST_FAILED };

struct sim_window {
	char pnid[SIM_PNID_SIZE];
	int64_t last_in_ms; /* the user's last message to that number */
};

struct sim_user {
	char wa_id[SIM_WA_ID_SIZE];
	char *profile_name;
	double read;	    /* probability of reading a delivered message */
	int reply_delay_ms; /* delivered → read delay (0: the status delay) */
	int blocked;	    /* blocked the business: sent, never delivered */
	int marketing_stopped;
	int on_whatsapp; /* 0: every send fails with 131026 */
	int64_t created_ms;
	char last_pnid[SIM_PNID_SIZE]; /* the business number last in touch */
	struct sim_window win[SIM_MAX_WINDOWS];
	int nwin;
	json_t *transcript;    /* array of message objects, oldest first */
	struct sim_user *next; /* hash chain */
};

struct sim_number {
	char pnid[SIM_PNID_SIZE];
	char waba[SIM_WABA_SIZE]; /* "" until bound: templates of any WABA match */
	char display[SIM_DISPLAY_SIZE];
	uint64_t accepted;
	uint32_t max_per_second;
	struct {
		int64_t sec;
		uint32_t count;
	} per_sec[SIM_STATS_WINDOW_S];
};

struct sim_template {
	uint64_t id;
	char waba[SIM_WABA_SIZE];
	char *name;
	char lang[16];
	char category[16];
	char status[16];
	json_t *components; /* array */
};

struct sim_faults {
	double http_429, http_5xx, timeout, webhook_duplicates;
	int latency_ms, timeout_ms, webhook_reorder;
};

struct sim {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* signalled by sim_stop(): held requests return */
	int stopping;

	/* configuration, fixed after sim_new() */
	char *access_token;
	char *pnid;
	char *display;
	char *waba;
	int auto_users;
	int status_delay_ms;
	int template_approve_ms;
	int timeout_ms;
	char *graph_prefix; /* set by sim_mount() */

	struct sim_hook *hook;

	struct sim_user **buckets;
	struct sim_user **users; /* in creation order */
	size_t nusers;

	struct sim_number numbers[SIM_MAX_NUMBERS];
	int nnumbers;

	struct sim_template *templates[SIM_MAX_TEMPLATES];
	int ntemplates;
	uint64_t next_template_id;

	struct sim_faults faults;

	uint64_t accepted_total;
	uint64_t rejected_429, rejected_5xx, rejected_timeout, rejected_auth, rejected_invalid;
};

/* A status job, one malloc'd block (see sim_hook_job()). */
enum sim_job_kind { SIM_JOB_STATUS, SIM_JOB_TEMPLATE };
struct sim_job {
	enum sim_job_kind kind;
	enum sim_status status;
	int error_code;	      /* SIM_ST_FAILED */
	uint64_t template_id; /* SIM_JOB_TEMPLATE */
	char wamid[SIM_WAMID_SIZE];
	char wa_id[SIM_WA_ID_SIZE];
	char pnid[SIM_PNID_SIZE];
	char category[16]; /* pricing: marketing, utility, authentication, service */
	int free_entry;	   /* inside the service window: not billed */
	char biz_opaque[]; /* "" when none */
};

/* ---- sim.c ---- */
const char *sim_status_name(enum sim_status st);
/* Sleeps up to ms, returning early (non-zero) when the simulator stops. */
int sim_sleep(struct sim *s, int ms);
/* 1 with probability p. */
int sim_roll(double p);
/* True when s is min..max ASCII digits. */
int sim_is_digits(const char *s, size_t min, size_t max);
/* Writes a new wamid that carries wa_id (as Meta's do) into out. */
void sim_wamid_new(const char *wa_id, int inbound, char out[SIM_WAMID_SIZE]);
/* Reads the wa_id out of a wamid made by sim_wamid_new(). 0 or CW_EINVAL. */
int sim_wamid_user(const char *wamid, char out[SIM_WA_ID_SIZE]);
/* An ISO-8601 UTC string for ms (new json string). */
json_t *sim_json_time(int64_t ms);

/* locked */
struct sim_user *sim_user_find(struct sim *s, const char *wa_id);
/* locked: finds or creates; NULL when wa_id is not 5..20 digits or the table is
 * full. *created tells which (may be NULL). */
struct sim_user *sim_user_get(struct sim *s, const char *wa_id, const char *name, int *created);
/* locked: the user as GET /sim/users shows it (new reference). */
json_t *sim_user_json(struct sim *s, const struct sim_user *u);
/* locked: is the 24-hour window of u with pnid open at now_ms? */
int sim_window_open(const struct sim_user *u, const char *pnid, int64_t now_ms);
/* locked: the user wrote to pnid at now_ms. */
void sim_window_touch(struct sim_user *u, const char *pnid, int64_t now_ms);
/* locked: appends msg (takes ownership) to u's transcript, dropping the oldest
 * beyond SIM_MAX_TRANSCRIPT. */
void sim_transcript_add(struct sim_user *u, json_t *msg);
/* locked: the transcript entry with id wamid (borrowed) or NULL. */
json_t *sim_transcript_find(const struct sim_user *u, const char *wamid);
/* locked: records status st at ms on a transcript entry. */
void sim_transcript_status(json_t *msg, enum sim_status st, int64_t ms);
/* locked: the number pnid, created with defaults when create is set. NULL when
 * pnid is not digits or the table is full. */
struct sim_number *sim_number_get(struct sim *s, const char *pnid, int create);
/* locked: counts one accepted message for n in the current second. */
void sim_stats_accept(struct sim *s, struct sim_number *n);
/* locked: the template (any status) by WABA ("" or NULL: any), name and
 * language, or NULL. */
struct sim_template *sim_template_find(struct sim *s, const char *waba, const char *name,
				       const char *lang);
/* locked: adds a template; takes ownership of components. Returns it or NULL
 * (table full). */
struct sim_template *sim_template_add(struct sim *s, const char *waba, const char *name,
				      const char *lang, const char *category, const char *status,
				      json_t *components);
json_t *sim_template_json(const struct sim_template *t);
void sim_template_remove(struct sim *s, int index);
/* Schedules a status job (not locked; may be called locked). */
void sim_schedule_status(struct sim *s, const char *wamid, const char *wa_id, const char *pnid,
			 enum sim_status st, int error_code, const char *category, int free_entry,
			 const char *biz_opaque, int64_t delay_ms);
/* Schedules the approval of template id after the configured delay. */
void sim_schedule_template(struct sim *s, uint64_t id);
/* locked: applies the fault settings to the webhook queue. */
void sim_faults_apply(struct sim *s);

/* ---- sim_graph.c / sim_ctl.c ---- */
extern const struct http_route sim_graph_routes[];
extern const struct http_route sim_ctl_routes[];

#endif
