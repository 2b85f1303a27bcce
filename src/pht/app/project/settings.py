"""Settings of the web app, declared once and read from the environment.

``PHT_ENV`` says where the app runs: ``development`` (the default, what ``make run`` serves on
127.0.0.1), ``test`` or ``production``. Outside development the settings refuse unsafe defaults:
a missing or placeholder ``PHT_SECRET_KEY``, ``PHT_DEBUG`` switched on, or no
``PHT_ALLOWED_HOSTS``. The application database is SQLite in ``$PHT_HOME/app.sqlite3`` unless
``DATABASE_URL`` names another (PostgreSQL in a real deployment).

In production every secret comes from the environment and nothing else: ``PHT_SECRET_KEY`` and,
for single sign-on, ``PHT_OIDC_PRIVATE_KEY`` (the PEM text; the ``PHT_OIDC_PRIVATE_KEY_FILE``
of development and test is refused), and ``manage.py check --deploy`` has nothing to report.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from pht.app.project.headers import static_headers
from pht.core.settings import get_settings

APP_DIR = Path(__file__).resolve().parent.parent
PHT = get_settings()

PHT_ENV = os.environ.get("PHT_ENV", "development").strip().lower()
if PHT_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"PHT_ENV={PHT_ENV!r} is not one of development, test, production")
DEVELOPMENT = PHT_ENV == "development"

# (the development key: refused outside development, see below)
_DEV_SECRET = "development-only-secret-key-never-use-in-production-5f1c9e2a7b"  # nosec B105
SECRET_KEY = os.environ.get("PHT_SECRET_KEY", "")
if not SECRET_KEY:
    if PHT_ENV == "production":
        raise ImproperlyConfigured("PHT_SECRET_KEY must be set outside development")
    SECRET_KEY = _DEV_SECRET
if PHT_ENV == "production" and (
    SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50 or "insecure" in SECRET_KEY
):
    raise ImproperlyConfigured(
        "PHT_SECRET_KEY is a placeholder or shorter than 50 characters; "
        "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(64))'`"
    )

DEBUG = os.environ.get("PHT_DEBUG", "0").strip().lower() in {"1", "true", "yes", "on"}
if DEBUG and not DEVELOPMENT:
    raise ImproperlyConfigured("PHT_DEBUG may only be switched on when PHT_ENV=development")

_hosts = [h.strip() for h in os.environ.get("PHT_ALLOWED_HOSTS", "").split(",") if h.strip()]
if not _hosts:
    if PHT_ENV == "production":
        raise ImproperlyConfigured("PHT_ALLOWED_HOSTS must list the host names outside development")
    _hosts = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = _hosts

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "oauth2_provider",
    "pht.app.accounts",
    "pht.app.audit",
    "pht.app.care",
    "pht.app.dashboards",
    "pht.app.call",
    "pht.app.quality",
    "pht.app.outbox",
    "pht.app.surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pht.app.accounts.middleware.IdleTimeoutMiddleware",
    "pht.app.accounts.middleware.NoStoreMiddleware",
    "pht.app.audit.middleware.DeniedAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pht.app.project.urls"
WSGI_APPLICATION = "pht.app.project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [APP_DIR / "project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pht.app.accounts.context.profile",
            ],
        },
    }
]

_default_db = f"sqlite:///{(PHT.home / 'app.sqlite3').resolve()}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with case-insensitive search that folds æ, ø, å like PostgreSQL.
    DATABASES["default"]["ENGINE"] = "pht.app.project.sqlite"
    # Tests on SQLite use an in-memory database (Django's default, said out loud: pytest-xdist's
    # per-worker suffix would otherwise turn this backend's file name into a test file path)
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    # WAL lets readers work while one writer writes; IMMEDIATE transactions queue writers
    # instead of failing with "database is locked" under concurrent use.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords: Argon2 first; lock-out after repeated failures (django-axes).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Password spraying (one password tried on many user names from one address): after this many
# failed logins from one address within the cool-off time, that address gets 429 for every
# user name (pht.app.accounts.views.login), audited as access.denied.
PHT_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("PHT_LOGIN_FAILURES_PER_ADDRESS", "20"))
# Password login is for the demo and can be switched off (PHT_PASSWORD_LOGIN=0): then only
# single sign-on (OpenID Connect, below) signs users in.
PHT_PASSWORD_LOGIN = os.environ.get("PHT_PASSWORD_LOGIN", "1").strip().lower() not in {
    "0",
    "false",
    "no",
    "off",
}

# Single sign-on with OpenID Connect as HelseID does it (pht.app.accounts.oidc): authorization
# code flow with PKCE (S256), client authentication by private_key_jwt (RS256), ID token checked
# (signature, issuer, audience, expiry, nonce), RP-initiated logout. The HPR number claim names
# the practitioner; membership and role come from pht's own profiles. Off without an issuer.
PHT_OIDC_ISSUER = os.environ.get("PHT_OIDC_ISSUER", "").strip().rstrip("/")
PHT_OIDC_CLIENT_ID = os.environ.get("PHT_OIDC_CLIENT_ID", "").strip()
PHT_OIDC_PRIVATE_KEY = os.environ.get("PHT_OIDC_PRIVATE_KEY", "")
if not PHT_OIDC_PRIVATE_KEY and os.environ.get("PHT_OIDC_PRIVATE_KEY_FILE"):
    if PHT_ENV == "production":
        raise ImproperlyConfigured(
            "PHT_OIDC_PRIVATE_KEY_FILE is refused in production: give the key in "
            "PHT_OIDC_PRIVATE_KEY (secrets come from the environment only)"
        )
    PHT_OIDC_PRIVATE_KEY = Path(os.environ["PHT_OIDC_PRIVATE_KEY_FILE"]).read_text()
PHT_OIDC_KEY_ID = os.environ.get("PHT_OIDC_KEY_ID", "").strip()
PHT_OIDC_SCOPES = os.environ.get(
    "PHT_OIDC_SCOPES", "openid profile helseid://scopes/hpr/hpr_number"
).split()
PHT_OIDC_HPR_CLAIM = os.environ.get("PHT_OIDC_HPR_CLAIM", "helseid://claims/hpr/hpr_number")
if PHT_OIDC_ISSUER and not (PHT_OIDC_CLIENT_ID and PHT_OIDC_PRIVATE_KEY):
    raise ImproperlyConfigured(
        "PHT_OIDC_ISSUER needs PHT_OIDC_CLIENT_ID and PHT_OIDC_PRIVATE_KEY (private_key_jwt)"
    )
if PHT_ENV == "production" and PHT_OIDC_ISSUER and not PHT_OIDC_ISSUER.startswith("https://"):
    raise ImproperlyConfigured("PHT_OIDC_ISSUER must be an https:// address in production")

# Tokens for systems: OAuth 2.0 client credentials (django-oauth-toolkit) at /o/token/, scoped
# per practice (the client's) and operation (pht.app.accounts.permissions), revocable.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {
        name: row["description"]
        for name, row in tomllib.loads(
            (APP_DIR / "accounts" / "data" / "permissions.toml").read_text(encoding="utf-8")
        )["scopes"].items()
    },
    "DEFAULT_SCOPES": ["worklist:read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 10 * 60,
    "PKCE_REQUIRED": True,
    "SCOPES_BACKEND_CLASS": "pht.app.accounts.systems.ClientScopes",
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: tokens stored hashed, only in the header,
    # no implicit or password grants, S256 only, https redirects, refresh replay detected.
    # (nosec B105: bandit takes these names with TOKEN/PASSWORD for hard-coded passwords.)
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,  # nosec B105
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # nosec B105
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # nosec B105
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,  # nosec B105
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # nosec B105
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# Requests per system client (the API's throttle, ninja's syntax: N/s, N/min, N/h).
PHT_API_RATE_PER_CLIENT = os.environ.get("PHT_API_RATE_PER_CLIENT", "300/min")
PHT_API_RATE_PER_USER = os.environ.get("PHT_API_RATE_PER_USER", "600/min")

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "care:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions and CSRF: HTTP-only cookies, same-site, secure over HTTPS outside development.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# A session left idle this long ends (pht.app.accounts.middleware.IdleTimeoutMiddleware).
PHT_SESSION_IDLE_MINUTES = int(os.environ.get("PHT_SESSION_IDLE_MINUTES", "30"))
CSRF_FAILURE_VIEW = "pht.app.accounts.errors.csrf_failure"
SESSION_COOKIE_SECURE = not DEVELOPMENT and PHT_ENV != "test"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PHT_ENV == "production":
    SECURE_SSL_REDIRECT = os.environ.get("PHT_SSL_REDIRECT", "1") != "0"
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    _origins = os.environ.get("PHT_CSRF_TRUSTED_ORIGINS", "")
    CSRF_TRUSTED_ORIGINS = [o.strip() for o in _origins.split(",") if o.strip()]

# Content-Security-Policy: only this origin's scripts and styles, no inline code, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # single sign-on's logout is a form whose answer redirects to the provider
        "form-action": [SELF, *([PHT_OIDC_ISSUER] if PHT_OIDC_ISSUER else [])],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Language: Norwegian bokmål by default, English selectable.
LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norsk bokmål")), ("en", _("English"))]
LOCALE_PATHS = [APP_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Oslo"
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served by WhiteNoise straight from the apps (no collectstatic step needed);
# set PHT_STATIC_ROOT to collect them for a separate web server.
STATIC_ROOT = os.environ.get("PHT_STATIC_ROOT") or None
if STATIC_ROOT:
    # collected files carry a content hash in their names, so the proxy may cache them for ever
    # (deploy/nginx.conf.in); `collectstatic` must run before the app starts (docs/deploy.md)
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Static files (SVG too) carry the same Content-Security-Policy as the pages.
WHITENOISE_ADD_HEADERS_FUNCTION = static_headers

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING"},
        "axes": {"handlers": ["console"], "level": "WARNING"},
    },
}

# The worklist shows this many patients per page.
PHT_PAGE_SIZE = 25

# Caches: rendered worklist tables per worker process, keyed by the practice's data version
# (pht.app.care.freshness), so a change is never hidden by a cached table.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pht"},
    "worklist": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pht-worklist",
        "TIMEOUT": 15 * 60,
        "OPTIONS": {"MAX_ENTRIES": 2_000},
    },
    # rate limits (survey links, the API's throttles) must count across every server process:
    # a table in the app database (created by the surveys app's migration 0002)
    "limits": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "pht_rate_limits",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}
