/*
 * test_config.c - config_load() on real files: a full valid configuration,
 * the defaults, and a table of broken ones.  Every error must come out as
 * "file:line: message" with the line that holds the mistake, and every
 * error in a file must be reported, not just the first.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_util.h"
#include "../../bastion/config.h"
#include "../../bastion/names.h"

#define CONF_TEXT_MAX	16384

struct fixture {
	char		 dir[256];
	char		 key[PATH_MAX];		/* mode 0600 */
	char		 key644[PATH_MAX];	/* mode 0644 */
	char		 keylink[PATH_MAX];	/* symlink to key */
	char		 hostkey[256];
	char		 userkey[256];
	char		 userkey2[256];
	char		 rsakey[256];		/* "ssh-rsa" + ed25519 blob */
	char		 conf[PATH_MAX];
	struct unit_msgs msgs;
};

static int
setup(void **state)
{
	struct fixture *fx;
	const char *b64;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (unit_mkdtemp(fx->dir, sizeof(fx->dir)) == NULL)
		return -1;
	/* config_load only checks the key file's existence and mode. */
	if (unit_write_file(fx->dir, "key", "not a key\n", 10, 0600,
	    fx->key, sizeof(fx->key)) < 0 ||
	    unit_write_file(fx->dir, "key644", "not a key\n", 10, 0644,
	    fx->key644, sizeof(fx->key644)) < 0)
		return -1;
	snprintf(fx->keylink, sizeof(fx->keylink), "%s/keylink", fx->dir);
	if (symlink(fx->key, fx->keylink) < 0)
		return -1;
	if (unit_new_pubkey(fx->hostkey, sizeof(fx->hostkey)) < 0 ||
	    unit_new_pubkey(fx->userkey, sizeof(fx->userkey)) < 0 ||
	    unit_new_pubkey(fx->userkey2, sizeof(fx->userkey2)) < 0)
		return -1;
	/* A valid blob under the wrong type name. */
	b64 = strchr(fx->hostkey, ' ') + 1;
	snprintf(fx->rsakey, sizeof(fx->rsakey), "ssh-rsa %s", b64);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unit_msgs_clear(&fx->msgs);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Writes tmpl (with @DIR@, @KEY@, ... filled in) as the config file. */
static void
write_conf(struct fixture *fx, const char *tmpl, size_t extra_len)
{
	static const char *const keys[] = { "@DIR@", "@KEY644@", "@KEYLINK@",
	    "@KEY@", "@HOSTKEY@", "@USERKEY2@", "@USERKEY@", "@RSAKEY@" };
	const char *vals[] = { fx->dir, fx->key644, fx->keylink, fx->key,
	    fx->hostkey, fx->userkey2, fx->userkey, fx->rsakey };
	char *text;

	text = malloc(CONF_TEXT_MAX);
	assert_non_null(text);
	assert_int_equal(unit_subst(text, CONF_TEXT_MAX, tmpl, keys, vals,
	    sizeof(keys) / sizeof(keys[0])), 0);
	assert_int_equal(unit_write_file(fx->dir, "hvbastion.conf", text,
	    strlen(text) + extra_len, 0600, fx->conf, sizeof(fx->conf)), 0);
	free(text);
}

static struct config *
load(struct fixture *fx, const char *tmpl)
{
	unit_msgs_clear(&fx->msgs);
	write_conf(fx, tmpl, 0);
	return config_load(fx->conf, unit_msgs_add, &fx->msgs);
}

/* --- a full valid configuration ------------------------------------------ */

static const char full_conf[] =
    "# hvbastion test configuration\n"			/* 1 */
    "listen \"127.0.0.1\" port 2222\n"			/* 2 */
    "listen \"::1\" port 2223\n"			/* 3 */
    "state-directory \"@DIR@/state\"\n"			/* 4 */
    "recordings-directory \"@DIR@/rec\"\n"		/* 5 */
    "login-grace-time 45\n"				/* 6 */
    "stage-timeout 60\n"				/* 7 */
    "connect-timeout 5\n"				/* 8 */
    "max-auth-tries 3\n"				/* 9 */
    "max-connections 10\n"				/* 10 */
    "record-input no\n"					/* 11 */
    "accept-env \"LANG\" \"LC_*\"\n"			/* 12 */
    "\n"						/* 13 */
    "user \"bob\" {\t# before the target it names\n"	/* 14 */
    "\tpublic-key \"@USERKEY2@\"\n"			/* 15 */
    "\trole \"hv\"\n"					/* 16 */
    "}\n"						/* 17 */
    "credential \"pve1-admin\" {\n"			/* 18 */
    "\tlogin \"root\"\n"				/* 19 */
    "\tkey-file \"@KEY@\"\n"				/* 20 */
    "}\n"						/* 21 */
    "credential \"aux\" {\n"				/* 22 */
    "\tlogin \"_svc\"\r\n"				/* 23 */
    "\tkey-file \"@KEY@\"\n"				/* 24 */
    "}\n"						/* 25 */
    "target \"pve1\" {\n"				/* 26 */
    "\taddress \"10.0.0.1\"\n"				/* 27 */
    "\tport 2200\n"					/* 28 */
    "\thost-key \"@HOSTKEY@ pve1-host\"\n"		/* 29 */
    "\tkind hypervisor\n"				/* 30 */
    "\tcredential \"pve1-admin\"\n"			/* 31 */
    "\tcredential \"aux\"\n"				/* 32 */
    "}\n"						/* 33 */
    "target \"vm101\" {\n"				/* 34 */
    "\taddress \"vm101.example.org\"\n"			/* 35 */
    "\thost-key \"@HOSTKEY@\"\n"			/* 36 */
    "\tkind guest\n"					/* 37 */
    "\tcredential \"aux\"\n"				/* 38 */
    "}\n"						/* 39 */
    "user \"alice\" {\n"				/* 40 */
    "\tpublic-key \"@USERKEY@ alice@laptop\"\n"		/* 41 */
    "\tpublic-key \"@USERKEY2@\"\n"			/* 42 */
    "\trole \"guests\"\n"				/* 43 */
    "\tfrom \"10.0.0.0/8\" \"2001:db8::1\"\n"		/* 44 */
    "}\n"						/* 45 */
    "role \"hv\" {\n"					/* 46 */
    "\tside hypervisor\n"				/* 47 */
    "}\n"						/* 48 */
    "role \"guests\" {\n"				/* 49 */
    "\tside guest\n"					/* 50 */
    "}\n"						/* 51 */
    "grant \"hv\" {\n"					/* 52 */
    "\ttargets \"pve1\"\n"				/* 53 */
    "\tlogin \"root\"\n"				/* 54 */
    "\tchannels shell sftp port-forward\n"		/* 55 */
    "\tforward \"127.0.0.1:8006\" \"[::1]:22\"\n"		/* 56 */
    "\thours \"mon-fri 07:00-20:00\" \"sat,sun 09:00-12:00\"\n"
    "}\n"						/* 58 */
    "grant \"guests\" {\n"				/* 59 */
    "\ttargets kind guest\n"				/* 60 */
    "\ttargets vmid 101 102\n"				/* 61 */
    "\ttargets tag \"prod\"\n"				/* 62 */
    "}\n"						/* 63 */
    "include \"policy.d/extra.conf\"\n"			/* 64 */
    "user \"dave\" {\n"					/* 65 */
    "\tpublic-key \"@USERKEY@\"\n"			/* 66 */
    "\trole \"hv\"\n"					/* 67 */
    "\trole \"guests\"\n"				/* 68 */
    "\tvalid-from \"2026-01-01\"\n"			/* 69 */
    "\tvalid-until \"2026-12-31\"\n"			/* 70 */
    "}\n"						/* 71 */
    "separation-exception \"dave\" \"on call for both\"\n";	/* 72 */

/* Included from full_conf, relative to its directory. */
static const char extra_conf[] =
    "role \"auditors\" {\n"				/* 1 */
    "\tside audit\n"					/* 2 */
    "}\n"						/* 3 */
    "grant \"auditors\" {\n"				/* 4 */
    "}\n"						/* 5 */
    "target \"vm102\" {\n"				/* 6 */
    "\taddress \"10.0.0.3\"\n"				/* 7 */
    "\thost-key \"@HOSTKEY@\"\n"				/* 8 */
    "\tkind guest\n"					/* 9 */
    "\tcredential \"aux\"\n"				/* 10 */
    "\tnode \"pve1\"\n"					/* 11 */
    "\tvmid 102\n"					/* 12 */
    "\tpool \"web\"\n"					/* 13 */
    "\ttag \"prod\" \"db\"\n"				/* 14 */
    "\tzone \"dmz\"\n"					/* 15 */
    "\tsensitivity \"high\"\n"				/* 16 */
    "}\n";						/* 17 */

/* Writes extra_conf as DIR/policy.d/extra.conf. */
static void
write_extra(struct fixture *fx)
{
	static const char *const keys[] = { "@HOSTKEY@" };
	const char *vals[] = { fx->hostkey };
	char dir[PATH_MAX], path[PATH_MAX], text[4096];

	snprintf(dir, sizeof(dir), "%s/policy.d", fx->dir);
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	assert_int_equal(unit_subst(text, sizeof(text), extra_conf, keys,
	    vals, 1), 0);
	assert_int_equal(unit_write_file(dir, "extra.conf", text,
	    strlen(text), 0600, path, sizeof(path)), 0);
}

static void
test_full_valid(void **state)
{
	struct fixture *fx = *state;
	const struct config_target *pve1, *vm101, *vm102;
	const struct config_user *alice, *bob, *dave;
	const struct config_role *hv, *guests, *auditors;
	const struct config_grant *g;
	struct config *conf;
	char path[PATH_MAX];

	write_extra(fx);
	conf = load(fx, full_conf);
	unit_msgs_print(&fx->msgs);
	assert_non_null(conf);
	assert_int_equal(fx->msgs.n, 0);

	assert_string_equal(conf->path, fx->conf);
	assert_int_equal(conf->nlisten, 2);
	assert_string_equal(conf->listen[0].address, "127.0.0.1");
	assert_int_equal(conf->listen[0].port, 2222);
	assert_string_equal(conf->listen[1].address, "::1");
	assert_int_equal(conf->listen[1].port, 2223);
	snprintf(path, sizeof(path), "%s/state", fx->dir);
	assert_string_equal(conf->state_dir, path);
	snprintf(path, sizeof(path), "%s/rec", fx->dir);
	assert_string_equal(conf->recordings_dir, path);
	assert_int_equal(conf->login_grace_time, 45);
	assert_int_equal(conf->stage_timeout, 60);
	assert_int_equal(conf->connect_timeout, 5);
	assert_int_equal(conf->max_auth_tries, 3);
	assert_int_equal(conf->max_connections, 10);
	assert_int_equal(conf->record_input, 0);
	assert_int_equal(conf->naccept_env, 2);
	assert_string_equal(conf->accept_env[0], "LANG");
	assert_string_equal(conf->accept_env[1], "LC_*");

	assert_int_equal(conf->ncredentials, 2);
	assert_string_equal(conf->credentials[0]->name, "pve1-admin");
	assert_string_equal(conf->credentials[0]->login, "root");
	assert_string_equal(conf->credentials[0]->key_file, fx->key);
	assert_int_equal(conf->credentials[0]->origin.line, 18);
	assert_string_equal(conf->credentials[0]->origin.file, fx->conf);
	assert_string_equal(conf->credentials[1]->login, "_svc");
	assert_int_equal(conf->credentials[1]->origin.line, 22);

	assert_int_equal(conf->ntargets, 3);
	pve1 = config_find_target(conf, "pve1");
	vm101 = config_find_target(conf, "vm101");
	assert_non_null(pve1);
	assert_non_null(vm101);
	assert_null(config_find_target(conf, "pve2"));
	assert_string_equal(pve1->address, "10.0.0.1");
	assert_int_equal(pve1->port, 2200);
	/* The comment is dropped: only "type base64" is kept. */
	assert_string_equal(pve1->host_key, fx->hostkey);
	assert_int_equal(pve1->kind, TARGET_KIND_HYPERVISOR);
	assert_string_equal(config_target_kind_name(pve1->kind), "hypervisor");
	assert_int_equal(pve1->ncredentials, 2);
	assert_ptr_equal(pve1->credentials[0], conf->credentials[0]);
	assert_ptr_equal(pve1->credentials[1], conf->credentials[1]);
	assert_int_equal(pve1->origin.line, 26);
	assert_string_equal(vm101->address, "vm101.example.org");
	assert_int_equal(vm101->port, 22);	/* the default */
	assert_int_equal(vm101->kind, TARGET_KIND_GUEST);
	assert_string_equal(config_target_kind_name(vm101->kind), "guest");
	assert_int_equal(vm101->ncredentials, 1);
	assert_ptr_equal(vm101->credentials[0], conf->credentials[1]);

	assert_int_equal(conf->nusers, 3);
	alice = config_find_user(conf, "alice");
	bob = config_find_user(conf, "bob");
	assert_non_null(alice);
	assert_non_null(bob);
	assert_null(config_find_user(conf, "carol"));
	assert_int_equal(alice->origin.line, 40);
	assert_int_equal(alice->npublic_keys, 2);
	assert_string_equal(alice->public_keys[0], fx->userkey);
	assert_string_equal(alice->public_keys[1], fx->userkey2);

	/* Roles, in declaration order, the included one last. */
	assert_int_equal(conf->nroles, 3);
	hv = config_find_role(conf, "hv");
	guests = config_find_role(conf, "guests");
	auditors = config_find_role(conf, "auditors");
	assert_non_null(hv);
	assert_non_null(guests);
	assert_non_null(auditors);
	assert_null(config_find_role(conf, "root"));
	assert_int_equal(hv->side, ROLE_SIDE_HYPERVISOR);
	assert_int_equal(guests->side, ROLE_SIDE_GUEST);
	assert_int_equal(auditors->side, ROLE_SIDE_AUDIT);
	assert_int_equal(hv->origin.line, 46);
	assert_int_equal(auditors->origin.line, 1);
	assert_int_equal(auditors->ngrants, 1);
	assert_int_equal(auditors->grants[0]->nselectors, 0);

	/* Every file read is kept: origins point into conf->files. */
	assert_int_equal(conf->nfiles, 2);
	assert_string_equal(conf->files[0], fx->conf);
	snprintf(path, sizeof(path), "%s/policy.d/extra.conf", fx->dir);
	assert_string_equal(conf->files[1], path);
	assert_ptr_equal(auditors->origin.file, conf->files[1]);

	/* The hypervisor grant: names, login, channels, forwards, hours. */
	assert_int_equal(conf->ngrants, 3);
	assert_int_equal(hv->ngrants, 1);
	g = hv->grants[0];
	assert_ptr_equal(g->role, hv);
	assert_int_equal(g->origin.line, 52);
	assert_int_equal(g->nselectors, 1);
	assert_int_equal(g->selectors[0].kind, SELECT_NAMES);
	assert_int_equal(g->selectors[0].nvalues, 1);
	assert_string_equal(g->selectors[0].values[0], "pve1");
	assert_int_equal(g->selectors[0].origin.line, 53);
	assert_string_equal(g->login, "root");
	assert_int_equal(g->channels, (1u << POLICY_CHANNEL_SHELL) |
	    (1u << POLICY_CHANNEL_SFTP) | (1u << POLICY_CHANNEL_FORWARD));
	assert_int_equal(g->nforwards, 2);
	assert_string_equal(g->forwards[0].host, "127.0.0.1");
	assert_int_equal(g->forwards[0].port, 8006);
	assert_string_equal(g->forwards[1].host, "::1");
	assert_int_equal(g->forwards[1].port, 22);
	assert_int_equal(g->nwindows, 2);
	assert_int_equal(g->windows[0].days, 0x3e);	/* mon..fri */
	assert_int_equal(g->windows[0].start_min, 7 * 60);
	assert_int_equal(g->windows[0].end_min, 20 * 60);
	assert_int_equal(g->windows[1].days, 0x41);	/* sun, sat */
	assert_int_equal(g->windows[1].start_min, 9 * 60);

	/* The guest grant: the default channels, three selectors. */
	assert_int_equal(guests->ngrants, 1);
	g = guests->grants[0];
	assert_null(g->login);
	assert_int_equal(g->channels, (1u << POLICY_CHANNEL_SHELL) |
	    (1u << POLICY_CHANNEL_EXEC));
	assert_int_equal(g->nselectors, 3);
	assert_int_equal(g->selectors[0].kind, SELECT_KIND);
	assert_int_equal(g->selectors[0].target_kind, TARGET_KIND_GUEST);
	assert_int_equal(g->selectors[1].kind, SELECT_VMID);
	assert_int_equal(g->selectors[1].nvalues, 2);
	assert_int_equal(g->selectors[1].vmids[1], 102);
	assert_int_equal(g->selectors[2].kind, SELECT_TAG);

	/* Attributes (set in the included file), and their absence. */
	vm102 = config_find_target(conf, "vm102");
	assert_non_null(vm102);
	assert_string_equal(vm102->origin.file, conf->files[1]);
	assert_string_equal(vm102->node, "pve1");
	assert_int_equal(vm102->vmid, 102);
	assert_string_equal(vm102->pool, "web");
	assert_int_equal(vm102->ntags, 2);
	assert_string_equal(vm102->tags[1], "db");
	assert_string_equal(vm102->zone, "dmz");
	assert_string_equal(vm102->sensitivity, "high");
	assert_int_equal(pve1->vmid, -1);
	assert_null(pve1->node);
	assert_int_equal(pve1->ntags, 0);
	assert_true(config_selector_match(&g->selectors[1], vm102));
	assert_true(config_selector_match(&g->selectors[2], vm102));
	assert_false(config_selector_match(&g->selectors[1], vm101));

	/* Users: roles with where they were given, sources, dates. */
	assert_int_equal(bob->nroles, 1);
	assert_ptr_equal(bob->roles[0], hv);
	assert_int_equal(bob->role_origins[0].line, 16);
	assert_int_equal(bob->nnets, 0);
	assert_int_equal(bob->valid_from, 0);
	assert_int_equal(bob->valid_until, 0);
	assert_null(bob->exception);
	assert_int_equal(alice->nroles, 1);
	assert_ptr_equal(alice->roles[0], guests);
	assert_int_equal(alice->role_origins[0].line, 43);
	assert_string_equal(alice->role_origins[0].file, fx->conf);
	assert_int_equal(alice->nnets, 2);
	assert_int_equal(alice->nets[0].family, AF_INET);
	assert_int_equal(alice->nets[0].prefix, 8);
	assert_int_equal(alice->nets[0].addr[0], 10);
	assert_int_equal(alice->nets[1].family, AF_INET6);
	assert_int_equal(alice->nets[1].prefix, 128);
	assert_int_equal(alice->nets[1].origin.line, 44);
	dave = config_find_user(conf, "dave");
	assert_non_null(dave);
	assert_int_equal(dave->nroles, 2);
	assert_int_equal(dave->valid_from, 1767225600);	/* 2026-01-01 */
	assert_int_equal(dave->valid_until, 1798761599);	/* 2026-12-31 end */
	assert_non_null(dave->exception);
	assert_string_equal(dave->exception->reason, "on call for both");
	assert_int_equal(dave->exception->origin.line, 72);
	assert_int_equal(conf->nexceptions, 1);
	config_free(conf);
}

static void
test_defaults(void **state)
{
	struct fixture *fx = *state;
	struct config *conf;

	conf = load(fx, "# nothing but defaults\n");
	unit_msgs_print(&fx->msgs);
	assert_non_null(conf);
	assert_int_equal(conf->nlisten, 1);
	assert_string_equal(conf->listen[0].address, "0.0.0.0");
	assert_int_equal(conf->listen[0].port, 22);
	assert_string_equal(conf->state_dir, "/var/lib/hvbastion");
	assert_string_equal(conf->recordings_dir,
	    "/var/lib/hvbastion/recordings");
	assert_int_equal(conf->login_grace_time, 30);
	assert_int_equal(conf->record_input, 1);
	assert_int_equal(conf->ntargets, 0);
	assert_int_equal(conf->nusers, 0);
	config_free(conf);

	/* Recording keywords (config_recording.c). */
	conf = load(fx, "# nothing\n");
	assert_non_null(conf);
	assert_null(conf->auditor_group);
	assert_int_equal(conf->record_exec_streams, 1024 * 1024);
	assert_int_equal(conf->compress_recordings, 0);
	config_free(conf);
	conf = load(fx, "auditor-group \"audit\"\nrecord-exec-streams 0\n"
	    "compress-recordings yes\n");
	unit_msgs_print(&fx->msgs);
	assert_non_null(conf);
	assert_string_equal(conf->auditor_group, "audit");
	assert_int_equal(conf->record_exec_streams, 0);
	assert_int_equal(conf->compress_recordings, 1);
	config_free(conf);

	/* api-realms (config_api.c): pam and pve unless told. */
	conf = load(fx, "# nothing\n");
	assert_non_null(conf);
	assert_int_equal(conf->napi_realms, 2);
	assert_true(config_api_realm_ok(conf, "pam"));
	assert_true(config_api_realm_ok(conf, "pve"));
	assert_false(config_api_realm_ok(conf, "corp"));
	config_free(conf);
	conf = load(fx, "api-realms \"pve\" \"corp-AD.example_1\"\n");
	unit_msgs_print(&fx->msgs);
	assert_non_null(conf);
	assert_int_equal(conf->napi_realms, 2);
	assert_false(config_api_realm_ok(conf, "pam"));
	assert_true(config_api_realm_ok(conf, "corp-AD.example_1"));
	assert_false(config_api_realm_ok(conf, "corp-ad.example_1"));
	config_free(conf);
	assert_true(names_valid_realm("ab"));
	assert_true(names_valid_realm("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(names_valid_realm("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(names_valid_realm("a"));
	assert_false(names_valid_realm("1ab"));
	assert_false(names_valid_realm("_ab"));
	assert_false(names_valid_realm("pam!x"));
	assert_false(names_valid_realm("p m"));
	assert_false(names_valid_realm(""));

	/* recordings-directory follows state-directory when not given. */
	conf = load(fx, "state-directory \"/srv/hvb\"\n");
	assert_non_null(conf);
	assert_string_equal(conf->recordings_dir, "/srv/hvb/recordings");
	config_free(conf);
}

/* --- broken configurations ----------------------------------------------- */

#define CRED								\
    "credential \"c1\" {\n"				/* 1 */	\
    "\tlogin \"root\"\n"				/* 2 */	\
    "\tkey-file \"@KEY@\"\n"				/* 3 */	\
    "}\n"						/* 4 */
#define TARGET								\
    "target \"pve1\" {\n"				/* 5 */	\
    "\taddress \"10.0.0.1\"\n"				/* 6 */	\
    "\thost-key \"@HOSTKEY@\"\n"			/* 7 */	\
    "\tkind hypervisor\n"				/* 8 */	\
    "\tcredential \"c1\"\n"				/* 9 */	\
    "}\n"						/* 10 */
#define USER								\
    "user \"alice\" {\n"				/* 11 */\
    "\tpublic-key \"@USERKEY@\"\n"			/* 12 */\
    "\tfrom \"10.0.0.0/8\"\n"				/* 13 */\
    "}\n"						/* 14 */

struct want {
	int		 line;
	const char	*text;		/* a substring of the message */
};

struct bad_case {
	const char	*name;
	const char	*conf;
	struct want	 want[10];
	int		 prefix_only;	/* more (cascading) errors may follow */
};

static const struct bad_case bad_cases[] = {
	{ "api-realms: invalid, twice, empty, repeated",
	  "api-realms \"pve\" \"9lives\" \"pve\" \"x\" \"a:b\"\n"
	  "api-realms \"pam\"\n"
	  "api-realms\n",
	  { { 1, "\"9lives\" does not look like a valid realm" },
	    { 1, "\"pve\" given twice" },
	    { 1, "\"x\" does not look like a valid realm" },
	    { 1, "\"a:b\" does not look like a valid realm" },
	    { 2, "api-realms: given more than once" },
	    { 3, "api-realms: given more than once" } }, 0 },
	{ "unknown top-level keyword",
	  CRED TARGET USER "frobnicate yes\n",
	  { { 15, "unknown keyword \"frobnicate\"" } }, 0 },
	{ "unknown keyword in a target",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\tcolour blue\n"					/* 7 */
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n" ,
	  { { 7, "unknown keyword \"colour\" in target" } }, 0 },
	{ "unknown block",
	  CRED TARGET USER "policy \"admins\" {\n\tmember alice\n}\n",
	  { { 15, "unknown block \"policy\"" } }, 0 },
	{ "unterminated string at top level",
	  "state-directory \"/var/lib\n" CRED TARGET USER,
	  { { 1, "unterminated quoted string" } }, 0 },
	{ "unterminated string in a block",
	  "credential \"c1\" {\n"
	  "\tlogin \"root\n"					/* 2 */
	  "\tkey-file \"@KEY@\"\n"
	  "}\n" TARGET USER,
	  { { 2, "unterminated quoted string" },
	    { 1, "credential \"c1\": no login" } }, 0 },
	{ "invalid escape",
	  CRED TARGET USER "state-directory \"C:\\temp\"\n",
	  { { 15, "invalid escape" } }, 0 },
	{ "unexpected character",
	  CRED TARGET USER "login-grace-time 30;\n",
	  { { 15, "unexpected character" } }, 0 },
	{ "missing '}' at end of file",
	  CRED TARGET
	  "user \"alice\" {\n"					/* 11 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\tfrom \"10.0.0.1\"\n",
	  { { 11, "block is not closed with '}'" } }, 0 },
	{ "missing '}' before the next block",
	  CRED
	  "target \"pve1\" {\n"					/* 5 */
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "\n"
	  USER,
	  { { 11, "blocks do not nest" } }, 1 },
	{ "'}' without a block",
	  CRED TARGET USER "}\n",
	  { { 15, "'}' without a block" } }, 0 },
	{ "duplicate target",
	  CRED TARGET
	  "target \"pve1\" {\n"					/* 11 */
	  "\taddress \"10.0.0.2\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind guest\n"
	  "\tcredential \"c1\"\n"
	  "}\n"
	  "user \"alice\" {\n"
	  "\tpublic-key \"@USERKEY@\"\n"
	  "}\n",
	  { { 11, "target \"pve1\" is declared more than once" } }, 0 },
	{ "duplicate credential",
	  CRED CRED TARGET,
	  { { 5, "credential \"c1\" is declared more than once" } }, 0 },
	{ "duplicate user",
	  CRED TARGET USER USER,
	  { { 15, "user \"alice\" is declared more than once" } }, 0 },
	{ "reserved person name",
	  CRED TARGET USER
	  "user \"hvbastion-unknown-person\" {\n"		/* 15 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "}\n",
	  { { 15, "user \"hvbastion-unknown-person\": this name is reserved"
	    " (PAM sees it for unknown names)" } }, 0 },
	{ "unknown credential referenced",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"nope\"\n"				/* 9 */
	  "}\n" USER,
	  { { 9, "target \"pve1\": unknown credential \"nope\"" } }, 0 },
	{ "the old per-user target line is gone",
	  CRED TARGET
	  "user \"alice\" {\n"
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\ttarget \"pve1\"\n"					/* 13 */
	  "}\n",
	  { { 13, "unknown keyword \"target\" in user" } }, 0 },
	{ "key-file mode 0644 refused",
	  "credential \"c1\" {\n"				/* 1 */
	  "\tlogin \"root\"\n"
	  "\tkey-file \"@KEY644@\"\n"
	  "}\n" TARGET USER,
	  { { 1, "is accessible by others (mode 0644); it must be 0600" } },
	  0 },
	{ "key-file missing",
	  "credential \"c1\" {\n"
	  "\tlogin \"root\"\n"
	  "\tkey-file \"@DIR@/no-such-key\"\n"
	  "}\n" TARGET USER,
	  { { 1, "No such file or directory" } }, 0 },
	{ "key-file through a symlink refused",
	  "credential \"c1\" {\n"
	  "\tlogin \"root\"\n"
	  "\tkey-file \"@KEYLINK@\"\n"
	  "}\n" TARGET USER,
	  { { 1, "credential \"c1\": key-file" } }, 0 },
	{ "credential without key-file and login",
	  "credential \"c1\" {\n}\n"
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n",
	  { { 1, "credential \"c1\": no login" },
	    { 1, "credential \"c1\": no key-file" } }, 0 },
	{ "bad target port",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\tport 70000\n"					/* 7 */
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n",
	  { { 7, "port: \"70000\" is not a number from 1 to 65535" } }, 0 },
	{ "bad ports everywhere",
	  "listen \"0.0.0.0\" port 0\n"				/* 1 */
	  "listen \"0.0.0.0\" port 22x\n"			/* 2 */
	  "listen \"0.0.0.0\" port -1\n"			/* 3 */
	  "listen \"0.0.0.0\" port 99999999999999999999\n"	/* 4 */
	  "listen \"0.0.0.0\"\n",				/* 5 */
	  { { 1, "listen: \"0\" is not a number" },
	    { 2, "listen: \"22x\" is not a number" },
	    { 3, "listen: \"-1\" is not a number" },
	    { 4, "is not a number from 1 to 65535" },
	    { 5, "listen: expected listen \"ADDRESS\" port NUMBER" } }, 0 },
	{ "invalid target name with ';'",
	  CRED
	  "target \"pve1;id\" {\n"				/* 5 */
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n" USER,
	  { { 5, "target \"pve1;id\": invalid name" } }, 0 },
	{ "invalid names in references and logins",
	  "credential \"c1\" {\n"
	  "\tlogin \"root;id\"\n"				/* 2 */
	  "\tkey-file \"@KEY@\"\n"
	  "}\n"
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1;id\"\n"				/* 6 */
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"../c1\"\n"				/* 9 */
	  "}\n",
	  { { 2, "login \"root;id\": invalid login name" },
	    { 6, "address \"10.0.0.1;id\": not a host name" },
	    { 9, "credential \"../c1\": invalid name" },
	    { 5, "target \"pve1\": no credential" } }, 0 },
	{ "missing host-key",
	  CRED
	  "target \"pve1\" {\n"					/* 5 */
	  "\taddress \"10.0.0.1\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n",
	  { { 5, "target \"pve1\": no host-key" } }, 0 },
	{ "host-key that is not a key",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"ssh-ed25519 AAAAnotbase64!\"\n"		/* 7 */
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n",
	  { { 7, "host-key: not a valid public key" },
	    { 5, "target \"pve1\": no host-key" } }, 0 },
	{ "host-key blob under another type's name",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@RSAKEY@\"\n"				/* 7 */
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "}\n",
	  { { 7, "host-key: not a valid public key" },
	    { 5, "target \"pve1\": no host-key" } }, 0 },
	{ "public-key without its base64",
	  CRED TARGET
	  "user \"alice\" {\n"					/* 11 */
	  "\tpublic-key \"ssh-ed25519\"\n"			/* 12 */
	  "\tfrom \"10.0.0.1\"\n"
	  "}\n",
	  { { 12, "public-key: expected \"TYPE BASE64 [comment]\"" },
	    { 11, "user \"alice\": no public-key" } }, 0 },
	{ "block without brace",
	  CRED TARGET USER "target \"pve2\"\n",
	  { { 15, "target: expected '{' on the same line" } }, 0 },
	{ "brace on the next line",
	  CRED TARGET USER "user \"bob\"\n{\n",
	  { { 15, "user: expected '{' on the same line" },
	    { 16, "'{' without a block name" } }, 1 },
	{ "nested block",
	  CRED
	  "target \"pve1\" {\n"
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\" {\n"				/* 9 */
	  "}\n",
	  { { 9, "credential: blocks do not nest" } }, 1 },
	{ "bad values",
	  "record-input maybe\n"				/* 1 */
	  "login-grace-time 0\n"				/* 2 */
	  "max-auth-tries\n"					/* 3 */
	  "accept-env\n"					/* 4 */
	  "state-directory \"/a\" \"/b\"\n"			/* 5 */
	  "state-directory \"/c\"\n"				/* 6 */
	  "state-directory \"/d\"\n",				/* 7 */
	  { { 1, "record-input: expected yes or no" },
	    { 2, "login-grace-time: \"0\" is not a number from 1 to 3600" },
	    { 3, "max-auth-tries: missing number" },
	    { 4, "accept-env: expected patterns" },
	    { 5, "state-directory: expected exactly one value" },
	    { 7, "state-directory: given more than once" } }, 0 },
	{ "bad recording values",
	  "auditor-group \"a b\"\n"				/* 1 */
	  "record-exec-streams -1\n"				/* 2 */
	  "record-exec-streams\n"				/* 3 */
	  "compress-recordings maybe\n",			/* 4 */
	  { { 1, "auditor-group: invalid group name" },
	    { 2, "record-exec-streams: \"-1\" is not a number" },
	    { 3, "record-exec-streams: expected one size in bytes" },
	    { 4, "compress-recordings: expected yes or no" } }, 0 },
	{ "too many listen addresses",
	  "listen \"10.0.0.1\" port 1\n" "listen \"10.0.0.1\" port 2\n"
	  "listen \"10.0.0.1\" port 3\n" "listen \"10.0.0.1\" port 4\n"
	  "listen \"10.0.0.1\" port 5\n" "listen \"10.0.0.1\" port 6\n"
	  "listen \"10.0.0.1\" port 7\n" "listen \"10.0.0.1\" port 8\n"
	  "listen \"10.0.0.1\" port 9\n",			/* 9 */
	  { { 9, "listen: at most 8 addresses" } }, 0 },
	{ "several errors in one file, all reported",
	  "frobnicate yes\n"					/* 1 */
	  "login-grace-time 0\n"				/* 2 */
	  "state-directory \"a\\q\"\n"				/* 3 */
	  "record-input maybe\n"				/* 4 */
	  "credential \"c1\" {\n"				/* 5 */
	  "\tlogin \"root\"\n"					/* 6 */
	  "\tkey-file \"@KEY644@\"\n"				/* 7 */
	  "}\n"							/* 8 */
	  "target \"pve1\" {\n"					/* 9 */
	  "\taddress \"10.0.0.1\"\n"				/* 10 */
	  "\thost-key \"@HOSTKEY@\"\n"				/* 11 */
	  "\tcredential \"c1\"\n"				/* 12 */
	  "\tport 0\n"						/* 13 */
	  "}\n"							/* 14 */
	  "user \"alice\" {\n"					/* 15 */
	  "\tpublic-key \"@USERKEY@\"\n"			/* 16 */
	  "\trole \"nope\"\n"					/* 17 */
	  "}\n"							/* 18 */
	  "target \"pve1\" {\n"					/* 19 */
	  "}\n",						/* 20 */
	  { { 1, "unknown keyword \"frobnicate\"" },
	    { 2, "login-grace-time: \"0\" is not a number" },
	    { 3, "invalid escape" },
	    { 4, "record-input: expected yes or no" },
	    { 13, "port: \"0\" is not a number" },
	    { 19, "target \"pve1\" is declared more than once" },
	    { 5, "mode 0644" },
	    { 9, "target \"pve1\": no kind" },
	    { 17, "user \"alice\": unknown role \"nope\"" } }, 0 },
	/* --- the policy (POLICY_DESIGN.md, hvbastion.conf(5)) --- */
	{ "role errors",
	  CRED TARGET USER
	  "role \"r1\" {\n"					/* 15 */
	  "\tside sideways\n"					/* 16 */
	  "\tcolour blue\n"					/* 17 */
	  "}\n"
	  "role \"r2\" {\n"					/* 19 */
	  "\tside audit\n"
	  "\tside guest\n"					/* 21 */
	  "}\n"
	  "role \"r2\" {\n"					/* 23 */
	  "\tside guest\n"
	  "}\n",
	  { { 16, "side: expected hypervisor, guest, audit or"
		" bastion-admin" },
	    { 17, "unknown keyword \"colour\" in role" },
	    { 21, "side: given more than once" },
	    { 23, "role \"r2\" is declared more than once" },
	    { 15, "role \"r1\": no side (hypervisor, guest, audit or"
		" bastion-admin)" } }, 0 },
	{ "target attributes",
	  CRED
	  "target \"pve1\" {\n"					/* 5 */
	  "\taddress \"10.0.0.1\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind hypervisor\n"
	  "\tcredential \"c1\"\n"
	  "\tnode \"pve1\"\n"					/* 10 */
	  "\tnode \"pve2\"\n"					/* 11 */
	  "\tvmid 101\n"
	  "\tvmid 102\n"					/* 13 */
	  "\ttag\n"						/* 14 */
	  "}\n"
	  "target \"vm101\" {\n"				/* 16 */
	  "\taddress \"10.0.0.2\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind guest\n"
	  "\tcredential \"c1\"\n"
	  "\tvmid 0\n"						/* 21 */
	  "\tvmid 1 2\n"					/* 22 */
	  "}\n",
	  { { 11, "node: given more than once" },
	    { 13, "vmid: given more than once" },
	    { 14, "tag: expected one or more tags" },
	    { 21, "vmid: \"0\" is not a number from 1 to 999999999" },
	    { 22, "vmid: expected one number" } }, 0 },
	{ "grant: targets lines",
	  CRED TARGET USER
	  "role \"hv\" {\n"					/* 15 */
	  "\tside hypervisor\n"
	  "}\n"
	  "grant \"hv\" {\n"					/* 18 */
	  "\ttargets\n"						/* 19 */
	  "\ttargets bogus 1\n"					/* 20 */
	  "\ttargets \"pve1\" pve2\n"				/* 21 */
	  "\ttargets all \"pve1\"\n"				/* 22 */
	  "\ttargets node\n"					/* 23 */
	  "\ttargets kind guests\n"				/* 24 */
	  "\ttargets vmid 1x\n"					/* 25 */
	  "\ttargets \"pve1\"\n"
	  "\tfrobnicate\n"					/* 27 */
	  "}\n",
	  { { 19, "targets: expected names, all, kind, node, vmid, pool,"
		" tag, zone or sensitivity" },
	    { 20, "targets: expected names, all, kind, node, vmid, pool,"
		" tag, zone or sensitivity" },
	    { 21, "targets: \"pve2\" is not a quoted target name" },
	    { 22, "targets all: takes no values" },
	    { 23, "targets node: expected one or more values" },
	    { 24, "targets kind: expected hypervisor or guest" },
	    { 25, "targets vmid: \"1x\" is not a number from 1 to"
		" 999999999" },
	    { 27, "unknown keyword \"frobnicate\" in grant" } }, 0 },
	{ "grant: logins, channels, forwards, hours",
	  CRED TARGET USER
	  "role \"hv\" {\n"					/* 15 */
	  "\tside hypervisor\n"
	  "}\n"
	  "grant \"hv\" {\n"					/* 18 */
	  "\ttargets \"pve1\"\n"
	  "\tlogin \"root;id\"\n"				/* 20 */
	  "\tchannels\n"						/* 21 */
	  "\tchannels shell teleport\n"				/* 22 */
	  "\tforward\n"						/* 23 */
	  "\tforward \"nohost\" \"h:0\"\n"				/* 24 */
	  "\thours\n"						/* 25 */
	  "\thours \"mon-fri 20:00-07:00\"\n"			/* 26 */
	  "\thours \"someday 07:00-20:00\" \"* 7:00-8:00\"\n"	/* 27 */
	  "}\n",
	  { { 20, "login \"root;id\": invalid login name" },
	    { 21, "channels: expected shell, exec, sftp, scp or"
		" port-forward" },
	    { 22, "channels: unknown channel \"teleport\" (shell, exec,"
		" sftp, scp, port-forward)" },
	    { 23, "forward: expected \"HOST:PORT\"" },
	    { 24, "forward: \"nohost\" is not HOST:PORT" },
	    { 24, "forward: \"h:0\" is not HOST:PORT" },
	    { 25, "hours: expected \"DAYS HH:MM-HH:MM\"" },
	    { 26, "hours \"mon-fri 20:00-07:00\": the end must be after"
		" the start" },
	    { 27, "hours \"someday 07:00-20:00\": expected \"DAYS"
		" HH:MM-HH:MM\" (days mon..sun" },
	    { 27, "hours \"* 7:00-8:00\": expected" } }, 1 },
	{ "grant checks: sides, logins, roles, names",
	  CRED TARGET USER
	  "target \"vm101\" {\n"				/* 15 */
	  "\taddress \"10.0.0.2\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind guest\n"
	  "\tcredential \"c1\"\n"
	  "}\n"
	  "role \"hv\" {\n"					/* 21 */
	  "\tside hypervisor\n"
	  "}\n"
	  "role \"aud\" {\n"					/* 24 */
	  "\tside audit\n"
	  "}\n"
	  "grant \"aud\" {\n"					/* 27 */
	  "\ttargets all\n"
	  "}\n"
	  "grant \"hv\" {\n"					/* 30 */
	  "\tchannels shell\n"
	  "}\n"
	  "grant \"hv\" {\n"					/* 33 */
	  "\ttargets all\n"					/* 34 */
	  "\tlogin \"nobody\"\n"					/* 35 */
	  "}\n"
	  "grant \"ghost\" {\n"					/* 37 */
	  "\ttargets \"nope\"\n"					/* 38 */
	  "\tforward \"127.0.0.1:22\"\n"			/* 39 */
	  "}\n",
	  { { 27, "grant of role \"aud\": a role of side audit may not"
		" select targets (auditors only read)" },
	    { 30, "grant of role \"hv\": no targets line" },
	    { 34, "grant of role \"hv\" (side hypervisor) selects guest"
		" target \"vm101\"" },
	    { 35, "grant of role \"hv\": no selected target has a"
		" credential with login \"nobody\"" },
	    { 37, "grant: unknown role \"ghost\"" },
	    { 38, "targets: unknown target \"nope\"" },
	    { 39, "forward: needs \"channels ... port-forward\"" } }, 0 },
	{ "user: roles, dates, sources",
	  CRED TARGET USER
	  "user \"bob\" {\n"					/* 15 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\trole \"nope\"\n"					/* 17 */
	  "\trole \"bad;name\"\n"				/* 18 */
	  "\tvalid-from \"2026-01-01\"\n"
	  "\tvalid-from \"2026-01-02\"\n"			/* 20 */
	  "\tvalid-until \"2026-02-31\"\n"			/* 21 */
	  "\tfrom\n"						/* 22 */
	  "\tfrom \"10.0.0.0/33\" \"10.0.0.1\"\n"		/* 23 */
	  "\ttarget \"pve1\"\n"					/* 24 */
	  "}\n"
	  "user \"dave\" {\n"					/* 26 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\tvalid-from \"2027-01-01\"\n"
	  "\tvalid-until \"2026-12-31\"\n"
	  "}\n",
	  { { 18, "role \"bad;name\": invalid name" },
	    { 20, "valid-from: given more than once" },
	    { 21, "valid-until: expected a date \"YYYY-MM-DD\"" },
	    { 22, "from: expected addresses or networks" },
	    { 23, "from: \"10.0.0.0/33\" is not an address or network"
		" (CIDR)" },
	    { 24, "unknown keyword \"target\" in user" },
	    { 17, "user \"bob\": unknown role \"nope\"" },
	    { 26, "user \"dave\": valid-until is before valid-from" } },
	  0 },
	{ "forwards without destinations, duplicate roles, IPv6 zones",
	  CRED TARGET USER
	  "role \"hv\" {\n"					/* 15 */
	  "\tside hypervisor\n"
	  "}\n"
	  "grant \"hv\" {\n"					/* 18 */
	  "\ttargets \"pve1\"\n"
	  "\tchannels shell\n"					/* 20 */
	  "\tchannels port-forward\n"				/* 21 */
	  "}\n"
	  "user \"bob\" {\n"					/* 23 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\trole \"hv\"\n"					/* 25 */
	  "\trole \"hv\"\n"					/* 26 */
	  "\tfrom \"fe80::1%eth0\" \"fe80::/10%2\" \"::1\"\n"	/* 27 */
	  "}\n",
	  { { 27, "from: \"fe80::1%eth0\": an IPv6 zone (%INTERFACE) is"
		" not allowed; give the address or network without it" },
	    { 27, "from: \"fe80::/10%2\": an IPv6 zone" },
	    { 21, "channels port-forward: no \"forward\" line (the"
		" HOST:PORT destinations it allows)" },
	    { 26, "user \"bob\": role \"hv\" is given more than once"
		" (first at line 25)" } }, 0 },
	{ "separation of the hypervisor and guest sides",
	  CRED TARGET USER
	  "target \"vm101\" {\n"				/* 15 */
	  "\taddress \"10.0.0.2\"\n"
	  "\thost-key \"@HOSTKEY@\"\n"
	  "\tkind guest\n"
	  "\tcredential \"c1\"\n"
	  "}\n"
	  "role \"hv\" {\n"					/* 21 */
	  "\tside hypervisor\n"
	  "}\n"
	  "role \"guests\" {\n"					/* 24 */
	  "\tside guest\n"
	  "}\n"
	  "user \"dave\" {\n"					/* 27 */
	  "\tpublic-key \"@USERKEY@\"\n"
	  "\trole \"hv\"\n"
	  "\trole \"guests\"\n"
	  "}\n"
	  "separation-exception \"nobody\" \"typo\"\n"		/* 32 */
	  "separation-exception \"dave\"\n"			/* 33 */
	  "separation-exception \"alice\" \"one\"\n"		/* 34 */
	  "separation-exception \"alice\" \"two\"\n",		/* 35 */
	  { { 33, "separation-exception: expected \"PERSON\" \"REASON\"" },
	    { 32, "separation-exception: unknown user \"nobody\"" },
	    { 35, "separation-exception: user \"alice\" already has one" },
	    { 27, "user \"dave\": holds the hypervisor-side role \"hv\""
		" and the guest-side role \"guests\" without a"
		" separation-exception" } }, 0 },
	{ "include errors",
	  CRED TARGET USER
	  "include\n"						/* 15 */
	  "include \"absent.conf\"\n"				/* 16 */
	  "role \"r\"\n"						/* 17 */
	  "grant \"r\"\n",					/* 18 */
	  { { 15, "include: expected one file name" },
	    { 16, "include \"absent.conf\": cannot open: No such file or"
		" directory" },
	    { 17, "role: expected '{' on the same line" },
	    { 18, "grant: expected '{' on the same line" } }, 0 },
	{ "include loop",
	  "include \"hvbastion.conf\"\n",			/* 1 */
	  { { 1, "include \"hvbastion.conf\": nested too deeply (at most 8"
		" levels)" } }, 0 },
};

/*
 * Compares the reports with what a case wants; returns 0, or -1 with the
 * reason in why.  Not cmocka asserts: one run should show every broken case
 * of the table, not only the first.
 */
static int
check_reports(const struct fixture *fx, const struct want *want,
    size_t nwant, int prefix_only, char *why, size_t whylen)
{
	char head[PATH_MAX + 32];
	size_t i, flen = strlen(fx->conf);

	if (prefix_only ? fx->msgs.n < nwant : fx->msgs.n != nwant) {
		snprintf(why, whylen, "%zu reports, wanted %s%zu", fx->msgs.n,
		    prefix_only ? "at least " : "", nwant);
		return -1;
	}
	for (i = 0; i < nwant; i++) {
		snprintf(head, sizeof(head), "%s:%d: ", fx->conf, want[i].line);
		if (fx->msgs.v[i] == NULL ||
		    strncmp(fx->msgs.v[i], head, strlen(head)) != 0 ||
		    strstr(fx->msgs.v[i] + strlen(head), want[i].text) ==
		    NULL) {
			snprintf(why, whylen, "report %zu: wanted \"%s...%s\"",
			    i, head, want[i].text);
			return -1;
		}
	}
	/* Whatever else is said still names the file and a real line. */
	for (; i < fx->msgs.n; i++) {
		const char *m = fx->msgs.v[i];
		char *end;
		long line;

		if (m == NULL || strncmp(m, fx->conf, flen) != 0 ||
		    m[flen] != ':')
			goto bad;
		line = strtol(m + flen + 1, &end, 10);
		if (line <= 0 || strncmp(end, ": ", 2) != 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen, "report %zu is not \"file:line: message\"", i);
	return -1;
}

static void
test_bad_configs(void **state)
{
	struct fixture *fx = *state;
	char why[PATH_MAX + 256];
	size_t i, nwant;
	int failed = 0;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct config *conf;

		for (nwant = 0; nwant < 10 && bc->want[nwant].text != NULL;
		    nwant++)
			;
		conf = load(fx, bc->conf);
		if (conf != NULL) {
			print_error("case \"%s\": accepted\n", bc->name);
			config_free(conf);
			failed++;
			continue;
		}
		if (check_reports(fx, bc->want, nwant, bc->prefix_only, why,
		    sizeof(why)) < 0) {
			print_error("case \"%s\": %s\n", bc->name, why);
			unit_msgs_print(&fx->msgs);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_missing_file(void **state)
{
	struct fixture *fx = *state;
	struct config *conf;
	char path[PATH_MAX], head[PATH_MAX + 8];

	unit_msgs_clear(&fx->msgs);
	snprintf(path, sizeof(path), "%s/absent.conf", fx->dir);
	conf = config_load(path, unit_msgs_add, &fx->msgs);
	assert_null(conf);
	assert_int_equal(fx->msgs.n, 1);
	snprintf(head, sizeof(head), "%s:0: ", path);
	assert_int_equal(strncmp(fx->msgs.v[0], head, strlen(head)), 0);
	assert_non_null(strstr(fx->msgs.v[0], "cannot open"));

	/* A directory is not a configuration file. */
	unit_msgs_clear(&fx->msgs);
	assert_null(config_load(fx->dir, unit_msgs_add, &fx->msgs));
	assert_int_equal(fx->msgs.n, 1);

	/* No callback: still refused, and nothing crashes. */
	assert_null(config_load(path, NULL, NULL));
}

static void
test_nul_byte(void **state)
{
	struct fixture *fx = *state;
	struct config *conf;

	unit_msgs_clear(&fx->msgs);
	/* write_conf writes one byte past the text: its NUL. */
	write_conf(fx, "record-input yes\n", 1);
	conf = config_load(fx->conf, unit_msgs_add, &fx->msgs);
	assert_null(conf);
	assert_int_equal(fx->msgs.n, 1);
	assert_non_null(strstr(fx->msgs.v[0], "NUL byte"));
}

/* A long run of broken lines: every one reported, none lost or merged. */
static void
test_every_error_counted(void **state)
{
	struct fixture *fx = *state;
	static char text[CONF_TEXT_MAX];
	struct want want[1];
	size_t i, o = 0;
	char why[PATH_MAX + 256];

	for (i = 0; i < 100; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n",
		    i % 3 == 0 ? "bogus" : i % 3 == 1 ? "port \"x" :
		    "max-connections 0");
	assert_null(load(fx, text));
	assert_int_equal(fx->msgs.n, 100);
	for (i = 0; i < 100; i++) {
		char head[PATH_MAX + 32];

		snprintf(head, sizeof(head), "%s:%zu: ", fx->conf, i + 1);
		if (strncmp(fx->msgs.v[i], head, strlen(head)) != 0)
			fail_msg("report %zu: \"%s\"", i, fx->msgs.v[i]);
	}
	want[0].line = 1;
	want[0].text = "unknown keyword \"bogus\"";
	assert_int_equal(check_reports(fx, want, 1, 1, why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_configs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_every_error_counted,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
