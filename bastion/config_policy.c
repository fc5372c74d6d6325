/*
 * config_policy.c - the policy part of hvbastion.conf: target attributes,
 * roles, grants, a user's roles, validity and source networks, separation
 * exceptions, and the checks that keep the hypervisor and guest sides apart
 * (ANSSI virtualisation guide R7/R8).
 *
 * The grammar is in POLICY_DESIGN.md and hvbastion.conf(5).  Like the rest
 * of the parser, every error is reported as file:line: message and parsing
 * goes on, so that one run shows every mistake.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../policy/policy.h"
#include "config_parse.h"
#include "names.h"

#define VMID_MAX	999999999L

static const char *const side_names[] = { "hypervisor", "guest", "audit",
	"bastion-admin" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

#define DEFAULT_CHANNELS \
	((1u << POLICY_CHANNEL_SHELL) | (1u << POLICY_CHANNEL_EXEC))

/* --- small parsers ---------------------------------------------------- */

/* "2026-01-01" -> midnight UTC of that day; -1 if not a real date. */
static time_t
parse_date(const char *s)
{
	struct tm tm, back;
	time_t t;
	int i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 +
	    (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1)
		return -1;
	back = tm;
	t = timegm(&tm);
	/* timegm normalises 2026-02-31 to March: refuse such dates. */
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon)
		return -1;
	return t;
}

/* "10.0.0.0/8", "192.0.2.7", "2001:db8::/32": 0, or -1. */
static int
parse_net(const char *s, struct config_net *n)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long prefix;
	int max, i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	memset(n->addr, 0, sizeof(n->addr));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return -1;
	prefix = max;
	if (slash != NULL) {
		errno = 0;
		prefix = strtol(slash, &end, 10);
		if (errno != 0 || end == slash || *end != '\0' || prefix < 0 ||
		    prefix > max || !isdigit((unsigned char)slash[0]))
			return -1;
	}
	n->prefix = (int)prefix;
	/* Clear host bits so that matching is a plain compare. */
	for (i = 0; i < max / 8; i++) {
		int keep = n->prefix - i * 8;

		if (keep <= 0)
			n->addr[i] = 0;
		else if (keep < 8)
			n->addr[i] &= (unsigned char)(0xff << (8 - keep));
	}
	return 0;
}

