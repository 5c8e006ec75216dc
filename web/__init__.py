"""The web server (``nvr web``): its own process, HTTPS, users, roles, audit, dashboard and live
view for remote users. It talks to the engine through ``nvr.protocol.client`` and reads frames
and packets from the workers' shared-memory rings; it never runs inside the supervisor."""
