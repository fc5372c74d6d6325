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
import proctree  # noqa: E402 (tests/lib, on the path by conftest)


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
    return int(proctree.status(pid).get("TracerPid", ["0"])[0]) != 0


def _wait_text(path, pred, timeout=10):
    def get():
        try:
            t = path.read_text(errors="replace")
        except OSError:
            return None
        return t if pred(t) else None
    return wait_for(get, timeout) or (path.read_text(errors="replace")
                                      if path.exists() else "")


def hostile_parts():
    """Byte streams a terminal recorder gets wrong: invalid UTF-8,
    sequences split between two writes, escape sequences, NUL, and 3-byte
    characters across the recorder's 8 KiB chunks."""
    import random
    rnd = random.Random(5)
    first = (b"plain \xff\xfe \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \x80"
             b" nul\x00nul \x1b]52;c;aGk=\x07\x1b[6n\x1b[31mred\x1b[0m"
             b" \xe2\x82\xac ok\r\n" + b"a" + "€".encode() * 6000 +
             bytes(rnd.randrange(256) for _ in range(40000)) +
             b"split-\xe2\x82")                 # ends inside a character
    second = b"\xac-joined \xf0\x9f"            # finishes it, starts one
    third = b"\x41 broken, then \xf0\x9f\x98\x80 whole\r\n"
    return [first, second, third]


def test_hostile_bytes_round_trip_exactly(bed):
    parts = hostile_parts()
    files = []
    for i, data in enumerate(parts):
        p = bed.root / ("hostile-%d.bin" % i)
        p.write_bytes(data)
        os.chmod(p, 0o644)
        files.append(str(p))
    before = {s["id"] for s in sessions(bed)}
    argv = bed.ssh_argv("alice", "alice", "pve1", tty=True)
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                          timeout=30, env=spawn_env(bed))
    child.expect(PROMPT_RE)
    child.sendline(("stty -opost; printf '<<%%s>>' BEGIN; cat %s; sleep 0.3;"
                    " cat %s; sleep 0.3; cat %s; printf '<<%%s>>' END;"
                    " stty opost" % tuple(files)).encode())
    child.expect(b"<<END>>")
    child.expect(PROMPT_RE)
    child.sendline(b"exit")
    child.expect(pexpect.EOF)
    child.close()
    s = wait_for(lambda: [x for x in sessions(bed) if x["id"] not in before
                          and x["outcome"] != "unfinished"], 10)
    assert s, sessions(bed)
    s = s[0]
    cp = hvb(bed, "replay", s["id"], "--cat")
    assert cp.returncode == 0, show(cp)
    out = cp.stdout
    start = out.index(b"<<BEGIN>>") + len(b"<<BEGIN>>")
    end = out.index(b"<<END>>", start)
    want = b"".join(parts)
    got = out[start:end]
    assert got == want, "first difference at byte %d of %d/%d" % (
        next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
             min(len(got), len(want))), len(got), len(want))
    # the cast still plays in stock asciinema (it ignores the "x" events)
    cast = bed.recordings_dir / s["recordings"][0]
    assert b'"x", "o:' in cast.read_bytes()
    child = pexpect.spawn("asciinema", ["cat", str(cast)], timeout=30,
                          env=spawn_env(bed))
    played = child.read()
    child.close()
    assert child.exitstatus == 0 and b"joined" in played, played[-2000:]
    # the chain still covers the file
    cp = hvb(bed, "verify", s["id"])
    assert cp.returncode == 0, show(cp)
    # search output stays free of the recorded escapes
    cp = hvb(bed, "sessions", "--grep", "joined")
    assert cp.returncode == 0 and s["id"].encode() in cp.stdout, show(cp)
    assert b"\x1b" not in cp.stdout and b"\x00" not in cp.stdout, show(cp)


AUDIT_GROUP = "hvbtest-audit"


def _pty_session(bed, bastion, *lines):
    """A shell session through another bastion; returns once the session
    has ended in the daemon (recordings sealed, compressed), so that the
    bastion can be stopped without cutting it short."""
    mark = bastion.log_mark()
    argv = bed.ssh_argv("alice", "alice", "pve1", tty=True, port=bastion.port,
                        known_hosts=bastion.known_hosts)
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                          timeout=30, env=spawn_env(bed))
    child.expect(PROMPT_RE)
    for line in lines:
        child.sendline(line)
        child.expect(PROMPT_RE)
    child.sendline(b"exit")
    child.expect(pexpect.EOF)
    child.close()
    assert re.search(r"session \S+ ended: ", bastion.wait_log(
        " ended: ", mark, timeout=20)), bastion.log_since(mark)