static int
parse_hhmm(const char *s, size_t len, int *min)
{
	if (len != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	*min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
	    (s[3] - '0') * 10 + (s[4] - '0');
	if ((s[3] - '0') > 5 || *min > 24 * 60)
		return -1;
	return 0;
}

static int
day_index(const char *s, size_t len)
{
	int i;

	for (i = 0; i < 7; i++)
		if (len == 3 && strncmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/*
 * "mon-fri 07:00-20:00", "sat,sun 09:00-12:00", "* 00:00-24:00".
 * Returns 0, -1 (malformed) or -2 (end not after start).
 */
/* An "hours" line of a grant or an api-grant: its windows, or errors. */
void
config_parse_hours(struct parser *p, const struct conf_stmt *st,
    struct config_window **windows, size_t *nwindows)
{
	size_t i;

	if (st->nwords < 2)
		config_perr(p, st->line, "hours: expected"
		    " \"DAYS HH:MM-HH:MM\"");
	for (i = 1; i < st->nwords; i++) {
		struct config_window w;
		int rc;

		if ((rc = config_parse_window(st->words[i], &w)) == -2) {
			config_perr(p, st->line, "hours \"%s\": the"
			    " end must be after the start", st->words[i]);
			continue;
		}
		if (rc < 0) {
			config_perr(p, st->line, "hours \"%s\":"
			    " expected \"DAYS HH:MM-HH:MM\" (days"
			    " mon..sun, ranges such as mon-fri, lists"
			    " such as sat,sun, or *)", st->words[i]);
			continue;
		}
		if (config_grow((void **)windows, *nwindows,
		    sizeof(w)) < 0) {
			config_perr(p, st->line, "too many hours");
			return;
		}
		(*windows)[(*nwindows)++] = w;
	}
}

int
config_parse_window(const char *s, struct config_window *w)
{
	const char *sp, *p, *item, *dash;
	int a, b, d;

	memset(w, 0, sizeof(*w));
	if ((sp = strchr(s, ' ')) == NULL || strchr(sp + 1, ' ') != NULL)
		return -1;
	if (sp - s == 1 && s[0] == '*')
		w->days = 0x7f;
	else {
		for (item = s; item < sp; item = p + 1) {
			for (p = item; p < sp && *p != ','; p++)
				;
			dash = memchr(item, '-', (size_t)(p - item));
			if (dash == NULL) {
				if ((a = day_index(item,
				    (size_t)(p - item))) < 0)
					return -1;
				w->days |= 1u << a;
				continue;
			}
			a = day_index(item, (size_t)(dash - item));
			b = day_index(dash + 1, (size_t)(p - dash - 1));
			if (a < 0 || b < 0)
				return -1;
			/* "fri-mon" wraps over the week end. */
			for (d = a;; d = (d + 1) % 7) {
				w->days |= 1u << d;
				if (d == b)
					break;
			}
		}
	}
	p = sp + 1;
	if ((dash = strchr(p, '-')) == NULL ||
	    parse_hhmm(p, (size_t)(dash - p), &w->start_min) < 0 ||
	    parse_hhmm(dash + 1, strlen(dash + 1), &w->end_min) < 0 ||
	    w->start_min >= 24 * 60)
		return -1;
	if (w->end_min <= w->start_min)
		return -2;
	return 0;
}

/* "127.0.0.1:8006", "[::1]:8006", "pve1.example.org:22". */
static int
parse_forward(const char *s, struct config_forward *f)
{
	char host[CONF_LEX_TOKEN_MAX];
	const char *colon, *hs = s, *he;
	char *end;
	long port;

	if ((colon = strrchr(s, ':')) == NULL)
		return -1;
	he = colon;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']')
			return -1;
		hs = s + 1;
		he = colon - 1;
	}
	if (he <= hs || (size_t)(he - hs) >= sizeof(host))
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (!names_valid_address(host))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 ||
	    port > 65535 || !isdigit((unsigned char)colon[1]))
		return -1;
	if ((f->host = strdup(host)) == NULL)
		return -1;
	f->port = (int)port;
	return 0;
}

