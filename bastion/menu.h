/*
 * menu.h - the target menu shown when a person names no target.
 *
 * The client's terminal is in raw mode, so the bastion echoes what is typed
 * and handles backspace itself.  Only printable ASCII is kept, at most
 * MENU_LINE_MAX characters: the choice is a number or a target name.
 */
#ifndef HVB_MENU_H
#define HVB_MENU_H

#include <stddef.h>

#include "config.h"

#define MENU_LINE_MAX	64
#define MENU_PROMPT	"Choose a target (number or name, q to quit): "

enum menu_status { MENU_MORE, MENU_LINE, MENU_QUIT };

struct menu {
	char	line[MENU_LINE_MAX + 1];
	size_t	len;
	int	echo;
	int	esc;	/* inside a terminal escape sequence (arrow keys...) */
};

void	menu_init(struct menu *, int echo);
/*
 * Feeds typed bytes.  Stops after a complete line (MENU_LINE: the line is
 * in m->line) or an interrupt (MENU_QUIT); *used says how many bytes were
 * taken.  What must be echoed is appended to echo (room for 3 bytes per
 * input byte), its length in *echolen.
 */
enum menu_status menu_feed(struct menu *, const unsigned char *in, size_t len,
	    size_t *used, char *echo, size_t *echolen);

/*
 * Writes the list of targets the person may open a shell on now (from
 * source, the client's address; NULL: any), numbered from 1, with newline
 * (for a terminal: "\r\n").  Returns the length, or -1 if buf is too small.
 * *count receives the number of targets.
 */
int	menu_render(const struct config *, const char *person,
	    const char *source, const char *nl, char *buf, size_t len,
	    int *count);

/*
 * Resolves a typed choice: "3" or "pve1" (or "login@pve1").  Returns the
 * target, or NULL.  Sets *quit for "q" / "quit" / "exit".
 */
const struct config_target *menu_choose(const struct config *,
	    const char *person, const char *source, const char *line,
	    int *quit);

#endif
