/*
 * policy.h - the one decision function: may PERSON reach TARGET as LOGIN
 * over a channel of KIND (to DESTINATION, for a forward), from SOURCE, at
 * WHEN?
 *
 * Every caller (the SSH side today, the API side later, and "hvbastion
 * policy explain") asks here, and every decision names the rule that made
 * it (file:line), so that the log line and the explanation say why.
 * Default deny.  The grammar is in POLICY_DESIGN.md / hvbastion.conf(5).
 */
#ifndef HVB_POLICY_H
#define HVB_POLICY_H

#include <time.h>

#include "../bastion/config.h"

struct policy_request {
	const char		*person;
	const char		*target;
	const char		*login;		/* NULL or "": default */
	enum policy_channel	 channel;
	const char		*forward_host;	/* POLICY_CHANNEL_FORWARD */
	int			 forward_port;
	const char		*source;	/* client address; NULL: any */
	time_t			 when;		/* 0: now */
};

struct policy_decision {
	int				 allow;
	char				 rule[512];	/* why, with file:line */
	const struct config_target	*target;	/* when allowed */
	const struct config_credential	*credential;	/* when allowed */
	const struct config_role	*role;		/* when allowed */
	const struct config_grant	*grant;		/* when allowed */
	/* policy_decide_api(): the API grant and the role's held token. */
	const struct config_api_grant	*api_grant;	/* when allowed */
	const struct config_api_credential *api_credential; /* when allowed */
};

/* A Proxmox API call, or one item of a list answer, to decide on. */
struct policy_api_request {
	const char	*person;
	const char	*acl_path;	/* "/vms/101", "/nodes/pve1", ... */
	const char	*privilege;	/* "VM.PowerMgmt"; NULL: any (listing) */
	const char	*pool;		/* the guest's pool when known, or NULL */
	const char	*source;	/* client address; NULL: any */
	time_t		 when;		/* 0: now */
};

/* Fills d; returns 1 (allow) or 0 (deny). */
int	policy_decide(const struct config *, const struct policy_request *,
	    struct policy_decision *d);

/*
 * Calls fn for each target the person may open a shell on now (from
 * source, which may be NULL), in configuration order: the menu.
 */
/*
 * The API side: may PERSON use PRIVILEGE on ACL_PATH?  Fills d (rule,
 * role, api_grant, api_credential); returns 1 (allow) or 0 (deny).
 */
int	policy_decide_api(const struct config *,
	    const struct policy_api_request *, struct policy_decision *d);

/*
 * The same for a person already found whose dates and source were checked
 * by an allowed policy_decide_api() at the same WHEN (list filtering asks
 * once per item; req->person, source and when are not looked at).
 */
int	policy_decide_api_user(const struct config_user *,
	    const struct policy_api_request *, time_t when,
	    struct policy_decision *d);

void	policy_each_target(const struct config *, const char *person,
	    const char *source, void (*fn)(void *, const struct config_target *),
	    void *arg);

const char *policy_channel_name(enum policy_channel);
/* "shell" -> POLICY_CHANNEL_SHELL; -1 if unknown. */
int	policy_channel_from_name(const char *);
const char *policy_side_name(enum role_side);

#endif
