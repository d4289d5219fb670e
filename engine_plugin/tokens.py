"""Access tokens: signed JWTs (HS256) issued and checked by the calling service.

Pure code (no I/O). A token carries the user id (``sub``), the scopes
(``scp``, e.g. ``["voip"]``), issue and expiry times (``iat``, ``exp``), the
service endpoint (``iss`` and ``endpoint``, so that a ``CallAgent`` finds its
service from the token alone), the user's revocation generation (``gen``) and
a unique id (``jti``). It is signed with HMAC-SHA256 under the service's
access key; only ``HS256`` is accepted (``none`` and every other algorithm
are refused).

Whether the user still exists and whether ``gen`` is still current is the
service's business (see ``engine_plugin.service.identity_store``): this
module only knows the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "TOKEN_ERROR_REASONS",
    "TokenClaims",
    "TokenError",
    "issue_token",
    "read_claims_unverified",
    "verify_token",
]

TOKEN_ERROR_REASONS: Final = frozenset(
    {
        "missing",
        "malformed",
        "bad_signature",
        "expired",
        "revoked",
        "unknown_user",
        "insufficient_scope",
    }
)
"""Every value of :attr:`TokenError.reason`."""

_HEADER: Final = {"alg": "HS256", "typ": "JWT"}
_MAX_TOKEN_CHARS: Final = 8192
_B64URL_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class TokenError(Exception):
    """A token was refused.

    ``reason`` is one of :data:`TOKEN_ERROR_REASONS`: ``missing``,
    ``malformed``, ``bad_signature``, ``expired``, ``revoked``,
    ``unknown_user``, ``insufficient_scope``; the message says more.
    """

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in TOKEN_ERROR_REASONS:
            raise ValueError(f"unknown token error reason {reason!r}")
        self.reason = reason
        self.message = message or reason.replace("_", " ")
        super().__init__(self.message)


@dataclass(frozen=True)
class TokenClaims:
    """What a token says about its holder.

    ``user_id`` (the ``8:acs:...`` raw id), ``scopes`` (e.g. ``("voip",)``),
    ``issued_at`` and ``expires_at`` (timezone-aware UTC datetimes),
    ``endpoint`` (the service's URL, ``http://127.0.0.1:PORT/``),
    ``generation`` (the user's revocation generation when it was issued) and
    ``token_id`` (the ``jti``).
    """

    user_id: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    endpoint: str
    generation: int
    token_id: str = ""

    def has_scope(self, scope: str) -> bool:
        """True when the token grants ``scope`` (e.g. ``"voip"``)."""
        return scope in self.scopes


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    if not text or any(c not in _B64URL_CHARS for c in text):
        raise TokenError("malformed", f"token {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed", f"token {what} is not base64url text") from None


def _json_segment(text: str, what: str) -> dict[str, Any]:
    raw = _b64url_decode(text, what)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TokenError("malformed", f"token {what} is not a JSON object") from None
    if not isinstance(value, dict):
        raise TokenError("malformed", f"token {what} is not a JSON object")
    return value


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    return now.astimezone(UTC)


def _sign(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def issue_token(
    key: bytes,
    *,
    user_id: str,
    scopes: list[str] | tuple[str, ...],
    endpoint: str,
    generation: int,
    lifetime_s: int = 86400,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """Sign a token for ``user_id``; returns ``(token, expires_at)``.

    ``key`` is the service's access key (at least 16 bytes), ``scopes`` the
    granted scopes, ``endpoint`` the service URL written into ``iss`` and
    ``endpoint``, ``generation`` the user's current revocation generation,
    ``lifetime_s`` seconds until ``exp`` (positive), ``now`` the issue time
    (a UTC-aware datetime; defaults to the current time; whole seconds are
    kept, as in every JWT).
    """
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("key must be at least 16 bytes")
    if not user_id:
        raise ValueError("user_id must not be empty")
    if lifetime_s <= 0:
        raise ValueError(f"lifetime_s must be positive, got {lifetime_s}")
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise ValueError(f"generation must be a non-negative integer, got {generation!r}")
    issued = int(_now(now).timestamp())
    expires = issued + int(lifetime_s)
    payload = {
        "sub": user_id,
        "scp": list(scopes),
        "iat": issued,
        "exp": expires,
        "iss": endpoint,
        "endpoint": endpoint,
        "gen": generation,
        "jti": uuid.uuid4().hex,
    }
    header = _b64url_encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}"
    token = f"{signing_input}.{_b64url_encode(_sign(key, signing_input))}"
    return token, datetime.fromtimestamp(expires, UTC)


def _split(token: Any) -> tuple[str, str, str]:
    if token is None or token == "":
        raise TokenError("missing", "no token was given")
    if not isinstance(token, str):
        raise TokenError("malformed", f"a token is a string, got {type(token).__name__}")
    if len(token) > _MAX_TOKEN_CHARS:
        raise TokenError("malformed", f"token longer than {_MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(
            "malformed", f"a token has three dot-separated parts, this one has {len(parts)}"
        )
    return parts[0], parts[1], parts[2]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _claims(payload: dict[str, Any]) -> TokenClaims:
    sub: Any = payload.get("sub")
    scp: Any = payload.get("scp")
    iat: Any = payload.get("iat")
    exp: Any = payload.get("exp")
    endpoint: Any = payload.get("endpoint", payload.get("iss"))
    gen: Any = payload.get("gen")
    jti: Any = payload.get("jti", "")
    if not isinstance(sub, str) or not sub:
        raise TokenError("malformed", "token claim 'sub' (the user id) is missing")
    if not isinstance(scp, list) or not all(isinstance(s, str) for s in scp):
        raise TokenError("malformed", "token claim 'scp' must be a list of scope names")
    if not _is_int(iat) or not _is_int(exp):
        raise TokenError("malformed", "token claims 'iat' and 'exp' must be integers")
    if not isinstance(endpoint, str) or not endpoint:
        raise TokenError("malformed", "token claim 'endpoint' (the service URL) is missing")
    if not _is_int(gen) or gen < 0:
        raise TokenError("malformed", "token claim 'gen' must be a non-negative integer")
    if not isinstance(jti, str):
        raise TokenError("malformed", "token claim 'jti' must be a string")
    try:
        issued_at = datetime.fromtimestamp(iat, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenError("malformed", "token times are out of range") from None
    return TokenClaims(
        user_id=sub,
        scopes=tuple(scp),
        issued_at=issued_at,
        expires_at=expires_at,
        endpoint=endpoint,
        generation=gen,
        token_id=jti,
    )


def verify_token(key: bytes, token: str, *, now: datetime | None = None) -> TokenClaims:
    """Check a token's structure, algorithm (HS256 only), signature and expiry.

    Returns its :class:`TokenClaims`; raises :class:`TokenError` with reason
    ``missing``, ``malformed``, ``bad_signature`` or ``expired``. Revocation,
    deletion and scopes are checked by the service, which knows the users.
    """
    header_text, payload_text, signature_text = _split(token)
    header = _json_segment(header_text, "header")
    alg = header.get("alg")
    if alg != "HS256":
        raise TokenError("bad_signature", f"token algorithm must be HS256, got {alg!r}")
    signature = _b64url_decode(signature_text, "signature")
    expected = _sign(key, f"{header_text}.{payload_text}")
    if not hmac.compare_digest(signature, expected):
        raise TokenError("bad_signature", "token signature does not match this service's key")
    claims = _claims(_json_segment(payload_text, "payload"))
    current = _now(now)
    if current >= claims.expires_at:
        ago = (current - claims.expires_at) // timedelta(seconds=1)
        raise TokenError(
            "expired",
            f"token expired at {claims.expires_at.isoformat()} ({ago} s ago); get a new one",
        )
    return claims


def read_claims_unverified(token: str) -> TokenClaims:
    """Read a token's claims without checking its signature or expiry.

    For clients, which do not hold the key, to learn the endpoint and expiry.
    Never trust the result for access decisions. Raises :class:`TokenError`
    (``missing`` or ``malformed``) on anything that is not a token.
    """
    header_text, payload_text, signature_text = _split(token)
    _json_segment(header_text, "header")
    _b64url_decode(signature_text, "signature")
    return _claims(_json_segment(payload_text, "payload"))
