"""VAPID keys for web push (``omni vapid-keys``)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def generate_vapid_keys() -> tuple[str, str]:
    """(private key PEM for OMNI_VAPID_PRIVATE_KEY, public key for the browser's
    ``applicationServerKey``: base64url of the uncompressed P-256 point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return pem, base64.urlsafe_b64encode(point).rstrip(b"=").decode()
