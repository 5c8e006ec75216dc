"""Network video recorder engine: supervisor, camera workers, recorder, catalog, API."""
