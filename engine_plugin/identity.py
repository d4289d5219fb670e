"""Identity client: users and access tokens, as Azure's ``CommunicationIdentityClient``.

Synchronous (standard library ``http.client``), like the Azure Python SDK's
client. Requests are signed with HMAC-SHA256 under the access key exactly as
the Azure Communication Services REST API expects::

    x-ms-date:            RFC 1123 date
    x-ms-content-sha256:  base64(SHA-256(body))
    Authorization:        HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256
                          &Signature=base64(HMAC-SHA256(key,
                              "VERB\\n/path?query\\ndate;host;contenthash"))

Example::

    client = CommunicationIdentityClient.from_connection_string(service.connection_string)
    user, token = client.create_user_and_token(["voip"])
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formatdate
from types import TracebackType
from typing import Any, Final, NamedTuple
from urllib.parse import quote, urlsplit

__all__ = [
    "API_VERSION",
    "SCOPES",
    "AccessToken",
    "CommunicationIdentityClient",
    "CommunicationUserIdentifier",
    "IdentityError",
    "content_hash",
    "hmac_authorization",
    "parse_connection_string",
]

logger = logging.getLogger(__name__)

API_VERSION: Final = "2023-10-01"
"""The REST API version sent as ``api-version``."""

SCOPES: Final = frozenset({"chat", "voip"})
"""Scopes a token may carry."""

SIGNED_HEADERS: Final = "x-ms-date;host;x-ms-content-sha256"


@dataclass(frozen=True)
class CommunicationUserIdentifier:
    """A user of the calling service, named by its raw id (``8:acs:<resource>_<uuid>``)."""

    raw_id: str

    @property
    def properties(self) -> dict[str, str]:
        """``{"id": raw_id}``, as the Azure SDK's identifier has."""
        return {"id": self.raw_id}

    @property
    def kind(self) -> str:
        """Always ``"communication_user"``."""
        return "communication_user"


class AccessToken(NamedTuple):
    """A user's access token and when it expires (a UTC-aware datetime)."""

    token: str
    expires_on: datetime


class IdentityError(Exception):
    """The identity service refused a request, or could not be reached.

    ``status`` is the HTTP status (``None`` when the service was unreachable),
    ``code`` the service's error code (e.g. ``"Unauthorized"``,
    ``"IdentityNotFound"``, ``"ValidationError"``), ``message`` its message.
    """

    def __init__(self, status: int | None, message: str, code: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        where = "no response" if status is None else f"HTTP {status}"
        super().__init__(f"{where}{f' ({code})' if code else ''}: {message}")


def parse_connection_string(connection_string: str) -> tuple[str, bytes]:
    """Split ``endpoint=http://127.0.0.1:PORT/;accesskey=BASE64KEY`` into ``(endpoint, key)``.

    Keys are case-insensitive and the order is free; the endpoint is returned
    with a trailing ``/``. Raises :class:`ValueError` saying what was expected.
    """
    expected = "expected 'endpoint=http://HOST:PORT/;accesskey=BASE64KEY'"
    if not isinstance(connection_string, str) or not connection_string.strip():
        raise ValueError(f"empty connection string; {expected}")
    fields: dict[str, str] = {}
    for part in connection_string.strip().split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"connection string part {part!r} has no '='; {expected}")
        fields[name.strip().lower()] = value.strip()
    endpoint = fields.get("endpoint")
    key_text = fields.get("accesskey")
    if not endpoint:
        raise ValueError(f"connection string has no endpoint; {expected}")
    if not key_text:
        raise ValueError(f"connection string has no accesskey; {expected}")
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"endpoint {endpoint!r} is not an http(s) URL; {expected}")
    try:
        key = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"accesskey is not base64; {expected}") from None
    if not key:
        raise ValueError(f"accesskey is empty; {expected}")
    return (endpoint if endpoint.endswith("/") else endpoint + "/"), key


