/*
 * ca.c: the CA directory of a server (see ca.h).
 */
#include "server/ca.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/link/pki.h"
#include "common/util/alloc.h"
#include "common/util/secret.h"
#include "ocop_err.h"

#define CA_MAX_PEM (256 * 1024) /* bytes of a certificate file at most */

/* dir/name into out; false when it does not fit. */
static bool
ca_path(char *out, size_t cap, const char *dir, const char *name)
{
	return snprintf(out, cap, "%s/%s", dir, name) < (int)cap;
}

/* Read a public PEM file (a certificate) into a com_malloc'd string. */
static int
ca_read_public(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;
	char *p;

	*out = NULL;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? OCOP_ENOENT : OCOP_EIO;
	}
	p = com_malloc(CA_MAX_PEM + 1);
	if (p == NULL) {
		fclose(f);
		return OCOP_ENOMEM;
	}
	n = fread(p, 1, CA_MAX_PEM + 1, f);
	fclose(f);
	if (n > CA_MAX_PEM) {
		snprintf(err, errlen, "%s: too large for a certificate", path);
		com_free(p);
		return OCOP_EINPUT;
	}
	p[n] = 0;
	*out = p;
	return OCOP_OK;
}

static int
ca_write_public(const char *path, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wx");
	int ok;

	if (f == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return OCOP_EIO;
	}
	ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		snprintf(err, errlen, "cannot write %s", path);
		remove(path);
		return OCOP_EIO;
	}
	return OCOP_OK;
}

void
srv_ca_dir(sto_db *db, const srv_config *cfg, char *out, size_t cap)
{
	char *v = NULL;

	out[0] = 0;
	if (cfg != NULL && cfg->ca_dir[0] != 0) {
		snprintf(out, cap, "%s", cfg->ca_dir);
	} else if (sto_meta_get(db, "ca_dir", &v) == OCOP_OK) {
		snprintf(out, cap, "%s", v);
		com_free(v);
	}
}

int
srv_ca_init(sto_db *db, const srv_ca_init_opts *o, char *err, size_t errlen)
{
	char path[1200];
	char abs[4096];
	char name[256];
	char *ca_crt = NULL, *ca_key = NULL, *srv_crt = NULL, *srv_key = NULL;
	lnk_pki_req r;
	struct stat sb;
	int rv;

	if (o->dir == NULL || o->dir[0] == 0 || o->hosts == NULL || o->hosts[0] == 0) {
		snprintf(err, errlen, "a CA needs its directory and the server's host names");
		return OCOP_EINVAL;
	}
	if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", o->dir, strerror(errno));
		return OCOP_EIO;
	}
	if (!ca_path(path, sizeof(path), o->dir, "ca.key")) {
		snprintf(err, errlen, "directory name too long");
		return OCOP_EINVAL;
	}
	if (stat(path, &sb) == 0) {
		snprintf(err, errlen, "%s already holds a CA (ca.key): a CA is never replaced by accident", o->dir);
		return OCOP_EEXIST;
	}
	/* Recorded absolute, so `ocopd serve` finds it from any working directory. */
	if (o->dir[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", o->dir);
	} else {
		char cwd[2048];
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, o->dir) >= (int)sizeof(abs)) {
			snprintf(err, errlen, "cannot tell where %s is", o->dir);
			return OCOP_EIO;
		}
	}
	if (o->name != NULL && o->name[0] != 0) {
		snprintf(name, sizeof(name), "%s", o->name);
	} else {
		snprintf(name, sizeof(name), "OCOP %s CA %s", sto_role(db), sto_scope(db));
	}
	if ((rv = lnk_pki_ca_create(name, o->days > 0 ? o->days : LNK_PKI_CA_DAYS, &ca_crt, &ca_key, err, errlen)) !=
	    OCOP_OK) {
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.cn = sto_site_id(db);
	r.org = name;
	r.role = sto_role(db);
	r.server = true;
	r.hosts = o->hosts;
	r.days = o->days > 0 ? o->days : LNK_PKI_CA_DAYS;
	if ((rv = lnk_pki_issue(ca_crt, ca_key, &r, &srv_crt, &srv_key, err, errlen)) != OCOP_OK) {
		goto out;
	}
	/* The keys first: a directory with a key and no certificate is easy to see as broken. */
	if ((rv = com_secret_write(path, ca_key, strlen(ca_key), err, errlen)) != OCOP_OK ||
	    !ca_path(path, sizeof(path), o->dir, "server.key") ||
	    (rv = com_secret_write(path, srv_key, strlen(srv_key), err, errlen)) != OCOP_OK ||
	    !ca_path(path, sizeof(path), o->dir, "ca.crt") ||
	    (rv = ca_write_public(path, ca_crt, err, errlen)) != OCOP_OK ||
	    !ca_path(path, sizeof(path), o->dir, "server.crt") ||
	    (rv = ca_write_public(path, srv_crt, err, errlen)) != OCOP_OK) {
		rv = rv == OCOP_OK ? OCOP_EIO : rv;
		goto out;
	}
	if ((rv = sto_meta_set(db, "ca_dir", abs)) != OCOP_OK ||
	    (o->public_url != NULL && o->public_url[0] != 0 &&
		(rv = sto_meta_set(db, "public_url", o->public_url)) != OCOP_OK)) {
		snprintf(err, errlen, "cannot record the CA in the database: %s", sto_errmsg(db));
	}
out:
	com_free(ca_crt);
	if (ca_key != NULL) {
		memset(ca_key, 0, strlen(ca_key));
	}
	com_free(ca_key);
	com_free(srv_crt);
	if (srv_key != NULL) {
		memset(srv_key, 0, strlen(srv_key));
	}
	com_free(srv_key);
	return rv;
}

