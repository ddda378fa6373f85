// Links carry the cart, table and name (a captive sheet has no storage);
// where a browser has storage, they and order tokens are kept there too.
"use strict";
(function () {
  const $$ = s => Array.from(document.querySelectorAll(s));
  const get = k => { try { return JSON.parse(localStorage["os." + k]); } catch (e) { return null; } };
  const set = (k, v) => { try { localStorage["os." + k] = JSON.stringify(v); } catch (e) { } };
  const q = new URLSearchParams(location.search), keep = {};
  ["cart", "ct", "table", "s", "by"].forEach(k => { if (q.get(k)) keep[k] = q.get(k); });
  const at = location.pathname.match(/^\/t\/([^/]+)$/);
  if (at) keep.table = decodeURIComponent(at[1]);
  keep.by = keep.by || get("by") || undefined;
  if (!keep.by) delete keep.by;
  if (document.querySelector("[data-cart-gone]")) set("cart", null);
  else if (!keep.table) keep.cart ? set("cart", { cart: keep.cart, ct: keep.ct }) : Object.assign(keep, get("cart"));
  const ours = /^\/($|t\/|shops|cart|p\/|search|offers|orders$|c\/|o\/)/;
  function carry() {
    $$("a[href^='/']").forEach(a => {
      const u = new URL(a.href);
      if (!ours.test(u.pathname)) return;
      for (const k in keep) if (!u.searchParams.has(k) && !(k === "table" && at)) u.searchParams.set(k, keep[k]);
      a.href = u.pathname + u.search + u.hash;
    });
    $$("form").forEach(f => {
      if (!ours.test(new URL(f.action).pathname)) return;
      for (const k in keep) if (!f.elements[k]) {
        const i = document.createElement("input");
        i.type = "hidden"; i.name = k; i.value = keep[k];
        f.append(i);
      }
    });
    $$("[data-cart-link]").forEach(a => a.hidden = !keep.cart);
    $$("input[data-by]").forEach(i => i.value = i.value || keep.by || "");
  }
  // A name typed once names every line this phone adds.
  document.addEventListener("submit", e => {
    const by = e.target.querySelector("input[data-by]");
    if (by && by.value.trim()) set("by", by.value.trim());
  }, true);
  // A table's guests share its cart when the server keeps one.
  if (keep.table && keep.s && !keep.cart) {
    fetch(`/api/tables/${encodeURIComponent(keep.table)}?s=${encodeURIComponent(keep.s)}`)
      .then(r => r.ok ? r.json() : {})
      .then(t => { if (t.cart_id) { keep.cart = "" + t.cart_id; keep.ct = t.cart_token; } carry(); }, carry);
  } else carry();
  // Order tokens make the phone's order history.
  const t = q.get("t"), tokens = get("tokens") || [];
  if (/^\/[co]\//.test(location.pathname) && t) set("tokens", [t, ...tokens.filter(x => x !== t)].slice(0, 10));
  const missing = tokens.filter(x => !q.getAll("t").includes(x));
  if (location.pathname === "/orders" && missing.length) {
    missing.forEach(x => q.append("t", x));
    location.replace("/orders?" + q);
  }
})();
