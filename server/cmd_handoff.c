/*
 * cmd_handoff.c: `ocopd handoff`: moving a 5-star candidate's hand-off package
 * by file while the link to the national server is down. `export` writes a
 * candidate's package at the province, `import` applies it at the national
 * server (and writes the national changes for the province), `apply` merges
 * that reply at the province. Formats and trust: docs/NATIONAL.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "common/ocop/council.h"
#include "common/ocop/policy.h"
#include "common/ocop/registry.h"
#include "common/ocop/rubric.h"
#include "common/link/enrol.h"
#include "common/util/buf.h"
#include "ocop_err.h"
#include "server/bundle.h"
#include "server/cmd.h"
#include "server/files.h"
#include "server/handoff.h"
#include "server/service.h"
#include "server/upstream.h"

/* The province's file store (files_dir, or beside the database), for the candidate's evidence. */
static int
handoff_files_open(sto_db *db, const srv_config *cfg, sto_blobs **out)
{
	char dir[1100];
	int rv;

	if (cfg->files_dir[0] != 0) {
		snprintf(dir, sizeof(dir), "%s", cfg->files_dir);
	} else if ((rv = sto_blobs_dir_for(db, dir, sizeof(dir))) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_blobs_open(out, dir)) != OCOP_OK) {
		fprintf(stderr, "ocopd handoff export: cannot open the evidence files in %s\n", dir);
	}
	return rv;
}

static const char handoff_usage[] =
    "usage: ocopd handoff <command> [options]\n"
    "\n"
    "Carry a 5-star candidate to the national server and its decision back by\n"
    "file when there is no link (docs/NATIONAL.md). Every file is authenticated\n"
    "with the province's key at the national server and taken once: a forged,\n"
    "altered or replayed file is refused. Run 'ocopd handoff <command> --help'.\n";

static const char export_usage[] =
    "usage: ocopd handoff export --db PATH --dossier ID --out FILE --config FILE\n"
    "\n"
    "At the province: write the hand-off package of candidate dossier ID (its\n"
    "whole evaluation record and its evidence files) to FILE for the national\n"
    "office, authenticated with the key of this province's credential at the\n"
    "national server (from the config's upstream_enrolment; no secret goes into\n"
    "the file), the evidence files included.\n";

static const char import_usage[] =
    "usage: ocopd handoff import --db PATH --in FILE [--reply FILE] [--config FILE]\n"
    "\n"
    "At the national server: apply a province's hand-off package, once.\n"
    "--reply writes the national changes for that province, which it merges\n"
    "with 'ocopd handoff apply'. A damaged, forged or replayed file is refused\n"
    "(exit 2) and changes nothing.\n";

static const char apply_usage[] =
    "usage: ocopd handoff apply --db PATH --in REPLY --config FILE\n"
    "\n"
    "At the province: merge the national server's reply file (written by\n"
    "'ocopd handoff import --reply' there), bringing the central council's\n"
    "decisions down.\n";

