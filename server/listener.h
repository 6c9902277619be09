/*
 * listener.h: the nng REP front of a server: a pool of contexts, each
 * receiving a request, handing it to srv_handle() and sending the reply, so
 * many sites are served at once. The service's database is one SQLite
 * connection, so handling is serialised by a mutex; receiving and sending
 * overlap freely.
 */
#ifndef OCOP_SERVER_LISTENER_H
#define OCOP_SERVER_LISTENER_H

#include <stddef.h>

#include "server/service.h"

typedef struct srv_listener srv_listener;

/*
 * Listen on url with `workers` contexts, serving with svc (borrowed; the
 * listener must be closed before svc is). max_msg caps incoming messages.
 * Constructor. Returns OCOP_OK, OCOP_EINVAL (bad URL), OCOP_ENET (cannot
 * bind), OCOP_ENOMEM. Caller closes with srv_listener_close().
 */
int srv_listener_open(srv_listener **out, srv_service *svc, const char *url, int workers, size_t max_msg);
/* Stop serving, wait for in-flight requests, release everything. Accepts NULL. */
void srv_listener_close(srv_listener *l);

#endif /* OCOP_SERVER_LISTENER_H */
