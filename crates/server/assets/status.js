// The status line, and requests to this server's /v1 API with errors that
// say what failed.

import { el } from './page.js';

export function setStatus(kind, text) {
  el.status.dataset.kind = kind;
  el.status.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
  el.status.textContent = text;
}

export function showError(err) {
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

export async function request(url, options, doing) {
  let res;
  try {
    res = await fetch(url, options);
  } catch (e) {
    throw new Error(`${doing} failed: cannot reach the server (${e.message}).`);
  }
  if (!res.ok) throw await responseError(res, doing);
  return res;
}

export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
