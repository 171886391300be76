/*
 * routes.h — every route table of carewire's server, and the one function
 * that mounts them all. Each resource file (http/api_<resource>.c,
 * http/webhook.c, ...) exports its table here; routes.c lists them.
 */
#ifndef CW_HTTP_ROUTES_H
#define CW_HTTP_ROUTES_H

#include "core/app.h"
#include "http/server.h"

extern const struct http_route webhook_routes[];
extern const struct http_route api_contacts_routes[];
extern const struct http_route api_audit_routes[];
extern const struct http_route api_fhir_routes[];
extern const struct http_route api_auth_routes[];
extern const struct http_route api_templates_routes[];
extern const struct http_route api_windows_routes[];
extern const struct http_route api_messages_routes[];
extern const struct http_route api_segments_routes[];
extern const struct http_route api_conversations_routes[];
extern const struct http_route api_journeys_routes[];
extern const struct http_route api_campaigns_routes[];
extern const struct http_route api_events_routes[];
extern const struct http_route api_amocrm_routes[];
extern const struct http_route api_analytics_routes[];
extern const struct http_route api_settings_routes[];
extern const struct http_route api_numbers_routes[];

/* Mounts the webhook receiver, /healthz, /metrics and the /api/v1 tables on
 * srv with app as user data. */
void routes_mount(struct http_server *srv, struct app *app);
/* The server routes_mount() last mounted on (for /metrics), or NULL. */
struct http_server *routes_server(void);

#endif
