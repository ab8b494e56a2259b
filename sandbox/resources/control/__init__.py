"""The sandbox control plane (``/_sandbox/…``): one module per ``sandbox-<name>`` tag of the spec."""
