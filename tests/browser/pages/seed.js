// The seed quickstart's JavaScript snippets (the raw media access page), as they are
// written there, made into functions. Where the page lost a line in extraction
// (the oscillator is never connected or started, a `Date.now()` is missing) the
// line is restored and marked "restored".

export const createBeepAudioStreamToSend = () => {
  const context = new AudioContext();
  const dest = context.createMediaStreamDestination();
  const os = context.createOscillator();
  os.type = 'sine';
  os.frequency.value = 500;
  os.connect(dest); // restored
  os.start(); // restored
  const { stream } = dest;
  return stream;
};

export const createVideoMediaStreamToSend = () => {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  canvas.width = 1500;
  canvas.height = 845;
  ctx.fillStyle = 'blue';
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  const colors = ['red', 'yellow', 'green'];
  window.setInterval(() => {
    if (ctx) {
      ctx.fillStyle = colors[Math.floor(Math.random() * colors.length)];
      const x = Math.floor(Math.random() * canvas.width);
      const y = Math.floor(Math.random() * canvas.height);
      const size = 100;
      ctx.fillRect(x, y, size, size);
    }
  }, 1000 / 30);

  return canvas.captureStream(30);
};

export let bwTimeout;
export let bwVideoElem;

export const applyBlackAndWhiteEffect = function (stream) {
  let width = 1280,
    height = 720;
  bwVideoElem = document.createElement('video');
  bwVideoElem.srcObject = stream;
  bwVideoElem.height = height;
  bwVideoElem.width = width;
  bwVideoElem.muted = true; // restored: the element must play for drawImage to see frames
  bwVideoElem.play(); // restored
  const canvas = document.createElement('canvas');
  const bwCtx = canvas.getContext('2d', { willReadFrequently: true });
  canvas.width = width;
  canvas.height = height;
  const FPS = 30;
  const processVideo = function () {
    try {
      let begin = Date.now(); // restored: `Date.now()`
      // start processing.
      // NOTE: The Canvas context filter API is not supported in Safari
      bwCtx.filter = 'grayscale(1)';
      bwCtx.drawImage(bwVideoElem, 0, 0, width, height);
      const imageData = bwCtx.getImageData(0, 0, width, height);
      bwCtx.putImageData(imageData, 0, 0);
      // schedule the next one.
      let delay = Math.abs(1000 / FPS - (Date.now() - begin)); // restored: `Date.now()`
      bwTimeout = setTimeout(processVideo, delay);
    } catch (err) {
      console.error(err);
    }
  };
  // schedule the first one.
  bwTimeout = setTimeout(processVideo, 0);
  return canvas.captureStream(FPS);
};

/** The seed's clean-up after stopScreenSharing(). */
export const stopBlackAndWhiteEffect = () => {
  clearTimeout(bwTimeout);
  bwVideoElem.srcObject.getVideoTracks().forEach((track) => {
    track.stop();
  });
  bwVideoElem.srcObject = null;
};
