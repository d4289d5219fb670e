"""A browser and a game in one call: video and audio both ways, and leaving."""

from __future__ import annotations

import re
import uuid
from typing import Any

import numpy as np
import pytest

from engine_plugin import (
    LocalCallingService,
    MediaStreamType,
    RawOutgoingVideoStreamOptions,
    ScreenShareOutgoingVideoStream,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamState,
)
from engine_plugin.media.test_patterns import (
    QUADRANT_COLOURS,
    quadrant_colours_ok,
    read_frame_number,
    tone_level_db,
)
from engine_plugin.testing import PatternSender, SyntheticParticipant

from ..conftest import wait_until
from ..sdk.media_helpers import AudioRecorder
from .browser_helpers import (
    BROWSER_QUADRANTS,
    PAGES,
    RGBA_IN,
    BrowserAgent,
    GameVideo,
    colours_match,
    mixed_audio_in,
    quadrant_means,
)

VIDEO = MediaStreamType.VIDEO


def _browser_joins(browser: BrowserAgent, group: str) -> None:
    browser.run(
        """group => {
            window.sent = kit.quadrantStream(640, 360);
            window.call = agent.join({ groupId: group }, {
                videoOptions: { localVideoStreams: [new sdk.LocalVideoStream(sent)] },
                audioOptions: {
                    localAudioStreams: [new sdk.LocalAudioStream(kit.toneStream(500))] },
            });
            window.states = kit.record(call, 'stateChanged', 'state');
        }""",
        group,
    )


@pytest.mark.timeout(90)
def test_game_and_browser_see_each_others_video(
    page: Any, web_service: LocalCallingService
) -> None:
    group = str(uuid.uuid4())
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        call = game.join(group, incoming_video=RGBA_IN)
        received = GameVideo(call)
        browser = BrowserAgent(page, web_service, "Browser")
        _browser_joins(browser, group)

        # The browser: the game is a remote participant whose 'Video' stream decodes.
        roster = browser.run(
            """async () => {
                await kit.until(() => call.state === 'Connected', 'Connected');
                await kit.until(() => call.remoteParticipants.length === 1, 'the game');
                const game = call.remoteParticipants[0];
                const stream = game.videoStreams.find(s => s.mediaStreamType === 'Video');
                window.remote = await kit.watch(await stream.getMediaStream());
                await kit.moreFrames(remote, 30);
                await kit.until(() => game.state === 'Connected', 'peer connected');
                return { name: game.displayName, state: game.state, available: stream.isAvailable,
                         size: stream.size, states: window.states };
            }"""
        )
        assert roster == {
            "name": "Game",
            "state": "Connected",
            "available": True,
            "size": {"width": 640, "height": 360},
            "states": ["Connecting", "Connected"],
        }
        image = browser.grab("remote.video")
        assert image.shape == (360, 640, 4)
        assert quadrant_colours_ok(image), QUADRANT_COLOURS
        assert read_frame_number(image) is not None  # the game's barcode survived VP8

        # The game: the browser is in its roster, and its canvas arrives with its colours.
        wait_until(lambda: received.display_names == ["Browser"], what="the browser in the roster")
        frame = received.fresh_frame(
            VIDEO, lambda f: colours_match(quadrant_means(f), BROWSER_QUADRANTS)
        )
        assert frame.shape == (360, 640, 4)
        wait_until(lambda: received.frames(VIDEO) >= 30, what="30 frames from the browser")
        assert received.states[VIDEO] == [VideoStreamState.AVAILABLE, VideoStreamState.STARTED]
        assert not any(line.startswith("error") for line in browser.console), browser.console


@pytest.mark.timeout(90)
def test_game_and_browser_hear_each_other(page: Any, web_service: LocalCallingService) -> None:
    group = str(uuid.uuid4())
    mixed = mixed_audio_in()
    recorder = AudioRecorder(mixed)
    with SyntheticParticipant(web_service.connection_string, "Game", tone_hz=440.0) as game:
        game.join(group, incoming_audio=mixed)
        browser = BrowserAgent(page, web_service, "Browser")
        _browser_joins(browser, group)

        # The browser hears the game's 440 Hz in the call's mixed remote audio.
        heard = browser.run(
            """async () => {
                await kit.until(() => call.remoteParticipants[0]?.state === 'Connected', 'media');
                const mixed = await call.remoteAudioStreams[0].getMediaStream();
                return kit.listen(mixed, 440, 2000);
            }"""
        )
        assert abs(heard["peakHz"] - 440) < 12, heard
        assert heard["levelDb"] > heard["medianDb"] + 30, heard

        # The game finds the browser's 500 Hz in its mixed audio.
        start = len(recorder)
        wait_until(lambda: len(recorder) >= start + 100, timeout=20, what="2 s of mixed audio")
        pcm = recorder.tail(100)
        assert tone_level_db(pcm, 48000, 1, 500.0) > -30.0
        assert tone_level_db(pcm, 48000, 1, 500.0) > tone_level_db(pcm, 48000, 1, 440.0) + 20


