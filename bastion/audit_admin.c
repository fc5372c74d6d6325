/*
 * audit_admin.c - the audit trail's admin commands.
 *
 *   hvbastion audit status [--json]
 *	the spool's depth (events and bytes not yet delivered), the
 *	shipper's last delivery and last error (STATE/audit/status), the
 *	journal's last sequence number
 *   hvbastion audit test [--sessions N] [--pause-every K]
 *	records the events of N synthetic sessions (auth-success,
 *	session-start, command, session-end; person "hvbastion-test",
 *	action "test"), through the same path as the daemon's, to check the
 *	way to the log store end to end (and to measure it: make bench).
 *	With --pause-every, after every K sessions (while more remain) it
 *	says how far it got on stdout and waits for a line on stdin (or its
 *	end) before it goes on: whoever drives it (a test taking the log
 *	store away in the middle of a burst) knows where the burst stands
 *	instead of guessing it from the clock.
 *   hvbastion audit archive
 *	moves the journal's delivered part into a segment of
 *	STATE/audit/archive (audit_archive.h)
 *   hvbastion verify --audit
 *	checks the journal, from the archive's first segment on: every
 *	line's "prev" is the SHA-256 of the line before, sequence numbers
 *	follow each other
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../recorder/chain.h"
#include "../recorder/rec_zstd.h"
#include "audit.h"
#include "audit_admin.h"
#include "audit_archive.h"
#include "audit_fmt.h"
#include "audit_spool.h"
#include "log.h"

#define TEST_SESSIONS_MAX	1000000L

static void
usage(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] audit status [--json]\n"
	    "       hvbastion [-f file] audit test [--sessions N]"
	    " [--pause-every K]\n"
	    "       hvbastion [-f file] audit archive\n");
}

/* "audit archive": the journal's delivered part into a segment. */
static int
archive(const struct config *conf, FILE *out)
{
	char dir[PATH_MAX], name[96];
	uint64_t events = 0;
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir,
	    AUDIT_SPOOL_SUBDIR);
	rc = audit_archive_run(dir, conf->audit_collector != NULL, &events,
	    name, sizeof(name));
	if (rc < 0) {
		fprintf(stderr, "hvbastion: audit archive: %s\n",
		    rc == -EBADMSG ? "the journal or its \"archived\" record"
		    " is damaged (hvbastion verify --audit)" : strerror(-rc));
		return 1;
	}
	if (events == 0)
		fprintf(out, "nothing to archive (%s)\n",
		    conf->audit_collector != NULL ? "what the log store has"
		    " not received stays, and the last event" :
		    "the last event stays");
	else
		fprintf(out, "archived %llu events to %s/%s/%s\n",
		    (unsigned long long)events, dir, AUDIT_ARCHIVE_SUBDIR,
		    name);
	return 0;
}

struct jcheck;
static int	check_segments(struct jcheck *, const char *, FILE *);

