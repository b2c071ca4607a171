/* The demo shop's page script: send this page's signals through the edge tag, then show what
 * the visitor qualified for. The page says what it is in <body data-page data-section>. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const DEFAULT_BANNER = 'Welcome to Stride: shoes for every run';

  function getJson(path, fallback) {
    return fetch(path).then((r) => (r.ok ? r.json() : fallback)).catch(() => fallback);
  }
  function item(list, text, attrs) {
    const li = document.createElement('li');
    li.textContent = text;
    Object.assign(li.dataset, attrs || {});
    list.appendChild(li);
  }
  function setStatus(text, state) {
    $('status').textContent = text;
    $('status').dataset.state = state;
  }

  function show(result, names, banners) {
    const segments = (result.segments || []).map(Number);
    $('uuid').textContent = result.uuid || '(none)';
    $('traits').textContent = (result.traits || []).join(', ') || 'none';
    const list = $('segments');
    list.textContent = '';
    for (const sid of segments) item(list, names[sid] || 'Segment ' + sid, { sid: String(sid) });
    if (!segments.length) item(list, 'No segments yet: browse a little', { empty: '1' });
    const chosen = banners.find((b) => segments.indexOf(Number(b.sid)) >= 0);
    $('banner').textContent = chosen ? chosen.text : DEFAULT_BANNER;
    $('banner').dataset.sid = chosen ? String(chosen.sid) : '';
    $('result').textContent = JSON.stringify(result, null, 2);
    setStatus('ready', 'ready');
  }

  // `?dcs=<origin>` shows the cross-origin deployment: the tag talks to a DCS on another
  // origin (which must allow this one, see docs/tag.md) instead of the page's own.
  function pickTag() {
    const dcs = new URLSearchParams(location.search).get('dcs');
    if (!dcs || !window.edgeTag) return window.edge;
    let origin;
    try { origin = new URL(dcs).origin; } catch (e) { return window.edge; }
    return /^https?:/.test(origin) ? window.edgeTag.create({ dcs: origin }) : window.edge;
  }

  // Replies of the hidden destination iframe: which ID syncs and destinations fired.
  window.addEventListener('edge:dest', (e) => {
    const [kind, id, state] = e.detail;
    if (kind === 'ibs' || kind === 'dests') {
      item($('syncs'), kind + ' ' + id + ': ' + state, { kind, id, state });
    }
  });

  const tag = pickTag();
  if (!tag) {
    setStatus('error: the tag did not load', 'error');
    return;
  }
  const body = document.body.dataset;
  const lang = (navigator.language || '').slice(0, 2).toLowerCase();
  tag.signals({ page: body.page, section: body.section, lang });
  Promise.all([tag.submit(), getJson('/segments.json', {}), getJson('/banners.json', [])])
    .then(([result, names, banners]) => show(result, names, banners))
    .catch((err) => setStatus('error: ' + err.message, 'error'));
})();
