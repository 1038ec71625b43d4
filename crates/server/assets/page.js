// The page's shared parts: its elements, its colours and its state. Every
// other module of the page imports them from here.

const $ = (selector) => document.querySelector(selector);

export const el = {
  dropZone: $('#drop-zone'),
  docInput: $('#doc-input'),
  imageInput: $('#image-input'),
  docName: $('#doc-name'),
  imageName: $('#image-name'),
  status: $('#status'),
  summary: $('#summary'),
  filter: $('#code-filter'),
  fixButton: $('#fix-button'),
  fixResult: $('#fix-result'),
  viewer: $('#viewer'),
  viewerEmpty: $('#viewer-empty'),
  viewerHint: $('#viewer-hint'),
  canvas: $('#page-canvas'),
  boxesDrawn: $('#boxes-drawn'),
  clearMasks: $('#clear-masks'),
  maskInfo: $('#mask-info'),
  table: $('#issues'),
  tbody: $('#issues tbody'),
  issuesEmpty: $('#issues-empty'),
};

export const COLORS = {
  box: '#e03131',
  selected: '#1864ab',
  selectedFill: 'rgba(24, 100, 171, 0.16)',
  mask: [0, 190, 140, 215], // RGBA of an ink pixel in an overlaid mask
  maskFrame: 'rgba(0, 130, 92, 0.9)',
  drag: '#1864ab',
};

export const state = {
  docGen: 0, // bumped per document, so a late answer for an older one is dropped
  docName: '',
  docText: null,
  nodes: new Map(), // node id -> {left, top, width, height, className}
  issues: [],
  rows: [], // <tr> per issue, same order as `issues`
  selected: -1, // index into `issues`
  filter: '',
  imageGen: 0,
  imageFile: null,
  image: null,
  imageUrl: null,
  masks: [], // {left, top, width, height, canvas, ink}
  pending: [], // regions being binarized: {left, top, width, height}
  drag: null, // {x0, y0, x1, y1, sx, sy} in page pixels (s*: screen start)
  scale: 1, // CSS pixels per page pixel
};

// Whether the issue filter (the "Show" menu) lets `issue` through.
export function passesFilter(issue) {
  if (!state.filter) return true;
  if (state.filter === 'fixable') return issue.resolution != null;
  return `code:${issue.code}` === state.filter;
}
