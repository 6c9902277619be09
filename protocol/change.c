/*
 * change.c: change records and cell maps (PROTOCOL.md section 5).
 */
#include "protocol/change.h"

#include <string.h>

#include "ocop_err.h"

int
proto_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_NAME_MAX) {
		return 0;
	}
	for (i = 0; i < len; i++) {
		char ch = s[i];
		int ok = (ch >= 'a' && ch <= 'z') || ch == '_' || (i > 0 && ch >= '0' && ch <= '9');
		if (!ok) {
			return 0;
		}
	}
	return 1;
}

int
proto_uuid_valid(const char *s, size_t len)
{
	size_t i;

	if (len != PROTO_UUID_LEN) {
		return 0;
	}
	for (i = 0; i < len; i++) {
		char ch = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (ch != '-') {
				return 0;
			}
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

void
proto_cells_begin(proto_wr *w, uint32_t n)
{
	proto_wr_map(w, n);
}

void
proto_cell_put(proto_wr *w, const char *col, const proto_value *v, uint64_t base_hlc)
{
	proto_wr_cstr(w, col);
	proto_wr_array(w, 2);
	switch (v->type) {
	case PROTO_V_INT:
		proto_wr_int(w, v->i);
		break;
	case PROTO_V_REAL:
		proto_wr_double(w, v->d);
		break;
	case PROTO_V_TEXT:
		proto_wr_str(w, (const char *)v->p, v->len);
		break;
	case PROTO_V_BLOB:
		proto_wr_bin(w, v->p, v->len);
		break;
	default:
		proto_wr_nil(w);
		break;
	}
	proto_wr_uint(w, base_hlc);
}

int
proto_cells_open(proto_cells_it *it, const uint8_t *p, size_t len, uint32_t *count)
{
	proto_rd_init(&it->rd, p, len);
	if (proto_rd_map(&it->rd, &it->left) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (count != NULL) {
		*count = it->left;
	}
	return OCOP_OK;
}

static int
cell_value_get(proto_rd *r, proto_value *v)
{
	proto_type t;
	const char *s;

	memset(v, 0, sizeof(*v));
	if (proto_rd_peek(r, &t) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	switch (t) {
	case PROTO_T_NIL:
		v->type = PROTO_V_NULL;
		return proto_rd_nil(r);
	case PROTO_T_INT:
		v->type = PROTO_V_INT;
		return proto_rd_int(r, &v->i);
	case PROTO_T_FLOAT:
		v->type = PROTO_V_REAL;
		return proto_rd_double(r, &v->d);
	case PROTO_T_STR:
		v->type = PROTO_V_TEXT;
		if (proto_rd_str(r, &s, &v->len) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		v->p = (const uint8_t *)s;
		return OCOP_OK;
	case PROTO_T_BIN:
		v->type = PROTO_V_BLOB;
		return proto_rd_bin(r, &v->p, &v->len);
	default:
		return OCOP_EPROTO;
	}
}

int
proto_cells_next(proto_cells_it *it, proto_cell *c)
{
	const char *name;
	size_t len;
	uint32_t n;

	if (it->left == 0) {
		return proto_rd_done(&it->rd) == OCOP_OK ? OCOP_ENOENT : OCOP_EPROTO;
	}
	if (proto_rd_str(&it->rd, &name, &len) != OCOP_OK || !proto_name_valid(name, len) ||
	    proto_rd_array(&it->rd, &n) != OCOP_OK || n != 2 ||
	    cell_value_get(&it->rd, &c->v) != OCOP_OK ||
	    proto_rd_uint(&it->rd, &c->base_hlc) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	memcpy(c->col, name, len);
	c->col[len] = 0;
	it->left--;
	return OCOP_OK;
}

int
proto_cells_check(const uint8_t *p, size_t len)
{
	proto_cells_it it;
	proto_cell c;
	int rv;

	if (proto_cells_open(&it, p, len, NULL) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	while ((rv = proto_cells_next(&it, &c)) == OCOP_OK) {
	}
	return rv == OCOP_ENOENT ? OCOP_OK : OCOP_EPROTO;
}

void
proto_change_put(proto_wr *w, const proto_change *c)
{
	proto_wr_array(w, 7);
	proto_wr_cstr(w, c->site);
	proto_wr_uint(w, c->seq);
	proto_wr_cstr(w, c->tbl);
	proto_wr_cstr(w, c->row);
	proto_wr_uint(w, c->hlc);
	proto_wr_cstr(w, c->user);
	proto_wr_raw(w, c->cells, c->cells_len);
}

/* Read a string of at most max bytes into out (NUL-terminated). */
static int
get_text(proto_rd *r, char *out, size_t max)
{
	const char *s;
	size_t len;

	if (proto_rd_str(r, &s, &len) != OCOP_OK || len > max || memchr(s, 0, len) != NULL) {
		return OCOP_EPROTO;
	}
	memcpy(out, s, len);
	out[len] = 0;
	return OCOP_OK;
}

int
proto_change_get(proto_rd *r, proto_change *c)
{
	uint32_t n;
	size_t start;
	size_t save = r->pos;

	if (proto_rd_array(r, &n) != OCOP_OK || n != 7 ||
	    get_text(r, c->site, PROTO_UUID_LEN) != OCOP_OK || !proto_uuid_valid(c->site, strlen(c->site)) ||
	    proto_rd_uint(r, &c->seq) != OCOP_OK || c->seq == 0 ||
	    get_text(r, c->tbl, PROTO_NAME_MAX) != OCOP_OK ||
	    !proto_name_valid(c->tbl, strlen(c->tbl)) ||
	    get_text(r, c->row, PROTO_UUID_LEN) != OCOP_OK || !proto_uuid_valid(c->row, strlen(c->row)) ||
	    proto_rd_uint(r, &c->hlc) != OCOP_OK ||
	    get_text(r, c->user, PROTO_USER_MAX) != OCOP_OK) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	start = r->pos;
	if (proto_rd_skip(r) != OCOP_OK ||
	    proto_cells_check(r->p + start, r->pos - start) != OCOP_OK) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	c->cells = r->p + start;
	c->cells_len = r->pos - start;
	return OCOP_OK;
}
