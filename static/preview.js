// Live preview (nicepick serve --reload only): reload the page when a watched file changes.
// The server sends "hello" with a token on every (re)connect and "change" on each edit; a
// hello with a new token means something changed while we were reconnecting.
(function () {
  "use strict";
  if (!window.EventSource) {
    return;
  }
  var token = null;
  var source = new EventSource("/__preview/events");
  source.addEventListener("hello", function (event) {
    if (token !== null && event.data !== token) {
      window.location.reload();
    }
    token = event.data;
  });
  source.addEventListener("change", function () {
    window.location.reload();
  });
})();
