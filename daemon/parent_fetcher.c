/*
 * The parent's side of the fetcher: its configuration, the CA bundle and
 * the provider's addresses, none of which the chrooted child can read.
 * The parent links this file, the fetcher child does not. libcurl's URL
 * parser finds the provider host, so the parent still maps libcurl.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "benjid.h"
#include "fetcher.h"

#define FETCHER_RESOLVE_INTERVAL	300
static struct event	*resolve_ev;
static char		 resolve_host[256];
static unsigned int	 resolve_port;

/* Reads the CA bundle; returns its length, 0 when unreadable. */
static size_t
fetcher_read_ca(const char *path, uint8_t **out)
{
	struct stat	 st;
	uint8_t		*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("CA bundle %s", path);
		return 0;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > FETCHER_CA_MAX) {
		log_warnx("CA bundle %s: not a regular file of at most %d "
		    "bytes", path, FETCHER_CA_MAX);
		close(fd);
		return 0;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		fatal("%s", __func__);
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	*out = buf;
	return off;
}

/* Stores the host and port of the provider URL for the lookups. */
static void
fetcher_url_host(const char *url)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL;

	resolve_host[0] = '\0';
	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK) {
		snprintf(resolve_host, sizeof(resolve_host), "%s", host);
		resolve_port = (unsigned int)strtoul(port, NULL, 10);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/*
 * Resolves the provider host and sends its addresses to the fetcher. An
 * address literal needs no lookup. Without AI_ADDRCONFIG, as the child's
 * filter expects of every getaddrinfo() caller.
 * NOTE: getaddrinfo() blocks the parent's loop for as long as the system
 * resolver takes, at most its configured timeouts.
 */
static void
fetcher_resolve_send(struct ipc_conn *c)
{
	struct addrinfo		 hints, *res, *ai;
	struct in6_addr		 a6;
	struct ipc_wbuf		 wb;
	char			 addrs[FETCHER_ADDRS_MAX][INET6_ADDRSTRLEN];
	size_t			 n = 0, i;
	int			 error;

	if (resolve_host[0] == '\0' || resolve_host[0] == '[' ||
	    inet_pton(AF_INET, resolve_host, &a6) == 1)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(resolve_host, NULL, &hints, &res)) != 0) {
		log_warnx("cannot resolve market data host %s: %s",
		    resolve_host, gai_strerror(error));
		return;
	}
	for (ai = res; ai != NULL && n < FETCHER_ADDRS_MAX; ai = ai->ai_next) {
		const void	*p = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if (inet_ntop(ai->ai_family, p, addrs[n], sizeof(addrs[n])))
			n++;
	}
	freeaddrinfo(res);

	ipc_wbuf_init(&wb, 3);
	ipc_put_str(&wb, resolve_host);
	ipc_put_u64(&wb, resolve_port);
	ipc_put_array(&wb, (uint32_t)n);
	for (i = 0; i < n; i++)
		ipc_put_str(&wb, addrs[i]);
	ipc_compose(c, IMSG_CTL_FETCHER_RESOLVED, 0, -1, &wb);
}

static void
fetcher_resolve_cb(evutil_socket_t fd, short events, void *arg)
{
	const struct benjid_child	*child = parent_child(PROC_FETCHER);

	if (child->conn != NULL)
		fetcher_resolve_send(child->conn);
}

/*
 * Composes the fetcher child's part of the configuration.
 * IMSG_CTL_CONFIG_FETCHER: [str providers, str url, str api_key,
 * bin ca_bundle, b allow_http, u retry_attempts, u initial_backoff_ms,
 * u max_backoff_ms, u timeout_ms, u connect_timeout_ms, u budget_minute,
 * u budget_day, u ttl_ms, u cache_size, u max_stale_ms].
 */
void
fetcher_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
	struct timeval	 tv = { FETCHER_RESOLVE_INTERVAL, 0 };
	struct ipc_wbuf	 wb;
	const char	*providers = conf->marketdata_providers, *key;
	uint8_t		*ca;
	size_t		 calen, keylen;

	/* The fake provider is the default outside production. */
	if (providers == NULL)
		providers = conf->profile == PROFILE_PROD ? "alphavantage" :
		    "fake";
	calen = fetcher_read_ca(conf->marketdata_ca_file, &ca);

	ipc_wbuf_init(&wb, 15);
	ipc_put_str(&wb, providers);
	ipc_put_str(&wb, conf->marketdata_url);
	/* The key lives in the parent's guarded memory, not in conf. */
	key = secrets_env_open(SECRETS_ENV_PROVIDER_KEY, &keylen);
	ipc_put_strn(&wb, key != NULL ? key : "", key != NULL ? keylen : 0);
	secrets_env_close();
	ipc_put_bin(&wb, ca, calen);
	ipc_put_bool(&wb, conf->marketdata_allow_http);
	ipc_put_u64(&wb, conf->marketdata_retry_attempts);
	ipc_put_u64(&wb, conf->marketdata_initial_backoff_ms);
	ipc_put_u64(&wb, conf->marketdata_max_backoff_ms);
	ipc_put_u64(&wb, conf->marketdata_timeout_ms);
	ipc_put_u64(&wb, conf->marketdata_connect_timeout_ms);
	ipc_put_u64(&wb, conf->marketdata_budget_minute);
	ipc_put_u64(&wb, conf->marketdata_budget_day);
	ipc_put_u64(&wb, conf->quote_cache_ttl_ms);
	ipc_put_u64(&wb, conf->quote_cache_size);
	ipc_put_u64(&wb, conf->quote_cache_max_stale_ms);
	ipc_compose(c, IMSG_CTL_CONFIG_FETCHER, 0, -1, &wb);
	free(ca);

	/* Only a configured AlphaVantage provider is worth a DNS query. */
	if (strstr(providers, "alphavantage") != NULL)
		fetcher_url_host(conf->marketdata_url);
	else
		resolve_host[0] = '\0';
	fetcher_resolve_send(c);
	if (resolve_ev == NULL) {
		resolve_ev = event_new(c->base, -1, EV_PERSIST,
		    fetcher_resolve_cb, NULL);
		if (resolve_ev == NULL || event_add(resolve_ev, &tv) == -1)
			log_warnx("market data host lookups will not repeat");
	}
}
