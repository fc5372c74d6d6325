/*
 * ssh_monitor.c - the monitor of one SSH connection (ssh_monitor.h).
 *
 *   process             holds                          parses
 *   monitor (parent)    key holder socket, startup     the child's bounded
 *                       pipe, grace alarm; runs PAM    requests only
 *   network child       host key, its client socket,   every byte of the
 *   (sandboxed)         the key holder socket once     client and of the
 *                       authenticated                  targets
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../recorder/session_id.h"
#include "api_monitor.h"
#include "audit.h"
#include "kbdint_pam.h"
#include "keys.h"
#include "kh_client.h"
#include "log.h"
#include "mon_split.h"
#include "names.h"
#include "sandbox.h"
#include "session.h"
#include "ssh_monitor.h"

struct smon {
	const struct config	*conf;
	int			 fd;		/* to the network child */
	int			 startup_fd;
	const char		*addr;
	int			 port;
	const char		*session_id;
	/* The person the steps so far proved, once one did. */
	char			 person[NAMES_MAX + 1];
	int			 next;		/* the auth-methods step due */
	int			 failures;
	int			 done;
};

static volatile pid_t grace_child = -1;

/* Only async-signal-safe calls: the child goes, then the monitor. */
static void
grace_alarm(int sig)
{
	(void)sig;
	if (grace_child > 0)
		kill(grace_child, SIGKILL);
	_exit(SESSION_EXIT_GRACE);
}

/* One answer of status and why; -1 (close) when it could not be sent. */
static int
answer(struct smon *m, uint8_t type, int status, const char *why, int fd)
{
	struct api_mon_msg rep;

	memset(&rep, 0, sizeof(rep));
	rep.type = type;
	rep.status = (uint8_t)status;
	snprintf(rep.why, sizeof(rep.why), "%s", why ? why : "");
	return api_mon_send(m->fd, &rep, fd);
}

/*
 * A step refused: logged (the child logs and audits what the client
 * sees), counted against max-auth-tries.  Returns -1 (close) past the
 * limit, or for a request no honest child sends (bad).
 */
static int
refuse(struct smon *m, uint8_t type, const char *person, const char *why,
    int bad)
{
	char p[NAMES_MAX * 4 + 1];

	log_info("SSH monitor %s port %d: refused %s for %s: %s%s", m->addr,
	    m->port, type == API_MON_REP_SSH_KEY ? "the publickey step" :
	    type == API_MON_REP_SSH_PAM ? "the keyboard-interactive step" :
	    "the end of authentication", log_escape(p, sizeof(p), person),
	    why, bad ? "; closing" : "");
	m->failures++;
	if (answer(m, type, API_MON_REFUSED, why, -1) < 0 || bad)
		return -1;
	return m->failures > m->conf->max_auth_tries ? -1 : 0;
}

static int
key_is_users(const struct config_user *u, const char *fp)
{
	char have[128];
	size_t i;

	for (i = 0; i < u->npublic_keys; i++) {
		ssh_key k = NULL;

		if (keys_import_line(u->public_keys[i], &k) < 0)
			continue;
		keys_fingerprint(k, have, sizeof(have));
		ssh_key_free(k);
		if (strcmp(have, fp) == 0)
			return 1;
	}
	return 0;
}

static void
step_passed(struct smon *m, const char *person)
{
	snprintf(m->person, sizeof(m->person), "%s", person);
	m->next++;
}

static int
do_key(struct smon *m, const struct api_mon_msg *q)
{
	const struct config_user *u;

	if (m->person[0] != '\0' && strcmp(m->person, q->userid) != 0)
		return refuse(m, API_MON_REP_SSH_KEY, q->userid, "another"
		    " person than the steps before", 1);
	if (m->next >= m->conf->nauth_methods ||
	    m->conf->auth_methods[m->next] != AUTH_PUBLICKEY)
		return refuse(m, API_MON_REP_SSH_KEY, q->userid, "not the"
		    " step due", 1);
	if ((u = config_find_user(m->conf, q->userid)) == NULL)
		return refuse(m, API_MON_REP_SSH_KEY, q->userid,
		    "unknown user", 0);
	if (!key_is_users(u, q->credential))
		return refuse(m, API_MON_REP_SSH_KEY, q->userid, "key not"
		    " registered for this user", 1);
	step_passed(m, u->name);
	return answer(m, API_MON_REP_SSH_KEY, API_MON_OK, NULL, -1);
}

