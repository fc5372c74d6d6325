/*
 * test_policy.c - policy_decide() and policy_each_target() on a real
 * configuration loaded from files (an inventory that includes a policy
 * file), table-driven: every selector kind, login restriction, channels,
 * forward destinations, hours, validity dates, source networks (v4 and
 * v6), default deny and unknown people.
 *
 * The rule texts belong to policy.c; these tests hold them to what the
 * design promises (the deciding grant's file:line, the role's name) rather
 * than to their exact wording, so that rewording a message breaks nothing
 * here while naming the wrong rule does.
 *
 * Times are explicit (request.when) and TZ is UTC, so hours windows give
 * the same answer on every machine and every day.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "unit_util.h"
#include "../../bastion/config.h"
#include "../../policy/policy.h"

#define CONF_TEXT_MAX	16384
#define NUSERKEYS	9

/* Wednesday 2026-06-03 00:00 UTC, and the days around it. */
#define WED		((time_t)1780444800)
#define DAY		((time_t)86400)
#define AT(day, h, m)	((day) + (time_t)(h) * 3600 + (time_t)(m) * 60)
#define SAT		(WED + 3 * DAY)
#define SUN		(WED + 4 * DAY)
#define NOW		AT(WED, 10, 0)

/* Lines of policy.conf that rules must name. */
#define L_GRANT_HV	17
#define L_GRANT_NIGHT	24
#define L_GRANT_GUEST	29
#define L_GRANT_POOL	34
#define L_GRANT_VMID	38
#define L_GRANT_ZONE	44
#define L_ALICE_FROM1	53
#define L_ALICE_FROM2	54
#define L_EXCEPTION	69

static const char main_conf[] =
    "# test_policy.c: inventory; the policy is in policy.conf\n"	/* 1 */
    "listen \"127.0.0.1\" port 2222\n"			/* 2 */
    "state-directory \"@DIR@\"\n"			/* 3 */
    "include \"policy.conf\"\n"				/* 4 */
    "credential \"root-key\" {\n"			/* 5 */
    "\tlogin \"root\"\n"				/* 6 */
    "\tkey-file \"@KEY@\"\n"				/* 7 */
    "}\n"						/* 8 */
    "credential \"admin-key\" {\n"			/* 9 */
    "\tlogin \"admin\"\n"				/* 10 */
    "\tkey-file \"@KEY@\"\n"				/* 11 */
    "}\n"						/* 12 */
    "credential \"ops-key\" {\n"			/* 13 */
    "\tlogin \"ops\"\n"					/* 14 */
    "\tkey-file \"@KEY@\"\n"				/* 15 */
    "}\n"						/* 16 */
    "target \"pve1\" {\n"				/* 17 */
    "\taddress \"10.0.0.1\"\n"				/* 18 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 19 */
    "\tkind hypervisor\n"				/* 20 */
    "\tcredential \"root-key\"\n"			/* 21 */
    "\tcredential \"ops-key\"\n"			/* 22 */
    "\tnode \"pve1\"\n"					/* 23 */
    "\ttag \"hv-prod\"\n"				/* 24 */
    "\tzone \"core\"\n"					/* 25 */
    "\tsensitivity \"critical\"\n"			/* 26 */
    "}\n"						/* 27 */
    "target \"pve2\" {\n"				/* 28 */
    "\taddress \"10.0.0.2\"\n"				/* 29 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 30 */
    "\tkind hypervisor\n"				/* 31 */
    "\tcredential \"root-key\"\n"			/* 32 */
    "\tnode \"pve2\"\n"					/* 33 */
    "}\n"						/* 34 */
    "target \"vm101\" {\n"				/* 35 */
    "\taddress \"10.0.1.101\"\n"			/* 36 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 37 */
    "\tkind guest\n"					/* 38 */
    "\tcredential \"admin-key\"\n"			/* 39 */
    "\tnode \"pve1\"\n"					/* 40 */
    "\tvmid 101\n"					/* 41 */
    "\tpool \"web\"\n"					/* 42 */
    "\ttag \"prod\"\n"					/* 43 */
    "\tzone \"dmz\"\n"					/* 44 */
    "}\n"						/* 45 */
    "target \"vm102\" {\n"				/* 46 */
    "\taddress \"10.0.1.102\"\n"			/* 47 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 48 */
    "\tkind guest\n"					/* 49 */
    "\tcredential \"admin-key\"\n"			/* 50 */
    "\tcredential \"ops-key\"\n"			/* 51 */
    "\tvmid 102\n"					/* 52 */
    "\tpool \"db\"\n"					/* 53 */
    "\tsensitivity \"secret\"\n"			/* 54 */
    "}\n"						/* 55 */
    "target \"vm103\" {\n"				/* 56 */
    "\taddress \"10.0.1.103\"\n"			/* 57 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 58 */
    "\tkind guest\n"					/* 59 */
    "\tcredential \"admin-key\"\n"			/* 60 */
    "\tcredential \"ops-key\"\n"			/* 61 */
    "\tvmid 103\n"					/* 62 */
    "\tpool \"web\"\n"					/* 63 */
    "\ttag \"lab\"\n"					/* 64 */
    "\ttag \"prod\"\n"					/* 65 */
    "}\n"						/* 66 */
    "target \"vm104\" {\n"				/* 67 */
    "\taddress \"10.0.1.104\"\n"			/* 68 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 69 */
    "\tkind guest\n"					/* 70 */
    "\tcredential \"admin-key\"\n"			/* 71 */
    "}\n";						/* 72 */

