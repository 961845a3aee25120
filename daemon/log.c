/*
 * Logging: one JSON object per line on stderr in the foreground, syslog when
 * daemonized. Every value is escaped by jansson, so bytes that came from a
 * client can neither forge nor split a log line.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "benjid.h"

static int		 log_foreground = 1;
static int		 log_verbose;
static const char	*log_process = "benjid";

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

static void
log_emit(int pri, const char *message, va_list fields)
{
	json_t		*obj, *extra = NULL;
	const char	*key, *value;
	char		 now[64], *line;
	int		 saved_errno = errno;

	if (pri == LOG_DEBUG && log_verbose < 1)
		goto out;

	log_time(now, sizeof(now));
	obj = json_object();
	json_object_set_new(obj, "time", json_string(now));
	json_object_set_new(obj, "level", json_string(log_level_name(pri)));
	json_object_set_new(obj, "process", json_string(log_process));
	json_object_set_new(obj, "pid", json_integer(getpid()));
	json_object_set_new(obj, "message",
	    json_stringn_nocheck(message, strlen(message)));

	while ((key = va_arg(fields, const char *)) != NULL) {
		value = va_arg(fields, const char *);
		if (extra == NULL)
			extra = json_object();
		json_object_set_new(extra, key, json_stringn_nocheck(
		    value ? value : "", value ? strlen(value) : 0));
	}
	if (extra != NULL)
		json_object_set_new(obj, "fields", extra);

	/* JSON_ENSURE_ASCII escapes invalid UTF-8 from clients as well. */
	line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (line == NULL)
		goto out;

	/* Plain text for people at a terminal: benjid -n, benjictl. */
	if (log_foreground == LOG_TO_TEXT)
		dprintf(STDERR_FILENO, "%s\n", message);
	else if (log_foreground)
		dprintf(STDERR_FILENO, "%s\n", line);
	else
		syslog(pri, "%s", line);
	free(line);
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
