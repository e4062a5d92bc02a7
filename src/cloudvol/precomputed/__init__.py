"""The precomputed format layer: info model, chunk grid, provenance (no IO)."""
