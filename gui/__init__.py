"""Operator console (Dear PyGui): the only package that imports ``dearpygui``.

- ``main``: ``nvr console``'s entry point (``run_console``, ``display_problem``);
- ``shell``: ``Console``, the window: viewport, render loop, panels, global keys, status bar;
- ``panel``: the ``Panel`` protocol every view implements, and the status bar's ``Feedback``;
- ``live/``: the live grid, the first panel (model, recording, grid texture, tiles, toolbar,
  tile menu, banners, mouse);
- ``view``: the live grid's layout, order, selection and full screen as plain, saved objects;
- ``present``: what each tile and the status bar say, from the engine's typed health;
- ``link``: health polling and commands through ``nvr.protocol.client``, off the render thread;
- ``feeds``: each camera's shared-memory ring, converted into its tile's pixels by ``kernel``
  (the scale kernel compiled ahead of time);
- ``status``, ``stats``: the status bar and the frame-time breakdown;
- ``draw``: change-only item updates and text fitting; ``theme``: colours, sizes, fonts.
"""
