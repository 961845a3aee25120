/*
 * Logging: one JSON object per line on stderr in the foreground, syslog when
 * daemonized. json-c escapes quotes and control characters, and invalid
 * UTF-8 is rewritten as \xNN text first, so bytes that came from a client
 * can neither forge nor split a log line.
 */

#include <sys/uio.h>

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "benjid.h"
#include "utf8.h"

static int		 log_foreground = 1;
static int		 log_verbose;
static const char	*log_process = "benjid";
static pid_t		 log_pid;
static int		 log_journal;	/* stderr is systemd's journal */

static const char *
log_level_name(int pri)
{
	switch (pri) {
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warn";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void
log_pid_forget(void)
{
	log_pid = 0;
}

/* getpid() is a system call in glibc; the access log asks once a request. */
static pid_t
log_getpid(void)
{
	static int	 registered;

	if (!registered) {
		pthread_atfork(NULL, NULL, log_pid_forget);
		registered = 1;
	}
	if (log_pid == 0)
		log_pid = getpid();
	return log_pid;
}

/*
 * One writev per line: dprintf(3) builds a FILE for each call, which costs
 * an fstat, an lseek and an ioctl besides the write.
 */
static void
log_write_line(int pri, const char *line, size_t len)
{
	struct iovec	 iov[3];
	char		 prefix[8];
	int		 n = 0;

	/* journald reads "<N>" as the priority of the line and removes it. */
	if (log_journal) {
		snprintf(prefix, sizeof(prefix), "<%d>", pri & LOG_PRIMASK);
		iov[n].iov_base = prefix;
		iov[n++].iov_len = strlen(prefix);
	}
	iov[n].iov_base = (void *)(uintptr_t)line;
	iov[n++].iov_len = len;
	iov[n].iov_base = (void *)(uintptr_t)"\n";
	iov[n++].iov_len = 1;
	/* Nowhere to report a failed log write. */
	if (writev(STDERR_FILENO, iov, n) == -1)
		return;
}

/*
 * Returns 1 when stderr is the journal stream that systemd names in
 * JOURNAL_STREAM ("device:inode"), so that lines can carry a priority.
 */
int
log_journal_detect(void)
{
	const char		*stream = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (stream == NULL || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_set_journal(int on)
{
	log_journal = on;
}

void
log_init(const char *process, int foreground, int verbose)
{
	log_process = process;
	log_foreground = foreground;
	log_verbose = verbose;

	/*
	 * LOG_NDELAY opens the syslog socket now: a chrooted child has no
	 * /dev/log to connect to later.
	 */
	if (!foreground)
		openlog("benjid", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_procname(const char *process)
{
	log_process = process;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* Formats the current UTC time; gmtime_r reads no time zone file. */
static void
log_time(char *buf, size_t size)
{
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Makes a JSON string of any bytes, writing invalid UTF-8 as \xNN. */
static struct json_object *
log_string(const char *value)
{
	const unsigned char	*p = (const unsigned char *)value;
	struct json_object	*obj;
	size_t			 len = strlen(value), i, n, out = 0;
	char			*buf;

	if ((buf = malloc(len * 4 + 1)) == NULL)
		return json_object_new_string("(out of memory)");
	for (i = 0; i < len; i += n) {
		if ((n = utf8_len(p + i, len - i)) == 0) {
			out += snprintf(buf + out, 5, "\\x%02x", p[i]);
			n = 1;
			continue;
		}
		memcpy(buf + out, p + i, n);
		out += n;
	}
	obj = json_object_new_string_len(buf, out);
	free(buf);
	return obj;
}

static void
log_emit(int pri, const char *message, va_list fields)
{
	struct json_object	*obj, *extra = NULL;
	const char		*key, *value, *line;
	char			 now[64];
	size_t			 len;
	int			 saved_errno = errno;

	if ((pri == LOG_DEBUG && log_verbose < 1) ||
	    log_foreground == LOG_TO_NULL)
		goto out;

	/* Plain text for people at a terminal: benjid -n, benjictl. */
	if (log_foreground == LOG_TO_TEXT) {
		log_write_line(pri, message, strlen(message));
		goto out;
	}

	log_time(now, sizeof(now));
	obj = json_object_new_object();
	json_object_object_add(obj, "time", json_object_new_string(now));
	json_object_object_add(obj, "level",
	    json_object_new_string(log_level_name(pri)));
	json_object_object_add(obj, "process",
	    json_object_new_string(log_process));
	json_object_object_add(obj, "pid", json_object_new_int(log_getpid()));
	json_object_object_add(obj, "message", log_string(message));

	while ((key = va_arg(fields, const char *)) != NULL) {
		value = va_arg(fields, const char *);
		if (extra == NULL)
			extra = json_object_new_object();
		json_object_object_add(extra, key,
		    log_string(value ? value : ""));
	}
	if (extra != NULL)
		json_object_object_add(obj, "fields", extra);

	line = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (log_foreground)
		log_write_line(pri, line, len);
	else
		syslog(pri, "%s", line);
	json_object_put(obj);
 out:
	errno = saved_errno;
}

static void
log_emitv(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	 msg[1024];
	int	 n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
	log_kv(pri, msg, LOG_FIELDS_END);
}

/* Logs message with key/value string pairs ended by LOG_FIELDS_END. */
void
log_kv(int pri, const char *message, ...)
{
	va_list	 ap;

	va_start(ap, message);
	log_emit(pri, message, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[256];

	snprintf(err, sizeof(err), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emitv(LOG_ERR, fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emitv(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emitv(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_emitv(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[256];

	snprintf(err, sizeof(err), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emitv(LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emitv(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
