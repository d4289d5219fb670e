"""pytest fixtures for testing games that take part in calls (registered as a pytest plugin).

Installed with engine_plugin, so any project's tests can ask for them:

- ``calling_service``: a ``LocalCallingService`` on 127.0.0.1 for the session.
- ``offscreen_base``: a ShowBase rendering offscreen (no display, no sound
  device), destroyed after the test.
- ``call_agent``: ``call_agent("Name")`` makes a connected ``CallAgent`` for a
  new user; disposed after the test.
- ``synthetic_participant``: ``synthetic_participant("Bot")`` makes a
  :class:`SyntheticParticipant` (join it to a group to have it send a known
  pattern and tone); closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..identity import CommunicationIdentityClient
from ..sdk.call_agent import CallAgent
from ..sdk.call_client import CallClient, CommunicationTokenCredential
from ..sdk.options import CallAgentOptions
from ..service.local import LocalCallingService
from .offscreen import offscreen_showbase
from .participant import SyntheticParticipant


@pytest.fixture(scope="session")
def calling_service() -> Iterator[LocalCallingService]:
    """The embedded calling service, for the whole test session."""
    with LocalCallingService() as service:
        yield service


@pytest.fixture
def offscreen_base() -> Iterator[Any]:
    """A ShowBase rendering offscreen at 640x360."""
    with offscreen_showbase(640, 360) as base:
        yield base


@pytest.fixture
def call_agent(calling_service: LocalCallingService) -> Iterator[Callable[[str], CallAgent]]:
    """``call_agent("Name")``: a connected agent for a new user."""
    identity = CommunicationIdentityClient.from_connection_string(calling_service.connection_string)
    agents: list[CallAgent] = []

    def make(name: str) -> CallAgent:
        _user, token = identity.create_user_and_token(["voip"])
        credential = CommunicationTokenCredential(token.token)
        agent = CallClient().create_call_agent(credential, CallAgentOptions(name)).result(10)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.dispose()


@pytest.fixture
def synthetic_participant(
    calling_service: LocalCallingService,
) -> Iterator[Callable[..., SyntheticParticipant]]:
    """``synthetic_participant("Bot", tone_hz=440)``: someone who sends a known pattern and tone."""
    made: list[SyntheticParticipant] = []

    def make(name: str = "Bot", **options: Any) -> SyntheticParticipant:
        participant = SyntheticParticipant(calling_service.connection_string, name, **options)
        made.append(participant)
        return participant

    yield make
    for participant in made:
        participant.close()
