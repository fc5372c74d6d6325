"""hvbastion test bed: real OpenSSH targets and a real hvbastiond on loopback.

Used by the end-to-end tests (tests/e2e) and by the demo (demo/demo.py).
Standard library only, plus paramiko for the few helpers that need a second
SSH client.

What a test bed is, on disk (everything below ROOT, nothing else written
except the two local accounts and /run/sshd):

    ROOT/keys/{alice,bob,carol}[.pub]        user keys (ed25519)
    ROOT/credentials/<name>[.pub]            keys the bastion holds (0600)
    ROOT/targets/<t>/ssh_host_ed25519_key    each target's own host key
    ROOT/targets/<t>/sshd_config             OpenSSH sshd configuration
    ROOT/targets/<t>/authorized_keys/<login> credential public keys (%u)
    ROOT/targets/<t>/sshd.log                sshd -e output
    ROOT/hvbastion.conf                      bastion configuration
    ROOT/state/                              bastion state (host key, ...)
    ROOT/state/recordings/                   session recordings
    ROOT/hvbastiond.log                      daemon stderr
    ROOT/known_hosts                         bastion host key, [addr]:port
    ROOT/*.pid                               pids of the daemons we started

Processes are started in their own sessions (start_new_session) so that they
may outlive the Python process (the demo) and so that teardown can kill the
whole tree: teardown signals the leader, every descendant and every process
left in the leader's session, then SIGKILLs what is still there.

The targets are OpenSSH sshd, started as `sshd -D -e -f CONF`, one per
loopback address. They log in the local accounts `hvbpve` (hypervisor side)
and `hvbguest` (guest side); the test bed creates them once.

Layout (users, roles and grants, targets, credentials) is data: see
DEFAULT_TARGETS, DEFAULT_ROLES and DEFAULT_USERS. A Proxmox API simulator will be one more service in the same
test bed later; Service is the small base class it will use.
"""

import base64
import contextlib
import fcntl
import grp
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import proctree  # beside this file (tests/lib)

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
PAM_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/security"
ACCOUNTS = ("hvbpve", "hvbguest")


def default_bin_dir():
    return Path(os.environ.get("HVB_BIN_DIR") or (REPO / "build"))


# name -> kind, credentials [(credential name, login)], first is the default,
# and the attributes grants select on (node, vmid, pool, tags, zone, ...)
DEFAULT_TARGETS = {
    "pve1": {"kind": "hypervisor",
             "credentials": [("pve1-admin", "hvbpve"),
                             ("pve1-aux", "hvbguest")],
             "attrs": {"node": "pve1"}},
    "vm101": {"kind": "guest",
              "credentials": [("vm101-admin", "hvbguest")],
              "attrs": {"node": "pve1", "vmid": 101, "pool": "web",
                        "tags": ["prod"]}},
}

# role -> side and grants; a grant is a dict of its lines:
#   targets: list of "targets" lines (the words after the keyword)
#   login, channels, forward (list), hours (list): optional
DEFAULT_ROLES = {
    "hv-admins": {"side": "hypervisor",
                  "grants": [{"targets": ['"pve1"'],
                              "channels": "shell exec sftp scp"}]},
    "guest-admins": {"side": "guest",
                     "grants": [{"targets": ["vmid 101"],
                                 "channels": "shell exec sftp scp"}]},
    "auditors": {"side": "audit", "grants": []},
}

# name -> roles; a user may also name targets here (older callers): each
# such target gets a role of its own, of its kind's side
DEFAULT_USERS = {
    "alice": ["hv-admins"],     # hypervisor administrator (ANSSI R7)
    "bob": ["guest-admins"],    # guest administrator (ANSSI R8)
    "carol": ["auditors"],      # auditor: no target at all
}

SIDE_OF_KIND = {"hypervisor": "hypervisor", "guest": "guest"}


class TestbedError(Exception):
    pass


# --------------------------------------------------------------------------
# small helpers

