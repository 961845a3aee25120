/*
 * The parent's side of the secrets. It reads the API keys and the actuator
 * credentials from the environment and from files, checks them against the
 * profile, hands them to the secrets child and wipes every copy it had,
 * including the bytes of the environment strings, which /proc/PID/environ
 * shows. The market data key and the database password are read from the
 * environment here too and kept in guarded memory for their children.
 *
 * Restarts: secrets from files are read again whenever the secrets child
 * starts. Secrets from the environment exist once; after a restart of the
 * secrets child they are gone, so in profile prod benjid stops with status
 * 1 for systemd or ECS to start it afresh (secrets_restart_allowed), and in
 * the other profiles the child runs without them and every check that
 * needs them fails.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "benjid.h"

/* Keys and the actuator password: anything shorter is a placeholder. */
#define SECRETS_MIN_LEN		16
/* A key file holds at most SECRETS_KEYS_MAX lines of a key and CR LF. */
#define SECRETS_FILE_MAX	(SECRETS_KEYS_MAX * (SECRETS_VALUE_MAX + 2))

extern char	**environ;

struct secret {
	int	 set;
	size_t	 len;
	char	 value[SECRETS_VALUE_MAX + 1];
};

/* Secrets of one source on their way to the secrets child. */
struct secret_batch {
	size_t		 nkeys;
	struct secret	 keys[SECRETS_KEYS_MAX];
	struct secret	 user;
	struct secret	 password;
};

static const char *const secrets_key_env = "TRADING_API_KEY";
static const char *const secrets_user_env[] = {
	"ACTUATOR_USERNAME", "MANAGEMENT_USERNAME", NULL
};
static const char *const secrets_password_env[] = {
	"ACTUATOR_PASSWORD", "MANAGEMENT_PASSWORD", NULL
};
static const char *const secrets_kept_env[SECRETS_ENV_MAX][4] = {
	[SECRETS_ENV_PROVIDER_KEY] = { "ALPHAVANTAGE_API_KEY",
	    "MARKETDATA_API_KEY", "ALPHA_VANTAGE_API_KEY", NULL },
	[SECRETS_ENV_DB_PASSWORD] = { "SPRING_DATASOURCE_PASSWORD", NULL },
};
static const char *const secrets_placeholders[] = {
	"replace_me", "changeme", "change_me", "changeMe", NULL
};

static struct {
	enum profile		 profile;
	struct secret_batch	*env;	/* NULL once handed over */
	struct secret_batch	*files;	/* NULL once handed over */
	int			 env_sent;
	size_t			 env_nkeys;
	int			 env_user, env_password;
	char			*key_file, *user_file, *password_file;
	struct secret		*kept[SECRETS_ENV_MAX];
	const char		*kept_name[SECRETS_ENV_MAX];	/* its variable */

	/* The access policy for the http child. */
	char			 header[SECRETS_HEADER_MAX];
	int			 api_required, actuator_required;
	unsigned int		 budget, interval_ms, delay_ms;
} sv;

static void *
secrets_alloc(size_t size)
{
	void	*p;

	if ((p = sodium_malloc(size)) == NULL)
		fatal("sodium_malloc");
	sodium_memzero(p, size);
	return p;
}

static void
secrets_batch_free(struct secret_batch **b)
{
	if (*b != NULL)
		sodium_free(*b);	/* zeroes the memory first */
	*b = NULL;
}

/*
 * Returns 0 when a secret may be used in profile prod: not empty, not a
 * known placeholder in any letter case, and at least min_len bytes.
 */
int
secrets_check_value(const char *value, size_t len, int min_len)
{
	size_t	 i;

	if (len == 0 || len < (size_t)min_len)
		return -1;
	for (i = 0; secrets_placeholders[i] != NULL; i++)
		if (strlen(secrets_placeholders[i]) == len &&
		    strncasecmp(value, secrets_placeholders[i], len) == 0)
			return -1;
	return 0;
}

