/*
 * audit_admin.h - "hvbastion audit status", "hvbastion audit test" and
 * "hvbastion verify --audit": the audit trail's admin commands.
 */
#ifndef HVB_AUDIT_ADMIN_H
#define HVB_AUDIT_ADMIN_H

#include <stdio.h>

#include "config.h"

int	audit_admin_main(const struct config *, int argc, char *argv[],
	    FILE *out);
/* Checks the journal's hash chain and its sequence numbers. */
int	audit_admin_verify(const struct config *, FILE *out);

#endif
