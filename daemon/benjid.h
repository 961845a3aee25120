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

/* config.c */
void	 config_defaults(struct benjid_config *);
void	 config_free(struct benjid_config *);
int	 config_env(struct benjid_config *, char *, size_t);
const char *config_profile_name(enum profile);
int	 config_profile_parse(const char *, enum profile *);
int	 parse_duration_ms(const char *, uint64_t *);

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
	int			 authenticated;	/* credentials were valid */
	uint64_t		 start_us;
	unsigned int		 npending;
	void			*state;		/* the handler's own data */
	void			(*state_free)(void *);
};

void	 http_reply_json(struct http_req *, int, struct json_object *);
void	 http_reply_error(struct http_req *, int, const char *, const char *,
	    struct json_object *);
struct json_object *http_json_pair(const char *, const char *);
void	 http_reply_empty(struct http_req *, int);
int	 http_query(struct http_req *, const char *, const char **);
struct evbuffer *http_body(struct http_req *);
const char *http_header(struct http_req *, const char *);
int	 http_ipc_request(struct http_req *, enum procid, uint32_t,
	    struct ipc_wbuf *, unsigned int, http_ipc_cb, void *);
void	 http_dispatch_reply(struct privsep *, enum procid,
	    struct ipc_msg *);
void	 http_route_run(struct http_req *);
const char *http_profile(void);

/* http_auth.c: decides whether a request may run, then runs it. */
void	 http_auth_begin(struct http_req *);

/* Route tables of the areas, each ended by a NULL pattern. */
extern const struct http_route http_actuator_routes[];
extern const struct http_route http_quote_routes[];
extern const struct http_route http_portfolio_routes[];
extern const struct http_route http_finance_routes[];

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
