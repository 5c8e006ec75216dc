"""The supervisor process: worker lifecycle, the catalog writer, the HTTP API, live reload."""
