/*
 * Message bodies: one msgpack array per frame, packed with ipc_put_* and
 * read back with typed getters.
 *
 * msgpack-c allocates from the counts a body declares, so a 5-byte body
 * claiming 2^32 elements would make it reserve gigabytes. ipc_body_check
 * walks the raw bytes first and rejects any length or count that the bytes
 * present cannot hold, deep nesting, too many objects, and the types benji
 * never sends (floats, extensions).
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"

/*
 * The first chunk of the objects of a decoded body. It stays within
 * malloc's per-thread cache; a larger body takes more chunks.
 */
#define IPC_ZONE_CHUNK	512

struct body_walk {
	const uint8_t	*p;
	size_t		 left;
	size_t		 objects;
};

static int	body_walk_object(struct body_walk *, int);

static int
body_take(struct body_walk *w, size_t n, uint64_t *value)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (w->left < n)
		return -1;
	for (i = 0; i < n; i++)
		v = (v << 8) | w->p[i];
	w->p += n;
	w->left -= n;
	if (value != NULL)
		*value = v;
	return 0;
}

static int
body_skip(struct body_walk *w, uint64_t n)
{
	if (n > w->left)
		return -1;
	w->p += n;
	w->left -= n;
	return 0;
}

/* Checks count elements, each of which needs at least one byte. */
static int
body_walk_items(struct body_walk *w, uint64_t count, int depth)
{
	uint64_t	 i;

	if (depth >= IPC_DEPTH_MAX || count > w->left ||
	    count > IPC_OBJECTS_MAX - w->objects)
		return -1;
	for (i = 0; i < count; i++)
		if (body_walk_object(w, depth + 1) == -1)
			return -1;
	return 0;
}

static int
body_walk_object(struct body_walk *w, int depth)
{
	uint64_t	 n;
	uint8_t		 b;

	if (w->left == 0 || ++w->objects > IPC_OBJECTS_MAX)
		return -1;
	b = *w->p;
	w->p++;
	w->left--;

	if (b <= 0x7f || b >= 0xe0)		/* fixint */
		return 0;
	if (b >= 0x80 && b <= 0x8f)		/* fixmap */
		return body_walk_items(w, 2 * (uint64_t)(b & 0x0f), depth);
	if (b >= 0x90 && b <= 0x9f)		/* fixarray */
		return body_walk_items(w, b & 0x0f, depth);
	if (b >= 0xa0 && b <= 0xbf)		/* fixstr */
		return body_skip(w, b & 0x1f);

	switch (b) {
	case 0xc0:				/* nil */
	case 0xc2:				/* false */
	case 0xc3:				/* true */
		return 0;
	case 0xc4:				/* bin 8 */
	case 0xd9:				/* str 8 */
		return body_take(w, 1, &n) == -1 ? -1 : body_skip(w, n);
	case 0xc5:				/* bin 16 */
	case 0xda:				/* str 16 */
		return body_take(w, 2, &n) == -1 ? -1 : body_skip(w, n);
	case 0xc6:				/* bin 32 */
	case 0xdb:				/* str 32 */
		return body_take(w, 4, &n) == -1 ? -1 : body_skip(w, n);
	case 0xcc:				/* uint 8 */
	case 0xd0:				/* int 8 */
		return body_take(w, 1, NULL);
	case 0xcd:
	case 0xd1:
		return body_take(w, 2, NULL);
	case 0xce:
	case 0xd2:
		return body_take(w, 4, NULL);
	case 0xcf:
	case 0xd3:
		return body_take(w, 8, NULL);
	case 0xdc:				/* array 16 */
		return body_take(w, 2, &n) == -1 ? -1 :
		    body_walk_items(w, n, depth);
	case 0xdd:				/* array 32 */
		return body_take(w, 4, &n) == -1 ? -1 :
		    body_walk_items(w, n, depth);
	case 0xde:				/* map 16 */
		return body_take(w, 2, &n) == -1 ? -1 :
		    body_walk_items(w, 2 * n, depth);
	case 0xdf:				/* map 32 */
		return body_take(w, 4, &n) == -1 ? -1 :
		    body_walk_items(w, 2 * n, depth);
	default:
		/* 0xc1 (never used), floats and extension types */
		return -1;
	}
}

/* Returns 0 when buf holds exactly one well-formed array and nothing else. */
int
ipc_body_check(const uint8_t *buf, size_t len)
{
	struct body_walk	 w = { buf, len, 0 };

	if (len == 0)
		return -1;
	if (!((buf[0] >= 0x90 && buf[0] <= 0x9f) || buf[0] == 0xdc ||
	    buf[0] == 0xdd))
		return -1;
	if (body_walk_object(&w, 0) == -1 || w.left != 0)
		return -1;
	return 0;
}

int
ipc_body_open_buf(struct ipc_body *b, const uint8_t *buf, size_t len)
{
	msgpack_unpack_return	 ret;
	size_t			 off = 0;

	memset(b, 0, sizeof(*b));
	if (ipc_body_check(buf, len) == -1)
		goto bad;
	if (!msgpack_zone_init(&b->zone, IPC_ZONE_CHUNK))
		goto bad;
	b->open = 1;

	/* Out of memory is as bad as a parse error: the message is dropped. */
	ret = msgpack_unpack((const char *)buf, len, &off, &b->zone, &b->root);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len ||
	    b->root.type != MSGPACK_OBJECT_ARRAY) {
		ipc_body_close(b);
		goto bad;
	}
	b->items = b->root.via.array.ptr;
	b->count = b->root.via.array.size;
	return 0;
 bad:
	errno = EBADMSG;
	return -1;
}

