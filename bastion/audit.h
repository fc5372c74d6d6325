/*
 * audit.h - the one audit API: every module that authenticates, opens,
 * decides, runs, transfers, calls the Proxmox API, locks out, enrols or
 * reloads reports it here, as one structured event.
 *
 * An event says who (person, role, source address and port), what
 * (action, target, login, detail), how it ended (outcome), why (the
 * deciding rule) and which session (the id that ties it to its recording).
 * The sinks (the daemon log, the local hash-chained journal, the spool that
 * the shipper delivers to the log store, libaudit: audit_spool.h,
 * audit_ship.h, audit_libaudit.h) add the UTC time with microseconds, the
 * bastion node name and a per-node sequence number.  The event schema is in
 * README.md ("The audit trail").
 *
 * Every string is untrusted: the sinks escape it.  Any field may be NULL.
 */
#ifndef HVB_AUDIT_H
#define HVB_AUDIT_H

#include <stddef.h>

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
	size_t		 detail_len;	/* 0: strlen(detail); else its bytes,
					 * NULs included (sftp paths) */
};

/* 1 if an outcome says something failed or was refused ("failure",
 * "denied", "locked", "target-refused", "recording-failed", ...). */
int		 audit_outcome_failed(const char *outcome);

/* Short stable name of a kind ("auth-success", ...). */
const char	*audit_kind_name(enum audit_kind);

/*
 * Records ev in every sink.  Returns 0, or a negative error code when the
 * event could not be made durable: the caller then fails closed (refuses
 * the login or ends the session).
 */
int		 audit_emit(const struct audit_event *ev);

struct config;
/*
 * Sets the sinks up from the configuration: STATE/audit (journal, and the
 * spool when a collector is configured), the node name, libaudit.  program
 * names the emitter ("hvbastiond", "hvbastion").  Until it is called only
 * the daemon log records events (unit tests, tools that do not audit).
 * Returns 0 or a negative error code.
 */
int		 audit_configure(const struct config *conf,
		    const char *program);
/* The number given to the last event this process recorded (0: none). */
unsigned long long audit_last_seq(void);

#endif
