/*
 * Unit tests of the configuration: the benjid.conf grammar, ISO-8601
 * durations and the environment overrides.
 *
 * Configuration files are written under a fresh mkdtemp(3) directory. The
 * parser's errors go to stderr as JSON lines; each test that checks them
 * captures stderr into a file and reads the messages back.
 */

/* nftw(3) is an X/Open function. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "benjid.h"

static char	 test_dir[] = "/tmp/benjid-test-config.XXXXXX";
static int	 saved_stderr = -1;
/* Messages logged during the last capture, one per line. */
static char	*logged;

static const char *const env_names[] = {
	"SERVER_PORT", "SPRING_PROFILES_ACTIVE", "BENJID_USER", "BENJID_CHROOT"
};

/* Returns the path of name inside the test directory in a rotating buffer. */
static const char *
test_path(const char *name)
{
	static char	 paths[8][PATH_MAX];
	static size_t	 next;
	char		*path = paths[next++ % 8];

	snprintf(path, PATH_MAX, "%s/%s", test_dir, name);
	return path;
}

static const char *
write_file(const char *name, mode_t mode, const char *content)
{
	const char	*path = test_path(name);
	size_t		 len = strlen(content);
	int		 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static void
capture_start(void)
{
	int	 fd;

	fd = open(test_path("stderr.log"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Restores stderr and collects the "message" of every JSON log line. */
static void
capture_end(void)
{
	struct json_object	*obj, *field;
	FILE		*f;
	char		*line = NULL;
	size_t		 linesize = 0, used = 0, len;
	const char	*msg;

	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;

	free(logged);
	logged = calloc(1, 1);
	assert_non_null(logged);

	f = fopen(test_path("stderr.log"), "r");
	assert_non_null(f);
	while (getline(&line, &linesize, f) != -1) {
		obj = json_tokener_parse(line);
		assert_non_null(obj);
		assert_true(json_object_object_get_ex(obj, "message", &field));
		msg = json_object_get_string(field);
		assert_non_null(msg);
		len = strlen(msg);
		logged = realloc(logged, used + len + 2);
		assert_non_null(logged);
		memcpy(logged + used, msg, len);
		used += len;
		logged[used++] = '\n';
		logged[used] = '\0';
		json_object_put(obj);
	}
	free(line);
	fclose(f);
}

static size_t
logged_count(void)
{
	const char	*p;
	size_t		 n = 0;

	for (p = logged; p != NULL && *p != '\0'; p++)
		if (*p == '\n')
			n++;
	return n;
}

/* Fails unless a message "<test dir>/name:line: text..." was logged. */
static void
assert_logged_at(const char *name, int line, const char *text)
{
	char	 expected[PATH_MAX + 512];

	if (line > 0)
		snprintf(expected, sizeof(expected), "%s/%s:%d: %s", test_dir,
		    name, line, text);
	else
		snprintf(expected, sizeof(expected), "%s", text);
	if (logged == NULL || strstr(logged, expected) == NULL)
		fail_msg("expected \"%s\" in the log, got:\n%s", expected,
		    logged != NULL ? logged : "(nothing)");
}

/* Writes content as benjid.conf and parses it over the defaults. */
static int
parse_text(const char *content, struct benjid_config *conf)
{
	const char	*path;
	int		 rc;

	path = write_file("benjid.conf", 0600, content);
	config_defaults(conf);
	capture_start();
	rc = parse_config(path, 1, conf);
	capture_end();
	return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return remove(path);
}

static int
group_setup(void **state)
{
	if (mkdtemp(test_dir) == NULL)
		return -1;
	log_init("test_config", LOG_TO_JSON, 0);
	return 0;
}

static int
group_teardown(void **state)
{
	free(logged);
	logged = NULL;
	return nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
env_teardown(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

static void
defaults_values(void **state)
{
	struct benjid_config	 conf;

	config_defaults(&conf);
	assert_null(conf.path);
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_int_equal(conf.nlisten, 1);
	assert_string_equal(conf.listen[0].host, "*");
	assert_int_equal(conf.listen[0].port, 8080);
	assert_string_equal(conf.user, BENJID_USER);
	assert_string_equal(conf.chroot, BENJID_CHROOT);
	assert_string_equal(conf.control_socket, BENJID_SOCKET);
	assert_int_equal(conf.shutdown_timeout_ms, BENJID_SHUTDOWN_MS);
	config_free(&conf);
	assert_null(conf.user);
}

static void
profile_names_round_trip(void **state)
{
	enum profile	 p;

	assert_string_equal(config_profile_name(PROFILE_DEV), "dev");
	assert_string_equal(config_profile_name(PROFILE_TEST), "test");
	assert_string_equal(config_profile_name(PROFILE_PROD), "prod");
	assert_int_equal(config_profile_parse("prod", &p), 0);
	assert_int_equal(p, PROFILE_PROD);
	assert_int_equal(config_profile_parse("test", &p), 0);
	assert_int_equal(p, PROFILE_TEST);
	assert_int_equal(config_profile_parse("Prod", &p), -1);
	assert_int_equal(config_profile_parse("", &p), -1);
}

static void
missing_file_optional(void **state)
{
	struct benjid_config	 conf;

	config_defaults(&conf);
	assert_int_equal(parse_config(test_path("absent.conf"), 0, &conf), 0);
	assert_null(conf.path);
	assert_int_equal(conf.nlisten, 1);
	config_free(&conf);
}

static void
missing_file_required(void **state)
{
	struct benjid_config	 conf;
	int			 rc;

	config_defaults(&conf);
	capture_start();
	rc = parse_config(test_path("absent.conf"), 1, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_null(conf.path);
	assert_logged_at("absent.conf", 0, "absent.conf: No such file");
	config_free(&conf);
}

static void
empty_file_keeps_defaults(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text("", &conf), 0);
	assert_non_null(conf.path);
	assert_string_equal(conf.path, test_path("benjid.conf"));
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_int_equal(conf.nlisten, 1);
	assert_string_equal(conf.listen[0].host, "*");
	assert_int_equal(conf.listen[0].port, BENJID_PORT);
	assert_int_equal(logged_count(), 0);
	config_free(&conf);
}

static void
profile_directive(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text("profile prod\n", &conf), 0);
	assert_int_equal(conf.profile, PROFILE_PROD);
	config_free(&conf);

	assert_int_equal(parse_text("profile \"test\"\n", &conf), 0);
	assert_int_equal(conf.profile, PROFILE_TEST);
	config_free(&conf);
}

static void
profile_invalid(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text("\n# staging\nprofile staging\n", &conf),
	    -1);
	assert_logged_at("benjid.conf", 3,
	    "invalid profile \"staging\": expected dev, test or prod");
	assert_int_equal(conf.profile, PROFILE_DEV);
	config_free(&conf);
}

static void
listen_replaces_default(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "listen on 127.0.0.1\n"
	    "listen on ::1 port 9090\n"
	    "listen on localhost port 1\n"
	    "listen on * port 65535\n", &conf), 0);
	assert_int_equal(conf.nlisten, 4);
	assert_string_equal(conf.listen[0].host, "127.0.0.1");
	assert_int_equal(conf.listen[0].port, BENJID_PORT);
	assert_string_equal(conf.listen[1].host, "::1");
	assert_int_equal(conf.listen[1].port, 9090);
	assert_string_equal(conf.listen[2].host, "localhost");
	assert_int_equal(conf.listen[2].port, 1);
	assert_string_equal(conf.listen[3].host, "*");
	assert_int_equal(conf.listen[3].port, 65535);
	config_free(&conf);
}

static void
listen_invalid_address(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "listen on 127.0.0.1\n"
	    "listen on example.com\n"
	    "listen on 300.1.1.1 port 80\n"
	    "listen on \"[::1]\"\n", &conf), -1);
	assert_logged_at("benjid.conf", 2,
	    "invalid listen address \"example.com\"");
	assert_logged_at("benjid.conf", 3,
	    "invalid listen address \"300.1.1.1\"");
	assert_logged_at("benjid.conf", 4, "invalid listen address \"[::1]\"");
	assert_int_equal(logged_count(), 3);
	config_free(&conf);
}

