/*
 * state_owner.c - see state_owner.h.
 */
#include <sys/stat.h>

#include <unistd.h>

#include "state_owner.h"

void
state_owner_match(int fd, const char *parent)
{
	struct stat sp, sf;

	if (geteuid() != 0 || stat(parent, &sp) < 0 || fstat(fd, &sf) < 0)
		return;
	if (sf.st_uid != sp.st_uid || sf.st_gid != sp.st_gid)
		(void)!fchown(fd, sp.st_uid, sp.st_gid);
}
