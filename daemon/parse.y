/*
 * The benjid.conf(5) grammar and its lexer.
 *
 * A directive takes one line; a backslash at the end of a line continues it.
 * The lexer expands $name macros in place, so a macro value is lexed again
 * as if it had been written there. Errors name file:line and parsing goes on
 * at the next line, so one run reports every error in the file.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benjid.h"

/* Bounds the open files; an include loop is rejected before this. */
#define PARSE_INCLUDE_DEPTH	16
/* Longest word, quoted string or macro value. */
#define PARSE_TOKEN_MAX		4096
#define PARSE_SHUTDOWN_MAX_MS	(300 * 1000)
#define PARSE_USER_MAX		32
#define PARSE_USER_CHARS	"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

struct parse_file {
	TAILQ_ENTRY(parse_file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 eof_newline_sent;
	dev_t			 dev;
	ino_t			 ino;
};
TAILQ_HEAD(parse_files, parse_file);

struct parse_macro {
	TAILQ_ENTRY(parse_macro) entry;
	char			*name;
	char			*value;
};
TAILQ_HEAD(parse_macros, parse_macro);

/* Every string the lexer returns, freed when parsing ends. */
struct parse_string {
	SLIST_ENTRY(parse_string) entry;
	char			 text[];
};
SLIST_HEAD(parse_strings, parse_string);

static struct parse_files	 parse_files = TAILQ_HEAD_INITIALIZER(parse_files);
static struct parse_macros	 parse_macros =
				    TAILQ_HEAD_INITIALIZER(parse_macros);
static struct parse_strings	 parse_strings =
				    SLIST_HEAD_INITIALIZER(parse_strings);
static struct parse_file	*file;
static struct benjid_config	*conf;
static int			 parse_errors;
static int			 listen_seen;

/* Line of the token being parsed, which error messages name. */
static int			 token_lineno;
/* The text of that token, to show where a syntax error is. */
static char			 token_text[64];
/* Set when the lexer has reported an error on the current line. */
static int			 lex_failed;

/*
 * Characters to read again before the file. A macro expansion is pushed
 * here, so the buffer holds a whole macro value plus the character that
 * ended the macro name.
 */
static unsigned char		 pushback[PARSE_TOKEN_MAX + 8];
static size_t			 npushback;

int	 yyparse(void);
static int	 yylex(void);
static void	 yyerror(const char *);
static void	 parse_verror(const char *, va_list)
		    __attribute__((format(printf, 1, 0)));
static void	 parse_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static char	*parse_strdup(const char *);
static void	 parse_include(const char *);
static void	 parse_pushfile(char *, FILE *, const struct stat *);
static void	 parse_popfile(void);
static void	 parse_define(const char *, const char *);
static void	 parse_listen(const char *, int64_t);
static void	 parse_set_path(char **, const char *, const char *, size_t);
static void	 parse_set_user(const char *);
static void	 parse_set_timeout(uint64_t);
static void	 parse_secret_file(const char *, const char *, const char *,
		    const char *);
static void	 parse_api_key(const char *, const char *, const char *);
static void	 parse_auth(const char *, const char *, const char *);
static void	 parse_marketdata(const char *, const char *, const char *);
static void	 parse_database(const char *, const char *);
static void	 parse_http(const char *, const char *);

%}

%union {
	int64_t		 number;
	char		*string;
}

%token	CHROOT CONTROL INCLUDE LISTEN ON PORT PROFILE SHUTDOWN SOCKET
%token	TIMEOUT USER
%token	MARKETDATA QUOTECACHE
%token	DATABASE
%token	ACTUATOR API AUTH
%token	HTTP
%token	ERROR
%token	<string>	STRING
%token	<number>	NUMBER
%type	<string>	value
%type	<number>	port

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include
		| grammar macro '\n'
		| grammar directive '\n'
		| grammar error '\n'		{ yyerrok; }
		;

/*
 * The rule ends with the newline so that the included file is pushed only
 * after the lexer has finished with this line.
 */
include		: INCLUDE STRING '\n'		{ parse_include($2); }
		;

