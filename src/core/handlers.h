/*
 * handlers.h — the order in which carewire reacts to what arrives.
 *
 * handlers_register() adds, in this order, the inbound handlers (opt-out
 * words, journeys waiting for a reply, the bot, the inbox) and the event
 * handlers (outbox reconciliation, consent from user_preferences, the
 * template registry, number quality) to the app's ingest. One place, so
 * the order is visible.
 */
#ifndef CW_HANDLERS_H
#define CW_HANDLERS_H

#include "core/app.h"

void handlers_register(struct app *app);

#endif
