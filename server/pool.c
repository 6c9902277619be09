/*
 * pool.c: read connections and the writer's turn (see pool.h).
 */
#include "server/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

struct srv_pool {
	pthread_mutex_t mtx;    /* guards free_n and the free list */
	pthread_cond_t cv;      /* a connection came back */
	pthread_mutex_t write;  /* the writer's turn */
	sto_db **all;           /* every read connection, owned */
	sto_db **free_list;     /* the free ones (borrowed from all) */
	int n;                  /* connections */
	int free_n;             /* free ones */
};

int
srv_pool_open(srv_pool **out, const char *path, int n, const com_log *log)
{
	srv_pool *p;
	sto_opts o;
	char sql[96];
	int i;
	int rv = OCOP_OK;

	*out = NULL;
	if (n <= 0) {
		n = SRV_POOL_READERS;
	}
	p = com_calloc(1, sizeof(*p));
	if (p == NULL) {
		return OCOP_ENOMEM;
	}
	p->all = com_calloc((size_t)n, sizeof(*p->all));
	p->free_list = com_calloc((size_t)n, sizeof(*p->free_list));
	if (p->all == NULL || p->free_list == NULL || pthread_mutex_init(&p->mtx, NULL) != 0) {
		com_free(p->all);
		com_free(p->free_list);
		com_free(p);
		return OCOP_ENOMEM;
	}
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->write, NULL);
	memset(&o, 0, sizeof(o));
	o.user = "ocopd";
	o.log = log;
	/* Readers never write: a bug that tried would fail loudly instead. */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d; PRAGMA query_only = 1;", SRV_POOL_CACHE_KIB);
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		if ((rv = sto_open(&p->all[i], path, &o)) == OCOP_OK) {
			p->n++;
			rv = sto_exec(p->all[i], sql);
		}
	}
	if (rv != OCOP_OK) {
		srv_pool_close(p);
		return rv;
	}
	for (i = 0; i < p->n; i++) {
		p->free_list[i] = p->all[i];
	}
	p->free_n = p->n;
	*out = p;
	return OCOP_OK;
}

void
srv_pool_close(srv_pool *p)
{
	int i;

	if (p == NULL) {
		return;
	}
	for (i = 0; i < p->n; i++) {
		sto_close(p->all[i]);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
	pthread_mutex_destroy(&p->write);
	com_free(p->all);
	com_free(p->free_list);
	com_free(p);
}

sto_db *
srv_pool_take(srv_pool *p)
{
	sto_db *db;

	pthread_mutex_lock(&p->mtx);
	while (p->free_n == 0) {
		pthread_cond_wait(&p->cv, &p->mtx);
	}
	db = p->free_list[--p->free_n];
	pthread_mutex_unlock(&p->mtx);
	return db;
}

void
srv_pool_give(srv_pool *p, sto_db *db)
{
	pthread_mutex_lock(&p->mtx);
	p->free_list[p->free_n++] = db;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

void
srv_pool_write_lock(srv_pool *p)
{
	pthread_mutex_lock(&p->write);
}

void
srv_pool_write_unlock(srv_pool *p)
{
	pthread_mutex_unlock(&p->write);
}
