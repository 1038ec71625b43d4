// The page served at `/`: validate a MuNG document, show its issues on the
// page image, download the fixed document and binarize regions of the page.
// Plain JavaScript modules, no dependencies and no build step; they talk
// only to this server's /v1 API. This module opens the files (pickers, drag
// and drop) and wires the others.

import { binarize } from './binarize.js';
import { wireCanvas } from './canvas.js';
import { loadDocument, wireFix } from './documents.js';
import { loadImage } from './image.js';
import { wireIssues } from './issues.js';
import { el } from './page.js';
import { render } from './render.js';
import { setStatus } from './status.js';

wireIssues();
wireFix();
wireCanvas();

// For tests and scripting: the same path as a drag on the canvas.
window.mungBinarize = (x, y, w, h) => binarize(x, y, w, h);

function isDocument(file) {
  return /\.xml$/i.test(file.name) || /xml/.test(file.type);
}

function isImage(file) {
  return /^image\/(png|jpeg)$/.test(file.type) || /\.(png|jpe?g)$/i.test(file.name);
}

function openFiles(files) {
  let used = false;
  const doc = files.find(isDocument);
  const image = files.find(isImage);
  // The file inputs cannot show dropped files; say which ones are open.
  if (image) {
    el.imageName.textContent = `Dropped: ${image.name}`;
    el.imageInput.value = ''; // so choosing a file there later is a change
    loadImage(image);
    used = true;
  }
  if (doc) {
    el.docName.textContent = `Dropped: ${doc.name}`;
    el.docInput.value = '';
    loadDocument(doc);
    used = true;
  }
  const others = files.filter((f) => f !== doc && f !== image);
  if (others.length) {
    const names = others.map((f) => f.name).join(', ');
    const what = used ? 'Ignored' : 'Cannot open';
    setStatus('error', `${what} ${names}: expected a MuNG .xml document and a PNG or JPEG page image.`);
  }
}

el.docInput.addEventListener('change', () => {
  el.docName.textContent = '';
  if (el.docInput.files.length) loadDocument(el.docInput.files[0]);
});

el.imageInput.addEventListener('change', () => {
  const file = el.imageInput.files[0];
  el.imageName.textContent = '';
  if (!file) return;
  if (!isImage(file)) {
    setStatus('error', `${file.name} is not a PNG or JPEG image.`);
    return;
  }
  loadImage(file);
});

// Files may be dropped anywhere on the page; the drop zone shows it.
let dragDepth = 0;
const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  dragDepth++;
  el.dropZone.classList.add('dragging');
});
document.addEventListener('dragleave', (event) => {
  if (!hasFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) el.dropZone.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  el.dropZone.classList.remove('dragging');
  openFiles([...event.dataTransfer.files]);
});

// Redraw when the viewer changes width (window resize, layout change).
let lastWidth = 0;
new ResizeObserver(() => {
  const width = el.viewer.clientWidth;
  if (width !== lastWidth) {
    lastWidth = width;
    render();
  }
}).observe(el.viewer);

// If the browser kept file choices across a reload, use them.
if (el.imageInput.files.length && isImage(el.imageInput.files[0])) loadImage(el.imageInput.files[0]);
if (el.docInput.files.length) loadDocument(el.docInput.files[0]);
