"""Media model (layer 1): formats, frames, buffers, conversions, resampling and mixing.

Pure data and computation: numpy and PyAV only, no sockets, threads or
asyncio. The SDK layer builds the streams on top of these names.
"""

from .audio_format import (
    AudioStreamBufferDuration,
    AudioStreamChannelMode,
    AudioStreamFormat,
    AudioStreamSampleRate,
    AudioStreamState,
    InvalidAudioBufferError,
    InvalidAudioFormatError,
    RawIncomingAudioStreamProperties,
    RawOutgoingAudioStreamProperties,
    check_outgoing_buffer_size,
)
from .audio_processing import PcmResampler, av_frame_to_pcm, mix, pcm_to_av_frame, silence
from .frames import (
    TICKS_PER_SECOND,
    InvalidVideoFrameError,
    RawAudioBuffer,
    RawVideoFrameBuffer,
    plane_array,
)
from .video_conversion import VideoConverter, av_pixel_format, from_av_frame, to_av_frame
from .video_format import (
    InvalidVideoFormatError,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    validate_formats,
)

__all__ = [
    "TICKS_PER_SECOND",
    "AudioStreamBufferDuration",
    "AudioStreamChannelMode",
    "AudioStreamFormat",
    "AudioStreamSampleRate",
    "AudioStreamState",
    "InvalidAudioBufferError",
    "InvalidAudioFormatError",
    "InvalidVideoFormatError",
    "InvalidVideoFrameError",
    "PcmResampler",
    "RawAudioBuffer",
    "RawIncomingAudioStreamProperties",
    "RawOutgoingAudioStreamProperties",
    "RawVideoFrameBuffer",
    "VideoConverter",
    "VideoStreamFormat",
    "VideoStreamPixelFormat",
    "VideoStreamResolution",
    "av_frame_to_pcm",
    "av_pixel_format",
    "check_outgoing_buffer_size",
    "from_av_frame",
    "mix",
    "pcm_to_av_frame",
    "plane_array",
    "silence",
    "to_av_frame",
    "validate_formats",
]
