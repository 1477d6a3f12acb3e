"""Test helpers that users can run too, chiefly the local Tencent Cloud emulator (``tcloud``)."""
