/*
 * Process titles: ps(1) and /proc/PID/cmdline show "benjid: http" and so
 * on. The title overwrites the argument strings of the process in place,
 * which the kernel lays out back to back; a child is started with a clean
 * environment, so the arguments are all the room there is.
 */

#include <sys/prctl.h>

#include <string.h>

#include "privsep.h"

static char	*title_start;
static size_t	 title_room;

/* Remembers where argv lives; call before anything changes argv. */
void
proctitle_init(int argc, char **argv)
{
	char	*end;
	int	 i;

	if (argc < 1 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]);
	for (i = 1; i < argc && argv[i] != NULL; i++) {
		if (argv[i] != end + 1)
			break;
		end = argv[i] + strlen(argv[i]);
	}
	title_start = argv[0];
	title_room = end - argv[0];
}

void
proctitle_set(const char *title)
{
	size_t	 len;

	/* The command name in /proc/PID/comm holds 15 bytes. */
	prctl(PR_SET_NAME, (unsigned long)title, 0, 0, 0);
	if (title_start == NULL || title_room == 0)
		return;
	len = strlen(title);
	if (len > title_room)
		len = title_room;
	memcpy(title_start, title, len);
	memset(title_start + len, '\0', title_room - len + 1);
}
