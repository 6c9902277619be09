/*
 * integration.sync: real `ocopd` and `ocop` processes on loopback.
 *
 * Each case starts its own provincial server on a free 127.0.0.1 port, with
 * sites registered by `ocopd site add`, and drives the sites with the `ocop`
 * binary. Writes that the CLI would refuse locally (an older or tampered
 * client) are made through the library on the site's database, so the
 * server's own checks are what is tested.
 */
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/sync.h"
#include "common/link/dial.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "protocol/envelope.h"
#include "protocol/session.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

#define NSITES 4

typedef struct site {
	const char *name;  /* file stem: a, b, m1, m2 */
	const char *role;  /* role */
	const char *scope; /* scope */
	char id[64];       /* site id from ocopd site add */
	char cred[128];    /* its credential */
} site;

typedef struct fx {
	char *dir;            /* temp dir, owned */
	char ocop[512];       /* ocop binary */
	char ocopd[512];      /* ocopd binary */
	char data[512];       /* data dir */
	char url[64];         /* server URL */
	pid_t server;         /* ocopd pid */
	site s[NSITES];       /* a, b: commune 83-100; m1, m2: members */
} fx;

/* Run ocop against a site's database; returns the exit code, output in *out (may be NULL). */
static int
ocop(fx *f, const char *db, char **out, const char *args)
{
	char *o = NULL;
	int rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_DATA_DIR=%s %s %s", f->dir, f->dir, db, f->data,
	    f->ocop, args);

	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocop %s (%s) exited %d: %s\n", args, db, rc, o);
		}
		com_free(o);
	}
	return rc;
}

/* Like ocop(), and return the first line of the output (an id) in id. */
static void
ocop_id(fx *f, const char *db, char *id, size_t cap, const char *args)
{
	char *o = NULL;
	int rc = ocop(f, db, &o, args);

	if (rc != 0) {
		print_error("ocop %s: %s\n", args, o);
	}
	assert_int_equal(rc, 0);
	snprintf(id, cap, "%.36s", o);
	com_free(o);
}

