/*
 * menu.c - the target menu shown when a person names no target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy/policy.h"
#include "menu.h"

void
menu_init(struct menu *m, int echo)
{
	memset(m, 0, sizeof(*m));
	m->echo = echo;
}

enum { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };

/*
 * Swallows one byte of an escape sequence (ESC [ params final, ESC O x,
 * or ESC x); sequences may be split across reads, hence the state.
 */
static void
escape_byte(struct menu *m, unsigned char c)
{
	switch (m->esc) {
	case ESC_START:
		m->esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
		break;
	case ESC_CSI:
		if (c >= 0x40 && c <= 0x7e)
			m->esc = ESC_NONE;	/* the final byte */
		else if (c < 0x20 || c > 0x3f)
			m->esc = ESC_NONE;	/* malformed: give up */
		break;
	default:
		m->esc = ESC_NONE;
		break;
	}
}

enum menu_status
menu_feed(struct menu *m, const unsigned char *in, size_t len, size_t *used,
    char *echo, size_t *echolen)
{
	size_t i;

	*echolen = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (m->esc != ESC_NONE && c != 0x1b) {
			escape_byte(m, c);
			continue;
		}
		if (c == 0x1b) {
			m->esc = ESC_START;
			continue;
		}
		if (c == '\r' || c == '\n') {
			*used = i + 1;
			if (m->echo) {
				memcpy(echo + *echolen, "\r\n", 2);
				*echolen += 2;
			}
			m->line[m->len] = '\0';
			return MENU_LINE;
		}
		if (c == 0x03 || c == 0x04 || c == 0x1c) {
			*used = i + 1;
			return MENU_QUIT;	/* ^C, ^D, ^\ */
		}
		if (c == 0x7f || c == 0x08) {
			if (m->len > 0) {
				m->len--;
				if (m->echo) {
					memcpy(echo + *echolen, "\b \b", 3);
					*echolen += 3;
				}
			}
			continue;
		}
		if (c < 0x20 || c >= 0x7f || m->len >= MENU_LINE_MAX)
			continue;	/* escape sequences, overlong lines */
		m->line[m->len++] = (char)c;
		if (m->echo)
			echo[(*echolen)++] = (char)c;
	}
	*used = len;
	return MENU_MORE;
}

struct render_ctx {
	char		*buf;
	size_t		 len, off;
	const char	*nl;
	int		 n;
	int		 overflow;
};

static void
render_one(void *arg, const struct config_target *t)
{
	struct render_ctx *r = arg;
	int w;

	r->n++;
	w = snprintf(r->buf + r->off, r->len - r->off, "  %2d) %-20s %-10s"
	    " %s%s", r->n, t->name, config_target_kind_name(t->kind),
	    t->address, r->nl);
	if (w < 0 || (size_t)w >= r->len - r->off)
		r->overflow = 1;
	else
		r->off += (size_t)w;
}

int
menu_render(const struct config *conf, const char *person,
    const char *source, const char *nl, char *buf, size_t len, int *count)
{
	struct render_ctx r = { buf, len, 0, nl, 0, 0 };
	int w;

	w = snprintf(buf, len, "Targets available to %s:%s", person, nl);
	if (w < 0 || (size_t)w >= len)
		return -1;
	r.off = (size_t)w;
	policy_each_target(conf, person, source, render_one, &r);
	if (r.n == 0 && !r.overflow) {
		w = snprintf(buf + r.off, len - r.off, "  (none)%s", nl);
		if (w < 0 || (size_t)w >= len - r.off)
			r.overflow = 1;
		else
			r.off += (size_t)w;
	}
	*count = r.n;
	return r.overflow ? -1 : (int)r.off;
}

struct choose_ctx {
	const char			*name;
	long				 number;
	int				 n;
	const struct config_target	*found;
};

static void
choose_one(void *arg, const struct config_target *t)
{
	struct choose_ctx *c = arg;

	c->n++;
	if (c->found == NULL && (c->n == c->number ||
	    (c->name != NULL && strcmp(c->name, t->name) == 0)))
		c->found = t;
}

const struct config_target *
menu_choose(const struct config *conf, const char *person,
    const char *source, const char *line, int *quit)
{
	struct choose_ctx c = { NULL, -1, 0, NULL };
	const char *at;
	char *end;

	*quit = strcmp(line, "q") == 0 || strcmp(line, "quit") == 0 ||
	    strcmp(line, "exit") == 0;
	if (*quit || line[0] == '\0')
		return NULL;
	if (line[0] >= '0' && line[0] <= '9') {
		c.number = strtol(line, &end, 10);
		if (*end != '\0')
			return NULL;
	} else {
		at = strchr(line, '@');
		c.name = at != NULL ? at + 1 : line;
	}
	policy_each_target(conf, person, source, choose_one, &c);
	return c.found;
}
