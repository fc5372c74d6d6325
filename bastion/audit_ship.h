/*
 * audit_ship.h - the audit shipper: its own process, started by the
 * master (and started again if it dies), that owns the connection to the
 * log store.  It reads the spool in order, sends each record as an RFC 5424
 * message with structured data in RFC 5425 octet-counted framing over TLS
 * (the collector's certificate verified against audit-ca; a client
 * certificate if configured) or plain TCP, retries with exponential
 * backoff, and records how far it delivered in STATE/audit/offset.
 *
 * With audit-protocol relp each record goes as a RELP "syslog" command
 * instead (audit_relp.h) and "delivered" means answered 200 OK by the
 * collector, in order, within a window of RELP_WINDOW commands: nothing
 * is counted that the collector's program did not take.
 *
 * RFC 5425 has no acknowledgement, so there "delivered" means: sent on a
 * connection that stayed up for AUDIT_SHIP_SETTLE seconds afterwards and
 * whose bytes the collector's TCP acknowledged.  Either way, when the
 * connection breaks, everything after the last delivered point is sent
 * again on the next one: duplicates are possible (same sequence number).
 * Loss is not, except over RFC 5425 in one case it cannot see: a
 * collector whose TCP acknowledged bytes that its program left unread for
 * longer than AUDIT_SHIP_SETTLE (stalled, SIGSTOPped) and that then goes
 * away without reading them has them counted as delivered.  (rsyslog does
 * not answer a TLS 1.3 KeyUpdate request while it only reads, so that
 * cannot serve as an acknowledgement either.)
 */
#ifndef HVB_AUDIT_SHIP_H
#define HVB_AUDIT_SHIP_H

#include <sys/types.h>

#include "config.h"

#define AUDIT_SHIP_SETTLE	2.0	/* seconds */
#define AUDIT_SHIP_BACKOFF_MIN	0.25
#define AUDIT_SHIP_BACKOFF_MAX	30.0

/* Master side: start (no-op without a collector), note a reaped child,
 * restart a dead shipper (at most once a second), stop. */
int	audit_ship_start(const struct config *conf);
void	audit_ship_reaped(pid_t pid);
void	audit_ship_tick(const struct config *conf);
void	audit_ship_stop(void);

#endif
