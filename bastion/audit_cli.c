/*
 * audit_cli.c - the auditors' tools over RECDIR: "hvbastion sessions"
 * (list and search), "replay" (play a terminal recording) and "verify"
 * (hash chain and seal, recorder/chain.h).
 *
 * Everything in a recording is untrusted: names come from the people who
 * connected and terminal output from the targets.  Listings escape every
 * field (log_escape(), or JSON escapes with --json); text found by --grep
 * is shown with escape sequences removed; replay passes a terminal's
 * output on (that is what replaying is) but drops the sequences that make
 * the auditor's terminal answer, set the clipboard or take device control
 * strings, and C1 controls.
 *
 * Rights: the tools refuse to run unless the caller is root, the daemon's
 * user or a member of the auditor group (check_access()).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../recorder/cast_read.h"
#include "../recorder/chain.h"
#include "../recorder/json_text.h"
#include "../recorder/rec_zstd.h"
#include "../recorder/seal.h"
#include "audit_cli.h"
#include "config.h"
#include "config_recording.h"
#include "log.h"

#define EXIT_OK		0
#define EXIT_BAD	1
#define EXIT_USAGE	2
#define EXIT_DENIED	3

#define LINE_MAX_LEN	(1024 * 1024)	/* longest recording line read */
#define ID_MAX_LEN	80
#define ESC_LEN		1024
#define GREP_WIN	(64 * 1024)
#define SEEK_STEP	5.0

/* --- common --------------------------------------------------------------- */

static int
in_group(gid_t gid)
{
	gid_t groups[NGROUPS_MAX];
	int i, n;

	if (getegid() == gid)
		return 1;
	if ((n = getgroups(NGROUPS_MAX, groups)) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * Only auditors: root, the owner of the state directory (the daemon's
 * user), or a member of the auditor group (config_recording.h).  The file
 * modes (rec_file.h) are what actually keeps others out; this check makes
 * the refusal clear rather than a bare "permission denied".
 */
static int
check_access(const struct config *conf)
{
	uid_t me = geteuid();
	struct stat sb;
	char why[300], esc[ESC_LEN];
	gid_t gid;
	int rc = config_auditor_gid(conf, &gid, why, sizeof(why));
	DIR *d;

	if (!(me == 0 || (stat(conf->state_dir, &sb) == 0 &&
	    sb.st_uid == me) || (rc == 1 && in_group(gid)))) {
		if (rc == 1)
			fprintf(stderr, "hvbastion: sessions, replay and verify"
			    " are for auditors: root or members of group"
			    " %s\n", log_escape(esc, sizeof(esc),
			    conf->auditor_group != NULL ? conf->auditor_group :
			    CONFIG_AUDITOR_GROUP_DEFAULT));
		else
			fprintf(stderr, "hvbastion: sessions, replay and verify"
			    " are for auditors: root alone here (%s)\n",
			    rc < 0 ? log_escape(esc, sizeof(esc), why) :
			    "no group " CONFIG_AUDITOR_GROUP_DEFAULT ", no"
			    " auditor-group");
		return -1;
	}
	if (access(conf->recordings_dir, R_OK | X_OK) == 0 &&
	    (d = opendir(conf->recordings_dir)) != NULL) {
		closedir(d);
		return 0;
	}
	fprintf(stderr, "hvbastion: cannot read the recordings in %s: %s\n",
	    log_escape(esc, sizeof(esc), conf->recordings_dir),
	    strerror(errno));
	return -1;
}

/* Session ids and file names: what session_id.c makes, nothing else. */
static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > ID_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return 0;
	return s[0] != '-';
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct names {
	char	**v;
	size_t	  n;
};

static void
names_free(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	nm->v = NULL;
	nm->n = 0;
}

/* The directory's entries that start with prefix (may be "") and end with
 * suffix, sorted. */
static int
list_names(const char *dir, const char *prefix, const char *suffix,
    struct names *nm)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	memset(nm, 0, sizeof(*nm));
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char **tmp;

		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    !has_suffix(de->d_name, suffix))
			continue;
		if ((tmp = realloc(nm->v, (nm->n + 1) * sizeof(*tmp))) ==
		    NULL)
			break;
		nm->v = tmp;
		if ((nm->v[nm->n] = strdup(de->d_name)) != NULL)
			nm->n++;
	}
	closedir(d);
	if (nm->n > 0)
		qsort(nm->v, nm->n, sizeof(*nm->v), cmp_str);
	return 0;
}

/* The terminal recordings starting with prefix, compressed or not
 * (FILE.cast.zst counts as FILE.cast: rec_zstd.h), sorted, unique. */
static int
list_casts(const char *dir, const char *prefix, struct names *nm)
{
	struct names z;
	size_t i;

	if (list_names(dir, prefix, ".cast", nm) < 0)
		return -1;
	if (list_names(dir, prefix, ".cast" REC_ZSTD_SUFFIX, &z) < 0)
		return 0;
	for (i = 0; i < z.n; i++) {
		size_t n = strlen(z.v[i]) - strlen(REC_ZSTD_SUFFIX), j;
		char **tmp;
		int dup = 0;

		z.v[i][n] = '\0';
		for (j = 0; j < nm->n; j++)
			if (strcmp(nm->v[j], z.v[i]) == 0)
				dup = 1;
		if (dup || (tmp = realloc(nm->v, (nm->n + 1) *
		    sizeof(*tmp))) == NULL)
			continue;
		nm->v = tmp;
		nm->v[nm->n++] = z.v[i];
		z.v[i] = NULL;
	}
	names_free(&z);
	if (nm->n > 1)
		qsort(nm->v, nm->n, sizeof(*nm->v), cmp_str);
	return 0;
}

/*
 * Reads one line of at most LINE_MAX_LEN bytes.  Returns its length, 0 at
 * EOF, -1 for an overlong line (skipped).
 */
