"""Time parsing shared by the core and the renderers (no I/O)."""

import re
from datetime import datetime, timezone


def parse_time(text):
    """An RFC3339 timestamp (Kubernetes' or Go's RFC3339Nano) as an aware datetime, or None."""
    if not text:
        return None
    text = str(text).strip().replace("Z", "+00:00")
    # Python < 3.11 takes at most 6 fractional digits; Go writes up to 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
