"""The orchestration layer: the operation registry and its one ``invoke()``, the HTTP request
pipeline, triggers and the scenario timeline player. Imports handlers, services and base."""
