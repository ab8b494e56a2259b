"""pytest plugin for partners (registered through the ``pytest11`` entry point)."""
