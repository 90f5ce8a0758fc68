"""Production: secrets and hosts from the environment, DEBUG off, secure cookies.

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL (Postgres), REDIS_URL,
and a DEMO_PASSWORD other than the default if demo users are ever seeded.
"""
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import DEMO_PASSWORD, SECRET_KEY
from config.settings.env import env_bool, env_int

DEBUG = False
if SECRET_KEY.startswith("insecure-"):
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: production refuses the development key.")
if DEMO_PASSWORD == "rlhf-demo":
    raise ImproperlyConfigured("Set DEMO_PASSWORD: production refuses the public demo password.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# HSTS is opt-in: once a browser has seen it, the site cannot go back to plain HTTP for that long.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0

# /static/ is served by WhiteNoise from what the image's `collectstatic` gathered (Dockerfile).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
