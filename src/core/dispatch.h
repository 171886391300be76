/*
 * dispatch.h — the dispatcher: takes due outbox rows and sends them through
 * the Cloud API client, one token bucket per phone number.
 *
 * Contract (details in docs/internals/outbox.md): per-number rate (numbers.
 * rate_mps; 80/s default, up to 1,000; 20 when shared with the Business
 * app); transactional before bulk; the pair limit, 130429 slow-down, 5xx /
 * timeout back-off with jitter, 131049 not before 24 h, 131050 withdraws
 * marketing consent, 131047 falls back to the producer's template, 190 / 368
 * / 131031 pause the number; expiry; crash reconciliation through
 * biz_opaque_callback_data.
 */
#ifndef CW_DISPATCH_H
#define CW_DISPATCH_H

#include <stdint.h>

#include "base/sec.h"
#include "store/store.h"

struct dispatch;
struct wa_client_config;

/* Returns a new dispatcher (caller frees with dispatch_free()); key opens the
 * numbers' tokens. Does not start its thread. */
struct dispatch *dispatch_new(struct store *st, const uint8_t key[SEC_KEY_BYTES],
			      const struct wa_client_config *wcfg);
int dispatch_start(struct dispatch *d);
/* Tells the dispatcher new rows may be due (cheap; any thread). */
void dispatch_wake(struct dispatch *d);
/* Stops the thread (in-flight requests finish or time out) and frees. */
void dispatch_free(struct dispatch *d);

#endif
