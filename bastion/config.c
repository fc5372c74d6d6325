/*
 * config.c - parse and check hvbastion.conf.
 *
 * Two passes: the first reads every statement (following includes) and
 * reports every syntax error (OpenBSD daemons' habit: all errors, not just
 * the first); the second resolves names (a target's credentials, a user's
 * roles, a grant's role and targets) so that the order of blocks and files
 * does not matter, then runs the policy checks (config_policy.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "conf_lex.h"
#include "config.h"
#include "config_parse.h"
#include "keys.h"
#include "names.h"

#define DEFAULT_STATE_DIR	"/var/lib/hvbastion"

void
config_perr(struct parser *p, int line, const char *fmt, ...)
{
	char msg[1024], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%d: %s", p->file, line, msg);
	p->errors++;
	if (p->report != NULL)
		p->report(p->arg, full);
}

void
config_perr_at(struct parser *p, const struct config_origin *o,
    const char *fmt, ...)
{
	char msg[1024], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%d: %s", o->file, o->line, msg);
	p->errors++;
	if (p->report != NULL)
		p->report(p->arg, full);
}

int
config_grow(void **arr, size_t n, size_t elem)
{
	void *tmp;

	/* Bounded: a configuration is written by people. */
	if (n >= 65536)
		return -1;
	tmp = realloc(*arr, (n + 1) * elem);
	if (tmp == NULL)
		return -1;
	*arr = tmp;
	return 0;
}

