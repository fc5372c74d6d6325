"""The recorder's guarantees through a real client: durability (the
recording files are fdatasync'd while data flows, not only at the end),
byte-exact terminal recording, rights on the recordings, fail-closed on a
full disk, exec streams kept, replay from a time."""

import os
import re
import signal
import subprocess

import pexpect

from conftest import PROMPT_RE, spawn_env, show, wait_for
from test_auditor import hvb, sessions, shell_session  # noqa: F401


def test_recordings_synced_while_data_flows(bed):
    """strace on the daemon (and its session children) sees fdatasync of
    the terminal recording, its chain and the session log while the
    session runs: before the session ends (the end uses fsync)."""
    out = bed.root / "strace-sync.txt"
    tracer = subprocess.Popen(
        ["strace", "-f", "-qq", "-y", "-e", "trace=fdatasync,fsync",
         "-o", str(out), "-p", str(bed.bastion.pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # strace prints nothing when attached: wait for its ptrace
        assert wait_for(lambda: _traced(bed.bastion.pid), 10), \
            "strace did not attach"
        argv = bed.ssh_argv("alice", "alice", "pve1", tty=True)
        child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                              timeout=30, env=spawn_env(bed))
        child.expect(PROMPT_RE)
        child.sendline(b"for i in 1 2 3 4; do echo sync-tick-$i; "
                       b"sleep 0.5; done; echo sync-$((2*3))-done")
        child.expect(b"sync-6-done")
        child.expect(PROMPT_RE)
        # the syncs seen so far happened while the session was running
        during = _wait_text(out, lambda t: ".cast.chain>" in t and
                            re.search(r"fdatasync\(\d+<[^>]*\.cast>", t))
        child.sendline(b"exit")
        child.expect(pexpect.EOF)
        child.close()
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(10)
    assert re.search(r"fdatasync\(\d+<[^>]*-c\d+\.cast>\) += 0", during), \
        during[-3000:]
    assert re.search(r"fdatasync\(\d+<[^>]*-c\d+\.cast\.chain>\) += 0",
                     during), during[-3000:]
    assert re.search(r"fdatasync\(\d+<[^>]*\.jsonl>\) += 0", during), \
        during[-3000:]


def _traced(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1]) != 0
    return False


def _wait_text(path, pred, timeout=10):
    def get():
        try:
            t = path.read_text(errors="replace")
        except OSError:
            return None
        return t if pred(t) else None
    return wait_for(get, timeout) or (path.read_text(errors="replace")
                                      if path.exists() else "")
