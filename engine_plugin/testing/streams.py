"""Collecting a call's remote video streams as they become available (for tests)."""

from __future__ import annotations

import queue
from collections.abc import Callable

from ..sdk.call import Call
from ..sdk.enums import VideoStreamState
from ..sdk.event_args import ParticipantsUpdatedEventArgs, VideoStreamStateChangedEventArgs
from ..sdk.incoming_video import RawIncomingVideoStream


class IncomingStreams:
    """Every remote video stream of ``call`` once it is AVAILABLE, in a thread-safe queue.

    It covers both the streams a participant already has when they are added
    and those they start later. ``next(timeout)`` takes the next one; with
    ``on_available``, each stream is handed to it instead (on the SDK's thread).
    """

    def __init__(
        self,
        call: Call,
        on_available: Callable[[RawIncomingVideoStream], object] | None = None,
    ) -> None:
        self._queue: queue.Queue[RawIncomingVideoStream] = queue.Queue()
        self._on_available = on_available
        self._seen: set[int] = set()
        call.remote_participants_updated += self._on_participants
        for participant in call.remote_participants:
            self._watch(participant)

    def _watch(self, participant: object) -> None:
        participant.video_stream_state_changed += self._on_stream  # type: ignore[attr-defined]
        for stream in participant.incoming_video_streams:  # type: ignore[attr-defined]
            self._offer(stream)

    def _on_participants(self, args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            self._watch(participant)

    def _on_stream(self, args: VideoStreamStateChangedEventArgs) -> None:
        self._offer(args.stream)

    def _offer(self, stream: RawIncomingVideoStream) -> None:
        if stream.state is VideoStreamState.AVAILABLE and stream.id not in self._seen:
            self._seen.add(stream.id)
            if self._on_available is not None:
                self._on_available(stream)
            else:
                self._queue.put(stream)

    def next(self, timeout: float = 10.0) -> RawIncomingVideoStream:
        """The next stream that became available; ``TimeoutError`` after ``timeout`` s."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no remote video stream became available in {timeout} s") from None
