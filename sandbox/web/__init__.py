"""The web layer: the Flask app, routes generated from the spec, CORS and the docs page."""