/* Appends a copy of each of words[from..] to *arr. */
static int
add_words(struct parser *p, const struct conf_stmt *st, size_t from,
    char ***arr, size_t *n)
{
	size_t i;

	for (i = from; i < st->nwords; i++) {
		if (config_grow((void **)arr, *n, sizeof(char *)) < 0 ||
		    ((*arr)[*n] = strdup(st->words[i])) == NULL) {
			config_perr(p, st->line, "too many values or out of"
			    " memory");
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* --- targets: attributes -------------------------------------------------- */

int
config_policy_target_stmt(struct parser *p, struct conf_stmt *st,
    struct config_target *t)
{
	const char *kw = st->words[0];

	if (strcmp(kw, "node") == 0)
		config_take_string(p, st, &t->node);
	else if (strcmp(kw, "pool") == 0)
		config_take_string(p, st, &t->pool);
	else if (strcmp(kw, "zone") == 0)
		config_take_string(p, st, &t->zone);
	else if (strcmp(kw, "sensitivity") == 0)
		config_take_string(p, st, &t->sensitivity);
	else if (strcmp(kw, "tag") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "tag: expected one or more"
			    " tags");
		else
			add_words(p, st, 1, &t->tags, &t->ntags);
	} else if (strcmp(kw, "vmid") == 0) {
		long v;

		if (t->vmid != -1)
			config_perr(p, st->line, "vmid: given more than once");
		else if (st->nwords != 2)
			config_perr(p, st->line, "vmid: expected one number");
		else if (config_parse_long(p, st, 1, 1, VMID_MAX, &v) == 0)
			t->vmid = v;
	} else
		return 0;
	return 1;
}

/* --- roles and grants ---------------------------------------------------- */

static void
role_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_role *r = obj;
	struct parse_role *pr = &p->proles[p->conf->nroles - 1];
	size_t i;

	if (config_api_policy_role_stmt(p, st, r))
		return;
	if (strcmp(st->words[0], "side") != 0) {
		config_perr(p, st->line, "unknown keyword \"%s\" in role",
		    st->words[0]);
		return;
	}
	if (pr->side_set) {
		config_perr(p, st->line, "side: given more than once");
		return;
	}
	for (i = 0; st->nwords == 2 && i < 4; i++)
		if (strcmp(st->words[1], side_names[i]) == 0) {
			r->side = (enum role_side)i;
			pr->side_set = 1;
			return;
		}
	config_perr(p, st->line, "side: expected hypervisor, guest, audit or"
	    " bastion-admin");
}

static const struct {
	const char		*word;
	enum selector_kind	 kind;
} selector_words[] = {
	{ "kind", SELECT_KIND }, { "node", SELECT_NODE },
	{ "vmid", SELECT_VMID }, { "pool", SELECT_POOL },
	{ "tag", SELECT_TAG }, { "zone", SELECT_ZONE },
	{ "sensitivity", SELECT_SENSITIVITY },
};

/* One "targets ..." line of a grant. */
static void
targets_stmt(struct parser *p, struct conf_stmt *st, struct config_grant *g)
{
	struct config_selector sel;
	size_t i;

	memset(&sel, 0, sizeof(sel));
	sel.origin.file = p->file;
	sel.origin.line = st->line;
	if (st->nwords < 2) {
		config_perr(p, st->line, "targets: expected names, all, kind,"
		    " node, vmid, pool, tag, zone or sensitivity");
		return;
	}
	if (st->quoted[1]) {
		/* A quoted word is always a name, never a keyword. */
		sel.kind = SELECT_NAMES;
		for (i = 1; i < st->nwords; i++)
			if (!st->quoted[i] || !names_valid(st->words[i])) {
				config_perr(p, st->line, "targets: \"%s\" is"
				    " not a quoted target name",
				    st->words[i]);
				return;
			}
	} else if (strcmp(st->words[1], "all") == 0) {
		if (st->nwords != 2) {
			config_perr(p, st->line, "targets all: takes no"
			    " values");
			return;
		}
		sel.kind = SELECT_ALL;
	} else {
		for (i = 0; i < sizeof(selector_words) /
		    sizeof(selector_words[0]); i++)
			if (strcmp(st->words[1], selector_words[i].word) == 0)
				break;
		if (i == sizeof(selector_words) / sizeof(selector_words[0])) {
			config_perr(p, st->line, "targets: expected names,"
			    " all, kind, node, vmid, pool, tag, zone or"
			    " sensitivity");
			return;
		}
		sel.kind = selector_words[i].kind;
		if (st->nwords < 3) {
			config_perr(p, st->line, "targets %s: expected one or"
			    " more values", st->words[1]);
			return;
		}
		if (sel.kind == SELECT_KIND) {
			if (st->nwords == 3 &&
			    strcmp(st->words[2], "hypervisor") == 0)
				sel.target_kind = TARGET_KIND_HYPERVISOR;
			else if (st->nwords == 3 &&
			    strcmp(st->words[2], "guest") == 0)
				sel.target_kind = TARGET_KIND_GUEST;
			else {
				config_perr(p, st->line, "targets kind:"
				    " expected hypervisor or guest");
				return;
			}
		}
	}
	if (sel.kind == SELECT_VMID) {
		if ((sel.vmids = calloc(st->nwords, sizeof(long))) == NULL) {
			config_perr(p, st->line, "out of memory");
			return;
		}
		for (i = 2; i < st->nwords; i++) {
			char *end;
			long v;

			errno = 0;
			v = strtol(st->words[i], &end, 10);
			if (errno != 0 || end == st->words[i] || *end != '\0' ||
			    v < 1 || v > VMID_MAX) {
				config_perr(p, st->line, "targets vmid: \"%s\""
				    " is not a number from 1 to %ld",
				    st->words[i], VMID_MAX);
				free(sel.vmids);
				return;
			}
			sel.vmids[i - 2] = v;
		}
	}
	if (sel.kind != SELECT_ALL && sel.kind != SELECT_KIND &&
	    add_words(p, st, sel.kind == SELECT_NAMES ? 1 : 2, &sel.values,
	    &sel.nvalues) < 0) {
		for (i = 0; i < sel.nvalues; i++)
			free(sel.values[i]);
		free(sel.values);
		free(sel.vmids);
		return;
	}
	if (config_grow((void **)&g->selectors, g->nselectors,
	    sizeof(sel)) < 0) {
		config_perr(p, st->line, "too many targets lines");
		for (i = 0; i < sel.nvalues; i++)
			free(sel.values[i]);
		free(sel.values);
		free(sel.vmids);
		return;
	}
	g->selectors[g->nselectors++] = sel;
}

static void
grant_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_grant *g = obj;
	struct parse_grant *pg = &p->pgrants[p->conf->ngrants - 1];
	const char *kw = st->words[0];
	size_t i;

	if (strcmp(kw, "targets") == 0)
		targets_stmt(p, st, g);
	else if (strcmp(kw, "login") == 0) {
		if (config_take_string(p, st, &g->login) == 0) {
			pg->login_line = st->line;
			if (!names_valid_login(g->login))
				config_perr(p, st->line, "login \"%s\":"
				    " invalid login name", g->login);
		}
	} else if (strcmp(kw, "channels") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "channels: expected shell,"
			    " exec, sftp, scp or port-forward");
		if (!pg->channels_set)
			g->channels = 0;
		pg->channels_set = 1;
		for (i = 1; i < st->nwords; i++) {
			int c = policy_channel_from_name(st->words[i]);

			if (c < 0)
				config_perr(p, st->line, "channels: unknown"
				    " channel \"%s\" (shell, exec, sftp, scp,"
				    " port-forward)", st->words[i]);
			else {
				g->channels |= 1u << c;
				if (c == POLICY_CHANNEL_FORWARD)
					pg->channels_line = st->line;
			}
		}
	} else if (strcmp(kw, "forward") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "forward: expected"
			    " \"HOST:PORT\"");
		if (pg->forward_line == 0)
			pg->forward_line = st->line;
		for (i = 1; i < st->nwords; i++) {
			struct config_forward f;

			if (config_grow((void **)&g->forwards, g->nforwards,
			    sizeof(f)) < 0) {
				config_perr(p, st->line, "too many forwards");
				return;
			}
			if (parse_forward(st->words[i], &f) < 0) {
				config_perr(p, st->line, "forward: \"%s\" is"
				    " not HOST:PORT", st->words[i]);
				continue;
			}
			g->forwards[g->nforwards++] = f;
		}
	} else if (strcmp(kw, "hours") == 0) {
		config_parse_hours(p, st, &g->windows, &g->nwindows);
	} else
		config_perr(p, st->line, "unknown keyword \"%s\" in grant", kw);
}

