"""The auditors' tools on real recordings: `hvbastion sessions`, `verify`
and `replay --cat`; the hash chain and seal catch an edited byte, and a
session child killed with SIGKILL leaves a recording verify calls
unfinished."""

import json
import os
import re
import signal
import subprocess
import time

import pexpect

from conftest import PROMPT_RE, spawn_env, show, wait_for
import proctree  # noqa: E402 (tests/lib, on the path by conftest)


def hvb(bed, *args, timeout=30):
    cp = subprocess.run([str(bed.bin_dir / "hvbastion"), "-f",
                         str(bed.conf)] + list(args),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout)
    cp.argv = cp.args
    return cp


def sessions(bed, *args):
    cp = hvb(bed, "sessions", "--json", *args)
    assert cp.returncode == 0, show(cp)
    return json.loads(cp.stdout)


def shell_session(bed, *lines):
    """A pty session to pve1 as alice; returns the new session id."""
    before = {s["id"] for s in sessions(bed)}
    argv = bed.ssh_argv("alice", "alice", "pve1", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                          timeout=20, env=spawn_env(bed))
    child.expect(PROMPT_RE)
    for line in lines:
        child.sendline(line)
        child.expect(PROMPT_RE)
    child.sendline(b"exit")
    child.expect(pexpect.EOF)
    child.close()

    def new():
        ids = [s for s in sessions(bed) if s["id"] not in before and
               s["outcome"] != "unfinished"]
        return ids[0] if ids else None
    s = wait_for(new, 10)
    assert s, "no new finished session in %s" % sessions(bed)
    return s


def test_sessions_lists_a_real_session(bed):
    mark = bed.bastion.log_mark()
    s = shell_session(bed, b"echo audit-$((6*7))-marker")
    assert s["person"] == "alice", s
    assert s["targets"] == ["pve1"], s
    assert s["kinds"] == ["shell"], s
    assert s["source"].startswith("127."), s
    assert s["outcome"] == "completed", s
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", s["start"])
    assert isinstance(s["duration"], float) and s["duration"] >= 0, s
    assert s["recordings"] == ["%s-c1.cast" % s["id"]] or \
        len(s["recordings"]) == 1, s
    # the seal is in the daemon log with the session's end
    log = bed.bastion.wait_log("session %s ended" % s["id"], mark)
    assert re.search(r"session %s ended: .*log sealed lines=\d+ "
                     r"chain=[0-9a-f]{64} hmac=[0-9a-f]{64}" % s["id"], log)
    assert re.search(r"recording %s sealed: lines=\d+ chain=[0-9a-f]{64}"
                     % re.escape(s["recordings"][0]), log), log
    # filters
    assert [x["id"] for x in sessions(bed, "--person", "alice")].count(
        s["id"]) == 1
    assert not [x for x in sessions(bed, "--person", "bob")
                if x["id"] == s["id"]]
    assert [x for x in sessions(bed, "--target", "pve1")
            if x["id"] == s["id"]]
    assert not [x for x in sessions(bed, "--target", "vm101")
                if x["id"] == s["id"]]
    day = s["start"][:10]
    assert [x for x in sessions(bed, "--since", day, "--until", day)
            if x["id"] == s["id"]]
    assert not [x for x in sessions(bed, "--until", "2000-01-01")]
    found = sessions(bed, "--grep", "audit-42-marker")
    assert [x["id"] for x in found] == [s["id"]], found
    assert "audit-42-marker" in found[0]["match"]
    assert sessions(bed, "--grep", "no-such-text-anywhere") == []
    # the table form
    cp = hvb(bed, "sessions", "--person", "alice")
    assert cp.returncode == 0 and s["id"].encode() in cp.stdout, show(cp)
    assert b"\x1b" not in cp.stdout


def test_verify_ok_then_edited_byte_fails(bed):
    s = shell_session(bed, b"echo verify-me")
    cp = hvb(bed, "verify", s["id"])
    assert cp.returncode == 0, show(cp)
    assert b"%s: OK" % s["id"].encode() in cp.stdout, show(cp)
    cast = bed.recordings_dir / s["recordings"][0]
    data = bytearray(cast.read_bytes())
    i = data.index(b"verify-me")
    data[i] = ord("V")
    cast.write_bytes(bytes(data))
    cp = hvb(bed, "verify", s["id"])
    assert cp.returncode == 1, show(cp)
    line = data[:i].count(b"\n") + 1
    assert re.search(rb"%s: line %d: chain broken" % (
        re.escape(cast.name.encode()), line), cp.stdout), show(cp)
    assert b"FAILED" in cp.stdout
    cp = hvb(bed, "verify", "--all")
    assert cp.returncode == 1 and b"all: FAILED" in cp.stdout, show(cp)
    # a deleted recording is named
    cast.unlink()
    cp = hvb(bed, "verify", s["id"])
    assert cp.returncode == 1 and b"missing" in cp.stdout, show(cp)


