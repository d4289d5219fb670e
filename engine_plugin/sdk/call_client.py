"""``CallClient`` and ``CommunicationTokenCredential``: where every agent starts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from .._operation import Operation
from ..identity import AccessToken
from ..tokens import TokenError, read_claims_unverified
from .call_agent import CallAgent
from .errors import AuthenticationError
from .options import CallAgentOptions, CallClientOptions

logger = logging.getLogger(__name__)


class CommunicationTokenCredential:
    """A user's access token (from ``CommunicationIdentityClient.get_token``)."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise AuthenticationError("CommunicationTokenCredential needs a non-empty token string")
        try:
            self._claims = read_claims_unverified(token)
        except TokenError as exc:
            raise AuthenticationError(f"the token is not a calling service token: {exc}") from None
        self._token = token

    @property
    def token(self) -> str:
        """The raw token."""
        return self._token

    def get_token(self) -> AccessToken:
        """The token and when it expires."""
        return AccessToken(self._token, self._claims.expires_at)

    @property
    def endpoint(self) -> str:
        """The calling service that issued the token."""
        return self._claims.endpoint

    @property
    def user_id(self) -> str:
        """The user the token stands for."""
        return self._claims.user_id

    def __repr__(self) -> str:
        return f"<CommunicationTokenCredential {self._claims.user_id}>"


class CallClient:
    """The entry point: makes ``CallAgent`` objects.

    ``options`` (``CallClientOptions``) says which host addresses ICE may use:
    loopback only by default, every interface for a real LAN.
    """

    def __init__(self, options: CallClientOptions | None = None) -> None:
        self.options = options or CallClientOptions()

    def create_call_agent(
        self,
        credential: CommunicationTokenCredential,
        options: CallAgentOptions | None = None,
    ) -> Operation[CallAgent]:
        """Connect to the calling service named in the token; the agent is ready once done.

        Fails with ``AuthenticationError`` when the service refuses the token.
        """
        if not isinstance(credential, CommunicationTokenCredential):
            raise TypeError(
                f"create_call_agent expects a CommunicationTokenCredential, "
                f"got {type(credential).__name__}"
            )
        if credential.get_token().expires_on <= datetime.now(UTC):
            return Operation.failed(
                AuthenticationError("the token has expired; ask for a new one"),
                "create_call_agent",
            )
        agent = CallAgent(
            self, credential.endpoint, credential.token, options or CallAgentOptions()
        )
        return agent._loop.submit(agent._connect(), "create_call_agent")
