#!/usr/bin/python3
"""Golden tests: run hvbastion invocations and compare their output.

    HVB_BIN_DIR=build /usr/bin/python3 tests/golden/run.py [--update] [FILE...]

Each tests/golden/<name>/*.txt (or each FILE given) holds cases:

    $ hvbastion -f hvbastion.conf policy explain alice root@pve1
    allow: alice -> root@pve1 (shell): ...
    [exit 0]

The "$" line is split like a POSIX shell would (shlex), then "\\xHH" in a
word becomes that byte, so that cases can feed control characters; the
first word "hvbastion" is $HVB_BIN_DIR/hvbastion (default build/). The
expected output is stdout followed by stderr, then the exit status. Lines
starting with "#" before the first case are kept as the file's header.

Every case runs with its golden directory as the working directory (so the
configuration is named by a relative path and paths in the output do not
depend on where the tree is), TZ=UTC (grant hours are local time) and
LC_ALL=C. Key files under <dir>/keys/ are set to mode 0600 first, since git
does not keep modes and the configuration refuses keys others can read.

--update rewrites the files with what the binary prints now: review the
diff before committing it. The closing line is "N passed, N failed"; the
exit status is 1 when any case failed.
"""

import difflib
import glob
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXIT_RE = re.compile(r"^\[exit (-?\d+)\]$")
TIMEOUT = 30


class Case:
    def __init__(self, command, output, status):
        self.command = command      # the "$" line, without "$ "
        self.output = output        # list of lines
        self.status = status        # int, or None when not yet recorded


def unfinished(case):
    while case.output and case.output[-1].strip() == "":
        case.output.pop()
    return case


def parse(path):
    header, cases, cur = [], [], None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if cur is None:
            if line.startswith("$ "):
                cur = Case(line[2:], [], None)
            elif not cases and (line.startswith("#") or line == ""):
                header.append(line)
            elif line.strip() == "":
                continue
            else:
                raise ValueError(f"{path}:{n}: expected a \"$ \" line")
            continue
        m = EXIT_RE.match(line)
        if m:
            cur.status = int(m.group(1))
            cases.append(cur)
            cur = None
        elif line.startswith("$ "):
            # The previous case has no output yet (written by hand, to be
            # filled by --update): it fails until then.
            cases.append(unfinished(cur))
            cur = Case(line[2:], [], None)
        else:
            cur.output.append(line)
    if cur is not None:
        cases.append(unfinished(cur))
    while header and header[-1] == "":
        header.pop()
    return header, cases


def unescape(word):
    return re.sub(r"\\x([0-9a-fA-F]{2})",
                  lambda m: chr(int(m.group(1), 16)), word)


def run_case(case, cwd, bindir):
    argv = [unescape(w) for w in shlex.split(case.command)]
    if not argv or argv[0] != "hvbastion":
        raise ValueError(f"command must start with hvbastion: {case.command}")
    argv[0] = os.path.join(bindir, "hvbastion")
    env = {"PATH": "/usr/bin:/bin", "TZ": "UTC", "LC_ALL": "C"}
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=TIMEOUT)
    text = (proc.stdout + proc.stderr).decode("utf-8", "backslashreplace")
    # Belt and braces: nothing machine-specific in a golden file.
    text = text.replace(os.path.realpath(cwd), ".").replace(bindir + "/", "")
    return text.splitlines(), proc.returncode


def fix_modes(gdir):
    for key in glob.glob(os.path.join(gdir, "keys", "*")):
        if os.path.isfile(key) and not os.path.islink(key):
            os.chmod(key, 0o600)


def write(path, header, cases):
    out = list(header)
    for c in cases:
        if out:
            out.append("")
        out.append("$ " + c.command)
        out.extend(c.output)
        out.append(f"[exit {c.status}]")
    with open(path + ".new", "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(path + ".new", path)


def main():
    args = sys.argv[1:]
    update = "--update" in args
    files = [a for a in args if a != "--update"]
    if not files:
        files = sorted(glob.glob(os.path.join(HERE, "*", "*.txt")))
    bindir = os.path.abspath(os.environ.get("HVB_BIN_DIR",
                                            os.path.join(REPO, "build")))
    if not os.access(os.path.join(bindir, "hvbastion"), os.X_OK):
        print(f"golden: no {bindir}/hvbastion (make first, or set "
              "HVB_BIN_DIR)")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for path in files:
        gdir = os.path.dirname(os.path.abspath(path))
        rel = os.path.relpath(path, REPO)
        fix_modes(gdir)
        try:
            header, cases = parse(path)
        except ValueError as e:
            print(f"golden: {e}")
            failed += 1
            continue
        for c in cases:
            try:
                output, status = run_case(c, gdir, bindir)
            except (ValueError, subprocess.TimeoutExpired, OSError) as e:
                print(f"FAIL {rel}: $ {c.command}\n    {e}")
                failed += 1
                continue
            if output == c.output and status == c.status:
                passed += 1
                continue
            if update:
                c.output, c.status = output, status
                print(f"updated {rel}: $ {c.command}")
                passed += 1
                continue
            failed += 1
            print(f"FAIL {rel}: $ {c.command}")
            want = c.output + [f"[exit {c.status}]"]
            got = output + [f"[exit {status}]"]
            for line in difflib.unified_diff(want, got, "expected", "got",
                                             lineterm="", n=2):
                print("    " + line)
        if update:
            write(path, header, cases)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
