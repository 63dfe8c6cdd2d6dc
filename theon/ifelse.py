"""Theano's ``theano.ifelse``: a conditional that runs only the side it takes."""
from .frontend.branch import ifelse

__all__ = ["ifelse"]