int
config_parse_long(struct parser *p, const struct conf_stmt *st, size_t i,
    long min, long max, long *out)
{
	char *end;
	long v;

	if (i >= st->nwords) {
		config_perr(p, st->line, "%s: missing number", st->words[0]);
		return -1;
	}
	errno = 0;
	v = strtol(st->words[i], &end, 10);
	if (errno != 0 || end == st->words[i] || *end != '\0' || v < min ||
	    v > max) {
		config_perr(p, st->line, "%s: \"%s\" is not a number from %ld"
		    " to %ld", st->words[0], st->words[i], min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_int(struct parser *p, const struct conf_stmt *st, size_t i, long min,
    long max, int *out)
{
	long v;

	if (config_parse_long(p, st, i, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_yesno(struct parser *p, const struct conf_stmt *st, int *out)
{
	if (st->nwords == 2 && strcmp(st->words[1], "yes") == 0)
		*out = 1;
	else if (st->nwords == 2 && strcmp(st->words[1], "no") == 0)
		*out = 0;
	else {
		config_perr(p, st->line, "%s: expected yes or"
		    " no", st->words[0]);
		return -1;
	}
	return 0;
}

char *
config_strdup(struct parser *p, int line, const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		config_perr(p, line, "out of memory");
	return d;
}

/* Sets *dst to a copy of the statement's single argument. */
int
config_take_string(struct parser *p, const struct conf_stmt *st, char **dst)
{
	if (st->nwords != 2) {
		config_perr(p, st->line, "%s: expected exactly one value",
		    st->words[0]);
		return -1;
	}
	if (*dst != NULL) {
		config_perr(p, st->line, "%s: given more than"
		    " once", st->words[0]);
		return -1;
	}
	if ((*dst = strdup(st->words[1])) == NULL) {
		config_perr(p, st->line, "out of memory");
		return -1;
	}
	return 0;
}

/* Checks "type base64 [comment]" and keeps "type base64". */
static int
take_public_key(struct parser *p, const struct conf_stmt *st, char **dst)
{
	ssh_key key = NULL;
	char *sp;

	if (st->nwords != 2) {
		config_perr(p, st->line, "%s: expected one quoted key line",
		    st->words[0]);
		return -1;
	}
	if (strchr(st->words[1], ' ') == NULL) {
		config_perr(p, st->line, "%s: expected \"TYPE BASE64"
		    " [comment]\"",
		    st->words[0]);
		return -1;
	}
	if (keys_import_line(st->words[1], &key) < 0) {
		config_perr(p, st->line, "%s: not a valid public"
		    " key", st->words[0]);
		return -1;
	}
	ssh_key_free(key);
	if ((*dst = strdup(st->words[1])) == NULL) {
		config_perr(p, st->line, "out of memory");
		return -1;
	}
	/* Keep "type base64": the comment is for people. */
	if ((sp = strchr(*dst, ' ')) != NULL && (sp = strchr(sp + 1, ' ')) !=
	    NULL)
		*sp = '\0';
	return 0;
}

int
config_check_name(struct parser *p, const struct conf_stmt *st,
    const char *what)
{
	if (st->nwords != 2) {
		config_perr(p, st->line, "%s: expected a name", what);
		return -1;
	}
	if (!names_valid(st->words[1])) {
		config_perr(p, st->line, "%s \"%s\": invalid name (letters,"
		    " digits,"
		    " '.', '_' and '-', starting with a letter or digit, at"
		    " most %d characters)", what, st->words[1],
		    NAMES_MAX);
		return -1;
	}
	return 0;
}

int
config_add_ref(struct parser *p, const struct conf_stmt *st,
    struct pending_ref **refs, size_t *n)
{
	if (config_check_name(p, st, st->words[0]) < 0)
		return -1;
	if (config_grow((void **)refs, *n, sizeof(**refs)) < 0 ||
	    ((*refs)[*n].name = strdup(st->words[1])) == NULL) {
		config_perr(p, st->line, "too many entries or out of memory");
		return -1;
	}
	(*refs)[*n].origin.file = p->file;
	(*refs)[*n].origin.line = st->line;
	(*n)++;
	return 0;
}

/*
 * Reads the statements of a block up to its closing brace, handing each one
 * to fn.  Reports a missing brace at end of file.
 */
void
config_parse_block(struct parser *p, struct conf_lex *lx, int open_line,
    config_block_fn fn, void *obj)
{
	struct conf_stmt st;
	const char *err;

	for (;;) {
		if (conf_lex_next(lx, &st, &err) < 0) {
			config_perr(p, lx->line, "%s", err);
			conf_stmt_clear(&st);
			continue;
		}
		if (st.end == CONF_END_EOF) {
			config_perr(p, open_line, "block is not closed with"
			    " '}'");
			conf_stmt_clear(&st);
			return;
		}
		if (st.nwords > 0 && st.end == CONF_END_OPEN)
			config_perr(p, st.line, "%s: blocks do not nest",
			    st.words[0]);
		else if (st.nwords > 0 && fn != NULL)
			fn(p, &st, obj);
		if (st.end == CONF_END_CLOSE) {
			conf_stmt_clear(&st);
			return;
		}
		conf_stmt_clear(&st);
	}
}

static void
credential_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_credential *c = obj;
	const char *kw = st->words[0];

	if (strcmp(kw, "login") == 0) {
		if (config_take_string(p, st, &c->login) == 0 &&
		    !names_valid_login(c->login))
			config_perr(p, st->line, "login \"%s\": invalid login"
			    " name",
			    c->login);
	} else if (strcmp(kw, "key-file") == 0)
		config_take_string(p, st, &c->key_file);
	else
		config_perr(p, st->line, "unknown keyword \"%s\" in"
		    " credential", kw);
}

static void
target_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_target *t = obj;
	struct parse_target *pt = &p->ptargets[p->conf->ntargets - 1];
	const char *kw = st->words[0];

	if (strcmp(kw, "address") == 0) {
		if (config_take_string(p, st, &t->address) == 0 &&
		    !names_valid_address(t->address))
			config_perr(p, st->line, "address \"%s\": not a host"
			    " name or"
			    " IP address", t->address);
	} else if (strcmp(kw, "port") == 0)
		parse_int(p, st, 1, 1, 65535, &t->port);
	else if (strcmp(kw, "host-key") == 0) {
		if (t->host_key != NULL)
			config_perr(p, st->line, "host-key: given more than"
			    " once");
		else
			take_public_key(p, st, &t->host_key);
	} else if (strcmp(kw, "kind") == 0) {
		if (st->nwords == 2 && strcmp(st->words[1], "hypervisor") == 0)
			t->kind = TARGET_KIND_HYPERVISOR;
		else if (st->nwords == 2 && strcmp(st->words[1], "guest") == 0)
			t->kind = TARGET_KIND_GUEST;
		else {
			config_perr(p, st->line, "kind: expected hypervisor or"
			    " guest");
			return;
		}
		pt->kind_set = 1;
	} else if (strcmp(kw, "credential") == 0)
		config_add_ref(p, st, &pt->creds, &pt->ncreds);
	else if (!config_policy_target_stmt(p, st, t))
		config_perr(p, st->line, "unknown keyword \"%s\" in"
		    " target", kw);
}

static void
user_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_user *u = obj;
	const char *kw = st->words[0];
	char *key = NULL;

	if (strcmp(kw, "public-key") == 0) {
		if (take_public_key(p, st, &key) < 0)
			return;
		if (config_grow((void **)&u->public_keys, u->npublic_keys,
		    sizeof(char *)) < 0) {
			config_perr(p, st->line, "too many keys");
			free(key);
			return;
		}
		u->public_keys[u->npublic_keys++] = key;
	} else if (!config_policy_user_stmt(p, st, u))
		config_perr(p, st->line, "unknown keyword \"%s\" in user", kw);
}

/*
 * Privilege separation (issue 8): the daemon's user may own the secret
 * files it re-reads once it has dropped root.
 */
static char config_daemon_user[64] = "hvbastion";

void
config_set_daemon_user(const char *user)
{
	snprintf(config_daemon_user, sizeof(config_daemon_user), "%s", user);
}

int
config_secret_owner_ok(uid_t uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == geteuid())
		return 1;
	pw = getpwnam(config_daemon_user);
	return pw != NULL && pw->pw_uid == uid;
}

/* The auditors' tools need no credential (config_readers_mode()). */
static int secrets_unchecked;

void
config_readers_mode(void)
{
	secrets_unchecked = 1;
}

/* Checks that a private key file exists and that nobody else can read it. */
static void
check_secret_file(struct parser *p, const struct config_credential *c)
{
	struct stat sb;
	int fd;

	if (secrets_unchecked)
		return;

	fd = open(c->key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		config_perr_at(p, &c->origin, "credential \"%s\": key-file %s:"
		    " %s",
		    c->name, c->key_file, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		config_perr_at(p, &c->origin, "credential \"%s\": key-file %s"
		    " is not"
		    " a regular file", c->name, c->key_file);
	} else if ((sb.st_mode & 077) != 0) {
		config_perr_at(p, &c->origin, "credential \"%s\": key-file %s"
		    " is"
		    " accessible by others (mode %04o); it must be 0600",
		    c->name, c->key_file, (unsigned)(sb.st_mode & 07777));
	} else if (!config_secret_owner_ok(sb.st_uid)) {
		config_perr_at(p, &c->origin, "credential \"%s\": key-file %s"
		    " is"
		    " owned by another user", c->name, c->key_file);
	}
	if (fd >= 0)
		close(fd);
}

static struct config_credential *
find_credential(struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->ncredentials; i++)
		if (strcmp(conf->credentials[i]->name, name) == 0)
			return conf->credentials[i];
	return NULL;
}

static struct config_target *
find_target(struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->ntargets; i++)
		if (strcmp(conf->targets[i]->name, name) == 0)
			return conf->targets[i];
	return NULL;
}

/* Second pass: resolve names and check that each block is complete. */
static void
resolve(struct parser *p)
{
	struct config *conf = p->conf;
	size_t i, j;

	for (i = 0; i < conf->ncredentials; i++) {
		struct config_credential *c = conf->credentials[i];

		if (c->login == NULL)
			config_perr_at(p, &c->origin, "credential \"%s\": no"
			    " login",
			    c->name);
		if (c->key_file == NULL)
			config_perr_at(p, &c->origin, "credential \"%s\": no"
			    " key-file", c->name);
		else
			check_secret_file(p, c);
	}
	for (i = 0; i < conf->ntargets; i++) {
		struct config_target *t = conf->targets[i];
		struct parse_target *pt = &p->ptargets[i];

		if (t->address == NULL)
			config_perr_at(p, &t->origin, "target \"%s\": no"
			    " address",
			    t->name);
		if (t->host_key == NULL)
			config_perr_at(p, &t->origin, "target \"%s\": no"
			    " host-key"
			    " (the target's public host key must be pinned)",
			    t->name);
		if (!pt->kind_set)
			config_perr_at(p, &t->origin, "target \"%s\": no kind"
			    " (hypervisor or guest)", t->name);
		if (pt->ncreds == 0)
			config_perr_at(p, &t->origin, "target \"%s\": no"
			    " credential",
			    t->name);
		t->credentials = calloc(pt->ncreds + 1, sizeof(void *));
		if (t->credentials == NULL) {
			config_perr_at(p, &t->origin, "out of memory");
			continue;
		}
		for (j = 0; j < pt->ncreds; j++) {
			struct config_credential *c;

			c = find_credential(conf, pt->creds[j].name);
			if (c == NULL) {
				config_perr_at(p, &pt->creds[j].origin, "target"
				    " \"%s\": unknown credential \"%s\"",
				    t->name, pt->creds[j].name);
				continue;
			}
			t->credentials[t->ncredentials++] = c;
		}
	}
	for (i = 0; i < conf->nusers; i++) {
		struct config_user *u = conf->users[i];

		if (u->npublic_keys == 0)
			config_perr_at(p, &u->origin, "user \"%s\": no"
			    " public-key",
			    u->name);
	}
	config_policy_resolve(p);
	config_api_resolve(p);
}

/* Opens a new named block object, refusing duplicates. */
void *
config_new_block(struct parser *p, struct conf_stmt *st, void ***arr,
    size_t *n, size_t size, int duplicate)
{
	void *obj;

	if (config_check_name(p, st, st->words[0]) < 0)
		return NULL;
	if (duplicate) {
		config_perr(p, st->line, "%s \"%s\" is declared more than once",
		    st->words[0], st->words[1]);
		return NULL;
	}
	if (config_grow((void **)arr, *n, sizeof(void *)) < 0 ||
	    (obj = calloc(1, size)) == NULL) {
		config_perr(p, st->line, "too many blocks or out of memory");
		return NULL;
	}
	(*arr)[(*n)++] = obj;
	return obj;
}

static void
top_block(struct parser *p, struct conf_lex *lx, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];
	const char *name = st->nwords > 1 ? st->words[1] : "";
	struct config_origin *origin = NULL;
	char **namep = NULL;
	config_block_fn fn = NULL;
	void *obj = NULL;

	if (strcmp(kw, "credential") == 0) {
		struct config_credential *c;

		c = config_new_block(p, st, (void ***)&conf->credentials,
		    &conf->ncredentials, sizeof(*c),
		    find_credential(conf, name) != NULL);
		if (c != NULL)
			origin = &c->origin, namep = &c->name, obj = c;
		fn = credential_stmt;
	} else if (strcmp(kw, "target") == 0) {
		struct config_target *t;

		if (config_grow((void **)&p->ptargets, conf->ntargets,
		    sizeof(*p->ptargets)) < 0)
			t = NULL;
		else
			t = config_new_block(p, st, (void ***)&conf->targets,
			    &conf->ntargets, sizeof(*t),
			    find_target(conf, name) != NULL);
		if (t != NULL) {
			memset(&p->ptargets[conf->ntargets - 1], 0,
			    sizeof(*p->ptargets));
			t->port = 22;
			t->vmid = -1;
			origin = &t->origin, namep = &t->name, obj = t;
		}
		fn = target_stmt;
	} else if (strcmp(kw, "user") == 0) {
		struct config_user *u;

		if (strcmp(name, CONFIG_RESERVED_PERSON) == 0) {
			config_perr(p, st->line, "user \"%s\": this name is"
			    " reserved (PAM sees it for unknown names)", name);
			u = NULL;
		} else if (config_grow((void **)&p->pusers, conf->nusers,
		    sizeof(*p->pusers)) < 0)
			u = NULL;
		else
			u = config_new_block(p, st, (void ***)&conf->users,
			    &conf->nusers, sizeof(*u),
			    config_find_user(conf, name) != NULL);
		if (u != NULL) {
			memset(&p->pusers[conf->nusers - 1], 0,
			    sizeof(*p->pusers));
			origin = &u->origin, namep = &u->name, obj = u;
		}
		fn = user_stmt;
	} else if (config_policy_block(p, lx, st)) {
		return;		/* read by config_policy.c */
	} else if (config_api_block(p, lx, st)) {
		return;		/* read by config_api.c */
	} else {
		config_perr(p, st->line, "unknown block \"%s\"", kw);
	}

	if (obj != NULL) {
		origin->file = p->file;
		origin->line = st->line;
		if ((*namep = strdup(name)) == NULL)
			config_perr(p, st->line, "out of memory");
		config_parse_block(p, lx, st->line, fn, obj);
	} else {
		/* Skip the block's body so its statements are not
		 * mistaken for top-level ones. */
		config_parse_block(p, lx, st->line, NULL, NULL);
	}
}