/* kbdint_pam.h's round: one prompt to the child, its answer back. */
static int
relay_ask(void *arg, const char *info, const char *prompt, int echo,
    char **out)
{
	struct smon *m = arg;
	struct api_mon_msg msg;
	int rc = -1;

	memset(&msg, 0, sizeof(msg));
	msg.type = API_MON_SSH_PROMPT;
	msg.flag = echo ? 1 : 0;
	snprintf(msg.prompt, sizeof(msg.prompt), "%s", prompt);
	snprintf(msg.info, sizeof(msg.info), "%s", info);
	if (api_mon_send(m->fd, &msg, -1) < 0)
		return -1;
	if (api_mon_recv(m->fd, &msg) > 0 &&
	    msg.type == API_MON_REQ_SSH_ANSWER && msg.status == API_MON_OK &&
	    (*out = strdup(msg.password)) != NULL)
		rc = 0;
	api_mon_wipe(&msg);
	return rc;
}

static int
do_pam(struct smon *m, const struct api_mon_msg *q)
{
	const struct config_user *u = NULL;
	int unknown = strcmp(q->userid, CONFIG_RESERVED_PERSON) == 0;
	char why[256];

	if (!unknown && m->person[0] != '\0' &&
	    strcmp(m->person, q->userid) != 0)
		return refuse(m, API_MON_REP_SSH_PAM, q->userid, "another"
		    " person than the steps before", 1);
	if (m->next >= m->conf->nauth_methods ||
	    m->conf->auth_methods[m->next] != AUTH_KBDINT)
		return refuse(m, API_MON_REP_SSH_PAM, q->userid, "not the"
		    " step due", 1);
	if (!unknown && (u = config_find_user(m->conf, q->userid)) == NULL)
		return refuse(m, API_MON_REP_SSH_PAM, q->userid,
		    "unknown user", 1);
	/*
	 * A name nobody has gets the same dialogue, PAM run for a reserved
	 * name that always fails (auth.c says why); never for the name the
	 * client sent, which could be a local account.
	 */
	if (kbdint_pam_run(m->conf, unknown ? CONFIG_RESERVED_PERSON :
	    u->name, m->addr, relay_ask, m, why, sizeof(why)) < 0 ||
	    unknown) {
		if (unknown)
			snprintf(why, sizeof(why), "unknown user");
		return refuse(m, API_MON_REP_SSH_PAM, q->userid, why, 0);
	}
	step_passed(m, u->name);
	return answer(m, API_MON_REP_SSH_PAM, API_MON_OK, NULL, -1);
}

/*
 * The login's audit event, the monitor's: it alone knows every step
 * passed.  The target and login are what the login name asked for (the
 * session's own events say what it reached).
 */
static int
audit_login(struct smon *m, const struct api_mon_msg *q)
{
	struct audit_event ev;
	char methods[64];

	config_auth_methods_name(m->conf, methods, sizeof(methods));
	memset(&ev, 0, sizeof(ev));
	ev.kind = AUDIT_AUTH_SUCCESS;
	ev.person = m->person;
	ev.source_addr = m->addr;
	ev.source_port = m->port;
	ev.target = q->node[0] ? q->node : NULL;
	ev.login = q->login[0] ? q->login : NULL;
	ev.action = methods;
	ev.outcome = "success";
	return audit_emit(&ev);
}

