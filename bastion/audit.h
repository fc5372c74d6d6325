/*
 * audit.h - the one audit API: every module that authenticates, opens,
 * decides, runs, transfers, calls the Proxmox API, locks out, enrols or
 * reloads reports it here, as one structured event.
 *
 * An event says who (person, role, source address and port), what
 * (action, target, login, detail), how it ended (outcome), why (the
 * deciding rule) and which session (the id that ties it to its recording).
 * The sinks (the daemon log today; the spool to the log store, libaudit and
 * the hash-chained journal: issue 6) add the UTC time with microseconds,
 * the bastion node name and a per-node sequence number.
 *
 * Every string is untrusted: the sinks escape it.  Any field may be NULL.
 */
#ifndef HVB_AUDIT_H
#define HVB_AUDIT_H

enum audit_kind {
	AUDIT_AUTH_SUCCESS,
	AUDIT_AUTH_FAILURE,
	AUDIT_SESSION_START,
	AUDIT_SESSION_END,
	AUDIT_CHANNEL,		/* a channel opened or closed */
	AUDIT_COMMAND,		/* a command run (exec) */
	AUDIT_FILE_TRANSFER,	/* sftp / scp file operation */
	AUDIT_API_CALL,		/* a Proxmox API call */
	AUDIT_POLICY_DENIAL,
	AUDIT_LOCKOUT,
	AUDIT_TOTP_ENROL,
	AUDIT_CONFIG_RELOAD,
};

struct audit_event {
	enum audit_kind	 kind;
	const char	*person;
	const char	*role;
	const char	*source_addr;
	int		 source_port;	/* 0: unknown */
	const char	*target;
	const char	*login;
	const char	*action;	/* "shell", "exec", "sftp-put", "GET /nodes" */
	const char	*outcome;	/* "success", "failure", "denied", ... */
	const char	*rule;		/* the deciding rule, file:line */
	const char	*session_id;
	const char	*recording_digest;
	const char	*detail;	/* command, path, reason */
};

/* Short stable name of a kind ("auth-success", ...). */
const char	*audit_kind_name(enum audit_kind);

/*
 * Records ev in every sink.  Returns 0, or a negative error code when the
 * event could not be made durable: the caller then fails closed (refuses
 * the login or ends the session).
 */
int		 audit_emit(const struct audit_event *ev);

#endif
