/*
 * libFuzzer target for the IPC frame parser and the body decoder.
 *
 * Input layout: byte 0 picks 1 to 3 slices, bytes 1 and 2 pick where the
 * slices are cut, and the remaining bytes are the byte stream a peer sent.
 * The whole input is also decoded as one raw body.
 *
 * Every body that opens is walked field by field with the getter that fits
 * each field's type, re-encoded with ipc_put_*, and the re-encoding must
 * open again and re-encode to the same bytes.
 */

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

#define FUZZ_PREFIX	3

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The span of the body being walked: every pointer a getter returns is in it. */
struct fuzz_span {
	const uint8_t	*start;
	size_t		 len;
};

static int	 fuzz_walk(struct ipc_body *, struct ipc_wbuf *,
		    const struct fuzz_span *, int);

static void
fuzz_check_span(const struct fuzz_span *span, const void *p, size_t len)
{
	const uint8_t	*q = p;

	assert(len <= span->len);
	if (len == 0)
		return;
	assert(q >= span->start);
	assert(q + len <= span->start + span->len);
}

/* Tries getters of the wrong type: each must fail and leave the field. */
static void
fuzz_wrong_getters(struct ipc_body *b, msgpack_object_type type)
{
	struct ipc_body	 sub;
	const uint8_t	*bp;
	const char	*sp;
	uint64_t	 u;
	size_t		 len;
	uint32_t	 next = b->next;
	int		 v;

	if (type != MSGPACK_OBJECT_NIL)
		assert(ipc_get_nil(b) == -1);
	if (type != MSGPACK_OBJECT_BOOLEAN)
		assert(ipc_get_bool(b, &v) == -1);
	if (type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		assert(ipc_get_u64(b, &u, UINT64_MAX) == -1);
	if (type != MSGPACK_OBJECT_STR)
		assert(ipc_get_strp(b, &sp, &len, SIZE_MAX) == -1);
	if (type != MSGPACK_OBJECT_BIN)
		assert(ipc_get_bin(b, &bp, &len, SIZE_MAX) == -1);
	if (type != MSGPACK_OBJECT_ARRAY)
		assert(ipc_get_array(b, &sub, UINT32_MAX) == -1);
	assert(b->next == next);
}

static int
fuzz_walk_str(struct ipc_body *b, struct ipc_wbuf *wb,
    const struct fuzz_span *span)
{
	char		 small[8];
	const char	*p;
	size_t		 len;
	uint32_t	 next = b->next;

	if (ipc_get_str(b, small, sizeof(small)) == 0) {
		assert(strlen(small) < sizeof(small));
		b->next = next;
	} else
		assert(b->next == next);

	if (ipc_get_strp(b, &p, &len, SIZE_MAX) == -1) {
		/* Only a NUL inside can make an unbounded read fail. */
		assert(b->next == next);
		assert(memchr(b->items[next].via.str.ptr, '\0',
		    b->items[next].via.str.size) != NULL);
		return -1;
	}
	fuzz_check_span(span, p, len);
	assert(memchr(p, '\0', len) == NULL);
	if (len > 0) {
		b->next = next;
		assert(ipc_get_strp(b, &p, &len, len - 1) == -1);
		assert(b->next == next);
		assert(ipc_get_strp(b, &p, &len, len) == 0);
	}
	ipc_put_strn(wb, p, len);
	return 0;
}

static int
fuzz_walk_item(struct ipc_body *b, struct ipc_wbuf *wb,
    const struct fuzz_span *span, int depth)
{
	struct ipc_body	 sub;
	const uint8_t	*bp;
	uint64_t	 u;
	int64_t		 i;
	size_t		 len;
	int		 v;

	switch (b->items[b->next].type) {
	case MSGPACK_OBJECT_NIL:
		assert(ipc_get_nil(b) == 0);
		ipc_put_nil(wb);
		return 0;
	case MSGPACK_OBJECT_BOOLEAN:
		assert(ipc_get_bool(b, &v) == 0);
		ipc_put_bool(wb, v);
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		u = b->items[b->next].via.u64;
		if (u > 0) {
			assert(ipc_get_u64(b, &u, u - 1) == -1);
			u = b->items[b->next].via.u64;
		}
		if (ipc_get_i64(b, &i) == 0) {
			assert(i >= 0);
			assert((uint64_t)i == u);
			b->next--;
		} else
			assert(u > INT64_MAX);
		assert(ipc_get_u64(b, &u, u) == 0);
		ipc_put_u64(wb, u);
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		assert(ipc_get_i64(b, &i) == 0);
		assert(i < 0);
		ipc_put_i64(wb, i);
		return 0;
	case MSGPACK_OBJECT_STR:
		return fuzz_walk_str(b, wb, span);
	case MSGPACK_OBJECT_BIN:
		assert(ipc_get_bin(b, &bp, &len, SIZE_MAX) == 0);
		fuzz_check_span(span, bp, len);
		ipc_put_bin(wb, bp, len);
		return 0;
	case MSGPACK_OBJECT_ARRAY:
		len = b->items[b->next].via.array.size;
		if (len > 0) {
			assert(ipc_get_array(b, &sub, len - 1) == -1);
			assert(ipc_get_array(b, &sub, len) == 0);
		} else
			assert(ipc_get_array(b, &sub, 0) == 0);
		/* The root array is at depth 0 and arrays nest below it. */
		assert(depth + 1 < IPC_DEPTH_MAX);
		ipc_put_array(wb, sub.count);
		return fuzz_walk(&sub, wb, span, depth + 1);
	default:
		/* Maps pass the check but no getter reads them. */
		return -1;
	}
}

/* Reads every field of b into wb. Returns -1 when a field has no getter. */
static int
fuzz_walk(struct ipc_body *b, struct ipc_wbuf *wb,
    const struct fuzz_span *span, int depth)
{
	while (b->next < b->count) {
		assert(ipc_get_end(b) == -1);
		fuzz_wrong_getters(b, b->items[b->next].type);
		if (fuzz_walk_item(b, wb, span, depth) == -1)
			return -1;
	}
	assert(ipc_get_end(b) == 0);
	assert(ipc_get_nil(b) == -1);
	return 0;
}

static void
fuzz_reencode_check(const struct ipc_wbuf *first)
{
	struct ipc_body		 b;
	struct ipc_wbuf		 second;
	struct fuzz_span	 span;
	const uint8_t		*body;
	size_t			 len;

	body = (const uint8_t *)first->sb.data + IPC_HDR_SIZE;
	len = first->sb.size - IPC_HDR_SIZE;
	assert(ipc_body_open_buf(&b, body, len) == 0);
	span.start = body;
	span.len = len;
	ipc_wbuf_init(&second, b.count);
	assert(fuzz_walk(&b, &second, &span, 0) == 0);
	assert(second.sb.size == first->sb.size);
	assert(memcmp(second.sb.data, first->sb.data, first->sb.size) == 0);
	ipc_wbuf_free(&second);
	ipc_body_close(&b);
}

static void
fuzz_body(const uint8_t *buf, size_t len)
{
	struct ipc_body		 b;
	struct ipc_wbuf		 wb;
	struct fuzz_span	 span = { buf, len };

	if (ipc_body_open_buf(&b, buf, len) == -1) {
		/* Whatever passes the check must unpack. */
		assert(ipc_body_check(buf, len) == -1);
		return;
	}
	assert(ipc_body_check(buf, len) == 0);

	ipc_wbuf_init(&wb, b.count);
	if (fuzz_walk(&b, &wb, &span, 0) == 0)
		fuzz_reencode_check(&wb);
	ipc_wbuf_free(&wb);
	ipc_body_close(&b);
	ipc_body_close(&b);
}

static void
fuzz_frames(struct ipc_conn *c)
{
	struct ipc_msg	 msg;
	int		 r;

	while ((r = ipc_get(c, &msg)) == 1) {
		assert(msg.hdr.len <= IPC_FRAME_MAX - IPC_HDR_SIZE);
		assert((msg.hdr.flags & ~IPC_F_MASK) == 0);
		/* The fuzzer never passes descriptors. */
		assert(msg.fd == -1);
		assert((msg.hdr.flags & IPC_F_FD) == 0);
		fuzz_body(msg.body, msg.hdr.len);
		ipc_consume(c, &msg);
	}
	if (r == -1)
		assert(c->rlen - c->roff >= IPC_HDR_SIZE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_conn	 c;
	size_t		 cuts[4], nslices, i, len;

	fuzz_body(data, size);

	if (size < FUZZ_PREFIX)
		return 0;
	nslices = 1 + data[0] % 3;
	len = size - FUZZ_PREFIX;
	cuts[0] = 0;
	cuts[1] = len * data[1] / 255;
	cuts[2] = cuts[1] + (len - cuts[1]) * data[2] / 255;
	if (nslices == 1)
		cuts[1] = len;
	else if (nslices == 2)
		cuts[2] = len;
	cuts[nslices] = len;

	ipc_conn_init(&c, -1, "fuzz");
	for (i = 0; i < nslices; i++) {
		assert(ipc_feed(&c, data + FUZZ_PREFIX + cuts[i],
		    cuts[i + 1] - cuts[i]) == 0);
		fuzz_frames(&c);
	}
	ipc_conn_clear(&c);
	return 0;
}
