/*
 * test_api_policy.c - the Proxmox API side of the policy: the
 * api-credential / api-grant grammar (every error message, at its
 * file:line), policy_decide_api() (paths, pools, privileges, the
 * VM.Config family, hours, validity, source networks, the role's token)
 * and api_filter_list() on list answers shaped as Proxmox's.
 *
 * Times are explicit and TZ is UTC, so hours give the same answer on
 * every machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "unit_util.h"
#include "../../bastion/config.h"
#include "../../policy/api_acl.h"
#include "../../policy/api_filter.h"
#include "../../policy/policy.h"

#define CONF_TEXT_MAX	16384
#define NKEYS		6

/* Wednesday 2026-06-03 00:00 UTC. */
#define WED		((time_t)1780444800)
#define DAY		((time_t)86400)
#define AT(day, h, m)	((day) + (time_t)(h) * 3600 + (time_t)(m) * 60)
#define SAT		(WED + 3 * DAY)
#define NOW		AT(WED, 10, 0)

#define TOKEN_SECRET	"0d6a3c2e-1b5f-4c1a-9e2b-3f4a5b6c7d8e\n"

/* The inventory every case starts from (lines 1-29). */
static const char base_conf[] =
    "state-directory \"@DIR@\"\n"			/* 1 */
    "credential \"c\" {\n"				/* 2 */
    "\tlogin \"root\"\n"				/* 3 */
    "\tkey-file \"@DIR@/key\"\n"			/* 4 */
    "}\n"						/* 5 */
    "api-credential \"hv-tok\" {\n"			/* 6 */
    "\ttoken \"root@pam!hvb-hv\"\n"			/* 7 */
    "\tsecret-file \"@DIR@/tok\"\n"			/* 8 */
    "}\n"						/* 9 */
    "api-credential \"guest-tok\" {\n"			/* 10 */
    "\ttoken \"hvb@pve!guests\"\n"			/* 11 */
    "\tsecret-file \"@DIR@/tok2\"\n"			/* 12 */
    "}\n"						/* 13 */
    "role \"hv\" {\n"					/* 14 */
    "\tside hypervisor\n"				/* 15 */
    "\tapi-credential \"hv-tok\"\n"			/* 16 */
    "}\n"						/* 17 */
    "role \"guests\" {\n"				/* 18 */
    "\tside guest\n"					/* 19 */
    "\tapi-credential \"guest-tok\"\n"			/* 20 */
    "}\n"						/* 21 */
    "role \"auditors\" {\n"				/* 22 */
    "\tside audit\n"					/* 23 */
    "\tapi-credential \"hv-tok\"\n"			/* 24 */
    "}\n"						/* 25 */
    "role \"admins\" {\n"				/* 26 */
    "\tside bastion-admin\n"				/* 27 */
    "\tapi-credential \"hv-tok\"\n"			/* 28 */
    "}\n";						/* 29 */
#define BASE_LINES	29

