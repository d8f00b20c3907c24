"""Real PNG pictures built with zlib and struct only, for the browser test
(a photo of a known size) and the screenshots (charts a bot would send).
"""

import math
import struct
import zlib


def encode(width, height, pixel):
    """A PNG of width x height whose RGB at (x, y) is pixel(x, y)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # Each row: filter type 0, then R, G, B per pixel.
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def gradient(width, height):
    """Colour stripes: red across, green down."""
    return encode(width, height, lambda x, y: (x * 255 // width, y * 255 // height, 160))


def area_chart(width, height, series, colour):
    """A dashboard-style area chart of `series` (values 0..1) on a light grid."""
    top, bottom = height // 10, height - height // 10

    def level(x):
        at = x / (width - 1) * (len(series) - 1)
        i = min(int(at), len(series) - 2)
        value = series[i] + (series[i + 1] - series[i]) * (at - i)
        return bottom - value * (bottom - top)

    levels = [level(x) for x in range(width)]
    line = tuple(max(0, c - 60) for c in colour)
    fill = tuple(c + (255 - c) * 3 // 5 for c in colour)

    def pixel(x, y):
        if abs(y - levels[x]) < 1.5:
            return line
        if levels[x] < y <= bottom:
            return fill
        if y % (height // 6) == 0 or x % (width // 8) == 0:
            return (228, 231, 235)
        return (250, 251, 252)

    return encode(width, height, pixel)


def wave(points, base, swing, phase):
    """A smooth series of `points` values around `base`."""
    return [min(1.0, max(0.0, base + swing * math.sin(i / 2.2 + phase) + swing / 2 * math.sin(i / 0.9))) for i in range(points)]
