"""The demo room: floor, walls, lights, and the things in it the scene camera films."""

from __future__ import annotations

import math
from typing import Any

from panda3d.core import AmbientLight, CardMaker, DirectionalLight, NodePath, PointLight

from engine_plugin.engine import Component

ROOM_WIDTH = 16.0
ROOM_DEPTH = 14.0
ROOM_HEIGHT = 6.0


def _card(
    parent: NodePath, name: str, width: float, height: float, colour: tuple[float, ...]
) -> NodePath:
    maker = CardMaker(name)
    maker.setFrame(-width / 2, width / 2, -height / 2, height / 2)
    card = parent.attachNewNode(maker.generate())
    card.setColor(*colour)
    return card


def build_room(base: Any, parent: NodePath) -> NodePath:
    """Build the room under ``parent``; returns its root. The back wall faces the viewer."""
    room = parent.attachNewNode("room")
    floor = _card(room, "floor", ROOM_WIDTH, ROOM_DEPTH, (0.35, 0.33, 0.3, 1))
    floor.setP(-90)
    floor.setPos(0, ROOM_DEPTH / 2, 0)
    back = _card(room, "back-wall", ROOM_WIDTH, ROOM_HEIGHT, (0.55, 0.6, 0.68, 1))
    back.setPos(0, ROOM_DEPTH, ROOM_HEIGHT / 2)
    for side, x in (("left-wall", -ROOM_WIDTH / 2), ("right-wall", ROOM_WIDTH / 2)):
        wall = _card(room, side, ROOM_DEPTH, ROOM_HEIGHT, (0.48, 0.5, 0.55, 1))
        wall.setH(90 if x < 0 else -90)
        wall.setPos(x, ROOM_DEPTH / 2, ROOM_HEIGHT / 2)
    room.setTwoSided(True)

    ambient = room.attachNewNode(AmbientLight("ambient"))
    ambient.node().setColor((0.45, 0.45, 0.5, 1))
    sun = room.attachNewNode(DirectionalLight("sun"))
    sun.node().setColor((0.6, 0.6, 0.55, 1))
    sun.setHpr(30, -50, 0)
    lamp = room.attachNewNode(PointLight("lamp"))
    lamp.node().setColor((0.5, 0.45, 0.4, 1))
    lamp.setPos(0, ROOM_DEPTH / 2, ROOM_HEIGHT - 0.5)
    for light in (ambient, sun, lamp):
        room.setLight(light)

    # The known objects the scene camera films: a red box and a teapot.
    box = base.loader.loadModel("models/box")
    box.reparentTo(room)
    box.setScale(1.2)
    box.setPos(-2.6, ROOM_DEPTH / 2 + 1, 0)
    box.setColor(0.85, 0.12, 0.1, 1)
    box.setName("red-box")
    teapot = base.loader.loadModel("models/teapot")
    teapot.reparentTo(room)
    teapot.setScale(0.5)
    teapot.setPos(2.5, ROOM_DEPTH / 2 + 1, 0)
    teapot.setColor(0.95, 0.8, 0.2, 1)
    teapot.setName("teapot")
    return room


class Spinner(Component):
    """Turns a node around its vertical axis."""

    def __init__(self, node: NodePath, degrees_per_second: float = 45.0) -> None:
        self.node = node
        self.speed = degrees_per_second

    def update(self, dt: float) -> None:
        self.node.setH(self.node.getH() + self.speed * dt)


class Orbit(Component):
    """Swings a camera node on an arc in front of ``target``, looking at it."""

    def __init__(
        self,
        node: NodePath,
        target: tuple[float, float, float],
        radius: float = 5.0,
        height: float = 2.0,
        period_s: float = 20.0,
        swing: float = 55.0,
    ) -> None:
        self.node = node
        self.target = target
        self.radius = radius
        self.height = height
        self.period = period_s
        self.swing = math.radians(swing)
        self.phase = 0.0

    def update(self, dt: float) -> None:
        self.phase = (self.phase + 2 * math.pi * dt / self.period) % (2 * math.pi)
        angle = self.swing * math.sin(self.phase)
        tx, ty, tz = self.target
        self.node.setPos(
            tx + self.radius * math.sin(angle),
            ty - self.radius * math.cos(angle),
            self.height,
        )
        self.node.lookAt(tx, ty, tz)
