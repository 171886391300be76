/*
 * bot.h — the first line of conversation: a welcome with reply buttons in the
 * contact's language, and the answers to those buttons.
 *
 * Runs as an inbound handler after opt-out words and journeys: what it does
 * not recognise it leaves for the inbox (a person). Replies are queued in
 * the same transaction as the inbound message, with the inbound wamid in the
 * idempotency key, so a retried webhook never answers twice.
 */
#ifndef CW_BOT_H
#define CW_BOT_H

#include "core/ingest.h"

/* The ingest handler; ud is unused. */
int bot_on_inbound(void *ud, struct store_tx *tx, const struct inbound *in);

/* 1 when text asks for the menu ("hi", "שלום", "Привет!", "menu"...). */
int bot_is_greeting(const char *text);

/* Button ids the welcome offers (stable: journeys and tests use them). */
#define BOT_BTN_BOOK "menu.book"
#define BOT_BTN_RESULTS "menu.results"
#define BOT_BTN_HUMAN "menu.human"

#endif
