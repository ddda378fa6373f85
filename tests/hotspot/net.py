"""Test hosts for tests/hotspot.sh, run inside its network namespaces.

    python3 net.py listen ADDR tcp:PORT... udp:PORT...   # answers "port N", exits after 300 s
    python3 net.py tcp HOST PORT    # prints what answered: "port N", "refused" or "timeout"
    python3 net.py udp HOST PORT
"""
import selectors
import socket
import sys
import time


def listen(addr, specs):
    sel = selectors.DefaultSelector()
    for spec in specs:
        kind, port = spec.split(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        if kind == "tcp":
            s.listen(16)
        sel.register(s, selectors.EVENT_READ, (kind, port))
    print("listening", flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            kind, port = key.data
            reply = f"port {port}\n".encode()
            if kind == "tcp":
                conn, _ = key.fileobj.accept()
                conn.settimeout(1)
                try:
                    conn.sendall(reply)
                finally:
                    conn.close()
            else:
                _, peer = key.fileobj.recvfrom(512)
                key.fileobj.sendto(reply, peer)


def ask(kind, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        if kind == "udp":
            s.send(b"hello")
        return s.recv(64).decode().strip() or "closed"
    except socket.timeout:
        return "timeout"
    except OSError:
        # TCP reset, ICMP port unreachable or admin prohibited
        return "refused"
    finally:
        s.close()


if sys.argv[1] == "listen":
    listen(sys.argv[2], sys.argv[3:])
else:
    print(ask(*sys.argv[1:4]))
