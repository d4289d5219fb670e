"""The seed quickstart's JavaScript flows, each run in Chromium against a game.

Each test runs the seed's snippets (``pages/seed.js``) the way the quickstart
does, with the Python SDK as the other side: a ``SyntheticParticipant`` that
answers (or joins) and sends its pattern and a 440 Hz tone, and records what
the browser sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from engine_plugin import (
    LocalCallingService,
    MediaStreamType,
    VideoStreamState,
)
from engine_plugin.testing import SyntheticParticipant

from ..conftest import wait_until
from ..sdk.media_helpers import AudioRecorder
from .browser_helpers import RGBA_IN, BrowserAgent, GameVideo, hears, mixed_audio_in

VIDEO = MediaStreamType.VIDEO
SCREEN = MediaStreamType.SCREEN_SHARING
S = VideoStreamState
ON_OFF = [S.AVAILABLE, S.STARTED, S.STOPPED, S.NOT_AVAILABLE]  # a remote stream, on then off


def _blue_share(frame: np.ndarray) -> float:
    """The fraction of the seed canvas's blue background in ``frame``."""
    rgb = frame[..., :3].astype(np.int16)
    return float(((rgb[..., 2] > 180) & (rgb[..., 0] < 80) & (rgb[..., 1] < 80)).mean())


def _saturation(frame: np.ndarray) -> float:
    """Mean distance between the largest and smallest channel (0 for grey)."""
    rgb = frame[..., :3].astype(np.int16)
    return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())


def _hears_500_hz(recorder: AudioRecorder, *, seconds: float = 1.0) -> bool:
    buffers = int(seconds * 50)
    start = len(recorder)
    wait_until(lambda: len(recorder) >= start + buffers, timeout=20, what="mixed audio")
    return hears(recorder, 500.0, seconds)


@pytest.fixture
def game(web_service: LocalCallingService) -> Iterator[SyntheticParticipant]:
    with SyntheticParticipant(web_service.connection_string, "Game", tone_hz=440.0) as game:
        yield game


@pytest.fixture
def browser(page: Any, web_service: LocalCallingService) -> BrowserAgent:
    return BrowserAgent(page, web_service, "Browser")


@pytest.mark.timeout(90)
def test_start_a_call_with_a_custom_audio_stream_and_read_the_incoming_audio(
    browser: BrowserAgent, game: SyntheticParticipant
) -> None:
    # "Passer un appel avec un flux audio personnalisé" and
    # "Accéder à un flux audio brut entrant".
    browser.run(
        """userId => {
            const mediaStream = seed.createBeepAudioStreamToSend();
            const localAudioStream = new sdk.LocalAudioStream(mediaStream);
            const callOptions = { audioOptions: { localAudioStreams: [localAudioStream] } };
            const call = agent.startCall(userId, callOptions);
            window.call = call;
            window.states = kit.record(call, 'stateChanged', 'state');
            window.heard = new Promise(resolve => {
                const callStateChangedHandler = async () => {
                    if (call.state === 'Connected') {
                        const remoteAudioStream = call.remoteAudioStreams[0];
                        const mediaStream = await remoteAudioStream.getMediaStream();
                        // process the incoming call's audio media stream track
                        resolve(await kit.listen(mediaStream, 440, 2000));
                    }
                };
                call.on('stateChanged', callStateChangedHandler);
            });
        }""",
        game.user_id,
    )
    mixed = mixed_audio_in()
    recorder = AudioRecorder(mixed)
    game.answer(incoming_audio=mixed)
    heard = browser.run("heard")
    assert abs(heard["peakHz"] - 440) < 12, heard
    assert heard["levelDb"] > heard["medianDb"] + 30, heard
    assert _hears_500_hz(recorder)
    assert browser.run("states") == ["Connecting", "Ringing", "Connected"]


@pytest.mark.timeout(90)
def test_switch_to_a_custom_audio_stream_mid_call(
    browser: BrowserAgent, game: SyntheticParticipant
) -> None:
    # "Basculer vers un flux audio personnalisé au cours d'un appel": from the
    # (fake) microphone to the seed's beep.
    browser.run(
        """async userId => {
            const deviceManager = await new sdk.CallClient().getDeviceManager();
            const [microphone] = await deviceManager.getMicrophones();
            const call = agent.startCall(userId, {
                audioOptions: { localAudioStreams: [new sdk.LocalAudioStream(microphone)] } });
            window.call = call;
            // The test lets the handler go on once the game has heard the microphone.
            const microphoneHeard = new Promise(resolve => { window.letGo = resolve; });
            window.switched = new Promise(resolve => {
                const mediaStream = seed.createBeepAudioStreamToSend();
                const localAudioStream = new sdk.LocalAudioStream(mediaStream);
                const callStateChangedHandler = async () => {
                    if (call.state === 'Connected') {
                        await kit.until(() => call.remoteParticipants[0]?.state === 'Connected',
                                        'media');
                        await microphoneHeard;
                        await call.startAudio(localAudioStream);
                        resolve(call.localAudioStreams.map(s => s.mediaStreamType));
                    }
                };
                call.on('stateChanged', callStateChangedHandler);
            });
        }""",
        game.user_id,
    )
    mixed = mixed_audio_in()
    recorder = AudioRecorder(mixed)
    game.answer(incoming_audio=mixed)
    wait_until(lambda: len(recorder) >= 25, timeout=15, what="audio from the microphone")
    assert not _hears_500_hz(recorder, seconds=0.5)
    browser.run("letGo()")
    assert browser.run("switched") == ["RawMedia"]
    wait_until(lambda: _hears_500_hz(recorder, seconds=0.5), timeout=10, what="the beep")


