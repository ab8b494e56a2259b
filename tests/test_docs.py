"""/docs without a browser: the page, its local assets, and the trailing-slash form."""

from __future__ import annotations


def test_docs_page_and_assets_are_served_locally(app):
    plain = app.test_client()  # /docs is not an API operation: no contract check needed
    page = plain.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/docs/assets/swagger-ui-bundle.js" in page.get_data(as_text=True)
    asset = plain.get("/docs/assets/swagger-ui-bundle.js", buffered=True)  # buffered: the file is closed
    assert asset.status_code == 200 and asset.get_data().startswith(b"/*")


def test_a_trailing_slash_redirects_to_the_docs(app):
    response = app.test_client().get("/docs/")
    assert response.status_code == 308 and response.headers["Location"].endswith("/docs")
