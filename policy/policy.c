/*
 * policy.c - the one decision function.
 *
 * Default deny.  The first grant (over the person's roles in the order of
 * their "role" lines, each role's grants in file order) that selects the
 * target and allows the login, the channel, the forward destination and
 * the time decides allow.  Every answer names the rule that made it, so
 * that the log line and "hvbastion policy explain" say why.
 *
 * A decision allocates nothing and reads the configuration only: the
 * daemon asks for every channel, and the menu once per target.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_privs.h"
#include "policy.h"

static const char *const channel_names[] = { "shell", "exec", "sftp", "scp",
	"port-forward" };
static const char *const side_names[] = { "hypervisor", "guest", "audit",
	"bastion-admin" };

/* Why a grant that selects the target did not allow the request. */
enum miss { MISS_NONE, MISS_LOGIN, MISS_CREDENTIAL, MISS_CHANNEL,
	MISS_FORWARD, MISS_HOURS };

static int __attribute__((format(printf, 2, 3)))
deny(struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->allow = 0;
	d->target = NULL;
	d->credential = NULL;
	d->role = NULL;
	d->grant = NULL;
	d->api_grant = NULL;
	d->api_credential = NULL;
	va_start(ap, fmt);
	vsnprintf(d->rule, sizeof(d->rule), fmt, ap);
	va_end(ap);
	return 0;
}

static void
format_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d",
	    &tm) == 0)
		snprintf(buf, len, "?");
}

/* The client's address as a network of its own; 0, or -1. */
static int
parse_source(const char *s, int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) != 1)
		return -1;
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
		return 0;
	}
	*family = AF_INET6;
	return 0;
}

static int
net_match(const struct config_net *n, int family, const unsigned char *a)
{
	int full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return (n->addr[full] ^ a[full]) &
	    (unsigned char)(0xff << (8 - rest)) ? 0 : 1;
}

/*
 * The checks that depend on the person only: validity dates and source
 * network.  1 if they pass; 0 with d filled in.
 */
static int
person_ok(const struct config_user *u, const char *source, time_t when,
    struct policy_decision *d)
{
	unsigned char addr[16];
	char date[32];
	int family;
	size_t i;

	if (u->valid_from != 0 && when < u->valid_from) {
		format_date(u->valid_from, date, sizeof(date));
		return deny(d, "%s:%d: user \"%s\" is not valid yet"
		    " (valid-from %s)", u->origin.file, u->origin.line,
		    u->name, date);
	}
	if (u->valid_until != 0 && when > u->valid_until) {
		format_date(u->valid_until, date, sizeof(date));
		return deny(d, "%s:%d: user \"%s\" is no longer valid"
		    " (valid-until %s)", u->origin.file, u->origin.line,
		    u->name, date);
	}
	if (u->nnets == 0 || source == NULL)
		return 1;
	if (parse_source(source, &family, addr) == 0)
		for (i = 0; i < u->nnets; i++)
			if (net_match(&u->nets[i], family, addr))
				return 1;
	return deny(d, "%s:%d: source %s is not allowed for user \"%s\""
	    " (from)", u->nets[0].origin.file, u->nets[0].origin.line,
	    source, u->name);
}

static int
windows_open(const struct config_window *w, size_t n, time_t when)
{
	struct tm tm;
	int min;
	size_t i;

	if (n == 0)
		return 1;
	if (localtime_r(&when, &tm) == NULL)
		return 0;
	min = tm.tm_hour * 60 + tm.tm_min;
	for (i = 0; i < n; i++)
		if ((w[i].days & (1u << tm.tm_wday)) &&
		    min >= w[i].start_min && min < w[i].end_min)
			return 1;
	return 0;
}

static int
in_windows(const struct config_grant *g, time_t when)
{
	return windows_open(g->windows, g->nwindows, when);
}

static const struct config_credential *
credential_for(const struct config_target *t, const char *login)
{
	size_t i;

	for (i = 0; i < t->ncredentials; i++)
		if (strcmp(t->credentials[i]->login, login) == 0)
			return t->credentials[i];
	return NULL;
}

