/*
 * config_recording.c - the recording keywords of hvbastion.conf:
 *
 *   auditor-group NAME          the Unix group that may read recordings
 *                               (default: hvbastion-audit if it exists,
 *                               else root alone)
 *   record-exec-streams BYTES   how much of each stream of a command
 *                               without a pty is kept (default 1 MiB;
 *                               0: digests only)
 *   compress-recordings yes|no  zstd-compress terminal recordings once
 *                               they are sealed (default no)
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "config_recording.h"
#include "names.h"

#define EXEC_STREAMS_MAX	(1L << 40)

void
config_recording_defaults(struct config *conf)
{
	conf->record_exec_streams = CONFIG_RECORD_EXEC_STREAMS_DEFAULT;
}

int
config_recording_stmt(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];
	long v;

	if (strcmp(kw, "auditor-group") == 0) {
		free(conf->auditor_group);
		conf->auditor_group = NULL;
		if (config_take_string(p, st, &conf->auditor_group) == 0 &&
		    !names_valid(conf->auditor_group))
			config_perr(p, st->line, "auditor-group: invalid"
			    " group name");
		return 1;
	}
	if (strcmp(kw, "record-exec-streams") == 0) {
		if (st->nwords != 2)
			config_perr(p, st->line, "record-exec-streams:"
			    " expected one size in bytes");
		else if (config_parse_long(p, st, 1, 0, EXEC_STREAMS_MAX,
		    &v) == 0)
			conf->record_exec_streams = v;
		return 1;
	}
	if (strcmp(kw, "compress-recordings") == 0) {
		if (st->nwords == 2 && strcmp(st->words[1], "yes") == 0)
			conf->compress_recordings = 1;
		else if (st->nwords == 2 && strcmp(st->words[1], "no") == 0)
			conf->compress_recordings = 0;
		else
			config_perr(p, st->line, "compress-recordings:"
			    " expected yes or no");
		return 1;
	}
	return 0;
}

void
config_recording_free(struct config *conf)
{
	free(conf->auditor_group);
	conf->auditor_group = NULL;
}

int
config_auditor_gid(const struct config *conf, gid_t *gid, char *why,
    size_t whylen)
{
	const char *name = conf->auditor_group != NULL ?
	    conf->auditor_group : CONFIG_AUDITOR_GROUP_DEFAULT;
	struct group *gr = getgrnam(name);

	if (gr != NULL) {
		*gid = gr->gr_gid;
		return 1;
	}
	if (conf->auditor_group != NULL) {
		snprintf(why, whylen, "auditor-group %s: no such group",
		    conf->auditor_group);
		return -1;
	}
	return 0;
}
