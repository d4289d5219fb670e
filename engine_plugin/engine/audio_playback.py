"""Incoming call audio played through Panda3D's audio system, without gaps.

    player = plugin.add(MixedAudioPlayer(incoming_audio_stream))
    voices = plugin.add(PositionalVoices(stream, lambda pid: walls.get(pid)))

Both rest on :class:`PcmPlayout`: PCM handed over from any thread (the SDK's
mixer thread) into a bounded queue, and appended on the main thread to a
``panda3d.core.UserDataAudio`` that one Panda3D sound streams from. Panda3D's
audio manager (OpenAL) pulls whatever the ``UserDataAudio`` holds in its own
update (the ``audioLoop`` task, after the plugin's Update task).

Keeping the sound fed is the main thread's job, so each update:

- appends every buffer that arrived since the previous update, in one call;
- measures how much audio is queued ahead of the device (what was appended
  minus the sound's play position, ``AudioSound.getTime()``, which Panda3D
  calibrates against the buffers OpenAL has played, so it follows the sound
  card's clock rather than ours);
- when that level falls below ``low_ms`` (or one and a half average frame
  intervals, whichever is more), appends silence up to ``latency_ms``: a late buffer
  becomes a short silence instead of a stopped source (``underruns`` counts
  these);
- when buffers arrive faster than the device plays them and the level would
  pass ``high_ms``, drops the oldest whole buffers to come back to
  ``latency_ms`` (``buffers_trimmed``), so latency stays bounded; and when
  the lowest level of a whole second stays more than 20 ms above
  ``latency_ms`` (a burst, a sender's clock running faster than the sound
  card's), drops that much too, so latency comes back to the target.

The hand-over queue itself holds at most ``max_queue_ms``; beyond that the
oldest buffer is dropped (``buffers_dropped``), e.g. while the main thread
is paused. The SDK thread's handler does nothing but a copy and an append.

With ``audio-library-name null`` (no sound device) the manager is not valid:
buffers are still taken from the queue each update (and counted) but not
played, so nothing grows.

Positional audio needs mono sounds (OpenAL only places mono sources):
:class:`PositionalVoices` mixes each participant's buffers down to mono on
the SDK's thread.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from panda3d.core import AudioManager, AudioSound, NodePath, UserDataAudio, Vec3

from ..media.audio_format import AudioStreamChannelMode
from ..sdk.event_args import IncomingMixedAudioEventArgs, IncomingUnmixedAudioEventArgs
from ..sdk.incoming_audio import RawIncomingAudioStream
from .components import Component

__all__ = [
    "DEFAULT_HIGH_MS",
    "DEFAULT_LATENCY_MS",
    "DEFAULT_LOW_MS",
    "DEFAULT_MAX_QUEUE_MS",
    "MixedAudioPlayer",
    "PcmPlayout",
    "PlayoutStats",
    "PositionalVoices",
    "VoiceNode",
]

logger = logging.getLogger(__name__)

DEFAULT_LATENCY_MS = 60
"""Audio kept queued ahead of the sound device, in ms (what the playout adds to latency)."""
DEFAULT_LOW_MS = 25
"""Below this much queued audio the playout appends silence (a late buffer), in ms."""
DEFAULT_HIGH_MS = 160
"""Above this much queued audio the playout drops the oldest buffers, in ms."""
DEFAULT_MAX_QUEUE_MS = 200
"""The most audio the SDK thread's hand-over queue holds; older buffers are dropped."""

_COST_SAMPLES = 1000
"""Main-thread costs kept for the statistics (the last this many updates)."""
_MAX_DT_S = 0.1
"""Frame intervals are capped at this before averaging (see ``PcmPlayout.pump``)."""
_EXCESS_WINDOW_S = 1.0
"""The window over which the lowest level is watched for latency that crept up."""
_EXCESS_MIN_S = 0.02
"""A lowest level this far above the target, a whole window long, is trimmed."""

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True)
class PlayoutStats:
    """A snapshot of one :class:`PcmPlayout`'s counters.

    Attributes:
        playing: the sound is playing (False before the first buffer, with a
            null audio manager, or after :meth:`PcmPlayout.close`).
        buffers_received: buffers handed over by the producer thread.
        buffers_dropped: dropped from the hand-over queue (it held ``max_queue_ms``).
        buffers_trimmed: dropped on the main thread to bring latency back down.
        buffers_discarded: taken while nothing could play them (null manager, closed).
        samples_appended: samples per channel appended to the sound, silence included.
        silence_ms: silence appended because the device was about to run dry.
        underruns: how many times that happened.
        level_ms: audio queued ahead of the device after the last update
            (Panda3D refreshes the play position once a frame and smooths it,
            so this reads up to a frame, about 20 ms, high or low).
        queued_ms: audio waiting in the hand-over queue now.
        update_ms_median, update_ms_p95, update_ms_max: main-thread cost of
            :meth:`PcmPlayout.pump` over the last updates (milliseconds).
        updates: how many updates were measured in all.
    """

    playing: bool
    buffers_received: int
    buffers_dropped: int
    buffers_trimmed: int
    buffers_discarded: int
    samples_appended: int
    silence_ms: float
    underruns: int
    level_ms: float
    queued_ms: float
    update_ms_median: float
    update_ms_p95: float
    update_ms_max: float
    updates: int


