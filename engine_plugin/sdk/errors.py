"""Errors of the SDK surface (media validation errors live in ``engine_plugin.media``)."""

from __future__ import annotations


class CallingError(Exception):
    """An SDK operation failed (the message says why)."""


class InvalidStateError(CallingError):
    """The object is not in a state that allows this operation (the message says which)."""


class CallNotFoundError(CallingError):
    """The call does not exist (any more) on the calling service."""


class AuthenticationError(CallingError):
    """The calling service refused the token (missing, malformed, forged, expired, revoked)."""
