"""The calling service (layer 4): identity and tokens, calls, signaling relay.

``LocalCallingService`` runs it in-process on its own thread; ``python -m
engine_plugin.service`` runs it standalone. The pure parts (users, the call
state machine) live in :mod:`.identity_store` and :mod:`.calls`; the aiohttp
layer in :mod:`.app`.
"""

from engine_plugin.service.app import SERVICE_STATE, ServiceState, add_static, create_app
from engine_plugin.service.calls import CallRegistry, Outgoing, group_call_id
from engine_plugin.service.identity_store import IdentityStore
from engine_plugin.service.local import LocalCallingService

__all__ = [
    "SERVICE_STATE",
    "CallRegistry",
    "IdentityStore",
    "LocalCallingService",
    "Outgoing",
    "ServiceState",
    "add_static",
    "create_app",
    "group_call_id",
]
