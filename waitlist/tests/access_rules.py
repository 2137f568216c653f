"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there)."""

ACCESS = {}
KWARGS = {}
