"""The 3D demo: a room whose walls show the other participants, filmed by a moving camera we send.

``main.py`` parses the command line and calls :func:`run`.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from panda3d.core import CardMaker, Filename, TextNode, loadPrcFileData

from engine_plugin import (
    CallAgentOptions,
    CallClient,
    CommunicationIdentityClient,
    CommunicationTokenCredential,
    GroupCallLocator,
    IncomingAudioOptions,
    IncomingVideoOptions,
    JoinCallOptions,
    LocalCallingService,
    OutgoingAudioOptions,
    OutgoingVideoOptions,
    RawIncomingAudioStream,
    RawIncomingAudioStreamOptions,
    RawOutgoingAudioStream,
    RawOutgoingAudioStreamOptions,
    RawOutgoingVideoStreamOptions,
    VideoStreamFormat,
    VideoStreamPixelFormat,
    VideoStreamResolution,
    VirtualOutgoingVideoStream,
)
from engine_plugin.engine import (
    PositionalVoices,
    SceneCamera,
    WallLayout,
    default_outgoing_feeder,
    setup,
)
from engine_plugin.testing.offscreen import OFFSCREEN_PRC

from .overlay import StatsOverlay
from .room import ROOM_DEPTH, Orbit, Spinner, build_room

log = logging.getLogger("demo")
bot_log = logging.getLogger("demo.bot")

ROOT = Path(__file__).resolve().parent.parent
HEADLESS_DEFAULT_DURATION = 20.0


def has_display() -> bool:
    """True when a window can be opened (an X11 or Wayland display is set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _start_bot(connection_string: str, group: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "scenes.bot",
        "--connection-string",
        connection_string,
        "--group",
        group,
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    bot = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    ready = threading.Event()

    def forward(stream: IO[str]) -> None:
        # Keep draining the bot's output (a full pipe would stall it), into our log.
        for line in stream:
            if line.strip() == "ready":
                ready.set()
            else:
                bot_log.info("%s", line.rstrip())
        ready.set()

    assert bot.stdout is not None
    threading.Thread(
        target=forward, args=(bot.stdout,), name="demo-bot-output", daemon=True
    ).start()
    try:
        if not ready.wait(30) or bot.poll() is not None:
            raise RuntimeError("the bot participant did not start")
    except BaseException:  # interrupted (SIGINT, SIGTERM) or failed: no orphan
        _stop_bot(bot)
        raise
    log.info("bot participant running (pid %d)", bot.pid)
    return bot


def _stop_bot(bot: subprocess.Popen[str] | None) -> None:
    if bot is None or bot.poll() is not None:
        return
    bot.terminate()
    try:
        bot.wait(10)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.wait(5)


def run(args: argparse.Namespace) -> int:
    """Run the demo with ``main.py``'s arguments; returns the exit status."""
    headless = args.headless or not has_display()
    duration = args.duration
    if duration is None and headless:
        duration = HEADLESS_DEFAULT_DURATION
    service: LocalCallingService | None = None
    bot: subprocess.Popen[str] | None = None
    connection_string = args.connection_string
    group = args.group or str(uuid.uuid4())
    if args.token:
        credential = CommunicationTokenCredential(args.token)
        if args.endpoint and credential.endpoint.rstrip("/") != args.endpoint.rstrip("/"):
            raise SystemExit(
                f"the token was issued by {credential.endpoint}, not by {args.endpoint}"
            )
    else:
        if connection_string is None:
            # Development tokens let a browser join from the page (on 127.0.0.1 only).
            service = LocalCallingService(dev_tokens=True).start()
            connection_string = service.connection_string
            log.info("calling service at %s", service.endpoint)
            print(f"Browser page: {service.page_url}?group={quote(group, safe=':')}", flush=True)
        identity = CommunicationIdentityClient.from_connection_string(connection_string)
        _user, token = identity.create_user_and_token(["voip"])
        credential = CommunicationTokenCredential(token.token)
    agent = CallClient().create_call_agent(credential, CallAgentOptions("Game")).result(10)
    try:
        if not args.no_bot and connection_string is not None:
            bot = _start_bot(connection_string, group)
        return _run_scene(args, agent, group, headless, duration)
    finally:
        agent.dispose()
        _stop_bot(bot)
        if service is not None:
            service.stop()


def _show_what_we_send(base: Any, scene_camera: SceneCamera) -> None:
    """A small picture of the scene camera's view (what the others receive) in a corner."""
    maker = CardMaker("what-we-send")
    maker.setFrame(-0.48, 0, 0, 0.27)
    card = base.a2dBottomRight.attachNewNode(maker.generate())
    card.setPos(-0.03, 0, 0.03)
    card.setTexture(scene_camera.texture)
    label = TextNode("what-we-send-label")
    label.setText("what we send")
    label.setAlign(TextNode.ARight)
    text = card.attachNewNode(label)
    text.setScale(0.035)
    text.setPos(0, 0, 0.285)


def _run_scene(
    args: argparse.Namespace, agent: Any, group: str, headless: bool, duration: float | None
) -> int:
    from direct.showbase.ShowBase import ShowBase

    if headless:
        loadPrcFileData("demo", OFFSCREEN_PRC + "win-size 1280 720\n")
        log.info("no display (or --headless): rendering offscreen")
    else:
        loadPrcFileData("demo", "window-title engine_plugin demo\nwin-size 1280 720\n")
    base = ShowBase()
    base.disableMouse()
    base.setBackgroundColor(0.08, 0.09, 0.11, 1)
    base.cam.setPos(0, -3.5, 3.2)
    base.cam.lookAt(0, ROOM_DEPTH * 0.6, 2.4)
    plugin = setup(base)
    room = build_room(base, base.render)
    plugin.add(Spinner(room.find("**/red-box"), 40.0))
    plugin.add(Spinner(room.find("**/teapot"), -25.0))

    resolution = VideoStreamResolution[args.resolution.upper()]
    fmt = VideoStreamFormat(
        resolution=resolution,
        pixel_format=VideoStreamPixelFormat.BGRX,
        frames_per_second=resolution.max_frames_per_second,
    )
    camera_stream = VirtualOutgoingVideoStream(RawOutgoingVideoStreamOptions(formats=[fmt]))
    voice_out = RawOutgoingAudioStream(RawOutgoingAudioStreamOptions())
    # Each participant's voice comes from their wall (unmixed audio, positional).
    voices_in = RawIncomingAudioStream(RawIncomingAudioStreamOptions(receive_unmixed_audio=True))
    options = JoinCallOptions(
        outgoing_video_options=OutgoingVideoOptions(streams=[camera_stream]),
        incoming_video_options=IncomingVideoOptions(pixel_format=VideoStreamPixelFormat.BGRX),
        outgoing_audio_options=OutgoingAudioOptions(stream=voice_out),
        incoming_audio_options=IncomingAudioOptions(stream=voices_in),
    )
    call = agent.join(GroupCallLocator(group), options).result(10)
    log.info("joined group %s; sending the scene camera at %s", group, resolution.name)
    feeder = default_outgoing_feeder(voice_out, tone_frequency=330.0).start()

    layout = plugin.add(
        WallLayout(call, parent=room, center=(0, ROOM_DEPTH - 0.05, 3.3), wall_height=2.4)
    )
    plugin.add(PositionalVoices(voices_in, layout.node_of))
    scene_camera = plugin.add(SceneCamera(camera_stream, parent=base.render, fov=70))
    plugin.add(
        Orbit(scene_camera.camera, target=(0, ROOM_DEPTH / 2 + 1, 1.0), radius=4.0, height=2.2)
    )
    overlay = plugin.add(StatsOverlay(base.a2dTopLeft, layout, scene_camera))
    _show_what_we_send(base, scene_camera)

    finished = {"done": False}

    def finish(*_: object) -> None:
        if finished["done"]:
            return
        finished["done"] = True
        if args.screenshot:
            base.graphicsEngine.renderFrame()
            path = Path(args.screenshot).resolve()
            base.win.saveScreenshot(Filename.fromOsSpecific(str(path)))
            log.info("screenshot saved to %s", path)
        base.taskMgr.stop()

    base.accept("escape", finish)
    if duration is not None:
        base.taskMgr.doMethodLater(duration, finish, "demo-duration")
        log.info("running for %.0f s%s", duration, "" if headless else " (ESC quits)")
    else:
        log.info("running until ESC")
    started = time.monotonic()
    base.taskMgr.run()
    log.info(
        "ran %.1f s; last overlay:\n  %s", time.monotonic() - started, "\n  ".join(overlay.lines)
    )
    feeder.stop()
    call.hang_up().result(10)
    plugin.destroy()
    base.destroy()
    return 0
