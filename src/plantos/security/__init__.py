"""Identities, tokens and sessions. Every API route is authenticated."""

from plantos.security.tokens import Identity, TokenStore

__all__ = ["Identity", "TokenStore"]