/* Grants and people for the decisions (lines 30-...). */
static const char policy_conf[] =
    "api-grant \"hv\" {\n"				/* 30 */
    "\tpaths \"/nodes/*\" \"/storage/*\" \"/cluster\" \"/vms/*\"\n"
    "\troles \"PVEAuditor\"\n"				/* 32 */
    "\tprivileges \"Sys.Console\" \"VM.PowerMgmt\"\n"	/* 33 */
    "}\n"						/* 34 */
    "api-grant \"hv\" {\n"				/* 35 */
    "\tpaths \"/\"\n"					/* 36 */
    "\tprivileges \"Sys.Audit\"\n"			/* 37 */
    "\thours \"mon-fri 08:00-18:00\"\n"			/* 38 */
    "}\n"						/* 39 */
    "api-grant \"guests\" {\n"				/* 40 */
    "\tpaths \"/vms/101\" \"/pool/web\"\n"		/* 41 */
    "\troles \"PVEVMUser\"\n"				/* 42 */
    "}\n"						/* 43 */
    "api-grant \"guests\" {\n"				/* 44 */
    "\tpaths \"/vms/101\"\n"				/* 45 */
    "\troles \"PVEVMAdmin\"\n"				/* 46 */
    "\thours \"mon-fri 08:00-18:00\"\n"			/* 47 */
    "}\n"						/* 48 */
    "api-grant \"auditors\" {\n"			/* 49 */
    "\tpaths \"/nodes/*\" \"/vms/*\" \"/storage/*\" \"/pool/*\"\n"
    "\troles \"PVEAuditor\"\n"				/* 51 */
    "}\n"						/* 52 */
    "user \"alice\" {\n"				/* 53 */
    "\tpublic-key \"@K1@\"\n"				/* 54 */
    "\trole \"hv\"\n"					/* 55 */
    "\tfrom \"10.0.0.0/8\"\n"				/* 56 */
    "}\n"						/* 57 */
    "user \"bob\" {\n"					/* 58 */
    "\tpublic-key \"@K2@\"\n"				/* 59 */
    "\trole \"guests\"\n"				/* 60 */
    "}\n"						/* 61 */
    "user \"carol\" {\n"				/* 62 */
    "\tpublic-key \"@K3@\"\n"				/* 63 */
    "\trole \"auditors\"\n"				/* 64 */
    "}\n"						/* 65 */
    "user \"dave\" {\n"					/* 66 */
    "\tpublic-key \"@K4@\"\n"				/* 67 */
    "\trole \"guests\"\n"				/* 68 */
    "\tvalid-until \"2020-01-01\"\n"			/* 69 */
    "}\n"						/* 70 */
    "user \"erin\" {\n"					/* 71 */
    "\tpublic-key \"@K5@\"\n"				/* 72 */
    "\trole \"admins\"\n"				/* 73 */
    "}\n";						/* 74 */
#define L_HV		30
#define L_HV_ROOT	35
#define L_GUEST		40
#define L_GUEST_CFG	44
#define L_AUDIT		49
#define L_ALICE_FROM	56

struct fixture {
	char		 dir[256];
	char		 keys[NKEYS][256];
	char		 conf[PATH_MAX];
	struct unit_msgs msgs;
	struct config	*main;
};

static struct config *
load_text(struct fixture *fx, const char *extra)
{
	static const char *const keys[] = { "@DIR@", "@K1@", "@K2@", "@K3@",
	    "@K4@", "@K5@", "@K6@" };
	const char *vals[sizeof(keys) / sizeof(keys[0])];
	char *tmpl, *text;
	size_t i;

	vals[0] = fx->dir;
	for (i = 0; i < NKEYS; i++)
		vals[1 + i] = fx->keys[i];
	tmpl = malloc(CONF_TEXT_MAX);
	text = malloc(CONF_TEXT_MAX);
	assert_non_null(tmpl);
	assert_non_null(text);
	snprintf(tmpl, CONF_TEXT_MAX, "%s%s", base_conf, extra);
	assert_int_equal(unit_subst(text, CONF_TEXT_MAX, tmpl, keys, vals,
	    sizeof(keys) / sizeof(keys[0])), 0);
	assert_int_equal(unit_write_file(fx->dir, "hvbastion.conf", text,
	    strlen(text), 0600, fx->conf, sizeof(fx->conf)), 0);
	free(tmpl);
	free(text);
	unit_msgs_clear(&fx->msgs);
	return config_load(fx->conf, unit_msgs_add, &fx->msgs);
}

