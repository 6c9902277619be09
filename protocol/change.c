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
proto_value_put(proto_wr *w, const proto_value *v)
{
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
}

void
proto_cell_put(proto_wr *w, const char *col, const proto_value *v, uint64_t base_hlc)
{
	proto_wr_cstr(w, col);
	proto_wr_array(w, 2);
	proto_value_put(w, v);
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

int
proto_value_get(proto_rd *r, proto_value *v)
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
	    proto_value_get(&it->rd, &c->v) != OCOP_OK ||
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