static json_t *
ocop_json(fx *f, const char *db, const char *args)
{
	char *o = NULL;
	json_error_t e;
	json_t *j;

	assert_int_equal(ocop(f, db, &o, args), 0);
	j = json_loads(o, 0, &e);
	if (j == NULL) {
		print_error("not JSON from ocop %s: %s\n", args, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	static const char *const names[NSITES] = {"a", "b", "m1", "m2"};
	static const char *const roles[NSITES] = {"commune", "commune", "member", "member"};
	static const char *const scopes[NSITES] = {"83-100", "83-100", "83", "83"};
	char log[600];
	int port = tp_free_port();
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", port);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 83 >/dev/null", f->ocopd, f->dir) != 0) {
		return -1;
	}
	for (i = 0; i < NSITES; i++) {
		site *s = &f->s[i];
		char sdb[600];
		char pdb[600];
		te_site ts;
		s->name = names[i];
		s->role = roles[i];
		s->scope = scopes[i];
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = s->role;
		ts.scope = s->scope;
		ts.name = s->name;
		ts.url = f->url;
		if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
	}
	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	{
		char db[600];
		char listen[80];
		snprintf(db, sizeof(db), "%s/prov.db", f->dir);
		snprintf(listen, sizeof(listen), "%s", f->url);
		char *argv[] = {f->ocopd, "serve", "--db", db, "--listen", listen, NULL};
		setenv("OCOP_DATA_DIR", f->data, 1);
		f->server = tp_spawn(argv, log);
	}
	if (f->server < 0 || tp_wait_port(port, 5000) != 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	/* A clean stop on SIGTERM is part of the contract. */
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* Open a site's database directly, as an older or tampered client would write it. */
static sto_db *
raw_open(fx *f, const char *name)
{
	char path[600];
	sto_opts o;
	sto_db *db = NULL;

	memset(&o, 0, sizeof(o));
	o.user = "tampered";
	snprintf(path, sizeof(path), "%s/%s.db", f->dir, name);
	assert_ok(sto_open(&db, path, &o));
	return db;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* A subject, product and dossier on site a, synced to the server. */
static void
make_dossier(fx *f, char subject[40], char dossier[40])
{
	char product[40];
	char args[300];

	ocop_id(f, "a", subject, 40, "subject add --name 'HTX Kẹo dừa' --kind htx --unit 83-100");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Kẹo dừa sáp' --set 07", subject);
	ocop_id(f, "a", product, sizeof(product), args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", product);
	ocop_id(f, "a", dossier, 40, args);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
}

static void
test_two_sites_editing_one_field_converge_and_the_loser_is_in_the_ledger(void **state)
{
	fx *f = *state;
	char subject[40];
	char dossier[40];
	char args[300];
	json_t *ja;
	json_t *jb;
	json_t *conf;
	size_t i;
	int found = 0;

	make_dossier(f, subject, dossier);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	/* Both offline: a, then b, rename the subject. */
	snprintf(args, sizeof(args), "subject set %s --name 'HTX Kẹo dừa Bến Tre'", subject);
	assert_int_equal(ocop(f, "a", NULL, args), 0);
	snprintf(args, sizeof(args), "subject set %s --name 'HTX Kẹo dừa Mỏ Cày'", subject);
	assert_int_equal(ocop(f, "b", NULL, args), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "subject show %s --json", subject);
	ja = ocop_json(f, "a", args);
	jb = ocop_json(f, "b", args);
	assert_string_equal(jstr(ja, "name"), jstr(jb, "name"));
	/* Normally b's later write wins; two writes in the same millisecond are
	 * ordered by site id instead. Either way the other value is the loser. */
	const char *winner = jstr(ja, "name");
	const char *loser = strcmp(winner, "HTX Kẹo dừa Mỏ Cày") == 0 ? "HTX Kẹo dừa Bến Tre" : "HTX Kẹo dừa Mỏ Cày";
	assert_true(strcmp(winner, "HTX Kẹo dừa Mỏ Cày") == 0 || strcmp(winner, "HTX Kẹo dừa Bến Tre") == 0);
	/* The losing value is in the ledger, on the server's replica and the sites'. */
	conf = ocop_json(f, "a", "conflicts --all --json");
	for (i = 0; i < json_array_size(conf); i++) {
		json_t *e = json_array_get(conf, i);
		if (strcmp(jstr(e, "rule"), "lww") == 0 && strcmp(jstr(e, "lost_value"), loser) == 0) {
			found = 1;
		}
	}
	json_decref(ja);
	json_decref(jb);
	json_decref(conf);
	assert_true(found);
	assert_int_equal(tu_run(NULL, 1, "%s status --db %s/prov.db | grep -q 'ledger entries [1-9]'", f->ocopd, f->dir), 0);
}

static void
test_a_commune_recognising_a_product_is_rejected_and_reported(void **state)
{
	fx *f = *state;
	char subject[40];
	char dossier[40];
	char args[300];
	char *out = NULL;
	sto_db *db;
	json_t *j;

	make_dossier(f, subject, dossier);
	/* The CLI refuses it locally... */
	snprintf(args, sizeof(args), "dossier move %s --to recognised", dossier);
	assert_int_equal(ocop(f, "a", &out, args), 1);
	com_free(out);
	/* ...and the server refuses it from a client that does not check. */
	db = raw_open(f, "a");
	assert_ok(sto_row_update(db, "dossier", dossier, "status", "recognised"));
	sto_close(db);
	assert_int_equal(ocop(f, "a", &out, "sync"), 0);
	assert_non_null(strstr(out, "refused by the server"));
	com_free(out);
	j = ocop_json(f, "a", "conflicts --json");
	assert_true(json_array_size(j) >= 1);
	/* draft -> recognised is no transition of the flow: a workflow refusal. */
	assert_string_equal(jstr(json_array_get(j, 0), "rule"), "workflow");
	assert_non_null(strstr(jstr(json_array_get(j, 0), "reason"), "commune_check"));
	json_decref(j);
	/* The refused status does not stand anywhere: the site is back in line. */
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "dossier show %s --json", dossier);
	j = ocop_json(f, "a", args);
	assert_string_equal(jstr(j, "status"), "draft");
	json_decref(j);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	j = ocop_json(f, "b", args);
	assert_string_equal(jstr(j, "status"), "draft");
	json_decref(j);
}

static void
test_a_member_writing_another_members_sheet_is_rejected(void **state)
{
	fx *f = *state;
	char subject[40];
	char dossier[40];
	char eval[37];
	char mem[37];
	char sheet[37];
	char score[37];
	const char *ec[] = {"dossier_id", "tier", "rubric_id", "legal_basis"};
	const char *mc[] = {"evaluation_id", "name", "role", "site_id"};
	const char *sc[] = {"evaluation_id", "member_id", "owner_site"};
	const char *pc[] = {"sheet_id", "criterion", "points"};
	sto_db *prov;
	sto_db *m2;
	char *out = NULL;
	char path[600];
	sto_opts o;

	make_dossier(f, subject, dossier);
	/* The province's council secretariat opens an evaluation with a sheet for member 1. */
	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/prov.db", f->dir);
	assert_ok(sto_open(&prov, path, &o));
	const char *ev[] = {dossier, "province", "qd26-2026/07", "qd26-2026"};
	assert_ok(sto_row_insert(prov, "evaluation", ec, ev, 4, eval));
	const char *mv[] = {eval, "Thành viên 1", "member", f->s[2].id};
	assert_ok(sto_row_insert(prov, "member", mc, mv, 4, mem));
	const char *sv[] = {eval, mem, f->s[2].id};
	assert_ok(sto_row_insert(prov, "score_sheet", sc, sv, 3, sheet));
	sto_close(prov);
	assert_int_equal(ocop(f, "m1", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "m2", NULL, "sync"), 0);
	/* Member 2 scores on member 1's sheet. */
	m2 = raw_open(f, "m2");
	const char *pv[] = {sheet, "1.1", "300"};
	assert_ok(sto_row_insert(m2, "score", pc, pv, 3, score));
	sto_close(m2);
	assert_int_equal(ocop(f, "m2", &out, "sync"), 0);
	assert_non_null(strstr(out, "refused by the server"));
	com_free(out);
	assert_int_equal(ocop(f, "m2", &out, "conflicts"), 0);
	assert_non_null(strstr(out, "authority"));
	com_free(out);
	/* Member 1's own score on its sheet is accepted. */
	m2 = raw_open(f, "m1");
	assert_ok(sto_row_insert(m2, "score", pc, pv, 3, score));
	sto_close(m2);
	assert_int_equal(ocop(f, "m1", &out, "sync"), 0);
	assert_null(strstr(out, "refused"));
	com_free(out);
}

static void
test_a_deleted_row_stays_deleted_after_a_late_update(void **state)
{
	fx *f = *state;
	char subject[40];
	char dossier[40];
	char args[300];
	char *out = NULL;

	make_dossier(f, subject, dossier);
	/* A second subject with no products, which may be deleted. */
	ocop_id(f, "a", subject, 40, "subject add --name 'Hộ kinh doanh Bánh tráng' --kind ho --unit 83-100");
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "subject delete %s", subject);
	assert_int_equal(ocop(f, "a", NULL, args), 0);
	/* b has not seen the delete and edits later. */
	snprintf(args, sizeof(args), "subject set %s --phone 0275123456", subject);
	assert_int_equal(ocop(f, "b", NULL, args), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "a", &out, "subject list --json"), 0);
	assert_null(strstr(out, subject));
	com_free(out);
	assert_int_equal(ocop(f, "b", &out, "subject list --json"), 0);
	assert_null(strstr(out, subject));
	com_free(out);
}

/* Connect to the test's server (plain tcp:// on loopback). */
static int
dial(fx *f, lnk_dialer **d)
{
	lnk_dial_opts o;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.url = f->url;
	o.timeout_ms = 5000;
	return lnk_dialer_open(d, &o, err, sizeof(err));
}

/* A transport that keeps a copy of the first PUSH it carries. */
typedef struct recorder {
	cli_transport inner; /* the real transport */
	com_buf push;        /* the recorded PUSH */
} recorder;

static int
recording_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	recorder *r = arg;
	proto_env env;
	proto_rd body;

	if (r->push.len == 0 && proto_env_open(req, len, &env, &body) == OCOP_OK && env.type == PROTO_MSG_PUSH) {
		com_buf_append(&r->push, req, len);
	}
	return r->inner.roundtrip(r->inner.arg, req, len, reply);
}

