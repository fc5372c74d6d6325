/*
 * policy_cli.c - "hvbastion policy check" and "hvbastion policy explain".
 *
 * explain asks policy_decide(), the function the daemon enforces, rather
 * than re-deriving anything here: an explanation that could disagree with
 * the enforcement would be worse than none.  Every name printed comes from
 * the command line or the configuration, so it goes through log_escape()
 * before it reaches a terminal (a target named with escape sequences must
 * not repaint the security team's screen).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../policy/api_acl.h"
#include "../policy/policy.h"
#include "config.h"
#include "log.h"
#include "policy_cli.h"

#define EXIT_ALLOW	0
#define EXIT_DENY	1
#define EXIT_USAGE	2

/* Bounds on what the command line may hand us; names are far shorter. */
#define ARG_MAX_LEN	255
#define ESC_MAX		(4 * ARG_MAX_LEN + 8)
#define RULE_ESC_MAX	(4 * sizeof(((struct policy_decision *)0)->rule) + 8)

struct explain_args {
	const char	*person;
	const char	*target;	/* the target part of [LOGIN@]TARGET */
	char		 login[ARG_MAX_LEN + 1];
	char		 target_buf[ARG_MAX_LEN + 1];
	int		 channel;	/* -1: not given */
	char		 fwd_host[ARG_MAX_LEN + 1];
	int		 fwd_port;	/* 0: no --forward */
	const char	*source;
	const char	*at;
	time_t		 when;
	int		 json;
	/* --api METHOD PATH [--pool POOL] */
	int		 api;
	const char	*api_method;
	char		 api_path[ARG_MAX_LEN + 1];	/* no /api2/json */
	const char	*pool;
};

static void
usage_explain(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] policy explain PERSON"
	    " [LOGIN@]TARGET\n"
	    "           [--channel shell|exec|sftp|scp|port-forward]"
	    " [--forward HOST:PORT]\n"
	    "           [--from ADDRESS] [--at \"YYYY-MM-DD HH:MM\"]"
	    " [--json]\n"
	    "       hvbastion [-f file] policy explain PERSON --api METHOD"
	    " PATH [--pool POOL]\n"
	    "           [--from ADDRESS] [--at \"YYYY-MM-DD HH:MM\"]"
	    " [--json]\n");
}

static void
usage_policy(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] policy check\n");
	usage_explain();
}

static void
print_error(void *arg, const char *msg)
{
	char esc[1024];

	(void)arg;
	fprintf(stderr, "%s\n", log_escape(esc, sizeof(esc), msg));
}

static int
arg_error(const char *what, const char *arg)
{
	char esc[ESC_MAX];

	fprintf(stderr, "hvbastion: %s: \"%s\"\n", what,
	    log_escape(esc, sizeof(esc), arg));
	return -1;
}

/* Decimal digits only (no sign, no spaces, unlike strtol); -1 if not. */
static long
parse_digits(const char *s, size_t len, long max)
{
	long v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int
parse_forward(struct explain_args *a, const char *arg)
{
	const char *colon, *host = arg;
	size_t hlen;
	long port;

	if (strlen(arg) > ARG_MAX_LEN)
		return arg_error("--forward too long", arg);
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || close[1] != ':')
			return arg_error("--forward wants HOST:PORT or"
			    " [ADDRESS]:PORT", arg);
		host = arg + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL ||
		    memchr(arg, ':', (size_t)(colon - arg)) != NULL)
			return arg_error("--forward wants HOST:PORT or"
			    " [ADDRESS]:PORT", arg);
		hlen = (size_t)(colon - arg);
	}
	port = parse_digits(colon + 1, strlen(colon + 1), 65535);
	if (hlen == 0 || port < 1)
		return arg_error("--forward wants HOST:PORT with a port"
		    " 1-65535", arg);
	memcpy(a->fwd_host, host, hlen);
	a->fwd_host[hlen] = '\0';
	a->fwd_port = (int)port;
	return 0;
}

