/*
 * Configuration defaults, ISO-8601 durations and the environment overrides
 * that existing deployments of the Java service already set.
 */

#include <sys/types.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "benjid.h"

/* User names that useradd(8) accepts by default, at most 32 bytes. */
#define CONFIG_USER_CHARS	"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define CONFIG_USER_MAX		32

static const char *const config_profile_names[] = {
	[PROFILE_DEV] = "dev",
	[PROFILE_TEST] = "test",
	[PROFILE_PROD] = "prod"
};

/* Copies a setting's string, NULL staying NULL; out of memory is fatal. */
char *
config_strdup(const char *s)
{
	char	*copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup(s)) == NULL)
		fatal("%s", __func__);
	return copy;
}

void
config_defaults(struct benjid_config *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = NULL;
	conf->profile = PROFILE_DEV;

	snprintf(conf->listen[0].host, sizeof(conf->listen[0].host), "*");
	conf->listen[0].port = BENJID_PORT;
	conf->nlisten = 1;

	conf->user = config_strdup(BENJID_USER);
	conf->chroot = config_strdup(BENJID_CHROOT);
	conf->control_socket = config_strdup(BENJID_SOCKET);
	conf->shutdown_timeout_ms = BENJID_SHUTDOWN_MS;
	snprintf(conf->api_key_header, sizeof(conf->api_key_header), "%s",
	    SECRETS_HEADER_DEFAULT);
	conf->auth_failure_budget = 10;
	conf->auth_failure_interval_ms = 60 * 1000;
	conf->auth_failure_delay_ms = 1000;
	marketdata_defaults(conf);
	db_config_defaults(conf);
	http_limits_defaults(conf);
}

void
config_free(struct benjid_config *conf)
{
	free(conf->path);
	free(conf->user);
	free(conf->chroot);
	free(conf->control_socket);
	conf->path = conf->user = conf->chroot = conf->control_socket = NULL;
	conf->nlisten = 0;
	free(conf->api_key_file);
	free(conf->actuator_user_file);
	free(conf->actuator_password_file);
	conf->api_key_file = conf->actuator_user_file =
	    conf->actuator_password_file = NULL;
	marketdata_free(conf);
	db_config_free(conf);
}

/* Copies the secret file names of src into dst, which holds none yet. */
void
config_secrets_copy(struct benjid_config *dst, const struct benjid_config *src)
{
	dst->api_key_file = src->api_key_file != NULL ?
	    config_strdup(src->api_key_file) : NULL;
	dst->actuator_user_file = src->actuator_user_file != NULL ?
	    config_strdup(src->actuator_user_file) : NULL;
	dst->actuator_password_file = src->actuator_password_file != NULL ?
	    config_strdup(src->actuator_password_file) : NULL;
}

/*
 * Returns 0 when name is an HTTP header field name (an RFC 9110 token)
 * shorter than SECRETS_HEADER_MAX bytes, -1 otherwise.
 */
int
config_check_header_name(const char *name)
{
	static const char	 tchar[] = "!#$%&'*+-.^_`|~"
				    "0123456789abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t			 len = strlen(name);

	if (len == 0 || len >= SECRETS_HEADER_MAX)
		return -1;
	return name[strspn(name, tchar)] == '\0' ? 0 : -1;
}

const char *
config_profile_name(enum profile profile)
{
	if ((unsigned int)profile >= sizeof(config_profile_names) /
	    sizeof(config_profile_names[0]))
		return "unknown";
	return config_profile_names[profile];
}