int
config_policy_block(struct parser *p, struct conf_lex *lx,
    struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];
	const char *name = st->nwords > 1 ? st->words[1] : "";

	if (config_api_policy_block(p, lx, st))
		return 1;
	if (strcmp(kw, "role") == 0) {
		struct config_role *r = NULL;

		if (config_grow((void **)&p->proles, conf->nroles,
		    sizeof(*p->proles)) == 0)
			r = config_new_block(p, st, (void ***)&conf->roles,
			    &conf->nroles, sizeof(*r),
			    config_find_role(conf, name) != NULL);
		if (r == NULL) {
			config_parse_block(p, lx, st->line, NULL, NULL);
			return 1;
		}
		memset(&p->proles[conf->nroles - 1], 0, sizeof(*p->proles));
		r->origin.file = p->file;
		r->origin.line = st->line;
		r->name = config_strdup(p, st->line, name);
		config_parse_block(p, lx, st->line, role_stmt, r);
		return 1;
	}
	if (strcmp(kw, "grant") == 0) {
		struct config_grant *g = NULL;

		/* Many grants may name one role: no duplicate check. */
		if (config_grow((void **)&p->pgrants, conf->ngrants,
		    sizeof(*p->pgrants)) == 0)
			g = config_new_block(p, st, (void ***)&conf->grants,
			    &conf->ngrants, sizeof(*g), 0);
		if (g == NULL) {
			config_parse_block(p, lx, st->line, NULL, NULL);
			return 1;
		}
		memset(&p->pgrants[conf->ngrants - 1], 0, sizeof(*p->pgrants));
		p->pgrants[conf->ngrants - 1].role = config_strdup(p,
		    st->line, name);
		g->origin.file = p->file;
		g->origin.line = st->line;
		g->channels = DEFAULT_CHANNELS;
		config_parse_block(p, lx, st->line, grant_stmt, g);
		return 1;
	}
	return 0;
}