/* Whether grant g allows the request on t; MISS_NONE and *cred if so. */
static enum miss
grant_allows(const struct config_grant *g, const struct config_target *t,
    const struct policy_request *req, time_t when,
    const struct config_credential **cred)
{
	const char *login = req->login != NULL && req->login[0] != '\0' ?
	    req->login : NULL;
	size_t i;

	if (g->login != NULL) {
		if (login != NULL && strcmp(login, g->login) != 0)
			return MISS_LOGIN;
		if ((*cred = credential_for(t, g->login)) == NULL)
			return MISS_LOGIN;
	} else if (login != NULL) {
		if ((*cred = credential_for(t, login)) == NULL)
			return MISS_CREDENTIAL;
	} else {
		if (t->ncredentials == 0)
			return MISS_CREDENTIAL;
		*cred = t->credentials[0];
	}
	if ((unsigned)req->channel > POLICY_CHANNEL_FORWARD ||
	    !(g->channels & (1u << req->channel)))
		return MISS_CHANNEL;
	if (req->channel == POLICY_CHANNEL_FORWARD) {
		for (i = 0; i < g->nforwards; i++)
			if (req->forward_host != NULL &&
			    strcmp(g->forwards[i].host, req->forward_host) ==
			    0 && g->forwards[i].port == req->forward_port)
				break;
		if (i == g->nforwards)
			return MISS_FORWARD;
	}
	if (!in_windows(g, when))
		return MISS_HOURS;
	return MISS_NONE;
}

static int
grant_selects(const struct config_grant *g, const struct config_target *t)
{
	size_t i;

	for (i = 0; i < g->nselectors; i++)
		if (config_selector_match(&g->selectors[i], t))
			return 1;
	return 0;
}

/* The decision once the person and the target are known. */
static int
decide_target(const struct config_user *u, const struct config_target *t,
    const struct policy_request *req, time_t when, struct policy_decision *d)
{
	const struct config_grant *missed = NULL;
	enum miss why = MISS_NONE;
	size_t i, j;

	for (i = 0; i < u->nroles; i++) {
		const struct config_role *r = u->roles[i];

		for (j = 0; j < r->ngrants; j++) {
			const struct config_grant *g = r->grants[j];
			const struct config_credential *c = NULL;
			enum miss m;

			if (!grant_selects(g, t))
				continue;
			if ((m = grant_allows(g, t, req, when, &c)) !=
			    MISS_NONE) {
				if (missed == NULL) {
					missed = g;
					why = m;
				}
				continue;
			}
			d->allow = 1;
			d->target = t;
			d->credential = c;
			d->role = r;
			d->grant = g;
			snprintf(d->rule, sizeof(d->rule), "%s:%d: grant of"
			    " role \"%s\" (user %s, %s:%d)", g->origin.file,
			    g->origin.line, r->name, u->name,
			    u->role_origins[i].file, u->role_origins[i].line);
			return 1;
		}
	}
	if (missed == NULL)
		return deny(d, "default deny: no grant of user \"%s\" (%s:%d)"
		    " selects target \"%s\"", u->name, u->origin.file,
		    u->origin.line, t->name);
	switch (why) {
	case MISS_LOGIN:
		return deny(d, "%s:%d: grant of role \"%s\" selects target"
		    " \"%s\" but not login \"%s\" (only \"%s\")",
		    missed->origin.file, missed->origin.line,
		    missed->role->name, t->name, req->login != NULL &&
		    req->login[0] != '\0' ? req->login : "(default)",
		    missed->login);
	case MISS_CREDENTIAL:
		return deny(d, "%s:%d: grant of role \"%s\" selects target"
		    " \"%s\" but the target has no credential for login"
		    " \"%s\"", missed->origin.file, missed->origin.line,
		    missed->role->name, t->name, req->login != NULL &&
		    req->login[0] != '\0' ? req->login : "(default)");
	case MISS_CHANNEL:
		return deny(d, "%s:%d: grant of role \"%s\" selects target"
		    " \"%s\" but not channel %s", missed->origin.file,
		    missed->origin.line, missed->role->name, t->name,
		    policy_channel_name(req->channel));
	case MISS_FORWARD:
		return deny(d, "%s:%d: grant of role \"%s\" selects target"
		    " \"%s\" but not forward destination %s:%d",
		    missed->origin.file, missed->origin.line,
		    missed->role->name, t->name, req->forward_host != NULL ?
		    req->forward_host : "?", req->forward_port);
	case MISS_HOURS:
	default:
		return deny(d, "%s:%d: grant of role \"%s\" selects target"
		    " \"%s\" but not at this time (hours)",
		    missed->origin.file, missed->origin.line,
		    missed->role->name, t->name);
	}
}

int
policy_decide(const struct config *conf, const struct policy_request *req,
    struct policy_decision *d)
{
	const struct config_user *u;
	const struct config_target *t;
	time_t when = req->when != 0 ? req->when : time(NULL);

	memset(d, 0, sizeof(*d));
	if (req->person == NULL ||
	    (u = config_find_user(conf, req->person)) == NULL)
		return deny(d, "default deny: no user \"%s\"",
		    req->person != NULL ? req->person : "");
	if (!person_ok(u, req->source, when, d))
		return 0;
	if (req->target == NULL ||
	    (t = config_find_target(conf, req->target)) == NULL)
		return deny(d, "default deny: no target \"%s\"",
		    req->target != NULL ? req->target : "");
	return decide_target(u, t, req, when, d);
}