/*
 * "auth-methods publickey,keyboard-interactive": every method is required,
 * in this order (OpenSSH's AuthenticationMethods, one list).
 */
static void
parse_auth_methods(struct parser *p, const struct conf_stmt *st)
{
	struct config *conf = p->conf;
	char buf[128], *tok, *save = NULL;

	conf->nauth_methods = 0;
	if (st->nwords != 2 || strlen(st->words[1]) >= sizeof(buf)) {
		config_perr(p, st->line, "auth-methods: expected a"
		    " comma-separated"
		    " list such as publickey,keyboard-interactive");
		return;
	}
	snprintf(buf, sizeof(buf), "%s", st->words[1]);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		enum config_auth_method m;
		int i;

		if (strcmp(tok, "publickey") == 0)
			m = AUTH_PUBLICKEY;
		else if (strcmp(tok, "keyboard-interactive") == 0)
			m = AUTH_KBDINT;
		else {
			config_perr(p, st->line, "auth-methods: unknown method"
			    " \"%s\""
			    " (publickey, keyboard-interactive)", tok);
			return;
		}
		for (i = 0; i < conf->nauth_methods; i++)
			if (conf->auth_methods[i] == m) {
				config_perr(p, st->line, "auth-methods: \"%s\""
				    " given"
				    " twice", tok);
				return;
			}
		conf->auth_methods[conf->nauth_methods++] = m;
	}
	if (conf->nauth_methods == 0)
		config_perr(p, st->line, "auth-methods: empty list");
}

