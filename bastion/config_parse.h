/*
 * config_parse.h - private to the configuration parser (config.c,
 * config_policy.c): the parser state and the helpers every block uses.
 *
 * Not a public interface: only the config_*.c files include it.
 */
#ifndef HVB_CONFIG_PARSE_H
#define HVB_CONFIG_PARSE_H

#include "conf_lex.h"
#include "config.h"

/* Deeper includes are almost surely a loop: refuse them. */
#define CONFIG_INCLUDE_DEPTH_MAX	8

/* A name written in a block that the second pass resolves. */
struct pending_ref {
	char			*name;
	struct config_origin	 origin;
};

struct parse_target {
	struct pending_ref	*creds;
	size_t			 ncreds;
	int			 kind_set;
};

struct parse_user {
	struct pending_ref	*roles;
	size_t			 nroles;
	int			 from_set, until_set;
};

struct parse_role {
	int			 side_set;
	struct pending_ref	 api_cred;	/* name NULL: none */
};

struct parse_api_grant {
	char			*role;		/* the block's name */
	int			 paths_line;
	int			 privs_line;	/* privileges or roles */
};

struct parse_grant {
	char			*role;		/* the block's name */
	int			 channels_set;
	int			 channels_line;	/* the one naming port-forward */
	int			 login_line;
	int			 forward_line;	/* first forward line */
};

struct parser {
	struct config		*conf;
	const char		*file;		/* the file being read */
	int			 depth;		/* of includes */
	config_report_fn	 report;
	void			*arg;
	int			 errors;
	/* Parallel to conf->targets, users, roles and grants. */
	struct parse_target	*ptargets;
	struct parse_user	*pusers;
	struct parse_role	*proles;
	struct parse_grant	*pgrants;
	/* Parallel to conf->api_grants (config_api_policy.c). */
	struct parse_api_grant	*papi_grants;
};

typedef void (*config_block_fn)(struct parser *, struct conf_stmt *, void *);

/* Reports "file:line: message" (line of the current file). */
void	config_perr(struct parser *, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Same, at an origin that may be in another (included) file. */
void	config_perr_at(struct parser *, const struct config_origin *,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Makes room for element n of *arr (bounded); 0 or -1. */
int	config_grow(void **arr, size_t n, size_t elem);
int	config_parse_long(struct parser *, const struct conf_stmt *, size_t i,
	    long min, long max, long *out);
int	config_take_string(struct parser *, const struct conf_stmt *,
	    char **dst);
/* A copy of s, or NULL after reporting "out of memory". */
char	*config_strdup(struct parser *, int line, const char *s);
int	config_check_name(struct parser *, const struct conf_stmt *,
	    const char *what);
int	config_add_ref(struct parser *, const struct conf_stmt *,
	    struct pending_ref **, size_t *);
void	*config_new_block(struct parser *, struct conf_stmt *, void ***arr,
	    size_t *n, size_t size, int duplicate);
void	config_parse_block(struct parser *, struct conf_lex *, int open_line,
	    config_block_fn, void *obj);

/* config_policy.c: the policy blocks and statements. */
/* role / grant blocks; 1 if kw is one of them (the block is then read). */
int	config_policy_block(struct parser *, struct conf_lex *,
	    struct conf_stmt *);
/* separation-exception; 1 if it was one. */
int	config_policy_stmt(struct parser *, struct conf_stmt *);
/* A user's role / valid-from / valid-until / from; 1 if it was one. */
int	config_policy_user_stmt(struct parser *, struct conf_stmt *,
	    struct config_user *);
/* Target attributes (node, vmid, ...); 1 if it was one. */
int	config_policy_target_stmt(struct parser *, struct conf_stmt *,
	    struct config_target *);
/* Second pass: resolve roles and grants, then every policy check. */
void	config_policy_resolve(struct parser *);
void	config_policy_free_parse(struct parser *);
void	config_policy_free(struct config *);
void	config_policy_free_target(struct config_target *);
void	config_policy_free_user(struct config_user *);
/* "DAYS HH:MM-HH:MM": 0, -1 (malformed) or -2 (end not after start). */
int	config_parse_window(const char *, struct config_window *);
/* An "hours" line (grant, api-grant): appends its windows, reports errors. */
void	config_parse_hours(struct parser *, const struct conf_stmt *,
	    struct config_window **, size_t *);

/* config_api_policy.c: api-credential and api-grant (issue 7). */
/* The blocks; 1 if kw is one of them (the block is then read). */
int	config_api_policy_block(struct parser *, struct conf_lex *,
	    struct conf_stmt *);
/* The same keywords without a block; 1 if it was one. */
int	config_api_policy_stmt(struct parser *, struct conf_stmt *);
/* A role's api-credential line; 1 if it was one. */
int	config_api_policy_role_stmt(struct parser *, struct conf_stmt *,
	    struct config_role *);
/* Second pass, after the roles are known. */
void	config_api_policy_resolve(struct parser *);
void	config_api_policy_free_parse(struct parser *);
void	config_api_policy_free(struct config *);

/* config_audit.c: the audit trail's statements; 1 if kw was one. */
int	config_audit_stmt(struct parser *, struct conf_stmt *);
/* Defaults and checks once the files are read. */
void	config_audit_finish(struct parser *);
void	config_audit_free(struct config *);
/* config_api.c: the Proxmox API front (api-listen, api-node, ...). */
int	config_api_block(struct parser *, struct conf_lex *,
	    struct conf_stmt *);
int	config_api_stmt(struct parser *, struct conf_stmt *);
void	config_api_defaults(struct config *);
void	config_api_resolve(struct parser *);
void	config_api_free(struct config *);
int	config_api_parse_fingerprint(const char *, unsigned char fp[32]);

/*
 * Privilege separation (issue 8): may a secret file (key-file, secret-file)
 * be owned by uid?  Root, the user checking, or the daemon's user.
 */
int	config_secret_owner_ok(uid_t uid);

/* config_recording.c: auditor-group, record-exec-streams. */
void	config_recording_defaults(struct config *);
int	config_recording_stmt(struct parser *, struct conf_stmt *);
void	config_recording_free(struct config *);

#endif
