#!/usr/bin/env python3
"""Receives sd_notify datagrams on a Unix socket, as systemd would, and
appends each one to a file as a single line (newlines inside a message
become "|"), until it is terminated.  A SOCKET that starts with "@" is
bound in the abstract namespace, as NOTIFY_SOCKET writes it.

usage: notify-receiver.py SOCKET OUTPUT
"""
import os
import socket
import sys

path, output = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if path.startswith("@"):
    sock.bind("\0" + path[1:])
else:
    if os.path.exists(path):
        os.unlink(path)
    sock.bind(path)
with open(output, "a", buffering=1) as out:
    while True:
        data = sock.recv(4096)
        out.write(data.decode("utf-8", "replace").strip().replace("\n", "|") + "\n")
