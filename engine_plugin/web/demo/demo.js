// The demo page: join engine_plugin calls from a browser with the browser SDK
// (/sdk/calling.js), next to games (Python agents) and other browsers.
//
// Element ids (stable: tests and people rely on them):
//   token                <textarea> the access token
//   get-token            <button> "Get a development token" (POST /dev/token); enabled only
//                        when GET /dev/config says {"devTokens": true}
//   dev-token-note       why get-token is disabled (or a warning that it is on)
//   display-name         <input> the name the others see
//   group-id             <input> the group call: ?group=<id> of the page's URL, else a new UUID
//   join, leave          <button>s
//   call-state           the call's state: 'not in a call', 'Connecting', 'Connected',
//                        'Disconnected (reason)', ...
//   status               the last thing that happened; every error lands here as
//                        "Error: ..." with class "error" (and in the log below)
//   log                  <ol> the last 30 status lines, newest first
//   video-source         <select> 'canvas' (generated video) | 'camera' | 'none'
//   camera-select        <select> which camera (shown when there are several)
//   start-video, stop-video
//   audio-source         <select> 'beep' (500 Hz beeps, Web Audio) | 'microphone' | 'none'
//   microphone-select    <select> which microphone (shown when there are several)
//   start-audio, stop-audio
//   audio-state          what we send as audio
//   start-screen-share, stop-screen-share
//   screen-bw            <input type=checkbox> black and white screen share (also mid-share)
//   local-video          <video> the video we send (or will send on joining); label local-video-label
//   local-screen         <video> the screen share we send (shown while sharing); label local-screen-label
//   remote-tiles         one div.tile per remote participant, with data-participant-id and
//                        data-display-name; inside, .tile-name, .tile-info (state, muted) and a
//                        <video data-stream-type="Video" | "ScreenSharing"> per available stream
//
// window.demo = {call, agent}: the current (or last) Call and the CallAgent, kept current.
//
// Video and audio are "on" or "off" whether or not we are in a call: what is
// on is sent from the moment we join, and the source can change at any time
// (LocalVideoStream.setMediaStream / switchSource, call.startAudio with another
// LocalAudioStream). Remote audio plays by itself (the SDK plays it).

import { AzureCommunicationTokenCredential, CallClient, LocalAudioStream, LocalVideoStream } from '/sdk/calling.js';

function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

const ui = {
  token: byId('token'),
  getToken: byId('get-token'),
  devTokenNote: byId('dev-token-note'),
  displayName: byId('display-name'),
  groupId: byId('group-id'),
  join: byId('join'),
  leave: byId('leave'),
  callState: byId('call-state'),
  status: byId('status'),
  log: byId('log'),
  videoSource: byId('video-source'),
  cameraSelect: byId('camera-select'),
  startVideo: byId('start-video'),
  stopVideo: byId('stop-video'),
  audioSource: byId('audio-source'),
  microphoneSelect: byId('microphone-select'),
  startAudio: byId('start-audio'),
  stopAudio: byId('stop-audio'),
  audioState: byId('audio-state'),
  startScreen: byId('start-screen-share'),
  stopScreen: byId('stop-screen-share'),
  screenBw: byId('screen-bw'),
  localVideo: byId('local-video'),
  localVideoLabel: byId('local-video-label'),
  localScreen: byId('local-screen'),
  localScreenLabel: byId('local-screen-label'),
  remoteTiles: byId('remote-tiles'),
};

const demo = { call: null, agent: null };
window.demo = demo;

const client = new CallClient();
let deviceManager = null;
let agentKey = ''; // the token and display name demo.agent signed in with
let devTokens = false;
let video = null; // while video is on: {choice, local: LocalVideoStream, canvas?, device?, preview?}
let audio = null; // while audio is on: {choice, local: LocalAudioStream, beep?, device?}
let screen = null; // while sharing: {local: LocalVideoStream, raw: MediaStream, bw?}
const cameras = new Map(); // deviceId -> VideoDeviceInfo
const microphones = new Map(); // deviceId -> AudioDeviceInfo

// --- Status: every error is shown ---------------------------------------------------

function log(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (isError) item.className = 'error';
  ui.log.prepend(item);
  while (ui.log.children.length > 30) ui.log.lastElementChild.remove();
}

