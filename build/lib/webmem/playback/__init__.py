"""Playback: the step loop, healing tiers, run reports, and writing repairs back."""
