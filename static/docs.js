// Starts Swagger UI on /docs (kept out of the page so the CSP needs no inline script).
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  if (!box || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: box.getAttribute("data-spec"),
    domNode: box,
    deepLinking: true,
  });
})();
