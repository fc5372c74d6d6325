/*
 * api_ws.h - a bounded RFC 6455 frame reader for the websocket consoles
 * the API front passes through (it reads a copy of the stream to record
 * it; the bytes themselves go through untouched).
 *
 * Refused (the console is then closed: what cannot be read cannot be
 * recorded): RSV bits, a payload over API_WS_MAX_PAYLOAD, a client frame
 * without a mask or a server frame with one, control frames over 125
 * bytes or fragmented.
 */
#ifndef HVB_API_WS_H
#define HVB_API_WS_H

#include <stddef.h>
#include <stdint.h>

#define API_WS_MAX_PAYLOAD	(256 * 1024)	/* pveproxy: 128 KiB */

/* Called with each complete frame, unmasked. */
typedef int (*api_ws_frame_fn)(void *arg, int opcode, int fin,
	    const unsigned char *payload, size_t len);

struct api_ws_reader {
	int		 from_client;	/* frames must be masked */
	unsigned char	 hdr[14];
	size_t		 hlen;
	size_t		 hneed;		/* header bytes wanted so far */
	uint64_t	 plen;
	size_t		 got;
	unsigned char	*payload;	/* API_WS_MAX_PAYLOAD */
	size_t		 high;		/* bytes of payload ever used */
	int		 error;
};

int	api_ws_reader_init(struct api_ws_reader *, int from_client);
void	api_ws_reader_free(struct api_ws_reader *);
/* 0, or -1 on a refused frame or when fn returned non-zero. */
int	api_ws_feed(struct api_ws_reader *, const unsigned char *buf,
	    size_t len, api_ws_frame_fn fn, void *arg);

/* termproxy's client messages (pve-xtermjs): "0:LEN:DATA", "1:C:R:", "2". */
enum api_term_msg { API_TERM_OTHER, API_TERM_INPUT, API_TERM_RESIZE,
	API_TERM_PING };

/* Classifies p; INPUT sets data and dlen (inside p), RESIZE cols, rows. */
int	api_term_msg(const unsigned char *p, size_t len,
	    const unsigned char **data, size_t *dlen, int *cols, int *rows);

#endif