macro		: STRING '=' value		{ parse_define($1, $3); }
		;

value		: STRING
		| NUMBER			{
			char	 buf[32];

			snprintf(buf, sizeof(buf), "%lld", (long long)$1);
			$$ = parse_strdup(buf);
		}
		;

directive	: PROFILE STRING		{
			if (config_profile_parse($2, &conf->profile) == -1)
				parse_error("invalid profile \"%s\": "
				    "expected dev, test or prod", $2);
		}
		| LISTEN ON STRING port		{ parse_listen($3, $4); }
		| USER STRING			{ parse_set_user($2); }
		| CHROOT STRING			{
			parse_set_path(&conf->chroot, "chroot", $2, PATH_MAX);
		}
		| CONTROL SOCKET STRING		{
			struct sockaddr_un	 sun;

			parse_set_path(&conf->control_socket, "control socket",
			    $3, sizeof(sun.sun_path));
		}
		| SHUTDOWN TIMEOUT STRING	{
			uint64_t	 ms;

			if (parse_duration_ms($3, &ms) == -1)
				parse_error("invalid shutdown timeout \"%s\": "
				    "expected an ISO-8601 duration such as "
				    "PT5S or a number of seconds", $3);
			else
				parse_set_timeout(ms);
		}
		| SHUTDOWN TIMEOUT NUMBER	{
			if ($3 < 0 || $3 > PARSE_SHUTDOWN_MAX_MS / 1000)
				parse_error("invalid shutdown timeout %lld: "
				    "expected 0 to %d seconds", (long long)$3,
				    PARSE_SHUTDOWN_MAX_MS / 1000);
			else
				parse_set_timeout((uint64_t)$3 * 1000);
		}
		| MARKETDATA STRING value	{
			parse_marketdata("marketdata", $2, $3);
		}
		| MARKETDATA TIMEOUT value	{
			parse_marketdata("marketdata", "timeout", $3);
		}
		| QUOTECACHE STRING value	{
			parse_marketdata("quote-cache", $2, $3);
		}
		| DATABASE STRING value		{ parse_database($2, $3); }
		| HTTP STRING value		{ parse_http($2, $3); }
		| DATABASE USER value		{ parse_database("user", $3); }
		| API STRING STRING value	{ parse_api_key($2, $3, $4); }
		| ACTUATOR USER STRING value	{
			parse_secret_file("actuator user", $3, $4,
			    "actuator user file");
		}
		| ACTUATOR STRING STRING value	{
			if (strcmp($2, "password") != 0)
				parse_error("unknown actuator option \"%s\": "
				    "expected user or password", $2);
			else
				parse_secret_file("actuator password", $3, $4,
				    "actuator password file");
		}
		| AUTH STRING STRING value	{
			if (strcmp($2, "failure") != 0)
				parse_error("unknown auth option \"%s\": "
				    "expected failure", $2);
			else
				parse_auth($3, $4, "auth failure");
		}
		;

port		: /* empty */			{ $$ = BENJID_PORT; }
		| PORT NUMBER			{
			$$ = $2;
			if ($2 < 1 || $2 > 65535) {
				parse_error("invalid port %lld: expected 1 to "
				    "65535", (long long)$2);
				$$ = -1;
			}
		}
		| PORT STRING			{
			parse_error("invalid port \"%s\": expected a number "
			    "from 1 to 65535", $2);
			$$ = -1;
		}
		| PORT HTTP			{
			parse_error("invalid port \"http\": expected a number "
			    "from 1 to 65535");
			$$ = -1;
		}
		;

%%

struct keyword {
	const char	*name;
	int		 token;
};

static void
parse_verror(const char *fmt, va_list ap)
{
	char	 msg[1024];

	parse_errors++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warnx("%s:%d: %s", file->name, token_lineno, msg);
}

static void
parse_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	parse_verror(fmt, ap);
	va_end(ap);
}

/* Reports a syntax error unless the lexer reported one on this line. */
static void
yyerror(const char *msg)
{
	if (lex_failed)
		return;
	if (token_text[0] == '\0')
		parse_error("%s at end of line", msg);
	else
		parse_error("%s at \"%s\"", msg, token_text);
}

