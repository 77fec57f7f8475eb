"""Models of the insights app owned by its reports part."""
