"""Modeling tests use the session-wide tiny-model fixtures registered in tests/conftest.py."""
