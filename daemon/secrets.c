/*
 * The secrets child: holds the API keys and actuator credentials in
 * sodium_malloc memory and answers only whether a presented credential is
 * valid. It has no network and no files; its filter is the smallest.
 */

#include <stdlib.h>

#include <sodium.h>

#include "benjid.h"

static void
secrets_init(struct privsep *ps)
{
	/* sodium_init seeds its generator; later it only calls getrandom. */
	if (sodium_init() < 0)
		fatalx("secrets: sodium_init failed");
}

static void
secrets_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	exit(0);
}

static const struct privsep_handler secrets_dispatch_http[] = {
	{ 0,	NULL }
};

const struct privsep_proc secrets_proc = {
	.name =		"secrets",
	.id =		PROC_SECRETS,
	.init =		secrets_init,
	.shutdown =	secrets_shutdown,
	.handlers = {
		[PROC_HTTP] =	secrets_dispatch_http,
	},
};

/* Composes the secrets child's part of the configuration; parent side. */
void
secrets_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
}
