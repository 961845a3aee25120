/*
 * The privilege separation engine: starting children by fork and exec,
 * wiring their sockets, dropping privileges and loading seccomp filters.
 */

#ifndef BENJI_PRIVSEP_H
#define BENJI_PRIVSEP_H

#include <sys/types.h>

#include <stdint.h>

#include "ipc.h"

enum procid {
	PROC_PARENT = 0,
	PROC_HTTP,
	PROC_FETCHER,
	PROC_DB,
	PROC_SECRETS,
	PROC_MAX
};

/* A child's channel to its parent is always this descriptor after exec. */
#define PROC_PARENT_FD		3
/* The hidden flag that names the child on its command line. */
#define PROC_FLAG		"-P"

struct privsep;

struct privsep_handler {
	uint32_t	 type;
	void		(*fn)(struct privsep *, enum procid, struct ipc_msg *);
};

/* What one child is: its name, its sandbox and its message handlers. */
struct privsep_proc {
	const char			*name;
	enum procid			 id;
	void				(*init)(struct privsep *);
	void				(*start)(struct privsep *);
	void				(*shutdown)(struct privsep *, unsigned int);
	void				(*peer_down)(struct privsep *, enum procid);
	void				(*reload)(struct privsep *);
	const struct privsep_handler	*handlers[PROC_MAX];
};

/* Run-time state of the current process. */
struct privsep {
	enum procid			 id;
	const struct privsep_proc	*proc;
	struct event_base		*base;
	struct ipc_conn			*peers[PROC_MAX];
	int				 verbose;
	int				 started;
	int				 stopping;	/* told to shut down */
	char				 profile[16];	/* dev, test, prod */
	unsigned int			 shutdown_ms;
	void				*arg;	/* the process's own state */
};

/* How the parent starts a child; the child reads it back from its argv. */
struct privsep_exec {
	const char	*dir;		/* directory of the child executables */
	const char	*chroot;	/* NULL when not running as root */
	uid_t		 uid;
	gid_t		 gid;
	int		 foreground;
	int		 journal;	/* stderr is systemd's journal */
	int		 verbose;
};

/* Which children talk to each other; the parent talks to all of them. */
extern const enum procid privsep_pairs[][2];
extern const size_t privsep_npairs;

const char	*proc_name(enum procid);
int		 proc_lookup(const char *, enum procid *);

/* parent side */
pid_t	 proc_spawn(const struct privsep_exec *, enum procid, int);
int	 proc_child_path(const struct privsep_exec *, enum procid, char *,
	    size_t);

void	 proc_libevent_log(int, const char *);

/* child side */
void	 proc_child_main(const struct privsep_proc *, int, char **)
	    __attribute__((__noreturn__));
int	 proc_compose(struct privsep *, enum procid, uint32_t, uint32_t, int,
	    struct ipc_wbuf *);
void	 proc_set_peer(struct privsep *, enum procid, int);
void	 proc_dispatch(struct ipc_conn *, struct ipc_msg *, void *);

/* proctitle.c */
void	 proctitle_init(int, char **);
void	 proctitle_set(const char *);

/* sandbox.c */
void	 sandbox_drop(enum procid, const char *, uid_t, gid_t);
int	 sandbox_filter_load(enum procid);
void	 sandbox_filter(enum procid);

#endif /* BENJI_PRIVSEP_H */
