"""Compliance: chat-archive ingestion, normalisation, sensitive-behaviour detection, incidents and review."""
