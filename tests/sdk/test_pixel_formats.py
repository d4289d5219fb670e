"""Frames in each of the six pixel formats, rows padded, arrive right (colours, orientation)."""

from __future__ import annotations

import time
import uuid

import av
import numpy as np
import pytest

from engine_plugin import (
    GroupCallLocator,
    IncomingVideoOptions,
    JoinCallOptions,
    OutgoingVideoOptions,
    RawOutgoingVideoStreamOptions,
    RawVideoFrameBuffer,
    RawVideoFrameReceivedEventArgs,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VideoStreamState,
    VirtualOutgoingVideoStream,
)
from engine_plugin.media.test_patterns import pattern_frame, quadrant_colours_ok

from ..conftest import wait_until
from .media_helpers import FrameRecorder
from .test_group_call import _watch

PAD = 64  # bytes of padding at the end of every row of every plane


def _padded_frame(rgba: np.ndarray, fmt: VideoStreamFormat) -> RawVideoFrameBuffer:
    """``rgba`` in ``fmt.pixel_format`` (converted by PyAV), each plane's rows padded."""
    height = rgba.shape[0]
    converted = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(
        format=fmt.pixel_format.av_format
    )
    planes = []
    for index, (stride, rows) in enumerate(
        zip(fmt.strides, fmt.pixel_format.plane_heights(height), strict=True)
    ):
        plane = converted.planes[index]
        row_bytes = fmt.pixel_format.plane_row_bytes(fmt.width)[index]
        source = np.frombuffer(plane, dtype=np.uint8).reshape(rows, plane.line_size)
        padded = np.full((rows, stride), 0xAB, dtype=np.uint8)  # junk in the padding
        padded[:, :row_bytes] = source[:, :row_bytes]
        planes.append(padded)
    return RawVideoFrameBuffer(buffers=planes, stream_format=fmt, timestamp_in_ticks=0)


def _send_and_check(sender_agent, receiver_agent, pixel_format: VideoStreamPixelFormat) -> None:  # type: ignore[no-untyped-def]
    width, height = 640, 360
    row_bytes = pixel_format.plane_row_bytes(width)
    strides = [b + PAD for b in row_bytes] + [0] * (3 - len(row_bytes))
    fmt = VideoStreamFormat(
        resolution=VideoStreamResolution.P360,
        pixel_format=pixel_format,
        frames_per_second=30,
        stride1=strides[0],
        stride2=strides[1],
        stride3=strides[2],
    )
    group = GroupCallLocator(str(uuid.uuid4()))
    recorder = FrameRecorder(VideoStreamPixelFormat.RGBA)
    quadrants: list[bool] = []
    original = recorder.on_frame

    def on_frame(args: RawVideoFrameReceivedEventArgs) -> None:
        plane = np.asarray(args.frame.buffers[0])
        rgba = plane.reshape(height, -1)[:, : width * 4].reshape(height, width, 4)
        with recorder.lock:
            quadrants.append(quadrant_colours_ok(rgba))
        original(args)

    recorder.on_frame = on_frame  # type: ignore[method-assign]
    options = JoinCallOptions(
        incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.RGBA)
    )
    receiver_call = receiver_agent.join(group, options).result(10)
    _watch(receiver_call, recorder)
    stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
    sender_call = sender_agent.join(
        group, JoinCallOptions(outgoing_video_options=OutgoingVideoOptions(streams=[stream]))
    ).result(10)
    wait_until(lambda: stream.state is VideoStreamState.STARTED, what="stream started")
    frames = [_padded_frame(pattern_frame(width, height, n), fmt) for n in range(30)]
    deadline = time.monotonic() + 15
    n = 0
    while len(recorder.records) < 40 and time.monotonic() < deadline:
        frame = frames[n % len(frames)]
        frame.timestamp_in_ticks = stream.timestamp_in_ticks
        stream.send_raw_video_frame(frame)
        n += 1
        time.sleep(1 / 30)
    good = [r for r in recorder.records[-20:] if r.number is not None]
    assert len(good) >= 15, pixel_format
    assert min(r.psnr for r in good) >= 30, (pixel_format, [round(r.psnr) for r in good])
    assert quadrants and all(quadrants[-15:]), f"{pixel_format.name}: colours or orientation"
    sender_call.hang_up().result(10)
    receiver_call.hang_up().result(10)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("pixel_format", list(VideoStreamPixelFormat), ids=lambda f: f.name)
def test_pixel_format_with_padded_rows_arrives_right(make_agent, pixel_format) -> None:  # type: ignore[no-untyped-def]
    _send_and_check(make_agent("Sender"), make_agent("Receiver"), pixel_format)
