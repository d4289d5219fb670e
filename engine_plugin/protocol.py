"""The signaling protocol: message names, limits, validation and encoding.

Pure code (no I/O), shared by the calling service and the SDK clients; the
contract it implements is ``docs/protocol.md``. Every message is one UTF-8 JSON
object with a ``"type"``; :func:`parse_client_message` validates everything a
client may send and raises :class:`ProtocolError` naming the field and what was
expected, :func:`parse_server_message` is the lighter check a client applies to
what the service sends, and :func:`encode` serialises either direction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ACCEPT",
    "AUTH",
    "CALL_ENDED",
    "CALL_ENDED_REASONS",
    "CALL_STARTED",
    "CLIENT_MESSAGE_TYPES",
    "ERROR",
    "ERROR_CODES",
    "HARD_MAX_FRAME_BYTES",
    "INCOMING_CALL",
    "INCOMING_CALL_ENDED",
    "INCOMING_CALL_ENDED_REASONS",
    "JOIN",
    "JOINED",
    "LEAVE",
    "LEFT",
    "MAX_MESSAGE_BYTES",
    "PARTICIPANT_JOINED",
    "PARTICIPANT_LEFT",
    "PARTICIPANT_LEFT_REASONS",
    "PARTICIPANT_UPDATED",
    "PING",
    "PONG",
    "REJECT",
    "REJECTED",
    "RINGING",
    "SERVER_MESSAGE_TYPES",
    "SIGNAL",
    "START_CALL",
    "UPDATE",
    "VIDEO_SLOTS",
    "VIDEO_SOURCE_TYPES",
    "WELCOME",
    "Media",
    "ProtocolError",
    "VideoSource",
    "encode",
    "make_error",
    "parse_client_message",
    "parse_server_message",
]

# --- Limits -----------------------------------------------------------------

MAX_MESSAGE_BYTES: Final = 65536
"""Largest message, in UTF-8 bytes, either side may send; larger ones get ``too_large``."""

HARD_MAX_FRAME_BYTES: Final = 1 << 20
"""A frame above this size is not read at all: the service closes with 1009 (message too big)."""

MAX_REF_CHARS: Final = 64
"""Longest ``ref``."""
MAX_TOKEN_CHARS: Final = 8192
"""Longest ``auth.token``."""
MAX_GROUP_ID_CHARS: Final = 128
"""Longest ``join.group_id`` (letters, digits and ``-_.:``)."""
MAX_DISPLAY_NAME_CHARS: Final = 256
"""Longest ``display_name``."""
MAX_ID_CHARS: Final = 256
"""Longest call id, participant id or user id in a client message."""
MAX_TARGETS: Final = 32
"""Most users one ``start_call`` may ring."""
MAX_VIDEO_DIMENSION: Final = 4096
"""Largest ``width``/``height`` of a video source."""

# --- Client to service ------------------------------------------------------

AUTH: Final = "auth"
JOIN: Final = "join"
START_CALL: Final = "start_call"
ACCEPT: Final = "accept"
REJECT: Final = "reject"
LEAVE: Final = "leave"
SIGNAL: Final = "signal"
UPDATE: Final = "update"
PING: Final = "ping"

CLIENT_MESSAGE_TYPES: Final = frozenset(
    {AUTH, JOIN, START_CALL, ACCEPT, REJECT, LEAVE, SIGNAL, UPDATE, PING}
)
"""Every ``type`` a client may send."""

# --- Service to client ------------------------------------------------------

WELCOME: Final = "welcome"
JOINED: Final = "joined"
CALL_STARTED: Final = "call_started"
RINGING: Final = "ringing"
CALL_ENDED: Final = "call_ended"
REJECTED: Final = "rejected"
LEFT: Final = "left"
PONG: Final = "pong"
PARTICIPANT_JOINED: Final = "participant_joined"
PARTICIPANT_LEFT: Final = "participant_left"
PARTICIPANT_UPDATED: Final = "participant_updated"
INCOMING_CALL: Final = "incoming_call"
INCOMING_CALL_ENDED: Final = "incoming_call_ended"
ERROR: Final = "error"
# ``signal`` travels both ways: the service relays it with ``from`` set.

SERVER_MESSAGE_TYPES: Final = frozenset(
    {
        WELCOME,
        JOINED,
        CALL_STARTED,
        RINGING,
        CALL_ENDED,
        REJECTED,
        LEFT,
        PONG,
        PARTICIPANT_JOINED,
        PARTICIPANT_LEFT,
        PARTICIPANT_UPDATED,
        INCOMING_CALL,
        INCOMING_CALL_ENDED,
        SIGNAL,
        ERROR,
    }
)
"""Every ``type`` the service may send."""

PARTICIPANT_LEFT_REASONS: Final = frozenset({"left", "disconnected"})
"""``participant_left.reason`` values."""

INCOMING_CALL_ENDED_REASONS: Final = frozenset(
    {"accepted_elsewhere", "rejected_elsewhere", "cancelled"}
)
"""``incoming_call_ended.reason`` values."""

CALL_ENDED_REASONS: Final = frozenset({"declined", "no_answer", "unavailable"})
"""``call_ended.reason`` values."""

# --- Errors -----------------------------------------------------------------

ERROR_CODES: Final = frozenset(
    {
        "malformed",
        "too_large",
        "unknown_type",
        "invalid",
        "unauthorized",
        "not_in_call",
        "unknown_call",
        "unknown_participant",
        "forbidden",
    }
)
"""``error.code`` values; after any of them but ``unauthorized`` the connection stays open."""


class ProtocolError(Exception):
    """A message broke the protocol, or a request cannot be honoured.

    ``code`` is one of :data:`ERROR_CODES`, ``message`` says what was expected,
    ``ref`` is the offending message's ``ref`` when it could be read (so that
    the ``error`` reply can echo it).
    """

    def __init__(self, code: str, message: str, *, ref: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown protocol error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref

    def to_message(self) -> dict[str, Any]:
        """The ``error`` message that reports this error to the client."""
        return make_error(self.code, self.message, self.ref)


def make_error(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    """Build an ``error`` message (``ref`` included only when given)."""
    error: dict[str, Any] = {"type": ERROR, "code": code, "message": message}
    if ref is not None:
        error["ref"] = ref
    return error


# --- Media ------------------------------------------------------------------

VIDEO_SLOTS: Final = ("camera", "screen")
"""The two video slots, in transceiver order (after audio)."""

VIDEO_SOURCE_TYPES: Final = ("video", "screen_sharing")
"""What a video source carries."""


def _invalid(
    field: str, expected: str, value: Any = ..., *, ref: str | None = None
) -> ProtocolError:
    if value is ...:
        return ProtocolError("invalid", f"{field}: missing; expected {expected}", ref=ref)
    return ProtocolError(
        "invalid", f"{field}: expected {expected}, got {_describe(value)}", ref=ref
    )


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r} ({len(value)} chars)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class VideoSource:
    """One outgoing video stream announced in :class:`Media`.

    ``slot`` is ``"camera"`` or ``"screen"`` (which transceiver carries it),
    ``type`` is ``"video"`` or ``"screen_sharing"``, ``width``/``height`` are
    its current pixel size (1-4096).
    """

    slot: str
    type: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.slot not in VIDEO_SLOTS:
            raise ValueError(f"VideoSource.slot: expected one of {VIDEO_SLOTS}, got {self.slot!r}")
        if self.type not in VIDEO_SOURCE_TYPES:
            raise ValueError(
                f"VideoSource.type: expected one of {VIDEO_SOURCE_TYPES}, got {self.type!r}"
            )
        for name, size in (("width", self.width), ("height", self.height)):
            if not _is_int(size) or not 1 <= size <= MAX_VIDEO_DIMENSION:
                raise ValueError(
                    f"VideoSource.{name}: expected an integer 1-{MAX_VIDEO_DIMENSION}, got {size!r}"
                )

    @classmethod
    def from_json(cls, value: Any, field: str = "video[0]") -> VideoSource:
        """Validate a JSON object; raises :class:`ProtocolError` (``invalid``) naming the field."""
        if not isinstance(value, dict):
            raise _invalid(field, "an object {slot, type, width, height}", value)
        slot = value.get("slot", ...)
        if slot not in VIDEO_SLOTS:
            raise _invalid(f"{field}.slot", '"camera" or "screen"', slot)
        kind = value.get("type", ...)
        if kind not in VIDEO_SOURCE_TYPES:
            raise _invalid(f"{field}.type", '"video" or "screen_sharing"', kind)
        for name in ("width", "height"):
            size = value.get(name, ...)
            if not _is_int(size) or not 1 <= size <= MAX_VIDEO_DIMENSION:
                raise _invalid(f"{field}.{name}", f"an integer 1-{MAX_VIDEO_DIMENSION}", size)
        return cls(slot=slot, type=kind, width=value["width"], height=value["height"])

    def to_json(self) -> dict[str, Any]:
        """The JSON object form."""
        return {"slot": self.slot, "type": self.type, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Media:
    """What a participant sends: ``{"audio": bool, "video": [VideoSource]}``.

    At most one video source per slot (so at most two). :meth:`from_json`
    validates the wire form, :meth:`to_json` produces it.
    """

    audio: bool = False
    video: tuple[VideoSource, ...] = ()

    def __post_init__(self) -> None:
        slots = [source.slot for source in self.video]
        if len(slots) != len(set(slots)):
            raise ValueError(f"Media: at most one video source per slot, got slots {slots}")

    @classmethod
    def from_json(cls, value: Any, field: str = "media") -> Media:
        """Validate a JSON Media object.

        Raises :class:`ProtocolError` (``invalid``) naming the field and what was expected.
        """
        if not isinstance(value, dict):
            raise _invalid(field, 'an object {"audio": bool, "video": [...]}', value)
        audio = value.get("audio", ...)
        if not isinstance(audio, bool):
            raise _invalid(f"{field}.audio", "true or false", audio)
        video = value.get("video", ...)
        if not isinstance(video, list) or len(video) > len(VIDEO_SLOTS):
            raise _invalid(
                f"{field}.video", f"an array of at most {len(VIDEO_SLOTS)} video sources", video
            )
        sources = tuple(
            VideoSource.from_json(item, f"{field}.video[{i}]") for i, item in enumerate(video)
        )
        seen: set[str] = set()
        for i, source in enumerate(sources):
            if source.slot in seen:
                raise ProtocolError(
                    "invalid",
                    f"{field}.video[{i}].slot: expected at most one source per slot, "
                    f"{source.slot!r} appears twice",
                )
            seen.add(source.slot)
        return cls(audio=audio, video=sources)

    def to_json(self) -> dict[str, Any]:
        """The JSON object form."""
        return {"audio": self.audio, "video": [source.to_json() for source in self.video]}


# --- Field validators ---------------------------------------------------------

_GROUP_ID = re.compile(r"[A-Za-z0-9\-_.:]{1,128}")
_SDP_TYPES: Final = ("offer", "answer", "pranswer", "rollback")

_Validator = Callable[[dict[str, Any], str], None]


def _require_str(
    message: dict[str, Any], mtype: str, name: str, lo: int, hi: int, *, optional: bool = False
) -> None:
    value = message.get(name, ...)
    if value is ... and optional:
        message[name] = ""
        return
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        raise _invalid(f"{mtype}.{name}", f"a string of {lo}-{hi} characters", value)


def _optional_media(message: dict[str, Any], mtype: str) -> None:
    value = message.get("media", ...)
    if value is ...:
        message["media"] = Media().to_json()
    else:
        message["media"] = Media.from_json(value, f"{mtype}.media").to_json()


def _check_auth(message: dict[str, Any], mtype: str) -> None:
    _require_str(message, mtype, "token", 1, MAX_TOKEN_CHARS)


def _check_join(message: dict[str, Any], mtype: str) -> None:
    group_id = message.get("group_id", ...)
    if not isinstance(group_id, str) or not _GROUP_ID.fullmatch(group_id):
        raise _invalid(
            f"{mtype}.group_id",
            f"a string of 1-{MAX_GROUP_ID_CHARS} letters, digits or -_.: characters",
            group_id,
        )
    _require_str(message, mtype, "display_name", 0, MAX_DISPLAY_NAME_CHARS, optional=True)
    _optional_media(message, mtype)


def _check_start_call(message: dict[str, Any], mtype: str) -> None:
    targets = message.get("targets", ...)
    expected = f"an array of 1-{MAX_TARGETS} user ids"
    if not isinstance(targets, list) or not 1 <= len(targets) <= MAX_TARGETS:
        raise _invalid(f"{mtype}.targets", expected, targets)
    for i, target in enumerate(targets):
        if not isinstance(target, str) or not 1 <= len(target) <= MAX_ID_CHARS:
            raise _invalid(f"{mtype}.targets[{i}]", f"a user id (1-{MAX_ID_CHARS} chars)", target)
    if len(set(targets)) != len(targets):
        raise ProtocolError("invalid", f"{mtype}.targets: expected distinct user ids")
    _require_str(message, mtype, "display_name", 0, MAX_DISPLAY_NAME_CHARS, optional=True)
    _optional_media(message, mtype)


def _check_accept(message: dict[str, Any], mtype: str) -> None:
    _require_str(message, mtype, "call_id", 1, MAX_ID_CHARS)
    _require_str(message, mtype, "display_name", 0, MAX_DISPLAY_NAME_CHARS, optional=True)
    _optional_media(message, mtype)


def _check_call_id(message: dict[str, Any], mtype: str) -> None:
    _require_str(message, mtype, "call_id", 1, MAX_ID_CHARS)


def _check_signal(message: dict[str, Any], mtype: str) -> None:
    _require_str(message, mtype, "call_id", 1, MAX_ID_CHARS)
    _require_str(message, mtype, "to", 1, MAX_ID_CHARS)
    data = message.get("data", ...)
    expected = 'an object with exactly one of "sdp" or "candidate"'
    if not isinstance(data, dict) or len(data.keys() & {"sdp", "candidate"}) != 1:
        raise _invalid(f"{mtype}.data", expected, data)
    if "sdp" in data:
        sdp = data["sdp"]
        if not isinstance(sdp, dict):
            raise _invalid(f"{mtype}.data.sdp", 'an object {"type", "sdp"}', sdp)
        if sdp.get("type", ...) not in _SDP_TYPES:
            raise _invalid(
                f"{mtype}.data.sdp.type", " or ".join(map(repr, _SDP_TYPES)), sdp.get("type", ...)
            )
        if not isinstance(sdp.get("sdp", ...), str):
            raise _invalid(f"{mtype}.data.sdp.sdp", "a string (the SDP text)", sdp.get("sdp", ...))
    else:
        candidate = data["candidate"]
        if not isinstance(candidate, dict):
            raise _invalid(
                f"{mtype}.data.candidate",
                'an object {"candidate", "sdpMid", "sdpMLineIndex"}',
                candidate,
            )
        if not isinstance(candidate.get("candidate", ...), str):
            raise _invalid(
                f"{mtype}.data.candidate.candidate",
                'a string (an ICE candidate line, "" for end of candidates)',
                candidate.get("candidate", ...),
            )
        mid = candidate.get("sdpMid")
        if mid is not None and not isinstance(mid, str):
            raise _invalid(f"{mtype}.data.candidate.sdpMid", "a string or null", mid)
        index = candidate.get("sdpMLineIndex")
        if index is not None and not (_is_int(index) and index >= 0):
            raise _invalid(
                f"{mtype}.data.candidate.sdpMLineIndex", "a non-negative integer or null", index
            )


def _check_update(message: dict[str, Any], mtype: str) -> None:
    _require_str(message, mtype, "call_id", 1, MAX_ID_CHARS)
    if "media" not in message:
        raise _invalid(f"{mtype}.media", 'a Media object {"audio": bool, "video": [...]}')
    message["media"] = Media.from_json(message["media"], f"{mtype}.media").to_json()


def _check_nothing(message: dict[str, Any], mtype: str) -> None:
    return None


_CLIENT_VALIDATORS: Final[Mapping[str, _Validator]] = {
    AUTH: _check_auth,
    JOIN: _check_join,
    START_CALL: _check_start_call,
    ACCEPT: _check_accept,
    REJECT: _check_call_id,
    LEAVE: _check_call_id,
    SIGNAL: _check_signal,
    UPDATE: _check_update,
    PING: _check_nothing,
}


# --- Parsing and encoding -----------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_object(text: str | bytes, *, limit: int | None) -> dict[str, Any]:
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if limit is not None and len(raw) > limit:
            raise ProtocolError(
                "too_large", f"message of {len(raw)} bytes; at most {limit} bytes are accepted"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("malformed", f"not UTF-8 text: {exc}") from None
    elif not isinstance(text, str):
        raise ProtocolError("malformed", f"expected a text frame, got {type(text).__name__}")
    elif limit is not None and len(text) * 4 > limit:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise ProtocolError(
                "too_large", f"message of {size} bytes; at most {limit} bytes are accepted"
            )
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("malformed", f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("malformed", f"expected a JSON object, got {_describe(value)}")
    return value


def _read_ref(message: dict[str, Any]) -> str | None:
    ref = message.get("ref", ...)
    if ref is ...:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        raise _invalid("ref", f"a string of at most {MAX_REF_CHARS} characters", ref)
    return ref


def parse_client_message(text: str | bytes) -> dict[str, Any]:
    """Parse and validate one message a client sent to the service.

    Checks, in order: size (``too_large`` above :data:`MAX_MESSAGE_BYTES`),
    JSON object (``malformed``), ``ref`` and ``type`` (``invalid``), known type
    (``unknown_type``), then every required field of that type and its shape
    (``invalid``, the message names the field and what was expected). Optional
    fields are filled in with their defaults (``display_name`` ``""``, ``media``
    no audio and no video), so the returned dict is complete. Unknown extra
    fields are ignored (kept).

    Raises :class:`ProtocolError`; its ``ref`` is set when the message had a
    readable ``ref``.
    """
    message = _load_object(text, limit=MAX_MESSAGE_BYTES)
    ref = _read_ref(message)
    mtype = message.get("type", ...)
    if not isinstance(mtype, str):
        raise _invalid("type", "a string naming the message type", mtype, ref=ref)
    validator = _CLIENT_VALIDATORS.get(mtype)
    if validator is None:
        shown = mtype if len(mtype) <= 40 else mtype[:37] + "..."
        known = ", ".join(sorted(CLIENT_MESSAGE_TYPES))
        raise ProtocolError(
            "unknown_type", f"unknown message type {shown!r}; expected one of {known}", ref=ref
        )
    try:
        validator(message, mtype)
    except ProtocolError as exc:
        exc.ref = ref
        raise
    return message


def parse_server_message(text: str | bytes) -> dict[str, Any]:
    """Parse one message the service sent: a JSON object whose ``type`` is known.

    Lighter than :func:`parse_client_message` (the service is trusted to send
    well-formed events); raises :class:`ProtocolError` (``malformed`` or
    ``unknown_type``).
    """
    message = _load_object(text, limit=None)
    mtype = message.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError("malformed", f"type: expected a string, got {_describe(mtype)}")
    if mtype not in SERVER_MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"unknown service message type {mtype!r}")
    return message


def encode(message: Mapping[str, Any]) -> str:
    """Serialise a message (either direction) to compact JSON text.

    Raises :class:`ValueError` when ``message`` has no string ``type`` or holds
    something JSON cannot carry (NaN, infinities, non-string keys, objects).
    """
    mtype = message.get("type")
    if not isinstance(mtype, str):
        raise ValueError(f"a message needs a string 'type', got {mtype!r}")
    try:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except TypeError as exc:
        raise ValueError(f"{mtype}: cannot encode as JSON: {exc}") from None
