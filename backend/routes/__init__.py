"""One router per area of the platform API; ``server.create_app`` mounts each under ``/api/v1``.

A module may also have a ``public_router``, mounted at the root without a token (the certificate
verification page that a printed QR code opens on anyone's phone).
"""

ROUTER_MODULES = (
    "backend.routes.catalogue",
    "backend.routes.kiosks",
    "backend.routes.echo",
    "backend.routes.submissions",
    "backend.routes.applications",
    "backend.routes.certificates",
    "backend.routes.ratings",
    "backend.routes.service_requests",
)
