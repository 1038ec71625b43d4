// The page served at `/`: validate a MuNG document, show its issues on the
// page image, download the fixed document and binarize regions of the page.
// Plain JavaScript, no dependencies; it talks only to this server's /v1 API.
'use strict';

(() => {
  const $ = (selector) => document.querySelector(selector);

  const el = {
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

  const COLORS = {
    box: '#e03131',
    selected: '#1864ab',
    selectedFill: 'rgba(24, 100, 171, 0.16)',
    mask: [0, 190, 140, 215], // RGBA of an ink pixel in an overlaid mask
    maskFrame: 'rgba(0, 130, 92, 0.9)',
    drag: '#1864ab',
  };

  const state = {
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

  // ---------------------------------------------------------------- status

  function setStatus(kind, text) {
    el.status.dataset.kind = kind;
    el.status.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
    el.status.textContent = text;
  }

  function showError(err) {
    setStatus('error', err && err.message ? err.message : String(err));
  }

  // An Error from a failed response: RFC 9457 problem details when the
  // server sent them (its `title` and `detail`), the status line otherwise.
  async function responseError(res, doing) {
    let title = `${res.status} ${res.statusText}`.trim();
    let detail = '';
    try {
      const type = res.headers.get('Content-Type') || '';
      if (type.includes('json')) {
        const problem = await res.json();
        title = problem.title || title;
        detail = problem.detail || '';
      } else {
        detail = (await res.text()).trim().slice(0, 400);
      }
    } catch (_) {
      // The body could not be read; the status line has to do.
    }
    const err = new Error(`${doing} failed: ${title}${detail ? ` — ${detail}` : ''}`);
    err.title = title;
    err.detail = detail;
    err.status = res.status;
    return err;
  }

  async function request(url, options, doing) {
    let res;
    try {
      res = await fetch(url, options);
    } catch (e) {
      throw new Error(`${doing} failed: cannot reach the server (${e.message}).`);
    }
    if (!res.ok) throw await responseError(res, doing);
    return res;
  }

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  // --------------------------------------------------------------- document

  // The boxes of the document's nodes, read in the browser (the server does
  // the validation; this is only for drawing).
  function parseNodes(text) {
    const nodes = new Map();
    const xml = new DOMParser().parseFromString(text, 'application/xml');
    if (xml.getElementsByTagName('parsererror').length > 0) {
      return { nodes, ok: false };
    }
    const elements = [...xml.getElementsByTagName('Node'), ...xml.getElementsByTagName('CropObject')];
    for (const node of elements) {
      const field = (...names) => {
        for (const child of node.children) {
          if (names.includes(child.localName)) return child.textContent.trim();
        }
        return null;
      };
      const id = Number.parseInt(field('Id'), 10);
      const box = {
        left: Number(field('Left')),
        top: Number(field('Top')),
        width: Number(field('Width')),
        height: Number(field('Height')),
        className: field('ClassName', 'MLClassName') || '',
      };
      if (Number.isFinite(id) && [box.left, box.top, box.width, box.height].every(Number.isFinite)) {
        nodes.set(id, box);
      }
    }
    return { nodes, ok: true };
  }

  async function loadDocument(file) {
    const gen = ++state.docGen;
    state.docName = file.name;
    el.fixResult.textContent = '';
    delete el.fixResult.dataset.renamed;
    state.docText = null;
    el.fixButton.disabled = true;
    showIssues([], false);
    el.summary.textContent = `Validating ${file.name}…`;
    let text;
    try {
      text = await file.text();
    } catch (e) {
      if (gen === state.docGen) {
        state.docText = null;
        el.fixButton.disabled = true;
        el.summary.textContent = 'No document.';
        showError(new Error(`Cannot read ${file.name}: ${e.message}`));
      }
      return;
    }
    if (gen !== state.docGen) return;
    state.docText = text;
    const parsed = parseNodes(text);
    state.nodes = parsed.nodes;
    el.fixButton.disabled = false;
    setStatus('busy', `Validating ${file.name}…`);
    const started = performance.now();
    try {
      const res = await request(
        '/v1/validate',
        { method: 'POST', headers: { 'Content-Type': 'application/xml', Accept: 'application/json' }, body: text },
        `Validating ${file.name}`,
      );
      const body = await res.json();
      if (gen !== state.docGen) return;
      const issues = Array.isArray(body.issues) ? body.issues : [];
      showIssues(issues, true);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setStatus('ok', `Validated ${file.name} (${plural(state.nodes.size, 'node', 'nodes')}) in ${seconds} s.`);
    } catch (e) {
      if (gen !== state.docGen) return;
      showIssues([], false);
      el.summary.textContent = `${file.name} could not be validated.`;
      showError(e);
    }
  }

  // ----------------------------------------------------------------- issues

  // Fills the table; `validated` says the list is the server's answer (so
  // an empty one means a valid document).
  function showIssues(issues, validated) {
    state.issues = issues;
    state.selected = -1;
    state.filter = '';
    const fixable = issues.filter((i) => i.resolution != null).length;
    if (validated) {
      const counts = document.createElement('strong');
      counts.textContent = `${plural(issues.length, 'issue', 'issues')}, ${fixable} fixable`;
      el.summary.replaceChildren(counts);
    } else {
      el.summary.textContent = 'No document yet.';
    }
    el.summary.dataset.issues = String(issues.length);
    el.summary.dataset.fixable = String(fixable);

    const fragment = document.createDocumentFragment();
    state.rows = issues.map((issue, index) => {
      const row = document.createElement('tr');
      row.tabIndex = index === 0 ? 0 : -1;
      row.dataset.index = String(index);
      row.dataset.code = String(issue.code);
      row.dataset.fixable = String(issue.resolution != null);
      if (issue.nodeId != null) row.dataset.nodeId = String(issue.nodeId);
      row.setAttribute('aria-selected', 'false');

      const code = document.createElement('td');
      code.className = 'col-code';
      code.textContent = String(issue.code);

      const message = document.createElement('td');
      message.className = 'col-message';
      message.textContent = issue.message;

      const node = document.createElement('td');
      node.className = 'col-node';
      if (issue.nodeId == null) {
        node.textContent = '—';
      } else {
        node.textContent = String(issue.nodeId);
        const known = state.nodes.get(issue.nodeId);
        if (known && known.className) {
          const cls = document.createElement('span');
          cls.className = 'muted';
          cls.textContent = known.className;
          node.append(' ', cls);
        }
      }

      const fix = document.createElement('td');
      fix.className = 'col-fix';
      if (issue.resolution != null) {
        const badge = document.createElement('span');
        badge.className = 'badge badge-yes';
        badge.textContent = 'yes';
        fix.append(badge);
        const renames = (issue.resolution.operations || [])
          .filter((op) => op.newClassName)
          .map((op) => op.newClassName);
        if (renames.length) {
          const to = document.createElement('span');
          to.className = 'muted';
          to.textContent = ` → ${renames.join(', ')}`;
          fix.append(to);
        }
      } else {
        const badge = document.createElement('span');
        badge.className = 'badge badge-no';
        badge.textContent = 'no';
        fix.append(badge);
      }
      row.append(code, message, node, fix);
      fragment.append(row);
      return row;
    });
    el.tbody.replaceChildren(fragment);
    el.issuesEmpty.hidden = issues.length > 0;
    el.issuesEmpty.textContent = validated ? 'No issues: the document is valid.' : 'No issues to show.';
    fillFilter();
    render();
  }

  function fillFilter() {
    const issues = state.issues;
    const options = [new Option(`all issues (${issues.length})`, '')];
    const fixable = issues.filter((i) => i.resolution != null).length;
    if (fixable) options.push(new Option(`fixable only (${fixable})`, 'fixable'));
    const byCode = new Map();
    for (const issue of issues) byCode.set(issue.code, (byCode.get(issue.code) || 0) + 1);
    for (const code of [...byCode.keys()].sort((a, b) => a - b)) {
      options.push(new Option(`code ${code} (${byCode.get(code)})`, `code:${code}`));
    }
    el.filter.replaceChildren(...options);
    el.filter.value = '';
    el.filter.disabled = issues.length === 0;
  }

  function passesFilter(issue) {
    if (!state.filter) return true;
    if (state.filter === 'fixable') return issue.resolution != null;
    return `code:${issue.code}` === state.filter;
  }

  function applyFilter(value) {
    state.filter = value;
    let firstVisible = null;
    state.rows.forEach((row, i) => {
      row.hidden = !passesFilter(state.issues[i]);
      if (!row.hidden && firstVisible === null) firstVisible = row;
    });
    if (state.selected >= 0 && state.rows[state.selected].hidden) select(-1);
    // Keep one visible row reachable with Tab.
    const current = state.selected >= 0 ? state.rows[state.selected] : firstVisible;
    for (const row of state.rows) row.tabIndex = row === current ? 0 : -1;
    el.issuesEmpty.hidden = firstVisible !== null;
    if (firstVisible === null) el.issuesEmpty.textContent = 'No issues match the filter.';
    render();
  }

  function select(index, { scrollRow = false, scrollBox = true } = {}) {
    if (state.selected >= 0 && state.rows[state.selected]) {
      const old = state.rows[state.selected];
      old.classList.remove('selected');
      old.setAttribute('aria-selected', 'false');
    }
    state.selected = index;
    if (index < 0) {
      render();
      return;
    }
    const row = state.rows[index];
    row.classList.add('selected');
    row.setAttribute('aria-selected', 'true');
    for (const r of state.rows) r.tabIndex = r === row ? 0 : -1;
    if (scrollRow) row.scrollIntoView({ block: 'nearest' });
    render();
    if (scrollBox) scrollBoxIntoView(state.issues[index].nodeId);
  }

  function scrollBoxIntoView(nodeId) {
    const box = nodeId == null ? null : state.nodes.get(nodeId);
    if (!box || !state.image) return;
    const s = state.scale;
    // The canvas's place in the viewer's scrolled content.
    const c = el.canvas.getBoundingClientRect();
    const v = el.viewer.getBoundingClientRect();
    const canvasTop = c.top - v.top - el.viewer.clientTop + el.viewer.scrollTop;
    const canvasLeft = c.left - v.left - el.viewer.clientLeft + el.viewer.scrollLeft;
    const centreY = canvasTop + (box.top + box.height / 2) * s;
    const centreX = canvasLeft + (box.left + box.width / 2) * s;
    el.viewer.scrollTo({
      top: Math.max(0, centreY - el.viewer.clientHeight / 2),
      left: Math.max(0, centreX - el.viewer.clientWidth / 2),
      behavior: 'smooth',
    });
  }

  function visibleRows() {
    return state.rows.filter((row) => !row.hidden);
  }

  el.tbody.addEventListener('click', (event) => {
    const row = event.target.closest('tr');
    if (!row || !el.tbody.contains(row)) return;
    select(Number(row.dataset.index));
  });

  el.tbody.addEventListener('keydown', (event) => {
    const row = event.target.closest('tr');
    if (!row) return;
    const rows = visibleRows();
    const at = rows.indexOf(row);
    let target = null;
    switch (event.key) {
      case 'ArrowDown': target = rows[Math.min(rows.length - 1, at + 1)]; break;
      case 'ArrowUp': target = rows[Math.max(0, at - 1)]; break;
      case 'Home': target = rows[0]; break;
      case 'End': target = rows[rows.length - 1]; break;
      case 'PageDown': target = rows[Math.min(rows.length - 1, at + 10)]; break;
      case 'PageUp': target = rows[Math.max(0, at - 10)]; break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        select(Number(row.dataset.index));
        return;
      default:
        return;
    }
    event.preventDefault();
    if (target) {
      select(Number(target.dataset.index), { scrollRow: true });
      target.focus({ preventScroll: true });
    }
  });

  el.filter.addEventListener('change', () => applyFilter(el.filter.value));

  // -------------------------------------------------------------------- fix

  function fixedName(name) {
    const base = name.replace(/\.xml$/i, '');
    return `${base || 'document'}.fixed.xml`;
  }

  el.fixButton.addEventListener('click', async () => {
    if (state.docText === null) return;
    const gen = state.docGen;
    const name = fixedName(state.docName);
    el.fixButton.disabled = true;
    el.fixButton.setAttribute('aria-busy', 'true');
    setStatus('busy', `Fixing ${state.docName}…`);
    try {
      const res = await request(
        '/v1/fix',
        { method: 'POST', headers: { 'Content-Type': 'application/xml', Accept: 'application/xml' }, body: state.docText },
        `Fixing ${state.docName}`,
      );
      const renamed = Number(res.headers.get('X-Mung-Renamed') || 0);
      const blob = await res.blob();
      if (gen !== state.docGen) return;
      const url = URL.createObjectURL(new Blob([blob], { type: 'application/xml' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      el.fixResult.dataset.renamed = String(renamed);
      el.fixResult.textContent = `${plural(renamed, 'class', 'classes')} renamed`;
      el.fixResult.title = name;
      setStatus('ok', `Fixed document downloaded as ${name} (${plural(renamed, 'node class', 'node classes')} renamed).`);
    } catch (e) {
      showError(e);
    } finally {
      el.fixButton.disabled = state.docText === null;
      el.fixButton.removeAttribute('aria-busy');
    }
  });

  // ------------------------------------------------------------------ image

  async function loadImage(file) {
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

  // ----------------------------------------------------------------- canvas

  // The boxes to draw: one per node that has a (shown) issue and a box.
  function issueBoxes() {
    const ids = new Set();
    state.issues.forEach((issue) => {
      if (issue.nodeId != null && passesFilter(issue) && state.nodes.has(issue.nodeId)) ids.add(issue.nodeId);
    });
    return [...ids].map((id) => ({ id, ...state.nodes.get(id) }));
  }

  function render() {
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

  function toPage(event) {
    const rect = el.canvas.getBoundingClientRect();
    const W = state.image.naturalWidth;
    const H = state.image.naturalHeight;
    const x = ((event.clientX - rect.left) / rect.width) * W;
    const y = ((event.clientY - rect.top) / rect.height) * H;
    return { x: Math.min(W, Math.max(0, x)), y: Math.min(H, Math.max(0, y)) };
  }

  function dragRect(d) {
    const left = Math.floor(Math.min(d.x0, d.x1));
    const top = Math.floor(Math.min(d.y0, d.y1));
    const right = Math.ceil(Math.max(d.x0, d.x1));
    const bottom = Math.ceil(Math.max(d.y0, d.y1));
    return { left, top, width: right - left, height: bottom - top };
  }

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

  el.clearMasks.addEventListener('click', () => {
    state.masks = [];
    el.canvas.dataset.maskPixels = '0';
    el.canvas.dataset.masks = '0';
    el.maskInfo.textContent = '';
    el.clearMasks.disabled = true;
    render();
  });

  // -------------------------------------------------------------- binarize

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // Binarizes a rectangle of the page (page pixels) on the server and
  // overlays the mask. Used by the drag on the canvas and by
  // `window.mungBinarize`; resolves to the placed mask's numbers.
  async function binarize(x, y, w, h) {
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

  // For tests and scripting: the same path as a drag on the canvas.
  window.mungBinarize = (x, y, w, h) => binarize(x, y, w, h);

  // ------------------------------------------------------------------ files

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
})();
