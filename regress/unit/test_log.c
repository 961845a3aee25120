/*
 * Unit tests of the JSON log lines: escaping against json-c, fields,
 * invalid UTF-8, and lines kept back by log_defer until log_flush.
 * While a test logs, stderr is a SOCK_SEQPACKET socket, so each write is
 * read back as one packet. cmocka's own messages go to the real stderr.
 */

#include <sys/socket.h>

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "benjid.h"

static int	 peer = -1, sock = -1, saved = -1;
static int	 kicks;

static void
capture(int on)
{
	if (dup2(on ? sock : saved, STDERR_FILENO) == -1)
		abort();
}

/* Reads one write of the process to stderr; returns its length. */
static size_t
read_packet(char *buf, size_t size)
{
	ssize_t	 n;

	n = recv(peer, buf, size - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void
assert_no_packet(void)
{
	char	 buf[16];

	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

static int
setup(void **state)
{
	int	 sv[2];
	int	 size = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return -1;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if ((saved = dup(STDERR_FILENO)) == -1)
		return -1;
	sock = sv[0];
	peer = sv[1];
	log_init("test", LOG_TO_JSON, 0);
	return 0;
}

/* The text json-c prints for s as a string, without "\/". */
static const char *
json_c_string(struct json_object **keep, const char *s)
{
	*keep = json_object_new_string(s);
	return json_object_to_json_string_ext(*keep, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void
test_shape(void **state)
{
	char		 line[4096], prefix[128];
	regex_t		 re;
	size_t		 len;

	capture(1);
	log_kv(LOG_INFO, "hello", "b", "2", "a", "1", LOG_FIELDS_END);
	capture(0);
	len = read_packet(line, sizeof(line));
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_int_equal(regcomp(&re, "^\\{\"time\":\"[0-9]{4}-[0-9]{2}-"
	    "[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\",\"level\":"
	    "\"info\",\"process\":\"test\",\"pid\":[0-9]+,", REG_EXTENDED |
	    REG_NOSUB), 0);
	assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
	regfree(&re);
	snprintf(prefix, sizeof(prefix), "\"pid\":%d,", (int)getpid());
	assert_non_null(strstr(line, prefix));
	assert_non_null(strstr(line, "\"message\":\"hello\",\"fields\":"
	    "{\"b\":\"2\",\"a\":\"1\"}}\n"));
}

/* A repeated key keeps its first place and takes its last value. */
static void
test_repeated_keys(void **state)
{
	char	 line[4096];

	capture(1);
	log_kv(LOG_WARNING, "m", "k", "1", "j", "2", "k", "3", "j", NULL,
	    LOG_FIELDS_END);
	capture(0);
	read_packet(line, sizeof(line));
	assert_non_null(strstr(line, "\"level\":\"warn\""));
	assert_non_null(strstr(line,
	    "\"fields\":{\"k\":\"3\",\"j\":\"\"}}\n"));
}

static void
test_invalid_utf8(void **state)
{
	char	 line[4096];

	capture(1);
	log_kv(LOG_ERR, "bad \xff\xc3(", "path", "/a\xe2\x82", LOG_FIELDS_END);
	capture(0);
	read_packet(line, sizeof(line));
	assert_non_null(strstr(line,
	    "\"message\":\"bad \\\\xff\\\\xc3(\""));
	assert_non_null(strstr(line, "\"path\":\"/a\\\\xe2\\\\x82\""));
}

/*
 * Random valid UTF-8 with quotes, backslashes and control characters is
 * escaped byte for byte as json-c escapes it, in the message and in a
 * field.
 */
static void
test_escaping_random(void **state)
{
	static const char	*pieces[] = { "a", "Z", "0", " ", "\"", "\\",
	    "/", "\t", "\n", "\r", "\b", "\f", "\x01", "\x1f", "\x7f",
	    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "%", "{", "}" };
	struct json_object	*j1, *j2;
	char			 s[256], line[8192], want[4096];
	size_t			 n, i, k;
	unsigned int		 seed = 7;

	for (i = 0; i < 2000; i++) {
		n = 0;
		s[0] = '\0';
		for (k = rand_r(&seed) % 40; k > 0; k--) {
			const char *p = pieces[rand_r(&seed) %
			    (sizeof(pieces) / sizeof(pieces[0]))];

			if (n + strlen(p) >= sizeof(s))
				break;
			memcpy(s + n, p, strlen(p) + 1);
			n += strlen(p);
		}
		capture(1);
		log_kv(LOG_INFO, s, "value", s, LOG_FIELDS_END);
		capture(0);
		read_packet(line, sizeof(line));
		snprintf(want, sizeof(want), "\"message\":%s,\"fields\":"
		    "{\"value\":%s}}\n", json_c_string(&j1, s),
		    json_c_string(&j2, s));
		assert_non_null(strstr(line, want));
		json_object_put(j1);
		json_object_put(j2);
	}
}

static void
count_kick(void)
{
	kicks++;
}

/*
 * Deferred lines wait for log_flush, ask for it once per batch, and
 * leave in writes of whole lines within PIPE_BUF.
 */
static void
test_defer(void **state)
{
	char	 buf[8192], field[300];
	size_t	 len, total = 0, lines = 0, i;

	capture(1);
	log_defer(count_kick);
	kicks = 0;
	log_kv(LOG_INFO, "one", LOG_FIELDS_END);
	log_kv(LOG_INFO, "two", LOG_FIELDS_END);
	log_flush();
	capture(0);
	assert_int_equal(kicks, 1);
	len = read_packet(buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"message\":\"one\"}\n{"));
	assert_int_equal(buf[len - 1], '\n');
	assert_non_null(strstr(buf, "\"message\":\"two\"}\n"));
	assert_no_packet();

	/* Nothing leaves before log_flush. */
	capture(1);
	log_kv(LOG_INFO, "held", LOG_FIELDS_END);
	capture(0);
	assert_no_packet();
	capture(1);
	log_flush();
	capture(0);
	len = read_packet(buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"message\":\"held\"}\n"));

	/* About 40 lines of 300 bytes: several writes, none cut. */
	memset(field, 'x', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	capture(1);
	for (i = 0; i < 40; i++)
		log_kv(LOG_INFO, "many", "f", field, LOG_FIELDS_END);
	log_flush();
	capture(0);
	assert_true(kicks > 2);
	while (recv(peer, buf, 0, MSG_PEEK | MSG_DONTWAIT) >= 0) {
		len = read_packet(buf, sizeof(buf));
		assert_true(len <= 4096);
		assert_int_equal(buf[len - 1], '\n');
		assert_int_equal(strncmp(buf, "{\"time\":", 8), 0);
		for (i = 0; i < len; i++)
			lines += buf[i] == '\n';
		total += len;
	}
	assert_int_equal(lines, 40);

	/*
	 * A line longer than a batch is cut to fit: its values keep their
	 * first 1024 bytes and end with "...".
	 */
	memset(buf, 'y', 5000);
	buf[5000] = '\0';
	capture(1);
	log_kv(LOG_INFO, "short", LOG_FIELDS_END);
	log_kv(LOG_INFO, buf, "path", buf, LOG_FIELDS_END);
	log_flush();
	capture(0);
	len = read_packet(buf, sizeof(buf));
	assert_true(len <= 4096);
	assert_non_null(strstr(buf, "\"message\":\"short\"}\n{"));
	assert_non_null(strstr(buf, "yyyy...\",\"fields\":{\"path\":\"yyy"));
	assert_non_null(strstr(buf, "yyyy...\"}}\n"));
	for (i = 0, lines = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 2);
	assert_no_packet();
	capture(1);
	log_defer(NULL);
	capture(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_repeated_keys),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_escaping_random),
		cmocka_unit_test(test_defer),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