static void
listen_invalid_port(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "listen on * port 0\n"
	    "listen on * port 65536\n"
	    "listen on * port http\n"
	    "listen on * port -1\n"
	    "listen on * port 99999999999999999999\n", &conf), -1);
	assert_logged_at("benjid.conf", 1, "invalid port 0: expected 1 to 65535");
	assert_logged_at("benjid.conf", 2, "invalid port 65536");
	assert_logged_at("benjid.conf", 3, "invalid port \"http\"");
	assert_logged_at("benjid.conf", 4, "invalid port -1");
	assert_logged_at("benjid.conf", 5,
	    "number 99999999999999999999 out of range");
	assert_int_equal(logged_count(), 5);
	config_free(&conf);
}

static void
listen_too_many(void **state)
{
	struct benjid_config	 conf;
	char			 text[1024];
	size_t			 len = 0;
	int			 i;

	for (i = 0; i <= BENJID_LISTEN_MAX; i++)
		len += snprintf(text + len, sizeof(text) - len,
		    "listen on 127.0.0.1 port %d\n", 8000 + i);
	assert_int_equal(parse_text(text, &conf), -1);
	assert_logged_at("benjid.conf", BENJID_LISTEN_MAX + 1,
	    "too many listen addresses: at most 8");
	assert_int_equal(logged_count(), 1);
	config_free(&conf);
}

