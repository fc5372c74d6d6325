/*
 * channel_end.c - a libssh channel as one end of a pump (channel_end.h).
 */
#include <libssh/libssh.h>

#include "channel_end.h"

static int
end_read(void *ctx, void *buf, size_t len, enum pump_stream s)
{
	int n = ssh_channel_read_nonblocking(ctx, buf, (uint32_t)len,
	    s == PUMP_STDERR);

	if (n == SSH_EOF)
		return 0;
	return n < 0 ? -1 : n;
}

static int
end_write(void *ctx, const void *buf, size_t len, enum pump_stream s)
{
	int n = s == PUMP_STDERR ?
	    ssh_channel_write_stderr(ctx, buf, (uint32_t)len) :
	    ssh_channel_write(ctx, buf, (uint32_t)len);

	return n < 0 ? -1 : n;
}

static size_t
end_window(void *ctx)
{
	if (ssh_channel_is_closed(ctx))
		return 0;
	return ssh_channel_window_size(ctx);
}

void
channel_end_init(struct pump_end *end, ssh_channel ch)
{
	end->read = end_read;
	end->write = end_write;
	end->window = end_window;
	end->ctx = ch;
}
