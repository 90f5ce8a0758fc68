"""Line charts as PNG files with nothing but the standard library (matplotlib is not a dependency).

``write_line_charts(path, panels)`` draws panels side by side, each a title and one series of
(x, y) points, with axes, min/max labels in a 3x5 pixel font, and writes an RGB PNG.
"""
from __future__ import annotations

import struct
import zlib

FONT = {  # 3x5 glyphs, one string of 15 bits per character, rows top to bottom
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    " ": "000000000000000", "A": "010101111101101", "B": "110101110101110", "C": "111100100100111",
    "D": "110101101101110", "E": "111100110100111", "F": "111100110100100", "G": "111100101101111",
    "H": "101101111101101", "I": "111010010010111", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "111101101101111", "P": "110101110100100",
    "R": "110101110101101", "S": "111100111001111", "T": "111010010010010", "U": "101101101101111",
    "V": "101101101101010", "W": "101101101111101", "X": "101101010101101", "Y": "101101010010010",
    "(": "010100100100010", ")": "010001001001010", "/": "001001010100100", ":": "000010000010000",
}
BLACK, GREY, WHITE = (0, 0, 0), (210, 210, 210), (255, 255, 255)
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]


class Canvas:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, colour, size: int = 1) -> None:
        for dx in range(size):
            for dy in range(size):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    i = 3 * (py * self.width + px)
                    self.pixels[i : i + 3] = bytes(colour)

    def line(self, x0: int, y0: int, x1: int, y1: int, colour, size: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * s / steps), round(y0 + (y1 - y0) * s / steps), colour, size)

    def text(self, x: int, y: int, text: str, colour=BLACK, scale: int = 2) -> None:
        for n, char in enumerate(text.upper()):
            glyph = FONT.get(char, FONT[" "])
            for bit, value in enumerate(glyph):
                if value == "1":
                    self.dot(x + n * 4 * scale + (bit % 3) * scale, y + (bit // 3) * scale, colour, scale)

    def png(self) -> bytes:
        rows = b"".join(b"\x00" + bytes(self.pixels[3 * self.width * y : 3 * self.width * (y + 1)])
                        for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _label(value: float) -> str:
    return f"{value:.3g}"


def write_line_charts(path, panels: list[tuple[str, list[tuple[float, float]]]], x_label: str = "iteration",
                      panel_width: int = 420, height: int = 300) -> None:
    """One panel per ``(title, points)``; the y axis spans the points' range (padded if flat)."""
    canvas = Canvas(panel_width * len(panels), height)
    left, right, top, bottom = 60, 16, 36, 40
    for number, (title, points) in enumerate(panels):
        x_origin = number * panel_width
        colour = COLOURS[number % len(COLOURS)]
        canvas.text(x_origin + left, 10, title, colour)
        x0, x1, y0, y1 = x_origin + left, x_origin + panel_width - right, height - bottom, top
        canvas.line(x0, y0, x1, y0, BLACK)
        canvas.line(x0, y0, x0, y1, BLACK)
        if not points:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x_min, x_max = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        y_min, y_max = min(ys), max(ys)
        if y_max - y_min < 1e-12:
            y_min, y_max = y_min - 0.5, y_max + 0.5
        for fraction in (0.25, 0.5, 0.75, 1.0):
            y = round(y0 + (y1 - y0) * fraction)
            canvas.line(x0 + 1, y, x1, y, GREY)
        canvas.text(x_origin + 4, y1 - 4, _label(y_max))
        canvas.text(x_origin + 4, y0 - 10, _label(y_min))
        canvas.text(x0, y0 + 8, _label(x_min))
        canvas.text(x1 - 4 * 2 * len(_label(x_max)), y0 + 8, _label(x_max))
        canvas.text((x0 + x1) // 2 - 4 * len(x_label), y0 + 24, x_label)

        def to_pixel(x: float, y: float) -> tuple[int, int]:
            return (round(x0 + (x - x_min) / (x_max - x_min) * (x1 - x0)),
                    round(y0 + (y - y_min) / (y_max - y_min) * (y1 - y0)))

        pixels = [to_pixel(x, y) for x, y in points]
        for (a, b), (c, d) in zip(pixels, pixels[1:]):
            canvas.line(a, b, c, d, colour, size=2)
        for a, b in pixels:
            canvas.dot(a - 1, b - 1, colour, size=4)
    with open(path, "wb") as handle:
        handle.write(canvas.png())