static int
status(const struct config *conf, int json, FILE *out)
{
	char dir[PATH_MAX - 64], path[PATH_MAX];
	uint64_t bytes = 0, lines = 0, last = 0;
	json_t *st = NULL, *o;
	int rc, full, segments;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir,
	    AUDIT_SPOOL_SUBDIR);
	if ((rc = audit_spool_depth(dir, &bytes, &lines)) < 0 ||
	    (rc = audit_journal_last(dir, &last)) < 0) {
		fprintf(stderr, "hvbastion: %s: %s\n", dir, strerror(-rc));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/full", dir);
	full = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/status", dir);
	st = json_load_file(path, 0, NULL);
	segments = check_segments(NULL, dir, NULL);
	o = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:b, s:i}",
	    "collector", conf->audit_collector,
	    "spool_events", (json_int_t)lines, "spool_bytes", (json_int_t)bytes,
	    "spool_max", (json_int_t)conf->audit_spool_max,
	    "journal_last_seq", (json_int_t)last,
	    "spool_full", full, "archive_segments", segments);
	if (o == NULL) {
		json_decref(st);
		return 1;
	}
	if (json_is_object(st))
		json_object_set(o, "shipper", st);
	if (json) {
		char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (t != NULL)
			fprintf(out, "%s\n", t);
		free(t);
	} else {
		const char *le = json_string_value(json_object_get(st,
		    "last_error"));
		char esc[600];

		if (conf->audit_collector != NULL)
			fprintf(out, "collector:        %s port %d (%s%s)\n",
			    conf->audit_collector, conf->audit_port,
			    conf->audit_protocol == AUDIT_PROTOCOL_RELP ?
			    "RELP over " : "RFC 5425 over ",
			    conf->audit_plain_tcp ? "TCP" : "TLS");
		else
			fprintf(out, "collector:        none (journal only)\n");
		fprintf(out, "spool depth:      %llu events, %llu bytes"
		    " (max %lld)%s\n", (unsigned long long)lines,
		    (unsigned long long)bytes, conf->audit_spool_max,
		    full ? " FULL: events refused" : "");
		fprintf(out, "journal last seq: %llu\n",
		    (unsigned long long)last);
		fprintf(out, "archive:          %d segments in %s/%s\n",
		    segments < 0 ? 0 : segments, dir, AUDIT_ARCHIVE_SUBDIR);
		if (json_is_object(st)) {
			fprintf(out, "shipper:          pid %lld, %s\n",
			    (long long)json_integer_value(json_object_get(st,
			    "pid")), json_is_true(json_object_get(st,
			    "connected")) ? "connected" : "not connected");
			fprintf(out, "last delivery:    seq %lld at %s\n",
			    (long long)json_integer_value(json_object_get(st,
			    "delivered_seq")), json_string_value(
			    json_object_get(st, "delivered_at")));
			fprintf(out, "last error:       %s (at %s)\n",
			    log_escape(esc, sizeof(esc), le ? le : "-"),
			    json_string_value(json_object_get(st,
			    "last_error_at")));
		} else
			fprintf(out, "shipper:          no status yet\n");
	}
	json_decref(o);
	json_decref(st);
	return 0;
}

/*
 * The pause of --pause-every: one line on out, flushed (the driver reads
 * it through a pipe), then one line (or the end) from stdin.
 */
static void
test_pause(long done, unsigned long long first, FILE *out)
{
	int ch;

	fprintf(out, "paused after %ld sessions (first seq %llu, last seq"
	    " %llu)\n", done, first, audit_last_seq());
	fflush(out);
	while ((ch = getchar()) != EOF && ch != '\n')
		;
}

static int
test_events(const struct config *conf, long sessions, long pause_every,
    FILE *out)
{
	unsigned long long first = 0;
	static const enum audit_kind kinds[] = { AUDIT_AUTH_SUCCESS,
	    AUDIT_SESSION_START, AUDIT_COMMAND, AUDIT_SESSION_END };
	char sid[64];
	long i;
	size_t k;

	/* One line per event on stderr would drown the summary. */
	log_init("hvbastion", 1, LOG_LEVEL_ERROR);
	if (audit_configure(conf, "hvbastion") < 0)
		return 1;
	for (i = 0; i < sessions; i++) {
		snprintf(sid, sizeof(sid), "test-%ld", i + 1);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			struct audit_event ev;

			memset(&ev, 0, sizeof(ev));
			ev.kind = kinds[k];
			ev.person = "hvbastion-test";
			ev.source_addr = "127.0.0.1";
			ev.target = "test";
			ev.action = "test";
			ev.outcome = "success";
			ev.session_id = sid;
			ev.detail = "hvbastion audit test: not a real session";
			if (audit_emit(&ev) < 0) {
				fprintf(stderr, "hvbastion: audit test: event"
				    " %ld of session %ld not recorded\n",
				    (long)k + 1, i + 1);
				return 1;
			}
			if (first == 0)
				first = audit_last_seq();
		}
		if (pause_every > 0 && (i + 1) % pause_every == 0 &&
		    i + 1 < sessions)
			test_pause(i + 1, first, out);
	}
	fprintf(out, "%ld test sessions recorded (%ld events, last seq"
	    " %llu)\n", sessions, sessions * 4, audit_last_seq());
	return 0;
}

