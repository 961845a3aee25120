/*
 * The database settings: defaults, the "database" directives of
 * benjid.conf and the SPRING_DATASOURCE_* variables of the Java service.
 */

#include <ctype.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benjid.h"
#include "db.h"

#define DB_URL_DEFAULT			"postgresql://127.0.0.1:5432/benji"
#define DB_USER_DEFAULT			"benji"
#define DB_POOL_DEFAULT			4
#define DB_POOL_MAX			64
#define DB_CONNECT_TIMEOUT_DEFAULT_MS	5000
#define DB_STATEMENT_TIMEOUT_DEFAULT_MS	10000
#define DB_TIMEOUT_MAX_MS		(3600 * 1000)

void
db_config_defaults(struct benjid_config *conf)
{
	conf->db_url = config_strdup(DB_URL_DEFAULT);
	conf->db_user = config_strdup(DB_USER_DEFAULT);
	conf->db_pool_size = DB_POOL_DEFAULT;
	conf->db_connect_timeout_ms = DB_CONNECT_TIMEOUT_DEFAULT_MS;
	conf->db_statement_timeout_ms = DB_STATEMENT_TIMEOUT_DEFAULT_MS;
	conf->db_timezone = config_strdup("UTC");
}

void
db_config_free(struct benjid_config *conf)
{
	free(conf->db_url);
	free(conf->db_user);
	free(conf->db_timezone);
	conf->db_url = conf->db_user = NULL;
	conf->db_timezone = NULL;
}

/* Replaces the database settings of dst by those of src, on reload. */
void
db_config_reload(struct benjid_config *dst, const struct benjid_config *src)
{
	db_config_free(dst);
	dst->db_pool_size = src->db_pool_size;
	dst->db_connect_timeout_ms = src->db_connect_timeout_ms;
	dst->db_statement_timeout_ms = src->db_statement_timeout_ms;
	dst->db_migration_wait = src->db_migration_wait;
	db_config_copy(dst, src);
}

/* Gives dst its own copies of src's strings after a struct copy. */
void
db_config_copy(struct benjid_config *dst, const struct benjid_config *src)
{
	dst->db_url = config_strdup(src->db_url);
	dst->db_user = config_strdup(src->db_user);
	dst->db_timezone = config_strdup(src->db_timezone);
}

static void
db_config_replace(char **field, const char *value)
{
	free(*field);
	*field = config_strdup(value);
}

/* A time zone name as the IANA database spells them, or a UTC offset. */
static int
db_config_timezone_valid(const char *tz)
{
	size_t	 len = strlen(tz);

	return len > 0 && len < 64 && isalpha((unsigned char)tz[0]) &&
	    tz[strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789/_+-")] == '\0';
}

static int
db_config_duration(const char *option, const char *value, uint64_t *ms,
    char *err, size_t errsz)
{
	if (parse_duration_ms(value, ms) == -1 || *ms == 0 ||
	    *ms > DB_TIMEOUT_MAX_MS) {
		snprintf(err, errsz, "invalid database %s \"%s\": expected an "
		    "ISO-8601 duration from PT0.001S to PT1H, such as PT5S",
		    option, value);
		return -1;
	}
	return 0;
}

/*
 * Sets one "database" option: url, user, pool-size, connect-timeout,
 * statement-timeout or timezone. Returns -1 with a message in err.
 */
int
db_config_set(struct benjid_config *conf, const char *option,
    const char *value, char *err, size_t errsz)
{
	struct db_params	 params;
	char			*end;
	unsigned long		 n;

	if (strcmp(option, "url") == 0) {
		if (db_url_parse(value, &params, err, errsz) == -1)
			return -1;
		db_params_free(&params);
		db_config_replace(&conf->db_url, value);
	} else if (strcmp(option, "user") == 0) {
		if (*value == '\0') {
			snprintf(err, errsz, "empty database user");
			return -1;
		}
		db_config_replace(&conf->db_user, value);
	} else if (strcmp(option, "pool-size") == 0) {
		n = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)*value) || *end != '\0' || n < 1 ||
		    n > DB_POOL_MAX) {
			snprintf(err, errsz, "invalid database pool-size "
			    "\"%s\": expected 1 to %d connections", value,
			    DB_POOL_MAX);
			return -1;
		}
		conf->db_pool_size = n;
	} else if (strcmp(option, "connect-timeout") == 0) {
		return db_config_duration(option, value,
		    &conf->db_connect_timeout_ms, err, errsz);
	} else if (strcmp(option, "statement-timeout") == 0) {
		return db_config_duration(option, value,
		    &conf->db_statement_timeout_ms, err, errsz);
	} else if (strcmp(option, "on-migration-failure") == 0) {
		if (strcmp(value, "stop") == 0)
			conf->db_migration_wait = 0;
		else if (strcmp(value, "wait") == 0)
			conf->db_migration_wait = 1;
		else {
			snprintf(err, errsz, "invalid database "
			    "on-migration-failure \"%s\": expected stop or wait",
			    value);
			return -1;
		}
	} else if (strcmp(option, "timezone") == 0) {
		if (!db_config_timezone_valid(value)) {
			snprintf(err, errsz, "invalid database timezone \"%s\": "
			    "expected a name such as UTC or Europe/Berlin",
			    value);
			return -1;
		}
		db_config_replace(&conf->db_timezone, value);
	} else {
		snprintf(err, errsz, "unknown database option \"%s\": expected "
		    "url, user, pool-size, connect-timeout, statement-timeout "
		    "or timezone", option);
		return -1;
	}
	return 0;
}

