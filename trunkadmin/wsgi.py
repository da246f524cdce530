"""WSGI entry point: `gunicorn trunkadmin.wsgi`.

A process whose FIELD_ENCRYPTION_KEY cannot read the stored credentials refuses to start.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trunkadmin.settings")
application = get_wsgi_application()

from channels_app.encryption_health import refuse_to_serve_if_keys_cannot_decrypt  # noqa: E402

refuse_to_serve_if_keys_cannot_decrypt()