int
audit_admin_main(const struct config *conf, int argc, char *argv[],
    FILE *out)
{
	if (argc >= 1 && strcmp(argv[0], "status") == 0) {
		if (argc == 1)
			return status(conf, 0, out);
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			return status(conf, 1, out);
	} else if (argc == 1 && strcmp(argv[0], "archive") == 0) {
		return archive(conf, out);
	} else if (argc >= 1 && strcmp(argv[0], "test") == 0) {
		long n = 1, pause = 0, *v;
		char *end;
		int i;

		for (i = 1; i < argc; i += 2) {
			if (strcmp(argv[i], "--sessions") == 0)
				v = &n;
			else if (strcmp(argv[i], "--pause-every") == 0)
				v = &pause;
			else
				v = NULL;
			if (v == NULL || i + 1 >= argc) {
				usage();
				return 2;
			}
			errno = 0;
			*v = strtol(argv[i + 1], &end, 10);
			if (errno != 0 || end == argv[i + 1] || *end != '\0' ||
			    *v < 1 || *v > TEST_SESSIONS_MAX) {
				usage();
				return 2;
			}
		}
		return test_events(conf, n, pause, out);
	}
	usage();
	return 2;
}

/* The chain being checked, across the archive's segments and on into the
 * journal. */
struct jcheck {
	uint64_t	events, seq, first;
	char		prev[CHAIN_HEX_LEN + 1];
	int		bad;
	char		*line;
};

/* The lines of f (a segment, or the journal's live part) against the
 * chain so far; what names f in the reports. */
static void
check_lines(struct jcheck *jc, FILE *f, const char *what, FILE *out)
{
	unsigned char h[CHAIN_HASH_LEN];
	unsigned int hl;
	uint64_t lineno = 0;

	while (fgets(jc->line, AUDIT_FMT_LINE_MAX + 2, f) != NULL) {
		size_t n = strlen(jc->line);
		json_t *o, *v;
		const char *p;

		lineno++;
		jc->events++;
		if (n == 0 || jc->line[n - 1] != '\n') {
			fprintf(out, "  %s line %llu: incomplete or too long\n",
			    what, (unsigned long long)lineno);
			jc->bad = 1;
			break;
		}
		o = json_loadb(jc->line, n - 1, JSON_REJECT_DUPLICATES, NULL);
		if (o == NULL || !json_is_integer(v = json_object_get(o,
		    "seq")) || (p = json_string_value(json_object_get(o,
		    "prev"))) == NULL) {
			fprintf(out, "  %s line %llu: not a journal record\n",
			    what, (unsigned long long)lineno);
			jc->bad = 1;
		} else {
			uint64_t s = (uint64_t)json_integer_value(v);

			if (strcmp(p, jc->prev) != 0) {
				fprintf(out, "  %s line %llu (seq %llu): chain"
				    " broken: the line before was changed,"
				    " removed or added\n", what,
				    (unsigned long long)lineno,
				    (unsigned long long)s);
				jc->bad = 1;
			}
			if (jc->events == 1)
				jc->first = s;
			else if (s != jc->seq + 1) {
				fprintf(out, "  %s line %llu: seq %llu after"
				    " %llu\n", what, (unsigned long long)lineno,
				    (unsigned long long)s,
				    (unsigned long long)jc->seq);
				jc->bad = 1;
			}
			jc->seq = s;
		}
		json_decref(o);
		EVP_Digest(jc->line, n, h, &hl, EVP_sha256(), NULL);
		chain_hex(h, sizeof(h), jc->prev);
	}
}

/* The plain name's length when name is a segment (compressed or not). */
static size_t
segment_plain_len(const char *name)
{
	size_t n = strlen(name), pl = strlen(AUDIT_ARCHIVE_PREFIX),
	    sl = strlen(AUDIT_ARCHIVE_SUFFIX), zl = strlen(REC_ZSTD_SUFFIX);

	if (n > zl && strcmp(name + n - zl, REC_ZSTD_SUFFIX) == 0)
		n -= zl;
	if (n > pl + sl && strncmp(name, AUDIT_ARCHIVE_PREFIX, pl) == 0 &&
	    strncmp(name + n - sl, AUDIT_ARCHIVE_SUFFIX, sl) == 0)
		return n;
	return 0;
}

