/*
 * Unit tests for ipc/ipc.c and ipc/body.c: framing over real socketpairs,
 * descriptor passing, body validation, typed getters and the libevent path.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

#define TEST_TYPE	42
#define TEST_FRAMES	1000

struct test_pair {
	int		 sv[2];
	struct ipc_conn	 tx;
	struct ipc_conn	 rx;
};

static void
test_pair_init(struct test_pair *p)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    p->sv), 0);
	ipc_conn_init(&p->tx, p->sv[0], "tx");
	ipc_conn_init(&p->rx, p->sv[1], "rx");
}

static void
test_pair_clear(struct test_pair *p)
{
	ipc_conn_clear(&p->tx);
	ipc_conn_clear(&p->rx);
	close(p->sv[0]);
	close(p->sv[1]);
}

/*
 * Moves queued frames from tx to rx until rx has a complete frame. Returns
 * ipc_get's result: 1 with msg filled, 0 when nothing is left in transit.
 */
static int
test_pair_next(struct test_pair *p, struct ipc_msg *msg)
{
	ssize_t	 n;
	int	 r, flushed, i;

	for (i = 0; i < 100000; i++) {
		if ((r = ipc_get(&p->rx, msg)) != 0)
			return r;
		flushed = ipc_flush(&p->tx);
		assert_int_not_equal(flushed, -1);
		n = ipc_read(&p->rx);
		if (n == -1 && errno == EAGAIN) {
			if (flushed == 0)
				return 0;
			continue;
		}
		assert_true(n > 0);
	}
	fail_msg("frames still in transit after %d rounds", i);
	return -1;
}

/* Receives the next frame of the given type and opens its body. */
static void
test_pair_recv(struct test_pair *p, struct ipc_msg *msg, struct ipc_body *b)
{
	assert_int_equal(test_pair_next(p, msg), 1);
	assert_int_equal(msg->hdr.type, TEST_TYPE);
	assert_int_equal(ipc_body_open(b, msg), 0);
}

static int
test_count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_hdr_bytes(uint8_t *buf, uint32_t type, uint32_t len, uint32_t flags)
{
	struct ipc_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.flags = flags;
	memcpy(buf, &hdr, sizeof(hdr));
}

/* Opens and closes a raw body. Returns ipc_body_open_buf's result. */
static int
test_body_try(const void *buf, size_t len)
{
	struct ipc_body	 b;
	int		 r;

	errno = 0;
	r = ipc_body_open_buf(&b, buf, len);
	if (r == 0)
		ipc_body_close(&b);
	else
		assert_int_equal(errno, EBADMSG);
	return r;
}

static double
test_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Builds a body of one array32 holding n nils. */
static uint8_t *
test_nil_array(uint32_t n, size_t *len)
{
	uint8_t	*buf;

	*len = 5 + (size_t)n;
	assert_non_null(buf = malloc(*len));
	buf[0] = 0xdd;
	buf[1] = n >> 24;
	buf[2] = n >> 16;
	buf[3] = n >> 8;
	buf[4] = n;
	memset(buf + 5, 0xc0, n);
	return buf;
}

/* Frames and transport. */

static void
roundtrip_nil_bool(void **state)
{
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	int			 v;

	test_pair_init(&p);
	ipc_wbuf_init(&wb, 3);
	ipc_put_nil(&wb);
	ipc_put_bool(&wb, 1);
	ipc_put_bool(&wb, 0);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 7, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	assert_int_equal(b.count, 3);
	assert_int_equal(ipc_get_nil(&b), 0);
	assert_int_equal(ipc_get_bool(&b, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ipc_get_bool(&b, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
}

static void
roundtrip_u64(void **state)
{
	static const uint64_t	 values[] = {
		0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
		(uint64_t)UINT32_MAX + 1, INT64_MAX, (uint64_t)INT64_MAX + 1,
		UINT64_MAX
	};
	const size_t		 n = sizeof(values) / sizeof(values[0]);
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	uint64_t		 v;
	size_t			 i;

	test_pair_init(&p);
	ipc_wbuf_init(&wb, n);
	for (i = 0; i < n; i++)
		ipc_put_u64(&wb, values[i]);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 0, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	for (i = 0; i < n; i++) {
		assert_int_equal(ipc_get_u64(&b, &v, UINT64_MAX), 0);
		assert_true(v == values[i]);
	}
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
}

static void
roundtrip_i64(void **state)
{
	static const int64_t	 values[] = {
		INT64_MIN, INT32_MIN - (int64_t)1, INT32_MIN, -32769, -129,
		-33, -32, -1, 0, 1, 127, 65536, INT64_MAX
	};
	const size_t		 n = sizeof(values) / sizeof(values[0]);
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	int64_t			 v;
	size_t			 i;

	test_pair_init(&p);
	ipc_wbuf_init(&wb, n);
	for (i = 0; i < n; i++)
		ipc_put_i64(&wb, values[i]);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 0, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	for (i = 0; i < n; i++) {
		assert_int_equal(ipc_get_i64(&b, &v), 0);
		assert_true(v == values[i]);
	}
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
}

static void
roundtrip_str(void **state)
{
	static const size_t	 lengths[] = { 0, 1, 31, 32, 255, 256, 70000 };
	const size_t		 n = sizeof(lengths) / sizeof(lengths[0]);
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	char			*s, *dst;
	const char		*ptr;
	size_t			 i, len;

	assert_non_null(s = malloc(70001));
	assert_non_null(dst = malloc(70001));
	for (i = 0; i < 70000; i++)
		s[i] = 'a' + i % 26;
	s[70000] = '\0';

	test_pair_init(&p);
	ipc_wbuf_init(&wb, n + 1);
	for (i = 0; i < n; i++)
		ipc_put_strn(&wb, s, lengths[i]);
	ipc_put_str(&wb, "benjid");
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 0, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	for (i = 0; i < n; i++) {
		assert_int_equal(ipc_get_strp(&b, &ptr, &len, SIZE_MAX), 0);
		assert_int_equal(len, lengths[i]);
		assert_non_null(ptr);
		assert_memory_equal(ptr, s, len);
	}
	assert_int_equal(ipc_get_str(&b, dst, 7), 0);
	assert_string_equal(dst, "benjid");
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
	free(s);
	free(dst);
}

static void
roundtrip_bin(void **state)
{
	static const uint8_t	 small[] = { 0x00, 0xff, 0x00, 0xc1 };
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	const uint8_t		*ptr;
	uint8_t			*big;
	size_t			 i, len;

	assert_non_null(big = malloc(70000));
	for (i = 0; i < 70000; i++)
		big[i] = i * 7;

	test_pair_init(&p);
	ipc_wbuf_init(&wb, 3);
	ipc_put_bin(&wb, small, 0);
	ipc_put_bin(&wb, small, sizeof(small));
	ipc_put_bin(&wb, big, 70000);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 0, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	assert_int_equal(ipc_get_bin(&b, &ptr, &len, 0), 0);
	assert_int_equal(len, 0);
	assert_non_null(ptr);
	assert_int_equal(ipc_get_bin(&b, &ptr, &len, sizeof(small)), 0);
	assert_int_equal(len, sizeof(small));
	assert_memory_equal(ptr, small, sizeof(small));
	assert_int_equal(ipc_get_bin(&b, &ptr, &len, 70000), 0);
	assert_int_equal(len, 70000);
	assert_memory_equal(ptr, big, 70000);
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
	free(big);
}

static void
roundtrip_nested_array(void **state)
{
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b, sub, subsub;
	uint64_t		 u;
	char			 s[16];

	test_pair_init(&p);
	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, 1);
	ipc_put_array(&wb, 3);
	ipc_put_str(&wb, "db");
	ipc_put_array(&wb, 0);
	ipc_put_array(&wb, 1);
	ipc_put_u64(&wb, 99);
	ipc_put_nil(&wb);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 0, -1, &wb), 0);

	test_pair_recv(&p, &msg, &b);
	assert_int_equal(ipc_get_u64(&b, &u, 10), 0);
	assert_int_equal(ipc_get_array(&b, &sub, 3), 0);
	assert_int_equal(sub.count, 3);
	assert_int_equal(ipc_get_str(&sub, s, sizeof(s)), 0);
	assert_string_equal(s, "db");
	assert_int_equal(ipc_get_array(&sub, &subsub, 0), 0);
	assert_int_equal(ipc_get_end(&subsub), 0);
	assert_int_equal(ipc_get_nil(&subsub), -1);
	assert_int_equal(ipc_get_array(&sub, &subsub, 1), 0);
	assert_int_equal(ipc_get_u64(&subsub, &u, 100), 0);
	assert_int_equal(u, 99);
	assert_int_equal(ipc_get_end(&subsub), 0);
	assert_int_equal(ipc_get_end(&sub), 0);
	assert_int_equal(ipc_get_nil(&b), 0);
	assert_int_equal(ipc_get_end(&b), 0);
	/* A nested body borrows its parent's memory: closing it is a no-op. */
	ipc_body_close(&sub);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
}

