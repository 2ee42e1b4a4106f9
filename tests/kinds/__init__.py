"""Kinds of question added by the tests, each a module and a macro beside it."""
