// Says at once when chosen files are too many or too large, before a slow upload starts, and
// lets go of them. Without JavaScript the server says the same after the upload.
(function () {
  if (window.consultUploads) return; // the script is on the page once per file field
  window.consultUploads = true;
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
    var files = Array.prototype.slice.call(input.files || []);
    var big = files.filter(function (f) { return f.size > Number(input.dataset.maxBytes); });
    var message = "";
    if (files.length > Number(input.dataset.maxFiles)) {
      message = input.dataset.tooMany;
    } else if (big.length) {
      message = big.map(function (f) {
        return input.dataset.tooLarge.replace("{name}", f.name);
      }).join(" ");
    }
    var out = document.getElementById(input.id + "-check");
    if (out) out.textContent = message;
    if (message) input.value = "";
  });
})();
