"""Calls that ring between games and browsers, several browsers in one call, refused tokens."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from engine_plugin import (
    CallEndReason,
    CallState,
    CommunicationIdentityClient,
    LocalCallingService,
    MediaStreamType,
)
from engine_plugin.media.test_patterns import quadrant_colours_ok
from engine_plugin.testing import SyntheticParticipant

from ..conftest import wait_until
from .browser_helpers import (
    BROWSER_QUADRANTS,
    RGBA_IN,
    BrowserAgent,
    GameVideo,
    colours_match,
    quadrant_means,
)

VIDEO = MediaStreamType.VIDEO


@pytest.mark.timeout(90)
def test_a_game_rings_a_browser_that_answers_with_video(
    page: Any, web_service: LocalCallingService
) -> None:
    browser = BrowserAgent(page, web_service)
    browser.run(
        """() => {
            window.rung = new Promise(resolve => agent.on('incomingCall', async (event) => {
                const incomingCall = event.incomingCall;
                const caller = incomingCall.callerInfo.displayName;
                window.call = await incomingCall.accept({ videoOptions: {
                    localVideoStreams: [new sdk.LocalVideoStream(kit.quadrantStream())] } });
                resolve({ caller, direction: call.direction, state: call.state });
            }));
        }"""
    )
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        call = game.start_call(browser.user_id, incoming_video=RGBA_IN)
        received = GameVideo(call)
        assert browser.run("rung") == {
            "caller": "Game",
            "direction": "Incoming",
            "state": "Connected",
        }
        wait_until(lambda: call.state is CallState.CONNECTED, what="the game's call connects")
        received.fresh_frame(VIDEO, lambda f: colours_match(quadrant_means(f), BROWSER_QUADRANTS))
        call.hang_up().result(10)
        browser.run("kit.until(() => call.state === 'Disconnected', 'the game hangs up')")
        assert browser.run("[call.remoteParticipants.length, agent.calls.length]") == [0, 0]
        assert browser.run("call.callEndReason.reason") == "left"  # a 1:1 call ends with the other


@pytest.mark.timeout(90)
def test_a_browser_declines_and_a_game_declines(
    page: Any, web_service: LocalCallingService
) -> None:
    browser = BrowserAgent(page, web_service)
    browser.run("agent.on('incomingCall', ({ incomingCall }) => incomingCall.reject())")
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        call = game.start_call(browser.user_id, incoming_video=RGBA_IN)
        wait_until(lambda: call.state is CallState.DISCONNECTED, what="the browser declines")
        assert call.call_end_reason is CallEndReason.DECLINED

        # The other way round: the game declines the browser's call.
        game.agent.incoming_call_received += lambda args: args.incoming_call.reject()
        ended = browser.run(
            """async userId => {
                const call = agent.startCall([{ communicationUserId: userId }]);
                const states = kit.record(call, 'stateChanged', 'state');
                await kit.until(() => call.state === 'Disconnected', 'declined');
                return { states, reason: call.callEndReason };
            }""",
            game.user_id,
        )
        assert ended == {
            "states": ["Connecting", "Ringing", "Disconnected"],
            "reason": {"code": 603, "subCode": 0, "reason": "declined", "message": ""},
        }


@pytest.mark.timeout(120)
def test_two_browsers_and_a_game_in_one_group(
    chromium: Any, web_service: LocalCallingService
) -> None:
    group = str(uuid.uuid4())
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        received = GameVideo(game.join(group, incoming_video=RGBA_IN))
        browsers = [
            BrowserAgent(chromium.new_context().new_page(), web_service, name)
            for name in ("Ada", "Bob")
        ]
        for browser in browsers:
            browser.run(
                """group => {
                    window.call = agent.join({ groupId: group }, { videoOptions: {
                        localVideoStreams: [new sdk.LocalVideoStream(kit.quadrantStream())] } });
                }""",
                group,
            )
        # Each browser sees the game and the other browser, and decodes both.
        for browser, other in zip(browsers, ("Bob", "Ada"), strict=True):
            seen = browser.run(
                """async () => {
                    await kit.until(() => call.remoteParticipants.length === 2, 'two others');
                    const names = {};
                    for (const participant of call.remoteParticipants) {
                        await kit.until(() => participant.videoStreams[0]?.isAvailable, 'video');
                        const stream = participant.videoStreams[0];
                        const watched = await kit.watch(await stream.getMediaStream());
                        await kit.moreFrames(watched, 15);
                        window[participant.displayName] = watched.video;
                        names[participant.displayName] = watched.video.videoWidth;
                    }
                    return names;
                }"""
            )
            assert seen == {"Game": 640, other: 640}
            assert quadrant_colours_ok(browser.grab("Game"))
            assert colours_match(quadrant_means(browser.grab(other)), BROWSER_QUADRANTS)
        wait_until(lambda: sorted(received.display_names) == ["Ada", "Bob"], what="both browsers")
        wait_until(lambda: received.frames(VIDEO) >= 60, what="video from both browsers")


def _forged(token: str) -> str:
    """``token`` with its claims changed (a day more to live) and the old signature."""
    header, claims, signature = token.split(".")
    padded = claims + "=" * (-len(claims) % 4)
    values = json.loads(base64.urlsafe_b64decode(padded))
    values["exp"] += 86400
    changed = base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


@pytest.mark.timeout(60)
def test_a_forged_token_is_refused_with_the_reason(
    page: Any, web_service: LocalCallingService
) -> None:
    browser = BrowserAgent(page, web_service)
    identity = CommunicationIdentityClient.from_connection_string(web_service.connection_string)
    _user, token = identity.create_user_and_token(["voip"])
    error = browser.run(
        """async forged => {
            try {
                await new sdk.CallClient().createCallAgent(
                    new sdk.AzureCommunicationTokenCredential(forged));
                return 'accepted';
            } catch (error) {
                return `${error.name} ${error.code}: ${error.message}`;
            }
        }""",
        _forged(token.token),
    )
    assert error.startswith("SignalingError unauthorized: unauthorized: "), error
    assert "signature" in error
    assert browser.run("agent.connectionState") == "Connected"  # the real agent is unaffected
