"""The demo seeders ``python manage.py demo`` runs, in order. Each is a dotted path to a
function ``seed(*, context: dict, log) -> dict | None``; what it returns is merged into the
context the next seeders receive (e.g. ``admin``, ``users``, ``branches``). Each must be
idempotent."""

SEEDERS = [
    "creditfactory.organisations.demo.seed",
    "products.demo.seed",
    "workflows.demo_signing.seed",
    "risk.demo.seed",
    "risk.demo_policy.seed",
    "servicing.demo_funding.seed",
    "collection.demo.seed",
    "workflows.demo_flow.seed",
    "workflows.demo_applications.seed",
]
# Run after the seeders above have committed (each in its own transaction): they need what the
# committed data set off — the demo applications' assessments (a Celery job after commit).
LATE_SEEDERS = [
    "workflows.demo_loans.seed",
]
