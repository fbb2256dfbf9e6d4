"""World-writable directories/files on the command search path, and unexpected set-id programs.

Example:
    >>> sorted(load_allowlist())[:2]
    ['/bin/busybox', '/bin/mount']
"""

from __future__ import annotations

import fnmatch
import os
import stat
from importlib import resources

from hedgerow.agent.config import AgentConfig
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding

DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
SETUID_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
               "/usr/lib", "/usr/libexec", "/lib", "/opt", "/tmp", "/var/tmp", "/dev/shm",
               "/root", "/home", "/etc", "/www", "/mnt", "/data")
MAX_FILES = 200_000
# Directories below each listed one that are walked (setuid helpers live at depth 1-2, e.g.
# /usr/lib/openssh/ssh-keysign); deeper trees (language libraries) are skipped for speed.
MAX_DEPTH = 3


def device_path_dirs(cfg: AgentConfig) -> list[str]:
    """PATH directories: the defaults plus ``PATH=`` in /etc/environment and /etc/profile."""
    dirs = list(DEFAULT_PATH)
    for name in ("/etc/environment", "/etc/profile"):
        try:
            text = cfg.path(name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for raw in text.splitlines():
            line = raw.strip().removeprefix("export ").strip()
            if line.startswith("PATH="):
                value = line[5:].strip("'\"")
                dirs.extend(d for d in value.split(":") if d.startswith("/"))
    return list(dict.fromkeys(dirs))


def check_path(cfg: AgentConfig) -> list[Finding]:
    bad_dirs: list[dict[str, object]] = []
    bad_files: list[str] = []
    for d in device_path_dirs(cfg):
        real = cfg.path(d)
        try:
            st = real.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_mode & stat.S_IWOTH:
            bad_dirs.append({"dir": d, "mode": oct(st.st_mode & 0o7777)})
        try:
            entries = list(os.scandir(real))
        except OSError:
            continue
        for entry in entries[:MAX_FILES]:
            try:
                est = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(est.st_mode) and est.st_mode & stat.S_IWOTH:
                bad_files.append(f"{d.rstrip('/')}/{entry.name}")
    if not bad_dirs and not bad_files:
        return []
    return [make_finding("fs.path-world-writable", cfg.device,
                         {"dirs": bad_dirs, "files": bad_files[:100],
                          "files_total": len(bad_files)})]


def load_allowlist() -> set[str]:
    text = (resources.files("hedgerow.agent") / "data" / "setuid_allowlist.txt").read_text(
        encoding="utf-8")
    return {line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("#")}


def check_setuid(cfg: AgentConfig) -> list[Finding]:
    allowed = load_allowlist() | set(cfg.assess.setuid_allow)
    patterns = [a for a in allowed if "*" in a]
    root = os.path.realpath(cfg.root)
    surprises: list[dict[str, object]] = []
    scanned = 0
    stack = [(str(cfg.path(d)), 0) for d in SETUID_DIRS]
    visited: set[tuple[int, int]] = set()
    while stack and scanned < MAX_FILES:
        top, depth = stack.pop()
        try:
            st_top = os.lstat(top)
            if not stat.S_ISDIR(st_top.st_mode) or (st_top.st_dev, st_top.st_ino) in visited:
                continue
            visited.add((st_top.st_dev, st_top.st_ino))
            it = os.scandir(top)
        except OSError:
            continue
        with it:
            for entry in it:
                scanned += 1
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if st.st_dev == st_top.st_dev and depth < MAX_DEPTH:  # one filesystem
                        stack.append((entry.path, depth + 1))
                elif stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    device_path = "/" + os.path.relpath(entry.path, root)
                    if device_path not in allowed and not any(
                            fnmatch.fnmatchcase(device_path, g) for g in patterns):
                        surprises.append({"path": device_path,
                                          "mode": oct(st.st_mode & 0o7777),
                                          "owner_uid": st.st_uid})
    if not surprises:
        return []
    return [make_finding("fs.unexpected-setuid", cfg.device,
                         {"files": surprises[:100], "total": len(surprises),
                          "files_scanned": scanned},
                         title=f"{len(surprises)} unexpected set-id program(s), e.g. "
                               f"{surprises[0]['path']}")]
