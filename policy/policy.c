/*
 * policy.c - the one decision function (minimal: per-user target lists).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

static int __attribute__((format(printf, 2, 3)))
deny(struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->allow = 0;
	d->target = NULL;
	d->credential = NULL;
	va_start(ap, fmt);
	vsnprintf(d->rule, sizeof(d->rule), fmt, ap);
	va_end(ap);
	return 0;
}

int
policy_decide(const struct config *conf, const char *person,
    const char *target, const char *login, enum policy_channel kind,
    struct policy_decision *d)
{
	const struct config_user *u;
	const struct config_target *t = NULL;
	const struct config_credential *c = NULL;
	size_t i;

	memset(d, 0, sizeof(*d));
	if ((u = config_find_user(conf, person)) == NULL)
		return deny(d, "default deny: no user \"%s\"", person);
	if (kind == POLICY_CHANNEL_FORWARD)
		return deny(d, "default deny: port forwarding is not granted"
		    " to %s", person);
	for (i = 0; i < u->ntargets; i++)
		if (strcmp(u->targets[i]->name, target) == 0) {
			t = u->targets[i];
			break;
		}
	if (t == NULL)
		return deny(d, "default deny: no grant of target \"%s\" to"
		    " user \"%s\"", target, person);
	if (login == NULL || login[0] == '\0')
		c = t->credentials[0];
	else {
		size_t j;

		for (j = 0; j < t->ncredentials; j++)
			if (strcmp(t->credentials[j]->login, login) == 0) {
				c = t->credentials[j];
				break;
			}
		if (c == NULL)
			return deny(d, "default deny: target \"%s\" has no"
			    " credential for login \"%s\"", target, login);
	}
	d->allow = 1;
	d->target = t;
	d->credential = c;
	snprintf(d->rule, sizeof(d->rule), "%s:%d: user \"%s\" target \"%s\""
	    " (credential \"%s\" from %s:%d)", u->target_origins[i].file,
	    u->target_origins[i].line, person, target, c->name,
	    c->origin.file, c->origin.line);
	return 1;
}

void
policy_each_target(const struct config *conf, const char *person,
    void (*fn)(void *, const struct config_target *), void *arg)
{
	const struct config_user *u;
	size_t i;

	if ((u = config_find_user(conf, person)) == NULL)
		return;
	for (i = 0; i < u->ntargets; i++)
		fn(arg, u->targets[i]);
}

const char *
policy_channel_name(enum policy_channel kind)
{
	static const char *names[] = { "shell", "exec", "sftp", "scp",
	    "port-forward" };

	return names[kind];
}
