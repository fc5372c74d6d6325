"""Privilege separation (issue #8): the key holder, the unprivileged user,
the sandbox of the per-connection child.

The bastion here is the test daemon (build/hvbastiond-testhooks, the same
code plus bastion/testhooks.c): HVB_TEST_HOOKS makes the child of one
person misbehave right after it is sandboxed, as a child taken over by a
hostile client would. Each hook person has the hypervisor role (pve1).
"""

import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "lib"))

import proctree  # noqa: E402
import testbed  # noqa: E402
from conftest import (_new_bed, fresh_code, mfa_ssh, show, ssh, started_bed,
                      wait_for)  # noqa: E402

HOOKS = {
    "hk-open": "open-key",
    "hk-seal": None,            # set once the state directory is known
    "hk-exec": "exec",
    "hk-socket": "socket",
    "hk-target": "kh-target:vm101",
    "hk-person": "kh-person:bob:vm101",
    "hk-garbage": "kh-garbage",
    "hk-sign": "kh-sign",
    "hk-api": "kh-api:/vms/101:VM.PowerMgmt",
    "hk-api-no": "kh-api:/access/users:User.Modify",
}
API_SECRET = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


# The one capability kept, when libaudit is on (privdrop.h).
AUDIT_WRITE = 1 << 29


def _hooked_bed(prefix, users, hooks_of, **kw):
    """A bed whose hvbastiond is the test daemon, with the hooks that
    hooks_of(bed) gives ({login name: action})."""
    real_bin = Path(os.environ.get("HVB_BIN_DIR") or testbed.default_bin_dir())
    th = real_bin / "hvbastiond-testhooks"
    if not os.access(th, os.X_OK):
        pytest.fail("%s missing: run `make unit-build`" % th)
    b = _new_bed(prefix, users=users, **kw)
    # a bin directory where hvbastiond is the test daemon
    bindir = b.root / "bin"
    bindir.mkdir(parents=True)
    for f in ("hvbastion", "pam_hvbastion.so"):
        os.symlink(real_bin / f, bindir / f)
    os.symlink(th, bindir / "hvbastiond")
    b.bastion.bin_dir = bindir
    hooks = ",".join("%s=%s" % kv for kv in hooks_of(b).items())
    daemon_env = b.bastion.env     # what PAM and NSS need, in an MFA bed
    b.bastion.env = lambda: dict(daemon_env() or os.environ,
                                 HVB_TEST_HOOKS=hooks)
    return b


@pytest.fixture(scope="module")
def bed(request):
    users = dict(testbed.DEFAULT_USERS)
    for name in HOOKS:
        users[name] = ["hv-admins"]
    users["hk-api"] = users["hk-api-no"] = ["hv-admins", "api-hv"]

    def hooks_of(b):
        hooks = dict(HOOKS)
        hooks["hk-seal"] = "open-file:%s" % (b.state_dir / "seal.key")
        return hooks
    b = _hooked_bed("sandbox", users, hooks_of)
    # a Proxmox API token the key holder holds for the role api-hv
    token = b.root / "pve-hv.token"
    b.policy_extra = "\n".join([
        'api-credential "pve-hv" {', '\ttoken "root@pam!hvb-hv"',
        '\tsecret-file "%s"' % token, "}",
        'role "api-hv" {', "\tside hypervisor",
        '\tapi-credential "pve-hv"', "}",
        'api-grant "api-hv" {', '\tpaths "/vms/*"',
        '\tprivileges "VM.PowerMgmt"', "}"])
    token.write_text(API_SECRET + "\n")
    os.chmod(token, 0o600)
    testbed.give_to_run_user(token)
    yield from started_bed(request, bed=b)


@pytest.fixture(scope="module")
def mfa_bed(request):
    """publickey then keyboard-interactive (PAM, TOTP), hooks that act
    before authentication, keyed by the login name sent."""
    def hooks_of(b):
        return {
            "hk-pre-open": "preauth-open:%s" % ";".join(str(p) for p in (
                b.totp_dir / "alice", b.faillock_dir / "alice",
                b.state_dir / "seal.key")),
            "hk-pre-claim": "preauth-claim:alice",
        }
    yield from started_bed(request, bed=_hooked_bed(
        "sandbox-mfa", dict(testbed.DEFAULT_USERS), hooks_of, mfa=True))


def _hooked(bed, person):
    """Log in as person (its hook runs), return (cp, log since)."""
    mark = bed.bastion.log_mark()
    cp = ssh(bed, person, person, "pve1", "echo", "reached")
    assert cp.returncode == 255 and b"reached" not in cp.stdout, show(cp)
    assert bed.bastion.wait_log("test hook: %s" % person, mark), \
        bed.bastion.log_since(mark)
    return cp, bed.bastion.log_since(mark)


def _still_serving(bed):
    cp = ssh(bed, "alice", "alice", "pve1", "echo", "still-here")
    assert cp.returncode == 0 and cp.stdout == b"still-here\n", show(cp)


