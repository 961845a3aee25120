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

/* http.c, fetcher.c, db.c, secrets.c */
extern const struct privsep_proc http_proc;
extern const struct privsep_proc fetcher_proc;
extern const struct privsep_proc db_proc;
extern const struct privsep_proc secrets_proc;

#endif /* BENJID_H */
