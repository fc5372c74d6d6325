#!/usr/bin/python3
"""pvesim: a SIMULATOR of pveproxy's observable behaviour, for tests only.

This is not Proxmox VE and shares no code with it.  It answers the Proxmox
VE HTTP API (/api2/json/...) the way pveproxy (pve-http-server 5.2,
pve-manager 8.x, pve-access-control 8.2 on Debian 12 "bookworm") does, for
the endpoints the hvbastion tests use: login with tickets and TFA (TOTP),
CSRF tokens, API tokens, privileges on ACL paths with propagation and pool
inheritance, the {"data":...} envelope and pveproxy's error shapes and HTTP
limits, guests with power actions as tasks (UPIDs), configs, node consoles
(termproxy over a websocket) and storage.  tests/pvesim/BEHAVIOUR.md lists
every reproduced behaviour with the Proxmox source it comes from.

Differences that no client can rely on anyway: tickets and VNC tickets are
signed with HMAC-SHA256 instead of RSA (the signature is opaque), the guests
are dictionaries, tasks finish at once (or after "task_duration").

Usage:
    pvesim.py --config FILE.json       serve every node of FILE.json
    pvesim.py --print-fingerprint CERT print a certificate's SHA-256
                                       fingerprint as `pvenode cert info`

Python 3 standard library only.
"""

import argparse
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

# ---------------------------------------------------------------- limits
# pve-http-server src/PVE/APIServer/AnyEvent.pm, top of file
LIMIT_MAX_HEADERS = 64          # $limit_max_headers
LIMIT_MAX_HEADER_SIZE = 8 * 1024  # $limit_max_header_size
LIMIT_MAX_POST = 512 * 1024     # $limit_max_post
KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE")  # $known_methods
KEEP_ALIVE_REQUESTS = 100       # pveproxy: keep_alive => 100
WS_MAX_PAYLOAD = 128 * 1024     # websocket_proxy: $max_payload_size

# pve-access-control src/PVE/AccessControl.pm
TICKET_LIFETIME = 3600 * 2      # $ticket_lifetime
AUTH_GRACEPERIOD = 60 * 5       # $auth_graceperiod

SERVER_HEADER = "pve-api-daemon/3.0"
JSON_CT = "application/json;charset=UTF-8"

# ------------------------------------------------------ roles and privs
# pve-access-control src/PVE/AccessControl.pm: $privgroups, create_roles()
PRIVGROUPS = {
    "VM": {
        "root": [],
        "admin": ["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory",
                  "VM.Config.Network", "VM.Config.HWType",
                  "VM.Config.Options", "VM.Allocate", "VM.Clone",
                  "VM.Migrate", "VM.Monitor", "VM.Snapshot",
                  "VM.Snapshot.Rollback"],
        "user": ["VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
                 "VM.Backup", "VM.PowerMgmt"],
        "audit": ["VM.Audit"],
    },
    "Sys": {
        "root": ["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming",
                 "Sys.AccessNetwork"],
        "admin": ["Sys.Console", "Sys.Syslog"],
        "user": [],
        "audit": ["Sys.Audit"],
    },
    "Datastore": {
        "root": [],
        "admin": ["Datastore.Allocate", "Datastore.AllocateTemplate"],
        "user": ["Datastore.AllocateSpace"],
        "audit": ["Datastore.Audit"],
    },
    "SDN": {
        "root": [],
        "admin": ["SDN.Allocate", "SDN.Audit"],
        "user": ["SDN.Use"],
        "audit": ["SDN.Audit"],
    },
    "User": {
        "root": ["Realm.Allocate"],
        "admin": ["User.Modify", "Group.Allocate", "Realm.AllocateUser"],
        "user": [],
        "audit": [],
    },
    "Pool": {
        "root": [],
        "admin": ["Pool.Allocate"],
        "user": ["Pool.Audit"],
        "audit": ["Pool.Audit"],
    },
    "Mapping": {
        "root": [],
        "admin": ["Mapping.Modify"],
        "user": ["Mapping.Use"],
        "audit": ["Mapping.Audit"],
    },
}


def builtin_roles():
    valid = {"Permissions.Modify"}
    roles = {"NoAccess": set()}
    for cat, cd in PRIVGROUPS.items():
        for level in ("root", "admin", "user", "audit"):
            valid.update(cd[level])
        for p in cd["admin"] + cd["user"] + cd["audit"]:
            roles.setdefault("PVE%sAdmin" % cat, set()).add(p)
            roles.setdefault("PVEAdmin", set()).add(p)
        if cd["user"]:
            for p in cd["user"] + cd["audit"]:
                roles.setdefault("PVE%sUser" % cat, set()).add(p)
        for p in cd["audit"]:
            roles.setdefault("PVEAuditor", set()).add(p)
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    roles["Administrator"] = set(valid)
    return roles, valid


BUILTIN_ROLES, VALID_PRIVS = builtin_roles()

# pve-access-control src/PVE/Auth/Plugin.pm
REALM_RE = r"[A-Za-z][A-Za-z\.\-_0-9]*[A-Za-z0-9]"
USER_RE = r"[^\s:/]+"
TOKENID_RE = re.compile(r"^((%s)@(%s))!(%s)$" % (USER_RE, REALM_RE,
                                                    REALM_RE))
USERID_RE = re.compile(r"^(%s)@(%s)$" % (USER_RE, REALM_RE))
NODE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")


# ------------------------------------------------------------ exceptions
class PveError(Exception):
    """PVE::Exception: code, msg (ends with a newline like Perl's die),
    errors (parameter errors)."""

    def __init__(self, msg, code=500, errors=None):
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.errors = errors


def perm_exc(what=None):
    # pve-common PVE/Exception.pm raise_perm_exc()
    msg = "Permission check failed"
    if what:
        msg += " (%s)" % what
    return PveError(msg + "\n", 403)


def param_exc(errors):
    # pve-common PVE/Exception.pm raise_param_exc()
    return PveError("Parameter verification failed.\n", 400, errors)


class AuthFail(Exception):
    """A failure in auth_handler: pveproxy answers 401 (or the exception's
    code) with the message as reason phrase and no body, after 3 s."""

    def __init__(self, msg, code=401):
        super().__init__(msg)
        self.msg = msg
        self.code = code


class DropConnection(Exception):
    """pveproxy dies inside its header reader: no answer at all."""


# ----------------------------------------------------------------- TOTP
def totp_code(secret_b32, t=None, step=30, digits=6):
    key = base64.b32decode(secret_b32.upper().replace(" ", "") +
                           "=" * (-len(secret_b32.replace(" ", "")) % 8))
    counter = int((time.time() if t is None else t) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    val = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, val % (10 ** digits))


