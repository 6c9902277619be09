/*
 * enrol.c: registering and enrolling a site in tests (see enrol.h).
 */
#include "tests/lib/enrol.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/util/alloc.h"
#include "tests/lib/testutil.h"

int
te_site_add(const te_site *s, char id[37], char *cred, size_t credcap, char *enrol_path)
{
	char ocop[512];
	char ocopd[512];
	char data[512];
	char path[600];
	char *o = NULL;
	json_t *j;

	tu_bin(ocop, sizeof(ocop), "ocop");
	tu_bin(ocopd, sizeof(ocopd), "ocopd");
	tu_src(data, sizeof(data), "data");
	{
		/* A file name from the site's name, safe for the shell. */
		char stem[64];
		size_t i;
		snprintf(stem, sizeof(stem), "%s", s->name);
		for (i = 0; stem[i] != 0; i++) {
			unsigned char ch = (unsigned char)stem[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
				stem[i] = '_';
			}
		}
		snprintf(path, sizeof(path), "%s/%s-%s.enrol", s->dir, s->role, stem);
	}
	if (tu_run(&o, 1, "%s site add --db %s --role %s --scope %s --name '%s' --enrol-out %s %s%s %s --json", ocopd,
		s->server_db, s->role, s->scope, s->name, path, s->url ? "--server-url " : "", s->url ? s->url : "",
		s->extra ? s->extra : "") != 0) {
		fprintf(stderr, "ocopd site add: %s\n", o ? o : "");
		com_free(o);
		return -1;
	}
	j = json_loads(o, 0, NULL);
	com_free(o);
	o = NULL;
	if (j == NULL || !json_is_string(json_object_get(j, "site_id"))) {
		json_decref(j);
		return -1;
	}
	snprintf(id, 37, "%s", json_string_value(json_object_get(j, "site_id")));
	json_decref(j);
	if (cred != NULL) {
		j = json_load_file(path, 0, NULL);
		if (j == NULL) {
			return -1;
		}
		snprintf(cred, credcap, "%s", json_string_value(json_object_get(j, "credential")));
		json_decref(j);
	}
	if (enrol_path != NULL) {
		snprintf(enrol_path, 600, "%s", path);
	}
	if (s->site_db != NULL &&
	    tu_run(&o, 1, "OCOP_DB=%s OCOP_DATA_DIR=%s %s enrol --file %s", s->site_db, data, ocop, path) != 0) {
		fprintf(stderr, "ocop enrol: %s\n", o ? o : "");
		com_free(o);
		return -1;
	}
	com_free(o);
	return 0;
}
