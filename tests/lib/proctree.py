"""The process tree, read from /proc: who is below whom, how much CPU
time each has used, and its status lines (for the test bed, the tests
and the benches; Linux only)."""

import collections
import os

# state: one letter (R, S, Z...); ticks: utime + stime; reaped: cutime +
# cstime, the children it has waited for (clock ticks)
Stat = collections.namedtuple("Stat", "state ppid session ticks reaped")


def stat(pid):
    """pid's Stat, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    # after "(comm)": state ppid pgrp session ... utime (14th) stime
    # cutime cstime
    f = data[data.rindex(")") + 2:].split()
    return Stat(f[0], int(f[1]), int(f[3]), int(f[11]) + int(f[12]),
                int(f[13]) + int(f[14]))


def pids():
    for d in os.listdir("/proc"):
        if d.isdigit():
            yield int(d)


def table():
    """{pid: Stat} of every process now."""
    out = {}
    for p in pids():
        st = stat(p)
        if st is not None:
            out[p] = st
    return out


def _kids(tab):
    kids = {}
    for pid, st in tab.items():
        kids.setdefault(st.ppid, []).append(pid)
    return kids


def children(pid, tab=None):
    """The processes whose parent is pid."""
    return _kids(table() if tab is None else tab).get(pid, [])


def descendants(pid, tab=None):
    """Every process below pid (not pid itself)."""
    kids = _kids(table() if tab is None else tab)
    out, todo = [], list(kids.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_ticks(tab, root, reaped=False):
    """CPU ticks of root and of every process below it in tab (threads are
    in their process's figures); with reaped, also what the children they
    waited for used."""
    return sum(tab[p].ticks + (tab[p].reaped if reaped else 0)
               for p in [root] + descendants(root, tab) if p in tab)


def status(pid):
    """/proc/PID/status as {key: [its fields]}; OSError when pid is gone."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out
