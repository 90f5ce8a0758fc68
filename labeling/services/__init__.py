"""Writes. Each service takes keyword-only arguments, validates, and writes in one transaction."""
