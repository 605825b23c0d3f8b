"""Settings of a small existing Django project; samljit adds the lines marked ``# samljit``
(and ``# samljit admin pages``).

Environment: ``PORT`` (default 8000), ``DATABASE`` (the SQLite file; default
``db.sqlite3`` next to manage.py), ``SECRET_KEY``, ``ALLOW_LOCAL_METADATA_URLS=1`` (the SSO
admin pages also fetch http and private-address metadata URLs, such as a SimpleSAMLphp on
127.0.0.1).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
PORT = int(os.environ.get("PORT", "8000"))
BASE_URL = f"http://127.0.0.1:{PORT}"  # the public origin: configured, never guessed
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-example-only")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mysite",
    "samljit.integrations.django",  # samljit
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(
            os.environ.get("DATABASE", BASE_DIR.parent / "db.sqlite3")
        ).resolve(),  # a Path
        # BEGIN IMMEDIATE: concurrent writers wait for the lock instead of failing.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"samljit": {"handlers": ["stderr"], "level": "INFO"}},
}

ALLOW_LOCAL_METADATA_URLS = os.environ.get("ALLOW_LOCAL_METADATA_URLS") == "1"

SAMLJIT_SERVICE = "mysite.sso.service"  # samljit
SAMLJIT_ADMIN = "mysite.sso.admin"  # samljit admin pages
