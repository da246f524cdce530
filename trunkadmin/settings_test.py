"""Settings for the test suite: fixed test-only keys, fast hashing, no HTTPS redirect.

DATABASE_URL selects the database (SQLite by default; PostgreSQL in CI).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
# Two test-only Fernet keys; tests rotate between them.
TEST_FIELD_KEYS = [
    "aW2FZmlwVqYhQ0dBc2lG1m3oZ7a1qH6yDk5mRz8cTnE=",
    "Jt0m2vJq2n1m4r7u8x9yA3bC5dE6fG7hH8iJ9kL0mNo=",
]
os.environ.setdefault("FIELD_ENCRYPTION_KEY", TEST_FIELD_KEYS[0])
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from trunkadmin.settings import *  # noqa: E402,F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so live-server and race tests share it across threads and connections.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_SQLITE_NAME", str(VAR_DIR / "test.sqlite3"))}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
