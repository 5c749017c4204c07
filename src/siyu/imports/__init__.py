"""Importers: CSV/XLSX files into customers, orders and chat messages (orchestrates several domains)."""
