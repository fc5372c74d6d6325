/*
 * api_server.c - the Proxmox API front (issue 7), one child per HTTPS
 * connection.
 *
 * Process model: the master (listener.c) accepts on the api-listen socket
 * and forks, exactly as for SSH (same max-connections and max-startups
 * accounting: the startup pipe is closed once a request authenticates);
 * it loaded the TLS context and the ticket key before forking and reads
 * no network data.  That process splits (api_monitor.h) into a monitor,
 * which keeps the ticket key, PAM, the token store and the key holder's
 * socket and reads no client byte, and this network child, which enters
 * the sandbox (sandbox.h) before the TLS handshake.  The child then reads
 * HTTP/1.1 requests one by one (api_http.c, pveproxy's limits) and for
 * each:
 *
 *   normalise the target (api_path.c) -> api_acl_map() -> one round trip
 *   to the monitor: the ticket (cookie or header) and its CSRF token on
 *   every method but GET, or a personal API token, checked there, and
 *   the held token of the person's role for that ACL path from the key
 *   holder -> policy_decide_api() here too, for the 403 and the audit
 *   (the guest's pool learnt from cluster/resources when a pool grant
 *   could decide) -> audit_emit() -> rebuild the request from scratch for
 *   the node (api_upstream.c: a TCP connection from the monitor, TLS and
 *   the pinned certificate here; the token wiped after the call) -> the
 *   answer re-framed for the client, list answers filtered
 *   (api_filter_list()).
 *
 * Nothing the client sent is copied to the node but the method, the
 * normalised path, the validated query and the body (of the two body
 * types pveproxy accepts); no client header is forwarded (X-Forwarded-*,
 * Host, Cookie, Authorization...).  Every call, allowed or not, is one
 * audit event; a denied call is never forwarded.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../policy/api_acl.h"
#include "../policy/api_filter.h"
#include "../policy/api_filter_stream.h"
#include "../policy/policy.h"
#include "../recorder/seal.h"
#include "api_console.h"
#include "api_form.h"
#include "api_http.h"
#include "api_monitor.h"
#include "api_path.h"
#include "api_server.h"
#include "api_ticket.h"
#include "api_tls.h"
#include "api_tls_key.h"
#include "api_upstream.h"
#include "api_verdict.h"
#include "api_vncbind.h"
#include "audit.h"
#include "log.h"
#include "names.h"
#include "sandbox.h"
#include "testhooks.h"

#define JSON_CT		"application/json;charset=UTF-8"
#define IDLE_TIMEOUT	30	/* seconds between keep-alive requests */
#define READ_CHUNK	16384
#define POOL_CACHE	256
#define POOL_TTL	10	/* seconds a learnt guest pool is trusted */

/*
 * Two contexts of the same certificate: the network children's, whose key
 * is keyless (its operation asks the monitor: api_tls_key.h), and the
 * monitors', with the real key; a network child frees the latter at once
 * (OpenSSL clears the key).  Both are made by the master, so that no
 * connection pays for making them.
 */
static SSL_CTX *server_ctx, *signing_ctx;

/* Both contexts, loaded whole, or neither (err says why). */
static int
tls_load(const struct config *conf, SSL_CTX **serve, SSL_CTX **sign,
    char *err, size_t errlen)
{
	*serve = NULL;
	if ((*sign = api_tls_server_ctx(conf, err, errlen)) == NULL)
		return -1;
	/* One operation with the key here, before the forks: OpenSSL's
	 * fetches are then done once, not in every monitor. */
	if (api_tls_key_warm(*sign) < 0) {
		snprintf(err, errlen, "api-private-key %s: cannot sign with"
		    " it", conf->api_private_key);
		goto fail;
	}
	if ((*serve = api_tls_server_ctx(conf, err, errlen)) == NULL)
		goto fail;
	if (api_tls_key_keyless(*serve, api_mon_tls_sign) < 0) {
		snprintf(err, errlen, "api-private-key %s: cannot be left to"
		    " the monitor", conf->api_private_key);
		goto fail;
	}
	return 0;
fail:
	SSL_CTX_free(*serve);
	SSL_CTX_free(*sign);
	*serve = *sign = NULL;
	return -1;
}

struct pool_entry {
	long	vmid;
	char	pool[64];
};

struct conn {
	const struct config	*conf;
	SSL			*ssl;
	const char		*addr;
	int			 port;
	/* The request being answered. */
	struct api_http_request	*req;
	/* Bytes read past it (pipelined, or a console's early frames). */
	const char		*rest;
	size_t			 nrest;
	char			 path[API_PATH_MAX];
	char			 query[API_QUERY_MAX];
	char			 action[API_PATH_MAX + 16];
	int			 keep_alive;
	/* The person, once authenticated. */
	char			 person[NAMES_MAX + 1];
	char			 userid[API_USERID_MAX];
	int			 by_token;
	/* The monitor's answer for this call: CSRF, the held token. */
	int			 csrf_ok;
	int			 token_status;	/* enum api_mon_status */
	char			 held[API_MON_HEADER_MAX + 1];
	/* Guests' pools learnt from cluster/resources. */
	struct pool_entry	 pools[POOL_CACHE];
	size_t			 npools;
	time_t			 pools_at;
	/* The console websocket being opened (api_vncbind.h). */
	char			 vnc_bound[API_VNCBIND_MAX];
	char			 vnc_ticket[API_VNCTICKET_MAX + 1];
	int			 vnc_kind;
};