def run(argv, check=True, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    cp = subprocess.run(argv, **kw)
    if check and cp.returncode != 0:
        raise TestbedError("%s exited %d: %s%s" % (
            " ".join(map(str, argv)), cp.returncode, cp.stdout, cp.stderr))
    return cp


def ensure_accounts(names=ACCOUNTS):
    """Create the local target accounts once (useradd -m -s /bin/bash).

    With `UsePAM no`, sshd refuses accounts whose password field starts
    with "!" (locked), which is what useradd leaves: set it to "*" (no
    password can match, but the account is not locked)."""
    with machine_lock():
        _ensure_accounts(names)


@contextlib.contextmanager
def machine_lock():
    """One process at a time changes the machine itself (accounts,
    packages): parallel test workers, the demo."""
    with open("/run/hvbastion-testbed.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _ensure_accounts(names):
    for name in names:
        if name == "root":
            continue    # never touch root's account (see root_locked())
        try:
            pwd.getpwnam(name)
        except KeyError:
            run(["useradd", "-m", "-s", "/bin/bash", name])
        shadow = _shadow_field(name)
        if shadow is None or shadow.startswith("!") or shadow.startswith("*LK*"):
            run(["usermod", "-p", "*", name])


def ensure_group(name, members=()):
    """A local group (groupadd) whose members are exactly `members`
    (existing accounts), e.g. the auditors' group of a recordings test."""
    with machine_lock():
        try:
            grp.getgrnam(name)
        except KeyError:
            run(["groupadd", name])
        run(["gpasswd", "-M", ",".join(members), name])


def root_locked():
    """True when root's password field says "locked" ("!..."): sshd with
    `UsePAM no` would then refuse even a key, so such a target runs with
    PAM (the machine's own sshd service) instead of unlocking root."""
    shadow = _shadow_field("root")
    return shadow is not None and shadow.startswith("!")


def _shadow_field(name):
    try:
        with open("/etc/shadow") as f:
            for line in f:
                parts = line.split(":")
                if parts[0] == name:
                    return parts[1]
    except OSError:
        return None
    return None


def ensure_privsep_dir():
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


# hvbastiond drops root for this user once started (hvbastiond -u; issue
# #8): the bed creates it like the package does, and gives it what the
# daemon writes or re-reads at run time (credential keys, TOTP store,
# faillock tallies). The daemon itself gives it the state and recordings
# directories.
RUN_USER = "hvbastion"


def ensure_run_user():
    try:
        pwd.getpwnam(RUN_USER)
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", RUN_USER])


def run_user_ids():
    """(uid, gid) of the daemon's user, or None when it does not exist."""
    try:
        pw = pwd.getpwnam(RUN_USER)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def give_to_run_user(path, recursive=False):
    ids = run_user_ids()
    if ids is None or not os.path.lexists(path):
        return
    os.chown(path, *ids, follow_symlinks=False)
    if recursive and os.path.isdir(path):
        for d, dirs, files in os.walk(path):
            for n in dirs + files:
                os.chown(os.path.join(d, n), *ids, follow_symlinks=False)


def gen_key(path, comment, force=False):
    """ed25519 key pair at path (mode 0600) unless it exists; returns the
    public key line (without trailing newline)."""
    path = Path(path)
    if force:
        for p in (path, Path(str(path) + ".pub")):
            if p.exists():
                p.unlink()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment,
             "-f", str(path)])
    os.chmod(path, 0o600)
    return Path(str(path) + ".pub").read_text().strip()


def pubkey_type_and_blob(line):
    """'ssh-ed25519 AAAA... comment' -> 'ssh-ed25519 AAAA...'"""
    parts = line.split()
    return "%s %s" % (parts[0], parts[1])


