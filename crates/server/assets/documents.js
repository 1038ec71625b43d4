// The MuNG document: reading its nodes' boxes, validating it on the server
// and downloading the fixed document.

import { showIssues } from './issues.js';
import { el, state } from './page.js';
import { plural, request, setStatus, showError } from './status.js';

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

export async function loadDocument(file) {
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

function fixedName(name) {
  const base = name.replace(/\.xml$/i, '');
  return `${base || 'document'}.fixed.xml`;
}

// Listens to the "Download fixed document" button.
export function wireFix() {
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
}
