"""CommunicationIdentityClient against a live LocalCallingService (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import base64
import http.client
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from typing import Any
from urllib.parse import quote

import pytest

from engine_plugin.identity import (
    AccessToken,
    CommunicationIdentityClient,
    CommunicationUserIdentifier,
    IdentityError,
    content_hash,
    hmac_authorization,
    parse_connection_string,
)
from engine_plugin.service import LocalCallingService
from engine_plugin.tokens import verify_token

USER_ID = re.compile(r"8:acs:[0-9a-f-]{36}_[0-9a-f-]{36}")


def test_parse_connection_string() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    assert parse_connection_string(f"endpoint=http://127.0.0.1:5000/;accesskey={key}") == (
        "http://127.0.0.1:5000/",
        b"k" * 32,
    )
    assert parse_connection_string(f" AccessKey={key}; Endpoint=http://127.0.0.1:5000 ;") == (
        "http://127.0.0.1:5000/",
        b"k" * 32,
    )
    for bad, says in [
        ("", "empty connection string"),
        (f"accesskey={key}", "no endpoint"),
        ("endpoint=http://127.0.0.1:1/", "no accesskey"),
        (f"endpoint=127.0.0.1:1;accesskey={key}", "not an http(s) URL"),
        ("endpoint=http://127.0.0.1:1/;accesskey=***", "accesskey is not base64"),
        ("endpoint", "has no '='"),
    ]:
        with pytest.raises(ValueError, match=re.escape(says)) as info:
            parse_connection_string(bad)
        assert "expected 'endpoint=http://HOST:PORT/;accesskey=BASE64KEY'" in str(info.value)


def test_identifier() -> None:
    user = CommunicationUserIdentifier("8:acs:r_1")
    assert user.raw_id == "8:acs:r_1" and user.properties == {"id": "8:acs:r_1"}
    assert {user, CommunicationUserIdentifier("8:acs:r_1")} == {user}


def test_create_user_and_tokens(
    service: LocalCallingService, identity: CommunicationIdentityClient
) -> None:
    user = identity.create_user()
    assert USER_ID.fullmatch(user.raw_id), user.raw_id
    assert identity.create_user() != user

    before = datetime.now(UTC)
    token = identity.get_token(user, ["voip"])
    assert isinstance(token, AccessToken)
    claims = verify_token(service.access_key, token.token)
    assert (claims.user_id, claims.scopes, claims.endpoint) == (
        user.raw_id,
        ("voip",),
        service.endpoint,
    )
    assert token.expires_on == claims.expires_at
    assert (
        timedelta(hours=23, minutes=59)
        < token.expires_on - before
        <= timedelta(hours=24, seconds=1)
    )

    short = identity.get_token(user, ["chat", "voip", "chat"], token_expires_in=timedelta(hours=1))
    claims = verify_token(service.access_key, short.token)
    assert claims.scopes == ("chat", "voip")
    assert claims.expires_at - claims.issued_at == timedelta(hours=1)

    other, first = identity.create_user_and_token(["voip"])
    assert USER_ID.fullmatch(other.raw_id) and other != user
    assert verify_token(service.access_key, first.token).user_id == other.raw_id


def test_revoke_and_delete(
    service: LocalCallingService, identity: CommunicationIdentityClient
) -> None:
    user, token = identity.create_user_and_token(["voip"])
    store_generation = verify_token(service.access_key, token.token).generation
    identity.revoke_tokens(user)
    fresh = identity.get_token(user, ["voip"])
    assert verify_token(service.access_key, fresh.token).generation == store_generation + 1
    identity.delete_user(user)
    for call in (
        lambda: identity.get_token(user, ["voip"]),
        lambda: identity.revoke_tokens(user),
        lambda: identity.delete_user(user),
    ):
        with pytest.raises(IdentityError) as info:
            call()
        assert (info.value.status, info.value.code) == (404, "IdentityNotFound")
        assert user.raw_id in info.value.message


@pytest.mark.parametrize(
    ("scopes", "says"),
    [(["admin"], "scope 'admin' is not valid"), ([], "non-empty list of scopes")],
)
def test_bad_scopes_are_refused(
    identity: CommunicationIdentityClient, scopes: list[str], says: str
) -> None:
    user = identity.create_user()
    with pytest.raises(IdentityError) as info:
        identity.get_token(user, scopes)
    assert (info.value.status, info.value.code) == (400, "ValidationError")
    assert says in info.value.message
    with pytest.raises(IdentityError):
        identity.create_user_and_token(scopes)


def test_bad_lifetime_is_refused(identity: CommunicationIdentityClient) -> None:
    with pytest.raises(IdentityError) as info:
        identity.create_user_and_token(["voip"], token_expires_in=timedelta(minutes=5))
    assert info.value.status == 400 and "expiresInMinutes must be an integer 60-1440" in str(
        info.value
    )


def test_wrong_access_key_is_refused(service: LocalCallingService) -> None:
    wrong = CommunicationIdentityClient(service.endpoint, b"w" * 32)
    with pytest.raises(IdentityError) as info:
        wrong.create_user()
    assert info.value.status == 401
    assert info.value.code == "Unauthorized"
    assert "signature does not match (wrong access key?)" in str(info.value)


def test_unreachable_service_is_a_clear_error() -> None:
    with LocalCallingService() as gone:
        endpoint, key = gone.endpoint, gone.access_key
    client = CommunicationIdentityClient(endpoint, key, timeout=2.0)
    with pytest.raises(IdentityError) as info:
        client.create_user()
    assert info.value.status is None
    assert f"cannot reach the calling service at {endpoint}" in str(info.value)


def raw_request(
    service: LocalCallingService,
    method: str,
    path: str,
    body: bytes = b"{}",
    *,
    date: str | None = None,
    body_hash: str | None = None,
    key: bytes | None = None,
    drop: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One hand-signed request, with one part of the signature spoilt as asked."""
    host = f"127.0.0.1:{service.port}"
    date = date or formatdate(usegmt=True)
    real_hash = content_hash(body)
    headers = {
        "Host": host,
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash or real_hash,
        "Authorization": hmac_authorization(
            key or service.access_key, method, path, date, host, body_hash or real_hash
        ),
        "Content-Type": "application/json",
    }
    if drop:
        del headers[drop]
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_hmac_checks(service: LocalCallingService) -> None:
    path = "/identities?api-version=2023-10-01"
    status, body = raw_request(service, "POST", path)
    assert status == 201 and USER_ID.fullmatch(body["identity"]["id"])

    def refused(**spoil: Any) -> str:
        status, body = raw_request(service, "POST", path, **spoil)
        assert status == 401, body
        assert body["error"]["code"] == "Unauthorized"
        return str(body["error"]["message"])

    stale = format_datetime(datetime.now(UTC) - timedelta(minutes=16), usegmt=True)
    assert "away from the service's clock" in refused(date=stale)
    future = format_datetime(datetime.now(UTC) + timedelta(minutes=16), usegmt=True)
    assert "away from the service's clock" in refused(date=future)
    assert "not an RFC 1123 date" in refused(date="yesterday")
    assert (
        refused(body_hash=content_hash(b"other")) == "x-ms-content-sha256 does not match the body"
    )
    assert "wrong access key" in refused(key=b"x" * 32)
    for header in ("x-ms-date", "x-ms-content-sha256", "Authorization"):
        assert refused(drop=header) == f"missing header {header}"
    # Within 15 minutes is fine.
    recent = format_datetime(datetime.now(UTC) - timedelta(minutes=14), usegmt=True)
    assert raw_request(service, "POST", path, date=recent)[0] == 201


def test_action_path_without_slash(service: LocalCallingService) -> None:
    _, created = raw_request(service, "POST", "/identities?api-version=2023-10-01")
    user_id = created["identity"]["id"]
    path = f"/identities/{quote(user_id, safe='')}:issueAccessToken?api-version=2023-10-01"
    status, token = raw_request(service, "POST", path, json.dumps({"scopes": ["voip"]}).encode())
    assert status == 200
    assert verify_token(service.access_key, token["token"]).user_id == user_id
    status, body = raw_request(
        service, "POST", f"/identities/{quote(user_id, safe='')}:explode?api-version=1", b""
    )
    assert status == 404 and "unknown action" in body["error"]["message"]


def test_health(service: LocalCallingService) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {
            "status": "ok",
            "users": 0,
            "connections": 0,
            "calls": 0,
        }
    finally:
        connection.close()
