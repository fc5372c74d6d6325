/*
 * policy_bench.c - how long does one policy decision take on a large
 * bastion?  (issue 4: 2,000 targets and 500 users, far below a
 * millisecond.)
 *
 *	build/bench/policy_bench [-n REQUESTS] [-s SEED]
 *
 * Generates a configuration in a temporary directory (an inventory split
 * over two included files, a policy file and a people file: 2,000 targets,
 * 500 users, 205 roles with 400 grants mixing every selector kind, logins,
 * channels, forwards and hours), loads it with config_load() as the daemon
 * does, then times policy_decide() one request at a time over random
 * requests, half of them drawn from what the person may reach (so that
 * allows are measured, not only the cheap early denies).  Prints the load
 * time, then median, p99 and maximum in microseconds, overall and for
 * allowed and denied requests separately.
 *
 * The Proxmox API side (issue 7) on the same policy: every role also has
 * a token and API grants (paths by node, vmid and pool, privileges and
 * Proxmox roles, some with hours); random API calls are mapped with
 * api_acl_map() and decided with policy_decide_api(), timed together as
 * the proxy pays them; then a cluster/resources answer of the whole
 * inventory (2,000 guests and nodes, storage, pools) is filtered with
 * api_filter_list() for random people.
 *
 * Deterministic for a given seed (rand_r), except for the clock: hours
 * windows are evaluated at the real time of the run, as in production.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../bastion/config.h"
#include "../policy/api_acl.h"
#include "../policy/api_filter.h"
#include "../policy/policy.h"

#define NHV		400		/* hypervisors: pve0..pve399 */
#define NGUEST		1600		/* guests: vm1000.. */
#define NTARGETS	(NHV + NGUEST)
#define NUSERS		500
#define NHVROLES	50
#define NGUESTROLES	150
#define NAUDITROLES	5
#define NPOOLS		40
#define NZONES		8
#define NREQ_DEFAULT	200000
#define NLISTS		200		/* cluster/resources filterings */
#define TOKEN_SECRET	"0d6a3c2e-1b5f-4c1a-9e2b-3f4a5b6c7d8e\n"

/* Any valid ed25519 key: the bench never connects. */
#define HOSTKEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNoXZLFfBKth1QgTQ8h" \
		"Q+ktqBHvCBHAjQRpXqCoaGpA"
#define USERKEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMWhkr0SAJFS7its38+7" \
		"R+IDiqMVe38mbwxAybEX696L"

static const char *const sens[] = { "low", "medium", "high" };

