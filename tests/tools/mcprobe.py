#!/usr/bin/python3
"""Send raw bytes to a memcached-protocol server and print the raw reply.

Usage: mcprobe.py PORT 'escaped request' ['escaped request' ...]
Each request is a Python bytes-escape string (e.g. 'set a 0 0 1\\r\\nx\\r\\n'); each is sent on a
fresh connection and the reply is printed as a Python bytes literal. Used to compare mcd with
Debian's memcached byte for byte while developing.
"""
import socket
import sys
import time


def probe(port, data, wait=0.3):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    s.settimeout(wait)
    out = b""
    deadline = time.time() + 2
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            out += b"<EOF>"
            break
        out += chunk
    s.close()
    return out


if __name__ == "__main__":
    port = int(sys.argv[1])
    for arg in sys.argv[2:]:
        data = arg.encode("latin-1").decode("unicode_escape").encode("latin-1")
        print(repr(data), "=>", repr(probe(port, data)))