def _as(user, *argv):
    cp = subprocess.run(["runuser", "-u", user, "--"] + [str(a) for a in argv],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=30)
    cp.argv = cp.args
    return cp


def test_only_auditors_read_recordings(bed):
    """Recordings 0640 with the auditor group, directory 02750: a member of
    the group uses the tools and reads the files; another account (an
    admin of the targets) is refused by the tools and can neither read nor
    delete a recording; nobody but root can delete."""
    import grp
    import testbed
    testbed.ensure_group(AUDIT_GROUP, ["hvbguest"])
    gid = grp.getgrnam(AUDIT_GROUP).gr_gid
    top = bed.root / "rights"
    top.mkdir()
    os.chmod(top, 0o755)
    rec = top / "recordings"
    b = bed.make_bastion("rights", recordings_dir=rec,
                         extra="auditor-group %s" % AUDIT_GROUP)
    b.start()
    try:
        _pty_session(bed, b, b"echo rights-$((3*3))-shown")
    finally:
        b.stop()
    st = os.stat(rec)
    assert (st.st_mode & 0o7777, st.st_gid) == (0o2750, gid), \
        oct(st.st_mode)
    files = sorted(rec.iterdir())
    assert any(f.name.endswith(".cast") for f in files), files
    assert any(f.name.endswith(".jsonl.chain") for f in files), files
    for f in files:
        st = os.stat(f)
        assert (st.st_mode & 0o7777, st.st_gid) == (0o640, gid), \
            (f, oct(st.st_mode), st.st_gid)
    cast = [f for f in files if f.name.endswith(".cast")][0]
    hvb_bin = bed.bin_dir / "hvbastion"
    # the auditor
    cp = _as("hvbguest", hvb_bin, "-f", b.conf, "sessions", "--json")
    assert cp.returncode == 0, show(cp)
    sid = cast.name.rsplit("-c", 1)[0]
    assert sid.encode() in cp.stdout, show(cp)
    cp = _as("hvbguest", hvb_bin, "-f", b.conf, "replay", sid, "--cat")
    assert cp.returncode == 0 and b"rights-9-shown" in cp.stdout, show(cp)
    cp = _as("hvbguest", "rm", "-f", cast)
    assert cp.returncode != 0 and cast.exists(), show(cp)
    # anyone else
    for args in (["sessions"], ["replay", sid, "--cat"], ["verify", sid]):
        cp = _as("hvbpve", hvb_bin, "-f", b.conf, *args)
        assert cp.returncode == 3, show(cp)
        assert b"for auditors: root or members of group " + \
            AUDIT_GROUP.encode() in cp.stderr, show(cp)
        assert b"rights-9" not in cp.stdout, show(cp)
    cp = _as("hvbpve", "cat", cast)
    assert cp.returncode != 0 and b"rights-9" not in cp.stdout, show(cp)
    cp = _as("hvbpve", "rm", "-f", cast)
    assert cp.returncode != 0 and cast.exists(), show(cp)


