"""A local Web Push service: verifies the VAPID JWT (ES256, aud, exp, sub) and decrypts the
aes128gcm payload with the subscription's private key, as a browser's push service would."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import FastAPI, Request, Response


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Device:
    key: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class PushService:
    base: str = ""
    devices: dict[str, Device] = field(default_factory=dict)
    #: device id -> (status, headers)
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Called with each accepted message before the push service answers (fault tests kill
    #: the sender here).
    on_accept: Callable[[dict[str, Any]], None] | None = None
    #: Awaited after a message is accepted, before the push service answers: a slow service.
    hold: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def subscribe(self, device: str) -> dict[str, Any]:
        """A PushSubscription.toJSON() as a browser would make it."""
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.devices[device] = Device(key, auth)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.base}/push/{device}",
            "keys": {"p256dh": b64e(point), "auth": b64e(auth)},
        }

    def verify_vapid(self, header: str, endpoint: str) -> dict[str, Any]:
        parts = dict(p.strip().split("=", 1) for p in header.removeprefix("vapid ").split(","))
        token, public = parts["t"], parts["k"]
        head, body, signature = token.split(".")
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(public))
        raw = b64d(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        claims: dict[str, Any] = json.loads(b64d(body))
        if json.loads(b64d(head)).get("alg") != "ES256":
            raise InvalidSignature("alg")
        origin = "/".join(endpoint.split("/")[:3])
        if claims.get("aud") != origin:
            raise InvalidSignature(f"aud {claims.get('aud')} != {origin}")
        if not (time.time() < int(claims["exp"]) <= time.time() + 24 * 3600):
            raise InvalidSignature("exp")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise InvalidSignature("sub")
        return claims

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/push/{device}")
        async def push(device: str, request: Request) -> Response:
            endpoint = f"{self.base}/push/{device}"
            try:
                claims = self.verify_vapid(request.headers.get("authorization", ""), endpoint)
            except (InvalidSignature, KeyError, ValueError) as exc:
                self.violations.append(f"VAPID: {exc!r}")
                return Response(status_code=403)
            if device in self.answers:
                status, headers = self.answers[device]
                return Response(status_code=status, headers=headers)
            if device not in self.devices:
                return Response(status_code=410)
            if request.headers.get("content-encoding") != "aes128gcm":
                self.violations.append("content-encoding must be aes128gcm")
                return Response(status_code=415)
            d = self.devices[device]
            plain = http_ece.decrypt(
                await request.body(), private_key=d.key, auth_secret=d.auth, version="aes128gcm"
            )
            self.received.append(
                {
                    "device": device,
                    "payload": json.loads(plain),
                    "ttl": request.headers.get("ttl"),
                    "urgency": request.headers.get("urgency"),
                    "sub": claims["sub"],
                }
            )
            if self.on_accept is not None:
                self.on_accept(self.received[-1])
            if self.hold is not None:
                await self.hold(self.received[-1])
            return Response(
                status_code=201, headers={"Location": f"{endpoint}/m{len(self.received)}"}
            )

        return app
