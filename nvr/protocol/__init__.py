"""What crosses a process boundary, typed: the one vocabulary of the engine and its clients.

- ``worker``: supervisor <-> camera worker messages (pickled over each worker's pipe);
- ``health``: the health document the supervisor publishes (``GET /health``);
- ``commands``: user-interface commands and the engine's replies (``POST /api/command``);
- ``codec``: JSON to and from those types, in one place;
- ``client``: the one HTTP client of the engine's API (console, tests, bench, web);
- ``runfile``: ``<storage>/run/engine.json``, how tools find a running engine.
"""
