/*
 * benjid: shared definitions of the parent and its children.
 */

#ifndef BENJID_H
#define BENJID_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include "ipc.h"
#include "msg.h"
#include "privsep.h"

#define BENJID_CONF		"/etc/benjid.conf"
#define BENJID_USER		"_benjid"
#define BENJID_CHROOT		"/var/lib/benjid/empty"
#define BENJID_SOCKET		"/run/benjid/benjid.sock"
#define BENJID_PORT		8080
#define BENJID_LISTEN_MAX	8
#define BENJID_SHUTDOWN_MS	5000

/*
 * Secrets: at most SECRETS_KEYS_MAX API keys at once (old and new during a
 * rotation, from the environment and a file together), each at most
 * SECRETS_VALUE_MAX bytes, like the actuator user name and password.
 */
#define SECRETS_KEYS_MAX	8
#define SECRETS_VALUE_MAX	512
#define SECRETS_HEADER_MAX	64
#define SECRETS_HEADER_DEFAULT	"X-API-KEY"

enum profile {
	PROFILE_DEV = 0,
	PROFILE_TEST,
	PROFILE_PROD
};

struct listen_addr {
	char			 host[256];	/* "*" means every address */
	in_port_t		 port;
};

struct benjid_config {
	char			*path;		/* file read, NULL when none */
	enum profile		 profile;
	struct listen_addr	 listen[BENJID_LISTEN_MAX];
	size_t			 nlisten;
	char			*user;
	char			*chroot;
	char			*control_socket;
	unsigned int		 shutdown_timeout_ms;

	/* Market data and the quote cache: fetcher_config.c */
	char			*marketdata_providers;	/* NULL: by profile */
	char			*marketdata_url;
	char			*marketdata_ca_file;
	int			 marketdata_allow_http;
	uint64_t		 marketdata_retry_attempts;
	uint64_t		 marketdata_initial_backoff_ms;
	uint64_t		 marketdata_max_backoff_ms;
	uint64_t		 marketdata_timeout_ms;
	uint64_t		 marketdata_connect_timeout_ms;
	uint64_t		 marketdata_budget_minute;	/* 0: no limit */
	uint64_t		 marketdata_budget_day;		/* 0: no limit */
	uint64_t		 quote_cache_ttl_ms;
	uint64_t		 quote_cache_size;
	uint64_t		 quote_cache_max_stale_ms;	/* 0: no limit */

	/* Secrets and access control: config.c, parent_secrets.c */
	char			*api_key_file;		/* NULL: none */
	char			*actuator_user_file;
	char			*actuator_password_file;
	char			 api_key_header[SECRETS_HEADER_MAX];
	unsigned int		 auth_failure_budget;	/* per address */
	unsigned int		 auth_failure_interval_ms;
	unsigned int		 auth_failure_delay_ms;

	/* PostgreSQL and the db child: db_config.c */
	char			*db_url;	/* jdbc:, URI or conninfo */
	char			*db_user;
	uint64_t		 db_pool_size;
	uint64_t		 db_connect_timeout_ms;
	uint64_t		 db_statement_timeout_ms;
	char			*db_timezone;	/* month boundaries */
	int			 db_migration_wait; /* on a failed migration */

	/* Limits and timeouts of the http child: http_limits.c */
	uint64_t		 http_uri_max;		/* bytes */
	uint64_t		 http_head_max;		/* bytes */
	uint64_t		 http_headers_max;
	uint64_t		 http_body_max;		/* bytes, JSON routes */
	uint64_t		 http_import_max;	/* bytes, CSV imports */
	uint64_t		 http_read_buffer;	/* bytes a connection */
	uint64_t		 http_connections_max;
	uint64_t		 http_requests_max;	/* a connection */
	uint64_t		 http_head_timeout_ms;
	uint64_t		 http_body_timeout_ms;
	uint64_t		 http_idle_timeout_ms;
	uint64_t		 http_write_timeout_ms;
};

/*
 * Quotes between the http child and the fetcher (IMSG_QUOTES_GET): at most
 * QUOTES_BATCH_MAX symbols a message, and the fetcher answers within its
 * total deadline, which the configuration keeps below QUOTES_IPC_TIMEOUT_MS.
 */
#define QUOTES_BATCH_MAX	50
#define QUOTES_IPC_TIMEOUT_MS	30000
#define QUOTE_SYMBOL_MAX	15

