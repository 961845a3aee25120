/*
 * Unit tests of the database helpers: datasource URLs, Flyway checksums
 * and version order, and the "database" settings.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "benjid.h"
#include "db.h"

static void
parse_ok(const char *url, struct db_params *p)
{
	char	 err[512];

	err[0] = '\0';
	if (db_url_parse(url, p, err, sizeof(err)) == -1)
		fail_msg("%s: %s", url, err);
}

static void
test_url_jdbc_full(void **state)
{
	struct db_params	 p;

	parse_ok("jdbc:postgresql://db.example:6543/trading?user=app&"
	    "password=p%40ss&sslmode=require&ApplicationName=x&"
	    "connectTimeout=7", &p);
	assert_string_equal(db_params_get(&p, "host"), "db.example");
	assert_string_equal(db_params_get(&p, "port"), "6543");
	assert_string_equal(db_params_get(&p, "dbname"), "trading");
	assert_string_equal(db_params_get(&p, "user"), "app");
	assert_string_equal(db_params_get(&p, "password"), "p@ss");
	assert_string_equal(db_params_get(&p, "sslmode"), "require");
	assert_string_equal(db_params_get(&p, "application_name"), "x");
	assert_string_equal(db_params_get(&p, "connect_timeout"), "7");
	assert_null(p.keys[p.n]);
	db_params_free(&p);
}

static void
test_url_jdbc_hosts(void **state)
{
	struct db_params	 p;

	parse_ok("jdbc:postgresql://a,[::1]:5433,b:7/db", &p);
	assert_string_equal(db_params_get(&p, "host"), "a,::1,b");
	assert_string_equal(db_params_get(&p, "port"), "5432,5433,7");
	db_params_free(&p);

	parse_ok("jdbc:postgresql:benji", &p);
	assert_string_equal(db_params_get(&p, "host"), "localhost");
	assert_string_equal(db_params_get(&p, "dbname"), "benji");
	db_params_free(&p);

	parse_ok("jdbc:postgresql://h/db?currentSchema=app", &p);
	assert_string_equal(db_params_get(&p, "options"),
	    "-c search_path=app");
	db_params_free(&p);
}

static void
test_url_libpq_forms(void **state)
{
	struct db_params	 p;

	parse_ok("postgresql://u@127.0.0.1:5999/x?sslmode=disable", &p);
	assert_string_equal(db_params_get(&p, "host"), "127.0.0.1");
	assert_string_equal(db_params_get(&p, "port"), "5999");
	assert_string_equal(db_params_get(&p, "user"), "u");
	assert_string_equal(db_params_get(&p, "sslmode"), "disable");
	db_params_free(&p);

	parse_ok("host=/run/postgresql dbname=benji port=5432", &p);
	assert_string_equal(db_params_get(&p, "host"), "/run/postgresql");
	assert_string_equal(db_params_get(&p, "dbname"), "benji");
	assert_null(db_params_get(&p, "user"));
	db_params_free(&p);
}

static void
test_url_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"jdbc:mysql://h/db",
		"jdbc:postgresql://h:0/db",
		"jdbc:postgresql://h:99999/db",
		"jdbc:postgresql://h:x/db",
		"jdbc:postgresql://[::1/db",
		"jdbc:postgresql://h/db?loggerLevel=DEBUG",
		"jdbc:postgresql://h/db?user",
		"jdbc:postgresql://h/db?user=%zz",
		"jdbc:postgresql://h/db?user=a%00b",
		"postgresql://h/db?nosuchoption=1",
		"host=h nosuchkeyword=1",
	};
	struct db_params	 p;
	char			 err[512];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (db_url_parse(bad[i], &p, err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != '\0');
		assert_int_equal(p.n, 0);
	}
}

static void
test_url_error_hides_password(void **state)
{
	struct db_params	 p;
	char			 err[512];

	assert_int_equal(db_url_parse("jdbc:postgresql://h/db?password="
	    "s3cret&bogus=1", &p, err, sizeof(err)), -1);
	assert_null(strstr(err, "s3cret"));
}

static void
test_params_set_replaces(void **state)
{
	struct db_params	 p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(db_params_set(&p, "user", "a"), 0);
	assert_int_equal(db_params_set(&p, "user", "b"), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(db_params_get(&p, "user"), "b");
	db_params_free(&p);
}

/* Values computed with Java's CRC32 rule: zlib's crc32 over the lines. */
static void
test_checksum_lines(void **state)
{
	/* crc32("") */
	assert_int_equal(db_checksum("", 0), 0);
	/* crc32("ab") = 0x9e83486d, negative as a signed int */
	assert_int_equal(db_checksum("a\nb\n", 4), (int32_t)0x9e83486d);
	assert_int_equal(db_checksum("a\r\nb", 4), (int32_t)0x9e83486d);
	assert_int_equal(db_checksum("a\rb\r", 4), (int32_t)0x9e83486d);
	assert_int_equal(db_checksum("\xef\xbb\xbf" "a\nb", 6),
	    (int32_t)0x9e83486d);
	/* crc32("SELECT 1;") */
	assert_int_equal(db_checksum("SELECT 1;\n", 10), (int32_t)0x04b2335c);
}