/* --- users and exceptions -------------------------------------------------- */

int
config_policy_user_stmt(struct parser *p, struct conf_stmt *st,
    struct config_user *u)
{
	struct parse_user *pu = &p->pusers[p->conf->nusers - 1];
	const char *kw = st->words[0];
	size_t i;

	if (strcmp(kw, "role") == 0)
		config_add_ref(p, st, &pu->roles, &pu->nroles);
	else if (strcmp(kw, "valid-from") == 0 ||
	    strcmp(kw, "valid-until") == 0) {
		int until = kw[6] == 'u';
		time_t t;

		if (until ? pu->until_set : pu->from_set) {
			config_perr(p, st->line, "%s: given more than once",
			    kw);
			return 1;
		}
		if (st->nwords != 2 || (t = parse_date(st->words[1])) < 0) {
			config_perr(p, st->line, "%s: expected a date"
			    " \"YYYY-MM-DD\"", kw);
			return 1;
		}
		if (until) {
			/* Inclusive: through the last second of the day. */
			u->valid_until = t + 86399;
			pu->until_set = 1;
		} else {
			/* 0 means "no limit": 1970-01-01 is 1 second on. */
			u->valid_from = t == 0 ? 1 : t;
			pu->from_set = 1;
		}
	} else if (strcmp(kw, "from") == 0) {
		if (st->nwords < 2)
			config_perr(p, st->line, "from: expected addresses or"
			    " networks");
		for (i = 1; i < st->nwords; i++) {
			struct config_net n;

			/* fe80::1%eth0: the client address never has one. */
			if (strchr(st->words[i], '%') != NULL) {
				config_perr(p, st->line, "from: \"%s\": an"
				    " IPv6 zone (%%INTERFACE) is not allowed;"
				    " give the address or network without it",
				    st->words[i]);
				continue;
			}
			if (parse_net(st->words[i], &n) < 0) {
				config_perr(p, st->line, "from: \"%s\" is not"
				    " an address or network (CIDR)",
				    st->words[i]);
				continue;
			}
			n.origin.file = p->file;
			n.origin.line = st->line;
			if (config_grow((void **)&u->nets, u->nnets,
			    sizeof(n)) < 0) {
				config_perr(p, st->line, "too many networks");
				return 1;
			}
			u->nets[u->nnets++] = n;
		}
	} else
		return 0;
	return 1;
}

