"""Django settings for huzhu, read from the environment.

Every secret comes from the environment (or a ``*_FILE`` path). For local demo and test runs
(``HUZHU_DEV=1``, which the Makefile sets) missing secrets are generated once into
``var/dev-secrets.json``; production refuses to start without them.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUZHU_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


DEV = env_bool("HUZHU_DEV", False)


def _dev_secrets() -> dict[str, str]:
    """Return (creating once) the generated secrets of a development checkout."""
    path = VAR_DIR / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    data = {
        "HUZHU_SECRET_KEY": secrets.token_urlsafe(50),
        "HUZHU_PII_KEYS": "1:" + secrets.token_urlsafe(32),
        "HUZHU_PII_INDEX_KEY": secrets.token_urlsafe(32),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def env_secret(name: str) -> str:
    """Return a secret from NAME, or from the file named by NAME_FILE."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    if DEV:
        return _dev_secrets()[name]
    raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set")


SECRET_KEY = env_secret("HUZHU_SECRET_KEY")
# Earlier secret keys, kept after a rotation so that printed receipts (and sessions) signed with
# them still verify: comma-separated in HUZHU_SECRET_KEY_FALLBACKS, or one per line in the file
# HUZHU_SECRET_KEY_FALLBACKS_FILE.
SECRET_KEY_FALLBACKS = [k.strip() for k in (
    os.environ.get("HUZHU_SECRET_KEY_FALLBACKS", "").split(",")
    + (Path(os.environ["HUZHU_SECRET_KEY_FALLBACKS_FILE"]).read_text().splitlines()
       if os.environ.get("HUZHU_SECRET_KEY_FALLBACKS_FILE") else [])) if k.strip()]
