// Small progressive enhancements; every page works without this file.
"use strict";
(function () {
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const sleep = ms => new Promise(r => setTimeout(r, ms));

  // Sound: browsers allow audio only after a tap, so offer a button.
  let audio = null;
  try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { }
  const soundButtons = $$("[data-sound]");
  const unlock = () => { if (audio) audio.resume(); soundButtons.forEach(b => b.hidden = true); };
  if (audio && audio.state !== "running") soundButtons.forEach(b => { b.hidden = false; b.onclick = unlock; });
  document.addEventListener("click", unlock, { once: true });

  function chime() {
    if (navigator.vibrate) navigator.vibrate([300, 100, 300, 100, 300]);
    if (!audio) return;
    [0, 0.25, 0.5].forEach((at, i) => {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = [660, 880, 1320][i];
      gain.gain.setValueAtTime(0.3, audio.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + at);
      osc.stop(audio.currentTime + at + 0.25);
    });
  }

  // Amounts as the server shows them: the venue's format is on <body>.
  function money(minor) {
    const f = document.body.dataset, decimals = +f.decimals || 0, scale = 10 ** decimals;
    const abs = Math.abs(minor), whole = String(Math.floor(abs / scale));
    const grouped = whole.replace(/\B(?=(\d{3})+$)/g, f.thousandsSeparator || "");
    const number = (minor < 0 ? "-" : "") + grouped +
      (decimals ? f.decimalSeparator + String(abs % scale).padStart(decimals, "0") : "");
    return "symbolAfter" in f ? `${number} ${f.symbol}` : f.symbol + number;
  }
  // Texts come from the page (the server's catalogue), with {name}s to fill.
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, name) => name in values ? values[name] : all);

  // Menu: a running total on the button, and +/- buttons around quantities.
  $$("form[data-cart]").forEach(form => {
    const button = form.querySelector("[data-total]");
    const inputs = $$("input[data-price]", form);
    const texts = form.dataset;
    const update = () => {
      let count = 0, cents = 0;
      inputs.forEach(i => { const q = Math.max(0, parseInt(i.value, 10) || 0); count += q; cents += q * +i.dataset.price; });
      if (button) {
        button.textContent = count
          ? fill(count === 1 ? texts.reviewOne : texts.reviewOther, { count, amount: money(cents) })
          : texts.review;
        button.disabled = !count && !form.querySelector("input[name=l]");
      }
    };
    inputs.forEach(input => {
      const step = d => () => { if (input.disabled) return; input.value = Math.min(50, Math.max(0, (parseInt(input.value, 10) || 0) + d)); update(); };
      const minus = document.createElement("button"), plus = document.createElement("button");
      minus.type = plus.type = "button";
      minus.dataset.orderable = plus.dataset.orderable = "";
      minus.disabled = plus.disabled = input.disabled;
      minus.textContent = "−"; plus.textContent = "+";
      minus.setAttribute("aria-label", texts.less); plus.setAttribute("aria-label", texts.more);
      minus.onclick = step(-1); plus.onclick = step(1);
      input.before(minus); input.after(plus);
      input.addEventListener("input", update);
    });
    update();
  });

  // ---- Customer: item options and live menus ----

  // Item page: the line's price as options are picked (the server prices
  // it again on the cart page); a multiple-choice group at its maximum
  // offers no more choices.
  $$("form[data-item]").forEach(form => {
    const button = form.querySelector("[data-total]"), qty = form.elements.qty;
    $$("[data-option]", form).forEach(i => i.dataset.gone = i.disabled ? "1" : "");
    const update = () => {
      let unit = +form.dataset.price;
      $$("[data-delta]:checked", form).forEach(i => unit += +i.dataset.delta);
      const total = Math.max(0, unit) * Math.min(50, Math.max(1, parseInt(qty.value, 10) || 1));
      if (button) button.textContent = fill(form.dataset.add, { amount: money(total) });
      $$("[data-option]", form).forEach(i => { if (i.dataset.gone) i.checked = false; });
      $$("fieldset[data-max]", form).forEach(group => {
        const boxes = $$("[data-option]", group), full = boxes.filter(b => b.checked).length >= +group.dataset.max;
        boxes.forEach(b => b.disabled = !!b.dataset.gone || (full && !b.checked));
      });
      $$("[data-option]", form).forEach(i => { if (i.type === "radio") i.disabled = !!i.dataset.gone; });
    };
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    form.addEventListener("menu", update);
    update();
  });

  // Menus are live: an item or option that sells out greys out within a
  // second, and comes back on restock.
  const shown = document.querySelector("[data-menu]");
  if (shown) (async function watch() {
    const texts = shown.dataset;
    let version = -1;
    for (;;) {
      try {
        const r = await fetch(`/api/shops/${texts.menu}/menu?since=${version}&wait=25`);
        if (!r.ok) { await sleep(3000); continue; }
        const menu = await r.json();
        version = menu.version;
        menu.items.forEach(item => {
          const el = document.getElementById("item-" + item.id);
          if (!el) return;
          el.classList.toggle("off", !item.available);
          $$("[data-orderable]", el).forEach(c => c.disabled = !item.available);
          const state = el.querySelector("[data-state]");
          if (state) state.textContent = item.sold_out ? texts.soldOut
            : item.available_from ? fill(texts.from, { time: item.available_from })
            : item.running_low && item.stock ? fill(texts.left, { count: item.stock }) : "";
          item.option_groups.forEach(g => g.options.forEach(o => {
            const input = el.querySelector(`[data-option="${o.id}"]`);
            if (!input) return;
            input.dataset.gone = o.available ? "" : "1";
            input.parentNode.classList.toggle("off", !o.available);
          }));
          el.dispatchEvent(new Event("menu"));
        });
      } catch (e) {
        await sleep(3000);
      }
    }
  })();

  // ---- end of the customer's part ----

  // A second tap on "Place order" must not send a second request.
  $$("button[data-once]").forEach(b => b.form.addEventListener("submit", () => setTimeout(() => b.disabled = true)));

  // ---- Kitchen display and now-serving board: shared pieces ----

  // A held request the network silently dropped must not hang forever.
  const patience = ms => (window.AbortSignal && AbortSignal.timeout) ? { signal: AbortSignal.timeout(ms) } : {};
  const offline = document.querySelector("[data-offline]");
  const setOnline = up => { if (offline) offline.hidden = up; };
  // What the kitchen display and the TV board (static/board.js) share.
  window.orderspot = { $$, sleep, chime, audio, patience, setOnline };

  // Live region: long-poll the JSON API, re-render the server's fragment on change.
  const live = document.getElementById("live");
  if (!live) return;
  let version = +live.dataset.version;
  const alertOf = () => { const el = live.querySelector("[data-alert]"); return el ? el.dataset.alert : ""; };
  let alertKey = alertOf();

  async function refresh() {
    const r = await fetch(live.dataset.fragment, { credentials: "same-origin" });
    if (!r.ok) return;
    live.innerHTML = await r.text();
    live.dispatchEvent(new Event("refreshed", { bubbles: true }));
    const next = alertOf();
    // Numbers (newest order id) alert when they grow; words alert when they appear.
    if (next && next !== alertKey && (isNaN(+next) || +next > +alertKey)) {
      chime();
      document.title = "🔔 " + document.title.replace(/^🔔 /, "");
      live.dispatchEvent(new Event("alert", { bubbles: true }));
    }
    alertKey = next;
  }

  live.addEventListener("submit", async event => {
    event.preventDefault();
    const form = event.target;
    $$("button", form).forEach(b => b.disabled = true);
    const r = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
    if (!r.ok) {
      const page = new DOMParser().parseFromString(await r.text(), "text/html");
      const message = page.querySelector(".problem p");
      alert(message ? message.textContent : document.body.dataset.failed);
    }
    await refresh();
  });

  (async function poll() {
    const sep = live.dataset.poll.includes("?") ? "&" : "?";
    for (;;) {
      try {
        const r = await fetch(`${live.dataset.poll}${sep}since=${version}&wait=25`, { credentials: "same-origin", ...patience(40000) });
        if (!r.ok) throw new Error(r.status);
        const body = await r.json();
        if (body.version !== version || "tick" in live.dataset || (offline && !offline.hidden)) {
          version = body.version;
          await refresh();
        }
        setOnline(true);
      } catch (e) {
        setOnline(false);
        await sleep(3000);
      }
    }
  })();
})();