static ssize_t
read_line(FILE *f, char *buf)
{
	size_t n;
	int c;

	if (fgets(buf, LINE_MAX_LEN, f) == NULL)
		return 0;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		return (ssize_t)n;
	if (n < LINE_MAX_LEN - 1)
		return (ssize_t)n;	/* last line without a newline */
	while ((c = fgetc(f)) != EOF && c != '\n')
		;
	return -1;
}

/* --- terminal text filter ------------------------------------------------- */

/*
 * plain: strips every escape sequence and control but newline and tab
 * (for search and snippets).  Otherwise (replay): passes sequences on but
 * drops those that make a terminal answer (CSI ... c, n, t; OSC queries),
 * set the clipboard (OSC 52), or carry device control strings (DCS, SOS,
 * PM, APC), and the C1 controls.
 */
enum tf_state { TF_TEXT, TF_ESC, TF_CSI, TF_OSC, TF_STR, TF_STR_ESC,
	TF_OSC_ESC, TF_C2 };

struct term_filter {
	int		 plain;
	enum tf_state	 st;
	char		 seq[4096];
	size_t		 nseq;
	int		 overflow;
};

static void
tf_put(char **o, char c)
{
	*(*o)++ = c;
}

static void
tf_seq_add(struct term_filter *tf, char c)
{
	if (tf->nseq < sizeof(tf->seq))
		tf->seq[tf->nseq++] = c;
	else
		tf->overflow = 1;
}

static void
tf_seq_emit(struct term_filter *tf, char **o)
{
	if (!tf->plain && !tf->overflow) {
		memcpy(*o, tf->seq, tf->nseq);
		*o += tf->nseq;
	}
	tf->nseq = 0;
	tf->overflow = 0;
}

static void
tf_seq_drop(struct term_filter *tf)
{
	tf->nseq = 0;
	tf->overflow = 0;
}

/* out must hold len + sizeof(tf->seq) + 1 bytes.  Returns the length. */
static size_t
tf_run(struct term_filter *tf, const char *in, size_t len, char *out)
{
	char *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		switch (tf->st) {
		case TF_TEXT:
			if (c == 0x1b) {
				tf_seq_add(tf, (char)c);
				tf->st = TF_ESC;
			} else if (c == 0xc2) {
				tf->st = TF_C2;	/* maybe a C1 control */
			} else if (c < 0x20 || c == 0x7f) {
				if (c == '\n' || c == '\t' || (!tf->plain &&
				    (c == '\r' || c == '\b' || c == 0x07)))
					tf_put(&o, (char)c);
			} else
				tf_put(&o, (char)c);
			break;
		case TF_C2:
			tf->st = TF_TEXT;
			if (c >= 0x80 && c <= 0x9f)
				break;		/* U+0080..U+009F dropped */
			tf_put(&o, (char)0xc2);
			i--;
			break;
		case TF_ESC:
			tf_seq_add(tf, (char)c);
			if (c == '[')
				tf->st = TF_CSI;
			else if (c == ']')
				tf->st = TF_OSC;
			else if (c == 'P' || c == 'X' || c == '^' ||
			    c == '_') {
				tf_seq_drop(tf);
				tf->st = TF_STR;
			} else if (c >= 0x20 && c < 0x30) {
				/* intermediate: ESC ( B and the like */
			} else {
				tf_seq_emit(tf, &o);
				tf->st = TF_TEXT;
			}
			break;
		case TF_CSI:
			tf_seq_add(tf, (char)c);
			if (c >= 0x40 && c <= 0x7e) {
				if (c == 'c' || c == 'n' || c == 't')
					tf_seq_drop(tf);
				else
					tf_seq_emit(tf, &o);
				tf->st = TF_TEXT;
			} else if (c < 0x20 || c > 0x7e) {
				tf_seq_drop(tf);
				tf->st = TF_TEXT;
			}
			break;
		case TF_OSC:
			if (c == 0x07 || c == 0x1b) {
				int bad = tf->nseq >= 4 &&
				    strncmp(tf->seq + 2, "52", 2) == 0;

				if (memchr(tf->seq, '?', tf->nseq) != NULL)
					bad = 1;
				if (c == 0x1b) {
					tf_seq_add(tf, (char)c);
					tf->st = bad ? TF_STR_ESC : TF_OSC_ESC;
					if (bad)
						tf_seq_drop(tf);
					break;
				}
				tf_seq_add(tf, (char)c);
				if (bad)
					tf_seq_drop(tf);
				else
					tf_seq_emit(tf, &o);
				tf->st = TF_TEXT;
			} else
				tf_seq_add(tf, (char)c);
			break;
		case TF_OSC_ESC:
			tf_seq_add(tf, (char)c);
			tf_seq_emit(tf, &o);
			tf->st = TF_TEXT;
			break;
		case TF_STR:
			if (c == 0x1b)
				tf->st = TF_STR_ESC;
			else if (c == 0x07)
				tf->st = TF_TEXT;
			break;
		case TF_STR_ESC:
			tf->st = c == '\\' ? TF_TEXT : TF_STR;
			break;
		}
	}
	return (size_t)(o - out);
}

/* --- asciicast reading ---------------------------------------------------- */

typedef int (*cast_cb)(void *arg, const struct cast_event *);

/* Calls cb for each event, with its exact bytes (cast_read.h); returns -1
 * if the file cannot be read or its header is not asciicast v2, else 0
 * (bad lines are skipped). */
static int
cast_foreach(const char *path, cast_cb cb, void *arg, json_t **header)
{
	struct cast_reader *r = cast_reader_open(path);
	struct cast_event ev;

	if (r == NULL)
		return -1;
	if (header != NULL)
		*header = json_incref(cast_reader_header(r));
	while (cast_reader_next(r, &ev) == 1)
		if (cb(arg, &ev) < 0)
			break;
	cast_reader_close(r);
	return 0;
}

