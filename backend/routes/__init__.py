"""One router per area of the platform API; ``server.build_app`` mounts each under ``/api/v1``.

A module may also have a ``public_router``, mounted at the root without a token (the certificate
verification page that a printed QR code opens on anyone's phone). ``TEST_ROUTER_MODULES`` are
mounted only when the app is built for tests.
"""

ROUTER_MODULES = (
    "backend.routes.catalogue",
    "backend.routes.kiosks",
    "backend.routes.submissions",
    "backend.routes.applications",
    "backend.routes.certificates",
    "backend.routes.ratings",
    "backend.routes.service_requests",
    "backend.routes.appointments",
    "backend.routes.payments",
    "backend.routes.mobile",
    "backend.routes.divisions",
    "backend.routes.shipments",
    "backend.routes.licences",
)
TEST_ROUTER_MODULES = ("backend.routes.echo", "backend.routes.payment_provider_test",
                       "backend.routes.courier_test")
# Mounted by the demo platform only (``kiosk backend --demo``, loopback): a demo order can be paid.
DEMO_PAYMENT_MODULES = ("backend.routes.payment_provider_test", "backend.routes.demo_pay")
# Routes whose bodies may carry files (the multipart size limit); every other body is JSON-sized.
UPLOAD_PATHS = ("/submissions", "/echo")
