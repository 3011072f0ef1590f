/* perfkit loader (self-contained reports): the widget manager, its CSS and the widget state are
 * stored gzip-compressed (base64) in <script type="application/x-perfkit-gzip"> elements. They are
 * inflated by the browser's DecompressionStream (Chromium/Edge >= 80, Firefox >= 113,
 * Safari >= 16.4) and put into the page; the widget manager then renders on the load event.
 * Where the browser cannot, the message #perfkit-nodecompress is shown instead of a blank page.
 */
(function () {
  "use strict";
  var packs = document.querySelectorAll('script[type="application/x-perfkit-gzip"]');
  if (!packs.length) return;
  function fail(reason) {
    var note = document.getElementById("perfkit-nodecompress");
    if (note) {
      if (reason) note.setAttribute("data-reason", String(reason));
      note.hidden = false;
    }
    if (reason && window.console) console.warn("perfkit: report not unpacked:", reason);
  }
  if (typeof DecompressionStream !== "function" || typeof Response !== "function" ||
      typeof Blob !== "function" || !Blob.prototype.stream || typeof Promise !== "function") {
    fail("DecompressionStream is not available");
    return;
  }
  var loaded = document.readyState === "complete";
  window.addEventListener("load", function () { loaded = true; });
  function inflate(node) {
    var bin = atob(node.textContent.replace(/\s+/g, ""));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  Promise.all(Array.prototype.map.call(packs, inflate)).then(function (texts) {
    var ours = document.getElementById("perfkit-style");
    Array.prototype.forEach.call(packs, function (node, i) {
      var kind = node.getAttribute("data-perfkit"), e;
      if (kind === "css") {
        e = document.createElement("style");
        e.textContent = texts[i];
        document.head.insertBefore(e, ours);  // before perfkit's own rules, which override it
      } else if (kind === "state") {
        e = document.createElement("script");
        e.type = "application/vnd.jupyter.widget-state+json";
        e.textContent = texts[i];
        document.body.appendChild(e);
      } else if (kind === "widgets") {
        e = document.createElement("script");
        e.textContent = texts[i];
        document.body.appendChild(e);  // runs now; it renders the widgets on window load
      }
      node.parentNode.removeChild(node);
    });
    if (loaded) window.dispatchEvent(new Event("load"));  // the real one has gone by
  }).catch(fail);
})();