def test_production_build_has_no_hooks():
    real_bin = Path(os.environ.get("HVB_BIN_DIR") or testbed.default_bin_dir())
    daemon = real_bin / "hvbastiond"
    data = daemon.read_bytes()
    for needle in (b"HVB_TEST_HOOKS", b"test hook", b"testhooks_",
                   b"HVB_TEST_SEPARATION"):
        assert needle not in data, "%s found in %s" % (needle, daemon)
    # and the test daemon does have them: the check above can fail
    th = (real_bin / "hvbastiond-testhooks").read_bytes()
    assert b"HVB_TEST_HOOKS" in th and b"HVB_TEST_SEPARATION" in th


def test_processes_run_unprivileged_and_children_sandboxed(bed):
    """Master and key holder run as hvbastion; a session child too, with
    no capability, no-new-privs, seccomp filter mode, not dumpable."""
    user = pwd.getpwnam(testbed.RUN_USER)
    proc = subprocess.Popen(
        bed.ssh_argv("alice", "alice", "pve1", "sleep", "30"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL)
    try:
        def session_child():
            for pid in testbed.process_tree(bed.bastion.pid):
                if pid == bed.bastion.pid:
                    continue
                try:
                    st = proctree.status(pid)
                except OSError:
                    continue
                if st.get("Seccomp", ["0"])[0] == "2":
                    return pid, st
            return None
        found = wait_for(session_child, timeout=15)
        assert found, "no sandboxed child under %d" % bed.bastion.pid
        pid, st = found
        assert st["Uid"] == [str(user.pw_uid)] * 4, st["Uid"]
        assert st["Gid"] == [str(user.pw_gid)] * 4, st["Gid"]
        assert st["NoNewPrivs"] == ["1"], st["NoNewPrivs"]
        # CAP_AUDIT_WRITE (29) at most, for libaudit: nothing else
        for cap in ("CapPrm", "CapEff", "CapBnd", "CapAmb"):
            if cap == "CapBnd":
                continue        # the bounding set only matters with exec
            assert int(st[cap][0], 16) & ~AUDIT_WRITE == 0, (cap, st[cap])
        assert int(st["CapAmb"][0], 16) == 0, st["CapAmb"]
        master = proctree.status(bed.bastion.pid)
        assert master["Uid"] == [str(user.pw_uid)] * 4, master["Uid"]
        assert int(master["CapEff"][0], 16) & ~AUDIT_WRITE == 0, \
            master["CapEff"]
        # the key holder: unprivileged too, and not sandboxed by seccomp
        # (a probe connection's processes may come and go meanwhile)
        def name_of(p):
            try:
                return proctree.status(p).get("Name")
            except OSError:
                return None
        kh = [p for p in testbed.process_tree(bed.bastion.pid)
              if p != bed.bastion.pid and p != pid and
              name_of(p) == ["hvb-keyholder"]]
        assert len(kh) == 1, kh
        assert proctree.status(kh[0])["Uid"] == [str(user.pw_uid)] * 4
        # the child's monitor (ssh_monitor.h): the same user, no sandbox,
        # the master's child
        monitor = proctree.status(int(st["PPid"][0]))
        assert monitor["PPid"] == [str(bed.bastion.pid)], monitor["PPid"]
        assert monitor["Uid"] == [str(user.pw_uid)] * 4, monitor["Uid"]
        assert monitor["Seccomp"] == ["0"], monitor["Seccomp"]
        # the child holds no private key: none of its descriptors is a file
        for fd in os.listdir("/proc/%d/fd" % pid):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            assert "credentials" not in target and "seal.key" not in target, \
                target
    finally:
        proc.kill()
        proc.wait()


def test_opening_a_key_file_is_refused(bed):
    _, log = _hooked(bed, "hk-open")
    key = str(bed.credential("pve1-admin").key)
    assert "test hook: open: %s: refused: Permission denied" % key in log, log
    assert "SUCCEEDED" not in log, log
    _still_serving(bed)


def test_opening_the_seal_key_is_refused(bed):
    _, log = _hooked(bed, "hk-seal")
    assert re.search(r"test hook: open: \S+/seal\.key: refused: "
                     r"Permission denied", log), log
    assert "SUCCEEDED" not in log, log
    _still_serving(bed)


@pytest.mark.parametrize("person", ["hk-exec", "hk-socket"])
def test_exec_and_socket_kill_the_child(bed, person):
    mark = bed.bastion.log_mark()
    _, log = _hooked(bed, person)
    m = re.search(r"hvbastiond\[(\d+)\]: info: [a-z_]+: test hook: %s: "
                  % person, log)
    assert m, log
    killed = "process %s killed by signal 31 (SIGSYS" % m.group(1)
    assert wait_for(lambda: killed in bed.bastion.log_since(mark)), \
        bed.bastion.log_since(mark)
    after = bed.bastion.log_since(mark)
    assert "test hook: exec: returned" not in after, after
    assert "test hook: socket: returned" not in after, after
    _still_serving(bed)


def test_key_holder_refuses_a_target_the_person_may_not_reach(bed):
    _, log = _hooked(bed, "hk-target")
    assert "test hook: kh-target: key holder refused vm101" in log, log
    assert re.search(r"key holder: refused child \d+ \([^)]*\): hk-target "
                     r"may not use vm101-admin on vm101: ", log), log
    assert "GRANTED" not in log, log
    _still_serving(bed)


def test_key_holder_binds_a_child_to_one_person(bed):
    """bob may reach vm101, but this child served hk-person first."""
    _, log = _hooked(bed, "hk-person")
    assert "test hook: kh-person (own): key holder GRANTED pve1" in log, log
    assert "test hook: kh-person (other): key holder refused vm101" in log, \
        log
    assert "bound to another person" in log, log


def test_key_holder_closes_on_an_unknown_request(bed):
    _, log = _hooked(bed, "hk-garbage")
    assert "sent a malformed or unknown request" in log, log
    assert "test hook: kh-garbage: key holder closed the socket" in log, log


def test_agent_signs_nothing_but_an_authentication(bed):
    _, log = _hooked(bed, "hk-sign")
    assert "test hook: kh-sign: agent answered type 5 (failure)" in log, log
    assert "agent request refused" in log or "refused to sign" in log, log
    _still_serving(bed)


def test_key_holder_gives_the_api_token_only_where_the_policy_does(bed):
    """The API side's request (issue 7): the token of the role that
    policy_decide_api() allows, and nothing for a path outside it."""
    _, log = _hooked(bed, "hk-api")
    assert "test hook: kh-api: /vms/101: key holder GRANTED " \
        "PVEAPIToken=root@pam!hvb-hv" in log, log
    assert "key holder: API token pve-hv for hk-api on /vms/101" in log, log
    _, log = _hooked(bed, "hk-api-no")
    assert "test hook: kh-api: /access/users: key holder refused" in log, log
    assert re.search(r"key holder: refused child \d+ \([^)]*\): API token "
                     r"for hk-api-no on /access/users", log), log
    # the secret never reaches a log line
    assert API_SECRET not in bed.bastion.log_since(0)


def _preauth(bed, login):
    """Connect as login (its hook runs at the first request, before
    authentication), return the log since."""
    mark = bed.bastion.log_mark()
    cp = ssh(bed, login, "alice", "pve1", "echo", "reached")
    assert cp.returncode == 255 and b"reached" not in cp.stdout, show(cp)
    assert bed.bastion.wait_log("test hook: %s" % login, mark), \
        bed.bastion.log_since(mark)
    return bed.bastion.log_since(mark)


def test_child_before_authentication_reads_no_secret(mfa_bed):
    """PAM runs in the monitor: the child that parses the client's bytes
    before authentication cannot read a TOTP secret, a lockout tally or
    the seal key (the files exist: the monitor uses them)."""
    bed = mfa_bed
    assert (bed.totp_dir / "alice").exists()
    log = _preauth(bed, "hk-pre-open")
    for path in (bed.totp_dir / "alice", bed.faillock_dir / "alice",
                 bed.state_dir / "seal.key"):
        assert "test hook: open: %s: refused: Permission denied" % path \
            in log, log
    assert "SUCCEEDED" not in log, log


def test_child_cannot_claim_a_person_without_the_second_factor(mfa_bed):
    """A child taken over before authentication names alice and her key:
    the monitor counts the publickey step (it cannot see the signature)
    but not the PAM step, so no key holder socket and no session."""
    bed = mfa_bed
    log = _preauth(bed, "hk-pre-claim")
    assert "test hook: preauth-claim: key step for alice: accepted" in log, \
        log
    assert "test hook: preauth-claim: end of authentication for alice: " \
        "refused: the steps of auth-methods are not all done" in log, log
    assert "test hook: preauth-claim: key holder socket: none" in log, log
    assert re.search(r"SSH monitor \S+ port \d+: refused the end of "
                     r"authentication for alice", log), log
    assert "GRANTED" not in log and "HELD" not in log, log
    assert "alice authenticated" not in log, log
    assert "auth-success person=alice" not in log, log
    assert "session-start person=alice" not in log, log


def test_monitor_runs_pam_and_binds_the_key_holder(mfa_bed):
    """The honest path: the monitor authenticates alice, then names her to
    the key holder itself, and the session reaches its target."""
    bed = mfa_bed
    mark = bed.bastion.log_mark()
    cp = mfa_ssh(bed, "alice", fresh_code(bed, "alice"), "pve1", "echo", "ok")
    assert cp.returncode == 0 and cp.stdout == b"ok\n", show(cp)
    log = bed.bastion.log_since(mark)
    m = re.search(r"hvbastiond\[(\d+)\]: info: \w+: SSH monitor \S+ port "
                  r"\d+: alice authenticated, session (\S+)", log)
    assert m, log
    assert "key holder: session %s: alice may use" % m.group(2) in log, log
    # the login's audit event is the monitor's, not the network child's
    assert re.search(r"hvbastiond\[%s\]: info: audit_emit: audit "
                     r"auth-success person=alice .*action=publickey,"
                     r"keyboard-interactive outcome=success" % m.group(1),
                     log), log
