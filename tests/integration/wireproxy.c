/*
 * wireproxy.c: the counting, damaging TCP proxy of the integration tests (wireproxy.h).
 */
#include "tests/integration/wireproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WP_PAIRS 16

/* Where one direction of one connection stands in nng's framing. */
typedef struct wp_dir {
	size_t greeting;     /* greeting bytes still to pass (8 at first) */
	uint8_t hdr[8];      /* the length header being read */
	size_t hdr_have;     /* its bytes so far */
	uint64_t left;       /* payload bytes of the current message still to pass */
	uint64_t flip_at;    /* when > 0: flip the byte this many payload bytes before the end + 1 */
} wp_dir;

typedef struct wp_pair {
	int cfd;     /* client side, -1 when free */
	int sfd;     /* server side */
	wp_dir up;   /* client -> server */
	wp_dir down; /* server -> client */
} wp_pair;

struct wp_proxy {
	int lfd;                 /* listening socket */
	int target;              /* server port */
	pthread_t th;            /* the forwarding thread */
	pthread_mutex_t mu;      /* guards the counters and damage settings */
	volatile int stop;       /* set to end the thread */
	wp_pair pairs[WP_PAIRS]; /* connections (thread-owned) */
	uint64_t up;             /* bytes client -> server */
	uint64_t down;           /* bytes server -> client */
	int nth[2];              /* damage the nth qualifying message (0 down, 1 up); 0 = none */
	size_t min_len[2];       /* ... of at least this many bytes */
	int seen[2];             /* qualifying messages seen since the setting */
	int damaged;             /* messages altered */
};

static int
wp_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
wp_close(wp_pair *c)
{
	if (c->cfd >= 0) {
		close(c->cfd);
	}
	if (c->sfd >= 0) {
		close(c->sfd);
	}
	memset(c, 0, sizeof(*c));
	c->cfd = -1;
	c->sfd = -1;
}

static bool
wp_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Walk n bytes of one direction through the framing, flipping the chosen byte. */
static void
wp_frame(wp_proxy *p, wp_dir *d, int dir, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (d->greeting > 0) {
			size_t k = n - i < d->greeting ? n - i : d->greeting;
			d->greeting -= k;
			i += k;
		} else if (d->left == 0) {
			d->hdr[d->hdr_have++] = buf[i++];
			if (d->hdr_have == 8) {
				uint64_t len = 0;
				int k;
				for (k = 0; k < 8; k++) {
					len = len << 8 | d->hdr[k];
				}
				d->hdr_have = 0;
				d->left = len;
				d->flip_at = 0;
				pthread_mutex_lock(&p->mu);
				if (p->nth[dir] > 0 && len >= p->min_len[dir] && ++p->seen[dir] == p->nth[dir]) {
					d->flip_at = len / 2 + 1; /* counted down with left */
					p->nth[dir] = 0;
					p->damaged++;
				}
				pthread_mutex_unlock(&p->mu);
			}
		} else {
			size_t k = n - i < d->left ? n - i : (size_t)d->left;
			if (d->flip_at > 0 && d->left >= d->flip_at && d->left - k < d->flip_at) {
				buf[i + (size_t)(d->left - d->flip_at)] ^= 0x10;
				d->flip_at = 0;
			}
			d->left -= k;
			i += k;
		}
	}
}

