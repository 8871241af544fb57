"""A small client for memcached's meta protocol (mg, ms, md, ma, mn, me).

Written from the protocol description of memcached 1.6 (doc/protocol.txt, "Meta Commands")
alone, for the tests in this folder. It speaks over TCP, a unix socket or UDP, pipelines
requests with quiet mode (q) closed by a no-op (mn), matches replies by opaque (O) tokens and
sends binary keys in base64 (b).

A request is built from a command, a key and flags; a flag is a one-character string, with its
token glued on ("v", "T30", "Oabc"). A reply is a MetaReply: the two-character code, the flags
it carries and, for VA, the data block. Error lines (ERROR, CLIENT_ERROR ..., SERVER_ERROR ...)
come back as a MetaReply whose code is the whole line and whose `error` is true.
"""
import base64
import random
import socket
import struct
import time

CRLF = b"\r\n"
# Return codes of meta commands; a line starting with anything else is an error or a classic
# reply.
CODES = (b"VA", b"HD", b"EN", b"NS", b"EX", b"NF", b"MN", b"ME")
ERRORS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


class ProtocolError(Exception):
    """The server sent something this client cannot frame."""


class MetaReply:
    """One reply: `code` (bytes), `flags` (list of bytes tokens), `value` (bytes or None)."""

    def __init__(self, line, value=None):
        self.line = line
        self.value = value
        self.error = line.split(b" ", 1)[0] in ERRORS
        if self.error:
            self.code, self.size, self.flags = line, None, []
            return
        parts = line.split(b" ")
        self.code = parts[0]
        rest = parts[1:]
        self.size = None
        if self.code == b"VA":
            if not rest:
                raise ProtocolError("VA without a size: %r" % line)
            self.size = int(rest[0])
            rest = rest[1:]
        self.flags = [t for t in rest if t]

    def has(self, flag):
        """True if a flag with this letter came back (W, X, Z or a returned value flag)."""
        return any(t[:1] == flag.encode() for t in self.flags)

    def get(self, flag):
        """The token of the first returned flag with this letter (bytes), or None."""
        for t in self.flags:
            if t[:1] == flag.encode():
                return t[1:]
        return None

    def int(self, flag):
        token = self.get(flag)
        return None if token is None else int(token)

    def raw(self):
        """The reply's exact bytes, as they came on the wire."""
        if self.value is None:
            return self.line + CRLF
        return self.line + CRLF + self.value + CRLF

    def __repr__(self):
        return "MetaReply(%r, %r)" % (self.line, self.value)


def encode_key(key):
    """(key token, extra flags): a key that is not plain printable ASCII goes as base64 + b."""
    if isinstance(key, str):
        key = key.encode()
    if key and all(0x21 <= c <= 0x7E for c in key):
        return key, []
    return base64.b64encode(key), [b"b"]


def _flag_bytes(flags):
    out = []
    for f in flags:
        out.append(f.encode() if isinstance(f, str) else f)
    return out


def build(cmd, key=None, *flags, datalen=None, b64=None):
    """The request line (without data) as bytes. b64=None encodes binary keys automatically,
    True forces base64, False sends the key as given."""
    words = [cmd.encode() if isinstance(cmd, str) else cmd]
    extra = []
    if key is not None:
        if b64 is None:
            k, extra = encode_key(key)
        elif b64:
            k = base64.b64encode(key.encode() if isinstance(key, str) else key)
            extra = [b"b"]
        else:
            k = key.encode() if isinstance(key, str) else key
        words.append(k)
    if datalen is not None:
        words.append(str(datalen).encode())
    flag_list = _flag_bytes(flags)
    if extra and b"b" not in flag_list:
        flag_list = extra + flag_list
    words.extend(flag_list)
    return b" ".join(words) + CRLF


class Reader:
    """Frames replies out of a byte source: `recv()` returns more bytes, b"" at the end."""

    def __init__(self, recv):
        self._recv = recv
        self.buf = b""

    def _fill(self):
        data = self._recv()
        if not data:
            raise ProtocolError("connection closed; pending %r" % self.buf)
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(CRLF)
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        """One meta reply; a VA reply brings its data block."""
        line = self.line()
        if line.startswith(b"VA "):
            r = MetaReply(line)
            block = self.exact(r.size + 2)
            if block[-2:] != CRLF:
                raise ProtocolError("data block not closed by CRLF: %r" % block)
            r.value = block[:-2]
            return r
        return MetaReply(line)