# ------------------------------------------------------------- the state
class Cluster:
    """Everything the simulated cluster knows: users, tokens, ACL, pools,
    guests, storage, tasks.  One lock; handlers copy what they answer."""

    def __init__(self, conf):
        self.lock = threading.RLock()
        self.conf = conf
        self.nodes = [n["name"] for n in conf["nodes"]]
        self.node_conf = {n["name"]: n for n in conf["nodes"]}
        self.cluster_name = conf.get("clustername")
        self.users = {}
        for uid, u in conf.get("users", {}).items():
            d = dict(u)
            d.setdefault("enable", 1)
            self.users[uid] = d
        self.groups = {g: set(m) for g, m in conf.get("groups", {}).items()}
        for uid, u in self.users.items():
            for g in u.get("groups", []):
                self.groups.setdefault(g, set()).add(uid)
        self.tokens = {}
        for tid, t in conf.get("tokens", {}).items():
            d = dict(t)
            d.setdefault("privsep", 1)
            self.tokens[tid] = d
        self.roles = {k: set(v) for k, v in BUILTIN_ROLES.items()}
        for name, privs in conf.get("roles", {}).items():
            self.roles[name] = set(privs)
        self.acl = []
        for e in conf.get("acl", []):
            self.acl.append(self._norm_acl(e))
        self.pools = {}
        for name, members in conf.get("pools", {}).items():
            if isinstance(members, dict):
                self.pools[name] = {
                    "vms": set(int(v) for v in members.get("vms", [])),
                    "storage": set(members.get("storage", [])),
                    "comment": members.get("comment", "")}
            else:
                self.pools[name] = {"vms": set(int(v) for v in members),
                                    "storage": set(), "comment": ""}
        self.guests = {}
        for g in conf.get("guests", []):
            self.add_guest(g)
        self.storage = []
        for s in conf.get("storage", []):
            d = {"storage": s["storage"], "type": s.get("type", "dir"),
                 "content": s.get("content", "images,rootdir,iso,vztmpl"),
                 "shared": int(s.get("shared", 0)),
                 "total": int(s.get("total", 100 * 2 ** 30)),
                 "used": int(s.get("used", 20 * 2 ** 30))}
            nodes = s.get("nodes") or ([s["node"]] if s.get("node")
                                       else list(self.nodes))
            d["nodes"] = nodes
            self.storage.append(d)
        self.tasks = []             # dicts, newest last
        self.task_logs = {}
        self.pid_counter = 0x1000
        self.task_duration = float(conf.get("task_duration", 0))
        self.version = conf.get("version", {"version": "8.4.1",
                                            "release": "8.4",
                                            "repoid": "2a5fa54a8503f96d"})
        self.auth_key = secrets.token_bytes(32)
        self.csrf_key = secrets.token_bytes(32)
        self.ticket_lifetime = int(conf.get("ticket_lifetime",
                                            TICKET_LIFETIME))
        self.generation = 0         # bumped on every state change
        self.consoles = {}          # (authpath, port) -> "term" | "vnc"
        self._aclcache = {}

    # ---------------------------------------------------------- guests
    def add_guest(self, g):
        vmid = int(g["vmid"])
        typ = g.get("type", "qemu")
        name = g.get("name", ("vm%d" if typ == "qemu" else "ct%d") % vmid)
        conf = dict(g.get("config", {}))
        if typ == "qemu":
            conf.setdefault("name", name)
            conf.setdefault("memory", str(g.get("maxmem_mb", 2048)))
            conf.setdefault("cores", 2)
            conf.setdefault("sockets", 1)
            conf.setdefault("ostype", "l26")
            conf.setdefault("boot", "order=scsi0;net0")
            conf.setdefault("scsi0", "local-lvm:vm-%d-disk-0,size=32G" % vmid)
            conf.setdefault("net0",
                            "virtio=BC:24:11:00:%02X:%02X,bridge=vmbr0"
                            % ((vmid >> 8) & 0xFF, vmid & 0xFF))
            conf.setdefault("smbios1", "uuid=%s" % _uuid_for(vmid))
        else:
            conf.setdefault("hostname", name)
            conf.setdefault("memory", g.get("maxmem_mb", 512))
            conf.setdefault("cores", 1)
            conf.setdefault("ostype", "debian")
            conf.setdefault("rootfs", "local-lvm:vm-%d-disk-0,size=8G" % vmid)
            conf.setdefault("net0", "name=eth0,bridge=vmbr0,ip=dhcp")
        self.guests[vmid] = {
            "vmid": vmid, "type": typ, "node": g.get("node", self.nodes[0]),
            "name": name, "status": g.get("status", "stopped"),
            "template": int(g.get("template", 0)),
            "tags": g.get("tags", ""),
            "started": time.time() if g.get("status") == "running" else None,
            "config": conf,
        }
        if g.get("pool"):
            self.pools.setdefault(g["pool"], {"vms": set(), "storage": set(),
                                              "comment": ""})
            self.pools[g["pool"]]["vms"].add(vmid)

    def pool_of(self, vmid):
        for name, p in sorted(self.pools.items()):
            if vmid in p["vms"]:
                return name
        return None

    def pool_of_storage(self, sid):
        for name, p in sorted(self.pools.items()):
            if sid in p["storage"]:
                return name
        return None

    def changed(self):
        self.generation += 1

    # ------------------------------------------------------------- ACL
    @staticmethod
    def _norm_acl(e):
        ugid = e["ugid"]
        typ = e.get("type")
        if not typ:
            if ugid.startswith("@"):
                typ, ugid = "group", ugid[1:]
            elif "!" in ugid:
                typ = "token"
            elif "@" in ugid:
                typ = "user"
            else:
                typ = "group"
        return {"path": normalize_path(e["path"]) or "/", "ugid": ugid,
                "type": typ, "roleid": e["roleid"],
                "propagate": int(e.get("propagate", 1))}

    def _acl_node(self, path):
        """{'users': {ugid: {role: propagate}}, 'tokens':..., 'groups':...}
        for one exact path."""
        node = {"users": {}, "tokens": {}, "groups": {}}
        for e in self.acl:
            if e["path"] != path:
                continue
            kind = {"user": "users", "token": "tokens",
                    "group": "groups"}[e["type"]]
            node[kind].setdefault(e["ugid"], {})[e["roleid"]] = e["propagate"]
        return node

    def roles_on(self, user, path):
        """PVE::AccessControl::roles(): roles of user/token on path with
        propagation and NoAccess (no pools)."""
        if user == "root@pam":
            return {"Administrator": 1}
        m = TOKENID_RE.match(user)
        if m:
            username = m.group(1)
            tinfo = self.tokens.get(user)
            if not tinfo:
                return {}
            if not tinfo.get("privsep"):
                return self.roles_on(username, path)
        result = {}
        split = [""] if path == "/" else path.split("/")
        cur = ""
        for i, p in enumerate(split):
            final = i == len(split) - 1
            if p != "":
                cur = cur + "/" + p
            here = cur or "/"
            acl = self._acl_node(here)
            ri = acl["tokens"].get(user)
            if ri:
                new = {r: pr for r, pr in ri.items() if final or pr}
                if new:
                    result = new
                    continue
            ri = acl["users"].get(user)
            if ri:
                new = {r: pr for r, pr in ri.items() if final or pr}
                if new:
                    result = new
                    continue
            new = {}
            for g, ri in acl["groups"].items():
                if user not in self.groups.get(g, ()):
                    continue
                for r, pr in ri.items():
                    if final or pr:
                        new[r] = pr
            if new:
                result = new
        if "NoAccess" in result:
            return {"NoAccess": result["NoAccess"]}
        return result

    def permissions(self, user, path):
        """PVE::RPCEnvironment::permissions() / $compile_acl_path: the set
        of privileges of user (or token) on path, pools included."""
        key = (self.generation, user, path)
        hit = self._aclcache.get(key)
        if hit is not None:
            return hit
        res = self._permissions(user, path)
        if len(self._aclcache) > 20000:
            self._aclcache.clear()
        self._aclcache[key] = res
        return res

    def _permissions(self, user, path):
        if user == "root@pam":
            return frozenset(self.roles["Administrator"])
        if path is None:
            return frozenset()
        username = None
        m = TOKENID_RE.match(user)
        if m:
            username = m.group(1)
            tinfo = self.tokens.get(user)
            if not tinfo:
                return frozenset()
            user_perms = self.permissions(username, path)
            if not tinfo.get("privsep"):
                return user_perms
        elif not USERID_RE.match(user):
            return frozenset()
        poolroles = {}
        for pname, p in self.pools.items():
            proles = self.roles_on(user, "/pool/" + pname)
            if not proles:
                continue
            for vmid in p["vms"]:
                poolroles.setdefault("/vms/%d" % vmid, {}).update(
                    {r: 1 for r in proles})
            for sid in p["storage"]:
                poolroles.setdefault("/storage/" + sid, {}).update(
                    {r: 1 for r in proles})
        roles = dict(self.roles_on(user, path))
        if path in poolroles and "NoAccess" not in roles:
            if "NoAccess" in poolroles[path]:
                roles = {"NoAccess": 0}
            else:
                for r in poolroles[path]:
                    roles.setdefault(r, 0)
        privs = set()
        for r in roles:
            privs |= self.roles.get(r, set())
        if username and username != "root@pam":
            privs &= self.permissions(username, path)
        return frozenset(privs)

    def check(self, user, path, privs, noerr=False, any_=False):
        perm = self.permissions(user, path)
        if any_:
            if any(p in perm for p in privs):
                return True
            if noerr:
                return False
            raise perm_exc("%s, %s" % (path, "|".join(privs)))
        for p in privs:
            if p not in perm:
                if noerr:
                    return False
                raise perm_exc("%s, %s" % (path, p))
        return True

    def user_enabled(self, user):
        """check_user_enabled(): for a token, its user."""
        m = TOKENID_RE.match(user)
        if m:
            user = m.group(1)
        if user == "root@pam" and user not in self.users:
            return True
        u = self.users.get(user)
        return bool(u) and bool(int(u.get("enable", 1)))

    def compute_api_permission(self, user):
        """RPCEnvironment::compute_api_permission(): the 'cap' of a login."""
        re_map = {
            "vms": r"VM\.|Permissions\.Modify",
            "access": r"(User|Group)\.|Permissions\.Modify",
            "storage": r"Datastore\.|Permissions\.Modify",
            "nodes": r"Sys\.|Permissions\.Modify",
            "sdn": r"SDN\.|Permissions\.Modify",
            "dc": r"Sys\.Audit|Sys\.Modify|SDN\.",
            "mapping": r"Mapping\.|Permissions.Modify",
        }
        res = {k: {} for k in re_map}
        paths = ["/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn",
                 "/mapping"]
        for e in self.acl:
            if e["path"] not in paths:
                paths.append(e["path"])
        for path in paths:
            perm = self.permissions(user, path)
            m = re.match(r"^/(\w+)", path)
            top = m.group(1) if m else "dc"
            if top == "pool":
                for p in perm:
                    if p.startswith("VM."):
                        res["vms"][p] = 1
                    elif p.startswith("Datastore."):
                        res["storage"][p] = 1
                    elif p == "Permissions.Modify":
                        res["storage"][p] = 1
                        res["vms"][p] = 1
            else:
                rx = re_map.get(top)
                if rx is None:
                    continue
                for p in perm:
                    if re.match("^(%s)" % rx, p):
                        res[top][p] = 1
        return res

    # ---------------------------------------------------------- tickets
    def _sign(self, plain, secret_data=None):
        full = plain if secret_data is None else plain + ":" + secret_data
        return base64.b64encode(hmac.new(self.auth_key, full.encode(),
                                         hashlib.sha256).digest()).decode()

    def assemble_ticket(self, data, aad=None, prefix="PVE"):
        """PVE::Ticket::assemble_rsa_ticket() (HMAC here, see header)."""
        plain = "%s:" % prefix
        if data is not None:
            plain += data.replace(":", "%3A") + ":"
        plain += "%08X" % int(time.time())
        return plain + "::" + self._sign(plain, aad)

    def verify_ticket_data(self, ticket, aad=None, prefix="PVE",
                           min_age=None, max_age=None):
        """PVE::Ticket::verify_rsa_ticket(): data (or True) or None."""
        if not isinstance(ticket, str):
            return None
        m = re.match(r"^(%s:\S+)::([^:\s]+)$" % re.escape(prefix), ticket)
        if not m:
            return None
        plain, sig = m.group(1), m.group(2)
        if not hmac.compare_digest(self._sign(plain, aad), sig):
            return None
        m = re.match(r"^%s:(?:(\S+):)?([A-Z0-9]{8})$" % re.escape(prefix),
                     plain)
        if not m:
            return None
        age = time.time() - int(m.group(2), 16)
        lo = -AUTH_GRACEPERIOD if min_age is None else min_age
        hi = self.ticket_lifetime if max_age is None else max_age
        if not (lo < age < hi):
            return None
        if m.group(1) is None:
            return True
        return urllib.parse.unquote(m.group(1))

    def verify_ticket(self, ticket):
        """AccessControl::verify_ticket(): the user name of a full ticket,
        None for anything else (TFA tickets are bound to their user by the
        signature's AAD, so they never verify here)."""
        data = self.verify_ticket_data(ticket)
        if not isinstance(data, str) or data.startswith("!tfa!"):
            return None
        return data

    def csrf_token(self, username):
        ts = "%08X" % int(time.time())
        dig = base64.b64encode(hmac.new(self.csrf_key,
                                        ("%s:%s" % (ts, username)).encode(),
                                        hashlib.sha256).digest())
        return "%s:%s" % (ts, dig.decode().rstrip("="))

    def verify_csrf(self, username, token):
        if isinstance(token, str):
            m = re.match(r"^([A-Z0-9]{8}):(\S+)$", token)
            if m:
                ts = m.group(1)
                dig = base64.b64encode(hmac.new(
                    self.csrf_key, ("%s:%s" % (ts, username)).encode(),
                    hashlib.sha256).digest()).decode().rstrip("=")
                age = time.time() - int(ts, 16)
                if (hmac.compare_digest(dig, m.group(2)) and
                        -AUTH_GRACEPERIOD < age < self.ticket_lifetime):
                    return True
        raise AuthFail("Permission denied - invalid csrf token\n")

    @staticmethod
    def _vnc_secret(user, path, port):
        # AccessControl.pm $assemble_short_lived_ticket: "$user:$path",
        # and ":$port" when a port is given (stable-bookworm)
        s = "%s:%s" % (user, path)
        if port not in (None, ""):
            s += ":%s" % port
        return s

    def assemble_vnc_ticket(self, user, path, port):
        return self.assemble_ticket(None, self._vnc_secret(user, path, port),
                                    prefix="PVEVNC")

    def verify_vnc_ticket(self, ticket, user, path, port, noerr=False):
        ok = self.verify_ticket_data(ticket,
                                     self._vnc_secret(user, path, port),
                                     prefix="PVEVNC", min_age=-20, max_age=40)
        if ok is True:
            return True
        if noerr:
            return False
        raise PveError("permission denied - invalid PVEVNC ticket\n", 401)

    def verify_token(self, value):
        """AccessControl::verify_token(): 'USER@REALM!ID=SECRET'."""
        m = re.match(r"^(.*)=(.*)$", value or "")
        if not m:
            raise ValueError("bad token header")
        tid, secret = m.group(1), m.group(2)
        if not TOKENID_RE.match(tid):
            raise ValueError("bad token id")
        t = self.tokens.get(tid)
        if not t or not self.user_enabled(tid):
            raise ValueError("no such token")
        exp = int(t.get("expire", 0))
        if exp and exp < time.time():
            raise ValueError("token expired")
        if not hmac.compare_digest(str(t.get("secret", "")), secret):
            raise ValueError("invalid token value")
        return tid

    # ------------------------------------------------------------ tasks
    def new_task(self, node, dtype, ident, user, work=None):
        """PVE::RESTEnvironment::fork_worker(): a UPID, the task recorded
        and (here) finished at once or after task_duration."""
        with self.lock:
            self.pid_counter += 1
            pid = self.pid_counter
            start = int(time.time())
            upid = "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (
                node, pid, 0x10000 + pid * 7, start, dtype, ident, user)
            task = {"upid": upid, "node": node, "pid": pid,
                    "pstart": 0x10000 + pid * 7, "starttime": start,
                    "type": dtype, "id": ident, "user": user,
                    "status": "running", "t0": time.time()}
            log = ["task started by %s" % user]
            err = None
            try:
                if work:
                    out = work()
                    if out:
                        log.extend(out)
            except PveError as e:
                err = e.msg.rstrip("\n")
            task["exitstatus"] = "OK" if err is None else err
            log.append("TASK OK" if err is None else "TASK ERROR: %s" % err)
            self.tasks.append(task)
            if len(self.tasks) > 5000:
                del self.tasks[:1000]
            self.task_logs[upid] = log
            self.changed()
            return upid

    def _task_base(self, t):
        d = {k: t[k] for k in ("upid", "node", "pid", "pstart", "starttime",
                               "type", "id", "user")}
        # Tasks.pm $convert_token_task: a token's task names its user and
        # the token id apart
        m = TOKENID_RE.match(d["user"])
        if m:
            d["user"], d["tokenid"] = m.group(1), m.group(4)
        return d

    def task_done(self, t):
        return time.time() - t["t0"] >= self.task_duration

    def task_list_entry(self, t):
        """A line of the task index (Tasks.pm node_tasks): 'status' is the
        exit status once the task ended, RUNNING before."""
        d = self._task_base(t)
        if self.task_done(t):
            d["endtime"] = t["starttime"] + int(self.task_duration)
            d["status"] = t["exitstatus"]
        else:
            d["status"] = "RUNNING"
        return d

    def task_status(self, t):
        """Tasks.pm read_task_status: running/stopped and exitstatus."""
        d = self._task_base(t)
        if self.task_done(t):
            d["status"] = "stopped"
            d["exitstatus"] = t["exitstatus"]
        else:
            d["status"] = "running"
        return d

