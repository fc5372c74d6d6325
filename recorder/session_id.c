/*
 * session_id.c - identifiers that name a connection and its recordings.
 */
#include <sys/random.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "session_id.h"

int
session_id_new(char *buf, size_t len)
{
	uint32_t rnd;
	time_t now = time(NULL);
	struct tm tm;
	char when[20];

	if (len < SESSION_ID_LEN + 1 ||
	    getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -1;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, len, "%s-%08x", when, (unsigned)rnd);
	return 0;
}
