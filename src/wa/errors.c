/*
 * errors.c — the Cloud API error table and the Graph error-body parser
 * (see errors.h).
 *
 * Place: src/wa. The table is the single place where a Meta error code gets
 * its meaning for carewire; the dispatcher, the simulator's fault injection
 * and the dashboard's "failures by reason" read it. Codes come from Meta's
 * error-code reference; the classes and delays are carewire's reading of
 * what each code asks the sender to do.
 */
#include "wa/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/banned.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

/* Flags, for a compact table. */
#define SLOW   .slow_number = true
#define PAUSE  .pause_number = true
#define ALERT  .alert = true
#define NOMKT  .withdraw_marketing = true
#define FALLBK .fallback_template = true

/* clang-format off */
static const struct wa_err_info table[] = {
	/* authorisation and account */
	{0, 0, WA_ERR_PAUSE_NUMBER, "Unable to authenticate the app user (token)", 0, PAUSE, ALERT},
	{3, 0, WA_ERR_PAUSE_NUMBER, "App lacks the capability or permission", 0, PAUSE, ALERT},
	{10, 0, WA_ERR_PAUSE_NUMBER, "Permission denied", 0, PAUSE, ALERT},
	{33, 0, WA_ERR_PAUSE_NUMBER, "Business phone number deleted or unknown", 0, PAUSE, ALERT},
	{190, 0, WA_ERR_PAUSE_NUMBER, "Access token expired or invalid", 0, PAUSE, ALERT},
	{368, 0, WA_ERR_PAUSE_NUMBER, "Temporarily blocked for policy violations", 0, PAUSE, ALERT},
	{131005, 0, WA_ERR_PAUSE_NUMBER, "Access denied", 0, PAUSE, ALERT},
	{131031, 0, WA_ERR_PAUSE_NUMBER, "Business account locked", 0, PAUSE, ALERT},
	{131037, 0, WA_ERR_PAUSE_NUMBER, "Display name not approved", 0, PAUSE, ALERT},
	{131042, 0, WA_ERR_PAUSE_NUMBER, "Business payment or eligibility problem", 0, PAUSE, ALERT},
	{131045, 0, WA_ERR_PAUSE_NUMBER, "Phone number registration certificate wrong", 0, PAUSE,
	 ALERT},
	{133000, 0, WA_ERR_PAUSE_NUMBER, "Phone number deregistration incomplete", 0, PAUSE, ALERT},
	{133005, 0, WA_ERR_PAUSE_NUMBER, "Two-step verification PIN mismatch", 0, PAUSE, ALERT},
	{133010, 0, WA_ERR_PAUSE_NUMBER, "Phone number not registered", 0, PAUSE, ALERT},
	/* transient: retry after back-off */
	{1, 0, WA_ERR_RETRY, "Unknown API error", 30 * SEC},
	{2, 0, WA_ERR_RETRY, "API service temporarily unavailable", 30 * SEC},
	{131000, 0, WA_ERR_RETRY, "Something went wrong at Meta", 30 * SEC},
	{131016, 0, WA_ERR_RETRY, "Service overloaded", 30 * SEC},
	{133004, 0, WA_ERR_RETRY, "Server temporarily unavailable", 30 * SEC},
	/* throughput: retry and slow the number down */
	{4, 0, WA_ERR_RETRY, "Too many API calls (app rate limit)", MIN, SLOW},
	{80007, 0, WA_ERR_RETRY, "Business account rate limit reached", MIN, SLOW},
	{130429, 0, WA_ERR_RETRY, "Message throughput limit reached", 2 * SEC, SLOW},
	{131048, 0, WA_ERR_RETRY, "Spam rate limit: too many messages blocked or reported", HOUR,
	 SLOW, ALERT},
	{131057, 0, WA_ERR_RETRY, "Business account in maintenance mode", MIN, SLOW},
	/* this recipient, later */
	{131049, 0, WA_ERR_RETRY_RECIPIENT, "Held back to keep marketing engagement healthy",
	 24 * HOUR},
	{131056, 0, WA_ERR_RETRY_RECIPIENT, "Too many messages to this person (pair rate limit)",
	 6 * SEC},
	/* the person opted out of marketing */
	{131050, 0, WA_ERR_WITHDRAW_MARKETING, "The person stopped marketing messages", 0, NOMKT},
	/* permanent for this message */
	{130472, 0, WA_ERR_NEVER, "The person's number is part of a Meta experiment"},
	{130497, 0, WA_ERR_NEVER, "Messaging users in this country is restricted"},
	{131021, 0, WA_ERR_NEVER, "Recipient is the sender"},
	{131026, 0, WA_ERR_NEVER, "Message undeliverable (not on WhatsApp, or an old app)"},
	{131047, 0, WA_ERR_NEVER, "24-hour window closed: only a template can re-engage", 0,
	 FALLBK},
	{132015, 0, WA_ERR_NEVER, "Template paused for low quality", 0, ALERT},
	{132016, 0, WA_ERR_NEVER, "Template disabled for low quality", 0, ALERT},
	/* the request is wrong */
	{100, 0, WA_ERR_FIX_REQUEST, "Invalid parameter"},
	{131008, 0, WA_ERR_FIX_REQUEST, "Required parameter missing"},
	{131009, 0, WA_ERR_FIX_REQUEST, "Parameter value not valid"},
	{131051, 0, WA_ERR_FIX_REQUEST, "Unsupported message type"},
	{131053, 0, WA_ERR_FIX_REQUEST, "Media could not be fetched or is of a wrong type"},
	{131055, 0, WA_ERR_FIX_REQUEST, "Method not allowed"},
	{132000, 0, WA_ERR_FIX_REQUEST, "Template parameter count mismatch"},
	{132001, 0, WA_ERR_FIX_REQUEST, "Template does not exist in this language"},
	{132005, 0, WA_ERR_FIX_REQUEST, "Template text too long after parameters"},
	{132007, 0, WA_ERR_FIX_REQUEST, "Template content violates a format policy"},
	{132012, 0, WA_ERR_FIX_REQUEST, "Template parameter format mismatch"},
	{135000, 0, WA_ERR_FIX_REQUEST, "Generic user error"},
	/* ranges, after every exact row */
	{200, 299, WA_ERR_PAUSE_NUMBER, "API permission missing", 0, PAUSE, ALERT},
	{132000, 132999, WA_ERR_FIX_REQUEST, "Template error"},
	/* pseudo codes */
	{WA_ERR_CODE_TRANSPORT, 0, WA_ERR_RETRY, "No answer from the API (network or timeout)",
	 5 * SEC},
	{WA_ERR_CODE_BAD_RESPONSE, 0, WA_ERR_NEVER, "The API accepted but returned no message id",
	 0, ALERT},
	{WA_ERR_CODE_UNKNOWN, 0, WA_ERR_RETRY, "Unknown error code", MIN},
};

