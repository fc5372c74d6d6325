/*
 * ssh_msg.c - accessors for libssh 0.10 server messages (see ssh_msg.h).
 */
#include <stdio.h>

#include "ssh_msg.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

ssh_key
ssh_msg_auth_key(ssh_message msg)
{
	return ssh_message_auth_pubkey(msg);
}

int
ssh_msg_auth_signature_valid(ssh_message msg)
{
	return ssh_message_auth_publickey_state(msg) ==
	    SSH_PUBLICKEY_STATE_VALID;
}

int
ssh_msg_auth_is_probe(ssh_message msg)
{
	return ssh_message_auth_publickey_state(msg) ==
	    SSH_PUBLICKEY_STATE_NONE;
}

void
ssh_msg_pty(ssh_message msg, struct ssh_msg_pty *pty)
{
	const char *term = ssh_message_channel_request_pty_term(msg);

	snprintf(pty->term, sizeof(pty->term), "%s", term ? term : "");
	pty->cols = ssh_message_channel_request_pty_width(msg);
	pty->rows = ssh_message_channel_request_pty_height(msg);
	pty->pxwidth = ssh_message_channel_request_pty_pxwidth(msg);
	pty->pxheight = ssh_message_channel_request_pty_pxheight(msg);
}
