"""Settings for trunkadmin, read from the environment through django-environ (see README "Configuration").

DEBUG=true (what `make run` uses) generates missing secrets once into var/dev-secrets.env.
DEBUG=false refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):
    """django-environ's reader, strict about booleans and whole numbers.

    environ.Env reads every word it does not know as false (DEBUG=maybe would quietly turn DEBUG
    off) and lets int() fail without naming the variable: here both stop the start, naming it.
    """

    BOOLEAN_FALSE_STRINGS = ("false", "off", "no", "n", "0", "")

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} {exc}.") from None

    @classmethod
    def parse_value(cls, value, cast):
        if cast is bool:
            word = value.strip().lower()
            if word not in cls.BOOLEAN_TRUE_STRINGS + cls.BOOLEAN_FALSE_STRINGS:
                raise ValueError(f"must be true or false, not {value!r}")
            return word in cls.BOOLEAN_TRUE_STRINGS
        if cast is int and not re.fullmatch(r"-?[0-9]+", value.strip()):
            # int() would also take "1_000" and digits of other scripts.
            raise ValueError(f"must be a whole number, not {value!r}")
        return super().parse_value(value, cast)


env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state (SQLite file, generated development secrets); never committed.
VAR_DIR = Path(env.str("TRUNKADMIN_VAR_DIR", default="") or BASE_DIR / "var")

DEBUG = env.bool("DEBUG", default=False)


def load_dev_secrets(path: Path) -> None:
    """Put SECRET_KEY and FIELD_ENCRYPTION_KEY into the environment where it lacks them (DEBUG only).

    They come from `path`, an untracked file (mode 0600) into which the missing ones are generated
    once, so restarts keep the same keys and stored credentials stay readable.
    """
    makers = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    }
    for name in makers:
        if not env.str(name, default=""):
            env.ENVIRON.pop(name, None)  # set but empty counts as missing
    Env.read_env(path)  # fills in only what the environment does not set
    generated = {name: make() for name, make in makers.items() if name not in env}
    if generated:
        header = "" if path.exists() else "# Development secrets, generated once. Never commit this file.\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        with path.open("a") as file:
            file.write(header + "".join(f"{name}={value}\n" for name, value in generated.items()))
        path.chmod(0o600)
        Env.read_env(path)


if DEBUG:
    load_dev_secrets(VAR_DIR / "dev-secrets.env")

SECRET_KEY = env.str("SECRET_KEY", default="")
# Comma-separated Fernet keys, newest first: the first encrypts, all of them decrypt.
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", cast=str.strip, default=[])
_missing = [
    name for name, value in (("SECRET_KEY", SECRET_KEY), ("FIELD_ENCRYPTION_KEY", FIELD_ENCRYPTION_KEY)) if not value
]
if _missing:
    raise ImproperlyConfigured(
        f"Missing required setting(s): {', '.join(_missing)}. Set them in the environment "
        "(see README, 'Configuration'), or run with DEBUG=true for local development."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", cast=str.strip, default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", cast=str.strip, default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "phonenumber_field",
    "channels_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "channels_app.middleware.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "channels_app.middleware.DatabaseFaultMiddleware",
]

ROOT_URLCONF = "trunkadmin.urls"
WSGI_APPLICATION = "trunkadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_database_url = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"  # empty: unset
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite ignores SELECT ... FOR UPDATE: IMMEDIATE transactions serialise writers instead,
    # WAL lets readers run beside a writer, and the timeout turns contention into waiting.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),  # options in DATABASE_URL's query win
    }
    # Connections persist (CONN_MAX_AGE) as for PostgreSQL: the last connection to close a WAL
    # database checkpoints it with an fsync, which cost every write request ~30 ms when each
    # request closed its connection (docs/performance.md).
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DATABASE_PREPARED", default=True):
    # Server-side parameters and prepared statements (psycopg 3): a statement run 5 times on a
    # connection is parsed and planned once (docs/performance.md). Behind a pooler that cannot
    # keep prepared statements (PgBouncer before 1.21 in transaction mode): DATABASE_PREPARED=false.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": 5,
        **DATABASES["default"].get("OPTIONS", {}),  # e.g. ?sslmode=require
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set, where the API throttle then counts -----------------
# Without it the throttle counts in the database, and idempotency records are always there:
# every guarantee that spans requests holds across workers and servers either way.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# "Forgot password?" mails a reset link (Django's password reset views). EMAIL_URL is read by
# django-environ (`smtp+tls://user:password@smtp.example.com:587`, `smtps://...:465`); without it
# development prints the mail on the console and production sends through localhost:25.
# The URL holds the SMTP password: it is not kept as a setting (settings show on error pages).
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="trunkadmin <no-reply@localhost>")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 60 * 60)

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"  # a page that explains the pause (HTTP 429)
AXES_VERBOSE = env.bool("AXES_VERBOSE", default=False)
# Behind a TLS proxy, the client address is the last hop the proxy appends.
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
# Both reach past this application, so they are the operator's choice: includeSubDomains forces
# HTTPS on every subdomain of the host, and the preload list (which also needs includeSubDomains)
# takes months to leave. Django's deploy check warns while they are off (W005, W021); off is the
# documented default here (docs/deployment.md), so those two warnings are silenced.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Phone numbers --------------------------------------------------------------------------
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- REST API (docs/api.md) -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["channels_app.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["channels_app.api.permissions.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["channels_app.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "channels_app.api.negotiation.JSONOnly",
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "channels_app.api.schema.ProductAutoSchema",
    "EXCEPTION_HANDLER": "channels_app.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Requests per token, e.g. "600/minute"; counted in Redis when REDIS_URL is set, else in the database.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/minute")
# How long a response is kept for replay under its Idempotency-Key.
API_IDEMPOTENCY_TTL_SECONDS = env.int("API_IDEMPOTENCY_TTL_SECONDS", default=24 * 60 * 60)

SPECTACULAR_SETTINGS = {
    "TITLE": "trunkadmin API",
    "DESCRIPTION": "Register the phone numbers you own and bind them, per channel, to your agents. "
    "Every response is an envelope: `{success, message, data}` or `{success: false, message, error}`.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_SPLIT_PATCH": False,  # PATCH bodies have required keys (phone_number, channel)
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Enums stay inline where they are used (no enum components): the error code list sits on
    # every error envelope.
    "POSTPROCESSING_HOOKS": ["channels_app.api.schema.add_response_headers"],
}

# --- Trunk check (docs/sip-check.md) ---------------------------------------------------------
# Private, loopback, link-local, multicast and reserved addresses are refused unless this is on
# (tests, and private deployments whose trunks live on an internal network).
SIP_CHECK_ALLOW_PRIVATE = env.bool("SIP_CHECK_ALLOW_PRIVATE", default=False)
# The whole check (every gateway, name lookups included) ends within this time.
SIP_CHECK_TIMEOUT_SECONDS = env.int("SIP_CHECK_TIMEOUT_MS", default=4000) / 1000
if not 0 < SIP_CHECK_TIMEOUT_SECONDS <= 10:
    raise ImproperlyConfigured("SIP_CHECK_TIMEOUT_MS must be between 1 and 10000.")
# One check per trunk in this many seconds, across every worker (settled in the database).
SIP_CHECK_MIN_INTERVAL_SECONDS = env.int("SIP_CHECK_MIN_INTERVAL_SECONDS", default=30)
# The test call (docs/routing.md) ends within this time, every gateway tried included.
SIP_TEST_CALL_TIMEOUT_SECONDS = env.int("SIP_TEST_CALL_TIMEOUT_MS", default=8000) / 1000
if not 1 <= SIP_TEST_CALL_TIMEOUT_SECONDS <= 20:
    raise ImproperlyConfigured("SIP_TEST_CALL_TIMEOUT_MS must be between 1000 and 20000.")

# --- Routing and the SIP edge (docs/routing.md) -----------------------------------------------
# Where Kamailio listens (`manage.py sip_edge`), and the address carriers are told to send to.
SIP_EDGE_LISTEN = env.str("SIP_EDGE_LISTEN", default="127.0.0.1:5060")
SIP_EDGE_PUBLIC_ADDRESS = env.str("SIP_EDGE_PUBLIC_ADDRESS", default="") or SIP_EDGE_LISTEN


# The addresses the product's SIP traffic leaves from (the edge's outbound calls, the trunk check
# and test calls): what a carrier must allow. Default: the host of SIP_EDGE_PUBLIC_ADDRESS.
def _host_of(address: str) -> str:
    """`host:port`, `[v6]:port` or a bare host -> the host."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


