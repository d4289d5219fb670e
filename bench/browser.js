// The page half of bench/browser.py: a browser in a call through the SDK (/sdk/calling.js),
// sending or receiving the pattern whose barcode carries the wall clock.
//
// The barcode is the one of engine_plugin/media/test_patterns.py, bit for bit:
// 40 cells of floor(width / 40) pixels across (centred) in a band of
// even(max(8, floor(height / 12))) rows at the top; cells 2 and 37 black, 3
// and 36 white, cells 4-35 the 24-bit number (most significant first) and its
// CRC-8 (polynomial 0x07, output XOR 0x55); the rest of the band grey (128).
// The reader follows read_frame_number / read_frame_number_i420: BT.601 luma (or
// the Y plane itself), the middle half of each cell, the same contrast,
// reference-spread and margin checks, then the CRC.
//
// The stamp is Date.now() modulo 2**24 (milliseconds): on one machine that is
// the clock Python's time.time() reads, so either side can tell a frame's age.
//
//   const bench = await import('/bench/browser.js');
//   await bench.startReceiver({token, groupId});   // records every frame shown
//   await bench.startSender({token, groupId, width: 1280, height: 720, fps: 30});
//   bench.state  // what was sent and received, for Python to collect

export const MODULUS = 2 ** 24;
const CELLS = 40;
const BLACK_REFS = [2, 37];
const WHITE_REFS = [3, 36];
const FIRST_BIT_CELL = 4;
const CODE_BITS = 32;
const GREY = 128;
const MIN_CONTRAST = 60.0;
const MIN_MARGIN = 0.2;
const MOVER_PERIOD = 120;
const MOVER_COLOUR = 'rgb(255,255,0)'; // seed 0's moving square, as pattern_frame draws it

const even = (value) => value - (value % 2);

/** Where the barcode and the moving square sit in a width x height frame (null when too small). */
export function layout(width, height) {
  if (width < 2 * CELLS || height < 48) return null;
  const cellW = Math.floor(width / CELLS);
  const bandH = even(Math.max(8, Math.floor(height / 12)));
  const margin = even(Math.max(2, Math.floor(height / 40)));
  const markerW = even(Math.floor(width / 5));
  const markerH = even(Math.floor(height / 5));
  const free = height - bandH - 3 * margin - 2 * markerH;
  const mover = Math.floor(Math.max(4, Math.min(Math.floor(height / 6), free - 2)) / 4) * 4;
  const top = bandH + margin + markerH;
  const bottom = height - margin - markerH;
  return {
    width,
    height,
    cellW,
    x0: Math.floor((width - CELLS * cellW) / 2),
    bandH,
    mover,
    moverY: even(top + Math.floor((bottom - top - mover) / 2)),
  };
}