int
config_policy_stmt(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	struct config_exception *e;

	if (config_api_policy_stmt(p, st))
		return 1;
	if (strcmp(st->words[0], "separation-exception") != 0)
		return 0;
	if (st->nwords != 3 || !names_valid(st->words[1]) ||
	    st->words[2][0] == '\0') {
		config_perr(p, st->line, "separation-exception: expected"
		    " \"PERSON\" \"REASON\"");
		return 1;
	}
	if (config_grow((void **)&conf->exceptions, conf->nexceptions,
	    sizeof(e)) < 0 || (e = calloc(1, sizeof(*e))) == NULL) {
		config_perr(p, st->line, "out of memory");
		return 1;
	}
	conf->exceptions[conf->nexceptions++] = e;
	e->person = config_strdup(p, st->line, st->words[1]);
	e->reason = config_strdup(p, st->line, st->words[2]);
	e->origin.file = p->file;
	e->origin.line = st->line;
	return 1;
}

/* --- second pass: resolution and checks ---------------------------------- */

int
config_selector_match(const struct config_selector *s,
    const struct config_target *t)
{
	const char *attr = NULL;
	size_t i, j;

	switch (s->kind) {
	case SELECT_ALL:
		return 1;
	case SELECT_KIND:
		return t->kind == s->target_kind;
	case SELECT_VMID:
		for (i = 0; i < s->nvalues; i++)
			if (t->vmid == s->vmids[i])
				return 1;
		return 0;
	case SELECT_TAG:
		for (i = 0; i < s->nvalues; i++)
			for (j = 0; j < t->ntags; j++)
				if (strcmp(s->values[i], t->tags[j]) == 0)
					return 1;
		return 0;
	case SELECT_NAMES:
		attr = t->name;
		break;
	case SELECT_NODE:
		attr = t->node;
		break;
	case SELECT_POOL:
		attr = t->pool;
		break;
	case SELECT_ZONE:
		attr = t->zone;
		break;
	case SELECT_SENSITIVITY:
		attr = t->sensitivity;
		break;
	}
	if (attr == NULL)
		return 0;
	for (i = 0; i < s->nvalues; i++)
		if (strcmp(s->values[i], attr) == 0)
			return 1;
	return 0;
}

static int
credential_login(const struct config_target *t, const char *login)
{
	size_t i;

	for (i = 0; i < t->ncredentials; i++)
		if (strcmp(t->credentials[i]->login, login) == 0)
			return 1;
	return 0;
}

static void
check_grant(struct parser *p, struct config_grant *g,
    const struct parse_grant *pg)
{
	struct config *conf = p->conf;
	const struct config_role *r = g->role;
	int login_found = 0;
	size_t i, j, k;

	for (i = 0; i < g->nselectors; i++) {
		struct config_selector *s = &g->selectors[i];

		if (s->kind != SELECT_NAMES)
			continue;
		for (j = 0; j < s->nvalues; j++)
			if (config_find_target(conf, s->values[j]) == NULL)
				config_perr_at(p, &s->origin, "targets:"
				    " unknown target \"%s\"", s->values[j]);
	}
	if (pg->forward_line != 0 &&
	    !(g->channels & (1u << POLICY_CHANNEL_FORWARD))) {
		struct config_origin o = { g->origin.file, pg->forward_line };

		config_perr_at(p, &o, "forward: needs \"channels ..."
		    " port-forward\"");
	}
	/* The reverse: a forward channel that could reach nothing. */
	if (pg->forward_line == 0 &&
	    (g->channels & (1u << POLICY_CHANNEL_FORWARD))) {
		struct config_origin o = { g->origin.file, pg->channels_line };

		config_perr_at(p, &o, "channels port-forward: no \"forward\""
		    " line (the HOST:PORT destinations it allows)");
	}
	if (r == NULL)
		return;
	if (r->side == ROLE_SIDE_AUDIT || r->side == ROLE_SIDE_BASTION_ADMIN) {
		if (g->nselectors > 0)
			config_perr_at(p, &g->origin, "grant of role \"%s\":"
			    " a role of side %s may not select targets"
			    " (auditors only read)", r->name,
			    side_names[r->side]);
		return;
	}
	if (g->nselectors == 0) {
		config_perr_at(p, &g->origin, "grant of role \"%s\": no"
		    " targets line", r->name);
		return;
	}
	for (k = 0; k < conf->ntargets; k++) {
		const struct config_target *t = conf->targets[k];
		const struct config_selector *s = NULL;

		for (i = 0; i < g->nselectors && s == NULL; i++)
			if (config_selector_match(&g->selectors[i], t))
				s = &g->selectors[i];
		if (s == NULL)
			continue;
		/* The heart of R7/R8: one role, one side. */
		if ((r->side == ROLE_SIDE_HYPERVISOR &&
		    t->kind != TARGET_KIND_HYPERVISOR) ||
		    (r->side == ROLE_SIDE_GUEST &&
		    t->kind != TARGET_KIND_GUEST))
			config_perr_at(p, &s->origin, "grant of role \"%s\""
			    " (side %s) selects %s target \"%s\"", r->name,
			    side_names[r->side],
			    config_target_kind_name(t->kind), t->name);
		if (g->login != NULL && credential_login(t, g->login))
			login_found = 1;
	}
	if (g->login != NULL && !login_found) {
		struct config_origin o = { g->origin.file, pg->login_line };

		config_perr_at(p, &o, "grant of role \"%s\": no selected target"
		    " has a credential with login \"%s\"", r->name, g->login);
	}
}