SIP_SIGNALLING_ADDRESSES = env.list("SIP_SIGNALLING_ADDRESSES", cast=str.strip, default=[]) or [
    _host_of(SIP_EDGE_PUBLIC_ADDRESS)
]
# How the edge reaches the product, and the secret they share (the internal endpoints refuse
# every request without it; unset, they refuse every request). With DEBUG and no SIP_EDGE_SECRET,
# one is derived from SECRET_KEY, so `make run` and `make edge` agree without a setting.
SIP_EDGE_PRODUCT_URL = env.str("SIP_EDGE_PRODUCT_URL", default="http://127.0.0.1:8000")
SIP_EDGE_SECRET = env.str("SIP_EDGE_SECRET", default="")
if DEBUG and not SIP_EDGE_SECRET:
    SIP_EDGE_SECRET = hmac.new(SECRET_KEY.encode(), b"trunkadmin sip edge", hashlib.sha256).hexdigest()
# Kamailio processes: SIP receivers, and the workers that wait on the product's decisions.
SIP_EDGE_CHILDREN = env.int("SIP_EDGE_CHILDREN", default=4)
SIP_EDGE_DECISION_WORKERS = env.int("SIP_EDGE_DECISION_WORKERS", default=8)
# A gateway that sends no answer within this time is given up for the secondary one.
SIP_EDGE_GATEWAY_TIMEOUT_MS = env.int("SIP_EDGE_GATEWAY_TIMEOUT_MS", default=2000)
# TLS towards carriers: a certificate and key (PEM) turn on a TLS listener on the next port.
SIP_EDGE_TLS_CERTIFICATE = env.str("SIP_EDGE_TLS_CERTIFICATE", default="")
SIP_EDGE_TLS_PRIVATE_KEY = env.str("SIP_EDGE_TLS_PRIVATE_KEY", default="")
# The agents' media servers: where inbound calls are relayed ({agent_uuid} is filled in), and
# the only sources allowed to place outbound calls through the edge.
AGENT_SIP_URI = env.str("AGENT_SIP_URI", default="sip:{agent_uuid}@127.0.0.1:5070")
AGENT_SOURCE_ADDRESSES = env.list("AGENT_SOURCE_ADDRESSES", cast=str.strip, default=["127.0.0.0/8"])
for _block in AGENT_SOURCE_ADDRESSES:
    try:
        ipaddress.ip_network(_block, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"AGENT_SOURCE_ADDRESSES must be IP addresses or CIDR blocks, not {_block!r}."
        ) from None
