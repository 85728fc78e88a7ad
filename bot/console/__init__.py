"""The staff console: one aiohttp application, one module per area."""