static int
secrets_set(struct secret *s, const char *value, size_t len)
{
	if (len > SECRETS_VALUE_MAX)
		return -1;
	memcpy(s->value, value, len);
	s->value[len] = '\0';
	s->len = len;
	s->set = 1;
	return 0;
}

/*
 * Overwrites every NAME=value string of the environment, then removes it:
 * unsetenv() alone leaves the bytes in memory and in /proc/PID/environ.
 */
static void
secrets_env_wipe(const char *name)
{
	size_t	 namelen = strlen(name), i;
	char	*entry;

	for (;;) {
		entry = NULL;
		for (i = 0; environ != NULL && environ[i] != NULL; i++) {
			if (strncmp(environ[i], name, namelen) == 0 &&
			    environ[i][namelen] == '=') {
				entry = environ[i];
				break;
			}
		}
		if (entry == NULL)
			return;
		unsetenv(name);
		sodium_memzero(entry, strlen(entry));
	}
}

/* Returns the first non-empty variable of names, with its name. */
static const char *
secrets_getenv(const char *const *names, const char **which)
{
	const char	*value;

	for (; *names != NULL; names++) {
		if ((value = getenv(*names)) != NULL && *value != '\0') {
			*which = *names;
			return value;
		}
	}
	return NULL;
}

/* Splits a comma-separated list of keys, skipping spaces around each. */
static int
secrets_split_keys(struct secret_batch *b, const char *list, const char *name,
    char *err, size_t errsz)
{
	const char	*p = list, *end, *comma;
	size_t		 n = 0;

	for (;;) {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		n++;
		if (end > p) {
			if (b->nkeys == SECRETS_KEYS_MAX) {
				snprintf(err, errsz, "%s: more than %d keys",
				    name, SECRETS_KEYS_MAX);
				return -1;
			}
			if (secrets_set(&b->keys[b->nkeys++], p,
			    (size_t)(end - p)) == -1) {
				snprintf(err, errsz, "%s: key %zu is longer "
				    "than %d bytes", name, n,
				    SECRETS_VALUE_MAX);
				return -1;
			}
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int
secrets_env_one(struct secret *s, const char *const *names, char *err,
    size_t errsz)
{
	const char	*value, *which = NULL;

	if ((value = secrets_getenv(names, &which)) == NULL)
		return 0;
	if (secrets_set(s, value, strlen(value)) == -1) {
		snprintf(err, errsz, "%s is longer than %d bytes", which,
		    SECRETS_VALUE_MAX);
		return -1;
	}
	return 0;
}

/* Reads the secrets of the environment, then wipes them from it. */
static int
secrets_read_env(struct secret_batch *b, char *err, size_t errsz)
{
	const char	*value, *which;
	size_t		 i, j;
	int		 rc = 0;

	if ((value = getenv(secrets_key_env)) != NULL)
		rc = secrets_split_keys(b, value, secrets_key_env, err, errsz);
	if (rc == 0)
		rc = secrets_env_one(&b->user, secrets_user_env, err, errsz);
	if (rc == 0)
		rc = secrets_env_one(&b->password, secrets_password_env, err,
		    errsz);

	for (i = 0; rc == 0 && i < SECRETS_ENV_MAX; i++) {
		if ((value = secrets_getenv(secrets_kept_env[i],
		    &which)) == NULL)
			continue;
		if (sv.kept[i] == NULL)
			sv.kept[i] = secrets_alloc(sizeof(*sv.kept[i]));
		sv.kept_name[i] = which;
		if (secrets_set(sv.kept[i], value, strlen(value)) == -1) {
			snprintf(err, errsz, "%s is longer than %d bytes",
			    which, SECRETS_VALUE_MAX);
			rc = -1;
		}
		sodium_mprotect_noaccess(sv.kept[i]);
	}

	secrets_env_wipe(secrets_key_env);
	for (i = 0; secrets_user_env[i] != NULL; i++)
		secrets_env_wipe(secrets_user_env[i]);
	for (i = 0; secrets_password_env[i] != NULL; i++)
		secrets_env_wipe(secrets_password_env[i]);
	for (i = 0; i < SECRETS_ENV_MAX; i++)
		for (j = 0; secrets_kept_env[i][j] != NULL; j++)
			secrets_env_wipe(secrets_kept_env[i][j]);
	return rc;
}

/*
 * Reads a secret file into buf, NUL-terminated. The file must be a regular
 * file of root or of the user running benjid, and closed to others.
 */
static int
secrets_read_file(const char *path, char *buf, size_t bufsz, size_t *len,
    char *err, size_t errsz)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errsz, "secret file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != getuid()) ||
	    (st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
		snprintf(err, errsz, "secret file %s: expected a regular file "
		    "owned by root or uid %u, closed to others and not "
		    "writable by its group: run chmod o-rwx,g-w on it", path,
		    (unsigned int)getuid());
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf + off, bufsz - 1 - off)) > 0 &&
	    off + (size_t)n < bufsz - 1)
		off += (size_t)n;
	close(fd);
	if (n == -1) {
		snprintf(err, errsz, "secret file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (n > 0) {
		snprintf(err, errsz, "secret file %s: longer than %zu bytes",
		    path, bufsz - 2);
		return -1;
	}
	buf[off] = '\0';
	*len = off;
	return 0;
}

/* One key per line; blank lines and spaces around a key are skipped. */
static int
secrets_file_keys(struct secret_batch *b, const char *path, char *err,
    size_t errsz)
{
	char	*buf, *p, *end, *next;
	size_t	 len, line = 0;
	int	 rc = 0;

	buf = secrets_alloc(SECRETS_FILE_MAX + 2);
	if (secrets_read_file(path, buf, SECRETS_FILE_MAX + 2, &len, err,
	    errsz) == -1) {
		sodium_free(buf);
		return -1;
	}
	for (p = buf; rc == 0 && *p != '\0'; p = next) {
		line++;
		end = p + strcspn(p, "\n");
		next = *end == '\n' ? end + 1 : end;
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end == p)
			continue;
		if (b->nkeys == SECRETS_KEYS_MAX ||
		    secrets_set(&b->keys[b->nkeys++], p,
		    (size_t)(end - p)) == -1) {
			snprintf(err, errsz, "api key file %s: line %zu: more "
			    "than %d keys or longer than %d bytes", path, line,
			    SECRETS_KEYS_MAX, SECRETS_VALUE_MAX);
			rc = -1;
		}
	}
	sodium_free(buf);
	return rc;
}

