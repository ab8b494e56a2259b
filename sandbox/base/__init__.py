"""The base layer: errors, store, clock, ids, durations, settings and the one ``Spec``.

Nothing here imports a web framework or any other layer of the package.
"""
