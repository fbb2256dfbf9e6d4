"""anomaly stage."""
