/*
 * The fetcher child: market data from the providers over libcurl, the quote
 * cache and the provider budget. It may reach the network but holds no
 * secret other than the provider key, and never touches the database.
 */

#include <stdlib.h>

#include <curl/curl.h>

#include "benjid.h"

static void
fetcher_init(struct privsep *ps)
{
	/* libcurl sets up its TLS backend once, before the sandbox closes. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("fetcher: curl_global_init failed");
}

static void
fetcher_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	/* No provider call outlives the process: nothing to wait for yet. */
	exit(0);
}

static const struct privsep_handler fetcher_dispatch_http[] = {
	{ 0,	NULL }
};

const struct privsep_proc fetcher_proc = {
	.name =		"fetcher",
	.id =		PROC_FETCHER,
	.init =		fetcher_init,
	.shutdown =	fetcher_shutdown,
	.handlers = {
		[PROC_HTTP] =	fetcher_dispatch_http,
	},
};

/* Composes the fetcher child's part of the configuration; parent side. */
void
fetcher_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
}
