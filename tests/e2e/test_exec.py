"""Commands without a pty through the bastion: streams kept apart, exit
status and signals passed back, bulk data byte-exact both ways,
ControlMaster multiplexing, environment filtering, exec recording."""

import hashlib
import json
import os
import re
import subprocess
import threading

from paramiko.common import MSG_CHANNEL_REQUEST

from conftest import show, ssh, wait_for

MiB = 1024 * 1024
KEYSTREAM = ("openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f "
             "-iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null"
             " | head -c %d")


def paramiko_exec(bed, login, key, command, timeout=30):
    """(stdout, stderr, exit_status, [exit-signal names]) via paramiko.

    paramiko 2.12 ignores exit-signal, so the channel-request handler of
    this transport is wrapped to see it."""
    client = bed.paramiko_client(login, key)
    try:
        t = client.get_transport()
        signals = []
        table = dict(t._channel_handler_table)
        orig = table[MSG_CHANNEL_REQUEST]

        def handler(chan, m):
            pos = m.packet.tell()
            if m.get_text() == "exit-signal":
                m.get_boolean()
                signals.append(m.get_text())
            m.packet.seek(pos)
            orig(chan, m)

        table[MSG_CHANNEL_REQUEST] = handler
        t._channel_handler_table = table
        chan = t.open_session(timeout=timeout)
        chan.settimeout(timeout)
        chan.exec_command(command)
        out = []
        err = []

        def drain_err():
            f = chan.makefile_stderr("rb")
            err.append(f.read())

        th = threading.Thread(target=drain_err, daemon=True)
        th.start()
        out.append(chan.makefile("rb").read())
        th.join(timeout)
        assert chan.status_event.wait(timeout), "no exit status/close"
        status = chan.recv_exit_status()
        return out[0], b"".join(err), status, signals
    finally:
        client.close()


def test_stdout_and_stderr_kept_apart(bed):
    cp = ssh(bed, "alice", "alice", "pve1 sh -c 'echo out; echo err >&2'")
    assert cp.returncode == 0, show(cp)
    assert cp.stdout == b"out\n", show(cp)
    assert cp.stderr == b"err\n", show(cp)
    out, err, status, sigs = paramiko_exec(
        bed, "alice", "alice", "pve1 sh -c 'echo out; echo err >&2'")
    assert (out, err, status, sigs) == (b"out\n", b"err\n", 0, [])


def test_exit_statuses_passed_back(bed):
    for code in (0, 1, 3, 255):
        cp = ssh(bed, "alice", "alice", "pve1 exit %d" % code)
        assert cp.returncode == code, show(cp)
        assert b"hvbastion" not in cp.stderr, show(cp)
    _, _, status, _ = paramiko_exec(bed, "alice", "alice", "pve1 exit 7")
    assert status == 7


def test_death_by_signal(bed):
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice", "pve1 sh -c 'kill -TERM $$'",
             timeout=30)
    assert cp.returncode == 255, show(cp)
    # the channel ended on the target's signal (not on a timeout)
    log = bed.bastion.wait_log("outcome=closed", mark)
    assert re.search(r"outcome=closed .*detail=signal TERM", log), log
    out, err, status, sigs = paramiko_exec(
        bed, "alice", "alice", "pve1 sh -c 'kill -TERM $$'")
    assert sigs == ["TERM"], (sigs, status, err)
    assert status == -1, "an exit-status was sent as well: %r" % status


def test_100MiB_download_byte_exact(bed):
    n = 100 * MiB
    want = hashlib.sha256(subprocess.run(
        ["sh", "-c", KEYSTREAM % n], stdout=subprocess.PIPE,
        check=True).stdout).hexdigest()
    argv = bed.ssh_argv("alice", "alice", "pve1 " + KEYSTREAM % n)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # a hang guard, as subprocess.run(timeout=) is: a stalled stream
    # ends in a kill, reported below, rather than a test that never ends
    guard = threading.Timer(600, p.kill)
    guard.start()
    h = hashlib.sha256()
    got = 0
    try:
        while True:
            chunk = p.stdout.read(MiB)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        err = p.stderr.read()
        rc = p.wait(timeout=30)
    finally:
        guard.cancel()
    assert rc != -9, "the stream stalled at %d bytes: client killed" % got
    assert rc == 0, (rc, err)
    assert got == n, (got, err)
    assert h.hexdigest() == want


