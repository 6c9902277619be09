/*
 * assets.h: the dashboard's files, compiled into the program from
 * server/www/ by cmake/Embed.cmake, so the page needs no file on disk and
 * nothing from the network.
 */
#ifndef OCOP_SERVER_ASSETS_H
#define OCOP_SERVER_ASSETS_H

#include <stddef.h>

extern const unsigned char srv_asset_dashboard_html[]; /* server/www/dashboard.html */
extern const size_t srv_asset_dashboard_html_len;      /* its length in bytes */

#endif /* OCOP_SERVER_ASSETS_H */