static void
frame_header_fields(void **state)
{
	struct test_pair	 p;
	struct ipc_msg		 msg;
	struct ipc_body		 b;

	test_pair_init(&p);
	assert_int_equal(ipc_send(&p.tx, 0xdeadbeef, 0xfeedface, -1), 0);
	assert_int_equal(p.tx.wqbytes, IPC_HDR_SIZE + 1);

	assert_int_equal(test_pair_next(&p, &msg), 1);
	assert_int_equal(p.tx.wqbytes, 0);
	assert_int_equal(msg.hdr.type, 0xdeadbeef);
	assert_int_equal(msg.hdr.peerid, 0xfeedface);
	assert_int_equal(msg.hdr.pid, (uint32_t)getpid());
	assert_int_equal(msg.hdr.flags, 0);
	assert_int_equal(msg.hdr.len, 1);
	assert_int_equal(msg.fd, -1);
	assert_int_equal(ipc_body_open(&b, &msg), 0);
	assert_int_equal(b.count, 0);
	assert_int_equal(ipc_get_end(&b), 0);
	assert_int_equal(ipc_get_nil(&b), -1);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);
	assert_int_equal(ipc_get(&p.rx, &msg), 0);
	test_pair_clear(&p);
}

static void
frames_coalesced_one_read(void **state)
{
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	size_t			 total = 0;
	uint64_t		 u;
	uint32_t		 i;
	ssize_t			 n;

	test_pair_init(&p);
	for (i = 0; i < 200; i++) {
		ipc_wbuf_init(&wb, 1);
		ipc_put_u64(&wb, i);
		assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, i, -1, &wb), 0);
	}
	total = p.tx.wqbytes;
	assert_true(total < 8192);
	assert_int_equal(ipc_flush(&p.tx), 0);
	assert_int_equal(p.tx.wqbytes, 0);

	n = ipc_read(&p.rx);
	assert_int_equal(n, total);
	for (i = 0; i < 200; i++) {
		assert_int_equal(ipc_get(&p.rx, &msg), 1);
		assert_int_equal(msg.hdr.peerid, i);
		assert_int_equal(ipc_body_open(&b, &msg), 0);
		assert_int_equal(ipc_get_u64(&b, &u, UINT32_MAX), 0);
		assert_int_equal(u, i);
		assert_int_equal(ipc_get_end(&b), 0);
		ipc_body_close(&b);
		ipc_consume(&p.rx, &msg);
	}
	assert_int_equal(ipc_get(&p.rx, &msg), 0);
	assert_int_equal(ipc_read(&p.rx), -1);
	assert_int_equal(errno, EAGAIN);
	test_pair_clear(&p);
}

/* Frames fed one byte at a time complete only with their last byte. */
static void
frames_fed_byte_by_byte(void **state)
{
	struct ipc_conn		 tx, rx;
	struct ipc_wbuf		 wb;
	struct ipc_out		*o;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	char			 s[32];
	size_t			 i;
	int			 frames = 0;

	ipc_conn_init(&tx, -1, "tx");
	ipc_conn_init(&rx, -1, "rx");
	ipc_wbuf_init(&wb, 2);
	ipc_put_str(&wb, "first");
	ipc_put_u64(&wb, 1);
	assert_int_equal(ipc_compose(&tx, TEST_TYPE, 1, -1, &wb), 0);
	assert_int_equal(ipc_send(&tx, TEST_TYPE, 2, -1), 0);

	TAILQ_FOREACH(o, &tx.wq, entry) {
		for (i = 0; i < o->len; i++) {
			assert_int_equal(ipc_get(&rx, &msg), 0);
			assert_int_equal(ipc_feed(&rx, o->buf + i, 1), 0);
		}
		assert_int_equal(ipc_get(&rx, &msg), 1);
		frames++;
		assert_int_equal(msg.hdr.peerid, frames);
		assert_int_equal(ipc_body_open(&b, &msg), 0);
		if (frames == 1) {
			assert_int_equal(ipc_get_str(&b, s, sizeof(s)), 0);
			assert_string_equal(s, "first");
		}
		ipc_body_close(&b);
		ipc_consume(&rx, &msg);
	}
	assert_int_equal(frames, 2);
	assert_int_equal(rx.roff, 0);
	assert_int_equal(rx.rlen, 0);
	ipc_conn_clear(&tx);
	ipc_conn_clear(&rx);
}

/* A frame split across feeds after a consumed one moves to the buffer start. */
static void
frame_split_after_consume(void **state)
{
	struct ipc_conn		 tx, rx;
	struct ipc_out		*first, *second;
	struct ipc_msg		 msg;
	size_t			 half;

	ipc_conn_init(&tx, -1, "tx");
	ipc_conn_init(&rx, -1, "rx");
	assert_int_equal(ipc_send(&tx, TEST_TYPE, 1, -1), 0);
	assert_int_equal(ipc_send(&tx, TEST_TYPE, 2, -1), 0);
	first = TAILQ_FIRST(&tx.wq);
	second = TAILQ_NEXT(first, entry);
	half = second->len / 2;

	assert_int_equal(ipc_feed(&rx, first->buf, first->len), 0);
	assert_int_equal(ipc_feed(&rx, second->buf, half), 0);
	assert_int_equal(ipc_get(&rx, &msg), 1);
	assert_int_equal(msg.hdr.peerid, 1);
	ipc_consume(&rx, &msg);
	assert_int_equal(rx.roff, first->len);
	assert_int_equal(ipc_get(&rx, &msg), 0);

	assert_int_equal(ipc_feed(&rx, second->buf + half, second->len - half),
	    0);
	assert_int_equal(rx.roff, 0);
	assert_int_equal(ipc_get(&rx, &msg), 1);
	assert_int_equal(msg.hdr.peerid, 2);
	ipc_consume(&rx, &msg);
	ipc_conn_clear(&tx);
	ipc_conn_clear(&rx);
}

