"""``/docs``: Swagger UI for the OpenAPI schema, from vendored assets (npm swagger-ui-dist 5.35.0,
Apache-2.0) so that it works offline and under the service's content security policy."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

SWAGGER = "/static/vendor/swagger-ui-5.35.0"
#: Swagger UI sets inline style attributes; scripts still come only from this origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hccbm API</title>
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script></body></html>
"""


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """The interactive API documentation."""
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_CSP})
