/*
 * api_token_cli.h - "hvbastion api-token create|list|revoke PERSON
 * [TOKENID]": personal API tokens for the Proxmox API front.
 */
#ifndef HVB_API_TOKEN_CLI_H
#define HVB_API_TOKEN_CLI_H

#include <stdio.h>

#include "config.h"

int	api_token_cli_main(const struct config *, int argc, char **argv,
	    FILE *out);

#endif
