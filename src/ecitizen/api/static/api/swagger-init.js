/* Starts Swagger UI on the API documentation page. A file of our own (not inline), so
   the Content Security Policy needs no exception: the OpenAPI document's address comes
   from the page's data-openapi-url attribute. */
(function () {
  "use strict";
  var holder = document.getElementById("swagger-ui");
  if (!holder || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links put a link inside each operation's toggle button (nested controls,
    // which screen readers and axe refuse).
    deepLinking: false,
    tryItOutEnabled: false,
    validatorUrl: null,
    // Only our own origin: never send a token or request elsewhere.
    withCredentials: false
  });
})();
