"""The protocol schema: every client message validated, errors naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine_plugin import protocol
from engine_plugin.protocol import (
    MAX_MESSAGE_BYTES,
    Media,
    ProtocolError,
    VideoSource,
    encode,
    parse_client_message,
    parse_server_message,
)

CAMERA = {"slot": "camera", "type": "video", "width": 1280, "height": 720}
SCREEN = {"slot": "screen", "type": "screen_sharing", "width": 1920, "height": 1080}
OFFER = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}


def parse(message: dict[str, Any]) -> dict[str, Any]:
    return parse_client_message(json.dumps(message))


def refused(message: dict[str, Any] | str | bytes) -> ProtocolError:
    text = message if isinstance(message, str | bytes) else json.dumps(message)
    with pytest.raises(ProtocolError) as info:
        parse_client_message(text)
    return info.value


VALID = [
    {"type": "auth", "token": "a.b.c"},
    {"type": "join", "group_id": "Room-1_a.b:c", "display_name": "Ann"},
    {"type": "start_call", "targets": ["8:acs:r_1", "8:acs:r_2"], "display_name": ""},
    {"type": "accept", "call_id": "c1", "display_name": "Bob"},
    {"type": "reject", "call_id": "c1"},
    {"type": "leave", "call_id": "c1"},
    {"type": "signal", "call_id": "c1", "to": "p2", "data": OFFER},
    {
        "type": "signal",
        "call_id": "c1",
        "to": "p2",
        "data": {"candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}},
    },
    {"type": "update", "call_id": "c1", "media": {"audio": True, "video": [CAMERA, SCREEN]}},
    {"type": "ping"},
]


@pytest.mark.parametrize("message", VALID, ids=lambda m: str(m["type"]))
def test_valid_messages_parse(message: dict[str, Any]) -> None:
    parsed = parse({**message, "ref": "r1", "extra": 1})
    for name, value in message.items():
        assert parsed[name] == value
    assert parsed["ref"] == "r1"
    assert parse_client_message(json.dumps(message).encode()) == parse(message)


def test_optional_fields_get_defaults() -> None:
    assert parse({"type": "join", "group_id": "g"}) == {
        "type": "join",
        "group_id": "g",
        "display_name": "",
        "media": {"audio": False, "video": []},
    }
    accepted = parse({"type": "accept", "call_id": "c", "media": {"audio": True, "video": []}})
    assert accepted["media"] == {"audio": True, "video": []}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "auth"}, "auth.token: missing"),
        ({"type": "auth", "token": 5}, "auth.token: expected a string of 1-8192 characters"),
        ({"type": "join"}, "join.group_id: missing"),
        ({"type": "join", "group_id": ""}, "join.group_id"),
        ({"type": "join", "group_id": "a b"}, "join.group_id"),
        ({"type": "join", "group_id": "g" * 129}, "join.group_id"),
        ({"type": "join", "group_id": "g", "display_name": "x" * 257}, "join.display_name"),
        ({"type": "join", "group_id": "g", "display_name": None}, "join.display_name"),
        ({"type": "start_call"}, "start_call.targets: missing"),
        ({"type": "start_call", "targets": []}, "start_call.targets"),
        ({"type": "start_call", "targets": ["u"] * 33}, "start_call.targets"),
        ({"type": "start_call", "targets": ["u", 3]}, "start_call.targets[1]"),
        ({"type": "start_call", "targets": ["u", "u"]}, "start_call.targets: expected distinct"),
        ({"type": "accept"}, "accept.call_id: missing"),
        ({"type": "reject", "call_id": ""}, "reject.call_id"),
        ({"type": "leave", "call_id": ["c"]}, "leave.call_id"),
        ({"type": "signal", "to": "p", "data": OFFER}, "signal.call_id: missing"),
        ({"type": "signal", "call_id": "c", "data": OFFER}, "signal.to: missing"),
        ({"type": "signal", "call_id": "c", "to": "p"}, "signal.data: missing"),
        ({"type": "signal", "call_id": "c", "to": "p", "data": {}}, "signal.data"),
        (
            {"type": "signal", "call_id": "c", "to": "p", "data": {**OFFER, "candidate": {}}},
            "signal.data",
        ),
        (
            {"type": "signal", "call_id": "c", "to": "p", "data": {"sdp": {"type": "x"}}},
            "signal.data.sdp.type",
        ),
        (
            {"type": "signal", "call_id": "c", "to": "p", "data": {"sdp": {"type": "offer"}}},
            "signal.data.sdp.sdp: missing",
        ),
        (
            {"type": "signal", "call_id": "c", "to": "p", "data": {"candidate": "x"}},
            "signal.data.candidate",
        ),
        (
            {
                "type": "signal",
                "call_id": "c",
                "to": "p",
                "data": {"candidate": {"candidate": "", "sdpMLineIndex": -1}},
            },
            "signal.data.candidate.sdpMLineIndex",
        ),
        ({"type": "update", "call_id": "c"}, "update.media: missing"),
        ({"type": "update", "call_id": "c", "media": []}, "update.media: expected an object"),
        ({"type": "update", "call_id": "c", "media": {"video": []}}, "update.media.audio"),
        (
            {"type": "update", "call_id": "c", "media": {"audio": 1, "video": []}},
            "update.media.audio",
        ),
        ({"type": "update", "call_id": "c", "media": {"audio": True}}, "update.media.video"),
    ],
)
def test_invalid_fields_are_named(message: dict[str, Any], field: str) -> None:
    error = refused({**message, "ref": "r9"})
    assert error.code == "invalid"
    assert error.message.startswith(field), error.message
    assert error.ref == "r9"
    assert error.to_message() == {
        "type": "error",
        "code": "invalid",
        "message": error.message,
        "ref": "r9",
    }


@pytest.mark.parametrize(
    ("video", "field"),
    [
        ([CAMERA, {**CAMERA, "width": 640}], "update.media.video[1].slot: expected at most one"),
        ([CAMERA, SCREEN, CAMERA], "update.media.video: expected an array of at most 2"),
        ([{**CAMERA, "slot": "third"}], "update.media.video[0].slot"),
        ([{**CAMERA, "type": "audio"}], "update.media.video[0].type"),
        ([{**CAMERA, "width": 0}], "update.media.video[0].width: expected an integer 1-4096"),
        ([{**CAMERA, "height": 4097}], "update.media.video[0].height"),
        ([{**CAMERA, "width": 1.5}], "update.media.video[0].width"),
        ([{**CAMERA, "width": True}], "update.media.video[0].width"),
        ([{**CAMERA, "height": "720"}], "update.media.video[0].height"),
        (["camera"], "update.media.video[0]: expected an object"),
    ],
)
def test_media_validation(video: list[Any], field: str) -> None:
    error = refused({"type": "update", "call_id": "c", "media": {"audio": False, "video": video}})
    assert (error.code, error.message[: len(field)]) == ("invalid", field)


def test_media_helper_round_trip() -> None:
    media = Media.from_json({"audio": True, "video": [SCREEN, CAMERA]})
    assert media == Media(
        audio=True,
        video=(VideoSource("screen", "screen_sharing", 1920, 1080), VideoSource(**CAMERA)),  # type: ignore[arg-type]
    )
    assert media.to_json() == {"audio": True, "video": [SCREEN, CAMERA]}
    assert Media().to_json() == {"audio": False, "video": []}
    with pytest.raises(ValueError, match="one video source per slot"):
        Media(video=(VideoSource(**CAMERA), VideoSource(**CAMERA)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width"):
        VideoSource("camera", "video", 0, 10)


def test_envelope_errors() -> None:
    assert refused("not json").code == "malformed"
    assert refused("[1, 2]").code == "malformed"
    assert refused('{"type": "ping", "x": NaN}').code == "malformed"
    assert refused(b"\xff\xfe").code == "malformed"
    missing = refused({"ref": "r"})
    assert (missing.code, missing.message, missing.ref) == (
        "invalid",
        "type: missing; expected a string naming the message type",
        "r",
    )
    assert refused({"type": 7}).code == "invalid"
    unknown = refused({"type": "launch_missiles", "ref": "r2"})
    assert (unknown.code, unknown.ref) == ("unknown_type", "r2")
    assert "'launch_missiles'" in unknown.message and "ping" in unknown.message
    bad_ref = refused({"type": "ping", "ref": "x" * 65})
    assert (bad_ref.code, bad_ref.ref) == ("invalid", None)
    assert bad_ref.message.startswith("ref: expected a string of at most 64 characters")


def test_size_limit_in_bytes() -> None:
    overhead = len(json.dumps({"type": "ping", "pad": ""}))
    fits = json.dumps({"type": "ping", "pad": "x" * (MAX_MESSAGE_BYTES - overhead)})
    assert len(fits.encode()) == MAX_MESSAGE_BYTES
    assert parse_client_message(fits)["type"] == "ping"
    too_big = refused(json.dumps({"type": "ping", "pad": "x" * (MAX_MESSAGE_BYTES - overhead + 1)}))
    assert too_big.code == "too_large"
    assert "65537 bytes" in too_big.message
    # Counted in UTF-8 bytes, not characters.
    wide = json.dumps({"type": "ping", "pad": "é" * (MAX_MESSAGE_BYTES // 2)}, ensure_ascii=False)
    assert refused(wide).code == "too_large"
    assert refused(wide.encode()).code == "too_large"


def test_server_messages() -> None:
    assert parse_server_message('{"type": "pong"}') == {"type": "pong"}
    assert parse_server_message(b'{"type": "signal", "from": "p1"}')["from"] == "p1"
    for text, code in [("{}", "malformed"), ("[]", "malformed"), ('{"type": "x"}', "unknown_type")]:
        with pytest.raises(ProtocolError) as info:
            parse_server_message(text)
        assert info.value.code == code
    assert protocol.CLIENT_MESSAGE_TYPES & protocol.SERVER_MESSAGE_TYPES == {"signal"}


def test_encode() -> None:
    assert encode({"type": "pong", "ref": "é"}) == '{"type":"pong","ref":"é"}'
    with pytest.raises(ValueError, match="type"):
        encode({"ref": "x"})
    with pytest.raises(ValueError, match="JSON"):
        encode({"type": "x", "v": float("nan")})
    with pytest.raises(ValueError, match="JSON"):
        encode({"type": "x", "v": object()})
    with pytest.raises(ValueError, match="unknown protocol error code"):
        ProtocolError("oops", "x")