static void
frame_len_over_max(void **state)
{
	struct ipc_conn	 c;
	struct ipc_msg	 msg;
	uint8_t		 hdr[IPC_HDR_SIZE];

	ipc_conn_init(&c, -1, "rx");
	test_hdr_bytes(hdr, TEST_TYPE, IPC_FRAME_MAX - IPC_HDR_SIZE, 0);
	assert_int_equal(ipc_feed(&c, hdr, sizeof(hdr)), 0);
	/* The largest legal frame only waits for its body. */
	assert_int_equal(ipc_get(&c, &msg), 0);
	ipc_conn_clear(&c);

	ipc_conn_init(&c, -1, "rx");
	test_hdr_bytes(hdr, TEST_TYPE, IPC_FRAME_MAX - IPC_HDR_SIZE + 1, 0);
	assert_int_equal(ipc_feed(&c, hdr, sizeof(hdr)), 0);
	errno = 0;
	assert_int_equal(ipc_get(&c, &msg), -1);
	assert_int_equal(errno, EBADMSG);
	ipc_conn_clear(&c);

	ipc_conn_init(&c, -1, "rx");
	test_hdr_bytes(hdr, TEST_TYPE, UINT32_MAX, 0);
	assert_int_equal(ipc_feed(&c, hdr, sizeof(hdr)), 0);
	assert_int_equal(ipc_get(&c, &msg), -1);
	ipc_conn_clear(&c);
}

static void
frame_unknown_flags(void **state)
{
	static const uint32_t	 flags[] = { 0x2, 0x80000000, 0xffffffff };
	struct ipc_conn		 c;
	struct ipc_msg		 msg;
	uint8_t			 frame[IPC_HDR_SIZE + 1];
	size_t			 i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ipc_conn_init(&c, -1, "rx");
		test_hdr_bytes(frame, TEST_TYPE, 1, flags[i]);
		frame[IPC_HDR_SIZE] = 0x90;
		assert_int_equal(ipc_feed(&c, frame, sizeof(frame)), 0);
		errno = 0;
		assert_int_equal(ipc_get(&c, &msg), -1);
		assert_int_equal(errno, EBADMSG);
		ipc_conn_clear(&c);
	}
}

static void
frame_fd_flag_without_fd(void **state)
{
	struct ipc_conn	 c;
	struct ipc_msg	 msg;
	uint8_t		 frame[IPC_HDR_SIZE + 1];

	ipc_conn_init(&c, -1, "rx");
	test_hdr_bytes(frame, TEST_TYPE, 1, IPC_F_FD);
	frame[IPC_HDR_SIZE] = 0x90;
	assert_int_equal(ipc_feed(&c, frame, sizeof(frame)), 0);
	errno = 0;
	assert_int_equal(ipc_get(&c, &msg), -1);
	assert_int_equal(errno, EBADMSG);
	ipc_conn_clear(&c);
}

