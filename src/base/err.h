/*
 * err.h — carewire's one error vocabulary.
 *
 * Every function that can fail returns 0 or a negative enum cw_err. The table
 * in err.c names each code, maps it to an HTTP status and to the stable JSON
 * error code used in API bodies ({"error":{"code","message","field"}}).
 * Lowest layer: includes nothing of carewire.
 */
#ifndef CW_ERR_H
#define CW_ERR_H

enum cw_err {
	CW_OK = 0,
	CW_ENOMEM = -1,     /* out of memory */
	CW_EINVAL = -2,     /* invalid argument or field */
	CW_ENOTFOUND = -3,  /* no such object */
	CW_ECONFLICT = -4,  /* already exists / state conflict */
	CW_EIO = -5,        /* storage or system I/O error */
	CW_EAUTH = -6,      /* missing or bad credentials / signature */
	CW_EFORBIDDEN = -7, /* authenticated but not allowed */
	CW_ETOOBIG = -8,    /* body, list or value over its limit */
	CW_EPARSE = -9,     /* malformed input (JSON, INI, CSV, query) */
	CW_EPOLICY = -10,   /* refused by the policy engine */
	CW_ETIMEOUT = -11,  /* timed out */
	CW_EUNAVAIL = -12,  /* dependency unavailable (retry later) */
	CW_EINTERNAL = -13, /* bug or unexpected state */
	CW_EUNSUPPORTED = -14, /* feature or media type not supported */
	CW_EPHONE = -15,    /* invalid phone number */
	CW_ERATE = -16,     /* rate limited */
	CW_ERR_MIN_ = -17
};

/* Returns a static, human-readable name for err ("invalid argument"). */
const char *cw_strerror(int err);

/* Returns the stable snake_case API code for err ("invalid_field"). */
const char *cw_err_code(int err);

/* Returns the HTTP status an API answers err with (422, 404, ...). */
int cw_err_http_status(int err);

#endif
