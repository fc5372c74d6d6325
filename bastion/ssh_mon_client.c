/*
 * ssh_mon_client.c - the SSH network child's side of its monitor
 * (ssh_monitor.h): the authentication steps it asks the monitor to count,
 * and the keyboard-interactive rounds it holds with the client for the
 * monitor's PAM conversation.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_monitor.h"
#include "log.h"
#include "seqpacket.h"
#include "ssh_monitor.h"

/* PAM may take its time (pam_faillock's delay, a slow directory); the
 * login grace alarm of the monitor bounds the whole dialogue anyway. */
#define SSH_MON_TIMEOUT_MS	(10 * 60 * 1000)

static int	mon_fd = -1;

void
ssh_mon_client_init(int fd)
{
	mon_fd = fd;
}

static int
send_msg(struct api_mon_msg *q)
{
	return api_mon_send(mon_fd, q, -1);
}

/* The monitor's next message into *rep, and up to one descriptor. */
static int
recv_msg(struct api_mon_msg *rep, int *fd)
{
	unsigned char buf[API_MON_MSG_MAX + 1];
	ssize_t n;
	int fds[1], got = 0, rc;

	if (fd != NULL)
		*fd = -1;
	n = seqpacket_recv(mon_fd, buf, sizeof(buf), SSH_MON_TIMEOUT_MS,
	    fds, fd != NULL ? 1 : 0, &got);
	if (n < 0)
		return -1;
	rc = api_mon_decode(buf, (size_t)n, rep);
	explicit_bzero(buf, sizeof(buf));
	if (got > 0) {
		if (rc == 0 && fd != NULL)
			*fd = fds[0];
		else
			close(fds[0]);
	}
	return rc;
}

/* A request (q, wiped), then its answer of status and why. */
static int
call(struct api_mon_msg *q, uint8_t want, int *fd, char *why, size_t whylen)
{
	int rc = -1;

	snprintf(why, whylen, "the monitor did not answer");
	if (send_msg(q) < 0 || recv_msg(q, fd) < 0)
		goto out;
	if (q->type != want) {
		snprintf(why, whylen, "the monitor answered out of turn");
		goto out;
	}
	snprintf(why, whylen, "%s", q->why);
	rc = q->status == API_MON_OK ? 0 : -1;
out:
	if (rc < 0 && fd != NULL && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	api_mon_wipe(q);
	return rc;
}

int
ssh_mon_key(const char *person, const char *fp, char *why, size_t whylen)
{
	struct api_mon_msg q;

	memset(&q, 0, sizeof(q));
	q.type = API_MON_REQ_SSH_KEY;
	snprintf(q.userid, sizeof(q.userid), "%s", person);
	snprintf(q.credential, sizeof(q.credential), "%s", fp);
	return call(&q, API_MON_REP_SSH_KEY, NULL, why, whylen);
}

int
ssh_mon_done(const char *person, const char *target, const char *login,
    char *why, size_t whylen)
{
	struct api_mon_msg q;
	int fd = -1;

	memset(&q, 0, sizeof(q));
	q.type = API_MON_REQ_SSH_DONE;
	snprintf(q.userid, sizeof(q.userid), "%s", person);
	snprintf(q.node, sizeof(q.node), "%s", target);
	snprintf(q.login, sizeof(q.login), "%s", login);
	if (call(&q, API_MON_REP_SSH_DONE, &fd, why, whylen) < 0)
		return -1;
	if (fd < 0)
		snprintf(why, whylen, "no key holder socket from the monitor");
	return fd;
}

/* Waits for the client's answer to the round just sent. */
static ssh_message
wait_response(ssh_session ssh)
{
	ssh_message m = ssh_message_get(ssh);

	if (m == NULL)
		return NULL;
	if (ssh_message_type(m) == SSH_REQUEST_AUTH &&
	    ssh_message_subtype(m) == SSH_AUTH_METHOD_INTERACTIVE &&
	    ssh_message_auth_kbdint_is_response(m))
		return m;
	/* Anything else abandons this round: PAM gets an error. */
	ssh_message_reply_default(m);
	ssh_message_free(m);
	return NULL;
}

/* One round with the client for the monitor's prompt p. */
static int
round_trip(ssh_session ssh, ssh_message *cur, const struct api_mon_msg *p)
{
	struct api_mon_msg a;
	const char *prompts[1] = { p->prompt };
	char echo[1] = { (char)p->flag };
	const char *ans;
	ssh_message got;

	memset(&a, 0, sizeof(a));
	a.type = API_MON_REQ_SSH_ANSWER;
	a.status = API_MON_FAILED;
	if (ssh_message_auth_interactive_request(*cur, "", p->info, 1,
	    prompts, echo) == SSH_OK && (got = wait_response(ssh)) != NULL) {
		ssh_message_free(*cur);
		*cur = got;
		ans = ssh_userauth_kbdint_getnanswers(ssh) == 1 ?
		    ssh_userauth_kbdint_getanswer(ssh, 0) : NULL;
		if (ans != NULL && strlen(ans) <= API_MON_PASSWORD_MAX) {
			snprintf(a.password, sizeof(a.password), "%s", ans);
			a.status = API_MON_OK;
		}
	}
	/* A failed round still answers, so that PAM ends and says why. */
	return send_msg(&a);
}

int
ssh_mon_pam(ssh_session ssh, const char *person, ssh_message msg,
    ssh_message *last, char *why, size_t whylen)
{
	struct api_mon_msg q;
	int rc = -1;

	*last = msg;
	memset(&q, 0, sizeof(q));
	q.type = API_MON_REQ_SSH_PAM;
	snprintf(q.userid, sizeof(q.userid), "%s", person);
	snprintf(why, whylen, "the monitor did not answer");
	if (send_msg(&q) < 0)
		return -1;
	for (;;) {
		if (recv_msg(&q, NULL) < 0)
			break;
		if (q.type == API_MON_SSH_PROMPT) {
			if (round_trip(ssh, last, &q) < 0)
				break;
			api_mon_wipe(&q);
			continue;
		}
		if (q.type == API_MON_REP_SSH_PAM) {
			snprintf(why, whylen, "%s", q.why);
			rc = q.status == API_MON_OK ? 0 : -1;
		} else
			snprintf(why, whylen, "the monitor answered out of"
			    " turn");
		break;
	}
	api_mon_wipe(&q);
	return rc;
}