/*
 * Applies SPRING_DATASOURCE_URL and _USERNAME over the file. The
 * password is the secrets code's: see secrets_env_open.
 * Empty variables count as unset.
 */
int
db_config_env(struct benjid_config *conf, char *err, size_t errsz)
{
	const char	*url = getenv("SPRING_DATASOURCE_URL");
	const char	*user = getenv("SPRING_DATASOURCE_USERNAME");
	char		 msg[512];

	if (url != NULL && *url != '\0' &&
	    db_config_set(conf, "url", url, msg, sizeof(msg)) == -1) {
		snprintf(err, errsz, "invalid SPRING_DATASOURCE_URL: %s", msg);
		return -1;
	}
	if (user != NULL && *user != '\0')
		db_config_replace(&conf->db_user, user);
	return 0;
}

/*
 * Resolves each host of the datasource for libpq's hostaddr, because the
 * chrooted db child has no resolver files. A numeric host stands for
 * itself and a unix socket directory gets an empty entry, as does a name
 * that does not resolve: libpq then uses host alone. Returns 0 with out
 * empty when there is nothing to resolve or hostaddr is given already.
 */
int
db_config_hostaddr(const char *url, char *out, size_t outsz)
{
	struct db_params	 p;
	struct addrinfo		 hints, *res;
	const char		*hosts;
	char			*list, *host, *next, addr[INET6_ADDRSTRLEN];
	char			 err[256];
	size_t			 used = 0;
	int			 error, any = 0;

	out[0] = '\0';
	memset(&p, 0, sizeof(p));
	if (db_url_parse(url, &p, err, sizeof(err)) == -1)
		return -1;
	if (db_params_get(&p, "hostaddr") != NULL ||
	    (hosts = db_params_get(&p, "host")) == NULL ||
	    (list = strdup(hosts)) == NULL) {
		db_params_free(&p);
		return 0;
	}
	db_params_free(&p);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (host = list; host != NULL; host = next) {
		if ((next = strchr(host, ',')) != NULL)
			*next++ = '\0';
		addr[0] = '\0';
		if (*host != '\0' && *host != '/') {
			hints.ai_flags = AI_NUMERICHOST;
			error = getaddrinfo(host, NULL, &hints, &res);
			if (error != 0) {
				hints.ai_flags = 0;
				error = getaddrinfo(host, NULL, &hints, &res);
				if (error != 0)
					log_warnx("cannot resolve database host "
					    "%s: %s", host, gai_strerror(error));
				else
					any = 1;
			}
			if (error == 0) {
				getnameinfo(res->ai_addr, res->ai_addrlen, addr,
				    sizeof(addr), NULL, 0, NI_NUMERICHOST);
				freeaddrinfo(res);
			}
		}
		used += snprintf(out + used, used < outsz ? outsz - used : 0,
		    "%s%s", used ? "," : "", addr);
	}
	free(list);
	if (used >= outsz || !any)
		out[0] = '\0';
	return 0;
}