/* A zero-length feed on a fresh connection must not touch the NULL buffer. */
static void
feed_empty_and_oversized(void **state)
{
	struct ipc_conn	 c;
	struct ipc_msg	 msg;
	uint8_t		 byte = 0;

	ipc_conn_init(&c, -1, "rx");
	assert_int_equal(ipc_feed(&c, &byte, 0), 0);
	assert_int_equal(ipc_get(&c, &msg), 0);

	/* A length beyond any frame fails instead of doubling the size forever. */
	errno = 0;
	assert_int_equal(ipc_feed(&c, &byte, SIZE_MAX), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(ipc_feed(&c, &byte, 2 * IPC_FRAME_MAX + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	ipc_conn_clear(&c);
}

static void
compose_over_max(void **state)
{
	struct ipc_conn	 c;
	struct ipc_wbuf	 wb;
	uint8_t		*big;
	size_t		 binlen;
	int		 pfd[2], before;

	/* Header, array marker and bin32 header leave this much for data. */
	binlen = IPC_FRAME_MAX - IPC_HDR_SIZE - 1 - 5;
	assert_non_null(big = calloc(1, binlen + 1));
	ipc_conn_init(&c, -1, "tx");

	ipc_wbuf_init(&wb, 1);
	ipc_put_bin(&wb, big, binlen);
	assert_int_equal(ipc_compose(&c, TEST_TYPE, 0, -1, &wb), 0);
	assert_int_equal(c.wqbytes, IPC_FRAME_MAX);

	before = test_count_fds();
	assert_int_equal(pipe(pfd), 0);
	close(pfd[1]);
	ipc_wbuf_init(&wb, 1);
	ipc_put_bin(&wb, big, binlen + 1);
	errno = 0;
	assert_int_equal(ipc_compose(&c, TEST_TYPE, 0, pfd[0], &wb), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* The descriptor is taken over even when the frame is rejected. */
	assert_int_equal(test_count_fds(), before);
	assert_int_equal(c.wqbytes, IPC_FRAME_MAX);

	ipc_conn_clear(&c);
	free(big);
}

/* A maximum-size frame crosses a socket in many partial writes and reads. */
static void
frame_max_over_socket(void **state)
{
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	const uint8_t		*ptr;
	uint8_t			*big;
	size_t			 i, len, binlen;

	binlen = IPC_FRAME_MAX - IPC_HDR_SIZE - 1 - 5;
	assert_non_null(big = malloc(binlen));
	for (i = 0; i < binlen; i++)
		big[i] = i % 251;

	test_pair_init(&p);
	for (i = 0; i < 3; i++) {
		ipc_wbuf_init(&wb, 1);
		ipc_put_bin(&wb, big, binlen);
		assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, i, -1, &wb), 0);
	}
	for (i = 0; i < 3; i++) {
		test_pair_recv(&p, &msg, &b);
		assert_int_equal(msg.hdr.peerid, i);
		assert_int_equal(msg.hdr.len, IPC_FRAME_MAX - IPC_HDR_SIZE);
		assert_int_equal(ipc_get_bin(&b, &ptr, &len, binlen), 0);
		assert_int_equal(len, binlen);
		assert_memory_equal(ptr, big, binlen);
		ipc_body_close(&b);
		ipc_consume(&p.rx, &msg);
	}
	assert_int_equal(test_pair_next(&p, &msg), 0);
	assert_true(p.rx.rsize <= 2 * IPC_FRAME_MAX);
	test_pair_clear(&p);
	free(big);
}

static void
read_eof_returns_zero(void **state)
{
	struct test_pair	 p;

	test_pair_init(&p);
	close(p.sv[0]);
	p.sv[0] = -1;
	assert_int_equal(ipc_read(&p.rx), 0);
	ipc_conn_clear(&p.tx);
	ipc_conn_clear(&p.rx);
	close(p.sv[1]);
}

/* Descriptor passing. */

static void
fd_pipe_passed(void **state)
{
	struct test_pair	 p;
	struct ipc_msg		 msg;
	char			 buf[16];
	int			 pfd[2], before;

	test_pair_init(&p);
	before = test_count_fds();
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(ipc_send(&p.tx, TEST_TYPE, 5, pfd[0]), 0);

	assert_int_equal(test_pair_next(&p, &msg), 1);
	assert_int_equal(msg.hdr.flags, IPC_F_FD);
	assert_int_not_equal(msg.fd, -1);
	assert_true(fcntl(msg.fd, F_GETFD) & FD_CLOEXEC);
	/* ipc_flush closed the sender's copy: only pfd[1] and msg.fd remain. */
	assert_int_equal(test_count_fds(), before + 2);
	assert_int_equal(write(pfd[1], "through", 7), 7);
	assert_int_equal(read(msg.fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "through", 7);

	close(msg.fd);
	close(pfd[1]);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
}

static void
fd_order_matches_frames(void **state)
{
	struct test_pair	 p;
	struct ipc_msg		 msg;
	char			 c;
	int			 pfd[4][2], i, before;

	before = test_count_fds();
	test_pair_init(&p);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pipe(pfd[i]), 0);
		assert_int_equal(write(pfd[i][1], &"abcd"[i], 1), 1);
		close(pfd[i][1]);
		/* Frames without a descriptor sit between those with one. */
		assert_int_equal(ipc_send(&p.tx, TEST_TYPE, 100 + i, -1), 0);
		assert_int_equal(ipc_send(&p.tx, TEST_TYPE, i, pfd[i][0]), 0);
	}
	/* The whole queue goes out before anything is read. */
	assert_int_equal(ipc_flush(&p.tx), 0);

	for (i = 0; i < 4; i++) {
		assert_int_equal(test_pair_next(&p, &msg), 1);
		assert_int_equal(msg.hdr.peerid, 100 + i);
		assert_int_equal(msg.fd, -1);
		ipc_consume(&p.rx, &msg);

		assert_int_equal(test_pair_next(&p, &msg), 1);
		assert_int_equal(msg.hdr.peerid, i);
		assert_int_not_equal(msg.fd, -1);
		assert_int_equal(read(msg.fd, &c, 1), 1);
		assert_int_equal(c, "abcd"[i]);
		close(msg.fd);
		ipc_consume(&p.rx, &msg);
	}
	assert_int_equal(test_pair_next(&p, &msg), 0);
	test_pair_clear(&p);
	assert_int_equal(test_count_fds(), before);
}

/* The first write is partial, and the descriptor arrives with its frame. */
static void
fd_with_partial_write(void **state)
{
	struct test_pair	 p;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	struct ipc_body		 b;
	const uint8_t		*ptr;
	uint8_t			*big;
	size_t			 len, binlen = 512 * 1024;
	int			 pfd[2], before;

	before = test_count_fds();
	assert_non_null(big = calloc(1, binlen));
	test_pair_init(&p);
	assert_int_equal(pipe(pfd), 0);
	close(pfd[1]);
	ipc_wbuf_init(&wb, 1);
	ipc_put_bin(&wb, big, binlen);
	assert_int_equal(ipc_compose(&p.tx, TEST_TYPE, 1, pfd[0], &wb), 0);
	assert_int_equal(ipc_send(&p.tx, TEST_TYPE, 2, -1), 0);

	assert_int_equal(ipc_flush(&p.tx), 1);
	assert_true(p.tx.wqbytes > 0);

	test_pair_recv(&p, &msg, &b);
	assert_int_equal(msg.hdr.peerid, 1);
	assert_int_not_equal(msg.fd, -1);
	assert_int_equal(ipc_get_bin(&b, &ptr, &len, binlen), 0);
	assert_int_equal(len, binlen);
	close(msg.fd);
	ipc_body_close(&b);
	ipc_consume(&p.rx, &msg);

	assert_int_equal(test_pair_next(&p, &msg), 1);
	assert_int_equal(msg.hdr.peerid, 2);
	assert_int_equal(msg.fd, -1);
	ipc_consume(&p.rx, &msg);
	test_pair_clear(&p);
	free(big);
	assert_int_equal(test_count_fds(), before);
}

/* Several queued descriptors leave the queue in the order of their frames. */
static void
fd_queue_drains_in_order(void **state)
{
	struct test_pair	 p;
	struct ipc_msg		 msg;
	char			 c;
	int			 pfd[2], i, before;

	before = test_count_fds();
	test_pair_init(&p);
	for (i = 0; i < IPC_FDQ_MAX; i++) {
		assert_int_equal(pipe(pfd), 0);
		assert_int_equal(write(pfd[1], &"abcdefgh"[i], 1), 1);
		close(pfd[1]);
		assert_int_equal(ipc_send(&p.tx, TEST_TYPE, i, pfd[0]), 0);
	}
	assert_int_equal(ipc_flush(&p.tx), 0);
	for (i = 0; i < IPC_FDQ_MAX; i++)
		assert_true(ipc_read(&p.rx) > 0);
	assert_int_equal(p.rx.nrfds, IPC_FDQ_MAX);

	for (i = 0; i < IPC_FDQ_MAX; i++) {
		assert_int_equal(ipc_get(&p.rx, &msg), 1);
		assert_int_equal(msg.hdr.peerid, i);
		assert_int_equal(p.rx.nrfds, IPC_FDQ_MAX - i - 1);
		assert_int_equal(read(msg.fd, &c, 1), 1);
		assert_int_equal(c, "abcdefgh"[i]);
		close(msg.fd);
		ipc_consume(&p.rx, &msg);
	}
	assert_int_equal(ipc_get(&p.rx, &msg), 0);
	test_pair_clear(&p);
	assert_int_equal(test_count_fds(), before);
}

/*
 * Eight descriptors in one message overflow ipc_read's control buffer of
 * four: the read fails and every descriptor is closed by the time the
 * connection is cleared.
 */
static void
fd_ctrunc_rejected(void **state)
{
	struct test_pair	 p;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	} cmsgbuf;
	uint8_t			 frame[IPC_HDR_SIZE + 1];
	int			 fds[8], i, before;

	test_pair_init(&p);
	before = test_count_fds();
	for (i = 0; i < 8; i++)
		assert_true((fds[i] = open("/dev/null", O_RDONLY)) != -1);

	test_hdr_bytes(frame, TEST_TYPE, 1, IPC_F_FD);
	frame[IPC_HDR_SIZE] = 0x90;
	memset(&mh, 0, sizeof(mh));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = frame;
	iov.iov_len = sizeof(frame);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	assert_int_equal(sendmsg(p.sv[0], &mh, 0), sizeof(frame));
	for (i = 0; i < 8; i++)
		close(fds[i]);

	errno = 0;
	assert_int_equal(ipc_read(&p.rx), -1);
	assert_int_equal(errno, EBADMSG);
	assert_true(p.rx.nrfds <= 4);
	ipc_conn_clear(&p.rx);
	assert_int_equal(test_count_fds(), before);

	ipc_conn_clear(&p.tx);
	close(p.sv[0]);
	close(p.sv[1]);
}

