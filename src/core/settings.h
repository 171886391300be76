/*
 * settings.h — what an organisation's admin edits about sending: quiet
 * hours, frequency caps, the messaging tier, the result categories never
 * sent over WhatsApp, its own opt-out words and the inbox's first-response
 * target; and its WhatsApp phone numbers (rate, pause and resume).
 *
 * Place: core, over the stores the send path already reads. The settings
 * are not a second copy: quiet hours, caps, tier and categories are written
 * to orgs.settings "policy", the opt-out words to "optout.words", exactly
 * where core/orgconf.c reads them for the send path, and the first-response
 * target to the business hours (core/hours.h, kv "inbox.hours"). A read
 * parses orgs.settings with orgconf_parse() itself, so what it shows is what
 * policy applies, defaults included. Members of orgs.settings this API does
 * not carry (sending_hours, formulary, opt-out confirmations, the campaign
 * price table ...) are kept as they are.
 *
 * The settings as the API carries them (GET answers all of them; PUT takes
 * any of them and changes only those):
 *
 *	{"quiet_hours": {"start": "21:00", "end": "08:00"},     (or false: none)
 *	 "caps": {"marketing_per_week": 2, "surveys_per_month": 1},
 *	 "tier": 1000,                                           (or "unlimited")
 *	 "sensitive_categories": ["oncology", "hiv", "genetics", "psychiatry"],
 *	 "optout_words": ["בטל הכל"],
 *	 "first_response_target_minutes": 6}
 *
 * A cap is 1..1000 messages, or null for no cap; a cap stored with another
 * period than 7 (marketing) or 30 (surveys) days reads, and may be written,
 * as {"max": N, "days": D}. docs/api.md has the rules of each member.
 *
 * Phone numbers as the API carries them (never the token):
 *
 *	{"id","display","phone_number_id","waba_id","rate_mps","status","shared_with_app",
 *	 "created_at"}
 */
#ifndef CW_SETTINGS_H
#define CW_SETTINGS_H

#include <jansson.h>

#include "base/json.h"
#include "store/store.h"

#define SETTINGS_CAP_MAX      1000 /* messages per period */
#define SETTINGS_CAP_DAYS_MAX 366
#define SETTINGS_TIER_MAX     100000000 /* recipients per 24 h */
#define SETTINGS_CATEGORY_MAX 64	/* bytes of a result category */
#define SETTINGS_OPTOUT_WORDS 64	/* configured opt-out words */
#define SETTINGS_RATE_MAX     1000	/* messages per second (Meta's highest) */

/* The settings of org_id as above, with every default applied. Returns 0
 * and a new object in *out, CW_ENOTFOUND or a store error. */
int settings_get(struct store *st, const char *org_id, json_t **out);

/* Changes the members of body (an object shaped as above) and nothing
 * else, in one transaction with the audit entry "settings.update" by actor
 * (its detail names the members changed). A member that is unknown or
 * unacceptable refuses the whole change: CW_EINVAL with e naming it
 * ("quiet_hours.end", "caps.marketing_per_week", "optout_words[2]"). On
 * success returns 0 and the settings after the change in *out (a new
 * object). CW_ENOTFOUND or a store error otherwise. */
int settings_update(struct store *st, const char *org_id, const json_t *body, const char *actor,
		    json_t **out, struct json_error *e);

/* {"items":[number...]} of org_id, oldest first. Returns 0 and a new object
 * in *out, or a store error. */
int settings_numbers(struct store *st, const char *org_id, json_t **out);

/* Changes one number of org_id from body {"rate_mps": 1..1000, "status":
 * "active"|"paused"} (either or both), with the audit entry "number.update"
 * by actor. "active" on a paused number resumes it: that is how a person
 * resumes sending after the dispatcher paused it (190, 368, 131031); the
 * dispatcher reads numbers again within seconds (core/dispatch.h). Returns
 * 0 and the number after the change in *out, CW_EINVAL with e, CW_ENOTFOUND
 * (no such number in org_id) or a store error. */
int settings_number_update(struct store *st, const char *org_id, const char *id, const json_t *body,
			   const char *actor, json_t **out, struct json_error *e);

#endif