def _uuid_for(vmid):
    h = hashlib.sha256(b"pvesim-%d" % vmid).hexdigest()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


def normalize_path(path):
    """AccessControl::normalize_path()."""
    if not path:
        return None
    path = re.sub(r"/+", "/", path)
    path = re.sub(r"/$", "", path)
    if not path:
        path = "/"
    if not path.startswith("/"):
        path = "/" + path
    if not re.match(r"^[A-Za-z0-9\.\-_/]+$", path):
        return None
    return path


# ----------------------------------------------------- parameter schema
def _t_string(maxlen=None, optional=False, fmt=None, enum=None):
    return {"type": "string", "maxLength": maxlen, "optional": optional,
            "format": fmt, "enum": enum}


def _t_int(minimum=None, maximum=None, optional=False):
    return {"type": "integer", "minimum": minimum, "maximum": maximum,
            "optional": optional}


def _t_bool(optional=True):
    return {"type": "boolean", "optional": optional}


NODE = _t_string(fmt="pve-node")
VMID = _t_int(100, 999999999)


def validate(params, schema, additional=False):
    """PVE::JSONSchema::validate() for the flat parameter sets used here;
    raises 400 with pveproxy's per-parameter messages."""
    errors = {}
    for k, v in params.items():
        s = schema.get(k)
        if s is None:
            if not additional:
                errors[k] = ("property is not defined in schema and the "
                             "schema does not allow additional properties")
            continue
        if isinstance(v, (dict, list)):
            errors[k] = "type check ('%s') failed - got %s" % (
                s["type"], "HASH" if isinstance(v, dict) else "ARRAY")
            continue
        if isinstance(v, bool):
            v = "1" if v else "0"
        sv = str(v)
        if s["type"] == "integer":
            if not re.match(r"^[+-]?\d+$", sv):
                errors[k] = "type check ('integer') failed - got '%s'" % sv
                continue
            iv = int(sv)
            if s.get("maximum") is not None and iv > s["maximum"]:
                errors[k] = "value must have a maximum value of %d" % \
                    s["maximum"]
            elif s.get("minimum") is not None and iv < s["minimum"]:
                errors[k] = "value must have a minimum value of %d" % \
                    s["minimum"]
            continue
        if s["type"] == "boolean":
            if sv not in ("0", "1"):
                errors[k] = "type check ('boolean') failed - got '%s'" % sv
            continue
        if s.get("maxLength") and len(sv) > s["maxLength"]:
            errors[k] = "value may only be %d characters long" % \
                s["maxLength"]
            continue
        if s.get("format") == "pve-node" and not NODE_RE.match(sv):
            errors[k] = ("invalid format - value does not look like a "
                         "valid node name\n")
            continue
        if s.get("enum") and sv not in s["enum"]:
            errors[k] = "value '%s' does not have a value in the " \
                "enumeration '%s'" % (sv, ", ".join(s["enum"]))
            continue
    for k, s in schema.items():
        if not s.get("optional") and k not in params:
            errors[k] = "property is missing and it is not optional"
    if errors:
        raise param_exc(errors)


# ------------------------------------------------------------ the router
class Route:
    def __init__(self, method, template, func, perm, schema=None,
                 allowtoken=True, additional=False, websocket=False):
        self.method = method
        self.template = template
        self.func = func
        self.perm = perm
        self.schema = schema or {}
        self.allowtoken = allowtoken
        self.additional = additional
        self.websocket = websocket
        names = re.findall(r"\{(\w+)\}", template)
        rx = re.escape(template)
        for n in names:
            rx = rx.replace(re.escape("{%s}" % n), "(?P<%s>[^/]+)" % n)
        self.rx = re.compile("^" + rx + "$")


