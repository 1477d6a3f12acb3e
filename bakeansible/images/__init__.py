"""The image registry: every baked image, its lineage, channels, revocation and pruning."""
