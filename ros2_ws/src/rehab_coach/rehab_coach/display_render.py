"""Draws one patient screen (a ``ScreenView``) with pygame: big type, high contrast.

Laid out for the robot's 1024x600 screen read from 2 m: the instruction on
top, the count inside a progress ring, one or two lines of feedback under it,
and the camera image with the skeleton on the right when there is one. Any
other size scales the same layout. ``render`` returns where each part was
drawn so tests can look at exactly the count or the message.
"""

from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from rehab_core.coaching.screen import ScreenView

BACKGROUND = (0, 0, 0)
WHITE = (255, 255, 255)
GREY = (90, 90, 90)
#: title colour per screen kind (all > 7:1 contrast on black)
ACCENT = {
    "idle": (255, 255, 255),
    "waiting": (120, 220, 255),
    "exercising": (255, 255, 255),
    "wrong": (255, 196, 0),
    "done": (80, 230, 120),
}
RING = (80, 230, 120)


class Fonts:
    """pygame's bundled font at a few sizes (nothing loaded from the system)."""

    def __init__(self, scale: float) -> None:
        pygame.font.init()
        self._scale = scale
        self._cache: dict[int, pygame.font.Font] = {}

    def get(self, size: int) -> pygame.font.Font:
        px = max(8, round(size * self._scale))
        if px not in self._cache:
            self._cache[px] = pygame.font.Font(None, px)
        return self._cache[px]


_FONTS: dict[float, Fonts] = {}  # loaded once per screen scale


def _fit(fonts: Fonts, text: str, size: int, width: int) -> pygame.font.Font:
    """The largest font up to ``size`` in which ``text`` fits ``width`` pixels."""
    while size > 12 and fonts.get(size).size(text)[0] > width:
        size -= 4
    return fonts.get(size)


def _blit_centered(surface: pygame.Surface, font: pygame.font.Font, text: str,
                   colour: tuple[int, int, int], centre: tuple[int, int]) -> pygame.Rect:
    img = font.render(text, True, colour)
    rect = img.get_rect(center=centre)
    surface.blit(img, rect)
    return rect


def _camera_surface(image: np.ndarray, box: pygame.Rect) -> pygame.Surface:
    """A BGR image scaled to fit ``box`` (aspect kept)."""
    h, w = image.shape[:2]
    scale = min(box.width / w, box.height / h)
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    rgb = np.ascontiguousarray(image[:, :, 2::-1])
    surf = pygame.image.frombuffer(rgb.tobytes(), (w, h), "RGB")
    return pygame.transform.smoothscale(surf, size)


def render(surface: pygame.Surface, view: ScreenView,
           camera: np.ndarray | None = None) -> dict[str, pygame.Rect]:
    """Draw ``view`` (and the BGR ``camera`` image if given) on ``surface``; returns regions."""
    W, H = surface.get_size()
    scale = min(W / 1024, H / 600)
    fonts = _FONTS.get(scale) or _FONTS.setdefault(scale, Fonts(scale))
    surface.fill(BACKGROUND)
    regions: dict[str, pygame.Rect] = {}
    accent = ACCENT.get(view.kind, WHITE)
    main = pygame.Rect(0, 0, W, H)
    if camera is not None and camera.ndim == 3 and camera.shape[2] >= 3:
        cam_box = pygame.Rect(int(W * 0.6), int(H * 0.2), int(W * 0.38), int(H * 0.6))
        cam = _camera_surface(camera, cam_box)
        regions["camera"] = surface.blit(cam, cam.get_rect(center=cam_box.center))
        main = pygame.Rect(0, 0, int(W * 0.6), H)
    margin = int(20 * scale)
    if view.kind == "wrong":  # a banner nobody can miss
        pygame.draw.rect(surface, accent, pygame.Rect(0, 0, W, int(H * 0.2)))
        regions["title"] = _blit_centered(
            surface, _fit(fonts, view.title, 72, W - 2 * margin), view.title, BACKGROUND,
            (W // 2, int(H * 0.1)))
    else:
        regions["title"] = _blit_centered(
            surface, _fit(fonts, view.title, 72, W - 2 * margin), view.title, accent,
            (W // 2, int(H * 0.1)))
    centre = (main.centerx, int(H * 0.5))
    radius = int(min(main.width * 0.4, H * 0.26))
    if view.count:
        width = max(6, int(22 * scale))
        pygame.draw.circle(surface, GREY, centre, radius, width)
        if view.progress > 0:
            box = pygame.Rect(0, 0, 2 * radius, 2 * radius)
            box.center = centre
            end = math.pi / 2
            start = end - 2 * math.pi * min(view.progress, 1.0)
            if view.progress >= 1.0:
                pygame.draw.circle(surface, RING, centre, radius, width)
            else:
                pygame.draw.arc(surface, RING, box, start, end, width)
        regions["count"] = _blit_centered(
            surface, _fit(fonts, view.count, 150, int(1.6 * radius)), view.count, WHITE, centre)
    y = int(H * 0.5) + radius + int(44 * scale)
    for i, line in enumerate(view.lines[:2]):
        font = _fit(fonts, line, 56 if i == 0 else 40, W - 2 * margin)
        colour = accent if view.kind in ("wrong", "done") and i == 0 else WHITE
        if not view.count:
            y = int(H * 0.45) + i * int(70 * scale)
        rect = _blit_centered(surface, font, line, colour, (W // 2, y))
        regions[f"line{i}"] = rect
        y = rect.bottom + int(30 * scale)
    return regions


def surface_array(surface: pygame.Surface) -> np.ndarray:
    """The surface as an HxWx3 RGB array (a copy)."""
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()
