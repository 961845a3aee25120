/*
 * Settings of the market data providers and the quote cache. The parent
 * reads them from benjid.conf(5) and from the environment names of the
 * Java service; one table gives both spellings of each setting, so that a
 * value is checked the same way wherever it comes from.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "benjid.h"

#define MARKETDATA_URL_MAX		1024
#define MARKETDATA_PROVIDERS_MAX	256
#define MARKETDATA_ATTEMPTS_MAX		10
#define MARKETDATA_BUDGET_MAX		1000000
#define QUOTE_CACHE_SIZE_MAX		1000000

/* Below QUOTES_IPC_TIMEOUT_MS with room for the reply's trip. */
#define MARKETDATA_TIMEOUT_MAX_MS	25000
#define MARKETDATA_TIMEOUT_MIN_MS	100

enum md_kind {
	MD_PROVIDERS,
	MD_URL,
	MD_PATH,
	MD_BOOL,
	MD_COUNT,
	MD_DURATION
};

struct md_setting {
	const char	*block;		/* keyword that starts the directive */
	const char	*option;
	const char	*env;
	enum md_kind	 kind;
	size_t		 offset;	/* of the field in benjid_config */
	uint64_t	 min;
	uint64_t	 max;
};

#define MD_FIELD(f)	offsetof(struct benjid_config, f)

static const struct md_setting md_settings[] = {
	{ "marketdata", "providers", "TRADING_MARKETDATA_PROVIDERS",
	    MD_PROVIDERS, MD_FIELD(marketdata_providers), 0, 0 },
	{ "marketdata", "url", "TRADING_MARKETDATA_BASE_URL",
	    MD_URL, MD_FIELD(marketdata_url), 0, 0 },
	{ "marketdata", "ca-file", "TRADING_MARKETDATA_CA_FILE",
	    MD_PATH, MD_FIELD(marketdata_ca_file), 0, 0 },
	{ "marketdata", "allow-http", "TRADING_MARKETDATA_ALLOW_HTTP",
	    MD_BOOL, MD_FIELD(marketdata_allow_http), 0, 1 },
	{ "marketdata", "retry-attempts",
	    "TRADING_MARKETDATA_RETRY_MAX_ATTEMPTS",
	    MD_COUNT, MD_FIELD(marketdata_retry_attempts), 1,
	    MARKETDATA_ATTEMPTS_MAX },
	{ "marketdata", "initial-backoff",
	    "TRADING_MARKETDATA_RETRY_INITIAL_BACKOFF",
	    MD_DURATION, MD_FIELD(marketdata_initial_backoff_ms), 1,
	    MARKETDATA_TIMEOUT_MAX_MS },
	{ "marketdata", "max-backoff", "TRADING_MARKETDATA_RETRY_MAX_BACKOFF",
	    MD_DURATION, MD_FIELD(marketdata_max_backoff_ms), 1,
	    MARKETDATA_TIMEOUT_MAX_MS },
	{ "marketdata", "timeout", "TRADING_MARKETDATA_TIMEOUT",
	    MD_DURATION, MD_FIELD(marketdata_timeout_ms),
	    MARKETDATA_TIMEOUT_MIN_MS, MARKETDATA_TIMEOUT_MAX_MS },
	{ "marketdata", "connect-timeout", "TRADING_MARKETDATA_CONNECT_TIMEOUT",
	    MD_DURATION, MD_FIELD(marketdata_connect_timeout_ms),
	    MARKETDATA_TIMEOUT_MIN_MS, MARKETDATA_TIMEOUT_MAX_MS },
	{ "marketdata", "budget-per-minute",
	    "TRADING_MARKETDATA_BUDGET_PER_MINUTE",
	    MD_COUNT, MD_FIELD(marketdata_budget_minute), 0,
	    MARKETDATA_BUDGET_MAX },
	{ "marketdata", "budget-per-day", "TRADING_MARKETDATA_BUDGET_PER_DAY",
	    MD_COUNT, MD_FIELD(marketdata_budget_day), 0,
	    MARKETDATA_BUDGET_MAX },
	{ "quote-cache", "ttl", "TRADING_CACHE_QUOTES_TTL",
	    MD_DURATION, MD_FIELD(quote_cache_ttl_ms), 0, UINT32_MAX },
	{ "quote-cache", "size", "TRADING_CACHE_QUOTES_MAXIMUM_SIZE",
	    MD_COUNT, MD_FIELD(quote_cache_size), 1, QUOTE_CACHE_SIZE_MAX },
	{ "quote-cache", "max-stale", "TRADING_CACHE_QUOTES_MAX_STALE",
	    MD_DURATION, MD_FIELD(quote_cache_max_stale_ms), 0, UINT32_MAX },
};

static const char *const md_provider_names[] = { "alphavantage", "fake" };

