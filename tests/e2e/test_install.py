"""Installation: the systemd unit's exposure rating, `make install`'s
layout, and the Debian package end to end.

The package test builds the .deb (`make deb`: dpkg-buildpackage, then
lintian, which must report no error), installs it on this machine with
apt, checks what its maintainer scripts made (the users, the directories
of the tmpfiles.d entry), runs the installed daemon as the unit would (as
the user hvbastion, with the unit's two ambient capabilities and no new
privileges, the installed configuration path, state directory and PAM
service) and serves one SSH session through it with both factors, then
purges the package.  Installing on the machine is a shared resource: a
lock file serialises the test between concurrent runs, and the package is
only purged by the run that installed it (a marker file; a package that
was installed otherwise makes the test fail rather than remove it).

The installed unit is then started by systemd (`systemctl start
hvbastiond`), served through and stopped: by the machine's systemd when
it is PID 1, else by systemd booted as PID 1 of a container on the
machine's own file system (BootedHost: systemd-nspawn, --volatile=overlay).
"""

import fcntl
import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BASTION_ADDR, _new_bed, mfa_ssh, show, wait_for
import testbed
from totp_codes import STEP, code_at

REPO = testbed.REPO
UNIT = REPO / "systemd" / "hvbastiond.service"
LOCK = "/run/lock/hvbastion-e2e-package.lock"
MARKER = Path("/var/lib/hvbastion-e2e-installed-by-test")
CAPS = "net_bind_service,audit_write"


def run(argv, timeout=300, **kw):
    cp = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=timeout,
                        **kw)
    cp.argv = argv
    return cp