static void
listen_duplicate(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "listen on ::1 port 8443\n"
	    "listen on ::1 port 8443\n", &conf), -1);
	assert_logged_at("benjid.conf", 2, "duplicate listen on ::1 port 8443");
	config_free(&conf);
}

static void
user_and_paths(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "user _benji-www\n"
	    "chroot \"/var/empty\"\n"
	    "control socket \"/run/benjid/ctl.sock\"\n", &conf), 0);
	assert_string_equal(conf.user, "_benji-www");
	assert_string_equal(conf.chroot, "/var/empty");
	assert_string_equal(conf.control_socket, "/run/benjid/ctl.sock");
	config_free(&conf);
}

static void
user_and_paths_invalid(void **state)
{
	struct benjid_config	 conf;
	char			 text[512];

	snprintf(text, sizeof(text),
	    "user \"-root\"\n"
	    "user \"a b\"\n"
	    "chroot \"var/empty\"\n"
	    "control socket \"benjid.sock\"\n"
	    "control socket \"/%0120d\"\n", 0);
	assert_int_equal(parse_text(text, &conf), -1);
	assert_logged_at("benjid.conf", 1, "invalid user \"-root\"");
	assert_logged_at("benjid.conf", 2, "invalid user \"a b\"");
	assert_logged_at("benjid.conf", 3,
	    "invalid chroot \"var/empty\": expected an absolute path");
	assert_logged_at("benjid.conf", 4,
	    "invalid control socket \"benjid.sock\": expected an absolute path");
	assert_logged_at("benjid.conf", 5, "invalid control socket \"/000");
	assert_logged_at("benjid.conf", 0, "\": longer than 107 bytes");
	assert_int_equal(logged_count(), 5);
	assert_string_equal(conf.user, BENJID_USER);
	config_free(&conf);
}

static void
shutdown_timeout_forms(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text("shutdown timeout PT2.5S\n", &conf), 0);
	assert_int_equal(conf.shutdown_timeout_ms, 2500);
	config_free(&conf);

	assert_int_equal(parse_text("shutdown timeout 30\n", &conf), 0);
	assert_int_equal(conf.shutdown_timeout_ms, 30000);
	config_free(&conf);

	assert_int_equal(parse_text("shutdown timeout \"PT5M\"\n", &conf), 0);
	assert_int_equal(conf.shutdown_timeout_ms, 300000);
	config_free(&conf);

	assert_int_equal(parse_text("shutdown timeout 0\n", &conf), 0);
	assert_int_equal(conf.shutdown_timeout_ms, 0);
	config_free(&conf);
}

static void
shutdown_timeout_invalid(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "shutdown timeout 301\n"
	    "shutdown timeout PT5M0.001S\n"
	    "shutdown timeout -1\n"
	    "shutdown timeout 5s\n"
	    "shutdown timeout\n", &conf), -1);
	assert_logged_at("benjid.conf", 1,
	    "invalid shutdown timeout 301: expected 0 to 300 seconds");
	assert_logged_at("benjid.conf", 2,
	    "invalid shutdown timeout of 300001 ms");
	assert_logged_at("benjid.conf", 3, "invalid shutdown timeout -1");
	assert_logged_at("benjid.conf", 4, "invalid shutdown timeout \"5s\"");
	assert_logged_at("benjid.conf", 5, "syntax error at end of line");
	assert_int_equal(logged_count(), 5);
	assert_int_equal(conf.shutdown_timeout_ms, BENJID_SHUTDOWN_MS);
	config_free(&conf);
}

static void
macros_expand(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "addr = \"::1\"\n"
	    "http_port = 9000\n"
	    "both = \"127.0.0.1 port 9001\"\n"
	    "copy = $addr\n"
	    "listen on $addr port $http_port\n"
	    "listen on $both\n"
	    "listen on $copy\n", &conf), 0);
	assert_int_equal(conf.nlisten, 3);
	assert_string_equal(conf.listen[0].host, "::1");
	assert_int_equal(conf.listen[0].port, 9000);
	assert_string_equal(conf.listen[1].host, "127.0.0.1");
	assert_int_equal(conf.listen[1].port, 9001);
	assert_string_equal(conf.listen[2].host, "::1");
	assert_int_equal(conf.listen[2].port, BENJID_PORT);
	config_free(&conf);
}

static void
macros_invalid(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "user $nobody\n"
	    "loop = \"$loop\"\n"
	    "9lives = \"x\"\n"
	    "listen on $\n"
	    "ok = \"prod\"\n"
	    "profile $ok\n", &conf), -1);
	assert_logged_at("benjid.conf", 1, "macro \"nobody\" is not defined");
	assert_logged_at("benjid.conf", 2,
	    "macro \"loop\": value must not contain '$'");
	assert_logged_at("benjid.conf", 3, "invalid macro name \"9lives\"");
	assert_logged_at("benjid.conf", 4, "missing macro name after '$'");
	assert_int_equal(logged_count(), 4);
	config_free(&conf);
}

