"""Ed25519 signing and verification of rule and baseline bundles published by the hub.

Verification needs only ``cryptography`` (part of the ``agent`` extra), so agents and gateways
can refuse unsigned or tampered bundles without the hub's server dependencies.
"""

from hedgerow.signing.bundle import (
    BUNDLE_FORMAT,
    BundleError,
    SigningKey,
    canonical_json,
    key_id,
    load_public_key,
    sign_bundle,
    verify_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BundleError",
    "SigningKey",
    "canonical_json",
    "key_id",
    "load_public_key",
    "sign_bundle",
    "verify_bundle",
]
