"""Dashboard queries: the 概览 overview aggregates (SQL) and their shaping."""
