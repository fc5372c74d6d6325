"""File transfers through the bastion: sftp (the subsystem, parsed into
file operations), scp in its default sftp mode and in legacy mode (-O, an
exec of "scp -t/-f"), rsync over ssh (an exec).  Files compared by SHA-256
on both sides; the session log must say what moved (paths, sizes,
digests, direction).  A person whose grant lacks sftp/scp is refused."""

import hashlib
import json
import os
import subprocess

import pytest

from conftest import show, started_bed, wait_for

# bob's grant (guest side) carries no file transfer: the denial case
ROLES = {
    "hv-admins": {"side": "hypervisor",
                  "grants": [{"targets": ['"pve1"'],
                              "channels": "shell exec sftp scp"}]},
    "guest-admins": {"side": "guest",
                     "grants": [{"targets": ["vmid 101"],
                                 "channels": "shell"}]},
    "auditors": {"side": "audit", "grants": []},
}


@pytest.fixture(scope="module")
def bed(request):
    yield from started_bed(request, "transfers", roles=ROLES)


@pytest.fixture(scope="module")
def xfer(bed):
    """A directory both this test (root) and the target's login can use."""
    d = bed.root / "xfer"
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o1777)
    return d


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_file(path, size, seed):
    data = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    path.write_bytes(data[:size])
    return hashlib.sha256(data[:size]).hexdigest()


def client_opts(bed, key="alice"):
    return ["-F", "/dev/null", "-i", str(bed.users[key].key),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=%s" % bed.bastion.known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null"]


def run(argv, input=None, timeout=60):
    cp = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=timeout,
                        stdin=None if input is not None else
                        subprocess.DEVNULL)
    cp.argv = argv
    return cp


def sftp(bed, login, batch, key="alice"):
    argv = (["sftp", "-P", str(bed.bastion.port)] + client_opts(bed, key) +
            ["-b", "-", "%s@%s" % (login, bed.bastion.address)])
    return run(argv, input=batch.encode())


def events(bed):
    out = []
    for p in bed.recordings_dir.glob("*.jsonl"):
        for line in p.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_events(bed, pred, n=1):
    return wait_for(lambda: len([e for e in events(bed) if pred(e)]) >= n
                    and [e for e in events(bed) if pred(e)], timeout=10)


def test_sftp_put_get_rename_remove(bed, xfer):
    src = xfer / "local-up.bin"
    digest = make_file(src, 300 * 1024 + 17, "up")
    remote = xfer / "remote-up.bin"
    back = xfer / "local-back.bin"
    moved = xfer / "remote-moved.bin"
    batch = "\n".join([
        "put %s %s" % (src, remote),
        "get %s %s" % (remote, back),
        "rename %s %s" % (remote, moved),
        "mkdir %s" % (xfer / "newdir"),
        "rmdir %s" % (xfer / "newdir"),
        "chmod 600 %s" % moved,
        "rm %s" % moved, ""])
    cp = sftp(bed, "alice+pve1", batch)
    assert cp.returncode == 0, show(cp)
    assert sha(back) == digest
    assert not moved.exists()

    def ev(op, path):
        return lambda e: (e.get("event") == "sftp" and e.get("op") == op
                          and e.get("path") == str(path))

    up = wait_events(bed, ev("write", remote))
    assert up, events(bed)
    assert up[0]["direction"] == "upload"
    assert up[0]["bytes"] == 300 * 1024 + 17
    assert up[0]["sha256"] == digest and up[0]["status"] == "ok"
    down = wait_events(bed, ev("read", remote))
    assert down and down[0]["direction"] == "download", events(bed)
    assert down[0]["bytes"] == 300 * 1024 + 17
    assert down[0]["sha256"] == digest
    ren = wait_events(bed, ev("rename", remote))
    assert ren and ren[0]["new_path"] == str(moved), events(bed)
    assert ren[0]["status"] == "ok"
    assert wait_events(bed, ev("mkdir", xfer / "newdir"))
    assert wait_events(bed, ev("rmdir", xfer / "newdir"))
    st = wait_events(bed, ev("setstat", moved))
    assert st and st[0]["mode"] == "0600", events(bed)
    rm = wait_events(bed, ev("remove", moved))
    assert rm and rm[0]["status"] == "ok", events(bed)
    ends = [e for e in events(bed) if e.get("event") == "channel_end"
            and e.get("kind") == "sftp"]
    assert ends and ends[0]["sftp_events"] >= 7, ends


def test_sftp_failure_status_recorded(bed, xfer):
    src = xfer / "small.bin"
    make_file(src, 100, "small")
    missing = xfer / "no-such-dir" / "small.bin"
    cp = sftp(bed, "alice+hvbpve+pve1", "put %s %s\n" % (src, missing))
    assert cp.returncode != 0, show(cp)
    ev = wait_events(bed, lambda e: e.get("event") == "sftp" and
                     e.get("op") == "open" and e.get("path") == str(missing))
    assert ev and ev[0]["status"] == "no such file", events(bed)


