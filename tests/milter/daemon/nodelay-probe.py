#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Connects to a milter's TCP socket and reports whether the socket the
milter accepted has TCP_NODELAY set. The milter's end of the connection
is fetched from the running process with pidfd_getfd(2) (Linux 5.6+,
root), so the answer is the daemon's real socket option, not a guess.

usage: nodelay-probe.py PID HOST PORT
prints "nodelay=1" or "nodelay=0"; exit 0, or 2 when the socket cannot
be found or fetched (with the reason)."""
import ctypes
import os
import socket
import sys
import time

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def socket_inode(path):
    target = os.readlink(path)
    if target.startswith("socket:["):
        return int(target[len("socket:["):-1])
    return None


def inode_of_connection(local_port, remote_port, family):
    """The inode of the TCP socket whose local port is LOCAL_PORT and
    remote port REMOTE_PORT (the milter's accepted end)."""
    table = "/proc/net/tcp" if family == socket.AF_INET else "/proc/net/tcp6"
    with open(table) as f:
        next(f)
        for line in f:
            fields = line.split()
            local = int(fields[1].rsplit(":", 1)[1], 16)
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if local == local_port and remote == remote_port:
                return int(fields[9])
    return None


def fd_in_process(pid, inode):
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            if socket_inode(f"/proc/{pid}/fd/{name}") == inode:
                return int(name)
        except OSError:
            continue
    return None


def fetch_fd(pid, target_fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, target_fd, 0)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return fd
    finally:
        os.close(pidfd)


def main():
    pid, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    client = socket.socket(family, socket.SOCK_STREAM)
    client.connect((host, port))
    my_port = client.getsockname()[1]
    fd = None
    # libmilter accepts in its listener thread: give it a moment.
    for _ in range(50):
        inode = inode_of_connection(port, my_port, family)
        fd = fd_in_process(pid, inode) if inode else None
        if fd is not None:
            break
        time.sleep(0.1)
    if fd is None:
        print(f"no socket for port {port} <- {my_port} in process {pid}")
        return 2
    copy = fetch_fd(pid, fd)
    try:
        probe = socket.socket(fileno=copy)
        value = probe.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        probe.detach()
    finally:
        os.close(copy)
    client.close()
    print(f"nodelay={1 if value else 0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
