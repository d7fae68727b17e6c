#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs a program under the seccomp settings of a systemd unit, without
systemd: unit-sandbox.py UNIT [--extra 'Key=value'...] [--print] -- PROGRAM ARGS...

The unit file itself is read, so that what runs follows the unit when it
changes. Applied, as systemd applies them to the service's processes:

  SystemCallFilter=        allow and deny lines combined in order: the
                           first non-empty line decides whether the set is
                           an allow list (then @default joins it) or a deny
                           list; later lines of the same kind add to it, of
                           the other kind remove from it; an empty value
                           starts again. Groups are expanded by
                           `systemd-analyze syscall-filter`.
  SystemCallErrorNumber=   the action on a call outside an allow list (or
                           on a deny-listed one without ":errno" of its
                           own); without it the process is killed (SIGSYS).
  SystemCallArchitectures= native: calls of another ABI kill the process.
  NoNewPrivileges=         prctl(PR_SET_NO_NEW_PRIVS).
  CapabilityBoundingSet=   capabilities outside it leave the bounding set.
  RestrictAddressFamilies= socket() of another family fails (EAFNOSUPPORT).
  MemoryDenyWriteExecute=  writable+executable mappings fail (EPERM).

Everything else in the unit (mount namespaces, ProtectSystem=, ...) is
not reproduced here. --extra adds a [Service] line after the unit's own
(to check that a narrower filter is noticed); --print shows the filter
instead of running anything.
"""
import ctypes
import errno
import os
import socket
import subprocess
import sys

import seccomp

PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PROT_WRITE = 0x2
PROT_EXEC = 0x4
SHM_EXEC = 0o100000


def service_settings(path, extra):
    """[Service] Key=value pairs in file order (continuation lines
    joined), then the extra lines."""
    settings = []
    section = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().replace("\\\n", " ").splitlines()
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            settings.append((key.strip(), value.strip()))
    for line in extra:
        key, value = line.split("=", 1)
        settings.append((key.strip(), value.strip()))
    return settings


def last(settings, key, default=None):
    value = default
    for k, v in settings:
        if k == key:
            value = v
    return value


def boolean(value):
    return value is not None and value.lower() in ("1", "yes", "true", "on")


_groups = {}


def expand(name):
    """The system call names of a group (recursively) or of one name."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        out = subprocess.run(
            ["systemd-analyze", "syscall-filter", "--no-pager", name],
            check=False, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("unit-sandbox: systemd-analyze does not know %s: %s"
                     % (name, out.stderr.strip()))
        members = set()
        for line in out.stdout.splitlines()[1:]:
            word = line.strip()
            if not word or word.startswith("#"):
                continue
            members |= expand(word)
        _groups[name] = members
    return _groups[name]


def errno_value(text):
    """An errno name or number; None for "kill"."""
    if text == "kill":
        return None
    if text.isdigit():
        return int(text)
    value = getattr(errno, text, None)
    if not isinstance(value, int):
        sys.exit("unit-sandbox: unknown errno %r" % text)
    return value


def syscall_filter(settings):
    """(allow_list, {name: errno or None or "default"}) as systemd builds
    it from the SystemCallFilter= lines; (None, {}) without any."""
    allow_list = None
    calls = {}
    for key, value in settings:
        if key != "SystemCallFilter":
            continue
        if value == "":
            allow_list, calls = None, {}
            continue
        invert = value.startswith("~")
        if invert:
            value = value[1:]
        if allow_list is None:
            allow_list = not invert
            if allow_list:
                for call in expand("@default"):
                    calls[call] = "default"
        for word in value.split():
            name, _, err = word.partition(":")
            action = "default"
            if err:
                if not invert:
                    sys.exit("unit-sandbox: an allowed call cannot take an "
                             "errno: %s" % word)
                action = errno_value(err)
            add = (not invert) == allow_list
            for call in expand(name):
                if add:
                    calls[call] = action
                else:
                    calls.pop(call, None)
    return allow_list, calls


def action_of(value):
    """A seccomp action for an errno (None: kill the process)."""
    return seccomp.KILL_PROCESS if value is None else seccomp.ERRNO(value)


