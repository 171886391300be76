/*
 * err.c — the table behind err.h: one row per error code.
 */
#include "base/err.h"
#include "base/banned.h"

struct err_row {
	int err;
	const char *name;
	const char *code;
	int http;
};

static const struct err_row err_table[] = {
	{CW_OK, "ok", "ok", 200},
	{CW_ENOMEM, "out of memory", "internal", 500},
	{CW_EINVAL, "invalid argument", "invalid_field", 422},
	{CW_ENOTFOUND, "not found", "not_found", 404},
	{CW_ECONFLICT, "conflict", "conflict", 409},
	{CW_EIO, "input/output error", "internal", 500},
	{CW_EAUTH, "authentication failed", "unauthorized", 401},
	{CW_EFORBIDDEN, "forbidden", "forbidden", 403},
	{CW_ETOOBIG, "too big", "too_large", 413},
	{CW_EPARSE, "malformed input", "invalid_json", 400},
	{CW_EPOLICY, "refused by policy", "policy_denied", 422},
	{CW_ETIMEOUT, "timed out", "timeout", 504},
	{CW_EUNAVAIL, "temporarily unavailable", "unavailable", 503},
	{CW_EINTERNAL, "internal error", "internal", 500},
	{CW_EUNSUPPORTED, "unsupported", "unsupported", 415},
	{CW_EPHONE, "invalid phone number", "invalid_phone", 422},
	{CW_ERATE, "rate limited", "rate_limited", 429},
};

static const struct err_row *err_find(int err)
{
	for (unsigned i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return &err_table[i];
	return &err_table[13]; /* CW_EINTERNAL */
}

const char *cw_strerror(int err)
{
	return err_find(err)->name;
}

const char *cw_err_code(int err)
{
	return err_find(err)->code;
}

int cw_err_http_status(int err)
{
	return err_find(err)->http;
}
