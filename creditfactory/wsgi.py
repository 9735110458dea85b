"""WSGI entry point (gunicorn creditfactory.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")
application = get_wsgi_application()
