"""Baseline files: what a network's normal looks like, learned once and scored against later.

A baseline is a zip archive with two members:

* ``header.json`` — ``format`` (``"hedgerow-baseline"``), ``format_version``, the
  ``hedgerow_version`` that wrote it, the feature spec and its hash, model parameters, the
  calibrated thresholds, what it was learned from, and the devices seen (MAC, IPs, packets and the
  device kind when known), plus the SHA-256 of the arrays member;
* ``arrays.npz`` — the model weights, the training feature mean/std (for z-scores) and the set of
  channels seen while learning.

:func:`load_baseline` refuses, with a one-line :class:`BaselineError`, anything that is not such a
file, was written by another Hedgerow or format version, or whose arrays do not match their hash.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bad.baseline"
    >>> _ = path.write_bytes(b"not a zip")
    >>> try:
    ...     load_baseline(path)
    ... except BaselineError as exc:
    ...     print(str(exc).split(":")[-1].strip())
    not a Hedgerow baseline (not a zip archive)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hedgerow import __version__
from hedgerow.anomaly.features import FeatureSpec
from hedgerow.anomaly.hst import HalfSpaceTrees
from hedgerow.anomaly.kitnet import AutoencoderEnsemble
from hedgerow.model import LocalNetworks

FORMAT_NAME = "hedgerow-baseline"
FORMAT_VERSION = 2
HOW_TO_MAKE = "make one with `hedgerow baseline learn CAPTURE... -o home.baseline`"


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message is one line naming the file."""


@dataclass
class Baseline:
    """A learned normal: feature spec, models, thresholds, training statistics and devices."""

    spec: FeatureSpec
    kitnet: AutoencoderEnsemble
    hst: HalfSpaceTrees
    thresholds: dict[str, float]
    feature_mean: npt.NDArray[np.float64]
    feature_std: npt.NDArray[np.float64]
    known_channels: npt.NDArray[np.uint64]
    training: dict[str, Any] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    networks: tuple[str, ...] = ()
    hedgerow_version: str = __version__

    @property
    def local_networks(self) -> LocalNetworks:
        """The home networks the features were learned with (the default ones if none)."""
        return LocalNetworks.parse(self.networks) if self.networks else LocalNetworks.default()

    def header(self, arrays_sha256: str) -> dict[str, Any]:
        kit_params, _ = self.kitnet.to_arrays()
        hst_params, _ = self.hst.to_arrays()
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "hedgerow_version": self.hedgerow_version,
            "feature_spec": self.spec.to_dict(),
            "feature_spec_hash": self.spec.spec_hash(),
            "feature_names": self.spec.names(),
            "models": {"kitnet": kit_params, "hst": hst_params},
            "thresholds": self.thresholds,
            "calibration": self.calibration,
            "local_networks": list(self.networks),
            "training": self.training,
            "devices": self.devices,
            "arrays_sha256": arrays_sha256,
        }


def save_baseline(baseline: Baseline, path: str | os.PathLike[str]) -> Path:
    """Write ``baseline`` to ``path`` atomically (temporary file, then rename)."""
    _, kit_arrays = baseline.kitnet.to_arrays()
    _, hst_arrays = baseline.hst.to_arrays()
    arrays: dict[str, npt.NDArray[Any]] = {f"kitnet_{k}": v for k, v in kit_arrays.items()}
    arrays.update({f"hst_{k}": v for k, v in hst_arrays.items()})
    arrays["feature_mean"] = baseline.feature_mean
    arrays["feature_std"] = baseline.feature_std
    arrays["known_channels"] = baseline.known_channels
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    blob = buf.getvalue()
    header = baseline.header(hashlib.sha256(blob).hexdigest())
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("header.json", json.dumps(header, indent=1, sort_keys=True))
        zf.writestr("arrays.npz", blob)
    os.replace(tmp, target)
    return target


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked JSON header of a baseline file (raises :class:`BaselineError`)."""
    header, _ = _open(Path(path), want_arrays=False)
    return header


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Load and check a baseline file (raises :class:`BaselineError` with a one-line reason)."""
    p = Path(path)
    header, arrays = _open(p, want_arrays=True)
    try:
        spec = FeatureSpec.from_dict(header["feature_spec"])
        kit = {k[len("kitnet_") :]: v for k, v in arrays.items() if k.startswith("kitnet_")}
        hst = {k[len("hst_") :]: v for k, v in arrays.items() if k.startswith("hst_")}
        baseline = Baseline(
            spec=spec,
            kitnet=AutoencoderEnsemble.from_arrays(header["models"]["kitnet"], kit),
            hst=HalfSpaceTrees.from_arrays(header["models"]["hst"], hst),
            thresholds={k: float(v) for k, v in header["thresholds"].items()},
            feature_mean=arrays["feature_mean"],
            feature_std=arrays["feature_std"],
            known_channels=arrays["known_channels"],
            training=header.get("training", {}),
            devices=header.get("devices", []),
            calibration=header.get("calibration", {}),
            networks=tuple(header["local_networks"]),
            hedgerow_version=header["hedgerow_version"],
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BaselineError(f"{p}: not a usable Hedgerow baseline (bad field {exc})") from None
    if spec.spec_hash() != header.get("feature_spec_hash"):
        raise BaselineError(f"{p}: feature spec hash mismatch; {HOW_TO_MAKE}")
    return baseline


def _open(path: Path, want_arrays: bool) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    if not path.is_file():
        raise BaselineError(f"{path}: no such baseline file; {HOW_TO_MAKE}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {"header.json", "arrays.npz"} <= names:
                raise BaselineError(f"{path}: not a Hedgerow baseline (header/arrays missing)")
            header = json.loads(zf.read("header.json"))
            blob = zf.read("arrays.npz") if want_arrays else b""
    except zipfile.BadZipFile:
        raise BaselineError(f"{path}: not a Hedgerow baseline (not a zip archive)") from None
    except (zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise BaselineError(f"{path}: corrupt baseline ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise BaselineError(f"{path}: not a Hedgerow baseline (header format is not {FORMAT_NAME})")
    made_by = header.get("hedgerow_version")
    if header.get("format_version") != FORMAT_VERSION or made_by != __version__:
        raise BaselineError(
            f"{path}: baseline made by hedgerow {made_by} (format {header.get('format_version')}),"
            f" this is hedgerow {__version__} (format {FORMAT_VERSION}); re-learn it:"
            " `hedgerow baseline learn CAPTURE... -o home.baseline`"
        )
    if not want_arrays:
        return header, {}
    if hashlib.sha256(blob).hexdigest() != header.get("arrays_sha256"):
        raise BaselineError(f"{path}: corrupt baseline (arrays do not match their checksum)")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise BaselineError(f"{path}: corrupt baseline arrays ({exc})") from None
    return header, arrays
