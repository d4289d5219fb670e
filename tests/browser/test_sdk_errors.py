"""The browser SDK refuses bad input with errors that say what was expected, and recovers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engine_plugin import LocalCallingService

from .browser_helpers import BrowserAgent

# Each line: a statement run in the page, and the start of the message its error must have.
REFUSALS = [
    (
        "new sdk.AzureCommunicationTokenCredential('not-a-jwt')",
        "AzureCommunicationTokenCredential: expected an access token",
    ),
    (
        "new sdk.AzureCommunicationTokenCredential(42)",
        "AzureCommunicationTokenCredential expects an access token string",
    ),
    (
        "agent.join({ groupId: 'no spaces allowed' })",
        "callAgent.join: groupId must be 1-128 letters",
    ),
    ("agent.join('room')", "callAgent.join expects {groupId: string}"),
    ("agent.startCall([])", "callAgent.startCall: expected 1-32 participants"),
    (
        "agent.startCall([{ phoneNumber: '+1' }])",
        "callAgent.startCall: expected {communicationUserId",
    ),
    (
        "agent.join({ groupId: 'g' }, { videoOptions: { localVideoStreams: ['x'] } })",
        "callAgent.join: videoOptions.localVideoStreams must be an array of at most one",
    ),
    (
        "new sdk.LocalVideoStream(document.createElement('canvas'))",
        "LocalVideoStream expects a MediaStream with a video track",
    ),
    (
        "new sdk.LocalVideoStream(kit.toneStream())",
        "LocalVideoStream.constructor: the MediaStream has no video track",
    ),
    (
        "new sdk.LocalAudioStream(kit.quadrantStream())",
        "LocalAudioStream.constructor: the MediaStream has no audio track",
    ),
    (
        "agent.on('callAdded', () => {})",
        "CallAgent has no event 'callAdded'; its events: 'callsUpdated'",
    ),
    (
        "agent.on('incomingCall', 'not a function')",
        "CallAgent.on('incomingCall', handler): handler must be a function",
    ),
    ("sdk.setLogLevel('loud')", "setLogLevel: expected one of verbose, info, warning, error"),
]


@pytest.mark.timeout(60)
def test_bad_input_gets_a_clear_error(page: Any, web_service: LocalCallingService) -> None:
    browser = BrowserAgent(page, web_service)
    errors = browser.run(
        """statements => statements.map(statement => {
            try { eval(statement); return 'no error'; }
            catch (error) { return `${error.name}: ${error.message}`; }
        })""",
        [statement for statement, _ in REFUSALS],
    )
    for (statement, expected), error in zip(REFUSALS, errors, strict=True):
        assert error.startswith("TypeError: " + expected), (statement, error)
    assert browser.run("agent.calls.length") == 0  # nothing half-made was kept


@pytest.mark.timeout(60)
def test_misused_calls_say_why_and_keep_working(
    page: Any, web_service: LocalCallingService
) -> None:
    browser = BrowserAgent(page, web_service)
    result = browser.run(
        """async group => {
            const errors = [];
            const attempt = async (action) => {
                try { await action(); errors.push('no error'); }
                catch (error) { errors.push(error.message); }
            };
            const call = agent.join({ groupId: group });
            await kit.until(() => call.state === 'Connected', 'Connected');
            const video = new sdk.LocalVideoStream(kit.quadrantStream());
            await call.startVideo(video);
            await attempt(() => call.startVideo(new sdk.LocalVideoStream(kit.quadrantStream())));
            await attempt(() => call.stopVideo(new sdk.LocalVideoStream(kit.quadrantStream())));
            await attempt(() => call.startVideo('camera'));
            // A camera that does not exist: the call takes it back and goes on.
            const missing = new sdk.VideoDeviceInfo('no-such-camera', 'Missing');
            await call.stopVideo(video);
            await attempt(() => call.startVideo(new sdk.LocalVideoStream(missing)));
            const afterwards = call.localVideoStreams.length;
            await call.startAudio(new sdk.LocalAudioStream(kit.toneStream()));
            await call.startVideo(video);
            // A custom stream switched to a camera sends the camera.
            const devices = await new sdk.CallClient().getDeviceManager();
            const [camera] = await devices.getCameras();
            await video.switchSource(camera);
            const switched = (await video.getMediaStream()).getVideoTracks()[0].label;
            await call.hangUp();
            await attempt(() => call.startVideo(video));
            return { errors, afterwards, switched, camera: camera.name, type: video.mediaStreamType,
                     state: call.state, sending: call.localAudioStreams.length };
        }""",
        str(uuid.uuid4()),
    )
    assert result["errors"][0].startswith("call.startVideo: video is already on")
    assert result["errors"][1].startswith("call.stopVideo expects the same LocalVideoStream")
    assert result["errors"][2] == "call.startVideo expects a LocalVideoStream, got string"
    assert result["errors"][3].startswith("cannot open the camera 'Missing' (no-such-camera)")
    assert result["errors"][4] == "call.startVideo: the call has ended"
    assert result["afterwards"] == 0
    assert result["type"] == "Video"
    assert result["switched"] == result["camera"]  # the camera's track, not the canvas's
    assert result["state"] == "Disconnected"
