// Drawing the page: the image, the boxes of the nodes with issues, the
// selected box, the overlaid masks and the rectangle being dragged.

import { COLORS, el, passesFilter, state } from './page.js';

// The boxes to draw: one per node that has a (shown) issue and a box.
export function issueBoxes() {
  const ids = new Set();
  state.issues.forEach((issue) => {
    if (issue.nodeId != null && passesFilter(issue) && state.nodes.has(issue.nodeId)) ids.add(issue.nodeId);
  });
  return [...ids].map((id) => ({ id, ...state.nodes.get(id) }));
}

export function render() {
  const boxes = state.image ? issueBoxes() : [];
  const selectedNode = state.selected >= 0 ? state.issues[state.selected].nodeId : null;
  el.canvas.dataset.selectedNode = selectedNode == null ? '' : String(selectedNode);
  el.canvas.dataset.boxes = String(boxes.length);
  el.boxesDrawn.dataset.count = String(boxes.length);
  el.boxesDrawn.textContent = String(boxes.length);
  if (!state.image) return;

  const image = state.image;
  const pageW = image.naturalWidth;
  const pageH = image.naturalHeight;
  const cssW = Math.max(100, el.viewer.clientWidth - 2);
  const scale = cssW / pageW;
  const cssH = pageH * scale;
  const dpr = window.devicePixelRatio || 1;
  state.scale = scale;
  el.canvas.style.width = `${cssW}px`;
  el.canvas.style.height = `${cssH}px`;
  const w = Math.round(cssW * dpr);
  const h = Math.round(cssH * dpr);
  if (el.canvas.width !== w) el.canvas.width = w;
  if (el.canvas.height !== h) el.canvas.height = h;

  const ctx = el.canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, w, h);
  // From here on, coordinates are page pixels.
  ctx.setTransform(scale * dpr, 0, 0, scale * dpr, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(image, 0, 0);

  const px = 1 / scale; // one CSS pixel, in page pixels
  const selectedId = selectedNode;
  ctx.strokeStyle = COLORS.box;
  ctx.lineWidth = 1.5 * px;
  for (const box of boxes) {
    if (box.id === selectedId) continue;
    ctx.strokeRect(box.left, box.top, Math.max(box.width, px), Math.max(box.height, px));
  }

  // Masks above the boxes, so their ink is not hidden by box outlines.
  ctx.imageSmoothingEnabled = false;
  for (const mask of state.masks) {
    ctx.drawImage(mask.canvas, mask.left, mask.top);
    ctx.strokeStyle = COLORS.maskFrame;
    ctx.lineWidth = px;
    ctx.setLineDash([3 * px, 2 * px]);
    ctx.strokeRect(mask.left, mask.top, mask.width, mask.height);
  }
  ctx.setLineDash([]);

  const selected = selectedId == null ? null : state.nodes.get(selectedId);
  // Where the highlighted box is (page pixels) and the drawing scale, for tests.
  el.canvas.dataset.scale = String(scale);
  el.canvas.dataset.selectedBox = selected
    ? JSON.stringify({ left: selected.left, top: selected.top, width: selected.width, height: selected.height })
    : '';
  if (selected) {
    const pad = 2 * px;
    const x = selected.left - pad;
    const y = selected.top - pad;
    const bw = selected.width + 2 * pad;
    const bh = selected.height + 2 * pad;
    ctx.fillStyle = COLORS.selectedFill;
    ctx.fillRect(x, y, bw, bh);
    ctx.strokeStyle = COLORS.selected;
    ctx.lineWidth = 3 * px;
    ctx.strokeRect(x, y, bw, bh);
    const label = `${selectedId}${selected.className ? ` ${selected.className}` : ''}`;
    ctx.font = `${12 * px}px system-ui, sans-serif`;
    const tw = ctx.measureText(label).width + 8 * px;
    const th = 16 * px;
    const ly = y - th >= 0 ? y - th : y + bh;
    ctx.fillStyle = COLORS.selected;
    ctx.fillRect(x, ly, tw, th);
    ctx.fillStyle = '#fff';
    ctx.textBaseline = 'middle';
    ctx.fillText(label, x + 4 * px, ly + th / 2);
  }

  ctx.strokeStyle = COLORS.drag;
  ctx.lineWidth = 1.5 * px;
  ctx.setLineDash([5 * px, 3 * px]);
  for (const r of state.pending) ctx.strokeRect(r.left, r.top, r.width, r.height);
  if (state.drag) {
    const r = dragRect(state.drag);
    ctx.fillStyle = 'rgba(24, 100, 171, 0.08)';
    ctx.fillRect(r.left, r.top, r.width, r.height);
    ctx.strokeRect(r.left, r.top, r.width, r.height);
  }
  ctx.setLineDash([]);
}

export function dragRect(d) {
  const left = Math.floor(Math.min(d.x0, d.x1));
  const top = Math.floor(Math.min(d.y0, d.y1));
  const right = Math.ceil(Math.max(d.x0, d.x1));
  const bottom = Math.ceil(Math.max(d.y0, d.y1));
  return { left, top, width: right - left, height: bottom - top };
}
