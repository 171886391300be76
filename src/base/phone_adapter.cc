/*
 * phone_adapter.cc — the C++ side of phone.h: libphonenumber's
 * PhoneNumberUtil behind one extern "C" function (phone_adapter.h).
 *
 * PhoneNumberUtil is a process-wide singleton whose const methods are
 * thread-safe. Its logger is replaced once by a silent one, so that the
 * library never writes a number (health data) to stdout or stderr. No C++
 * exception leaves this file.
 */
#include "base/phone_adapter.h"

#include <cstring>
#include <mutex>
#include <string>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "base/banned.h"

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace
{

std::once_flag init_once;

const PhoneNumberUtil *util()
{
	std::call_once(init_once, [] {
		PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		u->SetLogger(new NullLogger()); /* the util takes ownership */
	});
	return PhoneNumberUtil::GetInstance();
}

/* Parse errors, indexed by PhoneNumberUtil::ErrorType. */
const enum phone_adapter_fail parse_fail[] = {
    /* NO_PARSING_ERROR */ PHONE_FAIL_NONE,
    /* INVALID_COUNTRY_CODE_ERROR */ PHONE_FAIL_INVALID_COUNTRY_CODE,
    /* NOT_A_NUMBER */ PHONE_FAIL_NOT_A_NUMBER,
    /* TOO_SHORT_AFTER_IDD */ PHONE_FAIL_TOO_SHORT,
    /* TOO_SHORT_NSN */ PHONE_FAIL_TOO_SHORT,
    /* TOO_LONG_NSN */ PHONE_FAIL_TOO_LONG,
};
static_assert(sizeof parse_fail / sizeof parse_fail[0] == PhoneNumberUtil::kMaxErrorType + 1,
	      "one row per libphonenumber ErrorType");

enum phone_adapter_fail possible_fail(PhoneNumberUtil::ValidationResult r)
{
	switch (r) {
	case PhoneNumberUtil::IS_POSSIBLE:
		return PHONE_FAIL_NONE;
	case PhoneNumberUtil::INVALID_COUNTRY_CODE:
		return PHONE_FAIL_INVALID_COUNTRY_CODE;
	case PhoneNumberUtil::TOO_SHORT:
	case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: /* the area code is missing */
		return PHONE_FAIL_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG:
		return PHONE_FAIL_TOO_LONG;
	case PhoneNumberUtil::INVALID_LENGTH:
		return PHONE_FAIL_INVALID_FOR_REGION;
	}
	return PHONE_FAIL_INVALID_FOR_REGION;
}

enum phone_type map_type(PhoneNumberUtil::PhoneNumberType t)
{
	switch (t) {
	case PhoneNumberUtil::FIXED_LINE:
		return PHONE_TYPE_FIXED_LINE;
	case PhoneNumberUtil::MOBILE:
		return PHONE_TYPE_MOBILE;
	case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
		return PHONE_TYPE_FIXED_LINE_OR_MOBILE;
	case PhoneNumberUtil::TOLL_FREE:
		return PHONE_TYPE_TOLL_FREE;
	case PhoneNumberUtil::PREMIUM_RATE:
		return PHONE_TYPE_PREMIUM_RATE;
	case PhoneNumberUtil::SHARED_COST:
		return PHONE_TYPE_SHARED_COST;
	case PhoneNumberUtil::VOIP:
		return PHONE_TYPE_VOIP;
	case PhoneNumberUtil::PERSONAL_NUMBER:
		return PHONE_TYPE_PERSONAL;
	case PhoneNumberUtil::PAGER:
		return PHONE_TYPE_PAGER;
	case PhoneNumberUtil::UAN:
		return PHONE_TYPE_UAN;
	case PhoneNumberUtil::VOICEMAIL:
		return PHONE_TYPE_VOICEMAIL;
	case PhoneNumberUtil::UNKNOWN:
		break;
	}
	return PHONE_TYPE_UNKNOWN;
}

enum phone_adapter_fail parse(const char *number, const char *region, struct phone_result *out)
{
	const PhoneNumberUtil *u = util();
	PhoneNumber pn;
	PhoneNumberUtil::ErrorType err = u->Parse(number, region, &pn);
	int e = static_cast<int>(err);
	if (e < 0 || e > static_cast<int>(PhoneNumberUtil::kMaxErrorType))
		return PHONE_FAIL_NOT_A_NUMBER;
	if (parse_fail[e] != PHONE_FAIL_NONE)
		return parse_fail[e];

	enum phone_adapter_fail f = possible_fail(u->IsPossibleNumberWithReason(pn));
	if (f != PHONE_FAIL_NONE)
		return f;
	if (!u->IsValidNumber(pn))
		return PHONE_FAIL_INVALID_FOR_REGION;

	std::string e164, rc;
	u->Format(pn, PhoneNumberUtil::E164, &e164);
	u->GetRegionCodeForNumber(pn, &rc);
	if (e164.size() >= sizeof out->e164 || rc.size() >= sizeof out->region)
		return PHONE_FAIL_TOO_LONG; /* cannot happen for a valid number */
	memcpy(out->e164, e164.c_str(), e164.size() + 1);
	memcpy(out->region, rc.c_str(), rc.size() + 1);
	out->type = map_type(u->GetNumberType(pn));
	return PHONE_FAIL_NONE;
}

} /* namespace */

extern "C" enum phone_adapter_fail phone_adapter_parse(const char *number, const char *region,
						       struct phone_result *out)
{
	try {
		return parse(number, region, out);
	} catch (...) {
		return PHONE_FAIL_INTERNAL;
	}
}
