"""The benefit-rules engine: pure Python, no Django (STYLE §10 rule 2).

``scalar.assess`` explains one claim; ``vector`` computes many with the same fen.
Products are TOML data in ``catalog/`` read by ``catalog.load_catalog``.
"""
