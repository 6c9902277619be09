/*
 * upfiles.c: the candidates' evidence files, up to the national server (upfiles.h).
 */
#include "server/upfiles.h"

#include <stdio.h>
#include <string.h>

#include "common/store/fileref.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

int
srv_upfiles_step(sto_db *db, sto_blobs *b, const srv_link *link, const char *credential, int64_t deadline_ms,
    sto_xfer_stats *st, char *err, size_t errlen)
{
	sto_xfer_link xl = {link->roundtrip, link->arg};
	sto_xfer_opts o;
	sto_fileref *refs = NULL;
	char *peer = NULL;
	size_t n = 0;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	if ((rv = sto_files_of_handoffs(db, &refs, &n)) != OCOP_OK) {
		snprintf(err, errlen, "cannot list the candidates' files: %s", sto_errmsg(db));
		return rv;
	}
	sto_meta_get(db, "upstream_site", &peer);
	memset(&o, 0, sizeof(o));
	o.site = sto_site_id(db);
	o.credential = credential;
	o.peer = peer;
	o.send = true;
	o.deadline_ms = deadline_ms;
	rv = sto_xfer_run(db, b, &xl, &o, refs, n, st, err, errlen);
	com_free(peer);
	com_free(refs);
	return rv;
}