static long long
server_changes(fx *f)
{
	char *o = NULL;
	json_t *j;
	long long n;

	assert_int_equal(tu_run(&o, 0, "%s status --db %s/prov.db --json", f->ocopd, f->dir), 0);
	j = json_loads(o, 0, NULL);
	com_free(o);
	n = (long long)json_integer_value(json_object_get(j, "changes"));
	json_decref(j);
	return n;
}

static void
test_a_replayed_push_changes_nothing(void **state)
{
	fx *f = *state;
	char subject[40];
	sto_db *db;
	lnk_dialer *t = NULL;
	recorder rec;
	cli_transport tr;
	cli_sync_opts so;
	cli_sync_stats st;
	com_buf reply;
	proto_env env;
	proto_rd body;
	proto_push_ok ok;
	char err[600];
	long long before;

	ocop_id(f, "a", subject, sizeof(subject), "subject add --name 'Tổ hợp tác Chè' --kind tht --unit 83-100");
	db = raw_open(f, "a");
	assert_ok(dial(f, &t));
	rec.inner = lnk_dialer_transport(t);
	com_buf_init(&rec.push);
	tr.roundtrip = recording_roundtrip;
	tr.arg = &rec;
	memset(&so, 0, sizeof(so));
	so.credential = f->s[0].cred;
	assert_ok(cli_sync_once(db, NULL, &tr, &so, &st, err, sizeof(err)));
	assert_true(st.pushed >= 1);
	assert_true(rec.push.len > 0);
	before = server_changes(f);
	/* Send the very same PUSH again, twice. */
	com_buf_init(&reply);
	for (int k = 0; k < 2; k++) {
		com_buf_reset(&reply);
		assert_ok(rec.inner.roundtrip(rec.inner.arg, rec.push.data, rec.push.len, &reply));
		assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
		assert_int_equal(env.type, PROTO_MSG_PUSH_OK);
		assert_ok(proto_push_ok_decode(&body, &ok));
		assert_int_equal(ok.applied, 0);
		assert_true(ok.duplicates >= 1);
	}
	assert_int_equal(server_changes(f), before);
	com_buf_fini(&reply);
	com_buf_fini(&rec.push);
	lnk_dialer_close(t);
	sto_close(db);
}

