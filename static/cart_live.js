// The cart page follows the cart live (app.js re-renders it): promo codes
// typed meanwhile stay, a changed quantity is sent at once, and a cart
// another phone checked out leads this one to its orders.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const typed = {}, follow = () => (live.querySelector("[data-follow]") || { dataset: {} }).dataset.follow;
  const followed = follow();
  let leaving = false;
  live.addEventListener("input", e => { if ("keep" in e.target.dataset) typed[e.target.name] = e.target.value; });
  live.addEventListener("change", e => { if (e.target.name === "qty" && e.target.form.requestSubmit) e.target.form.requestSubmit(); });
  const checkout = document.getElementById("checkout");
  if (checkout) checkout.addEventListener("submit", () => leaving = true);
  live.addEventListener("refreshed", () => {
    for (const name in typed) { const i = live.querySelector(`input[name="${name}"]`); if (i) i.value = typed[name]; }
    if (!leaving && follow() && follow() !== followed) location.href = live.querySelector("[data-follow]").href;
  });
})();
