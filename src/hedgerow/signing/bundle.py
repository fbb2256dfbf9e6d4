"""Signed content bundles: canonical JSON body + detached Ed25519 signature.

A bundle is a JSON object::

    {"format": "hedgerow-bundle/1", "kind": "rules", "version": 3, "created": 1764000000.0,
     "content": {...},
     "signature": {"alg": "ed25519", "key_id": "<16 hex>", "value": "<base64>"}}

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of every field except
``signature``. :func:`verify_bundle` refuses a bundle that is unsigned, signed by a key that is
not trusted, or changed after signing, and returns the verified content.

Example:
    >>> key = SigningKey.generate()
    >>> bundle = sign_bundle(key, kind="rules", version=1, content={"rules": []}, created=0.0)
    >>> verify_bundle(bundle, [key.public_pem()])
    {'rules': []}
    >>> bundle["content"]["rules"].append({"id": "evil"})
    >>> try:
    ...     verify_bundle(bundle, [key.public_pem()])
    ... except BundleError as exc:
    ...     print(exc)
    bundle rules v1: signature does not match its content
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

BUNDLE_FORMAT = "hedgerow-bundle/1"
_FIELDS = ("format", "kind", "version", "created", "content")


class BundleError(ValueError):
    """A bundle is malformed, unsigned, signed by an untrusted key, or tampered with."""


def canonical_json(value: Any) -> bytes:
    """The exact bytes that are signed: sorted keys, compact separators, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key: first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Parse a PEM public key; raises :class:`BundleError` if it is not Ed25519."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise BundleError(f"public key: not a PEM key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("public key: not an Ed25519 key")
    return key


class SigningKey:
    """An Ed25519 private key that signs bundles (kept by the hub, never sent to agents)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Read a PEM (PKCS#8, unencrypted) private key file."""
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: cannot read signing key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise BundleError(f"{path}: not an Ed25519 private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Load ``path``, or create it (mode 0600) with a fresh key when it does not exist."""
        target = Path(path)
        if target.exists():
            return cls.load(target)
        key = cls.generate()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.private_pem())
        return key

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())

    def public_pem(self) -> str:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    @property
    def key_id(self) -> str:
        return key_id(self.private_key.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def sign_bundle(key: SigningKey, kind: str, version: int, content: dict[str, Any],
                created: float) -> dict[str, Any]:
    """Build and sign a bundle of ``kind`` (``rules``, ``baseline``...) at ``version``."""
    body = {"format": BUNDLE_FORMAT, "kind": kind, "version": int(version),
            "created": float(created), "content": content}
    signature = key.sign(canonical_json(body))
    return {**body, "signature": {"alg": "ed25519", "key_id": key.key_id,
                                  "value": base64.b64encode(signature).decode()}}


def verify_bundle(bundle: Any, trusted: Iterable[str | bytes | Ed25519PublicKey]) -> Any:
    """Check ``bundle`` against the trusted public keys; return its content or raise."""
    if not isinstance(bundle, dict):
        raise BundleError("bundle: not a JSON object")
    name = f"bundle {bundle.get('kind', '?')} v{bundle.get('version', '?')}"
    missing = [f for f in _FIELDS if f not in bundle]
    if missing:
        raise BundleError(f"{name}: missing field {missing[0]!r}")
    if bundle["format"] != BUNDLE_FORMAT:
        raise BundleError(f"{name}: unknown format {bundle['format']!r}")
    signature = bundle.get("signature")
    if not isinstance(signature, dict) or not signature.get("value"):
        raise BundleError(f"{name}: unsigned")
    if signature.get("alg") != "ed25519":
        raise BundleError(f"{name}: unsupported signature algorithm {signature.get('alg')!r}")
    keys = [k if isinstance(k, Ed25519PublicKey) else load_public_key(k) for k in trusted]
    by_id = {key_id(k): k for k in keys}
    public_key = by_id.get(str(signature.get("key_id")))
    if public_key is None:
        raise BundleError(f"{name}: signed by untrusted key {signature.get('key_id')!r}")
    try:
        raw = base64.b64decode(str(signature["value"]), validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"{name}: signature is not base64") from None
    body = {f: bundle[f] for f in _FIELDS}
    try:
        public_key.verify(raw, canonical_json(body))
    except (InvalidSignature, ValueError):
        raise BundleError(f"{name}: signature does not match its content") from None
    return bundle["content"]
