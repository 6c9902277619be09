/*
 * integration.operations: what an IT officer relies on, with real `ocopd`
 * and `ocop` processes on 127.0.0.1: SIGHUP reloads the log level and never
 * kills; a port that is taken or privileged gets an error naming the cause;
 * and the restore drill of the README: a backup taken while sites sync, the
 * server lost, the backup restored into a new server, and the sites carrying
 * on with it, losing nothing.
 */
#include "tests/lib/testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/store/backup.h"
#include "common/util/alloc.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

typedef struct site {
	const char *name; /* file stem */
	char id[64];      /* site id */
	char cred[128];   /* credential */
} site;

typedef struct fx {
	char *dir;        /* temp dir, owned */
	char ocop[512];   /* ocop binary */
	char ocopd[512];  /* ocopd binary */
	char data[512];   /* data dir */
	char url[64];     /* sync URL */
	char conf[600];   /* config file */
	int port;         /* sync port */
	pid_t server;     /* ocopd serve, 0 when stopped */
	site s[2];        /* a and b, commune 83-100 */
} fx;

static void
msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
write_conf(fx *f, const char *extra)
{
	FILE *c = fopen(f->conf, "w");

	assert_non_null(c);
	fprintf(c, "db = %s/prov.db\nlisten = %s\n%s", f->dir, f->url, extra);
	fclose(c);
}

static void
start_server(fx *f)
{
	char log[700];
	char *argv[] = {f->ocopd, "serve", "--config", f->conf, NULL};

	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	f->server = tp_spawn(argv, log);
	assert_true(f->server > 0);
	assert_int_equal(tp_wait_port(f->port, 5000), 0);
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	static const char *const names[2] = {"a", "b"};
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->port = tp_free_port();
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", f->port);
	snprintf(f->conf, sizeof(f->conf), "%s/ocopd.conf", f->dir);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 83 >/dev/null", f->ocopd, f->dir) != 0) {
		return -1;
	}
	for (i = 0; i < 2; i++) {
		site *s = &f->s[i];
		char pdb[600];
		char sdb[600];
		te_site ts;
		s->name = names[i];
		snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = "commune";
		ts.scope = "83-100";
		ts.name = s->name;
		ts.url = f->url;
		if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
	}
	write_conf(f, "");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	if (f->server > 0) {
		tp_stop(f->server, SIGTERM);
	}
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static int
ocop(fx *f, const char *db, const char *args)
{
	char *o = NULL;
	int rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_USER=%s %s %s", f->dir, f->dir, db, db, f->ocop, args);

	if (rc != 0) {
		print_error("ocop %s (%s) exited %d: %s\n", args, db, rc, o);
	}
	com_free(o);
	return rc;
}

static char *
server_log(fx *f)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/ocopd.log", f->dir);
	return tu_slurp(path);
}

