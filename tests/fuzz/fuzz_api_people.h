/*
 * fuzz_api_people.h - the in-memory people and API policy that the API
 * list filter fuzz targets (fuzz_api_filter.c, fuzz_api_filter_stream.c)
 * judge against; no files.  Included once per target: the definitions
 * are static.
 *
 *   "g"  VM.Audit and Pool.Audit on /vms/101 and /pool/web (guest side);
 *   "h"  PVEAuditor-like privileges on /nodes, /storage, /vms, /pool and
 *        /sdn (hypervisor side);
 *   "b"  the bench's role: /nodes, /storage, /vms and /cluster, no pool
 *        (pooled guests lose their "pool" member);
 *   "x"  no role at all.
 */
#ifndef HVB_FUZZ_API_PEOPLE_H
#define HVB_FUZZ_API_PEOPLE_H

#include "../../bastion/config.h"

static char *g_paths[] = { "/vms/101", "/pool/web" };
static char *g_privs[] = { "VM.Audit", "Pool.Audit" };
static char *h_paths[] = { "/nodes/*", "/storage/*", "/vms/*", "/pool/*",
	"/sdn/*" };
static char *h_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit",
	"Pool.Audit", "SDN.Audit" };
static char *b_paths[] = { "/nodes/*", "/storage/*", "/vms/*", "/cluster" };
static char *b_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit" };

static struct config_api_credential cred = { "t", "a@pve!t", "/dev/null",
	{ "fuzz", 1 } };
static struct config_role role_g, role_h, role_b;
static struct config_api_grant grant_g = { &role_g, g_paths, 2, g_privs, 2,
	NULL, 0, { "fuzz", 2 } };
static struct config_api_grant grant_h = { &role_h, h_paths, 5, h_privs, 5,
	NULL, 0, { "fuzz", 3 } };
static struct config_api_grant grant_b = { &role_b, b_paths, 4, b_privs, 3,
	NULL, 0, { "fuzz", 5 } };
static struct config_api_grant *grants_g[] = { &grant_g };
static struct config_api_grant *grants_h[] = { &grant_h };
static struct config_api_grant *grants_b[] = { &grant_b };
static struct config_role *roles_g[] = { &role_g };
static struct config_role *roles_h[] = { &role_h };
static struct config_role *roles_b[] = { &role_b };
static struct config_origin origins[] = { { "fuzz", 4 } };
static struct config_user user_g, user_h, user_b, user_x;
static struct config_user *users[] = { &user_g, &user_h, &user_b, &user_x };
static struct config conf;

static void
people_role(struct config_role *r, const char *name, enum role_side side,
    struct config_api_grant **grants)
{
	r->name = (char *)name;
	r->side = side;
	r->api_credential = &cred;
	r->api_grants = grants;
	r->napi_grants = 1;
}

static void
people_user(struct config_user *u, const char *name,
    struct config_role **roles)
{
	u->name = (char *)name;
	u->roles = roles;
	u->role_origins = origins;
	u->nroles = roles != NULL ? 1 : 0;
}

static void
people_build(void)
{
	people_role(&role_g, "g", ROLE_SIDE_GUEST, grants_g);
	people_role(&role_h, "h", ROLE_SIDE_HYPERVISOR, grants_h);
	people_role(&role_b, "b", ROLE_SIDE_HYPERVISOR, grants_b);
	people_user(&user_g, "g", roles_g);
	people_user(&user_h, "h", roles_h);
	people_user(&user_b, "b", roles_b);
	people_user(&user_x, "x", NULL);
	conf.users = users;
	conf.nusers = 4;
}

#endif