/* Outcome of one symbol in an IMSG_QUOTES reply. */
enum quote_status {
	QUOTE_OK = 0,
	QUOTE_NOT_FOUND,	/* the provider has no such symbol */
	QUOTE_RATE_LIMITED,	/* budget spent or provider limit, no data */
	QUOTE_PROVIDER_ERROR,	/* invalid reply or provider-side error */
	QUOTE_UNAVAILABLE	/* provider unreachable or no provider */
};

/* A child as the parent supervises it. */
struct benjid_child {
	enum procid		 id;
	pid_t			 pid;
	struct ipc_conn		*conn;
	int			 ready;
	unsigned int		 restarts;
	time_t			 started;
	time_t			 deaths[6];	/* recent deaths, newest first */
	struct event		*restart_ev;
};

/* benjid.c */
const struct benjid_child *parent_child(enum procid);
int	 parent_reload(char *, size_t);

/* control.c */
int	 control_open(const char *);
int	 control_listen(struct event_base *, int);
void	 control_close(const char *);
int	 control_db_result(struct ipc_msg *);

/* config.c */
void	 config_defaults(struct benjid_config *);
void	 config_free(struct benjid_config *);
char	*config_strdup(const char *);
int	 config_env(struct benjid_config *, char *, size_t);
const char *config_profile_name(enum profile);
int	 config_profile_parse(const char *, enum profile *);
int	 parse_duration_ms(const char *, uint64_t *);

/* fetcher_config.c: the market data settings, shared by file and env */
void	 marketdata_defaults(struct benjid_config *);
void	 marketdata_free(struct benjid_config *);
void	 marketdata_copy(struct benjid_config *, const struct benjid_config *);
void	 marketdata_reload(struct benjid_config *,
	    const struct benjid_config *);
int	 marketdata_set(struct benjid_config *, const char *, const char *,
	    const char *, char *, size_t);
int	 marketdata_env(struct benjid_config *, char *, size_t);

/* db_config.c: the database settings, shared by file and env */
void	 db_config_defaults(struct benjid_config *);
void	 db_config_free(struct benjid_config *);
void	 db_config_copy(struct benjid_config *, const struct benjid_config *);
void	 db_config_reload(struct benjid_config *,
	    const struct benjid_config *);
int	 db_config_set(struct benjid_config *, const char *, const char *,
	    char *, size_t);
int	 db_config_env(struct benjid_config *, char *, size_t);
int	 db_config_hostaddr(const char *, char *, size_t);

/* config.c: the secrets block */
void	 config_secrets_copy(struct benjid_config *,
	    const struct benjid_config *);
int	 config_check_header_name(const char *);

/* parent_secrets.c: the parent reads, hands over and wipes secrets */
enum secrets_env {
	SECRETS_ENV_PROVIDER_KEY = 0,	/* ALPHAVANTAGE_API_KEY and aliases */
	SECRETS_ENV_DB_PASSWORD,	/* SPRING_DATASOURCE_PASSWORD */
	SECRETS_ENV_MAX
};
int	 secrets_load(const struct benjid_config *, int, char *, size_t);
int	 secrets_reload(const struct benjid_config *, char *, size_t);
void	 secrets_auth_config_send(struct ipc_conn *);
int	 secrets_restart_allowed(void);
const char *secrets_env_open(enum secrets_env, size_t *);
void	 secrets_env_close(void);
int	 secrets_check_value(const char *, size_t, int);

/* http_limits.c */
void	 http_limits_defaults(struct benjid_config *);
void	 http_limits_copy(struct benjid_config *,
	    const struct benjid_config *);
int	 http_limits_set(struct benjid_config *, const char *, const char *,
	    char *, size_t);

/* parse.y */
int	 parse_config(const char *, int, struct benjid_config *);

/* log.c */
#define LOG_FIELDS_END	((const char *)NULL)
#define LOG_TO_SYSLOG	0	/* daemonized */
#define LOG_TO_JSON	1	/* foreground: one JSON object per line */
#define LOG_TO_TEXT	2	/* commands run by people: plain text */
#define LOG_TO_NULL	3	/* fuzzers: nothing */
void	 log_init(const char *, int, int);
void	 log_procname(const char *);
int	 log_journal_detect(void);
void	 log_set_journal(int);
void	 log_defer(void (*)(void));
void	 log_flush(void);
int	 log_getverbose(void);
void	 log_setverbose(int);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_kv(int, const char *, ...);
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), __noreturn__));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), __noreturn__));

