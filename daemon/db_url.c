/*
 * Datasource URLs as deployments of the Java service set them
 * (jdbc:postgresql://host:port/db?params), and libpq's own URIs and
 * key=value strings, turned into libpq connection keywords.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#define JDBC_PREFIX	"jdbc:postgresql:"

/* JDBC driver properties and the libpq keyword each becomes. */
static const struct {
	const char	*jdbc;
	const char	*libpq;
} db_url_jdbc_keys[] = {
	{ "user",		"user" },
	{ "password",		"password" },
	{ "sslmode",		"sslmode" },
	{ "sslcert",		"sslcert" },
	{ "sslkey",		"sslkey" },
	{ "sslrootcert",	"sslrootcert" },
	{ "ApplicationName",	"application_name" },
	{ "applicationName",	"application_name" },
	{ "connectTimeout",	"connect_timeout" },
	{ "options",		"options" },
	{ "targetServerType",	"target_session_attrs" },
};

void
db_params_free(struct db_params *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->values[i]);
	}
	memset(p, 0, sizeof(*p));
}

const char *
db_params_get(const struct db_params *p, const char *key)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->keys[i], key) == 0)
			return p->values[i];
	return NULL;
}

/* Sets or replaces one keyword. Returns -1 when out of memory or room. */
int
db_params_set(struct db_params *p, const char *key, const char *value)
{
	char	*v;
	size_t	 i;

	if ((v = strdup(value)) == NULL)
		return -1;
	for (i = 0; i < p->n; i++) {
		if (strcmp(p->keys[i], key) == 0) {
			free(p->values[i]);
			p->values[i] = v;
			return 0;
		}
	}
	if (p->n == DB_PARAMS_MAX || (p->keys[p->n] = strdup(key)) == NULL) {
		free(v);
		return -1;
	}
	p->values[p->n++] = v;
	p->keys[p->n] = p->values[p->n] = NULL;
	return 0;
}

/* Decodes %XX escapes of a URL part in place. Returns -1 when invalid. */
static int
db_url_decode(char *s)
{
	char	*out = s, hex[3] = { 0 };

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		if (!isxdigit((unsigned char)s[1]) ||
		    !isxdigit((unsigned char)s[2]))
			return -1;
		hex[0] = s[1];
		hex[1] = s[2];
		*out = (char)strtol(hex, NULL, 16);
		if (*out++ == '\0')
			return -1;
		s += 2;
	}
	*out = '\0';
	return 0;
}

/*
 * Splits "host1:port1,[::1]:port2" into libpq's host and port lists. A
 * host without a port gets 5432, as the JDBC driver assumes.
 */
static int
db_url_hosts(char *list, struct db_params *p, char *err, size_t errsz)
{
	char	 hosts[1024] = "", ports[256] = "";
	char	*item, *port, *host;
	size_t	 n = 0;

	while ((item = strsep(&list, ",")) != NULL) {
		host = item;
		port = NULL;
		if (*item == '[') {
			host = item + 1;
			if ((port = strchr(host, ']')) == NULL) {
				snprintf(err, errsz, "invalid host \"%s\" in "
				    "datasource URL: missing ']'", item);
				return -1;
			}
			*port++ = '\0';
			if (*port == ':')
				port++;
			else if (*port == '\0')
				port = NULL;
			else {
				snprintf(err, errsz, "invalid host in "
				    "datasource URL after [%s]", host);
				return -1;
			}
		} else if ((port = strchr(item, ':')) != NULL)
			*port++ = '\0';
		if (port != NULL && (*port == '\0' ||
		    strspn(port, "0123456789") != strlen(port) ||
		    atoi(port) < 1 || atoi(port) > 65535)) {
			snprintf(err, errsz, "invalid port \"%s\" in datasource "
			    "URL: expected 1 to 65535", port);
			return -1;
		}
		if (*host == '\0')
			host = "localhost";
		if (strlen(hosts) + strlen(host) + 2 > sizeof(hosts) ||
		    strlen(ports) + 7 > sizeof(ports)) {
			snprintf(err, errsz, "too many hosts in datasource URL");
			return -1;
		}
		snprintf(hosts + strlen(hosts), sizeof(hosts) - strlen(hosts),
		    "%s%s", n ? "," : "", host);
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports),
		    "%s%s", n ? "," : "", port ? port : "5432");
		n++;
	}
	if (db_params_set(p, "host", hosts) == -1 ||
	    db_params_set(p, "port", ports) == -1) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

