"""`datashare roles grant|revoke EMAIL ROLE --reason TEXT` and `datashare roles list [EMAIL]`.

For scripts and for the first administrator (who has nobody to grant them the role in the
portal). The change is audited with the system as the actor and the reason given.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from datashare.accounts.models import Role, RoleGrant, User
from datashare.accounts.services import grant_role, revoke_role
from datashare.core.errors import DomainError


class Command(BaseCommand):
    help = "Grant or revoke an agency role (audited, with a reason), or list who holds which roles."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name in ("grant", "revoke"):
            p = sub.add_parser(name, help=f"{name} a role")
            p.add_argument("email")
            p.add_argument("role", help=", ".join(Role.values))
            p.add_argument("--reason", required=True, help="why (recorded in the audit log)")
        listing = sub.add_parser("list", help="the roles of one user, or every grant")
        listing.add_argument("email", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            grants = RoleGrant.objects.select_related("user").order_by("user__email", "role")
            if options["email"]:
                grants = grants.filter(user__email=options["email"].strip().lower())
            for grant in grants:
                self.stdout.write(f"{grant.user.email}\t{grant.role}")
            return
        role = options["role"].strip().lower()
        if role not in Role.values:
            raise CommandError(f"unknown role {options['role']!r} (one of {', '.join(Role.values)})", returncode=2)
        reason = options["reason"].strip()
        if not reason or "\x00" in reason or len(reason) > 500:
            raise CommandError("--reason must be 1 to 500 characters", returncode=2)
        user = User.objects.filter(email=options["email"].strip().lower()).first()
        if user is None:
            raise CommandError(f"no user with email {options['email']}", returncode=2)
        try:
            if options["action"] == "grant":
                grant_role(actor=None, user=user, role=role, reason=reason)
                self.stdout.write(f"{user.email} now holds {role}")
            else:
                revoke_role(actor=None, user=user, role=role, reason=reason)
                self.stdout.write(f"{user.email} no longer holds {role}")
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