struct out {
	FILE	*f;
	char	 path[PATH_MAX];
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("policy_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
out_open(struct out *o, const char *dir, const char *name)
{
	snprintf(o->path, sizeof(o->path), "%s/%s", dir, name);
	if ((o->f = fopen(o->path, "w")) == NULL)
		die("%s: %s", o->path, strerror(errno));
}

static void
out_close(struct out *o)
{
	if (fclose(o->f) != 0)
		die("%s: %s", o->path, strerror(errno));
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Writes the inventory: hypervisors in one file, guests in another. */
static void
write_inventory(const char *dir)
{
	struct out o;
	int i;

	out_open(&o, dir, "hypervisors.conf");
	fprintf(o.f, "credential \"hv-root\" {\n\tlogin \"root\"\n"
	    "\tkey-file \"%s/key\"\n}\n", dir);
	fprintf(o.f, "credential \"hv-ops\" {\n\tlogin \"ops\"\n"
	    "\tkey-file \"%s/key\"\n}\n", dir);
	for (i = 0; i < NHV; i++) {
		fprintf(o.f, "target \"pve%d\" {\n\taddress \"10.0.%d.%d\"\n"
		    "\thost-key \"%s\"\n\tkind hypervisor\n"
		    "\tcredential \"hv-root\"\n", i, i / 250, i % 250 + 1,
		    HOSTKEY);
		if (i % 3 == 0)
			fprintf(o.f, "\tcredential \"hv-ops\"\n");
		/*
		 * No "node" here: guests carry the node they run on, so a
		 * node selector in a hypervisor grant would reach guests.
		 */
		fprintf(o.f, "\ttag \"hv-cluster%d\"\n"
		    "\ttag \"hv-rack%d\"\n}\n", i / 20, i % 10);
	}
	out_close(&o);

	out_open(&o, dir, "guests.conf");
	fprintf(o.f, "credential \"vm-admin\" {\n\tlogin \"admin\"\n"
	    "\tkey-file \"%s/key\"\n}\n", dir);
	fprintf(o.f, "credential \"vm-deploy\" {\n\tlogin \"deploy\"\n"
	    "\tkey-file \"%s/key\"\n}\n", dir);
	for (i = 0; i < NGUEST; i++) {
		fprintf(o.f, "target \"vm%d\" {\n\taddress \"10.1.%d.%d\"\n"
		    "\thost-key \"%s\"\n\tkind guest\n"
		    "\tcredential \"vm-admin\"\n", 1000 + i, i / 250,
		    i % 250 + 1, HOSTKEY);
		if (i % 2 == 0)
			fprintf(o.f, "\tcredential \"vm-deploy\"\n");
		fprintf(o.f, "\tnode \"pve%d\"\n\tvmid %d\n\tpool \"pool%d\"\n"
		    "\ttag \"app%d\"\n\tzone \"zone%d\"\n"
		    "\tsensitivity \"%s\"\n}\n", i % NHV, 1000 + i,
		    i % NPOOLS, i % 25, i % NZONES, sens[i % 3]);
	}
	out_close(&o);
}

/*
 * Roles and grants: hypervisor grants select by name, tag or kind (never
 * by node, which guests carry too); guest grants by pool, vmid, node,
 * zone, sensitivity and tag.  Two grants a role.
 */
static void
write_policy(const char *dir)
{
	struct out o;
	int r, j;

	out_open(&o, dir, "policy.conf");
	for (r = 0; r < NHVROLES; r++) {
		fprintf(o.f, "role \"hv%d\" {\n\tside hypervisor\n"
		    "\tapi-credential \"tok-hv\"\n}\n", r);
		/* A cluster by tag, as root, with the Proxmox GUI forward. */
		fprintf(o.f, "grant \"hv%d\" {\n\ttargets tag \"hv-cluster%d\""
		    "\n\tlogin \"root\"\n\tchannels shell exec sftp scp"
		    " port-forward\n\tforward \"127.0.0.1:8006\"\n}\n", r,
		    r % (NHV / 20));
		/* A list of names, or every hypervisor in office hours. */
		fprintf(o.f, "grant \"hv%d\" {\n", r);
		if (r % 5 == 0)
			fprintf(o.f, "\ttargets kind hypervisor\n"
			    "\thours \"mon-fri 07:00-20:00\"\n");
		else {
			fprintf(o.f, "\ttargets");
			for (j = 0; j < 20; j++)
				fprintf(o.f, " \"pve%d\"", (r * 7 + j * 13) %
				    NHV);
			fprintf(o.f, "\n\tchannels exec\n");
		}
		fprintf(o.f, "}\n");
	}
	for (r = 0; r < NGUESTROLES; r++) {
		fprintf(o.f, "role \"guest%d\" {\n\tside guest\n"
		    "\tapi-credential \"tok-guest\"\n}\n", r);
		fprintf(o.f, "grant \"guest%d\" {\n", r);
		switch (r % 3) {
		case 0:
			fprintf(o.f, "\ttargets pool \"pool%d\" \"pool%d\"\n",
			    r % NPOOLS, (r + 1) % NPOOLS);
			break;
		case 1:
			fprintf(o.f, "\ttargets vmid");
			for (j = 0; j < 25; j++)
				fprintf(o.f, " %d", 1000 + (r * 11 + j * 61) %
				    NGUEST);
			fprintf(o.f, "\n");
			break;
		default:
			fprintf(o.f, "\ttargets node \"pve%d\" \"pve%d\"\n",
			    r % NHV, (r + 200) % NHV);
		}
		fprintf(o.f, "\tlogin \"admin\"\n\tchannels shell exec sftp"
		    " scp\n}\n");
		fprintf(o.f, "grant \"guest%d\" {\n", r);
		switch (r % 3) {
		case 0:
			fprintf(o.f, "\ttargets zone \"zone%d\"\n"
			    "\ttargets sensitivity \"low\"\n", r % NZONES);
			break;
		case 1:
			fprintf(o.f, "\ttargets tag \"app%d\" \"app%d\"\n",
			    r % 25, (r + 3) % 25);
			break;
		default:
			fprintf(o.f, "\ttargets kind guest\n"
			    "\thours \"sat,sun 00:00-23:59\"\n");
		}
		fprintf(o.f, "\tchannels exec sftp\n}\n");
	}
	for (r = 0; r < NAUDITROLES; r++)
		fprintf(o.f, "role \"audit%d\" {\n\tside audit\n"
		    "\tapi-credential \"tok-hv\"\n}\n", r);
	out_close(&o);
}

/*
 * The API side: a token per side; hypervisor roles on some nodes (or all)
 * and every guest, guest roles on 25 vmids and two pools, with a second
 * grant in office hours for configuration changes; auditors read all.
 */
static void
write_api_policy(const char *dir)
{
	struct out o;
	int r, j;

	out_open(&o, dir, "api.conf");
	fprintf(o.f, "api-credential \"tok-hv\" {\n\ttoken"
	    " \"root@pam!hvb-hv\"\n\tsecret-file \"%s/tok\"\n}\n", dir);
	fprintf(o.f, "api-credential \"tok-guest\" {\n\ttoken"
	    " \"hvb@pve!guests\"\n\tsecret-file \"%s/tok\"\n}\n", dir);
	for (r = 0; r < NHVROLES; r++) {
		fprintf(o.f, "api-grant \"hv%d\" {\n\tpaths", r);
		if (r % 5 == 0)
			fprintf(o.f, " \"/nodes/*\"");
		else
			for (j = 0; j < 20; j++)
				fprintf(o.f, " \"/nodes/pve%d\"", (r * 7 +
				    j * 13) % NHV);
		fprintf(o.f, " \"/storage/*\" \"/vms/*\"\n"
		    "\troles \"PVEAuditor\"\n\tprivileges \"Sys.Console\""
		    " \"VM.PowerMgmt\"\n}\n");
	}
	for (r = 0; r < NGUESTROLES; r++) {
		fprintf(o.f, "api-grant \"guest%d\" {\n\tpaths", r);
		for (j = 0; j < 25; j++)
			fprintf(o.f, " \"/vms/%d\"", 1000 + (r * 11 + j * 61) %
			    NGUEST);
		fprintf(o.f, " \"/pool/pool%d\" \"/pool/pool%d\"\n"
		    "\troles \"PVEVMUser\"\n}\n", r % NPOOLS,
		    (r + 1) % NPOOLS);
		fprintf(o.f, "api-grant \"guest%d\" {\n\tpaths"
		    " \"/pool/pool%d\"\n\troles \"PVEVMAdmin\"\n"
		    "\thours \"mon-fri 07:00-20:00\"\n}\n", r, r % NPOOLS);
	}
	for (r = 0; r < NAUDITROLES; r++)
		fprintf(o.f, "api-grant \"audit%d\" {\n\tpaths \"/nodes/*\""
		    " \"/vms/*\" \"/storage/*\" \"/pool/*\"\n"
		    "\troles \"PVEAuditor\"\n}\n", r);
	out_close(&o);
}

/* Users hold one to three roles of one side; some have sources, dates. */
static void
write_users(const char *dir)
{
	struct out o;
	int u;

	out_open(&o, dir, "users.conf");
	for (u = 0; u < NUSERS; u++) {
		fprintf(o.f, "user \"user%d\" {\n\tpublic-key \"%s\"\n", u,
		    USERKEY);
		if (u % 50 == 0)
			fprintf(o.f, "\trole \"audit%d\"\n", u % NAUDITROLES);
		else if (u % 4 == 0) {
			fprintf(o.f, "\trole \"hv%d\"\n", u % NHVROLES);
			if (u % 8 == 0)
				fprintf(o.f, "\trole \"hv%d\"\n",
				    (u + 17) % NHVROLES);
		} else {
			fprintf(o.f, "\trole \"guest%d\"\n", u % NGUESTROLES);
			fprintf(o.f, "\trole \"guest%d\"\n",
			    (u + 41) % NGUESTROLES);
			if (u % 3 == 0)
				fprintf(o.f, "\trole \"guest%d\"\n",
				    (u + 83) % NGUESTROLES);
		}
		if (u % 5 == 0)
			fprintf(o.f, "\tfrom \"10.0.0.0/8\" \"2001:db8::/32\""
			    "\n\tfrom \"192.0.2.%d\"\n", u % 250 + 1);
		if (u % 7 == 0)
			fprintf(o.f, "\tvalid-from \"2020-01-01\"\n"
			    "\tvalid-until \"2099-12-31\"\n");
		fprintf(o.f, "}\n");
	}
	out_close(&o);
}

static void
write_config(const char *dir, char *path, size_t pathlen)
{
	struct out o;
	char key[PATH_MAX];
	int fd;

	snprintf(key, sizeof(key), "%s/key", dir);
	if ((fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    write(fd, "not a key\n", 10) != 10 || close(fd) != 0)
		die("%s: %s", key, strerror(errno));
	snprintf(key, sizeof(key), "%s/tok", dir);
	if ((fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    write(fd, TOKEN_SECRET, strlen(TOKEN_SECRET)) !=
	    (ssize_t)strlen(TOKEN_SECRET) || close(fd) != 0)
		die("%s: %s", key, strerror(errno));
	write_inventory(dir);
	write_policy(dir);
	write_api_policy(dir);
	write_users(dir);
	out_open(&o, dir, "hvbastion.conf");
	fprintf(o.f, "listen \"127.0.0.1\" port 2222\n"
	    "state-directory \"%s\"\n"
	    "include \"hypervisors.conf\"\ninclude \"guests.conf\"\n"
	    "include \"policy.conf\"\ninclude \"users.conf\"\n"
	    "include \"api.conf\"\n", dir);
	out_close(&o);
	snprintf(path, pathlen, "%s", o.path);
}

static void
report(void *arg, const char *msg)
{
	size_t *n = arg;

	if ((*n)++ < 10)
		fprintf(stderr, "policy_bench: %s\n", msg);
}

/* The menu of a person, to draw requests that should be allowed. */
struct menu {
	const struct config_target	**t;
	size_t				  n;
};

static void
menu_add(void *arg, const struct config_target *t)
{
	struct menu *m = arg;
	const struct config_target **tmp;

	if ((tmp = realloc(m->t, (m->n + 1) * sizeof(*m->t))) == NULL)
		die("out of memory");
	m->t = tmp;
	m->t[m->n++] = t;
}

static void
summary(const char *what, double *v, size_t n)
{
	if (n == 0) {
		printf("  %-8s      0 requests\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("  %-8s %7zu requests  median %7.2f us  p99 %7.2f us"
	    "  max %8.2f us\n", what, n, v[n / 2], v[(n * 99) / 100],
	    v[n - 1]);
}

static void
rmtree_flat(const char *dir)
{
	static const char *const names[] = { "key", "tok", "hypervisors.conf",
	    "guests.conf", "policy.conf", "users.conf", "api.conf",
	    "hvbastion.conf" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The pool of guest vmid (as the proxy learns it from cluster/resources). */
static const char *
guest_pool(long vmid, char *buf, size_t len)
{
	snprintf(buf, len, "pool%ld", (vmid - 1000) % NPOOLS);
	return buf;
}

/*
 * Random API calls of random people, each mapped and decided as the proxy
 * does: api_acl_map() then policy_decide_api().  Guest-side people ask
 * for their own guests half of the time, so that allows are measured.
 */
static void
bench_api(const struct config *conf, size_t nreq, unsigned seed, time_t when,
    double *all, double *allow, double *deny)
{
	static const char *const sources[] = { NULL, "10.20.30.40",
	    "2001:db8::77", "198.51.100.9" };
	struct policy_api_request req;
	struct policy_decision d;
	struct api_acl acl;
	size_t i, nall = 0, nallow = 0, ndeny = 0, nunknown = 0;
	char name[32], path[256], pool[32];
	const char *method;
	double t0, dt;

	for (i = 0; i < nreq; i++) {
		size_t u = (size_t)rand_r(&seed) % NUSERS;
		int node = rand_r(&seed) % NHV, r;
		long vmid = 1000 + rand_r(&seed) % NGUEST;

		snprintf(name, sizeof(name), "user%zu", u);
		/* A guest-side person's own guest, half of the time. */
		if (u % 50 != 0 && u % 4 != 0 && rand_r(&seed) % 2 == 0)
			vmid = 1000 + ((long)(u % NGUESTROLES) * 11 +
			    (rand_r(&seed) % 25) * 61) % NGUEST;
		method = "GET";
		switch (rand_r(&seed) % 8) {
		case 0:
			snprintf(path, sizeof(path), "/nodes/pve%d/status",
			    node);
			break;
		case 1:
			snprintf(path, sizeof(path), "/nodes/pve%d/qemu/%ld/"
			    "status/current", node, vmid);
			break;
		case 2:
			method = "POST";
			snprintf(path, sizeof(path), "/nodes/pve%d/qemu/%ld/"
			    "status/start", node, vmid);
			break;
		case 3:
			method = "PUT";
			snprintf(path, sizeof(path), "/nodes/pve%d/qemu/%ld/"
			    "config", node, vmid);
			break;
		case 4:
			method = "POST";
			snprintf(path, sizeof(path), "/nodes/pve%d/termproxy",
			    node);
			break;
		case 5:
			snprintf(path, sizeof(path), "/cluster/resources");
			break;
		case 6:
			snprintf(path, sizeof(path), "/nodes/pve%d/tasks/"
			    "UPID:pve%d:00001234:00005678:6543ABCD:qmstart:"
			    "%ld:root@pam!hvb-hv:/status", node, node, vmid);
			break;
		default:
			snprintf(path, sizeof(path), "/nodes/pve%d/qemu/%ld/"
			    "vncproxy", node, vmid);
			method = "POST";
		}
		guest_pool(vmid, pool, sizeof(pool));

		t0 = now_us();
		if (api_acl_map(method, path, &acl) != 0) {
			nunknown++;
			r = 0;
		} else {
			memset(&req, 0, sizeof(req));
			req.person = name;
			req.acl_path = acl.path;
			req.privilege = acl.privilege;
			req.pool = acl.vmid > 0 ? pool : NULL;
			req.source = sources[i % 4];
			req.when = when;
			r = policy_decide_api(conf, &req, &d);
		}
		dt = now_us() - t0;
		all[nall++] = dt;
		if (r)
			allow[nallow++] = dt;
		else
			deny[ndeny++] = dt;
	}
	if (nunknown > 0)
		die("%zu generated API calls were not mapped", nunknown);
	printf("api_acl_map + policy_decide_api, one call at a time:\n");
	summary("all", all, nall);
	summary("allowed", allow, nallow);
	summary("denied", deny, ndeny);
}

/* cluster/resources for the whole inventory, as Proxmox would answer. */
static json_t *
resources(void)
{
	json_t *a = json_array();
	char id[64], node[32], pool[32];
	int i;

	if (a == NULL)
		die("out of memory");
	for (i = 0; i < NGUEST; i++) {
		snprintf(id, sizeof(id), "qemu/%d", 1000 + i);
		snprintf(node, sizeof(node), "pve%d", i % NHV);
		guest_pool(1000 + i, pool, sizeof(pool));
		json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:s,s:s,"
		    "s:s}", "id", id, "type", "qemu", "vmid", 1000 + i,
		    "node", node, "pool", pool, "status", "running"));
	}
	for (i = 0; i < NHV; i++) {
		snprintf(id, sizeof(id), "node/pve%d", i);
		snprintf(node, sizeof(node), "pve%d", i);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id", id,
		    "type", "node", "node", node));
		snprintf(id, sizeof(id), "storage/pve%d/local", i);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id",
		    id, "type", "storage", "node", node, "storage", "local"));
	}
	for (i = 0; i < NPOOLS; i++) {
		snprintf(id, sizeof(id), "/pool/pool%d", i);
		snprintf(pool, sizeof(pool), "pool%d", i);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id", id,
		    "type", "pool", "pool", pool));
	}
	return a;
}

