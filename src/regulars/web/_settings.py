"""Django settings for one workspace, built in code (there is no settings module)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["APP_DIR", "LANGUAGES", "app_dir", "build_settings", "secret_key"]

#: Folder inside the workspace that holds the app's state (users, sessions, audit log).
APP_DIR = ".regulars-web"
#: The languages of the app: English, Russian, Slovenian and Hebrew (right to left).
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("sl", "Slovenščina"), ("he", "עברית")]
#: An idle session ends after this many seconds without a request...
IDLE_TIMEOUT = 2 * 3600
#: ...and any session ends this long after its login.
ABSOLUTE_TIMEOUT = 12 * 3600
#: A request renews the idle timeout (saves the session) when it was last renewed this
#: many seconds ago or more, not on every request (each save is a database write).
SESSION_RENEW = 60
#: Largest upload accepted (bytes).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def app_dir(workspace: Path) -> Path:
    """``<workspace>/.regulars-web``, created with owner-only permissions."""
    path = Path(workspace) / APP_DIR
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def secret_key(workspace: Path) -> str:
    """The app's signing key: ``$REGULARS_SECRET_KEY``, else a random key kept in the app dir."""
    env = os.environ.get("REGULARS_SECRET_KEY")
    if env:
        return env
    path = app_dir(workspace) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text(encoding="ascii").strip()


def _database(workspace: Path, database_url: str | None) -> dict[str, Any]:
    """SQLite in the app dir by default; ``postgresql://user:pw@host:port/name`` as an option.

    Query parameters go to the driver (``?sslmode=require``); ``?host=/run/postgresql``
    connects through a unix socket in that folder.
    """
    url = database_url or os.environ.get("REGULARS_DATABASE_URL")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(app_dir(workspace) / "app.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    import importlib.util
    from urllib.parse import parse_qsl, unquote, urlsplit

    from regulars.errors import ConfigError

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(
            f"Database URL scheme {parts.scheme!r} is not supported. Use "
            "postgresql://USER:PASSWORD@HOST:PORT/NAME, or leave it unset for SQLite."
        )
    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError(
            "A PostgreSQL database URL needs the psycopg driver, which is not installed. "
            "Install it with: pip install 'regulars[postgres]'."
        )
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", "") or unquote(parts.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or options.pop("port", "")),
        "OPTIONS": options,
    }


def _allowed_hosts() -> list[str]:
    """Loopback names, plus the comma-separated ``$REGULARS_ALLOWED_HOSTS``."""
    extra = [h.strip() for h in os.environ.get("REGULARS_ALLOWED_HOSTS", "").split(",")]
    return ["127.0.0.1", "localhost", "[::1]", "testserver", *[h for h in extra if h]]


def build_settings(
    workspace: Path,
    *,
    database_url: str | None = None,
    https: bool = False,
    allowed_hosts: list[str] | None = None,
    debug: bool = False,
) -> dict[str, Any]:
    """The settings of the app serving ``workspace``.

    ``https`` marks cookies Secure and turns on HSTS; set it when a reverse proxy
    terminates TLS (the proxy must send ``X-Forwarded-Proto: https``).
    """
    from csp.constants import NONE, SELF

    return {
        "DEBUG": debug,
        "SECRET_KEY": secret_key(workspace),
        "ALLOWED_HOSTS": allowed_hosts or _allowed_hosts(),
        "ROOT_URLCONF": "regulars.web.urls",
        "WSGI_APPLICATION": None,
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "axes",
            "csp",
            "regulars.web.apps.WebConfig",
        ],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "csp.middleware.CSPMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "regulars.web._middleware.SessionLimitsMiddleware",
            "regulars.web._middleware.UserLanguageMiddleware",
            "regulars.web._middleware.ErrorPagesMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "axes.middleware.AxesMiddleware",
        ],
        "AUTHENTICATION_BACKENDS": [
            "axes.backends.AxesStandaloneBackend",
            "django.contrib.auth.backends.ModelBackend",
        ],
        "DATABASES": {"default": _database(workspace, database_url)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.template.context_processors.i18n",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                        "regulars.web._access.role_context",
                    ],
                    "string_if_invalid": "",
                },
            }
        ],
        # -- passwords: Argon2id first; validators incl. common passwords, length >= 8
        "PASSWORD_HASHERS": [
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ],
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {
                "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                "OPTIONS": {"min_length": 8},
            },
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ],
        "LOGIN_URL": "login",
        "LOGIN_REDIRECT_URL": "week",
        "LOGOUT_REDIRECT_URL": "login",
        # -- login rate limiting (django-axes): the 10th failure locks username + address
        "AXES_FAILURE_LIMIT": 10,
        "AXES_COOLOFF_TIME": 0.25,  # hours
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_RESET_ON_SUCCESS": True,
        "AXES_LOCKOUT_TEMPLATE": "regulars_web/locked.html",
        "AXES_VERBOSE": False,
        # -- sessions: database-backed, 128+ random bits, idle and absolute timeouts
        "SESSION_ENGINE": "django.contrib.sessions.backends.db",
        "SESSION_COOKIE_AGE": IDLE_TIMEOUT,
        "SESSION_SAVE_EVERY_REQUEST": False,  # renewed by SessionLimitsMiddleware instead
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "regulars_session",
        "REGULARS_ABSOLUTE_TIMEOUT": ABSOLUTE_TIMEOUT,
        "REGULARS_SESSION_RENEW": SESSION_RENEW,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": https,
        "CSRF_FAILURE_VIEW": "regulars.web.views.csrf_failure",
        "LANGUAGE_COOKIE_HTTPONLY": True,
        "LANGUAGE_COOKIE_SAMESITE": "Lax",
        "LANGUAGE_COOKIE_SECURE": https,
        # -- headers
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if https else None,
        "SECURE_SSL_REDIRECT": https,
        "SECURE_HSTS_SECONDS": 31536000 if https else 0,
        "CONTENT_SECURITY_POLICY": {
            "DIRECTIVES": {
                "default-src": [SELF],
                "script-src": [SELF],
                "style-src": [SELF],
                "img-src": [SELF, "data:"],
                "font-src": [SELF],
                "connect-src": [SELF],
                "object-src": [NONE],
                "base-uri": [NONE],
                "form-action": [SELF],
                "frame-ancestors": [NONE],
            }
        },
        # -- uploads
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 2 * 1024 * 1024,
        "FILE_UPLOAD_MAX_MEMORY_SIZE": 2 * 1024 * 1024,
        "FILE_UPLOAD_TEMP_DIR": str(app_dir(workspace)),
        "FILE_UPLOAD_PERMISSIONS": 0o600,
        "REGULARS_MAX_UPLOAD_BYTES": MAX_UPLOAD_BYTES,
        # -- languages
        "USE_I18N": True,
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "LANGUAGE_CODE": "en",
        "LANGUAGES": LANGUAGES,
        "LANGUAGES_BIDI": ["he"],
        "LOCALE_PATHS": [str(app_dir(workspace) / "locale")],
        "STATIC_URL": "/static/",
        "STATIC_ROOT": None,
        "REGULARS_WORKSPACE": str(workspace),
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"null": {"class": "logging.NullHandler"}},
            "loggers": {"django.security.csrf": {"handlers": ["null"], "propagate": False}},
        },
    }