void
marketdata_defaults(struct benjid_config *conf)
{
	conf->marketdata_providers = NULL;
	if ((conf->marketdata_url =
	    strdup("https://www.alphavantage.co/query")) == NULL)
		fatal("%s", __func__);
	if ((conf->marketdata_ca_file =
	    strdup("/etc/ssl/certs/ca-certificates.crt")) == NULL)
		fatal("%s", __func__);
	conf->marketdata_allow_http = 0;
	conf->marketdata_retry_attempts = 3;
	conf->marketdata_initial_backoff_ms = 500;
	conf->marketdata_max_backoff_ms = 4000;
	conf->marketdata_timeout_ms = 10000;
	conf->marketdata_connect_timeout_ms = 3000;
	/* AlphaVantage's free tier: 25 calls a day, 5 a minute. */
	conf->marketdata_budget_minute = 5;
	conf->marketdata_budget_day = 25;
	conf->quote_cache_ttl_ms = 30000;
	conf->quote_cache_size = 1024;
	conf->quote_cache_max_stale_ms = 24 * 3600 * 1000;
}

void
marketdata_free(struct benjid_config *conf)
{
	free(conf->marketdata_providers);
	free(conf->marketdata_url);
	free(conf->marketdata_ca_file);
	conf->marketdata_providers = conf->marketdata_url = NULL;
	conf->marketdata_ca_file = NULL;
}

/* Checks a comma-separated list of known providers, each named once. */
static int
md_check_providers(const char *value)
{
	char	*list, *item, *next;
	size_t	 i, n = 0;
	int	 seen[sizeof(md_provider_names) / sizeof(md_provider_names[0])];

	if (strlen(value) >= MARKETDATA_PROVIDERS_MAX)
		return -1;
	memset(seen, 0, sizeof(seen));
	if ((list = strdup(value)) == NULL)
		fatal("%s", __func__);
	for (next = list; (item = strsep(&next, ",")) != NULL; n++) {
		for (i = 0; i < sizeof(md_provider_names) /
		    sizeof(md_provider_names[0]); i++)
			if (strcmp(item, md_provider_names[i]) == 0)
				break;
		if (i == sizeof(md_provider_names) /
		    sizeof(md_provider_names[0]) || seen[i]++) {
			free(list);
			return -1;
		}
	}
	free(list);
	return n > 0 ? 0 : -1;
}

/* Accepts http:// and https:// URLs of printable ASCII without spaces. */
static int
md_check_url(const char *value)
{
	const char	*p;

	if (strncmp(value, "https://", 8) != 0 &&
	    strncmp(value, "http://", 7) != 0)
		return -1;
	if (strlen(value) >= MARKETDATA_URL_MAX)
		return -1;
	for (p = value; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return -1;
	return 0;
}

static int
md_parse_bool(const char *value, uint64_t *v)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0) {
		*v = 1;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0) {
		*v = 0;
		return 0;
	}
	return -1;
}

static int
md_parse_count(const char *value, uint64_t *v)
{
	char		*end;
	unsigned long long n;

	if (!isdigit((unsigned char)*value))
		return -1;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = n;
	return 0;
}

static void
md_explain(const struct md_setting *s, char *err, size_t errsz)
{
	switch (s->kind) {
	case MD_PROVIDERS:
		snprintf(err, errsz, "expected a comma-separated list of "
		    "alphavantage and fake, each at most once");
		break;
	case MD_URL:
		snprintf(err, errsz, "expected an http:// or https:// URL of "
		    "at most %d bytes", MARKETDATA_URL_MAX - 1);
		break;
	case MD_PATH:
		snprintf(err, errsz, "expected an absolute file path");
		break;
	case MD_BOOL:
		snprintf(err, errsz, "expected yes, no, true or false");
		break;
	case MD_COUNT:
		snprintf(err, errsz, "expected a number from %llu to %llu",
		    (unsigned long long)s->min, (unsigned long long)s->max);
		break;
	case MD_DURATION:
		snprintf(err, errsz, "expected an ISO-8601 duration from "
		    "%llu ms to %llu ms, such as PT30S",
		    (unsigned long long)s->min, (unsigned long long)s->max);
		break;
	}
}

/* Stores one checked value into its field; returns -1 when invalid. */
static int
md_apply(struct benjid_config *conf, const struct md_setting *s,
    const char *value)
{
	char		*field = (char *)conf + s->offset;
	char		*copy;
	uint64_t	 v;

	switch (s->kind) {
	case MD_PROVIDERS:
	case MD_URL:
	case MD_PATH:
		if ((s->kind == MD_PROVIDERS && md_check_providers(value)) ||
		    (s->kind == MD_URL && md_check_url(value)) ||
		    (s->kind == MD_PATH && (value[0] != '/' ||
		    strlen(value) >= PATH_MAX)))
			return -1;
		if ((copy = strdup(value)) == NULL)
			fatal("%s", __func__);
		free(*(char **)(void *)field);
		*(char **)(void *)field = copy;
		return 0;
	case MD_BOOL:
		if (md_parse_bool(value, &v) == -1)
			return -1;
		*(int *)(void *)field = (int)v;
		return 0;
	case MD_COUNT:
	case MD_DURATION:
		if ((s->kind == MD_COUNT ? md_parse_count(value, &v) :
		    parse_duration_ms(value, &v)) == -1)
			return -1;
		if (v < s->min || v > s->max)
			return -1;
		*(uint64_t *)(void *)field = v;
		return 0;
	}
	return -1;
}

