/*
 * audit_cli.h - the auditors' tools: "hvbastion sessions", "replay" and
 * "verify".
 *
 * argv holds the words after the subcommand.  Exit statuses: 0 good, 1
 * something wrong (verify: a recording that is not whole and sealed), 2
 * usage, 3 the caller may not read the recordings.
 */
#ifndef HVB_AUDIT_CLI_H
#define HVB_AUDIT_CLI_H

#include <stdio.h>

#include "config.h"

int	audit_cli_sessions(const struct config *, int argc, char *argv[],
	    FILE *out);
int	audit_cli_replay(const struct config *, int argc, char *argv[],
	    FILE *out);
int	audit_cli_verify(const struct config *, int argc, char *argv[],
	    FILE *out);

#endif
