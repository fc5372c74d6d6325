/*
 * channel_end.h - a libssh channel as one end of a pump (pump.h): reads
 * that never block, writes that take what the window allows, the window.
 * Session channels (bridge.c) and forwards (forward.c) pump through these.
 */
#ifndef HVB_CHANNEL_END_H
#define HVB_CHANNEL_END_H

#include <libssh/libssh.h>

#include "pump.h"

void	channel_end_init(struct pump_end *, ssh_channel);

#endif