/*
 * "YYYY-MM-DD HH:MM" in the bastion's local time, the clock that grant
 * hours are written in.  Parsed by hand: strptime would accept "1" for
 * "01" and leave trailing junk to us anyway.
 */
static int
parse_at(struct explain_args *a, const char *arg)
{
	struct tm tm;
	long y, mo, d, h, mi;

	if (strlen(arg) != 16 || arg[4] != '-' || arg[7] != '-' ||
	    arg[10] != ' ' || arg[13] != ':')
		return arg_error("--at wants \"YYYY-MM-DD HH:MM\"", arg);
	y = parse_digits(arg, 4, 9999);
	mo = parse_digits(arg + 5, 2, 12);
	d = parse_digits(arg + 8, 2, 31);
	h = parse_digits(arg + 11, 2, 23);
	mi = parse_digits(arg + 14, 2, 59);
	if (y < 1970 || mo < 1 || d < 1 || h < 0 || mi < 0)
		return arg_error("--at wants \"YYYY-MM-DD HH:MM\"", arg);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_isdst = -1;
	a->when = mktime(&tm);
	/* mktime normalises 02-30 to 03-02: refuse rather than guess. */
	if (a->when == (time_t)-1 || tm.tm_mday != (int)d ||
	    tm.tm_mon != (int)mo - 1)
		return arg_error("--at: no such date", arg);
	/* 0 means "now" to policy_decide. */
	if (a->when == 0)
		a->when = 1;
	a->at = arg;
	return 0;
}

static int
parse_from(struct explain_args *a, const char *arg)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, arg, buf) != 1 &&
	    inet_pton(AF_INET6, arg, buf) != 1)
		return arg_error("--from wants an IPv4 or IPv6 address", arg);
	a->source = arg;
	return 0;
}

static int
parse_target(struct explain_args *a, const char *arg)
{
	const char *at;

	if (strlen(arg) > ARG_MAX_LEN || arg[0] == '\0')
		return arg_error("bad target", arg);
	if ((at = strchr(arg, '@')) != NULL) {
		if (at == arg || at[1] == '\0' || strchr(at + 1, '@') != NULL)
			return arg_error("target wants [LOGIN@]TARGET", arg);
		memcpy(a->login, arg, (size_t)(at - arg));
		a->login[at - arg] = '\0';
		arg = at + 1;
	}
	snprintf(a->target_buf, sizeof(a->target_buf), "%s", arg);
	a->target = a->target_buf;
	return 0;
}

/*
 * "--api GET /nodes/pve1/status": the path as the proxy sees it, after
 * "/api2/json" (which may be given too); a query string is dropped.
 */
static int
parse_api(struct explain_args *a, const char *method, const char *path)
{
	static const char *const methods[] = { "GET", "POST", "PUT",
	    "DELETE" };
	size_t i;

	if (a->api)
		return arg_error("--api given twice", method);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i]) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0]))
		return arg_error("--api wants a method GET, POST, PUT or"
		    " DELETE", method);
	if (strlen(path) > ARG_MAX_LEN || path[0] != '/')
		return arg_error("--api wants a path such as"
		    " /nodes/pve1/status", path);
	if (strncmp(path, "/api2/json/", 11) == 0)
		path += 10;
	/* The query string is the proxy's to pass on, not the policy's. */
	snprintf(a->api_path, sizeof(a->api_path), "%.*s",
	    (int)strcspn(path, "?"), path);
	a->api_method = methods[i];
	a->api = 1;
	return 0;
}