static int
handoff_export(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_db *db = NULL;
	ocp_council *c = NULL;
	ocp_reg *reg = NULL;
	ocp_reg_require req;
	sto_blobs *blobs = NULL;
	srv_handoff_key k;
	com_buf out;
	char sha[SRV_HANDOFF_SHA_HEX];
	char err[512];
	lnk_enrolment enrol;
	uint64_t changes = 0;
	const char *dd;
	bool found = false;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_DOSSIER | SRV_OPT_OUT | SRV_OPT_CONFIG, "handoff export", export_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (srv_cmd_config(&cfg, o.config, "handoff export") != OCOP_OK) {
		return SRV_CMD_USAGE;
	}
	if (o.db == NULL || o.dossier == NULL || o.out == NULL) {
		fprintf(stderr, "ocopd handoff export: needs --db PATH, --dossier ID and --out FILE\n");
		return 2;
	}
	if ((dd = srv_cmd_data_dir(&cfg, "handoff")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		return 1;
	}
	if (strcmp(sto_role(db), "province") != 0) {
		fprintf(stderr, "ocopd handoff export: %s is a %s database; candidates leave from a province\n", o.db,
		    sto_role(db));
		sto_close(db);
		return 2;
	}
	/* Record the candidate first (as the upstream loop would), then write its package. */
	if (ocp_council_open(&c, db, dd) != OCOP_OK || ocp_reg_open(&reg, db, dd, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd handoff export: cannot load the rules from %s\n", dd);
		ocp_council_close(c);
		sto_close(db);
		return 1;
	}
	req.fn = ocp_council_require;
	req.arg = c;
	ocp_reg_set_require(reg, &req);
	rv = srv_handoff_scan(db, c, reg, true, NULL, err, sizeof(err));
	if (rv == OCOP_OK) {
		rv = srv_handoff_latest(db, o.dossier, &k, &found);
	}
	if (!found) {
		fprintf(stderr, "ocopd handoff export: dossier %s is not a 5-star candidate (potential 5★ result,"
				" the chair's approval, status potential_5star or later)\n", o.dossier);
		ocp_reg_close(reg);
		ocp_council_close(c);
		sto_close(db);
		return 1;
	}
	if (srv_cmd_upstream_enrolment(cfg.upstream_enrolment, &enrol) != 0) {
		ocp_reg_close(reg);
		ocp_council_close(c);
		sto_close(db);
		return 2;
	}
	com_buf_init(&out);
	if ((rv = handoff_files_open(db, &cfg, &blobs)) == OCOP_OK) {
		rv = srv_handoff_export(db, &k, enrol.credential, blobs, &out, sha, &changes);
	}
	lnk_enrol_fini(&enrol);
	if (rv == OCOP_OK && srv_cmd_write_file(o.out, out.data, out.len) != 0) {
		fprintf(stderr, "ocopd handoff export: cannot write %s\n", o.out);
		rv = OCOP_EIO;
	} else if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff export: %s\n", ocop_strerror(rv));
	}
	if (rv == OCOP_OK) {
		printf("dossier %s evaluation %s v%lld: %llu changes, content sha256 %s\nwrote %s (%zu bytes)\n",
		    k.dossier_id, k.evaluation_id, (long long)k.version, (unsigned long long)changes, sha, o.out, out.len);
	}
	com_buf_fini(&out);
	sto_blobs_close(blobs);
	ocp_reg_close(reg);
	ocp_council_close(c);
	sto_close(db);
	return rv == OCOP_OK ? 0 : 1;
}

static int
handoff_import(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	srv_files *files = NULL;
	srv_handoff_import_stats st;
	com_buf reply;
	static const com_log quiet = {com_log_stderr, NULL, COM_LOG_WARN};
	char err[600];
	const char *dd;
	uint8_t *pkg;
	size_t len = 0;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_IN | SRV_OPT_REPLY | SRV_OPT_CONFIG, "handoff import", import_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (srv_cmd_config(&cfg, o.config, "handoff import") != OCOP_OK) {
		return SRV_CMD_USAGE;
	}
	if (o.db == NULL || o.in == NULL) {
		fprintf(stderr, "ocopd handoff import: needs --db PATH and --in FILE\n");
		return 2;
	}
	if ((dd = srv_cmd_data_dir(&cfg, "handoff")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if ((pkg = srv_cmd_read_file(o.in, &len)) == NULL) {
		fprintf(stderr, "ocopd handoff import: cannot read %s\n", o.in);
		return 1;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		free(pkg);
		return 1;
	}
	if (strcmp(sto_role(db), "national") != 0) {
		fprintf(stderr, "ocopd handoff import: %s is a %s database; packages go to the national server\n", o.db,
		    sto_role(db));
		free(pkg);
		sto_close(db);
		return 2;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		free(pkg);
		sto_close(db);
		return 2;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	srv_service_init(&svc, db, ocp_policy_store(pol), &quiet);
	svc.relay_policy = ocp_policy_store_relay(pol, "province");
	if (srv_files_open(&files, db, cfg.files_dir, &cfg.files, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd handoff import: evidence files: %s\n", err);
		free(pkg);
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	svc.files = files;
	com_buf_init(&reply);
	rv = srv_handoff_import(&svc, pkg, len, o.reply ? &reply : NULL, &st, err, sizeof(err));
	srv_files_close(files);
	free(pkg);
	if (rv == OCOP_OK && o.reply != NULL && srv_cmd_write_file(o.reply, reply.data, reply.len) != 0) {
		snprintf(err, sizeof(err), "cannot write the reply %s (the package is applied; import it again to "
					 "write the reply)", o.reply);
		rv = OCOP_EIO;
	}
	/* Taken once its reply is out: the same package is refused from now on. */
	if (rv == OCOP_OK && srv_bundle_taken(db, st.province, st.seq) != OCOP_OK) {
		snprintf(err, sizeof(err), "cannot record the package as taken: %s", sto_errmsg(db));
		rv = OCOP_EDB;
	}
	com_buf_fini(&reply);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff import: %s: %s\n", o.in, err[0] ? err : ocop_strerror(rv));
	} else {
		printf("dossier %s from province %s: %u messages, %llu changes applied, %llu already held, %llu refused\n",
		    st.dossier_id, st.province, st.messages, (unsigned long long)st.applied,
		    (unsigned long long)st.duplicates, (unsigned long long)st.rejected);
		if (st.files > 0 || st.file_chunks_refused > 0) {
			printf("evidence files: %u received whole%s\n", st.files,
			    st.file_chunks_refused > 0 ? " (some chunks refused: see the log)" : "");
		}
	}
	ocp_policy_free(pol);
	sto_close(db);
	return rv == OCOP_OK ? 0 : rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT || rv == OCOP_ESTATE ||
		    rv == OCOP_EINVAL || rv == OCOP_ESITE
	    ? 2
	    : 1;
}

static int
handoff_apply(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_upstream *u = NULL;
	srv_upstream_opts uo;
	srv_upstream_stats st;
	lnk_enrolment enrol;
	char err[600];
	const char *dd;
	uint8_t *reply;
	size_t len = 0;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_IN | SRV_OPT_CONFIG, "handoff apply", apply_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (srv_cmd_config(&cfg, o.config, "handoff apply") != OCOP_OK) {
		return SRV_CMD_USAGE;
	}
	if (o.db == NULL || o.in == NULL) {
		fprintf(stderr, "ocopd handoff apply: needs --db PATH and --in FILE\n");
		return 2;
	}
	if ((dd = srv_cmd_data_dir(&cfg, "handoff")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if ((reply = srv_cmd_read_file(o.in, &len)) == NULL) {
		fprintf(stderr, "ocopd handoff apply: cannot read %s\n", o.in);
		return 1;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		free(reply);
		return 1;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		free(reply);
		sto_close(db);
		return 2;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	if (srv_cmd_upstream_enrolment(cfg.upstream_enrolment, &enrol) != 0) {
		free(reply);
		ocp_policy_free(pol);
		sto_close(db);
		return 2;
	}
	memset(&uo, 0, sizeof(uo));
	uo.credential = enrol.credential; /* its key authenticates the reply */
	uo.pull_policy = ocp_policy_store_relay(pol, "national");
	uo.data_dir = dd;
	uo.log = &srv_cmd_log;
	if ((rv = srv_upstream_open(&u, db, &uo, err, sizeof(err))) == OCOP_OK) {
		rv = srv_upstream_apply_reply(u, reply, len, &st, err, sizeof(err));
	}
	free(reply);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff apply: %s: %s\n", o.in, err[0] ? err : ocop_strerror(rv));
	} else {
		printf("%llu national changes (%llu new); %u hand-offs decided\n", (unsigned long long)st.pulled,
		    (unsigned long long)st.applied, st.decided);
	}
	srv_upstream_close(u);
	lnk_enrol_fini(&enrol);
	ocp_policy_free(pol);
	sto_close(db);
	return rv == OCOP_OK ? 0 : rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT || rv == OCOP_ESTATE ? 2 : 1;
}

static const srv_cmd handoff_cmds[] = {
    {"export", handoff_export, "write a candidate's hand-off package for the national office"},
    {"import", handoff_import, "apply a hand-off package at the national server; --reply for the province"},
    {"apply", handoff_apply, "merge the national server's reply at the province"},
};

int
srv_cmd_handoff(int argc, char **argv)
{
	return srv_cmd_group(handoff_usage, handoff_cmds, sizeof(handoff_cmds) / sizeof(handoff_cmds[0]), argc,
	    argv);
}