/* The whole file is the value, without its trailing line break. */
static int
secrets_file_value(struct secret *s, const char *path, char *err,
    size_t errsz)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	buf = secrets_alloc(SECRETS_VALUE_MAX + 4);
	rc = secrets_read_file(path, buf, SECRETS_VALUE_MAX + 4, &len, err,
	    errsz);
	if (rc == 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		if ((rc = secrets_set(s, buf, len)) == -1)
			snprintf(err, errsz, "secret file %s: longer than %d "
			    "bytes", path, SECRETS_VALUE_MAX);
	}
	sodium_free(buf);
	return rc;
}

static int
secrets_read_files(struct secret_batch *b, char *err, size_t errsz)
{
	if (sv.key_file != NULL &&
	    secrets_file_keys(b, sv.key_file, err, errsz) == -1)
		return -1;
	if (sv.user_file != NULL &&
	    secrets_file_value(&b->user, sv.user_file, err, errsz) == -1)
		return -1;
	if (sv.password_file != NULL && secrets_file_value(&b->password,
	    sv.password_file, err, errsz) == -1)
		return -1;
	return 0;
}

static int
secrets_check_keys(const struct secret_batch *b, const char *source,
    char *err, size_t errsz)
{
	size_t	 i;

	for (i = 0; i < b->nkeys; i++) {
		if (secrets_check_value(b->keys[i].value, b->keys[i].len,
		    SECRETS_MIN_LEN) == -1) {
			snprintf(err, errsz, "%s: key %zu is a placeholder or "
			    "shorter than %d bytes: set a random key of at "
			    "least %d bytes", source, i + 1, SECRETS_MIN_LEN,
			    SECRETS_MIN_LEN);
			return -1;
		}
	}
	return 0;
}

