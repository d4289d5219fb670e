"""Fixtures for the calling-service tests: a live service on 127.0.0.1 and WebSocket clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from service_helpers import Clients

from engine_plugin.identity import CommunicationIdentityClient
from engine_plugin.service import LocalCallingService


@pytest.fixture
def service() -> Iterator[LocalCallingService]:
    """A started service on a free loopback port, stopped after the test."""
    with LocalCallingService() as running:
        yield running


@pytest.fixture
def identity(service: LocalCallingService) -> CommunicationIdentityClient:
    """An identity client for ``service``."""
    return CommunicationIdentityClient.from_connection_string(service.connection_string)


@pytest.fixture
async def clients(service: LocalCallingService) -> AsyncIterator[Clients]:
    """Signaling clients for ``service`` (closed with their session after the test)."""
    async with aiohttp.ClientSession() as session:
        yield Clients(service, session)