/* Filtering that whole list for random people (a copy each time). */
static void
bench_filter(const struct config *conf, unsigned seed, time_t when,
    double *t)
{
	struct api_acl acl;
	json_t *orig = resources(), *copy;
	size_t i, kept = 0;
	char name[32];
	double t0;
	int n;

	if (api_acl_map("GET", "/cluster/resources", &acl) != 0)
		die("cluster/resources is not mapped");
	for (i = 0; i < NLISTS; i++) {
		snprintf(name, sizeof(name), "user%d", rand_r(&seed) % NUSERS);
		if ((copy = json_deep_copy(orig)) == NULL)
			die("out of memory");
		t0 = now_us();
		n = api_filter_list(conf, name, NULL, when, &acl, copy);
		t[i] = now_us() - t0;
		if (n < 0)
			die("api_filter_list: %d", n);
		kept += (size_t)n;
		json_decref(copy);
	}
	printf("api_filter_list of cluster/resources (%zu items), %d people"
	    " (%.0f items kept on average):\n", json_array_size(orig),
	    NLISTS, (double)kept / NLISTS);
	summary("lists", t, NLISTS);
	json_decref(orig);
}

int
main(int argc, char *argv[])
{
	static const char *const sources[] = { NULL, "10.20.30.40",
	    "2001:db8::77", "198.51.100.9", "192.0.2.1" };
	char dir[256], path[PATH_MAX], name[32];
	struct menu *menus;
	struct config *conf;
	struct policy_request req;
	struct policy_decision d;
	double t0, load_ms, *all, *allow, *deny;
	size_t nreq = NREQ_DEFAULT, nall = 0, nallow = 0, ndeny = 0, nerr = 0;
	size_t i, nmenu = 0;
	unsigned seed = 4;
	const char *tmp;
	time_t when;
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		char *end;

		switch (c) {
		case 'n':
			nreq = strtoul(optarg, &end, 10);
			if (*end != '\0' || nreq == 0 || nreq > 100000000)
				die("-n: 1 to 100000000");
			break;
		case 's':
			seed = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0')
				die("-s: a number");
			break;
		default:
			fprintf(stderr, "usage: policy_bench [-n REQUESTS]"
			    " [-s SEED]\n");
			return 2;
		}
	}
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/hvb-policy-bench.XXXXXX",
	    tmp) >= sizeof(dir))
		die("TMPDIR too long");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	write_config(dir, path, sizeof(path));

	t0 = now_us();
	conf = config_load(path, report, &nerr);
	load_ms = (now_us() - t0) / 1e3;
	if (conf == NULL) {
		rmtree_flat(dir);
		die("the generated configuration has %zu errors", nerr);
	}
	printf("policy_bench: %zu targets, %zu users, %zu roles, %zu grants,"
	    " %zu api-grants; config_load %.1f ms\n", conf->ntargets,
	    conf->nusers, conf->nroles, conf->ngrants, conf->napi_grants,
	    load_ms);

	/* What each person may open a shell on now, for allowed draws. */
	if ((menus = calloc(NUSERS, sizeof(*menus))) == NULL)
		die("out of memory");
	t0 = now_us();
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "user%zu", i);
		policy_each_target(conf, name, NULL, menu_add, &menus[i]);
		nmenu += menus[i].n;
	}
	t0 = now_us() - t0;
	printf("policy_bench: menus of all %d users: %.1f ms (%zu entries,"
	    " %.1f us a user)\n", NUSERS, t0 / 1e3, nmenu, t0 / NUSERS);

	all = calloc(nreq, sizeof(*all));
	allow = calloc(nreq, sizeof(*allow));
	deny = calloc(nreq, sizeof(*deny));
	if (all == NULL || allow == NULL || deny == NULL)
		die("out of memory");
	when = time(NULL);
	for (i = 0; i < nreq; i++) {
		size_t u = (size_t)rand_r(&seed) % (NUSERS + 10);
		char target[32];
		double dt;
		int r;

		memset(&req, 0, sizeof(req));
		/* A few unknown people, as scanners would be. */
		snprintf(name, sizeof(name), u < NUSERS ? "user%zu" :
		    "nobody%zu", u);
		req.person = name;
		if (u < NUSERS && menus[u].n > 0 && rand_r(&seed) % 2 == 0)
			snprintf(target, sizeof(target), "%s", menus[u].t[
			    (size_t)rand_r(&seed) % menus[u].n]->name);
		else {
			int t = rand_r(&seed) % NTARGETS;

			snprintf(target, sizeof(target), t < NHV ? "pve%d" :
			    "vm%d", t < NHV ? t : 1000 + t - NHV);
		}
		req.target = target;
		req.channel = (enum policy_channel)(rand_r(&seed) % 4);
		if (rand_r(&seed) % 20 == 0) {
			req.channel = POLICY_CHANNEL_FORWARD;
			req.forward_host = "127.0.0.1";
			req.forward_port = rand_r(&seed) % 2 ? 8006 : 22;
		}
		if (rand_r(&seed) % 10 == 0)
			req.login = rand_r(&seed) % 2 ? "root" : "admin";
		req.source = sources[rand_r(&seed) % 5];
		req.when = when;

		t0 = now_us();
		r = policy_decide(conf, &req, &d);
		dt = now_us() - t0;
		all[nall++] = dt;
		if (r)
			allow[nallow++] = dt;
		else
			deny[ndeny++] = dt;
	}
	printf("policy_decide, one request at a time (clock_gettime around"
	    " each call):\n");
	summary("all", all, nall);
	summary("allowed", allow, nallow);
	summary("denied", deny, ndeny);

	bench_api(conf, nreq, seed, when, all, allow, deny);
	bench_filter(conf, seed, when, all);

	for (i = 0; i < NUSERS; i++)
		free(menus[i].t);
	free(menus);
	free(all);
	free(allow);
	free(deny);
	config_free(conf);
	rmtree_flat(dir);
	return 0;
}