DEBUG = env_bool("HUZHU_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("HUZHU_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# Where members and auditors reach the platform: printed in receipt QR codes.
PUBLIC_URL = os.environ.get("HUZHU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("HUZHU_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

# Personal data encryption: "1:<base64 key>,2:<base64 key>"; the highest version encrypts new values.
PII_KEYS = env_secret("HUZHU_PII_KEYS")
# The blind-index key: one key, or a keyring "1:<key>,2:<key>" during a rotation (ADR 0014).
PII_INDEX_KEY = env_secret("HUZHU_PII_INDEX_KEY")
# Years after a member's last cover ends before `huzhu privacy anonymise` clears their personal
# data (PIPL art. 19: the shortest period necessary; the ledger is kept, pseudonymous).
MEMBER_RETENTION_YEARS = env_int("HUZHU_MEMBER_RETENTION_YEARS", 5)
# Days an uploaded roster (accepted or rejected) and a closed batch's bank file are kept before
# `huzhu files purge` deletes them (docs/adr/0012); the database keeps what was committed.
FILE_RETENTION_DAYS = env_int("HUZHU_FILE_RETENTION_DAYS", 180)
# A roster changing the phone, bank card or name of more registered members than this needs a
# second person's approval before it is committed (TRUST S-21).
BULK_PI_CHANGE_LIMIT = env_int("HUZHU_BULK_PI_CHANGE_LIMIT", 20)
# A download with the full ID, phone or card numbers of more people than this waits for a second
# person with the same reveal right, then may be downloaded once within the hours below (S-21).
BULK_PI_EXPORT_LIMIT = env_int("HUZHU_BULK_PI_EXPORT_LIMIT", 20)
BULK_PI_EXPORT_HOURS = env_int("HUZHU_BULK_PI_EXPORT_HOURS", 24)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "huzhu.audit",
    "huzhu.organisations",
    "huzhu.members",
    "huzhu.accounts",
    "huzhu.idempotency",
    "huzhu.ledger",
    "huzhu.products",
    "huzhu.enrollment",
    "huzhu.notices",
    "huzhu.settlements",
    "huzhu.claims",
    "huzhu.payouts",
    "huzhu.insights",
    "huzhu.care",
    "huzhu.privacy",
    "huzhu.web",
    "huzhu.portal",
    "huzhu.demo",
    "huzhu.work",
    "huzhu.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "huzhu.web.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "huzhu.web.middleware.ActingUserMiddleware",
    "huzhu.web.middleware.IdleTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "huzhu.web.middleware.SecondStepMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "huzhu.web.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "huzhu.urls"
WSGI_APPLICATION = "huzhu.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huzhu.web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'huzhu.sqlite3'}"),
        conn_max_age=env_int("HUZHU_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA case_sensitive_like=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HUZHU_TEST_SQLITE", "")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays off for long analytical scans, not for this application's
    # queries: compiling it cost a 2,414-account trial balance 15 ms of 55 (docs/adr/0003).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords (MLPS 8.1.4.1a): at least 10 characters from three of the four classes (lower case,
# upper case, digits, other), not a common or all-digit password, not like the user's own names.
# The messages are Chinese whatever the browser's language (huzhu/accounts/passwords.py).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "huzhu.accounts.passwords.UserAttributeSimilarityValidator"},
    {"NAME": "huzhu.accounts.passwords.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "huzhu.accounts.passwords.CommonPasswordValidator"},
    {"NAME": "huzhu.accounts.passwords.NumericPasswordValidator"},
    {"NAME": "huzhu.accounts.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]

# Django's default hashers, and the one of the platform's random first passwords, which a
# login replaces with the first of these (huzhu/accounts/hashers.py, docs/adr/0021).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "huzhu.accounts.hashers.FirstPasswordHasher",
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "huzhu" / "locale"]
USE_I18N = True
# The database stores UTC (USE_TZ); pages, forms and the admin show and read Beijing time, so a
# time on any page is Beijing's whether or not its template says so. Business dates come from
# huzhu.clock, which names the zone itself.
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
DISPLAY_TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "node_modules"] if (BASE_DIR / "node_modules").exists() else []
MEDIA_ROOT = VAR_DIR / "media"
# Claim documents: outside the web root and MEDIA_ROOT, encrypted (claims/documents.py).
# Records a part of a large settlement delivery is stored and decided in (docs/adr/0004).
BULK_PART = env_int("HUZHU_BULK_PART", 2500)

# Background work (ADR 0009): the Django Tasks API on the database backend (one machine, no
# broker), or the same tasks on Celery over RabbitMQ (HUZHU_TASKS=celery).
TASKS_ENGINE = os.environ.get("HUZHU_TASKS", "database")
if TASKS_ENGINE not in {"database", "celery", "immediate"}:
    raise ImproperlyConfigured("HUZHU_TASKS 只能是 database、celery 或 immediate")
TASKS = {"default": {"BACKEND": {
    "database": "django_tasks_db.backend.DatabaseBackend",
    "celery": "huzhu.work.celery_app.CeleryBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend"}[TASKS_ENGINE],
    "QUEUES": []}}
TASKS_PART_TIMEOUT = env_int("HUZHU_TASKS_PART_TIMEOUT", 3600)
# The worker's sweep leaves settlements younger than this to the delivery storing them.
SWEEP_GRACE_SECONDS = env_int("HUZHU_SWEEP_GRACE", 900)

# SMS: "log" writes var/sms.log (masked); "aliyun" or "tencent" sends through that provider,
# with the template-code mapping read from the TOML file HUZHU_SMS_TEMPLATES (docs/operations.md).
SMS = {
    "provider": os.environ.get("HUZHU_SMS_PROVIDER", "log"),
    "access_key_id": os.environ.get("HUZHU_SMS_ACCESS_KEY_ID", ""),
    # Missing, it is reported by the system check (huzhu.E101), not by a crash here.
    "access_key_secret": os.environ.get("HUZHU_SMS_ACCESS_KEY_SECRET") or (
        Path(os.environ["HUZHU_SMS_ACCESS_KEY_SECRET_FILE"]).read_text().strip()
        if os.environ.get("HUZHU_SMS_ACCESS_KEY_SECRET_FILE") else ""),
    "sign_name": os.environ.get("HUZHU_SMS_SIGN_NAME", ""),
    "templates": os.environ.get("HUZHU_SMS_TEMPLATES", ""),
    "endpoint": os.environ.get("HUZHU_SMS_ENDPOINT", ""),
    "region": os.environ.get("HUZHU_SMS_REGION", ""),
    "sdk_app_id": os.environ.get("HUZHU_SMS_SDK_APP_ID", ""),
    "timeout": float(os.environ.get("HUZHU_SMS_TIMEOUT", "10")),
}
# A message whose send was unknown is asked about after this many seconds, and failed for a
# person to check (never resent blindly) when the provider has said nothing for a day.
SMS_QUERY_AFTER_SECONDS = env_int("HUZHU_SMS_QUERY_AFTER", 300)
SMS_GIVE_UP_SECONDS = env_int("HUZHU_SMS_GIVE_UP", 86400)
CELERY_BROKER_URL = os.environ.get("HUZHU_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_RESULT_BACKEND = os.environ.get("HUZHU_CELERY_RESULTS", "redis://127.0.0.1:6379/0")
CELERY_QUEUE = os.environ.get("HUZHU_CELERY_QUEUE", "huzhu")
DOCUMENTS_DIR = Path(os.environ.get("HUZHU_DOCUMENTS_DIR", VAR_DIR / "documents"))

# A session ends HUZHU_SESSION_SECONDS after its login whatever its activity (the login time is
# kept in the session), and after HUZHU_IDLE_SECONDS without a request (web/middleware.py).
SESSION_COOKIE_AGE = env_int("HUZHU_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
IDLE_SECONDS = env_int("HUZHU_IDLE_SECONDS", 30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("HUZHU_SECURE_COOKIES", not DEV)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env_int("HUZHU_HSTS_SECONDS", 0 if DEV else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV
SECURE_HSTS_PRELOAD = env_bool("HUZHU_HSTS_PRELOAD", not DEV)
# Behind the TLS proxy, which must send X-Forwarded-Proto (docs/operations.md); the health
# check answers plain HTTP for the proxy's and the orchestrator's probes.
SECURE_SSL_REDIRECT = env_bool("HUZHU_SSL_REDIRECT", not DEV)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


# Failed logins: lock a username for HUZHU_LOCKOUT_SECONDS after HUZHU_LOCKOUT_FAILURES failures.
LOCKOUT_FAILURES = env_int("HUZHU_LOCKOUT_FAILURES", 5)
LOCKOUT_SECONDS = env_int("HUZHU_LOCKOUT_SECONDS", 900)
# ... and refuse every login from a client address that failed HUZHU_ADDRESS_LOCKOUT_FAILURES
# times in the last HUZHU_ADDRESS_LOCKOUT_SECONDS, whichever usernames it tried.
ADDRESS_LOCKOUT_FAILURES = env_int("HUZHU_ADDRESS_LOCKOUT_FAILURES", 20)
ADDRESS_LOCKOUT_SECONDS = env_int("HUZHU_ADDRESS_LOCKOUT_SECONDS", 900)
# How many reverse proxies in front of the platform append to X-Forwarded-For; the client address
# is the entry the outermost of them wrote. 0 (the default): the TCP peer (REMOTE_ADDR).
TRUSTED_PROXIES = env_int("HUZHU_TRUSTED_PROXIES", 0)
# Staff need a second factor (TOTP, docs/adr/0010); a wrong code counts as a wrong password.
# django-otp's own growing delay after a wrong code is off: the lock-out above is the limit.
OTP_TOTP_ISSUER = "互助保障管理平台"
OTP_TOTP_THROTTLE_FACTOR = 0
# Days a password lives before its owner must change it at the next login (MLPS 等保三级
# 8.1.4.1a asks for periodic change; ASVS v4 2.1.10 does not: docs/adr/0010). 0: never expires.
PASSWORD_MAX_AGE_DAYS = env_int("HUZHU_PASSWORD_MAX_AGE_DAYS", 90)

# Every handler masks ID, card and phone numbers in what it is given (TRUST S-20).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # huzhu.pii.logfilter masks personal numbers and escapes line breaks (TRUST S-20).
    "filters": {"redact": {"()": "huzhu.pii.logfilter.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUZHU_LOG_LEVEL", "WARNING")},
    # The development server's request lines carry query strings (a search by ID number): they go
    # through the same filter.
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

