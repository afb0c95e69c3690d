"""Facial landmarks for landmark-based methods: extractors, their cache, point layouts.

Extractors are plugins (``avbench_register_landmark_extractors``); avbench's own
(``mediapipe``, ``face_alignment``, ``dataset``) are registered from
:mod:`avbench.landmarks.plugin` like any third-party one.
"""
