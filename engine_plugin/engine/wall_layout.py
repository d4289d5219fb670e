"""``WallLayout``: one video wall per remote participant (plus one per screen share) of a call.

    layout = plugin.add(WallLayout(call, parent=render, center=(0, 12, 2)))

The layout follows ``remote_participants_updated`` and each participant's
``video_stream_state_changed``. Those fire on the SDK's thread, so the
handlers only queue what happened; ``update`` (main thread) adds and removes
:class:`VideoWall` components and arranges them in a row.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass, field

from panda3d.core import NodePath

from ..sdk.call import Call
from ..sdk.enums import MediaStreamType, VideoStreamState
from ..sdk.event_args import ParticipantsUpdatedEventArgs, VideoStreamStateChangedEventArgs
from ..sdk.incoming_video import RawIncomingVideoStream
from ..sdk.participant import RemoteParticipant
from .components import Component
from .video_wall import VideoWall

logger = logging.getLogger(__name__)

WALL_ASPECT = 16 / 9
"""The width a wall is given room for, relative to its height, when arranging."""


@dataclass
class _ParticipantWalls:
    participant: RemoteParticipant
    camera: VideoWall
    screens: dict[int, VideoWall] = field(default_factory=dict)


class WallLayout(Component):
    """Walls for everyone else in ``call``, in a row centred on ``center``.

    Args:
        call: the call whose remote participants get walls.
        parent: the node the row hangs under (default: the plugin's render).
        center: the row's centre, relative to ``parent``.
        wall_height: each wall's height in scene units.
        spacing: the gap between walls, in scene units.
        labels: show each participant's display name under their wall.
    """

    def __init__(
        self,
        call: Call,
        *,
        parent: NodePath | None = None,
        center: tuple[float, float, float] = (0.0, 10.0, 1.5),
        wall_height: float = 1.5,
        spacing: float = 0.25,
        labels: bool = True,
    ) -> None:
        self.call = call
        self._parent = parent
        self.center = center
        self.wall_height = wall_height
        self.spacing = spacing
        self.labels = labels
        self.root: NodePath | None = None
        self._events: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._people: dict[str, _ParticipantWalls] = {}
        self._watched: list[RemoteParticipant] = []

    # -- public -------------------------------------------------------------------

    @property
    def walls(self) -> list[VideoWall]:
        """Every wall, in row order (each participant's camera wall, then their screens)."""
        result: list[VideoWall] = []
        for entry in self._people.values():
            result.append(entry.camera)
            result.extend(entry.screens.values())
        return result

    def node_of(self, participant_id: str) -> NodePath | None:
        """The node of a participant's (camera) wall, e.g. to place their voice there."""
        entry = self._people.get(participant_id)
        return None if entry is None else entry.camera.root

    def walls_of(self, participant: RemoteParticipant) -> list[VideoWall]:
        """The walls of one participant (camera first)."""
        entry = self._people.get(participant.participant_id)
        return [] if entry is None else [entry.camera, *entry.screens.values()]

    # -- SDK thread: queue only ------------------------------------------------------

    def _on_participants(self, args: ParticipantsUpdatedEventArgs) -> None:
        for participant in args.added_participants:
            self._events.put(("added", participant))
        for participant in args.removed_participants:
            self._events.put(("removed", participant))

    def _on_stream(self, args: VideoStreamStateChangedEventArgs) -> None:
        self._events.put(("stream", args.stream))

    # -- Component ----------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        parent = self._parent if self._parent is not None else self.plugin.render
        self.root = parent.attachNewNode("wall-layout")
        self.root.setPos(*self.center)
        self.call.remote_participants_updated += self._on_participants
        for participant in self.call.remote_participants:
            self._events.put(("added", participant))

    def update(self, dt: float) -> None:
        changed = False
        while True:
            try:
                kind, subject = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "added":
                changed |= self._add(subject)  # type: ignore[arg-type]
            elif kind == "removed":
                changed |= self._remove(subject)  # type: ignore[arg-type]
            else:
                changed |= self._stream_changed(subject)  # type: ignore[arg-type]
        if changed:
            self._arrange()

    def on_destroy(self) -> None:
        self.call.remote_participants_updated -= self._on_participants
        for participant in self._watched:
            participant.video_stream_state_changed -= self._on_stream
        self._watched.clear()
        for entry in list(self._people.values()):
            self._drop(entry)
        self._people.clear()
        if self.root is not None:
            self.root.removeNode()
            self.root = None

    # -- main thread ----------------------------------------------------------------

    def _new_wall(self, stream: RawIncomingVideoStream | None, label: str) -> VideoWall:
        assert self.plugin is not None
        return self.plugin.add(
            VideoWall(
                stream,
                parent=self.root,
                height=self.wall_height,
                label=label if self.labels else None,
            )
        )

    def _add(self, participant: RemoteParticipant) -> bool:
        if participant.participant_id in self._people:
            return False
        participant.video_stream_state_changed += self._on_stream
        self._watched.append(participant)
        entry = _ParticipantWalls(participant, self._new_wall(None, participant.display_name))
        self._people[participant.participant_id] = entry
        for stream in participant.incoming_video_streams:
            self._stream_changed(stream)
        return True

    def _remove(self, participant: RemoteParticipant) -> bool:
        entry = self._people.pop(participant.participant_id, None)
        if participant in self._watched:
            participant.video_stream_state_changed -= self._on_stream
            self._watched.remove(participant)
        if entry is None:
            return False
        self._drop(entry)
        return True

    def _drop(self, entry: _ParticipantWalls) -> None:
        assert self.plugin is not None
        for wall in [entry.camera, *entry.screens.values()]:
            self.plugin.remove(wall)
        entry.screens.clear()

    def _stream_changed(self, stream: RawIncomingVideoStream) -> bool:
        participant = stream.participant
        assert isinstance(participant, RemoteParticipant)
        entry = self._people.get(participant.participant_id)
        if entry is None:
            return False
        available = stream.state not in (VideoStreamState.NOT_AVAILABLE,)
        if stream.media_stream_type is MediaStreamType.SCREEN_SHARING:
            if available and stream.id not in entry.screens:
                label = f"{participant.display_name} (screen)"
                entry.screens[stream.id] = self._new_wall(stream, label)
                return True
            if not available and stream.id in entry.screens:
                assert self.plugin is not None
                self.plugin.remove(entry.screens.pop(stream.id))
                return True
            return False
        if available and entry.camera.stream is not stream:
            entry.camera.set_stream(stream)
        elif not available and entry.camera.stream is stream:
            entry.camera.set_stream(None)
        return False

    def _arrange(self) -> None:
        walls = self.walls
        slot = self.wall_height * WALL_ASPECT + self.spacing
        first = -slot * (len(walls) - 1) / 2
        for index, wall in enumerate(walls):
            wall.set_pos((first + index * slot, 0.0, 0.0))
