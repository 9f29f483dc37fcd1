"""Accounts as users see them: sign-up (closed, invite, open), invites, storage quotas."""