/* --- sessions ------------------------------------------------------------- */

struct filter {
	const char	*person, *target, *grep;
	time_t		 since, until;	/* 0: none */
	int		 json;
};

static void
add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	if (s == NULL)
		return;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

/* "2026-11-22T15:30:59.123456Z" to seconds since the epoch. */
static double
parse_time(const char *s)
{
	struct tm tm;
	const char *p;
	double frac = 0;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		frac = strtod(p, NULL);
	return (double)timegm(&tm) + frac;
}

/* --since/--until: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or with a T;
 * UTC.  A date alone given to --until means the end of that day. */
static int
parse_date_arg(const char *s, int until, time_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
	    "%Y-%m-%d" };
	struct tm tm;
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, fmts[i], &tm);
		if (p != NULL && (*p == '\0' || strcmp(p, "Z") == 0)) {
			*out = timegm(&tm);
			if (until && i == 4)
				*out += 86400;
			return 0;
		}
	}
	return -1;
}

/* Reads ID.jsonl into a summary object; NULL if it cannot be read. */
static json_t *
session_summary(const char *dir, const char *id)
{
	char path[PATH_MAX], *line = NULL;
	FILE *f;
	json_t *row = NULL, *targets, *logins, *kinds, *casts, *commands;
	const char *start = NULL, *last = NULL;
	char startbuf[40] = "", lastbuf[40] = "";
	int logout = 0, allowed = 0, denied = 0, channels = 0;
	char outcome[32] = "completed";
	double t0, t1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, id);
	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if ((line = malloc(LINE_MAX_LEN)) == NULL)
		goto out;
	row = json_pack("{s:s, s:n, s:n, s:[], s:[], s:[], s:[], s:[]}",
	    "id", id, "person", "source", "targets", "logins", "kinds",
	    "recordings", "commands");
	if (row == NULL)
		goto out;
	targets = json_object_get(row, "targets");
	logins = json_object_get(row, "logins");
	kinds = json_object_get(row, "kinds");
	casts = json_object_get(row, "recordings");
	commands = json_object_get(row, "commands");
	while ((n = read_line(f, line)) != 0) {
		json_t *ev;
		const char *what, *tm;

		if (n < 0 || (ev = json_loadb(line, (size_t)n, 0, NULL)) ==
		    NULL)
			continue;
		what = json_string_value(json_object_get(ev, "event"));
		if ((tm = json_string_value(json_object_get(ev, "time"))) !=
		    NULL) {
			if (startbuf[0] == '\0')
				snprintf(startbuf, sizeof(startbuf), "%s", tm);
			snprintf(lastbuf, sizeof(lastbuf), "%s", tm);
		}
		if (what == NULL)
			what = "";
		if (strcmp(what, "login") == 0) {
			json_object_set(row, "person",
			    json_object_get(ev, "user"));
			json_object_set(row, "source",
			    json_object_get(ev, "source"));
		} else if (strcmp(what, "decision") == 0) {
			const char *dec = json_string_value(
			    json_object_get(ev, "decision"));

			add_unique(targets, json_string_value(
			    json_object_get(ev, "target")));
			add_unique(logins, json_string_value(
			    json_object_get(ev, "login")));
			add_unique(kinds, json_string_value(
			    json_object_get(ev, "kind")));
			if (dec != NULL && strcmp(dec, "allow") == 0)
				allowed++;
			else
				denied++;
		} else if (strcmp(what, "channel_start") == 0) {
			json_int_t ch = json_integer_value(
			    json_object_get(ev, "channel"));
			char cast[ID_MAX_LEN + 32];
			const char *rec;

			channels++;
			rec = json_string_value(json_object_get(ev,
			    "recording"));
			/* The file the daemon named, if it is this session's;
			 * older logs: a terminal's name by convention. */
			if (rec != NULL) {
				if (strncmp(rec, id, strlen(id)) == 0 &&
				    strncmp(rec + strlen(id), "-c", 2) == 0 &&
				    has_suffix(rec, ".cast") &&
				    strlen(rec) < ID_MAX_LEN + 16 &&
				    strchr(rec, '/') == NULL)
					add_unique(casts, rec);
			} else if (json_is_true(json_object_get(ev, "pty"))) {
				snprintf(cast, sizeof(cast), "%s-c%lld.cast",
				    id, (long long)ch);
				add_unique(casts, cast);
			}
			if (json_is_string(json_object_get(ev, "command")))
				add_unique(commands, json_string_value(
				    json_object_get(ev, "command")));
		} else if (strcmp(what, "channel_end") == 0) {
			const char *oc = json_string_value(
			    json_object_get(ev, "outcome"));

			if (oc != NULL && strcmp(oc, "completed") != 0)
				snprintf(outcome, sizeof(outcome), "%.31s",
				    oc);
		} else if (strcmp(what, "logout") == 0)
			logout = 1;
		json_decref(ev);
	}
	start = startbuf[0] ? startbuf : NULL;
	last = lastbuf[0] ? lastbuf : NULL;
	if (!logout)
		snprintf(outcome, sizeof(outcome), "unfinished");
	else if (denied > 0 && allowed == 0)
		snprintf(outcome, sizeof(outcome), "denied");
	else if (channels == 0)
		snprintf(outcome, sizeof(outcome), "no-channel");
	json_object_set_new(row, "start", start ? json_string(start) :
	    json_null());
	json_object_set_new(row, "end", logout && last ? json_string(last) :
	    json_null());
	t0 = parse_time(start);
	t1 = parse_time(last);
	json_object_set_new(row, "duration", t0 >= 0 && t1 >= t0 ?
	    json_real(t1 - t0) : json_null());
	json_object_set_new(row, "channels", json_integer(channels));
	json_object_set_new(row, "outcome", json_string(outcome));