/*
 * http.c: one client request while the http child works on it. Replying
 * through http_reply_* frees it and cancels its outstanding IPC requests.
 */
#define HTTP_PARAMS_MAX		4
#define HTTP_REQUEST_ID_MAX	64

enum http_auth {
	HTTP_AUTH_NONE = 0,	/* health probes: never ask for credentials */
	HTTP_AUTH_API,		/* paths under /api: the API key in prod */
	HTTP_AUTH_ACTUATOR,	/* paths under /actuator: Basic auth in prod */
	HTTP_AUTH_OPTIONAL	/* /actuator/health: details only with them */
};

struct http_req;
struct evhttp_request;
struct evbuffer;
struct evkeyvalq;
struct json_object;

typedef void	(*http_handler)(struct http_req *);
typedef void	(*http_ipc_cb)(struct http_req *, enum procid,
		    struct ipc_msg *, void *);

struct http_route {
	const char	*pattern;	/* "*" matches one path segment */
	int		 methods;	/* EVHTTP_REQ_* bits */
	const char	*allow;		/* for the Allow header of a 405 */
	enum http_auth	 auth;
	http_handler	 fn;
};

struct http_req {
	struct evhttp_request	*req;
	const struct http_route	*route;
	char			 id[HTTP_REQUEST_ID_MAX + 1];
	char			 client[64];
	char			*path;		/* decoded */
	char			*params[HTTP_PARAMS_MAX];
	size_t			 nparams;
	struct evkeyvalq	*query;
	int			 authenticated;	/* valid credentials, or none needed */
	uint64_t		 start_us;
	unsigned int		 npending;
	int			 last_request;	/* the reply closes the connection */
	void			*state;		/* the handler's own data */
	void			(*state_free)(void *);
};

void	 http_reply_json(struct http_req *, int, struct json_object *);
void	 http_reply_error(struct http_req *, int, const char *, const char *,
	    struct json_object *);
struct json_object *http_json_pair(const char *, const char *);
void	 http_reply_empty(struct http_req *, int);
void	 http_reply_buffer(struct http_req *, int, const char *,
	    struct evbuffer *);
int	 http_query(struct http_req *, const char *, const char **);
struct evbuffer *http_body(struct http_req *);
const char *http_header(struct http_req *, const char *);
int	 http_ipc_request(struct http_req *, enum procid, uint32_t,
	    struct ipc_wbuf *, unsigned int, http_ipc_cb, void *);
void	 http_dispatch_reply(struct privsep *, enum procid,
	    struct ipc_msg *);
void	 http_route_run(struct http_req *);
const char *http_profile(void);

/* http_actuator.c, http_metrics.c: the actuator's own data. */
void	 http_metrics_record(int, uint64_t);
void	 http_actuator_dispatch_processes(struct privsep *, enum procid,
	    struct ipc_msg *);
void	 http_processes_send(struct ipc_conn *);

/* http_auth.c: decides whether a request may run, then runs it. */
void	 http_auth_begin(struct http_req *);
void	 http_auth_dispatch_config(struct privsep *, enum procid,
	    struct ipc_msg *);

/* Route tables of the areas, each ended by a NULL pattern. */
extern const struct http_route http_actuator_routes[];
extern const struct http_route http_quote_routes[];
extern const struct http_route http_portfolio_routes[];
extern const struct http_route http_finance_routes[];
extern const struct http_route http_import_routes[];

/* Per-child configuration, composed by the parent, read by the child. */
void	 http_config_send(struct ipc_conn *, const struct benjid_config *);
void	 fetcher_config_send(struct ipc_conn *, const struct benjid_config *);
void	 db_config_send(struct ipc_conn *, const struct benjid_config *);
void	 secrets_config_send(struct ipc_conn *, const struct benjid_config *);

/* http.c, fetcher.c, db.c, secrets.c */
extern const struct privsep_proc http_proc;
extern const struct privsep_proc fetcher_proc;
extern const struct privsep_proc db_proc;
extern const struct privsep_proc secrets_proc;

#endif /* BENJID_H */
