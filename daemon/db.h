/*
 * The db child's own definitions: embedded migrations, Flyway's checksum
 * and version rules, datasource URLs, and the requests it serves.
 */

#ifndef BENJI_DB_H
#define BENJI_DB_H

#include <stddef.h>
#include <stdint.h>

/* One migration script compiled into the binary by sql/embed.sh. */
struct db_migration {
	const char	*version;	/* "3", "3.1" */
	const char	*description;	/* "accounts imports dedup" */
	const char	*script;	/* file name, for messages and history */
	const char	*text;
	size_t		 len;
};

extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

/* Outcome of a request to the db child, first field of IMSG_DB_RESULT. */
enum db_status {
	DB_OK = 0,
	DB_UNAVAILABLE,		/* not connected, or the schema is not ready */
	DB_NOT_FOUND,
	DB_INVALID,		/* PostgreSQL rejected a value */
	DB_FAILED		/* any other SQL error */
};

/* db_flyway.c */
int32_t	 db_checksum(const char *, size_t);
int	 db_version_cmp(const char *, const char *);
int	 db_version_valid(const char *);

/* db_url.c: libpq connection keywords and values. */
#define DB_PARAMS_MAX	32
struct db_params {
	char	*keys[DB_PARAMS_MAX + 1];	/* NULL-terminated for libpq */
	char	*values[DB_PARAMS_MAX + 1];
	size_t	 n;
};
int	 db_url_parse(const char *, struct db_params *, char *, size_t);
int	 db_params_set(struct db_params *, const char *, const char *);
const char *db_params_get(const struct db_params *, const char *);
void	 db_params_free(struct db_params *);

/* db_rows.c, http_db.c: the http child's side of IMSG_DB_RESULT. */
struct http_req;
struct ipc_msg;
struct ipc_wbuf;
struct json_object;
struct db_rows {
	enum db_status	 status;
	char		*message;
	uint32_t	 nrows;
	uint32_t	 ncols;
	char		**cells;	/* nrows * ncols, NULL for SQL NULL */
	char		*text;		/* the strings that message and cells
					   point into */
};
#define DB_ROWS_COLUMNS_MAX	64
struct db_rows_pack {
	uint8_t		*buf;
	size_t		 len;
	size_t		 size;
};
void	 db_rows_decode(struct ipc_msg *, struct db_rows *);
void	 db_rows_free(struct db_rows *);
void	 db_rows_pack_start(struct db_rows_pack *, uint32_t, uint32_t);
void	 db_rows_pack_cell(struct db_rows_pack *, const char *, size_t);
void	 db_rows_pack_end(struct db_rows_pack *, struct ipc_wbuf *);
typedef void	(*http_db_cb)(struct http_req *, struct db_rows *);
int	 http_db_request(struct http_req *, uint32_t, struct ipc_wbuf *,
	    http_db_cb);
int	 http_db_request_wait(struct http_req *, uint32_t, struct ipc_wbuf *,
	    unsigned int, http_db_cb);
const char *db_rows_get(const struct db_rows *, uint32_t, uint32_t);
int	 http_db_totals(struct http_req *, const struct db_rows *,
	    uint32_t *);
struct json_object *http_json_decimal(const char *);
struct json_object *http_json_text(const char *);
void	 http_now_iso(char *, size_t);
int	 http_decimal_valid(const char *, int, int, int);
struct json_object *http_json_body(struct http_req *);
int	 http_json_decimal_field(struct http_req *, struct json_object *,
	    const char *, int, int, int, const char **);

#ifdef LIBPQ_FE_H
#include "privsep.h"

struct event_base;

/* The settings of IMSG_CTL_CONFIG_DB, as the db child keeps them. */
struct db_settings {
	struct db_params	 params;	/* ready for libpq */
	unsigned int		 pool_size;
	unsigned int		 connect_timeout_ms;
	unsigned int		 statement_timeout_ms;
	char			 timezone[64];
};

/* db.c */
extern struct db_settings	 db_settings;
int	 db_ready(const char **);

/* db_pool.c: the connections that serve requests. */
#define DB_STMT_PARAMS_MAX	8
/* A statement sent as plain text, never prepared: may hold several. */
#define DB_STMT_SIMPLE		63
struct db_stmt {
	unsigned int	 id;		/* below 64: bit of the prepared set */
	const char	*name;
	const char	*sql;
	int		 nparams;
};
typedef void	(*db_done_cb)(void *, enum db_status, const char *,
		    PGresult *);
void	 db_pool_start(struct event_base *, PGconn *);
void	 db_pool_stop(void);
unsigned int db_pool_connected(void);
unsigned int db_pool_active(void);
unsigned int db_pool_queued(void);
int	 db_pool_submit(const struct db_stmt *, const char *const *, int,
	    db_done_cb, void *);
enum db_status db_result_status(const PGresult *, const char **);
struct db_session;
struct db_session *db_session_open(const struct db_stmt *,
	    const char *const *, int, db_done_cb, void *);
int	 db_session_submit(struct db_session *, const struct db_stmt *,
	    const char *const *, int, db_done_cb, void *);
int	 db_session_copy(struct db_session *, const struct db_stmt *,
	    const void *, size_t, db_done_cb, void *);
void	 db_session_close(struct db_session *);

/* db_migrate.c: Flyway's schema history, run on a blocking connection. */
PGconn	*db_connect_blocking(char *, size_t);
int	 db_migrate_locked(PGconn *, int, char *, size_t);
int	 db_command(const char *, const char *, char *, size_t);

/* db_query.c: the requests of the http child. */
struct privsep;
struct ipc_msg;
void	 db_query_dispatch(struct privsep *, enum procid, struct ipc_msg *);

/* db_import.c: CSV imports sent in pieces by the http child. */
void	 db_import_dispatch(struct privsep *, enum procid, struct ipc_msg *);
#endif

/* db_pool.c: PostgreSQL notices into the log */
void	 db_notice(void *, const char *);

/* db_query.c: the rows of a result in an IMSG_DB_RESULT body */
struct pg_result;
void	 db_rows_put(struct ipc_wbuf *, enum db_status, struct pg_result *);

#endif /* BENJI_DB_H */
