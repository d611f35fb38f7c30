// Renders the gateway's own description; relative, so the page works behind a path prefix.
// No validator badge: it would send the document to a server off this one.
window.ui = window.SwaggerUIBundle({
  url: new URL('../v1/openapi.json', window.location.href).href,
  dom_id: '#api-docs',
  deepLinking: true,
  validatorUrl: null,
  onComplete: () => document.body.setAttribute('data-ready', 'true'),
});