int
api_server_prepare(const struct config *conf)
{
	unsigned char key[SEAL_KEY_LEN];
	char err[512];

	if (conf->api_listen_address == NULL)
		return 0;
	if (tls_load(conf, &server_ctx, &signing_ctx, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (seal_key_load(conf->state_dir, 1, key, err, sizeof(err)) < 0 ||
	    api_ticket_set_key(key, sizeof(key)) < 0 ||
	    api_vncbind_set_key(key, sizeof(key)) < 0) {
		explicit_bzero(key, sizeof(key));
		log_error("API ticket key: %s", err);
		return -1;
	}
	explicit_bzero(key, sizeof(key));
	return 0;
}

/*
 * SIGHUP: the certificate and key are read again (a renewed certificate
 * needs no restart).  The new context replaces the old one only once it
 * has loaded whole (chain, key, key matching the certificate, key file
 * mode); otherwise the old pair keeps serving and the error is logged.
 * Running connections live in children that forked with their own copy
 * of the context: they are not touched either way.
 */
int
api_server_reload_tls(const struct config *conf)
{
	SSL_CTX *fresh, *fresh_signing;
	char err[512];

	if (server_ctx == NULL || conf->api_listen_address == NULL)
		return 0;
	if (tls_load(conf, &fresh, &fresh_signing, err, sizeof(err)) < 0) {
		log_error("SIGHUP: the API certificate was not reloaded (%s);"
		    " the old certificate and key stay in use", err);
		return -1;
	}
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(signing_ctx);
	server_ctx = fresh;
	signing_ctx = fresh_signing;
	log_info("SIGHUP: API certificate %s and key reloaded",
	    conf->api_certificate);
	return 0;
}

/* --- responses --------------------------------------------------------- */

/* Only printable ASCII goes into a status line. */
static void
clean_reason(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static int
send_response(struct conn *c, int status, const char *reason,
    const char *ctype, const char *body, size_t len)
{
	char head[16384], date[64], rs[160];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	/* pveproxy closes after any error. */
	if (status >= 400)
		c->keep_alive = 0;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(rs, sizeof(rs), "%s", reason);
	clean_reason(rs);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Cache-Control: max-age=0\r\n"
	    "Connection: %s\r\n"
	    "Date: %s\r\n"
	    "Pragma: no-cache\r\n"
	    "Server: pve-api-daemon/3.0\r\n"
	    "Content-Length: %zu\r\n"
	    "%s%s%s"
	    "Expires: %s\r\n"
	    "\r\n", status, rs, c->keep_alive ? "Keep-Alive" : "close", date,
	    len, ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", date);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	/* One write for a small answer: one TLS record, one segment. */
	if (len > 0 && len <= sizeof(head) - (size_t)n) {
		int rc;

		memcpy(head + n, body, len);
		rc = api_tls_write_all(c->ssl, head, (size_t)n + len);
		/* It may have held a ticket. */
		explicit_bzero(head + n, len);
		return rc;
	}
	if (api_tls_write_all(c->ssl, head, (size_t)n) < 0 ||
	    (len > 0 && api_tls_write_all(c->ssl, body, len) < 0))
		return -1;
	return 0;
}

/*
 * Errors have pveproxy's three shapes (tests/pvesim/BEHAVIOUR.md):
 * an API handler's error is {"data":null,"message":...} in JSON, a
 * framing error has its message as body and no type, and an
 * authentication failure has no body and comes after a delay.
 */
static int
send_error(struct conn *c, int status, const char *msg)
{
	char m[512];
	json_t *root;
	char *text;
	int rc;

	snprintf(m, sizeof(m), "%s\n", msg);
	root = json_pack("{s:n,s:s}", "data", "message", m);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (text == NULL)
		return send_response(c, status, msg, NULL, "", 0);
	rc = send_response(c, status, msg, JSON_CT, text, strlen(text));
	free(text);
	return rc;
}

static int
send_plain_error(struct conn *c, int status, const char *msg)
{
	return send_response(c, status, msg, NULL, msg, strlen(msg));
}

static void
failure_delay(const struct conn *c)
{
	int ms = c->conf->api_failure_delay_ms;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A failed authentication: delayed, as pveproxy does (3 s there). */
static int
send_unauthorized(struct conn *c, const char *reason)
{
	failure_delay(c);
	return send_response(c, 401, reason, NULL, "", 0);
}

static int
send_json(struct conn *c, json_t *data)
{
	json_t *root = json_pack("{s:o}", "data", data);
	char *text;
	int rc;

	if (root == NULL)
		return send_error(c, 500, "internal error");
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL)
		return send_error(c, 500, "internal error");
	rc = send_response(c, 200, "OK", JSON_CT, text, strlen(text));
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* --- audit --------------------------------------------------------------- */

static void
audit_call(struct conn *c, enum audit_kind kind, const char *role,
    const char *node, const char *outcome, const char *rule,
    const char *detail)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.person = c->person[0] ? c->person : NULL;
	ev.role = role;
	ev.source_addr = c->addr;
	ev.source_port = c->port;
	ev.target = node;
	ev.action = c->action;
	ev.outcome = outcome;
	ev.rule = rule;
	ev.detail = detail;
	if (audit_emit(&ev) < 0)
		c->keep_alive = 0;
}

/* --- authentication ------------------------------------------------------ */

/* Fits the monitor's field for it (api_mon_proto.h): bound, charset. */
static int
mon_str_ok(const char *s, size_t max, int space)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] > 0x7e ||
		    (unsigned char)s[i] < (space ? 0x20 : 0x21))
			return 0;
	return 1;
}

/*
 * Sets c->person / c->userid from the request's ticket or API token, as
 * the monitor checks them, and with acl (NULL: no token wanted) c->held,
 * the token for the call, and c->csrf_ok.  Returns 0, or sends the 401
 * and returns 1 (or -1 on a write error).
 */
