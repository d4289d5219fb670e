"""The demo page (engine_plugin/web/demo) in Chromium, in a call with a Python participant.

The page is driven as a person would: get a development token, choose what
to send, join; then what each side receives is checked on the other side:
pixels read back from the page's <video> elements, frames and PCM on the
Python side (the game).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from engine_plugin import (
    Call,
    LocalCallingService,
    MediaStreamType,
    RawIncomingVideoStream,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameReceivedEventArgs,
    ScreenShareOutgoingVideoStream,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamState,
)
from engine_plugin.testing import IncomingStreams, PatternSender, SyntheticParticipant, find_pattern

from ..conftest import wait_until
from ..sdk.media_helpers import AudioRecorder
from .browser_helpers import grab_element, hears, mixed_audio_in, serve_test_pages

GAME = "Game"
BROWSER = "Browser tester"
VIDEO, SCREEN = MediaStreamType.VIDEO, MediaStreamType.SCREEN_SHARING
GONE = (VideoStreamState.STOPPED, VideoStreamState.NOT_AVAILABLE)

# Resolves once a <video> shows decoded frames.
PLAYING = """(video) => new Promise((resolve) => {
  const check = () =>
    video.videoWidth > 0 && video.readyState >= 2 ? resolve() : setTimeout(check, 50);
  check();
})"""

# The loudest frequency of the call's remote audio (the SDK's mix), over half a second.
REMOTE_AUDIO_PEAK = """async () => {
  const kit = await import('/test/js/kit.js');
  const stream = await window.demo.call.remoteAudioStreams[0].getMediaStream();
  return kit.listen(stream, 440, 500);
}"""


@dataclass(frozen=True)
class Seen:
    """One received frame in short: its size, mean luma and mean chroma (Cb, Cr) minus 128."""

    number: int
    size: tuple[int, int]
    luma: float
    cb: float
    cr: float

    def blue(self) -> bool:  # the page's generated video: squares on blue
        return self.luma > 20 and self.cb > 40

    def grey(self) -> bool:  # black and white, not black
        return self.luma > 20 and abs(self.cb) < 4 and abs(self.cr) < 4


class GameSees:
    """The game's view of the browser: every remote video stream, started, summarised per type."""

    def __init__(self, call: Call) -> None:
        self.lock = threading.Lock()
        self.streams: dict[MediaStreamType, RawIncomingVideoStream] = {}
        self.latest: dict[MediaStreamType, Seen] = {}
        self.counts: dict[MediaStreamType, int] = {}
        IncomingStreams(call, on_available=self._start)

    def _start(self, stream: RawIncomingVideoStream) -> None:
        with self.lock:
            self.streams[stream.media_stream_type] = stream
        stream.raw_video_frame_received += self._on_frame
        stream.start()

    def _on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        fmt = args.frame.stream_format
        assert fmt is not None  # I420, the default
        w, h = fmt.width, fmt.height
        y = np.asarray(args.frame.buffers[0]).reshape(h, -1)[:, :w]
        cb, cr = (
            np.asarray(plane).reshape((h + 1) // 2, -1)[:, : (w + 1) // 2]
            for plane in args.frame.buffers[1:3]
        )
        kind = args.stream.media_stream_type
        with self.lock:
            number = self.counts.get(kind, 0) + 1
            self.counts[kind] = number
            self.latest[kind] = Seen(
                number, (w, h), float(y.mean()), float(cb.mean()) - 128, float(cr.mean()) - 128
            )

    def stream(self, kind: MediaStreamType) -> RawIncomingVideoStream | None:
        with self.lock:
            return self.streams.get(kind)

    def wait_for(
        self, kind: MediaStreamType, accept: Callable[[Seen], bool], timeout: float = 10.0
    ) -> Seen:
        """A frame of ``kind`` arriving from now on that ``accept`` likes (after 5 new frames)."""
        with self.lock:
            start = self.counts.get(kind, 0)

        def good() -> Seen | None:
            with self.lock:
                seen = self.latest.get(kind)
            return seen if seen and seen.number > start + 5 and accept(seen) else None

        try:
            return wait_until(good, timeout, f"a {kind.name} frame like that")
        except AssertionError as error:
            with self.lock:
                raise AssertionError(f"{error}; last: {self.latest.get(kind)}") from None


def shows_pattern(video: Any, seed: int = 0) -> None:
    """Assert that the <video> decodes pattern frames with the corner colours where they belong."""
    video.evaluate(PLAYING)
    match = wait_until(
        lambda: find_pattern(grab_element(video), seed=seed, channel_order="rgba"),
        10,
        "a pattern frame",
    )
    assert match.colours_and_orientation_ok, match
    assert match.psnr_db > 25, match


def roster(participant: SyntheticParticipant) -> list[str]:
    assert participant.call is not None
    return [p.display_name for p in participant.call.remote_participants]


def join_from_page(page: Any, service: LocalCallingService, group: str) -> None:
    """Open the page for ``group``, get a development token, send the canvas and beeps, join."""
    page.set_default_timeout(15_000)
    page.goto(f"{service.page_url}?group={group}")
    assert page.input_value("#group-id") == group
    page.fill("#display-name", BROWSER)
    page.click("#get-token")  # waits until GET /dev/config has enabled it
    page.wait_for_function("document.getElementById('token').value.split('.').length === 3")
    page.select_option("#video-source", "canvas")
    page.select_option("#audio-source", "beep")
    page.click("#join")
    page.wait_for_function("document.getElementById('call-state').textContent === 'Connected'")
    assert page.evaluate("window.demo.call.state") == "Connected"
    assert page.evaluate("window.demo.agent.displayName") == BROWSER


def no_error_shown(page: Any) -> None:
    status = page.locator("#status")
    assert not status.evaluate("(e) => e.classList.contains('error')"), status.text_content()


@pytest.mark.timeout(90)
def test_the_page_joins_a_call_with_a_game(page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    group = str(uuid.uuid4())
    with (
        LocalCallingService(dev_tokens=True, configure_app=serve_test_pages) as service,
        SyntheticParticipant(service.connection_string, GAME) as game,
    ):
        call = game.join(group)
        sees = GameSees(call)
        mixed = mixed_audio_in()
        recorder = AudioRecorder(mixed)
        call.start_audio(mixed).result(10)
        join_from_page(page, service, group)

        # The game's tile, named, and its video decoded with the corners where they belong.
        tile = page.locator(f'#remote-tiles .tile[data-display-name="{GAME}"]')
        assert tile.get_attribute("data-participant-id")
        assert tile.locator(".tile-name").text_content() == GAME
        shows_pattern(tile.locator('video[data-stream-type="Video"]'))

        # The game receives the browser's video (the generated picture: mostly blue) ...
        sees.wait_for(VIDEO, Seen.blue)
        assert sees.counts[VIDEO] >= 5
        # ... and its beeps, and has it in the roster under its name.
        assert BROWSER in roster(game)
        wait_until(lambda: hears(recorder, 500), 15, "the browser's 500 Hz beeps at the game")
        # The page plays (and mixes) the game's 440 Hz tone.
        peak = page.evaluate(REMOTE_AUDIO_PEAK)
        assert abs(peak["peakHz"] - 440) < 15, peak

        # Stop video: the game's stream of the browser goes away.
        page.click("#stop-video")
        stream = sees.stream(VIDEO)
        assert stream is not None
        wait_until(lambda: stream.state in GONE, 10, "the browser's video stopping at the game")
        assert page.evaluate("document.getElementById('local-video').srcObject") is None

        # Leave: the game's roster loses the browser.
        page.click("#leave")
        wait_until(lambda: BROWSER not in roster(game), 10, "the browser leaving the roster")
        page.wait_for_function(
            "document.getElementById('call-state').textContent.startsWith('Disconnected')"
        )
        assert page.locator("#remote-tiles .tile").count() == 0
        no_error_shown(page)
    assert not errors, errors


@pytest.mark.timeout(90)
def test_sources_switch_mid_call_and_screen_shares_come_and_go(page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    group = str(uuid.uuid4())
    with (
        LocalCallingService(dev_tokens=True, configure_app=serve_test_pages) as service,
        SyntheticParticipant(service.connection_string, GAME) as game,
    ):
        call = game.join(group)
        sees = GameSees(call)
        join_from_page(page, service, group)
        sees.wait_for(VIDEO, Seen.blue)

        # Canvas -> camera (Chromium's fake camera: not blue) -> canvas, all mid-call.
        page.select_option("#video-source", "camera")
        sees.wait_for(VIDEO, lambda seen: not seen.blue())
        page.select_option("#video-source", "canvas")
        sees.wait_for(VIDEO, Seen.blue)
        # Beeps -> microphone (Chromium's fake one).
        page.select_option("#audio-source", "microphone")
        page.locator("#audio-state").filter(has_text="microphone").wait_for()

        # A black and white screen share reaches the game grey; stopping it ends the stream.
        page.check("#screen-bw")
        page.click("#start-screen-share")
        sees.wait_for(SCREEN, Seen.grey)
        assert page.evaluate("window.demo.call.isScreenSharingOn") is True
        page.click("#stop-screen-share")
        share = sees.stream(SCREEN)
        assert share is not None
        wait_until(lambda: share.state in GONE, 10, "the screen share stopping at the game")
        assert page.evaluate("document.getElementById('local-screen').srcObject") is None
        sees.wait_for(VIDEO, Seen.blue)  # the camera-like stream went on all along

        # The game shares a screen too: a second <video> in its tile, gone when it stops.
        fmt = VideoStreamFormat(
            width=640, height=360, pixel_format=VideoStreamPixelFormat.RGBA, frames_per_second=15
        )
        game_share = ScreenShareOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
        call.start_video(game_share).result(10)
        sender = PatternSender(game_share, 15, seed=3)
        try:
            tile = page.locator(f'#remote-tiles .tile[data-display-name="{GAME}"]')
            shows_pattern(tile.locator('video[data-stream-type="ScreenSharing"]'), seed=3)
            call.stop_video(game_share).result(10)
            tile.locator('video[data-stream-type="ScreenSharing"]').wait_for(state="detached")
        finally:
            sender.stop()
        assert tile.locator('video[data-stream-type="Video"]').count() == 1
        no_error_shown(page)
    assert not errors, errors


@pytest.mark.timeout(90)
def test_without_dev_tokens_the_button_is_disabled_and_says_why(page: Any) -> None:
    page.set_default_timeout(15_000)
    with LocalCallingService() as service:
        page.goto(service.page_url)
        page.locator("#dev-token-note").filter(has_text="--dev-tokens").wait_for()
        assert page.is_disabled("#get-token")
        # Without ?group= the page makes up a new group id.
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            page.input_value("#group-id"),
        )
        # Joining without a token says what is missing, in the status line.
        page.click("#join")
        status = page.locator("#status.error")
        status.wait_for()
        assert "paste an access token" in (status.text_content() or "")