def test_20MiB_upload_byte_exact(bed):
    data = os.urandom(20 * MiB)
    cp = ssh(bed, "alice", "alice", "pve1 sha256sum", input=data,
             timeout=120)
    assert cp.returncode == 0, show(cp)
    assert cp.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_stdin_eof_reaches_target(bed):
    cp = ssh(bed, "alice", "alice", "pve1 wc -c", input=b"x" * 12345,
             timeout=30)
    assert cp.returncode == 0 and cp.stdout.strip() == b"12345", show(cp)


class ControlMaster:
    """An OpenSSH ControlMaster (-f -N) to the bastion as alice, with its
    own debug log (-vv -E): the log tells what the master did on its one
    connection.  A context manager: leaving it stops the master."""

    def __init__(self, bed, name):
        self.bed = bed
        self.sock = bed.root / ("%s.sock" % name)
        self.log = bed.root / ("%s-master.log" % name)
        self.cm = ["-o", "ControlPath=%s" % self.sock]
        self.pid = None

    def __enter__(self):
        argv = self.bed.ssh_argv("alice", "alice", opts=())
        # -vv before the LogLevel=ERROR of ssh_argv: the first one counts
        argv[1:1] = ["-vv", "-E", str(self.log)] + self.cm + [
            "-o", "ControlMaster=yes", "-o", "ControlPersist=no",
            "-f", "-N"]
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=30)
        cp.argv = argv
        assert cp.returncode == 0, show(cp)
        try:
            chk = self.check()
            m = re.search(rb"pid=(\d+)", chk.stderr + chk.stdout)
            assert chk.returncode == 0 and m, chk
            self.pid = int(m.group(1))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ssh", "-F", "/dev/null"] + self.cm +
                       ["-O", "exit", "alice@%s" % self.bed.bastion.address],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=10)
        if self.pid is not None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass

    def check(self):
        """ssh -O check: is the master (and its connection) alive?"""
        return subprocess.run(
            ["ssh", "-F", "/dev/null"] + self.cm +
            ["-O", "check", "alice@%s" % self.bed.bastion.address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)

    def argv(self, cmd):
        """A client that must go through the master (never on its own)."""
        argv = self.bed.ssh_argv("alice", "alice", cmd)
        argv[1:1] = self.cm + ["-o", "ControlMaster=no"]
        return argv

    def log_mark(self):
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, mark):
        with open(self.log, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")


def test_controlmaster(bed):
    with ControlMaster(bed, "cm") as cm:
        mark = bed.bastion.log_mark()
        for word in ("a", "b"):
            argv = cm.argv("pve1 echo %s" % word)
            c = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            c.argv = argv
            assert c.returncode == 0 and c.stdout == word.encode() + b"\n", \
                show(c)
            # (a dead master makes ssh fall back to a connection of its own)
            assert cm.check().returncode == 0, \
                "the ControlMaster connection died after channel %r" % word

        # two channels at once on the one connection: both commands wait
        # until the bastion has allowed the two of them
        mark2 = bed.bastion.log_mark()
        flag = bed.root / "cm-both-open"
        procs = [subprocess.Popen(cm.argv(
            "pve1 sh -c 'while [ ! -e %s ]; do sleep 0.05; done; echo c%d'"
            % (flag, i)), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in (1, 2)]
        try:
            # (the audit event of a command started on the target)
            both = wait_for(lambda: bed.bastion.log_since(mark2).count(
                " outcome=started ") == 2, 30)
            flag.touch()
            outs = [p.communicate(timeout=30) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert both, bed.bastion.log_since(mark2)
        for i, (p, (o, e)) in enumerate(zip(procs, outs), 1):
            assert p.returncode == 0 and o == b"c%d\n" % i, (p.returncode,
                                                             o, e)
        # concurrent, on one connection: the second channel was allowed
        # before the first ended, in the same session (no timing)
        log = bed.bastion.log_since(mark2).splitlines()
        opened = [i for i, l in enumerate(log) if "allow alice" in l]
        ended = [i for i, l in enumerate(log) if " ended (" in l]
        assert len(opened) == 2 and ended and opened[1] < ended[0], log
        sessions = {re.search(r"session (\S+) channel", log[i]).group(1)
                    for i in opened}
        assert len(sessions) == 1, sessions
        assert cm.check().returncode == 0, "the ControlMaster connection died"
        # the multiplexed sessions did not authenticate again
        assert "authentication failed" not in bed.bastion.log_since(mark)


def test_controlmaster_exit_status_after_close(bed):
    """A command ends its output (EOF) before it exits.  A ControlMaster
    whose client's input has ended (stdin /dev/null) closes that session
    channel as soon as the EOF arrives, before the exit status, which the
    target sends when the command exits.  The status must still reach the
    client: the bastion once took that CLOSE for a client gone away and
    dropped it, and the client exited 255 (the ControlMaster flake under
    load, where the target's EOF and exit status come on two reads).

    The command waits for a file that the test creates once the master's
    log says it sent CLOSE, so the order is certain, not timed."""
    flag = bed.root / "cm-exit-flag"
    with ControlMaster(bed, "cm-exit") as cm:
        mark = bed.bastion.log_mark()
        lmark = cm.log_mark()
        argv = cm.argv("pve1 sh -c 'echo out; exec >&- 2>&-; "
                       "while [ ! -e %s ]; do sleep 0.05; done; exit 3'"
                       % flag)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            sent = wait_for(lambda: re.search(
                r"channel \d+: send close", cm.log_since(lmark)), 30)
            flag.touch()
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert sent, "the master never closed the channel:\n%s" % \
            cm.log_since(lmark)[-3000:]
        assert (p.returncode, out) == (3, b"out\n"), (p.returncode, out, err)
        assert cm.check().returncode == 0, "the ControlMaster connection died"
        text = bed.bastion.wait_log(" ended (status 3)", mark)
        assert " ended (status 3)" in text, text
        assert "exit-status 3" in text, text


def test_accept_env_filters(bed):
    argv = bed.ssh_argv("alice", "alice",
                        "pve1 echo \"[$LC_HVBTEST][$HVB_SECRET]\"",
                        opts=("SendEnv=LC_HVBTEST", "SendEnv=HVB_SECRET"))
    env = dict(os.environ, LC_HVBTEST="ok-1", HVB_SECRET="leak")
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=30)
    cp.argv = argv
    assert cp.returncode == 0, show(cp)
    # LC_* is in accept-env and reaches the target; HVB_* is not (the
    # target's sshd would accept it, so only the bastion can drop it)
    assert cp.stdout == b"[ok-1][]\n", show(cp)


def _jsonl_events(bed):
    out = []
    for p in bed.recordings_dir.glob("*.jsonl"):
        for line in p.read_text(errors="replace").splitlines():
            try:
                out.append((p, json.loads(line)))
            except ValueError:
                pass
    return out


def test_exec_recorded(bed):
    marker = "rec-%d" % os.getpid()
    mark = bed.bastion.log_mark()
    cp = ssh(bed, "alice", "alice",
             "pve1 sh -c 'echo %s; echo e >&2; exit 3'" % marker)
    assert cp.returncode == 3, show(cp)

    def find():
        for p, ev in _jsonl_events(bed):
            if isinstance(ev, dict) and marker in str(ev.get("command", "")):
                if ev.get("exit_status") is not None:
                    return p, ev
        return None
    found = wait_for(find, 5)
    assert found, "no recorded exec event with command and exit_status " \
        "for %s in %s" % (marker, bed.recordings_dir)
    path, ev = found
    assert ev["exit_status"] == 3, ev
    # byte counts: a number under a key naming stdout equals len(marker)+1
    def ints(obj, path=""):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from ints(v, path + "/" + str(k))
        elif isinstance(obj, int) and not isinstance(obj, bool):
            yield path.lower(), obj
    counts = [(k, v) for k, v in ints(ev) if "out" in k]
    assert (any(v == len(marker) + 1 for k, v in counts)), \
        "no stdout byte count %d in %r" % (len(marker) + 1, ev)
    log = bed.bastion.log_since(mark)
    assert "alice" in log and "pve1" in log, log