/* Parses the exact name of a profile. Returns -1 for anything else. */
int
config_profile_parse(const char *name, enum profile *profile)
{
	size_t	 i;

	for (i = 0; i < sizeof(config_profile_names) /
	    sizeof(config_profile_names[0]); i++) {
		if (strcmp(name, config_profile_names[i]) == 0) {
			*profile = (enum profile)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Reads the digits at *sp as an unsigned integer and advances *sp past them.
 * Returns -1 when there is no digit or the value exceeds UINT64_MAX.
 */
static int
duration_digits(const char **sp, uint64_t *value)
{
	const char	*s = *sp;
	uint64_t	 v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*value = v;
	return 0;
}

/* Adds count * unit_ms to *total. Returns -1 on overflow. */
static int
duration_add(uint64_t *total, uint64_t count, uint64_t unit_ms)
{
	if (count > UINT64_MAX / unit_ms)
		return -1;
	if (*total > UINT64_MAX - count * unit_ms)
		return -1;
	*total += count * unit_ms;
	return 0;
}

/*
 * Reads an optional fraction of a second (".5", ",25") into whole
 * milliseconds and returns 1 when there was one. Digits past the third are
 * truncated. Nine digits at most, as java.time.Duration allows.
 */
static int
duration_fraction(const char **sp, uint64_t *ms)
{
	const char	*s = *sp;
	uint64_t	 scale = 100;
	size_t		 ndigits = 0;

	*ms = 0;
	if (*s != '.' && *s != ',')
		return 0;
	for (s++; isdigit((unsigned char)*s); s++, ndigits++) {
		*ms += (uint64_t)(*s - '0') * scale;
		scale /= 10;
	}
	if (ndigits == 0 || ndigits > 9)
		return -1;
	*sp = s;
	return 1;
}

/*
 * Parses an ISO-8601 duration of the form PnDTnHnMn.nS, as java.time.Duration
 * and Spring accept it ("PT30S", "PT0.5S", "PT1H30M", "P1D"), into
 * milliseconds. Designators may be in either case and must appear in that
 * order, each at most once. Signs, weeks, months, years, spaces and trailing
 * bytes are rejected, as is a value past UINT64_MAX milliseconds.
 */
int
parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		char		 designator;
		uint64_t	 unit_ms;
	} time_units[] = {
		{ 'H', 3600 * 1000 },
		{ 'M', 60 * 1000 },
		{ 'S', 1000 }
	};
	uint64_t	 total = 0, count, fraction;
	size_t		 next_unit = 0, i;
	int		 has_days = 0, has_fraction;

	if (s == NULL || toupper((unsigned char)*s) != 'P')
		return -1;
	s++;

	/*
	 * Of the date designators only days are accepted, because months and
	 * years have no fixed length.
	 */
	if (isdigit((unsigned char)*s)) {
		if (duration_digits(&s, &count) == -1 ||
		    toupper((unsigned char)*s) != 'D' ||
		    duration_add(&total, count, 24 * 3600 * 1000) == -1)
			return -1;
		s++;
		has_days = 1;
	}

	if (*s == '\0') {
		if (!has_days)
			return -1;
		*ms = total;
		return 0;
	}
	if (toupper((unsigned char)*s) != 'T')
		return -1;
	s++;
	if (*s == '\0')
		return -1;

	while (*s != '\0') {
		if (duration_digits(&s, &count) == -1 ||
		    (has_fraction = duration_fraction(&s, &fraction)) == -1)
			return -1;
		for (i = next_unit; i < sizeof(time_units) /
		    sizeof(time_units[0]); i++)
			if (toupper((unsigned char)*s) ==
			    time_units[i].designator)
				break;
		if (i == sizeof(time_units) / sizeof(time_units[0]))
			return -1;

		/* Only the seconds may carry a fraction. */
		if (has_fraction && time_units[i].designator != 'S')
			return -1;
		if (duration_add(&total, count, time_units[i].unit_ms) == -1 ||
		    duration_add(&total, fraction, 1) == -1)
			return -1;
		next_unit = i + 1;
		s++;
	}

	*ms = total;
	return 0;
}

/* Returns 0 when useradd(8) accepts name by default, -1 otherwise. */
static int
config_check_user(const char *name)
{
	size_t	 len = strlen(name);

	if (len == 0 || len > CONFIG_USER_MAX || name[0] == '-')
		return -1;
	if (name[strspn(name, CONFIG_USER_CHARS)] != '\0')
		return -1;
	return 0;
}

/* Returns the value of an environment variable, or NULL when unset or empty. */
static const char *
config_getenv(const char *name)
{
	const char	*value = getenv(name);

	return value != NULL && *value != '\0' ? value : NULL;
}

/*
 * Stores the first of dev, test and prod in a comma-separated list into
 * *profile. Returns -1 when the list contains none of them.
 */
static int
config_env_profile(const char *value, enum profile *profile)
{
	char	*list, *item, *next, *end;
	int	 found = -1;

	list = config_strdup(value);
	for (next = list; found == -1 && (item = strsep(&next, ",")) != NULL;) {
		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (config_profile_parse(item, profile) == 0)
			found = 0;
	}
	free(list);
	return found;
}

/*
 * Applies the environment over the configuration file. An empty variable
 * counts as unset. When a value is invalid, returns -1 with conf unchanged
 * and writes a message naming the variable and the accepted values into err.
 */
int
config_env(struct benjid_config *conf, char *err, size_t errsz)
{
	const char	*port_value, *profile_value, *user, *chroot_dir;
	const char	*key_header;
	char		*end;
	long		 port = 0;
	size_t		 i;
	enum profile	 profile = conf->profile;

	port_value = config_getenv("SERVER_PORT");
	profile_value = config_getenv("SPRING_PROFILES_ACTIVE");
	user = config_getenv("BENJID_USER");
	chroot_dir = config_getenv("BENJID_CHROOT");
	key_header = config_getenv("TRADING_API_KEY_HEADER");

	if (port_value != NULL) {
		errno = 0;
		port = strtol(port_value, &end, 10);
		if (!isdigit((unsigned char)*port_value) || *end != '\0' ||
		    errno != 0 || port < 1 || port > 65535) {
			snprintf(err, errsz, "invalid SERVER_PORT \"%s\": "
			    "expected a port number from 1 to 65535",
			    port_value);
			return -1;
		}
	}
	if (profile_value != NULL &&
	    config_env_profile(profile_value, &profile) == -1) {
		snprintf(err, errsz, "invalid SPRING_PROFILES_ACTIVE \"%s\": "
		    "expected a comma-separated list that contains dev, test "
		    "or prod", profile_value);
		return -1;
	}
	if (user != NULL && config_check_user(user) == -1) {
		snprintf(err, errsz, "invalid BENJID_USER \"%s\": expected a "
		    "user name of at most %d letters, digits, '.', '_' or '-', "
		    "not starting with '-'", user, CONFIG_USER_MAX);
		return -1;
	}
	if (chroot_dir != NULL &&
	    (chroot_dir[0] != '/' || strlen(chroot_dir) >= PATH_MAX)) {
		snprintf(err, errsz, "invalid BENJID_CHROOT \"%s\": expected "
		    "an absolute directory path", chroot_dir);
		return -1;
	}
	if (key_header != NULL &&
	    config_check_header_name(key_header) == -1) {
		snprintf(err, errsz, "invalid TRADING_API_KEY_HEADER \"%s\": "
		    "expected a header name of at most %d letters, digits or "
		    "!#$%%&'*+-.^_`|~", key_header, SECRETS_HEADER_MAX - 1);
		return -1;
	}
	if (marketdata_env(conf, err, errsz) == -1)
		return -1;
	if (db_config_env(conf, err, errsz) == -1)
		return -1;

	if (port_value != NULL)
		for (i = 0; i < conf->nlisten; i++)
			conf->listen[i].port = (in_port_t)port;
	conf->profile = profile;
	if (user != NULL) {
		free(conf->user);
		conf->user = config_strdup(user);
	}
	if (chroot_dir != NULL) {
		free(conf->chroot);
		conf->chroot = config_strdup(chroot_dir);
	}
	if (key_header != NULL)
		snprintf(conf->api_key_header, sizeof(conf->api_key_header),
		    "%s", key_header);
	return 0;
}
