/*
 * events.h — what other systems report: a booking system, a lab, a CRM, the
 * telephony. POST /api/v1/events and the amoCRM webhook land here; each
 * event is stored (once: an external id makes a retry harmless) and handed
 * to the journey engine, which starts the journeys it triggers and ends the
 * runs it cancels, all in one transaction.
 *
 * Place: core, between http/api_events.c, http/api_amocrm.c and
 * core/journey.h.
 *
 * An event names its contact by id, by phone (normalised with the
 * organisation's region), or carries a contact to create or update
 * ({"phone","name","language",...} as POST /api/v1/contacts takes).
 * Event types are lower case with dots: appointment.booked,
 * appointment.changed, appointment.cancelled, visit.completed,
 * result.ready, order.status_changed, crm.status_changed, missed_call,
 * registration.confirmed ...; any such name is accepted.
 */
#ifndef CW_EVENTS_H
#define CW_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "core/journey.h"

#define EVENTS_EXTERNAL_ID_MAX 200
#define EVENTS_DATA_MAX	       (64u * 1024) /* bytes of an event's data */

struct events_error {
	char field[112];
	char code[32];
	char message[256];
};

/* One event to take in. Strings and JSON borrowed. */
struct event_in {
	const char *org_id;
	const char *type;
	const char *source;	 /* "api", "amocrm", ... */
	const char *external_id; /* the sender's id of the event, or NULL */
	const char *contact_id;	 /* one of contact_id, phone, contact */
	const char *phone;
	const json_t *contact;
	const json_t *data;  /* an object, or NULL */
	int64_t occurred_at; /* UTC ms, or 0 */
	const char *actor;   /* for the audit of a contact written: "apikey:<id>" */
};

/* Stores the event and lets it trigger journeys. *out gets a new object
 * {"id","type","contact_id","duplicate","runs":[{"journey","run_id","state",
 * "reason"}]}; a repeated external id returns the first answer with
 * "duplicate": true and does nothing. Returns 0, CW_EINVAL / CW_EPHONE
 * (err names the field), CW_ENOTFOUND (no such contact) or a store error. */
int events_post(struct journey_engine *e, const struct event_in *in, json_t **out,
		struct events_error *err);

/* Parses a POST /api/v1/events body into in (strings point into body).
 * Returns 0 or CW_EINVAL with err filled. */
int events_from_json(const json_t *body, struct event_in *in, struct events_error *err);

/* ---- amoCRM ---- */

/* Creates the URL secret of an amoCRM integration for org_id (revoking an
 * earlier one). config: {"status_map":{"<status_id>":"received",...},
 * "lead_field":"amocrm_lead_id"} — which contact field holds the CRM's lead
 * id. Writes the secret (shown once; 43 characters) into secret. */
int events_amocrm_secret(struct journey_engine *e, const char *org_id, const json_t *config,
			 char secret[64]);

/* Takes amoCRM's webhook: form fields already decoded into a flat object
 * {"leads[status][0][id]":"123", ...}. Every lead status change becomes an
 * event crm.status_changed with data {lead_id, status_id, old_status_id,
 * pipeline_id, status (from status_map, else the id)} for the contact whose
 * lead_field equals the lead id. Returns 0 and {"events":[...]} in *out,
 * CW_EAUTH (unknown or revoked secret), or a store error. */
int events_amocrm(struct journey_engine *e, const char *secret, const json_t *form, json_t **out);

#endif