static int
secrets_check_one(const struct secret *s, const char *source, int min_len,
    char *err, size_t errsz)
{
	if (!s->set || secrets_check_value(s->value, s->len, min_len) == 0)
		return 0;
	snprintf(err, errsz, "%s is empty, a placeholder or shorter than %d "
	    "bytes", source, min_len);
	return -1;
}

/*
 * Rejects a provider key or database password that is set but empty or a
 * placeholder; neither is required, because the fake provider and a
 * password-less database are valid choices.
 */
static int
secrets_check_kept(char *err, size_t errsz)
{
	const char	*value;
	size_t		 i, len;
	int		 bad;

	for (i = 0; i < SECRETS_ENV_MAX; i++) {
		if ((value = secrets_env_open(i, &len)) == NULL)
			continue;
		bad = secrets_check_value(value, len, 1) == -1;
		secrets_env_close();
		if (bad) {
			snprintf(err, errsz, "%s is empty or a placeholder: set "
			    "the real value", sv.kept_name[i] != NULL ?
			    sv.kept_name[i] : secrets_kept_env[i][0]);
			return -1;
		}
	}
	return 0;
}

/*
 * Applies the rules of profile prod to the secrets of both sources: an API
 * key and both actuator credentials must exist, and none may be empty or a
 * placeholder. Messages name the variable or file, never the value.
 */
static int
secrets_check_prod(const struct secret_batch *env,
    const struct secret_batch *files, char *err, size_t errsz)
{
	const char	*kf = sv.key_file ? "api key file" : "";

	if (secrets_check_keys(env, secrets_key_env, err, errsz) == -1 ||
	    secrets_check_keys(files, kf, err, errsz) == -1 ||
	    secrets_check_one(&env->user, "ACTUATOR_USERNAME", 1, err,
	    errsz) == -1 ||
	    secrets_check_one(&files->user, "actuator user file", 1, err,
	    errsz) == -1 ||
	    secrets_check_one(&env->password, "ACTUATOR_PASSWORD",
	    SECRETS_MIN_LEN, err, errsz) == -1 ||
	    secrets_check_one(&files->password, "actuator password file",
	    SECRETS_MIN_LEN, err, errsz) == -1)
		return -1;
	if (secrets_check_kept(err, errsz) == -1)
		return -1;
	if (sv.env_nkeys + files->nkeys == 0) {
		snprintf(err, errsz, "profile prod requires an API key: set "
		    "TRADING_API_KEY or api key file");
		return -1;
	}
	if ((!sv.env_user && !files->user.set) ||
	    (!sv.env_password && !files->password.set)) {
		snprintf(err, errsz, "profile prod requires actuator "
		    "credentials: set ACTUATOR_USERNAME and ACTUATOR_PASSWORD, "
		    "or actuator user file and actuator password file");
		return -1;
	}
	return 0;
}

static void
secrets_set_paths(const struct benjid_config *conf)
{
	free(sv.key_file);
	free(sv.user_file);
	free(sv.password_file);
	sv.key_file = sv.user_file = sv.password_file = NULL;
	if ((conf->api_key_file != NULL &&
	    (sv.key_file = strdup(conf->api_key_file)) == NULL) ||
	    (conf->actuator_user_file != NULL &&
	    (sv.user_file = strdup(conf->actuator_user_file)) == NULL) ||
	    (conf->actuator_password_file != NULL &&
	    (sv.password_file = strdup(conf->actuator_password_file)) == NULL))
		fatal("%s", __func__);
}

/*
 * Decides which routes need credentials. Profile test behaves like prod,
 * except that a kind of credential with nothing configured is not asked.
 */
