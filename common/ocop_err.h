/*
 * ocop_err.h: the one list of error codes of the OCOP sync system.
 *
 * Every fallible function returns an int that is one of these codes (OCOP_OK is 0).
 * The X-macro list generates the enum, ocop_strerror() and ocop_errname(), so the
 * code and its text cannot drift apart. Public header: standard headers only.
 */
#ifndef OCOP_COMMON_OCOP_ERR_H
#define OCOP_COMMON_OCOP_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#define OCOP_ERR_MAP(X)                                                        \
	X(OK, "success")                                                       \
	X(ENOMEM, "out of memory")                                             \
	X(EINVAL, "invalid argument")                                          \
	X(EPROTO, "malformed message")                                         \
	X(EVERSION, "unsupported protocol or schema version")                  \
	X(ERANGE, "value out of range")                                        \
	X(ENOENT, "not found")                                                 \
	X(EEXIST, "already exists")                                            \
	X(EIO, "input/output error")                                           \
	X(EDB, "database error")                                               \
	X(ESTATE, "not allowed in the current state")                          \
	X(EAUTH, "no authority for this write")                                \
	X(ECLOCK, "clock too far ahead")                                       \
	X(ETOOBIG, "message or batch too large")                               \
	X(ERUBRIC, "invalid rubric")                                           \
	X(EINPUT, "invalid input data")                                        \
	X(ECORRUPT, "corrupted or tampered data")                              \
	X(ENET, "network error")                                               \
	X(ETIMEDOUT, "timed out")                                              \
	X(ECLOSED, "connection closed")                                        \
	X(ESITE, "unknown or unregistered site")                               \
	X(ESCOPE, "outside this site's scope")                                 \
	X(EBUSY, "resource busy")                                              \
	X(EINTERNAL, "internal error")                                         \
	X(EIMMUTABLE, "this value never changes once set")                     \
	X(ETYPE, "value of the wrong type or size")                            \
	X(ENOTREPLICA, "not an OCOP replica")                                  \
	X(EREFUSED, "connection refused")                                      \
	X(EHOST, "unknown host")                                               \
	X(ETLS, "TLS handshake failed")                                        \
	X(ECANCELED, "interrupted")                                            \
	X(EREVOKED, "site revoked")

#define OCOP_ERR_ENUM_(name, text) OCOP_##name,
typedef enum ocop_err { OCOP_ERR_MAP(OCOP_ERR_ENUM_) OCOP_ERR_COUNT_ } ocop_err;
#undef OCOP_ERR_ENUM_

/*
 * Return a short English description of the code. Always a static literal, also
 * for codes outside the list ("unknown error"). Cannot fail.
 */
const char *ocop_strerror(int code);

/*
 * Return the code's symbolic name without the prefix ("ENOMEM"), or "EUNKNOWN".
 * Cannot fail.
 */
const char *ocop_errname(int code);

#ifdef __cplusplus
}
#endif
#endif /* OCOP_COMMON_OCOP_ERR_H */
