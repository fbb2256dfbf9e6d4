"""sense stage."""
