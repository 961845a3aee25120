/*
 * main() of one child executable, built once per child with BENJID_CHILD
 * naming it (http, fetcher, db, secrets). Each executable links only the
 * code and libraries of its own child, so the http child, which faces the
 * internet, maps neither libcurl nor libpq. The parent alone starts it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benjid.h"

#ifndef BENJID_CHILD
#error "BENJID_CHILD must name the child: http, fetcher, db or secrets"
#endif

#define CHILD_PROC2(name)	name ## _proc
#define CHILD_PROC(name)	CHILD_PROC2(name)

int
main(int argc, char *argv[])
{
	const struct privsep_proc	*proc = &CHILD_PROC(BENJID_CHILD);

	/* Only benjid starts a child, with -P and the child's name. */
	if (argc < 3 || strcmp(argv[1], PROC_FLAG) != 0 ||
	    strcmp(argv[2], proc->name) != 0) {
		fprintf(stderr, "benjid-%s: invalid arguments: only benjid "
		    "starts this program, as benjid-%s %s %s\n", proc->name,
		    proc->name, PROC_FLAG, proc->name);
		exit(1);
	}
	proc_child_main(proc, argc, argv);
}
