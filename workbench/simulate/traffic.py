"""Who visits in the synthetic world and how their traffic looks: user agents, the tracked events, and the
salted hash that turns unit ids into user keys (raw ids never leave the simulator).

>>> import numpy as np
>>> _hex_keys(np.array([0, 1]), salt=7)[0] != _hex_keys(np.array([0, 1]), salt=8)[0]
True
"""

from __future__ import annotations

import numpy as np

HUMAN_UA = {
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1",
}
HEADLESS_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari/537.36"
EVENTS = ("impression", "click_detail", "add_to_cart", "purchase")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A keyed, well-mixed 64-bit hash (used to make salted user keys, never raw ids)."""
    z = (x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _hex_keys(ids: np.ndarray, salt: int, prefix: str = "") -> np.ndarray:
    with np.errstate(over="ignore"):
        h = _splitmix64(ids.astype(np.uint64) ^ np.uint64(salt))
    return np.char.add(prefix, np.char.mod("%016x", h))
