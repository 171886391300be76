/*
 * window.h — the 24-hour customer-service window per (phone number,
 * contact): opened and reset by every inbound message (the ingest upserts
 * the windows table), closed 24 hours after the person's last message.
 * Inside it any message may go; outside it only an approved template
 * (Meta's rule; the policy engine asks window_closed).
 *
 * This module reads windows for the API (GET /api/v1/windows?contact_id=).
 */
#ifndef CW_WINDOW_H
#define CW_WINDOW_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define WINDOW_MS (24LL * 3600 * 1000)

/* The windows of contact_id in org_id as a new JSON array (caller
 * json_decref()s), one object per phone number the person wrote to:
 * {"number_id","contact_id","last_inbound_at","expires_at","open",
 * "remaining_seconds"} with times as ISO-8601 UTC and open computed at
 * now_ms. An empty array when the person never wrote. Returns 0 or a store
 * error. */
int window_list(struct store *st, const char *org_id, const char *contact_id, int64_t now_ms,
		json_t **out);

#endif