out:
	free(line);
	fclose(f);
	return row;
}

struct grep_state {
	const char		*needle;
	size_t			 nlen;
	struct term_filter	 tf;
	char			*win;	/* plain text, the last GREP_WIN */
	size_t			 nwin;
	char			*tmp;
	char			 snippet[256];
	int			 found;
};

static int
grep_event(void *arg, const struct cast_event *ev)
{
	struct grep_state *g = arg;
	size_t off = 0, n, from;
	const char *hit;

	if (ev->code != 'o' && ev->code != 'i' && ev->code != 'e')
		return 0;
	while (off < ev->len && !g->found) {
		size_t chunk = ev->len - off > 8192 ? 8192 : ev->len - off;

		n = tf_run(&g->tf, ev->data + off, chunk, g->tmp);
		off += chunk;
		if (g->nwin + n > GREP_WIN) {
			size_t keep = 4096;

			memmove(g->win, g->win + g->nwin - keep, keep);
			g->nwin = keep;
		}
		memcpy(g->win + g->nwin, g->tmp, n);
		from = g->nwin > g->nlen + 1 ? g->nwin - g->nlen - 1 : 0;
		g->nwin += n;
		hit = memmem(g->win + from, g->nwin - from, g->needle,
		    g->nlen);
		if (hit != NULL) {
			size_t h = (size_t)(hit - g->win);
			size_t s = h > 40 ? h - 40 : 0;
			size_t e = h + g->nlen + 40 < g->nwin ?
			    h + g->nlen + 40 : g->nwin;
			char raw[256];

			if (e - s >= sizeof(raw))
				e = s + sizeof(raw) - 1;
			memcpy(raw, g->win + s, e - s);
			raw[e - s] = '\0';
			for (n = 0; n < e - s; n++)
				if (raw[n] == '\n' || raw[n] == '\t' ||
				    raw[n] == '\0')
					raw[n] = ' ';
			snprintf(g->snippet, sizeof(g->snippet), "%s", raw);
			g->found = 1;
		}
	}
	return g->found ? -1 : 0;
}

/* Searches the session's terminals and commands; sets "match". */
static int
session_grep(const char *dir, json_t *row, const char *needle)
{
	struct grep_state g;
	json_t *v;
	size_t i;
	char path[PATH_MAX];

	json_array_foreach(json_object_get(row, "commands"), i, v)
		if (strstr(json_string_value(v), needle) != NULL) {
			json_object_set(row, "match", v);
			return 1;
		}
	memset(&g, 0, sizeof(g));
	g.needle = needle;
	g.nlen = strlen(needle);
	g.tf.plain = 1;
	g.win = malloc(GREP_WIN + 8192 + sizeof(g.tf.seq) + 16);
	g.tmp = malloc(8192 + sizeof(g.tf.seq) + 16);
	if (g.win == NULL || g.tmp == NULL)
		goto out;
	json_array_foreach(json_object_get(row, "recordings"), i, v) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		    json_string_value(v));
		memset(&g.tf, 0, sizeof(g.tf));
		g.tf.plain = 1;
		g.nwin = 0;
		cast_foreach(path, grep_event, &g, NULL);
		if (g.found)
			break;
	}
	if (g.found) {
		char *utf8 = json_text_utf8_copy(g.snippet,
		    strlen(g.snippet));

		json_object_set_new(row, "match", json_string(utf8 ? utf8 :
		    ""));
		free(utf8);
	}
out:
	free(g.win);
	free(g.tmp);
	return g.found;
}

static int
matches(const struct filter *fl, const char *dir, json_t *row)
{
	double start = parse_time(json_string_value(json_object_get(row,
	    "start")));
	json_t *v;
	size_t i;
	int hit;

	if (fl->person != NULL && (json_string_value(json_object_get(row,
	    "person")) == NULL || strcmp(fl->person, json_string_value(
	    json_object_get(row, "person"))) != 0))
		return 0;
	if (fl->target != NULL) {
		hit = 0;
		json_array_foreach(json_object_get(row, "targets"), i, v)
			if (strcmp(json_string_value(v), fl->target) == 0)
				hit = 1;
		if (!hit)
			return 0;
	}
	if (fl->since != 0 && (start < 0 || start < (double)fl->since))
		return 0;
	if (fl->until != 0 && (start < 0 || start >= (double)fl->until))
		return 0;
	if (fl->grep != NULL && !session_grep(dir, row, fl->grep))
		return 0;
	return 1;
}

static const char *
joined(json_t *arr, char *buf, size_t len)
{
	char tmp[ESC_LEN];
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
		    json_string_value(v));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, len, "-");
	snprintf(tmp, sizeof(tmp), "%s", buf);
	log_escape(buf, len, tmp);
	return buf;
}

static const char *
field(json_t *row, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(row, key));

	return log_escape(buf, len, s != NULL ? s : "-");
}

