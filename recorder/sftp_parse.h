/*
 * sftp_parse.h - follows an SFTP (version 3) conversation passing through
 * the bastion and turns it into file operations for the session log.
 *
 * Both directions are fed as they are pumped, in arbitrary chunks.  The
 * parser reassembles packets (at most SFTP_MAX_PACKET bytes, as OpenSSH's
 * client and server), never trusts a length, remembers the requests it
 * cares about by id and the handles the server returns for OPEN and
 * OPENDIR, and hashes the bytes read and written per handle (SHA-256, in
 * offset order; a transfer that is not sequential is marked as such and
 * has no digest).  When a file operation completes (the server's reply),
 * fn receives one JSON object (without "event"), whose reference it takes.
 *
 * Memory is bounded: two packet buffers, SFTP_MAX_PENDING requests in
 * flight and SFTP_MAX_HANDLES open handles; going beyond is an error.
 * After an error the parser ignores all further input.
 */
#ifndef HVB_SFTP_PARSE_H
#define HVB_SFTP_PARSE_H

#include <stddef.h>

#include <jansson.h>

#define SFTP_MAX_PACKET		(256 * 1024)	/* the length field's limit */
#define SFTP_MAX_PENDING	2048		/* requests in flight */
#define SFTP_MAX_HANDLES	256
#define SFTP_MAX_HANDLE_LEN	256		/* draft-02 section 3.2 */

enum sftp_dir { SFTP_FROM_CLIENT = 0, SFTP_FROM_SERVER = 1 };

typedef void (*sftp_event_fn)(void *arg, json_t *ev);

struct sftp_parse;

struct sftp_parse *sftp_parse_new(sftp_event_fn, void *arg);
/* Returns 0, or -1 once the stream cannot be followed (see error). */
int	sftp_parse_feed(struct sftp_parse *, enum sftp_dir, const void *buf,
	    size_t len);
/* Why feeding failed ("" while it has not). */
const char *sftp_parse_error(const struct sftp_parse *);
/* Reports the files still open as unfinished; call once at the end. */
void	sftp_parse_finish(struct sftp_parse *);
/* Number of events reported so far. */
unsigned long sftp_parse_nevents(const struct sftp_parse *);
void	sftp_parse_free(struct sftp_parse *);

#endif
