"""What more than one test module needs: helpers, canned data and checks.

Test modules import from here (or from tests/conftest.py), never from one
another: tests/test_suite_layout.py makes sure of it."""