static const char policy_conf[] =
    "# test_policy.c: roles, grants, people\n"		/* 1 */
    "role \"hv-admins\" {\n"				/* 2 */
    "\tside hypervisor\n"				/* 3 */
    "}\n"						/* 4 */
    "role \"hv-night\" {\n"				/* 5 */
    "\tside hypervisor\n"				/* 6 */
    "}\n"						/* 7 */
    "role \"guest-admins\" {\n"				/* 8 */
    "\tside guest\n"					/* 9 */
    "}\n"						/* 10 */
    "role \"web-ops\" {\n"				/* 11 */
    "\tside guest\n"					/* 12 */
    "}\n"						/* 13 */
    "role \"auditors\" {\n"				/* 14 */
    "\tside audit\n"					/* 15 */
    "}\n"						/* 16 */
    "grant \"hv-admins\" {\n"				/* 17 */
    "\ttargets kind hypervisor\n"			/* 18 */
    "\tlogin \"root\"\n"				/* 19 */
    "\tchannels shell exec sftp scp port-forward\n"	/* 20 */
    "\tforward \"127.0.0.1:8006\"\n"			/* 21 */
    "\tforward \"pve-api.example.org:443\"\n"		/* 22 */
    "}\n"						/* 23 */
    "grant \"hv-night\" {\n"				/* 24 */
    "\ttargets node \"pve2\"\n"				/* 25 */
    "\thours \"mon-fri 07:00-20:00\"\n"			/* 26 */
    "\thours \"sat 10:00-12:00\"\n"			/* 27 */
    "}\n"						/* 28 */
    "grant \"guest-admins\" {\n"			/* 29 */
    "\ttargets kind guest\n"				/* 30 */
    "\tlogin \"admin\"\n"				/* 31 */
    "\tchannels shell exec sftp\n"			/* 32 */
    "}\n"						/* 33 */
    "grant \"web-ops\" {\n"				/* 34 */
    "\ttargets pool \"web\"\n"				/* 35 */
    "\tchannels exec\n"					/* 36 */
    "}\n"						/* 37 */
    "grant \"web-ops\" {\n"				/* 38 */
    "\ttargets vmid 102\n"				/* 39 */
    "\ttargets tag \"lab\"\n"				/* 40 */
    "\tlogin \"ops\"\n"					/* 41 */
    "\tchannels shell scp\n"				/* 42 */
    "}\n"						/* 43 */
    "grant \"web-ops\" {\n"				/* 44 */
    "\ttargets zone \"dmz\"\n"				/* 45 */
    "\ttargets sensitivity \"secret\"\n"		/* 46 */
    "\ttargets \"vm104\"\n"				/* 47 */
    "\tchannels sftp\n"					/* 48 */
    "}\n"						/* 49 */
    "user \"alice\" {\n"				/* 50 */
    "\tpublic-key \"@K1@\"\n"				/* 51 */
    "\trole \"hv-admins\"\n"				/* 52 */
    "\tfrom \"10.0.0.0/8\" \"2001:db8::/32\"\n"		/* 53 */
    "\tfrom \"192.0.2.7\"\n"				/* 54 */
    "}\n"						/* 55 */
    "user \"bob\" {\n"					/* 56 */
    "\tpublic-key \"@K2@\"\n"				/* 57 */
    "\trole \"guest-admins\"\n"				/* 58 */
    "}\n"						/* 59 */
    "user \"carol\" {\n"				/* 60 */
    "\tpublic-key \"@K3@\"\n"				/* 61 */
    "\trole \"auditors\"\n"				/* 62 */
    "}\n"						/* 63 */
    "user \"dave\" {\n"					/* 64 */
    "\tpublic-key \"@K4@\"\n"				/* 65 */
    "\trole \"hv-admins\"\n"				/* 66 */
    "\trole \"guest-admins\"\n"				/* 67 */
    "}\n"						/* 68 */
    "separation-exception \"dave\" \"moving the web farm, ticket 4711\"\n"	/* 69 */
    "user \"erin\" {\n"					/* 70 */
    "\tpublic-key \"@K5@\"\n"				/* 71 */
    "\trole \"web-ops\"\n"				/* 72 */
    "}\n"						/* 73 */
    "user \"frank\" {\n"				/* 74 */
    "\tpublic-key \"@K6@\"\n"				/* 75 */
    "\trole \"hv-night\"\n"				/* 76 */
    "}\n"						/* 77 */
    "user \"gina\" {\n"					/* 78 */
    "\tpublic-key \"@K7@\"\n"				/* 79 */
    "\trole \"guest-admins\"\n"				/* 80 */
    "\tvalid-from \"2026-07-01\"\n"			/* 81 */
    "}\n"						/* 82 */
    "user \"hank\" {\n"					/* 83 */
    "\tpublic-key \"@K8@\"\n"				/* 84 */
    "\trole \"guest-admins\"\n"				/* 85 */
    "\tvalid-until \"2026-06-02\"\n"			/* 86 */
    "}\n"						/* 87 */
    "user \"ivan\" {\n"					/* 88 */
    "\tpublic-key \"@K9@\"\n"				/* 89 */
    "\trole \"guest-admins\"\n"				/* 90 */
    "\tvalid-from \"2026-06-03\"\n"			/* 91 */
    "\tvalid-until \"2026-06-03\"\n"			/* 92 */
    "}\n";						/* 93 */