static void
print_row(FILE *out, json_t *row)
{
	char id[ESC_LEN], person[ESC_LEN], targets[ESC_LEN], logins[ESC_LEN];
	char source[ESC_LEN], kinds[ESC_LEN], outcome[ESC_LEN], start[40];
	char dur[32], match[ESC_LEN];
	const char *st = json_string_value(json_object_get(row, "start"));
	json_t *d = json_object_get(row, "duration");

	if (st != NULL && strlen(st) >= 19)
		snprintf(start, sizeof(start), "%.10s %.8sZ", st, st + 11);
	else
		snprintf(start, sizeof(start), "-");
	if (json_is_number(d)) {
		long s = (long)json_number_value(d);

		if (s >= 3600)
			snprintf(dur, sizeof(dur), "%ldh%02ldm%02lds",
			    s / 3600, s / 60 % 60, s % 60);
		else if (s >= 60)
			snprintf(dur, sizeof(dur), "%ldm%02lds", s / 60,
			    s % 60);
		else
			snprintf(dur, sizeof(dur), "%lds", s);
	} else
		snprintf(dur, sizeof(dur), "-");
	fprintf(out, "%-26s %-10s %-12s %-10s %-15s %-20s %8s %-12s %s\n",
	    field(row, "id", id, sizeof(id)),
	    field(row, "person", person, sizeof(person)),
	    joined(json_object_get(row, "targets"), targets, sizeof(targets)),
	    joined(json_object_get(row, "logins"), logins, sizeof(logins)),
	    field(row, "source", source, sizeof(source)), start, dur,
	    joined(json_object_get(row, "kinds"), kinds, sizeof(kinds)),
	    field(row, "outcome", outcome, sizeof(outcome)));
	if (json_is_string(json_object_get(row, "match")))
		fprintf(out, "    match: %s\n",
		    field(row, "match", match, sizeof(match)));
}

static void
usage_sessions(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] sessions [--person P]"
	    " [--target T]\n"
	    "           [--since DATE] [--until DATE] [--grep TEXT]"
	    " [--json]\n"
	    "       DATE: YYYY-MM-DD or \"YYYY-MM-DD HH:MM[:SS]\" (UTC)\n");
}

int
audit_cli_sessions(const struct config *conf, int argc, char *argv[],
    FILE *out)
{
	struct filter fl;
	struct names nm;
	json_t *all;
	size_t i;
	int a;

	memset(&fl, 0, sizeof(fl));
	for (a = 0; a < argc; a++) {
		const char *opt = argv[a], *val = a + 1 < argc ? argv[a + 1] :
		    NULL;

		if (strcmp(opt, "--json") == 0) {
			fl.json = 1;
			continue;
		}
		if (val == NULL || strlen(val) > 255) {
			usage_sessions();
			return EXIT_USAGE;
		}
		a++;
		if (strcmp(opt, "--person") == 0)
			fl.person = val;
		else if (strcmp(opt, "--target") == 0)
			fl.target = val;
		else if (strcmp(opt, "--grep") == 0 && val[0] != '\0')
			fl.grep = val;
		else if (strcmp(opt, "--since") == 0 &&
		    parse_date_arg(val, 0, &fl.since) == 0)
			;
		else if (strcmp(opt, "--until") == 0 &&
		    parse_date_arg(val, 1, &fl.until) == 0)
			;
		else {
			usage_sessions();
			return EXIT_USAGE;
		}
	}
	if (check_access(conf) < 0)
		return EXIT_DENIED;
	if (list_names(conf->recordings_dir, "", ".jsonl", &nm) < 0 ||
	    (all = json_array()) == NULL) {
		names_free(&nm);
		return EXIT_BAD;
	}
	if (!fl.json)
		fprintf(out, "%-26s %-10s %-12s %-10s %-15s %-20s %8s %-12s"
		    " %s\n", "ID", "PERSON", "TARGET", "LOGIN", "SOURCE",
		    "START", "DURATION", "KINDS", "OUTCOME");
	for (i = 0; i < nm.n; i++) {
		char id[ID_MAX_LEN + 8];
		json_t *row;

		snprintf(id, sizeof(id), "%.*s",
		    (int)(strlen(nm.v[i]) - strlen(".jsonl")), nm.v[i]);
		if (!valid_name(id) ||
		    (row = session_summary(conf->recordings_dir, id)) == NULL)
			continue;
		if (!matches(&fl, conf->recordings_dir, row)) {
			json_decref(row);
			continue;
		}
		json_object_del(row, "commands");
		if (fl.json)
			json_array_append_new(all, row);
		else {
			print_row(out, row);
			json_decref(row);
		}
	}
	if (fl.json) {
		json_dumpf(all, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
	}
	json_decref(all);
	names_free(&nm);
	return EXIT_OK;
}

/* --- verify --------------------------------------------------------------- */

struct vctx {
	FILE	*out;
	int	 count;
};

static void
vreport(void *arg, const char *msg)
{
	struct vctx *v = arg;
	char esc[ESC_LEN];

	fprintf(v->out, "  %s\n", log_escape(esc, sizeof(esc), msg));
	v->count++;
}

static enum chain_verdict
worse(enum chain_verdict a, enum chain_verdict b)
{
	return a > b ? a : b;
}

static enum chain_verdict
verify_file(const char *dir, const char *name, const unsigned char *key,
    FILE *out)
{
	char path[PATH_MAX];
	struct vctx v = { out, 0 };
	enum chain_verdict r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = chain_verify(path, key, key ? SEAL_KEY_LEN : 0, vreport, &v);
	if (r == CHAIN_OK)
		fprintf(out, "  %s: OK (whole, sealed)\n", name);
	return r;
}

static int
in_names(const struct names *nm, const char *s)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], s) == 0)
			return 1;
	return 0;
}

