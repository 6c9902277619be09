/*
 * err.c: text for the error codes of ocop_err.h, generated from the same list.
 */
#include "ocop_err.h"

#include <stddef.h>

#define ERR_TEXT_(name, text) [OCOP_##name] = text,
static const char *const err_text[] = {OCOP_ERR_MAP(ERR_TEXT_)};
#undef ERR_TEXT_

#define ERR_NAME_(name, text) [OCOP_##name] = #name,
static const char *const err_name[] = {OCOP_ERR_MAP(ERR_NAME_)};
#undef ERR_NAME_

const char *
ocop_strerror(int code)
{
	if (code < 0 || code >= (int)OCOP_ERR_COUNT_) {
		return "unknown error";
	}
	return err_text[code];
}

const char *
ocop_errname(int code)
{
	if (code < 0 || code >= (int)OCOP_ERR_COUNT_) {
		return "EUNKNOWN";
	}
	return err_name[code];
}