/* Opens the body of a received frame; strings point into the frame. */
int
ipc_body_open(struct ipc_body *b, const struct ipc_msg *msg)
{
	return ipc_body_open_buf(b, msg->body, msg->hdr.len);
}

void
ipc_body_close(struct ipc_body *b)
{
	if (b->open)
		msgpack_zone_destroy(&b->zone);
	b->open = 0;
	b->items = NULL;
	b->count = b->next = 0;
}

static const msgpack_object *
body_next(struct ipc_body *b, msgpack_object_type type)
{
	const msgpack_object	*o;

	if (b->items == NULL || b->next >= b->count)
		return NULL;
	o = &b->items[b->next];
	if (o->type != type)
		return NULL;
	b->next++;
	return o;
}

#define BODY_FAIL()	do { errno = EBADMSG; return -1; } while (0)

int
ipc_get_nil(struct ipc_body *b)
{
	if (body_next(b, MSGPACK_OBJECT_NIL) == NULL)
		BODY_FAIL();
	return 0;
}

int
ipc_get_bool(struct ipc_body *b, int *v)
{
	const msgpack_object	*o;

	if ((o = body_next(b, MSGPACK_OBJECT_BOOLEAN)) == NULL)
		BODY_FAIL();
	*v = o->via.boolean;
	return 0;
}

/* Reads an unsigned integer no greater than max. */
int
ipc_get_u64(struct ipc_body *b, uint64_t *v, uint64_t max)
{
	const msgpack_object	*o;

	if ((o = body_next(b, MSGPACK_OBJECT_POSITIVE_INTEGER)) == NULL)
		BODY_FAIL();
	if (o->via.u64 > max) {
		b->next--;
		BODY_FAIL();
	}
	*v = o->via.u64;
	return 0;
}

int
ipc_get_i64(struct ipc_body *b, int64_t *v)
{
	const msgpack_object	*o;

	if (b->items == NULL || b->next >= b->count)
		BODY_FAIL();
	o = &b->items[b->next];
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		BODY_FAIL();
	b->next++;
	return 0;
}

/*
 * Points at a string of at most max bytes without a NUL inside. The bytes
 * live in the received frame and are not NUL-terminated.
 */
int
ipc_get_strp(struct ipc_body *b, const char **p, size_t *len, size_t max)
{
	const msgpack_object	*o;

	if ((o = body_next(b, MSGPACK_OBJECT_STR)) == NULL)
		BODY_FAIL();
	if (o->via.str.size > max || (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)) {
		b->next--;
		BODY_FAIL();
	}
	/*
	 * msgpack-c may leave ptr NULL for an empty string, and callers pass
	 * the pointer to memcpy.
	 */
	*p = o->via.str.size > 0 ? o->via.str.ptr : "";
	*len = o->via.str.size;
	return 0;
}

/* Copies a string into dst of size bytes, NUL-terminated; never truncates. */
int
ipc_get_str(struct ipc_body *b, char *dst, size_t size)
{
	const char	*p;
	size_t		 len;

	if (size == 0 || ipc_get_strp(b, &p, &len, size - 1) == -1)
		BODY_FAIL();
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

int
ipc_get_bin(struct ipc_body *b, const uint8_t **p, size_t *len, size_t max)
{
	const msgpack_object	*o;

	if ((o = body_next(b, MSGPACK_OBJECT_BIN)) == NULL)
		BODY_FAIL();
	if (o->via.bin.size > max) {
		b->next--;
		BODY_FAIL();
	}
	*p = (const uint8_t *)(o->via.bin.size > 0 ? o->via.bin.ptr : "");
	*len = o->via.bin.size;
	return 0;
}

/* Opens a nested array of at most max elements as a body of its own. */
int
ipc_get_array(struct ipc_body *b, struct ipc_body *sub, uint32_t max)
{
	const msgpack_object	*o;

	if ((o = body_next(b, MSGPACK_OBJECT_ARRAY)) == NULL)
		BODY_FAIL();
	if (o->via.array.size > max) {
		b->next--;
		BODY_FAIL();
	}
	memset(sub, 0, sizeof(*sub));
	sub->items = o->via.array.ptr;
	sub->count = o->via.array.size;
	return 0;
}

/* Fails unless every field has been read: extra fields are an error too. */
int
ipc_get_end(struct ipc_body *b)
{
	if (b->next != b->count)
		BODY_FAIL();
	return 0;
}

void
ipc_put_nil(struct ipc_wbuf *wb)
{
	msgpack_pack_nil(&wb->pk);
}

void
ipc_put_bool(struct ipc_wbuf *wb, int v)
{
	if (v)
		msgpack_pack_true(&wb->pk);
	else
		msgpack_pack_false(&wb->pk);
}

void
ipc_put_u64(struct ipc_wbuf *wb, uint64_t v)
{
	msgpack_pack_uint64(&wb->pk, v);
}

void
ipc_put_i64(struct ipc_wbuf *wb, int64_t v)
{
	msgpack_pack_int64(&wb->pk, v);
}

void
ipc_put_strn(struct ipc_wbuf *wb, const char *s, size_t len)
{
	msgpack_pack_str_with_body(&wb->pk, s, len);
}

void
ipc_put_str(struct ipc_wbuf *wb, const char *s)
{
	ipc_put_strn(wb, s, strlen(s));
}

void
ipc_put_bin(struct ipc_wbuf *wb, const void *p, size_t len)
{
	msgpack_pack_bin_with_body(&wb->pk, p, len);
}

void
ipc_put_array(struct ipc_wbuf *wb, uint32_t n)
{
	msgpack_pack_array(&wb->pk, n);
}
