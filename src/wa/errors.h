/*
 * errors.h — Cloud API error codes: what each one means for the sender.
 *
 * Place: src/wa. The dispatcher in core/ never looks at a raw code; it asks
 * this table what to do: retry the message after a back-off, retry only this
 * recipient later, give up because the request itself is wrong, give up for
 * good, withdraw the contact's marketing consent, or pause the whole phone
 * number because its token or account is in trouble. One static table in
 * errors.c carries every code with its class and hints, read by one loop.
 *
 * Graph API error bodies ({"error":{"message","type","code","error_subcode",
 * "error_data":{"messaging_product","details"},"fbtrace_id"}}) are parsed by
 * wa_api_error_parse() into a plain struct wa_api_error.
 */
#ifndef CW_WA_ERRORS_H
#define CW_WA_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

/* What the sender does about a failed message. */
enum wa_err_class {
	WA_ERR_RETRY = 0,	/* transient: retry after back-off (min_delay_ms at least) */
	WA_ERR_RETRY_RECIPIENT, /* this recipient cannot take it now: retry it later */
	WA_ERR_FIX_REQUEST,	/* the request is wrong (a bug or bad data): do not retry as is */
	WA_ERR_NEVER,		/* permanent for this message: never retry */
	WA_ERR_WITHDRAW_MARKETING, /* the person stopped marketing: withdraw consent, never retry */
	WA_ERR_PAUSE_NUMBER,	   /* token or account problem: pause the phone number */
};

/* Pseudo codes for failures that carry no Graph error code. */
#define WA_ERR_CODE_TRANSPORT	 (-1) /* connect failure, timeout, reset (no HTTP answer) */
#define WA_ERR_CODE_BAD_RESPONSE (-2) /* 2xx without a message id, or unreadable */
#define WA_ERR_CODE_UNKNOWN	 (-3) /* the default row for codes not in the table */

struct wa_err_info {
	int code;     /* the Graph code (or first of a range, or a pseudo code) */
	int code_max; /* last code of a range; 0 for a single code */
	enum wa_err_class cls;
	const char *title;	 /* short, for people ("Re-engagement window closed") */
	long long min_delay_ms;	 /* retry no sooner than this (0: the caller's back-off) */
	bool slow_number;	 /* throttle the whole phone number (throughput limits) */
	bool pause_number;	 /* stop sending from the number until a person resumes it */
	bool alert;		 /* tell the organisation's admins */
	bool withdraw_marketing; /* record a marketing-consent withdrawal for the contact */
	bool fallback_template;	 /* free-form refused outside the 24 h window: send the
				  * producer's fallback template instead, if it gave one */
};

/* A parsed Graph API error body. Strings are truncated to fit, always
 * NUL-terminated, "" when absent. */
struct wa_api_error {
	int code;	   /* 0 when absent */
	int subcode;	   /* error_subcode, 0 when absent */
	char type[64];	   /* "OAuthException" */
	char message[256]; /* "(#130429) Rate limit hit" */
	char details[512]; /* error_data.details */
	char messaging_product[16];
	char user_title[128]; /* error_user_title, when Meta gives one */
	char fbtrace_id[64];
};

/* Returns the table row for code: the exact row, else a range row (132xxx
 * template errors, 200..299 permissions), else the WA_ERR_CODE_UNKNOWN row
 * (retry after back-off). Never NULL; static. */
const struct wa_err_info *wa_err_lookup(int code);

/* Classifies a finished request that did not succeed. transport_failed: no
 * HTTP answer at all (connect error, timeout). e: the error body when
 * wa_api_error_parse() returned 0 for it, else NULL. Without a parsed code the HTTP
 * status decides: 429 as 130429, 401/403 as 190, 5xx as 2, other 4xx as 100,
 * a 2xx as WA_ERR_CODE_BAD_RESPONSE. Never NULL; static. */
const struct wa_err_info *wa_err_classify(int http_status, int transport_failed,
					  const struct wa_api_error *e);

/* Stable snake_case name of a class ("retry", "retry_recipient", "fix_request",
 * "never", "withdraw_marketing", "pause_number"). */
const char *wa_err_class_name(enum wa_err_class cls);

/* Parses a Graph error body of len bytes (need not be NUL-terminated) into
 * out (zeroed first). Returns 0 when it is an {"error":{...}} object with an
 * integer "code", CW_EPARSE otherwise (out then holds what was found). */
int wa_api_error_parse(const char *body, size_t len, struct wa_api_error *out);

#endif
