/*
 * basis.c: legal basis, product set and rubric agree (basis.h). It loads the
 * rubric to know it exists and how deep it goes; it keeps nothing.
 */
#include "common/ocop/basis.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/rubric.h"
#include "ocop_err.h"

/* Is s a product-set number as the sets are named ("01".."26")? */
static bool
basis_is_set(const char *s)
{
	return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

int
ocp_basis_check(const char *data_dir, const char *basis, const char *product_set,
    const char *rubric_id, bool scoring, char *err, size_t errlen)
{
	const char *slash = strchr(rubric_id, '/');
	const char *set;
	size_t blen = strlen(basis);
	ocp_rubric *r = NULL;
	char lerr[512];
	int rv;

	if (slash == NULL || (size_t)(slash - rubric_id) != blen ||
	    strncmp(rubric_id, basis, blen) != 0) {
		snprintf(err, errlen,
		    "rubric %s belongs to legal basis %.*s, but the dossier is filed under %s; "
		    "use a rubric of %s (like %s/%s)",
		    rubric_id, slash ? (int)(slash - rubric_id) : (int)strlen(rubric_id), rubric_id, basis,
		    basis, basis, product_set && product_set[0] ? product_set : "01");
		return OCOP_EINPUT;
	}
	set = slash + 1;
	if (product_set != NULL && product_set[0] != '\0' && basis_is_set(set) &&
	    strcmp(set, product_set) != 0) {
		snprintf(err, errlen,
		    "rubric %s is the sheet of product set %s, but the product is in set %s; "
		    "use %s/%s or correct the product's set",
		    rubric_id, set, product_set, basis, product_set);
		return OCOP_EINPUT;
	}
	rv = ocp_rubric_load_id(&r, data_dir, rubric_id, lerr, sizeof(lerr));
	if (rv == OCOP_ENOENT) {
		snprintf(err, errlen,
		    "there is no rubric %s: legal basis %s ships no criteria sheet for set %s here "
		    "(QĐ 148/2023 and QĐ 1048/2019 have their part maxima only); file the dossier "
		    "under qd26-2026, or bring a round held under %s in as history (ocop history import)",
		    rubric_id, basis, set, basis);
		return OCOP_EINPUT;
	}
	if (rv != OCOP_OK) {
		snprintf(err, errlen, "rubric %s: %s", rubric_id, lerr[0] ? lerr : ocop_strerror(rv));
		return rv == OCOP_EINVAL ? OCOP_EINPUT : rv;
	}
	if (scoring && ocp_rubric_depth(r) != OCP_DEPTH_CRITERIA) {
		snprintf(err, errlen,
		    "rubric '%s' is an outline without criteria and options; it cannot be used for scoring",
		    rubric_id);
		ocp_rubric_free(r);
		return OCOP_ERUBRIC;
	}
	ocp_rubric_free(r);
	return OCOP_OK;
}