/* Only hypervisors, so that "targets all" stays on one side. */
static const char all_conf[] =
    "credential \"root-key\" {\n"			/* 1 */
    "\tlogin \"root\"\n"				/* 2 */
    "\tkey-file \"@KEY@\"\n"				/* 3 */
    "}\n"						/* 4 */
    "target \"pve1\" {\n"				/* 5 */
    "\taddress \"10.0.0.1\"\n"				/* 6 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 7 */
    "\tkind hypervisor\n"				/* 8 */
    "\tcredential \"root-key\"\n"			/* 9 */
    "}\n"						/* 10 */
    "target \"pve2\" {\n"				/* 11 */
    "\taddress \"10.0.0.2\"\n"				/* 12 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 13 */
    "\tkind hypervisor\n"				/* 14 */
    "\tcredential \"root-key\"\n"			/* 15 */
    "}\n"						/* 16 */
    "role \"hv\" {\n"					/* 17 */
    "\tside hypervisor\n"				/* 18 */
    "}\n"						/* 19 */
    "grant \"hv\" {\n"					/* 20 */
    "\ttargets all\n"					/* 21 */
    "}\n"						/* 22 */
    "user \"alice\" {\n"				/* 23 */
    "\tpublic-key \"@K1@\"\n"				/* 24 */
    "\trole \"hv\"\n"					/* 25 */
    "}\n";						/* 26 */

struct fixture {
	char		 dir[256];
	char		 key[PATH_MAX];
	char		 hostkey[256];
	char		 userkeys[NUSERKEYS][256];
	char		 conf[PATH_MAX];
	char		 policy[PATH_MAX];
	struct unit_msgs msgs;
	struct config	*conf_main;
};

static void
write_tmpl(struct fixture *fx, const char *name, const char *tmpl,
    char *path, size_t pathlen)
{
	static const char *const keys[] = { "@DIR@", "@KEY@", "@HOSTKEY@",
	    "@K1@", "@K2@", "@K3@", "@K4@", "@K5@", "@K6@", "@K7@", "@K8@",
	    "@K9@" };
	const char *vals[sizeof(keys) / sizeof(keys[0])];
	char *text;
	size_t i;

	vals[0] = fx->dir;
	vals[1] = fx->key;
	vals[2] = fx->hostkey;
	for (i = 0; i < NUSERKEYS; i++)
		vals[3 + i] = fx->userkeys[i];
	text = malloc(CONF_TEXT_MAX);
	assert_non_null(text);
	assert_int_equal(unit_subst(text, CONF_TEXT_MAX, tmpl, keys, vals,
	    sizeof(keys) / sizeof(keys[0])), 0);
	assert_int_equal(unit_write_file(fx->dir, name, text, strlen(text),
	    0600, path, pathlen), 0);
	free(text);
}