/* "max-startups 10:30:100" (OpenSSH's MaxStartups) or "max-startups 50". */
static void
parse_startups(struct parser *p, const struct conf_stmt *st)
{
	struct config *conf = p->conf;
	long v[3];
	const char *s;
	char *end;
	int n = 0;

	if (st->nwords != 2)
		goto bad;
	for (s = st->words[1]; n < 3; s = end + 1) {
		errno = 0;
		v[n] = strtol(s, &end, 10);
		if (errno != 0 || end == s || v[n] < 1 || v[n] > 100000)
			goto bad;
		n++;
		if (*end != ':')
			break;
	}
	if (*end != '\0' || n == 2)
		goto bad;
	if (n == 1) {
		conf->startups_begin = conf->startups_full = (int)v[0];
		conf->startups_rate = 100;
		return;
	}
	if (v[1] > 100 || v[0] > v[2])
		goto bad;
	conf->startups_begin = (int)v[0];
	conf->startups_rate = (int)v[1];
	conf->startups_full = (int)v[2];
	return;
bad:
	config_perr(p, st->line, "max-startups: expected N or BEGIN:RATE:FULL"
	    " (RATE a percentage, BEGIN <= FULL)");
}

static void
top_stmt(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];

	if (strcmp(kw, "listen") == 0) {
		struct config_listen *l;

		if (st->nwords != 4 || strcmp(st->words[2], "port") != 0) {
			config_perr(p, st->line, "listen: expected"
			    " listen \"ADDRESS\" port NUMBER");
			return;
		}
		if (conf->nlisten >= CONFIG_MAX_LISTEN) {
			config_perr(p, st->line, "listen: at most %d addresses",
			    CONFIG_MAX_LISTEN);
			return;
		}
		if (!names_valid_address(st->words[1])) {
			config_perr(p, st->line, "listen: \"%s\" is not an"
			    " address",
			    st->words[1]);
			return;
		}
		l = &conf->listen[conf->nlisten];
		if (parse_int(p, st, 3, 1, 65535, &l->port) < 0)
			return;
		if ((l->address = strdup(st->words[1])) == NULL) {
			config_perr(p, st->line, "out of memory");
			return;
		}
		conf->nlisten++;
	} else if (strcmp(kw, "state-directory") == 0)
		config_take_string(p, st, &conf->state_dir);
	else if (strcmp(kw, "recordings-directory") == 0)
		config_take_string(p, st, &conf->recordings_dir);
	else if (strcmp(kw, "login-grace-time") == 0)
		parse_int(p, st, 1, 1, 3600, &conf->login_grace_time);
	else if (strcmp(kw, "stage-timeout") == 0)
		parse_int(p, st, 1, 1, 3600, &conf->stage_timeout);
	else if (strcmp(kw, "connect-timeout") == 0)
		parse_int(p, st, 1, 1, 600, &conf->connect_timeout);
	else if (strcmp(kw, "max-auth-tries") == 0)
		parse_int(p, st, 1, 1, 100, &conf->max_auth_tries);
	else if (strcmp(kw, "max-connections") == 0)
		parse_int(p, st, 1, 1, 100000, &conf->max_connections);
	else if (strcmp(kw, "max-startups") == 0)
		parse_startups(p, st);
	else if (strcmp(kw, "auth-methods") == 0)
		parse_auth_methods(p, st);
	else if (strcmp(kw, "pam-service") == 0) {
		free(conf->pam_service);
		conf->pam_service = NULL;
		if (config_take_string(p, st, &conf->pam_service) == 0 &&
		    !names_valid(conf->pam_service))
			config_perr(p, st->line, "pam-service: invalid name");
	} else if (strcmp(kw, "pam-directory") == 0)
		config_take_string(p, st, &conf->pam_directory);
	else if (strcmp(kw, "max-startups-per-source") == 0)
		parse_int(p, st, 1, 1, 100000, &conf->startups_per_source);
	else if (strcmp(kw, "record-input") == 0)
		parse_yesno(p, st, &conf->record_input);
	else if (strcmp(kw, "accept-env") == 0) {
		size_t i;

		if (st->nwords < 2)
			config_perr(p, st->line, "accept-env: expected"
			    " patterns");
		for (i = 1; i < st->nwords; i++) {
			if (config_grow((void **)&conf->accept_env,
			    conf->naccept_env, sizeof(char *)) < 0 ||
			    (conf->accept_env[conf->naccept_env] =
			    strdup(st->words[i])) == NULL) {
				config_perr(p, st->line, "out of memory");
				return;
			}
			conf->naccept_env++;
		}
	} else if (!config_policy_stmt(p, st) && !config_audit_stmt(p, st) &&
	    !config_recording_stmt(p, st) && !config_api_stmt(p, st))
		config_perr(p, st->line, "unknown keyword \"%s\"", kw);
}

