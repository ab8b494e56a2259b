"""The services layer: auth, limits, audit, journal, validation, signed URLs, file rendering,
Prefer and scenario behaviour, webhooks, the seeded world; and ``SandboxServices``, one sandbox's
set of them. Services take their collaborators in their constructors and import only ``base``."""
