"""Reads. Views and services call these; they never write."""