class _HandOver:
    """A bounded, thread-safe FIFO of PCM chunks: the producer never blocks, the oldest go first."""

    def __init__(self, channels: int, max_samples: int) -> None:
        self._lock = threading.Lock()
        self._chunks: deque[Int16Array] = deque()
        self._channels = channels
        self._max_samples = max_samples
        self._samples = 0
        self.received = 0
        self.dropped = 0

    @property
    def samples(self) -> int:
        """Samples per channel waiting."""
        return self._samples

    def put(self, pcm: Int16Array) -> None:
        """Append a copy-free reference to ``pcm`` (the caller gives it up); any thread."""
        samples = pcm.size // self._channels
        with self._lock:
            self._chunks.append(pcm)
            self._samples += samples
            self.received += 1
            while self._samples > self._max_samples and len(self._chunks) > 1:
                old = self._chunks.popleft()
                self._samples -= old.size // self._channels
                self.dropped += 1

    def take_all(self) -> list[Int16Array]:
        """Everything waiting, oldest first."""
        with self._lock:
            if not self._chunks:
                return []
            chunks = list(self._chunks)
            self._chunks.clear()
            self._samples = 0
        return chunks


class PcmPlayout:
    """Plays interleaved int16 PCM, pushed from any thread, through one Panda3D sound.

    ``push`` (any thread) only queues; ``open``, ``pump`` and ``close`` run on
    the main thread (``pump`` once per rendered frame). See the module
    docstring for how the level is kept between ``low_ms`` and ``high_ms``.

    Args:
        rate, channels: the PCM layout pushed (any rate; 1 or 2 channels).
        latency_ms: the level aimed at, after priming and after an underrun.
        low_ms: append silence below this level.
        high_ms: drop the oldest buffers above this level.
        max_queue_ms: the hand-over queue's bound.
        name: for log messages.
    """

    def __init__(
        self,
        rate: int,
        channels: int,
        *,
        latency_ms: int = DEFAULT_LATENCY_MS,
        low_ms: int = DEFAULT_LOW_MS,
        high_ms: int = DEFAULT_HIGH_MS,
        max_queue_ms: int = DEFAULT_MAX_QUEUE_MS,
        name: str = "pcm",
    ) -> None:
        if rate <= 0 or channels not in (1, 2):
            raise ValueError(f"need a positive rate and 1 or 2 channels; got {rate}, {channels}")
        if not 0 < low_ms < latency_ms < high_ms:
            raise ValueError(
                f"need 0 < low_ms < latency_ms < high_ms; got {low_ms}, {latency_ms}, {high_ms}"
            )
        self.rate = rate
        self.channels = channels
        self.name = name
        self.latency_s = latency_ms / 1000
        self.low_s = low_ms / 1000
        self.high_s = high_ms / 1000
        self._queue = _HandOver(channels, max(1, rate * max_queue_ms // 1000))
        self._audio: Any = None  # UserDataAudio
        self._sound: Any = None  # AudioSound
        self._playing = False
        self._appended = 0
        self._level_s = 0.0
        self._costs: deque[float] = deque(maxlen=_COST_SAMPLES)
        self._dt_avg = 0.0
        self._excess_s = 0.0
        self._window_start = 0.0
        self._window_min = math.inf
        self._updates = 0
        self.buffers_trimmed = 0
        self.buffers_discarded = 0
        self.silence_samples = 0
        self.underruns = 0

    # -- any thread -----------------------------------------------------------------

    def push(self, pcm: Int16Array) -> None:
        """Queue interleaved int16 samples for playing (any thread; never blocks).

        The array is kept, not copied: hand over one you will not change.
        """
        if pcm.size:
            self._queue.put(pcm)

    # -- main thread ----------------------------------------------------------------

    @property
    def sound(self) -> AudioSound | None:
        """The Panda3D sound playing the PCM (None until opened or with a null manager)."""
        return self._sound

    @property
    def is_open(self) -> bool:
        """True while a sound exists to play into."""
        return self._sound is not None

    def open(self, manager: AudioManager | None, *, positional: bool = False) -> bool:
        """Make the sound on ``manager``. False (and a log line) if it cannot play.

        Playing starts at the first :meth:`pump` that has audio.
        """
        self.close()
        if manager is None or not manager.isValid():
            logger.info(
                "%s: the audio manager %r cannot play (audio-library-name null?): "
                "incoming audio is not played",
                self.name,
                manager,
            )
            return False
        audio = UserDataAudio(self.rate, self.channels)
        sound = manager.getSound(audio, positional)
        if sound is None or not sound.length():
            logger.warning("%s: %r gave no sound for a UserDataAudio", self.name, manager)
            return False
        self._audio = audio
        self._sound = sound
        self._playing = False
        self._appended = 0
        self._level_s = 0.0
        self._excess_s = 0.0
        self._window_min = math.inf
        return True

    def pump(self, dt: float = 0.0) -> None:
        """Move what arrived into the sound and keep the level (main thread, once a frame).

        ``dt`` is the last frame interval: the level is kept above 1.5 times
        their running average (each capped at 0.1 s), since the device must
        not run dry before the next update.
        """
        began = time.perf_counter()
        chunks = self._queue.take_all()
        sound = self._sound
        if sound is None:
            self.buffers_discarded += len(chunks)
        elif chunks or self._playing:
            self._feed(sound, chunks, dt)
        self._costs.append((time.perf_counter() - began) * 1000)
        self._updates += 1

    def _feed(self, sound: Any, chunks: list[Int16Array], dt: float) -> None:
        rate, ch = self.rate, self.channels
        incoming = sum(c.size for c in chunks) // ch
        level = self._appended / rate - float(sound.getTime()) if self._playing else 0.0
        if level + incoming / rate > self.high_s:
            # Too much queued: drop the oldest buffers to come back to the target.
            while chunks and level + incoming / rate > self.latency_s:
                incoming -= chunks.pop(0).size // ch
                self.buffers_trimmed += 1
            self._excess_s = 0.0
        elif self._excess_s > 0.0 and chunks:
            # The level stayed above the target for a whole window: drop that much,
            # in whole buffers, over as many updates as it takes.
            while chunks and chunks[0].size // ch <= self._excess_s * rate:
                dropped = chunks.pop(0).size // ch
                incoming -= dropped
                self._excess_s -= dropped / rate
                self.buffers_trimmed += 1
            if chunks:  # what is left of the excess is less than a buffer
                self._excess_s = 0.0
        if not self._playing:
            # Prime with silence up to the target: the first buffers get room for jitter.
            self._append_silence(round(max(0.0, self.latency_s - incoming / rate) * rate))
            level = self._appended / rate
        if chunks:
            data = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
            self._audio.append(data.tobytes())
            self._appended += incoming
            level += incoming / rate
        if not self._playing:
            sound.play()
            self._playing = True
            self._window_start = time.monotonic()
            logger.debug("%s: playing (%d Hz, %d ch)", self.name, rate, self.channels)
        # Smoothed frame interval (a single long frame, such as the first, is no trend).
        self._dt_avg += 0.1 * (min(max(dt, 0.0), _MAX_DT_S) - self._dt_avg)
        floor = max(self.low_s, 1.5 * self._dt_avg)
        if level < floor:
            # The device would run dry before the next update: silence, not a stop.
            missing = round((max(self.latency_s, floor + 0.02) - max(level, 0.0)) * rate)
            self._append_silence(missing)
            self.silence_samples += missing
            self.underruns += 1
            level += missing / rate
        self._level_s = level
        self._watch_excess(level)

    def _watch_excess(self, level: float) -> None:
        """Find a level that stays above the target for a whole window (latency crept up)."""
        self._window_min = min(self._window_min, level)
        now = time.monotonic()
        if now - self._window_start < _EXCESS_WINDOW_S:
            return
        excess = self._window_min - self.latency_s
        if excess >= _EXCESS_MIN_S:
            self._excess_s = excess
        self._window_start = now
        self._window_min = math.inf

    def _append_silence(self, samples: int) -> None:
        if samples > 0:
            self._audio.append(bytes(samples * self.channels * 2))
            self._appended += samples

    def close(self) -> None:
        """Stop and release the sound (main thread). :meth:`open` may be called again."""
        sound, self._sound = self._sound, None
        audio, self._audio = self._audio, None
        if sound is not None:
            sound.stop()
        if audio is not None:
            audio.done()
        self._playing = False
        self._level_s = 0.0

    # -- statistics -----------------------------------------------------------------

    def stats(self) -> PlayoutStats:
        """The counters and the main-thread cost statistics, now."""
        costs = sorted(self._costs)
        if costs:
            median = statistics.median(costs)
            p95 = costs[min(len(costs) - 1, int(0.95 * len(costs)))]
            worst = costs[-1]
        else:
            median = p95 = worst = 0.0
        return PlayoutStats(
            playing=self._playing,
            buffers_received=self._queue.received,
            buffers_dropped=self._queue.dropped,
            buffers_trimmed=self.buffers_trimmed,
            buffers_discarded=self.buffers_discarded,
            samples_appended=self._appended,
            silence_ms=self.silence_samples * 1000 / self.rate,
            underruns=self.underruns,
            level_ms=self._level_s * 1000,
            queued_ms=self._queue.samples * 1000 / self.rate,
            update_ms_median=median,
            update_ms_p95=p95,
            update_ms_max=worst,
            updates=self._updates,
        )


def _default_manager(plugin: Any) -> AudioManager | None:
    managers = getattr(plugin.base, "sfxManagerList", None) or []
    return managers[0] if managers else getattr(plugin.base, "musicManager", None)


class MixedAudioPlayer(Component):
    """Plays a ``RawIncomingAudioStream``'s mix through Panda3D's audio manager.

    Any stream layout plays (OpenAL resamples); 48 kHz stereo 20 ms buffers
    are what OpenAL mixes at natively. The stream's mixer thread only hands
    buffers over; ``update`` appends them (see :class:`PcmPlayout`).

    Args:
        stream: the call's incoming audio stream (attached by the caller).
        manager: a Panda3D ``AudioManager`` (default ``base.sfxManagerList[0]``).
        volume: the sound's volume (0 to 1).
        latency_ms, low_ms, high_ms, max_queue_ms: see :class:`PcmPlayout`.
    """

    def __init__(
        self,
        stream: RawIncomingAudioStream,
        *,
        manager: AudioManager | None = None,
        volume: float = 1.0,
        latency_ms: int = DEFAULT_LATENCY_MS,
        low_ms: int = DEFAULT_LOW_MS,
        high_ms: int = DEFAULT_HIGH_MS,
        max_queue_ms: int = DEFAULT_MAX_QUEUE_MS,
    ) -> None:
        props = stream.properties
        self.stream = stream
        self._manager = manager
        self._volume = volume
        self.playout = PcmPlayout(
            props.sample_rate.hz,
            props.channel_mode.channels,
            latency_ms=latency_ms,
            low_ms=low_ms,
            high_ms=high_ms,
            max_queue_ms=max_queue_ms,
            name="mixed audio",
        )
        self._subscribed = False

    @property
    def sound(self) -> AudioSound | None:
        """The Panda3D sound the mix plays through (None with a null manager)."""
        return self.playout.sound

    @property
    def volume(self) -> float:
        """The sound's volume (0 to 1)."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = value
        if self.playout.sound is not None:
            self.playout.sound.setVolume(value)

    def stats(self) -> PlayoutStats:
        """The playout's counters and main-thread cost (see :class:`PlayoutStats`)."""
        return self.playout.stats()

    def _on_mixed(self, args: IncomingMixedAudioEventArgs) -> None:
        # The SDK's mixer thread: copy and hand over, nothing else.
        self.playout.push(np.array(args.audio_buffer.as_int16(), dtype=np.int16))

    def start(self) -> None:
        assert self.plugin is not None
        manager = self._manager if self._manager is not None else _default_manager(self.plugin)
        if self.playout.open(manager) and self.playout.sound is not None:
            self.playout.sound.setVolume(self._volume)
        self.stream.mixed_audio_buffer_received += self._on_mixed
        self._subscribed = True

    def update(self, dt: float) -> None:
        self.playout.pump(dt)

    def on_destroy(self) -> None:
        if self._subscribed:
            self.stream.mixed_audio_buffer_received -= self._on_mixed
            self._subscribed = False
        self.playout.close()


VoiceNode = Callable[[str], "NodePath | None"] | Mapping[str, NodePath]
"""Where a participant's voice comes from: ``voice_node(participant_id)`` or a mapping."""


class _Voice:
    """One remote participant's voice: its playout and where it is placed."""

    def __init__(self, participant_id: str, playout: PcmPlayout) -> None:
        self.participant_id = participant_id
        self.playout = playout
        self.node: NodePath | None = None
        self.last_heard = time.monotonic()


class PositionalVoices(Component):
    """Each remote participant's voice placed in 3D at a node (their video wall).

    Needs a stream made with ``receive_unmixed_audio=True``. Each
    participant's buffers (mixed down to mono on the SDK's thread) feed a
    positional Panda3D sound of their own, placed every update at the node
    ``voice_node`` gives for their participant id. A participant without a
    node (yet) is not heard; one whose buffers stop arriving for
    ``retire_after_s`` (they left) has their sound released.

    Args:
        stream: an incoming audio stream with ``receive_unmixed_audio``.
        voice_node: ``participant_id -> NodePath | None``, or a mapping
            (looked up every update, so walls may come and go).
        audio3d: an existing ``direct.showbase.Audio3DManager`` to attach the
            sounds to (it then places them and owns the listener). Without
            one, this component places the sounds itself and sets the
            listener from ``listener``.
        manager: the ``AudioManager`` (default: ``audio3d``'s, else
            ``base.sfxManagerList[0]``).
        listener: the node the voices are heard from (default ``base.camera``);
            ignored when ``audio3d`` is given.
        min_distance: the distance within which a voice is at full volume.
        latency_ms, low_ms, high_ms, max_queue_ms: see :class:`PcmPlayout`.
        retire_after_s: release a voice not heard from for this long.
    """

    def __init__(
        self,
        stream: RawIncomingAudioStream,
        voice_node: VoiceNode,
        *,
        audio3d: Any = None,
        manager: AudioManager | None = None,
        listener: NodePath | None = None,
        min_distance: float = 3.0,
        latency_ms: int = DEFAULT_LATENCY_MS,
        low_ms: int = DEFAULT_LOW_MS,
        high_ms: int = DEFAULT_HIGH_MS,
        max_queue_ms: int = DEFAULT_MAX_QUEUE_MS,
        retire_after_s: float = 1.0,
    ) -> None:
        if not stream.receive_unmixed_audio:
            raise ValueError(
                "PositionalVoices needs each participant's audio: make the stream with "
                "RawIncomingAudioStreamOptions(receive_unmixed_audio=True)"
            )
        self.stream = stream
        self._resolve: Callable[[str], NodePath | None] = (
            voice_node.get if isinstance(voice_node, Mapping) else voice_node
        )
        self.audio3d = audio3d
        self._manager = manager
        self._listener = listener
        self.min_distance = min_distance
        self._playout_options = {
            "latency_ms": latency_ms,
            "low_ms": low_ms,
            "high_ms": high_ms,
            "max_queue_ms": max_queue_ms,
        }
        self.retire_after_s = retire_after_s
        self._rate = stream.properties.sample_rate.hz
        self._stereo = stream.properties.channel_mode is AudioStreamChannelMode.STEREO
        self._lock = threading.Lock()
        self._voices: dict[str, _Voice] = {}
        self._active_manager: AudioManager | None = None
        self._root: NodePath | None = None
        self._subscribed = False

    # -- public ---------------------------------------------------------------------

    @property
    def participant_ids(self) -> list[str]:
        """The participants with a voice now (placed or not)."""
        with self._lock:
            return list(self._voices)

    def sound_of(self, participant_id: str) -> AudioSound | None:
        """The positional sound of ``participant_id`` (None if not placed)."""
        with self._lock:
            voice = self._voices.get(participant_id)
        return voice.playout.sound if voice is not None else None

    def node_of(self, participant_id: str) -> NodePath | None:
        """The node ``participant_id``'s voice is placed at (None if not placed)."""
        with self._lock:
            voice = self._voices.get(participant_id)
        return voice.node if voice is not None else None

    def stats(self) -> dict[str, PlayoutStats]:
        """Each participant's playout counters, by participant id."""
        with self._lock:
            voices = list(self._voices.values())
        return {v.participant_id: v.playout.stats() for v in voices}

    # -- SDK thread -----------------------------------------------------------------

    def _on_unmixed(self, args: IncomingUnmixedAudioEventArgs) -> None:
        now = time.monotonic()
        for pid, buffer in zip(args.remote_participant_ids, args.audio_buffers, strict=True):
            pcm = buffer.as_int16()
            if self._stereo:
                pairs = pcm.reshape(-1, 2).astype(np.int32)
                mono = ((pairs[:, 0] + pairs[:, 1]) >> 1).astype(np.int16)
            else:
                mono = np.array(pcm, dtype=np.int16)
            with self._lock:
                voice = self._voices.get(pid)
                if voice is None:
                    playout = PcmPlayout(
                        self._rate, 1, name=f"voice {pid}", **self._playout_options
                    )
                    voice = self._voices[pid] = _Voice(pid, playout)
            voice.last_heard = now
            voice.playout.push(mono)

    # -- Component ------------------------------------------------------------------

    def start(self) -> None:
        assert self.plugin is not None
        self._root = self.plugin.render
        if self._manager is not None:
            self._active_manager = self._manager
        elif self.audio3d is not None:
            self._active_manager = self.audio3d.audio_manager
        else:
            self._active_manager = _default_manager(self.plugin)
        if self._listener is None and self.audio3d is None:
            self._listener = getattr(self.plugin.base, "camera", None)
        self.stream.unmixed_audio_buffer_received += self._on_unmixed
        self._subscribed = True

    def update(self, dt: float) -> None:
        now = time.monotonic()
        if self.audio3d is None:
            self._place_listener()
        with self._lock:
            voices = list(self._voices.values())
        for voice in voices:
            if now - voice.last_heard > self.retire_after_s:
                self._retire(voice)
                continue
            node = self._resolve(voice.participant_id)
            if node is not None and (node.isEmpty() or self._detached(node)):
                node = None
            if node is None:
                if voice.node is not None:
                    self._unplace(voice)
            elif voice.node is None or voice.node != node:
                self._place(voice, node)
            if voice.node is not None and self.audio3d is None:
                sound = voice.playout.sound
                if sound is not None:
                    pos = voice.node.getPos(self._root)
                    sound.set3dAttributes(pos[0], pos[1], pos[2], 0.0, 0.0, 0.0)
            voice.playout.pump(dt)

    def on_destroy(self) -> None:
        if self._subscribed:
            self.stream.unmixed_audio_buffer_received -= self._on_unmixed
            self._subscribed = False
        with self._lock:
            voices = list(self._voices.values())
            self._voices.clear()
        for voice in voices:
            self._unplace(voice)

    # -- internals (main thread) ----------------------------------------------------

    def _detached(self, node: NodePath) -> bool:
        root = self._root
        return root is not None and node.getTop() != root.getTop()

    def _place(self, voice: _Voice, node: NodePath) -> None:
        if voice.node is not None:
            self._unplace(voice)
        if not voice.playout.open(self._active_manager, positional=True):
            voice.node = node  # placed, silently: buffers are discarded
            return
        sound = voice.playout.sound
        assert sound is not None
        sound.set3dMinDistance(self.min_distance)
        if self.audio3d is not None:
            self.audio3d.attachSoundToObject(sound, node)
        voice.node = node
        logger.debug("voice of %s placed at %s", voice.participant_id, node)

    def _unplace(self, voice: _Voice) -> None:
        sound = voice.playout.sound
        if sound is not None and self.audio3d is not None:
            self.audio3d.detachSound(sound)
        voice.playout.close()
        voice.node = None

    def _retire(self, voice: _Voice) -> None:
        self._unplace(voice)
        with self._lock:
            if self._voices.get(voice.participant_id) is voice:
                del self._voices[voice.participant_id]
        logger.debug("voice of %s retired", voice.participant_id)

    def _place_listener(self) -> None:
        manager = self._active_manager
        root = self._root
        if manager is None or root is None:
            return
        listener = self._listener
        if listener is None or listener.isEmpty():
            manager.audio3dSetListenerAttributes(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1)
            return
        pos = listener.getPos(root)
        forward = root.getRelativeVector(listener, Vec3.forward())
        up = root.getRelativeVector(listener, Vec3.up())
        manager.audio3dSetListenerAttributes(
            pos[0], pos[1], pos[2], 0, 0, 0, forward[0], forward[1], forward[2], up[0], up[1], up[2]
        )
