// Sends the thread's read receipt once the page is shown, so the GET itself stays read-only.
// Without JavaScript the form's button does the same.
document.querySelectorAll("form[data-read-receipt]").forEach(function (form) {
  fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
    keepalive: true,
  }).then(function (response) {
    if (response.ok) form.hidden = true;
  });
});
