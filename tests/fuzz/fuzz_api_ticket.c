/*
 * fuzz_api_ticket.c - libFuzzer target for the ticket, CSRF token and
 * API token parsers (bastion/api_ticket.c, api_token.c).
 *
 * The input is a ticket, then (after a NUL) a CSRF token.  Properties:
 * only the documented errors; a ticket is accepted only if it is exactly
 * the one api_ticket_make() writes for its user and time (no other
 * spelling of a valid ticket exists); a made ticket always checks; the
 * token parser refuses anything without a stored token.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bastion/api_ticket.h"
#include "../../bastion/api_token.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1800000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[32] = { 1, 2, 3 };
	char in[1024], user[API_USERID_MAX], made[API_TICKET_MAX], why[200];
	const char *csrf;
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;
	int partial, rc;

	if (api_ticket_set_key(key, sizeof(key)) != 0)
		abort();
	memcpy(in, data, n);
	in[n] = '\0';
	csrf = in + strlen(in) + (strlen(in) < n ? 1 : 0);
	for (partial = 0; partial < 2; partial++) {
		rc = api_ticket_check(in, partial, NOW, 7200, user,
		    sizeof(user));
		if (rc != 0 && rc != -EACCES && rc != -ETIMEDOUT)
			abort();
		if (rc == 0) {
			/* Only the canonical form: rebuild and compare. */
			const char *t = in + 4 + (partial ? 5 : 0) +
			    strlen(user) + 1;
			const char *end = strstr(t, "::");
			char hextime[17];
			time_t when;

			if (end == NULL || end - t > 16)
				abort();
			memcpy(hextime, t, (size_t)(end - t));
			hextime[end - t] = '\0';
			when = (time_t)strtoll(hextime, NULL, 16);
			if (api_ticket_make(user, partial, when, made,
			    sizeof(made)) != 0 || strcmp(made, in) != 0)
				abort();
		}
	}
	rc = api_csrf_check(csrf, "alice@pve", NOW, 7200);
	if (rc != 0 && rc != -EACCES && rc != -ETIMEDOUT)
		abort();
	if (api_ticket_make("alice@pve", 0, NOW, made, sizeof(made)) != 0 ||
	    api_ticket_check(made, 0, NOW, 7200, user, sizeof(user)) != 0 ||
	    api_ticket_check(made, 1, NOW, 7200, user, sizeof(user)) == 0)
		abort();
	/* No store at this path: every API token is refused. */
	if (api_token_check("/nonexistent-hvb-fuzz", in, user, sizeof(user),
	    why, sizeof(why)) == 0)
		abort();
	return 0;
}