static int
authenticate(struct conn *c, const struct api_acl *acl)
{
	const struct api_http_request *q = c->req;
	const char *cookie = api_http_header(q, "Cookie", NULL);
	const char *auth, *csrf = NULL, *why;
	char ticket[API_TICKET_MAX + 64], realm[40];
	struct api_mon_msg rep;
	int nauth, rc, kind, flags = 0;

	c->person[0] = c->userid[0] = '\0';
	c->by_token = c->csrf_ok = 0;
	c->token_status = API_MON_NONE;
	auth = api_http_header(q, "Authorization", &nauth);
	if (nauth > 1)
		return send_unauthorized(c, "Authentication failed!")
		    < 0 ? -1 : 1;
	rc = -ENOENT;
	if (cookie != NULL)
		rc = api_form_cookie(cookie, "PVEAuthCookie", ticket,
		    sizeof(ticket));
	if (rc == -ENOENT && auth != NULL &&
	    strncmp(auth, "PVEAuthCookie=", 14) == 0)
		rc = api_form_decode(auth + 14, strlen(auth + 14), 0, ticket,
		    sizeof(ticket));
	if (rc == 0) {
		kind = API_MON_CRED_TICKET;
		why = "invalid ticket";
		if (strcmp(q->method, "GET") != 0) {
			flags |= API_MON_NEED_CSRF;
			csrf = api_http_header(q, "CSRFPreventionToken", NULL);
			/* Out of shape: checked (and refused) all the same. */
			if (csrf == NULL || !mon_str_ok(csrf, API_MON_CSRF_MAX,
			    0))
				csrf = "-";
		}
	} else if (rc != -ENOENT) {
		audit_call(c, AUDIT_AUTH_FAILURE, NULL, NULL, "failure", NULL,
		    "malformed ticket");
		return send_unauthorized(c, "Authentication failed!") < 0 ?
		    -1 : 1;
	} else if (auth != NULL && (strncmp(auth, "PVEAPIToken=", 12) == 0 ||
	    strncmp(auth, "PVEAPIToken ", 12) == 0)) {
		kind = API_MON_CRED_TOKEN;
		why = "malformed API token";
		snprintf(ticket, sizeof(ticket), "%s", auth + 12);
		if (strlen(auth + 12) >= sizeof(ticket))
			ticket[0] = '\0';
	} else if (auth != NULL) {
		/* Not a credential the bastion issued: never passed on. */
		audit_call(c, AUDIT_AUTH_FAILURE, NULL, NULL, "failure", NULL,
		    "foreign Authorization header");
		return send_unauthorized(c, "Authentication failed!") <
		    0 ? -1 : 1;
	} else
		return send_unauthorized(c, "No ticket") < 0 ? -1 : 1;
	if (acl != NULL)
		flags |= API_MON_WANT_TOKEN;
	rc = -1;
	memset(&rep, 0, sizeof(rep));
	if (ticket[0] != '\0' && mon_str_ok(ticket, API_MON_CRED_MAX, 1))
		rc = api_mon_auth(kind, ticket, csrf, flags, acl ? acl->path :
		    NULL, acl ? acl->privilege : NULL, NULL, &rep);
	explicit_bzero(ticket, sizeof(ticket));
	if (rc == 0 && rep.status == API_MON_OK &&
	    api_userid_split(rep.userid, c->person, sizeof(c->person), realm,
	    sizeof(realm)) == 0 && config_api_realm_ok(c->conf, realm) &&
	    config_find_user(c->conf, c->person) != NULL) {
		/* api_userid_split() took it: shorter than API_USERID_MAX. */
		memcpy(c->userid, rep.userid, strlen(rep.userid) + 1);
		c->by_token = kind == API_MON_CRED_TOKEN;
		c->csrf_ok = rep.flag;
		c->token_status = rep.token_status;
		if (rep.token_status == API_MON_OK)
			snprintf(c->held, sizeof(c->held), "%s", rep.header);
		api_mon_wipe(&rep);
		return 0;
	}
	if (rc == 0 && rep.why[0] != '\0')
		why = rep.why;
	else if (rc < 0)
		why = "no answer from the API monitor";
	c->person[0] = '\0';
	audit_call(c, AUDIT_AUTH_FAILURE, NULL, NULL, "failure", NULL, why);
	api_mon_wipe(&rep);
	return send_unauthorized(c, "Authentication failed!") < 0 ? -1 : 1;
}

/* --- login --------------------------------------------------------------- */

static json_t *
caps(void)
{
	return json_pack("{s:{},s:{},s:{},s:{},s:{},s:{}}", "vms", "storage",
	    "access", "nodes", "dc", "sdn");
}

static int
login_ok(struct conn *c, const struct api_mon_msg *rep)
{
	json_t *data;

	if (rep->flag)
		data = json_pack("{s:s,s:s,s:s,s:i}", "username", rep->userid,
		    "ticket", rep->ticket, "CSRFPreventionToken", rep->csrf,
		    "NeedTFA", 1);
	else
		data = json_pack("{s:s,s:s,s:s,s:o}", "username", rep->userid,
		    "ticket", rep->ticket, "CSRFPreventionToken", rep->csrf,
		    "cap", caps());
	return data != NULL ? send_json(c, data) :
	    send_error(c, 500, "internal error");
}

static int
login_failed(struct conn *c, const char *person, const char *why)
{
	snprintf(c->person, sizeof(c->person), "%s", person);
	audit_call(c, AUDIT_AUTH_FAILURE, NULL, NULL, "failure", NULL, why);
	c->person[0] = '\0';
	failure_delay(c);
	return send_error(c, 401, "authentication failure");
}

