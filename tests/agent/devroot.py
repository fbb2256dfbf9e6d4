"""Build a small but real device root tree: busybox userland, accounts, configs, packages.

Password hashes are made with libpass (and libxcrypt for yescrypt) exactly as a device's
``passwd`` would store them; the root password is Mirai's first guess, ``xc3511``.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from passlib.hash import md5_crypt, sha512_crypt

from hedgerow.agent import passwords

STRONG = "k7#Qv9!mZ2$wLp4@xR"


def yescrypt(password: str) -> str | None:
    lib = passwords._xcrypt()
    if lib is None or not passwords.supported("yescrypt"):
        return None
    out = lib.crypt(password.encode(), b"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$")
    return out.decode() if out else None


def build_root(root: Path) -> Path:
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc/ssh/sshd_config.d",
              "var/lib/dpkg", "var/log", "tmp", "dev", "proc", "root", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    busybox = shutil.which("busybox")
    if busybox:
        shutil.copy2(busybox, root / "bin/busybox")
        for applet in ("sh", "login", "ls", "cat", "sleep"):
            (root / "bin" / applet).symlink_to("busybox")
    # A stray setuid copy of the shell: the classic persistence trick.
    (root / "usr/bin/.sysupd").write_bytes(b"\x7fELF" + b"\0" * 60)
    os.chmod(root / "usr/bin/.sysupd", 0o4755)
    os.chmod(root / "usr/local/bin", 0o777)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "admin:x:1000:1000::/home/admin:/bin/sh\n"
        "support:x:1001:1001::/home/support:/bin/sh\n"
        "guest:x:1002:1002::/home/guest:/bin/sh\n"
        "owner:x:1003:1003::/home/owner:/bin/sh\n"
        "daemon:x:1:1::/:/bin/false\n")
    ys = yescrypt("support")
    (root / "etc/shadow").write_text(
        f"root:{sha512_crypt.using(rounds=5000).hash('xc3511')}:19000:0:99999:7:::\n"
        f"admin:{md5_crypt.hash('admin')}:19000:0:99999:7:::\n"
        + (f"support:{ys}:19000:0:99999:7:::\n" if ys else "support:!:19000::::::\n")
        + "guest::19000:0:99999:7:::\n"
        f"owner:{sha512_crypt.using(rounds=5000).hash(STRONG)}:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "broken-line-without-fields\n")
    os.chmod(root / "etc/shadow", 0o600)
    (root / "etc/ssh/sshd_config").write_text(
        "# device sshd\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 22\n"
        "PermitRootLogin prohibit-password\nMatch User backup\n  PasswordAuthentication no\n")
    (root / "etc/ssh/sshd_config.d/10-vendor.conf").write_text(
        "PermitRootLogin yes\nPasswordAuthentication yes\n")
    (root / "etc/profile").write_text('export PATH="/usr/local/bin:/usr/bin:/bin"\n')
    (root / "var/lib/dpkg/status").write_text(
        "Package: busybox\nStatus: install ok installed\nVersion: 1:1.30.1-6\n\n"
        "Package: dropbear-bin\nStatus: install ok installed\nVersion: 2019.78-2\n\n"
        "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
        "Package: dnsmasq-base\nStatus: deinstall ok config-files\nVersion: 2.80-1\n")
    old = 1_600_000_000  # September 2020
    os.utime(root / "var/lib/dpkg/status", (old, old))
    (root / "var/log/auth.log").write_text("")
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
