"""Sharing flows between teams: bundles (`bundle`), their signatures (`sign`), the user's trust in them (`trust`),
registries and folders to push them to and pull them from (`oci`), and what a pulled flow carries in the store
(`provenance`: where it came from, who signed it, its trust level)."""