static enum chain_verdict
verify_session(const struct config *conf, const char *id,
    const unsigned char *key, FILE *out)
{
	const char *dir = conf->recordings_dir;
	char prefix[ID_MAX_LEN + 8], name[ID_MAX_LEN + 32];
	struct names casts, chains;
	enum chain_verdict r = CHAIN_OK;
	json_t *row, *v;
	size_t i;
	int nfiles = 0;

	snprintf(prefix, sizeof(prefix), "%s-c", id);
	list_casts(dir, prefix, &casts);
	list_names(dir, id, CHAIN_SUFFIX, &chains);
	fprintf(out, "%s:\n", id);
	snprintf(name, sizeof(name), "%s.jsonl", id);
	r = worse(r, verify_file(dir, name, key, out));
	nfiles++;
	for (i = 0; i < casts.n; i++) {
		r = worse(r, verify_file(dir, casts.v[i], key, out));
		nfiles++;
	}
	/* Recordings the log names, or whose chain is left, must exist. */
	if ((row = session_summary(dir, id)) != NULL) {
		json_array_foreach(json_object_get(row, "recordings"), i, v)
			if (!in_names(&casts, json_string_value(v))) {
				fprintf(out, "  %s: missing (the session log"
				    " records a terminal channel)\n",
				    json_string_value(v));
				r = CHAIN_BAD;
			}
		json_decref(row);
	}
	for (i = 0; i < chains.n; i++) {
		size_t n = strlen(chains.v[i]) - strlen(CHAIN_SUFFIX);

		snprintf(name, sizeof(name), "%.*s", (int)n, chains.v[i]);
		if (has_suffix(name, ".cast") && !in_names(&casts, name)) {
			fprintf(out, "  %s: missing (its chain file is"
			    " there)\n", name);
			r = CHAIN_BAD;
		}
	}
	fprintf(out, "%s: %s (%d file%s)\n", id, r == CHAIN_OK ? "OK" :
	    r == CHAIN_UNFINISHED ? "UNFINISHED" : "FAILED", nfiles,
	    nfiles == 1 ? "" : "s");
	names_free(&casts);
	names_free(&chains);
	return r;
}

int
audit_cli_verify(const struct config *conf, int argc, char *argv[],
    FILE *out)
{
	unsigned char key[SEAL_KEY_LEN];
	char msg[512], esc[ESC_LEN];
	struct names ids;
	enum chain_verdict r = CHAIN_OK;
	const unsigned char *k = key;
	int all = argc == 1 && strcmp(argv[0], "--all") == 0;
	size_t i;

	memset(&ids, 0, sizeof(ids));
	if (argc != 1 || (!all && !valid_name(argv[0]))) {
		fprintf(stderr, "usage: hvbastion [-f file] verify ID|--all\n");
		return EXIT_USAGE;
	}
	if (check_access(conf) < 0)
		return EXIT_DENIED;
	if (seal_key_load(conf->state_dir, 0, key, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "hvbastion: %s: seals cannot be checked\n",
		    log_escape(esc, sizeof(esc), msg));
		k = NULL;
	}
	if (all) {
		struct names files;
		int pass;

		for (pass = 0; pass < 2; pass++) {
		list_names(conf->recordings_dir, "", pass ? ".jsonl" :
		    CHAIN_SUFFIX, &files);
		for (i = 0; i < files.n; i++) {
			char id[ID_MAX_LEN + 1];
			char *dash = strstr(files.v[i], "Z-");
			size_t n;

			/* The id: up to the first '.' or "-c" after it. */
			if (dash == NULL)
				continue;
			n = strcspn(dash + 2, ".-") + (size_t)(dash + 2 -
			    files.v[i]);
			if (n > ID_MAX_LEN)
				continue;
			snprintf(id, sizeof(id), "%.*s", (int)n, files.v[i]);
			if (ids.n > 0 && strcmp(ids.v[ids.n - 1], id) == 0)
				continue;
			if (!valid_name(id))
				continue;
			{
				char **tmp = realloc(ids.v, (ids.n + 1) *
				    sizeof(*tmp));

				if (tmp == NULL)
					break;
				ids.v = tmp;
				if ((ids.v[ids.n] = strdup(id)) != NULL)
					ids.n++;
			}
		}
		names_free(&files);
		}
		if (ids.n > 1)
			qsort(ids.v, ids.n, sizeof(*ids.v), cmp_str);
		for (i = 0; i < ids.n; i++)
			if (i == 0 || strcmp(ids.v[i], ids.v[i - 1]) != 0)
				r = worse(r, verify_session(conf, ids.v[i],
				    k, out));
		if (ids.n == 0)
			fprintf(out, "no recordings\n");
		else
			fprintf(out, "all: %s\n", r == CHAIN_OK ? "OK" :
			    r == CHAIN_UNFINISHED ? "UNFINISHED" : "FAILED");
		names_free(&ids);
	} else
		r = verify_session(conf, argv[0], k, out);
	explicit_bzero(key, sizeof(key));
	return r == CHAIN_OK ? EXIT_OK : EXIT_BAD;
}

/* --- replay --------------------------------------------------------------- */

#define CONTEXT_BYTES	(256 * 1024)	/* output replayed before a seek */
#define PROGRESS_MS	250

static void
emit(FILE *out, struct term_filter *tf, int filter, char *buf,
    const char *data, size_t len)
{
	size_t off = 0;

	if (!filter) {
		fwrite(data, 1, len, out);
		return;
	}
	while (off < len) {
		size_t chunk = len - off > 8192 ? 8192 : len - off;
		size_t n = tf_run(tf, data + off, chunk, buf);

		fwrite(buf, 1, n, out);
		off += chunk;
	}
}

static volatile sig_atomic_t replay_stop;

static void
on_stop(int sig)
{
	(void)sig;
	replay_stop = 1;
}

/* Waits up to ms (-1: forever) for a key; returns the key (arrows: 'L',
 * 'R'), 0 on timeout, -1 when stopped. */
static int
wait_key(int tty, int ms)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	unsigned char k[8];
	ssize_t n;

	if (replay_stop)
		return -1;
	if (!tty) {
		if (ms > 0)
			poll(NULL, 0, ms);
		return replay_stop ? -1 : 0;
	}
	if (poll(&pfd, 1, ms) <= 0)
		return replay_stop ? -1 : 0;
	if ((n = read(STDIN_FILENO, k, sizeof(k))) <= 0)
		return 0;
	if (n >= 3 && k[0] == 0x1b && k[1] == '[')
		return k[2] == 'C' ? 'R' : k[2] == 'D' ? 'L' : 0;
	return k[0];
}

