/*
 * enrol.c: the enrolment file (see enrol.h), as JSON through jansson.
 */
#include "common/link/enrol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

static void
enrol_wipe(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		com_free(s);
	}
}

void
lnk_enrol_fini(lnk_enrolment *e)
{
	enrol_wipe(e->credential);
	enrol_wipe(e->key_pem);
	com_free(e->ca_pem);
	com_free(e->cert_pem);
	memset(e, 0, sizeof(*e));
}

int
lnk_enrol_encode(const lnk_enrolment *e, com_buf *out)
{
	json_t *j;
	char *text;
	int rv = OCOP_ENOMEM;

	if (e->site_id[0] == 0 || e->credential == NULL || e->credential[0] == 0) {
		return OCOP_EINVAL;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "format", LNK_ENROL_FORMAT, "site_id",
	    e->site_id, "role", e->role, "scope", e->scope, "name", e->name, "server_url", e->server_url,
	    "server_site_id", e->server_site, "issued", e->issued, "credential", e->credential);
	if (j == NULL) {
		return OCOP_ENOMEM;
	}
	if ((e->ca_pem != NULL && json_object_set_new(j, "ca_pem", json_string(e->ca_pem)) != 0) ||
	    (e->cert_pem != NULL && json_object_set_new(j, "cert_pem", json_string(e->cert_pem)) != 0) ||
	    (e->key_pem != NULL && json_object_set_new(j, "key_pem", json_string(e->key_pem)) != 0)) {
		json_decref(j);
		return OCOP_ENOMEM;
	}
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text != NULL) {
		rv = com_buf_puts(out, text);
		if (rv == OCOP_OK) {
			rv = com_buf_puts(out, "\n");
		}
		memset(text, 0, strlen(text));
		free(text);
	}
	return rv;
}

/* Copy a string member into a fixed field; false when it is missing, not a string or too long. */
static bool
enrol_field(json_t *j, const char *key, char *out, size_t cap, bool required)
{
	json_t *v = json_object_get(j, key);

	if (v == NULL && !required) {
		out[0] = 0;
		return true;
	}
	if (!json_is_string(v) || json_string_length(v) >= cap) {
		return false;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/* A com_malloc'd copy of a string member, NULL when absent; *bad when present but not a string. */
static char *
enrol_text(json_t *j, const char *key, bool *bad)
{
	json_t *v = json_object_get(j, key);
	char *s;

	if (v == NULL) {
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*bad = true;
		return NULL;
	}
	s = com_strdup(json_string_value(v));
	if (s == NULL) {
		*bad = true;
	}
	return s;
}

int
lnk_enrol_decode(lnk_enrolment *e, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;
	json_t *fmt;
	bool bad = false;
	int n;

	memset(e, 0, sizeof(*e));
	j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "not an enrolment file (JSON expected: %s)", j == NULL ? je.text : "not an object");
		json_decref(j);
		return OCOP_EINPUT;
	}
	fmt = json_object_get(j, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), LNK_ENROL_FORMAT) != 0) {
		snprintf(err, errlen, "not an enrolment file of format %s", LNK_ENROL_FORMAT);
		json_decref(j);
		return OCOP_EINPUT;
	}
	if (!enrol_field(j, "site_id", e->site_id, sizeof(e->site_id), true) || !com_uuid_valid(e->site_id)) {
		snprintf(err, errlen, "the enrolment has no valid site_id");
		goto fail;
	}
	if (!enrol_field(j, "role", e->role, sizeof(e->role), true) ||
	    !enrol_field(j, "scope", e->scope, sizeof(e->scope), true) ||
	    !enrol_field(j, "name", e->name, sizeof(e->name), false) ||
	    !enrol_field(j, "server_url", e->server_url, sizeof(e->server_url), true) ||
	    !enrol_field(j, "server_site_id", e->server_site, sizeof(e->server_site), false) ||
	    !enrol_field(j, "issued", e->issued, sizeof(e->issued), false)) {
		snprintf(err, errlen, "the enrolment lacks its role, scope or server_url, or one is too long");
		goto fail;
	}
	e->credential = enrol_text(j, "credential", &bad);
	e->ca_pem = enrol_text(j, "ca_pem", &bad);
	e->cert_pem = enrol_text(j, "cert_pem", &bad);
	e->key_pem = enrol_text(j, "key_pem", &bad);
	if (bad || e->credential == NULL) {
		snprintf(err, errlen, "the enrolment's credential or PEM fields are missing or empty");
		goto fail;
	}
	n = (e->ca_pem != NULL) + (e->cert_pem != NULL) + (e->key_pem != NULL);
	if (n != 0 && n != 3) {
		snprintf(err, errlen, "the enrolment must hold the CA, the certificate and the key together");
		goto fail;
	}
	json_decref(j);
	return OCOP_OK;
fail:
	json_decref(j);
	lnk_enrol_fini(e);
	return OCOP_EINPUT;
}