/* More descriptors than IPC_FDQ_MAX waiting for their frames is an error. */
static void
fd_queue_overflow(void **state)
{
	struct test_pair	 p;
	int			 pfd[2], i, before;
	ssize_t			 n;

	before = test_count_fds();
	test_pair_init(&p);
	for (i = 0; i < IPC_FDQ_MAX + 1; i++) {
		assert_int_equal(pipe(pfd), 0);
		close(pfd[1]);
		assert_int_equal(ipc_send(&p.tx, TEST_TYPE, i, pfd[0]), 0);
	}
	assert_int_equal(ipc_flush(&p.tx), 0);

	/* Linux ends a recvmsg after a write that carried descriptors. */
	for (i = 0; i < IPC_FDQ_MAX; i++)
		assert_true(ipc_read(&p.rx) > 0);
	assert_int_equal(p.rx.nrfds, IPC_FDQ_MAX);
	errno = 0;
	n = ipc_read(&p.rx);
	assert_int_equal(n, -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(p.rx.nrfds, IPC_FDQ_MAX);
	test_pair_clear(&p);
	assert_int_equal(test_count_fds(), before);
}

/* Malformed bodies. */

struct test_bad_body {
	const char	*name;
	const char	*bytes;
	size_t		 len;
};

#define TEST_BAD(name, lit)	{ name, lit, sizeof(lit) - 1 }

static void
body_malformed_rejected(void **state)
{
	static const struct test_bad_body	 bad[] = {
		TEST_BAD("empty", ""),
		TEST_BAD("nil root", "\xc0"),
		TEST_BAD("int root", "\x01"),
		TEST_BAD("str root", "\xa1x"),
		TEST_BAD("map root", "\x80"),
		TEST_BAD("truncated array", "\x93\x01\x02"),
		TEST_BAD("truncated uint32", "\x91\xce\x00\x00"),
		TEST_BAD("truncated str8", "\x91\xd9\x05" "ab"),
		TEST_BAD("truncated array16 count", "\xdc\x00"),
		TEST_BAD("trailing bytes", "\x91\x01\x02"),
		TEST_BAD("two arrays", "\x90\x90"),
		TEST_BAD("0xc1", "\x91\xc1"),
		TEST_BAD("float32", "\x91\xca\x3f\x80\x00\x00"),
		TEST_BAD("float64", "\x91\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
		TEST_BAD("ext8", "\x91\xc7\x01\x05\x00"),
		TEST_BAD("ext16", "\x91\xc8\x00\x01\x05\x00"),
		TEST_BAD("ext32", "\x91\xc9\x00\x00\x00\x01\x05\x00"),
		TEST_BAD("fixext1", "\x91\xd4\x05\x00"),
		TEST_BAD("fixext2", "\x91\xd5\x05\x00\x00"),
		TEST_BAD("fixext4", "\x91\xd6\x05\x00\x00\x00\x00"),
		TEST_BAD("fixext8", "\x91\xd7\x05" "\x00\x00\x00\x00\x00\x00\x00\x00"),
		TEST_BAD("fixext16", "\x91\xd8\x05"
		    "\x00\x00\x00\x00\x00\x00\x00\x00"
		    "\x00\x00\x00\x00\x00\x00\x00\x00"),
		TEST_BAD("str32 huge", "\x91\xdb\xff\xff\xff\xff" "abc"),
		TEST_BAD("bin32 huge", "\x91\xc6\xff\xff\xff\xff" "abc"),
		TEST_BAD("array32 huge root", "\xdd\xff\xff\xff\xff\x01\x02"),
		TEST_BAD("array32 huge nested", "\x91\xdd\xff\xff\xff\xff\x01"),
		TEST_BAD("map32 huge", "\x91\xdf\xff\xff\xff\xff\x01\x02"),
		TEST_BAD("map16 odd items", "\x91\xde\x00\x01\x01"),
		TEST_BAD("fixmap missing value", "\x91\x81\x01"),
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (test_body_try(bad[i].bytes, bad[i].len) != -1)
			fail_msg("body \"%s\" was accepted", bad[i].name);
		assert_int_equal(ipc_body_check((const uint8_t *)bad[i].bytes,
		    bad[i].len), -1);
	}
}

static void
body_valid_forms_accepted(void **state)
{
	static const struct test_bad_body	 good[] = {
		TEST_BAD("fixarray empty", "\x90"),
		TEST_BAD("array16 root", "\xdc\x00\x02\x01\x02"),
		TEST_BAD("array32 root", "\xdd\x00\x00\x00\x01\xc0"),
		TEST_BAD("map values", "\x91\x82\xa1" "a\x01\xa1" "b\xc3"),
		TEST_BAD("map16", "\x91\xde\x00\x01\x01\x02"),
		TEST_BAD("wide ints", "\x94\xcd\x00\x01\xd1\xff\xff"
		    "\xcf\x00\x00\x00\x00\x00\x00\x00\x01\xd3"
		    "\x80\x00\x00\x00\x00\x00\x00\x00"),
		TEST_BAD("str16 and bin16", "\x92\xda\x00\x01x\xc5\x00\x01y"),
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (test_body_try(good[i].bytes, good[i].len) != 0)
			fail_msg("body \"%s\" was rejected", good[i].name);
}

/*
 * Declared lengths of 2^32-1 with a few bytes present must be rejected by
 * ipc_body_check, which runs before msgpack-c allocates anything, and
 * quickly: reserving gigabytes a thousand times would not fit the bound.
 */
static void
body_huge_declared_fast(void **state)
{
	static const struct test_bad_body	 bad[] = {
		TEST_BAD("str32", "\x91\xdb\xff\xff\xff\xff" "abc"),
		TEST_BAD("bin32", "\x91\xc6\xff\xff\xff\xff" "abc"),
		TEST_BAD("array32", "\xdd\xff\xff\xff\xff\xc0\xc0\xc0"),
		TEST_BAD("map32", "\x91\xdf\xff\xff\xff\xff\xc0\xc0"),
		TEST_BAD("array32 nested", "\x92\xdd\xff\xff\xff\xff\x90\x90"),
	};
	double		 start;
	size_t		 i;
	int		 round;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ipc_body_check((const uint8_t *)bad[i].bytes,
		    bad[i].len), -1);

	start = test_now();
	for (round = 0; round < 1000; round++)
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(test_body_try(bad[i].bytes,
			    bad[i].len), -1);
	assert_true(test_now() - start < 2.0);
}

static void
body_depth_limit(void **state)
{
	uint8_t	 buf[IPC_DEPTH_MAX + 2];
	size_t	 i;

	/* IPC_DEPTH_MAX arrays, the root included, is the deepest body. */
	for (i = 0; i < IPC_DEPTH_MAX - 1; i++)
		buf[i] = 0x91;
	buf[IPC_DEPTH_MAX - 1] = 0x90;
	assert_int_equal(test_body_try(buf, IPC_DEPTH_MAX), 0);

	for (i = 0; i < IPC_DEPTH_MAX; i++)
		buf[i] = 0x91;
	buf[IPC_DEPTH_MAX] = 0x90;
	assert_int_equal(test_body_try(buf, IPC_DEPTH_MAX + 1), -1);

	/* A map counts as a level too. */
	for (i = 0; i < IPC_DEPTH_MAX; i++)
		buf[i] = 0x91;
	buf[IPC_DEPTH_MAX - 1] = 0x81;
	buf[IPC_DEPTH_MAX] = 0x01;
	buf[IPC_DEPTH_MAX + 1] = 0x90;
	assert_int_equal(test_body_try(buf, IPC_DEPTH_MAX + 2), -1);
}

static void
body_objects_limit(void **state)
{
	uint8_t	*buf;
	size_t	 len;

	/* The root array and its elements together make the object count. */
	buf = test_nil_array(IPC_OBJECTS_MAX - 1, &len);
	assert_int_equal(test_body_try(buf, len), 0);
	free(buf);

	buf = test_nil_array(IPC_OBJECTS_MAX, &len);
	assert_int_equal(test_body_try(buf, len), -1);
	free(buf);
}

static void
body_objects_limit_nested(void **state)
{
	uint8_t	*buf;
	size_t	 len, half = IPC_OBJECTS_MAX / 2;

	/* [[nil x half], [nil x half]] is 3 + 2 * half objects: too many. */
	len = 1 + 2 * (5 + half);
	assert_non_null(buf = malloc(len));
	buf[0] = 0x92;
	buf[1] = 0xdd;
	buf[2] = 0;
	buf[3] = half >> 16;
	buf[4] = half >> 8;
	buf[5] = half;
	memset(buf + 6, 0xc0, half);
	memcpy(buf + 6 + half, buf + 1, 5 + half);
	assert_int_equal(test_body_try(buf, len), -1);

	/* One nil fewer in the second array brings it to the limit. */
	buf[6 + half + 4] = (half - 3) & 0xff;
	buf[6 + half + 3] = (half - 3) >> 8;
	assert_int_equal(test_body_try(buf, len - 3), 0);
	free(buf);
}

/* Getters. */

static void
get_wrong_type(void **state)
{
	/* [nil, true, 1, -1, "s", bin "b", [], {}] */
	static const uint8_t	 body[] = {
		0x98, 0xc0, 0xc3, 0x01, 0xff, 0xa1, 's', 0xc4, 0x01, 'b',
		0x90, 0x80
	};
	struct ipc_body		 b, sub;
	const uint8_t		*bp;
	const char		*sp;
	char			 s[8];
	uint64_t		 u;
	int64_t			 i;
	size_t			 len;
	int			 v;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);

	assert_int_equal(ipc_get_bool(&b, &v), -1);
	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX), -1);
	assert_int_equal(ipc_get_str(&b, s, sizeof(s)), -1);
	assert_int_equal(b.next, 0);
	assert_int_equal(ipc_get_nil(&b), 0);

	assert_int_equal(ipc_get_nil(&b), -1);
	assert_int_equal(ipc_get_i64(&b, &i), -1);
	assert_int_equal(ipc_get_bool(&b, &v), 0);

	assert_int_equal(ipc_get_bool(&b, &v), -1);
	assert_int_equal(ipc_get_strp(&b, &sp, &len, 8), -1);
	assert_int_equal(ipc_get_u64(&b, &u, 1), 0);

	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX), -1);
	assert_int_equal(ipc_get_bin(&b, &bp, &len, 8), -1);
	assert_int_equal(ipc_get_i64(&b, &i), 0);
	assert_int_equal(i, -1);

	assert_int_equal(ipc_get_bin(&b, &bp, &len, 8), -1);
	assert_int_equal(ipc_get_array(&b, &sub, 8), -1);
	assert_int_equal(ipc_get_str(&b, s, sizeof(s)), 0);

	assert_int_equal(ipc_get_strp(&b, &sp, &len, 8), -1);
	assert_int_equal(ipc_get_bin(&b, &bp, &len, 8), 0);

	assert_int_equal(ipc_get_nil(&b), -1);
	assert_int_equal(ipc_get_array(&b, &sub, 0), 0);

	/* No getter reads a map. */
	assert_int_equal(b.next, 7);
	assert_int_equal(ipc_get_array(&b, &sub, 8), -1);
	assert_int_equal(ipc_get_nil(&b), -1);
	assert_int_equal(ipc_get_end(&b), -1);
	ipc_body_close(&b);
}