static void
secrets_set_policy(const struct benjid_config *conf,
    const struct secret_batch *files)
{
	int	 keys = sv.env_nkeys + files->nkeys > 0;
	int	 actuator = (sv.env_user || files->user.set) &&
		    (sv.env_password || files->password.set);

	if (conf->profile == PROFILE_DEV && sv.profile != PROFILE_DEV)
		log_info("profile dev: anonymous access, no credential is "
		    "checked on /api or /actuator");
	sv.profile = conf->profile;
	sv.api_required = conf->profile == PROFILE_PROD ||
	    (conf->profile == PROFILE_TEST && keys);
	sv.actuator_required = conf->profile == PROFILE_PROD ||
	    (conf->profile == PROFILE_TEST && actuator);
	snprintf(sv.header, sizeof(sv.header), "%s", conf->api_key_header);
	sv.budget = conf->auth_failure_budget;
	sv.interval_ms = conf->auth_failure_interval_ms;
	sv.delay_ms = conf->auth_failure_delay_ms;
}

/*
 * Reads the secrets at startup, after the configuration, and wipes them
 * from the environment. With check_only set (benjid -n) it keeps nothing.
 * Returns -1 with a message in err when a secret is invalid.
 */
int
secrets_load(const struct benjid_config *conf, int check_only, char *err,
    size_t errsz)
{
	struct secret_batch	*env, *files;

	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	env = secrets_alloc(sizeof(*env));
	files = secrets_alloc(sizeof(*files));
	secrets_set_paths(conf);
	sv.profile = PROFILE_TEST;

	if (secrets_read_env(env, err, errsz) == -1 ||
	    secrets_read_files(files, err, errsz) == -1)
		goto fail;
	sv.env_nkeys = env->nkeys;
	sv.env_user = env->user.set;
	sv.env_password = env->password.set;
	/* The environment overrides a file, as for every other setting. */
	if (env->user.set)
		sodium_memzero(&files->user, sizeof(files->user));
	if (env->password.set)
		sodium_memzero(&files->password, sizeof(files->password));

	if (conf->profile == PROFILE_PROD &&
	    secrets_check_prod(env, files, err, errsz) == -1)
		goto fail;
	if (check_only) {
		secrets_batch_free(&env);
		secrets_batch_free(&files);
		return 0;
	}

	secrets_set_policy(conf, files);
	sv.env = env;
	sv.files = files;
	return 0;

 fail:
	secrets_batch_free(&env);
	secrets_batch_free(&files);
	return -1;
}

/*
 * Reads the secret files of a new configuration. On success they replace
 * the pending ones and the policy follows the new profile; on failure the
 * running secrets and policy stay.
 */
int
secrets_reload(const struct benjid_config *conf, char *err, size_t errsz)
{
	struct secret_batch	*files, empty;
	char			*paths[3] = { sv.key_file, sv.user_file,
				    sv.password_file };

	sv.key_file = sv.user_file = sv.password_file = NULL;
	secrets_set_paths(conf);
	files = secrets_alloc(sizeof(*files));
	memset(&empty, 0, sizeof(empty));
	if (secrets_read_files(files, err, errsz) == -1 ||
	    (conf->profile == PROFILE_PROD &&
	    secrets_check_prod(&empty, files, err, errsz) == -1)) {
		secrets_batch_free(&files);
		free(sv.key_file);
		free(sv.user_file);
		free(sv.password_file);
		sv.key_file = paths[0];
		sv.user_file = paths[1];
		sv.password_file = paths[2];
		return -1;
	}
	free(paths[0]);
	free(paths[1]);
	free(paths[2]);
	if (sv.env_user)
		sodium_memzero(&files->user, sizeof(files->user));
	if (sv.env_password)
		sodium_memzero(&files->password, sizeof(files->password));
	secrets_set_policy(conf, files);
	secrets_batch_free(&sv.files);
	sv.files = files;
	return 0;
}

static void
secrets_put_keys(struct ipc_wbuf *wb, const struct secret_batch *b)
{
	size_t	 i;

	ipc_put_array(wb, b->nkeys);
	for (i = 0; i < b->nkeys; i++)
		ipc_put_bin(wb, b->keys[i].value, b->keys[i].len);
}

