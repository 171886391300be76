/*
 * phone_adapter.h — the one seam between phone.c (C) and libphonenumber
 * (C++). Private to phone.c and phone_adapter.cc; everyone else uses
 * phone.h.
 */
#ifndef CW_PHONE_ADAPTER_H
#define CW_PHONE_ADAPTER_H

#include "base/phone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why libphonenumber turned a number down. Indexes phone.c's reason table. */
enum phone_adapter_fail {
	PHONE_FAIL_NONE = 0,
	PHONE_FAIL_NOT_A_NUMBER,
	PHONE_FAIL_INVALID_COUNTRY_CODE,
	PHONE_FAIL_TOO_SHORT,
	PHONE_FAIL_TOO_LONG,
	PHONE_FAIL_INVALID_FOR_REGION,
	PHONE_FAIL_INTERNAL, /* allocation failure or exception inside the library */
	PHONE_FAIL_COUNT_
};

/* Parses number (already screened by phone.c: an optional leading '+' and
 * ASCII digits only) with region as the default region ("IL"; "ZZ" for
 * none). On PHONE_FAIL_NONE fills out->e164, out->region and out->type;
 * otherwise leaves out untouched. Thread-safe. */
enum phone_adapter_fail phone_adapter_parse(const char *number, const char *region,
					    struct phone_result *out);

#ifdef __cplusplus
}
#endif

#endif
