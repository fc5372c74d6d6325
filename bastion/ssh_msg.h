/*
 * ssh_msg.h - accessors for libssh 0.10 server messages.
 *
 * libssh 0.10 marks the message accessors for public keys and pty requests
 * deprecated in favour of its callback API, but its callback API has no
 * keyboard-interactive hook, which the PAM bridge needs; so the daemon
 * stays on the message API, and this file is the one place that uses the
 * deprecated calls.
 */
#ifndef HVB_SSH_MSG_H
#define HVB_SSH_MSG_H

#include <libssh/libssh.h>
#include <libssh/server.h>

struct ssh_msg_pty {
	char	term[64];
	int	cols, rows, pxwidth, pxheight;
};

/* The offered key (owned by the message) and whether it was signed. */
ssh_key	ssh_msg_auth_key(ssh_message);
/* 1 only when the message carries a signature that libssh verified. */
int	ssh_msg_auth_signature_valid(ssh_message);
int	ssh_msg_auth_is_probe(ssh_message);
void	ssh_msg_pty(ssh_message, struct ssh_msg_pty *);

#endif