static void
comments_quotes_continuation(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "# a comment line\n"
	    "   \t\n"
	    "profile test   # trailing comment\n"
	    "listen on 127.0.0.1 \\\n"
	    "    port 8081\n"
	    "chroot '/srv/with \"quote\"'\n"
	    "control socket \"/run/a\\\"b\\\\c\"\n"
	    "profile\r\n"
	    "user \"a\n", &conf), -1);
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_logged_at("benjid.conf", 8, "syntax error at end of line");
	assert_logged_at("benjid.conf", 9, "unterminated quoted string");
	assert_int_equal(logged_count(), 2);
	config_free(&conf);

	assert_int_equal(parse_text(
	    "profile test   # trailing comment\n"
	    "listen on 127.0.0.1 \\\n"
	    "    port 8081\n"
	    "chroot '/srv/with \"quote\"'\n"
	    "control socket \"/run/a\\\"b\\\\c\"\n"
	    "user nobody", &conf), 0);
	assert_int_equal(conf.profile, PROFILE_TEST);
	assert_int_equal(conf.nlisten, 1);
	assert_int_equal(conf.listen[0].port, 8081);
	assert_string_equal(conf.chroot, "/srv/with \"quote\"");
	assert_string_equal(conf.control_socket, "/run/a\"b\\c");
	assert_string_equal(conf.user, "nobody");
	config_free(&conf);
}

static void
line_numbers_after_continuation(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "listen on \\\n"
	    "  127.0.0.1 \\\n"
	    "  port 8080\n"
	    "bogus directive\n", &conf), -1);
	assert_logged_at("benjid.conf", 4, "syntax error at \"directive\"");
	config_free(&conf);
}

static void
syntax_errors_all_reported(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text(
	    "profile prod\n"
	    "listen 127.0.0.1\n"
	    "user\n"
	    "profile nope\n"
	    "{\n"
	    "shutdown timeout PT1X\n"
	    "user ok\n"
	    "control \"/run/x\"\n", &conf), -1);
	assert_logged_at("benjid.conf", 2, "syntax error at \"127.0.0.1\"");
	assert_logged_at("benjid.conf", 3, "syntax error at end of line");
	assert_logged_at("benjid.conf", 4, "invalid profile \"nope\"");
	assert_logged_at("benjid.conf", 5, "syntax error at \"{\"");
	assert_logged_at("benjid.conf", 6, "invalid shutdown timeout \"PT1X\"");
	assert_logged_at("benjid.conf", 8, "syntax error at \"/run/x\"");
	assert_int_equal(logged_count(), 6);

	/* A failed parse leaves the configuration as it was. */
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_string_equal(conf.user, BENJID_USER);
	assert_null(conf.path);
	config_free(&conf);
}

static void
nul_byte_rejected(void **state)
{
	static const char	 nul_text[] =
	    "profile prod\nuser a\0b\nuser \"a\0\"\n";
	struct benjid_config	 conf;
	const char		*path;
	int			 fd, rc;

	path = test_path("nul.conf");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, nul_text, sizeof(nul_text) - 1),
	    (ssize_t)sizeof(nul_text) - 1);
	close(fd);

	config_defaults(&conf);
	capture_start();
	rc = parse_config(path, 1, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_logged_at("nul.conf", 2, "NUL byte in configuration");
	assert_logged_at("nul.conf", 3, "NUL byte in quoted string");
	assert_int_equal(logged_count(), 2);
	config_free(&conf);
}

static void
include_relative_and_absolute(void **state)
{
	struct benjid_config	 conf;
	char			 text[PATH_MAX + 64];

	assert_int_equal(mkdir(test_path("conf.d"), 0700), 0);
	write_file("conf.d/listen.conf", 0600,
	    "listen on ::1 port 9443\n"
	    "include \"user.conf\"\n"
	    "listen on $addr");
	write_file("conf.d/user.conf", 0644, "user \"_inc\"\n");
	snprintf(text, sizeof(text),
	    "addr = \"127.0.0.1\"\n"
	    "include \"conf.d/listen.conf\"\n"
	    "include \"%s\"\n"
	    "profile test\n", test_path("conf.d/user.conf"));

	assert_int_equal(parse_text(text, &conf), 0);
	assert_int_equal(conf.nlisten, 2);
	assert_string_equal(conf.listen[0].host, "::1");
	assert_int_equal(conf.listen[0].port, 9443);
	assert_string_equal(conf.listen[1].host, "127.0.0.1");
	assert_string_equal(conf.user, "_inc");
	assert_int_equal(conf.profile, PROFILE_TEST);
	config_free(&conf);
}

