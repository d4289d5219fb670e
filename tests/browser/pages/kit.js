// Browser-side helpers for the browser tests: known media to send, and what was received.

/** Yellow, magenta, cyan and black quadrants: the browser's video, told apart from the game's. */
export const QUADRANTS = ['#ffff00', '#ff00ff', '#00ffff', '#000000'];

/** A canvas painted in four solid quadrants 30 times a second, as a MediaStream. */
export function quadrantStream(width = 640, height = 360, colours = QUADRANTS, fps = 30) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const paint = () => {
    colours.forEach((colour, i) => {
      ctx.fillStyle = colour;
      ctx.fillRect((i % 2) * (width / 2), Math.floor(i / 2) * (height / 2), width / 2, height / 2);
    });
  };
  paint();
  const timer = setInterval(paint, 1000 / fps);
  const stream = canvas.captureStream(fps);
  stream.getVideoTracks()[0].addEventListener('ended', () => clearInterval(timer));
  return stream;
}

/**
 * Fill `element` with four coloured quadrants and a moving white square:
 * something colourful to share as a tab, repainted all the time (a tab
 * capture only sends frames when the page paints).
 */
export function paintQuadrants(element, colours = ['#ff0000', '#00c000', '#0000ff', '#ffff00']) {
  element.style.margin = '0';
  const quadrants = colours.map((colour, i) => {
    const div = document.createElement('div');
    div.style.cssText =
      `position:fixed;width:50vw;height:50vh;background:${colour};` +
      `left:${(i % 2) * 50}vw;top:${Math.floor(i / 2) * 50}vh`;
    return div;
  });
  const mover = document.createElement('div');
  mover.style.cssText = 'position:fixed;width:40px;height:40px;background:#fff;top:45vh';
  element.replaceChildren(...quadrants, mover);
  const move = (now) => {
    mover.style.left = `${Math.round((now / 10) % 200)}px`;
    requestAnimationFrame(move);
  };
  requestAnimationFrame(move);
}

/** A continuous sine tone as a MediaStream. */
export function toneStream(frequency = 500) {
  const context = new AudioContext();
  const destination = context.createMediaStreamDestination();
  const oscillator = context.createOscillator();
  oscillator.type = 'sine';
  oscillator.frequency.value = frequency;
  oscillator.connect(destination);
  oscillator.start();
  return destination.stream;
}

/** Play `mediaStream` in a muted <video> and count the frames it decodes. */
export async function watch(mediaStream) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = mediaStream;
  document.body.append(video);
  const watched = { video, frames: 0 };
  const count = () => {
    watched.frames += 1;
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  await video.play();
  return watched;
}

/** Wait until `watched` has decoded `count` more frames (rejects after `timeoutMs`). */
export async function moreFrames(watched, count = 10, timeoutMs = 10000) {
  const target = watched.frames + count;
  const start = performance.now();
  while (watched.frames < target) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(`only ${watched.frames - target + count} of ${count} frames in ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The video's current frame as `{width, height, rgba}` (base64 of width*height*4 bytes). */
export function grab(video) {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0);
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let binary = '';
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
  }
  return { width: canvas.width, height: canvas.height, rgba: btoa(binary) };
}

/**
 * Listen to `mediaStream` for `ms` milliseconds: the strongest frequency and
 * the level (dB) at `frequency` and, for comparison, the median level.
 */
export async function listen(mediaStream, frequency, ms = 1500) {
  const context = new AudioContext({ sampleRate: 48000 });
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.5;
  context.createMediaStreamSource(mediaStream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  await context.close();
  const hzPerBin = context.sampleRate / analyser.fftSize;
  let peak = 0;
  for (let i = 1; i < bins.length; i += 1) if (bins[i] > bins[peak]) peak = i;
  const at = Math.round(frequency / hzPerBin);
  const level = Math.max(...bins.slice(Math.max(0, at - 2), at + 3));
  const sorted = [...bins].filter(Number.isFinite).sort((a, b) => a - b);
  return {
    peakHz: peak * hzPerBin,
    levelDb: level,
    medianDb: sorted.length ? sorted[Math.floor(sorted.length / 2)] : -Infinity,
  };
}

/** Resolve once `predicate()` is true (polling), or reject after `timeoutMs` saying `what`. */
export async function until(predicate, what, timeoutMs = 15000) {
  const start = performance.now();
  while (!(await predicate())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Record `object[property]` now and each time `object` fires `event`. */
export function record(object, event, property) {
  const values = [object[property]];
  object.on(event, () => values.push(object[property]));
  return values;
}