/* Reads a whole file; NULL with the reason in why when it cannot. */
static char *
read_file(const char *path, size_t *len, char *why, size_t whylen)
{
	struct stat sb;
	char *text = NULL;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CONF_LEX_FILE_MAX) {
		snprintf(why, whylen, "not a regular file of at most %d bytes",
		    CONF_LEX_FILE_MAX);
		goto out;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, text + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	if (memchr(text, '\0', got) != NULL) {
		snprintf(why, whylen, "file contains a NUL byte");
		free(text);
		text = NULL;
		goto out;
	}
	*len = got;
out:
	if (fd >= 0)
		close(fd);
	return text;
}

static void parse_file(struct parser *, const char *text, size_t len);

/*
 * include "FILE": relative names are taken from the including file's
 * directory, so that a policy directory can be moved as a whole.  The
 * name is kept in conf->files for as long as the configuration lives,
 * because every origin read from it points there.
 */
static void
include_file(struct parser *p, const struct conf_stmt *st)
{
	struct config *conf = p->conf;
	char path[PATH_MAX];
	const char *slash, *saved;
	char *text, *name, why[300];
	size_t len = 0;
	int n;

	if (st->nwords != 2) {
		config_perr(p, st->line, "include: expected one file name");
		return;
	}
	if (p->depth >= CONFIG_INCLUDE_DEPTH_MAX) {
		config_perr(p, st->line, "include \"%s\": nested too deeply (at"
		    " most %d levels)", st->words[1], CONFIG_INCLUDE_DEPTH_MAX);
		return;
	}
	slash = strrchr(p->file, '/');
	if (st->words[1][0] == '/' || slash == NULL)
		n = snprintf(path, sizeof(path), "%s", st->words[1]);
	else
		n = snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - p->file), p->file, st->words[1]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		config_perr(p, st->line, "include \"%s\": path too long",
		    st->words[1]);
		return;
	}
	if ((text = read_file(path, &len, why, sizeof(why))) == NULL) {
		config_perr(p, st->line, "include \"%s\": %s", st->words[1],
		    why);
		return;
	}
	if (config_grow((void **)&conf->files, conf->nfiles,
	    sizeof(char *)) < 0 || (name = strdup(path)) == NULL) {
		config_perr(p, st->line, "out of memory");
		free(text);
		return;
	}
	conf->files[conf->nfiles++] = name;
	saved = p->file;
	p->file = name;
	p->depth++;
	parse_file(p, text, len);
	p->depth--;
	p->file = saved;
	free(text);
}