static void
get_str_limits(void **state)
{
	/* ["abcd", "", "a\0b"] */
	static const uint8_t	 body[] = {
		0x93, 0xa4, 'a', 'b', 'c', 'd', 0xa0, 0xa3, 'a', 0, 'b'
	};
	struct ipc_body		 b;
	const char		*p;
	char			 s[8];
	size_t			 len;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_str(&b, s, 0), -1);
	assert_int_equal(ipc_get_str(&b, s, 4), -1);
	assert_int_equal(ipc_get_strp(&b, &p, &len, 3), -1);
	assert_int_equal(b.next, 0);
	assert_int_equal(ipc_get_str(&b, s, 5), 0);
	assert_string_equal(s, "abcd");

	/* The getters never return NULL, even for an empty string. */
	assert_int_equal(ipc_get_strp(&b, &p, &len, 0), 0);
	assert_non_null(p);
	assert_int_equal(len, 0);
	b.next--;
	s[0] = 'x';
	assert_int_equal(ipc_get_str(&b, s, 1), 0);
	assert_string_equal(s, "");

	assert_int_equal(ipc_get_str(&b, s, sizeof(s)), -1);
	assert_int_equal(ipc_get_strp(&b, &p, &len, SIZE_MAX), -1);
	assert_int_equal(b.next, 2);
	ipc_body_close(&b);
}

/*
 * msgpack-c decodes an empty string or bin with a NULL pointer when no field
 * before it had a payload. The getters return a non-NULL pointer instead.
 */
static void
get_empty_str_first(void **state)
{
	static const uint8_t	 body[] = { 0x92, 0xa0, 0xc4, 0x00 };
	struct ipc_body		 b;
	const uint8_t		*bp;
	const char		*p;
	char			 s[4] = "xyz";
	size_t			 len;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_str(&b, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	b.next = 0;
	assert_int_equal(ipc_get_strp(&b, &p, &len, 10), 0);
	assert_non_null(p);
	assert_int_equal(ipc_get_bin(&b, &bp, &len, 0), 0);
	assert_non_null(bp);
	assert_int_equal(len, 0);
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
}

static void
get_u64_max(void **state)
{
	/* [300, 2^64-1] */
	static const uint8_t	 body[] = {
		0x92, 0xcd, 0x01, 0x2c,
		0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
	};
	struct ipc_body		 b;
	uint64_t		 u = 7;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_u64(&b, &u, 299), -1);
	assert_int_equal(u, 7);
	assert_int_equal(b.next, 0);
	assert_int_equal(ipc_get_u64(&b, &u, 300), 0);
	assert_int_equal(u, 300);
	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX - 1), -1);
	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX), 0);
	assert_true(u == UINT64_MAX);
	ipc_body_close(&b);
}

static void
get_u64_rejects_negative(void **state)
{
	/* [-1, int8 5]: msgpack-c turns a non-negative int8 into unsigned. */
	static const uint8_t	 body[] = { 0x92, 0xff, 0xd0, 0x05 };
	struct ipc_body		 b;
	uint64_t		 u;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX), -1);
	b.next++;
	assert_int_equal(ipc_get_u64(&b, &u, UINT64_MAX), 0);
	assert_int_equal(u, 5);
	ipc_body_close(&b);
}

