"""Journeys (SOP), the script library, staff tasks, mass sends with caps, and script experiments."""