static void
parse_file(struct parser *p, const char *text, size_t len)
{
	struct conf_lex lx;
	struct conf_stmt st;
	const char *err;

	conf_lex_init(&lx, text, len);
	for (;;) {
		if (conf_lex_next(&lx, &st, &err) < 0) {
			config_perr(p, lx.line, "%s", err);
			conf_stmt_clear(&st);
			continue;
		}
		if (st.end == CONF_END_EOF)
			break;
		if (st.end == CONF_END_CLOSE)
			config_perr(p, st.line, "'}' without a block");
		else if (st.end == CONF_END_OPEN && st.nwords == 0)
			config_perr(p, st.line, "'{' without a block name");
		else if (st.end == CONF_END_OPEN)
			top_block(p, &lx, &st);
		else if (strcmp(st.words[0], "credential") == 0 ||
		    strcmp(st.words[0], "target") == 0 ||
		    strcmp(st.words[0], "user") == 0 ||
		    strcmp(st.words[0], "role") == 0 ||
		    strcmp(st.words[0], "grant") == 0)
			config_perr(p, st.line, "%s: expected '{' on the same"
			    " line", st.words[0]);
		else if (strcmp(st.words[0], "include") == 0)
			include_file(p, &st);
		else
			top_stmt(p, &st);
		conf_stmt_clear(&st);
	}
}