def _fill(path):
    """Fills the file system of path; returns the filler file."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_full_disk_ends_the_session_and_refuses_new_ones(bed):
    """Recordings on a small tmpfs: once it is full, the running shell
    ends with a message and a new session is refused (fail closed)."""
    top = bed.root / "full"
    rec = top / "recordings"
    rec.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700",
                    "hvbtest-full", str(rec)], check=True)
    try:
        b = bed.make_bastion("full", recordings_dir=rec)
        b.start()
        try:
            argv = bed.ssh_argv("alice", "alice", "pve1", tty=True,
                                port=b.port, known_hosts=b.known_hosts)
            child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100),
                                  timeout=30, env=spawn_env(bed))
            child.expect(PROMPT_RE)
            mark = b.log_mark()
            _fill(rec)
            child.sendline(b"yes full-disk-output | head -c 400000;"
                           b" sleep 2; echo still-$((1+1))-here")
            child.expect(b"hvbastion: recording failed; the session is"
                         b" closed")
            child.expect(pexpect.EOF)
            child.close()
            assert b"still-2-here" not in (child.before or b"")
            assert "recording failed; ending the session" in \
                b.wait_log("recording failed", mark)
            # a new session is refused before it can run anything
            mark = b.log_mark()
            cp = subprocess.run(
                bed.ssh_argv("alice", "alice", "pve1", "echo", "ran-$((7*6))",
                             port=b.port, known_hosts=b.known_hosts),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                stdin=subprocess.DEVNULL)
            cp.argv = cp.args
            assert cp.returncode != 0 and b"ran-42" not in cp.stdout, \
                show(cp)
            assert b"hvbastion: the session cannot be recorded; refused" \
                in cp.stderr, show(cp)
            assert "recording unavailable; every channel will be refused" in \
                b.wait_log("recording unavailable", mark), \
                b.log_since(mark)
        finally:
            b.stop()
    finally:
        subprocess.run(["umount", str(rec)], check=True)


def _session_log(bed, sid):
    import json
    path = bed.recordings_dir / ("%s.jsonl" % sid)
    return [json.loads(l) for l in path.read_text().splitlines()]


def test_exec_streams_kept_up_to_the_limit(bed):
    """A command without a pty: stdout and stderr are kept (up to
    record-exec-streams, 1 MiB by default) and replayed by --cat to the
    same streams, with a note where a stream was cut; the SHA-256 in the
    session log covers the whole stream."""
    import hashlib
    before = {s["id"] for s in sessions(bed)}
    cp = subprocess.run(
        bed.ssh_argv("alice", "alice", "pve1",
                     "printf 'err-\\377-data' >&2; yes exec-stream-line |"
                     " head -c 1500000", tty=False),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
        stdin=subprocess.DEVNULL)
    cp.argv = cp.args
    assert cp.returncode == 0 and len(cp.stdout) == 1500000, show(cp)
    s = wait_for(lambda: [x for x in sessions(bed) if x["id"] not in before
                          and x["outcome"] != "unfinished"], 10)
    assert s and s[0]["kinds"] == ["exec"], s
    s = s[0]
    assert len(s["recordings"]) == 1, s
    ends = [e for e in _session_log(bed, s["id"])
            if e["event"] == "channel_end"]
    assert ends[0]["sha256_out"] == hashlib.sha256(cp.stdout).hexdigest()
    assert ends[0]["bytes_out"] == 1500000
    rp = hvb(bed, "replay", s["id"], "--cat")
    assert rp.returncode == 0, show(rp)
    assert rp.stdout == cp.stdout[:1024 * 1024], (len(rp.stdout),)
    assert b"err-\xff-data" in rp.stderr, show(rp)
    assert re.search(rb"hvbastion: note at [0-9.]+ s: stdout truncated: only"
                     rb" its first 1048576 bytes are kept", rp.stderr), \
        show(rp)
    assert b"stderr truncated" not in rp.stderr
    cp = hvb(bed, "verify", s["id"])
    assert cp.returncode == 0, show(cp)
    # the table names the command's recording; grep finds stderr too
    found = sessions(bed, "--grep", "err-")
    assert s["id"] in [x["id"] for x in found], found


def test_exec_streams_off(bed):
    """record-exec-streams 0: digests only, no recording file."""
    b = bed.make_bastion("nostreams", extra="record-exec-streams 0")
    b.start()
    try:
        cp = subprocess.run(
            bed.ssh_argv("alice", "alice", "pve1", "echo digest-only",
                         tty=False, port=b.port, known_hosts=b.known_hosts),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
            stdin=subprocess.DEVNULL)
        cp.argv = cp.args
        assert cp.returncode == 0 and cp.stdout == b"digest-only\n", show(cp)
    finally:
        b.stop()
    names = [f.name for f in b.recordings_dir.iterdir()]
    assert any(n.endswith(".jsonl") for n in names), names
    assert not any(".cast" in n for n in names), names


def _event_times(cast, needle):
    import json
    out = []
    with open(cast, "rb") as f:
        f.readline()
        for line in f:
            ev = json.loads(line)
            if ev[1] == "o" and needle in ev[2]:
                out.append(ev[0])
    return out


def test_replay_from_a_time(bed):
    s = shell_session(bed, b"echo first-$((1)); sleep 1.5; echo second-$((2))")
    cast = bed.recordings_dir / s["recordings"][0]
    t1 = _event_times(cast, "first-1")[0]
    t2 = _event_times(cast, "second-2")[0]
    assert t2 > t1 + 1
    mid = (t1 + t2) / 2
    for when in ("%.3f" % mid, "00:%06.3f" % mid, "0:00:%06.3f" % mid):
        cp = hvb(bed, "replay", s["id"], "--cat", "--from", when)
        assert cp.returncode == 0, show(cp)
        assert b"second-2" in cp.stdout and b"first-1" not in cp.stdout, \
            show(cp)
    # played (not --cat) from there: the same, with the screen cleared
    cp = hvb(bed, "replay", s["id"], "--from", "%.3f" % mid, "--speed",
             "50")
    assert cp.returncode == 0 and b"second-2" in cp.stdout, show(cp)
    for bad in ("1:2:3:4", "-5", "x", "1:x"):
        cp = hvb(bed, "replay", s["id"], "--from", bad)
        assert cp.returncode == 2, show(cp)


class Tmux:
    """A private tmux server (its own socket) running one command."""

    def __init__(self, bed, name, argv, size=(100, 30)):
        self.sock = str(bed.root / ("tmux-%s" % name))
        self.name = name
        env = spawn_env(bed)
        subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null",
                        "new-session", "-d", "-s", name, "-x", str(size[0]),
                        "-y", str(size[1]), "--"] + [str(a) for a in argv],
                       check=True, env=env)
        self.tmux("set-option", "-t", name, "remain-on-exit", "on")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=20)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.name, *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.name).stdout.decode(
            errors="replace")

    def wait(self, pred, timeout=15):
        return wait_for(lambda: pred(self.screen()), timeout, 0.1)

    def dead(self):
        cp = self.tmux("display-message", "-p", "-t", self.name,
                       "#{pane_dead}")
        return cp.stdout.strip() == b"1"

    def close(self):
        self.tmux("kill-server")


def test_replay_keys_under_tmux(bed):
    """Progress line, pause, speed, seek and quit keys in a real terminal
    (tmux send-keys, capture-pane)."""
    s = shell_session(bed, b"echo first-$((1)); sleep 2; echo second-$((2))")
    argv = [bed.bin_dir / "hvbastion", "-f", bed.conf, "replay", s["id"],
            "--idle-cap", "60"]
    t = Tmux(bed, "keys", argv)
    try:
        assert t.wait(lambda x: "first-1" in x and
                      re.search(r"replay \d\d:\d\d / 00:0\d  speed x1", x)), \
            t.screen()
        last = t.screen().rstrip("\n").splitlines()[-1]
        assert last.startswith(" replay "), t.screen()
        t.keys("Space")
        assert t.wait(lambda x: "PAUSED" in x), t.screen()
        t.keys("+")
        assert t.wait(lambda x: "speed x2  PAUSED" in x), t.screen()
        t.keys("Space")
        assert t.wait(lambda x: "PAUSED" not in x), t.screen()
        # right arrow: 5 s on, past the end: the last screen, then the end
        t.keys("Right")
        assert t.wait(lambda x: "second-2" in x and t.dead()), t.screen()
        assert "PAUSED" not in t.screen()
    finally:
        t.close()
    t = Tmux(bed, "quit", argv)
    try:
        assert t.wait(lambda x: "first-1" in x), t.screen()
        t.keys("q")
        assert t.wait(lambda x: t.dead()), t.screen()
        # the terminal is left usable: no scroll region, cursor at the end
        assert "replay 00:" not in t.screen().splitlines()[-1]
    finally:
        t.close()


def test_compressed_recordings(bed):
    """compress-recordings yes: a sealed terminal recording becomes
    FILE.cast.zst (stock zstd decompresses it); sessions, --grep, replay
    and verify read it as before; the seal covers the uncompressed bytes,
    so one flipped byte in the compressed file fails verify."""
    b = bed.make_bastion("zstd", extra="compress-recordings yes")
    b.start()
    try:
        _pty_session(bed, b, b"echo squeezed-$((6*7))-text")
    finally:
        b.stop()
    rec = b.recordings_dir
    names = sorted(f.name for f in rec.iterdir())
    zst = [n for n in names if n.endswith(".cast.zst")]
    assert len(zst) == 1, names
    cast = zst[0][:-4]
    assert cast not in names and cast + ".chain" in names, names
    sid = cast.rsplit("-c", 1)[0]
    plain = subprocess.run(["zstd", "-dc", str(rec / zst[0])],
                           stdout=subprocess.PIPE, check=True).stdout
    assert plain.startswith(b'{"version": 2') or \
        plain.startswith(b'{"version":2'), plain[:100]

    def run(*args):
        return subprocess.run(
            [str(bed.bin_dir / "hvbastion"), "-f", str(b.conf)] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    cp = run("replay", sid, "--cat")
    assert cp.returncode == 0 and b"squeezed-42-text" in cp.stdout, cp
    cp = run("sessions", "--grep", "squeezed-42")
    assert cp.returncode == 0 and sid.encode() in cp.stdout, cp
    cp = run("verify", sid)
    assert cp.returncode == 0 and b"%s: OK" % cast.encode() in cp.stdout, \
        cp.stdout
    data = bytearray((rec / zst[0]).read_bytes())
    data[len(data) // 2] ^= 0x01
    (rec / zst[0]).write_bytes(bytes(data))
    cp = run("verify", sid)
    assert cp.returncode == 1 and b"FAILED" in cp.stdout, cp.stdout
    # decompressed by hand, it verifies again (the seal is on these bytes)
    (rec / cast).write_bytes(plain)
    (rec / zst[0]).unlink()
    cp = run("verify", sid)
    assert cp.returncode == 0, cp.stdout
