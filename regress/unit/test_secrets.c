/*
 * Unit tests of the parent's secret handling: the placeholder rules, the
 * wiping of the environment, secret files and the rules of profile prod.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "benjid.h"

#define GOOD_KEY	"unit-test-key-0123456789abcdef"
#define GOOD_PASSWORD	"unit-test-password-0123456789"

static void
clear_env(void)
{
	unsetenv("TRADING_API_KEY");
	unsetenv("ACTUATOR_USERNAME");
	unsetenv("ACTUATOR_PASSWORD");
	unsetenv("MANAGEMENT_USERNAME");
	unsetenv("MANAGEMENT_PASSWORD");
}

static void
test_placeholders_rejected(void **state)
{
	static const char *const bad[] = {
		"", "replace_me", "changeme", "change_me", "changeMe",
		"CHANGEME", "Replace_Me", "fifteen-bytes-x",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(secrets_check_value(bad[i], strlen(bad[i]),
		    16), -1);
	assert_int_equal(secrets_check_value("sixteen-bytes-xx", 16, 16), 0);
	assert_int_equal(secrets_check_value("ops", 3, 1), 0);
	assert_int_equal(secrets_check_value("changeme", 8, 1), -1);
}

static void
test_environment_wiped(void **state)
{
	struct benjid_config	 conf;
	char			 err[512] = "";
	const char		*value;
	size_t			 i, len;

	clear_env();
	config_defaults(&conf);
	assert_int_equal(setenv("TRADING_API_KEY", GOOD_KEY, 1), 0);
	value = getenv("TRADING_API_KEY");
	len = strlen(value);

	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), 0);
	assert_null(getenv("TRADING_API_KEY"));
	/* glibc keeps strings made by setenv, so reading them is safe. */
	for (i = 0; i < len; i++)
		assert_int_equal(value[i], 0);
	config_free(&conf);
}

static void
test_prod_rules(void **state)
{
	struct benjid_config	 conf;
	char			 err[512] = "";

	clear_env();
	config_defaults(&conf);
	conf.profile = PROFILE_PROD;
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TRADING_API_KEY"));

	setenv("TRADING_API_KEY", "changeme", 1);
	setenv("ACTUATOR_USERNAME", "ops", 1);
	setenv("ACTUATOR_PASSWORD", GOOD_PASSWORD, 1);
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TRADING_API_KEY"));
	assert_null(strstr(err, "changeme"));

	setenv("TRADING_API_KEY", GOOD_KEY "," GOOD_KEY "2", 1);
	setenv("ACTUATOR_USERNAME", "ops", 1);
	setenv("MANAGEMENT_PASSWORD", GOOD_PASSWORD, 1);
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), 0);

	setenv("TRADING_API_KEY", GOOD_KEY, 1);
	setenv("ACTUATOR_USERNAME", "ops", 1);
	setenv("ACTUATOR_PASSWORD", "short", 1);
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ACTUATOR_PASSWORD"));
	config_free(&conf);
}

static void
test_key_file(void **state)
{
	struct benjid_config	 conf;
	static const char	 text[] = "\n " GOOD_KEY " \r\n\n";
	char			 err[512] = "", path[] = "/tmp/benji-keyXXXXXX";
	int			 fd;

	clear_env();
	config_defaults(&conf);
	conf.profile = PROFILE_PROD;
	setenv("ACTUATOR_USERNAME", "ops", 1);
	setenv("ACTUATOR_PASSWORD", GOOD_PASSWORD, 1);
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	conf.api_key_file = strdup(path);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));

	setenv("ACTUATOR_USERNAME", "ops", 1);
	setenv("ACTUATOR_PASSWORD", GOOD_PASSWORD, 1);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(secrets_load(&conf, 1, err, sizeof(err)), 0);

	unlink(path);
	config_free(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders_rejected),
		cmocka_unit_test(test_environment_wiped),
		cmocka_unit_test(test_prod_rules),
		cmocka_unit_test(test_key_file),
	};

	log_init("test_secrets", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
