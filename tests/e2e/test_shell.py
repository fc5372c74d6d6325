"""Interactive sessions through the bastion: pty shell, recording and replay,
window changes, the target menu, and the ways of naming a target."""

import json
import re
import time

import pexpect

from conftest import (PROMPT_RE, first_number_for, show, spawn_env, ssh,
                      wait_for)

# what `stty size` prints (bash may wrap it in bracketed-paste toggles)
STTY_SIZE = rb"\n(?:\x1b\[\?2004l)?\r?(\d+) (\d+)\r\n"
MENU_PROMPT = b"Choose a target (number or name, q to quit): "


def spawn_ssh(bed, login, key, *command, dimensions=(30, 100), timeout=20):
    argv = bed.ssh_argv(login, key, *command, tty=True)
    child = pexpect.spawn(argv[0], argv[1:], dimensions=dimensions,
                          timeout=timeout, env=spawn_env(bed))
    return child


def end_shell(child):
    child.sendline(b"exit")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def casts(bed):
    return set(bed.recordings_dir.glob("*.cast"))


def read_cast(path):
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    events = [json.loads(l) for l in lines[1:] if l.strip()]
    return header, events


def new_cast_with(bed, before, needle, timeout=5):
    """The new .cast whose output contains needle (waits for the recorder to
    finish writing)."""
    def find():
        for p in casts(bed) - before:
            try:
                _, ev = read_cast(p)
            except (ValueError, IndexError, OSError):
                continue
            if needle in "".join(e[2] for e in ev if e[1] == "o"):
                return p
        return None
    return wait_for(find, timeout)


def test_pty_shell_recorded_and_replayable(bed):
    before = casts(bed)
    child = spawn_ssh(bed, "alice", "alice", "pve1")
    child.expect(PROMPT_RE)
    child.sendline(b"echo hello-$((40+2))")
    child.expect(b"hello-42")
    child.expect(PROMPT_RE)
    assert end_shell(child) == 0

    path = new_cast_with(bed, before, "hello-42")
    assert path is not None, "no new .cast containing hello-42 in %s: %s" % (
        bed.recordings_dir, sorted(p.name for p in casts(bed)))
    header, events = read_cast(path)
    assert header.get("version") == 2, header
    assert header.get("width") == 100 and header.get("height") == 30, header
    assert isinstance(header.get("timestamp"), int), header
    assert header.get("env", {}).get("TERM") == "xterm-256color", header
    assert events, "no events"
    last = 0.0
    for e in events:
        assert isinstance(e, list) and len(e) == 3, e
        assert isinstance(e[0], (int, float)) and e[0] >= last, e
        assert e[1] in ("o", "i", "r", "m"), e
        assert isinstance(e[2], str), e
        last = e[0]
    assert any(e[1] == "o" for e in events)
    # record-input yes: what alice typed is there too
    typed = "".join(e[2] for e in events if e[1] == "i")
    assert "echo hello-$((40+2))" in typed, typed[:500]

    env = spawn_env(bed)
    # asciinema 2.2 opens /dev/tty even for `cat`: give it a terminal
    cat = pexpect.spawn("asciinema", ["cat", str(path)], env=env,
                        timeout=30, dimensions=(30, 100))
    cat.expect(pexpect.EOF)
    out = cat.before
    cat.close()
    assert cat.exitstatus == 0, out
    assert b"hello-42" in out, out

    play = pexpect.spawn("asciinema", ["play", "-i", "0.01", str(path)],
                         env=env, timeout=30, dimensions=(30, 100))
    play.expect(b"hello-42")
    play.expect(pexpect.EOF)
    play.close()
    assert play.exitstatus == 0, play.before


def test_window_change_reaches_target(bed):
    child = spawn_ssh(bed, "alice", "alice", "pve1", dimensions=(30, 100))
    child.expect(PROMPT_RE)
    child.sendline(b"stty size")
    child.expect(STTY_SIZE)
    assert child.match.group(1, 2) == (b"30", b"100")
    child.expect(PROMPT_RE)
    child.setwinsize(41, 132)     # SIGWINCH to ssh, window-change upstream
    time.sleep(0.5)
    child.sendline(b"stty size")
    child.expect(STTY_SIZE)
    assert child.match.group(1, 2) == (b"41", b"132")
    child.expect(PROMPT_RE)
    assert end_shell(child) == 0


def test_menu_pick_by_number(bed):
    child = spawn_ssh(bed, "alice", "alice")
    child.expect_exact(MENU_PROMPT)
    listing = child.before
    assert b"pve1" in listing, listing
    # separation of roles: alice's menu does not offer guests
    assert b"vm101" not in listing, listing
    n = first_number_for(listing, "pve1")
    assert n is not None, listing
    child.send(n.encode() + b"\r")
    child.expect(PROMPT_RE)
    child.sendline(b"echo menu-$((1+1)); id -un")
    child.expect(b"menu-2\r\nhvbpve\r\n")
    child.expect(PROMPT_RE)
    assert end_shell(child) == 0


def test_menu_pick_by_name(bed):
    child = spawn_ssh(bed, "bob", "bob")
    child.expect_exact(MENU_PROMPT)
    assert b"vm101" in child.before and b"pve1" not in child.before, \
        child.before
    child.send(b"vm101\r")
    child.expect(PROMPT_RE)
    child.sendline(b"echo who-$(id -un)")
    child.expect(b"who-hvbguest")
    child.expect(PROMPT_RE)
    assert end_shell(child) == 0


def test_menu_quit(bed):
    child = spawn_ssh(bed, "alice", "alice")
    child.expect_exact(MENU_PROMPT)
    child.send(b"q\r")
    child.expect(pexpect.EOF)
    child.close()
    assert not re.search(PROMPT_RE, child.before), child.before


def test_login_name_forms(bed):
    cases = [
        ("alice+pve1", "id -un", b"hvbpve\n"),
        ("alice+hvbpve+pve1", "id -un", b"hvbpve\n"),
        ("alice+hvbguest+pve1", "id -un", b"hvbguest\n"),
        ("bob+vm101", "id -un", b"hvbguest\n"),
    ]
    for login, cmd, want in cases:
        cp = ssh(bed, login, login.split("+")[0], cmd)
        assert cp.returncode == 0 and cp.stdout == want, show(cp)


def test_first_word_forms(bed):
    cases = [
        ("pve1 id -un", b"hvbpve\n"),
        ("hvbpve@pve1 id -un", b"hvbpve\n"),
        ("hvbguest@pve1 id -un", b"hvbguest\n"),
    ]
    for cmd, want in cases:
        cp = ssh(bed, "alice", "alice", cmd)
        assert cp.returncode == 0 and cp.stdout == want, show(cp)


def test_login_not_among_credentials_refused(bed):
    for login, cmd in (("alice+root+pve1", "id -un"),
                       ("alice", "root@pve1 id -un"),
                       ("alice", "hvbnope@pve1 id -un")):
        cp = ssh(bed, login, "alice", cmd)
        assert cp.returncode == 255, show(cp)
        assert b"uid=" not in cp.stdout and b"root" not in cp.stdout, show(cp)


def test_login_name_form_pty_shell(bed):
    child = spawn_ssh(bed, "alice+pve1", "alice")
    child.expect(PROMPT_RE)
    child.sendline(b"echo via-$((2*21))")
    child.expect(b"via-42")
    child.expect(PROMPT_RE)
    assert end_shell(child) == 0
