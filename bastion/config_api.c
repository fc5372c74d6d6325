/*
 * config_api.c - the Proxmox API front's part of hvbastion.conf (issue 7):
 *
 *	api-listen "127.0.0.1" port 8006	# or: api-listen none
 *	api-certificate "/etc/hvbastion/api.crt"
 *	api-private-key "/etc/hvbastion/api.key"
 *	api-pam-service "hvbastion-api"
 *	api-ticket-lifetime 7200
 *	api-failure-delay 3000			# milliseconds before a 401
 *	api-realms "pam" "pve"			# the realms accepted
 *	api-node "pve1" {
 *		address "127.0.0.31"
 *		port 8006
 *		fingerprint "AB:CD:...:EF"	# SHA-256, pvenode cert info
 *	}
 *
 * The grammar is in hvbastion.conf(5).  The key file's mode is checked
 * when the daemon loads it (api_tls.c), not here: "hvbastiond -n" may run
 * as another user than the daemon.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "names.h"

#define API_PORT_DEFAULT	8006
#define API_TICKET_LIFETIME	7200	/* pve-access-control: 2 hours */
#define API_FAILURE_DELAY_MS	3000	/* pveproxy sleeps 3 s on a 401 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "AB:CD:..." (32 bytes, colons optional) -> fp; 0 or -1. */
int
config_api_parse_fingerprint(const char *s, unsigned char fp[32])
{
	size_t n = 0;

	while (*s != '\0') {
		int hi, lo;

		if (n > 0 && *s == ':')
			s++;
		if ((hi = hexval((unsigned char)s[0])) < 0 ||
		    (lo = hexval((unsigned char)s[1])) < 0 || n >= 32)
			return -1;
		fp[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return n == 32 ? 0 : -1;
}

const struct config_api_node *
config_find_api_node(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->napi_nodes; i++)
		if (strcmp(conf->api_nodes[i]->name, name) == 0)
			return conf->api_nodes[i];
	return NULL;
}

static void
node_stmt(struct parser *p, struct conf_stmt *st, void *obj)
{
	struct config_api_node *n = obj;
	const char *kw = st->words[0];
	long v;

	if (strcmp(kw, "address") == 0)
		config_take_string(p, st, &n->address);
	else if (strcmp(kw, "port") == 0) {
		if (config_parse_long(p, st, 1, 1, 65535, &v) == 0)
			n->port = (int)v;
	} else if (strcmp(kw, "fingerprint") == 0) {
		if (st->nwords != 2 || config_api_parse_fingerprint(
		    st->words[1], n->fingerprint) < 0)
			config_perr(p, st->line, "fingerprint: expected the"
			    " SHA-256 of the node's certificate as 32 hex"
			    " bytes (AB:CD:...)");
		else
			n->has_fingerprint = 1;
	} else
		config_perr(p, st->line, "api-node: unknown keyword \"%s\"",
		    kw);
}

int
config_api_block(struct parser *p, struct conf_lex *lx, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	struct config_api_node *n;
	const char *name = st->nwords > 1 ? st->words[1] : "";

	if (strcmp(st->words[0], "api-node") != 0)
		return 0;
	n = config_new_block(p, st, (void ***)&conf->api_nodes,
	    &conf->napi_nodes, sizeof(*n),
	    config_find_api_node(conf, name) != NULL);
	if (n == NULL) {
		config_parse_block(p, lx, st->line, NULL, NULL);
		return 1;
	}
	n->origin.file = p->file;
	n->origin.line = st->line;
	n->port = API_PORT_DEFAULT;
	n->name = config_strdup(p, st->line, name);
	config_parse_block(p, lx, st->line, node_stmt, n);
	return 1;
}

int
config_api_realm_ok(const struct config *conf, const char *realm)
{
	size_t i;

	for (i = 0; i < conf->napi_realms; i++)
		if (strcmp(conf->api_realms[i], realm) == 0)
			return 1;
	return 0;
}

/*
 * api-realms REALM...: one user base (the bastion's people), the realm
 * being only what clients are used to typing after the name; a realm
 * that is not listed is refused at login, in tickets and in API tokens.
 */
static void
parse_realms(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	size_t i, j;

	if (conf->api_realms != NULL) {
		config_perr(p, st->line, "api-realms: given more than once");
		return;
	}
	if (st->nwords < 2) {
		config_perr(p, st->line, "api-realms: expected one realm or"
		    " more (e.g. api-realms \"pam\" \"pve\")");
		return;
	}
	if ((conf->api_realms = calloc(st->nwords - 1,
	    sizeof(*conf->api_realms))) == NULL) {
		config_perr(p, st->line, "out of memory");
		return;
	}
	for (i = 1; i < st->nwords; i++) {
		const char *r = st->words[i];
		int dup = 0;

		for (j = 0; j < conf->napi_realms; j++)
			if (strcmp(conf->api_realms[j], r) == 0)
				dup = 1;
		if (!names_valid_realm(r))
			config_perr(p, st->line, "api-realms: \"%s\" does not"
			    " look like a valid realm (a letter, then letters,"
			    " digits, '.', '-' or '_'; 2 to 32 characters, as"
			    " in Proxmox)", r);
		else if (dup)
			config_perr(p, st->line, "api-realms: \"%s\" given"
			    " twice", r);
		else if ((conf->api_realms[conf->napi_realms] =
		    config_strdup(p, st->line, r)) != NULL)
			conf->napi_realms++;
	}
}

static void
parse_listen(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	long port = API_PORT_DEFAULT;

	if (conf->api_listen_address != NULL) {
		config_perr(p, st->line, "api-listen: given more than once");
		return;
	}
	if (st->nwords == 2 && strcmp(st->words[1], "none") == 0 &&
	    !st->quoted[1])
		return;
	if (st->nwords != 2 && (st->nwords != 4 ||
	    strcmp(st->words[2], "port") != 0)) {
		config_perr(p, st->line, "api-listen: expected ADDRESS"
		    " [port N] or none");
		return;
	}
	if (st->nwords == 4 && config_parse_long(p, st, 3, 1, 65535,
	    &port) < 0)
		return;
	conf->api_listen_address = config_strdup(p, st->line, st->words[1]);
	conf->api_listen_port = (int)port;
}

int
config_api_stmt(struct parser *p, struct conf_stmt *st)
{
	struct config *conf = p->conf;
	const char *kw = st->words[0];
	long v;

	if (strcmp(kw, "api-listen") == 0)
		parse_listen(p, st);
	else if (strcmp(kw, "api-certificate") == 0)
		config_take_string(p, st, &conf->api_certificate);
	else if (strcmp(kw, "api-private-key") == 0)
		config_take_string(p, st, &conf->api_private_key);
	else if (strcmp(kw, "api-pam-service") == 0) {
		if (config_take_string(p, st, &conf->api_pam_service) == 0 &&
		    !names_valid(conf->api_pam_service))
			config_perr(p, st->line, "api-pam-service: invalid"
			    " name");
	} else if (strcmp(kw, "api-ticket-lifetime") == 0) {
		if (config_parse_long(p, st, 1, 60, 86400, &v) == 0)
			conf->api_ticket_lifetime = (int)v;
	} else if (strcmp(kw, "api-realms") == 0)
		parse_realms(p, st);
	else if (strcmp(kw, "api-failure-delay") == 0) {
		if (config_parse_long(p, st, 1, 0, 10000, &v) == 0)
			conf->api_failure_delay_ms = (int)v;
	} else
		return 0;
	return 1;
}

void
config_api_defaults(struct config *conf)
{
	conf->api_ticket_lifetime = API_TICKET_LIFETIME;
	conf->api_failure_delay_ms = API_FAILURE_DELAY_MS;
}

void
config_api_resolve(struct parser *p)
{
	struct config *conf = p->conf;
	size_t i;

	if (conf->api_realms == NULL) {
		static const char *const dflt[] = { "pam", "pve" };

		if ((conf->api_realms = calloc(2, sizeof(char *))) == NULL)
			config_perr(p, 0, "out of memory");
		for (i = 0; conf->api_realms != NULL && i < 2; i++)
			if ((conf->api_realms[i] = strdup(dflt[i])) != NULL)
				conf->napi_realms++;
			else
				config_perr(p, 0, "out of memory");
	}
	for (i = 0; i < conf->napi_nodes; i++) {
		struct config_api_node *n = conf->api_nodes[i];

		if (n->address == NULL)
			config_perr_at(p, &n->origin, "api-node \"%s\": no"
			    " address", n->name);
		/* Without a pin the held token could go to anyone. */
		if (!n->has_fingerprint)
			config_perr_at(p, &n->origin, "api-node \"%s\": no"
			    " fingerprint (the node's certificate must be"
			    " pinned)", n->name);
	}
	if (conf->api_listen_address == NULL)
		return;
	if (conf->api_certificate == NULL || conf->api_private_key == NULL)
		config_perr(p, 0, "api-listen needs api-certificate and"
		    " api-private-key");
	if (conf->api_pam_service == NULL &&
	    (conf->api_pam_service = strdup("hvbastion-api")) == NULL)
		config_perr(p, 0, "out of memory");
	if (conf->napi_nodes == 0)
		config_perr(p, 0, "api-listen needs at least one api-node");
}

void
config_api_free(struct config *conf)
{
	size_t i;

	for (i = 0; i < conf->napi_nodes; i++) {
		free(conf->api_nodes[i]->name);
		free(conf->api_nodes[i]->address);
		free(conf->api_nodes[i]);
	}
	free(conf->api_nodes);
	for (i = 0; i < conf->napi_realms; i++)
		free(conf->api_realms[i]);
	free(conf->api_realms);
	free(conf->api_listen_address);
	free(conf->api_certificate);
	free(conf->api_private_key);
	free(conf->api_pam_service);
}