def free_port(addr="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_in_use(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_listen(addr, port, timeout=15.0, proc=None, log=None, banner=True):
    """Wait until addr:port accepts TCP and (banner) sends 'SSH-'."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise TestbedError("process %s exited with %s before listening "
                               "on %s:%d%s" % (proc.args[0], proc.returncode,
                                               addr, port, _log_tail(log)))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((addr, port))
            if not banner:
                return
            data = b""
            while b"\n" not in data and len(data) < 1024:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"SSH-"):
                return
            last = "no SSH banner: %r" % data[:80]
        except OSError as e:
            last = str(e)
        finally:
            s.close()
        time.sleep(0.05)
    raise TestbedError("%s:%d not listening after %.0fs (%s)%s" % (
        addr, port, timeout, last, _log_tail(log)))


def _log_tail(log, n=30):
    if not log:
        return ""
    try:
        lines = Path(log).read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return ""
    return "\n--- %s (tail) ---\n%s" % (log, "\n".join(lines))


def process_tree(pid):
    """pid, its descendants, and every process in the session it leads."""
    tab = proctree.table()
    session = {p for p, st in tab.items() if st.session == pid}
    return {pid} | set(proctree.descendants(pid, tab)) | session


def pid_alive(pid):
    st = proctree.stat(pid)
    return st is not None and st.state != "Z"


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def kill_tree(pid, timeout=5.0):
    """SIGTERM the tree of pid, wait, then SIGKILL what is left."""
    if pid is None or pid <= 1 or pid == os.getpid():
        return
    pids = process_tree(pid)
    pids.discard(os.getpid())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in list(pids):
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in pids:
                _reap(p)
            if not any(pid_alive(p) for p in pids):
                return
            time.sleep(0.05)
    for p in pids:
        _reap(p)


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def q(s):
    """A config string in double quotes."""
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"')


def _attr_lines(attrs):
    """A target's attributes as configuration lines."""
    L = []
    for k in ("node", "vmid", "pool", "zone", "sensitivity"):
        if k in attrs:
            v = attrs[k]
            L.append("\t%s %s" % (k, v if isinstance(v, int) else q(v)))
    for tag in attrs.get("tags", []):
        L.append("\ttag %s" % q(tag))
    return L


def _dirs_secure_for_strictmodes(path):
    """True when sshd's StrictModes walk (every component up to /, root-owned
    and not group/world-writable) would accept files under path."""
    p = Path(path).resolve()
    for d in [p] + list(p.parents):
        st = os.stat(d)
        if st.st_uid != 0 or (st.st_mode & 0o022):
            return False
    return True


# --------------------------------------------------------------------------
# services

class Service:
    """A daemon of the test bed, started in its own session; its pid is kept
    in ROOT/<name>.pid so that another process (demo stop) can end it."""

    def __init__(self, root, name, marker):
        self.root = Path(root)
        self.name = name
        self.marker = str(marker)    # a string in its command line
        self.proc = None
        self.pid = None

    @property
    def pid_file(self):
        return self.root / ("%s.pid" % self.name)

    @property
    def log_path(self):
        return self.root / ("%s.log" % self.name)

    def argv(self):
        raise NotImplementedError

    def env(self):
        """Environment of the daemon (None: inherit ours)."""
        return None

    def spawn(self):
        self.stop()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                close_fds=True, env=self.env())
        finally:
            log.close()
        self.pid = self.proc.pid
        self.pid_file.write_text("%d\n" % self.pid)
        return self.proc

    def _pid_from_file(self):
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        # do not kill an unrelated process that reused the pid
        if self.marker not in _cmdline(pid):
            return None
        return pid

    def running(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return self._pid_from_file() is not None

    def stop(self):
        pid = self.pid if self.proc is not None else self._pid_from_file()
        if pid is not None:
            kill_tree(pid)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        self.pid = None
        try:
            self.pid_file.unlink()
        except FileNotFoundError:
            pass

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Credential:
    def __init__(self, bed, name, login):
        self.name = name
        self.login = login
        self.key = bed.root / "credentials" / name
        self.pub = None


class Target(Service):
    """An OpenSSH sshd standing for one host (hypervisor node or guest)."""

    def __init__(self, bed, name, kind, address, port, credentials):
        self.dir = bed.root / "targets" / name
        super().__init__(bed.root, "sshd-%s" % name, self.dir / "sshd_config")
        self.bed = bed
        self.target = name
        self.kind = kind
        self.address = address
        self.port = port
        self.credentials = [Credential(bed, c, l) for c, l in credentials]
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.conf = self.dir / "sshd_config"
        self.host_pub = None

    @property
    def log_path(self):
        return self.dir / "sshd.log"

    def setup(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.host_pub = gen_key(self.host_key, "%s-host-key" % self.target)
        akdir = self.dir / "authorized_keys"
        akdir.mkdir(exist_ok=True)
        os.chmod(akdir, 0o755)
        per_login = {}
        for c in self.credentials:
            c.pub = gen_key(c.key, "hvbastion-credential-%s" % c.name)
            per_login.setdefault(c.login, []).append(c.pub)
        logins = list(ACCOUNTS) + sorted(set(per_login) - set(ACCOUNTS))
        ensure_accounts(logins)
        # Only the demo's pve1 logs in as root (issue 4: "alice reaches
        # pve1 as root"); its key is the bastion's credential, nobody else's.
        root = "root" in per_login
        use_pam = "yes" if root and root_locked() else "no"
        for login in logins:
            f = akdir / login
            f.write_text("".join(k + "\n" for k in per_login.get(login, [])))
            os.chmod(f, 0o644)
        strict = "yes" if _dirs_secure_for_strictmodes(akdir) else "no"
        self.conf.write_text(
            "# sshd for test-bed target %s (%s); generated by testbed.py\n"
            "ListenAddress %s:%d\n"
            "HostKey %s\n"
            "PidFile %s\n"
            "AuthorizedKeysFile %s/%%u\n"
            "# StrictModes is 'no' only when the test bed lives under a\n"
            "# world-writable directory such as /tmp\n"
            "StrictModes %s\n"
            "UsePAM %s\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\n"
            "PermitRootLogin %s\n"
            "AllowUsers %s\n"
            "AcceptEnv LANG LC_* HVB_*\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "X11Forwarding no\n"
            "MaxSessions 64\n"
            "MaxStartups 100:30:200\n"
            "LoginGraceTime 30\n"
            "LogLevel VERBOSE\n"
            "Subsystem sftp /usr/lib/openssh/sftp-server\n"
            % (self.target, self.kind, self.address, self.port,
               self.host_key, self.dir / "sshd.pid", akdir, strict,
               use_pam, "prohibit-password" if root else "no",
               " ".join(logins)))
        os.chmod(self.conf, 0o644)
        run([SSHD, "-t", "-f", str(self.conf)])

    def argv(self):
        return [SSHD, "-D", "-e", "-f", str(self.conf)]

    def start(self, timeout=15):
        if port_in_use(self.address, self.port):
            raise TestbedError("%s:%d is already in use (target %s)" % (
                self.address, self.port, self.target))
        self.spawn()
        wait_listen(self.address, self.port, timeout, self.proc,
                    self.log_path)

    def known_hosts_line(self):
        host = self.address if self.port == 22 else "[%s]:%d" % (
            self.address, self.port)
        return "%s %s" % (host, pubkey_type_and_blob(self.host_pub))


class User:
    def __init__(self, bed, name, roles):
        self.name = name
        self.roles = list(roles)
        self.key = bed.root / "keys" / name
        self.pub = None
        self.totp_secret = None     # base32, when the bed has MFA


class Bastion(Service):
    """hvbastiond with its own configuration file and state directory."""

    def __init__(self, root, conf, state_dir, address, port, bin_dir=None,
                 name="hvbastiond", recordings_dir=None):
        super().__init__(root, name, conf)
        self.conf = Path(conf)
        self.state_dir = Path(state_dir)
        self.recordings_dir = Path(recordings_dir or
                                   (self.state_dir / "recordings"))
        self.address = address
        self.port = port
        self.bin_dir = Path(bin_dir or default_bin_dir())
        self.known_hosts = self.root / ("%s.known_hosts" % name
                                        if name != "hvbastiond"
                                        else "known_hosts")
        self.nss_passwd = None
        self.nss_group = None

    @property
    def daemon(self):
        return self.bin_dir / "hvbastiond"

    @property
    def host_key(self):
        return self.state_dir / "ssh_host_ed25519_key"

    @property
    def host_pub_path(self):
        return self.state_dir / "ssh_host_ed25519_key.pub"

    def argv(self):
        return [str(self.daemon), "-f", str(self.conf), "-D"]

    def env(self):
        # Persons are not local accounts here: nss_wrapper makes them known
        # to NSS (ROOT/passwd) so that pam_faillock counts their failures,
        # as LDAP/SSSD or local accounts do in production.
        if self.nss_passwd is None:
            return None
        env = dict(os.environ)
        env["LD_PRELOAD"] = NSS_WRAPPER
        env["NSS_WRAPPER_PASSWD"] = str(self.nss_passwd)
        env["NSS_WRAPPER_GROUP"] = str(self.nss_group)
        # RTLD_DEEPBIND (its default) cannot work under the sanitizers.
        env["NSS_WRAPPER_DISABLE_DEEPBIND"] = "1"
        # ASan wants to be first in the library list; the preload is not
        # instrumented and harmless.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
            ":verify_asan_link_order=0"
        return env

    def check_config(self, conf=None):
        """`hvbastiond -f CONF -n` -> CompletedProcess (stdout+stderr)."""
        self._need_binary()
        return run([str(self.daemon), "-f", str(conf or self.conf), "-n"],
                   check=False, stderr=subprocess.STDOUT, timeout=30)

    def _need_binary(self):
        if not os.access(self.daemon, os.X_OK):
            raise TestbedError(
                "%s not found or not executable: run `make` at the top of "
                "the repository, or set HVB_BIN_DIR" % self.daemon)

    def start(self, timeout=20):
        self._need_binary()
        if port_in_use(self.address, self.port):
            raise TestbedError("%s:%d is already in use (bastion)" % (
                self.address, self.port))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        self.spawn()
        wait_listen(self.address, self.port, timeout, self.proc,
                    self.log_path)
        deadline = time.monotonic() + 5
        while not self.host_pub_path.exists():
            if time.monotonic() > deadline:
                raise TestbedError("%s did not write %s" % (
                    self.daemon, self.host_pub_path))
            time.sleep(0.05)
        self.write_known_hosts()

    def host_pub(self):
        return self.host_pub_path.read_text().strip()

    def known_hosts_line(self):
        host = self.address if self.port == 22 else "[%s]:%d" % (
            self.address, self.port)
        return "%s %s" % (host, pubkey_type_and_blob(self.host_pub()))

    def write_known_hosts(self, path=None):
        path = Path(path or self.known_hosts)
        path.write_text(self.known_hosts_line() + "\n")
        return path

    def log_mark(self):
        """Offset in the log; log_since(mark) returns what came after."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, needle, mark=0, timeout=5.0):
        """The log since mark once it holds needle.  Raises on timeout:
        returning the text anyway made `assert wait_log(...)` always
        true."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(mark)
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError("the log never showed %r; since the"
                                     " mark:\n%s" % (needle, text[-4000:]))
            time.sleep(0.05)


# --------------------------------------------------------------------------
# the test bed

class TestBed:
    """Keys, accounts, targets and bastion configuration under root.

    bed = TestBed("/tmp/x", bastion=("127.0.0.20", 2222),
                  target_addresses={"pve1": "127.0.0.21", ...},
                  target_port=22)
    bed.setup(); bed.start(); ...; bed.stop()
    """

    __test__ = False    # not a pytest test class

    def __init__(self, root, bastion=("127.0.0.1", 2222),
                 target_addresses=None, target_port=22, target_ports=None,
                 bin_dir=None, targets=None, users=None, roles=None,
                 login_grace_time=30, record_input=True,
                 accept_env=("LANG", "LC_*"), mfa=False, config_extra=""):
        """mfa: publickey then keyboard-interactive (TOTP through PAM,
        with pam_faillock); otherwise publickey only, so that tests that
        are not about MFA can log in as often as they like."""
        self.root = Path(root).resolve()
        self.mfa = mfa
        self.bin_dir = Path(bin_dir or default_bin_dir())
        self.login_grace_time = login_grace_time
        self.record_input = record_input
        self.accept_env = list(accept_env)
        targets = targets or DEFAULT_TARGETS
        users = users if users is not None else DEFAULT_USERS
        self.roles = {n: dict(r) for n, r in (roles or DEFAULT_ROLES).items()}
        self.policy_extra = ""      # appended to the generated policy
        # appended to every generated bastion configuration (e.g. the
        # audit-* lines of the log store)
        self.config_extra = config_extra
        addrs = dict(target_addresses or {"pve1": "127.0.0.11",
                                          "vm101": "127.0.0.12"})
        ports = dict(target_ports or {})
        self.targets = {}
        for i, (name, spec) in enumerate(targets.items()):
            addr = addrs.get(name, "127.0.0.%d" % (11 + i))
            self.targets[name] = Target(self, name, spec["kind"], addr,
                                        ports.get(name, target_port),
                                        spec["credentials"])
            self.targets[name].attrs = dict(spec.get("attrs", {}))
        self.users = {n: User(self, n, t) for n, t in users.items()}
        self.conf = self.root / "hvbastion.conf"
        self.state_dir = self.root / "state"
        self.recordings_dir = self.state_dir / "recordings"
        self.pam_dir = self.root / "pam.d"
        self.totp_dir = self.state_dir / "totp"
        self.faillock_dir = self.root / "faillock"
        self.bastion = Bastion(self.root, self.conf, self.state_dir,
                               bastion[0], bastion[1], self.bin_dir,
                               recordings_dir=self.recordings_dir)
        if mfa:
            self.bastion.nss_passwd = self.root / "passwd"
            self.bastion.nss_group = self.root / "group"
        self.extra_bastions = []
        self.api = None             # enable_api(): the Proxmox API front

    # -- building

    def setup(self):
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        ensure_accounts()
        ensure_privsep_dir()
        ensure_run_user()
        for d in ("keys", "credentials"):
            (self.root / d).mkdir(exist_ok=True)
            os.chmod(self.root / d, 0o755)
        for u in self.users.values():
            u.pub = gen_key(u.key, "%s@hvbastion-testbed" % u.name)
        for t in self.targets.values():
            t.setup()
            for c in t.credentials:
                give_to_run_user(c.key)
        self.write_bastion_config()
        if self.api:
            self.setup_api()    # before anything reads the configuration
        if self.mfa:
            self.setup_mfa()
        return self

    # -- MFA: PAM directory, NSS entries, TOTP enrolment

    def pam_service_text(self):
        """The shipped pam/hvbastion with this bed's module and dirs."""
        text = (REPO / "pam" / "hvbastion").read_text()
        out = []
        for line in text.splitlines():
            if not line.startswith("#"):
                if "pam_faillock.so" in line:
                    line = line.replace(
                        "pam_faillock.so", "%s/pam_faillock.so" %
                        PAM_MODULE_DIR) + " dir=%s" % self.faillock_dir
                if "pam_hvbastion.so" in line:
                    line = line.replace(
                        "pam_hvbastion.so", "%s dir=%s" % (
                            self.bin_dir / "pam_hvbastion.so",
                            self.totp_dir))
            out.append(line)
        return "\n".join(out) + "\n"

    def setup_mfa(self):
        self.pam_dir.mkdir(exist_ok=True)
        os.chmod(self.pam_dir, 0o755)
        (self.pam_dir / "hvbastion").write_text(self.pam_service_text())
        self.faillock_dir.mkdir(exist_ok=True)
        os.chmod(self.faillock_dir, 0o700)
        give_to_run_user(self.faillock_dir, recursive=True)
        passwd, group = [], []
        for i, u in enumerate(self.users.values()):
            uid = 61000 + i
            passwd.append("%s:x:%d:%d:%s:/nonexistent:/usr/sbin/nologin"
                          % (u.name, uid, uid, u.name))
            group.append("%s:x:%d:" % (u.name, uid))
        ids = run_user_ids()
        if ids is not None:     # the daemon looks its user up through NSS
            passwd.append("%s:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                          % (RUN_USER, ids[0], ids[1]))
            group.append("%s:x:%d:" % (RUN_USER, ids[1]))
        (self.root / "passwd").write_text("\n".join(passwd) + "\n")
        (self.root / "group").write_text("\n".join(group) + "\n")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        # the store belongs to the daemon's user: `totp enroll` run by root
        # then writes as that user, and the PAM stack updates it
        self.totp_dir.mkdir(exist_ok=True)
        os.chmod(self.totp_dir, 0o700)
        give_to_run_user(self.state_dir)
        give_to_run_user(self.totp_dir, recursive=True)
        for u in self.users.values():
            u.totp_secret = (self.enrolled_secret(u.name) or
                             self.enroll_totp(u.name))

    def enrolled_secret(self, person):
        """The secret already enrolled (a restarted demo keeps it)."""
        try:
            for line in (self.totp_dir / person).read_text().splitlines():
                if line.startswith("secret "):
                    return line.split()[1]
        except OSError:
            pass
        return None

    def enroll_totp(self, person):
        """`hvbastion totp enroll --json PERSON` -> base32 secret."""
        import json
        cp = run([str(self.bin_dir / "hvbastion"), "-f", str(self.conf),
                  "totp", "enroll", "--json", person], timeout=30)
        return json.loads(cp.stdout)["secret"]

    # -- the Proxmox API front (issue 7)

    def enable_api(self, address, port, nodes, credentials, role_credentials,
                   grants, passwords, failure_delay_ms=0,
                   ticket_lifetime=7200, realms=None):
        """Adds the API front to the configuration (call before setup()).

        nodes: [(name, address, port, fingerprint)];
        credentials: {name: (token id, secret)};
        role_credentials: {role: credential name};
        grants: {role: [lines of its api-grant block]} (a list of blocks
        when a role has several: [[lines], [lines]]);
        passwords: {person: password} for the password step (pam_pwdfile
        with a crypt(3) file, the demo's password source); realms: the
        api-realms line's words (None: the default, pam and pve)."""
        self.api = {"address": address, "port": port, "nodes": list(nodes),
                    "realms": list(realms) if realms else None,
                    "credentials": dict(credentials),
                    "role_credentials": dict(role_credentials),
                    "grants": dict(grants), "passwords": dict(passwords),
                    "failure_delay_ms": failure_delay_ms,
                    "ticket_lifetime": ticket_lifetime}
        self.api_dir = self.root / "api"

    @property
    def api_url(self):
        return "https://%s:%d" % (self.api["address"], self.api["port"])

    @property
    def api_cert(self):
        return self.api_dir / "api.crt"

    def api_config_lines(self):
        a, d = self.api, self.api_dir
        L = ["", "# the Proxmox API front",
             "api-listen %s port %d" % (q(a["address"]), a["port"]),
             "api-certificate %s" % q(d / "api.crt"),
             "api-private-key %s" % q(d / "api.key"),
             "api-pam-service hvbastion-api",
             "api-ticket-lifetime %d" % a["ticket_lifetime"],
             "api-failure-delay %d" % a["failure_delay_ms"]]
        if a.get("realms"):
            L.append("api-realms " + " ".join(q(r) for r in a["realms"]))
        for name, addr, port, fp in a["nodes"]:
            L += ["api-node %s {" % q(name), "\taddress %s" % q(addr),
                  "\tport %d" % port, "\tfingerprint %s" % q(fp), "}"]
        for name, (token, _secret) in a["credentials"].items():
            L += ["api-credential %s {" % q(name), "\ttoken %s" % q(token),
                  "\tsecret-file %s" % q(d / ("%s.token" % name)), "}"]
        for role, blocks in a["grants"].items():
            if blocks and isinstance(blocks[0], str):
                blocks = [blocks]
            for lines in blocks:
                L.append("api-grant %s {" % q(role))
                L += ["\t" + x for x in lines]
                L.append("}")
        return L

    def setup_api(self):
        """Certificate, token secrets, password file and PAM service."""
        a, d = self.api, self.api_dir
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o755)
        if not (d / "api.crt").exists():
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                 "-subj", "/CN=hvbastion-api", "-addext",
                 "subjectAltName=IP:%s" % a["address"],
                 "-keyout", str(d / "api.key"), "-out", str(d / "api.crt")],
                timeout=60)
        os.chmod(d / "api.key", 0o600)
        give_to_run_user(d / "api.key")
        for name, (_token, secret) in a["credentials"].items():
            f = d / ("%s.token" % name)
            f.write_text(secret + "\n")
            os.chmod(f, 0o600)
            # read by the API child, which runs as the daemon's user
            give_to_run_user(f)
        lines = []
        for person, pw in a["passwords"].items():
            h = run(["openssl", "passwd", "-6", "-stdin"], input=pw,
                    text=True, stdout=subprocess.PIPE,
                    timeout=30).stdout.strip()
            lines.append("%s:%s" % (person, h))
        (d / "passwd").write_text("\n".join(lines) + "\n")
        os.chmod(d / "passwd", 0o600)
        give_to_run_user(d / "passwd")
        self.pam_dir.mkdir(exist_ok=True)
        os.chmod(self.pam_dir, 0o755)
        (self.pam_dir / "hvbastion-api").write_text(self.api_pam_text())

    def api_pam_text(self):
        """The shipped pam/hvbastion-api with pam_pwdfile (the demo's
        password source) instead of pam_unix, and this bed's dirs."""
        text = (REPO / "pam" / "hvbastion-api").read_text()
        out = []
        for line in text.splitlines():
            if not line.startswith("#"):
                if "pam_faillock.so" in line:
                    line = line.replace(
                        "pam_faillock.so", "%s/pam_faillock.so" %
                        PAM_MODULE_DIR) + " dir=%s" % self.faillock_dir
                if "pam_unix.so" in line:
                    line = line.replace(
                        "pam_unix.so", "%s/pam_pwdfile.so pwdfile=%s" % (
                            PAM_MODULE_DIR, self.api_dir / "passwd"))
            out.append(line)
        return "\n".join(out) + "\n"

    def credential(self, name):
        for t in self.targets.values():
            for c in t.credentials:
                if c.name == name:
                    return c
        raise KeyError(name)

    def bastion_config_text(self, address=None, port=None, state_dir=None,
                            recordings_dir=None, host_keys=None,
                            extra_targets=None, extra="",
                            login_grace_time=None):
        """The bastion configuration (contract format).

        host_keys: {target: "ssh-ed25519 AAAA..."} overrides the pins.
        extra_targets: [(name, address, port, kind, host_key,
                         [credential names], [users allowed])]"""
        host_keys = host_keys or {}
        state_dir = Path(state_dir or self.state_dir)
        recordings_dir = Path(recordings_dir or (state_dir / "recordings"))
        L = []
        L.append("# hvbastion configuration generated by tests/lib/testbed.py")
        L.append("listen %s port %d" % (q(address or self.bastion.address),
                                        port or self.bastion.port))
        L.append("state-directory %s" % q(state_dir))
        L.append("recordings-directory %s" % q(recordings_dir))
        L.append("login-grace-time %d" % (login_grace_time or
                                          self.login_grace_time))
        L.append("record-input %s" % ("yes" if self.record_input else "no"))
        if self.mfa:
            L.append("auth-methods publickey,keyboard-interactive")
            L.append("pam-service hvbastion")
            L.append("pam-directory %s" % q(self.pam_dir))
        else:
            L.append("auth-methods publickey")
        if self.accept_env:
            L.append("accept-env " + " ".join(q(e) for e in self.accept_env))
        L.append("")
        for t in self.targets.values():
            for c in t.credentials:
                L.append("credential %s {" % q(c.name))
                L.append("\tlogin %s" % q(c.login))
                L.append("\tkey-file %s" % q(c.key))
                L.append("}")
        L.append("")
        extra_targets = extra_targets or []
        for t in self.targets.values():
            L.append("target %s {" % q(t.target))
            L.append("\taddress %s" % q(t.address))
            L.append("\tport %d" % t.port)
            L.append("\thost-key %s" % q(host_keys.get(t.target, t.host_pub)))
            L.append("\tkind %s" % t.kind)
            for c in t.credentials:
                L.append("\tcredential %s" % q(c.name))
            L.extend(_attr_lines(getattr(t, "attrs", {})))
            L.append("}")
        for name, addr, port, kind, hk, creds, _users in extra_targets:
            L.append("target %s {" % q(name))
            L.append("\taddress %s" % q(addr))
            L.append("\tport %d" % port)
            L.append("\thost-key %s" % q(hk))
            L.append("\tkind %s" % kind)
            for c in creds:
                L.append("\tcredential %s" % q(c))
            L.append("}")
        L.append("")
        L.extend(self.policy_lines(extra_targets))
        if extra:
            L.append(extra)
        if self.config_extra:
            L.append(self.config_extra)
        return "\n".join(L) + "\n"

    def policy_lines(self, extra_targets=()):
        """Roles, grants and users (hvbastion.conf(5) policy grammar).

        A user entry naming a target instead of a role, and every extra
        target, get a role of their own ("<target>-<side>s") of the
        target's side, with one grant for that target."""
        roles = {n: {"side": r["side"], "grants": list(r["grants"])}
                 for n, r in self.roles.items()}
        user_roles = {u.name: [] for u in self.users.values()}
        kinds = {n: t.kind for n, t in self.targets.items()}
        kinds.update({et[0]: et[3] for et in extra_targets})

        def target_role(target):
            name = "%s-%ss" % (target, SIDE_OF_KIND[kinds[target]])
            roles.setdefault(name, {
                "side": SIDE_OF_KIND[kinds[target]],
                "grants": [{"targets": [q(target)],
                            "channels": "shell exec sftp scp"}]})
            return name

        for u in self.users.values():
            for r in u.roles:
                user_roles[u.name].append(
                    r if r in roles or r not in kinds else target_role(r))
        for et in extra_targets:
            for uname in et[6]:
                if uname in user_roles:
                    user_roles[uname].append(target_role(et[0]))
        L = []
        for name, r in roles.items():
            L.append("role %s {" % q(name))
            L.append("\tside %s" % r["side"])
            if self.api and name in self.api["role_credentials"]:
                L.append("\tapi-credential %s" %
                         q(self.api["role_credentials"][name]))
            L.append("}")
            for g in r["grants"]:
                L.append("grant %s {" % q(name))
                for sel in g.get("targets", []):
                    L.append("\ttargets %s" % sel)
                if g.get("login"):
                    L.append("\tlogin %s" % q(g["login"]))
                if g.get("channels"):
                    L.append("\tchannels %s" % g["channels"])
                for f in g.get("forward", []):
                    L.append("\tforward %s" % q(f))
                for h in g.get("hours", []):
                    L.append("\thours %s" % q(h))
                L.append("}")
        L.append("")
        for u in self.users.values():
            L.append("user %s {" % q(u.name))
            L.append("\tpublic-key %s" % q(u.pub))
            seen = set()
            for r in user_roles[u.name]:
                if r not in seen:
                    seen.add(r)
                    L.append("\trole %s" % q(r))
            for line in getattr(u, "extra_lines", []):
                L.append("\t%s" % line)
            L.append("}")
        if self.policy_extra:
            L.append(self.policy_extra)
        if self.api:
            L.extend(self.api_config_lines())
        return L

    def write_bastion_config(self, path=None, **kw):
        path = Path(path or self.conf)
        path.write_text(self.bastion_config_text(**kw))
        os.chmod(path, 0o644)
        return path

    def make_bastion(self, name, port=None, address=None, **config_kw):
        """A second hvbastiond (own config, state, log, known_hosts) on the
        same targets, e.g. with a wrong host-key pin. Not started."""
        address = address or self.bastion.address
        port = port or free_port(address)
        state = self.root / ("state-%s" % name)
        conf = self.root / ("hvbastion-%s.conf" % name)
        self.write_bastion_config(conf, address=address, port=port,
                                  state_dir=state, **config_kw)
        b = Bastion(self.root, conf, state, address, port, self.bin_dir,
                    name="hvbastiond-%s" % name,
                    recordings_dir=config_kw.get("recordings_dir"))
        self.extra_bastions.append(b)
        return b

    # -- running

    def start_targets(self):
        for t in self.targets.values():
            t.start()

    def start(self, bastion=True):
        try:
            self.start_targets()
            if bastion:
                self.bastion.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop everything this bed (or an earlier process using the same
        root: pid files) started. Safe to call more than once."""
        for b in self.extra_bastions + [self.bastion]:
            b.stop()
        for t in self.targets.values():
            t.stop()

    def stop_stale(self):
        """Stop daemons left by an earlier run (pid files under root),
        including extra bastions this object does not know about."""
        self.stop()
        for pf in self.root.glob("*.pid"):
            try:
                pid = int(pf.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pf.unlink()
                continue
            if pid_alive(pid) and str(self.root) in _cmdline(pid):
                kill_tree(pid)
            pf.unlink()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- clients

    def ssh_argv(self, login, key, *command, port=None, host=None,
                 known_hosts=None, tty=None, batch=True, opts=()):
        """argv for the stock OpenSSH client through the bastion.

        login: 'alice', 'alice+pve1', ...; key: a user name or a path;
        tty: None (default), True (-tt), False (-T)."""
        b = self.bastion
        if key in self.users:
            key = self.users[key].key
        argv = ["ssh", "-F", "/dev/null",
                "-p", str(port or b.port),
                "-i", str(key),
                "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none",
                "-o", "UserKnownHostsFile=%s" % (known_hosts or b.known_hosts),
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10",
                "-o", "ServerAliveInterval=0",
                "-o", "LogLevel=ERROR"]
        if batch:
            argv += ["-o", "BatchMode=yes"]
        if tty is True:
            argv.append("-tt")
        elif tty is False:
            argv.append("-T")
        for o in opts:
            argv += ["-o", o] if "=" in o and not o.startswith("-") else [o]
        # "--": a command word that starts with "-" is not an ssh option
        argv += ["--", "%s@%s" % (login, host or b.address)]
        argv += list(command)
        return argv

    def target_ssh_argv(self, target, credential=None, *command):
        """argv for ssh straight to a target with a credential key (used to
        prove the test bed itself works)."""
        t = self.targets[target]
        c = t.credentials[0] if credential is None else \
            self.credential(credential)
        kh = t.dir / "known_hosts"
        kh.write_text(t.known_hosts_line() + "\n")
        return ["ssh", "-F", "/dev/null", "-p", str(t.port),
                "-i", str(c.key), "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none",
                "-o", "UserKnownHostsFile=%s" % kh,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR",
                "%s@%s" % (c.login, t.address)] + list(command)

    def paramiko_client(self, login, key, port=None, timeout=15, **kw):
        """A connected paramiko SSHClient to the bastion, host key checked
        against the generated bastion key."""
        import paramiko
        b = self.bastion
        if key in self.users:
            key = self.users[key].key
        client = paramiko.SSHClient()
        kt, blob = pubkey_type_and_blob(b.host_pub()).split()
        hk = paramiko.Ed25519Key(data=base64.b64decode(blob))
        hostname = b.address if (port or b.port) == 22 else \
            "[%s]:%d" % (b.address, port or b.port)
        client.get_host_keys().add(hostname, kt, hk)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(b.address, port=port or b.port, username=login,
                       key_filename=str(key), look_for_keys=False,
                       allow_agent=False, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, **kw)
        return client


def main(argv=None):
    """python3 tests/lib/testbed.py ROOT: build and start targets only,
    print how to reach them, wait for Ctrl-C (a manual check of the bed)."""
    argv = argv if argv is not None else sys.argv[1:]
    if not argv:
        print("usage: testbed.py ROOT", file=sys.stderr)
        return 2
    bed = TestBed(argv[0]).setup()
    bed.stop_stale()
    bed.start(bastion=False)
    for t in bed.targets.values():
        print(" ".join(bed.target_ssh_argv(t.target)))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        bed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
