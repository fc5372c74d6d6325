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

This machine may have no systemd as PID 1: starting the unit itself is
then skipped, with that reason.
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

from conftest import BASTION_ADDR, _new_bed, show, wait_for
import testbed

REPO = testbed.REPO
UNIT = REPO / "systemd" / "hvbastiond.service"
LOCK = "/run/lock/hvbastion-e2e-package.lock"
MARKER = Path("/var/lib/hvbastion-e2e-installed-by-test")
CAPS = "net_bind_service,audit_write"
STEP = 30


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


def _code(secret, step):
    return subprocess.run(
        ["oathtool", "--totp", "-b", secret, "--now", "@%d" % (step * STEP)],
        check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def _mfa_ssh(bed, code, *command):
    askpass = bed.root / ("askpass-%s" % code)
    askpass.write_text("#!/bin/sh\necho '%s'\n" % code)
    os.chmod(askpass, 0o755)
    argv = bed.ssh_argv("alice", "alice", *command, batch=False,
                        opts=("NumberOfPasswordPrompts=1",
                              "KbdInteractiveAuthentication=yes",
                              "PasswordAuthentication=no"))
    env = dict(os.environ, SSH_ASKPASS=str(askpass),
               SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=60, env=env)
    cp.argv = argv
    return cp


def test_installed_daemon_runs_unprivileged(served):
    pid = served.bastion.proc.pid
    status = dict(l.split(":", 1) for l in
                  Path("/proc/%d/status" % pid).read_text().splitlines())
    # setpriv execs the daemon: same pid
    assert Path("/proc/%d/exe" % pid).resolve() == \
        Path("/usr/sbin/hvbastiond")
    uid = pwd.getpwnam("hvbastion").pw_uid
    assert status["Uid"].split() == [str(uid)] * 4, status["Uid"]
    # CAP_NET_BIND_SERVICE (10) and CAP_AUDIT_WRITE (29), nothing else
    assert int(status["CapEff"], 16) == (1 << 10) | (1 << 29)
    assert status["NoNewPrivs"].strip() == "1"
    assert served.bastion.port < 1024


def test_installed_daemon_serves_a_session(served):
    """The key, a wrong code (counted by pam_faillock in the state
    directory), then the right code and a command on pve1, recorded."""
    secret = served.users["alice"].totp_secret
    now = int(time.time()) // STEP
    good = _code(secret, now)
    valid = {_code(secret, now + d) for d in (-2, -1, 0, 1, 2)}
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


def test_installed_unit_under_systemd(served):
    if not Path("/run/systemd/system").is_dir() or \
            Path("/proc/1/comm").read_text().strip() != "systemd":
        pytest.skip("started under systemd: skipped (no systemd PID 1)")
    served.bastion.stop()
    cp = run(["systemctl", "start", "hvbastiond"], timeout=60)
    try:
        assert cp.returncode == 0, show(cp)
        testbed.wait_listen(served.bastion.address, served.bastion.port)
        secret = served.users["alice"].totp_secret
        code = _code(secret, int(time.time()) // STEP + 1)
        cp = _mfa_ssh(served, code, "pve1", "echo", "under-systemd")
        assert cp.returncode == 0 and cp.stdout == b"under-systemd\n", \
            show(cp)
        cp = run(["systemctl", "show", "-p", "User", "-p", "MainPID",
                  "hvbastiond"], timeout=30)
        assert "User=hvbastion" in cp.stdout, show(cp)
    finally:
        run(["systemctl", "stop", "hvbastiond"], timeout=60)
