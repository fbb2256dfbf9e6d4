"""Settings of the passive network checks, from ``checks.yaml`` (validated, unknown keys refused).

Example:
    >>> cfg = load_network_checks()
    >>> 23 in cfg.telnet_ports, cfg.min_tls_version == 0x0303
    (True, True)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

DEFAULT_PATH = Path(__file__).with_name("checks.yaml")
CREDENTIALS_PATH = Path(__file__).with_name("mirai_credentials.txt")


class NetworkChecksError(ValueError):
    """A settings or credentials file that does not validate (message names file and key)."""


class NetworkChecks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    telnet_ports: tuple[int, ...]
    ftp_ports: tuple[int, ...]
    http_ports: tuple[int, ...]
    cleartext_control_ports: tuple[str, ...]
    min_tls_version: int
    expected_outbound_ports: tuple[str, ...]
    evidence_limit: int = 10
    probe_ports: tuple[int, ...] = ()
    probe_credentials: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=4)
def load_network_checks(path: Path = DEFAULT_PATH) -> NetworkChecks:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when present
        data = yaml.load(path.read_text("utf-8"), Loader=loader)
        return NetworkChecks.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise NetworkChecksError(f"{path}: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise NetworkChecksError(f"{path}: {where}: {err['msg']}") from None


@lru_cache(maxsize=4)
def default_credentials(path: Path = CREDENTIALS_PATH) -> tuple[tuple[str, str], ...]:
    """The (user, password) pairs of the default-credential list, in file order.

    Example:
        >>> default_credentials()[0]
        ('root', 'xc3511')
    """
    pairs: list[tuple[str, str]] = []
    for line_no, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, tab, password = line.partition("\t")
        if not tab:
            raise NetworkChecksError(f"{path}:{line_no}: expected user<TAB>password")
        pairs.append((user, "" if password == "(none)" else password))
    return tuple(pairs)
