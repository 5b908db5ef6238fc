"""Shared fixtures. Settings: tests/testsettings.py."""

from __future__ import annotations