def content_hash(body: bytes) -> str:
    """``x-ms-content-sha256``: base64 of the SHA-256 of the request body."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def hmac_authorization(
    key: bytes, method: str, path_and_query: str, date: str, host: str, body_hash: str
) -> str:
    """The ``Authorization`` header value for one request (the Azure HMAC-SHA256 scheme).

    ``path_and_query`` is the request target exactly as sent (percent-encoded
    path plus ``?query``), ``date`` the ``x-ms-date`` value, ``host`` the
    ``Host`` header value, ``body_hash`` the ``x-ms-content-sha256`` value.
    """
    string_to_sign = f"{method.upper()}\n{path_and_query}\n{date};{host};{body_hash}"
    digest = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode("ascii")
    return f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}"


def _user_id(user: CommunicationUserIdentifier | str) -> str:
    raw = user.raw_id if isinstance(user, CommunicationUserIdentifier) else user
    if not isinstance(raw, str) or not raw:
        raise TypeError(f"expected a CommunicationUserIdentifier, got {user!r}")
    return raw


def _expires_in_minutes(token_expires_in: timedelta | None) -> dict[str, int]:
    if token_expires_in is None:
        return {}
    return {"expiresInMinutes": int(token_expires_in.total_seconds() // 60)}


def _access_token(body: Any) -> AccessToken:
    try:
        expires = datetime.fromisoformat(body["expiresOn"])
        return AccessToken(token=str(body["token"]), expires_on=expires)
    except (KeyError, TypeError, ValueError) as exc:
        raise IdentityError(None, f"unexpected token response from the service: {exc}") from None


class CommunicationIdentityClient:
    """Creates users and issues, revokes and deletes their access tokens.

    ``endpoint`` is the service URL (``http://127.0.0.1:PORT/``), ``access_key``
    its access key (bytes, or the base64 text found in a connection string).
    Keyword options: ``timeout`` seconds per request (default 10).

    Every method raises :class:`IdentityError` when the service refuses the
    request (its HTTP status and message) or cannot be reached.
    """

    def __init__(self, endpoint: str, access_key: bytes | str, *, timeout: float = 10.0) -> None:
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        if isinstance(access_key, str):
            try:
                access_key = base64.b64decode(access_key, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("access_key text must be base64") from None
        if not access_key:
            raise ValueError("access_key must not be empty")
        self._scheme = url.scheme
        self._netloc = url.netloc
        self._base_path = url.path.rstrip("/")
        self._key = bytes(access_key)
        self._timeout = timeout
        self.endpoint = f"{url.scheme}://{url.netloc}{self._base_path}/"
        """The service URL, with a trailing ``/``."""

    @classmethod
    def from_connection_string(
        cls, connection_string: str, *, timeout: float = 10.0
    ) -> CommunicationIdentityClient:
        """A client for ``endpoint=http://127.0.0.1:PORT/;accesskey=BASE64KEY``."""
        endpoint, key = parse_connection_string(connection_string)
        return cls(endpoint, key, timeout=timeout)

    # --- Public operations -------------------------------------------------

    def create_user(self) -> CommunicationUserIdentifier:
        """Create a new user and return its identifier."""
        body = self._request("POST", "/identities", {})
        return self._identifier(body)

    def create_user_and_token(
        self, scopes: list[str], *, token_expires_in: timedelta | None = None
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        """Create a user and a token with ``scopes`` (``"voip"``, ``"chat"``) in one request.

        ``token_expires_in`` is the token's lifetime (1 to 24 hours; default 24 hours).
        """
        payload = {"createTokenWithScopes": list(scopes), **_expires_in_minutes(token_expires_in)}
        body = self._request("POST", "/identities", payload)
        user = self._identifier(body)
        return user, _access_token(body.get("accessToken") if isinstance(body, dict) else None)

    def get_token(
        self,
        user: CommunicationUserIdentifier,
        scopes: list[str],
        *,
        token_expires_in: timedelta | None = None,
    ) -> AccessToken:
        """Issue a token for ``user`` with ``scopes`` (``"voip"`` to call, ``"chat"``).

        ``token_expires_in`` is the token's lifetime (1 to 24 hours; default 24 hours).
        """
        payload = {"scopes": list(scopes), **_expires_in_minutes(token_expires_in)}
        path = f"/identities/{quote(_user_id(user), safe='')}/:issueAccessToken"
        return _access_token(self._request("POST", path, payload))

    def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        """Revoke every token issued to ``user`` so far (its open connections are closed)."""
        path = f"/identities/{quote(_user_id(user), safe='')}/:revokeAccessTokens"
        self._request("POST", path, None)

    def delete_user(self, user: CommunicationUserIdentifier) -> None:
        """Delete ``user``: its tokens stop working and it cannot get new ones."""
        self._request("DELETE", f"/identities/{quote(_user_id(user), safe='')}", None)

    def close(self) -> None:
        """Nothing to release (one HTTP connection per request); for parity with Azure."""

    def __enter__(self) -> CommunicationIdentityClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CommunicationIdentityClient(endpoint={self.endpoint!r})"

    # --- HTTP -------------------------------------------------------------

    @staticmethod
    def _identifier(body: Any) -> CommunicationUserIdentifier:
        try:
            return CommunicationUserIdentifier(str(body["identity"]["id"]))
        except (KeyError, TypeError):
            raise IdentityError(None, "unexpected response from the service: no identity") from None

    def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        target = f"{self._base_path}{path}?api-version={API_VERSION}"
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        date = formatdate(usegmt=True)
        body_hash = content_hash(body)
        headers = {
            "Host": self._netloc,
            "x-ms-date": date,
            "x-ms-content-sha256": body_hash,
            "Authorization": hmac_authorization(
                self._key, method, target, date, self._netloc, body_hash
            ),
            "Accept": "application/json",
            "Content-Length": str(len(body)),
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection_class = (
            http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(self._netloc, timeout=self._timeout)
        logger.debug("%s %s", method, target)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise IdentityError(
                None, f"cannot reach the calling service at {self.endpoint}: {exc}"
            ) from exc
        finally:
            connection.close()
        parsed: Any = None
        if data:
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
        if status >= 400:
            code: str | None = None
            message = data.decode("utf-8", "replace") or http.client.responses.get(status, "")
            if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
                code = parsed["error"].get("code")
                message = str(parsed["error"].get("message", message))
            raise IdentityError(status, message, code)
        return parsed if parsed is not None else {}
