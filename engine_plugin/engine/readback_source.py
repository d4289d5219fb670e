"""``ReadbackSource``: what a component that sends Panda3D read-backs to a stream shares.

:class:`~engine_plugin.engine.scene_camera.SceneCamera` and
:class:`~engine_plugin.engine.window_share.WindowShare` both have Panda3D read
a render back into a texture's RAM image and send it through a raw outgoing
video stream. This base class holds what they have in common:

- the stream subscription: ``format_changed`` (SDK thread) only records the
  new format under a lock; the next Update applies it (:meth:`_apply_format`,
  the subclass's own);
- the frame schedule at the current format's ``frames_per_second``
  (:meth:`_frame_due`);
- the :class:`~engine_plugin.engine.frame_sender.FrameSender` worker and its
  :class:`~engine_plugin.engine.frame_sender.ReadbackHandOff`, made at
  ``start()`` (:meth:`_start_sending`) and stopped at destroy;
- the counters ``frames_sent``, ``frames_dropped`` (kept after destroy),
  ``main_thread_ms`` and ``main_thread_p95_ms``.

A subclass sets the read-back up and does one Update's work in
:meth:`_update_readback`; the Update's cost is recorded when that did work.
"""

from __future__ import annotations

import logging
import threading
import time

from panda3d.core import Texture

from ..media.video_format import VideoStreamFormat
from ..sdk.event_args import VideoStreamFormatChangedEventArgs, VideoStreamStateChangedEventArgs
from ..sdk.outgoing_video import RawOutgoingVideoStream
from .components import Component
from .frame_sender import COST_SAMPLES, CostSamples, FrameSender, ReadbackHandOff

__all__ = ["ReadbackSource"]

logger = logging.getLogger(__name__)


class ReadbackSource(Component):
    """Base of the components that send a texture's read-backs as ``stream``'s video.

    Args:
        stream: the raw outgoing stream frames go to; they follow its
            current ``format``.
        label: names the component in log messages (``"scene camera"``); its
            worker thread is ``engine_plugin-<label with dashes>-<id>``.
    """

    _logger: logging.Logger = logger
    """Where the component's log messages go (a subclass sets its module's)."""

    def __init__(self, stream: RawOutgoingVideoStream, label: str) -> None:
        self._stream = stream
        self._label = label
        self._interval = 1 / 30
        self._next_due = 0.0
        self._format_lock = threading.Lock()
        self._new_format: VideoStreamFormat | None = None
        self._worker: FrameSender | None = None
        self._handoff: ReadbackHandOff | None = None
        self._sent_before = 0
        self._dropped_before = 0
        self._subscribed = False
        self._costs = CostSamples(COST_SAMPLES)

    # -- public -------------------------------------------------------------------

    @property
    def frames_sent(self) -> int:
        """Frames the worker handed to ``send_raw_video_frame``."""
        return self._worker.sent if self._worker is not None else self._sent_before

    @property
    def frames_dropped(self) -> int:
        """Frames read back but not sent: replaced while pending, or refused by the stream."""
        return self._worker.dropped if self._worker is not None else self._dropped_before

    @property
    def main_thread_ms(self) -> float:
        """Median main-thread cost of the Updates that did work (last 120), in ms.

        Those are the Updates that handed a read-back over or set one up
        (both, when the game runs at the stream's frame rate). The render and
        the read-back themselves happen in Panda3D's render, not here.
        """
        return self._costs.median

    @property
    def main_thread_p95_ms(self) -> float:
        """The 95th percentile of the same samples, in ms."""
        return self._costs.p95

    @property
    def worker_thread(self) -> threading.Thread | None:
        """The sending thread (``None`` before ``start()`` and after destroy)."""
        return self._worker.thread if self._worker is not None else None

    # -- Component ----------------------------------------------------------------

    def update(self, dt: float) -> None:
        began = time.perf_counter()
        with self._format_lock:
            new_format, self._new_format = self._new_format, None
        if new_format is not None:
            self._apply_format(new_format)
        handoff = self._handoff
        if handoff is None or self._worker is None:
            return
        if self._update_readback(dt, handoff):
            self._costs.add((time.perf_counter() - began) * 1000)

    def on_destroy(self) -> None:
        """Unsubscribe and stop the worker (its counts are kept); subclasses release the rest."""
        if self._subscribed:
            self._stream.format_changed -= self._on_format_changed
            self._stream.state_changed -= self._on_state_changed
            self._subscribed = False
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            self._sent_before, self._dropped_before = worker.sent, worker.dropped
        if self._handoff is not None:
            self._handoff.cancel()

    # -- for subclasses -------------------------------------------------------------

    def _start_sending(
        self, texture: Texture, *, scale_to_format: bool = False, keep_aspect: bool = True
    ) -> None:
        """Start the worker and the hand-off of ``texture``, subscribe, apply the format."""
        self._worker = FrameSender(
            self._stream,
            f"engine_plugin-{self._label.replace(' ', '-')}-{id(self):x}",
            label=self._label,
            scale_to_format=scale_to_format,
            keep_aspect=keep_aspect,
        )
        self._handoff = ReadbackHandOff(texture, self._worker, self._label)
        self._stream.format_changed += self._on_format_changed
        self._stream.state_changed += self._on_state_changed
        self._subscribed = True
        self._apply_format(self._stream.format)

    def _frame_due(self, dt: float, handoff: ReadbackHandOff) -> bool:
        """Whether a frame is due now; if so, schedule the next and expect a read-back.

        Call only while the stream is STARTED.
        """
        now = time.monotonic()
        tolerance = min(dt, self._interval) / 2
        if now + tolerance < self._next_due:
            return False
        self._next_due = max(self._next_due + self._interval, now)
        handoff.expect(self._stream.timestamp_in_ticks)
        return True

    def _apply_format(self, fmt: VideoStreamFormat) -> None:
        """Follow ``fmt`` (main thread): at ``start()`` and after a format change."""
        self._interval = 1 / (fmt.frames_per_second or 30)

    def _update_readback(self, dt: float, handoff: ReadbackHandOff) -> bool:
        """One Update's work (main thread): whether it did any (its cost is then recorded)."""
        raise NotImplementedError

    # -- SDK thread ---------------------------------------------------------------

    def _on_format_changed(self, args: VideoStreamFormatChangedEventArgs) -> None:
        # SDK loop thread: record only; the main thread follows at its next Update.
        with self._format_lock:
            self._new_format = args.format

    def _on_state_changed(self, args: VideoStreamStateChangedEventArgs) -> None:
        # SDK loop thread: the main thread reads ``stream.state`` each Update.
        self._logger.debug("%s: stream %s", self._label, args.stream.state.name)