/* --- the API side ------------------------------------------------------- */

/* Longest ACL path or pool name the API side looks at. */
#define API_PATH_LEN_MAX	255
#define API_POOL_LEN_MAX	64

/*
 * Why an API grant that covers the path did not allow the call, from the
 * farthest to the nearest miss: the deny names the nearest (a grant that
 * holds the privilege but not at this hour says more than one that does
 * not hold it).
 */
enum api_miss { API_MISS_NONE, API_MISS_PRIVILEGE, API_MISS_CREDENTIAL,
	API_MISS_HOURS };

/* Pattern "/x" covers "/x" only; "/x/" + "*" everything below "/x". */
static int
api_path_covers(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '/')
		return strncmp(path, pattern, n - 1) == 0 &&
		    path[n - 1] != '\0';
	return strcmp(pattern, path) == 0;
}

/* Pool names as Proxmox writes them (pve-poolid). */
static int
api_pool_ok(const char *pool)
{
	size_t i;

	for (i = 0; pool[i] != '\0'; i++)
		if (i >= API_POOL_LEN_MAX || (!(pool[i] >= 'a' &&
		    pool[i] <= 'z') && !(pool[i] >= 'A' && pool[i] <= 'Z') &&
		    !(pool[i] >= '0' && pool[i] <= '9') && pool[i] != '-' &&
		    pool[i] != '_'))
			return 0;
	return i > 0;
}

/*
 * Whether grant g covers the ACL path: one of its paths does, or, for a
 * guest ("/vms/N") in pool P, one of its paths covers "/pool/P" (Proxmox
 * propagates a pool's ACL to its members).
 */
static int
api_grant_covers(const struct config_api_grant *g, const char *path,
    const char *pool_path)
{
	size_t i;

	for (i = 0; i < g->npaths; i++)
		if (api_path_covers(g->paths[i], path) ||
		    (pool_path != NULL &&
		    api_path_covers(g->paths[i], pool_path)))
			return 1;
	return 0;
}

static int
api_grant_has(const struct config_api_grant *g, const char *priv)
{
	size_t i;

	for (i = 0; i < g->nprivileges; i++)
		if (strcmp(g->privileges[i], priv) == 0)
			return 1;
	return 0;
}

struct api_all_of {
	const struct config_api_grant	*g;
	int				 missing;
};

static void
api_need(void *arg, const char *priv)
{
	struct api_all_of *a = arg;

	if (!api_grant_has(a->g, priv))
		a->missing = 1;
}

/*
 * NULL: any privilege (a list item); "VM.Config.*": every privilege of
 * that family (a configuration change, see api_acl.h); else that one.
 */
static int
api_grant_allows_priv(const struct config_api_grant *g, const char *priv)
{
	struct api_all_of a = { g, 0 };

	if (priv == NULL)
		return g->nprivileges > 0;
	if (strchr(priv, '*') != NULL)
		return api_priv_each_prefixed(priv, api_need, &a) > 0 &&
		    !a.missing;
	return api_grant_has(g, priv);
}

/* Allowed by g, a grant of the person's i-th role: the rule says which. */
static int
allow_api(struct policy_decision *d, const struct config_user *u, size_t i,
    const struct config_api_grant *g)
{
	const struct config_role *r = u->roles[i];

	d->allow = 1;
	d->role = r;
	d->api_grant = g;
	d->api_credential = r->api_credential;
	snprintf(d->rule, sizeof(d->rule), "%s:%d: api-grant of role \"%s\""
	    " (user %s, %s:%d)", g->origin.file, g->origin.line, r->name,
	    u->name, u->role_origins[i].file, u->role_origins[i].line);
	return 1;
}

/*
 * A call on no ACL path (version, lists, login renewal): any API grant of
 * the person in force now lets them in, with that grant's role's token;
 * what they then see of a list is api_filter.c's business.
 */
static int
decide_api_pathless(const struct config_user *u, time_t when,
    struct policy_decision *d)
{
	size_t i, j;
	int some = 0;

	for (i = 0; i < u->nroles; i++) {
		const struct config_role *r = u->roles[i];

		for (j = 0; j < r->napi_grants; j++) {
			const struct config_api_grant *g = r->api_grants[j];

			some = 1;
			if (r->api_credential == NULL ||
			    !windows_open(g->windows, g->nwindows, when))
				continue;
			return allow_api(d, u, i, g);
		}
	}
	if (some)
		return deny(d, "no api-grant of user \"%s\" (%s:%d) is in"
		    " force at this time (hours)", u->name, u->origin.file,
		    u->origin.line);
	return deny(d, "default deny: user \"%s\" (%s:%d) has no api-grant",
	    u->name, u->origin.file, u->origin.line);
}

