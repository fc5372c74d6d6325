/*
 * conf_lex.c - tokenizer for hvbastion.conf.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_lex.h"

void
conf_lex_init(struct conf_lex *lx, const char *text, size_t len)
{
	lx->text = text;
	lx->len = len;
	lx->pos = 0;
	lx->line = 1;
}

void
conf_stmt_clear(struct conf_stmt *st)
{
	size_t i;

	for (i = 0; i < st->nwords; i++)
		free(st->words[i]);
	memset(st, 0, sizeof(*st));
}

static int
is_word_char(int c)
{
	return isalnum(c) || strchr("._/:*@+-=,[]~%", c) != NULL;
}

static void
skip_to_line_end(struct conf_lex *lx)
{
	while (lx->pos < lx->len && lx->text[lx->pos] != '\n')
		lx->pos++;
}

/* Reads one token starting at lx->pos into buf; returns length or -1. */
static int
read_token(struct conf_lex *lx, char *buf, int *quoted, const char **err)
{
	size_t n = 0;

	*quoted = 0;
	if (lx->text[lx->pos] == '"') {
		*quoted = 1;
		lx->pos++;
		for (;;) {
			char c;

			if (lx->pos >= lx->len || lx->text[lx->pos] == '\n') {
				*err = "unterminated quoted string";
				return -1;
			}
			c = lx->text[lx->pos++];
			if (c == '"')
				break;
			if (c == '\\') {
				if (lx->pos >= lx->len ||
				    (lx->text[lx->pos] != '"' &&
				    lx->text[lx->pos] != '\\')) {
					*err = "invalid escape in quoted string"
					    " (only \\\" and \\\\)";
					return -1;
				}
				c = lx->text[lx->pos++];
			}
			if (c == '\0' || (unsigned char)c < 0x20) {
				*err = "control character in quoted string";
				return -1;
			}
			if (n + 1 >= CONF_LEX_TOKEN_MAX) {
				*err = "quoted string too long";
				return -1;
			}
			buf[n++] = c;
		}
	} else {
		while (lx->pos < lx->len &&
		    is_word_char((unsigned char)lx->text[lx->pos])) {
			if (n + 1 >= CONF_LEX_TOKEN_MAX) {
				*err = "word too long";
				return -1;
			}
			buf[n++] = lx->text[lx->pos++];
		}
		if (n == 0) {
			*err = "unexpected character";
			return -1;
		}
	}
	buf[n] = '\0';
	return (int)n;
}

int
conf_lex_next(struct conf_lex *lx, struct conf_stmt *st, const char **err)
{
	char *buf;

	memset(st, 0, sizeof(*st));
	buf = malloc(CONF_LEX_TOKEN_MAX);
	if (buf == NULL) {
		*err = "out of memory";
		return -1;
	}
	for (;;) {
		int c, quoted, n;

		if (lx->pos >= lx->len) {
			st->end = st->nwords ? CONF_END_LINE : CONF_END_EOF;
			break;
		}
		c = (unsigned char)lx->text[lx->pos];
		if (c == '#') {
			skip_to_line_end(lx);
			continue;
		}
		if (c == '\n') {
			lx->pos++;
			lx->line++;
			if (st->nwords == 0)
				continue;
			st->end = CONF_END_LINE;
			break;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			lx->pos++;
			continue;
		}
		if (c == '{' || c == '}') {
			lx->pos++;
			if (st->nwords == 0)
				st->line = lx->line;
			st->end = c == '{' ? CONF_END_OPEN : CONF_END_CLOSE;
			break;
		}
		if (st->nwords == 0)
			st->line = lx->line;
		n = read_token(lx, buf, &quoted, err);
		if (n < 0 || st->nwords >= CONF_LEX_WORDS_MAX) {
			if (n >= 0)
				*err = "too many words in one statement";
			if (lx->line == st->line)
				skip_to_line_end(lx);
			free(buf);
			return -1;
		}
		st->quoted[st->nwords] = quoted;
		st->words[st->nwords] = strdup(buf);
		if (st->words[st->nwords] == NULL) {
			*err = "out of memory";
			free(buf);
			return -1;
		}
		st->nwords++;
	}
	free(buf);
	return 0;
}
