"""Models of the insights app owned by its cockpit part."""
