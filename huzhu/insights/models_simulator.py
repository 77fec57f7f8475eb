"""Models of the insights app owned by its simulator part."""
