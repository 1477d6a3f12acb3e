"""Configuration: frozen dataclass models, loaders for bake.yml and Packer JSON, variables."""
