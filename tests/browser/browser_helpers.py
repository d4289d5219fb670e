"""Helpers for the browser tests: a signed-in page, and what the game side receives.

- :func:`serve_test_pages` (a ``configure_app`` hook) serves the blank harness
  page and ``tests/browser/pages`` (``kit.js``: known media and measurements;
  ``seed.js``: the seed quickstart's snippets) at ``/test/js``.
- :class:`BrowserAgent` opens the harness in a page, imports the browser SDK
  from ``/sdk/calling.js`` and signs in a new user: ``window.sdk``,
  ``window.kit``, ``window.seed`` and ``window.agent`` are then set.
- :class:`GameVideo` records, on the Python side, every remote video stream
  of a call in RGBA: the state sequence per stream type and recent frames.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from engine_plugin import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamSampleRate,
    Call,
    CommunicationIdentityClient,
    IncomingVideoOptions,
    LocalCallingService,
    MediaStreamType,
    ParticipantsUpdatedEventArgs,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawIncomingAudioStreamProperties,
    RawIncomingVideoStream,
    RawVideoFrameReceivedEventArgs,
    VideoStreamPixelFormat,
    VideoStreamState,
    VideoStreamStateChangedEventArgs,
)
from engine_plugin.service import add_static
from engine_plugin.testing import find_tone
from engine_plugin.testing.browser import HARNESS_PATH, add_harness

from ..sdk.media_helpers import AudioRecorder

PAGES = Path(__file__).parent / "pages"
RGBA_IN = IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)

# The browser's quadrants (kit.QUADRANTS): yellow, magenta, cyan, black.
BROWSER_QUADRANTS = ((255, 255, 0), (255, 0, 255), (0, 255, 255), (0, 0, 0))


def mixed_audio_in() -> RawIncomingAudioStream:
    """A mixed incoming audio stream: 48 kHz mono in 20 ms buffers."""
    properties = RawIncomingAudioStreamProperties(
        sample_rate=AudioStreamSampleRate.HZ_48000,
        channel_mode=AudioStreamChannelMode.MONO,
        buffer_duration=AudioStreamBufferDuration.IN_MS20,
    )
    return RawIncomingAudioStream(RawIncomingAudioStreamOptions(properties=properties))


def serve_test_pages(app: web.Application) -> None:
    """Serve the harness page and ``tests/browser/pages`` at ``/test/js``."""
    add_harness(app)
    add_static(app, "/test/js", PAGES)


class BrowserAgent:
    """A Chromium page signed in to ``service`` as a new user (``window.agent``)."""

    def __init__(self, page: Any, service: LocalCallingService, display_name: str = "Browser"):
        identity = CommunicationIdentityClient.from_connection_string(service.connection_string)
        user, token = identity.create_user_and_token(["voip"])
        self.page = page
        self.user_id = user.raw_id
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.goto(service.page_url.rstrip("/") + HARNESS_PATH)
        page.evaluate(
            """async ([token, name]) => {
                window.sdk = await import('/sdk/calling.js');
                window.kit = await import('/test/js/kit.js');
                window.seed = await import('/test/js/seed.js');
                const credential = new sdk.AzureCommunicationTokenCredential(token);
                window.agent = await new sdk.CallClient().createCallAgent(
                    credential, { displayName: name });
            }""",
            [token.token, display_name],
        )

    def run(self, script: str, arg: Any = None) -> Any:
        """``page.evaluate(script, arg)``."""
        return self.page.evaluate(script, arg)

    def grab(self, video_expression: str) -> np.ndarray:
        """The current frame of the <video> that ``video_expression`` names, H x W x 4 RGBA."""
        return _rgba(self.page.evaluate(f"kit.grab({video_expression})"))


def grab_element(video: Any) -> np.ndarray:
    """The current frame of a <video> (a Playwright locator or handle), H x W x 4 RGBA.

    The page must come from a service that serves the test pages
    (:func:`serve_test_pages`).
    """
    return _rgba(video.evaluate("async (v) => (await import('/test/js/kit.js')).grab(v)"))


def _rgba(frame: dict[str, Any]) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(frame["rgba"]), dtype=np.uint8)
    return data.reshape(frame["height"], frame["width"], 4)


def hears(recorder: AudioRecorder, frequency_hz: float, seconds: float = 2.0) -> bool:
    """True when the last ``seconds`` of ``recorder`` (48 kHz mono, 20 ms buffers) hold the tone."""
    count = int(seconds / 0.02)
    return len(recorder) >= count and find_tone(recorder.tail(count), 48000, 1, frequency_hz)


def quadrant_means(image: np.ndarray) -> list[tuple[float, float, float]]:
    """Mean RGB of the centre of each quadrant (TL, TR, BL, BR) of an RGB(A) image."""
    height, width = image.shape[:2]
    means = []
    for row in (0, 1):
        for col in (0, 1):
            y0, x0 = row * height // 2 + height // 8, col * width // 2 + width // 8
            patch = image[y0 : y0 + height // 4, x0 : x0 + width // 4, :3]
            mean = patch.reshape(-1, 3).mean(axis=0)
            means.append((float(mean[0]), float(mean[1]), float(mean[2])))
    return means


def colours_match(
    found: list[tuple[float, float, float]],
    expected: tuple[tuple[int, int, int], ...],
    tolerance: float = 60.0,
) -> bool:
    """True when every found colour is within ``tolerance`` of the expected one, per channel."""
    return all(
        all(abs(f - e) <= tolerance for f, e in zip(got, want, strict=True))
        for got, want in zip(found, expected, strict=True)
    )


class GameVideo:
    """Every remote video stream of a Python ``call``, started in RGBA and recorded.

    ``states[MediaStreamType]`` is the whole state sequence of the streams of
    that type; ``frames(kind)`` counts frames; ``latest(kind)`` is a recent
    frame (H x W x 4, copied at most every 0.2 s to spare the CPU).
    """

    def __init__(self, call: Call) -> None:
        self._lock = threading.Lock()
        self.states: dict[MediaStreamType, list[VideoStreamState]] = {}
        self.display_names: list[str] = []
        self._counts: dict[MediaStreamType, int] = {}
        self._latest: dict[MediaStreamType, np.ndarray] = {}
        self._copied_at: dict[MediaStreamType, float] = {}
        call.remote_participants_updated += self._on_participants
        for participant in call.remote_participants:
            self._watch(participant)

    def _on_participants(self, args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            self._watch(participant)

    def _watch(self, participant: Any) -> None:
        with self._lock:
            self.display_names.append(participant.display_name)
        participant.video_stream_state_changed += self._on_state
        for stream in participant.incoming_video_streams:
            self._follow(stream)

    def _on_state(self, args: VideoStreamStateChangedEventArgs) -> None:
        self._follow(args.stream)

    def _follow(self, stream: RawIncomingVideoStream) -> None:
        kind = stream.media_stream_type
        with self._lock:
            self.states.setdefault(kind, []).append(stream.state)
        if stream.state is VideoStreamState.AVAILABLE:
            stream.raw_video_frame_received -= self._on_frame
            stream.raw_video_frame_received += self._on_frame
            stream.start()

    def _on_frame(self, args: RawVideoFrameReceivedEventArgs) -> None:
        frame = args.frame
        fmt = frame.stream_format
        assert fmt is not None
        kind = args.stream.media_stream_type
        now = time.monotonic()
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            if now - self._copied_at.get(kind, 0.0) < 0.2:
                return
            self._copied_at[kind] = now
        w, h = fmt.width, fmt.height
        plane = np.asarray(frame.buffers[0]).reshape(h, -1)[:, : w * 4].reshape(h, w, 4).copy()
        with self._lock:
            self._latest[kind] = plane

    def frames(self, kind: MediaStreamType = MediaStreamType.VIDEO) -> int:
        """Frames received so far on streams of ``kind``."""
        with self._lock:
            return self._counts.get(kind, 0)

    def latest(self, kind: MediaStreamType = MediaStreamType.VIDEO) -> np.ndarray | None:
        """A recent frame of ``kind`` (RGBA), or ``None``."""
        with self._lock:
            return self._latest.get(kind)

    def fresh_frame(
        self, kind: MediaStreamType, accept: Callable[[np.ndarray], bool], timeout: float = 15.0
    ) -> np.ndarray:
        """Wait for a recent frame of ``kind`` that ``accept`` likes; returns it.

        ``AssertionError`` (naming the last frame's size and corner colours) after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        last: np.ndarray | None = None
        while time.monotonic() < deadline:
            last = self.latest(kind)
            if last is not None and accept(last):
                return last
            time.sleep(0.05)
        seen = "no frame"
        if last is not None:
            seen = f"{last.shape[1]}x{last.shape[0]} {quadrant_means(last)}"
        raise AssertionError(f"no acceptable {kind.name} frame in {timeout} s; last: {seen}")
