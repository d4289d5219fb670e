"""PcmResampler, mix, silence and the av.AudioFrame <-> PCM helpers, with real PyAV."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
import pytest

from engine_plugin.media import (
    PcmResampler,
    av_frame_to_pcm,
    mix,
    pcm_to_av_frame,
    silence,
)

I16 = npt.NDArray[np.int16]


def _tone(freq: float, rate: int, channels: int, seconds: float, amplitude: float = 0.5) -> I16:
    """Interleaved int16 sine; the right channel (if any) is the left one at half level."""
    t = np.arange(int(rate * seconds)) / rate
    wave = amplitude * 32767 * np.sin(2 * np.pi * freq * t)
    columns = [wave, wave * 0.5][:channels]
    return np.rint(np.stack(columns, axis=1)).astype(np.int16).reshape(-1)


def _peak_hz(samples: I16, rate: int, channels: int) -> float:
    mono = samples.reshape(-1, channels)[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    return float(np.fft.rfftfreq(mono.size, 1 / rate)[int(np.argmax(spectrum))])


COMBOS = [
    (48000, 2, 16000, 1),
    (48000, 2, 48000, 2),
    (48000, 1, 48000, 2),
    (44100, 1, 48000, 2),
    (16000, 1, 48000, 2),
    (22050, 2, 24000, 1),
    (32000, 2, 44100, 2),
]


@pytest.mark.parametrize("as_frames", [False, True], ids=["arrays", "av_frames"])
@pytest.mark.parametrize(("in_rate", "in_ch", "out_rate", "out_ch"), COMBOS)
def test_exact_chunks_and_tone_frequency(
    in_rate: int, in_ch: int, out_rate: int, out_ch: int, as_frames: bool
) -> None:
    seconds, freq = 0.5, 1000.0
    source = _tone(freq, in_rate, in_ch, seconds)
    resampler = PcmResampler(in_rate, in_ch, out_rate, out_ch, max_pending_ms=200)
    push_size = in_rate * 20 // 1000 * in_ch  # 20 ms pushes (44.1 kHz: 882 samples)
    pull_size = out_rate // 100  # 10 ms pulls
    pulled: list[I16] = []
    pts = 0
    for start in range(0, source.size, push_size):
        chunk = source[start : start + push_size]
        if as_frames:
            resampler.push(pcm_to_av_frame(chunk, in_rate, in_ch, pts))
            pts += chunk.size // in_ch
        else:
            resampler.push(chunk)
        while (out := resampler.pull(pull_size)) is not None:
            assert out.dtype == np.int16 and out.shape == (pull_size * out_ch,)
            pulled.append(out)
    resampler.flush()
    while (out := resampler.pull(pull_size)) is not None:
        pulled.append(out)
    assert resampler.pending_samples < pull_size
    assert resampler.dropped_samples == 0
    total = sum(p.size for p in pulled) // out_ch
    expected = int(seconds * out_rate)
    assert expected - 2 * pull_size <= total <= expected + pull_size
    result = np.concatenate(pulled)
    assert abs(_peak_hz(result, out_rate, out_ch) - freq) <= out_rate / total * 1.5
    # level: the tone keeps its amplitude (0.5 full scale on the left channel, 0.25 on the
    # right); mono is duplicated at full level, stereo to mono is the average
    level = 0.375 if (in_ch, out_ch) == (2, 1) else 0.5
    steady = result.reshape(-1, out_ch)[out_rate // 20 : -out_rate // 20, 0]
    assert 0.95 * level * 32767 < np.abs(steady).max() <= 1.03 * level * 32767


def test_identity_passes_samples_unchanged() -> None:
    resampler = PcmResampler(48000, 2, 48000, 2)
    data = np.arange(-960, 960, dtype=np.int16)
    resampler.push(data.reshape(-1, 2))
    data_copy = data.copy()
    data[:] = 0  # the resampler copied what it was given
    assert resampler.pending_samples == 960
    np.testing.assert_array_equal(resampler.pull(960), data_copy)
    assert resampler.pull(1) is None


def test_mono_to_stereo_duplicates_the_channel() -> None:
    resampler = PcmResampler(48000, 1, 48000, 2)
    data = _tone(440, 48000, 1, 0.02)
    resampler.push(data)
    out = resampler.pull(960)
    assert out is not None
    stereo = out.reshape(-1, 2)
    np.testing.assert_array_equal(stereo[:, 0], stereo[:, 1])
    assert np.abs(stereo[:, 0].astype(int) - data).max() <= 1


def test_decoder_formats_are_accepted_and_may_change() -> None:
    """fltp 48 kHz stereo (as an Opus decoder could give), then s16p 24 kHz mono."""
    resampler = PcmResampler(48000, 2, 16000, 1, max_pending_ms=1000)
    tone = _tone(500, 48000, 2, 0.2)
    planar = tone.reshape(-1, 2).T.astype(np.float32) / 32768
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar), format="fltp", layout="stereo")
    frame.sample_rate = 48000
    resampler.push(frame)
    tone24 = _tone(500, 24000, 1, 0.2)
    frame24 = av.AudioFrame.from_ndarray(tone24.reshape(1, -1), format="s16p", layout="mono")
    frame24.sample_rate = 24000
    resampler.push(frame24)
    resampler.flush()
    out = resampler.pull(resampler.pending_samples)
    assert out is not None
    assert abs(out.size - 6400) <= 160  # 0.4 s at 16 kHz mono, give or take the filter delay
    assert abs(_peak_hz(out, 16000, 1) - 500) <= 16000 / out.size * 1.5


def test_stereo_to_mono_averages_and_mono_frames_upmix() -> None:
    down = PcmResampler(48000, 2, 48000, 1)
    down.push(np.array([[100, 300], [-5, -6], [32767, 32767]], np.int16))
    assert list(down.pull(3)) == [200, -6, 32767]  # type: ignore[arg-type]
    up = PcmResampler(16000, 1, 48000, 2)
    mono = _tone(300, 16000, 1, 0.1)
    up.push(pcm_to_av_frame(mono, 16000, 1))
    up.flush()
    out = up.pull(up.pending_samples)
    assert out is not None
    stereo = out.reshape(-1, 2)
    np.testing.assert_array_equal(stereo[:, 0], stereo[:, 1])
    assert abs(int(np.abs(stereo[:, 0]).max()) - int(np.abs(mono).max())) < 0.02 * 32767


def test_queue_is_bounded_and_keeps_the_newest() -> None:
    resampler = PcmResampler(48000, 1, 48000, 1, max_pending_ms=200)
    assert resampler.max_pending_samples == 9600
    ramp = (np.arange(48000 // 2) % 30000).astype(np.int16)  # 500 ms, values = index
    for start in range(0, ramp.size, 480):
        resampler.push(ramp[start : start + 480])
    assert resampler.pending_samples == 9600
    assert resampler.dropped_samples == ramp.size - 9600
    kept = resampler.pull(9600)
    assert kept is not None
    np.testing.assert_array_equal(kept, ramp[-9600:])
    assert resampler.pending_samples == 0


def test_partial_drop_inside_a_chunk() -> None:
    resampler = PcmResampler(16000, 2, 16000, 2, max_pending_ms=10)  # 160 samples
    first = np.arange(200, dtype=np.int16)  # 100 samples
    second = np.arange(200, 400, dtype=np.int16)  # 100 samples
    resampler.push(first)
    resampler.push(second)
    assert resampler.dropped_samples == 40
    out = resampler.pull(160)
    assert out is not None
    np.testing.assert_array_equal(out, np.arange(80, 400, dtype=np.int16))


def test_pull_and_push_errors() -> None:
    resampler = PcmResampler(48000, 2, 48000, 2, max_pending_ms=20)
    with pytest.raises(ValueError, match="cannot pull 961 samples: at most 960 \\(20 ms at 48000"):
        resampler.pull(961)
    with pytest.raises(ValueError, match="samples must be positive"):
        resampler.pull(0)
    with pytest.raises(TypeError, match="int16 numpy array; got float64"):
        resampler.push(np.zeros(4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3 int16 values are not a whole number of 2-channel"):
        resampler.push(np.zeros(3, np.int16))
    with pytest.raises(ValueError, match="must be \\(samples, 2\\); got shape \\(4, 3\\)"):
        resampler.push(np.zeros((4, 3), np.int16))
    with pytest.raises(ValueError, match="channels must be 1 \\(mono\\) or 2 \\(stereo\\); got 6"):
        PcmResampler(48000, 6, 48000, 2)
    with pytest.raises(ValueError, match="out_rate must be a positive int"):
        PcmResampler(48000, 2, 0, 2)


def test_clear() -> None:
    resampler = PcmResampler(48000, 2, 16000, 1)
    resampler.push(_tone(440, 48000, 2, 0.1))
    assert resampler.pending_samples > 0
    resampler.clear()
    assert resampler.pending_samples == 0 and resampler.pull(1) is None


def test_mix_saturates() -> None:
    a = np.array([30000, -30000, 100, 32767, -32768], dtype=np.int16)
    b = np.array([10000, -10000, -50, 1, -1], dtype=np.int16)
    mixed = mix([a, b])
    assert mixed.dtype == np.int16
    assert list(mixed) == [32767, -32768, 50, 32767, -32768]
    # a sum that overflows int16 halfway but ends in range is exact (int32 accumulator)
    assert list(mix([a[:1], a[:1], np.array([-30000], np.int16)])) == [30000]
    single = mix([a])
    assert list(single) == list(a) and single is not a
    stereo = mix([np.ones((3, 2), np.int16), np.ones((3, 2), np.int16)])
    assert stereo.shape == (3, 2) and (stereo == 2).all()


def test_mix_errors() -> None:
    with pytest.raises(ValueError, match="mix\\(\\) needs at least one chunk; got none"):
        mix([])
    with pytest.raises(ValueError, match="chunks\\[1\\] has shape \\(3,\\) but chunks\\[0\\] has"):
        mix([np.zeros(2, np.int16), np.zeros(3, np.int16)])
    with pytest.raises(TypeError, match="chunks\\[0\\] must be an int16 numpy array; got float64"):
        mix([np.zeros(2)])  # type: ignore[list-item]


def test_silence() -> None:
    quiet = silence(960, 2)
    assert quiet.dtype == np.int16 and quiet.shape == (1920,) and not quiet.any()
    with pytest.raises(ValueError, match="channels must be 1"):
        silence(10, 3)


def test_pcm_av_frame_round_trip() -> None:
    data = _tone(440, 48000, 2, 0.02)
    frame = pcm_to_av_frame(data, 48000, 2, pts=960)
    assert (frame.format.name, frame.layout.name, frame.sample_rate) == ("s16", "stereo", 48000)
    assert frame.samples == 960 and frame.pts == 960 and frame.time_base == Fraction(1, 48000)
    np.testing.assert_array_equal(av_frame_to_pcm(frame), data)
    mono = pcm_to_av_frame(data[::2].reshape(-1, 1), 16000, 1)
    assert mono.layout.name == "mono" and mono.samples == 960


@pytest.mark.parametrize("av_format", ["s16p", "fltp", "flt", "s32", "s32p", "dblp", "u8"])
def test_av_frame_to_pcm_formats(av_format: str) -> None:
    data = _tone(440, 48000, 2, 0.02)
    source = pcm_to_av_frame(data, 48000, 2)
    (converted,) = av.AudioResampler(format=av_format, layout="stereo", rate=48000).resample(source)
    assert converted.format.name == av_format
    out = av_frame_to_pcm(converted)
    assert out.dtype == np.int16 and out.shape == data.shape
    tolerance = 256 if av_format == "u8" else 1
    assert np.abs(out.astype(int) - data).max() <= tolerance
