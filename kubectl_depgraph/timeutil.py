"""Times and durations, parsed and printed the one way the whole tool uses (no I/O)."""

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


def parse_duration(text):
    """Seconds in a Go-style duration ('30s', '5m', '1h30m', '2'); None if unparseable."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def go_duration(seconds):
    """Seconds as a Go duration the flux CLI accepts: 300 → `5m0s`, 90.5 → `1m30.5s`."""
    seconds = max(float(seconds), 0.001)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    text = ""
    if hours:
        text += f"{int(hours)}h"
    if hours or minutes:
        text += f"{int(minutes)}m"
    return text + secs_text


def format_duration(seconds):
    """`850ms`, `2.3s`, `1m05s`."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"
