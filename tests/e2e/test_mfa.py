"""Two factors on every login: the key, then a TOTP code through PAM
(pam_hvbastion on liboath, pam_faillock), asked by keyboard-interactive.

Codes are computed with oathtool, as a person's authenticator app would.
A code is accepted once (RFC 6238 replay rule), so the tests hand out
codes of successive time steps within the accepted window (one step either
side) and wait for the clock when they run out.
"""

import json
import os
import subprocess
import threading

import paramiko
import pytest

from conftest import askpass, fresh_code, mfa_ssh, show, started_bed



@pytest.fixture(scope="module")
def bed(request):
    yield from started_bed(request, "mfa", mfa=True)


def test_key_then_code(bed):
    mark = bed.bastion.log_mark()
    cp = mfa_ssh(bed, "alice", fresh_code(bed, "alice"), "pve1", "echo",
                 "two-factors")
    assert cp.returncode == 0 and cp.stdout == b"two-factors\n", show(cp)
    log = bed.bastion.wait_log("accepted keyboard-interactive", mark)
    assert "accepted publickey" in log and "for alice" in log, log
    # the session's event log names both methods
    sid = [l for l in log.splitlines() if "started: alice" in l][-1]
    sid = sid.split("session ")[1].split()[0]
    ev = json.loads((bed.recordings_dir / ("%s.jsonl" % sid))
                    .read_text().splitlines()[0])
    assert ev["methods"] == "publickey,keyboard-interactive", ev


def test_code_typed_at_a_terminal(bed):
    """The stock client on a terminal: the prompt, the code not echoed."""
    import pexpect
    argv = bed.ssh_argv("bob", "bob", "vm101", batch=False, tty=True)
    child = pexpect.spawn(argv[0], argv[1:], timeout=20)
    try:
        child.expect("Verification code: ")
        code = fresh_code(bed, "bob")
        child.sendline(code)
        child.expect(r"[$#] ")
        assert code.encode() not in child.before
        child.sendline("echo at-$((6*7))")
        child.expect("at-42")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_key_alone_is_not_enough(bed):
    """Partial success after the key: without a code nothing opens."""
    cp = subprocess.run(bed.ssh_argv("alice", "alice", "pve1", "id"),
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30)
    assert cp.returncode == 255 and b"uid=" not in cp.stdout, show(cp)
    assert b"Permission denied (keyboard-interactive)" in cp.stderr, show(cp)


def test_code_alone_is_not_enough(bed):
    """Without the key, the code is never even asked."""
    other = bed.root / "other_key"
    if not other.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(other)], check=True)
    argv = bed.ssh_argv("alice", str(other), "pve1", "id", batch=False,
                        opts=("NumberOfPasswordPrompts=1",))
    env = dict(os.environ, SSH_ASKPASS=str(askpass(bed, "000000", "np")),
               SSH_ASKPASS_REQUIRE="force")
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=30)
    assert cp.returncode == 255 and b"uid=" not in cp.stdout, show(cp)
    assert b"Permission denied (publickey)" in cp.stderr, show(cp)


def test_wrong_and_empty_codes_refused(bed):
    good = fresh_code(bed, "bob")
    wrong = "%06d" % ((int(good) + 1) % 1000000)
    for code in (wrong, ""):
        mark = bed.bastion.log_mark()
        cp = mfa_ssh(bed, "bob", code, "vm101", "id")
        assert cp.returncode == 255 and b"uid=" not in cp.stdout, show(cp)
        log = bed.bastion.wait_log("keyboard-interactive", mark)
        assert "authentication failed for bob" in log, log
    # the good code still works (and clears bob's failure tally)
    cp = mfa_ssh(bed, "bob", good, "vm101", "echo", "ok")
    assert cp.returncode == 0 and cp.stdout == b"ok\n", show(cp)


def test_same_code_twice_in_a_row(bed):
    code = fresh_code(bed, "alice")
    cp = mfa_ssh(bed, "alice", code, "pve1", "true")
    assert cp.returncode == 0, show(cp)
    cp = mfa_ssh(bed, "alice", code, "pve1", "echo", "replayed")
    assert cp.returncode == 255 and b"replayed" not in cp.stdout, show(cp)


