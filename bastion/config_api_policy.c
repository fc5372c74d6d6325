/*
 * config_api_policy.c - the Proxmox API part of the policy (issue 7):
 * api-credential blocks (a Proxmox API token the bastion holds), a role's
 * api-credential line, and api-grant blocks (privileges on Proxmox ACL
 * paths), with the checks that keep the hypervisor and guest sides apart
 * on the API as on SSH.
 *
 *   api-credential "pve-hv" {
 *           token "root@pam!hvb-hv"
 *           secret-file "/etc/hvbastion/pve-hv.token"
 *   }
 *   role "hv-admins" {
 *           side hypervisor
 *           api-credential "pve-hv"
 *   }
 *   api-grant "hv-admins" {
 *           paths "/nodes/..." "/storage/..." "/vms/..."   (a "*" last)
 *           privileges "Sys.Audit" "VM.PowerMgmt"
 *           roles "PVEAuditor"
 *           hours "mon-fri 08:00-19:00"
 *   }
 *
 * Every error is reported as file:line: message, and parsing goes on.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy/api_privs.h"
#include "config_parse.h"
#include "names.h"

#define API_TOKEN_MAX	128
#define API_PATH_MAX	200
#define SECRET_READ_MAX	128

/* Where each side's API paths may lie (besides the explicit ones). */
static const char *const guest_roots[] = { "/vms", "/pool" };
static const char *const hv_roots[] = { "/nodes", "/storage", "/cluster",
	"/sdn", "/vms", "/pool" };

/* --- small checks ------------------------------------------------------ */

static int
token_char(int c, int first)
{
	if (isalpha(c))
		return 1;
	return !first && (isdigit(c) || c == '.' || c == '-' || c == '_');
}