static void
include_errors(void **state)
{
	struct benjid_config	 conf;

	write_file("bad.conf", 0600, "\n\nprofile none\n");
	write_file("self.conf", 0600, "include \"self.conf\"\n");
	write_file("open.conf", 0666, "profile prod\n");

	assert_int_equal(parse_text(
	    "include \"bad.conf\"\n"
	    "include \"nowhere.conf\"\n"
	    "include \"open.conf\"\n"
	    "include\n"
	    "profile pro\n", &conf), -1);
	assert_logged_at("bad.conf", 3, "invalid profile \"none\"");
	assert_logged_at("benjid.conf", 2, "include \"");
	assert_logged_at("benjid.conf", 0, "nowhere.conf\": No such file");
	assert_logged_at("open.conf", 0, "open.conf: writable by group or others");
	assert_logged_at("benjid.conf", 3, "include \"");
	assert_logged_at("benjid.conf", 0,
	    "open.conf\": unsafe ownership or mode");
	assert_logged_at("benjid.conf", 4, "syntax error at end of line");
	assert_logged_at("benjid.conf", 5, "invalid profile \"pro\"");
	config_free(&conf);

	assert_int_equal(parse_text("include \"self.conf\"\n", &conf), -1);
	assert_logged_at("self.conf", 1, "include \"");
	assert_logged_at("self.conf", 0,
	    "self.conf\": include loop, the file is already being read");
	assert_int_equal(logged_count(), 1);
	config_free(&conf);
}

static void
include_loops_and_depth(void **state)
{
	struct benjid_config	 conf;
	char			 name[32], text[64];
	int			 i;

	/*
	 * Without the loop check, three include lines per file would make
	 * the parser read 3^16 files.
	 */
	write_file("loop-a.conf", 0600, "include \"loop-b.conf\"\n"
	    "include \"loop-b.conf\"\ninclude \"loop-b.conf\"\n");
	write_file("loop-b.conf", 0600, "profile test\n"
	    "include \"loop-a.conf\"\ninclude \"loop-a.conf\"\n"
	    "include \"loop-a.conf\"\n");
	assert_int_equal(parse_text("include \"loop-a.conf\"\n", &conf), -1);
	assert_logged_at("loop-b.conf", 2, "include \"");
	assert_logged_at("loop-b.conf", 4, "include \"");
	assert_logged_at("loop-b.conf", 0, "loop-a.conf\": include loop");
	assert_int_equal(logged_count(), 9);
	config_free(&conf);

	/* benjid.conf and depth-1 to depth-15 make 16 files: the limit. */
	for (i = 1; i <= 16; i++) {
		snprintf(name, sizeof(name), "depth-%d.conf", i);
		snprintf(text, sizeof(text), "include \"depth-%d.conf\"\n",
		    i + 1);
		write_file(name, 0600, i < 15 ? text : "profile prod\n");
	}
	assert_int_equal(parse_text("include \"depth-1.conf\"\n", &conf), 0);
	assert_int_equal(conf.profile, PROFILE_PROD);
	config_free(&conf);

	write_file("depth-15.conf", 0600, "include \"depth-16.conf\"\n");
	assert_int_equal(parse_text("include \"depth-1.conf\"\n", &conf), -1);
	assert_logged_at("depth-15.conf", 1,
	    "include \"depth-16.conf\": nested deeper than 16 files");
	assert_int_equal(logged_count(), 1);
	config_free(&conf);
}