static void
test_bad_input_gets_an_error_reply_and_the_server_keeps_serving(void **state)
{
	fx *f = *state;
	lnk_dialer *t = NULL;
	cli_transport tr;
	com_buf reply;
	proto_env env;
	proto_rd body;
	static const uint8_t junk[] = {0x94, 0x01, 0x04, 0xc1, 0x00};
	char *out = NULL;

	assert_ok(dial(f, &t));
	tr = lnk_dialer_transport(t);
	com_buf_init(&reply);
	assert_ok(tr.roundtrip(tr.arg, junk, sizeof(junk), &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_ERROR);
	com_buf_fini(&reply);
	lnk_dialer_close(t);
	/* A credential in a file others may read is refused; a secret on the command line too. */
	assert_int_equal(tu_run(NULL, 1, "echo wrong > %s/wrong.cred && chmod 644 %s/wrong.cred", f->dir, f->dir), 0);
	assert_int_equal(ocop(f, "a", &out, "remote --credential-file wrong.cred"), 2);
	assert_non_null(strstr(out, "chmod 600"));
	com_free(out);
	assert_int_equal(ocop(f, "a", &out, "remote --credential wrong"), 2);
	assert_non_null(strstr(out, "not taken on the command line"));
	com_free(out);
	/* A wrong credential is refused, with the same answer as an unknown site. */
	assert_int_equal(tu_run(NULL, 1, "chmod 600 %s/wrong.cred", f->dir), 0);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file wrong.cred"), 0);
	assert_int_equal(ocop(f, "a", &out, "sync"), 1);
	assert_non_null(strstr(out, "authentication failed: unknown site or wrong credential"));
	com_free(out);
	assert_int_equal(tu_run(NULL, 1, "umask 077; echo '%s' > %s/right.cred", f->s[0].cred, f->dir), 0);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file right.cred"), 0);
	/* And the server still serves. */
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_sites_editing_one_field_converge_and_the_loser_is_in_the_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_commune_recognising_a_product_is_rejected_and_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_member_writing_another_members_sheet_is_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_deleted_row_stays_deleted_after_a_late_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_replayed_push_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_gets_an_error_reply_and_the_server_keeps_serving, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
