"""Playwright scripts in and out: `importer` turns a Playwright Python script or pytest-playwright test into a
flow by carrying it out through the Recorder; `exporter` writes a flow as a plain pytest-playwright test."""