static int
is_json_body(const struct api_http_request *q)
{
	const char *ct = api_http_header(q, "Content-Type", NULL);

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/*
 * The form is parsed here; PAM, the TOTP and the tickets are the
 * monitor's (api_monitor.h), which answers in one round trip.
 */
static int
handle_login(struct conn *c)
{
	const struct api_http_request *q = c->req;
	char user[API_USERID_MAX], realm[40], name[NAMES_MAX + 1];
	char userid[API_USERID_MAX + 48], secret[1024], challenge[512];
	struct api_mon_msg rep;
	int json = is_json_body(q), rc, tfa;

	if (api_form_get(q->body, q->body_len, json, "username", user,
	    sizeof(user)) < 0 || api_form_get(q->body, q->body_len, json,
	    "password", secret, sizeof(secret)) < 0) {
		explicit_bzero(secret, sizeof(secret));
		return login_failed(c, "", "no username or password");
	}
	if (strchr(user, '@') == NULL) {
		if (api_form_get(q->body, q->body_len, json, "realm", realm,
		    sizeof(realm)) < 0)
			snprintf(realm, sizeof(realm), "pam");
		snprintf(userid, sizeof(userid), "%s@%s", user, realm);
	} else
		snprintf(userid, sizeof(userid), "%s", user);
	if (api_userid_split(userid, name, sizeof(name), realm,
	    sizeof(realm)) < 0) {
		explicit_bzero(secret, sizeof(secret));
		return login_failed(c, "", "invalid user name");
	}
	/* pveproxy: "auth domain 'x' does not exist", answered as any
	 * other failure (401 authentication failure, delayed). */
	if (!config_api_realm_ok(c->conf, realm)) {
		explicit_bzero(secret, sizeof(secret));
		return login_failed(c, name, "realm not accepted"
		    " (api-realms)");
	}
	tfa = api_form_get(q->body, q->body_len, json, "tfa-challenge",
	    challenge, sizeof(challenge)) == 0;
	/* A challenge out of shape (or empty) is refused by the monitor
	 * like any forged one. */
	if (tfa && (challenge[0] == '\0' ||
	    !mon_str_ok(challenge, API_MON_CHALLENGE_MAX, 0)))
		snprintf(challenge, sizeof(challenge), "-");
	rc = api_mon_login(userid, secret, tfa ? challenge : "", &rep);
	explicit_bzero(secret, sizeof(secret));
	if (rc < 0 || rep.status != API_MON_OK) {
		rc = login_failed(c, name, rc < 0 ? "no answer from the API"
		    " monitor" : rep.why[0] ? rep.why : "refused");
		api_mon_wipe(&rep);
		return rc;
	}
	snprintf(c->person, sizeof(c->person), "%s", name);
	if (rep.flag) {
		audit_call(c, AUDIT_AUTH_SUCCESS, NULL, NULL, "partial",
		    NULL, "password accepted; TOTP needed");
		c->person[0] = '\0';
	} else
		audit_call(c, AUDIT_AUTH_SUCCESS, NULL, NULL, "success", NULL,
		    tfa ? "password and TOTP" : "ticket renewed");
	rc = login_ok(c, &rep);
	api_mon_wipe(&rep);
	return rc;
}

/* --- the held token ------------------------------------------------------ */

/* The token of the call in progress, wiped once copied or refused. */
static void
held_done(struct conn *c)
{
	explicit_bzero(c->held, sizeof(c->held));
	c->token_status = API_MON_NONE;
}

/*
 * The token for a call that the first answer did not cover (a pool
 * grant, the pools' own listing): asked again for this connection's
 * person.  0 (auth filled, to wipe) or -1.
 */
static int
held_token(const char *acl_path, const char *privilege, const char *pool,
    char *auth, size_t len)
{
	struct api_mon_msg rep;
	int rc = -1;

	if (pool != NULL && !names_valid(pool))
		return -1;
	if (api_mon_auth(API_MON_CRED_SAME, "", NULL, API_MON_WANT_TOKEN,
	    acl_path, privilege, pool, &rep) == 0 &&
	    rep.status == API_MON_OK && rep.token_status == API_MON_OK &&
	    strlen(rep.header) < len) {
		snprintf(auth, len, "%s", rep.header);
		rc = 0;
	}
	api_mon_wipe(&rep);
	return rc;
}

/* The first of the person's roles that holds an API credential. */
static const struct config_role *
credential_role(const struct config *conf, const char *person)
{
	const struct config_user *u = config_find_user(conf, person);
	size_t i;

	if (u == NULL)
		return NULL;
	for (i = 0; i < u->nroles; i++)
		if (u->roles[i]->api_credential != NULL)
			return u->roles[i];
	return NULL;
}

static const struct config_api_node *
pick_node(const struct config *conf, const char *name)
{
	const struct config_api_node *n = NULL;

	if (name != NULL && name[0] != '\0')
		n = config_find_api_node(conf, name);
	/* Any node answers for the cluster (pveproxy proxies). */
	if (n == NULL && conf->napi_nodes > 0)
		n = conf->api_nodes[0];
	return n;
}

/* --- guest pools --------------------------------------------------------- */

static void
learn_pools(struct conn *c, const struct config_role *role)
{
	struct api_upstream_request rq;
	struct api_upstream_response r;
	const struct config_api_node *node = pick_node(c->conf, NULL);
	char auth[API_MON_HEADER_MAX + 1], err[256];
	json_t *root, *data, *it;
	size_t i;
	time_t now = time(NULL);

	if (c->pools_at != 0 && now - c->pools_at < POOL_TTL)
		return;
	c->npools = 0;
	c->pools_at = 0;
	if (node == NULL || role == NULL || held_token("", NULL, NULL, auth,
	    sizeof(auth)) < 0)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = "/api2/json/cluster/resources";
	rq.query = "type=vm";
	rq.authorization = auth;
	if (api_upstream_call(c->conf, node, &rq, &r, err, sizeof(err)) < 0) {
		explicit_bzero(auth, sizeof(auth));
		log_info("API: cannot learn guest pools: %s", err);
		return;
	}
	explicit_bzero(auth, sizeof(auth));
	root = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) :
	    NULL;
	data = json_object_get(root, "data");
	json_array_foreach(data, i, it) {
		json_t *vmid = json_object_get(it, "vmid");
		json_t *pool = json_object_get(it, "pool");

		if (c->npools >= POOL_CACHE)
			break;
		if (!json_is_integer(vmid) || !json_is_string(pool))
			continue;
		c->pools[c->npools].vmid = (long)json_integer_value(vmid);
		snprintf(c->pools[c->npools].pool,
		    sizeof(c->pools[c->npools].pool), "%s",
		    json_string_value(pool));
		c->npools++;
	}
	json_decref(root);
	api_upstream_response_clear(&r);
	c->pools_at = now;
}

/* 1 if one of the person's API grants names a pool (only then do the
 * guests' pools matter, and are they learnt). */
static int
pool_grants(const struct config *conf, const char *person)
{
	const struct config_user *u = config_find_user(conf, person);
	size_t i, j, k;

	for (i = 0; u != NULL && i < u->nroles; i++)
		for (j = 0; j < u->roles[i]->napi_grants; j++)
			for (k = 0; k < u->roles[i]->api_grants[j]->npaths;
			    k++)
				if (strncmp(u->roles[i]->api_grants[j]->
				    paths[k], "/pool", 5) == 0)
					return 1;
	return 0;
}

static const char *
guest_pool(struct conn *c, long vmid, const struct config_role *role)
{
	size_t i;

	learn_pools(c, role);
	for (i = 0; i < c->npools; i++)
		if (c->pools[i].vmid == vmid)
			return c->pools[i].pool;
	return NULL;
}

