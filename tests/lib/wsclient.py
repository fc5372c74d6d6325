"""A small RFC 6455 websocket client over TLS for the tests (the console
websockets of the Proxmox API: termproxy and VNC), standard library only.

    ws = WsClient.connect("127.0.0.31", 8006, "/api2/json/nodes/pve1/"
                          "vncwebsocket?port=5900&vncticket=...",
                          headers={"Cookie": "PVEAuthCookie=..."},
                          cafile="pve1.pem", protocol="binary")
    ws.send(b"root@pam:PVEVNC:...\\n")
    ws.recv()          # (opcode, payload)
    ws.close()

termproxy's own messages (pve-xtermjs termproxy/src/main.rs):
    term_data(b"ls\\r")   -> b"0:3:ls\\r"
    term_resize(80, 24)  -> b"1:80:24:"
    TERM_PING            =  b"2"
"""

import base64
import hashlib
import os
import socket
import ssl
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TERM_PING = b"2"


def term_data(data):
    if isinstance(data, str):
        data = data.encode()
    return b"0:%d:" % len(data) + data


def term_resize(cols, rows):
    return b"1:%d:%d:" % (cols, rows)


def frame(payload, opcode=0x2):
    """One masked client frame (RFC 6455 5.2)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    hdr = bytes([0x80 | opcode])
    if n <= 125:
        hdr += bytes([0x80 | n])
    elif n <= 0xFFFF:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def send_records(sock, records):
    """Each byte string its own TLS record, all in one TCP segment
    (TCP_CORK until the last is written): the peer reads them at once."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    try:
        for r in records:
            sock.sendall(r)
    finally:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)


class HandshakeError(Exception):
    def __init__(self, status_line, headers, body):
        super().__init__(status_line)
        self.status_line = status_line
        self.headers = headers
        self.body = body


class WsClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.status_line = None
        self.headers = {}

    @classmethod
    def connect(cls, addr, port, path, headers=None, cafile=None,
                protocol="binary", timeout=10.0, server_hostname=None,
                key=None, early=()):
        """early: byte strings sent before the answer is read: the first
        in the request's own TLS record, each other in a record of its
        own, all in one TCP segment (a client that does not wait for the
        101)."""
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        if cafile is None:
            ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((addr, port), timeout=timeout)
        sock = ctx.wrap_socket(raw, server_hostname=server_hostname or addr)
        self = cls(sock)
        key = key or base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (addr, port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: %s" % key,
                 "Sec-WebSocket-Version: 13"]
        if protocol:
            lines.append("Sec-WebSocket-Protocol: %s" % protocol)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        early = list(early)
        send_records(sock, [request + (early[0] if early else b"")] +
                     early[1:])
        head = self._read_until(b"\r\n\r\n")
        text = head.decode("latin-1").split("\r\n")
        self.status_line = text[0]
        for h in text[1:]:
            if ":" in h:
                k, v = h.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        if " 101 " not in self.status_line + " ":
            body = self.buf
            try:
                sock.settimeout(2)
                while True:
                    d = sock.recv(65536)
                    if not d:
                        break
                    body += d
            except (socket.timeout, OSError):
                pass
            sock.close()
            raise HandshakeError(self.status_line, self.headers, body)
        want = base64.b64encode(hashlib.sha1((key + GUID).encode())
                                .digest()).decode()
        if self.headers.get("sec-websocket-accept") != want:
            sock.close()
            raise HandshakeError("bad Sec-WebSocket-Accept", self.headers,
                                 b"")
        return self

    def _read_until(self, sep):
        while sep not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, payload, opcode=0x2):
        self.sock.sendall(frame(payload, opcode))

    def send_together(self, payloads):
        """Frames, each its own TLS record, in one TCP segment."""
        send_records(self.sock, [frame(p) for p in payloads])

    def recv(self):
        """One frame: (opcode, payload); EOFError when the peer closed."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        if b1 & 0x80:
            mask = self._read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(n)))
        else:
            data = self._read(n)
        return b0 & 0x0F, data

    def read_until(self, needle, limit=1 << 20):
        """Binary/text payloads concatenated until needle appears."""
        out = b""
        while needle not in out:
            op, data = self.recv()
            if op == 0x8:
                raise EOFError("websocket closed; got %r" % out)
            if op in (0x1, 0x2):
                out += data
            if len(out) > limit:
                break
        return out

    def close(self):
        try:
            self.send(struct.pack("!H", 1000), 0x8)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
