// The page canvas under the pointer: a click selects the issue of the box
// under it, a drag binarizes the rectangle.

import { binarize } from './binarize.js';
import { select } from './issues.js';
import { el, state } from './page.js';
import { dragRect, issueBoxes, render } from './render.js';

function toPage(event) {
  const rect = el.canvas.getBoundingClientRect();
  const W = state.image.naturalWidth;
  const H = state.image.naturalHeight;
  const x = ((event.clientX - rect.left) / rect.width) * W;
  const y = ((event.clientY - rect.top) / rect.height) * H;
  return { x: Math.min(W, Math.max(0, x)), y: Math.min(H, Math.max(0, y)) };
}

function selectAt(x, y) {
  let best = null;
  for (const box of issueBoxes()) {
    const slack = 3 / state.scale;
    if (x >= box.left - slack && x <= box.left + box.width + slack
      && y >= box.top - slack && y <= box.top + box.height + slack) {
      const area = box.width * box.height;
      if (!best || area < best.area) best = { id: box.id, area };
    }
  }
  if (!best) {
    render();
    return;
  }
  const index = state.issues.findIndex((issue, i) => issue.nodeId === best.id && !state.rows[i].hidden);
  if (index >= 0) select(index, { scrollRow: true, scrollBox: false });
}

// Listens to the canvas and to the "Clear masks" button.
export function wireCanvas() {
  el.canvas.addEventListener('pointerdown', (event) => {
    if (!state.image || event.button !== 0) return;
    event.preventDefault();
    el.canvas.setPointerCapture(event.pointerId);
    const p = toPage(event);
    state.drag = { x0: p.x, y0: p.y, x1: p.x, y1: p.y, sx: event.clientX, sy: event.clientY };
  });

  el.canvas.addEventListener('pointermove', (event) => {
    if (!state.drag) return;
    const p = toPage(event);
    state.drag.x1 = p.x;
    state.drag.y1 = p.y;
    render();
  });

  el.canvas.addEventListener('pointerup', (event) => {
    const drag = state.drag;
    if (!drag) return;
    state.drag = null;
    const moved = Math.max(Math.abs(event.clientX - drag.sx), Math.abs(event.clientY - drag.sy));
    if (moved < 4) {
      // A click: select the issue of the smallest box under the pointer.
      selectAt(drag.x0, drag.y0);
      return;
    }
    const r = dragRect(drag);
    render();
    binarize(r.left, r.top, r.width, r.height).catch(() => {
      // Already shown in the status area.
    });
  });

  el.canvas.addEventListener('pointercancel', () => {
    state.drag = null;
    render();
  });

  el.clearMasks.addEventListener('click', () => {
    state.masks = [];
    el.canvas.dataset.maskPixels = '0';
    el.canvas.dataset.masks = '0';
    el.maskInfo.textContent = '';
    el.clearMasks.disabled = true;
    render();
  });
}