static int
parse_explain(struct explain_args *a, int argc, char *argv[])
{
	int i, nword = 0;

	memset(a, 0, sizeof(*a));
	a->channel = -1;
	for (i = 0; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (strcmp(opt, "--api") == 0) {
			if (i + 2 >= argc) {
				fprintf(stderr, "hvbastion: --api wants METHOD"
				    " PATH\n");
				return -1;
			}
			if (parse_api(a, argv[i + 1], argv[i + 2]) < 0)
				return -1;
			i += 2;
			continue;
		}
		if (strcmp(opt, "--pool") == 0) {
			if (val == NULL || val[0] == '\0' ||
			    strlen(val) > ARG_MAX_LEN) {
				fprintf(stderr, "hvbastion: --pool wants a pool"
				    " name\n");
				return -1;
			}
			a->pool = val;
			i++;
			continue;
		}
		if (strcmp(opt, "--channel") == 0 ||
		    strcmp(opt, "--forward") == 0 ||
		    strcmp(opt, "--from") == 0 || strcmp(opt, "--at") == 0) {
			if (val == NULL) {
				fprintf(stderr, "hvbastion: %s wants a"
				    " value\n", opt);
				return -1;
			}
			i++;
			if (strcmp(opt, "--channel") == 0) {
				if ((a->channel =
				    policy_channel_from_name(val)) < 0)
					return arg_error("unknown channel"
					    " (shell, exec, sftp, scp,"
					    " port-forward)", val);
			} else if (strcmp(opt, "--forward") == 0) {
				if (parse_forward(a, val) < 0)
					return -1;
			} else if (strcmp(opt, "--from") == 0) {
				if (parse_from(a, val) < 0)
					return -1;
			} else if (parse_at(a, val) < 0)
				return -1;
			continue;
		}
		if (opt[0] == '-')
			return arg_error("unknown option", opt);
		if (nword == 0) {
			if (opt[0] == '\0' || strlen(opt) > ARG_MAX_LEN)
				return arg_error("bad person", opt);
			a->person = opt;
		} else if (nword == 1 && !a->api) {
			if (parse_target(a, opt) < 0)
				return -1;
		} else
			return arg_error("unexpected argument", opt);
		nword++;
	}
	if (a->api) {
		/* An API call has no target, channel or forward. */
		if (nword == 2) {
			fprintf(stderr, "hvbastion: --api takes a person and"
			    " no target\n");
			return -1;
		}
		if (nword != 1 || a->channel != -1 || a->fwd_port != 0) {
			if (nword == 1)
				fprintf(stderr, "hvbastion: --api goes without"
				    " --channel and --forward\n");
			else
				usage_explain();
			return -1;
		}
		return 0;
	}
	if (a->pool != NULL) {
		fprintf(stderr, "hvbastion: --pool goes with --api\n");
		return -1;
	}
	if (nword != 2) {
		usage_explain();
		return -1;
	}
	/* A destination only means something for a forward. */
	if (a->fwd_port != 0) {
		if (a->channel == -1)
			a->channel = POLICY_CHANNEL_FORWARD;
		else if (a->channel != POLICY_CHANNEL_FORWARD) {
			fprintf(stderr, "hvbastion: --forward goes with"
			    " --channel port-forward\n");
			return -1;
		}
	} else if (a->channel == POLICY_CHANNEL_FORWARD) {
		fprintf(stderr, "hvbastion: --channel port-forward wants"
		    " --forward HOST:PORT\n");
		return -1;
	}
	if (a->channel == -1)
		a->channel = POLICY_CHANNEL_SHELL;
	return 0;
}

/*
 * The file and line of the rule, for --json: from the grant when allowed;
 * otherwise the earliest "FILE:LINE" in the rule text naming a file the
 * configuration was read from (a path may hold ':' itself, so the file
 * list, not the first colon, says where the path ends).
 */
