/*
 * config.h - hvbastion.conf: the in-memory configuration.
 *
 * The grammar is documented in README.md ("Configuration").  Every object
 * remembers the file and line that declared it, so that a decision can name
 * the rule that made it.
 */
#ifndef HVB_CONFIG_H
#define HVB_CONFIG_H

#include <stddef.h>

#define CONFIG_NAME_MAX		64
#define CONFIG_MAX_LISTEN	8

#define CONFIG_MAX_AUTH_STEPS	2
/* The name PAM sees for a person we do not know; no user may take it. */
#define CONFIG_RESERVED_PERSON	"hvbastion-unknown-person"

enum target_kind { TARGET_KIND_HYPERVISOR, TARGET_KIND_GUEST };

enum config_auth_method { AUTH_PUBLICKEY, AUTH_KBDINT };

/* Channel kinds a grant allows (bit 1 << kind in config_grant.channels). */
enum policy_channel {
	POLICY_CHANNEL_SHELL,
	POLICY_CHANNEL_EXEC,
	POLICY_CHANNEL_SFTP,
	POLICY_CHANNEL_SCP,
	POLICY_CHANNEL_FORWARD,
};

enum role_side { ROLE_SIDE_HYPERVISOR, ROLE_SIDE_GUEST, ROLE_SIDE_AUDIT,
	ROLE_SIDE_BASTION_ADMIN };

struct config_origin {
	const char	*file;		/* points into config->files */
	int		 line;
};

struct config_listen {
	char		*address;
	int		 port;
};

struct config_credential {
	char			*name;
	char			*login;
	char			*key_file;
	struct config_origin	 origin;
};

struct config_target {
	char			*name;
	char			*address;
	int			 port;
	char			*host_key;	/* "type base64" */
	enum target_kind	 kind;
	struct config_credential **credentials;	/* first is the default */
	size_t			 ncredentials;
	/* Attributes grants select on (NULL / -1 when not given). */
	char			*node;
	long			 vmid;
	char			*pool;
	char			**tags;
	size_t			 ntags;
	char			*zone;
	char			*sensitivity;
	struct config_origin	 origin;
};

/* One "targets" line of a grant. */
enum selector_kind { SELECT_ALL, SELECT_NAMES, SELECT_KIND, SELECT_NODE,
	SELECT_VMID, SELECT_POOL, SELECT_TAG, SELECT_ZONE, SELECT_SENSITIVITY };

struct config_selector {
	enum selector_kind	 kind;
	char			**values;	/* names, nodes, pools, ... */
	size_t			 nvalues;
	long			*vmids;		/* SELECT_VMID: nvalues */
	enum target_kind	 target_kind;	/* SELECT_KIND */
	struct config_origin	 origin;
};

struct config_forward {
	char	*host;
	int	 port;
};

struct config_window {
	unsigned	 days;		/* bit 0 = Sunday ... bit 6 = Saturday */
	int		 start_min;	/* minutes after midnight, local time */
	int		 end_min;	/* exclusive; > start_min */
};

struct config_role;

/*
 * The Proxmox API (issue 7).  An API credential is a Proxmox API token the
 * bastion holds for a role; an API grant gives a role privileges on ACL
 * paths.  The grammar is in hvbastion.conf(5).
 */
struct config_api_credential {
	char			*name;
	char			*token_id;	/* "user@realm!tokenid" */
	char			*secret_file;	/* mode 0600 or stricter */
	struct config_origin	 origin;
};

struct config_api_grant {
	struct config_role	*role;
	char			**paths;	/* ACL path patterns */
	size_t			 npaths;
	char			**privileges;	/* expanded from roles too */
	size_t			 nprivileges;
	struct config_window	*windows;	/* none: any time */
	size_t			 nwindows;
	struct config_origin	 origin;
};

struct config_grant {
	struct config_role	*role;
	struct config_selector	*selectors;	/* union */
	size_t			 nselectors;
	char			*login;		/* NULL: any credential */
	unsigned		 channels;	/* 1 << enum policy_channel */
	struct config_forward	*forwards;
	size_t			 nforwards;
	struct config_window	*windows;	/* none: any time */
	size_t			 nwindows;
	struct config_origin	 origin;
};

struct config_role {
	char			*name;
	enum role_side		 side;
	struct config_grant	**grants;	/* in file order */
	size_t			 ngrants;
	struct config_origin	 origin;
	/* API side (issue 7): the held token and the grants on ACL paths. */
	const struct config_api_credential *api_credential; /* NULL: none */
	struct config_api_grant	**api_grants;	/* in file order */
	size_t			 napi_grants;
};

struct config_net {
	int		 family;		/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 prefix;
	struct config_origin origin;
};

struct config_user {
	char			*name;
	char			**public_keys;	/* "type base64" */
	size_t			 npublic_keys;
	struct config_role	**roles;
	struct config_origin	*role_origins;	/* where each role was given */
	size_t			 nroles;
	time_t			 valid_from;	/* 0: no limit */
	time_t			 valid_until;	/* 0: no limit; inclusive */
	struct config_net	*nets;		/* none: any source */
	size_t			 nnets;
	const struct config_exception *exception; /* separation exception */
	struct config_origin	 origin;
};

struct config_exception {
	char			*person;
	char			*reason;
	struct config_origin	 origin;
};