/* Maps one JDBC property to its libpq keyword; unknown ones are errors. */
static int
db_url_jdbc_param(char *pair, struct db_params *p, char *err, size_t errsz)
{
	char	*value;
	size_t	 i;

	if ((value = strchr(pair, '=')) == NULL) {
		snprintf(err, errsz, "invalid parameter \"%s\" in datasource "
		    "URL: expected name=value", pair);
		return -1;
	}
	*value++ = '\0';
	if (db_url_decode(pair) == -1 || db_url_decode(value) == -1) {
		snprintf(err, errsz, "invalid percent-encoding in datasource "
		    "URL parameter %s", pair);
		return -1;
	}
	if (strcmp(pair, "currentSchema") == 0) {
		char	 opt[512];

		snprintf(opt, sizeof(opt), "-c search_path=%s", value);
		return db_params_set(p, "options", opt);
	}
	for (i = 0; i < sizeof(db_url_jdbc_keys) / sizeof(db_url_jdbc_keys[0]);
	    i++) {
		if (strcmp(pair, db_url_jdbc_keys[i].jdbc) != 0)
			continue;
		if (strcmp(pair, "targetServerType") == 0)
			value = strcmp(value, "primary") == 0 ||
			    strcmp(value, "master") == 0 ? "read-write" : "any";
		return db_params_set(p, db_url_jdbc_keys[i].libpq, value);
	}
	snprintf(err, errsz, "unsupported parameter \"%s\" in datasource URL: "
	    "supported are user, password, sslmode, sslcert, sslkey, "
	    "sslrootcert, ApplicationName, connectTimeout, currentSchema, "
	    "options and targetServerType", pair);
	return -1;
}

/* Parses jdbc:postgresql://hosts/db?params and jdbc:postgresql:db. */
static int
db_url_jdbc(const char *url, struct db_params *p, char *err, size_t errsz)
{
	char	*copy, *rest, *query, *db, *pair;
	int	 r = -1;

	if ((copy = strdup(url + strlen(JDBC_PREFIX))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	rest = copy;
	if ((query = strchr(rest, '?')) != NULL)
		*query++ = '\0';
	if (strncmp(rest, "//", 2) == 0) {
		rest += 2;
		if ((db = strchr(rest, '/')) != NULL)
			*db++ = '\0';
		if (db_url_hosts(rest, p, err, errsz) == -1)
			goto done;
	} else {
		db = rest;
		if (db_params_set(p, "host", "localhost") == -1)
			goto done;
	}
	if (db != NULL && *db != '\0') {
		if (db_url_decode(db) == -1) {
			snprintf(err, errsz, "invalid database name in "
			    "datasource URL");
			goto done;
		}
		if (db_params_set(p, "dbname", db) == -1)
			goto done;
	}
	while (query != NULL && (pair = strsep(&query, "&")) != NULL)
		if (*pair != '\0' &&
		    db_url_jdbc_param(pair, p, err, errsz) == -1)
			goto done;
	r = 0;
 done:
	free(copy);
	return r;
}

/* Lets libpq parse its own URI or key=value syntax. */
static int
db_url_libpq(const char *url, struct db_params *p, char *err, size_t errsz)
{
	PQconninfoOption	*opts, *o;
	char			*msg = NULL;

	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		if (msg != NULL)
			msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errsz, "invalid datasource URL: %s",
		    msg != NULL ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (db_params_set(p, o->keyword, o->val) == -1) {
			snprintf(err, errsz, "out of memory");
			PQconninfoFree(opts);
			return -1;
		}
	}
	PQconninfoFree(opts);
	return 0;
}

/*
 * Parses a datasource into libpq keywords: a jdbc:postgresql: URL, a
 * postgresql:// or postgres:// URI, or a key=value conninfo string.
 * Returns -1 with a message in err that never contains the password.
 */
int
db_url_parse(const char *url, struct db_params *p, char *err, size_t errsz)
{
	int	 r;

	memset(p, 0, sizeof(*p));
	if (url == NULL || *url == '\0') {
		snprintf(err, errsz, "empty datasource URL");
		return -1;
	}
	if (strncmp(url, JDBC_PREFIX, strlen(JDBC_PREFIX)) == 0)
		r = db_url_jdbc(url, p, err, errsz);
	else if (strncmp(url, "jdbc:", 5) == 0) {
		snprintf(err, errsz, "unsupported datasource URL: only "
		    "jdbc:postgresql: URLs are accepted");
		r = -1;
	} else
		r = db_url_libpq(url, p, err, errsz);
	if (r == -1)
		db_params_free(p);
	return r;
}
