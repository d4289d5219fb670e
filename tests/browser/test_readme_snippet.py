"""The README's browser snippet runs as written, in Chromium, in a call with a game."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from engine_plugin import CommunicationIdentityClient, LocalCallingService, MediaStreamType
from engine_plugin.testing import SyntheticParticipant
from engine_plugin.testing.browser import HARNESS_PATH

from ..conftest import wait_until
from .browser_helpers import RGBA_IN, GameVideo

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_js() -> str:
    blocks = re.findall(r"```js\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "README.md shows one browser snippet"
    return str(blocks[0])


@pytest.mark.timeout(90)
def test_readme_browser_snippet_joins_a_game(page: Any, web_service: LocalCallingService) -> None:
    identity = CommunicationIdentityClient.from_connection_string(web_service.connection_string)
    _user, token = identity.create_user_and_token(["voip"])
    group = str(uuid.uuid4())
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        received = GameVideo(game.join(group, incoming_video=RGBA_IN))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(web_service.page_url.rstrip("/") + HARNESS_PATH)
        # The snippet's free names: a token and a group id.
        prelude = f"const token = {json.dumps(token.token)}; const groupId = {json.dumps(group)};\n"
        page.add_script_tag(content=prelude + _readme_js(), type="module")
        # The page shows the game's video; the game sees the page's canvas.
        page.wait_for_function("document.querySelector('video')?.videoWidth === 640", timeout=15000)
        wait_until(lambda: received.display_names == ["Browser"], what="the page in the roster")
        wait_until(
            lambda: received.frames(MediaStreamType.VIDEO) >= 30, timeout=15, what="its video"
        )
        assert errors == []
