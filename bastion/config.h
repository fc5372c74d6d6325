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

enum target_kind { TARGET_KIND_HYPERVISOR, TARGET_KIND_GUEST };

enum config_auth_method { AUTH_PUBLICKEY, AUTH_KBDINT };

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
	struct config_origin	 origin;
};

struct config_user {
	char			*name;
	char			**public_keys;	/* "type base64" */
	size_t			 npublic_keys;
	struct config_target	**targets;
	struct config_origin	*target_origins; /* where each grant was written */
	size_t			 ntargets;
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
};

/*
 * Reads and checks FILE.  Every error found is reported through report()
 * as "file:line: message"; returns the configuration, or NULL when there was
 * at least one error (or no memory).
 */
typedef void (*config_report_fn)(void *arg, const char *msg);
struct config	*config_load(const char *path, config_report_fn report,
		    void *arg);
void		 config_free(struct config *);

const struct config_user	*config_find_user(const struct config *,
				    const char *name);
const struct config_target	*config_find_target(const struct config *,
				    const char *name);
const char	*config_target_kind_name(enum target_kind);

#endif