function showError(error) {
  console.error('[demo]', error);
  let text = String(error);
  if (error instanceof Error || error instanceof DOMException) {
    // A device's OverconstrainedError has no message, only the constraint it could not meet.
    const message = error.message || (error.constraint ? `cannot satisfy "${error.constraint}"` : '');
    text = error.name && error.name !== 'Error' ? `${error.name}: ${message}` : message || 'Error';
  }
  log(`Error: ${text}`, true);
}

window.addEventListener('error', (event) => showError(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => showError(event.reason));

// User actions run one at a time, in order; what one throws is shown.
let actions = Promise.resolve();
function action(work) {
  return () => {
    actions = actions.then(async () => {
      try {
        await work();
      } catch (error) {
        showError(error);
      } finally {
        render();
      }
    });
    return actions;
  };
}

// SDK event handlers: what they throw (or reject with) is shown too.
function guard(handler) {
  return (...args) => {
    try {
      const result = handler(...args);
      if (result && typeof result.catch === 'function') result.catch(showError);
    } catch (error) {
      showError(error);
    }
  };
}

function stopTracks(stream) {
  stream?.getTracks().forEach((track) => track.stop());
}

function inCall() {
  return demo.call !== null && demo.call.state !== 'Disconnected' && demo.call.state !== 'Disconnecting';
}

function newGroupId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Pages served over plain http from another host have no randomUUID: a version 4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- Generated media ------------------------------------------------------------------

/** A moving picture drawn on a canvas: coloured squares bouncing on blue, and the time. */
function generatedVideo(width = 1280, height = 720, fps = 30) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const size = 120;
  const squares = ['red', 'yellow', 'lime', 'magenta', 'orange', 'white'].map((colour, i) => ({
    colour,
    x: (i * 197) % (width - size),
    y: (i * 131) % (height - size),
    dx: 4 + i,
    dy: 3 + ((i * 3) % 5),
  }));
  const draw = () => {
    ctx.fillStyle = 'blue';
    ctx.fillRect(0, 0, width, height);
    for (const square of squares) {
      square.x += square.dx;
      square.y += square.dy;
      if (square.x < 0 || square.x > width - size) square.dx = -square.dx;
      if (square.y < 0 || square.y > height - size) square.dy = -square.dy;
      ctx.fillStyle = square.colour;
      ctx.fillRect(square.x, square.y, size, size);
    }
    ctx.fillStyle = 'white';
    ctx.font = '48px sans-serif';
    ctx.fillText(new Date().toLocaleTimeString(), 32, height - 40);
  };
  draw();
  const timer = setInterval(draw, 1000 / fps);
  const stream = canvas.captureStream(fps);
  return {
    stream,
    stop() {
      clearInterval(timer);
      stopTracks(stream);
    },
  };
}

/** Beeps (`frequency` Hz, `beepMs` long, one every `periodMs`) as a MediaStream, from Web Audio. */
function beepingAudio(frequency = 500, beepMs = 250, periodMs = 1000) {
  const context = new AudioContext();
  const oscillator = context.createOscillator();
  oscillator.type = 'sine';
  oscillator.frequency.value = frequency;
  const gain = context.createGain();
  gain.gain.value = 0;
  const destination = context.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  let next = context.currentTime;
  const schedule = () => {
    next = Math.max(next, context.currentTime);
    while (next < context.currentTime + 2) {
      gain.gain.setValueAtTime(0.3, next);
      gain.gain.setValueAtTime(0, next + beepMs / 1000);
      next += periodMs / 1000;
    }
  };
  schedule();
  const timer = setInterval(schedule, 500);
  return {
    stream: destination.stream,
    // Browsers start an AudioContext only after a user gesture: Join and Start audio resume it.
    resume() {
      if (context.state === 'suspended') context.resume().catch(showError);
    },
    stop() {
      clearInterval(timer);
      oscillator.stop();
      stopTracks(destination.stream);
      context.close().catch(showError);
    },
  };
}

/**
 * The seed's black and white effect: the screen in a <video>, drawn through
 * ctx.filter = 'grayscale(1)' onto a canvas whose captureStream() is sent instead.
 */
