// Binarizing a rectangle of the page on the server and overlaying the mask.

import { COLORS, el, state } from './page.js';
import { render } from './render.js';
import { plural, request, setStatus, showError } from './status.js';

function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Binarizes a rectangle of the page (page pixels) on the server and
// overlays the mask. Used by the drag on the canvas and by
// `window.mungBinarize`; resolves to the placed mask's numbers.
export async function binarize(x, y, w, h) {
  try {
    if (!state.imageFile || !state.image) throw new Error('Load the page image first, then drag a rectangle on it.');
    const W = state.image.naturalWidth;
    const H = state.image.naturalHeight;
    const left = Math.max(0, Math.floor(Number(x)));
    const top = Math.max(0, Math.floor(Number(y)));
    const right = Math.min(W, Math.ceil(Number(x) + Number(w)));
    const bottom = Math.min(H, Math.ceil(Number(y) + Number(h)));
    if (!(right - left >= 1 && bottom - top >= 1)) {
      throw new Error('The rectangle is empty or outside the page; drag over the page.');
    }
    const region = { left, top, width: right - left, height: bottom - top };
    const gen = state.imageGen;
    const file = state.imageFile;
    state.pending.push(region);
    render();
    setStatus('busy', `Binarizing ${region.width} × ${region.height} px at (${left}, ${top})…`);
    let mask;
    try {
      const form = new FormData();
      form.append('image', file, file.name);
      form.append('region', `${left},${top},${region.width},${region.height}`);
      const res = await request(
        '/v1/extract/binarize',
        { method: 'POST', headers: { Accept: 'application/json' }, body: form },
        'Binarizing',
      );
      mask = await res.json();
    } finally {
      state.pending = state.pending.filter((r) => r !== region);
      render();
    }
    const pixels = decodeBase64(mask.pixels || '');
    if (!(mask.width > 0 && mask.height > 0) || pixels.length !== mask.width * mask.height) {
      throw new Error(`Binarizing failed: the server sent ${pixels.length} pixels for a ${mask.width} × ${mask.height} mask.`);
    }
    if (gen !== state.imageGen) throw new Error('The page image changed while binarizing; the mask was dropped.');
    const overlay = document.createElement('canvas');
    overlay.width = mask.width;
    overlay.height = mask.height;
    const octx = overlay.getContext('2d');
    const data = octx.createImageData(mask.width, mask.height);
    const [r, g, b, a] = COLORS.mask;
    let ink = 0;
    for (let i = 0; i < pixels.length; i++) {
      if (pixels[i]) {
        ink++;
        const o = i * 4;
        data.data[o] = r;
        data.data[o + 1] = g;
        data.data[o + 2] = b;
        data.data[o + 3] = a;
      }
    }
    octx.putImageData(data, 0, 0);
    const placed = { left: mask.left, top: mask.top, width: mask.width, height: mask.height, canvas: overlay, ink };
    state.masks.push(placed);
    el.canvas.dataset.maskPixels = String(ink);
    el.canvas.dataset.masks = String(state.masks.length);
    el.clearMasks.disabled = false;
    const share = ((100 * ink) / pixels.length).toFixed(1);
    el.maskInfo.textContent = `Last mask: ${mask.width} × ${mask.height} px, ${ink} ink pixels (${share} %).`;
    render();
    setStatus('ok', `Binarized ${mask.width} × ${mask.height} px at (${mask.left}, ${mask.top}): ${plural(ink, 'ink pixel', 'ink pixels')}.`);
    return { left: mask.left, top: mask.top, width: mask.width, height: mask.height, inkPixels: ink };
  } catch (e) {
    showError(e);
    throw e;
  }
}