/* Load the CA's certificate and key from dir. */
static int
ca_load(const char *dir, char **crt, char **key, char *err, size_t errlen)
{
	char path[1200];
	int rv = OCOP_EINPUT;

	*crt = NULL;
	*key = NULL;
	if (!ca_path(path, sizeof(path), dir, "ca.crt") || (rv = ca_read_public(path, crt, err, errlen)) != OCOP_OK) {
		return rv == OCOP_ENOENT ? rv : OCOP_EINPUT;
	}
	if (!ca_path(path, sizeof(path), dir, "ca.key") ||
	    (rv = com_secret_read(path, key, NULL, err, errlen)) != OCOP_OK) {
		com_free(*crt);
		*crt = NULL;
		return rv == OCOP_OK ? OCOP_EINPUT : rv;
	}
	return OCOP_OK;
}

int
srv_ca_issue(const char *dir, const char *site, const char *role, long days, char **cert_pem, char **key_pem,
    lnk_tls_peer *info, char *err, size_t errlen)
{
	char *crt = NULL;
	char *key = NULL;
	lnk_pki_req r;
	int rv;

	*cert_pem = NULL;
	*key_pem = NULL;
	if ((rv = ca_load(dir, &crt, &key, err, errlen)) != OCOP_OK) {
		return rv;
	}
	memset(&r, 0, sizeof(r));
	r.cn = site;
	r.role = role;
	r.days = days > 0 ? days : LNK_PKI_SITE_DAYS;
	rv = lnk_pki_issue(crt, key, &r, cert_pem, key_pem, err, errlen);
	if (rv == OCOP_OK && info != NULL) {
		lnk_pki_cert_info(*cert_pem, info);
	}
	com_free(crt);
	memset(key, 0, strlen(key));
	com_free(key);
	return rv;
}