static void
usage_replay(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] replay ID[-cN]"
	    " [--speed X] [--idle-cap S] [--from TIME] [--cat]\n"
	    "       TIME: seconds, MM:SS or H:MM:SS from the start\n"
	    "       keys: space pause, + faster, - slower, n next command,\n"
	    "             right/left seek 5 s, q quit\n");
}

/* "90", "90.5", "1:30", "0:01:30" to seconds; -1 if malformed. */
static double
parse_offset(const char *s)
{
	double total = 0, v;
	char *end;
	int parts = 0;

	for (;;) {
		if (*s < '0' || *s > '9')
			return -1;
		v = strtod(s, &end);
		if (end == s || !(v >= 0 && v < 1e9))
			return -1;
		total = total * 60 + v;
		if (++parts > 3)
			return -1;
		if (*end == '\0')
			return total;
		if (*end != ':' || memchr(s, '.', (size_t)(end - s)) != NULL)
			return -1;
		s = end + 1;
	}
}

/* The cast to replay: ID-cN, or the session's first recording. */
static int
resolve_cast(const char *dir, const char *arg, char *path, size_t len)
{
	char name[ID_MAX_LEN + 16];
	struct names nm;

	snprintf(name, sizeof(name), "%s", arg);
	if (has_suffix(name, ".cast"))
		name[strlen(name) - 5] = '\0';
	if (!valid_name(name))
		return -1;
	snprintf(path, len, "%s/%s.cast", dir, name);
	if (access(path, R_OK) == 0)
		return 0;
	snprintf(path, len, "%s/%s.cast" REC_ZSTD_SUFFIX, dir, name);
	if (access(path, R_OK) == 0) {
		snprintf(path, len, "%s/%s.cast", dir, name);
		return 0;
	}
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "-c");
	if (list_casts(dir, name, &nm) < 0 || nm.n == 0) {
		names_free(&nm);
		return -1;
	}
	snprintf(path, len, "%s/%s", dir, nm.v[0]);
	names_free(&nm);
	return 0;
}

static void
clock_text(double t, char *buf, size_t len)
{
	long s = t > 0 ? (long)t : 0;

	if (s >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
		    s % 60);
	else
		snprintf(buf, len, "%02ld:%02ld", s / 60, s % 60);
}

/* --cat: every stream without timing; stderr and notes on stderr. */
static int
replay_cat(struct cast_reader *r, FILE *out, char *buf, double from)
{
	struct term_filter tf_out, tf_err;
	struct cast_event ev;
	char esc[ESC_LEN], note[300];
	int fout = isatty(fileno(out)), ferr = isatty(STDERR_FILENO), rc;

	memset(&tf_out, 0, sizeof(tf_out));
	memset(&tf_err, 0, sizeof(tf_err));
	if (from > 0 && cast_reader_seek(r, from) < 0)
		return -1;
	while ((rc = cast_reader_next(r, &ev)) == 1) {
		if (ev.code == 'o')
			emit(out, &tf_out, fout, buf, ev.data, ev.len);
		else if (ev.code == 'e')
			emit(stderr, &tf_err, ferr, buf, ev.data, ev.len);
		else if (ev.code == 'm') {
			snprintf(note, sizeof(note), "%.*s",
			    (int)(ev.len > 256 ? 256 : ev.len), ev.data);
			fflush(out);
			fprintf(stderr, "\nhvbastion: note at %.1f s: %s\n",
			    ev.t, log_escape(esc, sizeof(esc), note));
		}
	}
	fflush(out);
	return rc < 0 ? -1 : 0;
}

struct player {
	struct cast_reader	*r;
	FILE			*out;
	struct term_filter	 tf;
	char			*buf;
	int			 tty, rows, cols;
	double			 speed, idle, total, pos;
	int			 paused;
};

/* The progress line, on the terminal's last row (kept out of the
 * recording's scroll region). */
static void
progress(struct player *pl)
{
	char now[32], total[32], line[256];
	int n;

	if (!pl->tty || pl->rows < 2)
		return;
	clock_text(pl->pos, now, sizeof(now));
	clock_text(pl->total, total, sizeof(total));
	n = snprintf(line, sizeof(line), " replay %s / %s  speed x%g%s  "
	    "[space pause  +/- speed  arrows seek  n next command  q quit] ",
	    now, total, pl->speed, pl->paused ? "  PAUSED" : "");
	/* One row, never wrapped. */
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if (pl->cols > 1 && n > pl->cols - 1)
		n = pl->cols - 1;
	fprintf(pl->out, "\0337\033[%d;1H\033[0m\033[2K\033[7m%.*s\033[0m"
	    "\0338", pl->rows, n, line);
	fflush(pl->out);
}

/*
 * Goes to time t: clears the screen and replays, without delay, the
 * output of the CONTEXT_BYTES before it (enough to redraw a screen in
 * practice), then stops at the first event at t.
 */
static int
player_seek(struct player *pl, double t)
{
	struct cast_event ev;
	off_t at;
	int rc;

	if (t < 0)
		t = 0;
	if (cast_reader_seek(pl->r, t) < 0)
		return -1;
	rc = cast_reader_next(pl->r, &ev);
	if (rc < 0)
		return -1;
	/* Past the end: the last screen. */
	at = rc == 1 ? ev.off : cast_reader_size(pl->r);
	fputs("\033[0m\033[H\033[2J", pl->out);
	memset(&pl->tf, 0, sizeof(pl->tf));
	if (cast_reader_seek_offset(pl->r, at > CONTEXT_BYTES ?
	    at - CONTEXT_BYTES : 0) < 0)
		return -1;
	while ((rc = cast_reader_next(pl->r, &ev)) == 1 && ev.off < at)
		if (ev.code == 'o' || ev.code == 'e')
			emit(pl->out, &pl->tf, 1, pl->buf, ev.data, ev.len);
	if (rc < 0)
		return -1;
	pl->pos = t < pl->total ? t : pl->total;
	/* ev is the event at t: play it next. */
	return cast_reader_seek(pl->r, t);
}

