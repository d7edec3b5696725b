"""Inspection tools: receptive fields by autograd, per-dimension conditionals."""
from arstudio.inspect.receptive_field import receptive_field

__all__ = ["receptive_field"]