int
policy_decide_api(const struct config *conf,
    const struct policy_api_request *req, struct policy_decision *d)
{
	const struct config_user *u;
	time_t when = req->when != 0 ? req->when : time(NULL);

	memset(d, 0, sizeof(*d));
	if (req->person == NULL ||
	    (u = config_find_user(conf, req->person)) == NULL)
		return deny(d, "default deny: no user \"%s\"",
		    req->person != NULL ? req->person : "");
	if (!person_ok(u, req->source, when, d))
		return 0;
	return policy_decide_api_user(u, req, when, d);
}

int
policy_decide_api_user(const struct config_user *u,
    const struct policy_api_request *req, time_t when,
    struct policy_decision *d)
{
	const struct config_api_grant *missed = NULL;
	const char *path = req->acl_path, *priv = req->privilege;
	char pool_path[API_POOL_LEN_MAX + 8];
	const char *pp = NULL;
	enum api_miss why = API_MISS_NONE;
	size_t i, j;

	memset(d, 0, sizeof(*d));
	if (path == NULL || path[0] == '\0')
		return decide_api_pathless(u, when, d);
	if (path[0] != '/' || strnlen(path, API_PATH_LEN_MAX + 1) >
	    API_PATH_LEN_MAX)
		return deny(d, "default deny: malformed ACL path");
	if (req->pool != NULL && strncmp(path, "/vms/", 5) == 0 &&
	    strchr(path + 5, '/') == NULL && api_pool_ok(req->pool)) {
		snprintf(pool_path, sizeof(pool_path), "/pool/%s", req->pool);
		pp = pool_path;
	}
	for (i = 0; i < u->nroles; i++) {
		const struct config_role *r = u->roles[i];

		for (j = 0; j < r->napi_grants; j++) {
			const struct config_api_grant *g = r->api_grants[j];
			enum api_miss m = API_MISS_NONE;

			if (!api_grant_covers(g, path, pp))
				continue;
			if (!api_grant_allows_priv(g, priv))
				m = API_MISS_PRIVILEGE;
			else if (!windows_open(g->windows, g->nwindows, when))
				m = API_MISS_HOURS;
			else if (r->api_credential == NULL)
				m = API_MISS_CREDENTIAL;
			if (m != API_MISS_NONE) {
				if (missed == NULL || m > why) {
					missed = g;
					why = m;
				}
				continue;
			}
			return allow_api(d, u, i, g);
		}
	}
	if (missed == NULL)
		return deny(d, "default deny: no api-grant of user \"%s\""
		    " (%s:%d) covers %s%s%s", u->name, u->origin.file,
		    u->origin.line, path, pp != NULL ? " or " : "",
		    pp != NULL ? pp : "");
	switch (why) {
	case API_MISS_PRIVILEGE:
		return deny(d, "%s:%d: api-grant of role \"%s\" covers %s but"
		    " not privilege %s", missed->origin.file,
		    missed->origin.line, missed->role->name, path,
		    priv != NULL ? priv : "(any)");
	case API_MISS_CREDENTIAL:
		return deny(d, "%s:%d: api-grant of role \"%s\" covers %s but"
		    " the role has no api-credential", missed->origin.file,
		    missed->origin.line, missed->role->name, path);
	case API_MISS_HOURS:
	default:
		return deny(d, "%s:%d: api-grant of role \"%s\" covers %s but"
		    " not at this time (hours)", missed->origin.file,
		    missed->origin.line, missed->role->name, path);
	}
}

void
policy_each_target(const struct config *conf, const char *person,
    const char *source, void (*fn)(void *, const struct config_target *),
    void *arg)
{
	struct policy_request req;
	struct policy_decision d;
	const struct config_user *u;
	time_t when = time(NULL);
	size_t i;

	if ((u = config_find_user(conf, person)) == NULL ||
	    !person_ok(u, source, when, &d))
		return;
	memset(&req, 0, sizeof(req));
	req.person = person;
	req.channel = POLICY_CHANNEL_SHELL;
	req.source = source;
	req.when = when;
	for (i = 0; i < conf->ntargets; i++) {
		req.target = conf->targets[i]->name;
		if (decide_target(u, conf->targets[i], &req, when, &d))
			fn(arg, conf->targets[i]);
	}
}

const char *
policy_channel_name(enum policy_channel kind)
{
	if ((unsigned)kind > POLICY_CHANNEL_FORWARD)
		return "?";
	return channel_names[kind];
}

int
policy_channel_from_name(const char *name)
{
	int i;

	for (i = 0; i <= POLICY_CHANNEL_FORWARD; i++)
		if (strcmp(name, channel_names[i]) == 0)
			return i;
	return -1;
}

const char *
policy_side_name(enum role_side side)
{
	if ((unsigned)side > ROLE_SIDE_BASTION_ADMIN)
		return "?";
	return side_names[side];
}