static void
rule_origin(const struct config *conf, const struct policy_decision *d,
    const char **file, long *line)
{
	const char *best = NULL, *bestfile = NULL;
	long bestline = 0;
	size_t i;

	*file = NULL;
	*line = 0;
	if (d->allow && d->grant != NULL && d->grant->origin.file != NULL) {
		*file = d->grant->origin.file;
		*line = d->grant->origin.line;
		return;
	}
	if (d->allow && d->api_grant != NULL &&
	    d->api_grant->origin.file != NULL) {
		*file = d->api_grant->origin.file;
		*line = d->api_grant->origin.line;
		return;
	}
	for (i = 0; i < conf->nfiles; i++) {
		const char *f = conf->files[i], *p = d->rule;
		size_t flen = strlen(f);

		if (flen == 0)
			continue;
		while ((p = strstr(p, f)) != NULL) {
			const char *q = p + flen;
			size_t n = 0;

			if (*q == ':')
				while (isdigit((unsigned char)q[1 + n]))
					n++;
			if (n > 0 && n < 10 && (best == NULL || p < best ||
			    (p == best && flen > strlen(bestfile)))) {
				best = p;
				bestfile = f;
				bestline = parse_digits(q + 1, n, 999999999);
			}
			p++;
		}
	}
	if (best != NULL) {
		*file = bestfile;
		*line = bestline;
	}
}

/* JSON strings must be UTF-8; anything else goes out escaped. */
static json_t *
jstr(const char *s)
{
	char esc[RULE_ESC_MAX];
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	return json_string(log_escape(esc, sizeof(esc), s));
}

/*
 * Ends an explanation in JSON: the rule and where it was written, then
 * one line on out.  Takes o.  0, or -1 when it could not be written.
 */
static int
print_json_decided(const struct config *conf, const struct policy_decision *d,
    json_t *o, FILE *out)
{
	const char *file;
	long line;
	char *text;
	int rc = -1;

	rule_origin(conf, d, &file, &line);
	json_object_set_new(o, "rule", jstr(d->rule));
	json_object_set_new(o, "file", jstr(file));
	json_object_set_new(o, "line", file != NULL ? json_integer(line) :
	    json_null());
	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) !=
	    NULL) {
		fprintf(out, "%s\n", text);
		free(text);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static int
print_json(const struct config *conf, const struct explain_args *a,
    const struct policy_decision *d, const char *login, FILE *out)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return -1;
	json_object_set_new(o, "decision", json_string(d->allow ? "allow" :
	    "deny"));
	json_object_set_new(o, "person", jstr(a->person));
	json_object_set_new(o, "target", jstr(a->target));
	json_object_set_new(o, "login", jstr(login));
	json_object_set_new(o, "channel",
	    json_string(policy_channel_name(a->channel)));
	if (a->fwd_port != 0) {
		json_object_set_new(o, "forward_host", jstr(a->fwd_host));
		json_object_set_new(o, "forward_port",
		    json_integer(a->fwd_port));
	}
	json_object_set_new(o, "role", d->allow && d->role != NULL ?
	    jstr(d->role->name) : json_null());
	return print_json_decided(conf, d, o, out);
}

static void
print_text(const struct explain_args *a, const struct policy_decision *d,
    const char *login, FILE *out)
{
	char person[ESC_MAX], target[ESC_MAX], elogin[ESC_MAX];
	char fhost[ESC_MAX], src[ESC_MAX], rule[RULE_ESC_MAX];

	log_escape(person, sizeof(person), a->person);
	log_escape(target, sizeof(target), a->target);
	log_escape(rule, sizeof(rule), d->rule);
	fprintf(out, "%s: %s -> ", d->allow ? "allow" : "deny", person);
	if (login != NULL && login[0] != '\0')
		fprintf(out, "%s@", log_escape(elogin, sizeof(elogin),
		    login));
	fprintf(out, "%s (%s", target, policy_channel_name(a->channel));
	if (a->fwd_port != 0) {
		log_escape(fhost, sizeof(fhost), a->fwd_host);
		fprintf(out, strchr(fhost, ':') != NULL ? " to [%s]:%d" :
		    " to %s:%d", fhost, a->fwd_port);
	}
	if (a->source != NULL)
		fprintf(out, ", from %s", log_escape(src, sizeof(src),
		    a->source));
	if (a->at != NULL)
		fprintf(out, ", at %s", a->at);	/* checked: digits */
	fprintf(out, "): %s\n", rule);
}

