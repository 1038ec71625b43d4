// The page image: decoding the chosen file and showing it on the canvas.

import { el, state } from './page.js';
import { render } from './render.js';
import { setStatus, showError } from './status.js';

export async function loadImage(file) {
  const gen = ++state.imageGen;
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
  } catch (_) {
    URL.revokeObjectURL(url);
    if (gen === state.imageGen) showError(new Error(`${file.name} is not a PNG or JPEG image this browser can read.`));
    return;
  }
  if (gen !== state.imageGen) {
    URL.revokeObjectURL(url);
    return;
  }
  if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
  state.imageUrl = url;
  state.image = image;
  state.imageFile = file;
  state.masks = [];
  state.pending = [];
  el.canvas.dataset.maskPixels = '0';
  el.canvas.dataset.masks = '0';
  el.maskInfo.textContent = '';
  el.clearMasks.disabled = true;
  el.canvas.hidden = false;
  el.viewerEmpty.hidden = true;
  el.viewerHint.hidden = false;
  render();
  if (el.status.dataset.kind !== 'busy') {
    setStatus('ok', `Loaded ${file.name} (${image.naturalWidth} × ${image.naturalHeight} px).`);
  }
}
