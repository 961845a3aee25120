/*
 * imsg-style framing between benjid's processes: a fixed header followed by
 * one msgpack body, over non-blocking unix stream sockets driven by libevent.
 */

#ifndef BENJI_IPC_H
#define BENJI_IPC_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <stddef.h>

#include <event2/event.h>
#include <msgpack.h>

/* Header and body together never exceed this many bytes. */
#define IPC_FRAME_MAX		(1024 * 1024)
/* Arrays and maps inside a body nest at most this deep. */
#define IPC_DEPTH_MAX		8
/* A body holds at most this many msgpack objects, containers included. */
#define IPC_OBJECTS_MAX		65536
/* Received descriptors waiting for their frame; more is a protocol error. */
#define IPC_FDQ_MAX		8
/* Queued output bytes above which a writer should stop producing. */
#define IPC_WQ_HIGH		(8 * 1024 * 1024)

/* The frame carries one descriptor, passed with SCM_RIGHTS. */
#define IPC_F_FD		0x0001
#define IPC_F_MASK		0x0001

struct ipc_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* body bytes after the header */
	uint32_t	 peerid;	/* request id chosen by the sender */
	uint32_t	 pid;		/* sender's pid, for logs */
	uint32_t	 flags;
};
#define IPC_HDR_SIZE	sizeof(struct ipc_hdr)

/* A received frame; body points into the connection's read buffer. */
struct ipc_msg {
	struct ipc_hdr	 hdr;
	const uint8_t	*body;
	int		 fd;		/* owned by the handler when not -1 */
};

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	char			*buf;
	size_t			 len;
	size_t			 off;
	int			 fd;
};
TAILQ_HEAD(ipc_outq, ipc_out);

struct ipc_conn;
typedef void	(*ipc_dispatch_cb)(struct ipc_conn *, struct ipc_msg *, void *);
typedef void	(*ipc_error_cb)(struct ipc_conn *, const char *, void *);

struct ipc_conn {
	int			 fd;
	const char		*name;	/* peer name for logs */
	struct event_base	*base;
	struct event		*rev;
	struct event		*wev;
	struct event		*fev;	/* reports a failure */
	ipc_dispatch_cb		 dispatch;
	ipc_error_cb		 error;
	void			*arg;

	uint8_t			*rbuf;
	size_t			 roff;	/* start of the unparsed bytes */
	size_t			 rlen;	/* end of the bytes read */
	size_t			 rsize;
	int			 rfds[IPC_FDQ_MAX];
	size_t			 nrfds;

	struct ipc_outq		 wq;
	size_t			 wqbytes;
	int			 closing;
	const char		*failure;
	int			 wipe;	/* zero frames before freeing them */
};

/* Builds one outgoing body: an array of fields packed with ipc_put_*. */
struct ipc_wbuf {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
};

/* Reads one received body field by field with checked types. */
struct ipc_body {
	msgpack_zone		 zone;
	msgpack_object		 root;
	const msgpack_object	*items;
	uint32_t		 count;
	uint32_t		 next;
	int			 open;
};

/* Connection without an event loop: the unit tests and the fuzzer use it. */
void	 ipc_conn_init(struct ipc_conn *, int, const char *);
void	 ipc_conn_clear(struct ipc_conn *);
ssize_t	 ipc_read(struct ipc_conn *);
int	 ipc_feed(struct ipc_conn *, const void *, size_t);
int	 ipc_get(struct ipc_conn *, struct ipc_msg *);
void	 ipc_consume(struct ipc_conn *, struct ipc_msg *);
int	 ipc_flush(struct ipc_conn *);

/* Connection on a libevent loop: reads, dispatches and writes by itself. */
struct ipc_conn	*ipc_conn_new(struct event_base *, int, const char *,
		    ipc_dispatch_cb, ipc_error_cb, void *);
void	 ipc_conn_free(struct ipc_conn *);
void	 ipc_conn_fail(struct ipc_conn *, const char *);

/* Queueing frames. The body (may be NULL) is taken over by ipc_compose. */
void	 ipc_wbuf_init(struct ipc_wbuf *, uint32_t);
void	 ipc_wbuf_free(struct ipc_wbuf *);
int	 ipc_compose(struct ipc_conn *, uint32_t, uint32_t, int,
	    struct ipc_wbuf *);
int	 ipc_send(struct ipc_conn *, uint32_t, uint32_t, int);

void	 ipc_put_nil(struct ipc_wbuf *);
void	 ipc_put_bool(struct ipc_wbuf *, int);
void	 ipc_put_u64(struct ipc_wbuf *, uint64_t);
void	 ipc_put_i64(struct ipc_wbuf *, int64_t);
void	 ipc_put_str(struct ipc_wbuf *, const char *);
void	 ipc_put_strn(struct ipc_wbuf *, const char *, size_t);
void	 ipc_put_bin(struct ipc_wbuf *, const void *, size_t);
void	 ipc_put_array(struct ipc_wbuf *, uint32_t);

/* Body validation and typed getters; each returns 0 or -1 (bad message). */
int	 ipc_body_check(const uint8_t *, size_t);
int	 ipc_body_open(struct ipc_body *, const struct ipc_msg *);
int	 ipc_body_open_buf(struct ipc_body *, const uint8_t *, size_t);
void	 ipc_body_close(struct ipc_body *);
int	 ipc_get_nil(struct ipc_body *);
int	 ipc_get_bool(struct ipc_body *, int *);
int	 ipc_get_u64(struct ipc_body *, uint64_t *, uint64_t);
int	 ipc_get_i64(struct ipc_body *, int64_t *);
int	 ipc_get_str(struct ipc_body *, char *, size_t);
int	 ipc_get_strp(struct ipc_body *, const char **, size_t *, size_t);
int	 ipc_get_bin(struct ipc_body *, const uint8_t **, size_t *, size_t);
int	 ipc_get_array(struct ipc_body *, struct ipc_body *, uint32_t);
int	 ipc_get_end(struct ipc_body *);

#endif /* BENJI_IPC_H */
