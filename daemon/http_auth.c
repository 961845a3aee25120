/*
 * Access control of the http child: which requests need credentials, and
 * the check of those credentials by the secrets child.
 */

#include "benjid.h"

/* TODO: check API keys and actuator credentials with the secrets child. */
void
http_auth_begin(struct http_req *hr)
{
	http_route_run(hr);
}
