"""An S3-compatible object service guarded by iamguard: see README.md and :func:`create_app`."""

from .app import create_app

__all__ = ["create_app"]
