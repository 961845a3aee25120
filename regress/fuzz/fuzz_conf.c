/*
 * libFuzzer target for the configuration parser and the ISO-8601 duration
 * reader. The input becomes a configuration file, and its first half also
 * an included file, so include handling and macros get exercised too.
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benjid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fuzz_dir[] = "/tmp/benji-fuzz-conf.XXXXXX";

static void
fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct benjid_config	 conf;
	char			 main_path[256], include_path[256], *text;
	uint64_t		 ms;

	if (!ready) {
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		log_init("fuzz", LOG_TO_NULL, 0);
		ready = 1;
	}
	snprintf(main_path, sizeof(main_path), "%s/benjid.conf", fuzz_dir);
	snprintf(include_path, sizeof(include_path), "%s/b.conf", fuzz_dir);
	fuzz_write(main_path, data, size);
	fuzz_write(include_path, data, size / 2);

	config_defaults(&conf);
	parse_config(main_path, 1, &conf);
	config_free(&conf);

	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	parse_duration_ms(text, &ms);
	free(text);
	return 0;
}