int
srv_ca_enrol(sto_db *db, const char *dir, const char *site, const char *role, const char *scope,
    const char *name, const char *server_url, const char *credential, long days, lnk_enrolment *e,
    lnk_tls_peer *info, char *err, size_t errlen)
{
	char path[1200];
	char *url = NULL;
	time_t t = time(NULL);
	struct tm tm;
	int rv;

	memset(e, 0, sizeof(*e));
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
	}
	snprintf(e->site_id, sizeof(e->site_id), "%s", site);
	snprintf(e->role, sizeof(e->role), "%s", role);
	snprintf(e->scope, sizeof(e->scope), "%s", scope);
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	snprintf(e->server_site, sizeof(e->server_site), "%s", sto_site_id(db));
	if (server_url != NULL && server_url[0] != 0) {
		snprintf(e->server_url, sizeof(e->server_url), "%s", server_url);
	} else if (sto_meta_get(db, "public_url", &url) == OCOP_OK) {
		snprintf(e->server_url, sizeof(e->server_url), "%s", url);
		com_free(url);
	}
	gmtime_r(&t, &tm);
	strftime(e->issued, sizeof(e->issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
	e->credential = com_strdup(credential);
	if (e->credential == NULL) {
		lnk_enrol_fini(e);
		return OCOP_ENOMEM;
	}
	if (dir == NULL || dir[0] == 0) {
		return OCOP_OK; /* no CA: plain links only */
	}
	if ((rv = srv_ca_issue(dir, site, role, days, &e->cert_pem, &e->key_pem, info, err, errlen)) != OCOP_OK) {
		lnk_enrol_fini(e);
		return rv;
	}
	if (!ca_path(path, sizeof(path), dir, "ca.crt") || (rv = ca_read_public(path, &e->ca_pem, err, errlen)) != OCOP_OK) {
		lnk_enrol_fini(e);
		return rv == OCOP_OK ? OCOP_EINPUT : rv;
	}
	return OCOP_OK;
}

int
srv_ca_listener_tls(sto_db *db, const srv_config *cfg, nng_tls_config **out, char *err, size_t errlen)
{
	char dir[1024];
	char ca[1200], crt[1200], key[1200];
	char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL;
	int rv;

	*out = NULL;
	srv_ca_dir(db, cfg, dir, sizeof(dir));
	snprintf(ca, sizeof(ca), "%s", cfg->tls_ca);
	snprintf(crt, sizeof(crt), "%s", cfg->tls_cert);
	snprintf(key, sizeof(key), "%s", cfg->tls_key);
	if ((ca[0] == 0 || crt[0] == 0 || key[0] == 0) && dir[0] == 0) {
		snprintf(err, errlen, "no CA: run 'ocopd ca init', or set ca_dir or tls_ca, tls_cert and tls_key");
		return OCOP_ENOENT;
	}
	if ((ca[0] == 0 && !ca_path(ca, sizeof(ca), dir, "ca.crt")) ||
	    (crt[0] == 0 && !ca_path(crt, sizeof(crt), dir, "server.crt")) ||
	    (key[0] == 0 && !ca_path(key, sizeof(key), dir, "server.key"))) {
		snprintf(err, errlen, "CA directory name too long");
		return OCOP_EINVAL;
	}
	if ((rv = ca_read_public(ca, &ca_pem, err, errlen)) != OCOP_OK ||
	    (rv = ca_read_public(crt, &crt_pem, err, errlen)) != OCOP_OK ||
	    (rv = com_secret_read(key, &key_pem, NULL, err, errlen)) != OCOP_OK) {
		goto out;
	}
	if ((rv = lnk_tls_install(NULL)) != OCOP_OK) {
		snprintf(err, errlen, "cannot install the TLS engine");
		goto out;
	}
	rv = lnk_tls_config_open(out, true, ca_pem, crt_pem, key_pem, NULL, err, errlen);
out:
	com_free(ca_pem);
	com_free(crt_pem);
	if (key_pem != NULL) {
		memset(key_pem, 0, strlen(key_pem));
	}
	com_free(key_pem);
	return rv;
}
