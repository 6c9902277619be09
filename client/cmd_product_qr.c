/*
 * cmd_product_qr.c: `ocop product qr ID --out FILE.png|FILE.svg`: the QR code
 * a province prints on a product's label (traceability). It encodes the link
 * to the product's public page, built from a template the province publishes
 * (--url or $OCOP_PUBLIC_URL, with {code} and {id} filled in), or without a
 * template the product code alone. libqrencode builds the symbol (error
 * correction M, 8-bit mode so Vietnamese text survives); libpng writes PNG;
 * SVG is written here as text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

#define QR_QUIET 4      /* modules of white border the standard asks for */
#define QR_PNG_SCALE 8  /* pixels per module in a PNG (about 2.5 cm at 300 dpi for a version 4 code) */
#define QR_TEXT_MAX 1024 /* longest link encoded */

static void
qr_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop product qr ID --out FILE.png|FILE.svg [--url TEMPLATE] [--json]\n"
	    "\n"
	    "Write the QR code for product ID's label. It encodes the link to the\n"
	    "product's public page: TEMPLATE (or $OCOP_PUBLIC_URL), an http(s) address\n"
	    "the province publishes in which {code} becomes the product code and {id}\n"
	    "the product's id, e.g. https://ocop.example.gov.vn/san-pham/{code}.\n"
	    "Without a template the code carries the product code alone. The format\n"
	    "follows the file name: .png (for printing) or .svg (scales to any size).\n"
	    "The product must have a product code (ocop product set ID --code CODE).\n");
}

/* Append s to out (cap bytes), percent-encoding what is not unreserved in a URL. */
static int
qr_escape(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~';
		if (*n + (plain ? 1 : 3) >= cap) {
			return OCOP_ERANGE;
		}
		if (plain) {
			out[(*n)++] = (char)ch;
		} else {
			out[(*n)++] = '%';
			out[(*n)++] = hex[ch >> 4];
			out[(*n)++] = hex[ch & 15];
		}
	}
	out[*n] = 0;
	return OCOP_OK;
}

/*
 * The text to encode: the template with {code} and {id} filled in, or the
 * code alone. Returns OCOP_OK, OCOP_EINPUT (bad template, why in err) or
 * OCOP_ERANGE (too long).
 */
static int
qr_text(const char *tmpl, const char *code, const char *id, char *out, size_t cap, char *err, size_t errlen)
{
	size_t n = 0;
	const char *p;
	bool placed = false;

	if (tmpl == NULL || tmpl[0] == 0) {
		if (strlen(code) >= cap) {
			return OCOP_ERANGE;
		}
		snprintf(out, cap, "%s", code);
		return OCOP_OK;
	}
	if (strncmp(tmpl, "https://", 8) != 0 && strncmp(tmpl, "http://", 7) != 0) {
		snprintf(err, errlen, "the link template must start with https:// or http://, not '%s'", tmpl);
		return OCOP_EINPUT;
	}
	for (p = tmpl; *p;) {
		if (strncmp(p, "{code}", 6) == 0 || strncmp(p, "{id}", 4) == 0) {
			bool is_code = p[1] == 'c';
			if (qr_escape(out, cap, &n, is_code ? code : id) != OCOP_OK) {
				return OCOP_ERANGE;
			}
			p += is_code ? 6 : 4;
			placed = true;
			continue;
		}
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>') {
			snprintf(err, errlen, "the link template has a character a link cannot hold: '%s'", tmpl);
			return OCOP_EINPUT;
		}
		if (n + 1 >= cap) {
			return OCOP_ERANGE;
		}
		out[n++] = *p++;
	}
	out[n] = 0;
	if (!placed) {
		snprintf(err, errlen, "the link template names no product: put {code} or {id} in '%s'", tmpl);
		return OCOP_EINPUT;
	}
	return OCOP_OK;
}

/* ===== Writers ===== */

static bool
qr_dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width) {
		return false;
	}
	return (q->data[y * q->width + x] & 1) != 0;
}

/* SVG: one path of unit squares, crisp at any size. Returns 0 or an errno. */
static int
qr_write_svg(const QRcode *q, const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int size = q->width + 2 * QR_QUIET;
	int x;
	int y;
	int ok;

	if (f == NULL) {
		return errno;
	}
	fprintf(f,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%dmm\" height=\"%dmm\""
	    " shape-rendering=\"crispEdges\">\n<title>",
	    size, size, size, size);
	for (const char *p = text; *p; p++) {
		if (*p == '&') {
			fputs("&amp;", f);
		} else if (*p == '<') {
			fputs("&lt;", f);
		} else {
			fputc(*p, f);
		}
	}
	fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"", size, size);
	for (y = 0; y < q->width; y++) {
		for (x = 0; x < q->width; x++) {
			if (qr_dark(q, x, y)) {
				fprintf(f, "M%d %dh1v1h-1z", x + QR_QUIET, y + QR_QUIET);
			}
		}
	}
	fprintf(f, "\"/>\n</svg>\n");
	ok = !ferror(f);
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : EIO;
}

