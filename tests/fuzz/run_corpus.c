/*
 * run_corpus.c - runs a libFuzzer target without libFuzzer (and without
 * clang), so the fuzz targets double as regression tests in "make check".
 *
 *   run_x [FILE-OR-DIRECTORY...]
 *
 * Each file, or each file of each directory, is one input.  With no
 * argument, a few built-in inputs are used.  Link with one fuzz_*.c.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_INPUT_MAX	(4 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Inputs that reach into each target; NUL separates user and command. */
static const struct {
	const char	*data;
	size_t		 len;
} builtin[] = {
#define S(s)	{ s, sizeof(s) - 1 }
	S(""),
	S("\x00"),
	S("alice+root+pve1\0root@pve1 uname -a"),
	S("alice\0  pve1;id"),
	S("a+b+c+d\0"),
	S("\x07" "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80 "
	    "\xc0\xaf \xff \"\\\x01\x7f \xe2\x82"),
	S("listen \"127.0.0.1\" port 2222\nrecord-input yes\n"),
	S("credential \"c\" {\n\tlogin \"root\"\n\tkey-file \"/nonexistent\"\n"
	    "}\ntarget \"t\" {\n\taddress \"10.0.0.1\"\n\tkind guest\n"
	    "\tcredential \"c\"\n}\nuser \"u\" {\n\ttarget \"t\"\n}\n"),
	S("target \"x\" {\n\tcredential \"c\" {\n}\n}\n}\n{\n\"unterminated\n"),
	S("state-directory \"a\\q\"\n\"\\\n#\n;\n"),
#undef S
};

static int
run_file(const char *path)
{
	unsigned char *buf;
	size_t len = 0;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(RUN_INPUT_MAX)) == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, RUN_INPUT_MAX, f);
	fclose(f);
	/* An exact-size copy, so ASan sees a read past the input. */
	buf = realloc(buf, len > 0 ? len : 1);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
run_path(const char *path, size_t *count)
{
	char sub[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int rc = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &sb) == 0 && S_ISREG(sb.st_mode)) {
			(*count)++;
			if (run_file(sub) < 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t i, count = 0;
	int rc = 0, a;

	if (argc < 2) {
		for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
			unsigned char *copy = malloc(builtin[i].len + 1);

			if (copy == NULL)
				return 1;
			memcpy(copy, builtin[i].data, builtin[i].len);
			LLVMFuzzerTestOneInput(copy, builtin[i].len);
			free(copy);
			count++;
		}
	}
	for (a = 1; a < argc; a++)
		if (run_path(argv[a], &count) < 0)
			rc = 1;
	printf("%s: %zu inputs, ok\n", argv[0], count);
	return rc;
}
