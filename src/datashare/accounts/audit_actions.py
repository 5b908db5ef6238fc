"""The audit actions about accounts and organizations (see ``datashare.audit.registry``)."""

from __future__ import annotations

from datashare.audit.registry import register

SIGNED_IN = register("account.signed_in", "Signed in")
SIGN_IN_FAILED = register("account.sign_in_failed", "Sign-in failed")
SIGNED_OUT = register("account.signed_out", "Signed out")
MFA_ADDED = register("account.mfa_added", "Two-factor authenticator added")
MFA_REMOVED = register("account.mfa_removed", "Two-factor authenticator removed")
MFA_RESET = register("account.mfa_reset", "Recovery codes regenerated")
MFA_FAILED = register("account.mfa_failed", "Two-factor code refused")
PROFILE_CHANGED = register("account.profile_changed", "Profile changed")
ROLE_GRANTED = register("account.role_granted", "Role granted")
ROLE_REVOKED = register("account.role_revoked", "Role revoked")
ORGANIZATION_CHANGED = register("account.organization_changed", "Organization changed")
AFFILIATION_VERIFIED = register("account.affiliation_verified", "Affiliation confirmed")
API_TOKEN_ISSUED = register("account.api_token_issued", "API token issued")
API_TOKEN_REVOKED = register("account.api_token_revoked", "API token revoked")
# Organizations are created by accounts (joining one) and by intake (naming one on a request).
ORGANIZATION_CREATED = register("organization.created", "Organization created")
ACCOUNT_ORGANIZATION_CREATED = register("account.organization_created", "Organization created")
DEACTIVATED = register("account.deactivated", "Account deactivated")
REACTIVATED = register("account.reactivated", "Account reactivated")