/* PNG: 1-bit greyscale, QR_PNG_SCALE pixels per module. Returns 0 or an errno. */
static int
qr_write_png(const QRcode *q, const char *path)
{
	FILE *f = fopen(path, "wb");
	png_structp png = NULL;
	png_infop info = NULL;
	png_bytep row = NULL;
	int size = (q->width + 2 * QR_QUIET) * QR_PNG_SCALE;
	int rv = EIO;
	int x;
	int y;

	if (f == NULL) {
		return errno;
	}
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? png_create_info_struct(png) : NULL;
	row = calloc((size_t)size / 8 + 1, 1);
	if (png == NULL || info == NULL || row == NULL) {
		rv = ENOMEM;
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		rv = EIO;
		goto out;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)size, (png_uint_32)size, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < size; y++) {
		int my = y / QR_PNG_SCALE - QR_QUIET;
		memset(row, 0, (size_t)size / 8 + 1);
		for (x = 0; x < size; x++) {
			/* 1 is white in a greyscale PNG. */
			if (!qr_dark(q, x / QR_PNG_SCALE - QR_QUIET, my)) {
				row[x / 8] = (png_byte)(row[x / 8] | (0x80 >> (x % 8)));
			}
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	rv = 0;
out:
	png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
	free(row);
	if (fclose(f) != 0 && rv == 0) {
		rv = errno;
	}
	return rv;
}

/* ===== The command ===== */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s);
	size_t m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

int
cli_product_qr(int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
	    {"url", required_argument, NULL, 'u'}, {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *out = NULL;
	const char *tmpl = getenv("OCOP_PUBLIC_URL");
	const char *id;
	const char *code;
	char text[QR_TEXT_MAX];
	char err[512];
	cli_ctx c;
	ocp_reg *reg = NULL;
	json_t *p = NULL;
	QRcode *q = NULL;
	bool json = false;
	int opt;
	int rv;
	int e;
	int code_rc = CLI_FAIL;

	memset(&c, 0, sizeof(c));
	c.cmd = "product qr";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'u': tmpl = optarg; break;
		case 'j': json = true; break;
		case 'h': qr_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind != argc - 1 || out == NULL) {
		cli_err(&c, "needs the product ID and --out FILE.png|FILE.svg");
		return CLI_USAGE;
	}
	id = argv[optind];
	if (!ends_with(out, ".png") && !ends_with(out, ".svg")) {
		cli_err(&c, "--out must name a .png or .svg file, not '%s'", out);
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "product qr", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_reg_open(&reg, c.db, c.data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto done;
	}
	if ((rv = ocp_reg_get(reg, "product", id, &p)) != OCOP_OK) {
		cli_err(&c, "%s", rv == OCOP_ENOENT ? "no such product" : sto_errmsg(c.db));
		code_rc = cli_exit_input(rv);
		goto done;
	}
	code = json_string_value(json_object_get(p, "product_code"));
	if (code == NULL || code[0] == 0) {
		cli_err(&c, "product %s has no product code yet: ocop product set %s --code CODE", id, id);
		code_rc = CLI_USAGE;
		goto done;
	}
	err[0] = 0;
	if ((rv = qr_text(tmpl, code, id, text, sizeof(text), err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", rv == OCOP_ERANGE ? "the link is too long for a label's QR code" : err);
		code_rc = CLI_USAGE;
		goto done;
	}
	q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (q == NULL) {
		cli_err(&c, "cannot encode '%s': %s", text, strerror(errno));
		goto done;
	}
	e = ends_with(out, ".png") ? qr_write_png(q, out) : qr_write_svg(q, out, text);
	if (e != 0) {
		cli_err(&c, "cannot write %s: %s", out, strerror(e));
		remove(out);
		goto done;
	}
	if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:s, s:i}", "product_id", id, "text", text, "file", out, "modules",
		    q->width));
	} else {
		printf("wrote %s: %s (%d×%d modules)\n", out, text, q->width, q->width);
	}
	code_rc = CLI_OK;
done:
	QRcode_free(q);
	json_decref(p);
	ocp_reg_close(reg);
	cli_close(&c);
	return code_rc;
}