/* One Proxmox node the API front forwards to (config_api.c). */
struct config_api_node {
	char			*name;
	char			*address;
	int			 port;
	unsigned char		 fingerprint[32];	/* SHA-256 of the DER */
	int			 has_fingerprint;
	struct config_origin	 origin;
};

struct config {
	char			*path;
	struct config_listen	 listen[CONFIG_MAX_LISTEN];
	size_t			 nlisten;
	char			*state_dir;
	char			*recordings_dir;
	int			 login_grace_time;	/* seconds */
	int			 stage_timeout;		/* seconds */
	int			 connect_timeout;	/* seconds */
	int			 max_auth_tries;
	int			 max_connections;
	int			 startups_begin;	/* max-startups B:R:F */
	int			 startups_rate;
	int			 startups_full;
	int			 startups_per_source;
	int			 record_input;
	enum config_auth_method	 auth_methods[CONFIG_MAX_AUTH_STEPS];
	int			 nauth_methods;
	char			*pam_service;
	char			*pam_directory;		/* NULL: /etc/pam.d */
	char			**accept_env;		/* fnmatch patterns */
	size_t			 naccept_env;
	struct config_credential **credentials;
	size_t			 ncredentials;
	struct config_target	**targets;
	size_t			 ntargets;
	struct config_user	**users;
	size_t			 nusers;
	struct config_role	**roles;
	size_t			 nroles;
	struct config_grant	**grants;
	size_t			 ngrants;
	struct config_exception	**exceptions;
	size_t			 nexceptions;
	char			**files;	/* every file read (includes) */
	size_t			 nfiles;
	/* Recording (config_recording.c). */
	char			*auditor_group;	/* NULL: the default */
	long			 record_exec_streams;	/* bytes a stream */
	int			 compress_recordings;
	/* The Proxmox API front (issue 7, api-proxy): config_api.c. */
	char			*api_listen_address;	/* NULL: no listener */
	int			 api_listen_port;
	char			*api_certificate;	/* PEM chain */
	char			*api_private_key;
	char			*api_pam_service;
	int			 api_ticket_lifetime;	/* seconds */
	int			 api_failure_delay_ms;	/* before a 401 */
	struct config_api_node	**api_nodes;
	size_t			 napi_nodes;
	/* API policy (issue 7): api-credential and api-grant blocks
	 * (config_api_policy.c), in file order. */
	struct config_api_credential **api_credentials;
	size_t			 napi_credentials;
	struct config_api_grant	**api_grants;
	size_t			 napi_grants;
	/* The audit trail (issue 6, config_audit.c); 0 / NULL: default. */
	char			*audit_collector;	/* NULL: no log store */
	int			 audit_port;
	int			 audit_plain_tcp;	/* tls no */
	char			*audit_collector_name;	/* in its certificate */
	char			*audit_ca;
	char			*audit_client_cert;
	char			*audit_client_key;
	char			*audit_node_name;
	long long		 audit_spool_max;	/* bytes */
	int			 audit_spool_full;	/* enum audit_spool_full */
	int			 audit_libaudit_off;	/* audit-libaudit no */
	/* API realms (issue 7, api-gaps: config_api.c): the realms a
	 * name@realm may carry at login and in API user ids; "pam" "pve"
	 * when api-realms is not given. */
	char			**api_realms;
	size_t			 napi_realms;
	/* The log store's protocol (config_audit.c): audit-protocol. */
	int			 audit_protocol;	/* enum audit_protocol */
};

/* audit-protocol: RFC 5425 syslog over TLS, or RELP (audit_relp.h). */
enum audit_protocol { AUDIT_PROTOCOL_RFC5425, AUDIT_PROTOCOL_RELP };

/* audit-spool-full: what a full spool does (hvbastion.conf(5)). */
enum audit_spool_full { AUDIT_SPOOL_FULL_REFUSE, AUDIT_SPOOL_FULL_ALLOW };
#define AUDIT_SPOOL_MAX_DEFAULT	(64LL * 1024 * 1024)

/*
 * Reads and checks FILE.  Every error found is reported through report()
 * as "file:line: message"; returns the configuration, or NULL when there was
 * at least one error (or no memory).
 */
typedef void (*config_report_fn)(void *arg, const char *msg);
struct config	*config_load(const char *path, config_report_fn report,
		    void *arg);
void		 config_free(struct config *);
/*
 * For tools that only read recordings (run by auditors, who cannot read
 * the credentials): config_load() then leaves the key files unchecked.
 */
void		 config_readers_mode(void);

/* auth-methods as it reads: "publickey,keyboard-interactive" into buf. */
void	config_auth_methods_name(const struct config *, char *buf,
	    size_t len);
const struct config_user	*config_find_user(const struct config *,
				    const char *name);
const struct config_target	*config_find_target(const struct config *,
				    const char *name);
const struct config_role	*config_find_role(const struct config *,
				    const char *name);
const struct config_api_credential *config_find_api_credential(
				    const struct config *, const char *name);
const char	*config_target_kind_name(enum target_kind);
const struct config_api_node	*config_find_api_node(const struct config *,
				    const char *name);
/* 1 if realm is one of api-realms (config_api.c). */
int		 config_api_realm_ok(const struct config *, const char *realm);
/* 1 if the "targets" line s selects t. */
/*
 * The daemon's unprivileged user (privdrop.h), who may own key files
 * besides root and the user checking; default "hvbastion".
 */
void		 config_set_daemon_user(const char *);
int		 config_selector_match(const struct config_selector *,
		    const struct config_target *t);

#endif
