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

#define LOG_FIELDS_MAX	32

/* PIPE_BUF: see log_defer. */
static char		 log_pending[4096];
static size_t		 log_npending;
static void		(*log_kick)(void);
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

/*
 * Returns the process id as text. getpid() is a system call in glibc and
 * the access log writes a line per request, so the text is kept; a fork
 * clears it.
 */
static const char *
log_pid_text(void)
{
	static int	 registered;
	static char	 text[16];

	if (!registered) {
		pthread_atfork(NULL, NULL, log_pid_forget);
		registered = 1;
	}
	if (log_pid == 0) {
		log_pid = getpid();
		snprintf(text, sizeof(text), "%d", (int)log_pid);
	}
	return text;
}

/* Writes the lines that log_defer kept back. */
void
log_flush(void)
{
	size_t	 len = log_npending;

	log_npending = 0;
	/* Nowhere to report a failed log write. */
	if (len > 0 && write(STDERR_FILENO, log_pending, len) == -1)
		return;
}

/*
 * Keeps lines back until log_flush, which the caller's event loop runs
 * once per pass after kick() asked for it: the access log then costs one
 * write per pass instead of one per request. A batch stays within
 * PIPE_BUF, so that a write of several lines to a pipe that other
 * processes share is not split. Lines in the batch are lost if the
 * process is killed before the pass ends.
 */
void
log_defer(void (*kick)(void))
{
	static int	 registered;

	if (!registered && atexit(log_flush) == 0)
		registered = 1;
	log_kick = kick;
}

/* Adds one line to the batch; returns -1 when it does not fit in one. */
static int
log_batch_line(const char *prefix, size_t plen, const char *line,
    size_t len)
{
	if (log_kick == NULL || plen + len + 1 > sizeof(log_pending))
		return -1;
	if (log_npending + plen + len + 1 > sizeof(log_pending))
		log_flush();
	if (log_npending == 0)
		log_kick();
	memcpy(log_pending + log_npending, prefix, plen);
	memcpy(log_pending + log_npending + plen, line, len);
	log_npending += plen + len;
	log_pending[log_npending++] = '\n';
	return 0;
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

	prefix[0] = '\0';
	/* journald reads "<N>" as the priority of the line and removes it. */
	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", pri & LOG_PRIMASK);
	if (log_batch_line(prefix, strlen(prefix), line, len) == 0)
		return;
	log_flush();
	if (prefix[0] != '\0') {
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

/*
 * Formats the current UTC time with milliseconds and returns its length.
 * Lines come in bursts within one second, so the part up to the second is
 * formatted once per second; gmtime_r reads no time zone file.
 */
static size_t
log_time(char *buf)
{
	static time_t	 sec = -1;
	static char	 text[32];
	static size_t	 len;
	struct timespec	 ts;
	struct tm	 tm;
	int		 ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		gmtime_r(&ts.tv_sec, &tm);
		len = (size_t)snprintf(text, sizeof(text),
		    "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		if (len >= sizeof(text))
			len = sizeof(text) - 1;
		sec = ts.tv_sec;
	}
	ms = (int)(ts.tv_nsec / 1000000) % 1000;
	memcpy(buf, text, len);
	buf[len] = '0' + ms / 100;
	buf[len + 1] = '0' + ms / 10 % 10;
	buf[len + 2] = '0' + ms % 10;
	buf[len + 3] = 'Z';
	return len + 4;
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
	size_t	 cap;		/* bytes kept of a value, or 0 for all */
	char	 stack[2048];
};

/*
 * Bytes kept of each message and field value when a line would not fit in
 * PIPE_BUF, tried in turn: a longer write to a pipe that other processes
 * share may be cut by their lines.
 */
static const size_t	 log_caps[] = { 0, 1024, 256, 64 };
#define LOG_CUT_MAX	1024

static void
log_buf_init(struct log_buf *b)
{
	b->p = b->stack;
	b->len = 0;
	b->size = sizeof(b->stack);
	b->failed = 0;
	b->cap = 0;
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
	const unsigned char	*p;
	size_t			 len, i, n, start = 0;
	char			 hex[6], cut[LOG_CUT_MAX + 4];

	if (!raw && b->cap > 0 && b->cap <= LOG_CUT_MAX &&
	    strnlen(value, b->cap + 1) > b->cap) {
		memcpy(cut, value, b->cap);
		memcpy(cut + b->cap, "...", 4);
		value = cut;
	}
	p = (const unsigned char *)value;
	/* Most values are printable ASCII, which goes in as it is. */
	for (i = 0; p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' &&
	    p[i] != '\\'; i++)
		;
	if (p[i] == '\0') {
		if (b->size - b->len < i + 2 && log_buf_grow(b, i + 2) == -1)
			return;
		b->p[b->len++] = '"';
		memcpy(b->p + b->len, value, i);
		b->len += i;
		b->p[b->len++] = '"';
		return;
	}
	len = i + strlen(value + i);
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
 * Keys beyond LOG_FIELDS_MAX distinct ones are left out; callers pass a
 * dozen at most.
 */
static void
log_buf_fields(struct log_buf *b, va_list fields)
{
	const char	*keys[LOG_FIELDS_MAX], *values[LOG_FIELDS_MAX];
	const char	*key, *value;
	size_t		 i, n = 0;

	while ((key = va_arg(fields, const char *)) != NULL) {
		value = va_arg(fields, const char *);
		for (i = 0; i < n && strcmp(keys[i], key) != 0; i++)
			;
		if (i == n && n == LOG_FIELDS_MAX)
			continue;
		if (i == n)
			keys[n++] = key;
		values[i] = value;
	}
	for (i = 0; i < n; i++) {
		log_buf_add(b, i == 0 ? ",\"fields\":{" : ",", i == 0 ? 11 : 1);
		log_buf_string(b, keys[i], 1);
		log_buf_add(b, ":", 1);
		log_buf_string(b, values[i] ? values[i] : "", 0);
	}
	if (n > 0)
		log_buf_add(b, "}", 1);
}

static void
log_emit(int pri, const char *message, va_list fields)
{
	struct log_buf	 b;
	va_list		 each;
	const char	*pid;
	char		 now[40];
	size_t		 nowlen, i;
	int		 saved_errno = errno;

	if ((pri == LOG_DEBUG && log_verbose < 1) ||
	    log_foreground == LOG_TO_NULL)
		goto out;

	/* Plain text for people at a terminal: benjid -n, benjictl. */
	if (log_foreground == LOG_TO_TEXT) {
		log_write_line(pri, message, strlen(message));
		goto out;
	}

	nowlen = log_time(now);
	now[nowlen] = '\0';
	pid = log_pid_text();
	for (i = 0; i < sizeof(log_caps) / sizeof(log_caps[0]); i++) {
		if (i > 0)
			log_buf_free(&b);
		log_buf_init(&b);
		b.cap = log_caps[i];
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
		va_copy(each, fields);
		log_buf_fields(&b, each);
		va_end(each);
		log_buf_add(&b, "}", 1);
		/* Room for the journal prefix and the newline. */
		if (!log_foreground || b.len + 8 <= sizeof(log_pending))
			break;
	}
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