static int
is_segment(const struct dirent *d)
{
	return segment_plain_len(d->d_name) > 0;
}

/* One segment, compressed or not (rec_zstd_open_read takes whichever is
 * there), against the chain. */
static void
check_segment(struct jcheck *jc, const char *adir, const char *name,
    size_t plain_len, FILE *out)
{
	char path[PATH_MAX * 2];
	int damaged = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%.*s", adir, (int)plain_len, name);
	if ((f = rec_zstd_open_read(path, &damaged)) == NULL) {
		fprintf(out, "  %s: %s\n", name, strerror(errno));
		jc->bad = 1;
		return;
	}
	if (damaged) {
		fprintf(out, "  %s: damaged (it does not decompress whole)\n",
		    name);
		jc->bad = 1;
	}
	check_lines(jc, f, name, out);
	fclose(f);
}

/* The archive's segments in order (their names sort by first seq; a
 * segment there both plain and compressed counts once), checked unless jc
 * is NULL.  Their number. */
static int
check_segments(struct jcheck *jc, const char *dir, FILE *out)
{
	char adir[PATH_MAX + 16];
	struct dirent **names = NULL;
	int n, i, segments = 0;

	snprintf(adir, sizeof(adir), "%s/%s", dir, AUDIT_ARCHIVE_SUBDIR);
	if ((n = scandir(adir, &names, is_segment, alphasort)) < 0)
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t pl = segment_plain_len(name);

		if (i == 0 || pl != segment_plain_len(names[i - 1]->d_name) ||
		    strncmp(name, names[i - 1]->d_name, pl) != 0) {
			if (jc != NULL)
				check_segment(jc, adir, name, pl, out);
			segments++;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return segments;
}

int
audit_admin_verify(const struct config *conf, FILE *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	unsigned char h[CHAIN_HASH_LEN];
	unsigned int hl;
	struct jcheck jc;
	uint64_t archived = 0;
	FILE *f;
	int lk, segments;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir,
	    AUDIT_SPOOL_SUBDIR);
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "hvbastion: %s: %s\n", path, strerror(errno));
		return errno == ENOENT ? 1 : 3;
	}
	memset(&jc, 0, sizeof(jc));
	if ((jc.line = malloc(AUDIT_FMT_LINE_MAX + 2)) == NULL) {
		fclose(f);
		return 1;
	}
	EVP_Digest(AUDIT_JOURNAL_SEED, strlen(AUDIT_JOURNAL_SEED), h, &hl,
	    EVP_sha256(), NULL);
	chain_hex(h, sizeof(h), jc.prev);
	/* No archiving while the chain is read across the two. */
	lk = audit_archive_lock(dir, 0);
	if (audit_archive_position(dir, &archived) < 0 ||
	    (segments = check_segments(&jc, dir, out)) < 0) {
		fprintf(out, "  the archive cannot be read\n");
		jc.bad = 1;
		segments = 0;
	}
	if (archived > 0 && segments == 0) {
		fprintf(out, "  the journal's first %llu bytes were archived,"
		    " and the archive has no segment\n",
		    (unsigned long long)archived);
		jc.bad = 1;
	}
	if (fseeko(f, (off_t)archived, SEEK_SET) == 0)
		check_lines(&jc, f, "journal", out);
	else
		jc.bad = 1;
	if (lk >= 0)
		close(lk);
	fclose(f);
	free(jc.line);
	if (jc.events > 0 && jc.first != 1) {
		fprintf(out, "  the journal starts at seq %llu, not 1\n",
		    (unsigned long long)jc.first);
		jc.bad = 1;
	}
	fprintf(out, "audit journal %s: %s (%llu events, %d archive segments,"
	    " last seq %llu, chain %s)\n", path, jc.bad ? "FAILED" : "OK",
	    (unsigned long long)jc.events, segments,
	    (unsigned long long)jc.seq, jc.prev);
	return jc.bad ? 1 : 0;
}
