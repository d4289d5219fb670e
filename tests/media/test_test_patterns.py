"""Tests for the generated test media (engine_plugin.media.test_patterns)."""

from __future__ import annotations

import fractions
import math
import time

import av
import numpy as np
import pytest

from engine_plugin.media.test_patterns import (
    FRAME_NUMBER_MODULUS,
    QUADRANT_COLOURS,
    ToneGenerator,
    dominant_frequencies,
    pattern_frame,
    psnr,
    quadrant_colours,
    quadrant_colours_ok,
    read_frame_number,
    read_frame_number_i420,
    stamp_frame_number,
    tone,
    tone_level_db,
)

SIZES = [(320, 180), (640, 360), (1280, 720), (1920, 1080), (641, 359)]


# --------------------------------------------------------------------------- barcode


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_barcode_round_trip_is_exact(width: int, height: int) -> None:
    numbers = [0, 1, 2, 29, 30, 255, 256, 65535, 65536, 1_000_003, FRAME_NUMBER_MODULUS - 1]
    read = [read_frame_number(pattern_frame(width, height, n)) for n in numbers]
    assert read == numbers


def test_frame_numbers_wrap_at_the_modulus() -> None:
    frame = pattern_frame(320, 180, FRAME_NUMBER_MODULUS + 5)
    assert read_frame_number(frame) == 5


def test_every_bit_position_round_trips() -> None:
    numbers = [1 << bit for bit in range(24)] + [(1 << 24) - 1 - (1 << bit) for bit in range(24)]
    assert [read_frame_number(pattern_frame(320, 180, n)) for n in numbers] == numbers


def test_pattern_frame_shape_and_alpha() -> None:
    frame = pattern_frame(640, 360, 7)
    assert frame.shape == (360, 640, 4)
    assert frame.dtype == np.uint8
    assert np.all(frame[..., 3] == 255)
    assert frame.flags.writeable


def test_pattern_moves_between_frames_and_seeds_differ() -> None:
    first, second = pattern_frame(640, 360, 10), pattern_frame(640, 360, 11)
    body = slice(40, None)  # below the barcode band
    assert not np.array_equal(first[body], second[body])
    other_seed = pattern_frame(640, 360, 10, seed=1)
    assert not np.array_equal(first[body], other_seed[body])
    assert read_frame_number(other_seed) == 10
    assert quadrant_colours_ok(other_seed)


def test_pattern_frame_is_cheap_at_1080p() -> None:
    pattern_frame(1920, 1080, 0)  # fill the cache
    start = time.perf_counter()
    for n in range(20):
        pattern_frame(1920, 1080, n)
    per_frame = (time.perf_counter() - start) / 20
    assert per_frame < 0.015  # about 2 ms here; generous for a loaded CI machine


def test_stamp_frame_number_renumbers_in_place() -> None:
    frame = pattern_frame(640, 360, 3)
    stamp_frame_number(frame, 4242)
    assert read_frame_number(frame) == 4242
    with pytest.raises(ValueError):
        stamp_frame_number(frame, -1)


def test_other_channel_orders() -> None:
    rgba = pattern_frame(640, 360, 123)
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    rgb = np.ascontiguousarray(rgba[..., :3])
    bgr = np.ascontiguousarray(rgba[..., [2, 1, 0]])
    argb = np.ascontiguousarray(rgba[..., [3, 0, 1, 2]])
    assert read_frame_number(bgra, channel_order="bgrx") == 123
    assert read_frame_number(rgba, channel_order="rgbx") == 123
    assert read_frame_number(rgb, channel_order="rgb24") == 123
    assert read_frame_number(bgr, channel_order="bgr24") == 123
    assert read_frame_number(argb, channel_order="argb") == 123
    assert quadrant_colours_ok(bgra, channel_order="bgra")
    assert quadrant_colours_ok(bgr, channel_order="bgr24")
    with pytest.raises(ValueError):
        read_frame_number(rgb)  # three channels but "rgba"
    with pytest.raises(ValueError):
        read_frame_number(rgba, channel_order="yuv")


def test_read_from_i420_luma() -> None:
    rgba = pattern_frame(640, 360, 9876)
    i420 = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
    packed = i420.to_ndarray()  # (height * 3 / 2) x width: Y then U and V
    assert read_frame_number_i420(packed[:360], 640, 360) == 9876
    assert read_frame_number_i420(packed.reshape(-1), 640, 360) == 9876
    padded = np.zeros((360, 704), dtype=np.uint8)  # a line stride wider than the picture
    padded[:, :640] = packed[:360]
    assert read_frame_number_i420(padded, 640, 360) == 9876


