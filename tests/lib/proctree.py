"""The process tree, read from /proc: who is below whom and how much CPU
time each has used (for the tests and the benches; Linux only)."""

import os


def table():
    """{pid: (ppid, utime + stime in clock ticks)} of every process now."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # after "(comm)": state ppid ... utime (14th) stime (15th)
        f = st[st.rindex(")") + 2:].split()
        out[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))
    return out


def _kids(tab):
    kids = {}
    for pid, (ppid, _) in tab.items():
        kids.setdefault(ppid, []).append(pid)
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


def tree_ticks(tab, root):
    """CPU ticks of root and of every process below it in tab (threads are
    in their process's figures)."""
    return sum(tab[p][1] for p in [root] + descendants(root, tab)
               if p in tab)
