"""The service's users: creation, revocation generations and deletion (pure state, no I/O).

A user's *generation* starts at 0 and goes up by one each time its tokens
are revoked; every token carries the generation it was issued under, and
only tokens of the current generation are accepted. Deleted users are
forgotten: their tokens fail with ``unknown_user``.
"""

from __future__ import annotations

import hashlib
import uuid

from engine_plugin.tokens import TokenClaims, TokenError

__all__ = ["IdentityStore", "resource_id_for_key"]


def resource_id_for_key(access_key: bytes) -> str:
    """A stable resource id (a UUID) derived from an access key.

    User ids are ``8:acs:<resource id>_<uuid>``, as with a real resource.
    """
    digest = hashlib.sha256(b"engine_plugin resource:" + access_key).digest()
    return str(uuid.UUID(bytes=digest[:16]))


class IdentityStore:
    """Users of one service instance and their revocation generations.

    ``resource_id`` is the middle part of every user id
    (``8:acs:<resource_id>_<uuid>``). Not thread-safe: the service uses it
    from its own event loop only.
    """

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        self._generations: dict[str, int] = {}

    def create_user(self) -> str:
        """Create a user; returns its raw id ``8:acs:<resource>_<uuid>``."""
        user_id = f"8:acs:{self.resource_id}_{uuid.uuid4()}"
        self._generations[user_id] = 0
        return user_id

    def exists(self, user_id: str) -> bool:
        """True while the user exists (created and not deleted)."""
        return user_id in self._generations

    def generation(self, user_id: str) -> int:
        """The user's current generation; raises :class:`KeyError` for an unknown user."""
        return self._generations[user_id]

    def revoke(self, user_id: str) -> int:
        """Revoke every token issued so far; returns the new generation.

        Raises :class:`KeyError` for an unknown user.
        """
        self._generations[user_id] += 1
        return self._generations[user_id]

    def delete(self, user_id: str) -> None:
        """Forget the user; raises :class:`KeyError` for an unknown user."""
        del self._generations[user_id]

    def __len__(self) -> int:
        return len(self._generations)

    def check(self, claims: TokenClaims, *, scope: str | None = None) -> None:
        """Check verified claims against the users.

        Raises :class:`~engine_plugin.tokens.TokenError` with reason
        ``unknown_user`` (never created, or deleted), ``revoked`` (issued
        before the last revocation) or ``insufficient_scope`` (``scope`` is
        given and the token lacks it).
        """
        current = self._generations.get(claims.user_id)
        if current is None:
            raise TokenError("unknown_user", "the token's user does not exist (deleted?)")
        if claims.generation != current:
            raise TokenError("revoked", "the token has been revoked; get a new one")
        if scope is not None and not claims.has_scope(scope):
            raise TokenError(
                "insufficient_scope",
                f"the token's scopes {list(claims.scopes)} do not include {scope!r}",
            )
