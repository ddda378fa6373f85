"use strict";
// The menu editor's item page only.
(function () {
  // A photo is scaled in the browser (the router keeps only small ones):
  // longest side at most 640 px, JPEG at quality 0.8, sent as the raw body.
  const MAX_SIDE = 640;
  const load = file => new Promise((done, fail) => {
    const picture = new Image(), url = URL.createObjectURL(file);
    picture.onload = () => { URL.revokeObjectURL(url); done(picture); };
    picture.onerror = () => { URL.revokeObjectURL(url); fail(new Error("")); };
    picture.src = url;
  });
  document.querySelectorAll("[data-photo]").forEach(control => {
    const card = control.closest(".photo"), input = control.querySelector("input[type=file]");
    const status = card.querySelector("[data-photo-status]"), img = card.querySelector("[data-photo-img]");
    control.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      status.textContent = control.dataset.sending;
      status.classList.remove("problem");
      try {
        const picture = await load(file);
        const scale = Math.min(1, MAX_SIDE / Math.max(picture.naturalWidth, picture.naturalHeight));
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(picture.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(picture.naturalHeight * scale));
        const paint = canvas.getContext("2d");
        // JPEG has no transparency: a PNG's clear parts turn white, not black.
        paint.fillStyle = "#fff";
        paint.fillRect(0, 0, canvas.width, canvas.height);
        paint.drawImage(picture, 0, 0, canvas.width, canvas.height);
        const blob = await new Promise(done => canvas.toBlob(done, "image/jpeg", 0.8));
        if (!blob) throw new Error(control.dataset.failed);
        const r = await fetch(control.dataset.photo, {
          method: "PUT", body: blob, credentials: "same-origin", headers: { "Content-Type": "image/jpeg" },
        });
        const body = await r.json().catch(() => ({}));
        if (!r.ok || !body.photo_url) throw new Error(body.error || control.dataset.failed);
        img.src = body.photo_url;
        img.hidden = false;
        status.textContent = "";
      } catch (e) {
        status.textContent = e.message || control.dataset.failed;
        status.classList.add("problem");
      }
      input.value = "";
    });
  });
})();