/* "user@realm!tokenid" as pve-access-control's pve_verify_tokenid. */
static int
valid_token_id(const char *s)
{
	const char *at, *bang, *p;

	if (strlen(s) > API_TOKEN_MAX || (at = strchr(s, '@')) == NULL ||
	    (bang = strchr(at, '!')) == NULL || at == s)
		return 0;
	for (p = s; p < at; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	if (bang - at < 3 || bang[1] == '\0')
		return 0;
	for (p = at + 1; p < bang; p++)
		if (!token_char((unsigned char)*p, p == at + 1))
			return 0;
	for (p = bang + 1; *p != '\0'; p++)
		if (!token_char((unsigned char)*p, p == bang + 1))
			return 0;
	return 1;
}

/*
 * An ACL path pattern: "/", "/vms", "/vms/101", "/nodes/" "*".  Segments of
 * letters, digits, '.', '_' and '-' (no "." or ".."), and '*' only as the
 * whole last segment.
 */
static int
valid_api_path(const char *s)
{
	const char *p = s, *q;
	size_t len = strlen(s);

	if (len == 0 || len > API_PATH_MAX || s[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	while (*p == '/') {
		p++;
		for (q = p; *q != '\0' && *q != '/'; q++)
			if (!isalnum((unsigned char)*q) &&
			    strchr("._-*", *q) == NULL)
				return 0;
		if (q == p || (q - p == 1 && p[0] == '.') ||
		    (q - p == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (memchr(p, '*', (size_t)(q - p)) != NULL &&
		    (q - p != 1 || *q != '\0'))
			return 0;
		p = q;
	}
	return 1;
}

/* 1 if path is root or lies below it ("/vms" covers "/vms/101"). */
static int
under(const char *path, const char *root)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

static int
under_any(const char *path, const char *const *roots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (under(path, roots[i]))
			return 1;
	return 0;
}

/* A UUID, as Proxmox prints token secrets. */
static int
valid_uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return 0;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/*
 * The secret file: a regular file nobody else may read (as the SSH key
 * files), holding one UUID.  The secret is read to check its shape and
 * wiped at once: the API proxy reads it when it needs it.
 */
static void
check_secret_file(struct parser *p, const struct config_api_credential *c)
{
	char buf[SECRET_READ_MAX];
	struct stat sb;
	ssize_t n = -1;
	size_t len;
	int fd;

	fd = open(c->secret_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		config_perr_at(p, &c->origin, "api-credential \"%s\":"
		    " secret-file %s: %s", c->name, c->secret_file,
		    strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		config_perr_at(p, &c->origin, "api-credential \"%s\":"
		    " secret-file %s is not a regular file", c->name,
		    c->secret_file);
	else if ((sb.st_mode & 077) != 0)
		config_perr_at(p, &c->origin, "api-credential \"%s\":"
		    " secret-file %s is accessible by others (mode %04o); it"
		    " must be 0600", c->name, c->secret_file,
		    (unsigned)(sb.st_mode & 07777));
	else if (!config_secret_owner_ok(sb.st_uid))
		config_perr_at(p, &c->origin, "api-credential \"%s\":"
		    " secret-file %s is owned by another user", c->name,
		    c->secret_file);
	else {
		do
			n = read(fd, buf, sizeof(buf) - 1);
		while (n < 0 && errno == EINTR);
		len = n > 0 ? (size_t)n : 0;
		buf[len] = '\0';
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (!valid_uuid(buf, len))
			config_perr_at(p, &c->origin, "api-credential \"%s\":"
			    " secret-file %s does not hold a token secret"
			    " (one UUID)", c->name, c->secret_file);
		explicit_bzero(buf, sizeof(buf));
	}
	if (fd >= 0)
		close(fd);
}

/* --- blocks ------------------------------------------------------------- */

static void
api_credential_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_api_credential *c = obj;
	const char *kw = st->words[0];

	if (strcmp(kw, "token") == 0) {
		if (config_take_string(p, st, &c->token_id) == 0 &&
		    !valid_token_id(c->token_id))
			config_perr(p, st->line, "token \"%s\": expected a"
			    " Proxmox API token id \"USER@REALM!TOKENID\"",
			    c->token_id);
	} else if (strcmp(kw, "secret-file") == 0) {
		config_take_string(p, st, &c->secret_file);
	} else
		config_perr(p, st->line, "unknown keyword \"%s\" in"
		    " api-credential", kw);
}

/* Appends priv to the grant's set unless it is there already. */
static int
add_privilege(struct config_api_grant *g, const char *priv)
{
	size_t i;

	for (i = 0; i < g->nprivileges; i++)
		if (strcmp(g->privileges[i], priv) == 0)
			return 0;
	if (config_grow((void **)&g->privileges, g->nprivileges,
	    sizeof(char *)) < 0 ||
	    (g->privileges[g->nprivileges] = strdup(priv)) == NULL)
		return -1;
	g->nprivileges++;
	return 0;
}

struct role_add {
	struct config_api_grant	*g;
	int			 failed;
};

static void
role_priv(void *arg, const char *priv)
{
	struct role_add *ra = arg;

	if (add_privilege(ra->g, priv) < 0)
		ra->failed = 1;
}

static void
api_grant_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_api_grant *g = obj;
	struct parse_api_grant *pg = &p->papi_grants[p->conf->napi_grants - 1];
	const char *kw = st->words[0];
	size_t i;

	if (strcmp(kw, "paths") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "paths: expected one or more"
			    " ACL paths such as \"/vms/101\" or \"/nodes/*\"");
		if (pg->paths_line == 0)
			pg->paths_line = st->line;
		for (i = 1; i < st->nwords; i++) {
			if (!valid_api_path(st->words[i])) {
				config_perr(p, st->line, "paths: \"%s\" is not"
				    " an ACL path (\"/\", \"/vms/101\","
				    " \"/nodes/*\": '*' only as the last"
				    " segment)", st->words[i]);
				continue;
			}
			if (config_grow((void **)&g->paths, g->npaths,
			    sizeof(char *)) < 0 ||
			    (g->paths[g->npaths] = strdup(st->words[i])) ==
			    NULL) {
				config_perr(p, st->line, "too many paths or"
				    " out of memory");
				return;
			}
			g->npaths++;
		}
	} else if (strcmp(kw, "privileges") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "privileges: expected one or"
			    " more Proxmox privileges such as"
			    " \"VM.PowerMgmt\"");
		if (pg->privs_line == 0)
			pg->privs_line = st->line;
		for (i = 1; i < st->nwords; i++) {
			if (!api_priv_valid(st->words[i])) {
				config_perr(p, st->line, "privileges: unknown"
				    " Proxmox privilege \"%s\"",
				    st->words[i]);
				continue;
			}
			if (add_privilege(g, st->words[i]) < 0) {
				config_perr(p, st->line, "out of memory");
				return;
			}
		}
	} else if (strcmp(kw, "roles") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "roles: expected one or more"
			    " Proxmox roles such as \"PVEVMUser\"");
		if (pg->privs_line == 0)
			pg->privs_line = st->line;
		for (i = 1; i < st->nwords; i++) {
			struct role_add ra = { g, 0 };

			if (api_role_each_privilege(st->words[i], role_priv,
			    &ra) < 0)
				config_perr(p, st->line, "roles: unknown"
				    " Proxmox role \"%s\" (built-in roles:"
				    " Administrator, PVEAdmin, PVEAuditor,"
				    " PVEVMAdmin, PVEVMUser, ...)",
				    st->words[i]);
			else if (ra.failed) {
				config_perr(p, st->line, "out of memory");
				return;
			}
		}
	} else if (strcmp(kw, "hours") == 0) {
		config_parse_hours(p, st, &g->windows, &g->nwindows);
	} else
		config_perr(p, st->line, "unknown keyword \"%s\" in"
		    " api-grant", kw);
}

int
config_api_policy_block(struct parser *p, struct conf_lex *lx,
    struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];
	const char *name = st->nwords > 1 ? st->words[1] : "";

	if (strcmp(kw, "api-credential") == 0) {
		struct config_api_credential *c;

		c = config_new_block(p, st, (void ***)&conf->api_credentials,
		    &conf->napi_credentials, sizeof(*c),
		    config_find_api_credential(conf, name) != NULL);
		if (c == NULL) {
			config_parse_block(p, lx, st->line, NULL, NULL);
			return 1;
		}
		c->origin.file = p->file;
		c->origin.line = st->line;
		c->name = config_strdup(p, st->line, name);
		config_parse_block(p, lx, st->line, api_credential_stmt, c);
		return 1;
	}
	if (strcmp(kw, "api-grant") == 0) {
		struct config_api_grant *g = NULL;

		/* Many api-grants may name one role. */
		if (config_grow((void **)&p->papi_grants, conf->napi_grants,
		    sizeof(*p->papi_grants)) == 0)
			g = config_new_block(p, st,
			    (void ***)&conf->api_grants, &conf->napi_grants,
			    sizeof(*g), 0);
		if (g == NULL) {
			config_parse_block(p, lx, st->line, NULL, NULL);
			return 1;
		}
		memset(&p->papi_grants[conf->napi_grants - 1], 0,
		    sizeof(*p->papi_grants));
		p->papi_grants[conf->napi_grants - 1].role = config_strdup(p,
		    st->line, name);
		g->origin.file = p->file;
		g->origin.line = st->line;
		config_parse_block(p, lx, st->line, api_grant_stmt, g);
		return 1;
	}
	return 0;
}

int
config_api_policy_stmt(struct parser *p, struct conf_stmt *st)
{
	if (strcmp(st->words[0], "api-credential") != 0 &&
	    strcmp(st->words[0], "api-grant") != 0)
		return 0;
	config_perr(p, st->line, "%s: expected '{' on the same line",
	    st->words[0]);
	return 1;
}

int
config_api_policy_role_stmt(struct parser *p, struct conf_stmt *st,
    struct config_role *r)
{
	struct parse_role *pr = &p->proles[p->conf->nroles - 1];

	(void)r;
	if (strcmp(st->words[0], "api-credential") != 0)
		return 0;
	if (pr->api_cred.name != NULL) {
		config_perr(p, st->line, "api-credential: given more than"
		    " once");
		return 1;
	}
	if (config_check_name(p, st, "api-credential") < 0)
		return 1;
	if ((pr->api_cred.name = strdup(st->words[1])) == NULL) {
		config_perr(p, st->line, "out of memory");
		return 1;
	}
	pr->api_cred.origin.file = p->file;
	pr->api_cred.origin.line = st->line;
	return 1;
}

/* --- second pass --------------------------------------------------------- */

/* The separation rules for one path of a grant of role r. */
static void
check_path(struct parser *p, const struct config_api_grant *g,
    const struct parse_api_grant *pg, const char *path)
{
	const struct config_role *r = g->role;
	struct config_origin o = { g->origin.file, pg->paths_line };
	int wild = strchr(path, '*') != NULL;

	if (r->side == ROLE_SIDE_GUEST) {
		if (!under_any(path, guest_roots, 2))
			config_perr_at(p, &o, "api-grant of role \"%s\" (side"
			    " guest): path \"%s\" is outside /vms and /pool",
			    r->name, path);
		return;
	}
	/* "/" and /access are reached only by naming them: no '*'. */
	if (strcmp(path, "/*") == 0 || (wild && under(path, "/access")))
		config_perr_at(p, &o, "api-grant of role \"%s\": path \"%s\":"
		    " \"/\" and \"/access\" must be named explicitly, never"
		    " through '*'", r->name, path);
	else if (strcmp(path, "/") != 0 && !under(path, "/access") &&
	    !under_any(path, hv_roots, sizeof(hv_roots) /
	    sizeof(hv_roots[0])))
		config_perr_at(p, &o, "api-grant of role \"%s\": path \"%s\""
		    " is not under /nodes, /storage, /cluster, /sdn, /vms,"
		    " /pool or /access", r->name, path);
}

static void
check_api_grant(struct parser *p, struct config_api_grant *g,
    const struct parse_api_grant *pg)
{
	const struct config_role *r = g->role;
	size_t i;

	if (pg->paths_line == 0)
		config_perr_at(p, &g->origin, "api-grant: no paths line");
	if (pg->privs_line == 0)
		config_perr_at(p, &g->origin, "api-grant: no privileges or"
		    " roles line");
	if (r == NULL)
		return;
	if (r->side == ROLE_SIDE_BASTION_ADMIN) {
		config_perr_at(p, &g->origin, "api-grant of role \"%s\": a role"
		    " of side bastion-admin administers the bastion, not"
		    " Proxmox", r->name);
		return;
	}
	for (i = 0; i < g->npaths; i++)
		check_path(p, g, pg, g->paths[i]);
	if (r->side == ROLE_SIDE_AUDIT) {
		struct config_origin o = { g->origin.file, pg->privs_line };
		char list[512];
		size_t n = 0, count = 0;

		/* One message naming them all (a role expands to many). */
		list[0] = '\0';
		for (i = 0; i < g->nprivileges; i++) {
			int w;

			if (api_priv_read_only(g->privileges[i]))
				continue;
			w = snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
			    count > 0 ? ", " : "", g->privileges[i]);
			if (w > 0 && (size_t)w < sizeof(list) - n)
				n += (size_t)w;
			count++;
		}
		if (count > 0)
			config_perr_at(p, &o, "api-grant of role \"%s\" (side"
			    " audit): %s %s %s more than read", r->name,
			    count > 1 ? "privileges" : "privilege", list,
			    count > 1 ? "do" : "does");
	}
}

