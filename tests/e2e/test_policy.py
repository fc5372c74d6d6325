"""The policy, end to end: roles kept apart (ANSSI R7/R8), every decision
logged with the rule that made it, the person told only that access is not
granted; restrictions by login, channel, source network and validity dates;
SIGHUP reloads that keep live sessions, and bad reloads that keep the old
policy.

The test bed's policy (tests/lib/testbed.py): alice holds hv-admins
(hypervisor side, pve1), bob guest-admins (guest side, vm101), carol
auditors (audit side, no target)."""

import copy
import json
import os
import signal

import pexpect
import pytest

from conftest import (PROMPT_RE, refusal_lines, show, spawn_env, ssh,
                      wait_for)

MENU_PROMPT = b"Choose a target (number or name, q to quit): "


def _events(bed, kind):
    out = []
    for p in bed.recordings_dir.glob("*.jsonl"):
        for line in p.read_text(errors="replace").splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == kind:
                out.append(ev)
    return out


def _reload(bed, ok=True):
    """SIGHUP the daemon and wait for the outcome in its log."""
    mark = bed.bastion.log_mark()
    os.kill(bed.bastion.pid, signal.SIGHUP)
    needle = "configuration reloaded" if ok else "the old one stays in force"
    assert needle in bed.bastion.wait_log(needle, mark, timeout=10), \
        bed.bastion.log_since(mark)
    return bed.bastion.log_since(mark)


@pytest.fixture
def policy(bed):
    """Change the bed's policy for one test (roles, users' roles, extra
    user lines, extra text), reload, and put everything back after."""
    saved_roles = copy.deepcopy(bed.roles)
    saved_users = {n: (list(u.roles), list(getattr(u, "extra_lines", [])))
                   for n, u in bed.users.items()}

    def apply(ok=True):
        bed.write_bastion_config()
        return _reload(bed, ok)

    yield apply
    bed.roles = saved_roles
    for n, (roles, extra) in saved_users.items():
        bed.users[n].roles = roles
        bed.users[n].extra_lines = extra
    bed.policy_extra = ""
    apply()


def _assert_denied(bed, cp, person, target, mark, rule_part):
    assert cp.returncode == 255, show(cp)
    want = "hvbastion: access to target %s is not granted to %s" % (
        target, person)
    assert refusal_lines(cp.stderr) == [want], show(cp)
    # the person learns nothing about the policy's internals
    err = cp.stderr.decode(errors="replace")
    assert ".conf" not in err and "grant" not in err.replace(
        "granted", ""), show(cp)
    log = bed.bastion.log_since(mark)
    lines = [l for l in log.splitlines()
             if ": deny %s " % person in l and "@%s " % target in l]
    assert lines, log
    assert rule_part in lines[-1], lines[-1]
    return lines[-1]


# --------------------------------------------------------------------------
# separation of the sides, with the default policy

@pytest.mark.parametrize("person,target", [
    ("bob", "pve1"), ("alice", "vm101"), ("carol", "pve1"),
    ("carol", "vm101")])
def test_other_side_denied(bed, person, target):
    mark = bed.bastion.log_mark()
    cp = ssh(bed, person, person, target, "id -un")
    line = _assert_denied(bed, cp, person, target, mark,
                          'default deny: no grant of user "%s"' % person)
    # the rule names the user's declaration: file:line
    assert "%s:" % bed.conf in line, line

    def decided():
        return [e for e in _events(bed, "decision")
                if e.get("decision") == "deny" and
                e.get("target") == target and
                e.get("rule", "").startswith("default deny: no grant of"
                                             " user \"%s\"" % person)]
    assert wait_for(decided), _events(bed, "decision")


def test_own_side_allowed_and_rule_logged(bed):
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice", "pve1", "id -un")
    assert cp.returncode == 0 and cp.stdout == b"hvbpve\n", show(cp)
    cp = ssh(bed, "bob+vm101", "bob", "id -un")
    assert cp.returncode == 0 and cp.stdout == b"hvbguest\n", show(cp)
    log = bed.bastion.log_since(mark)
    assert 'allow alice (default)@pve1 (exec)' in log, log
    assert 'grant of role "hv-admins" (user alice, %s:' % bed.conf in log, log
    assert 'grant of role "guest-admins" (user bob,' in log, log


def test_auditor_menu_is_empty(bed):
    argv = bed.ssh_argv("carol", "carol", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, env=spawn_env(bed))
    child.expect(b"no target is granted to you")
    child.expect(pexpect.EOF)
    child.close()
    assert b"pve1" not in child.before and b"vm101" not in child.before


def test_menu_shows_only_granted(bed):
    for person, yes, no in (("alice", b"pve1", b"vm101"),
                            ("bob", b"vm101", b"pve1")):
        argv = bed.ssh_argv(person, person, tty=True)
        child = pexpect.spawn(argv[0], argv[1:], timeout=20,
                              env=spawn_env(bed))
        child.expect_exact(MENU_PROMPT)
        assert yes in child.before and no not in child.before, child.before
        child.send(b"q\r")
        child.expect(pexpect.EOF)
        child.close()


# --------------------------------------------------------------------------
# restrictions (the policy is changed and reloaded for each test)

