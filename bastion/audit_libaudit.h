/*
 * audit_libaudit.h - the auditd sink: the same events as Linux audit user
 * records, so that `ausearch -m USER_LOGIN,USER_START,USER_END,USER_CMD`
 * finds them on the bastion.
 *
 * As OpenSSH does (audit-linux.c): a kernel without audit support
 * (EINVAL, EPROTONOSUPPORT, EAFNOSUPPORT from audit_open) is reported once
 * and the sink carries on without it; any other failure to open (no
 * memory, no descriptors) is an error, so that the login is refused; a
 * send refused with EPERM while not root is ignored.
 */
#ifndef HVB_AUDIT_LIBAUDIT_H
#define HVB_AUDIT_LIBAUDIT_H

#include "audit.h"

/* 0, or a negative error code (the event must then fail closed). */
int	audit_libaudit_emit(const struct audit_event *ev, const char *program);

#endif