function blackAndWhite(stream, fps = 30) {
  const settings = stream.getVideoTracks()[0]?.getSettings() ?? {};
  const width = settings.width || 1280;
  const height = settings.height || 720;
  let stopped = false;
  const source = document.createElement('video');
  source.muted = true;
  source.playsInline = true;
  source.srcObject = stream;
  source.play().catch((error) => {
    if (!stopped) showError(error);
  });
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  let timer = 0;
  const draw = () => {
    const begin = performance.now();
    try {
      ctx.filter = 'grayscale(1)';
      ctx.drawImage(source, 0, 0, width, height);
    } catch (error) {
      showError(error);
      return;
    }
    if (!stopped) timer = setTimeout(draw, Math.max(0, 1000 / fps - (performance.now() - begin)));
  };
  timer = setTimeout(draw, 0);
  const output = canvas.captureStream(fps);
  return {
    stream: output,
    stop() {
      stopped = true;
      clearTimeout(timer);
      source.srcObject = null;
      stopTracks(output);
    },
  };
}

// --- Devices ---------------------------------------------------------------------------

async function devices() {
  deviceManager ??= await client.getDeviceManager();
  return deviceManager;
}

function fillSelect(select, known, list) {
  const previous = select.value;
  known.clear();
  select.replaceChildren();
  for (const device of list) {
    known.set(device.id, device);
    select.append(new Option(device.name, device.id));
  }
  const preferred = list.find((d) => d.id === previous) ?? list.find((d) => d.isSystemDefault) ?? list[0];
  if (preferred) select.value = preferred.id;
}

/** Fill `select` with `kind` ('video' or 'audio') devices from `getDevices()`. */
async function listDevices(kind, getDevices, select, known) {
  let list = await getDevices();
  // Browsers list no devices until the page may use them: ask, then list again.
  if (list.length === 0 && (await (await devices()).askDevicePermission({ [kind]: true }))[kind]) {
    list = await getDevices();
  }
  fillSelect(select, known, list);
  return list;
}

async function listCameras() {
  const manager = await devices();
  const list = await listDevices('video', () => manager.getCameras(), ui.cameraSelect, cameras);
  if (list.length === 0) throw new Error('no camera: none was found, or camera access was refused');
}

async function listMicrophones() {
  const manager = await devices();
  const list = await listDevices('audio', () => manager.getMicrophones(), ui.microphoneSelect, microphones);
  if (list.length === 0) throw new Error('no microphone: none was found, or microphone access was refused');
}

async function chosenCamera() {
  if (!cameras.has(ui.cameraSelect.value)) await listCameras();
  return cameras.get(ui.cameraSelect.value);
}

async function chosenMicrophone() {
  if (!microphones.has(ui.microphoneSelect.value)) await listMicrophones();
  return microphones.get(ui.microphoneSelect.value);
}

// --- Video -----------------------------------------------------------------------------

async function makeVideo(choice) {
  if (choice === 'canvas') {
    const canvas = generatedVideo();
    return { choice, canvas, local: new LocalVideoStream(canvas.stream) };
  }
  if (choice === 'camera') {
    const device = await chosenCamera();
    return { choice, device, local: new LocalVideoStream(device) };
  }
  throw new Error('choose a video source first');
}

/** Free what `v` holds once no call sends it. */
function releaseVideo(v) {
  v.canvas?.stop();
  stopTracks(v.preview); // a camera's MediaStream taken with getMediaStream() is ours to stop
  v.local.dispose();
}

async function showVideoPreview() {
  const v = video;
  if (v === null) {
    ui.localVideo.srcObject = null;
    return;
  }
  if (v.choice === 'canvas') {
    ui.localVideo.srcObject = v.canvas.stream;
  } else {
    v.preview ??= await v.local.getMediaStream();
    if (video === v) ui.localVideo.srcObject = v.preview;
  }
}

async function startVideo() {
  if (video !== null) throw new Error('video is already on');
  const v = await makeVideo(ui.videoSource.value);
  const call = inCall() ? demo.call : null;
  try {
    await call?.startVideo(v.local);
  } catch (error) {
    releaseVideo(v); // the call has taken it back already
    throw error;
  }
  video = v;
  await showVideoPreview();
  log(call ? 'Video started' : 'Video on: sent when you join');
}