static void
set_defaults(struct parser *p)
{
	struct config *conf = p->conf;
	char path[PATH_MAX];

	if (conf->nlisten == 0) {
		conf->listen[0].address = strdup("0.0.0.0");
		conf->listen[0].port = 22;
		if (conf->listen[0].address != NULL)
			conf->nlisten = 1;
	}
	if (conf->state_dir == NULL)
		conf->state_dir = strdup(DEFAULT_STATE_DIR);
	if (conf->pam_service == NULL)
		conf->pam_service = strdup("hvbastion");
	if (conf->recordings_dir == NULL && conf->state_dir != NULL) {
		snprintf(path, sizeof(path), "%s/recordings", conf->state_dir);
		conf->recordings_dir = strdup(path);
	}
	if (conf->nlisten == 0 || conf->state_dir == NULL ||
	    conf->recordings_dir == NULL || conf->pam_service == NULL)
		config_perr(p, 0, "out of memory");
}

struct config *
config_load(const char *path, config_report_fn report, void *arg)
{
	struct parser p;
	char *text, why[300];
	size_t len = 0, i, j;

	memset(&p, 0, sizeof(p));
	p.file = path;
	p.report = report;
	p.arg = arg;
	if ((p.conf = calloc(1, sizeof(*p.conf))) == NULL ||
	    (p.conf->path = strdup(path)) == NULL ||
	    (p.conf->files = calloc(1, sizeof(char *))) == NULL ||
	    (p.conf->files[0] = strdup(path)) == NULL) {
		config_perr(&p, 0, "out of memory");
		config_free(p.conf);
		return NULL;
	}
	p.conf->nfiles = 1;
	p.file = p.conf->files[0];
	p.conf->login_grace_time = 30;
	p.conf->stage_timeout = 120;
	p.conf->connect_timeout = 10;
	p.conf->max_auth_tries = 6;
	p.conf->max_connections = 256;
	p.conf->startups_begin = 10;
	p.conf->startups_rate = 30;
	p.conf->startups_full = 100;
	p.conf->startups_per_source = 20;
	p.conf->auth_methods[0] = AUTH_PUBLICKEY;
	p.conf->auth_methods[1] = AUTH_KBDINT;
	p.conf->nauth_methods = 2;
	p.conf->record_input = 1;
	config_recording_defaults(p.conf);
	config_api_defaults(p.conf);

	if ((text = read_file(path, &len, why, sizeof(why))) == NULL)
		config_perr(&p, 0, "%s", why);
	else {
		parse_file(&p, text, len);
		free(text);
		p.file = p.conf->files[0];
		resolve(&p);
		set_defaults(&p);
		config_audit_finish(&p);
	}
	for (i = 0; i < p.conf->ntargets; i++) {
		for (j = 0; j < p.ptargets[i].ncreds; j++)
			free(p.ptargets[i].creds[j].name);
		free(p.ptargets[i].creds);
	}
	free(p.ptargets);
	config_policy_free_parse(&p);
	if (p.errors > 0) {
		config_free(p.conf);
		return NULL;
	}
	return p.conf;
}

