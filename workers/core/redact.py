"""Masking credentials in Redis URLs, the one place every shown or logged URL goes through.

A URL can carry a password as userinfo (`user:pw@`, `:pw@`) or as a query parameter
(`?password=`, `?username=` or anything named like a secret): all are replaced by `***`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

from workers.core.sentinel_url import is_sentinel_url, parse_sentinel_url

MASK = "***"
SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|auth|cred|user", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """`url` with its userinfo, secret-looking query values and fragment masked.

    A URL that does not parse cleanly (a bad port may be a password with a `#` or `/` in
    it) keeps only its scheme: showing less is the safe way to be wrong.
    """
    if is_sentinel_url(url):
        try:
            return parse_sentinel_url(url).shown()
        except ValueError:  # in a log line, say, where text follows it: mask only what may be secret
            return _masked_sentinel_text(url)
    try:
        parts = urlsplit(url)
        if parts.port is not None and "@" in parts.path:  # `:12/34@host`: a password with a slash
            raise ValueError(url)
        query = _masked_query(parts.query)
    except ValueError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://{MASK}" if sep else MASK
    masked = f"{parts.scheme}://{_masked_netloc(parts.netloc)}{parts.path}"
    return masked + (f"?{query}" if query else "") + (f"#{MASK}" if parts.fragment else "")


def mask_urls_in(text: str) -> str:
    """`text` with every URL in it masked (log lines, error messages)."""
    if "://" not in text:  # every URL the pattern finds has one; most log lines have none
        return text
    return URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)


def _masked_netloc(netloc: str) -> str:
    userinfo, at, host = netloc.rpartition("@")
    return f"{MASK}:{MASK}@{host}" if at else netloc


def _masked_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(name, safe='')}={_masked_value(name, value)}" for name, value in pairs)


def _masked_value(name: str, value: str) -> str:
    return MASK if SECRET_NAME.search(name) else quote(value, safe="")


def _masked_sentinel_text(url: str) -> str:
    """A Sentinel URL that does not parse: everything up to the last `@` masked; a query hides the rest."""
    scheme, _, rest = url.partition("://")
    if "?" in rest or "#" in rest:
        return f"{scheme}://{MASK}"
    return f"{scheme}://{MASK}@{rest.rpartition('@')[2]}" if "@" in rest else url
