/*
 * config_audit.c - the audit trail's part of hvbastion.conf (issue 6):
 * where the log store is, how to reach it, the spool's bound and what a
 * full spool does, the node name, libaudit on or off.
 *
 *   audit-collector "ADDRESS" port N [tls yes|no]
 *   audit-protocol rfc5425|relp
 *   audit-collector-name "NAME"		(in its certificate)
 *   audit-ca "FILE"
 *   audit-client-certificate "FILE"
 *   audit-client-key "FILE"		(refused if group/other-readable)
 *   audit-node-name "NAME"
 *   audit-spool-max BYTES[k|m|g]
 *   audit-spool-full refuse|allow
 *   audit-libaudit yes|no
 *
 * hvbastion.conf(5) documents each keyword.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_parse.h"
#include "names.h"

/* Node names go into the RFC 5424 HOSTNAME field: PRINTUSASCII. */
static int
valid_node(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 32 || *s >= 127)
			return 0;
	return 1;
}

static void
parse_collector(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	long port;

	if ((st->nwords != 4 && st->nwords != 6) ||
	    strcmp(st->words[2], "port") != 0 ||
	    (st->nwords == 6 && strcmp(st->words[4], "tls") != 0)) {
		config_perr(p, st->line, "audit-collector: expected"
		    " audit-collector \"ADDRESS\" port NUMBER [tls yes|no]");
		return;
	}
	if (conf->audit_collector != NULL) {
		config_perr(p, st->line, "audit-collector: given more than"
		    " once");
		return;
	}
	if (!names_valid_address(st->words[1])) {
		config_perr(p, st->line, "audit-collector: \"%s\" is not an"
		    " address", st->words[1]);
		return;
	}
	if (config_parse_long(p, st, 3, 1, 65535, &port) < 0)
		return;
	if (st->nwords == 6) {
		if (strcmp(st->words[5], "yes") == 0)
			conf->audit_plain_tcp = 0;
		else if (strcmp(st->words[5], "no") == 0)
			conf->audit_plain_tcp = 1;
		else {
			config_perr(p, st->line, "audit-collector: tls yes or"
			    " no");
			return;
		}
	}
	conf->audit_port = (int)port;
	if ((conf->audit_collector = strdup(st->words[1])) == NULL)
		config_perr(p, st->line, "out of memory");
}

/* "64m", "1g", "500000": bytes; -1 if not a size. */
static long long
parse_size(const char *s)
{
	char *end;
	long long v, mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v <= 0 || s[0] == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024LL * 1024 * 1024, end++;
	if (*end != '\0' || v > (1LL << 50) / mul)
		return -1;
	return v * mul;
}

