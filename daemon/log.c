/*
 * Logging: one JSON object per line on stderr in the foreground, syslog when
 * daemonized. Quotes and control characters are escaped as json-c escapes
 * them, and invalid UTF-8 is written as \xNN text, so bytes that came from
 * a client can neither forge nor split a log line.
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

/*
 * A log line buffer. Lines are written in place because a json-c object
 * tree cost several mallocs per line, which showed in the http child's
 * profile. A line that outgrows the stack buffer moves to the heap.
 */
struct log_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
	int	 failed;
	char	 stack[2048];
};

static void
log_buf_init(struct log_buf *b)
{
	b->p = b->stack;
	b->len = 0;
	b->size = sizeof(b->stack);
	b->failed = 0;
}

static void
log_buf_free(struct log_buf *b)
{
	if (b->p != b->stack)
		free(b->p);
}

static int
log_buf_grow(struct log_buf *b, size_t more)
{
	size_t	 size = b->size;
	char	*p;

	if (b->failed)
		return -1;
	while (size - b->len < more)
		size *= 2;
	if (b->p == b->stack) {
		if ((p = malloc(size)) != NULL)
			memcpy(p, b->stack, b->len);
	} else
		p = realloc(b->p, size);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->size = size;
	return 0;
}

static void
log_buf_add(struct log_buf *b, const char *s, size_t n)
{
	if (b->size - b->len < n && log_buf_grow(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/*
 * Escapes n bytes as json-c does with JSON_C_TO_STRING_NOSLASHESCAPE: the
 * short escapes where JSON has one, other control characters as \u00xx.
 */
static void
log_buf_escape(struct log_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6];
	size_t			 i, start = 0, elen;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		log_buf_add(b, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		elen = 2;
		switch (c) {
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '"':
		case '\\':
			esc[1] = c;
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			elen = 6;
			break;
		}
		log_buf_add(b, esc, elen);
	}
	log_buf_add(b, s + start, n - start);
}

/* Adds a JSON string of any bytes, writing invalid UTF-8 as \xNN text. */
static void
log_buf_string(struct log_buf *b, const char *value, int raw)
{
	const unsigned char	*p = (const unsigned char *)value;
	size_t			 len = strlen(value), i, n, start = 0;
	char			 hex[6];

	log_buf_add(b, "\"", 1);
	for (i = 0; !raw && i < len; i += n) {
		if ((n = utf8_len(p + i, len - i)) != 0)
			continue;
		log_buf_escape(b, value + start, i - start);
		/* The backslash of \xNN is itself escaped in the line. */
		snprintf(hex, sizeof(hex), "\\\\x%02x", p[i]);
		log_buf_add(b, hex, 5);
		n = 1;
		start = i + 1;
	}
	log_buf_escape(b, value + start, len - start);
	log_buf_add(b, "\"", 1);
}

/*
 * Adds the fields as one object. A repeated key keeps its first place and
 * takes its last value, as it did when a json-c object held the fields.
 */
static void
log_buf_fields(struct log_buf *b, va_list fields)
{
	va_list		 all, scan;
	const char	*key, *value, *k, *v;
	size_t		 i, j, n = 0;
	int		 seen;

	va_copy(all, fields);
	for (i = 0; (key = va_arg(fields, const char *)) != NULL; i++) {
		value = va_arg(fields, const char *);
		seen = 0;
		va_copy(scan, all);
		for (j = 0; j < i && !seen; j++) {
			k = va_arg(scan, const char *);
			(void)va_arg(scan, const char *);
			seen = strcmp(k, key) == 0;
		}
		va_end(scan);
		if (seen)
			continue;
		va_copy(scan, fields);
		while ((k = va_arg(scan, const char *)) != NULL) {
			v = va_arg(scan, const char *);
			if (strcmp(k, key) == 0)
				value = v;
		}
		va_end(scan);
		if (n++ == 0)
			log_buf_add(b, ",\"fields\":{", 11);
		else
			log_buf_add(b, ",", 1);
		log_buf_string(b, key, 1);
		log_buf_add(b, ":", 1);
		log_buf_string(b, value ? value : "", 0);
	}
	va_end(all);
	if (n > 0)
		log_buf_add(b, "}", 1);
}

static void
log_emit(int pri, const char *message, va_list fields)
{
	struct log_buf	 b;
	char		 now[64], pid[16];
	int		 saved_errno = errno;

	if ((pri == LOG_DEBUG && log_verbose < 1) ||
	    log_foreground == LOG_TO_NULL)
		goto out;

	/* Plain text for people at a terminal: benjid -n, benjictl. */
	if (log_foreground == LOG_TO_TEXT) {
		log_write_line(pri, message, strlen(message));
		goto out;
	}

	log_time(now, sizeof(now));
	snprintf(pid, sizeof(pid), "%d", (int)log_getpid());
	log_buf_init(&b);
	log_buf_add(&b, "{\"time\":", 8);
	log_buf_string(&b, now, 1);
	log_buf_add(&b, ",\"level\":", 9);
	log_buf_string(&b, log_level_name(pri), 1);
	log_buf_add(&b, ",\"process\":", 11);
	log_buf_string(&b, log_process, 1);
	log_buf_add(&b, ",\"pid\":", 7);
	log_buf_add(&b, pid, strlen(pid));
	log_buf_add(&b, ",\"message\":", 11);
	log_buf_string(&b, message, 0);
	log_buf_fields(&b, fields);
	log_buf_add(&b, "}", 1);
	/* Nowhere to report a line that found no memory. */
	if (!b.failed) {
		if (log_foreground)
			log_write_line(pri, b.p, b.len);
		else
			syslog(pri, "%.*s", (int)b.len, b.p);
	}
	log_buf_free(&b);
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