static int
do_done(struct smon *m, const struct api_mon_msg *q)
{
	int kh = kh_client_fd();

	if (m->person[0] == '\0' || strcmp(m->person, q->userid) != 0 ||
	    m->next != m->conf->nauth_methods)
		return refuse(m, API_MON_REP_SSH_DONE, q->userid, "the steps"
		    " of auth-methods are not all done", 1);
	/* Fail closed: a login that cannot be audited is refused. */
	if (audit_login(m, q) < 0) {
		log_error("SSH monitor %s port %d: refusing %s: the login"
		    " cannot be audited", m->addr, m->port, m->person);
		answer(m, API_MON_REP_SSH_DONE, API_MON_FAILED, "the login"
		    " cannot be audited", -1);
		return -1;
	}
	if (kh < 0 || kh_client_bind(m->person, m->session_id) < 0) {
		log_error("SSH monitor %s port %d: the key holder did not"
		    " take %s for session %s; closing", m->addr, m->port,
		    m->person, m->session_id);
		answer(m, API_MON_REP_SSH_DONE, API_MON_FAILED, "the key"
		    " holder is unavailable", -1);
		return -1;
	}
	alarm(0);
	if (answer(m, API_MON_REP_SSH_DONE, API_MON_OK, NULL, kh) < 0)
		return -1;
	/* The child's now; the monitor has no more use for it. */
	close(kh);
	kh_client_init(-1);
	if (m->startup_fd >= 0) {
		close(m->startup_fd);
		m->startup_fd = -1;
	}
	m->done = 1;
	log_info("SSH monitor %s port %d: %s authenticated, session %s",
	    m->addr, m->port, m->person, m->session_id);
	return 0;
}

static void
serve(struct smon *m)
{
	struct api_mon_msg q;
	int rc;

	for (;;) {
		if ((rc = api_mon_recv(m->fd, &q)) == 0)
			return;		/* the child is gone */
		if (rc < 0 || m->done) {
			log_error("SSH monitor %s port %d: %s; closing",
			    m->addr, m->port, rc < 0 ? "malformed or unknown"
			    " request" : "a request after authentication");
			api_mon_wipe(&q);
			return;
		}
		switch (q.type) {
		case API_MON_REQ_SSH_KEY:
			rc = do_key(m, &q);
			break;
		case API_MON_REQ_SSH_PAM:
			rc = do_pam(m, &q);
			break;
		case API_MON_REQ_SSH_DONE:
			rc = do_done(m, &q);
			break;
		default:
			log_error("SSH monitor %s port %d: request type %u,"
			    " which the SSH child may not send; closing",
			    m->addr, m->port, q.type);
			rc = -1;
			break;
		}
		api_mon_wipe(&q);
		if (rc < 0)
			return;
	}
}

int
ssh_monitor_split(const struct config *conf, const char *addr, int port,
    int startup_fd, char *session_id, size_t len)
{
	struct smon m;
	int sock, status;
	pid_t pid, monitor = getpid();

	if (len < SESSION_ID_LEN + 1 || session_id_new(session_id, len) < 0) {
		log_error("SSH: no session id");
		return -1;
	}
	signal(SIGALRM, grace_alarm);
	alarm((unsigned)conf->login_grace_time);
	if ((pid = mon_split("SSH", startup_fd, &sock)) < 0)
		return -1;
	if (pid == 0) {
		/* The network child: nothing of the monitor's.  It ends
		 * with its monitor (kill -9 of a session: its recording is
		 * left unfinished, as auditors expect). */
		alarm(0);
		signal(SIGALRM, SIG_DFL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
		    getppid() != monitor)
			_exit(1);
		ssh_mon_client_init(sock);
		return sock;
	}
	/* The monitor: never a byte of the client. */
	grace_child = pid;
	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.fd = sock;
	m.startup_fd = startup_fd;
	m.addr = addr;
	m.port = port;
	m.session_id = session_id;
	serve(&m);
	/* A refused child learns it from the closed socket, says so to its
	 * client and ends (the grace alarm bounds it until then). */
	close(m.fd);
	status = sandbox_wait(pid);
	if (m.startup_fd >= 0)
		close(m.startup_fd);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