def test_unreadable_barcodes_give_none() -> None:
    frame = pattern_frame(640, 360, 5555)
    assert read_frame_number(np.zeros_like(frame)) is None
    assert read_frame_number(np.full_like(frame, 255)) is None
    assert read_frame_number(np.ascontiguousarray(frame[::-1])) is None  # upside down
    noisy = frame.copy()
    noisy[:30, 300:340, :3] = 128  # a grey smudge over some cells: ambiguous
    assert read_frame_number(noisy) is None
    flipped_bit = frame.copy()
    cell = 640 // 40
    column = 20 * cell + cell // 2  # a data cell (cells 4..35 carry the code)
    flipped_bit[:30, column - cell // 2 : column + cell // 2, :3] ^= 255
    assert read_frame_number(flipped_bit) is None  # the CRC catches it
    assert read_frame_number(np.zeros((20, 30, 4), dtype=np.uint8)) is None  # too small


# --------------------------------------------------------------------------- colours and PSNR


def test_quadrant_check_accepts_the_pattern() -> None:
    frame = pattern_frame(1280, 720, 0)
    assert quadrant_colours_ok(frame)
    found = quadrant_colours(frame)
    assert {k: tuple(round(c) for c in v) for k, v in found.items()} == dict(QUADRANT_COLOURS)


def test_quadrant_check_detects_red_blue_swap() -> None:
    frame = pattern_frame(640, 360, 0)
    swapped = np.ascontiguousarray(frame[..., [2, 1, 0, 3]])
    assert not quadrant_colours_ok(swapped)
    assert quadrant_colours_ok(swapped, channel_order="bgra")


def test_quadrant_check_detects_flips() -> None:
    frame = pattern_frame(640, 360, 0)
    assert not quadrant_colours_ok(np.ascontiguousarray(frame[::-1]))
    assert not quadrant_colours_ok(np.ascontiguousarray(frame[:, ::-1]))


def test_psnr() -> None:
    a = pattern_frame(320, 180, 1)
    assert psnr(a, a.copy()) == math.inf
    b = a.copy()
    b[0, 0, 0] = 228 if a[0, 0, 0] < 128 else 28  # one sample off by 100 or more
    assert 50.0 < psnr(a, b) < 62.0
    grey = np.full((180, 320, 3), 128, dtype=np.uint8)
    noise = np.random.default_rng(0).integers(-4, 5, size=grey.shape)
    noisy = (grey + noise).astype(np.uint8)
    # Uniform noise on -4..4 has a mean square of 20/3: about 40 dB.
    assert psnr(grey, noisy) == pytest.approx(10 * math.log10(255**2 / (20 / 3)), abs=0.2)
    with pytest.raises(ValueError):
        psnr(a, a[:10])


# --------------------------------------------------------------------------- a real codec


def _vp8_round_trip(frames: list[np.ndarray], bit_rate: int) -> list[np.ndarray]:
    """Encode RGBA frames with libvpx (VP8, realtime, as aiortc does) and decode them."""
    height, width = frames[0].shape[:2]
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.bit_rate = bit_rate
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.framerate = fractions.Fraction(30, 1)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    decoded: list[np.ndarray] = []

    def decode(packets: list[av.Packet]) -> None:
        for packet in packets:
            for frame in decoder.decode(packet):
                decoded.append(frame.to_ndarray(format="rgba"))

    for index, rgba in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
        frame.pts = index
        frame.time_base = encoder.time_base
        decode(encoder.encode(frame))
    decode(encoder.encode(None))
    return decoded


def test_barcode_survives_vp8_round_trip() -> None:
    width, height = 640, 360
    numbers = list(range(1000, 1060))
    sent = [pattern_frame(width, height, n) for n in numbers]
    received = _vp8_round_trip(sent, bit_rate=1_000_000)
    assert len(received) == len(sent)
    assert [read_frame_number(frame) for frame in received] == numbers
    assert all(quadrant_colours_ok(frame) for frame in received)
    # The picture is close to what was sent (RGB -> 4:2:0 alone gives about 38 dB here).
    assert psnr(received[-1][..., :3], sent[-1][..., :3]) > 33.0


def test_barcode_survives_vp8_at_320x180_and_low_bitrate() -> None:
    numbers = list(range(500, 530))
    sent = [pattern_frame(320, 180, n) for n in numbers]
    received = _vp8_round_trip(sent, bit_rate=250_000)
    assert [read_frame_number(frame) for frame in received] == numbers


# --------------------------------------------------------------------------- audio


def test_tone_shape_level_and_phase() -> None:
    pcm = tone(440.0, 0.5, 48000, 2)
    assert pcm.dtype == np.int16
    assert pcm.shape == (48000,)  # 24000 samples x 2 channels, interleaved
    assert np.array_equal(pcm[0::2], pcm[1::2])
    assert abs(int(pcm.max()) - round(0.3 * 32767)) <= 1
    later = tone(440.0, 0.1, 48000, 2, phase_samples=12000)
    assert np.array_equal(later, pcm[24000 : 24000 + 9600])


def test_tone_generator_has_no_phase_jumps() -> None:
    generator = ToneGenerator(997.0, 48000, 2)
    chunks = [generator.next_chunk(size) for size in (960, 480, 961, 1, 2000)]
    joined = np.concatenate(chunks)
    expected = tone(997.0, 4402 / 48000, 48000, 2)
    assert generator.samples_generated == 4402
    assert np.array_equal(joined, expected)


def test_detects_440_and_880_in_a_mix_and_not_660() -> None:
    rate, channels = 48000, 2
    mix = tone(440.0, 1.0, rate, channels, amplitude=0.3).astype(np.int32)
    mix += tone(880.0, 1.0, rate, channels, amplitude=0.2)
    pcm = np.clip(mix, -32768, 32767).astype(np.int16)

    peaks = dominant_frequencies(pcm, rate, channels, count=3)
    assert len(peaks) == 2  # nothing else is within 60 dB
    assert peaks[0] == pytest.approx(440.0, abs=1.0)
    assert peaks[1] == pytest.approx(880.0, abs=1.0)

    assert tone_level_db(pcm, rate, channels, 440.0) == pytest.approx(20 * math.log10(0.3), abs=0.5)
    assert tone_level_db(pcm, rate, channels, 880.0) == pytest.approx(20 * math.log10(0.2), abs=0.5)
    assert tone_level_db(pcm, rate, channels, 660.0) < -80.0


def test_tones_survive_an_opus_round_trip() -> None:
    rate, channels = 48000, 2
    mix = tone(440.0, 1.0, rate, channels).astype(np.int32) + tone(880.0, 1.0, rate, channels)
    pcm = np.clip(mix, -32768, 32767).astype(np.int16)
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = rate
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.bit_rate = 96000
    encoder.time_base = fractions.Fraction(1, rate)
    decoder = av.CodecContext.create("opus", "r")
    to_s16 = av.AudioResampler(format="s16", layout="stereo", rate=rate)
    chunks: list[np.ndarray] = []
    for start in range(0, pcm.size // channels, 960):  # 20 ms frames, as WebRTC sends
        frame = av.AudioFrame.from_ndarray(
            pcm[start * channels : (start + 960) * channels].reshape(1, -1),
            format="s16",
            layout="stereo",
        )
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = encoder.time_base
        for packet in encoder.encode(frame):
            for decoded in decoder.decode(packet):
                chunks.extend(f.to_ndarray().reshape(-1) for f in to_s16.resample(decoded))
    received = np.concatenate(chunks)[channels * 4800 :]  # skip the codec's start-up

    peaks = dominant_frequencies(received, rate, channels, count=2)
    assert sorted(round(f) for f in peaks) == [440, 880]
    assert tone_level_db(received, rate, channels, 440.0) > -14.0
    assert tone_level_db(received, rate, channels, 880.0) > -14.0
    assert tone_level_db(received, rate, channels, 660.0) < -60.0


def test_tone_analysis_on_short_mono_chunks_and_silence() -> None:
    pcm = ToneGenerator(1000.0, 16000, 1, amplitude=0.5).next_chunk(1600)  # 100 ms
    assert dominant_frequencies(pcm, 16000, 1, count=1)[0] == pytest.approx(1000.0, abs=5.0)
    assert tone_level_db(pcm, 16000, 1, 1000.0) == pytest.approx(20 * math.log10(0.5), abs=0.5)
    silence = np.zeros(3200, dtype=np.int16)
    assert dominant_frequencies(silence, 16000, 2) == []
    assert tone_level_db(silence, 16000, 2, 1000.0) == -math.inf