/* --- one API call -------------------------------------------------------- */

static const char *
body_type(const struct api_http_request *q)
{
	const char *ct = api_http_header(q, "Content-Type", NULL);

	if (q->body_len == 0)
		return NULL;
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) == 0)
		return "application/x-www-form-urlencoded";
	return "application/json";
}

/*
 * Node lists of guests (qemu, lxc) do not say an item's pool; a grant on
 * /pool/NAME must still see its guests there: the pools learnt from
 * cluster/resources are added for the filter, then taken out again.
 */
static void
add_pools(struct conn *c, json_t *data, long *added, size_t *nadded)
{
	const struct config_role *role = credential_role(c->conf, c->person);
	json_t *it;
	size_t i;

	*nadded = 0;
	if (!pool_grants(c->conf, c->person))
		return;
	json_array_foreach(data, i, it) {
		json_t *vmid = json_object_get(it, "vmid");
		const char *pool;
		long v;

		if (*nadded >= POOL_CACHE || !json_is_object(it) ||
		    json_object_get(it, "pool") != NULL)
			continue;
		if (json_is_integer(vmid))
			v = (long)json_integer_value(vmid);
		else if (json_is_string(vmid))
			v = strtol(json_string_value(vmid), NULL, 10);
		else
			continue;
		if ((pool = guest_pool(c, v, role)) == NULL)
			continue;
		json_object_set_new(it, "pool", json_string(pool));
		added[(*nadded)++] = v;
	}
}

static void
remove_pools(json_t *data, const long *added, size_t nadded)
{
	json_t *it;
	size_t i, j;

	json_array_foreach(data, i, it) {
		json_t *vmid = json_object_get(it, "vmid");
		long v = json_is_integer(vmid) ? (long)json_integer_value(vmid) :
		    json_is_string(vmid) ? strtol(json_string_value(vmid), NULL,
		    10) : -1;

		for (j = 0; j < nadded; j++)
			if (added[j] == v)
				json_object_del(it, "pool");
	}
}

/* Items and their members: the filter only ever removes either. */
static size_t
count_members(const json_t *data)
{
	const json_t *it;
	size_t i, n = 0;

	json_array_foreach(data, i, it)
		n += 1 + json_object_size(it);
	return n;
}

/* The answer of the node, re-framed (and filtered) for the client. */
static int
relay(struct conn *c, const struct api_acl *acl,
    struct api_upstream_response *r)
{
	char *text = NULL;
	const char *ct = r->content_type[0] ? r->content_type : NULL;
	int rc, kept;

	/* A type other than JSON is passed as opaque bytes. */
	if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0)
		ct = "application/octet-stream";
	/*
	 * A list read over the node's bytes (no tree, no dump) when the
	 * bastion adds no pool members for the person; anything the stream
	 * filter doubts goes to the tree below, which decides as before.
	 */
	if ((acl->flags & API_ACL_LIST_FILTER) && r->status == 200 &&
	    !pool_grants(c->conf, c->person)) {
		size_t outlen;

		if ((rc = api_filter_stream(c->conf, c->person, c->addr,
		    time(NULL), acl, r->body, r->body_len, &text,
		    &outlen)) == 0) {
			if (text == NULL)	/* nothing cut */
				return send_response(c, r->status,
				    r->reason[0] ? r->reason : "OK", JSON_CT,
				    r->body, r->body_len);
			rc = send_response(c, r->status, r->reason, JSON_CT,
			    text, outlen);
			free(text);
			return rc;
		}
		/* Rare (a node's odd answer): said, for the operator. */
		log_info("API: list answer not filtered as a stream (%s);"
		    " filtered as a tree", strerror(-rc));
		text = NULL;
	}
	if ((acl->flags & API_ACL_LIST_FILTER) && r->status == 200) {
		json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
		json_t *data = json_object_get(root, "data");
		long added[POOL_CACHE];
		size_t nadded = 0;

		size_t before = json_array_size(data);
		size_t members = count_members(data);

		if (data != NULL && json_is_array(data))
			add_pools(c, data, added, &nadded);
		kept = data != NULL && json_is_array(data) ?
		    api_filter_list(c->conf, c->person, c->addr, time(NULL),
		    acl, data) : -1;
		if (kept >= 0)
			remove_pools(data, added, nadded);
		/* Nothing cut and nothing added: the node's own bytes. */
		if (kept >= 0 && (size_t)kept == before && nadded == 0 &&
		    json_array_size(data) == before &&
		    count_members(data) == members) {
			json_decref(root);
			return send_response(c, r->status, r->reason[0] ?
			    r->reason : "OK", JSON_CT, r->body, r->body_len);
		}
		if (kept >= 0)
			text = json_dumps(root, JSON_COMPACT);
		json_decref(root);
		if (text == NULL)	/* fail closed: no unfiltered list */
			return send_error(c, 502, "list answer not"
			    " understood");
		rc = send_response(c, r->status, r->reason, JSON_CT, text,
		    strlen(text));
		free(text);
		return rc;
	}
	return send_response(c, r->status, r->reason[0] ? r->reason : "OK",
	    ct, r->body ? r->body : "", r->body_len);
	/* (the status line's reason is cleaned by send_response) */
}

/*
 * A console's websocket (GET .../vncwebsocket) must bring a VNC ticket the
 * bastion bound to this person, path and port (api_vncbind.h); it goes to
 * the node that issued it, with the node's own ticket.  0 (*node set,
 * c->query rewritten), or the refusal was sent: 1 (-1 on a write error).
 */
