"""Tokens: signed JWTs, refused when forged, expired, malformed, revoked or of a deleted user."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from engine_plugin.service.identity_store import IdentityStore
from engine_plugin.tokens import (
    TokenClaims,
    TokenError,
    issue_token,
    read_claims_unverified,
    verify_token,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
ENDPOINT = "http://127.0.0.1:4000/"
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def issue(**overrides: object) -> tuple[str, datetime]:
    options: dict[str, object] = {
        "user_id": "8:acs:r_u1",
        "scopes": ["voip", "chat"],
        "endpoint": ENDPOINT,
        "generation": 3,
        "lifetime_s": 3600,
        "now": NOW,
    }
    options.update(overrides)
    return issue_token(KEY, **options)  # type: ignore[arg-type]


def test_round_trip() -> None:
    token, expires_at = issue()
    assert expires_at == NOW + timedelta(hours=1)
    claims = verify_token(KEY, token, now=NOW + timedelta(minutes=59))
    assert claims == TokenClaims(
        user_id="8:acs:r_u1",
        scopes=("voip", "chat"),
        issued_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        endpoint=ENDPOINT,
        generation=3,
        token_id=claims.token_id,
    )
    assert len(claims.token_id) == 32
    assert claims.has_scope("voip") and not claims.has_scope("admin")
    assert read_claims_unverified(token) == claims
    header, payload, _ = segments(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert set(payload) == {"sub", "scp", "iat", "exp", "iss", "endpoint", "gen", "jti"}
    assert payload["iss"] == payload["endpoint"] == ENDPOINT


def test_each_token_is_unique() -> None:
    assert issue()[0] != issue()[0]


def test_forged_signature_is_refused() -> None:
    token, _ = issue()
    header, _payload, signature = token.split(".")
    _, claims, _ = segments(token)
    forged_payload = b64url(json.dumps({**claims, "sub": "8:acs:r_admin"}).encode())
    with pytest.raises(TokenError) as info:
        verify_token(KEY, f"{header}.{forged_payload}.{signature}", now=NOW)
    assert info.value.reason == "bad_signature"
    other, _ = issue_token(
        OTHER_KEY, user_id="8:acs:r_u1", scopes=["voip"], endpoint=ENDPOINT, generation=3, now=NOW
    )
    with pytest.raises(TokenError) as info:
        verify_token(KEY, other, now=NOW)
    assert info.value.reason == "bad_signature"
    assert "signature does not match" in info.value.message


@pytest.mark.parametrize("alg", ["none", "None", "HS512", "RS256", None])
def test_other_algorithms_are_refused(alg: str | None) -> None:
    token, _ = issue()
    _, payload, signature = token.split(".")
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    for sig in ("", signature):
        with pytest.raises(TokenError) as info:
            verify_token(KEY, f"{header}.{payload}.{sig}", now=NOW)
        assert info.value.reason == "bad_signature"
        assert "HS256" in info.value.message


def test_expired_token_is_refused() -> None:
    token, expires_at = issue(lifetime_s=60)
    verify_token(KEY, token, now=expires_at - timedelta(seconds=1))
    for late in (expires_at, expires_at + timedelta(days=3)):
        with pytest.raises(TokenError) as info:
            verify_token(KEY, token, now=late)
        assert info.value.reason == "expired"
    assert "expired at 2030-01-02T03:05:05+00:00" in info.value.message
    # Reading claims without verification still works (a client learns its endpoint).
    assert read_claims_unverified(token).expires_at == expires_at


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "missing"),
        (None, "missing"),
        ("abc", "malformed"),
        ("a.b", "malformed"),
        ("a.b.c.d", "malformed"),
        ("!!!.###.$$$", "malformed"),
        (f"{b64url(b'[1]')}.{b64url(b'{}')}.{b64url(b'x')}", "malformed"),
        (f"{b64url(b'not json')}.{b64url(b'{}')}.{b64url(b'x')}", "malformed"),
        ("x" * 10000, "malformed"),
    ],
)
def test_malformed_tokens(token: str, reason: str) -> None:
    with pytest.raises(TokenError) as info:
        verify_token(KEY, token, now=NOW)
    assert info.value.reason == reason
    with pytest.raises(TokenError) as info:
        read_claims_unverified(token)
    assert info.value.reason == reason


def test_signed_token_with_missing_claims_is_malformed() -> None:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "8:acs:r_u1", "exp": 1}).encode())
    signature = b64url(hmac.new(KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    with pytest.raises(TokenError) as info:
        verify_token(KEY, f"{header}.{payload}.{signature}", now=NOW)
    assert info.value.reason == "malformed"


def test_issue_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        issue_token(b"short", user_id="u", scopes=[], endpoint=ENDPOINT, generation=0)
    with pytest.raises(ValueError, match="lifetime_s"):
        issue(lifetime_s=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        issue(now=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="unknown token error reason"):
        TokenError("nope")


def test_revoked_and_deleted_users_per_store() -> None:
    store = IdentityStore("resource")
    user = store.create_user()
    assert user.startswith("8:acs:resource_")
    old, _ = issue(user_id=user, generation=store.generation(user), now=None)
    store.check(verify_token(KEY, old), scope="voip")
    assert store.revoke(user) == 1
    with pytest.raises(TokenError) as info:
        store.check(verify_token(KEY, old), scope="voip")
    assert info.value.reason == "revoked"
    new, _ = issue(user_id=user, generation=store.generation(user), now=None)
    store.check(verify_token(KEY, new), scope="voip")
    with pytest.raises(TokenError) as info:
        store.check(verify_token(KEY, new), scope="admin")
    assert info.value.reason == "insufficient_scope"
    store.delete(user)
    with pytest.raises(TokenError) as info:
        store.check(verify_token(KEY, new))
    assert info.value.reason == "unknown_user"
