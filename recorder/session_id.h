/*
 * session_id.h - identifiers that name a connection and its recordings:
 * "YYYYMMDDTHHMMSSZ-" then 8 random hex digits (sortable by start time).
 */
#ifndef HVB_SESSION_ID_H
#define HVB_SESSION_ID_H

#include <stddef.h>

#define SESSION_ID_LEN	25

/* Fills buf (at least SESSION_ID_LEN + 1 bytes); returns 0 or -1. */
int	session_id_new(char *buf, size_t len);

#endif
