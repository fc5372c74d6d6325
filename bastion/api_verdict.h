/*
 * api_verdict.h - the API network child's kept answers of its monitor.
 *
 * Every call's credential goes to the monitor (api_monitor.h), one round
 * trip that wakes a second process per call.  An OK answer (who, whether
 * the CSRF token holds, the held token for the ACL path) is kept here for
 * the rest of the same second, and only while the key holder's policy
 * generation (keyholder_generation()) has not moved: the monitor's own
 * inputs are the credential, the CSRF token, the request's ACL path and
 * privilege, the time in whole seconds and, through the key holder, the
 * configuration.  A revoked personal API token therefore stops working
 * on a connection that is already open at the next second; a new
 * connection asks the monitor at once.
 *
 * Refusals are never kept, and without the generation page (0) nothing
 * is.  The key is a SHA-256 of the request's fields: no credential stays
 * in memory after its request.  A compromised child gains nothing from
 * this: it could replay the same credential to the monitor anyway, and
 * this connection is bound to one person.
 */
#ifndef HVB_API_VERDICT_H
#define HVB_API_VERDICT_H

#include <time.h>

#include "api_mon_proto.h"

#define API_VERDICT_KEY_LEN	32
#define API_VERDICT_SLOTS	8

/* The key of an AUTH request (its kind, credential, CSRF token, flags,
 * ACL path, privilege and pool).  0, or -1. */
int	api_verdict_key(const struct api_mon_msg *q,
	    unsigned char key[API_VERDICT_KEY_LEN]);
/* Fills rep (status, userid, CSRF flag, token status, held token) from a
 * kept answer for key at (now, gen): 1, or 0 (none; stale ones wiped). */
int	api_verdict_find(const unsigned char key[API_VERDICT_KEY_LEN],
	    time_t now, unsigned long gen, struct api_mon_msg *rep);
/* Keeps rep for key at (now, gen) if it is an OK answer and gen is not 0. */
void	api_verdict_keep(const unsigned char key[API_VERDICT_KEY_LEN],
	    time_t now, unsigned long gen, const struct api_mon_msg *rep);
void	api_verdict_wipe(void);
/* The wall-clock second "the same second" is counted in.  Not time():
 * its vDSO reads the clock of the last tick, up to a tick behind, so a
 * kept answer could outlive the second a person sees on their clock. */
time_t	api_verdict_second(void);

#endif
