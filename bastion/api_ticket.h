/*
 * api_ticket.h - the bastion's own Proxmox-like tickets and CSRF tokens.
 *
 *   ticket:  PVE:<name@realm>:<HEXTIME>::<HMAC hex>
 *   partial: PVE:!tfa!<name@realm>:<HEXTIME>::<HMAC hex>  (after the
 *            password, before the TOTP code: good only for the TFA step)
 *   CSRF:    <HEXTIME>:<HMAC hex>  (bound to name@realm)
 *
 * The HMAC-SHA256 key is derived from the state directory's 0600 key
 * (seal.key) with a label of its own, so that a ticket MAC can never be
 * confused with a recording seal.  Nothing here is Proxmox's key: a
 * ticket of the bastion is worthless to a node, and the other way round.
 */
#ifndef HVB_API_TICKET_H
#define HVB_API_TICKET_H

#include <stddef.h>
#include <time.h>

#define API_TICKET_MAX		256
#define API_USERID_MAX		100
#define API_TFA_LIFETIME	300	/* seconds for the TOTP step */
#define API_TICKET_SKEW		300	/* a ticket from the future */

/* Derives the ticket key from the state key (32 bytes); 0 or -1. */
int	api_ticket_set_key(const unsigned char *state_key, size_t len);
void	api_ticket_wipe_key(void);

/*
 * "name@realm" -> name, realm; 0, or -EINVAL when the name is not a
 * bastion name or the realm has not the form of a Proxmox realm id.
 * Whether the bastion accepts that realm is the configuration's
 * (api-realms: config_api_realm_ok()): one user base, the realm is only
 * what clients expect to type.
 */
int	api_userid_split(const char *userid, char *name, size_t namelen,
	    char *realm, size_t realmlen);

int	api_ticket_make(const char *userid, int partial, time_t now,
	    char *out, size_t outlen);
/*
 * Checks TICKET at NOW for LIFETIME seconds; partial selects the kind
 * wanted (a partial ticket is never accepted as a full one, nor the
 * other way round).  userid gets the ticket's name@realm.  Returns 0,
 * -EACCES (bad MAC or form) or -ETIMEDOUT (expired).
 */
int	api_ticket_check(const char *ticket, int partial, time_t now,
	    int lifetime, char *userid, size_t userlen);

int	api_csrf_make(const char *userid, time_t now, char *out,
	    size_t outlen);
int	api_csrf_check(const char *token, const char *userid, time_t now,
	    int lifetime);

#endif