@pytest.mark.timeout(90)
def test_a_closed_page_leaves_the_games_roster(page: Any, web_service: LocalCallingService) -> None:
    group = str(uuid.uuid4())
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        call = game.join(group)
        browser = BrowserAgent(page, web_service, "Browser")
        _browser_joins(browser, group)
        wait_until(lambda: len(call.remote_participants) == 1, what="the browser joins")
        assert call.remote_participants[0].display_name == "Browser"
        page.close()
        wait_until(lambda: not call.remote_participants, timeout=10, what="the browser leaves")


def test_kit_quadrants_match_the_helpers() -> None:
    # The browser's canvas colours (kit.js QUADRANTS) are what the Python side expects, and
    # quadrant_means reads each quadrant's own colour.
    kit = (PAGES / "kit.js").read_text()
    declared = re.search(r"export const QUADRANTS = \[(.*?)\];", kit)
    assert declared is not None
    hexes = re.findall(r"'#([0-9a-f]{6})'", declared.group(1))
    assert [tuple(bytes.fromhex(h)) for h in hexes] == list(BROWSER_QUADRANTS)
    image = np.zeros((360, 640, 4), np.uint8)
    for i, colour in enumerate(BROWSER_QUADRANTS):
        y, x = divmod(i, 2)
        image[y * 180 : (y + 1) * 180, x * 320 : (x + 1) * 320, :3] = colour
    assert colours_match(quadrant_means(image), BROWSER_QUADRANTS, tolerance=0)


@pytest.mark.timeout(90)
def test_the_browser_follows_the_games_streams_as_they_come_and_go(
    page: Any, web_service: LocalCallingService
) -> None:
    group = str(uuid.uuid4())
    browser = BrowserAgent(page, web_service, "Browser")
    browser.run(
        """group => {
            window.call = agent.join({ groupId: group });
            window.events = [];
            call.on('remoteParticipantsUpdated', ({ added, removed }) => {
                added.forEach(p => {
                    events.push(['joined', p.displayName]);
                    p.on('videoStreamsUpdated', ({ added, removed }) => {
                        added.forEach(s => {
                            events.push(['added', s.mediaStreamType, s.isAvailable]);
                            s.on('isAvailableChanged',
                                 () => events.push([s.mediaStreamType, s.isAvailable]));
                        });
                        removed.forEach(s => events.push(['removed', s.mediaStreamType]));
                    });
                });
                removed.forEach(p => events.push(['left', p.displayName]));
            });
        }""",
        group,
    )
    browser.run("kit.until(() => call.state === 'Connected', 'Connected')")
    share = ScreenShareOutgoingVideoStream(
        RawOutgoingVideoStreamOptions(
            formats=[
                VideoStreamFormat(width=640, height=360, pixel_format=VideoStreamPixelFormat.RGBA)
            ]
        )
    )
    with SyntheticParticipant(web_service.connection_string, "Game") as game:
        call = game.join(group)
        browser.run("kit.until(() => events.length >= 2, 'the game and its camera')")
        call.start_video(share).result(10)
        sender = PatternSender(share, 30, seed=22)
        try:
            browser.run(
                """async () => {
                    await kit.until(() => events.length >= 3, 'the screen share');
                    const game = call.remoteParticipants[0];
                    const stream = game.videoStreams.find(
                        s => s.mediaStreamType === 'ScreenSharing');
                    window.shared = await kit.watch(await stream.getMediaStream());
                    await kit.moreFrames(shared, 15);
                }"""
            )
            assert quadrant_colours_ok(browser.grab("shared.video"))
            assert read_frame_number(browser.grab("shared.video")) is not None
        finally:
            sender.stop()
        call.stop_video(share).result(10)
        browser.run("kit.until(() => events.length >= 4, 'the share stops')")
        game.leave()
        browser.run("kit.until(() => events.length >= 8, 'the game leaves')")
    assert browser.run("events") == [
        ["joined", "Game"],
        ["added", "Video", True],
        ["added", "ScreenSharing", True],
        ["ScreenSharing", False],
        ["Video", False],
        ["removed", "Video"],
        ["removed", "ScreenSharing"],
        ["left", "Game"],
    ]
