/*
 * state_owner.h - files under the state directory belong to whoever owns
 * their parent (the daemon's user, once the daemon gives it the state
 * directory): a root start-up or a root CLI ("totp enroll", "api-token
 * create", "audit test") must not leave a file that the daemon's
 * processes, running as that user, cannot open.
 */
#ifndef HVB_STATE_OWNER_H
#define HVB_STATE_OWNER_H

/* When running as root, gives fd the owner and group of parent. */
void	state_owner_match(int fd, const char *parent);

#endif
