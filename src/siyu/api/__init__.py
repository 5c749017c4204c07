"""Shared pieces of the REST API (/api/v1): dependencies, pagination, router assembly."""
