/*
 * log.h - the daemon's diagnostic log.
 *
 * Messages go to stderr (foreground) or syslog (daemon).  Every line carries
 * the function name, as OpenSSH's log macros do.  Untrusted text passed as an
 * argument must go through log_escape() first, so that a user name or a
 * command cannot forge a log line.
 */
#ifndef HVB_LOG_H
#define HVB_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void	log_init(const char *progname, int to_stderr, enum log_level level);
void	log_msg(enum log_level level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Copies src into dst (size dstlen), replacing control and non-ASCII bytes
 * by \xHH escapes; always NUL-terminates; truncates with "...". */
/* 1 when the log goes to syslog(3) (the sandbox keeps it working). */
int	log_is_syslog(void);
const char *log_escape(char *dst, size_t dstlen, const char *src);

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__)

#endif
