"""Siyu (私域): private-domain operations platform."""

__version__ = "0.1.0"