static int
vnc_websocket(struct conn *c, const struct api_acl *acl, const char *role,
    const char *rule, const struct config_api_node **node)
{
	char q[API_QUERY_MAX], name[API_VNCBIND_NODE_MAX];
	int rc;

	c->vnc_kind = 0;
	if (api_form_get(c->query, strlen(c->query), 0, "vncticket",
	    c->vnc_bound, sizeof(c->vnc_bound)) < 0)
		c->vnc_bound[0] = '\0';
	rc = api_vncbind_query(c->query, c->userid, acl->path, time(NULL), q,
	    sizeof(q), c->vnc_ticket, sizeof(c->vnc_ticket), name,
	    sizeof(name), &c->vnc_kind);
	if (rc == 0 && (*node = config_find_api_node(c->conf, name)) ==
	    NULL) {
		explicit_bzero(c->vnc_ticket, sizeof(c->vnc_ticket));
		audit_call(c, AUDIT_API_CALL, role, name, "error", rule,
		    "the node that issued the console is not configured");
		return send_error(c, 502, "no answer from the node") < 0 ?
		    -1 : 1;
	}
	if (rc < 0) {
		/* pveproxy's answer to a bad VNC ticket (a handler's 401). */
		audit_call(c, AUDIT_POLICY_DENIAL, role, acl->node, "denied",
		    rule, rc == -ETIMEDOUT ? "expired console ticket" :
		    "console ticket not issued to this person here");
		audit_call(c, AUDIT_API_CALL, role, acl->node, "denied", rule,
		    "invalid console ticket");
		failure_delay(c);
		return send_error(c, 401, "permission denied - invalid PVEVNC"
		    " ticket") < 0 ? -1 : 1;
	}
	snprintf(c->query, sizeof(c->query), "%s", q);
	return 0;
}

/*
 * A node's vncproxy/termproxy answer: its VNC ticket bound to the person
 * and to that node before the client sees it.  0, or -1 (not understood:
 * the caller answers 502, fail closed).
 */
static int
vnc_bind_answer(struct conn *c, const struct api_acl *acl,
    const struct config_api_node *node, struct api_upstream_response *r)
{
	size_t n = strlen(c->path);
	int kind = n >= 10 && strcmp(c->path + n - 10, "/termproxy") == 0 ?
	    API_VNCBIND_TERM : API_VNCBIND_VNC;
	char *body;
	size_t len;

	if (api_vncbind_answer(r->body, r->body_len, c->userid, acl->path,
	    node->name, kind, time(NULL), &body, &len) < 0)
		return -1;
	explicit_bzero(r->body, r->body_len);
	free(r->body);
	r->body = body;
	r->body_len = len;
	return 0;
}

#ifdef HVB_TEST_HOOKS
static void	test_hook(struct conn *);
#endif
static int	console(struct conn *, const struct api_acl *,
		    const struct config_role *, const char *,
		    const struct config_api_node *, const char *, char *);

static int
handle_call(struct conn *c)
{
	const struct api_http_request *q = c->req;
	struct policy_api_request pr;
	struct policy_decision d;
	struct api_acl acl;
	struct api_upstream_request rq;
	struct api_upstream_response r;
	const struct config_role *role;
	const struct config_api_node *node;
	char auth[API_MON_HEADER_MAX + 1], err[256];
	char enc[API_PATH_MAX * 3 + 16];
	char reason[API_PATH_MAX + 128], detail[64];
	int rc, allow, mapped;

	/* One round trip: the credential, its CSRF token and the held
	 * token for this ACL path (api_monitor.h). */
	mapped = api_acl_map(q->method, c->path, &acl);
	if ((rc = authenticate(c, mapped == 0 ? &acl : NULL)) != 0)
		return rc < 0 ? -1 : 0;
	/* From here c->held may hold a token: held_done() on every path. */
	if (strcmp(q->method, "GET") != 0 && !c->by_token && !c->csrf_ok) {
		held_done(c);
		audit_call(c, AUDIT_POLICY_DENIAL, NULL, NULL,
		    "denied", NULL, "invalid CSRF token");
		return send_unauthorized(c, "Permission denied -"
		    " invalid csrf token");
	}
#ifdef HVB_TEST_HOOKS
	if (api_http_header(q, "X-Hvb-Test-Hook", NULL) != NULL)
		test_hook(c);
#endif
	memset(&d, 0, sizeof(d));
	if ((rc = mapped) < 0) {
		held_done(c);
		audit_call(c, AUDIT_POLICY_DENIAL, NULL, NULL, "denied", NULL,
		    rc == -ENOENT ? "path not known to the bastion" :
		    "malformed path");
		audit_call(c, AUDIT_API_CALL, NULL, NULL, "denied", NULL,
		    "unknown path");
		snprintf(reason, sizeof(reason), "Permission check failed"
		    " (%s %s not known to the bastion)", q->method, c->path);
		return send_error(c, 403, reason);
	}
	/* Pathless calls (version, lists) are decided there too: any
	 * person with an API role, within their validity and sources. */
	memset(&pr, 0, sizeof(pr));
	pr.person = c->person;
	pr.acl_path = acl.path;
	pr.privilege = acl.privilege;
	pr.source = c->addr;
	pr.when = time(NULL);
	allow = policy_decide_api(c->conf, &pr, &d);
	/* A grant on /pool/NAME may reach the guest. */
	if (!allow && acl.vmid >= 0 && pool_grants(c->conf, c->person)) {
		pr.pool = guest_pool(c, acl.vmid,
		    credential_role(c->conf, c->person));
		if (pr.pool != NULL) {
			memset(&d, 0, sizeof(d));
			allow = policy_decide_api(c->conf, &pr, &d);
		}
	}
	role = d.role;
	if (!allow || d.api_credential == NULL) {
		held_done(c);
		audit_call(c, AUDIT_POLICY_DENIAL, role ? role->name : NULL,
		    acl.node, "denied", d.rule, acl.path);
		audit_call(c, AUDIT_API_CALL, role ? role->name : NULL,
		    acl.node, "denied", d.rule, NULL);
		snprintf(reason, sizeof(reason), "Permission check failed"
		    " (%s, %s)", acl.path, acl.privilege ? acl.privilege :
		    "any");
		return send_error(c, 403, reason);
	}
	node = pick_node(c->conf, acl.node);
	if ((acl.flags & API_ACL_WEBSOCKET) && node != NULL &&
	    (rc = vnc_websocket(c, &acl, role->name, d.rule, &node)) != 0) {
		held_done(c);
		return rc < 0 ? -1 : 0;
	}
	/* Allowed through the guest's pool: the key holder is asked with
	 * it (the first answer, without it, was a refusal). */
	if (pr.pool != NULL && c->token_status != API_MON_OK) {
		held_done(c);
		if (held_token(acl.path, acl.privilege, pr.pool, c->held,
		    sizeof(c->held)) == 0)
			c->token_status = API_MON_OK;
	}
	auth[0] = '\0';
	if (c->token_status == API_MON_OK && strlen(c->held) < sizeof(auth))
		snprintf(auth, sizeof(auth), "%s", c->held);
	held_done(c);
	if (node == NULL || auth[0] == '\0') {
		audit_call(c, AUDIT_API_CALL, role->name, acl.node, "error",
		    d.rule, "no node or unreadable API credential");
		return send_error(c, 500, "API credential not available");
	}
	if (api_path_encode(c->path, enc + 10, sizeof(enc) - 10) < 0) {
		explicit_bzero(auth, sizeof(auth));
		return send_error(c, 400, "bad request");
	}
	memcpy(enc, "/api2/json", 10);
	if ((acl.flags & API_ACL_WEBSOCKET) && q->upgrade)
		return console(c, &acl, role, d.rule, node, enc, auth);
	memset(&rq, 0, sizeof(rq));
	rq.method = q->method;
	rq.path = enc;
	rq.query = c->query;
	rq.content_type = body_type(q);
	rq.body = q->body;
	rq.body_len = q->body_len;
	rq.authorization = auth;
	rc = api_upstream_call(c->conf, node, &rq, &r, err, sizeof(err));
	explicit_bzero(auth, sizeof(auth));
	explicit_bzero(c->vnc_ticket, sizeof(c->vnc_ticket));
	if (rc < 0) {
		audit_call(c, AUDIT_API_CALL, role->name, node->name,
		    rc == -EPERM ? "pin-mismatch" : "error", d.rule, err);
		log_error("API: %s", err);
		return send_error(c, 502, rc == -EPERM ?
		    "node certificate does not match its pin" :
		    "no answer from the node");
	}
	if ((acl.flags & API_ACL_CONSOLE) && r.status == 200 &&
	    vnc_bind_answer(c, &acl, node, &r) < 0) {
		api_upstream_response_clear(&r);
		audit_call(c, AUDIT_API_CALL, role->name, node->name, "error",
		    d.rule, "console answer without a ticket and port");
		return send_error(c, 502, "console answer not understood");
	}
	snprintf(detail, sizeof(detail), "status %d", r.status);
	audit_call(c, AUDIT_API_CALL, role->name, node->name,
	    r.status < 400 ? "success" : "failure", d.rule, detail);
	rc = relay(c, &acl, &r);
	api_upstream_response_clear(&r);
	return rc;
}