static void
test_checksum_embedded(void **state)
{
	size_t	 i;

	assert_true(db_nmigrations >= 3);
	for (i = 0; i < db_nmigrations; i++) {
		assert_non_null(db_migrations[i].text);
		assert_int_equal(strlen(db_migrations[i].text),
		    db_migrations[i].len);
		if (i > 0)
			assert_true(db_version_cmp(db_migrations[i - 1].version,
			    db_migrations[i].version) < 0);
	}
	assert_string_equal(db_migrations[0].script,
	    "V1__create_portfolio_position.sql");
	assert_string_equal(db_migrations[0].description,
	    "create portfolio position");
}

static void
test_version_order(void **state)
{
	assert_int_equal(db_version_cmp("1", "1"), 0);
	assert_int_equal(db_version_cmp("1.0", "1"), 0);
	assert_int_equal(db_version_cmp("01", "1"), 0);
	assert_true(db_version_cmp("1.9", "1.10") < 0);
	assert_true(db_version_cmp("2", "10") < 0);
	assert_true(db_version_cmp("10", "9") > 0);
	assert_true(db_version_cmp("1.1", "1") > 0);
	assert_true(db_version_cmp("123456789012345678901", "2") > 0);
	assert_true(db_version_valid("2.1"));
	assert_false(db_version_valid(""));
	assert_false(db_version_valid("1."));
	assert_false(db_version_valid(".1"));
	assert_false(db_version_valid("1..2"));
	assert_false(db_version_valid("1a"));
}

static void
test_config_options(void **state)
{
	struct benjid_config	 conf;
	char			 err[512];

	memset(&conf, 0, sizeof(conf));
	db_config_defaults(&conf);
	assert_int_equal(conf.db_pool_size, 4);
	assert_string_equal(conf.db_timezone, "UTC");
	assert_int_equal(db_config_set(&conf, "pool-size", "8", err,
	    sizeof(err)), 0);
	assert_int_equal(conf.db_pool_size, 8);
	assert_int_equal(db_config_set(&conf, "pool-size", "0", err,
	    sizeof(err)), -1);
	assert_int_equal(db_config_set(&conf, "pool-size", "65", err,
	    sizeof(err)), -1);
	assert_int_equal(db_config_set(&conf, "statement-timeout", "PT2S",
	    err, sizeof(err)), 0);
	assert_int_equal(conf.db_statement_timeout_ms, 2000);
	assert_int_equal(db_config_set(&conf, "connect-timeout", "PT0S",
	    err, sizeof(err)), -1);
	assert_int_equal(db_config_set(&conf, "timezone", "Europe/Berlin",
	    err, sizeof(err)), 0);
	assert_int_equal(db_config_set(&conf, "timezone", "x'; drop",
	    err, sizeof(err)), -1);
	assert_int_equal(db_config_set(&conf, "url", "jdbc:nope", err,
	    sizeof(err)), -1);
	assert_int_equal(db_config_set(&conf, "colour", "red", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "colour"));
	db_config_free(&conf);
}

static void
test_config_env(void **state)
{
	struct benjid_config	 conf;
	char			 err[512];

	memset(&conf, 0, sizeof(conf));
	db_config_defaults(&conf);
	setenv("SPRING_DATASOURCE_URL", "jdbc:postgresql://h:1/d", 1);
	setenv("SPRING_DATASOURCE_USERNAME", "svc", 1);
	assert_int_equal(db_config_env(&conf, err, sizeof(err)), 0);
	assert_string_equal(conf.db_url, "jdbc:postgresql://h:1/d");
	assert_string_equal(conf.db_user, "svc");
	setenv("SPRING_DATASOURCE_URL", "jdbc:postgresql://h:x/d", 1);
	assert_int_equal(db_config_env(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SPRING_DATASOURCE_URL"));
	unsetenv("SPRING_DATASOURCE_URL");
	unsetenv("SPRING_DATASOURCE_USERNAME");
	db_config_free(&conf);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_url_jdbc_full),
		cmocka_unit_test(test_url_jdbc_hosts),
		cmocka_unit_test(test_url_libpq_forms),
		cmocka_unit_test(test_url_invalid),
		cmocka_unit_test(test_url_error_hides_password),
		cmocka_unit_test(test_params_set_replaces),
		cmocka_unit_test(test_checksum_lines),
		cmocka_unit_test(test_checksum_embedded),
		cmocka_unit_test(test_version_order),
		cmocka_unit_test(test_config_options),
		cmocka_unit_test(test_config_env),
	};

	log_init("test_db", LOG_TO_TEXT, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
