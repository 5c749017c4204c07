"""Org units, staff, accounts, permissions and data scopes."""