static void
permissions_rejected(void **state)
{
	struct benjid_config	 conf;
	const char		*path;
	int			 rc;

	path = write_file("group.conf", 0620, "profile prod\n");
	config_defaults(&conf);
	capture_start();
	rc = parse_config(path, 1, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_logged_at("group.conf", 0,
	    "group.conf: writable by group or others (mode 0620)");

	/* The check applies even when the file is optional. */
	path = write_file("world.conf", 0602, "profile prod\n");
	capture_start();
	rc = parse_config(path, 0, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_logged_at("world.conf", 0, "world.conf: writable by group");

	capture_start();
	rc = parse_config(test_dir, 1, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_logged_at(test_dir, 0, ": not a regular file");

	assert_int_equal(conf.profile, PROFILE_DEV);
	config_free(&conf);
}

static void
permissions_owner(void **state)
{
	struct benjid_config	 conf;
	const char		*path;
	int			 rc;

	if (getuid() != 0)
		skip();

	path = write_file("owner.conf", 0600, "profile prod\n");
	assert_int_equal(chown(path, 4242, 4242), 0);
	config_defaults(&conf);
	capture_start();
	rc = parse_config(path, 1, &conf);
	capture_end();
	assert_int_equal(rc, -1);
	assert_logged_at("owner.conf", 0,
	    "owner.conf: owned by uid 4242: expected root or uid 0");

	/* Read-only for everyone is fine; only writes by others matter. */
	path = write_file("readonly.conf", 0444, "profile prod\n");
	assert_int_equal(parse_config(path, 1, &conf), 0);
	assert_int_equal(conf.profile, PROFILE_PROD);
	config_free(&conf);
}

static void
reparse_resets_state(void **state)
{
	struct benjid_config	 conf;

	assert_int_equal(parse_text("m = \"prod\"\nprofile $m\nuser \"x", &conf),
	    -1);
	config_free(&conf);

	/* Macros and errors of the previous run must not leak into this one. */
	assert_int_equal(parse_text("profile $m\n", &conf), -1);
	assert_logged_at("benjid.conf", 1, "macro \"m\" is not defined");
	config_free(&conf);

	assert_int_equal(parse_text("listen on ::1\n", &conf), 0);
	assert_int_equal(conf.nlisten, 1);
	config_free(&conf);

	assert_int_equal(parse_text("profile test\n", &conf), 0);
	assert_int_equal(conf.nlisten, 1);
	assert_string_equal(conf.listen[0].host, "*");
	config_free(&conf);
}

static void
duration_valid_forms(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 ms;
	} cases[] = {
		{ "PT30S", 30000 },
		{ "PT0.5S", 500 },
		{ "PT1M", 60000 },
		{ "PT1H30M", 5400000 },
		{ "P1D", 86400000 },
		{ "PT1M30.25S", 90250 },
		{ "P2DT3H4M5.006S", 183845006 },
		{ "PT0S", 0 },
		{ "pt15s", 15000 },
		{ "PT0,75S", 750 },
		{ "PT1.0001S", 1000 },
		{ "PT0.123456789S", 123 },
		{ "PT36H", 129600000 },
		{ "P0D", 0 }
	};
	uint64_t	 ms;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = UINT64_MAX;
		if (parse_duration_ms(cases[i].text, &ms) != 0)
			fail_msg("\"%s\" rejected", cases[i].text);
		if (ms != cases[i].ms)
			fail_msg("\"%s\": %llu ms, expected %llu",
			    cases[i].text, (unsigned long long)ms,
			    (unsigned long long)cases[i].ms);
	}
}

static void
duration_rejects_invalid(void **state)
{
	static const char *const cases[] = {
		"", "P", "PT", "30S", "PT-5S", "-PT5S", "+PT5S", "PT+5S",
		"PT5", "PTS", "PT5S ", " PT5S", "PT5Sx", "PT5S5M", "PT1M1H",
		"PT1S1S", "PT1.5M", "PT1.5H", "PT.5S", "PT1.S", "P1DT",
		"P1W", "P1Y", "P1M", "PT1D", "P1H", "PT0.1234567891S", "xyz",
		"PT5s\n", "P1DT1H1D", "PT1H 30M"
	};
	uint64_t	 ms;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (parse_duration_ms(cases[i], &ms) != -1)
			fail_msg("\"%s\" accepted", cases[i]);
	assert_int_equal(parse_duration_ms(NULL, &ms), -1);
}

static void
duration_overflow(void **state)
{
	uint64_t	 ms;

	/* UINT64_MAX is 18446744073709551615. */
	assert_int_equal(parse_duration_ms("PT18446744073709551S", &ms), 0);
	assert_true(ms == 18446744073709551000ULL);
	assert_int_equal(parse_duration_ms("PT18446744073709551.615S", &ms), 0);
	assert_true(ms == UINT64_MAX);
	assert_int_equal(parse_duration_ms("PT18446744073709551.616S", &ms),
	    -1);
	assert_int_equal(parse_duration_ms("PT18446744073709552S", &ms), -1);
	assert_int_equal(parse_duration_ms("PT99999999999999999999S", &ms), -1);
	assert_int_equal(parse_duration_ms("P213503982334DT14H", &ms), 0);
	assert_int_equal(parse_duration_ms("P213503982334DT15H", &ms), -1);
	assert_int_equal(parse_duration_ms("P213503982335D", &ms), -1);
	assert_int_equal(parse_duration_ms("PT5124095576030431H", &ms), -1);
}

static void
env_overrides(void **state)
{
	struct benjid_config	 conf;
	char			 err[256] = "";

	assert_int_equal(parse_text(
	    "listen on 127.0.0.1 port 81\n"
	    "listen on ::1 port 82\n"
	    "profile prod\n", &conf), 0);
	setenv("SERVER_PORT", "9999", 1);
	setenv("SPRING_PROFILES_ACTIVE", "test", 1);
	setenv("BENJID_USER", "_other", 1);
	setenv("BENJID_CHROOT", "/srv/empty", 1);
	assert_int_equal(config_env(&conf, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(conf.listen[0].port, 9999);
	assert_int_equal(conf.listen[1].port, 9999);
	assert_int_equal(conf.profile, PROFILE_TEST);
	assert_string_equal(conf.user, "_other");
	assert_string_equal(conf.chroot, "/srv/empty");
	config_free(&conf);
}

static void
env_unset_or_empty(void **state)
{
	struct benjid_config	 conf;
	char			 err[256];
	size_t			 i;

	config_defaults(&conf);
	assert_int_equal(config_env(&conf, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		setenv(env_names[i], "", 1);
	assert_int_equal(config_env(&conf, err, sizeof(err)), 0);
	assert_int_equal(conf.listen[0].port, BENJID_PORT);
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_string_equal(conf.user, BENJID_USER);
	assert_string_equal(conf.chroot, BENJID_CHROOT);
	config_free(&conf);
}

static void
env_profile_list(void **state)
{
	static const struct {
		const char	*value;
		enum profile	 profile;
	} cases[] = {
		{ "prod", PROFILE_PROD },
		{ "cloud,prod", PROFILE_PROD },
		{ "aws, test ,prod", PROFILE_TEST },
		{ "dev,prod", PROFILE_DEV },
		{ ",,prod,", PROFILE_PROD }
	};
	struct benjid_config	 conf;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&conf);
		conf.profile = PROFILE_TEST;
		setenv("SPRING_PROFILES_ACTIVE", cases[i].value, 1);
		if (config_env(&conf, err, sizeof(err)) != 0)
			fail_msg("\"%s\" rejected: %s", cases[i].value, err);
		if (conf.profile != cases[i].profile)
			fail_msg("\"%s\": profile %s", cases[i].value,
			    config_profile_name(conf.profile));
		config_free(&conf);
	}
}

static void
env_invalid_values(void **state)
{
	static const struct {
		const char	*name;
		const char	*value;
		const char	*message;
	} cases[] = {
		{ "SERVER_PORT", "0", "invalid SERVER_PORT \"0\": expected "
		    "a port number from 1 to 65535" },
		{ "SERVER_PORT", "65536", "invalid SERVER_PORT \"65536\"" },
		{ "SERVER_PORT", "80x", "invalid SERVER_PORT \"80x\"" },
		{ "SERVER_PORT", "-80", "invalid SERVER_PORT \"-80\"" },
		{ "SERVER_PORT", " 80", "invalid SERVER_PORT \" 80\"" },
		{ "SERVER_PORT", "99999999999999999999",
		    "invalid SERVER_PORT \"99999999999999999999\"" },
		{ "SPRING_PROFILES_ACTIVE", "staging,cloud",
		    "invalid SPRING_PROFILES_ACTIVE \"staging,cloud\": expected "
		    "a comma-separated list that contains dev, test or prod" },
		{ "SPRING_PROFILES_ACTIVE", "PROD",
		    "invalid SPRING_PROFILES_ACTIVE \"PROD\"" },
		{ "BENJID_USER", "-x", "invalid BENJID_USER \"-x\": expected a "
		    "user name" },
		{ "BENJID_USER", "a:b", "invalid BENJID_USER \"a:b\"" },
		{ "BENJID_USER", "abcdefghijklmnopqrstuvwxyz0123456",
		    "invalid BENJID_USER" },
		{ "BENJID_CHROOT", "relative/dir", "invalid BENJID_CHROOT "
		    "\"relative/dir\": expected an absolute directory path" }
	};
	struct benjid_config	 conf;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&conf);
		env_teardown(state);
		setenv(cases[i].name, cases[i].value, 1);
		err[0] = '\0';
		if (config_env(&conf, err, sizeof(err)) != -1)
			fail_msg("%s=\"%s\" accepted", cases[i].name,
			    cases[i].value);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("%s=\"%s\": message \"%s\"", cases[i].name,
			    cases[i].value, err);
		assert_int_equal(conf.listen[0].port, BENJID_PORT);
		assert_string_equal(conf.user, BENJID_USER);
		assert_string_equal(conf.chroot, BENJID_CHROOT);
		config_free(&conf);
	}
}

static void
env_error_keeps_config(void **state)
{
	struct benjid_config	 conf;
	char			 err[256];

	config_defaults(&conf);
	setenv("SERVER_PORT", "9999", 1);
	setenv("SPRING_PROFILES_ACTIVE", "prod", 1);
	setenv("BENJID_USER", "_other", 1);
	setenv("BENJID_CHROOT", "srv/empty", 1);
	assert_int_equal(config_env(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid BENJID_CHROOT \"srv/empty\""));
	assert_int_equal(conf.listen[0].port, BENJID_PORT);
	assert_int_equal(conf.profile, PROFILE_DEV);
	assert_string_equal(conf.user, BENJID_USER);
	assert_string_equal(conf.chroot, BENJID_CHROOT);
	config_free(&conf);
}

/* Reads the literal display of the EXAMPLES section of benjid.conf(5). */
static char *
manual_example(const char *path)
{
	FILE	*f;
	char	*line = NULL, *text;
	size_t	 linesize = 0, used = 0, len;
	int	 in_examples = 0, in_display = 0;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	text = calloc(1, 1);
	assert_non_null(text);
	while (getline(&line, &linesize, f) != -1) {
		if (strncmp(line, ".Sh ", 4) == 0)
			in_examples = strcmp(line, ".Sh EXAMPLES\n") == 0;
		else if (in_examples && strncmp(line, ".Bd -literal", 12) == 0)
			in_display = 1;
		else if (in_display && strcmp(line, ".Ed\n") == 0)
			break;
		else if (in_display) {
			len = strlen(line);
			text = realloc(text, used + len + 1);
			assert_non_null(text);
			memcpy(text + used, line, len + 1);
			used += len;
		}
	}
	free(line);
	fclose(f);
	return text;
}

static void
example_conf_parses(void **state)
{
	struct benjid_config	 conf;
	const char		*srcdir;
	char			 path[PATH_MAX], text[8192], *example;
	FILE			*f;
	size_t			 len;

	if ((srcdir = getenv("BENJI_SRCDIR")) == NULL)
		srcdir = ".";
	snprintf(path, sizeof(path), "%s/regress/conf/example.conf", srcdir);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: %s (run from the source tree or set "
		    "BENJI_SRCDIR)", path, strerror(errno));
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';

	/* A copy, so that the mode of the checked-out file does not matter. */
	assert_int_equal(parse_text(text, &conf), 0);
	assert_int_equal(logged_count(), 0);
	assert_int_equal(conf.profile, PROFILE_PROD);
	assert_int_equal(conf.nlisten, 2);
	assert_string_equal(conf.listen[0].host, "127.0.0.1");
	assert_int_equal(conf.listen[0].port, 8080);
	assert_string_equal(conf.listen[1].host, "::1");
	assert_int_equal(conf.listen[1].port, 8080);
	assert_string_equal(conf.user, "_benjid");
	assert_int_equal(conf.shutdown_timeout_ms, 10000);
	config_free(&conf);

	snprintf(path, sizeof(path), "%s/docs/benjid.conf.5", srcdir);
	example = manual_example(path);
	if (example == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_string_equal(example, text);
	free(example);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_values),
		cmocka_unit_test(profile_names_round_trip),
		cmocka_unit_test(missing_file_optional),
		cmocka_unit_test(missing_file_required),
		cmocka_unit_test(empty_file_keeps_defaults),
		cmocka_unit_test(profile_directive),
		cmocka_unit_test(profile_invalid),
		cmocka_unit_test(listen_replaces_default),
		cmocka_unit_test(listen_invalid_address),
		cmocka_unit_test(listen_invalid_port),
		cmocka_unit_test(listen_too_many),
		cmocka_unit_test(listen_duplicate),
		cmocka_unit_test(user_and_paths),
		cmocka_unit_test(user_and_paths_invalid),
		cmocka_unit_test(shutdown_timeout_forms),
		cmocka_unit_test(shutdown_timeout_invalid),
		cmocka_unit_test(macros_expand),
		cmocka_unit_test(macros_invalid),
		cmocka_unit_test(comments_quotes_continuation),
		cmocka_unit_test(line_numbers_after_continuation),
		cmocka_unit_test(syntax_errors_all_reported),
		cmocka_unit_test(nul_byte_rejected),
		cmocka_unit_test(include_relative_and_absolute),
		cmocka_unit_test(include_errors),
		cmocka_unit_test(include_loops_and_depth),
		cmocka_unit_test(permissions_rejected),
		cmocka_unit_test(permissions_owner),
		cmocka_unit_test(reparse_resets_state),
		cmocka_unit_test(duration_valid_forms),
		cmocka_unit_test(duration_rejects_invalid),
		cmocka_unit_test(duration_overflow),
		cmocka_unit_test_teardown(env_overrides, env_teardown),
		cmocka_unit_test_teardown(env_unset_or_empty, env_teardown),
		cmocka_unit_test_teardown(env_profile_list, env_teardown),
		cmocka_unit_test_teardown(env_invalid_values, env_teardown),
		cmocka_unit_test_teardown(env_error_keeps_config, env_teardown),
		cmocka_unit_test(example_conf_parses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