@pytest.mark.timeout(90)
def test_start_a_call_with_a_custom_video_stream_then_stop_it(
    browser: BrowserAgent, game: SyntheticParticipant
) -> None:
    # "Passer un appel avec un flux vidéo personnalisé" and "Interrompre le flux vidéo
    # personnalisé".
    browser.run(
        """userId => {
            const mediaStream = seed.createVideoMediaStreamToSend();
            window.localVideoStream = new sdk.LocalVideoStream(mediaStream);
            const callOptions = { videoOptions: { localVideoStreams: [localVideoStream] } };
            window.call = agent.startCall(userId, callOptions);
        }""",
        game.user_id,
    )
    received = GameVideo(game.answer(incoming_video=RGBA_IN))
    frame = received.fresh_frame(VIDEO, lambda f: _blue_share(f) > 0.2)
    assert frame.shape[:2] == (845, 1500)
    assert browser.run("localVideoStream.mediaStreamType") == "RawMedia"
    # Stop video by passing the same `localVideoStream` instance that was used to start video
    browser.run("call.stopVideo(localVideoStream)")
    wait_until(lambda: received.states[VIDEO][-1] is S.NOT_AVAILABLE, what="the stream to go")
    assert received.states[VIDEO] == ON_OFF
    assert browser.run("call.localVideoStreams.length") == 0


@pytest.mark.timeout(90)
def test_switch_from_the_camera_to_a_custom_video_stream_mid_call(
    browser: BrowserAgent, game: SyntheticParticipant
) -> None:
    # "Basculer vers un flux vidéo personnalisé au cours d'un appel".
    browser.run(
        """async userId => {
            const deviceManager = await new sdk.CallClient().getDeviceManager();
            const [camera] = await deviceManager.getCameras();
            const call = agent.startCall(userId, {
                videoOptions: { localVideoStreams: [new sdk.LocalVideoStream(camera)] } });
            window.call = call;
            window.types = [call.localVideoStreams[0].mediaStreamType];
            // The test lets the handler go on once the game has seen the camera.
            const cameraSeen = new Promise(resolve => { window.letGo = resolve; });
            window.switched = new Promise(resolve => {
                const callStateChangedHandler = async () => {
                    if (call.state === 'Connected') {
                        await kit.until(() => call.remoteParticipants[0]?.state === 'Connected',
                                        'media');
                        await cameraSeen;
                        const mediaStream = seed.createVideoMediaStreamToSend();
                        const localVideoStream = call.localVideoStreams.find((stream) => {
                            return stream.mediaStreamType === 'Video' });
                        await localVideoStream.setMediaStream(mediaStream);
                        types.push(localVideoStream.mediaStreamType);
                        resolve(types);
                    }
                };
                call.on('stateChanged', callStateChangedHandler);
            });
        }""",
        game.user_id,
    )
    received = GameVideo(game.answer(incoming_video=RGBA_IN))
    camera = received.fresh_frame(VIDEO, lambda f: f.shape[:2] == (480, 640))
    assert _blue_share(camera) < 0.2  # Chromium's fake camera, not the seed's canvas
    browser.run("letGo()")
    assert browser.run("switched") == ["Video", "RawMedia"]
    frame = received.fresh_frame(VIDEO, lambda f: _blue_share(f) > 0.2)
    assert frame.shape[:2] == (845, 1500)
    assert received.states[VIDEO] == [S.AVAILABLE, S.STARTED]  # one stream throughout


@pytest.mark.timeout(90)
def test_screen_sharing_with_a_custom_stream(
    browser: BrowserAgent, game: SyntheticParticipant, web_service: LocalCallingService
) -> None:
    # "Lancez le partage d'écran avec un flux de partage d'écran personnalisé", then
    # "Interrompez l'envoi de flux de partage d'écran".
    group = str(uuid.uuid4())
    received = GameVideo(game.join(group, incoming_video=RGBA_IN))
    browser.run(
        """async group => {
            window.call = agent.join({ groupId: group });
            await kit.until(() => call.state === 'Connected', 'Connected');
            const mediaStream = seed.createVideoMediaStreamToSend();
            window.localScreenSharingStream = new sdk.LocalVideoStream(mediaStream);
            // Will start screen sharing with custom raw media stream
            await call.startScreenSharing(localScreenSharingStream);
            console.log(localScreenSharingStream.mediaStreamType) // 'RawMedia'
        }""",
        group,
    )
    assert browser.run("localScreenSharingStream.mediaStreamType") == "RawMedia"
    assert browser.run("call.isScreenSharingOn") is True
    frame = received.fresh_frame(SCREEN, lambda f: _blue_share(f) > 0.2)
    assert frame.shape[:2] == (845, 1500)
    assert VIDEO not in received.states  # a screen share, not a camera
    # Stop sending raw screen sharing stream
    browser.run("call.stopScreenSharing(localScreenSharingStream)")
    wait_until(lambda: received.states[SCREEN][-1] is S.NOT_AVAILABLE, what="the share to go")
    assert received.states[SCREEN] == ON_OFF
    assert browser.run("call.isScreenSharingOn") is False


