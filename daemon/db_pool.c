/*
 * The db child's connection pool: non-blocking libpq connections driven by
 * the child's event loop. Each connection runs one prepared statement at a
 * time; requests wait in one queue. A lost connection comes back with
 * exponential backoff, and while none is up a request fails at once.
 *
 * A session reserves one connection for a sequence of statements that
 * share a transaction, such as an import sent in pieces. The queue skips
 * that connection until the session is closed. When the connection is
 * lost, the session keeps none, because its transaction is gone.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "benjid.h"
#include "db.h"

#define DB_POOL_SIZE_MAX	64
#define DB_QUEUE_MAX		1024
#define DB_BACKOFF_MS		100
#define DB_BACKOFF_MAX_MS	5000

enum db_conn_state {
	DB_CONN_DOWN = 0,
	DB_CONN_CONNECTING,
	DB_CONN_IDLE,
	DB_CONN_BUSY
};

struct db_job {
	TAILQ_ENTRY(db_job)	 entry;
	const struct db_stmt	*stmt;
	char			*params[DB_STMT_PARAMS_MAX];
	int			 nparams;
	int			 preparing;
	char			*copy;		/* COPY FROM STDIN data */
	size_t			 copylen;
	struct db_session	*session;	/* reserves the connection */
	db_done_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(db_jobs, db_job);

struct db_conn {
	unsigned int		 index;
	PGconn			*pg;
	enum db_conn_state	 state;
	struct event		*ev;
	short			 watching;
	struct event		*timer;	/* connect deadline or reconnect */
	unsigned int		 backoff_ms;
	uint64_t		 prepared;	/* bits of db_stmt.id */
	struct db_job		*job;
	PGresult		*result;
	struct db_session	*session;
};

struct db_session {
	struct db_conn		*conn;	/* NULL when lost or not yet bound */
};

static struct event_base	*db_base;
static struct db_conn		 db_conns[DB_POOL_SIZE_MAX];
static unsigned int		 db_nconns;
static struct db_jobs		 db_queue = TAILQ_HEAD_INITIALIZER(db_queue);
static unsigned int		 db_nqueued;
static unsigned int		 db_up;

static void	db_conn_event(evutil_socket_t, short, void *);
static void	db_conn_connect(struct db_conn *);
static void	db_conn_lost(struct db_conn *, const char *);
static void	db_pool_pump(void);

static void
db_job_free(struct db_job *job)
{
	int	 i;

	for (i = 0; i < job->nparams; i++)
		free(job->params[i]);
	free(job->copy);
	free(job);
}

static void
db_job_finish(struct db_job *job, enum db_status status, const char *message,
    PGresult *res)
{
	job->cb(job->arg, status, message, res);
	db_job_free(job);
}

/* Watches the connection's socket for what libpq waits for. */
static void
db_conn_watch(struct db_conn *c, short what)
{
	int	 fd = PQsocket(c->pg);

	if (c->ev != NULL && c->watching == what &&
	    event_get_fd(c->ev) == fd)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	c->watching = what;
	c->ev = event_new(db_base, fd, what | EV_PERSIST, db_conn_event, c);
	if (c->ev == NULL || event_add(c->ev, NULL) == -1)
		fatalx("db: cannot watch a PostgreSQL connection");
}

static void
db_conn_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct db_conn	*c = arg;

	if (c->state == DB_CONN_DOWN) {
		db_conn_connect(c);
		return;
	}
	/* The connect deadline passed. */
	db_conn_lost(c, "connect timed out");
}

static void
db_conn_schedule(struct db_conn *c, unsigned int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_del(c->timer);
	evtimer_add(c->timer, &tv);
}

/*
 * Closes a broken connection, fails its request and schedules the next
 * attempt. The request is not retried: a write may have committed.
 */