def test_same_code_in_two_parallel_logins(bed):
    """RFC 6238 §5.2: exactly one of two simultaneous logins wins."""
    code = fresh_code(bed, "alice")
    results = []

    def login():
        results.append(mfa_ssh(bed, "alice", code, "pve1", "echo", "won"))

    threads = [threading.Thread(target=login) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [cp for cp in results if cp.returncode == 0]
    assert len(won) == 1, "\n\n".join(show(cp) for cp in results)
    assert won[0].stdout == b"won\n"


def test_paramiko_keyboard_interactive(bed):
    code = fresh_code(bed, "bob")
    prompts_seen = []

    def handler(title, instructions, prompts):
        prompts_seen.extend(p for p, _echo in prompts)
        assert all(not echo for _p, echo in prompts), "the code is echoed"
        return [code for _ in prompts]

    key = paramiko.Ed25519Key.from_private_key_file(str(bed.users["bob"].key))
    t = paramiko.Transport((bed.bastion.address, bed.bastion.port))
    try:
        t.start_client(timeout=10)
        remaining = t.auth_publickey("bob", key)
        assert remaining == ["keyboard-interactive"], remaining
        assert not t.is_authenticated()
        t.auth_interactive("bob", handler)
        assert t.is_authenticated()
        assert prompts_seen == ["Verification code: "], prompts_seen
        chan = t.open_session()
        chan.exec_command("vm101 echo paramiko")
        assert chan.makefile("rb").read() == b"paramiko\n"
        assert chan.recv_exit_status() == 0
    finally:
        t.close()


def test_user_name_may_not_change_between_factors(bed):
    key = paramiko.Ed25519Key.from_private_key_file(
        str(bed.users["alice"].key))
    t = paramiko.Transport((bed.bastion.address, bed.bastion.port))
    mark = bed.bastion.log_mark()
    try:
        t.start_client(timeout=10)
        assert t.auth_publickey("alice", key) == ["keyboard-interactive"]
        with pytest.raises((paramiko.SSHException, EOFError)):
            t.auth_interactive("bob", lambda *a: ["000000"])
        assert not t.is_authenticated()
    finally:
        t.close()
    log = bed.bastion.wait_log("user name changed", mark)
    assert "changed to bob" in log, log


def test_three_failures_lock_the_person(bed):
    """pam_faillock: 3 failures in 15 minutes lock, even for a right code."""
    person = "carol"
    mark = bed.bastion.log_mark()
    for i in range(3):
        cp = mfa_ssh(bed, person, "%06d" % (111111 * (i + 1)), "pve1", "id")
        assert cp.returncode == 255, show(cp)
    cp = mfa_ssh(bed, person, fresh_code(bed, person), "pve1", "id")
    assert cp.returncode == 255, show(cp)
    # locked: refused at authentication, not by the target policy
    assert b"Permission denied" in cp.stderr, show(cp)
    assert b"hvbastion:" not in cp.stderr, show(cp)
    log = bed.bastion.log_since(mark)
    assert log.count("authentication failed for carol") >= 4, log
    assert "PAM message to carol" in log and "locked" in log, log
    assert (bed.faillock_dir / person).exists()


def test_enrolment_cli(bed):
    hvb = str(bed.bin_dir / "hvbastion")
    old = bed.users["carol"].totp_secret
    cp = subprocess.run([hvb, "-f", str(bed.conf), "totp", "enroll",
                         "--json", "carol"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    out = json.loads(cp.stdout)
    assert out["person"] == "carol" and out["secret"] != old
    assert out["uri"].startswith("otpauth://totp/hvbastion:carol?secret=" +
                                 out["secret"])
    state = bed.totp_dir / "carol"
    assert state.stat().st_mode & 0o777 == 0o600
    assert out["secret"] in state.read_text()
    bed.users["carol"].totp_secret = out["secret"]
    # the terminal form draws a QR code and prints the URI
    cp = subprocess.run([hvb, "-f", str(bed.conf), "totp", "enroll",
                         "carol"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    assert "\u2588" in cp.stdout and "otpauth://totp/" in cp.stdout
    # unknown and hostile names are refused
    for name in ("mallory", "../alice", "a;b"):
        cp = subprocess.run([hvb, "-f", str(bed.conf), "totp", "enroll",
                             name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=30)
        assert cp.returncode == 1 and "no person" in cp.stderr, cp.stderr


def test_symlinked_state_file_refused(bed):
    """pam_oath CVE-2024-47191: a state file that is a symlink is not
    followed; the login fails closed."""
    state = bed.totp_dir / "alice"
    saved = bed.root / "alice.totp.saved"
    os.rename(state, saved)
    os.symlink(saved, state)
    try:
        cp = mfa_ssh(bed, "alice", fresh_code(bed, "alice"), "pve1", "id")
        assert cp.returncode == 255 and b"uid=" not in cp.stdout, show(cp)
    finally:
        os.unlink(state)
        os.rename(saved, state)


def test_unknown_names_get_the_same_prompts(bed):
    """With keyboard-interactive first (password + TOTP all in PAM), an
    unknown name gets the same conversation as a person, then a refusal:
    the prompts do not tell which names exist."""
    b = bed.make_bastion("kbdint-only", extra="auth-methods "
                         "keyboard-interactive")
    b.start()
    try:
        seen = {}
        for name in ("bob", "mallory", "root"):
            prompts = []

            def handler(title, instructions, plist):
                prompts.extend(p for p, _echo in plist)
                return ["000000" for _ in plist]

            t = paramiko.Transport((b.address, b.port))
            try:
                t.start_client(timeout=10)
                with pytest.raises(paramiko.SSHException):
                    t.auth_interactive(name, handler)
                assert not t.is_authenticated()
            finally:
                t.close()
            seen[name] = prompts
        assert seen["bob"] == ["Verification code: "], seen
        assert seen["mallory"] == seen["bob"] == seen["root"], seen
        log = b.log_text()
        assert "authentication failed for mallory" in log, log
        assert "unknown user" in log, log
    finally:
        b.stop()