async function stopVideo() {
  const v = video;
  if (v === null) return;
  if (inCall() && demo.call.localVideoStreams.includes(v.local)) await demo.call.stopVideo(v.local);
  video = null;
  releaseVideo(v);
  await showVideoPreview();
  log('Video stopped');
}

/** The video source (or camera) changed: switch what is sent, without stopping the video. */
async function switchVideo() {
  const choice = ui.videoSource.value;
  if (choice === 'camera') await listCameras();
  const v = video;
  if (v === null) return; // off: Start video will use the new choice
  if (choice === 'none') {
    await stopVideo();
    return;
  }
  if (choice === 'canvas') {
    if (v.choice === 'canvas') return;
    const canvas = generatedVideo();
    try {
      await v.local.setMediaStream(canvas.stream);
    } catch (error) {
      canvas.stop();
      throw error;
    }
    stopTracks(v.preview);
    video = { choice, canvas, local: v.local };
  } else {
    const device = await chosenCamera();
    if (v.choice === 'camera' && device.id === v.device.id) return;
    await v.local.switchSource(device);
    stopTracks(v.preview);
    v.canvas?.stop();
    video = { choice, device, local: v.local };
  }
  await showVideoPreview();
  log(`Video switched to ${describeVideo(video)}`);
}

function describeVideo(v) {
  return v.choice === 'canvas' ? 'the generated video (1280x720, 30 fps)' : `camera "${v.device.name}"`;
}

/** After a call: the SDK let go of a camera it opened; preview (and later send) a fresh one. */
async function refreshCameraPreview() {
  if (video?.choice !== 'camera' || inCall()) return;
  stopTracks(video.preview);
  video.preview = null;
  await showVideoPreview();
}

// --- Audio -----------------------------------------------------------------------------

async function makeAudio(choice) {
  if (choice === 'beep') {
    const beep = beepingAudio();
    beep.resume();
    return { choice, beep, local: new LocalAudioStream(beep.stream) };
  }
  if (choice === 'microphone') {
    const device = await chosenMicrophone();
    return { choice, device, local: new LocalAudioStream(device) };
  }
  throw new Error('choose an audio source first');
}

function releaseAudio(a) {
  a.beep?.stop();
  a.local.dispose(); // a microphone the SDK opened is closed
}

async function startAudio() {
  if (audio !== null) throw new Error('audio is already on');
  const a = await makeAudio(ui.audioSource.value);
  const call = inCall() ? demo.call : null;
  try {
    await call?.startAudio(a.local);
  } catch (error) {
    releaseAudio(a); // the call has taken it back already
    throw error;
  }
  audio = a;
  log(call ? 'Audio started' : 'Audio on: sent when you join');
}

async function stopAudio() {
  const a = audio;
  if (a === null) return;
  if (inCall() && demo.call.localAudioStreams.includes(a.local)) await demo.call.stopAudio();
  audio = null;
  releaseAudio(a);
  log('Audio stopped');
}

/** The audio source (or microphone) changed: send the new one instead (call.startAudio replaces). */
async function switchAudio() {
  const choice = ui.audioSource.value;
  if (choice === 'microphone') await listMicrophones();
  const previous = audio;
  if (previous === null) return;
  if (choice === 'none') {
    await stopAudio();
    return;
  }
  if (choice === previous.choice && (choice === 'beep' || (await chosenMicrophone()).id === previous.device.id)) return;
  const next = await makeAudio(choice);
  const call = inCall() ? demo.call : null;
  try {
    await call?.startAudio(next.local);
  } catch (error) {
    releaseAudio(next); // the call went back to the previous stream
    throw error;
  }
  audio = next;
  releaseAudio(previous);
  log(`Audio switched to ${describeAudio(next)}`);
}

function describeAudio(a) {
  return a.choice === 'beep' ? 'beeps (500 Hz)' : `microphone "${a.device.name}"`;
}

// --- Screen sharing ----------------------------------------------------------------------