def mode_of(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


# --------------------------------------------------------------------------
# the unit and `make install`, without installing anything on the machine

def test_unit_exposure_rating_at_most_1_5():
    """systemd-analyze security, offline, on the shipped unit: the rating
    must be 1.5 or lower (--threshold=15 fails above)."""
    cp = run(["systemd-analyze", "security", "--offline=true",
              "--threshold=15", UNIT], timeout=60)
    m = re.search(r"Overall exposure level for hvbastiond\.service: "
                  r"(\d+\.\d)", cp.stdout)
    assert cp.returncode == 0 and m, show(cp)
    assert float(m.group(1)) <= 1.5, cp.stdout[-3000:]
    # the settings the rating does not weigh but the design relies on
    text = UNIT.read_text()
    for line in ("User=hvbastion", "NoNewPrivileges=yes", "UMask=0077",
                 "ProtectSystem=strict", "ReadWritePaths=/var/lib/hvbastion",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_AUDIT_WRITE",
                 "SystemCallArchitectures=native"):
        assert "\n%s\n" % line in text, line


def _make_install(destdir, *args):
    cp = run(["make", "-C", REPO, "install", "DESTDIR=%s" % destdir] +
             list(args))
    assert cp.returncode == 0, show(cp)


EXPECTED = {
    # path under DESTDIR (for PREFIX=/usr) -> mode
    "usr/sbin/hvbastiond": 0o755,
    "usr/bin/hvbastion": 0o755,
    "lib/x86_64-linux-gnu/security/pam_hvbastion.so": 0o644,
    "etc/pam.d/hvbastion": 0o644,
    "etc/hvbastion/hvbastion.conf": 0o644,
    "lib/systemd/system/hvbastiond.service": 0o644,
    "lib/systemd/system/hvbastion-audit-archive.service": 0o644,
    "lib/systemd/system/hvbastion-audit-archive.timer": 0o644,
    "usr/lib/sysusers.d/hvbastion.conf": 0o644,
    "usr/lib/tmpfiles.d/hvbastion.conf": 0o644,
    "usr/share/man/man1/hvbastion.1": 0o644,
    "usr/share/man/man5/hvbastion.conf.5": 0o644,
    "usr/share/man/man8/hvbastiond.8": 0o644,
    "usr/share/man/man8/pam_hvbastion.8": 0o644,
}


def test_make_install_layout(tmp_path):
    d = tmp_path / "usr"
    _make_install(d, "PREFIX=/usr")
    for rel, mode in EXPECTED.items():
        p = d / rel
        assert p.is_file(), rel
        assert stat.S_IMODE(p.stat().st_mode) == mode, (rel, oct(mode))
    unit = (d / "lib/systemd/system/hvbastiond.service").read_text()
    assert "ExecStart=/usr/sbin/hvbastiond -D\n" in unit
    # the installed PAM service keeps pam_faillock's tallies where the
    # daemon's user may write, on every pam_faillock line
    pam = [l for l in (d / "etc/pam.d/hvbastion").read_text().splitlines()
           if "pam_faillock.so" in l and not l.startswith("#")]
    assert len(pam) == 3 and all(
        l.endswith(" dir=/var/lib/hvbastion/faillock") for l in pam), pam
    # the example configuration is valid (and allows nobody)
    cp = run([d / "usr/sbin/hvbastiond", "-n", "-f",
              d / "etc/hvbastion/hvbastion.conf"], timeout=30)
    assert cp.returncode == 0 and "configuration OK" in cp.stdout, show(cp)
    # every man page formats without a warning from groff
    for page in sorted((d / "usr/share/man").glob("man*/*")):
        cp = subprocess.run(["man", "--warnings", "-l", str(page)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, timeout=30,
                            env=dict(os.environ, MANWIDTH="80",
                                     LC_ALL="C.UTF-8"))
        assert cp.returncode == 0 and cp.stderr == "", (page, cp.stderr)


def test_make_install_usr_local_and_keeps_configuration(tmp_path):
    d = tmp_path / "local"
    conf = d / "etc/hvbastion/hvbastion.conf"
    pam = d / "etc/pam.d/hvbastion"
    for p in (conf, pam):
        p.parent.mkdir(parents=True)
        p.write_text("# the site's own\n")
    _make_install(d)        # PREFIX=/usr/local, the default
    unit = d / "usr/local/lib/systemd/system/hvbastiond.service"
    assert "ExecStart=/usr/local/sbin/hvbastiond -D\n" in unit.read_text()
    assert "ExecStartPre=/usr/local/sbin/hvbastiond -n\n" in \
        unit.read_text()
    for rel in ("usr/local/sbin/hvbastiond", "usr/local/bin/hvbastion",
                "usr/local/lib/sysusers.d/hvbastion.conf",
                "usr/local/lib/tmpfiles.d/hvbastion.conf",
                "usr/local/share/man/man8/hvbastiond.8"):
        assert (d / rel).is_file(), rel
    # an existing configuration and PAM service are never overwritten
    assert conf.read_text() == "# the site's own\n"
    assert pam.read_text() == "# the site's own\n"


# --------------------------------------------------------------------------
# the Debian package, installed on this machine

def _installed(pkg="hvbastion"):
    cp = run(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30)
    return cp.returncode == 0 and "installed" in cp.stdout.split()


def _apt(*args):
    """apt-get under the test bed's machine lock (packages and accounts
    change: the postinst creates the users)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with testbed.machine_lock():
        return run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q"] +
                   list(args), timeout=900, env=env)


def _purge():
    cp = _apt("purge", "hvbastion")
    assert cp.returncode == 0, show(cp)
    # recordings are kept by the package's purge (audit evidence): these
    # are the test's own
    shutil.rmtree("/var/lib/hvbastion", ignore_errors=True)
    MARKER.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def package():
    """The .deb built, linted and installed; purged afterwards."""
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        made = run(["make", "-C", REPO, "deb"], timeout=900)
        assert made.returncode == 0, show(made)
        debs = sorted((REPO / "build" / "deb").glob("hvbastion_*_*.deb"))
        assert len(debs) == 1, debs
        if _installed():
            if not MARKER.exists():
                pytest.fail("the package hvbastion is installed on this "
                            "machine, not by this test: not touching it")
            _purge()        # left by an interrupted run of this test
        # the purge removes /var/lib/hvbastion: never someone else's
        for d in ("/etc/hvbastion", "/var/lib/hvbastion"):
            if os.path.exists(d):
                pytest.fail("%s exists on this machine (not made by this "
                            "test): not installing over it" % d)
        MARKER.write_text("%d\n" % os.getpid())
        cp = _apt("install", "--no-install-recommends", str(debs[0]))
        assert cp.returncode == 0 and _installed(), show(cp)
        yield {"deb": debs[0], "make": made}
    finally:
        try:
            if MARKER.exists() and _installed():
                _purge()
            MARKER.unlink(missing_ok=True)
            # The users hvbastion and hvbastion-audit stay, as on any
            # purge (Debian's rule for system users): daemons of other
            # test runs may be running as hvbastion by then.
        finally:
            lock.close()


def test_deb_lints_without_errors(package):
    """`make deb` ends with lintian --fail-on error and deletes a package
    that fails (so the fixture would have failed already); its report,
    kept beside the package, has no error line."""
    report = package["deb"].parent / "lintian.txt"
    assert report.stat().st_mtime >= package["deb"].stat().st_mtime
    errors = [l for l in report.read_text().splitlines()
              if l.startswith("E: ")]
    assert not errors, errors


def test_deb_creates_users_and_directories(package):
    pw = pwd.getpwnam("hvbastion")
    assert pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin"), pw
    grp.getgrnam("hvbastion-audit")
    assert mode_of("/etc/hvbastion") == (0o750, "root", "hvbastion")
    assert mode_of("/var/lib/hvbastion") == \
        (0o710, "hvbastion", "hvbastion-audit")
    assert mode_of("/var/lib/hvbastion/recordings") == \
        (0o2750, "hvbastion", "hvbastion-audit")
    for d in ("totp", "faillock"):
        assert mode_of("/var/lib/hvbastion/" + d) == \
            (0o700, "hvbastion", "hvbastion"), d
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "hvbastion"],
                    timeout=30).stdout
    assert "/etc/hvbastion/hvbastion.conf" in conffiles
    assert "/etc/pam.d/hvbastion" in conffiles
    cp = run(["/usr/sbin/hvbastiond", "-n"], timeout=30)
    assert cp.returncode == 0 and "configuration OK" in cp.stdout, show(cp)
    cp = run(["man", "-w", "hvbastiond"], timeout=30)
    assert cp.stdout.strip() == "/usr/share/man/man8/hvbastiond.8.gz", \
        show(cp)


def test_deb_unit_installed_not_enabled(package):
    unit = Path("/lib/systemd/system/hvbastiond.service")
    assert unit.read_text() == UNIT.read_text()
    # every directive known to this systemd, its commands and man pages
    # there (systemd-analyze verify works without systemd running)
    cp = run(["systemd-analyze", "verify", unit], timeout=60)
    assert cp.returncode == 0 and cp.stdout.strip() == "", show(cp)
    # enabled by the administrator once configured, not by the package
    assert not list(Path("/etc/systemd/system").glob("*/hvbastiond.service"))


# -- the installed daemon, as the unit runs it

def _free_privileged_port(addr):
    """A port below 1024 free on addr (22 first): binding it needs the
    unit's CAP_NET_BIND_SERVICE."""
    for port in [22] + list(range(1023, 900, -1)):
        s = socket.socket()
        try:
            s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.fail("no free port below 1024 on %s" % addr)


def _as_hvbastion():
    pw = pwd.getpwnam("hvbastion")
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--clear-groups", "--"]


class InstalledBastion(testbed.Bastion):
    """/usr/sbin/hvbastiond -D, its ExecStart=, run as User=hvbastion with
    AmbientCapabilities= and NoNewPrivileges= as the unit sets them."""

    def argv(self):
        # numeric ids: setpriv runs under the test bed's nss_wrapper too
        pw = pwd.getpwnam("hvbastion")
        return ["setpriv", "--reuid=%d" % pw.pw_uid,
                "--regid=%d" % pw.pw_gid, "--clear-groups",
                "--inh-caps=-all,+" + CAPS.replace(
                    ",", ",+"),
                "--ambient-caps=-all,+" + CAPS.replace(",", ",+"),
                "--bounding-set=-all,+" + CAPS.replace(",", ",+"),
                "--no-new-privs", "--", str(self.daemon), "-D"]

    def start(self, timeout=20):
        self.spawn()
        testbed.wait_listen(self.address, self.port, timeout, self.proc,
                            self.log_path)
        self.write_known_hosts()


def _write_installed_config(bed, port):
    """The bed's policy and targets in /etc/hvbastion/hvbastion.conf, with
    the installed paths: default state directory, /etc/pam.d, keys in
    /etc/hvbastion/keys owned by hvbastion."""
    keys = Path("/etc/hvbastion/keys")
    pw = pwd.getpwnam("hvbastion")
    text = bed.bastion_config_text(address=BASTION_ADDR, port=port,
                                   state_dir="/var/lib/hvbastion")
    for t in bed.targets.values():
        for c in t.credentials:
            dst = keys / c.name
            shutil.copyfile(c.key, dst)
            os.chown(dst, pw.pw_uid, pw.pw_gid)
            os.chmod(dst, 0o600)
            text = text.replace(testbed.q(c.key), testbed.q(dst))
    text = re.sub(r'(?m)^pam-directory .*$', 'pam-directory "/etc/pam.d"',
                  text)
    assert str(bed.root) not in text
    Path("/etc/hvbastion/hvbastion.conf").write_text(text)


@pytest.fixture(scope="module")
def served(request, package):
    """Targets of a test bed, and the installed daemon in front of them."""
    bed = _new_bed("install", mfa=True)
    failed_before = request.session.testsfailed
    b = None
    try:
        bed.setup()
        bed.start(bastion=False)
        port = _free_privileged_port(BASTION_ADDR)
        _write_installed_config(bed, port)
        # as the daemon's user: the key files are its own, and the
        # configuration check refuses keys owned by another user than the
        # caller or root
        cp = run(_as_hvbastion() + ["/usr/bin/hvbastion", "totp", "enroll",
                                    "--json", "alice"], timeout=60)
        assert cp.returncode == 0, show(cp)
        bed.users["alice"].totp_secret = json.loads(cp.stdout)["secret"]
        b = InstalledBastion(bed.root, "/etc/hvbastion/hvbastion.conf",
                             "/var/lib/hvbastion", BASTION_ADDR, port,
                             bin_dir="/usr/sbin", name="hvbastiond-installed")
        b.nss_passwd, b.nss_group = bed.root / "passwd", bed.root / "group"
        bed.bastion = b
        b.start()
        yield bed
    finally:
        if b is not None:
            b.stop()
        bed.stop()
        for t in bed.targets.values():
            for c in t.credentials:
                Path("/etc/hvbastion/keys", c.name).unlink(missing_ok=True)
        if request.session.testsfailed > failed_before:
            print("\n[hvbastion e2e] test bed kept in %s" % bed.root)
        else:
            shutil.rmtree(bed.root, ignore_errors=True)


def _mfa_ssh(bed, code, *command):
    return mfa_ssh(bed, "alice", code, *command, timeout=60)


def test_installed_daemon_runs_unprivileged(served):
    pid = served.bastion.proc.pid
    status = dict(l.split(":", 1) for l in
                  Path("/proc/%d/status" % pid).read_text().splitlines())
    # setpriv execs the daemon: same pid
    assert Path("/proc/%d/exe" % pid).resolve() == \
        Path("/usr/sbin/hvbastiond")
    uid = pwd.getpwnam("hvbastion").pw_uid
    assert status["Uid"].split() == [str(uid)] * 4, status["Uid"]
    # given CAP_NET_BIND_SERVICE (10) and CAP_AUDIT_WRITE (29), it keeps
    # only CAP_AUDIT_WRITE once bound (privdrop.h), and no ambient set
    assert int(status["CapEff"], 16) == 1 << 29, status["CapEff"]
    assert int(status["CapAmb"], 16) == 0, status["CapAmb"]
    assert status["NoNewPrivs"].strip() == "1"
    assert served.bastion.port < 1024


def test_installed_daemon_serves_a_session(served):
    """The key, a wrong code (counted by pam_faillock in the state
    directory), then the right code and a command on pve1, recorded."""
    secret = served.users["alice"].totp_secret
    now = int(time.time()) // STEP
    good = code_at(secret, now)
    valid = {code_at(secret, now + d) for d in (-2, -1, 0, 1, 2)}
    bad = next(c for c in ("%06d" % ((int(good) + k * 7919) % 1000000)
                           for k in range(1, 10)) if c not in valid)
    cp = _mfa_ssh(served, bad, "pve1", "echo", "no")
    assert cp.returncode != 0 and b"no\n" not in cp.stdout, show(cp)
    tally = Path("/var/lib/hvbastion/faillock/alice")
    assert wait_for(tally.exists), served.bastion.log_text()[-3000:]
    assert mode_of(tally)[1] == "hvbastion"

    cp = _mfa_ssh(served, good, "pve1", "echo", "served-by-the-package")
    assert cp.returncode == 0 and \
        cp.stdout == b"served-by-the-package\n", \
        show(cp) + "\n" + served.bastion.log_text()[-3000:]
    # recorded in the installed recordings directory, by the daemon's user,
    # in the auditors' group (setgid directory)
    logs = sorted(Path("/var/lib/hvbastion/recordings").glob("*.jsonl"))
    assert logs, os.listdir("/var/lib/hvbastion/recordings")
    assert mode_of(logs[-1])[1:] == ("hvbastion", "hvbastion-audit")
    assert wait_for(lambda: "served-by-the-package" in
                    logs[-1].read_text()), logs[-1].read_text()
    # the host key and seal key the daemon made on first start
    for f in ("ssh_host_ed25519_key", "seal.key"):
        assert mode_of("/var/lib/hvbastion/" + f) == \
            (0o600, "hvbastion", "hvbastion"), f


# -- the installed unit, started by systemd

NSPAWN = shutil.which("systemd-nspawn")


class BootedHost:
    """This machine's own file system, booted by systemd as PID 1 in a
    container: `systemd-nspawn` on a bind mount of / (in a mount namespace
    of its own) with --volatile=overlay, so everything the container
    writes goes to a tmpfs and is gone when it stops; it shares the
    machine's network (loopback), so the test's targets and ssh client
    reach it as they reach the host.  It sees what the package installed
    on the host (the unit, the users, /etc/hvbastion, /var/lib/hvbastion).

    systemd boots sysinit.target only (journald, sysusers, tmpfiles): the
    machine's multi-user services (sshd on port 22, ...) are not started.
    nspawn refuses / itself as the container's root ("Spawning container
    on root directory is not supported") unless the whole root is a tmpfs
    (--volatile=yes) or /var is (--volatile=state), hence the bind mount.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.mnt = self.root / "nspawn-root"
        self.log_path = self.root / "nspawn.log"
        self.name = "hvbtest-%d" % os.getpid()
        self.proc = None
        self.init = None

    def cgroups(self):
        """A cgroup of its own in the hierarchies systemd uses (cgroup2,
        and name=systemd on a hybrid host): nspawn (--keep-unit) makes its
        payload/ and supervisor/ below its own cgroup, and the machine's
        root cgroup is everybody's."""
        out = []
        with open("/proc/self/mounts") as f:
            for line in f:
                dev, mnt, fs, opts = line.split()[:4]
                if fs == "cgroup2" or (fs == "cgroup" and
                                       "name=systemd" in opts.split(",")):
                    out.append(Path(mnt) / self.name)
        return out

    def start(self, timeout=60):
        self.mnt.mkdir(exist_ok=True)
        for cg in self.cgroups():
            cg.mkdir(exist_ok=True)
        script = ('for cg in $4; do echo $$ >"$cg/cgroup.procs" || exit; '
                  'done; mount --bind / "$1" && exec "$2" -D "$1" '
                  '--volatile=overlay --register=no --keep-unit '
                  '--quiet -b -M "$3" -- --unit=sysinit.target')
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--",
                 "sh", "-c", script, "sh", str(self.mnt), NSPAWN,
                 self.name, " ".join(str(c) for c in self.cgroups())],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        # nspawn's child is the container's PID 1 (sh and unshare exec)
        kids = Path("/proc/%d/task/%d/children" % (self.proc.pid,
                                                   self.proc.pid))

        def booted():
            if self.proc.poll() is not None:
                raise AssertionError("systemd-nspawn exited %s: %s" % (
                    self.proc.returncode, self.log_text()[-3000:]))
            if self.init is None:
                for pid in kids.read_text().split():
                    if Path("/proc/%s/comm" % pid).read_text().strip() \
                            == "systemd":
                        self.init = int(pid)
                if self.init is None:
                    return False
            cp = self.run(["systemctl", "is-system-running"], timeout=30)
            return cp.stdout.strip() in ("running", "degraded")

        assert wait_for(booted, timeout), self.log_text()[-3000:]

    def nsenter(self):
        return ["nsenter", "-t", str(self.init), "-a", "--"]

    def run(self, argv, timeout=60, **kw):
        return run(self.nsenter() + list(argv), timeout=timeout, **kw)

    def write(self, path, text, mode="a"):
        """Write (or append to) a file of the container: its overlay, not
        the host's file."""
        cp = self.run(["sh", "-c", 'cat >%s "$1"' % (
            ">" if mode == "a" else ""), "sh", path], input=text)
        assert cp.returncode == 0, show(cp)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        # SIGTERM: nspawn asks the container's systemd to power off
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=30)
        self.proc = None
        for cg in self.cgroups():
            for d in sorted((p for p in cg.rglob("*") if p.is_dir()),
                            key=lambda p: -len(p.parts)) + [cg]:
                try:
                    d.rmdir()
                except OSError:
                    pass


