#!/usr/bin/env python3
"""Holds N connections that each send the start of a request head and never its end (a
"slowloris" attack), reopening any the server closes, for `seconds`; prints how many were open
each second, and how long the server took to close them, as JSON.

    scripts/slow_heads.py <port> <count> <seconds>

`make bench` runs it against the release server while it measures normal requests.
"""
import json
import selectors
import socket
import sys
import time

port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Never-Ends: a"

selector = selectors.DefaultSelector()
opened_at = {}
closed_after = []
open_each_second = []


def open_one():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return
    selector.register(s, selectors.EVENT_WRITE)
    opened_at[s] = time.monotonic()


for _ in range(count):
    open_one()

start = time.monotonic()
next_report = start + 1
while time.monotonic() - start < seconds:
    for key, events in selector.select(timeout=0.1):
        s = key.fileobj
        if events & selectors.EVENT_WRITE:
            try:
                s.send(HEAD)
                selector.modify(s, selectors.EVENT_READ)
            except OSError:
                selector.unregister(s)
                s.close()
                opened_at.pop(s, None)
        elif events & selectors.EVENT_READ:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed_after.append(time.monotonic() - opened_at.pop(s, time.monotonic()))
                selector.unregister(s)
                s.close()
    while len(opened_at) < count:
        open_one()
    if time.monotonic() >= next_report:
        open_each_second.append(len(opened_at))
        next_report += 1

closed_after.sort()
print(json.dumps({
    "count": count,
    "seconds": seconds,
    "open_each_second": open_each_second,
    "closed": len(closed_after),
    "closed_after_p50": closed_after[len(closed_after) // 2] if closed_after else None,
    "closed_after_max": closed_after[-1] if closed_after else None,
}))
