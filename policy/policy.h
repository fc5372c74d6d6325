/*
 * policy.h - the one decision function: may PERSON reach TARGET as LOGIN
 * over a channel of KIND?
 *
 * Every caller (SSH today, the API later) asks here, and every decision
 * names the rule that made it, so that the log line and "policy explain"
 * can say why.  Default deny.  For now the rule set is the user's "target"
 * lines; roles and grants replace them without changing this interface.
 */
#ifndef HVB_POLICY_H
#define HVB_POLICY_H

#include "../bastion/config.h"

enum policy_channel {
	POLICY_CHANNEL_SHELL,
	POLICY_CHANNEL_EXEC,
	POLICY_CHANNEL_SFTP,
	POLICY_CHANNEL_SCP,
	POLICY_CHANNEL_FORWARD,
};

struct policy_decision {
	int				 allow;
	char				 rule[320];	/* why, with file:line */
	const struct config_target	*target;	/* when allowed */
	const struct config_credential	*credential;	/* when allowed */
};

/* login may be NULL or "" for the target's default credential. */
int	policy_decide(const struct config *, const char *person,
	    const char *target, const char *login, enum policy_channel,
	    struct policy_decision *);

/* Calls fn for each target the person may reach, in configuration order. */
void	policy_each_target(const struct config *, const char *person,
	    void (*fn)(void *, const struct config_target *), void *arg);

const char *policy_channel_name(enum policy_channel);

#endif