void
config_free(struct config *conf)
{
	size_t i, j;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nlisten; i++)
		free(conf->listen[i].address);
	for (i = 0; i < conf->naccept_env; i++)
		free(conf->accept_env[i]);
	free(conf->accept_env);
	for (i = 0; i < conf->ncredentials; i++) {
		free(conf->credentials[i]->name);
		free(conf->credentials[i]->login);
		free(conf->credentials[i]->key_file);
		free(conf->credentials[i]);
	}
	free(conf->credentials);
	for (i = 0; i < conf->ntargets; i++) {
		free(conf->targets[i]->name);
		free(conf->targets[i]->address);
		free(conf->targets[i]->host_key);
		free(conf->targets[i]->credentials);
		config_policy_free_target(conf->targets[i]);
		free(conf->targets[i]);
	}
	free(conf->targets);
	for (i = 0; i < conf->nusers; i++) {
		for (j = 0; j < conf->users[i]->npublic_keys; j++)
			free(conf->users[i]->public_keys[j]);
		free(conf->users[i]->public_keys);
		config_policy_free_user(conf->users[i]);
		free(conf->users[i]->name);
		free(conf->users[i]);
	}
	free(conf->users);
	config_policy_free(conf);
	config_audit_free(conf);
	config_recording_free(conf);
	config_api_free(conf);
	free(conf->state_dir);
	free(conf->recordings_dir);
	free(conf->pam_service);
	free(conf->pam_directory);
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->path);
	free(conf);
}

const struct config_user *
config_find_user(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nusers; i++)
		if (strcmp(conf->users[i]->name, name) == 0)
			return conf->users[i];
	return NULL;
}

const struct config_target *
config_find_target(const struct config *conf, const char *name)
{
	return find_target((struct config *)conf, name);
}

const char *
config_target_kind_name(enum target_kind kind)
{
	return kind == TARGET_KIND_HYPERVISOR ? "hypervisor" : "guest";
}

void
config_auth_methods_name(const struct config *conf, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < conf->nauth_methods && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		    conf->auth_methods[i] == AUTH_PUBLICKEY ? "publickey" :
		    "keyboard-interactive");
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
