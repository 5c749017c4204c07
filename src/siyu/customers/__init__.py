"""Customers: identities, channel memberships, tags, sources."""