/*
 * --api: the ACL path and privilege come from api_acl_map() and the
 * decision from policy_decide_api(), exactly as the API proxy asks them.
 * Returns 1 if the call is known and its path well formed.
 */
static int
decide_api_call(const struct config *conf, const struct explain_args *a,
    struct api_acl *acl, struct policy_decision *d)
{
	struct policy_api_request req;
	int mrc;

	memset(d, 0, sizeof(*d));
	if ((mrc = api_acl_map(a->api_method, a->api_path, acl)) < 0) {
		snprintf(d->rule, sizeof(d->rule), mrc == -ENOENT ?
		    "default deny: unknown API call (the bastion forwards"
		    " only the calls it knows)" :
		    "default deny: malformed API path");
		return 0;
	}
	if (acl->flags & API_ACL_LOGIN) {
		d->allow = 1;
		snprintf(d->rule, sizeof(d->rule), "login: no ticket needed"
		    " (the bastion checks the password and the TOTP code)");
		return 1;
	}
	memset(&req, 0, sizeof(req));
	req.person = a->person;
	req.acl_path = acl->path;
	req.privilege = acl->privilege;
	req.pool = a->pool;
	req.source = a->source;
	req.when = a->when;
	policy_decide_api(conf, &req, d);
	return 1;
}

static int
print_api_json(const struct config *conf, const struct explain_args *a,
    const struct api_acl *acl, int known, const struct policy_decision *d,
    FILE *out)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return -1;
	json_object_set_new(o, "decision", json_string(d->allow ? "allow" :
	    "deny"));
	json_object_set_new(o, "person", jstr(a->person));
	json_object_set_new(o, "method", jstr(a->api_method));
	json_object_set_new(o, "path", jstr(a->api_path));
	json_object_set_new(o, "acl_path", known && acl->path[0] != '\0' ?
	    jstr(acl->path) : json_null());
	json_object_set_new(o, "privilege", known ? jstr(acl->privilege) :
	    json_null());
	json_object_set_new(o, "pool", jstr(a->pool));
	json_object_set_new(o, "list_filter", json_boolean(known &&
	    (acl->flags & API_ACL_LIST_FILTER)));
	json_object_set_new(o, "role", d->allow && d->role != NULL ?
	    jstr(d->role->name) : json_null());
	json_object_set_new(o, "api_credential", d->allow &&
	    d->api_credential != NULL ? jstr(d->api_credential->name) :
	    json_null());
	return print_json_decided(conf, d, o, out);
}

static void
print_api_text(const struct explain_args *a, const struct api_acl *acl,
    int known, const struct policy_decision *d, FILE *out)
{
	char person[ESC_MAX], path[ESC_MAX], pool[ESC_MAX], src[ESC_MAX];
	char rule[RULE_ESC_MAX], cred[ESC_MAX];

	log_escape(person, sizeof(person), a->person);
	log_escape(path, sizeof(path), a->api_path);
	log_escape(rule, sizeof(rule), d->rule);
	fprintf(out, "%s: %s -> %s %s (", d->allow ? "allow" : "deny", person,
	    a->api_method, path);
	if (!known)
		fprintf(out, "not forwarded");
	else if (acl->flags & API_ACL_LOGIN)
		fprintf(out, "login");
	else if (acl->path[0] == '\0')
		fprintf(out, "%s", acl->flags & API_ACL_LIST_FILTER ?
		    "list, filtered to the person's scope" : "no ACL path");
	else
		fprintf(out, "%s on %s", acl->privilege != NULL ?
		    acl->privilege : "any privilege",
		    acl->path);	/* from the table: plain text */
	if (a->pool != NULL)
		fprintf(out, ", pool %s", log_escape(pool, sizeof(pool),
		    a->pool));
	if (a->source != NULL)
		fprintf(out, ", from %s", log_escape(src, sizeof(src),
		    a->source));
	if (a->at != NULL)
		fprintf(out, ", at %s", a->at);	/* checked: digits */
	if (d->allow && d->api_credential != NULL)
		fprintf(out, ", api-credential \"%s\"", log_escape(cred,
		    sizeof(cred), d->api_credential->name));
	fprintf(out, "): %s\n", rule);
}

