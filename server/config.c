/*
 * config.c: parsing ocopd's configuration file.
 */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "ocop_err.h"
#include "protocol/envelope.h"

void
srv_config_defaults(srv_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "tcp://127.0.0.1:7450");
	snprintf(c->role, sizeof(c->role), "province");
	snprintf(c->db, sizeof(c->db), "province.db");
	c->skew_ms = 5u * 60u * 1000u;
	c->spread_threshold = 10;
	c->max_message = PROTO_MAX_MESSAGE;
	c->workers = 16;
	c->upstream_interval_ms = 5000;
	c->upstream_timeout_ms = 5000;
	c->max_connections = 4096;
	c->send_timeout_ms = 10000;
	c->readers = 4;
	c->max_batch = 2048u * 1024u; /* SRV_DEFAULT_BATCH */
	c->batch_memory = 16u * 1024u * 1024u;
	c->silent_days = 7;
	c->log_level = COM_LOG_INFO;
	srv_files_defaults(&c->files);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s)) {
		s++;
	}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1])) {
		*--e = 0;
	}
	return s;
}

static int
parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != 0 || v[0] == '-' || n < min || n > max) {
		return OCOP_EINPUT;
	}
	*out = n;
	return OCOP_OK;
}

/* The evidence-file keys. Returns 1 when k is one of them (*bad says whether v is acceptable), 0 when not. */
static int
config_files_key(srv_config *c, const char *k, const char *v, int *bad)
{
	uint64_t n = 0;

	if (strcmp(k, "files_dir") == 0) {
		*bad = snprintf(c->files_dir, sizeof(c->files_dir), "%s", v) >= (int)sizeof(c->files_dir);
	} else if (strcmp(k, "max_file_bytes") == 0) {
		*bad = parse_u64(v, 1, UINT64_C(1) << 40, &n) != OCOP_OK;
		c->files.max_file_bytes = n;
	} else if (strcmp(k, "file_chunk_bytes") == 0) {
		*bad = parse_u64(v, 4096, PROTO_CHUNK_MAX, &n) != OCOP_OK;
		c->files.chunk_bytes = (uint32_t)n;
	} else if (strcmp(k, "file_partial_quota") == 0) {
		*bad = parse_u64(v, 0, UINT64_C(1) << 44, &n) != OCOP_OK;
		c->files.partial_quota = n;
	} else if (strcmp(k, "file_min_free") == 0) {
		*bad = parse_u64(v, 0, UINT64_C(1) << 44, &n) != OCOP_OK;
		c->files.min_free_bytes = n;
	} else if (strcmp(k, "file_retention_days") == 0) {
		*bad = parse_u64(v, 0, 36500, &n) != OCOP_OK;
		c->files.retention_days = (uint32_t)n;
	} else if (strcmp(k, "file_partial_days") == 0) {
		*bad = parse_u64(v, 1, 36500, &n) != OCOP_OK;
		c->files.partial_days = (uint32_t)n;
	} else {
		return 0;
	}
	return 1;
}

/*
 * The operations keys (HTTP view, logging). Returns 1 when k is one of them
 * (*bad says whether v is acceptable), 0 when it is not.
 */
static int
config_ops_key(srv_config *c, const char *k, const char *v, int *bad)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	uint64_t n = 0;
	int i;

	if (strcmp(k, "http_listen") == 0) {
		*bad = snprintf(c->http_listen, sizeof(c->http_listen), "%s", v) >= (int)sizeof(c->http_listen) ||
		    (*v && strncmp(v, "http://", 7) != 0);
	} else if (strcmp(k, "http_token_file") == 0) {
		*bad = snprintf(c->http_token_file, sizeof(c->http_token_file), "%s", v) >=
		    (int)sizeof(c->http_token_file);
	} else if (strcmp(k, "silent_days") == 0) {
		*bad = parse_u64(v, 1, 3650, &n) != OCOP_OK;
		c->silent_days = (int)n;
	} else if (strcmp(k, "log_level") == 0) {
		*bad = 1;
		for (i = 0; i < 4; i++) {
			if (strcmp(v, levels[i]) == 0) {
				c->log_level = COM_LOG_DEBUG + i;
				*bad = 0;
			}
		}
	} else {
		return config_files_key(c, k, v, bad);
	}
	return 1;
}

/* A key of before: a secret in a config file, now refused with the way to fix it. */
static const char config_retired[] = "upstream_credential";

