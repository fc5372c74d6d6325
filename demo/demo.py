#!/usr/bin/python3
"""hvbastion demo: a bastion and two targets on loopback.

    demo/demo.py start     build the test bed under demo/run/ and start it
    demo/demo.py stop      stop everything the demo started
    demo/demo.py status    show what is running

Targets are real OpenSSH sshd: pve1 (hypervisor node, 127.0.0.11:22) and
vm101 (guest, 127.0.0.12:22). The bastion listens on 127.0.0.1:2222. The
policy keeps the two administration teams apart (ANSSI R7/R8): alice holds
the role hv-admins (hypervisor side: pve1, as root), bob guest-admins (guest
side: vm101, as admin), carol auditors (audit side: no target). Everything
is written under demo/run/ except the local accounts admin, hvbpve and
hvbguest and /run/sshd. pve1's sshd lets in root with the bastion's
credential key only (demo/run/targets/pve1/authorized_keys/root).

The daemons run in their own sessions and survive this script; their pids
are in demo/run/*.pid. `start` stops a previous demo first. Keys and the
bastion's host key are kept across restarts (remove demo/run/ to start
afresh).

Environment: HVB_BIN_DIR (default REPO/build) says where hvbastiond is.
"""

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "lib"))

import rsyslog  # noqa: E402
import testbed  # noqa: E402

RUN = HERE / "run"
BASTION = ("127.0.0.1", 2222)
TARGET_ADDRESSES = {"pve1": "127.0.0.11", "vm101": "127.0.0.12"}

LOGSTORE = ("127.0.0.13", 2514)


class LogStore:
    """The demo's log store: rsyslog on loopback receiving the audit trail
    over RELP and TLS (imrelp; every event acknowledged) with a demo CA
    made by openssl, writing what it receives to
    demo/run/rsyslog/logstore.log (HVB_LOGSTORE_FILE)."""

    def __init__(self, run=RUN, address=LOGSTORE[0], port=LOGSTORE[1]):
        self.run = Path(run)
        self.address = address
        self.port = port
        self.ca_dir = self.run / "logstore-ca"
        self.rs = None

    def config_lines(self):
        """The bastion's audit-* lines (the CA is made by start())."""
        return "\n".join([
            "audit-collector %s port %d tls yes" % (testbed.q(self.address),
                                                    self.port),
            "audit-ca %s" % testbed.q(self.ca_dir / "ca.pem"),
            "audit-protocol relp",
            "audit-node-name \"hvbastion-demo\""])

    def prepare(self):
        """The demo CA and rsyslog's configuration (before the bastion
        starts: its configuration names the CA file)."""
        ca = rsyslog.DemoCA(self.ca_dir, self.address)
        self.rs = rsyslog.Rsyslog(self.run, self.address, self.port,
                                  tls=True, ca=ca, relp=True)

    def start(self):
        if self.rs is None:
            self.prepare()
        self.rs.start()

    def stop(self):
        if self.rs is not None and self.rs.proc is not None:
            self.rs.stop()
            return
        # another process started it: its pid file, if it is still ours
        pid_file = self.run / "rsyslog" / "rsyslogd.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if testbed.pid_alive(pid) and str(self.run) in \
                testbed._cmdline(pid):
            testbed.kill_tree(pid)

    def env(self):
        return {"HVB_LOGSTORE_FILE": str(self.run / "rsyslog" /
                                         "logstore.log")}


# Services beyond the SSH test bed: objects with start(), stop() and
# env() -> {KEY: value}.
EXTRA_SERVICES = [LogStore()]


# The demo logs in as the estate's admins would (issue 4): root on the
# hypervisor node, admin on the guest.  The tests use the unprivileged
# accounts hvbpve/hvbguest instead (testbed.DEFAULT_TARGETS).
DEMO_TARGETS = {
    "pve1": {"kind": "hypervisor",
             "credentials": [("pve1-root", "root")],
             "attrs": {"node": "pve1"}},
    "vm101": {"kind": "guest",
              "credentials": [("vm101-admin", "admin")],
              "attrs": {"node": "pve1", "vmid": 101, "pool": "web",
                        "tags": ["prod"]}},
}