static void
get_i64_range(void **state)
{
	/* [INT64_MIN, INT64_MAX, INT64_MAX + 1] */
	static const uint8_t	 body[] = {
		0x93,
		0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xcf, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
	};
	struct ipc_body		 b;
	int64_t			 i;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_i64(&b, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(ipc_get_i64(&b, &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(ipc_get_i64(&b, &i), -1);
	assert_int_equal(b.next, 2);
	assert_int_equal(ipc_get_end(&b), -1);
	ipc_body_close(&b);
}

static void
get_end_and_past_end(void **state)
{
	static const uint8_t	 body[] = { 0x92, 0x01, 0x02 };
	struct ipc_body		 b;
	uint64_t		 u;
	int64_t			 i;
	int			 v;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_end(&b), -1);
	assert_int_equal(ipc_get_u64(&b, &u, 10), 0);
	errno = 0;
	assert_int_equal(ipc_get_end(&b), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(ipc_get_u64(&b, &u, 10), 0);
	assert_int_equal(ipc_get_end(&b), 0);

	assert_int_equal(ipc_get_u64(&b, &u, 10), -1);
	assert_int_equal(ipc_get_i64(&b, &i), -1);
	assert_int_equal(ipc_get_nil(&b), -1);
	assert_int_equal(ipc_get_bool(&b, &v), -1);
	assert_int_equal(b.next, 2);
	ipc_body_close(&b);

	/* A closed body has nothing left to read. */
	assert_int_equal(ipc_get_u64(&b, &u, 10), -1);
	ipc_body_close(&b);
}

static void
get_array_limits(void **state)
{
	/* [[1, [2, 3]], [], 4] */
	static const uint8_t	 body[] = {
		0x93, 0x92, 0x01, 0x92, 0x02, 0x03, 0x90, 0x04
	};
	struct ipc_body		 b, sub, inner;
	uint64_t		 u;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_array(&b, &sub, 1), -1);
	assert_int_equal(b.next, 0);
	assert_int_equal(ipc_get_array(&b, &sub, 2), 0);

	assert_int_equal(ipc_get_array(&sub, &inner, 2), -1);
	assert_int_equal(ipc_get_u64(&sub, &u, 10), 0);
	assert_int_equal(ipc_get_end(&sub), -1);
	assert_int_equal(ipc_get_array(&sub, &inner, 1), -1);
	assert_int_equal(ipc_get_array(&sub, &inner, 2), 0);
	assert_int_equal(ipc_get_u64(&inner, &u, 10), 0);
	assert_int_equal(u, 2);
	assert_int_equal(ipc_get_end(&inner), -1);
	assert_int_equal(ipc_get_u64(&inner, &u, 10), 0);
	assert_int_equal(u, 3);
	assert_int_equal(ipc_get_u64(&inner, &u, 10), -1);
	assert_int_equal(ipc_get_end(&inner), 0);
	assert_int_equal(ipc_get_end(&sub), 0);
	assert_int_equal(ipc_get_array(&sub, &inner, 10), -1);

	assert_int_equal(ipc_get_array(&b, &sub, 0), 0);
	assert_int_equal(sub.count, 0);
	assert_int_equal(ipc_get_u64(&sub, &u, 10), -1);
	assert_int_equal(ipc_get_end(&sub), 0);
	assert_int_equal(ipc_get_u64(&b, &u, 10), 0);
	assert_int_equal(u, 4);
	assert_int_equal(ipc_get_end(&b), 0);
	ipc_body_close(&b);
}

static void
get_bin_limit(void **state)
{
	static const uint8_t	 body[] = { 0x91, 0xc4, 0x03, 1, 2, 3 };
	struct ipc_body		 b;
	const uint8_t		*p;
	size_t			 len;

	assert_int_equal(ipc_body_open_buf(&b, body, sizeof(body)), 0);
	assert_int_equal(ipc_get_bin(&b, &p, &len, 2), -1);
	assert_int_equal(b.next, 0);
	assert_int_equal(ipc_get_bin(&b, &p, &len, 3), 0);
	assert_int_equal(len, 3);
	assert_ptr_equal(p, body + 3);
	ipc_body_close(&b);
}

static void
body_open_empty_frame(void **state)
{
	struct ipc_conn	 c;
	struct ipc_msg	 msg;
	struct ipc_body	 b;
	uint8_t		 hdr[IPC_HDR_SIZE];

	ipc_conn_init(&c, -1, "rx");
	test_hdr_bytes(hdr, TEST_TYPE, 0, 0);
	assert_int_equal(ipc_feed(&c, hdr, sizeof(hdr)), 0);
	assert_int_equal(ipc_get(&c, &msg), 1);
	assert_int_equal(msg.hdr.len, 0);
	errno = 0;
	assert_int_equal(ipc_body_open(&b, &msg), -1);
	assert_int_equal(errno, EBADMSG);
	ipc_consume(&c, &msg);
	ipc_conn_clear(&c);
}

/* libevent connections. */

struct test_loop {
	struct event_base	*base;
	struct ipc_conn		*tx;
	struct ipc_conn		*rx;
	uint32_t		 received;
	int			 out_of_order;
	int			 bad_body;
	int			 errors;
	char			 error[64];
	int			 timed_out;
};

static void
test_loop_dispatch(struct ipc_conn *c, struct ipc_msg *msg, void *arg)
{
	struct test_loop	*t = arg;
	struct ipc_body		 b;
	uint64_t		 u;

	if (msg->hdr.peerid != t->received)
		t->out_of_order++;
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &u, UINT32_MAX) == -1 || u != t->received ||
	    ipc_get_end(&b) == -1)
		t->bad_body++;
	ipc_body_close(&b);
	t->received++;

	/* The sender hangs up once everything has arrived. */
	if (t->received == TEST_FRAMES) {
		ipc_conn_free(t->tx);
		t->tx = NULL;
	}
}

static void
test_loop_error(struct ipc_conn *c, const char *why, void *arg)
{
	struct test_loop	*t = arg;

	t->errors++;
	snprintf(t->error, sizeof(t->error), "%s", why);
	assert_ptr_equal(c, t->rx);
	ipc_conn_free(c);
	t->rx = NULL;
}

static void
test_loop_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct test_loop	*t = arg;

	t->timed_out = 1;
	event_base_loopbreak(t->base);
}

static void
test_loop_run(struct test_loop *t)
{
	struct timeval	 limit = { 10, 0 };
	struct event	*timer;

	assert_non_null(timer = evtimer_new(t->base, test_loop_timeout, t));
	evtimer_add(timer, &limit);
	/* The loop ends when the last connection is freed and the timer fires. */
	while (!t->timed_out && (t->tx != NULL || t->rx != NULL))
		assert_int_not_equal(event_base_loop(t->base, EVLOOP_ONCE), -1);
	event_free(timer);
	assert_false(t->timed_out);
}