if "{agent_uuid}" not in AGENT_SIP_URI or not AGENT_SIP_URI.startswith(("sip:", "sips:")):
    raise ImproperlyConfigured("AGENT_SIP_URI must be a sip: URI with {agent_uuid} in it.")

# --- WhatsApp lines (docs/whatsapp.md) --------------------------------------------------------
# Where the product is reached from outside: the base of each WhatsApp trunk's webhook_url.
PUBLIC_BASE_URL = env.str(
    "PUBLIC_BASE_URL",
    default="http://127.0.0.1:8000" if DEBUG or not ALLOWED_HOSTS else f"https://{ALLOWED_HOSTS[0].lstrip('.')}",
).rstrip("/")
WHATSAPP_GRAPH_URL = env.str("WHATSAPP_GRAPH_URL", default="https://graph.facebook.com/v21.0").rstrip("/")
WHATSAPP_CHECK_TIMEOUT_SECONDS = env.int("WHATSAPP_CHECK_TIMEOUT_MS", default=5000) / 1000
if not 0 < WHATSAPP_CHECK_TIMEOUT_SECONDS <= 30:
    raise ImproperlyConfigured("WHATSAPP_CHECK_TIMEOUT_MS must be between 1 and 30000.")
# Meta sends notifications in batches well under 3 MB; a larger body is refused unread.
WHATSAPP_WEBHOOK_MAX_BYTES = env.int("WHATSAPP_WEBHOOK_MAX_BYTES", default=3 * 1024 * 1024)
# Delivery to the agent: `{agent_uuid}` is replaced; the body is signed with AGENT_MESSAGE_SECRET
# (the worker refuses to start without it). Retries back off from the base, doubling, up to the cap.
AGENT_MESSAGE_URL = env.str("AGENT_MESSAGE_URL", default="http://127.0.0.1:8090/agents/{agent_uuid}/messages")
AGENT_MESSAGE_SECRET = env.str("AGENT_MESSAGE_SECRET", default="")
if DEBUG and not AGENT_MESSAGE_SECRET:  # development: stable, derived from the (untracked) SECRET_KEY
    AGENT_MESSAGE_SECRET = hmac.new(SECRET_KEY.encode(), b"trunkadmin agent messages", hashlib.sha256).hexdigest()
AGENT_MESSAGE_TIMEOUT_SECONDS = env.int("AGENT_MESSAGE_TIMEOUT_MS", default=10000) / 1000
AGENT_DELIVERY_MAX_ATTEMPTS = env.int("AGENT_DELIVERY_MAX_ATTEMPTS", default=12)
AGENT_DELIVERY_BACKOFF_SECONDS = env.int("AGENT_DELIVERY_BACKOFF_MS", default=5000) / 1000
AGENT_DELIVERY_MAX_BACKOFF_SECONDS = env.int("AGENT_DELIVERY_MAX_BACKOFF_SECONDS", default=3600)
# How long a worker holds a claimed delivery; after that (the worker died) it is due again.
AGENT_DELIVERY_LEASE_SECONDS = env.int("AGENT_DELIVERY_LEASE_SECONDS", default=60)
if not 0 < AGENT_MESSAGE_TIMEOUT_SECONDS < AGENT_DELIVERY_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "AGENT_MESSAGE_TIMEOUT_MS must be positive and shorter than AGENT_DELIVERY_LEASE_SECONDS."
    )
if AGENT_DELIVERY_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("AGENT_DELIVERY_MAX_ATTEMPTS must be at least 1.")

# --- Audit trail ----------------------------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = False

# --- Logging: credentials and tokens are scrubbed from every record -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_secrets": {"()": "channels_app.logging.ScrubSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["scrub_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "channels_app.logging.SecretSafeExceptionReporterFilter"