void
config_policy_resolve(struct parser *p)
{
	struct config *conf = p->conf;
	size_t i, j;

	for (i = 0; i < conf->nroles; i++)
		if (!p->proles[i].side_set)
			config_perr_at(p, &conf->roles[i]->origin, "role"
			    " \"%s\": no side (hypervisor, guest, audit or"
			    " bastion-admin)", conf->roles[i]->name);
	for (i = 0; i < conf->ngrants; i++) {
		struct config_grant *g = conf->grants[i];
		struct config_role *r = NULL;

		for (j = 0; j < conf->nroles && p->pgrants[i].role != NULL; j++)
			if (strcmp(conf->roles[j]->name,
			    p->pgrants[i].role) == 0)
				r = conf->roles[j];
		if (r == NULL)
			config_perr_at(p, &g->origin, "grant: unknown role"
			    " \"%s\"", p->pgrants[i].role != NULL ?
			    p->pgrants[i].role : "");
		else if (config_grow((void **)&r->grants, r->ngrants,
		    sizeof(g)) < 0)
			config_perr_at(p, &g->origin, "out of memory");
		else {
			r->grants[r->ngrants++] = g;
			g->role = r;
		}
		check_grant(p, g, &p->pgrants[i]);
	}
	for (i = 0; i < conf->nexceptions; i++) {
		struct config_exception *e = conf->exceptions[i];
		struct config_user *u = NULL;

		for (j = 0; j < conf->nusers && e->person != NULL; j++)
			if (strcmp(conf->users[j]->name, e->person) == 0)
				u = conf->users[j];
		if (u == NULL)
			config_perr_at(p, &e->origin, "separation-exception:"
			    " unknown user \"%s\"", e->person != NULL ?
			    e->person : "");
		else if (u->exception != NULL)
			config_perr_at(p, &e->origin, "separation-exception:"
			    " user \"%s\" already has one (%s:%d)", u->name,
			    u->exception->origin.file,
			    u->exception->origin.line);
		else
			u->exception = e;
	}
	for (i = 0; i < conf->nusers; i++) {
		struct config_user *u = conf->users[i];
		struct parse_user *pu = &p->pusers[i];
		const struct config_role *hv = NULL, *guest = NULL;

		u->roles = calloc(pu->nroles + 1, sizeof(*u->roles));
		u->role_origins = calloc(pu->nroles + 1,
		    sizeof(*u->role_origins));
		if (u->roles == NULL || u->role_origins == NULL) {
			config_perr_at(p, &u->origin, "out of memory");
			continue;
		}
		for (j = 0; j < pu->nroles; j++) {
			struct config_role *r;
			size_t k;

			for (k = 0; k < j; k++)
				if (strcmp(pu->roles[k].name,
				    pu->roles[j].name) == 0)
					break;
			if (k < j) {
				config_perr_at(p, &pu->roles[j].origin, "user"
				    " \"%s\": role \"%s\" is given more than"
				    " once (first at line %d)", u->name,
				    pu->roles[j].name,
				    pu->roles[k].origin.line);
				continue;
			}
			r = (struct config_role *)config_find_role(conf,
			    pu->roles[j].name);
			if (r == NULL) {
				config_perr_at(p, &pu->roles[j].origin, "user"
				    " \"%s\": unknown role \"%s\"", u->name,
				    pu->roles[j].name);
				continue;
			}
			u->role_origins[u->nroles] = pu->roles[j].origin;
			u->roles[u->nroles++] = r;
			if (r->side == ROLE_SIDE_HYPERVISOR && hv == NULL)
				hv = r;
			if (r->side == ROLE_SIDE_GUEST && guest == NULL)
				guest = r;
		}
		if (hv != NULL && guest != NULL && u->exception == NULL)
			config_perr_at(p, &u->origin, "user \"%s\": holds the"
			    " hypervisor-side role \"%s\" and the guest-side"
			    " role \"%s\" without a separation-exception",
			    u->name, hv->name, guest->name);
		if (u->valid_from != 0 && u->valid_until != 0 &&
		    u->valid_until < u->valid_from)
			config_perr_at(p, &u->origin, "user \"%s\": valid-until"
			    " is before valid-from", u->name);
	}
	config_api_policy_resolve(p);
}

