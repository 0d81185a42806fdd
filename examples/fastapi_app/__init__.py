"""A documents API in FastAPI guarded by iamguard (SigV4 and bearer session tokens): see README.md."""

from .app import create_app

__all__ = ["create_app"]