def add_rule(f, action, call, *args):
    """Adds a rule; a name this architecture lacks (setuid32 on x86-64)
    is skipped, as systemd skips it."""
    try:
        if seccomp.resolve_syscall(seccomp.Arch.NATIVE, call) < 0:
            return
        f.add_rule(action, call, *args)
    except (ValueError, RuntimeError, OSError):
        pass


def load_syscall_filter(settings, nnp):
    allow_list, calls = syscall_filter(settings)
    archs = last(settings, "SystemCallArchitectures", "")
    if allow_list is None and archs != "native":
        return
    negative = errno_value(last(settings, "SystemCallErrorNumber", "kill")
                           or "kill")
    if allow_list:
        default, listed = action_of(negative), seccomp.ALLOW
    else:
        default, listed = seccomp.ALLOW, action_of(negative)
    # Only the native ABI: another one kills the process (libseccomp's
    # default for an architecture not in the filter), as
    # SystemCallArchitectures=native does.
    f = seccomp.SyscallFilter(default)
    f.set_attr(seccomp.Attr.CTL_NNP, 1 if nnp else 0)
    if archs != "native":
        for arch in (seccomp.Arch.X86, seccomp.Arch.X32):
            try:
                f.add_arch(arch)
            except (ValueError, RuntimeError, OSError):
                pass
    for call, err in sorted(calls.items()):
        add_rule(f, listed if err == "default" else action_of(err), call)
    f.load()


def load_address_families(settings, nnp):
    value = last(settings, "RestrictAddressFamilies", "")
    if not value or value == "none":
        return
    invert = value.startswith("~")
    names = value.lstrip("~").split()
    families = {getattr(socket, n) for n in names if hasattr(socket, n)}
    f = seccomp.SyscallFilter(seccomp.ALLOW)
    f.set_attr(seccomp.Attr.CTL_NNP, 1 if nnp else 0)
    refuse = seccomp.ERRNO(errno.EAFNOSUPPORT)
    for af in range(0, 64):
        if (af in families) == invert:
            f.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.EQ, af))
    if not invert:
        f.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.GT, 63))
    f.load()


def load_memory_deny_write_execute(settings, nnp):
    if not boolean(last(settings, "MemoryDenyWriteExecute")):
        return
    f = seccomp.SyscallFilter(seccomp.ALLOW)
    f.set_attr(seccomp.Attr.CTL_NNP, 1 if nnp else 0)
    deny = seccomp.ERRNO(errno.EPERM)
    wx = PROT_WRITE | PROT_EXEC
    add_rule(f, deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
    for call in ("mprotect", "pkey_mprotect"):
        add_rule(f, deny, call,
                 seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    add_rule(f, deny, "shmat",
             seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    f.load()


CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]


def drop_bounding_set(libc, settings):
    value = last(settings, "CapabilityBoundingSet")
    if value is None:
        return
    invert = value.startswith("~")
    named = set(value.lstrip("~").split())
    for number, name in enumerate(CAPABILITIES):
        if (name in named) == invert:
            # EINVAL: a capability this kernel does not have
            libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0)


def main(argv):
    cut = argv.index("--") if "--" in argv else len(argv)
    ours, program = argv[:cut], argv[cut + 1:]
    unit, extra, show = None, [], False
    i = 0
    while i < len(ours):
        if ours[i] == "--extra":
            extra.append(ours[i + 1])
            i += 1
        elif ours[i] == "--print":
            show = True
        else:
            unit = ours[i]
        i += 1
    if unit is None or (not program and not show):
        sys.exit(__doc__)
    settings = service_settings(unit, extra)
    if show:
        allow_list, calls = syscall_filter(settings)
        print("allow list" if allow_list else "deny list",
              "default", last(settings, "SystemCallErrorNumber", "kill"))
        for call, err in sorted(calls.items()):
            print(call if err == "default" else "%s:%s" % (call, err))
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    nnp = boolean(last(settings, "NoNewPrivileges"))
    drop_bounding_set(libc, settings)
    if nnp and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit("unit-sandbox: PR_SET_NO_NEW_PRIVS: %s"
                 % os.strerror(ctypes.get_errno()))
    # Each setting is a filter of its own, as systemd installs them; the
    # kernel applies the strictest answer of all.
    load_address_families(settings, nnp)
    load_memory_deny_write_execute(settings, nnp)
    load_syscall_filter(settings, nnp)
    os.execv(program[0], program)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