static void
event_frames_in_order(void **state)
{
	struct test_loop	 t;
	struct ipc_wbuf		 wb;
	uint32_t		 i;
	int			 sv[2], before;

	before = test_count_fds();
	memset(&t, 0, sizeof(t));
	assert_non_null(t.base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(t.tx = ipc_conn_new(t.base, sv[0], "tx",
	    test_loop_dispatch, test_loop_error, &t));
	assert_non_null(t.rx = ipc_conn_new(t.base, sv[1], "rx",
	    test_loop_dispatch, test_loop_error, &t));

	for (i = 0; i < TEST_FRAMES; i++) {
		ipc_wbuf_init(&wb, 1);
		ipc_put_u64(&wb, i);
		assert_int_equal(ipc_compose(t.tx, TEST_TYPE, i, -1, &wb), 0);
	}
	test_loop_run(&t);

	assert_int_equal(t.received, TEST_FRAMES);
	assert_int_equal(t.out_of_order, 0);
	assert_int_equal(t.bad_body, 0);
	assert_int_equal(t.errors, 1);
	assert_string_equal(t.error, "connection closed");
	assert_null(t.tx);
	assert_null(t.rx);
	event_base_free(t.base);
	assert_int_equal(test_count_fds(), before);
}

struct test_big {
	struct ipc_conn	*tx;
	struct ipc_conn	*rx;
	uint32_t	 received;
	int		 bad;
	int		 errors;
	int		 timed_out;
};

#define TEST_BIG_FRAMES	16
#define TEST_BIG_LEN	(512 * 1024)

static void
test_big_dispatch(struct ipc_conn *c, struct ipc_msg *msg, void *arg)
{
	struct test_big	*t = arg;
	struct ipc_body	 b;
	const uint8_t	*p;
	size_t		 len;

	if (msg->hdr.peerid != t->received ||
	    ipc_body_open(&b, msg) == -1 ||
	    ipc_get_bin(&b, &p, &len, TEST_BIG_LEN) == -1 ||
	    len != TEST_BIG_LEN || p[0] != (uint8_t)t->received ||
	    p[len - 1] != (uint8_t)t->received)
		t->bad++;
	ipc_body_close(&b);
	t->received++;
}

static void
test_big_error(struct ipc_conn *c, const char *why, void *arg)
{
	struct test_big	*t = arg;

	t->errors++;
}

static void
test_big_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct test_big	*t = arg;

	t->timed_out = 1;
}

/* Frames larger than the socket buffer make the writer wait for EV_WRITE. */
static void
event_large_frames(void **state)
{
	struct event_base	*base;
	struct event		*timer;
	struct timeval		 limit = { 20, 0 };
	struct test_big		 t;
	struct ipc_wbuf		 wb;
	uint8_t			*data;
	uint32_t		 i;
	int			 sv[2];

	memset(&t, 0, sizeof(t));
	assert_non_null(data = malloc(TEST_BIG_LEN));
	assert_non_null(base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(t.tx = ipc_conn_new(base, sv[0], "tx",
	    test_big_dispatch, test_big_error, &t));
	assert_non_null(t.rx = ipc_conn_new(base, sv[1], "rx",
	    test_big_dispatch, test_big_error, &t));
	for (i = 0; i < TEST_BIG_FRAMES; i++) {
		memset(data, i, TEST_BIG_LEN);
		ipc_wbuf_init(&wb, 1);
		ipc_put_bin(&wb, data, TEST_BIG_LEN);
		assert_int_equal(ipc_compose(t.tx, TEST_TYPE, i, -1, &wb), 0);
	}
	assert_true(t.tx->wqbytes > IPC_WQ_HIGH);

	assert_non_null(timer = evtimer_new(base, test_big_timeout, &t));
	evtimer_add(timer, &limit);
	while (!t.timed_out && t.received < TEST_BIG_FRAMES && t.errors == 0)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);

	assert_false(t.timed_out);
	assert_int_equal(t.errors, 0);
	assert_int_equal(t.received, TEST_BIG_FRAMES);
	assert_int_equal(t.bad, 0);
	assert_int_equal(t.tx->wqbytes, 0);
	event_free(timer);
	ipc_conn_free(t.tx);
	ipc_conn_free(t.rx);
	event_base_free(base);
	free(data);
}

/* Reports the error named by a peer that writes raw bytes and hangs up. */
static void
test_event_raw_peer(const void *bytes, size_t len, const char *expected)
{
	struct test_loop	 t;
	int			 sv[2];

	memset(&t, 0, sizeof(t));
	assert_non_null(t.base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(t.rx = ipc_conn_new(t.base, sv[1], "rx",
	    test_loop_dispatch, test_loop_error, &t));
	assert_int_equal(write(sv[0], bytes, len), (ssize_t)len);
	close(sv[0]);

	test_loop_run(&t);
	assert_int_equal(t.errors, 1);
	assert_string_equal(t.error, expected);
	event_base_free(t.base);
}

static void
event_truncated_at_eof(void **state)
{
	uint8_t	 frame[IPC_HDR_SIZE + 1];

	test_hdr_bytes(frame, TEST_TYPE, 5, 0);
	frame[IPC_HDR_SIZE] = 0x91;
	test_event_raw_peer(frame, sizeof(frame),
	    "truncated frame at end of file");
}

static void
event_malformed_frame(void **state)
{
	uint8_t	 frame[IPC_HDR_SIZE + 1];

	test_hdr_bytes(frame, TEST_TYPE, 1, 0x4);
	frame[IPC_HDR_SIZE] = 0x90;
	test_event_raw_peer(frame, sizeof(frame), "malformed frame");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(roundtrip_nil_bool),
		cmocka_unit_test(roundtrip_u64),
		cmocka_unit_test(roundtrip_i64),
		cmocka_unit_test(roundtrip_str),
		cmocka_unit_test(roundtrip_bin),
		cmocka_unit_test(roundtrip_nested_array),
		cmocka_unit_test(frame_header_fields),
		cmocka_unit_test(frames_coalesced_one_read),
		cmocka_unit_test(frames_fed_byte_by_byte),
		cmocka_unit_test(frame_split_after_consume),
		cmocka_unit_test(frame_len_over_max),
		cmocka_unit_test(frame_unknown_flags),
		cmocka_unit_test(frame_fd_flag_without_fd),
		cmocka_unit_test(feed_empty_and_oversized),
		cmocka_unit_test(compose_over_max),
		cmocka_unit_test(frame_max_over_socket),
		cmocka_unit_test(read_eof_returns_zero),
		cmocka_unit_test(fd_pipe_passed),
		cmocka_unit_test(fd_order_matches_frames),
		cmocka_unit_test(fd_with_partial_write),
		cmocka_unit_test(fd_queue_drains_in_order),
		cmocka_unit_test(fd_ctrunc_rejected),
		cmocka_unit_test(fd_queue_overflow),
		cmocka_unit_test(body_malformed_rejected),
		cmocka_unit_test(body_valid_forms_accepted),
		cmocka_unit_test(body_huge_declared_fast),
		cmocka_unit_test(body_depth_limit),
		cmocka_unit_test(body_objects_limit),
		cmocka_unit_test(body_objects_limit_nested),
		cmocka_unit_test(get_wrong_type),
		cmocka_unit_test(get_str_limits),
		cmocka_unit_test(get_empty_str_first),
		cmocka_unit_test(get_u64_max),
		cmocka_unit_test(get_u64_rejects_negative),
		cmocka_unit_test(get_i64_range),
		cmocka_unit_test(get_end_and_past_end),
		cmocka_unit_test(get_array_limits),
		cmocka_unit_test(get_bin_limit),
		cmocka_unit_test(body_open_empty_frame),
		cmocka_unit_test(event_frames_in_order),
		cmocka_unit_test(event_large_frames),
		cmocka_unit_test(event_truncated_at_eof),
		cmocka_unit_test(event_malformed_frame),
	};

	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