static int
policy_explain_api(const struct config *conf, const struct explain_args *a,
    FILE *out)
{
	struct policy_decision d;
	struct api_acl acl;
	int known, rc;

	known = decide_api_call(conf, a, &acl, &d);
	rc = d.allow ? EXIT_ALLOW : EXIT_DENY;
	if (a->json) {
		if (print_api_json(conf, a, &acl, known, &d, out) < 0) {
			fprintf(stderr, "hvbastion: out of memory\n");
			rc = EXIT_USAGE;
		}
	} else
		print_api_text(a, &acl, known, &d, out);
	return rc;
}

static int
policy_explain(const char *path, int argc, char *argv[], FILE *out)
{
	struct explain_args a;
	struct policy_request req;
	struct policy_decision d;
	struct config *conf;
	const char *login;
	int rc;

	if (parse_explain(&a, argc, argv) < 0)
		return EXIT_USAGE;
	if ((conf = config_load(path, print_error, NULL)) == NULL)
		return EXIT_USAGE;
	if (a.api) {
		rc = policy_explain_api(conf, &a, out);
		config_free(conf);
		return rc;
	}
	memset(&req, 0, sizeof(req));
	req.person = a.person;
	req.target = a.target;
	req.login = a.login[0] != '\0' ? a.login : NULL;
	req.channel = (enum policy_channel)a.channel;
	if (a.fwd_port != 0) {
		req.forward_host = a.fwd_host;
		req.forward_port = a.fwd_port;
	}
	req.source = a.source;
	req.when = a.when;
	memset(&d, 0, sizeof(d));
	rc = policy_decide(conf, &req, &d) ? EXIT_ALLOW : EXIT_DENY;
	/* Name the login actually used: the credential's, when allowed. */
	login = req.login;
	if (d.allow && d.credential != NULL && d.credential->login != NULL)
		login = d.credential->login;
	if (a.json) {
		if (print_json(conf, &a, &d, login, out) < 0) {
			fprintf(stderr, "hvbastion: out of memory\n");
			rc = EXIT_USAGE;
		}
	} else
		print_text(&a, &d, login, out);
	config_free(conf);
	return rc;
}

/*
 * "configuration OK", then the separation exceptions in force: they are
 * holes in the hypervisor/guest wall, so the check names them every time,
 * as the daemon logs them at every load.
 */
static int
policy_check(const char *path, int argc, FILE *out)
{
	char person[ESC_MAX], reason[RULE_ESC_MAX], file[RULE_ESC_MAX];
	struct config *conf;
	size_t i;

	if (argc != 1) {
		usage_policy();
		return EXIT_USAGE;
	}
	if ((conf = config_load(path, print_error, NULL)) == NULL)
		return 1;
	fprintf(out, "configuration OK\n");
	for (i = 0; i < conf->nexceptions; i++) {
		const struct config_exception *e = conf->exceptions[i];

		fprintf(out, "%s:%d: separation exception in force for"
		    " \"%s\": %s\n",
		    log_escape(file, sizeof(file), e->origin.file),
		    e->origin.line,
		    log_escape(person, sizeof(person), e->person),
		    log_escape(reason, sizeof(reason), e->reason));
	}
	config_free(conf);
	return 0;
}

int
policy_cli_main(const char *path, int argc, char *argv[], FILE *out)
{
	if (argc >= 1 && strcmp(argv[0], "check") == 0)
		return policy_check(path, argc, out);
	if (argc >= 1 && strcmp(argv[0], "explain") == 0)
		return policy_explain(path, argc - 1, argv + 1, out);
	usage_policy();
	return EXIT_USAGE;
}
