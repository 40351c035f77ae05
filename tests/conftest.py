"""Shared pytest setup: the local Salesforce fixtures come from the emulator's pytest plugin."""

pytest_plugins = ["include.sf_emulator.pytest_plugin"]
