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
	IMSG_QUOTES_GET,	/* [[str symbol, ...]]: 1 to QUOTES_BATCH_MAX
				   symbols, already normalised (upper case,
				   valid); the reply keeps their order */
	IMSG_QUOTES,		/* [[result, ...]], one result per symbol:
				   [str symbol, u quote_status, str price,
				   str change, str change_percent,
				   str currency, str as_of, str source,
				   i fetched_at, b stale, u retry_after,
				   str message]. Decimals are exact text
				   ("192.67", "-4.87", "-0.8841%"), "" when
				   absent; currency "" when unknown; as_of
				   is the trading day YYYY-MM-DD; fetched_at
				   is Unix seconds; retry_after is seconds,
				   0 when none; message explains a failure */
	IMSG_QUOTES_HEALTH_GET,	/* - */
	IMSG_QUOTES_HEALTH,	/* [[provider, ...]], in configured order:
				   [str name, str state, str last_error,
				   i last_error_at, i last_success_at,
				   u calls_today, u budget_per_day]; state
				   is "UNKNOWN", "UP", "RATE_LIMITED",
				   "ERROR" or "MISCONFIGURED"; times are
				   Unix seconds, 0 for never; budget 0 means
				   no limit */
	IMSG_QUOTES_EVICT,	/* [str symbol]: "" evicts every entry */
	IMSG_QUOTES_EVICTED,	/* [u entries removed] */
	IMSG_CTL_FETCHER_RESOLVED,	/* parent -> fetcher: [str host,
				   u port, [str address, ...]], the
				   provider's addresses that libcurl pins,
				   sent after each configuration and on
				   every periodic lookup */

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
