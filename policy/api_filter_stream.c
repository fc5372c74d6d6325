/*
 * api_filter_stream.c - the list filter over the node's bytes
 * (api_filter_stream.h).
 *
 * The answer is read once with json_scan (which validates every byte it
 * skips, as jansson would); the members of each item that a decision
 * reads are decoded into a struct api_filter_item and decided by
 * api_filter_item_decide(), the same code as the tree filter's.  The
 * output is built while reading: the bytes before the first item, then
 * each kept item (its "pool" member cut out when it must go) joined by
 * single commas, then the bytes after the last item; it is only handed
 * out when the whole answer has been read without doubt.  It is never
 * longer than the input (every two items were at least one comma apart).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_filter.h"
#include "api_filter_stream.h"
#include "json_scan.h"

/* Longer member names are of no interest ("storage", "poolid"). */
#define KEY_BUF		16

struct stream {
	struct json_scan		 s;
	const struct api_filter_scope	*scope;
	const char			*body;
	char				*out;
	size_t				 outlen;
	size_t				 tail;		/* after the last item */
	int				 items;		/* seen */
	int				 kept;
	int				 changed;
};

static void
emit(struct stream *st, const char *b, size_t n)
{
	/* The output never outgrows the input (see the top). */
	memcpy(st->out + st->outlen, b, n);
	st->outlen += n;
}

/* Where the "pool" member sits in an item, to cut it out. */
struct pool_span {
	int	 seen;
	size_t	 key;		/* its key's '"' */
	size_t	 end;		/* after its value */
	int	 has_prev;
	size_t	 prev_end;	/* after the previous member's value */
	int	 has_next;
	size_t	 next_key;	/* the next member's key */
};

/* One item (an object) at pos: read, decided, copied or not. */
static int
item(struct stream *st, unsigned depth)
{
	struct api_filter_item it;
	struct pool_span ps;
	struct json_scan_value v;
	char strs[API_FILTER_STREAM_ITEM_STR], key[KEY_BUF];
	size_t start, used = 0, klen, kpos, prev_end = 0;
	int rc, c, idx, has_prev = 0;

	if (json_scan_peek(&st->s) != '{')
		return -ENOTSUP;	/* the tree filter drops it */
	start = st->s.pos;
	if (depth + 1 > st->s.max_depth)
		return -ENOTSUP;
	memset(&it, 0, sizeof(it));
	memset(&ps, 0, sizeof(ps));
	st->s.pos++;
	c = json_scan_peek(&st->s);
	while (c != '}') {
		if (c != '"')
			return -EBADMSG;
		kpos = st->s.pos;
		if ((rc = json_scan_string(&st->s, key, sizeof(key),
		    &klen)) < 0)
			return rc;
		idx = klen < sizeof(key) ? api_filter_key_index(key, klen) :
		    -1;
		if ((rc = json_scan_expect(&st->s, ':')) < 0)
			return rc;
		if (json_scan_peek(&st->s) < 0)
			return -EBADMSG;
		memset(&v, 0, sizeof(v));
		if (idx >= 0) {
			if (it.f[idx].kind != API_FILTER_ABSENT)
				return -ENOTSUP;	/* twice: no judging */
			v.str = strs + used;
			v.cap = sizeof(strs) - used;
		}
		if ((rc = json_scan_value(&st->s, depth + 1, &v)) < 0)
			return rc;
		if (idx >= 0) {
			if (v.type == JSON_SCAN_STRING) {
				if (v.len >= v.cap)
					return -ENOTSUP;
				it.f[idx].kind = API_FILTER_STRING;
				it.f[idx].str = v.str;
				used += v.len + 1;
			} else if (v.type == JSON_SCAN_INTEGER) {
				it.f[idx].kind = API_FILTER_INTEGER;
				it.f[idx].integer = v.integer;
			} else
				it.f[idx].kind = API_FILTER_OTHER;
		}
		if (ps.seen && !ps.has_next && idx != API_FILTER_POOL) {
			ps.has_next = 1;
			ps.next_key = kpos;
		}
		if (idx == API_FILTER_POOL) {
			ps.seen = 1;
			ps.key = kpos;
			ps.end = st->s.pos;
			ps.has_prev = has_prev;
			ps.prev_end = prev_end;
		}
		has_prev = 1;
		prev_end = st->s.pos;
		if ((c = json_scan_peek(&st->s)) == ',') {
			st->s.pos++;
			c = json_scan_peek(&st->s);
			if (c != '"')
				return -EBADMSG;
		} else if (c != '}')
			return -EBADMSG;
	}
	st->s.pos++;
	/* The bytes before the first item, once. */
	if (st->items++ == 0)
		emit(st, st->body, start);
	st->tail = st->s.pos;
	switch (api_filter_item_decide(st->scope, &it)) {
	case API_FILTER_KEEP:
		if (st->kept++ > 0)
			emit(st, ",", 1);
		emit(st, st->body + start, st->s.pos - start);
		break;
	case API_FILTER_KEEP_NOPOOL: {
		size_t cut0, cut1;

		if (!ps.seen)
			return -ENOTSUP;	/* cannot happen: a pool */
		if (ps.has_next)
			cut0 = ps.key, cut1 = ps.next_key;
		else if (ps.has_prev)
			cut0 = ps.prev_end, cut1 = ps.end;
		else
			cut0 = ps.key, cut1 = ps.end;
		if (st->kept++ > 0)
			emit(st, ",", 1);
		emit(st, st->body + start, cut0 - start);
		emit(st, st->body + cut1, st->s.pos - cut1);
		st->changed = 1;
		break;
	}
	default:
		st->changed = 1;
		break;
	}
	return 0;
}