/*
 * A websocket console: passed through to the node, a node shell recorded.
 * The connection ends with it.
 */
static int
console(struct conn *c, const struct api_acl *acl,
    const struct config_role *role, const char *rule,
    const struct config_api_node *node, const char *enc, char *auth)
{
	const struct api_http_request *q = c->req;
	const char *upg = api_http_header(q, "Upgrade", NULL);
	const char *proto = api_http_header(q, "Sec-WebSocket-Protocol", NULL);
	const char *ver = api_http_header(q, "Sec-WebSocket-Version", NULL);
	struct api_console k;
	char target[API_PATH_MAX * 3 + API_QUERY_MAX + 16], err[256];
	int rc;

	c->keep_alive = 0;
	if (upg == NULL || strcasecmp(upg, "websocket") != 0 || ver == NULL ||
	    strcmp(ver, "13") != 0) {
		explicit_bzero(auth, strlen(auth));
		explicit_bzero(c->vnc_ticket, sizeof(c->vnc_ticket));
		return send_plain_error(c, 400, "bad websocket handshake");
	}
	snprintf(target, sizeof(target), "%s%s%s", enc, c->query[0] ? "?" :
	    "", c->query);
	memset(&k, 0, sizeof(k));
	k.conf = c->conf;
	k.client = c->ssl;
	k.client_fd = SSL_get_fd(c->ssl);
	k.person = c->person;
	k.userid = c->userid;
	k.role = role->name;
	k.addr = c->addr;
	k.port = c->port;
	k.rule = rule;
	k.node = node;
	k.target = target;
	k.authorization = auth;
	k.ws_key = api_http_header(q, "Sec-WebSocket-Key", NULL);
	k.ws_binary = proto != NULL && strstr(proto, "binary") != NULL;
	/* A node's shell is a terminal: recorded like an SSH session. */
	k.record = acl->vmid < 0 && strncmp(acl->path, "/nodes/", 7) == 0;
	if (c->vnc_kind == API_VNCBIND_TERM) {
		k.vnc_bound = c->vnc_bound;
		k.vnc_ticket = c->vnc_ticket;
	}
	/* Frames the client sent before our 101 are its first ones. */
	k.client_early = c->rest;
	k.client_nearly = c->nrest;
	audit_call(c, AUDIT_API_CALL, role->name, node->name, "console",
	    rule, k.record ? "node shell, recorded" : "guest console");
	rc = api_console_run(&k, err, sizeof(err));
	explicit_bzero(auth, strlen(auth));
	explicit_bzero(c->vnc_ticket, sizeof(c->vnc_ticket));
	explicit_bzero(c->vnc_bound, sizeof(c->vnc_bound));
	if (rc == 0) {
		struct audit_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = AUDIT_SESSION_END;
		ev.person = c->person;
		ev.role = role->name;
		ev.source_addr = c->addr;
		ev.source_port = c->port;
		ev.target = node->name;
		ev.action = c->action;
		ev.outcome = err;
		ev.session_id = k.session_id[0] ? k.session_id : NULL;
		audit_emit(&ev);
		return -1;
	}
	audit_call(c, AUDIT_API_CALL, role->name, node->name,
	    rc == -EPERM ? "pin-mismatch" : "error", rule, err);
	if (rc == -EINVAL)
		return send_plain_error(c, 400, "bad websocket handshake");
	return send_error(c, 502, rc == -EPERM ?
	    "node certificate does not match its pin" : err);
}

static int
content_type_ok(const struct api_http_request *q, char *reason, size_t len)
{
	const char *ct = api_http_header(q, "Content-Type", NULL);
	size_t n;

	if (q->body_len == 0 || ct == NULL)
		return 1;
	n = strcspn(ct, "; ");
	if ((n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) == 0) || (n == 16 && strncasecmp(ct, "application/json",
	    16) == 0))
		return 1;
	snprintf(reason, len, "upload 'Content-Type '%.80s' not implemented",
	    ct);
	return 0;
}