static int
setup(void **state)
{
	struct fixture *fx;
	char path[PATH_MAX];
	size_t i;

	setenv("TZ", "UTC", 1);
	tzset();
	if ((fx = calloc(1, sizeof(*fx))) == NULL ||
	    unit_mkdtemp(fx->dir, sizeof(fx->dir)) == NULL)
		return -1;
	for (i = 0; i < NKEYS; i++)
		if (unit_new_pubkey(fx->keys[i], sizeof(fx->keys[i])) < 0)
			return -1;
	if (unit_write_file(fx->dir, "key", "k\n", 2, 0600, path,
	    sizeof(path)) < 0 ||
	    unit_write_file(fx->dir, "tok", TOKEN_SECRET,
	    strlen(TOKEN_SECRET), 0600, path, sizeof(path)) < 0 ||
	    unit_write_file(fx->dir, "tok2", TOKEN_SECRET,
	    strlen(TOKEN_SECRET), 0600, path, sizeof(path)) < 0 ||
	    unit_write_file(fx->dir, "tok_open", TOKEN_SECRET,
	    strlen(TOKEN_SECRET), 0644, path, sizeof(path)) < 0 ||
	    unit_write_file(fx->dir, "tok_bad", "secret\n", 7, 0600, path,
	    sizeof(path)) < 0)
		return -1;
	fx->main = load_text(fx, policy_conf);
	if (fx->main == NULL) {
		unit_msgs_print(&fx->msgs);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	config_free(fx->main);
	unit_msgs_clear(&fx->msgs);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* --- grammar errors ------------------------------------------------------ */

struct err_case {
	const char	*text;		/* appended after base_conf */
	int		 line;		/* in the text; <0: absolute */
	const char	*want;
};

#define GRANT(body)	"api-grant \"hv\" {\n" body "}\n"

static const struct err_case err_cases[] = {
	{ GRANT("\tpaths \"/nodes/*\"\n"), 1, "no privileges or roles line" },
	{ GRANT("\tprivileges \"Sys.Audit\"\n"), 1, "no paths line" },
	{ "api-grant \"nobody\" {\n\tpaths \"/vms/100\"\n\tprivileges"
	    " \"VM.Audit\"\n}\n", 1, "api-grant: unknown role \"nobody\"" },
	{ GRANT("\tpaths \"vms\"\n\tprivileges \"VM.Audit\"\n"), 2,
	    "paths: \"vms\" is not an ACL path" },
	{ GRANT("\tpaths \"/vms/*/x\"\n\tprivileges \"VM.Audit\"\n"), 2,
	    "is not an ACL path" },
	{ GRANT("\tpaths \"/vms/1*\"\n\tprivileges \"VM.Audit\"\n"), 2,
	    "is not an ACL path" },
	{ GRANT("\tpaths \"/vms/../nodes\"\n\tprivileges \"VM.Audit\"\n"), 2,
	    "is not an ACL path" },
	{ GRANT("\tpaths \"/vms//1\"\n\tprivileges \"VM.Audit\"\n"), 2,
	    "is not an ACL path" },
	{ GRANT("\tpaths\n\tprivileges \"VM.Audit\"\n"), 2,
	    "paths: expected one or more ACL paths" },
	{ GRANT("\tpaths \"/vms/*\"\n\tprivileges\n"), 3,
	    "privileges: expected one or more" },
	{ GRANT("\tpaths \"/vms/*\"\n\troles\n"), 3,
	    "roles: expected one or more" },
	{ GRANT("\tpaths \"/vms/*\"\n\tprivileges \"VM.Monitor\"\n"), 3,
	    "unknown Proxmox privilege \"VM.Monitor\"" },
	{ GRANT("\tpaths \"/vms/*\"\n\troles \"PVESuperUser\"\n"), 3,
	    "unknown Proxmox role \"PVESuperUser\"" },
	{ GRANT("\tpaths \"/vms/*\"\n\troles \"PVEAuditor\"\n\thours"
	    " \"mon-fri 18:00-08:00\"\n"), 4, "the end must be after the"
	    " start" },
	{ GRANT("\tpaths \"/vms/*\"\n\troles \"PVEAuditor\"\n\thours"
	    " \"someday\"\n"), 4, "expected \"DAYS HH:MM-HH:MM\"" },
	{ GRANT("\tpaths \"/vms/*\"\n\troles \"PVEAuditor\"\n\thours\n"), 4,
	    "hours: expected" },
	{ GRANT("\tpath \"/vms/*\"\n"), 2, "unknown keyword \"path\" in"
	    " api-grant" },
	{ "api-grant \"guests\" {\n\tpaths \"/vms/*\" \"/nodes/pve1\"\n"
	    "\troles \"PVEVMUser\"\n}\n", 2, "(side guest): path"
	    " \"/nodes/pve1\" is outside /vms and /pool" },
	{ "api-grant \"guests\" {\n\tpaths \"/\"\n\troles \"PVEVMUser\"\n}\n",
	    2, "path \"/\" is outside /vms and /pool" },
	{ GRANT("\tpaths \"/access/*\"\n\tprivileges \"Sys.Audit\"\n"), 2,
	    "\"/\" and \"/access\" must be named explicitly" },
	{ GRANT("\tpaths \"/*\"\n\tprivileges \"Sys.Audit\"\n"), 2,
	    "must be named explicitly" },
	{ GRANT("\tpaths \"/etc\"\n\tprivileges \"Sys.Audit\"\n"), 2,
	    "path \"/etc\" is not under /nodes" },
	{ "api-grant \"auditors\" {\n\tpaths \"/vms/*\"\n\tprivileges"
	    " \"VM.Audit\" \"VM.PowerMgmt\"\n}\n", 3, "(side audit): privilege"
	    " \"VM.PowerMgmt\" does more than read" },
	{ "api-grant \"auditors\" {\n\tpaths \"/vms/*\"\n\troles"
	    " \"PVEVMUser\"\n}\n", 3, "privileges \"VM.Config.CDROM\","
	    " \"VM.Config.Cloudinit\", \"VM.Console\", \"VM.Backup\"," },
	{ "api-grant \"admins\" {\n\tpaths \"/access\"\n\tprivileges"
	    " \"Sys.Audit\"\n}\n", 1, "a role of side bastion-admin"
	    " administers the bastion, not Proxmox" },
	{ "role \"r2\" {\n\tside hypervisor\n}\napi-grant \"r2\" {\n\tpaths"
	    " \"/nodes/*\"\n\tprivileges \"Sys.Audit\"\n}\n", 4,
	    "the role has no api-credential" },
	{ "role \"r3\" {\n\tside guest\n\tapi-credential \"nope\"\n}\n", 3,
	    "role \"r3\": unknown api-credential \"nope\"" },
	{ "role \"r4\" {\n\tside guest\n\tapi-credential \"guest-tok\"\n"
	    "\tapi-credential \"guest-tok\"\n}\n", 4,
	    "api-credential: given more than once" },
	{ "role \"r5\" {\n\tside guest\n\tapi-credential\n}\n", 3,
	    "api-credential: expected a name" },
	{ "api-credential \"t1\" {\n\tsecret-file \"@DIR@/tok\"\n}\n", 1,
	    "api-credential \"t1\": no token" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n}\n", 1,
	    "api-credential \"t1\": no secret-file" },
	{ "api-credential \"t1\" {\n\ttoken \"root@pam\"\n\tsecret-file"
	    " \"@DIR@/tok\"\n}\n", 2, "token \"root@pam\": expected a Proxmox"
	    " API token id" },
	{ "api-credential \"t1\" {\n\ttoken \"root@pam!1x\"\n\tsecret-file"
	    " \"@DIR@/tok\"\n}\n", 2, "expected a Proxmox API token id" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\ttoken \"a@pve!c\"\n"
	    "\tsecret-file \"@DIR@/tok\"\n}\n", 3, "token: given more than"
	    " once" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\tsecret-file"
	    " \"@DIR@/tok\"\n\tsecret-file \"@DIR@/tok\"\n}\n", 4,
	    "secret-file: given more than once" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\tsecret-file"
	    " \"@DIR@/tok_open\"\n}\n", 1, "is accessible by others (mode"
	    " 0644); it must be 0600" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\tsecret-file"
	    " \"@DIR@/tok_bad\"\n}\n", 1, "does not hold a token secret" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\tsecret-file"
	    " \"@DIR@/missing\"\n}\n", 1, "No such file or directory" },
	{ "api-credential \"t1\" {\n\ttoken \"a@pve!b\"\n\tsecret-file"
	    " \"@DIR@\"\n}\n", 1, "is not a regular file" },
	{ "api-credential \"hv-tok\" {\n\ttoken \"a@pve!b\"\n}\n", 1,
	    "api-credential \"hv-tok\" is declared more than once" },
	{ "api-credential \"t1\" {\n\tsecret \"x\"\n}\n", 2, "unknown keyword"
	    " \"secret\" in api-credential" },
	{ "api-grant \"hv\"\n", 1, "api-grant: expected '{' on the same line" },
	{ "api-credential \"t1\"\n", 1, "api-credential: expected '{' on the"
	    " same line" },
	/* One token for both sides: reported at the token (line 6). */
	{ "role \"g2\" {\n\tside guest\n\tapi-credential \"hv-tok\"\n}\n", -6,
	    "api-credential \"hv-tok\" is held for the hypervisor-side role"
	    " \"hv\" and the guest-side role \"g2\"" },
};

static void
test_grammar_errors(void **state)
{
	struct fixture *fx = *state;
	size_t i, j;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		char where[64];
		struct config *conf;
		int line = c->line < 0 ? -c->line : BASE_LINES + c->line;
		int found = 0;

		conf = load_text(fx, c->text);
		snprintf(where, sizeof(where), "hvbastion.conf:%d: ", line);
		for (j = 0; j < fx->msgs.n; j++)
			if (strstr(fx->msgs.v[j], where) != NULL &&
			    strstr(fx->msgs.v[j], c->want) != NULL)
				found = 1;
		if (conf != NULL || !found) {
			unit_msgs_print(&fx->msgs);
			config_free(conf);
			fail_msg("case %zu: want \"%s\" at line %d", i,
			    c->want, line);
		}
	}
}

