/*
 * audit_relp.h - RELP framing for the audit shipper (audit_ship.h).
 *
 * RELP (rsyslog's Reliable Event Logging Protocol, librelp's relp.html)
 * answers every message with its own "rsp": the shipper counts an event
 * delivered only when the collector's program has taken it, where RFC 5425
 * can only see its TCP acknowledgement.  librelp's client API sends and
 * retransmits on its own but never says which message was acknowledged,
 * and the shipper must know that to move its delivery offset; so the
 * shipper speaks the protocol over its own TLS connection, and this module
 * holds the two halves that touch bytes: the frames it sends, and a
 * bounded, incremental reader of what the server sends back.
 *
 *   FRAME = TXNR SP COMMAND SP DATALEN [SP DATA] LF
 *   TXNR 0..999999999 (1 upwards for commands, 0 for a server's hint),
 *   COMMAND 1..32 letters, DATALEN 0..999999999, DATA DATALEN octets.
 *   An rsp's DATA: STATUS (3 digits) [SP text] [LF command data].
 */
#ifndef HVB_AUDIT_RELP_H
#define HVB_AUDIT_RELP_H

#include <stddef.h>

#define AUDIT_RELP_TXNR_MAX	999999999u
#define AUDIT_RELP_CMD_MAX	32
/* The most a server frame may carry here: an rsp (status, a line of
 * text, the offers of "open").  Anything longer is a framing error. */
#define AUDIT_RELP_DATA_MAX	4096

/* The transaction number after txnr (1 after 999999999, as RELP says). */
unsigned	audit_relp_next_txnr(unsigned txnr);

/*
 * "TXNR COMMAND LEN[ DATA]\n" into out; its length, or -1 when it does
 * not fit, the command is not 1..32 letters or txnr is out of range.
 */
long	audit_relp_frame(char *out, size_t outlen, unsigned txnr,
	    const char *command, const char *data, size_t len);

/* The "open" command's offers (relp_version, relp_software, commands). */
extern const char audit_relp_offers[];

struct audit_relp_frame {
	unsigned	txnr;
	char		command[AUDIT_RELP_CMD_MAX + 1];
	const char	*data;		/* in the reader; valid until next feed */
	size_t		len;
};

struct audit_relp_reader {
	int		state;
	unsigned long	number;		/* digits of the field being read */
	int		digits;
	size_t		cmdlen;
	size_t		got;
	struct audit_relp_frame frame;
	char		data[AUDIT_RELP_DATA_MAX];
};

void	audit_relp_reader_init(struct audit_relp_reader *r);

/*
 * Reads from buf (len bytes) up to the end of one frame: *used gets the
 * bytes taken.  1: a frame is complete in *f (its data in the reader);
 * 0: every byte was taken and the frame is not complete yet; -1: the
 * bytes are not RELP (the connection must be closed).
 */
int	audit_relp_read(struct audit_relp_reader *r, const char *buf,
	    size_t len, size_t *used, struct audit_relp_frame *f);

/* An rsp's status (200 is success), or -1 when the data has none. */
int	audit_relp_rsp_status(const char *data, size_t len);

/*
 * The answer to "open": 0 when it is a 200 that accepts the RELP version
 * and offers the "syslog" command, -1 otherwise.
 */
int	audit_relp_open_accepted(const char *data, size_t len);

#endif
