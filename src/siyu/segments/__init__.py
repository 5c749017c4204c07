"""Segments (人群包): a JSON rule language compiled to one SQL query, saved with versions and daily sizes."""