/* Wait until the server's log contains text (up to 5 s). */
static bool
log_has(fx *f, const char *text)
{
	int i;

	for (i = 0; i < 100; i++) {
		char *l = server_log(f);
		bool yes = l != NULL && strstr(l, text) != NULL;
		com_free(l);
		if (yes) {
			return true;
		}
		msleep(50);
	}
	return false;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* ===== SIGHUP ===== */

static void
test_sighup_reloads_the_log_level_and_never_kills(void **state)
{
	fx *f = *state;
	char *l;
	size_t hellos;

	start_server(f);
	assert_int_equal(ocop(f, "a", "sync"), 0);
	l = server_log(f);
	assert_true(count(l, "HELLO from") >= 1);
	com_free(l);
	/* warn hides the info lines, from the reload on. */
	write_conf(f, "log_level = warn\n");
	assert_int_equal(kill(f->server, SIGHUP), 0);
	assert_true(log_has(f, "reloaded"));
	l = server_log(f);
	hellos = count(l, "HELLO from");
	com_free(l);
	assert_int_equal(ocop(f, "a", "sync"), 0);
	assert_int_equal(ocop(f, "b", "sync"), 0);
	l = server_log(f);
	assert_int_equal(count(l, "HELLO from"), hellos);
	com_free(l);
	assert_int_equal(kill(f->server, 0), 0);
	/* A config broken on disk is refused; the server keeps its settings and serves on. */
	write_conf(f, "log_level = loud\n");
	assert_int_equal(kill(f->server, SIGHUP), 0);
	assert_true(log_has(f, "reload refused"));
	assert_true(log_has(f, "bad value for 'log_level'"));
	assert_int_equal(ocop(f, "a", "sync"), 0);
	/* Back to info: the HELLOs show again. */
	write_conf(f, "log_level = info\n");
	assert_int_equal(kill(f->server, SIGHUP), 0);
	assert_int_equal(kill(f->server, SIGHUP), 0); /* twice in a row: still alive */
	msleep(300);
	assert_int_equal(ocop(f, "b", "sync"), 0);
	l = server_log(f);
	assert_true(count(l, "HELLO from") > hellos);
	com_free(l);
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	f->server = 0;
}

/*
 * SIGHUP reloads the limits too: a smaller max_batch reaches the next session
 * (its HELLO_OK), so a site's changes go up in more, smaller PUSHes.
 */
static void
test_sighup_reloads_the_limits(void **state)
{
	fx *f = *state;
	char cmd[1024];
	char *o = NULL;
	char *l;
	size_t before;

	start_server(f);
	/* About 50 KB of changes, three times the smallest max_batch (16 KiB). */
	snprintf(cmd, sizeof(cmd),
	    "cd %s && for i in $(seq 1 150); do OCOP_DB=%s/a.db OCOP_USER=a %s subject add --kind htx --unit 83-100"
	    " --name \"Hợp tác xã nông nghiệp dịch vụ thương mại số $i\" >/dev/null || exit 1; done",
	    f->dir, f->dir, f->ocop);
	assert_int_equal(tu_run(&o, 1, "%s", cmd), 0);
	com_free(o);
	write_conf(f, "max_batch = 16384\nsend_timeout_ms = 5000\n");
	assert_int_equal(kill(f->server, SIGHUP), 0);
	assert_true(log_has(f, "max_batch 16384"));
	assert_true(log_has(f, "send_timeout_ms 5000"));
	l = server_log(f);
	before = count(l, "PUSH from");
	com_free(l);
	assert_int_equal(ocop(f, "a", "sync"), 0);
	l = server_log(f);
	assert_true(count(l, "PUSH from") - before >= 2);
	com_free(l);
	/* Back to the default: one PUSH takes a whole session's changes again. */
	assert_int_equal(ocop(f, "a", "subject add --kind htx --unit 83-100 --name 'HTX lần hai'"), 0);
	write_conf(f, "");
	assert_int_equal(kill(f->server, SIGHUP), 0);
	assert_true(log_has(f, "max_batch 2097152"));
	l = server_log(f);
	before = count(l, "PUSH from");
	com_free(l);
	assert_int_equal(ocop(f, "a", "sync"), 0);
	l = server_log(f);
	assert_int_equal(count(l, "PUSH from") - before, 1);
	com_free(l);
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	f->server = 0;
}

/* ===== Listen errors ===== */

static void
test_a_taken_or_privileged_port_is_named_as_such(void **state)
{
	fx *f = *state;
	char *o = NULL;
	int http = tp_free_port();

	start_server(f);
	/* Another server on the same sync address. */
	assert_int_equal(tu_run(&o, 1, "%s serve --db %s/prov.db --listen %s", f->ocopd, f->dir, f->url), 1);
	if (strstr(o, "address already in use") == NULL) {
		print_error("%s\n", o);
	}
	assert_non_null(strstr(o, "address already in use"));
	com_free(o);
	/* The operator view on a taken port. */
	write_conf(f, "");
	{
		char conf[700];
		char tok[700];
		FILE *c;
		snprintf(tok, sizeof(tok), "%s/tok", f->dir);
		c = fopen(tok, "w");
		fprintf(c, "0123456789abcdef0123\n");
		fclose(c);
		snprintf(conf, sizeof(conf), "%s/second.conf", f->dir);
		c = fopen(conf, "w");
		fprintf(c, "db = %s/prov.db\nlisten = tcp://127.0.0.1:%d\nhttp_listen = http://127.0.0.1:%d\nhttp_token_file = %s\n",
		    f->dir, http, f->port, tok);
		fclose(c);
		assert_int_equal(tu_run(&o, 1, "%s serve --config %s", f->ocopd, conf), 1);
		assert_non_null(strstr(o, "operator view"));
		assert_non_null(strstr(o, "already in use"));
		com_free(o);
		/* http_listen without a token file is refused before anything starts. */
		c = fopen(conf, "w");
		fprintf(c, "db = %s/prov.db\nlisten = tcp://127.0.0.1:%d\nhttp_listen = http://127.0.0.1:%d\n", f->dir, http,
		    http);
		fclose(c);
		assert_int_equal(tu_run(&o, 1, "%s serve --config %s", f->ocopd, conf), 2);
		assert_non_null(strstr(o, "http_listen needs http_token_file"));
		com_free(o);
	}
	/* A privileged port, as an unprivileged user (root's tests drop to nobody). */
	assert_int_equal(tu_run(NULL, 1, "chmod -R a+rwX %s", f->dir), 0);
	assert_int_equal(tu_run(&o, 1, "%s%s serve --db %s/prov.db --listen tcp://127.0.0.1:1",
			     geteuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups " : "", f->ocopd,
			     f->dir),
	    1);
	if (strstr(o, "permission denied") == NULL) {
		print_error("%s\n", o);
	}
	assert_non_null(strstr(o, "permission denied"));
	com_free(o);
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	f->server = 0;
}

/* ===== Backup and restore ===== */

static json_t *
run_json(const char *what, const char *cmd)
{
	char *o = NULL;
	json_t *j;

	if (tu_run(&o, 0, "%s", cmd) != 0) {
		print_error("%s failed: %s\n", what, o);
		fail();
	}
	j = json_loads(o, 0, NULL);
	if (j == NULL) {
		print_error("%s: not JSON: %s\n", what, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

static void
test_a_backup_under_load_restores_into_a_server_the_sites_continue_with(void **state)
{
	fx *f = *state;
	char load_log[700];
	char script[2000];
	char cmd[2000];
	char path[800];
	char *o = NULL;
	sto_backup_info info;
	char why[256];
	pid_t load;
	size_t written;
	json_t *st;
	json_t *la;
	json_t *lb;
	int i;
	int status;

	start_server(f);
	/* Both sites write and sync in a loop while the backup is taken. */
	/* Both sites write and sync in a loop until told to stop, counting their writes. */
	snprintf(script, sizeof(script),
	    "i=0; while [ ! -e %s/stop ]; do i=$((i+1)); for s in a b; do"
	    " OCOP_DB=%s/$s.db %s subject add --name \"HTX $s $i\" --kind htx --unit 83-100 >/dev/null || exit 1;"
	    " echo $s >> %s/written;"
	    " OCOP_DB=%s/$s.db %s sync >/dev/null || exit 1; done; done",
	    f->dir, f->dir, f->ocop, f->dir, f->dir, f->ocop);
	snprintf(load_log, sizeof(load_log), "%s/load.log", f->dir);
	{
		char *argv[] = {"/bin/sh", "-c", script, NULL};
		load = tp_spawn(argv, load_log);
	}
	assert_true(load > 0);
	for (i = 0; i < 200; i++) { /* until the server holds some of it */
		json_t *s;
		snprintf(cmd, sizeof(cmd), "%s status --db %s/prov.db --json", f->ocopd, f->dir);
		s = run_json("ocopd status", cmd);
		json_int_t changes = json_integer_value(json_object_get(s, "changes"));
		json_decref(s);
		if (changes >= 10) {
			break;
		}
		msleep(50);
	}
	snprintf(path, sizeof(path), "%s/backup.db", f->dir);
	assert_int_equal(tu_run(&o, 1, "%s backup --db %s/prov.db --out %s", f->ocopd, f->dir, path), 0);
	assert_non_null(strstr(o, "backup "));
	com_free(o);
	/* The copy is sound, taken while the sites were still writing. */
	if (waitpid(load, &status, WNOHANG) != 0) {
		char *l = tu_slurp(load_log);
		print_error("the load ended early (status %d): %s\n", status, l ? l : "");
		com_free(l);
		fail();
	}
	assert_ok(sto_backup_verify(path, &info, why, sizeof(why)));
	assert_string_equal(info.role, "province");
	msleep(500); /* more syncs after the copy */
	snprintf(cmd, sizeof(cmd), "%s/stop", f->dir);
	fclose(fopen(cmd, "w"));
	assert_int_equal(waitpid(load, &status, 0), load);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(cmd, sizeof(cmd), "%s/written", f->dir);
	{
		char *w = tu_slurp(cmd);
		assert_non_null(w);
		written = count(w, "\n");
		com_free(w);
	}
	assert_true(written > 10);
	/* More after the backup, which the lost server took with it. */
	assert_int_equal(ocop(f, "b", "subject add --name 'HTX sau sao lưu' --kind htx --unit 83-100"), 0);
	assert_int_equal(ocop(f, "b", "sync"), 0);
	assert_int_equal(ocop(f, "a", "sync"), 0);

	/* The server is lost (killed outright). The drill: restore, start, sync. */
	assert_int_equal(tp_stop(f->server, SIGKILL), 128 + SIGKILL);
	f->server = 0;
	assert_int_equal(tu_run(&o, 1, "%s restore --in %s --db %s/prov.db", f->ocopd, path, f->dir), 2);
	assert_non_null(strstr(o, "--force"));
	com_free(o);
	assert_int_equal(tu_run(&o, 1, "%s restore --in %s --db %s/prov.db --force", f->ocopd, path, f->dir), 0);
	com_free(o);
	snprintf(path, sizeof(path), "%s/prov.db.before-restore", f->dir);
	assert_int_equal(access(path, F_OK), 0); /* the replaced database is kept */
	start_server(f);
	/* A restore while the server runs is refused. */
	snprintf(path, sizeof(path), "%s/backup.db", f->dir);
	assert_int_equal(tu_run(&o, 1, "%s restore --in %s --db %s/prov.db --force", f->ocopd, path, f->dir), 1);
	assert_non_null(strstr(o, "in use"));
	com_free(o);
	/* The sites carry on: they send again what the backup lacks and get what the other wrote. */
	assert_int_equal(ocop(f, "a", "subject add --name 'HTX sau khôi phục' --kind htx --unit 83-100"), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(ocop(f, "a", "sync"), 0);
		assert_int_equal(ocop(f, "b", "sync"), 0);
	}
	snprintf(cmd, sizeof(cmd), "OCOP_DB=%s/a.db %s subject list --json", f->dir, f->ocop);
	la = run_json("ocop subject list", cmd);
	snprintf(cmd, sizeof(cmd), "OCOP_DB=%s/b.db %s subject list --json", f->dir, f->ocop);
	lb = run_json("ocop subject list", cmd);
	/* Everything of the loop, one after the backup, one after the restore. */
	assert_int_equal(json_array_size(la), written + 2);
	assert_true(json_equal(la, lb));
	json_decref(la);
	json_decref(lb);
	snprintf(cmd, sizeof(cmd), "%s status --db %s/prov.db --json", f->ocopd, f->dir);
	st = run_json("ocopd status", cmd);
	for (i = 0; i < 2; i++) {
		json_t *s;
		json_t *peer;
		snprintf(cmd, sizeof(cmd), "OCOP_DB=%s/%s.db %s status --json", f->dir, f->s[i].name, f->ocop);
		s = run_json("ocop status", cmd);
		peer = json_array_get(json_object_get(st, "sites"), (size_t)i);
		assert_int_equal(json_integer_value(json_object_get(s, "pending_changes")), 0);
		assert_int_equal(json_integer_value(json_object_get(peer, "high_water")),
		    json_integer_value(json_object_get(s, "server_high_water")));
		json_decref(s);
	}
	json_decref(st);
	snprintf(path, sizeof(path), "%s/prov.db", f->dir);
	assert_ok(sto_backup_verify(path, &info, why, sizeof(why)));
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	f->server = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sighup_reloads_the_log_level_and_never_kills, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_reloads_the_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_taken_or_privileged_port_is_named_as_such, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_backup_under_load_restores_into_a_server_the_sites_continue_with,
		setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
