"""Reading the one-time token (clinic/idempotency.py) off a page, as a browser would send it back."""

import re

TOKEN_INPUT = re.compile(r'<input type="hidden" name="client_token" value="([0-9a-f-]{36})">')


def tokens_on(page):
    return TOKEN_INPUT.findall(page.content.decode())


def token_on(page):
    """The token of the page's only (or first) writing form."""
    tokens = tokens_on(page)
    assert tokens, "the page has no form token"
    return tokens[0]


def token_for(page, action):
    """The token of the page's form that posts to `action`."""
    for form in re.findall(r"<form\b[^>]*>.*?</form>", page.content.decode(), re.DOTALL):
        if f'action="{action}"' in form:
            return TOKEN_INPUT.search(form).group(1)
    raise AssertionError(f"no form posts to {action}")
