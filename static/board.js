// The kitchen display and the now-serving TV board: loaded by those two
// pages only, after app.js, whose shared pieces they use.
"use strict";
(function () {
  const { $$, sleep, chime, audio, patience, setOnline } = window.orderspot;

  const clock = document.querySelector("[data-clock]");
  if (clock) {
    const show = () => clock.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    show();
    setInterval(show, 5000);
  }
  // Keep the screen on where the browser allows (secure pages only); the
  // lock goes when the page is hidden, so take it again on return.
  if ((clock || document.querySelector("[data-tv]")) && navigator.wakeLock) {
    const awake = () => { if (document.visibilityState === "visible") navigator.wakeLock.request("screen").catch(() => { }); };
    awake();
    document.addEventListener("visibilitychange", awake);
  }

  // ---- Now-serving board (TV) ----
  // Runs for days: nodes are kept per code and moved, never re-created on
  // each answer, and nothing grows with the number of answers.
  const tv = document.querySelector("[data-tv]");
  if (tv) (async function serve() {
    const columns = {}, nodes = {};
    $$("[data-column]", tv).forEach(list => {
      const name = list.dataset.column;
      columns[name] = list;
      nodes[name] = new Map($$("li", list).map(li => [li.dataset.key, li]));
    });
    const single = "single" in tv.dataset;
    const node = c => {
      const li = document.createElement("li"), code = document.createElement("b");
      li.dataset.key = c.shop_id + ":" + c.code;
      code.textContent = c.code;
      li.append(code);
      if (!single) { const shop = document.createElement("small"); shop.textContent = c.shop; li.append(shop); }
      return li;
    };
    const show = (name, codes) => {
      const known = nodes[name], list = columns[name], seen = new Set();
      let fresh = 0;
      codes.forEach(c => {
        const key = c.shop_id + ":" + c.code;
        seen.add(key);
        let li = known.get(key);
        if (!li) { li = node(c); known.set(key, li); fresh++; if (name === "ready") li.className = "fresh"; }
        list.append(li);
      });
      known.forEach((li, key) => { if (!seen.has(key)) { li.remove(); known.delete(key); } });
      return fresh;
    };
    let version = +tv.dataset.version;
    for (let pause = 2000; ;) {
      try {
        const r = await fetch(`${tv.dataset.tv}${tv.dataset.tv.includes("?") ? "&" : "?"}since=${version}&wait=25`, patience(40000));
        if (!r.ok) throw new Error(r.status);
        const board = await r.json();
        setOnline(true);
        pause = 2000;
        version = board.version;
        show("preparing", board.preparing);
        if (show("ready", board.ready)) chime();
      } catch (e) {
        setOnline(false);
        await sleep(pause);
        pause = Math.min(pause * 2, 10000);
      }
    }
  })();

  // ---- Kitchen display (the shop's board) ----
  const kitchen = document.querySelector("[data-kitchen]");
  if (kitchen) {
    // Theme: the device's preference until someone picks one here.
    const toggle = kitchen.querySelector("[data-theme-toggle]");
    const dark = () => kitchen.dataset.theme ? kitchen.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    try { if (localStorage.kitchenTheme) kitchen.dataset.theme = localStorage.kitchenTheme; } catch (e) { }
    toggle.hidden = false;
    toggle.onclick = () => {
      kitchen.dataset.theme = dark() ? "light" : "dark";
      try { localStorage.kitchenTheme = kitchen.dataset.theme; } catch (e) { }
    };
    // Sound: say plainly whether it is on.
    const soundOn = kitchen.querySelector("[data-sound-on]");
    const soundState = () => { if (soundOn) soundOn.hidden = !audio || audio.state !== "running"; };
    if (audio) audio.addEventListener("statechange", soundState);
    soundState();
    // A new order chimes every few seconds and flashes until acknowledged.
    const ack = kitchen.querySelector("[data-ack]");
    let ringing = null;
    const silence = () => { clearInterval(ringing); ringing = null; ack.hidden = true; kitchen.classList.remove("flash"); };
    ack.onclick = silence;
    kitchen.addEventListener("alert", () => {
      ack.hidden = false;
      kitchen.classList.add("flash");
      if (!ringing) ringing = setInterval(chime, 4000);
    });
    // Elapsed time against each order's estimate: green, amber from 70%,
    // red past it. The server's clock counts, not the tablet's.
    const tick = () => {
      const board = kitchen.querySelector("[data-now]");
      if (!board) return;
      const skew = +board.dataset.now - +board.dataset.loaded;
      $$("[data-created]", board).forEach(t => {
        const minutes = Math.max(0, Math.floor((Date.now() + skew - +t.dataset.created) / 60000));
        const estimate = +t.dataset.estimate;
        t.classList.toggle("late", minutes >= estimate);
        t.classList.toggle("warm", minutes < estimate && minutes * 10 >= estimate * 7);
        const age = t.querySelector("[data-age]");
        if (age) age.textContent = age.textContent.replace(/\d+/, minutes);
      });
    };
    const loaded = () => { const board = kitchen.querySelector("[data-now]"); if (board) board.dataset.loaded = Date.now(); };
    loaded();
    kitchen.addEventListener("refreshed", () => { loaded(); tick(); });
    setInterval(tick, 10000);
  }

})();