/* clang-format on */

#define NTABLE (sizeof table / sizeof table[0])

const struct wa_err_info *wa_err_lookup(int code)
{
	const struct wa_err_info *range = NULL, *unknown = NULL;
	for (size_t i = 0; i < NTABLE; i++) {
		const struct wa_err_info *r = &table[i];
		if (r->code == WA_ERR_CODE_UNKNOWN)
			unknown = r;
		if (r->code_max == 0 && r->code == code && code != WA_ERR_CODE_UNKNOWN)
			return r;
		if (r->code_max && !range && code >= r->code && code <= r->code_max)
			range = r;
	}
	return range ? range : unknown;
}

const struct wa_err_info *wa_err_classify(int http_status, int transport_failed,
					  const struct wa_api_error *e)
{
	if (transport_failed || http_status <= 0)
		return wa_err_lookup(WA_ERR_CODE_TRANSPORT);
	if (e)
		return wa_err_lookup(e->code);
	if (http_status == 429)
		return wa_err_lookup(130429);
	if (http_status == 401 || http_status == 403)
		return wa_err_lookup(190);
	if (http_status >= 500)
		return wa_err_lookup(2);
	if (http_status >= 400)
		return wa_err_lookup(100);
	return wa_err_lookup(WA_ERR_CODE_BAD_RESPONSE);
}

const char *wa_err_class_name(enum wa_err_class cls)
{
	static const char *const names[] = {
	    [WA_ERR_RETRY] = "retry",
	    [WA_ERR_RETRY_RECIPIENT] = "retry_recipient",
	    [WA_ERR_FIX_REQUEST] = "fix_request",
	    [WA_ERR_NEVER] = "never",
	    [WA_ERR_WITHDRAW_MARKETING] = "withdraw_marketing",
	    [WA_ERR_PAUSE_NUMBER] = "pause_number",
	};
	if ((unsigned)cls >= sizeof names / sizeof names[0])
		return "unknown";
	return names[cls];
}

static void copy_str(char *dst, size_t n, const json_t *obj, const char *key)
{
	const char *s = json_str(obj, key);
	snprintf(dst, n, "%s", s ? s : "");
}

/* Graph sends integers; accept a decimal string too. */
static int int_member(const json_t *obj, const char *key, int *out)
{
	long long v;
	if (!json_object_get(obj, key) || json_int(obj, key, &v) || v < -2147483647LL ||
	    v > 2147483647LL)
		return CW_EPARSE;
	*out = (int)v;
	return 0;
}

int wa_api_error_parse(const char *body, size_t len, struct wa_api_error *out)
{
	struct json_error je;
	int rc = CW_EPARSE;
	json_t *root = NULL;

	memset(out, 0, sizeof *out);
	root = json_parse_body(body, len, &je);
	if (!root)
		goto fail;
	const json_t *err = json_object_get(root, "error");
	if (!json_is_object(err))
		goto fail;
	copy_str(out->type, sizeof out->type, err, "type");
	copy_str(out->message, sizeof out->message, err, "message");
	copy_str(out->user_title, sizeof out->user_title, err, "error_user_title");
	copy_str(out->fbtrace_id, sizeof out->fbtrace_id, err, "fbtrace_id");
	int_member(err, "error_subcode", &out->subcode);
	const json_t *data = json_object_get(err, "error_data");
	if (json_is_object(data)) {
		copy_str(out->details, sizeof out->details, data, "details");
		copy_str(out->messaging_product, sizeof out->messaging_product, data,
			 "messaging_product");
	} else if (json_is_string(data)) {
		snprintf(out->details, sizeof out->details, "%s", json_string_value(data));
	}
	if (int_member(err, "code", &out->code))
		goto fail;
	rc = 0;
fail:
	json_decref(root);
	return rc;
}
