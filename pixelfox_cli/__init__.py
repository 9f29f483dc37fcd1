"""The ``pixelfox`` command."""