/* The "data" array at pos (its '['), inside the answer object. */
static int
data_array(struct stream *st)
{
	int rc, c;

	if (json_scan_peek(&st->s) != '[')
		return -ENOTSUP;	/* not a list: the tree path says so */
	if (2 > st->s.max_depth)
		return -ENOTSUP;
	st->s.pos++;
	if ((c = json_scan_peek(&st->s)) == ']') {
		st->s.pos++;
		return 0;
	}
	for (;;) {
		if ((rc = item(st, 2)) < 0)
			return rc;
		if ((c = json_scan_peek(&st->s)) == ',') {
			st->s.pos++;
			continue;
		}
		if (c != ']')
			return -EBADMSG;
		st->s.pos++;
		return 0;
	}
}

/* The answer: an object with one "data" member, and nothing after it. */
static int
answer(struct stream *st)
{
	struct json_scan_value v;
	char key[KEY_BUF];
	size_t klen;
	int rc, c, data = 0;

	if (json_scan_peek(&st->s) != '{')
		return -ENOTSUP;	/* an array: no "data" in it */
	st->s.pos++;
	c = json_scan_peek(&st->s);
	while (c != '}') {
		if (c != '"')
			return -EBADMSG;
		if ((rc = json_scan_string(&st->s, key, sizeof(key),
		    &klen)) < 0)
			return rc;
		if ((rc = json_scan_expect(&st->s, ':')) < 0)
			return rc;
		if (json_scan_peek(&st->s) < 0)
			return -EBADMSG;
		if (klen == 4 && memcmp(key, "data", 4) == 0) {
			if (data++)
				return -ENOTSUP;	/* jansson: the last */
			rc = data_array(st);
		} else {
			memset(&v, 0, sizeof(v));
			rc = json_scan_value(&st->s, 1, &v);
		}
		if (rc < 0)
			return rc;
		if ((c = json_scan_peek(&st->s)) == ',') {
			st->s.pos++;
			if ((c = json_scan_peek(&st->s)) != '"')
				return -EBADMSG;
		} else if (c != '}')
			return -EBADMSG;
	}
	st->s.pos++;
	if (json_scan_peek(&st->s) >= 0)
		return -EBADMSG;	/* trailing bytes */
	return data ? 0 : -ENOTSUP;
}

int
api_filter_stream(const struct config *conf, const char *person,
    const char *source, time_t when, const struct api_acl *acl,
    const char *body, size_t len, char **out, size_t *outlen)
{
	struct api_filter_scope scope;
	struct stream st;
	int rc;

	if (out == NULL || outlen == NULL)
		return -EINVAL;
	*out = NULL;
	*outlen = 0;
	if ((rc = api_filter_scope_init(&scope, conf, person, source, when,
	    acl)) < 0)
		return rc;
	if (body == NULL || len == 0)
		return -EBADMSG;
	if (len > API_FILTER_STREAM_MAX)
		return -E2BIG;
	memset(&st, 0, sizeof(st));
	json_scan_init(&st.s, body, len, API_FILTER_STREAM_DEPTH);
	st.scope = &scope;
	st.body = body;
	if ((st.out = malloc(len)) == NULL)
		return -ENOMEM;
	if ((rc = answer(&st)) < 0 || !st.changed) {
		free(st.out);
		return rc < 0 ? rc : 0;
	}
	emit(&st, body + st.tail, len - st.tail);
	*out = st.out;
	*outlen = st.outlen;
	return 0;
}