/* Answers one parsed request; 0, or -1 to close the connection. */
static int
handle(struct conn *c)
{
	const struct api_http_request *q = c->req;
	char reason[200];
	int nhost, rc;

	c->keep_alive = q->keep_alive;
	c->person[0] = '\0';
	snprintf(c->action, sizeof(c->action), "%s -", q->method);
	api_http_header(q, "Host", &nhost);
	if (nhost > 1)
		return send_plain_error(c, 400, "bad request");
	rc = api_path_normalise(q->target, c->path, sizeof(c->path), c->query,
	    sizeof(c->query));
	if (rc == -ENOENT)
		return send_plain_error(c, 501, "no such uri");
	if (rc < 0)
		return send_plain_error(c, 400, "bad request");
	snprintf(c->action, sizeof(c->action), "%s %s", q->method, c->path);
	if (!content_type_ok(q, reason, sizeof(reason)))
		return send_plain_error(c, 506, reason);
	if (strcmp(c->path, "/access/ticket") == 0) {
		if (strcmp(q->method, "POST") == 0)
			return handle_login(c);
		if (strcmp(q->method, "GET") == 0)
			return send_json(c, json_null());
	}
	return handle_call(c);
}

/* --- the connection ------------------------------------------------------ */

/*
 * Set up (TLS context, node TLS context, monitor socket): from here the
 * child reads the client, so it may only do what sandbox.h allows: no
 * file opened for reading, no exec, no socket or connect (the monitor
 * hands over node connections), new files only as console recordings.
 */
static int
enter_sandbox(const struct config *conf)
{
	struct sandbox_spec sp;

	api_upstream_set_connector(api_mon_connect);
	if (api_upstream_prepare() < 0) {
		log_error("API: the TLS client context cannot be made");
		return -1;
	}
	/* jansson seeds its hash function from /dev/urandom once. */
	json_object_seed(0);
	if (audit_prepare_sandbox() < 0) {
		log_error("API: the audit trail cannot be kept open");
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.write_dir = conf->recordings_dir;
	sp.allow_syslog = log_is_syslog();
	sp.allow_remove = conf->compress_recordings;
	/* Pooled node connections, a console's recording and chain. */
	sp.max_fds = 64 + 16;
	return sandbox_enter(&sp);
}

#ifdef HVB_TEST_HOOKS
/* The test build's misbehaviour on demand (testhooks.h). */
static void
test_hook(struct conn *c)
{
	const char *h = api_http_header(c->req, "X-Hvb-Test-Hook", NULL);
	const char *cookie = api_http_header(c->req, "Cookie", NULL);
	char ticket[API_TICKET_MAX + 64];

	ticket[0] = '\0';
	if (cookie == NULL || api_form_cookie(cookie, "PVEAuthCookie", ticket,
	    sizeof(ticket)) < 0)
		ticket[0] = '\0';
	held_done(c);
	testhooks_api(c->conf, c->person, c->userid, h, ticket);
}
#endif

static void
set_timeout(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

SSL_CTX *
api_server_tls_ctx(void)
{
	return server_ctx;
}

SSL_CTX *
api_server_signing_ctx(void)
{
	return signing_ctx;
}

void
api_server_forget_signing(void)
{
	SSL_CTX_free(signing_ctx);
	signing_ctx = NULL;
}

void
api_server_serve(const struct config *conf, int fd, const char *addr,
    int port, int startup_fd)
{
	static struct api_http_request req;
	struct api_http_reader rd;
	struct conn *c;
	char *buf;
	size_t have = 0, used;
	long n;
	int rc, one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (buf = malloc(READ_CHUNK)) == NULL)
		_exit(1);
	c->conf = conf;
	c->addr = addr;
	c->port = port;
	c->req = &req;
	/* The monitor takes the startup pipe, the key holder's socket, the
	 * ticket key and the TLS key (api_tls_key.h); this process keeps the
	 * client and is sandboxed before reading a byte of it. */
	if (api_monitor_split(conf, fd, addr, port, startup_fd) < 0 ||
	    enter_sandbox(conf) < 0) {
		log_error("API: %s port %d: cannot separate or sandbox the"
		    " connection; closing it", addr, port);
		_exit(1);
	}
	set_timeout(fd, conf->login_grace_time);
	/* Answers are written whole: no need to wait for ACKs (Nagle). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (server_ctx == NULL || (c->ssl = SSL_new(server_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1 || SSL_accept(c->ssl) != 1) {
		log_info("API: TLS handshake with %s port %d failed", addr,
		    port);
		_exit(0);
	}
	set_timeout(fd, IDLE_TIMEOUT);
	for (;;) {
		api_http_begin(&rd, &req);
		rc = API_HTTP_MORE;
		/* Bytes left from the last read (pipelining) first. */
		while (rc == API_HTTP_MORE) {
			if (have == 0) {
				n = api_tls_read(c->ssl, buf, READ_CHUNK);
				if (n <= 0)
					goto out;
				have = (size_t)n;
			}
			rc = api_http_feed(&rd, buf, have, &used);
			if (used > have)
				used = have;
			memmove(buf, buf + used, have - used);
			have -= used;
			if (rc == API_HTTP_MORE && used == 0 && have > 0) {
				rc = API_HTTP_ERROR;
				req.status = 400;
			}
		}
		if (rc == API_HTTP_ERROR) {
			c->keep_alive = 0;
			/* pveproxy drops a connection whose header is too
			 * long or has too many lines, without an answer. */
			if (req.status == 431)
				log_info("API: %s port %d: %s; connection"
				    " dropped", addr, port, req.reason);
			else
				send_plain_error(c, req.status, req.reason);
			break;
		}
		c->rest = buf;
		c->nrest = have;
		if (handle(c) < 0 || !c->keep_alive)
			break;
	}
out:
	api_http_request_clear(&req);
	api_upstream_close_all();
	api_verdict_wipe();
	SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	close(fd);
	api_vncbind_wipe_key();
	_exit(0);
}