int
config_audit_stmt(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];

	if (strcmp(kw, "audit-collector") == 0)
		parse_collector(p, st);
	else if (strcmp(kw, "audit-collector-name") == 0)
		config_take_string(p, st, &conf->audit_collector_name);
	else if (strcmp(kw, "audit-ca") == 0)
		config_take_string(p, st, &conf->audit_ca);
	else if (strcmp(kw, "audit-client-certificate") == 0)
		config_take_string(p, st, &conf->audit_client_cert);
	else if (strcmp(kw, "audit-client-key") == 0)
		config_take_string(p, st, &conf->audit_client_key);
	else if (strcmp(kw, "audit-node-name") == 0) {
		if (config_take_string(p, st, &conf->audit_node_name) == 0 &&
		    !valid_node(conf->audit_node_name))
			config_perr(p, st->line, "audit-node-name: printable"
			    " ASCII without spaces, at most 255 bytes");
	} else if (strcmp(kw, "audit-spool-max") == 0) {
		long long v;

		if (st->nwords != 2 || (v = parse_size(st->words[1])) < 4096)
			config_perr(p, st->line, "audit-spool-max: expected a"
			    " size in bytes of at least 4096 (k, m, g"
			    " suffixes)");
		else
			conf->audit_spool_max = v;
	} else if (strcmp(kw, "audit-spool-full") == 0) {
		if (st->nwords == 2 && strcmp(st->words[1], "refuse") == 0)
			conf->audit_spool_full = AUDIT_SPOOL_FULL_REFUSE;
		else if (st->nwords == 2 && strcmp(st->words[1], "allow") == 0)
			conf->audit_spool_full = AUDIT_SPOOL_FULL_ALLOW;
		else
			config_perr(p, st->line, "audit-spool-full: refuse or"
			    " allow");
	} else if (strcmp(kw, "audit-protocol") == 0) {
		if (st->nwords == 2 && strcmp(st->words[1], "rfc5425") == 0)
			conf->audit_protocol = AUDIT_PROTOCOL_RFC5425;
		else if (st->nwords == 2 && strcmp(st->words[1], "relp") == 0)
			conf->audit_protocol = AUDIT_PROTOCOL_RELP;
		else
			config_perr(p, st->line, "audit-protocol: rfc5425 or"
			    " relp");
	} else if (strcmp(kw, "audit-libaudit") == 0) {
		if (st->nwords == 2 && strcmp(st->words[1], "yes") == 0)
			conf->audit_libaudit_off = 0;
		else if (st->nwords == 2 && strcmp(st->words[1], "no") == 0)
			conf->audit_libaudit_off = 1;
		else
			config_perr(p, st->line, "audit-libaudit: yes or no");
	} else
		return 0;
	return 1;
}

static void
check_file(struct parser *p, const char *what, const char *path, int secret)
{
	struct stat sb;

	if (path == NULL)
		return;
	if (stat(path, &sb) < 0) {
		config_perr(p, 0, "%s \"%s\": %s", what, path, strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode))
		config_perr(p, 0, "%s \"%s\": not a regular file", what, path);
	else if (secret && (sb.st_mode & 077) != 0)
		config_perr(p, 0, "%s \"%s\": readable or writable by group or"
		    " others (mode %04o): refused, make it 0600", what, path,
		    (unsigned)(sb.st_mode & 07777));
}

void
config_audit_finish(struct parser *p)
{
	struct config *conf = p->conf;
	char host[256];

	if (conf->audit_spool_max == 0)
		conf->audit_spool_max = AUDIT_SPOOL_MAX_DEFAULT;
	if (conf->audit_node_name == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "hvbastion");
		host[sizeof(host) - 1] = '\0';
		if (!valid_node(host))
			snprintf(host, sizeof(host), "hvbastion");
		if ((conf->audit_node_name = strdup(host)) == NULL)
			config_perr(p, 0, "out of memory");
	}
	if (conf->audit_collector == NULL) {
		if (conf->audit_ca != NULL || conf->audit_client_cert != NULL ||
		    conf->audit_client_key != NULL)
			config_perr(p, 0, "audit-ca / audit-client-*: given"
			    " without audit-collector");
		return;
	}
	if (!conf->audit_plain_tcp && conf->audit_ca == NULL)
		config_perr(p, 0, "audit-collector with tls needs audit-ca (the"
		    " CA that signed the collector's certificate)");
	if ((conf->audit_client_cert == NULL) !=
	    (conf->audit_client_key == NULL))
		config_perr(p, 0, "audit-client-certificate and"
		    " audit-client-key go together");
	if (conf->audit_plain_tcp && (conf->audit_ca != NULL ||
	    conf->audit_client_cert != NULL))
		config_perr(p, 0, "audit-ca / audit-client-*: the collector is"
		    " plain TCP (tls no)");
	check_file(p, "audit-ca", conf->audit_ca, 0);
	check_file(p, "audit-client-certificate", conf->audit_client_cert, 0);
	check_file(p, "audit-client-key", conf->audit_client_key, 1);
}

void
config_audit_free(struct config *conf)
{
	free(conf->audit_collector);
	free(conf->audit_collector_name);
	free(conf->audit_ca);
	free(conf->audit_client_cert);
	free(conf->audit_client_key);
	free(conf->audit_node_name);
}
