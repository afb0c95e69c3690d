"""The synthetic talking-head dataset avbench makes itself (the embedded default).

``face`` (targets: geometry and appearance), ``motion`` (drivers: motion
signatures and utterances), ``generators`` (motion transfer and rendering),
``dataset`` (planning and writing a real layout), ``default`` (the cached default
dataset), ``preview`` (a contact sheet to look at).
"""