int
srv_config_load(srv_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int lineno = 0;
	uint64_t n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return OCOP_ENOENT;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *hash = strchr(line, '#');
		char *eq;
		char *k;
		char *v;
		int bad = 0;

		lineno++;
		if (hash != NULL) {
			*hash = 0;
		}
		k = trim(line);
		if (*k == 0) {
			continue;
		}
		eq = strchr(k, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			fclose(f);
			return OCOP_EINPUT;
		}
		*eq = 0;
		k = trim(k);
		v = trim(eq + 1);
		if (strcmp(k, "listen") == 0) {
			bad = snprintf(c->listen, sizeof(c->listen), "%s", v) >= (int)sizeof(c->listen) || !*v;
		} else if (strcmp(k, "role") == 0) {
			bad = strcmp(v, "province") != 0 && strcmp(v, "national") != 0;
			snprintf(c->role, sizeof(c->role), "%s", v);
		} else if (strcmp(k, "db") == 0) {
			bad = snprintf(c->db, sizeof(c->db), "%s", v) >= (int)sizeof(c->db) || !*v;
		} else if (strcmp(k, "data_dir") == 0) {
			bad = snprintf(c->data_dir, sizeof(c->data_dir), "%s", v) >= (int)sizeof(c->data_dir);
		} else if (strcmp(k, "skew_ms") == 0) {
			bad = parse_u64(v, 1000, UINT64_C(86400000) * 365, &n) != OCOP_OK;
			c->skew_ms = n;
		} else if (strcmp(k, "spread_threshold") == 0) {
			bad = parse_u64(v, 1, 100, &n) != OCOP_OK;
			c->spread_threshold = (int)n;
		} else if (strcmp(k, "max_message") == 0) {
			bad = parse_u64(v, 4096, PROTO_MAX_MESSAGE * 4ull, &n) != OCOP_OK;
			c->max_message = (size_t)n;
		} else if (strcmp(k, "workers") == 0) {
			bad = parse_u64(v, 1, 256, &n) != OCOP_OK;
			c->workers = (int)n;
		} else if (strcmp(k, "upstream") == 0) {
			bad = snprintf(c->upstream, sizeof(c->upstream), "%s", v) >= (int)sizeof(c->upstream);
		} else if (strcmp(k, config_retired) == 0) {
			snprintf(err, errlen, "%s:%d: a secret does not belong in a config file: put the province's "
					      "enrolment file from the national server in upstream_enrolment", path, lineno);
			fclose(f);
			return OCOP_EINPUT;
		} else if (strcmp(k, "upstream_interval_ms") == 0) {
			bad = parse_u64(v, 10, UINT64_C(86400000), &n) != OCOP_OK;
			c->upstream_interval_ms = n;
		} else if (strcmp(k, "upstream_timeout_ms") == 0) {
			bad = parse_u64(v, 100, UINT64_C(600000), &n) != OCOP_OK;
			c->upstream_timeout_ms = n;
		} else if (strcmp(k, "ca_dir") == 0) {
			bad = snprintf(c->ca_dir, sizeof(c->ca_dir), "%s", v) >= (int)sizeof(c->ca_dir);
		} else if (strcmp(k, "tls_ca") == 0) {
			bad = snprintf(c->tls_ca, sizeof(c->tls_ca), "%s", v) >= (int)sizeof(c->tls_ca);
		} else if (strcmp(k, "tls_cert") == 0) {
			bad = snprintf(c->tls_cert, sizeof(c->tls_cert), "%s", v) >= (int)sizeof(c->tls_cert);
		} else if (strcmp(k, "tls_key") == 0) {
			bad = snprintf(c->tls_key, sizeof(c->tls_key), "%s", v) >= (int)sizeof(c->tls_key);
		} else if (strcmp(k, "allow_plain") == 0) {
			bad = strcmp(v, "yes") != 0 && strcmp(v, "no") != 0;
			c->allow_plain = strcmp(v, "yes") == 0;
		} else if (strcmp(k, "upstream_enrolment") == 0) {
			bad = snprintf(c->upstream_enrolment, sizeof(c->upstream_enrolment), "%s", v) >=
			    (int)sizeof(c->upstream_enrolment);
		} else if (strcmp(k, "max_connections") == 0) {
			bad = parse_u64(v, 8, 65536, &n) != OCOP_OK;
			c->max_connections = (int)n;
		} else if (strcmp(k, "readers") == 0) {
			bad = parse_u64(v, 1, 64, &n) != OCOP_OK;
			c->readers = (int)n;
		} else if (strcmp(k, "max_batch") == 0) {
			bad = parse_u64(v, 16384, 8u * 1024u * 1024u, &n) != OCOP_OK;
			c->max_batch = (size_t)n;
		} else if (strcmp(k, "batch_memory") == 0) {
			bad = parse_u64(v, 0, 4096ull * 1024u * 1024u, &n) != OCOP_OK;
			c->batch_memory = (size_t)n;
		} else if (strcmp(k, "send_timeout_ms") == 0) {
			bad = parse_u64(v, 100, 600000, &n) != OCOP_OK;
			c->send_timeout_ms = (int)n;
		} else if (!config_ops_key(c, k, v, &bad)) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'", path, lineno, k);
			fclose(f);
			return OCOP_EINPUT;
		}
		if (bad) {
			snprintf(err, errlen, "%s:%d: bad value for '%s': '%s'", path, lineno, k, v);
			fclose(f);
			return OCOP_EINPUT;
		}
	}
	fclose(f);
	return OCOP_OK;
}