static void
db_conn_lost(struct db_conn *c, const char *why)
{
	struct db_job	*job = c->job;

	if (c->state == DB_CONN_IDLE || c->state == DB_CONN_BUSY) {
		db_up--;
		log_warnx("connection %u to PostgreSQL lost: %s", c->index,
		    why);
	} else if (c->backoff_ms == 0 || c->backoff_ms >= DB_BACKOFF_MAX_MS)
		log_warnx("connection %u to PostgreSQL failed: %s", c->index,
		    why);
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->result != NULL) {
		PQclear(c->result);
		c->result = NULL;
	}
	PQfinish(c->pg);
	c->pg = NULL;
	c->job = NULL;
	if (c->session != NULL) {
		c->session->conn = NULL;
		c->session = NULL;
	}
	c->prepared = 0;
	c->state = DB_CONN_DOWN;

	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : DB_BACKOFF_MS;
	if (c->backoff_ms > DB_BACKOFF_MAX_MS)
		c->backoff_ms = DB_BACKOFF_MAX_MS;
	db_conn_schedule(c, c->backoff_ms);

	if (job != NULL)
		db_job_finish(job, DB_UNAVAILABLE,
		    "the connection to PostgreSQL was lost", NULL);
	/* With no connection left, waiting requests cannot be served. */
	if (db_up == 0) {
		while ((job = TAILQ_FIRST(&db_queue)) != NULL) {
			TAILQ_REMOVE(&db_queue, job, entry);
			db_nqueued--;
			db_job_finish(job, DB_UNAVAILABLE,
			    "PostgreSQL is unavailable", NULL);
		}
	}
}

/*
 * Logs what PostgreSQL sends outside a result, which libpq would print to
 * stderr as plain text: notices, and the error of a server that ends the
 * session (such as at its shutdown).
 */
void
db_notice(void *arg, const char *message)
{
	char	 text[1024];
	size_t	 len;

	snprintf(text, sizeof(text), "%s", message);
	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (strncmp(text, "NOTICE", 6) == 0 || strncmp(text, "INFO", 4) == 0 ||
	    strncmp(text, "DEBUG", 5) == 0 || strncmp(text, "LOG", 3) == 0)
		log_debug("PostgreSQL: %s", text);
	else
		log_warnx("PostgreSQL: %s", text);
}

static void
db_conn_connect(struct db_conn *c)
{
	const struct db_params	*p = &db_settings.params;

	c->pg = PQconnectStartParams((const char *const *)p->keys,
	    (const char *const *)p->values, 0);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD ||
	    PQsetnonblocking(c->pg, 1) == -1) {
		c->state = DB_CONN_CONNECTING;
		db_conn_lost(c, c->pg ? PQerrorMessage(c->pg) :
		    "out of memory");
		return;
	}
	PQsetNoticeProcessor(c->pg, db_notice, NULL);
	c->state = DB_CONN_CONNECTING;
	db_conn_watch(c, EV_WRITE);
	db_conn_schedule(c, db_settings.connect_timeout_ms);
}

static void
db_conn_connected(struct db_conn *c)
{
	evtimer_del(c->timer);
	c->state = DB_CONN_IDLE;
	c->backoff_ms = 0;
	if (db_up++ == 0)
		log_info("connected to PostgreSQL");
	log_debug("connection %u to PostgreSQL ready", c->index);
	db_conn_watch(c, EV_READ);
	db_pool_pump();
}