static void
test_loaded(void **state)
{
	struct fixture *fx = *state;
	const struct config_role *hv = config_find_role(fx->main, "hv");
	const struct config_role *g = config_find_role(fx->main, "guests");
	const struct config_api_grant *a;
	size_t i;

	assert_int_equal(fx->main->napi_credentials, 2);
	assert_int_equal(fx->main->napi_grants, 5);
	assert_non_null(hv);
	assert_non_null(g);
	assert_string_equal(hv->api_credential->token_id, "root@pam!hvb-hv");
	assert_string_equal(g->api_credential->name, "guest-tok");
	assert_int_equal(hv->napi_grants, 2);
	assert_int_equal(g->napi_grants, 2);
	/* PVEAuditor's seven, then the two named: nine, no duplicate. */
	a = hv->api_grants[0];
	assert_ptr_equal(a->role, hv);
	assert_int_equal(a->origin.line, L_HV);
	assert_int_equal(a->npaths, 4);
	assert_int_equal(a->nprivileges, 9);
	for (i = 0; i < a->nprivileges; i++)
		assert_string_not_equal(a->privileges[i], "VM.Config.Disk");
	assert_int_equal(hv->api_grants[1]->nwindows, 1);
	/* A reload of the same text gives the same answer (no state). */
	config_free(load_text(fx, policy_conf));
	assert_int_equal(fx->msgs.n, 0);
}

