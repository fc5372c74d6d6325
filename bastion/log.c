/*
 * log.c - the daemon's diagnostic log (stderr or syslog).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "hvbastion";
static int log_to_stderr = 1;
static enum log_level log_threshold = LOG_LEVEL_INFO;

void
log_init(const char *progname, int to_stderr, enum log_level level)
{
	log_progname = progname;
	log_to_stderr = to_stderr;
	log_threshold = level;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	static const char *names[] = { "error", "info", "debug" };
	static const int prios[] = { LOG_ERR, LOG_INFO, LOG_DEBUG };

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%06ldZ %s[%ld]: %s: %s: %s\n", when,
		    ts.tv_nsec / 1000, log_progname, (long)getpid(),
		    names[level], func, msg);
	} else
		syslog(prios[level], "%s: %s: %s", names[level], func, msg);
}

int
log_is_syslog(void)
{
	return !log_to_stderr;
}

const char *
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	if (src == NULL)
		src = "(null)";
	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;
		size_t need = (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;

		if (o + need + 4 > dstlen) {
			if (o + 4 <= dstlen)
				memcpy(dst + o, "...", 3), o += 3;
			break;
		}
		if (need == 1)
			dst[o++] = (char)c;
		else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
