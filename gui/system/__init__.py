"""The System view: storage, workers, logs and configuration history (F4)."""