/* --- freeing ------------------------------------------------------------- */

void
config_policy_free_parse(struct parser *p)
{
	size_t i, j;

	for (i = 0; p->pusers != NULL && i < p->conf->nusers; i++) {
		for (j = 0; j < p->pusers[i].nroles; j++)
			free(p->pusers[i].roles[j].name);
		free(p->pusers[i].roles);
	}
	free(p->pusers);
	for (i = 0; p->pgrants != NULL && i < p->conf->ngrants; i++)
		free(p->pgrants[i].role);
	free(p->pgrants);
	config_api_policy_free_parse(p);
	for (i = 0; p->proles != NULL && i < p->conf->nroles; i++)
		free(p->proles[i].api_cred.name);
	free(p->proles);
	p->pusers = NULL;
	p->pgrants = NULL;
	p->proles = NULL;
}

void
config_policy_free_target(struct config_target *t)
{
	size_t i;

	free(t->node);
	free(t->pool);
	free(t->zone);
	free(t->sensitivity);
	for (i = 0; i < t->ntags; i++)
		free(t->tags[i]);
	free(t->tags);
}

void
config_policy_free_user(struct config_user *u)
{
	free(u->roles);
	free(u->role_origins);
	free(u->nets);
}

void
config_policy_free(struct config *conf)
{
	size_t i, j, k;

	for (i = 0; i < conf->ngrants; i++) {
		struct config_grant *g = conf->grants[i];

		for (j = 0; j < g->nselectors; j++) {
			for (k = 0; k < g->selectors[j].nvalues; k++)
				free(g->selectors[j].values[k]);
			free(g->selectors[j].values);
			free(g->selectors[j].vmids);
		}
		free(g->selectors);
		free(g->login);
		for (j = 0; j < g->nforwards; j++)
			free(g->forwards[j].host);
		free(g->forwards);
		free(g->windows);
		free(g);
	}
	free(conf->grants);
	config_api_policy_free(conf);
	for (i = 0; i < conf->nroles; i++) {
		free(conf->roles[i]->name);
		free(conf->roles[i]->grants);
		free(conf->roles[i]);
	}
	free(conf->roles);
	for (i = 0; i < conf->nexceptions; i++) {
		free(conf->exceptions[i]->person);
		free(conf->exceptions[i]->reason);
		free(conf->exceptions[i]);
	}
	free(conf->exceptions);
}

const struct config_role *
config_find_role(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nroles; i++)
		if (conf->roles[i]->name != NULL &&
		    strcmp(conf->roles[i]->name, name) == 0)
			return conf->roles[i];
	return NULL;
}
