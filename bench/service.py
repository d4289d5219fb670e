"""The embedded calling service a benchmark runs on, a group id, and agents made on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from engine_plugin import (
    CallAgent,
    CallAgentOptions,
    CallClient,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    LocalCallingService,
)


class BenchService:
    """A started :class:`LocalCallingService` (with ``configure_app``'s routes) and its agents.

    ``group`` is a fresh group id for the benchmark's call; :meth:`close`
    disposes of every agent made by :meth:`agent` and stops the service.
    """

    def __init__(
        self,
        configure_app: Callable[[web.Application], Any] | None = None,
        *,
        connect_timeout: float = 20.0,
    ) -> None:
        self.service = LocalCallingService(configure_app=configure_app).start()
        self._identity = CommunicationIdentityClient.from_connection_string(
            self.service.connection_string
        )
        self._client = CallClient()
        self._connect_timeout = connect_timeout
        self.agents: list[CallAgent] = []
        self.group = str(uuid.uuid4())

    def token(self) -> str:
        """A ``voip`` token for a new user."""
        _user, token = self._identity.create_user_and_token(["voip"])
        return token.token

    def agent(self, name: str = "") -> CallAgent:
        """A new connected agent, shown to others as ``name``."""
        credential = CommunicationTokenCredential(self.token())
        options = CallAgentOptions(display_name=name)
        agent = self._client.create_call_agent(credential, options).result(self._connect_timeout)
        self.agents.append(agent)
        return agent

    def close(self) -> None:
        """Dispose of the agents and stop the service."""
        for agent in self.agents:
            agent.dispose()
        self.service.stop()
