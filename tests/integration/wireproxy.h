/*
 * wireproxy.h: a TCP proxy on 127.0.0.1 for integration tests, between real
 * `ocop` and `ocopd` processes: it counts the bytes that cross it each way
 * (what the wire carries), and can alter one byte inside a message on its
 * way, as a bad link would. It understands nng's SP framing over TCP (an
 * 8-byte greeting each way, then 8-byte big-endian lengths before each
 * message) only to leave the framing intact and damage a message's bytes.
 * When the server goes away the proxy drops the client's connection, and a
 * redial reaches whatever server listens on the target port then.
 */
#ifndef OCOP_TESTS_INTEGRATION_WIREPROXY_H
#define OCOP_TESTS_INTEGRATION_WIREPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wp_proxy wp_proxy;

/* Listen on 127.0.0.1:listen_port and forward to 127.0.0.1:target_port. Returns NULL on failure. */
wp_proxy *wp_start(int listen_port, int target_port);
/* Stop the proxy and close every connection. Accepts NULL. */
void wp_stop(wp_proxy *p);
/* Bytes forwarded client -> server and server -> client since the last reset. */
uint64_t wp_bytes_up(wp_proxy *p);
uint64_t wp_bytes_down(wp_proxy *p);
/* Zero the counters. */
void wp_reset(wp_proxy *p);
/*
 * Flip one byte in the middle of the nth message (1-based, counted from now)
 * of at least min_len bytes going down (up: false) or up (true). 0 = none.
 */
void wp_damage(wp_proxy *p, bool up, int nth, size_t min_len);
/* Messages altered so far. */
int wp_damaged(wp_proxy *p);

#endif /* OCOP_TESTS_INTEGRATION_WIREPROXY_H */