static void
db_conn_poll(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		db_conn_watch(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		db_conn_watch(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		db_conn_connected(c);
		break;
	default:
		db_conn_lost(c, PQerrorMessage(c->pg));
		break;
	}
}

/*
 * Sends libpq's queued output, then waits for the reply, and also for the
 * socket to become writable when output remains. Returns -1 when the
 * connection failed.
 */
static int
db_conn_flush(struct db_conn *c)
{
	switch (PQflush(c->pg)) {
	case 0:
		db_conn_watch(c, EV_READ);
		return 0;
	case 1:
		db_conn_watch(c, EV_READ | EV_WRITE);
		return 0;
	default:
		return -1;
	}
}

/* Sends the job's next step: PREPARE once per connection, then EXECUTE. */
static int
db_conn_send(struct db_conn *c)
{
	struct db_job	*job = c->job;
	int		 r;

	if (job->stmt->id == DB_STMT_SIMPLE) {
		job->preparing = 0;
		r = PQsendQuery(c->pg, job->stmt->sql);
	} else if (!(c->prepared & (1ULL << job->stmt->id))) {
		job->preparing = 1;
		r = PQsendPrepare(c->pg, job->stmt->name, job->stmt->sql,
		    job->stmt->nparams, NULL);
	} else {
		job->preparing = 0;
		r = PQsendQueryPrepared(c->pg, job->stmt->name, job->nparams,
		    (const char *const *)job->params, NULL, NULL, 0);
	}
	if (r == 0)
		return -1;
	return db_conn_flush(c);
}

/* The last result of a command arrived: prepare done, or query done. */
static void
db_conn_complete(struct db_conn *c)
{
	struct db_job	*job = c->job;
	PGresult	*res = c->result;
	const char	*message;
	enum db_status	 status;

	c->result = NULL;
	status = db_result_status(res, &message);
	if (job->preparing && status == DB_OK) {
		PQclear(res);
		c->prepared |= 1ULL << job->stmt->id;
		if (db_conn_send(c) == -1)
			db_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (job->preparing)
		log_warnx("cannot prepare statement %s: %s", job->stmt->name,
		    message);
	c->job = NULL;
	c->state = DB_CONN_IDLE;
	db_job_finish(job, status, message, res);
	PQclear(res);
	db_pool_pump();
}

/*
 * Sends the job's COPY data and ends the COPY, once the server asked for
 * it. The COPY's own result follows as for any other statement.
 */
static int
db_conn_copy(struct db_conn *c)
{
	struct db_job	*job = c->job;

	if (job->copylen > 0 &&
	    PQputCopyData(c->pg, job->copy, job->copylen) != 1)
		return -1;
	free(job->copy);
	job->copy = NULL;
	job->copylen = 0;
	if (PQputCopyEnd(c->pg, NULL) != 1)
		return -1;
	return db_conn_flush(c);
}

static void
db_conn_read(struct db_conn *c)
{
	PGresult	*res;

	if (PQconsumeInput(c->pg) == 0) {
		db_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->state == DB_CONN_IDLE) {
		/* Nothing is expected: a notice, or the server going away. */
		while (!PQisBusy(c->pg) && (res = PQgetResult(c->pg)) != NULL)
			PQclear(res);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			db_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	while (!PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			if (c->result == NULL) {
				db_conn_lost(c, "no result from PostgreSQL");
				return;
			}
			db_conn_complete(c);
			return;
		}
		/* PQgetResult repeats this result until the COPY ends. */
		if (PQresultStatus(res) == PGRES_COPY_IN) {
			PQclear(res);
			if (db_conn_copy(c) == -1) {
				db_conn_lost(c, PQerrorMessage(c->pg));
				return;
			}
			continue;
		}
		if (c->result != NULL)
			PQclear(c->result);
		c->result = res;
	}
}

static void
db_conn_event(evutil_socket_t fd, short events, void *arg)
{
	struct db_conn	*c = arg;

	switch (c->state) {
	case DB_CONN_CONNECTING:
		db_conn_poll(c);
		return;
	case DB_CONN_BUSY:
		if ((events & EV_WRITE) != 0) {
			switch (PQflush(c->pg)) {
			case 0:
				db_conn_watch(c, EV_READ);
				break;
			case 1:
				break;
			default:
				db_conn_lost(c, PQerrorMessage(c->pg));
				return;
			}
		}
		if ((events & EV_READ) != 0)
			db_conn_read(c);
		return;
	case DB_CONN_IDLE:
		db_conn_read(c);
		return;
	default:
		return;
	}
}

static void
db_pool_pump(void)
{
	struct db_conn	*c;
	struct db_job	*job;
	unsigned int	 i;

	for (i = 0; i < db_nconns && !TAILQ_EMPTY(&db_queue); i++) {
		c = &db_conns[i];
		if (c->state != DB_CONN_IDLE || c->session != NULL)
			continue;
		job = TAILQ_FIRST(&db_queue);
		TAILQ_REMOVE(&db_queue, job, entry);
		db_nqueued--;
		if (job->session != NULL) {
			c->session = job->session;
			job->session->conn = c;
		}
		c->job = job;
		c->state = DB_CONN_BUSY;
		if (db_conn_send(c) == -1)
			db_conn_lost(c, PQerrorMessage(c->pg));
	}
}

/*
 * Takes over an open session made with the pool's settings. Returns -1,
 * with the session closed, when it is broken or inside a transaction.
 */
static int
db_conn_adopt(struct db_conn *c, PGconn *pg)
{
	if (PQstatus(pg) != CONNECTION_OK ||
	    PQtransactionStatus(pg) != PQTRANS_IDLE ||
	    PQsetnonblocking(pg, 1) == -1) {
		PQfinish(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg, db_notice, NULL);
	c->pg = pg;
	c->state = DB_CONN_CONNECTING;
	db_conn_connected(c);
	return 0;
}

/*
 * Opens the pool's connections; each retries on its own when it fails.
 * pg, when not NULL, is an open session with the pool's settings that
 * becomes the first connection. The pool owns it from then on.
 */
void
db_pool_start(struct event_base *base, PGconn *pg)
{
	struct db_conn	*c;
	unsigned int	 i;

	if (db_nconns != 0) {
		PQfinish(pg);
		return;
	}
	db_base = base;
	db_nconns = db_settings.pool_size;
	if (db_nconns == 0 || db_nconns > DB_POOL_SIZE_MAX)
		fatalx("db: invalid pool size %u", db_nconns);
	for (i = 0; i < db_nconns; i++) {
		c = &db_conns[i];
		c->index = i;
		if ((c->timer = evtimer_new(base, db_conn_timer_cb, c)) ==
		    NULL)
			fatalx("db: evtimer_new failed");
		if (i == 0 && pg != NULL && db_conn_adopt(c, pg) == 0)
			continue;
		db_conn_connect(c);
	}
}

/* Closes every connection; in-flight statements end with them. */
void
db_pool_stop(void)
{
	unsigned int	 i;

	for (i = 0; i < db_nconns; i++)
		if (db_conns[i].pg != NULL)
			PQfinish(db_conns[i].pg);
}

unsigned int
db_pool_connected(void)
{
	return db_up;
}

unsigned int
db_pool_queued(void)
{
	return db_nqueued;
}

/* Returns the number of requests queued or running. */
unsigned int
db_pool_active(void)
{
	unsigned int	 i, n = db_nqueued;

	for (i = 0; i < db_nconns; i++)
		if (db_conns[i].state == DB_CONN_BUSY)
			n++;
	return n;
}

/*
 * Queues one statement with its text parameters (NULL for SQL NULL). cb
 * runs once with the result, which it must not keep. Returns -1 without
 * calling cb when no connection is up or the queue is full.
 */
static struct db_job *
db_job_new(const struct db_stmt *stmt, const char *const *params,
    int nparams, db_done_cb cb, void *arg)
{
	struct db_job	*job;
	int		 i;

	if (nparams > DB_STMT_PARAMS_MAX || nparams != stmt->nparams)
		return NULL;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	job->stmt = stmt;
	job->cb = cb;
	job->arg = arg;
	for (i = 0; i < nparams; i++) {
		if (params[i] != NULL &&
		    (job->params[i] = strdup(params[i])) == NULL) {
			job->nparams = i;
			db_job_free(job);
			return NULL;
		}
	}
	job->nparams = nparams;
	return job;
}

int
db_pool_submit(const struct db_stmt *stmt, const char *const *params,
    int nparams, db_done_cb cb, void *arg)
{
	struct db_job	*job;

	if (db_up == 0 || db_nqueued >= DB_QUEUE_MAX ||
	    (job = db_job_new(stmt, params, nparams, cb, arg)) == NULL)
		return -1;
	TAILQ_INSERT_TAIL(&db_queue, job, entry);
	db_nqueued++;
	db_pool_pump();
	return 0;
}

/*
 * Queues stmt like db_pool_submit, and keeps the connection that runs it
 * for the statements of db_session_submit until db_session_close. cb
 * runs once; only then may the session be used or closed. Returns NULL
 * without calling cb when the statement cannot be queued.
 */
struct db_session *
db_session_open(const struct db_stmt *stmt, const char *const *params,
    int nparams, db_done_cb cb, void *arg)
{
	struct db_session	*s;
	struct db_job		*job;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (db_up == 0 || db_nqueued >= DB_QUEUE_MAX ||
	    (job = db_job_new(stmt, params, nparams, cb, arg)) == NULL) {
		free(s);
		return NULL;
	}
	job->session = s;
	TAILQ_INSERT_TAIL(&db_queue, job, entry);
	db_nqueued++;
	db_pool_pump();
	return s;
}

/*
 * Runs one statement on the session's connection, which must have
 * nothing in flight. Returns -1 without calling cb when the connection
 * was lost.
 */
int
db_session_submit(struct db_session *s, const struct db_stmt *stmt,
    const char *const *params, int nparams, db_done_cb cb, void *arg)
{
	struct db_conn	*c = s->conn;
	struct db_job	*job;

	if (c == NULL || c->state != DB_CONN_IDLE || c->job != NULL ||
	    (job = db_job_new(stmt, params, nparams, cb, arg)) == NULL)
		return -1;
	c->job = job;
	c->state = DB_CONN_BUSY;
	if (db_conn_send(c) == -1)
		db_conn_lost(c, PQerrorMessage(c->pg));
	return 0;
}

/*
 * Runs stmt, a COPY ... FROM STDIN, on the session's connection like
 * db_session_submit, with len bytes of data in the COPY format that stmt
 * names; the data is copied. cb runs once with the result of the COPY.
 */
int
db_session_copy(struct db_session *s, const struct db_stmt *stmt,
    const void *data, size_t len, db_done_cb cb, void *arg)
{
	struct db_conn	*c = s->conn;
	struct db_job	*job;

	if (c == NULL || c->state != DB_CONN_IDLE || c->job != NULL ||
	    stmt->id != DB_STMT_SIMPLE ||
	    (job = db_job_new(stmt, NULL, 0, cb, arg)) == NULL)
		return -1;
	if (len > 0 && (job->copy = malloc(len)) == NULL) {
		db_job_free(job);
		return -1;
	}
	if (len > 0)
		memcpy(job->copy, data, len);
	job->copylen = len;
	c->job = job;
	c->state = DB_CONN_BUSY;
	if (db_conn_send(c) == -1)
		db_conn_lost(c, PQerrorMessage(c->pg));
	return 0;
}

static void
db_session_rolled_back(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	if (status != DB_OK)
		log_warnx("cannot roll back an abandoned transaction: %s",
		    message);
}

/*
 * Gives the connection back to the pool. A transaction still open is
 * rolled back first, so that the next request starts clean.
 */
void
db_session_close(struct db_session *s)
{
	static const struct db_stmt	 rollback = {
		DB_STMT_SIMPLE, "rollback", "ROLLBACK", 0
	};
	struct db_conn			*c = s->conn;

	free(s);
	if (c == NULL)
		return;
	c->session = NULL;
	if (c->state == DB_CONN_BUSY) {
		/* Its result has no reader left, so the connection is reset. */
		c->job->cb = db_session_rolled_back;
		db_conn_lost(c, "a reserved connection was given up busy");
		return;
	}
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		c->job = db_job_new(&rollback, NULL, 0,
		    db_session_rolled_back, NULL);
		if (c->job == NULL) {
			db_conn_lost(c, "out of memory");
			return;
		}
		c->state = DB_CONN_BUSY;
		if (db_conn_send(c) == -1)
			db_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	db_pool_pump();
}

/*
 * Classifies a result: connection and shutdown errors and timeouts mean
 * the database is unavailable, data and constraint errors mean an invalid
 * value. message is PostgreSQL's primary message.
 */
enum db_status
db_result_status(const PGresult *res, const char **message)
{
	const char	*state;

	*message = "";
	if (res == NULL) {
		*message = "no result";
		return DB_FAILED;
	}
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return DB_OK;
	default:
		break;
	}
	if ((*message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) ==
	    NULL)
		*message = PQresultErrorMessage(res);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL)
		return DB_FAILED;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return DB_UNAVAILABLE;
	if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
		return DB_INVALID;
	return DB_FAILED;
}
