/*
 * handlers.c — the order of reactions to inbound traffic (see handlers.h).
 */
#include "core/handlers.h"

#include "core/bot.h"
#include "core/ingest.h"
#include "base/banned.h"

void handlers_register(struct app *app)
{
	ingest_add_inbound(app->ingest, "bot", bot_on_inbound, app);
}
