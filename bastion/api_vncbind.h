/*
 * api_vncbind.h - binds a console's VNC ticket to the person it was
 * issued to and to the node that issued it (issue 7: "the node that
 * answered a vncproxy or termproxy POST also gets its websocket").
 *
 * A node's vncproxy/termproxy answer carries a short-lived VNC ticket
 * that the node signed for the *held token's* user (shared by everybody
 * of a role) and the console's port.  The bastion appends a binding of
 * its own to that ticket before the client sees it:
 *
 *   <node's ticket>:HVB1:<node>:<t|v>:<HEXTIME>:<HMAC-SHA256 hex>
 *
 * the MAC covering the person's name@realm, the ACL path of the console
 * (/nodes/N or /vms/ID), the port, the node that answered, the kind
 * (t: termproxy, whose first websocket message repeats the ticket; v:
 * a VNC server) and the time.  GET .../vncwebsocket must bring such a
 * ticket, for the same person, path and port, within
 * API_VNCBIND_LIFETIME: the bastion then sends it to the node named in
 * the binding, with the node's own ticket.  Anything else is refused as
 * pveproxy refuses a bad VNC ticket.
 *
 * Why stateless: the POST and its websocket may come on two connections
 * (two children), and the API child is sandboxed (it opens no file once
 * set up); a MAC under a key derived from the state key, as for the
 * tickets (api_ticket.c), needs neither a shared store nor a process to
 * ask.  The first 8 characters stay the node's (a VNC password of qemu
 * is cut at 8).
 */
#ifndef HVB_API_VNCBIND_H
#define HVB_API_VNCBIND_H

#include <stddef.h>
#include <time.h>

#define API_VNCBIND_LIFETIME	60	/* s; pveproxy's VNC ticket: 40 */
#define API_VNCBIND_SKEW	20	/* a binding from the future */
#define API_VNCTICKET_MAX	1024	/* the node's ticket */
#define API_VNCBIND_MAX		(API_VNCTICKET_MAX + 192)
#define API_VNCBIND_NODE_MAX	64

enum api_vncbind_kind { API_VNCBIND_TERM = 't', API_VNCBIND_VNC = 'v' };

/* Derives the binding key from the state key; 0 or -1. */
int	api_vncbind_set_key(const unsigned char *state_key, size_t len);
void	api_vncbind_wipe_key(void);

/* ticket + binding into out; 0 or -EINVAL / -ENAMETOOLONG / -EIO. */
int	api_vncbind_wrap(const char *userid, const char *acl_path, long port,
	    const char *node, int kind, time_t now, const char *ticket,
	    char *out, size_t outlen);
/*
 * Checks a bound ticket for userid, acl_path and port at now: 0 with the
 * node's ticket, the node's name and the kind; -EACCES (not one the
 * bastion issued for them) or -ETIMEDOUT.
 */
int	api_vncbind_unwrap(const char *bound, const char *userid,
	    const char *acl_path, long port, time_t now, char *ticket,
	    size_t ticketlen, char *node, size_t nodelen, int *kind);

/*
 * A node's vncproxy/termproxy answer (JSON, {"data":{"ticket","port",
 * ...}}) with its ticket bound: a new malloc'd NUL-terminated body in
 * *out.  0, or -EINVAL when the answer has no ticket and port.
 */
int	api_vncbind_answer(const char *body, size_t len, const char *userid,
	    const char *acl_path, const char *node, int kind, time_t now,
	    char **out, size_t *outlen);
/*
 * A vncwebsocket query ("port=N&vncticket=BOUND", any order): checked as
 * api_vncbind_unwrap() does; then query_out is "port=N&vncticket=<the
 * node's ticket, encoded>" for the node, and ticket, node and kind are
 * set.  0, -EACCES (missing, malformed, not issued to them) or
 * -ETIMEDOUT; -ENAMETOOLONG when query_out is too small.
 */
int	api_vncbind_query(const char *query, const char *userid,
	    const char *acl_path, time_t now, char *query_out, size_t qlen,
	    char *ticket, size_t ticketlen, char *node, size_t nodelen,
	    int *kind);

#endif