async function startScreenShare() {
  if (!inCall()) throw new Error('join a call to share the screen');
  if (screen !== null) throw new Error('the screen is already shared');
  const call = demo.call;
  await call.startScreenSharing(); // the browser asks which screen, window or tab
  const local = call.localVideoStreams.find((stream) => stream.mediaStreamType === 'ScreenSharing');
  if (local === undefined) throw new Error('the screen share stopped at once');
  const raw = await local.getMediaStream(); // ours to stop from now on
  // The browser's own "Stop sharing" ends the share in the SDK (also under the black
  // and white effect): isScreenSharingOnChanged then cleans up (followCall).
  screen = { local, raw, bw: null };
  await updateScreenEffect();
  log('Sharing the screen');
}

/** Apply or remove the black and white effect to the screen share, as the checkbox says. */
async function updateScreenEffect() {
  const share = screen;
  if (share === null) return;
  if (ui.screenBw.checked && share.bw === null) {
    const bw = blackAndWhite(share.raw);
    try {
      await share.local.setMediaStream(bw.stream);
    } catch (error) {
      bw.stop();
      throw error;
    }
    share.bw = bw;
  } else if (!ui.screenBw.checked && share.bw !== null) {
    const bw = share.bw;
    await share.local.setMediaStream(share.raw);
    share.bw = null;
    bw.stop();
  }
  showScreenPreview();
}

async function stopScreenShare() {
  if (screen === null) return;
  if (inCall() && demo.call.isScreenSharingOn) await demo.call.stopScreenSharing();
  cleanUpScreen();
  log('Screen sharing stopped');
}

function cleanUpScreen() {
  const share = screen;
  if (share === null) return;
  screen = null;
  share.bw?.stop();
  stopTracks(share.raw);
  showScreenPreview();
}

function showScreenPreview() {
  ui.localScreen.srcObject = screen === null ? null : (screen.bw?.stream ?? screen.raw);
}

// --- Remote participants -----------------------------------------------------------------

const tiles = new Map(); // RemoteParticipant -> {element, videoBox, videos: Map(RemoteVideoStream -> <video>), off}

function addTile(participant) {
  if (tiles.has(participant)) return;
  const element = document.createElement('div');
  element.className = 'tile';
  element.dataset.participantId = participant.participantId ?? participant.identifier?.communicationUserId ?? '';
  const name = document.createElement('span');
  name.className = 'tile-name';
  const info = document.createElement('span');
  info.className = 'tile-info';
  const videoBox = document.createElement('div');
  videoBox.className = 'tile-videos';
  element.append(name, info, videoBox);
  const tile = { element, videoBox, videos: new Map(), off: [] };
  tiles.set(participant, tile);
  const on = (target, event, handler) => {
    const guarded = guard(handler);
    target.on(event, guarded);
    tile.off.push(() => target.off(event, guarded));
  };
  const describe = () => {
    element.dataset.displayName = participant.displayName;
    name.textContent = participant.displayName || '(no name)';
    info.textContent = participant.isMuted ? `${participant.state}, muted` : participant.state;
  };
  const watch = (stream) => {
    on(stream, 'isAvailableChanged', () => showRemoteStream(tile, stream));
    showRemoteStream(tile, stream).catch(showError);
  };
  on(participant, 'displayNameChanged', describe);
  on(participant, 'stateChanged', describe);
  on(participant, 'isMutedChanged', describe);
  on(participant, 'videoStreamsUpdated', (event) => {
    event.added.forEach(watch);
    event.removed.forEach((stream) => dropRemoteVideo(tile, stream));
  });
  describe();
  participant.videoStreams.forEach(watch);
  ui.remoteTiles.append(element);
}

/** One <video> per available stream: camera first, then the screen share. */
async function showRemoteStream(tile, stream) {
  if (!stream.isAvailable) {
    dropRemoteVideo(tile, stream);
    return;
  }
  if (tile.videos.has(stream)) return;
  const element = document.createElement('video');
  element.autoplay = true;
  element.muted = true; // remote audio is played by the SDK, not by the tiles
  element.playsInline = true;
  element.dataset.streamType = stream.mediaStreamType;
  tile.videos.set(stream, element);
  if (stream.mediaStreamType === 'ScreenSharing') tile.videoBox.append(element);
  else tile.videoBox.prepend(element);
  const mediaStream = await stream.getMediaStream();
  if (tile.videos.get(stream) === element) element.srcObject = mediaStream;
}