/* --- decisions ------------------------------------------------------------ */

struct api_case {
	const char	*person;
	const char	*path;
	const char	*priv;
	const char	*pool;
	const char	*source;
	time_t		 when;
	int		 allow;
	int		 line;		/* named by the rule; 0: any */
	const char	*token;		/* allowed: the credential */
	const char	*why;		/* denied: in the rule */
};

static const struct api_case api_cases[] = {
	{ "alice", "/nodes/pve1", "Sys.Audit", NULL, "10.1.2.3", NOW, 1,
	    L_HV, "hv-tok", NULL },
	{ "alice", "/nodes/pve1", "Sys.Audit", NULL, "192.0.2.1", NOW, 0,
	    L_ALICE_FROM, NULL, "is not allowed" },
	{ "alice", "/nodes/pve1", "Sys.PowerMgmt", NULL, NULL, NOW, 0, L_HV,
	    NULL, "not privilege Sys.PowerMgmt" },
	{ "alice", "/nodes/pve1", "Sys.Console", NULL, NULL, NOW, 1, L_HV,
	    "hv-tok", NULL },
	{ "alice", "/vms/101", "VM.PowerMgmt", NULL, NULL, NOW, 1, L_HV,
	    "hv-tok", NULL },
	{ "alice", "/", "Sys.Audit", NULL, NULL, NOW, 1, L_HV_ROOT, "hv-tok",
	    NULL },
	{ "alice", "/", "Sys.Audit", NULL, NULL, SAT, 0, L_HV_ROOT, NULL,
	    "not at this time" },
	{ "alice", "/access", "Sys.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "alice", "/cluster", "Sys.Audit", NULL, NULL, NOW, 1, L_HV,
	    "hv-tok", NULL },
	{ "alice", "/cluster/ha", "Sys.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "alice", "/nodes", "Sys.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "alice", "/nodesX/pve1", "Sys.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "alice", "vms/101", "VM.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "malformed" },
	{ "bob", "/vms/101", "VM.PowerMgmt", NULL, NULL, NOW, 1, L_GUEST,
	    "guest-tok", NULL },
	{ "bob", "/vms/102", "VM.PowerMgmt", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "bob", "/vms/102", "VM.PowerMgmt", "web", NULL, NOW, 1, L_GUEST,
	    "guest-tok", NULL },
	{ "bob", "/vms/102", "VM.PowerMgmt", "db", NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "bob", "/vms/102", "VM.PowerMgmt", "../web", NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "bob", "/vms/102/x", "VM.PowerMgmt", "web", NULL, NOW, 0, 0, NULL,
	    "default deny" },
	/* The VM.Config family: every one of them, from one grant. */
	{ "bob", "/vms/101", API_ACL_PRIV_VM_CONFIG, NULL, NULL, NOW, 1,
	    L_GUEST_CFG, "guest-tok", NULL },
	/* The nearest miss is named: the grant that lacks only the hour. */
	{ "bob", "/vms/101", API_ACL_PRIV_VM_CONFIG, NULL, NULL, SAT, 0,
	    L_GUEST_CFG, NULL, "not at this time" },
	{ "bob", "/vms/102", API_ACL_PRIV_VM_CONFIG, "web", NULL, NOW, 0,
	    L_GUEST, NULL, "not privilege" },
	{ "bob", "/vms/101", "VM.Config.CDROM", NULL, NULL, SAT, 1, L_GUEST,
	    "guest-tok", NULL },
	{ "bob", "/nodes/pve1", "Sys.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "bob", "/vms/101", NULL, NULL, NULL, NOW, 1, L_GUEST, "guest-tok",
	    NULL },
	{ "bob", "", NULL, NULL, NULL, NOW, 1, L_GUEST, "guest-tok", NULL },
	{ "bob", NULL, NULL, NULL, NULL, NOW, 1, L_GUEST, "guest-tok", NULL },
	{ "carol", "/vms/101", "VM.Audit", NULL, NULL, NOW, 1, L_AUDIT,
	    "hv-tok", NULL },
	{ "carol", "/vms/101", "VM.PowerMgmt", NULL, NULL, NOW, 0, L_AUDIT,
	    NULL, "not privilege VM.PowerMgmt" },
	{ "carol", "/pool/web", "Pool.Audit", NULL, NULL, NOW, 1, L_AUDIT,
	    "hv-tok", NULL },
	{ "dave", "/vms/101", "VM.Audit", NULL, NULL, NOW, 0, 66, NULL,
	    "no longer valid" },
	{ "erin", "", NULL, NULL, NULL, NOW, 0, 0, NULL, "has no api-grant" },
	{ "erin", "/vms/101", "VM.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "default deny" },
	{ "nobody", "/vms/101", "VM.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "no user" },
	{ NULL, "/vms/101", "VM.Audit", NULL, NULL, NOW, 0, 0, NULL,
	    "no user" },
};

static void
test_decide_api(void **state)
{
	struct fixture *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(api_cases) / sizeof(api_cases[0]); i++) {
		const struct api_case *c = &api_cases[i];
		struct policy_api_request req;
		struct policy_decision d;
		char where[64];
		int rc;

		memset(&req, 0, sizeof(req));
		req.person = c->person;
		req.acl_path = c->path;
		req.privilege = c->priv;
		req.pool = c->pool;
		req.source = c->source;
		req.when = c->when;
		memset(&d, 0x5a, sizeof(d));
		rc = policy_decide_api(fx->main, &req, &d);
		if (rc != c->allow || d.allow != c->allow)
			fail_msg("case %zu (%s %s %s): %d, want %d: %s", i,
			    c->person, c->path, c->priv, rc, c->allow,
			    d.rule);
		snprintf(where, sizeof(where), "hvbastion.conf:%d", c->line);
		if (c->line != 0 && strstr(d.rule, where) == NULL)
			fail_msg("case %zu: rule \"%s\" does not name %s", i,
			    d.rule, where);
		if (c->allow) {
			assert_non_null(d.api_credential);
			assert_string_equal(d.api_credential->name, c->token);
			assert_non_null(d.api_grant);
			assert_ptr_equal(d.role, d.api_grant->role);
			assert_null(d.target);
			assert_null(d.grant);
		} else {
			assert_null(d.api_credential);
			assert_null(d.api_grant);
			assert_null(d.role);
			if (strstr(d.rule, c->why) == NULL)
				fail_msg("case %zu: rule \"%s\" lacks \"%s\"",
				    i, d.rule, c->why);
		}
	}
}

/* --- list filtering ---------------------------------------------------- */

static const char resources_json[] = "["
    "{\"id\":\"qemu/101\",\"type\":\"qemu\",\"vmid\":101,\"node\":\"pve1\"},"
    "{\"id\":\"qemu/102\",\"type\":\"qemu\",\"vmid\":102,\"node\":\"pve1\","
    "\"pool\":\"web\"},"
    "{\"id\":\"qemu/103\",\"type\":\"qemu\",\"vmid\":103,\"node\":\"pve2\","
    "\"pool\":\"db\"},"
    "{\"id\":\"lxc/105\",\"type\":\"lxc\",\"vmid\":105,\"node\":\"pve1\"},"
    "{\"id\":\"node/pve1\",\"type\":\"node\",\"node\":\"pve1\"},"
    "{\"id\":\"storage/pve1/local\",\"type\":\"storage\",\"node\":\"pve1\","
    "\"storage\":\"local\"},"
    "{\"id\":\"/pool/web\",\"type\":\"pool\",\"pool\":\"web\"},"
    "{\"id\":\"sdn/pve1/zone1\",\"type\":\"sdn\",\"sdn\":\"zone1\","
    "\"node\":\"pve1\"},"
    "{\"id\":\"foo/1\",\"type\":\"foo\"},"
    "{\"id\":\"qemu/9\",\"type\":\"qemu\",\"vmid\":\"abc\"},"
    "{\"id\":\"node/x\",\"type\":\"node\",\"node\":\"../x\"},"
    "{\"id\":\"qemu/101\",\"type\":\"lxc\",\"vmid\":101},"
    "7, \"qemu/101\", null"
    "]";

static const char tasks_json[] = "["
    "{\"upid\":\"UPID:pve1:00001234:00005678:6543ABCD:qmstart:101:"
    "root@pam!hvb-hv:\",\"node\":\"pve1\",\"id\":\"101\",\"type\":\"qmstart\","
    "\"user\":\"root@pam!hvb-hv\"},"
    "{\"upid\":\"UPID:pve1:00001235:00005678:6543ABCD:vncshell::root@pam:\","
    "\"node\":\"pve1\",\"id\":\"\",\"type\":\"vncshell\","
    "\"user\":\"root@pam\"},"
    "{\"upid\":\"UPID:pve2:00001236:00005678:6543ABCD:qmstop:102:root@pam:\","
    "\"node\":\"pve2\",\"id\":\"102\",\"type\":\"qmstop\","
    "\"user\":\"root@pam\"},"
    "{\"upid\":\"x\",\"id\":\"101\"}"
    "]";

static const char qemu_json[] = "[{\"vmid\":101,\"name\":\"a\"},"
    "{\"vmid\":\"102\",\"name\":\"b\"},{\"vmid\":200},"
    "{\"vmid\":102,\"pool\":\"web\"},{\"name\":\"novmid\"}]";

static const char storage_json[] = "[{\"storage\":\"local\",\"type\":\"dir\"},"
    "{\"storage\":\"nfs1\",\"type\":\"nfs\"},{\"storage\":\"a/b\"}]";

static const char pools_json[] = "[{\"poolid\":\"web\"},{\"poolid\":\"db\"},"
    "{\"poolid\":7}]";

/* The ids (or vmids, upids' types, storage, poolids) left, joined. */
static void
kept(json_t *a, char *out, size_t len)
{
	static const char *const keys[] = { "id", "storage", "poolid",
	    "vmid", "type" };
	json_t *item;
	size_t i, k, n = 0;

	out[0] = '\0';
	json_array_foreach(a, i, item) {
		const char *key = NULL;
		json_t *v = NULL;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && v == NULL;
		    k++)
			if ((v = json_object_get(item, keys[k])) != NULL)
				key = keys[k];
		if (json_object_get(item, "upid") != NULL)
			v = json_object_get(item, "type");
		(void)key;
		if (json_is_string(v))
			n += (size_t)snprintf(out + n, len - n, "%s%s",
			    n ? " " : "", json_string_value(v));
		else
			n += (size_t)snprintf(out + n, len - n, "%s%lld",
			    n ? " " : "", (long long)json_integer_value(v));
		if (json_object_get(item, "pool") != NULL &&
		    json_object_get(item, "vmid") != NULL)
			n += (size_t)snprintf(out + n, len - n, "+pool");
	}
}

