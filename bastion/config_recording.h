/*
 * config_recording.h - the recording keywords (config_recording.c).
 */
#ifndef HVB_CONFIG_RECORDING_H
#define HVB_CONFIG_RECORDING_H

#include <sys/types.h>

#include "config.h"

#define CONFIG_AUDITOR_GROUP_DEFAULT		"hvbastion-audit"
#define CONFIG_RECORD_EXEC_STREAMS_DEFAULT	(1024L * 1024)

/*
 * The group that reads recordings: 1 with *gid, 0 for none (root alone:
 * no auditor-group and no hvbastion-audit group), -1 when the configured
 * group does not exist (why says so).
 */
int	config_auditor_gid(const struct config *, gid_t *gid, char *why,
	    size_t whylen);

#endif
