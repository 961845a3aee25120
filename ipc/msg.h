/*
 * Every message type that crosses a benjid socket, with its body.
 *
 * A body is one msgpack array; the comment beside each type lists its fields
 * in order. "-" means an empty array. Raise IPC_PROTOCOL_VERSION whenever
 * this enum or a body changes, because parent and children must agree.
 */

#ifndef BENJI_IPC_MSG_H
#define BENJI_IPC_MSG_H

#define IPC_PROTOCOL_VERSION	1

enum ipc_type {
	IMSG_NONE = 0,

	/* parent -> child */
	IMSG_CTL_HELLO,		/* [u protocol version, u procid, u verbose] */
	IMSG_CTL_PEER,		/* [u procid], fd: socket to that sibling */
	IMSG_CTL_LISTEN,	/* [str address, u port], fd: listening socket */
	IMSG_CTL_CONFIG,	/* [str profile, u shutdown timeout in ms] */
	IMSG_CTL_START,		/* -: configuration complete, begin work */
	IMSG_CTL_SHUTDOWN,	/* [u deadline in ms] */

	/* child -> parent */
	IMSG_CTL_READY,		/* -: started after IMSG_CTL_START */
	IMSG_CTL_RELOADED,	/* -: took the new configuration */

	/* any process -> any peer, and back */
	IMSG_PING,		/* - */
	IMSG_PONG,		/* [u procid] */

	/* parent -> child: each child's own configuration */
	IMSG_CTL_CONFIG_HTTP,		/* see http_config_send */
	IMSG_CTL_CONFIG_FETCHER,	/* see fetcher_config_send */
	IMSG_CTL_CONFIG_DB,		/* see db_config_send */
	IMSG_CTL_CONFIG_SECRETS,	/* see secrets_config_send */

	/* http <-> fetcher: quotes */

	/* http <-> db: portfolio, finance, imports, readiness */

	/* http <-> secrets: credential checks */

	/* benjictl <-> parent over the control socket */
	IMSG_CTL_SHOW_PROCESSES,	/* - */
	IMSG_CTL_PROCESS,	/* [str name, u pid, u restarts, i started_at] */
	IMSG_CTL_RELOAD,	/* - */
	IMSG_CTL_OK,		/* [str message] */
	IMSG_CTL_FAIL,		/* [str message] */
	IMSG_CTL_END,		/* -: last line of a listing */

	IMSG_TYPE_MAX
};

#endif /* BENJI_IPC_MSG_H */
