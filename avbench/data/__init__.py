"""Datasets: indexes of real layouts, clip loading and the decoded-frame cache."""