class Api:
    """The handlers, each shaped as the Proxmox API method it simulates
    (file in pve-manager / qemu-server / pve-container / pve-storage /
    pve-access-control named in BEHAVIOUR.md)."""

    def __init__(self, cluster):
        self.c = cluster
        self.routes = []
        R = self._route
        # auth and version
        R("GET", "/access/ticket", self.get_ticket, "world",
          {}, additional=False)
        R("POST", "/access/ticket", self.create_ticket, "world", {
            "username": _t_string(64), "realm": _t_string(optional=True),
            "password": _t_string(), "otp": _t_string(optional=True),
            "path": _t_string(64, optional=True),
            "privs": _t_string(64, optional=True),
            "new-format": _t_bool(),
            "tfa-challenge": _t_string(optional=True)}, allowtoken=False)
        R("POST", "/access/vncticket", self.verify_vncticket, "world", {
            "authid": _t_string(64), "vncticket": _t_string(),
            "path": _t_string(64), "privs": _t_string(64),
            "port": _t_int(optional=True)})
        R("GET", "/access/domains", self.domains, "world", {})
        R("GET", "/version", self.get_version, "all", {})
        R("GET", "/cluster/resources", self.cluster_resources, "all", {
            "type": _t_string(optional=True, enum=[
                "vm", "storage", "node", "sdn"])})
        R("GET", "/cluster/tasks", self.cluster_tasks, "all", {})
        R("GET", "/nodes", self.nodes_index, "all", {})
        R("GET", "/nodes/{node}", self.node_dir, "all", {"node": NODE})
        R("GET", "/nodes/{node}/status", self.node_status,
          ("perm", "/nodes/{node}", ["Sys.Audit"]), {"node": NODE})
        for typ in ("qemu", "lxc"):
            base = "/nodes/{node}/%s" % typ
            R("GET", base, self.guest_list(typ), "all", {
                "node": NODE, "full": _t_bool()})
            R("GET", base + "/{vmid}", self.guest_dir(typ),
              ("perm", "/vms/{vmid}", ["VM.Audit"]),
              {"node": NODE, "vmid": VMID})
            R("GET", base + "/{vmid}/status", self.status_dir(typ),
              ("perm", "/vms/{vmid}", ["VM.Audit"]),
              {"node": NODE, "vmid": VMID})
            R("GET", base + "/{vmid}/status/current",
              self.status_current(typ),
              ("perm", "/vms/{vmid}", ["VM.Audit"]),
              {"node": NODE, "vmid": VMID})
            for action in ("start", "stop", "shutdown", "reboot"):
                sch = {"node": NODE, "vmid": VMID,
                       "skiplock": _t_bool(), "timeout": _t_int(0, None, True)}
                if action == "shutdown":
                    sch["forceStop"] = _t_bool()
                if action == "stop":
                    sch["overrule-shutdown"] = _t_bool()
                if action == "start" and typ == "qemu":
                    sch["machine"] = _t_string(optional=True)
                R("POST", base + "/{vmid}/status/" + action,
                  self.power(typ, action),
                  ("perm", "/vms/{vmid}", ["VM.PowerMgmt"]), sch)
            R("GET", base + "/{vmid}/config", self.config_get(typ),
              ("perm", "/vms/{vmid}", ["VM.Audit"]),
              {"node": NODE, "vmid": VMID, "current": _t_bool(),
               "snapshot": _t_string(optional=True)})
            R("PUT", base + "/{vmid}/config", self.config_set(typ, False),
              "config", {"node": NODE, "vmid": VMID}, additional=True)
            if typ == "qemu":
                R("POST", base + "/{vmid}/config",
                  self.config_set(typ, True), "config",
                  {"node": NODE, "vmid": VMID}, additional=True)
            R("POST", base + "/{vmid}/vncproxy", self.vncproxy(typ),
              ("perm", "/vms/{vmid}", ["VM.Console"]),
              {"node": NODE, "vmid": VMID, "websocket": _t_bool(),
               "generate-password": _t_bool()})
            R("POST", base + "/{vmid}/termproxy", self.guest_termproxy(typ),
              ("perm", "/vms/{vmid}", ["VM.Console"]),
              {"node": NODE, "vmid": VMID,
               "serial": _t_string(optional=True)})
            R("GET", base + "/{vmid}/vncwebsocket", self.vncwebsocket(typ),
              ("perm", "/vms/{vmid}", ["VM.Console"]),
              {"node": NODE, "vmid": VMID, "port": _t_int(5900, 5999),
               "vncticket": _t_string(512)}, websocket=True)
        R("POST", "/nodes/{node}/termproxy", self.node_termproxy,
          ("perm", "/nodes/{node}", ["Sys.Console"]),
          {"node": NODE, "cmd": _t_string(optional=True, enum=[
              "ceph_install", "login", "upgrade"]),
           "cmd-opts": _t_string(optional=True)})
        R("POST", "/nodes/{node}/vncshell", self.node_termproxy,
          ("perm", "/nodes/{node}", ["Sys.Console"]),
          {"node": NODE, "cmd": _t_string(optional=True),
           "cmd-opts": _t_string(optional=True),
           "websocket": _t_bool(), "width": _t_int(16, 4096, True),
           "height": _t_int(16, 2160, True)})
        R("GET", "/nodes/{node}/vncwebsocket", self.node_vncwebsocket,
          ("perm", "/nodes/{node}", ["Sys.Console"]),
          {"node": NODE, "port": _t_int(5900, 5999),
           "vncticket": _t_string(512)}, websocket=True)
        R("GET", "/nodes/{node}/tasks", self.node_tasks, "all", {
            "node": NODE, "start": _t_int(0, None, True),
            "limit": _t_int(0, None, True),
            "userfilter": _t_string(optional=True),
            "typefilter": _t_string(optional=True),
            "vmid": _t_int(100, 999999999, True),
            "errors": _t_bool(), "source": _t_string(
                optional=True, enum=["archive", "active", "all"]),
            "statusfilter": _t_string(optional=True),
            "since": _t_int(None, None, True),
            "until": _t_int(None, None, True)})
        R("GET", "/nodes/{node}/tasks/{upid}", self.task_dir, "all",
          {"node": NODE, "upid": _t_string()})
        R("GET", "/nodes/{node}/tasks/{upid}/status", self.task_status,
          "all", {"node": NODE, "upid": _t_string()})
        R("GET", "/nodes/{node}/tasks/{upid}/log", self.task_log, "all",
          {"node": NODE, "upid": _t_string(),
           "start": _t_int(0, None, True), "limit": _t_int(0, None, True)})
        R("GET", "/storage", self.storage_index, "all", {
            "type": _t_string(optional=True)})
        R("GET", "/nodes/{node}/storage", self.node_storage, "all", {
            "node": NODE, "content": _t_string(optional=True),
            "storage": _t_string(optional=True),
            "target": _t_string(optional=True),
            "enabled": _t_bool(), "format": _t_bool()})
        R("GET", "/pools", self.pools_index, "all", {
            "poolid": _t_string(optional=True),
            "type": _t_string(optional=True,
                              enum=["qemu", "lxc", "storage"])})
        R("GET", "/pools/{poolid}", self.pool_read,
          ("perm", "/pool/{poolid}", ["Pool.Audit"]),
          {"poolid": _t_string(), "type": _t_string(
              optional=True, enum=["qemu", "lxc", "storage"])})
        R("GET", "/access/users", self.users_index, "all", {
            "enabled": _t_bool(), "full": _t_bool()})
        R("GET", "/access/acl", self.acl_index, "acl", {})
        R("GET", "/access/permissions", self.access_permissions, "all", {
            "userid": _t_string(optional=True),
            "path": _t_string(optional=True)})

    def _route(self, *a, **kw):
        self.routes.append(Route(*a, **kw))

    def find(self, method, path):
        """RESTHandler::find_handler(): route and URI parameters."""
        for r in self.routes:
            if r.method != method:
                continue
            m = r.rx.match(path)
            if m:
                return r, {k: urllib.parse.unquote(v)
                           for k, v in m.groupdict().items()}
        return None, None

    # ----------------------------------------------------------- helpers
    def _node(self, node):
        """A handler proxied to node (proxyto => 'node'): an unknown node
        fails the way PVE::Cluster::remote_node_ip does."""
        if node not in self.c.nodes:
            raise PveError("hostname lookup '%s' failed - failed to get "
                           "address info for: %s: Name or service not "
                           "known\n" % (node, node), 500)

    def _guest(self, typ, node, vmid):
        self._node(node)
        g = self.c.guests.get(int(vmid))
        if g is None or g["type"] != typ or g["node"] != node:
            if typ == "qemu":
                raise PveError("Configuration file 'nodes/%s/qemu-server/"
                               "%s.conf' does not exist\n" % (node, vmid),
                               500)
            raise PveError("Configuration file 'nodes/%s/lxc/%s.conf' does "
                           "not exist\n" % (node, vmid), 500)
        return g

    # ------------------------------------------------------------ access
    def get_ticket(self, env, p):
        return None

    def create_ticket(self, env, p):
        """pve-access-control PVE/API2/AccessControl.pm create_ticket and
        create_ticket_do; AccessControl.pm authenticate_user and
        authenticate_2nd_new_do for TOTP."""
        c = self.c
        username = str(p["username"])
        if p.get("realm"):
            username += "@" + str(p["realm"])
        res = None
        try:
            if not c.user_enabled(username) or \
                    username not in c.users and username != "root@pam":
                raise ValueError("user does not exist or is disabled")
            if p.get("path") and p.get("privs"):
                res = self._verify_auth(username, str(p["password"]),
                                        p.get("otp"), p["path"], p["privs"])
            else:
                res = self._create_ticket_do(username, str(p["password"]),
                                             p.get("otp"),
                                             p.get("tfa-challenge"))
        except (ValueError, PveError):
            # "do not return any info to prevent user enumeration attacks"
            raise PveError("authentication failure\n", 401)
        if "NeedTFA" not in res:
            res["cap"] = c.compute_api_permission(res["username"])
        if c.cluster_name and c.check(res["username"], "/", ["Sys.Audit"],
                                      noerr=True):
            res["clustername"] = c.cluster_name
        return res

    def _password_ok(self, username, password):
        u = self.c.users.get(username)
        if not u or "password" not in u:
            return False
        return hmac.compare_digest(str(u["password"]).encode(),
                                   password.encode())

    def _totp_ok(self, username, response):
        u = self.c.users.get(username)
        m = re.match(r"^totp:(\d{6,8})$", response or "")
        if not u or not u.get("totp") or not m:
            return False
        now = time.time()
        code = m.group(1)
        # proxmox-tfa accepts the current step and one either side
        ok = any(hmac.compare_digest(totp_code(u["totp"], now + d), code)
                 for d in (-30, 0, 30))
        if ok:
            # and never the same code twice (TOTP limit / replay)
            used = u.setdefault("_used_codes", set())
            key = (code, int(now // 30))
            if code in {c_ for c_, _ in used}:
                return False
            used.add(key)
            u["_used_codes"] = {x for x in used if x[1] >= int(now // 30) - 2}
        return ok

    def _create_ticket_do(self, username, pw_or_ticket, otp, challenge):
        c = self.c
        if otp is not None and challenge is not None:
            raise ValueError("TFA response should be in 'password', not "
                             "'otp' when 'tfa-challenge' is set")
        ticketuser = None
        if challenge is None:
            ticketuser = c.verify_ticket(pw_or_ticket)
        need_tfa = False
        if ticketuser is not None and ticketuser in ("root@pam", username):
            pass        # renewal (root@pam may create tickets for others)
        elif challenge is not None:
            # the second step: the password field holds the TFA response
            data = c.verify_ticket_data(challenge, aad=username)
            if not isinstance(data, str) or not data.startswith("!tfa!"):
                raise ValueError("bad ticket")
            if not self._totp_ok(username, pw_or_ticket):
                raise ValueError("failed 2nd factor")
        else:
            if not self._password_ok(username, pw_or_ticket):
                raise ValueError("invalid credentials")
            if c.users.get(username, {}).get("totp"):
                if otp is not None:
                    if not self._totp_ok(username, str(otp)):
                        raise ValueError("failed 2nd factor")
                else:
                    need_tfa = True
        if need_tfa:
            # proxmox-tfa TfaChallenge for a TOTP-only user
            data = "!tfa!" + json.dumps({"totp": True},
                                        separators=(",", ":"))
            return {"ticket": c.assemble_ticket(data, aad=username),
                    "username": username,
                    "CSRFPreventionToken": c.csrf_token(username),
                    "NeedTFA": 1}
        return {"ticket": c.assemble_ticket(username),
                "username": username,
                "CSRFPreventionToken": c.csrf_token(username)}

    def _verify_auth(self, username, pw_or_ticket, otp, path, privs):
        c = self.c
        normpath = normalize_path(path)
        if normpath is None:
            raise ValueError("invalid path")
        tu = c.verify_ticket(pw_or_ticket)
        if tu == username:
            pass
        elif c.verify_vnc_ticket(pw_or_ticket, username, normpath, "",
                                 noerr=True):
            pass
        else:
            if not self._password_ok(username, pw_or_ticket):
                raise ValueError("invalid credentials")
        plist = [x for x in re.split(r"[\s,;]+", str(privs)) if x]
        if not plist or not c.check(username, normpath, plist, noerr=True):
            raise ValueError("no permission")
        return {"username": username}

    def verify_vncticket(self, env, p):
        """pve-access-control (stable-bookworm) API2/AccessControl.pm
        verify_vnc_ticket: what termproxy asks before it says OK."""
        c = self.c
        normpath = normalize_path(p["path"])
        plist = [x for x in re.split(r"[\s,;]+", str(p["privs"])) if x]
        port = p.get("port")
        ok = normpath is not None and c.verify_vnc_ticket(
            p["vncticket"], p["authid"], normpath,
            "" if port is None else port, noerr=True)
        if not ok or not plist or not c.check(p["authid"], normpath, plist,
                                              noerr=True):
            raise PveError("authentication failure\n", 401)
        return None

    def domains(self, env, p):
        """pve-access-control API2/Domains.pm index (no login needed)."""
        return [{"realm": "pam", "type": "pam",
                 "comment": "Linux PAM standard authentication"},
                {"realm": "pve", "type": "pve",
                 "comment": "Proxmox VE authentication server"}]

    def get_version(self, env, p):
        return dict(self.c.version)

    # ------------------------------------------------------------ cluster
    def _vm_resource(self, g):
        run = g["status"] == "running"
        conf = g["config"]
        mem = int(str(conf.get("memory", 512)).split(",")[0])
        d = {"id": "%s/%d" % (g["type"], g["vmid"]), "type": g["type"],
             "vmid": g["vmid"], "node": g["node"], "name": g["name"],
             "status": g["status"], "template": g["template"],
             "maxcpu": int(conf.get("cores", 1)) *
             int(conf.get("sockets", 1)),
             "maxmem": mem * 2 ** 20, "maxdisk": 32 * 2 ** 30,
             "cpu": 0.0123 if run else 0, "mem": (mem * 2 ** 19) if run else 0,
             "disk": 0, "diskread": 0, "diskwrite": 0, "netin": 0,
             "netout": 0,
             "uptime": int(time.time() - g["started"]) if run and
             g["started"] else 0}
        if g["tags"]:
            d["tags"] = g["tags"]
        pool = self.c.pool_of(g["vmid"])
        if pool:
            d["pool"] = pool
        return d

    def cluster_resources(self, env, p):
        """pve-manager PVE/API2/Cluster.pm resources (stable-8): pools with
        Pool.Audit (only without a type), guests with VM.Audit (their
        'pool' only with Pool.Audit on it), EVERY node (its figures only
        with Sys.Audit: API2Tools::extract_node_stats), storage with
        Datastore.Audit."""
        c, user = self.c, env["user"]
        typ = p.get("type")
        res = []
        if not typ:
            for name in sorted(c.pools):
                if c.check(user, "/pool/" + name, ["Pool.Audit"], noerr=True):
                    res.append({"id": "/pool/" + name, "pool": name,
                                "type": "pool"})
        if not typ or typ == "vm":
            for vmid in sorted(c.guests, key=str):
                g = c.guests[vmid]
                if not c.check(user, "/vms/%d" % vmid, ["VM.Audit"],
                               noerr=True):
                    continue
                e = self._vm_resource(g)
                if e.get("pool") and not c.check(
                        user, "/pool/" + e["pool"], ["Pool.Audit"],
                        noerr=True):
                    del e["pool"]
                res.append(e)
        if not typ or typ == "node":
            for n in c.nodes:
                audit = c.check(user, "/nodes/" + n, ["Sys.Audit"],
                                noerr=True)
                res.append(self._node_resource(n, not audit))
        if not typ or typ == "storage":
            for s in c.storage:
                if not c.check(user, "/storage/" + s["storage"],
                               ["Datastore.Audit"], noerr=True):
                    continue
                for n in s["nodes"]:
                    res.append({"id": "storage/%s/%s" % (n, s["storage"]),
                                "storage": s["storage"], "node": n,
                                "type": "storage", "plugintype": s["type"],
                                "status": "available",
                                "shared": s["shared"],
                                "content": s["content"],
                                "maxdisk": s["total"], "disk": s["used"]})
        return res

    def _node_resource(self, n, exclude_stats=False):
        d = {"id": "node/" + n, "node": n, "type": "node",
             "status": "online", "level": ""}
        if not exclude_stats:
            d.update({"cpu": 0.021, "maxcpu": 8,
                      "mem": 6 * 2 ** 30, "maxmem": 32 * 2 ** 30,
                      "disk": 5 * 2 ** 30, "maxdisk": 60 * 2 ** 30,
                      "uptime": int(time.time() - START_TIME) + 86400})
        d["cgroup-mode"] = 2
        return d

    # -------------------------------------------------------------- nodes
    def nodes_index(self, env, p):
        """pve-manager PVE/API2/Nodes.pm NodeIndex index: every node, with
        its figures only for Sys.Audit on /nodes/NODE."""
        c, user = self.c, env["user"]
        res = []
        for n in c.nodes:
            audit = c.check(user, "/nodes/" + n, ["Sys.Audit"], noerr=True)
            d = self._node_resource(n, not audit)
            del d["cgroup-mode"]
            d["ssl_fingerprint"] = env["server"].fingerprints.get(n, "")
            res.append(d)
        return res

    def node_dir(self, env, p):
        self._node(p["node"])
        return [{"name": x} for x in (
            "qemu", "lxc", "storage", "tasks", "status", "termproxy",
            "vncshell", "vncwebsocket", "version")]

    def node_status(self, env, p):
        self._node(p["node"])
        return {"uptime": int(time.time() - START_TIME) + 86400,
                "cpu": 0.021, "loadavg": ["0.10", "0.12", "0.09"],
                "memory": {"total": 32 * 2 ** 30, "used": 6 * 2 ** 30,
                           "free": 26 * 2 ** 30},
                "rootfs": {"total": 60 * 2 ** 30, "used": 5 * 2 ** 30,
                           "free": 55 * 2 ** 30, "avail": 52 * 2 ** 30},
                "cpuinfo": {"cpus": 8, "sockets": 1, "cores": 8,
                            "model": "Simulated CPU", "mhz": "2400.000"},
                "kversion": "Linux 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC",
                "pveversion": "pve-manager/%s/%s" % (
                    self.c.version["version"], self.c.version["repoid"]),
                "boot-info": {"mode": "efi", "secureboot": 0},
                "current-kernel": {"sysname": "Linux", "machine": "x86_64",
                                   "release": "6.8.12-9-pve",
                                   "version": "#1 SMP PREEMPT_DYNAMIC"}}

    # ------------------------------------------------------------- guests
    def guest_list(self, typ):
        def h(env, p):
            """qemu-server PVE/API2/Qemu.pm vmlist (pve-container
            PVE/API2/LXC.pm vmlist): only guests with VM.Audit."""
            c, user = self.c, env["user"]
            self._node(p["node"])
            res = []
            for vmid in sorted(c.guests):
                g = c.guests[vmid]
                if g["type"] != typ or g["node"] != p["node"]:
                    continue
                if not c.check(user, "/vms/%d" % vmid, ["VM.Audit"],
                               noerr=True):
                    continue
                r = self._vm_resource(g)
                d = {"vmid": vmid, "name": g["name"], "status": g["status"],
                     "cpus": r["maxcpu"], "maxmem": r["maxmem"],
                     "maxdisk": r["maxdisk"], "mem": r["mem"],
                     "cpu": r["cpu"], "uptime": r["uptime"], "disk": 0,
                     "diskread": 0, "diskwrite": 0, "netin": 0, "netout": 0}
                if typ == "qemu":
                    d["pid"] = 10000 + vmid if g["status"] == "running" \
                        else None
                    if d["pid"] is None:
                        del d["pid"]
                    d["serial"] = 0
                else:
                    d["type"] = "lxc"
                    d["swap"] = 0
                    d["maxswap"] = 512 * 2 ** 20
                if g["template"]:
                    d["template"] = 1
                if g["tags"]:
                    d["tags"] = g["tags"]
                res.append(d)
            return res
        return h

    def guest_dir(self, typ):
        def h(env, p):
            self._guest(typ, p["node"], p["vmid"])
            names = ["config", "status", "vncproxy", "termproxy",
                     "vncwebsocket"]
            return [{"subdir": n} for n in names]
        return h

    def status_dir(self, typ):
        def h(env, p):
            self._guest(typ, p["node"], p["vmid"])
            return [{"subdir": n} for n in ("current", "start", "stop",
                                            "shutdown", "reboot")]
        return h

    def status_current(self, typ):
        def h(env, p):
            g = self._guest(typ, p["node"], p["vmid"])
            r = self._vm_resource(g)
            d = {"vmid": g["vmid"], "name": g["name"], "status": g["status"],
                 "cpus": r["maxcpu"], "maxmem": r["maxmem"], "mem": r["mem"],
                 "maxdisk": r["maxdisk"], "disk": 0, "cpu": r["cpu"],
                 "uptime": r["uptime"], "netin": 0, "netout": 0,
                 "diskread": 0, "diskwrite": 0, "ha": {"managed": 0}}
            if typ == "qemu":
                d["qmpstatus"] = g["status"]
                d["agent"] = 0
                d["running-machine"] = "pc-i440fx-9.2+pve1" \
                    if g["status"] == "running" else None
                d["running-qemu"] = "9.2.0" if g["status"] == "running" \
                    else None
                for k in ("running-machine", "running-qemu"):
                    if d[k] is None:
                        del d[k]
                if g["status"] == "running":
                    d["pid"] = 10000 + g["vmid"]
            else:
                d["type"] = "lxc"
            if g["template"]:
                d["template"] = 1
            if g["tags"]:
                d["tags"] = g["tags"]
            return d
        return h

    def power(self, typ, action):
        dtypes = {"qemu": {"start": "qmstart", "stop": "qmstop",
                           "shutdown": "qmshutdown", "reboot": "qmreboot"},
                  "lxc": {"start": "vzstart", "stop": "vzstop",
                          "shutdown": "vzshutdown", "reboot": "vzreboot"}}

        def h(env, p):
            """qemu-server PVE/API2/Qemu.pm vm_start/vm_stop/vm_shutdown/
            vm_reboot: a worker task, its UPID returned at once."""
            c = self.c
            g = self._guest(typ, p["node"], p["vmid"])
            vmid = g["vmid"]

            running = g["status"] == "running"
            # checks made before the worker forks: a 500 instead of a UPID
            # (qemu-server vm_reboot; pve-container vm_start, vm_stop,
            # vm_shutdown, vm_reboot)
            if typ == "qemu" and action == "reboot" and not running:
                raise PveError("VM %d not running\n" % vmid)
            if typ == "lxc":
                if action == "start" and running:
                    raise PveError("CT %d already running\n" % vmid)
                if action in ("stop", "shutdown") and not running:
                    raise PveError("CT %d not running\n" % vmid)
                if action == "reboot" and not running:
                    raise PveError("VM %d not running\n" % vmid)

            def work():
                # inside the worker: qemu-server vm_start dies in the task
                # for a running VM; stopping a stopped VM is a no-op
                with c.lock:
                    if action == "start":
                        if g["status"] == "running":
                            raise PveError("VM %d already running\n" % vmid)
                        g["status"] = "running"
                        g["started"] = time.time()
                    elif action in ("stop", "shutdown"):
                        g["status"] = "stopped"
                        g["started"] = None
                    elif action == "reboot":
                        g["started"] = time.time()
                    c.changed()
                return ["%s %d" % (action, vmid)]
            return c.new_task(p["node"], dtypes[typ][action], str(vmid),
                              env["user"], work)
        return h

    # ------------------------------------------------------------- config
    @staticmethod
    def _digest(conf):
        text = "".join("%s: %s\n" % (k, conf[k]) for k in sorted(conf))
        return hashlib.sha1(text.encode()).hexdigest()

    def config_get(self, typ):
        def h(env, p):
            g = self._guest(typ, p["node"], p["vmid"])
            d = dict(g["config"])
            d["digest"] = self._digest(g["config"])
            return d
        return h

    # qemu-server (stable-bookworm) PVE/API2/Qemu.pm: the option groups
    # of $check_vm_modify_config_perm
    CPU_KEYS = {"cores", "cpu", "runningcpu", "cpulimit", "cpuunits",
                "numa", "smp", "sockets", "vcpus", "affinity"}
    MEM_KEYS = {"memory", "balloon", "shares", "swap"}
    HW_KEYS = {"acpi", "hotplug", "kvm", "machine", "runningmachine",
               "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0",
               "rng0"}
    GENERAL_KEYS = {"agent", "autostart", "bios", "description", "keyboard",
                    "localtime", "migrate_downtime", "migrate_speed", "name",
                    "onboot", "ostype", "protection", "reboot", "startdate",
                    "startup", "tdf", "template", "tags",
                    # pve-container's general options
                    "hostname", "console", "tty", "cmode", "searchdomain",
                    "nameserver", "features", "timezone", "unprivileged",
                    "arch"}
    DISK_KEYS = {"boot", "bootdisk", "vmstatestorage"}
    CI_KEYS = {"cicustom", "cipassword", "citype", "ciuser", "ciupgrade",
               "nameserver", "searchdomain", "sshkeys"}
    ROOT_KEYS = {"args", "hookscript", "lock", "ivshmem", "vmgenid",
                 "spice_enhancements", "freeze", "vmstate", "lxc"}
    SPECIAL = {"node", "vmid", "digest", "delete", "revert", "skiplock",
               "background_delay", "force"}
    DRIVE_RE = re.compile(r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|"
                          r"virtio([0-9]|1[0-5])|efidisk0|tpmstate0|rootfs|"
                          r"mp\d+|unused\d+)$")

    def _privs_for_key(self, typ, key, value):
        """The privileges one changed (or deleted) option needs; None for
        an option no schema knows; 'root' for root-only options."""
        if self.DRIVE_RE.match(key):
            if value is not None and "media=cdrom" in str(value):
                return ["VM.Config.CDROM"]
            return ["VM.Config.Disk"]
        if key == "cdrom":
            return ["VM.Config.CDROM"]
        if re.match(r"^(serial|usb|hostpci|virtiofs|parallel)\d+$", key):
            return ["VM.Config.HWType"]
        if key in self.CPU_KEYS or re.match(r"^numa\d+$", key):
            return ["VM.Config.CPU"]
        if key in self.MEM_KEYS:
            return ["VM.Config.Memory"]
        if key in self.HW_KEYS:
            return ["VM.Config.HWType"]
        if key in self.GENERAL_KEYS:
            return ["VM.Config.Options"]
        if key in self.DISK_KEYS:
            return ["VM.Config.Disk"]
        if re.match(r"^net\d+$", key):
            return ["VM.Config.Network"]
        if key in self.CI_KEYS or re.match(r"^ipconfig\d+$", key):
            return ("any", ["VM.Config.Cloudinit", "VM.Config.Network"])
        if key in self.ROOT_KEYS:
            return "root"
        return None

    def config_set(self, typ, asynchronous):
        def h(env, p):
            """qemu-server update_vm_api (PUT: sync, null; POST: async,
            UPID), pve-container update_vm (PUT)."""
            c, user = self.c, env["user"]
            vmid = int(p["vmid"])
            changes = {k: v for k, v in p.items() if k not in self.SPECIAL}
            deletes = [x for x in re.split(r"[\s,;]+",
                                           str(p.get("delete", ""))) if x]
            errors = {}
            for k, v in changes.items():
                if isinstance(v, (dict, list)):
                    errors[k] = "type check ('string') failed - got %s" % (
                        "HASH" if isinstance(v, dict) else "ARRAY")
                elif self._privs_for_key(typ, k, v) is None:
                    errors[k] = ("property is not defined in schema and the "
                                 "schema does not allow additional "
                                 "properties")
            for k in deletes:
                if k in changes:
                    errors["delete"] = ("you can't use '-%s' and -delete %s "
                                        "at the same time" % (k, k))
            if errors:
                raise param_exc(errors)
            if not changes and not deletes:
                raise PveError("no options specified\n", 500)
            # permissions: $check_vm_modify_config_perm, then the drives
            if user != "root@pam":
                path = "/vms/%d" % vmid
                for k in list(changes) + deletes:
                    need = self._privs_for_key(typ, k, changes.get(k))
                    if need == "root" or need is None:
                        raise PveError("only root can set '%s' config\n"
                                       % k, 500)
                    if isinstance(need, tuple):
                        c.check(user, path, need[1], any_=True)
                    else:
                        c.check(user, path, need)
            g = self._guest(typ, p["node"], vmid)
            if p.get("digest") and p["digest"] != self._digest(g["config"]):
                raise PveError("detected modified configuration - file "
                               "changed by other user? Try again.\n", 500)

            def work():
                with c.lock:
                    for k in deletes:
                        g["config"].pop(k, None)
                    for k, v in changes.items():
                        g["config"][k] = v
                    if "name" in changes:
                        g["name"] = str(changes["name"])
                    if "hostname" in changes:
                        g["name"] = str(changes["hostname"])
                    if "tags" in changes:
                        g["tags"] = str(changes["tags"])
                    c.changed()
                return ["update VM %d: %s" % (vmid, ",".join(
                    sorted(changes) + ["-delete " + d for d in deletes]))]
            if asynchronous:
                return c.new_task(p["node"], "qmconfig", str(vmid), user,
                                  work)
            work()
            return None
        return h

    # ----------------------------------------------------------- consoles
    def _console(self, env, node, authpath, dtype, ident, mode="term"):
        c, user = self.c, env["user"]
        with c.lock:
            port = 5900 + (c.pid_counter % 100)
            ticket = c.assemble_vnc_ticket(user, authpath, port)
            # what listens on that port: termproxy (text) or a VNC server
            c.consoles[(authpath, port)] = mode
        upid = c.new_task(node, dtype, ident, user)
        res = {"user": user, "ticket": ticket, "port": port, "upid": upid}
        return res

    def node_termproxy(self, env, p):
        """pve-manager PVE/API2/Nodes.pm termproxy."""
        self._node(p["node"])
        return self._console(env, p["node"], "/nodes/" + p["node"],
                             "vncshell", "")

    def guest_termproxy(self, typ):
        def h(env, p):
            g = self._guest(typ, p["node"], p["vmid"])
            if g["status"] != "running":
                raise PveError("VM %d not running\n" % g["vmid"])
            return self._console(env, p["node"], "/vms/%d" % g["vmid"],
                                 "vncterm" if typ == "lxc" else "vncproxy",
                                 str(g["vmid"]))
        return h

    def vncproxy(self, typ):
        def h(env, p):
            """qemu-server PVE/API2/Qemu.pm vncproxy."""
            g = self._guest(typ, p["node"], p["vmid"])
            if g["status"] != "running":
                raise PveError("VM %d not running\n" % g["vmid"])
            res = self._console(env, p["node"], "/vms/%d" % g["vmid"],
                                "vncproxy", str(g["vmid"]), mode="vnc")
            res["cert"] = env["server"].cert_pem
            if p.get("generate-password") in (1, "1", True):
                res["password"] = secrets.token_hex(4)
            return res
        return h

    def node_vncwebsocket(self, env, p):
        """pve-manager PVE/API2/Nodes.pm vncwebsocket."""
        self._node(p["node"])
        self.c.verify_vnc_ticket(p["vncticket"], env["user"],
                                 "/nodes/" + p["node"], p["port"])
        env["console"] = ("term", p["node"], None)
        return {"port": str(p["port"])}

    def vncwebsocket(self, typ):
        def h(env, p):
            g = self._guest(typ, p["node"], p["vmid"])
            self.c.verify_vnc_ticket(p["vncticket"], env["user"],
                                     "/vms/%d" % g["vmid"], p["port"])
            path = "/vms/%d" % g["vmid"]
            mode = self.c.consoles.get((path, int(p["port"])), "term")
            env["console"] = (mode, p["node"], g["vmid"])
            return {"port": str(p["port"])}
        return h

    # -------------------------------------------------------------- tasks
    @staticmethod
    def _task_owner(t, user):
        """Tasks.pm $check_task_user: a token sees its own tasks, a user
        its own and those of its tokens."""
        if t["user"] == user:
            return True
        m = TOKENID_RE.match(t["user"])
        return bool(m) and m.group(1) == user

    def node_tasks(self, env, p):
        """pve-manager PVE/API2/Tasks.pm node_tasks: own tasks, or all with
        Sys.Audit on /nodes/NODE."""
        c, user = self.c, env["user"]
        self._node(p["node"])
        auditor = c.check(user, "/nodes/" + p["node"], ["Sys.Audit"],
                          noerr=True)
        start = int(p.get("start", 0))
        limit = int(p.get("limit", 50))
        errors = str(p.get("errors", "0")) == "1"
        res, count = [], 0
        for t in reversed(c.tasks):
            if t["node"] != p["node"]:
                continue
            if p.get("userfilter") and p["userfilter"].lower() not in \
                    t["user"].lower():
                continue
            if not (auditor or self._task_owner(t, user)):
                continue
            if p.get("typefilter") and t["type"] != p["typefilter"]:
                continue
            if p.get("vmid") and t["id"] != str(p["vmid"]):
                continue
            e = c.task_list_entry(t)
            if errors and e["status"] in ("OK", "RUNNING"):
                continue
            count += 1
            if count <= start or len(res) >= limit:
                continue
            res.append(e)
        env["total"] = count
        return res

    def cluster_tasks(self, env, p):
        c, user = self.c, env["user"]
        res = []
        for t in reversed(c.tasks):
            if self._task_owner(t, user) or c.check(
                    user, "/nodes/" + t["node"], ["Sys.Audit"], noerr=True):
                res.append(c.task_list_entry(t))
        return res

    def _find_task(self, env, p):
        """Tasks.pm read_task_log/read_task_status: 400 for a UPID that
        does not parse or names no task; Sys.Audit on /nodes/NODE unless
        the caller owns it."""
        self._node(p["node"])
        m = re.match(r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):"
                     r"([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
                     r"([^:\s]+):([^:\s]*):([^:\s]+):$", p["upid"])
        if not m:
            raise param_exc({"upid": "unable to parse worker upid"})
        task = None
        for t in self.c.tasks:
            if t["upid"] == p["upid"]:
                task = t
        if task is None:
            raise param_exc({"upid": "no such task"})
        if not self._task_owner(task, env["user"]):
            self.c.check(env["user"], "/nodes/" + p["node"], ["Sys.Audit"])
        return task

    def task_dir(self, env, p):
        self._find_task(env, p)
        return [{"name": "log"}, {"name": "status"}]

    def task_status(self, env, p):
        return self.c.task_status(self._find_task(env, p))

    def task_log(self, env, p):
        t = self._find_task(env, p)
        lines = self.c.task_logs.get(t["upid"], [])
        start = int(p.get("start", 0))
        limit = int(p.get("limit", 50))
        env["total"] = len(lines)
        return [{"n": i + 1, "t": s} for i, s in
                enumerate(lines)][start:start + limit]

    # ------------------------------------------------------------ storage
    def storage_index(self, env, p):
        """pve-storage PVE/API2/Storage/Config.pm index: Datastore.Audit or
        Datastore.AllocateSpace on /storage/ID."""
        c, user = self.c, env["user"]
        res = []
        for s in c.storage:
            if p.get("type") and s["type"] != p["type"]:
                continue
            if not c.check(user, "/storage/" + s["storage"],
                           ["Datastore.Audit", "Datastore.AllocateSpace"],
                           noerr=True, any_=True):
                continue
            d = {"storage": s["storage"], "type": s["type"],
                 "content": s["content"], "shared": s["shared"],
                 "digest": hashlib.sha1(json.dumps(
                     c.storage, sort_keys=True).encode()).hexdigest()}
            if len(s["nodes"]) != len(c.nodes):
                d["nodes"] = ",".join(s["nodes"])
            res.append(d)
        return res

    def node_storage(self, env, p):
        """pve-storage PVE/API2/Storage/Status.pm index."""
        c, user = self.c, env["user"]
        self._node(p["node"])
        res = []
        for s in c.storage:
            if p["node"] not in s["nodes"]:
                continue
            if p.get("storage") and s["storage"] != p["storage"]:
                continue
            if not c.check(user, "/storage/" + s["storage"],
                           ["Datastore.Audit", "Datastore.AllocateSpace"],
                           noerr=True, any_=True):
                continue
            res.append({"storage": s["storage"], "type": s["type"],
                        "content": s["content"], "shared": s["shared"],
                        "active": 1, "enabled": 1, "total": s["total"],
                        "used": s["used"],
                        "avail": s["total"] - s["used"],
                        "used_fraction": s["used"] / s["total"]})
        return res

    # -------------------------------------------------------------- pools
    def pools_index(self, env, p):
        """pve-manager PVE/API2/Pool.pm index: pools with Pool.Audit."""
        c, user = self.c, env["user"]
        res = []
        for name in sorted(c.pools):
            if p.get("poolid") and p["poolid"] != name:
                continue
            if not c.check(user, "/pool/" + name, ["Pool.Audit"], noerr=True):
                continue
            d = {"poolid": name}
            if c.pools[name]["comment"]:
                d["comment"] = c.pools[name]["comment"]
            if p.get("poolid"):
                d["members"] = self._pool_members(name, p.get("type"))
            res.append(d)
        return res

    def _pool_members(self, name, typ=None):
        c = self.c
        members = []
        for vmid in sorted(c.pools[name]["vms"]):
            g = c.guests.get(vmid)
            if g is None or (typ and g["type"] != typ):
                continue
            members.append(self._vm_resource(g))
        for sid in sorted(c.pools[name]["storage"]):
            if typ and typ != "storage":
                continue
            for s in c.storage:
                if s["storage"] == sid:
                    for n in s["nodes"]:
                        members.append({"id": "storage/%s/%s" % (n, sid),
                                        "type": "storage", "storage": sid,
                                        "node": n})
        return members

    def pool_read(self, env, p):
        c = self.c
        if p["poolid"] not in c.pools:
            raise PveError("pool '%s' does not exist\n" % p["poolid"], 500)
        d = {"members": self._pool_members(p["poolid"], p.get("type"))}
        if c.pools[p["poolid"]]["comment"]:
            d["comment"] = c.pools[p["poolid"]]["comment"]
        return d

    # ------------------------------------------------------------- access
    def users_index(self, env, p):
        """pve-access-control PVE/API2/User.pm index: all users with
        User.Modify on /access/groups, else those of groups the caller may
        modify, and always the caller."""
        c, user = self.c, env["user"]
        m = TOKENID_RE.match(user)
        owner = m.group(1) if m else user
        allowed = c.check(user, "/access/groups", ["User.Modify",
                                                   "Sys.Audit"],
                          noerr=True, any_=True)
        res = []
        for uid in sorted(c.users):
            if not allowed and uid != owner:
                grp = [g for g, mem in c.groups.items() if uid in mem]
                if not any(c.check(user, "/access/groups/" + g,
                                   ["User.Modify", "Sys.Audit"], noerr=True,
                                   any_=True) for g in grp):
                    continue
            u = c.users[uid]
            if p.get("enabled") in (1, "1", True) and not int(
                    u.get("enable", 1)):
                continue
            d = {"userid": uid, "enable": int(u.get("enable", 1)),
                 "expire": 0, "realm-type": uid.split("@")[-1]}
            if u.get("totp"):
                d["tfa-locked-until"] = None
                del d["tfa-locked-until"]
            res.append(d)
        return res

    def acl_index(self, env, p):
        """pve-access-control API2/ACL.pm read_acl: every entry with
        Sys.Audit on /access, else those on paths where the caller passes
        RPCEnvironment::check_perm_modify."""
        c, user = self.c, env["user"]
        audit = c.check(user, "/access", ["Sys.Audit"], noerr=True)
        res = []
        for e in c.acl:
            path = e["path"]
            need = ["Permissions.Modify"]
            if re.match(r"^/storage/.+$", path):
                need.append("Datastore.Allocate")
            elif re.match(r"^/vms/.+$", path):
                need.append("VM.Allocate")
            elif re.match(r"^/pool/.+$", path):
                need.append("Pool.Allocate")
            if not (audit or c.check(user, path, need, noerr=True,
                                     any_=True)):
                continue
            res.append({"path": e["path"], "type": e["type"],
                        "ugid": e["ugid"], "roleid": e["roleid"],
                        "propagate": e["propagate"]})
        return res

    def access_permissions(self, env, p):
        c, user = self.c, env["user"]
        target = p.get("userid") or user
        if target != user:
            m = TOKENID_RE.match(target)
            if not (m and m.group(1) == user):
                c.check(user, "/access", ["Sys.Audit"])
        paths = {"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn",
                 "/storage", "/vms"}
        paths |= {e["path"] for e in c.acl}
        for name, pl in c.pools.items():
            paths |= {"/vms/%d" % v for v in pl["vms"]}
            paths |= {"/storage/" + s for s in pl["storage"]}
        if p.get("path"):
            paths = {p["path"]}
        res = {}
        for path in sorted(paths):
            perm = c.permissions(target, path)
            if perm:
                res[path] = {x: 1 for x in sorted(perm)}
        return res


VM_CONFIG_PERMS = ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU",
                   "VM.Config.Memory", "VM.Config.Network",
                   "VM.Config.HWType", "VM.Config.Options",
                   "VM.Config.Cloudinit"]

INDEX_HTML = (b"<!DOCTYPE html>\n<html><head><title>pvesim</title></head>"
              b"<body>pvesim: a simulator of the Proxmox VE API, for tests"
              b"</body></html>\n")


def check_permissions(cluster, route, user, params):
    """RPCEnvironment::check_api2_permissions()."""
    perm = route.perm
    if perm == "world":
        return
    if user == "root@pam":
        return
    if perm == "all":
        return
    if perm == "config":
        # qemu-server update_vm: any of $vm_config_perm_list on /vms/{vmid},
        # then each changed key inside the handler
        cluster.check(user, normalize_path("/vms/%s" % params.get("vmid")),
                      VM_CONFIG_PERMS, any_=True)
        return
    if perm == "acl":
        return      # filtered inside the handler
    kind, tmpl, privs = perm[0], perm[1], perm[2]
    assert kind == "perm"
    path = tmpl
    for k, v in params.items():
        path = path.replace("{%s}" % k, str(v))
    cluster.check(user, normalize_path(path) or "", privs)


# -------------------------------------------------------- HTTP machinery
class Request:
    pass


def parse_content_type(value):
    parts = re.split(r"\s*[;,]\s*", value)
    return parts[0] if parts else None


def decode_urlencoded(data):
    """AnyEvent.pm decode_urlencoded(): repeated keys become lists."""
    res = {}
    if not data:
        return res
    for pair in data.split("&"):
        if pair == "":
            continue
        if "=" in pair:
            k, v = pair.split("=", 1)
            v = urllib.parse.unquote(v.replace("+", " "))
        else:
            k, v = pair, None
        k = urllib.parse.unquote(k.replace("+", " "))
        if v is not None and k in res and res[k] is not None:
            old = res[k]
            res[k] = (old if isinstance(old, list) else [old]) + [v]
        else:
            res[k] = v
    return res


def extract_auth_value(header, key):
    """pve-http-server Formatter.pm extract_auth_value(): KEY=VALUE or
    KEY VALUE, at the start or after white space, up to a ';'."""
    if not header:
        return None
    m = re.search(r"(?:^|\s)%s(?:=| )([^;]*)" % re.escape(key), header)
    if not m:
        return None
    v = m.group(1)
    return urllib.parse.unquote(v) if v else v


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           501: "Not Implemented"}


class Handler(socketserver.BaseRequestHandler):
    """One client connection: TLS handshake, then HTTP/1.1 requests with
    keep-alive, the way pve-http-server's AnyEvent.pm reads them."""

    def setup(self):
        self.sock = self.request
        self.server.conns.add(self.sock)
        self.sock.settimeout(self.server.sim.handshake_timeout)
        self.buf = b""
        self.node = self.server.node

    def finish(self):
        self.server.conns.discard(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass

    # -------------------------------------------------------------- I/O
    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            data = b""
        if not data:
            raise EOFError
        self.buf += data

    def readline(self, limit):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                if line.endswith(b"\r"):
                    line = line[:-1]
                return line
            if len(self.buf) > limit:
                # AnyEvent::Handle rbuf_max overflow: the handle errors out
                raise DropConnection()
            self._fill()

    def readexact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        self.sock.sendall(data)

    # ------------------------------------------------------------ loop
    def handle(self):
        sim = self.server.sim
        try:
            self.sock.do_handshake()
        except (ssl.SSLError, OSError, socket.timeout):
            return
        self.sock.settimeout(sim.idle_timeout)
        keep_alive = KEEP_ALIVE_REQUESTS
        try:
            while keep_alive > 0:
                keep_alive -= 1
                more = self.one_request(keep_alive)
                if not more:
                    break
        except (EOFError, DropConnection, ConnectionError, ssl.SSLError,
                OSError):
            return

    def one_request(self, keep_alive):
        # push_request_header: empty lines before a request are ignored
        while True:
            line = self.readline(LIMIT_MAX_POST + LIMIT_MAX_HEADER_SIZE)
            if line != b"":
                break
        req = Request()
        req.t0 = time.time()
        req.node = self.node
        req.keep_alive = keep_alive
        req.method = None
        req.path = None
        req.query = ""
        req.identity = None
        req.proto = "HTTP/1.1"
        text = line.decode("latin-1")
        m = re.search(r"(\S+)\x20(\S+)\x20HTTP/(\d+)\.(\d+)", text)
        if not m:
            req.proto = "HTTP/1.0"
            return self.error(req, 400, "bad request")
        req.method, req.url = m.group(1), m.group(2)
        maj, mnr = int(m.group(3)), int(m.group(4))
        req.proto = "HTTP/%d.%d" % (maj, mnr)
        req.ver = maj * 1000 + mnr
        if maj != 1:
            return self.error(req, 506, "http protocol version %d.%d not "
                                        "supported" % (maj, mnr))
        if re.match(r"^[^/]*@", req.url):
            return self.error(req, 400, "invalid url")
        u = urllib.parse.urlsplit(req.url)
        req.path = urllib.parse.unquote(u.path)
        req.query = u.query
        # unshift_read_header: count and size limits, continuation lines
        headers = []
        count = size = 0
        while True:
            raw = self.readline(LIMIT_MAX_POST + LIMIT_MAX_HEADER_SIZE)
            hl = raw.decode("latin-1")
            count += 1
            if count >= LIMIT_MAX_HEADERS:
                # "too many http header lines (> 64)": pveproxy dies in
                # its reader and never answers
                raise DropConnection()
            size += len(hl)
            if size >= LIMIT_MAX_HEADER_SIZE:
                # "http header too large": likewise
                raise DropConnection()
            if hl == "":
                break
            mh = re.match(r"^([^:\s]+)\s*:\s*(.*)", hl)
            if mh:
                headers.append([mh.group(1), mh.group(2)])
                continue
            mc = re.match(r"^\s+(.*)", hl)
            if mc and headers:
                headers[-1][1] += " " + mc.group(1)
                continue
            return self.error(req, 506, "unable to parse request header")
        req.headers = headers
        return self.process(req)

    def header(self, req, name):
        """HTTP::Headers->header(): several fields are joined by ', '."""
        vals = [v for k, v in req.headers if k.lower() == name.lower()]
        if not vals:
            return None
        return ", ".join(vals)

    # -------------------------------------------------------- requests
    def process(self, req):
        sim = self.server.sim
        # process_header
        if req.method not in KNOWN_METHODS:
            return self.respond(req, 501, "method '%s' not available"
                                % req.method, None, None)
        conn = self.header(req, "Connection")
        if conn:
            if re.search(r"close", conn, re.I):
                req.keep_alive = 0
        elif req.ver < 1001:
            req.keep_alive = 0
        ae = self.header(req, "Accept-Encoding") or ""
        req.gzip = "gzip" in ae
        te = self.header(req, "Transfer-Encoding")
        if te and te.lower() == "chunked":
            return self.error(req, 501,
                              "chunked transfer encoding not supported")
        if te:
            return self.error(req, 501, "Unknown transfer encoding '%s'" % te)
        if self.header(req, "Host") is None and False:
            pass
        # authenticate_and_handle_request
        m = re.match(r"^/api2/+([a-z][a-z0-9]+)(/.*)?$", req.path)
        if not req.path.startswith("/api2"):
            # handle_request: pages (the GUI's "/"), then files, else die
            sim.log_request(req, 200 if req.path == "/" else 500)
            if req.path == "/" and req.method == "GET":
                req.logged = True
                return self.respond(req, 200, "OK", INDEX_HTML,
                                    "text/html;charset=UTF-8")
            req.logged = True
            # a Perl die: the body keeps the message's newline
            return self.error(req, 500, "no such file '%s'\n" % req.path)
        if not m:
            return self.error(req, 501, "no such uri")
        fmt, rel = m.group(1), m.group(2) or "/"
        req.rel = rel
        token = self.header(req, "CSRFPreventionToken")
        cookie = self.header(req, "Cookie")
        authz = self.header(req, "Authorization")
        ticket = extract_auth_value(cookie, "PVEAuthCookie")
        if not ticket:
            ticket = extract_auth_value(authz, "PVEAuthCookie")
        api_token = None
        if not ticket:
            api_token = extract_auth_value(authz, "PVEAPIToken")
        try:
            auth = self.auth_handler(req.method, rel, ticket, token,
                                     api_token)
        except AuthFail as e:
            req.identity = None
            # authenticate_and_handle_request: a fixed 3 s (not counted
            # from the request's start as for a handler's 401)
            return self.respond(req, e.code, e.msg, None, None,
                                delay=sim.auth_delay, from_start=False)
        req.identity = auth["userid"]
        # bodies
        clen = self.header(req, "Content-Length")
        body = b""
        if clen:
            try:
                n = int(clen.strip())
            except ValueError:
                return self.error(req, 400, "bad request")
            if n:
                if req.method not in ("PUT", "POST"):
                    return self.error(req, 501, "Unexpected content for "
                                                "method '%s'" % req.method)
                if n > LIMIT_MAX_POST:
                    return self.error(req, 501, "for data too large")
                ctype = self.header(req, "Content-Type")
                ct = parse_content_type(ctype) if ctype else None
                if ct and ct not in ("application/x-www-form-urlencoded",
                                     "application/json"):
                    return self.error(req, 506, "upload 'Content-Type '%s' "
                                                "not implemented" % ctype)
                body = self.readexact(n)
        if fmt != "json":
            return self.error(req, 501, "no formatter for uri %s, %s"
                              % (rel, fmt))
        return self.api2(req, auth, body)

    def auth_handler(self, method, rel, ticket, token, api_token):
        """pve-manager PVE/HTTPServer.pm auth_handler()."""
        c = self.server.sim.cluster
        require_auth = not (
            (rel == "/access/domains" and method == "GET") or
            (rel == "/access/ticket" and method in ("GET", "POST")) or
            (rel == "/access/vncticket" and method == "POST"))
        username = None
        if require_auth:
            if api_token:
                try:
                    username = c.verify_token(api_token)
                except ValueError:
                    raise AuthFail("Authentication failed!\n")
            else:
                if not ticket:
                    raise AuthFail("No ticket\n")
                username = c.verify_ticket(ticket)
                if username is None or not c.user_enabled(username):
                    raise AuthFail("Authentication failed!\n")
            if method != "GET" and not api_token:
                c.verify_csrf(username, token)
        return {"userid": username, "api_token": api_token,
                "ticket": ticket}

    def api2(self, req, auth, body):
        """handle_api2_request + PVE/HTTPServer.pm rest_handler."""
        sim = self.server.sim
        c = sim.cluster
        params = {}
        if req.method in ("PUT", "POST"):
            ctype = self.header(req, "Content-Type")
            ct = parse_content_type(ctype) if ctype else None
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body.decode("latin-1")
            if ct == "application/json":
                try:
                    params = json.loads(text) if text else {}
                except ValueError as e:
                    return self.error(req, 500, "malformed JSON string: %s"
                                      % e)
                if not isinstance(params, dict):
                    return self.error(req, 500, "Not a HASH reference")
            else:
                params = decode_urlencoded(text)
        params.update(decode_urlencoded(req.query))
        params.pop("_dc", None)
        if sim.stray_marker and params.pop(sim.stray_marker, None) \
                is not None:
            req.stray = True
        # a GET answer depends only on the cluster state, the caller, the
        # request and the clock's second (uptimes): the same key gives the
        # same bytes, so the simulator need not rebuild them (benchmarks)
        ckey = None
        if req.method == "GET" and not body and "/tasks" not in req.rel:
            ckey = (c.generation, int(time.time()), auth["userid"],
                    req.rel, req.query)
            hit = sim.answer_cache.get(ckey)
            if hit is not None:
                return self.respond(req, 200, None, hit, JSON_CT)
        status, message, data, errors, extra = 200, None, None, None, {}
        route = None
        env = {"user": auth["userid"], "server": self.server, "node":
               self.node}
        try:
            route, uri_param = sim.api.find(req.method, req.rel)
            if route is None:
                raise PveError("Method '%s %s' not implemented" % (
                    req.method, req.rel), 501)
            for k in sorted(params):
                if k in uri_param and uri_param[k] != params[k]:
                    raise param_exc({k: "duplicate parameter (already "
                                        "defined in URI) with conflicting "
                                        "values!"})
            uri_param.update(params)
            if auth["api_token"] and not route.allowtoken:
                raise perm_exc("URI '%s' not available with API token, need "
                               "proper ticket.\n" % req.rel)
            if route.perm != "world" and not auth["userid"]:
                raise perm_exc("user != null")
            # the schema is checked by RESTHandler::handle, after the
            # permission check (check_api2_permissions runs first)
            check_permissions(c, route, auth["userid"], uri_param)
            validate(uri_param, route.schema, route.additional)
            with c.lock:
                data = route.func(env, uri_param)
            if "total" in env:
                extra["total"] = env["total"]
        except PveError as e:
            status, message, errors = e.code, e.msg, e.errors
            data = None
        except Exception as e:     # a plain die in Perl: 500, its text
            sys.stderr.write("pvesim: handler error: %r\n" % (e,))
            status, message, errors, data = 500, "%s\n" % e, None, None
        if route is not None and route.websocket and status == 200:
            up = (self.header(req, "Upgrade") or "").lower()
            if up and req.method == "GET" and req.path.endswith("websocket"):
                return self.websocket(req, data, env["console"])
        body = {"data": data}
        if errors:
            body["errors"] = errors
        if status >= 400:
            body["message"] = message
        body.update(extra)
        raw = json.dumps(body, separators=(",", ":"),
                         ensure_ascii=False).encode("utf-8")
        if ckey is not None and status == 200 and \
                not (route is not None and route.websocket):
            if len(sim.answer_cache) > 512:
                sim.answer_cache.clear()
            sim.answer_cache[ckey] = raw
        delay = sim.auth_delay if status == 401 else 0
        return self.respond(req, status, message, raw, JSON_CT, delay=delay)

    # -------------------------------------------------------- responses
    def error(self, req, code, msg):
        """AnyEvent.pm error(): the message is the reason phrase and the
        body (no Content-Type)."""
        return self.respond(req, code, msg, msg.encode("utf-8"), None)

    def respond(self, req, code, msg, content, ctype, delay=0,
                from_start=True):
        """AnyEvent.pm response()."""
        sim = self.server.sim
        if not msg:
            msg = REASONS.get(code, "Unknown code")
        msg = msg.split("\n")[0] if "\n" in msg else msg
        if "\r" in msg:
            code, msg, content = 400, "Bad Request", b""
        if code >= 400:
            req.keep_alive = 0
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
        hdrs = [("Cache-Control", "max-age=0"), ("Connection",
                "Keep-Alive" if req.keep_alive > 0 else "close"),
                ("Date", date), ("Pragma", "no-cache"),
                ("Server", SERVER_HEADER)]
        if content:
            if len(content) > 1024 and req.__dict__.get("gzip"):
                content = sim.gzip_cached(content)
                hdrs.append(("Content-Encoding", "gzip"))
            hdrs.append(("Content-Length", str(len(content))))
        if ctype:
            hdrs.append(("Content-Type", ctype))
        hdrs.append(("Expires", date))
        out = "%s %d %s\r\n" % (req.proto, code, msg)
        out += "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n"
        if delay:
            left = delay - (time.time() - req.t0) if from_start else delay
            if left > 0:
                time.sleep(left)
        sim.log_request(req, code)
        if getattr(req, "stray", False):
            self._send_with_stray(out.encode("latin-1") + (content or b""))
        else:
            self.send(out.encode("latin-1") + (content or b""))
        return req.keep_alive > 0

    def _send_with_stray(self, data):
        """(Simulator only: a misbehaving node.)  The answer, then an
        answer nobody asked for, each its own TLS record, in one TCP
        segment: a client that read it ahead must not take it for its
        next request's answer."""
        body = b'{"data":"stray answer"}'
        stray = (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n"
                 b"Content-Type: " + JSON_CT.encode() + b"\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body)) + body
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        try:
            self.send(data)
            self.send(stray)
        finally:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    # -------------------------------------------------------- websocket
    def websocket(self, req, data, console):
        """handle_api2_request's upgrade branch + websocket_proxy(), with
        the simulated termproxy/VNC server in place of the local port."""
        sim = self.server.sim
        up = (self.header(req, "Upgrade") or "").lower()
        if up != "websocket":
            return self.error(req, 500, "unable to upgrade to protocol '%s'\n"
                              % up)
        ver = self.header(req, "Sec-WebSocket-Version")
        if not ver or ver != "13":
            return self.error(req, 500, "unsupported websocket-version '%s'\n"
                              % (ver or ""))
        key = self.header(req, "Sec-WebSocket-Key")
        if not key:
            return self.error(req, 500, "missing websocket-key\n")
        proto = self.header(req, "Sec-WebSocket-Protocol") or ""
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest()).decode()
        out = "%s 101 Switching Protocols\r\n" % req.proto
        out += "Upgrade: websocket\r\nConnection: upgrade\r\n"
        out += "Sec-WebSocket-Accept: %s\r\n" % accept
        if proto:
            out += "Sec-WebSocket-Protocol: %s\r\n" % proto
        out += "\r\n"
        sim.log_request(req, 101)
        self.send(out.encode("latin-1"))
        self.sock.settimeout(sim.ws_timeout)
        mode, node, vmid = console
        term = Terminal(sim, node, vmid, mode, int(data["port"]))
        try:
            self._ws_burst(term.greeting())
            self._ws_loop(term)
        except (EOFError, ConnectionError, OSError, ssl.SSLError,
                WsError):
            pass
        return False

    def _ws_send(self, payload, opcode=0x82):
        n = len(payload)
        if n <= 125:
            hdr = struct.pack("BB", opcode, n)
        elif n <= 0xFFFF:
            hdr = struct.pack("!BBH", opcode, 126, n)
        else:
            hdr = struct.pack("!BBQ", opcode, 127, n)
        self.send(hdr + payload)

    def _ws_burst(self, chunks):
        """Frames, each in its own TLS record, leaving in one TCP segment
        (TCP_CORK): how a busy node's writes often arrive.  A proxy that
        reads ahead gets them in one read() and must still pass on every
        record it holds, not wait for the socket to say more."""
        if len(chunks) < 2:
            for chunk in chunks:
                self._ws_send(chunk)
            return
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        try:
            for chunk in chunks:
                self._ws_send(chunk)
        finally:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    def _ws_loop(self, term):
        while True:
            b0, b1 = self.readexact(2)
            opcode = b0 & 0x0F
            if not b0 & 0x80:
                raise WsError("received fragmented websocket frame")
            if b0 & 0x70:
                raise WsError("received websocket frame with RSV flags")
            if not b1 & 0x80:
                raise WsError("received unmasked websocket frame from client")
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.readexact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.readexact(8))[0]
            if n > WS_MAX_PAYLOAD:
                raise WsError("received too large websocket frame")
            mask = self.readexact(4)
            payload = bytearray(self.readexact(n))
            for i in range(n):
                payload[i] ^= mask[i % 4]
            payload = bytes(payload)
            if opcode in (1, 2):
                out, close = term.feed(payload)
                self._ws_burst(out)
                if close:
                    self._ws_send(struct.pack("!H", 1000), 0x88)
                    return
            elif opcode == 8:
                return
            elif opcode == 9:
                self._ws_send(payload, 0x8A)
            elif opcode == 0xA:
                pass
            else:
                raise WsError("received unhandled websocket opcode")


class WsError(Exception):
    pass


class Terminal:
    """What termproxy (pve-xtermjs termproxy/src/main.rs) and a shell do
    behind the websocket: the first line 'AUTHID:VNCTICKET\\n' is checked
    (termproxy asks /access/vncticket), then "OK"; then the client sends
    "0:LEN:DATA" (input), "1:COLS:ROWS:" (resize) and "2" (ping); the
    output is raw terminal bytes.  The shell echoes input and knows
    hostname, whoami, echo, pwd, id, exit.  Behind a guest's vncproxy
    (mode "vnc") the VNC server speaks first: an RFB version banner, and
    nothing more is simulated."""

    def __init__(self, sim, node, vmid, mode, port):
        self.sim = sim
        self.node = node
        self.vmid = vmid
        self.port = port
        self.rfb = mode == "vnc"
        self.authed = self.rfb      # VNC: the ticket is the VNC password
        self.inbuf = b""
        self.line = b""
        self.user = None
        self.cols, self.rows = 80, 24

    def greeting(self):
        return [b"RFB 003.008\n"] if self.rfb else []

    def hostname(self):
        return self.node if self.vmid is None else "vm%s" % self.vmid

    def prompt(self):
        return ("root@%s:~# " % self.hostname()).encode()

    def feed(self, data):
        out = []
        self.inbuf += data
        if not self.authed:
            if b"\n" not in self.inbuf:
                if len(self.inbuf) > 4096:
                    return [], True
                return [], False
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            text = line.decode("utf-8", "replace")
            if ":" not in text:
                return [], True
            authid, ticket = text.split(":", 1)
            c = self.sim.cluster
            path = ("/nodes/%s" % self.node) if self.vmid is None else \
                "/vms/%s" % self.vmid
            priv = "Sys.Console" if self.vmid is None else "VM.Console"
            with c.lock:
                ok = c.verify_vnc_ticket(ticket, authid, path, self.port,
                                         noerr=True) and \
                    c.check(authid, path, [priv], noerr=True)
            if not ok:
                return [], True
            self.authed = True
            self.user = authid
            out.append(b"OK")
            out.append(("Linux %s 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC "
                        "x86_64\r\n\r\n" % self.hostname()).encode())
            out.append(self.prompt())
        if self.rfb:
            self.inbuf = b""
            return out, False
        close = False
        while self.inbuf:
            t = self.inbuf[:1]
            if t == b"0":
                m = re.match(rb"^0:(\d+):", self.inbuf)
                if not m:
                    if len(self.inbuf) > 24:
                        self.inbuf = self.inbuf[1:]
                        continue
                    break
                n = int(m.group(1))
                if len(self.inbuf) < m.end() + n:
                    break
                chunk = self.inbuf[m.end():m.end() + n]
                self.inbuf = self.inbuf[m.end() + n:]
                o, close = self.type_in(chunk)
                out.extend(o)
                if close:
                    break
            elif t == b"1":
                m = re.match(rb"^1:(\d+):(\d+):", self.inbuf)
                if not m:
                    if len(self.inbuf) > 24:
                        self.inbuf = self.inbuf[1:]
                        continue
                    break
                self.cols, self.rows = int(m.group(1)), int(m.group(2))
                self.inbuf = self.inbuf[m.end():]
            else:
                self.inbuf = self.inbuf[1:]      # ping or garbage
        return out, close

    def type_in(self, chunk):
        out = []
        for ch in chunk:
            b = bytes([ch])
            if b in (b"\r", b"\n"):
                out.append(b"\r\n")
                o, close = self.run(self.line.decode("utf-8", "replace"))
                self.line = b""
                out.extend(o)
                if close:
                    return out, True
                out.append(self.prompt())
            elif b in (b"\x7f", b"\x08"):
                if self.line:
                    self.line = self.line[:-1]
                    out.append(b"\x08 \x08")
            elif b == b"\x03":
                self.line = b""
                out.append(b"^C\r\n" + self.prompt())
            elif b == b"\x04" and not self.line:
                out.append(b"logout\r\n")
                return out, True
            else:
                self.line += b
                out.append(b)
        return out, False

    def run(self, cmd):
        cmd = cmd.strip()
        if not cmd:
            return [], False
        argv = cmd.split()
        name = argv[0]
        if name in ("exit", "logout"):
            return [b"logout\r\n"], True
        if name == "hostname":
            return [(self.hostname() + "\r\n").encode()], False
        if name == "whoami":
            return [b"root\r\n"], False
        if name == "id":
            return [b"uid=0(root) gid=0(root) groups=0(root)\r\n"], False
        if name == "pwd":
            return [b"/root\r\n"], False
        if name == "echo":
            return [(" ".join(argv[1:]) + "\r\n").encode()], False
        if name == "stty" and argv[1:2] == ["size"]:
            return [("%d %d\r\n" % (self.rows, self.cols)).encode()], False
        return [("-bash: %s: command not found\r\n" % name).encode()], False


class NodeServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, sim, node):
        self.sim = sim
        self.node = node["name"]
        self.conns = set()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(node["cert"], node["key"])
        self.ctx = ctx
        with open(node["cert"]) as f:
            self.cert_pem = f.read()
        self.fingerprints = sim.fingerprints
        super().__init__((node["address"], int(node.get("port", 8006))),
                         Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr


START_TIME = time.time()


class Simulator:
    def __init__(self, conf):
        self.conf = conf
        self.cluster = Cluster(conf)
        self.api = Api(self.cluster)
        self.auth_delay = float(conf.get("auth_fail_delay", 3.0))
        self.idle_timeout = float(conf.get("idle_timeout", 5.0))
        self.handshake_timeout = float(conf.get("handshake_timeout", 10.0))
        self.ws_timeout = float(conf.get("websocket_timeout", 60.0))
        # (tests only) a query parameter of this name makes the answer be
        # followed by an unsolicited second one (Handler.respond())
        self.stray_marker = conf.get("stray_answer_marker")
        self.log_lock = threading.Lock()
        self.log_f = None
        if conf.get("request_log"):
            self.log_f = open(conf["request_log"], "a", buffering=1)
        self.fingerprints = {n["name"]: cert_fingerprint(n["cert"])
                             for n in conf["nodes"]}
        self._gz = {}
        self.answer_cache = {}
        self.servers = []

    def gzip_cached(self, content):
        z = self._gz.get(content)
        if z is None:
            z = gzip.compress(content, 6, mtime=0)
            if len(self._gz) > 256:
                self._gz.clear()
            self._gz[content] = z
        return z

    def log_request(self, req, status):
        if not self.log_f or getattr(req, "logged", False):
            return
        line = json.dumps({"node": req.node, "method": req.method,
                           "path": req.path, "query": req.query,
                           "identity": req.identity, "status": status},
                          separators=(",", ":"))
        with self.log_lock:
            self.log_f.write(line + "\n")

    def serve(self):
        for n in self.conf["nodes"]:
            self.servers.append(NodeServer(self, n))
        threads = []
        for s in self.servers:
            t = threading.Thread(target=s.serve_forever, daemon=True)
            t.start()
            threads.append(t)
        if self.conf.get("pid_file"):
            tmp = self.conf["pid_file"] + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(tmp, self.conf["pid_file"])
        stop = threading.Event()

        def on_term(signum, frame):
            stop.set()
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        while not stop.wait(1.0):
            pass
        for s in self.servers:
            s.shutdown()
            s.server_close()
        if self.conf.get("pid_file"):
            try:
                os.unlink(self.conf["pid_file"])
            except OSError:
                pass


def cert_fingerprint(path):
    """SHA-256 of the certificate's DER, uppercase hex pairs joined by ':'
    (what `pvenode cert info` prints as fingerprint)."""
    with open(path) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config")
    ap.add_argument("--print-fingerprint", metavar="CERT")
    ap.add_argument("--totp", metavar="BASE32",
                    help="print the current TOTP code for a secret")
    a = ap.parse_args()
    if a.print_fingerprint:
        print(cert_fingerprint(a.print_fingerprint))
        return 0
    if a.totp:
        print(totp_code(a.totp))
        return 0
    if not a.config:
        ap.error("--config is required")
    with open(a.config) as f:
        conf = json.load(f)
    Simulator(conf).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
