/*
 * totp_enroll.h - "hvbastion totp enroll PERSON": a new TOTP secret for a
 * person, shown as an otpauth:// URI and a QR code drawn in the terminal
 * (or as JSON for automation).
 */
#ifndef HVB_TOTP_ENROLL_H
#define HVB_TOTP_ENROLL_H

#include <stdio.h>

#include "config.h"

/* Returns the program's exit status; messages go to out / stderr. */
int	totp_enroll_main(const struct config *, int argc, char *argv[],
	    FILE *out);

/* Writes the QR code of text with Unicode half blocks; 0 or -1. */
int	totp_enroll_draw_qr(const char *text, FILE *out);

#endif
