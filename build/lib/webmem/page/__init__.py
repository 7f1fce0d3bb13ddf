"""The page model: in-page helpers, DOM signatures, fingerprints, selectors, and finding a target."""