def test_scp_sftp_mode_and_legacy(bed, xfer):
    for mode, extra in (("sftp", []), ("legacy", ["-O"])):
        src = xfer / ("scp-%s.bin" % mode)
        digest = make_file(src, 200 * 1024 + 3, mode)
        dst = xfer / ("scp-%s-remote.bin" % mode)
        argv = (["scp", "-P", str(bed.bastion.port)] + extra +
                client_opts(bed) +
                [str(src), "alice+pve1@%s:%s" % (bed.bastion.address, dst)])
        cp = run(argv)
        assert cp.returncode == 0, show(cp)
        assert dst.exists() and sha(dst) == digest
        back = xfer / ("scp-%s-back.bin" % mode)
        argv = (["scp", "-P", str(bed.bastion.port)] + extra +
                client_opts(bed) +
                ["alice+pve1@%s:%s" % (bed.bastion.address, dst), str(back)])
        cp = run(argv)
        assert cp.returncode == 0, show(cp)
        assert sha(back) == digest
    up = wait_events(bed, lambda e: e.get("event") == "sftp" and
                     e.get("op") == "write" and
                     e.get("path", "").endswith("scp-sftp-remote.bin"))
    assert up and up[0]["sha256"] == sha(xfer / "scp-sftp.bin"), events(bed)
    # legacy: an exec of "scp -t PATH", kind scp, with stream digests
    ends = wait_events(bed, lambda e: e.get("event") == "channel_end" and
                       e.get("kind") == "scp", n=2)
    assert ends, events(bed)
    t = [e for e in ends if e["command"].startswith("scp -t")]
    f = [e for e in ends if e["command"].startswith("scp -f")]
    assert t and f, ends
    assert "scp-legacy-remote.bin" in t[0]["command"]
    assert t[0]["bytes_in"] > 200 * 1024 and t[0]["exit_status"] == 0
    assert f[0]["bytes_out"] > 200 * 1024
    for e in t + f:
        for k in ("sha256_in", "sha256_out", "sha256_err"):
            assert len(e[k]) == 64, e


def test_rsync_over_ssh(bed, xfer):
    src = xfer / "rsync-src.bin"
    digest = make_file(src, 500 * 1024 + 11, "rsync")
    dst = xfer / "rsync-dst.bin"
    rsh = " ".join(["ssh", "-p", str(bed.bastion.port)] + client_opts(bed))
    argv = ["rsync", "-e", rsh, str(src),
            "alice+pve1@%s:%s" % (bed.bastion.address, dst)]
    cp = run(argv)
    assert cp.returncode == 0, show(cp)
    assert sha(dst) == digest
    ends = wait_events(bed, lambda e: e.get("event") == "channel_end" and
                       "rsync --server" in (e.get("command") or ""))
    assert ends and ends[0]["kind"] == "exec", events(bed)
    assert ends[0]["exit_status"] == 0 and len(ends[0]["sha256_in"]) == 64


def test_exec_stream_digests(bed):
    argv = bed.ssh_argv("alice", "alice", "pve1 sh -c 'cat; echo e >&2'")
    cp = run(argv, input=b"hello\n")
    assert cp.returncode == 0 and cp.stdout == b"hello\n", show(cp)
    ends = wait_events(bed, lambda e: e.get("event") == "channel_end" and
                       e.get("command") == "sh -c 'cat; echo e >&2'")
    assert ends, events(bed)
    e = ends[0]
    assert e["sha256_in"] == hashlib.sha256(b"hello\n").hexdigest()
    assert e["sha256_out"] == hashlib.sha256(b"hello\n").hexdigest()
    assert e["sha256_err"] == hashlib.sha256(b"e\n").hexdigest()


def test_sftp_refused_without_grant(bed, xfer):
    tlog = bed.targets["vm101"].log_path
    tmark = tlog.stat().st_size
    cp = sftp(bed, "bob+vm101", "ls /\n", key="bob")
    assert cp.returncode != 0, show(cp)
    assert b"hvbastion: access to target vm101 is not granted" in \
        cp.stderr, show(cp)
    src = xfer / "denied.bin"
    make_file(src, 10, "d")
    argv = (["scp", "-O", "-P", str(bed.bastion.port)] +
            client_opts(bed, "bob") +
            [str(src), "bob+vm101@%s:/tmp/denied.bin" % bed.bastion.address])
    cp = run(argv)
    assert cp.returncode != 0, show(cp)
    with open(tlog, "rb") as f:
        f.seek(tmark)
        assert b"subsystem request for sftp" not in f.read()
    dec = [e for e in events(bed) if e.get("event") == "decision" and
           e.get("target") == "vm101"]
    assert {e["kind"] for e in dec} >= {"sftp", "scp"}, dec
    assert all(e["decision"] == "deny" for e in dec), dec


def test_sftp_refused_without_target(bed):
    cp = sftp(bed, "alice", "ls /\n")
    assert cp.returncode != 0, show(cp)
    assert b"sftp needs the target in the login name" in cp.stderr, show(cp)
