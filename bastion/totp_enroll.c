/*
 * totp_enroll.c - "hvbastion totp enroll PERSON".
 *
 * The secret goes to the TOTP state directory (STATE/totp unless --dir),
 * where pam_hvbastion(8) reads it.  Every enrolment is logged to syslog
 * (authpriv) with the caller's uid, since a re-enrolment replaces the old
 * secret and so is a security event.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <qrencode.h>

#include "../pam/totp_store.h"
#include "audit.h"
#include "names.h"
#include "totp_enroll.h"

#define TOTP_ISSUER	"hvbastion"

int
totp_enroll_draw_qr(const char *text, FILE *out)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y, w, quiet = 2;

	if (qr == NULL)
		return -1;
	w = qr->width;
	/*
	 * Two modules a character cell (upper and lower half blocks), dark
	 * modules drawn as blank on a light quiet zone so that the code
	 * scans on dark and light terminals alike.
	 */
	for (y = -quiet; y < w + quiet; y += 2) {
		for (x = -quiet; x < w + quiet; x++) {
			int top = y >= 0 && y < w && x >= 0 && x < w &&
			    (qr->data[y * w + x] & 1);
			int bot = y + 1 >= 0 && y + 1 < w && x >= 0 &&
			    x < w && (qr->data[(y + 1) * w + x] & 1);

			if (top && bot)
				fputs(" ", out);
			else if (top)
				fputs("\xe2\x96\x84", out);	/* lower half */
			else if (bot)
				fputs("\xe2\x96\x80", out);	/* upper half */
			else
				fputs("\xe2\x96\x88", out);	/* full block */
		}
		fputs("\n", out);
	}
	QRcode_free(qr);
	return 0;
}

/*
 * The store refuses files that its reader (the daemon's user) does not
 * own, and never chowns (pam_oath's CVE-2024-47191): so root enrols as the
 * directory's owner.
 */
static int
become_owner(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) < 0) {
		fprintf(stderr, "hvbastion: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (geteuid() != 0 || sb.st_uid == 0)
		return 0;
	if (setresgid(sb.st_gid, sb.st_gid, sb.st_gid) < 0 ||
	    setresuid(sb.st_uid, sb.st_uid, sb.st_uid) < 0) {
		fprintf(stderr, "hvbastion: cannot become the owner of %s: %s\n",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hvbastion totp enroll [--json] [--dir DIR]"
	    " PERSON\n");
}

int
totp_enroll_main(const struct config *conf, int argc, char *argv[],
    FILE *out)
{
	char dir[PATH_MAX], abs[PATH_MAX], b32[128], uri[512], err[256];
	const char *person = NULL, *dirarg = NULL;
	int i, json = 0, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dirarg = argv[++i];
		else if (argv[i][0] == '-' || person != NULL) {
			usage();
			return 2;
		} else
			person = argv[i];
	}
	if (person == NULL) {
		usage();
		return 2;
	}
	if (!names_valid(person) || config_find_user(conf, person) == NULL) {
		fprintf(stderr, "hvbastion: no person \"%s\" in %s\n",
		    names_valid(person) ? person : "(invalid name)",
		    conf->path);
		return 1;
	}
	if (dirarg != NULL)
		snprintf(dir, sizeof(dir), "%s", dirarg);
	else
		snprintf(dir, sizeof(dir), "%s/totp", conf->state_dir);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    realpath(dir, abs) == NULL) {
		fprintf(stderr, "hvbastion: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", abs);
	if (become_owner(dir) < 0)
		return 1;
	if (totp_store_check_dir(dir, err, sizeof(err)) != TOTP_OK) {
		fprintf(stderr, "hvbastion: %s: %s\n", dir, err);
		return 1;
	}
	rc = totp_store_enroll(dir, person, b32, sizeof(b32));
	if (rc != TOTP_OK) {
		fprintf(stderr, "hvbastion: cannot enrol %s: %s\n", person,
		    totp_store_strerror(rc));
		return 1;
	}
	{
		struct audit_event ev;
		char uid[32];

		memset(&ev, 0, sizeof(ev));
		snprintf(uid, sizeof(uid), "by uid %ld", (long)getuid());
		ev.kind = AUDIT_TOTP_ENROL;
		ev.person = person;
		ev.action = "totp-enroll";
		ev.outcome = "success";
		ev.detail = uid;
		/* Fail closed: an enrolment the audit trail does not hold
		 * is not handed out. */
		if (audit_emit(&ev) < 0) {
			explicit_bzero(b32, sizeof(b32));
			fprintf(stderr, "hvbastion: the enrolment of %s cannot"
			    " be audited: the secret is not shown\n", person);
			return 1;
		}
	}
	openlog("hvbastion", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_NOTICE, "TOTP enrolment for %s by uid %ld: a new secret"
	    " replaces any previous one", person, (long)getuid());
	closelog();
	snprintf(uri, sizeof(uri), "otpauth://totp/%s:%s?secret=%s&issuer=%s"
	    "&algorithm=SHA1&digits=6&period=30", TOTP_ISSUER, person, b32,
	    TOTP_ISSUER);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}",
		    "person", person, "secret", b32, "uri", uri,
		    "algorithm", "SHA1", "digits", 6, "period", 30);
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		rc = text != NULL ? 0 : 1;
		if (text != NULL)
			fprintf(out, "%s\n", text);
		free(text);
		json_decref(o);
	} else {
		fprintf(out, "TOTP secret for %s (scan the code, or type the"
		    " secret into the app):\n\n", person);
		if (totp_enroll_draw_qr(uri, out) < 0)
			fprintf(out, "(cannot draw the QR code)\n");
		fprintf(out, "\n%s\n\nsecret: %s\n", uri, b32);
		rc = 0;
	}
	explicit_bzero(b32, sizeof(b32));
	explicit_bzero(uri, sizeof(uri));
	return rc;
}
