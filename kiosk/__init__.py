"""Floor screens (picker, put wall, packer, receiving, supervisor) as a Flask blueprint."""
from .views import bp

__all__ = ["bp"]