/*
 * Sets "block option value" from benjid.conf. Returns -1 with a message in
 * err for an unknown option or an invalid value.
 */
int
marketdata_set(struct benjid_config *conf, const char *block,
    const char *option, const char *value, char *err, size_t errsz)
{
	const struct md_setting	*s;
	char			 why[128];
	size_t			 i;

	for (i = 0; i < sizeof(md_settings) / sizeof(md_settings[0]); i++) {
		s = &md_settings[i];
		if (strcmp(s->block, block) != 0 || strcmp(s->option, option))
			continue;
		if (md_apply(conf, s, value) == 0)
			return 0;
		md_explain(s, why, sizeof(why));
		snprintf(err, errsz, "invalid %s %s \"%s\": %s", block, option,
		    value, why);
		return -1;
	}
	snprintf(err, errsz, "unknown %s option \"%s\"", block, option);
	return -1;
}

/* Checks the settings that depend on each other. */
static int
md_check_all(const struct benjid_config *conf, char *err, size_t errsz)
{
	if (conf->marketdata_max_backoff_ms <
	    conf->marketdata_initial_backoff_ms) {
		snprintf(err, errsz, "marketdata max-backoff is below "
		    "initial-backoff: raise max-backoff "
		    "(TRADING_MARKETDATA_RETRY_MAX_BACKOFF)");
		return -1;
	}
	if (strncmp(conf->marketdata_url, "https://", 8) != 0 &&
	    !(conf->marketdata_allow_http &&
	    strncmp(conf->marketdata_url, "http://", 7) == 0)) {
		snprintf(err, errsz, "marketdata url \"%s\" is not https: use "
		    "an https:// URL, or set allow-http "
		    "(TRADING_MARKETDATA_ALLOW_HTTP) for a test server",
		    conf->marketdata_url);
		return -1;
	}
	if (conf->marketdata_connect_timeout_ms >
	    conf->marketdata_timeout_ms) {
		snprintf(err, errsz, "marketdata connect-timeout exceeds "
		    "timeout: lower TRADING_MARKETDATA_CONNECT_TIMEOUT");
		return -1;
	}
	return 0;
}

static const char *
md_getenv(const char *name)
{
	const char	*value = getenv(name);

	return value != NULL && *value != '\0' ? value : NULL;
}

/*
 * Applies the environment over the file. Every variable is checked first
 * on a scratch copy, so that conf stays unchanged when one is invalid.
 * The provider key is never part of a message.
 */
int
marketdata_env(struct benjid_config *conf, char *err, size_t errsz)
{
	struct benjid_config	 scratch;
	const char		*value;
	char			 why[128];
	size_t			 i;
	int			 rc = 0;

	memset(&scratch, 0, sizeof(scratch));
	marketdata_defaults(&scratch);
	for (i = 0; i < sizeof(md_settings) / sizeof(md_settings[0]); i++) {
		if ((value = md_getenv(md_settings[i].env)) == NULL)
			continue;
		if (md_apply(&scratch, &md_settings[i], value) == -1) {
			md_explain(&md_settings[i], why, sizeof(why));
			snprintf(err, errsz, "invalid %s \"%s\": %s",
			    md_settings[i].env, value, why);
			rc = -1;
			break;
		}
	}
	marketdata_free(&scratch);
	if (rc == -1)
		return -1;

	for (i = 0; i < sizeof(md_settings) / sizeof(md_settings[0]); i++)
		if ((value = md_getenv(md_settings[i].env)) != NULL)
			md_apply(conf, &md_settings[i], value);
	return md_check_all(conf, err, errsz);
}

/* Gives dst its own copies of the strings that a struct copy shares. */
void
marketdata_copy(struct benjid_config *dst, const struct benjid_config *src)
{
	dst->marketdata_providers = config_strdup(src->marketdata_providers);
	dst->marketdata_url = config_strdup(src->marketdata_url);
	dst->marketdata_ca_file = config_strdup(src->marketdata_ca_file);
}

/* Replaces the market data settings of dst by those of src, on reload. */
void
marketdata_reload(struct benjid_config *dst, const struct benjid_config *src)
{
	marketdata_free(dst);
	dst->marketdata_allow_http = src->marketdata_allow_http;
	dst->marketdata_retry_attempts = src->marketdata_retry_attempts;
	dst->marketdata_initial_backoff_ms = src->marketdata_initial_backoff_ms;
	dst->marketdata_max_backoff_ms = src->marketdata_max_backoff_ms;
	dst->marketdata_timeout_ms = src->marketdata_timeout_ms;
	dst->marketdata_connect_timeout_ms = src->marketdata_connect_timeout_ms;
	dst->marketdata_budget_minute = src->marketdata_budget_minute;
	dst->marketdata_budget_day = src->marketdata_budget_day;
	dst->quote_cache_ttl_ms = src->quote_cache_ttl_ms;
	dst->quote_cache_size = src->quote_cache_size;
	dst->quote_cache_max_stale_ms = src->quote_cache_max_stale_ms;
	marketdata_copy(dst, src);
}
