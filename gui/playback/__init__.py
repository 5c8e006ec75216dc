"""The Playback view: recorded footage of up to four cameras in sync, a timeline, events and
export (``panel.py`` puts the model, the player, the catalog thread and the renderers together).
"""