/** CRC-8 of a 24-bit value, as test_patterns._crc8. */
export function crc8(value) {
  let crc = 0;
  for (const byte of [(value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc ^ 0x55;
}

/** The 40 cell values (0, 128 or 255) of the barcode of `number`. */
export function barcodeCells(number) {
  const value = ((number % MODULUS) + MODULUS) % MODULUS;
  const code = value * 256 + crc8(value); // 32 bits: kept as a double, not an int32
  const cells = new Array(CELLS).fill(GREY);
  for (const c of BLACK_REFS) cells[c] = 0;
  for (const c of WHITE_REFS) cells[c] = 255;
  for (let bit = 0; bit < CODE_BITS; bit++) {
    const set = Math.floor(code / 2 ** (CODE_BITS - 1 - bit)) % 2 === 1;
    cells[FIRST_BIT_CELL + bit] = set ? 255 : 0;
  }
  return cells;
}

/** Draw the barcode of `number` into the top band of a 2D context's width x height canvas. */
export function stampBarcode(ctx, width, height, number) {
  const lay = layout(width, height);
  ctx.fillStyle = `rgb(${GREY},${GREY},${GREY})`;
  ctx.fillRect(0, 0, width, lay.bandH);
  barcodeCells(number).forEach((value, cell) => {
    if (value === GREY) return;
    ctx.fillStyle = `rgb(${value},${value},${value})`;
    ctx.fillRect(lay.x0 + cell * lay.cellW, 0, lay.cellW, lay.bandH);
  });
}

/**
 * Read the number from 8-bit luma samples (`luma[y * stride + x]`, at least the band) of a
 * width x height frame, as read_frame_number_i420 reads a Y plane; null when it cannot be
 * read reliably.
 */
export function readBarcodeLuma(luma, stride, width, height) {
  const lay = layout(width, height);
  if (lay === null || luma.length < stride * (lay.bandH - 1) + width) return null;
  const r0 = Math.floor(lay.bandH / 4);
  const r1 = Math.max(r0 + 1, lay.bandH - Math.floor(lay.bandH / 4));
  const c0 = Math.floor(lay.cellW / 4);
  const c1 = Math.max(c0 + 1, lay.cellW - Math.floor(lay.cellW / 4));
  const values = new Float64Array(CELLS);
  for (let cell = 0; cell < CELLS; cell++) {
    let sum = 0;
    const left = lay.x0 + cell * lay.cellW;
    for (let y = r0; y < r1; y++) {
      const row = y * stride + left;
      for (let x = c0; x < c1; x++) sum += luma[row + x];
    }
    values[cell] = sum / ((r1 - r0) * (c1 - c0));
  }
  const black = (values[BLACK_REFS[0]] + values[BLACK_REFS[1]]) / 2;
  const white = (values[WHITE_REFS[0]] + values[WHITE_REFS[1]]) / 2;
  const contrast = white - black;
  if (contrast < MIN_CONTRAST) return null;
  const spread = Math.max(
    Math.abs(values[BLACK_REFS[0]] - values[BLACK_REFS[1]]),
    Math.abs(values[WHITE_REFS[0]] - values[WHITE_REFS[1]]),
  );
  if (spread > contrast * (0.5 - MIN_MARGIN)) return null;
  let code = 0;
  for (let bit = 0; bit < CODE_BITS; bit++) {
    const position = (values[FIRST_BIT_CELL + bit] - black) / contrast;
    if (Math.abs(position - 0.5) < MIN_MARGIN) return null;
    code = code * 2 + (position > 0.5 ? 1 : 0);
  }
  const value = Math.floor(code / 256);
  return crc8(value) === code % 256 ? value : null;
}

/**
 * Read the number from 4-byte pixels (`data`, rows of `width` pixels, at least the band) of
 * a width x height frame, as read_frame_number reads them (BT.601 luma); `order` is 'rgba'
 * (default) or 'bgra'. Null when it cannot be read reliably.
 */
export function readBarcode(data, width, height, order = 'rgba') {
  const lay = layout(width, height);
  if (lay === null || data.length < width * lay.bandH * 4) return null;
  const [r, b] = order === 'bgra' ? [2, 0] : [0, 2];
  const luma = new Float32Array(width * lay.bandH);
  for (let i = 0, j = 0; i < luma.length; i++, j += 4) {
    luma[i] = 0.299 * data[j + r] + 0.587 * data[j + 1] + 0.114 * data[j + b];
  }
  return readBarcodeLuma(luma, width, width, height);
}

const LUMA_FIRST = new Set(['I420', 'I420A', 'I422', 'I422A', 'I444', 'I444A', 'NV12']);

/**
 * Read the barcode of a WebCodecs VideoFrame, copying only its band (the Y plane where
 * the frame has one: no colour conversion). Resolves null when it cannot be read.
 */
export async function readVideoFrame(frame) {
  const visible = frame.visibleRect;
  const width = visible.width;
  const height = visible.height;
  const lay = layout(width, height);
  if (lay === null || frame.format === null) return null;
  const rect = { x: visible.x, y: visible.y, width, height: lay.bandH };
  const buffer = new Uint8Array(frame.allocationSize({ rect }));
  const planes = await frame.copyTo(buffer, { rect });
  const { offset, stride } = planes[0];
  if (LUMA_FIRST.has(frame.format)) return readBarcodeLuma(buffer.subarray(offset), stride, width, height);
  const order = frame.format.startsWith('BGR') ? 'bgra' : 'rgba';
  if (stride !== width * 4) return null;
  return readBarcode(buffer.subarray(offset), width, height, order);
}

/** Milliseconds since `stamp` (a Date.now() modulo 2**24) at `nowMs`. */
export function stampAge(stamp, nowMs) {
  return (((nowMs - stamp) % MODULUS) + MODULUS) % MODULUS;
}

// --------------------------------------------------------------------------- in a call

/** What this page sent and received; Python reads it with page.evaluate. */
export const state = {
  sent: [], // [Date.now() when drawn, stamp]
  // [Date.now() in the frame callback, stamp or -1, width, height, receive->present ms or -1,
  //  presentedFrames, ms spent reading the barcode]
  received: [],
  errors: [],
  sender: null, // {canvas, track, timer}
  receiver: null, // {video}
  calls: [],
};

async function signIn(token, displayName) {
  const sdk = await import('/sdk/calling.js');
  const credential = new sdk.AzureCommunicationTokenCredential(token);
  const agent = await new sdk.CallClient().createCallAgent(credential, { displayName });
  return { sdk, agent };
}

function waitConnected(call, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (call.state === 'Connected') {
        call.off('stateChanged', check);
        resolve(call);
      } else if (call.state === 'Disconnected') {
        call.off('stateChanged', check);
        reject(new Error(`the call ended: ${JSON.stringify(call.callEndReason)}`));
      }
    };
    call.on('stateChanged', check);
    setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms (state ${call.state})`)), timeoutMs);
    check();
  });
}

/**
 * Join `groupId` and show the first remote camera stream in a <video>. Every frame shown
 * (requestVideoFrameCallback) is recorded with Date.now() at the callback; its barcode is
 * then read from `new VideoFrame(video)`, copying only the band's Y plane.
 */
export async function startReceiver({ token, groupId, displayName = 'Browser receiver' }) {
  const { agent } = await signIn(token, displayName);
  const call = agent.join({ groupId });
  state.calls.push({ agent, call });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.style.width = '320px';
  document.body.append(video);
  state.receiver = { video };

  const onFrame = (_now, meta) => {
    const shownAt = Date.now();
    const began = performance.now();
    video.requestVideoFrameCallback(onFrame);
    const inside = meta.receiveTime !== undefined ? meta.presentationTime - meta.receiveTime : -1;
    const record = (stamp) => {
      const readMs = performance.now() - began;
      const row = [shownAt, stamp ?? -1, meta.width, meta.height, inside, meta.presentedFrames, readMs];
      state.received.push(row);
    };
    let frame = null;
    try {
      frame = new VideoFrame(video, { timestamp: 0 });
    } catch {
      record(null); // the element has no frame to give (seen once, as the first frame arrives)
      return;
    }
    readVideoFrame(frame)
      .then(record)
      .catch((error) => state.errors.push(String(error)))
      .finally(() => frame.close());
  };

  let watching = null;
  const watchStream = (stream) => {
    if (watching !== null || stream.mediaStreamType !== 'Video') return;
    watching = stream;
    const show = async () => {
      if (!stream.isAvailable) return;
      video.srcObject = await stream.getMediaStream();
      await video.play();
    };
    stream.on('isAvailableChanged', () => show().catch((e) => state.errors.push(String(e))));
    show().catch((e) => state.errors.push(String(e)));
  };
  const watchParticipant = (participant) => {
    participant.videoStreams.forEach(watchStream);
    participant.on('videoStreamsUpdated', ({ added }) => added.forEach(watchStream));
  };
  call.remoteParticipants.forEach(watchParticipant);
  call.on('remoteParticipantsUpdated', ({ added }) => added.forEach(watchParticipant));
  video.requestVideoFrameCallback(onFrame);
  await waitConnected(call);
  return call.id;
}

/**
 * Join `groupId` sending a width x height canvas: the pattern's background (fetched from
 * `backgroundUrl`, raw RGBA), its moving square and the barcode of Date.now(), drawn
 * `fps` times a second and sent as `new LocalVideoStream(canvas.captureStream())`
 * (`captureStream(captureFps)` when `captureFps` > 0), with the track's `contentHint`.
 */
export async function startSender({
  token,
  groupId,
  width = 1280,
  height = 720,
  fps = 30,
  contentHint = '',
  captureFps = 0,
  backgroundUrl = '/bench/background.rgba',
  displayName = 'Browser sender',
}) {
  const lay = layout(width, height);
  const bytes = new Uint8ClampedArray(await (await fetch(`${backgroundUrl}?width=${width}&height=${height}`)).arrayBuffer());
  if (bytes.length !== width * height * 4) throw new Error(`background: ${bytes.length} bytes for ${width}x${height}`);
  const background = new ImageData(bytes, width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = '320px';
  document.body.append(canvas);
  const ctx = canvas.getContext('2d', { alpha: false });
  ctx.putImageData(background, 0, 0);

  let moverX = null;
  const draw = (frame) => {
    const phase = (frame % MOVER_PERIOD) / MOVER_PERIOD;
    const x = even(Math.round((1 - Math.abs(2 * phase - 1)) * (width - lay.mover)));
    if (x !== moverX) {
      if (moverX !== null) ctx.putImageData(background, 0, 0, moverX, lay.moverY, lay.mover, lay.mover);
      const inner = lay.mover / 4;
      ctx.fillStyle = MOVER_COLOUR;
      ctx.fillRect(x, lay.moverY, lay.mover, lay.mover);
      ctx.fillStyle = 'rgb(0,0,0)';
      ctx.fillRect(x + inner, lay.moverY + inner, lay.mover - 2 * inner, lay.mover - 2 * inner);
      moverX = x;
    }
    const now = Date.now();
    const stamp = now % MODULUS;
    stampBarcode(ctx, width, height, stamp);
    state.sent.push([now, stamp]);
  };
  draw(0);

  // captureFps 0: a frame for every drawing (captureStream()); else captureStream(captureFps),
  // which captures on a timer of its own.
  const mediaStream = captureFps > 0 ? canvas.captureStream(captureFps) : canvas.captureStream();
  const track = mediaStream.getVideoTracks()[0];
  if (contentHint) track.contentHint = contentHint;
  const { sdk, agent } = await signIn(token, displayName);
  const local = new sdk.LocalVideoStream(mediaStream);
  const call = agent.join({ groupId }, { videoOptions: { localVideoStreams: [local] } });
  state.calls.push({ agent, call });

  // Paced on a fixed schedule (no drift); a late tick draws once and keeps to the schedule.
  const period = 1000 / fps;
  const epoch = performance.now();
  let frame = 1;
  const tick = () => {
    draw(frame);
    frame += 1;
    let next = epoch + frame * period;
    const now = performance.now();
    if (next < now) {
      frame = Math.ceil((now - epoch) / period);
      next = epoch + frame * period;
    }
    state.sender.timer = setTimeout(tick, next - now);
  };
  state.sender = { canvas, track, timer: setTimeout(tick, period) };
  await waitConnected(call);
  return call.id;
}

/** Stop drawing, hang up and sign out. */
export async function stop() {
  if (state.sender !== null) clearTimeout(state.sender.timer);
  for (const { agent } of state.calls) await agent.dispose();
  state.calls = [];
}

/** Copies of what was recorded since the last `take()` (and clear them). */
export function take() {
  const out = { sent: state.sent, received: state.received, errors: state.errors };
  state.sent = [];
  state.received = [];
  state.errors = [];
  return out;
}

// --------------------------------------------------------------------------- WebRTC statistics

/** Record every RTCPeerConnection the page makes (run before the SDK is imported). */
export function watchPeerConnections() {
  if (window.__benchPeerConnections) return;
  const Native = window.RTCPeerConnection;
  const made = [];
  window.__benchPeerConnections = made;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
}

/** Video RTP statistics summed over the page's open peer connections (cumulative counters). */
export async function videoStats() {
  const out = { inbound: null, outbound: null, source: null };
  for (const pc of window.__benchPeerConnections ?? []) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    const codecs = new Map();
    report.forEach((s) => {
      if (s.type === 'codec') codecs.set(s.id, s.mimeType);
    });
    report.forEach((s) => {
      if (s.kind !== 'video') return;
      if (s.type === 'media-source' && (s.frames ?? 0) > 0) {
        out.source = { frames: s.frames, width: s.width ?? 0, height: s.height ?? 0 };
      }
      const codec = codecs.get(s.codecId) ?? '';
      if (s.type === 'inbound-rtp' && (s.framesDecoded ?? 0) > 0) {
        out.inbound = {
          codec,
          bytes: s.bytesReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          framesDropped: s.framesDropped ?? 0,
          totalDecodeTime: s.totalDecodeTime ?? 0,
          jitterBufferDelay: s.jitterBufferDelay ?? 0,
          jitterBufferEmittedCount: s.jitterBufferEmittedCount ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          decoder: s.decoderImplementation ?? '',
        };
      } else if (s.type === 'outbound-rtp' && (s.framesEncoded ?? 0) > 0) {
        out.outbound = {
          codec,
          bytes: s.bytesSent ?? 0,
          framesEncoded: s.framesEncoded ?? 0,
          totalEncodeTime: s.totalEncodeTime ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          targetBitrate: s.targetBitrate ?? 0,
          qualityLimitationReason: s.qualityLimitationReason ?? '',
          qualityLimitationDurations: s.qualityLimitationDurations ?? {},
          encoder: s.encoderImplementation ?? '',
        };
      }
    });
  }
  return out;
}