struct filter_case {
	const char	*person;
	const char	*method;
	const char	*path;
	const char	*json;
	int		 count;
	const char	*left;
};

static const struct filter_case filter_cases[] = {
	{ "bob", "GET", "/cluster/resources", resources_json, 2,
	    "qemu/101 qemu/102" },
	{ "alice", "GET", "/cluster/resources", resources_json, 6,
	    "qemu/101 qemu/102 qemu/103 lxc/105 node/pve1 storage/pve1/local" },
	{ "carol", "GET", "/cluster/resources", resources_json, 7,
	    "qemu/101 qemu/102+pool qemu/103+pool lxc/105 node/pve1"
	    " storage/pve1/local /pool/web" },
	{ "erin", "GET", "/cluster/resources", resources_json, 0, "" },
	{ "nobody", "GET", "/cluster/resources", resources_json, 0, "" },
	{ "dave", "GET", "/cluster/resources", resources_json, 0, "" },
	{ "bob", "GET", "/cluster/tasks", tasks_json, 1, "qmstart" },
	{ "alice", "GET", "/nodes/pve1/tasks", tasks_json, 3,
	    "qmstart vncshell qmstop" },
	{ "bob", "GET", "/nodes/pve1/qemu", qemu_json, 2, "101 102" },
	{ "carol", "GET", "/nodes/pve1/lxc", qemu_json, 4,
	    "101 102 200 102+pool" },
	{ "alice", "GET", "/storage", storage_json, 2, "local nfs1" },
	{ "bob", "GET", "/nodes/pve1/storage", storage_json, 0, "" },
	{ "carol", "GET", "/pools", pools_json, 2, "web db" },
	{ "bob", "GET", "/pools", pools_json, 0, "" },
	{ "alice", "GET", "/nodes", "[{\"id\":\"node/pve1\",\"type\":\"node\","
	    "\"node\":\"pve1\"},{\"node\":\"pve2\"}]", 1, "node/pve1" },
};

