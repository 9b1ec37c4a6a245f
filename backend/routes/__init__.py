"""One router per area of the platform API; ``server.create_app`` mounts each under ``/api/v1``.

Later areas (applications, certificates, submissions, ratings, service-requests) are added as
modules here and named in :data:`ROUTER_MODULES`.
"""

ROUTER_MODULES = (
    "backend.routes.catalogue",
    "backend.routes.kiosks",
    "backend.routes.echo",
)
