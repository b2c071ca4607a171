/*! edge tag 0.1: a dependency-free page tag for the audience edge (ES2017). See docs/tag.md.
 * window.edge: signals(obj, prefix = 'c_'), traits([sids]), submit() -> Promise of the result,
 * onResult(fn), lastResult, uuid, messages. edgeTag.create({dcs, partner, containerNSID,
 * uuidCookie: {name, days, domain}}) makes more. Window events: edge:result, edge:dest. */
(function (global) {
  'use strict';
  const VERSION = 'edge-0.1';
  const COMBINED = '---destpub-combined---';
  const TO_PARENT = '---destpub-to-parent---';
  const DAY_MS = 86400000;
  const enc = encodeURIComponent;
  const isUrl = (u) => typeof u === 'string' && /^(https?:)?\/\//i.test(u);
  const KNOWN_PREFIX = /^[cdhp]_/;

  function readStore(key) {
    try { return global.localStorage.getItem(key); } catch (e) { return null; }
  }
  function writeStore(key, value) {
    try { global.localStorage.setItem(key, value); } catch (e) { /* storage blocked */ }
  }
  function readCookie(name) {
    for (const part of document.cookie.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
    }
    return null;
  }
  // Cookies go to the page's domain without "www." unless told otherwise; hosts that cannot
  // carry a Domain attribute (IP addresses, "localhost") get a host-only cookie.
  function defaultDomain() {
    const host = location.hostname;
    if (host.indexOf('.') < 0 || /^[\d.]+$/.test(host) || host.indexOf(':') >= 0) return '';
    return '.' + host.replace(/^www\./i, '');
  }
  function writeCookie(name, value, days, domain) {
    const safe = String(value).replace(/[;,\s"\\]/g, (c) => enc(c));
    let c = name + '=' + safe + '; expires=' + new Date(Date.now() + days * DAY_MS).toUTCString()
      + '; path=/; SameSite=Lax';
    if (domain) c += '; domain=' + domain;
    if (location.protocol === 'https:') c += '; Secure';
    document.cookie = c;
  }
  function fire(url) {
    if (isUrl(url)) new Image().src = url;
  }

  // POST form body with credentials; GET with the same parameters when the POST fails
  // (network or CORS error, or a status that is not 2xx), except when rate limited.
  function send(base, query, body) {
    const get = () => request('GET', base + '?' + query + '&' + body, null).then((r) => {
      if (r === null) throw new Error('edge: /event failed');
      return r;
    });
    return request('POST', base + '?' + query, body).then((r) => r || get(), (e) => {
      if (e && e.rateLimited) throw e;
      return get();
    });
  }
  // Resolves with the parsed JSON ({} for an empty answer) or, for a status that is not 2xx,
  // with null so that the caller falls back; rejects on a network error or a 429.
  function request(method, url, body) {
    const headers = body == null ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' };
    const init = { method, body, headers, credentials: 'include', mode: 'cors' };
    return global.fetch(url, init).then((r) => r.text().then((text) => {
      if (r.status === 429) throw Object.assign(new Error('edge: 429'), { rateLimited: true });
      if (!r.ok) return null;
      try { return text ? JSON.parse(text) : {}; } catch (e) { return {}; }
    }));
  }

  function create(options) {
    const o = options || {};
    const dcs = String(o.dcs || '').replace(/\/+$/, '');
    const dcsOrigin = new URL(dcs || location.origin, location.href).origin;
    const nsid = o.containerNSID == null ? 0 : o.containerNSID;
    const uc = Object.assign({ name: 'aam_did', days: 100, domain: '' }, o.uuidCookie);
    const signals = [];
    const sids = [];
    const listeners = [];
    let queue = Promise.resolve();
    let frame = null;
    let frameReady = null;
    let frameHello = null; // resolves frameReady on the iframe's first message: it is listening

    const api = {
      version: VERSION,
      lastResult: null,
      messages: [],
      uuid: readCookie(uc.name) || readStore(uc.name) || null,
      signals(obj, prefix) {
        const p = prefix == null ? 'c_' : prefix;
        for (const key of Object.keys(obj || {})) {
          const name = KNOWN_PREFIX.test(key) ? key : p + key;
          for (const v of [].concat(obj[key])) {
            if (v != null) signals.push(enc(name) + '=' + enc(String(v)));
          }
        }
        return api;
      },
      traits(list) {
        for (const sid of [].concat(list || [])) sids.push(enc(String(sid)));
        return api;
      },
      onResult(fn) {
        listeners.push(fn);
        if (api.lastResult) call(fn, api.lastResult);
        return api;
      },
      // Hits are sent one after another: the DCS asks not to race calls for one visitor.
      submit() {
        const body = buildBody(signals.splice(0), sids.splice(0));
        openFrame();
        const run = () => {
          const ts = Date.now();
          const query = 'd_dil_ver=' + VERSION + '&d_tag=' + VERSION + '&_ts=' + ts;
          return send(dcs + '/event', query, body(ts)).then(handle);
        };
        const p = queue.then(run, run);
        queue = p.catch(() => undefined);
        return p;
      },
    };

    function buildBody(sigs, traitIds) {
      return (ts) => {
        const parts = ['d_nsid=' + enc(String(nsid))];
        if (api.uuid) parts.push('d_uuid=' + enc(api.uuid));
        if (traitIds.length) parts.push('d_sid=' + traitIds.join(','));
        parts.push('d_ld=' + enc('_ts=' + ts), 'd_rtbd=json', 'd_jsonv=1', 'd_dst=1', 'd_cts=2');
        return parts.concat(sigs, 'h_referer=' + enc(location.href)).join('&');
      };
    }

    function handle(result) {
      const r = result || {};
      const uuid = r.uuid || r.u;
      if (uuid) {
        api.uuid = String(uuid);
        writeCookie(uc.name, api.uuid, uc.days, uc.domain);
        writeStore(uc.name, api.uuid);
      }
      for (const s of r.stuff || []) {
        if (s && s.cn && s.cv != null && s.type !== 'var') {
          writeCookie(s.cn, s.cv, s.ttl > 0 ? s.ttl : 180, s.dmn || defaultDomain());
        }
      }
      publish(r);
      api.lastResult = r;
      for (const fn of listeners) call(fn, r);
      global.dispatchEvent(new CustomEvent('edge:result', { detail: r }));
      return r;
    }

    // ID syncs and URL destinations go to the hidden iframe on the DCS origin, except URL
    // destinations that do not ask to hide the referrer (hr === false): those fire here.
    function publish(r) {
      const secure = location.protocol === 'https:';
      const items = [];
      for (const s of r.ibs || []) {
        const urls = [].concat(s.url || []).filter(isUrl).map((u) => u.replace(/,/g, '%2C'));
        if (!urls.length) continue;
        items.push(['ibs', s.id, s.tag || 'img', urls.join(','), s.ttl == null ? '' : s.ttl,
          '', '', s.fireURLSync == null ? 1 : s.fireURLSync].map((x) => enc(String(x))).join('|'));
      }
      for (const d of r.dests || []) {
        const url = secure && d.e ? d.e : d.c;
        if (!isUrl(url)) continue;
        if (d.hr === false) fire(url);
        else items.push(['dests', d.id, d.y || 'img', url].map((x) => enc(String(x))).join('|'));
      }
      if (items.length) {
        const msg = enc(COMBINED) + items.join('%01');
        frameReady.then(() => frame.contentWindow.postMessage(msg, dcsOrigin));
      }
    }

    function openFrame() {
      if (frame) return;
      frame = document.createElement('iframe');
      frame.id = 'edge_destination_iframe_' + (o.partner || 'edge') + '_' + nsid;
      frame.title = 'edge ID syncing iframe';
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin');
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      frame.style.display = 'none';
      frameReady = new Promise((resolve) => { frameHello = resolve; });
      frame.src = dcs + '/dest5.html?d_nsid=' + enc(String(nsid)) + '#' + enc(location.origin);
      (document.body || document.documentElement).appendChild(frame);
    }

    global.addEventListener('message', (e) => {
      if (!frame || e.origin !== dcsOrigin || e.source !== frame.contentWindow) return;
      if (typeof e.data !== 'string' || e.data.indexOf(TO_PARENT) !== 0) return;
      let parts;
      try {
        parts = e.data.slice(TO_PARENT.length).split('|').map(decodeURIComponent);
      } catch (err) {
        return;
      }
      frameHello();
      api.messages.push(parts);
      global.dispatchEvent(new CustomEvent('edge:dest', { detail: parts }));
    });

    return api;
  }

  function call(fn, r) {
    try { fn(r); } catch (e) { setTimeout(() => { throw e; }); }
  }

  function defaults() {
    const s = document.currentScript;
    if (!s) return {};
    const src = s.getAttribute('src');
    const dcs = s.getAttribute('data-dcs') || (src ? new URL(src, location.href).origin : '');
    return {
      dcs: dcs === location.origin ? '' : dcs,
      partner: s.getAttribute('data-partner') || undefined,
      containerNSID: s.getAttribute('data-nsid') || 0,
    };
  }

  global.edgeTag = { version: VERSION, create };
  if (!global.edge) global.edge = create(defaults());
})(window);