def _unit_smoke(served, systemctl, status_of, journal):
    """`systemctl start hvbastiond`, a session through it with the real
    ssh client and both factors, what its processes run as, and `systemctl
    stop`.  systemctl and status_of run on the booted system (the host or
    a container)."""
    uid = pwd.getpwnam("hvbastion").pw_uid
    cp = systemctl("start", "hvbastiond")
    try:
        assert cp.returncode == 0, show(cp) + journal()
        cp = systemctl("is-active", "hvbastiond")
        assert cp.stdout.strip() == "active", show(cp) + journal()
        testbed.wait_listen(served.bastion.address, served.bastion.port)
        secret = served.users["alice"].totp_secret
        code = code_at(secret, int(time.time()) // STEP + 1)
        cp = _mfa_ssh(served, code, "pve1", "echo", "under-systemd")
        assert cp.returncode == 0 and cp.stdout == b"under-systemd\n", \
            show(cp) + journal()
        cp = systemctl("show", "-p", "User", "-p", "MainPID", "hvbastiond")
        assert "User=hvbastion\n" in cp.stdout, show(cp)
        main = int(re.search(r"MainPID=(\d+)", cp.stdout).group(1))
        assert main > 0, cp.stdout
        st = status_of(main)
        assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
        assert st["Gid"].split()[0] == str(pwd.getpwnam(
            "hvbastion").pw_gid), st["Gid"]
        # The unit's bounding set is CAP_NET_BIND_SERVICE (10) and
        # CAP_AUDIT_WRITE (29).  Its system call filter (~@privileged)
        # denies capset, so the daemon cannot drop CAP_NET_BIND_SERVICE
        # itself once bound: both stay, nothing else (SECURITY.md).
        two = (1 << 10) | (1 << 29)
        eff = int(st["CapEff"], 16)
        assert eff == two, st["CapEff"]
        assert int(st["CapBnd"], 16) == two, st["CapBnd"]
        assert int(st["CapAmb"], 16) & ~two == 0, st["CapAmb"]
        assert st["NoNewPrivs"].strip() == "1"
        assert st["Seccomp"].strip() == "2"     # the unit's filter
        # its other processes (the key holder at least, and the child of
        # the session if it is still ending) run as the same user
        cp = status_of.ps(main)
        kids = [l.split() for l in cp.splitlines() if l.strip()]
        assert kids and all(k[1] == str(uid) for k in kids), cp
    finally:
        cp = systemctl("stop", "hvbastiond")
    assert cp.returncode == 0, show(cp)
    cp = systemctl("is-active", "hvbastiond")
    assert cp.stdout.strip() == "inactive", show(cp)
    return eff


class _HostView:
    """_unit_smoke's view of the processes of a booted system."""

    def __init__(self, cat):
        self.cat = cat          # argv prefix that runs a command there

    def __call__(self, pid):
        cp = run(self.cat + ["cat", "/proc/%d/status" % pid], timeout=30)
        assert cp.returncode == 0, show(cp)
        return dict(l.split(":", 1) for l in cp.stdout.splitlines()
                    if ":" in l)

    def ps(self, ppid):
        """'PID UID' of the children of ppid."""
        cp = run(self.cat + ["ps", "-o", "pid=,uid=", "--ppid", str(ppid)],
                 timeout=30)
        return cp.stdout


def test_installed_unit_under_systemd(served):
    """The installed unit started by systemd: on this machine when systemd
    is PID 1, else on this machine's file system booted by systemd in a
    container (BootedHost)."""
    served.bastion.stop()
    if Path("/run/systemd/system").is_dir() and \
            Path("/proc/1/comm").read_text().strip() == "systemd":
        _unit_smoke(
            served, lambda *a: run(["systemctl"] + list(a), timeout=60),
            _HostView([]),
            lambda: run(["journalctl", "-u", "hvbastiond", "-n", "50",
                         "--no-pager"], timeout=30).stdout)
        return
    if NSPAWN is None:
        pytest.fail("no systemd as PID 1 here and no systemd-nspawn "
                    "(package systemd-container, `make deps`)")
    host = BootedHost(served.root)
    try:
        host.start()
        # The persons are local accounts of the booted system (on the
        # host the test bed makes them known through nss_wrapper, which
        # the unit's environment does not have).
        for name in ("passwd", "group"):
            have = {l.split(":", 1)[0] for l in host.run(
                ["cat", "/etc/" + name]).stdout.splitlines()}
            add = [l for l in (served.root / name).read_text().splitlines()
                   if l and l.split(":", 1)[0] not in have]
            host.write("/etc/" + name, "".join(l + "\n" for l in add))
        _unit_smoke(
            served,
            lambda *a: host.run(["systemctl"] + list(a), timeout=60),
            _HostView(host.nsenter()),
            lambda: "\n" + host.run(["journalctl", "-u", "hvbastiond",
                                     "-n", "50", "--no-pager"]).stdout)
    finally:
        host.stop()