static int
play(struct player *pl, double from)
{
	struct cast_event ev;
	double prev = from;
	int rc, next_cmd = 0;

	if (from > 0 && player_seek(pl, from) < 0)
		return -1;
	while (!replay_stop && (rc = cast_reader_next(pl->r, &ev)) == 1) {
		double delay = ev.t - prev, waited = 0;
		int k = 0, moved = 0;

		if (delay > pl->idle)
			delay = pl->idle;
		if (delay < 0 || next_cmd)
			delay = 0;
		/* Waits in steps so that the progress line moves. */
		while (!replay_stop) {
			double left = delay / pl->speed - waited;
			int ms = pl->paused ? PROGRESS_MS :
			    left > PROGRESS_MS / 1000.0 ? PROGRESS_MS :
			    (int)(left * 1000);

			if (!pl->paused && left < 0.001)
				break;
			k = wait_key(pl->tty, ms);
			if (k < 0)
				break;
			if (k == 0) {
				if (!pl->paused)
					waited += ms / 1000.0;
				progress(pl);
				continue;
			}
			if (k == ' ')
				pl->paused = !pl->paused;
			else if (k == '+' && pl->speed < 64)
				pl->speed *= 2;
			else if (k == '-' && pl->speed > 1.0 / 64)
				pl->speed /= 2;
			else if (k == 'q')
				replay_stop = 1;
			else if (k == 'n') {
				next_cmd = 1;
				pl->paused = 0;
				break;
			} else if (k == 'R' || k == 'L') {
				double to = pl->pos + (k == 'R' ? SEEK_STEP :
				    -SEEK_STEP);

				if (player_seek(pl, to) < 0)
					return -1;
				prev = pl->pos;
				moved = 1;
				pl->paused = 0;
				break;
			}
			progress(pl);
		}
		if (replay_stop)
			break;
		if (moved) {
			progress(pl);
			continue;	/* ev was before the jump */
		}
		prev = ev.t;
		pl->pos = ev.t;
		if (ev.code == 'i') {
			if (next_cmd && memchr(ev.data, '\r', ev.len) != NULL)
				next_cmd = 0;
			continue;
		}
		if (ev.code == 'o' || ev.code == 'e') {
			emit(pl->out, &pl->tf, 1, pl->buf, ev.data, ev.len);
			progress(pl);
		}
	}
	return replay_stop ? 0 : rc < 0 ? -1 : 0;
}

int
audit_cli_replay(const struct config *conf, int argc, char *argv[],
    FILE *out)
{
	const char *id = NULL;
	double speed = 1.0, idle = 2.0, from = 0;
	struct termios saved, raw;
	struct cast_reader *r = NULL;
	struct player pl;
	struct winsize ws;
	char path[PATH_MAX], *buf = NULL, esc[ESC_LEN], *end;
	int cat = 0, a, rc = EXIT_BAD, raw_set = 0;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--cat") == 0)
			cat = 1;
		else if ((strcmp(argv[a], "--speed") == 0 ||
		    strcmp(argv[a], "--idle-cap") == 0) && a + 1 < argc) {
			double v = strtod(argv[a + 1], &end);

			if (*end != '\0' || !(v > 0 && v <= 1000)) {
				usage_replay();
				return EXIT_USAGE;
			}
			if (argv[a][2] == 's')
				speed = v;
			else
				idle = v;
			a++;
		} else if (strcmp(argv[a], "--from") == 0 && a + 1 < argc) {
			if ((from = parse_offset(argv[++a])) < 0) {
				usage_replay();
				return EXIT_USAGE;
			}
		} else if (id == NULL && argv[a][0] != '-')
			id = argv[a];
		else {
			usage_replay();
			return EXIT_USAGE;
		}
	}
	if (id == NULL) {
		usage_replay();
		return EXIT_USAGE;
	}
	if (check_access(conf) < 0)
		return EXIT_DENIED;
	if (resolve_cast(conf->recordings_dir, id, path, sizeof(path)) < 0) {
		fprintf(stderr, "hvbastion: no recording for %s\n",
		    log_escape(esc, sizeof(esc), id));
		return EXIT_BAD;
	}
	if ((r = cast_reader_open(path)) == NULL) {
		fprintf(stderr, "hvbastion: %s: not an asciicast v2"
		    " recording\n", log_escape(esc, sizeof(esc), path));
		return EXIT_BAD;
	}
	if ((buf = malloc(8192 + sizeof(((struct term_filter *)0)->seq) +
	    16)) == NULL)
		goto out;
	if (cat) {
		if (replay_cat(r, out, buf, from) == 0)
			rc = EXIT_OK;
		goto out;
	}
	memset(&pl, 0, sizeof(pl));
	pl.r = r;
	pl.out = out;
	pl.buf = buf;
	pl.speed = speed;
	pl.idle = idle;
	pl.total = cast_reader_duration(r);
	pl.tty = isatty(STDIN_FILENO) && isatty(fileno(out));
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	if (pl.tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		raw_set = 1;
		if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2) {
			pl.rows = ws.ws_row;
			pl.cols = ws.ws_col;
		}
		/* The last row is the progress line's. */
		if (pl.rows > 2)
			fprintf(out, "\033[1;%dr\033[H\033[2J", pl.rows - 1);
		progress(&pl);
	} else
		pl.tty = 0;
	if (play(&pl, from) == 0)
		rc = EXIT_OK;
	if (pl.rows > 2)
		fprintf(out, "\033[0m\033[r\033[%d;1H\033[2K", pl.rows);
	fflush(out);
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out:
	cast_reader_close(r);
	free(buf);
	return rc;
}
