"""Contracts and memberships, their members, the contract acts."""