void
config_api_policy_resolve(struct parser *p)
{
	struct config *conf = p->conf;
	const struct config_role *users_of[4] = { NULL, NULL, NULL, NULL };
	size_t i, j;

	for (i = 0; i < conf->napi_credentials; i++) {
		struct config_api_credential *c = conf->api_credentials[i];

		if (c->token_id == NULL)
			config_perr_at(p, &c->origin, "api-credential \"%s\":"
			    " no token", c->name);
		if (c->secret_file == NULL)
			config_perr_at(p, &c->origin, "api-credential \"%s\":"
			    " no secret-file", c->name);
		else
			check_secret_file(p, c);
	}
	for (i = 0; i < conf->nroles; i++) {
		struct config_role *r = conf->roles[i];
		const struct pending_ref *ref = &p->proles[i].api_cred;

		if (ref->name == NULL)
			continue;
		if ((r->api_credential = config_find_api_credential(conf,
		    ref->name)) == NULL)
			config_perr_at(p, &ref->origin, "role \"%s\": unknown"
			    " api-credential \"%s\"", r->name, ref->name);
	}
	for (i = 0; i < conf->napi_grants; i++) {
		struct config_api_grant *g = conf->api_grants[i];
		struct parse_api_grant *pg = &p->papi_grants[i];
		struct config_role *r = NULL;

		for (j = 0; j < conf->nroles && pg->role != NULL; j++)
			if (strcmp(conf->roles[j]->name, pg->role) == 0)
				r = conf->roles[j];
		if (r == NULL)
			config_perr_at(p, &g->origin, "api-grant: unknown role"
			    " \"%s\"", pg->role != NULL ? pg->role : "");
		else if (config_grow((void **)&r->api_grants, r->napi_grants,
		    sizeof(g)) < 0)
			config_perr_at(p, &g->origin, "out of memory");
		else {
			r->api_grants[r->napi_grants++] = g;
			g->role = r;
		}
		check_api_grant(p, g, pg);
	}
	for (i = 0; i < conf->nroles; i++) {
		const struct config_role *r = conf->roles[i];

		if (r->napi_grants > 0 && r->api_credential == NULL &&
		    p->proles[i].api_cred.name == NULL)
			config_perr_at(p, &r->api_grants[0]->origin, "api-grant"
			    " of role \"%s\": the role has no api-credential"
			    " (the token its API calls are made with)",
			    r->name);
	}
	/*
	 * One token, one side: the token's Proxmox ACL is the last wall
	 * behind the bastion, so a token held for guest admins must not be
	 * the hypervisor admins' one (R7/R8).
	 */
	for (i = 0; i < conf->napi_credentials; i++) {
		const struct config_api_credential *c;

		c = conf->api_credentials[i];

		memset(users_of, 0, sizeof(users_of));
		for (j = 0; j < conf->nroles; j++) {
			const struct config_role *r = conf->roles[j];

			if (r->api_credential == c &&
			    (unsigned)r->side < 4 && users_of[r->side] == NULL)
				users_of[r->side] = r;
		}
		if (users_of[ROLE_SIDE_HYPERVISOR] != NULL &&
		    users_of[ROLE_SIDE_GUEST] != NULL)
			config_perr_at(p, &c->origin, "api-credential \"%s\" is"
			    " held for the hypervisor-side role \"%s\" and the"
			    " guest-side role \"%s\": give each side its own"
			    " token", c->name,
			    users_of[ROLE_SIDE_HYPERVISOR]->name,
			    users_of[ROLE_SIDE_GUEST]->name);
	}
}

