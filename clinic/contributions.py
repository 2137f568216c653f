"""Slots where an app shows what a higher app knows, without importing it.

The apps are layered (README, "How the code is organised"; `.importlinter` enforces it): each
imports only those below it. When a lower app's page must show an upper app's data (a patient's
visits on the patient page, a visit's charges on the appointment page, documents on the chart's
timeline), the lower app defines a `Slot` and asks it; the upper app registers a provider from its
AppConfig.ready(). Each provider gets the slot's keyword arguments and returns what the slot
documents (context for a page, entries for a list).
"""


class Slot:
    def __init__(self, description):
        self.description = description
        self._providers = []

    def __repr__(self):
        return f"<Slot {self.description!r}: {len(self._providers)} provider(s)>"

    def register(self, provider):
        """Add a provider (once: AppConfig.ready() may run more than once in tests)."""
        if provider not in self._providers:
            self._providers.append(provider)
        return provider

    def collect(self, **kwargs):
        """Each provider's answer, in registration order."""
        return [provider(**kwargs) for provider in self._providers]

    def context(self, **kwargs):
        """For slots whose providers return template context: their dicts, merged."""
        merged = {}
        for part in self.collect(**kwargs):
            merged.update(part)
        return merged
