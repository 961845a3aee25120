/*
 * Every message type that crosses a benjid socket, with its body.
 *
 * A body is one msgpack array; the comment beside each type lists its fields
 * in order. "-" means an empty array. Raise IPC_PROTOCOL_VERSION whenever
 * this enum or a body changes, because parent and children must agree.
 */

#ifndef BENJI_IPC_MSG_H
#define BENJI_IPC_MSG_H

#define IPC_PROTOCOL_VERSION	4

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
	/*
	 * parent -> http: the access policy. [str API key header, bool API
	 * key required, bool actuator credentials required, u failures per
	 * address before slowing, u interval in ms, u delay in ms]
	 */
	IMSG_CTL_CONFIG_AUTH,
	/*
	 * parent -> http, after each start of a child: [u CLOCK_MONOTONIC ms
	 * when the parent started its children, [[str process, u restarts],
	 * ...]] for each child in procid order.
	 */
	IMSG_CTL_PROCESSES,

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
	IMSG_QUOTES_STATS_GET,	/* - */
	IMSG_QUOTES_STATS,	/* [u entries, u capacity, u hits, u misses,
				   u stale served]: counts of symbol lookups
				   since the fetcher started */
	IMSG_CTL_FETCHER_RESOLVED,	/* parent -> fetcher: [str host,
				   u port, [str address, ...]], the
				   provider's addresses that libcurl pins,
				   sent after each configuration and on
				   every periodic lookup */

	/* http <-> db: portfolio, finance, imports, readiness */
	IMSG_DB_READINESS,	/* -: DB_OK once migrated and connected */
	IMSG_DB_HEALTH_GET,	/* - */
	IMSG_DB_HEALTH,		/* [b migrated, u pool size, u connections
				   open, u connections running a statement,
				   u requests queued, str problem]: problem
				   is "" when migrated and connected */
	IMSG_DB_POSITIONS_LIST,	/* -: rows [ticker, quantity, cost_basis]
				   sorted by ticker */
	IMSG_DB_POSITION_PUT,	/* [str ticker, str quantity, str cost_basis]:
				   row [ticker, quantity, cost_basis,
				   "t" when created, "f" when updated] */
	IMSG_DB_POSITION_DELETE, /* [str ticker]: DB_NOT_FOUND when absent */
	IMSG_DB_PORTFOLIO_SUMMARY, /* [str tickers, str prices, str stale]:
				   the quotes known to the caller as three
				   array literals of equal length, such as
				   {"IBM","VOO"}, {192.67,5.1}, {f,t}; rows
				   [ticker, quantity, cost_basis, price,
				   stale, market_value, gain, weight_pct]
				   then one totals row [NULL, count,
				   total_quantity, total_cost_basis,
				   market_value, gain, gain_pct, missing] */
	IMSG_DB_CASH_BALANCES,	/* -: rows [account, kind, currency,
				   balance] */
	IMSG_DB_FINANCE_SUMMARY, /* -: rows [category, spend, income] then
				   one totals row [NULL, spend, income,
				   average_daily, projected, month_start,
				   days_elapsed, days_in_month] */
	IMSG_DB_TRANSACTIONS_LIST, /* [u limit, str category]: "" for all;
				   rows [id, posted_at, description, amount,
				   category, notes] newest first */
	IMSG_DB_TRANSACTION_CREATE, /* [str posted_at, str description,
				   str amount, str category, str notes]:
				   nil for absent text; one row as listed */
	IMSG_DB_TRANSACTION_PATCH, /* [str id, b set_category, str category,
				   b set_notes, str notes]: nil clears;
				   one row as listed, or DB_NOT_FOUND */
	IMSG_DB_RESULT,		/* [u db_status, str message, [[str|nil,
				   ...], ...]]: the reply to every request
				   above; values in libpq text format. The
				   rows may instead be one bin: u32 rows,
				   u32 columns (big-endian), then each
				   cell 0x00 for NULL or 0x01, text, NUL */
	/*
	 * CSV imports, in pieces so that no frame grows with the file; each
	 * request gets an IMSG_DB_RESULT reply. The rows of a piece are
	 * whole lines of COPY text format, at most CSVIMPORT_PIECE_MAX bytes
	 * (see db_import.c for the columns of a row).
	 */
	IMSG_DB_IMPORT_BEGIN,	/* [u kind 0 bank 1 brokerage, str account,
				   str account kind, str layout, str file
				   name, str content sha256, u rows read]:
				   row [import id, statement timeout in
				   ms, 0 for none] */
	IMSG_DB_IMPORT_ROWS,	/* [u import id, bin COPY rows]: no rows;
				   the rows are written in the import's
				   transaction at once */
	IMSG_DB_IMPORT_COMMIT,	/* [u import id]: one transaction; row
				   [inserted, duplicates, pending cleared,
				   batch id, line of a Sell past the position
				   or NULL, its ticker or NULL] */

	/*
	 * http <-> secrets: credential checks. Each request gets exactly one
	 * IMSG_SECRETS_RESULT [bool valid] with the same peer id. The body of
	 * IMSG_CTL_CONFIG_SECRETS (parent -> secrets) is [env API keys, file
	 * API keys, actuator user, actuator password]: the key lists are
	 * arrays of bin, the others bin, each nil to keep what the holder has.
	 */
	IMSG_SECRETS_CHECK_KEY,		/* [bin presented API key] */
	IMSG_SECRETS_CHECK_BASIC,	/* [bin user, bin password] */
	IMSG_SECRETS_RESULT,		/* [bool valid] */

	/* benjictl <-> parent over the control socket */
	IMSG_CTL_SHOW_PROCESSES,	/* - */
	IMSG_CTL_PROCESS,	/* [str name, u pid, u restarts, i started_at] */
	IMSG_CTL_RELOAD,	/* - */
	IMSG_CTL_OK,		/* [str message] */
	IMSG_CTL_FAIL,		/* [str message] */
	IMSG_CTL_END,		/* -: last line of a listing */
	IMSG_CTL_DB_COMMAND,	/* [str command, str argument]: benjictl ->
				   parent -> db, command one of migrate,
				   validate, info, repair, baseline */
	IMSG_CTL_DB_MIGRATION_FAILED,	/* [str message]: db -> parent,
				   when the migrations at startup cannot
				   run; the message names the script */
	IMSG_CTL_DB_RESULT,	/* [b ok, str text]: db -> parent, with the
				   peerid of the command; benjictl gets
				   IMSG_CTL_OK or IMSG_CTL_FAIL */

	IMSG_TYPE_MAX
};

#endif /* BENJI_IPC_MSG_H */