def test_login_restricted(bed, policy):
    bed.roles["hv-admins"]["grants"] = [
        {"targets": ['"pve1"'], "login": "hvbpve",
         "channels": "shell exec"}]
    policy()
    cp = ssh(bed, "alice+pve1", "alice", "id -un")
    assert cp.returncode == 0 and cp.stdout == b"hvbpve\n", show(cp)
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+hvbguest+pve1", "alice", "id -un")
    _assert_denied(bed, cp, "alice", "pve1", mark,
                   'but not login "hvbguest" (only "hvbpve")')
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice", "hvbguest@pve1", "id -un")
    _assert_denied(bed, cp, "alice", "pve1", mark, 'but not login')


def test_channels_restricted(bed, policy):
    bed.roles["hv-admins"]["grants"] = [
        {"targets": ['"pve1"'], "channels": "exec"}]
    policy()
    cp = ssh(bed, "alice+pve1", "alice", "echo", "exec-ok")
    assert cp.returncode == 0 and cp.stdout == b"exec-ok\n", show(cp)
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", tty=False, input=b"id -un\n")
    _assert_denied(bed, cp, "alice", "pve1", mark, "but not channel shell")
    # and the menu, which offers shells, offers nothing
    argv = bed.ssh_argv("alice", "alice", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, env=spawn_env(bed))
    child.expect(b"no target is granted to you")
    child.expect(pexpect.EOF)
    child.close()


def test_source_network_restricted(bed, policy):
    bed.users["alice"].extra_lines = ['from "127.0.0.99"']
    policy()
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", "id -un",
             opts=("-b", "127.0.0.1"))
    _assert_denied(bed, cp, "alice", "pve1", mark,
                   'source 127.0.0.1 is not allowed for user "alice"')
    cp = ssh(bed, "alice+pve1", "alice", "id -un",
             opts=("-b", "127.0.0.99"))
    assert cp.returncode == 0 and cp.stdout == b"hvbpve\n", show(cp)


def test_source_network_cidr(bed, policy):
    bed.users["alice"].extra_lines = ['from "127.0.0.96/29" "::1"']
    policy()
    cp = ssh(bed, "alice+pve1", "alice", "id -un",
             opts=("-b", "127.0.0.97"))
    assert cp.returncode == 0, show(cp)
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", "id -un",
             opts=("-b", "127.0.0.104"))
    _assert_denied(bed, cp, "alice", "pve1", mark, "is not allowed")


def test_validity_in_the_past(bed, policy):
    bed.users["alice"].extra_lines = ['valid-from "2019-01-01"',
                                      'valid-until "2020-01-01"']
    policy()
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", "id -un")
    _assert_denied(bed, cp, "alice", "pve1", mark,
                   'user "alice" is no longer valid (valid-until'
                   ' 2020-01-01)')


def test_validity_in_the_future(bed, policy):
    bed.users["alice"].extra_lines = ['valid-from "2999-01-01"']
    policy()
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+pve1", "alice", "id -un")
    _assert_denied(bed, cp, "alice", "pve1", mark, "is not valid yet")


def test_exception_allows_both_sides_and_is_logged(bed, policy):
    bed.users["alice"].roles = ["hv-admins", "guest-admins"]
    bed.policy_extra = ('separation-exception "alice" "night duty for'
                        ' both sides"')
    log = policy()
    assert 'separation exception: alice may hold both' in log, log
    assert '"night duty for both sides" (%s:' % bed.conf in log, log
    cp = ssh(bed, "alice+vm101", "alice", "id -un")
    assert cp.returncode == 0 and cp.stdout == b"hvbguest\n", show(cp)


def test_both_sides_without_exception_refused(bed, policy):
    bed.users["alice"].roles = ["hv-admins", "guest-admins"]
    log = policy(ok=False)
    assert ('holds the hypervisor-side role "hv-admins" and the'
            ' guest-side role "guest-admins"') in log, log
    # the old policy is still in force
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice+vm101", "alice", "id -un")
    _assert_denied(bed, cp, "alice", "vm101", mark, "default deny")


# --------------------------------------------------------------------------
# reloads

def test_reload_keeps_live_session(bed, policy):
    argv = bed.ssh_argv("alice+pve1", "alice", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, env=spawn_env(bed))
    try:
        child.expect(PROMPT_RE)
        bed.users["alice"].roles = []       # revoke
        log = policy()
        assert "SIGHUP: re-reading" in log, log
        # the live session goes on
        child.sendline(b"echo still-$((6*7))")
        child.expect(b"still-42")
        child.expect(PROMPT_RE)
        # a new connection is refused
        mark = bed.bastion.log_mark()
        cp = ssh(bed, "alice+pve1", "alice", "id -un")
        _assert_denied(bed, cp, "alice", "pve1", mark, "default deny")
        child.sendline(b"echo after-$((6*7))")
        child.expect(b"after-42")
        child.sendline(b"exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()


def test_bad_reload_keeps_old_policy(bed, policy):
    bed.policy_extra = "frobnicate yes"
    bed.users["bob"].roles = ["hv-admins"]     # would grant pve1 to bob
    log = policy(ok=False)
    assert "%s:" % bed.conf in log and 'unknown keyword "frobnicate"' \
        in log, log
    cp = ssh(bed, "alice+pve1", "alice", "id -un")
    assert cp.returncode == 0 and cp.stdout == b"hvbpve\n", show(cp)
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "bob+pve1", "bob", "id -un")
    _assert_denied(bed, cp, "bob", "pve1", mark, "default deny")