/* --- freeing ------------------------------------------------------------- */

void
config_api_policy_free_parse(struct parser *p)
{
	size_t i;

	for (i = 0; p->papi_grants != NULL && i < p->conf->napi_grants; i++)
		free(p->papi_grants[i].role);
	free(p->papi_grants);
	p->papi_grants = NULL;
}

void
config_api_policy_free(struct config *conf)
{
	size_t i, j;

	for (i = 0; i < conf->napi_grants; i++) {
		struct config_api_grant *g = conf->api_grants[i];

		for (j = 0; j < g->npaths; j++)
			free(g->paths[j]);
		free(g->paths);
		for (j = 0; j < g->nprivileges; j++)
			free(g->privileges[j]);
		free(g->privileges);
		free(g->windows);
		free(g);
	}
	free(conf->api_grants);
	conf->api_grants = NULL;
	conf->napi_grants = 0;
	for (i = 0; i < conf->napi_credentials; i++) {
		free(conf->api_credentials[i]->name);
		free(conf->api_credentials[i]->token_id);
		free(conf->api_credentials[i]->secret_file);
		free(conf->api_credentials[i]);
	}
	free(conf->api_credentials);
	conf->api_credentials = NULL;
	conf->napi_credentials = 0;
	for (i = 0; i < conf->nroles; i++) {
		free(conf->roles[i]->api_grants);
		conf->roles[i]->api_grants = NULL;
	}
}

const struct config_api_credential *
config_find_api_credential(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->napi_credentials; i++)
		if (conf->api_credentials[i]->name != NULL &&
		    strcmp(conf->api_credentials[i]->name, name) == 0)
			return conf->api_credentials[i];
	return NULL;
}
