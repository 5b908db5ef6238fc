"""`datashare api_token issue EMAIL --name NAME` / `datashare api_token revoke PREFIX`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from datashare.accounts.models import ApiToken, User
from datashare.accounts.services import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    issue_api_token,
    revoke_api_token,
)


class Command(BaseCommand):
    help = "Issue (shown once) or revoke an API token for a service account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="issue a token; it is printed once and never stored")
        issue.add_argument("email", help="the service account's email")
        issue.add_argument("--name", required=True, help="what the token is for")
        issue.add_argument(
            "--expires-in",
            type=int,
            default=DEFAULT_TOKEN_DAYS,
            metavar="DAYS",
            help=f"days until the token stops working (default {DEFAULT_TOKEN_DAYS}, at most {MAX_TOKEN_DAYS})",
        )
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix (dsk_......)")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "issue":
            user = User.objects.filter(email=options["email"].lower(), is_active=True).first()
            if user is None:
                raise CommandError(f"no active user with email {options['email']}")
            days = options["expires_in"]
            if not 1 <= days <= MAX_TOKEN_DAYS:
                raise CommandError(f"--expires-in must be from 1 to {MAX_TOKEN_DAYS} days")
            token, raw = issue_api_token(actor=None, user=user, name=options["name"], expires_in_days=days)
            assert token.expires_at is not None
            self.stdout.write(
                f"token for {user.email} ({token.name}), valid until {token.expires_at:%Y-%m-%d %H:%M %Z}; "
                f"it is shown only this once:\n{raw}"
            )
            return
        matches = list(ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True))
        if len(matches) != 1:
            raise CommandError(f"{len(matches)} live tokens have prefix {options['prefix']}; need exactly one")
        revoke_api_token(actor=None, token=matches[0])
        self.stdout.write(f"revoked {matches[0]}")
