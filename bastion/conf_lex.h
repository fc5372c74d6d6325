/*
 * conf_lex.h - tokenizer for hvbastion.conf.
 *
 * Words, "quoted strings" (escapes \" and \\ only), braces, and line ends;
 * '#' starts a comment.  Bounded: a token is at most CONF_LEX_TOKEN_MAX
 * bytes and a statement at most CONF_LEX_WORDS_MAX words.
 */
#ifndef HVB_CONF_LEX_H
#define HVB_CONF_LEX_H

#include <stddef.h>

#define CONF_LEX_TOKEN_MAX	4096
#define CONF_LEX_WORDS_MAX	32
#define CONF_LEX_FILE_MAX	(1024 * 1024)

enum conf_lex_end { CONF_END_LINE, CONF_END_OPEN, CONF_END_CLOSE,
	CONF_END_EOF };

struct conf_lex {
	const char	*text;
	size_t		 len, pos;
	int		 line;
};

struct conf_stmt {
	char		*words[CONF_LEX_WORDS_MAX];
	int		 quoted[CONF_LEX_WORDS_MAX];
	size_t		 nwords;
	int		 line;		/* line of the first word */
	enum conf_lex_end end;
};

void	conf_lex_init(struct conf_lex *, const char *text, size_t len);
/*
 * Reads the next statement: the words up to a line end, '{' or '}'.
 * Returns 0, or -1 with *err set to a static message (the statement is
 * then skipped to the end of its line).  Words must be released with
 * conf_stmt_clear().
 */
int	conf_lex_next(struct conf_lex *, struct conf_stmt *, const char **err);
void	conf_stmt_clear(struct conf_stmt *);

#endif