function dropRemoteVideo(tile, stream) {
  const element = tile.videos.get(stream);
  if (element === undefined) return;
  tile.videos.delete(stream);
  element.srcObject = null;
  element.remove();
}

function removeTile(participant) {
  const tile = tiles.get(participant);
  if (tile === undefined) return;
  tiles.delete(participant);
  tile.off.forEach((off) => off());
  [...tile.videos.keys()].forEach((stream) => dropRemoteVideo(tile, stream));
  tile.element.remove();
}

function clearTiles() {
  [...tiles.keys()].forEach(removeTile);
}

// --- Signing in, joining, leaving ------------------------------------------------------------

async function getDevToken() {
  const displayName = ui.displayName.value.trim();
  const response = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(displayName ? { displayName } : {}),
  });
  const body = await response.json().catch(() => null);
  if (response.status !== 201 || typeof body?.token !== 'string') {
    throw new Error(`POST /dev/token answered ${response.status}: ${body?.error?.message ?? response.statusText}`);
  }
  ui.token.value = body.token;
  log(`Got a development token for ${body.userId} (valid until ${body.expiresOn})`);
}

async function loadConfig() {
  try {
    const response = await fetch('/dev/config');
    if (!response.ok) throw new Error(`GET /dev/config answered ${response.status}`);
    devTokens = (await response.json()).devTokens === true;
  } catch (error) {
    ui.devTokenNote.textContent = 'Cannot ask the service whether it gives development tokens.';
    throw error;
  }
  ui.devTokenNote.textContent = devTokens
    ? 'Development only: this service gives a token to anyone who can reach it.'
    : 'Disabled: the service must be started with --dev-tokens (LocalCallingService(dev_tokens=True)) ' +
      'to give tokens here. Paste a token instead.';
}

/** demo.agent, signed in with `token` and `displayName` (a new agent when either changed). */
async function signIn(token, displayName) {
  const key = `${token}\n${displayName}`;
  const current = demo.agent;
  if (current !== null && current.connectionState === 'Connected' && agentKey === key) return current;
  demo.agent = null;
  if (current !== null) await current.dispose();
  const agent = await client.createCallAgent(new AzureCommunicationTokenCredential(token), { displayName });
  agent.on(
    'connectionStateChanged',
    guard(() => {
      if (agent === demo.agent && agent.connectionState === 'Disconnected') {
        showError(new Error('the calling service closed the connection'));
        render();
      }
    }),
  );
  demo.agent = agent;
  agentKey = key;
  log(`Signed in as ${agent.userId}`);
  return agent;
}

/**
 * Browsers hide their local addresses from pages without camera or microphone
 * permission (only obfuscated mDNS names are offered, and none for loopback),
 * so a call with a game on the same machine could not connect: ask for the
 * microphone once, unless a permission is already granted.
 */
async function makeAddressesVisible() {
  const states = await Promise.all(
    ['camera', 'microphone'].map((name) =>
      navigator.permissions.query({ name }).then(
        (status) => status.state,
        () => 'prompt',
      ),
    ),
  );
  if (states.includes('granted')) return;
  const granted = await (await devices()).askDevicePermission({ audio: true });
  if (!granted.audio) {
    log('No microphone permission: the browser hides its addresses, so a call on this machine may not connect');
  }
}

async function join() {
  if (inCall()) throw new Error('already in a call: leave it first');
  const token = ui.token.value.trim();
  if (!token) throw new Error(`paste an access token first${devTokens ? ', or get a development token' : ''}`);
  const groupId = ui.groupId.value.trim();
  const displayName = ui.displayName.value.trim();
  audio?.beep?.resume();
  log(`Joining group ${groupId}…`);
  await makeAddressesVisible();
  const agent = await signIn(token, displayName);
  const options = {};
  if (video !== null) options.videoOptions = { localVideoStreams: [video.local] };
  if (audio !== null) options.audioOptions = { localAudioStreams: [audio.local] };
  const call = agent.join({ groupId }, options);
  followCall(call, groupId);
  history.replaceState(null, '', `?group=${encodeURIComponent(groupId)}`);
}

async function leave() {
  if (!inCall()) throw new Error('not in a call');
  await demo.call.hangUp();
}

