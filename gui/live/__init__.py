"""The live grid, the console's first panel.

- ``model``: the grid's state (``gui.view.ViewState``), the engine as last seen, the saved layout;
- ``recording``: manual recording and panic, sent to the engine and confirmed by it;
- ``atlas``: the grid texture (one raw texture, a region per tile) and conversion into it;
- ``tiles``: each cell's picture and overlays, and its one border;
- ``toolbar``, ``menu``, ``banners``, ``pointer``: the grid's buttons, its tile menu, the panic
  and engine banners over it, and its mouse (select, drag to swap, double-click);
- ``panel``: ``LivePanel``, the ``gui.panel.Panel`` that puts them together.
"""
