/*
 * testhooks.h - misbehaviour on demand, compiled only into the test
 * daemon (build/hvbastiond-testhooks, -DHVB_TEST_HOOKS): it lets the
 * end-to-end tests prove that the sandbox and the key holder stop a child
 * that has been taken over.  The production build has none of it (a test
 * checks the symbols and strings are absent from build/hvbastiond).
 *
 * HVB_TEST_HOOKS="person=action,person=action:arg,..." in the daemon's
 * environment; once the child of that person is sandboxed it:
 *   open-key          opens its first credential's key-file for reading
 *   open-file:PATH    opens PATH for reading
 *   exec              execve("/bin/true")
 *   socket            opens a TCP socket
 *   kh-target:T       asks the key holder for target T (its first
 *                     credential)
 *   kh-person:P:T     asks for its own first target, then for T as P
 *   kh-garbage        sends the key holder a request of an unknown type
 *   kh-api:PATH:PRIV  asks for the API token for PATH and PRIV (logs the
 *                     token id, never the secret)
 *   kh-sign           asks the agent socket of its first target to sign
 *                     bytes that are not an SSH authentication
 * and logs "test hook: ACTION: ..." with the outcome, then ends the
 * session (exit status 3), unless the sandbox killed it first.
 */
#ifndef HVB_TESTHOOKS_H
#define HVB_TESTHOOKS_H

#include "config.h"
#include "upstream.h"

void	testhooks_after_sandbox(const struct config *, const char *person);

/*
 * Before authentication (auth.c, at the first request: the SSH child is
 * sandboxed, its monitor runs PAM), for the login name as sent:
 *   preauth-open:PATH[;PATH...]  opens each PATH for reading
 *   preauth-claim:PERSON         tells its monitor it is PERSON: the
 *                                publickey step with PERSON's first key,
 *                                then the end of authentication
 * logs "test hook: ..." with the outcome, then exits 3.
 */
void	testhooks_preauth(const struct config *, const char *login);

/*
 * The audit shipper, once confined (audit_ship.c):
 * "shipper=open-file:PATH[;PATH...]" in HVB_TEST_HOOKS makes it open each
 * PATH for reading and log the outcome ("test hook: open: PATH: refused:
 * ..."), then go on shipping.
 */
void	testhooks_shipper(void);

/*
 * Privilege separation off, for the benchmark only (bench/sep_bench.py,
 * BENCHMARKS.md): HVB_TEST_SEPARATION=off in the daemon's environment.
 * Then a child does not enter the sandbox (no seccomp, no Landlock, no
 * rlimits), and connects to a target and authenticates itself, reading
 * the credential's private key file and signing with it as the bastion
 * did before the key holder (no key holder round trip, no second policy
 * decision there, no agent socket).  The child must be able to read the
 * key files (owned by the daemon's user, or run it with -u root and keys
 * owned by root).  The key holder still runs and still seals recordings.
 * HVB_TEST_SEPARATION=sandbox-off turns off the sandbox only (the key
 * holder still connects and signs), to tell the two costs apart.
 */
int	testhooks_separation_off(void);
int	testhooks_sandbox_off(void);
int	testhooks_upstream_connect(const struct config *,
	    const struct config_target *, const struct config_credential *,
	    struct upstream **, char *why, size_t whylen);

/*
 * The API child (api_server.c, api_monitor.h): an authenticated request
 * with the header "X-Hvb-Test-Hook: ACTION" makes the sandboxed child
 *   open-file:PATH    open PATH for reading
 *   open-secret       open the first api-credential's secret-file
 *   exec, socket      as above
 *   mon-token:PATH:PRIV  ask the monitor for the held token for PATH and
 *                     PRIV (logs the token id, never the secret)
 *   mon-renew:USERID  ask the monitor to renew the request's own ticket
 *                     as USERID (another person: a ticket to mint)
 *   mon-tfa:USERID    ask for a full ticket for USERID with a forged TFA
 *                     challenge
 *   mon-connect:NODE  ask for a connection to NODE (not configured)
 *   tls-key           say whether its TLS context holds the private key,
 *                     and ask the monitor for a second signature
 *   mon-garbage       send the monitor a request of an unknown type
 * and logs "test hook: ACTION: ..." with the outcome, then exits 3.
 */
void	testhooks_api(const struct config *, const char *person,
	    const char *userid, const char *action, const char *ticket);

#endif
