/*
 * policy_cli.h - "hvbastion policy check" and "hvbastion policy explain":
 * the security team's view of the policy, answered by the same
 * policy_decide() that the daemon enforces.
 */
#ifndef HVB_POLICY_CLI_H
#define HVB_POLICY_CLI_H

#include <stdio.h>

/*
 * argv holds the words after "policy" (argv[0] is "check" or "explain").
 * Loads the configuration at path itself, because each subcommand has its
 * own exit status for a broken one.  Returns the program's exit status:
 * check: 0 OK, 1 errors (each printed as file:line: message), 2 usage;
 * explain: 0 allow, 1 deny, 2 usage or configuration error.
 */
int	policy_cli_main(const char *path, int argc, char *argv[], FILE *out);

#endif