static struct config *
load_files(struct fixture *fx, const char *main_tmpl, const char *pol_tmpl)
{
	unit_msgs_clear(&fx->msgs);
	if (pol_tmpl != NULL)
		write_tmpl(fx, "policy.conf", pol_tmpl, fx->policy,
		    sizeof(fx->policy));
	write_tmpl(fx, "hvbastion.conf", main_tmpl, fx->conf,
	    sizeof(fx->conf));
	return config_load(fx->conf, unit_msgs_add, &fx->msgs);
}

static int
setup(void **state)
{
	struct fixture *fx;
	size_t i;

	/* Hours are in the bastion's local time: make it UTC here. */
	setenv("TZ", "UTC", 1);
	tzset();
	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (unit_mkdtemp(fx->dir, sizeof(fx->dir)) == NULL)
		return -1;
	/* config_load checks the key file's existence and mode only. */
	if (unit_write_file(fx->dir, "key", "not a key\n", 10, 0600,
	    fx->key, sizeof(fx->key)) < 0)
		return -1;
	if (unit_new_pubkey(fx->hostkey, sizeof(fx->hostkey)) < 0)
		return -1;
	for (i = 0; i < NUSERKEYS; i++)
		if (unit_new_pubkey(fx->userkeys[i],
		    sizeof(fx->userkeys[i])) < 0)
			return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	config_free(fx->conf_main);
	unit_msgs_clear(&fx->msgs);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* setup, then the main configuration, which must load cleanly. */
static int
setup_main(void **state)
{
	struct fixture *fx;

	if (setup(state) < 0)
		return -1;
	fx = *state;
	fx->conf_main = load_files(fx, main_conf, policy_conf);
	if (fx->conf_main == NULL) {
		unit_msgs_print(&fx->msgs);
		return -1;
	}
	return 0;
}

/*
 * Does text name FILE:LINE, with FILE ending in base ("policy.conf:17"
 * and not "policy.conf:170")?
 */
static int
names_line(const char *text, const char *base, int line)
{
	char needle[64];
	const char *p = text;
	size_t n;

	n = (size_t)snprintf(needle, sizeof(needle), "%s:%d", base, line);
	while ((p = strstr(p, needle)) != NULL) {
		char after = p[n];

		if (after < '0' || after > '9')
			return 1;
		p++;
	}
	return 0;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t ls = strlen(s), lt = strlen(tail);

	return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

/* --- the decision table -------------------------------------------------- */

struct req_case {
	const char		*person;
	const char		*target;
	const char		*login;
	enum policy_channel	 channel;
	const char		*fwd_host;
	int			 fwd_port;
	const char		*source;
	time_t			 when;
	int			 allow;
	int			 line;		/* policy.conf line named; 0: - */
	int			 alt_line;	/* or this one; 0: - */
	const char		*role;		/* allowed by this role */
	const char		*cred_login;	/* with this credential */
	const char		*word;		/* the rule holds it; NULL: - */
};

#define SH	POLICY_CHANNEL_SHELL
#define EX	POLICY_CHANNEL_EXEC
#define SF	POLICY_CHANNEL_SFTP
#define SC	POLICY_CHANNEL_SCP
#define FW	POLICY_CHANNEL_FORWARD

static const struct req_case cases[] = {
	/* alice: hypervisors by kind, as root, from 10/8, 2001:db8::/32 or
	 * 192.0.2.7; forwards to two destinations. */
	{ "alice", "pve1", NULL, SH, NULL, 0, "10.1.2.3", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve1", "root", EX, NULL, 0, "2001:db8::5", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve2", "", SF, NULL, 0, "192.0.2.7", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve2", NULL, SC, NULL, 0, "10.255.255.255", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve1", NULL, FW, "127.0.0.1", 8006, "10.1.2.3", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "alice", "pve1", NULL, FW, "pve-api.example.org", 443,
	    "10.1.2.3", NOW, 1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	/* ... but not another destination, login or source. */
	{ "alice", "pve1", NULL, FW, "127.0.0.1", 22, "10.1.2.3", NOW,
	    0, L_GRANT_HV, 0, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, FW, "10.0.0.9", 8006, "10.1.2.3", NOW,
	    0, L_GRANT_HV, 0, NULL, NULL, NULL },
	{ "alice", "pve1", "ops", SH, NULL, 0, "10.1.2.3", NOW,
	    0, L_GRANT_HV, 0, NULL, NULL, NULL },
	{ "alice", "pve1", "nobody", SH, NULL, 0, "10.1.2.3", NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, "192.0.2.8", NOW,
	    0, L_ALICE_FROM1, L_ALICE_FROM2, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, "11.0.0.1", NOW,
	    0, L_ALICE_FROM1, L_ALICE_FROM2, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, "2001:db9::1", NOW,
	    0, L_ALICE_FROM1, L_ALICE_FROM2, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, "::ffff:192.0.2.8", NOW,
	    0, 0, 0, NULL, NULL, NULL },
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
	{ "alice", "pve1", NULL, SH, NULL, 0, "::ffff:192.0.2.7", NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	/* An address the daemon could not name is no address at all. */
	{ "alice", "pve1", NULL, SH, NULL, 0, "unknown", NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "alice", "pve1", NULL, SH, NULL, 0, "", NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "alice", "vm101", NULL, SH, NULL, 0, "10.1.2.3", NOW,
	    0, 0, 0, NULL, NULL, "vm101" },
	{ "alice", "nosuch", NULL, SH, NULL, 0, "10.1.2.3", NOW,
	    0, 0, 0, NULL, NULL, "nosuch" },

	/* bob: guests by kind, as admin, shell exec sftp. */
	{ "bob", "vm101", NULL, SH, NULL, 0, "198.51.100.1", NOW,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "bob", "vm102", "admin", EX, NULL, 0, NULL, NOW,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "bob", "vm104", NULL, SF, NULL, 0, NULL, NOW,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "bob", "vm103", "ops", SH, NULL, 0, NULL, NOW,
	    0, L_GRANT_GUEST, 0, NULL, NULL, NULL },
	{ "bob", "vm101", NULL, SC, NULL, 0, NULL, NOW,
	    0, L_GRANT_GUEST, 0, NULL, NULL, NULL },
	{ "bob", "vm101", NULL, FW, "127.0.0.1", 8006, NULL, NOW,
	    0, L_GRANT_GUEST, 0, NULL, NULL, NULL },
	{ "bob", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, "pve1" },
	{ "bob", "pve1", "root", EX, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, "pve1" },

	/* carol audits: no target at all. */
	{ "carol", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "carol", "vm101", NULL, SF, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },

	/* dave holds both sides under a separation exception. */
	{ "dave", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    1, L_GRANT_HV, 0, "hv-admins", "root", NULL },
	{ "dave", "vm101", NULL, SH, NULL, 0, NULL, NOW,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },

	/* erin: one selector kind per grant line. */
	{ "erin", "vm101", NULL, EX, NULL, 0, NULL, NOW,	/* pool */
	    1, L_GRANT_POOL, 0, "web-ops", "admin", NULL },
	{ "erin", "vm103", NULL, EX, NULL, 0, NULL, NOW,	/* pool */
	    1, L_GRANT_POOL, 0, "web-ops", "admin", NULL },
	{ "erin", "vm103", NULL, SH, NULL, 0, NULL, NOW,	/* tag */
	    1, L_GRANT_VMID, 0, "web-ops", "ops", NULL },
	{ "erin", "vm102", NULL, SH, NULL, 0, NULL, NOW,	/* vmid */
	    1, L_GRANT_VMID, 0, "web-ops", "ops", NULL },
	{ "erin", "vm102", "ops", SC, NULL, 0, NULL, NOW,	/* vmid */
	    1, L_GRANT_VMID, 0, "web-ops", "ops", NULL },
	{ "erin", "vm102", NULL, SF, NULL, 0, NULL, NOW,	/* sensitivity */
	    1, L_GRANT_ZONE, 0, "web-ops", "admin", NULL },
	{ "erin", "vm101", NULL, SF, NULL, 0, NULL, NOW,	/* zone */
	    1, L_GRANT_ZONE, 0, "web-ops", "admin", NULL },
	{ "erin", "vm104", NULL, SF, NULL, 0, NULL, NOW,	/* name */
	    1, L_GRANT_ZONE, 0, "web-ops", "admin", NULL },
	{ "erin", "vm104", NULL, SH, NULL, 0, NULL, NOW,
	    0, L_GRANT_ZONE, 0, NULL, NULL, NULL },
	{ "erin", "vm101", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "erin", "vm102", "admin", SC, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "erin", "pve1", NULL, EX, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },

	/* frank: node "pve2", mon-fri 07:00-20:00 and sat 10:00-12:00. */
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(WED, 10, 0),
	    1, L_GRANT_NIGHT, 0, "hv-night", "root", NULL },
	{ "frank", "pve2", NULL, EX, NULL, 0, NULL, AT(WED, 7, 0),
	    1, L_GRANT_NIGHT, 0, "hv-night", "root", NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(WED, 19, 59),
	    1, L_GRANT_NIGHT, 0, "hv-night", "root", NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(WED, 6, 59),
	    0, L_GRANT_NIGHT, 0, NULL, NULL, NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(WED, 20, 0),
	    0, L_GRANT_NIGHT, 0, NULL, NULL, NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(SAT, 11, 0),
	    1, L_GRANT_NIGHT, 0, "hv-night", "root", NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(SAT, 12, 0),
	    0, L_GRANT_NIGHT, 0, NULL, NULL, NULL },
	{ "frank", "pve2", NULL, SH, NULL, 0, NULL, AT(SUN, 11, 0),
	    0, L_GRANT_NIGHT, 0, NULL, NULL, NULL },
	{ "frank", "pve2", NULL, SF, NULL, 0, NULL, AT(WED, 10, 0),
	    0, L_GRANT_NIGHT, 0, NULL, NULL, NULL },
	{ "frank", "pve1", NULL, SH, NULL, 0, NULL, AT(WED, 10, 0),
	    0, 0, 0, NULL, NULL, NULL },

	/* Validity dates: UTC days, both ends inclusive. */
	{ "gina", "vm101", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "gina", "vm101", NULL, SH, NULL, 0, NULL, AT(WED + 28 * DAY, 0, 0),
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "gina", "vm101", NULL, SH, NULL, 0, NULL, AT(WED + 27 * DAY, 23, 59),
	    0, 0, 0, NULL, NULL, NULL },
	{ "hank", "vm101", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
	{ "hank", "vm101", NULL, SH, NULL, 0, NULL, WED - 1,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "ivan", "vm101", NULL, SH, NULL, 0, NULL, WED,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "ivan", "vm101", NULL, SH, NULL, 0, NULL, WED + DAY - 1,
	    1, L_GRANT_GUEST, 0, "guest-admins", "admin", NULL },
	{ "ivan", "vm101", NULL, SH, NULL, 0, NULL, WED + DAY,
	    0, 0, 0, NULL, NULL, NULL },
	{ "ivan", "vm101", NULL, SH, NULL, 0, NULL, WED - 1,
	    0, 0, 0, NULL, NULL, NULL },

	/* Nobody by that name. */
	{ "mallory", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, "mallory" },
	{ "", "pve1", NULL, SH, NULL, 0, NULL, NOW,
	    0, 0, 0, NULL, NULL, NULL },
};

static void
describe(const struct req_case *c, const struct policy_decision *d)
{
	print_message("    case: %s -> %s%s%s (%s%s%s:%d) from %s at %ld:"
	    " %s: %s\n", c->person, c->login != NULL ? c->login : "",
	    c->login != NULL ? "@" : "", c->target,
	    policy_channel_name(c->channel), c->fwd_host != NULL ? " to " : "",
	    c->fwd_host != NULL ? c->fwd_host : "", c->fwd_port,
	    c->source != NULL ? c->source : "any", (long)c->when,
	    d->allow ? "allow" : "deny", d->rule);
}

static int
check_case(const struct config *conf, const struct req_case *c)
{
	struct policy_request req;
	struct policy_decision d;
	int rc, ok = 1;

	memset(&req, 0, sizeof(req));
	req.person = c->person;
	req.target = c->target;
	req.login = c->login;
	req.channel = c->channel;
	req.forward_host = c->fwd_host;
	req.forward_port = c->fwd_port;
	req.source = c->source;
	req.when = c->when;
	memset(&d, 0x5a, sizeof(d));
	rc = policy_decide(conf, &req, &d);

	if (rc != c->allow || d.allow != c->allow)
		ok = 0;
	/* Every decision says why, allow or deny. */
	if (memchr(d.rule, '\0', sizeof(d.rule)) == NULL || d.rule[0] == '\0')
		ok = 0;
	else {
		if (c->line != 0 && !names_line(d.rule, "policy.conf",
		    c->line) && (c->alt_line == 0 ||
		    !names_line(d.rule, "policy.conf", c->alt_line)))
			ok = 0;
		if (c->word != NULL && strstr(d.rule, c->word) == NULL)
			ok = 0;
	}
	if (ok && c->allow) {
		char quoted[CONFIG_NAME_MAX + 3];

		snprintf(quoted, sizeof(quoted), "\"%s\"", c->role);
		if (d.target == NULL || d.credential == NULL ||
		    d.role == NULL || d.grant == NULL ||
		    strcmp(d.target->name, c->target) != 0 ||
		    strcmp(d.credential->login, c->cred_login) != 0 ||
		    strcmp(d.role->name, c->role) != 0 ||
		    d.grant->role != d.role ||
		    d.grant->origin.line != c->line ||
		    !ends_with(d.grant->origin.file, "/policy.conf") ||
		    strstr(d.rule, quoted) == NULL ||
		    strstr(d.rule, c->person) == NULL)
			ok = 0;
	}
	if (!ok)
		describe(c, &d);
	return ok;
}

static void
test_decide_table(void **state)
{
	struct fixture *fx = *state;
	size_t i, failed = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!check_case(fx->conf_main, &cases[i])) {
			print_message("    ^ case %zu failed\n", i);
			failed++;
		}
	assert_int_equal(failed, 0);
}

/* "when" 0 is now: bob has no dates, so now is as good as any time. */
static void
test_decide_now(void **state)
{
	struct fixture *fx = *state;
	struct policy_request req;
	struct policy_decision d;

	memset(&req, 0, sizeof(req));
	req.person = "bob";
	req.target = "vm101";
	req.channel = POLICY_CHANNEL_SHELL;
	assert_int_equal(policy_decide(fx->conf_main, &req, &d), 1);
	assert_true(names_line(d.rule, "policy.conf", L_GRANT_GUEST));
	req.target = "pve1";
	assert_int_equal(policy_decide(fx->conf_main, &req, &d), 0);
	assert_int_equal(d.allow, 0);
}

/* A hostile name must not be able to overflow or bend the rule text. */
static void
test_decide_long_names(void **state)
{
	struct fixture *fx = *state;
	struct policy_request req;
	struct policy_decision d;
	char big[4096];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&req, 0, sizeof(req));
	req.person = big;
	req.target = "pve1";
	req.channel = POLICY_CHANNEL_SHELL;
	req.when = NOW;
	assert_int_equal(policy_decide(fx->conf_main, &req, &d), 0);
	assert_non_null(memchr(d.rule, '\0', sizeof(d.rule)));
	req.person = "bob";
	req.target = big;
	assert_int_equal(policy_decide(fx->conf_main, &req, &d), 0);
	assert_non_null(memchr(d.rule, '\0', sizeof(d.rule)));
	req.target = "vm101";
	req.login = big;
	assert_int_equal(policy_decide(fx->conf_main, &req, &d), 0);
	assert_non_null(memchr(d.rule, '\0', sizeof(d.rule)));
}

/* --- the menu ------------------------------------------------------------ */

struct names {
	char	buf[512];
};

static void
collect(void *arg, const struct config_target *t)
{
	struct names *n = arg;
	size_t len = strlen(n->buf);

	snprintf(n->buf + len, sizeof(n->buf) - len, "%s%s",
	    len > 0 ? " " : "", t->name);
}

static void
test_each_target(void **state)
{
	static const struct {
		const char	*person;
		const char	*source;
		const char	*expect;
	} menus[] = {
		{ "alice", "10.1.2.3", "pve1 pve2" },
		{ "alice", "2001:db8:1::1", "pve1 pve2" },
		{ "alice", NULL, "pve1 pve2" },
		{ "alice", "192.0.2.99", "" },
		{ "bob", NULL, "vm101 vm102 vm103 vm104" },
		{ "bob", "203.0.113.5", "vm101 vm102 vm103 vm104" },
		{ "carol", NULL, "" },
		{ "dave", NULL, "pve1 pve2 vm101 vm102 vm103 vm104" },
		/* exec on the pool and sftp on the zone are no shell. */
		{ "erin", NULL, "vm102 vm103" },
		{ "mallory", NULL, "" },
	};
	struct fixture *fx = *state;
	struct names n;
	size_t i, failed = 0;

	for (i = 0; i < sizeof(menus) / sizeof(menus[0]); i++) {
		memset(&n, 0, sizeof(n));
		policy_each_target(fx->conf_main, menus[i].person,
		    menus[i].source, collect, &n);
		if (strcmp(n.buf, menus[i].expect) != 0) {
			print_message("    menu of %s from %s: \"%s\", expected"
			    " \"%s\"\n", menus[i].person,
			    menus[i].source != NULL ? menus[i].source : "any",
			    n.buf, menus[i].expect);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* --- the model behind the decisions -------------------------------------- */

static void
test_loaded_model(void **state)
{
	struct fixture *fx = *state;
	const struct config *conf = fx->conf_main;
	const struct config_user *dave, *bob;
	const struct config_role *r;

	assert_int_equal(conf->ntargets, 6);
	assert_int_equal(conf->nroles, 5);
	assert_int_equal(conf->ngrants, 6);
	assert_int_equal(conf->nusers, 9);
	/* The inventory and the policy it includes. */
	assert_true(conf->nfiles >= 2);
	assert_non_null(r = config_find_role(conf, "web-ops"));
	assert_int_equal(r->side, ROLE_SIDE_GUEST);
	assert_int_equal(r->ngrants, 3);
	assert_int_equal(r->grants[0]->origin.line, L_GRANT_POOL);
	assert_int_equal(r->grants[2]->origin.line, L_GRANT_ZONE);
	assert_int_equal(r->grants[2]->nselectors, 3);
	assert_non_null(r = config_find_role(conf, "auditors"));
	assert_int_equal(r->side, ROLE_SIDE_AUDIT);
	assert_null(config_find_role(conf, "nosuch"));

	assert_int_equal(conf->nexceptions, 1);
	assert_string_equal(conf->exceptions[0]->person, "dave");
	assert_int_equal(conf->exceptions[0]->origin.line, L_EXCEPTION);
	assert_true(ends_with(conf->exceptions[0]->origin.file,
	    "/policy.conf"));
	assert_non_null(dave = config_find_user(conf, "dave"));
	assert_ptr_equal(dave->exception, conf->exceptions[0]);
	assert_non_null(bob = config_find_user(conf, "bob"));
	assert_null(bob->exception);
}

static void
test_channel_names(void **state)
{
	static const char *const names[] = { "shell", "exec", "sftp", "scp",
	    "port-forward" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(policy_channel_from_name(names[i]), (int)i);
		assert_string_equal(policy_channel_name((enum policy_channel)i),
		    names[i]);
	}
	assert_int_equal(policy_channel_from_name("x11"), -1);
	assert_int_equal(policy_channel_from_name(""), -1);
	assert_string_equal(policy_side_name(ROLE_SIDE_HYPERVISOR),
	    "hypervisor");
	assert_string_equal(policy_side_name(ROLE_SIDE_GUEST), "guest");
}

/* "targets all" on a bastion that has hypervisors only. */
static void
test_targets_all(void **state)
{
	struct fixture *fx = *state;
	struct policy_request req;
	struct policy_decision d;
	struct config *conf;
	struct names n;

	conf = load_files(fx, all_conf, NULL);
	unit_msgs_print(&fx->msgs);
	assert_non_null(conf);
	memset(&req, 0, sizeof(req));
	req.person = "alice";
	req.target = "pve2";
	req.channel = POLICY_CHANNEL_EXEC;
	req.when = NOW;
	assert_int_equal(policy_decide(conf, &req, &d), 1);
	assert_true(names_line(d.rule, "hvbastion.conf", 20));
	assert_string_equal(d.credential->login, "root");
	/* Default channels are shell and exec. */
	req.channel = POLICY_CHANNEL_SFTP;
	assert_int_equal(policy_decide(conf, &req, &d), 0);
	memset(&n, 0, sizeof(n));
	policy_each_target(conf, "alice", NULL, collect, &n);
	assert_string_equal(n.buf, "pve1 pve2");
	config_free(conf);
}

/*
 * Without the exception, dave's two sides are refused at his user line,
 * naming both roles.
 */
static void
test_separation_refused(void **state)
{
	struct fixture *fx = *state;
	struct config *conf;
	char *pol, *p;
	size_t i;
	int found = 0;

	pol = strdup(policy_conf);
	assert_non_null(pol);
	p = strstr(pol, "separation-exception");
	assert_non_null(p);
	/* Comment it out, keeping the line numbers. */
	p[0] = '#';
	conf = load_files(fx, main_conf, pol);
	free(pol);
	assert_null(conf);
	for (i = 0; i < fx->msgs.n; i++)
		if (fx->msgs.v[i] != NULL &&
		    names_line(fx->msgs.v[i], "policy.conf", 64) &&
		    strstr(fx->msgs.v[i], "hv-admins") != NULL &&
		    strstr(fx->msgs.v[i], "guest-admins") != NULL)
			found = 1;
	if (!found)
		unit_msgs_print(&fx->msgs);
	assert_true(found);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decide_table, setup_main,
		    teardown),
		cmocka_unit_test_setup_teardown(test_decide_now, setup_main,
		    teardown),
		cmocka_unit_test_setup_teardown(test_decide_long_names,
		    setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_each_target, setup_main,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loaded_model, setup_main,
		    teardown),
		cmocka_unit_test(test_channel_names),
		cmocka_unit_test_setup_teardown(test_targets_all, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_separation_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
