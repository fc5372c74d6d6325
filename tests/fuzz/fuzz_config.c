/*
 * fuzz_config.c - libFuzzer target for config_load(): the lexer, the
 * parser and the name resolution, on any bytes.
 *
 * config_load reads a path, so the input goes to a temporary file first
 * (one per process, rewritten each time).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bastion/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
count_report(void *arg, const char *msg)
{
	size_t *n = arg;

	/* Every message must name the file and a line. */
	if (strchr(msg, ':') == NULL)
		abort();
	(*n)++;
}

static const char *
input_path(void)
{
	static char path[64];
	int fd;

	if (path[0] != '\0')
		return path;
	snprintf(path, sizeof(path), "/tmp/hvb-fuzz-config.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	return path;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = input_path();
	struct config *conf;
	size_t nreports = 0;
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	conf = config_load(path, count_report, &nreports);
	/* A configuration comes back exactly when nothing was reported. */
	if ((conf == NULL) != (nreports > 0))
		abort();
	if (conf != NULL) {
		size_t i;

		for (i = 0; i < conf->nusers; i++)
			if (config_find_user(conf, conf->users[i]->name) ==
			    NULL)
				abort();
		for (i = 0; i < conf->ntargets; i++)
			if (conf->targets[i]->ncredentials == 0 ||
			    conf->targets[i]->host_key == NULL)
				abort();
	}
	config_free(conf);
	return 0;
}
