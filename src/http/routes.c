/*
 * routes.c — the list of route tables (see routes.h). A new resource adds
 * its table to this list and nothing else.
 */
#include "http/routes.h"

#include <stddef.h>

#include "base/banned.h"

static const struct http_route *const tables[] = {
	webhook_routes,
	api_contacts_routes,
	api_audit_routes,
	api_fhir_routes,
	api_auth_routes,
	api_templates_routes,
	api_windows_routes,
	api_messages_routes,
	api_segments_routes,
	api_conversations_routes,
	api_journeys_routes,
	api_campaigns_routes,
	api_events_routes,
	api_amocrm_routes,
	api_analytics_routes,
	api_settings_routes,
	api_numbers_routes,
};

/* One carewire process serves one HTTP server; /metrics reads its counters. */
static struct http_server *mounted;

struct http_server *routes_server(void)
{
	return mounted;
}

void routes_mount(struct http_server *srv, struct app *app)
{
	mounted = srv;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		http_server_mount(srv, tables[i], app);
}
