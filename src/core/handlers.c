/*
 * handlers.c — the order of reactions to inbound traffic (see handlers.h).
 */
#include "core/handlers.h"

#include "core/bot.h"
#include "core/conversation.h"
#include "core/ingest.h"
#include "core/journey.h"
#include "core/optout.h"
#include "core/outbox.h"
#include "core/template.h"
#include "base/banned.h"

void handlers_register(struct app *app)
{
	/* Opt-out words first: "STOP" is never answered as a question. */
	ingest_add_inbound(app->ingest, "optout", optout_on_inbound, app);
	/* A run waiting for this person's reply gets it before the bot. */
	ingest_add_inbound(app->ingest, "journeys", journey_on_inbound, app->journeys);
	ingest_add_inbound(app->ingest, "bot", bot_on_inbound, app);
	/* Last: whatever no one else answered waits for a person. */
	ingest_add_inbound(app->ingest, "inbox", conversation_on_inbound, NULL);
	ingest_add_event(app->ingest, "optout", optout_on_event, app);
	ingest_add_event(app->ingest, "outbox", outbox_on_event, NULL);
	ingest_add_event(app->ingest, "templates", template_on_event, NULL);
}
