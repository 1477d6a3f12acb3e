"""The image registry's tables, as a migration of the state database (see
``bakeansible.state.migrations``; ``{float}``, ``{bigint}`` and ``{json}`` are the dialect's
words)."""

from __future__ import annotations

REGISTRY_SQL = """
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    image_name TEXT NOT NULL,
    build_name TEXT NOT NULL,
    builder_type TEXT NOT NULL,
    artifact TEXT NOT NULL,
    checksum TEXT,
    size {bigint},
    fingerprint TEXT,
    inputs {json} NOT NULL,
    source TEXT NOT NULL,
    parent_id TEXT,
    git_commit TEXT,
    created_at {float} NOT NULL,
    test_result TEXT,
    revoked_at {float},
    revoke_reason TEXT,
    deleted_at {float},
    location {json} NOT NULL
);
CREATE INDEX images_build ON images (build_name, created_at);
CREATE INDEX images_fingerprint ON images (build_name, fingerprint);
CREATE INDEX images_checksum ON images (checksum);
CREATE INDEX images_parent ON images (parent_id);
CREATE TABLE channels (
    channel TEXT NOT NULL,
    build_name TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images (id),
    updated_at {float} NOT NULL,
    PRIMARY KEY (channel, build_name)
)
"""