static void
test_filter(void **state)
{
	struct fixture *fx = *state;
	struct api_acl acl;
	char left[1024];
	json_t *data;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]);
	    i++) {
		const struct filter_case *c = &filter_cases[i];

		assert_int_equal(api_acl_map(c->method, c->path, &acl), 0);
		data = json_loads(c->json, 0, NULL);
		assert_non_null(data);
		rc = api_filter_list(fx->main, c->person, NULL, NOW, &acl,
		    data);
		kept(data, left, sizeof(left));
		if (rc != c->count || strcmp(left, c->left) != 0)
			fail_msg("case %zu (%s %s): %d \"%s\", want %d \"%s\"",
			    i, c->person, c->path, rc, left, c->count,
			    c->left);
		assert_int_equal(json_array_size(data), (size_t)rc);
		json_decref(data);
	}
	/* Not a list call, or not a list: refused, nothing kept. */
	assert_int_equal(api_acl_map("GET", "/nodes/pve1/status", &acl), 0);
	data = json_loads(resources_json, 0, NULL);
	assert_int_equal(api_filter_list(fx->main, "alice", NULL, NOW, &acl,
	    data), -EINVAL);
	json_decref(data);
	assert_int_equal(api_acl_map("GET", "/cluster/resources", &acl), 0);
	data = json_loads("{\"id\":\"qemu/101\"}", 0, NULL);
	assert_int_equal(api_filter_list(fx->main, "alice", NULL, NOW, &acl,
	    data), -EINVAL);
	json_decref(data);
	/* Alice from outside her networks sees nothing. */
	data = json_loads(resources_json, 0, NULL);
	assert_int_equal(api_filter_list(fx->main, "alice", "192.0.2.1", NOW,
	    &acl, data), 0);
	assert_int_equal(json_array_size(data), 0);
	json_decref(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar_errors),
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_decide_api),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