def test_replay_cat_prints_the_output(bed):
    s = shell_session(bed, b"echo replay-$((40+2))-done")
    cp = hvb(bed, "replay", s["id"], "--cat")
    assert cp.returncode == 0, show(cp)
    assert b"replay-42-done" in cp.stdout, show(cp)
    # real-time play with a tiny idle cap ends quickly with the same text
    cp = hvb(bed, "replay", s["id"], "--speed", "50", "--idle-cap", "0.1")
    assert cp.returncode == 0 and b"replay-42-done" in cp.stdout, show(cp)
    cp = hvb(bed, "replay", "../../etc/passwd", "--cat")
    assert cp.returncode != 0, show(cp)


def test_asciinema_still_plays_the_cast(bed):
    s = shell_session(bed, b"echo asciinema-ok")
    cast = bed.recordings_dir / s["recordings"][0]
    # asciinema cat wants a terminal
    child = pexpect.spawn("asciinema", ["cat", str(cast)], timeout=30,
                          env=spawn_env(bed))
    out = child.read()
    child.close()
    assert child.exitstatus == 0 and b"asciinema-ok" in out, out[-2000:]


def test_kill_9_leaves_an_unfinished_recording(bed):
    before = {s["id"] for s in sessions(bed)}
    casts_before = set(bed.recordings_dir.glob("*.cast"))
    kids_before = bed_children(bed)
    argv = bed.ssh_argv("alice", "alice", "pve1", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                          timeout=20, env=spawn_env(bed))
    child.expect(PROMPT_RE)
    child.sendline(b"echo before-the-kill")
    child.expect(PROMPT_RE)
    # the recorder writes at least every second: wait until it has
    def on_disk():
        return any(b"before-the-kill" in p.read_bytes() for p in
                   set(bed.recordings_dir.glob("*.cast")) - casts_before)
    assert wait_for(on_disk, 10), "the output never reached the recording"
    new = bed_children(bed) - kids_before
    assert new, "no session child found"
    for pid in new:
        os.kill(pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    ids = [s for s in sessions(bed) if s["id"] not in before]
    assert len(ids) == 1 and ids[0]["outcome"] == "unfinished", ids
    cp = hvb(bed, "verify", ids[0]["id"])
    assert cp.returncode == 1, show(cp)
    assert b"unfinished (no seal)" in cp.stdout, show(cp)
    assert b"UNFINISHED" in cp.stdout and b"chain broken" not in cp.stdout
    cp = hvb(bed, "replay", ids[0]["id"], "--cat")
    assert cp.returncode == 0 and b"before-the-kill" in cp.stdout, show(cp)


def bed_children(bed):
    return set(proctree.children(bed.bastion.pid))


def test_hostile_output_neutralised(bed):
    """Sequences that set the clipboard or make the terminal answer are
    dropped when replayed to a terminal; --grep prints no escape."""
    s = shell_session(bed, b"printf '\\033]52;c;aGk=\\007\\033[6nhostile-%s\\n'"
                      b" zz")
    hvb_path = str(bed.bin_dir / "hvbastion")
    child = pexpect.spawn(hvb_path, ["-f", str(bed.conf), "replay", s["id"],
                                     "--cat"], timeout=20,
                          env=spawn_env(bed))
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert b"hostile-zz" in out, out
    assert b"\x1b]52" not in out and b"\x1b[6n" not in out, out
    cp = hvb(bed, "sessions", "--grep", "hostile-zz")
    assert cp.returncode == 0 and s["id"].encode() in cp.stdout, show(cp)
    assert b"\x1b" not in cp.stdout and b"\x07" not in cp.stdout, show(cp)


def test_replay_keys_under_a_terminal(bed):
    """Pause, speed and quit keys in a real pty."""
    s = shell_session(bed, b"sleep 1; echo keys-$((1+1))-ok")
    child = pexpect.spawn(str(bed.bin_dir / "hvbastion"),
                          ["-f", str(bed.conf), "replay", s["id"]],
                          timeout=20, env=spawn_env(bed))
    child.send(b" ")        # pause
    time.sleep(0.3)
    child.send(b"+")
    child.send(b" ")        # resume
    child.expect(b"keys-2-ok")
    child.send(b"q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