static void *
wp_run(void *arg)
{
	wp_proxy *p = arg;
	static uint8_t buf[1 << 16];

	while (!p->stop) {
		struct pollfd fds[1 + 2 * WP_PAIRS];
		int map[1 + 2 * WP_PAIRS];
		int n = 0;
		int i;

		fds[n].fd = p->lfd;
		fds[n].events = POLLIN;
		map[n++] = -1;
		for (i = 0; i < WP_PAIRS; i++) {
			if (p->pairs[i].cfd >= 0) {
				fds[n].fd = p->pairs[i].cfd;
				fds[n].events = POLLIN;
				map[n++] = 2 * i;
				fds[n].fd = p->pairs[i].sfd;
				fds[n].events = POLLIN;
				map[n++] = 2 * i + 1;
			}
		}
		if (poll(fds, (nfds_t)n, 50) <= 0) {
			continue;
		}
		if (fds[0].revents & POLLIN) {
			int cfd = accept(p->lfd, NULL, NULL);
			int sfd = cfd >= 0 ? wp_connect(p->target) : -1;
			if (cfd >= 0 && sfd < 0) {
				close(cfd); /* no server now: the client redials later */
			} else if (cfd >= 0) {
				for (i = 0; i < WP_PAIRS && p->pairs[i].cfd >= 0; i++) {
				}
				if (i == WP_PAIRS) {
					close(cfd);
					close(sfd);
				} else {
					memset(&p->pairs[i], 0, sizeof(p->pairs[i]));
					p->pairs[i].cfd = cfd;
					p->pairs[i].sfd = sfd;
					p->pairs[i].up.greeting = 8;
					p->pairs[i].down.greeting = 8;
				}
			}
		}
		for (i = 1; i < n; i++) {
			wp_pair *c = &p->pairs[map[i] / 2];
			bool up = map[i] % 2 == 0;
			ssize_t r;

			if (c->cfd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
				continue;
			}
			r = read(fds[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				wp_close(c); /* either end gone: both go, the client redials */
				continue;
			}
			wp_frame(p, up ? &c->up : &c->down, up ? 1 : 0, buf, (size_t)r);
			pthread_mutex_lock(&p->mu);
			if (up) {
				p->up += (uint64_t)r;
			} else {
				p->down += (uint64_t)r;
			}
			pthread_mutex_unlock(&p->mu);
			if (!wp_write_all(up ? c->sfd : c->cfd, buf, (size_t)r)) {
				wp_close(c);
			}
		}
	}
	return NULL;
}

wp_proxy *
wp_start(int listen_port, int target_port)
{
	struct sockaddr_in a;
	wp_proxy *p = calloc(1, sizeof(*p));
	int one = 1;
	int i;

	if (p == NULL) {
		return NULL;
	}
	p->target = target_port;
	pthread_mutex_init(&p->mu, NULL);
	for (i = 0; i < WP_PAIRS; i++) {
		p->pairs[i].cfd = -1;
		p->pairs[i].sfd = -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)listen_port);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(p->lfd, 16) != 0 ||
	    pthread_create(&p->th, NULL, wp_run, p) != 0) {
		if (p->lfd >= 0) {
			close(p->lfd);
		}
		free(p);
		return NULL;
	}
	return p;
}

void
wp_stop(wp_proxy *p)
{
	int i;

	if (p == NULL) {
		return;
	}
	p->stop = 1;
	pthread_join(p->th, NULL);
	for (i = 0; i < WP_PAIRS; i++) {
		wp_close(&p->pairs[i]);
	}
	close(p->lfd);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

uint64_t
wp_bytes_up(wp_proxy *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->mu);
	n = p->up;
	pthread_mutex_unlock(&p->mu);
	return n;
}

uint64_t
wp_bytes_down(wp_proxy *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->mu);
	n = p->down;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
wp_reset(wp_proxy *p)
{
	pthread_mutex_lock(&p->mu);
	p->up = 0;
	p->down = 0;
	pthread_mutex_unlock(&p->mu);
}

void
wp_damage(wp_proxy *p, bool up, int nth, size_t min_len)
{
	pthread_mutex_lock(&p->mu);
	p->nth[up ? 1 : 0] = nth;
	p->min_len[up ? 1 : 0] = min_len;
	p->seen[up ? 1 : 0] = 0;
	pthread_mutex_unlock(&p->mu);
}

int
wp_damaged(wp_proxy *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->damaged;
	pthread_mutex_unlock(&p->mu);
	return n;
}
