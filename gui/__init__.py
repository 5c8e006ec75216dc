"""Operator console (Dear PyGui): the only package that imports ``dearpygui``.

- ``view``: what is on screen (layout, order, selection, full screen) as plain, saved objects;
- ``link``: health polling and commands to the engine's API, off the render thread;
- ``feeds``: each camera's shared-memory ring, converted into a tile texture by ``native.scale``;
- ``present``: what each tile and the status bar say;
- ``app``: the window and its render loop; ``theme``: colours, sizes, fonts.
"""