static int
keyword_compare(const void *key, const void *elem)
{
	return strcmp(key, ((const struct keyword *)elem)->name);
}

static int
keyword_lookup(const char *word)
{
	/* bsearch(3) needs this table sorted by name. */
	static const struct keyword	 keywords[] = {
		{ "actuator",	ACTUATOR },
		{ "api",	API },
		{ "auth",	AUTH },
		{ "chroot",	CHROOT },
		{ "control",	CONTROL },
		{ "database",	DATABASE },
		{ "http",	HTTP },
		{ "include",	INCLUDE },
		{ "listen",	LISTEN },
		{ "marketdata",	MARKETDATA },
		{ "on",		ON },
		{ "port",	PORT },
		{ "profile",	PROFILE },
		{ "quote-cache", QUOTECACHE },
		{ "shutdown",	SHUTDOWN },
		{ "socket",	SOCKET },
		{ "timeout",	TIMEOUT },
		{ "user",	USER }
	};
	const struct keyword		*kw;

	kw = bsearch(word, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), keyword_compare);
	return kw != NULL ? kw->token : STRING;
}

static char *
parse_strdup(const char *s)
{
	struct parse_string	*str;
	size_t			 len = strlen(s);

	if ((str = malloc(sizeof(*str) + len + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(str->text, s, len + 1);
	SLIST_INSERT_HEAD(&parse_strings, str, entry);
	return str->text;
}

static void
lungetc(int c)
{
	if (c == EOF)
		return;
	if (npushback == sizeof(pushback))
		fatalx("%s: pushback buffer full", __func__);
	pushback[npushback++] = (unsigned char)c;
}

/*
 * Reads the next character, from the pushback buffer first. A backslash
 * before a newline joins the two lines.
 */
static int
lgetc(void)
{
	int	 c, next;

	if (npushback > 0)
		return pushback[--npushback];

	while ((c = getc(file->stream)) == '\\') {
		if ((next = getc(file->stream)) != '\n') {
			if (next != EOF)
				ungetc(next, file->stream);
			break;
		}
		file->lineno++;
	}
	return c;
}

/* Skips the rest of a line the lexer could not read. */
static int
lex_fail_line(void)
{
	int	 c;

	lex_failed = 1;
	while ((c = lgetc()) != '\n' && c != EOF)
		;
	lungetc(c);
	return ERROR;
}

/* Keeps the start of the token for syntax error messages. */
static void
lex_set_token_text(const char *text)
{
	snprintf(token_text, sizeof(token_text), "%.*s",
	    (int)sizeof(token_text) - 1, text);
}

static int
lex_is_word_char(int c)
{
	if (c == EOF || c > UCHAR_MAX)
		return 0;
	if (isalnum(c))
		return 1;
	return ispunct(c) && strchr("\"'\\#=,;(){}<>!", c) == NULL;
}

/* Replaces $name by its value, read again by the lexer. */
static int
lex_expand_macro(void)
{
	struct parse_macro	*m;
	char			 name[PARSE_TOKEN_MAX];
	size_t			 len = 0, i;
	int			 c;

	while ((c = lgetc()) != EOF && (isalnum(c) || c == '_')) {
		if (len == sizeof(name) - 1) {
			parse_error("macro name too long");
			return -1;
		}
		name[len++] = (char)c;
	}
	lungetc(c);
	name[len] = '\0';

	if (len == 0) {
		parse_error("missing macro name after '$'");
		return -1;
	}
	TAILQ_FOREACH(m, &parse_macros, entry)
		if (strcmp(m->name, name) == 0)
			break;
	if (m == NULL) {
		parse_error("macro \"%s\" is not defined", name);
		return -1;
	}

	for (i = strlen(m->value); i > 0; i--)
		lungetc((unsigned char)m->value[i - 1]);
	return 0;
}

static int
lex_quoted(int quote)
{
	char	 buf[PARSE_TOKEN_MAX];
	size_t	 len = 0;
	int	 c, next;

	for (;;) {
		c = lgetc();
		if (c == EOF || c == '\n') {
			lungetc(c);
			parse_error("unterminated quoted string");
			lex_failed = 1;
			return ERROR;
		}
		if (c == '\0') {
			parse_error("NUL byte in quoted string");
			return lex_fail_line();
		}
		if (c == quote)
			break;
		if (c == '\\') {
			next = lgetc();
			if (next == quote || next == '\\')
				c = next;
			else
				lungetc(next);
		}
		if (len == sizeof(buf) - 1) {
			parse_error("quoted string longer than %d bytes",
			    PARSE_TOKEN_MAX - 1);
			return lex_fail_line();
		}
		buf[len++] = (char)c;
	}
	buf[len] = '\0';

	lex_set_token_text(buf);
	yylval.string = parse_strdup(buf);
	return STRING;
}

/* Reads a bare word: a keyword, a number or a string. */
static int
lex_word(int c)
{
	char		 buf[PARSE_TOKEN_MAX], *end;
	const char	*digits;
	size_t		 len = 0;
	long long	 number;
	int		 token;

	do {
		if (len == sizeof(buf) - 1) {
			parse_error("word longer than %d bytes",
			    PARSE_TOKEN_MAX - 1);
			return lex_fail_line();
		}
		buf[len++] = (char)c;
	} while (lex_is_word_char(c = lgetc()));
	lungetc(c);
	buf[len] = '\0';
	lex_set_token_text(buf);

	if ((token = keyword_lookup(buf)) != STRING)
		return token;

	digits = buf[0] == '-' ? buf + 1 : buf;
	if (*digits != '\0' && digits[strspn(digits, "0123456789")] == '\0') {
		errno = 0;
		number = strtoll(buf, &end, 10);
		if (errno == ERANGE) {
			parse_error("number %s out of range", buf);
			lex_failed = 1;
			return ERROR;
		}
		yylval.number = number;
		return NUMBER;
	}

	yylval.string = parse_strdup(buf);
	return STRING;
}

static int
yylex(void)
{
	int	 c;

 top:
	while ((c = lgetc()) == ' ' || c == '\t' || c == '\r')
		;

	token_lineno = file->lineno;
	token_text[0] = '\0';

	if (c == '#')
		while ((c = lgetc()) != '\n' && c != EOF)
			;

	if (c == '$') {
		if (lex_expand_macro() == -1)
			return lex_fail_line();
		goto top;
	}

	if (c == '"' || c == '\'')
		return lex_quoted(c);

	if (c == '\n') {
		file->lineno++;
		lex_failed = 0;
		return '\n';
	}

	if (c == EOF) {
		/* End the last line even when the file lacks a newline. */
		if (!file->eof_newline_sent) {
			file->eof_newline_sent = 1;
			lex_failed = 0;
			return '\n';
		}
		if (TAILQ_FIRST(&parse_files) == file)
			return 0;
		parse_popfile();
		goto top;
	}

	if (c == '\0') {
		parse_error("NUL byte in configuration");
		return lex_fail_line();
	}

	if (lex_is_word_char(c))
		return lex_word(c);

	if (isprint(c))
		snprintf(token_text, sizeof(token_text), "%c", c);
	else
		snprintf(token_text, sizeof(token_text), "\\x%02x", c);
	return c;
}

/*
 * Rejects a file that another user could change, because it decides which
 * user and directory the children run as.
 */
static int
parse_check_file(FILE *stream, const char *name, struct stat *stp)
{
	struct stat	 st;

	if (fstat(fileno(stream), &st) == -1) {
		log_warn("%s: fstat", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", name);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		log_warnx("%s: owned by uid %u: expected root or uid %u",
		    name, (unsigned int)st.st_uid, (unsigned int)getuid());
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("%s: writable by group or others (mode %04o): "
		    "run chmod go-w on it", name,
		    (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	*stp = st;
	return 0;
}

/*
 * Opens an included file and makes it the current file. A relative name is
 * taken from the directory of the including file. Failures are reported as
 * errors of the include line.
 */
static void
parse_include(const char *name)
{
	struct parse_file	*f;
	struct stat		 st;
	const char		*slash;
	char			*path;
	FILE			*stream;
	size_t			 size;
	int			 depth = 0;

	TAILQ_FOREACH(f, &parse_files, entry)
		depth++;
	if (depth >= PARSE_INCLUDE_DEPTH) {
		parse_error("include \"%s\": nested deeper than %d files",
		    name, PARSE_INCLUDE_DEPTH);
		return;
	}

	/* Room for the directory, a slash, the name and the terminator. */
	size = strlen(file->name) + strlen(name) + 2;
	if ((path = malloc(size)) == NULL)
		fatal("%s", __func__);
	if (name[0] != '/' && (slash = strrchr(file->name, '/')) != NULL)
		snprintf(path, size, "%.*s/%s", (int)(slash - file->name),
		    file->name, name);
	else
		snprintf(path, size, "%s", name);

	if ((stream = fopen(path, "r")) == NULL) {
		parse_error("include \"%s\": %s", path, strerror(errno));
		free(path);
		return;
	}
	if (parse_check_file(stream, path, &st) == -1) {
		parse_error("include \"%s\": unsafe ownership or mode", path);
		goto fail;
	}

	/*
	 * A file that includes one of its includers would be read again and
	 * again, and with several include lines the reads grow exponentially.
	 */
	TAILQ_FOREACH(f, &parse_files, entry) {
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			parse_error("include \"%s\": include loop, the file is "
			    "already being read", path);
			goto fail;
		}
	}

	parse_pushfile(path, stream, &st);
	return;

 fail:
	fclose(stream);
	free(path);
}

/* Makes stream the current file; the file takes ownership of path. */
static void
parse_pushfile(char *path, FILE *stream, const struct stat *st)
{
	struct parse_file	*nfile;

	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		fatal("%s", __func__);
	nfile->name = path;
	nfile->stream = stream;
	nfile->lineno = 1;
	nfile->dev = st->st_dev;
	nfile->ino = st->st_ino;
	TAILQ_INSERT_TAIL(&parse_files, nfile, entry);
	file = nfile;
}

static void
parse_popfile(void)
{
	struct parse_file	*prev;

	prev = TAILQ_PREV(file, parse_files, entry);
	TAILQ_REMOVE(&parse_files, file, entry);
	fclose(file->stream);
	free(file->name);
	free(file);
	file = prev;
}

static void
parse_define(const char *name, const char *value)
{
	struct parse_macro	*m;
	const char		*p;

	if (!isalpha((unsigned char)name[0]) && name[0] != '_') {
		parse_error("invalid macro name \"%s\": expected a letter or "
		    "'_' followed by letters, digits or '_'", name);
		return;
	}
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_') {
			parse_error("invalid macro name \"%s\": expected "
			    "letters, digits or '_'", name);
			return;
		}
	}

	/* A value with a '$' could expand itself without end. */
	if (strchr(value, '$') != NULL) {
		parse_error("macro \"%s\": value must not contain '$'", name);
		return;
	}

	TAILQ_FOREACH(m, &parse_macros, entry) {
		if (strcmp(m->name, name) == 0) {
			free(m->value);
			if ((m->value = strdup(value)) == NULL)
				fatal("%s", __func__);
			return;
		}
	}

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->name = strdup(name)) == NULL ||
	    (m->value = strdup(value)) == NULL)
		fatal("%s", __func__);
	TAILQ_INSERT_TAIL(&parse_macros, m, entry);
}

static void
parse_listen(const char *host, int64_t port)
{
	struct in6_addr		 addr6;
	struct in_addr		 addr4;
	struct listen_addr	*la;
	size_t			 i;

	/* The first listen line replaces the default address. */
	if (!listen_seen) {
		conf->nlisten = 0;
		listen_seen = 1;
	}

	if (strcmp(host, "*") != 0 && strcmp(host, "localhost") != 0 &&
	    inet_pton(AF_INET, host, &addr4) != 1 &&
	    inet_pton(AF_INET6, host, &addr6) != 1) {
		parse_error("invalid listen address \"%s\": expected an IPv4 "
		    "or IPv6 address, * or localhost", host);
		return;
	}
	if (port == -1)
		return;

	for (i = 0; i < conf->nlisten; i++) {
		la = &conf->listen[i];
		if (strcmp(la->host, host) == 0 && la->port == port) {
			parse_error("duplicate listen on %s port %lld", host,
			    (long long)port);
			return;
		}
	}
	if (conf->nlisten == BENJID_LISTEN_MAX) {
		parse_error("too many listen addresses: at most %d",
		    BENJID_LISTEN_MAX);
		return;
	}

	la = &conf->listen[conf->nlisten++];
	snprintf(la->host, sizeof(la->host), "%s", host);
	la->port = (in_port_t)port;
}

static void
parse_set_path(char **field, const char *directive, const char *path,
    size_t size)
{
	if (path[0] != '/') {
		parse_error("invalid %s \"%s\": expected an absolute path",
		    directive, path);
		return;
	}
	if (strlen(path) >= size) {
		parse_error("invalid %s \"%s\": longer than %zu bytes",
		    directive, path, size - 1);
		return;
	}
	free(*field);
	if ((*field = strdup(path)) == NULL)
		fatal("%s", __func__);
}

static void
parse_set_user(const char *user)
{
	size_t	 len = strlen(user);

	if (len == 0 || len > PARSE_USER_MAX || user[0] == '-' ||
	    user[strspn(user, PARSE_USER_CHARS)] != '\0') {
		parse_error("invalid user \"%s\": expected a name of at most "
		    "%d letters, digits, '.', '_' or '-', not starting with "
		    "'-'", user, PARSE_USER_MAX);
		return;
	}
	free(conf->user);
	if ((conf->user = strdup(user)) == NULL)
		fatal("%s", __func__);
}

static void
parse_set_timeout(uint64_t ms)
{
	if (ms > PARSE_SHUTDOWN_MAX_MS) {
		parse_error("invalid shutdown timeout of %llu ms: expected "
		    "at most %d seconds", (unsigned long long)ms,
		    PARSE_SHUTDOWN_MAX_MS / 1000);
		return;
	}
	conf->shutdown_timeout_ms = (unsigned int)ms;
}

static void
parse_copy_config(struct benjid_config *dst, const struct benjid_config *src)
{
	*dst = *src;
	dst->path = NULL;
	if ((src->user != NULL && (dst->user = strdup(src->user)) == NULL) ||
	    (src->chroot != NULL &&
	    (dst->chroot = strdup(src->chroot)) == NULL) ||
	    (src->control_socket != NULL &&
	    (dst->control_socket = strdup(src->control_socket)) == NULL))
		fatal("%s", __func__);
	marketdata_copy(dst, src);
	db_config_copy(dst, src);
	config_secrets_copy(dst, src);
}

static void
parse_cleanup(void)
{
	struct parse_macro	*m;
	struct parse_string	*str;

	while ((file = TAILQ_LAST(&parse_files, parse_files)) != NULL)
		parse_popfile();
	while ((m = TAILQ_FIRST(&parse_macros)) != NULL) {
		TAILQ_REMOVE(&parse_macros, m, entry);
		free(m->name);
		free(m->value);
		free(m);
	}
	while ((str = SLIST_FIRST(&parse_strings)) != NULL) {
		SLIST_REMOVE_HEAD(&parse_strings, entry);
		free(str);
	}
	conf = NULL;
}

/*
 * Reads the configuration file at path over the values already in out.
 * A missing file is an error only when required is set; otherwise out keeps
 * its values and out->path is NULL. Every error is logged as file:line.
 * Returns -1 after an error and leaves out unchanged.
 */
int
parse_config(const char *path, int required, struct benjid_config *out)
{
	struct benjid_config	 next;
	struct stat		 st;
	FILE			*stream;
	char			*name;
	int			 rc;

	if ((stream = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !required) {
			free(out->path);
			out->path = NULL;
			return 0;
		}
		log_warn("%s", path);
		return -1;
	}
	if (parse_check_file(stream, path, &st) == -1) {
		fclose(stream);
		return -1;
	}
	if ((name = strdup(path)) == NULL)
		fatal("%s", __func__);

	parse_errors = 0;
	listen_seen = 0;
	lex_failed = 0;
	npushback = 0;
	token_lineno = 0;
	parse_pushfile(name, stream, &st);

	parse_copy_config(&next, out);
	conf = &next;
	rc = yyparse();
	parse_cleanup();

	if (rc != 0 || parse_errors > 0) {
		config_free(&next);
		return -1;
	}

	if ((next.path = strdup(path)) == NULL)
		fatal("%s", __func__);
	config_free(out);
	*out = next;
	return 0;
}

/* Market data and quote cache settings, checked by fetcher_config.c. */
static void
parse_marketdata(const char *block, const char *option, const char *value)
{
	char	 err[512];

	if (marketdata_set(conf, block, option, value, err, sizeof(err)) == -1)
		parse_error("%s", err);
}

/* The limits and timeouts of the http child, checked by http_limits.c. */
static void
parse_http(const char *option, const char *value)
{
	char	 err[512];

	if (http_limits_set(conf, option, value, err, sizeof(err)) == -1)
		parse_error("%s", err);
}

/* The database settings, checked by db_config.c. */
static void
parse_database(const char *option, const char *value)
{
	char	 err[512];

	if (db_config_set(conf, option, value, err, sizeof(err)) == -1)
		parse_error("%s", err);
}

/*
 * Sets a secret file: "file" followed by an absolute path. The file is read
 * by parent_secrets.c, at startup and on every reload.
 */
static void
parse_secret_file(const char *what, const char *option, const char *path,
    const char *directive)
{
	char	**field;

	if (strcmp(option, "file") != 0) {
		parse_error("unknown %s option \"%s\": expected file", what,
		    option);
		return;
	}
	if (strcmp(what, "api key") == 0)
		field = &conf->api_key_file;
	else if (strcmp(what, "actuator user") == 0)
		field = &conf->actuator_user_file;
	else
		field = &conf->actuator_password_file;
	parse_set_path(field, directive, path, PATH_MAX);
}

/* api key file "path" and api key header "name". */
static void
parse_api_key(const char *word, const char *option, const char *value)
{
	if (strcmp(word, "key") != 0) {
		parse_error("unknown api option \"%s\": expected key", word);
		return;
	}
	if (strcmp(option, "header") == 0) {
		if (config_check_header_name(value) == -1)
			parse_error("invalid api key header \"%s\": expected "
			    "a header name of at most %d letters, digits or "
			    "!#$%%&'*+-.^_`|~", value, SECRETS_HEADER_MAX - 1);
		else
			snprintf(conf->api_key_header,
			    sizeof(conf->api_key_header), "%s", value);
		return;
	}
	parse_secret_file("api key", option, value, "api key file");
}

/* auth failure budget N, auth failure interval D, auth failure delay D. */
static void
parse_auth(const char *option, const char *value, const char *directive)
{
	uint64_t	 n;
	char		*end;

	if (strcmp(option, "budget") == 0) {
		errno = 0;
		n = strtoull(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || *end != '\0' ||
		    errno != 0 || n < 1 || n > 1000000) {
			parse_error("invalid %s budget \"%s\": expected 1 to "
			    "1000000 failures", directive, value);
			return;
		}
		conf->auth_failure_budget = (unsigned int)n;
		return;
	}
	if (strcmp(option, "interval") != 0 && strcmp(option, "delay") != 0) {
		parse_error("unknown %s option \"%s\": expected budget, "
		    "interval or delay", directive, option);
		return;
	}
	if (parse_duration_ms(value, &n) == -1 || n > 3600 * 1000 ||
	    (n == 0 && strcmp(option, "interval") == 0)) {
		parse_error("invalid %s %s \"%s\": expected an ISO-8601 "
		    "duration such as PT1S, at most PT1H%s", directive, option,
		    value, strcmp(option, "interval") == 0 ?
		    " and more than zero" : "");
		return;
	}
	if (strcmp(option, "interval") == 0)
		conf->auth_failure_interval_ms = (unsigned int)n;
	else
		conf->auth_failure_delay_ms = (unsigned int)n;
}