function followCall(call, groupId) {
  clearTiles();
  demo.call = call;
  call.on('stateChanged', guard(() => callStateChanged(call, groupId)));
  call.on(
    'remoteParticipantsUpdated',
    guard((event) => {
      if (call !== demo.call) return;
      event.added.forEach(addTile);
      event.removed.forEach(removeTile);
    }),
  );
  call.on(
    'isScreenSharingOnChanged',
    guard(() => {
      if (call === demo.call && !call.isScreenSharingOn) cleanUpScreen(); // e.g. the browser's "Stop sharing"
      render();
    }),
  );
  call.remoteParticipants.forEach(addTile);
  callStateChanged(call, groupId);
}

function callStateChanged(call, groupId) {
  if (call !== demo.call) return;
  let text = call.state;
  if (call.state === 'Disconnected') {
    const reason = call.callEndReason;
    if (reason) text += ` (${reason.reason})`;
    clearTiles();
    cleanUpScreen();
    if (reason && reason.reason !== 'left') {
      showError(new Error(`the call ended: ${reason.reason}${reason.message ? ` (${reason.message})` : ''}`));
    } else {
      log('Left the call');
    }
    action(refreshCameraPreview)();
  } else if (call.state === 'Connected') {
    log(`In group ${groupId} (call ${call.id})`);
  }
  ui.callState.textContent = text;
  render();
}

// --- Rendering and wiring --------------------------------------------------------------------

function render() {
  const joined = inCall();
  ui.getToken.disabled = !devTokens;
  ui.join.disabled = joined;
  ui.leave.disabled = !joined;
  ui.startVideo.disabled = video !== null || ui.videoSource.value === 'none';
  ui.stopVideo.disabled = video === null;
  ui.startAudio.disabled = audio !== null || ui.audioSource.value === 'none';
  ui.stopAudio.disabled = audio === null;
  ui.startScreen.disabled = !joined || screen !== null;
  ui.stopScreen.disabled = !joined || screen === null;
  ui.cameraSelect.hidden = ui.videoSource.value !== 'camera' || cameras.size < 2;
  ui.microphoneSelect.hidden = ui.audioSource.value !== 'microphone' || microphones.size < 2;
  const when = joined ? 'sending' : 'sent when you join';
  ui.localVideoLabel.textContent = video === null ? 'video: off' : `video: ${describeVideo(video)}, ${when}`;
  ui.audioState.textContent = audio === null ? 'audio: off' : `audio: ${describeAudio(audio)}, ${when}`;
  ui.localScreen.parentElement.hidden = screen === null;
  ui.localScreenLabel.textContent = `screen share${screen?.bw ? ' (black and white)' : ''}: sending`;
  if (demo.call === null) ui.callState.textContent = 'not in a call';
}

function wire() {
  ui.getToken.addEventListener('click', action(getDevToken));
  ui.join.addEventListener('click', action(join));
  ui.leave.addEventListener('click', action(leave));
  ui.videoSource.addEventListener('change', action(switchVideo));
  ui.cameraSelect.addEventListener('change', action(switchVideo));
  ui.startVideo.addEventListener('click', action(startVideo));
  ui.stopVideo.addEventListener('click', action(stopVideo));
  ui.audioSource.addEventListener('change', action(switchAudio));
  ui.microphoneSelect.addEventListener('change', action(switchAudio));
  ui.startAudio.addEventListener('click', action(startAudio));
  ui.stopAudio.addEventListener('click', action(stopAudio));
  ui.startScreen.addEventListener('click', action(startScreenShare));
  ui.stopScreen.addEventListener('click', action(stopScreenShare));
  ui.screenBw.addEventListener('change', action(updateScreenEffect));
  window.addEventListener('pagehide', () => demo.agent?.dispose().catch(showError));
}

async function init() {
  ui.groupId.value = new URLSearchParams(location.search).get('group') || newGroupId();
  wire();
  render();
  await loadConfig().catch(showError);
  // What is selected is on from the start: joining sends it.
  if (ui.videoSource.value !== 'none') await startVideo();
  if (ui.audioSource.value !== 'none') await startAudio();
  log(devTokens ? 'Ready: get a development token (or paste one), then Join' : 'Ready: paste a token, then Join');
}

action(init)();
