// The customer's cart across shops, remembered where the browser can;
// every page works without this file.
"use strict";
(function () {
  const $$ = sel => Array.from(document.querySelectorAll(sel));
  // The cart across shops travels in links (`cart`, its token `ct`), as do
  // the table (`table`, `s`) and the name shown there (`by`): the captive
  // sheet keeps no storage. Where the browser keeps some, the cart, the
  // name and the order tokens are remembered too and put back on links.
  const store = {
    get(key) { try { return JSON.parse(localStorage.getItem("os." + key)); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem("os." + key, JSON.stringify(value)); } catch (e) { } },
  };
  const query = new URLSearchParams(location.search);
  const keep = {};
  ["cart", "ct", "table", "s", "by"].forEach(k => { if (query.get(k)) keep[k] = query.get(k); });
  const tablePath = location.pathname.match(/^\/t\/([^/]+)$/);
  if (tablePath) keep.table = decodeURIComponent(tablePath[1]);
  if (!keep.by && store.get("by")) keep.by = store.get("by");
  if (document.querySelector("[data-cart-gone]")) store.set("cart", null);
  else if (keep.cart && !keep.table) store.set("cart", { cart: keep.cart, ct: keep.ct });
  else if (!keep.cart && !keep.table && store.get("cart")) Object.assign(keep, store.get("cart"));
  const ours = /^\/($|\?|t\/|shops|cart|p\/|search|offers|orders|c\/|o\/)/;
  function carry() {
    $$("a[href^='/']").forEach(a => {
      const url = new URL(a.href);
      if (!ours.test(url.pathname + url.search) || url.pathname.startsWith("/orders/")) return;
      Object.keys(keep).forEach(k => {
        if (!url.searchParams.has(k) && !(k === "table" && url.pathname.startsWith("/t/"))) url.searchParams.set(k, keep[k]);
      });
      a.href = url.pathname + url.search + url.hash;
    });
    $$("form").forEach(form => {
      const action = new URL(form.action);
      if (!ours.test(action.pathname) || form.id === "checkout" && !keep.cart) return;
      Object.keys(keep).forEach(k => {
        if (form.elements[k] || action.searchParams.has(k)) return;
        const input = document.createElement("input");
        input.type = "hidden"; input.name = k; input.value = keep[k];
        form.append(input);
      });
    });
    $$("[data-cart-link]").forEach(a => a.hidden = !keep.cart);
    $$("input[data-by]").forEach(i => { if (!i.value && keep.by) i.value = keep.by; });
  }
  // A name typed once is the name shown on every line this phone adds.
  document.addEventListener("submit", event => {
    const by = event.target.querySelector("input[data-by]");
    if (by && by.value.trim()) store.set("by", by.value.trim());
  }, true);
  // At a table, everyone shares the table's cart when the server keeps one.
  if (keep.table && keep.s && !keep.cart) {
    fetch(`/api/tables/${encodeURIComponent(keep.table)}?s=${encodeURIComponent(keep.s)}`)
      .then(r => r.ok ? r.json() : {})
      .then(t => { if (t.cart_id && t.cart_token) { keep.cart = String(t.cart_id); keep.ct = t.cart_token; } carry(); })
      .catch(carry);
  } else carry();
  // Order tokens this phone was given, for its order history.
  if (/^\/[co]\//.test(location.pathname) && query.get("t")) {
    const tokens = (store.get("tokens") || []).filter(t => t !== query.get("t"));
    store.set("tokens", [query.get("t"), ...tokens].slice(0, 10));
  }
  if (location.pathname === "/orders") {
    const missing = (store.get("tokens") || []).filter(t => !query.getAll("t").includes(t));
    if (missing.length) {
      missing.forEach(t => query.append("t", t));
      location.replace("/orders?" + query);
    }
  }
  // The cart page follows the cart live (app.js re-renders it): codes
  // typed meanwhile stay, a quantity changed is sent at once, and a cart
  // another phone checked out leads to its orders.
  const live = document.getElementById("live");
  if (!live || !live.dataset.poll.startsWith("/api/carts/")) return;
  const typed = {};
  live.addEventListener("input", e => { if ("keep" in e.target.dataset) typed[e.target.name] = e.target.value; });
  live.addEventListener("change", e => { if (e.target.name === "qty" && e.target.form.requestSubmit) e.target.form.requestSubmit(); });
  const followOf = () => { const a = live.querySelector("[data-follow]"); return a ? a.dataset.follow : ""; };
  const followed = followOf();
  let leaving = false;
  const checkout = document.getElementById("checkout");
  if (checkout) checkout.addEventListener("submit", () => leaving = true);
  live.addEventListener("refreshed", () => {
    Object.keys(typed).forEach(name => { const i = live.querySelector(`input[name="${name}"]`); if (i) i.value = typed[name]; });
    if (!leaving && followOf() && followOf() !== followed) location.href = live.querySelector("[data-follow]").href;
  });
})();
