// The issues table: filling it from the server's answer, the filter, and
// selecting an issue (which highlights its node's box on the page).

import { el, passesFilter, state } from './page.js';
import { render } from './render.js';
import { plural } from './status.js';

// Fills the table; `validated` says the list is the server's answer (so
// an empty one means a valid document).
export function showIssues(issues, validated) {
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

export function select(index, { scrollRow = false, scrollBox = true } = {}) {
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

// Listens to the table (click, keys) and to the filter menu.
export function wireIssues() {
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
}
