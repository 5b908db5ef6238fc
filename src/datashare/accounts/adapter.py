from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Hook for site-specific sign-up rules (requestors self-register; staff roles are granted)."""