def make_bed():
    bed = testbed.TestBed(RUN, bastion=BASTION, targets=DEMO_TARGETS,
                          target_addresses=TARGET_ADDRESSES, target_port=22,
                          mfa=True, config_extra=EXTRA_SERVICES[0]
                          .config_lines())
    add_api(bed)
    return bed


# --------------------------------------------------------------------------
# The Proxmox API (issue 7): the simulator as two nodes behind the
# bastion's HTTPS front.  alice (hv-admins) holds the API token of the
# hypervisor side, bob (guest-admins) the guest side's, limited to the
# pool "web"; carol has no API role.

API_LISTEN = ("127.0.0.1", 8006)
API_NODES = [("pve1", "127.0.0.31", 8006), ("pve2", "127.0.0.32", 8006)]
API_GUESTS = [
    {"vmid": 101, "type": "qemu", "node": "pve1", "name": "vm101",
     "status": "running"},
    {"vmid": 102, "type": "qemu", "node": "pve1", "name": "build",
     "status": "stopped"},
    {"vmid": 201, "type": "lxc", "node": "pve2", "name": "dns",
     "status": "running"},
]


class ApiSimService:
    """The simulator as a demo service (start, stop, env), stoppable from
    another run of this script through its pid file."""

    def __init__(self, sim, bed, passwords):
        self.sim, self.bed, self.passwords = sim, bed, passwords

    def start(self):
        self.sim.start()

    def stop(self):
        self.sim.stop()
        try:
            pid = int(self.sim.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.sim.pid_file.unlink(missing_ok=True)
            return
        if testbed.pid_alive(pid) and "pvesim.py" in testbed._cmdline(pid):
            testbed.kill_tree(pid)
        self.sim.pid_file.unlink(missing_ok=True)

    def env(self):
        env = {"HVB_API_URL": "https://%s:%d" % API_LISTEN,
               "HVB_API_CA": str(self.bed.api_cert)}
        for person, pw in self.passwords.items():
            env["HVB_%s_PASSWORD" % person.upper()] = pw
            env["HVB_%s_API_USER" % person.upper()] = "%s@pve" % person
        return env


def api_secrets(path):
    """Passwords and token secrets, made once and kept across restarts."""
    import json
    import secrets
    import uuid
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    s = {"passwords": {p: secrets.token_urlsafe(12)
                       for p in ("alice", "bob", "carol")},
         "tokens": {"hv": str(uuid.uuid4()), "guest": str(uuid.uuid4())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(s))
    os.chmod(path, 0o600)
    return s


def add_api(bed):
    """Configures the API front on bed (before bed.setup()) and adds the
    simulator to EXTRA_SERVICES."""
    from pvesim import PveSim
    sec = api_secrets(RUN / "api-secrets.json")
    sim = PveSim(RUN / "sim", nodes=API_NODES,
                 users={"root@pam": {"password": sec["tokens"]["hv"]}},
                 tokens={"root@pam!hvb-hv": {"secret": sec["tokens"]["hv"]},
                         "root@pam!hvb-guest":
                             {"secret": sec["tokens"]["guest"]}},
                 acl=[{"path": "/", "ugid": "root@pam!hvb-hv",
                       "roleid": "Administrator", "propagate": 1},
                      {"path": "/pool/web", "ugid": "root@pam!hvb-guest",
                       "roleid": "PVEVMAdmin", "propagate": 1},
                      {"path": "/pool/web", "ugid": "root@pam!hvb-guest",
                       "roleid": "PVEPoolUser", "propagate": 1}],
                 pools={"web": [101]}, guests=API_GUESTS,
                 storage=[{"storage": "local", "node": "pve1",
                           "type": "dir"}],
                 auth_fail_delay=3)
    sim.setup()     # the node certificates: their pins go in the config
    bed.enable_api(
        API_LISTEN[0], API_LISTEN[1],
        [(n, a, p, sim.fingerprint(n)) for n, a, p in API_NODES],
        credentials={"pve-hv": ("root@pam!hvb-hv", sec["tokens"]["hv"]),
                     "pve-guest": ("root@pam!hvb-guest",
                                   sec["tokens"]["guest"])},
        role_credentials={"hv-admins": "pve-hv",
                          "guest-admins": "pve-guest"},
        grants={"hv-admins": ['paths "/nodes/*" "/storage/*" "/vms/*"'
                              ' "/cluster"',
                              'roles "PVEVMAdmin" "PVEAuditor"',
                              'privileges "Sys.Console"'],
                "guest-admins": ['paths "/pool/web"',
                                 'roles "PVEVMAdmin"']},
        passwords=sec["passwords"], failure_delay_ms=3000)
    svc = ApiSimService(sim, bed, sec["passwords"])
    EXTRA_SERVICES[:] = [s for s in EXTRA_SERVICES
                         if not isinstance(s, ApiSimService)] + [svc]
    return svc


def rel(p):
    try:
        return os.path.relpath(p)
    except ValueError:
        return str(p)


def write_env(bed):
    b = bed.bastion
    env = {
        "HVB_SSH_HOST": b.address,
        "HVB_SSH_PORT": str(b.port),
        "HVB_CONF": str(bed.conf),
        "HVB_BIN_DIR": str(bed.bin_dir),
        "HVB_STATE_DIR": str(bed.state_dir),
        "HVB_RECORDINGS_DIR": str(bed.recordings_dir),
        "HVB_ALICE_KEY": str(bed.users["alice"].key),
        "HVB_BOB_KEY": str(bed.users["bob"].key),
        "HVB_CAROL_KEY": str(bed.users["carol"].key),
        "HVB_KNOWN_HOSTS": str(b.known_hosts),
    }
    for u in bed.users.values():
        env["HVB_%s_TOTP_SECRET" % u.name.upper()] = u.totp_secret
    for s in EXTRA_SERVICES:
        env.update(s.env())
    path = RUN / "demo.env"
    path.write_text("".join("%s=%s\n" % kv for kv in env.items()))
    return path


def cmd_start(args):
    bed = make_bed()
    RUN.mkdir(parents=True, exist_ok=True)
    # The configuration names the log store's CA: make it before the
    # set-up checks that configuration (totp enroll).
    for s in EXTRA_SERVICES:
        if isinstance(s, LogStore):
            s.prepare()
    bed.setup()
    bed.stop_stale()
    for s in EXTRA_SERVICES:
        s.stop()
    # A fresh demo starts with nobody locked out (pam_faillock's tallies
    # of the last run; the TOTP store's used codes stay: a code is still
    # good once only).
    for tally in bed.faillock_dir.glob("*"):
        tally.unlink()
    if not os.access(bed.bastion.daemon, os.X_OK) and not args.targets_only:
        print("demo: %s not found; run `make` first (or set HVB_BIN_DIR, "
              "or use --targets-only)" % bed.bastion.daemon, file=sys.stderr)
        return 1
    try:
        for s in EXTRA_SERVICES:
            s.start()
        bed.start(bastion=not args.targets_only)
    except testbed.TestbedError as e:
        print("demo: %s" % e, file=sys.stderr)
        bed.stop()
        for s in EXTRA_SERVICES:
            s.stop()
        return 1
    for t in bed.targets.values():
        print("target %-6s %-10s %s:%d (sshd pid %d)" % (
            t.target, t.kind, t.address, t.port, t.pid))
    if args.targets_only:
        print("\nbastion not started (--targets-only). Straight to a target:")
        print("  " + " ".join(rel(a) if a.startswith(str(RUN)) else a
                              for a in bed.target_ssh_argv("pve1")))
        return 0
    b = bed.bastion
    env = write_env(bed)
    print("bastion %s:%d (hvbastiond pid %d), log %s" % (
        b.address, b.port, b.pid, rel(b.log_path)))
    print("environment: %s" % rel(env))
    kh = rel(b.known_hosts)
    ak, bk, ck = (rel(bed.users[u].key) for u in ("alice", "bob", "carol"))
    p = b.port
    print("""
Every login is two-factor: the key, then a 6-digit code at the
"Verification code:" prompt. Get alice's current code with:
  oathtool --totp -b $(grep ^HVB_ALICE_TOTP_SECRET= {env} | cut -d= -f2)
(or scan the secret into an authenticator app: otpauth in `hvbastion totp
enroll`). A code works once; 3 failures lock the person for 15 minutes.

Connect (hypervisor admin alice -> root@pve1, guest admin bob -> admin@vm101):
  ssh -p {p} -i {ak} -o UserKnownHostsFile={kh} -t alice@127.0.0.1 pve1   (shell)
  ssh -p {p} -i {ak} -o UserKnownHostsFile={kh} alice@127.0.0.1 pve1 uname -a
  ssh -p {p} -i {ak} -o UserKnownHostsFile={kh} -t alice+pve1@127.0.0.1
  ssh -p {p} -i {ak} -o UserKnownHostsFile={kh} -t alice@127.0.0.1   (menu)
  ssh -p {p} -i {bk} -o UserKnownHostsFile={kh} -t bob@127.0.0.1 vm101
Refused (separation of roles; the log names the rule, {log}):
  ssh -p {p} -i {ak} -o UserKnownHostsFile={kh} alice@127.0.0.1 vm101
  ssh -p {p} -i {bk} -o UserKnownHostsFile={kh} bob@127.0.0.1 pve1
  ssh -p {p} -i {ck} -o UserKnownHostsFile={kh} carol@127.0.0.1 pve1
Why (the policy: roles and grants in {conf}):
  {cli} -f {conf} policy explain alice pve1
  {cli} -f {conf} policy explain bob pve1
Recordings: {rec}
  asciinema play {rec}/<session>-c<N>.cast

The Proxmox API through the bastion (a simulator behind it, 2 nodes):
  . {env}; curl --cacert $HVB_API_CA $HVB_API_URL/api2/json/access/ticket \\
      --data-urlencode username=$HVB_ALICE_API_USER \\
      --data-urlencode password=$HVB_ALICE_PASSWORD
  then the TOTP step: the same with tfa-challenge=<ticket of the answer>
  and password=totp:<code>; the final ticket goes in a PVEAuthCookie cookie.
Audit trail: the log store (rsyslog, RELP over TLS) writes to $HVB_LOGSTORE_FILE
  {cli} -f {conf} audit status
Stop: demo/demo.py stop""".format(p=p, ak=ak, bk=bk, ck=ck, kh=kh, env=rel(env),
                                  rec=rel(bed.recordings_dir),
                                  log=rel(b.log_path), conf=rel(bed.conf),
                                  cli=rel(bed.bin_dir / "hvbastion")))
    return 0


def cmd_stop(args):
    if not RUN.exists():
        print("demo: nothing to stop")
        return 0
    bed = make_bed()
    for s in EXTRA_SERVICES:
        s.stop()
    bed.stop_stale()
    print("demo: stopped")
    return 0


def cmd_status(args):
    bed = make_bed()
    rc = 0
    for svc in [bed.bastion] + list(bed.targets.values()):
        up = svc.running()
        rc |= 0 if up else 1
        print("%-16s %s" % (svc.name, "running" if up else "stopped"))
    return rc


def main():
    ap = argparse.ArgumentParser(description="hvbastion demo on loopback")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="(re)start the demo")
    st.add_argument("--targets-only", action="store_true",
                    help="start the sshd targets but not hvbastiond")
    st.set_defaults(fn=cmd_start)
    sub.add_parser("stop", help="stop the demo").set_defaults(fn=cmd_stop)
    sub.add_parser("status", help="what is running").set_defaults(
        fn=cmd_status)
    args = ap.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