@pytest.mark.timeout(90)
def test_black_and_white_effect_on_a_screen_share(
    tab_sharing_page: Any, web_service: LocalCallingService, game: SyntheticParticipant
) -> None:
    # "Accédez au flux de partage d'écran brut ... et appliquez des effets au flux":
    # the page's own tab (painted in colours) is shared, then turned grey by the seed's effect.
    group = str(uuid.uuid4())
    received = GameVideo(game.join(group, incoming_video=RGBA_IN))
    browser = BrowserAgent(tab_sharing_page, web_service, "Browser")
    browser.run(
        """() => {
            kit.paintQuadrants(document.body);
            // The user picks this tab in the browser's screen picker.
            const devices = navigator.mediaDevices;
            const pick = devices.getDisplayMedia.bind(devices);
            devices.getDisplayMedia = (options) => pick({ ...options, preferCurrentTab: true });
        }"""
    )
    browser.run(
        """async group => {
            window.call = agent.join({ groupId: group });
            await kit.until(() => call.state === 'Connected', 'Connected');
            // Call startScreenSharing API without passing any stream parameter.
            await call.startScreenSharing();
            window.localScreenSharingStream = call.localVideoStreams.find( (stream) => {
                return stream.mediaStreamType === 'ScreenSharing' });
        }""",
        group,
    )
    assert browser.run("localScreenSharingStream.mediaStreamType") == "ScreenSharing"
    colourful = received.fresh_frame(SCREEN, lambda f: _saturation(f) > 80)
    assert colourful.shape[:2] == (720, 1280)  # the tab, as the game receives it
    browser.run(
        """async () => {
            // Get the raw media stream from the screen, browser tab, or application
            const rawMediaStream = await localScreenSharingStream.getMediaStream();
            // Apply effects to the media stream as you wish
            const blackAndWhiteMediaStream = seed.applyBlackAndWhiteEffect(rawMediaStream);
            // Set the media stream with effects no the local screen sharing stream
            await localScreenSharingStream.setMediaStream(blackAndWhiteMediaStream);
        }"""
    )
    grey = received.fresh_frame(SCREEN, lambda f: _saturation(f) < 6 and f[..., :3].std() > 20)
    # The quadrants in shades of grey (not a flat frame).
    assert grey.shape[:2] == (720, 1280)  # the effect's canvas
    # Stop screen sharing and clean up the black and white video filter
    browser.run("call.stopScreenSharing().then(() => seed.stopBlackAndWhiteEffect())")
    wait_until(lambda: received.states[SCREEN][-1] is S.NOT_AVAILABLE, what="the share to go")
    assert received.states[SCREEN] == ON_OFF
    assert browser.run("seed.bwVideoElem.srcObject") is None


@pytest.mark.timeout(90)
def test_a_remote_stream_followed_with_is_available_changed(
    browser: BrowserAgent, game: SyntheticParticipant
) -> None:
    # "Accéder au flux vidéo entrant d'un participant distant": the game stops and
    # restarts its video; the browser follows with isAvailableChanged.
    group = str(uuid.uuid4())
    call = game.join(group)
    browser.run(
        """async group => {
            window.call = agent.join({ groupId: group });
            await kit.until(() => call.remoteParticipants.length === 1, 'the game');
            const remoteParticipants = call.remoteParticipants;
            const remoteVideoStream = remoteParticipants[0].videoStreams.find((stream) => {
                return stream.mediaStreamType === 'Video'});
            window.seen = [];
            const processMediaStream = async () => {
                if (remoteVideoStream.isAvailable) {
                    // remote video stream is turned on, process the video's raw media stream.
                    const mediaStream = await remoteVideoStream.getMediaStream();
                    const watched = await kit.watch(mediaStream);
                    await kit.moreFrames(watched, 15);
                    seen.push(['on', watched.video.videoWidth]);
                } else {
                    // remote video stream is turned off, handle it
                    seen.push(['off']);
                }
            };
            remoteVideoStream.on('isAvailableChanged', async () => {
                await processMediaStream();
            });
            await processMediaStream();
        }""",
        group,
    )
    call.stop_video(game.video).result(10)
    browser.run("kit.until(() => seen.length === 2, 'off')")
    call.start_video(game.video).result(10)
    browser.run("kit.until(() => seen.length === 3, 'on again')")
    assert browser.run("seen") == [["on", 640], ["off"], ["on", 640]]
