/*
 * The portfolio endpoints of the http child.
 */

#include <event2/http.h>

#include "benjid.h"

const struct http_route http_portfolio_routes[] = {
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
