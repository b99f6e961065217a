// Starts Swagger UI on /docs (gateway/http/docs.py). A file, not an inline script:
// the Content-Security-Policy allows only the gateway's own scripts.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