/* Puts one actuator credential: nil keeps what the secrets child has. */
static void
secrets_put_credential(struct ipc_wbuf *wb, int from_env,
    const struct secret *env, const struct secret *file)
{
	if (from_env && sv.env == NULL)
		ipc_put_nil(wb);
	else if (from_env)
		ipc_put_bin(wb, env->value, env->len);
	else
		ipc_put_bin(wb, file->value, file->set ? file->len : 0);
}

/*
 * Composes IMSG_CTL_CONFIG_SECRETS: at start, on reload and when the
 * secrets child restarts. Afterwards the parent holds no copy: the batches
 * are freed and the link zeroes the frame once it is written.
 */
void
secrets_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
	struct ipc_wbuf	 wb;
	char		 err[512];

	c->wipe = 1;
	if (sv.files == NULL) {
		sv.files = secrets_alloc(sizeof(*sv.files));
		if (secrets_read_files(sv.files, err, sizeof(err)) == -1) {
			log_warnx("%s: the secrets child starts without the "
			    "secrets of files", err);
			sodium_memzero(sv.files, sizeof(*sv.files));
		}
	}

	ipc_wbuf_init(&wb, 4);
	if (sv.env != NULL)
		secrets_put_keys(&wb, sv.env);
	else
		ipc_put_nil(&wb);
	secrets_put_keys(&wb, sv.files);
	secrets_put_credential(&wb, sv.env_user, sv.env ? &sv.env->user : NULL,
	    &sv.files->user);
	secrets_put_credential(&wb, sv.env_password,
	    sv.env ? &sv.env->password : NULL, &sv.files->password);
	ipc_compose(c, IMSG_CTL_CONFIG_SECRETS, 0, -1, &wb);

	if (sv.env != NULL)
		sv.env_sent = 1;
	secrets_batch_free(&sv.env);
	secrets_batch_free(&sv.files);
}

/* Sends the http child the access policy: IMSG_CTL_CONFIG_AUTH. */
void
secrets_auth_config_send(struct ipc_conn *c)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 6);
	ipc_put_str(&wb, sv.header[0] ? sv.header : SECRETS_HEADER_DEFAULT);
	ipc_put_bool(&wb, sv.api_required);
	ipc_put_bool(&wb, sv.actuator_required);
	ipc_put_u64(&wb, sv.budget);
	ipc_put_u64(&wb, sv.interval_ms);
	ipc_put_u64(&wb, sv.delay_ms);
	ipc_compose(c, IMSG_CTL_CONFIG_AUTH, 0, -1, &wb);
}

/*
 * Called when the secrets child died. Returns 0 when restarting it would
 * lose secrets that came from the environment in profile prod: benjid
 * must then stop so that its service manager starts it with them again.
 */
int
secrets_restart_allowed(void)
{
	int	 from_env = sv.env_nkeys > 0 || sv.env_user || sv.env_password;

	if (!sv.env_sent || !from_env)
		return 1;
	if (sv.profile == PROFILE_PROD)
		return 0;
	log_warnx("the secrets child restarts without the secrets of the "
	    "environment: checks that need them fail until benjid restarts");
	return 1;
}

/*
 * Returns the market data key or the database password taken from the
 * environment at startup, or NULL. The value is readable, and *len valid,
 * until secrets_env_close().
 */
const char *
secrets_env_open(enum secrets_env which, size_t *len)
{
	if (which >= SECRETS_ENV_MAX || sv.kept[which] == NULL)
		return NULL;
	sodium_mprotect_readonly(sv.kept[which]);
	*len = sv.kept[which]->len;
	return sv.kept[which]->value;
}

void
secrets_env_close(void)
{
	size_t	 i;

	for (i = 0; i < SECRETS_ENV_MAX; i++)
		if (sv.kept[i] != NULL)
			sodium_mprotect_noaccess(sv.kept[i]);
}