class MetaClient:
    """One stream connection (TCP or unix socket). Use as a context manager."""

    def __init__(self, port=None, host="127.0.0.1", unix_path=None, timeout=5.0):
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = Reader(lambda: self.sock.recv(65536))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Raw access, for tests that spell requests by hand.
    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        return self.reader.line()

    def reply(self):
        return self.reader.reply()

    def call(self, request, data=None):
        """Sends one request (and its data block) and reads one reply."""
        self.send(request if data is None else request + data + CRLF)
        return self.reply()

    # Commands. Keys are str or bytes; bytes that are not printable ASCII go base64-encoded.
    def mg(self, key, *flags):
        return self.call(build("mg", key, *flags))

    def ms(self, key, value, *flags):
        if isinstance(value, str):
            value = value.encode()
        return self.call(build("ms", key, *flags, datalen=len(value)), value)

    def md(self, key, *flags):
        return self.call(build("md", key, *flags))

    def ma(self, key, *flags):
        return self.call(build("ma", key, *flags))

    def mn(self):
        return self.call(b"mn\r\n")

    def me(self, key, *flags):
        return self.call(build("me", key, *flags))

    def pipeline(self, requests):
        """Sends every request (bytes, data blocks included) then mn, in one write, and returns
        the replies that came before MN. Quiet requests that got no reply add nothing."""
        self.send(b"".join(requests) + b"mn\r\n")
        out = []
        while True:
            r = self.reply()
            if r.code == b"MN":
                return out
            out.append(r)

    def get_multi(self, keys, *flags):
        """Quiet pipelined mg of many keys, matched back by opaque tokens: {key: MetaReply} for
        the hits (misses are silent). The opaque is the key's index in `keys`."""
        requests = [build("mg", k, "q", "O%d" % i, *flags) for i, k in enumerate(keys)]
        found = {}
        for r in self.pipeline(requests):
            if r.error:
                raise ProtocolError("error in pipeline: %r" % r.line)
            found[keys[int(r.get("O"))]] = r
        return found

    def set_multi(self, items, *flags):
        """Quiet pipelined ms of {key: value}; returns {key: MetaReply} for the stores that did
        not succeed (a successful quiet ms replies nothing)."""
        keys = list(items)
        requests = []
        for i, k in enumerate(keys):
            v = items[k].encode() if isinstance(items[k], str) else items[k]
            requests.append(build("ms", k, "q", "O%d" % i, *flags, datalen=len(v)) + v + CRLF)
        failed = {}
        for r in self.pipeline(requests):
            failed[keys[int(r.get("O"))] if r.get("O") is not None else None] = r
        return failed

    def stats(self):
        """Classic `stats` on the same connection: {name: value str}."""
        self.send(b"stats\r\n")
        out = {}
        while True:
            line = self.line()
            if line == b"END":
                return out
            parts = line.decode().split(" ", 2)
            if parts[0] != "STAT" or len(parts) != 3:
                raise ProtocolError("bad stats line %r" % line)
            out[parts[1]] = parts[2]


class UdpMetaClient:
    """Meta requests over UDP: each datagram carries memcached's 8-byte frame header (request
    id, sequence number, datagram count, reserved) before the request or reply bytes."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.addr = (host, port)
        self.req_id = random.randrange(0, 0xFFFF)
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, data):
        """Sends one datagram and returns the reassembled reply bytes."""
        self.req_id = (self.req_id + 1) & 0xFFFF
        self.sock.sendto(struct.pack("!HHHH", self.req_id, 0, 1, 0) + data, self.addr)
        parts = {}
        total = None
        deadline = time.monotonic() + self.timeout
        while total is None or len(parts) < total:
            if time.monotonic() > deadline:
                raise ProtocolError("UDP reply incomplete: %d of %r parts" % (len(parts), total))
            packet = self.sock.recv(65536)
            rid, seq, count, _ = struct.unpack("!HHHH", packet[:8])
            if rid != self.req_id:
                continue  # a late reply to an earlier request
            total = count
            parts[seq] = packet[8:]
        return b"".join(parts[i] for i in range(total))

    def replies(self, data):
        """The meta replies to one datagram of requests."""
        payload = self.request(data)
        chunks = [payload]
        reader = Reader(lambda: chunks.pop() if chunks else b"")
        out = []
        while reader.buf or chunks:
            out.append(reader.reply())
        return out
